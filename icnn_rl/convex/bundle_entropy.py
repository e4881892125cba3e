"""The bundle entropy method (the paper's approximate inference; its dual form is
``lib/bundle_entropy_dual.py`` of locuslab/icnn), batched over rows.

Problem, on the unit box (a box [lo, hi] is mapped affinely, p = (y − lo)/(hi − lo)):

    min_p  F(p) = f(p) − ε·H(p),   f convex, H the binary entropy.

Cutting-plane model. After evaluating f and ∇f at points p^1..p^k, convexity gives the cuts
f(p) >= g_i·p + h_i with g_i = ∇f(p^i), h_i = f(p^i) − g_i·p^i, and the next iterate minimises the
model max_i (g_i·p + h_i) − ε·H(p). Its dual is a smooth problem on the simplex,

    min_{λ >= 0, 1ᵀλ = 1}  φ(λ) = −hᵀλ + ε Σ_j softplus(−(Gᵀλ)_j / ε),   p(λ) = σ(−Gᵀλ / ε),

solved by projected Newton (pivot on the largest λ, Newton on the free set, Armijo backtracking over
a vector of step sizes so that every row picks its own step in one tensor operation), warm-started
at the best point of the segment from the previous multipliers towards the newest cut. Only
unfinished rows do work: the network is evaluated on the running rows (an energy with a ``rows``
method, :class:`~icnn_rl.convex.problem.ConditionedEnergy`), the sub-problem gets the running rows,
and inside it a row leaves the batch when its Newton iterations stop. A row with a single cut has
λ = 1 and needs no sub-problem. −φ(λ) is a lower
bound on min F for every feasible λ (weak duality, and the model is below f), and the best evaluated
F(p^i) is an upper bound, so each row stops with a *certified* gap:

    gap = min_i F(p^i) + φ(λ) <= atol + tol·(1 + |min_i F(p^i)|).

With one cut (λ = 1) this gap is the certificate of :mod:`~icnn_rl.convex.certificate`, so a row
whose start is within tolerance stops after one evaluation.

Proximal steps (``proximal`` > 0). Where f is piecewise linear and ε small, the model's minimiser
jumps between far corners of the box and every cut is taken far from the argmin (a cutting-plane
method's zigzag). A proximal bundle step keeps the next point near the best point p̂ so far, in the
entropy's own geometry: it minimises the model − εH(p) + μ·KL(p ‖ p̂), KL the Bernoulli relative
entropy summed over coordinates. Since μ·KL(p ‖ p̂) = −μH(p) − μ·logit(p̂)ᵀp + const, that step is
the plain sub-problem with every cut's gradient shifted by −μ·logit(p̂) and ε raised to ε + μ: the
same dual, solved by the same Newton method, with p(λ) = σ((μ·logit(p̂) − Gᵀλ)/(ε + μ)). The
certificate keeps the plain model: −φ(λ) at the proximal multipliers is still a lower bound on
min F (weak duality holds at any feasible λ), and when the step returns p̂ itself those multipliers
are optimal for the plain dual too, so the gap closes.

Each row's weight starts at μ₀ = ``proximal``·ε and follows a trust-region rule on
ρ = (F(p̂) − F(p)) / (F(p̂) − M(p)), the decrease a step achieved over the decrease its model
M = max_i(g_i·p + h_i) − εH(p) predicted: ρ >= 1/2 (the model was right) divides μ by 4, towards
the plain step, which converges fast where the model is accurate; ρ < 1/10 (including a step that
did not improve on p̂) sets μ to max(2μ, μ₀), at most 32·μ₀. ``proximal`` = 0 keeps μ = 0: the plain
method.

The sub-problem is tiny (K cuts of n numbers per row) and is solved in float64 whatever the
network's dtype: in float32 its Newton steps stall before the gap certifies. On the CPU it runs as
a compiled loop over rows (:mod:`~icnn_rl.convex.compiled_bundle`), elsewhere as the tensor
operations of :func:`solve_dual`. Per-row state (:class:`~icnn_rl.convex.bundle_state.BundleState`)
lives in padded tensors [B, K, n] with a mask of present cuts; a row that has converged keeps its bundle,
stops adding cuts and leaves the sub-problem. Cuts whose multiplier is exactly 0 can be pruned (the
original code's rule); the freed slot takes the next cut.

Argmin differentiation (the paper's KKT approach, as in ``multi-label-cls/icnn_ebundle.py`` of
locuslab/icnn): the final sub-problem with its active cuts as equalities has
the KKT system [[εZ, Gᵀ, 0], [G, 0, −1], [0, −1ᵀ, 0]], Z = diag(1/p + 1/(1 − p)). Its adjoint gives
∂ℓ/∂h_i = c_λ,i and ∂ℓ/∂g_i = λ_i c_p + c_λ,i p, which autograd carries to θ and x through
g_i = ∇_p f(x, p^i; θ) and h_i = f(x, p^i; θ) − g_i·p^i with the points p^i held fixed.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from . import bundle_state as shared
from .bundle_state import BundleSettings, BundleState
from .certificate import within_tolerance
from .problem import Bounds, Energy, SolveResult, binary_entropy, value_and_grad
from .timing import PhaseTimes, timed

SUBPROBLEM_PATHS: tuple[str, ...] = ("auto", "compiled", "tensor")

_STEPS = torch.from_numpy(shared.STEP_SIZES)
_SEGMENT = torch.from_numpy(shared.SEGMENT)


class Bundle(NamedTuple):
    """Padded per-row cutting-plane model on the unit box: cuts g_i·p + h_i taken at points p^i."""

    G: Tensor        # [B, K, n] cut gradients g_i
    h: Tensor        # [B, K]    cut offsets h_i
    points: Tensor   # [B, K, n] where each cut was taken
    present: Tensor  # [B, K]    slot holds a cut
    lam: Tensor      # [B, K]    dual multipliers of the last sub-problem (0 off the bundle)


def row_sum(x: Tensor) -> Tensor:
    """x.sum(-1) as a product with a ones vector: for short last dimensions, PyTorch's CPU
    reduction is several times slower than BLAS (measured ~7× at [251, 14, 3] in float64)."""
    return (x @ x.new_ones(x.shape[-1], 1)).squeeze(-1)


def dual_objective(lam: Tensor, G: Tensor, h: Tensor, eps: float) -> Tensor:
    """φ(λ) = −hᵀλ + ε Σ_j softplus(−(Gᵀλ)_j/ε) for λ [B, K] or a stack of candidates [B, M, K]."""
    stacked = lam if lam.dim() == 3 else lam.unsqueeze(1)
    value = (eps * row_sum(F.softplus(torch.bmm(stacked, G) / -eps))
             - torch.bmm(stacked, h.unsqueeze(2)).squeeze(2))
    return value if lam.dim() == 3 else value.squeeze(1)


def primal_point(lam: Tensor, G: Tensor, eps: float) -> Tensor:
    """The sub-problem's minimiser p(λ) = σ(−Gᵀλ/ε)."""
    return torch.sigmoid(torch.bmm(lam.unsqueeze(1), G).squeeze(1) / -eps)


