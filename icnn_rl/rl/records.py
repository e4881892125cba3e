"""A run directory's small records (``config.yaml``, ``evaluations.csv``, ``metrics.json``) read as
a :class:`RunCurve`, and the per-run statistics the report, the search and the benchmarks share: the
rolling mean over ``WINDOW`` tests (the ICNN paper's statistic, Sec. 6.2), its maximum, the mean with a
Student-t 95 % interval over seeds, and whether a run's config is today's packaged one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from scipy import stats

from icnn_rl.rl.config import as_today, resolve_config
from icnn_rl.rl.evaluations import read_evaluations

WINDOW = 10
RUN_KEYS = ("agent", "env", "seed", "steps", "device")   # what a run is, not how it trains


@dataclass(frozen=True)
class RunCurve:
    """One run directory's test curve and bookkeeping."""

    env: str
    agent: str
    seed: int
    steps: np.ndarray
    returns: np.ndarray
    complete: bool
    env_steps_per_second: float | None
    timed_steps: int | None   # steps the throughput covers
    config: dict   # its config.yaml ({} when missing)
    wall_seconds: float | None = None   # the whole run's wall-clock time, tests included (metrics.json)


def rolling_mean(values: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Means of every ``window`` consecutive values (empty if there are fewer)."""
    if len(values) < window:
        return np.empty(0)
    return np.convolve(values, np.ones(window) / window, mode="valid")


def mean_ci(values: list[float]) -> tuple[float, float]:
    """Mean and 95 % confidence half-width (Student t; NaN for a single value)."""
    array = np.asarray(values, dtype=float)
    if len(array) < 2:
        return float(array.mean()), float("nan")
    half = stats.t.ppf(0.975, len(array) - 1) * array.std(ddof=1) / np.sqrt(len(array))
    return float(array.mean()), float(half)


def load_run(run_dir: Path) -> RunCurve | None:
    """The run in ``run_dir`` (``<env>/<agent>/seed<k>``), or None if it has no test yet."""
    csv_path = run_dir / "evaluations.csv"
    rows = read_evaluations(csv_path) if csv_path.exists() else []
    if not rows:
        return None
    config = yaml.safe_load((run_dir / "config.yaml").read_text()) if (run_dir / "config.yaml").exists() else {}
    metrics_path = run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    timed = metrics.get("timed_steps")
    steps, returns = (np.array(column) for column in zip(*rows))
    return RunCurve(
        run_dir.parent.parent.name,
        run_dir.parent.name,
        int(run_dir.name.removeprefix("seed")),
        steps,
        returns,
        bool(config) and steps[-1] >= config["steps"],
        metrics.get("env_steps_per_second"),
        None if timed is None else int(timed),
        config,
        metrics.get("wall_seconds"),
    )


def load_runs(runs_dir: Path) -> list[RunCurve]:
    """Every ``<env>/<agent>/seed<k>/`` under ``runs_dir`` with an ``evaluations.csv``."""
    runs = (load_run(csv_path.parent) for csv_path in sorted(runs_dir.glob("*/*/seed*/evaluations.csv")))
    return [run for run in runs if run is not None]


def grouped(runs: list[RunCurve]) -> dict[tuple[str, str], list[RunCurve]]:
    """Runs with at least ``WINDOW`` tests by (env, agent), in sorted order; groups left empty dropped."""
    groups: dict[tuple[str, str], list[RunCurve]] = {}
    for run in sorted(runs, key=lambda r: (r.env, r.agent)):
        if len(rolling_mean(run.returns)):
            groups.setdefault((run.env, run.agent), []).append(run)
    return groups


def max_rolling(group: list[RunCurve]) -> list[float]:
    """Each run's maximum rolling-10 test return (the paper's "max")."""
    return [float(rolling_mean(r.returns).max()) for r in group]


def config_differences(run: dict, packaged: dict, prefix: str = "") -> list[str]:
    """``key value (packaged: value)`` for every key of either config whose value differs (nested
    sections by dotted key), leaving out :data:`RUN_KEYS`; the run is read with today's keys
    (:func:`~icnn_rl.rl.config.as_today`: retired keys at their last value and a null schedule are
    no difference)."""
    if not prefix and "env" in run:
        run = as_today(run, run["env"])
    found = []
    for key in sorted(set(run) | set(packaged)):
        name = prefix + key
        if not prefix and key in RUN_KEYS:
            continue
        if key not in run:
            found.append(f"{name} not recorded (packaged: {packaged[key]})")
        elif key not in packaged:
            found.append(f"{name} {run[key]} (no longer a key)")
        elif isinstance(run[key], dict) and isinstance(packaged[key], dict):
            found += config_differences(run[key], packaged[key], name + ".")
        elif run[key] != packaged[key]:
            found.append(f"{name} {run[key]} (packaged: {packaged[key]})")
    return found


def config_is_current(run_dir: Path) -> bool:
    """Whether the ``config.yaml`` of ``run_dir`` (``<env>/<agent>/seed<k>``) trains as the packaged
    configs resolve today (:func:`config_differences` finds nothing); a run directory
    without one has nothing to hold against it."""
    path = run_dir / "config.yaml"
    if not path.is_file():
        return True
    packaged = resolve_config(run_dir.parent.name, run_dir.parent.parent.name)
    return not config_differences(yaml.safe_load(path.read_text()), packaged)
