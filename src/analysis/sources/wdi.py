"""World Bank World Development Indicators (WDI) for Korea: content checks, reader, macro series.

The WDI country download (``API_KOR_DS2_en_csv_v2_*.csv``) is a wide table: four lines of
preamble, then ``Country Name, Country Code, Indicator Name, Indicator Code, 1960 ... 2023``
and an empty trailing column; the file starts with a UTF-8 byte-order mark. ``read_wdi``
turns it into a long table with one row per indicator and year (missing values dropped),
so that every later step works on ``(indicator_code, year) -> value``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from analysis.errors import DataError
from analysis.sources import fetch, formats
from analysis.sources.manifest import show

SOURCE_ID = "wdi"

#: First bytes of a WDI bulk CSV (after an optional UTF-8 byte order mark).
WDI_HEADER: bytes = b'"Data Source","World Development Indicators"'

#: Columns of the long table returned by :func:`read_wdi`.
WDI_COLUMNS: tuple[str, ...] = ("indicator_code", "indicator", "year", "value")

#: Korea macro panel: output column -> WDI indicator code.
MACRO_INDICATORS: dict[str, str] = {
    "gdp_growth": "NY.GDP.MKTP.KD.ZG",
    "unemployment": "SL.UEM.TOTL.ZS",
    "trade_pct_gdp": "NE.TRD.GNFS.ZS",
    "krw_per_usd": "PA.NUS.FCRF",
}

#: Human-readable labels (with units) of the macro columns, for tables and figures.
MACRO_LABELS: dict[str, str] = {
    "gdp_growth": "Real GDP growth (%)",
    "unemployment": "Unemployment (% of labour force)",
    "trade_pct_gdp": "Trade in goods and services (% of GDP)",
    "krw_per_usd": "Won per US dollar (annual average)",
}

#: Indicators the project uses (the macro panel and the claims check): each must be in the file
#: with at least one value, so a file cut short (at a row boundary) is refused.
EXPECTED_INDICATORS: tuple[str, ...] = (
    *MACRO_INDICATORS.values(),
    "BN.CAB.XOKA.GD.ZS",  # current account balance, % of GDP (claims)
    "TX.VAL.MRCH.CD.WT",  # merchandise exports, current US$ (claims)
)
#: The WDI year columns start here and run without a gap.
FIRST_YEAR = 1960

_PREAMBLE_LINES = 4
_ID_COLUMNS = ("Country Name", "Country Code", "Indicator Name", "Indicator Code")
_YEAR = re.compile(r"^\d{4}$")


# ---- content checks (acquisition, and before every read of data/raw/wdi_kor.csv) ------------


def check_content(path: str | Path, label: str | None = None) -> tuple[str, str]:
    """A WDI bulk CSV: the WDI header, contiguous year columns from ``FIRST_YEAR``, rows of the
    header's width, and every one of ``EXPECTED_INDICATORS`` with a value. Returns the first
    and last year (``YYYY``) holding any value."""
    label = label or show(Path(path))
    first = formats.head(path)
    if not first.lstrip(formats.UTF8_BOM).startswith(WDI_HEADER):
        raise DataError(
            label,
            f"not a World Development Indicators CSV (expected it to start with "
            f"{WDI_HEADER.decode()}): {formats.sniff(first)}",
        )
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header: list[str] = []
        for row in reader:
            if row[:1] == ["Country Name"]:
                header = row
                break
        years = [(i, h.strip()) for i, h in enumerate(header) if h.strip().isdigit()]
        if not years:
            raise DataError(label, 'no "Country Name" header row with year columns')
        numbers = [int(y) for _, y in years]
        if numbers != list(range(FIRST_YEAR, FIRST_YEAR + len(numbers))):
            raise DataError(label, f"year columns should run from {FIRST_YEAR} without a gap")
        seen: set[str] = set()
        with_values: set[str] = set()
        for row in reader:
            if len(row) != len(header):
                raise DataError(
                    label,
                    f"line {reader.line_num} has {len(row)} fields, expected {len(header)} (truncated?)",
                )
            for i, year in years:
                if row[i].strip():
                    seen.add(year)
                    with_values.add(row[3])
    missing = [c for c in EXPECTED_INDICATORS if c not in with_values]
    if missing:
        raise DataError(
            label,
            f"indicator(s) {', '.join(missing)} missing or empty (a truncated file?); "
            f"the project needs {', '.join(EXPECTED_INDICATORS)}",
        )
    return min(seen), max(seen)


def wdi_coverage(path: str | Path, *, label: str | None = None) -> tuple[str, str]:
    """First and last year (``YYYY``) with any value in a WDI bulk CSV (its content checked)."""
    return check_content(path, label)


# ---- reader --------------------------------------------------------------------------------


def read_wdi(path: str | Path) -> pd.DataFrame:
    """Read a WDI bulk CSV into a long table ``indicator_code, indicator, year, value``.

    Rows are sorted by indicator code and year; empty cells are dropped, so every row holds
    a number. Raises ``DataError`` (one line, naming the file) when the file is missing, is
    not a WDI bulk CSV, holds more than one country, repeats an indicator code, or has a
    non-numeric value. The project's ``data/raw/wdi_kor.csv`` is verified first (sha256 and
    :func:`check_content`); a vintage that fails is moved to ``data/raw/quarantine/``.
    """
    path = Path(path)
    with fetch.checked_use(SOURCE_ID, path, content=True):
        return _read_wdi(path)


read = read_wdi


def _read_wdi(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(path, "World Bank WDI file not found")
    try:
        wide = pd.read_csv(
            path,
            skiprows=_PREAMBLE_LINES,
            encoding="utf-8-sig",
            dtype=str,
            keep_default_na=False,
            na_values=[""],
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(path, f"not a readable WDI bulk CSV ({type(exc).__name__})") from None
    missing = [c for c in _ID_COLUMNS if c not in wide.columns]
    if missing:
        raise DataError(
            path,
            f"not a WDI bulk CSV: expected columns {', '.join(_ID_COLUMNS)} after "
            f"{_PREAMBLE_LINES} preamble lines; missing {', '.join(missing)}",
        )
    years = [c for c in wide.columns if _YEAR.match(str(c))]
    if not years:
        raise DataError(path, "not a WDI bulk CSV: no year columns (1960, 1961, ...)")
    countries = wide["Country Code"].dropna().unique()
    if len(countries) > 1:
        raise DataError(
            path,
            f"expected one country, found {len(countries)}: {', '.join(map(str, countries[:5]))}",
        )
    codes = wide["Indicator Code"]
    if codes.isna().any():
        raise DataError(path, "a row has no Indicator Code")
    dup = codes[codes.duplicated()]
    if not dup.empty:
        raise DataError(path, f"indicator code repeated: {dup.iloc[0]}")

    long = wide.melt(
        id_vars=["Indicator Code", "Indicator Name"],
        value_vars=years,
        var_name="year",
        value_name="raw",
    ).dropna(subset=["raw"])
    long = long[long["raw"].str.strip() != ""]
    values = pd.to_numeric(long["raw"], errors="coerce")
    bad = long[values.isna()]
    if not bad.empty:
        row = bad.iloc[0]
        raise DataError(
            path, f"non-numeric value {row['raw']!r} for {row['Indicator Code']} in {row['year']}"
        )
    out = pd.DataFrame(
        {
            "indicator_code": long["Indicator Code"].astype(str).to_numpy(),
            "indicator": long["Indicator Name"].astype(str).to_numpy(),
            "year": long["year"].astype(int).to_numpy(),
            "value": values.astype(float).to_numpy(),
        }
    )
    return out.sort_values(["indicator_code", "year"], kind="mergesort").reset_index(drop=True)


def wdi_series(wdi: pd.DataFrame, code: str) -> pd.Series:
    """One indicator as a float Series indexed by year (int), named by its code.

    Raises ``DataError`` if the indicator has no values in ``wdi``.
    """
    rows = wdi[wdi["indicator_code"] == code]
    if rows.empty:
        raise DataError(None, f"WDI indicator {code} not found (or has no values)")
    s = rows.set_index("year")["value"].astype(float).sort_index()
    s.index = s.index.astype(int)
    s.index.name = "year"
    s.name = code
    return s


def wdi_value(wdi: pd.DataFrame, code: str, year: int) -> float | None:
    """Value of one indicator in one year, or None when the indicator or year is absent."""
    rows = wdi[(wdi["indicator_code"] == code) & (wdi["year"] == int(year))]
    return None if rows.empty else float(rows["value"].iloc[0])


def korea_macro(wdi: pd.DataFrame, start: int = 2000, end: int | None = None) -> pd.DataFrame:
    """Korea's macro panel, wide by year: GDP growth, unemployment, trade % of GDP, KRW/USD.

    Columns are the keys of :data:`MACRO_INDICATORS` (in that order); the index is ``year``
    (int) from ``start`` to ``end`` (default: the last year in which any of the four has a
    value). Years without a value stay as NaN. Raises ``DataError`` if an indicator is absent.
    """
    cols = {name: wdi_series(wdi, code) for name, code in MACRO_INDICATORS.items()}
    frame = pd.DataFrame(cols)
    frame = frame[frame.index >= int(start)]
    if end is not None:
        frame = frame[frame.index <= int(end)]
    frame = frame.dropna(how="all")
    if frame.empty:
        raise DataError(None, f"WDI: no macro values from {start}" + (f" to {end}" if end else ""))
    full = pd.RangeIndex(int(frame.index.min()), int(frame.index.max()) + 1, name="year")
    return frame.reindex(full)
