"""Korea beside other U.S. trading partners: balances, shares, indices and a KORUS DiD.

All inputs are the cleaned monthly table (``data/processed/trade_monthly.csv``: ``date,
partner_code, partner, is_aggregate, exports, imports, balance``, US$ millions, not
seasonally adjusted). Annual figures are sums of months and are flagged ``complete`` only
when all twelve months are published.

The difference-in-differences (:func:`did`, :func:`event_study`) compares log U.S. exports to
(or imports from) the treated partner with a set of comparison partners before and after a
break month (KORUS entered into force on 2012-03-15). Its assumptions are spelled out in
:data:`DID_ASSUMPTIONS`; the event study's leads are the pre-trend check.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import DataError, ParameterError
from analysis.vocab import AGGREGATE_CODE_LIMIT, SERIES

#: Partners shown beside Korea: China, Japan, Mexico, Vietnam, Germany, Taiwan.
DEFAULT_COMPARATORS: tuple[int, ...] = (5700, 5880, 2010, 5520, 4280, 5830)

#: Default DiD control group: partners without a free trade agreement with the U.S. over the
#: sample (China, Japan, Germany -- as an EU member --, Taiwan, Vietnam). Mexico (2010) is
#: left out because NAFTA (1994) and then USMCA (2020) already gave it preferential access:
#: it is not an untreated comparison for "an FTA comes into force".
NON_FTA_CONTROLS: tuple[int, ...] = (5700, 5880, 4280, 5830, 5520)

#: Why a comparator is not in the default control group (shown in the notebook).
EXCLUDED_FROM_CONTROLS: dict[int, str] = {
    2010: "Mexico has had a U.S. free trade agreement since 1994 (NAFTA, then USMCA from 2020)",
}

#: Census aggregate holding total U.S. trade with the world (not seasonally adjusted).
WORLD_NAME: str = "World, Not Seasonally Adjusted"

#: The series compared across partners (:data:`analysis.vocab.SERIES`).
FLOWS: tuple[str, ...] = SERIES

#: Assumptions of the DiD, stated for the report.
DID_ASSUMPTIONS: str = (
    "Identification rests on parallel trends: without KORUS, log U.S. trade with the treated "
    "partner would have moved like the comparison partners' trade, after partner fixed "
    "effects (and, by default, partner-specific calendar-month seasonality) and common "
    "month fixed effects are removed. The event-study leads (years before the break) test "
    "this in the pre-period; they cannot test it afterwards. Other assumptions: no "
    "anticipation beyond what the leads show (the agreement was signed in 2007, so some "
    "anticipation is possible), no spill-over of KORUS onto the comparison partners' trade "
    "(trade diversion would bias the estimate), and no other treated-partner-specific shock "
    "at the break (e.g. Korea's own business cycle or the won). With one treated partner and "
    "a handful of controls, partner-clustered errors are unreliable (too few clusters); the "
    "default is Driscoll-Kraay (HAC over the cross-section sum of scores, Bartlett kernel), "
    "which is justified by the long time dimension, not by the number of partners. Even so, "
    "when the treated-minus-controls gap is persistent these errors are too small (in "
    "simulations with monthly AR(1) errors of coefficient 0.9, nominal 95 % intervals cover "
    "about three times in four, and the event-study lead test rejects far too often), so the "
    "placebo-in-time comparison, which needs no asymptotics, is the check to trust."
)


# ---------------------------------------------------------------------------------------------
# Parameters and simple aggregates
# ---------------------------------------------------------------------------------------------
def parse_codes(value: object, name: str = "partners") -> list[int]:
    """Partner codes from a notebook parameter: a list (``["5700", 5880]``) or a
    comma-separated string (``"5700,5880"``, as passed on the command line).

    Raises ``ParameterError`` naming the parameter for anything that is not a code.
    """
    items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    codes: list[int] = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if not text.isdigit():
            raise ParameterError(f"{name}: {text!r} is not a Census partner code (e.g. 5800)")
        codes.append(int(text))
    if not codes:
        raise ParameterError(f"{name}: no partner codes given")
    if len(set(codes)) != len(codes):
        raise ParameterError(f"{name}: a code is repeated in {codes}")
    return codes


def _check_trade(trade: pd.DataFrame) -> None:
    missing = [
        c
        for c in ("date", "partner_code", "partner", "exports", "imports", "balance")
        if c not in trade
    ]
    if missing:
        raise DataError(None, f"trade table lacks columns {', '.join(missing)}")


def partner_name(trade: pd.DataFrame, code: int) -> str:
    """Census name of a partner code in ``trade``; ``ParameterError`` if absent."""
    names = trade.loc[trade["partner_code"] == int(code), "partner"]
    if names.empty:
        raise ParameterError(f"partner {code}: not in the trade table")
    return str(names.iloc[0])


def world_code(trade: pd.DataFrame, name: str = WORLD_NAME) -> int:
    """Code of the Census aggregate named ``name`` (default: world total, NSA), from the data.

    Looked up by name rather than hard-coded, since Census numbers its aggregates itself.
    Raises ``DataError`` listing the aggregates present when the name is absent.
    """
    _check_trade(trade)
    hit = trade.loc[trade["partner"].str.casefold() == name.casefold(), "partner_code"].unique()
    if len(hit) == 1:
        return int(hit[0])
    aggregates = trade.loc[trade["partner_code"] < AGGREGATE_CODE_LIMIT, "partner"].unique()
    if len(hit) > 1:
        raise DataError(None, f"partner name {name!r} has several codes: {sorted(map(int, hit))}")
    raise DataError(
        None,
        f"no partner named {name!r}; aggregates present: {', '.join(sorted(map(str, aggregates)))}",
    )


def annual_totals(trade: pd.DataFrame, codes: Sequence[int] | None = None) -> pd.DataFrame:
    """Annual sums by partner: ``year, partner_code, partner, exports, imports, balance,
    months, complete`` (US$ millions; ``complete`` when 12 months are present).

    ``codes`` limits the partners (default: all). Sorted by partner code, then year.
    """
    _check_trade(trade)
    df = trade if codes is None else trade[trade["partner_code"].isin([int(c) for c in codes])]
    if codes is not None:
        absent = sorted(set(int(c) for c in codes) - set(df["partner_code"].unique()))
        if absent:
            raise ParameterError(f"partner codes not in the trade table: {absent}")
    df = df.assign(year=df["date"].dt.year)
    out = (
        df.groupby(["partner_code", "year"], sort=True)
        .agg(
            partner=("partner", "first"),
            exports=("exports", "sum"),
            imports=("imports", "sum"),
            balance=("balance", "sum"),
            months=("date", "nunique"),
        )
        .reset_index()
    )
    out["complete"] = out["months"] == 12
    out["year"] = out["year"].astype(int)
    return out[
        ["year", "partner_code", "partner", "exports", "imports", "balance", "months", "complete"]
    ]


def annual_value(trade: pd.DataFrame, code: int, year: int, flow: str) -> float | None:
    """One partner's annual ``flow`` (US$ millions) in ``year``; None unless all 12 months exist."""
    if flow not in FLOWS:
        raise ParameterError(f"flow {flow!r}: expected one of {', '.join(FLOWS)}")
    rows = trade[(trade["partner_code"] == int(code)) & (trade["date"].dt.year == int(year))]
    if rows["date"].nunique() != 12:
        return None
    return float(rows[flow].sum())


