"""What feed2md keeps in an output folder it writes: the lock that gives one run the folder,
the marker of a run in progress (left only by a killed run), and batch's incremental state
(per output: the input's path, size, mtime and hash, and the output's size and mtime).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

from .io import TEMP_PREFIX, TEMP_SUFFIX, stat_pair, write_atomic
from .walk import Task

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
    except OSError:
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


def digest(data: bytes) -> str:
    """A short content hash (BLAKE2b)."""
    try:  # the built-in module: `hashlib` would also load OpenSSL (~2 ms of start-up)
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover - other Python implementations
        from hashlib import blake2b
    return blake2b(data, digest_size=16).hexdigest()


def make_entry(task: Task, input_digest: str) -> list | None:
    stat_in, stat_out = stat_pair(task.source), stat_pair(task.output)
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
    if entry[3:5] != stat_pair(task.output):
        return None
    stat_in = stat_pair(task.source)
    if entry[1:3] == stat_in:
        return entry
    try:
        with open(task.source, "rb") as handle:
            same = digest(handle.read()) == entry[5]
    except OSError:
        return None
    return [task.rel, *stat_in, *entry[3:]] if same and stat_in else None
