"""One image URL to one temporary file: redirects, retries, time and size caps, all while streaming."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from urllib3 import BaseHTTPResponse, PoolManager
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util import Timeout

from services.packager.guard import BlockedAddress
from services.packager.hosts import PerHostBound
from services.packager.spool import SPOOL_BYTES, Body, Spool

# Reads of up to this much: a typical image in one or two reads, each a pass through urllib3's Python.
READ_CHUNK = 256 * 1024
DRAIN_MAX = 64 * 1024  # the most of an unused response's body that is drained to keep its connection
REDIRECTS = frozenset({301, 302, 303, 307, 308})
HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) imgjob/0.1",
    "Accept": "image/avif,image/webp,image/png,image/jpeg,image/*;q=0.8,*/*;q=0.5",
    # Compressed transfer would let a small body inflate past the byte cap; images gain nothing from it.
    "Accept-Encoding": "identity",
}


@dataclass(frozen=True)
class Limits:
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 60.0  # per image, redirects, retries and streaming included
    max_redirects: int = 5
    retries: int = 2  # after the first try, on 429 and 5xx
    backoff: float = 0.5  # doubled per retry unless the server says Retry-After
    max_retry_after: float = 5.0
    max_bytes: int = 25 * 1024 * 1024


class FetchFailed(Exception):
    """The URL gave no usable body; `reason` is the short text for the manifest."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Fetched:
    body: Body  # in memory or a temporary file: the caller discards it
    size: int
    sha256: str
    final_url: str


# Asked with the bytes of the image so far (0 before each request): a reason to give it up, or None.
Stop = Callable[[int], str | None]


