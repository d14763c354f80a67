"""Sites never seen (issue #12): the general mechanisms, each on a minimal fixture built from a
real page's markup or on a real corpus file, and verify failing on each planted defect."""

from __future__ import annotations

import yaml

from feed2md.converters import Options, convert
from feed2md.converters.verify import verify

from .conftest import CORPUS


def article(body: str, front: str = "title: t") -> str:
    return f"---\n{front}\n---\n{body}\n"


# -- the real picture -------------------------------------------------------------------------
def test_lazy_attributes_win_over_placeholders_and_thumbnails():
    jianshu = '<p><img data-original-src="//upload-images.jianshu.io/upload_images/1.png" src="https://www.jianshu.com/p/undefined"></p>'
    assert convert(article(jianshu)).body == "![](https://upload-images.jianshu.io/upload_images/1.png)\n"
    sspai = ('<p><img src="https://cdn.sspai.com/a.png?imageView2/2/w/1120/q/40/interlace/1/ignore-error/1" '
             'data-original="https://cdn.sspai.com/a.png"></p>')
    assert convert(article(sspai)).body == "![](https://cdn.sspai.com/a.png)\n"
    spacer = '<p><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="https://x.example/real.jpg"></p>'
    assert convert(article(spacer)).body == "![](https://x.example/real.jpg)\n"
    widths = '<p><img srcset="https://x.example/s.jpg 300w, https://x.example/l.jpg 1200w, https://x.example/m.jpg 600w"></p>'
    assert convert(article(widths)).body == "![](https://x.example/l.jpg)\n"


def test_proxies_are_unwrapped_in_body_and_cover_and_http_is_reported():
    front = "title: t\nheadimg: 'https://cors.zfour.workers.dev/?http://lain.bgm.tv/pic/cover/l/a.jpg'"
    body = ('<p><img src="https://cors.zfour.workers.dev/?http://lain.bgm.tv/pic/cover/l/a.jpg">'
            '<img src="http://jandan.net/p/https://pic.yupoo.com/x/b.jpg"></p>')
    result = convert(article(body, front))
    assert result.metadata["cover"] == "http://lain.bgm.tv/pic/cover/l/a.jpg"
    assert result.body == "![](http://lain.bgm.tv/pic/cover/l/a.jpg)![](https://pic.yupoo.com/x/b.jpg)\n"
    assert any("plain http" in w for w in result.report.warnings)
    kept = convert(article(body, front), Options(keep_proxies=True)).body
    assert "cors.zfour.workers.dev" in kept and "jandan.net/p/" in kept


def test_redirect_wrappers_are_unwrapped_and_unknown_ones_only_reported():
    body = ('<p><a href="https://links.jianshu.com/go?to=https%3A%2F%2Fgithub.com%2Fa">a</a> '
            '<a href="https://apple.pvxt.net/c/1255290/435400/7639?u=https%3A%2F%2Fwww.apple.com%2Fcn%2F">b</a> '
            '<a href="https://c.duomai.com/track.php?k===QbvNmL4ZkMlYkMlE0MlMHc0RHa9QnJx0jd">c</a> '
            '<a href="https://go.example.net/out?to=https%3A%2F%2Fx.com%2Fd">d</a></p>')
    result = convert(article(body))
    assert "(https://github.com/a)" in result.body and "(https://www.apple.com/cn/)" in result.body
    assert "(https://x.com)" in result.body  # duomai: reversed base64 of `v=1&t=https%3A%2F%2Fx.com`
    assert "go.example.net/out?to=" in result.body  # never rewritten on a guess …
    assert any('host = "go.example.net", param = "to"' in w for w in result.report.warnings)  # … but reported


# -- dates, layout, lines, hidden -------------------------------------------------------------
def test_invalid_date_is_dropped_with_a_warning():
    result = convert(article("<p>x</p>", "title: t\ndate: Invalid Date"))
    assert "date" not in result.metadata and any("Invalid Date" in w for w in result.report.warnings)


