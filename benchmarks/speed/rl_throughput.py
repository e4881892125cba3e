"""Training throughput (env steps/s, one update per step) of every agent (ICNN, NAF, DDPG, SAC,
TD3) with its default config (same hidden sizes), measured in one process with one torch thread;
its multiply-adds per env step, and where ICNN's time goes.

    python -m benchmarks.speed.rl_throughput [--env InvertedPendulum-v5] [--steps 200] [--rounds 3]
    python -m benchmarks.speed.rl_throughput --from-runs ~/runs/results --env Reacher-v5

Fresh (default): each agent first collects its ``learning_starts`` random warm-up steps (not
timed), so the timed steps are the first updates of training. Trained (``--from-runs``): each
agent continues its seed-0 run of the RL results benchmark from its newest checkpoint (or the one
at ``--checkpoint-step``) with its optimizer and replay buffer, which is what a run costs late in
training. Either way the agents then take turns, ``rounds`` times, training ``steps`` env steps
each, so a changing machine load affects them alike.

Prints (and with ``--out`` appends to a Markdown file) the median env steps/s over the rounds and
the ratios to SAC and DDPG; the multiply-adds per env step (acting and update), counted by
``torch.utils.flop_counter`` over a further ``steps`` env steps of each agent (one multiply-add is two
floating-point operations; only torch operations count, not the bundle method's compiled
sub-problems), and the env steps/s they would allow at this machine's measured matmul rate (the
floor, ``MAC_SHAPE``), so the gap between an agent's speed and its floor is per-op overhead; per env step, the milliseconds the ICNN and NAF updates spend in network passes,
in solver sub-problems and elsewhere (``time/*`` in TensorBoard); and ICNN's solver statistics
for acting and for the TD target (``train/solver_*``), averaged over the timed updates.
``--set key=value`` overrides ICNN's config for a fresh model (A/B of solver settings).
"""

from __future__ import annotations

import argparse
import statistics
import time
from operator import attrgetter
from pathlib import Path

import torch
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from torch.utils.flop_counter import FlopCounterMode

from icnn_rl.agents import AGENTS, load_agent
from icnn_rl.cli import configure_torch
from icnn_rl.envs import make_env
from icnn_rl.rl.build import OPTIMIZER_KWARGS, build_model
from icnn_rl.rl.checkpoints import latest_checkpoint
from icnn_rl.rl.config import resolve_config

PHASES = ("cycle", "network", "subproblem", "other")
MAC_SHAPE = (256, 200, 200)   # the matmul timed for the machine's rate: a batch of 256 through a 200-wide layer
SOLVER_STATS = ("iterations", "within_tol", "first_cut", "gap_p50", "gap_p90", "gap_p99")


def fresh_model(agent: str, env_id: str, budget_after_warmup: int, overrides: list[str]) -> OffPolicyAlgorithm:
    """A new model that has collected its warm-up steps."""
    config = resolve_config(agent, env_id, overrides=overrides)
    model = build_model(agent, env_id, config, seed=0, steps=config["learning_starts"] + budget_after_warmup,
                        device="cpu")
    model.set_logger(Logger(None, []))
    model.learn(config["learning_starts"], log_interval=None)
    return model


def trained_model(agent: str, env_id: str, runs: Path, step: int | None) -> OffPolicyAlgorithm:
    """The seed-0 run of ``runs`` at its checkpoint ``step`` (default: the newest), with its replay
    buffer, ready to continue."""
    checkpoints = runs / env_id / agent / "seed0" / "checkpoints"
    found = latest_checkpoint(checkpoints) if step is None else (checkpoints / f"step{step}.zip",
                                                                 checkpoints / f"step{step}.buffer.pkl")
    if found is None or not found[0].exists():
        raise SystemExit(f"no checkpoint {'in ' + str(checkpoints) if step is None else found[0]}; run the RL "
                         "results benchmark first (python -m benchmarks.publish.rl_results) or pick another --checkpoint-step")
    env = make_env(env_id, reward_scale=resolve_config(agent, env_id)["reward_scale"])
    model = load_agent(found[0], env=env, device="cpu")
    model.load_replay_buffer(found[1])
    for name in model._get_torch_save_params()[0]:   # SB3's list of the model's state dicts
        optimizer = attrgetter(name)(model)
        if isinstance(optimizer, torch.optim.Optimizer):   # today's optimizer settings, whatever
            for group in optimizer.param_groups:            # version trained the checkpoint
                group.update(OPTIMIZER_KWARGS)
    return model


def timed_round(model: OffPolicyAlgorithm, steps: int) -> tuple[float, dict[str, float], dict[str, float]]:
    """Train ``steps`` env steps; return env steps/s, the update's ms per step by phase (GreedyQ
    agents) and the scalars logged with ``record_mean`` over the round."""
    before = dict(getattr(model, "phase_totals", {}))
    model.logger.dump()   # start the round's means afresh
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False, log_interval=None)
    speed = steps / (time.perf_counter() - start)
    totals = getattr(model, "phase_totals", {})
    updates = totals.get("updates", 0) - before.get("updates", 0)
    phases = {key: 1e3 * (totals[key] - before.get(key, 0.0)) / updates for key in PHASES} if updates else {}
    return speed, phases, dict(model.logger.name_to_value)


