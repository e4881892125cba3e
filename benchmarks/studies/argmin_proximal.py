"""Proximal bundle steps against the paper's plain ones on trained ICNN critics: evaluations and time.

    python -m benchmarks.studies.argmin_proximal RUN_DIR [RUN_DIR ...] --out benchmarks/results/argmin_proximal.md

For each run directory's newest checkpoint, the agent's two argmins are solved as the agent solves
them (from the proposal, certified first, with its tolerance and ``max_iter``), once per value of
``--proximal`` (μ₀/ε of :func:`icnn_rl.convex.bundle_entropy.bundle_entropy`; 0 is the plain method):

- the TD target: ``--states`` next states of the run's buffer in one batch, on the target network;
- acting: ``--act-states`` of those states one row at a time (as every env step does), on the
  online network.

Reported per setting: network evaluations per row, the share of rows within tolerance, and
milliseconds per solve (the median of ``--repeats`` rounds; within a round the settings take turns,
each round starting with the next one, so that the machine's load affects them alike), with the time
as a ratio to that of the first setting (the plain method by default).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import torch

from benchmarks.studies.argmin_kinks import target_problem
from icnn_rl.agents.icnn.policies import ICNNPolicy
from icnn_rl.cli import configure_torch, write_text_atomic
from icnn_rl.convex import SolverConfig

HEADER = ("| run | step | ε | solve | proximal μ₀/ε | evaluations per row | within tolerance | ms per solve "
          "| time vs plain |\n|---|---|---|---|---|---|---|---|---|")


def timed_solves(policy: ICNNPolicy, net: torch.nn.Module, obs: torch.Tensor, starts: torch.Tensor,
                 config: SolverConfig, one_row: bool) -> tuple[float, torch.Tensor, torch.Tensor]:
    """Seconds per solve (the agent's ``certified_solve``: conditioning on s, then the certified solve
    from ``starts``), and the evaluations and within-tolerance flags per row."""
    batches = [(obs[i:i + 1], starts[i:i + 1]) for i in range(len(obs))] if one_row else [(obs, starts)]
    began = time.perf_counter()
    results = [policy.certified_solve(net, o, a, config)[0] for o, a in batches]
    seconds = time.perf_counter() - began
    return (seconds / len(results), torch.cat([r.iterations for r in results]),
            torch.cat([r.converged for r in results]))


def measure(run_dir: Path, states: int, act_states: int, settings: list[float], repeats: int) -> list[str]:
    """The table rows of one run: per solve and setting."""
    model, obs, net, _, start = target_problem(run_dir, states)
    policy = model.policy
    with torch.no_grad():
        act_start = policy.start(obs[:act_states])
    solves = {"TD target": (net, obs, start, policy.target_solver, False),
              "acting": (policy.q_net, obs[:act_states], act_start, policy.act_solver, True)}
    rows = []
    for kind, (solve_net, solve_obs, starts, config, one_row) in solves.items():
        seconds: dict[float, list[float]] = {mu: [] for mu in settings}
        stats = {}
        for round_ in range(repeats):
            for mu in settings[round_ % len(settings):] + settings[:round_ % len(settings)]:   # each first in turn
                took, evaluations, within = timed_solves(policy, solve_net, solve_obs, starts,
                                                         dataclasses.replace(config, proximal=mu), one_row)
                seconds[mu].append(took)
                stats[mu] = (evaluations.double().mean().item(), within.double().mean().item())
        plain = statistics.median(seconds[settings[0]])
        for mu in settings:
            ms = statistics.median(seconds[mu])
            rows.append(f"| {Path(*run_dir.parts[-4:])} | {model.num_timesteps} | {config.entropy_weight:.4g} | {kind} "
                        f"| {mu:g} | {stats[mu][0]:.2f} | {100 * stats[mu][1]:.1f} % | {1000 * ms:.2f} "
                        f"| {ms / plain:.2f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="ICNN run directories with checkpoints")
    parser.add_argument("--states", type=int, default=256, help="next states in the TD target's batch")
    parser.add_argument("--act-states", type=int, default=64, help="of those, states solved one at a time")
    parser.add_argument("--proximal", type=float, nargs="+", default=[0.0, 1.0, 3.0, 5.0],
                        help="μ₀/ε settings; the first is the baseline of the time ratio")
    parser.add_argument("--repeats", type=int, default=5, help="rounds; the time is their median")
    parser.add_argument("--out", type=Path, help="write the table here (markdown) as well")
    args = parser.parse_args()
    if args.act_states > args.states or min(args.proximal) < 0 or args.repeats < 1:
        raise SystemExit("need --act-states <= --states, --proximal values >= 0 and --repeats >= 1")
    configure_torch(1)
    rows = [row for run in args.runs for row in measure(run, args.states, args.act_states, args.proximal, args.repeats)]
    text = (f"# Proximal bundle steps on trained ICNN critics\n\n`python -m benchmarks.studies.argmin_proximal RUN_DIR ...` "
            f"({args.states} next states per run for the TD target, {args.act_states} of them one at a time for "
            f"acting; median of {args.repeats} interleaved rounds; one torch thread; the run column: the last "
            f"parts of RUN_DIR)\n\n{HEADER}\n" + "\n".join(rows) + "\n")
    print(text)
    if args.out:
        write_text_atomic(args.out, text)


if __name__ == "__main__":
    main()
