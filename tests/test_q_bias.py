"""benchmarks.studies.q_bias: the discounted returns it compares Q with, and which steps it counts."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


class Constant(gym.Env):
    """Reward 2 per step; terminates after ``end`` steps (None: never)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,))
    action_space = gym.spaces.Box(-1.0, 1.0, (1,))

    def __init__(self, end: int | None) -> None:
        self.end, self.t = end, 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        return np.zeros(1, np.float32), 2.0, self.end is not None and self.t >= self.end, False, {}


@pytest.fixture
def q_bias(monkeypatch: pytest.MonkeyPatch):
    """``benchmarks/studies/q_bias.py`` with every Q(s, a) = 7."""
    monkeypatch.syspath_prepend(str(ROOT))
    module = importlib.import_module("benchmarks.studies.q_bias")
    monkeypatch.setattr(module, "q_of", lambda model, obs, action: 7.0)
    return module


MODEL = SimpleNamespace(gamma=0.9, predict=lambda obs, deterministic: (np.zeros(1, np.float32), None))


def test_a_terminated_episode_counts_every_step_with_its_discounted_return(q_bias) -> None:
    qs, gs = q_bias.episode_pairs(MODEL, Constant(end=5), reward_scale=0.5, seed=0)
    assert qs == [7.0] * 5
    np.testing.assert_allclose(gs, [(1 - 0.9 ** (5 - t)) / (1 - 0.9) for t in range(5)])


def test_a_truncated_episode_drops_the_steps_whose_tail_is_missing(q_bias) -> None:
    env = gym.wrappers.TimeLimit(Constant(end=None), max_episode_steps=50)
    qs, gs = q_bias.episode_pairs(MODEL, env, reward_scale=0.5, seed=0)
    assert len(qs) == len(gs) == 50 - 30   # 3 / (1 − 0.9) = 30 steps must follow a counted one
    np.testing.assert_allclose(gs[0], (1 - 0.9 ** 50) / (1 - 0.9))
