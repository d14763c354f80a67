"""Feeds in (issue #16): every real feed of ../shared/feeds, feedparser's own test suite (read
in place), bad feeds, and the incremental fetch against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import re
import threading
from pathlib import Path

import pytest
import yaml

from feed2md.converters import ConversionError, convert_article
from feed2md.converters.feeds import parse_feed, parse_opml, text_as_html
from feed2md.converters.verify import verify

from . import matrix
from .conftest import SHARED
from .test_cli import run

FEEDS = SHARED / "feeds"
REAL = sorted(p for p in FEEDS.glob("*") if p.suffix in (".xml", ".json"))
SUITE = FEEDS / "feedparser-suite"
TRACKING = re.compile(r"[?&](?:utm_|ktm_)|p\.php\?idsite=|feedburner\.com/~r/")


def front(text: str) -> dict:
    return yaml.safe_load(text.split("---\n")[1])


def test_the_shared_feeds_are_here():
    assert len(REAL) >= 15, "the feeds are missing from ../shared/feeds"


@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_every_entry_converts_complete_verified_and_clean(path):
    feed = parse_feed(path.read_bytes())
    for article in feed.articles:
        result = convert_article(article)
        meta = result.metadata
        raw = article.metadata
        for key in ("title", "date", "link", "id"):  # each wherever the feed has it
            if raw.get(key):
                assert meta.get(key), (path.name, article.name, key)
        if raw.get("author"):
            assert meta["author"] == raw["author"]
        # (the id is the feed's guid, kept exactly as the feed wrote it: it is an identity, not a link)
        assert not TRACKING.search(re.sub(r"(?m)^id: .*$", "", result.text)), (path.name, article.name)
        title = json.dumps(meta.get("title", ""))
        losses = verify(f"---\ntitle: {title}\n---\n{article.body}", f"---\ntitle: {title}\n---\n\n{result.body}",
                        base_url=article.base_url)
        assert losses == [], (path.name, article.name, losses)
        assert convert_article(article).text == result.text  # deterministic


def test_what_the_feeds_say_reaches_the_front_matter():
    podcast = parse_feed((FEEDS / "rss2-podcast-atp.xml").read_bytes())
    episode = front(convert_article(podcast.articles[0]).text)
    assert episode["enclosures"][0]["url"].startswith("http") and episode["enclosures"][0]["type"].startswith("audio/")
    assert episode["feed"] == {"title": "Accidental Tech Podcast", "url": "http://atp.fm/"}
    kr = front(convert_article(parse_feed((FEEDS / "rss2-36kr-official-2016.xml").read_bytes()).articles[0]).text)
    assert "ktm_source" not in kr["link"] and kr["link"].startswith("http://36kr.com/p/")
    assert kr["date"].isoformat() == "2016-10-26T16:53:42+08:00"  # the channel's zone, not UTC
    commits = parse_feed((FEEDS / "atom-github-commits-ksbot.xml").read_bytes())
    assert front(convert_article(commits.articles[0]).text).get("cover", "").startswith("https://")  # media:thumbnail
    threedm = parse_feed((FEEDS / "rss2-rsshub-3dm.xml").read_bytes())  # no thumbnail: the first picture
    first = convert_article(threedm.articles[0])
    assert first.metadata["cover"].startswith("https://img.3dmgame.com/") and first.metadata["cover"] in first.body
    json11 = parse_feed((FEEDS / "json-3960-v11.json").read_bytes())
    first = convert_article(json11.articles[0])
    assert first.report.tracking_pixels_removed == 1 and "stats.3960.org" not in first.text
    assert front(first.text)["author"] == "Frank Boës"


def test_relative_addresses_are_resolved_against_the_entry():
    hexo = parse_feed((FEEDS / "atom-hexo-joytsing.xml").read_bytes())
    bodies = [convert_article(a).body for a in hexo.articles]
    assert any("](https://joytsing.github.io/posts/" in b for b in bodies)
    assert not any(re.search(r"\]\(/posts/", b) for b in bodies)


def test_text_content_is_text_never_markup():
    atom = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>CI</title>'
            b'<entry><title>Run 1</title><id>urn:1</id><updated>2024-01-01T00:00:00Z</updated>'
            b'<content type="text">Run &lt;job_id&gt; failed\nsecond line</content></entry></feed>')
    body = convert_article(parse_feed(atom).articles[0]).body
    from markdown_it import MarkdownIt
    from selectolax.lexbor import LexborHTMLParser

    shown = LexborHTMLParser(MarkdownIt("commonmark").render(body)).body.text()
    assert shown == "Run <job_id> failed\nsecond line\n"  # the text, with its line break
    assert text_as_html("a <b>\n\nc") == "<p>a &lt;b&gt;</p><p>c</p>"


def test_opml_lists_every_feed_in_order():
    subscriptions = parse_opml((FEEDS / "opml-awesome-rsshub-routes.opml").read_bytes())
    assert len(subscriptions) == 59
    assert all(s.url.startswith("http") for s in subscriptions)
    with pytest.raises(ConversionError, match="not an OPML file"):
        parse_opml(b"<html><body>no</body></html>")


def test_feedparser_suite_converts_or_fails_in_one_line():
    files = [p for p in SUITE.rglob("*") if p.is_file()]
    assert len(files) > 2000, "feedparser's suite is missing from ../shared/feeds"
    converted = []
    for path in files:
        try:
            feed = parse_feed(path.read_bytes())
        except ConversionError as exc:
            assert "please report" not in str(exc) and "\n" not in str(exc), path
            continue
        for article in feed.articles:
            try:
                converted.append((path, convert_article(article).body))
            except ConversionError as exc:
                assert "please report" not in str(exc), (path, exc)
    assert len(converted) > 1000


@pytest.mark.parametrize("renderer", ["markdown-it", "cmark-gfm", "marked"])
def test_feedparser_sanitize_cases_render_nothing_executable(renderer):
    matrix.require(renderer)
    cases = sorted((SUITE / "wellformed" / "sanitize").glob("*.xml"))
    assert len(cases) > 100
    bodies, names = [], []
    for path in cases:
        for article in parse_feed(path.read_bytes()).articles:
            bodies.append(convert_article(article).body)
            names.append(path.name)
    bad = [(n, found) for n, rendered in zip(names, matrix.render(renderer, bodies)) if (found := matrix.executable(rendered))]
    assert not bad, bad[:5]


# -- bad feeds: a clear line each, the valid entries still written --------------------------
@pytest.mark.parametrize("data, message", [
    (b"\x00\x01\x02 garbage", "not a feed"),
    (b"", "empty file"),
    (b"<!DOCTYPE html><html><head><title>x</title></head><body><p>a page</p></body></html>", "not a feed"),
    (b'{"items": []}', "not a feed: JSON without a JSON Feed version"),
])
def test_what_is_no_feed_fails_with_one_line(tmp_path, data, message):
    path = tmp_path / "bad.xml"
    path.write_bytes(data)
    proc = run("feed", path, "-o", tmp_path / "out")
    assert proc.returncode == 1
    lines = proc.stderr.decode().splitlines()
    assert lines[0].startswith(f"feed2md: {path}: {message}"), lines
    assert lines[-1].startswith("feed2md: 1 feed, 0 new,") and "1 feed failed" in lines[-1]


def test_ill_formed_feeds_keep_their_valid_entries(tmp_path):
    good = (FEEDS / "rss2-rsshub-36kr-newsflashes.xml").read_bytes()
    truncated = tmp_path / "truncated.xml"
    truncated.write_bytes(good[: good.index(b"</item>", len(good) // 2) + 7])
    proc = run("feed", truncated, "-o", tmp_path / "t")
    assert proc.returncode == 0
    assert "warning: ill-formed feed, read as far as possible" in proc.stderr.decode()
    assert len(list((tmp_path / "t").glob("*.md"))) >= 10
    wrong = tmp_path / "declared.xml"  # GB2312 bytes declared as UTF-8
    wrong.write_bytes((FEEDS / "rss2-dvbbs-kc0011-gb2312.xml").read_bytes().replace(b'encoding="gb2312"', b'encoding="utf-8"', 1))
    assert run("feed", wrong, "-o", tmp_path / "w").returncode == 0
    assert list((tmp_path / "w").glob("*.md"))
    empty = run("feed", FEEDS / "atom-fp-xhtml-relative-uri.xml", "-o", tmp_path / "e")
    assert "warning: the feed has no entries" in empty.stderr.decode()


def test_duplicate_guids_and_entries_without_title_or_date_are_all_written(tmp_path):
    items = "".join(f"<item><guid>same</guid><link>https://example.org/{i}</link><description>entry {i}</description></item>"
                    for i in range(3))
    feed = tmp_path / "dup.xml"
    feed.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>D</title>{items}</channel></rss>')
    proc = run("feed", feed, "-o", tmp_path / "out")
    assert proc.returncode == 0
    assert "warning: 1 id(s) shared by several entries" in proc.stderr.decode()
    written = sorted((tmp_path / "out").glob("*.md"))
    assert len(written) == 3
    assert sorted(p.read_text().rsplit("entry ", 1)[1].strip() for p in written) == ["0", "1", "2"]
    assert all("1970-01-01" in p.name for p in written)  # no date: a stable name still


def test_names_never_climb_out_whatever_the_feed_says(tmp_path):
    items = "".join(f"<item><title>{t}</title><guid>g{i}</guid><description>x</description></item>"
                    for i, t in enumerate(["../../escape", "a/b/c", "..", "con\x01trol"]))
    feed = tmp_path / "hostile.xml"
    feed.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>H</title>{items}</channel></rss>'.replace("\x01", "&#x1;"))
    out = tmp_path / "out"
    run("feed", feed, "-o", out)
    written = [p for p in tmp_path.rglob("*.md")]
    assert len(written) == 4 and all(p.parent == out for p in written)


# -- incremental, over HTTP ------------------------------------------------------------------
class FeedServer:
    """A local HTTP server on 127.0.0.1 serving one feed with an ETag, counting requests."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requests: list[dict] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                etag = f'"{hash(server.body) & 0xFFFFFFFF:x}"'
                server.requests.append({"path": self.path, "if-none-match": self.headers.get("If-None-Match"),
                                        "user-agent": self.headers.get("User-Agent")})
                if self.path == "/missing.xml":
                    self.send_response(404)
                    self.end_headers()
                    return
                if self.path == "/page.html":
                    page = b"<!DOCTYPE html><html><body>not a feed</body></html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture
