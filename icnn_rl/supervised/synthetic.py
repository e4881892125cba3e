"""2-D toy classification (paper Figure: FICNN vs PICNN decision boundaries on sklearn's moons,
circles and linear data). A network f(x, y) convex in the scalar label y (jointly convex in (x, y)
for the FICNN) predicts ŷ(x) = argmin_y f(x, y) by unrolled Nesterov steps from y0 = 0.5 and is
trained through them on the MSE to the 0/1 labels, full batch (as locuslab/icnn's
``synthetic-cls/icnn.py`` with ``run.sh``).
There is no test set: the figure shows the parameters with the best training MSE, and the training
accuracy (ŷ >= 0.5 against the label) is printed.

    python -m icnn_rl.supervised.synthetic [--config configs/synthetic.yaml] [--set key=value ...]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import Tensor, nn

from icnn_rl.convex import FICNN, PICNN, attach_projection
from icnn_rl.supervised.common import CommonConfig, ExperimentRun, experiment_cli, fit, provenance, setup
from icnn_rl.supervised.data import SYNTHETIC_DATASETS, make_synthetic
from icnn_rl.supervised.inference import UnrolledInference, predict_unrolled

MODELS = ("ficnn", "picnn")


@dataclass
class SyntheticConfig(CommonConfig):
    datasets: tuple[str, ...] = SYNTHETIC_DATASETS
    models: tuple[str, ...] = MODELS
    hidden: tuple[int, ...] = (200, 200)
    init: str = "paper"  # paper (tflearn: truncated normal, std 0.02) or torch (PyTorch defaults)
    init_divisor: float = 10.0  # W^(z) <- |W^(z)| / 10 at initialisation, as the original
    epochs: int = 200  # full-batch Adam steps
    lr: float = 1e-3
    inference: UnrolledInference = field(default_factory=UnrolledInference)
    grid: int = 100  # figure resolution (grid points per axis)


def build_network(name: str, config: SyntheticConfig) -> nn.Module:
    """FICNN f([x, y]) convex in (x, y), or PICNN f(x, y) convex in y with ReLU on both paths."""
    if name == "ficnn":
        return FICNN(2, 1, hidden=config.hidden, init=config.init, init_divisor=config.init_divisor)
    if name == "picnn":
        return PICNN(
            2,
            1,
            hidden=config.hidden,
            init=config.init,
            init_divisor=config.init_divisor,
            last_u_linear=False,
        )
    raise ValueError(f"unknown synthetic model {name!r}; choose from {MODELS}")


def predict(model: nn.Module, x: Tensor, config: SyntheticConfig, train: bool) -> Tensor:
    """ŷ(x) [N] by unrolled inference from y0 = 0.5."""
    y0 = torch.full((len(x), 1), 0.5, device=x.device)
    return predict_unrolled(model, x, y0, config.inference, train).squeeze(1)


def train_one(
    dataset: str, model_name: str, config: SyntheticConfig, device: torch.device, run: ExperimentRun
) -> tuple[nn.Module, dict[str, float]]:
    """Train one model on one data set; returns the best-training-MSE model and its metrics."""
    x_np, y_np = make_synthetic(dataset)
    x, y = torch.as_tensor(x_np, device=device), torch.as_tensor(y_np, device=device)
    model = build_network(model_name, config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    attach_projection(optimizer, model)

    def train_step(_: int) -> float:
        loss = F.mse_loss(predict(model, x, config, train=True), y)
        loss.backward()
        return float(loss.detach())

    def train_mse() -> float:
        return float(F.mse_loss(predict(model, x, config, train=False), y))

    result = fit(
        model,
        optimizer,
        train_step,
        train_mse,
        config.epochs,
        1,
        maximize=False,
        run=run,
        tag=f"{dataset}/{model_name}",
        max_minutes=config.max_minutes,
    )
    accuracy = float(((predict(model, x, config, train=False) >= 0.5).float() == y).float().mean())
    return model, {"train_mse": result.score, "train_accuracy": accuracy, "selected_epoch": result.step}


def plot_grid(
    panels: dict[tuple[str, str], nn.Module],
    metrics: dict[str, dict[str, dict[str, float]]],
    config: SyntheticConfig,
    device: torch.device,
    path: Path,
) -> None:
    """Data sets (rows) × models (columns): ŷ(x) clipped to [0, 1] on a grid, with the training points."""
    rows, cols = config.datasets, config.models
    fig = Figure(figsize=(3.2 * len(cols), 3.0 * len(rows)))  # no pyplot: the global backend stays as it is
    axes = fig.subplots(len(rows), len(cols), squeeze=False)
    for r, dataset in enumerate(rows):
        x, y = make_synthetic(dataset)
        lo, hi = x.min(0) - 0.5, x.max(0) + 0.5
        g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], config.grid), np.linspace(lo[1], hi[1], config.grid))
        grid = torch.as_tensor(np.stack([g0.ravel(), g1.ravel()], 1), dtype=torch.float32, device=device)
        for c, model_name in enumerate(cols):
            ax = axes[r][c]
            yhat = predict(panels[dataset, model_name], grid, config, train=False).clamp(0, 1).cpu().numpy()
            ax.contourf(g0, g1, yhat.reshape(g0.shape), levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.8)
            ax.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu", vmin=0, vmax=1, edgecolors="k", s=18)
            acc = metrics[dataset][model_name]["train_accuracy"]
            ax.set_title(f"{model_name.upper()} on {dataset}: train acc {acc:.2f}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, dict[str, float]]]:
    config, _, run = experiment_cli(
        "synthetic",
        __doc__.split("\n\n")[0],
        SyntheticConfig,
        argv,
        choices={"datasets": SYNTHETIC_DATASETS, "models": MODELS},
    )
    stamp = provenance(config)  # the code as the run starts
    device = setup(config)
    panels: dict[tuple[str, str], nn.Module] = {}
    metrics: dict[str, dict[str, dict[str, float]]] = {}
    for dataset in config.datasets:
        for model_name in config.models:
            setup(config)
            panels[dataset, model_name], result = train_one(dataset, model_name, config, device, run)
            metrics.setdefault(dataset, {})[model_name] = result
            print(
                f"{dataset:8s} {model_name}: train accuracy {result['train_accuracy']:.2f}, "
                f"train MSE {result['train_mse']:.4f} (epoch {result['selected_epoch']})",
                flush=True,
            )
    figure = run.dir / "synthetic.png"
    plot_grid(panels, metrics, config, device, figure)
    run.save_results({"datasets": metrics, "figure": str(figure), **stamp})
    run.close()
    print(f"figure: {figure}\nresults: {run.dir / 'results.json'}")
    return metrics


if __name__ == "__main__":
    main()
