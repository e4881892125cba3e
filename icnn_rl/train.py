"""Train ICNN, NAF and DDPG agents on gymnasium tasks; one run directory per agent × env × seed.

python train.py                                   # ICNN on InvertedPendulum-v5, paper budget
python train.py --agent icnn naf ddpg --env Reacher-v5 InvertedPendulum-v5 --seeds 0 1 2 --workers 2
python train.py --agent icnn naf ddpg --env Hopper-v5 --seeds 0 1 2 --backend ray --address auto  # a Ray cluster
tensorboard --logdir runs                         # eval/return, rollout/ep_rew_mean, train/*

Installed, the same command is ``icnn-rl-train`` (or ``python -m icnn_rl.train``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from icnn_rl.agents import AGENTS, AgentError, agent_spec
from icnn_rl.cli import (
    DEVICES,
    EXIT_ERROR,
    ConfigError,
    add_set_argument,
    check_distinct,
    check_output_dir,
    command_parser,
    report_error,
    report_interrupted,
    report_warning,
    resolve_device,
)
from icnn_rl.envs import EnvError, check_env_id, task_for
from icnn_rl.rl.build import check_agent_config
from icnn_rl.rl.config import resolve_config
from icnn_rl.rl.grid import BACKENDS, BackendError, RunOutcome, check_backend, restarts, run_grid, summary
from icnn_rl.rl.run import RunSpec, check_seeds


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(__doc__)
    parser.add_argument(
        "--agent", nargs="+", default=["icnn"], help=f"agents to train: {', '.join(AGENTS)} (each once)"
    )
    parser.add_argument(
        "--env", nargs="+", default=["InvertedPendulum-v5"], help="gymnasium env ids (Box actions; each once)"
    )
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=[0], help="one run per seed (each once; 0 <= seed < 2**32 - 1)"
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="env steps per run (default: the task's paper budget)"
    )
    parser.add_argument("--log-dir", type=Path, default=Path("runs"), help="root of the run directories")
    parser.add_argument("--device", default="auto", help=f"torch device: {', '.join(DEVICES)}")
    parser.add_argument("--config", type=Path, default=None, help="YAML layered over configs/<agent>.yaml")
    add_set_argument(parser)
    parser.add_argument(
        "--backend", choices=BACKENDS, default="process",
        help="process: this process or --workers local processes; ray: one Ray task (one CPU) per run",
    )
    parser.add_argument(
        "--workers", type=int, default=None,
        help="parallel runs: local processes (default 1) or the CPUs of a new local Ray instance (default all)",
    )
    parser.add_argument(
        "--address", default=None,
        help="with --backend ray: the cluster to run on (auto, or host:port of `ray start --head`)",
    )
    parser.add_argument(
        "--resume", action="store_true",
        help="continue each run from its last checkpoint (a warning names a run that starts from step 0)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def plan_runs(args: argparse.Namespace, warn: Callable[[str], None]) -> list[RunSpec]:
    """Validate every input and return one :class:`RunSpec` per agent × env × seed; ``warn``
    receives each surprise that is not an error: --steps within the warm-up, a --resume that
    starts from step 0.

    Every config is resolved and checked here (:func:`~icnn_rl.rl.build.check_agent_config`, no
    model is built), so bad values are reported before any run starts and nothing is written.
    """
    resolve_device(args.device)
    check_output_dir(args.log_dir, "--log-dir")
    check_backend(args.backend, args.workers, args.address)
    if args.steps is not None and args.steps < 1:
        raise ValueError(f"--steps must be >= 1, got {args.steps}")
    if args.config is not None and not args.config.is_file():
        raise ValueError(f"--config {args.config}: no such file")
    check_distinct("--agent", args.agent)
    check_distinct("--env", args.env)
    check_seeds("--seeds", args.seeds)
    for agent in args.agent:
        agent_spec(agent)
    for env_id in args.env:
        check_env_id(env_id)
    specs = []
    for env_id in args.env:
        steps = args.steps or task_for(env_id).budget
        for agent in args.agent:
            config = resolve_config(agent, env_id, args.config, args.overrides)
            check_agent_config(agent, config)
            if steps <= config["learning_starts"]:
                warn(f"{agent} on {env_id}: --steps {steps} is within the warm-up (learning_starts "
                     f"{config['learning_starts']}): random actions only, no update is trained")
            specs += [
                RunSpec(
                    agent,
                    env_id,
                    seed,
                    steps,
                    config,
                    args.log_dir,
                    args.device,
                    args.resume,
                    progress=not args.no_progress and args.backend == "process" and (args.workers or 1) == 1,
                )
                for seed in args.seeds
            ]
    for line in restarts(specs):
        warn(f"--resume: {line}")
    return specs


def report(prog: str, outcome: RunOutcome) -> None:
    """One line per run as it ends: where its model and logs went, or the error that stopped it."""
    result = outcome.result
    if result is None:
        report_error(prog, outcome.error)
        return
    spec = outcome.spec
    print(
        f"{spec.agent} on {spec.env_id} seed {spec.seed}: {result.steps} steps at "
        f"{result.env_steps_per_second:.1f} env steps/s; model → {result.model_path}; "
        f"logs → {result.run_dir}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        specs = plan_runs(args, partial(report_warning, parser.prog))
    except (AgentError, EnvError, ConfigError, BackendError, ValueError) as exc:
        return report_error(parser.prog, exc)
    try:
        outcomes = run_grid(specs, args.backend, args.workers, args.address, partial(report, parser.prog))
    except KeyboardInterrupt as exc:   # Ctrl-C or SIGTERM: the runs in progress have checkpointed
        return report_interrupted(parser.prog, exc)
    if len(outcomes) > 1:
        print(summary(outcomes), flush=True)
    if any(outcome.error is None for outcome in outcomes):
        print(f"TensorBoard: tensorboard --logdir {args.log_dir}")
    return 0 if all(outcome.error is None for outcome in outcomes) else EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
