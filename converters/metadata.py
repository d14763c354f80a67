"""Front matter: parse what scrapers wrote, normalise it, write valid YAML.

This module owns the metadata half of an article: reading the YAML (with python-frontmatter's
handler, falling back to line-by-line recovery for the invalid YAML scrapers produce),
normalising dates, lists, strings and the cover image, and serialising it in a stable order.
Every change it makes is reported as a human-readable note.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from .lazyre import lazy_compile
from .rules import read_toml

try:  # libyaml's C loader and dumper when PyYAML has them
    from yaml import CSafeDumper as _Dumper
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper
    from yaml import SafeLoader as _Loader

from .errors import ConversionError
from .images import is_placeholder, unwrap_proxy
from .urls import is_safe

KEY_ORDER = ("title", "date", "author", "categories")
LIST_KEYS = ("categories", "tags")
# Keys whose values are dates (compared in lower case): Hexo's `updated`, Hugo's `lastmod`, …
DATE_KEYS = frozenset({"date", "updated", "lastmod", "modified", "published", "pubdate", "publishdate", "created",
                       "last_modified_at"})
IMAGE_KEYS = ("headimg", "thumbnail")
# Keys whose values are addresses (compared in lower case): each passes the scheme allow-list
# of body links, so that no `javascript:` or `data:text/html` reaches a template's href.
URL_KEYS = frozenset({
    "cover", "link", "url", "source", "source_url", "permalink", "canonical", "canonical_url", "image", "images",
    "banner", "featured_image", "og_image", "avatar", "origin", "original", "href", "feed", "enclosure",
    *IMAGE_KEYS,
})
# An alias may stand for a whole subtree: a 377-byte file can name 10^9 values ("billion
# laughs"). Front matter is small; past this many values, expanded, a file is refused.
MAX_YAML_VALUES = 10_000
# The original text of a date that cannot be read is kept under `<key>` + this suffix.
UNREAD_DATE_SUFFIX = "_original"
_KEY_LINE = lazy_compile(r"^([A-Za-z_][\w.-]*)\s*:\s?(.*)$")
_ITEM_LINE = lazy_compile(r"^\s*-\s*(.*)$")
_BULLETS = lazy_compile(r"^(?:[-—–•·*](?:\s+|$))+")  # `— 番剧`, ` -  - news`; never `---` or `*y`
_PLACEHOLDER_IMAGE = lazy_compile(r"(?:picsum\.photos|placehold\.it|placeholder\.com|dummyimage\.com|via\.placeholder)", re.I)
_RSS_DATE = lazy_compile(r"^(?:[A-Z][a-z]{2}, )?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (?:GMT|UTC|UT|\+0000)$")
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}
_CJK_DATE = lazy_compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日(?:\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?$")
_NAIVE_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d", "%b %d, %Y", "%B %d, %Y", "%d %b %Y")


class _BoundedLoader(_Loader):
    """The safe loader, with dates that YAML cannot build (`2021-13-45`, `0000-00-00`) kept
    as the text they were: a bad date is the article's problem, not a reason to fail."""


def _timestamp_or_text(loader: _BoundedLoader, node: yaml.Node) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, OverflowError):
        return loader.construct_scalar(node)


_BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return node.value


def _expanded_size(root: yaml.Node) -> int:
    """How many values `root` stands for with every alias expanded (memoised per node, so
    a bomb is measured without being expanded). Raises ConversionError past the bound or
    for a node that contains itself."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            if sizes[key] > MAX_YAML_VALUES:
                raise ConversionError(
                    f"front matter: YAML aliases expand to more than {MAX_YAML_VALUES:,} values (an alias bomb?)"
                )
            continue
        if key in sizes:
            continue
        if not isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
            sizes[key] = 1
            continue
        if key in open_nodes:
            raise ConversionError("front matter: a YAML alias refers to itself")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    return sizes[id(root)]


class _LimitedYAMLHandler(YAMLHandler):
    """python-frontmatter's YAML handler, loading with limits: aliases are expanded up to
    MAX_YAML_VALUES values (the cost of one file is bounded), impossible dates stay text."""

    def load(self, fm: str, **kwargs: object) -> Any:
        loader = _BoundedLoader(fm)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _expanded_size(node)
            return loader.construct_document(node)
        finally:
            loader.dispose()


_handler = _LimitedYAMLHandler()


def load_yaml(text: str) -> Any:
    """One YAML document, loaded with the front matter's limits."""
    return _handler.load(text)


