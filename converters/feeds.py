"""Feeds in: RSS 0.9x/1.0/2.0 and Atom (through feedparser), JSON Feed 1.0/1.1 and OPML
subscription lists, from bytes to entries. Pure: no network, no files.

Each entry becomes the same record a scraped file gives (an `Article`: raw metadata and an
HTML body, plus the address relative links are resolved against), so one pipeline converts
both (pipeline.convert_article). feedparser is asked not to sanitise or rewrite the HTML:
feed2md's own cleaning applies, and feedparser's would drop the classes and company links
the site rules need.
"""

from __future__ import annotations

import html
import json
from typing import Any, NamedTuple

from .errors import ConversionError


class Article(NamedTuple):
    """One article from any reader: what the pipeline converts."""

    metadata: dict[str, Any]  # raw front-matter values (normalised by the pipeline)
    body: str  # HTML
    base_url: str = ""  # relative links and images are resolved against it
    name: str = ""  # how messages name it (a feed entry's id or link)


class Feed(NamedTuple):
    title: str
    link: str  # the site's address
    url: str  # where the feed was read from
    kind: str  # rss20, atom10, json11, …
    articles: list[Article]
    warnings: list[str]  # about the feed as a whole (ill-formed, duplicate ids, …)


MAX_FEED_BYTES = 64 * 1024 * 1024
DRIVER = "feed2md.converters.saxbuffered"


def parse_feed(data: bytes, url: str = "") -> Feed:
    """A feed's entries as articles. Raises ConversionError when `data` is no feed at all (an
    HTML page, an empty file, JSON that is not a JSON Feed); a feed that is ill-formed but
    readable (truncated, wrongly declared encoding) gives its valid entries and a warning."""
    if len(data) > MAX_FEED_BYTES:
        raise ConversionError(f"too large: {len(data) / 2**20:.1f} MiB, over the {MAX_FEED_BYTES >> 20} MiB limit")
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise ConversionError("empty file")
    if head[:1] in (b"{", b"["):
        return _json_feed(data, url)
    return _xml_feed(data, url)


def _xml_feed(data: bytes, url: str) -> Feed:
    import feedparser
    import feedparser.api

    if DRIVER not in feedparser.api.PREFERRED_XML_PARSERS:  # see saxbuffered.py: same result, faster
        feedparser.api.PREFERRED_XML_PARSERS.insert(0, DRIVER)

    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    warnings: list[str] = []
    if not parsed.version:
        if parsed.bozo and not parsed.entries:
            raise ConversionError(f"not a feed ({_bozo(parsed)})")
        if b"<html" in data[:2048].lower() or b"<!doctype html" in data[:2048].lower():
            raise ConversionError("not a feed: an HTML page")
        if not parsed.entries:
            raise ConversionError("not a feed: no RSS, Atom or RDF root element")
    if parsed.bozo:
        warnings.append(f"ill-formed feed, read as far as possible ({_bozo(parsed)})")
    info = parsed.feed
    feed_link = str(info.get("link") or "")
    feed_title = _plain(info.get("title_detail") or info.get("title") or "")
    articles = []
    for entry in parsed.entries:
        articles.append(_xml_entry(entry, feed_title, feed_link, url))
    if not articles:
        warnings.append("the feed has no entries")
    return Feed(feed_title, feed_link, url, parsed.version or "unknown", articles, warnings + _duplicates(articles))


