"""The supervised results benchmark: its tables hold exactly what the run records hold, the committed
tables are current, settings are chosen on validation only, and the driver runs, records and skips
finished runs (on generated data, in seconds)."""

from __future__ import annotations

import importlib
import json
import math
import shutil
import statistics
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from test_supervised_data import write_arff

from icnn_rl.cli import replace_marked
from icnn_rl.supervised.data import BIBTEX_FEATURES, BIBTEX_LABELS

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))   # the benchmarks run as modules from the repository root
results = importlib.import_module("benchmarks.publish.supervised_results")


def write_record(root: Path, experiment: str, method: str, setting: str, seed: int, **metrics: float) -> None:
    path = results.record_path(root, experiment, method, setting, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"methods": {method: metrics}, "commit": "a" * 40, "config": {}}))


def cells(text: str, first: str) -> list[str]:
    """The cells of the markdown row that starts with `first`."""
    row = next(line for line in text.splitlines() if line.startswith(f"| {first} |"))
    return [c.strip() for c in row.strip("|").split("|")]


def test_table_holds_mean_and_ci_of_the_chosen_setting(tmp_path: Path) -> None:
    f1 = {"paper": [0.30], "wd1": [0.40, 0.42, 0.38], "wd3": [0.39], "wd10": [0.35]}
    for setting, values in f1.items():
        for seed, value in enumerate(values):
            write_record(tmp_path, "multilabel", "picnn_bundle", setting, seed, test_example_f1=value,
                         test_example_f1_tuned=value + 0.01, val_example_f1=value - 0.01,
                         train_seconds=60.0 * (seed + 1))
    write_record(tmp_path, "completion", "unrolled", "paper", 0, test_mse=900.0, val_mse=800.0,
                 train_seconds=600.0)
    write_record(tmp_path, "completion", "unrolled", "cosine", 0, test_mse=950.0, val_mse=790.0,
                 train_seconds=600.0)
    text = results.render(results.load_records(tmp_path))
    row = cells(text, results.METHOD_NAMES["picnn_bundle"])
    values = f1["wd1"]
    half = stats.t.ppf(0.975, 2) * statistics.stdev(values) / math.sqrt(3)
    assert row[1:4] == ["wd1", "3", f"{statistics.fmean(values):.3f} ± {half:.3f}"]
    assert row[-1].startswith("2.0 ± ")  # minutes: 1, 2, 3
    # validation chooses cosine (790 < 800) although its test MSE is worse; nonconvex and bundle follow it
    assert cells(text, results.METHOD_NAMES["unrolled"])[1:4] == ["cosine", "1", "950.0"]
    assert cells(text, results.METHOD_NAMES["nonconvex"])[1:3] == ["cosine", "0"]
    assert cells(text, results.METHOD_NAMES["bundle"])[1:3] == ["cosine", "0"]
    assert cells(text, results.METHOD_NAMES["picnn_unrolled"])[3] == "–"
    (tmp_path / "completion" / "unrolled" / "cosine" / "seed0.json").unlink()   # a candidate unfinished
    text = results.render(results.load_records(tmp_path))
    for method in ("unrolled", "nonconvex", "bundle"):
        assert cells(text, results.METHOD_NAMES[method])[1] == "(candidates not finished)"


def test_committed_tables_are_regenerated_from_the_committed_records() -> None:
    if not results.RECORDS.is_dir():
        pytest.skip("no committed records")
    records = results.load_records(results.RECORDS)
    assert results.DOC.read_text() == results.render(records)
    readme = results.README.read_text()
    assert replace_marked(readme, results.README_BEGIN, results.README_END, results.readme_summary(records)) == readme


def test_readme_block_is_replaced_between_its_markers(tmp_path: Path) -> None:
    write_record(tmp_path, "multilabel", "ff", "paper", 0, test_example_f1=0.4, val_example_f1=0.4,
                 train_seconds=1.0)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{results.README_BEGIN}\nold numbers\n{results.README_END}\noutro\n")
    results.write_tables(tmp_path, tmp_path / "tables.md", readme)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old numbers" not in text
    assert cells(text, "Bibtex example-F1 @0.5")[1:5] == [results.METHOD_NAMES["ff"], "paper", "1", "0.400"]


def test_driver_runs_records_and_skips_finished_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    (data / "bibtex").mkdir(parents=True)
    for part, n in (("train", 30), ("test", 10)):
        rows = [sorted(rng.choice(BIBTEX_FEATURES, 5, replace=False).tolist())
                + [BIBTEX_FEATURES + int(rng.integers(BIBTEX_LABELS))] for _ in range(n)]
        write_arff(data / "bibtex" / f"bibtex-{part}.arff", BIBTEX_FEATURES, BIBTEX_LABELS, rows)
    monkeypatch.setenv("ICNN_RL_DATA", str(data))
    tiny = ("hidden=8", "batch_size=8", "ff.epochs=2")
    plan = (results.Entry("multilabel", "ff", (results.Setting("a", tiny), results.Setting(
        "b", (*tiny, "ff.weight_decay=0.5")))),)
    monkeypatch.setattr(results, "PLAN", plan)
    out = tmp_path / "tables.md"
    failures = results.run_all(tmp_path / "runs", tmp_path / "records", 2, [], out)
    assert failures == 0
    records = results.load_records(tmp_path / "records")
    chosen = results.chosen_setting(plan[0], records).name
    assert set(records) == {("multilabel", "ff", "a"), ("multilabel", "ff", "b")}
    assert set(records["multilabel", "ff", chosen]) == {0, 1}
    record = records["multilabel", "ff", chosen][1]
    assert record["config"]["seed"] == 1 and record["config"]["methods"] == ["ff"]
    assert record["commit"] and record["methods"]["ff"]["train_seconds"] >= 0
    assert out.read_text() == results.render(records)
    calls = []
    monkeypatch.setattr(results.subprocess, "run", lambda *a, **k: calls.append(a))
    assert results.run_all(tmp_path / "runs", tmp_path / "records", 2, [], out) == 0
    assert calls == []  # everything had finished
    shutil.rmtree(tmp_path / "runs")  # a new machine: the committed records, no run directories
    assert results.run_all(tmp_path / "runs", tmp_path / "records", 2, [], out) == 0
    assert calls == [] and results.load_records(tmp_path / "records") == records
