"""The README as a user reads it: every command it shows starts (its module or script answers
``--help``); and every relative link and image of the README and the docs pages (the dated log
aside) points at a file, and a heading, that exists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"```bash\n(.*?)```", re.DOTALL)
COMMAND = re.compile(r"(?:^|&&\s*|\s)(python (?:-m [\w.]+|[\w/]+\.py)|icnn-rl-train|tensorboard)")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def shown_commands() -> list[str]:
    """The distinct programs the README's bash blocks run: ``python -m module``, ``python script.py``."""
    found = []
    for block in BLOCK.findall(README.read_text()):
        for line in block.splitlines():
            for program in COMMAND.findall(line.split("#")[0]):
                if program.startswith("python") and program not in found:
                    found.append(program)
    return found


def anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_the_readme_shows_commands() -> None:
    assert "python train.py" in shown_commands() and len(shown_commands()) >= 5


@pytest.mark.parametrize("program", shown_commands())
def test_every_command_the_readme_shows_answers_help(program: str) -> None:
    args = program.split()[1:]
    result = subprocess.run([sys.executable, *args, "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage" in result.stdout.lower()


DOCUMENTS = [README, *sorted(path for path in (ROOT / "docs").glob("*.md") if path.name != "log.md")]


def headings(path: Path) -> list[str]:
    """The anchors of a Markdown file's headings (code blocks aside)."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    return [anchor(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_relative_link_exists(document: Path) -> None:
    broken = []
    for target in LINK.findall(document.read_text()):
        if re.match(r"[a-z]+://", target):
            continue
        path, _, fragment = target.partition("#")
        file = (document.parent / path).resolve() if path else document
        if not file.exists() or fragment and file.suffix == ".md" and fragment not in headings(file):
            broken.append(target)
    assert broken == []
