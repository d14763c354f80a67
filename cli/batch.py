"""`feed2md batch`: convert a tree in worker processes, skipping what is up to date.

The library does the converting; this module runs it: each file's conversion (and, with
--images download, its pictures), the worker pool, stale outputs and --prune, and the run's
summary. Which files are taken and how outputs are named is walk.py; the lock and the state
in OUT_DIR are outdir.py.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from feed2md.converters import Options

from .io import current_bytes, stat_pair, write_atomic
from .outdir import (RUNNING_MARK, STATE_FILE, State, digest, fresh_entry, load_state, lock_output, make_entry,
                     remove_stale_temporaries, save_state, _touch_marker)
from .walk import NotRegularFile, Task, name_outputs, read_regular_file, walk


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


# -- incremental state -----------------------------------------------------------------------
# -- one file --------------------------------------------------------------------------------
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
    prepare_worker()


def prepare_worker() -> None:
    """A worker process's signals (batch's and feed's): Ctrl-C is the parent's, the pool's
    SIGTERM ends it quietly, a full `ulimit -f` fails one file, and it dies with its parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
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
        from .images import Downloader, localise_conversion

        if _downloader is None:
            _downloader = Downloader(Path(_images.out), _images.allow_private)
        text, _, stats, failures = localise_conversion(result, Path(task.output), _options.target if _options else "gfm",
                                                       _downloader)
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
        as_written = stat_pair(output) == entry[3:5] and not os.path.islink(output)
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
