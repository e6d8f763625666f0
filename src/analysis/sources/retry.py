"""One retry policy for every download (raw files and the Census API): what is worth asking
again, and how long to wait first. Standard library only.

Asked again: 429 and 5xx answers, a short body, a reset or refused connection, a timeout, a
temporary name-resolution or TLS failure. Not asked again: other 4xx answers, a malformed
status line, a header over 64 KB, an unknown host, a certificate that does not verify. The
waits double from ``backoff`` (``backoff``, ``2 * backoff``, ...), or follow the server's
``Retry-After`` when it is longer, up to ``max_wait``.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import urllib.error

#: Longest wait between two attempts, in seconds.
MAX_WAIT = 120.0


def transient_status(status: int) -> bool:
    """Whether an HTTP status may pass when asked again (429 Too Many Requests, 5xx)."""
    return status == 429 or status >= 500


def transient(exc: BaseException) -> bool:
    """Whether asking again may help after ``exc`` (see the module docstring)."""
    if isinstance(exc, urllib.error.HTTPError):
        return transient_status(exc.code)
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        return isinstance(reason, BaseException) and transient(reason)
    if isinstance(exc, http.client.IncompleteRead | ConnectionError | TimeoutError):
        return True  # RemoteDisconnected is a ConnectionResetError
    if isinstance(exc, http.client.HTTPException):
        return False  # BadStatusLine, LineTooLong, too many headers, ...
    if isinstance(exc, socket.gaierror):
        return exc.errno != socket.EAI_NONAME  # a name that does not exist stays so
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False
    return isinstance(exc, OSError)


def describe(exc: BaseException) -> str:
    """``exc`` as ``Type: text`` on one line (callers that hold a secret redact it first)."""
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        if not isinstance(exc.reason, BaseException):
            return " ".join(str(exc.reason).split())
        exc = exc.reason
    if isinstance(exc, http.client.LineTooLong):
        return "LineTooLong: a header line over 64 KB"
    if isinstance(exc, http.client.IncompleteRead):
        return f"IncompleteRead: the body ended after {len(exc.partial)} bytes"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def wait(
    attempt: int, backoff: float, retry_after: str | None = None, max_wait: float = MAX_WAIT
) -> float:
    """Seconds to wait before attempt ``attempt`` (1 for the first retry)."""
    seconds = backoff * 2 ** (attempt - 1)
    with contextlib.suppress(TypeError, ValueError):
        seconds = max(seconds, float(retry_after or ""))
    return min(seconds, max_wait)


def attempts(retries: int) -> str:
    """``"3 attempts"`` for ``retries=2``; ``"1 attempt"`` for none."""
    return f"{retries + 1} attempts" if retries else "1 attempt"
