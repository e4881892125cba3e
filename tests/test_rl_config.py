"""Config resolution, task registry and the shared builder."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

from icnn_rl import envs
from icnn_rl.agents import AGENTS
from icnn_rl.cli import ConfigError, config_path, load_yaml, parse_overrides
from icnn_rl.rl.build import build_model, make_action_noise
from icnn_rl.rl.config import harness_defaults, resolve_config, without_retired
from icnn_rl.rl.records import config_is_current

# The harness keys every agent shares (configs/harness.yaml), with their values.
HARNESS = {
    "learning_rate": 1e-3,
    "buffer_size": 500_000,
    "learning_starts": 1000,
    "batch_size": 256,
    "gamma": 0.99,
    "tau": 0.01,
    "hidden": [200, 200],
    "train_freq": 1,
    "gradient_steps": 1,
    "noise": "ou",
    "noise_sigma": 0.1,
    "noise_theta": 0.15,
    "reward_scale": 1.0,
    "timeout_terminal": False,
    "test_interval": None,
    "test_episodes": 1,
    "checkpoint_interval": None,
}


SOLVER = {"method": "bundle_entropy", "max_iter": 30, "tol": 0.0, "atol": 0.01, "proximal": 3.0}


def test_layered_configs_resolve_to_the_values_each_agent_had_in_its_own_file() -> None:
    # The values (and key order) every agent file spelled out in full before the harness file existed.
    icnn = {
        **HARNESS,
        "reward_scale": 0.4,
        "l2": 0.0,
        "td_clip": 1.0,
        "entropy_bonus": True,
        "entropy_weight": None,
        "entropy_share": 2.0,
        "proposal": "mlp",
        "proposal_hidden": [200, 200],
        "double_q": False,
        "twin_q": True,
        "negative_slope": 0.01,
        "activation": "leaky_relu",
        "batch_norm": False,
        "act_solver": SOLVER,
        "target_solver": SOLVER,
    }
    naf = {**HARNESS, "reward_scale": 0.02, "l2": 0.0, "td_clip": None, "batch_norm": False, "init_std": None}
    ddpg = {**HARNESS, "reward_scale": 0.1}
    # the schedule resolved: the task's test interval, a checkpoint every 10 tests
    icnn.update(test_interval=1000, checkpoint_interval=10_000)
    naf.update(test_interval=100, checkpoint_interval=1000)
    ddpg.update(test_interval=2000, checkpoint_interval=20_000)
    for agent, env_id, expected in [
        ("icnn", "HalfCheetah-v5", icnn),
        ("naf", "InvertedDoublePendulum-v5", naf),
        ("ddpg", "Walker2d-v5", ddpg),
    ]:
        config = resolve_config(agent, env_id)
        assert config == expected and list(config) == list(expected), (agent, env_id)
        for key in ("act_solver", "target_solver"):  # solver sections keep their key order too
            if key in expected:
                assert list(config[key]) == list(expected[key])


def test_harness_holds_the_shared_keys_and_agent_files_only_their_own() -> None:
    assert harness_defaults() == HARNESS
    # SAC and TD3 change only the shared keys where stable-baselines3's own default differs
    changed = {"sac": {"learning_rate", "tau", "noise"}, "td3": {"tau", "noise"}}
    for agent in AGENTS:
        own = load_yaml(config_path(agent))["default"] or {}
        assert set(own) & set(HARNESS) == changed.get(agent, set()), agent


def test_an_agent_file_may_change_a_shared_key_with_its_type_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "harness.yaml").write_text(config_path("harness").read_text())
    monkeypatch.setattr("icnn_rl.rl.config.config_path", lambda name: tmp_path / f"{name}.yaml")
    (tmp_path / "ddpg.yaml").write_text("default:\n  batch_size: 64\nPendulum-v1:\n  gamma: 0.9\n")
    config = resolve_config("ddpg", "Pendulum-v1")
    assert (config["batch_size"], config["gamma"]) == (64, 0.9) and list(config) == list(HARNESS)
    (tmp_path / "ddpg.yaml").write_text("default:\n  batch_size: many\n")
    with pytest.raises(ConfigError, match="ddpg.yaml \\[default\\]: batch_size must be an integer"):
        resolve_config("ddpg", "Pendulum-v1")


def test_layers_apply_in_order(tmp_path: Path) -> None:
    user = tmp_path / "mine.yaml"
    user.write_text("default:\n  gamma: 0.9\n  tau: 0.02\nInvertedPendulum-v5:\n  tau: 0.03\n")
    config = resolve_config("icnn", "InvertedPendulum-v5", user, ["act_solver.max_iter=7"])
    packaged = load_yaml(config_path("icnn"))
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
        ("act_solver.entropy_weight=0.5", "unknown config key 'act_solver.entropy_weight'"),   # one ε: entropy_weight
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


@pytest.mark.parametrize(("agent", "foreign"), [("sac", "policy_delay=3"), ("td3", "ent_coef=auto")])
def test_sac_and_td3_take_the_harness_keys_and_refuse_each_others(agent: str, foreign: str) -> None:
    config = resolve_config(agent, "Hopper-v5", overrides=["batch_size=64"])
    assert config["batch_size"] == 64 and config["reward_scale"] == 1.0 and config["hidden"] == [200, 200]
    with pytest.raises(ConfigError, match=f"unknown config key '{foreign.split('=')[0]}'"):
        resolve_config(agent, "Hopper-v5", overrides=[foreign])


def test_a_record_of_the_resolved_schedule_and_one_of_null_are_both_todays_config(tmp_path: Path) -> None:
    """config.yaml records the schedule a run used; records written before hold null, which resolves
    to the same values, so neither is trained again; another interval is another config."""
    config = resolve_config("icnn", "Reacher-v5", overrides=["checkpoint_interval=500"])
    assert (config["test_interval"], config["checkpoint_interval"]) == (100, 500)
    today = {"agent": "icnn", "env": "Reacher-v5", "seed": 0, "steps": 10_000, "device": "cpu",
             **resolve_config("icnn", "Reacher-v5")}
    for schedule, current in [
        ({}, True),
        ({"test_interval": None, "checkpoint_interval": None}, True),
        ({"test_interval": None, "checkpoint_interval": 1000}, True),
        ({"test_interval": 50, "checkpoint_interval": None}, False),
        ({"test_interval": None, "checkpoint_interval": 2000}, False),
    ]:
        run_dir = tmp_path / "Reacher-v5" / "icnn" / "seed0"
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(yaml.safe_dump({**today, **schedule}))
        assert config_is_current(run_dir) is current, schedule


def test_a_retired_key_at_its_last_value_is_dropped_and_at_another_kept() -> None:
    recorded = {"gamma": 0.99, "act_solver": {"max_iter": 30, "lr": 0.01, "momentum": 0.9, "prune": True}}
    assert without_retired(recorded) == {"gamma": 0.99, "act_solver": {"max_iter": 30, "prune": True}}
    with pytest.raises(ConfigError, match="unknown config key 'act_solver.lr'"):
        resolve_config("icnn", "Reacher-v5", overrides=["act_solver.lr=0.1"])
