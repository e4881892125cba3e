"""The random search's published records (``python -m icnn_rl.search``, the ICNN paper's protocol):

    python -m benchmarks.publish.search_results --log-dir runs/search --env Reacher-v5 --samples 8
    python -m benchmarks.publish.search_results --publish-only --env Reacher-v5 --samples 8   # from results/search

copies ``samples.yaml`` and the small records of every trial under ``--log-dir`` (``config.yaml``,
``evaluations.csv``, ``metrics.json``; no checkpoints, no Ray Tune state) to ``results/search``, then
rewrites ``results/search/search.md`` from those records (``icnn_rl.search --report-only``) and the
marked search block of docs/rl_results.md (that report's summary table: both statistics per task and agent).
``--publish-only`` skips the copy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.publish.rl_results import REPO, publish_records
from icnn_rl import search
from icnn_rl.cli import replace_marked, write_text_atomic

RESULTS = REPO / "results" / "search"
QUOTING = REPO / "docs" / "rl_results.md"   # the document holding the marked search block
BLOCK_BEGIN = "<!-- random search: generated from results/search by `python -m benchmarks.publish.search_results --publish-only` -->"
BLOCK_END = "<!-- end of random search -->"


def publish_search(log_dir: Path, records: Path) -> int:
    """Copy ``samples.yaml`` and every sample's trial records from ``log_dir`` to ``records``;
    returns how many runs were copied."""
    records.mkdir(parents=True, exist_ok=True)
    write_text_atomic(records / "samples.yaml", (log_dir / "samples.yaml").read_text())
    return sum(publish_records(sample, records / sample.name) for sample in sorted(log_dir.glob("sample[0-9]*")))


def summary_table(report: str) -> str:
    """The first table of a ``search.md`` (both statistics per task and agent)."""
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| env |"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return "\n".join(lines[start:end]) + "\n"


def write_quoted_search(records: Path, readme: Path = QUOTING) -> None:
    """Rewrite the marked block of ``readme`` (default: docs/rl_results.md) with the summary table of ``records/search.md``."""
    block = summary_table((records / "search.md").read_text())
    write_text_atomic(readme, replace_marked(readme.read_text(), BLOCK_BEGIN, BLOCK_END, block))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log-dir", type=Path, default=Path("runs/search"), help="the search's --log-dir")
    parser.add_argument("--env", nargs="+", default=["Reacher-v5"], help="the search's tasks")
    parser.add_argument("--samples", type=int, required=True, help="the search's samples per task")
    parser.add_argument("--records", type=Path, default=RESULTS, help="default: the repository's results/search")
    parser.add_argument("--publish-only", action="store_true", help="rewrite the reports from --records only")
    args = parser.parse_args()
    if not args.publish_only:
        print(f"{publish_search(args.log_dir, args.records)} runs' records copied to {args.records}")
    code = search.main(["--env", *args.env, "--samples", str(args.samples), "--log-dir", str(args.records),
                        "--report-only"])
    if code:
        raise SystemExit(code)
    if args.records.resolve() == RESULTS:
        write_quoted_search(args.records)


if __name__ == "__main__":
    main()
