"""The Census country table: validate and reshape it (pure functions, no file writes).

The U.S. Census Bureau publishes U.S. goods trade by partner as one wide table
(``country.xlsx``; older vintages also as CSV): one row per partner and year, with the
columns ``year, CTY_CODE, CTYNAME, IJAN..IDEC, IYR, EJAN..EDEC, EYR``. ``I*`` are general
imports (customs value), ``E*`` total exports (f.a.s. value), US$ millions, not seasonally
adjusted, Census basis. ``IYR``/``EYR`` are the annual totals.

The functions here turn that table into one row per partner and month::

    raw = read_census_table(path)                  # analysis.sources.census: as stored
    raw, placeholders = drop_placeholder_rows(raw)  # blank-year rows that hold no data
    wide = validate_wide(raw, path)                 # typed; raises DataError on any defect
    check_calendar(wide, path, published)           # no trade in a month not over by then
    gaps = year_gaps(wide)                          # years Census omits (reported, not filled)
    months = unpublished_months(wide)               # each year's trailing all-zero months
    trade = finalize(drop_unpublished(to_long(wide), months))

Which months are published
--------------------------
Census publishes a month for every partner at once and prints the months it has not
published as 0: the end of the latest year, and so the end of the final year of a partner's
rows. A zero is therefore data or "not published", and the rule that tells them apart is:

* **Calendar.** Trade in a month that had not ended by the file's publication date (the
  earlier of today and the file's own date, :func:`analysis.sources.census.publication_date`)
  refuses the whole file, one line naming the partner and the month (``check_calendar``).
* **Per year, over the file.** A month is published if some partner has trade in it or in a
  later month of the same year (``published_months``). The trailing months of a year in which
  no partner has trade are not published (``unpublished_months``), in every year, not only the
  latest; a month with no trade anywhere that is followed by trade is a real zero.
* **Per partner.** A partner has the published months of the years it has a row for, and no
  others: a partner with no row for a year has no months in it (``year_gaps``), and a month
  nobody published never becomes a zero row. So each partner ends at its own last published
  month, and a year is complete (12 months) only when all its months are published for it.
  A partner's 0 in a published month is a real zero (a small partner's quiet month; a code
  Census retired within a year, e.g. the NAFTA aggregates after 2020-06).

Every problem with the input raises :class:`~analysis.errors.DataError` with a one-line
message that names the file and the problem.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.config import TRADE_COLUMNS
from analysis.errors import DataError
from analysis.sources.census import (  # noqa: F401 (the table's layout, re-exported)
    EXPORT_MONTHS,
    ID_COLUMNS,
    IMPORT_MONTHS,
    MIN_YEAR,
    MONTHS,
    VALUE_COLUMNS,
    WIDE_COLUMNS,
    PublicationDate,
    future_month_problem,
)

#: Census aggregates (World, EU, regions, NAFTA/USMCA, Advanced Technology Products, ...)
#: have codes below this; countries and territories have 4-digit codes from 1000 up.
AGGREGATE_CODE_LIMIT: int = 1000

#: Largest accepted |annual total - sum of the 12 months|, US$ millions.
#: Census computes IYR/EYR as the sum of the published months: in the 2024 country.xlsx the
#: largest difference is 0 (exact in floating point), in the 2016 CSV vintage 0.0006 (the
#: totals are stored to 0.001). 0.05 is half the coarsest unit Census has used (0.1), so a
#: total that disagrees with its months at the published precision fails, while a month
#: shifted into the wrong column (which moves the sum by a whole month's value) is caught.
ANNUAL_SUM_TOLERANCE: float = 0.05

#: Values are rounded to this many decimals of US$ millions (= 1 dollar), the finest unit
#: in the Census files (values from 2003 on are given to the dollar; earlier ones to
#: US$ 0.1 million). This removes float noise such as -1234.500000000004 from balances
#: without throwing away any published digit.
VALUE_DECIMALS: int = 6

# ---- validation ------------------------------------------------------------------------------


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _zero_or_blank(value: object) -> bool:
    if _is_blank(value):
        return True
    try:
        return float(str(value).strip()) == 0.0
    except ValueError:
        return False


def drop_placeholder_rows(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Drop rows with a blank ``year`` whose values are all blank or zero.

    The 2016 CSV vintage has one such row (Yemen, code 5220, no year, all zeros): it holds
    no data. Returns the remaining rows and one ``"row N: CODE NAME"`` note per dropped row.
    A blank-year row that does carry values is kept, so ``validate_wide`` rejects it.
    """
    if "year" not in df.columns:
        return df, []
    values = [c for c in df.columns if c in VALUE_COLUMNS]
    blank_year = df["year"].map(_is_blank)
    if not blank_year.any():
        return df, []
    empty = df.loc[blank_year, values].map(_zero_or_blank).all(axis=1)
    drop = empty[empty].index
    notes = [
        f"row {i}: {str(df.at[i, 'CTY_CODE']).strip() if 'CTY_CODE' in df else '?'} "
        f"{str(df.at[i, 'CTYNAME']).strip() if 'CTYNAME' in df else ''}".rstrip()
        for i in drop
    ]
    return df.drop(index=drop), notes


