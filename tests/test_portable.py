"""Portable Markdown (issue #11): the converted corpus renders the same in every renderer
people publish with (tests/matrix.py): bold kept without raw HTML, no markers or escapes
shown as text, no raw HTML omitted or shown, no tables the source did not have,
superscripts kept, and the text there."""

from __future__ import annotations

import pytest

from . import matrix


@pytest.mark.parametrize("renderer", matrix.RENDERERS)
def test_the_corpus_renders_the_same_everywhere(renderer):
    matrix.require(renderer)
    row = matrix.matrix_row(renderer)
    assert row["emphasis_expected"] > 300  # the corpus has bold in it
    assert row["emphasis_kept"] == row["emphasis_expected"]
    assert row["markers_shown"] == 0
    assert row["raw_html_shown"] == 0 and row["raw_html_omitted"] == 0
    assert row["spurious_tables"] == 0
    assert row["sup_kept"] == row["sup_expected"] > 0
    assert row["text_ratio_min"] >= 0.99


@pytest.mark.parametrize("renderer", ["python-markdown-extra", "kramdown", "marked2", "cmark-gfm"])
def test_escapes_render_as_the_literal_characters(renderer):
    from feed2md.converters import convert

    matrix.require(renderer)
    html = "<p>a|b 2021~2023 ~完 [1] x_y __init__ *star* `tick` &lt;tag&gt; &amp;amp; a -- b ---- ----分割线</p><p>1. not a list</p><p># not a heading</p>"
    body = convert(f"---\ntitle: t\n---\n{html}\n").body
    rendered = matrix.render(renderer, [body])[0]
    from selectolax.lexbor import LexborHTMLParser

    text = LexborHTMLParser(rendered).body.text()
    assert "a|b 2021~2023 ~完 [1] x_y __init__ *star* `tick` <tag> &amp; a -- b ---- ----分割线" in text, text
    assert "1. not a list" in text and "# not a heading" in text
    assert "\\" not in text and "<table" not in rendered and "<ol" not in rendered and "<h1" not in rendered
