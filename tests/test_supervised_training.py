"""Training options of the supervised experiments (weight decay, learning-rate schedule, early
stopping), their validation, and resumable training: an interrupted run continues to the same result
as an uninterrupted one, and a finished one is not trained again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_supervised_experiments import easy_multilabel

from icnn_rl.supervised import completion, multilabel
from icnn_rl.supervised.common import ExperimentRun, fit, provenance
from icnn_rl.supervised.training import Checkpoint, Regularisation, make_optimizer


# ------------------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("picnn_bundle.weight_decay=-1", "weight_decay"),
        ("picnn_unrolled.lr_schedule=step", "cosine"),
        ("ff.patience=-2", "patience"),
        ("ff.patience=1.5", "patience"),
        ("picnn_bundle.decay=1", "weight_decay"),  # unknown key: the message lists the valid ones
        ("picnn_bundle.tol=-1", "tol"),
    ],
)
def test_multilabel_rejects_invalid_training_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], override: str, message: str
) -> None:
    with pytest.raises(SystemExit):
        multilabel.main(["--run-dir", str(tmp_path / "run"), "--set", override])
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("module", [multilabel, completion])
def test_checkpoint_interval_must_be_positive(tmp_path: Path, module, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        module.main(["--run-dir", str(tmp_path / "run"), "--set", "checkpoint_every=0"])
    assert stop.value.code == 2 and "checkpoint_every" in capsys.readouterr().err


def test_completion_rejects_invalid_schedule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        completion.main(["--run-dir", str(tmp_path / "run"), "--set", "lr_schedule=linear"])
    assert "constant" in capsys.readouterr().err


# ------------------------------------------------------------------------------------- the options
def test_weight_decay_shrinks_parameters_without_a_loss_gradient() -> None:
    model = torch.nn.Linear(3, 3)
    before = model.weight.detach().abs().sum()
    optimizer, _ = make_optimizer(model.parameters(), 0.01, Regularisation(weight_decay=1.0), 10)
    for _ in range(10):
        optimizer.zero_grad()
        (0.0 * model.weight.sum()).backward()
        optimizer.step()
    assert model.weight.detach().abs().sum() < 0.95 * before


def test_cosine_schedule_decays_the_rate_to_zero() -> None:
    optimizer, scheduler = make_optimizer([torch.nn.Parameter(torch.ones(1))], 0.1, Regularisation(
        lr_schedule="cosine"), steps=4)
    rates = []
    for _ in range(4):
        optimizer.step()
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates[0] == pytest.approx(0.1 * 0.5 * (1 + np.cos(np.pi / 4)))
    assert rates[-1] == pytest.approx(0.0, abs=1e-12) and rates == sorted(rates, reverse=True)
    assert make_optimizer([torch.nn.Parameter(torch.ones(1))], 0.1, Regularisation(), 4)[1] is None


# ---------------------------------------------------------------------------------------- fit loop
class Interrupted(Exception):
    pass


def toy_fit(run_dir: Path, steps: int, fail_at: int = 0, patience: int = 0, config: dict | None = None):
    """Fit a 1-D linear regression on batches drawn from a saved generator; the score peaks and then
    falls (distance of the weight from 0.5) so that selection and early stopping have work to do."""
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    optimizer, scheduler = make_optimizer(model.parameters(), 0.1, Regularisation(lr_schedule="cosine"), steps)
    rng = np.random.default_rng(0)
    xs = torch.linspace(0, 1, 32).unsqueeze(1)
    calls: list[int] = []

    def step(k: int) -> float:
        if k == fail_at:
            raise Interrupted
        calls.append(k)
        idx = torch.as_tensor(rng.integers(0, 32, 4))
        loss = ((model(xs[idx]) - 2 * xs[idx]) ** 2).mean()
        loss.backward()
        return float(loss.detach())

    def score() -> float:
        return -abs(model.weight.item() - 0.5)

    run = ExperimentRun(run_dir, Regularisation())
    checkpoint = Checkpoint(run_dir / "toy.ckpt", 1, config or {"a": 1}, rng)
    try:
        result = fit(model, optimizer, step, score, steps, 2, maximize=True, run=run, tag="toy",
                     scheduler=scheduler, patience=patience, checkpoint=checkpoint)
    finally:
        run.close()
    return result, model, calls


def test_interrupted_fit_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    straight, model_a, _ = toy_fit(tmp_path / "a", steps=12)
    with pytest.raises(Interrupted):
        toy_fit(tmp_path / "b", steps=12, fail_at=8)
    resumed, model_b, calls = toy_fit(tmp_path / "b", steps=12)
    assert calls == [7, 8, 9, 10, 11, 12]  # the checkpoint at step 6 (every evaluation) is resumed
    assert resumed.history == straight.history and resumed.step == straight.step
    assert torch.equal(model_a.weight, model_b.weight)
    again, model_c, calls = toy_fit(tmp_path / "b", steps=12)  # finished: nothing is trained
    assert calls == [] and again.history == straight.history and torch.equal(model_c.weight, model_a.weight)


def test_fit_refuses_to_resume_under_another_config(tmp_path: Path) -> None:
    with pytest.raises(Interrupted):
        toy_fit(tmp_path, steps=12, fail_at=5)
    with pytest.raises(ValueError, match="different config"):
        toy_fit(tmp_path, steps=12, config={"a": 2})


def test_patience_stops_after_evaluations_without_improvement(tmp_path: Path) -> None:
    full, _, _ = toy_fit(tmp_path / "full", steps=40)
    stopped, _, _ = toy_fit(tmp_path / "stopped", steps=40, patience=2)
    best = max(range(len(full.history)), key=lambda i: full.history[i][1])
    assert stopped.steps_done == full.history[best + 2][0] < 40
    assert stopped.step == full.step and stopped.score == full.score


# ------------------------------------------------------------------------------- experiment level
def test_multilabel_with_weight_decay_and_resume(tmp_path: Path) -> None:
    """Weight decay and cosine decay run end to end; a second command on the same run directory
    trains nothing and reports the same metrics."""
    config = multilabel.MultilabelConfig(device="cpu", hidden=16, batch_size=32, checkpoint_every=1)
    config.picnn_bundle.epochs = 3
    config.picnn_bundle.weight_decay = 1.0
    config.picnn_bundle.lr_schedule = "cosine"
    data = easy_multilabel(96, 0), easy_multilabel(32, 1), easy_multilabel(32, 2)
    outcomes = []
    for _ in range(2):
        run = multilabel.ExperimentRun(tmp_path / "run", config)
        torch.manual_seed(0)
        outcomes.append(multilabel.train_and_test("picnn_bundle", config, *data, torch.device("cpu"), run))
        run.close()
    first, second = outcomes
    assert second == first and first["epochs_done"] == 3 and 0.0 <= first["test_certified"] <= 1.0


def test_results_json_is_stamped_with_commit_and_config(tmp_path: Path) -> None:
    config = multilabel.MultilabelConfig(device="cpu", hidden=8, batch_size=32)
    config.ff.epochs = 1
    run = multilabel.ExperimentRun(tmp_path / "run", config)
    run.save_results({"methods": {}, **provenance(config)})
    run.close()
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["config"]["ff"]["epochs"] == 1 and saved["config"]["hidden"] == 8
    assert len(saved["commit"].split("+")[0]) == 40 or saved["commit"] == "unknown"
