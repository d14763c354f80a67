"""Site rules as data (issue #4): built-in rules on real pages, and a user's TOML file."""

from __future__ import annotations

import subprocess
import sys

import pytest

from feed2md.converters import ConversionError, Options, convert, default_rules, parse_rules

from .conftest import CORPUS, body_of

FEED2MD = [sys.executable, "-m", "feed2md.cli"]

INVENTED_SITE = """
[[site]]
name = "gazette"
names = ["The Gazette"]
drop = [".promo-box", "aside.related"]
unwrap = ["span.tracked"]
strip_params = ["campaign_*"]
redirects = [{ host = "go.gazette.example", path = "/out", param = "to" }]
"""

PAGE = """---
title: Rules from data
author: The Gazette
date: 2024-01-02 03:04:05
---
<div><p>Read <a href="https://go.gazette.example/out?to=https%3A%2F%2Fnews.example%2Fstory%3Fcampaign_id%3D9%26page%3D2">the story</a>
by <span class="tracked" data-t="1">our <b>reporter</b></span>.</p>
<div class="promo-box"><p>SUBSCRIBE NOW</p></div><aside class="related"><p>Related junk</p></aside>
<p>Image: <img src="https://img.example/a.jpg?campaign_src=x&amp;w=300" alt="a"></p></div>
"""


def test_a_rule_from_toml_applies_with_no_code_change(tmp_path):
    rules = default_rules().merged_with(parse_rules(INVENTED_SITE, "gazette.toml"))
    result = convert(PAGE, Options(rules=rules))
    body = body_of(result.text)
    assert "[the story](https://news.example/story?page=2)" in body
    assert "by our **reporter**." in body
    assert "SUBSCRIBE" not in body and "Related junk" not in body
    assert "![a](https://img.example/a.jpg?w=300)" in body
    assert "gazette" in result.report.sites
    # without the rule file, the same page keeps the site's chrome
    assert "SUBSCRIBE NOW" in convert(PAGE).text


def test_rules_file_on_the_command_line(tmp_path):
    rules_file = tmp_path / "gazette.toml"
    rules_file.write_text(INVENTED_SITE, "utf-8")
    page = tmp_path / "page.txt"
    page.write_text(PAGE, "utf-8")
    converted = subprocess.run([*FEED2MD, "convert", "--rules", str(rules_file), str(page)], capture_output=True, text=True)
    assert converted.returncode == 0 and "SUBSCRIBE" not in converted.stdout
    listed = subprocess.run([*FEED2MD, "rules", "--rules", str(rules_file)], capture_output=True, text=True,
                            env={"COLUMNS": "200", "NO_COLOR": "1", "PATH": ""})
    assert listed.returncode == 0
    assert "gazette" in listed.stdout and "36kr" in listed.stdout and "juejin" in listed.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[[site]]\nname = 'x'\ndorp = ['p']\n", "utf-8")
    refused = subprocess.run([*FEED2MD, "convert", "--rules", str(bad), str(page)], capture_output=True, text=True)
    assert refused.returncode == 2 and refused.stderr.strip() == f"feed2md: {bad}: site 'x' has unknown keys: dorp"


def test_strip_params_take_names_prefixes_and_globs():
    rules = default_rules().merged_with(parse_rules("""
[[site]]
name = "params"
always = true
strip_params = ["sid", "trk_*", "ref?", "*_cid", "v[0-9]"]
keep_params = ["trk_keep"]
""", "params.toml"))
    query = "sid=1&SID=2&trk_a=3&trk_keep=4&refx=5&refxy=6&ad_cid=7&v2=8&va=9&page=10"
    result = convert(f"---\ntitle: t\n---\n<p><a href='https://example.com/a?{query.replace('&', '&amp;')}'>x</a></p>",
                     Options(rules=rules))
    assert "(https://example.com/a?trk_keep=4&refxy=6&va=9&page=10)" in result.text


def test_bad_rules_raise_the_library_error():
    with pytest.raises(ConversionError, match="not valid TOML"):
        parse_rules("[[site]\nname=", "broken.toml")


@pytest.mark.parametrize(
    "href,expected",
    [
        ("https://link.juejin.cn/?target=https%3A%2F%2Fgithub.com%2Fa%2Fb", "https://github.com/a/b"),
        ("https://link.zhihu.com/?target=https%3A//example.com/x", "https://example.com/x"),
        ("https://www.oschina.net/action/GoToLink?url=https%3A%2F%2Fgitee.com%2Fp", "https://gitee.com/p"),
        ("https://c.duomai.com/track.php?site_id=1&euid=&t=https%3A%2F%2Fitem.jd.com%2F1.html", "https://item.jd.com/1.html"),
        ("//tv.sohu.com/v/abc.html", "https://tv.sohu.com/v/abc.html"),
        ("https://mp.weixin.qq.com/s?__biz=MzA&mid=1&idx=1&sn=abc&chksm=zz&scene=21#wechat_redirect",
         "https://mp.weixin.qq.com/s?__biz=MzA&mid=1&idx=1&sn=abc#wechat_redirect"),
        ("https://example.com/p?utm_source=rss&utm_medium=feed&spm=a.b&keep=1", "https://example.com/p?keep=1"),
    ],
)
def test_redirects_unwrapped_and_tracking_stripped(href, expected):
    result = convert(f'<div><p><a href="{href}">link</a></p></div>')
    assert result.body == f"[link]({expected})\n"


def test_code_chrome_comes_from_the_rules():
    page = '---\ntitle: t\n---\n<pre><code>x = 1<span class="hl-copy">复制</span></code></pre>'
    assert "复制" in convert(page).body
    rules = default_rules().merged_with(parse_rules('[[site]]\nname = "hl"\ncode_chrome = ["hl-copy"]\n', "hl.toml"))
    assert convert(page, Options(rules=rules)).body == "```\nx = 1\n```\n"


def test_juejin_code_keeps_language_and_loses_the_copy_button():
    source = (CORPUS / "mixed" / "009.txt").read_text("utf-8")
    assert 'class="copy-code-btn"' in source and 'class="hljs language-js copyable"' in source
    body = convert(source).body
    assert "复制代码" not in body
    assert "```js\n" in body


@pytest.mark.parametrize(
    "pre,fence",
    [
        ('<pre><code class="language-typescript">x</code></pre>', "```typescript"),
        ('<pre lang="python">x</pre>', "```python"),
        ('<pre><code class="hljs language-go">x</code></pre>', "```go"),
        ('<pre class="prettyprint lang-java">x</pre>', "```java"),
        ('<pre><code class="hljs"><span class="hljs-keyword">x</span></code></pre>', "```\nx\n```"),
    ],
)
def test_code_language_is_kept(pre, fence):
    assert fence in convert(f"<div>{pre}</div>").body


def test_iframes_become_links_and_figures_keep_captions():
    html = ('<div><iframe src="https://www.youtube.com/embed/abc?utm_source=x" title="Trailer"></iframe>'
            '<figure><img src="https://img.example/a.png"><figcaption>图一：说明</figcaption></figure></div>')
    assert convert(html).body == "[Trailer](https://www.youtube.com/embed/abc)\n\n![](https://img.example/a.png)\n\n图一：说明\n"


def test_the_built_in_rules_pass_the_checks_user_rules_get():
    """The built-in rules skip the value checks at start-up; here they get them all."""
    from feed2md.converters.rules import DEFAULT_RULES_PATH

    rules = parse_rules(DEFAULT_RULES_PATH.read_text("utf-8"), source="built-in", check=True)
    assert len(rules.sites) == len(default_rules().sites)
