"""Shared plumbing of the three supervised experiments: typed YAML configs (unknown keys are errors)
with `--set key=value` overrides, seeding, run directories with TensorBoard logs, a progress bar, and
the command line every experiment module exposes. YAML loading, overrides, device choice, the packaged
configs and the exit convention are :mod:`icnn_rl.cli`'s, shared with the RL commands.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import subprocess
import time
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import yaml
from tqdm.auto import tqdm

from icnn_rl.cli import (
    CHECKOUT_ROOT,
    ConfigError,
    add_set_argument,
    check_output_dir,
    config_path,
    configure_torch,
    load_yaml,
    parse_overrides,
    report_error,
    resolve_device,
    write_json_atomic,
    write_text_atomic,
)
from icnn_rl.supervised.training import Checkpoint, model_state

C = TypeVar("C")


@dataclass
class CommonConfig:
    """Settings every experiment has."""

    seed: int = 42
    device: str = "auto"  # cpu | cuda | auto
    threads: int = 1  # torch CPU threads (the benchmarks share one core)
    max_minutes: float = 0.0  # >0: stop each training run after this wall time (steps done are reported)


# ---------------------------------------------------------------------------------------- configs
def config_from_dict(cls: type[C], data: dict[str, Any], where: str = "config") -> C:
    """Build dataclass `cls` from a mapping; nested dataclass fields take nested mappings.

    Raises ValueError naming the offending key and the valid keys on unknown keys or wrong types.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys: {names}")
    kwargs = {key: _coerce(hints[key], value, f"{where}.{key}") for key, value in data.items()}
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return config_from_dict(hint, value, where)  # type: ignore[arg-type]
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        return tuple(_coerce(item, v, where) for v in value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    wrong_type = hint in (int, float, str, bool) and not isinstance(value, hint)
    if wrong_type or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain-data (YAML-safe) form of a config dataclass; tuples become lists."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def overlay(data: dict[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with ``layer``'s keys set into it, nested mappings merged key by key (in place)."""
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(data.get(key), dict):
            overlay(data[key], value)
        else:
            data[key] = value
    return data


def load_config(cls: type[C], path: str | Path | None, overrides: Sequence[str] = ()) -> C:
    """Config `cls` from YAML file `path` (None: the dataclass defaults) plus `--set` `overrides`."""
    data = load_yaml(path) if path is not None else {}
    return config_from_dict(cls, overlay(data, parse_overrides(overrides)), str(path or cls.__name__))


# ------------------------------------------------------------------------------------ environment
def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) with one seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup(config: CommonConfig) -> torch.device:
    """Seed, set the CPU threads and subnormal flushing (:func:`icnn_rl.cli.configure_torch`) and
    return the configured device."""
    configure_torch(config.threads)
    seed_everything(config.seed)
    return resolve_device(config.device)


# ------------------------------------------------------------------------------------------- runs
class ExperimentRun:
    """A run directory: ``config.yaml``, TensorBoard events under ``tb/``, ``results.json``, the selected
    models (``<method>.pt`` state dicts) and figures."""

    def __init__(self, directory: Path, config: Any) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.dir / "config.yaml", yaml.safe_dump(config_to_dict(config), sort_keys=False))
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(self.dir / "tb"))
        self._start = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._start

    def log(self, scalars: dict[str, float], step: int) -> None:
        """Write scalars (tag -> value) to TensorBoard at `step`."""
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, value, step)

    def save_results(self, results: dict[str, Any]) -> Path:
        """Write ``results.json`` (adds the wall time in seconds) and return its path."""
        path = self.dir / "results.json"
        write_json_atomic(path, {**results, "wall_seconds": round(self.elapsed, 1)})
        return path

    def save_model(self, name: str, model: torch.nn.Module) -> Path:
        """Save `model`'s state dict as ``<name>.pt`` in the run directory and return its path."""
        path = self.dir / f"{name}.pt"
        torch.save(model.state_dict(), path)
        return path

    def close(self) -> None:
        self.writer.close()


