"""Config resolution: ``configs/harness.yaml`` ``default`` ← ``configs/<agent>.yaml`` ``default`` ←
its env section ← ``--config`` file (``default``, then env section) ← a random-search sample's keys
(:mod:`icnn_rl.rl.search`) ← ``--set key=value`` overrides.

The harness's ``default`` (the keys every agent shares) with the agent's ``default`` laid over it
is the schema: a key it lacks is an error, and each value must have its default's type (ints for
int keys, numbers for float keys, bools for bool keys, lists for lists, known sub-keys for nested
sections; a ``null`` default takes a number or null). Nested keys are set with dots:
``--set act_solver.max_iter=10``.

The schedule is resolved too (:func:`resolve_schedule`): ``test_interval: null`` becomes the task's
(:mod:`icnn_rl.tasks`), ``checkpoint_interval: null`` :data:`CHECKPOINT_TESTS` test intervals, so a
run's ``config.yaml`` records the values it used. A record written before holds ``null`` there,
which means the same values (:func:`icnn_rl.rl.records.config_differences`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from icnn_rl.cli import ConfigError, config_path, load_yaml, parse_overrides
from icnn_rl.tasks import task_for

HARNESS = "harness"  # configs/harness.yaml: the keys every agent shares
NOISE_KINDS = ("ou", "normal", "none")
CHECKPOINT_TESTS = 10   # checkpoint_interval null: a checkpoint every 10 test intervals


def harness_defaults() -> dict[str, Any]:
    """The shared keys and their defaults (the run and the env builder consume them, see
    :mod:`icnn_rl.rl.build`); the harness file holds only its ``default`` section."""
    path = config_path(HARNESS)
    harness = load_yaml(path)
    if set(harness) != {"default"} or not isinstance(harness["default"], dict):
        raise ConfigError(f"{path} must hold exactly one section, `default`, a mapping of keys")
    return harness["default"]


def _as_float(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _check_value(key: str, value: Any, default: Any, where: str) -> Any:
    """``value`` converted to ``default``'s type, or :class:`ConfigError` naming the key."""

    def fail(expected: str) -> ConfigError:
        return ConfigError(f"{where}: {key} must be {expected}, got {value!r}")

    if isinstance(value, str) and (isinstance(default, float) or default is None):
        value = _as_float(value)  # YAML 1.1 reads 1e-4 (no dot) as a string
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if isinstance(default, int):
        if not is_number or int(value) != value:
            raise fail("an integer")
        return int(value)
    if isinstance(default, float):
        if not is_number:
            raise fail("a number")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise fail("a string")
        return value
    if isinstance(default, list):
        if not isinstance(value, list) or not value:
            raise fail("a non-empty list")
        return [_check_value(f"{key}[{i}]", v, default[0], where) for i, v in enumerate(value)]
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise fail("a mapping")
        return _merge(default, value, where, prefix=f"{key}.")
    if value is not None and not is_number:
        raise fail("a number or null")
    return value


def _merge(base: dict[str, Any], layer: dict[str, Any], where: str, prefix: str = "") -> dict[str, Any]:
    """``base`` updated by ``layer``, every key of ``layer`` checked against ``base``."""
    out = dict(base)
    for key, value in layer.items():
        if key not in base:
            raise ConfigError(
                f"{where}: unknown config key '{prefix}{key}'; valid: {', '.join(prefix + k for k in base)}"
            )
        out[key] = _check_value(prefix + key, value, base[key], where)
    return out


def _check_ranges(config: dict[str, Any]) -> None:
    """Range checks of the shared keys (agent-specific ones are checked by the agent classes)."""
    positive = (
        "learning_rate",
        "buffer_size",
        "batch_size",
        "train_freq",
        "gradient_steps",
        "test_episodes",
        "reward_scale",
        "noise_sigma",
        "noise_theta",
    )
    for key in positive:
        if config[key] <= 0:
            raise ConfigError(f"{key} must be > 0, got {config[key]}")
    for key in ("test_interval", "checkpoint_interval"):
        value = config[key]
        if value is not None and (int(value) != value or value <= 0):
            raise ConfigError(f"{key} must be a positive integer or null, got {value}")
    if config["learning_starts"] < 0:
        raise ConfigError(f"learning_starts must be >= 0, got {config['learning_starts']}")
    if not 0.0 <= config["gamma"] <= 1.0:
        raise ConfigError(f"gamma must lie in [0, 1], got {config['gamma']}")
    if not 0.0 < config["tau"] <= 1.0:
        raise ConfigError(f"tau must lie in (0, 1], got {config['tau']}")
    if any(h <= 0 for h in config["hidden"]):
        raise ConfigError(f"hidden sizes must be positive, got {config['hidden']}")
    if config["noise"] not in NOISE_KINDS:
        raise ConfigError(f"noise {config['noise']!r} is unknown; valid: {', '.join(NOISE_KINDS)}")


