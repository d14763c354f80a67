"""HTML cleaning: one parse with selectolax (lexbor), site rules applied, clean HTML out.

This module owns everything done to the article's HTML *before* it becomes Markdown:
dropping site chrome, unwrapping tracking anchors (36kr company links), cleaning link and
image URLs, turning media Markdown cannot embed into links, and refusing script URLs.
Which selectors and parameters count as noise is data (`rules.toml`), not code.
"""

from __future__ import annotations

import html
import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .errors import ConversionError
from .images import image_source, is_placeholder, unwrap_proxy
from .lazyre import lazy_compile
from .options import CompanyLinks
from .rules import ActiveRules, RuleSet
from .urls import clean_url, is_safe


class CleanResult:
    """The cleaned HTML tree (its <body>, None for an empty page), and what cleaning did."""

    def __init__(self, root: LexborNode | None, sites: tuple[str, ...] = ()) -> None:
        self.root = root
        self.sites = sites
        self.companies: dict[tuple, dict[str, str]] = {}  # each listed company once, by its fields
        self.company_links_removed = 0
        self.links_changed = 0
        self.unsafe_removed = 0
        self.media_linked = 0
        self.hidden_removed = 0
        self.proxies_unwrapped = 0
        self.tracking_pixels_removed = 0  # 1x1 images and analytics beacons (feeds append them)
        self.first_image = ""  # the first real picture (a feed entry without a cover takes it)
        self.insecure_images: list[str] = []  # http:// pictures found behind a proxy
        self.source_link = ""  # the article's own address, from a hidden "original" link
        self.plain_text = False  # no block markup: every line of the text is a line
        self.likely_wrappers: dict[str, dict] = {}  # host -> {param, links}: see note_wrapper


LAYOUT_TABLE = "data-feed2md-layout"  # set on tables used for layout; the writer reads them as blocks
# What a browser does not show: the `hidden` attribute, and inline display:none /
# visibility:hidden (style sheets are not read; inline styles are what scraped pages carry).
_HIDING_STYLE = lazy_compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)\s*(?:!important\s*)?(?:;|$)", re.I)
_MEDIA = "iframe, video, audio, embed[src], object[data]"
MEDIA_WITH_FALLBACK = ("video", "audio")  # their content is shown where the player is not
_SPACE = lazy_compile(r"\s+")
_LINKED_HOST = lazy_compile(r"""(?:href|src)=["']?(?:https?:)?//([^/"'\s>:?#]+)""")


def _select(tree: LexborHTMLParser, selectors: tuple[str, ...]) -> list:
    if not selectors:
        return []
    try:
        nodes = tree.css(", ".join(selectors))
    except Exception as exc:  # selectolax raises a bare Exception/ValueError for a bad selector
        raise ConversionError(f"invalid CSS selector in site rules ({', '.join(selectors)}): {exc}") from None
    if len(selectors) == 1:
        return nodes
    # lexbor returns a node once for each selector of the list it matches: once each here.
    seen: set[int] = set()
    return [node for node in nodes if not (node.mem_id in seen or seen.add(node.mem_id))]


def _text(node) -> str:
    return _SPACE.sub(" ", node.text(deep=True) or "").strip()


def is_empty_anchor(node) -> bool:
    """An anchor with no text and no image: it shows nothing, and is dropped on purpose."""
    return not (node.text(deep=True) or "").strip() and node.css_first("img") is None


def site_labels(metadata: dict) -> list[str]:
    """What names an article's site in its front matter: the author, the categories, and for
    a feed entry the feed's title."""
    categories = metadata.get("categories") or []
    if not isinstance(categories, list):
        categories = [categories]
    feed = metadata.get("feed")
    feed_title = [str(feed["title"])] if isinstance(feed, dict) and feed.get("title") else []
    return [str(metadata.get("author", ""))] + [str(c) for c in categories] + feed_title


