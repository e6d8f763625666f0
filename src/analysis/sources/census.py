"""U.S. Census Bureau country table (``country.xlsx``): its layout, content checks and reader.

The Foreign Trade Division publishes U.S. goods trade by partner as one wide table: one row
per partner and year, columns ``year, CTY_CODE, CTYNAME, IJAN..IDEC, IYR, EJAN..EDEC, EYR``
(older vintages also as CSV). :func:`read_census_table` returns the cells as stored; the
validation and reshaping are in :mod:`analysis.clean.census`.

**Months and the calendar.** Census publishes a month for every partner at once, about five
weeks after it ends, and fills the months it has not published yet with 0. A month with trade
(any non-zero ``I``/``E`` cell) that had not ended by the file's publication date cannot be
Census data, and the file is refused with one line naming the partner and the month
(:func:`census_coverage` at acquisition, :func:`analysis.clean.census.check_calendar` in
cleaning). The publication date (:func:`publication_date`) is the earlier of today and the
file's own date: the latest date the workbook carries (its document properties'
``modified``/``created`` and its zip members' timestamps; a CSV carries none). The latest,
not the ``modified`` property alone: Census's own file keeps a stale one (the 2024-06 vintage
says ``modified 2023-07-07``, its zip members are dated 2024-07-29). Which months count as
published, per partner, is decided in cleaning (:mod:`analysis.clean.census`).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple
from xml.etree import ElementTree

import pandas as pd

from analysis.errors import DataError
from analysis.sources import fetch, formats
from analysis.sources.manifest import show

SOURCE_ID = "census"

MONTHS: tuple[str, ...] = (
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
)  # fmt: skip
IMPORT_MONTHS: tuple[str, ...] = tuple(f"I{m}" for m in MONTHS)
EXPORT_MONTHS: tuple[str, ...] = tuple(f"E{m}" for m in MONTHS)
ID_COLUMNS: tuple[str, ...] = ("year", "CTY_CODE", "CTYNAME")
VALUE_COLUMNS: tuple[str, ...] = (*IMPORT_MONTHS, "IYR", *EXPORT_MONTHS, "EYR")
#: The columns of the Census country table, in the published order.
WIDE_COLUMNS: tuple[str, ...] = (*ID_COLUMNS, *VALUE_COLUMNS)
CENSUS_COLUMNS = WIDE_COLUMNS
_MONTHS = MONTHS

#: Earliest year accepted as plausible (Census monthly partner data start in 1985).
MIN_YEAR: int = 1960


# ---- the calendar: no month that had not ended by the file's publication date ----------------

#: Dates of a workbook's document properties (``docProps/core.xml``).
_CORE_PROPERTIES = "docProps/core.xml"
_DCTERMS = "{http://purl.org/dc/terms/}"
#: A larger core.xml is not read (a real one is under 1 kB).
_CORE_MAX_BYTES = 1_000_000
#: Longest partner name shown in a message.
_NAME_MAX = 60
#: Zip (DOS) timestamps start on 1980-01-01, which writers use for "no date": ignored.
_DOS_EPOCH = _dt.date(1980, 1, 1)


class PublicationDate(NamedTuple):
    """The date by which every month with data must have ended, and where it comes from
    (``"the file's own date"`` or ``"today"``)."""

    date: _dt.date
    source: str


def _core_property_dates(zf: zipfile.ZipFile) -> list[_dt.date]:
    try:
        info = zf.getinfo(_CORE_PROPERTIES)
    except KeyError:
        return []
    if info.file_size > _CORE_MAX_BYTES:
        return []
    try:
        root = ElementTree.fromstring(zf.read(info))
    except (ElementTree.ParseError, zipfile.BadZipFile, OSError, ValueError, RuntimeError):
        return []
    dates = []
    for tag in ("modified", "created"):
        node = root.find(f"{_DCTERMS}{tag}")
        text = (node.text or "").strip() if node is not None else ""
        try:
            dates.append(_dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date())
        except ValueError:
            continue
    return dates


def file_date(source: bytes | str | Path) -> _dt.date | None:
    """The date an ``.xlsx`` workbook says it was written: the latest of its document
    properties' ``modified``/``created`` dates and its zip members' timestamps (1980-01-01,
    the zip format's "no date", is ignored). None for a CSV or a workbook with no date."""
    handle: Any = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with zipfile.ZipFile(handle) as zf:
            dates = _core_property_dates(zf)
            for info in zf.infolist():
                try:
                    dates.append(_dt.date(*info.date_time[:3]))
                except ValueError:
                    continue
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    dates = [d for d in dates if d > _DOS_EPOCH]
    return max(dates) if dates else None


def utc_today() -> _dt.date:
    """Today's date in UTC."""
    return _dt.datetime.now(_dt.UTC).date()


def publication_date(
    source: bytes | str | Path, *, today: _dt.date | None = None
) -> PublicationDate:
    """The earlier of ``today`` (default: the current UTC date) and :func:`file_date`."""
    today = today or utc_today()
    own = file_date(source)
    if own is not None and own < today:
        return PublicationDate(own, "the file's own date")
    return PublicationDate(today, "today")


def month_has_ended(year: int, month: int, by: _dt.date) -> bool:
    """True if the month ``year-month`` had ended by the date ``by`` (its data can be published)."""
    return (year, month) < (by.year, by.month)


def future_month_problem(
    partner: str, code: object, year: int, month: int, published: PublicationDate, count: int
) -> str:
    """The one-line problem for trade in a month that had not ended by the publication date."""
    name = " ".join(str(partner).split())
    name = name if len(name) <= _NAME_MAX else name[: _NAME_MAX - 1] + "…"
    more = f"; {count} such partner-months in all" if count > 1 else ""
    return (
        f"{name} ({code}) has trade in {year:04d}-{month:02d}, a month that had not ended by "
        f"{published.source} ({published.date:%Y-%m-%d}): Census cannot have published it "
        f"(a future month){more}"
    )


# ---- content checks (acquisition) ------------------------------------------------------------


def check_content(path: str | Path, label: str | None = None) -> tuple[str, str]:
    """A real xlsx workbook with a sheet holding the Census columns, contiguous, plausible
    years (``MIN_YEAR`` .. next year) and no trade in a month that had not ended by the file's
    publication date; returns the first and last published month ``YYYY-MM``."""
    label = label or show(Path(path))
    formats.require_xlsx(path, label)
    return census_coverage(path, label=label)


def _check_years(years: list[int], label: str) -> None:
    if not years:
        raise DataError(label, "no row has a year")
    this_year = _dt.date.today().year
    odd = [y for y in years if not MIN_YEAR <= y <= this_year + 1]
    if odd:
        raise DataError(label, f"implausible year {odd[0]} (expected {MIN_YEAR}..{this_year + 1})")
    holes = [y for y in range(years[0], years[-1] + 1) if y not in set(years)]
    if holes:
        more = " ..." if len(holes) > 5 else ""
        raise DataError(
            label, f"years are not contiguous: no rows for {', '.join(map(str, holes[:5]))}{more}"
        )


def census_coverage(
    path: str | Path, *, label: str | None = None, today: _dt.date | None = None
) -> tuple[str, str]:
    """First and last published month (``YYYY-MM``) of a Census ``country.xlsx``.

    Reads the workbook cheaply (openpyxl read-only, values only): the years come from the
    ``year`` column; the months from the non-zero ``I``/``E`` monthly cells of the earliest
    and latest years over all rows (Census fills unpublished months with 0). A non-zero cell
    in a month that had not ended by the file's publication date (:func:`publication_date`,
    ``today`` for tests) raises ``DataError`` naming the partner and the month.
    """
    import warnings

    from openpyxl import load_workbook

    label = label or show(Path(path))
    published_by = publication_date(path, today=today)
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
            icode, iname = names.index("CTY_CODE"), names.index("CTYNAME")
            month_cols = [
                (m, names.index(f"I{mon}"), names.index(f"E{mon}"))
                for m, mon in enumerate(_MONTHS, 1)
            ]
            masks: dict[int, int] = {}
            # Trade in a month not over by the publication date: the earliest (by month, then
            # code, as cleaning reports it) and how many partner-months.
            first_future: tuple[int, int, int, str, str] | None = None
            n_future = 0
            for row in rows:
                year = _as_year(row[iyear] if iyear < len(row) else None)
                if year is None:
                    continue
                mask = 0
                for m, ci, ce in month_cols:
                    if _nonzero(row, ci) or _nonzero(row, ce):
                        mask |= 1 << (m - 1)
                        if not month_has_ended(year, m, published_by.date):
                            n_future += 1
                            if first_future is None or (year, m) <= first_future[:2]:
                                code = _code_text(row, icode)
                                key = int(code) if code.isdigit() else 1 << 62
                                here = (year, m, key, code, _cell_text(row, iname))
                                first_future = min(first_future or here, here)
                masks[year] = masks.get(year, 0) | mask
            _check_years(sorted(masks), label)
            if first_future is not None:
                y, m, _, code, name = first_future
                raise DataError(
                    label, future_month_problem(name, code, y, m, published_by, n_future)
                )
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


def _cell_text(row: tuple[Any, ...], i: int) -> str:
    value = row[i] if i < len(row) else None
    return "" if value is None else " ".join(str(value).split())


def _code_text(row: tuple[Any, ...], i: int) -> str:
    """A partner code as a number (``"0003"`` -> ``"3"``, as cleaning shows it), else as text."""
    text = _cell_text(row, i)
    try:
        return str(int(float(text)))
    except (ValueError, OverflowError):
        return text[:_NAME_MAX]


def _nonzero(row: tuple[Any, ...], i: int) -> bool:
    if i >= len(row) or row[i] is None or row[i] == "":
        return False
    try:
        return float(row[i]) != 0.0
    except (TypeError, ValueError):
        return False


# ---- reading -------------------------------------------------------------------------------

_ZIP_MAGIC = b"PK\x03\x04"
_HEADER_SEARCH_ROWS = 10
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


# ---- reading -------------------------------------------------------------------------------


def detect_format(data: bytes) -> str:
    """Return ``"xlsx"`` (zip container) or ``"csv"`` (text) from a file's first bytes.

    Raises ``ValueError`` with the reason for content that is neither (empty, HTML, .xls,
    binary): callers turn it into a ``DataError`` naming the file.
    """
    if not data.strip():
        raise ValueError("empty file (0 bytes)" if not data else "empty file (only whitespace)")
    if data.startswith(_ZIP_MAGIC):
        return "xlsx"
    if data.startswith(_OLE_MAGIC):
        raise ValueError("old binary Excel (.xls) format; expected .xlsx or CSV")
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") and (
        b"<html" in head or b"<!doctype html" in head or b"<body" in head
    ):
        raise ValueError(
            "is an HTML page, not the Census table (an error page saved under this name?)"
        )
    if head.startswith(b"<?xml") or head.startswith(b"<"):
        raise ValueError("is XML/markup, not the Census table")
    if b"\x00" in data[:4096]:
        raise ValueError("is a binary file, neither .xlsx nor CSV text")
    return "csv"


