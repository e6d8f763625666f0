"""Census International Trade API extracts in the data mirror: content checks and readers.

Three extracts, each a source of its own in ``data/raw/sources.json`` (every column is the
text the API returned, so ``CTY_CODE`` keeps its leading zeros; values are US$, not millions):

* ``census_hs2_imports``: ``imports_hs2_by_country_2023_2024.csv.gz``, one row per HS2
  chapter, country and month: ``I_COMMODITY, ..., CTY_CODE, CTY_NAME, GEN_VAL_MO, YEAR,
  MONTH, COMM_LVL``;
* ``census_api_exports``: ``exports_by_country_2013_2024.csv``, ``CTY_CODE, CTY_NAME,
  ALL_VAL_MO, YEAR, MONTH`` (total exports, f.a.s. value);
* ``census_api_imports``: ``imports_by_country_2013_2024.csv``, ``CTY_CODE, CTY_NAME,
  GEN_VAL_MO, YEAR, MONTH`` (general imports, customs value).

The registry maps all three ids here: :func:`check_content` and :func:`read` tell the
extracts apart by their header (the HS2 extract has ``I_COMMODITY``; the by-country extracts
have exactly one of ``ALL_VAL_MO``/``GEN_VAL_MO``). The live API client is
:mod:`analysis.sources.census_api_client`.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from analysis.errors import DataError
from analysis.sources import fetch, formats
from analysis.sources.manifest import show

SOURCE_ID = "census_hs2_imports"
EXPORTS_ID = "census_api_exports"
IMPORTS_ID = "census_api_imports"
#: Columns the claims check and the product table read from the HS2 extract.
COLUMNS: tuple[str, ...] = ("I_COMMODITY", "CTY_CODE", "GEN_VAL_MO", "YEAR", "MONTH")
#: Optional descriptive columns of the HS2 extract, read when present.
DESCRIPTION_COLUMNS: tuple[str, ...] = ("I_COMMODITY_LDESC", "CTY_NAME")
#: The value column of each by-country extract (US$): exports f.a.s., general imports.
VALUE_COLUMN: dict[str, str] = {EXPORTS_ID: "ALL_VAL_MO", IMPORTS_ID: "GEN_VAL_MO"}
BY_COUNTRY_KEYS: tuple[str, ...] = ("CTY_CODE", "CTY_NAME", "YEAR", "MONTH")


def _months(rows: Iterable[dict[str, str]], value_col: str, label: str) -> tuple[str, str]:
    """Check YEAR/MONTH and the (integer US$) value of every row; first and last month."""
    months: set[str] = set()
    for n, row in enumerate(rows, start=2):
        year, month, value = row["YEAR"], row["MONTH"], row[value_col] or ""
        if not (year.isdigit() and month.isdigit() and 1 <= int(month) <= 12):
            raise DataError(label, f"line {n}: bad YEAR/MONTH {year!r}/{month!r}")
        if not value.strip().lstrip("-").isdigit():
            raise DataError(label, f"{value_col} {value!r} is not a number ({year}-{month})")
        months.add(f"{int(year):04d}-{int(month):02d}")
    if not months:
        raise DataError(label, "no data rows")
    return min(months), max(months)


def check_content(path: str | Path, label: str | None = None) -> tuple[str, str]:
    """The HS2 gzip extract or a by-country CSV extract (told apart by the first bytes and the
    header), with numeric values and plausible months; returns the first and last month."""
    label = label or show(Path(path))
    if formats.head(path, 2) == formats.GZIP_MAGIC:
        return _check_hs2(path, label)
    return _check_by_country(path, label)


def _check_hs2(path: str | Path, label: str) -> tuple[str, str]:
    formats.require_gzip_csv(path, label, COLUMNS)
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
            return _months(csv.DictReader(fh), "GEN_VAL_MO", label)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(label, f"unreadable gzip CSV: {exc}") from None


def _value_column(header: list[str], label: str) -> str:
    """The one value column (``ALL_VAL_MO`` or ``GEN_VAL_MO``) of a by-country header."""
    missing = [c for c in BY_COUNTRY_KEYS if c not in header]
    values = [c for c in VALUE_COLUMN.values() if c in header]
    if missing or len(values) != 1:
        raise DataError(
            label,
            f"not a Census API by-country extract: expected {', '.join(BY_COUNTRY_KEYS)} and one "
            f"of ALL_VAL_MO/GEN_VAL_MO, header is {','.join(header)[:80]!r}",
        )
    return values[0]


def _check_by_country(path: str | Path, label: str) -> tuple[str, str]:
    first = formats.head(path)
    if not first.strip() or first.lstrip().startswith(b"<"):
        raise DataError(label, f"not a CSV extract: {formats.sniff(first)}")
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            value_col = _value_column(list(reader.fieldnames or []), label)
            return _months(reader, value_col, label)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(label, f"unreadable CSV: {exc}") from None


def read_hs2_imports(path: str | Path, *, descriptions: bool = False) -> pd.DataFrame:
    """The HS2 extract's ``COLUMNS`` as text (with ``descriptions`` also
    ``DESCRIPTION_COLUMNS``), ``GEN_VAL_MO`` numeric.

    A file under ``data/raw/`` is verified first (sha256); one that cannot be read is moved
    to ``data/raw/quarantine/``.
    """
    path = Path(path)
    usecols = [*COLUMNS, *DESCRIPTION_COLUMNS] if descriptions else list(COLUMNS)
    with fetch.checked_use(SOURCE_ID, path):
        try:
            df = pd.read_csv(path, dtype=str, usecols=usecols, keep_default_na=False)
            df["GEN_VAL_MO"] = pd.to_numeric(df["GEN_VAL_MO"], errors="raise")
        except (ValueError, OSError, EOFError) as exc:
            raise DataError(path, f"not a readable Census API extract: {exc}") from None
    return df


def parse_by_country(data: bytes, label: str | Path) -> pd.DataFrame:
    """A by-country extract's bytes -> the API's columns as text, the value column numeric."""
    try:
        df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(label, f"not a readable Census API extract: {exc}") from None
    value_col = _value_column(list(df.columns), str(label))
    try:
        df[value_col] = pd.to_numeric(df[value_col], errors="raise")
    except ValueError as exc:
        raise DataError(label, f"{value_col} is not numeric: {exc}") from None
    return df


def read_by_country(path: str | Path) -> pd.DataFrame:
    """A by-country extract (``CTY_CODE, CTY_NAME, ALL_VAL_MO|GEN_VAL_MO, YEAR, MONTH``):
    text columns, the value numeric (US$). A ``data/raw/`` file is verified first."""
    path = Path(path)
    with fetch.checked_use(None, path):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DataError(path, f"cannot be read ({exc.strerror or exc})") from None
        return parse_by_country(data, path)


def read(path: str | Path) -> pd.DataFrame:
    """The reader of all three extracts (registry entry): by content, HS2 or by country."""
    if Path(path).is_file() and formats.head(path, 2) == formats.GZIP_MAGIC:
        return read_hs2_imports(path)
    return read_by_country(path)
