"""ICNN-Q: Q-learning with an input convex Q-network (Amos, Xu, Kolter, ICML 2017)."""

from __future__ import annotations

from typing import Any, ClassVar

from stable_baselines3.common.policies import BasePolicy

from icnn_rl.agents.common import GreedyQAlgorithm
from icnn_rl.agents.icnn.policies import ICNNPolicy, MlpPolicy


class ICNN(GreedyQAlgorithm):
    """Q(s, a) = −f(s, a) with f a PICNN convex in a; acting and the TD target's max are convex
    argmins (:class:`agents.icnn.policies.ICNNPolicy`).

    Defaults follow the paper's RL agent (``RL/src/icnn.py`` of locuslab/icnn): TD target clipped to
    Q ± 1 (``td_clip=1.0``), entropy-augmented Q (policy kwarg ``entropy_bonus``), W^(z) projected
    after every step. Beyond the paper, both argmins start at a fitted proposal and are certified
    (policy kwarg ``proposal``). TensorBoard gets ``train/solver_{act,target}_*`` (evaluations per
    row, shares within tolerance and certified at the start, certified gaps), ``train/proposal_objective``
    and ``time/*`` (:meth:`~agents.common.GreedyQAlgorithm._record_times`).
    Parameters: :class:`agents.common.GreedyQAlgorithm`.
    """

    policy: ICNNPolicy
    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": MlpPolicy}

    def __init__(self, *args: Any, td_clip: float | None = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, td_clip=td_clip, **kwargs)

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, tensors = super()._get_torch_save_params()
        if self.policy.proposal_optimizer is not None:
            state_dicts = [*state_dicts, "policy.proposal_optimizer"]
        return state_dicts, tensors
