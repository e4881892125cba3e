"""The ICNN entropy weight ε that the packaged configs give on each of the paper's tasks.

    python -m benchmarks.studies.entropy_rule [--envs ...] [--seeds 0 1 2] [--out benchmarks/results/entropy_rule.md]

With ``entropy_weight: null`` (the default) ICNN fixes ε at its first update so that the entropy
bonus's largest value per step, ε·d·ln 2, is ``entropy_share`` times the mean |reward_scale·r| of
the warm-up's uniformly random actions (:func:`icnn_rl.agents.icnn.algo.entropy_weight_rule`).
Per task and seed this builds the packaged ICNN model, runs its warm-up and first update (as
training does, same seed), and reports that mean, the resulting ε, and the ratio of the bonus's
largest value to the mean scaled reward at the paper's ε = 1, i.e. by how much the paper's
setting lets the bonus outweigh the task's reward.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from icnn_rl.cli import configure_torch, write_text_atomic
from icnn_rl.envs import PAPER_TASKS
from icnn_rl.rl.build import build_model
from icnn_rl.rl.config import resolve_config


def warm_up_entropy(env_id: str, seed: int) -> tuple[int, float, float, float]:
    """(d, reward_scale, mean |scaled reward| over the first update's buffer, the rule's ε)."""
    config = resolve_config("icnn", env_id)
    model = build_model("icnn", env_id, config, seed=seed, steps=config["learning_starts"] + 1, device="cpu")
    model.learn(config["learning_starts"] + 1)
    buffer = model.replay_buffer
    rewards = buffer.rewards[: buffer.buffer_size if buffer.full else buffer.pos]
    epsilon = model.policy.act_solver.entropy_weight
    return model.policy.act_dim, config["reward_scale"], float(np.abs(rewards).mean()), epsilon


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=list(PAPER_TASKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=None, help="write the table to this Markdown file")
    args = parser.parse_args()
    configure_torch()
    lines = [
        ("| env | d | reward_scale | mean abs scaled reward (seeds) | ε by the rule (seeds) | "
         "bonus ÷ reward at ε = 1 |"),
        "|---|---|---|---|---|---|",
    ]
    for env_id in args.envs:
        rows = [warm_up_entropy(env_id, seed) for seed in args.seeds]
        d, scale = rows[0][0], rows[0][1]
        means, epsilons = [row[2] for row in rows], [row[3] for row in rows]
        lines.append(
            f"| {env_id} | {d} | {scale:g} | {', '.join(f'{m:.4g}' for m in means)} | "
            f"{', '.join(f'{e:.4g}' for e in epsilons)} | {d * math.log(2) / np.mean(means):.3g} |"
        )
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        write_text_atomic(args.out, text)


if __name__ == "__main__":
    main()
