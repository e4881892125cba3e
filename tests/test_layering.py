"""Layers, checked in fresh interpreters: what each part of the package imports, and that importing
it changes nothing in the process (no matplotlib backend, no MUJOCO_GL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "icnn_rl"
RL_STACK = ("stable_baselines3", "gymnasium", "mujoco", "icnn_rl.agents", "icnn_rl.envs")


def modules_under(folder: str) -> list[str]:
    """Every module of ``icnn_rl/<folder>``, by import name."""
    return sorted(
        ".".join(("icnn_rl", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        for path in (PACKAGE / folder).rglob("*.py")
    )


def imported_after(modules: list[str]) -> dict:
    """Import ``modules`` in a fresh interpreter (without MUJOCO_GL); what it then holds."""
    script = f"""
import importlib, json, os, sys
import matplotlib
backend = dict.__getitem__(matplotlib.rcParams, "backend")
for name in {modules!r}:
    importlib.import_module(name)
print(json.dumps({{
    "modules": sorted(sys.modules),
    "backend_changed": dict.__getitem__(matplotlib.rcParams, "backend") is not backend,
    "pyplot": "matplotlib.pyplot" in sys.modules,
    "mujoco_gl": os.environ.get("MUJOCO_GL"),
}}))
"""
    env = {key: value for key, value in os.environ.items() if key not in ("MUJOCO_GL", "MPLBACKEND")}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def loaded(state: dict, prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in state["modules"] if any(m == p or m.startswith(p + ".") for p in prefixes)]


def test_convex_core_and_supervised_code_import_nothing_of_rl() -> None:
    state = imported_after(modules_under("convex") + modules_under("supervised"))
    assert loaded(state, (*RL_STACK, "icnn_rl.rl", "icnn_rl.train", "icnn_rl.evaluate")) == []


def test_convex_core_imports_nothing_of_the_rest_of_the_package() -> None:
    state = imported_after(modules_under("convex"))
    assert [m for m in loaded(state, ("icnn_rl",)) if not m.startswith("icnn_rl.convex")] == ["icnn_rl"]


def test_report_reads_csvs_and_configs_without_training_code() -> None:
    state = imported_after(["icnn_rl.report"])
    assert loaded(state, (*RL_STACK, "icnn_rl.convex", "icnn_rl.supervised")) == []
    # the config resolver (its Settings section compares runs with the packaged configs) and the CSVs
    assert loaded(state, ("icnn_rl.rl",)) == ["icnn_rl.rl", "icnn_rl.rl.config", "icnn_rl.rl.evaluations",
                                            "icnn_rl.rl.records"]


def test_importing_any_module_has_no_side_effects() -> None:
    every = [
        *modules_under("."),
        "icnn_rl.agents",
        "icnn_rl.agents.icnn",
        "icnn_rl.agents.naf",
        "icnn_rl.envs",
    ]
    state = imported_after(every)
    assert not state["backend_changed"] and not state["pyplot"]
    assert state["mujoco_gl"] is None
