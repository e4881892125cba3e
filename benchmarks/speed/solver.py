"""Time the argmin solvers on the paper's RL network and write a table.

For a batch of B rows of the RL PICNN (200-200) on each action size, per solver: wall time per solve,
energy evaluations per row, loop passes K (each pass is one batched forward+backward of the energy),
the ratio time / (K × one full forward+backward of the network on the batch) — the floor for a
first-order method is 1 — and the objective gap to the exact cvxpy solution on a subset of rows.
Bundle entropy runs with its sub-problem compiled (the CPU default) and as tensor operations (the
GPU path); the certificate of one candidate is one forward+backward. A row-by-row Python loop of
the same bundle entropy algorithm is timed as the reference point.

    python -m benchmarks.speed.solver [--batch 256] [--device cpu|cuda|auto] [--out benchmarks/results/solver.md]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from functools import partial
from pathlib import Path

import torch

from icnn_rl.cli import configure_torch
from icnn_rl.convex import SolverConfig, SolveResult, argmin, certify, rl_picnn
from icnn_rl.convex.bundle_entropy import bundle_entropy
from icnn_rl.convex.exact import exact_argmin

# (task, obs_dim, act_dim): gymnasium v5 HalfCheetah and Humanoid
TASKS = [("HalfCheetah-v5", 17, 6), ("Humanoid-v5", 348, 17)]
SOLVERS = {
    "bundle entropy (default)": SolverConfig(),
    "bundle entropy, 10 iter": SolverConfig(max_iter=10),
    "bundle entropy, ICNN agent's setting (≤20, atol 0.01)": SolverConfig(max_iter=20, tol=0.0, atol=0.01),
    "paper Adam (≤1000)": SolverConfig(method="paper_adam", max_iter=1000, tol=1e-4, lr=0.01),
    "Adam, 100 iter": SolverConfig(method="adam", max_iter=100, tol=0.0, lr=0.05),
}
TENSOR_PATH = ("bundle entropy (default)", "bundle entropy, ICNN agent's setting (≤20, atol 0.01)")


def tensor_path_solve(net, x: torch.Tensor, cfg: SolverConfig) -> SolveResult:
    """Bundle entropy with its sub-problem as tensor operations (the GPU path) on any device."""
    with torch.no_grad():
        energy = net.condition(x)
    y0 = torch.zeros(x.shape[0], net.y_dim, device=x.device)
    return bundle_entropy(energy, y0, max_iter=cfg.max_iter, tol=cfg.tol, atol=cfg.atol, bounds=(-1.0, 1.0),
                          subproblem="tensor")[0]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device, repeats: int) -> tuple[float, object]:
    """Median wall time of ``fn()`` over ``repeats`` runs after one warm-up, and its last result."""
    out = fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        out = fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def forward_backward(net, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """One full pass of the network: f(x, y) and ∇_y f for the whole batch (x-path included)."""
    y = y.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(net(x, y).sum(), y)
    return g


def run(batch: int, device: torch.device, repeats: int, exact_rows: int) -> list[str]:
    rows = [("| task (obs, act) | solver | ms / solve | evals / row (mean) | passes K | time / (K × fwd+bwd) "
            "| max rel. gap to exact | rows converged |"), "|---|---|---:|---:|---:|---:|---:|---:|"]
    for task, obs_dim, act_dim in TASKS:
        rows += task_rows(f"{task} ({obs_dim}, {act_dim})", obs_dim, act_dim, batch, device, repeats, exact_rows)
    return rows


def task_rows(label: str, obs_dim: int, act_dim: int, batch: int, device: torch.device, repeats: int,
              exact_rows: int) -> list[str]:
    """The table rows of one task size."""
    torch.manual_seed(0)
    net = rl_picnn(obs_dim, act_dim, (200, 200), init="torch").to(device).eval()
    x = torch.randn(batch, obs_dim, device=device)
    y = torch.zeros(batch, act_dim, device=device)
    t_pass, _ = timed(lambda: forward_backward(net, x, y), device, repeats * 5)
    _, ref = exact_argmin(net, x[:exact_rows], bounds=(-1.0, 1.0))
    solves = {name: partial(argmin, net, x, config=cfg, bounds=(-1.0, 1.0)) for name, cfg in SOLVERS.items()}
    if device.type == "cpu":
        solves = {(f"{name}, compiled sub-problem" if name in TENSOR_PATH else name): solve
                  for name, solve in solves.items()}
        solves |= {f"{name}, tensor sub-problem": partial(tensor_path_solve, net, x, SOLVERS[name])
                   for name in TENSOR_PATH}
    rows = []
    for name, solve in solves.items():
        t, res = timed(solve, device, repeats)
        passes = int(res.iterations.max())
        gap = ((res.objective[:exact_rows].double().cpu() - ref).abs() / ref.abs().clamp_min(1)).max()
        rows.append(f"| {label} | {name} | {1e3 * t:.1f} | {res.iterations.float().mean():.1f} "
                    f"| {passes} | {t / (passes * t_pass):.2f} | {gap:.1e} | {res.converged.float().mean():.0%} |")
    t_cert, _ = timed(lambda: certify(net.condition(x), y, bounds=(-1.0, 1.0)), device, repeats * 5)
    rows.append(f"| {label} | certificate of one candidate per row | {1e3 * t_cert:.2f} | 1.0 | 1 "
                f"| {t_cert / t_pass:.2f} | | |")
    n_loop = min(batch, 64)
    t_loop, _ = timed(lambda: [argmin(net, x[i:i + 1], bounds=(-1.0, 1.0)) for i in range(n_loop)], device, 1)
    t_batched, _ = timed(lambda: argmin(net, x, bounds=(-1.0, 1.0)), device, repeats)
    t_loop_full = t_loop * batch / n_loop
    rows.append(f"| {label} | row-by-row loop of bundle entropy (default) | {1e3 * t_loop_full:.1f} | | | | "
                f"| batched is {t_loop_full / t_batched:.0f}× faster |")
    rows.append(f"| {label} | one full forward+backward of the net | {1e3 * t_pass:.2f} | | | | | |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--device", default="auto", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--exact-rows", type=int, default=16, help="rows checked against cvxpy")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/solver.md"))
    args = parser.parse_args()
    configure_torch(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) if args.device == "auto" else [args.device]
    lines = [(f"Solver benchmark: batch {args.batch}, RL PICNN 200-200 (torch init), float32, "
             f"{args.threads} CPU thread(s), {platform.processor() or platform.machine()}, torch {torch.__version__}."),
             "The row-by-row reference solves 64 rows one at a time and is scaled to the batch.", ""]
    for dev in devices:
        lines += [f"### device: {dev}", "", *run(args.batch, torch.device(dev), args.repeats, args.exact_rows), ""]
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
