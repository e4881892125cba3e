"""Normalised scores: (x − random) / (reference − random) per task, so that tasks can be pooled.

- ``reference``: a fixed published score per task, the best "max" of the ICNN paper's RL table
  (Amos, Xu, Kolter, ICML 2017, Sec. 6.2: the maximum over DDPG, NAF and ICNN of the max over
  training of the rolling mean of 10 test returns, each the best of 50 hyperparameter samples, on
  gym v1 tasks at the budgets we use). It covers all ten tasks and never moves when a run is added.
- ``random``: the mean return of a uniform random policy under this package's test protocol (one
  env seeded once, episodes run to termination or the time limit, raw rewards), measured by
  :func:`random_policy_returns` and committed as ``random_returns.json`` beside this module.

A score of 0 is a random policy's, 1 the paper's best; scores above 1 are possible.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# The ICNN paper's RL table, gym v1 MuJoCo tasks: task -> agent -> (max, final). "max" is the maximum
# over training of the rolling mean of 10 test returns and "final" its last value; each entry is the
# best of 50 hyperparameter samples, trained at seed 0.
PAPER_RL: dict[str, dict[str, tuple[float, float]]] = {
    "Ant": {"ddpg": (1000.00, 994.74), "naf": (999.03, 990.87), "icnn": (1056.29, 998.00)},
    "HalfCheetah": {"ddpg": (2909.77, 2909.77), "naf": (2575.16, 2269.25), "icnn": (3822.99, 3822.99)},
    "Hopper": {"ddpg": (1501.33, 1152.97), "naf": (1100.43, 1011.67), "icnn": (831.00, 795.77)},
    "Humanoid": {"ddpg": (524.09, 479.72), "naf": (5000.68, 5000.49), "icnn": (433.38, 403.81)},
    "HumanoidStandup": {
        "ddpg": (134265.96, 124997.94),
        "naf": (116399.05, 95120.29),
        "icnn": (141217.38, 119767.80),
    },
    "InvertedDoublePendulum": {
        "ddpg": (9358.81, 9358.73),
        "naf": (9359.59, 9359.52),
        "icnn": (9359.41, 9359.22),
    },
    "InvertedPendulum": {"ddpg": (1000.00, 1000.00), "naf": (1000.00, 1000.00), "icnn": (1000.00, 1000.00)},
    "Reacher": {"ddpg": (-6.10, -9.05), "naf": (-6.31, -7.86), "icnn": (-5.08, -6.33)},
    "Swimmer": {"ddpg": (49.79, 45.86), "naf": (69.71, 67.98), "icnn": (64.89, 64.89)},
    "Walker2d": {"ddpg": (1604.18, 1598.43), "naf": (1007.25, 627.33), "icnn": (298.21, 281.35)},
}
RANDOM_RETURNS = Path(__file__).with_name("random_returns.json")


def paper_task(env: str) -> str:
    """The paper's task name for an env id: the part before ``-v`` (``Reacher-v5`` → ``Reacher``)."""
    return env.partition("-v")[0]


def reference_score(env: str) -> float | None:
    """The best "max" of the paper's table on ``env``'s task, None where the paper lacks the task."""
    agents = PAPER_RL.get(paper_task(env))
    return None if agents is None else max(best for best, _ in agents.values())


def random_returns(path: Path = RANDOM_RETURNS) -> dict[str, float]:
    """The committed mean return of a uniform random policy per env id (empty if none is committed)."""
    if not path.is_file():
        return {}
    return {env: float(entry["mean"]) for env, entry in json.loads(path.read_text())["envs"].items()}


def normaliser(env: str, randoms: dict[str, float]) -> tuple[float, float] | None:
    """``(random, reference)`` of ``env``, or None where either is unknown."""
    reference = reference_score(env)
    if reference is None or env not in randoms:
        return None
    return randoms[env], reference


def normalised(values: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """(x − random) / (reference − random) for ``bounds`` = ``(random, reference)``."""
    random, reference = bounds
    return (np.asarray(values, dtype=float) - random) / (reference - random)
