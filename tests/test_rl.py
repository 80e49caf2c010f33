"""The RL family (intrinsic_dim.tasks.rl): environments offline, batched populations, robust rollouts, ES, DQN."""

import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from evotorch import Problem
from hydra.utils import instantiate
from omegaconf import OmegaConf
from stable_baselines3 import DQN

from helpers import in_process_study, run_in_process, study_arguments
from intrinsic_dim.config import compose
from intrinsic_dim.core.subspace import SubspaceModel
from intrinsic_dim.errors import BadInput
from intrinsic_dim.run import build, fit_one
from intrinsic_dim.study.report import summarize
from intrinsic_dim.tasks.family import RunContext
from intrinsic_dim.tasks.rl import es
from intrinsic_dim.tasks.rl.dqn import SubspaceDQNPolicy
from intrinsic_dim.tasks.rl.envs import actions, make_env, policy_outputs, spaces
from intrinsic_dim.tasks.rl.es import scorer
from intrinsic_dim.tasks.rl.policies import Standardize, mlp
from intrinsic_dim.tasks.rl.population import Population
from intrinsic_dim.tasks.rl.rollouts import EnvironmentFailed, Rollouts

make_rollouts = es.rollouts  # before any test replaces it

# D of each task's network, as the README and the task files state them
TASK_SIZES = {"cartpole_es": 562, "cartpole_dqn": 562, "inverted_pendulum_es": 4545, "humanoid_es": 27601,
              "pong_es": 677686}  # fmt: skip


def task_config(task: str, *overrides: str):
    return compose([f"task={task}", "profile=test", *overrides])


@pytest.mark.parametrize("task", sorted(TASK_SIZES))
def test_every_env_is_created_offline_and_fits_its_network(task):
    cfg = task_config(task)
    observations, _ = spaces(cfg.task.env.id)
    observation, _ = make_env(cfg.task.env.id).reset(seed=0)  # the Pong ROM comes with ale-py
    assert observation.shape == observations.shape
    net = instantiate(cfg.task.model)
    assert sum(p.numel() for p in net.parameters()) == TASK_SIZES[task]
    outputs = net(torch.as_tensor(observation, dtype=torch.float32)[None])
    assert outputs.shape == (1, policy_outputs(cfg.task.env.id))


def test_an_unknown_env_is_one_line_naming_the_fix():
    with pytest.raises(BadInput, match="cannot create environment .CartPole-v99.*check task.env.id"):
        make_env("CartPole-v99")


def subspace(kind="fastfood", d=6, seed=0):
    return OmegaConf.create({"kind": kind, "d": d if kind != "none" else None, "seed": seed})


@pytest.mark.parametrize("kind", ["fastfood", "sparse", "none"])
def test_the_vectorized_population_is_each_member_run_alone(kind):
    torch.manual_seed(0)
    population = Population(mlp(4, [20, 20], 2), subspace(kind))
    members = torch.randn(5, population.size)
    observations = torch.randn(5, 3, 4)
    together = population.forward(population.parameters(population.theta_D(members)), observations)
    for member, seen, expected in zip(members, observations, together, strict=True):
        alone = population.set_solution(member)
        assert isinstance(alone, SubspaceModel) == (kind != "none")
        torch.testing.assert_close(alone(seen), expected, rtol=1e-5, atol=1e-6)


def linear_pendulum_scores(rollouts: Rollouts) -> torch.Tensor:
    """Returns of a balancing linear policy and of a falling one (the zero policy) on InvertedPendulum."""
    population = Population(mlp(4, [], 1), subspace("none"))
    balancing = torch.tensor([0.12, 1.9, 0.1, 0.35, 0.0]) - population.theta_0
    return scorer(population, rollouts)(torch.stack([balancing, -population.theta_0]), [3, 4])


