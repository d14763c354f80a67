"""`feed2md feed`: feeds (files, stdin, http(s) addresses, OPML lists) to one Markdown file per
entry, incrementally.

The library parses each feed (converters.feeds) and converts each entry through the same
pipeline as a scraped file (convert_article); this module fetches, names, writes and keeps
the state. The state (`.feed2md-feeds.json` in DIR) records each entry by its key (the
guid, else the link, else a hash of its content) with its file name and the hash of its
output, and each feed's ETag and Last-Modified: a re-run writes only new or changed entries,
an entry whose title changed keeps its file, entries that left the feed are kept (a feed is a
window, not an archive), and an unchanged feed answers 304 and costs nothing.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

from feed2md.converters import ConversionError, Options

from .io import current_bytes, error, printable, write_atomic, write_stdout

STATE_FILE = ".feed2md-feeds.json"
DEFAULT_NAME = "{path}{date:%Y-%m-%d}-{slug}"
MAX_PARALLEL = 8  # fetches at once, overall
PER_HOST = 2  # fetches at once to one host


class Source(NamedTuple):
    given: str  # as the user wrote it: a path, '-', or an address
    label: str  # how messages name it
    folder: str = ""  # the OPML folder that lists it


class Fetched(NamedTuple):
    source: Source
    data: bytes | None  # None: failed, or not modified
    error: str
    not_modified: bool = False
    etag: str = ""
    last_modified: str = ""
    url: str = ""


class FeedSummary:
    def __init__(self) -> None:
        self.feeds = 0
        self.feeds_failed = 0
        self.not_modified = 0
        self.new = 0
        self.changed = 0
        self.unchanged = 0
        self.failed = 0
        self.warnings = 0
        self.images = [0, 0, 0, 0]  # fetched, reused, failed, bytes (--images download)

    def line(self) -> str:
        parts = [f"{self.feeds} feed{'s' if self.feeds != 1 else ''}"]
        if self.not_modified:
            parts.append(f"{self.not_modified} not modified")
        parts += [f"{self.new} new", f"{self.changed} changed", f"{self.unchanged} unchanged",
                  f"{self.failed} failed"]
        if self.feeds_failed:
            parts.append(f"{self.feeds_failed} feed{'s' if self.feeds_failed != 1 else ''} failed")
        parts.append(f"{self.warnings} warning{'s' if self.warnings != 1 else ''}")
        line = "feed2md: " + ", ".join(parts)
        if any(self.images):
            fetched, reused, failed, size = self.images
            line += f"\nfeed2md: images: {fetched} fetched, {reused} reused, {failed} failed, {size / 2**20:.1f} MiB"
        return line


def entry_key(article) -> str:
    """An entry's identity across runs: its guid, else its link, else a hash of its content."""
    from .outdir import digest

    meta = article.metadata
    for key in ("id", "link"):
        if isinstance(meta.get(key), str) and meta[key].strip():
            return f"{key}:{meta[key].strip()}"
    return "hash:" + digest(f"{meta.get('title', '')}\n{article.body}".encode("utf-8", "surrogatepass"))


def load_state(out: Path, key: str) -> dict:
    path = out / STATE_FILE
    try:
        data = json.loads(path.read_text("utf-8"))
        if isinstance(data, dict) and isinstance(data.get("entries"), dict) and isinstance(data.get("feeds"), dict):
            if data.get("key") != key:  # other options: names are kept, outputs are compared anew
                data["feeds"] = {}
            return data
        error(f"warning: {path}: not a feed2md state; discarded")
    except FileNotFoundError:
        pass
    except (OSError, ValueError, RecursionError) as exc:
        error(f"warning: {path}: unreadable ({type(exc).__name__}); discarded, every entry is compared anew")
    return {"entries": {}, "feeds": {}}


