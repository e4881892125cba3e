"""train.py (icnn_rl.train), python -m icnn_rl.evaluate and python -m icnn_rl.report as a user runs them.

In-process calls name the program after sys.argv[0] (pytest's), so their error lines are matched from
``: error:`` on; the subprocess checks see ``train.py: error:``."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from icnn_rl import evaluate, report, train
from icnn_rl.agents import AGENTS, ICNN
from icnn_rl.rl.checkpoints import checkpoint_step, checkpoint_timing, latest_checkpoint

ROOT = Path(__file__).resolve().parents[1]
FAST = [
    "--set",
    "hidden=[32,32]",
    "--set",
    "learning_starts=50",
    "--set",
    "batch_size=32",
    "--set",
    "test_interval=50",
    "--no-progress",
]


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python *args`` in the test's working directory (its tmp_path); ``train.py`` is the checkout's."""
    args = tuple(str(ROOT / "train.py") if arg == "train.py" else arg for arg in args)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, check=False)


def steps_in(csv_path: Path) -> list[int]:
    with open(csv_path) as handle:
        return [int(row["step"]) for row in csv.DictReader(handle)]


def test_default_command_is_icnn_on_inverted_pendulum_for_its_paper_budget() -> None:
    (spec,) = train.plan_runs(train.build_parser().parse_args([]), print)
    assert (spec.agent, spec.env_id, spec.seed, spec.steps) == ("icnn", "InvertedPendulum-v5", 0, 10_000)
    assert spec.progress and spec.run_dir == Path("runs/InvertedPendulum-v5/icnn/seed0")


def test_several_agents_and_seeds_in_one_call_with_workers(tmp_path: Path) -> None:
    result = run_cli(
        "train.py",
        "--agent",
        "naf",
        "ddpg",
        "--env",
        "InvertedPendulum-v5",
        "--seeds",
        "0",
        "1",
        "--steps",
        "100",
        "--workers",
        "2",
        "--log-dir",
        str(tmp_path),
        *FAST,
    )
    assert result.returncode == 0, result.stderr
    for agent in ("naf", "ddpg"):
        for seed in (0, 1):
            run_dir = tmp_path / "InvertedPendulum-v5" / agent / f"seed{seed}"
            assert {"config.yaml", "evaluations.csv", "model.zip", "checkpoints", "metrics.json"} <= {
                p.name for p in run_dir.iterdir()
            }
            assert any(p.name.startswith("events.out.tfevents") for p in run_dir.iterdir())
            assert steps_in(run_dir / "evaluations.csv") == [0, 50, 100]
            assert str(run_dir / "model.zip") in result.stdout


