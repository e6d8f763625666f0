"""analysis.clean.series: reading the cleaned table, one partner's months, annual sums and growth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import config
from analysis.clean import series
from analysis.errors import DataError, ParameterError


def _trade() -> pd.DataFrame:
    """Two partners: 5800 over 2000-07..2002-12 (exports = 10 + month number, imports 4),
    1220 over 2001-01..2001-12 with 2001-05 missing (a Census gap)."""
    rows = []
    for d in pd.date_range("2000-07-01", "2002-12-01", freq="MS"):
        ex, im = 10.0 + d.month, 4.0
        rows.append((d, 5800, "Korea, South", False, ex, im, ex - im))
    for d in pd.date_range("2001-01-01", "2001-12-01", freq="MS"):
        if d.month != 5:
            rows.append((d, 1220, "Canada", False, 1.0, 2.0, -1.0))
    return pd.DataFrame(rows, columns=list(config.TRADE_COLUMNS)).sort_values(
        ["partner_code", "date"]
    )


@pytest.fixture()
def trade_csv(tmp_path):
    t = _trade()
    t["date"] = t["date"].dt.strftime("%Y-%m-%d")
    path = tmp_path / "trade_monthly.csv"
    t.to_csv(path, index=False)
    return path


def test_load_trade_dtypes_csv_and_parquet(trade_csv, tmp_path):
    t = series.load_trade(trade_csv)
    assert list(t.columns) == list(config.TRADE_COLUMNS)
    assert str(t["date"].dtype).startswith("datetime64")
    assert t["partner_code"].dtype == np.int64
    assert t["is_aggregate"].dtype == bool
    assert t["exports"].dtype == np.float64
    assert t.loc[t["partner_code"] == 5800, "exports"].iloc[0] == 17.0  # July: 10 + 7
    pq = tmp_path / "t.parquet"
    t.to_parquet(pq)
    t2 = series.load_trade(pq)
    pd.testing.assert_frame_equal(
        t.reset_index(drop=True), t2.reset_index(drop=True), check_dtype=False
    )


def test_load_trade_missing_file_and_bad_columns(tmp_path, trade_csv):
    with pytest.raises(DataError, match="not found"):
        series.load_trade(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    pd.read_csv(trade_csv).drop(columns=["balance"]).to_csv(bad, index=False)
    with pytest.raises(DataError, match=r"missing \['balance'\]"):
        series.load_trade(bad)
    worse = tmp_path / "worse.csv"
    pd.read_csv(trade_csv).assign(exports="n/a").to_csv(worse, index=False)
    with pytest.raises(DataError, match="empty values in column.s. exports"):
        series.load_trade(worse)
    worst = tmp_path / "worst.csv"
    pd.read_csv(trade_csv).assign(imports="abc").to_csv(worst, index=False)
    with pytest.raises(DataError, match="bad value"):
        series.load_trade(worst)


def test_partner_monthly_frame(trade_csv):
    t = series.load_trade(trade_csv)
    m = series.partner_monthly(t, "5800", "2001-01", "2001-06")
    assert isinstance(m.index, pd.DatetimeIndex) and m.index.freqstr == "MS"
    assert list(m.columns) == ["exports", "imports", "balance"]
    assert len(m) == 6 and m.index[0] == pd.Timestamp("2001-01-01")
    assert m["exports"].tolist() == [11.0, 12.0, 13.0, 14.0, 15.0, 16.0]
    assert series.data_through(m) == "2001-06"
    # Empty start/end = the partner's full range; a start before the data is moved to it.
    full = series.partner_monthly(t, 5800, "1999-01", "")
    assert series.data_through(full) == "2002-12" and full.index[0] == pd.Timestamp("2000-07-01")


def test_partner_monthly_keeps_census_gaps_as_nan(trade_csv):
    t = series.load_trade(trade_csv)
    m = series.partner_monthly(t, 1220)
    assert len(m) == 12 and m.loc["2001-05-01"].isna().all()
    assert m.attrs["missing_months"] == ["2001-05"]
    a = series.annual(m)
    assert a["months"].tolist() == [11] and not a["complete"].iloc[0]
    assert a["exports"].iloc[0] == 11.0


@pytest.mark.parametrize(
    ("code", "start", "end", "message"),
    [
        (9999, None, None, r"partner=9999: no Census partner"),
        (5800, "2002-01", "2001-01", r"end=2001-01 is before start=2002-01"),
        (
            5800,
            "2003-01",
            None,
            r"start=2003-01: after the last month of data .*2000-07 \.\. 2002-12",
        ),
        (
            5800,
            None,
            "1999-12",
            r"end=1999-12: before the first month of data .*2000-07 \.\. 2002-12",
        ),
        (5800, None, "2003-06", r"end=2003-06: after the last month of data"),
        (5800, "2001-13", None, r"start='2001-13': expected a month as YYYY-MM"),
    ],
)
def test_partner_monthly_window_errors(trade_csv, code, start, end, message):
    t = series.load_trade(trade_csv)
    with pytest.raises(ParameterError, match=message) as exc:
        series.partner_monthly(t, code, start, end)
    assert "\n" not in str(exc.value)


def test_resolve_partner_by_code_and_name(trade_csv):
    t = series.load_trade(trade_csv)
    assert series.resolve_partner(t, "5800").name == "Korea, South"
    p = series.resolve_partner(t, "canada")
    assert p.code == 1220 and p.slug == "canada" and p.first_month == "2001-01"
    with pytest.raises(ParameterError, match="closest: Canada"):
        series.resolve_partner(t, "Canda")


def test_annual_sums_incomplete_years_and_growth_rules(trade_csv):
    t = series.load_trade(trade_csv)
    a = series.annual(series.partner_monthly(t, 5800))
    assert a["year"].tolist() == [2000, 2001, 2002]
    assert a["months"].tolist() == [6, 12, 12]
    assert a["complete"].tolist() == [False, True, True]
    # 2000: Jul..Dec exports 17..22; 2001 and 2002: 11..22 each.
    assert a["exports"].tolist() == [sum(range(17, 23)), sum(range(11, 23)), sum(range(11, 23))]
    assert a["imports"].tolist() == [24.0, 48.0, 48.0]
    assert a["balance"].tolist() == pytest.approx((a["exports"] - a["imports"]).tolist())
    # No growth for the first year, nor for the year after an incomplete one.
    assert np.isnan(a.loc[0, "exports_growth"]) and np.isnan(a.loc[1, "exports_growth"])
    assert a.loc[2, "exports_growth"] == pytest.approx(0.0)
    assert a.loc[2, "imports_growth"] == pytest.approx(0.0)


def test_annual_growth_values_and_incomplete_current_year():
    idx = pd.date_range("2010-01-01", "2012-03-01", freq="MS")
    ex = np.where(idx.year == 2010, 10.0, 12.0)
    m = pd.DataFrame({"exports": ex, "imports": 5.0, "balance": ex - 5.0}, index=idx)
    a = series.annual(m)
    assert a.loc[a.year == 2011, "exports_growth"].item() == pytest.approx(20.0)
    assert a.loc[a.year == 2011, "imports_growth"].item() == pytest.approx(0.0)
    assert np.isnan(a.loc[a.year == 2012, "exports_growth"].item())  # 2012 has 3 months
    assert a.loc[a.year == 2012, "months"].item() == 3


@pytest.mark.integration
def test_korea_annual_balances_match_census(real_trade):
    a = series.annual(series.partner_monthly(real_trade, 5800)).set_index("year")
    assert a.loc[2011, "balance"] == pytest.approx(-13199.7, abs=0.05)
    assert a.loc[2011, "exports"] == pytest.approx(43461.6, abs=0.05)
    assert a.loc[2015, "balance"] == pytest.approx(-28291.3, abs=0.05)
    assert a.loc[2011, "complete"] and a.loc[2015, "months"] == 12
