"""The report's statistic and files, on hand-made run directories."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from icnn_rl.agents import AGENTS
from icnn_rl.cli import replace_marked
from icnn_rl.envs import task_for
from icnn_rl.report import main as report_main
from icnn_rl.report import (
    paper_cells,
    results_markdown,
    settings_section,
    table,
    write_report,
)
from icnn_rl.rl.config import resolve_config
from icnn_rl.rl.evaluations import write_evaluations
from icnn_rl.rl.grid import unfinished
from icnn_rl.rl.records import load_runs, mean_ci, rolling_mean
from icnn_rl.rl.run import LOCK_NAME
from icnn_rl.rl.scores import PAPER_RL, random_returns, reference_score
from icnn_rl.rl.verdict import comparison, verdict_markdown

ROOT = Path(__file__).resolve().parents[1]
HOLD_LOCK = """import fcntl, sys, time
handle = open(sys.argv[1], "a")
fcntl.flock(handle, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""  # a process that holds a run directory's lock, as a training process does


@pytest.fixture
def rl_results(monkeypatch: pytest.MonkeyPatch):
    """``benchmarks/publish/rl_results.py``; the benchmarks import each other from the repository root."""
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module("benchmarks.publish.rl_results")


def make_run(root: Path, env: str, agent: str, seed: int, returns: list[float], budget: int) -> None:
    run_dir = root / env / agent / f"seed{seed}"
    run_dir.mkdir(parents=True)
    write_evaluations(run_dir / "evaluations.csv", [(100 * i, r) for i, r in enumerate(returns)])
    (run_dir / "config.yaml").write_text(yaml.safe_dump({"steps": budget}))


def test_rolling_mean_is_the_valid_part_of_a_moving_average() -> None:
    values = np.arange(12, dtype=float)
    np.testing.assert_allclose(rolling_mean(values), [4.5, 5.5, 6.5])
    assert rolling_mean(values[:9]).size == 0


def test_mean_ci_uses_student_t() -> None:
    mean, half = mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(4.302653 * 1.0 / np.sqrt(3), rel=1e-5)
    assert np.isnan(mean_ci([5.0])[1])


def test_table_reports_max_and_final_of_the_rolling_mean_and_partial_runs(tmp_path: Path) -> None:
    rising = [float(i) for i in range(20)]  # rolling-10: 4.5 .. 14.5
    peaked = [float(min(i, 19 - i)) for i in range(20)]
    make_run(tmp_path, "Reacher-v5", "icnn", 0, rising, budget=1900)
    make_run(tmp_path, "Reacher-v5", "icnn", 1, peaked, budget=5000)  # stopped early
    runs = load_runs(tmp_path)
    assert [r.complete for r in runs] == [True, False]
    row = table(runs).splitlines()[2]
    peaked_smooth = rolling_mean(np.array(peaked))
    max_cell = f"{np.mean([14.5, peaked_smooth.max()]):.2f} ± "
    final_cell = f"{np.mean([14.5, peaked_smooth[-1]]):.2f} ± "
    assert row.startswith("| Reacher-v5 | icnn | 2 (1 partial, last test at 1900) | " + max_cell)
    assert final_cell in row and f"14.5, {peaked_smooth.max():.1f}" in row


def test_throughput_is_the_seed_mean_and_says_when_only_part_of_a_run_was_timed(tmp_path: Path) -> None:
    for seed, metrics in enumerate([
        {"steps": 1900, "timed_steps": 1900, "env_steps_per_second": 10.0},
        {"steps": 1900, "timed_steps": 900, "env_steps_per_second": 20.0},  # resumed without saved timing
    ]):
        make_run(tmp_path, "Reacher-v5", "icnn", seed, [float(i) for i in range(20)], budget=1900)
        (tmp_path / "Reacher-v5" / "icnn" / f"seed{seed}" / "metrics.json").write_text(json.dumps(metrics))
    assert table(load_runs(tmp_path)).splitlines()[2].endswith("| 15.0 (2800 of 3800 steps timed) |")
    (tmp_path / "Reacher-v5" / "icnn" / "seed1" / "metrics.json").unlink()
    assert table(load_runs(tmp_path)).splitlines()[2].endswith("| 10.0 |")


def test_write_report_makes_markdown_and_one_png_per_env(tmp_path: Path) -> None:
    for seed in range(2):
        make_run(
            tmp_path / "runs", "InvertedPendulum-v5", "naf", seed, [float(seed + i) for i in range(12)], 1100
        )
        make_run(tmp_path / "runs", "Reacher-v5", "ddpg", seed, [-float(i) for i in range(12)], 1100)
    path = write_report(tmp_path / "runs", tmp_path / "out")
    text = path.read_text()
    assert "| InvertedPendulum-v5 | naf | 2 |" in text and "| Reacher-v5 | ddpg | 2 |" in text
    assert text.index("## Aggregate verdict") < text.index("| Reacher-v5 | ddpg |") < text.index("![")
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["InvertedPendulum-v5.png", "Reacher-v5.png"]
    for agent in ("icnn", "ddpg"):   # the verdict's figures need icnn and another agent on a common task
        make_run(tmp_path / "shared", "Reacher-v5", agent, 0, [-float(i) for i in range(12)], 1100)
    text = write_report(tmp_path / "shared", tmp_path / "out2", {"Reacher-v5": -43.0}).read_text()
    assert "| icnn | 1 |" in text and "![performance profiles](profiles.png)" in text
    assert {"profiles.png", "iqm.png"} <= {p.name for p in (tmp_path / "out2").glob("*.png")}


def cells(row: str) -> list[str]:
    """The cells of one Markdown table row."""
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def test_paper_columns_give_the_papers_max_and_final_and_a_dash_where_it_has_no_task(tmp_path: Path) -> None:
    make_run(tmp_path, "HalfCheetah-v5", "naf", 0, [float(i) for i in range(12)], budget=1100)
    make_run(tmp_path, "Pendulum-v1", "icnn", 0, [float(i) for i in range(12)], budget=1100)
    lines = table(load_runs(tmp_path)).splitlines()
    header = cells(lines[0])
    paper_max, paper_final = header.index("paper max"), header.index("paper final")
    assert header[paper_max - 1].startswith("max rolling-10") and header[paper_final - 1] == "final rolling-10"
    cheetah, pendulum = cells(lines[2]), cells(lines[3])
    assert cheetah[:2] == ["HalfCheetah-v5", "naf"] and pendulum[:2] == ["Pendulum-v1", "icnn"]
    assert (cheetah[paper_max], cheetah[paper_final]) == ("2575.16", "2269.25")
    assert (pendulum[paper_max], pendulum[paper_final]) == ("–", "–")
    assert paper_cells("Reacher-v5", "icnn") == ("-5.08", "-6.33")
    assert paper_cells("HumanoidStandup-v5", "ddpg") == ("134265.96", "124997.94")
    assert paper_cells("Reacher-v5", "sac") == ("–", "–")
    assert sorted(PAPER_RL) == ["Ant", "HalfCheetah", "Hopper", "Humanoid", "HumanoidStandup",
                                "InvertedDoublePendulum", "InvertedPendulum", "Reacher", "Swimmer", "Walker2d"]
    assert all(sorted(agents) == ["ddpg", "icnn", "naf"] for agents in PAPER_RL.values())


def test_the_verdict_recovers_a_known_ordering_on_the_common_tasks_only(tmp_path: Path) -> None:
    randoms = {"Reacher-v5": -43.0, "Swimmer-v5": 0.0, "Hopper-v5": 18.0, "Ant-v5": -60.0}
    rng = np.random.default_rng(0)
    for env in ("Reacher-v5", "Swimmer-v5", "Hopper-v5"):
        random, reference = randoms[env], reference_score(env)
        for agent, level in (("icnn", 0.9), ("sac", 0.6), ("td3", 0.2)):
            for seed in range(3):   # 12 tests, the last 10 at normalised score level ± noise
                levels = level + 0.02 * rng.standard_normal(10)
                returns = [random, random] + list(random + levels * (reference - random))
                make_run(tmp_path, env, agent, seed, returns, budget=1100)
    make_run(tmp_path, "Ant-v5", "icnn", 0, [1.0] * 12, budget=1100)          # td3 and sac lack Ant
    make_run(tmp_path, "Swimmer-v5", "td3", 3, [1e6] * 12, budget=5000)       # partial: never counted
    comp = comparison(load_runs(tmp_path), randoms)
    assert comp.agents == ("icnn", "sac", "td3")
    assert comp.tasks == ("Hopper-v5", "Reacher-v5", "Swimmer-v5") and comp.left_out == ("Ant-v5",)
    text = verdict_markdown(comp)
    iqm = {line.split(" | ")[0].strip("| "): float(line.split(" | ")[2].split()[0])
           for line in text.split("### at budget")[1].split("### max rolling-10")[0].splitlines() if line.count("[") == 3}
    assert iqm["icnn"] == pytest.approx(0.9, abs=0.03) and iqm["icnn"] > iqm["sac"] > iqm["td3"]
    assert "- against sac: ahead at budget (P(icnn > sac) = 1.00 [1.00, 1.00])" in text
    assert "- against td3: mean above on 3 of 3 tasks; intervals separated on 3 (icnn above) and 0 (icnn below)" in text
    assert "not yet common: Ant-v5" in text


def test_an_agent_behind_and_an_even_match_get_their_verdicts(tmp_path: Path) -> None:
    for seed in range(3):
        make_run(tmp_path, "Reacher-v5", "icnn", seed, [-20.0 + seed] * 12, budget=1100)
        make_run(tmp_path, "Reacher-v5", "ddpg", seed, [-5.0 - seed] * 12, budget=1100)
        make_run(tmp_path, "Reacher-v5", "naf", seed, [-21.0 + 2 * seed] * 12, budget=1100)
    text = verdict_markdown(comparison(load_runs(tmp_path), {"Reacher-v5": -43.0}))
    assert "- against ddpg: behind at budget" in text and "- against naf: no clear difference at budget" in text


def test_without_a_random_return_or_a_shared_task_there_is_no_verdict(tmp_path: Path) -> None:
    make_run(tmp_path, "Reacher-v5", "icnn", 0, [1.0] * 12, budget=1100)
    make_run(tmp_path, "Reacher-v5", "sac", 0, [1.0] * 12, budget=1100)
    assert "No task has finished runs" in verdict_markdown(comparison(load_runs(tmp_path), {}))


def test_settings_name_each_key_where_a_run_differs_from_the_packaged_config(tmp_path: Path) -> None:
    packaged = resolve_config("icnn", "Reacher-v5")
    make_run(tmp_path, "Reacher-v5", "icnn", 0, [0.0] * 12, budget=1100)
    run = {"agent": "icnn", "env": "Reacher-v5", "seed": 0, "steps": 1100, "device": "cpu", **packaged}
    (tmp_path / "Reacher-v5" / "icnn" / "seed0" / "config.yaml").write_text(yaml.safe_dump(run))
    assert settings_section(load_runs(tmp_path)).splitlines()[-1] == "Every run used today's packaged configs."
    # keys added since are not recorded; keys retired since count only at another value than their last
    older = {key: value for key, value in run.items() if key not in ("twin_q", "activation", "l2")}
    retired = {"lr": 0.01, "momentum": 0.9, "prune": False}
    older["act_solver"] = {**{k: v for k, v in run["act_solver"].items() if k != "proximal"}, **retired, "max_iter": 7}
    older["target_solver"] = {**{k: v for k, v in run["target_solver"].items() if k != "proximal"}, **retired,
                              "prune": True}
    make_run(tmp_path, "Reacher-v5", "icnn", 1, [0.0] * 12, budget=1100)
    (tmp_path / "Reacher-v5" / "icnn" / "seed1" / "config.yaml").write_text(yaml.safe_dump({**older, "seed": 1}))
    assert settings_section(load_runs(tmp_path)).splitlines()[-1] == (
        f"- Reacher-v5 icnn, seed 1: act_solver.max_iter 7 (packaged: {packaged['act_solver']['max_iter']}); "
        "act_solver.proximal not recorded (packaged: 3.0); activation not recorded (packaged: leaky_relu); "
        f"l2 not recorded (packaged: {packaged['l2']}); target_solver.proximal not recorded (packaged: 3.0); "
        "target_solver.prune True (no longer a key); twin_q not recorded (packaged: True)")


def test_write_report_without_runs_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no run directories"):
        write_report(tmp_path, tmp_path / "out")


def test_the_report_says_how_many_runs_it_leaves_out_for_too_few_tests(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    make_run(tmp_path, "Reacher-v5", "icnn", 0, [1.0] * 12, budget=1100)
    make_run(tmp_path, "Reacher-v5", "ddpg", 0, [1.0] * 3, budget=1100)   # 3 tests: no rolling mean
    assert report_main([str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert err == "python -m icnn_rl.report: warning: 1 run(s) with fewer than 10 tests left out (no rolling mean yet)\n"
    shutil.rmtree(tmp_path / "Reacher-v5" / "ddpg")
    assert report_main([str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().err == ""


def test_published_records_regenerate_the_same_table_without_checkpoints(tmp_path: Path, rl_results) -> None:
    runs, records = tmp_path / "runs", tmp_path / "records"
    make_run(runs, "Reacher-v5", "icnn", 0, [float(i) for i in range(20)], budget=1900)
    make_run(runs, "Reacher-v5", "ddpg", 0, [float(-i) for i in range(12)], budget=5000)
    (runs / "Reacher-v5" / "icnn" / "seed0" / "metrics.json").write_text(
        json.dumps({"steps": 1900, "timed_steps": 1900, "env_steps_per_second": 42.0}))
    (runs / "Reacher-v5" / "icnn" / "seed0" / "checkpoints").mkdir()
    (runs / "Reacher-v5" / "icnn" / "seed0" / "checkpoints" / "step1000.zip").write_bytes(b"model")
    assert rl_results.publish_records(runs, records) == 2
    assert sorted(p.name for p in records.rglob("*") if p.is_file()) == [
        "config.yaml", "config.yaml", "evaluations.csv", "evaluations.csv", "metrics.json"]
    assert table(load_runs(records)) == table(load_runs(runs))


def test_publishing_skips_a_run_another_process_is_training(tmp_path: Path, rl_results) -> None:
    runs, records = tmp_path / "runs", tmp_path / "records"
    make_run(runs, "Reacher-v5", "icnn", 0, [0.0] * 11, budget=1000)
    make_run(runs, "Reacher-v5", "naf", 0, [0.0] * 5, budget=1000)
    training = runs / "Reacher-v5" / "naf" / "seed0"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(training / LOCK_NAME)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"locked\n"
        assert rl_results.publish_records(runs, records) == 1
        assert not (records / "Reacher-v5" / "naf").exists()
    finally:
        holder.kill()
        holder.wait()
    assert rl_results.publish_records(runs, records) == 2   # stopped: its partial record is published
    assert (records / "Reacher-v5" / "naf" / "seed0" / "evaluations.csv").is_file()


def test_grid_status_counts_finished_seed_0_cells_and_fully_seeded_tasks(tmp_path: Path, rl_results) -> None:
    for agent in AGENTS:
        for seed in (0, 1, 2):
            make_run(tmp_path, "Reacher-v5", agent, seed, [0.0] * 11, budget=1000)
    make_run(tmp_path, "Hopper-v5", "icnn", 0, [0.0] * 11, budget=1000)
    make_run(tmp_path, "Hopper-v5", "naf", 0, [0.0] * 11, budget=5000)   # partial: not finished
    status = rl_results.grid_status(load_runs(tmp_path))
    cells = status.splitlines()[2]
    assert cells.startswith(f"- seed 0 at full budget: {len(AGENTS) + 1} of {10 * len(AGENTS)} cells; "
                            "not yet: Ant-v5 icnn, Ant-v5 naf")
    assert "Hopper-v5 naf" in cells and "Hopper-v5 icnn" not in cells and "Reacher-v5" not in cells
    assert status.splitlines()[3] == f"- seeds 0–2 for all {len(AGENTS)} agents: 1 of 10 tasks (Reacher-v5)"


def test_results_benchmark_runs_seed_0_of_every_cell_cheapest_first_then_the_first_tasks_seeds(
    tmp_path: Path, rl_results
) -> None:
    envs = ["Reacher-v5", "HalfCheetah-v5", "Swimmer-v5"]
    costs = {"Reacher-v5": {"icnn": {"hours": 0.5}, "ddpg": {"hours": 0.1}},
             "HalfCheetah-v5": {"icnn": {"hours": 3.0}, "ddpg": {"hours": 0.4}},
             "Swimmer-v5": {"icnn": {"hours": 2.0}}}   # Swimmer ddpg unmeasured: last, by budget
    specs = rl_results.plan(tmp_path, envs, ["icnn", "ddpg"], [0, 1, 2], "cost", ["HalfCheetah-v5"], costs)
    names = [f"{s.env_id} {s.agent} {s.seed}" for s in specs]
    cheapest_first = ["Reacher-v5 ddpg", "HalfCheetah-v5 ddpg", "Reacher-v5 icnn", "Swimmer-v5 icnn",
                      "HalfCheetah-v5 icnn", "Swimmer-v5 ddpg"]
    assert names == (
        [f"{cell} 0" for cell in cheapest_first]
        + [f"HalfCheetah-v5 {agent} {seed}" for seed in (1, 2) for agent in ("ddpg", "icnn")]
        + [f"{cell} {seed}" for seed in (1, 2) for cell in cheapest_first if not cell.startswith("HalfCheetah")]
    )
    assert all(s.steps == task_for(s.env_id).budget and s.log_dir == tmp_path for s in specs)
    # the earlier benchmark's order: seed by seed, envs and agents as given
    legacy = rl_results.plan(tmp_path, envs[:1], ["icnn", "ddpg"], [0, 1], "seed")
    assert [(s.agent, s.seed) for s in legacy] == [("icnn", 0), ("ddpg", 0), ("icnn", 1), ("ddpg", 1)]
    # a finished run is skipped, a started one resumes
    (specs[0].run_dir).mkdir(parents=True)
    (specs[0].run_dir / "model.zip").write_bytes(b"model")
    (specs[1].run_dir).mkdir(parents=True)
    (specs[1].run_dir / "config.yaml").write_text("agent: ddpg\n")
    todo = unfinished(specs)
    assert todo[0].run_dir == specs[1].run_dir and todo[0].resume
    assert len(todo) == len(specs) - 1 and not any(s.resume for s in todo[1:])
    # a run whose finished record is published is done, even without its run directory (a new machine)
    records = tmp_path / "records"
    (records / specs[2].run_dir.relative_to(tmp_path)).mkdir(parents=True)
    (records / specs[2].run_dir.relative_to(tmp_path) / "metrics.json").write_text("{}")
    (records / specs[3].run_dir.relative_to(tmp_path)).mkdir(parents=True)   # a partial run's record
    (records / specs[3].run_dir.relative_to(tmp_path) / "evaluations.csv").write_text("step,test_return\n")
    assert [rl_results.published(s, tmp_path, records) for s in specs[:4]] == [False, False, True, False]


def test_the_quoted_results_blocks_are_regenerated_from_the_committed_records(tmp_path: Path, rl_results) -> None:
    runs, randoms = load_runs(rl_results.RESULTS), random_returns()
    full, verdict_only = rl_results.quoted_block(rl_results.RESULTS), rl_results.quoted_block(rl_results.RESULTS, False)
    assert full.startswith(results_markdown(runs, randoms, rl_results.BLOCK_LEVEL))
    assert verdict_only.startswith(verdict_markdown(comparison(runs, randoms), rl_results.BLOCK_LEVEL, brief=True))
    for path, is_full in rl_results.QUOTING.items():
        text = path.read_text()
        assert text.count(rl_results.BLOCK_BEGIN) == 1 and text.count(rl_results.BLOCK_END) == 1, path
        block = full if is_full else verdict_only
        assert replace_marked(text, rl_results.BLOCK_BEGIN, rl_results.BLOCK_END, block) == text, (
            f"{path} quotes stale results: run python -m benchmarks.publish.rl_results --publish-only")
    # the writer replaces only what lies between the markers
    doc = tmp_path / "doc.md"
    doc.write_text(f"intro\n{rl_results.BLOCK_BEGIN}\nold\n{rl_results.BLOCK_END}\noutro\n")
    rl_results.write_quoted_results(rl_results.RESULTS, {doc: True})
    assert doc.read_text() == f"intro\n{rl_results.BLOCK_BEGIN}\n{full.rstrip()}\n{rl_results.BLOCK_END}\noutro\n"


def test_dry_run_hours_come_from_the_runs_own_pace_then_the_cells_then_the_scaled_estimate(
    tmp_path: Path, rl_results
) -> None:
    runs, records = tmp_path / "runs", tmp_path / "records"
    budget = task_for("Hopper-v5").budget
    # Hopper icnn: seed 0 finished (published record: 0.04 s per step), seed 1 stopped at a checkpoint;
    # seed 3 finished under an older config at another pace (1 s per step), which no estimate uses
    today = resolve_config("icnn", "Hopper-v5")
    for seed, config, seconds_per_step in ((0, today, 0.04), (3, {**today, "twin_q": False}, 1.0)):
        record = records / "Hopper-v5" / "icnn" / f"seed{seed}"
        record.mkdir(parents=True)
        (record / "config.yaml").write_text(yaml.safe_dump(config))
        (record / "metrics.json").write_text(
            json.dumps({"steps": budget, "timed_steps": budget, "wall_seconds": seconds_per_step * budget}))

    def checkpoint(env: str, step: int, seconds_per_step: float) -> None:
        """A stopped run of icnn seed 1 (today's config: warm-up 1000 steps) with a complete checkpoint
        at ``step``."""
        run_dir = runs / env / "icnn" / "seed1"
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(yaml.safe_dump(resolve_config("icnn", env)))
        timing = {"timed_steps": step, "wall_seconds": seconds_per_step * step}
        for suffix, content in ((".zip", "model"), (".buffer.pkl", "buffer"), (".timing.json", json.dumps(timing))):
            (run_dir / "checkpoints" / f"step{step}{suffix}").write_text(content)

    for step in (20000, 40000):   # the newest complete checkpoint counts
        checkpoint("Hopper-v5", step, 0.018)
    # Ant icnn seed 1 stopped inside its first warm-ups (random actions, 0.002 s per step): too early
    # for a pace, for itself or for seed 2, so the cell's fresh-model estimate prices both
    checkpoint("Ant-v5", 1063, 0.002)
    costs = {"Hopper-v5": {"icnn": {"hours": 0.5}}, "Swimmer-v5": {"icnn": {"hours": 0.25}},
             "Ant-v5": {"ddpg": {"hours": 0.3}, "icnn": {"hours": 2.0}}}
    specs = unfinished(rl_results.plan(runs, ["Hopper-v5", "Swimmer-v5", "Ant-v5", "Walker2d-v5"],
                                       ["icnn", "ddpg"], [1, 2], "seed"))
    lines = rl_results.plan_text(specs, costs, records).splitlines()
    assert lines[0] == "Hopper-v5/icnn/seed1 (resume): 0.3 CPU h (its own pace up to step 40000)"   # 60k × 0.018 s
    assert lines[1] == "Hopper-v5/ddpg/seed1: no estimate"
    # Hopper icnn's median pace (0.029 s) gives 0.81 h per run against its estimate of 0.5 h: ratio 1.6
    assert lines[2] == ("Swimmer-v5/icnn/seed1: 0.4 CPU h (fresh-model estimate × 1.6, the median ratio of "
                        "icnn's measured cells)")
    assert lines[5] == "Ant-v5/ddpg/seed1: 0.3 CPU h (fresh-model estimate)"
    seed2 = next(line for line in lines if line.startswith("Hopper-v5/icnn/seed2"))
    assert seed2 == "Hopper-v5/icnn/seed2: 0.8 CPU h (median pace of the cell's 2 other seed(s))"
    ant = [line for line in lines if line.startswith("Ant-v5/icnn")]
    estimate = "3.2 CPU h (fresh-model estimate × 1.6, the median ratio of icnn's measured cells)"
    assert ant == [f"Ant-v5/icnn/seed1 (resume): {estimate}", f"Ant-v5/icnn/seed2: {estimate}"]
    assert lines[-1] == f"{len(specs)} runs, about 9.0 CPU hours (8 without an estimate)"


def test_a_record_of_an_older_config_is_trained_again_and_never_overwrites_todays(tmp_path: Path, rl_results) -> None:
    runs, records = tmp_path / "runs", tmp_path / "records"
    today = resolve_config("icnn", "Hopper-v5")
    older = {**today, "act_solver": {**today["act_solver"], "proximal": 0.0}}

    def write_run(root: Path, seed: int, config: dict, finished: bool = True) -> Path:
        run_dir = root / "Hopper-v5" / "icnn" / f"seed{seed}"
        run_dir.mkdir(parents=True)
        (run_dir / "config.yaml").write_text(yaml.safe_dump({**config, "steps": 1000}))
        write_evaluations(run_dir / "evaluations.csv", [(100 * i, float(seed)) for i in range(11)])
        if finished:
            (run_dir / "metrics.json").write_text("{}")
        return run_dir

    write_run(records, 0, older)       # published with an older config, no run directory here
    write_run(records, 1, today)       # published with today's config
    write_run(records, 2, older)       # older config, and its finished run directory is still here
    (write_run(runs, 2, older) / "model.zip").write_bytes(b"model")
    specs = rl_results.plan(runs, ["Hopper-v5"], ["icnn"], [0, 1, 2], "seed")
    assert [rl_results.published(s, runs, records) for s in specs] == [False, True, False]
    retrained, blocked = rl_results.outdated(specs, runs, records)
    assert [s.seed for s in retrained] == [0] and [s.seed for s in blocked] == [2]
    text = rl_results.outdated_text(specs, runs, records)
    assert "Hopper-v5/icnn/seed0" in text.splitlines()[0] and "move it aside" in text.splitlines()[1]
    # a run of an older config does not overwrite today's finished record; one of today's replaces an older
    write_run(runs, 1, older)
    write_run(runs, 0, today)
    before = (records / "Hopper-v5" / "icnn" / "seed1" / "evaluations.csv").read_text()
    assert rl_results.publish_records(runs, records) == 2   # seeds 0 and 2
    assert (records / "Hopper-v5" / "icnn" / "seed1" / "evaluations.csv").read_text() == before
    assert rl_results.published(specs[0], runs, records)
    # an interrupted re-training leaves the older config's finished record as it was, until it finishes
    shutil.rmtree(runs / "Hopper-v5" / "icnn" / "seed2")
    write_run(runs, 2, today, finished=False)
    kept = [(records / "Hopper-v5" / "icnn" / "seed2" / name).read_text() for name in rl_results.RECORDS]
    assert rl_results.publish_records(runs, records) == 1   # seed 0 again (seed 1 is older than its record)
    assert [(records / "Hopper-v5" / "icnn" / "seed2" / name).read_text() for name in rl_results.RECORDS] == kept
    assert not rl_results.published(specs[2], runs, records)


def test_a_run_prints_its_plan_before_training_and_a_dry_run_only_the_plan(
    tmp_path: Path, rl_results, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    trained: list[list[str]] = []

    def fake_grid(specs, backend, workers, address, finished):
        trained.append([f"{s.env_id}/{s.agent}/seed{s.seed}" for s in specs])
        print("training", flush=True)
        return []

    monkeypatch.setattr(rl_results, "run_grid", fake_grid)
    base = ["rl_results", "--log-dir", str(tmp_path / "runs"), "--records", str(tmp_path / "records"),
            "--envs", "Reacher-v5", "--agents", "ddpg", "naf", "--seeds", "0", "--order", "seed"]
    monkeypatch.setattr(sys, "argv", [*base, "--dry-run"])
    rl_results.main()
    plan = capsys.readouterr().out
    assert trained == [] and plan.splitlines()[-1].startswith("2 runs, about")
    monkeypatch.setattr(sys, "argv", base)
    rl_results.main()
    out = capsys.readouterr().out
    assert out.startswith(plan + "training\n")
    assert trained == [["Reacher-v5/ddpg/seed0", "Reacher-v5/naf/seed0"]]
