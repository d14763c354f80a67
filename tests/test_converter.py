"""Focused cases for each rule of the core converter (issue #2), checked by rendering."""

from __future__ import annotations

import datetime as dt

import frontmatter
import pytest
import yaml

from feed2md.converters import CompanyLinks, Options, convert

from .conftest import SEED, body_of


def article(body: str, front: str = "title: t\ndate: Thu, 29 Jul 2021 06:47:26 GMT") -> str:
    return f"\n---\n{front}\n---\n\n<div>\n{body}\n</div>\n"


def test_seed_article_is_clean_and_keeps_its_source_link():
    result = convert(SEED.read_text("utf-8"))
    assert "project-link" not in result.text and "36kr.com/project" not in result.text
    assert "[“界面新闻”](https://www.jiemian.com/article/6416451.html)" in result.text
    assert "亚马逊云科技（AWS）持续加码中国市场" in result.text
    assert result.report.company_links_removed > 0
    assert convert(result.text).text == result.text


@pytest.mark.parametrize(
    "href",
    [
        "https://36kr.com/projectDetails/366062",
        "https://36kr.com/project/12345",
        "https://www.36dianping.com/space/9999?mp=zzquote",
        "https://p.36kr.com/space/42",
        "https://example.com/some/future/form",  # the class alone identifies a company link
    ],
)
def test_company_links_become_their_text_in_place(href):
    html = f'<p>亚马逊<a class="project-link" data-id="1" data-name="云科技" href="{href}">云科技</a>（AWS）</p>'
    assert body_of(convert(article(html)).text) == "亚马逊云科技（AWS）\n"


def test_company_link_splitting_a_word_joins_back():
    html = '<p>本土客<a class="project-link" data-id="7" data-name="户" href="https://36kr.com/projectDetails/7">户</a>增长</p>'
    assert body_of(convert(article(html)).text) == "本土客户增长\n"


def test_company_links_can_be_listed_or_kept_as_clean_links():
    html = '<p>与<a class="project-link" data-id="84216" data-name="德勤" href="https://www.36dianping.com/space/84216?mp=zzquote">德勤</a>合作</p>'
    listed = convert(article(html), Options(company_links=CompanyLinks.LIST))
    assert listed.metadata["companies"] == [
        {"name": "德勤", "id": "84216", "url": "https://www.36dianping.com/space/84216"}
    ]
    assert body_of(listed.text) == "与德勤合作\n"
    linked = convert(article(html), Options(company_links=CompanyLinks.LINK))
    assert body_of(linked.text) == "与[德勤](https://www.36dianping.com/space/84216)合作\n"


@pytest.mark.parametrize(
    "html",
    [
        "<p><strong>“重点”</strong>内容</p>",
        "<p><strong>提示：</strong>正文</p>",
        "<p>前文<strong>（注）</strong>后文</p>",
        "<p>这是<b>粗</b>\n字</p>",
        "<p>an <em>emphasised</em> word and <del>gone</del></p>",
    ],
)
def test_emphasis_renders_under_strict_commonmark(html, render):
    out = render(convert(article(html)).text)
    assert "**" not in out and "~~" not in out
    assert ("<strong>" in out) or ("<em>" in out)
    assert " 字" not in out and " 内容" not in out  # no space added before CJK


def test_emphasis_uses_markdown_syntax_where_commonmark_allows_it():
    assert body_of(convert(article("<p>这是<strong>粗体</strong>文字</p>")).text) == "这是**粗体**文字\n"


def test_no_space_is_added_between_cjk_characters():
    html = "<p>中文<b>粗体</b>\n文字，第一行\n第二行</p>"
    assert body_of(convert(article(html)).text) == "中文**粗体**文字，第一行第二行\n"


