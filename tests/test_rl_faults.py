"""Faults and bad input of the RL commands as a user meets them: each stops the command with one line
``<command>: error: ...`` and exit status 2, no traceback, and leaves nothing behind; surprises that
are not errors are one ``<command>: warning: ...`` line each. A bug of ours is not bad input: it
surfaces as a traceback."""

from __future__ import annotations

import pytest

from icnn_rl import train
from icnn_rl.convex import picnn

FAST = ["--set", "hidden=[8]", "--set", "learning_starts=20", "--set", "batch_size=8", "--set", "test_interval=20",
        "--no-progress"]


def test_a_bug_in_building_a_model_is_a_traceback_not_a_config_error(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("a bug of ours")

    monkeypatch.setattr(picnn.PICNN, "__init__", broken)
    assert train.main(["--steps", "30", "--log-dir", str(tmp_path), *FAST]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "TypeError: a bug of ours" in err
