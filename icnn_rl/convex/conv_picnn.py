"""The convolutional PICNN of the image-completion experiment (locuslab/icnn `completion/icnn.back.py`).

x (the given half image) and y (the half to complete) are images [B, 1, H, W]; the solvers see y
flattened to [B, H·W]. A DQN-like x-path u_0 = x, u_{l+1} = BN(relu(conv_l(u_l))) (three convs:
32 8×8/4, 64 4×4/2, 64 3×3/1, TF "same" padding), then u_fc = BN(relu(fc(u_3))). The convex path
mirrors it; for conv layers l = 0, 1, 2

    z_{l+1} = relu( conv^(z)_l(z_l ∘ relu(conv^(zu)_l u_l)) + conv^(y)_l(ŷ_l ∘ conv^(yu)_l u_l) + conv^(u)_l u_l )

with conv^(z) >= 0 (absent for l = 0), where ŷ_0 = y and ŷ_{l+1} = conv^(ŷ)_l(ŷ_l) is an affine
(unconstrained) down-sampling of y, so every y-term is affine in y. Two fully connected z-layers
follow (fc units with ReLU, then 1, linear), each W^(z)(z ∘ relu(W^(zu) u) ) + W^(u) u, with no
y-term, as in the original. Convex in y for W^(z) >= 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from .nonneg import NonNeg, NonNegativeWeight, NonNegLinear, check_nonneg_mode, init_linear_
from .problem import ConditionedEnergy


def same_padding(x: Tensor, kernel: int, stride: int) -> Tensor:
    """Pad x [N, C, H, W] as TensorFlow's "same": the output has ceil(H/stride) × ceil(W/stride) pixels."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class SameConv2d(nn.Conv2d):
    """Conv2d with TF "same" padding at any stride; ``paper`` init is tflearn's uniform scaling."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, bias: bool = True, init: str = "paper"):
        super().__init__(c_in, c_out, kernel, stride, padding=0, bias=bias)
        if init == "paper":
            bound = math.sqrt(3.0 / (c_in * kernel * kernel))
            nn.init.uniform_(self.weight, -bound, bound)
            if self.bias is not None:
                nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(same_padding(x, self.kernel_size[0], self.stride[0]))


class NonNegConv2d(nn.Module):
    """A "same" convolution with a non-negative kernel and no bias: conv^(z) of the convex path."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, nonneg: NonNeg, init: str, divisor: float):
        super().__init__()
        template = SameConv2d(c_in, c_out, kernel, stride, bias=False, init=init)
        self.kernel, self.stride = kernel, stride
        self.weight = NonNegativeWeight(template.weight.detach(), nonneg, divisor)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(same_padding(x, self.kernel, self.stride), self.weight(), stride=self.stride)