def _bozo(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    text = " ".join(str(exc).split()) if exc is not None else "unknown error"
    return text[:200]


def _plain(detail: Any) -> str:
    """A title's text: entities decoded, never markup (feedparser gives html titles as HTML)."""
    if isinstance(detail, dict):
        value, kind = str(detail.get("value") or ""), str(detail.get("type") or "text/plain")
    else:
        value, kind = str(detail or ""), "text/plain"
    if "html" in kind:
        from .metadata import plain_title

        text = plain_title(value)  # markup reduced to its text, entities decoded once
        value = html.unescape(value) if text == value else text
    return " ".join(value.split())


def _body_of(entry: Any) -> tuple[str, str]:
    """The fullest content and its base: content:encoded or Atom content before the summary.
    Text content is text: escaped, one paragraph per blank-line block, line breaks kept."""
    candidates = list(entry.get("content") or [])
    summary = entry.get("summary_detail")
    if summary is not None and not candidates:
        candidates = [summary]
    if not candidates:
        return "", ""
    best = max(candidates, key=lambda c: len(c.get("value") or ""))
    value, kind = str(best.get("value") or ""), str(best.get("type") or "text/html")
    if kind == "text/plain":
        value = text_as_html(value)
    return value, str(best.get("base") or "")


def text_as_html(text: str) -> str:
    """Plain text as HTML that shows the same text: escaped, blank lines part paragraphs,
    each line a line."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join("<p>" + html.escape(p.strip("\n")).replace("\n", "<br>") + "</p>" for p in paragraphs)


def _xml_entry(entry: Any, feed_title: str, feed_link: str, url: str) -> Article:
    body, base = _body_of(entry)
    meta: dict[str, Any] = {}
    title = _plain(entry.get("title_detail") or entry.get("title") or "")
    if title:
        meta["title"] = title
    # dict.get: feedparser's own get("updated") falls back to `published`, with a warning.
    published, updated = dict.get(entry, "published"), dict.get(entry, "updated")
    meta["date"] = published or updated or _struct(dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed"))
    if updated and published and updated != published:
        meta["updated"] = updated
    if not meta["date"]:
        del meta["date"]
    authors = [a.get("name") for a in entry.get("authors") or [] if isinstance(a, dict) and a.get("name")]
    if not authors and entry.get("author"):
        authors = [entry["author"]]
    if len(authors) == 1:
        meta["author"] = authors[0]
    elif authors:
        meta["authors"] = authors
    tags = [str(t.get("term") or t.get("label") or "").strip() for t in entry.get("tags") or []]
    if any(tags):
        meta["categories"] = [t for t in dict.fromkeys(tags) if t]
    link = str(entry.get("link") or "")
    if link:
        meta["link"] = link
    if entry.get("id") and str(entry["id"]).strip():
        meta["id"] = str(entry["id"]).strip()
    meta["feed"] = {k: v for k, v in (("title", feed_title), ("url", url or feed_link)) if v}
    enclosures = []
    for item in entry.get("enclosures") or []:
        if item.get("href"):
            enclosure = {"url": item["href"]}
            if item.get("type"):
                enclosure["type"] = item["type"]
            if str(item.get("length") or "").isdigit() and int(item["length"]):
                enclosure["length"] = int(item["length"])
            enclosures.append(enclosure)
    if enclosures:
        meta["enclosures"] = enclosures
    cover = _cover(entry, enclosures)
    if cover:
        meta["cover"] = cover
    return Article(meta, body, base or link or feed_link or url, meta.get("id") or link or title)


def _cover(entry: Any, enclosures: list[dict]) -> str:
    for thumb in entry.get("media_thumbnail") or []:
        if isinstance(thumb, dict) and thumb.get("url"):
            return thumb["url"]
    for item in entry.get("media_content") or []:
        if isinstance(item, dict) and item.get("url") and str(item.get("medium") or item.get("type") or "").startswith("image"):
            return item["url"]
    for item in enclosures:
        if str(item.get("type") or "").startswith("image/"):
            return item["url"]
    return ""


def _struct(value: Any) -> str:
    if not value:
        return ""
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", value)


def _duplicates(articles: list[Article]) -> list[str]:
    seen: dict[str, int] = {}
    for article in articles:
        ident = article.metadata.get("id")
        if ident:
            seen[ident] = seen.get(ident, 0) + 1
    repeated = [ident for ident, count in seen.items() if count > 1]
    if not repeated:
        return []
    return [f"{len(repeated)} id(s) shared by several entries (first: {repeated[0]!s:.80}); those are told apart by link or content"]


# -- JSON Feed ----------------------------------------------------------------------------------
def _json_feed(data: bytes, url: str) -> Feed:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConversionError(f"not a feed: invalid JSON ({exc})") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise ConversionError("not a feed: JSON without a JSON Feed version (https://jsonfeed.org/version/1.1)")
    version = "json" + str(doc["version"]).rsplit("/", 1)[-1].replace(".", "")
    title = " ".join(str(doc.get("title") or "").split())
    home = str(doc.get("home_page_url") or "")
    feed_url = url or str(doc.get("feed_url") or "")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ConversionError("not a feed: a JSON Feed needs an items list")
    feed_authors = _json_authors(doc)
    articles = [_json_item(item, title, home, feed_url, feed_authors) for item in items if isinstance(item, dict)]
    warnings = [] if len(articles) == len(items) else [f"{len(items) - len(articles)} item(s) are not objects; skipped"]
    return Feed(title, home, feed_url, version, articles, warnings + _duplicates(articles))


def _json_authors(obj: dict) -> list[str]:
    authors = obj.get("authors")
    if not isinstance(authors, list):
        authors = [obj["author"]] if isinstance(obj.get("author"), dict) else []
    return [str(a["name"]).strip() for a in authors if isinstance(a, dict) and str(a.get("name") or "").strip()]


def _json_item(item: dict, feed_title: str, home: str, feed_url: str, feed_authors: list[str]) -> Article:
    meta: dict[str, Any] = {}
    if str(item.get("title") or "").strip():
        meta["title"] = " ".join(str(item["title"]).split())
    for key, source in (("date", "date_published"), ("updated", "date_modified")):
        if item.get(source):
            meta[key] = str(item[source])
    if "date" not in meta and "updated" in meta:
        meta["date"] = meta.pop("updated")
    if meta.get("updated") == meta.get("date"):
        meta.pop("updated", None)
    authors = _json_authors(item) or feed_authors
    if len(authors) == 1:
        meta["author"] = authors[0]
    elif authors:
        meta["authors"] = authors
    tags = [str(t).strip() for t in item.get("tags") or [] if str(t).strip()]
    if tags:
        meta["categories"] = list(dict.fromkeys(tags))
    link = str(item.get("url") or item.get("external_url") or "")
    if link:
        meta["link"] = link
    if item.get("external_url") and item.get("url") and item["external_url"] != item["url"]:
        meta["external_url"] = str(item["external_url"])
    if str(item.get("id") or "").strip():
        meta["id"] = str(item["id"]).strip()
    meta["feed"] = {k: v for k, v in (("title", feed_title), ("url", feed_url or home)) if v}
    attachments = [{"url": a["url"], **({"type": a["mime_type"]} if a.get("mime_type") else {}),
                    **({"length": a["size_in_bytes"]} if isinstance(a.get("size_in_bytes"), int) else {})}
                   for a in item.get("attachments") or [] if isinstance(a, dict) and a.get("url")]
    if attachments:
        meta["enclosures"] = attachments
    cover = item.get("image") or item.get("banner_image")
    if isinstance(cover, str) and cover:
        meta["cover"] = cover
    if isinstance(item.get("content_html"), str) and item["content_html"].strip():
        body = item["content_html"]
    elif isinstance(item.get("content_text"), str):
        body = text_as_html(item["content_text"])
    else:
        body = text_as_html(str(item.get("summary") or ""))
    return Article(meta, body, link or home or feed_url, meta.get("id") or link or meta.get("title", ""))


# -- OPML ---------------------------------------------------------------------------------------
class Subscription(NamedTuple):
    url: str
    title: str
    folder: str  # the outline path it sits in ("tech/blogs"), "" at the top


def parse_opml(data: bytes) -> list[Subscription]:
    """The feeds an OPML subscription list names (every outline with an xmlUrl), in order."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(data)  # expat bounds entity expansion (billion laughs)
    except ET.ParseError as exc:
        raise ConversionError(f"not an OPML file: {exc}") from None
    if root.tag.lower() != "opml":
        raise ConversionError(f"not an OPML file: the root element is <{root.tag}>")
    body = root.find("body")
    found: list[Subscription] = []

    def visit(node: Any, path: list[str]) -> None:
        for outline in node.findall("outline"):
            label = " ".join((outline.get("title") or outline.get("text") or "").split())
            if outline.get("xmlUrl"):
                found.append(Subscription(outline.get("xmlUrl").strip(), label, "/".join(path)))
            visit(outline, [*path, label] if not outline.get("xmlUrl") and label else path)

    if body is not None:
        visit(body, [])
    return found
