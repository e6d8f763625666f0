"""analysis.models.comparison: partner aggregates, shares, indices and the KORUS DiD on synthetic data."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from page_checks import text_violations

from analysis import config
from analysis.clean.series import load_trade
from analysis.errors import DataError, ParameterError
from analysis.models import comparison as cmp
from analysis.models import context, did_reading

WORLD = "World, Not Seasonally Adjusted"


def trade_frame(months: int = 30, start: str = "2010-01-01") -> pd.DataFrame:
    """Tiny cleaned table: Korea (5800), China (5700) and the world aggregate (15).

    Korea exports 10 + i, imports 20 + i in month i; China exports 5, imports 50;
    the world exports 100 and imports 400 every month. 2010 and 2011 are complete,
    2012 has six months.
    """
    dates = pd.date_range(start, periods=months, freq="MS")
    rows = []
    for code, name, agg in (
        (15, WORLD, True),
        (5700, "China", False),
        (5800, "Korea, South", False),
    ):
        for i, d in enumerate(dates):
            if code == 5800:
                x, m = 10.0 + i, 20.0 + i
            elif code == 5700:
                x, m = 5.0, 50.0
            else:
                x, m = 100.0, 400.0
            rows.append((d, code, name, agg, x, m, x - m))
    df = pd.DataFrame(rows, columns=list(config.TRADE_COLUMNS))
    return df.sort_values(["partner_code", "date"]).reset_index(drop=True)


def test_load_trade_roundtrip_and_bad_columns(tmp_path: Path) -> None:
    df = trade_frame()
    out = df.assign(date=df["date"].dt.strftime("%Y-%m-%d"))
    path = tmp_path / "trade_monthly.csv"
    out.to_csv(path, index=False)
    back = load_trade(path)
    assert back["date"].dtype.kind == "M"
    assert back["exports"].sum() == pytest.approx(df["exports"].sum())
    out.drop(columns="balance").to_csv(path, index=False)
    with pytest.raises(DataError, match="columns"):
        load_trade(path)
    with pytest.raises(DataError, match="not found"):
        load_trade(tmp_path / "nope.csv")


def test_world_code_found_by_name() -> None:
    df = trade_frame()
    assert cmp.world_code(df) == 15
    with pytest.raises(DataError, match="aggregates present"):
        cmp.world_code(df, "World Total")


def test_annual_totals_sums_and_completeness() -> None:
    annual = cmp.annual_totals(trade_frame(), [5800])
    assert list(annual["year"]) == [2010, 2011, 2012]
    assert list(annual["months"]) == [12, 12, 6]
    assert list(annual["complete"]) == [True, True, False]
    # 2011: months i = 12..23 -> exports sum(10+i) = 12*10 + sum(12..23) = 120 + 210
    assert annual.loc[annual["year"] == 2011, "exports"].iloc[0] == pytest.approx(330.0)
    assert annual.loc[annual["year"] == 2011, "balance"].iloc[0] == pytest.approx(-120.0)
    with pytest.raises(ParameterError, match="9999"):
        cmp.annual_totals(trade_frame(), [9999])


def test_annual_value_requires_complete_year() -> None:
    df = trade_frame()
    assert cmp.annual_value(df, 5800, 2010, "imports") == pytest.approx(12 * 20 + sum(range(12)))
    assert cmp.annual_value(df, 5800, 2012, "imports") is None
    with pytest.raises(ParameterError):
        cmp.annual_value(df, 5800, 2010, "total")


def test_trade_shares_annual_and_monthly() -> None:
    df = trade_frame()
    annual = cmp.trade_shares(df, 5800)
    assert list(annual.index) == [2010, 2011]  # 2012 incomplete
    # 2010: Korea exports 120 + 66 = 186 of world 1200
    assert annual.loc[2010, "exports_share"] == pytest.approx(100 * 186 / 1200)
    assert annual.loc[2010, "imports_share"] == pytest.approx(100 * (240 + 66) / 4800)
    monthly = cmp.trade_shares(df, 5800, freq="monthly")
    assert len(monthly) == 30
    assert monthly["exports_share"].iloc[5] == pytest.approx(100 * 15 / 100)
    assert monthly["imports_share"].iloc[0] == pytest.approx(100 * 20 / 400)
    with pytest.raises(ParameterError):
        cmp.trade_shares(df, 5800, freq="weekly")


def test_index_to_base() -> None:
    idx = cmp.index_to_base(trade_frame(), [5800, 5700], base_year=2011)
    assert list(idx.columns) == ["China", "Korea, South"]
    assert idx.loc[2011].tolist() == pytest.approx([100.0, 100.0])
    assert idx.loc[2010, "Korea, South"] == pytest.approx(100 * 186 / 330)
    assert idx.loc[2010, "China"] == pytest.approx(100.0)
    assert 2012 not in idx.index
    with pytest.raises(ParameterError, match="base_year 2012"):
        cmp.index_to_base(trade_frame(), [5800], base_year=2012)


# ---- DiD -----------------------------------------------------------------------------------


def synthetic_panel(
    effect: float,
    *,
    seed: int = 0,
    n_controls: int = 5,
    months: int = 144,
    break_month: int = 72,
    pretrend: float = 0.0,
) -> pd.DataFrame:
    """Log trade = partner level + common shocks + partner seasonality + AR(1) noise
    (+ ``effect`` for the treated partner from ``break_month``; + a treated-only linear
    trend of ``pretrend`` per year if asked)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2006-01-01", periods=months, freq="MS")
    common = np.cumsum(rng.normal(0, 0.03, months))
    codes = [5800] + [5700 + 10 * i for i in range(n_controls)]
    rows = []
    for code in codes:
        level = rng.normal(7, 1)
        season = rng.normal(0, 0.1, 12)
        e = np.zeros(months)
        for t in range(months):
            e[t] = (0.5 * e[t - 1] if t else 0.0) + rng.normal(0, 0.04)
        y = level + common + season[dates.month - 1] + e
        if code == 5800:
            y = y + effect * (np.arange(months) >= break_month) + pretrend * np.arange(months) / 12
        for d, v in zip(dates, y, strict=True):
            rows.append((d, code, f"P{code}", float(np.exp(v)), float(v), code == 5800))
    return pd.DataFrame(rows, columns=["date", "partner_code", "partner", "value", "y", "treated"])


