"""Argmin differentiation (unrolled and implicit KKT) against central finite differences in float64."""

from __future__ import annotations

import pytest
import torch
from convex_helpers import curved_picnn

from icnn_rl.convex import ConvPICNN, SolverConfig, argmin


def _directional_check(loss_fn, tensors: list[torch.Tensor], seed: int, h: float = 1e-6) -> tuple[float, float]:
    """(analytic, central finite-difference) derivative of loss_fn() along a random direction of ``tensors``.

    The forward and backward one-sided differences must agree first: where they do not, the argmin
    is not differentiable along this direction (an active-set change within ±h), and the instance,
    not the gradient, is at fault.
    """
    loss = loss_fn(differentiable=True)
    grads = torch.autograd.grad(loss, tensors, allow_unused=True)
    gen = torch.Generator().manual_seed(seed)
    dirs = [torch.randn(t.shape, generator=gen, dtype=t.dtype) for t in tensors]
    analytic = sum(float((g * d).sum()) for g, d in zip(grads, dirs) if g is not None)
    values = []
    for sign in (1.0, -1.0):
        with torch.no_grad():
            for t, d in zip(tensors, dirs):
                t.add_(sign * h * d)
        values.append(float(loss_fn(differentiable=False).detach()))
        with torch.no_grad():
            for t, d in zip(tensors, dirs):
                t.sub_(sign * h * d)
    centre = float(loss_fn(differentiable=False).detach())
    forward, backward = (values[0] - centre) / h, (centre - values[1]) / h
    assert abs(forward - backward) <= 1e-4 * abs(forward) + 1e-9, ("not differentiable here", forward, backward)
    return analytic, (values[0] - values[1]) / (2 * h)


@pytest.mark.parametrize("activation, bounds, seed", [("relu", (0.0, 1.0), 0), ("leaky_relu", (-1.0, 1.0), 4),
                                                      ("relu", (-1.0, 1.0), 2)])
def test_implicit_bundle_gradient_matches_finite_differences(activation: str, bounds, seed: int) -> None:
    net = curved_picnn(3, 4, activation, hidden=(12, 12), y_scale=5.0, seed=seed)
    x = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    target = torch.rand(6, 4, dtype=torch.float64) * (bounds[1] - bounds[0]) + bounds[0]
    config = SolverConfig(max_iter=200, tol=1e-13)

    def loss(differentiable: bool) -> torch.Tensor:
        result = argmin(net, x, config=config, bounds=bounds, grad="implicit" if differentiable else "none")
        return ((result.y - target) ** 2).sum()

    for k, tensors in enumerate([list(net.parameters()), [x]]):
        analytic, fd = _directional_check(loss, tensors, seed=10 * seed + k)
        assert abs(analytic - fd) <= 1e-3 * abs(fd) + 1e-9, (analytic, fd)


@pytest.mark.parametrize("method, bounds", [("nesterov", None), ("adam", (0.0, 1.0)), ("pgd", (-1.0, 1.0))])
def test_unrolled_gradient_matches_finite_differences(method: str, bounds) -> None:
    net = curved_picnn(3, 2, "softplus", hidden=(12, 12), y_scale=2.0, seed=3)
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    target = torch.rand(5, 2, dtype=torch.float64)
    config = SolverConfig(method=method, max_iter=30, lr=0.01, momentum=0.9)

    def loss(differentiable: bool) -> torch.Tensor:
        return ((argmin(net, x, config=config, bounds=bounds, grad="unroll").y - target) ** 2).sum()

    for k, tensors in enumerate([list(net.parameters()), [x]]):
        analytic, fd = _directional_check(loss, tensors, seed=k)
        assert abs(analytic - fd) <= 1e-3 * abs(fd) + 1e-9, (analytic, fd)


def test_implicit_gradient_reaches_conv_picnn_parameters() -> None:
    torch.manual_seed(0)
    net = ConvPICNN((16, 8), channels=(2, 4, 4), fc=8, init="torch").double().eval()
    x = torch.rand(2, 1, 16, 8, dtype=torch.float64)
    result = argmin(net, x, config=SolverConfig(max_iter=5), grad="implicit")
    result.y.sum().backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads and any(bool(g.abs().sum() > 0) for g in grads)
