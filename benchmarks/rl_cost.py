"""CPU-hour estimate per cell (task × agent) of the paper's RL table, from a short measurement of
each agent on each task with its packaged config (one process, one torch thread, one cell at a time):

    nice -n 19 python -m benchmarks.rl_cost [--envs ...] [--agents ...] [--steps 300] [--remeasure]

Per cell, a fresh model collects its ``learning_starts`` random warm-up steps (not timed), trains
``--steps`` env steps (training speed: env steps/s with one update each), then acts
deterministically on a test env for ``--steps`` env steps (test speed). One run's estimate is

    hours = budget / training speed + tests × episode limit / test speed,   tests = budget / interval + 1

with the task's budget and test interval (``icnn_rl.envs.PAPER_TASKS``) and every test episode
counted at the env's episode limit, an upper bound: early tests end sooner when the agent falls.
The speeds are those of an untrained network (ICNN's solves may take more or fewer iterations later
in training) under the machine's load at the time, which the table records.

Writes ``benchmarks/results/rl_cost.json`` after every cell (cells already there are kept unless
``--remeasure``; the results benchmark orders its runs by it) and the table ``rl_cost.md``. With
``--runs DIR`` (the results benchmark's ``--log-dir``) the table also shows, for each cell whose seed-0
run there has finished, that run's training speed and wall hours beside the estimate:

    python -m benchmarks.rl_cost --runs runs/results    # measures only the cells not measured yet
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from benchmarks.rl_throughput import fresh_model, timed_round
from icnn_rl.agents import AGENTS
from icnn_rl.cli import configure_torch, write_json_atomic, write_text_atomic
from icnn_rl.envs import PAPER_TASKS, make_env, task_for
from icnn_rl.rl.rollout import rollout

RESULTS = Path(__file__).resolve().parent / "results"
COST_TABLE = RESULTS / "rl_cost.json"


def acting_speed(model: Any, env_id: str, steps: int) -> float:
    """Env steps/s of deterministic test episodes (the paper's protocol) over at least ``steps`` steps."""
    env = make_env(env_id)
    start, seed = time.perf_counter(), 0
    while sum(env.get_episode_lengths()) < steps:
        rollout(model, env, seed=seed)
        seed += 1
    speed = sum(env.get_episode_lengths()) / (time.perf_counter() - start)
    env.close()
    return speed


def run_hours(env_id: str, train_speed: float, test_speed: float) -> float:
    """The estimate of one run at the task's budget (see the module docstring)."""
    task = task_for(env_id)
    tests = task.budget // task.test_interval + 1
    episode_limit = gym.spec(env_id).max_episode_steps
    return (task.budget / train_speed + tests * episode_limit / test_speed) / 3600


def measure(env_id: str, agent: str, steps: int) -> dict[str, Any]:
    """One cell's speeds and estimate, and the load average it was measured under."""
    model = fresh_model(agent, env_id, steps, [])
    train_speed = timed_round(model, steps)[0]
    speed = acting_speed(model, env_id, steps)
    model.env.close()
    return {
        "train_steps_per_second": round(train_speed, 2),
        "test_steps_per_second": round(speed, 2),
        "hours": round(run_hours(env_id, train_speed, speed), 3),
        "load_average": round(os.getloadavg()[0], 1),
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def finished_run(runs: Path, env_id: str, agent: str) -> dict[str, float] | None:
    """The training speed and wall hours of the finished seed-0 run of the cell in ``runs``, if any."""
    path = runs / env_id / agent / "seed0" / "metrics.json"
    metrics = json.loads(path.read_text()) if path.exists() else {}
    if metrics.get("steps", 0) < task_for(env_id).budget:
        return None
    return {"run_train_steps_per_second": metrics["env_steps_per_second"],
            "run_wall_hours": round(metrics["wall_seconds"] / 3600, 3)}


def load_costs(path: Path = COST_TABLE) -> dict[str, dict[str, dict[str, Any]]]:
    """The estimate table (``{env: {agent: cell}}``), empty if it has not been measured."""
    return json.loads(path.read_text()) if path.exists() else {}


def markdown(costs: dict[str, dict[str, dict[str, Any]]], steps: int) -> str:
    """The table of every measured cell, with the totals of one seed and of three, and how the
    estimates compare with finished runs where the table has any."""
    lines = [
        "# CPU-hour estimate per cell of the paper's RL table",
        "",
        f"`python -m benchmarks.rl_cost --steps {steps}` (niced, one cell at a time, one torch thread) on a 2-core",
        "machine shared with other long jobs: the load average column says how busy it was. Hours of one run =",
        "budget / training speed + tests × episode limit / test speed (every test episode at the env's limit).",
        "The speeds are those of a fresh network just past its warm-up; \"finished run\" columns give, where",
        "the results benchmark's seed-0 run has finished (`--runs`), its whole-run training speed and wall hours.",
        "",
        ("| env | agent | budget | train env steps/s | test env steps/s | hours per run | load average | measured "
         "| finished run: train env steps/s | finished run: wall hours |"),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratios = []
    for env_id in sorted(costs):
        for agent, cell in sorted(costs[env_id].items()):
            run = ("", "")
            if "run_wall_hours" in cell:
                run = (cell["run_train_steps_per_second"], f"{cell['run_wall_hours']:.2f}")
                ratios.append(cell["run_wall_hours"] / cell["hours"])
            lines.append(
                f"| {env_id} | {agent} | {task_for(env_id).budget} | {cell['train_steps_per_second']} | "
                f"{cell['test_steps_per_second']} | {cell['hours']:.2f} | {cell['load_average']} | "
                f"{cell['measured']} | {run[0]} | {run[1]} |"
            )
    total = sum(cell["hours"] for cells in costs.values() for cell in cells.values())
    lines += ["", f"Estimated, all measured cells: {total:.1f} CPU hours for seed 0, {3 * total:.1f} for three seeds."]
    if ratios:
        ratio = float(np.median(ratios))
        lines.append(
            f"The {len(ratios)} finished runs took {min(ratios):.1f}–{max(ratios):.1f}× their estimate (median "
            f"{ratio:.1f}×): the estimate times a fresh network for {steps} steps, a whole run trains on (ICNN's "
            f"solves may take more iterations later) under whatever load it meets. At the median ratio the grid is "
            f"about {ratio * total:.0f} CPU hours for seed 0 and {3 * ratio * total:.0f} for three seeds (an "
            "extrapolation)."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=list(PAPER_TASKS))
    parser.add_argument("--agents", nargs="+", default=list(AGENTS), choices=list(AGENTS))
    parser.add_argument("--steps", type=int, default=300, help="timed env steps of training and of tests")
    parser.add_argument("--remeasure", action="store_true", help="measure cells that are already in the table")
    parser.add_argument("--out", type=Path, default=COST_TABLE, help="the JSON table (the .md goes beside it)")
    parser.add_argument("--runs", type=Path, default=None, help="the results benchmark's --log-dir")
    args = parser.parse_args()
    configure_torch()
    costs = load_costs(args.out)
    for env_id in args.envs:
        for agent in args.agents:
            cell = costs.get(env_id, {}).get(agent)
            if cell is None or args.remeasure:
                cell = measure(env_id, agent, args.steps)
                print(f"{env_id} {agent}: {cell}", flush=True)
            run = None if args.runs is None else finished_run(args.runs, env_id, agent)
            costs.setdefault(env_id, {})[agent] = {**cell, **(run or {})}
            args.out.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(args.out, costs)
            write_text_atomic(args.out.with_suffix(".md"), markdown(costs, args.steps))


if __name__ == "__main__":
    main()
