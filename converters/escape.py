"""Escaping: article text written so that every renderer shows it as the characters it is.

This module owns how literal text becomes Markdown. The forms are chosen to be honoured by
all the renderers the output is tested with (CommonMark's and GFM's, marked, Python-Markdown,
kramdown), not by CommonMark alone:

- `<` that could open a tag is written `&lt;` and an entity-like `&` as `&amp;`: every
  renderer decodes entities, while Python-Markdown does not read `\\<` as an escape (text
  `<img onerror=…>` would become a live tag there).
- A `~` is only special when another one in the same block could pair with it (GFM
  strikethrough, single tildes in cmark-gfm); then it is `&#126;`, since Python-Markdown and
  kramdown show `\\~` as written. A lone `~` (`2021~2023`, `~完`) stays bare.
- A run of `-` keeps every dash after the first escaped (`-\\-\\-`): kramdown (Jekyll) turns
  `--` and `---` into en and em dashes.
- `*`, `` ` ``, `\\`, `_` runs at a word edge, and `|` (a table cell, and kramdown reads
  any paragraph holding `|` as a table) take a backslash: all of them honour it.
- `[` and `]` are escaped only where they could make a link, a footnote, a wiki link or a
  reference definition; `[1]` alone is shown as written by all of them (a `]` that ends a text run waits for
  what follows: BRACKET_MARK).
- Block syntax (`#`, `-`, `+`, `>`, `1.`, `=`) is escaped only where the text really lands
  at the start of a line; the writer marks candidates (LINE_MARK) and `resolve_line_starts`
  decides once the whole line is known.
"""

from __future__ import annotations

import re

from .lazyre import lazy_compile
from .markers import BRACKET_MARK, LINE_MARK, TILDE_MARK, split_block_lines

_MAYBE_SPECIAL = lazy_compile(r"[`*\[\]~_\\<&|]|--")
_INLINE_SPECIAL = lazy_compile(
    r"[`*|]|_+|~|-{2,}|\\(?=[!-/:-@\[-`{-~]|$)|<(?=[A-Za-z/!?]|$)|&(?=#?[A-Za-z0-9]+;)"
    r"|\[(?=[\^\[]|[^\]]*\]:)|\](?=[(\[:]|$)"
)
_UNESCAPED_BRACKET = lazy_compile(r"(?<!\\)[\[\]]")
# Candidates for block syntax at the start of the text: `#` (heading), `-`/`+` (list item,
# or with more `-` a rule or setext underline), `>` (quote), `=` (setext underline), `1.`.
_LINE_START = lazy_compile(r"^(\s*)(?:(#{1,6}(?=\s|$)|[-+](?=\s|-|$)|>|=)|(\d{1,9})([.)])(?=\s|$))")


def _inline(match: re.Match) -> str:
    char = match.group(0)
    first = char[0]
    if first == "_":
        text, start, end = match.string, match.start(), match.end()
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        if before.isalnum() and after.isalnum():
            return char  # inside a word (snake_case): no renderer reads it as emphasis
        return "\\_" * len(char)  # the whole run: `\__init_\_` would still read as emphasis
    if first == "-":
        return "-" + "\\-" * (len(char) - 1)  # kramdown would make `--`/`---` en and em dashes
    if first == "<":
        return "&lt;"
    if first == "&":
        return "&amp;"
    if first == "~":
        return TILDE_MARK
    if first == "]" and match.end() == len(match.string):
        return BRACKET_MARK  # what follows is in the next run: see resolve_marks
    return "\\" + char


_BACKSLASH_ESCAPE = lazy_compile(r"\\([!-/:-@\[-`{-~])")


def unescape_markdown(text: str) -> str:
    """CommonMark's backslash escapes undone (`a\\_b` -> `a_b`): a destination or alt text as
    the reader sees it."""
    return _BACKSLASH_ESCAPE.sub(r"\1", text) if "\\" in text else text


def escape_text(text: str, in_brackets: bool = False) -> str:
    """Literal text as Markdown. `in_brackets`: the text is a link's text or an image's
    description, where every bracket must be escaped."""
    if _MAYBE_SPECIAL.search(text):  # most text has none: skip the slower pattern
        text = _INLINE_SPECIAL.sub(_inline, text)
        if in_brackets:  # every bracket, not only those that could make a link
            text = _UNESCAPED_BRACKET.sub(lambda m: "\\" + m.group(0), text.replace(BRACKET_MARK, "]"))
    match = _LINE_START.match(text)
    if match:
        pos = match.start(2) if match.group(2) else match.start(4)  # before `#`, or `1`'s `.`
        text = text[:pos] + LINE_MARK + text[pos:]
    return text


# -- resolving the marks, once the lines are final -----------------------------------------
# What opens a line before its text: quote marks, list markers, indentation.
CONTAINER_PREFIX = r"(?:[ \t]*(?:>|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t]))[ \t]*)*[ \t]*"
_LINE_MARK_AT_START = lazy_compile(f"^({CONTAINER_PREFIX}\\d{{0,9}}){LINE_MARK}(.)(.*)$", re.M)
_RULE_LIKE = lazy_compile(r"^[-=\s]*$")


def _line_start(match: re.Match) -> str:
    prefix, char, rest = match.groups()
    if char == "=":
        # A line of `=` under text would be a setext heading; Python-Markdown shows `\=` as
        # written, so the entity.
        return prefix + ("&#61;" if _RULE_LIKE.match(rest) else "=") + rest
    if char == "-" and rest[:1] == "-" and not _RULE_LIKE.match(rest):
        return prefix + char + rest  # `---- ----分割线`: neither a rule nor a list item
    return prefix + "\\" + char + rest


def resolve_line_starts(text: str) -> str:
    """Escape the marked block syntax that begins a line; drop the other marks."""
    if LINE_MARK not in text:
        return text
    return _LINE_MARK_AT_START.sub(_line_start, text).replace(LINE_MARK, "")


_BRACKET_AT_RUN_END = lazy_compile(f"{BRACKET_MARK}(?=([(\\[:])?)")


def resolve_marks(text: str) -> str:
    """A text `~` stays bare unless its block holds another that it could pair with; a `]`
    that ended a text run is escaped only where the next run makes it `](`, `][` or `]:`."""
    if BRACKET_MARK in text:
        text = _BRACKET_AT_RUN_END.sub(lambda m: "\\]" if m.group(1) else "]", text)
    if TILDE_MARK not in text:
        return text
    return "\n".join(
        line.replace(TILDE_MARK, "&#126;" if line.count(TILDE_MARK) > 1 else "~")
        for line in split_block_lines(text)
    )
