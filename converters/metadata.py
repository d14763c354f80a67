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

try:  # libyaml's C dumper when PyYAML has it
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper

KEY_ORDER = ("title", "date", "author", "categories")
LIST_KEYS = ("categories", "tags")
# Keys whose values are dates (compared in lower case): Hexo's `updated`, Hugo's `lastmod`, …
DATE_KEYS = frozenset({"date", "updated", "lastmod", "modified", "published", "pubdate", "publishdate", "created"})
IMAGE_KEYS = ("headimg", "thumbnail")
_handler = YAMLHandler()
_KEY_LINE = lazy_compile(r"^([A-Za-z_][\w.-]*)\s*:\s?(.*)$")
_ITEM_LINE = lazy_compile(r"^\s*-\s*(.*)$")
_BULLETS = lazy_compile(r"^(?:[-—–•·*]\s*)+")
_PLACEHOLDER_IMAGE = lazy_compile(r"(?:picsum\.photos|placehold\.it|placeholder\.com|dummyimage\.com|via\.placeholder)", re.I)
_PAGE_URL = lazy_compile(r"\.(?:s?html?|php|aspx?|jsp)(?:[?#]|$)|^[a-z]+://[^/]+/?(?:[?#]|$)", re.I)
_RSS_DATE = lazy_compile(r"^(?:[A-Z][a-z]{2}, )?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (?:GMT|UTC|UT|\+0000)$")
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}
_CJK_DATE = lazy_compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日(?:\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?$")
_NAIVE_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d", "%b %d, %Y", "%B %d, %Y", "%d %b %Y")


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


def _recover(text: str) -> dict[str, Any]:
    """Best-effort `key: value` / `- item` reading of YAML that a parser refused."""
    data: dict[str, Any] = {}
    key = None
    for line in text.split("\n"):
        match = _KEY_LINE.match(line)
        if match and not line.startswith((" ", "\t")):
            key, value = match.group(1), match.group(2)
            data[key] = _unquote(value) if value.strip() else []
            continue
        item = _ITEM_LINE.match(line)
        if key is not None and item and isinstance(data.get(key), list):
            data[key].append(_unquote(item.group(1)))
        elif key is not None and line.strip() and isinstance(data.get(key), str):
            data[key] = data[key] + "\n" + line.strip()  # a value continued on the next line
    for k, v in data.items():
        if isinstance(v, str):
            data[k] = _unquote(v)
        elif v == []:
            data[k] = None
    return data


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


def _clean_list(key: str, value: Any, notes: list[str]) -> list[str] | None:
    items = []
    for item in _flatten(value):
        if item is None:
            continue
        text = _BULLETS.sub("", str(item).strip()).strip() if isinstance(item, str) else str(item)
        if text and text not in items:
            items.append(text)
    if items != value:
        notes.append(f"{key}: {value!r} -> {items!r}")
    return items or None


def _is_real_image(url: str) -> bool:
    return bool(url) and not _PLACEHOLDER_IMAGE.search(url) and not _PAGE_URL.search(url)


def normalise(meta: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """Normalised metadata: trimmed strings, ISO dates (DATE_KEYS), clean lists, `cover` from
    headimg/thumbnail."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if key == "title" and isinstance(value, (dt.date, dt.datetime)):
            value = str(value)  # a title that YAML read as a date is still its text
        if isinstance(value, str):
            trimmed = value.strip()
            if trimmed != value:
                notes.append(f"{key}: trimmed whitespace")
            value = trimmed
        if key in LIST_KEYS:
            value = _clean_list(key, value, notes) if value is not None else None
            if value is None:
                notes.append(f"{key}: empty, dropped")
                continue
        out[key] = value

    for key in [k for k in out if k.lower() in DATE_KEYS]:
        _normalise_date(out, key, notes)

    images = [(k, out.pop(k)) for k in IMAGE_KEYS if k in out]
    if images and "cover" not in out:
        real = next((str(v).strip() for _, v in images if isinstance(v, str) and _is_real_image(v.strip())), "")
        if real:
            out["cover"] = real
    for key, value in images:
        if out.get("cover") == value:
            notes.append(f"{key}: became cover")
        else:
            notes.append(f"{key}: {value!r} dropped (placeholder, page URL or duplicate of cover)")

    ordered = {k: out[k] for k in KEY_ORDER if k in out}
    ordered.update((k, v) for k, v in out.items() if k not in ordered)
    return ordered


def _normalise_date(out: dict[str, Any], key: str, notes: list[str]) -> None:
    value = out[key]
    parsed = parse_date(value)
    if parsed is None:
        if value in (None, ""):
            notes.append(f"{key}: empty, dropped")
            del out[key]
        else:
            notes.append(f"{key}: {value!r} is not a date I can read; kept as written")
        return
    iso = format_date(parsed, notes, key)
    if str(value) != iso and not isinstance(value, (dt.date, dt.datetime)):
        notes.append(f"{key}: {value!r} -> {iso}")
    out[key] = iso


class _IsoDate(str):
    """A date already in ISO 8601, to be written as a plain (unquoted) YAML timestamp."""


class _FrontMatterDumper(_Dumper):
    pass


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
    return bool(_ISO.match(value))
