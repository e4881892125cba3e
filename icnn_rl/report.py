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

"paper max" and "paper final" are the ICNN paper's values for the same task and agent (``PAPER_RL``;
gym v1 tasks, each the best of 50 hyperparameter samples at seed 0, so not the same setting as these
runs); "–" where the paper has no such task or agent. Tasks are matched by the env id's name before
"-v" (``HalfCheetah-v5`` → HalfCheetah).

After the table, "Who leads" ranks the agents of each env that has rows for at least two agents by
their mean max rolling-10: the leader, and whether its 95 % interval overlaps the runner-up's (no
interval where either has a single seed). Means equal at the table's two decimals are a tie, which
is nobody's lead. An env is *counted* only if every run in its rows reached its budget (a run with
fewer than 10 tests has no row); an env with a partial run still gets its line, marked "partial, not
counted", and is named after the per-agent summary "<agent> leads on N of M tasks (K with
non-overlapping intervals)", where M is the counted envs in which the agent has rows and K those of
its leads whose interval is disjoint from the runner-up's. Where the paper has the task, the line
also names the paper's leader on "max" among the same agents.

Last, "Settings" lists, per env × agent, every key where a run's ``config.yaml`` differs from what
the packaged configs resolve to today (``icnn_rl.rl.config.resolve_config``), so rows trained
before a default changed say so; a key the run does not record is one added since.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
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

# The ICNN paper's RL results table (Amos, Xu, Kolter, "Input Convex Neural Networks", ICML 2017),
# gym v1 MuJoCo tasks: task -> agent -> (max, final). "max" is the maximum over training of the
# rolling mean of 10 test returns and "final" its last value; each entry is the best of 50
# hyperparameter samples, trained at seed 0.
PAPER_RL: dict[str, dict[str, tuple[float, float]]] = {
    "Ant": {"ddpg": (1000.00, 994.74), "naf": (999.03, 990.87), "icnn": (1056.29, 998.00)},
    "HalfCheetah": {"ddpg": (2909.77, 2909.77), "naf": (2575.16, 2269.25), "icnn": (3822.99, 3822.99)},
    "Hopper": {"ddpg": (1501.33, 1152.97), "naf": (1100.43, 1011.67), "icnn": (831.00, 795.77)},
    "Humanoid": {"ddpg": (524.09, 479.72), "naf": (5000.68, 5000.49), "icnn": (433.38, 403.81)},
    "HumanoidStandup": {
        "ddpg": (134265.96, 124997.94),
        "naf": (116399.05, 95120.29),
        "icnn": (141217.38, 119767.80),
    },
    "InvertedDoublePendulum": {
        "ddpg": (9358.81, 9358.73),
        "naf": (9359.59, 9359.52),
        "icnn": (9359.41, 9359.22),
    },
    "InvertedPendulum": {"ddpg": (1000.00, 1000.00), "naf": (1000.00, 1000.00), "icnn": (1000.00, 1000.00)},
    "Reacher": {"ddpg": (-6.10, -9.05), "naf": (-6.31, -7.86), "icnn": (-5.08, -6.33)},
    "Swimmer": {"ddpg": (49.79, 45.86), "naf": (69.71, 67.98), "icnn": (64.89, 64.89)},
    "Walker2d": {"ddpg": (1604.18, 1598.43), "naf": (1007.25, 627.33), "icnn": (298.21, 281.35)},
}
NO_VALUE = "–"


def _cell(values: list[float]) -> str:
    """``mean ± half-width`` at two decimals; the mean alone for a single value."""
    mean, half = mean_ci(values)
    return f"{mean:.2f}" if np.isnan(half) else f"{mean:.2f} ± {half:.2f}"


def paper_task(env: str) -> str:
    """The paper's task name for an env id: the part before ``-v`` (``Reacher-v5`` → ``Reacher``)."""
    return env.partition("-v")[0]


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


@dataclass(frozen=True)
class Standing:
    """One agent's max rolling-10 on one env: mean and 95 % half-width over its seeds."""

    agent: str
    mean: float
    half: float   # NaN for a single seed
    seeds: int

    def interval(self) -> str:
        """``agent mean ± half`` as in the table."""
        return f"{self.agent} {self.mean:.2f}" + ("" if np.isnan(self.half) else f" ± {self.half:.2f}")


def first_place(values: dict[str, float]) -> list[str]:
    """The agents whose value, at two decimals, equals the largest; sorted by name."""
    best = max(round(v, 2) for v in values.values())
    return sorted(agent for agent, value in values.items() if round(value, 2) == best)


def intervals_overlap(leader: Standing, runner_up: Standing) -> bool | None:
    """Whether the two 95 % intervals share a point; None where either has a single seed."""
    if np.isnan(leader.half) or np.isnan(runner_up.half):
        return None
    return leader.mean - leader.half <= runner_up.mean + runner_up.half


