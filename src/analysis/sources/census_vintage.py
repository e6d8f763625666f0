"""The 2016 vintage of the Census country table (CSV, bare-CR line endings): checks and reader.

Same layout as ``country.xlsx`` (``year, CTY_CODE, CTYNAME, IJAN..IDEC, IYR, EJAN..EDEC,
EYR``, US$ millions) as published about January 2017: data 1985-01..2016-11 (December 2016
is 0). The parser is the Census table's (:func:`analysis.sources.census.parse_census_bytes`),
which normalises ``\\r\\n``, ``\\n`` and bare ``\\r`` line endings.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.errors import DataError
from analysis.sources import census, fetch
from analysis.sources.manifest import show

SOURCE_ID = "census_2016"
#: The vintage's label in the revisions table: when Census published it (see PROVENANCE).
VINTAGE_LABEL = "2017-01"


def coverage(table: pd.DataFrame, label: str) -> tuple[str, str]:
    """First and last month with any non-zero value of a parsed Census table (``YYYY-MM``)."""
    missing = [c for c in census.WIDE_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(label, f"not the Census country table: no {', '.join(missing[:3])} column")
    # Rows without a year are placeholders (the 2016 vintage has some; cleaning drops them).
    table = table[table["year"].astype(str).str.strip().ne("") & table["year"].notna()]
    years = pd.to_numeric(table["year"], errors="coerce")
    if years.isna().any():
        raise DataError(label, f"row {years[years.isna()].index[0]}: year is not a number")
    published: dict[int, set[int]] = {}
    for m, (imp, exp) in enumerate(zip(census.IMPORT_MONTHS, census.EXPORT_MONTHS, strict=True), 1):
        vi = pd.to_numeric(table[imp], errors="coerce")
        ve = pd.to_numeric(table[exp], errors="coerce")
        if vi.isna().any() or ve.isna().any():
            raise DataError(
                label, f"column {imp if vi.isna().any() else exp} has a non-numeric value"
            )
        for y in years[(vi != 0) | (ve != 0)].astype(int).unique():
            published.setdefault(int(y), set()).add(m)
    if not published:
        raise DataError(label, "no non-zero monthly values")
    y0, y1 = min(published), max(published)
    return f"{y0:04d}-{min(published[y0]):02d}", f"{y1:04d}-{max(published[y1]):02d}"


def check_content(path: str | Path, label: str | None = None) -> tuple[str, str]:
    """A CSV Census country table (any line endings) with numeric months; returns the first
    and last month with data."""
    label = label or show(Path(path))
    table = census.parse_census_bytes(census.read_bytes(path), label)
    return coverage(table, label)


def read(path: str | Path) -> pd.DataFrame:
    """The table's cells as stored (as :func:`analysis.sources.census.read_census_table`);
    a ``data/raw/`` file is verified first."""
    path = Path(path)
    with fetch.checked_use(SOURCE_ID, path):
        return census.parse_census_bytes(census.read_bytes(path), path)
