"""Non-negative weights W^(z): the constraint that makes an ICNN convex.

Convexity of z_{i+1} = g(W^(z) z_i + ...) in the convex input needs W^(z) >= 0 and g convex and
non-decreasing. Three ways to keep W^(z) >= 0 are offered (``nonneg``):

- ``"clip"``: the paper's projection. At initialisation W <- |W| / c, and after every optimizer step
  W <- max(W, 0) (call :func:`project_` or register it with :func:`attach_projection`).
- ``"softplus"`` / ``"exp"``: reparameterisation W = softplus(V) or W = exp(V); always non-negative,
  nothing to project.
- ``"none"``: the constraint is off (the paper's non-convex baseline, same architecture).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NonNeg = Literal["clip", "softplus", "exp", "none"]
NONNEG_MODES: tuple[str, ...] = ("clip", "softplus", "exp", "none")


def check_nonneg_mode(mode: str) -> NonNeg:
    """Return ``mode`` if it names a non-negativity mode, else raise a ValueError listing them."""
    if mode not in NONNEG_MODES:
        raise ValueError(f"nonneg={mode!r} is not a non-negativity mode; valid: {', '.join(NONNEG_MODES)}")
    return mode  # type: ignore[return-value]


class NonNegativeWeight(nn.Module):
    """A weight tensor W >= 0 stored as a raw parameter V, with W = map(V) per ``mode``.

    Initialised from ``init`` (any real tensor) as W = |init| / divisor, the paper's one-time
    projection; for the reparameterised modes V is chosen so that map(V) equals that W.
    """

    def __init__(self, init: Tensor, mode: NonNeg = "clip", divisor: float = 1.0) -> None:
        super().__init__()
        self.mode = check_nonneg_mode(mode)
        w = init.abs() / divisor if mode != "none" else init.clone()
        if mode == "softplus":
            w = torch.where(w > 20, w, torch.log(torch.expm1(w.clamp_min(1e-12))))
        elif mode == "exp":
            w = torch.log(w.clamp_min(1e-12))
        self.raw = nn.Parameter(w)
        self._register_load_state_dict_pre_hook(self._check_loaded)

    def forward(self) -> Tensor:
        if self.mode == "softplus":
            return F.softplus(self.raw)
        if self.mode == "exp":
            return torch.exp(self.raw)
        return self.raw

    @torch.no_grad()
    def project_(self) -> None:
        """Clamp the weight to >= 0 in place (mode ``clip``; a no-op otherwise)."""
        if self.mode == "clip":
            self.raw.clamp_(min=0.0)

    def _check_loaded(self, state_dict: dict, prefix: str, *args: object) -> None:
        raw = state_dict.get(prefix + "raw")
        if raw is None:
            return
        if not torch.isfinite(raw).all():
            raise ValueError(f"checkpoint entry {prefix}raw has non-finite values: the file is corrupt")
        if self.mode == "clip" and (raw < 0).any():
            raise ValueError(
                f"checkpoint entry {prefix}raw has negative entries, so the network it describes is not "
                "convex; was it saved without the W^(z) projection (attach_projection)?"
            )


class NonNegLinear(nn.Module):
    """y = W x with W >= 0 (a :class:`NonNegativeWeight`), no bias: the z-to-z map W^(z) of an ICNN."""

    def __init__(self, in_features: int, out_features: int, mode: NonNeg, init: str, divisor: float) -> None:
        super().__init__()
        template = init_linear_(nn.Linear(in_features, out_features, bias=False), init)
        self.weight = NonNegativeWeight(template.weight.detach(), mode, divisor)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight())


def init_linear_(layer: nn.Linear, init: str, bias: float = 0.0) -> nn.Linear:
    """Initialise a linear layer in place.

    ``"paper"``: tflearn's defaults used by the original code, truncated normal with std 0.02 and a
    constant bias (0, or 1 for the RL gate layers). ``"torch"``: PyTorch's default initialisation.
    """
    if init not in ("paper", "torch"):
        raise ValueError(f"init={init!r} is not an initialisation; valid: paper, torch")
    if init == "paper":
        nn.init.trunc_normal_(layer.weight, std=0.02, a=-0.04, b=0.04)
        if layer.bias is not None:
            nn.init.constant_(layer.bias, bias)
    elif layer.bias is not None and bias != 0.0:
        nn.init.constant_(layer.bias, bias)
    return layer


def project_(module: nn.Module) -> nn.Module:
    """Clamp every non-negative weight of ``module`` to >= 0 (the paper's projection step)."""
    for m in module.modules():
        if isinstance(m, NonNegativeWeight):
            m.project_()
    return module


def attach_projection(optimizer: torch.optim.Optimizer, *modules: nn.Module) -> None:
    """Project the modules' W^(z) after every ``optimizer.step()`` (an optimizer step post-hook).

    With this hook a network trained in ``clip`` mode is convex after every step, so every saved
    model is convex.
    """

    def _hook(opt: torch.optim.Optimizer, args: object, kwargs: object) -> None:
        for m in modules:
            project_(m)

    optimizer.register_step_post_hook(_hook)


def is_convex(module: nn.Module) -> bool:
    """True when every W^(z) of ``module`` is >= 0 (always for softplus/exp; checked for clip and none)."""
    return all(bool((m().detach() >= 0).all()) for m in module.modules() if isinstance(m, NonNegativeWeight))
