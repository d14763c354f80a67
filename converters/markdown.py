"""Markdown rendering: a cleaned HTML tree in, CommonMark/GFM out, via a configured html2text.

This module owns the Markdown syntax. html2text receives the tree's parser events (it is an
html.parser subclass, so the tree is replayed to it rather than written out and parsed again)
and writes the Markdown; a small subclass replaces the
parts of its output that are wrong for this job (CJK spacing, escaping, lists, tables, hard
breaks, code). Where a decision needs to see text that comes *after* the tag (emphasis
flanking, line starts, breaks), the subclass writes a marker (markers.py) and a post-pass
over the finished text decides; emphasis has its own module (emphasis.py).
"""

from __future__ import annotations

import bisect
import re

import html2text
from html2text.elements import ListElement
from selectolax.lexbor import LexborNode

from .clean import LAYOUT_TABLE
from .code import PLACEHOLDER, CodeBlock, code_of, code_span, fenced
from .emphasis import resolve_emphasis
from .escape import CONTAINER_PREFIX, escape_text, resolve_line_starts, resolve_marks
from .lazyre import lazy_compile
from .markers import BLOCK_MARK, BREAK_MARK, CLOSE, IDEOGRAPHIC_SPACE, INLINE_MARK, OPEN

# Emphasis, and superscripts/subscripts: as text `10<sup>9</sup>` would read 109, so they are
# paired and written like emphasis, as generated tags (emphasis.py).
_EMPHASIS_TAGS = {"strong": "strong", "b": "strong", "em": "em", "i": "em", "cite": "em", "dfn": "em",
                  "del": "del", "s": "del", "strike": "del", "sup": "sup", "sub": "sub"}
# Tags html2text would mishandle that only carry presentation: ignored, their text kept.
# (Closed <code>/<kbd>/<tt>/<samp> never get here, see code.py; an unclosed one is just text.)
_PLAIN_TAGS = {"code", "kbd", "tt", "samp", "var", "q", "u", "ins", "mark", "font", "small", "big", "abbr", "acronym", "span", "label", "time"}
# Block elements html2text does not know; they separate paragraphs like a <div>.
_BLOCK_TAGS = {"section", "article", "header", "footer", "aside", "main", "nav", "figure", "figcaption",
               "details", "summary", "center", "address", "hgroup", "fieldset", "legend", "caption", "dt",
               "dd", "dl", "picture", "video", "audio", "canvas", "map", "iframe", "noscript", "frame"}

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Lists and quotes nest at most this deep; deeper ones are written at the deepest level, their
# text and items kept. Markdown nests by indentation, so each level costs every line below it
# (5,000 levels would be 25 MB of spaces), and renderers give up early: markdown-it's
# CommonMark preset stops reading at 20 open blocks, and a list level opens two.
MAX_LIST_NESTING = 8
MAX_QUOTE_NESTING = 16
_CELL_BLOCKS = _HEADINGS | {"blockquote", "ul", "ol", "li", "hr"}
_TABLE_PARTS = {"table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption"}
# Where a line of text ends: whitespace just before or after them is never a word space.
_LINE_ENDING_TAGS = _BLOCK_TAGS | _HEADINGS | _TABLE_PARTS | {"p", "div", "ul", "ol", "li", "blockquote", "pre", "hr", "br"}
# CJK scripts (ideographs, kana, bopomofo, CJK punctuation, full-width forms). Tested by code
# point rather than a regex class: compiling a class this wide costs ~1.5 ms of start-up.
_CJK_RANGES = ((0x2E80, 0x312F), (0x31A0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF))
# Line breaks between two non-ASCII characters: the only candidates for joining (a cheap filter).
_BLANK_LINES = lazy_compile(r"[ \t]*\n[ \t]*\n\s*")
_WIDE_BREAK = lazy_compile(r"(?<=[^\x00-\x7f])[ \t]*\n\s*(?=[^\x00-\x7f])")


def _is_cjk(char: str) -> bool:
    if not char:
        return False
    code = ord(char[0])
    if code < 0x2E80:  # most text: answered at once
        return False
    for low, high in _CJK_RANGES:
        if low <= code <= high:
            return True
    return False


