"""What the two paths of the bundle entropy method share: the per-row state of a solve, its
settings, and the constants of the dual's Newton method and of the proximal weight's rule.

:func:`icnn_rl.convex.bundle_entropy.bundle_entropy` builds one :class:`BundleState` and updates
it in place, either with tensor operations (any device) or, on the CPU, in the compiled loops of
:mod:`icnn_rl.convex.compiled_bundle`, which take the same structure with NumPy views of the
tensors. Both read their constants from here, so the two paths cannot drift apart.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from torch import Tensor

# The dual's projected Newton method (bundle_entropy.solve_dual): Armijo's sufficient-decrease
# constant, the candidate step sizes 1, 1/4, ..., 4^-6, and the points of the segment [λ, e_new]
# whose best is the warm start.
ARMIJO = 1e-4
STEP_SIZES = 4.0 ** -np.arange(0, 7, dtype=np.float64)
SEGMENT = np.linspace(0.0, 1.0, 17)

CENTER_CLIP = 1e-12   # p̂ is clipped into [CENTER_CLIP, 1 − CENTER_CLIP] so that logit(p̂) is finite
# The proximal weight's trust-region rule (bundle_entropy's module docstring): ρ >= RATIO_GOOD
# multiplies μ by WEIGHT_SHRINK, ρ < RATIO_POOR by WEIGHT_GROW (at least μ₀); μ <= WEIGHT_CAP·μ₀.
RATIO_GOOD, RATIO_POOR, WEIGHT_SHRINK, WEIGHT_GROW, WEIGHT_CAP = 0.5, 0.1, 0.25, 2.0, 32.0

Array = Tensor | np.ndarray   # tensors in the solver, NumPy views of them in the compiled loops


class BundleState(NamedTuple):
    """Every row's state during a solve: B rows, at most K cuts of n numbers each. Reals are
    float64 whatever the network's dtype; the solver updates every array in place."""

    G: Array            # [B, K, n] cut gradients g_i (padded slots hold anything; ``present`` says which count)
    h: Array            # [B, K]    cut offsets h_i: f(p) >= g_i·p + h_i
    points: Array       # [B, K, n] where each cut was taken
    present: Array      # [B, K]    bool: the slot holds a cut
    lam: Array          # [B, K]    dual multipliers of the last sub-problem (0 off the bundle)
    p: Array            # [B, n]    the point evaluated next
    best: Array         # [B]       the smallest objective F evaluated so far
    best_p: Array       # [B, n]    where it was evaluated (the proximal steps' centre p̂)
    active: Array       # [B]       bool: the row still iterates
    converged: Array    # [B]       bool: the row stopped within tolerance
    iterations: Array   # [B]       int64: evaluations so far
    gap: Array          # [B]       certified gap of the last sub-problem
    weight: Array       # [B]       proximal weight μ (0 with plain steps)
    model: Array        # [B]       the cutting-plane model's value at ``p`` (read by the weight's rule)


class BundleSettings(NamedTuple):
    """The solve's settings, as :func:`~icnn_rl.convex.bundle_entropy.bundle_entropy` takes them."""

    eps: float          # entropy weight ε
    tol: float          # relative part of the stopping tolerance
    atol: float         # absolute part
    newton_iter: int    # Newton iterations per sub-problem
    prune: bool         # drop cuts whose multiplier is 0
    mu0: float          # proximal weights' start μ₀ = proximal·ε (0: plain steps)