def test_a_forum_post_in_one_cell_is_blocks_and_data_tables_stay():
    post = '<table cellspacing="0"><tr><td class="t_f">' + "正文很长。" * 120 + "<br><br>第二段</td></tr></table>"
    data = "<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>"
    body = convert(article(post + data)).body
    assert body.count("|") == 9  # only the data table is a table (three rows of three pipes)
    assert "\n\n第二段" in body


def test_plain_text_bodies_keep_their_lines():
    body = convert(article("<div>舞台挨拶\n開催場所 TOHOシネマズ日比谷\n開場 2021-08-10 10:30</div>")).body
    assert body == "舞台挨拶\\\n開催場所 TOHOシネマズ日比谷\\\n開場 2021-08-10 10:30\n"
    prose = convert(article("<p>作者：Shadeed<br>译者：前端小智<br>来源：medium</p>")).body
    assert prose == "作者：Shadeed\\\n译者：前端小智\\\n来源：medium\n"


def test_hidden_content_goes_and_the_source_link_moves_to_the_front_matter():
    path = CORPUS / "mixed" / "015.txt"  # a 知乎 answer with its hidden 查看知乎原文 link
    result = convert(path.read_text("utf-8"))
    assert "查看知乎原文" not in result.body
    assert result.metadata["source"].startswith("https://www.zhihu.com/question/")
    hidden = convert(article('<p>a<span style="display: none">secret</span><span hidden>gone</span>b</p>')).body
    assert hidden == "ab\n"


# -- verify sees each defect, quoting it ---------------------------------------------------
SOURCE = article(
    '<p>Text <a href="https://example.org/page?utm_source=x">link</a>.</p><p>作者：Shadeed<br>译者：前端小智</p>'
    '<p><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="https://img.example.org/real.jpg"></p>',
    "title: t\ndate: 2021-07-29 06:47:26\nheadimg: https://img.example.org/cover.jpg",
)


def test_verify_is_silent_on_the_conversion_and_fails_on_each_planted_defect():
    good = convert(SOURCE).text
    assert verify(SOURCE, good) == []
    planted = {
        "placeholder": (good.replace("https://img.example.org/real.jpg", "data:image/gif;base64,R0lGODlhAQABAAAAACw="),
                        "image is a placeholder"),
        "cover": (good.replace("cover: https://img.example.org/cover.jpg\n", ""), "cover lost: https://img.example.org/cover.jpg"),
        "target": (good.replace("https://example.org/page", "https://example.org/other"), "missing link: https://example.org/page"),
        "tracking": (good.replace("https://example.org/page", "https://example.org/page?utm_source=x"),
                     "tracking or redirect left in link: https://example.org/page?utm_source=x"),
        "date": (good.replace("date: 2021-07-29T06:47:26+00:00", "date: Invalid Date"), "date changed"),
        "glued": (good.replace("Shadeed\\\n", "Shadeed"), '1 line break lost: "作者：Shadeed⏎译者：前端小智"'),
    }
    for name, (text, expected) in planted.items():
        assert text != good, name
        losses = verify(SOURCE, text)
        assert any(expected in loss for loss in losses), (name, losses)
    assert yaml.safe_load(good.split("---")[1])["cover"] == "https://img.example.org/cover.jpg"


def test_verify_sees_the_lines_of_a_plain_text_body_glued():
    source = article("<div>開催場所 TOHOシネマズ日比谷\n開場 2021-08-10 10:30\n舞台挨拶あり</div>")
    good = convert(source).text
    assert verify(source, good) == []
    glued = good.replace("日比谷\\\n", "日比谷")
    assert verify(source, glued) == ['1 line break lost: "開催場所TOHOシネマズ日比谷⏎開場2021-08-1010:30"']
    # A space where the break was still joins the two fields into one line.
    assert verify(source, good.replace("日比谷\\\n", "日比谷 ")) != []
