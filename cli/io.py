"""Small I/O helpers shared by the commands: atomic writes, messages, pipes."""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

TEMP_PREFIX = ".feed2md-"
TEMP_SUFFIX = ".tmp"


def error(message: str) -> None:
    """One line on stderr, prefixed with the program name."""
    sys.stderr.write(f"feed2md: {message}\n")
    sys.stderr.flush()


_temp_names = itertools.count()


def write_atomic(path: Path | str, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename, so the
    final path only ever holds a complete file. On failure nothing is left behind.

    The file gets the usual permissions (0666 less the umask), unlike mkstemp's 0600.
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f"{TEMP_PREFIX}{os.getpid()}-{next(_temp_names)}{TEMP_SUFFIX}")
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileNotFoundError:  # first file of a folder: create the folder, once
            os.makedirs(folder, exist_ok=True)
        except FileExistsError:  # left by a killed run with the same process id: next name
            pass
    else:
        raise FileExistsError(f"no free temporary name in {folder}")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def current_bytes(path: Path | str) -> bytes | None:
    """What a file holds now, or None when it cannot be read (missing, a folder, …): outputs
    are rewritten only when their bytes change."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def write_stdout(data: str) -> None:
    """Write to stdout as UTF-8; a closed pipe (`| head`) ends the program quietly."""
    try:
        sys.stdout.buffer.write(data.encode("utf-8"))
        sys.stdout.flush()
    except BrokenPipeError:
        quiet_broken_pipe()
    except OSError as exc:  # e.g. a full disk behind `> file`
        error(f"cannot write to standard output: {exc.strerror or exc}")
        raise SystemExit(1) from None


def quiet_broken_pipe() -> None:
    # Point stdout at /dev/null so the interpreter's final flush does not complain.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(0)


def printable(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (kept by Python as surrogates) are shown
    as `\\xe9` escapes, so that a name can always be printed and written to a report."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")


def display(path: Path | str) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


def stat_pair(path: str) -> list[int] | None:
    """A file's [size, mtime_ns], or None when it cannot be stat'ed (the state compares these)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]
