"""`feed2md verify` and --verify: silent on good conversions, precise about losses (issue #5)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from feed2md.converters import convert
from feed2md.converters.verify import verify

from .conftest import CORPUS, SEED, corpus_files


@pytest.mark.parametrize("path", [SEED, *corpus_files("36kr", "mixed")], ids=lambda p: p.name)
def test_verify_is_silent_on_every_corpus_conversion(path):
    source = path.read_text("utf-8")
    assert verify(source, convert(source).text) == []


def test_dropped_paragraph_is_quoted():
    source = SEED.read_text("utf-8")
    markdown = "\n".join(line for line in convert(source).text.split("\n") if not line.startswith("安克创新海外"))
    assert verify(source, markdown) == ['missing text: "安克创新海外的主要交易都导向亚马逊平台履约，是亚马逊电商头部商家之一。安克创新创…"']


def test_dropped_link_is_named():
    source = SEED.read_text("utf-8")
    markdown = convert(source).text.replace("[“界面新闻”](https://www.jiemian.com/article/6416451.html)", "“界面新闻”")
    assert verify(source, markdown) == ["missing link: https://www.jiemian.com/article/6416451.html"]


def test_dropped_images_are_counted():
    source = (CORPUS / "mixed" / "015.txt").read_text("utf-8")
    markdown = re.sub(r"\n!\[\]\(https://pic[^)]*_720w[^)]*\)\n", "\n", convert(source).text)
    losses = verify(source, markdown)
    assert any(re.fullmatch(r"\d+ images missing: https://pic\S+", loss) for loss in losses), losses


def test_changed_code_and_title_are_reported():
    source = (CORPUS / "mixed" / "010.txt").read_text("utf-8")
    markdown = convert(source).text
    bad = markdown.replace("const randomBoolean", "let randomBoolean", 1).replace("title: 13个", "title: 十三个", 1)
    losses = verify(source, bad)
    assert any(loss.startswith("title changed") for loss in losses)
    assert any("code line changed or missing" in loss for loss in losses)


def test_verify_command_exit_codes(tmp_path):
    cmd = [sys.executable, "-m", "feed2md.cli", "verify"]
    assert subprocess.run([*cmd, str(SEED)], capture_output=True).returncode == 0
    bad = tmp_path / "bad.md"
    bad.write_text(convert(SEED.read_text("utf-8")).text.replace("安克创新海外的主要交易", ""), "utf-8")
    proc = subprocess.run([*cmd, str(SEED), str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1 and "missing text" in proc.stderr
