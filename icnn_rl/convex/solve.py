"""The front door of the convex core: one solver configuration, ``solve`` and ``argmin``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import torch
from torch import Tensor, nn

from .bundle_entropy import bundle_argmin_implicit, bundle_entropy
from .certificate import Certificate, cut_certificate, within_tolerance
from .first_order import METHODS as FIRST_ORDER_METHODS
from .first_order import first_order
from .problem import (
    Bounds,
    Energy,
    SolveResult,
    binary_entropy,
    check_bounds,
    check_start,
    default_start,
    value_and_grad,
)
from .timing import PhaseTimes, timed
from .validation import check_finite

SOLVER_METHODS: tuple[str, ...] = ("bundle_entropy", *FIRST_ORDER_METHODS)
GRAD_MODES: tuple[str, ...] = ("none", "unroll", "implicit")


@dataclass(frozen=True)
class SolverConfig:
    """How to compute argmin_y f(x, y) − ε·H(p); saved with every model that acts by argmin.

    :param method: ``bundle_entropy`` or a first-order method (``pgd``, ``nesterov``, ``adam``, ``paper_adam``).
    :param max_iter: energy evaluations per row at most (bundle cuts or gradient steps).
    :param tol: stopping tolerance (bundle: relative certified gap; first-order: step size in y).
    :param atol: bundle entropy's absolute certified-gap tolerance, in units of the objective: a row
        stops when gap <= atol + tol·(1 + |F|) (:func:`~icnn_rl.convex.certificate.within_tolerance`).
    :param lr: step size of the first-order methods.
    :param momentum: Nesterov momentum μ.
    :param entropy_weight: ε, the weight of the entropy barrier (the paper uses 1).
    :param prune: bundle entropy drops cuts with a zero multiplier after each sub-problem.
    :param proximal: bundle entropy's proximal weight μ/ε: each step minimises the cutting-plane
        model − εH(p) + μ·KL(p ‖ p̂) around the best point p̂ so far, with the same certificate
        (:mod:`~icnn_rl.convex.bundle_entropy`); 0 is the paper's plain step. Not with
        ``grad='implicit'``, whose adjoint is the plain sub-problem's.
    """

    method: str = "bundle_entropy"
    max_iter: int = 30
    tol: float = 1e-6
    atol: float = 0.0
    lr: float = 0.01
    momentum: float = 0.9
    entropy_weight: float = 1.0
    prune: bool = False
    proximal: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in SOLVER_METHODS:
            raise ValueError(f"solver method {self.method!r} is unknown; valid: {', '.join(SOLVER_METHODS)}")
        if (int(self.max_iter) < 1 or self.tol < 0 or self.atol < 0 or self.lr <= 0 or self.entropy_weight < 0
                or self.proximal < 0):
            raise ValueError(f"invalid solver settings {self}: need max_iter >= 1, tol >= 0, atol >= 0, "
                             "lr > 0, entropy_weight >= 0, proximal >= 0")

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
          bounds: Bounds | None = (0.0, 1.0), times: PhaseTimes | None = None,
          first_cut: tuple[Tensor, Tensor] | None = None) -> SolveResult:
    """argmin_y energy(y) − ε·H(p) for every row of ``y0`` (a warm start inside the box).

    No gradient flows to the energy's parameters; see :func:`argmin` for differentiable solves.
    ``times`` receives bundle entropy's seconds in ``network`` and ``subproblem``. ``first_cut``
    (f(y0), ∇_y f(y0)), if the caller has them, saves bundle entropy its first evaluation; its
    first iteration is then the certificate of ``y0`` (:mod:`~icnn_rl.convex.certificate`) at no cost.
    """
    check_start(y0, bounds)
    return _solve(energy, y0, config, bounds, times, first_cut)


def _solve(energy: Energy, y0: Tensor, config: SolverConfig, bounds: Bounds | None,
           times: PhaseTimes | None = None, first_cut: tuple[Tensor, Tensor] | None = None) -> SolveResult:
    if config.method == "bundle_entropy":
        if bounds is None:
            raise ValueError("bundle_entropy needs a box (bounds); use a first-order method when unconstrained")
        result, _ = bundle_entropy(energy, y0, max_iter=config.max_iter, tol=config.tol, atol=config.atol,
                                   entropy_weight=config.entropy_weight, bounds=bounds, prune=config.prune,
                                   proximal=config.proximal, times=times, first_cut=first_cut)
        return result
    return first_order(energy, y0, method=config.method, max_iter=config.max_iter, lr=config.lr,
                       tol=config.tol, momentum=config.momentum, entropy_weight=config.entropy_weight,
                       bounds=bounds)


def solve_from(energy: Energy, y0: Tensor, config: SolverConfig = SolverConfig(),
               bounds: Bounds = (0.0, 1.0),
               times: PhaseTimes | None = None) -> tuple[SolveResult, Certificate, Tensor]:
    """argmin_y energy(y) − ε·H(p) from candidates ``y0`` (e.g. a network's proposals), certified first.

    One network pass at ``y0`` gives each row's one-cut certificate
    (:mod:`~icnn_rl.convex.certificate`); rows within tolerance (``config.tol``, ``config.atol``)
    keep their candidate (1 evaluation, ``converged``), and only the others are solved by
    ``config``, warm-started at their candidate (bundle entropy reuses its cut) and stopped by the
    same rule. Returns the result, the candidates' certificate and ∇_y f(y0) [B, n] (e.g. to fit
    the proposals). No gradient flows to the energy's parameters.
    """
    check_start(y0, bounds)
    if bounds is None:
        raise ValueError("solve_from certifies candidates on a box; pass bounds=(lo, hi)")
    lo, span = float(bounds[0]), float(bounds[1]) - float(bounds[0])
    with timed(times, "network"):
        f0, g0 = value_and_grad(energy, y0)
    certificate = cut_certificate(f0, g0 * span, (y0 - lo) / span, config.entropy_weight)
    kept = within_tolerance(certificate.gap, certificate.objective, config.tol, config.atol)
    result = SolveResult(y0.detach(), certificate.objective.to(y0.dtype), torch.ones_like(kept, dtype=torch.long),
                         kept, certificate.gap.to(y0.dtype))
    if bool(kept.all()):
        return result, certificate, g0
    rows = (~kept).nonzero().squeeze(1)
    if hasattr(energy, "rows"):
        rest = _solve(energy.rows(rows), y0[rows], config, bounds, times, first_cut=(f0[rows], g0[rows]))
    else:   # an energy that cannot be restricted is solved on every row and the kept rows restored
        rest = _solve(energy, y0, config, bounds, times, first_cut=(f0, g0))
        rest = SolveResult(*(None if t is None else t[rows] for t in rest))
    merged = [whole.index_copy(0, rows, part.to(whole.dtype)) for whole, part in zip(result, rest)]
    return SolveResult(*merged), certificate, g0


def argmin(net: nn.Module, x: Tensor, y0: Tensor | None = None, config: SolverConfig = SolverConfig(),
           bounds: Bounds | None = (0.0, 1.0), grad: Literal["none", "unroll", "implicit"] = "none",
           times: PhaseTimes | None = None) -> SolveResult:
    """ŷ(x) = argmin_y net(x, y) − ε·H(p), batched over the rows of x.

    :param net: a convex-core network (``condition(x)`` gives the energy in y).
    :param y0: warm start [B, n] inside the box (default: the box's centre, or 0 when unconstrained).
    :param grad: ``none`` (no graph), ``unroll`` (backprop through the first-order steps) or
        ``implicit`` (bundle entropy's KKT adjoint). Otherwise ``result.y`` carries gradients to
        the net's parameters and to x.
    :param times: receives the seconds spent in ``network`` (including conditioning on x) and in
        bundle entropy's ``subproblem``.
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
        with torch.no_grad(), timed(times, "network"):
            energy = net.condition(x)
        return _solve(energy, y0, config, bounds, times)
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
    if config.proximal != 0:
        raise ValueError(f"grad='implicit' differentiates the plain bundle sub-problem; proximal={config.proximal} "
                         "steps end at other multipliers: set proximal=0")
    with torch.no_grad():
        fixed = net.condition(x)
    result, bundle = bundle_entropy(fixed, y0, max_iter=config.max_iter, tol=config.tol, atol=config.atol,
                                    entropy_weight=config.entropy_weight, bounds=bounds, prune=config.prune)
    y = bundle_argmin_implicit(energy, bundle, entropy_weight=config.entropy_weight, bounds=bounds, dtype=y0.dtype)
    with torch.no_grad():
        p = (y - bounds[0]) / (bounds[1] - bounds[0])
        objective = fixed(y) - config.entropy_weight * binary_entropy(p)
    return SolveResult(y, objective, result.iterations, result.converged, result.gap)
