"""Faults and bad input of the RL commands as a user meets them: each stops the command with one line
``<command>: error: ...`` and exit status 2, no traceback, and leaves nothing behind; surprises that
are not errors are one ``<command>: warning: ...`` line each. A bug of ours is not bad input: it
surfaces as a traceback.

In-process calls name the program after sys.argv[0] (pytest's), so lines are matched from ``: error:``
on. The faults of a directory this process cannot write run in a subprocess that, run by root, drops
the capability to write anywhere (``setpriv``), as a user's process has none."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import gymnasium as gym
import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from icnn_rl import evaluate, search, train
from icnn_rl.convex import picnn
from icnn_rl.rl import callbacks
from icnn_rl.rl.checkpoints import write_checkpoint
from icnn_rl.rl.grid import restarts
from icnn_rl.rl.rollout import rollout
from icnn_rl.rl.run import RunSpec

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--set", "hidden=[8]", "--set", "learning_starts=20", "--set", "batch_size=8", "--set", "test_interval=20",
        "--no-progress"]
MISSING_EXTRA = "NeedsAnExtra-v0"   # a gymnasium id whose package is not installed


def needs_an_extra() -> gym.Env:
    raise gym.error.DependencyNotInstalled('Box2D is not installed, run `pip install "gymnasium[box2d]"`')


@pytest.fixture(autouse=True)
def registered_id_without_its_extra() -> Iterator[None]:
    gym.register(MISSING_EXTRA, entry_point=needs_an_extra)
    yield
    del gym.registry[MISSING_EXTRA]


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its content (empty when it does not exist)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


HELD: list[object] = []   # open files whose locks stand for another process's (released after each test)


@pytest.fixture(autouse=True)
def release_held_locks() -> Iterator[None]:
    yield
    while HELD:
        HELD.pop().close()


def bad_yaml(tmp: Path) -> list[str]:
    (tmp / "bad.yaml").write_text("default: [unclosed\n")
    return ["--config", str(tmp / "bad.yaml")]


def file_as_log_dir(tmp: Path) -> list[str]:
    (tmp / "runs").write_text("a file")
    return []


def run_being_trained(tmp: Path) -> list[str]:
    """ddpg's run directory locked as by a process training it (flock conflicts between open files,
    even of one process)."""
    run_dir = tmp / "runs" / "InvertedPendulum-v5" / "ddpg" / "seed0"
    run_dir.mkdir(parents=True)
    HELD.append(open(run_dir / ".lock", "a"))   # noqa: SIM115 (closed by release_held_locks)
    fcntl.flock(HELD[-1], fcntl.LOCK_EX)
    return ["--agent", "ddpg"]


# What the user gave (arguments, or a function of a scratch directory that prepares it and returns
# them; they come last, so they win over the defaults) and the words the error line must hold.
TRAIN_CASES = [
    pytest.param(["--env", "NoSuchEnv-v0"], "unknown env 'NoSuchEnv-v0'", id="unknown env"),
    pytest.param(["--agent", "ppo"], "unknown agent 'ppo'; valid: icnn, naf, ddpg, sac, td3", id="unknown agent"),
    pytest.param(["--env", "CartPole-v1"], "only Box (continuous) action spaces", id="discrete actions"),
    pytest.param(["--env", MISSING_EXTRA], "needs a package that is not installed: Box2D", id="missing extra"),
    pytest.param(["--set", "no_such_key=1"], "unknown config key 'no_such_key'", id="unknown key"),
    pytest.param(["--set", "batch_size=-3"], "batch_size must be > 0", id="value out of range"),
    pytest.param(["--set", "gamma=high"], "gamma must be a number", id="value of the wrong type"),
    pytest.param(["--set", "act_solver.method=newton"], "solver method 'newton' is unknown", id="icnn solver"),
    pytest.param(["--set", "activation=tanh"], "activation='tanh' is not a convex", id="icnn activation"),
    pytest.param(["--agent", "naf", "--set", "init_std=0"], "init_std=0 must be > 0", id="naf init"),
    pytest.param(["--agent", "sac", "--set", "ent_coef=hot"], "ent_coef must be auto", id="sac temperature"),
    pytest.param(["--agent", "td3", "--set", "policy_delay=0"], "policy_delay must be >= 1", id="td3 delay"),
    pytest.param(bad_yaml, "cannot read config file", id="bad yaml"),
    pytest.param(["--config", "no-such.yaml"], "--config no-such.yaml: no such file", id="missing config"),
    pytest.param(["--device", "tpu"], "unknown device 'tpu'", id="unknown device"),
    pytest.param(["--device", "cuda"], "torch sees no CUDA device", id="no cuda",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
    pytest.param(["--seeds", "-1"], "--seeds -1: a seed must lie in [0, 4294967294]", id="negative seed"),
    pytest.param(["--seeds", str(2**32)], f"--seeds {2**32}: a seed must lie in", id="seed too large"),
    pytest.param(["--seeds", "0", "1", "0"], "--seeds names 0 more than once", id="repeated seed"),
    pytest.param(["--agent", "ddpg", "ddpg"], "--agent names ddpg more than once", id="repeated agent"),
    pytest.param(["--env", "Reacher-v5", "Reacher-v5"], "--env names Reacher-v5 more than once", id="repeated env"),
    pytest.param(["--steps", "0"], "--steps must be >= 1", id="no steps"),
    pytest.param(["--workers", "0"], "--workers must be >= 1", id="no workers"),
    pytest.param(file_as_log_dir, "is a file, not a directory", id="log dir is a file"),
    pytest.param(run_being_trained, "is being trained by another process", id="two processes on one run"),
]


def one_error_line(out: str, err: str, message: str) -> None:
    """The convention: one line on stderr, ``error:`` and ``message`` in it, no traceback, and no
    TensorBoard hint (nothing trained)."""
    assert err.count("\n") == 1 and ": error: " in err and message in err, err
    assert "Traceback" not in err and "TensorBoard" not in out


@pytest.mark.parametrize(("given", "message"), TRAIN_CASES)
def test_train_refuses_bad_input_with_one_line_and_writes_nothing(
    given: list[str] | Callable[[Path], list[str]], message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = given(tmp_path) if callable(given) else given
    before = files_under(tmp_path)
    assert train.main(["--steps", "40", "--log-dir", str(tmp_path / "runs"), *FAST, *args]) == 2
    one_error_line(*capsys.readouterr(), message)
    assert files_under(tmp_path) == before


def test_a_bug_in_building_a_model_is_a_traceback_not_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("a bug of ours")

    monkeypatch.setattr(picnn.PICNN, "__init__", broken)
    assert train.main(["--steps", "30", "--log-dir", str(tmp_path), *FAST]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "TypeError: a bug of ours" in err


def test_a_resumed_run_tests_from_the_test_envs_saved_state_and_tensorboard_keeps_one_value_per_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process killed after its last checkpoint (here: at its final one) had tested and logged steps
    the resumed run tests and logs again; those tests start where the killed run's did, not at the
    start states of step 0, and TensorBoard shows the resumed run's values only."""
    after_test: list[tuple[int, dict]] = []   # (step, the test env's random state after its episode)

    def recorded(model, env, seed=None, on_frame=None) -> float:
        result = rollout(model, env, seed)
        after_test.append((model.num_timesteps, env.unwrapped.np_random.bit_generator.state))
        return result

    def killed_at_step_150(model, directory, timing=None):
        if model.num_timesteps == 150:
            raise KeyboardInterrupt
        return write_checkpoint(model, directory, timing)

    monkeypatch.setattr(callbacks, "rollout", recorded)
    monkeypatch.setattr(callbacks, "write_checkpoint", killed_at_step_150)
    args = ["--agent", "ddpg", "--steps", "150", "--log-dir", str(tmp_path), *FAST,
            "--set", "test_interval=50", "--set", "checkpoint_interval=100"]
    assert train.main(args) == 130
    monkeypatch.setattr(callbacks, "write_checkpoint", write_checkpoint)
    assert train.main([*args, "--resume"]) == 0
    assert [step for step, _ in after_test] == [0, 50, 100, 150, 150]
    assert after_test[3][1] == after_test[4][1] != after_test[0][1]
    events = EventAccumulator(str(tmp_path / "InvertedPendulum-v5" / "ddpg" / "seed0"))
    events.Reload()
    assert [event.step for event in events.Scalars("eval/return")] == [0, 50, 100, 150]


