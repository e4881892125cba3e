"""The random search's space (configs/search.yaml): its samples are the original's, and each maps
onto config keys every agent accepts. The search itself runs on Ray: tests/test_rl_ray.py."""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from icnn_rl import search
from icnn_rl.agents import AGENTS
from icnn_rl.cli import ConfigError
from icnn_rl.rl.config import resolve_config
from icnn_rl.rl.search import agent_keys, draw_samples, load_space

ROOT = Path(__file__).resolve().parents[1]


def original_samples(count: int) -> list[dict]:
    """The draws of locuslab/icnn RL/run-exp.random-search.py, spelled out call by call."""
    rng = np.random.RandomState(0)
    samples = []
    for _ in range(count):
        l1 = rng.randint(100, 600)
        sample = {"l1size": l1, "l2size": rng.randint(100, l1)}
        for name, low, high in (("reward_k", -4, 1), ("l2norm", -10, -2), ("pl2norm", -10, -2),
                                ("rate", -4, -1), ("prate", -4, -1)):
            sample[name] = 10.0 ** rng.uniform(low, high)
        sample["outheta"] = max(1e-8, rng.normal(0.15, 0.1))
        sample["ousigma"] = max(1e-8, rng.normal(0.1, 0.05))
        sample["lrelu"] = 10.0 ** rng.uniform(-4, -1)
        sample["naf_bn"] = bool(rng.binomial(1, 0.5))
        sample["icnn_bn"] = bool(rng.binomial(1, 0.25))
        for name, floor in (("l2norm", 1e-8), ("pl2norm", 1e-8), ("lrelu", 1e-3)):
            if sample[name] < floor:
                sample[name] = 0.0
        samples.append(sample)
    return samples


def test_samples_are_the_originals_and_do_not_depend_on_their_number() -> None:
    space = load_space()
    assert (space.seed, space.samples) == (0, 50)
    drawn = draw_samples(space, 50)
    assert drawn == original_samples(50)
    assert draw_samples(space, 3) == drawn[:3]
    assert any(s["l2norm"] == 0.0 for s in drawn) and any(s["lrelu"] == 0.0 for s in drawn)


def test_one_sample_sets_the_same_shared_keys_for_every_agent_and_each_agents_own() -> None:
    space = load_space()
    sample = draw_samples(space, 1)[0]
    keys = {agent: agent_keys(space, sample, agent) for agent in AGENTS}
    shared = {"hidden": [sample["l1size"], sample["l2size"]], "reward_scale": sample["reward_k"],
              "learning_rate": sample["rate"], "noise_theta": sample["outheta"], "noise_sigma": sample["ousigma"]}
    assert keys["ddpg"] == shared
    assert keys["icnn"] == {**shared, "l2": 5e-4 * sample["l2norm"], "negative_slope": sample["lrelu"],
                            "batch_norm": sample["icnn_bn"]}
    assert keys["naf"] == {**shared, "l2": 0.5 * sample["l2norm"], "batch_norm": sample["naf_bn"]}


@pytest.mark.parametrize("agent", list(AGENTS))
def test_every_sample_of_the_search_is_a_valid_config(agent: str) -> None:
    space = load_space()
    for k, sample in enumerate(draw_samples(space, space.samples)):
        config = resolve_config(agent, "Hopper-v5", sample=(f"sample {k}", agent_keys(space, sample, agent)))
        assert config["hidden"] == [sample["l1size"], sample["l2size"]]


def test_a_space_with_an_unknown_distribution_or_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text("seed: 0\nsamples: 2\nspace:\n  a: {uniform: [0, 1]}\nkeys: {}\n")
    with pytest.raises(ConfigError, match="a needs exactly one distribution of randint, log10_uniform"):
        load_space(path)
    path.write_text("seed: 0\nsamples: 2\nspace:\n  a: {bernoulli: 0.5}\nkeys:\n  all: {batch_norm: b}\n")
    with pytest.raises(ConfigError, match=r"keys.all.batch_norm names \['b'\], not keys of `space`"):
        load_space(path)


def test_without_ray_the_search_is_one_line_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    assert search.main(["--samples", "2", "--log-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'Ray is not installed; install the optional extra: pip install "icnn-rl[ray]"' in err
    assert not any(tmp_path.iterdir())


def test_the_published_search_report_and_readme_block_regenerate_from_the_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))   # the benchmarks import each other from the repository root
    search_results = importlib.import_module("benchmarks.publish.search_results")
    records = search_results.RESULTS
    count = len(yaml.safe_load((records / "samples.yaml").read_text()))
    envs = sorted({path.name for path in records.glob("sample*/*") if path.is_dir()})
    copy = tmp_path / "search"
    shutil.copytree(records, copy, ignore=shutil.ignore_patterns("search.md"))
    assert search.main(["--env", *envs, "--samples", str(count), "--log-dir", str(copy), "--report-only"]) == 0
    report = (copy / "search.md").read_text()
    assert report == (records / "search.md").read_text(), (
        "results/search/search.md is stale: run python -m benchmarks.publish.search_results --publish-only")
    readme = search_results.QUOTING.read_text()
    assert readme.count(search_results.BLOCK_BEGIN) == 1 and readme.count(search_results.BLOCK_END) == 1
    block = search_results.summary_table(report)
    assert block.startswith("| env | agent |") and f"\n{block}" in readme


def test_a_report_without_records_is_one_line_naming_the_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    missing = tmp_path / "none"
    assert search.main(["--samples", "2", "--log-dir", str(missing), "--report-only"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--report-only reads the runs under --log-dir, and {missing} is not a directory" in err
    assert not missing.exists()
