"""Monthly and annual trade series of one partner, from the cleaned table.

The cleaned table (``data/processed/trade_monthly.csv`` or its parquet twin) holds every
Census partner, monthly, in US$ millions, not seasonally adjusted. This module reads it with
the right dtypes, cuts out one partner over a window of months, and aggregates to years.

Conventions
-----------
* Monthly frames have a ``DatetimeIndex`` named ``date`` with frequency ``MS`` (month start)
  and float columns ``exports``, ``imports``, ``balance`` (``balance = exports - imports``).
* Annual totals are sums of the published monthly figures, so the annual balance is the sum
  of the monthly balances (as Census publishes it), which can differ from annual exports minus
  annual imports by a rounding unit.
* A year with fewer than 12 months in the window is *incomplete* (``complete = False``) and has
  no growth rate, and the year after it has none either: a growth rate between a part year and a
  full year would mostly measure the number of months. The cleaned table holds only the months
  Census has published for each partner (:mod:`analysis.clean.census`; never a zero for a month
  not yet published), so a complete year is one whose 12 months are all published for it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis import config
from analysis.errors import DataError, ParameterError
from analysis.params import is_blank, parse_month
from analysis.partners import Partner, resolve

SERIES: tuple[str, ...] = ("exports", "imports", "balance")


def load_trade(path: str | Path = config.TRADE_MONTHLY_CSV) -> pd.DataFrame:
    """Read the cleaned monthly table (CSV, or parquet if ``path`` ends in ``.parquet``).

    Returns the columns of ``config.TRADE_COLUMNS`` with dtypes ``date`` datetime64,
    ``partner_code`` int64, ``partner`` str, ``is_aggregate`` bool and float64 money columns.
    Raises ``DataError`` if the file is missing, unreadable or has other columns.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            path,
            "cleaned trade table not found; build it first (make data/processed/trade_monthly.csv)",
        )
    try:
        if path.suffix == ".parquet":
            raw = pd.read_parquet(path)
        else:
            raw = pd.read_csv(path, dtype={"partner": "str", "date": "str"})
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data problem
        raise DataError(path, f"cannot read ({type(exc).__name__}: {exc})".splitlines()[0]) from exc
    expected = list(config.TRADE_COLUMNS)
    if list(raw.columns) != expected:
        missing = [c for c in expected if c not in raw.columns]
        extra = [c for c in raw.columns if c not in expected]
        raise DataError(
            path,
            f"columns {list(raw.columns)} do not match {expected}"
            + (f" (missing {missing})" if missing else "")
            + (f" (unexpected {extra})" if extra else ""),
        )
    out = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    try:
        out["date"] = pd.to_datetime(raw["date"].astype("str"), format="%Y-%m-%d")
        out["partner_code"] = pd.to_numeric(raw["partner_code"], errors="raise").astype("int64")
        out["partner"] = raw["partner"].astype("str")
        agg = raw["is_aggregate"]
        if agg.dtype != bool:
            agg = (
                agg.astype("str")
                .str.strip()
                .str.lower()
                .map({"true": True, "false": False, "1": True, "0": False})
            )
            if agg.isna().any():
                raise ValueError("is_aggregate has values other than True/False")
        out["is_aggregate"] = agg.astype(bool)
        for col in SERIES:
            out[col] = pd.to_numeric(raw[col], errors="raise").astype("float64")
    except (ValueError, TypeError) as exc:
        raise DataError(path, f"bad value: {exc}".splitlines()[0]) from exc
    empty = [c for c in out.columns if out[c].isna().any()]
    if empty:
        raise DataError(path, f"empty values in column(s) {', '.join(empty)}")
    if (out["date"].dt.day != 1).any():
        raise DataError(path, "date must be the first day of a month (YYYY-MM-01)")
    return out


def partner_list(trade: pd.DataFrame) -> list[Partner]:
    """The partners present in ``trade``, as ``analysis.partners.Partner`` records."""
    from analysis.clean.table import unique_slugs  # the slugs partners.csv has

    rows = []
    for code, g in trade.groupby("partner_code", sort=True):
        traded = (g["exports"].abs() + g["imports"].abs()) > 0
        rows.append(
            {
                "partner_code": int(code),
                "partner": str(g["partner"].iloc[-1]),
                "is_aggregate": bool(g["is_aggregate"].iloc[-1]),
                "first_month": g["date"].min().strftime("%Y-%m"),
                "last_month": g["date"].max().strftime("%Y-%m"),
                "months": len(g),
                "months_with_trade": int(traded.sum()),
            }
        )
    # Unique slugs, as in partners.csv: two codes with one name (Israel 5080/5081) must not
    # share data/processed/sa/<slug>.csv or a report folder.
    slugs = unique_slugs(pd.DataFrame(rows)) if rows else []
    return [
        Partner(
            code=r["partner_code"],
            name=r["partner"],
            slug=s,
            is_aggregate=r["is_aggregate"],
            first_month=r["first_month"],
            last_month=r["last_month"],
            months=r["months"],
            months_with_trade=r["months_with_trade"],
        )
        for r, s in zip(rows, slugs, strict=True)
    ]


