"""Loaders of the supervised data sets: the real files when present, tiny generated files always."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from icnn_rl.supervised.data import (
    BIBTEX_FEATURES,
    BIBTEX_LABELS,
    DataMissingError,
    completion_splits,
    data_root,
    load_bibtex,
    load_olivetti,
    load_sparse_arff,
    make_synthetic,
    validation_split,
)

REAL = data_root()
needs_bibtex = pytest.mark.skipif(
    not (REAL / "bibtex" / "bibtex-train.arff").is_file(),
    reason=f"Bibtex ARFF files not found under {REAL / 'bibtex'}",
)
needs_olivetti = pytest.mark.skipif(
    not (REAL / "olivetti" / "olivettifaces.mat").is_file(),
    reason=f"olivettifaces.mat not found under {REAL / 'olivetti'}",
)


def write_arff(path: Path, n_features: int, n_labels: int, rows: list[list[int]]) -> None:
    lines = ["% comment", "@relation tiny", ""]
    lines += [f"@attribute f{i} {{0,1}}" for i in range(n_features)]
    lines += [f"@attribute TAG_{i} {{0,1}}" for i in range(n_labels)]
    lines += ["", "@data"] + ["{" + ",".join(f"{j} 1" for j in row) + "}" for row in rows]
    path.write_text("\n".join(lines) + "\n")


def test_sparse_arff_places_listed_attributes(tmp_path: Path) -> None:
    write_arff(tmp_path / "t.arff", 4, 2, [[0, 3, 5], [], [1, 4]])
    split = load_sparse_arff(tmp_path / "t.arff", n_labels=2)
    np.testing.assert_array_equal(split.x, [[1, 0, 0, 1], [0, 0, 0, 0], [0, 1, 0, 0]])
    np.testing.assert_array_equal(split.y, [[0, 1], [0, 0], [1, 0]])
    assert split.x.dtype == np.float32


def test_sparse_arff_rejects_dense_rows(tmp_path: Path) -> None:
    path = tmp_path / "dense.arff"
    path.write_text("@attribute a {0,1}\n@attribute b {0,1}\n@data\n1,0\n")
    with pytest.raises(ValueError, match="sparse row"):
        load_sparse_arff(path, n_labels=1)


def test_bibtex_from_generated_directory(tmp_path: Path) -> None:
    (tmp_path / "bibtex").mkdir()
    for part, rows in (("train", [[0, BIBTEX_FEATURES]]), ("test", [[1], [BIBTEX_FEATURES + 158]])):
        write_arff(tmp_path / "bibtex" / f"bibtex-{part}.arff", BIBTEX_FEATURES, BIBTEX_LABELS, rows)
    train, test = load_bibtex(tmp_path)
    assert train.y.shape == (1, BIBTEX_LABELS) and train.y[0, 0] == 1 and train.x[0, 0] == 1
    assert test.x.shape == (2, BIBTEX_FEATURES) and test.y[1, -1] == 1


def test_missing_files_name_the_file_and_source(tmp_path: Path) -> None:
    with pytest.raises(DataMissingError, match=r"bibtex-train\.arff.*mulan"):
        load_bibtex(tmp_path)
    with pytest.raises(DataMissingError, match=r"olivettifaces\.mat"):
        load_olivetti(tmp_path, allow_download=False)


def test_data_root_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ICNN_RL_DATA", str(tmp_path))
    assert data_root() == tmp_path
    assert data_root("/elsewhere") == Path("/elsewhere")
    monkeypatch.delenv("ICNN_RL_DATA")
    assert data_root().parts[-2:] == ("shared", "data")


@needs_bibtex
def test_real_bibtex_shapes_and_statistics() -> None:
    train, test = load_bibtex()
    assert train.x.shape == (4880, 1836) and train.y.shape == (4880, 159)
    assert test.x.shape == (2515, 1836) and test.y.shape == (2515, 159)
    # statistics published in the data README (mean labels per row, no row without a label)
    assert train.y.sum(1).mean() == pytest.approx(2.380, abs=1e-3)
    assert test.y.sum(1).mean() == pytest.approx(2.444, abs=1e-3)
    assert train.y.sum(1).min() >= 1 and set(np.unique(train.x)) == {0.0, 1.0}


def fake_faces() -> np.ndarray:
    """400 distinct 64x64 uint8 images whose pixel (r, c) of image n is (n + 3 r + c) mod 243."""
    n, r, c = np.meshgrid(np.arange(400), np.arange(64), np.arange(64), indexing="ij")
    return ((n + 3 * r + c) % 243).astype(np.uint8)


def test_olivetti_mat_layout_is_column_major(tmp_path: Path) -> None:
    images = fake_faces()
    (tmp_path / "olivetti").mkdir()
    # the .mat stores each image as one column, flattened in MATLAB (column-major) order
    faces = images.transpose(0, 2, 1).reshape(400, 4096).T
    scipy.io.savemat(tmp_path / "olivetti" / "olivettifaces.mat", {"faces": faces})
    np.testing.assert_allclose(load_olivetti(tmp_path) * 255, images, atol=1e-4)


@needs_olivetti
def test_real_olivetti() -> None:
    images = load_olivetti()
    assert images.shape == (400, 64, 64) and images.dtype == np.float32
    assert images.max() == pytest.approx(242 / 255)
    assert images.mean() == pytest.approx(0.5470425 * 242 / 255, abs=1e-5)  # sklearn's published mean


def test_completion_split_mirrors_the_right_half() -> None:
    images = fake_faces().astype(np.float32) / 255
    train, test = completion_splits(images, n_train=350)
    assert train.x.shape == (350, 1, 64, 32) and test.y.shape == (50, 1, 64, 32)
    np.testing.assert_array_equal(train.y[3, 0], images[3, :, :32])
    np.testing.assert_array_equal(test.x[0, 0, :, 0], images[350, :, 63])  # column 0 of x = last column
    np.testing.assert_array_equal(test.x[0, 0, :, 31], images[350, :, 32])


def test_validation_split_is_disjoint_cover_and_seeded() -> None:
    train, val = validation_split(100, 0.2, seed=3)
    assert len(val) == 20 and len(train) == 80
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(100))
    np.testing.assert_array_equal(val, validation_split(100, 0.2, seed=3)[1])
    assert not np.array_equal(val, validation_split(100, 0.2, seed=4)[1])
    with pytest.raises(ValueError, match="fraction"):
        validation_split(100, 1.0, seed=0)


@pytest.mark.parametrize("name", ["moons", "circles", "linear"])
def test_synthetic_sets(name: str) -> None:
    x, y = make_synthetic(name)
    assert x.shape == (100, 2) and set(np.unique(y)) == {0.0, 1.0}
    np.testing.assert_array_equal(x, make_synthetic(name)[0])


def test_synthetic_unknown_name() -> None:
    with pytest.raises(ValueError, match="moons"):
        make_synthetic("spirals")
