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


def test_formatted_numbers_line_up_on_the_right_and_text_and_years_on_the_left() -> None:
    df = pd.DataFrame(
        {
            "Year": ["2011", "2015"],
            "Flow": ["U.S. exports to", "U.S. imports from"],
            "Estimate": ["−0.249 (−0.371 to −0.128)", tables.MISSING],
            "Rank": ["21 of 55", "3 of 9"],
            "p": ["<0.001", "0.242"],
            "Ratio": ["infinite", "6.5"],
            "Months": ["2000-01 to 2017-12", "2000-01 to 2017-12"],
            "Count": [1, 2],
        }
    )
    numeric = [c for c in df.columns if markup.numeric_column(df[c])]
    assert numeric == ["Estimate", "Rank", "p", "Ratio", "Count"]
    html = markup.table(df).to_html()
    # each header is aligned with its column
    assert html.count("text-align: right") >= 2 and html.count("text-align: left") >= 2
    assert "white-space: nowrap" in html  # an estimate and its interval stay on one line
    assert not markup.numeric_column(pd.Series([tables.MISSING, None]))