def server():
    s = FeedServer((FEEDS / "rss2-rsshub-3dm.xml").read_bytes())
    yield s
    s.close()


def test_a_second_run_sends_a_conditional_request_gets_304_and_writes_nothing(server, tmp_path):
    out = tmp_path / "posts"
    first = run("feed", f"{server.url}/feed.xml", "-o", out)
    assert first.returncode == 0, first.stderr
    files = {p.name: p.stat().st_mtime_ns for p in out.glob("*.md")}
    assert len(files) == 20
    assert server.requests[0]["user-agent"].startswith("feed2md/")
    second = run("feed", f"{server.url}/feed.xml", "-o", out)
    assert server.requests[-1]["if-none-match"] is not None
    assert "1 not modified, 0 new, 0 changed" in second.stderr.decode()
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.md")} == files
    # One entry changes (its title too): exactly its file changes, under the same name.
    server.body = server.body.replace("将登陆PS系主机".encode(), "将登陆PS5主机".encode(), 1)
    third = run("feed", f"{server.url}/feed.xml", "-o", out)
    assert "0 new, 1 changed, 19 unchanged" in third.stderr.decode(), third.stderr
    now = {p.name: p.stat().st_mtime_ns for p in out.glob("*.md")}
    assert now.keys() == files.keys()
    assert [n for n in now if now[n] != files[n]] and len([n for n in now if now[n] != files[n]]) == 1


