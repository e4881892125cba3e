"""Faults and bad input of the RL commands as a user meets them: each stops the command with one line
``<command>: error: ...`` and exit status 2, no traceback, and leaves nothing behind; surprises that
are not errors are one ``<command>: warning: ...`` line each. A bug of ours is not bad input: it
surfaces as a traceback."""

from __future__ import annotations

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from icnn_rl import train
from icnn_rl.convex import picnn
from icnn_rl.rl import callbacks
from icnn_rl.rl.checkpoints import write_checkpoint
from icnn_rl.rl.rollout import rollout

FAST = ["--set", "hidden=[8]", "--set", "learning_starts=20", "--set", "batch_size=8", "--set", "test_interval=20",
        "--no-progress"]


def test_a_bug_in_building_a_model_is_a_traceback_not_a_config_error(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("a bug of ours")

    monkeypatch.setattr(picnn.PICNN, "__init__", broken)
    assert train.main(["--steps", "30", "--log-dir", str(tmp_path), *FAST]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "TypeError: a bug of ours" in err


def test_a_resumed_run_tests_from_the_test_envs_saved_state_and_tensorboard_keeps_one_value_per_step(
    tmp_path, monkeypatch: pytest.MonkeyPatch
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