def proximal_cuts(G: Tensor, center: Tensor, weight: Tensor) -> Tensor:
    """The proximal step's cut gradients g_i − μ·logit(p̂) [B, K, n] around ``center`` p̂ [B, n] with
    each row's ``weight`` μ [B] (module docstring); G itself, to the bit, where μ = 0."""
    return G - (weight.unsqueeze(1) * torch.logit(center, eps=shared.CENTER_CLIP)).unsqueeze(1)


def adapt_weight(weight: Tensor, best: Tensor, objective: Tensor, model: Tensor, mu0: float) -> Tensor:
    """The trust-region rule for the proximal weights μ [B]: ρ = (F(p̂) − F(p)) / (F(p̂) − M(p)) from
    the best value ``best``, the new point's ``objective`` and its ``model`` value M(p)."""
    ratio = (best - objective) / (best - model).clamp_min(torch.finfo(best.dtype).tiny)
    grown = (weight * shared.WEIGHT_GROW).clamp_min(mu0)
    return torch.where(ratio >= shared.RATIO_GOOD, weight * shared.WEIGHT_SHRINK,
                       torch.where(ratio < shared.RATIO_POOR, grown, weight)).clamp_max(shared.WEIGHT_CAP * mu0)


def cut_model(G: Tensor, h: Tensor, present: Tensor, p: Tensor) -> Tensor:
    """The cutting-plane model max_i (g_i·p + h_i) over the present cuts, at p [B, n]: [B]."""
    values = torch.baddbmm(h.unsqueeze(2), G, p.unsqueeze(2)).squeeze(2)
    return torch.where(present, values, -torch.inf).amax(1)


