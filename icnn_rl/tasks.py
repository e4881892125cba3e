"""Training schedules of the tasks, without gymnasium (run records are read without it).

The paper's ten MuJoCo tasks (gymnasium v5) carry their training budget and test interval
(ICNN paper's ``run-exp.random-search.py``); any other gymnasium id gets :data:`GENERIC_TASK`'s
schedule (Pendulum-v1 has a short quick-check schedule). :mod:`icnn_rl.envs` re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass


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


def task_for(env_id: str) -> Task:
    """The schedule of ``env_id``: the paper's for its tasks, else a quick or generic one."""
    return PAPER_TASKS.get(env_id) or QUICK_TASKS.get(env_id) or GENERIC_TASK
