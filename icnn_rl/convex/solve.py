"""The front door of the convex core: one solver configuration, ``solve`` and ``argmin``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import torch
from torch import Tensor, nn

from .bundle_entropy import bundle_argmin_implicit, bundle_entropy
from .first_order import METHODS as FIRST_ORDER_METHODS
from .first_order import first_order
from .problem import Bounds, Energy, SolveResult, binary_entropy, check_bounds, check_start, default_start
from .validation import check_finite

SOLVER_METHODS: tuple[str, ...] = ("bundle_entropy", *FIRST_ORDER_METHODS)
GRAD_MODES: tuple[str, ...] = ("none", "unroll", "implicit")


@dataclass(frozen=True)
class SolverConfig:
    """How to compute argmin_y f(x, y) − ε·H(p); saved with every model that acts by argmin.

    :param method: ``bundle_entropy`` or a first-order method (``pgd``, ``nesterov``, ``adam``, ``paper_adam``).
    :param max_iter: energy evaluations per row at most (bundle cuts or gradient steps).
    :param tol: stopping tolerance (bundle: relative certified gap; first-order: step size in y).
    :param lr: step size of the first-order methods.
    :param momentum: Nesterov momentum μ.
    :param entropy_weight: ε, the weight of the entropy barrier (the paper uses 1).
    :param prune: bundle entropy drops cuts with a zero multiplier after each sub-problem.
    """

    method: str = "bundle_entropy"
    max_iter: int = 30
    tol: float = 1e-6
    lr: float = 0.01
    momentum: float = 0.9
    entropy_weight: float = 1.0
    prune: bool = False

    def __post_init__(self) -> None:
        if self.method not in SOLVER_METHODS:
            raise ValueError(f"solver method {self.method!r} is unknown; valid: {', '.join(SOLVER_METHODS)}")
        if int(self.max_iter) < 1 or self.tol < 0 or self.lr <= 0 or self.entropy_weight < 0:
            raise ValueError(f"invalid solver settings {self}: need max_iter >= 1, tol >= 0, lr > 0, "
                             "entropy_weight >= 0")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SolverConfig:
        """Build from a dict, rejecting unknown keys by name."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown solver setting(s) {unknown}; valid: {sorted(names)}")
        return cls(**d)


def solve(energy: Energy, y0: Tensor, config: SolverConfig = SolverConfig(),
          bounds: Bounds | None = (0.0, 1.0)) -> SolveResult:
    """argmin_y energy(y) − ε·H(p) for every row of ``y0`` (a warm start inside the box).

    No gradient flows to the energy's parameters; see :func:`argmin` for differentiable solves.
    """
    check_start(y0, bounds)
    return _solve(energy, y0, config, bounds)


def _solve(energy: Energy, y0: Tensor, config: SolverConfig, bounds: Bounds | None) -> SolveResult:
    if config.method == "bundle_entropy":
        if bounds is None:
            raise ValueError("bundle_entropy needs a box (bounds); use a first-order method when unconstrained")
        result, _ = bundle_entropy(energy, y0, max_iter=config.max_iter, tol=config.tol,
                                   entropy_weight=config.entropy_weight, bounds=bounds, prune=config.prune)
        return result
    return first_order(energy, y0, method=config.method, max_iter=config.max_iter, lr=config.lr,
                       tol=config.tol, momentum=config.momentum, entropy_weight=config.entropy_weight,
                       bounds=bounds)


def argmin(net: nn.Module, x: Tensor, y0: Tensor | None = None, config: SolverConfig = SolverConfig(),
           bounds: Bounds | None = (0.0, 1.0), grad: Literal["none", "unroll", "implicit"] = "none") -> SolveResult:
    """ŷ(x) = argmin_y net(x, y) − ε·H(p), batched over the rows of x.

    :param net: a convex-core network (``condition(x)`` gives the energy in y).
    :param y0: warm start [B, n] inside the box (default: the box's centre, or 0 when unconstrained).
    :param grad: ``none`` (no graph), ``unroll`` (backprop through the first-order steps) or
        ``implicit`` (bundle entropy's KKT adjoint). Otherwise ``result.y`` carries gradients to
        the net's parameters and to x.
    """
    if grad not in GRAD_MODES:
        raise ValueError(f"grad={grad!r} is not a differentiation mode; valid: {', '.join(GRAD_MODES)}")
    check_finite(x, "x")
    check_bounds(bounds)
    y_dim = int(net.y_dim)
    if y0 is None:
        y0 = default_start(x.shape[0], y_dim, bounds, x)
    check_start(y0, bounds)
    if y0.shape != (x.shape[0], y_dim):
        raise ValueError(f"y0 has shape {tuple(y0.shape)}; expected [{x.shape[0]}, {y_dim}] for this x and net")
    if grad == "none":
        with torch.no_grad():
            energy = net.condition(x)
        return _solve(energy, y0, config, bounds)
    energy = net.condition(x)
    if grad == "unroll":
        if config.method == "bundle_entropy":
            raise ValueError("grad='unroll' needs a first-order method; bundle_entropy differentiates "
                             "with grad='implicit'")
        return first_order(energy, y0, method=config.method, max_iter=config.max_iter, lr=config.lr,
                           tol=config.tol, momentum=config.momentum, entropy_weight=config.entropy_weight,
                           bounds=bounds, unroll=True)
    if config.method != "bundle_entropy" or bounds is None:
        raise ValueError("grad='implicit' differentiates the bundle entropy method on a box; "
                         "set method='bundle_entropy' and bounds")
    with torch.no_grad():
        fixed = net.condition(x)
    result, bundle = bundle_entropy(fixed, y0, max_iter=config.max_iter, tol=config.tol,
                                    entropy_weight=config.entropy_weight, bounds=bounds, prune=config.prune)
    y = bundle_argmin_implicit(energy, bundle, entropy_weight=config.entropy_weight, bounds=bounds, dtype=y0.dtype)
    with torch.no_grad():
        p = (y - bounds[0]) / (bounds[1] - bounds[0])
        objective = fixed(y) - config.entropy_weight * binary_entropy(p)
    return SolveResult(y, objective, result.iterations, result.converged)
