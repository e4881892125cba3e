"""The problem every solver solves: min_y f(y) − ε·H(p) over a box, and what a solve returns.

For a box [lo, hi]^n, p = (y − lo)/(hi − lo) ∈ [0, 1]^n and H is the binary entropy

    H(p) = −Σ_j [p_j log p_j + (1 − p_j) log(1 − p_j)],

the paper's barrier: −ε·H is convex, and its gradient ε·log(p/(1−p)) keeps iterates inside the box.
``bounds=None`` means the unconstrained problem min_y f(y) (no box, no entropy).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor

from .validation import check_finite

Bounds = tuple[float, float]
Energy = Callable[[Tensor], Tensor]


def _take_rows(terms: Any, index: Tensor) -> Any:
    """``terms`` (tensors, None, and lists/tuples of them) with every tensor indexed along dim 0."""
    if isinstance(terms, Tensor):
        return terms[index]
    if isinstance(terms, (list, tuple)):
        return type(terms)(_take_rows(t, index) for t in terms)
    return terms


class ConditionedEnergy:
    """A network conditioned on x: ``energy(y) = evaluate(terms, y)`` with ``terms`` the network's
    precomputed x-only tensors, each holding one row per row of x (dim 0).

    :meth:`rows` gives the same energy on a subset of those rows; the bundle entropy method uses it
    to evaluate only the rows still running. Any ``Callable[[Tensor], Tensor]`` is a valid energy
    for the solvers; one without ``rows`` is evaluated on every row.
    """

    def __init__(self, evaluate: Callable[[Any, Tensor], Tensor], terms: Any) -> None:
        self.evaluate = evaluate
        self.terms = terms

    def __call__(self, y: Tensor) -> Tensor:
        return self.evaluate(self.terms, y)

    def rows(self, index: Tensor) -> ConditionedEnergy:
        """The energy of the rows ``index`` (a 1-D index tensor) of the conditioning batch."""
        return ConditionedEnergy(self.evaluate, _take_rows(self.terms, index))


def value_and_grad(energy: Energy, y: Tensor, rows: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """f(y) and ∇_y f(y), detached (one forward and one backward pass), for the rows ``rows`` of
    y (all when None); the other rows are 0. An energy with a ``rows`` method
    (:class:`ConditionedEnergy`) is evaluated on those rows only."""
    if rows is not None and hasattr(energy, "rows"):
        f, g = value_and_grad(energy.rows(rows), y[rows])
        return y.new_zeros(y.shape[0]).index_copy(0, rows, f), torch.zeros_like(y).index_copy(0, rows, g)
    with torch.enable_grad():
        y = y.detach().requires_grad_(True)
        f = energy(y)
        (g,) = torch.autograd.grad(f.sum(), y)
    return f.detach(), g


def binary_entropy(p: Tensor) -> Tensor:
    """H(p) = −Σ_j [p_j log p_j + (1 − p_j) log(1 − p_j)] over the last dimension (0·log 0 = 0)."""
    return -(torch.special.xlogy(p, p) + torch.special.xlogy(1 - p, 1 - p)).sum(-1)


def entropy_grad(p: Tensor) -> Tensor:
    """∂(−H)/∂p = log(p / (1 − p)), the barrier's gradient."""
    return torch.log(p) - torch.log1p(-p)


class SolveResult(NamedTuple):
    """What every solver returns, one entry per batch row.

    :param y: the (approximate) argmin, [B, n], inside the box.
    :param objective: f(y) − ε·H(p) at ``y`` (f(y) when unconstrained), [B].
    :param iterations: energy evaluations (f and ∇f) spent on the row, [B] int64.
    :param converged: the row met the solver's stopping rule before ``max_iter``, [B] bool.
    :param gap: the certified gap of ``y`` (objective minus a lower bound on the minimum, >= 0), [B];
        ``None`` for solvers that certify nothing (the first-order methods).
    """

    y: Tensor
    objective: Tensor
    iterations: Tensor
    converged: Tensor
    gap: Tensor | None = None


def check_bounds(bounds: Bounds | None) -> None:
    if bounds is None:
        return
    lo, hi = float(bounds[0]), float(bounds[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"bounds={bounds} must be finite with lo < hi")


def check_start(y0: Tensor, bounds: Bounds | None) -> None:
    """y0 must be a finite [B, n] tensor inside the box (a warm start is a point of the domain)."""
    if not isinstance(y0, Tensor) or y0.dim() != 2:
        raise ValueError(f"y0 must be a [batch, n] tensor, got "
                         f"{tuple(y0.shape) if isinstance(y0, Tensor) else type(y0).__name__}")
    check_bounds(bounds)
    if bounds is None:
        check_finite(y0, "y0")
    elif not bool(((y0 >= bounds[0]) & (y0 <= bounds[1])).all()):   # NaN fails this test too
        check_finite(y0, "y0")
        raise ValueError(f"y0 has entries outside the box [{bounds[0]}, {bounds[1]}]")


def default_start(batch: int, dim: int, bounds: Bounds | None, like: Tensor) -> Tensor:
    """The centre of the box (0 when unconstrained), the paper's y0 = 0.5 on [0, 1]."""
    centre = 0.0 if bounds is None else 0.5 * (bounds[0] + bounds[1])
    return torch.full((batch, dim), centre, dtype=like.dtype, device=like.device)
