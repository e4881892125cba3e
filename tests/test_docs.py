"""docs/convex_api.md against the code: every call it documents exists with the parameters and
defaults it names."""

from __future__ import annotations

import ast
import fnmatch
import importlib
import inspect
import re
from pathlib import Path

import pytest

from icnn_rl import convex
from icnn_rl.convex.problem import ConditionedEnergy

DOC = Path(__file__).resolve().parents[1] / "docs" / "convex_api.md"
CODE = re.compile(r"`([^`]+)`")
CALL = re.compile(r"([A-Za-z_][\w.]*)\((.*)\)", re.DOTALL)
NETWORKS = (convex.PICNN, convex.FICNN, convex.ConvPICNN)


def resolve(name: str) -> list[object]:
    """The objects a documented name stands for (several for ``net.<method>``), [] if not API."""
    head, _, rest = name.partition(".")
    if head == "net":
        return [getattr(cls, rest) for cls in NETWORKS]
    if head == "energy":
        return [getattr(ConditionedEnergy, rest)] if rest else []
    if head == "icnn_rl":
        module, _, attr = name.rpartition(".")
        return [getattr(importlib.import_module(module), attr)]
    if head in convex.__all__:
        obj = getattr(convex, head)
        return [getattr(obj, rest) if rest else obj]
    return []


def split_arguments(text: str) -> list[str]:
    """Top-level comma-separated parts of an argument list (brackets may hold commas)."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()] if current.strip() else parts


def documented_calls() -> list[tuple[str, str]]:
    """(name, argument text) of every inline code span that starts with a call."""
    calls = []
    prose = re.sub(r"```.*?```", "", DOC.read_text(), flags=re.DOTALL)
    for span in CODE.findall(prose):
        match = CALL.match(span)
        if match:
            name, rest = match.group(1), match.group(2) + ")"
            depth = 1
            for end, char in enumerate(rest):  # the argument list ends at the balancing parenthesis
                depth += (char == "(") - (char == ")")
                if depth == 0:
                    break
            calls.append((name, " ".join(rest[:end].split())))
    return calls


def test_the_documented_import_block_names_exist() -> None:
    block = DOC.read_text().split("```python\n")[1].split("```")[0]
    (statement,) = ast.parse(block).body
    assert isinstance(statement, ast.ImportFrom) and statement.module == "icnn_rl.convex"
    assert [alias.name for alias in statement.names if not hasattr(convex, alias.name)] == []


@pytest.mark.parametrize(("name", "arguments"), documented_calls())
def test_documented_call_matches_the_code(name: str, arguments: str) -> None:
    """Keyword parameters and their defaults are checked; positional names are descriptive."""
    for obj in resolve(name):
        parameters = inspect.signature(obj).parameters
        for part in split_arguments(arguments):
            key, equals, default = part.partition("=")
            if equals:
                assert key.strip() in parameters, f"{name}: no parameter {key.strip()!r}"
                expected = eval(default, vars(convex))  # literals and SolverConfig()
                assert parameters[key.strip()].default == expected, f"{name}: default of {key.strip()}"


RL_DOC = DOC.parent / "rl.md"
TENSORBOARD_KEY = re.compile(r"`((?:train|eval|rollout|time)/[\w{},*]+)`")


def expanded(key: str) -> list[str]:
    """``a/{b,c}_d`` → ``a/b_d``, ``a/c_d`` (one brace group at most)."""
    head, brace, rest = key.partition("{")
    if not brace:
        return [key]
    choices, _, tail = rest.partition("}")
    return [head + choice + tail for choice in choices.split(",")]


def test_every_tensorboard_key_docs_rl_names_is_logged(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from icnn_rl import train

    fast = ["--set", "hidden=[8]", "--set", "learning_starts=20", "--set", "batch_size=8", "--set",
            "test_interval=20", "--no-progress", "--steps", "80", "--log-dir", str(tmp_path)]
    assert train.main(["--agent", "icnn", "ddpg", *fast]) == 0
    logged = set()
    for run_dir in tmp_path.glob("*/*/seed0"):
        events = EventAccumulator(str(run_dir))
        events.Reload()
        logged |= set(events.Tags()["scalars"])
    documented = {key for span in TENSORBOARD_KEY.findall(RL_DOC.read_text()) for key in expanded(span)}
    assert documented and {key for key in documented if not fnmatch.filter(logged, key)} == set()
