"""Fully input convex neural network (FICNN), convex jointly in all its inputs v = [x, y].

    z_1 = g(W^(v)_0 v + b_0),   z_{i+1} = g(W^(z)_i z_i + W^(v)_i v + b_i),   f(v) = z_{L+1}

with W^(z) >= 0, g convex and non-decreasing on hidden layers, identity on the last (output size 1).
The input v passes into every layer (the paper's skip connections), so f is convex in (x, y); as an
energy for prediction, x is the given part and y the part solved for. (The original synthetic code
returned the sum of the second hidden layer instead of the output layer; this is the paper's FICNN.)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .nonneg import NonNeg, NonNegLinear, check_nonneg_mode, init_linear_
from .picnn import check_sizes, convex_activation, rows_like
from .problem import ConditionedEnergy
from .validation import check_energy_inputs


class FICNN(nn.Module):
    """f(x, y) = FICNN([x, y]), convex in (x, y) together.

    :param x_dim: size of the given input x (0 for a function of y alone; then pass x = None or [B, 0]).
    :param y_dim: size of the input solved for.
    :param hidden: hidden sizes; the output has size 1.
    :param activation, negative_slope, nonneg, init, init_divisor: as for :class:`~icnn_rl.convex.PICNN`.
    """

    def __init__(self, x_dim: int, y_dim: int, hidden: Sequence[int] = (200, 200), activation: str = "relu",
                 negative_slope: float = 0.01, nonneg: NonNeg = "clip", init: str = "paper",
                 init_divisor: float = 1.0) -> None:
        super().__init__()
        self.x_dim, self.y_dim, self.hidden = x_dim, y_dim, check_sizes("FICNN", x_dim, y_dim, hidden, 0)
        self.activation, self.negative_slope = activation, negative_slope
        self._g = convex_activation(activation, negative_slope)
        check_nonneg_mode(nonneg)
        outs = (*self.hidden, 1)
        self.bias = nn.ParameterList(nn.Parameter(torch.zeros(o)) for o in outs)
        self.x_to_out = nn.ModuleList(init_linear_(nn.Linear(x_dim, o, bias=False), init) for o in outs) \
            if x_dim > 0 else None
        self.y_to_out = nn.ModuleList(init_linear_(nn.Linear(y_dim, o, bias=False), init) for o in outs)
        self.z_to_out = nn.ModuleList(
            NonNegLinear(outs[i - 1], outs[i], nonneg, init, init_divisor) for i in range(1, len(outs)))

    def _x_terms(self, x: Tensor | None, batch: int) -> list[Tensor]:
        """c_i = W^(v)_i[:, x] x + b_i, [B, out_i]."""
        if self.x_to_out is None:
            return [b.expand(batch, -1) for b in self.bias]
        if x is None:
            raise ValueError(f"x is None but this FICNN has x_dim={self.x_dim}")
        check_energy_inputs(x, self.x_dim, "x")
        return [layer(x) + b for layer, b in zip(self.x_to_out, self.bias)]

    def condition(self, x: Tensor | None, batch: int = 1) -> ConditionedEnergy:
        """Precompute the x-terms and return ``energy(y) -> f(x, y)`` (``batch`` rows when x is None)."""
        return ConditionedEnergy(self._energy, self._x_terms(x, batch if x is None else x.shape[0]))

    def _energy(self, xs: list[Tensor], y: Tensor) -> Tensor:
        check_energy_inputs(y, self.y_dim, "y", batch=xs[0].shape[0])
        z = None
        last = len(xs) - 1
        for i, c in enumerate(xs):
            pre = rows_like(c, y) + self.y_to_out[i](y)
            if z is not None:
                pre = pre + self.z_to_out[i - 1](z)
            z = pre if i == last else self._g(pre)
        return z.squeeze(-1)

    def forward(self, x: Tensor | None, y: Tensor) -> Tensor:
        """f(x, y) for x [B, x_dim] (or None when x_dim = 0), y [B, y_dim] -> [B]."""
        return self.condition(x, y.shape[0])(y)

    @torch.no_grad()
    def epigraph_terms(self, x: Tensor | None, batch: int = 1) -> list[tuple[Tensor | None, Tensor, Tensor]]:
        """Per layer pre_i = A_i z_i + C_i y + c_i, shaped as :meth:`PICNN.epigraph_terms`."""
        xs = self._x_terms(x, batch if x is None else x.shape[0])
        B = xs[0].shape[0]
        out = []
        for i, c in enumerate(xs):
            A = None if i == 0 else self.z_to_out[i - 1].weight().unsqueeze(0).expand(B, -1, -1)
            out.append((A, self.y_to_out[i].weight.unsqueeze(0).expand(B, -1, -1), c))
        return out
