"""A grid of training runs (:class:`~icnn_rl.rl.run.RunSpec` s) on one of two backends:

- ``process`` (default, nothing extra installed): one after the other in this process (one worker),
  or in ``workers`` spawned local processes;
- ``ray``: one Ray task per run, one CPU each, on a new local Ray instance (``workers`` CPUs, default
  all) or on an existing cluster (``address``, e.g. ``auto`` after ``ray start --head``). Ray is the
  optional extra ``pip install "icnn-rl[ray]"`` (``pip install -e ".[ray]"`` in a checkout).

Either way every run writes its usual directory under the spec's ``log_dir`` (on a cluster, a
directory every node sees), ``--resume`` means the same, and a run that fails (it diverges, its
directory exists without ``--resume``, its worker dies) is one :class:`RunOutcome` with an error
line while the other runs go on; :func:`summary` names which runs finished and which failed. A stop
by the user or a scheduler (Ctrl-C, SIGTERM: :class:`~icnn_rl.rl.run.RunInterrupted`) is not a
failed run: the runs in progress checkpoint and stop, no further run starts, and the interrupt
reaches the caller.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import signal
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from icnn_rl.cli import check_distinct
from icnn_rl.rl.checkpoints import latest_checkpoint
from icnn_rl.rl.run import RunError, RunInterrupted, RunResult, RunSpec, stop_signalled, train_run

BACKENDS = ("process", "ray")
RAY_EXTRA = (
    'Ray is not installed; install the optional extra: pip install "icnn-rl[ray]" '
    '(in a checkout: pip install -e ".[ray]")'
)


class BackendError(ValueError):
    """An unknown backend, an option the backend does not take, or a backend that is not installed."""


@dataclass(frozen=True)
class RunOutcome:
    """How one run of a grid ended: ``result`` when it finished, else ``error`` (one line)."""

    spec: RunSpec
    result: RunResult | None = None
    error: str | None = None

    @property
    def name(self) -> str:
        """The run's place under the log directory: ``<env>/<agent>/seed<k>``."""
        return f"{self.spec.env_id}/{self.spec.agent}/seed{self.spec.seed}"


def unfinished(specs: Sequence[RunSpec]) -> list[RunSpec]:
    """The runs of ``specs`` without a ``model.zip``, those already started (their directory holds a
    ``config.yaml``) set to resume from their checkpoints: what a repeated grid still has to do."""
    return [
        dataclasses.replace(spec, resume=(spec.run_dir / "config.yaml").exists())
        for spec in specs
        if not (spec.run_dir / "model.zip").exists()
    ]


def restarts(specs: Sequence[RunSpec]) -> list[str]:
    """One line per spec that is to resume but will start from step 0: its directory holds no run,
    or the run stopped before its first checkpoint (e.g. a Ray grid shorter than the checkpoint
    interval whose driver was killed)."""
    lines = []
    for spec in specs:
        if not spec.resume or (spec.run_dir / "model.zip").exists():
            continue
        if not (spec.run_dir / "config.yaml").exists():
            lines.append(f"{spec.run_dir}: nothing to resume (no run there); it starts from step 0")
        elif latest_checkpoint(spec.run_dir / "checkpoints") is None:
            lines.append(f"{spec.run_dir}: nothing to resume (the run stopped before its first checkpoint); "
                         "it starts again from step 0")
    return lines


def attempt(spec: RunSpec) -> RunOutcome:
    """Train one run; any failure becomes the outcome's error line (an unexpected exception also
    prints its traceback where the run ran)."""
    try:
        return RunOutcome(spec, result=train_run(spec))
    except RunError as exc:
        return RunOutcome(spec, error=str(exc))
    except Exception as exc:  # noqa: BLE001 (whatever stops one run must not stop the grid)
        traceback.print_exc()
        return RunOutcome(spec, error=f"{type(exc).__name__}: {exc}")


def import_ray() -> ModuleType:
    """The ``ray`` module, or :class:`BackendError` naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise BackendError(RAY_EXTRA) from None
    return ray


def check_backend(backend: str, workers: int | None, address: str | None) -> None:
    """Refuse a combination of options the backend cannot honour (before any run starts)."""
    if backend not in BACKENDS:
        raise BackendError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if workers is not None and workers < 1:
        raise BackendError(f"--workers must be >= 1, got {workers}")
    if backend == "process" and address is not None:
        raise BackendError("--address names a Ray cluster; it needs --backend ray")
    if backend == "ray":
        if address is not None and workers is not None:
            raise BackendError("--workers sizes a local Ray instance; with --address the cluster's CPUs decide")
        import_ray()


def connect_ray(workers: int | None, address: str | None) -> bool:
    """Make sure this process is connected to Ray: the instance it already holds, a new local one
    with ``workers`` CPUs (``address`` None) or the cluster at ``address``. Returns whether this
    call connected (so the caller disconnects when done)."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    if address is None:
        ray.init(address="local", num_cpus=workers, include_dashboard=False)
    else:
        ray.init(address=address)
    return True


