"""HTML cleaning: one parse with selectolax (lexbor), site rules applied, clean HTML out.

This module owns everything done to the article's HTML *before* it becomes Markdown:
dropping site chrome, unwrapping tracking anchors (36kr company links), cleaning link and
image URLs, turning media Markdown cannot embed into links, and refusing script URLs.
Which selectors and parameters count as noise is data (`rules.toml`), not code.
"""

from __future__ import annotations

import html

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .errors import ConversionError
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


LAYOUT_TABLE = "data-feed2md-layout"  # set on tables used for layout; the writer reads them as blocks
_LAZY_SRC = ("data-src", "data-original", "data-actualsrc", "data-original-src", "data-lazy-src")
_MEDIA = "iframe, video, audio, embed[src], object[data]"
MEDIA_WITH_FALLBACK = ("video", "audio")  # their content is shown where the player is not
_SPACE = lazy_compile(r"\s+")
_LINKED_HOST = lazy_compile(r"""(?:href|src)=["']?(?:https?:)?//([^/"'\s>:?#]+)""")


def _select(tree: LexborHTMLParser, selectors: tuple[str, ...]) -> list:
    if not selectors:
        return []
    try:
        return tree.css(", ".join(selectors))
    except Exception as exc:  # selectolax raises a bare Exception/ValueError for a bad selector
        raise ConversionError(f"invalid CSS selector in site rules ({', '.join(selectors)}): {exc}") from None


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


def clean_html(body: str, rules: RuleSet, labels: list[str], company_links: CompanyLinks = CompanyLinks.TEXT) -> CleanResult:
    """Clean one article body (an HTML fragment) under the site rules that apply to it.

    `labels` are the article's author and categories (see site_labels), used to recognise
    its site.
    """
    root = LexborHTMLParser(body).body
    if root is None:
        return CleanResult(None)
    active = active_rules(body, rules, labels)
    result = CleanResult(root, sites=active.sites)
    remove_chrome(root, active)
    for node in _select(root, active.companies):
        _company(node, active, company_links, result)
    for table in root.css("table table"):  # a table inside a table: the outer one is layout
        outer = table.parent
        while outer is not None and outer.tag != "table":
            outer = outer.parent
        if outer is not None:
            outer.attrs[LAYOUT_TABLE] = ""
    for node in root.css("a[href]"):
        _link(node, active, result)
    for node in root.css("img"):
        _image(node, active, result)
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


def _link(node, active: ActiveRules, result: CleanResult) -> None:
    href = node.attributes.get("href") or ""
    if not is_safe(href):
        result.unsafe_removed += 1
        node.unwrap()
        return
    if is_empty_anchor(node):
        node.decompose()  # an empty anchor shows nothing; its Markdown would be `[](url)`
        return
    cleaned = clean_url(href, active)
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


def image_source(attrs: dict) -> str:
    """The picture an <img> shows: lazy-loading pages keep it in `data-src` and friends
    behind a placeholder `src`; a srcset's first candidate will do when nothing else does."""
    src = attrs.get("src") or ""
    if not src.strip() or src.startswith(("data:image/gif", "data:image/svg")):
        src = next((attrs[k] for k in _LAZY_SRC if attrs.get(k)), src)
        srcset = attrs.get("srcset") or attrs.get("data-srcset") or ""
        if not src.strip() and srcset.strip():
            src = srcset.strip().split(",")[0].split()[0]
    return src


def _image(node, active: ActiveRules, result: CleanResult) -> None:
    attrs = node.attributes
    src = image_source(attrs)
    if not src.strip() or not is_safe(src, image=True):
        if src.strip():
            result.unsafe_removed += 1
        alt = _SPACE.sub(" ", attrs.get("alt") or "").strip()
        node.replace_with(alt) if alt else node.decompose()
        return
    alt = _SPACE.sub(" ", attrs.get("alt") or "").strip()
    cleaned = src if src.startswith("data:") else clean_url(src, active)
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
