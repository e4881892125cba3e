"""Bundle entropy's work between network evaluations as compiled loops over rows (numba), for the CPU.

:func:`absorb_cuts` does, for each running row, what the tensor path of
:func:`icnn_rl.convex.bundle_entropy.bundle_entropy` does between two evaluations: the objective
and best point, the proximal weight, the new cut in the row's first free slot, the dual
sub-problem (of the proximal step when μ > 0), the certified gap and stopping rule, the next point
p(λ) and the model's value there. The dual sub-problem (:func:`solve_dual_compiled`) follows
:func:`icnn_rl.convex.bundle_entropy.solve_dual` step for step: the segment warm start, then
projected Newton iterations on the simplex with the pivot eliminated, Levenberg-Marquardt damping,
and the first of the candidate steps α = 1, 1/4, …, 4^-6 along the Newton step and then the scaled
gradient that passes Armijo's test.

On the CPU the tensor path spends its time in per-operation overhead (dozens of small tensor
operations per iteration on [B, K, n] tensors, whatever the number of rows still running); here a
row costs O(K²n + K³) arithmetic and nothing else, so the cost scales with the rows that still
run. The tensor path stays for GPUs. Both agree to rounding (tests compare points, gaps and
iteration counts at 1e-8 with plain steps; with proximal steps, whose weights follow thresholds that
rounding can flip, the answers agree within their certified gaps).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch
from torch import Tensor

from .bundle_state import (
    ARMIJO,
    CENTER_CLIP,
    RATIO_GOOD,
    RATIO_POOR,
    SEGMENT,
    STEP_SIZES,
    WEIGHT_CAP,
    WEIGHT_GROW,
    WEIGHT_SHRINK,
    BundleSettings,
    BundleState,
)

_TINY = np.finfo(np.float64).tiny
_CENTER_HI = 1.0 - CENTER_CLIP


@numba.njit(cache=True, inline="always")
def _softplus(x: float) -> float:
    # torch.nn.functional.softplus with beta = 1, threshold = 20
    return x if x > 20.0 else math.log1p(math.exp(x))


@numba.njit(cache=True)
def _phi(lam: np.ndarray, G: np.ndarray, h: np.ndarray, eps: float) -> float:
    """φ(λ) = −hᵀλ + ε Σ_j softplus(−(Gᵀλ)_j/ε)."""
    K, n = G.shape
    total = 0.0
    for j in range(n):
        s = 0.0
        for i in range(K):
            s += lam[i] * G[i, j]
        total += _softplus(s / -eps)
    lin = 0.0
    for i in range(K):
        lin += lam[i] * h[i]
    return eps * total - lin


@numba.njit(cache=True)
def _cholesky_solve(A: np.ndarray, b: np.ndarray, out: np.ndarray) -> bool:
    """Solve A x = b (A symmetric positive definite, overwritten by its factor); False if A is not."""
    K = A.shape[0]
    for j in range(K):
        d = A[j, j]
        for k in range(j):
            d -= A[j, k] * A[j, k]
        if not d > 0.0:
            return False
        d = math.sqrt(d)
        A[j, j] = d
        for i in range(j + 1, K):
            s = A[i, j]
            for k in range(j):
                s -= A[i, k] * A[j, k]
            A[i, j] = s / d
    for i in range(K):
        s = b[i]
        for k in range(i):
            s -= A[i, k] * out[k]
        out[i] = s / A[i, i]
    for i in range(K - 1, -1, -1):
        s = out[i]
        for k in range(i + 1, K):
            s -= A[k, i] * out[k]
        out[i] = s / A[i, i]
    return True


@numba.njit(cache=True)
def _solve_row(G: np.ndarray, h: np.ndarray, present: np.ndarray, lam: np.ndarray, new: np.ndarray,
               eps: float, newton_iter: int, tol: float, steps: np.ndarray, segment: np.ndarray) -> None:
    """One row of the projected Newton method; ``lam`` [K] is updated in place."""
    K, n = G.shape
    cand = np.empty(K)
    # warm start: the best point of the segment from λ to the newest cut's vertex
    best_phi = np.inf
    best_s = 0.0
    for s in segment:
        for i in range(K):
            cand[i] = lam[i] + s * ((1.0 if new[i] else 0.0) - lam[i])
        value = _phi(cand, G, h, eps)
        if value < best_phi:
            best_phi, best_s = value, s
    for i in range(K):
        lam[i] = lam[i] + best_s * ((1.0 if new[i] else 0.0) - lam[i])
    phi = best_phi
    p = np.empty(n)
    grad = np.empty(K)
    gfree = np.empty(K)
    free = np.empty(K, dtype=np.bool_)
    Gf = np.empty((K, n))
    hess = np.empty((K, K))
    newton = np.empty(K)
    gradient = np.empty(K)
    best_cand = np.empty(K)
    for _ in range(newton_iter):
        piv = -1
        top = -np.inf
        for i in range(K):
            value = lam[i] if present[i] else -1.0
            if value > top:
                top, piv = value, i
        for j in range(n):
            s = 0.0
            for i in range(K):
                s += lam[i] * G[i, j]
            p[j] = 1.0 / (1.0 + math.exp(s / eps))        # σ(−(Gᵀλ)_j/ε)
        damp = 0.0
        for i in range(K):
            s = 0.0
            for j in range(n):
                Gf[i, j] = G[i, j] - G[piv, j]
                s += Gf[i, j] * p[j]
            grad[i] = (h[piv] - h[i]) - s
            free[i] = present[i] and i != piv and (lam[i] > 0.0 or grad[i] <= 0.0)
            gfree[i] = grad[i] if free[i] else 0.0
            damp = max(damp, abs(gfree[i]))
            if not free[i]:
                for j in range(n):
                    Gf[i, j] = 0.0
        for a in range(K):
            for b in range(a + 1):
                s = 0.0
                for j in range(n):
                    s += Gf[a, j] * (p[j] * (1.0 - p[j]) / eps) * Gf[b, j]
                hess[a, b] = s
                hess[b, a] = s
            hess[a, a] += damp if free[a] else 1.0
        for i in range(K):
            gradient[i] = -gfree[i]
        if not _cholesky_solve(hess, gradient, newton):
            for i in range(K):
                newton[i] = -gfree[i]
        dec = 0.0
        for i in range(K):
            dec += gfree[i] * newton[i]
        if dec >= -tol:
            return
        scale = max(damp, _TINY)
        for i in range(K):
            gradient[i] = -gfree[i] / scale
        found = False
        for direction in (newton, gradient):
            for alpha in steps:
                total = 0.0
                for i in range(K):
                    cand[i] = max(lam[i] + alpha * direction[i], 0.0)
                    total += cand[i]
                rest = 1.0 + lam[piv] - total
                if rest < 0.0:      # the pivot would turn negative: rejected
                    continue
                cand[piv] = rest
                value = _phi(cand, G, h, eps)
                decrease = 0.0
                for i in range(K):
                    decrease += (cand[i] - lam[i]) * grad[i]
                if value <= phi + ARMIJO * decrease and value < phi:
                    best_cand[:] = cand
                    phi = value
                    found = True
                    break
            if found:
                break
        if not found:
            return
        lam[:] = best_cand


@numba.njit(cache=True)
def _entropy(p: np.ndarray) -> float:
    """H(p) = −Σ_j [p_j log p_j + (1 − p_j) log(1 − p_j)] (0·log 0 = 0)."""
    total = 0.0
    for value in p:
        if value > 0.0:
            total -= value * math.log(value)
        if value < 1.0:
            total -= (1.0 - value) * math.log1p(-value)
    return total


@numba.njit(cache=True)
def _proximal_cuts(G: np.ndarray, center: np.ndarray, mu: float, out: np.ndarray) -> None:
    """out = g_i − μ·logit(p̂) for every cut row of G [k, n] (G itself, to the bit, when μ = 0)."""
    for j in range(G.shape[1]):
        c = min(max(center[j], CENTER_CLIP), _CENTER_HI)
        shift = mu * math.log(c / (1.0 - c))
        for i in range(G.shape[0]):
            out[i, j] = G[i, j] - shift


@numba.njit(cache=True)
def _adapt_weight(weight: float, best: float, objective: float, model: float, mu0: float) -> float:
    """The trust-region rule for one row's proximal weight (bundle_entropy.adapt_weight)."""
    ratio = (best - objective) / max(best - model, _TINY)
    if ratio >= RATIO_GOOD:
        weight = weight * WEIGHT_SHRINK
    elif ratio < RATIO_POOR:
        weight = max(weight * WEIGHT_GROW, mu0)
    return min(weight, WEIGHT_CAP * mu0)


