"""The supervised results of the README and docs/supervised.md, from one command.

    python -m benchmarks.publish.supervised_results run [--runs ~/runs/supervised] [--seeds 3] [--only NAME ...]
    python -m benchmarks.publish.supervised_results table [--out docs/supervised_results.md]

``run`` goes through PLAN method by method (cheapest first). A method with several candidate settings
(regularisation options) trains each on seed 0 at the full schedule, keeps the one with the best
*validation* score, and trains that one on seeds 1, 2, ... Every run is one command
``python -m icnn_rl.supervised.<experiment> --run-dir RUNS/<experiment>/<method>/<setting>/seed<k>
--set 'methods=[<method>]' --set seed=<k> [--set ...]``; a run whose ``results.json`` or committed
record exists is skipped and an interrupted one resumes from its checkpoint, so repeating the command
continues where it stopped, on this machine or a new one. Each finished run's ``results.json``
(metrics, wall time, git commit, resolved config) is copied to
``results/supervised/<experiment>/<method>/<setting>/seed<k>.json`` in the repository, and the tables
(docs/supervised_results.md, and a summary in the README's marked block) are rewritten from those records.

``table`` writes the tables from the records alone: mean ± 95 % confidence half-width (Student t)
over seeds, the paper's number beside each (Amos, Xu, Kolter 2017, Tables 1 and 2), the validation
scores behind each choice of setting, and the commands.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scipy import stats

from icnn_rl.cli import replace_marked, write_text_atomic

REPO = Path(__file__).resolve().parents[2]
RECORDS = REPO / "results" / "supervised"
DOC = REPO / "docs" / "supervised_results.md"
README = REPO / "README.md"
DRIVER = "python -m benchmarks.publish.supervised_results run"
SELECTION_SEED = 0  # candidate settings are compared on this seed's validation scores


@dataclass(frozen=True)
class Setting:
    """A candidate setting of a method: a name and its ``--set`` overrides."""

    name: str
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One method of one experiment, its candidate settings, and how its validation score reads.
    ``same_as``: train with the setting chosen for that method of the experiment instead."""

    experiment: str
    method: str
    settings: tuple[Setting, ...] = (Setting("paper"),)
    same_as: str = ""


PAPER = Setting("paper")
COSINE = Setting("cosine", ("lr_schedule=cosine",))
# Weight decay candidates: the summed-BCE gradients of picnn_bundle are ~2400x those of the mean-MSE
# loss of picnn_unrolled at initialisation, so λ = 1 there is matched by about 3e-4 here.
PLAN = (
    Entry("multilabel", "ff"),
    Entry("multilabel", "picnn_bundle", (PAPER, Setting("wd1", ("picnn_bundle.weight_decay=1",)),
                                         Setting("wd3", ("picnn_bundle.weight_decay=3",)),
                                         Setting("wd10", ("picnn_bundle.weight_decay=10",)))),
    Entry("multilabel", "picnn_unrolled", (PAPER, Setting("wd3e-4", ("picnn_unrolled.weight_decay=0.0003",)))),
    Entry("completion", "unrolled", (PAPER, COSINE)),
    Entry("completion", "nonconvex", same_as="unrolled"),
    # A bundle-entropy Olivetti run costs ~33 min of a core (unrolled: ~11), so bundle entropy takes the
    # unrolled PICNN's choice (same network, data and schedule) instead of its own candidates.
    Entry("completion", "bundle", same_as="unrolled"),
)
# Validation score of each experiment (larger is better when True) and the test metric beside it.
SCORES = {"multilabel": ("val_example_f1", True), "completion": ("val_mse", False)}
PAPER_NUMBERS = {
    ("multilabel", "ff"): "0.396",
    ("multilabel", "picnn_unrolled"): "0.415 (ICNN)",
    ("multilabel", "picnn_bundle"): "– (0.415 is the unrolled PICNN's)",
    ("completion", "bundle"): "833.0",
    ("completion", "unrolled"): "872.0",
    ("completion", "nonconvex"): "850.9",
}
METHOD_NAMES = {
    "ff": "feed-forward baseline",
    "picnn_unrolled": "PICNN, unrolled inference (30 steps)",
    "picnn_bundle": "PICNN, bundle entropy",
    "unrolled": "conv PICNN, unrolled inference (30 steps)",
    "nonconvex": "non-convex, same network and inference",
    "bundle": "conv PICNN, bundle entropy",
}