def _first(ok: Tensor, values: Tensor) -> Tensor:
    """Per row, the entry of ``values`` [B, M, ...] at the first true ``ok`` [B, M] (entry 0 if none)."""
    first = ok.to(torch.int8).argmax(1)
    index = first.view(-1, 1, *([1] * (values.dim() - 2))).expand(-1, 1, *values.shape[2:])
    return values.gather(1, index).squeeze(1)


def solve_dual(G: Tensor, h: Tensor, present: Tensor, lam: Tensor, new: Tensor, eps: float,
               newton_iter: int, tol: Tensor) -> Tensor:
    """Projected Newton on the simplex for the bundle's dual, all rows at once, warm-started at ``lam``.

    ``lam`` must be feasible (>= 0, summing to 1 over present cuts, 0 elsewhere); ``new`` [B, K]
    marks each row's newest cut. The start is the best point of the segment from ``lam``
    to that cut's vertex on a grid (the newest cut is violated at the last minimiser, so its
    multiplier usually grows; measured to save a third of the Newton iterations).

    Each iteration eliminates the row's pivot (its largest λ) by λ_piv = 1 − Σ_{i≠piv} λ_i, so
    that Gᵀλ = g_piv + G_rᵀλ with the cuts relative to the pivot's, G_r = G − g_piv, h_r = h − h_piv:
    the reduced gradient is −h_r − G_r p and the Hessian G_r diag(p(1 − p)/ε) G_rᵀ. Coordinates at 0
    whose gradient points outwards are held. The Newton step is damped by |∇|_inf (Levenberg-Marquardt:
    the dual is linear along null(Gᵀ) when there are more cuts than dimensions or duplicate cuts);
    the candidates P(λ + α·d) for α = 1, 1/4, ..., along the Newton step and then the scaled
    gradient are checked for Armijo's decrease in one tensor operation, and each row takes its
    first qualifying one (P clips at 0 and gives the pivot the rest of the unit mass; a candidate
    whose pivot would turn negative is rejected, even where rounding makes its φ look lower). A row stops when its Newton decrease −∇φ·d falls
    below its ``tol`` [B] or no candidate decreases φ. Returns the new λ.
    """
    B, K = lam.shape
    segment = lam.unsqueeze(1) + _SEGMENT.to(lam).view(1, -1, 1) * (new.to(lam.dtype) - lam).unsqueeze(1)
    phi, pick = dual_objective(segment, G, h, eps).min(1)
    lam = segment.gather(1, pick.view(B, 1, 1).expand(B, 1, K)).squeeze(1)
    out = lam
    slots = torch.arange(K, device=G.device)
    alphas = _STEPS.to(lam).view(1, 1, -1, 1)
    rows = torch.arange(B, device=G.device)     # the rows still iterating; finished rows leave the batch
    for _ in range(newton_iter):
        n_rows = len(rows)
        piv = torch.where(present, lam, -1.0).argmax(1, keepdim=True)
        is_piv = slots == piv
        Gr = G - G.gather(1, piv.unsqueeze(2).expand(n_rows, 1, G.shape[2]))
        p = primal_point(lam, G, eps).unsqueeze(1)                             # [rows, 1, n]
        grad = torch.baddbmm((h.gather(1, piv) - h).unsqueeze(2), Gr, p.transpose(1, 2), alpha=-1).squeeze(2)
        free = present & ~is_piv & ((lam > 0) | (grad <= 0))
        gfree = grad * free
        damp = gfree.abs().amax(1, keepdim=True)
        Gf = Gr * free.unsqueeze(2)
        hess = torch.bmm(Gf * (p * (1 - p) / eps), Gf.transpose(1, 2)) + torch.diag_embed(torch.where(free, damp, 1.0))
        chol, info = torch.linalg.cholesky_ex(hess)
        newton = torch.cholesky_solve(-gfree.unsqueeze(2), chol).squeeze(2)
        newton = torch.where((info == 0).unsqueeze(1), newton, -gfree)
        done = torch.bmm(gfree.unsqueeze(1), newton.unsqueeze(2)).view(n_rows) >= -tol
        if bool(done.all()):
            break
        gradient = -gfree / damp.clamp_min(torch.finfo(lam.dtype).tiny)
        directions = torch.stack([newton, gradient], 1).unsqueeze(2)         # [rows, 2, 1, K]
        cand = (lam.view(n_rows, 1, 1, K) + directions * alphas).view(n_rows, -1, K).clamp_min(0.0)
        rest = 1.0 + lam.gather(1, piv).unsqueeze(1) - row_sum(cand).unsqueeze(2)   # the pivot's new λ
        feasible = rest.squeeze(2) >= 0
        cand = torch.where(feasible.unsqueeze(2), torch.where(is_piv.unsqueeze(1), rest, cand), lam.unsqueeze(1))
        phi_c = dual_objective(cand, G, h, eps)
        decrease = torch.bmm(cand - lam.unsqueeze(1), grad.unsqueeze(2)).squeeze(2)
        ok = feasible & (phi_c <= phi.unsqueeze(1) + shared.ARMIJO * decrease) & (phi_c < phi.unsqueeze(1))
        step = ok.any(1) & ~done
        lam = torch.where(step.unsqueeze(1), _first(ok, cand), lam)
        phi = torch.where(step, _first(ok, phi_c), phi)
        keep = step.nonzero().squeeze(1)
        if len(keep) < n_rows:
            out = out.index_copy(0, rows, lam)
            if len(keep) == 0:
                return out
            rows, G, h, present, lam, phi, tol = (t[keep] for t in (rows, G, h, present, lam, phi, tol))
    return out.index_copy(0, rows, lam)


