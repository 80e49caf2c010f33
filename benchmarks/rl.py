"""A population's rollouts as one vectorized subspace policy against its members one by one (InvertedPendulum).

    python benchmarks/rl.py            # population 32 x 2 episodes at d = 16, 200 steps each (~1 min here)
    python benchmarks/rl.py --quick    # a tiny population, to check that the script works

Both paths score the same members on the same seeded episodes and must agree on every return. One by one:
each member's theta_d is loaded into the SubspaceModel and its episodes are played in a single environment,
one policy call per step (what a population loop over gymnasium does without vectorization). Vectorized:
every member's theta_D is built once, and each step is one vmapped call over all members' environments
(intrinsic_dim.tasks.rl.population and .rollouts). Writes results/rl.json and results/rl.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

from intrinsic_dim.machine import cpu_name
from intrinsic_dim.tasks.rl.envs import actions, make_env
from intrinsic_dim.tasks.rl.es import scorer
from intrinsic_dim.tasks.rl.policies import mlp
from intrinsic_dim.tasks.rl.population import Population
from intrinsic_dim.tasks.rl.rollouts import Rollouts

RESULTS = Path(__file__).parent / "results"
ENV = "InvertedPendulum-v5"


@torch.no_grad()
def one_by_one(population: Population, members: torch.Tensor, seeds: list[int], steps: int) -> torch.Tensor:
    env = make_env(ENV, max_episode_steps=steps)
    returns = []
    for member in members:
        model = population.set_solution(member)
        total = 0.0
        for seed in seeds:
            observation, _ = env.reset(seed=seed)
            done = False
            while not done:
                outputs = model(torch.as_tensor(observation, dtype=torch.float32))
                observation, reward, terminated, truncated, _ = env.step(actions(outputs, env.action_space))
                total += float(reward)
                done = terminated or truncated
        returns.append(total / len(seeds))
    env.close()
    return torch.tensor(returns)


def measure(members: int, episodes: int, d: int, steps: int) -> dict:
    torch.manual_seed(0)
    population = Population(mlp(4, [64, 64], 1), OmegaConf.create({"kind": "fastfood", "d": d, "seed": 0}))
    # a spread of policies, from falling at once to balancing the whole episode
    solutions = torch.randn(members, population.size, generator=torch.Generator().manual_seed(1)) * 2.0
    seeds = list(range(episodes))
    rollouts = Rollouts(ENV, {"max_episode_steps": steps}, envs=members * episodes)
    score = scorer(population, rollouts)
    score(solutions[:2], seeds)  # warm-up: environments built, kernels loaded
    started = time.perf_counter()
    vectorized = score(solutions, seeds)
    vectorized_seconds = time.perf_counter() - started
    rollouts.close()
    started = time.perf_counter()
    serial = one_by_one(population, solutions, seeds, steps)
    serial_seconds = time.perf_counter() - started
    if not torch.allclose(vectorized, serial):
        raise SystemExit(f"the two paths disagree: {vectorized.tolist()} vs {serial.tolist()}")
    env_steps = float(vectorized.sum()) * episodes  # reward 1 per step: the return is the episode's length
    return {
        "env": ENV, "D": population.D, "d": d, "members": members, "episodes_per_member": episodes,
        "max_steps": steps, "env_steps": int(env_steps), "mean_return": round(float(vectorized.mean()), 1),
        "one_by_one_seconds": round(serial_seconds, 3), "vectorized_seconds": round(vectorized_seconds, 3),
        "speedup": round(serial_seconds / vectorized_seconds, 2),
    }  # fmt: skip


def markdown(results: dict) -> str:
    row = results["population"]
    return "\n".join([
        f"Measured {results['date']} on {results['cpu']} ({results['cores']} cores, one torch thread), "
        f"{row['env']}, 4-64-64-1 policy (D = {row['D']:,}) in a Fastfood subspace of d = {row['d']}.",
        "",
        "| population | episodes | env steps | one by one (s) | vectorized (s) | speed-up |",
        "|---|---|---|---|---|---|",
        f"| {row['members']} x {row['episodes_per_member']} episodes (<= {row['max_steps']} steps) | "
        f"{row['members'] * row['episodes_per_member']} | {row['env_steps']:,} | {row['one_by_one_seconds']:.2f} | "
        f"{row['vectorized_seconds']:.2f} | {row['speedup']:.1f}x |",
        "",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny population (checks the script)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(1)  # one run's share of this 2-core machine in a study with two parallel jobs
    size = dict(members=4, episodes=1, d=4, steps=50) if args.quick else dict(members=32, episodes=2, d=16, steps=200)
    results = {
        "date": time.strftime("%Y-%m-%d"), "cpu": cpu_name(), "cores": os.cpu_count(),
        "threads": torch.get_num_threads(), "population": measure(**size),
    }  # fmt: skip
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "rl.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out_dir / "rl.md").write_text(markdown(results))
    print(markdown(results), end="")


if __name__ == "__main__":
    main()