# ------------------------------------------------------------------------------------------ records
def record_path(root: Path, experiment: str, method: str, setting: str, seed: int) -> Path:
    return root / experiment / method / setting / f"seed{seed}.json"


def load_records(root: Path) -> dict[tuple[str, str, str], dict[int, dict]]:
    """(experiment, method, setting) -> {seed: that run's results.json}."""
    out: dict[tuple[str, str, str], dict[int, dict]] = {}
    for path in sorted(root.glob("*/*/*/seed*.json")):
        experiment, method, setting = path.parts[-4:-1]
        out.setdefault((experiment, method, setting), {})[int(path.stem[4:])] = json.loads(path.read_text())
    return out


def method_metrics(record: dict, method: str) -> dict:
    return record["methods"][method]


def choose(entry: Entry, scores: dict[str, float]) -> str:
    """The setting with the best validation score (ties: the earlier in PLAN, i.e. the paper's)."""
    _, larger = SCORES[entry.experiment]
    order = [s.name for s in entry.settings if s.name in scores]
    return max(order, key=lambda name: scores[name] if larger else -scores[name])


def selection_scores(entry: Entry, records: dict) -> dict[str, float]:
    """Validation score of each candidate setting on SELECTION_SEED (those that have finished)."""
    key, _ = SCORES[entry.experiment]
    found = {}
    for setting in entry.settings:
        record = records.get((entry.experiment, entry.method, setting.name), {}).get(SELECTION_SEED)
        if record is not None:
            found[setting.name] = method_metrics(record, entry.method)[key]
    return found


def entry_of(experiment: str, method: str) -> Entry:
    return next(e for e in PLAN if (e.experiment, e.method) == (experiment, method))


def chosen_setting(entry: Entry, records: dict) -> Setting | None:
    """The setting `entry` trains on every seed; None while candidates are unfinished."""
    if entry.same_as:
        return chosen_setting(entry_of(entry.experiment, entry.same_as), records)
    if len(entry.settings) == 1:
        return entry.settings[0]
    scores = selection_scores(entry, records)
    if len(scores) < len(entry.settings):
        return None
    name = choose(entry, scores)
    return next(s for s in entry.settings if s.name == name)


# --------------------------------------------------------------------------------------------- runs
def command(entry: Entry, setting: Setting, seed: int, run_dir: Path | None = None) -> list[str]:
    cmd = ["python", "-m", f"icnn_rl.supervised.{entry.experiment}"]
    if run_dir is not None:
        cmd += ["--run-dir", str(run_dir)]
    cmd += ["--set", f"methods=[{entry.method}]", "--set", f"seed={seed}"]
    for item in setting.overrides:
        cmd += ["--set", item]
    return cmd


