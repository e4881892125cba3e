"""NAF: normalized advantage functions (Gu, Lillicrap, Sutskever, Levine 2016), the ICNN paper's baseline."""

from __future__ import annotations

from typing import ClassVar

from stable_baselines3.common.policies import BasePolicy

from icnn_rl.agents.common import GreedyQAlgorithm
from icnn_rl.agents.naf.policies import MlpPolicy, NAFPolicy


class NAF(GreedyQAlgorithm):
    """Q-learning with NAF's quadratic Q-network; the TD target is r + γ (1 − done) V_target(s').

    Unlike the widely copied PyTorch NAF (ikostrikov/pytorch-ddpg-naf, ``naf.py``): the discount
    multiplies the whole bootstrap term, time-outs bootstrap unless asked otherwise, and V_target is
    the soft-updated target copy of the whole network. Parameters:
    :class:`icnn_rl.agents.common.GreedyQAlgorithm`.
    """

    policy: NAFPolicy
    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": MlpPolicy}