def _use_compiled(path: str, device: torch.device) -> bool:
    """Whether ``path`` (see :func:`bundle_entropy`) means the compiled loops on ``device``."""
    if path not in SUBPROBLEM_PATHS:
        raise ValueError(f"subproblem={path!r} is unknown; valid: {', '.join(SUBPROBLEM_PATHS)}")
    if path == "compiled" and device.type != "cpu":
        raise ValueError(f"subproblem='compiled' runs on the CPU; this solve is on {device}; use 'tensor' or 'auto'")
    return path == "compiled" or (path == "auto" and device.type == "cpu")


def bundle_entropy(energy: Energy, y0: Tensor, *, max_iter: int = 30, tol: float = 1e-6,
                   atol: float = 0.0, entropy_weight: float = 1.0, bounds: Bounds = (0.0, 1.0),
                   newton_iter: int = 5, prune: bool = False, proximal: float = 0.0, subproblem: str = "auto",
                   times: PhaseTimes | None = None,
                   first_cut: tuple[Tensor, Tensor] | None = None) -> tuple[SolveResult, Bundle]:
    """Minimise f(y) − ε·H(p) over the box for every row of ``y0`` (no gradient to parameters).

    :param energy: y [B, n] -> f(y) [B], convex in y (e.g. ``net.condition(x)``).
    :param y0: start [B, n] inside the box; the first cut is taken there.
    :param max_iter: at most this many energy evaluations (cuts) per row.
    :param tol: relative tolerance: stop a row when its certified gap is <= atol + tol·(1 + |F|)
        (:func:`~icnn_rl.convex.certificate.within_tolerance`).
    :param atol: absolute tolerance of the same rule, in units of F.
    :param newton_iter: projected Newton iterations per sub-problem, warm-started from the previous
        multipliers (5 measured ~2.5× faster than 20 for the same gaps; benchmarks/speed/solver.py).
    :param prune: drop cuts whose multiplier is 0 after each sub-problem (the original code's rule).
    :param proximal: μ₀/ε, the starting weight of the proximal steps around the best point
        (module docstring); 0, the paper's method, steps to the model's own minimiser.
    :param subproblem: how the work between evaluations runs: ``compiled`` (loops over the running
        rows, :mod:`~icnn_rl.convex.compiled_bundle`, CPU only), ``tensor`` (batched tensor
        operations with :func:`solve_dual`, any device) or ``auto`` (compiled on the CPU, tensor elsewhere).
    :param times: if given, receives the seconds spent in ``network`` and in ``subproblem`` (the
        work between evaluations).
    :param first_cut: f(y0) [B] and ∇_y f(y0) [B, n] when the caller has evaluated them already
        (the first evaluation is then skipped).
    :return: the result (the best evaluated point of each row, with its certified gap) and the final
        bundle. The first iteration is the one-cut certificate of ``y0``
        (:mod:`~icnn_rl.convex.certificate`): a start within tolerance costs one network pass.
    """
    if entropy_weight <= 0:
        raise ValueError(f"entropy_weight={entropy_weight}: bundle entropy needs a positive entropy weight "
                         "(the barrier makes its sub-problem smooth); use a first-order method for ε = 0")
    if max_iter < 1:
        raise ValueError(f"max_iter={max_iter} must be >= 1")
    if proximal < 0:
        raise ValueError(f"proximal={proximal} must be >= 0 (μ₀/ε of the proximal steps; 0: none)")
    compiled = _use_compiled(subproblem, y0.device)
    eps = float(entropy_weight)
    lo, hi = float(bounds[0]), float(bounds[1])
    span = hi - lo
    B, n = y0.shape
    K = max_iter
    zeros = {"dtype": torch.float64, "device": y0.device}  # the small sub-problem is always solved in float64
    p = ((y0.detach().double() - lo) / span).clamp(0.0, 1.0)
    settings = BundleSettings(eps, float(tol), float(atol), int(newton_iter), bool(prune), float(proximal) * eps)
    state = BundleState(
        G=torch.zeros(B, K, n, **zeros),
        h=torch.zeros(B, K, **zeros),
        points=torch.zeros(B, K, n, **zeros),
        present=torch.zeros(B, K, dtype=torch.bool, device=y0.device),
        lam=torch.zeros(B, K, **zeros),
        p=p,
        best=torch.full((B,), torch.inf, **zeros),
        best_p=p.clone(),
        active=torch.ones(B, dtype=torch.bool, device=y0.device),
        converged=torch.zeros(B, dtype=torch.bool, device=y0.device),
        iterations=torch.zeros(B, dtype=torch.long, device=y0.device),
        gap=torch.zeros(B, **zeros),
        weight=torch.full((B,), settings.mu0, **zeros),
        model=torch.full((B,), -torch.inf, **zeros),
    )
    iterate = _compiled_iterations if compiled else _tensor_iterations
    iterate(energy, y0.dtype, span, lo, state, settings, times, first_cut)
    result = SolveResult((lo + span * state.best_p).to(y0.dtype), state.best.to(y0.dtype), state.iterations,
                         state.converged, state.gap.clamp_min(0.0).to(y0.dtype))
    return result, Bundle(state.G, state.h, state.points, state.present, state.lam)


