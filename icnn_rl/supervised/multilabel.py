"""Bibtex multi-label classification (the paper's Table 1): a feed-forward baseline and a PICNN
f(x, y) convex in the label vector y, predicting ŷ = argmin_y f(x, y) and trained

- ``picnn_unrolled``: through 30 unrolled Nesterov steps on f from y0 = 0.5 (unconstrained, no
  entropy), MSE loss against the 0/1 labels (the paper's ``icnn-back.py``);
- ``picnn_bundle``: through bundle entropy on f − H(y) over [0, 1]^L with argmin differentiation
  (implicit gradient of the final bundle), summed binary cross-entropy (``icnn_ebundle.py``).

Protocol: every method trains on the Mulan train split minus a validation split carved from it,
keeps the parameters with the best validation example-F1, and is evaluated once on the test split.
Metric: example-averaged F1 at threshold 0.5 (the paper's "macro-F1"), label-macro F1 beside it,
and (``tune_threshold``) the test example-F1 at the threshold that is best on the validation split.

    python -m icnn_rl.supervised.multilabel [--config configs/multilabel.yaml] [--set key=value ...]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from icnn_rl.convex import PICNN, attach_projection
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
from icnn_rl.supervised.data import MultiLabelSplit, load_bibtex, validation_split
from icnn_rl.supervised.inference import BundleInference, UnrolledInference, predict_bundle, predict_unrolled
from icnn_rl.supervised.metrics import best_threshold, example_f1, label_macro_f1
from icnn_rl.supervised.training import Checkpoint, Regularisation, make_optimizer

MULTILABEL_METHODS = ("ff", "picnn_unrolled", "picnn_bundle")
THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 20))  # candidates of the tuned threshold
BCE_EPS = 1e-8  # predictions are clipped to [eps, 1 - eps] inside the cross-entropy


@dataclass
class FeedForwardConfig(Regularisation):
    """The paper's baseline: fc(hidden) -> ReLU -> BatchNorm -> fc(L) -> sigmoid, summed BCE."""

    epochs: int = 100


@dataclass
class UnrolledMethod(UnrolledInference, Regularisation):
    """PICNN trained through unrolled Nesterov inference on f, MSE loss (the paper's step 0.1 and
    momentum 0.3)."""

    epochs: int = 100
    lr: float = 0.1
    momentum: float = 0.3


@dataclass
class BundleMethod(BundleInference, Regularisation):
    """PICNN trained by bundle entropy with argmin differentiation, summed binary cross-entropy."""

    epochs: int = 50

    def __post_init__(self) -> None:
        BundleInference.__post_init__(self)
        Regularisation.__post_init__(self)


@dataclass
class MultilabelConfig(CommonConfig):
    methods: tuple[str, ...] = MULTILABEL_METHODS
    hidden: int = 600  # the paper's --layerSizes [600]; the PICNN's second layer has L units
    batch_size: int = 128
    lr: float = 1e-3  # Adam
    val_fraction: float = 0.2  # of the train split, for model selection
    threshold: float = 0.5  # the paper's; the headline F1s use it
    tune_threshold: bool = True  # also report test F1 at the threshold that is best on validation
    eval_batch: int = 1024
    max_rows: int = 0  # >0: use only the first rows of each split (smoke tests)
    checkpoint_every: int = 5  # epochs between saves of the resumable training state
    ff: FeedForwardConfig = field(default_factory=FeedForwardConfig)
    picnn_unrolled: UnrolledMethod = field(default_factory=UnrolledMethod)
    picnn_bundle: BundleMethod = field(default_factory=BundleMethod)


