"""The report of run directories: the aggregate verdict over tasks × seeds, the per-task table,
the settings, and figures, written as ``report.md`` and PNG files.

    python -m icnn_rl.report RUNS_DIR [--out DIR]

First the aggregate verdict (:mod:`icnn_rl.rl.verdict`): normalised scores (:mod:`icnn_rl.rl.scores`)
from icnn_rl.rl.scores import PAPER_RL, paper_task, random_returns
from icnn_rl.rl.verdict import FOCUS, comparison, plot_iqm_curves, plot_profiles, verdict_markdown
pooled over the tasks that every agent has finished, IQM, mean and optimality gap with stratified
bootstrap intervals, ICNN's probability of improvement over each other agent, and a per-task line
at budget; ``profiles.png`` (performance profiles) and ``iqm.png`` (IQM against env steps) go with it.

Then the full table. Per run, the test returns of ``evaluations.csv`` are smoothed by a rolling mean
over 10 tests ('valid' part only); the paper's statistic is the maximum of that series over training
("max") and its last value ("final", the mean of the last 10 tests). Across seeds the table shows
mean ± the 95 % confidence half-width t_{0.975, n−1} · s / √n (none for one seed). A run whose last
test step is below its budget is partial; the table gives its last test step. A run with fewer than
10 tests has no rolling mean and is left out (the command says how many). "env steps/s" is the
mean over seeds of each run's training throughput (``metrics.json``); where that covers only part of
the steps (a run resumed from a checkpoint that had no timing saved) the cell says how many were timed.
"paper max" and "paper final" are the ICNN paper's values for the same task and agent
(:data:`icnn_rl.rl.scores.PAPER_RL`; gym v1 tasks, each the best of 50 hyperparameter samples at seed
0, so not the same setting as these runs); "–" where the paper has no such task or agent.

Last, "Settings" lists, per env × agent, every key where a run's ``config.yaml`` differs from what
the packaged configs resolve to today (``icnn_rl.rl.config.resolve_config``), so rows trained
before a default changed say so; a key the run does not record is one added since.

One PNG per env shows each agent's rolling mean of 10 test returns, averaged over seeds, with its 95 %
band where it has three seeds or more, against env steps and against wall-clock seconds (each run's steps at its whole-run pace, tests
included).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from scipy import stats

from icnn_rl.cli import check_output_dir, command_parser, report_error, write_text_atomic
from icnn_rl.rl.config import resolve_config
from icnn_rl.rl.records import (
    WINDOW,
    RunCurve,
    config_differences,
    grouped,
    load_runs,
    max_rolling,
    mean_ci,
    rolling_mean,
)
from icnn_rl.rl.scores import PAPER_RL, paper_task, random_returns
from icnn_rl.rl.verdict import FOCUS, comparison, plot_iqm_curves, plot_profiles, verdict_markdown

NO_VALUE = "–"


def _cell(values: list[float]) -> str:
    """``mean ± half-width`` at two decimals; the mean alone for a single value."""
    mean, half = mean_ci(values)
    return f"{mean:.2f}" if np.isnan(half) else f"{mean:.2f} ± {half:.2f}"


def paper_cells(env: str, agent: str) -> tuple[str, str]:
    """The paper's (max, final) for ``env`` × ``agent`` at two decimals, ``–`` where it has none."""
    values = PAPER_RL.get(paper_task(env), {}).get(agent)
    return (NO_VALUE, NO_VALUE) if values is None else (f"{values[0]:.2f}", f"{values[1]:.2f}")


def _seeds_cell(group: list[RunCurve]) -> str:
    """Seed count, plus the last test step of each partial run."""
    partial = [f"{int(r.steps[-1])}" for r in group if not r.complete]
    return f"{len(group)}" + (f" ({len(partial)} partial, last test at {', '.join(partial)})" if partial else "")


def _speed_cell(group: list[RunCurve]) -> str:
    """Mean training env steps/s over the timed seeds; says so when only part of the steps were timed."""
    timed = [r for r in group if r.env_steps_per_second is not None and r.timed_steps is not None]
    speed = f"{np.mean([r.env_steps_per_second for r in timed]):.1f}" if timed else "n/a"
    covered, total = sum(r.timed_steps for r in timed), sum(int(r.steps[-1]) for r in timed)
    return speed + (f" ({covered} of {total} steps timed)" if covered < total else "")


