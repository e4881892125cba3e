"""Deterministic episodes of a trained policy, optionally passing rendered frames on."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm


def rollout(
    model: BaseAlgorithm,
    env: gym.Env,
    seed: int | None = None,
    on_frame: Callable[[np.ndarray], None] | None = None,
) -> float:
    """One episode with ``model.predict(obs, deterministic=True)``; returns the sum of the env's
    rewards (raw when ``env`` has no reward scaling). ``seed`` seeds the first reset only.
    With ``on_frame`` given, it receives ``env.render()`` after the reset and after every step."""
    obs, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        if on_frame is not None:
            on_frame(env.render())
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, _ = env.step(action)
        total += float(reward)
        done = terminated or truncated
    if on_frame is not None:
        on_frame(env.render())
    return total
