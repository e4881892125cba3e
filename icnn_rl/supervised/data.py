"""Data sets of the supervised experiments: Bibtex (Mulan sparse ARFF), Olivetti faces (Roweis .mat)
and the three 2-D toy sets of the paper's synthetic figure.

The data root is `--data PATH`, else the environment variable ``ICNN_RL_DATA``, else ``../shared/data``
relative to the repository root. Files are never downloaded into the project; a missing file raises
:class:`DataMissingError` naming the file and where to get it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from icnn_rl.cli import CHECKOUT_ROOT

BIBTEX_FEATURES = 1836
BIBTEX_LABELS = 159
BIBTEX_URL = (
    "http://mulan.sourceforge.net/datasets-mlc.html (bibtex.rar: bibtex-train.arff, bibtex-test.arff)"
)
OLIVETTI_URL = "https://cs.nyu.edu/~roweis/data/olivettifaces.mat (or sklearn.datasets.fetch_olivetti_faces)"
OLIVETTI_SHAPE = (400, 64, 64)
# Pixel range of the distributed uint8 faces; sklearn min-max scales by it, so it maps sklearn's copy back.
OLIVETTI_RAW_RANGE = (0, 242)
SYNTHETIC_DATASETS = ("moons", "circles", "linear")

class DataMissingError(FileNotFoundError):
    """A data file is absent; the message says which file, where it was looked for and where to get it."""


def data_root(path: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: `path` if given, else $ICNN_RL_DATA, else ``<repo>/../shared/data``."""
    if path is not None:
        return Path(path)
    env = os.environ.get("ICNN_RL_DATA")
    return Path(env) if env else (CHECKOUT_ROOT.parent / "shared" / "data")


def _require(path: Path, source: str) -> Path:
    if not path.is_file():
        raise DataMissingError(
            f"missing data file {path}; get it from {source} and place it there, "
            "or point --data / $ICNN_RL_DATA at the directory that holds it"
        )
    return path


