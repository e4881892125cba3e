"""Each supervised experiment end to end on a small slice with a tiny config (seconds), plus the
behaviour that matters: models learn an easy problem, convex models stay convex, outputs are written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from test_supervised_data import fake_faces, write_arff

from icnn_rl.convex import is_convex
from icnn_rl.supervised import completion, multilabel, synthetic
from icnn_rl.supervised.data import BIBTEX_FEATURES, BIBTEX_LABELS, MultiLabelSplit, data_root
from icnn_rl.supervised.inference import UnrolledInference

REAL = data_root()


def read_results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


# ---------------------------------------------------------------------------------------- synthetic
def test_synthetic_cli_writes_figure_and_accuracies(tmp_path: Path) -> None:
    synthetic.main(
        [
            "--run-dir",
            str(tmp_path / "run"),
            "--set",
            "epochs=2",
            "--set",
            "hidden=[8, 8]",
            "--set",
            "grid=8",
            "--set",
            "inference.iterations=3",
            "--set",
            "datasets=[moons, linear]",
        ]
    )
    results = read_results(tmp_path / "run")
    assert set(results["datasets"]) == {"moons", "linear"}
    assert set(results["datasets"]["moons"]) == {"ficnn", "picnn"}
    assert 0.0 <= results["datasets"]["linear"]["picnn"]["train_accuracy"] <= 1.0
    assert (tmp_path / "run" / "synthetic.png").stat().st_size > 1000


@pytest.mark.parametrize("model", ["ficnn", "picnn"])
def test_synthetic_models_learn_linear_data_and_stay_convex(tmp_path: Path, model: str) -> None:
    config = synthetic.SyntheticConfig(
        device="cpu",
        hidden=(32, 32),
        epochs=40,
        lr=0.01,
        init="torch",
        inference=UnrolledInference(iterations=10, lr=0.05),
    )
    run = synthetic.ExperimentRun(tmp_path / "run", config)
    net, metrics = synthetic.train_one("linear", model, config, torch.device("cpu"), run)
    run.close()
    assert metrics["train_accuracy"] >= 0.75  # the linear set is nearly separable; untrained: about 0.5
    assert is_convex(net)


# --------------------------------------------------------------------------------------- multi-label
def easy_multilabel(n: int, seed: int) -> MultiLabelSplit:
    """Labels are a copy of the first 4 of 12 binary features, with feature 3 = not feature 2 so
    every row has a label: a problem any method should learn (predicting all labels scores ~0.55)."""
    x = (np.random.default_rng(seed).random((n, 12)) < 0.4).astype(np.float32)
    x[:, 3] = 1 - x[:, 2]
    return MultiLabelSplit(x, x[:, :4].copy())


@pytest.mark.parametrize("method", ["ff", "picnn_unrolled", "picnn_bundle"])
def test_multilabel_methods_learn_an_easy_problem(tmp_path: Path, method: str) -> None:
    config = multilabel.MultilabelConfig(device="cpu", hidden=32, batch_size=32, lr=0.01)
    config.ff.epochs = config.picnn_unrolled.epochs = config.picnn_bundle.epochs = 20
    config.picnn_unrolled.lr, config.picnn_unrolled.iterations = 0.1, 10
    run = multilabel.ExperimentRun(tmp_path / "run", config)
    torch.manual_seed(0)
    result = multilabel.train_and_test(
        method,
        config,
        easy_multilabel(128, 0),
        easy_multilabel(64, 1),
        easy_multilabel(64, 2),
        torch.device("cpu"),
        run,
    )
    run.close()
    assert result["test_example_f1"] >= 0.9, result


def test_multilabel_cli_on_generated_bibtex(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    (tmp_path / "bibtex").mkdir()
    for part, n in (("train", 30), ("test", 10)):
        rows = [
            sorted(rng.choice(BIBTEX_FEATURES, 5, replace=False).tolist())
            + [BIBTEX_FEATURES + int(rng.integers(BIBTEX_LABELS))]
            for _ in range(n)
        ]
        write_arff(tmp_path / "bibtex" / f"bibtex-{part}.arff", BIBTEX_FEATURES, BIBTEX_LABELS, rows)
    multilabel.main(
        [
            "--data",
            str(tmp_path),
            "--run-dir",
            str(tmp_path / "run"),
            "--set",
            "hidden=16",
            "--set",
            "batch_size=8",
            "--set",
            "ff.epochs=1",
            "--set",
            "picnn_unrolled.epochs=1",
            "--set",
            "picnn_unrolled.iterations=2",
            "--set",
            "picnn_bundle.epochs=1",
            "--set",
            "picnn_bundle.iterations=2",
        ]
    )
    results = read_results(tmp_path / "run")
    assert results["rows"] == {"train": 24, "val": 6, "test": 10}
    for name, scores in results["methods"].items():
        assert 0.0 <= scores["test_example_f1"] <= 1.0 and 0.0 <= scores["test_label_macro_f1"] <= 1.0
        assert 0.0 < scores["val_threshold"] < 1.0 and 0.0 <= scores["test_example_f1_tuned"] <= 1.0
        assert scores["val_example_f1_tuned"] >= scores["val_example_f1"] - 1e-12  # 0.5 is a candidate
        assert (tmp_path / "run" / f"{name}.pt").is_file()


@pytest.mark.skipif(not (REAL / "bibtex" / "bibtex-train.arff").is_file(), reason="Bibtex ARFF files absent")
def test_multilabel_cli_on_real_bibtex_slice(tmp_path: Path) -> None:
    multilabel.main(
        [
            "--run-dir",
            str(tmp_path / "run"),
            "--set",
            "max_rows=64",
            "--set",
            "hidden=16",
            "--set",
            "methods=[picnn_unrolled]",
            "--set",
            "picnn_unrolled.epochs=1",
            "--set",
            "picnn_unrolled.iterations=2",
        ]
    )
    assert read_results(tmp_path / "run")["rows"]["test"] == 64


def test_multilabel_rejects_unknown_method(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        multilabel.main(["--run-dir", str(tmp_path / "run"), "--set", "methods=[svm]"])
    error = capsys.readouterr().err
    assert stop.value.code == 2 and "svm" in error and "picnn_bundle" in error


# ---------------------------------------------------------------------------------------- completion
TINY_COMPLETION = [
    "--set",
    "max_rows=4",
    "--set",
    "steps=2",
    "--set",
    "eval_every=1",
    "--set",
    "batch_size=4",
    "--set",
    "fc=16",
    "--set",
    "unrolled.iterations=2",
    "--set",
    "bundle.iterations=2",
    "--set",
    "figure_rows=2",
]


def test_completion_cli_on_generated_faces(tmp_path: Path) -> None:
    (tmp_path / "olivetti").mkdir()
    faces = fake_faces().transpose(0, 2, 1).reshape(400, 4096).T
    scipy.io.savemat(tmp_path / "olivetti" / "olivettifaces.mat", {"faces": faces})
    completion.main(["--data", str(tmp_path), "--run-dir", str(tmp_path / "run"), *TINY_COMPLETION])
    results = read_results(tmp_path / "run")
    assert set(results["methods"]) == {"bundle", "unrolled", "nonconvex"}
    assert all(r["test_mse"] > 0 for r in results["methods"].values())
    saved = np.load(tmp_path / "run" / "test_completions.npz")
    assert saved["bundle"].shape == (4, 1, 64, 32)
    assert ((saved["bundle"] > 0) & (saved["bundle"] < 1)).all()  # bundle entropy stays inside the box
    assert (tmp_path / "run" / "completion.png").stat().st_size > 1000


def test_completion_nonconvex_baseline_is_the_same_network_unconstrained() -> None:
    config = completion.CompletionConfig(fc=16)
    y0 = torch.full((1, 64 * 32), 0.5)
    convex, _ = completion.build("unrolled", config, y0)
    nonconvex, _ = completion.build("nonconvex", config, y0)
    assert [n for n, _ in convex.named_parameters()] == [n for n, _ in nonconvex.named_parameters()]
    assert is_convex(convex) and not all(
        (p >= 0).all() for n, p in nonconvex.named_parameters() if "z_z" in n
    )


def test_completion_training_reduces_validation_error(tmp_path: Path) -> None:
    """A few unrolled steps on real faces beat the untrained network (skips without the data)."""
    if not (REAL / "olivetti" / "olivettifaces.mat").is_file():
        pytest.skip("olivettifaces.mat absent")
    completion.main(
        [
            "--run-dir",
            str(tmp_path / "run"),
            "--set",
            "methods=[unrolled]",
            "--set",
            "max_rows=16",
            "--set",
            "steps=6",
            "--set",
            "eval_every=1",
            "--set",
            "batch_size=16",
            "--set",
            "fc=16",
            "--set",
            "unrolled.iterations=3",
            "--set",
            "lr=0.01",
        ]
    )
    assert read_results(tmp_path / "run")["methods"]["unrolled"]["selected_step"] > 1
