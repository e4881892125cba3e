"""Roll out a saved policy deterministically and print its mean ± std return.

    python -m icnn_rl.evaluate PATH --episodes N [--seed S] [--video FILE.mp4] [--device D]

PATH is a run directory (its ``model.zip``, else its newest checkpoint) or a saved model; the
agent type and the env id are read from the model file. Videos render headless through
MuJoCo's EGL backend (``MUJOCO_GL=egl`` unless already set) and need the ``video`` extra
(imageio, imageio-ffmpeg): ``pip install "icnn-rl[video]"`` (``pip install -e ".[video]"`` in a checkout).
"""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from gymnasium.error import DependencyNotInstalled
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from icnn_rl.agents import load_agent
from icnn_rl.cli import DEVICES, ConfigError, command_parser, configure_torch, report_error, resolve_device
from icnn_rl.envs import make_env
from icnn_rl.rl.checkpoints import latest_checkpoint
from icnn_rl.rl.rollout import rollout

VIDEO_EXTRA = 'pip install "icnn-rl[video]" (in a checkout: pip install -e ".[video]")'


class EvaluateError(ValueError):
    """A path that holds no loadable model, or an option this installation cannot honour."""


def check_video_support() -> None:
    """Refuse ``--video`` unless imageio and its ffmpeg writer are installed (gymnasium's MuJoCo
    extra brings imageio alone, whose mp4 writer then fails with a ValueError of its own)."""
    try:
        import imageio  # noqa: F401
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        raise EvaluateError(f"--video needs the video extra (imageio, imageio-ffmpeg): {VIDEO_EXTRA}") from None


def model_path_of(path: Path) -> Path:
    """The model file behind ``path``: itself, or a run directory's ``model.zip`` or newest checkpoint."""
    if path.is_file():
        return path
    if path.is_dir():
        if (path / "model.zip").is_file():
            return path / "model.zip"
        latest = latest_checkpoint(path / "checkpoints")
        if latest is not None:
            return latest[0]
        raise EvaluateError(f"{path} holds neither model.zip nor a checkpoint")
    raise EvaluateError(f"{path}: no such file or run directory")


def load_model(path: Path, device: str = "auto") -> OffPolicyAlgorithm:
    """Load a model saved by any registered agent (:func:`icnn_rl.agents.load_agent`)."""
    try:
        return load_agent(path, device=device)
    except ValueError as exc:  # AgentError included
        raise EvaluateError(str(exc)) from None


def evaluate(
    model: OffPolicyAlgorithm, env_id: str, episodes: int, seed: int = 0, video: Path | None = None
) -> list[float]:
    """Raw returns of ``episodes`` deterministic episodes (the env is seeded once with ``seed``);
    with ``video``, every frame goes into that mp4."""
    env = make_env(env_id, render_mode="rgb_array" if video else None)
    if video is not None:
        import imageio.v2 as imageio

        video.parent.mkdir(parents=True, exist_ok=True)
        writer = imageio.get_writer(video, fps=env.metadata.get("render_fps", 30), macro_block_size=1)
    with writer if video is not None else nullcontext():
        on_frame = writer.append_data if video is not None else None
        returns = [
            rollout(model, env, seed=seed if i == 0 else None, on_frame=on_frame) for i in range(episodes)
        ]
    env.close()
    return returns


def main(argv: list[str] | None = None) -> int:
    parser = command_parser(__doc__, "python -m icnn_rl.evaluate")
    parser.add_argument("path", type=Path, help="run directory or saved model (.zip)")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="seed of the evaluation env")
    parser.add_argument("--video", type=Path, default=None, help="write the rollouts to this .mp4")
    parser.add_argument("--device", default="auto", choices=DEVICES)
    args = parser.parse_args(argv)
    os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering (read by the MuJoCo renderer)
    configure_torch()
    try:
        resolve_device(args.device)
        if args.episodes < 1:
            raise EvaluateError(f"--episodes must be >= 1, got {args.episodes}")
        if args.video is not None:
            check_video_support()
        path = model_path_of(args.path)
        model = load_model(path, args.device)
        env_id = getattr(model, "env_id", None)
        if env_id is None:
            raise EvaluateError(f"{path} does not record its env id (not saved by train.py)")
        returns = evaluate(model, env_id, args.episodes, args.seed, args.video)
    except (EvaluateError, ConfigError, ImportError, DependencyNotInstalled) as exc:
        return report_error(parser.prog, exc)
    print(
        f"{env_id}: mean return {np.mean(returns):.2f} ± {np.std(returns):.2f} (std) over "
        f"{len(returns)} deterministic episodes [{path}]"
    )
    if args.video is not None:
        print(f"video → {args.video}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
