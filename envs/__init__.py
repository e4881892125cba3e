"""Task registry and environment construction.

Any gymnasium id with a ``Box`` action space is accepted; the schedules of the tasks (the paper's ten
MuJoCo tasks and any other) are :mod:`icnn_rl.tasks`'s, re-exported here.
"""

from __future__ import annotations

import functools
import operator

import gymnasium as gym
from gymnasium import spaces
from gymnasium.wrappers import TransformReward
from stable_baselines3.common.monitor import Monitor

from icnn_rl.tasks import GENERIC_TASK, PAPER_TASKS, QUICK_TASKS, Task, task_for

__all__ = ["GENERIC_TASK", "PAPER_TASKS", "QUICK_TASKS", "EnvError", "Task", "check_env_id", "make_env", "task_for"]


class EnvError(ValueError):
    """An env id that does not exist or whose action space is not a ``Box``."""


def check_env_id(env_id: str) -> None:
    """Raise :class:`EnvError` unless ``env_id`` is a registered gymnasium id whose packages are
    installed (e.g. Box2D tasks need ``gymnasium[box2d]``) and whose action space is a Box."""
    if env_id not in gym.registry:
        choices = ", ".join([*PAPER_TASKS, *QUICK_TASKS])
        raise EnvError(f"unknown env {env_id!r}; the paper's tasks are {choices} (or any gymnasium id)")
    try:
        env = gym.make(env_id)
    except gym.error.DependencyNotInstalled as exc:
        raise EnvError(f"env {env_id!r} needs a package that is not installed: {exc}") from None
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