def site_hosts(metadata: dict) -> set[str]:
    """Hosts the front matter names: the article's own link and, for a feed entry, the feed's."""
    from urllib.parse import urlsplit

    feed = metadata.get("feed")
    urls = [metadata.get("link"), metadata.get("source"), feed.get("url") if isinstance(feed, dict) else None]
    hosts = set()
    for url in urls:
        if isinstance(url, str) and url:
            try:
                host = urlsplit(url.strip()).hostname
            except ValueError:
                continue
            if host:
                hosts.add(host.lower())
    return hosts


def active_rules(body: str, rules: RuleSet, labels: list[str], hosts: set[str] = frozenset()) -> ActiveRules:
    """The site rules that apply to a body: by its labels, by the hosts it links to (read off
    the raw text, which is cheaper than walking nodes), or by `hosts` (site_hosts)."""
    return rules.select(labels, {h.lower() for h in _LINKED_HOST.findall(body)} | set(hosts))


_URL_ATTRIBUTES = ("href", "src")


def resolve_relative(root, base_url: str, active: ActiveRules) -> None:
    """Relative addresses (`/posts/x.png`, `skins/a.gif`) made absolute against `base_url`,
    as a reader of the feed's page would see them; `#fragment` links are left alone."""
    from urllib.parse import urljoin

    names = (*_URL_ATTRIBUTES, *active.lazy_src)
    for node in root.css("a[href], img, source[src], video[src], audio[src], iframe[src]"):
        attrs = node.attributes
        for name in names:
            value = (attrs.get(name) or "").strip()
            if value and not value.startswith("#") and not _HAS_SCHEME.match(value):
                try:
                    node.attrs[name] = urljoin(base_url, value)
                except ValueError:  # an address urllib cannot read: left as written
                    pass


_HAS_SCHEME = lazy_compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def is_tracking_pixel(attrs: dict, active: ActiveRules) -> bool:
    """An image that shows nothing and only reports the reading: 1x1 (or 0x0) by its size
    attributes, or an address the rules name as an analytics beacon (`tracking_pixels`)."""
    width, height = (str(attrs.get(k) or "").strip().lower().removesuffix("px") for k in ("width", "height"))
    if width in ("0", "1") and height in ("0", "1"):
        return True
    if not active.tracking_pixels:
        return False
    import fnmatch

    src = str(attrs.get("src") or "").strip().lower()
    return bool(src) and any(fnmatch.fnmatchcase(src, glob) for glob in active.tracking_pixels)


def remove_chrome(root, active: ActiveRules) -> None:
    """The deliberate removals of the rules: chrome dropped, wrappers unwrapped (text kept)."""
    for node in _select(root, active.drop):
        node.decompose()
    for node in _select(root, active.unwrap):
        node.unwrap()


def remove_hidden(root, active: ActiveRules, result: CleanResult | None = None) -> None:
    """Remove what a browser would not show. A hidden link the rules name as the article's
    own source (`source_link`, e.g. 知乎's 查看知乎原文) is kept as the source address."""
    if active.source_link and result is not None:
        for node in _select(root, active.source_link):
            href = (node.attributes.get("href") or "").strip()
            if href and is_safe(href) and not result.source_link:
                result.source_link = clean_url(href, active)
            node.decompose()
    for node in root.css("[hidden], [style]"):
        attrs = node.attributes
        if "hidden" in attrs or _HIDING_STYLE.search(attrs.get("style") or ""):
            if result is not None:
                result.hidden_removed += 1
            node.decompose()


