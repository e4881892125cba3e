"""The RL results benchmark: ICNN, NAF and DDPG on the paper's three 10k-step tasks
(InvertedPendulum, InvertedDoublePendulum, Reacher; 3 seeds), then HalfCheetah-v5 at its 100k
budget (1 seed), one run at a time in this process (one torch thread).

    nohup nice python -m benchmarks.rl_results --log-dir runs/results > results.log 2>&1 &

Runs go seed by seed (all envs and agents of seed 0 first), so an interrupted benchmark still
has every agent on every task. Finished runs are skipped and interrupted ones resumed from their
checkpoints when the command is repeated. After every run the report (``report.md`` with the
paper's statistic and each agent's training throughput, and one PNG per env) is rewritten in
``<log-dir>/report``, and the small records of every run under ``--log-dir`` (``config.yaml``,
``evaluations.csv``, ``metrics.json``: a few KB, no checkpoints) are copied to ``--records``,
the repository's ``results/rl``, from which the published tables regenerate anywhere:

    python -m icnn_rl.report results/rl --out docs/figures/rl
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from icnn_rl.cli import write_text_atomic
from icnn_rl.envs import task_for
from icnn_rl.report import write_report
from icnn_rl.rl.config import resolve_config
from icnn_rl.rl.run import RunError, RunSpec, train_run

TEN_K_TASKS = ("InvertedPendulum-v5", "InvertedDoublePendulum-v5", "Reacher-v5")
LONG_TASK = "HalfCheetah-v5"
AGENT_NAMES = ("icnn", "naf", "ddpg")
RECORDS = ("config.yaml", "evaluations.csv", "metrics.json")


def publish_records(log_dir: Path, records: Path) -> int:
    """Copy the small records of every ``<env>/<agent>/seed<k>`` run under ``log_dir`` to the same
    place under ``records`` (atomically, file by file); returns how many runs were copied."""
    runs = sorted(path.parent for path in log_dir.glob("*/*/seed*/evaluations.csv"))
    for run_dir in runs:
        (records / run_dir.relative_to(log_dir)).mkdir(parents=True, exist_ok=True)
        for name in RECORDS:
            if (run_dir / name).exists():
                write_text_atomic(records / run_dir.relative_to(log_dir) / name, (run_dir / name).read_text())
    return len(runs)


def plan(log_dir: Path, seeds: list[int], agents: list[str], long_seeds: list[int]) -> list[RunSpec]:
    """The benchmark's runs in execution order."""
    specs = []
    for seed in seeds:
        for env_id in TEN_K_TASKS:
            specs += [
                RunSpec(a, env_id, seed, task_for(env_id).budget, resolve_config(a, env_id), log_dir, "cpu")
                for a in agents
            ]
    for seed in long_seeds:
        specs += [
            RunSpec(
                a, LONG_TASK, seed, task_for(LONG_TASK).budget, resolve_config(a, LONG_TASK), log_dir, "cpu"
            )
            for a in agents
        ]
    return specs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--log-dir", type=Path, default=Path("runs/results"))
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--long-seeds", type=int, nargs="*", default=[0], help=f"seeds of {LONG_TASK}")
    parser.add_argument("--agents", nargs="+", default=list(AGENT_NAMES))
    parser.add_argument("--records", type=Path, default=Path(__file__).resolve().parents[1] / "results" / "rl",
                        help="where the runs' small records are copied (default: the repository's results/rl)")
    parser.add_argument("--publish-only", action="store_true", help="copy the records and stop")
    args = parser.parse_args()
    if args.publish_only:
        print(f"{publish_records(args.log_dir, args.records)} runs' records copied to {args.records}")
        return
    for spec in plan(args.log_dir, args.seeds, args.agents, args.long_seeds):
        if (spec.run_dir / "model.zip").exists():
            continue
        start = time.perf_counter()
        try:
            result = train_run(dataclasses.replace(spec, resume=(spec.run_dir / "config.yaml").exists()))
        except RunError as exc:  # e.g. diverged: the report shows the run's tests up to there
            print(f"{spec.env_id} {spec.agent} seed{spec.seed}: {exc}", flush=True)
            continue
        print(
            f"{spec.env_id} {spec.agent} seed{spec.seed}: {time.perf_counter() - start:.0f} s wall, "
            f"{result.env_steps_per_second:.1f} train env steps/s",
            flush=True,
        )
        write_report(args.log_dir, args.log_dir / "report")
        publish_records(args.log_dir, args.records)


if __name__ == "__main__":
    main()