def parse_front_matter(text: str | None, notes: list[str], syntax: str = "yaml") -> dict[str, Any]:
    """Front matter text to a dict; invalid YAML is recovered line by line (noted). TOML
    front matter (`syntax="toml"`) is read with tomllib; the output is always YAML."""
    if text is None or not text.strip():
        return {}
    if syntax == "toml":
        return _parse_toml(text, notes)
    try:
        data = _handler.load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        data = _recover(text)
        notes.append(f"front matter is not valid YAML{where}; recovered {len(data)} fields line by line")
        return data
    if data is None:
        return {}
    if not isinstance(data, dict):
        notes.append("front matter is not a mapping; kept under `front_matter`")
        return {"front_matter": data}
    return {str(k): v for k, v in data.items()}


def _parse_toml(text: str, notes: list[str]) -> dict[str, Any]:
    try:
        return read_toml(text)
    except ValueError as exc:
        notes.append(f"front matter is not valid TOML ({exc}); recovered line by line")
        return _recover(text.replace(" = ", ": "))


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _recovered_value(text: str) -> Any:
    """One recovered value: as YAML when that value alone is valid YAML (so that `{a: 1}`
    stays a mapping and `'x'` loses its quotes), else the text as written."""
    text = text.strip()
    if not text:
        return ""
    try:
        value = _handler.load(text)
    except (yaml.YAMLError, ConversionError, RecursionError):
        return _unquote(text)
    if value is None or (isinstance(value, (dict, list)) and text[0] not in "{["):
        return text  # `~`, `null`; `a: b` on one line (a title with a colon): the text as written
    return value


def _recover(text: str) -> dict[str, Any]:
    """Best-effort `key: value` / `- item` reading of YAML that a parser refused: one top-level
    key per line, list items under it, plain continuation lines; each value read as YAML on
    its own where it can be. Stray BOMs and tab indentation (not YAML) are taken as layout;
    complex keys (`? …`) cannot be recovered and are left out."""
    data: dict[str, Any] = {}
    key = None
    for line in text.split("\n"):
        line = line.replace("\ufeff", "")
        bare = line.lstrip(" \t")
        if not bare or bare.startswith("#"):
            continue
        if bare.startswith(("? ", ": ")) or bare in ("?", ":"):
            key = None  # a complex key and its value: not recoverable line by line
            continue
        match = _KEY_LINE.match(line.lstrip("\t"))
        if match and not line.startswith(" "):
            key, value = match.group(1), match.group(2)
            data[key] = _recovered_value(value) if value.strip() else []
            continue
        item = _ITEM_LINE.match(line)
        if key is not None and item and isinstance(data.get(key), list):
            data[key].append(_recovered_value(item.group(1)))
        elif key is not None and isinstance(data.get(key), str):
            data[key] = data[key] + " " + bare.strip()  # a plain value folded onto the next line
    return {k: (None if v == [] else v) for k, v in data.items()}


def parse_date(value: Any) -> dt.datetime | dt.date | None:
    """A date from what scrapers write: RFC 2822, ISO 8601, `YYYY-MM-DD HH:MM:SS`, YAML dates."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value  # Unix time, in s or ms
        if 1e8 < seconds < 1e10:
            return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
        return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    match = _RSS_DATE.match(text)  # the form RSSHub writes, read without email.utils (start-up)
    if match and match.group(2) in _MONTHS:
        day, month, year, hh, mm, ss = match.groups()
        return dt.datetime(int(year), _MONTHS[month], int(day), int(hh), int(mm), int(ss), tzinfo=dt.timezone.utc)
    match = _CJK_DATE.match(text)
    if match:
        year, month, day, hh, mm, ss = (int(g) if g else 0 for g in match.groups())
        try:
            return dt.datetime(year, month, day, hh, mm, ss)
        except ValueError:
            return None
    for fmt in _NAIVE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            pass
    import email.utils

    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def format_date(value: dt.datetime | dt.date, notes: list[str], key: str = "date") -> str:
    """ISO 8601; a time without zone is taken as UTC (noted), milliseconds are not padded."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
            notes.append(f"{key}: no time zone given; taken as UTC")
        if value.microsecond % 1000 == 0:
            return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
        return value.isoformat()
    return value.isoformat()


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [x for item in value for x in _flatten(item)]
    return [value]


