"""An article's pictures, for `--images download`: finding them in a converted file, telling an
image from anything else by its bytes, naming it by its content, and rewriting the file to
local copies. Pure: the command line fetches and writes (cli/images.py).

The original address of every picture made local is kept in the file itself, in the front
matter: `image_sources` maps each local path to the address it was fetched from.
"""

from __future__ import annotations

import base64
import re
from typing import Any, NamedTuple
from urllib.parse import unquote_to_bytes

from .escape import unescape_markdown
from .lazyre import lazy_compile

SOURCES_KEY = "image_sources"
COVER_KEYS = ("cover", "image", "images")  # front-matter keys that hold pictures (per target)
# An image in feed2md's Markdown: ![alt](destination "title"), the destination bare or in <…>.
_IMAGE = lazy_compile(r'!\[(?:[^\]\\\n]|\\.)*\]\((<[^>\n]*>|[^\s()<>]+(?:\([^\s()<>]*\)[^\s()<>]*)*)((?:\s+"(?:[^"\\]|\\.)*")?\))')

# Magic numbers of the picture formats every publisher shows. SVG is left remote on purpose:
# it is a document that can carry script, served from the site's own origin.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)


class ImageRef(NamedTuple):
    url: str  # the address (or data: URI) to fetch
    written: str  # the destination as written in the Markdown (to replace it exactly)


def sniff(data: bytes) -> str | None:
    """The file extension of an image's bytes (png, jpg, gif, webp, avif, bmp), or None when
    they are not a picture (an HTML error page, a script, an SVG)."""
    for magic, ext in _SIGNATURES:
        if data.startswith(magic):
            return ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "avif"
    return None


def content_name(data: bytes, ext: str) -> str:
    """A picture's file name from its content: the same bytes, the same name, whatever the URL."""
    try:
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover
        from hashlib import blake2b
    return f"{blake2b(data, digest_size=12).hexdigest()}.{ext}"


def decode_data_uri(uri: str) -> bytes | None:
    """The bytes of a `data:` URI, or None when it cannot be read."""
    head, sep, payload = uri.partition(",")
    if not sep or not head.lower().startswith("data:"):
        return None
    try:
        if head.lower().endswith(";base64"):
            return base64.b64decode(payload + "=" * (-len(payload) % 4), validate=False)
        return unquote_to_bytes(payload)
    except ValueError:
        return None


def _destination(written: str) -> str:
    url = written[1:-1] if written.startswith("<") and written.endswith(">") else written
    return unescape_markdown(url).replace("&amp;", "&")


def find_images(body: str, metadata: dict[str, Any]) -> list[ImageRef]:
    """Every picture of a converted article, once each, in order: the front matter's cover
    (or a target's `image`/`images`), then the body's images. Only http(s) and data: ones."""
    refs: dict[str, ImageRef] = {}
    for key in COVER_KEYS:
        values = metadata.get(key)
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str) and _fetchable(value):
                refs.setdefault(value, ImageRef(value, value))
    for match in _IMAGE.finditer(body):
        url = _destination(match.group(1))
        if _fetchable(url):
            refs.setdefault(url, ImageRef(url, match.group(1)))
    return list(refs.values())


def _fetchable(url: str) -> bool:
    return url.lower().startswith(("http://", "https://", "data:image/"))


def localise(body: str, metadata: dict[str, Any], local: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The body and front matter with each picture in `local` (address -> relative path) made
    local, and `image_sources` recording where each came from. Pictures not in `local` (failed
    downloads) keep their address: a link is never broken."""
    if not local:
        return body, metadata

    def replace(match: re.Match) -> str:
        url = _destination(match.group(1))
        path = local.get(url)
        if path is None:
            return match.group(0)
        start = match.start(1) - match.start(0)
        whole = match.group(0)
        return whole[:start] + _markdown_path(path) + whole[start + len(match.group(1)):]

    body = _IMAGE.sub(replace, body)
    meta = dict(metadata)
    for key in COVER_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and value in local:
            meta[key] = local[value]
        elif isinstance(value, list):
            meta[key] = [local.get(v, v) if isinstance(v, str) else v for v in value]
    sources = dict(meta.get(SOURCES_KEY) or {})
    for url, path in local.items():
        if not url.startswith("data:"):
            sources[path] = url
    if sources:
        meta[SOURCES_KEY] = dict(sorted(sources.items()))
    return body, meta


def _markdown_path(path: str) -> str:
    """A relative path as a Markdown destination (in <…> when it holds spaces or parentheses)."""
    return f"<{path}>" if re.search(r"[\s()<>]", path) else path
