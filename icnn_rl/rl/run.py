"""One training run (agent × env × seed) and everything it writes into its run directory:

``<log_dir>/<env>/<agent>/seed<k>/`` holds ``config.yaml`` (the resolved config, its schedule
included: :func:`~icnn_rl.rl.config.resolve_schedule`), TensorBoard events, ``evaluations.csv``
(step, test_return), ``checkpoints/`` and, when done, ``model.zip`` and ``metrics.json`` (wall time
and training throughput of the whole run, see :class:`RunTimer`). One value is chosen only while the
run trains: ICNN's ``entropy_weight: null`` (the rule fixes ε at the first update). ``config.yaml``
keeps the null, so that it stays what was asked and compares equal to the packaged config, and
``metrics.json`` records the ε the run used as ``entropy_weight`` (1 when it made no update).
While a process trains the run it holds an advisory lock on ``.lock`` there (POSIX ``flock``,
released when the process ends, however it ends), so a second grid over the same ``--log-dir``
cannot train the same run at once.

SIGTERM or SIGINT (a scheduler's preemption, ``kill``, Ctrl-C) stops a run at the end of its current
env step with a checkpoint there, so no trained step is lost, and raises :class:`RunInterrupted`;
a second signal acts as it did before (e.g. Ctrl-C again stops at once).
"""

from __future__ import annotations

import errno
import fcntl
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger, configure
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from tensorboard.compat.proto.event_pb2 import Event, SessionLog

from icnn_rl.agents import load_agent
from icnn_rl.cli import ConfigError, check_distinct, configure_torch, write_json_atomic, write_text_atomic
from icnn_rl.envs import make_env
from icnn_rl.rl.build import build_model
from icnn_rl.rl.callbacks import AtomicCheckpointCallback, DivergedError, DivergenceGuard, PaperTestCallback
from icnn_rl.rl.checkpoints import checkpoint_timing, latest_checkpoint, save_model_atomic
from icnn_rl.rl.config import as_today
from icnn_rl.rl.evaluations import truncate_evaluations

LOCK_NAME = ".lock"
TEST_SEED_OFFSET = 1  # the test env is seeded with seed + 1, the training env with seed
SEED_LIMIT = 2**32 - TEST_SEED_OFFSET   # numpy takes seeds below 2**32
# A run's write that fails for one of these reasons is a fault of the machine or of the directory
# (read-only, full), not of the run: one error line (RunError), no traceback.
WRITE_FAULTS = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
TEST_RNG_KEY = "test_env_rng"   # the test env's random state, saved with each checkpoint's timing
_STOP = threading.Event()   # this process got a stop signal while training (stop_signalled)


