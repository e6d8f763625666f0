"""Tables for pages, from one place: human headers with units, one number format per column.

Each function takes a table the models or the cleaning produce (machine column names, full
precision) and returns what a page shows: estimates with their intervals in one cell, p-values
as ``<0.001``, missing values as ``–`` (explained under the table), the same number written
the same way as in the landing page (through :mod:`analysis.report.fmt`). Pass the result to
:func:`analysis.report.markup.table`, which escapes every cell.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from analysis.report import fmt
from analysis.vocab import HORIZON_MONTHS, quoted

MISSING = fmt.MISSING  # markup.table puts fmt.MISSING_NOTE under a table that shows it


def _num(fmt_one: Callable[[Any], str]) -> Callable[[Any], str]:
    def inner(v: Any) -> str:
        return MISSING if fmt.num(v) is None else fmt_one(v)

    return inner


one_decimal = _num(lambda v: fmt.number(float(v), 1))
signed_one = _num(lambda v: fmt.number(float(v), 1, sign=True))
whole = _num(lambda v: fmt.number(float(v), 0))
signed_whole = _num(lambda v: fmt.number(float(v), 0, sign=True))
p_value = _num(fmt.p_value)
stat = _num(lambda v: fmt.number(float(v), 2))


def _month(ym: Any) -> str:
    return str(ym)[:7] if ym is not None and str(ym) not in ("", "nan", "None") else MISSING


def _with_ci(est: Any, lo: Any, hi: Any, f: Callable[[Any], str]) -> str:
    if fmt.num(est) is None:
        return MISSING
    if fmt.num(lo) is None or fmt.num(hi) is None:
        return f(est)
    return f"{f(est)} ({f(lo)} to {f(hi)})"


def annual(df: pd.DataFrame) -> pd.DataFrame:
    """Annual totals (:func:`analysis.clean.series.annual`): US$ millions with one decimal,
    growth in % with one decimal, part years named with their months."""
    year = [
        str(y) if c else f"{y} ({m} months)"
        for y, c, m in zip(df["year"], df["complete"], df["months"], strict=True)
    ]
    out = pd.DataFrame(
        {
            "Year": year,
            "Exports, US$ M": df["exports"].map(one_decimal),
            "Imports, US$ M": df["imports"].map(one_decimal),
            "Balance, US$ M": df["balance"].map(one_decimal),
        }
    )
    for col, label in (
        ("exports_growth", "Exports growth, %"),
        ("imports_growth", "Imports growth, %"),
    ):
        if col in df:
            out[label] = df[col].map(signed_one)
    return out


def _first(df: pd.DataFrame, *names: str) -> pd.Series:
    for n in names:
        if n in df:
            return df[n]
    return pd.Series([None] * len(df), index=df.index)


def effects(df: pd.DataFrame) -> pd.DataFrame:
    """Level and trend changes at each break (``text.effects_table``): estimate and its
    calibrated 95% interval in one cell, the calibrated p-value (the one to quote: its size is
    checked by simulation), and the plain HAC p-value beside it for comparison."""
    money = df["unit"].astype(str).str.contains("US\\$", regex=True)
    rows = []
    for i, r in df.iterrows():
        f = signed_whole if money.loc[i] else signed_one
        rows.append(
            {
                "Series": fmt.SERIES_LABELS.get(str(r["series"]), str(r["series"])),
                "Break": _month(r["break"]),
                "Unit": "US$ M a month" if money.loc[i] else "%",
                "Level change (95% CI)": _with_ci(
                    r["level_change"],
                    quoted(r, "ci_low"),
                    quoted(r, "ci_high"),
                    f,
                ),
                "p, level": fmt.quoted_p(r, "p_level"),
                "p, level (plain HAC)": p_value(_first(df, "p_level_hac").loc[i]),
                "Trend change per year (95% CI)": _with_ci(
                    r["trend_change_per_year"],
                    quoted(r, "trend_ci_low"),
                    quoted(r, "trend_ci_high"),
                    f,
                ),
                "p, trend": fmt.quoted_p(r, "p_trend"),
                "p, trend (plain HAC)": p_value(_first(df, "p_trend_hac").loc[i]),
            }
        )
    return pd.DataFrame(rows)


def tests(df: pd.DataFrame) -> pd.DataFrame:
    """Break tests (``text.tests_table``): statistic, bootstrap and asymptotic p-values."""
    return pd.DataFrame(
        {
            "Series": df["series"].map(lambda s: fmt.SERIES_LABELS.get(str(s), str(s))),
            "Test": df["test"].astype(str),
            "Month": df["month"].map(_month),
            "Statistic": df["statistic"].map(stat),
            "p (calibrated)": [fmt.quoted_p(r, "p_value") for _, r in df.iterrows()],
            "p (asymptotic)": df["p_value_asymptotic"].map(p_value),
        }
    )


def counterfactual(df: pd.DataFrame) -> pd.DataFrame:
    """Actual minus projection (``text.counterfactual_table``): US$ billions and %, with
    their 95% intervals; horizons beyond :data:`analysis.vocab.HORIZON_MONTHS` marked as
    extrapolation."""
    billions = _num(lambda v: fmt.billions(v, sign=True))
    return pd.DataFrame(
        {
            "Series": df["series"].map(lambda s: fmt.SERIES_LABELS.get(str(s), str(s))),
            "Period": [
                f"{_month(a)} to {_month(b)}" for a, b in zip(df["from"], df["to"], strict=True)
            ],
            "Months": [
                fmt.count(m) + ("" if int(m) <= HORIZON_MONTHS else " (extrapolation)")
                for m in df["months"]
            ],
            "Cumulative gap, US$ bn (95% interval)": [
                _with_ci(g, lo, hi, billions)
                for g, lo, hi in zip(df["cumulative_gap"], df["ci_low"], df["ci_high"], strict=True)
            ],
            "Gap, % (95% interval)": [
                _with_ci(g, lo, hi, signed_one)
                for g, lo, hi in zip(
                    df["pct_gap"], df["pct_ci_low"], df["pct_ci_high"], strict=True
                )
            ],
            "Model": df["model"].astype(str),
        }
    )


def diagnostics(df: pd.DataFrame) -> pd.DataFrame:
    """Residual diagnostics (``text.diagnostics_table``): Ljung–Box and Durbin–Watson."""
    out = pd.DataFrame(
        {
            "Series": df["series"].map(lambda s: fmt.SERIES_LABELS.get(str(s), str(s))),
            "Model": df["model"].astype(str),
        }
    )
    for col in df.columns:
        if col.startswith("p "):
            out[f"{col.removeprefix('p ')} p-value"] = df[col].map(p_value)
        elif col.startswith("LB("):
            out[f"Ljung–Box {col.removeprefix('LB')}"] = df[col].map(stat)
    if "Durbin-Watson" in df:
        out["Durbin–Watson"] = df["Durbin-Watson"].map(stat)
    return out


two_decimals = _num(lambda v: fmt.number(float(v), 2))
signed_three = _num(lambda v: fmt.number(float(v), 3, sign=True))


def shares(df: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """A partner's shares of U.S. exports and imports (``comparison.trade_shares``, annual:
    index year, ``exports_share``/``imports_share`` in %) in ``years`` (those in the table)."""
    rows = df.loc[[y for y in years if y in df.index]]
    return pd.DataFrame(
        {
            "Year": [str(int(y)) for y in rows.index],
            "Share of U.S. exports, %": rows["exports_share"].map(two_decimals).to_numpy(),
            "Share of U.S. imports, %": rows["imports_share"].map(two_decimals).to_numpy(),
        }
    )


def did(df: pd.DataFrame, flow_labels: dict[str, str]) -> pd.DataFrame:
    """The five-partner difference-in-differences (``comparison.did_table``): each flow and
    specification with the estimate in log points and its 95% CI in one cell, the percent
    effect, the partners and the months used."""
    return pd.DataFrame(
        {
            "Flow": [flow_labels.get(str(f), str(f)) for f in df["flow"]],
            "Specification": df["specification"].astype(str).to_numpy(),
            "Estimate, log points (95% CI)": [
                _with_ci(b, lo, hi, signed_three)
                for b, lo, hi in zip(df["coef"], df["ci_low"], df["ci_high"], strict=True)
            ],
            "Effect, %": df["pct_effect"].map(signed_one).to_numpy(),
            "Partners": df["n_partners"].map(whole).to_numpy(),
            "Months": [
                f"{_month(a)} to {_month(b)}"
                for a, b in zip(df["first_month"], df["last_month"], strict=True)
            ],
        }
    )


def macro(df: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """World Bank indicators by year (``wdi.korea_macro``): each indicator under its label,
    rates with one decimal, the exchange rate in whole won; missing years as ``–``."""
    out = pd.DataFrame({"Year": [str(int(y)) for y in df.index]})
    for col in df.columns:
        f = whole if col == "krw_per_usd" else one_decimal
        out[labels.get(col, col)] = df[col].map(f).to_numpy()
    return out
