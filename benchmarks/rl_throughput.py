"""Training throughput (env steps/s, one update per step) of ICNN, NAF and DDPG with their
default configs (same hidden sizes), measured in one process with one torch thread.

    python -m benchmarks.rl_throughput [--env InvertedPendulum-v5] [--steps 100] [--rounds 3]

Each agent first collects its ``learning_starts`` random warm-up steps (not timed); then the
agents take turns, ``rounds`` times, training ``steps`` env steps each, so a changing machine
load affects them alike. Prints a Markdown table: median env steps/s over the rounds and the
ratio to DDPG.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from agents import AGENTS
from icnn_rl.rl.build import build_model
from icnn_rl.rl.config import resolve_config


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="InvertedPendulum-v5")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    models = {}
    for agent in AGENTS:
        config = resolve_config(agent, args.env)
        budget = config["learning_starts"] + args.steps * args.rounds
        models[agent] = build_model(agent, args.env, config, seed=0, steps=budget, device="cpu")
        models[agent].learn(config["learning_starts"])
    speeds: dict[str, list[float]] = {agent: [] for agent in AGENTS}
    for _ in range(args.rounds):
        for agent, model in models.items():
            start = time.perf_counter()
            model.learn(args.steps, reset_num_timesteps=False)
            speeds[agent].append(args.steps / (time.perf_counter() - start))
    ddpg = statistics.median(speeds["ddpg"])
    print(
        f"{args.env}, hidden {resolve_config('ddpg', args.env)['hidden']}, {args.steps} steps × {args.rounds} rounds\n"
    )
    print("| agent | env steps/s (median) | per round | ratio to DDPG |")
    print("|---|---|---|---|")
    for agent, values in speeds.items():
        rounds = ", ".join(f"{v:.1f}" for v in values)
        print(
            f"| {agent} | {statistics.median(values):.1f} | {rounds} | {statistics.median(values) / ddpg:.2f} |"
        )


if __name__ == "__main__":
    main()