def _drop_cjk_breaks(text: str) -> str:
    """A line break between two CJK characters is no word space (CSS Text 3 segment breaks)."""

    def replace(match: re.Match) -> str:
        start, end = match.start(), match.end()
        joined = start > 0 and end < len(text) and _is_cjk(text[start - 1]) and _is_cjk(text[end])
        return "" if joined else match.group(0)

    return _WIDE_BREAK.sub(replace, text)


_DESTINATION_ESCAPE = lazy_compile(r"[()]")  # the rest is percent-encoded by urls.clean_url


class _Writer(html2text.HTML2Text):
    """html2text configured for faithful CommonMark, with the fixes this job needs."""

    def __init__(self) -> None:
        super().__init__(bodywidth=0)
        # Text arrives decoded and in whole runs (see _replay; html.parser does the same with
        # convert_charrefs), so escaping sees `&lt;tag&gt;` as `<tag>`.
        self.convert_charrefs = True
        self.unicode_snob = True  # keep “”, —, é … as they are, never ASCII look-alikes
        self.inline_links = True
        self.wrap_links = False
        self.wrap_list_items = False
        self.ul_item_mark = "-"
        self.use_automatic_links = True
        self.images_to_alt = False
        self.table_depth = 0  # tables being written as GFM tables (layout tables excluded)
        self.tables: list[bool] = []  # open tables, innermost last: True for layout tables
        self.in_cell = False  # inside a cell of a table written as a GFM table
        self.cell_written_at = -1  # output length when the current cell began
        self.marker_written_at = -1  # output length right after the last list marker
        self.indent_after_block = ""  # indentation owed to text after a code block in a list item
        self.last_char = ""  # last non-space character of text written so far
        self.pending_space = False  # a line break after CJK text, not yet known to be a space
        self.quote_depth = 0  # <blockquote>s open, whether or not written as quotes
        self.plain_text = False  # the body has no block markup: its line breaks are breaks

    # -- tags ---------------------------------------------------------------------------
    def handle_tag(self, tag: str, attrs: dict, start: bool) -> None:
        if self.pending_space and tag in _LINE_ENDING_TAGS:
            self.pending_space = False  # a line break after CJK text, then a block: no space
        if tag in _BLOCK_TAGS:
            tag = "div"
        kind = _EMPHASIS_TAGS.get(tag)
        if kind is not None:
            if start:
                self._before_inline()
            self.o(OPEN[kind] if start else CLOSE[kind])
            return
        if tag in _PLAIN_TAGS:
            return
        if self.in_cell and tag in _CELL_BLOCKS:
            self._inside_cell(tag, start)
            return
        if tag == "br":
            if start:
                self._hard_break()
            return
        if tag == "table":
            if start:
                self.tables.append(LAYOUT_TABLE in attrs)
            elif self.tables:
                self.tables.pop()
            self.table_depth = sum(1 for layout in self.tables if not layout)
        if tag in _TABLE_PARTS and self.tables and self.tables[-1]:
            tag = "div"  # a layout table's rows and cells are plain blocks
        if tag == "table" and start and self.list and self.table_depth:
            self.start = False  # a table cannot sit on a list marker's line: the item stays empty
            self.p()
        if tag in ("td", "th"):
            super().handle_tag(tag, attrs, start)
            self.in_cell = start
            self.cell_written_at = len(self.outtextlist)
            return
        if tag in ("p", "div") and self.list and not self.table_depth:
            # Paragraphs inside a list item: a blank line would end the item, so break the line.
            if not start:
                self._hard_break()
            return
        if tag == "pre":  # only code placeholders remain: see code.extract_code
            return
        if tag == "li":
            self._list_item(start)
            return
        if tag == "blockquote":
            self.quote_depth += 1 if start else -1
            if (self.quote_depth > MAX_QUOTE_NESTING) if start else (self.quote_depth >= MAX_QUOTE_NESTING):
                tag = "div"  # deeper quotes are paragraphs of the deepest one
        if tag == "img":
            if start and attrs.get("src"):
                self._image(attrs["src"], attrs.get("alt") or "")
            return
        if tag == "a" and not start and self.astack and self.astack[-1] and self._space_out_of_link():
            super().handle_tag(tag, attrs, start)
            self.space = True  # written before whatever follows the link
            return
        super().handle_tag(tag, attrs, start)

    def _space_out_of_link(self) -> bool:
        """Take a space that ends a link's text (`[Chris Coyier ](…)`) out of the brackets;
        True when there was one."""
        if self.space:  # pending, not written yet
            self.space = False
            return True
        last = self.outtextlist[-1] if self.outtextlist else ""
        if last.endswith(" ") and last.strip() and self.maybe_automatic_link is None:
            self.outtextlist[-1] = last.rstrip(" ")
            return True
        return False

    def _inside_cell(self, tag: str, start: bool) -> None:
        # A GFM cell holds one line: headings inside it become bold, list items and rules
        # line breaks, and quote or list containers nothing.
        if tag in _HEADINGS:
            self.o(OPEN["strong"] if start else CLOSE["strong"])
        elif start and tag in ("li", "hr") and len(self.outtextlist) > self.cell_written_at:
            self._hard_break()

    def _image(self, src: str, alt: str) -> None:
        # Written here rather than by html2text so that the alt text is escaped like any text
        # (html2text lets `<tag>` and `&lt;` through into the image description).
        self._before_inline()
        alt = escape_text(alt, in_brackets=True)
        destination = _DESTINATION_ESCAPE.sub(r"\\\g<0>", src)
        self.o(f"![{alt}]({destination})")

    def _list_item(self, start: bool) -> None:
        """A list item, indented by the width of each enclosing item's marker: CommonMark
        nests by content column (`10. ` is four wide), which html2text does not count."""
        if self.start and len(self.outtextlist) == self.marker_written_at:
            self.start = False  # the last item stayed empty: still end its line
        self.indent_after_block = ""
        self.pbr()
        if not start:
            return
        item = self.list[-1] if self.list else ListElement("ul", 0)
        outer_lists = self.list[:-1][: MAX_LIST_NESTING - 1]  # deeper items stay at the deepest level
        indent = "".join(" " * (len(f"{outer.num}.") + 1) if outer.name == "ol" else "  " for outer in outer_lists)
        if item.name == "ol":
            item.num += 1
            marker = f"{item.num}. "
        else:
            marker = self.ul_item_mark + " "
        self.o(indent + marker)
        self.list_code_indent = indent + " " * len(marker)
        self.start = True
        self.marker_written_at = len(self.outtextlist)

    def _open_link_text(self) -> None:
        # html2text writes a link's `[` lazily, at the link's first text; markers written
        # before that text must land inside the brackets, so write the `[` now.
        if self.maybe_automatic_link is not None:
            self.o("[")
            self.maybe_automatic_link = None
            self.empty_link = False

    def _before_inline(self) -> None:
        # Inline markup (emphasis marks, tags, images, code) starts the line's content like text.
        self._write_owed_indent()
        self._open_link_text()

    def _write_owed_indent(self) -> None:
        # What follows a code block in a list item is indented, or it would leave the list;
        # the indentation goes before any of it, markers included.
        if self.indent_after_block:
            self.o(self.indent_after_block)
            self.indent_after_block = ""

    def _hard_break(self) -> None:
        if self.table_depth:
            self.o("<br>")  # the only line break a GFM table cell can hold
        elif self.inheader:
            self.o(" ")
        else:
            quote = ">" * self.blockquote + " " if self.blockquote else ""
            self.o(BREAK_MARK + "\n" + quote)
            self.last_char = "\n"

    # -- text ---------------------------------------------------------------------------
    def handle_data(self, data: str, entity_char: bool = False) -> None:
        if not data or self.quiet:
            return
        if BLOCK_MARK in data or INLINE_MARK in data:
            self._placeholder(data)
            return
        if self.plain_text and "\n" in data:
            self._plain_lines(data)
            return
        if self.pending_space or "\n" in data:
            data = self._cjk_line_breaks(data)
            if not data:
                return
        tail = data.rstrip()
        if tail:
            self.last_char = tail[-1]
            if self.indent_after_block:
                self._write_owed_indent()
                data = data.lstrip()
        if "\u3000" in data:  # the ideographic space is a character of CJK text, not a gap
            data = data.replace("\u3000", IDEOGRAPHIC_SPACE)
        # html2text's own "space after emphasis" logic adds spaces before CJK: switch it off.
        self.stressed = self.preceding_stressed = False
        super().handle_data(escape_text(data, in_brackets=any(self.astack)), entity_char=True)

    def _plain_lines(self, data: str) -> None:
        """Text of a plain-text body: each line stays a line, a blank line ends a paragraph."""
        self.plain_text = False  # (each piece below is ordinary text)
        try:
            paragraphs = [p for p in _BLANK_LINES.split(data)]
            for n, paragraph in enumerate(paragraphs):
                if n:
                    self.p()
                for k, line in enumerate(paragraph.split("\n")):
                    if k and line.strip():
                        self._hard_break()
                    if line.strip():
                        self.handle_data(line.strip() if k or n else line.rstrip())
        finally:
            self.plain_text = True

    def _cjk_line_breaks(self, data: str) -> str:
        """A line break next to CJK text is no word space (CSS Text 3 segment breaks). Inside
        this text run that is a substitution; at its edges the neighbour is in another run,
        so a break after CJK text is held back until the next run shows what follows."""
        if data.isspace():  # whitespace between tags, the common case
            if "\n" in data and _is_cjk(self.last_char):
                self.pending_space = True
                return ""
            self.pending_space = False
            return data
        data = _drop_cjk_breaks(data)
        head = data.lstrip()
        starts_cjk = _is_cjk(head[:1])
        if self.pending_space:
            self.pending_space = False
            if head and not starts_cjk and not data[0].isspace():
                data = " " + data
        if starts_cjk and "\n" in data[: len(data) - len(head)] and _is_cjk(self.last_char):
            data = head
        stripped = data.rstrip()
        if "\n" in data[len(stripped) :] and _is_cjk(stripped[-1:] or self.last_char):
            self.pending_space = True
            return stripped
        return data

    def _placeholder(self, data: str) -> None:
        for piece in _ONE_PLACEHOLDER.split(data):
            if not piece:
                continue
            if piece[0] == BLOCK_MARK and self.list and not self.astack:
                # A code block inside a list item: its own lines, at the item's indentation
                # (or on the marker's line when it is the item's first content).
                self.p()
                self.o(piece if self.start else self.list_code_indent + piece)
                self.p()
                self.last_char = "`"
                self.indent_after_block = self.list_code_indent
            elif piece[0] in (BLOCK_MARK, INLINE_MARK) and piece[-1] == piece[0]:
                self._before_inline()
                self.o(piece)
                self.last_char = "`"
            else:
                self.handle_data(piece)