@pytest.mark.parametrize(
    "text",
    ["1. 首先", "#话题# 开始", "# 不是标题", "- 不是列表", "+ plus", "> not a quote", "a*b*c", "x_y_z",
     "[not a link](x)", "`not code`", "<b>shown as text</b>", "AT&amp;T &amp;copy;", "3~5 年 ~x~", "***"],
)
def test_literal_characters_survive_rendering(text, render, fidelity):
    html = f"<p>{text.replace('<', '&lt;')}</p>"
    rendered = render(convert(article(html)).text)
    tree = fidelity.parse_html(rendered)
    import html as std_html

    assert tree.text_content().strip() == std_html.unescape(text)
    assert rendered.startswith("<p>")


def test_lists_quotes_tables_code_and_breaks(render):
    html = (
        "<ul><li>one<ul><li>nested</li></ul></li><li><p>p1</p><p>p2</p></li></ul>"
        "<ol><li>first</li><li>second</li></ol><blockquote><p>q1</p><p>q2</p></blockquote>"
        "<table><tr><th>h1</th><th>h2</th></tr><tr><td>a|b</td><td>c<br>d</td></tr></table>"
        "<p>line<br>break</p><h2>标题</h2><h3></h3>"
        '<pre><code class="language-typescript">let x: Record<string, any> = {};\n```\n</code></pre>'
    )
    result = convert(article(html))
    out = render(result.text)
    assert out.count("<li>") == 5 and "<ul>\n<li>nested</li>" in out
    assert out.count("<blockquote>") == 1 and out.count("<p>q") == 2
    assert "<td>a|b</td>" in out and "<td>c<br>d</td>" in out
    assert "<p>line<br />\nbreak</p>" in out
    assert "<h2>标题</h2>" in out and "<h3>" not in out
    assert 'class="language-typescript">let x: Record&lt;string, any&gt; = {};\n```\n</code>' in out


def test_layout_has_no_trailing_space_or_blank_runs():
    html = "<p>a</p><p>&nbsp;</p><p></p><p>b  </p>\n\n\n<p><br><br>c</p>"
    body = body_of(convert(article(html)).text)
    assert body == "a\n\nb\n\nc\n"
    heading = "<h2>\n<a href='https://a.example/'>Dongarra</a>\n</h2><h3>  <strong>01 赛道</strong></h3><blockquote><h4>\tq</h4></blockquote>"
    assert body_of(convert(article(heading)).text) == "## [Dongarra](https://a.example/)\n\n### **01 赛道**\n\n> #### q\n"


def test_superscripts_and_subscripts_keep_their_meaning(render):
    html = "<p>10<sup>9</sup> 与 H<sub>2</sub>O，见<sup>[1]</sup>；<sup>&lt;b&gt;</sup><sup></sup></p><h2>E=mc<sup>2</sup></h2>"
    result = convert(article(html))
    # Portable forms where they exist (Unicode digits, the plain footnote mark), else tags.
    assert result.body == "10⁹ 与 H₂O，见[1]；<sup>&lt;b></sup>\n\n## E=mc²\n"
    assert "10⁹" in render(result.body) and "<sup>&lt;b&gt;</sup>" in render(result.body)
    assert convert(result.text).text == result.text  # read back as Markdown: its own tags
    # Paired like emphasis: never across lines or blocks (a tag left open would run on).
    assert convert(article("<p>a<sup>b<br>c</sup>d</p><div><sub><p>x</p><p>y</p></sub></div>")).body == "ab\\\ncd\n\nx\n\ny\n"


def test_spaces_ending_link_text_go_after_the_link():
    html = '<p>作者：<a href="https://a.example/">Chris Coyier </a>和 <a href="https://b.example/">B\n</a>。</p>'
    assert body_of(convert(article(html)).text) == "作者：[Chris Coyier](https://a.example/) 和 [B](https://b.example/) 。\n"


