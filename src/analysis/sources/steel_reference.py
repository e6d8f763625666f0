"""Korea's steel exports to the U.S. (compiled reference TSV): content checks and reader.

The file is a small hand-compiled table (``#`` lines are comments with the pages cited;
columns ``year, tonnes_million, source_url, note``; keys are years and ``2018_quota``).
:func:`read_reference_table` reads any reference TSV of that form (the claims check uses it).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.errors import DataError
from analysis.sources import fetch, formats
from analysis.sources.manifest import show

SOURCE_ID = "steel_reference"
#: Columns the claims check needs.
COLUMNS: tuple[str, ...] = ("year", "tonnes_million")


def check_content(path: str | Path, label: str | None = None) -> tuple[str, str]:
    """A UTF-8 tab-separated table with ``COLUMNS``, numeric tonnes and year keys; returns
    the first and last year."""
    label = label or show(Path(path))
    rows = formats.require_tsv(path, label)
    header, body = rows[0], rows[1:]
    missing = [c for c in COLUMNS if c not in header]
    if missing or not body:
        raise DataError(
            label,
            f"expected a header with {', '.join(COLUMNS)} and rows; missing {', '.join(missing) or 'rows'}",
        )
    i = header.index("tonnes_million")
    for r in body:
        try:
            float(r[i])
        except (IndexError, ValueError):
            raise DataError(label, f"row {r[0]!r}: tonnes_million is not a number") from None
    years = sorted(r[0] for r in body if r[0].isdigit() and len(r[0]) == 4)
    if not years:
        raise DataError(label, "no year rows")
    return years[0], years[-1]


def read_reference_table(path: str | Path) -> pd.DataFrame:
    """Read the first table of a reference TSV (``#`` lines are comments; all cells text).

    A file under ``data/raw/`` is verified first (sha256 of a manifest source, and its
    content checks); one that fails is moved to ``data/raw/quarantine/``.
    """
    path = Path(path)
    with fetch.checked_use(None, path, content=True):
        lines = [
            ln
            for ln in path.read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")
        ]
        if len(lines) < 2:
            raise DataError(path, "reference TSV has no header and rows")
    rows = [ln.split("\t") for ln in lines]
    header, body = rows[0], rows[1:]
    width = len(header)
    body = [r + [""] * (width - len(r)) if len(r) < width else r[:width] for r in body]
    return pd.DataFrame(body, columns=header, dtype=str)


read = read_reference_table