def _describe(df: pd.DataFrame, row: object) -> str:
    """``"row 7 (Korea, South 5800, 2011)"`` for messages."""
    bits = []
    if "CTYNAME" in df.columns:
        bits.append(str(df.at[row, "CTYNAME"]).strip())
    if "CTY_CODE" in df.columns:
        bits.append(str(df.at[row, "CTY_CODE"]).strip())
    label = " ".join(b for b in bits if b)
    if "year" in df.columns and not _is_blank(df.at[row, "year"]):
        label += f", {df.at[row, 'year']}"
    return f"row {row} ({label})" if label else f"row {row}"


def _as_int(value: object) -> int | None:
    """An integer from ``2011``, ``2011.0`` or ``"0015"``; None if it is not one."""
    if isinstance(value, bool) or _is_blank(value):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else None
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    return int(text) if text.isdigit() else None


def _canonical_columns(df: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    lookup = {c.casefold(): c for c in WIDE_COLUMNS}
    renamed = {c: lookup.get(str(c).strip().casefold(), str(c).strip()) for c in df.columns}
    out = df.rename(columns=renamed)
    dup = sorted({c for c in out.columns if list(out.columns).count(c) > 1})
    if dup:
        raise DataError(path, f"duplicate column(s) {', '.join(dup)}")
    missing = [c for c in WIDE_COLUMNS if c not in out.columns]
    if missing:
        extra = [c for c in out.columns if c not in WIDE_COLUMNS]
        msg = f"missing column(s) {', '.join(missing)}"
        if extra:
            msg += f"; unexpected column(s) {', '.join(extra)} (renamed?)"
        raise DataError(
            path, msg + "; expected year, CTY_CODE, CTYNAME, IJAN..IDEC, IYR, EJAN..EDEC, EYR"
        )
    return out[list(WIDE_COLUMNS)]


def annual_discrepancy(wide: pd.DataFrame) -> pd.Series:
    """Per row, the larger of |IYR - sum(IJAN..IDEC)| and |EYR - sum(EJAN..EDEC)| (numeric frame)."""
    di = (wide[list(IMPORT_MONTHS)].sum(axis=1) - wide["IYR"]).abs()
    de = (wide[list(EXPORT_MONTHS)].sum(axis=1) - wide["EYR"]).abs()
    return np.maximum(di, de)


def validate_wide(
    df: pd.DataFrame, path: str | Path, *, tolerance: float = ANNUAL_SUM_TOLERANCE
) -> pd.DataFrame:
    """Check the raw table and return it typed: ``year``/``CTY_CODE`` int64, values float64.

    Checks, in order (the first failure raises ``DataError`` naming the file and the cell,
    partner or year): the expected columns (missing or renamed ones are named); years and
    codes are integers, years plausible (``MIN_YEAR`` .. next year) and contiguous over the
    file; names non-empty; every value numeric (the first text cell is named), finite and
    not negative; one row per (code, year); ``IYR``/``EYR`` equal the sum of their months
    within ``tolerance`` (a shifted month column fails here).
    """
    if df.empty:
        raise DataError(path, "the table has no data rows")
    df = _canonical_columns(df, path)

    years = df["year"].map(_as_int)
    bad = years[years.isna()]
    if len(bad):
        row = bad.index[0]
        cell = df.at[row, "year"]
        what = "empty year" if _is_blank(cell) else f"year {str(cell).strip()[:20]!r} is not a year"
        raise DataError(path, f"{what} in {_describe(df, row)}")
    years = years.astype("int64")
    this_year = _dt.date.today().year
    implausible = years[(years < MIN_YEAR) | (years > this_year + 1)]
    if len(implausible):
        row = implausible.index[0]
        raise DataError(
            path,
            f"implausible year {implausible.iloc[0]} in {_describe(df, row)} (expected {MIN_YEAR}..{this_year + 1})",
        )
    present = set(years)
    holes = [y for y in range(min(present), max(present) + 1) if y not in present]
    if holes:
        raise DataError(
            path,
            f"years are not contiguous: no rows for {', '.join(map(str, holes[:5]))}"
            + (" ..." if len(holes) > 5 else ""),
        )

    codes = df["CTY_CODE"].map(_as_int)
    bad = codes[codes.isna() | (codes.fillna(0) <= 0) | (codes.fillna(0) > 9999)]
    if len(bad):
        row = bad.index[0]
        raise DataError(
            path,
            f"CTY_CODE {df.at[row, 'CTY_CODE']!r} is not a Census code (1-4 digits) in {_describe(df, row)}",
        )
    codes = codes.astype("int64")

    names = df["CTYNAME"].map(lambda v: "" if _is_blank(v) else str(v).strip())
    if (names == "").any():
        row = names[names == ""].index[0]
        raise DataError(path, f"empty CTYNAME in {_describe(df, row)}")

    values = {}
    for col in VALUE_COLUMNS:
        raw = df[col]
        num = pd.to_numeric(raw, errors="coerce").astype("float64")
        bad_mask = num.isna() | ~np.isfinite(num.fillna(0))
        if bad_mask.any():
            row = bad_mask[bad_mask].index[0]
            cell = raw.at[row]
            what = "empty cell" if _is_blank(cell) else f"text {str(cell).strip()[:40]!r}"
            raise DataError(path, f"{what} in numeric column {col}, {_describe(df, row)}")
        neg = num < 0
        if neg.any():
            row = neg[neg].index[0]
            raise DataError(path, f"negative value {num.at[row]:g} in {col}, {_describe(df, row)}")
        values[col] = num

    out = pd.DataFrame(
        {"year": years, "CTY_CODE": codes, "CTYNAME": names.astype("str"), **values},
        index=df.index,
    )

    dup = out.duplicated(["CTY_CODE", "year"], keep=False)
    if dup.any():
        pairs = out.loc[dup, ["CTY_CODE", "year", "CTYNAME"]].drop_duplicates(["CTY_CODE", "year"])
        listed = "; ".join(f"{n} {c} {y}" for c, y, n in pairs.head(3).itertuples(index=False))
        more = f" and {len(pairs) - 3} more" if len(pairs) > 3 else ""
        raise DataError(path, f"duplicate rows for (CTY_CODE, year): {listed}{more}")

    disc = annual_discrepancy(out)
    failing = disc[disc > tolerance]
    if len(failing):
        row = failing.index[0]
        r = out.loc[row]
        for total, months in (("IYR", IMPORT_MONTHS), ("EYR", EXPORT_MONTHS)):
            s = float(r[list(months)].sum())
            if abs(s - r[total]) > tolerance:
                break
        more = f"; {len(failing)} rows fail" if len(failing) > 1 else ""
        raise DataError(
            path,
            f"annual total {total} {r[total]:.3f} != sum of months {s:.3f} for {r['CTYNAME']} "
            f"({r['CTY_CODE']}) {r['year']} (difference {abs(s - r[total]):.3f} > tolerance "
            f"{tolerance}; a month column shifted?){more}",
        )
    return out


def year_gaps(wide: pd.DataFrame) -> dict[int, list[int]]:
    """Years that Census omits inside a partner's first..last year: ``{code: [years]}``.

    Census leaves out some partner-years: mostly years without recorded trade (North Korea
    2017-2021, Czechoslovakia 1997-2002), but also years of an aggregate it did not compile
    (NICS 2013-2015 in the 2016 vintage, billions a month either side). The missing months
    are therefore *not* filled with zeros; the gaps stay, and are reported.
    """
    span = wide.groupby("CTY_CODE")["year"].agg(["min", "max", "count"])
    gappy = span[span["max"] - span["min"] + 1 != span["count"]]
    out: dict[int, list[int]] = {}
    for code, (lo, hi, _) in gappy.iterrows():
        have = set(wide.loc[wide["CTY_CODE"] == code, "year"])
        out[int(code)] = [y for y in range(int(lo), int(hi) + 1) if y not in have]
    return out


def format_years(years: Iterable[int]) -> str:
    """Compact text for a set of years: ``[1997, 1998, 1999, 2001] -> "1997-1999, 2001"``."""
    ys = sorted(set(int(y) for y in years))
    runs: list[list[int]] = []
    for y in ys:
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs)