def fetch_all(sources: list[Source], state_feeds: dict, read_stdin: Callable[[], bytes]) -> list[Fetched]:
    """Every source's bytes, in the given order; addresses fetched in parallel (bounded overall
    and per host), with the ETag and Last-Modified of the last run."""
    from .http import is_url

    results: dict[int, Fetched] = {}
    urls = [(i, s) for i, s in enumerate(sources) if is_url(s.given)]
    for i, source in enumerate(sources):
        if is_url(source.given):
            continue
        try:
            data = read_stdin() if source.given == "-" else Path(source.given).read_bytes()
            results[i] = Fetched(source, data, "")
        except OSError as exc:
            results[i] = Fetched(source, None, f"cannot read: {exc.strerror or exc}")
    if urls:
        import threading
        from urllib.parse import urlsplit

        from .http import Client, FetchError

        client = Client()
        hosts: dict[str, threading.Semaphore] = {}
        lock = threading.Lock()

        def one(item: tuple[int, Source]) -> tuple[int, Fetched]:
            i, source = item
            host = (urlsplit(source.given).hostname or "").lower()
            with lock:
                gate = hosts.setdefault(host, threading.Semaphore(PER_HOST))
            known = state_feeds.get(source.given) or {}
            with gate:
                try:
                    got = client.get(source.given, known.get("etag", ""), known.get("last_modified", ""))
                except FetchError as exc:
                    return i, Fetched(source, None, str(exc))
            if got.status == 304:
                return i, Fetched(source, None, "", True, got.etag, got.last_modified, got.url)
            return i, Fetched(source, got.data, "", False, got.etag, got.last_modified, got.url)

        try:
            with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(urls))) as pool:
                for i, fetched in pool.map(one, urls):
                    results[i] = fetched
        finally:
            client.close()
    return [results[i] for i in range(len(sources))]


_options: Options | None = None


class Job(NamedTuple):
    """One entry to convert and, in a worker, to write (as batch writes in its workers)."""

    article: Any
    path: str  # where its file goes ("" when nothing is written: --format jsonl without -o)
    check: bool
    payload: bool  # send back the metadata and body (for --format jsonl)
    images: tuple[str, bool] | None = None  # --images download: (output folder, allow private addresses)


class Done(NamedTuple):
    status: str  # new | changed | unchanged | failed
    error: str
    warnings: list
    digest: str
    payload: dict | None
    images: tuple[int, int, int, int] = (0, 0, 0, 0)  # fetched, reused, failed, bytes


_downloader = None  # one per process (--images download)


def _init_worker(options: Options) -> None:
    global _options
    _options = options
    from .batch import prepare_worker

    prepare_worker()


def _process(job: Job) -> Done:
    """Convert one entry and write its file when its bytes change (never under --check)."""
    from feed2md.converters import convert_article

    from .outdir import digest

    try:
        result = convert_article(job.article, _options)
    except ConversionError as exc:
        return Done("failed", str(exc), [], "", None)
    text, warnings, counts = result.text, list(result.report.warnings), (0, 0, 0, 0)
    if job.images is not None and job.path and not job.check:
        global _downloader
        from .images import Downloader, localise_conversion

        if _downloader is None:
            _downloader = Downloader(Path(job.images[0]), job.images[1])
        text, _, stats, failures = localise_conversion(result, Path(job.path), _options.target if _options else "gfm",
                                                       _downloader)
        warnings += failures
        counts = (stats.fetched, stats.reused, stats.failed, stats.bytes)
    data = text.encode("utf-8")
    payload = {"metadata": result.metadata, "body": result.body} if job.payload else None
    if not job.path:
        return Done("new", "", warnings, digest(data), payload)
    old = current_bytes(job.path)
    status = "unchanged" if old == data else "new" if old is None else "changed"
    if status != "unchanged" and not job.check:
        try:
            write_atomic(job.path, data)
        except OSError as exc:
            return Done("failed", f"cannot write: {exc.strerror or exc}", warnings, "", payload)
    return Done(status, "", warnings, digest(data), payload, counts)


