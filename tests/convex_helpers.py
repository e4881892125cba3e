"""Small random convex networks shared by the convex-core tests."""

from __future__ import annotations

import torch

from icnn_rl.convex import PICNN


def curved_picnn(x_dim: int, y_dim: int, activation: str = "relu", hidden: tuple[int, ...] = (16, 16),
                 y_scale: float = 10.0, seed: int = 0) -> PICNN:
    """A float64 PICNN whose minimiser sits among several kinks (y-weights scaled up), not at the centre."""
    torch.manual_seed(seed)
    net = PICNN(x_dim, y_dim, hidden, activation=activation, init="torch").double()
    with torch.no_grad():
        for layer in net.layers:
            layer.y_to_out.weight.mul_(y_scale)
    return net


def polyhedral_cone(rows: int, y_dim: int, pieces: int, seed: int = 0):
    """Per row, f(y) = max_k a_kᵀ(y − y*): ``pieces`` random linear pieces all meeting at a vertex y*
    inside [-0.5, 0.5]^n (the kind of kink an RL critic's argmin sits on). Returns the energy and y*."""
    gen = torch.Generator().manual_seed(seed)
    slopes = torch.randn(rows, pieces, y_dim, dtype=torch.float64, generator=gen)
    vertex = torch.rand(rows, y_dim, dtype=torch.float64, generator=gen) - 0.5

    def energy(y: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bkn,bn->bk", slopes, y - vertex).amax(1)

    return energy, vertex
