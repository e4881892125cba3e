"""From a resolved config to a stable-baselines3 model: exploration noise, replay settings,
policy kwargs and constructor arguments, for any agent in :data:`icnn_rl.agents.AGENTS`; and
:func:`make_agent`, the same model from an agent's name and an env id, for code."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from stable_baselines3.common.noise import ActionNoise, NormalActionNoise, OrnsteinUhlenbeckActionNoise
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from icnn_rl.agents import agent_spec
from icnn_rl.cli import ConfigError
from icnn_rl.envs import check_env_id, make_env, task_for
from icnn_rl.rl.config import harness_defaults, resolve_config

# Harness keys passed unchanged to every agent's constructor.
DIRECT_KEYS = (
    "learning_rate",
    "learning_starts",
    "batch_size",
    "gamma",
    "tau",
    "train_freq",
    "gradient_steps",
)


def make_action_noise(kind: str, sigma: float, theta: float, act_dim: int) -> ActionNoise | None:
    """Exploration noise in the [−1, 1] action box.

    ``ou``: the paper's discrete Ornstein-Uhlenbeck process n ← n − θ n + σ ε (SB3's OU with dt = 1),
    reset at every episode start; ``normal``: i.i.d. N(0, σ²); ``none``: no noise.
    """
    zeros, sigmas = np.zeros(act_dim), sigma * np.ones(act_dim)
    if kind == "ou":
        return OrnsteinUhlenbeckActionNoise(zeros, sigmas, theta=theta, dt=1.0)
    if kind == "normal":
        return NormalActionNoise(zeros, sigmas)
    if kind == "none":
        return None
    raise ValueError(f"noise {kind!r} is unknown; valid: ou, normal, none")


def agent_arguments(agent: str, config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The keys of ``config`` that are ``agent``'s own (not the harness's), split into its
    constructor's keyword arguments and its policy kwargs."""
    shared = harness_defaults()
    own = {key: value for key, value in config.items() if key not in shared}
    return own, {key: own.pop(key) for key in agent_spec(agent).policy_keys}


def check_agent_config(agent: str, config: dict[str, Any]) -> None:
    """Refuse, with a :class:`~icnn_rl.cli.ConfigError`, a value of ``agent``'s own keys in the resolved
    ``config`` that the agent's class would refuse (:attr:`~icnn_rl.agents.AgentSpec.check`), without
    building a model; the shared keys are checked by :func:`~icnn_rl.rl.config.resolve_config`."""
    try:
        agent_spec(agent).check(*agent_arguments(agent, config))
    except ValueError as exc:   # the check's one way of refusing a value
        raise ConfigError(f"{agent}: {exc}") from None


# Every agent's Adam runs as one fused kernel per step: on one CPU thread ~3× faster than the
# default per-parameter loop for the 200-200 PICNN's 25 tensors (docs/icnn_agent.md, training throughput).
OPTIMIZER_KWARGS = {"fused": True}


def build_model(
    agent: str, env_id: str, config: dict[str, Any], seed: int, steps: int, device: str = "auto"
) -> OffPolicyAlgorithm:
    """A fresh ``agent`` model on ``env_id`` (training env with reward scaling), seeded by ``seed``.

    The replay buffer holds at most ``steps`` transitions (the paper's 500k is never reached
    at its budgets), and time-outs bootstrap unless ``timeout_terminal``. The env id is kept
    on the model (``model.env_id``, and the agent's registry name as ``model.agent_name``) so a saved
    model knows its task and its agent.
    """
    spec = agent_spec(agent)
    env = make_env(env_id, reward_scale=config["reward_scale"])
    act_dim = int(np.prod(env.action_space.shape))
    own, policy_kwargs = agent_arguments(agent, config)
    policy_kwargs.update({spec.hidden_kwarg: list(config["hidden"]), "optimizer_kwargs": dict(OPTIMIZER_KWARGS)})
    model = spec.algo(
        "MlpPolicy",
        env,
        buffer_size=min(config["buffer_size"], max(steps, 1)),
        action_noise=make_action_noise(
            config["noise"], config["noise_sigma"], config["noise_theta"], act_dim
        ),
        replay_buffer_kwargs={"handle_timeout_termination": not config["timeout_terminal"]},
        policy_kwargs=policy_kwargs,
        seed=seed,
        device=device,
        **{key: config[key] for key in DIRECT_KEYS},
        **own,
    )
    model.env_id = env_id
    model.agent_name = agent
    return model


def make_agent(agent: str, env_id: str, seed: int = 0, overrides: Iterable[str] = (),
               device: str = "auto") -> OffPolicyAlgorithm:
    """The model ``train.py`` would train: ``agent`` on ``env_id`` with its packaged config (and
    ``--set``-style ``overrides`` such as ``"learning_rate=3e-4"``), exploration noise included,
    its replay buffer sized for the task's budget. Bad input raises ``ValueError`` naming it."""
    agent_spec(agent)
    check_env_id(env_id)
    config = resolve_config(agent, env_id, overrides=overrides)
    check_agent_config(agent, config)
    return build_model(agent, env_id, config, seed, task_for(env_id).budget, device)
