"""HTTP download of a raw file: complete and verified, or nothing (timeouts, retries, backoff).

Standard library only. The defaults are read at call time, so tests can shorten them.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from analysis import __version__
from analysis.errors import ChecksumMismatch, SourceUnavailable
from analysis.sources import retry
from analysis.sources.manifest import show

DEFAULT_TIMEOUT: float = 60.0
DEFAULT_RETRIES: int = 3
DEFAULT_BACKOFF: float = 1.0
USER_AGENT: str = f"korus-trade/{__version__} (reproducible research; Python urllib)"
CHUNK: int = 1 << 16


class _Retryable(Exception):
    """A transient download failure (5xx, connection error, timeout, short body)."""


def download(
    url: str,
    dest: str | Path,
    *,
    timeout: float | None = None,
    retries: int | None = None,
    expected_sha256: str | None = None,
    backoff: float | None = None,
    progress: bool | None = None,
) -> Path:
    """Download ``url`` to ``dest``; the file appears only when complete (and verified).

    The body goes to a temporary file beside ``dest`` that is renamed onto ``dest`` only
    after the whole body (``Content-Length`` bytes, when sent) arrived and, if given,
    ``expected_sha256`` matched. Server errors (5xx, 429), connection errors, timeouts and
    truncated bodies are retried ``retries`` times, waiting ``backoff``, ``2 * backoff``,
    ``4 * backoff``, ... seconds; client errors such as 404, an unknown host and a malformed
    answer (status line, header over 64 KB) are not: the policy of :mod:`analysis.sources.retry`,
    shared with the Census API client.
    A progress bar is drawn only when stderr is a terminal (``progress=None``).

    Raises ``SourceUnavailable`` (one line) when the download fails and
    ``ChecksumMismatch`` when the body's sha256 is not ``expected_sha256``.
    """
    dest = Path(dest)
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    retries = DEFAULT_RETRIES if retries is None else retries
    backoff = DEFAULT_BACKOFF if backoff is None else backoff
    if progress is None:
        progress = sys.stderr.isatty()
    dest.parent.mkdir(parents=True, exist_ok=True)
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(retry.wait(attempt, backoff))
        try:
            with _temp_file(dest) as (tmp, out):
                h = hashlib.sha256()
                request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
                with urllib.request.urlopen(request, timeout=timeout) as resp:
                    total = _content_length(resp)
                    bar = _Progress(dest.name, total) if progress else None
                    got = 0
                    try:
                        while block := resp.read(CHUNK):
                            out.write(block)
                            h.update(block)
                            got += len(block)
                            if bar:
                                bar.update(got)
                    finally:
                        if bar:
                            bar.close()
                if total is not None and got != total:
                    raise _Retryable(f"connection closed after {got:,} of {total:,} bytes")
                out.flush()
                os.fsync(out.fileno())
                out.close()
                digest = h.hexdigest()
                if expected_sha256 and digest != expected_sha256.lower():
                    raise ChecksumMismatch(
                        url,
                        f"sha256 {digest[:16]}... differs from the expected {expected_sha256[:16]}...",
                    )
                os.replace(tmp, dest)
            return dest
        except urllib.error.HTTPError as exc:
            exc.close()
            last = f"HTTP {exc.code} {exc.reason}"
            if not retry.transient(exc):
                raise SourceUnavailable(f"{url}: {last}") from None
        except _Retryable as exc:
            last = str(exc)
        except (
            urllib.error.URLError,
            http.client.HTTPException,
            ConnectionError,
            TimeoutError,
        ) as exc:
            # The shared policy: a reset, a timeout or a short body is asked again; an unknown
            # host (or no network at all), a malformed status line or header is not.
            last = retry.describe(exc)
            if not retry.transient(exc):
                raise SourceUnavailable(f"{url}: {last}") from None
        except OSError as exc:  # local trouble (disk full, permissions): not worth retrying
            raise SourceUnavailable(f"{url}: cannot save to {show(dest)}: {exc}") from None
    raise SourceUnavailable(f"{url}: {last} ({retry.attempts(retries)})")


def _content_length(resp: Any) -> int | None:
    value = resp.headers.get("Content-Length")
    if value is None or resp.headers.get("Content-Encoding"):
        return None
    try:
        return int(value)
    except ValueError:
        return None


@contextlib.contextmanager
def _temp_file(dest: Path) -> Iterator[tuple[Path, BinaryIO]]:
    """An open temporary file beside ``dest``; removed on exit unless renamed away."""
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(name)
    out = os.fdopen(fd, "wb")
    try:
        yield tmp, out
    finally:
        out.close()
        tmp.unlink(missing_ok=True)


class _Progress:
    """A one-line progress bar on stderr (used only when stderr is a terminal)."""

    def __init__(self, label: str, total: int | None) -> None:
        self.label, self.total, self.last = label, total, 0.0

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 and done != self.total:
            return
        self.last = now
        mb = done / 1e6
        if self.total:
            frac = done / self.total
            bar = "#" * int(frac * 30)
            text = f"\r{self.label} [{bar:<30}] {frac:4.0%} {mb:.1f}/{self.total / 1e6:.1f} MB"
        else:
            text = f"\r{self.label} {mb:.1f} MB"
        sys.stderr.write(text)
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()
