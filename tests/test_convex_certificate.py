"""The one-cut certificate: a valid bound on suboptimality, zero at the optimum, monotone towards it;
and the certified solve from candidates that uses it."""

from __future__ import annotations

import pytest
import torch
from convex_helpers import curved_picnn

from icnn_rl.convex import PICNN, SolverConfig, certify, solve, solve_from, within_tolerance
from icnn_rl.convex.exact import exact_argmin

pytest.importorskip("cvxpy")


@pytest.mark.parametrize("eps, bounds", [(1.0, (-1.0, 1.0)), (0.1, (0.0, 1.0)), (0.3, (-2.0, 3.0)), (0.0, (-1.0, 1.0))])
def test_gap_bounds_the_true_suboptimality_of_any_candidate(eps: float, bounds) -> None:
    net = curved_picnn(4, 5, "leaky_relu", seed=11)
    x = torch.randn(16, 4, dtype=torch.float64)
    _, best = exact_argmin(net, x, entropy_weight=eps, bounds=bounds)
    lo, hi = bounds
    for seed in range(3):
        y = lo + (hi - lo) * torch.rand(16, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
        cert = certify(net.condition(x), y, entropy_weight=eps, bounds=bounds)
        excess = cert.objective - best
        assert (excess >= -1e-6).all()                      # cvxpy's optimum is the minimum
        assert (cert.gap >= excess - 1e-6).all()            # the certificate never understates it
        torch.testing.assert_close(cert.lower, cert.objective - cert.gap)
        assert (cert.lower <= best + 1e-6).all()            # a lower bound on min F


def test_gap_vanishes_at_the_optimum_of_a_smooth_network() -> None:
    torch.manual_seed(4)
    net = PICNN(4, 3, (16, 16), activation="softplus", init="torch").double()
    x = torch.randn(12, 4, dtype=torch.float64)
    energy = net.condition(x)
    optimum = solve(energy, torch.zeros(12, 3, dtype=torch.float64), SolverConfig(max_iter=60, tol=1e-12),
                    bounds=(-1.0, 1.0))
    cert = certify(energy, optimum.y, bounds=(-1.0, 1.0))
    assert (cert.gap <= 1e-7).all()
    far = certify(energy, torch.full((12, 3), 0.9, dtype=torch.float64), bounds=(-1.0, 1.0))
    assert (far.gap > 1e-4).all()


def test_gap_of_the_bundle_solution_matches_the_exact_optimum() -> None:
    """On a piecewise-linear network the minimiser sits on kinks, where one cut need not certify;
    the bundle's many-cut gap does, and it bounds the distance to cvxpy's optimum."""
    net = curved_picnn(4, 6, "leaky_relu", seed=6)
    x = torch.randn(16, 4, dtype=torch.float64)
    _, best = exact_argmin(net, x, bounds=(-1.0, 1.0))
    result = solve(net.condition(x), torch.zeros(16, 6, dtype=torch.float64), SolverConfig(), bounds=(-1.0, 1.0))
    assert result.converged.all()
    assert (result.gap >= result.objective - best - 1e-7).all()
    assert (result.gap <= 1e-6 * (1 + result.objective.abs())).all()


def test_gap_shrinks_monotonically_as_a_candidate_moves_to_the_optimum() -> None:
    """In one dimension q(p) = σ(−f'(p)/ε) is non-increasing, so on the way to p* both ends of
    [q(p), p] close in and ε·KL(p ‖ q(p)) decreases (to 0 where f is smooth at p*)."""
    torch.manual_seed(2)
    net = PICNN(3, 1, (16, 16), activation="softplus", init="torch").double()
    with torch.no_grad():
        for layer in net.layers:
            layer.y_to_out.weight.mul_(3.0)
    x = torch.randn(32, 3, dtype=torch.float64)
    energy = net.condition(x)
    y_star = solve(energy, torch.zeros(32, 1, dtype=torch.float64), SolverConfig(max_iter=60, tol=1e-12),
                   bounds=(-1.0, 1.0)).y
    start = torch.where(y_star > 0, -0.95, 0.95).to(torch.float64)
    gaps = torch.stack([certify(energy, y_star + t * (start - y_star), bounds=(-1.0, 1.0)).gap
                        for t in torch.linspace(1.0, 0.0, 21, dtype=torch.float64)])
    assert (gaps[1:] <= gaps[:-1] + 1e-12).all()
    assert (gaps[-1] <= 1e-8).all() and (gaps[0] > 1e-3).all()


@pytest.mark.parametrize("atol, tol", [(0.05, 0.0), (0.0, 1e-3)])
def test_solve_from_keeps_certified_candidates_and_certifies_or_flags_the_rest(atol: float, tol: float) -> None:
    net = curved_picnn(4, 5, "leaky_relu", seed=3)
    x = torch.randn(24, 4, dtype=torch.float64)
    y_star, best = exact_argmin(net, x, bounds=(-1.0, 1.0))
    near = y_star.clone()
    near[12:] = 0.0                                   # half the candidates optimal, half at the centre
    config = SolverConfig(max_iter=30, tol=tol, atol=atol)
    result, start, grad = solve_from(net.condition(x), near, config, bounds=(-1.0, 1.0))
    kept = within_tolerance(start.gap, start.objective, tol, atol)
    assert kept[:12].all()
    torch.testing.assert_close(result.y[kept], near[kept])
    assert (result.iterations[kept] == 1).all() and (result.iterations[~kept] > 1).all()
    assert grad.shape == near.shape
    bound = atol + tol * (1 + result.objective.abs())
    assert (result.converged & (result.gap <= bound) | ~result.converged).all()
    assert (result.objective - best <= torch.where(result.converged, bound, result.gap) + 1e-7).all()
    assert result.converged.all()   # 30 evaluations are plenty here: nothing is flagged


def test_solve_from_agrees_with_an_energy_that_cannot_select_rows() -> None:
    net = curved_picnn(4, 3, "leaky_relu", seed=8)
    x = torch.randn(20, 4, dtype=torch.float64)
    energy = net.condition(x)
    y0 = torch.zeros(20, 3, dtype=torch.float64)
    config = SolverConfig(max_iter=10, atol=1e-3, tol=0.0)
    a, _, _ = solve_from(energy, y0, config, bounds=(-1.0, 1.0))
    b, _, _ = solve_from(lambda y: energy(y), y0, config, bounds=(-1.0, 1.0))
    torch.testing.assert_close(a.y, b.y, atol=1e-9, rtol=0)
    torch.testing.assert_close(a.iterations, b.iterations)


@pytest.mark.parametrize("kwargs, match", [
    ({"bounds": None}, "box"),
    ({"entropy_weight": -1.0}, "entropy_weight"),
])
def test_certify_rejects_bad_input(kwargs, match) -> None:
    net = curved_picnn(2, 2, seed=0)
    with pytest.raises(ValueError, match=match):
        certify(net.condition(torch.randn(3, 2, dtype=torch.float64)), torch.zeros(3, 2, dtype=torch.float64),
                **kwargs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_certificate_runs_on_cuda() -> None:
    net = curved_picnn(3, 2, seed=1).cuda()
    cert = certify(net.condition(torch.randn(8, 3, dtype=torch.float64, device="cuda")),
                   torch.zeros(8, 2, dtype=torch.float64, device="cuda"), bounds=(-1.0, 1.0))
    assert cert.gap.device.type == "cuda" and (cert.gap >= 0).all()