def test_failed_fetches_say_why_in_one_line(server, tmp_path):
    proc = run("feed", f"{server.url}/missing.xml", f"{server.url}/page.html", "http://127.0.0.1:9/x.xml",
               "https://no-such-host.invalid/feed", "-o", tmp_path / "o")
    lines = proc.stderr.decode().splitlines()
    assert proc.returncode == 1
    assert f"feed2md: {server.url}/missing.xml: HTTP 404 Not Found" in lines
    assert f"feed2md: {server.url}/page.html: not a feed: an HTML page" in lines
    assert any(line.startswith("feed2md: http://127.0.0.1:9/x.xml: cannot connect") for line in lines)
    assert any(line.startswith("feed2md: https://no-such-host.invalid/feed: DNS:") for line in lines)
    assert "4 feeds failed" in lines[-1]


def test_jsonl_to_stdout_from_a_pipe():
    proc = run("feed", "-", "--format", "jsonl", stdin=(FEEDS / "json-daringfireball-v1.json").read_bytes())
    objects = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(objects) == 48 and objects[0]["feed"]["title"] == "Daring Fireball"
    assert objects[0]["metadata"]["title"] and objects[0]["body"] and objects[0]["name"].endswith(".md")
    assert run("feed", "-", stdin=b"x").returncode == 2  # Markdown files need -o DIR