def _cuts(energy: Energy, t: int, p: Tensor, rows: Tensor, dtype: torch.dtype, lo: float, span: float,
          times: PhaseTimes | None, first_cut: tuple[Tensor, Tensor] | None) -> tuple[Tensor, Tensor]:
    """f and g = ∇_p f (float64) at the points p of ``rows``, as [B] and [B, n] with zeros on the
    other rows; the first iteration takes ``first_cut`` if given."""
    if t == 0 and first_cut is not None:
        f, grad_y = first_cut
    else:
        with timed(times, "network"):
            f, grad_y = value_and_grad(energy, (lo + span * p).to(dtype), None if len(rows) == len(p) else rows)
    return f.detach().double(), grad_y.detach().double() * span


def _compiled_iterations(energy: Energy, dtype: torch.dtype, span: float, lo: float, state: BundleState,
                         settings: BundleSettings, times: PhaseTimes | None,
                         first_cut: tuple[Tensor, Tensor] | None) -> None:
    """The iterations with the work between evaluations in compiled loops over the running rows."""
    from .compiled_bundle import absorb_cuts, numpy_views  # numba compiles (or loads its cache) on first use

    arrays = numpy_views(state)
    rows = torch.arange(len(state.p))
    for t in range(state.G.shape[1]):
        f, g = _cuts(energy, t, state.p, rows, dtype, lo, span, times, first_cut)
        with timed(times, "subproblem"):
            absorb_cuts(rows, f[rows], g[rows], t, arrays, settings)
        rows = state.active.nonzero().squeeze(1)
        if len(rows) == 0:
            break