# Elements that never have content or an end tag (HTML's void elements).
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())


def _replay(tree: LexborNode, writer: _Writer) -> None:
    """Give `writer` the parser events (start tag, text, end tag) of everything under `tree`,
    in document order, as html.parser would from the tree's HTML: the cleaning parse is the
    only parse. Iterative, since pages nest thousands deep; adjacent text nodes (left by
    unwrapped links) are one text run, as they would be in HTML."""
    node = tree.child
    depth = 0
    while node is not None:
        tag = node.tag or ""  # None for a processing instruction (`<?php …?>`): skipped
        if tag == "-text":
            run = [node.text_content]
            while node.next is not None and node.next.tag == "-text":
                node = node.next
                run.append(node.text_content)
            writer.handle_data("".join(run))
        elif tag[:1].isalpha():  # an element (not a comment)
            writer.handle_starttag(tag, list(node.attributes.items()))
            if tag not in _VOID:
                if node.child is not None:
                    node = node.child
                    depth += 1
                    continue
                writer.handle_endtag(tag)
        while node.next is None:  # the last child: close the parents it ends
            if depth == 0:
                return
            node = node.parent
            depth -= 1
            writer.handle_endtag(node.tag)
        node = node.next


def tree_to_markdown(tree: LexborNode | None, blocks: list[CodeBlock], spans: list[str], plain_text: bool = False) -> str:
    """Render a cleaned HTML tree (with code placeholders) to normalised Markdown;
    `plain_text`: the body has no block markup (clean.is_plain_text), so its lines are lines."""
    if tree is None:
        return ""
    writer = _Writer()
    writer.start = True
    writer.plain_text = plain_text
    _replay(tree, writer)
    del tree  # the caller handed over its only reference: the parsed page is freed here
    text = writer.optwrap(writer.finish())
    del writer  # its pieces of output (html2text's outtextlist) are one string now
    text = _layout(text)
    if blocks or spans:
        text = _substitute_code_spans(text, blocks, spans)
    if blocks:
        text = _BLOCK_PLACEHOLDER.sub(lambda m: "\n" + fenced(blocks[int(m.group(2))], m.group(1)) + "\n", text)
    text = resolve_marks(resolve_emphasis(text))
    text = resolve_line_starts(text)
    text = _resolve_breaks(text).replace(IDEOGRAPHIC_SPACE, "\u3000")
    return _final_layout(text)


