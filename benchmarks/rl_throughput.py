"""Training throughput (env steps/s, one update per step) of ICNN, NAF and DDPG with their
default configs (same hidden sizes), measured in one process with one torch thread.

    python -m benchmarks.rl_throughput [--env InvertedPendulum-v5] [--steps 100] [--rounds 3]
    python -m benchmarks.rl_throughput --from-runs runs/results --env Reacher-v5 --checkpoint-step 10000

Fresh (default): each agent first collects its ``learning_starts`` random warm-up steps (not
timed), so the timed steps are the first updates of training. Trained (``--from-runs``): each
agent continues its seed-0 run of the RL results benchmark from the checkpoint at
``--checkpoint-step`` (model, optimizer and replay buffer), which is what a run costs late in
training (ICNN's argmin solves need more iterations on a trained network). Either way the agents
then take turns, ``rounds`` times, training ``steps`` env steps each, so a changing machine load
affects them alike. Prints a Markdown table: median env steps/s over the rounds and the ratio to
DDPG.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from icnn_rl.agents import AGENTS, agent_spec
from icnn_rl.envs import make_env
from icnn_rl.rl.build import build_model
from icnn_rl.rl.config import resolve_config


def fresh_model(agent: str, env_id: str, budget_after_warmup: int) -> OffPolicyAlgorithm:
    """A new model that has collected its warm-up steps."""
    config = resolve_config(agent, env_id)
    model = build_model(agent, env_id, config, seed=0, steps=config["learning_starts"] + budget_after_warmup,
                        device="cpu")
    model.learn(config["learning_starts"])
    return model


def trained_model(agent: str, env_id: str, runs: Path, step: int) -> OffPolicyAlgorithm:
    """The seed-0 run of ``runs`` at its checkpoint ``step``, with its replay buffer, ready to continue."""
    checkpoint = runs / env_id / agent / "seed0" / "checkpoints" / f"step{step}.zip"
    if not checkpoint.exists():
        raise SystemExit(f"no checkpoint {checkpoint}; run the RL results benchmark first "
                         "(python -m benchmarks.rl_results) or pick another --checkpoint-step")
    env = make_env(env_id, reward_scale=resolve_config(agent, env_id)["reward_scale"])
    model = agent_spec(agent).algo.load(checkpoint, env=env, device="cpu")
    model.load_replay_buffer(checkpoint.with_suffix(".buffer.pkl"))
    return model


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="InvertedPendulum-v5")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--from-runs", type=Path, default=None,
                        help="continue each agent's seed-0 run in this results directory")
    parser.add_argument("--checkpoint-step", type=int, default=10_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    models = {
        agent: fresh_model(agent, args.env, args.steps * args.rounds) if args.from_runs is None
        else trained_model(agent, args.env, args.from_runs, args.checkpoint_step)
        for agent in AGENTS
    }
    speeds: dict[str, list[float]] = {agent: [] for agent in AGENTS}
    for _ in range(args.rounds):
        for agent, model in models.items():
            start = time.perf_counter()
            model.learn(args.steps, reset_num_timesteps=False)
            speeds[agent].append(args.steps / (time.perf_counter() - start))
    ddpg = statistics.median(speeds["ddpg"])
    state = "fresh" if args.from_runs is None else f"from the step-{args.checkpoint_step} checkpoints"
    print(f"{args.env} ({state}), hidden {resolve_config('ddpg', args.env)['hidden']}, "
          f"{args.steps} steps × {args.rounds} rounds\n")
    print("| agent | env steps/s (median) | per round | ratio to DDPG |")
    print("|---|---|---|---|")
    for agent, values in speeds.items():
        rounds = ", ".join(f"{v:.1f}" for v in values)
        print(
            f"| {agent} | {statistics.median(values):.1f} | {rounds} | {statistics.median(values) / ddpg:.2f} |"
        )


if __name__ == "__main__":
    main()
