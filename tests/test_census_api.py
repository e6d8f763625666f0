"""Census International Trade API client against a loopback HTTP server (never api.census.gov)."""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from analysis.sources import census_api_client as api
from analysis.sources.census_api_client import CensusApiError, CensusApiKeyError, Client, Query

KEY = "SeCrEtKeY0123456789abcdef"
ROWS = [
    [
        "I_COMMODITY",
        "I_COMMODITY_LDESC",
        "CTY_CODE",
        "CTY_NAME",
        "GEN_VAL_MO",
        "MONTH",
        "COMM_LVL",
        "YEAR",
    ],
    ["87", "VEHICLES", "5800", "KOREA, SOUTH", "3000000000", "01", "HS2", "2023"],
    ["87", "VEHICLES", "0001", "OPEC", "12345", "02", "HS2", "2023"],
]
HTML = b"<!DOCTYPE html><html><body><h1>Missing Key</h1>A valid key must be included.</body></html>"
Q = Query("imports", "HS2", 2023)
Answer = tuple[int, dict[str, str], bytes]


class Server:
    """A loopback server answering each request with the next scripted answer (the last one
    repeats); ``requests`` records the paths it saw."""

    def __init__(self) -> None:
        self.script: list[Answer | Callable[[str], Answer]] = []
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                outer.requests.append(self.path)
                if self.path.startswith("/missing_key.html"):
                    status, headers, body = 200, {"Content-Type": "text/html"}, HTML
                else:
                    i = min(len(outer.requests_api()) - 1, len(outer.script) - 1)
                    step = outer.script[i]
                    status, headers, body = step(self.path) if callable(step) else step
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def requests_api(self) -> list[str]:
        return [p for p in self.requests if not p.startswith("/missing_key.html")]

    def answer(self, *answers: Answer | Callable[[str], Answer]) -> None:
        self.script = list(answers)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def ok(rows: object = ROWS) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json;charset=utf-8"}, json.dumps(rows).encode()


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a test gets wrong, a request not sent to 127.0.0.1 goes to a dead proxy."""
    for name in ("http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.delenv("CENSUS_API_BASE_URL", raising=False)


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(
    server: Server, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> Client:
    monkeypatch.setenv(api.KEY_ENV, KEY)
    return Client(
        base_url=server.url,
        cache_dir=tmp_path / "cache",
        vintage_log=tmp_path / "vintages.csv",
        retries=2,
        backoff=0.5,
        timeout=5,
        sleep=sleeps.append,
    )


def _no_key_anywhere(
    exc: BaseException | None, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    if exc is not None:
        assert KEY not in str(exc) and "\n" not in str(exc)
    assert KEY not in caplog.text
    for p in tmp_path.rglob("*"):
        assert KEY not in p.name
        if p.is_file():
            assert KEY.encode() not in p.read_bytes()


# ---- success, retries, give up ------------------------------------------------------------------


def test_success_parses_the_json_form(
    server: Server, client: Client, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.INFO)
    server.answer(ok())
    df = client.get(Q)
    assert list(df.columns) == ROWS[0]
    assert df["CTY_CODE"].tolist() == ["5800", "0001"]  # text: leading zeros kept
    assert df["GEN_VAL_MO"].tolist() == [3_000_000_000, 12345]
    path = server.requests[0]
    assert path.startswith(
        "/imports/hs?get=I_COMMODITY,I_COMMODITY_LDESC,CTY_CODE,CTY_NAME,GEN_VAL_MO,MONTH"
    )
    assert "COMM_LVL=HS2" in path and "YEAR=2023" in path and f"key={KEY}" in path
    rows = list(csv.DictReader(open(tmp_path / "vintages.csv", encoding="utf-8")))
    assert len(rows) == 1 and rows[0]["source"] == "census_api_imports_hs2"
    assert rows[0]["first_month"] == "2023-01" and rows[0]["last_month"] == "2023-02"
    assert "(2 rows;" in rows[0]["origin"] and "key=" not in rows[0]["origin"]
    _no_key_anywhere(None, caplog, tmp_path)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_error_then_success_is_retried(
    server: Server, client: Client, sleeps: list[float], status: int
) -> None:
    server.answer((status, {"Content-Type": "text/plain"}, b"busy"), ok())
    assert len(client.get(Q)) == 2
    assert len(server.requests) == 2 and sleeps == [0.5]


def test_retry_after_header_is_respected(
    server: Server, client: Client, sleeps: list[float]
) -> None:
    server.answer((429, {"Retry-After": "7"}, b""), ok())
    client.get(Q)
    assert sleeps == [7.0]


def test_server_error_forever_gives_up_with_one_line(
    server: Server,
    client: Client,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.INFO)
    server.answer((500, {}, b"Internal Server Error"))
    with pytest.raises(CensusApiError, match=r"HTTP 500 \(3 attempts\)") as info:
        client.get(Q)
    assert len(server.requests) == 3 and sleeps == [0.5, 1.0]
    assert not (tmp_path / "cache").exists()
    _no_key_anywhere(info.value, caplog, tmp_path)


# ---- key errors ----------------------------------------------------------------------------------


def test_missing_key_redirect_is_not_followed(
    server: Server, client: Client, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    server.answer((302, {"Location": f"{server.url}/missing_key.html"}, b""))
    with pytest.raises(
        CensusApiKeyError, match="key in CENSUS_API_KEY is missing or invalid"
    ) as info:
        client.get(Q)
    assert "302" in str(info.value) and "not followed" in str(info.value)
    assert len(server.requests) == 1  # the HTML page was never fetched
    _no_key_anywhere(info.value, caplog, tmp_path)


@pytest.mark.parametrize(
    "headers", [{"Content-Type": "text/html"}, {"Content-Type": "application/json"}]
)
def test_html_page_with_status_200_is_a_key_error(
    server: Server,
    client: Client,
    headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    server.answer((200, headers, HTML))
    with pytest.raises(CensusApiKeyError, match="HTML page") as info:
        client.get(Q)
    _no_key_anywhere(info.value, caplog, tmp_path)


def test_invalid_key_header(
    server: Server, client: Client, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    # The API flags a bad key with a header (and an HTML page); the header may echo the key.
    server.answer(
        (200, {"X-DataWebAPI-KeyError": f"Invalid key {KEY}", "Content-Type": "text/html"}, HTML)
    )
    with pytest.raises(
        CensusApiKeyError, match="X-DataWebAPI-KeyError: Invalid key REDACTED"
    ) as info:
        client.get(Q)
    _no_key_anywhere(info.value, caplog, tmp_path)


def test_no_key_set_fails_before_any_request(
    server: Server, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(api.KEY_ENV)
    with pytest.raises(CensusApiKeyError, match="CENSUS_API_KEY"):
        client.get(Q)
    assert server.requests == []


def test_other_client_error_is_one_line_without_key(server: Server, client: Client) -> None:
    server.answer(
        (
            400,
            {"Content-Type": "text/plain"},
            f"error: unknown variable 'X' key={KEY}\nmore".encode(),
        )
    )
    with pytest.raises(CensusApiError, match="HTTP 400: error: unknown variable") as info:
        client.get(Q)
    assert KEY not in str(info.value) and "\n" not in str(info.value)


# ---- empty answers, cache ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer", [(204, {}, b""), (200, {"Content-Type": "application/json"}, b""), ok([])]
)
def test_empty_answer_is_an_empty_table(
    server: Server, client: Client, tmp_path: Path, answer: tuple[int, dict[str, str], bytes]
) -> None:
    server.answer(answer)
    df = client.get(Q)
    assert df.empty and "GEN_VAL_MO" in df.columns
    assert not list((tmp_path).glob("cache/*.json"))  # nothing cached: ask again next time


def test_cache_is_hit_on_the_second_call(
    server: Server, client: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server.answer(ok())
    first = client.get(Q)
    second = client.get(Q)
    assert len(server.requests) == 1
    assert first.equals(second)
    files = list((tmp_path / "cache").glob("*.json"))
    assert [f.name for f in files] == [f"{Q.cache_key()}.json"]
    client.get(Q, refresh=True)
    assert len(server.requests) == 2
    _no_key_anywhere(None, caplog, tmp_path)


def test_cached_answers_need_no_key(
    server: Server, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.answer(ok())
    client.get(Q)
    monkeypatch.delenv(api.KEY_ENV)
    assert len(client.get(Q)) == 2 and len(server.requests) == 1


def test_not_json_is_a_clear_error(server: Server, client: Client) -> None:
    server.answer((200, {"Content-Type": "application/json"}, b'{"error": 1}'))
    with pytest.raises(CensusApiError, match="not the API's JSON form"):
        client.get(Q)


# ---- queries -------------------------------------------------------------------------------------


def test_plan_splits_requests() -> None:
    hs2 = api.plan("exports", "HS2", range(2013, 2025))
    assert len(hs2) == 12 and {q.chapter for q in hs2} == {None}
    hs6 = api.plan("imports", "HS6", [2024])
    assert len(hs6) == 99 and hs6[86].chapter == "87"
    assert "I_COMMODITY=87*" in hs6[86].url() and "COMM_LVL=HS6" in hs6[86].url()
    monthly = api.plan("imports", "HS6", [2024], chapter_list=["84"], by_month=True)
    assert [q.month for q in monthly] == list(range(1, 13)) and "MONTH=03" in monthly[2].url()
    assert "exports/hs?get=E_COMMODITY" in hs2[0].url()
    assert len({q.cache_key() for q in hs6}) == 99


def test_bad_query_and_redact() -> None:
    with pytest.raises(Exception, match="level"):
        Query("imports", "HS3", 2023)
    assert (
        api.redact(f"http://x/a?get=A&key={KEY}&YEAR=1", KEY)
        == "http://x/a?get=A&key=REDACTED&YEAR=1"
    )
    assert KEY not in repr(Client(KEY))


# ---- the mirror's extracts and the 2016 vintage as sources -----------------------------------


def test_by_country_extract_checks_and_reader(tmp_path: Path) -> None:
    from analysis.errors import DataError
    from analysis.sources import census_api, content_check, reader

    good = tmp_path / "exports.csv"
    good.write_text(
        'CTY_CODE,CTY_NAME,ALL_VAL_MO,YEAR,MONTH\n-,TOTAL,9,2013,01\n5800,"KOREA, SOUTH",7,2024,12\n'
    )
    assert content_check("census_api_exports")(good) == ("2013-01", "2024-12")
    df = reader("census_api_imports")(good)
    assert df["CTY_CODE"].tolist() == ["-", "5800"] and df["ALL_VAL_MO"].tolist() == [9, 7]
    html = tmp_path / "page.csv"
    html.write_bytes(HTML)
    with pytest.raises(DataError, match="HTML page"):
        census_api.check_content(html)
    both = tmp_path / "both.csv"
    both.write_text("CTY_CODE,CTY_NAME,ALL_VAL_MO,GEN_VAL_MO,YEAR,MONTH\n5800,K,1,2,2013,01\n")
    with pytest.raises(DataError, match="one of ALL_VAL_MO/GEN_VAL_MO"):
        census_api.check_content(both)
    bad = tmp_path / "bad.csv"
    bad.write_text("CTY_CODE,CTY_NAME,GEN_VAL_MO,YEAR,MONTH\n5800,K,(D),2013,01\n")
    with pytest.raises(DataError, match="not a number"):
        census_api.check_content(bad)


def test_2016_vintage_with_bare_cr_line_endings(tmp_path: Path) -> None:
    from analysis.sources import census as census_source
    from analysis.sources import content_check, reader

    months = ",".join(["1"] * 11 + ["0"])
    lines = [
        ",".join(census_source.WIDE_COLUMNS),
        f'2015,5800,"Korea, South",{",".join(["1"] * 12)},12,{",".join(["2"] * 12)},24',
        f'2016,5800,"Korea, South",{months},11,{months},11',
        ",0001,OPEC" + ",0" * 26,
    ]  # a placeholder row without a year
    path = tmp_path / "us-trade.csv"
    path.write_bytes("\r".join(lines).encode() + b"\r")
    assert content_check("census_2016")(path) == ("2015-01", "2016-11")
    table = reader("census_2016")(path)
    assert table["CTY_CODE"].tolist()[:2] == ["5800", "5800"] and len(table) == 3


@pytest.mark.integration
def test_new_sources_come_from_the_mirror(mirror: Path, tmp_path: Path) -> None:
    from analysis.sources import fetch

    for sid in ("census_api_exports", "census_api_imports", "census_2016"):
        path = fetch.ensure(sid, mirror=mirror, raw_dir=tmp_path, strict=True)
        assert fetch.check_content(fetch.get_source(sid, None), path) == {
            "census_2016": ("1985-01", "2016-11")
        }.get(sid, ("2013-01", "2024-12"))
    assert not (tmp_path / "vintages.csv").exists()  # pinned vintages: nothing to log


# ---- hostile servers: the key never leaves the client ---------------------------------------


class RawServer:
    """A loopback TCP server for answers ``http.server`` cannot send (malformed status lines,
    short bodies, dripping): connection n is handled by ``handlers[min(n, last)]``, which gets
    the socket after the request was read. Bounded: every socket has a timeout."""

    def __init__(self, *handlers: Callable[[socket.socket], None]) -> None:
        self.handlers = list(handlers)
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            handler = self.handlers[min(self.connections, len(self.handlers) - 1)]
            self.connections += 1
            threading.Thread(target=self._handle, args=(handler, conn), daemon=True).start()

    @staticmethod
    def _handle(handler: Callable[[socket.socket], None], conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                request = b""
                while b"\r\n\r\n" not in request and len(request) < 65536:
                    if not (chunk := conn.recv(4096)):
                        return
                    request += chunk
                handler(conn)
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def raw_servers() -> Iterator[list[RawServer]]:
    made: list[RawServer] = []
    yield made
    for s in made:
        s.close()


def raw_client(
    raw_servers: list[RawServer],
    tmp_path: Path,
    sleeps: list[float],
    *handlers: Callable[[socket.socket], None],
    timeout: float = 5,
) -> tuple[RawServer, Client]:
    server = RawServer(*handlers)
    raw_servers.append(server)
    client = Client(
        KEY,
        base_url=server.url,
        cache_dir=tmp_path / "cache",
        vintage_log=tmp_path / "vintages.csv",
        retries=2,
        backoff=0.5,
        timeout=timeout,
        sleep=sleeps.append,
    )
    return server, client


def http_ok(conn: socket.socket, body: bytes = json.dumps(ROWS).encode()) -> None:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    conn.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)


def _nothing_kept(tmp_path: Path) -> None:
    assert not list(tmp_path.glob("cache/*.json"))
    assert not (tmp_path / "vintages.csv").exists()


def test_malformed_status_line_with_the_key_is_one_redacted_line(
    raw_servers: list[RawServer],
    tmp_path: Path,
    sleeps: list[float],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(api.KEY_ENV, KEY)

    def bad_status(conn: socket.socket) -> None:
        conn.sendall(f"HTTP/1.1 2OO key={KEY} bad {KEY.upper()}\r\n\r\n".encode())

    server, client = raw_client(raw_servers, tmp_path, sleeps, bad_status)
    with pytest.raises(CensusApiError, match="BadStatusLine") as info:
        client.get(Q)
    assert KEY.lower() not in str(info.value).lower() and "2OO key=REDACTED" in str(info.value)
    assert server.connections == 1  # a malformed status line is not retried
    _no_key_anywhere(info.value, caplog, tmp_path)


@pytest.mark.parametrize("offset", [280, 296])
def test_error_body_is_redacted_before_it_is_cut(
    server: Server, client: Client, offset: int
) -> None:
    body = ("x" * offset + KEY + " and more").encode()
    server.answer((401, {"Content-Type": "text/plain"}, body))
    with pytest.raises(CensusApiError, match="HTTP 401") as info:
        client.get(Q)
    # not even the first characters of the key (the body was cut at 300 bytes, then redacted)
    assert KEY[:4] not in str(info.value)


@pytest.mark.parametrize("echo", [KEY.upper(), KEY.lower(), f"KEY={KEY.swapcase()}"])
def test_key_echoed_in_another_letter_case_is_redacted(
    server: Server, client: Client, echo: str
) -> None:
    server.answer((400, {"Content-Type": "text/plain"}, f"error: unknown key {echo}".encode()))
    with pytest.raises(CensusApiError, match="HTTP 400: error: unknown key") as info:
        client.get(Q)
    assert KEY.lower() not in str(info.value).lower()


def test_redact_covers_url_encoded_forms_in_any_case() -> None:
    key = "Ab/Cd+Ef=Gh 12345678"
    text = f"a {key} b {urllib.parse.quote(key, safe='')} c {urllib.parse.quote_plus(key).lower()}"
    out = api.redact(text, key)
    assert out == "a REDACTED b REDACTED c REDACTED"


@pytest.mark.parametrize("cell", [KEY, KEY.upper(), f"note key={KEY}"])
def test_answer_with_the_key_in_a_cell_is_refused_and_never_written(
    server: Server,
    client: Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    cell: str,
) -> None:
    rows = [ROWS[0], [*ROWS[1][:3], cell, *ROWS[1][4:]]]
    server.answer(ok(rows))
    with pytest.raises(CensusApiError, match="contains the API key") as info:
        client.get(Q)
    _nothing_kept(tmp_path)
    # the command line: no CSV is written either
    monkeypatch.setenv("CENSUS_API_BASE_URL", server.url)
    monkeypatch.setattr(api, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(api.config, "VINTAGE_LOG", tmp_path / "vintages.csv")
    out = tmp_path / "out.csv"
    assert api.main(["imports", "HS2", str(out), "--from", "2023", "--to", "2023"]) == 2
    assert not out.exists()
    _no_key_anywhere(info.value, caplog, tmp_path)


# ---- one line for every transport error; retried where it may help ---------------------------


def test_short_body_and_reset_are_retried_then_succeed(
    raw_servers: list[RawServer], tmp_path: Path, sleeps: list[float]
) -> None:
    def short_body(conn: socket.socket) -> None:
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n[["I_COMM')

    def reset(conn: socket.socket) -> None:
        conn.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )  # RST on close

    server, client = raw_client(raw_servers, tmp_path, sleeps, short_body, reset, http_ok)
    assert client.get(Q)["GEN_VAL_MO"].tolist() == [3_000_000_000, 12345]
    assert server.connections == 3 and sleeps == [0.5, 1.0]


def test_short_body_forever_gives_up_with_one_line(
    raw_servers: list[RawServer], tmp_path: Path, sleeps: list[float]
) -> None:
    def short_body(conn: socket.socket) -> None:
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n[["I_COMM')

    server, client = raw_client(raw_servers, tmp_path, sleeps, short_body)
    with pytest.raises(CensusApiError, match=r"IncompleteRead.*\(3 attempts\)") as info:
        client.get(Q)
    assert "\n" not in str(info.value) and server.connections == 3
    _nothing_kept(tmp_path)


def test_header_over_64_kb_is_one_line_and_not_retried(
    raw_servers: list[RawServer], tmp_path: Path, sleeps: list[float]
) -> None:
    def long_header(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n[]")

    server, client = raw_client(raw_servers, tmp_path, sleeps, long_header)
    with pytest.raises(CensusApiError, match="LineTooLong: a header line over 64 KB") as info:
        client.get(Q)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400
    assert server.connections == 1


# ---- bounded requests -----------------------------------------------------------------------


def test_dripping_server_is_abandoned_at_the_deadline(
    raw_servers: list[RawServer],
    tmp_path: Path,
    sleeps: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CENSUS_API_DEADLINE", "1")
    body = json.dumps(ROWS).encode()
    answer = b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    def drip(conn: socket.socket) -> None:  # one byte every 30 ms: each read succeeds
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        for i in range(len(answer)):
            conn.sendall(answer[i : i + 1])
            time.sleep(0.03)

    server, client = raw_client(raw_servers, tmp_path, sleeps, drip, timeout=0.5)
    start = time.monotonic()
    with pytest.raises(CensusApiError, match="within the 1 s deadline"):
        client.get(Q)
    assert time.monotonic() - start < 2.5
    assert server.connections == 1  # a deadline breach is not retried
    _nothing_kept(tmp_path)


def test_deadline_and_size_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis.errors import ParameterError

    monkeypatch.setenv("CENSUS_API_DEADLINE", "soon")
    with pytest.raises(ParameterError, match="CENSUS_API_DEADLINE 'soon'"):
        Client(KEY)
    monkeypatch.setenv("CENSUS_API_DEADLINE", "2.5")
    monkeypatch.setenv("CENSUS_API_MAX_BYTES", "1000")
    client = Client(KEY)
    assert (client.deadline, client.max_bytes) == (2.5, 1000)


def big_rows(n: int) -> list[list[str]]:
    row = ["87", "VEHICLES", "{code}", "K", "1", "01", "HS2", "2023"]
    return [ROWS[0]] + [[v.format(code=5000 + i % 4000) for v in row] for i in range(n)]


def test_answer_over_the_size_cap_is_refused(
    server: Server, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CENSUS_API_MAX_BYTES", "100000")
    capped = Client(
        base_url=server.url, cache_dir=tmp_path / "cache", vintage_log=tmp_path / "vintages.csv"
    )
    server.answer(ok(big_rows(5000)))  # about 300 kB, announced by Content-Length
    with pytest.raises(CensusApiError, match="over the 100000 byte cap"):
        capped.get(Q)
    assert len(server.requests) == 1
    _nothing_kept(tmp_path)


def test_unannounced_answer_over_the_cap_is_cut_off_while_reading(
    raw_servers: list[RawServer],
    tmp_path: Path,
    sleeps: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CENSUS_API_MAX_BYTES", "100000")
    body = json.dumps(big_rows(5000)).encode()
    sent: list[int] = []

    def no_length(conn: socket.socket) -> None:  # no Content-Length: the body ends at close
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")
        for i in range(0, len(body), 4096):
            conn.sendall(body[i : i + 4096])
            sent.append(i + 4096)

    server, client = raw_client(raw_servers, tmp_path, sleeps, no_length)
    with pytest.raises(CensusApiError, match="over the 100000 byte cap"):
        client.get(Q)
    assert server.connections == 1
    _nothing_kept(tmp_path)


# ---- only valid answers are cached; refresh -----------------------------------------------


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([["A", "B"], ["1", "2"]], "columns 'A,B'"),
        (
            [ROWS[0], ["87", "V", "5800", "K", "1", "01", "HS2", "2024"]],
            "YEAR '2024' is not the 2023 asked for",
        ),
        ([ROWS[0], ["8703", "V", "5800", "K", "1", "01", "HS2", "2023"]], "not an HS2 code"),
        ([ROWS[0], ["87", "V", "5800", "K", "(D)", "01", "HS2", "2023"]], "is not a number"),
        ([ROWS[0], ["87", "V", "5800", 5, "1", "01", "HS2", "2023"]], "CTY_NAME is not text"),
    ],
)
def test_malformed_answer_is_not_cached_nor_accepted(
    server: Server, client: Client, tmp_path: Path, rows: list[list[object]], problem: str
) -> None:
    server.answer(ok(rows))
    with pytest.raises(CensusApiError, match=re.escape(problem)):
        client.get(Q)
    _nothing_kept(tmp_path)


def test_invalid_cached_answer_is_asked_for_again(
    server: Server, client: Client, tmp_path: Path
) -> None:
    path = client.cache_path(Q)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps([["A", "B"], ["1", "2"]]))  # left by an older client
    server.answer(ok())
    assert len(client.get(Q)) == 2 and len(server.requests) == 1
    assert json.loads(path.read_text()) == ROWS


def test_answer_obtained_before_its_year_was_revised_is_refreshed(
    server: Server, client: Client, tmp_path: Path
) -> None:
    server.answer(ok())
    client.get(Q)
    path = client.cache_path(Q)
    before = time.mktime((2024, 3, 1, 12, 0, 0, 0, 0, -1))  # 2023 was revised in June 2024
    os.utime(path, (before, before))
    client.get(Q)
    assert len(server.requests) == 2  # provisional and old: asked again
    after = time.mktime((2024, 8, 1, 12, 0, 0, 0, 0, -1))
    os.utime(path, (after, after))
    client.get(Q)
    assert len(server.requests) == 2  # final: served from the cache


def test_cli_honours_base_url_and_refresh(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(api.KEY_ENV, KEY)
    monkeypatch.setenv("CENSUS_API_BASE_URL", server.url + "/")
    monkeypatch.setattr(api, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(api.config, "VINTAGE_LOG", tmp_path / "vintages.csv")
    server.answer(ok())
    out = tmp_path / "out.csv"
    argv = ["imports", "HS2", str(out), "--from", "2023", "--to", "2023"]
    assert api.main(argv) == 0
    assert [r["CTY_CODE"] for r in csv.DictReader(open(out, encoding="utf-8"))] == ["5800", "0001"]
    assert api.main(argv) == 0 and len(server.requests) == 1  # cached
    monkeypatch.setenv("ANALYSIS_REFRESH", "1")
    assert api.main(argv) == 0 and len(server.requests) == 2  # asked again
    monkeypatch.setenv("ANALYSIS_REFRESH", "maybe")
    assert api.main(argv) == 2


def test_base_url_must_be_an_address_and_is_shown_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from analysis.errors import ParameterError

    monkeypatch.setenv(api.KEY_ENV, KEY)
    monkeypatch.setenv("CENSUS_API_BASE_URL", f"ftp://mirror/{KEY.upper()}")
    with pytest.raises(ParameterError, match=r"CENSUS_API_BASE_URL 'ftp://mirror/REDACTED'"):
        Client()
    monkeypatch.setenv("CENSUS_API_BASE_URL", f"http://mirror/api?key={KEY}")
    with pytest.raises(ParameterError, match="without query") as info:
        Client()
    assert KEY not in str(info.value)


def test_key_in_the_base_address_never_shown(
    server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setenv(api.KEY_ENV, KEY)
    monkeypatch.setenv("CENSUS_API_BASE_URL", f"{server.url}/{KEY}")
    client = Client(cache_dir=tmp_path / "cache", vintage_log=tmp_path / "vintages.csv")
    server.answer(ok())
    client.get(Q)
    assert server.requests[0].startswith(f"/{KEY}/imports/hs?")
    assert KEY not in repr(client)
    _no_key_anywhere(None, caplog, tmp_path)


def test_products_reads_refresh_as_data(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analysis.clean import products

    def answer_for(path: str) -> Answer:
        year = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)["YEAR"][0]
        return ok([ROWS[0], [*ROWS[1][:7], year]])

    monkeypatch.setenv(api.KEY_ENV, KEY)
    monkeypatch.setenv("CENSUS_API_BASE_URL", server.url)
    monkeypatch.setattr(api, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(api.config, "VINTAGE_LOG", tmp_path / "vintages.csv")
    monkeypatch.setattr(api, "latest_years", lambda first: [2022, 2023])
    server.answer(answer_for)
    argv = ["--source", "api", "--flow", "imports", "--from", "2022", "--out-dir", str(tmp_path)]
    assert products.main(argv) == 0 and len(server.requests) == 2
    assert products.main(argv) == 0 and len(server.requests) == 2  # from the cache
    monkeypatch.setenv("ANALYSIS_REFRESH", "1")
    assert products.main(argv) == 0 and len(server.requests) == 4


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_products_api_passes_refresh_and_base_url_as_data(tmp_path: Path) -> None:
    from analysis import config

    marker = tmp_path / "injected"
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    fake = venv / "bin" / "python"  # prints what the products step would receive
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$2" = analysis.clean.products ]; then\n'
        '  printf \'REFRESH=[%s] BASE=[%s]\\n\' "$ANALYSIS_REFRESH" "$CENSUS_API_BASE_URL"\n'
        "  exit 0\nfi\n"
        f'exec {sys.executable} "$@"\n'
    )
    fake.chmod(0o755)
    (venv / ".installed").touch()
    hostile = f"$(shell touch {marker})"
    base = f"http://127.0.0.1:1/a$b{hostile}"
    proc = subprocess.run(
        ["make", "-C", str(config.ROOT), "--no-print-directory", f"VENV={venv}", "products-api",
         f"REFRESH={hostile}", f"CENSUS_API_BASE_URL={base}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert f"REFRESH=[{hostile}] BASE=[{base}]" in proc.stdout
    assert not marker.exists()
    env = {**os.environ, "CENSUS_API_BASE_URL": base}
    proc = subprocess.run(
        ["make", "-C", str(config.ROOT), "--no-print-directory", f"VENV={venv}", "products-api",
         "REFRESH=1"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert f"REFRESH=[1] BASE=[{base}]" in proc.stdout


def test_command_line_prints_one_line_without_the_key(
    raw_servers: list[RawServer], tmp_path: Path, sleeps: list[float]
) -> None:
    def bad_status(conn: socket.socket) -> None:
        conn.sendall(f"HTTP/1.1 2OO key={KEY} bad\r\n\r\n".encode())

    server, _ = raw_client(raw_servers, tmp_path, sleeps, bad_status)
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(api.__file__).parents[2]),
        "ANALYSIS_ROOT": str(tmp_path),
        "CENSUS_API_KEY": KEY,
        "CENSUS_API_BASE_URL": server.url,
    }
    out = tmp_path / "out.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "analysis.sources.census_api_client", "imports", "HS2", str(out),
         "--from", "2023", "--to", "2023"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == "" and not out.exists()
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert "BadStatusLine" in proc.stderr and KEY.lower() not in proc.stderr.lower()
    assert server.connections == 1
