"""NAF: normalized advantage functions (Gu, Lillicrap, Sutskever, Levine 2016), the ICNN paper's baseline."""

from __future__ import annotations

from typing import ClassVar

from stable_baselines3.common.policies import BasePolicy

from agents.common import GreedyQAlgorithm
from agents.naf.policies import MlpPolicy, NAFPolicy


class NAF(GreedyQAlgorithm):
    """Q-learning with NAF's quadratic Q-network; the TD target is r + γ (1 − done) V_target(s').

    Unlike the usual public PyTorch NAF (rl_anchors.md §2): the discount multiplies the whole
    bootstrap term, time-outs bootstrap unless asked otherwise, and V_target is the soft-updated
    target copy of the whole network. Parameters: :class:`agents.common.GreedyQAlgorithm`.
    """

    policy: NAFPolicy
    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": MlpPolicy}
