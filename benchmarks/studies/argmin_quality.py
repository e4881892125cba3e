"""How good are the ICNN agent's certified argmins? Two checks on trained runs of the RL results benchmark.

    python -m benchmarks.studies.argmin_quality --runs ~/runs/results [MORE_DIRS ...] [--states 1024] [--envs ENV ...] \
        [--max-iter N] [--out benchmarks/results/argmin_quality.md]

1. During training: the share of rows within tolerance (certified gap <= atol + tol·(1 + |F|)) of
   the acting solves and of the TD-target solves, as logged to TensorBoard
   (``train/solver_{act,target}_within_tol``, each point a mean over a log interval): the mean over
   the run and the worst interval.
2. After training: on ``--states`` states of the run's replay buffer, the final model solves as it
   does in training (acting: the online network at s; TD target: the target network at s'), and a
   tight bundle entropy re-solve from its answer (100 evaluations, relative gap 1e-10) gives the
   optimum F*. Reported: the excess F(kept) − F* of the answers (mean, 99th percentile, maximum,
   in units of Q), the share within the tolerance, and the share of rows whose certified gap
   bounds the excess (up to float32 rounding, 1e-4). ``--max-iter`` re-solves with another
   evaluation budget than the run's (both solves), to see what a budget would have kept.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from icnn_rl.agents import ICNN, load_agent
from icnn_rl.cli import configure_torch
from icnn_rl.convex.bundle_entropy import bundle_entropy
from icnn_rl.envs import make_env
from icnn_rl.rl.checkpoints import latest_checkpoint
from icnn_rl.rl.config import resolve_config

ROUNDING = 1e-4


def training_shares(run_dir: Path) -> dict[str, tuple[float, float]]:
    """(mean, minimum) over the run of the logged within-tolerance shares of each solve kind."""
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    shares = {}
    for kind in ("act", "target"):
        tag = f"train/solver_{kind}_within_tol"
        if tag in events.Tags()["scalars"]:
            values = np.array([e.value for e in events.Scalars(tag)])
            shares[kind] = (float(values.mean()), float(values.min()))
    return shares


def resolve_quality(model: ICNN, states: int, seed: int, max_iter: int | None = None) -> dict[str, dict[str, float]]:
    """The re-solve check (module docstring) of the acting and TD-target solves, with the run's
    solver settings or ``max_iter`` evaluations at most."""
    buffer = model.replay_buffer
    size = buffer.buffer_size if buffer.full else buffer.pos
    index = np.random.default_rng(seed).integers(0, size, states)
    policy = model.policy
    out = {}
    for kind, net, obs, config in (
        ("act", policy.q_net, buffer.observations[index, 0], policy.act_solver),
        ("target", policy.q_net_target, buffer.next_observations[index, 0], policy.target_solver),
    ):
        obs = torch.as_tensor(obs).float()
        config = config if max_iter is None else replace(config, max_iter=max_iter)
        with torch.no_grad():
            result, _, _ = policy.certified_solve(net, obs, policy.start(obs), config)
            tight, _ = bundle_entropy(net.condition(obs), result.y, max_iter=100, tol=1e-10,
                                      entropy_weight=config.entropy_weight, bounds=(-1.0, 1.0))
        excess = (result.objective.double() - tight.objective.double()).clamp_min(0.0)
        bound = config.atol + config.tol * (1 + result.objective.double().abs())
        out[kind] = {
            "excess_mean": excess.mean().item(),
            "excess_p99": excess.quantile(0.99).item(),
            "excess_max": excess.max().item(),
            "within": (excess <= bound + ROUNDING).double().mean().item(),
            "gap_bounds": (result.gap.double() >= excess - ROUNDING).double().mean().item(),
            "kept": result.converged.double().mean().item(),
            "tolerance": float(config.atol),
            "max_iter": int(config.max_iter),
        }
    return out


def icnn_runs(runs: Path) -> list[Path]:
    """Every finished ICNN run directory under ``runs`` (``<env>/icnn/seed<k>`` with a model.zip)."""
    return sorted(path.parent for path in runs.glob("*/icnn/seed*/model.zip"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, nargs="+", required=True,
                        help="results directories (<env>/icnn/seed<k>)")
    parser.add_argument("--states", type=int, default=1024)
    parser.add_argument("--envs", nargs="+", default=None, help="only these env ids (default: all)")
    parser.add_argument("--max-iter", type=int, default=None, help="re-solve with this budget (default: the run's)")
    parser.add_argument("--out", type=Path, default=None, help="write the table to this Markdown file")
    args = parser.parse_args()
    if args.max_iter is not None and args.max_iter < 1:
        parser.error(f"--max-iter must be >= 1, got {args.max_iter}")
    configure_torch()
    lines = [
        ("| env | seed | solve | within tol. in training (mean, worst interval) | re-solve: excess mean | "
         "p99 | max | within tol. | gap bounds excess | kept at start or by iterating |"),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run_dir in sorted(run for runs in args.runs for run in icnn_runs(runs)):
        env_id, seed = run_dir.parts[-3], int(run_dir.name.removeprefix("seed"))
        last = latest_checkpoint(run_dir / "checkpoints")
        if last is None or (args.envs and env_id not in args.envs):
            continue
        env = make_env(env_id, reward_scale=resolve_config("icnn", env_id)["reward_scale"])
        model = load_agent(run_dir / "model.zip", env=env, device="cpu")
        model.load_replay_buffer(last[1])
        shares = training_shares(run_dir)
        for kind, q in resolve_quality(model, args.states, seed, args.max_iter).items():
            mean, worst = shares.get(kind, (float("nan"), float("nan")))
            lines.append(
                f"| {env_id} | {seed} | {kind} (atol {q['tolerance']:g}, max_iter {q['max_iter']}) | {mean:.2%}, {worst:.2%} | "
                f"{q['excess_mean']:.2e} | {q['excess_p99']:.2e} | {q['excess_max']:.2e} | {q['within']:.2%} | "
                f"{q['gap_bounds']:.2%} | {q['kept']:.2%} |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
