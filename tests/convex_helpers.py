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