# ---- reshaping -------------------------------------------------------------------------------


def to_long(df: pd.DataFrame) -> pd.DataFrame:
    """One row per partner-month from the validated wide table.

    Columns: ``date`` (datetime64, month start), ``partner_code`` (int64), ``partner``,
    ``exports``, ``imports`` (float64, US$ millions). The annual columns are dropped.
    """
    n = len(df)
    years = np.repeat(df["year"].to_numpy(dtype="int64"), 12)
    months = np.tile(np.arange(1, 13), n)
    dates = pd.to_datetime(pd.DataFrame({"year": years, "month": months, "day": 1})).astype(
        "datetime64[us]"
    )
    return pd.DataFrame(
        {
            "date": dates,
            "partner_code": np.repeat(df["CTY_CODE"].to_numpy(dtype="int64"), 12),
            "partner": pd.array(np.repeat(df["CTYNAME"].to_numpy(dtype=object), 12), dtype="str"),
            "exports": df[list(EXPORT_MONTHS)].to_numpy(dtype="float64").ravel(),
            "imports": df[list(IMPORT_MONTHS)].to_numpy(dtype="float64").ravel(),
        }
    )


def _traded(wide: pd.DataFrame) -> np.ndarray:
    """Rows x 12 booleans: the partner has exports or imports in the month."""
    return (wide[list(IMPORT_MONTHS)].to_numpy() != 0) | (wide[list(EXPORT_MONTHS)].to_numpy() != 0)


