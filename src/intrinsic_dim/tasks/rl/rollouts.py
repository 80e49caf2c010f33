"""Episode returns of a population over vectorized environments, robust to environments that crash or hang.

All members play the same seeded episodes (common random numbers: the ES ranking compares policies, not
start states), so a generation is repeatable. Episodes are run in chunks of at most `envs` environments; if
an environment raises or (with `vectorization: async`, one process per environment) does not answer within
`step_timeout` seconds, the chunk's environments are rebuilt and the chunk is played again from its seeds:
the generation continues with exactly the returns it would have had. With `observe`, the observations met
while episodes were alive are summed (count, sum, sum of squares) for standardizing them, chunks counted once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from intrinsic_dim.errors import BadInput
from intrinsic_dim.tasks.rl.envs import actions, make_env

log = logging.getLogger(__name__)

Policy = Callable[[torch.Tensor], torch.Tensor]  # (members, episodes, *obs) -> (members, episodes, outputs)


class EnvironmentFailed(RuntimeError):
    """An environment kept failing after every restart."""


@dataclass
class Moments:
    """Count, sum and sum of squares (float64, per feature) of observations."""

    count: int = 0
    total: torch.Tensor | float = 0.0
    squares: torch.Tensor | float = 0.0

    def add(self, observations: torch.Tensor) -> None:
        """observations: (n, *features)."""
        values = observations.reshape(len(observations), -1).double()
        self.count += len(values)
        self.total = self.total + values.sum(0)
        self.squares = self.squares + values.square().sum(0)

    def merge(self, other: Moments) -> None:
        self.count += other.count
        self.total = self.total + other.total
        self.squares = self.squares + other.squares


class Rollouts:
    def __init__(self, env_id: str, env_kwargs: dict | None = None, envs: int = 64, vectorization: str = "sync",
                 step_timeout: float = 60.0, retries: int = 3, observe: bool = False) -> None:  # fmt: skip
        if vectorization not in ("sync", "async"):
            raise BadInput(f"task.env.vectorization must be sync or async, got {vectorization!r}")
        self.env_id, self.env_kwargs = env_id, dict(env_kwargs or {})
        self.max_envs, self.vectorization = int(envs), vectorization
        self.step_timeout, self.retries = float(step_timeout), int(retries)
        self.restarts = 0  # environments rebuilt after a failure, over the whole run
        self.steps = 0  # environment steps taken (counted per environment)
        self.observed = Moments() if observe else None  # of every episode played, over the whole run
        self._vectors: dict[int, gym.vector.VectorEnv] = {}  # by size: a generation's chunks differ in size
        probe = make_env(env_id, **self.env_kwargs)  # fails early, in one line, for an unknown or missing env
        self.action_space = probe.action_space
        probe.close()

    def _build(self, count: int) -> gym.vector.VectorEnv:
        factories = [lambda: make_env(self.env_id, **self.env_kwargs)] * count
        mode = gym.vector.AutoresetMode.NEXT_STEP
        if self.vectorization == "async":
            return gym.vector.AsyncVectorEnv(factories, autoreset_mode=mode, context="fork")
        return gym.vector.SyncVectorEnv(factories, autoreset_mode=mode)

    def _vector_env(self, count: int) -> gym.vector.VectorEnv:
        if count not in self._vectors:
            self._vectors[count] = self._build(count)
        return self._vectors[count]

    def _reset(self, env: gym.vector.VectorEnv, seeds: list[int]) -> np.ndarray:
        if isinstance(env, gym.vector.AsyncVectorEnv):
            env.reset_async(seed=seeds)
            return env.reset_wait(timeout=self.step_timeout)[0]
        return env.reset(seed=seeds)[0]

    def _step(self, env: gym.vector.VectorEnv, chosen: np.ndarray):
        if isinstance(env, gym.vector.AsyncVectorEnv):
            env.step_async(chosen)
            return env.step_wait(timeout=self.step_timeout)
        return env.step(chosen)

    def _play(self, policy: Policy, members: int, seeds: list[int]) -> tuple[torch.Tensor, Moments]:
        """(members,) mean returns of each member over the episodes `seeds`, in one vector env; what it observed."""
        episodes = len(seeds)
        env = self._vector_env(members * episodes)
        observations = self._reset(env, seeds * members)
        returns = np.zeros(members * episodes)
        alive = np.ones(members * episodes, dtype=bool)
        observed = Moments()
        while alive.any():
            seen = torch.as_tensor(np.asarray(observations), dtype=torch.float32)
            if self.observed is not None:
                observed.add(seen[torch.as_tensor(alive)])
            outputs = policy(seen.reshape(members, episodes, *seen.shape[1:]))
            chosen = actions(outputs.reshape(members * episodes, -1), self.action_space)
            observations, rewards, terminated, truncated, _ = self._step(env, chosen)
            self.steps += int(alive.sum())
            returns += np.where(alive, rewards, 0.0)
            alive &= ~(terminated | truncated)
        return torch.as_tensor(returns.reshape(members, episodes).mean(1), dtype=torch.float32), observed

    def returns(self, policy_of: Callable[[slice], Policy], members: int, seeds: list[int]) -> torch.Tensor:
        """Mean return of each of `members` over the episodes `seeds`; `policy_of(chunk)` plays the members in chunk."""
        per_chunk = max(1, self.max_envs // len(seeds))
        results = []
        for start in range(0, members, per_chunk):
            chunk = slice(start, min(members, start + per_chunk))
            results.append(self._robust_play(policy_of(chunk), chunk.stop - chunk.start, seeds))
        return torch.cat(results)

    def _robust_play(self, policy: Policy, members: int, seeds: list[int]) -> torch.Tensor:
        for attempt in range(self.retries + 1):
            try:
                returns, observed = self._play(policy, members, seeds)
            except BadInput:
                raise
            except Exception as error:  # any failure of an env, a hang (multiprocessing.TimeoutError) included
                self.restarts += 1
                log.warning("environment %s failed (%s: %s); restarting it (attempt %d of %d)", self.env_id,
                            type(error).__name__, str(error).splitlines()[0] if str(error) else "", attempt + 1,
                            self.retries)  # fmt: skip
                self.close(terminate=True)
                continue
            if self.observed is not None:
                self.observed.merge(observed)
            return returns
        raise EnvironmentFailed(
            f"environment {self.env_id} failed {self.retries + 1} times in a row; see the log above for why"
        )

    def close(self, terminate: bool = False) -> None:
        for vector in self._vectors.values():
            try:
                if terminate and isinstance(vector, gym.vector.AsyncVectorEnv):
                    vector.close(terminate=True)
                else:
                    vector.close()
            except Exception as error:  # a broken env may not even close cleanly; it is replaced either way
                log.warning("closing environment %s failed: %s", self.env_id, error)
        self._vectors = {}