BREAK = "2012-01"  # month 72 of the synthetic panel


def test_did_recovers_planted_effect() -> None:
    res = cmp.did(synthetic_panel(0.15), BREAK)
    assert res.ci_low < 0.15 < res.ci_high
    assert res.ci_low > 0  # the effect is detected
    assert res.coef == pytest.approx(0.15, abs=0.05)
    assert res.pct_effect == pytest.approx(100 * (np.exp(res.coef) - 1))
    assert res.n_partners == 6 and res.n_months == 144 and res.nobs == 6 * 144
    assert res.cov_type == "driscoll-kraay" and res.maxlags == 12


def test_did_finds_nothing_when_nothing_planted() -> None:
    res = cmp.did(synthetic_panel(0.0, seed=1), BREAK)
    assert res.ci_low < 0 < res.ci_high
    assert abs(res.coef) < 0.05


def test_did_equals_difference_of_mean_gaps() -> None:
    """Balanced panel, one treated unit, two-way FE: b = change in mean (treated - controls)."""
    panel = synthetic_panel(0.1, seed=2)
    res = cmp.did(panel, BREAK, seasonal=False, cov_type="nonrobust")
    wide = panel.pivot(index="date", columns="partner_code", values="y")
    gap = wide[5800] - wide.drop(columns=5800).mean(axis=1)
    post = gap.index >= pd.Timestamp(BREAK)
    assert res.coef == pytest.approx(gap[post].mean() - gap[~post].mean(), abs=1e-9)
    assert res.notes and "non-robust" in res.notes[0]


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")
def test_did_cluster_flags_few_clusters() -> None:
    res = cmp.did(synthetic_panel(0.1), BREAK, cov_type="cluster")
    assert any("6 clusters" in n for n in res.notes)
    with pytest.raises(ParameterError, match="cov_type"):
        cmp.did(synthetic_panel(0.1), BREAK, cov_type="bootstrap")