def test_training_that_cannot_write_is_one_line_and_keeps_the_last_checkpoint(tmp_path: Path) -> None:
    """A --log-dir in a directory this process may not write; a run whose checkpoints/, then whose
    directory, turned read-only (here between two invocations: the first write fails the same way)."""
    assert train.main(["--agent", "ddpg", "--steps", "40", "--log-dir", str(tmp_path / "runs"), *FAST]) == 0
    run_dir = tmp_path / "runs" / "InvertedPendulum-v5" / "ddpg" / "seed0"
    checkpoint = run_dir / "checkpoints" / "step40.zip"
    (tmp_path / "locked").mkdir()
    cases = [
        (tmp_path / "locked", ["--log-dir", str(tmp_path / "locked" / "runs")],
         f"--log-dir {tmp_path}/locked/runs: cannot write in {tmp_path}/locked (permission denied)"),
        (run_dir / "checkpoints", ["--log-dir", str(tmp_path / "runs"), "--resume"],
         f"cannot write in {run_dir}/checkpoints (Permission denied); training stopped (last checkpoint: {checkpoint})"),
        (run_dir, ["--log-dir", str(tmp_path / "runs"), "--resume"],
         f"cannot write in {run_dir} (Permission denied); training stopped (last checkpoint: {checkpoint})"),
    ]
    checkpoints = files_under(run_dir / "checkpoints")
    for read_only, args, message in cases:
        read_only.chmod(0o555)
        try:
            result = subprocess.run(
                [*unprivileged(), sys.executable, str(ROOT / "train.py"), "--agent", "ddpg", "--steps", "100", *FAST,
                 *args], capture_output=True, text=True, timeout=300, check=False)
        finally:
            read_only.chmod(0o755)
        assert result.returncode == 2, result.stderr
        one_error_line(result.stdout, result.stderr, message)
        assert files_under(run_dir / "checkpoints") == checkpoints and not list(tmp_path.rglob("*.tmp"))
    assert not (tmp_path / "locked" / "runs").exists()


