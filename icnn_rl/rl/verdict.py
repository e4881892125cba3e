"""The aggregate verdict over tasks × seeds: how each agent scores on normalised returns
(:mod:`icnn_rl.rl.scores`), pooled with the statistics of :mod:`icnn_rl.rl.aggregate`, as Markdown
and two figures, for the report (:mod:`icnn_rl.report`).

A run's score is one of two statistics of its test returns, both normalised:

- **at budget**: the mean of its last 10 tests (the last value of the rolling mean over 10 tests);
  it comes first, since a best-so-far statistic favours agents whose tests are noisy;
- **max rolling-10**: the maximum over training of that rolling mean (the ICNN paper's "max").

Only runs that reached their budget count, and only on the *common tasks*: those on which every
agent of the comparison has such a run and whose random-policy return is known, so that every
agent's aggregate pools the same tasks. Verdicts compare ICNN with each other agent by the
probability of improvement P(ICNN > X): "ahead" where its 95 % interval lies above ½, "behind"
where it lies below, otherwise "no clear difference".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from icnn_rl.rl import aggregate as ag
from icnn_rl.rl.records import RunCurve, mean_ci, rolling_mean
from icnn_rl.rl.scores import normalised, normaliser

FOCUS = "icnn"   # the agent the verdict is about
StatisticOfRun = Callable[[RunCurve], float]


def at_budget(run: RunCurve) -> float:
    """The mean of the run's last 10 tests (the last rolling-10 value)."""
    return float(rolling_mean(run.returns)[-1])


def max_rolling10(run: RunCurve) -> float:
    """The maximum over training of the rolling mean of 10 tests (the paper's "max")."""
    return float(rolling_mean(run.returns).max())


RUN_STATISTICS: dict[str, StatisticOfRun] = {"at budget": at_budget, "max rolling-10": max_rolling10}


@dataclass(frozen=True)
class Comparison:
    """Finished runs per (task, agent) restricted to the common tasks, with each task's normaliser."""

    agents: tuple[str, ...]
    tasks: tuple[str, ...]                      # the common tasks, sorted
    runs: dict[tuple[str, str], list[RunCurve]]
    bounds: dict[str, tuple[float, float]]      # task → (random, reference)
    left_out: tuple[str, ...]                   # tasks with runs that are not common, sorted

    def scores(self, agent: str, statistic: StatisticOfRun) -> list[np.ndarray]:
        """``agent``'s normalised run scores, one array per common task."""
        return [normalised(np.array([statistic(r) for r in self.runs[(task, agent)]]), self.bounds[task])
                for task in self.tasks]


def comparison(runs: Sequence[RunCurve], randoms: dict[str, float], agents: Sequence[str] | None = None) -> Comparison:
    """The common tasks of ``agents`` (default: every agent with a finished run) among ``runs``."""
    finished: dict[tuple[str, str], list[RunCurve]] = {}
    for run in sorted(runs, key=lambda r: (r.env, r.agent, r.seed)):
        if run.complete and len(rolling_mean(run.returns)):
            finished.setdefault((run.env, run.agent), []).append(run)
    agents = tuple(agents) if agents is not None else tuple(sorted({a for _, a in finished}, key=_agent_order))
    envs = sorted({env for env, _ in finished})
    bounds = {env: b for env in envs if (b := normaliser(env, randoms)) is not None}
    tasks = tuple(env for env in envs if env in bounds and all((env, a) in finished for a in agents))
    kept = {key: group for key, group in finished.items() if key[0] in tasks and key[1] in agents}
    return Comparison(agents, tasks, kept, bounds, tuple(env for env in envs if env not in tasks))


def _agent_order(agent: str) -> tuple[bool, str]:
    return agent != FOCUS, agent


def standing(p: ag.Estimate) -> str:
    """"ahead", "behind" or "no clear difference" from P(ICNN > X) and its interval."""
    if p.low > 0.5:
        return "ahead"
    if p.high < 0.5:
        return "behind"
    return "no clear difference"


