"""Claim computations on the product table (HS chapters by partner and month), registered in ``check``.

Each function takes the claims context (its ``products`` table, ``unavailable`` reasons and
``trade`` for the partner's name) and returns ``(value, detail)``: a value only when the table
holds every month the claim needs for the flow at HS2; otherwise None and a detail that says
exactly which data are missing and what the table covers (e.g. "needs U.S. imports from South
Korea by HS2 for 2018 (HS 87 share); the product table covers 2023-01..2024-12, imports only").
"""

from __future__ import annotations

import calendar
import re
from typing import Protocol

import pandas as pd

from analysis.models.comparison import partner_name
from analysis.report.fmt import number

Result = tuple[float | None, str]
FLOW_WORDS: dict[str, str] = {"exports": "U.S. exports to", "imports": "U.S. imports from"}


class _Context(Protocol):
    products: pd.DataFrame | None
    trade: pd.DataFrame | None
    unavailable: dict[str, str]


def chapter_list(chapters: str) -> list[str]:
    """``"72+73"`` -> ``["72", "73"]`` (two-digit HS chapters joined by ``+``)."""
    out = [c.strip().zfill(2) for c in str(chapters).split("+") if c.strip()]
    if not out or not all(re.fullmatch(r"\d{2}", c) for c in out):
        raise ValueError(f"chapters={chapters!r}: expected HS2 chapters joined by + (e.g. 72+73)")
    return out


def _name(ctx: _Context, partner: int) -> str:
    if ctx.trade is not None and (ctx.trade["partner_code"] == partner).any():
        m = re.fullmatch(r"\s*(.+?),\s*(South|North)\s*", partner_name(ctx.trade, partner))
        return f"{m.group(2)} {m.group(1)}" if m else partner_name(ctx.trade, partner).strip()
    return f"partner {partner}"


def covers(products: pd.DataFrame) -> str:
    """What the product table holds: ``"2023-01..2024-12, imports only, HS2"``."""
    if products.empty:
        return "no rows"
    flows = sorted(products["flow"].unique())
    flow_text = f"{flows[0]} only" if len(flows) == 1 else " and ".join(flows)
    levels = ", ".join(sorted(products["level"].unique()))
    return f"{products['date'].min():%Y-%m}..{products['date'].max():%Y-%m}, {flow_text}, {levels}"


def _monthly(
    ctx: _Context, partner: int, flow: str, years: list[int], last_month: int, what: str
) -> pd.DataFrame | str:
    """HS2 rows of the partner and flow for ``years`` (months 1..``last_month``), or the
    sentence saying which data are missing."""
    period = " and ".join(map(str, years))
    if last_month < 12:
        period = f"January to {calendar.month_name[last_month]} of {period}"
    need = f"needs {FLOW_WORDS[flow]} {_name(ctx, partner)} by HS2 for {period} ({what})"
    if ctx.products is None:
        return (
            f"{need}; no product table in this run ({ctx.unavailable.get('products', 'not given')})"
        )
    rows = ctx.products[
        (ctx.products["partner_code"] == partner)
        & (ctx.products["flow"] == flow)
        & (ctx.products["level"] == "HS2")
    ]
    rows = rows[rows["date"].dt.year.isin(years) & (rows["date"].dt.month <= last_month)]
    if rows["date"].nunique() < len(years) * last_month:
        return f"{need}; the product table covers {covers(ctx.products)}"
    return rows


def _years_listing(ctx: _Context, partner: int, flow: str, chapters: list[str], share: bool) -> str:
    """For information: the chapters' value or share in each complete year the table holds."""
    if ctx.products is None:
        return ""
    rows = ctx.products[
        (ctx.products["partner_code"] == partner)
        & (ctx.products["flow"] == flow)
        & (ctx.products["level"] == "HS2")
    ]
    months = rows.groupby(rows["date"].dt.year)["date"].nunique()
    full = rows[rows["date"].dt.year.isin(months.index[months == 12])]
    by_year = full.groupby(full["date"].dt.year)
    part = full[full["hs_code"].isin(chapters)].groupby(full["date"].dt.year)["value"].sum()
    if part.empty:
        return ""
    values = 100 * part / by_year["value"].sum() if share else part
    text = "; ".join(
        f"{y} {number(v)} %" if share else f"{y} {number(v, 0)}" for y, v in values.items()
    )
    return f"; for information, in the complete years it holds: {text}"