@dataclass(frozen=True)
class Lead:
    """The outcome on one env: its first place (several agents on a tie) and how clear the lead is."""

    env: str
    agents: tuple[str, ...]   # every agent with rows on the env
    first: tuple[Standing, ...]
    runner_up: Standing | None   # None on a tie
    overlap: bool | None   # None on a tie or where a single seed gives no interval
    counted: bool   # every run of the env reached its budget


def leads(runs: list[RunCurve]) -> list[Lead]:
    """Per env with rows for at least two agents (sorted), who has the highest mean max rolling-10."""
    groups = grouped(runs)
    result = []
    for env in sorted({env for env, _ in groups}):
        standings = {
            agent: Standing(agent, *mean_ci(max_rolling(group)), len(group))
            for (e, agent), group in groups.items()
            if e == env
        }
        if len(standings) < 2:
            continue
        first = first_place({agent: s.mean for agent, s in standings.items()})
        rest = sorted((s for a, s in standings.items() if a not in first), key=lambda s: (-s.mean, s.agent))
        runner_up = rest[0] if len(first) == 1 else None
        overlap = None if runner_up is None else intervals_overlap(standings[first[0]], runner_up)
        complete = all(r.complete for (e, _), group in groups.items() if e == env for r in group)
        result.append(Lead(env, tuple(standings), tuple(standings[a] for a in first), runner_up, overlap, complete))
    return result


def paper_leader(lead: Lead) -> str | None:
    """The paper's first place on "max" among the env's agents (``tie between a and b``), if it has two."""
    paper = PAPER_RL.get(paper_task(lead.env), {})
    values = {agent: paper[agent][0] for agent in lead.agents if agent in paper}
    if len(values) < 2:
        return None
    first = first_place(values)
    return first[0] if len(first) == 1 else f"tie between {', '.join(first[:-1])} and {first[-1]}"


def lead_line(lead: Lead) -> str:
    """One Markdown list item: the env's first place, the runner-up and whether their intervals overlap."""
    env = lead.env if lead.counted else f"{lead.env} (partial, not counted)"
    if lead.runner_up is None:
        text = "tie between " + " and ".join(s.interval() for s in lead.first)
    else:
        leader, runner_up = lead.first[0], lead.runner_up
        text = f"{leader.interval()} ahead of {runner_up.interval()}; "
        if lead.overlap is None:
            single = [s.agent for s in (leader, runner_up) if s.seeds == 1]
            text += "1 seed, no interval" if len(single) == 2 else f"{single[0]} has 1 seed, no interval"
        else:
            text += "intervals overlap" if lead.overlap else "intervals do not overlap"
    paper = paper_leader(lead)
    return f"- {env}: {text}" + ("" if paper is None else f" (paper: {paper})")


def lead_summary(all_leads: list[Lead]) -> list[str]:
    """Per agent (by name): on how many counted envs it leads alone, and on how many of those clearly."""
    counted = [lead for lead in all_leads if lead.counted]
    lines = []
    for agent in sorted({agent for lead in all_leads for agent in lead.agents}):
        present = [lead for lead in counted if agent in lead.agents]
        won = [lead for lead in present if lead.runner_up is not None and lead.first[0].agent == agent]
        clear = sum(lead.overlap is False for lead in won)
        tied = sum(lead.runner_up is None and agent in {s.agent for s in lead.first} for lead in present)
        lines.append(
            f"{agent} leads on {len(won)} of {len(present)} tasks ({clear} with non-overlapping intervals)"
            + (f"; tied for first on {tied}" if tied else "")
        )
    return lines


def leads_section(runs: list[RunCurve], level: int = 2) -> str:
    """The Markdown "Who leads" section (heading ``level``): a line per env, a summary line per agent,
    the envs not counted."""
    all_leads = leads(runs)
    heading = f"{'#' * level} Who leads (max rolling-10, mean over seeds)\n\n"
    if not all_leads:
        return heading + "No env has runs of two agents.\n"
    lines = [lead_line(lead) for lead in all_leads] + [""]
    lines += [f"- {line}" for line in lead_summary(all_leads)]
    partial = [lead.env for lead in all_leads if not lead.counted]
    counted_rule = "Counted: envs whose runs all reached their budget; a tie (equal at two decimals) is no lead."
    lines += ["", counted_rule + (f" Not counted (a run is partial): {', '.join(partial)}." if partial else "")]
    return heading + "\n".join(lines) + "\n"


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


def results_markdown(runs: list[RunCurve], level: int = 2) -> str:
    """The table, "Who leads" and "Settings" (headings at ``level``): what report.md holds and the
    README quotes."""
    return table(runs) + "\n" + leads_section(runs, level) + "\n" + settings_section(runs, level)


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
        f"and final value, mean ± 95% CI over seeds. env steps/s: training throughput, tests excluded. "
        f"paper max / paper final: the ICNN paper's RL table (Amos et al., ICML 2017; gym v1 tasks, best of "
        f"50 hyperparameter samples at seed 0), {NO_VALUE} where it has no such task or agent.\n\n"
        + results_markdown(runs)
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