def test_did_needs_balanced_panel() -> None:
    panel = synthetic_panel(0.1).iloc[1:]  # one partner-month missing
    with pytest.raises(DataError, match="balanced"):
        cmp.did(panel, BREAK)


def test_did_break_outside_panel() -> None:
    with pytest.raises(ParameterError, match="break_date 2030-01"):
        cmp.did(synthetic_panel(0.1), "2030-01")


def test_event_study_flat_leads_without_pretrend() -> None:
    es = cmp.event_study(synthetic_panel(0.15, seed=3), BREAK, pre=4, post=3)
    t = es.table.set_index("k")
    assert list(t.index) == [-4, -3, -2, -1, 0, 1, 2, 3]
    assert t.loc[-1, "coef"] == 0.0 and t.loc[-1, "se"] == 0.0
    assert t.loc[0, "first_month"] == "2012-01" and t.loc[0, "last_month"] == "2012-12"
    assert t.loc[-4, "first_month"] == "2006-01"  # end bin pools the earlier years
    assert es.pretrend_df == 3
    assert all(abs(t.loc[k, "coef"]) < 0.06 for k in (-4, -3, -2))
    assert all(abs(t.loc[k, "coef"] - 0.15) < 0.06 for k in (0, 1, 2))


def test_event_study_detects_pretrend() -> None:
    es = cmp.event_study(synthetic_panel(0.0, seed=4, pretrend=0.05), BREAK, pre=4, post=3)
    assert es.pretrend_pvalue < 0.001
    # unit trends absorb a linear treated trend
    res = cmp.did(synthetic_panel(0.1, seed=4, pretrend=0.05), BREAK, unit_trends=True)
    assert res.ci_low < 0.1 < res.ci_high


def test_event_study_point_estimates_are_bin_mean_gaps() -> None:
    panel = synthetic_panel(0.1, seed=6)
    es = cmp.event_study(panel, BREAK, pre=3, post=2, seasonal=False, cov_type="nonrobust")
    gap = panel.pivot(index="date", columns="partner_code", values="y")
    gap = gap[5800] - gap.drop(columns=5800).mean(axis=1)
    ref = gap["2011-01":"2011-12"].mean()
    t = es.table.set_index("k")
    assert t.loc[0, "coef"] == pytest.approx(gap["2012-01":"2012-12"].mean() - ref, abs=1e-9)
    assert t.loc[-3, "coef"] == pytest.approx(
        gap[:"2009-12"].mean() - ref, abs=1e-9
    )  # pooled end bin


def test_gap_series_removes_seasonality() -> None:
    gap = cmp.gap_series(synthetic_panel(0.0, seed=7))
    assert len(gap) == 144
    assert gap.groupby(gap.index.month).mean().abs().max() < 1e-12


def test_placebo_in_time_statistic_and_pvalue() -> None:
    """A clean step in the gap at the break: the estimate is the step, the placebos are 0."""
    dates = pd.date_range("2000-01-01", periods=120, freq="MS")
    rows = []
    for code in (1, 2, 3):
        for i, d in enumerate(dates):
            y = 5.0 + (0.2 if code == 1 and i >= 60 else 0.0)
            rows.append((d, code, str(code), np.exp(y), y, code == 1))
    panel = pd.DataFrame(rows, columns=["date", "partner_code", "partner", "value", "y", "treated"])
    res = cmp.placebo_in_time(panel, "2005-01", window=24)
    assert res.estimate == pytest.approx(0.2)
    # windows [b-24, b+24) inside 0..120 that avoid month 60: b = 24..36 and 85..96
    assert len(res.placebos) == 25
    assert res.placebos.index[0] == pd.Timestamp("2002-01-01")
    assert res.placebos.index[-1] == pd.Timestamp("2008-01-01")
    assert res.placebos.abs().max() < 1e-12
    assert res.pvalue == pytest.approx(1 / 26)
    with pytest.raises(ParameterError, match="window 80"):
        cmp.placebo_in_time(panel, "2005-01", window=80)


