"""Speed vs quality of the ICNN agent's argmin settings, on a trained agent's own states.

    python -m benchmarks.rl_solver_budget RUN_DIR_OR_CHECKPOINT [--batch 256]

For acting (one state, the online network) and for the TD target (a replay minibatch of next
states, the target network, starting at the box centre or at the stored action), each solver
setting is timed (median over repeats, one torch thread) and compared with a reference solve
(bundle entropy, 200 iterations, tol 1e-9): mean objective gap f(a) − H − (f(a*) − H*) and
max |a − a*|. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from pathlib import Path

import torch

from icnn_rl.convex import SolverConfig, argmin
from icnn_rl.evaluate import load_model, model_path_of
from icnn_rl.rl.checkpoints import latest_checkpoint

BOUNDS = (-1.0, 1.0)


def settings(eps: float) -> tuple[SolverConfig, list[SolverConfig]]:
    """The reference solve and the settings compared, all with the agent's barrier weight ``eps``."""
    reference = SolverConfig(max_iter=200, tol=1e-9, entropy_weight=eps)
    return reference, [
        *(SolverConfig(max_iter=k, tol=1e-4, entropy_weight=eps) for k in (1, 2, 3, 5, 10)),
        *(SolverConfig(method="pgd", max_iter=k, lr=0.3, entropy_weight=eps) for k in (3, 10)),
        SolverConfig(method="paper_adam", max_iter=100, lr=0.01, entropy_weight=eps),
    ]


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path, help="ICNN run directory or checkpoint (with its replay buffer)")
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model_path = model_path_of(args.path)
    buffer_path = model_path.with_name(model_path.stem + ".buffer.pkl")
    if not buffer_path.exists():
        buffer_path = latest_checkpoint(model_path.parent / "checkpoints")[1]
    model = load_model(model_path, "cpu")
    model.load_replay_buffer(buffer_path)
    data = model.replay_buffer.sample(args.batch)
    cases = [
        ("act (B=1)", model.policy.q_net, data.observations[:1].float(), None),
        (f"target (B={args.batch}, centre)", model.policy.q_net_target, data.next_observations.float(), None),
        (
            f"target (B={args.batch}, action)",
            model.policy.q_net_target,
            data.next_observations.float(),
            0.99 * data.actions,
        ),
    ]
    print(f"{model_path} at step {model.num_timesteps}\n")
    print("| case | solver | ms | mean iterations | converged | objective gap | max abs action error |")
    print("|---|---|---|---|---|---|---|")
    reference_config, compared = settings(model.policy.target_solver.entropy_weight)
    for name, net, obs, y0 in cases:
        reference = argmin(net, obs, None, reference_config, bounds=BOUNDS)
        for config in compared:
            result = argmin(net, obs, y0, config, bounds=BOUNDS)
            ms = median_ms(
                functools.partial(argmin, net, obs, y0, config, bounds=BOUNDS), 21 if len(obs) == 1 else 5
            )
            gap = (result.objective - reference.objective).mean().item()
            error = (result.y - reference.y).abs().max().item()
            print(
                f"| {name} | {config.method} K={config.max_iter} | {ms:.1f} | "
                f"{result.iterations.float().mean():.2f} | {result.converged.float().mean():.2f} | "
                f"{gap:.2e} | {error:.3f} |"
            )


if __name__ == "__main__":
    main()