def _substitute_code_spans(text: str, blocks: list[CodeBlock], spans: list[str]) -> str:
    """Inline code placeholders to code spans. Adjacent ones become one span, and a span
    next to a backtick gets a space of padding: backtick runs that touch would fuse."""
    pieces: list[str] = []
    last = 0
    own_lines = [(m.start(), m.end()) for m in _BLOCK_PLACEHOLDER.finditer(text)]  # in text order
    own_starts = [start for start, _ in own_lines]
    for match in _INLINE_PLACEHOLDERS.finditer(text):
        line = bisect.bisect_right(own_starts, match.start()) - 1  # the last block line starting here or before
        if line >= 0 and match.start() < own_lines[line][1]:
            continue
        code = "".join(code_of(placeholder, blocks, spans) for placeholder in _ONE_PLACEHOLDER.findall(match.group(0)))
        span = code_span(code)
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        if before == "`":
            span = " " + span
        if after == "`":
            span = span + " "
        pieces.append(text[last : match.start()])
        pieces.append(span)
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces)


# -- post-passes ----------------------------------------------------------------------------
_ONE_PLACEHOLDER = lazy_compile(f"({PLACEHOLDER})")
# Runs of placeholders in running text; a block placeholder alone on its line is a fenced block.
_INLINE_PLACEHOLDERS = lazy_compile(f"(?:{PLACEHOLDER})+")

