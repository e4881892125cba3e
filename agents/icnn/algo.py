"""ICNN-Q: Q-learning with an input convex Q-network (Amos, Xu, Kolter, ICML 2017)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from stable_baselines3.common.policies import BasePolicy

from icnn_rl.agents.common import GreedyQAlgorithm
from icnn_rl.agents.icnn.policies import ICNNPolicy, MlpPolicy

SOLVER_KWARGS = ("act_solver", "target_solver")


def entropy_weight_rule(rewards: np.ndarray, act_dim: int, share: float) -> float:
    """ε such that the entropy bonus's largest value per step, ε·d·ln 2, is ``share`` times the
    mean |r̃| of ``rewards`` (the scaled rewards of the warm-up's uniformly random actions)."""
    scale = float(np.abs(rewards).mean()) if rewards.size else 0.0
    if not scale > 0.0:
        raise ValueError(
            "entropy_weight=None sets ε from the warm-up's rewards, but they are all 0 (or there are none); "
            "pass a number as entropy_weight, or set learning_starts >= 1 on a task with non-zero rewards"
        )
    return share * scale / (act_dim * math.log(2.0))


def check_entropy_arguments(entropy_weight: float | None = None, entropy_share: float = 2.0, **_: Any) -> None:
    """:class:`ICNN`'s checks of its entropy arguments (other keywords are ignored): ``ValueError``
    for a value it refuses."""
    if entropy_weight is not None and entropy_weight < 0:
        raise ValueError(f"entropy_weight must be >= 0 or None (the warm-up rule), got {entropy_weight}")
    if not entropy_share > 0:
        raise ValueError(f"entropy_share must be > 0, got {entropy_share}")


class ICNN(GreedyQAlgorithm):
    """Q(s, a) = −f(s, a) with f a PICNN convex in a; acting and the TD target's max are convex
    argmins (:class:`agents.icnn.policies.ICNNPolicy`).

    Defaults follow the paper's RL agent (``RL/src/icnn.py`` of locuslab/icnn): TD target clipped to
    Q ± 1 (``td_clip=1.0``), entropy-augmented Q (policy kwarg ``entropy_bonus``), W^(z) projected
    after every step. Beyond the paper, both argmins start at a fitted proposal and are certified
    (policy kwarg ``proposal``), the entropy weight ε follows one rule on every task, and two critics
    bound the TD target (policy kwarg ``twin_q``).
    TensorBoard gets ``train/solver_{act,target}_*`` (evaluations per row, shares within tolerance
    and certified at the start, certified gaps), ``train/proposal_objective``, ``train/entropy_weight``
    and ``time/*`` (:meth:`~agents.common.GreedyQAlgorithm._record_times`).

    :param entropy_weight: ε of both argmins and of the entropy bonus (the paper: 1). ``None``: the
        rule of :func:`entropy_weight_rule` on the replay buffer's rewards at the first update, so
        that the bonus stays ``entropy_share`` times the size of a random policy's scaled reward
        whatever the task's reward scale (docs/icnn_agent.md, the entropy weight). Until then (test
        episodes before the first update) the argmins use ε = 1. The policy holds ε
        (:attr:`~agents.icnn.policies.ICNNPolicy.entropy_weight`, ``None`` while the rule is pending).
    :param entropy_share: the rule's ratio of the bonus's largest value per step to the warm-up's
        mean |scaled reward|.
    Other parameters: :class:`agents.common.GreedyQAlgorithm`.
    """

    policy: ICNNPolicy
    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": MlpPolicy}

    def __init__(self, *args: Any, td_clip: float | None = 1.0, entropy_weight: float | None = None,
                 entropy_share: float = 2.0, **kwargs: Any) -> None:
        check_entropy_arguments(entropy_weight, entropy_share)
        policy_kwargs = dict(kwargs.pop("policy_kwargs", None) or {})
        if "entropy_weight" in policy_kwargs or any("entropy_weight" in (policy_kwargs.get(key) or {})
                                                    for key in SOLVER_KWARGS):
            raise ValueError("set ε with ICNN(entropy_weight=...), not in policy_kwargs: both argmins share it")
        policy_kwargs["entropy_weight"] = None if entropy_weight is None else float(entropy_weight)
        self.entropy_share = entropy_share
        super().__init__(*args, td_clip=td_clip, policy_kwargs=policy_kwargs, **kwargs)

    @classmethod
    def check_arguments(cls, kwargs: dict[str, Any], policy_kwargs: dict[str, Any]) -> None:
        check_entropy_arguments(**kwargs)
        super().check_arguments(kwargs, policy_kwargs)

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        if self.policy.entropy_weight is None:
            self._fix_entropy_weight()
        self.logger.record("train/entropy_weight", self.policy.entropy_weight)
        super().train(gradient_steps, batch_size)

    def _fix_entropy_weight(self) -> None:
        """Apply the rule once, on the transitions the buffer holds at the first update (the
        warm-up's). ``policy_kwargs`` is what SB3 saves and rebuilds the policy from at load, so it
        gets the fixed ε too."""
        assert self.replay_buffer is not None
        filled = self.replay_buffer.buffer_size if self.replay_buffer.full else self.replay_buffer.pos
        epsilon = entropy_weight_rule(self.replay_buffer.rewards[:filled], self.policy.act_dim, self.entropy_share)
        self.policy.set_entropy_weight(epsilon)
        self.policy_kwargs["entropy_weight"] = epsilon

    def set_parameters(self, load_path_or_dict: str | dict[str, Any], exact_match: bool = True,
                       device: str = "auto") -> None:
        """SB3's, which :meth:`load` calls on a freshly built policy. A model saved before twin critics
        existed records no ``twin_q`` and holds one critic: its policy is rebuilt with that one critic
        first (the one-critic runs that docs/icnn_agent.md's Q-bias measurements load)."""
        if (isinstance(load_path_or_dict, dict) and "twin_q" not in self.policy_kwargs
                and not any(key.startswith("q_net.first.") for key in load_path_or_dict.get("policy", {}))):
            self.policy_kwargs["twin_q"] = False
            self._setup_model()
        super().set_parameters(load_path_or_dict, exact_match, device)

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, tensors = super()._get_torch_save_params()
        if self.policy.proposal_optimizer is not None:
            state_dicts = [*state_dicts, "policy.proposal_optimizer"]
        return state_dicts, tensors
