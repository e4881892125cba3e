"""Metrics of the supervised experiments, named for what they compute.

- Example-averaged F1 (the paper's and SPEN's Bibtex "macro-F1"): mean over examples of
  2|y ∧ ŷ| / (|y| + |ŷ|), an example with no true and no predicted label scoring 0.
- Label-macro F1: the same ratio per label (column), averaged over labels; a label with no true and
  no predicted positive scores 0 (sklearn's zero-division default).
- Threshold selection: the grid threshold with the best example-F1 on held-out data.
- Pixel MSE on the 0-255 scale (the paper's Olivetti number): mean((255 (ŷ - y))²) over all pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _binary(scores: np.ndarray, threshold: float) -> np.ndarray:
    return np.asarray(scores) >= threshold


def _f1_along(true: np.ndarray, pred: np.ndarray, axis: int) -> np.ndarray:
    true = np.asarray(true) > 0.5
    if true.shape != pred.shape:
        raise ValueError(f"label matrix shape {true.shape} != prediction shape {pred.shape}")
    both = (true & pred).sum(axis=axis)
    total = true.sum(axis=axis) + pred.sum(axis=axis)
    return np.divide(2.0 * both, total, out=np.zeros(both.shape, dtype=np.float64), where=total > 0)


def example_f1(true: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> float:
    """Example-averaged F1 of predictions `scores >= threshold` against 0/1 labels, both [N, L]."""
    return float(_f1_along(true, _binary(scores, threshold), axis=1).mean())


def label_macro_f1(true: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> float:
    """Label-macro F1 (mean over the L labels of each label's F1) of `scores >= threshold`, both [N, L]."""
    return float(_f1_along(true, _binary(scores, threshold), axis=0).mean())


def best_threshold(true: np.ndarray, scores: np.ndarray, candidates: Sequence[float]) -> tuple[float, float]:
    """(threshold, example-F1) of the candidate threshold with the highest example-F1 (first on ties)."""
    if len(candidates) == 0:
        raise ValueError("need at least one candidate threshold")
    f1s = [example_f1(true, scores, t) for t in candidates]
    best = int(np.argmax(f1s))
    return float(candidates[best]), f1s[best]


def pixel_mse_255(pred: np.ndarray, true: np.ndarray) -> float:
    """Per-pixel mean squared error on the 0-255 scale of images given on the [0, 1] scale."""
    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape:
        raise ValueError(f"prediction shape {pred.shape} != target shape {true.shape}")
    return float(np.mean((255.0 * (pred - true)) ** 2))