class FeedForward(nn.Module):
    """The paper's feed-forward baseline; weights and biases ~ U(±1/sqrt(fan_out)) as the original."""

    def __init__(self, x_dim: int, y_dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(x_dim, hidden), nn.ReLU(), nn.BatchNorm1d(hidden), nn.Linear(hidden, y_dim)
        )
        for layer in (self.net[0], self.net[3]):
            bound = 1.0 / math.sqrt(layer.out_features)
            nn.init.uniform_(layer.weight, -bound, bound)
            nn.init.uniform_(layer.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        """Label probabilities [B, L]."""
        return torch.sigmoid(self.net(x))


def summed_bce(p: Tensor, t: Tensor) -> Tensor:
    """Σ −[t log p + (1 − t) log(1 − p)] over batch and labels, p clipped to [eps, 1 − eps]."""
    return F.binary_cross_entropy(p.clamp(BCE_EPS, 1 - BCE_EPS), t, reduction="sum")


@dataclass
class Method:
    """A trainable predictor: `loss(x, y)` for a training batch, `predict(x)` -> label scores [B, L]."""

    model: nn.Module
    loss: Callable[[Tensor, Tensor], Tensor]
    predict: Callable[[Tensor], Tensor]
    epochs: int
    regularisation: Regularisation


def picnn(x_dim: int, y_dim: int, hidden: int) -> PICNN:
    """The paper's multi-label PICNN: u0 = BN(relu(fc(x, hidden))), u1 = fc(u0, L) linear, z sizes
    (hidden, L, 1), ReLU on the z-path, W^(z) <- |W^(z)| at init and clamped after each step."""
    return PICNN(
        x_dim,
        y_dim,
        hidden=(hidden, y_dim),
        batch_norm=True,
        nonneg="clip",
        init="paper",
        init_divisor=1.0,
        last_u_linear=True,
    )


def build_method(name: str, config: MultilabelConfig, x_dim: int, y_dim: int) -> Method:
    """The model, loss and predictor of method `name` (one of MULTILABEL_METHODS)."""
    if name not in MULTILABEL_METHODS:
        raise ValueError(f"unknown multi-label method {name!r}; choose from {MULTILABEL_METHODS}")
    if name == "ff":
        ff = FeedForward(x_dim, y_dim, config.hidden)
        return Method(ff, lambda x, t: summed_bce(ff(x), t), ff, config.ff.epochs, config.ff)
    net = picnn(x_dim, y_dim, config.hidden)
    if name == "picnn_unrolled":
        unrolled = config.picnn_unrolled

        def start(x: Tensor) -> Tensor:
            return torch.full((len(x), y_dim), 0.5, device=x.device)

        return Method(
            net,
            lambda x, t: F.mse_loss(predict_unrolled(net, x, start(x), unrolled, train=True), t),
            lambda x: predict_unrolled(net, x, start(x), unrolled, train=False),
            unrolled.epochs,
            unrolled,
        )
    bundle = config.picnn_bundle
    return Method(
        net,
        lambda x, t: summed_bce(predict_bundle(net, x, None, bundle, train=True).y, t),
        lambda x: predict_bundle(net, x, None, bundle, train=False).y,
        bundle.epochs,
        bundle,
    )


def predict_in_chunks(predict: Callable[[Tensor], Tensor], x: Tensor, chunk: int) -> np.ndarray:
    """Scores [N, L] of `predict` applied to row chunks of x (bounded memory). No parameter gradients
    are kept; the core's solvers enable autograd for their own ∇_y f internally."""
    with torch.no_grad():
        return torch.cat([predict(x[i : i + chunk]) for i in range(0, len(x), chunk)]).cpu().numpy()


def train_and_test(
    name: str,
    config: MultilabelConfig,
    train: MultiLabelSplit,
    val: MultiLabelSplit,
    test: MultiLabelSplit,
    device: torch.device,
    run: ExperimentRun,
) -> dict[str, float]:
    """Train method `name` on `train`, select on `val` example-F1, and report F1s of the chosen model."""
    method = build_method(name, config, train.x.shape[1], train.y.shape[1])
    model = method.model.to(device)
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    steps = steps_per_epoch * method.epochs
    optimizer, scheduler = make_optimizer(model.parameters(), config.lr, method.regularisation, steps)
    if isinstance(model, PICNN):
        attach_projection(optimizer, model)
    tensors = {
        k: torch.as_tensor(v, device=device)
        for k, v in {"x": train.x, "y": train.y, "val_x": val.x, "test_x": test.x}.items()
    }
    rng = np.random.default_rng(config.seed)
    rows = batches_with_replacement(len(train), config.batch_size, steps, rng)

    def train_step(step: int) -> float:
        idx = torch.as_tensor(next(rows), device=device)
        loss = method.loss(tensors["x"][idx], tensors["y"][idx])
        loss.backward()
        return float(loss.detach())

    def val_f1() -> float:
        return example_f1(
            val.y, predict_in_chunks(method.predict, tensors["val_x"], config.eval_batch), config.threshold
        )

    result = fit(
        model,
        optimizer,
        train_step,
        val_f1,
        steps,
        steps_per_epoch,
        maximize=True,
        run=run,
        tag=name,
        max_minutes=config.max_minutes,
        scheduler=scheduler,
        patience=method.regularisation.patience,
        checkpoint=Checkpoint(run.dir / f"{name}.ckpt", config.checkpoint_every, config_to_dict(config), rng),
    )
    run.save_model(name, model)
    scores = predict_in_chunks(method.predict, tensors["test_x"], config.eval_batch)
    metrics = {
        "val_example_f1": result.score,
        "selected_epoch": result.step / steps_per_epoch,
        "epochs_done": result.steps_done / steps_per_epoch,
        "test_example_f1": example_f1(test.y, scores, config.threshold),
        "test_label_macro_f1": label_macro_f1(test.y, scores, config.threshold),
        "train_seconds": result.seconds,
    }
    if name == "picnn_bundle":
        with torch.no_grad():
            solves = [predict_bundle(model, x, None, config.picnn_bundle, train=False).converged
                      for x in tensors["test_x"].split(config.eval_batch)]
        metrics["test_certified"] = float(torch.cat(solves).float().mean())
    if config.tune_threshold:
        val_scores = predict_in_chunks(method.predict, tensors["val_x"], config.eval_batch)
        threshold, val_f1_tuned = best_threshold(val.y, val_scores, THRESHOLDS)
        metrics |= {
            "val_threshold": threshold,
            "val_example_f1_tuned": val_f1_tuned,
            "test_example_f1_tuned": example_f1(test.y, scores, threshold),
        }
    return metrics


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    config, args, run = experiment_cli("multilabel", __doc__.split("\n\n")[0], MultilabelConfig, argv,
                                       choices={"methods": MULTILABEL_METHODS}, check=check_checkpoint_every)
    stamp = provenance(config)  # the code as the run starts
    device = setup(config)
    train_full, test = load_bibtex(args.data)
    if config.max_rows > 0:
        train_full, test = (s.subset(np.arange(min(config.max_rows, len(s)))) for s in (train_full, test))
    train_rows, val_rows = validation_split(len(train_full), config.val_fraction, config.seed)
    train, val = train_full.subset(train_rows), train_full.subset(val_rows)
    results: dict[str, dict[str, float]] = {}
    for name in config.methods:
        start = run.elapsed
        setup(config)  # every method starts from the same seed
        results[name] = train_and_test(name, config, train, val, test, device, run)
        results[name]["wall_seconds"] = round(run.elapsed - start, 1)
        print_method_results(name, results[name], decimals=4)
    rows = {"train": len(train), "val": len(val), "test": len(test)}
    run.save_results({"methods": results, "rows": rows, **stamp})
    run.close()
    print(f"results: {run.dir / 'results.json'}")
    return results


if __name__ == "__main__":
    main()
