"""`feed2md batch`: walk a tree, convert in worker processes, skip what is up to date.

The library does the converting; this module owns the file system side: which files to
take, where outputs go, the incremental state, parallel workers, and the per-file report.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import signal
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from feed2md.converters import Options

from .io import TEMP_PREFIX, TEMP_SUFFIX, current_bytes, write_atomic

STATE_FILE = ".feed2md-state.json"
RUNNING_MARK = ".feed2md-running"  # present while a run writes; left behind only by a killed run
LOCK_FILE = ".feed2md-lock"  # held (flock) by the run that writes OUT_DIR


class Busy(Exception):
    """Another feed2md run holds OUT_DIR."""


def lock_output(out: Path) -> int:
    """Take OUT_DIR for this run: an exclusive, non-blocking lock on its lock file, released
    when the process ends however it ends. Raises Busy when another run holds it: a second
    run refuses rather than waits (its work would race the first one's, file by file)."""
    import fcntl

    path = os.path.join(out, LOCK_FILE)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if os.path.islink(path):  # never follow a planted symlink: replace it
            os.unlink(path)
            fd = os.open(path, flags, 0o666)
        else:
            raise
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Busy(str(out)) from None
    return fd


def _touch_marker(path: Path) -> None:
    """Create the running marker without following a symlink planted in its place."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        os.close(os.open(path, flags, 0o666))
    except OSError:
        if not os.path.islink(path):
            raise
        os.unlink(path)
        os.close(os.open(path, flags, 0o666))
DEFAULT_GLOBS = ("*.md", "*.txt", "*.html")



class Task(NamedTuple):
    source: str  # absolute path of the input
    rel: str  # input path relative to SRC_DIR (posix)
    output: str  # absolute path of the output
    out_rel: str  # output path relative to OUT_DIR (posix)


class Outcome:
    """What became of one input; filled in by `process`, possibly in a worker process."""

    def __init__(self, path: str, output: str, status: str, warnings: list[str] | None = None) -> None:
        self.path = path
        self.output = output
        self.status = status  # converted | unchanged | failed | would-change | skipped | stale | pruned
        self.warnings: list[str] = warnings or []
        self.error: str | None = None
        self.encoding: str | None = None
        self.entry: list | None = None  # state entry for a successful file (see make_entry)
        self.wrappers: dict[str, dict] = {}  # likely redirect wrappers no rule unwraps (library report)
        self.diff = ""  # --check --diff: what writing the output would change
        self.images: tuple[int, int, int, int] = (0, 0, 0, 0)  # fetched, reused, failed, bytes


class Walk(NamedTuple):
    tasks: list[Task]
    skipped: list[tuple[str, str]]  # (path, why)
    renamed: list[tuple[str, str, str]] = []  # (path, its output, the input that took the plain name)


def glob_pattern(patterns: tuple[str, ...]) -> re.Pattern | None:
    """One regex for shell-style patterns, as .gitignore and black read them: a pattern without
    `/` matches a name at any depth (`*.txt`); one with `/` matches the path from SRC_DIR
    (`mixed/*.txt`), where `*` stays within a folder and `**/` spans any number of them."""
    if not patterns:
        return None
    parts = []
    for pattern in patterns:
        pattern = pattern.strip()
        if pattern.startswith("./"):
            pattern = pattern[2:]
        anchored = "/" in pattern.rstrip("/")
        pattern = pattern.strip("/")
        regex, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:[^/]*/)*", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
                end = pattern.index("]", i + 2)
                body = pattern[i + 1 : end]
                body = body.replace("\\", "\\\\")  # a backslash is literal in a shell class
                regex, i = regex + "[" + ("^" + body[1:] if body[:1] == "!" else body) + "]", end + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        parts.append(regex if anchored else "(?:[^/]*/)*" + regex)
    return re.compile("(?:" + "|".join(parts) + ")\\Z")


def walk(src: Path, out: Path, globs: tuple[str, ...], excludes: tuple[str, ...] = ()) -> Walk:
    """Every input under `src` matching `globs` (see glob_pattern) and no `excludes` (an
    excluded folder is not entered), with its output path under `out`.

    Symlinks that lead out of `src` are skipped (not read); directory symlinks are not
    followed (no loops); `out` is never walked even when it lies inside `src`; hidden
    files and folders are left alone. Plain strings and scandir: a tree of 100,000 files
    is walked in well under a second. Outputs are named deterministically: `a.txt` -> `a.md`;
    when two inputs of a folder would share a name (`a.txt`, `a.html`), the first in name
    order keeps it and the other keeps its whole name (`a.html.md`), which Walk.renamed lists.
    """
    src_real = os.path.realpath(src)
    out_real = os.path.realpath(out)
    wanted = glob_pattern(globs)
    unwanted = glob_pattern(excludes)
    tasks: list[Task] = []
    skipped: list[tuple[str, str]] = []
    renamed: list[tuple[str, str, str]] = []
    stack = [(src_real, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name, reverse=True)
        except OSError as exc:
            skipped.append((prefix.rstrip("/") or ".", f"cannot list folder: {exc.strerror}"))
            continue
        files = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = prefix + entry.name
            if unwanted is not None and unwanted.match(rel):
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.path != out_real:
                    stack.append((entry.path, rel + "/"))
            elif not wanted.match(rel):
                continue
            elif entry.is_symlink():
                target = os.path.realpath(entry.path)
                if os.path.isdir(target):
                    skipped.append((rel, "directory symlink not followed"))
                elif not target.startswith(src_real + os.sep):
                    skipped.append((rel, "symlink leads outside the source folder; skipped"))
                elif not os.path.isfile(target):
                    skipped.append((rel, "symlink to something that is not a regular file (FIFO, socket, device, or nothing); skipped"))
                else:
                    files.append((entry, rel))
            elif entry.is_file(follow_symlinks=False):
                files.append((entry, rel))
            else:
                skipped.append((rel, "not a regular file (FIFO, socket or device); skipped"))
        claimed: dict[str, str] = {}
        for entry, rel in reversed(files):
            stem, dot, _ = rel.rpartition(".")
            out_rel = (stem if dot and "/" not in rel[len(stem):] else rel) + ".md"
            if out_rel in claimed:  # a.txt and a.md in one folder: keep both, by full name
                renamed.append((rel, rel + ".md", claimed[out_rel]))
                out_rel = rel + ".md"
            claimed[out_rel] = rel
            tasks.append(Task(entry.path, rel, os.path.join(out_real, out_rel), out_rel))
    return Walk(tasks, skipped, renamed)


def name_outputs(found: Walk, template: str, out: Path, previous: dict) -> Walk:
    """The walk's tasks with outputs named by a template (targets.output_name): the jekyll
    `{path}{date:%Y-%m-%d}-{slug}`, a user's --name. A template that reads the article (title,
    date) reads the front matter of new and changed inputs only: an input unchanged since the
    last run keeps the name the state recorded. Two inputs given one name are told apart
    deterministically, in path order (`name-2`, `name-3`), and Walk.renamed lists them."""
    from feed2md.converters.targets import needs_metadata, output_name

    out_real = os.path.realpath(out)
    recorded = {entry[0]: (out_rel, entry) for out_rel, entry in previous.items()}
    reads = needs_metadata(template)
    named: list[tuple[Task, str]] = []
    for task in found.tasks:
        name = None
        if reads:
            earlier = recorded.get(task.rel)
            if earlier is not None and earlier[1][1:3] == _stat_pair(task.source):
                name = earlier[0]
            else:
                name = output_name(template, task.rel, _front_matter(task.source)) + ".md"
        else:
            name = output_name(template, task.rel, {}) + ".md"
        named.append((task, name))
    claimed: dict[str, str] = {}
    tasks, renamed = [], list(found.renamed)
    for task, name in sorted(named, key=lambda pair: pair[0].rel):
        wanted = name
        number = 1
        while name.lower() in claimed:  # case-insensitive file systems (macOS, Windows) too
            number += 1
            name = f"{wanted[:-3]}-{number}.md"
        if name != wanted:
            renamed.append((task.rel, name, claimed[wanted.lower()]))
        claimed[name.lower()] = task.rel
        tasks.append(task._replace(output=os.path.join(out_real, name), out_rel=name))
    return Walk(tasks, found.skipped, renamed)


def _front_matter(path: str) -> dict:
    """An input's normalised front matter ({} when it cannot be read: the conversion will say why)."""
    from feed2md.converters import decode
    from feed2md.converters.article import split_article
    from feed2md.converters.metadata import normalise, parse_front_matter

    try:
        raw = split_article(decode(read_regular_file(path))[0])
        return normalise(parse_front_matter(raw.front_matter, [], raw.syntax), [], [])
    except Exception:  # noqa: BLE001 - unreadable here is reported by the conversion itself
        return {}