def test_front_matter_is_normalised_and_valid():
    front = (
        "title: '  多行\n  标题 '\ncategories:\n - 二次元\n - — 番剧\n -  - news\n"
        "headimg: 'https://img.example.com/a.jpg'\nauthor: AcFun\ncomments: false\n"
        "date: Mon, 03 Dec 2018 11:23:35 GMT\nthumbnail: 'https://img.example.com/a.jpg'"
    )
    result = convert(article("<p>x</p>", front))
    post = frontmatter.loads(result.text)
    assert list(post.keys()) == ["title", "date", "author", "categories", "comments", "cover"]
    assert post["title"] == "多行 标题"
    assert post["date"] == dt.datetime(2018, 12, 3, 11, 23, 35, tzinfo=dt.timezone.utc)
    assert "date: 2018-12-03T11:23:35+00:00\n" in result.text
    assert post["categories"] == ["二次元", "番剧", "news"]
    assert post["cover"] == "https://img.example.com/a.jpg"
    assert any("categories" in c for c in result.report.changes)
    assert any("headimg" in c for c in result.report.changes)


def test_toml_front_matter_becomes_the_same_yaml():
    toml = '+++\ntitle = "Hugo 文章"\ndate = 2021-07-29T14:47:26+08:00\ntags = ["a", "b"]\n[params]\nkey = 1\n+++\n<p>正文</p>'
    result = convert(toml)
    assert result.text == "---\ntitle: Hugo 文章\ndate: 2021-07-29T14:47:26+08:00\ntags:\n- a\n- b\nparams:\n  key: 1\n---\n\n正文\n"
    assert result.report.warnings == [] and convert(result.text).text == result.text
    broken = convert('+++\ntitle = 未加引号\n+++\n<p>正文</p>')
    assert broken.metadata["title"] == "未加引号" and "not valid TOML" in broken.report.warnings[0]


def test_placeholder_images_do_not_become_cover():
    front = "title: x\nheadimg: 'https://picsum.photos/400/300?random=5758'\nthumbnail: 'https://picsum.photos/400/300?random=5758'"
    result = convert(article("<p>x</p>", front))
    assert "cover" not in result.metadata and "headimg" not in result.metadata
    assert any("dropped" in c for c in result.report.changes)


@pytest.mark.parametrize("title", ["@003_miss_ \"(CW) \"", "\"quoted\"", "[x] y", "*star", "'q", "a: b", "a #b", " ", "line1\nline2"])
def test_awkward_titles_round_trip_through_yaml(title):
    front = "title: " + yaml.safe_dump(title, allow_unicode=True).strip().replace("\n...", "")
    result = convert(article("<p>x</p>", front))
    data = yaml.safe_load(result.text.split("---\n")[1])
    assert data["title"] == title.strip()
    assert convert(result.text).text == result.text


def test_invalid_yaml_is_recovered_with_a_warning():
    result = convert(article("<p>x</p>", "title: 'It's here'\ndate: 2022-04-04 03:31:13\nauthor: me"))
    assert result.metadata["title"] == "It's here"
    assert result.metadata["date"] == "2022-04-04T03:31:13+00:00"
    assert any("not valid YAML" in w for w in result.report.warnings)


@pytest.mark.parametrize(
    "text,expected_body",
    [
        ("<p>no front matter</p>", "no front matter\n"),
        ("---\ntitle: only front matter\n---\n", ""),
        ("---\ntitle: t\n---\njust plain text, no tags\n", "just plain text, no tags\n"),
    ],
)
def test_unusual_shapes_still_convert(text, expected_body):
    result = convert(text)
    assert result.body == expected_body
    assert convert(result.text).text == result.text


