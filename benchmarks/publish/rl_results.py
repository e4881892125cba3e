"""The RL results benchmark: ICNN, NAF and DDPG with their packaged configs on the paper's ten tasks
(``icnn_rl.envs.PAPER_TASKS``) at the paper's budgets and test intervals, seeds 0, 1 and 2:

    nohup nice python -m benchmarks.publish.rl_results --log-dir runs/results > results.log 2>&1 &
    nohup nice python -m benchmarks.publish.rl_results --log-dir runs/results --workers 2 > results.log 2>&1 &
    python -m benchmarks.publish.rl_results --log-dir /shared/results --backend ray --address auto   # a Ray cluster

Order (``--order cost``, the default): seed 0 of every cell (task × agent) cheapest first, by the
CPU-hour estimates of ``benchmarks/results/rl_cost.json`` (``python -m benchmarks.publish.rl_cost``; cells
it lacks go last, smallest budget first); then the other seeds of the ``--first`` tasks (HalfCheetah,
Hopper, Walker2d), seed by seed, cheapest first; then those of the remaining tasks. ``--order seed``
goes seed by seed through ``--envs`` in the order given (each env's agents in ``--agents`` order), the
earlier benchmark's order; its grid (the three 10k tasks with 3 seeds, then HalfCheetah seed 0) is

    python -m benchmarks.publish.rl_results --order seed --envs InvertedPendulum-v5 InvertedDoublePendulum-v5 \\
        Reacher-v5 && python -m benchmarks.publish.rl_results --order seed --envs HalfCheetah-v5 --seeds 0

Runs go through ``train.py``'s backends (``icnn_rl.rl.grid``): one at a time in this process (one
torch thread) by default, ``--workers N`` at a time in local processes, or as Ray tasks; the command
first prints its plan (what ``--dry-run`` prints: the runs still to do with their CPU hours). Finished
runs (a ``model.zip`` in the run directory, or a ``metrics.json`` among the published records: delete
a record to re-train its cell) are skipped and interrupted ones resumed from their checkpoints when
the command is repeated. A published record trained with an older config (one the report's
"Settings" lists) does not count as done: its run is trained again under today's packaged config and
its records replaced when it finishes, unless its finished run directory is still under
``--log-dir`` (move that aside first; the plan names such runs). A finished record is never
overwritten by an unfinished run, nor one of today's config by an older config's run;
a failed run (e.g. diverged) does not stop the others. After every finished run the report
(``report.md`` with the paper's statistic and each agent's training throughput, and one PNG per env)
is rewritten in ``<log-dir>/report``, and the small records of every run under ``--log-dir``
(``config.yaml``, ``evaluations.csv``, ``metrics.json``: a few KB, no checkpoints) are copied to
``--records``, the repository's ``results/rl`` (except runs that a process is training at that
moment: a run in progress is published once it stops), from which the published tables regenerate
anywhere:

    python -m icnn_rl.report results/rl --out docs/figures/rl

With the repository's ``results/rl`` as ``--records``, the marked results block of the README and of
docs/rl_results.md (the aggregate verdict, the table of all runs and the settings:
``icnn_rl.report.results_markdown``; the README quotes the verdict only; then where the grid stands:
``grid_status``) is rewritten from the records too, after every finished run and by ``--publish-only``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.publish.rl_cost import load_costs, remaining_hours
from icnn_rl.agents import AGENTS
from icnn_rl.cli import replace_marked, report_interrupted, write_text_atomic
from icnn_rl.envs import PAPER_TASKS, task_for
from icnn_rl.report import results_markdown, write_report
from icnn_rl.rl.config import resolve_config
from icnn_rl.rl.grid import BACKENDS, RunOutcome, run_grid, summary, unfinished
from icnn_rl.rl.records import RunCurve, config_is_current, load_runs
from icnn_rl.rl.run import RunSpec, is_training
from icnn_rl.rl.scores import random_returns
from icnn_rl.rl.verdict import comparison, verdict_markdown

FIRST_TASKS = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5")
RECORDS = ("config.yaml", "evaluations.csv", "metrics.json")
REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "results" / "rl"
# Documents holding the marked results block, and whether each quotes it in full (docs) or the verdict only.
QUOTING = {REPO / "README.md": False, REPO / "docs" / "rl_results.md": True}
BLOCK_BEGIN = "<!-- RL results: generated from results/rl by `python -m benchmarks.publish.rl_results --publish-only` -->"
BLOCK_END = "<!-- end of RL results -->"
BLOCK_LEVEL = 3   # heading level of its sections inside those documents


def grid_status(runs: list[RunCurve], seeds: int = 3) -> str:
    """Where the benchmark's grid (the paper's ten tasks × every registered agent) stands: the cells whose
    seed-0 run reached its budget, those still to run, and the tasks with ``seeds`` finished seeds of
    every agent."""
    finished = {(run.env, run.agent, run.seed) for run in runs if run.complete}
    cells = [(env, agent) for env in PAPER_TASKS for agent in AGENTS]
    missing = [f"{env} {agent}" for env, agent in cells if (env, agent, 0) not in finished]
    seeded = [env for env in PAPER_TASKS
              if all(sum((env, agent, s) in finished for s in range(seeds)) == seeds for agent in AGENTS)]
    lines = [f"{'#' * BLOCK_LEVEL} Where the grid stands", "",
             f"- seed 0 at full budget: {len(cells) - len(missing)} of {len(cells)} cells"
             + (f"; not yet: {', '.join(missing)}" if missing else ""),
             f"- seeds 0–{seeds - 1} for all {len(AGENTS)} agents: {len(seeded)} of {len(PAPER_TASKS)} tasks"
             + (f" ({', '.join(seeded)})" if seeded else "")]
    return "\n".join(lines) + "\n"


def quoted_block(records: Path, full: bool = True) -> str:
    """The marked results block: in ``full`` the aggregate verdict, the table of all runs and the
    settings, else the brief verdict (the at-budget aggregate, the verdict lines, one line per task);
    last, where the grid stands."""
    runs = load_runs(records)
    if full:
        return results_markdown(runs, random_returns(), BLOCK_LEVEL) + "\n" + grid_status(runs)
    return verdict_markdown(comparison(runs, random_returns()), BLOCK_LEVEL, brief=True) + "\n" + grid_status(runs)


def write_quoted_results(records: Path, documents: dict[Path, bool] | None = None) -> None:
    """Rewrite the marked results block of each document (:func:`quoted_block`, full or not as
    ``documents`` says; default :data:`QUOTING`) from ``records``."""
    for path, full in (QUOTING if documents is None else documents).items():
        block = quoted_block(records, full)
        write_text_atomic(path, replace_marked(path.read_text(), BLOCK_BEGIN, BLOCK_END, block))


def finished_record(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a finished run's records (its ``metrics.json``)."""
    return (run_dir / "metrics.json").is_file()