def share(
    ctx: _Context, *, partner: int, chapters: str, year: int, flow: str = "imports"
) -> Result:
    """Share (%) of HS2 ``chapters`` in the partner's ``flow`` in ``year``."""
    codes = chapter_list(chapters)
    what = f"HS {'+'.join(codes)} share"
    rows = _monthly(ctx, partner, flow, [year], 12, what)
    if isinstance(rows, str):
        return None, rows + _years_listing(ctx, partner, flow, codes, share=True)
    return 100.0 * float(rows.loc[rows["hs_code"].isin(codes), "value"].sum()) / float(
        rows["value"].sum()
    ), ""


def value(
    ctx: _Context,
    *,
    partner: int,
    chapters: str,
    year: int,
    flow: str = "imports",
    scale: float = 1.0,
) -> Result:
    """Value of HS2 ``chapters`` in the partner's ``flow`` in ``year`` (US$ millions x ``scale``)."""
    codes = chapter_list(chapters)
    rows = _monthly(ctx, partner, flow, [year], 12, f"HS {'+'.join(codes)} value")
    if isinstance(rows, str):
        return None, rows + _years_listing(ctx, partner, flow, codes, share=False)
    return float(rows.loc[rows["hs_code"].isin(codes), "value"].sum()) * scale, ""


def pct_change(
    ctx: _Context,
    *,
    partner: int,
    chapters: str,
    base: int,
    year: int,
    flow: str = "imports",
    last_month: int = 12,
) -> Result:
    """Percent change of HS2 ``chapters`` in ``flow`` from ``base`` to ``year``, both summed
    over January to ``last_month``."""
    codes = chapter_list(chapters)
    rows = _monthly(ctx, partner, flow, [base, year], last_month, f"HS {'+'.join(codes)} by month")
    if isinstance(rows, str):
        return None, rows
    sums = rows[rows["hs_code"].isin(codes)].groupby(rows["date"].dt.year)["value"].sum()
    a, b = float(sums.get(base, 0.0)), float(sums.get(year, 0.0))
    if a == 0:
        return None, f"HS {'+'.join(codes)} is zero in {base}"
    return 100.0 * (
        b / a - 1.0
    ), f"US$ {number(a, 0)} million in {base}, {number(b, 0)} million in {year}"


def balance_share(ctx: _Context, *, partner: int, chapters: str, year: int) -> Result:
    """Part (%) of the U.S. goods deficit with the partner in ``year`` that is in HS2
    ``chapters``: (imports - exports of the chapters) / (imports - exports of all chapters)."""
    codes = chapter_list(chapters)
    net = {}
    for flow in ("exports", "imports"):
        rows = _monthly(
            ctx, partner, flow, [year], 12, f"HS {'+'.join(codes)} balance: exports and imports"
        )
        if isinstance(rows, str):
            return None, rows
        net[flow] = (
            float(rows.loc[rows["hs_code"].isin(codes), "value"].sum()),
            float(rows["value"].sum()),
        )
    part = net["imports"][0] - net["exports"][0]
    total = net["imports"][1] - net["exports"][1]
    if total <= 0:
        return (
            None,
            f"no U.S. deficit with the partner in {year} (balance US$ {number(-total, 0)} million)",
        )
    return 100.0 * part / total, (
        f"HS {'+'.join(codes)} deficit US$ {number(part, 0)} million of a total goods "
        f"deficit of US$ {number(total, 0)} million in {year}"
    )