def remove_stale_temporaries(out: Path) -> None:
    """Temporary files left by a run that was killed mid-write."""
    if not out.is_dir():
        return
    for dirpath, _, filenames in os.walk(out):
        for name in filenames:
            if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
                try:
                    os.unlink(os.path.join(dirpath, name))
                except OSError:
                    pass


# -- incremental state -----------------------------------------------------------------------
class State(NamedTuple):
    """The record of the last run: output path -> entry (see make_entry)."""

    files: dict
    same_options: bool  # made with this run's options: its entries say what is up to date


def load_state(out: Path, key: str, notices: list[str] | None = None) -> State:
    """The record of the last run; empty when there is none or it is corrupted in any way
    (then a notice says it was discarded). A record made with other options still says
    which outputs feed2md wrote (for stale outputs and --prune), but not what is up to date."""
    path = out / STATE_FILE
    try:
        if not path.is_file() or path.is_symlink():
            if path.exists() or path.is_symlink():
                raise ValueError("not a regular file")
            return State({}, False)
        data = json.loads(path.read_text("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            raise ValueError("not a feed2md state")
    except FileNotFoundError:
        return State({}, False)
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
        if notices is not None:
            notices.append(f"{STATE_FILE}: unreadable ({type(exc).__name__}); discarded, every input is converted again")
        return State({}, False)
    files = {k: v for k, v in data["files"].items() if isinstance(k, str) and _is_entry(v)}
    return State(files, data.get("key") == key)


def _is_entry(entry: object) -> bool:
    return isinstance(entry, list) and len(entry) == 6 and isinstance(entry[0], str)


def save_state(out: Path, key: str, files: dict) -> None:
    # ASCII JSON: file names that are not UTF-8 (kept as surrogates) survive the round trip.
    payload = json.dumps({"key": key, "files": files}, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    write_atomic(out / STATE_FILE, payload.encode("ascii"))


# A state entry, per output: [input path, input size, input mtime_ns, output size,
# output mtime_ns, hash of the input bytes]. Lists keep the file small and quick to read.
def _stat_pair(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def digest(data: bytes) -> str:
    """A short content hash (BLAKE2b)."""
    try:  # the built-in module: `hashlib` would also load OpenSSL (~2 ms of start-up)
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover - other Python implementations
        from hashlib import blake2b
    return blake2b(data, digest_size=16).hexdigest()


def make_entry(task: Task, input_digest: str) -> list | None:
    stat_in, stat_out = _stat_pair(task.source), _stat_pair(task.output)
    if stat_in is None or stat_out is None:
        return None
    return [task.rel, *stat_in, *stat_out, input_digest]


def fresh_entry(task: Task, entry: list | None) -> list | None:
    """The state entry to keep when the recorded conversion of this input still holds, else None.

    Sizes and mtimes decide at once; an input whose mtime moved (a fresh checkout, `touch`)
    but whose bytes hash the same is still fresh, and its entry is updated.
    """
    if not isinstance(entry, list) or len(entry) != 6 or entry[0] != task.rel:
        return None
    if entry[3:5] != _stat_pair(task.output):
        return None
    stat_in = _stat_pair(task.source)
    if entry[1:3] == stat_in:
        return entry
    try:
        with open(task.source, "rb") as handle:
            same = digest(handle.read()) == entry[5]
    except OSError:
        return None
    return [task.rel, *stat_in, *entry[3:]] if same and stat_in else None


# -- one file --------------------------------------------------------------------------------
class NotRegularFile(Exception):
    """A path that is a FIFO, a socket or a device: never read, never written."""


def read_regular_file(path: str) -> bytes:
    """A regular file's bytes. Opened without blocking, so that a FIFO cannot hang the run."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(path)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(fd)


_safe_folders: dict[str, str] = {}  # output folders already checked, in this process


def unsafe_output(task: Task) -> str:
    """Why the output may not be written ('' when it may): a folder on the way from OUT_DIR
    to it that is a symlink (it would lead out of OUT_DIR), or an output path that holds
    something other than a regular file or a symlink (a FIFO would hang the run)."""
    folder = os.path.dirname(task.output)
    if folder not in _safe_folders:
        _safe_folders[folder] = ""
        parts = task.out_rel.split("/")[:-1]
        base = task.output[: len(task.output) - len(task.out_rel)].rstrip(os.sep)
        for i in range(len(parts)):
            path = os.path.join(base, *parts[: i + 1])
            if os.path.islink(path):
                _safe_folders[folder] = f"output folder {'/'.join(parts[: i + 1])} is a symlink; not written through"
                break
    if _safe_folders[folder]:
        return _safe_folders[folder]
    try:
        mode = os.lstat(task.output).st_mode
    except OSError:
        return ""
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        return f"output path {task.out_rel} is not a regular file; not written"
    return ""

_options: Options | None = None
_check = False
_verify = False
_diff = False
_images: "ImageOptions | None" = None
_downloader = None  # one per process, made on first use


class ImageOptions(NamedTuple):
    """--images download: where the pictures go (the output folder) and what may be fetched."""

    out: str
    allow_private: bool = False


def configure(options: Options, check: bool, verify: bool, diff: bool = False, images: ImageOptions | None = None) -> None:
    """Set what `process` does, in this process (one job) or in each worker."""
    global _options, _check, _verify, _diff, _images, _downloader
    _options, _check, _verify, _diff, _images = options, check, verify, diff, images
    _downloader = None


def init_worker(options: Options, check: bool, verify: bool, diff: bool = False, images: ImageOptions | None = None) -> None:
    configure(options, check, verify, diff, images)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the pool ends workers with it: quietly
    ignore_file_size_signal()
    end_with_parent()


def end_with_parent() -> None:
    """Ask the kernel to end this worker when its parent dies (Linux's PR_SET_PDEATHSIG):
    a parent killed outright leaves no worker behind to fail on the broken pipe."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return


def ignore_file_size_signal() -> None:
    # Past `ulimit -f`, write() should fail with EFBIG for that one file, not kill the process.
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def process(task: Task) -> Outcome:
    """Convert one input; write its output only when the bytes change (never in check mode)."""
    outcome = Outcome(path=task.rel, output=task.out_rel, status="failed")
    try:
        _process(task, outcome)
    except Exception as exc:  # a bug in feed2md itself (the library wraps its own): one file's failure
        outcome.status = "failed"
        outcome.error = f"internal error ({type(exc).__name__}: {exc}); please report it"
    return outcome


def _process(task: Task, outcome: Outcome) -> None:
    from feed2md.converters import ConversionError, convert_bytes  # loaded once, per worker

    try:
        data = read_regular_file(task.source)
    except OSError as exc:
        outcome.error = f"cannot read: {exc.strerror or exc}"
        return
    except NotRegularFile:
        outcome.error = "not a regular file (FIFO, socket or device); skipped"
        return
    why = unsafe_output(task)
    if why:
        outcome.error = why
        return
    input_digest = digest(data)
    try:
        # `data` is handed over (its only reference), so convert_bytes frees it once decoded.
        pending = [data]
        del data
        result = convert_bytes(pending.pop(), _options)
    except ConversionError as exc:
        outcome.error = str(exc)
        return
    outcome.encoding = result.report.encoding
    outcome.warnings = list(result.report.warnings)
    outcome.wrappers = result.report.likely_wrappers
    if _verify:
        from feed2md.converters.verify import verify

        losses = verify(result.source, result.text, _options.rules if _options else None, _options.target if _options else "gfm")
        outcome.warnings += [f"verify: {loss}" for loss in losses]
    text = result.text
    if _images is not None and not _check:
        global _downloader
        from .images import Downloader, localise_text

        if _downloader is None:
            _downloader = Downloader(Path(_images.out), _images.allow_private)
        text, _, stats, failures = localise_text(text, Path(task.output), _options.target if _options else "gfm", _downloader)
        outcome.warnings += failures
        outcome.images = (stats.fetched, stats.reused, stats.failed, stats.bytes)
    new = text.encode("utf-8")
    old = current_bytes(task.output)
    if old == new:
        outcome.status = "unchanged"
    elif _check:
        outcome.status = "would-change"
        outcome.error = "output missing" if old is None else "output would change"
        if _diff:
            outcome.diff = unified_diff(old, new, task.out_rel)
        return
    else:
        try:
            write_atomic(task.output, new)
        except OSError as exc:
            outcome.error = f"cannot write {task.out_rel}: {exc.strerror or exc}"
            return
        outcome.status = "converted"
    outcome.entry = make_entry(task, input_digest)


def unified_diff(old: bytes | None, new: bytes, out_rel: str) -> str:
    """What writing `new` over `old` would change, as `diff -u` shows it (git's a/ b/ names)."""
    import difflib

    before = old.decode("utf-8", "replace").splitlines(keepends=True) if old is not None else []
    after = new.decode("utf-8").splitlines(keepends=True)
    lines = difflib.unified_diff(before, after, "/dev/null" if old is None else f"a/{out_rel}", f"b/{out_rel}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def run_tasks(tasks: list[Task], jobs: int, options: Options, check: bool, verify: bool, diff: bool = False,
              images: ImageOptions | None = None) -> Iterator[Outcome]:
    """Process tasks, in this process for one job, else in a pool of long-lived workers
    (never more workers than tasks)."""
    jobs = min(jobs, len(tasks))
    if jobs <= 1:
        configure(options, check, verify, diff, images)
        for task in tasks:
            yield process(task)
        return
    import multiprocessing

    from feed2md.converters import default_rules

    default_rules()  # parsed once here, inherited by the forked workers

    context = multiprocessing.get_context("fork") if hasattr(os, "fork") else multiprocessing.get_context()
    # Small chunks: the progress bar moves by at most 16 files, at little cost in messages.
    chunk = max(1, min(16, len(tasks) // (jobs * 8) or 1))
    with context.Pool(jobs, initializer=init_worker, initargs=(options, check, verify, diff, images)) as pool:
        yield from pool.imap_unordered(process, tasks, chunksize=chunk)


class Summary:
    """The counts of a run, for its closing line."""

    def __init__(self) -> None:
        self.converted = 0
        self.unchanged = 0
        self.failed = 0
        self.would_change = 0
        self.stale = 0  # outputs whose input is gone (with --check: would be pruned)
        self.pruned = 0
        self.warnings = 0
        self.elapsed = 0.0
        self.notices: list[str] = []  # about the run as a whole (a discarded state, …)
        self.wrappers: dict[str, list] = {}  # host -> [param, links, files]
        self.images = [0, 0, 0, 0]  # fetched, reused, failed, bytes (--images download)

    @property
    def total(self) -> int:
        return self.converted + self.unchanged + self.failed + self.would_change

    def add(self, outcome: Outcome) -> None:
        if outcome.status == "converted":
            self.converted += 1
        elif outcome.status == "unchanged":
            self.unchanged += 1
        elif outcome.status == "would-change":
            self.would_change += 1
        elif outcome.status == "stale":
            self.stale += 1
        elif outcome.status == "pruned":
            self.pruned += 1
        elif outcome.status == "skipped":
            pass
        else:
            self.failed += 1
        self.warnings += len(outcome.warnings)
        self.images = [a + b for a, b in zip(self.images, outcome.images)]
        for host, seen in outcome.wrappers.items():
            entry = self.wrappers.setdefault(host, [seen["param"], 0, 0])
            entry[1] += seen["links"]
            entry[2] += 1


def run_batch(
    src: Path,
    out: Path,
    *,
    globs: tuple[str, ...],
    jobs: int,
    options: Options,
    state_key: str,
    excludes: tuple[str, ...] = (),
    name_template: str = "",
    check: bool = False,
    diff: bool = False,
    prune: bool = False,
    verify: bool = False,
    force: bool = False,
    images: ImageOptions | None = None,
    on_outcome: Callable[[Outcome], None] = lambda o: None,
    on_start: Callable[[int], None] = lambda n: None,
) -> Summary:
    """Convert a tree; returns the summary. `on_outcome` sees every file's outcome."""
    started = time.perf_counter()
    ignore_file_size_signal()
    summary = Summary()
    lock = None
    if not check:  # a check only reads; a writing run takes OUT_DIR first
        out.mkdir(parents=True, exist_ok=True)
        lock = lock_output(out)
    try:
        run = _Run(src, out, globs, excludes, name_template, jobs, options, state_key, check, diff, prune, verify, force,
                   on_outcome, on_start, images)
        run.execute(summary)
        summary.elapsed = time.perf_counter() - started
        return summary
    finally:
        if lock is not None:
            os.close(lock)


class _Run(NamedTuple):
    src: Path
    out: Path
    globs: tuple[str, ...]
    excludes: tuple[str, ...]
    name_template: str  # "" for the walk's own names ({path}{stem})
    jobs: int
    options: Options
    state_key: str
    check: bool
    diff: bool
    prune: bool
    verify: bool
    force: bool
    on_outcome: Callable[[Outcome], None]
    on_start: Callable[[int], None]
    images: ImageOptions | None = None

    def execute(self, summary: Summary) -> None:
        out, check = self.out, self.check
        found = walk(self.src, out, self.globs, self.excludes)
        state = State({}, False) if self.force else load_state(out, self.state_key, summary.notices)
        if self.name_template:
            found = name_outputs(found, self.name_template, out, state.files)
        for rel, why in found.skipped:
            summary.warnings += 1
            self.on_outcome(Outcome(path=rel, output="", status="skipped", warnings=[why]))
        for rel, out_rel, other in found.renamed:
            summary.notices.append(f"{rel}: written as {out_rel}, as {other} already has that name")
        if not found.tasks and not found.skipped:
            patterns = ", ".join(self.globs) + (f" (excluding {', '.join(self.excludes)})" if self.excludes else "")
            summary.notices.append(f"no file under {self.src} matches {patterns}; nothing to convert")
        running = out / RUNNING_MARK
        if not check and (running.exists() or running.is_symlink()):  # the last run was killed: sweep
            remove_stale_temporaries(out)  # (safe: this run holds the lock, so no other is writing)
        trusted = state.files if state.same_options else {}
        todo: list[Task] = []
        new_state: dict = {}
        for task in found.tasks:
            entry = fresh_entry(task, trusted.get(task.out_rel))
            if entry is not None:
                new_state[task.out_rel] = entry
                outcome = Outcome(path=task.rel, output=task.out_rel, status="unchanged")
                summary.add(outcome)
                self.on_outcome(outcome)
            else:
                todo.append(task)
        claimed = {task.out_rel for task in found.tasks}
        for out_rel, entry in sorted(state.files.items()):
            if out_rel not in claimed:
                kept = self._left_over(out_rel, entry, summary)
                if kept:
                    new_state[out_rel] = entry
        summary.warnings += len(summary.notices)
        self.on_start(len(todo))
        writing = bool(todo) and not check
        if writing:
            _touch_marker(running)
        completed = False
        try:
            for outcome in run_tasks(todo, self.jobs, self.options, check, self.verify, self.diff, self.images):
                summary.add(outcome)
                if outcome.entry is not None:
                    new_state[outcome.output] = outcome.entry
                self.on_outcome(outcome)
            completed = True
        finally:
            if not check:
                if writing and not completed:
                    remove_stale_temporaries(out)  # a write cut short by Ctrl-C leaves nothing behind
                out.mkdir(parents=True, exist_ok=True)
                # Files not done (interrupted) or gone are simply absent: the next run does them.
                try:
                    if new_state != state.files or not state.same_options or not (out / STATE_FILE).exists():
                        save_state(out, self.state_key, new_state)
                except OSError:
                    pass  # without a record the next run reconverts; nothing is lost
                if writing:
                    running.unlink(missing_ok=True)

    def _left_over(self, out_rel: str, entry: list, summary: Summary) -> bool:
        """An output recorded by an earlier run that no input of this run claims. Returns
        whether the record is kept. Its input excluded this time: kept, untouched. Its input
        gone: a stale output, reported; --prune deletes it if it is still what feed2md wrote."""
        output = os.path.join(self.out, out_rel)
        if not os.path.lexists(output):
            return False
        if os.path.lexists(os.path.join(self.src, entry[0])):
            return True
        as_written = _stat_pair(output) == entry[3:5] and not os.path.islink(output)
        outcome = Outcome(path=entry[0], output=out_rel, status="stale")
        if self.prune and as_written:
            if self.check:
                outcome.error = "input gone; --prune would delete the output"
            else:
                try:
                    os.unlink(output)
                    outcome.status = "pruned"
                    outcome.error = "input gone; output deleted"
                except OSError as exc:
                    outcome.error = f"input gone; cannot delete the output: {exc.strerror or exc}"
        elif self.prune:
            outcome.error = "input gone; the output was changed since feed2md wrote it: kept"
        else:
            outcome.error = "input gone; stale output (--prune deletes it)"
        summary.add(outcome)
        self.on_outcome(outcome)
        return outcome.status != "pruned"
