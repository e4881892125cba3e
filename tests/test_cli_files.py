"""Atomic writes shared by every command (``icnn_rl.cli.atomic_target``): readers never see half a
file, a failed write leaves the previous file, and processes writing one file at once (two
``benchmarks.publish.rl_results`` publishing to one records directory) never collide."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from icnn_rl.cli import atomic_target, write_text_atomic

WRITER = """
import sys
from pathlib import Path
from icnn_rl.cli import write_text_atomic
path, text = Path(sys.argv[1]), sys.argv[2] * 20_000
for _ in range(300):
    write_text_atomic(path, text)
"""


def test_two_processes_writing_one_file_at_once_both_succeed_and_leave_one_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), letter], stderr=subprocess.PIPE, text=True)
               for letter in "ab"]
    errors = [writer.communicate(timeout=120)[1] for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0], errors
    assert path.read_text() in ("a" * 20_000, "b" * 20_000)
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]


def test_a_write_that_fails_leaves_the_previous_file_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    write_text_atomic(path, "finished\n")
    with pytest.raises(RuntimeError, match="disk full"), atomic_target(path) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("disk full")
    assert path.read_text() == "finished\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
