"""Small I/O helpers shared by the commands: atomic writes, messages, pipes."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

TEMP_PREFIX = ".feed2md-"
TEMP_SUFFIX = ".tmp"


def error(message: str) -> None:
    """One line on stderr, prefixed with the program name."""
    sys.stderr.write(f"feed2md: {message}\n")
    sys.stderr.flush()


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename, so the
    final path only ever holds a complete file. On failure nothing is left behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
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


def write_stdout(data: str) -> None:
    """Write to stdout as UTF-8; a closed pipe (`| head`) ends the program quietly."""
    try:
        sys.stdout.buffer.write(data.encode("utf-8"))
        sys.stdout.flush()
    except BrokenPipeError:
        quiet_broken_pipe()


def quiet_broken_pipe() -> None:
    # Point stdout at /dev/null so the interpreter's final flush does not complain.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(0)


def display(path: Path | str) -> str:
    return "<stdin>" if str(path) == "-" else str(path)
