"""Evolution strategies in a subspace (Salimans et al. 2017, as Li et al. 2018 used for MuJoCo and Atari).

The search distribution and its update come from evotorch (PGPE with a fixed spread, symmetric sampling and
centered ranks is Salimans et al.'s ES); the objective is ours: a whole population scored as one vectorized
policy over vectorized environments (intrinsic_dim.tasks.rl.population, .rollouts). The search starts at x = 0,
i.e. at theta_0, like every subspace run. Each generation also scores its center (on the same episodes); the run
stops early once the center has scored `stop.at_return` (the most the training episodes can return) in
`stop.generations` generations running. A policy that standardizes its observations (policies.Standardize)
gets, before each generation, the mean and std of every observation the training episodes met so far, as in
Salimans et al.; evaluation and the stored model keep the last generation's. The run's metric is the mean
return of the last scored center over `evaluation.episodes` fixed-seed episodes (scored as a population of
one, as in training), so the same seed gives the same return.
"""

from __future__ import annotations

import logging

import hydra
import torch
from evotorch import Problem
from omegaconf import DictConfig

from intrinsic_dim.tasks.family import Built, RunContext
from intrinsic_dim.tasks.rl.policies import Standardize
from intrinsic_dim.tasks.rl.population import Population
from intrinsic_dim.tasks.rl.rollouts import Rollouts

EVALUATION_SEED = 1_000_000  # evaluation episodes never share start states with training episodes


def episode_seeds(seed: int, generation: int, episodes: int) -> list[int]:
    """The start states of one generation's episodes, shared by all its members."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + generation)
    return torch.randint(0, EVALUATION_SEED, (episodes,), generator=generator).tolist()


def scorer(population: Population, rollouts: Rollouts):
    """(members, size) solutions and episode seeds -> (members,) mean returns, all members played at once."""

    def score(solutions: torch.Tensor, seeds: list[int]) -> torch.Tensor:
        parameters = population.parameters(population.theta_D(solutions))

        def policy_of(chunk: slice):
            own = {name: value[chunk] for name, value in parameters.items()}
            return lambda observations: population.forward(own, observations)

        return rollouts.returns(policy_of, len(solutions), seeds)

    return score


def rollouts(env: DictConfig, episode_steps: int | None = None, observe: bool = False) -> Rollouts:
    kwargs = dict(env.kwargs) | ({"max_episode_steps": episode_steps} if episode_steps else {})
    return Rollouts(env.id, kwargs, env.envs, env.vectorization, env.step_timeout, env.retries, observe)


def build(cfg: DictConfig) -> Built:
    """The policy net in its subspace, as the population every generation is drawn from."""
    population = Population(hydra.utils.instantiate(cfg.task.model), cfg.subspace)
    return Built(None, population.model, population)


def fit(cfg: DictConfig, built: Built, context: RunContext) -> dict[str, float]:
    """ES from x = 0 for up to `es.generations`; `built.model` is left at the last scored center."""
    es = cfg.task.es
    logging.getLogger("evotorch").setLevel(logging.WARNING)  # its per-problem INFO lines, once per run
    population = built.state
    standardizers = [module for module in population.net.modules() if isinstance(module, Standardize)]
    training = rollouts(cfg.task.env, cfg.task.env.train_steps, observe=bool(standardizers))
    score = scorer(population, training)
    centers: list[tuple[torch.Tensor, float]] = []  # each generation's center and its return, scored with it
    generation = 0

    def fitness(solutions: torch.Tensor) -> torch.Tensor:
        if training.observed is not None and training.observed.count:
            for standardize in standardizers:
                standardize.set_moments(training.observed.count, training.observed.total, training.observed.squares)
        center = searcher.status["center"].as_subclass(torch.Tensor).clone()
        returns = score(torch.cat([solutions.as_subclass(torch.Tensor), center[None]]),
                        episode_seeds(cfg.seed, generation, es.episodes))  # fmt: skip
        centers.append((center, float(returns[-1])))
        return returns[:-1]

    def converged() -> bool:
        """The center scored at least `stop.at_return` in each of the last `stop.generations` generations."""
        recent = [value for _, value in centers[-es.stop.generations :]]
        return es.stop.at_return is not None and len(recent) == es.stop.generations and min(recent) >= es.stop.at_return

    problem = Problem("max", fitness, solution_length=population.size, initial_bounds=(0.0, 0.0),
                      vectorized=True, seed=cfg.seed)  # fmt: skip
    searcher = hydra.utils.instantiate(es.algorithm)(problem, center_init=torch.zeros(population.size))
    try:
        for generation in range(es.generations):  # noqa: B007 (`fitness` reads it)
            searcher.step()
            if context.wandb_run is not None:
                status = searcher.status
                context.wandb_run.log({"train/mean_return": float(status["mean_eval"]),
                                       "train/best_return": float(status["pop_best_eval"]),
                                       "train/center_return": centers[-1][1],
                                       "train/env_steps": training.steps}, step=generation)  # fmt: skip
            if converged():
                break
    finally:
        training.close()
    built.model = population.set_solution(centers[-1][0] if centers else torch.zeros(population.size))
    return {
        "train/env_steps": float(training.steps),
        "train/generations": float(len(centers)),
        "train/env_restarts": float(training.restarts),
    }


def evaluate(cfg: DictConfig, built: Built) -> dict[str, float]:
    """The mean return of the trained center over the fixed-seed evaluation episodes."""
    evaluation = rollouts(cfg.task.env)
    seeds = [EVALUATION_SEED + episode for episode in range(cfg.task.evaluation.episodes)]
    try:
        final = scorer(built.state, evaluation)(built.state.solution[None], seeds)
    finally:
        evaluation.close()
    return {"eval/return": float(final[0]), "eval/env_restarts": float(evaluation.restarts)}
