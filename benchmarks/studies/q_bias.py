"""How far a trained agent's Q is from the return its policy gets (overestimation, as in Fujimoto et
al. 2018, Fig. 1): along deterministic test episodes of the run's final model, the learned
Q(s_t, a_t) against the discounted return that followed,

    G_t = Σ_k γ^k · reward_scale · r_{t+k},

in the units the agent learns in. Steps whose episode was cut by the time limit count only while at
least ``3 / (1 − γ)`` steps follow them (the missing tail then weighs under γ^(3/(1−γ)) ≈ 5 %).
For ICNN the learned value is the entropy-augmented Q + ε·H (with twin critics, the first: the one
that acts); its fixed point along the greedy policy is the same G_t.

    python -m benchmarks.studies.q_bias --runs RUN_DIR [RUN_DIR ...] [--episodes 3] [--out FILE.md]

Prints (and with ``--out`` writes) one row per run: mean Q, mean G, their difference and ratio.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
import yaml
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from icnn_rl.agents.common import GreedyQPolicy
from icnn_rl.cli import configure_torch, write_text_atomic
from icnn_rl.envs import make_env
from icnn_rl.evaluate import load_model, model_path_of

HORIZON_FACTOR = 3.0   # a truncated episode's step counts while HORIZON_FACTOR / (1 − γ) steps follow it


def q_of(model: OffPolicyAlgorithm, obs: np.ndarray, action: np.ndarray) -> float:
    """The learned Q(s, a) of one state and env-scaled action."""
    policy = model.policy
    scaled = policy.scale_action(action)
    obs_t = torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0)
    act_t = torch.as_tensor(scaled, dtype=torch.float32).unsqueeze(0)
    with torch.no_grad():
        if isinstance(policy, GreedyQPolicy):
            q = policy.q_values(policy.q_net, obs_t, act_t)
            return float(q.flatten()[0])   # [1], or [K, 1] with K critics: the first (acting) one
        return float(policy.critic(obs_t, act_t)[0])   # stable-baselines3's DDPG


def episode_pairs(model: OffPolicyAlgorithm, env: gym.Env, reward_scale: float, seed: int | None
                  ) -> tuple[list[float], list[float]]:
    """(Q(s_t, a_t), G_t) over the counted steps of one deterministic episode of ``env`` (raw rewards)."""
    obs, _ = env.reset(seed=seed)
    qs, rewards, terminated, truncated = [], [], False, False
    while not (terminated or truncated):
        action, _ = model.predict(obs, deterministic=True)
        qs.append(q_of(model, obs, action))
        obs, reward, terminated, truncated, _ = env.step(action)
        rewards.append(reward_scale * float(reward))
    gamma = model.gamma
    returns = np.zeros(len(rewards))
    acc = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        acc = rewards[t] + gamma * acc
        returns[t] = acc
    counted = len(rewards) if terminated else max(0, len(rewards) - int(HORIZON_FACTOR / (1.0 - gamma)))
    return qs[:counted], returns[:counted].tolist()


def measure(run_dir: Path, episodes: int) -> dict[str, object]:
    """One table row for a run directory."""
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    path = model_path_of(run_dir)
    model = load_model(path, device="cpu")
    qs, gs = [], []
    env = make_env(config["env"])
    for i in range(episodes):
        q, g = episode_pairs(model, env, float(config["reward_scale"]), seed=0 if i == 0 else None)
        qs += q
        gs += g
    env.close()
    mean_q, mean_g = float(np.mean(qs)) if qs else float("nan"), float(np.mean(gs)) if gs else float("nan")
    return {"run": str(run_dir), "env": config["env"], "agent": config["agent"], "model": path.name,
            "steps counted": len(qs), "mean Q": mean_q, "mean G": mean_g, "Q − G": mean_q - mean_g,
            "Q / G": mean_q / mean_g if mean_g else float("nan")}


def table(rows: Sequence[dict[str, object]]) -> str:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [f"{v:.3g}" if isinstance(v, float) else str(v) for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", type=Path, required=True, help="run directories")
    parser.add_argument("--episodes", type=int, default=3, help="deterministic episodes per run")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes must be >= 1, got {args.episodes}")
    configure_torch()
    text = table([measure(run_dir, args.episodes) for run_dir in args.runs])
    print(text, end="")
    if args.out is not None:
        write_text_atomic(args.out, text)


if __name__ == "__main__":
    main()