def test_the_buffered_sax_driver_reads_every_feed_the_same(monkeypatch):
    """feedparser reads through feed2md's buffered expat driver (saxbuffered.py) only for speed:
    on every real feed and every file of feedparser's suite, the entries are the same without it."""
    import feedparser.api

    from feed2md.converters import feeds

    files = [*REAL, *(p for p in SUITE.rglob("*") if p.is_file())]

    def read_all():
        out = []
        for path in files:
            try:
                out.append(parse_feed(path.read_bytes()))
            except ConversionError as exc:
                out.append(str(exc))
        return out

    buffered = read_all()
    assert feeds.DRIVER in feedparser.api.PREFERRED_XML_PARSERS
    monkeypatch.setattr(feedparser.api, "PREFERRED_XML_PARSERS", [p for p in feedparser.api.PREFERRED_XML_PARSERS if p != feeds.DRIVER])
    monkeypatch.setattr(feeds, "DRIVER", "feed2md.no_such_driver")  # make_parser skips what it cannot import
    assert read_all() == buffered


def test_an_opml_list_in_the_scrapers_hexo_layout(server, tmp_path):
    opml = tmp_path / "subscriptions.opml"
    opml.write_text(f'<?xml version="1.0"?><opml version="2.0"><body><outline text="游戏"><outline text="3DM" '
                    f'xmlUrl="{server.url}/3dm.xml"/></outline><outline text="top" xmlUrl="{server.url}/missing.xml"/>'
                    f"</body></opml>", "utf-8")
    out = tmp_path / "_posts"
    proc = run("feed", "--opml", opml, "-o", out, "--name", "{folder}/{feed}/{title}")
    assert proc.returncode == 1  # the missing feed fails, named; the other is written
    assert f"feed2md: {server.url}/missing.xml: HTTP 404 Not Found" in proc.stderr.decode()
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.md"))
    assert len(written) == 20 and all(n.startswith("游戏/3DM - 新闻中心/") for n in written)


def test_html_titles_are_their_text_decoded_once():
    atom = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
            b'<entry><title type="html">&lt;b&gt;A&lt;/b&gt; &amp;amp;lt; B</title><id>1</id></entry>'
            b'<entry><title type="html">x &amp;amp; y</title><id>2</id></entry>'
            b'<entry><title type="text">a &lt;b&gt;</title><id>3</id></entry></feed>')
    assert [a.metadata["title"] for a in parse_feed(atom).articles] == ["A &lt; B", "x & y", "a <b>"]


def test_site_rules_are_chosen_by_the_feed_and_the_entry_link():
    def entry(channel_title: str, link: str) -> str:
        feed = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{channel_title}</title><link>https://example.org/</link>'
                f'<item><title>t</title><guid>1</guid><link>{link}</link><description>&lt;p&gt;text&lt;/p&gt;'
                f'&lt;div class="comment-box"&gt;comments&lt;/div&gt;</description></item></channel></rss>').encode()
        return convert_article(parse_feed(feed).articles[0]).body

    assert "comments" in entry("Some blog", "https://example.org/p/1")
    assert entry("少数派", "https://example.org/p/1") == "text\n"  # by the feed's title
    assert entry("Some blog", "https://sspai.com/post/1") == "text\n"  # by the entry's link


def test_a_target_that_names_by_title_names_feed_entries_too(tmp_path):
    run("feed", FEEDS / "rss2-rsshub-36kr-newsflashes.xml", "-o", tmp_path / "vault", "--target", "obsidian", "-q")
    names = sorted(p.name for p in (tmp_path / "vault").glob("*.md"))
    assert len(names) == 30 and "vivo与国家无线电监测中心检测中心成立5G联合实验室.md" in names
    assert all(front((tmp_path / "vault" / n).read_text("utf-8")).get("created") for n in names)
