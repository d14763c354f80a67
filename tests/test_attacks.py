"""Public attack suites, read in place from ../shared/attack: nothing executable comes out of
feed2md's Markdown in any renderer, and no input is an internal error.

- the XSS vectors of DOMPurify's fixtures, cure53's H5SC and the OWASP cheat sheet: each is
  wrapped as an article, converted, and rendered by markdown-it (raw HTML on), cmark-gfm
  (unsafe mode), Python-Markdown (with and without extensions), marked and kramdown;
- html5lib-tests' tree-construction and tokenizer inputs: each converts or fails with one
  clear line, never an internal error, and converting the output again changes nothing.
"""

from __future__ import annotations

import json

import pytest

from feed2md.converters import ConversionError, convert

from . import matrix
from .conftest import SHARED

VECTORS = matrix.attack_vectors()
SECURITY_RENDERERS = ("markdown-it", "cmark-gfm", "python-markdown-plain", "python-markdown-extra", "marked2", "marked", "kramdown")


def as_article(payload: str, title: str = "t") -> str:
    return f"---\ntitle: {json.dumps(title)}\n---\n<div>{payload}</div>\n"


@pytest.fixture(scope="module")
def converted() -> list[tuple[str, str]]:
    assert len(VECTORS) > 500, "the attack suites are missing from ../shared/attack"
    out = []
    for name, payload in VECTORS:
        try:
            out.append((name, convert(as_article(payload)).text))
        except ConversionError as exc:
            assert "please report" not in str(exc), f"{name}: {exc}"
    return out


def test_no_vector_is_an_internal_error(converted):
    assert len(converted) >= len(VECTORS) - 5  # the rest failed with a clear line (checked above)


@pytest.mark.parametrize("renderer", SECURITY_RENDERERS)
def test_nothing_executable_in_any_renderer(renderer, converted):
    matrix.require(renderer)
    bodies = [matrix.body_of(text) for _, text in converted]
    found = []
    for (name, _), rendered in zip(converted, matrix.render(renderer, bodies)):
        bad = matrix.executable(rendered)
        if bad:
            found.append(f"{name}: {bad[:3]}")
    assert not found, f"{len(found)} vectors render executable under {renderer}: {found[:5]}"


def test_vectors_in_front_matter_fields_are_not_kept_as_urls():
    for name, payload in VECTORS[:200]:
        for key in ("headimg", "link", "cover", "source"):
            meta = convert(f"---\ntitle: t\n{key}: {json.dumps(payload)}\n---\n<p>x</p>\n").metadata
            for value in meta.values():
                assert not (isinstance(value, str) and matrix.dangerous_url(value)), (name, key, value)


def _html5lib_inputs() -> list[str]:
    folder = SHARED / "attack" / "html5lib-tests"
    inputs = []
    for path in sorted((folder / "tree-construction").glob("*.dat")):
        lines = path.read_text("utf-8", errors="replace").split("\n")
        i = 0
        while i < len(lines):
            if lines[i] == "#data":
                j = i + 1
                while j < len(lines) and not lines[j].startswith("#errors"):
                    j += 1
                inputs.append("\n".join(lines[i + 1 : j]))
                i = j
            i += 1
    for path in sorted((folder / "tokenizer").glob("*.test")):
        for test in json.loads(path.read_text("utf-8")).get("tests", []):
            if isinstance(test.get("input"), str):
                inputs.append(test["input"])
    return inputs


def test_html5lib_inputs_convert_without_internal_errors_and_idempotently():
    inputs = _html5lib_inputs()
    assert len(inputs) > 8000
    failures = []
    for i, data in enumerate(inputs):
        try:
            first = convert(as_article(data))
        except ConversionError as exc:
            if "please report" in str(exc):
                failures.append(f"#{i} {data[:40]!r}: {exc}")
            continue
        again = convert(first.text)
        if again.text != first.text:
            failures.append(f"#{i} {data[:40]!r}: not idempotent")
    assert not failures, f"{len(failures)} failures: {failures[:5]}"
