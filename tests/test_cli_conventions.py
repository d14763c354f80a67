"""The command line, round two (issue #14): output paths, usage errors, input selection,
stale outputs, diffs, reports, progress, conventions and the configuration file. Every test
runs the real command (a subprocess) on real corpus files."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import CORPUS, SEED
from .test_cli import FEED2MD, run

# Real 36kr articles, those with company links first (the configuration test lists them).
KR = sorted((CORPUS / "36kr").glob("*.txt"), key=lambda p: ("project-link" not in p.read_text("utf-8"), p.name))


def tree(tmp_path: Path, *names: str) -> Path:
    """A small source folder of real articles, at the given relative paths."""
    src = tmp_path / "src"
    for i, name in enumerate(names):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(KR[i % len(KR)], src / name)
    return src


def lines(proc: subprocess.CompletedProcess) -> list[str]:
    return proc.stderr.decode().splitlines()


# -- output paths ---------------------------------------------------------------------------
def test_dash_output_is_stdout_and_a_trailing_slash_a_folder(tmp_path):
    assert run("convert", SEED, "-o", "-", cwd=tmp_path).stdout == run("convert", SEED).stdout
    assert not (tmp_path / "-").exists()
    proc = run("convert", SEED, "-o", "new/", cwd=tmp_path)
    assert proc.returncode == 0
    assert (tmp_path / "new" / (SEED.stem + ".md")).read_bytes() == run("convert", SEED).stdout


def test_several_inputs_to_stdout_need_json_or_a_folder():
    proc = run("convert", KR[0], KR[1])
    assert proc.returncode == 2 and proc.stdout == b""
    assert lines(proc) == ["feed2md: several inputs cannot share stdout as Markdown: give -o DIR, or --format json "
                           "(one object per line) (see 'feed2md convert --help')"]
    objects = [json.loads(line) for line in run("convert", "-f", "json", KR[0], "missing.txt", KR[1]).stdout.splitlines()]
    assert [o["path"] for o in objects] == [str(KR[0]), "missing.txt", str(KR[1])]
    assert objects[1] == {"path": "missing.txt", "error": "cannot read: No such file or directory"}
    assert objects[0]["metadata"]["title"] and objects[2]["body"]


def test_stdin_filename_names_messages_and_the_output(tmp_path):
    proc = run("convert", "--stdin-filename", "feeds/a.html", "-o", f"{tmp_path}/out/", stdin=b"")
    assert lines(proc) == ["feed2md: feeds/a.html: empty file"]
    run("convert", "--stdin-filename", "feeds/a.html", "-o", f"{tmp_path}/out/", stdin=SEED.read_bytes())
    assert (tmp_path / "out" / "a.md").read_bytes() == run("convert", SEED).stdout


def test_report_dash_is_stdout_in_path_order(tmp_path):
    src = tree(tmp_path, "b.txt", "a/z.txt", "a.txt", "c/d/e.txt")
    proc = run("batch", src, "-o", tmp_path / "out", "--report", "-", "-j", "2", "-q")
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["path"] for r in rows] == ["a.txt", "a/z.txt", "b.txt", "c/d/e.txt"]
    assert not (tmp_path / "-").exists() and not Path("-").exists()


# -- usage errors ---------------------------------------------------------------------------
def test_usage_errors_are_one_line_with_exit_2_off_a_terminal():
    for args, message in (
        (["convert", "--zzz"], "feed2md: No such option: --zzz (see 'feed2md convert --help')"),
        (["batch"], "feed2md: Missing argument 'SRC_DIR'. (see 'feed2md batch --help')"),
        (["--show-completion", "tcsh"], "feed2md: 'tcsh' is not one of bash, zsh, fish, powershell, pwsh (see 'feed2md --help')"),
    ):
        proc = run(*args)
        assert proc.returncode == 2, args
        assert lines(proc) == [message]


def test_a_bad_rules_file_is_one_usage_error_before_any_file(tmp_path):
    rules = tmp_path / "rules.toml"
    for body, message in (
        ('[[site]]\nname = "x"\ndrop = ["a[["]\n', "site 'x': drop: 'a[[' is not a valid CSS selector"),
        ('[[site]]\nname = "x"\nhosts = ["https://x.org/"]\n', "site 'x': 'https://x.org/' is not a host name"),
        ('[[site]]\nname = "x"\nlazy_src = ["data src"]\n', "site 'x': lazy_src: 'data src' is not an attribute name"),
        ('[[site]]\nname = "x"\nredirects = [{ host = "x.org", param = "u", path = "go" }]\n', "path 'go' must start with '/'"),
    ):
        rules.write_text(body)
        proc = run("batch", CORPUS / "36kr", "-o", tmp_path / "out", "--rules", rules)
        assert proc.returncode == 2
        assert len(lines(proc)) == 1 and message in lines(proc)[0] and str(rules) in lines(proc)[0]
        assert not list((tmp_path / "out").glob("*.md"))


def test_rules_listing_is_plain_and_complete_in_a_pipe_and_json_on_request():
    text = run("rules").stdout.decode()
    assert "36kr: companies: a.project-link | a[href*='36kr.com/projectDetails/']" in text
    assert "common: keep_params: __biz | mid | idx | sn" in text
    assert max(map(len, text.splitlines())) > 200  # values are never wrapped
    records = json.loads(run("rules", "--format", "json").stdout)
    kr = next(r for r in records if r["site"] == "36kr")
    assert "a[href*='36kr.com/projectDetails/']" in kr["companies"]
    assert {"site", "from", "always", "hosts", "redirects", "keep_params", "lazy_src"} <= set(kr)


# -- input selection ------------------------------------------------------------------------
def test_globs_match_paths_and_excludes_leave_out(tmp_path):
    src = tree(tmp_path, "a.txt", "mixed/b.txt", "mixed/deep/c.txt", "drafts/d.txt", "e.html")

    def converted(*args):
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        assert run("batch", src, "-o", out, "-q", *args).returncode == 0
        return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.md"))

    assert converted("--glob", "**/*.txt") == ["a.md", "drafts/d.md", "mixed/b.md", "mixed/deep/c.md"]
    assert converted("--glob", "mixed/*.txt") == ["mixed/b.md"]
    assert converted("--glob", "*.html", "--glob", "mixed/**") == ["e.md", "mixed/b.md", "mixed/deep/c.md"]
    assert converted("--exclude", "drafts", "--exclude", "mixed/deep/*") == ["a.md", "e.md", "mixed/b.md"]


def test_a_selection_of_nothing_says_so(tmp_path):
    src = tree(tmp_path, "a.txt")
    proc = run("batch", src, "-o", tmp_path / "out", "--glob", "*.rss")
    assert proc.returncode == 0
    assert lines(proc)[0] == f"feed2md: warning: no file under {src} matches *.rss; nothing to convert"
    assert "1 warning," in lines(proc)[-1]


def test_colliding_output_names_are_resolved_and_reported(tmp_path):
    src = tree(tmp_path, "a.txt", "a.html")
    proc = run("batch", src, "-o", tmp_path / "out")
    assert "feed2md: warning: a.txt: written as a.txt.md, as a.html already has that name" in lines(proc)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.md")) == ["a.md", "a.txt.md"]
    assert "1 warning," in lines(proc)[-1]


def test_every_printed_warning_is_counted(tmp_path):
    src = tree(tmp_path, "a.txt")
    (src / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    (src / "out.txt").symlink_to(SEED)
    proc = run("batch", src, "-o", tmp_path / "out")
    warnings = [line for line in lines(proc) if ": warning: " in line]
    assert len(warnings) == 2
    assert lines(proc)[-1].startswith("feed2md: 1 converted, 0 unchanged, 0 failed, 2 warnings,")


# -- stale outputs, --prune, --diff ---------------------------------------------------------
def test_stale_outputs_are_reported_checked_and_pruned(tmp_path):
    src = tree(tmp_path, "a.txt", "b.txt", "c.txt")
    out = tmp_path / "out"
    run("batch", src, "-o", out, "-q")
    (src / "b.txt").unlink()
    (src / "c.txt").unlink()
    (out / "c.md").write_text("edited by hand\n")
    (out / "mine.md").write_text("not feed2md's\n")
    check = run("batch", src, "-o", out, "--check")
    assert check.returncode == 1
    assert "feed2md: b.md: input gone; stale output (--prune deletes it) (b.txt)" in lines(check)
    assert run("batch", src, "-o", out, "--check", "--prune").returncode == 1
    assert (out / "b.md").exists()
    pruned = run("batch", src, "-o", out, "--prune")
    assert pruned.returncode == 0
    assert "feed2md: b.md: input gone; output deleted (b.txt)" in lines(pruned)
    assert "feed2md: c.md: input gone; the output was changed since feed2md wrote it: kept (c.txt)" in lines(pruned)
    assert sorted(p.name for p in out.glob("*.md")) == ["a.md", "c.md", "mine.md"]
    assert (out / "c.md").read_text() == "edited by hand\n"


def test_excluded_inputs_are_not_stale(tmp_path):
    src = tree(tmp_path, "a.txt", "drafts/b.txt")
    out = tmp_path / "out"
    run("batch", src, "-o", out, "-q")
    proc = run("batch", src, "-o", out, "--check", "--prune", "--exclude", "drafts")
    assert proc.returncode == 0 and (out / "drafts" / "b.md").exists()


def test_check_diff_prints_a_unified_diff_on_stdout(tmp_path):
    src = tree(tmp_path, "a.txt", "b.txt")
    out = tmp_path / "out"
    run("batch", src, "-o", out, "-q")
    text = (src / "a.txt").read_text("utf-8")
    title = text.split("title: ", 1)[1].split("\n", 1)[0]
    (src / "a.txt").write_text(text.replace(title, "'A new title'", 1), "utf-8")
    proc = run("batch", src, "-o", out, "--check", "--diff")
    assert proc.returncode == 1
    diff = proc.stdout.decode()
    assert diff.startswith("--- a/a.md\n+++ b/a.md\n@@ ")
    assert "\n+title: A new title\n" in diff and "\n-title: " in diff
    assert run("batch", src, "-o", out, "--diff").returncode == 2  # --diff needs --check


# -- progress, conventions ------------------------------------------------------------------
def test_progress_bar_shows_percent_rate_and_eta_on_a_terminal(tmp_path):
    src = tree(tmp_path, *(f"{i:03}.txt" for i in range(60)))
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([*FEED2MD, "batch", str(src), "-o", str(tmp_path / "out"), "-j", "1"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary,
                            env={**os.environ, "COLUMNS": "120"})
    os.close(secondary)
    seen = b""
    while True:
        ready, _, _ = select.select([primary], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=60)
    os.close(primary)
    text = seen.decode("utf-8", "replace")
    assert proc.returncode == 0
    assert "converting" in text and "%" in text and "ETA" in text and "/60" in text
    assert "60 converted" in text


def test_conventions(tmp_path):
    version = run("-V").stdout.decode()
    assert version.startswith("feed2md ") and version == run("--version").stdout.decode()
    module = subprocess.run([sys.executable, "-m", "feed2md", "-V"], capture_output=True, timeout=60)
    assert module.stdout.decode() == version
    zsh = run("--show-completion", "zsh").stdout.decode()
    assert zsh.startswith("#compdef feed2md") and "_FEED2MD_COMPLETE" in zsh
    assert "complete --command feed2md" in run("--show-completion", "fish").stdout.decode()
    help_text = run("batch", "--help").stdout.decode()
    assert "default: the number of CPUs" in " ".join(help_text.replace("│", " ").split()) and "[default: 0]" not in help_text
    assert "batch [OPTIONS] SRC_DIR" in help_text and "{SRC_DIR}" not in help_text
    quiet = run("batch", tree(tmp_path, "a.txt"), "-o", tmp_path / "out", "-q")
    assert quiet.returncode == 0 and quiet.stderr == b""
    verbose = run("convert", KR[0], "-v")
    assert lines(verbose) and "html body" in lines(verbose)[0] and "company links removed" in lines(verbose)[0]


def test_workers_never_outnumber_files(tmp_path):
    src = tree(tmp_path, "a.txt", "b.txt")
    probe = (
        "import multiprocessing.pool, sys\n"
        "real = multiprocessing.pool.Pool.__init__\n"
        "def spy(self, processes=None, *a, **k):\n"
        "    sys.stderr.write(f'workers {processes}\\n')\n"
        "    real(self, processes, *a, **k)\n"
        "multiprocessing.pool.Pool.__init__ = spy\n"
        "sys.argv = ['feed2md'] + sys.argv[1:]\n"
        "from feed2md.cli.main import run\n"
        "run()\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe, "batch", str(src), "-o", str(tmp_path / "out"), "-j", "99", "-q"],
                          capture_output=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stderr.decode().splitlines() == ["workers 2"]


# -- configuration file ---------------------------------------------------------------------
def test_configuration_from_pyproject_is_found_upward_and_flags_override_it(tmp_path):
    project = tmp_path / "site"
    src = tree(project, "a.txt", "drafts/b.txt")
    (project / "pyproject.toml").write_text(
        '[project]\nname = "blog"\n\n[tool.feed2md]\ncompanies = "list"\n\n[tool.feed2md.batch]\nexclude = ["drafts"]\n'
    )
    (project / "deeper").mkdir()
    run("batch", src, "-o", project / "out", "-q", cwd=project / "deeper")
    assert [p.name for p in (project / "out").rglob("*.md")] == ["a.md"]
    assert "companies:" in (project / "out" / "a.md").read_text("utf-8")
    converted = run("convert", src / "a.txt", "--companies", "text", cwd=project).stdout.decode()
    assert "companies:" not in converted  # the flag wins
    assert run("convert", src / "a.txt", "--no-config", cwd=project).stdout.decode() == converted


def test_feed2md_toml_and_config_flag_and_bad_keys(tmp_path):
    home, elsewhere = tmp_path / "blog", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    (home / "rules.toml").write_text('[[site]]\nname = "x"\nalways = true\ndrop = ["p"]\n')
    (home / "feed2md.toml").write_text('rules = "rules.toml"\n')
    body = run("convert", SEED, "--config", home / "feed2md.toml", cwd=elsewhere).stdout
    assert body == run("convert", SEED, cwd=home).stdout == run("--config", home / "feed2md.toml", "convert", SEED).stdout
    plain = run("convert", SEED, cwd=elsewhere).stdout
    assert body.count(b"\n") < 20 < plain.count(b"\n")  # the configured rules dropped its paragraphs
    assert run("convert", SEED, "--no-config", cwd=home).stdout == plain
    (home / "feed2md.toml").write_text('jobz = 3\n')
    proc = run("convert", SEED, cwd=home)
    assert proc.returncode == 2
    assert lines(proc) == [f"feed2md: {home / 'feed2md.toml'}: jobz: no feed2md command has such an option"]
    (home / "feed2md.toml").write_text('[convert]\njobs = 3\n')
    assert "`feed2md convert` has no such option" in lines(run("convert", SEED, cwd=home))[0]


def test_verify_shows_front_matter_values_as_written_never_as_reprs(tmp_path):
    aws = Path(__file__).resolve().parents[1] / "examples" / "36kr-aws.txt"
    edited = tmp_path / "edited.md"
    edited.write_bytes(run("convert", aws).stdout.replace(b"date: 2021-07-29T06:47:26", b"date: 2021-07-30T06:47:26"))
    proc = run("verify", aws, edited)
    assert proc.returncode == 1
    assert lines(proc) == [f"feed2md: {edited}: date changed: Thu, 29 Jul 2021 06:47:26 GMT -> 2021-07-30T06:47:26+00:00"]
