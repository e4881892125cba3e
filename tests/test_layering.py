"""Layers, checked in fresh interpreters: what each part of the package imports, and that importing
it changes nothing in the process (no matplotlib backend, no MUJOCO_GL)."""

from __future__ import annotations

import ast
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
    # the config resolver (its Settings section compares runs with the packaged configs), the CSVs and
    # records, and the verdict's normalisation and statistics
    assert loaded(state, ("icnn_rl.rl",)) == ["icnn_rl.rl", "icnn_rl.rl.aggregate", "icnn_rl.rl.config",
                                            "icnn_rl.rl.evaluations", "icnn_rl.rl.records", "icnn_rl.rl.scores",
                                            "icnn_rl.rl.verdict"]


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


# ---- The import graph, read from the source: every import statement, at module level or inside a
# function (a deferred import is a dependency all the same), of every module of icnn_rl, agents and envs.

REPO = PACKAGE.parent
SOURCES = {"icnn_rl": REPO / "icnn_rl", "icnn_rl.agents": REPO / "agents", "icnn_rl.envs": REPO / "envs"}
# Layers, each with the layers below it that it may import (its own modules it may always import).
# A module belongs to the layer of its longest matching prefix; benchmarks/ is no layer: nothing here
# may import it.
LAYERS: dict[str, tuple[str, ...]] = {
    "plumbing": ("icnn_rl", "icnn_rl.cli"),
    "convex": ("icnn_rl.convex",),
    "supervised": ("icnn_rl.supervised",),
    "envs": ("icnn_rl.envs",),
    "agents": ("icnn_rl.agents",),
    "rl": ("icnn_rl.rl",),
    "commands": ("icnn_rl.train", "icnn_rl.evaluate", "icnn_rl.report", "icnn_rl.search"),
}
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "plumbing": (),
    "convex": (),
    "supervised": ("convex", "plumbing"),
    "envs": ("plumbing",),
    "agents": ("convex", "plumbing"),
    "rl": ("agents", "envs", "convex", "plumbing"),
    "commands": ("rl", "agents", "envs", "convex", "plumbing"),
}


def source_modules() -> dict[str, Path]:
    """Import name → file of every module of icnn_rl (agents/ and envs/ install as icnn_rl.agents/.envs)."""
    modules = {}
    for package, root in SOURCES.items():
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if package == "icnn_rl" and parts[0] in ("agents", "envs"):
                continue
            modules[".".join((package, *parts)).removesuffix(".__init__")] = path
    return modules


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules that ``name`` (at ``path``) imports, among ``known`` and benchmarks: ``from a import b``
    counts as a dependency on ``a.b`` when that is a module, else on ``a``."""
    found = set()
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join([*here[:len(here) - node.level + 1], *([node.module] if node.module else [])]) \
                if node.level else node.module
            found |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names}
    return {m for m in found if m in known or m == "benchmarks" or m.startswith("benchmarks.")}


def import_graph() -> dict[str, set[str]]:
    modules = source_modules()
    return {name: imports_of(name, path, set(modules)) - {name} for name, path in modules.items()}


def layer_of(module: str) -> str | None:
    """The layer of ``module`` (longest matching prefix), None outside every layer (benchmarks)."""
    matches = [(len(prefix), layer) for layer, prefixes in LAYERS.items() for prefix in prefixes
               if module == prefix or module.startswith(prefix + ".")]
    return max(matches)[1] if matches else None


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """``a (layer) imports b (layer)`` for every import that its layer may not make."""
    found = []
    for module, targets in sorted(graph.items()):
        here = layer_of(module)
        for target in sorted(targets):
            there = layer_of(target)
            if there != here and there not in MAY_IMPORT[here]:
                found.append(f"{module} ({here}) imports {target} ({there or 'no layer'})")
    return found


def import_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of imports as [a, b, ..., a], or [] when the graph has none (depth-first search)."""
    state: dict[str, str] = {}   # "open" while on the current path, "done" after

    def visit(module: str, path: list[str]) -> list[str]:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return [*path[path.index(target):], module, target]
            if target not in state:
                cycle = visit(target, [*path, module])
                if cycle:
                    return cycle
        state[module] = "done"
        return []

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module, [])
            if cycle:
                return cycle
    return []


def test_the_import_graph_has_no_cycle() -> None:
    assert import_cycle(import_graph()) == []


def test_no_module_imports_a_layer_above_its_own() -> None:
    graph = import_graph()
    assert set(graph) >= {"icnn_rl.convex.bundle_entropy", "icnn_rl.agents.icnn.algo", "icnn_rl.envs",
                          "icnn_rl.rl.search", "icnn_rl.report"}   # every source folder was walked
    assert all(layer_of(module) for module in graph), "a module outside every layer: add it to LAYERS"
    assert upward_imports(graph) == []


def test_the_checks_find_a_cycle_and_an_upward_import() -> None:
    graph = {"icnn_rl.convex.a": {"icnn_rl.convex.b"}, "icnn_rl.convex.b": {"icnn_rl.convex.c"},
             "icnn_rl.convex.c": {"icnn_rl.convex.a"}, "icnn_rl.cli": set()}
    assert import_cycle(graph) == ["icnn_rl.convex.a", "icnn_rl.convex.b", "icnn_rl.convex.c", "icnn_rl.convex.a"]
    assert upward_imports(graph) == []
    upward = {"icnn_rl.convex.a": {"icnn_rl.rl.records"}, "icnn_rl.rl.run": {"icnn_rl.report"},
              "icnn_rl.agents.common": {"benchmarks.speed.solver"}, "icnn_rl.report": {"icnn_rl.rl.config"}}
    assert upward_imports(upward) == [
        "icnn_rl.agents.common (agents) imports benchmarks.speed.solver (no layer)",
        "icnn_rl.convex.a (convex) imports icnn_rl.rl.records (rl)",
        "icnn_rl.rl.run (rl) imports icnn_rl.report (commands)",
    ]


def test_a_deferred_import_and_a_relative_import_are_dependencies(tmp_path: Path) -> None:
    source = tmp_path / "bundle_entropy.py"
    source.write_text("from .problem import value_and_grad\n\ndef f():\n    from .compiled_bundle import absorb_cuts\n")
    known = {"icnn_rl.convex.problem", "icnn_rl.convex.compiled_bundle", "icnn_rl.convex.bundle_entropy"}
    assert imports_of("icnn_rl.convex.bundle_entropy", source, known) == {
        "icnn_rl.convex.problem", "icnn_rl.convex.compiled_bundle"}
