"""benchmarks.studies.argmin_proximal on a checkpoint: both solves, every setting, certified like the agent's."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from icnn_rl.rl.build import build_model
from icnn_rl.rl.config import resolve_config

ROOT = Path(__file__).resolve().parents[1]


def test_each_setting_gets_its_rows_for_the_td_target_and_for_acting(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    benchmark = importlib.import_module("benchmarks.studies.argmin_proximal")
    config = resolve_config("icnn", "Pendulum-v1", overrides=["hidden=[32,32]", "learning_starts=50", "batch_size=32",
                                                              "entropy_weight=0.1"])
    model = build_model("icnn", "Pendulum-v1", config, seed=0, steps=150, device="cpu")
    model.learn(150)
    run = tmp_path / "Pendulum-v1" / "icnn" / "seed0"
    model.save(run / "checkpoints" / "step150.zip")
    model.save_replay_buffer(run / "checkpoints" / "step150.buffer.pkl")
    rows = benchmark.measure(run, states=32, act_states=4, settings=[0.0, 3.0], repeats=2)
    cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]
    assert [(c[3], c[4]) for c in cells] == [("TD target", "0"), ("TD target", "3"), ("acting", "0"), ("acting", "3")]
    for c in cells:
        assert c[1] == "150" and 1.0 <= float(c[5]) <= 30 and c[6] == "100.0 %" and float(c[7]) > 0
    assert cells[0][8] == cells[2][8] == "1.00"    # time as a ratio to the first setting