def aggregate_table(comp: Comparison, statistic: StatisticOfRun) -> str:
    """One row per agent: its runs and IQM, mean and optimality gap with 95 % intervals."""
    lines = ["| agent | runs | IQM | mean | optimality gap |", "|---|---|---|---|---|"]
    for agent in comp.agents:
        scores = comp.scores(agent, statistic)
        cells = [ag.aggregate(scores, fn).text() for fn in ag.AGGREGATES.values()]
        lines.append(f"| {agent} | {sum(len(s) for s in scores)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def improvement_table(comp: Comparison) -> tuple[str, list[str]]:
    """P(ICNN > X) for every other agent under both statistics, and one verdict line per agent."""
    header = " | ".join(f"P(icnn > X), {name}" for name in RUN_STATISTICS)
    lines = [f"| X | {header} |", "|---|" + "---|" * len(RUN_STATISTICS)]
    verdicts = []
    for other in comp.agents:
        if other == FOCUS:
            continue
        estimates = [ag.probability_of_improvement(comp.scores(FOCUS, fn), comp.scores(other, fn))
                     for fn in RUN_STATISTICS.values()]
        lines.append(f"| {other} | " + " | ".join(e.text() for e in estimates) + " |")
        verdicts.append(f"- against {other}: {standing(estimates[0])} at budget "
                        f"(P(icnn > {other}) = {estimates[0].text()}); {standing(estimates[1])} on max rolling-10")
    return "\n".join(lines) + "\n", verdicts


def per_task_table(comp: Comparison, statistic: StatisticOfRun = at_budget) -> str:
    """One line per common task: each agent's raw score, mean ± 95 % half-width (Student t) and seeds;
    the highest mean in bold."""
    lines = ["| task | " + " | ".join(comp.agents) + " |", "|---|" + "---|" * len(comp.agents)]
    for task in comp.tasks:
        stats = {a: mean_ci([statistic(r) for r in comp.runs[(task, a)]]) for a in comp.agents}
        best = max(m for m, _ in stats.values())
        cells = []
        for agent in comp.agents:
            m, half = stats[agent]
            text = f"{m:.1f}" + ("" if np.isnan(half) else f" ± {half:.1f}") + f" ({len(comp.runs[(task, agent)])})"
            cells.append(f"**{text}**" if m == best else text)
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def per_task_standing(comp: Comparison, statistic: StatisticOfRun = at_budget) -> list[str]:
    """Per other agent: on how many common tasks ICNN's mean is above, and on how many the two 95 %
    intervals (Student t over seeds) are separated, above or below."""
    lines = []
    for other in comp.agents:
        if other == FOCUS:
            continue
        above = separated_above = separated_below = 0
        for task in comp.tasks:
            (m, h), (n, k) = (mean_ci([statistic(r) for r in comp.runs[(task, a)]]) for a in (FOCUS, other))
            above += m > n
            separated_above += bool(m - h > n + k)
            separated_below += bool(m + h < n - k)
        lines.append(f"- against {other}: mean above on {above} of {len(comp.tasks)} tasks; intervals separated "
                     f"on {separated_above} (icnn above) and {separated_below} (icnn below)")
    return lines


def verdict_markdown(comp: Comparison, level: int = 2, brief: bool = False) -> str:
    """The aggregate tables, the probability of improvement, the verdict lines and the per-task table;
    ``brief``: the at-budget aggregate, the verdict lines and the per-task table only."""
    head = "#" * level
    if FOCUS not in comp.agents or len(comp.agents) < 2 or not comp.tasks:
        return f"{head} Aggregate verdict\n\nNo task has finished runs of icnn and another agent with a known random-policy return.\n"
    tasks = f"{len(comp.tasks)} common task{'s' if len(comp.tasks) > 1 else ''} ({', '.join(comp.tasks)})"
    missing = f"; not yet common: {', '.join(comp.left_out)}" if comp.left_out else ""
    improvement, verdicts = improvement_table(comp)
    shown = {"at budget": at_budget} if brief else RUN_STATISTICS
    parts = [
        (f"{head} Aggregate verdict\n\nNormalised scores (0: a uniform random policy, 1: the ICNN paper's best on "
         f"the task) of finished runs on {tasks}{missing}. Point estimates with stratified bootstrap 95 % intervals; "
         "tasks weigh equally.\n"),
        *(f"{head}# {name}\n\n{aggregate_table(comp, fn)}" for name, fn in shown.items()),
        f"{head}# Where icnn stands\n\n" + "\n".join(verdicts) + "\n" + ("" if brief else "\n" + improvement),
        f"{head}# Per task, at budget (raw return, mean ± 95 % CI, seeds)\n\n" + per_task_table(comp) + "\n"
        + "\n".join(per_task_standing(comp)) + "\n",
    ]
    return "\n".join(parts)


def _band(ax, x: np.ndarray, estimate: tuple[np.ndarray, np.ndarray, np.ndarray], label: str) -> None:
    (line,) = ax.plot(x, estimate[0], label=label)
    ax.fill_between(x, estimate[1], estimate[2], alpha=0.2, color=line.get_color())


def plot_profiles(comp: Comparison, path: Path) -> None:
    """Performance profiles at budget: the fraction of runs above each normalised score τ, 95 % bands."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    taus = np.linspace(0.0, 1.5, 61)
    for agent in comp.agents:
        _band(ax, taus, ag.performance_profile(comp.scores(agent, at_budget), taus), agent)
    ax.set(title=f"Performance profiles at budget ({len(comp.tasks)} tasks)", xlabel="normalised score τ",
           ylabel="fraction of runs with score > τ", ylim=(0, 1.02))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def rolling_at(run: RunCurve, fraction: float) -> float:
    """The run's rolling-10 value at the last test at or before ``fraction`` of its budget (its first
    rolling value if none is that early)."""
    rolled = rolling_mean(run.returns)
    steps = run.steps[len(run.steps) - len(rolled):]
    index = np.searchsorted(steps, fraction * run.steps[-1], side="right") - 1
    return float(rolled[max(index, 0)])


def plot_iqm_curves(comp: Comparison, path: Path) -> None:
    """IQM of normalised rolling-10 test returns against env steps as a fraction of each task's budget."""
    fractions = np.linspace(0.1, 1.0, 19)
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for agent in comp.agents:
        points = []
        for f in fractions:
            e = ag.aggregate(comp.scores(agent, partial(rolling_at, fraction=f)), ag.iqm, reps=ag.CURVE_REPS)
            points.append((e.value, e.low, e.high))
        _band(ax, fractions, tuple(np.array(p) for p in zip(*points)), agent)
    ax.set(title=f"IQM over {len(comp.tasks)} tasks", xlabel="env steps (fraction of each task's budget)",
           ylabel="IQM of normalised rolling-10 return")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
