"""The ICNN paper's random search (locuslab/icnn ``RL/run-exp.random-search.py`` and
``RL/analyze.random-search.py``): its search space (``configs/search.yaml``), the samples drawn
from it, their mapping onto our config keys, trials as Ray Tune trials, and both statistics.

A trial is a normal run directory, ``<root>/sample<k>/<env>/<agent>/seed<s>/``, so every
``sample<k>`` folder is a runs directory that ``icnn_rl.report`` reads.

- The paper's statistic: per task and agent, the best over the samples (seed 0) of the maximum of
  the rolling mean over 10 tests; a run with fewer than 11 tests, a NaN test or an unfinished run
  (no ``model.zip``: diverged or interrupted) does not count, as in the original's analysis.
- The honest one: that best sample re-run on fresh seeds, mean ± 95 % CI of the same per-run statistic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from icnn_rl.cli import ConfigError, config_path, load_yaml
from icnn_rl.rl.grid import RunOutcome, attempt, import_ray
from icnn_rl.rl.records import WINDOW, load_run, rolling_mean
from icnn_rl.rl.run import RunSpec

SEARCH = "search"  # configs/search.yaml
DISTRIBUTIONS = ("randint", "log10_uniform", "normal", "bernoulli")


@dataclass(frozen=True)
class SearchSpace:
    """The sampled keys with their distributions (in drawing order), the seed, the default number
    of samples, and per agent the config keys each sample sets (see ``configs/search.yaml``)."""

    seed: int
    samples: int
    space: dict[str, dict[str, Any]]
    keys: dict[str, dict[str, Any]]


def load_space(path: Path | None = None) -> SearchSpace:
    """``configs/search.yaml`` (or ``path``), checked: known distributions, mapped names that exist."""
    path = path or config_path(SEARCH)
    data = load_yaml(path)
    missing = {"seed", "samples", "space", "keys"} - set(data)
    if missing:
        raise ConfigError(f"{path}: missing {', '.join(sorted(missing))}; it needs seed, samples, space and keys")
    for name, spec in data["space"].items():
        kinds = [kind for kind in DISTRIBUTIONS if kind in (spec or {})]
        if len(kinds) != 1:
            raise ConfigError(f"{path}: {name} needs exactly one distribution of {', '.join(DISTRIBUTIONS)}")
    for agent, mapping in data["keys"].items():
        for key, source in (mapping or {}).items():
            names = source if isinstance(source, list) else [source["key"] if isinstance(source, dict) else source]
            unknown = [name for name in names if name not in data["space"]]
            if unknown:
                raise ConfigError(f"{path}: keys.{agent}.{key} names {unknown}, not keys of `space`")
    return SearchSpace(int(data["seed"]), int(data["samples"]), data["space"], data["keys"])


def _draw(rng: np.random.RandomState, spec: dict[str, Any], drawn: dict[str, Any]) -> Any:
    """One value of the distribution ``spec`` (bounds may name values ``drawn`` before)."""
    if "randint" in spec:
        low, high = (drawn[b] if isinstance(b, str) else b for b in spec["randint"])
        return int(rng.randint(low, high))
    if "log10_uniform" in spec:
        value = 10.0 ** rng.uniform(*spec["log10_uniform"])
        return 0.0 if value < spec.get("zero_below", 0.0) else float(value)
    if "normal" in spec:
        return float(max(spec.get("min", -np.inf), rng.normal(*spec["normal"])))
    return bool(rng.binomial(1, spec["bernoulli"]))


def draw_samples(space: SearchSpace, count: int) -> list[dict[str, Any]]:
    """The first ``count`` samples: one RandomState seeded with ``space.seed``, every sample drawing
    the keys in their order, so sample k does not depend on ``count``."""
    rng = np.random.RandomState(space.seed)
    samples = []
    for _ in range(count):
        drawn: dict[str, Any] = {}
        for name, spec in space.space.items():
            drawn[name] = _draw(rng, spec, drawn)
        samples.append(drawn)
    return samples


def agent_keys(space: SearchSpace, sample: dict[str, Any], agent: str) -> dict[str, Any]:
    """Our config keys that ``sample`` sets for ``agent`` (``keys.all``, then ``keys.<agent>``)."""
    out = {}
    for key, source in {**space.keys.get("all", {}), **(space.keys.get(agent) or {})}.items():
        if isinstance(source, list):
            out[key] = [sample[name] for name in source]
        elif isinstance(source, dict):
            out[key] = sample[source["key"]] * source["times"]
        else:
            out[key] = sample[source]
    return out


def sample_dir(root: Path, k: int) -> Path:
    """The runs directory of sample ``k``."""
    return root / f"sample{k:03d}"


def max_rolling(run_dir: Path) -> float | None:
    """The paper's per-run statistic (max of the rolling mean over 10 tests) of a run tested at its
    full budget, with more than 10 tests and no NaN; None otherwise. Reads only the run's records
    (``config.yaml``, ``evaluations.csv``), so a copy of those reports the same."""
    run = load_run(run_dir)
    if run is None or not run.complete or len(run.returns) <= WINDOW or np.isnan(run.returns).any():
        return None
    return float(rolling_mean(run.returns).max())


def best_sample(root: Path, count: int, env_id: str, agent: str) -> tuple[int, float] | None:
    """The sample (and its statistic) with the best seed-0 run of ``agent`` on ``env_id``."""
    scores = [(max_rolling(sample_dir(root, k) / env_id / agent / "seed0"), k) for k in range(count)]
    scored = [(score, k) for score, k in scores if score is not None]
    if not scored:
        return None
    score, k = max(scored, key=lambda pair: (pair[0], -pair[1]))
    return k, score


def fresh_seed_statistic(root: Path, k: int, env_id: str, agent: str, seeds: Sequence[int]) -> list[float]:
    """The per-run statistic of the re-runs of sample ``k`` on ``seeds`` that count (see max_rolling)."""
    values = [max_rolling(sample_dir(root, k) / env_id / agent / f"seed{s}") for s in seeds]
    return [value for value in values if value is not None]


def _trial(config: dict[str, Any], specs: Sequence[RunSpec]) -> None:
    """One Ray Tune trial: train ``specs[config["run"]]``; a failed run fails the trial."""
    from ray import tune

    outcome = attempt(specs[config["run"]])
    if outcome.error is not None:
        raise RuntimeError(outcome.error)
    tune.report({"max_rolling10": max_rolling(outcome.spec.run_dir) or float("nan")})


def run_trials(specs: Sequence[RunSpec], name: str, storage: Path) -> list[RunOutcome]:
    """Train ``specs`` (absolute log directories: trials run in their own working directories) as
    the trials of the Ray Tune experiment ``name``, one CPU each, on the Ray instance this process
    is connected to (:func:`icnn_rl.rl.grid.connect_ray`); Tune keeps its records in ``storage``.
    A trial whose run fails is marked errored in Tune and the others go on."""
    if not specs:
        return []
    import_ray()
    from ray import tune

    def trial_name(trial: Any) -> str:
        return _trial_name(specs[trial.config["run"]])

    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(_trial, specs=list(specs)), {"cpu": 1}),
        param_space={"run": tune.grid_search(list(range(len(specs))))},
        tune_config=tune.TuneConfig(
            trial_name_creator=trial_name, trial_dirname_creator=trial_name, reuse_actors=True
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=str(storage.resolve()),
            failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
            verbose=1,
        ),
    )
    outcomes = {
        result.config["run"]: RunOutcome(
            specs[result.config["run"]], error=None if result.error is None else _first_line(result.error)
        )
        for result in tuner.fit()
    }
    return [outcomes[i] for i in sorted(outcomes)]


def _trial_name(spec: RunSpec) -> str:
    return f"{Path(spec.log_dir).name}_{spec.env_id}_{spec.agent}_seed{spec.seed}"


def _first_line(error: BaseException) -> str:
    """The run's own error line out of the exception Tune hands back (it wraps the trial's)."""
    lines = [line for line in str(error).splitlines() if line.startswith("RuntimeError: ")]
    return lines[-1].removeprefix("RuntimeError: ") if lines else str(error).splitlines()[0]


def samples_record(space: SearchSpace, samples: list[dict[str, Any]], agents: Sequence[str]) -> str:
    """``samples.yaml``: every sample's drawn values (the original's names) and our keys per agent."""
    record = [
        {"sample": k, "drawn": drawn, **{agent: agent_keys(space, drawn, agent) for agent in agents}}
        for k, drawn in enumerate(samples)
    ]
    return yaml.safe_dump(record, sort_keys=False)
