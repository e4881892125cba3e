"""Config resolution, task registry and the shared builder."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

import envs
from agents import AGENTS
from icnn_rl.rl.build import build_model, make_action_noise
from icnn_rl.rl.config import CONFIG_DIR, SHARED_KEYS, ConfigError, load_yaml, parse_overrides, resolve_config


def test_every_agent_file_holds_the_shared_keys() -> None:
    for agent in AGENTS:
        assert set(SHARED_KEYS) <= set(load_yaml(CONFIG_DIR / f"{agent}.yaml")["default"])


def test_layers_apply_in_order(tmp_path: Path) -> None:
    user = tmp_path / "mine.yaml"
    user.write_text("default:\n  gamma: 0.9\n  tau: 0.02\nInvertedPendulum-v5:\n  tau: 0.03\n")
    config = resolve_config("icnn", "InvertedPendulum-v5", user, ["act_solver.max_iter=7"])
    packaged = load_yaml(CONFIG_DIR / "icnn.yaml")
    assert config["reward_scale"] == packaged["InvertedPendulum-v5"]["reward_scale"]  # env section
    assert (config["gamma"], config["tau"]) == (0.9, 0.03)  # user default, then user env section
    assert config["act_solver"]["max_iter"] == 7
    assert (
        config["act_solver"]["method"] == packaged["default"]["act_solver"]["method"]
    )  # merged, not replaced


def test_overrides_parse_yaml_scalars_and_scientific_floats() -> None:
    assert parse_overrides(["a=1", "b.c=x", "d=[1, 2]"]) == {"a": 1, "b": {"c": "x"}, "d": [1, 2]}
    assert resolve_config("naf", "Pendulum-v1", overrides=["learning_rate=3e-4"])["learning_rate"] == 3e-4


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("lr=1", "unknown config key 'lr'"),
        ("hidden=[64, x]", "hidden[1] must be an integer"),
        ("timeout_terminal=1", "timeout_terminal must be true or false"),
        ("tau=0", "tau must lie in (0, 1]"),
        ("noise=pink", "valid: ou, normal, none"),
        ("act_solver.foo=1", "unknown config key 'act_solver.foo'"),
    ],
)
def test_bad_keys_and_values_are_named(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        resolve_config("icnn", "Pendulum-v1", overrides=[override])


def test_task_registry_has_the_papers_ten_tasks_and_budgets() -> None:
    assert len(envs.PAPER_TASKS) == 10
    assert envs.task_for("Reacher-v5") == envs.Task(10_000, 100)
    assert envs.task_for("Walker2d-v5") == envs.Task(200_000, 2_000)
    assert envs.task_for("MountainCarContinuous-v0") == envs.GENERIC_TASK
    for env_id in envs.PAPER_TASKS:
        assert env_id in envs.gym.registry


def test_reward_scale_changes_learning_rewards_only() -> None:
    env = envs.make_env("InvertedPendulum-v5", reward_scale=0.25)
    env.reset(seed=0)
    scaled, done = 0.0, False
    while not done:
        _, r, terminated, truncated, info = env.step(np.full(1, 3.0))
        scaled += r
        done = terminated or truncated
    assert info["episode"]["r"] == pytest.approx(4 * scaled)  # the Monitor records the raw return


def test_noise_kinds() -> None:
    ou = make_action_noise("ou", 0.1, 0.15, 2)
    assert isinstance(ou, OrnsteinUhlenbeckActionNoise) and ou._dt == 1.0 and ou._theta == 0.15
    assert isinstance(make_action_noise("normal", 0.1, 0.15, 2), NormalActionNoise)
    assert make_action_noise("none", 0.1, 0.15, 2) is None


def test_builder_maps_shared_keys_to_every_agent() -> None:
    for agent in AGENTS:
        overrides = ["hidden=[16,8]", "timeout_terminal=true", "buffer_size=1000", "gamma=0.95"]
        model = build_model(
            agent,
            "Pendulum-v1",
            resolve_config(agent, "Pendulum-v1", overrides=overrides),
            seed=0,
            steps=500,
            device="cpu",
        )
        assert model.buffer_size == 500 and model.gamma == 0.95
        assert model.replay_buffer.handle_timeout_termination is False
        linear_sizes = [m.out_features for m in model.policy.modules() if hasattr(m, "out_features")]
        assert 16 in linear_sizes and 8 in linear_sizes
