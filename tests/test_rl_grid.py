"""train.py grids on its two backends: local processes and Ray tasks (one local Ray instance for the
module), the same run directories from both, failures reported by name, and the option checks."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from icnn_rl import train

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
