"""Why an ICNN agent's argmin takes many evaluations: how often one cut certifies, and where.

    python -m benchmarks.studies.argmin_kinks RUN_DIR [RUN_DIR ...] --out benchmarks/results/argmin_kinks.md

For each run directory's newest checkpoint (model and replay buffer), on ``--states`` next states of
its buffer, the TD target's problem min_a F(s', a) = f_target(s', a) − ε·H(p) is solved three ways:
the agent's own certified solve (proposal, then bundle entropy with the packaged tolerance), and a
tight bundle-entropy solve (``--tight-iter`` evaluations, gap ≤ 1e-5) whose answer is taken as the
argmin a*. The table gives the evaluations per row of the agent's solve and the share of rows that
one cut certifies within the agent's tolerance (:func:`icnn_rl.convex.certify`):

- at the proposal π(s') (what the agent keeps without iterating);
- at the argmin a* itself: below 100 % only where a* sits on a kink of f, where no single
  gradient certifies the exact answer (f piecewise linear: the paper's leaky-ReLU network);
- at a* with all the cuts that carry the tight solve's multipliers (λ > 1e-9), re-evaluated in one
  pass: the kink's pieces, which is what the bundle must discover one evaluation at a time.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from icnn_rl.agents import load_agent
from icnn_rl.agents.icnn.policies import ACTION_BOUNDS
from icnn_rl.cli import configure_torch, write_text_atomic
from icnn_rl.convex import certify, solve_from, within_tolerance
from icnn_rl.convex.bundle_entropy import bundle_entropy, dual_objective, solve_dual
from icnn_rl.convex.problem import Energy, binary_entropy, value_and_grad
from icnn_rl.rl.checkpoints import latest_checkpoint

HEADER = ("| run | step | activation | ε | evaluations per row (agent's solve) | one cut certifies: at π(s') "
          "| at a* | the tight solve's active cuts | active cuts per row |\n|---|---|---|---|---|---|---|---|---|")


def active_cuts_certify(energy, bundle, argmin: torch.Tensor, eps: float, tol: float,
                        atol: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row: whether a* = ``argmin`` [B, n] with the cuts that carry a multiplier (λ > 1e-9) in
    ``bundle``, all re-evaluated in one pass, certify a* within tolerance; and how many such cuts
    the row has."""
    lo, span = ACTION_BOUNDS[0], ACTION_BOUNDS[1] - ACTION_BOUNDS[0]
    active = bundle.present & (bundle.lam > 1e-9)
    points = torch.cat([((argmin.double() - lo) / span).unsqueeze(1), bundle.points], 1).clamp(1e-9, 1 - 1e-9)
    used = torch.cat([torch.ones_like(active[:, :1]), active], 1)
    f, grad = value_and_grad(energy, (lo + span * points).to(argmin.dtype))   # [B, 1 + K], [B, 1 + K, n]
    G = span * grad.double()
    h = f.double() - (G * points).sum(2)
    objective = f.double()[:, 0] - eps * binary_entropy(points[:, 0])
    lam = used.double() / used.sum(1, keepdim=True)
    first = torch.zeros_like(used)
    first[:, 0] = True
    lam = solve_dual(G, h, used, lam, first, eps, 50, torch.full_like(objective, 1e-10))
    gap = objective + dual_objective(lam, G, h, eps)
    return within_tolerance(gap, objective, tol, atol), active.sum(1)


class TargetProblem(NamedTuple):
    """The TD target's argmin problem of a trained ICNN agent on next states of its own buffer."""

    model: OffPolicyAlgorithm
    observations: torch.Tensor   # [B, obs_dim] next states
    net: torch.nn.Module         # the network whose argmin the TD target takes
    energy: Energy               # a -> f(s', a) on those states
    start: torch.Tensor          # the proposals π(s'), where the agent's solve starts


def target_problem(run_dir: Path, states: int) -> TargetProblem:
    """The newest checkpoint of ``run_dir`` (model and replay buffer) and ``states`` next states of
    its buffer (numpy seed 0)."""
    found = latest_checkpoint(run_dir / "checkpoints")
    if found is None:
        raise SystemExit(f"{run_dir}: no complete checkpoint under checkpoints/; train with checkpoints first")
    model_path, buffer_path = found
    model = load_agent(model_path, device="cpu")
    model.load_replay_buffer(buffer_path)
    policy = model.policy
    np.random.seed(0)   # SB3's buffer samples with numpy's global generator
    obs = torch.as_tensor(model.replay_buffer.sample(states).next_observations).float()
    net = policy.q_net if policy.double_q else policy.q_net_target   # twin critics: f₁, as the agent's argmin
    with torch.no_grad():
        return TargetProblem(model, obs, net, net.condition(obs), policy.start(obs))


def measure(run_dir: Path, states: int, tight_iter: int) -> str:
    """One table row for the newest checkpoint of ``run_dir``."""
    model, _, net, energy, start = target_problem(run_dir, states)
    config = model.policy.target_solver
    eps, tol, atol = config.entropy_weight, config.tol, config.atol
    agent, proposal_cert, _ = solve_from(energy, start, config, ACTION_BOUNDS)
    tight, bundle = bundle_entropy(energy, start, max_iter=tight_iter, tol=0.0, atol=1e-5,
                                   entropy_weight=eps, bounds=ACTION_BOUNDS)
    at_argmin = certify(energy, tight.y.clamp(ACTION_BOUNDS[0] + 1e-6, ACTION_BOUNDS[1] - 1e-6), entropy_weight=eps, bounds=ACTION_BOUNDS)
    by_cuts, count = active_cuts_certify(energy, bundle, tight.y, eps, tol, atol)

    def share(mask: torch.Tensor) -> str:
        return f"{100 * mask.double().mean().item():.1f} %"

    return (f"| {Path(*run_dir.parts[-4:])} | {model.num_timesteps} | {net.activation} | {eps:.4g} | "
            f"{agent.iterations.double().mean().item():.2f} | "
            f"{share(within_tolerance(proposal_cert.gap, proposal_cert.objective, tol, atol))} | "
            f"{share(within_tolerance(at_argmin.gap, at_argmin.objective, tol, atol))} | {share(by_cuts)} | "
            f"{count.double().mean().item():.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="ICNN run directories with checkpoints")
    parser.add_argument("--states", type=int, default=256, help="next states sampled from each buffer")
    parser.add_argument("--tight-iter", type=int, default=80, help="evaluations of the tight solve")
    parser.add_argument("--out", type=Path, help="write the table here (markdown) as well")
    args = parser.parse_args()
    configure_torch(1)
    rows = [measure(run, args.states, args.tight_iter) for run in args.runs]
    text = (f"# Where one cut certifies ICNN's TD-target argmin\n\n`python -m benchmarks.studies.argmin_kinks RUN_DIR ...` "
            f"({args.states} next states per run; the run column: the last parts of RUN_DIR)\n\n{HEADER}\n"
            + "\n".join(rows) + "\n")
    print(text)
    if args.out:
        write_text_atomic(args.out, text)


if __name__ == "__main__":
    main()
