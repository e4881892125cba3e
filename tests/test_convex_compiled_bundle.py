"""The compiled sub-problem (numba, CPU) and the tensor path solve the bundle's dual identically."""

from __future__ import annotations

import pytest
import torch
from convex_helpers import curved_picnn

from icnn_rl.convex import SolverConfig, rl_picnn, solve
from icnn_rl.convex.bundle_entropy import bundle_entropy, dual_objective, primal_point, solve_dual
from icnn_rl.convex.compiled_bundle import solve_dual_compiled


def random_bundle(rows: int, cuts: int, dim: int, seed: int, duplicates: bool = False, padded: bool = False):
    """Random cuts, feasible multipliers on all but the newest cut; optionally duplicate cuts
    (a flat direction of the dual) or absent slots (padding)."""
    gen = torch.Generator().manual_seed(seed)
    G = 3 * torch.randn(rows, cuts, dim, dtype=torch.float64, generator=gen)
    h = torch.randn(rows, cuts, dtype=torch.float64, generator=gen)
    if duplicates:
        G[:, 1], h[:, 1] = G[:, 0], h[:, 0]
        G[:, -1], h[:, -1] = G[:, 2], h[:, 2]        # the newest cut repeats an old one
    present = torch.ones(rows, cuts, dtype=torch.bool)
    if padded:
        present[:, 1:3] = False
    lam = torch.rand(rows, cuts, dtype=torch.float64, generator=gen) * present
    lam[:, -1] = 0.0
    lam = lam / lam.sum(1, keepdim=True)
    new = torch.zeros(rows, cuts, dtype=torch.bool)
    new[:, -1] = True
    return G, h, present, lam, new


def merge_duplicates(lam: torch.Tensor, kind: str) -> torch.Tensor:
    """λ with the multipliers of identical cuts summed: only their sum is determined (how it is
    split between copies depends on which copy rounding makes the pivot), as are p(λ) and φ(λ)."""
    if kind != "duplicate cuts":
        return lam
    merged = lam.clone()
    merged[:, 0] += merged[:, 1]
    merged[:, 2] += merged[:, -1]
    merged[:, 1] = merged[:, -1] = 0.0
    return merged


@pytest.mark.parametrize("cuts, dim, kind", [
    (2, 6, "plain"), (5, 6, "plain"), (12, 3, "more cuts than dimensions"), (20, 17, "plain"),
    (6, 4, "duplicate cuts"), (8, 5, "padded slots"), (9, 2, "duplicate cuts"),
])
@pytest.mark.parametrize("eps", [1.0, 0.1])
def test_compiled_and_tensor_paths_give_the_same_multipliers_points_and_gaps(cuts, dim, kind, eps) -> None:
    G, h, present, lam, new = random_bundle(300, cuts, dim, seed=cuts * dim, duplicates=kind == "duplicate cuts",
                                            padded=kind == "padded slots")
    tol = torch.full((300,), 1e-12, dtype=torch.float64)
    for newton_iter in (1, 5, 20):
        tensor = solve_dual(G, h, present, lam, new, eps, newton_iter, tol)
        compiled = solve_dual_compiled(G, h, present, lam, new, eps, newton_iter, tol)
        torch.testing.assert_close(merge_duplicates(compiled, kind), merge_duplicates(tensor, kind), atol=1e-8, rtol=0)
        torch.testing.assert_close(primal_point(compiled, G, eps), primal_point(tensor, G, eps), atol=1e-8, rtol=0)
        torch.testing.assert_close(dual_objective(compiled, G, h, eps), dual_objective(tensor, G, h, eps),
                                   atol=1e-8, rtol=0)
        assert (compiled >= 0).all() and torch.allclose(compiled.sum(1), torch.ones(300, dtype=torch.float64))


@pytest.mark.parametrize("net, bounds", [
    (curved_picnn(4, 6, "leaky_relu", seed=1), (-1.0, 1.0)),
    (curved_picnn(4, 3, "relu", seed=2), (0.0, 1.0)),
])
@pytest.mark.parametrize("proximal", [0.0, 3.0])
def test_bundle_entropy_gives_the_same_solve_on_either_path(net, bounds, proximal) -> None:
    x = torch.randn(64, 4, dtype=torch.float64)
    energy = net.condition(x)
    y0 = torch.full((64, net.y_dim), 0.5 * (bounds[0] + bounds[1]), dtype=torch.float64)
    runs = {path: bundle_entropy(energy, y0, max_iter=20, tol=1e-8, bounds=bounds, proximal=proximal, subproblem=path)
            for path in ("tensor", "compiled")}
    (a, bundle_a), (b, bundle_b) = runs["tensor"], runs["compiled"]
    assert 1 < a.iterations.float().mean() < 20 and a.converged.float().mean() > 0.9   # compared over several steps
    if proximal:
        # the weights follow thresholds on ρ, which rounding may flip between the paths in a row's
        # last steps (where F(p̂) − M(p) is tiny): the solves then agree to their certified gaps
        both = a.converged & b.converged
        assert both.float().mean() > 0.9
        assert ((a.objective - b.objective).abs()[both] <= torch.maximum(a.gap, b.gap)[both] + 1e-12).all()
        assert (a.iterations - b.iterations).abs().float().mean() < 0.05
        return
    torch.testing.assert_close(b.iterations, a.iterations)
    torch.testing.assert_close(b.y, a.y, atol=1e-8, rtol=0)
    torch.testing.assert_close(b.gap, a.gap, atol=1e-8, rtol=0)
    # a piecewise-linear net repeats cuts (points in one linear piece), so compare what λ determines
    eps = 1.0
    torch.testing.assert_close(primal_point(bundle_b.lam, bundle_b.G, eps), primal_point(bundle_a.lam, bundle_a.G, eps),
                               atol=1e-8, rtol=0)


def test_auto_uses_the_compiled_path_on_cpu_and_rejects_unknown_paths() -> None:
    net = rl_picnn(3, 2, (8, 8))
    energy = net.condition(torch.randn(4, 3))
    result = solve(energy, torch.zeros(4, 2), SolverConfig(max_iter=3), bounds=(-1.0, 1.0))
    assert torch.isfinite(result.objective).all()
    with pytest.raises(ValueError, match="subproblem"):
        bundle_entropy(energy, torch.zeros(4, 2), subproblem="fortran")
