"""The ICNN paper's random search on Ray Tune: N hyperparameter samples per task (configs/search.yaml),
one sample shared by ICNN, NAF and DDPG, every trial trained with seed 0; then each agent's best
sample re-run on fresh seeds.

python -m icnn_rl.search --env Reacher-v5 --samples 8 --log-dir runs/search       # a local Ray instance
python -m icnn_rl.search --env Hopper-v5 --samples 50 --log-dir /shared/search --address auto  # a cluster
python -m icnn_rl.report runs/search/sample003                                    # one sample's curves

Writes under --log-dir: samples.yaml (every sample's drawn values and the config keys they set),
sample<k>/<env>/<agent>/seed<s>/ (normal run directories), tune/ (Ray Tune's records of the two
experiments, `search` and `rerun`) and search.md, the report: per task and agent the paper's
statistic (the best of the N samples: max over training of the rolling mean over 10 tests, seed 0)
and the honest one (that sample re-run on --fresh-seeds: mean ± 95 % CI of the same statistic).
Repeating the command skips finished trials and resumes interrupted ones from their checkpoints;
--report-only rewrites search.md from the run records under --log-dir (no Ray, no training), e.g.
from the committed records of a search: python -m icnn_rl.search --env Reacher-v5 --samples 8
--log-dir results/search --report-only.
Needs the ray extra: pip install "icnn-rl[ray]" (pip install -e ".[ray]" in a checkout).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from icnn_rl.agents import AGENTS, PAPER_AGENTS, AgentError, agent_spec
from icnn_rl.cli import (
    EXIT_ERROR,
    ConfigError,
    add_set_argument,
    check_distinct,
    check_output_dir,
    command_parser,
    report_error,
    report_warning,
    write_text_atomic,
)
from icnn_rl.envs import EnvError, check_env_id, task_for
from icnn_rl.rl.build import check_agent_config
from icnn_rl.rl.config import resolve_config
from icnn_rl.rl.grid import (
    BackendError,
    RunOutcome,
    check_backend,
    connect_ray,
    restarts,
    summary,
    unfinished,
)
from icnn_rl.rl.records import WINDOW, mean_ci
from icnn_rl.rl.run import RunSpec, check_seeds
from icnn_rl.rl.search import (
    agent_keys,
    best_sample,
    draw_samples,
    fresh_seed_statistic,
    load_space,
    max_rolling,
    run_trials,
    sample_dir,
    samples_record,
)


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(__doc__, "python -m icnn_rl.search")
    parser.add_argument("--env", nargs="+", default=["InvertedPendulum-v5"], help="tasks (gymnasium ids)")
    parser.add_argument("--agent", nargs="+", default=list(PAPER_AGENTS),
                        help=f"agents: {', '.join(AGENTS)} (default: the paper's {', '.join(PAPER_AGENTS)})")
    parser.add_argument("--samples", type=int, default=None, help="samples per task (default: the space's, 50)")
    parser.add_argument("--fresh-seeds", nargs="+", type=int, default=[1, 2, 3],
                        help="seeds of the best sample's re-runs (not 0, the search's seed)")
    parser.add_argument("--steps", type=int, default=None, help="env steps per trial (default: the task's budget)")
    parser.add_argument("--log-dir", type=Path, default=Path("runs/search"), help="root of the search")
    parser.add_argument("--space", type=Path, default=None, help="a search space file (default configs/search.yaml)")
    add_set_argument(parser)
    parser.add_argument("--workers", type=int, default=None, help="CPUs of a new local Ray instance (default all)")
    parser.add_argument("--address", default=None, help="an existing Ray cluster (auto, or host:port)")
    parser.add_argument("--report-only", action="store_true",
                        help="only rewrite search.md from the run records under --log-dir")
    return parser


Configs = list[tuple[int, dict[tuple[str, str], dict[str, Any]]]]  # per sample: (env, agent) → config


def plan(args: argparse.Namespace, warn: Callable[[str], None]) -> tuple[str, Configs]:
    """Validate the inputs; return ``samples.yaml``'s text and per sample its resolved config for
    every (env, agent). ``warn`` receives each (env, agent) whose runs are too short to count: the
    statistic needs more than :data:`~icnn_rl.rl.records.WINDOW` tests."""
    check_output_dir(args.log_dir, "--log-dir")
    if args.report_only and not args.log_dir.is_dir():
        raise ConfigError(f"--report-only reads the runs under --log-dir, and {args.log_dir} is not a directory")
    if not args.report_only:
        check_backend("ray", args.workers, args.address)
    for agent in args.agent:
        agent_spec(agent)
    for env_id in args.env:
        check_env_id(env_id)
    check_distinct("--agent", args.agent)
    check_distinct("--env", args.env)
    check_seeds("--fresh-seeds", args.fresh_seeds)
    if 0 in args.fresh_seeds:
        raise ConfigError("--fresh-seeds must not include 0: the search's trials use seed 0")
    if args.steps is not None and args.steps < 1:
        raise ConfigError(f"--steps must be >= 1, got {args.steps}")
    space = load_space(args.space)
    count = space.samples if args.samples is None else args.samples
    if count < 1:
        raise ConfigError(f"--samples must be >= 1, got {count}")
    samples = draw_samples(space, count)
    configs = [
        (k, {(env_id, agent): resolve_config(agent, env_id, overrides=args.overrides,
                                                 sample=(f"sample {k}", agent_keys(space, drawn, agent)))
             for env_id in args.env for agent in args.agent})
        for k, drawn in enumerate(samples)
    ]
    for _, by_cell in configs:
        for (_, agent), config in by_cell.items():
            check_agent_config(agent, config)
    for (env_id, agent), config in configs[0][1].items():
        steps = args.steps or task_for(env_id).budget
        tests = steps // config["test_interval"] + 1   # at step 0 and every test interval
        if tests <= WINDOW:
            warn(f"{agent} on {env_id}: {steps} steps make {tests} tests (one every {config['test_interval']}), "
                 f"and a run counts with more than {WINDOW}: no statistic will be reported")
    return samples_record(space, samples, args.agent), configs


def trial_specs(root: Path, configs: Configs, seeds: Sequence[int], steps: int | None,
                only: dict[tuple[str, str], int] | None = None) -> list[RunSpec]:
    """The unfinished trials (no ``model.zip``) of every sample on ``seeds``, sample by sample
    (``only``: just each (env, agent)'s given sample); started ones resume."""
    return unfinished([
        RunSpec(agent, env_id, seed, steps or task_for(env_id).budget, config, sample_dir(root, k), "cpu")
        for k, by_cell in configs
        for (env_id, agent), config in by_cell.items()
        if only is None or only.get((env_id, agent)) == k
        for seed in seeds
    ])


def report(root: Path, count: int, envs: Sequence[str], agents: Sequence[str], fresh: Sequence[int]) -> str:
    """``search.md``: both statistics per task and agent, and every sample's statistic per task."""
    title = f"# Random search: {count} samples per task (seed 0), the best re-run on seeds {', '.join(map(str, fresh))}"
    lines = [
        title,
        "",
        ("Statistic of a run: max over training of the rolling mean over 10 tests. Paper's: the best sample's "
         "(seed 0). Honest: that sample re-run on fresh seeds, mean ± 95 % CI (Student t) over the seeds done."),
        "",
        "| env | agent | samples done | best sample | paper's statistic | fresh seeds done | honest statistic |",
        "|---|---|---|---|---|---|---|",
    ]
    for env_id in envs:
        for agent in agents:
            done = sum(max_rolling(sample_dir(root, k) / env_id / agent / "seed0") is not None for k in range(count))
            best = best_sample(root, count, env_id, agent)
            if best is None:
                lines.append(f"| {env_id} | {agent} | 0 of {count} | | | | |")
                continue
            values = fresh_seed_statistic(root, best[0], env_id, agent, fresh)
            mean, half = mean_ci(values) if values else (float("nan"), float("nan"))
            honest = "" if not values else f"{mean:.2f}" + ("" if len(values) < 2 else f" ± {half:.2f}")
            lines.append(f"| {env_id} | {agent} | {done} of {count} | {best[0]} | {best[1]:.2f} | "
                         f"{len(values)} of {len(fresh)} | {honest} |")
    for env_id in envs:
        lines += ["", f"## {env_id}: every sample (seed 0)", "", "| sample | " + " | ".join(agents) + " |",
                  "|---|" + "---|" * len(agents)]
        for k in range(count):
            scores = [max_rolling(sample_dir(root, k) / env_id / agent / "seed0") for agent in agents]
            lines.append(f"| {k} | " + " | ".join("" if s is None else f"{s:.2f}" for s in scores) + " |")
    return "\n".join(lines) + "\n"


def train_search(root: Path, record: str, configs: Configs, args: argparse.Namespace,
                 warn: Callable[[str], None]) -> list[RunOutcome]:
    """Write ``samples.yaml``, train every sample's seed-0 trials on Ray, then each (env, agent)'s
    best sample on the fresh seeds; the outcomes of the runs started. ``warn`` receives each
    started trial that starts again from step 0 (:func:`~icnn_rl.rl.grid.restarts`)."""
    write_text_atomic(root / "samples.yaml", record)
    connect_ray(args.workers, args.address)

    def run(specs: list[RunSpec], name: str) -> list[RunOutcome]:
        for line in restarts(specs):
            warn(line)
        return run_trials(specs, name, root / "tune")

    outcomes = run(trial_specs(root, configs, [0], args.steps), "search")
    best = {}
    for env_id in args.env:
        for agent in args.agent:
            found = best_sample(root, len(configs), env_id, agent)
            if found is not None:
                best[(env_id, agent)] = found[0]
    return outcomes + run(trial_specs(root, configs, args.fresh_seeds, args.steps, best), "rerun")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    warn = partial(report_warning, parser.prog)
    try:
        record, configs = plan(args, warn)
    except (AgentError, EnvError, ConfigError, BackendError) as exc:
        return report_error(parser.prog, exc)
    root = args.log_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    outcomes = [] if args.report_only else train_search(root, record, configs, args, warn)
    text = report(root, len(configs), args.env, args.agent, args.fresh_seeds)
    write_text_atomic(root / "search.md", text)
    print(text)
    if outcomes:
        print(summary(outcomes, root))
    print(f"report → {root / 'search.md'}")
    return 0 if all(outcome.error is None for outcome in outcomes) else EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
