"""The README's console examples are run as written and print what they show (issue #14).

Each ```console block is one shell session in a fresh folder holding a copy of `examples/`,
with the venv's `bin` first on PATH (as `. .venv/bin/activate` leaves it). A line starting
with `$ ` is a command; the lines after it, up to the next command, are what it prints
(stdout and stderr together). Timings and rates vary from run to run, so `0.05s` and
`1181 files/s` compare as any number.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

_TIMING = re.compile(r"\b\d+(?:\.\d+)?s\b|\b\d+ files/s\b")


def console_blocks() -> list[tuple[int, list[tuple[str, list[str]]]]]:
    """(line number, [(command, expected lines)]) for each console block of the README."""
    blocks, current, start = [], None, 0
    for number, line in enumerate((ROOT / "README.md").read_text("utf-8").splitlines(), 1):
        if line.strip() == "```console":
            current, start = [], number
        elif current is not None and line.strip() == "```":
            blocks.append((start, current))
            current = None
        elif current is not None:
            if line.startswith("$ "):
                current.append((line[2:], []))
            elif current:
                current[-1][1].append(line)
    return blocks


def _normal(lines: list[str]) -> list[str]:
    return [_TIMING.sub("<t>", line.rstrip()) for line in lines]


def _command(text: str) -> str:
    """The shell command of an example line: its trailing `# comment` is prose."""
    return re.sub(r"\s{2,}#.*$", "", text)


BLOCKS = console_blocks()


def test_the_readme_has_console_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("start, session", BLOCKS, ids=[f"README line {b[0]}" for b in BLOCKS])
def test_readme_example_prints_what_it_shows(start, session, tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "NO_COLOR": "1", "COLUMNS": "100"}
    for command, expected in session:
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", _command(command)], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        printed = proc.stdout.decode("utf-8").splitlines()
        assert _normal(printed) == _normal(expected), f"README line {start}: $ {command}"
