"""Obtain the raw data files reproducibly: ``make data`` (``python -m analysis.sources.acquire``).

The committed manifest ``data/raw/sources.json`` lists each source: its official URL, the
file name under ``data/raw/``, its path in a local mirror, licence and the sha256 of every
known published vintage. For each requested source, :func:`ensure`:

1. keeps ``data/raw/<file>`` if it is there and its sha256 verifies (a vintage pinned in the
   manifest, or one recorded earlier in the machine-local vintage log ``data/raw/vintages.csv``);
2. otherwise copies it from ``$ANALYSIS_DATA_MIRROR/<mirror_path>`` when that variable is set;
3. otherwise downloads it from the official URL (timeout, retries with backoff on 5xx and
   connection errors, never on 4xx), into a staging folder inside ``data/raw/``.

A zip archive (the World Bank serves one) is unpacked to get the data member. Before an
unknown vintage is accepted its content is sanity-checked (a real Census workbook with the
expected columns; a WDI CSV with the WDI header); it is then recorded in the vintage log and
announced on stderr, or refused when ``STRICT=1``. The final file is moved into place only
when complete and verified, and made read-only (raw data is immutable). Files in the mirror
are only ever read.

:func:`verify` is what the cleaning step calls, so that a raw file modified after it was
obtained is caught before it is used.

Command line::

    python -m analysis.sources.acquire            # every source in the manifest
    python -m analysis.sources.acquire census     # only data/raw/country.xlsx
    python -m analysis.sources.acquire --verify   # check the files present, obtain nothing

Standard library only at import time (openpyxl is imported lazily, pandas never), so the
command starts fast.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import fnmatch
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import stat
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from analysis import __version__, config
from analysis.errors import (
    AnalysisError,
    ChecksumMismatch,
    DataError,
    ParameterError,
    SourceUnavailable,
)
from analysis.fileio import sha256_file

#: Columns of the machine-local vintage log ``data/raw/vintages.csv``.
VINTAGE_LOG_COLUMNS: tuple[str, ...] = (
    "source",
    "obtained_utc",
    "bytes",
    "sha256",
    "first_month",
    "last_month",
    "origin",
)

_MONTHS: tuple[str, ...] = (
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
)  # fmt: skip
#: Header columns a Census ``country.xlsx`` sheet must have.
CENSUS_COLUMNS: tuple[str, ...] = (
    "year",
    "CTY_CODE",
    "CTYNAME",
    *(f"I{m}" for m in _MONTHS),
    "IYR",
    *(f"E{m}" for m in _MONTHS),
    "EYR",
)

#: First bytes of a WDI bulk CSV (after an optional UTF-8 byte order mark).
WDI_HEADER: bytes = b'"Data Source","World Development Indicators"'
ZIP_MAGIC: bytes = b"PK\x03\x04"
UTF8_BOM: bytes = b"\xef\xbb\xbf"

#: Download defaults (read at call time, so tests can shorten them).
DEFAULT_TIMEOUT: float = 60.0
DEFAULT_RETRIES: int = 3
DEFAULT_BACKOFF: float = 1.0
USER_AGENT: str = f"korus-trade/{__version__} (reproducible research; Python urllib)"
_CHUNK: int = 1 << 16
_FORMATS: frozenset[str] = frozenset({"xlsx", "csv", "tsv", "csv.gz"})
GZIP_MAGIC = b"\x1f\x8b"
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


# ---- manifest ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Vintage:
    """One published version of a source file, pinned by its sha256."""

    sha256: str
    bytes: int
    note: str = ""


@dataclass(frozen=True)
class Source:
    """One raw data source as described in ``data/raw/sources.json``."""

    id: str
    title: str
    url: str
    file: str
    mirror_path: str
    format: str
    license: str
    attribution: str
    required: bool
    known_vintages: tuple[Vintage, ...] = ()
    zip_member_glob: str | None = None

    def known(self, sha256: str) -> Vintage | None:
        """The pinned vintage with this sha256, or None."""
        for v in self.known_vintages:
            if v.sha256 == sha256:
                return v
        return None


def load_manifest(path: str | Path | None = None) -> dict[str, Source]:
    """Read and validate the source manifest; return the sources by id, in file order.

    ``path`` defaults to ``config.SOURCES_MANIFEST`` (``data/raw/sources.json``).
    Raises ``DataError`` naming the file and the problem if it is missing or malformed.
    """
    path = Path(path) if path is not None else config.SOURCES_MANIFEST
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(path, "source manifest not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(path, f"cannot read the source manifest: {exc}") from None
    entries = doc.get("sources") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        raise DataError(path, 'expected an object with a non-empty list "sources"')
    sources: dict[str, Source] = {}
    for i, entry in enumerate(entries):
        src = _parse_source(path, i, entry)
        if src.id in sources:
            raise DataError(path, f"source id {src.id!r} appears twice")
        sources[src.id] = src
    return sources


def _parse_source(path: Path, index: int, entry: Any) -> Source:
    where = f"sources[{index}]"
    if not isinstance(entry, dict):
        raise DataError(path, f"{where}: expected an object")

    def text(key: str, *, optional: bool = False) -> str | None:
        value = entry.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise DataError(path, f"{where}: {key!r} must be a non-empty string")
        return value.strip()

    sid = text("id")
    where = f"source {sid!r}"
    file = text("file")
    mirror_path = text("mirror_path")
    fmt = text("format")
    assert sid and file and mirror_path and fmt  # for the type checker; text() raised otherwise
    if Path(file).name != file or file.startswith("."):
        raise DataError(path, f"{where}: 'file' must be a plain file name, got {file!r}")
    mp = Path(mirror_path)
    if mp.is_absolute() or ".." in mp.parts:
        raise DataError(
            path, f"{where}: 'mirror_path' must be relative inside the mirror, got {mirror_path!r}"
        )
    if fmt not in _FORMATS:
        raise DataError(path, f"{where}: 'format' must be one of {sorted(_FORMATS)}, got {fmt!r}")
    required = entry.get("required", False)
    if not isinstance(required, bool):
        raise DataError(path, f"{where}: 'required' must be true or false")
    vintages = []
    for j, v in enumerate(entry.get("known_vintages") or []):
        sha = v.get("sha256") if isinstance(v, dict) else None
        size = v.get("bytes") if isinstance(v, dict) else None
        if not isinstance(sha, str) or not _SHA256_RE.match(sha):
            raise DataError(
                path, f"{where}: known_vintages[{j}].sha256 must be 64 lower-case hex digits"
            )
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise DataError(path, f"{where}: known_vintages[{j}].bytes must be a positive integer")
        vintages.append(Vintage(sha256=sha, bytes=size, note=str(v.get("note", ""))))
    return Source(
        id=sid,
        title=text("title") or "",
        url=text("url", optional=True) or "",
        file=file,
        mirror_path=mirror_path,
        format=fmt,
        license=text("license") or "",
        attribution=text("attribution") or "",
        required=required,
        known_vintages=tuple(vintages),
        zip_member_glob=text("zip_member_glob", optional=True),
    )


def _get_source(source_id: str, manifest: str | Path | dict[str, Source] | None) -> Source:
    sources = manifest if isinstance(manifest, dict) else load_manifest(manifest)
    try:
        return sources[source_id]
    except KeyError:
        raise ParameterError(
            f"source {source_id!r}: unknown; the manifest lists {', '.join(sources)}"
        ) from None


# ---- vintage log -------------------------------------------------------------------------


def read_vintage_log(path: str | Path | None = None) -> list[dict[str, str]]:
    """Rows of the vintage log (``config.VINTAGE_LOG`` by default); [] if it does not exist."""
    path = Path(path) if path is not None else config.VINTAGE_LOG
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None:
                return []
            if tuple(reader.fieldnames) != VINTAGE_LOG_COLUMNS:
                raise DataError(path, f"vintage log header must be {','.join(VINTAGE_LOG_COLUMNS)}")
            return list(reader)
    except FileNotFoundError:
        return []


def append_vintage_log(path: str | Path, row: dict[str, str | int]) -> None:
    """Append one row to the vintage log, writing the header if the log is new.

    The log is append-only: the row is written with one ``write`` under an exclusive lock,
    so two ``make -j`` jobs cannot interleave or lose rows.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", newline="", encoding="utf-8") as fh, _locked(fh):
        fh.seek(0, os.SEEK_END)
        lines = []
        if fh.tell() == 0:
            lines.append(",".join(VINTAGE_LOG_COLUMNS) + "\n")
        buf = _CsvLine()
        csv.writer(buf, lineterminator="\n").writerow([row[c] for c in VINTAGE_LOG_COLUMNS])
        lines.append(buf.text)
        fh.write("".join(lines))
        fh.flush()
        os.fsync(fh.fileno())


