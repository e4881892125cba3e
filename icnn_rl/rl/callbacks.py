"""Training callbacks: the paper's test protocol, periodic checkpoints and a divergence guard."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

from icnn_rl.rl.checkpoints import write_checkpoint
from icnn_rl.rl.evaluations import append_evaluation, write_evaluations
from icnn_rl.rl.rollout import rollout


class DivergedError(RuntimeError):
    """The model's parameters or statistics became non-finite (NaN or ±inf) during training."""


def check_policy_finite(model: BaseAlgorithm) -> None:
    """Raise :class:`DivergedError` naming the first non-finite tensor of the policy's state
    (parameters and buffers such as BatchNorm statistics)."""
    for name, tensor in model.policy.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise DivergedError(f"{name} became non-finite (NaN or inf) by step {model.num_timesteps}")


class DivergenceGuard(BaseCallback):
    """Stop training with :class:`DivergedError` once the policy's state is non-finite, checked
    every ``interval`` env steps (a diverged network never recovers: its updates are NaN)."""

    def __init__(self, interval: int) -> None:
        super().__init__()
        self.interval = interval
        self._next_check = 0

    def _on_training_start(self) -> None:
        self._next_check = self.num_timesteps + self.interval

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next_check:
            check_policy_finite(self.model)
            self._next_check += self.interval
        return True


class PaperTestCallback(BaseCallback):
    """The ICNN paper's test protocol: at step 0 and every ``interval`` env steps, run
    ``episodes`` deterministic episodes without exploration noise on ``env`` (unscaled rewards),
    log their mean as ``eval/return`` and append ``step,test_return`` to ``csv_path``.

    ``env`` is seeded once with ``seed`` at its first reset, or with ``rng_state`` (a resumed run's
    :meth:`rng_state` saved with its checkpoint) continues from where the interrupted run's tests
    left it, so its tests start from the states the uninterrupted run's would. ``seconds``
    accumulates the time spent testing, so training throughput can exclude it; ``last_return`` is
    the latest test's mean. With ``stop_at``, training stops after the first test whose mean reaches it.
    """

    def __init__(self, env: gym.Env, interval: int, episodes: int, csv_path: Path, seed: int,
                 stop_at: float | None = None, rng_state: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.env, self.interval, self.episodes = env, interval, episodes
        self.csv_path, self.seed, self.stop_at = csv_path, seed, stop_at
        self.seconds = 0.0
        self.last_return = float("nan")
        self._next_test = 0
        self._seeded = rng_state is not None
        if rng_state is not None:
            generator = np.random.Generator(getattr(np.random, rng_state["bit_generator"])())
            generator.bit_generator.state = rng_state
            env.unwrapped.np_random = generator

    def rng_state(self) -> dict[str, Any] | None:
        """The test env's random state (JSON-serialisable), None before its first test."""
        return self.env.unwrapped.np_random.bit_generator.state if self._seeded else None

    def _on_training_start(self) -> None:
        if not self.csv_path.exists():
            write_evaluations(self.csv_path, [])
        if self.num_timesteps == 0:
            self._test()
        self._next_test = (self.num_timesteps // self.interval + 1) * self.interval

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next_test:
            self._test()
            self._next_test += self.interval
        return self.stop_at is None or not self.last_return >= self.stop_at

    def _test(self) -> None:
        start = time.perf_counter()
        returns = []
        with getattr(self.model, "untimed", nullcontext)():   # tests are not training time
            for _ in range(self.episodes):
                returns.append(rollout(self.model, self.env, seed=None if self._seeded else self.seed))
                self._seeded = True
        mean = self.last_return = float(np.mean(returns))
        append_evaluation(self.csv_path, self.num_timesteps, mean)
        self.logger.record("eval/return", mean)
        self.logger.dump(self.num_timesteps)
        self.seconds += time.perf_counter() - start


class AtomicCheckpointCallback(BaseCallback):
    """Write an atomic checkpoint (model, optimizers, replay buffer) every ``interval`` env steps.

    It runs at the end of a rollout, after SB3 has stored the step's transition (``_on_step``
    runs before that), so the buffer holds exactly ``num_timesteps`` transitions. ``timing``,
    if given, returns the run's state at that moment (its cumulative time, the test env's random
    state: JSON), saved with the checkpoint. A
    non-finite model is not saved (:func:`check_policy_finite`), so the last checkpoint stays usable.
    """

    def __init__(
        self, directory: Path, interval: int, timing: Callable[[], dict[str, Any]] | None = None
    ) -> None:
        super().__init__()
        self.directory, self.interval, self.timing = directory, interval, timing
        self.seconds = 0.0
        self._last = 0
        self.stop_requested = False   # set by request_stop
        self.stopped = False          # a checkpoint was written for the stop; training ends

    @property
    def last_step(self) -> int:
        """The env step of the newest checkpoint this callback wrote (or the one training started from)."""
        return self._last

    def request_stop(self) -> None:
        """Checkpoint at the end of the current env step, then stop training (safe to call from a
        signal handler: it only sets a flag)."""
        self.stop_requested = True

    def _on_training_start(self) -> None:
        self._last = self.num_timesteps

    def _on_step(self) -> bool:
        return not self.stopped

    def _on_rollout_end(self) -> None:
        if self.stop_requested and not self.stopped:
            if self._last != self.num_timesteps:
                self.save()
            self.stopped = True
        elif self.num_timesteps // self.interval > self._last // self.interval:
            self.save()

    def save(self) -> None:
        """Write a checkpoint now (its time is added to ``seconds``)."""
        check_policy_finite(self.model)
        start = time.perf_counter()
        with getattr(self.model, "untimed", nullcontext)():
            write_checkpoint(self.model, self.directory, self.timing() if self.timing else None)
        self._last = self.model.num_timesteps
        self.seconds += time.perf_counter() - start