def publish_records(log_dir: Path, records: Path) -> int:
    """Copy the small records of every ``<env>/<agent>/seed<k>`` run under ``log_dir`` to the same
    place under ``records`` (atomically, file by file), except runs another process is training now
    (:func:`icnn_rl.rl.run.is_training`: their records are published once they stop) and runs that
    would replace a finished record with a worse claim: an unfinished run (e.g. the interrupted
    re-training of an older config's cell, published once it finishes) or a run of an older config
    where ``records`` holds a finished run of today's; returns how many runs were copied."""

    def keeps_record(run_dir: Path) -> bool:
        target = records / run_dir.relative_to(log_dir)
        return finished_record(target) and (
            not finished_record(run_dir) or (config_is_current(target) and not config_is_current(run_dir)))

    runs = sorted(path.parent for path in log_dir.glob("*/*/seed*/evaluations.csv")
                  if not is_training(path.parent) and not keeps_record(path.parent))
    for run_dir in runs:
        (records / run_dir.relative_to(log_dir)).mkdir(parents=True, exist_ok=True)
        for name in RECORDS:
            if (run_dir / name).exists():
                write_text_atomic(records / run_dir.relative_to(log_dir) / name, (run_dir / name).read_text())
    return len(runs)


def publish(log_dir: Path, records: Path) -> int:
    """:func:`publish_records`, and when ``records`` is the repository's ``results/rl`` the quoted
    results blocks rewritten from it; returns how many runs were copied."""
    copied = publish_records(log_dir, records)
    if records.resolve() == RESULTS:
        write_quoted_results(records)
    return copied


def published(spec: RunSpec, log_dir: Path, records: Path) -> bool:
    """Whether ``records`` holds the finished record (its ``metrics.json``) of ``spec``'s run, trained
    with today's config (:func:`config_is_current`): a new machine has the committed records but not
    the run directories."""
    record = records / spec.run_dir.relative_to(log_dir)
    return finished_record(record) and config_is_current(record)


def outdated(specs: Sequence[RunSpec], log_dir: Path, records: Path) -> tuple[list[RunSpec], list[RunSpec]]:
    """The runs of ``specs`` whose published record was trained with an older config: those the
    plan trains again, and those it cannot because their finished run directory (of that config) is
    still under ``log_dir``."""
    older = [spec for spec in specs if finished_record(records / spec.run_dir.relative_to(log_dir))
             and not published(spec, log_dir, records)]
    blocked = [spec for spec in older if (spec.run_dir / "model.zip").exists()]
    return [spec for spec in older if spec not in blocked], blocked


def outdated_text(specs: Sequence[RunSpec], log_dir: Path, records: Path) -> str:
    """What :func:`outdated` finds, in a line or two (empty if nothing)."""
    retrained, blocked = outdated(specs, log_dir, records)

    def names(runs: list[RunSpec]) -> str:
        return ", ".join(str(spec.run_dir.relative_to(log_dir)) for spec in runs)

    lines = []
    if retrained:
        lines.append(f"trained again under today's config (their records used an older one): {names(retrained)}")
    if blocked:
        lines.append("records of an older config, not trained again while their finished run directory is under "
                     f"{log_dir} (move it aside to re-train): {names(blocked)}")
    return "\n".join(lines)


