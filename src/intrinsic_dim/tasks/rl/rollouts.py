"""Episode returns of a population over vectorized environments, robust to environments that crash or hang.

All members play the same seeded episodes (common random numbers: the ES ranking compares policies, not
start states), so a generation is repeatable. Episodes are run in chunks of at most `envs` environments: one
policy call per step over the whole chunk, and only the environments whose episode is still running are
stepped (a gymnasium vector env steps all of them until the longest episode ends: 4-7x the steps of a
population that mostly falls early). If an environment raises or (with `vectorization: async`, one process
per environment) does not answer within `step_timeout` seconds, the chunk's environments are rebuilt and the
chunk is played again from its seeds: the generation continues with exactly the returns it would have had.
With `observe`, the observations met while episodes were alive are summed (count, sum, sum of squares) for
standardizing them, chunks counted once.
"""

from __future__ import annotations

import functools
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


class Environments:
    """A pool of environments of one kind, each stepped on its own, so that an ended episode costs nothing more.

    sync: in this process; async: each in its own process (a one-environment AsyncVectorEnv), all sent their
    action before any is waited for, each wait bounded by `timeout` seconds.
    """

    def __init__(self, factory: Callable[[], gym.Env], vectorization: str, timeout: float) -> None:
        self.factory, self.remote, self.timeout = factory, vectorization == "async", timeout
        self.envs: list[gym.Env | gym.vector.AsyncVectorEnv] = []

    def _grow(self, count: int) -> None:
        while len(self.envs) < count:
            mode = gym.vector.AutoresetMode.NEXT_STEP
            remote = self.remote and gym.vector.AsyncVectorEnv([self.factory], autoreset_mode=mode, context="fork")
            self.envs.append(remote or self.factory())

    def reset(self, seeds: list[int]) -> np.ndarray:
        """The first observations of the first len(seeds) environments, each reset with its seed."""
        self._grow(len(seeds))
        envs = self.envs[: len(seeds)]
        if not self.remote:
            return np.stack([env.reset(seed=seed)[0] for env, seed in zip(envs, seeds, strict=True)])
        for env, seed in zip(envs, seeds, strict=True):
            env.reset_async(seed=[seed])
        return np.stack([env.reset_wait(timeout=self.timeout)[0][0] for env in envs])

    def step(self, indices: np.ndarray, chosen: np.ndarray) -> tuple[np.ndarray, ...]:
        """Observations, rewards, terminated, truncated of the environments `indices` after their actions `chosen`."""
        envs = [self.envs[index] for index in indices]
        if self.remote:
            for env, action in zip(envs, chosen, strict=True):
                env.step_async(action[None])
            results = [[value[0] for value in env.step_wait(timeout=self.timeout)[:4]] for env in envs]
        else:
            results = [env.step(action)[:4] for env, action in zip(envs, chosen, strict=True)]
        observations, rewards, terminated, truncated = zip(*results, strict=True)
        return np.stack(observations), np.asarray(rewards, np.float64), np.asarray(terminated), np.asarray(truncated)

    def close(self, terminate: bool = False) -> None:
        for env in self.envs:
            try:
                env.close(terminate=True) if terminate and self.remote else env.close()
            except Exception as error:  # a broken env may not even close cleanly; it is replaced either way
                log.warning("closing environment %s failed: %s", env, error)
        self.envs = []


class Rollouts:
    def __init__(self, env_id: str, env_kwargs: dict | None = None, envs: int = 64, vectorization: str = "sync",
                 step_timeout: float = 60.0, retries: int = 3, observe: bool = False) -> None:  # fmt: skip
        if vectorization not in ("sync", "async"):
            raise BadInput(f"task.env.vectorization must be sync or async, got {vectorization!r}")
        self.env_id, self.env_kwargs = env_id, dict(env_kwargs or {})
        self.max_envs = int(envs)
        self.retries = int(retries)
        self.restarts = 0  # environments rebuilt after a failure, over the whole run
        self.steps = 0  # environment steps taken (counted per environment)
        self.observed = Moments() if observe else None  # of every episode played, over the whole run
        factory = functools.partial(make_env, env_id, **self.env_kwargs)
        self.environments = Environments(factory, vectorization, float(step_timeout))
        probe = make_env(env_id, **self.env_kwargs)  # fails early, in one line, for an unknown or missing env
        self.action_space = probe.action_space
        probe.close()

    def _play(self, policy: Policy, members: int, seeds: list[int]) -> tuple[torch.Tensor, Moments]:
        """(members,) mean returns of each member over the episodes `seeds`, all played at once; what it observed."""
        episodes = len(seeds)
        observations = self.environments.reset(seeds * members)
        returns = np.zeros(members * episodes)
        alive = np.ones(members * episodes, dtype=bool)
        observed = Moments()
        while alive.any():
            seen = torch.as_tensor(observations, dtype=torch.float32)
            if self.observed is not None:
                observed.add(seen[torch.as_tensor(alive)])
            # every member's policy on all its episodes, ended ones too (their last observation): the same
            # shapes, so the same floats, at every step
            outputs = policy(seen.reshape(members, episodes, *seen.shape[1:]))
            chosen = actions(outputs.reshape(members * episodes, -1), self.action_space)
            playing = np.flatnonzero(alive)
            observations[playing], rewards, terminated, truncated = self.environments.step(playing, chosen[playing])
            self.steps += len(playing)
            returns[playing] += rewards
            alive[playing] = ~(terminated | truncated)
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
        self.environments.close(terminate)
