"""Real site builds of the converted corpus: Hugo with its default configuration and Hexo 5
with hexo-renderer-marked 4 (the RSSHub archive's own stack). Every article becomes a page
that shows its title and its date at the right instant, and the builds say nothing."""

from __future__ import annotations

import datetime as dt
import html
import re
import subprocess
import sys

import pytest
import yaml

from . import matrix
from .conftest import CORPUS

FEED2MD = [sys.executable, "-m", "feed2md.cli"]
TITLE = re.compile(r'<h1 class="title">(.*?)</h1><time>(.*?)</time>', re.S)


def _convert_corpus(posts) -> dict[str, dict]:
    done = subprocess.run([*FEED2MD, "batch", str(CORPUS), "-o", str(posts), "--quiet"], capture_output=True)
    assert done.returncode == 0, done.stderr
    metas = {}
    for path in posts.rglob("*.md"):
        meta = yaml.safe_load(path.read_text("utf-8").split("---\n")[1])
        metas[path.relative_to(posts).with_suffix("").as_posix()] = meta
    assert len(metas) == len(list(CORPUS.glob("*/*.txt")))
    return metas


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


def test_hugo_builds_every_article_with_its_title_and_date(tmp_path):
    matrix.require("hugo")
    site = tmp_path / "site"
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "layouts" / "_default" / "single.html").write_text(
        '<h1 class="title">{{ .Title }}</h1><time>{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}</time><main>{{ .Content }}</main>\n', "utf-8")
    (site / "layouts" / "_default" / "list.html").write_text("<html></html>\n", "utf-8")
    (site / "hugo.toml").write_text('baseURL = "http://example.org/"\ntitle = "corpus"\n', "utf-8")
    metas = _convert_corpus(site / "content" / "posts")
    done = subprocess.run([matrix.hugo_binary(), "--source", str(site), "--logLevel", "warn"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not re.search(r"\b(WARN|ERROR)\b", done.stdout + done.stderr), done.stdout + done.stderr
    _check_pages(metas, lambda name: site / "public" / "posts" / name / "index.html")
    assert not any("raw HTML omitted" in p.read_text("utf-8") for p in (site / "public").rglob("*.html"))


def test_hexo5_builds_every_article_with_its_title_and_date(tmp_path):
    matrix.require("hexo5")
    site = tmp_path / "site"
    site.mkdir()
    posts = matrix.hexo_site(site)
    metas = _convert_corpus(posts)
    done = matrix.build_hexo(site)
    assert done.returncode == 0, done.stderr
    assert not re.search(r"\b(WARN|ERROR)\b", done.stdout + done.stderr), done.stdout + done.stderr
    _check_pages(metas, lambda name: site / "public" / name / "index.html")
