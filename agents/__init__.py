"""The agents, by name: ICNN and NAF (our :class:`~agents.common.GreedyQAlgorithm` subclasses) and
stable-baselines3's DDPG, with how a config's shared keys reach each class."""

from __future__ import annotations

from dataclasses import dataclass

from icnn_rl.agents.icnn import ICNN
from icnn_rl.agents.naf import NAF
from stable_baselines3 import DDPG
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm


@dataclass(frozen=True)
class AgentSpec:
    """An agent class, the policy kwarg that takes the hidden sizes, and the config keys that
    are policy kwargs (every other agent-specific key is a constructor argument)."""

    algo: type[OffPolicyAlgorithm]
    hidden_kwarg: str
    policy_keys: tuple[str, ...] = ()


AGENTS: dict[str, AgentSpec] = {
    "icnn": AgentSpec(
        ICNN,
        "hidden",
        ("act_solver", "target_solver", "entropy_bonus", "warm_start", "negative_slope", "batch_norm"),
    ),
    "naf": AgentSpec(NAF, "hidden", ("batch_norm", "init_std")),
    "ddpg": AgentSpec(DDPG, "net_arch"),
}


class AgentError(ValueError):
    """An agent name that is not in :data:`AGENTS`."""


def agent_spec(name: str) -> AgentSpec:
    """The :class:`AgentSpec` registered under ``name``."""
    if name not in AGENTS:
        raise AgentError(f"unknown agent {name!r}; valid: {', '.join(AGENTS)}")
    return AGENTS[name]


def agent_name_of(algo: type[OffPolicyAlgorithm]) -> str:
    """The registry name of an agent class (inverse of :func:`agent_spec`)."""
    for name, spec in AGENTS.items():
        if spec.algo is algo:
            return name
    raise AgentError(f"{algo.__name__} is not a registered agent; valid: {', '.join(AGENTS)}")


__all__ = ["AGENTS", "DDPG", "ICNN", "NAF", "AgentError", "AgentSpec", "agent_name_of", "agent_spec"]
