"""CPU-hour estimate per cell (task × agent) of the paper's RL table, from a short measurement of
each agent on each task with its packaged config (one process, one torch thread, one cell at a time):

    nice -n 19 python -m benchmarks.publish.rl_cost [--envs ...] [--agents ...] [--steps 300] [--remeasure]

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

    python -m benchmarks.publish.rl_cost --runs runs/results    # measures only the cells not measured yet

Once runs exist, their own pace is the better guide: :func:`remaining_hours` (the results
benchmark's ``--dry-run``) takes a resumed run's pace so far, else the median pace of the cell's
other seeds trained with today's config, and falls back on this table's estimate only for cells
with no such run yet (a run checkpointed before :func:`settled_step` has no pace yet).
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

from benchmarks.speed.rl_throughput import fresh_model, timed_round
from icnn_rl.agents import AGENTS
from icnn_rl.cli import configure_torch, load_yaml, write_json_atomic, write_text_atomic
from icnn_rl.envs import PAPER_TASKS, make_env, task_for
from icnn_rl.rl.checkpoints import checkpoint_step, checkpoint_timing, latest_checkpoint
from icnn_rl.rl.records import config_is_current
from icnn_rl.rl.rollout import rollout
from icnn_rl.rl.run import RunSpec

RESULTS = Path(__file__).resolve().parents[1] / "results"
COST_TABLE = RESULTS / "rl_cost.json"
SETTLED_WARM_UPS = 10  # a checkpointed run's pace counts once it has trained this many warm-ups (settled_step)


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


def settled_step(config: dict[str, Any]) -> int:
    """The step from which a run's pace so far predicts the rest: ``SETTLED_WARM_UPS`` times its
    warm-up (``learning_starts``). The warm-up's random-action steps take no gradient step and run far
    faster than training, so a pace taken earlier is too fast; from here on they are at most a
    ``1 / SETTLED_WARM_UPS`` share of the steps it covers."""
    return SETTLED_WARM_UPS * int(config["learning_starts"])


def run_pace(run_dir: Path) -> tuple[int, float] | None:
    """(env steps trained, wall seconds per env step, tests and checkpoints included) of one run
    directory: from its ``metrics.json`` once it has finished, else from the timing saved with its
    newest checkpoint once that is past :func:`settled_step` of the run's ``config.yaml``; None when it
    has neither (or nothing was timed)."""
    metrics = run_dir / "metrics.json"
    if metrics.is_file():
        timing = json.loads(metrics.read_text())
        steps = timing.get("steps", 0)
    else:
        latest = latest_checkpoint(run_dir / "checkpoints")
        if latest is None:
            return None
        steps, timing = checkpoint_step(latest[0]), checkpoint_timing(latest[0]) or {}
        if steps < settled_step(load_yaml(run_dir / "config.yaml")):
            return None
    if not timing.get("timed_steps") or "wall_seconds" not in timing:
        return None
    return steps, timing["wall_seconds"] / timing["timed_steps"]


def cell_pace(roots: list[Path], env_id: str, agent: str, skip: str = "") -> list[float]:
    """The paces (:func:`run_pace`) of the runs ``<root>/<env>/<agent>/seed*`` but ``skip``, one per
    seed: from the first of ``roots`` that has a pace for it. Only runs trained with today's packaged
    config count (:func:`icnn_rl.rl.records.config_is_current`): an older config's solver settings or
    critic count ran at another pace."""
    paces: dict[str, float] = {}
    for root in roots:
        for path in sorted((root / env_id / agent).glob("seed*")):
            if path.name == skip or path.name in paces or not config_is_current(path):
                continue
            if (found := run_pace(path)) is not None:
                paces[path.name] = found[1]
    return list(paces.values())


def estimate_ratio(agent: str, costs: dict[str, dict[str, dict[str, Any]]], roots: list[Path]) -> float | None:
    """The median, over ``agent``'s cells that have both, of measured hours per run (the median pace
    of the cell's runs under ``roots`` × its budget) over the fresh-model estimate; None without one."""
    ratios = []
    for env_id, cells in costs.items():
        paces = cell_pace(roots, env_id, agent)
        if agent in cells and paces:
            ratios.append(float(np.median(paces)) * task_for(env_id).budget / 3600 / cells[agent]["hours"])
    return float(np.median(ratios)) if ratios else None


def remaining_hours(spec: RunSpec, costs: dict[str, dict[str, dict[str, Any]]],
                    records: Path | None = None) -> tuple[float | None, str]:
    """CPU hours ``spec`` still needs, and where the pace comes from, first found of: the run's own
    pace so far (a resumed run: its remaining steps at that pace); the median pace of the cell's other
    seeds of today's config (their run directories beside it, or their published records under
    ``records``: :func:`cell_pace`); the fresh-model estimate of ``costs``, times
    :func:`estimate_ratio` of the agent where it has one.
    (None, "no estimate") when there is none of these. A pace is the one its run met, under that
    machine's load; ICNN's solves may slow as training goes on. A checkpointed run has a pace only
    from :func:`settled_step` on; before, it would be mostly the warm-up's."""
    own = run_pace(spec.run_dir) if spec.resume else None
    if own is not None:
        steps, pace = own
        return max(spec.steps - steps, 0) * pace / 3600, f"its own pace up to step {steps}"
    roots = [root for root in (spec.log_dir, records) if root is not None]
    paces = cell_pace(roots, spec.env_id, spec.agent, spec.run_dir.name)
    if paces:
        return spec.steps * float(np.median(paces)) / 3600, f"median pace of the cell's {len(paces)} other seed(s)"
    estimate = costs.get(spec.env_id, {}).get(spec.agent)
    if estimate is None:
        return None, "no estimate"
    hours = estimate["hours"] * spec.steps / task_for(spec.env_id).budget
    ratio = estimate_ratio(spec.agent, costs, roots)
    if ratio is None:
        return hours, "fresh-model estimate"
    return hours * ratio, f"fresh-model estimate × {ratio:.1f}, the median ratio of {spec.agent}'s measured cells"


def load_costs(path: Path = COST_TABLE) -> dict[str, dict[str, dict[str, Any]]]:
    """The estimate table (``{env: {agent: cell}}``), empty if it has not been measured."""
    return json.loads(path.read_text()) if path.exists() else {}


def markdown(costs: dict[str, dict[str, dict[str, Any]]], steps: int) -> str:
    """The table of every measured cell, with the totals of one seed and of three, and how the
    estimates compare with finished runs where the table has any."""
    lines = [
        "# CPU-hour estimate per cell of the paper's RL table",
        "",
        f"`python -m benchmarks.publish.rl_cost --steps {steps}` (niced, one cell at a time, one torch thread) on a 2-core",
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
