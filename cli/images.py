"""`--images download`: every picture of an article fetched and stored beside its Markdown,
the Markdown rewritten to the local copies (converters.assets finds and rewrites; this
module fetches and stores).

Safety: only http and https; addresses that resolve to loopback, private, link-local,
multicast or reserved networks (the cloud metadata address 169.254.169.254 among them) are
refused, before each request and after each redirect, unless `allow_private`. Each picture
is capped in size, typed by its bytes (an HTML page is no image), named by its content hash,
and written atomically. Requests have a timeout and are retried with back-off on
connection failures and 5xx answers; concurrency is bounded overall and per host.

Layout, per target: `NAME.assets/HASH.ext` beside `NAME.md` by default (gfm, Jekyll);
Obsidian's `attachments/` folder beside the notes; Hugo's page bundle `NAME/index.md` + `NAME/HASH.ext`; Hexo's post_asset_folder
`NAME/HASH.ext` beside `NAME.md`, referenced as `HASH.ext` (Hexo serves the folder at the post's
address). A picture shared by articles is fetched once per run and stored once: the other
copies are hard links. `.feed2md-images/` in the output folder remembers, per address, what
was stored, so a re-run fetches nothing it already has.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

from .http import connect_error, read_capped, user_agent
from .io import write_atomic

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT = float(os.environ.get("FEED2MD_HTTP_TIMEOUT") or 20)  # seconds; the variable is for tests
RETRIES = 2
PARALLEL = 8
PER_HOST = 2
RECORDS = ".feed2md-images"


class ImageError(Exception):
    """Why one picture was not made local (one line)."""


class Stats:
    def __init__(self) -> None:
        self.fetched = 0
        self.reused = 0
        self.failed = 0
        self.bytes = 0

    def add(self, other: "Stats") -> None:
        for key in ("fetched", "reused", "failed", "bytes"):
            setattr(self, key, getattr(self, key) + getattr(other, key))

    def line(self) -> str:
        return (f"images: {self.fetched} fetched, {self.reused} reused, {self.failed} failed, "
                f"{self.bytes / 2**20:.1f} MiB")


class Stored(NamedTuple):
    name: str  # HASH.ext
    path: str  # where the bytes are (absolute)


def is_private(ip: str) -> bool:
    address = ipaddress.ip_address(ip.split("%")[0])
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    return (address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified)


def refuse_address(host: str, allow_private: bool) -> None:
    """Raise ImageError when `host` resolves to an address a hostile article must not reach."""
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise ImageError(f"DNS: {host} does not resolve ({exc.strerror})") from None
    for info in infos:
        if is_private(info[4][0]):
            raise ImageError(f"refused: {host} is a private or local address ({info[4][0]}); "
                             "--allow-private-addresses allows it")


def refuse_peer(response, host: str, allow_private: bool) -> None:
    """The address the connection really reached, checked too: a name that resolved to a
    public address for refuse_address and to a private one for the request (DNS rebinding)
    is refused before anything is read."""
    if allow_private:
        return
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if peer and is_private(str(peer[0])):
        raise ImageError(f"refused: {host} answered from a private or local address ({peer[0]})")


class Downloader:
    """Fetches pictures for one run (thread-safe), with one store per output folder."""

    def __init__(self, out: Path, allow_private: bool = False, max_bytes: int = MAX_IMAGE_BYTES) -> None:
        import httpx

        self.httpx = httpx
        self.out = Path(out)
        self.allow_private = allow_private
        self.max_bytes = max_bytes
        self.client = httpx.Client(timeout=TIMEOUT, follow_redirects=False, headers={"User-Agent": user_agent(),
                                   "Accept": "image/avif,image/webp,image/png,image/jpeg,image/gif,image/*;q=0.8"})
        self.overall = threading.Semaphore(PARALLEL)
        self.hosts: dict[str, threading.Semaphore] = {}
        self.lock = threading.Lock()
        self.memo: dict[str, Stored | ImageError] = {}  # this run's answers, by address
        self.by_content: dict[str, Stored] = {}  # this run's stored pictures, by content name
        self.url_locks: dict[str, threading.Lock] = {}

    def close(self) -> None:
        self.client.close()

    # -- the record of earlier runs: one small file per address --------------------------------
    def _record_path(self, url: str) -> Path:
        from feed2md.converters.assets import content_name

        return self.out / RECORDS / content_name(url.encode("utf-8", "surrogatepass"), "json")

    def _recorded(self, url: str) -> Stored | None:
        try:
            record = json.loads(self._record_path(url).read_text("utf-8"))
            if record.get("url") == url and os.path.isfile(record["path"]):
                return Stored(record["name"], record["path"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None

    def _remember(self, url: str, stored: Stored) -> None:
        record = {"url": url, "name": stored.name, "path": stored.path}
        write_atomic(self._record_path(url), json.dumps(record, ensure_ascii=True).encode("ascii"))

    # -- fetching -----------------------------------------------------------------------------
    def get(self, url: str, folder: Path, stats: Stats) -> Stored:
        """The picture at `url` stored in `folder` (fetched, or reused from this run or an
        earlier one). Raises ImageError."""
        with self.lock:
            url_lock = self.url_locks.setdefault(url, threading.Lock())
        with url_lock:
            known = self.memo.get(url) or self._recorded(url)
            if isinstance(known, ImageError):
                self._count(stats, failed=1)
                raise known
            if known is not None:
                self._count(stats, reused=1)
                return self._place(known, folder)
            try:
                data = self._bytes(url)
            except ImageError as exc:
                self.memo[url] = exc
                self._count(stats, failed=1)
                raise
            from feed2md.converters.assets import content_name, sniff

            ext = sniff(data)
            if ext is None:
                error = ImageError("not an image (its bytes are no PNG, JPEG, GIF, WebP, AVIF or BMP)")
                self.memo[url] = error
                self._count(stats, failed=1)
                raise error
            name = content_name(data, ext)
            with self.lock:
                same = self.by_content.get(name)  # the same picture under another address
            if same is not None and os.path.isfile(same.path):
                stored = self._place(same, folder)
            else:
                folder.mkdir(parents=True, exist_ok=True)
                target = folder / name
                if not target.exists():
                    write_atomic(target, data)
                stored = Stored(name, str(target))
                with self.lock:
                    self.by_content.setdefault(name, stored)
            self.memo[url] = stored
            if not url.startswith("data:"):
                self._remember(url, stored)
            self._count(stats, fetched=1, size=len(data))
            return stored

    def _count(self, stats: Stats, fetched: int = 0, reused: int = 0, failed: int = 0, size: int = 0) -> None:
        with self.lock:  # several threads count into one article's stats
            stats.fetched += fetched
            stats.reused += reused
            stats.failed += failed
            stats.bytes += size

    def _place(self, stored: Stored, folder: Path) -> Stored:
        """The stored picture in `folder` too: a hard link (stored once), else a copy."""
        target = folder / stored.name
        if str(target) == stored.path or target.exists():
            return Stored(stored.name, str(target))
        folder.mkdir(parents=True, exist_ok=True)
        try:
            os.link(stored.path, target)
        except OSError:
            write_atomic(target, Path(stored.path).read_bytes())
        return Stored(stored.name, str(target))

    def _bytes(self, url: str) -> bytes:
        if url.startswith("data:"):
            from feed2md.converters.assets import decode_data_uri

            data = decode_data_uri(url)
            if data is None:
                raise ImageError("unreadable data: URI")
            return data
        for hop in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ImageError(f"refused: only http and https addresses are fetched ({url[:80]})")
            refuse_address(parts.hostname, self.allow_private)
            status, location, data = self._request(url, parts.hostname.lower())
            if status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                continue
            return data
        raise ImageError(f"more than {MAX_REDIRECTS} redirects")

    def _request(self, url: str, host: str) -> tuple[int, str, bytes]:
        httpx = self.httpx
        with self.lock:
            gate = self.hosts.setdefault(host, threading.Semaphore(PER_HOST))
        delay = 0.5
        for attempt in range(RETRIES + 1):
            with self.overall, gate:
                try:
                    with self.client.stream("GET", url) as response:
                        refuse_peer(response, host, self.allow_private)
                        status = response.status_code
                        if status in (301, 302, 303, 307, 308):
                            return status, response.headers.get("location", ""), b""
                        if status >= 500 and attempt < RETRIES:
                            raise _Retry(f"HTTP {status}")
                        if status >= 400:
                            raise ImageError(f"HTTP {status} {response.reason_phrase}".strip())
                        return status, "", read_capped(response, self.max_bytes, ImageError)
                except _Retry:
                    pass
                except httpx.TimeoutException:
                    if attempt == RETRIES:
                        raise ImageError(f"timed out (no answer within {TIMEOUT:.0f} s)") from None
                except httpx.ConnectError as exc:
                    why = connect_error(exc)
                    if attempt == RETRIES or why.startswith("DNS"):  # a name that does not resolve stays so
                        raise ImageError(why) from None
                except httpx.HTTPError as exc:
                    raise ImageError(f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}") from None
            time.sleep(delay)
            delay *= 2
        raise ImageError("no answer")


class _Retry(Exception):
    pass


def layout(output: Path, target: str) -> tuple[Path, Path, str]:
    """Where an article's Markdown and pictures go, and how the Markdown names a picture's
    folder: (markdown path, picture folder, prefix of the relative reference)."""
    stem = output.name[:-3] if output.name.endswith(".md") else output.name
    if target == "hugo":  # a page bundle (batch names its outputs NAME/index.md already)
        bundle = output.parent if output.name == "index.md" else output.parent / stem
        return bundle / "index.md", bundle, ""
    if target == "hexo":  # post_asset_folder: the folder is served at the post's own address
        return output, output.parent / stem, ""
    if target == "obsidian":  # the vault's attachments folder beside the notes
        return output, output.parent / "attachments", "attachments/"
    folder = output.parent / f"{stem}.assets"
    return output, folder, f"{stem}.assets/"


def localise_conversion(result, output: Path, target: str, downloader: Downloader,
                        workers: int = 4) -> tuple[str, Path, Stats, list[str]]:
    """A conversion's file with its pictures made local: (its text, where to write it, stats,
    one line per picture that stayed remote). `result` is a converters Conversion: its
    metadata and body are used as they are, never read back from the text."""
    from concurrent.futures import ThreadPoolExecutor

    from feed2md.converters.assets import find_images, localise
    from feed2md.converters.pipeline import assemble

    markdown_path, folder, prefix = layout(output, target)
    refs = find_images(result.body, result.metadata)
    stats = Stats()
    failures: list[str] = []
    local: dict[str, str] = {}
    if refs:
        def one(ref):
            try:
                return ref, downloader.get(ref.url, folder, stats), None
            except ImageError as exc:
                return ref, None, str(exc)

        with ThreadPoolExecutor(max_workers=min(workers, len(refs))) as pool:
            for ref, stored, why in pool.map(one, refs):
                if stored is not None:
                    local[ref.url] = prefix + stored.name
                else:
                    shown = ref.url if not ref.url.startswith("data:") else ref.url[:40] + "…"
                    failures.append(f"image kept remote: {shown}: {why}")
    if not local:
        return result.text, markdown_path, stats, failures
    body, meta = localise(result.body, result.metadata, local)
    return assemble(meta, body), markdown_path, stats, failures