TRICKY = {
    "code block inside a list item": "<ol><li>步骤<pre><code>npm i</code></pre></li><li>下一步</li></ol>",
    "code block first in a list item": "<ul><li><pre>make test</pre></li></ul>",
    "list numbers of two digits": "<ol>" + "".join(f"<li>项{i}<ul><li>子{i}</li></ul></li>" for i in range(1, 13)) + "</ol>",
    "header narrower than the body (colspan)": '<table><tr><th colspan="2">合并</th></tr><tr><td>a</td><td>b</td></tr></table>',
    "one-column table": "<table><tr><th>only</th></tr><tr><td>one</td></tr></table>",
    "emphasis closing next to emphasis opening": "<p><b>粗<i>斜粗</i></b><i>斜</i></p>",
    "link around blocks": '<a href="https://x.example/p"><div><h3>标题</h3><p>摘要</p></div></a>',
    "nested quotes": "<blockquote><p>外层</p><blockquote><p>内层</p></blockquote><p>外层二</p></blockquote>",
    "inline quotation": "<p>他说<q>你好</q>。</p>",
    "table inside a table (layout)": "<table><tr><td><table><tr><td>内</td></tr></table></td><td>外</td></tr></table>",
    "link whose text is its URL": '<p><a href="https://x.example/a_b">https://x.example/a_b</a></p>',
    "URL with parentheses and spaces": '<p><a href="https://w.example/Foo_(bar)">维基</a> <a href="https://x.example/a b">空格</a></p>',
    "text that looks like block syntax": "<p>标题</p><p>===</p><p>---</p><p>~~~</p><p>```js</p><p>[1]: https://x.example</p>",
    "text that looks like HTML": "<p>&lt;div&gt;文字&lt;/div&gt; &lt;!-- 不是注释 --&gt;</p>",
    "list item holding a heading and a quote": "<ul><li><h3>小标题</h3>内容</li><li>说：<blockquote>引用</blockquote></li></ul>",
    "lazy-loaded image behind a placeholder": '<p><img data-src="https://mmbiz.qpic.cn/a/640?wx_fmt=png" '
    'src="data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="></p>',
    "video with fallback content": '<p>看视频</p><video controls><source src="https://x.example/v.mp4">'
    '不支持 <a href="https://x.example/v.mp4">下载</a></video><iframe src="https://x.example/e">fallback</iframe>',
    "blocks inside table cells": "<table><tr><th>A</th><th>B</th></tr><tr><td><h3>标题</h3></td><td><ul><li>一</li>"
    "<li>二</li></ul></td></tr><tr><td><blockquote>引用</blockquote></td><td>a<hr>b</td></tr></table>",
    "empty list item": "<ul><li></li><li>有</li></ul>",
    "table inside a list item": "<ul><li><table><tr><th>A</th></tr><tr><td>1</td></tr></table></li></ul>",
    "image given only by srcset": '<p><img srcset="https://x.example/a.jpg 1x, https://x.example/a2.jpg 2x" alt="a"></p>',
    "company link splitting a text run": '<p>亚马逊<a class="project-link" data-id="1" data-name="云" '
    'href="https://36kr.com/projectDetails/1">云</a>科技_AWS_ 与<a class="project-link" data-id="2">德勤</a></p>',
}


def test_raw_text_elements_show_what_a_browser_shows():
    body = convert(article("<xmp><b>x</b> &amp;</xmp><noframes><p>no frames</p></noframes><noembed>no embed</noembed>")).body
    assert body == "&lt;b>x&lt;/b> &amp;amp;\n"  # raw text: `&amp;` there is not an entity


@pytest.mark.parametrize("html", TRICKY.values(), ids=TRICKY.keys())
def test_tricky_structures_lose_nothing(html, render):
    from feed2md.converters.verify import verify

    source = article(html)
    result = convert(source)
    assert verify(source, result.text) == []
    assert convert(result.text).text == result.text


def test_blocks_inside_cells_keep_the_table_whole(render):
    out = render(convert(article(TRICKY["blocks inside table cells"])).text)
    assert out.count("<tr>") == 3 and "<td><strong>标题</strong></td>" in out and "<td>一<br>二</td>" in out


def test_lazy_images_show_the_real_picture():
    body = convert(article(TRICKY["lazy-loaded image behind a placeholder"])).body
    assert body == "![](https://mmbiz.qpic.cn/a/640?wx_fmt=png)\n"
    assert convert(article(TRICKY["image given only by srcset"])).body == "![a](https://x.example/a2.jpg)\n"  # the largest


