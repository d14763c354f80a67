"""Fetching over HTTP(S) for the command line (feeds now; images share it): httpx, loaded
only when an address is given, with a timeout, a bound on redirects, a size cap, gzip, a
User-Agent that names feed2md, conditional requests (ETag, Last-Modified), and one clear
line per kind of failure (DNS, TLS, connection, timeout, HTTP status, too large).
"""

from __future__ import annotations

import os
from typing import NamedTuple

TIMEOUT = float(os.environ.get("FEED2MD_HTTP_TIMEOUT") or 20)  # seconds, to connect and per read
MAX_REDIRECTS = 5
MAX_BYTES = 64 * 1024 * 1024


class FetchError(Exception):
    """A fetch that failed: the message is one line naming the cause."""


class Response(NamedTuple):
    status: int  # 200, or 304 when the copy held is current
    data: bytes
    etag: str
    last_modified: str
    url: str  # after redirects


def user_agent() -> str:
    from feed2md.converters import __version__

    return f"feed2md/{__version__} (+https://pypi.org/project/feed2md/)"


def is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


class Client:
    """One HTTP client for a run (connections are reused across feeds)."""

    def __init__(self, timeout: float = TIMEOUT, max_bytes: int = MAX_BYTES) -> None:
        import httpx

        self._httpx = httpx
        self.max_bytes = max_bytes
        self.client = httpx.Client(
            timeout=timeout, follow_redirects=True, max_redirects=MAX_REDIRECTS,
            headers={"User-Agent": user_agent(), "Accept": "application/rss+xml, application/atom+xml, "
                     "application/feed+json, application/json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"},
        )

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, etag: str = "", last_modified: str = "") -> Response:
        httpx = self._httpx
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            with self.client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304:
                    return Response(304, b"", etag, last_modified, str(response.url))
                if response.status_code >= 400:
                    raise FetchError(f"HTTP {response.status_code} {response.reason_phrase}".strip())
                return Response(response.status_code, read_capped(response, self.max_bytes), response.headers.get("etag", ""),
                                response.headers.get("last-modified", ""), str(response.url))
        except FetchError:
            raise
        except httpx.TooManyRedirects:
            raise FetchError(f"more than {MAX_REDIRECTS} redirects") from None
        except httpx.TimeoutException:
            raise FetchError(f"timed out (no answer within {self.client.timeout.read or TIMEOUT:.0f} s)") from None
        except httpx.ConnectError as exc:
            raise FetchError(connect_error(exc)) from None
        except httpx.UnsupportedProtocol:
            raise FetchError("not an http or https address") from None
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            raise FetchError(f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]) from None


def read_capped(response, max_bytes: int, error: type[Exception] = FetchError) -> bytes:
    """A streamed answer's body, refused (`error`) as soon as it is known to pass `max_bytes`:
    from its Content-Length before reading, else while reading."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise error(f"too large: {int(declared) / 2**20:.1f} MiB, over the {max_bytes >> 20} MiB limit")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise error(f"too large: over the {max_bytes >> 20} MiB limit")
        chunks.append(chunk)
    return b"".join(chunks)


def connect_error(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    lowered = text.lower()
    if "name or service not known" in lowered or "nodename nor servname" in lowered or "getaddrinfo" in lowered \
            or "temporary failure in name resolution" in lowered or "no address associated" in lowered:
        return f"DNS: the host name does not resolve ({text})"[:300]
    if "ssl" in lowered or "certificate" in lowered or "tls" in lowered:
        return f"TLS: {text}"[:300]
    return f"cannot connect: {text}"[:300]
