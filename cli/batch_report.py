"""What `feed2md batch` tells the user: progress bar, one line per problem, JSONL report,
summary. Everything goes to stderr (or the report file); stdout stays empty."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .batch import Outcome, Summary
from .io import error, printable


class BatchReporter:
    def __init__(self, report_path: Path | None, quiet: bool, check: bool) -> None:
        self.quiet = quiet
        self.check = check
        self.verify_losses = 0
        self.report = open(report_path, "w", encoding="utf-8") if report_path else None  # noqa: SIM115
        self.progress = None
        self.task_id = None
        if not quiet and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            console = Console(stderr=True, no_color="NO_COLOR" in os.environ)
            self.progress = Progress(
                TextColumn("converting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                console=console, transient=True,
            )

    def start(self, total: int) -> None:
        if self.progress is not None:
            self.progress.start()
            self.task_id = self.progress.add_task("convert", total=total)

    def outcome(self, outcome: Outcome) -> None:
        path = printable(outcome.path)
        if outcome.status == "failed":
            error(f"{path}: {outcome.error}")
        elif outcome.status == "would-change":
            error(f"{path}: {outcome.error}: {printable(outcome.output)}")
        elif outcome.status == "skipped":
            error(f"{path}: warning: {outcome.warnings[0]}")
        for warning in outcome.warnings:
            if warning.startswith("verify: "):
                self.verify_losses += 1
                error(f"{path}: {warning}")
        if self.report is not None:
            row = {"path": path, "output": printable(outcome.output), "status": outcome.status,
                   "warnings": outcome.warnings, "error": outcome.error, "encoding": outcome.encoding}
            self.report.write(json.dumps(row, ensure_ascii=False) + "\n")
        if self.progress is not None and self.task_id is not None and outcome.status != "skipped":
            self.progress.advance(self.task_id)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
        if self.report is not None:
            self.report.close()

    def summary(self, s: Summary) -> None:
        for notice in s.notices:
            error(f"warning: {notice}")
        for host, (param, links, files) in sorted(s.wrappers.items(), key=lambda kv: -kv[1][1]):
            error(f"likely redirect wrapper: {host} ({links} links in {files} files carry an address in `{param}=`); "
                  f"add {{ host = \"{host}\", param = \"{param}\" }} to the redirects of a --rules file")
        if self.quiet:
            return
        rate = s.total / s.elapsed if s.elapsed > 0 else 0.0
        parts = [f"{s.converted} converted", f"{s.unchanged} unchanged"]
        if self.check:
            parts.append(f"{s.would_change} would change")
        parts += [f"{s.failed} failed", f"{s.warnings} warnings", f"{s.elapsed:.2f}s", f"{rate:.0f} files/s"]
        sys.stderr.write("feed2md: " + ", ".join(parts) + "\n")
