"""Shared experiment plumbing: configs, overrides, devices, seeding, run directories, model selection."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
import yaml

from icnn_rl.cli import resolve_device
from icnn_rl.supervised.common import (
    CommonConfig,
    ExperimentRun,
    experiment_cli,
    fit,
    load_config,
    seed_everything,
)


@dataclass
class Inner:
    lr: float = 0.1
    steps: int = 3


@dataclass
class Toy(CommonConfig):
    sizes: tuple[int, ...] = (4, 5)
    inner: Inner = field(default_factory=Inner)


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_load_config_nested_and_overrides(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", {"sizes": [7], "inner": {"steps": 9}})
    config = load_config(Toy, path, ["inner.lr=1", "device=cpu"])
    assert config == Toy(device="cpu", sizes=(7,), inner=Inner(lr=1.0, steps=9))


@pytest.mark.parametrize(
    "data, message",
    [
        ({"sise": [1]}, r"unknown key\(s\) \['sise'\].*'sizes'"),
        ({"inner": {"rate": 1}}, r"inner: unknown key\(s\) \['rate'\].*'lr'"),
        ({"seed": "one"}, r"seed: expected int"),
        ({"inner": {"steps": True}}, r"inner.steps: expected int"),
    ],
)
def test_load_config_errors_name_the_key(tmp_path: Path, data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_config(Toy, write(tmp_path / "c.yaml", data))


def test_malformed_override() -> None:
    with pytest.raises(ValueError, match="key=value"):
        load_config(Toy, None, ["seed"])


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="cpu"):
        resolve_device("tpu")


def test_seed_everything_repeats_draws() -> None:
    seed_everything(5)
    a = torch.rand(3)
    seed_everything(5)
    assert torch.equal(a, torch.rand(3))


def test_cli_writes_run_directory(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", {"seed": 3})
    config, args, run = experiment_cli(
        "toy",
        "toy",
        Toy,
        ["--config", str(path), "--set", "inner.steps=2", "--run-dir", str(tmp_path / "run"), "--data", "/d"],
    )
    run.log({"a": 1.0}, 0)
    run.save_results({"score": 0.5})
    run.close()
    assert config.seed == 3 and config.inner.steps == 2 and args.data == "/d"
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["inner"]["steps"] == 2
    assert (tmp_path / "run" / "results.json").read_text().count("score") == 1
    assert any((tmp_path / "run" / "tb").iterdir())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("--set nope=1", "unknown key(s) ['nope']"),
        ("--set device=tpu", "unknown device 'tpu'; valid: cpu, cuda, auto"),
        ("--set sizes", "--set expects key=value"),
        ("--config missing.yaml", "cannot read config file missing.yaml"),
        ("--run-dir {file}/run", "is a file, not a directory"),
    ],
)
def test_cli_bad_input_is_one_error_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: str, message: str
) -> None:
    blocker = write(tmp_path / "c.yaml", {})
    argv = options.format(file=blocker).split()
    with pytest.raises(SystemExit) as exit_info:
        experiment_cli("toy", "toy", Toy, ["--config", str(blocker), *argv])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1
    assert err.startswith("python -m icnn_rl.supervised.toy: error: ") and message in err


def test_cli_checks_list_items_against_their_choices(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path / "c.yaml", {"methods": ["a", "c"]})

    @dataclass
    class WithMethods(CommonConfig):
        methods: tuple[str, ...] = ("a",)

    with pytest.raises(SystemExit):
        experiment_cli("toy", "toy", WithMethods, ["--config", str(config)], choices={"methods": ("a", "b")})
    assert "methods: unknown ['c']; valid: a, b" in capsys.readouterr().err


def test_fit_keeps_the_best_scoring_parameters(tmp_path: Path) -> None:
    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)

    def step(_: int) -> float:
        loss = -model.weight.sum()  # the weight grows by 1 per step
        loss.backward()
        return float(loss.detach())

    def score() -> float:  # best at weight 3 (step 3) when evaluated every step
        return -abs(model.weight.item() - 3.0)

    run = ExperimentRun(tmp_path / "run", Toy())
    result = fit(model, optimizer, step, score, steps=6, eval_every=1, maximize=True, run=run, tag="toy")
    run.close()
    assert result.step == 3 and model.weight.item() == 3.0
    assert [s for s, _ in result.history] == [1, 2, 3, 4, 5, 6]