def show(value: Any) -> str:
    """A front-matter value as it is written in YAML (`2021-07-30T06:47:26+00:00`, `[a, b]`),
    for messages: never a Python repr."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, str) and value and value.strip() == value and "\n" not in value:
        return value
    text = yaml.dump(value, Dumper=_FrontMatterDumper, allow_unicode=True, default_flow_style=True, width=10**9)
    return text.strip().removesuffix("...").rstrip()  # a lone scalar ends with YAML's `...`


def _clean_list(key: str, value: Any, notes: list[str]) -> Any:
    items: list[Any] = []
    flat = _flatten(value)
    if any(isinstance(item, dict) for item in flat):
        return value  # a structure of the author's own: kept as it is, never flattened to text
    for item in flat:
        if item is None:
            continue
        if isinstance(item, str):
            text: Any = _BULLETS.sub("", item.strip()).strip()
        elif isinstance(item, (dt.date, dt.datetime)):
            text = item.isoformat()
        else:
            text = item if isinstance(item, (int, float)) and not isinstance(item, bool) else str(item)
        if text != "" and text not in items:
            items.append(text)
    if items != value:
        notes.append(f"{key}: {show(value)} -> {show(items)}")
    return items or None


def _picture(value: Any) -> str:
    """The address of a real picture in a headimg/thumbnail value, proxies taken off; '' for
    a placeholder (random picture services, spacers), a page URL or a script URL."""
    if not isinstance(value, str):
        return ""
    url = value.strip()
    if url.startswith("//"):
        url = "https:" + url
    url = unwrap_proxy(url, image=True)
    if not url or not is_safe(url, image=True) or url.startswith("data:"):
        return ""
    if _PLACEHOLDER_IMAGE.search(url) or is_placeholder(url):
        return ""
    return url


_TAG_LIKE = lazy_compile(r"<[A-Za-z/!?]")


def plain_title(value: str) -> str:
    """A title as text: HTML in it (`<b>x</b>`, a `<script>`) is reduced to what a browser
    would show of it, entities included; a title without tags is left alone (`a < b`)."""
    if not _TAG_LIKE.search(value):
        return value
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(f"<body>{value}</body>")
    for node in tree.css("script, style, template, noscript, title, textarea, xmp"):
        node.decompose()
    body = tree.body
    return " ".join((body.text(deep=True) if body is not None else "").split())


def normalise(meta: dict[str, Any], notes: list[str], warnings: list[str] | None = None) -> dict[str, Any]:
    """Normalised metadata: trimmed strings, ISO dates (DATE_KEYS), clean lists, `cover` from
    headimg/thumbnail, titles as text, and no address field with a script URL. `notes` get
    every change, `warnings` what a user should look at (unreadable dates, unsafe addresses)."""
    warnings = notes if warnings is None else warnings
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if key == "title" and isinstance(value, (dt.date, dt.datetime)):
            value = str(value)  # a title that YAML read as a date is still its text
        if isinstance(value, str):
            trimmed = value.strip()
            if trimmed != value:
                notes.append(f"{key}: trimmed whitespace")
            value = trimmed
        if key == "title" and isinstance(value, str):
            text = plain_title(value)
            if text != value:
                notes.append(f"title: HTML removed: {show(value)} -> {show(text)}")
                value = text
        if key in LIST_KEYS:
            value = _clean_list(key, value, notes) if value is not None else None
            if value is None:
                notes.append(f"{key}: empty, dropped")
                continue
        if key.lower() in URL_KEYS and key not in IMAGE_KEYS and not _safe_addresses(value):
            warnings.append(f"{key}: {show(value)} dropped: not a safe address (script or data URL)")
            continue
        out[key] = value

    for key in [k for k in out if k.lower() in DATE_KEYS]:
        _normalise_date(out, key, notes, warnings)

    images = [(k, out.pop(k)) for k in IMAGE_KEYS if k in out]
    if images and "cover" not in out:
        real = next((url for url in (_picture(v) for _, v in images) if url), "")
        if real:
            out["cover"] = real
    for key, value in images:
        if out.get("cover") == value:
            notes.append(f"{key}: became cover")
        elif out.get("cover") and out["cover"] == _picture(value):
            notes.append(f"{key}: became cover, proxy removed: {out['cover']}")
        else:
            notes.append(f"{key}: {show(value)} dropped (placeholder, page URL or duplicate of cover)")

    ordered = {k: out[k] for k in KEY_ORDER if k in out}
    ordered.update((k, v) for k, v in out.items() if k not in ordered)
    return ordered


def _safe_addresses(value: Any) -> bool:
    """False when a string of `value` (or of its list) is a script-bearing URL."""
    items = value if isinstance(value, list) else [value]
    return all(is_safe(item.strip()) for item in items if isinstance(item, str))


_HAS_DIGIT = lazy_compile(r"\d")


def _normalise_date(out: dict[str, Any], key: str, notes: list[str], warnings: list[str]) -> None:
    """A date key becomes ISO 8601, or goes: an unreadable value is never written as if it
    were a date. Its text is kept under `<key>_original` when it holds digits (a date the
    reader could not take, `2021-02-30`, `昨天`), and dropped when it holds no date at all
    (ASCII words without a digit: `Invalid Date`, `N/A`); a warning says which."""
    value = out[key]
    parsed = parse_date(value)
    if parsed is None:
        del out[key]
        if value in (None, "") or value == []:
            notes.append(f"{key}: empty, dropped")
        elif isinstance(value, str) and value.isascii() and not _HAS_DIGIT.search(value):  # `Invalid Date`, `N/A`
            warnings.append(f"{key}: {show(value)} is no date; dropped")
        else:
            out[key + UNREAD_DATE_SUFFIX] = value if isinstance(value, str) else show(value)
            warnings.append(f"{key}: {show(value)} is not a date I can read; kept as {key}{UNREAD_DATE_SUFFIX}")
        return
    iso = format_date(parsed, notes, key)
    if str(value) != iso and not isinstance(value, (dt.date, dt.datetime)):
        notes.append(f"{key}: {show(value)} -> {iso}")
    out[key] = iso


class _IsoDate(str):
    """A date already in ISO 8601, to be written as a plain (unquoted) YAML timestamp."""


class _FrontMatterDumper(_Dumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # never `&id001`/`*id001`: a shared value is written out where it is used


_FrontMatterDumper.add_representer(
    _IsoDate, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:timestamp", str(value))
)


def dump_front_matter(meta: dict[str, Any]) -> str:
    """Serialise metadata as YAML between `---` lines, keys in the given order.

    Dates (DATE_KEYS) are written as unquoted ISO 8601 timestamps, which YAML reads as dates;
    every other value goes through PyYAML's safe dumper, which quotes whatever needs quoting.
    """
    if not meta:
        return ""
    data = {}
    for key, value in meta.items():
        if key.lower() in DATE_KEYS and isinstance(value, str) and _is_iso(value):
            value = _IsoDate(value)
        elif isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        data[key] = value
    text = yaml.dump(data, Dumper=_FrontMatterDumper, allow_unicode=True, sort_keys=False, width=10**9,
                     default_flow_style=False)
    return "---\n" + text + "---\n"


_ISO = lazy_compile(r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)?)?$")


def _is_iso(value: str) -> bool:
    """An ISO 8601 date or date-time that names a real day and time (not `2021-02-30`)."""
    if not _ISO.match(value):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
