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

    def line(self) -> str:
        parts = [f"{self.feeds} feed{'s' if self.feeds != 1 else ''}"]
        if self.not_modified:
            parts.append(f"{self.not_modified} not modified")
        parts += [f"{self.new} new", f"{self.changed} changed", f"{self.unchanged} unchanged",
                  f"{self.failed} failed"]
        if self.feeds_failed:
            parts.append(f"{self.feeds_failed} feed{'s' if self.feeds_failed != 1 else ''} failed")
        parts.append(f"{self.warnings} warning{'s' if self.warnings != 1 else ''}")
        return "feed2md: " + ", ".join(parts)


def entry_key(article) -> str:
    """An entry's identity across runs: its guid, else its link, else a hash of its content."""
    from .batch import digest

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


def run_feeds(
    sources: list[Source], out: Path | None, options: Options, *, name_template: str, check: bool, as_jsonl: bool,
    quiet: bool, verbose: bool, state_key: str, read_stdin: Callable[[], bytes],
) -> FeedSummary:
    from feed2md.converters import convert_article
    from feed2md.converters.feeds import parse_feed
    from feed2md.converters.targets import output_name, slug

    from .batch import digest

    summary = FeedSummary()
    state = load_state(out, state_key) if out is not None else {"entries": {}, "feeds": {}}
    entries: dict[str, dict] = state["entries"]
    taken = {str(e.get("name", "")).lower() for e in entries.values() if isinstance(e, dict)}
    seen_keys: set[str] = set()
    several = len(sources) > 1

    def warn(where: str, message: str) -> None:
        summary.warnings += 1
        if not quiet:
            error(f"{where}: warning: {message}")

    for fetched in fetch_all(sources, state.get("feeds", {}), read_stdin):
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
        folder = (slug(feed.title) + "/") if several and feed.title else (slug(label) + "/" if several else "")
        for number, article in enumerate(feed.articles, 1):
            key = entry_key(article)
            if key in seen_keys:  # a guid the feed repeats: told apart by link, then by content
                key = f"{key}|{article.metadata.get('link') or digest(article.body.encode('utf-8', 'surrogatepass'))}"
                if key in seen_keys:
                    key = f"{key}|{number}"
            seen_keys.add(key)
            where = f"{label}: entry {number}" + (f" ({printable(str(article.name))[:80]})" if article.name else "")
            try:
                result = convert_article(article, options)
            except ConversionError as exc:
                summary.failed += 1
                error(f"{where}: {exc}")
                continue
            for warning in result.report.warnings:
                if verbose:
                    warn(where, warning)
                else:
                    summary.warnings += 1
            record = entries.get(key) if isinstance(entries.get(key), dict) else None
            if record is not None and record.get("name"):
                name = record["name"]
            else:
                notes: list[str] = []
                wanted = output_name(name_template, folder + digest(key.encode())[:12], result.metadata, notes) + ".md"
                name, n = wanted, 1
                while name.lower() in taken:
                    n += 1
                    name = f"{wanted[:-3]}-{n}.md"
                taken.add(name.lower())
            data = result.text.encode("utf-8")
            if as_jsonl:
                write_stdout(json.dumps({"feed": {"title": feed.title, "url": feed.url or feed.link}, "key": key,
                                         "name": name, "metadata": result.metadata, "body": result.body,
                                         "warnings": result.report.warnings}, ensure_ascii=False, default=str) + "\n")
            if out is None:
                summary.new += 1
                continue
            target = out / name
            old = current_bytes(target)
            if old == data:
                summary.unchanged += 1
            else:
                if old is None:
                    summary.new += 1
                else:
                    summary.changed += 1
                if check:
                    error(f"{where}: {'new entry' if old is None else 'changed'}: {name}")
                else:
                    try:
                        write_atomic(target, data)
                    except OSError as exc:
                        summary.failed += 1
                        error(f"{name}: cannot write: {exc.strerror or exc}")
                        continue
                    if verbose:
                        error(f"{where}: {'written' if old is None else 'updated'}: {name}")
            entries[key] = {"name": name, "hash": digest(data)}
        if fetched.source.given != "-" and (fetched.etag or fetched.last_modified):
            state.setdefault("feeds", {})[fetched.source.given] = {"etag": fetched.etag, "last_modified": fetched.last_modified}
    if out is not None and not check:
        state["key"] = state_key
        payload = json.dumps(state, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
        try:
            write_atomic(out / STATE_FILE, payload.encode("ascii"))
        except OSError as exc:
            error(f"{out / STATE_FILE}: cannot save the state: {exc.strerror or exc}")
    return summary


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
            sources.append(Source(sub.url, sub.url))
    unique: dict[str, Source] = {}
    for source in sources:
        unique.setdefault(source.given, source)
    return list(unique.values())


def out_is_usable(out: Path) -> str:
    if out.exists() and not out.is_dir():
        return f"{out}: exists and is not a folder"
    return ""


def stdin_reader() -> bytes:
    return sys.stdin.buffer.read() if sys.stdin is not None else b""


def ensure_folder(out: Path) -> None:
    os.makedirs(out, exist_ok=True)