@numba.njit(cache=True)
def _model_value(G: np.ndarray, h: np.ndarray, present: np.ndarray, p: np.ndarray, eps: float) -> float:
    """M(p) = max_i (g_i·p + h_i) − εH(p) over the present cuts (bundle_entropy.cut_model)."""
    top = -np.inf
    for c in range(G.shape[0]):
        if present[c]:
            s = h[c]
            for j in range(G.shape[1]):
                s += G[c, j] * p[j]
            top = max(top, s)
    return top - eps * _entropy(p)


@numba.njit(cache=True)
def _absorb_rows(rows: np.ndarray, f: np.ndarray, g: np.ndarray, t: int, state: BundleState,
                 settings: BundleSettings, steps: np.ndarray, segment: np.ndarray) -> None:
    G, h, points, present, lam, p, best, best_p, active, converged, iterations, gap, weight, model = state
    eps, tol, atol, newton_iter, prune, mu0 = settings
    K, n = G.shape[1], G.shape[2]
    k = t + 1
    new = np.zeros(k, dtype=np.bool_)
    stepped = np.empty((k, n))     # the proximal step's cuts
    for i in range(rows.shape[0]):
        b = rows[i]
        objective = f[i] - eps * _entropy(p[b])
        iterations[b] += 1
        if t > 0 and mu0 > 0.0:
            weight[b] = _adapt_weight(weight[b], best[b], objective, model[b], mu0)
        if objective < best[b]:
            best[b] = objective
            best_p[b, :] = p[b]
        slot = 0
        while slot < K and present[b, slot]:
            slot += 1
        first = True
        for j in range(K):
            if present[b, j]:
                first = False
        offset = f[i]
        for j in range(n):
            G[b, slot, j] = g[i, j]
            points[b, slot, j] = p[b, j]
            offset -= g[i, j] * p[b, j]
        h[b, slot] = offset
        present[b, slot] = True
        if first:
            lam[b, slot] = 1.0
        mu = weight[b]
        _proximal_cuts(G[b, :k], best_p[b], mu, stepped)
        if k > 1:
            new[:] = False
            new[slot] = True
            dual_tol = 1e-4 * (atol + tol * (1.0 + abs(best[b])))
            _solve_row(stepped, h[b, :k], present[b, :k], lam[b, :k], new, eps + mu, newton_iter, dual_tol,
                       steps, segment)
        gap[b] = best[b] + _phi(lam[b, :k], G[b, :k], h[b, :k], eps)
        if gap[b] <= atol + tol * (1.0 + abs(best[b])):
            converged[b] = True
            active[b] = False
        else:
            for j in range(n):
                s = 0.0
                for c in range(k):
                    s += lam[b, c] * stepped[c, j]
                p[b, j] = 1.0 / (1.0 + math.exp(s / (eps + mu)))
            if mu0 > 0.0:           # only the weight's rule reads the model
                model[b] = _model_value(G[b, :k], h[b, :k], present[b, :k], p[b], eps)
        if prune:
            for c in range(K):
                present[b, c] = present[b, c] and lam[b, c] > 0.0