# A code block placeholder alone on its line, after quote marks, indentation or a list marker.
_BLOCK_PLACEHOLDER = lazy_compile(
    f"^([ \\t>]*(?:(?:[-*+]|\\d{{1,9}}[.)])[ \\t]+)?){BLOCK_MARK}(\\d+){BLOCK_MARK}[ \\t{BREAK_MARK}]*$", re.M
)
def _strip_trailing_space(text: str) -> str:
    # Line by line: a regex `[ \t]+$` retries at every space of a long indentation, which is
    # quadratic in it (deeply nested lists).
    return "\n".join(line.rstrip(" \t\u00a0") for line in text.split("\n"))
_EMPTY_HEADING = lazy_compile(r"^[ \t>]*#{1,6}$")
# A block marker followed by more than one space (`##  text`, `-  text`): html2text's spaces.
# One is the style, and after a list marker more would move the item's content column.
_MARKER_GAP = lazy_compile(r"^((?:[ \t]*>)*[ \t]*(?:#{1,6}|[-+*]|\d{1,9}[.)]))[ \t]{2,}(?=\S)")
_EMPTY_QUOTE = lazy_compile(r"^(?:>[ \t]*)+$")
_FENCE_OPENING = lazy_compile(r"^[ >]*(?:(?:[-*+]|\d{1,9}[.)]) +)*(`{3,})")
_SPECIAL_STARTS = frozenset(" \t>#<")  # lines that may be empty headings, quotes or breaks


def _layout(text: str) -> str:
    return _tidy_tables(_strip_trailing_space(text))


# A <br> with nothing before it on its line breaks nothing, and would open an HTML block.
_LEADING_BR = lazy_compile(f"^({CONTAINER_PREFIX})(?:<br>[ \\t]*)+", re.M)


_DELIMITER_ROW = lazy_compile(r"^([ \t>]*)---(?:\|---)*$")