def _attempt_in_worker(spec: RunSpec) -> RunOutcome:
    """:func:`attempt` in a pool worker, unless a stop signal reached this worker: a run queued to
    it before the stop is not started."""
    if stop_signalled():
        raise RunInterrupted(f"{spec.agent} on {spec.env_id} seed {spec.seed} not started: its worker was stopped")
    return attempt(spec)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt in this (main) thread, as Ctrl-C does: a grid's parent
    process then waits for its workers, which got the signal too when it was sent to the process
    group (``kill -TERM -- -<pgid>``, a scheduler's stop), to checkpoint and stop."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(number: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_in_processes(specs: Sequence[RunSpec], workers: int, done: Callable[[RunOutcome], None]) -> None:
    if workers == 1:
        for spec in specs:
            done(attempt(spec))
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool, \
            _sigterm_as_interrupt():
        futures: dict[Future[RunOutcome], RunSpec] = {pool.submit(_attempt_in_worker, spec): spec for spec in specs}
        try:
            for future in as_completed(futures):
                try:
                    outcome = dataclasses.replace(future.result(), spec=futures[future])
                except BrokenProcessPool as exc:  # a worker process died (killed, out of memory)
                    outcome = RunOutcome(futures[future], error=f"{type(exc).__name__}: {exc}")
                done(outcome)
        except KeyboardInterrupt:   # Ctrl-C, or a run stopped by a signal: start no more runs
            pool.shutdown(wait=True, cancel_futures=True)
            stopped = [str(f.exception()) for f in futures if f.done() and not f.cancelled()
                       and isinstance(f.exception(), RunInterrupted) and str(f.exception())]
            if not stopped:
                raise
            raise RunInterrupted("; ".join(stopped)) from None


def _run_on_ray(
    specs: Sequence[RunSpec], workers: int | None, address: str | None, done: Callable[[RunOutcome], None]
) -> None:
    ray = import_ray()
    connected = connect_ray(workers, address)
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(attempt)
        # workers may start elsewhere (another node, another working directory): absolute paths
        pending = {
            task.remote(dataclasses.replace(spec, log_dir=Path(spec.log_dir).resolve(), progress=False)): spec
            for spec in specs
        }
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            spec = pending.pop(ref)
            try:
                outcome = dataclasses.replace(ray.get(ref), spec=spec)
            except ray.exceptions.RayError as exc:  # the task's worker or node died
                outcome = RunOutcome(spec, error=f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
            done(outcome)
    finally:
        if connected:
            ray.shutdown()


def run_grid(
    specs: Sequence[RunSpec],
    backend: str = "process",
    workers: int | None = None,
    address: str | None = None,
    done: Callable[[RunOutcome], None] = lambda outcome: None,
) -> list[RunOutcome]:
    """Train every spec on ``backend`` and return their outcomes in the order of ``specs``;
    ``done`` is called in this process as each run ends (in the order they end). Two specs of one
    run directory are refused (:class:`~icnn_rl.cli.ConfigError`): a run is trained once."""
    check_backend(backend, workers, address)
    check_distinct("the grid", [spec.run_dir for spec in specs])
    outcomes: dict[RunSpec, RunOutcome] = {}

    def record(outcome: RunOutcome) -> None:
        outcomes[outcome.spec] = outcome
        done(outcome)

    if backend == "process":
        _run_in_processes(specs, workers or 1, record)
    else:
        _run_on_ray(specs, workers, address, record)
    return [outcomes[spec] for spec in specs]


def summary(outcomes: Sequence[RunOutcome], base: Path | None = None) -> str:
    """Which runs finished and which failed, by name: ``<env>/<agent>/seed<k>``, or with ``base``
    each run directory relative to it (runs of several log directories)."""

    def name(outcome: RunOutcome) -> str:
        return outcome.name if base is None else str(outcome.spec.run_dir.relative_to(base))

    finished = [name(o) for o in outcomes if o.error is None]
    failed = [o for o in outcomes if o.error is not None]
    lines = [f"{len(finished)} of {len(outcomes)} runs finished" + (f": {', '.join(finished)}" if finished else "")]
    if failed:
        lines.append(f"{len(failed)} failed:")
        lines += [f"  {name(o)}: {o.error}" for o in failed]
    return "\n".join(lines)