# --------------------------------------------------------------------------------------------- Bibtex
@dataclass(frozen=True)
class MultiLabelSplit:
    """Binary features X [N, d] and label indicators Y [N, L], both float32 in {0, 1}."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, rows: np.ndarray) -> MultiLabelSplit:
        return MultiLabelSplit(self.x[rows], self.y[rows])


def load_sparse_arff(path: Path, n_labels: int) -> MultiLabelSplit:
    """Parse a sparse Weka ARFF of {0,1} attributes whose last `n_labels` attributes are the labels.

    Data lines look like ``{i 1,j 1,...}`` with 0-based attribute indices; unlisted attributes are 0.
    """
    n_attributes = 0
    rows: list[int] = []
    cols: list[int] = []
    n_rows = 0
    in_data = False
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line_no, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line or line.startswith("%"):
                continue
            if not in_data:
                head = line.lower()
                if head.startswith("@attribute"):
                    n_attributes += 1
                elif head.startswith("@data"):
                    in_data = True
                continue
            if not (line.startswith("{") and line.endswith("}")):
                raise ValueError(
                    f"{path}:{line_no}: expected a sparse row '{{index value,...}}', got {line[:40]!r}"
                )
            body = line[1:-1].strip()
            for entry in body.split(",") if body else ():
                index, value = entry.split()
                if value != "0":
                    rows.append(n_rows)
                    cols.append(int(index))
            n_rows += 1
    if not in_data:
        raise ValueError(f"{path}: no @data section")
    if not 0 < n_labels < n_attributes:
        raise ValueError(f"{path}: {n_attributes} attributes cannot hold {n_labels} labels plus features")
    dense = np.zeros((n_rows, n_attributes), dtype=np.float32)
    dense[np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)] = 1.0
    n_features = n_attributes - n_labels
    return MultiLabelSplit(dense[:, :n_features], dense[:, n_features:])


def load_bibtex(root: Path | None = None) -> tuple[MultiLabelSplit, MultiLabelSplit]:
    """The standard Mulan Bibtex split: (train 4880 rows, test 2515 rows), 1836 features, 159 labels."""
    folder = data_root(root) / "bibtex"
    train, test = (
        load_sparse_arff(_require(folder / f"bibtex-{part}.arff", BIBTEX_URL), BIBTEX_LABELS)
        for part in ("train", "test")
    )
    for name, split in (("train", train), ("test", test)):
        if split.x.shape[1] != BIBTEX_FEATURES:
            raise ValueError(
                f"bibtex-{name}.arff has {split.x.shape[1]} features, expected {BIBTEX_FEATURES}"
            )
    return train, test


def validation_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint (train_rows, val_rows) index arrays: a seeded random `fraction` of range(n) for validation."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation fraction must be in (0, 1), got {fraction}")
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, round(fraction * n))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


# ------------------------------------------------------------------------------------------- Olivetti
def load_olivetti(root: Path | None = None, allow_download: bool = True) -> np.ndarray:
    """The 400 Olivetti faces as float32 [400, 64, 64] (upright, [row, col]) scaled by 1/255.

    Reads ``olivetti/olivettifaces.mat`` (variable ``faces``: uint8 [4096, 400], column-major images).
    If it is absent and `allow_download`, falls back to sklearn's ``fetch_olivetti_faces`` (same images
    and order, min-max scaled, mapped back to the uint8 scale here).
    """
    path = data_root(root) / "olivetti" / "olivettifaces.mat"
    if path.is_file():
        from scipy.io import loadmat

        faces = loadmat(path)["faces"]
        images = faces.T.reshape(OLIVETTI_SHAPE).transpose(0, 2, 1).astype(np.float32)
    elif allow_download:
        images = _olivetti_from_sklearn(path)
    else:
        _require(path, OLIVETTI_URL)
    if images.shape != OLIVETTI_SHAPE:
        raise ValueError(f"{path}: faces have shape {images.shape}, expected {OLIVETTI_SHAPE}")
    return images / 255.0


def _olivetti_from_sklearn(expected: Path) -> np.ndarray:
    from sklearn.datasets import fetch_olivetti_faces

    try:
        scaled = fetch_olivetti_faces(shuffle=False).images
    except Exception as exc:  # network or cache failure: report the file we wanted
        raise DataMissingError(
            f"missing data file {expected} and sklearn's fetch_olivetti_faces failed ({exc}); "
            f"get it from {OLIVETTI_URL}"
        ) from exc
    lo, hi = OLIVETTI_RAW_RANGE
    return np.round(scaled * (hi - lo) + lo).astype(np.float32)


@dataclass(frozen=True)
class CompletionSplit:
    """Left-half completion: x = mirrored right half, y = left half, both float32 [N, 1, 64, 32] in [0, 1]."""

    x: np.ndarray
    y: np.ndarray


def completion_splits(images: np.ndarray, n_train: int = 350) -> tuple[CompletionSplit, CompletionSplit]:
    """Split faces [N, 64, 64] by position (first `n_train` train, rest test) into left-half completion
    pairs. The right half is mirrored left-right so it aligns spatially with the left half it predicts."""
    if not 0 < n_train < len(images):
        raise ValueError(f"n_train must be in (0, {len(images)}), got {n_train}")
    half = images.shape[2] // 2
    x = np.ascontiguousarray(images[:, None, :, half:][..., ::-1])
    y = np.ascontiguousarray(images[:, None, :, :half])
    return CompletionSplit(x[:n_train], y[:n_train]), CompletionSplit(x[n_train:], y[n_train:])


# ------------------------------------------------------------------------------------------ synthetic
def make_synthetic(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The paper's 2-D toy sets (sklearn's classifier-comparison data, 100 points): X float32 [100, 2],
    labels float32 [100] in {0, 1}. Circles' labels are flipped (1 - y) as in the original script."""
    from sklearn.datasets import make_circles, make_classification, make_moons

    if name == "moons":
        x, y = make_moons(noise=0.3, random_state=0)
    elif name == "circles":
        x, y = make_circles(noise=0.2, factor=0.5, random_state=0)
        y = 1 - y
    elif name == "linear":
        x, y = make_classification(
            n_features=2, n_redundant=0, n_informative=2, random_state=1, n_clusters_per_class=1
        )
        x = x + 2 * np.random.RandomState(2).uniform(size=x.shape)
    else:
        raise ValueError(f"unknown synthetic data set {name!r}; choose one of {SYNTHETIC_DATASETS}")
    return x.astype(np.float32), y.astype(np.float32)