def clean_html(
    body: str,
    rules: RuleSet,
    labels: list[str],
    company_links: CompanyLinks = CompanyLinks.TEXT,
    *,
    keep_proxies: bool = False,
    base_url: str = "",
    hosts: set[str] = frozenset(),
) -> CleanResult:
    """Clean one article body (an HTML fragment) under the site rules that apply to it.

    `labels` are the article's author and categories (see site_labels), used to recognise
    its site. `keep_proxies`: leave proxied addresses as written (else they are unwrapped).
    `base_url`: relative links and images are resolved against it (a feed entry's base).
    """
    active = active_rules(body, rules, labels, hosts)
    # Parsed from UTF-8 bytes, the text dropped first: a big page is held once while lexbor
    # builds its tree (the pipeline hands over its only reference to `body`).
    encoded = body.encode("utf-8", "surrogatepass")
    body = ""
    if len(encoded) > PRUNE_ABOVE:
        encoded = prune_attributes(encoded, active)
    tree = LexborHTMLParser(encoded)
    del encoded
    tree.raw_html = b""  # selectolax keeps a UTF-8 copy of the input only to clone trees; none is cloned here
    root = tree.body
    if root is None:
        return CleanResult(None)
    result = CleanResult(root, sites=active.sites)
    if base_url:
        resolve_relative(root, base_url, active)
    remove_chrome(root, active)
    remove_hidden(root, active, result)
    for node in _select(root, active.companies):
        _company(node, active, company_links, result)
    mark_layout_tables(root)
    result.plain_text = is_plain_text(root)
    for node in root.css("a[href]"):
        _link(node, active, result, keep_proxies)
    for node in root.css("img"):
        if is_tracking_pixel(node.attributes, active):
            result.tracking_pixels_removed += 1
            node.decompose()
            continue
        _image(node, active, result, keep_proxies)
    for node in root.css(_MEDIA):
        _media(node, active, result)

    return result


# lexbor holds about 8 bytes of tree for each byte of attribute text, so a big page made mostly
# of attributes (100,000 company links, each with data-logo, data-refer-type, target, …) would
# outgrow the memory bound. Above this size, attributes that nothing in feed2md reads are
# dropped before parsing; the output is the same (tests/test_hardening.py checks the corpus).
PRUNE_ABOVE = 1 << 20
_TAG = lazy_compile(rb"""<[A-Za-z][^\s/>]*(?:[^>"']|"[^"]*"|'[^']*')*>""")
_UNREAD_ATTRIBUTE = lazy_compile(
    rb"""\s((?:data-|aria-(?!hidden\b))[\w:.-]+|target|rel|tabindex|loading|decoding|referrerpolicy|crossorigin|draggable)"""
    rb"""(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?(?=[\s/>])""",
    re.I,
)
_SELECTOR_ATTRIBUTE = re.compile(r"\[\s*([A-Za-z_][\w:.-]*)")
_READ_DATA_ATTRIBUTES = ("data-name", "data-id", "data", "data-src")


def prune_attributes(encoded: bytes, active: ActiveRules) -> bytes:
    """The page with the attributes that no rule and no step reads taken out of its tags."""
    keep = {name.lower().encode() for name in (*active.lazy_src, *_READ_DATA_ATTRIBUTES)}
    for selector in (*active.drop, *active.unwrap, *active.companies, *active.source_link):
        keep.update(name.lower().encode() for name in _SELECTOR_ATTRIBUTE.findall(selector))

    def unread(match: re.Match) -> bytes:
        return match[0] if match[1].lower() in keep else b""

    def prune(tag: re.Match) -> bytes:
        return _UNREAD_ATTRIBUTE.sub(unread, tag[0])

    return _TAG.sub(prune, encoded)


def _company(node, active: ActiveRules, mode: CompanyLinks, result: CleanResult) -> None:
    result.company_links_removed += 1
    attrs = node.attributes
    if mode is CompanyLinks.LINK:
        href = clean_url(attrs.get("href") or "", active)
        for name in list(attrs):
            del node.attrs[name]
        if href and is_safe(href):
            node.attrs["href"] = href
            return
    elif mode is CompanyLinks.LIST:
        entry = {"name": (attrs.get("data-name") or _text(node)).strip()}
        if attrs.get("data-id"):
            entry["id"] = attrs["data-id"]
        if attrs.get("href"):
            entry["url"] = clean_url(attrs["href"], active)
        if entry["name"]:
            result.companies.setdefault(tuple(entry.items()), entry)
    node.unwrap()


