"""Metrics against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from icnn_rl.supervised.metrics import best_threshold, example_f1, label_macro_f1, pixel_mse_255

TRUE = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0]], dtype=np.float32)
SCORES = np.array([[0.9, 0.6, 0.1], [0.2, 0.7, 0.4], [0.1, 0.2, 0.3]])


def test_example_f1_hand_computed() -> None:
    # rows: {0,2} vs {0,1} -> 2*1/4; {1} vs {1} -> 1; nothing true, nothing predicted -> 0
    assert example_f1(TRUE, SCORES) == pytest.approx((0.5 + 1.0 + 0.0) / 3)


def test_label_macro_f1_hand_computed() -> None:
    # labels: {0} vs {0} -> 1; {1} vs {0,1} -> 2/3; {0} vs {} -> 0
    assert label_macro_f1(TRUE, SCORES) == pytest.approx((1.0 + 2 / 3 + 0.0) / 3)


def test_threshold_is_inclusive_and_configurable() -> None:
    true = np.array([[1, 0]])
    assert example_f1(true, np.array([[0.5, 0.2]])) == 1.0
    assert example_f1(true, np.array([[0.5, 0.2]]), threshold=0.1) == pytest.approx(2 / 3)


def test_f1_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="shape"):
        example_f1(TRUE, SCORES[:, :2])


def test_pixel_mse_on_255_scale() -> None:
    true = np.zeros((2, 1, 4, 4))
    assert pixel_mse_255(true + 0.1, true) == pytest.approx(25.5**2)
    pred = true.copy()
    pred[0, 0, 0, 0] = 1.0  # one pixel off by 255 among 32
    assert pixel_mse_255(pred, true) == pytest.approx(255.0**2 / 32)
    with pytest.raises(ValueError, match="shape"):
        pixel_mse_255(pred[:1], true)


def test_best_threshold_picks_the_highest_example_f1() -> None:
    true = np.array([[1, 0], [0, 1]])
    scores = np.array([[0.3, 0.1], [0.2, 0.35]])  # only thresholds <= 0.3 recover both labels
    assert best_threshold(true, scores, [0.5, 0.4, 0.25, 0.05]) == (0.25, 1.0)
    assert best_threshold(true, scores, [0.5])[0] == 0.5
    with pytest.raises(ValueError, match="candidate"):
        best_threshold(true, scores, [])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_f1s_match_scikit_learn(seed: int) -> None:
    """Example-averaged F1 is sklearn's ``average="samples"``, label-macro F1 its ``average="macro"``
    (an example or label with no true and no predicted positive scores 0 in both)."""
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    true = (rng.random((40, 7)) < 0.3).astype(np.float32)
    true[:3] = 0  # examples without labels
    true[:, 0] = 0  # a label nobody has
    scores = rng.random((40, 7))
    for threshold in (0.3, 0.5, 0.8):
        pred = (scores >= threshold).astype(int)
        pred[:2] = 0  # examples with no true and no predicted label
        scores_used = np.where(pred == 1, 1.0, 0.0)
        samples = metrics.f1_score(true, pred, average="samples", zero_division=0)
        macro = metrics.f1_score(true, pred, average="macro", zero_division=0)
        assert example_f1(true, scores_used) == pytest.approx(samples)
        assert label_macro_f1(true, scores_used) == pytest.approx(macro)