class _CsvLine:
    """Minimal text sink for ``csv.writer``."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> None:
        self.text += s


@contextlib.contextmanager
def _locked(fh: Any) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _logged_hashes(source_id: str, log_path: Path) -> set[str]:
    return {r["sha256"] for r in read_vintage_log(log_path) if r.get("source") == source_id}


# ---- verification ------------------------------------------------------------------------


def strict_from_env() -> bool:
    """True when ``STRICT`` is set to 1/true/yes/on: only manifest vintages are accepted."""
    return os.environ.get("STRICT", "").strip().lower() in {"1", "true", "yes", "on"}


def verify(
    source_id: str,
    path: Path | None = None,
    *,
    manifest: str | Path | dict[str, Source] | None = None,
    vintage_log: str | Path | None = None,
    strict: bool | None = None,
) -> str:
    """Return the sha256 of a raw file if it is a vintage we accepted; else raise.

    ``path`` defaults to ``data/raw/<file>`` of the source. The hash must be a vintage
    pinned in the manifest or (unless ``STRICT=1``) one recorded in the vintage log.
    Raises ``ChecksumMismatch`` for any other hash (the raw file was modified, or obtained
    outside ``make data``) and ``DataError`` if the file is missing.
    """
    src = _get_source(source_id, manifest)
    path = Path(path) if path is not None else config.RAW_DIR / src.file
    log_path = Path(vintage_log) if vintage_log is not None else config.VINTAGE_LOG
    strict = strict_from_env() if strict is None else strict
    if not path.is_file():
        raise DataError(
            _show(path), f"raw file for {src.id!r} not found; run `make data` to obtain it"
        )
    digest = sha256_file(path)
    if src.known(digest) or (not strict and digest in _logged_hashes(src.id, log_path)):
        return digest
    if strict:
        problem = f"sha256 {digest[:16]}... is not a vintage pinned in the manifest (STRICT=1)"
    else:
        problem = (
            f"sha256 {digest[:16]}... is neither a known vintage nor in the vintage log "
            f"{_show(log_path)}; the raw file was changed: delete it and run `make data`"
        )
    raise ChecksumMismatch(_show(path), problem)


# ---- content checks ----------------------------------------------------------------------


def _sniff(head: bytes) -> str:
    """A short description of what the first bytes of a file look like."""
    if not head:
        return "it is empty"
    low = head.lstrip(UTF8_BOM).lstrip().lower()
    if low.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")) or b"<html" in low[:1024]:
        return "it looks like an HTML page (an error or login page saved under this name?)"
    if head.startswith(ZIP_MAGIC):
        return "it is a zip archive"
    return f"it starts with {head[:24]!r}"


def check_content(source: Source, path: str | Path, label: str | None = None) -> tuple[str, str]:
    """Sanity-check a candidate file for ``source``; return its (first, last) period.

    Census: a real xlsx workbook with a sheet whose header has ``CENSUS_COLUMNS``; the
    period is ``YYYY-MM`` (first non-zero month of the earliest year, last non-zero month of
    the latest year). WDI: a CSV starting with the WDI header; the period is the first and
    last year column holding data (``YYYY``). Raises ``DataError`` naming ``label`` (or the
    path) with a one-line problem.
    """
    path = Path(path)
    label = label or _show(path)
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if source.format == "xlsx":
        if head.startswith(ZIP_MAGIC) and not zipfile.is_zipfile(path):
            raise DataError(label, "truncated or corrupt xlsx workbook (the zip archive is incomplete)")
        if not head.startswith(ZIP_MAGIC):
            raise DataError(label, f"not an xlsx workbook: {_sniff(head)}")
        return census_coverage(path, label=label)
    if source.format == "csv":
        if not head.lstrip(UTF8_BOM).startswith(WDI_HEADER):
            raise DataError(
                label,
                f"not a World Development Indicators CSV (expected it to start with "
                f"{WDI_HEADER.decode()}): {_sniff(head)}",
            )
        return wdi_coverage(path, label=label)
    if source.format == "tsv":
        # A small hand-compiled table: UTF-8 text, tab-separated, `#` comment lines.
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise DataError(label, "not a UTF-8 text table") from None
        rows = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        if head.lstrip().lower().startswith((b"<!doctype", b"<html")) or not rows or "\t" not in rows[0]:
            raise DataError(label, f"not a tab-separated table: {_sniff(head)}")
        return "", ""
    if source.format == "csv.gz":
        import gzip

        if not head.startswith(GZIP_MAGIC):
            raise DataError(label, f"not a gzip file: {_sniff(head)}")
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                first = fh.readline()
        except (OSError, EOFError) as exc:
            raise DataError(label, f"unreadable gzip: {exc}") from None
        if "CTY_CODE" not in first:
            raise DataError(label, "not a Census API extract (no CTY_CODE column in the header)")
        return "", ""
    raise DataError(label, f"unsupported format {source.format!r}")  # pragma: no cover


def census_coverage(path: str | Path, *, label: str | None = None) -> tuple[str, str]:
    """First and last published month (``YYYY-MM``) of a Census ``country.xlsx``.

    Reads the workbook cheaply (openpyxl read-only, values only): the years come from the
    ``year`` column; the months from the non-zero ``I``/``E`` monthly cells of the earliest
    and latest years over all rows (Census fills unpublished months with 0).
    """
    import warnings

    from openpyxl import load_workbook

    label = label or _show(Path(path))
    fh = open(path, "rb")  # a file object: openpyxl then does not insist on the .xlsx suffix
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = load_workbook(fh, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        fh.close()
        raise DataError(
            label, f"not a readable xlsx workbook: {type(exc).__name__}: {exc}"
        ) from None
    try:
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            header = next(rows, None)
            if header is None:
                continue
            names = [str(h).strip() if h is not None else "" for h in header]
            if not set(CENSUS_COLUMNS) <= set(names):
                continue
            iyear = names.index("year")
            month_cols = [
                (m, names.index(f"I{mon}"), names.index(f"E{mon}"))
                for m, mon in enumerate(_MONTHS, 1)
            ]
            masks: dict[int, int] = {}
            for row in rows:
                year = _as_year(row[iyear] if iyear < len(row) else None)
                if year is None:
                    continue
                mask = masks.get(year, 0)
                for m, ci, ce in month_cols:
                    if _nonzero(row, ci) or _nonzero(row, ce):
                        mask |= 1 << (m - 1)
                masks[year] = mask
            published = {y: mk for y, mk in masks.items() if mk}
            if not published:
                raise DataError(label, f"sheet {ws.title!r} has no non-zero monthly values")
            y0, y1 = min(published), max(published)
            m0 = (published[y0] & -published[y0]).bit_length()
            m1 = published[y1].bit_length()
            return f"{y0:04d}-{m0:02d}", f"{y1:04d}-{m1:02d}"
    finally:
        wb.close()
        fh.close()
    raise DataError(
        label,
        f"no sheet has the Census columns {CENSUS_COLUMNS[0]}, {CENSUS_COLUMNS[1]}, "
        f"{CENSUS_COLUMNS[2]}, IJAN..IDEC, IYR, EJAN..EDEC, EYR (sheets: {', '.join(wb.sheetnames)})",
    )


def _as_year(value: Any) -> int | None:
    try:
        year = int(str(value).strip().split(".")[0])
    except (TypeError, ValueError):
        return None
    return year if 1000 <= year <= 9999 else None


def _nonzero(row: tuple[Any, ...], i: int) -> bool:
    if i >= len(row) or row[i] is None or row[i] == "":
        return False
    try:
        return float(row[i]) != 0.0
    except (TypeError, ValueError):
        return False


def wdi_coverage(path: str | Path, *, label: str | None = None) -> tuple[str, str]:
    """First and last year (``YYYY``) with any value in a WDI bulk CSV."""
    label = label or _show(Path(path))
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        years: list[tuple[int, str]] = []
        for row in reader:
            if row[:1] == ["Country Name"]:
                years = [(i, h.strip()) for i, h in enumerate(row) if h.strip().isdigit()]
                break
        if not years:
            raise DataError(label, 'no "Country Name" header row with year columns')
        seen: set[str] = set()
        for row in reader:
            for i, year in years:
                if i < len(row) and row[i].strip():
                    seen.add(year)
    if not seen:
        raise DataError(label, "no indicator has any value")
    return min(seen), max(seen)


# ---- download ----------------------------------------------------------------------------


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
    ``4 * backoff``, ... seconds; client errors such as 404 are not retried.
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
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            with _temp_file(dest) as (tmp, out):
                h = hashlib.sha256()
                request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
                with urllib.request.urlopen(request, timeout=timeout) as resp:
                    total = _content_length(resp)
                    bar = _Progress(dest.name, total) if progress else None
                    got = 0
                    try:
                        while block := resp.read(_CHUNK):
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
            if exc.code < 500 and exc.code != 429:
                raise SourceUnavailable(f"{url}: {last}") from None
        except _Retryable as exc:
            last = str(exc)
        except urllib.error.URLError as exc:
            last = (
                f"{type(exc.reason).__name__}: {exc.reason}"
                if isinstance(exc.reason, BaseException)
                else str(exc.reason)
            )
            if isinstance(exc.reason, socket.gaierror) and exc.reason.errno == socket.EAI_NONAME:
                # The host name does not exist (or there is no network at all): retrying
                # cannot help. A temporary resolver failure (EAI_AGAIN) is retried.
                raise SourceUnavailable(f"{url}: {last}") from None
        except (http.client.HTTPException, ConnectionError, TimeoutError) as exc:
            last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except OSError as exc:  # local trouble (disk full, permissions): not worth retrying
            raise SourceUnavailable(f"{url}: cannot save to {_show(dest)}: {exc}") from None
    attempts = f"{retries + 1} attempts" if retries else "1 attempt"
    raise SourceUnavailable(f"{url}: {last} ({attempts})")


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


# ---- obtaining a source ------------------------------------------------------------------


def _resolve_mirror(mirror: str | Path | None) -> Path | None:
    if mirror is None:
        return config.mirror_dir()
    path = Path(mirror).expanduser()
    return (path if path.is_absolute() else config.ROOT / path).resolve()


def _how_to_supply(src: Source, dest: Path) -> str:
    return (
        f"to supply it without network, set {config.MIRROR_ENV} to a folder laid out like "
        f"../shared/data (holding {src.mirror_path}) or put the file at {_show(dest)}, "
        f"then run `make data` again"
    )


def _extract_member(src: Source, archive: Path, staging: Path, label: str) -> Path:
    """Extract the one member matching ``src.zip_member_glob`` from a zip into ``staging``."""
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            hits = [n for n in names if fnmatch.fnmatch(Path(n).name, src.zip_member_glob or "")]
            if len(hits) != 1:
                raise DataError(
                    label,
                    f"zip archive should hold exactly one member matching {src.zip_member_glob!r}, "
                    f"found {len(hits)} (members: {', '.join(names) or 'none'})",
                )
            out = staging / "unzipped" / Path(hits[0]).name
            out.parent.mkdir(exist_ok=True)
            with zf.open(hits[0]) as member, open(out, "wb") as fh:
                shutil.copyfileobj(member, fh, _CHUNK)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise DataError(label, f"cannot unpack the zip archive: {exc}") from None
    return out


def ensure(
    source_id: str,
    *,
    mirror: str | Path | None = None,
    strict: bool | None = None,
    url_override: str | None = None,
    raw_dir: str | Path | None = None,
    manifest: str | Path | dict[str, Source] | None = None,
    vintage_log: str | Path | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    backoff: float | None = None,
) -> Path:
    """Make sure ``<raw_dir>/<file>`` of a source exists and verifies; return its path.

    Order: keep a present file whose sha256 is pinned in the manifest or recorded in the
    vintage log; else copy from the mirror (``mirror``, default ``$ANALYSIS_DATA_MIRROR``;
    a relative path means relative to the repository root); else download from the official
    URL (or ``url_override``). An unknown vintage passes the content check, then is recorded
    in the vintage log and announced on stderr, or refused with ``ChecksumMismatch`` when
    ``strict`` (default: ``STRICT=1`` in the environment); refused or broken downloads leave
    nothing in ``raw_dir``. A file already present that is not a verified vintage (for
    example one put there by hand) is checked and adopted the same way, never overwritten.

    ``raw_dir`` defaults to ``config.RAW_DIR``; the vintage log to ``<raw_dir>/vintages.csv``.
    """
    src = _get_source(source_id, manifest)
    raw = Path(raw_dir) if raw_dir is not None else config.RAW_DIR
    log_path = Path(vintage_log) if vintage_log is not None else raw / config.VINTAGE_LOG.name
    strict = strict_from_env() if strict is None else strict
    dest = raw / src.file

    if dest.exists():
        digest = sha256_file(dest)
        if _accepted(src, digest, log_path, strict):
            _make_read_only(dest)
            _say(f"{src.id}: {_show(dest)} present, {_describe_known(src, digest)}")
            return dest
        _accept_unknown(
            src, dest, dest, digest, log_path, strict, origin=f"existing file {_show(dest)}"
        )
        _make_read_only(dest)
        return dest

    raw.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".acquire-{src.id}-", dir=raw))
    try:
        mirror_root = _resolve_mirror(mirror)
        if mirror_root is not None:
            origin_path = mirror_root / src.mirror_path
            if not origin_path.is_file():
                raise SourceUnavailable(
                    f"{src.id}: {config.MIRROR_ENV}={mirror_root} has no {src.mirror_path}; "
                    f"point it at a folder laid out like ../shared/data"
                    + (f", or unset it to download from {src.url}" if src.url else "")
                )
            fetched = staging / src.file
            shutil.copyfile(origin_path, fetched)  # reads the mirror; never touches it otherwise
            origin = f"mirror {origin_path}"
        else:
            url = url_override or src.url
            if not url:
                raise SourceUnavailable(
                    f"{src.id}: no official download address (the file is a compilation kept in "
                    f"the data mirror); {_how_to_supply(src, dest)}"
                )
            fetched = staging / src.file
            try:
                download(url, fetched, timeout=timeout, retries=retries, backoff=backoff)
            except SourceUnavailable as exc:
                raise SourceUnavailable(
                    f"{src.id}: cannot download {exc}; {_how_to_supply(src, dest)}"
                ) from None
            origin = url
        label = f"{src.file} from {origin}"

        candidate = fetched
        if src.zip_member_glob and _head(fetched, 4) == ZIP_MAGIC:
            candidate = _extract_member(src, fetched, staging, label)
            label = f"{candidate.name} (in the zip) from {origin}"

        digest = sha256_file(candidate)
        if _accepted(src, digest, log_path, strict):
            _make_read_only(candidate)
            os.replace(candidate, dest)
            _say(f"{src.id}: {_show(dest)} from {origin}, {_describe_known(src, digest)}")
            return dest
        _accept_unknown(src, candidate, dest, digest, log_path, strict, origin=origin, label=label)
        _make_read_only(candidate)
        os.replace(candidate, dest)
        return dest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _accepted(src: Source, digest: str, log_path: Path, strict: bool) -> bool:
    return src.known(digest) is not None or (
        not strict and digest in _logged_hashes(src.id, log_path)
    )


def _describe_known(src: Source, digest: str) -> str:
    v = src.known(digest)
    if v is not None:
        return f"sha256 ok (known vintage{': ' + v.note if v.note else ''})"
    return f"sha256 ok (vintage {digest[:12]} recorded in the vintage log)"


def _accept_unknown(
    src: Source,
    candidate: Path,
    dest: Path,
    digest: str,
    log_path: Path,
    strict: bool,
    *,
    origin: str,
    label: str | None = None,
) -> None:
    """Check an unknown vintage's content, then log and announce it, or refuse it."""
    first, last = check_content(src, candidate, label=label or _show(dest))
    size = candidate.stat().st_size
    if strict:
        pinned = ", ".join(v.sha256[:12] for v in src.known_vintages) or "none"
        raise ChecksumMismatch(
            label or _show(dest),
            f"sha256 {digest[:16]}... ({size:,} bytes, {first}..{last}) is not a vintage pinned "
            f"in the manifest ({pinned}); refused because STRICT=1",
        )
    append_vintage_log(
        log_path,
        {
            "source": src.id,
            "obtained_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "bytes": size,
            "sha256": digest,
            "first_month": first,
            "last_month": last,
            "origin": origin,
        },
    )
    _say(
        f"{src.id}: NEW VINTAGE {_show(dest)} from {origin}: sha256 {digest[:16]}..., "
        f"{size:,} bytes, {first}..{last}; not pinned in the manifest, recorded in {_show(log_path)} (STRICT=1 refuses unknown vintages)"
    )


