"""DQN in a subspace (Li et al. 2018's CartPole row), with stable-baselines3's DQN around our Q-network.

SB3 builds the Q-network twice (online and target); both are the task's net wrapped in the same subspace and
built from the same init seed, so they share theta_0 and P, and SB3's target update (a copy of `parameters()`)
copies theta_d: the target network lives in the subspace too. Everything else (replay, exploration schedule,
Huber loss, gradient clipping) is SB3's. DQN's greedy policy swings during training, so SB3's EvalCallback
scores it every `validation.every` steps on validation episodes (seeds of their own) and the run keeps the best
(and may stop once validation reaches `validation.stop_return`); the metric is that policy on the evaluation
episodes, which nothing was chosen on.
"""

from __future__ import annotations

import copy

import hydra
import torch
from omegaconf import DictConfig, OmegaConf
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, EvalCallback, StopTrainingOnRewardThreshold
from stable_baselines3.common.vec_env import DummyVecEnv
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork

from intrinsic_dim.tasks.family import Built, RunContext, in_subspace
from intrinsic_dim.tasks.rl.envs import make_env
from intrinsic_dim.tasks.rl.es import EVALUATION_SEED, rollouts


class SubspaceDQNPolicy(DQNPolicy):
    """SB3's DQN policy whose Q-networks are `net` (a config) wrapped in `subspace`, built from `init_seed`."""

    def __init__(self, *args, net: dict, subspace: dict, init_seed: int, **kwargs) -> None:
        self.net_config, self.subspace, self.init_seed = net, subspace, init_seed
        super().__init__(*args, **kwargs)

    def make_q_net(self) -> QNetwork:
        q_network = super().make_q_net()
        with torch.random.fork_rng():
            torch.manual_seed(self.init_seed)  # the same theta_0 for the online and the target network
            net = hydra.utils.instantiate(self.net_config)
        q_network.q_net = in_subspace(net, OmegaConf.create(self.subspace)).to(self.device)
        return q_network


VALIDATION_SEED = 2 * EVALUATION_SEED  # validation episodes share start states with neither training nor evaluation


class KeepBest(BaseCallback):
    """EvalCallback's `callback_on_new_best`: a copy of the Q-network's state at each new best validation return."""

    def __init__(self) -> None:
        super().__init__()
        self.state: dict | None = None

    def _on_step(self) -> bool:
        self.state = copy.deepcopy(self.model.policy.q_net.state_dict())
        return True


class LogEpisodes(BaseCallback):
    """After each rollout, the mean return of SB3's recent training episodes (up to 100) to the W&B run."""

    def __init__(self, wandb_run) -> None:
        super().__init__()
        self.wandb_run = wandb_run

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        episodes = self.model.ep_info_buffer
        if episodes:
            mean_return = sum(episode["r"] for episode in episodes) / len(episodes)
            self.wandb_run.log({"train/mean_return": mean_return, "train/env_steps": self.num_timesteps})


def build(cfg: DictConfig) -> Built:
    """Nothing yet: SB3 makes the online and target Q-networks itself (SubspaceDQNPolicy seeds them)."""
    return Built(None, None)


def fit(cfg: DictConfig, built: Built, context: RunContext) -> dict[str, float]:
    """DQN for `dqn.timesteps` environment steps; `built.model` becomes the greedy policy's Q-network (the best
    on validation, when validation scored any)."""
    policy_kwargs = {
        "net": OmegaConf.to_container(cfg.task.model, resolve=True),
        "subspace": {"kind": cfg.subspace.kind, "d": cfg.subspace.d, "seed": cfg.subspace.seed},
        "init_seed": cfg.seed,
    }
    agent = DQN(SubspaceDQNPolicy, make_env(cfg.task.env.id, **cfg.task.env.kwargs), learning_rate=cfg.subspace.lr,
                policy_kwargs=policy_kwargs, seed=cfg.seed, device="cpu", verbose=0,
                **OmegaConf.to_container(cfg.task.dqn.settings, resolve=True))  # fmt: skip
    validation = cfg.task.dqn.validation
    validation_env = DummyVecEnv([lambda: make_env(cfg.task.env.id, **cfg.task.env.kwargs)])
    validation_env.seed(VALIDATION_SEED)
    best = KeepBest()
    on_new_best = [best] + ([StopTrainingOnRewardThreshold(validation.stop_return)] if validation.stop_return else [])
    callbacks = [EvalCallback(validation_env, CallbackList(on_new_best), n_eval_episodes=validation.episodes,
                              eval_freq=validation.every, verbose=0, warn=False)]  # fmt: skip
    if context.wandb_run is not None:
        callbacks.append(LogEpisodes(context.wandb_run))
    agent.learn(total_timesteps=cfg.task.dqn.timesteps, callback=callbacks)
    q_network = agent.policy.q_net
    if best.state is not None:
        q_network.load_state_dict(best.state)
    q_network.set_training_mode(False)
    built.model = q_network.q_net
    metrics = {"train/env_steps": float(agent.num_timesteps)}
    if best.state is not None:
        metrics["val/best_return"] = float(callbacks[0].best_mean_reward)
    return metrics


def evaluate(cfg: DictConfig, built: Built) -> dict[str, float]:
    """The greedy policy's mean return on the evaluation episodes, which nothing was chosen on."""
    evaluation = rollouts(cfg.task.env)
    seeds = [EVALUATION_SEED + episode for episode in range(cfg.task.evaluation.episodes)]
    try:
        with torch.no_grad():
            final = evaluation.returns(lambda _: lambda seen: built.model(seen), 1, seeds)
    finally:
        evaluation.close()
    return {"eval/return": float(final[0])}
