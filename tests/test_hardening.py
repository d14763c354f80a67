"""Hardening (issue #13): each broken promise found with hostile input, as a test.

Library items run in process; batch items run the real command line as a subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from feed2md.converters import ConversionError, Options, convert

from . import matrix
from .conftest import SEED, corpus_files

FEED2MD = [sys.executable, "-m", "feed2md.cli"]


def article(body: str, front: str = "title: t") -> str:
    return f"---\n{front}\n---\n{body}\n"


def batch(*args, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("timeout", 300)
    return subprocess.run([*FEED2MD, "batch", *map(str, args)], capture_output=True, **kwargs)


def _tree(root: Path, n: int = 4) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for f in corpus_files("mixed")[:n]:
        (root / f.name).write_bytes(f.read_bytes())
    return root


# -- 1, 14: text never becomes markup, in any renderer ----------------------------------------
@pytest.mark.parametrize("renderer", ["python-markdown-plain", "python-markdown-extra", "kramdown", "markdown-it", "cmark-gfm", "marked2"])
def test_escaped_text_stays_text_in_every_renderer(renderer):
    matrix.require(renderer)
    sources = [
        "<p>&lt;img src=x onerror=alert(1)&gt;</p>",
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
        "<listing>&lt;img src=x onerror=alert(1)&gt;</listing>",
        "<xmp><img src=x onerror=alert(1)></xmp>",
        "<svg></p><title><template><style></title><img src=x onerror=alert(1)>",
    ]
    bodies = [convert(article(s)).body for s in sources]
    for source, rendered in zip(sources, matrix.render(renderer, bodies)):
        assert matrix.executable(rendered) == [], (source, rendered)


def test_underscores_keep_their_text():
    body = convert(article("<p>__init__ and ___ and snake_case_name</p>")).body
    assert body == "\\_\\_init\\_\\_ and \\_\\_\\_ and snake_case_name\n"
    rendered = matrix.render("markdown-it", [body])[0]
    assert "__init__ and ___ and snake_case_name" in rendered and "<em>" not in rendered


# -- 2, 16: odd markup is converted, never an internal error -----------------------------------
def test_processing_instruction_and_broken_srcset_convert():
    assert convert(article("<p>x<?php echo 1; ?>y</p>")).body == "xy\n"
    assert convert(article('<p>a<img srcset=",x">b</p>')).body == "a![](x)b\n"


# -- 3: YAML alias bombs -------------------------------------------------------------------------
def _bomb(levels: int, key: str = "tags") -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    lines.append(f"{key}: *{chr(96 + levels)}")
    return article("<p>x</p>", "title: t\n" + "\n".join(lines))


def test_billion_laughs_fails_fast_with_a_clear_line():
    with pytest.raises(ConversionError, match="alias"):
        convert(_bomb(9))
    with pytest.raises(ConversionError, match="alias"):
        convert(_bomb(7, key="other"))


def test_aliases_are_written_out_never_as_anchors():
    result = convert(article("<p>x</p>", "title: t\nbase: &b {k: v}\ncopy: *b\ntags: &t [x, y]\nmore: *t"))
    assert "&" not in result.text.split("---")[1] and "*" not in result.text.split("---")[1]
    assert yaml.safe_load(result.text.split("---")[1]) == {"title": "t", "base": {"k": "v"}, "copy": {"k": "v"},
                                                             "tags": ["x", "y"], "more": ["x", "y"]}


def test_batch_with_a_bomb_finishes_and_converts_the_others(tmp_path):
    src = _tree(tmp_path / "src")
    (src / "bomb.txt").write_text(_bomb(9), "utf-8")
    proc = batch(src, "-o", tmp_path / "out", "--jobs", "2")
    assert proc.returncode == 1
    assert "bomb.txt: front matter: YAML aliases expand" in proc.stderr.decode()
    assert len(list((tmp_path / "out").glob("*.md"))) == 4


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=12))
def test_alias_expansion_is_bounded(width, depth):
    lines = ["l0: &l0 x"] + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, depth)]
    try:
        meta = convert(article("<p>x</p>", "title: t\n" + "\n".join(lines))).metadata
    except ConversionError as exc:
        assert width ** (depth - 1) > 1000 and "alias" in str(exc)
    else:
        assert "l0" in meta


# -- 4: impossible dates ----------------------------------------------------------------------
@pytest.mark.parametrize("front", ["date: 2021-13-45", "date: 0000-00-00 00:00:00", "date: '2021-02-30'", "date: Invalid Date"])
def test_impossible_dates_are_warnings_and_the_output_loads(front):
    result = convert(article("<p>x</p>", "title: t\n" + front))
    assert result.report.warnings
    meta = yaml.safe_load(result.text.split("---")[1])
    assert "date" not in meta
    assert convert(result.text).text == result.text


# -- 12: front matter is made safe ------------------------------------------------------------
def test_front_matter_addresses_pass_the_scheme_allow_list_and_titles_are_text():
    front = ('title: "<b>Big</b> news<script>alert(1)</script>"\nheadimg: "javascript:alert(1)"\n'
             "thumbnail: data:text/html;base64,PHNjcmlwdD4=\nlink: javascript:alert(1)\nsource: ' vbscript:x'")
    result = convert(article("<p>x</p>", front))
    assert result.metadata == {"title": "Big news"}
    assert any("link" in w for w in result.report.warnings)


# -- 13: line-by-line recovery keeps fields apart -----------------------------------------------
def test_recovery_keeps_fields_apart():
    meta = convert(article("<p>x</p>", "title: a: b: c\n\ufeffdate: 2021-01-02\ncategories: {a: 1}\ntags:\n- '---'\n- '*y'\n- [")).metadata
    assert meta["title"] == "a: b: c"
    assert meta["date"] == "2021-01-02"
    assert meta["categories"] == {"a": 1}
    assert meta["tags"] == ["---", "*y", "["]
    meta = convert(article("<p>x</p>", "title: t: u\n\tauthor: me\n? complex\n: key\nupdated: 2021-01-02")).metadata
    assert meta["title"] == "t: u" and meta["author"] == "me" and meta["updated"] == "2021-01-02"


# -- 11, 15: nesting and size -------------------------------------------------------------------
@pytest.mark.parametrize("open_tag, close_tag", [("<ul><li>x", "</li></ul>"), ("<blockquote>x", "</blockquote>"),
                                                  ("<table><tr><td>x", "</td></tr></table>")])
def test_deep_nesting_keeps_the_text(open_tag, close_tag):
    body = convert(article(open_tag * 3000 + close_tag * 3000)).body
    assert body.count("x") == 3000
    assert len(body) < 200_000  # linear in the input, not in depth squared
    assert convert(article(open_tag * 3000 + close_tag * 3000)).body == body


def test_size_limit_fails_with_a_clear_line():
    with pytest.raises(ConversionError, match="too large"):
        convert(article("<p>x</p>" * 200), Options(max_size=1000))


def test_pruning_unread_attributes_changes_no_output(monkeypatch):
    """Big pages are parsed without the attributes nothing reads (item 15): on every corpus
    file, forcing that step gives the same output, and it does remove what it should."""
    from feed2md.converters import clean
    from feed2md.converters.rules import default_rules

    files = corpus_files("36kr", "mixed", "seed")
    normal = [convert(f.read_text("utf-8")).text for f in files]
    monkeypatch.setattr(clean, "PRUNE_ABOVE", 0)
    assert [convert(f.read_text("utf-8")).text for f in files] == normal
    rules = default_rules().select([], set())
    pruned = clean.prune_attributes(
        b'<a class="project-link" data-id="1" data-logo="x>y" target=_blank href="h">A</a>'
        b'<img data-src="s" src=p loading=lazy><p title="a data-logo=1">t data-x="2"</p>',
        rules,
    )
    assert pruned == b'<a class="project-link" data-id="1" href="h">A</a><img data-src="s" src=p><p title="a data-logo=1">t data-x="2"</p>'


# -- 5-10: batch owns OUT_DIR ---------------------------------------------------------------
def test_a_file_name_that_is_not_utf8_converts_and_the_state_is_saved(tmp_path):
    src = _tree(tmp_path / "src", 2)
    os.rename(src / sorted(os.listdir(src))[0], os.path.join(os.fsencode(src), b"caf\xe9.txt"))
    report = tmp_path / "r.jsonl"
    first = batch(src, "-o", tmp_path / "out", "--report", report)
    assert first.returncode == 0, first.stderr
    assert os.path.exists(os.path.join(os.fsencode(tmp_path / "out"), b"caf\xe9.md"))
    assert "caf\\xe9.txt" in [json.loads(line)["path"] for line in report.read_text().splitlines()]
    again = batch(src, "-o", tmp_path / "out")
    assert again.returncode == 0 and "0 converted, 2 unchanged" in again.stderr.decode()
    assert not (tmp_path / "out" / ".feed2md-running").exists()


def test_symlinks_inside_out_dir_are_never_followed_for_writing(tmp_path):
    src = tmp_path / "src"
    _tree(src / "sub", 2)
    outside = tmp_path / "ext"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(outside, out / "sub")
    os.symlink(outside / "touched", out / ".feed2md-running")
    proc = batch(src, "-o", out)
    assert proc.returncode == 1 and "is a symlink; not written through" in proc.stderr.decode()
    assert list(outside.iterdir()) == []


def test_fifos_are_skipped_not_waited_for(tmp_path):
    src = _tree(tmp_path / "src", 2)
    (src / ".hidden").mkdir()
    os.mkfifo(src / ".hidden" / "pipe.txt")
    os.symlink(src / ".hidden" / "pipe.txt", src / "link.txt")
    os.mkfifo(src / "fifo.txt")
    out = tmp_path / "out"
    out.mkdir()
    name = sorted(p.stem for p in src.glob("0*.txt"))[0]
    os.mkfifo(out / f"{name}.md")
    proc = batch(src, "-o", out, timeout=60)
    stderr = proc.stderr.decode()
    assert "link.txt: warning: symlink to something that is not a regular file" in stderr
    assert "fifo.txt: warning: not a regular file" in stderr
    assert f"{name}.txt: output path {name}.md is not a regular file" in stderr


def test_a_second_run_on_the_same_out_dir_refuses(tmp_path):
    import fcntl

    src, out = _tree(tmp_path / "src", 2), tmp_path / "out"
    out.mkdir()
    with open(out / ".feed2md-lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = batch(src, "-o", out)
    assert proc.returncode == 2
    assert "another feed2md batch is writing this folder" in proc.stderr.decode()
    assert not list(out.glob("*.md"))
    assert batch(src, "-o", out).returncode == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killing_the_parent_only_leaves_no_tracebacks(tmp_path, sig):
    src = tmp_path / "src"
    for c in range(15):
        _tree(src / f"c{c}", 33)
    out = tmp_path / "out"
    proc = subprocess.Popen([*FEED2MD, "batch", str(src), "-o", str(out), "--jobs", "2", "--quiet"],
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out.rglob("*.md"))) < 20:
        time.sleep(0.02)
    os.kill(proc.pid, sig)  # the parent alone
    _, stderr = proc.communicate(timeout=60)
    time.sleep(0.5)
    assert b"Traceback" not in stderr and b"BrokenPipe" not in stderr, stderr[-500:]
    leftover = subprocess.run(["pgrep", "-f", f"batch {src}"], capture_output=True)
    assert leftover.stdout == b""


@pytest.mark.parametrize("state", ["[" * 1000 + "]" * 1000, '{"key": 1, "files": [1]}', "\x00\xff", '{"files": {"a.md": "x"}}'])
def test_corrupted_state_of_any_shape_is_discarded(tmp_path, state):
    src, out = _tree(tmp_path / "src", 2), tmp_path / "out"
    out.mkdir()
    (out / ".feed2md-state.json").write_bytes(state.encode("utf-8", "surrogateescape") if isinstance(state, str) else state)
    proc = batch(src, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert len(list(out.glob("*.md"))) == 2
    assert batch(src, "-o", out).stderr.decode().startswith("feed2md: 0 converted, 2 unchanged")


def test_seed_converts_unchanged_by_the_hardening():
    text = convert(SEED.read_text("utf-8")).text
    assert "亚马逊云科技" in text and "project-link" not in text
