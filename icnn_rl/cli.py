"""Command-line plumbing shared by training, evaluation, the report and the supervised experiments.

- configs: the packaged YAML files (:func:`config_path`), :func:`load_yaml` and ``--set key=value``
  overrides (:func:`add_set_argument`, :func:`parse_overrides`); a bad value is a :class:`ConfigError`;
- devices: ``cpu``, ``cuda`` or ``auto`` (:func:`resolve_device`);
- outputs: a directory option that names a file is refused (:func:`check_output_dir`), and results are
  written atomically (:func:`atomic_target`, :func:`write_text_atomic`, :func:`write_json_atomic`);
- the exit convention: bad input prints one line ``<prog>: error: <what is wrong and what is valid>``
  on stderr and the command exits with status 2 (:func:`report_error`); a surprise that is not an
  error (the command goes on) is one line ``<prog>: warning: ...`` (:func:`report_warning`).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import yaml

DEVICES = ("cpu", "cuda", "auto")
EXIT_ERROR = 2  # argparse's status for bad input; every command uses it for any input error
EXIT_INTERRUPTED = 130  # the shell's status of a command stopped by Ctrl-C (128 + SIGINT)
# The directory above the package: the repository root in a checkout (site-packages when installed).
CHECKOUT_ROOT = Path(__file__).resolve().parents[1]


class ConfigError(ValueError):
    """An unknown key, a value of the wrong type or range, or an unreadable config file."""


def command_parser(doc: str, prog: str | None = None) -> argparse.ArgumentParser:
    """A command's argument parser: its help shows the module docstring ``doc`` as written; ``prog``
    (default: the script's name) starts the usage and every error line."""
    return argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def report_error(prog: str, message: object) -> int:
    """Print the convention's one error line for ``prog`` and return its exit status."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def report_warning(prog: str, message: object) -> None:
    """Print the convention's one warning line for ``prog``; the command goes on."""
    print(f"{prog}: warning: {message}", file=sys.stderr)


def check_distinct(option: str, values: Sequence[object]) -> None:
    """Refuse a value that ``option`` names more than once (each value means one run, trained once)."""
    for i, value in enumerate(values):
        if value in values[:i]:
            raise ConfigError(f"{option} names {value} more than once; give each value once")


def report_interrupted(prog: str, exc: KeyboardInterrupt) -> int:
    """Print one line for a command stopped by Ctrl-C or SIGTERM (a stopped run's line says where
    its checkpoint is) and return the shell's status for it."""
    print(f"{prog}: interrupted" + (f": {exc}" if str(exc) else ""), file=sys.stderr)
    return EXIT_INTERRUPTED


# ---------------------------------------------------------------------------------------- configs
def config_path(name: str) -> Path:
    """The packaged ``configs/<name>.yaml`` (package data of :mod:`icnn_rl.configs`)."""
    return Path(str(resources.files("icnn_rl.configs") / f"{name}.yaml"))


def load_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A YAML file whose top level is a mapping (an empty file is ``{}``); a file that cannot be read
    or parsed is a :class:`ConfigError` of one line (where the parser stopped, not its snippet)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = "" if mark is None else f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"cannot read config file {path}: {problem}{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys, got {type(data).__name__}")
    return data


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    """The repeatable ``--set KEY=VALUE`` option, collected in ``args.overrides``."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="override one config key (repeatable; nested keys with dots: section.key=value)",
    )


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``["a=1", "b.c=x"]`` → ``{"a": 1, "b": {"c": "x"}}``; values are parsed as YAML scalars."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects key=value or section.key=value, got {item!r}")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"--set {key}: cannot parse value {text!r}") from None
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item!r}: {part!r} is set both as a value and as a section")
        node[leaf] = value
    return out


# ---------------------------------------------------------------------------------- devices, outputs
def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``auto`` (CUDA when available) as a torch.device."""
    if name not in DEVICES:
        raise ConfigError(f"unknown device {name!r}; valid: {', '.join(DEVICES)}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda: torch sees no CUDA device here; valid: cpu, auto")
    return torch.device(name)


def configure_torch(threads: int = 1) -> None:
    """The CPU settings every job of this package runs with: ``threads`` torch threads (parallelism
    comes from processes) and subnormal floats flushed to zero. Subnormals (< 1.2e-38 in float32,
    < 2.2e-308 in float64) are slow on CPUs: weight decay left millions of them in the Bibtex PICNN
    (a training step took 4.3× the CPU time), and the bundle's float64 probabilities reach them
    with small entropy weights (a HalfCheetah TD-target solve took 1.4× the time); docs/log.md."""
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)


def check_output_dir(path: Path, option: str) -> None:
    """Refuse an output directory ``path`` (given as ``option``) that is, or lies inside, a file, or
    that this process cannot write: it, or the nearest directory above it that exists, is read-only
    to it."""
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                raise ConfigError(f"{option} {path}: {part} is a file, not a directory")
            if not os.access(part, os.W_OK | os.X_OK):
                raise ConfigError(f"{option} {path}: cannot write in {part} (permission denied)")
            return


def replace_marked(text: str, begin: str, end: str, block: str) -> str:
    """``text`` with the part from the line ``begin`` to the line ``end`` (both kept) holding ``block``
    instead; unchanged when either marker is missing."""
    if begin not in text or end not in text:
        return text
    head, rest = text.split(begin, 1)
    return f"{head}{begin}\n{block.rstrip()}\n{end}{rest.split(end, 1)[1]}"


@contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for the caller to write; on a clean exit it replaces ``path``
    (``os.replace``), on an error it is removed and ``path`` is left as it was.

    Readers never see half a file, and the temporary name is this writer's own (process id and a
    random token), so processes that write the same file at once never touch each other's
    temporary file: the last to finish wins.
    """
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """``text`` at ``path`` through :func:`atomic_target`: readers never see half a file."""
    with atomic_target(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """``data`` as indented JSON at ``path``, written atomically."""
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")
