"""The agents, by name: ICNN and NAF (our :class:`~icnn_rl.agents.common.GreedyQAlgorithm`
subclasses), stable-baselines3's DDPG (the paper's baseline) and its SAC and TD3 (today's
references), with how a config's shared keys reach each class, and loading a saved model whatever
agent saved it (:func:`load_agent`)."""

from __future__ import annotations

import base64
import json
import math
import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stable_baselines3 import DDPG, SAC, TD3
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from icnn_rl.agents.icnn import ICNN
from icnn_rl.agents.naf import NAF

Check = Callable[[dict[str, Any], dict[str, Any]], None]


def _number(text: str) -> float:
    """``text`` as a float, NaN when it is not a number."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def check_sac_arguments(kwargs: dict[str, Any], policy_kwargs: dict[str, Any]) -> None:
    """The checks SB3's SAC makes of ``ent_coef`` and ``target_entropy`` only while it builds the
    model: ``auto`` or a number, and for ``ent_coef`` also ``auto_<initial value>``."""
    target_entropy, ent_coef = kwargs.get("target_entropy", "auto"), kwargs.get("ent_coef", "auto")
    if target_entropy != "auto" and math.isnan(_number(target_entropy)):
        raise ValueError(f"target_entropy must be auto or a number, got {target_entropy!r}")
    if ent_coef.startswith("auto_"):
        valid = _number(ent_coef.removeprefix("auto_")) > 0
    else:
        valid = ent_coef == "auto" or _number(ent_coef) >= 0
    if not valid:
        raise ValueError(f"ent_coef must be auto, auto_<initial value > 0> or a number >= 0, got {ent_coef!r}")


def check_td3_arguments(kwargs: dict[str, Any], policy_kwargs: dict[str, Any]) -> None:
    """Range checks of TD3's own arguments, which SB3 does not make (``policy_delay`` 0 fails in
    the first update)."""
    if kwargs.get("policy_delay", 2) < 1:
        raise ValueError(f"policy_delay must be >= 1, got {kwargs['policy_delay']}")
    for key in ("target_policy_noise", "target_noise_clip"):
        if kwargs.get(key, 0.0) < 0:
            raise ValueError(f"{key} must be >= 0, got {kwargs[key]}")


def no_check(kwargs: dict[str, Any], policy_kwargs: dict[str, Any]) -> None:
    """For an agent whose config has no keys of its own (DDPG)."""


@dataclass(frozen=True)
class AgentSpec:
    """An agent class, the policy kwarg that takes the hidden sizes, the config keys that are
    policy kwargs (every other agent-specific key is a constructor argument), and ``check``:
    ``check(kwargs, policy_kwargs)`` raises ``ValueError`` for a value of the agent's own keys that
    the class would refuse, without building a model (:func:`icnn_rl.rl.build.check_agent_config`)."""

    algo: type[OffPolicyAlgorithm]
    hidden_kwarg: str
    policy_keys: tuple[str, ...] = ()
    check: Check = no_check


AGENTS: dict[str, AgentSpec] = {
    "icnn": AgentSpec(
        ICNN,
        "hidden",
        ("act_solver", "target_solver", "entropy_bonus", "proposal", "proposal_hidden", "double_q",
         "twin_q", "negative_slope", "activation", "batch_norm"),
        ICNN.check_arguments,
    ),
    "naf": AgentSpec(NAF, "hidden", ("batch_norm", "init_std"), NAF.check_arguments),
    "ddpg": AgentSpec(DDPG, "net_arch"),
    "sac": AgentSpec(SAC, "net_arch", check=check_sac_arguments),
    "td3": AgentSpec(TD3, "net_arch", check=check_td3_arguments),
}


PAPER_AGENTS = ("icnn", "naf", "ddpg")   # the agents of the ICNN paper's RL table (Sec. 6.2)


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


def _saved_data(path: Path) -> dict[str, Any]:
    """SB3's ``data`` entry of a saved model (JSON), or ``ValueError`` for a file that is not one."""
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("data"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is not a saved model of a known agent: {exc}") from None


def saved_policy_class(path: Path) -> type:
    """The policy class a model file names (the saved ``policy_class`` entry of SB3's ``data``).
    Raises ``ValueError`` for a file that is not a saved SB3 model."""
    try:
        entry = _saved_data(path)["policy_class"][":serialized:"]
        return pickle.loads(base64.b64decode(entry))
    except (KeyError, TypeError, ValueError, pickle.UnpicklingError, ImportError, AttributeError) as exc:
        raise ValueError(f"{path} is not a saved model of a known agent: {exc}") from None


def saved_agent_name(path: Path) -> str:
    """The registry name of the agent that saved ``path``: the ``agent_name`` that
    :func:`icnn_rl.rl.build.build_model` stores on every model, else the one agent whose policies
    include the saved policy class. DDPG and TD3 share SB3's ``TD3Policy``; an untagged model of
    that class is DDPG when it has DDPG's fixed settings (``policy_delay`` 1, no target noise clip)."""
    data = _saved_data(path)
    if data.get("agent_name") in AGENTS:
        return data["agent_name"]
    policy_class = saved_policy_class(path)
    names = [name for name, spec in AGENTS.items() if policy_class in spec.algo.policy_aliases.values()]
    if names == ["ddpg", "td3"]:
        return "ddpg" if data.get("policy_delay") == 1 and data.get("target_noise_clip") == 0.0 else "td3"
    if not names:
        raise AgentError(f"{path} was saved by none of the agents {', '.join(AGENTS)}")
    return names[0]


def load_agent(path: Path, **kwargs: Any) -> OffPolicyAlgorithm:
    """Load a model saved by any agent of :data:`AGENTS`, its class read from the file (:func:`saved_agent_name`); ``kwargs`` go to SB3's ``load``
    (``env``, ``device``, ...)."""
    algo = AGENTS[saved_agent_name(path)].algo
    return algo.load(path, custom_objects={"policy_class": saved_policy_class(path)}, **kwargs)


__all__ = [
    "AGENTS",
    "DDPG",
    "ICNN",
    "NAF",
    "PAPER_AGENTS",
    "SAC",
    "TD3",
    "AgentError",
    "AgentSpec",
    "agent_name_of",
    "agent_spec",
    "load_agent",
    "saved_agent_name",
    "saved_policy_class",
]
