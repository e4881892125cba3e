"""What runs on Ray, on one local Ray instance for the module: train.py grids on its two backends
(local processes and Ray tasks: the same run directories from both, failures reported by name, the
option checks) and the random search on Ray Tune (its trials, resumption and report)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from icnn_rl import search, train
from icnn_rl.rl.records import load_run, mean_ci, rolling_mean

GRID = [
    "--env", "InvertedPendulum-v5", "--steps", "150", "--no-progress",
    "--set", "hidden=[16,16]", "--set", "learning_starts=50", "--set", "batch_size=32",
    "--set", "test_interval=50",
]
ICNN_CHEAP = ["--set", "act_solver.max_iter=2", "--set", "target_solver.max_iter=2"]


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory: pytest.TempPathFactory):
    """One local Ray instance (2 CPUs) for the module; its workers start in a temporary directory."""
    ray = pytest.importorskip("ray")
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("ray"))
    try:
        ray.init(address="local", num_cpus=2, include_dashboard=False)
    finally:
        os.chdir(here)
    yield ray
    ray.shutdown()


@pytest.mark.slow   # minutes on 2 cores; the Ray backend's fast test is the failing-run one
def test_a_grid_on_ray_writes_the_same_runs_as_the_process_pool(
    tmp_path: Path, local_ray, capsys: pytest.CaptureFixture
) -> None:
    grid = [*GRID, *ICNN_CHEAP, "--agent", "icnn", "--seeds", "3", "4"]
    assert train.main([*grid, "--workers", "2", "--log-dir", str(tmp_path / "pool")]) == 0
    assert train.main([*grid, "--backend", "ray", "--log-dir", str(tmp_path / "ray")]) == 0
    assert "2 of 2 runs finished" in capsys.readouterr().out
    for seed in (3, 4):
        run = Path("InvertedPendulum-v5", "icnn", f"seed{seed}")
        on_ray = (tmp_path / "ray" / run / "evaluations.csv").read_text()
        assert len(on_ray.splitlines()) == 5  # header + tests at steps 0, 50, 100, 150
        assert on_ray == (tmp_path / "pool" / run / "evaluations.csv").read_text()
        assert (tmp_path / "ray" / run / "model.zip").exists()


def test_a_run_that_fails_on_ray_is_named_and_the_others_finish(
    tmp_path: Path, local_ray, capsys: pytest.CaptureFixture
) -> None:
    # seed 1's directory already holds a run, and --resume is not given: that run fails in its Ray task
    taken = tmp_path / "InvertedPendulum-v5" / "ddpg" / "seed1"
    taken.mkdir(parents=True)
    (taken / "config.yaml").write_text("agent: ddpg\n")
    args = [*GRID, "--agent", "ddpg", "--seeds", "0", "1", "--backend", "ray", "--log-dir", str(tmp_path)]
    assert train.main(args) == 2
    out, err = capsys.readouterr()
    assert "1 of 2 runs finished: InvertedPendulum-v5/ddpg/seed0\n1 failed:\n" in out
    assert "  InvertedPendulum-v5/ddpg/seed1: run directory" in out and "already exists" in out
    assert "error: run directory" in err
    assert (tmp_path / "InvertedPendulum-v5" / "ddpg" / "seed0" / "model.zip").exists()


def test_without_ray_the_ray_backend_is_one_line_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    assert train.main(["--backend", "ray", "--steps", "10"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Ray is not installed" in err and 'pip install -e ".[ray]"' in err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--address", "auto"], "--address names a Ray cluster; it needs --backend ray"),
        (["--workers", "0"], "--workers must be >= 1"),
    ],
    ids=["address-without-ray", "no-workers"],
)
def test_backend_options_that_do_not_fit_are_refused(
    options: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    assert train.main(["--steps", "10", *options]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow   # minutes on 2 cores; the Ray backend's fast test is the failing-run one
def test_a_two_sample_search_trains_its_trials_and_reports_both_statistics(
    tmp_path: Path, local_ray, capsys: pytest.CaptureFixture
) -> None:
    args = [
        "--env", "InvertedPendulum-v5", "--agent", "ddpg", "--samples", "2", "--fresh-seeds", "1", "2",
        "--steps", "220", "--log-dir", str(tmp_path),
        "--set", "hidden=[16,16]", "--set", "learning_starts=50", "--set", "batch_size=32",
        "--set", "test_interval=20",   # 12 tests: the rolling mean over 10 has 3 values
    ]
    assert search.main(args) == 0
    assert "4 of 4 runs finished" in capsys.readouterr().out

    def statistic(sample: int, seed: int) -> float:
        run = load_run(tmp_path / f"sample{sample:03d}" / "InvertedPendulum-v5" / "ddpg" / f"seed{seed}")
        assert run is not None and run.complete and len(run.returns) == 12
        return float(rolling_mean(run.returns).max())

    scores = [statistic(k, 0) for k in (0, 1)]
    best = int(scores[1] > scores[0])
    mean, half = mean_ci([statistic(best, 1), statistic(best, 2)])
    assert not (tmp_path / f"sample{1 - best:03d}" / "InvertedPendulum-v5" / "ddpg" / "seed1").exists()
    report = (tmp_path / "search.md").read_text()
    assert (f"| InvertedPendulum-v5 | ddpg | 2 of 2 | {best} | {max(scores):.2f} | 2 of 2 | "
            f"{mean:.2f} ± {half:.2f} |") in report
    assert "sample: 1" in (tmp_path / "samples.yaml").read_text()
    assert (tmp_path / "tune" / "search").is_dir() and (tmp_path / "tune" / "rerun").is_dir()

    # the small records alone (what results/ commits) regenerate the same report, without Ray
    records = tmp_path.with_name(tmp_path.name + "_records")
    for run_dir in tmp_path.glob("sample*/*/*/seed*"):
        copy = records / run_dir.relative_to(tmp_path)
        copy.mkdir(parents=True)
        for name in ("config.yaml", "evaluations.csv", "metrics.json"):
            shutil.copy(run_dir / name, copy / name)
    only = [*args[:args.index("--log-dir")], "--log-dir", str(records), "--report-only"]
    assert search.main(only) == 0
    assert (records / "search.md").read_text() == report
    assert sorted(path.name for path in records.iterdir()) == ["sample000", "sample001", "search.md"]

    # repeated: finished trials are skipped, an interrupted one resumes from its checkpoint, and one
    # that fails (its directory's config no longer matches) is reported by name while the others finish
    resumed = tmp_path / f"sample{best:03d}" / "InvertedPendulum-v5" / "ddpg" / "seed0"
    curve = (resumed / "evaluations.csv").read_text()
    (resumed / "model.zip").unlink()
    broken = tmp_path / f"sample{1 - best:03d}" / "InvertedPendulum-v5" / "ddpg" / "seed0"
    (broken / "model.zip").unlink()
    (broken / "config.yaml").write_text((broken / "config.yaml").read_text().replace("gamma: 0.99", "gamma: 0.5"))
    assert search.main(args) == 2
    out = capsys.readouterr().out
    assert f"1 of 2 runs finished: sample{best:03d}/InvertedPendulum-v5/ddpg/seed0\n1 failed:\n" in out
    assert f"  sample{1 - best:03d}/InvertedPendulum-v5/ddpg/seed0: --resume " in out
    assert "the config differs from the run's config.yaml in gamma" in out
    assert (resumed / "model.zip").exists() and (resumed / "evaluations.csv").read_text() == curve
    # the failed trial's directory keeps its complete curve from the first search, so it still counts
    assert (f"| InvertedPendulum-v5 | ddpg | 2 of 2 | {best} | {max(scores):.2f} | 2 of 2 | "
            f"{mean:.2f} ± {half:.2f} |") in (tmp_path / "search.md").read_text()