def _tensor_iterations(energy: Energy, dtype: torch.dtype, span: float, lo: float, state: BundleState,
                       settings: BundleSettings, times: PhaseTimes | None,
                       first_cut: tuple[Tensor, Tensor] | None) -> None:
    """The iterations as batched tensor operations (any device); ``state`` is updated in place."""
    G, h, points, present, lam, p, best, best_p, active, converged, iterations, gap, weight, model = state
    eps, tol, atol, newton_iter, prune, mu0 = settings
    B, K = lam.shape
    slots = torch.arange(K, device=G.device)
    rows = torch.arange(B, device=G.device)   # the running rows
    for t in range(K):
        f, g = _cuts(energy, t, p, rows, dtype, lo, span, times, first_cut)
        obj = f - eps * binary_entropy(p)
        if t > 0 and mu0 > 0:
            weight.copy_(torch.where(active, adapt_weight(weight, best, obj, model, mu0), weight))
        better = active & (obj < best)
        best.copy_(torch.where(better, obj, best))
        best_p.copy_(torch.where(better.unsqueeze(1), p, best_p))
        iterations += active
        # The new cut of every running row goes into its first free slot; all present slots lie
        # in [0, t] (t cuts were added before), so the sub-problem needs only k = t + 1 of them.
        new = (slots == (~present).to(torch.int8).argmax(1, keepdim=True)) & active.unsqueeze(1)
        G.copy_(torch.where(new.unsqueeze(2), g.unsqueeze(1), G))
        h.copy_(torch.where(new, (f - (g * p).sum(1)).unsqueeze(1), h))
        points.copy_(torch.where(new.unsqueeze(2), p.unsqueeze(1), points))
        lam.copy_(torch.where(new & ~present.any(1, keepdim=True), 1.0, lam))   # a row's first cut gets λ = 1
        present |= new
        k = t + 1
        if k > 1:   # only the rows still running enter the sub-problem
            dual_tol = 1e-4 * (atol + tol * (1 + best[rows].abs()))   # the dual must certify the gap
            # the proximal step's dual at temperature ε + μ, as ε + μ times the dual at temperature 1
            scale = eps + weight[rows]
            with timed(times, "subproblem"):
                sub = solve_dual(proximal_cuts(G[rows, :k], best_p[rows], weight[rows]) / scale.view(-1, 1, 1),
                                 h[rows, :k] / scale.unsqueeze(1), present[rows, :k], lam[rows, :k], new[rows, :k],
                                 1.0, newton_iter, dual_tol / scale)
            lam[:, :k] = lam[:, :k].index_copy(0, rows, sub)
        gap.copy_(best + dual_objective(lam, G, h, eps))    # best F minus the plain model's lower bound
        done = active & within_tolerance(gap, best, tol, atol)
        converged |= done
        active &= ~done
        step = primal_point(lam, proximal_cuts(G, best_p, weight) / (eps + weight).view(-1, 1, 1), 1.0)
        p.copy_(torch.where(active.unsqueeze(1), step, p))
        if mu0 > 0:   # only the weight's rule reads the model
            model.copy_(torch.where(active, cut_model(G, h, present, p) - eps * binary_entropy(p), model))
        if prune:
            present &= lam > 0
        if not bool(active.any()):
            break
        rows = active.nonzero().squeeze(1)


