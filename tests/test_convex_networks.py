"""Convexity in y of every network kind, before and after training steps; the W^(z) constraint."""

from __future__ import annotations

import pytest
import torch

from icnn_rl.convex import FICNN, PICNN, ConvPICNN, attach_projection, is_convex, rl_picnn


def _jensen_gap(energy, a: torch.Tensor, b: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    """λ f(a) + (1−λ) f(b) − f(λ a + (1−λ) b), which convexity makes >= 0."""
    mix = lam * a + (1 - lam) * b
    return lam.squeeze(-1) * energy(a) + (1 - lam.squeeze(-1)) * energy(b) - energy(mix)


def _nets() -> dict[str, tuple[torch.nn.Module, tuple[int, ...], int]]:
    """name -> (net, x shape without batch, y_dim)."""
    nets = {
        "picnn-relu-clip": (PICNN(5, 3, (16, 16), init="torch"), (5,), 3),
        "picnn-leaky-softplus": (PICNN(5, 3, (16, 16), activation="leaky_relu", nonneg="softplus", init="torch"), (5,), 3),
        "picnn-softplus-exp-bn": (PICNN(5, 3, (16, 16), activation="softplus", nonneg="exp", batch_norm=True), (5,), 3),
        "rl-picnn": (rl_picnn(7, 2, (16, 16)), (7,), 2),
        "ficnn": (FICNN(2, 3, (16, 16), init="torch"), (2,), 3),
        "conv-picnn": (ConvPICNN((16, 8), channels=(4, 8, 8), fc=16, init="torch"), (1, 16, 8), 128),
    }
    return nets


@pytest.mark.parametrize("name", list(_nets()))
def test_convex_in_y_before_and_after_training(name: str) -> None:
    torch.manual_seed(0)
    net, x_shape, y_dim = _nets()[name]
    net = net.double()
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    attach_projection(opt, net)
    x = torch.randn(32, *x_shape, dtype=torch.float64)
    for step in range(4):
        if step:  # a few steps of a loss that pushes W^(z) negative if unconstrained
            net.train()
            loss = -net(x, torch.rand(32, y_dim, dtype=torch.float64)).mean() ** 2
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        assert is_convex(net)
        with torch.no_grad():
            energy = net.condition(x)
            for _ in range(5):
                a, b = torch.rand(2, 32, y_dim, dtype=torch.float64) * 4 - 2
                lam = torch.rand(32, 1, dtype=torch.float64)
                assert (_jensen_gap(energy, a, b, lam) >= -1e-5).all(), f"{name}: Jensen fails at step {step}"


def test_nonconvex_baseline_is_detectably_nonconvex() -> None:
    """With the constraint off (nonneg='none') and negative W^(z), Jensen's inequality can fail: the test has teeth."""
    torch.manual_seed(0)
    net = PICNN(2, 1, (32, 32), nonneg="none", init="torch").double()
    with torch.no_grad():
        for layer in net.layers[1:]:
            layer.z_to_out.weight.raw.copy_(-layer.z_to_out.weight.raw.abs() * 5)
    x = torch.randn(64, 2, dtype=torch.float64)
    energy = net.condition(x)
    a, b = torch.rand(2, 64, 1, dtype=torch.float64) * 6 - 3
    gaps = _jensen_gap(energy, a, b, torch.full((64, 1), 0.5, dtype=torch.float64))
    assert not is_convex(net)
    assert (gaps < -1e-5).any()


def test_projection_runs_after_every_step_and_saved_models_are_convex(tmp_path) -> None:
    net = PICNN(3, 2, (8, 8))
    opt = torch.optim.SGD(net.parameters(), lr=10.0)
    attach_projection(opt, net)
    loss = -net(torch.randn(16, 3), torch.rand(16, 2)).sum() * 1e3
    loss.backward()
    opt.step()
    assert is_convex(net)
    path = tmp_path / "net.pt"
    torch.save(net.state_dict(), path)
    fresh = PICNN(3, 2, (8, 8))
    fresh.load_state_dict(torch.load(path))
    assert is_convex(fresh)


def test_loading_a_nonconvex_state_is_rejected() -> None:
    net = PICNN(3, 2, (8, 8))
    state = net.state_dict()
    key = next(k for k in state if k.endswith("z_to_out.weight.raw"))
    state[key] = -state[key].abs() - 1
    with pytest.raises(ValueError, match="not convex"):
        PICNN(3, 2, (8, 8)).load_state_dict(state)
    state[key] = torch.full_like(state[key], float("nan"))
    with pytest.raises(ValueError, match="non-finite"):
        PICNN(3, 2, (8, 8)).load_state_dict(state)


def test_energy_broadcasts_k_points_per_row() -> None:
    net = rl_picnn(4, 3, (8, 8))
    x = torch.randn(5, 4)
    ys = torch.rand(5, 6, 3)
    batched = net.condition(x)(ys)
    looped = torch.stack([net(x, ys[:, k]) for k in range(6)], 1)
    torch.testing.assert_close(batched, looped)
    conv = ConvPICNN((16, 8), channels=(2, 4, 4), fc=8).eval()
    xi = torch.rand(3, 1, 16, 8)
    yi = torch.rand(3, 4, 128)
    torch.testing.assert_close(conv.condition(xi)(yi), torch.stack([conv(xi, yi[:, k]) for k in range(4)], 1))


@pytest.mark.parametrize("name", list(_nets()))
def test_energy_restricted_to_rows_matches_the_full_batch(name: str) -> None:
    """condition(x).rows(i)(y[i]) == condition(x)(y)[i]: what the solvers use to skip finished rows."""
    torch.manual_seed(0)
    net, x_shape, y_dim = _nets()[name]
    net.eval()
    x = torch.randn(6, *x_shape)
    y = torch.rand(6, y_dim)
    rows = torch.tensor([4, 1, 3])
    energy = net.condition(x)
    torch.testing.assert_close(energy.rows(rows)(y[rows]), energy(y)[rows])
    with pytest.raises(ValueError, match="batch|expected"):
        energy.rows(rows)(y)


@pytest.mark.parametrize("kwargs, match", [
    ({"activation": "tanh"}, "activation"),
    ({"nonneg": "abs"}, "nonneg"),
    ({"hidden": ()}, "hidden"),
])
def test_bad_network_settings_are_named(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        PICNN(3, 2, **kwargs)


def test_wrong_shapes_are_named() -> None:
    net = PICNN(3, 2, (8,))
    with pytest.raises(ValueError, match="x has shape"):
        net(torch.randn(4, 5), torch.rand(4, 2))
    with pytest.raises(ValueError, match="y has shape"):
        net(torch.randn(4, 3), torch.rand(4, 3))
    with pytest.raises(ValueError, match="batch size"):
        net(torch.randn(4, 3), torch.rand(5, 2))