def check_calendar(wide: pd.DataFrame, path: str | Path, published: PublicationDate) -> None:
    """Refuse trade in a month that had not ended by ``published.date``.

    Census publishes a month about five weeks after it ends, so a non-zero cell in a later
    month is not Census data (a future month). Raises ``DataError`` naming the file, the
    partner and its earliest such month, with the number of such partner-months.
    """
    d = published.date
    month_index = wide["year"].to_numpy(dtype="int64")[:, None] * 12 + np.arange(1, 13)
    future = _traded(wide) & (month_index >= d.year * 12 + d.month)
    if not future.any():
        return
    rows, cols = np.nonzero(future)
    first = int(np.argmin(month_index[rows, cols] * 10_000 + wide["CTY_CODE"].to_numpy()[rows]))
    r, m = rows[first], int(cols[first]) + 1
    raise DataError(
        path,
        future_month_problem(
            str(wide["CTYNAME"].iloc[r]),
            int(wide["CTY_CODE"].iloc[r]),
            int(wide["year"].iloc[r]),
            m,
            published,
            int(future.sum()),
        ),
    )


def _published_from(traded_by_month: pd.Series) -> dict[int, int]:
    """``{year: last month with trade (0: none)}`` from booleans indexed by month start."""
    out: dict[int, int] = {}
    for ts, traded in traded_by_month.items():
        stamp = pd.Timestamp(ts)
        last = out.setdefault(stamp.year, 0)
        if traded and stamp.month > last:
            out[stamp.year] = stamp.month
    return out


def published_months(df_wide: pd.DataFrame) -> dict[int, int]:
    """How many months of each year of the file Census has published: ``{year: n}``.

    ``n`` is the last month of the year in which any partner has exports or imports (0 when
    no partner has any): Census publishes a month for every partner at once and prints the
    months it has not published as 0. A month with no trade anywhere followed by trade later
    in the year is published (a real zero).
    """
    traded = _traded(df_wide)
    out: dict[int, int] = {}
    for year, rows in pd.Series(np.arange(len(df_wide))).groupby(
        df_wide["year"].to_numpy(dtype="int64")
    ):
        months = np.flatnonzero(traded[rows.to_numpy()].any(axis=0))
        out[int(year)] = int(months.max()) + 1 if len(months) else 0
    return dict(sorted(out.items()))


def _after(published: dict[int, int]) -> list[pd.Timestamp]:
    return [
        pd.Timestamp(year=y, month=m, day=1)
        for y, n in sorted(published.items())
        for m in range(n + 1, 13)
    ]


def unpublished_months(df_wide: pd.DataFrame) -> list[pd.Timestamp]:
    """The months Census has not published (month-start timestamps, ascending).

    For every year of the file, the months after its last month in which any partner has
    trade (:func:`published_months`). Only trailing months: a real zero of one small
    partner, or a month with no trade anywhere followed by data, is kept.
    """
    return _after(published_months(df_wide))


def drop_unpublished(
    long: pd.DataFrame, months: Iterable[pd.Timestamp] | None = None
) -> pd.DataFrame:
    """Drop the unpublished months from the long table.

    ``months`` defaults to the same rule as ``unpublished_months`` applied to ``long``
    itself: in each year, the trailing months in which no partner has any trade.
    """
    if months is None:
        traded = (long["exports"] != 0) | (long["imports"] != 0)
        months = _after(_published_from(traded.groupby(long["date"]).any().sort_index()))
    drop = pd.DatetimeIndex(list(months))
    if drop.empty:
        return long
    return long[~long["date"].isin(drop)].reset_index(drop=True)


