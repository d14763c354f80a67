"""What `feed2md batch` tells the user: progress bar, one line per problem, JSONL report,
diffs, summary. People's messages go to stderr; stdout carries data only (--diff, or
`--report -`), so it can be piped.

The report and the diffs are written in path order once the run ends, whatever order the
workers finished in: two runs' reports can be compared with `diff`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .batch import Outcome, Summary
from .io import error, printable, write_stdout


class BatchReporter:
    def __init__(self, report_path: Path | None, quiet: bool, check: bool, verbose: bool = False) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.check = check
        self.verify_losses = 0
        self.rows: list[tuple[str, str]] = []  # (path, JSON line)
        self.diffs: list[tuple[str, str]] = []  # (path, unified diff)
        self.report_path = report_path
        # Opened now, so that an unwritable report fails before any work is done.
        self.report = None
        if report_path is not None and str(report_path) != "-":
            self.report = open(report_path, "w", encoding="utf-8")  # noqa: SIM115
        self.progress = None
        self.task_id = None
        self.images = [0, 0]  # pictures stored, failed (--images download), for the progress bar
        if not quiet and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                                       TimeRemainingColumn)

            console = Console(stderr=True, no_color="NO_COLOR" in os.environ)
            self.progress = Progress(
                TextColumn("converting"), BarColumn(), TaskProgressColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[images]}"), TextColumn("ETA"), TimeRemainingColumn(),
                console=console, transient=True, refresh_per_second=10, speed_estimate_period=5,
            )

    def start(self, total: int) -> None:
        if self.progress is not None:
            self.progress.start()
            self.task_id = self.progress.add_task("convert", total=total, rate="", images="")

    def outcome(self, outcome: Outcome) -> None:
        path = printable(outcome.path)
        if outcome.status == "failed":
            error(f"{path}: {outcome.error}")
        elif outcome.status == "would-change":
            error(f"{path}: {outcome.error}: {printable(outcome.output)}")
        elif outcome.status in ("stale", "pruned"):
            error(f"{printable(outcome.output)}: {outcome.error} ({path})")
        elif outcome.status == "skipped":
            if not self.quiet:
                error(f"{path}: warning: {outcome.warnings[0]}")
        elif outcome.status == "converted" and self.verbose:
            error(f"{path}: converted -> {printable(outcome.output)}")
        if outcome.status != "skipped":
            for warning in outcome.warnings:
                if warning.startswith("verify: "):
                    self.verify_losses += 1
                    error(f"{path}: {warning}")
                elif warning.startswith("image kept remote: "):
                    error(f"{path}: {warning}")
                elif self.verbose:
                    error(f"{path}: warning: {warning}")
        if outcome.diff:
            self.diffs.append((outcome.path, outcome.diff))
        if self.report_path is not None:
            row = {"path": path, "output": printable(outcome.output), "status": outcome.status,
                   "warnings": outcome.warnings, "error": outcome.error, "encoding": outcome.encoding}
            self.rows.append((outcome.path, json.dumps(row, ensure_ascii=False) + "\n"))
        if self.progress is not None and self.task_id is not None and outcome.status in ("converted", "unchanged", "failed", "would-change"):
            task = self.progress.tasks[0]
            speed = task.finished_speed or task.speed
            self.images[0] += outcome.images[0] + outcome.images[1]
            self.images[1] += outcome.images[2]
            images = f"{self.images[0]} images" + (f" ({self.images[1]} failed)" if self.images[1] else "") if any(self.images) else ""
            self.progress.update(self.task_id, advance=1, rate=f"{speed:.0f} files/s" if speed else "", images=images)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
        self.diffs.sort()
        for _, diff in self.diffs:
            write_stdout(diff)
        if self.report_path is not None:
            self.rows.sort()
            text = "".join(line for _, line in self.rows)
            if self.report is not None:
                self.report.write(text)
                self.report.close()
            else:
                write_stdout(text)

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
        if s.stale:
            parts.append(f"{s.stale} stale")
        if s.pruned:
            parts.append(f"{s.pruned} pruned")
        parts += [f"{s.failed} failed", f"{s.warnings} warning{'s' if s.warnings != 1 else ''}", f"{s.elapsed:.2f}s",
                  f"{rate:.0f} files/s"]
        sys.stderr.write("feed2md: " + ", ".join(parts) + "\n")
        if any(s.images):
            fetched, reused, failed, size = s.images
            sys.stderr.write(f"feed2md: images: {fetched} fetched, {reused} reused, {failed} failed, {size / 2**20:.1f} MiB\n")
