"""One training run (agent × env × seed) and everything it writes into its run directory:

``<log_dir>/<env>/<agent>/seed<k>/`` holds ``config.yaml`` (the resolved config), TensorBoard
events, ``evaluations.csv`` (step, test_return), ``checkpoints/`` and, when done, ``model.zip``
and ``metrics.json`` (wall time and training throughput of this invocation).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from stable_baselines3.common.logger import configure

from agents import agent_spec
from envs import make_env, task_for
from icnn_rl.rl.build import build_model
from icnn_rl.rl.callbacks import CheckpointCallback, PaperTestCallback, truncate_evaluations
from icnn_rl.rl.checkpoints import latest_checkpoint, save_model_atomic, write_checkpoint

TEST_SEED_OFFSET = 1  # the test env is seeded with seed + 1, the training env with seed


class RunError(RuntimeError):
    """A run directory that cannot be used as asked (e.g. it exists and --resume was not given)."""


@dataclass(frozen=True)
class RunSpec:
    """What to train: ``agent`` on ``env_id`` with ``seed`` for ``steps`` env steps in total."""

    agent: str
    env_id: str
    seed: int
    steps: int
    config: dict[str, Any] = field(hash=False)
    log_dir: Path = Path("runs")
    device: str = "auto"
    resume: bool = False
    progress: bool = False

    @property
    def run_dir(self) -> Path:
        return Path(self.log_dir) / self.env_id / self.agent / f"seed{self.seed}"


@dataclass(frozen=True)
class RunResult:
    """Where a run's model went, and its training throughput (test and checkpoint time excluded)."""

    run_dir: Path
    model_path: Path
    steps: int
    wall_seconds: float
    env_steps_per_second: float


def _write_config(spec: RunSpec) -> None:
    resolved = {
        "agent": spec.agent,
        "env": spec.env_id,
        "seed": spec.seed,
        "steps": spec.steps,
        "device": spec.device,
        **spec.config,
    }
    (spec.run_dir / "config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))


def train_run(spec: RunSpec) -> RunResult:
    """Train (or, with ``spec.resume``, continue from the newest checkpoint) and save the model."""
    torch.set_num_threads(1)
    run_dir, config = spec.run_dir, spec.config
    checkpoint_dir = run_dir / "checkpoints"
    csv_path = run_dir / "evaluations.csv"
    if (run_dir / "config.yaml").exists() and not spec.resume:
        raise RunError(
            f"run directory {run_dir} already exists; pass --resume to continue it or pick another --log-dir"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_config(spec)

    latest = latest_checkpoint(checkpoint_dir) if spec.resume else None
    if latest is None:
        model = build_model(spec.agent, spec.env_id, config, spec.seed, spec.steps, spec.device)
        if csv_path.exists():
            csv_path.unlink()
    else:
        model_path, buffer_path = latest
        env = make_env(spec.env_id, reward_scale=config["reward_scale"])
        model = agent_spec(spec.agent).algo.load(model_path, env=env, device=spec.device)
        model.load_replay_buffer(buffer_path)
        truncate_evaluations(csv_path, model.num_timesteps)
    model.set_logger(configure(str(run_dir), ["tensorboard"]))

    interval = config["test_interval"] or task_for(spec.env_id).test_interval
    test_env = make_env(spec.env_id)
    tester = PaperTestCallback(
        test_env, interval, config["test_episodes"], csv_path, spec.seed + TEST_SEED_OFFSET
    )
    checkpointer = CheckpointCallback(checkpoint_dir, config["checkpoint_interval"] or 10 * interval)
    start_step, start = model.num_timesteps, time.perf_counter()
    if spec.steps > start_step:
        model.learn(
            spec.steps - start_step,
            callback=[tester, checkpointer],
            reset_num_timesteps=latest is None,
            progress_bar=spec.progress,
        )
    write_checkpoint(model, checkpoint_dir)
    model_path = run_dir / "model.zip"
    save_model_atomic(model, model_path)
    wall = time.perf_counter() - start
    steps = model.num_timesteps - start_step
    train_seconds = max(wall - tester.seconds - checkpointer.seconds, 1e-9)
    metrics = {
        "steps": steps,
        "wall_seconds": round(wall, 2),
        "test_seconds": round(tester.seconds, 2),
        "train_seconds": round(train_seconds, 2),
        "env_steps_per_second": round(steps / train_seconds, 2),
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    test_env.close()
    model.env.close()
    return RunResult(run_dir, model_path, steps, wall, metrics["env_steps_per_second"])
