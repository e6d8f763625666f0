"""Census International Trade API client against a loopback HTTP server (never api.census.gov)."""

from __future__ import annotations

import csv
import json
import logging
import threading
from collections.abc import Iterator
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


class Server:
    """A loopback server answering each request with the next scripted answer (the last one
    repeats); ``requests`` records the paths it saw."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], bytes]] = []
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                outer.requests.append(self.path)
                if self.path.startswith("/missing_key.html"):
                    status, headers, body = 200, {"Content-Type": "text/html"}, HTML
                else:
                    i = min(len(outer.requests_api()) - 1, len(outer.script) - 1)
                    status, headers, body = outer.script[i]
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

    def answer(self, *answers: tuple[int, dict[str, str], bytes]) -> None:
        self.script = list(answers)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def ok(rows: object = ROWS) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json;charset=utf-8"}, json.dumps(rows).encode()


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
