"""Reading a scraped article: bytes to text, text to (front matter, body).

This module owns the file format the scrapers write: optional blank lines, YAML front matter
between `---` lines (sometimes left unclosed), then the page's body. It does no YAML parsing
(see metadata.py) and no HTML work (see clean.py).
"""

from __future__ import annotations

import codecs
from typing import NamedTuple

from .errors import ConversionError
from .lazyre import lazy_compile

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = lazy_compile(r"[\x01-\x08\x0b\x0e-\x1f]")
_FENCE = lazy_compile(r"^-{3,}[ \t]*$")
_END = lazy_compile(r"^(?:-{3,}|\.\.\.)[ \t]*$")
_LEADING_SPACE = lazy_compile(r"[ \t\n]*")
_TOML_FENCE = lazy_compile(r"^\+{3}[ \t]*$")  # Hugo's TOML front matter
# A front-matter line: `key: value`, a list item, or an indented/continued value.
_YAML_LINE = lazy_compile(r"^(?:[A-Za-z_][\w .-]*:(?:\s|$)|\s+\S|-(?:\s|$)|\s*$|#)")


class RawArticle(NamedTuple):
    """The two parts of a scraped file, still as text."""

    front_matter: str | None  # None: the file has no front matter
    body: str
    closed: bool = True  # False: the front matter had no closing `---`
    syntax: str = "yaml"  # "yaml" (between `---`) or "toml" (between `+++`)


def decode(data: bytes) -> tuple[str, str]:
    """Decode a file's bytes; returns (text, encoding used).

    UTF-8 (with or without BOM) and UTF-16/32 with BOM are taken as such; anything else is
    handed to charset-normalizer (GB18030/GBK files from old scrapers). Binary junk raises.
    """
    if not data:
        raise ConversionError("empty file")
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(name), name.replace("-sig", "") + " (BOM)"
            except UnicodeDecodeError as exc:
                raise ConversionError(f"not valid {name}: {exc.reason} at byte {exc.start}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if _looks_binary(text):
            raise ConversionError("binary file (control bytes), not a text article")
        return text, "utf-8"
    from charset_normalizer import from_bytes  # lazy: only odd files pay for it

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise ConversionError("undecodable bytes: not UTF-8 and no text encoding fits")
    text = str(best)
    if _looks_binary(text):
        raise ConversionError("binary file (control bytes), not a text article")
    return text, best.encoding


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    if not sample:
        return False
    controls = len(_CONTROL.findall(sample))
    nuls = sample.count("\x00")
    # NUL bytes sprinkled in text are tolerated (and removed); mostly-control content is not text.
    return controls / len(sample) > 0.05 or nuls / len(sample) > 0.3


def _lines(text: str, start: int = 0):
    """(line, offset after it) for each line of `text` from `start`, without splitting the
    whole text: the front matter is a few lines at the top of what may be megabytes."""
    while start <= len(text):
        end = text.find("\n", start)
        if end < 0:
            yield text[start:], len(text) + 1
            return
        yield text[start:end], end + 1
        start = end + 1


def split_article(text: str) -> RawArticle:
    """Split a scraped file into front matter (YAML between `---` lines, or TOML between
    `+++` lines) and body."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    if text.startswith("\ufeff"):
        text = text[1:]
    start = _LEADING_SPACE.match(text).end()  # (lstrip would copy the whole text)
    start = text.rfind("\n", 0, start) + 1  # the first line that holds anything
    lines = _lines(text, start)
    first = next(lines)[0].lstrip(" \t")
    if _TOML_FENCE.match(first):
        head: list[str] = []
        for line, after in lines:
            if _TOML_FENCE.match(line):
                return RawArticle("\n".join(head), text[after:], syntax="toml")
            head.append(line)
        return RawArticle(None, text)  # never closed: no front matter after all
    if not _FENCE.match(first):
        return RawArticle(None, text)
    head = []
    open_end, open_len = None, 0  # where the body starts if the front matter is never closed
    for line, after in lines:
        if _END.match(line):
            return RawArticle("\n".join(head), text[after:])
        if open_end is None and not (_YAML_LINE.match(line) and not line.lstrip().startswith("<")):
            open_end, open_len = after - len(line) - 1, len(head)
        head.append(line)
    # No closing line: the front matter runs while lines look like YAML.
    if open_end is None:
        return RawArticle("\n".join(head), "", closed=False)
    return RawArticle("\n".join(head[:open_len]), text[open_end:], closed=False)