def test_rollouts_score_a_known_balancing_policy_and_sum_what_it_observed():
    rollouts = Rollouts("InvertedPendulum-v5", {"max_episode_steps": 200}, observe=True)
    scores = linear_pendulum_scores(rollouts)
    assert scores[0] == 200.0 and scores[1] < 30  # +1 per step upright: all 200, or a fall within a few steps
    assert rollouts.steps == 400 + 2 * scores[1] + 2  # v5 rewards no step that ends in a fall: 1 step per fall more
    # the same episodes played one by one in a plain env: every observation a policy acted on, once
    observations = []
    policy = mlp(4, [], 1)
    with torch.no_grad():
        policy[0].weight.copy_(torch.tensor([[0.12, 1.9, 0.1, 0.35]])), policy[0].bias.zero_()
    for weight in (1.0, 0.0):
        for seed in (3, 4):
            env = make_env("InvertedPendulum-v5", max_episode_steps=200)
            observation, _ = env.reset(seed=seed)
            done = False
            while not done:
                observations.append(torch.as_tensor(observation, dtype=torch.float32))
                action = 3 * torch.tanh(weight * policy(observations[-1])).detach().numpy()
                observation, _, terminated, truncated, _ = env.step(action)
                done = terminated or truncated
    seen = torch.stack(observations).double()
    assert rollouts.observed.count == len(seen) == rollouts.steps
    # float32 policies batched or one at a time differ in the last bits, and the simulation carries that along
    torch.testing.assert_close(rollouts.observed.total, seen.sum(0), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(rollouts.observed.squares, seen.square().sum(0), rtol=1e-5, atol=1e-4)


class CountingCartPole(gym.Wrapper):
    """CartPole that counts the steps taken by every instance."""

    steps = 0

    def __init__(self, **kwargs) -> None:
        super().__init__(gym.make("CartPole-v1", **kwargs))

    def step(self, action):
        CountingCartPole.steps += 1
        return self.env.step(action)


gym.register("CountingCartPole-v0", entry_point=CountingCartPole)


def vector_env_returns(population: Population, members: torch.Tensor, seeds: list[int]) -> tuple[torch.Tensor, int]:
    """Mean returns as a gymnasium vector env gives them, which steps every env until the longest episode ends."""
    parameters = population.parameters(population.theta_D(members))
    envs = gym.vector.SyncVectorEnv([lambda: make_env("CartPole-v1")] * (len(members) * len(seeds)))
    observations, _ = envs.reset(seed=seeds * len(members))
    returns, alive, steps = np.zeros(envs.num_envs), np.ones(envs.num_envs, dtype=bool), 0
    while alive.any():
        seen = torch.as_tensor(observations, dtype=torch.float32).reshape(len(members), len(seeds), -1)
        chosen = actions(population.forward(parameters, seen).reshape(envs.num_envs, -1), envs.single_action_space)
        observations, rewards, terminated, truncated, _ = envs.step(chosen)
        returns, steps = returns + np.where(alive, rewards, 0.0), steps + envs.num_envs
        alive &= ~(terminated | truncated)
    return torch.as_tensor(returns.reshape(len(members), len(seeds)).mean(1), dtype=torch.float32), steps


def test_rollouts_step_only_the_episodes_still_running_and_return_what_a_vector_env_returns():
    torch.manual_seed(4)  # members whose episodes last from 9 to 45 steps
    population = Population(mlp(4, [20, 20], 2), subspace("fastfood", d=8))
    members = torch.randn(6, population.size) * 2.0  # episodes of very different lengths
    seeds = [5, 6]
    CountingCartPole.steps = 0
    rollouts = Rollouts("CountingCartPole-v0", envs=len(members) * len(seeds))
    returns = scorer(population, rollouts)(members, seeds)
    expected, vector_env_steps = vector_env_returns(population, members, seeds)
    assert torch.equal(returns, expected)  # the policy sees the same shapes, so the same floats, at every step
    assert CountingCartPole.steps == rollouts.steps == float(returns.sum()) * len(seeds)  # +1 per step played
    assert returns.min() < returns.max() / 4  # some fall early ...
    assert vector_env_steps > 2 * rollouts.steps  # ... and the vector env kept stepping them


def test_standardized_observations_keep_d_and_go_with_the_stored_model():
    torch.manual_seed(0)
    plain = mlp(4, [20, 20], 2)
    torch.manual_seed(0)
    standardized = mlp(4, [20, 20], 2, standardize=True)
    standardize = standardized[0]
    assert isinstance(standardize, Standardize)
    observations = torch.randn(100, 4) * torch.tensor([1.0, 0.1, 3.0, 0.001]) + 2.0
    standardize.set_moments(len(observations), observations.double().sum(0), observations.double().square().sum(0))
    torch.testing.assert_close(standardize.mean, observations.mean(0))
    expected_std = observations.var(0, correction=0).clamp_min(1e-4).sqrt()  # the floor: at most 100x
    torch.testing.assert_close(standardize.std, expected_std)
    torch.testing.assert_close(standardized(observations), plain((observations - observations.mean(0)) / expected_std))
    model = SubspaceModel(standardized, "fastfood", 6, 0)
    assert model.projection.D == 562  # the mean and std are buffers: not in theta_D
    assert torch.equal(model.state_dict()["module.0.std"], expected_std)


def test_es_standardizes_with_what_the_training_episodes_observed_before_each_generation(tmp_path, monkeypatch):
    generations = "task.budgets.test.generations.subspace=2"
    cfg = task_config("inverted_pendulum_es", "subspace=fastfood", "subspace.d=4", generations)
    made, moments = [], []
    set_moments = Standardize.set_moments

    def recorded_rollouts(*args, **kwargs):
        made.append(make_rollouts(*args, **kwargs))
        return made[-1]

    def recorded_moments(self, count, total, squares):
        moments.append((count, total.clone()))
        set_moments(self, count, total, squares)

    monkeypatch.setattr(es, "rollouts", recorded_rollouts)
    monkeypatch.setattr(Standardize, "set_moments", recorded_moments)
    output = fit_one(cfg, build(cfg), RunContext(log_dir=tmp_path, wandb_run=None))
    training, evaluation = made
    assert evaluation.observed is None and training.observed.count == training.steps
    [(count, total)] = moments  # the first generation plays unstandardized: nothing was observed before it
    assert 0 < count < training.steps  # the second generation's own observations come after it is scored
    torch.testing.assert_close(output.model.module[0].mean, (total / count).float())


def test_an_unknown_activation_is_one_line_naming_the_choices():
    with pytest.raises(BadInput, match="unknown activation 'gelu'.*relu, tanh"):
        mlp(4, [8], 2, activation="gelu")


class FailingOnce(gym.Wrapper):
    """InvertedPendulum that, while `flag` exists, deletes it and then raises or hangs at its 10th step."""

    def __init__(self, flag: str, failure: str, **kwargs) -> None:
        super().__init__(gym.make("InvertedPendulum-v5", **kwargs))
        self.flag, self.failure, self.steps = Path(flag), failure, 0

    def step(self, action):
        self.steps += 1
        if self.steps == 10 and self.flag.exists():
            self.flag.unlink()
            if self.failure == "raise":
                raise RuntimeError("simulator crashed")
            time.sleep(60)
        return self.env.step(action)


gym.register("FailingOncePendulum-v0", entry_point=FailingOnce)


@pytest.mark.parametrize("failure, vectorization", [("raise", "sync"), ("raise", "async"), ("hang", "async")])
def test_an_env_that_crashes_or_hangs_is_restarted_and_the_generation_kept(tmp_path, failure, vectorization):
    clean = Rollouts("InvertedPendulum-v5", {"max_episode_steps": 200}, observe=True)
    expected = linear_pendulum_scores(clean)
    flag = tmp_path / "fail"
    flag.touch()
    kwargs = {"flag": str(flag), "failure": failure, "max_episode_steps": 200}
    rollouts = Rollouts("FailingOncePendulum-v0", kwargs, vectorization=vectorization, step_timeout=3, observe=True)
    torch.testing.assert_close(linear_pendulum_scores(rollouts), expected)
    assert rollouts.restarts == 1 and not flag.exists()
    assert rollouts.observed.count == clean.observed.count  # the failed attempt's observations are not counted
    torch.testing.assert_close(rollouts.observed.total, clean.observed.total, rtol=1e-5, atol=1e-4)  # as above
    rollouts.close()


def test_an_env_that_keeps_failing_stops_the_run_with_a_clear_error(tmp_path, monkeypatch):
    flag = tmp_path / "fail"
    monkeypatch.setattr(Path, "unlink", lambda self: None)  # the flag never clears: every attempt fails
    flag.touch()
    rollouts = Rollouts("FailingOncePendulum-v0", {"flag": str(flag), "failure": "raise"}, retries=2)
    with pytest.raises(EnvironmentFailed, match="failed 3 times in a row"):
        linear_pendulum_scores(rollouts)
    assert rollouts.restarts == 3


def test_the_configured_es_converges_on_a_quadratic_with_a_known_optimum():
    cfg = task_config("cartpole_es", "subspace=fastfood", "subspace.d=8", "task.budgets.test.popsize=32")
    optimum = torch.linspace(-1.0, 1.0, 8)

    def negative_distance(solutions):
        return -(solutions.as_subclass(torch.Tensor) - optimum).square().sum(-1)

    problem = Problem("max", negative_distance, solution_length=8, initial_bounds=(0.0, 0.0), vectorized=True, seed=0)
    searcher = instantiate(cfg.task.es.algorithm)(problem, center_init=torch.zeros(8))
    start = float(optimum.square().sum())
    for _ in range(300):
        searcher.step()
    distance = float((searcher.status["center"].as_subclass(torch.Tensor) - optimum).square().sum())
    assert distance < 1e-2 * start


def test_es_learns_cartpole_in_a_subspace_and_the_same_seed_gives_the_same_return(tmp_path):
    overrides = ["task=cartpole_es", "profile=quick", "subspace=fastfood", "subspace.d=8", "logger=csv",
                 "task.budgets.quick.generations.subspace=20", f"paths.results_dir={tmp_path / 'a'}"]  # fmt: skip
    first = run_in_process(overrides, tmp_path / "logs")
    again = run_in_process([*overrides[:-1], f"paths.results_dir={tmp_path / 'b'}"], tmp_path / "logs2")
    untrained = run_in_process([*overrides[:-2], "task.budgets.quick.generations.subspace=0",
                                f"paths.results_dir={tmp_path / 'c'}"], tmp_path / "logs3")  # fmt: skip
    assert first["metrics"] == again["metrics"]
    assert first["metrics"]["eval/return"] >= 5 * untrained["metrics"]["eval/return"]
    assert first["D"] == 562 and first["projection_seed"] == 0


def test_dqn_trains_theta_d_of_online_and_target_networks_that_share_theta_0_and_p(tmp_path):
    settings = {"learning_starts": 100, "train_freq": 50, "gradient_steps": 10, "target_update_interval": 200}
    cfg = compose(["task=cartpole_dqn", "profile=test", "subspace=fastfood", "subspace.d=32", "task.dqn.timesteps=1000",
                   *[f"task.dqn.settings.{key}={value}" for key, value in settings.items()]])  # fmt: skip
    policy = {"net": OmegaConf.to_container(cfg.task.model), "init_seed": 0,
              "subspace": {"kind": "fastfood", "d": 32, "seed": 0}}  # fmt: skip
    agent = DQN(SubspaceDQNPolicy, make_env("CartPole-v1"), policy_kwargs=policy, seed=0, device="cpu",
                **OmegaConf.to_container(cfg.task.dqn.settings))  # fmt: skip
    online, target = agent.policy.q_net.q_net, agent.policy.q_net_target.q_net
    theta_0 = online.theta_0.clone()
    assert isinstance(online, SubspaceModel) and torch.equal(target.theta_0, theta_0)
    assert [name for name, _ in agent.policy.q_net.named_parameters()] == ["q_net.theta_d"]
    agent.learn(total_timesteps=1000)  # target updates at steps 200, 400, ..., 1000
    assert online.theta_d.abs().sum() > 0 and torch.equal(online.theta_0, theta_0)
    assert target.theta_d.abs().sum() > 0  # the target is never optimized: its theta_d came from the online network
    with torch.random.fork_rng():
        torch.manual_seed(0)
        rebuilt = SubspaceModel(instantiate(cfg.task.model), "fastfood", 32, 0)
    rebuilt.load_state_dict(target.state_dict())  # checks kind, d, seed and theta_0's digest
    observations = torch.randn(7, 4)
    torch.testing.assert_close(rebuilt(observations), target(observations))


@pytest.mark.slow
def test_dqn_in_a_large_subspace_solves_cartpole(tmp_path):
    """SB3's DQN in a d = 10,000 subspace of the zoo's 4-256-256-2 Q-network (D = 67,586) within 50,000 steps."""
    overrides = ["task=cartpole_dqn", "profile=quick", "subspace=fastfood", "subspace.d=10000", "logger=csv",
                 "task.model.hidden=[256,256]", "threads=1",
                 f"paths.results_dir={tmp_path}"]  # fmt: skip
    result = run_in_process(overrides, tmp_path / "logs")
    assert result["D"] == 67586
    assert result["metrics"]["train/env_steps"] <= 50_000  # the bound on the steps (validation at 500 stops it)
    assert result["metrics"]["eval/return"] >= 450  # the threshold; the untrained greedy policy falls in ~10 steps


def test_an_rl_study_finds_d_int_for_every_threshold(tmp_path):
    in_process_study(study_arguments(tmp_path, "rl", "baseline"))
    study = in_process_study(study_arguments(tmp_path, "rl", "sweep"))
    summary = summarize(study, tmp_path / "results", "rerun")["cartpole_es"]["fastfood"]
    assert set(summary["d_int"]) == {"absolute", "relative"}
    assert set(summary["curves"][0]) >= {2, 16} and summary["baseline"] > 0
