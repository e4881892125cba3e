"""benchmarks.studies.argmin_kinks: a minimiser on a kink needs the cuts of both its pieces."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import torch

from icnn_rl.convex import certify
from icnn_rl.convex.bundle_entropy import bundle_entropy

ROOT = Path(__file__).resolve().parents[1]
EPS, ATOL = 0.01, 0.01


def kink(y: torch.Tensor) -> torch.Tensor:
    """f(y) = Σ_j max(3 y_j, −y_j): piecewise linear, its minimiser with a small ε on the kink y = 0."""
    return torch.maximum(3 * y, -y).sum(-1)


def test_one_cut_cannot_certify_a_kink_minimiser_but_its_active_cuts_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    argmin_kinks = importlib.import_module("benchmarks.studies.argmin_kinks")
    start = torch.tensor([[0.5, -0.3], [0.2, 0.7], [-0.6, 0.1]], dtype=torch.float64)
    tight, bundle = bundle_entropy(kink, start, max_iter=60, tol=0.0, atol=1e-7, entropy_weight=EPS, bounds=(-1.0, 1.0))
    assert tight.converged.all() and tight.y.abs().max() < 1e-2
    at_argmin = certify(kink, tight.y, entropy_weight=EPS, bounds=(-1.0, 1.0))
    assert (at_argmin.gap > ATOL).all()
    certified, cuts = argmin_kinks.active_cuts_certify(kink, bundle, tight.y, EPS, 0.0, ATOL)
    assert certified.all() and (cuts >= 2).all()
