"""Census International Trade API extract: U.S. imports by HS2 chapter and country (csv.gz).

``imports_hs2_by_country_2023_2024.csv.gz`` holds one row per chapter, country and month:
``I_COMMODITY, ..., CTY_CODE, CTY_NAME, GEN_VAL_MO (US$), YEAR, MONTH, COMM_LVL``.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pandas as pd

from analysis.errors import DataError
from analysis.sources import fetch, formats
from analysis.sources.manifest import show

SOURCE_ID = "census_hs2_imports"
#: Columns the claims check reads.
COLUMNS: tuple[str, ...] = ("I_COMMODITY", "CTY_CODE", "GEN_VAL_MO", "YEAR", "MONTH")


def check_content(path: str | Path, label: str | None = None) -> tuple[str, str]:
    """gzip CSV with ``COLUMNS``, numeric values and plausible months; returns the first and
    last month ``YYYY-MM``."""
    label = label or show(Path(path))
    formats.require_gzip_csv(path, label, COLUMNS)
    months: set[str] = set()
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
            for n, row in enumerate(csv.DictReader(fh), start=2):
                year, month, value = row["YEAR"], row["MONTH"], row["GEN_VAL_MO"]
                if not (year.isdigit() and month.isdigit() and 1 <= int(month) <= 12):
                    raise DataError(label, f"line {n}: bad YEAR/MONTH {year!r}/{month!r}")
                if not value.strip().lstrip("-").isdigit():
                    raise DataError(label, f"GEN_VAL_MO {value!r} is not a number ({year}-{month})")
                months.add(f"{int(year):04d}-{int(month):02d}")
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(label, f"unreadable gzip CSV: {exc}") from None
    if not months:
        raise DataError(label, "no data rows")
    return min(months), max(months)


def read_hs2_imports(path: str | Path) -> pd.DataFrame:
    """The extract's ``COLUMNS`` as text, ``GEN_VAL_MO`` numeric.

    A file under ``data/raw/`` is verified first (sha256); one that cannot be read is moved
    to ``data/raw/quarantine/``.
    """
    path = Path(path)
    with fetch.checked_use(SOURCE_ID, path):
        try:
            df = pd.read_csv(path, dtype=str, usecols=list(COLUMNS))
            df["GEN_VAL_MO"] = pd.to_numeric(df["GEN_VAL_MO"], errors="raise")
        except (ValueError, OSError, EOFError) as exc:
            raise DataError(path, f"not a readable Census API extract: {exc}") from None
    return df


read = read_hs2_imports