def _clean_header(values: Iterable[object]) -> list[str]:
    return ["" if v is None else str(v).strip() for v in values]


def _looks_like_header(header: list[str]) -> bool:
    """A row is the table's header if it names CTY_CODE or most of the expected columns."""
    names = {h.casefold() for h in header}
    expected = {c.casefold() for c in WIDE_COLUMNS}
    return "cty_code" in names or len(names & expected) >= len(WIDE_COLUMNS) // 2


def _frame(header: list[str], rows: list[list[object]], row_numbers: list[int]) -> pd.DataFrame:
    """Rows as stored (object dtype), indexed by their 1-based row number in the file."""
    # Drop unnamed trailing columns that are empty everywhere (Excel's ghost columns).
    width = len(header)
    while (
        width
        and header[width - 1] == ""
        and all(len(r) < width or r[width - 1] in (None, "") for r in rows)
    ):
        width -= 1
    cols = [h if h else f"column {i + 1}" for i, h in enumerate(header[:width])]
    body = [list(r[:width]) + [None] * (width - len(r)) for r in rows]
    df = pd.DataFrame(body, columns=cols, dtype=object)
    df.index = pd.Index(row_numbers, dtype="int64", name="row")
    return df


def _read_xlsx(data: bytes, path: str | Path) -> pd.DataFrame:
    import openpyxl  # imported late: not needed for CSV

    name = Path(path).name
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # any failure to open untrusted content means a corrupt file
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(
            path, f"cannot be read as .xlsx (truncated or corrupt workbook: {reason})"
        ) from None
    try:
        found: list[tuple[str, list[str], list[list[object]], list[int]]] = []
        for ws in wb.worksheets:
            it = enumerate(ws.iter_rows(values_only=True), start=1)
            header: list[str] | None = None
            seen = 0
            for _, row in it:  # the header may follow a few title lines
                if row is not None and any(v not in (None, "") for v in row):
                    if _looks_like_header(_clean_header(row)):
                        header = _clean_header(row)
                        break
                    seen += 1
                    if seen >= _HEADER_SEARCH_ROWS:
                        break
            if header is None:
                continue
            rows, numbers = [], []
            for n, r in it:
                if r is not None and any(v not in (None, "") for v in r):
                    rows.append(list(r))
                    numbers.append(n)
            found.append((ws.title, header, rows, numbers))
        sheets = list(wb.sheetnames)
    except Exception as exc:  # zip/XML errors surface while reading rows too
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(
            path, f"cannot be read as .xlsx (truncated or corrupt workbook: {reason})"
        ) from None
    finally:
        wb.close()
    if not found:
        raise DataError(
            path,
            f"no sheet has the Census header (year, CTY_CODE, CTYNAME, IJAN..EYR); "
            f"sheets in {name}: {', '.join(repr(s) for s in sheets) or 'none'}",
        )
    if len(found) > 1:
        raise DataError(
            path,
            f"several sheets look like the Census table: {', '.join(repr(f[0]) for f in found)}; expected one",
        )
    _, header, rows, numbers = found[0]
    return _frame(header, rows, numbers)


