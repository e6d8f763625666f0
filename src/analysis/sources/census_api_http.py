"""The Census API's HTTP transport: one GET within a whole-request deadline and a size cap."""

from __future__ import annotations

import http.client
import io
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analysis.sources.download import USER_AGENT

CHUNK = 1 << 16


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Do not follow redirects: the 3xx reaches the caller as an ``HTTPError``."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Breach(Exception):
    """A request's deadline or size cap was exceeded (not retried; nothing cached)."""


class _Deadline:
    """The end of one request's allowed time; each socket operation waits at most until it."""

    def __init__(self, seconds: float, per_operation: float) -> None:
        self.seconds, self.per_operation = seconds, per_operation
        self.end = time.monotonic() + seconds

    def timeout(self) -> float:
        """The timeout for the next socket operation; raises :class:`Breach` once past."""
        self.check()
        return min(self.per_operation, self.end - time.monotonic())

    def check(self, slack: float = 0.0) -> None:
        """Raise :class:`Breach` when less than ``slack`` seconds are left."""
        if self.end - time.monotonic() <= slack:
            raise Breach(f"no complete answer within the {self.seconds:g} s deadline")


class _DeadlineReader(io.RawIOBase):
    """A socket's reading side whose every read waits only until the request's deadline
    (a plain socket timeout restarts with each byte a slow server sends)."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock, self._raw, self._deadline = sock, sock.makefile("rb", buffering=0), deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock.settimeout(self._deadline.timeout())
        try:
            return self._raw.readinto(buffer)
        except TimeoutError:
            self._deadline.check(slack=0.05)  # the deadline, not the per-read timeout, ended it
            raise

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """A connected socket whose reads and sends are bounded by a :class:`_Deadline`."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock, self._deadline = sock, deadline

    def makefile(self, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if mode != "rb":
            return self._sock.makefile(mode, *args, **kwargs)
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def sendall(self, data: bytes, *args: Any) -> None:
        self._sock.settimeout(self._deadline.timeout())
        try:
            self._sock.sendall(data, *args)
        except TimeoutError:
            self._deadline.check(slack=0.05)
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _bounded_connection(base: type[http.client.HTTPConnection], deadline: _Deadline) -> Any:
    """A connection factory for ``urllib``: ``base`` whose socket is a :class:`_DeadlineSocket`."""

    class Bounded(base):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            self.timeout = deadline.timeout()
            try:
                super().connect()  # for HTTPS this includes the TLS handshake
            except TimeoutError:
                deadline.check(slack=0.05)
                raise
            self.sock = _DeadlineSocket(self.sock, deadline)

    return Bounded


class _BoundedHTTP(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_bounded_connection(http.client.HTTPConnection, self._deadline), req)


class _BoundedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        conn = _bounded_connection(http.client.HTTPSConnection, self._deadline)
        return self.do_open(conn, req, context=self._context)


@dataclass
class Answer:
    """One HTTP answer: status, headers and the body read within the cap."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def send(url: str, *, deadline_s: float, timeout: float, max_bytes: int) -> Answer:
    """One request within the deadline and the size cap (:class:`Breach` otherwise)."""
    deadline = _Deadline(deadline_s, timeout)
    opener = urllib.request.build_opener(
        _NoRedirect(), _BoundedHTTP(deadline), _BoundedHTTPS(deadline)
    )
    request = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"}
    )
    try:
        resp = opener.open(request, timeout=deadline.timeout())
    except urllib.error.HTTPError as exc:
        with exc:
            body = _read(exc, exc.headers, max_bytes) if exc.fp is not None else b""
        return Answer(exc.code, exc.headers, body)
    with resp:
        return Answer(resp.status, resp.headers, _read(resp, resp.headers, max_bytes))


def _read(resp: Any, headers: Mapping[str, str], max_bytes: int) -> bytes:
    """The body, read in chunks up to ``max_bytes``; a short body is ``IncompleteRead``."""
    try:
        declared: int | None = int(headers.get("Content-Length") or "")
    except ValueError:
        declared = None
    if declared is not None and declared > max_bytes:
        raise Breach(f"an answer of {declared} bytes is over the {max_bytes} byte cap")
    chunks, got = [], 0
    while block := resp.read1(CHUNK):
        got += len(block)
        if got > max_bytes:
            raise Breach(f"the answer is over the {max_bytes} byte cap")
        chunks.append(block)
    body = b"".join(chunks)
    if declared is not None and got < declared and not headers.get("Content-Encoding"):
        raise http.client.IncompleteRead(body, declared - got)
    return body
