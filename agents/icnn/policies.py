"""The ICNN agent's policy: Q(s, a) = −f(s, a) with f a PICNN convex in a, acting by convex argmin.

Greedy action (the paper's entropy-regularised argmax, actions in [−1, 1], p = (a + 1)/2):

    π(s) = argmin_a f(s, a) − ε·H(p)

solved by :func:`icnn_rl.convex.argmin` with the acting :class:`~icnn_rl.convex.SolverConfig`;
the TD target's max over a' uses the target network and the target solver settings. Both
settings are constructor arguments, so SB3 saves them with the model.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from icnn_rl.agents.common import GreedyQPolicy
from icnn_rl.convex import (
    PICNN,
    SolverConfig,
    SolveResult,
    argmin,
    attach_projection,
    binary_entropy,
    rl_picnn,
)

ACTION_BOUNDS = (-1.0, 1.0)
WARM_STARTS = ("centre", "action")


class ICNNPolicy(GreedyQPolicy):
    """Greedy policy of a PICNN energy f(s, a); exploration comes from the algorithm's action noise.

    :param act_solver: :class:`SolverConfig` fields for acting (``predict``, every env step).
    :param target_solver: :class:`SolverConfig` fields for max_a' Q_target(s', a') in the TD target.
    :param entropy_bonus: learn the paper's entropy-augmented value Q(s, a) + ε·H(p) instead of Q.
    :param warm_start: where the TD-target solve starts: ``centre`` of the box, or the
        minibatch's stored action a (shrunk by 1 % into the open box).
    :param net_kwargs: :func:`icnn_rl.convex.rl_picnn` arguments (``negative_slope``, ``batch_norm``, ...).
    """

    q_net: PICNN
    q_net_target: PICNN

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        hidden: tuple[int, ...] | list[int] = (200, 200),
        act_solver: dict[str, Any] | None = None,
        target_solver: dict[str, Any] | None = None,
        entropy_bonus: bool = True,
        warm_start: str = "centre",
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        **net_kwargs: Any,
    ) -> None:
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            hidden,
            optimizer_class,
            optimizer_kwargs,
            **net_kwargs,
        )
        if warm_start not in WARM_STARTS:
            raise ValueError(f"warm_start={warm_start!r} is unknown; valid: {', '.join(WARM_STARTS)}")
        self.act_solver = SolverConfig.from_dict(act_solver or {})
        self.target_solver = SolverConfig.from_dict(target_solver or {})
        if self.act_solver.entropy_weight != self.target_solver.entropy_weight:
            raise ValueError(
                "act_solver and target_solver must share entropy_weight (ε defines the learned value)"
            )
        self.entropy_bonus = entropy_bonus
        self.warm_start = warm_start
        # Keep W^(z) >= 0 (convexity in a) after every optimizer step.
        attach_projection(self.optimizer, self.q_net)

    def make_q_net(self) -> PICNN:
        return rl_picnn(self.obs_dim, self.act_dim, self.hidden, **self.net_kwargs)

    def q_values(self, net: nn.Module, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Q(s, a) = −f(s, a), plus ε·H((a + 1)/2) with the entropy bonus."""
        q = -net(obs, actions)
        if self.entropy_bonus:
            q = q + self.target_solver.entropy_weight * binary_entropy((actions + 1.0) / 2.0)
        return q

    def next_values(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Q_target(s', a') at a' = argmin_a f_target(s', a) − ε·H, batched over the minibatch.

        The solver's objective is f_target(s', a') − ε·H(p'), so the entropy-augmented value is
        −objective and the plain one −objective − ε·H(p') (no second network pass).
        """
        y0 = 0.99 * actions if self.warm_start == "action" else None
        result = self._solve(self.q_net_target, obs, y0, self.target_solver)
        logs = {
            "train/solver_iterations": result.iterations.float().mean().item(),
            "train/solver_converged": result.converged.float().mean().item(),
        }
        values = -result.objective
        if not self.entropy_bonus:
            values = values - self.target_solver.entropy_weight * binary_entropy((result.y + 1.0) / 2.0)
        return values, logs

    def _predict(self, observation: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        return self._solve(self.q_net, observation.float(), None, self.act_solver).y

    @staticmethod
    def _solve(net: PICNN, obs: torch.Tensor, y0: torch.Tensor | None, config: SolverConfig) -> SolveResult:
        # SB3 runs predict() and the TD target under no_grad; the solver needs autograd in a.
        with torch.enable_grad():
            result = argmin(net, obs, y0, config, bounds=ACTION_BOUNDS)
        return result._replace(y=result.y.detach().clamp(*ACTION_BOUNDS))

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            act_solver=self.act_solver.to_dict(),
            target_solver=self.target_solver.to_dict(),
            entropy_bonus=self.entropy_bonus,
            warm_start=self.warm_start,
        )
        return data


MlpPolicy = ICNNPolicy
