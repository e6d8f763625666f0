"""World Bank World Development Indicators (WDI): read the bulk CSV, pick Korea's macro series.

The WDI country download (``API_KOR_DS2_en_csv_v2_*.csv``) is a wide table: four lines of
preamble, then ``Country Name, Country Code, Indicator Name, Indicator Code, 1960 ... 2023``
and an empty trailing column; the file starts with a UTF-8 byte-order mark. ``read_wdi``
turns it into a long table with one row per indicator and year (missing values dropped),
so that every later step works on ``(indicator_code, year) -> value``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.errors import DataError

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

_PREAMBLE_LINES = 4
_ID_COLUMNS = ("Country Name", "Country Code", "Indicator Name", "Indicator Code")
_YEAR = re.compile(r"^\d{4}$")


def read_wdi(path: str | Path) -> pd.DataFrame:
    """Read a WDI bulk CSV into a long table ``indicator_code, indicator, year, value``.

    Rows are sorted by indicator code and year; empty cells are dropped, so every row holds
    a number. Raises ``DataError`` (one line, naming the file) when the file is missing, is
    not a WDI bulk CSV, holds more than one country, repeats an indicator code, or has a
    non-numeric value.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "World Bank WDI file not found")
    try:
        wide = pd.read_csv(
            path, skiprows=_PREAMBLE_LINES, encoding="utf-8-sig", dtype=str, keep_default_na=False, na_values=[""]
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
        raise DataError(path, f"expected one country, found {len(countries)}: {', '.join(map(str, countries[:5]))}")
    codes = wide["Indicator Code"]
    if codes.isna().any():
        raise DataError(path, "a row has no Indicator Code")
    dup = codes[codes.duplicated()]
    if not dup.empty:
        raise DataError(path, f"indicator code repeated: {dup.iloc[0]}")

    long = wide.melt(
        id_vars=["Indicator Code", "Indicator Name"], value_vars=years, var_name="year", value_name="raw"
    ).dropna(subset=["raw"])
    long = long[long["raw"].str.strip() != ""]
    values = pd.to_numeric(long["raw"], errors="coerce")
    bad = long[values.isna()]
    if not bad.empty:
        row = bad.iloc[0]
        raise DataError(path, f"non-numeric value {row['raw']!r} for {row['Indicator Code']} in {row['year']}")
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


def indicator_name(wdi: pd.DataFrame, code: str) -> str:
    """The WDI name of an indicator code (the code itself if absent)."""
    rows = wdi.loc[wdi["indicator_code"] == code, "indicator"]
    return str(rows.iloc[0]) if not rows.empty else code


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
