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
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from feed2md.converters import Options

from .io import TEMP_PREFIX, TEMP_SUFFIX, current_bytes, write_atomic

STATE_FILE = ".feed2md-state.json"
RUNNING_MARK = ".feed2md-running"  # present while a run writes; left behind only by a killed run
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
        self.status = status  # converted | unchanged | failed | would-change | skipped
        self.warnings: list[str] = warnings or []
        self.error: str | None = None
        self.encoding: str | None = None
        self.entry: list | None = None  # state entry for a successful file (see make_entry)


class Walk(NamedTuple):
    tasks: list[Task]
    skipped: list[tuple[str, str]]  # (path, why)


def walk(src: Path, out: Path, globs: tuple[str, ...]) -> Walk:
    """Every input under `src` matching `globs`, with its output path under `out`.

    Symlinks that lead out of `src` are skipped (not read); directory symlinks are not
    followed (no loops); `out` is never walked even when it lies inside `src`; hidden
    files and folders are left alone. Plain strings and scandir: a tree of 100,000 files
    is walked in well under a second.
    """
    src_real = os.path.realpath(src)
    out_real = os.path.realpath(out)
    wanted = re.compile("|".join(fnmatch.translate(g) for g in globs))
    tasks: list[Task] = []
    skipped: list[tuple[str, str]] = []
    claimed: set[str] = set()
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
            if entry.is_dir(follow_symlinks=False):
                if entry.path != out_real:
                    stack.append((entry.path, rel + "/"))
            elif entry.is_symlink():
                target = os.path.realpath(entry.path)
                if os.path.isdir(target):
                    skipped.append((rel, "directory symlink not followed"))
                elif wanted.match(entry.name):
                    if not target.startswith(src_real + os.sep):
                        skipped.append((rel, "symlink leads outside the source folder; skipped"))
                    else:
                        files.append((entry, rel))
            elif entry.is_file(follow_symlinks=False) and wanted.match(entry.name):
                files.append((entry, rel))
        for entry, rel in reversed(files):
            stem, dot, _ = rel.rpartition(".")
            out_rel = (stem if dot and "/" not in rel[len(stem):] else rel) + ".md"
            if out_rel in claimed:  # a.txt and a.md in one folder: keep both, by full name
                out_rel = rel + ".md"
            claimed.add(out_rel)
            tasks.append(Task(entry.path, rel, os.path.join(out_real, out_rel), out_rel))
    return Walk(tasks, skipped)


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
def load_state(out: Path, key: str) -> dict:
    try:
        data = json.loads((out / STATE_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("files"), dict):
        return {}
    return data["files"]


def save_state(out: Path, key: str, files: dict) -> None:
    payload = json.dumps({"key": key, "files": files}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    write_atomic(out / STATE_FILE, payload.encode("utf-8"))


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


def make_entry(task: Task, data: bytes) -> list | None:
    stat_in, stat_out = _stat_pair(task.source), _stat_pair(task.output)
    if stat_in is None or stat_out is None:
        return None
    return [task.rel, *stat_in, *stat_out, digest(data)]


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
_options: Options | None = None
_check = False
_verify = False


def configure(options: Options, check: bool, verify: bool) -> None:
    """Set what `process` does, in this process (one job) or in each worker."""
    global _options, _check, _verify
    _options, _check, _verify = options, check, verify


def init_worker(options: Options, check: bool, verify: bool) -> None:
    configure(options, check, verify)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    ignore_file_size_signal()


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
        with open(task.source, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        outcome.error = f"cannot read: {exc.strerror or exc}"
        return
    try:
        result = convert_bytes(data, _options)
    except ConversionError as exc:
        outcome.error = str(exc)
        return
    outcome.encoding = result.report.encoding
    outcome.warnings = list(result.report.warnings)
    if _verify:
        from feed2md.converters.verify import verify

        losses = verify(result.source, result.text, _options.rules if _options else None)
        outcome.warnings += [f"verify: {loss}" for loss in losses]
    new = result.text.encode("utf-8")
    old = current_bytes(task.output)
    if old == new:
        outcome.status = "unchanged"
    elif _check:
        outcome.status = "would-change"
        outcome.error = "output missing" if old is None else "output would change"
        return
    else:
        try:
            write_atomic(task.output, new)
        except OSError as exc:
            outcome.error = f"cannot write {task.out_rel}: {exc.strerror or exc}"
            return
        outcome.status = "converted"
    outcome.entry = make_entry(task, data)


def run_tasks(tasks: list[Task], jobs: int, options: Options, check: bool, verify: bool) -> Iterator[Outcome]:
    """Process tasks, in this process for one job, else in a pool of long-lived workers."""
    if jobs <= 1 or len(tasks) < 2:
        configure(options, check, verify)
        for task in tasks:
            yield process(task)
        return
    import multiprocessing

    from feed2md.converters import default_rules

    default_rules()  # parsed once here, inherited by the forked workers

    context = multiprocessing.get_context("fork") if hasattr(os, "fork") else multiprocessing.get_context()
    chunk = max(1, min(64, len(tasks) // (jobs * 8) or 1))
    with context.Pool(jobs, initializer=init_worker, initargs=(options, check, verify)) as pool:
        yield from pool.imap_unordered(process, tasks, chunksize=chunk)


class Summary:
    """The counts of a run, for its closing line."""

    def __init__(self) -> None:
        self.converted = 0
        self.unchanged = 0
        self.failed = 0
        self.would_change = 0
        self.warnings = 0
        self.elapsed = 0.0

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
        else:
            self.failed += 1
        self.warnings += len(outcome.warnings)


def run_batch(
    src: Path,
    out: Path,
    *,
    globs: tuple[str, ...],
    jobs: int,
    options: Options,
    state_key: str,
    check: bool = False,
    verify: bool = False,
    force: bool = False,
    on_outcome: Callable[[Outcome], None] = lambda o: None,
    on_start: Callable[[int], None] = lambda n: None,
) -> Summary:
    """Convert a tree; returns the summary. `on_outcome` sees every file's outcome."""
    started = time.perf_counter()
    ignore_file_size_signal()
    found = walk(src, out, globs)
    for rel, why in found.skipped:
        on_outcome(Outcome(path=rel, output="", status="skipped", warnings=[why]))
    running = out / RUNNING_MARK
    if not check and running.exists():  # the last run was killed: sweep its temporaries
        remove_stale_temporaries(out)
    state = {} if force else load_state(out, state_key)
    summary = Summary()
    todo: list[Task] = []
    new_state: dict = {}
    for task in found.tasks:
        entry = fresh_entry(task, state.get(task.out_rel))
        if entry is not None:
            new_state[task.out_rel] = entry
            outcome = Outcome(path=task.rel, output=task.out_rel, status="unchanged")
            summary.add(outcome)
            on_outcome(outcome)
        else:
            todo.append(task)
    on_start(len(todo))
    writing = bool(todo) and not check
    if writing:
        out.mkdir(parents=True, exist_ok=True)
        running.touch()
    completed = False
    try:
        for outcome in run_tasks(todo, jobs, options, check, verify):
            summary.add(outcome)
            if outcome.entry is not None:
                new_state[outcome.output] = outcome.entry
            on_outcome(outcome)
        completed = True
    finally:
        if not check:
            if writing and not completed:
                remove_stale_temporaries(out)  # a write cut short by Ctrl-C leaves nothing behind
            out.mkdir(parents=True, exist_ok=True)
            # Files not done (interrupted) or gone are simply absent: the next run does them.
            try:
                if new_state != state or not (out / STATE_FILE).exists():
                    save_state(out, state_key, new_state)
            except OSError:
                pass  # without a record the next run reconverts; nothing is lost
            if writing:
                running.unlink(missing_ok=True)
    summary.elapsed = time.perf_counter() - started
    return summary
