"""Shared fixtures: the real corpus lives in ../shared/corpus beside the checkout."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
SEED = CORPUS / "seed" / "000_8175177d30c2fdc4.txt"


def corpus_files(*sets: str) -> list[Path]:
    files = [f for s in sets for f in sorted((CORPUS / s).glob("*.txt"))]
    if not files:  # a missing corpus must fail loudly, never pass by testing nothing
        raise RuntimeError(f"no corpus files under {CORPUS}; the tests need ../shared/corpus")
    return files


@pytest.fixture(scope="session")
def fidelity():
    """The independent yardstick, ../shared/tools/fidelity.py, imported as a module."""
    sys.path.insert(0, str(SHARED / "tools"))
    try:
        import fidelity as module
    finally:
        sys.path.pop(0)
    return module


def body_of(markdown: str) -> str:
    """The Markdown after the front matter."""
    if markdown.startswith("---\n"):
        return markdown.split("\n---\n", 1)[1].lstrip("\n")
    return markdown


@pytest.fixture(scope="session")
def render():
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    return lambda text: md.render(body_of(text))