def multiply_adds_per_step(model: OffPolicyAlgorithm, steps: int) -> float:
    """Multiply-adds per env step of training ``steps`` env steps (acting and updates), counted from
    the torch operations that run (half of ``FlopCounterMode``'s floating-point operations)."""
    with FlopCounterMode(display=False) as counter:
        model.learn(steps, reset_num_timesteps=False, log_interval=None)
    return counter.get_total_flops() / 2 / steps


def matmul_rate(repeats: int = 2000) -> float:
    """Multiply-adds per second of this machine's float32 matmul of :data:`MAC_SHAPE`, one thread
    (the best of three timings)."""
    rows, inner, cols = MAC_SHAPE
    a, b = torch.randn(rows, inner), torch.randn(inner, cols)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return rows * inner * cols * repeats / best


def report(env_id: str, state: str, steps: int, rounds: int, speeds: dict[str, list[float]],
           phases: dict[str, list[dict[str, float]]], logged: dict[str, list[dict[str, float]]],
           macs: dict[str, float], rate: float) -> str:
    """The Markdown tables of one benchmark invocation."""
    median = {agent: statistics.median(values) for agent, values in speeds.items()}
    bases = [base for base in ("sac", "ddpg") if base in median]
    lines = [(f"### {env_id} ({state}), hidden {resolve_config('ddpg', env_id)['hidden']}, "
             f"{steps} steps × {rounds} rounds, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"), "",
             (f"Matmul rate {rate / 1e9:.2f} G multiply-adds/s ({'×'.join(map(str, MAC_SHAPE))}, one thread). "
             "Floor: the env steps/s the counted multiply-adds would allow at that rate."), "",
             "| agent | env steps/s (median) | per round | " + " | ".join(f"ratio to {b.upper()}" for b in bases)
             + " | M multiply-adds per env step | floor env steps/s | share of floor |",
             "|---|---|---|" + "---|" * len(bases) + "---|---|---|"]
    for agent, values in speeds.items():
        rounds_text = ", ".join(f"{v:.1f}" for v in values)
        ratios = " | ".join(f"{median[agent] / median[b]:.2f}" for b in bases)
        floor = rate / macs[agent]
        lines.append(f"| {agent} | {median[agent]:.1f} | {rounds_text} | {ratios} | {macs[agent] / 1e6:.2f} | "
                     f"{floor:.0f} | {median[agent] / floor:.2f} |")
    lines += ["", ("ms per env step (median over rounds): the cycle from one update to the next, and its "
              "network passes, solver sub-problems and the rest"), "",
              "| agent | " + " | ".join(PHASES) + " |", "|---|" + "---|" * len(PHASES)]
    for agent, per_round in phases.items():
        if per_round and per_round[0]:
            cells = [f"{statistics.median(r[key] for r in per_round):.2f}" for key in PHASES]
            lines.append(f"| {agent} | " + " | ".join(cells) + " |")
    icnn = logged.get("icnn", [])
    if icnn and any("train/solver_target_iterations" in r for r in icnn):
        lines += ["", ("ICNN solves (mean over the timed updates, median over rounds): evaluations per row, "
                  "share within tolerance, share certified at the start, certified gap percentiles"), "",
                  "| solve | " + " | ".join(SOLVER_STATS) + " |", "|---|" + "---|" * len(SOLVER_STATS)]
        for kind in ("act", "target"):
            cells = []
            for stat in SOLVER_STATS:
                values = [r[f"train/solver_{kind}_{stat}"] for r in icnn if f"train/solver_{kind}_{stat}" in r]
                cells.append(f"{statistics.median(values):.3g}" if values else "")
            lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="InvertedPendulum-v5")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--from-runs", type=Path, default=None,
                        help="continue each agent's seed-0 run in this results directory")
    parser.add_argument("--checkpoint-step", type=int, default=None, help="default: each run's newest")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                        help="override an ICNN config key (fresh models only)")
    parser.add_argument("--agents", nargs="+", default=list(AGENTS), choices=list(AGENTS))
    parser.add_argument("--out", type=Path, default=None, help="append the tables to this Markdown file")
    args = parser.parse_args()
    if args.overrides and args.from_runs is not None:
        parser.error("--set applies to fresh models; a trained model keeps its run's config")
    configure_torch()
    models = {
        agent: fresh_model(agent, args.env, args.steps * args.rounds, args.overrides if agent == "icnn" else [])
        if args.from_runs is None else trained_model(agent, args.env, args.from_runs, args.checkpoint_step)
        for agent in args.agents
    }
    for model in models.values():
        model.set_logger(Logger(None, []))   # scalars are only read back from the logger
    speeds: dict[str, list[float]] = {agent: [] for agent in args.agents}
    phases: dict[str, list[dict[str, float]]] = {agent: [] for agent in args.agents}
    logged: dict[str, list[dict[str, float]]] = {agent: [] for agent in args.agents}
    for _ in range(args.rounds):
        for agent, model in models.items():
            speed, spent, values = timed_round(model, args.steps)
            speeds[agent].append(speed)
            phases[agent].append(spent)
            logged[agent].append(values)
    state = "fresh" if args.from_runs is None else "trained, from " + ", ".join(
        f"{agent} step {model.num_timesteps}" for agent, model in models.items())
    if args.overrides:
        state += ", ICNN " + " ".join(args.overrides)
    macs = {agent: multiply_adds_per_step(model, args.steps) for agent, model in models.items()}
    text = report(args.env, state, args.steps, args.rounds, speeds, phases, logged, macs, matmul_rate())
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "a") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
