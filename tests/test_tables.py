"""Page tables (report/tables.py): human headers with units, one format per column, dashes."""

from __future__ import annotations

import math

import pandas as pd

from analysis.report import fmt, markup, tables


def test_shares_table_keeps_the_years_present() -> None:
    df = pd.DataFrame(
        {"exports_share": [2.61, 2.95, 3.104], "imports_share": [2.6, 3.2, math.nan]},
        index=[2011, 2015, 2023],
    )
    out = tables.shares(df, [2011, 2015, 2018, 2023])
    assert list(out.columns) == ["Year", "Share of U.S. exports, %", "Share of U.S. imports, %"]
    assert out["Year"].tolist() == ["2011", "2015", "2023"]  # 2018 is not in the table
    assert out["Share of U.S. exports, %"].tolist() == ["2.61", "2.95", "3.10"]
    assert out["Share of U.S. imports, %"].tolist()[-1] == tables.MISSING


def test_did_table_puts_the_interval_beside_the_estimate() -> None:
    rows = pd.DataFrame(
        {
            "flow": ["exports"],
            "specification": ["all controls"],
            "coef": [-0.2491],
            "ci_low": [-0.4012],
            "ci_high": [-0.0970],
            "pct_effect": [-22.05],
            "n_partners": [6],
            "first_month": ["2000-01"],
            "last_month": ["2017-12"],
        }
    )
    out = tables.did(rows, {"exports": "U.S. exports to"})
    assert out.iloc[0].tolist() == [
        "U.S. exports to",
        "all controls",
        "−0.249 (−0.401 to −0.097)",
        "−22.1",
        "6",
        "2000-01 to 2017-12",
    ]


def test_macro_table_labels_and_formats_each_indicator() -> None:
    df = pd.DataFrame(
        {"gdp_growth": [3.68, math.nan], "krw_per_usd": [1108.29, 1305.4]}, index=[2011, 2023]
    )
    out = tables.macro(df, {"gdp_growth": "Real GDP growth (%)", "krw_per_usd": "Won per US$"})
    assert list(out.columns) == ["Year", "Real GDP growth (%)", "Won per US$"]
    assert out["Real GDP growth (%)"].tolist() == ["3.7", tables.MISSING]
    assert out["Won per US$"].tolist() == ["1,108", "1,305"]
    assert fmt.MISSING_NOTE in markup.table(out).to_html()  # the dash is explained
