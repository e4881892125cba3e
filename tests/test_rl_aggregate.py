"""Aggregate statistics over tasks × runs (icnn_rl.rl.aggregate) against rliable's, task weighting
with unequal seed counts, and intervals that shrink with seeds."""

from __future__ import annotations

import numpy as np
import pytest
from rliable import library as rly
from rliable import metrics

from icnn_rl.rl import aggregate as ag

RLIABLE = {"IQM": metrics.aggregate_iqm, "mean": metrics.aggregate_mean,
           "optimality gap": metrics.aggregate_optimality_gap}


def matrix(seed: int, runs: int = 5, tasks: int = 6, centre: float = 0.6) -> np.ndarray:
    return np.random.default_rng(seed).normal(centre, 0.3, size=(runs, tasks))


@pytest.mark.parametrize("name", list(RLIABLE))
def test_aggregates_and_intervals_match_rliable_on_a_runs_by_tasks_matrix(name: str) -> None:
    scores = matrix(1)
    point, interval = rly.get_interval_estimates({"x": scores}, lambda s: np.array([RLIABLE[name](s)]), reps=2000)
    ours = ag.aggregate(list(scores.T), ag.AGGREGATES[name])
    assert ours.value == pytest.approx(float(point["x"][0]), abs=1e-12)
    assert [ours.low, ours.high] == pytest.approx(interval["x"].ravel().tolist(), abs=0.015)


def test_probability_of_improvement_and_profile_match_rliable() -> None:
    x, y = matrix(1), matrix(2, centre=0.5)
    point, interval = rly.get_interval_estimates(
        {"xy": (x, y)}, lambda a, b: np.array([metrics.probability_of_improvement(a, b)]), reps=2000)
    ours = ag.probability_of_improvement(list(x.T), list(y.T))
    assert ours.value == pytest.approx(float(point["xy"][0]), abs=1e-12)
    assert [ours.low, ours.high] == pytest.approx(interval["xy"].ravel().tolist(), abs=0.03)
    taus = np.linspace(0.0, 1.5, 7)
    profiles, bands = rly.create_performance_profile({"x": x}, taus, reps=500)
    fraction, low, high = ag.performance_profile(list(x.T), taus)
    np.testing.assert_allclose(fraction, profiles["x"])
    np.testing.assert_allclose(np.stack([low, high]), bands["x"], atol=0.1)


def test_tasks_weigh_equally_whatever_their_seed_counts() -> None:
    scores = [np.array([1.0]), np.array([0.0, 0.0, 0.0])]
    assert ag.aggregate(scores, ag.mean, reps=100).value == 0.5
    assert ag.aggregate(scores, ag.optimality_gap, reps=100).value == 0.5
    # one task at 1 run and one at 2 runs: the lcm repeats them to 2 each, so the IQM drops a value
    # at each end of [0, 0, 1, 1] and keeps 0 and 1
    assert ag.aggregate([np.array([1.0]), np.array([0.0, 0.0])], ag.iqm, reps=100).value == 0.5
    better = [np.array([2.0]), np.array([1.0, 1.0, 1.0])]
    assert ag.probability_of_improvement(better, scores, reps=100).value == 1.0


def test_intervals_shrink_with_seeds_and_cover_the_truth() -> None:
    rng = np.random.default_rng(3)
    widths = []
    for runs in (3, 12, 48):
        scores = list(rng.normal(0.7, 0.3, size=(runs, 10)).T)
        estimate = ag.aggregate(scores, ag.mean, reps=4000)
        assert estimate.low <= 0.7 + 0.1 and estimate.high >= 0.7 - 0.1
        widths.append(estimate.high - estimate.low)
    assert widths[0] > 1.5 * widths[1] and widths[1] > 1.5 * widths[2]   # about 2x per 4x the seeds


def test_bad_score_lists_are_one_clear_error() -> None:
    with pytest.raises(ValueError, match="one non-empty 1-D array"):
        ag.aggregate([np.array([])], ag.iqm)
    with pytest.raises(ValueError, match="same tasks"):
        ag.probability_of_improvement([np.array([1.0])], [np.array([1.0]), np.array([2.0])])
