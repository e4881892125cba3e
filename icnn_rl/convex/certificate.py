"""A certified optimality gap for any candidate, from one forward and backward pass.

Problem (:mod:`icnn_rl.convex.problem`): min_y F(y) = f(y) − ε·H(p) over a box, p = (y − lo)/(hi − lo).
At a candidate p with g = ∇_p f(p), convexity makes the cut f(p) + gᵀ(p′ − p) a lower bound on f, so

    L = min_p′ f(p) + gᵀ(p′ − p) − ε·H(p′) = f(p) − gᵀp − ε Σ_j softplus(−g_j/ε)

is a lower bound on min F (its minimiser is p′ = σ(−g/ε)), and the certified gap is

    gap = F(p) − L = ε Σ_j KL(p_j ‖ σ(−g_j/ε)) >= F(p) − min F >= 0,

with KL the Bernoulli relative entropy: 0 exactly when p is the argmin. With ε = 0 (a box, no
barrier) the cut's minimum over the box gives L = f(p) − gᵀp + Σ_j min(g_j, 0). This is the first
iteration of the bundle entropy method (one cut, dual multiplier 1), which is why a candidate
that certifies costs one network pass and nothing else.

Tolerance: a row is *within tolerance* when gap <= atol + tol·(1 + |F|) (:func:`within_tolerance`);
the bundle entropy method stops rows by the same rule.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .problem import Bounds, Energy, binary_entropy, check_start, value_and_grad


class Certificate(NamedTuple):
    """Per row: the objective F at the candidate, a lower bound on min F, and their difference."""

    objective: Tensor  # [B] F(y) = f(y) − ε·H(p)
    lower: Tensor      # [B] certified lower bound on min_y F
    gap: Tensor        # [B] objective − lower >= F(y) − min F >= 0


def within_tolerance(gap: Tensor, objective: Tensor, tol: float, atol: float) -> Tensor:
    """The stopping rule of every certified solve: gap <= atol + tol·(1 + |F|), per row."""
    return gap <= atol + tol * (1 + objective.abs())


def cut_certificate(f: Tensor, grad_p: Tensor, p: Tensor, entropy_weight: float) -> Certificate:
    """The certificate of candidates p [B, n] on the unit box from f(p) [B] and g = ∇_p f(p) [B, n].

    Computed in float64 (the gap is a small difference of larger terms); returns float64.
    """
    f, g, p = f.double(), grad_p.double(), p.double()
    eps = float(entropy_weight)
    if eps > 0:
        objective = f - eps * binary_entropy(p)
        kl = (torch.special.xlogy(p, p) + torch.special.xlogy(1 - p, 1 - p)
              + p * F.softplus(g / eps) + (1 - p) * F.softplus(-g / eps))
        gap = eps * kl.sum(-1)
    else:
        objective = f
        gap = (g * p - g.clamp(max=0.0)).sum(-1)
    gap = gap.clamp_min(0.0)   # >= 0 in exact arithmetic; rounding can give -1e-16
    return Certificate(objective, objective - gap, gap)


def certify(energy: Energy, y: Tensor, *, entropy_weight: float = 1.0,
            bounds: Bounds = (0.0, 1.0)) -> Certificate:
    """The certified gap of candidates ``y`` [B, n] (inside the box) for min_y energy(y) − ε·H(p).

    One forward and one backward pass of ``energy`` (e.g. ``net.condition(x)``); any device.
    """
    if entropy_weight < 0:
        raise ValueError(f"entropy_weight={entropy_weight} must be >= 0")
    if bounds is None:
        raise ValueError("certify needs a box (bounds=(lo, hi)); the cut's minimum is unbounded without one")
    check_start(y, bounds)
    lo, span = float(bounds[0]), float(bounds[1]) - float(bounds[0])
    f, grad_y = value_and_grad(energy, y)
    return cut_certificate(f, grad_y * span, (y - lo) / span, entropy_weight)
