"""Input checks shared by the networks and the solvers: one clear ValueError naming the argument."""

from __future__ import annotations

import torch
from torch import Tensor


def check_energy_inputs(t: Tensor, dim: int, name: str, batch: int | None = None) -> None:
    """Check the shape of a network input: [B, dim] or [B, K, dim], with B == ``batch`` if given.

    Only shapes are checked here (cheap, called inside solver loops); finiteness is checked once at
    the entry points (:func:`check_finite`).
    """
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dim() < 2 or t.shape[-1] != dim:
        raise ValueError(f"{name} has shape {tuple(t.shape)}; the network expects [batch, {dim}]"
                         + (f" or [batch, K, {dim}]" if name == "y" else ""))
    if batch is not None and t.shape[0] != batch:
        raise ValueError(f"{name} has batch size {t.shape[0]} but x has {batch} rows")


def check_finite(t: Tensor, name: str) -> None:
    """Raise if ``t`` holds NaN or infinity."""
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")