def is_aggregate(code: int) -> bool:
    """True for a Census aggregate (code < 1000: World, EU, regions, NAFTA/USMCA, ...).

    Also works element-wise on an integer Series or array.
    """
    return code < AGGREGATE_CODE_LIMIT


def latest_names(long: pd.DataFrame) -> dict[int, str]:
    """The name each partner code has in its latest month."""
    last = long.sort_values(["partner_code", "date"], kind="stable").groupby("partner_code").tail(1)
    return dict(zip(last["partner_code"].astype(int), last["partner"].astype(str), strict=True))


def name_changes(long: pd.DataFrame) -> dict[int, list[str]]:
    """Codes whose Census name changed over the years: ``{code: [names, oldest first]}``."""
    firsts = long.sort_values("date", kind="stable").drop_duplicates(["partner_code", "partner"])
    out: dict[int, list[str]] = {}
    for code, grp in firsts.groupby("partner_code"):
        if len(grp) > 1:
            out[int(code)] = [str(n) for n in grp["partner"]]
    return out


def _check_integrity(out: pd.DataFrame, path: str | Path | None) -> None:
    """Unique (partner_code, date); no missing value; no gap inside a partner-year.

    Each year a partner has must hold the months published in that year (those of the
    table's partners that year): January to December, or January to the year's last
    published month. Whole years may be absent (Census omits some partner-years; see
    ``year_gaps``), but never single months.
    """
    key = out.duplicated(["partner_code", "date"], keep=False)
    if key.any():
        r = out[key].iloc[0]
        raise DataError(path, f"duplicate partner-month {r['partner_code']} {r['date']:%Y-%m}")
    if out[["exports", "imports", "balance"]].isna().any().any():
        r = out[out[["exports", "imports", "balance"]].isna().any(axis=1)].iloc[0]
        raise DataError(path, f"missing value for partner {r['partner_code']} {r['date']:%Y-%m}")
    if out.empty:
        raise DataError(path, "no data left after dropping unpublished months")
    year = out["date"].dt.year
    month = out["date"].dt.month
    published = month.groupby(year).max()
    g = month.groupby([out["partner_code"], year])
    stats = pd.DataFrame({"n": g.size(), "lo": g.min(), "hi": g.max()})
    expected = published.reindex(stats.index.get_level_values(1)).to_numpy()
    bad = stats[(stats["lo"] != 1) | (stats["hi"] != expected) | (stats["n"] != expected)]
    if len(bad):
        (code, yr), r = next(iter(bad.iterrows()))
        raise DataError(
            path,
            f"partner {code} has a gap in {yr}: {r['n']} months from {r['lo']:02d} to {r['hi']:02d}, "
            f"expected 01 to {int(expected[stats.index.get_loc((code, yr))]):02d}",
        )


def finalize(long: pd.DataFrame, path: str | Path | None = None) -> pd.DataFrame:
    """The cleaned trade table: exactly ``config.TRADE_COLUMNS``, sorted by partner then date.

    Each code gets its latest name; ``is_aggregate`` flags codes < 1000; values are
    rounded to ``VALUE_DECIMALS`` and ``balance = exports - imports`` is rounded the same
    way (so no float noise). Raises ``DataError`` if (partner_code, date) is not unique or
    a partner-year has a missing month (whole years Census omits are allowed: ``year_gaps``).
    """
    names = latest_names(long)
    out = long.sort_values(["partner_code", "date"], kind="stable").reset_index(drop=True)
    codes = out["partner_code"].astype("int64")
    exports = out["exports"].astype("float64").round(VALUE_DECIMALS) + 0.0
    imports = out["imports"].astype("float64").round(VALUE_DECIMALS) + 0.0
    out = pd.DataFrame(
        {
            "date": out["date"].astype("datetime64[us]"),
            "partner_code": codes,
            "partner": codes.map(names).astype("str"),
            "is_aggregate": is_aggregate(codes).astype("bool"),
            "exports": exports,
            "imports": imports,
            # + 0.0 turns -0.0 into 0.0, so the CSV never shows "-0.0".
            "balance": (exports - imports).round(VALUE_DECIMALS) + 0.0,
        }
    )
    _check_integrity(out, path)
    assert tuple(out.columns) == TRADE_COLUMNS
    return out
