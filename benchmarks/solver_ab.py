"""A/B timing of two bundle entropy implementations on an ICNN agent's own argmin problems.

    git show <commit>:icnn_rl/convex/bundle_entropy.py > /tmp/baseline.py
    python -m benchmarks.solver_ab /tmp/baseline.py [CHECKPOINT ...] [--rounds 5]

CHECKPOINT is an ICNN checkpoint with its replay buffer beside it (default: the 10k-step
checkpoints of seed 0 in runs/results). For acting (64 states solved one at a time, the online
network) and for the TD target (a minibatch of 256 next states, the target network), both
implementations solve the same problems with the agent's own settings, alternating ``rounds``
times in this process so that the machine's load hits them alike. Prints a Markdown table: median
ms per solve, the speed ratio, and each one's mean objective gap to a tight reference solve
(bundle entropy, 200 iterations, tol 1e-9) and mean iterations.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import torch

from icnn_rl.cli import configure_torch
from icnn_rl.convex import SolverConfig, argmin
from icnn_rl.convex import bundle_entropy as current_bundle_entropy
from icnn_rl.evaluate import load_model

BOUNDS = (-1.0, 1.0)
DEFAULT_CHECKPOINTS = [
    Path(f"runs/results/{env}/icnn/seed0/checkpoints/step10000.zip")
    for env in ("InvertedPendulum-v5", "InvertedDoublePendulum-v5", "Reacher-v5")
]


def load_baseline(path: Path) -> ModuleType:
    """Import a bundle_entropy.py from another version as a module of icnn_rl.convex."""
    spec = importlib.util.spec_from_file_location("icnn_rl.convex._baseline_bundle_entropy", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def solve_all(solver: Callable, net: torch.nn.Module, obs: torch.Tensor, config: SolverConfig,
              one_at_a_time: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(objective [B], iterations [B]) of ``solver`` on every row, in one batch or row by row."""
    batches = obs.split(1) if one_at_a_time else [obs]
    objectives, iterations = [], []
    with torch.no_grad():
        for x in batches:
            y0 = torch.zeros(x.shape[0], net.y_dim)
            result, _ = solver(net.condition(x), y0, max_iter=config.max_iter, tol=config.tol,
                               entropy_weight=config.entropy_weight, bounds=BOUNDS, prune=config.prune)
            objectives.append(result.objective)
            iterations.append(result.iterations)
    return torch.cat(objectives), torch.cat(iterations).float()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("baseline", type=Path, help="the other version's bundle_entropy.py")
    parser.add_argument("checkpoints", type=Path, nargs="*", default=DEFAULT_CHECKPOINTS)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    configure_torch()
    solvers = {"baseline": load_baseline(args.baseline).bundle_entropy, "current": current_bundle_entropy}
    print("| checkpoint | case | baseline ms | current ms | speed-up | gap baseline | gap current "
          "| iterations baseline | iterations current |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for checkpoint in args.checkpoints:
        model = load_model(checkpoint, "cpu")
        model.load_replay_buffer(checkpoint.with_suffix(".buffer.pkl"))
        torch.manual_seed(0)
        data = model.replay_buffer.sample(256)
        policy = model.policy
        cases = [
            ("act (64 × B=1)", policy.q_net, data.observations[:64].float(), policy.act_solver, True),
            ("target (B=256)", policy.q_net_target, data.next_observations.float(), policy.target_solver, False),
        ]
        for name, net, obs, config, one_at_a_time in cases:
            reference = argmin(net, obs, None, SolverConfig(max_iter=200, tol=1e-9), bounds=BOUNDS).objective
            times: dict[str, list[float]] = {key: [] for key in solvers}
            quality = {}
            for _ in range(args.rounds):
                for key, solver in solvers.items():
                    start = time.perf_counter()
                    objective, iterations = solve_all(solver, net, obs, config, one_at_a_time)
                    times[key].append(1000 * (time.perf_counter() - start))
                    quality[key] = ((objective - reference).mean().item(), iterations.mean().item())
            base, cur = (statistics.median(times[key]) for key in solvers)
            print(f"| {getattr(model, 'env_id', checkpoint)} | {name} | {base:.1f} | "
                  f"{cur:.1f} | {base / cur:.2f}× | {quality['baseline'][0]:.1e} | {quality['current'][0]:.1e} | "
                  f"{quality['baseline'][1]:.2f} | {quality['current'][1]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
