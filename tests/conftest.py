import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

# One thread per test process: on small tensors extra threads only contend with each other
# (the suite ran several times slower on 2 busy cores with torch's default).
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def one_thread():
    """Every test starts with one torch thread, whatever an experiment's setup set before it."""
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def write_only_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own tmp_path, so what it writes lands there: files written to the
    working directory (MuJoCo's MUJOCO_LOG.TXT on unstable simulations), and the log folder that
    stable-baselines3 creates for a ``learn`` call without a logger (``$SB3_LOGDIR``, else a new
    ``SB3-<time>`` folder in the system temp directory)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SB3_LOGDIR", str(tmp_path / "sb3-logs"))