def wide_by_partner(
    annual: pd.DataFrame, value: str = "balance", complete_only: bool = True
) -> pd.DataFrame:
    """Pivot :func:`annual_totals` to ``year x partner name`` for one value column.

    Columns keep the order of first appearance of the partner codes in ``annual``.
    """
    df = annual[annual["complete"]] if complete_only else annual
    order = list(dict.fromkeys(df["partner"]))
    wide = df.pivot(index="year", columns="partner", values=value)
    return wide[order]


def trade_shares(
    trade: pd.DataFrame, focus: int, world: int | None = None, freq: str = "annual"
) -> pd.DataFrame:
    """The focus partner's share (%) of total U.S. exports and imports.

    ``freq="annual"``: index ``year`` (complete years of both series only);
    ``freq="monthly"``: index ``date``. Columns ``exports, imports, world_exports,
    world_imports`` (US$ millions) and ``exports_share, imports_share`` (percent).
    ``world`` defaults to the code of :data:`WORLD_NAME` found in the data.
    """
    if freq not in {"annual", "monthly"}:
        raise ParameterError(f"freq {freq!r}: expected 'annual' or 'monthly'")
    world = world_code(trade) if world is None else int(world)
    cols = ["date", "exports", "imports"]
    f = trade.loc[trade["partner_code"] == int(focus), cols]
    w = trade.loc[trade["partner_code"] == world, cols]
    if f.empty or w.empty:
        raise ParameterError(f"partner {focus if f.empty else world}: not in the trade table")
    m = f.merge(w, on="date", suffixes=("", "_w")).rename(
        columns={"exports_w": "world_exports", "imports_w": "world_imports"}
    )
    if freq == "annual":
        m = m.assign(year=m["date"].dt.year)
        g = m.groupby("year")
        m = g[["exports", "imports", "world_exports", "world_imports"]].sum()[g.size() == 12]
        m.index = m.index.astype(int)
    else:
        m = m.set_index("date").sort_index()
    m["exports_share"] = 100.0 * m["exports"] / m["world_exports"]
    m["imports_share"] = 100.0 * m["imports"] / m["world_imports"]
    return m[
        ["exports", "imports", "world_exports", "world_imports", "exports_share", "imports_share"]
    ]


