"""Solver optimality against the exact cvxpy solution, warm starts, and input validation."""

from __future__ import annotations

import pytest
import torch
from convex_helpers import curved_picnn, polyhedral_cone

from icnn_rl.convex import FICNN, SolverConfig, argmin, rl_picnn, solve
from icnn_rl.convex.bundle_entropy import bundle_entropy
from icnn_rl.convex.exact import exact_argmin

pytest.importorskip("cvxpy")


def _rel_err(obj: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    return (obj - ref).abs() / ref.abs().clamp_min(1.0)


@pytest.mark.parametrize("activation, y_dim, bounds", [
    ("relu", 2, (0.0, 1.0)), ("relu", 6, (-1.0, 1.0)), ("leaky_relu", 6, (-1.0, 1.0)), ("leaky_relu", 3, (-2.0, 3.0)),
])
@pytest.mark.parametrize("proximal", [0.0, 3.0])
def test_bundle_entropy_reaches_exact_objective_every_row(activation: str, y_dim: int, bounds, proximal) -> None:
    net = curved_picnn(4, y_dim, activation, seed=y_dim)
    x = torch.randn(12, 4, dtype=torch.float64)
    _, ref = exact_argmin(net, x, bounds=bounds)
    config = SolverConfig(max_iter=60 if proximal else 30, proximal=proximal)
    result = argmin(net, x, config=config, bounds=bounds)   # one call
    assert result.converged.all()
    assert (_rel_err(result.objective, ref) <= 1e-4).all()
    assert (result.objective - ref <= result.gap + 1e-9).all()      # the certified gap bounds the excess
    assert (result.y >= bounds[0]).all() and (result.y <= bounds[1]).all()
    assert (result.iterations >= 1).all() and (result.iterations <= SolverConfig().max_iter).all()


def test_bundle_entropy_with_cut_pruning_reaches_exact_objective() -> None:
    net = curved_picnn(4, 5, "leaky_relu", seed=7)
    x = torch.randn(12, 4, dtype=torch.float64)
    _, ref = exact_argmin(net, x, bounds=(-1.0, 1.0))
    result = argmin(net, x, config=SolverConfig(prune=True), bounds=(-1.0, 1.0))
    assert result.converged.all() and (_rel_err(result.objective, ref) <= 1e-4).all()


def test_bundle_entropy_in_float32_with_the_rl_network() -> None:
    torch.manual_seed(0)
    net = rl_picnn(11, 6, (64, 64), init="torch")
    x = torch.randn(32, 11)
    _, ref = exact_argmin(net, x, bounds=(-1.0, 1.0))
    result = argmin(net, x, bounds=(-1.0, 1.0))
    assert (_rel_err(result.objective.double(), ref) <= 1e-4).all()


@pytest.mark.parametrize("method, lr, iters", [("adam", 0.01, 3000), ("paper_adam", 0.01, 3000),
                                              ("pgd", 0.002, 3000), ("nesterov", 0.002, 1500)])
def test_first_order_methods_reach_exact_objective(method: str, lr: float, iters: int) -> None:
    net = curved_picnn(3, 3, "relu", y_scale=3.0, seed=1)
    x = torch.randn(8, 3, dtype=torch.float64)
    _, ref = exact_argmin(net, x, bounds=(-1.0, 1.0))
    result = argmin(net, x, config=SolverConfig(method=method, lr=lr, max_iter=iters, tol=1e-12),
                    bounds=(-1.0, 1.0))
    assert (_rel_err(result.objective, ref) <= 1e-3).all()


def test_without_entropy_first_order_solves_the_box_lp() -> None:
    net = curved_picnn(3, 2, "relu", y_scale=3.0, seed=2)
    x = torch.randn(8, 3, dtype=torch.float64)
    _, ref = exact_argmin(net, x, entropy_weight=0.0, bounds=(-1.0, 1.0))
    result = argmin(net, x, config=SolverConfig(method="adam", entropy_weight=0.0, max_iter=3000, lr=0.01,
                                                tol=1e-12), bounds=(-1.0, 1.0))
    assert (_rel_err(result.objective, ref) <= 1e-3).all()


def test_ficnn_exact_and_bundle_agree() -> None:
    torch.manual_seed(3)
    net = FICNN(2, 3, (16, 16), init="torch").double()
    x = torch.randn(6, 2, dtype=torch.float64)
    _, ref = exact_argmin(net, x)
    assert (_rel_err(argmin(net, x).objective, ref) <= 1e-4).all()


def test_warm_start_from_the_solution_needs_fewer_evaluations() -> None:
    net = curved_picnn(4, 6, "relu", seed=5)
    x = torch.randn(16, 4, dtype=torch.float64)
    cold = argmin(net, x, bounds=(-1.0, 1.0))
    warm = argmin(net, x, y0=cold.y, bounds=(-1.0, 1.0))
    assert warm.iterations.sum() < cold.iterations.sum()
    assert (warm.objective <= cold.objective + 1e-9).all()


def test_proximal_steps_stop_the_zigzag_on_a_kink_near_the_start() -> None:
    """Many linear pieces meet at the argmin, the start is near it and ε is small: plain steps jump
    to far corners of the box (each cut taken far from the argmin), proximal ones stay near the
    best point and certify every row in fewer evaluations."""
    energy, vertex = polyhedral_cone(64, 8, 32, seed=0)
    y0 = (vertex + 0.2 * torch.randn(64, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1)))
    y0 = y0.clamp(-0.99, 0.99)
    solves = {mu: solve(energy, y0, SolverConfig(max_iter=100, tol=0.0, atol=1e-2, entropy_weight=0.01, proximal=mu),
                        bounds=(-1.0, 1.0)) for mu in (0.0, 3.0)}
    assert solves[3.0].converged.all() and (solves[3.0].gap <= 1e-2).all()
    plain, proximal = (solves[mu].iterations.double().mean() for mu in (0.0, 3.0))
    assert proximal < 0.7 * plain, (plain, proximal)


