"""Collect supervised run directories into markdown tables beside the paper's numbers.

    python benchmarks/supervised_table.py RUN_DIR [RUN_DIR ...] [--out FILE]

Each RUN_DIR is the output of ``python -m icnn_rl.supervised.multilabel`` or ``.completion`` (its
``results.json`` and ``config.yaml``). Paper numbers: Amos, Xu, Kolter (ICML 2017) Tables 1 and 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

PAPER = {
    # Bibtex example-averaged F1 (the paper's "macro-F1"); SPEN 0.422 is the paper's comparison point.
    "ff": "0.396",
    "picnn_unrolled": "0.415 (ICNN)",
    "picnn_bundle": "0.415 (ICNN)",
    # Olivetti per-pixel MSE on the 0-255 scale; the authors' later FCN baseline reached 795.4.
    "bundle": "833.0",
    "unrolled": "872.0",
    "nonconvex": "850.9",
}
HEADERS = {
    "multilabel": "| method | test example-F1 @0.5 | test label-macro F1 @0.5 | test example-F1 @val-best threshold "
    "| val example-F1 @0.5 | paper | epochs run (selected) | minutes | run |",
    "completion": "| method | test MSE | val MSE | paper | steps run (selected) | minutes | run |",
}


def row(experiment: str, method: str, r: dict, run_dir: Path) -> str:
    minutes = f"{r['wall_seconds'] / 60:.1f}"
    if experiment == "multilabel":
        tuned = (
            f"{r['test_example_f1_tuned']:.3f} (t={r['val_threshold']:.2f})" if "val_threshold" in r else "–"
        )
        cells = [
            f"{r['test_example_f1']:.3f}",
            f"{r['test_label_macro_f1']:.3f}",
            tuned,
            f"{r['val_example_f1']:.3f}",
            PAPER[method],
            f"{r['epochs_done']:.1f} ({r['selected_epoch']:.0f})",
        ]
    else:
        cells = [
            f"{r['test_mse']:.1f}",
            f"{r['val_mse']:.1f}",
            PAPER[method],
            f"{r['steps_done']} ({r['selected_step']})",
        ]
    return "| " + " | ".join([method, *cells, minutes, f"`{run_dir}`"]) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories with results.json")
    parser.add_argument("--out", type=Path, default=None, help="write the tables to this file too")
    args = parser.parse_args()
    rows: dict[str, list[str]] = {"multilabel": [], "completion": []}
    for run_dir in args.runs:
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        experiment = "multilabel" if "picnn_bundle" in config else "completion"
        for method, r in json.loads((run_dir / "results.json").read_text())["methods"].items():
            rows[experiment].append(row(experiment, method, r, run_dir))
    tables = []
    for experiment, lines in rows.items():
        if lines:
            header = HEADERS[experiment]
            tables.append("\n".join([header, "|" + "---|" * header.count(" | ") + "---|", *lines]))
    text = "\n\n".join(tables) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
