"""Verification: does the Markdown still say everything the article said?

This module owns the comparison between a source article and its Markdown. The Markdown is
rendered by an independent CommonMark parser (markdown-it-py, with GFM tables and
strikethrough); both sides are read with selectolax and compared by text (block by block,
in order of the source), links, images, headings, list items, tables, code lines and the
front matter's title and date. Deliberate removals are not losses: site chrome named by
the rules, tracking anchors (their text must stay), script URLs and empty headings.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from selectolax.lexbor import LexborHTMLParser

from .article import split_article
from .clean import (active_rules, is_empty_anchor, site_hosts, is_plain_text, is_tracking_pixel, real_url, remove_chrome,
                    remove_hidden, resolve_relative, site_labels)
from .images import image_source, is_placeholder
from .code import PLACEHOLDER, code_of, extract_code
from .lazyre import lazy_compile
from .markdown import markdown_parser
from .markers import strip_marks
from .metadata import DATE_KEYS, format_date, normalise, parse_date, parse_front_matter, show
from .rules import RuleSet, default_rules
from .urls import is_safe

_BLOCKS = "p, div, li, h1, h2, h3, h4, h5, h6, blockquote, pre, td, th, tr, figcaption, section, table, ul, ol, dd, dt"
_SEP = "\x1f"
_BREAK = "\x1e"  # a <br> (or a line of a plain-text body) inside a block of the source
_EDGE = 8  # characters each side of a line break that identify it
_SPACE = lazy_compile(r"\s+")
_PLACEHOLDER = lazy_compile(PLACEHOLDER)
_SCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁱⁿ₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎", "0123456789+-=()in0123456789+-=()")


@dataclass
class _Facts:
    blocks: list[str]  # text of each block, whitespace removed
    junctions: list[tuple[str, str]]  # (text before, text after) each line break inside a block
    lines: str  # every line of every block, whitespace removed, one per line
    links: list[str]
    images: list[str]
    headings: int
    list_items: int
    tables: int
    code_lines: list[str]


def _facts(root, code_text=None, plain_text: bool = False) -> _Facts:
    for node in root.css("br"):
        node.insert_after(_BREAK)
    for node in root.css(_BLOCKS):
        node.insert_after(_SEP)
    raw = root.text(deep=True) or ""
    if code_text is not None:
        raw = _PLACEHOLDER.sub(code_text, raw)
    if plain_text:
        raw = raw.replace("\n", _BREAK)
    blocks, junctions, all_lines = [], [], []
    for part in raw.split(_SEP):
        lines = [line for line in (_SPACE.sub("", piece) for piece in part.split(_BREAK)) if line]
        junctions.extend(zip(lines, lines[1:]))
        all_lines.extend(lines)
        if lines:
            blocks.append("".join(lines))
    links = [a.attributes.get("href") or "" for a in root.css("a[href]")]
    images = [i.attributes.get("src") or "" for i in root.css("img[src]")]
    # Headings and lists inside a table cell are written inline (a GFM cell is one line).
    headings = sum(
        1 for h in root.css("h1, h2, h3, h4, h5, h6") if _SPACE.sub("", h.text(deep=True) or "") and not _in_cell(h)
    )
    list_items = sum(1 for li in root.css("li") if not _in_cell(li))
    # A table holding a table is layout, written as plain blocks: only the others count.
    tables = sum(1 for table in root.css("table") if table.css_first("table") is None)
    return _Facts(blocks, junctions, "\n".join(all_lines), links, images, headings, list_items, tables, [])


def _in_cell(node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in ("td", "th"):
            return True
        parent = parent.parent
    return False


def _quote(text: str, limit: int = 40) -> str:
    return '"' + (text[:limit] + "…" if len(text) > limit else text) + '"'


def _first_missing(block: str, haystack: str) -> str:
    """The part of `block` from where it stops matching `haystack` (for the message)."""
    lo, hi = 0, len(block)
    while lo < hi:  # longest prefix found
        mid = (lo + hi + 1) // 2
        if block[:mid] in haystack:
            lo = mid
        else:
            hi = mid - 1
    return block[max(0, lo - 10) :]


def _not_found(needles: list[str], haystack: str) -> list[str]:
    """The needles that occur nowhere in `haystack`. Each is looked for first after the
    previous one (they mostly come in order), so that long articles take linear time."""
    missing = []
    cursor = 0
    for needle in needles:
        at = haystack.find(needle, cursor)
        if at < 0:
            at = haystack.find(needle)
        if at < 0:
            missing.append(needle)
        else:
            cursor = at + len(needle)
    return missing


def _glued(expected: _Facts, actual: _Facts) -> list[str]:
    """Line breaks of the source (a <br>, a line of a plain-text body) that the Markdown
    joins with nothing between, each shown as `before⏎after`. A break counts only where its
    two sides are found glued in the output, and nowhere glued in the source itself."""
    output_lines = actual.lines.translate(_SCRIPT_DIGITS)
    glued = []
    for before, after in expected.junctions:
        key = before[-_EDGE:] + after[:_EDGE]
        if key in output_lines and key not in expected.lines:
            glued.append(f"{before[-20:]}⏎{after[:20]}")
    return glued


def verify(source: str, markdown: str, rules: RuleSet | None = None, target: str = "gfm", base_url: str = "") -> list[str]:
    """Losses of `markdown` against the `source` article, as short readable messages;
    an empty list when nothing is lost. `target`: the publishing target the Markdown was
    written for (its renamed keys and template protection are read back first). `base_url`:
    what the conversion resolved relative addresses against (a feed entry's base)."""
    rules = rules or default_rules()
    src = split_article(strip_marks(source))
    out = split_article(markdown)
    losses: list[str] = []

    src_meta = parse_front_matter(src.front_matter, [], src.syntax)
    out_meta = parse_front_matter(out.front_matter, [], out.syntax)
    out_body = out.body
    if target != "gfm":
        from .targets import get_target, unprotect

        profile = get_target(target, rules.targets)
        out_meta = profile.original_keys(out_meta)
        out_body = unprotect(out_body, profile.protect)
    want = normalise(src_meta, [], [])  # what the front matter should say
    if str(want.get("title") or "").split() != str(out_meta.get("title") or "").split():
        losses.append(f"title changed: {_quote(str(want.get('title') or ''))} -> {_quote(str(out_meta.get('title') or ''))}")
    src_date, out_date = parse_date(src_meta.get("date")), parse_date(out_meta.get("date"))
    if src_date is not None and (out_date is None or format_date(src_date, []) != format_date(out_date, [])):
        losses.append(f"date changed: {show(src_meta.get('date'))} -> {show(out_meta.get('date'))}")
    for key, value in out_meta.items():
        if key.lower() in DATE_KEYS and value not in (None, "") and parse_date(value) is None:
            losses.append(f"{key} is not a date: {show(value)}")
    if want.get("cover") and unquote(str(out_meta.get("cover") or "")) != unquote(want["cover"]):
        losses.append(f"cover lost: {want['cover']}" + (f" (the output has {show(out_meta['cover'])})" if out_meta.get("cover") else ""))

    html, blocks, spans = extract_code(src.body, rules.code_chrome())
    tree = LexborHTMLParser(html).body
    if tree is None:
        return losses
    # The same rules the conversion applied; what they remove on purpose is not a loss.
    active = active_rules(html, rules, site_labels(normalise(src_meta, [])), site_hosts(src_meta) if base_url else frozenset())
    if base_url:
        resolve_relative(tree, base_url, active)
    remove_chrome(tree, active)
    remove_hidden(tree, active)  # a browser does not show it; the source link goes to the front matter
    for node in tree.css("img"):
        if is_tracking_pixel(node.attributes, active):
            node.decompose()  # a beacon that shows nothing: dropped on purpose
    for node in tree.css("iframe, object, embed"):
        node.decompose()  # players become links to their source; what they held is not text
    for node in tree.css(", ".join(active.companies)) if active.companies else []:
        node.unwrap()  # tracked company links: the anchor goes, its text must stay
    for node in tree.css("a[href]"):
        if is_empty_anchor(node):
            node.decompose()

    plain = is_plain_text(tree)
    expected = _facts(tree, lambda placeholder: code_of(placeholder.group(0), blocks, spans), plain)
    expected.links = [real_url(h, active, image=False) for h in expected.links if h and is_safe(h) and not h.startswith("#")]
    sources = (image_source(img.attributes, active.lazy_src) for img in tree.css("img"))
    expected.images = [real_url(s, active, image=True) if not s.startswith("data:") else s for s in sources
                       if s.strip() and is_safe(s, image=True)]
    expected.code_lines = [line.strip() for b in blocks for line in b.text.split("\n") if line.strip()]

    rendered_root = LexborHTMLParser(markdown_parser().render(out_body)).body
    if rendered_root is None:
        rendered_root = LexborHTMLParser("<p></p>").body
    # Code lines may land in a block or, where a block cannot go (a table cell), a code span.
    rendered_code = "\n".join(node.text() or "" for node in rendered_root.css("pre, code"))
    actual = _facts(rendered_root)
    # Superscripts and subscripts may be written as Unicode characters (10⁹, H₂O): the same text.
    haystack = "".join(actual.blocks).translate(_SCRIPT_DIGITS)

    missing_blocks = _not_found(expected.blocks, haystack)
    for block in missing_blocks[:5]:
        losses.append(f"missing text: {_quote(_first_missing(block, haystack))}")
    if len(missing_blocks) > 5:
        losses.append(f"… and {len(missing_blocks) - 5} more passages of missing text")
    # markdown-it percent-encodes destinations (non-ASCII, `|`, …): compare them decoded.
    have_links = {unquote(link) for link in actual.links}
    for link in dict.fromkeys(expected.links):
        if unquote(link) not in have_links:
            losses.append(f"missing link: {link}")
    have_images = {unquote(src) for src in actual.images}
    want_images = {unquote(src) for src in expected.images}
    lost_images = [s for s in expected.images if unquote(s) not in have_images]
    if lost_images:
        losses.append(f"{len(lost_images)} image{'s' if len(lost_images) > 1 else ''} missing: {lost_images[0]}")
        placeholders = [src for src in actual.images if is_placeholder(src) and unquote(src) not in want_images]
        if placeholders:
            losses.append(f"image is a placeholder: {placeholders[0]} (the source's picture: {lost_images[0]})")
    glued = _glued(expected, actual)
    if glued:
        losses.append(f"{len(glued)} line break{'s' if len(glued) > 1 else ''} lost: {_quote(glued[0], 60)}")
    for link in dict.fromkeys(actual.links):
        if link.startswith("#"):
            continue
        if unquote(real_url(link, active, image=False)) != unquote(link):
            losses.append(f"tracking or redirect left in link: {link}")
    for name, want, got in (
        ("headings", expected.headings, actual.headings),
        ("tables", expected.tables, actual.tables),
    ):
        if got < want:
            losses.append(f"{want - got} of {want} {name} missing")
    if actual.list_items < expected.list_items:
        losses.append(f"{expected.list_items - actual.list_items} of {expected.list_items} list items missing")
    lost_code = [line for line in _not_found(expected.code_lines, rendered_code) if " ".join(line.split()) not in rendered_code]
    if lost_code:
        losses.append(f"{len(lost_code)} code line{'s' if len(lost_code) > 1 else ''} changed or missing: {_quote(lost_code[0])}")
    return losses