def test_resume_continues_step_count_and_curves(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    solver = ["--set", "act_solver.max_iter=2", "--set", "target_solver.max_iter=2"]
    args = ["--agent", "icnn", "--log-dir", str(tmp_path), *FAST, *solver]
    assert train.main([*args, "--steps", "100"]) == 0
    run_dir = tmp_path / "InvertedPendulum-v5" / "icnn" / "seed0"
    events_before = {p.name for p in run_dir.glob("events.out.tfevents*")}
    first = json.loads((run_dir / "metrics.json").read_text())
    assert train.main([*args, "--steps", "150"]) == 2  # the run exists: --resume is required
    assert train.main([*args, "--steps", "150", "--resume"]) == 0
    assert ICNN.load(run_dir / "model.zip").num_timesteps == 150
    assert steps_in(run_dir / "evaluations.csv") == [0, 50, 100, 150]
    assert events_before < {p.name for p in run_dir.glob("events.out.tfevents*")}
    # metrics.json covers the whole run, not only the resumed part
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (first["steps"], first["timed_steps"], first["invocations"]) == (100, 100, 1)
    assert (metrics["steps"], metrics["timed_steps"], metrics["invocations"]) == (150, 150, 2)
    # config.yaml records the schedule the run used; ε, which the rule chose at the first update, is in metrics.json
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert (config["test_interval"], config["checkpoint_interval"], config["entropy_weight"]) == (50, 500, None)
    assert metrics["entropy_weight"] == ICNN.load(run_dir / "model.zip").policy.target_solver.entropy_weight != 1.0
    for key in ("wall_seconds", "test_seconds", "train_seconds"):
        assert metrics[key] > first[key] > 0
    assert metrics["env_steps_per_second"] == pytest.approx(150 / metrics["train_seconds"], rel=0.01)
    # a damaged timing file does not stop a resume; the time then counts from the checkpoint
    (run_dir / "checkpoints" / "step150.timing.json").write_text("{not json")
    assert train.main([*args, "--steps", "200", "--resume"]) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (metrics["steps"], metrics["timed_steps"], metrics["invocations"]) == (200, 50, 1)
    # a resume keeps the run's settings: a changed hyperparameter is refused, config.yaml untouched
    config = (run_dir / "config.yaml").read_text()
    capsys.readouterr()
    assert train.main([*args, "--steps", "250", "--resume", "--set", "gamma=0.5"]) == 2
    assert "differs from the run's config.yaml in gamma" in capsys.readouterr().err
    assert (run_dir / "config.yaml").read_text() == config


def test_killed_run_leaves_a_loadable_checkpoint(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "train.py"),
            "--agent",
            "naf",
            "--steps",
            "100000",
            "--log-dir",
            str(tmp_path),
            "--set",
            "checkpoint_interval=60",
            *FAST,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoints = tmp_path / "InvertedPendulum-v5" / "naf" / "seed0" / "checkpoints"
    deadline = time.time() + 240
    while time.time() < deadline and not any(
        p.name == "step180.zip" for p in (checkpoints.iterdir() if checkpoints.exists() else [])
    ):
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    model_path, buffer_path = latest_checkpoint(checkpoints)
    model = evaluate.load_model(model_path)
    model.load_replay_buffer(buffer_path)
    assert model.num_timesteps >= 180 and model.replay_buffer.size() == model.num_timesteps
    timing = checkpoint_timing(model_path)  # a resume continues the run's time from here
    assert timing is not None and timing["timed_steps"] == model.num_timesteps and timing["invocations"] == 1


def test_sigterm_checkpoints_the_current_step_and_stops_then_resume_finishes(tmp_path: Path) -> None:
    args = [sys.executable, str(ROOT / "train.py"), "--agent", "ddpg", "--log-dir", str(tmp_path), *FAST,
            "--set", "checkpoint_interval=100000"]   # no periodic checkpoint before the signal
    process = subprocess.Popen([*args, "--steps", "100000"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    run_dir = tmp_path / "InvertedPendulum-v5" / "ddpg" / "seed0"
    deadline = time.time() + 240
    while time.time() < deadline and not (
        (run_dir / "evaluations.csv").exists() and max(steps_in(run_dir / "evaluations.csv"), default=0) >= 200
    ):
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    model_path, buffer_path = latest_checkpoint(run_dir / "checkpoints")
    step = checkpoint_step(model_path)
    assert step >= 200 and f"stopped by a signal at step {step} of 100000" in stderr
    assert "--resume" in stderr and "Traceback" not in stderr and not (run_dir / "model.zip").exists()
    model = evaluate.load_model(model_path)
    model.load_replay_buffer(buffer_path)
    assert model.num_timesteps == step and model.replay_buffer.size() == step
    resumed = run_cli(*args[1:], "--steps", str(step + 100), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run_dir / "metrics.json").read_text())["steps"] == step + 100
    assert steps_in(run_dir / "evaluations.csv") == list(range(0, step + 101, 50))   # tests every 50, none twice


@pytest.mark.slow   # the process pool's fast test is test_several_agents_and_seeds_in_one_call_with_workers
def test_sigterm_to_a_grid_of_workers_checkpoints_the_running_runs_and_starts_no_more(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), "--agent", "ddpg", "--seeds", "0", "1", "2", "--workers", "2",
         "--steps", "100000", "--log-dir", str(tmp_path), *FAST, "--set", "checkpoint_interval=100000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    runs = [tmp_path / "InvertedPendulum-v5" / "ddpg" / f"seed{seed}" for seed in (0, 1, 2)]

    def tested(run_dir: Path) -> int:
        return max(steps_in(run_dir / "evaluations.csv"), default=0) if (run_dir / "evaluations.csv").exists() else 0

    deadline = time.time() + 240
    while time.time() < deadline and min(tested(run_dir) for run_dir in runs[:2]) < 200:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)   # the whole group, as a scheduler's stop
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "stopped by a signal at step" in stderr and "Traceback" not in stderr
    for run_dir in runs[:2]:
        model_path, _ = latest_checkpoint(run_dir / "checkpoints")
        assert checkpoint_step(model_path) >= 200 and not (run_dir / "model.zip").exists()
    assert not runs[2].exists()   # the queued run never started


def test_output_directory_that_is_a_file_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    blocker = tmp_path / "runs"
    blocker.write_text("not a directory")
    for argv in (["--log-dir", str(blocker)], ["--log-dir", str(blocker / "inside")]):
        assert train.main([*argv, "--steps", "10"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"--log-dir {argv[1]}: {blocker} is a file, not a directory" in err
    assert report.main([str(tmp_path), "--out", str(blocker)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_bad_input_exits_nonzero_without_traceback() -> None:
    result = run_cli("train.py", "--agent", "ppo", "--steps", "10")
    assert result.returncode == 2
    assert result.stderr == "train.py: error: unknown agent 'ppo'; valid: icnn, naf, ddpg, sac, td3\n"


def test_diverged_runs_stop_with_one_line_each_and_keep_the_last_good_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # With an absurd learning rate the weights overflow in the first updates (after step 50); the
    # checkpoint at step 50 precedes them, and the divergence guard stops each run at step 100.
    blow_up = ["--set", "learning_rate=1e30", "--set", "checkpoint_interval=50", "--steps", "400"]
    args = ["--agent", "naf", "ddpg", "--log-dir", str(tmp_path), *blow_up, *FAST]
    assert train.main(args) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 2 and "Traceback" not in err  # the grid went on to DDPG after NAF failed
    for line, agent in zip(lines, ["naf", "ddpg"]):
        assert f": error: {agent} on InvertedPendulum-v5 seed 0 diverged:" in line
        assert "became non-finite (NaN or inf) by step 100" in line and "step50.zip" in line
        run_dir = tmp_path / "InvertedPendulum-v5" / agent / "seed0"
        model_path, _ = latest_checkpoint(run_dir / "checkpoints")
        assert model_path.name == "step50.zip" and not (run_dir / "model.zip").exists()
        loaded = AGENTS[agent].algo.load(model_path, device="cpu")
        assert all(p.isfinite().all() for p in loaded.policy.parameters())


def test_a_run_another_process_is_training_is_refused_and_its_files_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run_dir = tmp_path / "InvertedPendulum-v5" / "ddpg" / "seed0"
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text("agent: ddpg\n")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time; handle = open(sys.argv[1], 'a'); fcntl.flock(handle, fcntl.LOCK_EX); "
        "print('locked', flush=True); time.sleep(60)"), str(run_dir / ".lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        args = ["--agent", "ddpg", "--log-dir", str(tmp_path), "--resume", "--steps", "100", *FAST]
        assert train.main(args) == 2
        assert "is being trained by another process" in capsys.readouterr().err
        assert (run_dir / "config.yaml").read_text() == "agent: ddpg\n"   # untouched
    finally:
        holder.kill()
        holder.wait()
    (run_dir / "config.yaml").unlink()   # the lock went with its process: the run can start
    assert train.main([arg for arg in args if arg != "--resume"]) == 0
    assert (run_dir / "model.zip").exists()


def test_evaluate_run_directory_with_video_and_report(tmp_path: Path) -> None:
    assert train.main(["--agent", "ddpg", "--steps", "100", "--log-dir", str(tmp_path), *FAST]) == 0
    run_dir = tmp_path / "InvertedPendulum-v5" / "ddpg" / "seed0"
    video = tmp_path / "rollout.mp4"
    result = run_cli("-m", "icnn_rl.evaluate", str(run_dir), "--episodes", "2", "--video", str(video))
    assert result.returncode == 0, result.stderr
    assert (
        "InvertedPendulum-v5: mean return" in result.stdout
        and "over 2 deterministic episodes" in result.stdout
    )
    assert video.stat().st_size > 1000
    assert run_cli("-m", "icnn_rl.evaluate", str(tmp_path / "missing")).returncode == 2

    assert report.main([str(tmp_path), "--out", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "InvertedPendulum-v5.png").stat().st_size > 0
    assert (
        "| InvertedPendulum-v5 | ddpg |" not in (tmp_path / "report" / "report.md").read_text()
    )  # 3 tests < 10