def provenance(config: Any) -> dict[str, Any]:
    """What makes a ``results.json`` reproducible: the git commit of the code when the run starts
    (with ``+dirty`` when the package or the configs differ from it; ``unknown`` outside a git
    checkout) and the resolved config."""
    try:
        git = ["git", "-C", str(CHECKOUT_ROOT)]
        commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no", "--", "icnn_rl", "configs"],
                               capture_output=True, text=True, check=True).stdout.strip()
        stamp = commit.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        stamp = "unknown"
    return {"commit": stamp, "config": config_to_dict(config)}


def print_method_results(name: str, results: dict[str, Any], decimals: int) -> None:
    """One line ``name: key=value, ...`` with floats rounded to ``decimals``."""
    items = ", ".join(f"{k}={v:.{decimals}f}" if isinstance(v, float) else f"{k}={v}" for k, v in results.items())
    print(f"{name}: {items}", flush=True)


def progress(total: int, desc: str) -> tqdm:
    """A progress bar over `total` steps (hidden when stderr is not a terminal)."""
    return tqdm(total=total, desc=desc, dynamic_ncols=True, disable=None)


def batches_with_replacement(
    n: int, batch_size: int, steps: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """`steps` index batches of `batch_size` rows drawn uniformly with replacement from range(n)
    (the original scripts' sampling)."""
    for _ in range(steps):
        yield rng.integers(0, n, size=batch_size)


# -------------------------------------------------------------------------------------------- CLI
def check_checkpoint_every(config: Any) -> None:
    """``checkpoint_every`` (evaluations between training checkpoints) must be >= 1."""
    if config.checkpoint_every < 1:
        raise ConfigError(f"checkpoint_every={config.checkpoint_every} must be >= 1 (evaluations between saves)")


def experiment_cli(
    name: str,
    description: str,
    config_cls: type[C],
    argv: Sequence[str] | None = None,
    choices: Mapping[str, Sequence[str]] | None = None,
    check: Callable[[C], None] | None = None,
) -> tuple[C, argparse.Namespace, ExperimentRun]:
    """Parse the command line shared by the experiments and open the run directory.

    Options: ``--config`` (default: the packaged ``configs/<name>.yaml``), ``--set key=value``
    (repeatable), ``--data PATH`` (data root), ``--run-dir DIR`` (default
    ``runs/<name>/<timestamp>-seed<seed>``). ``choices`` maps list-valued config keys to their valid
    items; ``check`` raises :class:`ConfigError` for what one key alone cannot say (e.g. n_val <
    n_train). A bad config (also a value its dataclass rejects), device or run directory exits with
    the convention's one error line.
    """
    parser = argparse.ArgumentParser(prog=f"python -m icnn_rl.supervised.{name}", description=description)
    parser.add_argument("--config", default=None, help=f"YAML config file (default: configs/{name}.yaml)")
    add_set_argument(parser)
    parser.add_argument(
        "--data", default=None, help="data root (default: $ICNN_RL_DATA, else ../shared/data)"
    )
    parser.add_argument("--run-dir", default=None, help="output directory of this run")
    args = parser.parse_args(argv)
    try:
        config = load_config(config_cls, args.config or config_path(name), args.overrides)
        for key, valid in (choices or {}).items():
            unknown = [item for item in getattr(config, key) if item not in valid]
            if unknown:
                raise ConfigError(f"{key}: unknown {unknown}; valid: {', '.join(valid)}")
        if check is not None:
            check(config)
        resolve_device(config.device)  # type: ignore[attr-defined]
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-seed{config.seed}"  # type: ignore[attr-defined]
        run_dir = Path(args.run_dir) if args.run_dir else Path("runs") / name / stamp
        check_output_dir(run_dir, "--run-dir")
    except (ConfigError, ValueError) as exc:
        raise SystemExit(report_error(parser.prog, exc)) from None
    return config, args, ExperimentRun(run_dir, config)


# ------------------------------------------------------------------------------------ training loop
@dataclass
class FitResult:
    """Outcome of :func:`fit`: the selected parameters, their score and step, the score history, the
    number of steps run (fewer than asked when the time limit or early stopping ended the run) and
    the training wall time in seconds (summed over resumed parts)."""

    state: dict[str, torch.Tensor]
    score: float
    step: int
    history: list[tuple[int, float]]
    steps_done: int = 0
    seconds: float = 0.0


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    train_step: typing.Callable[[int], float],
    evaluate: typing.Callable[[], float],
    steps: int,
    eval_every: int,
    maximize: bool,
    run: ExperimentRun,
    tag: str,
    max_minutes: float = 0.0,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    patience: int = 0,
    checkpoint: Checkpoint | None = None,
) -> FitResult:
    """Run `steps` optimizer steps, score the model with `evaluate()` every `eval_every` steps (and at
    the end), and keep the parameters with the best score (model selection on held-out data).

    `train_step(step)` computes the loss, back-propagates and returns the loss value; this loop zeroes
    gradients, steps the optimizer and then the `scheduler`. `evaluate()` is called with the model in
    eval mode. Losses and scores go to TensorBoard under `tag`; on return the model holds the
    selected parameters. The run stops early (after an evaluation) once `max_minutes` > 0 of wall
    time have passed, or after `patience` > 0 evaluations without a better score.
    With a `checkpoint`, the state is saved every `checkpoint.every` evaluations and at the end, and
    a saved state is resumed from (a finished run returns its selected parameters without training).
    """
    if steps < 1 or eval_every < 1:
        raise ValueError(f"steps and eval_every must be >= 1, got steps={steps}, eval_every={eval_every}")
    best: tuple[dict[str, torch.Tensor], float, int] | None = None
    history: list[tuple[int, float]] = []
    first, stale, seconds, finished = 1, 0, 0.0, False
    saved = checkpoint.load() if checkpoint is not None else None
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(saved["scheduler"])
        best, history, stale = saved["best"], saved["history"], saved["stale"]
        first, seconds, finished = saved["step"] + 1, saved["seconds"], saved["finished"]

    def save(step: int) -> None:
        if checkpoint is not None:
            checkpoint.save({
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "best": best, "history": history, "stale": stale, "step": step, "finished": finished,
                "seconds": seconds if finished else seconds + time.perf_counter() - started,
            })

    started = time.perf_counter()
    bar = progress(steps, tag)
    bar.update(first - 1)
    deadline = started + 60.0 * max_minutes if max_minutes > 0 else math.inf
    step = first - 1
    for step in range(first, steps + 1) if not finished else ():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        loss = train_step(step)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        run.log({f"{tag}/train_loss": loss}, step)
        bar.update()
        out_of_time = time.perf_counter() > deadline
        if step % eval_every == 0 or step == steps or out_of_time:
            model.eval()
            score = evaluate()
            history.append((step, score))
            run.log({f"{tag}/selection_score": score}, step)
            if best is None or (score > best[1] if maximize else score < best[1]):
                best, stale = (model_state(model), score, step), 0
            else:
                stale += 1
            bar.set_postfix(loss=f"{loss:.4g}", score=f"{score:.4g}", best=f"{best[1]:.4g}")
            stop = out_of_time or (patience > 0 and stale >= patience)
            if stop or step == steps:
                seconds, finished = seconds + time.perf_counter() - started, True
                save(step)
                break
            if checkpoint is not None and len(history) % checkpoint.every == 0:
                save(step)
    bar.close()
    assert best is not None  # the last step always evaluates
    model.load_state_dict(best[0])
    model.eval()
    return FitResult(best[0], best[1], best[2], history, step, round(seconds, 1))
