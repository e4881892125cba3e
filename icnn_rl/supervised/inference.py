"""The paper's two ways to predict ŷ(x) = argmin_y f(x, y) in the supervised experiments, both
through the convex core (:func:`icnn_rl.convex.argmin`):

- unrolled gradient inference: `iterations` Nesterov steps v' = μv − α∇_y f, y <- y − μv + (1 + μ)v'
  on f itself (unconstrained: no box, no entropy) from a given y0, returning the last iterate;
  training back-propagates through every step (``grad="unroll"``);
- bundle entropy: argmin_y f(x, y) − H(y) over [0, 1]^n by the bundle entropy method; training
  differentiates the final bundle's KKT system (``grad="implicit"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from icnn_rl.convex import SolverConfig, SolveResult, argmin


@dataclass
class UnrolledInference:
    """Unrolled Nesterov inference (step `lr`, momentum μ), exactly `iterations` steps."""

    iterations: int = 30
    lr: float = 0.01
    momentum: float = 0.9


@dataclass
class BundleInference:
    """Bundle entropy inference on [0, 1]^n with at most `iterations` cuts; a row stops earlier once
    its gap is certified, min F(cuts) + φ(λ) <= `tol`·(1 + |min F|) (the convex core's rule)."""

    iterations: int = 10
    tol: float = 1e-6

    def __post_init__(self) -> None:
        if self.iterations < 1 or not self.tol >= 0:
            raise ValueError(f"bundle inference needs iterations >= 1 and tol >= 0, got {self}")


def predict_unrolled(net: nn.Module, x: Tensor, y0: Tensor, config: UnrolledInference, train: bool) -> Tensor:
    """The last of `config.iterations` unrolled Nesterov iterates from y0 [B, n]; differentiable in the
    net's parameters when `train`. (Evaluation runs the same fixed-length unrolled loop without
    keeping the graph, so models are scored on exactly what they were trained to output.)"""
    solver = SolverConfig(
        method="nesterov", max_iter=config.iterations, tol=0.0, lr=config.lr, momentum=config.momentum
    )
    if train:
        return argmin(net, x, y0, solver, bounds=None, grad="unroll").y
    with torch.no_grad():
        return argmin(net, x, y0, solver, bounds=None, grad="unroll").y.detach()


def predict_bundle(
    net: nn.Module, x: Tensor, y0: Tensor | None, config: BundleInference, train: bool
) -> SolveResult:
    """argmin_y f(x, y) − H(y) over [0, 1]^n by bundle entropy from y0 (None: 0.5); ``.y`` carries the
    implicit (argmin-differentiation) gradient to the net's parameters when `train`, ``.converged``
    says which rows certified their gap within the cut budget."""
    solver = SolverConfig(method="bundle_entropy", max_iter=config.iterations, tol=config.tol)
    return argmin(net, x, y0, solver, bounds=(0.0, 1.0), grad="implicit" if train else "none")
