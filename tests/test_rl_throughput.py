"""The throughput benchmark's multiply-add count (benchmarks/speed/rl_throughput.py): counted from the torch
operations that run, so for DDPG it equals the count worked out from the networks' weight shapes."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def rl_throughput(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module("benchmarks.speed.rl_throughput")


def test_ddpgs_counted_multiply_adds_match_its_weight_shapes(rl_throughput) -> None:
    hidden, obs, act = 32, 3, 1   # Pendulum-v1, hidden 32-32
    actor = obs * hidden + hidden * hidden + hidden * act            # matmul weights, biases aside
    critic = (obs + act) * hidden + hidden * hidden + hidden
    actor_inner, critic_inner = actor - obs * hidden, critic - (obs + act) * hidden   # no input gradient
    per_sample = (
        actor + critic                                    # TD target: target actor, target critic
        + critic + critic + critic_inner                  # critic loss: forward, weight and input gradients
        + actor + critic + critic + critic                # actor loss: actor and critic forward, the critic's
        + actor + actor_inner                             # weight and input gradients, the actor's gradients
    )
    counts = {}
    for batch in (32, 64):
        model = rl_throughput.fresh_model(
            "ddpg", "Pendulum-v1", 40, [f"hidden=[{hidden},{hidden}]", "learning_starts=50", f"batch_size={batch}"])
        counts[batch] = rl_throughput.multiply_adds_per_step(model, 20)
    slope = (counts[64] - counts[32]) / 32
    assert slope == per_sample
    assert counts[32] - 32 * slope == actor   # acting: one actor forward per env step