class _BundleKKT(torch.autograd.Function):
    """p = σ(−Gᵀλ/ε) of the final sub-problem, with the KKT adjoint (module docstring) as backward."""

    @staticmethod
    def forward(ctx, G: Tensor, h: Tensor, lam: Tensor, active: Tensor, eps: float) -> Tensor:  # type: ignore[override]
        p = primal_point(lam, G, eps)
        ctx.save_for_backward(G, lam, active, p)
        ctx.eps = eps
        return p

    @staticmethod
    def backward(ctx, grad_p: Tensor) -> tuple[Tensor, Tensor, None, None, None]:  # type: ignore[override]
        G, lam, active, p = ctx.saved_tensors
        B, K, _ = G.shape
        interior = (p > 0) & (p < 1)
        zinv = torch.where(interior, p * (1 - p) / ctx.eps, 0.0)        # (εZ)^-1, 0 on the boundary
        dl = -grad_p
        am = active.to(G.dtype)
        Ga = G * am.unsqueeze(2)
        M = torch.einsum("bkn,bn,bjn->bkj", Ga, zinv, Ga) + torch.diag_embed(1 - am)
        kkt = torch.zeros(B, K + 1, K + 1, dtype=G.dtype, device=G.device)
        kkt[:, :K, :K] = M
        kkt[:, :K, K] = am
        kkt[:, K, :K] = am
        rhs = torch.zeros(B, K + 1, dtype=G.dtype, device=G.device)
        rhs[:, :K] = torch.einsum("bkn,bn->bk", Ga, zinv * dl)
        sol = (torch.linalg.pinv(kkt) @ rhs.unsqueeze(-1)).squeeze(-1)  # pinv: duplicate cuts make it singular
        c_lam = sol[:, :K] * am
        c_p = zinv * (dl - torch.einsum("bk,bkn->bn", c_lam, Ga))
        dG = (lam * am).unsqueeze(2) * c_p.unsqueeze(1) + c_lam.unsqueeze(2) * p.unsqueeze(1)
        return dG, c_lam, None, None, None


def bundle_argmin_implicit(energy: Energy, bundle: Bundle, *, entropy_weight: float, bounds: Bounds,
                           dtype: torch.dtype, active_tol: float = 1e-8) -> Tensor:
    """The final sub-problem's argmin y [B, n], differentiable by the KKT adjoint.

    ``energy`` must be built with the autograd graph to the parameters and x (``net.condition(x)``
    outside ``no_grad``): the cuts are recomputed at the bundle's points with ``create_graph`` so
    that ∂ℓ/∂g_i and ∂ℓ/∂h_i reach θ by double backpropagation. Cuts with λ_i > ``active_tol``
    are the active set treated as equalities. The result has the network's ``dtype``.
    """
    lo, hi = float(bounds[0]), float(bounds[1])
    span = hi - lo
    active = bundle.present & (bundle.lam > active_tol)
    pts = bundle.points.detach().to(dtype).requires_grad_(True)
    f = energy(lo + span * pts)                                            # [B, K]
    (g,) = torch.autograd.grad(f, pts, grad_outputs=active.to(f.dtype), create_graph=True)
    h = f - (g * pts.detach()).sum(-1)
    p = _BundleKKT.apply(g, h, bundle.lam.detach().to(dtype), active, float(entropy_weight))
    return lo + span * p