def unprivileged() -> list[str]:
    """The prefix of a command whose process is bound by directory permissions: root's drops the
    capabilities that override them (skipped where it cannot)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("run as root without setpriv: directory permissions bind no process here")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all", "--"]


def without_checkpoint(tmp: Path) -> list[str]:
    """A run started and stopped before its first checkpoint (a Ray grid shorter than the checkpoint
    interval, its driver killed)."""
    assert train.main(["--agent", "ddpg", "--steps", "40", "--log-dir", str(tmp / "runs"), *FAST]) == 0
    run_dir = tmp / "runs" / "InvertedPendulum-v5" / "ddpg" / "seed0"
    shutil.rmtree(run_dir / "checkpoints")
    (run_dir / "model.zip").unlink()
    return ["--resume"]


@pytest.mark.parametrize(("given", "message"), [
    pytest.param(["--steps", "20"], "ddpg on InvertedPendulum-v5: --steps 20 is within the warm-up "
                 "(learning_starts 20): random actions only, no update is trained", id="steps within warm-up"),
    pytest.param(["--resume"], "seed0: nothing to resume (no run there); it starts from step 0", id="resume without a run"),
    pytest.param(without_checkpoint, "nothing to resume (the run stopped before its first checkpoint); it starts again",
                 id="resume without a checkpoint"),
])
def test_a_surprise_that_is_no_error_is_one_warning_line(
    given: list[str] | Callable[[Path], list[str]], message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = given(tmp_path) if callable(given) else given
    capsys.readouterr()
    assert train.main(["--agent", "ddpg", "--steps", "40", "--log-dir", str(tmp_path / "runs"), *FAST, *args]) == 0
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and ": warning: " in err and message in err, err
    assert "TensorBoard: tensorboard --logdir" in out


def test_search_says_when_its_runs_are_too_short_to_count(tmp_path: Path) -> None:
    found: list[str] = []
    for steps in ("900", "1000"):   # Reacher-v5 tests every 100 steps and at step 0: 11 tests count, 10 do not
        args = search.build_parser().parse_args(["--env", "Reacher-v5", "--agent", "ddpg", "--samples", "1", "--steps",
                                                 steps, "--log-dir", str(tmp_path), "--report-only"])
        search.plan(args, found.append)
    assert found == [("ddpg on Reacher-v5: 900 steps make 10 tests (one every 100), and a run counts with more "
                     "than 10: no statistic will be reported")]


def corrupt_model(tmp: Path) -> list[str]:
    (tmp / "model.zip").write_bytes(b"not a zip")
    return [str(tmp / "model.zip")]


def empty_run_dir(tmp: Path) -> list[str]:
    (tmp / "run").mkdir()
    return [str(tmp / "run")]


@pytest.mark.parametrize(("given", "message"), [
    pytest.param(["missing"], "missing: no such file or run directory", id="missing path"),
    pytest.param(empty_run_dir, "holds neither model.zip nor a checkpoint", id="no model"),
    pytest.param(corrupt_model, "is not a saved model of a known agent", id="corrupt model"),
    pytest.param(["missing", "--episodes", "0"], "--episodes must be >= 1", id="no episodes"),
])
def test_evaluate_refuses_bad_input_with_one_line_and_writes_nothing(
    given: list[str] | Callable[[Path], list[str]], message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = given(tmp_path) if callable(given) else given
    before = files_under(tmp_path)
    assert evaluate.main(args) == 2
    one_error_line(*capsys.readouterr(), message)
    assert files_under(tmp_path) == before


def test_evaluate_video_without_the_video_extra_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """gymnasium's MuJoCo extra installs imageio, but not the ffmpeg writer mp4s need."""
    assert train.main(["--agent", "ddpg", "--steps", "40", "--log-dir", str(tmp_path / "runs"), *FAST]) == 0
    capsys.readouterr()
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)   # import imageio_ffmpeg raises ImportError
    run_dir = tmp_path / "runs" / "InvertedPendulum-v5" / "ddpg" / "seed0"
    assert evaluate.main([str(run_dir), "--episodes", "1", "--video", str(tmp_path / "rollout.mp4")]) == 2
    one_error_line(*capsys.readouterr(), '--video needs the video extra (imageio, imageio-ffmpeg): pip install '
                   '"icnn-rl[video]"')
    assert not (tmp_path / "rollout.mp4").exists()