def test_placebo_in_time_on_noisy_panels() -> None:
    big = cmp.placebo_in_time(synthetic_panel(0.3, seed=8), BREAK, window=24)
    assert big.estimate == pytest.approx(0.3, abs=0.06)
    assert big.pvalue < 0.05
    none = cmp.placebo_in_time(synthetic_panel(0.0, seed=8), BREAK, window=24)
    assert none.pvalue > 0.1


def test_did_panel_from_trade() -> None:
    df = trade_frame()
    panel = cmp.did_panel(df, 5800, [5700], "exports", start="2010-03", end="2011-12")
    assert panel["date"].min() == pd.Timestamp("2010-03-01")
    assert panel["date"].max() == pd.Timestamp("2011-12-01")
    assert len(panel) == 2 * 22
    k = panel[panel["partner_code"] == 5800]
    assert np.allclose(np.exp(k["y"]), k["value"])
    assert k["treated"].all() and not panel.loc[panel["partner_code"] == 5700, "treated"].any()
    with pytest.raises(ParameterError, match="flow"):
        cmp.did_panel(df, 5800, [5700], "balance")
    with pytest.raises(ParameterError, match="both treated and a control"):
        cmp.did_panel(df, 5800, [5800, 5700])
    zero = df.copy()
    zero.loc[zero["partner_code"] == 5700, "exports"] = 0.0
    with pytest.raises(DataError, match="cannot take logs"):
        cmp.did_panel(zero, 5800, [5700])


def test_did_table_rows() -> None:
    df = trade_frame(months=48)
    # give Korea some noise so the regressions are not degenerate
    rng = np.random.default_rng(5)
    df.loc[df["partner_code"] == 5700, "exports"] = 5.0 * np.exp(rng.normal(0, 0.05, 48))
    df.loc[df["partner_code"] == 5700, "imports"] = 50.0 * np.exp(rng.normal(0, 0.05, 48))
    table = cmp.did_table(df, 5800, [5700], break_date="2012-03", seasonal=False)
    assert list(table["specification"]) == ["baseline", "partner trends"] * 2
    assert list(table["flow"]) == ["exports", "exports", "imports", "imports"]


# ---- did_reading: the judgements the context page states -----------------------------------


def placebo(estimate: float, shifts: list[float], pvalue: float = 0.5) -> cmp.PlaceboResult:
    index = pd.date_range("2003-01-01", periods=len(shifts), freq="MS")
    return cmp.PlaceboResult(estimate, pd.Series(shifts, index=index), pvalue, 36, "2012-03")


def did_rows(coefs: dict[tuple[str, str], float]) -> pd.DataFrame:
    rows = [
        {
            "flow": f,
            "specification": s,
            "coef": b,
            "ci_low": b - 0.1,
            "ci_high": b + 0.1,
            "pct_effect": 100 * np.expm1(b),
        }
        for (f, s), b in coefs.items()
    ]
    return pd.DataFrame(rows)


def test_gap_drifting_compares_median_placebo_with_the_break() -> None:
    assert did_reading.gap_drifting(placebo(0.05, [0.2, -0.1, 0.3]))  # median 0.2 > 0.05
    assert not did_reading.gap_drifting(placebo(0.25, [0.2, -0.1, 0.3]))  # 0.2 < 0.25
    assert did_reading.gap_drifting(placebo(-0.05, [-0.3, -0.2, 0.0]))  # |-0.2| > |-0.05|
    assert not did_reading.gap_drifting(placebo(0.2, [0.2, -0.2, 0.2]))  # equal: flat


def test_placebo_shares() -> None:
    pl = placebo(0.2, [0.1, -0.2, 0.3, -0.05])
    assert did_reading.share_as_large(pl) == pytest.approx(50.0)  # -0.2 and 0.3
    assert did_reading.share_negative(pl) == pytest.approx(50.0)


