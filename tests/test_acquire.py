"""Tests of analysis.sources (acquire CLI, fetch, manifest, download): verification, mirror copy, zip.

Network tests run against a local ``http.server`` on 127.0.0.1 (ephemeral port, in a
thread) with short timeouts and tiny backoff. Every test works in ``tmp_path``: the config
paths (ROOT, RAW_DIR, VINTAGE_LOG, SOURCES_MANIFEST) are redirected, so the real
``data/raw`` is never touched.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import socket
import stat
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from analysis import config
from analysis.errors import ChecksumMismatch, DataError, ParameterError, SourceUnavailable
from analysis.fileio import sha256_file
from analysis.sources import acquire, download, fetch
from analysis.sources import census as census_source
from analysis.sources import manifest as source_manifest
from analysis.sources import wdi as wdi_source

# Captured before any test redirects the config.
REAL_MANIFEST = config.SOURCES_MANIFEST
REAL_MIRROR = config.mirror_dir()
CENSUS_SHA = "4b16c664bfc35e4c3bc3b9f169e372e522dd0cb8a1150669d5a83d672eaf8149"
WDI_SHA = "4d5971f828c2021db6c755de142904f452beb21225846d0b833ff01b479845a4"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(raw: Path) -> list[str]:
    """Everything in the raw dir (hidden temp files and staging folders included)."""
    return sorted(p.name for p in raw.iterdir()) if raw.exists() else []


# ---- fixtures: data ------------------------------------------------------------------------


def _census_row(
    year: str, code: str, name: str, imports: list[float], exports: list[float]
) -> list:
    return [year, code, name, *imports, sum(imports), *exports, sum(exports)]


@pytest.fixture(scope="module")
def census_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A tiny but real Census-style workbook: 2023-02 .. 2024-04 over all rows."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "country"
    ws.append(list(census_source.CENSUS_COLUMNS))
    z = [0.0] * 12
    # Korea: 2023 from February; 2024 Jan-Mar published, the rest 0 (unpublished).
    ws.append(_census_row("2023", "5800", "Korea, South", [0.0] + [5.0] * 11, [0.0] + [4.0] * 11))
    ws.append(
        _census_row("2024", "5800", "Korea, South", [6.0] * 3 + [0.0] * 9, [3.0] * 3 + [0.0] * 9)
    )
    # China: 2023 from March; in 2024 only April exports are non-zero -> last month 2024-04.
    ws.append(_census_row("2023", "5700", "China", [0.0, 0.0] + [9.0] * 10, z))
    ws.append(_census_row("2024", "5700", "China", z, [0.0, 0.0, 0.0, 2.5] + [0.0] * 8))
    path = tmp_path_factory.mktemp("census") / "country.xlsx"
    wb.save(path)
    return path.read_bytes()


WDI_TEXT = (
    '\ufeff"Data Source","World Development Indicators",\r\n\r\n'
    '"Last Updated Date","2025-03-24",\r\n\r\n'
    '"Country Name","Country Code","Indicator Name","Indicator Code","1960","1961","1962","1963",\r\n'
    '"Korea, Rep.","KOR","GDP growth (annual %)","NY.GDP.MKTP.KD.ZG","","3.5","2.1","",\r\n'
    '"Korea, Rep.","KOR","Trade (% of GDP)","NE.TRD.GNFS.ZS","","","4.0","",\r\n'
    # The other indicators the project needs (wdi.EXPECTED_INDICATORS), inside the same years.
    '"Korea, Rep.","KOR","Unemployment","SL.UEM.TOTL.ZS","","4.1","","",\r\n'
    '"Korea, Rep.","KOR","Official exchange rate","PA.NUS.FCRF","","130.0","","",\r\n'
    '"Korea, Rep.","KOR","Current account balance","BN.CAB.XOKA.GD.ZS","","","-1.0","",\r\n'
    '"Korea, Rep.","KOR","Merchandise exports","TX.VAL.MRCH.CD.WT","","41000000","","",\r\n'
)
WDI_BYTES = WDI_TEXT.encode("utf-8")


def make_wdi_zip(member_bytes: bytes = WDI_BYTES, *, with_data: bool = True) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if with_data:
            zf.writestr("API_KOR_DS2_en_csv_v2_99.csv", member_bytes)
        zf.writestr("Metadata_Country_API_KOR_DS2_en_csv_v2_99.csv", b'"Country Code","Region"\n')
        zf.writestr("Metadata_Indicator_API_KOR_DS2_en_csv_v2_99.csv", b'"INDICATOR_CODE"\n')
    return buf.getvalue()


HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Access Denied</title></head><body>no</body></html>\n"
)


def write_manifest(
    path: Path, *, census_known: list[bytes] = (), wdi_known: list[bytes] = (), url: str
) -> Path:
    def vintages(blobs):
        return [{"sha256": sha(b), "bytes": len(b), "note": "test vintage"} for b in blobs]

    doc = {
        "sources": [
            {
                "id": "census",
                "title": "Census test",
                "url": f"{url}/country.xlsx",
                "file": "country.xlsx",
                "mirror_path": "census/country.xlsx",
                "format": "xlsx",
                "license": "public domain",
                "attribution": "U.S. Census Bureau",
                "required": True,
                "known_vintages": vintages(census_known),
            },
            {
                "id": "wdi",
                "title": "WDI test",
                "url": f"{url}/wdi.zip",
                "file": "wdi_kor.csv",
                "mirror_path": "worldbank/API_KOR_DS2_en_csv_v2_99.csv",
                "format": "csv",
                "zip_member_glob": "API_KOR_DS2_*.csv",
                "license": "CC BY 4.0",
                "attribution": "World Bank",
                "required": False,
                "known_vintages": vintages(wdi_known),
            },
        ]
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Redirect every config path into tmp_path; fast download defaults; clean env."""
    monkeypatch.delenv(config.MIRROR_ENV, raising=False)
    monkeypatch.delenv("STRICT", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    raw = tmp_path / "data" / "raw"
    monkeypatch.setattr(config, "ROOT", tmp_path)
    monkeypatch.setattr(config, "RAW_DIR", raw)
    monkeypatch.setattr(config, "VINTAGE_LOG", raw / "vintages.csv")
    monkeypatch.setattr(config, "SOURCES_MANIFEST", tmp_path / "sources.json")
    monkeypatch.setattr(download, "DEFAULT_TIMEOUT", 2.0)
    monkeypatch.setattr(download, "DEFAULT_RETRIES", 2)
    monkeypatch.setattr(download, "DEFAULT_BACKOFF", 0.01)
    return raw


@pytest.fixture
def raw(isolated: Path) -> Path:
    return isolated


# ---- fixtures: a scriptable local HTTP server ----------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        srv = self.server
        with srv.lock:
            srv.hits[self.path] = srv.hits.get(self.path, 0) + 1
            plan = srv.routes.get(self.path)
            action = (plan.pop(0) if len(plan) > 1 else plan[0]) if plan else ("status", 404)
        kind, arg = action
        if kind == "ok":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(arg)))
            self.end_headers()
            self.wfile.write(arg)
        elif kind == "status":
            self.send_error(arg)
        elif kind == "drop":  # promise more than we send, then hang up
            self.send_response(200)
            self.send_header("Content-Length", str(len(arg) + 10_000))
            self.end_headers()
            self.wfile.write(arg[: len(arg) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif kind == "hang":
            time.sleep(arg)

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, list[tuple[str, object]]] = {}
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out and hung up is expected in these tests

    def route(self, path: str, *actions: tuple[str, object]) -> str:
        """Serve ``actions`` in turn at ``path`` (the last one repeats); return its URL."""
        self.routes[path] = list(actions)
        return self.url(path)

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture
def manifest() -> Path:
    """Test manifest: nothing pinned (every fixture file is an unknown vintage)."""
    return write_manifest(config.SOURCES_MANIFEST, url=closed_port_url())


# ---- manifest ------------------------------------------------------------------------------


def test_committed_manifest_describes_the_sources() -> None:
    sources = source_manifest.load_manifest(REAL_MANIFEST)
    assert list(sources) == [
        "census",
        "wdi",
        "steel_reference",
        "census_hs2_imports",
        "census_api_exports",
        "census_api_imports",
        "census_2016",
    ]
    steel, hs2 = sources["steel_reference"], sources["census_hs2_imports"]
    assert steel.url == "" and steel.required is False and steel.format == "tsv"
    assert hs2.format == "csv.gz" and hs2.required is False
    census, wdi = sources["census"], sources["wdi"]
    assert census.file == "country.xlsx" and census.mirror_path == "census/country.xlsx"
    assert census.format == "xlsx" and census.required is True and census.zip_member_glob is None
    assert census.url == "https://www.census.gov/foreign-trade/balance/country.xlsx"
    assert census.known(CENSUS_SHA).bytes == 1_756_074
    assert "public domain" in census.license.lower()
    assert wdi.file == "wdi_kor.csv" and wdi.format == "csv" and wdi.required is False
    assert wdi.mirror_path == "worldbank/API_KOR_DS2_en_csv_v2_15934.csv"
    assert wdi.zip_member_glob == "API_KOR_DS2_*.csv"
    assert wdi.known(WDI_SHA) is not None and "CC BY 4.0" in wdi.license
    assert census.known(WDI_SHA) is None


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda s: s.update(file="../x.xlsx"), "plain file name"),
        (lambda s: s.update(format="parquet"), "'format'"),
        (lambda s: s["known_vintages"].append({"sha256": "abc", "bytes": 1}), "64 lower-case hex"),
        (lambda s: s.update(url=5), "'url'"),
        (lambda s: s.update(mirror_path="/etc/passwd"), "mirror_path"),
    ],
)
def test_bad_manifest_is_a_one_line_data_error(tmp_path: Path, edit, problem: str) -> None:
    doc = json.loads(REAL_MANIFEST.read_text(encoding="utf-8"))
    edit(doc["sources"][0])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(DataError, match=problem) as err:
        source_manifest.load_manifest(path)
    assert "bad.json" in str(err.value) and "\n" not in str(err.value)