@numba.njit(cache=True)
def _solve_rows(G: np.ndarray, h: np.ndarray, present: np.ndarray, lam: np.ndarray, new: np.ndarray,
                eps: float, newton_iter: int, tol: np.ndarray, steps: np.ndarray, segment: np.ndarray) -> None:
    for b in range(G.shape[0]):
        _solve_row(G[b], h[b], present[b], lam[b], new[b], eps, newton_iter, tol[b], steps, segment)


def numpy_views(state: BundleState) -> BundleState:
    """The state of CPU tensors as NumPy arrays sharing their memory: what :func:`absorb_cuts` takes
    (made once per solve), whose updates the tensors see."""
    return BundleState(*(tensor.numpy() for tensor in state))


def absorb_cuts(rows: Tensor, f: Tensor, g: Tensor, t: int, arrays: BundleState, settings: BundleSettings) -> None:
    """Take the cuts (f [R], g = ∇_p f [R, n], at the rows' current points) of the running ``rows``
    at iteration ``t`` into ``arrays`` (:func:`numpy_views` of the bundle's state, updated in place)."""
    _absorb_rows(rows.numpy(), f.detach().double().contiguous().numpy(), g.detach().double().contiguous().numpy(),
                 int(t), arrays, settings, STEP_SIZES, SEGMENT)


def solve_dual_compiled(G: Tensor, h: Tensor, present: Tensor, lam: Tensor, new: Tensor, eps: float,
                        newton_iter: int, tol: Tensor) -> Tensor:
    """:func:`~icnn_rl.convex.bundle_entropy.solve_dual` for CPU float64 tensors; returns the new λ."""
    out = lam.detach().to(torch.float64, copy=True).contiguous()
    _solve_rows(G.detach().contiguous().numpy(), h.detach().contiguous().numpy(),
                present.contiguous().numpy(), out.numpy(), new.contiguous().numpy(), float(eps),
                int(newton_iter), tol.detach().to(torch.float64).contiguous().numpy(), STEP_SIZES, SEGMENT)
    return out