def plan(
    log_dir: Path,
    envs: Sequence[str],
    agents: Sequence[str],
    seeds: Sequence[int],
    order: str = "cost",
    first: Sequence[str] = FIRST_TASKS,
    costs: dict[str, dict[str, dict[str, Any]]] | None = None,
) -> list[RunSpec]:
    """The benchmark's runs in execution order (see the module docstring)."""

    def spec(env_id: str, agent: str, seed: int) -> RunSpec:
        config = resolve_config(agent, env_id)
        return RunSpec(agent, env_id, seed, task_for(env_id).budget, config, log_dir, "cpu")

    if order == "seed":
        return [spec(env_id, agent, seed) for seed in seeds for env_id in envs for agent in agents]
    costs = costs or {}

    def cost(cell: tuple[str, str]) -> tuple[bool, float]:
        estimate = costs.get(cell[0], {}).get(cell[1])
        return (False, estimate["hours"]) if estimate else (True, task_for(cell[0]).budget)

    cells = sorted(((env_id, agent) for env_id in envs for agent in agents), key=cost)
    ranked = [spec(*cell, seeds[0]) for cell in cells]
    for tasks in ([c for c in cells if c[0] in first], [c for c in cells if c[0] not in first]):
        ranked += [spec(*cell, seed) for seed in seeds[1:] for cell in tasks]
    return ranked


def plan_text(todo: Sequence[RunSpec], costs: dict[str, dict[str, dict[str, Any]]], records: Path) -> str:
    """The runs still to do, one line each with its CPU hours still needed and their source
    (:func:`benchmarks.publish.rl_cost.remaining_hours`), and the total."""
    lines, total, unknown = [], 0.0, 0
    for spec in todo:
        hours, source = remaining_hours(spec, costs, records)
        name = f"{spec.env_id}/{spec.agent}/seed{spec.seed}" + (" (resume)" if spec.resume else "")
        lines.append(f"{name}: " + (f"{hours:.1f} CPU h ({source})" if hours is not None else source))
        total += hours or 0.0
        unknown += hours is None
    lines.append(f"{len(todo)} runs, about {total:.1f} CPU hours"
                 + (f" ({unknown} without an estimate)" if unknown else ""))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log-dir", type=Path, default=Path("runs/results"))
    parser.add_argument("--envs", nargs="+", default=list(PAPER_TASKS), help="default: the paper's ten tasks")
    parser.add_argument("--agents", nargs="+", default=list(AGENTS), choices=list(AGENTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--order", choices=("cost", "seed"), default="cost")
    parser.add_argument("--first", nargs="*", default=list(FIRST_TASKS),
                        help="tasks whose later seeds run before the other tasks' (--order cost)")
    parser.add_argument("--backend", choices=BACKENDS, default="process")
    parser.add_argument("--workers", type=int, default=None, help="runs at a time (default 1; ray: all CPUs)")
    parser.add_argument("--address", default=None, help="with --backend ray: an existing cluster")
    parser.add_argument("--records", type=Path, default=RESULTS,
                        help="where the runs' small records are copied (default: the repository's results/rl)")
    parser.add_argument("--publish-only", action="store_true", help="copy the records and stop")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the runs still to do, in order, with the CPU hours each still needs (what a "
                             "run prints first), and stop")
    args = parser.parse_args()
    if args.publish_only:
        print(f"{publish(args.log_dir, args.records)} runs' records copied to {args.records}")
        return
    costs = load_costs()
    specs = plan(args.log_dir, args.envs, args.agents, args.seeds, args.order, args.first, costs)
    todo = [spec for spec in unfinished(specs) if not published(spec, args.log_dir, args.records)]
    older = outdated_text(specs, args.log_dir, args.records)
    print(plan_text(todo, costs, args.records) + (f"\n{older}" if older else ""), flush=True)
    if args.dry_run:
        return

    def finished(outcome: RunOutcome) -> None:
        result = outcome.result
        if result is None:   # e.g. diverged: the report shows the run's tests up to there
            print(f"{outcome.name}: {outcome.error}", flush=True)
            return
        print(f"{outcome.name}: {result.wall_seconds:.0f} s wall, {result.env_steps_per_second:.1f} train env "
              f"steps/s", flush=True)
        write_report(args.log_dir, args.log_dir / "report")
        publish(args.log_dir, args.records)

    try:
        outcomes = run_grid(todo, args.backend, args.workers, args.address, finished)
    except KeyboardInterrupt as exc:   # Ctrl-C or SIGTERM: the runs in progress have checkpointed
        publish(args.log_dir, args.records)   # their partial records too
        sys.exit(report_interrupted(parser.prog, exc))
    print(summary(outcomes), flush=True)


if __name__ == "__main__":
    main()