def human_size(n: int) -> str:
    mib, kib = 1024 * 1024, 1024
    if n >= mib and n % mib == 0:
        return f"{n // mib} MB"
    if n >= kib and n % kib == 0:
        return f"{n // kib} KB"
    return f"{n} bytes"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Fetcher:
    """Thread-safe; one per process, so the per-host bound holds across concurrent jobs too."""

    def __init__(
        self,
        pool: PoolManager,
        limits: Limits,
        per_host: int,
        temp_dir: Path | None = None,
        spool_bytes: int = SPOOL_BYTES,
    ) -> None:
        # urllib3 itself rather than requests: half the CPU per request, and no proxy, .netrc or
        # cookie handling to switch off. Redirects and retries are ours, one hop at a time.
        self._pool = pool
        self._limits = limits
        self._temp_dir = temp_dir  # for bodies over `spool_bytes`; smaller ones stay in memory
        self._spool_bytes = spool_bytes
        self.hosts = PerHostBound(per_host)
        self.sleep: Callable[[float], None] = time.sleep

    def fetch(self, url: str, referer: str | None = None, stop: Stop | None = None) -> Fetched:
        """Download `url` (into memory or a temporary file: the caller discards its body) or raise FetchFailed.

        `stop`, if given, is asked before each request and while the body streams in (with its
        declared and then its received size); a reason it gives ends the download as FetchFailed.
        """
        limits = self._limits
        deadline = time.monotonic() + limits.total_timeout
        hops = attempt = 0
        while True:
            try:
                parts = urlsplit(url)
                host = (parts.hostname or "").lower()
            except ValueError:
                raise FetchFailed("unsupported URL") from None
            if parts.scheme not in ("http", "https"):
                raise FetchFailed("unsupported URL scheme")
            if not host:
                raise FetchFailed("unsupported URL")
            wait = 0.0
            with self.hosts.slot(host):
                _check_stop(stop, 0)  # once more after waiting for the host
                response = self._get(url, referer, deadline)
                status = response.status
                if status in REDIRECTS and response.headers.get("Location"):
                    _discard(response)
                    hops += 1
                    if hops > limits.max_redirects:
                        raise FetchFailed("too many redirects")
                    url = urljoin(url, response.headers["Location"])
                    continue
                if (status == 429 or status >= 500) and attempt < limits.retries:
                    hinted = _retry_after(response.headers.get("Retry-After"))
                    wait = min(limits.max_retry_after, hinted) if hinted is not None else limits.backoff * 2**attempt
                    _discard(response)
                    attempt += 1
                elif status not in (200, 203):
                    _discard(response)
                    raise FetchFailed(f"HTTP {status}")
                else:
                    return self._save(response, url, deadline, stop)
            # Sleep outside the host slot so a backing-off URL does not hold up the host's others.
            if time.monotonic() + wait >= deadline:
                raise FetchFailed(f"HTTP {status}")
            self.sleep(wait)

    def _get(self, url: str, referer: str | None, deadline: float) -> BaseHTTPResponse:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchFailed("timed out")
        headers = dict(HEADERS)
        if referer and referer.startswith(("http://", "https://")):
            # Many image hosts refuse hotlinks without the page they were found on.
            headers["Referer"] = referer
        timeout = Timeout(
            connect=min(self._limits.connect_timeout, remaining), read=min(self._limits.read_timeout, remaining)
        )
        try:
            return self._pool.urlopen(
                "GET",
                url,
                headers=headers,
                redirect=False,
                retries=False,
                timeout=timeout,
                preload_content=False,
                decode_content=False,
            )
        except BlockedAddress as exc:
            raise FetchFailed(f"refused: {exc}") from None
        except NameResolutionError:
            raise FetchFailed("host not found") from None
        except NewConnectionError:  # a subclass of ConnectTimeoutError: caught first
            raise FetchFailed("connection failed") from None
        except (ConnectTimeoutError, ReadTimeoutError, TimeoutError):
            raise FetchFailed("timed out") from None
        except (ValueError, UnicodeError):
            # Invalid URLs: LocationParseError, bad IDNA, control characters.
            raise FetchFailed("unsupported URL") from None
        except (HTTPError, OSError):
            # ProtocolError (reset, bad status line), SSLError and the like.
            raise FetchFailed("connection failed") from None

    def _save(self, response: BaseHTTPResponse, url: str, deadline: float, stop: Stop | None = None) -> Fetched:
        cap = self._limits.max_bytes
        too_large = FetchFailed(f"too large: over {human_size(cap)}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            _close(response)
            raise too_large
        if declared.isdigit():
            try:
                _check_stop(stop, int(declared))
            except FetchFailed:
                _close(response)
                raise
        large = declared.isdigit() and int(declared) > self._spool_bytes
        spool = Spool(self._spool_bytes, self._temp_dir, to_file=large)
        digest = hashlib.sha256()
        size = 0
        try:
            while True:
                chunk = self._read(response, deadline)
                if not chunk:
                    break
                size += len(chunk)
                if size > cap:
                    raise too_large
                _check_stop(stop, size)
                digest.update(chunk)
                spool.write(chunk)
            if size == 0:
                raise FetchFailed("empty response")
            body = spool.finish()
        except BaseException:
            _close(response)
            spool.abandon()
            raise
        # Read to the end: the connection goes back to the pool for the host's next image.
        response.release_conn()
        return Fetched(body=body, size=size, sha256=digest.hexdigest(), final_url=url)

    def _read(self, response: BaseHTTPResponse, deadline: float) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchFailed("timed out")
        # Each read waits at most until the image's deadline, so a server trickling bytes cannot
        # stretch one image past its total time cap. Setting a socket's timeout is a system call:
        # only done when the deadline is nearer than the read timeout already in force.
        if remaining < self._limits.read_timeout:
            sock = getattr(response.connection, "sock", None)
            if sock is not None:
                sock.settimeout(remaining)
        try:
            return response.read1(READ_CHUNK, decode_content=False)
        except (ReadTimeoutError, TimeoutError):
            raise FetchFailed("timed out") from None
        except (ProtocolError, HTTPError, OSError):
            raise FetchFailed("connection broken") from None


def _check_stop(stop: Stop | None, size: int) -> None:
    reason = None if stop is None else stop(size)
    if reason is not None:
        raise FetchFailed(reason)


def _close(response: BaseHTTPResponse) -> None:
    """Drop the connection (its body is unread) and give its slot back to the pool."""
    response.close()
    response.release_conn()


def _discard(response: BaseHTTPResponse) -> None:
    """Drop a response we will not use; a short body is drained so its connection can be reused."""
    try:
        length = int(response.headers.get("Content-Length", "-1"))
        if 0 <= length <= DRAIN_MAX:
            response.drain_conn()
            response.release_conn()
            return
    except (ValueError, HTTPError, OSError):
        pass
    _close(response)