def test_restarts_names_the_runs_a_resume_starts_from_step_0(tmp_path: Path) -> None:
    """What train.py --resume and a repeated search warn about."""
    def spec(seed: int, *files: str, resume: bool = True) -> RunSpec:
        run = RunSpec("ddpg", "Pendulum-v1", seed, 100, {}, tmp_path, resume=resume)
        for name in files:
            (run.run_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (run.run_dir / name).write_text("")
        return run

    specs = [
        spec(0),                                                           # no run there
        spec(1, "config.yaml"),                                            # stopped before its first checkpoint
        spec(2, "config.yaml", "checkpoints/step50.zip", "checkpoints/step50.buffer.pkl"),
        spec(3, "config.yaml", "model.zip"),                               # finished
        spec(4, resume=False),
    ]
    assert restarts(specs) == [
        f"{tmp_path}/Pendulum-v1/ddpg/seed0: nothing to resume (no run there); it starts from step 0",
        (f"{tmp_path}/Pendulum-v1/ddpg/seed1: nothing to resume (the run stopped before its first checkpoint); "
        "it starts again from step 0"),
    ]


def test_a_run_recorded_with_a_null_schedule_resumes_and_then_records_the_values(tmp_path: Path) -> None:
    """Runs started before config.yaml recorded the resolved schedule (runs training now included)
    hold null there: a --resume takes it for the task's values, which the run used."""
    args = ["--agent", "ddpg", "--log-dir", str(tmp_path), "--set", "hidden=[8]", "--set", "learning_starts=20",
            "--set", "batch_size=8", "--no-progress"]   # InvertedPendulum's schedule: a test every 100 steps
    assert train.main([*args, "--steps", "100"]) == 0
    path = tmp_path / "InvertedPendulum-v5" / "ddpg" / "seed0" / "config.yaml"
    recorded = yaml.safe_load(path.read_text())
    assert (recorded["test_interval"], recorded["checkpoint_interval"]) == (100, 1000)
    path.write_text(yaml.safe_dump({**recorded, "test_interval": None, "checkpoint_interval": None}, sort_keys=False))
    assert train.main([*args, "--steps", "200", "--resume"]) == 0
    assert yaml.safe_load(path.read_text()) == {**recorded, "steps": 200}