def test_sign_flip_flows() -> None:
    rows = did_rows(
        {
            ("exports", "baseline"): 0.05,
            ("exports", "partner trends"): -0.02,
            ("imports", "baseline"): 0.10,
            ("imports", "partner trends"): 0.01,
        }
    )
    assert did_reading.sign_flip_flows(rows) == ["exports"]
    assert did_reading.sign_flip_flows(rows, ["imports"]) == []
    zero = did_rows({("exports", "baseline"): 0.0, ("exports", "partner trends"): -0.3})
    assert did_reading.sign_flip_flows(zero, ["exports"]) == []  # 0 counts with the negatives
    with pytest.raises(ParameterError, match="imports"):
        did_reading.sign_flip_flows(zero)


def test_unusual_flows_and_verdict() -> None:
    rows = did_rows(
        {
            ("exports", "baseline"): 0.05,
            ("exports", "partner trends"): 0.02,
            ("imports", "baseline"): 0.10,
            ("imports", "partner trends"): 0.01,
        }
    )
    pls = {"exports": placebo(0.1, [0.0], pvalue=0.04), "imports": placebo(0.1, [0.0], pvalue=0.05)}
    assert did_reading.unusual_flows(pls) == ["exports"]  # 0.05 is not below 0.05
    assert did_reading.unusual_flows(pls, alpha=0.1) == ["exports", "imports"]
    assert (
        did_reading.verdict(rows, pls)
        == "The KORUS-date shift stands out from the placebo shifts for exports."
    )
    both = did_reading.verdict(rows, pls, alpha=0.1)
    assert (
        both == "The KORUS-date shift stands out from the placebo shifts for exports and imports."
    )
    flip = rows.assign(coef=[0.05, -0.02, 0.10, 0.01])
    text = did_reading.verdict(flip, {f: placebo(0.1, [0.0], pvalue=0.5) for f in pls})
    assert text.startswith("For neither flow does the shift at the KORUS date stand out")
    assert text.endswith("parallel trends do not hold for this control group.")


def test_flow_sentence_reads_the_numbers() -> None:
    rows = did_rows(
        {
            ("exports", "baseline"): 0.05,
            ("exports", "partner trends"): -0.02,
            ("exports", "without China"): 0.01,
            ("exports", "without Japan"): 0.07,
        }
    )
    table = pd.DataFrame({"k": [-3, -2, -1, 0], "coef": [0.04, -0.01, 0.0, 0.05]})
    study = cmp.EventStudy(table, 1.0, 2, 0.0123, -1, "driscoll-kraay")
    tiny = cmp.EventStudy(table, 1.0, 2, 3.5e-14, -1, "driscoll-kraay")
    assert "joint test p < 0.001," in did_reading.flow_sentence(
        "x", rows, "exports", tiny, placebo(0.1, [0.2, -0.3, 0.05])
    )
    text = did_reading.flow_sentence(
        "U.S. exports to Korea", rows, "exports", study, placebo(0.1, [0.2, -0.3, 0.05])
    )
    assert text.startswith(
        "- **U.S. exports to Korea.** Baseline DiD +0.050 log points (+5.1 %; 95 % DK interval "
        "\u22120.050 to +0.150); with partner-specific linear trends \u22120.020 log points"
    )
    assert "between +0.010 and +0.070" in text
    assert "leads range from \u22120.010 to +0.040 (Driscoll-Kraay joint test p = 0.012," in text
    assert text_violations(text) == []  # no hyphen-minus before a digit
    assert "the 36-month shift at 2012-03 is +0.100, and 67 % of the 3 placebo months" in text
    assert (
        "median placebo shift is +0.050 and 33 % of them are negative, so the gap was roughly flat"
        in text
    )


