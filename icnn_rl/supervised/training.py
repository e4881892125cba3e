"""Training options of the supervised experiments beyond the paper's plain Adam, and resumable training.

- :class:`Regularisation`: Adam weight decay, a learning-rate schedule and early stopping on the
  validation score. Defaults reproduce the paper (no decay, constant rate, full schedule); the
  settings in ``configs/`` were chosen on the validation splits only (docs/supervised.md).
- :class:`Checkpoint`: the training state that :func:`icnn_rl.supervised.common.fit` saves every few
  evaluations (atomically) and resumes from, so an interrupted command re-run with the same config
  continues where it stopped and a finished one is not trained again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from icnn_rl.cli import atomic_target

LR_SCHEDULES = ("constant", "cosine")


@dataclass
class Regularisation:
    """Stability options of one training run (all off by default, i.e. the paper's training).

    - ``weight_decay`` λ: Adam's L2 term, the gradient gets + λθ for every parameter θ;
    - ``lr_schedule``: ``constant`` or ``cosine`` (rate × ½(1 + cos(π·step/steps)), to 0 at the end);
    - ``patience``: > 0 stops training after that many evaluations without a better validation
      score (the best parameters are kept either way); 0 runs the full schedule.
    """

    weight_decay: float = 0.0
    lr_schedule: str = "constant"
    patience: int = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.weight_decay, (int, float)) and math.isfinite(self.weight_decay)) or (
            self.weight_decay < 0
        ):
            raise ValueError(f"weight_decay={self.weight_decay!r}: must be a finite number >= 0")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule={self.lr_schedule!r}: choose one of {LR_SCHEDULES}")
        if not isinstance(self.patience, int) or isinstance(self.patience, bool) or self.patience < 0:
            raise ValueError(f"patience={self.patience!r}: must be an integer >= 0 (0 = no early stopping)")


def make_optimizer(
    params: Any, lr: float, reg: Regularisation, steps: int
) -> tuple[torch.optim.Adam, torch.optim.lr_scheduler.LRScheduler | None]:
    """Adam(lr, weight_decay) and its schedule over `steps` steps (None for a constant rate)."""
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=reg.weight_decay)
    if reg.lr_schedule == "constant":
        return optimizer, None
    return optimizer, torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, steps) / steps))
    )


@dataclass
class Checkpoint:
    """Where a training run keeps its resumable state.

    ``path``: the state file (written atomically); ``every``: save after this many evaluations (and
    at the end); ``config``: the resolved config, saved with the state, and a resume under a
    different one is refused; ``rng``: the generator the training step draws its batches from
    (its state is saved, so a resumed run draws the same batches as an uninterrupted one).
    """

    path: Path
    every: int
    config: dict[str, Any]
    rng: np.random.Generator

    def save(self, state: dict[str, Any]) -> None:
        """Write `state` (plus the config, the batch and torch generators) atomically."""
        full = {**state, "config": self.config, "rng": self.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state()}
        with atomic_target(self.path) as tmp:
            torch.save(full, tmp)

    def load(self) -> dict[str, Any] | None:
        """The saved state (None when there is none); restores the generators. Raises ValueError
        when the state was saved under a different config."""
        if not self.path.is_file():
            return None
        state = torch.load(self.path, weights_only=False)
        if state["config"] != self.config:
            changed = sorted(k for k in set(state["config"]) | set(self.config)
                             if state["config"].get(k) != self.config.get(k))
            raise ValueError(
                f"{self.path} was saved under a different config (keys {changed} differ); "
                "resume with the same config or use a new run directory"
            )
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        return state


def model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of the model's state dict."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