# Keys the packaged configs no longer have, with the value every run recorded before their removal
# trained with: the ICNN solvers' first-order step size, momentum and cut pruning (the bundle method
# used by every ICNN run reads none of them; icnn_rl.convex.SolverConfig keeps them for code).
RETIRED: dict[str, Any] = {f"{solver}.{key}": value for solver in ("act_solver", "target_solver")
                           for key, value in (("lr", 0.01), ("momentum", 0.9), ("prune", False))}


def without_retired(config: dict[str, Any]) -> dict[str, Any]:
    """A recorded ``config`` without the :data:`RETIRED` keys it holds at their retired value (a
    retired key at another value stays, so that the run reads as trained differently)."""
    def kept(section: dict[str, Any], prefix: str) -> dict[str, Any]:
        out = {}
        for key, value in section.items():
            name = prefix + key
            if isinstance(value, dict):
                out[key] = kept(value, name + ".")
            elif not (name in RETIRED and RETIRED[name] == value):
                out[key] = value
        return out

    return kept(config, "")


def resolve_schedule(config: dict[str, Any], env_id: str) -> dict[str, Any]:
    """``config`` with its ``test_interval`` and ``checkpoint_interval`` (those of the two it has)
    resolved for ``env_id`` where null: the task's test interval, and a checkpoint every
    :data:`CHECKPOINT_TESTS` test intervals."""
    test_interval = config.get("test_interval") or task_for(env_id).test_interval
    schedule = {
        "test_interval": test_interval,
        "checkpoint_interval": config.get("checkpoint_interval") or CHECKPOINT_TESTS * test_interval,
    }
    return {**config, **{key: value for key, value in schedule.items() if key in config}}


def as_today(recorded: dict[str, Any], env_id: str) -> dict[str, Any]:
    """A run's recorded ``config.yaml`` read with today's keys: without the retired keys it holds at
    their last value (:func:`without_retired`), its null schedule resolved (:func:`resolve_schedule`)."""
    return resolve_schedule(without_retired(recorded), env_id)


def resolve_config(
    agent: str,
    env_id: str,
    config_file: Path | None = None,
    overrides: Iterable[str] = (),
    sample: tuple[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The fully resolved hyperparameters of ``agent`` on ``env_id`` (see the module docstring);
    ``sample`` is a search sample's name (for errors) and its keys."""
    path = config_path(agent)
    packaged = load_yaml(path)
    own = packaged.get("default") or {}
    if not isinstance(own, dict):
        raise ConfigError(f"{path}: `default` must be a mapping of keys, got {type(own).__name__}")
    harness = harness_defaults()
    shared = _merge(harness, {k: v for k, v in own.items() if k in harness}, f"{agent}.yaml [default]")
    schema = {**shared, **{k: v for k, v in own.items() if k not in harness}}
    layers = [(f"{agent}.yaml [{env_id}]", packaged.get(env_id) or {})]
    if config_file is not None:
        user = load_yaml(config_file)
        layers += [
            (f"{config_file} [default]", user.get("default") or {}),
            (f"{config_file} [{env_id}]", user.get(env_id) or {}),
        ]
    if sample is not None:
        layers.append(sample)
    layers.append(("--set", parse_overrides(overrides)))
    config = dict(schema)
    for where, layer in layers:
        if not isinstance(layer, dict):
            raise ConfigError(f"{where}: a section must be a mapping of keys, got {type(layer).__name__}")
        config = _merge(config, layer, where)
    _check_ranges(config)
    return resolve_schedule(config, env_id)