# A cell holding this much text, or several blocks, lays out a page rather than data.
LAYOUT_CELL_TEXT = 500
_CELL_BLOCK_TAGS = frozenset({"p", "div", "blockquote", "ul", "ol", "table", "section", "article", "pre"})


def _layout_cell(cell) -> bool:
    if len("".join((cell.text(deep=True) or "").split())) > LAYOUT_CELL_TEXT:
        return True
    blocks = 0
    child = cell.child
    while child is not None:
        if child.tag in _CELL_BLOCK_TAGS:
            blocks += 1
        elif child.tag == "br" and child.next is not None:
            after = child.next
            while after is not None and after.tag == "-text" and not (after.text_content or "").strip():
                after = after.next
            if after is not None and after.tag == "br":
                return True  # two line breaks in a row: paragraphs
        child = child.next
    return blocks >= 2


def mark_layout_tables(root) -> None:
    """Mark the tables that lay out a page rather than hold data (the writer writes their
    cells as blocks): a table holding a table, a table of a single cell, and a table with a
    cell of long text or of several paragraphs (a forum post in `<td class="t_f">`).
    Linear in the page: each table looks up to its nearest enclosing table once, and only
    tables without tables inside (whose cells are all their own) are looked into."""
    for inner in root.css("table table"):
        outer = inner.parent
        while outer is not None and outer.tag != "table":
            outer = outer.parent
        if outer is not None:
            outer.attrs[LAYOUT_TABLE] = ""
    for table in root.css("table"):
        if LAYOUT_TABLE in table.attributes:
            continue
        cells = table.css("td, th")
        if len(cells) == 1 or any(_layout_cell(cell) for cell in cells):
            table.attrs[LAYOUT_TABLE] = ""


# Elements that make block structure; a body without them (but for wrappers) is plain text.
_STRUCTURE_TAGS = frozenset({
    "p", "br", "ul", "ol", "li", "dl", "dt", "dd", "table", "tr", "td", "th", "pre", "blockquote", "hr",
    "h1", "h2", "h3", "h4", "h5", "h6", "figure", "figcaption", "header", "footer", "aside", "nav",
})
_WRAPPER_TAGS = frozenset({"div", "section", "article", "main", "body", "center"})
_BLOCK_SELECTOR = ", ".join(sorted(_STRUCTURE_TAGS | _WRAPPER_TAGS))


def is_plain_text(root) -> bool:
    """True for a body of plain text: no block markup but a chain of wrapper elements (one
    inside the other, never two side by side), as feeds write a text description. Each of
    its lines is a line (one field per line: `開催場所 …` / `開場 …`)."""
    node = root
    while True:
        wrappers = 0
        child = node.child
        inner = None
        while child is not None:
            tag = child.tag or ""
            if tag in _STRUCTURE_TAGS:
                return False
            if tag in _WRAPPER_TAGS:
                wrappers += 1
                inner = child
            elif tag[:1].isalpha() and child.css_first(_BLOCK_SELECTOR) is not None:
                return False  # block markup inside inline markup
            child = child.next
        if wrappers > 1:
            return False
        if inner is None:
            return "\n" in (root.text(deep=True) or "").strip()
        node = inner


_WRAPPED_ADDRESS = lazy_compile(r"^(?:https?:|https?%3a|%2f%2f|//)", re.I)


def note_wrapper(url: str, result: CleanResult) -> None:
    """A link whose query carries a whole address (`?to=https%3A…`) is likely a redirect or
    affiliate wrapper that no rule names. It is never rewritten on a guess: it is noted per
    host, so that the report can suggest the one-line rule that would unwrap it."""
    from urllib.parse import parse_qsl, urlsplit

    try:
        parts = urlsplit(url)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return
    for name, value in pairs:
        if _WRAPPED_ADDRESS.match(value.strip()):
            host = (parts.hostname or "").lower()
            entry = result.likely_wrappers.setdefault(host, {"param": name, "links": 0})
            entry["links"] += 1
            return


