"""Publishing targets (issue #15): front matter, file names and template protection per
publisher, on real corpus files and through the real command line. The site builds that
prove them are in test_site_builds.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import yaml

from feed2md.converters import Options, convert
from feed2md.converters.targets import obsidian_tag, output_name, protect, slug, unprotect
from feed2md.converters.verify import verify

from .conftest import CORPUS, SEED, corpus_files
from .test_cli import run

TARGETS = ("gfm", "hexo", "hugo", "jekyll", "obsidian")


def front(text: str) -> dict:
    return yaml.safe_load(text.split("---\n")[1])


def test_each_target_writes_the_keys_its_publisher_reads_and_loses_none():
    source = SEED.read_text("utf-8").replace("date:", "updated: 2021-07-30 01:00:00\nlink: https://example.org/a\ndate:", 1)
    plain = front(convert(source).text)
    hugo = front(convert(source, Options(target="hugo")).text)
    assert hugo["lastmod"] == plain["updated"] and "updated" not in hugo
    assert hugo["images"] == [plain["cover"]] if "cover" in plain else "images" not in hugo
    jekyll = front(convert(source, Options(target="jekyll")).text)
    assert jekyll["layout"] == "post" and jekyll["last_modified_at"] == plain["updated"]
    obsidian = front(convert(source, Options(target="obsidian")).text)
    assert obsidian["created"] == plain["date"] and obsidian["source"] == "https://example.org/a"
    assert obsidian["categories"] == plain["categories"]  # kept as it was
    assert all(re.fullmatch(r"[\w/\-]+", tag) and not tag.isdigit() for tag in obsidian["tags"])
    assert front(convert(source, Options(target="hexo")).text) == plain  # the archive is Hexo's already
    for target in TARGETS:  # every other key is kept as it is
        meta = front(convert(source, Options(target=target)).text)
        assert meta["title"] == plain["title"] and meta["author"] == plain["author"]


@pytest.mark.parametrize("target", TARGETS)
def test_a_targets_output_converted_again_is_unchanged_and_verifies(target):
    for path in corpus_files("36kr", "mixed", "seed"):
        source = path.read_text("utf-8")
        result = convert(source, Options(target=target))
        assert convert(result.text, Options(target=target)).text == result.text, path
        assert verify(source, result.text, target=target) == [], path


def test_template_syntax_is_protected_with_the_least_noise_and_only_once():
    body = "Vue {{ x }} here.\n\nplain {not} text\n\n```\n{% tag %}\n```\n\n> quoted {# c #}\n"
    liquid = protect(body, "liquid")
    assert liquid == ("{% raw %}Vue {{ x }} here.{% endraw %}\n\nplain {not} text\n\n{% raw %}\n```\n{% tag %}\n```\n"
                      "{% endraw %}\n\n> quoted {# c #}\n")  # Liquid has no {# #}: that line stays bare
    assert protect(liquid, "liquid") == liquid and unprotect(liquid, "liquid") == body
    assert protect(body, "nunjucks").endswith("> {% raw %}quoted {# c #}{% endraw %}\n")
    hugo = protect("a {{< youtube id >}} b {{% note %}} c\n", "hugo")
    assert hugo == "a {{</* youtube id */>}} b {{%/* note */%}} c\n" and protect(hugo, "hugo") == hugo


def test_names_are_readable_safe_and_never_climb_out():
    meta = {"title": '能否"复刻"宁德时代？', "date": "2021-07-29T06:47:26+00:00"}
    assert output_name("{path}{date:%Y-%m-%d}-{slug}", "36kr/001.txt", meta) == "36kr/2021-07-29-能否-复刻-宁德时代"
    assert output_name("{path}{title}", "a/b.txt", {"title": "A [b] #c ^d | e \\ f / g: h"}) == "a/A b c d e f g h"
    for title in ("../../etc/passwd", "..", "/abs/path", "a\x00b\x1fc", "con\\..\\x", ""):
        for template in ("{title}", "{slug}", "{path}{title}", "{date}-{slug}"):
            name = output_name(template, "x.txt", {"title": title})
            assert ".." not in name and not name.startswith("/") and "/" not in name
            assert not re.search(r"[\x00-\x1f]", name) and name
    assert slug("Hello, World! 2021") == "hello-world-2021"
    assert obsidian_tag("#hello world") == "hello-world" and obsidian_tag("2021") == "_2021"


def test_batch_names_files_per_target_and_reports_collisions(tmp_path):
    out = tmp_path / "jekyll"
    proc = run("batch", CORPUS, "-o", out, "--target", "jekyll", "-q")
    assert proc.returncode == 0, proc.stderr
    names = [p.relative_to(out).as_posix() for p in out.rglob("*.md")]
    assert len(names) == len(list(CORPUS.glob("*/*.txt")))
    assert all(re.match(r"\d{4}-\d{2}-\d{2}-\S", n.rsplit("/", 1)[-1]) for n in names)
    assert any(re.search(r"[\u4e00-\u9fff]", n) for n in names)  # CJK titles stay readable
    assert run("batch", CORPUS, "-o", out, "--target", "jekyll").stderr.decode().startswith("feed2md: 0 converted, 67 unchanged")
    obsidian = tmp_path / "vault"
    run("batch", CORPUS, "-o", obsidian, "--target", "obsidian", "-q")
    assert all(not re.search(r"[\[\]#^|\\:]", p.name) for p in obsidian.rglob("*.md"))
    flat = run("batch", CORPUS, "-o", tmp_path / "flat", "--name", "{stem}")
    assert "feed2md: warning: mixed/001.txt: written as 001-2.md, as 36kr/001.txt already has that name" in flat.stderr.decode()
    assert run("batch", CORPUS, "-o", tmp_path / "x", "--name", "{nope}").returncode == 2


def test_a_target_is_data_users_can_add_in_a_rules_file(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[target.zola]\ndescription = "Zola"\nrename = { updated = "updated", cover = "extra_image" }\n'
                     'protect = "nunjucks"\nname = "{path}{slug}"\n')
    fixture = (Path(__file__).parent / "fixtures" / "templates.txt").read_text("utf-8")
    fixture = fixture.replace("tags:", "headimg: https://img.example.org/c.jpg\ntags:", 1)
    proc = run("convert", "--rules", rules, "--target", "zola", "-o", f"{tmp_path}/site/", stdin=fixture.encode())
    assert proc.returncode == 0, proc.stderr
    written = (tmp_path / "site" / "template-syntax-in-an-article.md").read_text("utf-8")
    assert front(written)["extra_image"] == "https://img.example.org/c.jpg"
    assert "\n{% raw %}Vue shows {{ message }} here" in written
    assert run("convert", SEED, "--target", "zola").returncode == 2  # unknown without the file
    rules.write_text('[target.bad]\nprotect = "jinja"\n')
    bad = run("convert", SEED, "--rules", rules, "--target", "bad")
    assert bad.returncode == 2 and "protect 'jinja' is not one of" in bad.stderr.decode()


def test_verify_and_batch_verify_read_the_target_back(tmp_path):
    out = tmp_path / "out"
    proc = run("batch", CORPUS / "36kr", "-o", out, "--target", "obsidian", "--verify", "-q")
    assert proc.returncode == 0 and proc.stderr == b""
    first = sorted(out.rglob("*.md"))[0]
    source = next(p for p in (CORPUS / "36kr").glob("*.txt") if front(p.read_text("utf-8"))["title"].strip()
                  == front(first.read_text("utf-8"))["title"])
    assert run("verify", source, first, "--target", "obsidian").returncode == 0
    assert run("verify", source, first).returncode == 1  # read as gfm, its date is `created`: lost


def test_hexo_gets_html_for_addresses_its_renderer_would_decode():
    from feed2md.converters.targets import escaped_urls_as_html

    body = ("![2n+1](https://www.zhihu.com/equation?tex=2n%2B1) [a **b**](https://x.org/?q=a%2Bb%26c) "
            "[plain](https://x.org/%E4%B8%AD)\n\n`![](https://x/?a%2B)`\n\n```\n![](https://x/?a%2B)\n```\n")
    html = escaped_urls_as_html(body)
    assert html.startswith('<img data-feed2md src="https://www.zhihu.com/equation?tex=2n%2B1" alt="2n+1"> '
                           '<a data-feed2md href="https://x.org/?q=a%2Bb%26c">a **b**</a> [plain](https://x.org/%E4%B8%AD)')
    assert html.endswith("`![](https://x/?a%2B)`\n\n```\n![](https://x/?a%2B)\n```\n")  # code untouched
    assert escaped_urls_as_html(html) == html
    source = "---\ntitle: t\n---\n<p><img src=\"https://www.zhihu.com/equation?tex=2n%2B1\"></p><p>text</p>"
    out = convert(source, Options(target="hexo")).text
    assert "<img data-feed2md" in out and convert(out, Options(target="hexo")).text == out
    assert verify(source, out, target="hexo") == []
    assert "<img" not in convert(source).text  # the other targets keep Markdown


def test_the_mark_of_feed2md_s_own_html_cannot_smuggle_anything():
    for body in ('<a data-feed2md href="javascript:alert(1)">x</a> text', '<img data-feed2md src="x" onerror="alert(1)" alt="">',
                 'text <img data-feed2md src="https://x/%2B" alt="" onload="alert(1)">',
                 '<img data-feed2md src="data:text/html,<script>alert(1)</script>" alt="">'):
        out = convert("---\ntitle: t\n---\n" + body, Options(target="hexo")).text
        assert "javascript:" not in out and "onerror" not in out and "onload" not in out and "data:text" not in out, out


@settings(max_examples=300, deadline=None)
@given(title=st.text(max_size=300), stem=st.text(st.characters(blacklist_characters="/"), min_size=1, max_size=40), folder=st.text(max_size=40))
def test_no_title_or_feed_can_make_a_name_climb_out(title, stem, folder):
    for template in ("{path}{title}", "{path}{slug}", "{date:%Y-%m-%d}-{slug}", "{folder}/{feed}/{title}", "{stem}"):
        name = output_name(template, f"a/{stem}.txt", {"title": title}, feed=title, listed_in=folder)
        parts = name.split("/")
        assert all(part not in ("", ".", "..") for part in parts), (template, name)
        assert not re.search(r"[\x00-\x1f\x7f\\\\:]", name), (template, name)
        assert all(len(part) <= 120 for part in parts)