class RunError(RuntimeError):
    """A run that cannot go on: its directory cannot be used as asked (e.g. it exists and
    --resume was not given), or its network diverged."""


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by a signal after a checkpoint at its current step. Like Ctrl-C it stops the
    whole grid (a grid goes on past a failed run, not past the user's or the scheduler's stop)."""


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


def check_seeds(option: str, seeds: Sequence[int]) -> None:
    """Refuse seeds numpy cannot take (the test env's included) and a seed given twice."""
    for seed in seeds:
        if not 0 <= seed < SEED_LIMIT:
            raise ConfigError(f"{option} {seed}: a seed must lie in [0, {SEED_LIMIT - 1}]")
    check_distinct(option, seeds)


@dataclass(frozen=True)
class RunResult:
    """Where a run's model went, and its training throughput (test and checkpoint time excluded)."""

    run_dir: Path
    model_path: Path
    steps: int
    wall_seconds: float
    env_steps_per_second: float


class RunTimer:
    """The time a run has taken, summed over its invocations (fresh start and every ``--resume``).

    A resumed run starts from the totals saved with its checkpoint, so the time an interrupted
    invocation spent after its last checkpoint (steps that are trained again) is not counted.
    Without usable saved totals (a checkpoint from an older version, or a damaged file) the count
    starts at the checkpoint's step: ``timed_steps`` < ``steps`` in ``metrics.json`` then.
    """

    KEYS = ("timed_steps", "wall_seconds", "test_seconds", "checkpoint_seconds", "invocations")

    def __init__(self, start_step: int, previous: dict[str, float] | None) -> None:
        self.start_step = start_step
        usable = previous is not None and all(isinstance(previous.get(key), (int, float)) for key in self.KEYS)
        self.previous = previous if usable else dict.fromkeys(self.KEYS, 0)
        self._start = time.perf_counter()

    def totals(self, step: int, test_seconds: float, checkpoint_seconds: float) -> dict[str, float]:
        """Cumulative totals at env step ``step``, given this invocation's test and checkpoint time."""
        before = self.previous
        return {
            "timed_steps": before["timed_steps"] + step - self.start_step,
            "wall_seconds": before["wall_seconds"] + time.perf_counter() - self._start,
            "test_seconds": before["test_seconds"] + test_seconds,
            "checkpoint_seconds": before["checkpoint_seconds"] + checkpoint_seconds,
            "invocations": before["invocations"] + 1,
        }


def run_metrics(steps: int, totals: dict[str, float]) -> dict[str, float]:
    """``metrics.json``: the run's totals, its training time (wall − tests − checkpoints) and
    training throughput ``timed_steps / train_seconds``."""
    train_seconds = max(totals["wall_seconds"] - totals["test_seconds"] - totals["checkpoint_seconds"], 1e-9)
    return {
        "steps": steps,
        **{key: round(value, 2) for key, value in totals.items()},
        "train_seconds": round(train_seconds, 2),
        "env_steps_per_second": round(totals["timed_steps"] / train_seconds, 2),
    }


RESUME_MAY_CHANGE = ("steps", "device")  # what a --resume may set anew; the rest is the run's


def _resolved(spec: RunSpec) -> dict[str, Any]:
    return {
        "agent": spec.agent,
        "env": spec.env_id,
        "seed": spec.seed,
        "steps": spec.steps,
        "device": spec.device,
        **spec.config,
    }


def _check_resume_config(spec: RunSpec) -> None:
    """A resumed run keeps its config: a checkpoint carries the old settings, so a differing
    ``--set`` or ``--config`` would be ignored in training yet written to ``config.yaml``."""
    try:
        saved = yaml.safe_load((spec.run_dir / "config.yaml").read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise RunError(f"--resume {spec.run_dir}: cannot read its config.yaml ({exc})") from None
    if not isinstance(saved, dict):
        raise RunError(f"--resume {spec.run_dir}: its config.yaml is not a mapping of settings")
    saved = as_today(saved, spec.env_id)   # recorded before a key's removal or the schedule's resolution
    wanted = yaml.safe_load(yaml.safe_dump(_resolved(spec), sort_keys=False))
    keys = sorted(key for key in wanted.keys() | saved.keys()
                  if key not in RESUME_MAY_CHANGE and wanted.get(key) != saved.get(key))
    if keys:
        raise RunError(
            f"--resume {spec.run_dir}: the config differs from the run's config.yaml in {', '.join(keys)}; "
            f"resume with the run's settings (only {' and '.join(RESUME_MAY_CHANGE)} may change) "
            "or start a new run in another --log-dir"
        )


@contextmanager
def _exclusive(run_dir: Path) -> Iterator[None]:
    """Hold the run directory's lock (see the module docstring) or fail at once if another process does."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / LOCK_NAME, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"{run_dir} is being trained by another process; let it finish, or stop it "
                           "and resume") from None
        yield


@contextmanager
def _checkpoint_on_signal(checkpointer: AtomicCheckpointCallback) -> Iterator[None]:
    """While training, the first SIGTERM or SIGINT asks ``checkpointer`` to checkpoint and stop
    (the module docstring) and puts the previous handlers back. Signal handlers can only be set in
    the main thread: elsewhere (e.g. a thread of a Ray worker) signals keep their previous effect."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}

    def restore() -> None:
        for number, handler in previous.items():
            signal.signal(number, handler)

    def stop(number: int, frame: object) -> None:
        _STOP.set()
        checkpointer.request_stop()
        restore()

    for number in STOP_SIGNALS:
        signal.signal(number, stop)
    try:
        yield
    finally:
        restore()


def stop_signalled() -> bool:
    """Whether this process got a stop signal while training (a grid's worker then starts no run
    that was queued to it before the stop)."""
    return _STOP.is_set()


def is_training(run_dir: Path) -> bool:
    """Whether another process holds ``run_dir``'s lock now, i.e. is training it (see the module
    docstring): its records are then a run in progress, not a stopped one."""
    lock = run_dir / LOCK_NAME
    if not lock.is_file():
        return False
    with open(lock) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _open_run_dir(spec: RunSpec) -> None:
    """Create the run directory and write its ``config.yaml``; an existing run is continued only
    with ``--resume`` and its own settings."""
    if (spec.run_dir / "config.yaml").exists():
        if not spec.resume:
            raise RunError(
                f"run directory {spec.run_dir} already exists; pass --resume to continue it or pick another "
                "--log-dir"
            )
        _check_resume_config(spec)
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(spec.run_dir / "config.yaml", yaml.safe_dump(_resolved(spec), sort_keys=False))


def _tensorboard_logger(run_dir: Path, purge_step: int | None) -> Logger:
    """SB3's TensorBoard logger into ``run_dir``. With ``purge_step``, its first event tells
    TensorBoard to drop what earlier event files hold from that step on (SummaryWriter's
    ``purge_step``, which SB3's ``configure`` does not pass on): a resumed run's is the step after
    its checkpoint's, so what the stopped process logged after its checkpoint, and the resumed run
    logs again, shows once."""
    logger = configure(str(run_dir), ["tensorboard"])
    if purge_step is not None:
        (output,) = logger.output_formats
        output.writer.file_writer.add_event(Event(step=purge_step, session_log=SessionLog(status=SessionLog.START)))
    return logger


def _start_model(spec: RunSpec, csv_path: Path) -> tuple[OffPolicyAlgorithm, dict[str, Any] | None]:
    """A fresh model, or with ``--resume`` the newest checkpoint's model and replay buffer (the test
    curve and the TensorBoard curves cut back to its step), with the state saved beside it
    (:func:`_train_locked`); TensorBoard logs go to the run directory."""
    latest = latest_checkpoint(spec.run_dir / "checkpoints") if spec.resume else None
    timing = None
    purge_step = 0 if spec.resume else None   # a --resume without a checkpoint starts again
    if latest is None:
        model = build_model(spec.agent, spec.env_id, spec.config, spec.seed, spec.steps, spec.device)
        csv_path.unlink(missing_ok=True)
    else:
        model_path, buffer_path = latest
        env = make_env(spec.env_id, reward_scale=spec.config["reward_scale"])
        model = load_agent(model_path, env=env, device=spec.device)
        model.load_replay_buffer(buffer_path)
        truncate_evaluations(csv_path, model.num_timesteps)
        timing = checkpoint_timing(model_path)
        purge_step = model.num_timesteps + 1   # what was logged at the checkpoint's step came before it
    model.set_logger(_tensorboard_logger(spec.run_dir, purge_step))
    return model, timing


def _learn(
    spec: RunSpec, model: OffPolicyAlgorithm, callbacks: list[BaseCallback], checkpointer: AtomicCheckpointCallback
) -> None:
    """Train up to ``spec.steps`` with ``callbacks`` (``checkpointer`` among them), then write the
    final checkpoint; a diverged network is a :class:`RunError` naming the last (finite) checkpoint."""
    start = model.num_timesteps
    try:
        if spec.steps > start:
            with _checkpoint_on_signal(checkpointer):
                model.learn(
                    spec.steps - start,
                    callback=callbacks,
                    reset_num_timesteps=start == 0,
                    progress_bar=spec.progress,
                )
        if checkpointer.stopped and checkpointer.last_step < spec.steps:
            raise RunInterrupted(
                f"{spec.agent} on {spec.env_id} seed {spec.seed} stopped by a signal at step {checkpointer.last_step} "
                f"of {spec.steps}, checkpoint written: continue it with train.py --resume (a results or search grid: repeat its command)"
            )
        checkpointer.init_callback(model)
        checkpointer.save()   # the final checkpoint, also checked for divergence
    except DivergedError as exc:
        raise RunError(
            f"{spec.agent} on {spec.env_id} seed {spec.seed} diverged: {exc}; training stopped "
            f"({_kept_checkpoint(spec)}); change the config (e.g. learning_rate, reward_scale) and start again"
        ) from None


def _kept_checkpoint(spec: RunSpec) -> str:
    """Where a stopped run's last checkpoint is, for its error line."""
    last = latest_checkpoint(spec.run_dir / "checkpoints")
    return f"last checkpoint: {last[0]}" if last else "no checkpoint was written"


def train_run(spec: RunSpec) -> RunResult:
    """Train (or, with ``spec.resume``, continue from the newest checkpoint) and save the model,
    holding the run directory's lock. A write that fails for a reason of :data:`WRITE_FAULTS`
    stops the run with a :class:`RunError` (its last checkpoint is kept: checkpoints are atomic)."""
    try:
        with _exclusive(spec.run_dir):
            return _train_locked(spec)
    except OSError as exc:
        if exc.errno not in WRITE_FAULTS:
            raise
        where = Path(exc.filename).parent if exc.filename else spec.run_dir
        raise RunError(
            f"{spec.agent} on {spec.env_id} seed {spec.seed}: cannot write in {where} "
            f"({exc.strerror}); training stopped ({_kept_checkpoint(spec)}); make the directory writable "
            "(or free space) and continue with --resume"
        ) from None


def _train_locked(spec: RunSpec) -> RunResult:
    """:func:`train_run`'s work, with the lock held."""
    configure_torch()
    run_dir, config = spec.run_dir, spec.config
    csv_path = run_dir / "evaluations.csv"
    _open_run_dir(spec)
    model, saved = _start_model(spec, csv_path)
    interval = config["test_interval"]
    test_env = make_env(spec.env_id)
    tester = PaperTestCallback(
        test_env, interval, config["test_episodes"], csv_path, spec.seed + TEST_SEED_OFFSET,
        rng_state=(saved or {}).get(TEST_RNG_KEY),
    )
    timer = RunTimer(model.num_timesteps, saved)

    def totals() -> dict[str, float]:
        return timer.totals(model.num_timesteps, tester.seconds, checkpointer.seconds)

    def checkpoint_state() -> dict[str, Any]:
        """What a checkpoint saves beside the model: the run's time so far and the test env's random state."""
        return {**totals(), TEST_RNG_KEY: tester.rng_state()}

    checkpointer = AtomicCheckpointCallback(run_dir / "checkpoints", config["checkpoint_interval"], checkpoint_state)
    _learn(spec, model, [DivergenceGuard(interval), tester, checkpointer], checkpointer)
    model_path = run_dir / "model.zip"
    save_model_atomic(model, model_path)
    metrics = run_metrics(model.num_timesteps, totals())
    if "entropy_weight" in config:   # ICNN (module docstring)
        metrics["entropy_weight"] = model.policy.target_solver.entropy_weight
    write_json_atomic(run_dir / "metrics.json", metrics)
    test_env.close()
    model.env.close()
    return RunResult(
        run_dir, model_path, model.num_timesteps, metrics["wall_seconds"], metrics["env_steps_per_second"]
    )