def test_context_setup_and_did_checks() -> None:
    df = trade_frame(months=48)
    rng = np.random.default_rng(5)
    df.loc[df["partner_code"] == 5700, "exports"] = 5.0 * np.exp(rng.normal(0, 0.05, 48))
    df.loc[df["partner_code"] == 5700, "imports"] = 50.0 * np.exp(rng.normal(0, 0.05, 48))
    s = context.setup(df, "5800", ["5800", "5700"], "5700", "2010-03")
    assert (s.focus, s.comparators, s.controls, s.world) == (5800, [5700], [5700], 15)
    assert s.focus_name == "Korea, South" and s.shown == ["Korea, South", "China"]
    assert s.trade["date"].min() == pd.Timestamp("2010-03-01") and s.data_through == "2013-12"
    with pytest.raises(ParameterError, match="start 2030-01"):
        context.setup(df, 5800, [5700], [5700], "2030-01")
    checks = context.did_checks(s, break_date="2012-03", start="2010-03", end="2013-12", window=6)
    assert list(checks.rows["flow"]) == ["exports", "exports", "imports", "imports"]
    assert set(checks.studies) == set(checks.placebos) == {"exports", "imports"}
    assert (
        checks.placebos["exports"].window == 6
        and checks.placebos["exports"].break_date == "2012-03"
    )


def test_parse_codes() -> None:
    assert cmp.parse_codes(["5700", 5880]) == [5700, 5880]
    assert cmp.parse_codes("5700, 5880,") == [5700, 5880]
    with pytest.raises(ParameterError, match="comparators: 'Japan'"):
        cmp.parse_codes("5700,Japan", "comparators")
    with pytest.raises(ParameterError, match="repeated"):
        cmp.parse_codes("5700,5700")
    with pytest.raises(ParameterError, match="no partner codes"):
        cmp.parse_codes("")


def test_default_control_group_excludes_mexico() -> None:
    assert 2010 in cmp.DEFAULT_COMPARATORS and 2010 not in cmp.NON_FTA_CONTROLS
    assert set(cmp.NON_FTA_CONTROLS) == set(cmp.DEFAULT_COMPARATORS) - {2010}
    assert 2010 in cmp.EXCLUDED_FROM_CONTROLS


@pytest.mark.skipif(
    importlib.util.find_spec("analysis.report.figures") is None,
    reason="analysis.report.figures not present",
)
def test_context_plots_smoke() -> None:
    from matplotlib.figure import Figure

    from analysis.report import context_plots as cp

    df = trade_frame()
    wide = cmp.wide_by_partner(cmp.annual_totals(df, [5800, 5700]))
    assert isinstance(
        cp.plot_partner_balances(wide, focus="Korea, South", data_through="2012-06"), Figure
    )
    fig = cp.plot_partner_shares(
        cmp.trade_shares(df, 5800, freq="monthly"),
        cmp.trade_shares(df, 5800),
        partner="Korea, South",
        data_through="2012-06",
    )
    assert isinstance(fig, Figure)
    idx = cmp.index_to_base(df, [5800, 5700], base_year=2011)
    assert isinstance(
        cp.plot_index(idx, focus="Korea, South", base_year=2011, data_through="2012-06"), Figure
    )
    es = cmp.event_study(synthetic_panel(0.1), BREAK, pre=3, post=2)
    fig = cp.plot_event_study(
        {"U.S. exports to": es},
        partner="Korea, South",
        controls_label="P",
        break_date=BREAK,
        data_through="2017-12",
    )
    assert isinstance(fig, Figure)
    pl = cmp.placebo_in_time(synthetic_panel(0.1), BREAK, window=24)
    fig = cp.plot_placebo({"U.S. exports to": pl}, partner="Korea, South", data_through="2017-12")
    assert isinstance(fig, Figure)
    # numbers in a figure's text through fmt too (the theme puts titles on the left)
    title = " ".join(fig.axes[0].get_title(loc=where) for where in ("left", "center", "right"))
    assert "placebo p = " in title and not text_violations(title)
    assert re.search(r"shift [+\u2212]\d\.\d{3} at", title)
    with pytest.raises(ParameterError):
        cp.plot_index(idx, focus="Japan", base_year=2011, data_through="2012-06")
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.skipif(
    importlib.util.find_spec("analysis.report.figures") is None,
    reason="analysis.report.figures not present",
)
def test_macro_source() -> None:
    from analysis.report.context_plots import macro_source

    text = macro_source(pd.DataFrame({"gdp_growth": [1.0, 2.0]}, index=[2001, 2003]))
    assert text.startswith("Source: World Bank, World Development Indicators (")
    assert "), 2001-2003. Dashed lines: KORUS signed (2007)" in text
