"""The ICNN agent's policy: Q(s, a) = −f(s, a) with f a PICNN convex in a, acting by convex argmin.

Greedy action (the paper's entropy-regularised argmax, actions in [−1, 1], p = (a + 1)/2):

    π(s) = argmin_a F(s, a),   F(s, a) = f(s, a) − ε·H(p),

solved by :func:`icnn_rl.convex.solve` with the acting :class:`~icnn_rl.convex.SolverConfig`;
the TD target's max over a' uses the target network and the target solver settings.

Amortised, certified argmin (``proposal="mlp"``): a network π_φ(s) ∈ (−1, 1)ᵈ proposes the
argmin and both solves start there (``proposal="none"``: at the centre of the box). The first
network pass at the start gives f and g = ∇_a f there, hence the one-cut certificate
(:mod:`icnn_rl.convex.certificate`): a row whose certified gap is within the solver's tolerance
keeps its start, the others go on by bundle entropy from that cut until the same rule stops them
(or ``max_iter``; such rows are counted as not within tolerance). The gap bounds the error of
max_a Q, so the tolerance (``atol``) is in units of Q.

π_φ is fitted to the argmin that the TD target needs, that of the target network, from the
gradient the certificate pass has already computed: after every Q update, one optimizer step on
mean_s' F_target(s', π_φ(s')) over the minibatch's next states, whose gradient to φ is
J_φ(s')ᵀ ∇_a F_target(s', π_φ(s')), with ∇_a F = g + (ε/2)·log(p/(1 − p)). No extra pass of the
PICNN is spent on fitting, and the target network's slow updates play the role of a target copy
of π_φ. Acting starts at π_φ(s) on the online network. With ``double_q`` the TD target's argmin is
the online network's, and π_φ is fitted to that one.

Twin critics (``twin_q``, the clipped double Q of TD3, Fujimoto et al. 2018): the Q-network holds two
PICNNs f₁, f₂ (:class:`TwinPICNN`), both regressed on one TD target

    y = r + γ (1 − done) min_k Q_target,k(s', a'),   a' = argmin_a f_target,1(s', a) − ε·H(p),

so the error of one critic at its own maximiser is not bootstrapped; acting and both argmins use f₁.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from icnn_rl.agents.common import GreedyQPolicy, mlp
from icnn_rl.convex import (
    PICNN,
    SolverConfig,
    SolveResult,
    attach_projection,
    binary_entropy,
    rl_picnn,
    solve_from,
)
from icnn_rl.convex.picnn import convex_activation

ACTION_BOUNDS = (-1.0, 1.0)
PROPOSALS = ("mlp", "none")
PENDING_ENTROPY_WEIGHT = 1.0   # ε of the argmins while the rule has not fixed it yet (the paper's)
# The agent's argmin settings, those of configs/icnn.yaml (docs/icnn_agent.md, ICNN's argmin): at most 30
# evaluations, a certified gap within 0.01 in units of Q, proximal steps. A solver dict given to the
# policy overrides these keys; the rest are SolverConfig's.
SOLVER_SETTINGS = {"max_iter": 30, "tol": 0.0, "atol": 0.01, "proximal": 3.0}
_INSIDE = 1e-6   # proposals stay this far inside the box (the entropy's gradient is infinite on it)


class TwinPICNN(nn.Module):
    """Two PICNN critics f₁, f₂ of the same shape (``twin_q``). The argmins see f₁ only: the module
    is f₁ to every caller (``forward``, ``condition``, ``epigraph_terms``, sizes: any PICNN attribute
    it does not define is f₁'s), and :meth:`both` gives [f₁, f₂] for the loss and the TD target's min."""

    def __init__(self, first: PICNN, second: PICNN) -> None:
        super().__init__()
        self.first, self.second = first, second

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)   # parameters, buffers, submodules
        except AttributeError:
            return getattr(super().__getattr__("first"), name)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.first(x, y)

    def both(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """[f₁(x, y), f₂(x, y)]: [2, B]."""
        return torch.stack((self.first(x, y), self.second(x, y)))


def solve_summary(kind: str, result: SolveResult) -> dict[str, float]:
    """TensorBoard scalars of one solve (``kind``: ``act`` or ``target``): evaluations per row, the
    share of rows within tolerance, the share certified at the start (one evaluation), gap statistics."""
    gap = result.gap.double()
    stats = {
        f"train/solver_{kind}_iterations": result.iterations.double().mean().item(),
        f"train/solver_{kind}_within_tol": result.converged.double().mean().item(),
        f"train/solver_{kind}_first_cut": (result.converged & (result.iterations == 1)).double().mean().item(),
        f"train/solver_{kind}_gap_mean": gap.mean().item(),
    }
    if len(gap) > 1:
        for q, value in zip((50, 90, 99), torch.quantile(gap, torch.tensor([0.5, 0.9, 0.99], dtype=gap.dtype))):
            stats[f"train/solver_{kind}_gap_p{q}"] = value.item()
    return stats


class ICNNPolicy(GreedyQPolicy):
    """Greedy policy of a PICNN energy f(s, a); exploration comes from the algorithm's action noise.

    :param act_solver: :class:`SolverConfig` fields for acting (``predict``, every env step), but
        ``entropy_weight``, laid over ``SOLVER_SETTINGS``.
    :param target_solver: :class:`SolverConfig` fields for max_a' Q_target(s', a') in the TD target,
        but ``entropy_weight``, laid over ``SOLVER_SETTINGS``.
    :param entropy_weight: ε of both argmins and of the entropy bonus: it defines the learned value,
        so both solvers share it and this is its only home. ``None``: not fixed yet
        (:class:`~agents.icnn.algo.ICNN` applies its rule at the first update, then
        :meth:`set_entropy_weight`); until then the argmins use ``PENDING_ENTROPY_WEIGHT``.
    :param entropy_bonus: learn the paper's entropy-augmented value Q(s, a) + ε·H(p) instead of Q.
    :param proposal: ``mlp``: both solves start at a fitted proposal π_φ (module docstring);
        ``none``: they start at the centre of the box (the paper's a0 = 0).
    :param proposal_hidden: hidden sizes of the proposal network (ReLU, tanh output).
    :param double_q: the TD target's action is the online network's argmin, valued by the target
        network (Double DQN, van Hasselt et al. 2016), instead of the target network's own argmin.
    :param twin_q: two critics fitted to one target that takes the smaller of their target values
        (module docstring); ``False``: the paper's single critic.
    :param net_kwargs: :func:`icnn_rl.convex.rl_picnn` arguments (``negative_slope``, ``batch_norm``, ...).
    """

    q_net: PICNN | TwinPICNN
    q_net_target: PICNN | TwinPICNN

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        hidden: tuple[int, ...] | list[int] = (200, 200),
        act_solver: dict[str, Any] | None = None,
        target_solver: dict[str, Any] | None = None,
        entropy_weight: float | None = None,
        entropy_bonus: bool = True,
        proposal: str = "mlp",
        proposal_hidden: tuple[int, ...] | list[int] = (200, 200),
        double_q: bool = False,
        twin_q: bool = True,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        **net_kwargs: Any,
    ) -> None:
        self.check_arguments(proposal, act_solver, target_solver, double_q, **net_kwargs)
        self.twin_q = twin_q   # read by make_q_net, which the base class calls
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            hidden,
            optimizer_class,
            optimizer_kwargs,
            **net_kwargs,
        )
        act_solver, target_solver = dict(act_solver or {}), dict(target_solver or {})
        saved = {act_solver.pop("entropy_weight", None), target_solver.pop("entropy_weight", None)}
        if saved != {None}:
            # A model saved before ε was this argument holds it in both solver dicts instead (the
            # trained runs that docs/icnn_agent.md's argmin and Q-bias studies load).
            if entropy_weight is not None or len(saved) != 1:
                raise ValueError("set ε once, as entropy_weight, not in act_solver or target_solver")
            (entropy_weight,) = saved
        self.entropy_weight = entropy_weight
        self._solvers = {kind: SolverConfig.from_dict({**SOLVER_SETTINGS, **settings})
                         for kind, settings in (("act", act_solver), ("target", target_solver))}
        self.entropy_bonus = entropy_bonus
        self.double_q = double_q
        self.proposal_kind = proposal
        self.proposal_hidden = tuple(int(h) for h in proposal_hidden)
        self.proposal: nn.Sequential | None = None
        self.proposal_optimizer: torch.optim.Optimizer | None = None
        if proposal == "mlp":
            self.proposal = self.make_proposal().to(self.device)
            self.proposal_optimizer = self.optimizer_class(
                self.proposal.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
            )
        self._fit_batch: tuple[torch.Tensor, torch.Tensor] | None = None   # (s', ∇_a F at π_φ(s'))
        self._act_logs: defaultdict[str, list[float]] = defaultdict(lambda: [0.0, 0])   # key: [sum, count]
        # Keep W^(z) >= 0 (convexity in a) after every optimizer step.
        attach_projection(self.optimizer, self.q_net)

    @classmethod
    def check_arguments(cls, proposal: str = "mlp", act_solver: dict[str, Any] | None = None,
                        target_solver: dict[str, Any] | None = None, double_q: bool = False,
                        **net_kwargs: Any) -> None:
        """``ValueError`` for an argument value this policy refuses (other keywords are ignored but
        the network's ``activation``, ``negative_slope`` and ``batch_norm``), without building it."""
        if proposal not in PROPOSALS:
            raise ValueError(f"proposal={proposal!r} is unknown; valid: {', '.join(PROPOSALS)}")
        act, target = SolverConfig.from_dict(act_solver or {}), SolverConfig.from_dict(target_solver or {})
        if act.entropy_weight != target.entropy_weight:
            raise ValueError("act_solver and target_solver must share entropy_weight (ε defines the learned value)")
        if double_q and net_kwargs.get("batch_norm"):
            raise ValueError("double_q needs batch_norm: false (the online argmin would update BatchNorm statistics)")
        convex_activation(net_kwargs.get("activation", "leaky_relu"), net_kwargs.get("negative_slope", 0.01))

    def set_entropy_weight(self, epsilon: float) -> None:
        """Fix ε of both argmins (and so of the entropy bonus and the learned value)."""
        self.entropy_weight = epsilon

    @property
    def act_solver(self) -> SolverConfig:
        """The acting argmin's settings, with today's ε."""
        return self._with_entropy_weight(self._solvers["act"])

    @property
    def target_solver(self) -> SolverConfig:
        """The TD target's argmin settings, with today's ε."""
        return self._with_entropy_weight(self._solvers["target"])

    def _with_entropy_weight(self, config: SolverConfig) -> SolverConfig:
        epsilon = PENDING_ENTROPY_WEIGHT if self.entropy_weight is None else self.entropy_weight
        return replace(config, entropy_weight=epsilon)

    def make_q_net(self) -> PICNN | TwinPICNN:
        def picnn() -> PICNN:
            return rl_picnn(self.obs_dim, self.act_dim, self.hidden, **self.net_kwargs)
        return TwinPICNN(picnn(), picnn()) if self.twin_q else picnn()

    def make_proposal(self) -> nn.Sequential:
        """obs → proposal_hidden (ReLU) → d, tanh; the last layer starts small, so the first
        proposals sit near the centre of the box (where ``proposal="none"`` starts)."""
        net = mlp(self.obs_dim, self.proposal_hidden, self.act_dim)
        nn.init.uniform_(net[-1].weight, -3e-3, 3e-3)
        nn.init.zeros_(net[-1].bias)
        return nn.Sequential(*net, nn.Tanh())

    def start(self, obs: torch.Tensor) -> torch.Tensor:
        """Where both solves start: π_φ(s) strictly inside the box (tanh can round to ±1 in
        float32), or the centre without a proposal."""
        if self.proposal is None:
            return obs.new_zeros(obs.shape[0], self.act_dim)
        return self.proposal(obs).clamp(ACTION_BOUNDS[0] + _INSIDE, ACTION_BOUNDS[1] - _INSIDE)

    def q_values(self, net: nn.Module, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Q(s, a) = −f(s, a), plus ε·H((a + 1)/2) with the entropy bonus; [B], or [2, B] (Q₁, Q₂)
        with twin critics."""
        q = -(net.both(obs, actions) if isinstance(net, TwinPICNN) else net(obs, actions))
        if self.entropy_bonus:
            q = q + self.target_solver.entropy_weight * binary_entropy((actions + 1.0) / 2.0)
        return q

    def next_values(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Q_target(s', a') at a' = argmin_a f(s', a) − ε·H, batched over the minibatch, where f is
        the target network's (or with ``double_q`` the online network's); with ``twin_q`` the
        smaller of the two target critics' values at a'.

        Without ``double_q`` the solver's objective is f_target,1(s', a') − ε·H(p'), so the
        entropy-augmented value is −objective and the plain one −objective − ε·H(p') (no second
        pass of that network; ``twin_q`` adds one of the second critic); with it, a forward pass of
        the target network at a'. Keeps the certificate pass's gradient at the start for
        :meth:`after_update`.
        """
        start = self.start(obs)
        net = self.q_net if self.double_q else self.q_net_target
        result, start_objective, start_grad = self.certified_solve(net, obs, start, self.target_solver)
        if self.double_q:
            with self.times.phase("network"):
                values = self.q_values(self.q_net_target, obs, result.y)
            if self.twin_q:
                values = values.min(dim=0).values
        else:
            values = -result.objective
            if not self.entropy_bonus:
                values = values - self.target_solver.entropy_weight * binary_entropy((result.y + 1.0) / 2.0)
            if self.twin_q:
                with self.times.phase("network"):
                    values = torch.minimum(values, self.q_values(self.q_net_target.second, obs, result.y))
        logs = solve_summary("target", result)
        if self.proposal is not None:
            self._fit_batch = (obs, start_grad)
            logs["train/proposal_objective"] = start_objective.mean().item()
        return values, logs

    def _predict(self, observation: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        obs = observation.float()
        result, _, _ = self.certified_solve(self.q_net, obs, self.start(obs), self.act_solver)
        for key, value in solve_summary("act", result).items():
            total = self._act_logs[key]
            total[0] += value
            total[1] += 1
        return result.y

    def certified_solve(self, net: PICNN, obs: torch.Tensor, start: torch.Tensor,
                        config: SolverConfig) -> tuple[SolveResult, torch.Tensor, torch.Tensor]:
        """argmin_a F(s, a) from ``start`` (:func:`~icnn_rl.convex.solve_from`); also F and ∇_a F at
        ``start``."""
        with torch.no_grad(), self.times.phase("network"):
            energy = net.condition(obs)
        result, certificate, g0 = solve_from(energy, start, config, ACTION_BOUNDS, self.times)
        p0 = (start + 1.0) / 2.0
        start_grad = g0 + 0.5 * config.entropy_weight * (torch.log(p0) - torch.log1p(-p0))
        return result._replace(y=result.y.clamp(*ACTION_BOUNDS)), certificate.objective, start_grad

    def after_update(self, observations: torch.Tensor, tau: float) -> dict[str, float]:
        """Fit the proposal (module docstring): one optimizer step along J_φᵀ ∇_a F_target at the
        TD target's starts. Also hands over the acting solves' statistics since the last update."""
        logs = {key: total / count for key, (total, count) in self._act_logs.items()}
        self._act_logs.clear()
        if self._fit_batch is None:
            return logs
        next_obs, grad = self._fit_batch
        self._fit_batch = None
        with self.times.phase("network"):
            surrogate = (self.start(next_obs) * grad).sum(1).mean()   # its gradient is the mean of J_φᵀ ∇_a F
            self.proposal_optimizer.zero_grad()
            surrogate.backward()
            self.proposal_optimizer.step()
        return logs

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        solver_settings = {kind: {key: value for key, value in config.to_dict().items() if key != "entropy_weight"}
                           for kind, config in self._solvers.items()}
        data.update(
            act_solver=solver_settings["act"],
            target_solver=solver_settings["target"],
            entropy_weight=self.entropy_weight,
            entropy_bonus=self.entropy_bonus,
            proposal=self.proposal_kind,
            proposal_hidden=self.proposal_hidden,
            double_q=self.double_q,
            twin_q=self.twin_q,
        )
        return data


MlpPolicy = ICNNPolicy
