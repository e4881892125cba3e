"""Atomic checkpoints: ``<run>/checkpoints/step<N>.zip`` (model and optimizers) beside
``step<N>.buffer.pkl`` (replay buffer). Each file is written to a temporary name and moved into
place with ``os.replace``, the buffer first, so a checkpoint whose model file exists is complete;
a run killed at any moment leaves the previous complete checkpoint loadable."""

from __future__ import annotations

import os
import re
from pathlib import Path

from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

_NAME = re.compile(r"^step(\d+)\.zip$")


def save_model_atomic(model: OffPolicyAlgorithm, path: Path) -> None:
    """``model.save(path)`` through a temporary file and ``os.replace``."""
    tmp = path.with_name(path.name + ".tmp")
    model.save(tmp)
    os.replace(tmp, path)


def write_checkpoint(model: OffPolicyAlgorithm, directory: Path) -> Path:
    """Save model, optimizers and replay buffer at ``model.num_timesteps``; drop older checkpoints."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"step{model.num_timesteps}"
    tmp = directory / f"{stem}.buffer.pkl.tmp"
    model.save_replay_buffer(tmp)
    os.replace(tmp, directory / f"{stem}.buffer.pkl")
    path = directory / f"{stem}.zip"
    save_model_atomic(model, path)
    for old in directory.iterdir():
        if old.name not in (path.name, f"{stem}.buffer.pkl"):
            old.unlink()
    return path


def latest_checkpoint(directory: Path) -> tuple[Path, Path] | None:
    """(model, replay buffer) of the newest complete checkpoint in ``directory``, if any."""
    if not directory.is_dir():
        return None
    steps = [int(m.group(1)) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    for step in sorted(steps, reverse=True):
        buffer = directory / f"step{step}.buffer.pkl"
        if buffer.exists():
            return directory / f"step{step}.zip", buffer
    return None
