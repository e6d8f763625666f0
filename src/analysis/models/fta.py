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
from analysis.errors import DataError

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


def check_partners(ftas: pd.DataFrame, partners: pd.DataFrame, path: str | Path = FTA_CSV) -> None:
    """Check every FTA code against the Census partner list (``data/processed/partners.csv``).

    Each code must exist, be a country (``is_aggregate`` False), carry the same name, and have
    trade in some month (this is what selects Israel's 5081 over the empty 5080).
    """
    known = partners.set_index("partner_code")
    for row in ftas.itertuples(index=False):
        if row.partner_code not in known.index:
            raise DataError(
                path, f"partner_code {row.partner_code} ({row.partner}) is not a Census partner"
            )
        census = known.loc[row.partner_code]
        if str(census["partner"]) != row.partner:
            raise DataError(
                path,
                f"partner_code {row.partner_code} is {census['partner']!r} in Census, not {row.partner!r}",
            )
        if str(census["is_aggregate"]).lower() == "true":
            raise DataError(
                path, f"partner_code {row.partner_code} is a Census aggregate, not a country"
            )
        if int(census.get("months_with_trade", 1)) == 0:
            raise DataError(
                path, f"partner_code {row.partner_code} ({row.partner}) has no trade in any month"
            )
