"""Aggregate statistics of normalised scores over tasks × runs, with stratified bootstrap intervals
(Agarwal et al., "Deep Reinforcement Learning at the Edge of the Statistical Precipice", NeurIPS 2021).

An agent's scores are one 1-D array per task, one value per run (seed); tasks may have different
run counts. Every statistic weighs tasks equally: each task's runs are repeated up to the least
common multiple of the run counts (:func:`pooled`), so with the same count on every task the
statistics are exactly those of the ``rliable`` package on its runs × tasks matrix:

- IQM: the mean of the middle 50 % of the pooled scores (``scipy.stats.trim_mean(x, 0.25)``);
- mean; optimality gap: mean of max(γ − x, 0) with γ = 1;
- probability of improvement P(X > Y): per task, the probability that a run of X scores above a
  run of Y (ties count ½, the Mann-Whitney U statistic over n·m), averaged over the shared tasks;
- performance profile: the fraction of pooled scores above each threshold τ.

Intervals are percentile intervals of a stratified bootstrap: each replicate redraws every task's
runs with replacement from that task's own runs (X and Y independently for P(X > Y)). The
generator is seeded, so a report regenerates to the same digits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

Scores = Sequence[np.ndarray]   # one array of run scores per task
Statistic = Callable[[np.ndarray], np.ndarray]   # (replicates, pooled) → (replicates,)
REPS = 50_000        # bootstrap replicates of an aggregate or a probability of improvement
CURVE_REPS = 2_000   # replicates per point of a profile or a curve
CONFIDENCE = 0.95


def iqm(pooled: np.ndarray) -> np.ndarray:
    """Interquartile mean along the last axis: the mean after dropping ⌊n/4⌋ values at each end."""
    return stats.trim_mean(pooled, 0.25, axis=-1)


def mean(pooled: np.ndarray) -> np.ndarray:
    """Mean along the last axis."""
    return pooled.mean(axis=-1)


def optimality_gap(pooled: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """Mean shortfall below ``gamma`` along the last axis: mean of max(γ − x, 0)."""
    return np.maximum(gamma - pooled, 0.0).mean(axis=-1)


AGGREGATES: dict[str, Statistic] = {"IQM": iqm, "mean": mean, "optimality gap": optimality_gap}


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its bootstrap percentile interval."""

    value: float
    low: float
    high: float

    def text(self, digits: int = 2) -> str:
        """``value [low, high]``."""
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def _check(scores: Scores) -> list[np.ndarray]:
    tasks = [np.asarray(task, dtype=float) for task in scores]
    if not tasks or any(task.ndim != 1 or task.size == 0 for task in tasks):
        raise ValueError("scores must be one non-empty 1-D array of run scores per task, for at least one task")
    return tasks


def pooled(scores: Scores) -> np.ndarray:
    """Every task's runs, each task's repeated up to the least common multiple of the run counts, so
    that tasks weigh equally; a leading replicate axis is kept (shape ``(..., tasks · lcm)``)."""
    tasks = [np.asarray(task, dtype=float) for task in scores]
    common = math.lcm(*(task.shape[-1] for task in tasks))
    return np.concatenate([np.repeat(task, common // task.shape[-1], axis=-1) for task in tasks], axis=-1)


def resampled(scores: Scores, reps: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``reps`` stratified bootstrap replicates: per task an array ``(reps, runs)`` drawn with
    replacement from that task's runs."""
    return [task[rng.integers(0, task.size, size=(reps, task.size))] for task in _check(scores)]


def _interval(point: float, replicates: np.ndarray, confidence: float = CONFIDENCE) -> Estimate:
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(replicates, [tail, 100 - tail], axis=0)
    return Estimate(point, float(low), float(high))


def aggregate(scores: Scores, statistic: Statistic, reps: int = REPS, seed: int = 0) -> Estimate:
    """``statistic`` of the pooled scores with its stratified bootstrap 95 % interval."""
    tasks = _check(scores)
    rng = np.random.default_rng(seed)
    return _interval(float(statistic(pooled(tasks))), statistic(pooled(resampled(tasks, reps, rng))))


def _improvement(x: Scores, y: Scores) -> np.ndarray:
    """P(X > Y) per replicate (leading axes kept), averaged over the tasks."""
    per_task = [
        ((a[..., :, None] > b[..., None, :]) + 0.5 * (a[..., :, None] == b[..., None, :])).mean(axis=(-2, -1))
        for a, b in zip(x, y)
    ]
    return np.mean(per_task, axis=0)


def probability_of_improvement(x: Scores, y: Scores, reps: int = REPS, seed: int = 0) -> Estimate:
    """P(X > Y) over the tasks both score lists hold (in the same order), with its interval from
    independent stratified bootstraps of X's and Y's runs."""
    x, y = _check(x), _check(y)
    if len(x) != len(y):
        raise ValueError(f"both agents need scores on the same tasks, got {len(x)} and {len(y)}")
    rng = np.random.default_rng(seed)
    return _interval(float(_improvement(x, y)), _improvement(resampled(x, reps, rng), resampled(y, reps, rng)))


def performance_profile(
    scores: Scores, taus: np.ndarray, reps: int = CURVE_REPS, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fraction of pooled scores above each τ of ``taus``, and the lower and upper ends of its
    pointwise 95 % interval."""
    tasks = _check(scores)

    def fraction(values: np.ndarray) -> np.ndarray:
        return (values[..., None, :] > taus[:, None]).mean(axis=-1)

    rng = np.random.default_rng(seed)
    replicates = fraction(pooled(resampled(tasks, reps, rng)))
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(replicates, [tail, 100 - tail], axis=0)
    return fraction(pooled(tasks)), low, high