def processed(jobs_list: list[Job], options: Options, jobs: int):
    """Each job's outcome, in feed order; a long feed is converted and written by `jobs` worker
    processes, as batch does with files (writing files is half the cost of a short entry)."""
    global _options
    if jobs <= 1 or len(jobs_list) < 32:
        _options = options
        yield from map(_process, jobs_list)
        return
    import multiprocessing

    context = multiprocessing.get_context("fork") if hasattr(os, "fork") else multiprocessing.get_context()
    with context.Pool(min(jobs, len(jobs_list) // 16), initializer=_init_worker, initargs=(options,)) as pool:
        yield from pool.imap(_process, jobs_list, chunksize=8)


class Settings(NamedTuple):
    """How one `feed2md feed` run converts and writes (what the command line asked)."""

    out: Path | None  # None: --format jsonl to stdout only
    options: Options
    name_template: str
    check: bool
    as_jsonl: bool
    verbose: bool
    jobs: int
    images: tuple[str, bool] | None  # --images download: (output folder, allow private addresses)


def run_feeds(
    sources: list[Source], out: Path | None, options: Options, *, name_template: str, check: bool, as_jsonl: bool,
    quiet: bool, verbose: bool, state_key: str, read_stdin: Callable[[], bytes], jobs: int = 1,
    images: tuple[str, bool] | None = None,
) -> FeedSummary:
    summary = FeedSummary()
    state = load_state(out, state_key) if out is not None else {"entries": {}, "feeds": {}}
    settings = Settings(out, options, name_template, check, as_jsonl, verbose, jobs, images)

    def warn(where: str, message: str) -> None:
        summary.warnings += 1
        if not quiet:
            error(f"{where}: warning: {message}")

    progress = _Progress(len(sources)) if not quiet and sys.stderr.isatty() else None
    try:
        _run(sources, settings, read_stdin, summary, state, warn, progress)
    finally:
        if progress is not None:
            progress.stop()
    if out is not None and not check:
        state["key"] = state_key
        payload = json.dumps(state, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
        try:
            write_atomic(out / STATE_FILE, payload.encode("ascii"))
        except OSError as exc:
            error(f"{out / STATE_FILE}: cannot save the state: {exc.strerror or exc}")
    return summary


class _Progress:
    """A progress bar on a terminal: feeds read, and the entries of the feed being converted."""

    def __init__(self, feeds: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[images]}"), TextColumn("ETA"), TimeRemainingColumn(),
                            console=Console(stderr=True, no_color="NO_COLOR" in os.environ), transient=True,
                            refresh_per_second=10)
        self.bar.start()
        self.feeds = self.bar.add_task("feeds", total=feeds, images="") if feeds > 1 else None
        self.entries = None
        self.images = [0, 0]  # pictures stored, failed (--images download)

    def feed_started(self, label: str, entries: int) -> None:
        if self.entries is not None:
            self.bar.remove_task(self.entries)
        self.entries = self.bar.add_task(f"entries of {label[:40]}", total=entries, images="") if entries > 20 else None

    def entry_done(self, images: tuple[int, int, int, int] = (0, 0, 0, 0)) -> None:
        self.images[0] += images[0] + images[1]
        self.images[1] += images[2]
        shown = (f"{self.images[0]} images" + (f" ({self.images[1]} failed)" if self.images[1] else "")) if any(self.images) else ""
        if self.entries is not None:
            self.bar.update(self.entries, advance=1, images=shown)

    def feed_done(self) -> None:
        if self.feeds is not None:
            self.bar.advance(self.feeds)

    def stop(self) -> None:
        self.bar.stop()


def _run(sources: list[Source], settings: Settings, read_stdin: Callable[[], bytes], summary: FeedSummary, state: dict,
         warn: Callable[[str, str], None], progress: _Progress | None) -> None:
    """Every source, in order: fetched, parsed, its entries named (in feed order), converted
    and written; `summary` and `state` are updated as it goes."""
    from feed2md.converters.feeds import parse_feed
    from feed2md.converters.metadata import normalise
    from feed2md.converters.targets import output_name, slug

    from .outdir import digest

    out, options, name_template, check, as_jsonl, verbose, jobs, images = settings
    entries: dict[str, dict] = state["entries"]
    taken = {str(e.get("name", "")).lower() for e in entries.values() if isinstance(e, dict)}
    seen_keys: set[str] = set()
    several = len(sources) > 1

    for fetched in fetch_all(sources, state.get("feeds", {}), read_stdin):
        if progress is not None:
            progress.feed_done()
        label = fetched.source.label
        summary.feeds += 1
        if fetched.not_modified:
            summary.not_modified += 1
            if verbose:
                error(f"{label}: not modified since the last run")
            continue
        if fetched.data is None:
            summary.feeds_failed += 1
            error(f"{label}: {fetched.error}")
            continue
        try:
            # The feed's address is recorded only when it was fetched: a file's path says nothing
            # about the feed, and the same feed read from a file or a pipe gives the same entries.
            feed = parse_feed(fetched.data, fetched.url)
        except ConversionError as exc:
            summary.feeds_failed += 1
            error(f"{label}: {exc}")
            continue
        for warning in feed.warnings:
            warn(label, warning)
        if progress is not None:
            progress.feed_started(label, len(feed.articles))
        folder = (slug(feed.title) + "/") if several and feed.title else (slug(label) + "/" if several else "")
        # First the keys and names, in feed order (deterministic), then the work.
        planned: list[tuple[str, str, str]] = []  # (key, name, where)
        jobs_list: list[Job] = []
        for number, article in enumerate(feed.articles, 1):
            key = entry_key(article)
            if key in seen_keys:  # a guid the feed repeats: told apart by link, then by content
                key = f"{key}|{article.metadata.get('link') or digest(article.body.encode('utf-8', 'surrogatepass'))}"
                if key in seen_keys:
                    key = f"{key}|{number}"
            seen_keys.add(key)
            where = f"{label}: entry {number}" + (f" ({printable(str(article.name))[:80]})" if article.name else "")
            record = entries.get(key) if isinstance(entries.get(key), dict) else None
            if record is not None and record.get("name"):
                name = record["name"]  # an entry keeps its file, whatever its title becomes
            else:
                meta = normalise(dict(article.metadata), [], [])
                wanted = output_name(name_template, folder + digest(key.encode())[:12], meta, feed=feed.title,
                                     listed_in=fetched.source.folder) + ".md"
                name, n = wanted, 1
                while name.lower() in taken:
                    n += 1
                    name = f"{wanted[:-3]}-{n}.md"
                taken.add(name.lower())
            planned.append((key, name, where))
            jobs_list.append(Job(article, str(out / name) if out is not None else "", check, as_jsonl, images))
        for (key, name, where), done in zip(planned, processed(jobs_list, options, jobs)):
            if progress is not None:
                progress.entry_done(done.images)
            if done.status == "failed":
                summary.failed += 1
                error(f"{where}: {done.error}")
                continue
            summary.images = [a + b for a, b in zip(summary.images, done.images)]
            for warning in done.warnings:
                if warning.startswith("image kept remote: "):
                    warn(where, warning)
                elif verbose:
                    warn(where, warning)
                else:
                    summary.warnings += 1
            if as_jsonl:
                write_stdout(json.dumps({"feed": {"title": feed.title, "url": feed.url or feed.link}, "key": key,
                                         "name": name, **(done.payload or {}), "warnings": done.warnings},
                                        ensure_ascii=False, default=str) + "\n")
            setattr(summary, done.status, getattr(summary, done.status) + 1)
            if done.status != "unchanged" and out is not None:
                if check:
                    error(f"{where}: {'new entry' if done.status == 'new' else 'changed'}: {name}")
                elif verbose:
                    error(f"{where}: {'written' if done.status == 'new' else 'updated'}: {name}")
            entries[key] = {"name": name, "hash": done.digest}
        if fetched.source.given != "-" and (fetched.etag or fetched.last_modified):
            state.setdefault("feeds", {})[fetched.source.given] = {"etag": fetched.etag, "last_modified": fetched.last_modified}


def sources_of(given: list[str], opml: list[Path], read_opml: Callable[[Path], bytes]) -> list[Source]:
    """The feeds to read: those given, then those every OPML list names (in order, once each)."""
    from feed2md.converters.feeds import parse_opml

    sources = [Source(g, "<stdin>" if g == "-" else g) for g in given]
    for path in opml:
        try:
            subscriptions = parse_opml(read_opml(path))
        except OSError as exc:
            raise ConversionError(f"{path}: cannot read: {exc.strerror or exc}") from None
        except ConversionError as exc:
            raise ConversionError(f"{path}: {exc}") from None
        for sub in subscriptions:
            sources.append(Source(sub.url, sub.url, sub.folder))
    unique: dict[str, Source] = {}
    for source in sources:
        unique.setdefault(source.given, source)
    return list(unique.values())


def stdin_reader() -> bytes:
    return sys.stdin.buffer.read() if sys.stdin is not None else b""
