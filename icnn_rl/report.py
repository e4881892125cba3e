"""Side-by-side comparison of run directories: the paper's statistic per env × agent, as a
Markdown table (``report.md``) and one learning-curve PNG per env.

    python -m icnn_rl.report RUNS_DIR [--out DIR]

Per run, the test returns of ``evaluations.csv`` are smoothed by a rolling mean over 10 tests
('valid' part only); the paper's statistic is the maximum of that series over training ("max")
and its last value ("final"). Across seeds the table shows mean ± the 95 % confidence half-width
t_{0.975, n−1} · s / √n (none for one seed). A run whose last test step is below its budget is
counted as partial; the table gives its last test step. "env steps/s" is the mean over seeds of
each run's training throughput (``metrics.json``); where that covers only part of the steps (a run
resumed from a checkpoint that had no timing saved) the cell says how many were timed.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from matplotlib.figure import Figure
from scipy import stats

from icnn_rl.cli import check_output_dir, command_parser, report_error, write_text_atomic
from icnn_rl.rl.evaluations import read_evaluations

WINDOW = 10


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
    # metrics.json written before whole-run timing has no timed_steps; its steps were this invocation's
    timed = metrics.get("timed_steps", metrics.get("steps"))
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
    )


def load_runs(runs_dir: Path) -> list[RunCurve]:
    """Every ``<env>/<agent>/seed<k>/`` under ``runs_dir`` with an ``evaluations.csv``."""
    runs = (load_run(csv_path.parent) for csv_path in sorted(runs_dir.glob("*/*/seed*/evaluations.csv")))
    return [run for run in runs if run is not None]


def _cell(values: list[float]) -> str:
    mean, half = mean_ci(values)
    return f"{mean:.2f}" if np.isnan(half) else f"{mean:.2f} ± {half:.2f}"


def table(runs: list[RunCurve]) -> str:
    """The Markdown table: one row per env × agent with at least one run of ≥ 10 tests."""
    header = (
        "env",
        "agent",
        "seeds",
        "max rolling-10 (mean ± 95% CI)",
        "final rolling-10",
        "max per seed",
        "env steps/s",
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for env, agent in sorted({(r.env, r.agent) for r in runs}):
        group = [r for r in runs if (r.env, r.agent) == (env, agent) and len(rolling_mean(r.returns))]
        if not group:
            continue
        smoothed = [rolling_mean(r.returns) for r in group]
        partial = [f"{int(r.steps[-1])}" for r in group if not r.complete]
        seeds = f"{len(group)}" + (f" ({len(partial)} partial, last test at {', '.join(partial)})" if partial else "")
        per_seed = ", ".join(f"{s.max():.1f}" for s in smoothed)
        timed = [r for r in group if r.env_steps_per_second is not None and r.timed_steps is not None]
        speed = f"{np.mean([r.env_steps_per_second for r in timed]):.1f}" if timed else "n/a"
        covered, total = sum(r.timed_steps for r in timed), sum(int(r.steps[-1]) for r in timed)
        if covered < total:
            speed += f" ({covered} of {total} steps timed)"
        lines.append(
            f"| {env} | {agent} | {seeds} | {_cell([s.max() for s in smoothed])} | "
            f"{_cell([s[-1] for s in smoothed])} | {per_seed} | {speed} |"
        )
    return "\n".join(lines) + "\n"


def plot_env(env: str, runs: list[RunCurve], path: Path) -> None:
    """Mean test return and its 95 % band per agent over the test steps all seeds share."""
    fig = Figure(figsize=(6, 4))  # no pyplot: the global backend stays the caller's
    ax = fig.subplots()
    for agent in sorted({r.agent for r in runs}):
        group = [r for r in runs if r.agent == agent]
        length = min(len(r.steps) for r in group)
        curves = np.stack([r.returns[:length] for r in group])
        steps = group[0].steps[:length]
        mean = curves.mean(0)
        ax.plot(steps, mean, label=f"{agent} ({len(group)} seed{'s' if len(group) > 1 else ''})")
        if len(group) > 1:
            half = stats.t.ppf(0.975, len(group) - 1) * curves.std(0, ddof=1) / np.sqrt(len(group))
            ax.fill_between(steps, mean - half, mean + half, alpha=0.25)
    ax.set(title=env, xlabel="env steps", ylabel="test return (deterministic)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def write_report(runs_dir: Path, out: Path) -> Path:
    """Write ``report.md`` and ``<env>.png`` files into ``out``; returns the report's path."""
    runs = load_runs(runs_dir)
    if not runs:
        raise ValueError(f"no run directories with evaluations.csv under {runs_dir}")
    out.mkdir(parents=True, exist_ok=True)
    figures = []
    for env in sorted({r.env for r in runs}):
        plot_env(env, [r for r in runs if r.env == env], out / f"{env}.png")
        figures.append(f"![{env}]({env}.png)")
    text = (
        f"# Results: {runs_dir}\n\nStatistic: rolling mean over {WINDOW} test returns; max over training "
        f"and final value, mean ± 95% CI over seeds. env steps/s: training throughput, tests excluded.\n\n"
        + table(runs)
        + "\n"
        + "\n".join(figures)
        + "\n"
    )
    path = out / "report.md"
    write_text_atomic(path, text)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = command_parser(__doc__, "python -m icnn_rl.report")
    parser.add_argument("runs_dir", type=Path, help="the --log-dir of train.py")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default RUNS_DIR/report)")
    args = parser.parse_args(argv)
    out = args.out or args.runs_dir / "report"
    try:
        check_output_dir(out, "--out")
        path = write_report(args.runs_dir, out)
    except ValueError as exc:  # ConfigError included
        return report_error(parser.prog, exc)
    print(path.read_text())
    print(f"report → {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
