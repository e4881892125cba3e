"""A run's ``evaluations.csv``: one row ``step,test_return`` per test phase of the paper's protocol.

Plain CSV reading and writing, so that the report reads runs without importing training code.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from icnn_rl.cli import write_text_atomic

CSV_COLUMNS = ("step", "test_return")


def read_evaluations(path: Path) -> list[tuple[int, float]]:
    """Rows (step, test_return) of an ``evaluations.csv``."""
    with open(path, newline="") as handle:
        return [(int(row["step"]), float(row["test_return"])) for row in csv.DictReader(handle)]


def write_evaluations(path: Path, rows: list[tuple[int, float]]) -> None:
    """The header and ``rows``, written atomically."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    write_text_atomic(path, text.getvalue())


def append_evaluation(path: Path, step: int, test_return: float) -> None:
    """Append one row (a resumed run first drops the rows after its checkpoint's step)."""
    with open(path, "a", newline="") as handle:
        csv.writer(handle).writerow((step, test_return))


def truncate_evaluations(path: Path, last_step: int) -> None:
    """Drop rows after ``last_step`` (tests run after the checkpoint a resumed run restarts from)."""
    if path.exists():
        write_evaluations(path, [row for row in read_evaluations(path) if row[0] <= last_step])