def _head(path: Path, n: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _make_read_only(path: Path) -> None:
    """Raw data is immutable: r--r--r--. Ignored if we do not own the file."""
    with contextlib.suppress(OSError):
        os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def _show(path: Path) -> str:
    """A path for messages: relative to the repository root when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path(config.ROOT).resolve()))
    except ValueError:
        return str(path)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- command line ------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring). Returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis.sources.acquire",
        description="Obtain and verify the raw data files listed in data/raw/sources.json.",
    )
    parser.add_argument("ids", nargs="*", metavar="ID", help="source ids (default: all)")
    parser.add_argument(
        "--verify", action="store_true", help="only check the sha256 of the files present"
    )
    args = parser.parse_args(argv)
    try:
        sources = load_manifest()
        for sid in args.ids:
            _get_source(sid, sources)
        ids = args.ids or list(sources)
        for sid in ids:
            try:
                if args.verify:
                    digest = verify(sid, manifest=sources)
                    _say(
                        f"{sid}: {_show(config.RAW_DIR / sources[sid].file)} {_describe_known(sources[sid], digest)}"
                    )
                else:
                    ensure(sid, manifest=sources)
            except AnalysisError as exc:
                if args.ids or sources[sid].required:
                    raise
                _say(f"warning: {exc} (optional source, skipped)")
        return 0
    except AnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
