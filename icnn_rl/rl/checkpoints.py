"""Atomic checkpoints: ``<run>/checkpoints/step<N>.zip`` (model and optimizers) beside
``step<N>.buffer.pkl`` (replay buffer) and ``step<N>.timing.json`` (the run's cumulative time, so a
resumed run's metrics cover all of it, and the test env's random state, so its tests go on as the
uninterrupted run's would). Each file is written to a temporary name and moved into
place with ``os.replace``, the model last, so a checkpoint whose model file exists is complete;
a run killed at any moment leaves the previous complete checkpoint loadable."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from icnn_rl.cli import atomic_target, write_json_atomic

_NAME = re.compile(r"^step(\d+)\.zip$")


def save_model_atomic(model: OffPolicyAlgorithm, path: Path) -> None:
    """``model.save(path)`` through :func:`~icnn_rl.cli.atomic_target`."""
    with atomic_target(path) as tmp:
        model.save(tmp)


def _timing_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.stem + ".timing.json")


def write_checkpoint(
    model: OffPolicyAlgorithm, directory: Path, timing: dict[str, Any] | None = None
) -> Path:
    """Save model, optimizers, replay buffer and ``timing`` (if given) at ``model.num_timesteps``;
    drop older checkpoints."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"step{model.num_timesteps}"
    with atomic_target(directory / f"{stem}.buffer.pkl") as tmp:
        model.save_replay_buffer(tmp)
    path = directory / f"{stem}.zip"
    if timing is not None:
        write_json_atomic(_timing_path(path), timing)
    save_model_atomic(model, path)
    keep = {path.name, f"{stem}.buffer.pkl", _timing_path(path).name}
    for old in directory.iterdir():
        if old.name not in keep:
            old.unlink()
    return path


def checkpoint_step(model_path: Path) -> int:
    """The env step of the checkpoint ``<dir>/step<N>.zip``: N."""
    match = _NAME.match(model_path.name)
    if match is None:
        raise ValueError(f"{model_path} is not a checkpoint's model file (step<N>.zip)")
    return int(match.group(1))


def latest_checkpoint(directory: Path) -> tuple[Path, Path] | None:
    """(model, replay buffer) of the newest complete checkpoint in ``directory``, if any."""
    if not directory.is_dir():
        return None
    steps = [checkpoint_step(p) for p in directory.iterdir() if _NAME.match(p.name)]
    for step in sorted(steps, reverse=True):
        buffer = directory / f"step{step}.buffer.pkl"
        if buffer.exists():
            return directory / f"step{step}.zip", buffer
    return None


def checkpoint_timing(model_path: Path) -> dict[str, Any] | None:
    """The timing saved with the checkpoint ``model_path``; None when there is none or it cannot
    be read (a checkpoint from before timings were saved, or a damaged file): the resumed run's
    metrics then count from the checkpoint's step."""
    try:
        timing = json.loads(_timing_path(model_path).read_text())
    except (OSError, ValueError):
        return None
    return timing if isinstance(timing, dict) else None