def test_rows_are_independent() -> None:
    """Solving a batch gives each row the answer it gets alone (no cross-row coupling)."""
    net = curved_picnn(4, 3, "leaky_relu", seed=6)
    x = torch.randn(5, 4, dtype=torch.float64)
    together = argmin(net, x, bounds=(-1.0, 1.0))
    alone = torch.cat([argmin(net, x[i:i + 1], bounds=(-1.0, 1.0)).objective for i in range(5)])
    torch.testing.assert_close(together.objective, alone, atol=1e-7, rtol=1e-7)


def test_skipping_finished_rows_does_not_change_the_solution() -> None:
    """Bundle entropy evaluates only running rows of a ConditionedEnergy; a plain callable of the same
    network (no ``rows``) is evaluated on every row. Both must give the same solve."""
    net = curved_picnn(4, 3, "leaky_relu", seed=7)
    x = torch.randn(64, 4, dtype=torch.float64)
    y0 = torch.zeros(64, 3, dtype=torch.float64)
    config = SolverConfig(max_iter=8, tol=1e-6)
    energy = net.condition(x)
    restricted = solve(energy, y0, config, bounds=(-1.0, 1.0))
    full = solve(lambda y: energy(y), y0, config, bounds=(-1.0, 1.0))
    assert 1 < restricted.iterations.min() < restricted.iterations.max()   # rows finish at different times
    torch.testing.assert_close(restricted.y, full.y, atol=1e-9, rtol=0)
    torch.testing.assert_close(restricted.iterations, full.iterations)


@pytest.mark.parametrize("call, match", [
    (lambda net, x: argmin(net, x, y0=torch.full((4, 2), 2.0)), "outside the box"),
    (lambda net, x: argmin(net, x, y0=torch.rand(4, 3)), "y0 has shape"),
    (lambda net, x: argmin(net, torch.randn(4, 5)), "x has shape"),
    (lambda net, x: argmin(net, x.clone().fill_(float("nan"))), "x contains non-finite"),
    (lambda net, x: argmin(net, x, y0=torch.full((4, 2), float("nan"))), "y0 contains non-finite"),
    (lambda net, x: argmin(net, x, bounds=(1.0, 0.0)), "bounds"),
    (lambda net, x: argmin(net, x, grad="backprop"), "grad="),
    (lambda net, x: argmin(net, x, grad="unroll"), "first-order"),
    (lambda net, x: argmin(net, x, config=SolverConfig(proximal=3.0), grad="implicit"), "proximal=3.0"),
    (lambda net, x: SolverConfig(proximal=-1.0), "proximal >= 0"),
    (lambda net, x: bundle_entropy(net.condition(x), torch.zeros(4, 2), proximal=-1.0), "proximal=-1.0 must be"),
    (lambda net, x: SolverConfig(method="newton"), "solver method"),
    (lambda net, x: SolverConfig.from_dict({"max_iters": 3}), "unknown solver setting"),
    (lambda net, x: solve(net.condition(x), torch.rand(4, 2), SolverConfig(entropy_weight=0.0)), "entropy weight"),
])
def test_bad_input_raises_a_named_value_error(call, match) -> None:
    net = rl_picnn(3, 2, (8, 8))
    with pytest.raises(ValueError, match=match):
        call(net, torch.randn(4, 3))


def test_solver_config_round_trips() -> None:
    cfg = SolverConfig(method="paper_adam", max_iter=100, lr=0.02)
    assert SolverConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_solvers_run_on_cuda() -> None:
    net = rl_picnn(5, 3, (32, 32)).cuda()
    x = torch.randn(64, 5, device="cuda")
    for method in ("bundle_entropy", "adam"):
        result = argmin(net, x, config=SolverConfig(method=method), bounds=(-1.0, 1.0))
        assert result.y.device.type == "cuda" and torch.isfinite(result.objective).all()