def index_to_base(
    trade: pd.DataFrame, codes: Sequence[int], flow: str = "exports", base_year: int = 2011
) -> pd.DataFrame:
    """Annual ``flow`` of each partner indexed to ``base_year = 100`` (complete years only).

    Returns ``year x partner name``. Raises ``ParameterError`` when a partner lacks a complete,
    non-zero base year.
    """
    annual = annual_totals(trade, codes)
    wide = wide_by_partner(annual, value=flow, complete_only=True)
    if base_year not in wide.index:
        raise ParameterError(f"base_year {base_year}: not a complete year in the data")
    base = wide.loc[base_year]
    if (base == 0).any() or base.isna().any():
        raise ParameterError(
            f"base_year {base_year}: zero or missing {flow} for {list(base[(base == 0) | base.isna()].index)}"
        )
    return 100.0 * wide / base


# ---------------------------------------------------------------------------------------------
# Difference in differences
# ---------------------------------------------------------------------------------------------
def did_panel(
    trade: pd.DataFrame,
    treated: int,
    controls: Sequence[int],
    flow: str = "exports",
    start: str | None = None,
    end: str | None = None,
) -> pd.DataFrame:
    """Long panel for the DiD: ``date, partner_code, partner, value, y, treated``.

    ``y = log(value)`` of ``flow`` (exports or imports, US$ millions). Only months present for
    every partner are kept (a balanced panel). Raises ``ParameterError`` for an unknown flow
    or partner and ``DataError`` if a value is not positive (no log).
    """
    if flow not in {"exports", "imports"}:
        raise ParameterError(f"flow {flow!r}: the DiD uses 'exports' or 'imports'")
    controls = [int(c) for c in controls]
    if int(treated) in controls:
        raise ParameterError(f"partner {treated} is both treated and a control")
    if not controls:
        raise ParameterError("controls: empty; give at least one comparison partner")
    codes = [int(treated), *controls]
    df = trade[trade["partner_code"].isin(codes)]
    absent = sorted(set(codes) - set(df["partner_code"].unique()))
    if absent:
        raise ParameterError(f"partner codes not in the trade table: {absent}")
    if start:
        df = df[df["date"] >= pd.Timestamp(start)]
    if end:
        df = df[df["date"] <= pd.Timestamp(end)]
    counts = df.groupby("date")["partner_code"].nunique()
    common = counts.index[counts == len(codes)]
    df = df[df["date"].isin(common)]
    if df.empty:
        raise DataError(None, f"no month has {flow} for all of {codes} between {start} and {end}")
    bad = df[df[flow] <= 0]
    if not bad.empty:
        r = bad.iloc[0]
        raise DataError(
            None,
            f"{flow} of partner {r['partner_code']} in {r['date']:%Y-%m} is {r[flow]}; cannot take logs",
        )
    out = pd.DataFrame(
        {
            "date": df["date"].to_numpy(),
            "partner_code": df["partner_code"].astype(int).to_numpy(),
            "partner": df["partner"].astype(str).to_numpy(),
            "value": df[flow].astype(float).to_numpy(),
        }
    )
    out["y"] = np.log(out["value"])
    out["treated"] = out["partner_code"] == int(treated)
    return out.sort_values(["partner_code", "date"], kind="mergesort").reset_index(drop=True)


