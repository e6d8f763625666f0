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

from analysis import config
from analysis.errors import DataError

#: The committed table of U.S. FTA partners.
FTA_CSV: Path = config.DATA_DIR / "external" / "us_ftas.csv"

#: Columns of the table, in order.
FTA_COLUMNS: tuple[str, ...] = (
    "partner_code",
    "partner",
    "agreement",
    "in_force",
    "revision",
    "revision_in_force",
    "source",
)

_SOURCE_PREFIXES: tuple[str, ...] = ("https://ustr.gov/", "https://www.federalregister.gov/")


def _parse_dates(path: Path, column: str, values: pd.Series) -> pd.Series:
    """Parse ISO dates (``YYYY-MM-DD``) strictly; a bad value raises a one-line DataError."""
    out = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
    bad = values[out.isna()]
    if len(bad):
        raise DataError(path, f"{column} is not a YYYY-MM-DD date: {bad.iloc[0]!r}")
    return out


def _check_revisions(path: Path, table: pd.DataFrame) -> None:
    """Revision names and dates pair up one to one, and each revision follows entry into force."""
    for row in table.itertuples(index=False):
        names = [s.strip() for s in row.revision.split(";") if s.strip()]
        dates = [s.strip() for s in row.revision_in_force.split(";") if s.strip()]
        if len(names) != len(dates):
            raise DataError(
                path,
                f"partner {row.partner_code}: {len(names)} revision(s) but {len(dates)} revision date(s)",
            )
        parsed = _parse_dates(path, "revision_in_force", pd.Series(dates, dtype="str"))
        if len(parsed) and (parsed <= row.in_force).any():
            raise DataError(
                path, f"partner {row.partner_code}: a revision date is not after in_force"
            )


def load_ftas(path: str | Path = FTA_CSV) -> pd.DataFrame:
    """Read and validate the FTA table.

    Returns the columns of :data:`FTA_COLUMNS` with ``partner_code`` int64, ``in_force``
    datetime64 and the text columns as str (empty string when there is no revision), sorted by
    ``in_force`` then ``partner_code``. Raises ``DataError(path, problem)`` when the file is
    missing or unreadable, the columns differ, a date does not parse, a code is not an integer or
    appears twice, or a source is not a USTR / Federal Register address.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "FTA table not found")
    try:
        raw = pd.read_csv(path, dtype="str", keep_default_na=False)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data problem
        raise DataError(path, f"cannot read ({type(exc).__name__}: {exc})".splitlines()[0]) from exc
    if tuple(raw.columns) != FTA_COLUMNS:
        raise DataError(path, f"columns {list(raw.columns)} do not match {list(FTA_COLUMNS)}")
    if raw.empty:
        raise DataError(path, "no rows")
    table = raw.apply(lambda s: s.str.strip())
    codes = pd.to_numeric(table["partner_code"], errors="coerce")
    if codes.isna().any() or (codes % 1 != 0).any():
        bad = table.loc[codes.isna() | (codes % 1 != 0), "partner_code"].iloc[0]
        raise DataError(path, f"partner_code is not an integer: {bad!r}")
    table["partner_code"] = codes.astype("int64")
    dup = table.loc[table["partner_code"].duplicated(), "partner_code"]
    if len(dup):
        raise DataError(path, f"partner_code {int(dup.iloc[0])} appears more than once")
    for col in ("partner", "agreement", "source"):
        if (table[col] == "").any():
            raise DataError(
                path,
                f"empty {col} for partner {table.loc[table[col] == '', 'partner_code'].iloc[0]}",
            )
    table["in_force"] = _parse_dates(path, "in_force", table["in_force"])
    _check_revisions(path, table)
    bad_src = table.loc[~table["source"].str.startswith(_SOURCE_PREFIXES), "source"]
    if len(bad_src):
        raise DataError(
            path, f"source is not a USTR or Federal Register address: {bad_src.iloc[0]!r}"
        )
    return table.sort_values(["in_force", "partner_code"], kind="stable").reset_index(drop=True)


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


def entry_dates(ftas: pd.DataFrame) -> dict[int, pd.Timestamp]:
    """``{partner_code: in_force}`` of the original agreement (revisions are not new events)."""
    return {
        int(c): pd.Timestamp(d) for c, d in zip(ftas["partner_code"], ftas["in_force"], strict=True)
    }