def _read_csv(data: bytes, path: str | Path) -> pd.DataFrame:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    # Census vintages use \r\n, \n or bare \r (old-Mac) line endings: normalise all three.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    records = list(csv.reader(io.StringIO(text)))
    header_at = next((i for i, r in enumerate(records) if any(f.strip() for f in r)), None)
    if header_at is None:
        raise DataError(path, "empty file (no rows)")
    header = _clean_header(records[header_at])
    if not _looks_like_header(header):
        first = ",".join(header)[:60]
        raise DataError(
            path,
            f"not the Census country table: first line is {first!r}, expected year,CTY_CODE,CTYNAME,...",
        )
    rows: list[list[object]] = []
    numbers: list[int] = []
    for lineno, rec in enumerate(records[header_at + 1 :], start=header_at + 2):
        if not any(f.strip() for f in rec):
            continue
        if len(rec) != len(header):
            raise DataError(
                path,
                f"row {lineno} has {len(rec)} fields, expected {len(header)} (truncated or malformed file)",
            )
        rows.append([f.strip() for f in rec])
        numbers.append(lineno)
    if not rows:
        raise DataError(path, "has a header but no data rows (truncated file?)")
    return _frame(header, rows, numbers)


def parse_census_bytes(data: bytes, path: str | Path) -> pd.DataFrame:
    """Parse the bytes of a Census country table (``.xlsx`` or CSV; see ``read_census_table``)."""
    try:
        fmt = detect_format(data)
    except ValueError as exc:
        raise DataError(path, str(exc)) from None
    return _read_xlsx(data, path) if fmt == "xlsx" else _read_csv(data, path)


def read_census_table(path: str | Path) -> pd.DataFrame:
    """Read the Census country table from ``.xlsx`` or CSV, detected by content.

    Returns the cells as stored (object columns: text stays text, so ``CTY_CODE`` keeps its
    leading zeros and a stray word in a numeric cell can be reported by ``validate_wide``),
    indexed by row number in the file. The file is opened read-only; a project raw file
    (``data/raw/country.xlsx``) is verified first (:func:`analysis.sources.fetch.checked_use`).
    """
    path = Path(path)
    with fetch.checked_use(SOURCE_ID, path):
        return parse_census_bytes(read_bytes(path), path)


def read_bytes(path: str | Path) -> bytes:
    """The whole file, opened read-only; ``DataError`` naming the file if it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror or exc})") from None


def read(path: str | Path) -> pd.DataFrame:
    """The source's reader (registry entry): :func:`read_census_table`."""
    return read_census_table(path)
