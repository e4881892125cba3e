"""Learning, not only running: ICNN balances InvertedPendulum-v5 within its 10k-step budget.

Slow: ``python -m pytest tests/test_rl_learning.py -m slow``. Each seed trains until its first
test (the paper's protocol: a deterministic episode every 100 steps) reaches 900, or for the full
10k steps; the test stops once two seeds have succeeded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from icnn_rl.envs import make_env, task_for
from icnn_rl.rl.build import build_model
from icnn_rl.rl.callbacks import PaperTestCallback
from icnn_rl.rl.config import resolve_config
from icnn_rl.rl.evaluations import read_evaluations
from icnn_rl.rl.run import TEST_SEED_OFFSET

ENV = "InvertedPendulum-v5"
THRESHOLD = 900.0


@pytest.mark.slow
def test_icnn_learns_inverted_pendulum_for_two_of_three_seeds(tmp_path: Path) -> None:
    config, task = resolve_config("icnn", ENV), task_for(ENV)
    best = []
    for seed in range(3):
        model = build_model("icnn", ENV, config, seed, task.budget, "cpu")
        csv_path = tmp_path / f"seed{seed}.csv"
        tester = PaperTestCallback(make_env(ENV), task.test_interval, 1, csv_path, seed + TEST_SEED_OFFSET,
                                   stop_at=THRESHOLD)
        model.learn(task.budget, callback=tester)
        best.append(max(r for _, r in read_evaluations(csv_path)))
        if sum(b >= THRESHOLD for b in best) >= 2:
            break
    assert sum(b >= THRESHOLD for b in best) >= 2, f"best test returns per seed: {best}"