def resolve_partner(trade: pd.DataFrame, query: str | int) -> Partner:
    """Find a partner in ``trade`` by Census code (``"5800"``), name or slug.

    Uses ``analysis.partners.resolve`` (same messages, closest names on a miss) on the partners
    present in the table, so it works without ``partners.csv``. Raises ``ParameterError``.
    """
    return resolve(query, partner_list(trade))


def _month_or_none(value: str | pd.Timestamp | None, name: str) -> pd.Timestamp | None:
    """An optional month (:func:`analysis.params.parse_month`) as a month-start Timestamp."""
    return None if is_blank(value) else pd.Timestamp(parse_month(value, name))


def _ym(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m")


def partner_monthly(
    trade: pd.DataFrame,
    code: int | str,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Monthly exports, imports and balance of one partner over ``[start, end]``.

    ``code`` is the Census code (int or digit string). ``start``/``end`` are ``YYYY-MM``; empty
    or None means the partner's first/last month. A ``start`` before the first month of data is
    moved to it (the window starts with the data); a window that ends before ``start``, starts
    after the data or ends after it raises ``ParameterError`` naming the parameter and the data
    range. Months that Census omits inside the window (years without recorded trade) stay in
    the index as NaN and are listed in ``result.attrs["missing_months"]``.
    """
    try:
        code_int = int(str(code).strip())
    except ValueError:
        raise ParameterError(f"partner={code!r}: expected a Census code (e.g. 5800)") from None
    rows = trade.loc[trade["partner_code"] == code_int]
    if rows.empty:
        raise ParameterError(f"partner={code}: no Census partner with this code in the trade table")
    name = str(rows["partner"].iloc[-1])
    first, last = rows["date"].min(), rows["date"].max()
    rng = f"data for {name} cover {_ym(first)} .. {_ym(last)}"
    s = _month_or_none(start, "start")
    e = _month_or_none(end, "end")
    if s is not None and e is not None and e < s:
        raise ParameterError(f"end={_ym(e)} is before start={_ym(s)}")
    if s is not None and s > last:
        raise ParameterError(f"start={_ym(s)}: after the last month of data ({rng})")
    if e is not None and e < first:
        raise ParameterError(f"end={_ym(e)}: before the first month of data ({rng})")
    if e is not None and e > last:
        raise ParameterError(f"end={_ym(e)}: after the last month of data ({rng})")
    s = first if s is None or s < first else s
    e = last if e is None else e
    out = rows.set_index("date").loc[s:e, list(SERIES)].sort_index()
    if out.index.has_duplicates:
        raise DataError(None, f"trade table: partner {code_int} has duplicate months")
    full = pd.date_range(s, e, freq="MS", name="date")
    # Census omits some partner-years (mostly years without recorded trade); the cleaned
    # table keeps those gaps, and so do we: the months are NaN here, never invented zeros.
    out = out.reindex(full).astype("float64")
    out.attrs = {
        "partner_code": code_int,
        "partner": name,
        "missing_months": [_ym(d) for d in out.index[out["exports"].isna()]],
    }
    return out


def annual(monthly: pd.DataFrame) -> pd.DataFrame:
    """Calendar-year sums of a monthly frame, with months counted and growth rates.

    Columns: ``year`` (int), ``exports``, ``imports``, ``balance`` (sums, US$ millions),
    ``months`` (int: months with data; years with none are left out), ``complete`` (``months == 12``), ``exports_growth`` and
    ``imports_growth`` (percent change on the previous year; NaN unless both this year and the
    previous calendar year are complete and the previous value is non-zero).
    """
    if monthly.empty:
        raise ParameterError("annual: the monthly frame is empty")
    years = monthly.index.year
    g = monthly[list(SERIES)].groupby(years)
    out = g.sum(min_count=1)
    out["months"] = monthly["exports"].notna().groupby(years).sum().astype("int64")
    out = out.loc[out["months"] > 0]
    out.index.name = "year"
    out = out.reset_index()
    out["year"] = out["year"].astype("int64")
    out["complete"] = out["months"] == 12
    prev = out.shift(1)
    ok = out["complete"] & prev["complete"].eq(True) & (prev["year"] == out["year"] - 1)
    for col in ("exports", "imports"):
        base = prev[col].where(ok & (prev[col] != 0))
        out[f"{col}_growth"] = np.where(base.notna(), 100.0 * (out[col] / base - 1.0), np.nan)
    return out[
        [
            "year",
            "exports",
            "imports",
            "balance",
            "months",
            "complete",
            "exports_growth",
            "imports_growth",
        ]
    ]


def data_through(monthly: pd.DataFrame) -> str:
    """The last month of a monthly frame as ``"YYYY-MM"``."""
    if monthly.empty:
        raise ParameterError("data_through: the monthly frame is empty")
    return _ym(pd.Timestamp(monthly.index.max()))