def table(runs: list[RunCurve]) -> str:
    """The Markdown table: one row per env × agent with at least one run of ≥ 10 tests."""
    header = (
        "env",
        "agent",
        "seeds",
        "max rolling-10 (mean ± 95% CI)",
        "paper max",
        "final rolling-10",
        "paper final",
        "max per seed",
        "env steps/s",
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (env, agent), group in grouped(runs).items():
        maxima = max_rolling(group)
        finals = [float(rolling_mean(r.returns)[-1]) for r in group]
        paper_max, paper_final = paper_cells(env, agent)
        per_seed = ", ".join(f"{m:.1f}" for m in maxima)
        lines.append(
            f"| {env} | {agent} | {_seeds_cell(group)} | {_cell(maxima)} | {paper_max} | "
            f"{_cell(finals)} | {paper_final} | {per_seed} | {_speed_cell(group)} |"
        )
    return "\n".join(lines) + "\n"


def settings_section(runs: list[RunCurve], level: int = 2) -> str:
    """The "Settings" section (heading ``level``): per env × agent, the runs whose config differs from
    today's packaged one."""
    lines = [f"{'#' * level} Settings", ""]
    for (env, agent), group in grouped(runs).items():
        packaged = resolve_config(agent, env)
        by_difference: dict[tuple[str, ...], list[int]] = {}
        for run in group:
            if not run.config:
                continue
            by_difference.setdefault(tuple(config_differences(run.config, packaged)), []).append(run.seed)
        for differences, seeds in by_difference.items():
            if differences:
                lines.append(f"- {env} {agent}, seed{'s' if len(seeds) > 1 else ''} "
                             f"{', '.join(map(str, seeds))}: {'; '.join(differences)}")
    if len(lines) == 2:
        lines.append("Every run used today's packaged configs.")
    return "\n".join(lines) + "\n"


def results_markdown(runs: list[RunCurve], randoms: dict[str, float], level: int = 2) -> str:
    """The verdict, the table and "Settings" (headings at ``level``): what report.md holds and
    docs/rl_results.md quotes."""
    return (verdict_markdown(comparison(runs, randoms), level) + "\n" + f"{'#' * level} All runs\n\n"
            + table(runs) + "\n" + settings_section(runs, level))


def plot_env(env: str, runs: list[RunCurve], path: Path) -> None:
    """Per agent, the mean over seeds of the rolling mean of 10 test returns (the table's statistic
    along training) and, from three seeds on, its 95 % band (Student t), over the tests all its seeds share: against env
    steps, and against wall-clock seconds at the seeds' mean pace. Runs with fewer than 10 tests are
    left out."""
    fig = Figure(figsize=(11, 4))  # no pyplot: the global backend stays the caller's
    by_steps, by_time = fig.subplots(1, 2, sharey=True)
    for agent in sorted({r.agent for r in runs}, key=lambda a: (a != "icnn", a)):
        group = [r for r in runs if r.agent == agent and len(r.returns) >= WINDOW]
        if not group:
            continue
        length = min(len(r.steps) for r in group) - WINDOW + 1
        curves = np.stack([rolling_mean(r.returns)[:length] for r in group])
        steps = group[0].steps[WINDOW - 1:WINDOW - 1 + length]
        mean = curves.mean(0)
        paced = [r.wall_seconds / r.steps[-1] for r in group if r.wall_seconds and r.steps[-1]]
        label = f"{agent} ({len(group)} seed{'s' if len(group) > 1 else ''})"
        for ax, x in ((by_steps, steps), (by_time, steps * np.mean(paced) if paced else None)):
            if x is None:
                continue
            (line,) = ax.plot(x, mean, label=label)
            if len(group) >= 3:   # with two seeds t = 12.7: a band wider than the axis says nothing
                half = stats.t.ppf(0.975, len(group) - 1) * curves.std(0, ddof=1) / np.sqrt(len(group))
                ax.fill_between(x, mean - half, mean + half, alpha=0.15, color=line.get_color())
    by_steps.set(title=env, xlabel="env steps", ylabel=f"rolling mean of {WINDOW} test returns (mean over seeds)")
    by_time.set(title=f"{env}: what a user waits", xlabel="wall-clock seconds (training and tests, one CPU thread)")
    if by_steps.lines:
        by_steps.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def write_report(runs_dir: Path, out: Path, randoms: dict[str, float] | None = None) -> Path:
    """Write ``report.md``, ``profiles.png``, ``iqm.png`` and ``<env>.png`` files into ``out``;
    ``randoms`` defaults to the committed random-policy returns. Returns the report's path."""
    runs = load_runs(runs_dir)
    if not runs:
        raise ValueError(f"no run directories with evaluations.csv under {runs_dir}")
    randoms = random_returns() if randoms is None else randoms
    out.mkdir(parents=True, exist_ok=True)
    comp = comparison(runs, randoms)
    figures = []
    if FOCUS in comp.agents and comp.tasks:
        plot_profiles(comp, out / "profiles.png")
        plot_iqm_curves(comp, out / "iqm.png")
        figures += ["![performance profiles](profiles.png)", "![IQM against env steps](iqm.png)"]
    for env in sorted({r.env for r in runs}):
        plot_env(env, [r for r in runs if r.env == env], out / f"{env}.png")
        figures.append(f"![{env}]({env}.png)")
    text = (
        f"# Results: {runs_dir}\n\nStatistic of a run: the rolling mean over {WINDOW} test returns; at budget "
        f"(its last value) and max over training. Across seeds: mean ± 95% CI. env steps/s: training "
        f"throughput, tests excluded. paper max / paper final: the ICNN paper's RL table (Amos et al., ICML "
        f"2017; gym v1 tasks, best of 50 hyperparameter samples at seed 0), {NO_VALUE} where it has no such "
        f"task or agent.\n\n" + results_markdown(runs, randoms) + "\n" + "\n".join(figures) + "\n"
    )
    path = out / "report.md"
    write_text_atomic(path, text)
    return path


def left_out(runs_dir: Path) -> int:
    """How many run directories under ``runs_dir`` have tests but fewer than 10 (no rolling mean)."""
    return sum(len(rolling_mean(r.returns)) == 0 for r in load_runs(runs_dir))


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
    if skipped := left_out(args.runs_dir):
        print(f"{parser.prog}: warning: {skipped} run(s) with fewer than {WINDOW} tests left out (no rolling mean yet)",
              file=sys.stderr)
    print(f"report → {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
