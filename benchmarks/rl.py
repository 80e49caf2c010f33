"""A population's rollouts as one vectorized subspace policy against its members one by one (InvertedPendulum).

    python benchmarks/rl.py            # population 32 x 2 episodes at d = 8, at most 200 steps (~2 min here)
    python benchmarks/rl.py --quick    # a tiny population, to check that the script works

The paths score the same members on the same seeded episodes (their returns are compared). One by one:
each member's theta_d is loaded into the SubspaceModel and its episodes are played in a single environment,
one policy call per step (what a population loop over gymnasium does without vectorization), or with its
theta_D built once and the base network called with it (`functional_call`). Vectorized:
every member's theta_D is built once, and each step is one vmapped call over all members' environments
(intrinsic_dim.tasks.rl.population and .rollouts). Writes results/rl.json and results/rl.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from functools import partial
from pathlib import Path

import torch
from core import RESULTS, write_results
from torch.func import functional_call

from intrinsic_dim.config import compose
from intrinsic_dim.machine import cpu_name
from intrinsic_dim.tasks.family import RunContext, family_named, seeded_build
from intrinsic_dim.tasks.rl import es
from intrinsic_dim.tasks.rl.envs import actions, make_env
from intrinsic_dim.tasks.rl.es import scorer
from intrinsic_dim.tasks.rl.population import Population
from intrinsic_dim.tasks.rl.rollouts import Rollouts

ENV = "InvertedPendulum-v5"


@torch.no_grad()
def one_by_one(population: Population, members: torch.Tensor, seeds: list[int], steps: int, built: bool):
    """Each member alone in one env: its SubspaceModel called every step, or (`built`) its theta_D built once."""
    env = make_env(ENV, max_episode_steps=steps)
    returns = []
    for member in members:
        if built:
            own = population.parameters(population.theta_D(member[None])[0])
            model = partial(functional_call, population.net, own)
        else:
            model = population.set_solution(member)
        total = 0.0
        for seed in seeds:
            observation, _ = env.reset(seed=seed)
            done = False
            while not done:
                outputs = model(torch.as_tensor(observation, dtype=torch.float32)[None])[0]
                observation, reward, terminated, truncated, _ = env.step(actions(outputs, env.action_space))
                total += float(reward)
                done = terminated or truncated
        returns.append(total / len(seeds))
    env.close()
    return torch.tensor(returns)


def balancing_center(d: int, generations: int) -> tuple[Population, torch.Tensor]:
    """The population's network and a center that balances: the quick task's ES run at seed 0 (1,000 at d = 8)."""
    cfg = compose(["task=inverted_pendulum_es", "subspace=fastfood", f"subspace.d={d}", "seed=0",
                   f"task.budgets.quick.generations.subspace={generations}"])  # fmt: skip
    built = seeded_build(family_named("rl"), cfg)  # as the study's run: the same theta_0
    es.fit(cfg, built, RunContext(Path(tempfile.mkdtemp()), None))
    # the population's net keeps the observation statistics the center was trained with (buffers outside theta_D)
    return built.state, built.state.solution.clone()


def measure(members: int, episodes: int, d: int, steps: int, generations: int) -> dict:
    population, center = balancing_center(d, generations)
    # members spread around the center: most balance for the whole episode, some fall early, as in a generation
    noise = torch.randn(members, population.size, generator=torch.Generator().manual_seed(1))
    solutions = center + noise * 0.3 * center.norm() / population.size**0.5
    seeds = list(range(episodes))
    rollouts = Rollouts(ENV, {"max_episode_steps": steps}, envs=members * episodes)
    score = scorer(population, rollouts)
    score(solutions, seeds)  # warm-up: the vector env built, kernels loaded
    started = time.perf_counter()
    vectorized = score(solutions, seeds)
    vectorized_seconds = time.perf_counter() - started
    rollouts.close()
    serial_seconds, difference = {}, 0.0
    for built in (False, True):
        started = time.perf_counter()
        serial = one_by_one(population, solutions, seeds, steps, built)
        serial_seconds[built] = time.perf_counter() - started
        # a batched matmul rounds differently: an action may differ in its last bits, an episode by a step or so
        difference = max(difference, float((vectorized - serial).abs().max()))
    env_steps = float(vectorized.sum()) * episodes  # reward 1 per step: the return is the episode's length
    return {
        "env": ENV, "D": population.D, "d": d, "members": members, "episodes_per_member": episodes,
        "max_steps": steps, "env_steps": int(env_steps), "mean_return": round(float(vectorized.mean()), 1),
        "one_by_one_seconds": round(serial_seconds[False], 3),
        "one_by_one_built_seconds": round(serial_seconds[True], 3),
        "vectorized_seconds": round(vectorized_seconds, 3),
        "speedup": round(serial_seconds[False] / vectorized_seconds, 2),
        "speedup_over_built": round(serial_seconds[True] / vectorized_seconds, 2),
        "largest_return_difference": difference,
    }  # fmt: skip


def markdown(results: dict) -> str:
    row = results["population"]
    return "\n".join([
        f"Measured {results['date']} on {results['cpu']} ({results['cores']} cores, one torch thread), "
        f"{row['env']}, 4-64-64-1 policy (D = {row['D']:,}) in a Fastfood subspace of d = {row['d']}.",
        "",
        "| evaluation of the population | seconds | vectorized is faster by |",
        "|---|---|---|",
        f"| one by one, the `SubspaceModel` called at every step | {row['one_by_one_seconds']:.2f} | "
        f"{row['speedup']:.1f}x |",
        f"| one by one, each member's theta_D built once | {row['one_by_one_built_seconds']:.2f} | "
        f"{row['speedup_over_built']:.1f}x |",
        f"| vectorized: one vmapped call per step over every member's environments | {row['vectorized_seconds']:.2f} "
        "| - |",
        "",
        f"{row['members']} members x {row['episodes_per_member']} episodes of at most {row['max_steps']} steps "
        f"({row['env_steps']:,} environment steps); the paths' mean returns differ by at most "
        f"{row['largest_return_difference']:g} (float rounding of batched and single calls).",
        "",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny population (checks the script)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(1)  # one run's share of this 2-core machine in a study with two parallel jobs
    quick = dict(members=4, episodes=1, steps=50, generations=2)
    full = dict(members=32, episodes=2, steps=200, generations=100)
    size = {"d": 8, **(quick if args.quick else full)}
    results = {
        "date": time.strftime("%Y-%m-%d"), "cpu": cpu_name(), "cores": os.cpu_count(),
        "threads": torch.get_num_threads(), "population": measure(**size),
    }  # fmt: skip
    write_results(args.out_dir, "rl", results, markdown(results))


if __name__ == "__main__":
    main()
