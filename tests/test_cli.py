"""The real command line, run as a subprocess on real corpus files (issue #3)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


from .conftest import CORPUS, SEED

FEED2MD = [sys.executable, "-m", "feed2md.cli"]


def run(*args, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*FEED2MD, *map(str, args)], input=stdin, capture_output=True, cwd=cwd, timeout=120)


def test_convert_prints_markdown_and_stdin_gives_the_same_bytes():
    from_file = run("convert", SEED)
    from_pipe = run("convert", "-", stdin=SEED.read_bytes())
    implicit = run("convert", stdin=SEED.read_bytes())
    assert from_file.returncode == 0 and from_file.stderr == b""
    assert from_file.stdout.startswith(b"---\ntitle: ")
    assert from_pipe.stdout == from_file.stdout == implicit.stdout


def test_closed_pipe_ends_quietly():
    proc = subprocess.run(
        f"{' '.join(FEED2MD)} convert '{SEED}' | head -c 10", shell=True, capture_output=True, timeout=60
    )
    assert proc.stdout == b"---\ntitle:"
    assert b"Traceback" not in proc.stderr and b"Error" not in proc.stderr


def test_json_format_parses(tmp_path):
    one = run("convert", "--format", "json", SEED)
    data = json.loads(one.stdout)
    assert data["path"] == str(SEED) and data["metadata"]["author"] == "36kr" and "亚马逊" in data["body"]
    several = run("convert", "--format", "json", SEED, CORPUS / "mixed" / "010.txt")
    lines = several.stdout.decode().splitlines()
    assert len(lines) == 2 and all("body" in json.loads(line) for line in lines)


def test_output_file_and_folder(tmp_path):
    target = tmp_path / "one.md"
    assert run("convert", SEED, "-o", target).returncode == 0
    assert target.read_bytes() == run("convert", SEED).stdout
    os.utime(target, (1_000_000_000, 1_000_000_000))
    assert run("convert", SEED, "-o", target).returncode == 0
    assert target.stat().st_mtime == 1_000_000_000  # the same bytes: not rewritten
    target.write_text("stale", "utf-8")
    assert run("convert", SEED, "-o", target).returncode == 0
    assert target.read_bytes() == run("convert", SEED).stdout
    folder = tmp_path / "many"
    folder.mkdir()
    assert run("convert", SEED, CORPUS / "mixed" / "010.txt", "-o", folder).returncode == 0
    assert sorted(p.name for p in folder.iterdir()) == ["000_8175177d30c2fdc4.md", "010.md"]


def test_errors_are_one_line_with_exit_codes(tmp_path):
    missing = run("convert", tmp_path / "nope.txt")
    assert missing.returncode == 1
    assert missing.stderr.decode().strip() == f"feed2md: {tmp_path / 'nope.txt'}: cannot read: No such file or directory"
    assert run("convert", "--no-such-option").returncode == 2
    assert run("batch", tmp_path / "absent", "-o", tmp_path / "o").returncode == 2
    (tmp_path / "o" / "src").mkdir(parents=True)
    assert run("batch", tmp_path / "o" / "src", "-o", tmp_path / "o").returncode == 2  # OUT_DIR holding SRC_DIR
    bad_report = run("batch", SEED.parent, "-o", tmp_path / "o", "--report", tmp_path / "no" / "r.jsonl")
    assert bad_report.returncode == 2 and b"Traceback" not in bad_report.stderr
    assert bad_report.stderr.decode().strip() == f"feed2md: {tmp_path / 'no' / 'r.jsonl'}: cannot write the report: No such file or directory"
    blocked = tmp_path / "file"
    blocked.write_text("x")
    unwritable = run("batch", SEED.parent, "-o", blocked / "sub")
    assert unwritable.returncode == 1 and b"Traceback" not in unwritable.stderr and b"Not a directory" in unwritable.stderr


def test_debug_mode_exits_the_ordinary_way_with_the_same_results(tmp_path):
    # FEED2MD_DEBUG=1 skips the quick exit, so that exit handlers (coverage, profilers) run.
    env = {**os.environ, "FEED2MD_DEBUG": "1"}
    probe = "import atexit, sys; atexit.register(lambda: sys.stderr.write('handlers ran')); from feed2md.cli.main import run; run()"
    for debug in (False, True):
        good = subprocess.run([sys.executable, "-c", probe, "convert", str(SEED)], capture_output=True,
                              env=env if debug else None, timeout=60)
        assert good.returncode == 0 and good.stdout == run("convert", SEED).stdout
        assert (good.stderr == b"handlers ran") is debug
        missing = subprocess.run([sys.executable, "-c", probe, "convert", str(tmp_path / "nope")], capture_output=True,
                                 env=env if debug else None, timeout=60)
        assert missing.returncode == 1


def test_a_full_disk_on_stdout_is_a_one_line_error():
    proc = subprocess.run(f"{' '.join(FEED2MD)} convert '{SEED}' > /dev/full", shell=True, capture_output=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.decode() == "feed2md: cannot write to standard output: No space left on device\n"


def test_version_and_help():
    assert run("--version").stdout.decode().startswith("feed2md ")
    for command in ("convert", "batch", "rules"):
        help_text = run(command, "--help").stdout.decode()
        assert "Example: feed2md" in help_text


def _tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(CORPUS / "36kr", src / "feeds" / "36kr")
    shutil.copytree(CORPUS / "mixed", src / "feeds" / "nested" / "mixed")
    shutil.copy(SEED, src / "seed.txt")
    for tsv in src.rglob("SOURCES.tsv"):
        tsv.unlink()
    (src / "feeds" / "broken.txt").write_bytes(bytes(range(256)) * 8)
    return src


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_batch_converts_a_tree_incrementally_and_checks(tmp_path):
    src, out, report = _tree(tmp_path), tmp_path / "out", tmp_path / "report.jsonl"
    before = _digest(src)
    first = run("batch", src, "-o", out, "--report", report, "--jobs", "2")
    assert first.returncode == 1 and first.stdout == b""
    assert "feeds/broken.txt" in first.stderr.decode()
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(rows) == 33 + 33 + 1 + 1
    failed = [r for r in rows if r["status"] == "failed"]
    assert [r["path"] for r in failed] == ["feeds/broken.txt"] and failed[0]["error"]
    assert all(r["status"] == "converted" for r in rows if r["status"] != "failed")
    assert (out / "feeds" / "nested" / "mixed" / "010.md").is_file()
    assert (out / "seed.md").read_bytes() == run("convert", SEED).stdout
    assert _digest(src) == before  # inputs untouched
    outputs = _digest(out)
    assert sorted(p.name for p in out.iterdir()) == [".feed2md-lock", ".feed2md-state.json", "feeds", "seed.md"]

    second = run("batch", src, "-o", out, "--report", report)
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    assert {r["status"] for r in rows if r["path"] != "feeds/broken.txt"} == {"unchanged"}
    assert second.returncode == 1 and _digest(out) == outputs

    os.utime(src / "seed.txt")  # touched, same bytes: still up to date
    third = run("batch", src, "-o", out, "--report", report)
    assert json.loads(report.read_text().splitlines()[-1])["status"] in ("unchanged", "failed")
    assert "0 converted" in third.stderr.decode()
    assert {k: v for k, v in _digest(out).items() if not k.startswith(".")} == {
        k: v for k, v in outputs.items() if not k.startswith(".")
    }

    outputs = _digest(out)
    (src / "feeds" / "broken.txt").unlink()
    assert run("batch", src, "-o", out, "--check").returncode == 0
    changed = src / "feeds" / "36kr" / "001.txt"
    changed.write_text(changed.read_text("utf-8").replace("</div>", "<p>新的一段</p></div>", 1), "utf-8")
    check = run("batch", src, "-o", out, "--check")
    assert check.returncode == 1 and "feeds/36kr/001.txt" in check.stderr.decode()
    assert _digest(out) == outputs  # --check wrote nothing
    assert run("batch", src, "-o", out, "--quiet").returncode == 0
    assert "新的一段" in (out / "feeds" / "36kr" / "001.md").read_text("utf-8")


def test_examples_convert():
    root = Path(__file__).resolve().parents[1] / "examples"
    for path in sorted(root.glob("*.txt")):
        proc = run("convert", path)
        assert proc.returncode == 0 and proc.stderr == b"", path


def test_several_inputs_never_overwrite_each_other(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    shutil.copy(SEED, tmp_path / "a" / "x.txt")
    shutil.copy(CORPUS / "mixed" / "015.txt", tmp_path / "b" / "x.txt")
    proc = run("convert", tmp_path / "a" / "x.txt", tmp_path / "b" / "x.txt", "-o", tmp_path / "out")
    assert proc.returncode == 1
    assert proc.stderr.decode().strip() == (
        f"feed2md: {tmp_path / 'b' / 'x.txt'}: not written: {tmp_path / 'out' / 'x.md'} already holds another input's output"
    )
    assert (tmp_path / "out" / "x.md").read_bytes() == run("convert", SEED).stdout


def test_garbage_fails_in_one_line_without_traceback(tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(range(256)) * 4)
    proc = run("convert", junk, SEED, "-o", tmp_path / "out")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [f"feed2md: {junk}: undecodable bytes: not UTF-8 and no text encoding fits"]
    # the good file still converts
    assert (tmp_path / "out" / (SEED.stem + ".md")).read_bytes() == run("convert", SEED).stdout


def test_single_convert_loads_only_what_it_needs():
    """Start-up (issue #7): no progress bars, process pools, Markdown parser or encoding
    detector for one UTF-8 file; checked by module, not by a timing."""
    probe = (
        "import sys; sys.argv = ['feed2md', 'convert', sys.argv[1]]\n"
        "from feed2md.cli.main import _run_app\n"  # run() would end the process before the check
        "try:\n    _run_app()\n"
        "except SystemExit:\n    pass\n"
        "heavy = ('rich', 'multiprocessing', 'markdown_it', 'charset_normalizer', 'email', 'importlib.metadata', 'dataclasses',\n"
        "         'feedparser', 'httpx', 'feed2md.converters.feeds', 'feed2md.cli.feed', 'feed2md.converters.targets')\n"
        "sys.stderr.write(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe, str(SEED)], capture_output=True, text=True, timeout=60)
    assert proc.stdout.startswith("---\ntitle:")
    assert proc.stderr == ""
