"""Normalised scores (icnn_rl.rl.scores): the fixed reference, the committed random-policy returns
and their measurement under the test protocol."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from icnn_rl.envs import PAPER_TASKS
from icnn_rl.rl.scores import normalised, normaliser, random_returns, reference_score

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def rl_random_returns(monkeypatch: pytest.MonkeyPatch):
    """The measuring command, ``benchmarks/random_returns.py`` (imported from the repository root)."""
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module("benchmarks.publish.random_returns")


def test_random_scores_zero_and_the_papers_best_one() -> None:
    bounds = normaliser("Reacher-v5", {"Reacher-v5": -43.0})
    assert bounds == (-43.0, -5.08)
    np.testing.assert_allclose(normalised(np.array([-43.0, -5.08, -24.04]), bounds), [0.0, 1.0, 0.5])
    assert reference_score("Humanoid-v5") == 5000.68 and reference_score("Pendulum-v1") is None
    assert normaliser("Reacher-v5", {}) is None and normaliser("Pendulum-v1", {"Pendulum-v1": -1200.0}) is None


def test_the_committed_random_returns_cover_the_ten_tasks_below_their_references() -> None:
    randoms = random_returns()
    assert sorted(randoms) == sorted(PAPER_TASKS)
    assert all(randoms[env] < reference_score(env) for env in PAPER_TASKS)


def test_a_random_policy_is_measured_reproducibly_under_the_test_protocol(rl_random_returns) -> None:
    first = rl_random_returns.random_policy_returns("InvertedPendulum-v5", episodes=5)
    assert first == rl_random_returns.random_policy_returns("InvertedPendulum-v5", episodes=5)
    assert first != rl_random_returns.random_policy_returns("InvertedPendulum-v5", episodes=5, seed=1)
    assert 1 <= min(first) and max(first) < 100   # a random pole falls within a few dozen steps
    assert np.mean(first) == pytest.approx(random_returns()["InvertedPendulum-v5"], abs=15)
