"""One completion figure from several completion run directories (one column per method).

    python -m benchmarks.studies.supervised_completion_figure RUN_DIR [RUN_DIR ...] --out docs/figures/completion.png

Each RUN_DIR holds ``test_completions.npz`` from ``python -m icnn_rl.supervised.completion``; the test
faces are reloaded from the data root (``--data``, default $ICNN_RL_DATA or ../shared/data).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import yaml

from icnn_rl.supervised.completion import plot_completions
from icnn_rl.supervised.data import completion_splits, load_olivetti


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", default=None)
    parser.add_argument("--rows", type=int, default=6)
    args = parser.parse_args()
    n_train = {yaml.safe_load((r / "config.yaml").read_text())["n_train"] for r in args.runs}
    if len(n_train) != 1:
        raise SystemExit(f"runs use different splits (n_train {sorted(n_train)}); they cannot share a figure")
    _, test = completion_splits(load_olivetti(args.data), n_train.pop())
    completions: dict[str, np.ndarray] = {}
    for run in args.runs:
        with np.load(run / "test_completions.npz") as saved:
            completions |= {name: saved[name] for name in saved.files}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot_completions(test, completions, args.rows, args.out)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
