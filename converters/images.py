"""Images: the real picture behind an <img>, and addresses freed of proxies.

This module owns what an article's pictures really are. Lazy-loading pages keep the picture in
`data-src` and friends (the list is site-rule data: `lazy_src`) behind a placeholder `src`
(a data-URI GIF, `undefined`, a loading spinner, the page's own URL) or a low-quality
thumbnail; `srcset` names several sizes. Scrapers and CDNs wrap addresses in proxies
(`https://cors.example/?http://…`, `http://host/p/https://…`, `?url=http…`). Pure functions
over strings and attribute dicts; cleaning (clean.py), verification and the front-matter
cover use the same ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from .lazyre import lazy_compile

_ABSOLUTE = lazy_compile(r"^(?:https?:)?//[^/\s]", re.I)
_HTTP = lazy_compile(r"^https?://", re.I)
_ENCODED_HTTP = lazy_compile(r"^https?%3A%2F%2F", re.I)
_ONE_SLASH = lazy_compile(r"^(https?:)/(?!/)", re.I)  # `http:/x`: a slash lost in a path
_SRCSET_SPLIT = lazy_compile(r",(?=\s)|(?<=\d[wx]),")
# A placeholder's file name: spinners, spacers, blank and default pictures.
_PLACEHOLDER_NAME = lazy_compile(
    r"(?:^|/)(?:blank|loading|loader|lazy(?:load)?|placeholder|spacer|grey|gray|transparent|pixel|default|1x1)"
    r"(?:[-_.][\w-]*)?\.(?:gif|png|svg|jpe?g|webp)(?:[?#]|$)"
)
_PAGE = lazy_compile(r"\.(?:s?html?|php|aspx?|jsp)(?:[?#]|$)|/undefined/?(?:[?#]|$)|^[a-z]+://[^/]+/?(?:[?#]|$)")
_NOT_A_PICTURE = frozenset({"", "undefined", "null", "none", "#", "about:blank", "false"})
# Image proxies that carry the picture in a query parameter (images only: for a link the same
# shape is a redirect, which the rules and the wrapper detector handle).
_PROXY_PARAMS = ("url", "u", "src", "image", "img", "imgurl", "source")
# Archives keep a page at a time, in the same path shape as a proxy; they are not proxies.
_ARCHIVE_HOSTS = ("web.archive.org", "archive.org", "archive.ph", "archive.today", "archive.is", "webcache.googleusercontent.com")
_PATH_PROXY = lazy_compile(r"^(https?://[^/?#]+)(/[^?#]*?)?/(https?:/?/.+|https?%3A%2F%2F.+)$", re.I)


def no_picture(url: str) -> bool:
    """True for an address that names no picture at all: empty, `undefined`, `#`."""
    return (url or "").strip().lower() in _NOT_A_PICTURE


def is_placeholder(url: str) -> bool:
    """True for what lazy-loading pages put in `src` while the real picture waits elsewhere:
    no_picture, a data-URI GIF or SVG or a tiny data URI (spacers), a spinner or blank picture
    by its file name, or a page rather than a picture (`…/p/undefined`, `.html`, a bare host).
    Never the picture when another address is given; kept when it is all there is."""
    lowered = (url or "").strip().lower()
    if no_picture(lowered):
        return True
    if lowered.startswith("data:"):
        return lowered.startswith(("data:image/gif", "data:image/svg")) or len(lowered) < 200
    path = lowered.split("?", 1)[0].split("#", 1)[0]
    return bool(_PLACEHOLDER_NAME.search(path) or _PAGE.search(lowered))


def _looks_like_address(value: str) -> bool:
    value = value.strip()
    return bool(value) and not any(c.isspace() for c in value) and (
        _ABSOLUTE.match(value) is not None or value.startswith(("/", "./", "../", "data:image/")) or "." in value
    )


def srcset_largest(srcset: str) -> str:
    """The largest candidate of a `srcset` (by width, else by density); '' when none.
    Commas inside a URL are kept: candidates are separated by a comma *after* whitespace or
    a descriptor, as the HTML standard reads them."""
    best, best_size = "", (-1.0, -1.0)
    for candidate in _srcset_candidates(srcset):
        url, *descriptors = candidate.split()
        width, density = 0.0, 1.0  # no descriptor means 1x
        for descriptor in descriptors:
            try:
                value = float(descriptor[:-1])
            except ValueError:
                continue
            if descriptor[-1:].lower() == "w":
                width = value
            elif descriptor[-1:].lower() == "x":
                density = value
        if (width, density) > best_size:
            best, best_size = url, (width, density)
    return best


def _srcset_candidates(srcset: str) -> Iterable[str]:
    # `url 2x, url2 3x`; a URL may hold commas itself, so split on ", " and on "," after a
    # descriptor only.
    for piece in _SRCSET_SPLIT.split(srcset or ""):
        piece = piece.strip().strip(",").strip()
        if piece:
            yield piece


def image_source(attrs: Mapping[str, str | None], lazy_attributes: Iterable[str] = ()) -> str:
    """The picture an <img> shows a reader: a lazy-load attribute's address first (sites put
    the full-size picture there and a placeholder or thumbnail in `src`), then `src` unless it
    is a placeholder, then the largest `srcset` candidate; '' when there is none."""
    for name in lazy_attributes:
        value = (attrs.get(name) or "").strip()
        if value and _looks_like_address(value) and not is_placeholder(value):
            return value
    src = (attrs.get("src") or "").strip()
    if src and not is_placeholder(src):
        return src
    for name in ("srcset", "data-srcset"):
        largest = srcset_largest(attrs.get(name) or "")
        if largest and not is_placeholder(largest):
            return largest
    return "" if no_picture(src) else src  # a placeholder is all there is: it stays (`image.php?id=3`)


def unwrap_proxy(url: str, *, image: bool) -> str:
    """The address a proxy wraps, nested proxies too; `url` itself when it wraps none.

    Forms: the whole query is an address (`https://cors.example/?http://…`), the path carries
    one (`http://jandan.net/p/https://…`, archives excepted), and for images a proxy parameter
    (`?url=http…`). The inner address is taken as written: an `http://` picture stays http.
    """
    for _ in range(4):
        inner = _proxied(url, image)
        if not inner:
            return url
        url = inner
    return url


def _proxied(url: str, image: bool) -> str:
    if not _HTTP.match(url):
        return ""
    head, _, query = url.partition("?")
    if _HTTP.match(query):  # the whole query is an address (a fragment belongs to it)
        return query
    query = query.split("#", 1)[0]
    if _ENCODED_HTTP.match(query):
        return unquote(query)
    match = _PATH_PROXY.match(head if query else url)
    if match:
        host = match.group(1).split("//", 1)[1].lower()
        if not any(host == a or host.endswith("." + a) for a in _ARCHIVE_HOSTS):
            inner = match.group(3)
            if _ENCODED_HTTP.match(inner):
                inner = unquote(inner)
            inner = _ONE_SLASH.sub(r"\1//", inner)
            if query and inner == match.group(3):
                inner += "?" + query
            return inner
    if image and query:
        try:
            pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
        except ValueError:
            return ""
        for name, value in pairs:
            if name.lower() in _PROXY_PARAMS and _HTTP.match(value.strip()):
                return value.strip()
    return ""