def test_list_structure_survives_two_digit_numbers(render):
    out = render(convert(article(TRICKY["list numbers of two digits"])).text)
    assert out.count("<ul>") == 12 and "<li>项10\n<ul>\n<li>子10</li>" in out


def test_whitespace_at_the_edge_of_blocks_is_no_space(render):
    # A space moved out of `<b> 粗</b>` at a line start indented the item's text, and its
    # sub-list then left the item; a line break after CJK text became a space in the next block.
    nested = convert(article("<ul><li>\n<b>\n粗</b>文<ul><li>子</li></ul></li></ul>")).body
    assert nested == "- **粗**文\n  - 子\n"
    assert "<li><strong>粗</strong>文\n<ul>\n<li>子</li>" in render(nested)
    blocks = convert(article('<p>中文。</p>\n<iframe src="https://v.example/e"></iframe>\n<div>\n<strong>\n要点</strong>正文</div>'))
    assert blocks.body == "中文。\n\n[▶](https://v.example/e)\n\n**要点**正文\n"
    # After a code block in a list item, what follows stays in the item, emphasis included.
    after_code = convert(article("<ul><li>步骤<pre><code>make\n</code></pre>\n<i> 然后</i>测试</li></ul>")).body
    assert after_code == "- 步骤\n\n  ```\n  make\n  ```\n\n  *然后*测试\n"
    assert "<li>\n<p>步骤</p>\n<pre><code>make\n</code></pre>\n<p><em>然后</em>测试</p>\n</li>" in render(after_code)


def test_code_block_in_list_item_stays_in_the_item(render):
    out = render(convert(article(TRICKY["code block inside a list item"])).text)
    assert "<li>\n<p>步骤</p>\n<pre><code>npm i\n</code></pre>\n</li>" in out
    after = render(convert(article("<ol><li><p>步骤</p><pre>npm i</pre><p>说明</p></li><li>下一步</li></ol>")).text)
    assert "<pre><code>npm i\n</code></pre>\n<p>说明</p>\n</li>" in after and after.count("<li>") == 2


@pytest.mark.parametrize(
    "written,iso",
    [
        ("Thu, 29 Jul 2021 06:47:26 GMT", "2021-07-29T06:47:26+00:00"),
        ("Thu, 29 Jul 2021 14:47:26 +0800", "2021-07-29T14:47:26+08:00"),
        ("2022-04-04 03:31:13", "2022-04-04T03:31:13+00:00"),
        ("2021-07-29T06:47:26Z", "2021-07-29T06:47:26+00:00"),
        ("2021年7月29日 14:05", "2021-07-29T14:05:00+00:00"),
        ("2021/07/29", "2021-07-29T00:00:00+00:00"),
        ("1627541246", "2021-07-29T06:47:26+00:00"),
        ("2021-07-29T06:47:26.120Z", "2021-07-29T06:47:26.120+00:00"),
    ],
)
def test_dates_become_iso_8601_with_offset(written, iso):
    result = convert(article("<p>x</p>", f"title: t\ndate: {written}\nupdated: {written}\nlastMod: {written}"))
    assert f"\ndate: {iso}\nupdated: {iso}\nlastMod: {iso}\n" in result.text  # every date key, unquoted
    assert convert(result.text).text == result.text


def test_unreadable_date_is_kept_and_reported():
    result = convert(article("<p>x</p>", "title: t\ndate: 昨天"))
    assert "date" not in result.metadata  # never written as if it were a date
    assert result.metadata["date_original"] == "昨天"
    assert any("not a date" in w for w in result.report.warnings)


def test_ideographic_spaces_are_text_not_gaps(fidelity):
    source = article("<p>\u3000\u3000段落开头，中文\u3000中文。</p>")
    result = convert(source)
    assert result.body == "\u3000\u3000段落开头，中文\u3000中文。\n"
    assert fidelity.score_pair(source, result.text)["cjk_spaces"] == 0
    assert convert(result.text).text == result.text
