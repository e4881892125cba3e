"""First-order solvers for min_y f(y) − ε·H(p) over a box, batched over rows (the paper's
gradient-based approximate inference; locuslab/icnn `RL/src/icnn.py` for its RL Adam).

Each step uses ∇F(y) = ∇f(y) + (ε/(hi − lo))·log(p/(1 − p)) and keeps y inside the box by clamping
to [lo + δ(hi − lo), hi − δ(hi − lo)] (δ = 1e-6, the barrier is infinite on the boundary). With
``bounds=None`` the problem is unconstrained min_y f(y): no entropy, no clamping.

Methods (``method``):

- ``pgd``: y <- Π(y − α ∇F(y)).
- ``nesterov``: the paper's form v' = μ v − α ∇F(y), y <- Π(y − μ v + (1 + μ) v').
- ``adam``: Adam with bias-corrected moments, y <- Π(y − α m̂ / (√v̂ + 1e-8)).
- ``paper_adam``: the original RL code's Adam: the second moment is *not* bias-corrected
  (y <- Π(y − α m̂ / (√v + 1e-8)), large early steps).

Every method returns the best iterate of each row (the paper's RL rule; free, since F is evaluated
at every iterate anyway). A row stops when max_j |y_{k+1} − y_k| < tol (its iterate is then frozen). With ``unroll=True`` the
loop builds the autograd graph through every step (``create_graph``), runs exactly ``max_iter``
steps and returns the last iterate (it must be differentiable), so gradients reach the energy's parameters and inputs:
the paper's unrolled-inference training.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .problem import Bounds, Energy, SolveResult, binary_entropy, entropy_grad

METHODS: tuple[str, ...] = ("pgd", "nesterov", "adam", "paper_adam")
_INTERIOR = 1e-6


def _objective_and_grad(energy: Energy, y: Tensor, bounds: Bounds | None, eps: float,
                        create_graph: bool) -> tuple[Tensor, Tensor]:
    """F(y) and ∇F(y); with ``create_graph`` the gradient stays differentiable."""
    with torch.enable_grad():
        if not create_graph or not y.requires_grad:   # a new leaf; the caller's tensor is untouched
            y = y.detach().requires_grad_(True)
        f = energy(y)
        (g,) = torch.autograd.grad(f.sum(), y, create_graph=create_graph)
    if bounds is None or eps == 0.0:
        return f, g
    span = bounds[1] - bounds[0]
    p = (y - bounds[0]) / span
    return f - eps * binary_entropy(p), g + (eps / span) * entropy_grad(p)


def first_order(energy: Energy, y0: Tensor, *, method: str = "adam", max_iter: int = 100, lr: float = 0.01,
                tol: float = 1e-6, momentum: float = 0.9, entropy_weight: float = 1.0,
                bounds: Bounds | None = (0.0, 1.0), unroll: bool = False) -> SolveResult:
    """Minimise F over the box for every row of ``y0`` with ``method`` (see the module docstring)."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not a first-order method; valid: {', '.join(METHODS)}")
    if max_iter < 1 or lr <= 0 or entropy_weight < 0:
        raise ValueError(f"need max_iter >= 1, lr > 0 and entropy_weight >= 0; got max_iter={max_iter}, "
                         f"lr={lr}, entropy_weight={entropy_weight}")
    eps = float(entropy_weight) if bounds is not None else 0.0
    if bounds is not None:
        margin = _INTERIOR * (bounds[1] - bounds[0])
        lo, hi = bounds[0] + margin, bounds[1] - margin

        def project(t: Tensor) -> Tensor:
            return t.clamp(lo, hi)
    else:
        def project(t: Tensor) -> Tensor:
            return t

    y = project(y0 if unroll else y0.detach())
    B = y.shape[0]
    v = torch.zeros_like(y)
    m = torch.zeros_like(y)
    active = torch.ones(B, dtype=torch.bool, device=y.device)
    iterations = torch.zeros(B, dtype=torch.long, device=y.device)
    best_y, best = y.detach(), torch.full((B,), torch.inf, dtype=y.dtype, device=y.device)
    beta1, beta2 = 0.9, 0.999
    for t in range(1, max_iter + 1):
        obj, g = _objective_and_grad(energy, y, bounds, eps, create_graph=unroll)
        if not unroll:
            better = obj.detach() < best
            best = torch.where(better, obj.detach(), best)
            best_y = torch.where(better.unsqueeze(1), y, best_y)
        if method == "pgd":
            step = -lr * g
        elif method == "nesterov":
            v_new = momentum * v - lr * g
            step = -momentum * v + (1 + momentum) * v_new
            v = v_new
        else:
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            denom = v.sqrt() if method == "paper_adam" else (v / (1 - beta2 ** t)).sqrt()
            step = -lr * (m / (1 - beta1 ** t)) / (denom + 1e-8)
        y_new = project(y + step)
        iterations += active
        if unroll:
            y = y_new
            continue
        moved = (y_new - y).abs().amax(1)
        y = torch.where(active.unsqueeze(1), y_new, y)
        active &= moved >= tol
        if t % 10 == 0 and not bool(active.any()):
            break
    f = energy(y)
    final = (f - eps * binary_entropy((y - bounds[0]) / (bounds[1] - bounds[0]))) if eps else f
    if unroll:
        return SolveResult(y, final.detach(), iterations, ~active)
    better = final.detach() < best
    best = torch.where(better, final.detach(), best)
    best_y = torch.where(better.unsqueeze(1), y, best_y)
    return SolveResult(best_y.detach(), best, iterations, ~active)
