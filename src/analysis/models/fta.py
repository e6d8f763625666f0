"""U.S. free trade agreements by Census partner: load and validate ``data/external/us_ftas.csv``.

The table has one row per U.S. FTA partner (Census ``partner_code``) with the date its
agreement with the United States entered into force and, where it was replaced or amended, the
revision(s) and their dates (several revisions are separated by ``"; "`` in the same order in
both columns, e.g. Canada: ``NAFTA; USMCA`` / ``1994-01-01; 2020-07-01``). Every check raises
:class:`analysis.errors.DataError` naming the file and the problem in one line.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import external

#: The committed table of U.S. FTA partners (read by :mod:`analysis.external`).
FTA_CSV: Path = external.FTA_CSV

#: Columns of the table, in order.
FTA_COLUMNS: tuple[str, ...] = external.FTA_COLUMNS


def load_ftas(path: str | Path = FTA_CSV) -> pd.DataFrame:
    """The FTA table as a DataFrame, read and validated by :func:`analysis.external.load_agreements`.

    Returns the columns of :data:`FTA_COLUMNS` with ``partner_code`` int64, ``in_force``
    datetime64 and the text columns as str (revisions ``"; "``-joined, empty string when there
    is none), sorted by ``in_force`` then ``partner_code``. Raises ``DataError(path, problem)``
    when the file is missing or unreadable, the columns differ, a date does not parse, a code is
    not an integer or appears twice, or a source is not a USTR / Federal Register address.
    """
    rows = [
        {
            "partner_code": a.partner_code,
            "partner": a.partner,
            "agreement": a.agreement,
            "in_force": pd.Timestamp(a.in_force),
            "revision": "; ".join(name for name, _ in a.revisions),
            "revision_in_force": "; ".join(d.isoformat() for _, d in a.revisions),
            "source": a.source,
        }
        for a in external.load_agreements(path)
    ]
    table = pd.DataFrame(rows, columns=list(FTA_COLUMNS))
    table["partner_code"] = table["partner_code"].astype("int64")
    table["in_force"] = table["in_force"].astype("datetime64[us]")
    for col in ("partner", "agreement", "revision", "revision_in_force", "source"):
        table[col] = table[col].astype("str")
    return table.reset_index(drop=True)
