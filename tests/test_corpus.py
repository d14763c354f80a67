"""End to end on the real corpus: the fidelity yardstick's bounds, idempotence, code kept."""

from __future__ import annotations

import re

import pytest

from feed2md.converters import convert_bytes, convert

from .conftest import SEED, corpus_files

SETS = {"36kr": corpus_files("36kr") + [SEED], "mixed": corpus_files("mixed")}
# The bounds of issues #2 and #4.
BOUNDS = {
    "36kr": {"text_f1_mean": 0.999, "text_f1_min": 0.99, "structure_mean": 0.98},
    "mixed": {"text_f1_mean": 0.998, "text_f1_min": 0.98, "structure_mean": 0.98},
}


@pytest.fixture(scope="module")
def conversions():
    return {path: convert_bytes(path.read_bytes()) for files in SETS.values() for path in files}


@pytest.mark.parametrize("name", SETS)
def test_fidelity_bounds(name, conversions, fidelity):
    rows = [fidelity.score_pair(p.read_text("utf-8"), conversions[p].text) for p in SETS[name]]
    f1 = [r["text_f1"] for r in rows]
    assert sum(f1) / len(f1) >= BOUNDS[name]["text_f1_mean"]
    assert min(f1) >= BOUNDS[name]["text_f1_min"]
    assert sum(r["structure"] for r in rows) / len(rows) >= BOUNDS[name]["structure_mean"]
    for key in ("residue", "html_leaks", "emphasis", "entity_leaks", "cjk_spaces"):
        assert sum(r[key] for r in rows) == 0, key
    assert all(r["front_matter"] == 1 for r in rows)


def test_every_corpus_file_is_idempotent(conversions):
    for path, result in conversions.items():
        again = convert(result.text)
        assert again.text == result.text, path.name
        assert again.report.body_kind == "markdown"


def test_conversion_is_deterministic(conversions):
    path = SETS["mixed"][8]
    assert convert_bytes(path.read_bytes()).text == conversions[path].text


PRE = re.compile(r"<pre\b[^>]*>(.*?)</pre>", re.S | re.I)
FENCE = re.compile(r"^(`{3,})[^\n]*\n(.*?)^\1$", re.S | re.M)


def test_code_lines_survive_verbatim(conversions, fidelity):
    """Issue #4: >= 99.5 % of the author's code lines appear verbatim inside code blocks."""
    total = kept = 0
    for path, result in conversions.items():
        source = path.read_text("utf-8")
        code_text = "\n".join(m.group(2) for m in FENCE.finditer(result.body))
        code_lines = {line.strip() for line in code_text.split("\n")}
        for block in PRE.findall(source):
            for line in fidelity.author_code(block).split("\n"):
                if line.strip():
                    total += 1
                    kept += line.strip() in code_lines
    assert total > 100  # the corpus has real code in it
    assert kept / total >= 0.995, f"{kept}/{total}"
