"""Partially input convex neural network (PICNN), convex in y, arbitrary in x.

With u_0 = x, for layers i = 0..L (hidden sizes h_1..h_L, output size 1):

    u_{i+1} = act_u(W̃_i u_i + b̃_i)                       (x-path; the last u layer is linear)
    z_{i+1} = g( W^(z)_i (z_i ∘ relu(W^(zu)_i u_i + b^(z)_i))
               + W^(y)_i (y ∘ (W^(yu)_i u_i + b^(y)_i))
               + W^(u)_i u_i + b_i )

with no z-term in the first layer, g convex and non-decreasing on hidden layers, identity on the
last, and W^(z) >= 0 (see :mod:`icnn_rl.convex.nonneg`). y only enters affinely and is then passed
through non-negative combinations of convex non-decreasing functions, so f(x, y) = z_{L+1} is
convex in y (Amos, Xu, Kolter 2017, Proposition 2). Optional BatchNorm sits on the first x-path
layer only, so it never touches y.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .nonneg import NonNeg, NonNegLinear, check_nonneg_mode, init_linear_
from .problem import ConditionedEnergy
from .validation import check_energy_inputs

ACTIVATIONS: tuple[str, ...] = ("relu", "leaky_relu", "softplus")


def convex_activation(name: str, negative_slope: float) -> Callable[[Tensor], Tensor]:
    """A convex, non-decreasing activation by name (``relu``, ``leaky_relu``, ``softplus``)."""
    if name == "relu":
        return F.relu
    if name == "leaky_relu":
        if not 0.0 <= negative_slope <= 1.0:
            raise ValueError(f"negative_slope={negative_slope} must lie in [0, 1] for a convex leaky ReLU")
        return lambda t: F.leaky_relu(t, negative_slope)
    if name == "softplus":
        return F.softplus
    raise ValueError(f"activation={name!r} is not a convex non-decreasing activation; valid: {', '.join(ACTIVATIONS)}")


def piecewise_linear_slope(name: str, negative_slope: float) -> float:
    """The slope left of 0 of a piecewise-linear activation (for the exact LP); softplus has none."""
    if name == "relu":
        return 0.0
    if name == "leaky_relu":
        return negative_slope
    raise ValueError(f"activation={name!r} is not piecewise linear; the exact LP needs relu or leaky_relu")


def check_sizes(kind: str, x_dim: int, y_dim: int, hidden: Sequence[int], min_x_dim: int) -> tuple[int, ...]:
    """Validate a network's input and hidden sizes; return the hidden sizes as a tuple of ints."""
    if x_dim < min_x_dim or y_dim < 1 or not hidden or any(h < 1 for h in hidden):
        raise ValueError(f"{kind} needs x_dim >= {min_x_dim}, y_dim >= 1 and non-empty positive hidden sizes; "
                         f"got x_dim={x_dim}, y_dim={y_dim}, hidden={tuple(hidden)}")
    return tuple(int(h) for h in hidden)


def rows_like(t: Tensor, y: Tensor) -> Tensor:
    """View a per-row tensor [B, d] so it broadcasts against y of shape [B, K..., n]."""
    return t.view(t.shape[0], *([1] * (y.dim() - 2)), t.shape[-1])


class _PICNNLayer(nn.Module):
    def __init__(self, u_dim: int, z_in: int | None, y_dim: int, out: int, nonneg: NonNeg,
                 init: str, divisor: float, gate_bias: float) -> None:
        super().__init__()
        self.u_to_out = init_linear_(nn.Linear(u_dim, out), init)                  # W^(u) u + b
        self.u_to_ygate = init_linear_(nn.Linear(u_dim, y_dim), init, gate_bias)   # W^(yu) u + b^(y)
        self.y_to_out = init_linear_(nn.Linear(y_dim, out, bias=False), init)      # W^(y)
        if z_in is not None:
            self.u_to_zgate = init_linear_(nn.Linear(u_dim, z_in), init, gate_bias)  # W^(zu) u + b^(z)
            self.z_to_out = NonNegLinear(z_in, out, nonneg, init, divisor)          # W^(z) >= 0