def test_missing_manifest_and_unknown_source(tmp_path: Path, manifest: Path) -> None:
    with pytest.raises(DataError, match="manifest not found"):
        source_manifest.load_manifest(tmp_path / "nope.json")
    with pytest.raises(ParameterError, match="census, wdi"):
        fetch.ensure("bogus")


# ---- download ------------------------------------------------------------------------------


def test_download_success_verified(server: _Server, tmp_path: Path) -> None:
    body = os.urandom(200_000)
    url = server.route("/f.bin", ("ok", body))
    dest = tmp_path / "dl" / "f.bin"
    out = download.download(url, dest, timeout=2, retries=0, expected_sha256=sha(body))
    assert out == dest and dest.read_bytes() == body
    assert leftovers(dest.parent) == ["f.bin"]


def test_download_progress_bar_only_when_asked(
    server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server.route("/f.bin", ("ok", b"z" * 300_000))
    download.download(url, tmp_path / "a.bin", timeout=2, retries=0)  # stderr is not a tty
    assert capsys.readouterr().err == ""
    download.download(url, tmp_path / "b.bin", timeout=2, retries=0, progress=True)
    err = capsys.readouterr().err
    assert err.startswith("\rb.bin [") and "100% 0.3/0.3 MB" in err and err.endswith("\n")


def test_download_404_is_not_retried(server: _Server, tmp_path: Path) -> None:
    url = server.url("/missing")
    with pytest.raises(SourceUnavailable, match="HTTP 404") as err:
        download.download(url, tmp_path / "f.bin", timeout=2, retries=3, backoff=0.01)
    assert server.hits["/missing"] == 1
    assert url in str(err.value) and "\n" not in str(err.value)
    assert leftovers(tmp_path) == []


def test_download_500_then_success_is_retried(server: _Server, tmp_path: Path) -> None:
    url = server.route("/flaky", ("status", 500), ("status", 503), ("ok", b"payload"))
    download.download(url, tmp_path / "f.bin", timeout=2, retries=2, backoff=0.01)
    assert server.hits["/flaky"] == 3
    assert (tmp_path / "f.bin").read_bytes() == b"payload"


def test_download_always_500_gives_up(server: _Server, tmp_path: Path) -> None:
    url = server.route("/down", ("status", 500))
    with pytest.raises(SourceUnavailable, match=r"HTTP 500 .*\(3 attempts\)"):
        download.download(url, tmp_path / "f.bin", timeout=2, retries=2, backoff=0.01)
    assert server.hits["/down"] == 3
    assert leftovers(tmp_path) == []


def test_download_dropped_mid_file_leaves_nothing(server: _Server, tmp_path: Path) -> None:
    url = server.route("/drop", ("drop", b"x" * 50_000))
    dest = tmp_path / "f.bin"
    with pytest.raises(SourceUnavailable, match="connection closed after 25,000 of 60,000 bytes"):
        download.download(url, dest, timeout=2, retries=1, backoff=0.01)
    assert server.hits["/drop"] == 2
    assert not dest.exists() and leftovers(tmp_path) == []


def test_download_drop_then_success(server: _Server, tmp_path: Path) -> None:
    url = server.route("/drop-once", ("drop", b"y" * 1000), ("ok", b"y" * 1000))
    download.download(url, tmp_path / "f.bin", timeout=2, retries=1, backoff=0.01)
    assert (tmp_path / "f.bin").read_bytes() == b"y" * 1000


def test_download_timeout_is_bounded(server: _Server, tmp_path: Path) -> None:
    url = server.route("/slow", ("hang", 1.0))
    start = time.monotonic()
    with pytest.raises(SourceUnavailable, match=r"\(2 attempts\)"):
        download.download(url, tmp_path / "f.bin", timeout=0.2, retries=1, backoff=0.01)
    assert time.monotonic() - start < 1.5
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("errno", "calls"), [(socket.EAI_NONAME, 1), (socket.EAI_AGAIN, 3)])
def test_download_unknown_host_is_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, errno: int, calls: int
) -> None:
    import urllib.error

    seen = []

    def fail(request, timeout):
        seen.append(request.full_url)
        raise urllib.error.URLError(socket.gaierror(errno, "resolver says no"))

    monkeypatch.setattr(download.urllib.request, "urlopen", fail)
    with pytest.raises(SourceUnavailable, match="gaierror: .*resolver says no"):
        download.download("https://example.invalid/x", tmp_path / "x", retries=2, backoff=0)
    assert len(seen) == calls
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("error", "calls"),
    [
        (http.client.BadStatusLine("HTTP/1.1 2OO bad"), 1),
        (http.client.LineTooLong("header line"), 1),
        (http.client.IncompleteRead(b"abc", 10), 3),
        (http.client.RemoteDisconnected("closed"), 3),
    ],
)
def test_download_retries_what_the_shared_policy_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception, calls: int
) -> None:
    seen = []

    def fail(request, timeout):
        seen.append(request.full_url)
        raise error

    monkeypatch.setattr(download.urllib.request, "urlopen", fail)
    with pytest.raises(SourceUnavailable, match=type(error).__name__) as err:
        download.download("https://example.invalid/x", tmp_path / "x", retries=2, backoff=0)
    assert len(seen) == calls and "\n" not in str(err.value)
    assert leftovers(tmp_path) == []