def real_url(
    url: str, active: ActiveRules, *, image: bool, keep_proxies: bool = False, result: CleanResult | None = None
) -> str:
    """clean_url, after taking off the proxies around the address (unless kept)."""
    url = url.strip()
    if url.startswith("//"):
        url = "https:" + url
    if not keep_proxies and "//" in url[8:]:
        inner = unwrap_proxy(url, image=image)
        if inner != url and result is not None:
            result.proxies_unwrapped += 1
            if image and inner[:7].lower() == "http://":
                result.insecure_images.append(inner)  # kept as http: no guessing of https
        url = inner
    return clean_url(url, active)


def _link(node, active: ActiveRules, result: CleanResult, keep_proxies: bool = False) -> None:
    href = node.attributes.get("href") or ""
    if not is_safe(href):
        result.unsafe_removed += 1
        node.unwrap()
        return
    if is_empty_anchor(node):
        node.decompose()  # an empty anchor shows nothing; its Markdown would be `[](url)`
        return
    cleaned = real_url(href, active, image=False, keep_proxies=keep_proxies, result=result)
    if not is_safe(cleaned):  # defence in depth: whatever cleaning made of it
        result.unsafe_removed += 1
        node.unwrap()
        return
    if cleaned != href:
        result.links_changed += 1
    if "=" in cleaned:
        note_wrapper(cleaned, result)
    attrs = node.attrs
    if cleaned != href:
        attrs["href"] = cleaned
    if "title" in attrs:
        del attrs["title"]  # a tooltip, not article text; html2text would quote it unsafely


def _image(node, active: ActiveRules, result: CleanResult, keep_proxies: bool = False) -> None:
    attrs = node.attributes
    src = image_source(attrs, active.lazy_src)
    if not src.strip() or not is_safe(src, image=True):
        if src.strip():
            result.unsafe_removed += 1
        alt = _SPACE.sub(" ", attrs.get("alt") or "").strip()
        node.replace_with(alt) if alt else node.decompose()
        return
    alt = _SPACE.sub(" ", attrs.get("alt") or "").strip()
    cleaned = src if src.startswith("data:") else real_url(src, active, image=True, keep_proxies=keep_proxies, result=result)
    if not is_safe(cleaned, image=True):
        result.unsafe_removed += 1
        node.replace_with(alt) if alt else node.decompose()
        return
    if cleaned != src:
        result.links_changed += 1
    if not result.first_image and cleaned.startswith(("http://", "https://")) and not is_placeholder(cleaned):
        result.first_image = cleaned
    if cleaned != attrs.get("src"):
        node.attrs["src"] = cleaned
    if alt != (attrs.get("alt") or ""):
        node.attrs["alt"] = alt


def _media(node, active: ActiveRules, result: CleanResult) -> None:
    """A player Markdown cannot embed becomes a link to its source. What a <video> or
    <audio> holds for browsers without it (a line of text, a download link) is kept."""
    attrs = node.attributes
    src = attrs.get("src") or attrs.get("data") or ""
    if not src:
        source = node.css_first("source[src]")
        src = source.attributes.get("src") or "" if source is not None else ""
    url = clean_url(src, active) if src and is_safe(src) else ""
    if url and is_safe(url):
        # A one-character label: the page showed a player, not words; the URL is the link.
        label = _SPACE.sub(" ", attrs.get("title") or "").strip() or "▶"
        link = LexborHTMLParser(f'<p><a href="{html.escape(url)}">{html.escape(label)}</a></p>').css_first("p")
        node.insert_before(link)
        result.media_linked += 1
    if node.tag in MEDIA_WITH_FALLBACK:
        for inner in node.css("source, track"):
            inner.decompose()
        node.unwrap()
    else:
        node.decompose()