def _tidy_tables(text: str) -> str:
    """Rewrite html2text's tables as GFM tables with outer pipes and as many columns as the
    widest row: a renderer drops cells beyond the header's count (colspan), and a one-column
    table without pipes would be a setext heading. A table with no header text at all loses
    its delimiter row (it would show nothing)."""
    if "---" not in text:
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        match = _DELIMITER_ROW.match(line)
        if not match:
            continue
        prefix = match.group(1)
        header = lines[i - 1] if i > 0 else ""
        if not header.startswith(prefix) or not header[len(prefix):].strip(" |"):
            lines[i] = prefix.rstrip()  # an empty table: nothing to show
            if i > 0 and header.startswith(prefix):
                lines[i - 1] = prefix.rstrip()
            continue
        end = i + 1
        while end < len(lines) and lines[end].startswith(prefix) and lines[end][len(prefix):].strip():
            end += 1
        rows = {k: [cell.strip() for cell in _CELL_SPLIT.split(lines[k][len(prefix):])] for k in (i - 1, *range(i + 1, end))}
        width = max(len(cells) for cells in rows.values())
        for k, cells in rows.items():
            lines[k] = f"{prefix}| " + " | ".join(cells + [""] * (width - len(cells))) + " |"
        lines[i] = f"{prefix}|" + "|".join(["---"] * width) + "|"
    return "\n".join(lines)


_CELL_SPLIT = lazy_compile(r"(?<!\\)\|")


def _final_layout(text: str, converted: bool = True) -> str:
    """No trailing spaces, no runs of blank lines, no empty headings, no empty quote lines
    except between two quoted paragraphs; code blocks untouched; one final newline."""
    # U+FEFF opening the body would be taken for a byte-order mark by the next reader (and
    # by feed2md itself): converting the output again would change it.
    text = text.lstrip("\ufeff")
    # Pass 1: each line on its own (code lines kept as they are, their numbers noted).
    lines: list[str] = []
    code_lines: set[int] = set()
    fence = ""
    for line in text.split("\n"):
        if fence:
            code_lines.add(len(lines))
            lines.append(line)
            if line.lstrip(" >").rstrip() == fence:
                fence = ""
            continue
        opening = _FENCE_OPENING.match(line)
        if opening:
            fence = opening.group(1)
        line = line.rstrip()
        if converted and "  " in line[:24]:  # (in a body that was Markdown already, it may be code)
            line = _MARKER_GAP.sub(r"\1 ", line)
        if line[:1] in _SPECIAL_STARTS or (converted and "<br>" in line):  # else: plain text
            if converted and "<br>" in line:
                line = _LEADING_BR.sub(r"\1", line).rstrip()
            if _EMPTY_HEADING.match(line):
                continue
            if _EMPTY_QUOTE.match(line):
                line = "".join(line.split())
            elif not line.strip():
                line = ""
        lines.append(line)
    # Pass 2: blank lines and empty quote lines, which depend on their neighbours.
    out: list[str] = []
    next_text = -1  # index of the next line that is not an empty quote line (found once per run)
    for i, line in enumerate(lines):
        if i in code_lines:
            out.append(line)
            continue
        if line[:1] == ">" and _EMPTY_QUOTE.match(line):
            if not out or not out[-1].startswith(">") or _EMPTY_QUOTE.match(out[-1]):
                continue
            if next_text <= i:
                next_text = i + 1
                while next_text < len(lines) and _EMPTY_QUOTE.match(lines[next_text]):
                    next_text += 1
            if not (lines[next_text] if next_text < len(lines) else "").startswith(">"):
                continue
        elif not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n" if out else ""


_NEW_BLOCK = lazy_compile(f"^[ \\t>]*(?:[-*+] |\\d{{1,9}}[.)] |#{{1,6}} |```|{BLOCK_MARK}|$)")


def _resolve_breaks(text: str) -> str:
    if BREAK_MARK not in text:
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if BREAK_MARK not in line:
            continue
        body = line.replace(BREAK_MARK, "").rstrip()
        if not body.strip(" >"):
            lines[i] = body.strip()  # a line that held only breaks: a paragraph break
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        follows = nxt.replace(BREAK_MARK, "").strip(" >") != "" and not _NEW_BLOCK.match(nxt)
        lines[i] = body + ("\\" if follows and line.rstrip().endswith(BREAK_MARK) else "")
    return "\n".join(lines)


_reader = None


def markdown_parser():
    """The CommonMark (+ GFM tables, strikethrough) parser that reads Markdown back: to tell
    an already converted body from HTML (pipeline.py), and for verification. markdown-it-py
    is loaded on first use."""
    global _reader
    if _reader is None:
        from markdown_it import MarkdownIt

        _reader = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    return _reader


def normalise_markdown(text: str) -> str:
    """Layout clean-up for a body that is already Markdown (e.g. feed2md's own output)."""
    return _final_layout(_strip_trailing_space(text.replace("\r\n", "\n")), converted=False)
