"""Gymnasium environments, created offline: classic control, MuJoCo, and Atari (ale-py ships the ROMs)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

from intrinsic_dim.errors import BadInput


def make_env(env_id: str, atari_frames: int = 4, **kwargs) -> gym.Env:
    """One environment; Atari ids get the usual preprocessing: 84x84 grey, 4 frames skipped, `atari_frames` stacked."""
    atari = env_id.startswith("ALE/")
    if atari:
        import ale_py  # registers the ALE/ ids

        gym.register_envs(ale_py)
        kwargs = {"frameskip": 1, "repeat_action_probability": 0.0, **kwargs}  # the skip happens in the wrapper
    try:
        env = gym.make(env_id, **kwargs)
    except gym.error.DependencyNotInstalled as error:
        raise BadInput(
            f"environment {env_id!r} needs a missing package ({str(error).splitlines()[0]}); "
            "pip install -e . installs them (gymnasium[mujoco], ale-py, opencv-python-headless)"
        ) from error
    except gym.error.Error as error:
        message = f"cannot create environment {env_id!r} ({str(error).splitlines()[0]})"
        raise BadInput(f"{message}; check task.env.id against gymnasium.pprint_registry()") from error
    if atari:
        env = FrameStackObservation(AtariPreprocessing(env, frame_skip=4, screen_size=84), atari_frames)
    return env


def spaces(env_id: str, **kwargs) -> tuple[gym.Space, gym.Space]:
    """(observation space, action space) of an environment, which the policy's sizes come from."""
    env = make_env(env_id, **kwargs)
    try:
        return env.observation_space, env.action_space
    finally:
        env.close()


def policy_outputs(env_id: str, **kwargs) -> int:
    """Outputs of a policy net: one logit (or Q-value) per discrete action, or one mean per action dimension."""
    action_space = spaces(env_id, **kwargs)[1]
    if isinstance(action_space, gym.spaces.Discrete):
        return int(action_space.n)
    return int(np.prod(action_space.shape))


def actions(outputs: torch.Tensor, action_space: gym.Space) -> np.ndarray:
    """Deterministic actions from policy outputs (..., outputs): the argmax, or tanh scaled into the box."""
    if isinstance(action_space, gym.spaces.Discrete):
        return outputs.argmax(-1).cpu().numpy()
    low = torch.as_tensor(action_space.low, dtype=outputs.dtype)
    high = torch.as_tensor(action_space.high, dtype=outputs.dtype)
    return (low + (torch.tanh(outputs) + 1) * (high - low) / 2).cpu().numpy()
