"""The agents, by name: ICNN and NAF (our :class:`~icnn_rl.agents.common.GreedyQAlgorithm` subclasses)
and stable-baselines3's DDPG, with how a config's shared keys reach each class, and loading a saved
model whatever agent saved it (:func:`load_agent`)."""

from __future__ import annotations

import base64
import io
import json
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stable_baselines3 import DDPG
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from icnn_rl.agents.icnn import ICNN
from icnn_rl.agents.naf import NAF


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
        ("act_solver", "target_solver", "entropy_bonus", "proposal", "proposal_hidden", "double_q",
         "twin_q", "negative_slope", "activation", "batch_norm"),
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


# Models saved before the agents were installed inside icnn_rl name their policy class by these modules.
LEGACY_MODULES = {"agents": "icnn_rl.agents", "envs": "icnn_rl.envs"}


class _LegacyAwareUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        top, dot, rest = module.partition(".")
        if top in LEGACY_MODULES:
            module = LEGACY_MODULES[top] + dot + rest
        return super().find_class(module, name)


def saved_policy_class(path: Path) -> type:
    """The policy class a model file names (the saved ``policy_class`` entry of SB3's ``data``),
    with the module paths of models saved by earlier versions (top-level ``agents``) mapped to
    ``icnn_rl.agents``. Raises ``ValueError`` for a file that is not a saved SB3 model."""
    try:
        with zipfile.ZipFile(path) as archive:
            entry = json.loads(archive.read("data"))["policy_class"][":serialized:"]
        return _LegacyAwareUnpickler(io.BytesIO(base64.b64decode(entry))).load()
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError,
            ImportError, AttributeError) as exc:
        raise ValueError(f"{path} is not a saved model of a known agent: {exc}") from None


def load_agent(path: Path, **kwargs: Any) -> OffPolicyAlgorithm:
    """Load a model saved by any agent of :data:`AGENTS` (also by earlier versions of this package),
    its class read from the file; ``kwargs`` go to SB3's ``load`` (``env``, ``device``, ...)."""
    policy_class = saved_policy_class(path)
    for spec in AGENTS.values():
        if policy_class in spec.algo.policy_aliases.values():
            return spec.algo.load(path, custom_objects={"policy_class": policy_class}, **kwargs)
    raise AgentError(f"{path} was saved by none of the agents {', '.join(AGENTS)}")


__all__ = [
    "AGENTS",
    "DDPG",
    "ICNN",
    "NAF",
    "AgentError",
    "AgentSpec",
    "agent_name_of",
    "agent_spec",
    "load_agent",
    "saved_policy_class",
]