@dataclass(frozen=True)
class DidResult:
    """Treated x post coefficient of a two-way fixed-effects DiD on log trade."""

    coef: float
    se: float
    ci_low: float
    ci_high: float
    pvalue: float
    pct_effect: float  # 100 * (exp(coef) - 1)
    nobs: int
    n_partners: int
    n_months: int
    first_month: str
    last_month: str
    break_date: str
    cov_type: str
    maxlags: int | None
    seasonal: bool
    unit_trends: bool
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Plain dict (for tables and JSON)."""
        return asdict(self)


def _months_since(dates: pd.Series, break_date: pd.Timestamp) -> np.ndarray:
    return ((dates.dt.year - break_date.year) * 12 + (dates.dt.month - break_date.month)).to_numpy()


def _regressors(panel: pd.DataFrame, seasonal: bool, unit_trends: bool) -> dict[str, np.ndarray]:
    """Optional control columns: partner x calendar-month dummies and partner linear trends.

    The partner and month fixed effects themselves are absorbed (see :func:`_absorb`); the
    first partner (lowest code) is the reference for the partner-specific columns.
    """
    partners = sorted(panel["partner_code"].unique())
    pc = panel["partner_code"].to_numpy()
    cols: dict[str, np.ndarray] = {}
    if seasonal:
        cal = panel["date"].dt.month.to_numpy()
        for p in partners[1:]:
            for m in range(2, 13):
                cols[f"season_{p}_{m}"] = ((pc == p) & (cal == m)).astype(float)
    if unit_trends:
        months = np.sort(panel["date"].unique())
        t = np.searchsorted(months, panel["date"].to_numpy()).astype(float) / 12.0
        for p in partners[1:]:
            cols[f"trend_{p}"] = np.where(pc == p, t, 0.0)
    return cols


def _absorb(values: np.ndarray, n_partners: int, n_months: int) -> np.ndarray:
    """Two-way within transformation of a column of a balanced panel sorted by partner, date.

    ``x - mean over months (per partner) - mean over partners (per month) + grand mean``:
    by Frisch-Waugh-Lovell, regressing the transformed outcome on transformed regressors gives
    exactly the coefficients and residuals of the regression with partner and month dummies,
    with a design matrix hundreds of columns smaller.
    """
    m = values.reshape(n_partners, n_months)
    out = m - m.mean(axis=1, keepdims=True) - m.mean(axis=0, keepdims=True) + m.mean()
    return out.reshape(-1)


def _fit(
    panel: pd.DataFrame, columns: dict[str, np.ndarray], cov_type: str, maxlags: int
) -> tuple[pd.Series, pd.DataFrame]:
    """Two-way fixed-effects OLS of ``panel.y`` on ``columns``; coefficients and covariance.

    The fixed effects are absorbed; covariances use the residual degrees of freedom of the
    full dummy-variable regression (``nobs - k - partners - months + 1``):
    ``driscoll-kraay`` = statsmodels' HAC of the cross-section sums of scores (Bartlett,
    ``maxlags``) times ``nobs / dof``; ``cluster`` = by partner, times
    ``G/(G-1) (nobs-1)/dof``; ``nonrobust`` = ``RSS/dof (X'X)^-1``.
    """
    if cov_type not in {"driscoll-kraay", "cluster", "nonrobust"}:
        raise ParameterError(
            f"cov_type {cov_type!r}: expected 'driscoll-kraay', 'cluster' or 'nonrobust'"
        )
    n_p, n_t = panel["partner_code"].nunique(), panel["date"].nunique()
    x = pd.DataFrame({k: _absorb(v, n_p, n_t) for k, v in columns.items()})
    y = _absorb(panel["y"].to_numpy(dtype=float), n_p, n_t)
    # statsmodels is imported here, not at module level: analysis.claims.check imports this module
    # for its table helpers and should not pay statsmodels' import time.
    from statsmodels.regression.linear_model import OLS
    from statsmodels.stats import sandwich_covariance as sw

    res = OLS(y, x).fit()
    nobs, k = len(y), x.shape[1]
    dof = nobs - k - (n_p + n_t - 1)
    if dof <= 0:
        raise DataError(
            None, f"DiD: too few observations ({nobs}) for {k} regressors and the fixed effects"
        )
    if cov_type == "driscoll-kraay":
        months = np.sort(panel["date"].unique())
        tcode = np.searchsorted(months, panel["date"].to_numpy())
        cov = sw.cov_nw_groupsum(res, maxlags, tcode, use_correction=False) * nobs / dof
    elif cov_type == "cluster":
        g = panel["partner_code"].nunique()
        cov = sw.cov_cluster(res, panel["partner_code"].to_numpy(), use_correction=False)
        cov = cov * g / (g - 1) * (nobs - 1) / dof
    else:
        cov = float(np.sum(res.resid**2)) / dof * np.linalg.inv(x.T.to_numpy() @ x.to_numpy())
    names = list(x.columns)
    return pd.Series(res.params.to_numpy(), index=names), pd.DataFrame(
        cov, index=names, columns=names
    )


def _prepare(panel: pd.DataFrame, break_date: str) -> tuple[pd.DataFrame, pd.Timestamp]:
    need = {"date", "partner_code", "y", "treated"}
    if not need <= set(panel.columns):
        raise DataError(None, f"DiD panel lacks columns {sorted(need - set(panel.columns))}")
    if panel["treated"].groupby(panel["partner_code"]).nunique().max() > 1:
        raise DataError(None, "DiD panel: 'treated' varies within a partner")
    n_treated = panel.loc[panel["treated"], "partner_code"].nunique()
    if n_treated == 0 or n_treated == panel["partner_code"].nunique():
        raise ParameterError("DiD panel needs treated and control partners")
    brk = pd.Timestamp(break_date)
    dates = pd.to_datetime(panel["date"])
    if not (dates.min() < brk <= dates.max()):
        raise ParameterError(
            f"break_date {break_date}: outside the panel ({dates.min():%Y-%m}..{dates.max():%Y-%m})"
        )
    panel = (
        panel.assign(date=dates)
        .sort_values(["partner_code", "date"], kind="mergesort")
        .reset_index(drop=True)
    )
    n_p, n_t = panel["partner_code"].nunique(), panel["date"].nunique()
    if len(panel) != n_p * n_t or panel.duplicated(["partner_code", "date"]).any():
        raise DataError(None, "DiD panel must be balanced: every partner once in every month")
    return panel, brk


def _se(cov: pd.DataFrame, name: str) -> float:
    return float(np.sqrt(max(float(cov.loc[name, name]), 0.0)))


def did(
    panel: pd.DataFrame,
    break_date: str,
    *,
    cov_type: str = "driscoll-kraay",
    maxlags: int = 12,
    seasonal: bool = True,
    unit_trends: bool = False,
    alpha: float = 0.05,
) -> DidResult:
    """Two-way fixed-effects DiD: ``y = partner FE + month FE [+ seasonality] + b * treated x post``.

    ``post`` is ``date >= break_date``. ``cov_type``: ``"driscoll-kraay"`` (default; HAC with
    ``maxlags`` monthly lags on the cross-section sums of scores), ``"cluster"`` (by partner;
    flagged in ``notes`` when there are fewer than 30 clusters) or ``"nonrobust"``.
    ``seasonal`` adds partner x calendar-month effects; ``unit_trends`` partner linear trends.
    """
    from scipy import stats  # imported here: a third of a second, not needed by the rest

    panel, brk = _prepare(panel, break_date)
    cols = _regressors(panel, seasonal, unit_trends)
    cols["treated_post"] = (panel["treated"] & (panel["date"] >= brk)).astype(float).to_numpy()
    params, cov = _fit(panel, cols, cov_type, maxlags)
    b = float(params["treated_post"])
    se = _se(cov, "treated_post")
    z = stats.norm.ppf(1 - alpha / 2)
    notes: list[str] = []
    n_partners = int(panel["partner_code"].nunique())
    if cov_type == "cluster" and n_partners < 30:
        notes.append(
            f"only {n_partners} clusters: cluster-robust errors are unreliable (consider a wild-cluster bootstrap)"
        )
    if cov_type == "nonrobust":
        notes.append("non-robust errors ignore serial and cross-partner correlation")
    pval = float(2 * stats.norm.sf(abs(b / se))) if se > 0 else float("nan")
    return DidResult(
        coef=b,
        se=se,
        ci_low=b - z * se,
        ci_high=b + z * se,
        pvalue=pval,
        pct_effect=100.0 * math.expm1(b),
        nobs=len(panel),
        n_partners=n_partners,
        n_months=int(panel["date"].nunique()),
        first_month=f"{panel['date'].min():%Y-%m}",
        last_month=f"{panel['date'].max():%Y-%m}",
        break_date=f"{brk:%Y-%m}",
        cov_type=cov_type,
        maxlags=maxlags if cov_type == "driscoll-kraay" else None,
        seasonal=seasonal,
        unit_trends=unit_trends,
        notes=notes,
    )


@dataclass(frozen=True)
class EventStudy:
    """Event-study coefficients by year relative to the break, and the pre-trend test."""

    table: pd.DataFrame  # k, coef, se, ci_low, ci_high, pvalue, first_month, last_month
    pretrend_chi2: float
    pretrend_df: int
    pretrend_pvalue: float
    reference: int
    cov_type: str


def event_study(
    panel: pd.DataFrame,
    break_date: str,
    *,
    pre: int = 5,
    post: int = 5,
    cov_type: str = "driscoll-kraay",
    maxlags: int = 12,
    seasonal: bool = True,
    unit_trends: bool = False,
    alpha: float = 0.05,
) -> EventStudy:
    """Event-study version of :func:`did`: one treated x bin coefficient per 12-month bin.

    Bin ``k`` holds the months ``12k .. 12k+11`` after the break month (``k = 0`` starts at the
    break); bins beyond ``-pre`` / ``post`` are pooled into the end bins. ``k = -1`` (the year
    before the break) is the reference (coefficient 0). The leads ``k <= -2`` are jointly
    tested against zero (Wald chi-square with the same covariance). Caution: the model's
    residuals of the treated partner sum to zero within each bin, so HAC errors with lags of
    about a bin's length are biased down and this test over-rejects (badly so when the gap is
    persistent); read the leads as description and use :func:`placebo_in_time` as the check.
    """
    from scipy import stats  # imported here: a third of a second, not needed by the rest

    if pre < 2 or post < 0:
        raise ParameterError(
            "event_study: need pre >= 2 (a lead besides the reference) and post >= 0"
        )
    panel, brk = _prepare(panel, break_date)
    cols = _regressors(panel, seasonal, unit_trends)
    rel = _months_since(panel["date"], brk)
    k = np.clip(np.floor_divide(rel, 12), -pre, post)
    treated = panel["treated"].to_numpy()
    bins = [j for j in range(-pre, post + 1) if j != -1 and (k == j).any()]
    for j in bins:
        cols[f"ev_{j}"] = (treated & (k == j)).astype(float)
    params, cov = _fit(panel, cols, cov_type, maxlags)
    z = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for j in range(-pre, post + 1):
        in_bin = panel.loc[k == j, "date"]
        if in_bin.empty:
            continue
        if j == -1:
            coef, se, p = 0.0, 0.0, float("nan")
        else:
            coef, se = float(params[f"ev_{j}"]), _se(cov, f"ev_{j}")
            p = float(2 * stats.norm.sf(abs(coef / se))) if se > 0 else float("nan")
        rows.append(
            {
                "k": j,
                "coef": coef,
                "se": se,
                "ci_low": coef - z * se,
                "ci_high": coef + z * se,
                "pvalue": p,
                "first_month": f"{in_bin.min():%Y-%m}",
                "last_month": f"{in_bin.max():%Y-%m}",
            }
        )
    leads = [f"ev_{j}" for j in bins if j <= -2]
    b = params[leads].to_numpy()
    v = cov.loc[leads, leads].to_numpy()
    chi2 = float(b @ np.linalg.solve(v, b))
    return EventStudy(
        table=pd.DataFrame(rows),
        pretrend_chi2=chi2,
        pretrend_df=len(leads),
        pretrend_pvalue=float(stats.chi2.sf(chi2, len(leads))),
        reference=-1,
        cov_type=cov_type,
    )


@dataclass(frozen=True)
class PlaceboResult:
    """The shift at the break against the same shift at placebo (fake) break months."""

    estimate: float  # mean gap in the `window` months from the break minus the `window` before
    placebos: pd.Series  # index: placebo break month; values: the same statistic there
    pvalue: float  # (1 + #{|placebo| >= |estimate|}) / (1 + number of placebos)
    window: int
    break_date: str


def gap_series(panel: pd.DataFrame) -> pd.Series:
    """Monthly gap ``y(treated) - mean y(controls)`` with calendar-month means removed.

    In a balanced panel the two-way fixed-effects DiD coefficient is the change of this gap's
    mean at the break (exactly so without the seasonal terms), which makes it the natural
    series for placebo checks.
    """
    wide = panel.pivot(index="date", columns="partner_code", values="y").sort_index()
    treated = sorted(panel.loc[panel["treated"], "partner_code"].unique())
    controls = [c for c in wide.columns if c not in treated]
    gap = wide[treated].mean(axis=1) - wide[controls].mean(axis=1)
    gap.index = pd.DatetimeIndex(gap.index)
    seasonal = gap.groupby(gap.index.month).transform("mean")
    out = gap - seasonal
    out.name = "gap"
    return out


def placebo_in_time(panel: pd.DataFrame, break_date: str, *, window: int = 36) -> PlaceboResult:
    """Compare the gap's shift at ``break_date`` with its shifts at every other month.

    The statistic at month ``b`` is ``mean(gap[b, b+window)) - mean(gap[b-window, b))``.
    Placebo months are those whose two windows fit in the sample and do not contain the real
    break. The p-value is the share of placebo shifts at least as large in absolute value
    (with the usual +1 correction). It needs no asymptotics and so stays honest when the gap
    is persistent; but neighbouring placebos overlap, so the effective number of independent
    comparisons is only about ``months / (2 * window)``.
    """
    panel, brk = _prepare(panel, break_date)
    gap = gap_series(panel)
    values = gap.to_numpy()
    n = len(values)
    if window < 3:
        raise ParameterError(f"window {window}: use at least 3 months")
    pos = int(np.searchsorted(gap.index.to_numpy(), brk.to_datetime64()))
    if pos - window < 0 or pos + window > n:
        raise ParameterError(
            f"window {window}: needs {window} months on each side of {brk:%Y-%m} "
            f"(panel {gap.index.min():%Y-%m}..{gap.index.max():%Y-%m})"
        )
    csum = np.concatenate([[0.0], np.cumsum(values)])

    def shift(b: int) -> float:
        return float((csum[b + window] - csum[b]) / window - (csum[b] - csum[b - window]) / window)

    estimate = shift(pos)
    fakes = [b for b in range(window, n - window + 1) if not (b - window <= pos < b + window)]
    if not fakes:
        raise ParameterError(
            f"window {window}: no placebo month fits in the panel; use a shorter window"
        )
    placebos = pd.Series([shift(b) for b in fakes], index=gap.index[fakes], name="shift")
    exceed = int((placebos.abs() >= abs(estimate) - 1e-12).sum())
    return PlaceboResult(
        estimate=estimate,
        placebos=placebos,
        pvalue=(1 + exceed) / (1 + len(placebos)),
        window=window,
        break_date=f"{brk:%Y-%m}",
    )


def did_table(
    trade: pd.DataFrame,
    treated: int,
    controls: Sequence[int],
    *,
    break_date: str,
    start: str | None = None,
    end: str | None = None,
    flows: Sequence[str] = ("exports", "imports"),
    **kwargs: object,
) -> pd.DataFrame:
    """:func:`did` for each flow, plus leave-one-control-out and partner-trend variants.

    One row per (flow, specification) with the coefficient, its CI, the implied % effect and
    the sample. Specifications: ``baseline``, ``partner trends``, ``without <control>``.
    """
    rows = []
    for flow in flows:
        panel = did_panel(trade, treated, controls, flow, start, end)
        specs: list[tuple[str, pd.DataFrame, dict[str, object]]] = [
            ("baseline", panel, {}),
            ("partner trends", panel, {"unit_trends": True}),
        ]
        if len(controls) > 1:
            for c in controls:
                sub = panel[panel["partner_code"] != int(c)]
                specs.append((f"without {partner_name(trade, int(c))}", sub, {}))
        for label, pnl, extra in specs:
            r = did(pnl, break_date, **{**kwargs, **extra})  # type: ignore[arg-type]
            rows.append(
                {
                    "flow": flow,
                    "specification": label,
                    "coef": r.coef,
                    "se": r.se,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "pvalue": r.pvalue,
                    "pct_effect": r.pct_effect,
                    "n_partners": r.n_partners,
                    "first_month": r.first_month,
                    "last_month": r.last_month,
                }
            )
    return pd.DataFrame(rows)
