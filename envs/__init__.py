"""Task registry and environment construction.

The paper's ten MuJoCo tasks (gymnasium v5) carry their training budget and test interval
(ICNN paper's ``run-exp.random-search.py``); any other gymnasium id with a ``Box`` action space
is accepted with :data:`GENERIC_TASK`'s schedule (Pendulum-v1 has a short quick-check schedule).
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass

import gymnasium as gym
from gymnasium import spaces
from gymnasium.wrappers import TransformReward
from stable_baselines3.common.monitor import Monitor


@dataclass(frozen=True)
class Task:
    """A training schedule: ``budget`` env steps, one test phase every ``test_interval`` steps."""

    budget: int
    test_interval: int


PAPER_TASKS: dict[str, Task] = {
    "Ant-v5": Task(100_000, 1_000),
    "HalfCheetah-v5": Task(100_000, 1_000),
    "Hopper-v5": Task(100_000, 1_000),
    "Humanoid-v5": Task(100_000, 1_000),
    "HumanoidStandup-v5": Task(100_000, 1_000),
    "InvertedDoublePendulum-v5": Task(10_000, 100),
    "InvertedPendulum-v5": Task(10_000, 100),
    "Reacher-v5": Task(10_000, 100),
    "Swimmer-v5": Task(100_000, 1_000),
    "Walker2d-v5": Task(200_000, 2_000),
}
QUICK_TASKS: dict[str, Task] = {"Pendulum-v1": Task(10_000, 500)}
GENERIC_TASK = Task(100_000, 1_000)


class EnvError(ValueError):
    """An env id that does not exist or whose action space is not a ``Box``."""


def task_for(env_id: str) -> Task:
    """The schedule of ``env_id``: the paper's for its tasks, else a quick or generic one."""
    return PAPER_TASKS.get(env_id) or QUICK_TASKS.get(env_id) or GENERIC_TASK


def check_env_id(env_id: str) -> None:
    """Raise :class:`EnvError` unless ``env_id`` is a registered gymnasium id with a Box action space."""
    if env_id not in gym.registry:
        choices = ", ".join([*PAPER_TASKS, *QUICK_TASKS])
        raise EnvError(f"unknown env {env_id!r}; the paper's tasks are {choices} (or any gymnasium id)")
    env = gym.make(env_id)
    try:
        if not isinstance(env.action_space, spaces.Box):
            raise EnvError(
                f"env {env_id!r} has action space {type(env.action_space).__name__}; "
                "only Box (continuous) action spaces are supported"
            )
    finally:
        env.close()


def make_env(env_id: str, reward_scale: float = 1.0, render_mode: str | None = None) -> gym.Env:
    """``gym.make(env_id)`` with a :class:`Monitor` recording raw returns, then ``r ↦ reward_scale·r``.

    The scaling sits outside the Monitor, so the agent learns from ``reward_scale·r`` while
    every logged return (``rollout/ep_rew_mean``, test returns on unscaled envs) stays raw.
    """
    env: gym.Env = Monitor(gym.make(env_id, render_mode=render_mode))
    if reward_scale != 1.0:
        env = TransformReward(env, functools.partial(operator.mul, reward_scale))
    return env
