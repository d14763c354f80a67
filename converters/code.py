"""Code blocks and inline code: taken out of the raw HTML before any parser sees it.

Scraped pages leave `<` unescaped inside `<pre>`/`<code>` (`Record<string, any>`, `<input>`,
JSX). Every HTML parser turns those into tags and the author's code is gone, so code is cut
out of the raw text first, reduced to the text the author wrote (highlight spans removed,
`<br>` as newline, entities decoded, other `<…>` kept), and replaced by a placeholder that
passes untouched through cleaning and html2text. The Markdown renderer puts the code back as
a fenced block or code span with the right fence length and the language kept.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from typing import NamedTuple

from .lazyre import LazyPattern, lazy_compile
from .markers import BLOCK_MARK, INLINE_MARK


# What stands for a piece of code taken out (as a regex): a mark, its number, the mark again.
PLACEHOLDER = f"[{BLOCK_MARK}{INLINE_MARK}]\\d+[{BLOCK_MARK}{INLINE_MARK}]"
_BLOCK_PLACEHOLDER = lazy_compile(f"<p>{BLOCK_MARK}(\\d+){BLOCK_MARK}</p>|{BLOCK_MARK}(\\d+){BLOCK_MARK}")
_PRE = lazy_compile(r"<pre\b([^>]*)>(.*?)</pre\s*>", re.S | re.I)
_CODE = lazy_compile(r"<(code|kbd|tt|samp)\b([^>]*)>(.*?)</\1\s*>", re.S | re.I)
_PRE_CLOSE = lazy_compile(r"</pre\s*>", re.I)
_CODE_CLOSE = lazy_compile(r"</(?:code|kbd|tt|samp)\s*>", re.I)
_PRE_OPEN = lazy_compile(r"<pre\b", re.I)
_CODE_OPEN = lazy_compile(r"<(?:code|kbd|tt|samp)\b", re.I)
# A <br> that ends a source line already has its newline: count the break once.
_BR = lazy_compile(r"<br\s*/?>\n?", re.I)
# Markup that highlighters and editors wrap around code; anything else in `<…>` is code text.
_FORMAT_TAG = lazy_compile(
    r"</?(?:span|code|b|i|em|strong|s|u|font|a|p|div|section|small|sub|sup|mark|del|ins)\b[^<>]*>", re.I
)
_LANG_PATTERNS = (
    lazy_compile(r'\blang(?:uage)?-([A-Za-z0-9_+#.-]+)'),
    lazy_compile(r'\b(?:data-)?lang(?:uage)?\s*=\s*["\']?([A-Za-z0-9_+#.-]+)', re.I),
    lazy_compile(r'\bbrush:\s*([A-Za-z0-9_+#-]+)'),
)
_NOT_LANGUAGES = {"none", "plain", "plaintext", "text", "txt", "nohighlight", "undefined", "null"}


class CodeBlock(NamedTuple):
    text: str
    language: str = ""


def code_of(placeholder: str, blocks: list[CodeBlock], spans: list[str]) -> str:
    """The code that a placeholder (see PLACEHOLDER) stands for."""
    number = int(placeholder[1:-1])
    return spans[number] if placeholder[0] == INLINE_MARK else blocks[number].text


@functools.lru_cache(maxsize=8)
def _chrome_pattern(classes: tuple[str, ...]) -> re.Pattern | None:
    """Buttons and headers with one of `classes` (site rules' code_chrome), with their text."""
    if not classes:
        return None
    names = "|".join(re.escape(name) for name in classes)
    return re.compile(f'<(span|div|button)\\b[^>]*class="[^"]*\\b(?:{names})\\b[^"]*"[^>]*>.*?</\\1>', re.S | re.I)


def author_code(raw: str, chrome: re.Pattern | None = None) -> str:
    """The code as the author wrote it, from the raw HTML inside `<pre>` or `<code>`,
    without the `chrome` a highlighter added (see _chrome_pattern)."""
    if chrome is not None:
        raw = chrome.sub("", raw)
    return html.unescape(_FORMAT_TAG.sub("", _BR.sub("\n", raw)))


def language_of(attrs: str) -> str:
    """Language named by a `<pre>`/`<code>` attribute string (`class="language-js"`, `lang="ts"`, …)."""
    for pattern in _LANG_PATTERNS:
        match = pattern.search(attrs)
        if match and match.group(1).lower() not in _NOT_LANGUAGES:
            return match.group(1).lower()
    return ""


def extract_code(body: str, chrome_classes: tuple[str, ...] = ()) -> tuple[str, list[CodeBlock], list[str]]:
    """Replace code in raw HTML by placeholders; elements with one of `chrome_classes`
    (the site rules' code_chrome: copy buttons and the like) are dropped from the code.

    Returns the HTML with placeholders, the code blocks, and the inline code strings.
    A block placeholder is its own paragraph; an inline one stays in the running text.
    """
    blocks: list[CodeBlock] = []
    spans: list[str] = []
    chrome = _chrome_pattern(chrome_classes)

    def take_block(match: re.Match) -> str:
        attrs, inner = match.group(1), match.group(2)
        inner_code = _CODE.match(inner.strip())
        language = language_of(attrs) or (language_of(inner_code.group(2)) if inner_code else "")
        text = author_code(inner, chrome)
        if text.startswith("\n"):  # HTML drops one newline right after <pre>
            text = text[1:]
        blocks.append(CodeBlock(text.rstrip("\n"), language))
        return f"<p>{BLOCK_MARK}{len(blocks) - 1}{BLOCK_MARK}</p>"

    def take_span(match: re.Match) -> str:
        # A <pre> inside <code> (broken markup) was already taken out: put its text back.
        text = _BLOCK_PLACEHOLDER.sub(lambda m: blocks[int(m.group(1) or m.group(2))].text, author_code(match.group(3), chrome))
        spans.append(text)
        return f"{INLINE_MARK}{len(spans) - 1}{INLINE_MARK}"

    if "<pre" in body or "<PRE" in body:
        body = _sub_up_to_last(_PRE_CLOSE, _PRE_OPEN, _PRE, take_block, body)
    if "<" in body:
        body = _sub_up_to_last(_CODE_CLOSE, _CODE_OPEN, _CODE, take_span, body)
    return body, blocks, spans


def _sub_up_to_last(
    closing: LazyPattern, opening: LazyPattern, pattern: LazyPattern, replace: Callable[[re.Match], str], text: str
) -> str:
    """`pattern.sub` on the text up to the last `closing` tag. An opening tag after it can
    match nothing, yet each would make the pattern scan to the end: quadratic time on a
    page with thousands of unclosed tags."""
    end = 0
    for end_match in closing.finditer(text):
        end = end_match.end()
    if not end:
        return text
    if not opening.search(text, end):  # the usual case: no copy of the text up to `end`
        return pattern.sub(replace, text)
    return pattern.sub(replace, text[:end]) + text[end:]


def fenced(block: CodeBlock, prefix: str = "") -> str:
    """A fenced code block under `prefix`: list indentation, `> `, or a list item's marker
    (`1. `), which the first line takes and the others match with spaces."""
    lines = [line.rstrip() for line in block.text.split("\n")]
    longest = max((len(run) for run in re.findall(r"`{3,}", block.text)), default=0)
    fence = "`" * max(3, longest + 1)
    rest = _LIST_MARKER.sub(lambda m: " " * len(m.group(0)), prefix)
    out = [prefix + fence + block.language]
    out += [(rest + line).rstrip() if line else rest.rstrip() for line in lines + [fence]]
    return "\n".join(out)


_LIST_MARKER = lazy_compile(r"[-*+]|\d{1,9}[.)]")


def code_span(text: str) -> str:
    """An inline code span holding `text` exactly (CommonMark's backtick-run rules)."""
    text = re.sub(r"\s*\n\s*", " ", text)
    if not text.strip():
        return text  # an empty or blank span renders as nothing useful; keep the spacing
    runs = {len(r) for r in re.findall(r"`+", text)}
    ticks = 1
    while ticks in runs:
        ticks += 1
    fence = "`" * ticks
    pad = " " if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"
