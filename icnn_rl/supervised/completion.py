"""Olivetti face completion (the paper's Table 2): predict the left half y of a face from its
mirrored right half x with a convolutional PICNN f(x, y) convex in y, ŷ = argmin_y f(x, y).

Methods (each trains and tests with its own inference):

- ``bundle``: bundle entropy on f − H(y) over [0, 1]^(64·32) from the mean training left half,
  trained by argmin differentiation (the paper's ``icnn_ebundle.py``);
- ``unrolled``: unrolled Nesterov steps on f from the mean training left half, trained through
  them (``icnn.back.py``);
- ``nonconvex``: ``unrolled`` on the same network with the W^(z) >= 0 constraint off (``--noncvx``).

Loss and metric: per-pixel MSE on the 0–255 scale. Split by position as the paper: images 0–349
train, 350–399 test (five unseen people); the last `n_val` training images (also unseen people)
are held out for model selection, and the test set is scored once, for the selected parameters.

    python -m icnn_rl.supervised.completion [--config configs/completion.yaml] [--set key=value ...]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from icnn_rl.cli import ConfigError
from icnn_rl.convex import ConvPICNN, attach_projection
from icnn_rl.supervised.common import (
    CommonConfig,
    ExperimentRun,
    batches_with_replacement,
    check_checkpoint_every,
    config_to_dict,
    experiment_cli,
    fit,
    print_method_results,
    provenance,
    setup,
)
from icnn_rl.supervised.data import CompletionSplit, completion_splits, load_olivetti
from icnn_rl.supervised.inference import BundleInference, UnrolledInference, predict_bundle, predict_unrolled
from icnn_rl.supervised.metrics import pixel_mse_255
from icnn_rl.supervised.training import Checkpoint, Regularisation, make_optimizer

COMPLETION_METHODS = ("bundle", "unrolled", "nonconvex")


@dataclass
class CompletionConfig(CommonConfig, Regularisation):
    methods: tuple[str, ...] = COMPLETION_METHODS
    n_train: int = 350  # first images: training part; the rest is the test set
    n_val: int = 50  # last images of the training part, held out for model selection
    max_rows: int = 0  # >0: keep only the first rows of train, val and test (smoke tests)
    batch_size: int = 70  # drawn with replacement
    steps: int = 250  # Adam steps
    lr: float = 1e-3
    eval_every: int = 5
    fc: int = 512
    checkpoint_every: int = 2  # evaluations between saves of the resumable training state
    unrolled: UnrolledInference = field(default_factory=UnrolledInference)
    bundle: BundleInference = field(default_factory=lambda: BundleInference(iterations=40, tol=1e-4))
    figure_rows: int = 6  # test faces in the completion figure


def mse255(pred: Tensor, true: Tensor) -> Tensor:
    """Differentiable per-pixel MSE on the 0–255 scale (the training loss; equals `pixel_mse_255`)."""
    return ((255.0 * (pred - true)) ** 2).mean()


def build(
    name: str, config: CompletionConfig, y0: Tensor
) -> tuple[ConvPICNN, Callable[[Tensor, bool], Tensor]]:
    """The network of method `name` and its predictor `(x, train) -> ŷ` [B, 1, 64, 32]."""
    if name not in COMPLETION_METHODS:
        raise ValueError(f"unknown completion method {name!r}; choose from {COMPLETION_METHODS}")
    net = ConvPICNN(image_shape=(64, 32), fc=config.fc, nonneg="none" if name == "nonconvex" else "clip")

    def predictor(x: Tensor, train: bool) -> Tensor:
        start = y0.expand(len(x), -1)
        if name == "bundle":
            y = predict_bundle(net, x, start, config.bundle, train).y
        else:  # a copy: the unrolled solver marks its start tensor as requiring grad
            y = predict_unrolled(net, x, start.clone(), config.unrolled, train)
        return y.view_as(x)

    return net, predictor


def predict_all(predictor: Callable[[Tensor, bool], Tensor], x: Tensor, chunk: int) -> np.ndarray:
    """ŷ for every row of x, in chunks, without parameter gradients."""
    with torch.no_grad():
        return torch.cat([predictor(x[i : i + chunk], False) for i in range(0, len(x), chunk)]).cpu().numpy()


def train_and_test(
    name: str,
    config: CompletionConfig,
    train: CompletionSplit,
    val: CompletionSplit,
    test: CompletionSplit,
    device: torch.device,
    run: ExperimentRun,
) -> tuple[dict[str, float], np.ndarray]:
    """Train method `name`, select on validation MSE, return its metrics and its test completions."""
    tx, ty = torch.as_tensor(train.x, device=device), torch.as_tensor(train.y, device=device)
    val_x, test_x = torch.as_tensor(val.x, device=device), torch.as_tensor(test.x, device=device)
    y0 = ty.mean(0).flatten().unsqueeze(0)  # the mean training left half, the paper's start
    net, predictor = build(name, config, y0)
    net.to(device)
    optimizer, scheduler = make_optimizer(net.parameters(), config.lr, config, config.steps)
    attach_projection(optimizer, net)
    rng = np.random.default_rng(config.seed)
    rows = batches_with_replacement(len(tx), config.batch_size, config.steps, rng)

    def train_step(_: int) -> float:
        idx = torch.as_tensor(next(rows), device=device)
        loss = mse255(predictor(tx[idx], True), ty[idx])
        loss.backward()
        return float(loss.detach())

    def val_mse() -> float:
        return pixel_mse_255(predict_all(predictor, val_x, config.batch_size), val.y)

    result = fit(
        net,
        optimizer,
        train_step,
        val_mse,
        config.steps,
        config.eval_every,
        maximize=False,
        run=run,
        tag=name,
        max_minutes=config.max_minutes,
        scheduler=scheduler,
        patience=config.patience,
        checkpoint=Checkpoint(run.dir / f"{name}.ckpt", config.checkpoint_every, config_to_dict(config), rng),
    )
    run.save_model(name, net)
    completions = predict_all(predictor, test_x, config.batch_size)
    metrics = {
        "val_mse": result.score,
        "selected_step": result.step,
        "steps_done": result.steps_done,
        "test_mse": pixel_mse_255(completions, test.y),
        "train_seconds": result.seconds,
    }
    if name == "bundle":
        with torch.no_grad():
            solve = predict_bundle(net, test_x, y0.expand(len(test_x), -1), config.bundle, train=False)
        metrics["test_certified"] = float(solve.converged.float().mean())
    return metrics, completions


def plot_completions(
    test: CompletionSplit, completions: dict[str, np.ndarray], rows: int, path: Path
) -> None:
    """Grid of test faces: the input (right half only), the truth, and each method's completion
    (predicted left half beside the given right half)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    right = test.x[:, 0, :, ::-1]  # undo the mirroring
    columns = {
        "input": np.concatenate([np.full_like(right, 0.5), right], 2),
        "truth": np.concatenate([test.y[:, 0], right], 2),
    }
    columns |= {name: np.concatenate([np.clip(c[:, 0], 0, 1), right], 2) for name, c in completions.items()}
    rows = min(rows, len(right))
    fig, axes = plt.subplots(rows, len(columns), figsize=(1.6 * len(columns), 1.7 * rows), squeeze=False)
    for c, (title, faces) in enumerate(columns.items()):
        axes[0][c].set_title(title, fontsize=9)
        for r in range(rows):
            axes[r][c].imshow(faces[r * (len(right) // rows)], cmap="gray", vmin=0, vmax=1)
            axes[r][c].axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def check_splits(config: CompletionConfig) -> None:
    """0 < n_val < n_train, and a valid checkpoint interval."""
    if not 0 < config.n_val < config.n_train:
        raise ConfigError(f"n_val={config.n_val} must be in (0, n_train={config.n_train})")
    check_checkpoint_every(config)


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    config, args, run = experiment_cli("completion", __doc__.split("\n\n")[0], CompletionConfig, argv,
                                       choices={"methods": COMPLETION_METHODS}, check=check_splits)
    stamp = provenance(config)  # the code as the run starts
    device = setup(config)
    train_full, test = completion_splits(load_olivetti(args.data), config.n_train)
    cut = config.n_train - config.n_val
    train = CompletionSplit(train_full.x[:cut], train_full.y[:cut])
    val = CompletionSplit(train_full.x[cut:], train_full.y[cut:])
    if config.max_rows > 0:
        train, val, test = (
            CompletionSplit(s.x[: config.max_rows], s.y[: config.max_rows]) for s in (train, val, test)
        )
    results: dict[str, dict[str, float]] = {}
    completions: dict[str, np.ndarray] = {}
    for name in config.methods:
        start = run.elapsed
        setup(config)  # every method starts from the same seed
        results[name], completions[name] = train_and_test(name, config, train, val, test, device, run)
        results[name]["wall_seconds"] = round(run.elapsed - start, 1)
        print_method_results(name, results[name], decimals=1)
    figure = run.dir / "completion.png"
    plot_completions(test, completions, config.figure_rows, figure)
    np.savez_compressed(run.dir / "test_completions.npz", **completions)
    run.save_results(
        {
            "methods": results,
            "figure": str(figure),
            "rows": {"train": len(train.x), "val": len(val.x), "test": len(test.x)},
            **stamp,
        }
    )
    run.close()
    print(f"figure: {figure}\nresults: {run.dir / 'results.json'}")
    return results


if __name__ == "__main__":
    main()