def run_one(entry: Entry, setting: Setting, seed: int, runs: Path, records: Path, log: Path) -> bool:
    """Run (or resume, or skip when finished) one method × setting × seed; copy its record. A run is
    finished when its run directory holds ``results.json`` or the repository already holds its record
    (a new machine has the committed records but not the run directories). False when the command
    failed."""
    run_dir = runs / entry.experiment / entry.method / setting.name / f"seed{seed}"
    results = run_dir / "results.json"
    target = record_path(records, entry.experiment, entry.method, setting.name, seed)
    if not results.is_file():
        if target.is_file():
            return True
        cmd = command(entry, setting, seed, run_dir)
        cmd[0] = sys.executable
        print(f"[{time.strftime('%H:%M:%S')}] {' '.join(cmd[1:])}", flush=True)
        with open(log, "a", encoding="utf-8") as fh:
            done = subprocess.run(cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0 or not results.is_file():
            print(f"  failed (exit {done.returncode}); see {log}", flush=True)
            return False
        seconds = method_metrics(json.loads(results.read_text()), entry.method)["train_seconds"]
        print(f"  done: {seconds / 60:.1f} min of training", flush=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(results, target)
    return True


def run_all(runs: Path, records: Path, seeds: int, only: Sequence[str], out: Path,
            readme: Path | None = None) -> int:
    """Go through PLAN (seeds 0 .. seeds-1), rewriting the tables after each method; returns the
    number of failed runs."""
    runs.mkdir(parents=True, exist_ok=True)
    log = runs / "commands.log"
    failures = 0
    for entry in PLAN:
        if only and entry.method not in only and entry.experiment not in only:
            continue
        if not entry.same_as and len(entry.settings) > 1:
            for setting in entry.settings:
                failures += not run_one(entry, setting, SELECTION_SEED, runs, records, log)
        setting = chosen_setting(entry, load_records(records))
        if setting is None:
            print(f"{entry.experiment}/{entry.method}: candidates unfinished; skipped", flush=True)
            continue
        for seed in range(seeds):
            failures += not run_one(entry, setting, seed, runs, records, log)
        write_tables(records, out, readme)
    return failures


# ------------------------------------------------------------------------------------------- tables
def mean_ci(values: Sequence[float]) -> tuple[float, float]:
    """Mean and 95 % confidence half-width t_{0.975, n-1}·s/√n (nan for one value)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, math.nan
    return mean, stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))


def cell(values: Sequence[float], decimals: int) -> str:
    if not values:
        return "–"
    mean, half = mean_ci(values)
    return f"{mean:.{decimals}f}" if math.isnan(half) else f"{mean:.{decimals}f} ± {half:.{decimals}f}"


COLUMNS = {
    "multilabel": (
        ("test example-F1 @0.5", "test_example_f1", 3),
        ("test example-F1 @val-best threshold", "test_example_f1_tuned", 3),
        ("val example-F1 @0.5", "val_example_f1", 3),
        ("certified share (test)", "test_certified", 2),
    ),
    "completion": (
        ("test MSE", "test_mse", 1),
        ("val MSE", "val_mse", 1),
        ("certified share (test)", "test_certified", 2),
    ),
}
TITLES = {
    "multilabel": "Bibtex multi-label classification (example-averaged F1, the paper's \"macro-F1\")",
    "completion": "Olivetti left-half completion (per-pixel MSE on the 0–255 scale)",
}


def results_table(experiment: str, records: dict) -> list[str]:
    """One row per method (its chosen setting, over seeds)."""
    header = ["method", "setting", "seeds", *(c[0] for c in COLUMNS[experiment]), "paper", "minutes per run"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for entry in PLAN:
        if entry.experiment != experiment:
            continue
        setting = chosen_setting(entry, records)
        runs = records.get((experiment, entry.method, setting.name), {}) if setting else {}
        rows = [method_metrics(r, entry.method) for _, r in sorted(runs.items())]
        cells = [cell([r[key] for r in rows if key in r], decimals) for _, key, decimals in COLUMNS[experiment]]
        minutes = cell([r["train_seconds"] / 60 for r in rows], 1)
        name = setting.name if setting else "(candidates not finished)"
        lines.append("| " + " | ".join([METHOD_NAMES[entry.method], name, str(len(rows)), *cells,
                                        PAPER_NUMBERS[experiment, entry.method], minutes]) + " |")
    return lines


def selection_table(records: dict) -> list[str]:
    """Validation score of every candidate setting on SELECTION_SEED, and the one chosen."""
    lines = [f"| experiment | method | setting | overrides | validation score (seed {SELECTION_SEED}) | chosen |",
             "|---|---|---|---|---|---|"]
    for entry in PLAN:
        if len(entry.settings) < 2:
            continue
        scores = selection_scores(entry, records)
        chosen = chosen_setting(entry, records)
        key, _ = SCORES[entry.experiment]
        for setting in entry.settings:
            score = f"{scores[setting.name]:.4g}" if setting.name in scores else "not finished"
            mark = "yes" if chosen is not None and chosen.name == setting.name else ""
            lines.append(f"| {entry.experiment} | {entry.method} | {setting.name} | "
                         f"`{' '.join(setting.overrides) or f'configs/{entry.experiment}.yaml'}` | {key} {score} | {mark} |")
    return lines


def commands_block(records: dict) -> list[str]:
    """The driver, and the command of each method's chosen setting (K = 0, 1, 2)."""
    lines = ["```", f"{DRIVER}    # every run below, resumable"]
    for entry in PLAN:
        setting = chosen_setting(entry, records) or entry.settings[0]
        lines.append(" ".join(command(entry, setting, 0)).replace("seed=0", "seed=K")
                     .replace(f"methods=[{entry.method}]", f"'methods=[{entry.method}]'"))
    return [*lines, "```"]


def render(records: dict) -> str:
    """The markdown tables of docs/supervised_results.md from the records."""
    commits = sorted({r["commit"] for runs in records.values() for r in runs.values()})
    intro = ("Mean ± 95 % confidence half-width (Student t) over the seeds; one value when one seed has "
             "finished. Each method trains with the setting chosen on validation (below); *minutes per "
             "run* is training wall time on the shared 2-core CPU (one torch thread, `nice`).")
    parts = ["<!-- generated by `python -m benchmarks.publish.supervised_results table`; do not edit -->",
             "# Supervised results", "", intro, ""]
    for experiment in ("multilabel", "completion"):
        parts += [f"## {TITLES[experiment]}", "", *results_table(experiment, records), ""]
    parts += ["## Settings chosen on validation", "", *selection_table(records), "",
              "## Commands", "", *commands_block(records), "",
              (f"Records: `results/supervised/` (code commits {', '.join(c[:12] + c[40:] for c in commits) or '–'}; "
               "+dirty: with uncommitted changes).")]
    return "\n".join(parts) + "\n"


README_BEGIN = "<!-- supervised results: generated by `python -m benchmarks.publish.supervised_results table` -->"
README_END = "<!-- end of supervised results -->"


def readme_summary(records: dict) -> str:
    """The README's short version: the headline test metric of each method beside the paper's."""
    lines = ["| experiment | method | setting | seeds | test (mean ± 95 % CI) | paper |", "|---|---|---|---|---|---|"]
    for entry in PLAN:
        setting = chosen_setting(entry, records)
        runs = records.get((entry.experiment, entry.method, setting.name), {}) if setting else {}
        _, key, decimals = COLUMNS[entry.experiment][0]
        values = [method_metrics(r, entry.method)[key] for _, r in sorted(runs.items())]
        experiment = "Bibtex example-F1 @0.5" if entry.experiment == "multilabel" else "Olivetti MSE"
        lines.append(f"| {experiment} | {METHOD_NAMES[entry.method]} | {setting.name if setting else '–'} | "
                     f"{len(values)} | {cell(values, decimals)} | {PAPER_NUMBERS[entry.experiment, entry.method]} |")
    return "\n".join(lines)


def write_tables(records: Path, out: Path, readme: Path | None = None) -> str:
    """Write the tables to `out` and the summary into `readme`'s marked block; returns the tables."""
    loaded = load_records(records)
    text = render(loaded)
    write_text_atomic(out, text)
    if readme is not None and readme.is_file():
        write_text_atomic(readme, replace_marked(readme.read_text(), README_BEGIN, README_END, readme_summary(loaded)))
    return text


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="run or resume every method × seed, then write the tables")
    run.add_argument("--runs", type=Path, default=Path.home() / "runs" / "supervised")
    run.add_argument("--seeds", type=int, default=3, help="seeds 0 .. SEEDS-1 (default 3)")
    run.add_argument("--only", nargs="*", default=[], help="experiments or methods to run (default: all)")
    table = sub.add_parser("table", help="write the tables from the committed records")
    for p in (run, table):
        p.add_argument("--records", type=Path, default=RECORDS, help="per-run records (results.json copies)")
        p.add_argument("--out", type=Path, default=DOC, help="markdown file the tables are written to")
        p.add_argument("--readme", type=Path, default=README, help="file whose marked block gets the summary")
    args = parser.parse_args(argv)
    if args.action == "run":
        failures = run_all(args.runs, args.records, args.seeds, args.only, args.out, args.readme)
        print(write_tables(args.records, args.out, args.readme))
        raise SystemExit(1 if failures else 0)
    print(write_tables(args.records, args.out, args.readme))


if __name__ == "__main__":
    main()
