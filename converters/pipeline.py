"""The pipeline: one scraped article's text in, the normalised file out.

Runs the pipeline over the other modules and reports what it did; no I/O, no printing.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .article import decode, split_article
from .clean import clean_html, site_hosts, site_labels
from .code import extract_code
from .errors import ConversionError
from .lazyre import lazy_compile
from .markdown import markdown_parser, normalise_markdown, tree_to_markdown
from .markers import OPEN, strip_marks
from .metadata import dump_front_matter, normalise, parse_front_matter
from .options import Options
from .rules import default_rules


class Report:
    """What a conversion did, for people and for batch reports."""

    def __init__(self) -> None:
        self.encoding = "utf-8"
        self.body_kind = "html"  # "html", or "markdown" for an already converted body
        self.sites: tuple[str, ...] = ()
        self.changes: list[str] = []  # front-matter values changed or dropped
        self.warnings: list[str] = []  # things a user may want to look at
        self.company_links_removed = 0
        self.links_changed = 0
        self.unsafe_removed = 0
        self.media_linked = 0
        self.hidden_removed = 0
        self.proxies_unwrapped = 0
        self.tracking_pixels_removed = 0
        self.likely_wrappers: dict[str, dict] = {}  # host -> {param, links}: links no rule unwraps

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    def __repr__(self) -> str:
        return f"Report({self.as_dict()!r})"


class Conversion(NamedTuple):
    text: str  # the normalised file
    metadata: dict[str, Any]
    body: str
    report: Report
    source: str = ""  # the article as read (decoded), for verification ("" without Options.keep_source)


# Bodies that open with a tag are HTML (the scraped case); feed2md's own Markdown never does,
# apart from the few tags it writes itself (emphasis.py, and <br> in table cells) and
# autolinks (`<https://…>`).
_OWN_TAG_NAMES = "|".join([*OPEN, "br"])
_OPENS_WITH_TAG = lazy_compile(f"\\s*<(?!/?(?:{_OWN_TAG_NAMES})>)(?!(?:img|a) data-feed2md )(?![A-Za-z][A-Za-z0-9+.\\-]{{1,31}}:)[A-Za-z!]")
_FENCE_START = lazy_compile(r"-{3,}[ \t]*(?:\n|$)")
# …and the images and links a target writes as HTML (targets.escaped_urls_as_html), marked.
_TAGS = lazy_compile(r"<[^<>]*>")
# Exactly the form written there, http(s) only and no other attribute: a scraped body that
# imitates the mark with a script URL or a handler is still read (and cleaned) as HTML.
_OWN_TAGS = lazy_compile(
    f"^(?:</?(?:{_OWN_TAG_NAMES})>|</a>"
    r'|<img data-feed2md src="https?://[^"<>\s]*" alt="[^"<>]*"(?: title="[^"<>]*")?>'
    r'|<a data-feed2md href="https?://[^"<>\s]*"(?: title="[^"<>]*")?>)$'
)


def _is_html(body: str) -> bool:
    """True when the body is HTML; False when it is Markdown already (e.g. feed2md's output).

    The test for the second case is exact: read as CommonMark, the body holds no raw HTML
    other than the tags feed2md itself writes.
    """
    if "<" not in body:
        return False
    if _OPENS_WITH_TAG.match(body):
        return True
    for token in markdown_parser().parse(body):
        for t in (token, *(token.children or ())):
            if t.type == "html_block" and all(_OWN_TAGS.match(tag) for tag in _TAGS.findall(t.content)) \
                    and not _TAGS.sub("", t.content).strip():
                continue  # a paragraph of feed2md's own tags only (a target's <img data-feed2md …>)
            if t.type == "html_block" or (t.type == "html_inline" and not _OWN_TAGS.match(t.content)):
                return True
    return False


def convert(text: str, options: Options | None = None) -> Conversion:
    """Convert the text of one scraped article. Raises ConversionError, and nothing else,
    for input that cannot be converted."""
    if not isinstance(text, str):
        raise ConversionError("expected text (str); use convert_bytes for raw file contents")
    options = options or Options()
    _check_size(len(text), options)
    return _guarded([text], options)


def _guarded(pending: list, options: Options, step=None) -> Conversion:
    """`step` (_convert by default) run on `pending` with every failure a ConversionError.
    `pending` holds the input, so that the step can take the only reference to it (see
    convert_bytes)."""
    try:
        return (step or _convert)(pending, options)
    except ConversionError:
        raise
    except RecursionError:
        raise ConversionError("document too deeply nested") from None
    except Exception as exc:  # a bug, or a library's: still one file's clear, one-line failure
        raise ConversionError(f"internal error ({type(exc).__name__}: {exc}); please report it") from exc


def _convert(pending: list[str], options: Options) -> Conversion:
    report = Report()
    text = strip_marks(pending.pop())
    raw = split_article(text)
    source = text if options.keep_source else ""
    text = None  # without keep_source (and when convert_bytes decoded it) the text is freed here
    if not raw.closed:
        report.warnings.append("front matter has no closing '---'; it ends at the first line that is not YAML")
    meta = parse_front_matter(raw.front_matter, report.warnings, raw.syntax)
    pending = [raw.body]
    html_body = _is_html(raw.body)
    raw = None
    return _render(meta, pending, html_body, options, report, source=source)


def convert_article(article, options: Options | None = None) -> Conversion:
    """Convert an article record from any reader (feeds.Article: raw metadata, an HTML body,
    the address its relative links are resolved against) through the same pipeline."""
    options = options or Options()
    _check_size(len(article.body), options)
    return _guarded([article], options, _convert_article)


def _convert_article(pending: list, options: Options) -> Conversion:
    article = pending.pop()
    metadata = dict(article.metadata)
    if isinstance(metadata.get("link"), str):  # the entry's own address, tracking removed
        from .urls import clean_url

        rules = options.rules or default_rules()
        metadata["link"] = clean_url(metadata["link"], rules.select([], site_hosts({"link": metadata["link"]})))
    return _render(metadata, [article.body], True, options, Report(), base_url=article.base_url)


def _render(meta: dict, pending: list[str], html_body: bool, options: Options, report: Report, *, source: str = "",
            base_url: str = "") -> Conversion:
    """The steps every reader shares: front matter normalised, the body cleaned and written
    (or, when it is Markdown already, normalised), the target applied."""
    metadata = normalise(meta, report.changes, report.warnings)
    if html_body:
        rules = options.rules or default_rules()
        # Each step gets the only reference to the text it reads, so that a big article is
        # held in one copy at a time rather than one per step (memory stays linear and small).
        html, blocks, spans = extract_code(pending.pop(), rules.code_chrome())
        pending.append(html)
        html = None
        cleaned = clean_html(pending.pop(), rules, site_labels(metadata), options.company_links,
                             keep_proxies=options.keep_proxies, base_url=base_url,
                             # a feed entry (it has a base) is also known by its link and its feed
                             hosts=site_hosts(metadata) if base_url else frozenset())
        pending.append(cleaned.root)
        cleaned.root = None  # the writer frees the tree once it has read it
        body = tree_to_markdown(pending.pop(), blocks, spans, cleaned.plain_text)
        report.sites = cleaned.sites
        report.company_links_removed = cleaned.company_links_removed
        report.links_changed = cleaned.links_changed
        report.unsafe_removed = cleaned.unsafe_removed
        report.media_linked = cleaned.media_linked
        report.hidden_removed = cleaned.hidden_removed
        report.proxies_unwrapped = cleaned.proxies_unwrapped
        report.tracking_pixels_removed = cleaned.tracking_pixels_removed
        report.likely_wrappers = cleaned.likely_wrappers
        for host, seen in cleaned.likely_wrappers.items():
            report.warnings.append(
                f"{seen['links']} link(s) through {host} carry a whole address in `{seen['param']}=`: likely a redirect "
                f"wrapper; the rule {{ host = \"{host}\", param = \"{seen['param']}\" }} would unwrap them"
            )
        for url in cleaned.insecure_images:
            report.warnings.append(f"image behind a proxy is plain http (kept as http): {url}")
        if cleaned.companies:
            metadata["companies"] = list(cleaned.companies.values())
        if cleaned.source_link and not any(k in metadata for k in ("source", "link")):
            metadata["source"] = cleaned.source_link
        if base_url and "cover" not in metadata and cleaned.first_image:  # a feed entry: its first picture
            metadata["cover"] = cleaned.first_image
    else:
        report.body_kind = "markdown"
        body = normalise_markdown(pending.pop())

    if options.target != "gfm":
        from .targets import protect

        target = options.target_profile()
        metadata = target.front_matter(metadata)
        if target.escaped_urls_as_html:
            from .targets import escaped_urls_as_html

            body = escaped_urls_as_html(body)
        body = protect(body, target.protect)
    return Conversion(text=assemble(metadata, body), metadata=metadata, body=body, report=report, source=source)


def assemble(metadata: dict[str, Any], body: str) -> str:
    """The file: the front matter, a blank line, the body."""
    front = dump_front_matter(metadata)
    if not front and _FENCE_START.match(body):
        front = "---\n---\n"  # else the body's own `---` would be read as front matter
    return front + "\n" + body if front and body else front + body


def _check_size(size: int, options: Options) -> None:
    if options.max_size and size > options.max_size:
        raise ConversionError(
            f"too large: {size / 2**20:.1f} MiB, over the {options.max_size / 2**20:.0f} MiB limit (--max-size to raise it)"
        )


def convert_bytes(data: bytes, options: Options | None = None) -> Conversion:
    """Convert a file's raw bytes (any common encoding; see article.decode)."""
    options = options or Options()
    _check_size(len(data), options)
    decoded = decode(data)
    del data  # freed here when the caller handed over its only reference
    pending, encoding = [decoded[0]], decoded[1]
    del decoded
    result = _guarded(pending, options)
    result.report.encoding = encoding
    return result