class PICNN(nn.Module):
    """f(x, y): a PICNN energy, convex in y (equations in the module docstring).

    :param x_dim: size of the non-convex input x.
    :param y_dim: size of the convex input y.
    :param hidden: hidden sizes h_1..h_L of both the x-path and the z-path.
    :param activation: g on hidden z layers: ``relu``, ``leaky_relu`` (slope ``negative_slope``) or ``softplus``.
    :param batch_norm: BatchNorm after the first x-path layer (never on the y/z path).
    :param nonneg: how W^(z) >= 0 is kept: ``clip`` (paper), ``softplus``, ``exp``, ``none`` (non-convex baseline).
    :param init: ``paper`` (truncated normal, std 0.02, as the original code) or ``torch`` defaults.
    :param init_divisor: the paper's one-time W^(z) <- |W^(z)| / c at initialisation.
    :param gate_bias: initial bias of the gate layers W^(zu), W^(yu) (1 in the paper's RL network).
    :param last_u_linear: the last x-path layer has no activation (the paper's RL and multi-label nets).
    """

    def __init__(self, x_dim: int, y_dim: int, hidden: Sequence[int] = (200, 200), activation: str = "relu",
                 negative_slope: float = 0.01, batch_norm: bool = False, nonneg: NonNeg = "clip",
                 init: str = "paper", init_divisor: float = 1.0, gate_bias: float = 0.0,
                 last_u_linear: bool = True) -> None:
        super().__init__()
        self.x_dim, self.y_dim, self.hidden = x_dim, y_dim, check_sizes("PICNN", x_dim, y_dim, hidden, 1)
        self.activation, self.negative_slope = activation, negative_slope
        self._g = convex_activation(activation, negative_slope)
        check_nonneg_mode(nonneg)
        self.last_u_linear = last_u_linear
        u_sizes = (x_dim, *self.hidden)
        self.u_layers = nn.ModuleList(
            init_linear_(nn.Linear(u_sizes[i], u_sizes[i + 1]), init) for i in range(len(self.hidden)))
        self.u_norm = nn.BatchNorm1d(self.hidden[0]) if batch_norm else None
        outs = (*self.hidden, 1)
        self.layers = nn.ModuleList(
            _PICNNLayer(u_sizes[i], None if i == 0 else outs[i - 1], y_dim, outs[i], nonneg, init,
                        init_divisor, gate_bias)
            for i in range(len(outs)))

    def _u_path(self, x: Tensor) -> list[Tensor]:
        us = [x]
        for i, layer in enumerate(self.u_layers):
            u = layer(us[-1])
            if not (self.last_u_linear and i == len(self.u_layers) - 1):
                u = F.relu(u)
            if i == 0 and self.u_norm is not None:
                u = self.u_norm(u)
            us.append(u)
        return us

    def condition(self, x: Tensor) -> ConditionedEnergy:
        """Precompute every x-only term and return ``energy(y) -> f(x, y)``.

        ``y`` is [B, y_dim] (returns [B]) or [B, K, y_dim] (returns [B, K], K points per row).
        """
        check_energy_inputs(x, self.x_dim, "x")
        terms = []
        for layer, u in zip(self.layers, self._u_path(x)):
            zgate = F.relu(layer.u_to_zgate(u)) if hasattr(layer, "z_to_out") else None
            terms.append((layer.u_to_out(u), layer.u_to_ygate(u), zgate))
        return ConditionedEnergy(self._energy, terms)

    def _energy(self, terms: list[tuple[Tensor, Tensor, Tensor | None]], y: Tensor) -> Tensor:
        check_energy_inputs(y, self.y_dim, "y", batch=terms[0][0].shape[0])
        z = None
        last = len(self.layers) - 1
        for i, (layer, (c, ygate, zgate)) in enumerate(zip(self.layers, terms)):
            pre = rows_like(c, y) + layer.y_to_out(y * rows_like(ygate, y))
            if z is not None:
                pre = pre + layer.z_to_out(z * rows_like(zgate, y))
            z = pre if i == last else self._g(pre)
        return z.squeeze(-1)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """f(x, y) for x [B, x_dim], y [B, y_dim] -> [B]."""
        return self.condition(x)(y)

    @torch.no_grad()
    def epigraph_terms(self, x: Tensor) -> list[tuple[Tensor | None, Tensor, Tensor]]:
        """Per layer, the x-dependent affine map pre_i = A_i z_i + C_i y + c_i (A_0 is None).

        A_i = W^(z)_i diag(relu(W^(zu) u_i + b^(z))) >= 0 is [B, out, z_in], C_i = W^(y)_i diag(W^(yu) u_i + b^(y))
        is [B, out, y_dim] and c_i is [B, out]: the data of the paper's "inference is a linear program" epigraph.
        """
        check_energy_inputs(x, self.x_dim, "x")
        out = []
        for layer, u in zip(self.layers, self._u_path(x)):
            c = layer.u_to_out(u)
            C = layer.y_to_out.weight.unsqueeze(0) * layer.u_to_ygate(u).unsqueeze(1)
            A = None
            if hasattr(layer, "z_to_out"):
                A = layer.z_to_out.weight().unsqueeze(0) * F.relu(layer.u_to_zgate(u)).unsqueeze(1)
            out.append((A, C, c))
        return out


def rl_picnn(obs_dim: int, act_dim: int, hidden: Sequence[int] = (200, 200), batch_norm: bool = False,
             negative_slope: float = 0.01, nonneg: NonNeg = "clip", init: str = "paper",
             activation: str = "leaky_relu") -> PICNN:
    """The paper's RL network f(s, a) = −Q(s, a) (locuslab/icnn ``RL/src/icnn.py``).

    Leaky ReLU (slope 0.01) on the z-path, ReLU on the x-path with a linear last u layer, gate
    biases initialised to 1 so the minimiser starts near the centre of the action box, W^(z) <- |W^(z)|
    at initialisation and clamped after each step, optional BatchNorm on the first x-path layer.
    ``activation="softplus"`` makes the z-path smooth, so f is differentiable in a and its minimiser
    no longer sits on a kink (where one cut cannot certify it); the x-path stays ReLU.
    """
    return PICNN(obs_dim, act_dim, hidden, activation=activation, negative_slope=negative_slope,
                 batch_norm=batch_norm, nonneg=nonneg, init=init, init_divisor=1.0, gate_bias=1.0,
                 last_u_linear=True)
