"""The `feed2md` process: runs the Typer app (main.py) with quiet pipes, Ctrl-C and SIGTERM
as exit codes 130 and 143, one-line usage errors off a terminal, one line for feed2md's own
bugs, and a quick exit without the interpreter's teardown.
"""

from __future__ import annotations

import os
import sys

import typer

from .io import error


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM, raised past Click's own handler (which would exit 1) so `finally`
    blocks run: temporaries swept, worker pools ended, the state saved."""

    signum = 2


def _on_signal(signum, frame) -> None:
    Interrupted.signum = signum
    raise Interrupted


def run() -> None:
    """Console-script entry point: Typer, plus quiet pipes, Ctrl-C as exit 130, and a quick exit."""
    if os.environ.get("FEED2MD_DEBUG"):  # tracebacks, and a normal exit (profilers, coverage)
        _run_app()
        return
    try:
        _run_app()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    _exit_without_teardown(code)


def _run_app() -> None:
    import signal

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    if "_FEED2MD_COMPLETE" in os.environ:  # a shell asking for completions (see --show-completion)
        from typer._completion_classes import completion_init

        completion_init()
    try:
        from .main import app

        code = app(prog_name="feed2md", standalone_mode=False)
    except Interrupted:
        sys.stderr.write("\nfeed2md: interrupted\n" if Interrupted.signum == signal.SIGINT else "feed2md: terminated\n")
        raise SystemExit(128 + Interrupted.signum) from None
    except BrokenPipeError:
        from .io import quiet_broken_pipe

        quiet_broken_pipe()
    except typer._click.exceptions.ClickException as exc:
        _usage_error(exc)
    except typer.Abort:
        sys.stderr.write("\nfeed2md: interrupted\n")
        raise SystemExit(130) from None
    except Exception as exc:  # a bug: still one line, never a traceback (FEED2MD_DEBUG=1 shows it)
        if os.environ.get("FEED2MD_DEBUG"):
            raise
        error(f"internal error ({type(exc).__name__}: {exc}); please report it")
        raise SystemExit(1) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def _usage_error(exc) -> None:
    """A usage error: Typer's box on a terminal; elsewhere one line (logs, pipes, scripts)."""
    if isinstance(exc, typer._click.exceptions.NoArgsIsHelpError):  # a bare `feed2md`: the help
        exc.show()
    elif sys.stderr.isatty():
        from typer import rich_utils

        rich_utils.rich_format_error(exc)
    else:
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "feed2md"
        hint = f" (see '{where} --help')" if ctx is not None else ""
        error(f"{' '.join(exc.format_message().split())}{hint}")
    raise SystemExit(exc.exit_code)


def _exit_without_teardown(code: object) -> None:
    """End the process with `code` as SystemExit would, minus the interpreter's teardown.

    Tearing down every loaded module takes ~10 ms, more than converting an article, and
    `feed2md convert FILE` is interactive. Nothing is left to release by then: files are
    closed and worker pools joined where they were opened, so only the standard streams
    need flushing. Exit handlers do not run either: tools that rely on them (coverage,
    profilers) want FEED2MD_DEBUG=1.
    """
    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass  # the reader has gone (`| head`): not an error
    except OSError as exc:
        error(f"cannot write to standard output: {exc.strerror or exc}")
        code = code or 1
    try:
        sys.stderr.flush()
    except OSError:
        pass
    os._exit(code)
