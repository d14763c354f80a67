"""Batch runs over dirty trees: fuzzed files, SIGKILL, file-size limits, symlinks (issue #6)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from feed2md.converters import convert_bytes

from .conftest import CORPUS, SEED, corpus_files

FEED2MD = [sys.executable, "-m", "feed2md.cli"]


def batch(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*FEED2MD, "batch", *map(str, args)], capture_output=True, timeout=300, **kwargs)


def mutate(data: bytes, rng: random.Random, donors: list[bytes]) -> bytes:
    kind = rng.randrange(4)
    buf = bytearray(data)
    if kind == 0 and buf:  # flipped bytes
        for _ in range(rng.randint(1, 40)):
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
    elif kind == 1:  # truncation
        del buf[rng.randrange(len(buf) + 1) :]
    elif kind == 2:  # spliced files
        other = rng.choice(donors)
        buf = buf[: rng.randrange(len(buf) + 1)] + other[rng.randrange(len(other) + 1) :]
    else:  # stray markup characters
        for _ in range(rng.randint(1, 60)):
            buf.insert(rng.randrange(len(buf) + 1), ord(rng.choice('<>"\'&-:')))
    return bytes(buf)


def test_fuzzed_corpus_never_crashes_the_batch(tmp_path):
    rng = random.Random(20261126)
    donors = [p.read_bytes() for p in corpus_files("36kr", "mixed")]
    src = tmp_path / "src"
    src.mkdir()
    for n in range(300):
        (src / f"{n:03}.txt").write_bytes(mutate(rng.choice(donors), rng, donors))
    report = tmp_path / "report.jsonl"
    proc = batch(src, "-o", tmp_path / "out", "--report", report, "--jobs", "2")
    assert proc.returncode in (0, 1)
    assert b"Traceback" not in proc.stderr and proc.stdout == b""
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    assert sorted(r["path"] for r in rows) == sorted(p.name for p in src.iterdir())
    assert all(r["status"] in ("converted", "failed") for r in rows)
    assert all(r["error"] and "internal error" not in r["error"] for r in rows if r["status"] == "failed")


def _big_tree(root: Path, copies: int) -> int:
    files = corpus_files("36kr", "mixed")
    for c in range(copies):
        for f in files:
            folder = root / f"copy{c:02}" / f.parent.name
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, folder / f.name)
    return copies * len(files)


def _temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob(".feed2md-*.tmp")]


def test_sigkill_leaves_only_complete_outputs_and_a_rerun_finishes(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    total = _big_tree(src, 50)
    expected = {
        (f.parent.name, f.stem): convert_bytes(f.read_bytes()).text.encode("utf-8") for f in corpus_files("36kr", "mixed")
    }
    proc = subprocess.Popen([*FEED2MD, "batch", str(src), "-o", str(out), "--jobs", "2", "--quiet"],
                            start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out.rglob("*.md"))) < total // 5:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    written = list(out.rglob("*.md"))
    assert 0 < len(written) < total, "the kill must land part-way"
    for path in written:  # every output present is complete
        assert path.read_bytes() == expected[(path.parent.name, path.stem)]
    rerun = batch(src, "-o", out, "--jobs", "2")
    assert rerun.returncode == 0, rerun.stderr
    assert len(list(out.rglob("*.md"))) == total
    assert _temporaries(out) == []
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == [".feed2md-lock", ".feed2md-state.json"]


def test_file_size_limit_fails_one_file_cleanly(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    shutil.copy(SEED, src / "small.txt")
    (src / "huge.txt").write_text("---\ntitle: huge\n---\n<div>" + "<p>很长的段落。</p>" * 40000 + "</div>", "utf-8")
    limit_kib = 200  # the huge output is ~800 KB; the small one is ~6 KB
    proc = subprocess.run(
        f"ulimit -f {limit_kib}; exec {' '.join(FEED2MD)} batch '{src}' -o '{out}' --jobs 1 --report '{tmp_path / 'r.jsonl'}'",
        shell=True, capture_output=True, timeout=120,
    )
    assert proc.returncode == 1 and b"Traceback" not in proc.stderr
    assert b"huge.txt" in proc.stderr
    assert not (out / "huge.md").exists() and _temporaries(out) == []
    assert (out / "small.md").read_bytes() == subprocess.run([*FEED2MD, "convert", str(SEED)], capture_output=True).stdout


def test_symlinks_loops_and_out_dir_inside_src(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(SEED, outside / "secret.txt")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    shutil.copy(CORPUS / "mixed" / "010.txt", src / "sub" / "a.txt")
    os.symlink(outside / "secret.txt", src / "leak.txt")
    os.symlink(src / "sub" / "a.txt", src / "inside-link.txt")
    os.symlink(src, src / "sub" / "loop")
    out = src / "converted"
    first = batch(src, "-o", out, "--jobs", "1", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "leak.txt" in first.stderr.decode()  # named with a warning
    assert not (out / "leak.md").exists()
    assert (out / "sub" / "a.md").is_file() and (out / "inside-link.md").is_file()
    second = batch(src, "-o", out, "--jobs", "1", cwd=tmp_path)
    assert second.returncode == 0 and not (out / "converted").exists()  # never converts its own outputs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside", "src"]  # nothing in the working dir


def test_ctrl_c_exits_130_and_leaves_no_temporaries(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    total = _big_tree(src, 20)
    proc = subprocess.Popen([*FEED2MD, "batch", str(src), "-o", str(out), "--jobs", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out.rglob("*.md"))) < total // 10:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the whole group
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert b"Traceback" not in stderr and b"interrupted" in stderr and stdout == b""
    assert _temporaries(out) == []
    done = len(list(out.rglob("*.md")))
    assert 0 < done < total
    rerun = batch(src, "-o", out, "--report", tmp_path / "r.jsonl")
    assert rerun.returncode == 0
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert sum(r["status"] == "unchanged" for r in rows) >= done - 2  # finished files are not redone


def test_report_names_the_encoding_of_odd_files(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    text = SEED.read_text("utf-8")
    (src / "gbk.txt").write_bytes(text.encode("gb18030"))
    (src / "bom16.txt").write_bytes(text.encode("utf-16"))
    (src / "plain.txt").write_bytes(text.encode("utf-8"))
    report = tmp_path / "r.jsonl"
    assert batch(src, "-o", tmp_path / "out", "--report", report, "--jobs", "1").returncode == 0
    encodings = {r["path"]: r["encoding"] for r in map(json.loads, report.read_text().splitlines())}
    assert encodings == {"gbk.txt": "gb18030", "bom16.txt": "utf-16 (BOM)", "plain.txt": "utf-8"}
    outputs = {p.name: p.read_bytes() for p in (tmp_path / "out").glob("*.md")}
    assert outputs["gbk.md"] == outputs["bom16.md"] == outputs["plain.md"]