def test_download_expected_sha256_mismatch(server: _Server, tmp_path: Path) -> None:
    url = server.route("/f", ("ok", b"tampered"))
    with pytest.raises(ChecksumMismatch, match="differs from the expected"):
        download.download(
            url, tmp_path / "f.bin", timeout=2, retries=0, expected_sha256=sha(b"original")
        )
    assert leftovers(tmp_path) == []


# ---- ensure: download path -----------------------------------------------------------------


def read_log(raw: Path) -> list[dict[str, str]]:
    return source_manifest.read_vintage_log(raw / "vintages.csv")


def test_unknown_vintage_is_accepted_logged_and_announced(
    server: _Server,
    raw: Path,
    manifest: Path,
    census_bytes: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = server.route("/country.xlsx", ("ok", census_bytes))
    path = fetch.ensure("census", url_override=url)
    assert path == raw / "country.xlsx" and path.read_bytes() == census_bytes
    assert mode(path) == 0o444
    rows = read_log(raw)
    assert len(rows) == 1
    row = rows[0]
    assert row["source"] == "census" and row["sha256"] == sha(census_bytes)
    assert row["bytes"] == str(len(census_bytes)) and row["origin"] == url
    assert (row["first_month"], row["last_month"]) == ("2023-02", "2024-04")
    assert row["obtained_utc"].endswith("Z")
    err = capsys.readouterr().err
    assert "NEW VINTAGE" in err and "2023-02..2024-04" in err and err.count("\n") == 1
    assert leftovers(raw) == ["country.xlsx", "vintages.csv"]
    # The logged vintage now verifies, and a second run keeps the file without a download.
    assert fetch.verify("census") == sha(census_bytes)
    fetch.ensure("census", url_override=url)
    assert server.hits["/country.xlsx"] == 1 and len(read_log(raw)) == 1


def test_unknown_vintage_refused_with_strict(
    server: _Server, raw: Path, manifest: Path, census_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = server.route("/country.xlsx", ("ok", census_bytes))
    monkeypatch.setenv("STRICT", "1")
    with pytest.raises(ChecksumMismatch, match="STRICT=1") as err:
        fetch.ensure("census", url_override=url)
    assert "\n" not in str(err.value) and "country.xlsx" in str(err.value)
    assert leftovers(raw) == []  # no file, no log, no staging folder


def test_known_vintage_passes_without_log(
    server: _Server, raw: Path, census_bytes: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    write_manifest(config.SOURCES_MANIFEST, census_known=[census_bytes], url=closed_port_url())
    url = server.route("/country.xlsx", ("ok", census_bytes))
    fetch.ensure("census", url_override=url, strict=True)
    assert leftovers(raw) == ["country.xlsx"]
    err = capsys.readouterr().err
    assert "known vintage" in err and "NEW VINTAGE" not in err
    assert fetch.verify("census", strict=True) == sha(census_bytes)


def test_download_404_through_ensure(server: _Server, raw: Path, manifest: Path) -> None:
    with pytest.raises(SourceUnavailable, match="HTTP 404") as err:
        fetch.ensure("census", url_override=server.url("/gone.xlsx"))
    assert server.hits["/gone.xlsx"] == 1
    assert config.MIRROR_ENV in str(err.value) and "\n" not in str(err.value)
    assert leftovers(raw) == []


def test_ensure_mid_file_drop_leaves_nothing(
    server: _Server, raw: Path, manifest: Path, census_bytes: bytes
) -> None:
    url = server.route("/country.xlsx", ("drop", census_bytes))
    with pytest.raises(SourceUnavailable, match="connection closed"):
        fetch.ensure("census", url_override=url, retries=1)
    assert server.hits["/country.xlsx"] == 2
    assert leftovers(raw) == []


def test_html_page_downloaded_as_xlsx_is_rejected(
    server: _Server, raw: Path, manifest: Path
) -> None:
    url = server.route("/country.xlsx", ("ok", HTML_PAGE))
    with pytest.raises(DataError, match="not an xlsx workbook: it looks like an HTML page") as err:
        fetch.ensure("census", url_override=url)
    assert "country.xlsx" in str(err.value) and "\n" not in str(err.value)
    assert leftovers(raw) == []


def test_zip_download_is_unpacked(server: _Server, raw: Path, manifest: Path) -> None:
    url = server.route("/wdi.zip", ("ok", make_wdi_zip()))
    path = fetch.ensure("wdi", url_override=url)
    assert path == raw / "wdi_kor.csv" and path.read_bytes() == WDI_BYTES
    assert mode(path) == 0o444
    (row,) = read_log(raw)
    assert (row["source"], row["sha256"]) == ("wdi", sha(WDI_BYTES))
    assert (row["first_month"], row["last_month"]) == ("1961", "1962")
    assert leftovers(raw) == ["vintages.csv", "wdi_kor.csv"]


def test_zip_without_data_member_is_rejected(server: _Server, raw: Path, manifest: Path) -> None:
    url = server.route("/wdi.zip", ("ok", make_wdi_zip(with_data=False)))
    with pytest.raises(
        DataError, match=r"exactly one member matching 'API_KOR_DS2_\*\.csv', found 0"
    ):
        fetch.ensure("wdi", url_override=url)
    assert leftovers(raw) == []


def test_wdi_without_header_is_rejected(server: _Server, raw: Path, manifest: Path) -> None:
    url = server.route("/wdi.csv", ("ok", b"year,CTY_CODE\n1985,5800\n"))
    with pytest.raises(DataError, match="not a World Development Indicators CSV"):
        fetch.ensure("wdi", url_override=url)
    assert leftovers(raw) == []


# ---- ensure: mirror and existing files -----------------------------------------------------


def make_mirror(root: Path, census_bytes: bytes) -> Path:
    mirror = root / "shared" / "data"
    (mirror / "census").mkdir(parents=True)
    (mirror / "worldbank").mkdir()
    (mirror / "census" / "country.xlsx").write_bytes(census_bytes)
    (mirror / "worldbank" / "API_KOR_DS2_en_csv_v2_99.csv").write_bytes(WDI_BYTES)
    for p in [*mirror.rglob("*.*")]:
        p.chmod(0o444)
    return mirror


def test_mirror_copy_with_relative_path(
    tmp_path: Path, raw: Path, census_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_manifest(config.SOURCES_MANIFEST, census_known=[census_bytes], url=closed_port_url())
    mirror = make_mirror(tmp_path, census_bytes)
    src = mirror / "census" / "country.xlsx"
    before = src.stat()
    # Relative to the repository root (config.ROOT is tmp_path here), not to the cwd.
    monkeypatch.setenv(config.MIRROR_ENV, "shared/data")
    monkeypatch.chdir(tmp_path / "shared")
    path = fetch.ensure("census")
    assert path.read_bytes() == census_bytes and mode(path) == 0o444
    after = src.stat()
    assert (after.st_mtime_ns, after.st_mode, after.st_ino) == (
        before.st_mtime_ns,
        before.st_mode,
        before.st_ino,
    )
    assert src.read_bytes() == census_bytes
    # The WDI mirror file is the extracted CSV (no zip): copied as is, logged as new.
    path = fetch.ensure("wdi", mirror=mirror)
    assert path.read_bytes() == WDI_BYTES
    (row,) = read_log(raw)
    assert row["origin"] == f"mirror {mirror / 'worldbank' / 'API_KOR_DS2_en_csv_v2_99.csv'}"


def test_mirror_without_the_file_is_a_clear_error(
    tmp_path: Path, raw: Path, manifest: Path
) -> None:
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    with pytest.raises(SourceUnavailable, match="has no census/country.xlsx"):
        fetch.ensure("census", mirror=empty)
    assert leftovers(raw) == []


def test_existing_verified_file_is_kept_without_copy(
    tmp_path: Path, raw: Path, census_bytes: bytes
) -> None:
    write_manifest(config.SOURCES_MANIFEST, census_known=[census_bytes], url=closed_port_url())
    mirror = make_mirror(tmp_path, census_bytes)
    path = fetch.ensure("census", mirror=mirror)
    before = path.stat()
    # With the mirror gone and no network, the present verified file is simply kept.
    (mirror / "census" / "country.xlsx").unlink()
    assert fetch.ensure("census", mirror=mirror) == path
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_html_saved_as_country_xlsx_is_rejected(raw: Path, manifest: Path) -> None:
    raw.mkdir(parents=True)
    (raw / "country.xlsx").write_bytes(HTML_PAGE)
    with pytest.raises(DataError, match="not an xlsx workbook: it looks like an HTML page") as err:
        fetch.ensure("census")
    message = str(err.value)
    assert message.startswith("data/raw/country.xlsx: ") and "\n" not in message
    assert (raw / "country.xlsx").read_bytes() == HTML_PAGE  # the user's file is not deleted
    assert not (raw / "vintages.csv").exists()


def test_file_put_in_place_by_hand_is_adopted(
    raw: Path, manifest: Path, census_bytes: bytes
) -> None:
    raw.mkdir(parents=True)
    (raw / "country.xlsx").write_bytes(census_bytes)
    fetch.ensure("census")
    (row,) = read_log(raw)
    assert row["origin"].startswith("existing file") and mode(raw / "country.xlsx") == 0o444


# ---- verify --------------------------------------------------------------------------------


def test_verify_catches_a_tampered_file(raw: Path, census_bytes: bytes) -> None:
    write_manifest(config.SOURCES_MANIFEST, census_known=[census_bytes], url=closed_port_url())
    raw.mkdir(parents=True)
    path = raw / "country.xlsx"
    path.write_bytes(census_bytes)
    assert fetch.verify("census") == sha(census_bytes)
    path.write_bytes(census_bytes + b"\0")
    with pytest.raises(
        ChecksumMismatch, match="neither a known vintage nor in the vintage log"
    ) as err:
        fetch.verify("census", path)
    assert "\n" not in str(err.value)


def test_verify_file_checks_a_raw_file_by_its_name(
    raw: Path, census_bytes: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    # make's build/verified/<file>.ok: one file, by name, before any step reads it.
    from analysis.sources import acquire

    write_manifest(config.SOURCES_MANIFEST, census_known=[census_bytes], url=closed_port_url())
    raw.mkdir(parents=True)
    path = raw / "country.xlsx"
    assert acquire.main(["--verify-file", str(path)]) == 0  # absent: the reader says so
    path.write_bytes(census_bytes)
    assert acquire.main(["--verify-file", str(path)]) == 0
    path.write_bytes(census_bytes + b"\0")
    assert acquire.main(["--verify-file", str(path)]) == 2
    assert acquire.main(["--verify-file", str(raw / "other.csv")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "country.xlsx: sha256 " in err[0], err
    assert err[1].endswith("other.csv: not the file of any source in data/raw/sources.json")


def test_verify_missing_file(raw: Path, manifest: Path) -> None:
    with pytest.raises(DataError, match="not found; run `make data`"):
        fetch.verify("census")


def test_strict_verify_ignores_the_vintage_log(raw: Path, manifest: Path) -> None:
    raw.mkdir(parents=True)
    (raw / "wdi_kor.csv").write_bytes(WDI_BYTES)
    fetch.ensure("wdi")
    assert fetch.verify("wdi") == sha(WDI_BYTES)
    with pytest.raises(ChecksumMismatch, match="pinned in the manifest"):
        fetch.verify("wdi", strict=True)


# ---- command line --------------------------------------------------------------------------


def test_cli_no_network_no_mirror(
    raw: Path, manifest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert acquire.main(["census"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: census: cannot download http://127.0.0.1:")
    assert "set ANALYSIS_DATA_MIRROR to a folder laid out like ../shared/data" in err
    assert "put the file at data/raw/country.xlsx" in err
    assert leftovers(raw) == []


def test_cli_unknown_source(manifest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert acquire.main(["bogus"]) == 2
    assert capsys.readouterr().err.startswith("error: source 'bogus': unknown")


def test_cli_default_all_skips_a_failing_optional_source(
    tmp_path: Path,
    raw: Path,
    census_bytes: bytes,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_manifest(config.SOURCES_MANIFEST, census_known=[census_bytes], url=closed_port_url())
    mirror = make_mirror(tmp_path, census_bytes)
    (mirror / "worldbank" / "API_KOR_DS2_en_csv_v2_99.csv").unlink()
    monkeypatch.setenv(config.MIRROR_ENV, str(mirror))
    assert acquire.main([]) == 0
    assert "warning: wdi:" in capsys.readouterr().err
    assert leftovers(raw) == ["country.xlsx"]
    assert acquire.main(["wdi"]) == 2  # asked for explicitly: an error
    assert acquire.main(["--verify", "census"]) == 0


# ---- integration: the real mirror ----------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize(("source_id", "expected"), [("census", CENSUS_SHA), ("wdi", WDI_SHA)])
def test_real_mirror_gives_known_vintage(tmp_path: Path, source_id: str, expected: str) -> None:
    if REAL_MIRROR is None:
        pytest.skip(f"{config.MIRROR_ENV} is not set (point it at ../shared/data)")
    raw = tmp_path / "raw"
    path = fetch.ensure(
        source_id, mirror=REAL_MIRROR, raw_dir=raw, manifest=REAL_MANIFEST, strict=True
    )
    assert sha256_file(path) == expected
    assert fetch.verify(source_id, path, manifest=REAL_MANIFEST, strict=True) == expected
    assert leftovers(raw) == [path.name] and mode(path) == 0o444


@pytest.mark.integration
def test_real_census_coverage() -> None:
    if REAL_MIRROR is None:
        pytest.skip(f"{config.MIRROR_ENV} is not set (point it at ../shared/data)")
    assert census_source.census_coverage(REAL_MIRROR / "census" / "country.xlsx") == (
        "1985-01",
        "2024-06",
    )
    wdi = REAL_MIRROR / "worldbank" / "API_KOR_DS2_en_csv_v2_15934.csv"
    assert wdi_source.wdi_coverage(wdi) == ("1960", "2023")


def _mirror_only_source(fmt: str, file: str) -> source_manifest.Source:
    return source_manifest.Source(
        id="ref",
        title="t",
        url="",
        file=file,
        mirror_path=f"reference/{file}",
        format=fmt,
        license="",
        attribution="",
        required=False,
    )


def test_mirror_only_source_without_mirror_says_how_to_supply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANALYSIS_DATA_MIRROR", raising=False)
    src = _mirror_only_source("tsv", "table.tsv")
    with pytest.raises(
        SourceUnavailable, match="no official download address.*ANALYSIS_DATA_MIRROR"
    ):
        fetch.ensure("ref", manifest={"ref": src}, raw_dir=tmp_path / "raw")
    assert not list((tmp_path / "raw").glob("*"))


def test_tsv_and_gzip_content_checks(tmp_path: Path) -> None:
    import gzip

    tsv = _mirror_only_source("tsv", "table.tsv")
    good = tmp_path / "table.tsv"
    good.write_text("# note\nyear\tvalue\n2015\t4.40\n", encoding="utf-8")
    assert fetch.check_content(tsv, good) == ("", "")
    html = tmp_path / "page.tsv"
    html.write_text("<!DOCTYPE html><html>Not found</html>")
    with pytest.raises(DataError, match="not a tab-separated table"):
        fetch.check_content(tsv, html)
    gz = _mirror_only_source("csv.gz", "x.csv.gz")
    ok = tmp_path / "x.csv.gz"
    with gzip.open(ok, "wt") as fh:
        fh.write("I_COMMODITY,CTY_CODE,GEN_VAL_MO\n87,5800,100\n")
    assert fetch.check_content(gz, ok) == ("", "")
    with pytest.raises(DataError, match="not a gzip file"):
        fetch.check_content(gz, good)


def test_truncated_xlsx_is_named_as_such(tmp_path: Path) -> None:
    src = source_manifest.Source(
        id="census",
        title="t",
        url="",
        file="country.xlsx",
        mirror_path="census/country.xlsx",
        format="xlsx",
        license="",
        attribution="",
        required=True,
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>" * 500)
    path = tmp_path / "country.xlsx"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(DataError, match="truncated or corrupt xlsx workbook"):
        fetch.check_content(src, path)


# ---- finding 11: the README's order (present copy, then mirror, then official URL) ---------


def test_mirror_lacking_the_file_falls_through_to_the_official_url(
    tmp_path: Path, server: _Server, raw: Path, census_bytes: bytes
) -> None:
    url = server.route("/country.xlsx", ("ok", census_bytes))
    write_manifest(config.SOURCES_MANIFEST, census_known=[census_bytes], url=server.url())
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    path = fetch.ensure("census", mirror=empty)
    assert path.read_bytes() == census_bytes and server.hits["/country.xlsx"] == 1
    assert url.endswith("/country.xlsx")


def test_mirror_lacking_the_file_and_no_network_names_both_places(
    tmp_path: Path,
    raw: Path,
    manifest: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    monkeypatch.setenv(config.MIRROR_ENV, str(empty))
    assert acquire.main(["census"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{empty} has no census/country.xlsx" in err
    assert "cannot download http://127.0.0.1:" in err and "/country.xlsx" in err
    assert leftovers(raw) == []


# ---- a symbolic link in data/raw ------------------------------------------------------------


@pytest.fixture
def linked(
    raw: Path, census_bytes: bytes, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """``data/raw/country.xlsx`` -> a writable file outside the repository (someone's copy)."""
    outside = tmp_path_factory.mktemp("elsewhere") / "country.xlsx"
    outside.write_bytes(census_bytes)
    outside.chmod(0o664)
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "country.xlsx").symlink_to(outside)
    return raw / "country.xlsx", outside


@pytest.mark.parametrize("pinned", [True, False])
def test_a_symlink_in_raw_is_verified_but_its_target_is_left_untouched(
    linked: tuple[Path, Path],
    census_bytes: bytes,
    capsys: pytest.CaptureFixture[str],
    pinned: bool,
) -> None:
    """``acquire census`` used to chmod the file outside the repository read-only and name
    it by its absolute path; the link is now checked like any raw file and left as it is."""
    link, outside = linked
    write_manifest(
        config.SOURCES_MANIFEST,
        census_known=[census_bytes] if pinned else [],
        url=closed_port_url(),
    )
    assert acquire.main(["census"]) == 0
    assert mode(outside) == 0o664 and link.is_symlink()
    err = capsys.readouterr().err
    assert str(outside.parent) not in err and "data/raw/country.xlsx" in err
    if pinned:
        assert "census: data/raw/country.xlsx present (a symbolic link, left as it is)" in err
    assert acquire.main(["--verify", "census"]) == 0
    assert str(outside.parent) not in capsys.readouterr().err


def test_a_symlink_in_raw_is_verified_by_its_readers(linked: tuple[Path, Path]) -> None:
    """A link is a project raw file: its reader verifies the content it points to."""
    link, outside = linked
    write_manifest(config.SOURCES_MANIFEST, url=closed_port_url())  # nothing pinned or logged
    assert fetch.is_project_raw(link)
    with pytest.raises(ChecksumMismatch) as err, fetch.checked_use("census", link):
        pass
    assert str(err.value).startswith("data/raw/country.xlsx: ")
    assert source_manifest.show(link) == "data/raw/country.xlsx"
    assert mode(outside) == 0o664