def _per_row(a: Tensor, t: Tensor, op: str) -> Tensor:
    """a [B·K, ...] combined with a per-row t [B, ...] (each row's K points share t), as a·t or a + t."""
    B = t.shape[0]
    a5 = a.view(B, a.shape[0] // B, *a.shape[1:])
    out = a5 * t.unsqueeze(1) if op == "mul" else a5 + t.unsqueeze(1)
    return out.view_as(a)


class ConvPICNN(nn.Module):
    """f(x, y) for half images x, y [B, 1, H, W], convex in y (equations in the module docstring).

    :param image_shape: (H, W) of x and y (64 × 32 for Olivetti halves).
    :param channels, kernels, strides: the three conv layers (defaults: the paper's DQN-like stack).
    :param fc: width of the fully connected layer.
    :param nonneg: ``clip`` (paper, init |W|/``init_divisor``), ``softplus``, ``exp`` or ``none`` (non-convex baseline).
    :param batch_norm: BatchNorm after each x-path layer (the paper's choice).
    """

    def __init__(self, image_shape: tuple[int, int] = (64, 32), channels: Sequence[int] = (32, 64, 64),
                 kernels: Sequence[int] = (8, 4, 3), strides: Sequence[int] = (4, 2, 1), fc: int = 512,
                 nonneg: NonNeg = "clip", init: str = "paper", init_divisor: float = 2.0,
                 batch_norm: bool = True) -> None:
        super().__init__()
        if not len(channels) == len(kernels) == len(strides) >= 1:
            raise ValueError("channels, kernels and strides need one entry per conv layer")
        check_nonneg_mode(nonneg)
        self.image_shape = (int(image_shape[0]), int(image_shape[1]))
        self.y_dim = self.image_shape[0] * self.image_shape[1]
        self.kernels, self.strides = tuple(kernels), tuple(strides)
        c_in = (1, *channels[:-1])
        norm2d = (lambda c: nn.BatchNorm2d(c)) if batch_norm else (lambda c: nn.Identity())
        self.u_convs = nn.ModuleList(SameConv2d(c_in[i], channels[i], kernels[i], strides[i], init=init)
                                     for i in range(len(channels)))
        self.u_norms = nn.ModuleList(norm2d(c) for c in channels)
        h, w = self.image_shape
        for s in strides:
            h, w = math.ceil(h / s), math.ceil(w / s)
        flat = channels[-1] * h * w
        self.u_fc = init_linear_(nn.Linear(flat, fc), init)
        self.u_fc_norm = nn.BatchNorm1d(fc) if batch_norm else nn.Identity()
        L = len(channels)
        self.z_u = nn.ModuleList(SameConv2d(c_in[i], channels[i], kernels[i], strides[i], init=init) for i in range(L))
        self.y_gate = nn.ModuleList(SameConv2d(c_in[i], 1, 3, 1, init=init) for i in range(L))
        self.z_y = nn.ModuleList(SameConv2d(1, channels[i], kernels[i], strides[i], bias=False, init=init)
                                 for i in range(L))
        self.y_down = nn.ModuleList(SameConv2d(1, 1, kernels[i], strides[i], init=init) for i in range(L - 1))
        self.z_gate = nn.ModuleList(SameConv2d(c_in[i], channels[i - 1], 3, 1, init=init) for i in range(1, L))
        self.z_z = nn.ModuleList(NonNegConv2d(channels[i - 1], channels[i], kernels[i], strides[i], nonneg, init,
                                              init_divisor) for i in range(1, L))
        self.fc_gate = nn.ModuleList([init_linear_(nn.Linear(flat, flat), init), init_linear_(nn.Linear(fc, fc), init)])
        self.fc_u = nn.ModuleList([init_linear_(nn.Linear(flat, fc), init), init_linear_(nn.Linear(fc, 1), init)])
        self.fc_z = nn.ModuleList([NonNegLinear(flat, fc, nonneg, init, init_divisor),
                                   NonNegLinear(fc, 1, nonneg, init, init_divisor)])

    def _check_image(self, t: Tensor, name: str) -> None:
        if not isinstance(t, Tensor) or t.dim() != 4 or tuple(t.shape[1:]) != (1, *self.image_shape):
            raise ValueError(f"{name} has shape {tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__}; "
                             f"expected [batch, 1, {self.image_shape[0]}, {self.image_shape[1]}]")

    def condition(self, x: Tensor) -> ConditionedEnergy:
        """Precompute the x-path and return ``energy(y)`` for y flat [B, H·W] or [B, K, H·W]."""
        self._check_image(x, "x")
        us = [x]
        for conv, norm in zip(self.u_convs, self.u_norms):
            us.append(norm(F.relu(conv(us[-1]))))
        u_flat = us[-1].flatten(1)
        u_fc = self.u_fc_norm(F.relu(self.u_fc(u_flat)))
        conv_terms = [(self.z_u[i](us[i]), self.y_gate[i](us[i]), F.relu(self.z_gate[i - 1](us[i])) if i else None)
                      for i in range(len(self.u_convs))]
        fc_terms = [(self.fc_u[j](u), F.relu(self.fc_gate[j](u))) for j, u in enumerate((u_flat, u_fc))]
        return ConditionedEnergy(self._energy, (conv_terms, fc_terms))

    def _energy(self, terms: tuple[list, list], y: Tensor) -> Tensor:
        conv_terms, fc_terms = terms
        B = fc_terms[0][0].shape[0]
        if y.dim() < 2 or y.shape[0] != B or y.shape[-1] != self.y_dim:
            raise ValueError(f"y has shape {tuple(y.shape)}; expected [{B}, {self.y_dim}] or [{B}, K, {self.y_dim}]")
        lead = y.shape[:-1]
        y_red = y.reshape(-1, 1, *self.image_shape)
        z = None
        for i, (c, ygate, zgate) in enumerate(conv_terms):
            pre = _per_row(self.z_y[i](_per_row(y_red, ygate, "mul")), c, "add")
            if z is not None:
                pre = pre + self.z_z[i - 1](_per_row(z, zgate, "mul"))
            z = F.relu(pre)
            if i < len(conv_terms) - 1:
                y_red = self.y_down[i](y_red)
        z = z.flatten(1)
        for j, (c, gate) in enumerate(fc_terms):
            z = _per_row(self.fc_z[j](_per_row(z, gate, "mul")), c, "add")
            if j == 0:
                z = F.relu(z)
        return z.view(lead)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """f(x, y) for images x, y [B, 1, H, W] (y may also be flat [B, H·W]) -> [B]."""
        return self.condition(x)(y.flatten(1) if y.dim() == 4 else y)
