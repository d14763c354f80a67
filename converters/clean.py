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
from .images import image_source, unwrap_proxy
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
        self.insecure_images: list[str] = []  # http:// pictures found behind a proxy
        self.source_link = ""  # the article's own address, from a hidden "original" link


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
    """What names an article's site in its front matter: the author and the categories."""
    categories = metadata.get("categories") or []
    if not isinstance(categories, list):
        categories = [categories]
    return [str(metadata.get("author", ""))] + [str(c) for c in categories]


def active_rules(body: str, rules: RuleSet, labels: list[str]) -> ActiveRules:
    """The site rules that apply to a body: by its labels, or by the hosts it links to
    (read off the raw text, which is cheaper than walking nodes)."""
    return rules.select(labels, {h.lower() for h in _LINKED_HOST.findall(body)})


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
) -> CleanResult:
    """Clean one article body (an HTML fragment) under the site rules that apply to it.

    `labels` are the article's author and categories (see site_labels), used to recognise
    its site. `keep_proxies`: leave proxied addresses as written (else they are unwrapped).
    """
    tree = LexborHTMLParser(body)
    tree.raw_html = b""  # selectolax keeps a UTF-8 copy of the input only to clone trees; none is cloned here
    root = tree.body
    if root is None:
        return CleanResult(None)
    active = active_rules(body, rules, labels)
    result = CleanResult(root, sites=active.sites)
    remove_chrome(root, active)
    remove_hidden(root, active, result)
    for node in _select(root, active.companies):
        _company(node, active, company_links, result)
    for table in root.css("table table"):  # a table inside a table: the outer one is layout
        outer = table.parent
        while outer is not None and outer.tag != "table":
            outer = outer.parent
        if outer is not None:
            outer.attrs[LAYOUT_TABLE] = ""
    for node in root.css("a[href]"):
        _link(node, active, result, keep_proxies)
    for node in root.css("img"):
        _image(node, active, result, keep_proxies)
    for node in root.css(_MEDIA):
        _media(node, active, result)

    return result


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
