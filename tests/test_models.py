"""The trend models (analysis.models.*) and their report (analysis.report.results/text) on
synthetic series with known, planted breaks (fixed seeds)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.signal import lfilter

from analysis import config, params
from analysis.clean import series
from analysis.errors import ParameterError
from analysis.models import counterfactual as cfmodel
from analysis.models import seasonal
from analysis.models.ar_boot import ar_noise, hac_cov_rows
from analysis.models.breaks import (
    break_regressors,
    hac_wald_boot,
    hac_wald_path,
    known_break_test,
    supf_search,
)
from analysis.models.its import BreakEffect, fit_its, its_design
from analysis.models.run import run_models
from analysis.report import results, text

N = 180  # 2000-01 .. 2014-12
#: The columns of data/processed/sa/<slug>.csv: STL's adjusted series, then X-13's.
SA_CSV_COLUMNS = [
    "date",
    "exports_sa",
    "imports_sa",
    "balance_sa",
    "exports_x13",
    "imports_x13",
    "balance_x13",
]
K = 96  # planted break at 2008-01
BREAK = "2008-01"


def synth(
    *,
    n: int = N,
    k: int = K,
    level: float = 0.0,
    slope: float = 0.0,
    phi: float = 0.5,
    sigma: float = 0.02,
    seas: float = 0.1,
    base: float = 8.0,
    trend: float = 0.003,
    log: bool = True,
    seed: int = 0,
    name: str = "exports",
) -> pd.Series:
    """``base + trend*t + seas*sin(month) + level*1(t>=k) + slope*(t-k)*1(t>=k) + AR(1) noise``,
    exponentiated when ``log`` (so ``level`` is in log points)."""
    idx = pd.date_range("2000-01-01", periods=n, freq="MS")
    rng = np.random.default_rng(seed)
    u = lfilter([1.0], [1.0, -phi], rng.normal(0.0, sigma, n + 100))[100:]
    t = np.arange(n)
    after = t >= k
    z = (
        base
        + trend * t
        + seas * np.sin(2 * np.pi * (idx.month - 1) / 12)
        + level * after
        + slope * np.where(after, t - k, 0)
        + u
    )
    return pd.Series(np.exp(z) if log else z, index=idx, name=name)


def synth_monthly(seed: int = 1, n: int = N, **kw) -> pd.DataFrame:
    ex = synth(seed=seed, n=n, base=8.0, name="exports", **kw)
    im = synth(seed=seed + 100, n=n, base=8.3, name="imports", **kw)
    return pd.DataFrame({"exports": ex, "imports": im, "balance": ex - im})


# ---- ITS -------------------------------------------------------------------------------------


def test_its_recovers_planted_level_and_slope_log():
    y = synth(level=math.log(1.2), slope=0.004, seed=3)
    its = fit_its(y, [BREAK], log=True)
    (e,) = its.effects
    assert e.break_ == BREAK and e.log and its.nobs == N
    lo, hi = e.conf_int()["level"]
    assert lo < math.log(1.2) < hi
    slo, shi = e.conf_int()["slope"]
    assert slo < 0.004 < shi
    assert e.slope_change_per_year == pytest.approx(12 * e.slope_change)
    # The planted 20 % jump, as a percentage, with the CI transformed the same way.
    assert e.pct_level_change == pytest.approx(20.0, abs=3.0)
    assert e.pct_conf_int()["level"][0] < 20.0 < e.pct_conf_int()["level"][1]
    assert e.pct_level_change == pytest.approx(100 * math.expm1(e.level_change))
    assert e.pct_conf_int()["level"][0] == pytest.approx(100 * math.expm1(lo))
    assert e.pvalues()[0] < 1e-6 and e.pvalues()[1] < 1e-3
    assert (
        e.conf_int(kind="boot") is None and its.tests[0].p_value == its.tests[0].p_value_asymptotic
    )
    assert "HAC" in e.cov_type and its.rsquared > 0.9
    assert {d["lag"] for d in its.diagnostics["ljung_box"]} == {12, 24}


def test_its_recovers_planted_change_in_levels_and_fit_frame():
    y = synth(
        log=False,
        base=-1000.0,
        trend=-2.0,
        seas=100.0,
        sigma=40.0,
        level=-300.0,
        slope=-5.0,
        seed=4,
        name="balance",
    )
    its = fit_its(y, [BREAK], log=False, crisis_dummies=True)
    (e,) = its.effects
    assert e.conf_int()["level"][0] < -300.0 < e.conf_int()["level"][1]
    assert e.conf_int()["slope"][0] < -5.0 < e.conf_int()["slope"][1]
    assert e.pct_level_change is None
    assert its.crisis_dummies == ["crisis_2008_09"]  # the pandemic window is outside 2000-2014
    assert list(its.fit.columns) == ["actual", "fitted", "pre_trend"]
    pd.testing.assert_series_equal(its.fit["actual"], y, check_names=False, check_freq=False)
    # The pre-break trend (seasonality averaged out) passes through the pre-break data.
    pre = its.fit.iloc[:K]
    assert (pre["actual"] - pre["pre_trend"]).mean() == pytest.approx(0.0, abs=25.0)
    # After the break the data fall below the extrapolated pre-break trend.
    assert (its.fit["actual"].iloc[-12:] < its.fit["pre_trend"].iloc[-12:]).all()


def test_its_log_fit_frame_is_in_levels():
    y = synth(level=0.1, seed=5)
    fit = fit_its(y, [BREAK], log=True).fit
    ratio = fit["fitted"] / fit["actual"]
    assert ratio.between(0.9, 1.1).all()


# ---- break tests -----------------------------------------------------------------------------


def test_known_break_test_and_search_find_the_planted_break():
    y = synth(level=0.15, slope=0.002, seed=7)
    kt = known_break_test(y, BREAK, log=True, n_boot=199)
    assert kt.df == 2 and kt.date == BREAK and kt.n_boot == 199
    assert kt.p_value == pytest.approx(1 / 200) and kt.p_value_asymptotic < 1e-6
    s = supf_search(y, log=True, n_boot=99, seed=1)
    best = pd.Timestamp(s.best)
    assert abs((best.year - 2008) * 12 + best.month - 1) <= 2
    assert s.p_value < 0.05
    assert s.first_candidate == "2002-04" and s.last_candidate == "2012-10"  # 15 % trimming of 180
    assert s.statistic == pytest.approx(s.stats.max())


def test_no_break_is_rarely_significant():
    known_rejections = search_rejections = 0
    for seed in range(5):
        y = synth(seed=100 + seed)
        known_rejections += (
            known_break_test(y, BREAK, log=True, n_boot=99, seed=seed).p_value < 0.05
        )
        search_rejections += supf_search(y, log=True, n_boot=99, seed=seed).p_value < 0.05
    assert known_rejections <= 1
    assert search_rejections <= 1


def test_vectorised_wald_equals_statsmodels_hac_wald():
    y = synth(level=0.03, slope=0.001, seed=11)
    s = supf_search(y, log=True, n_boot=9)
    for month in ("2004-01", "2008-01", "2011-06"):
        kt = known_break_test(y, month, log=True, n_boot=0)
        assert s.stats.loc[pd.Timestamp(month)] == pytest.approx(kt.statistic, rel=1e-7)


def test_batched_bootstrap_wald_equals_one_series_at_a_time():
    # The bootstrap path (one matrix product for all replications) must give the statistics
    # of the direct path, candidate by candidate, including a lag count other than 12 and a
    # chunk size that splits the replications unevenly.
    y = np.log(synth(n=150, level=0.05, seed=15))
    n = len(y)
    X0 = its_design(y.index, []).to_numpy()
    q0, _ = np.linalg.qr(X0)
    cands = np.arange(25, 126, 5)
    Zt, ZtT, A = break_regressors(n, cands, q0)
    U, _ = ar_noise(np.random.default_rng(3).standard_normal(n), 23, seed=4)
    for lags in (0, 5, 12):
        batched = hac_wald_boot(U, Zt, ZtT, A, q0, lags, chunk=10)
        direct = np.array([hac_wald_path(u, Zt, ZtT, A, q0, lags) for u in U]).T
        assert batched.shape == (len(cands), len(U))
        np.testing.assert_allclose(batched, direct, rtol=1e-9)


def test_known_break_test_conditions_on_other_breaks():
    y = synth(level=0.1, seed=12)
    kt = known_break_test(y, "2011-01", log=True, other_breaks=[BREAK], n_boot=199)
    its = fit_its(y, [BREAK, "2011-01"], log=True, n_boot=199)
    assert kt == its.tests[1] and "given the break(s) at 2008-01" in kt.test
    assert kt.p_value > 0.05 and its.effects[0].pvalues("boot")[0] < 0.01


def test_hac_covariance_rows_equal_statsmodels():
    import statsmodels.api as sm

    y = np.log(synth(level=0.05, seed=13))
    X = its_design(y.index, [BREAK], crisis_dummies=True)
    res = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": 12})
    P = np.linalg.pinv(X.to_numpy())
    rows = [X.columns.get_loc(f"level_{BREAK}"), X.columns.get_loc(f"slope_{BREAK}")]
    V = hac_cov_rows(P[rows], np.asarray(res.resid)[None, :], 12)[0]
    np.testing.assert_allclose(V, res.cov_params().iloc[rows, rows].to_numpy(), rtol=1e-8)


def test_bootstrap_calibration_widens_intervals_for_persistent_noise():
    y = synth(level=0.05, phi=0.8, seed=14)
    its = fit_its(y, [BREAK], log=True, n_boot=199, seed=2)
    (e,) = its.effects
    hac, boot = e.conf_int()["level"], e.conf_int(kind="boot")["level"]
    assert boot[1] - boot[0] > hac[1] - hac[0]  # HAC is too optimistic with rho = 0.8
    assert boot[0] < e.level_change < boot[1]
    assert e.pct_conf_int(kind="boot")["level"] == pytest.approx(
        (100 * math.expm1(boot[0]), 100 * math.expm1(boot[1]))
    )
    assert its.ar_order is not None and its.ar_order >= 1
    assert 0 < e.pvalues("boot")[0] <= 1 and e.pvalues("boot")[0] > e.pvalues()[0]


# ---- counterfactual --------------------------------------------------------------------------


def test_counterfactual_without_intervention_covers_zero():
    y = synth(n=156, seed=21)
    cf = cfmodel.counterfactual(y, "2009-12", log=True, n_sim=300, seed=1)
    assert cf.post_start == "2010-01" and cf.months_post == 36
    assert cf.gap_ci[0] < 0 < cf.gap_ci[1]
    assert cf.gap_ci[0] < cf.cumulative_gap < cf.gap_ci[1]
    assert cf.model == "SARIMAX(1,1,1)(0,1,1,12) on log"
    f = cf.forecast
    assert list(f.columns) == ["mean", "lower", "upper"] and len(f) == 36
    assert (f["lower"] < f["mean"]).all() and (f["mean"] < f["upper"]).all()
    assert f["mean"].iloc[0] == pytest.approx(y.iloc[120], rel=0.15)  # levels, not logs
    assert [h.months for h in cf.by_horizon] == [12, 24]
    assert {d["lag"] for d in cf.diagnostics["ljung_box"]} == {12, 24}


def test_counterfactual_detects_post_period_jump():
    y = synth(n=156, k=120, level=math.log(1.3), seed=21)
    cf = cfmodel.counterfactual(y, "2009-12", log=True, n_sim=300, seed=1)
    assert cf.cumulative_gap > 0 and cf.gap_ci[0] > 0
    assert cf.pct_gap == pytest.approx(30.0, abs=10.0)


def test_counterfactual_levels_and_ets():
    y = synth(
        n=156, log=False, base=-500.0, trend=-1.0, seas=50.0, sigma=20.0, seed=22, name="balance"
    )
    cf = cfmodel.counterfactual(y, "2009-12", log=False, n_sim=200)
    assert cf.model == "SARIMAX(0,1,1)(0,1,1,12) on levels" and cf.pct_gap is None
    ets = cfmodel.counterfactual(synth(n=156, seed=23), "2009-12", log=True, model="ets", n_sim=200)
    assert ets.model.startswith("ETS") and math.isfinite(ets.cumulative_gap)
    with pytest.raises(ParameterError, match="forecast_model"):
        cfmodel.counterfactual(y, "2009-12", log=False, model="prophet")


# ---- STL / SA --------------------------------------------------------------------------------


def test_stl_recovers_seasonal_amplitude():
    y = synth(seas=0.1, sigma=0.01, seed=31)
    d = seasonal.stl_decompose(y, log=True)
    assert list(d.columns) == ["observed", "trend", "seasonal", "resid"]
    mid = d["seasonal"].loc["2004":"2010"]
    amplitude = (
        mid.groupby(mid.index.month).mean().max() - mid.groupby(mid.index.month).mean().min()
    ) / 2
    assert amplitude == pytest.approx(0.1, abs=0.02)
    lev = seasonal.stl_decompose(
        synth(log=False, base=0.0, trend=0.0, seas=50.0, sigma=5.0, seed=32)
    )
    assert lev["seasonal"].loc["2004":"2010"].abs().max() == pytest.approx(50.0, rel=0.2)


def test_seasonally_adjust_methods_and_indirect_balance():
    m = synth_monthly(seed=2)
    sa = seasonal.seasonally_adjust(m)
    assert list(sa.columns) == ["exports_sa", "imports_sa", "balance_sa"]
    np.testing.assert_allclose(sa["balance_sa"], sa["exports_sa"] - sa["imports_sa"])
    assert sa.attrs["methods"]["exports"].startswith("STL on logs")
    # The adjusted series lost the seasonal swing: month means of log(SA/trend) are flat.
    ratio = np.log(sa["exports_sa"] / m["exports"].rolling(12, center=True).mean()).dropna()
    assert ratio.groupby(ratio.index.month).mean().abs().max() < 0.02
    m.loc["2003-05-01", "exports"] = 0.0
    sa0 = seasonal.seasonally_adjust(m, balance_method="direct")
    assert sa0.attrs["methods"]["exports"].startswith("STL additive")
    assert sa0.attrs["methods"]["balance"].startswith("STL additive")


# ---- whole run, JSON, skips, outputs -------------------------------------------------------


@pytest.fixture(scope="module")
def small_run():
    m = synth_monthly(seed=3, level=0.05)
    run = run_models(m, breaks=[BREAK, "2011-01"], train_end="2007-12", n_boot=49, n_sim=100)
    return m, run


def test_results_dict_is_json_safe_with_required_keys(small_run):
    m, run = small_run
    res = results.results_dict(run, "5800", "Korea, South")
    text = json.dumps(res, allow_nan=False, sort_keys=True)
    assert json.loads(text) == res
    for key in (
        "partner_code",
        "partner",
        "slug",
        "data_through",
        "params",
        "annual",
        "its",
        "break_tests",
        "counterfactual",
        "diagnostics",
        "skipped",
    ):
        assert key in res, key
    assert (
        res["partner_code"] == 5800
        and res["slug"] == "korea-south"
        and res["data_through"] == "2014-12"
    )
    assert res["params"]["breaks"] == [BREAK, "2011-01"] and res["skipped"] == {}
    assert set(res["annual"][0]) >= {
        "year",
        "exports",
        "imports",
        "balance",
        "months",
        "exports_growth",
    }
    for col in ("exports", "imports", "balance"):
        b = res["its"][col]["breaks"]
        assert [x["break"] for x in b] == [BREAK, "2011-01"]
        assert {
            "level_change",
            "level_change_ci",
            "slope_change",
            "slope_change_ci",
            "p_level",
            "p_slope",
            "cov_type",
        } <= set(b[0])
        assert res["its"][col]["crisis"]["dummies"] == ["crisis_2008_09"]
        assert [k["date"] for k in res["break_tests"][col]["known"]] == [BREAK, "2011-01"]
        assert {"best", "statistic", "p_value"} <= set(res["break_tests"][col]["search"])
        assert {"model", "train_end", "cumulative_gap", "gap_ci"} <= set(res["counterfactual"][col])
        assert res["diagnostics"][col]["its"]["ljung_box"][0]["lag"] == 12
    assert res["its"]["exports"]["breaks"][0]["pct_level_change"] is not None
    assert res["its"]["balance"]["breaks"][0]["pct_level_change"] is None
    # Rounding: money to 0.1, p-values to 4 significant digits.
    gap = res["counterfactual"]["balance"]["cumulative_gap"]
    assert gap == round(gap, 1)
    p = res["its"]["exports"]["breaks"][0]["p_level"]
    assert p == float(f"{p:.4g}")


def test_run_is_deterministic(small_run):
    m, run = small_run
    again = run_models(m, breaks=[BREAK, "2011-01"], train_end="2007-12", n_boot=49, n_sim=100)
    a = results.results_dict(run, 5800, "Korea, South")
    b = results.results_dict(again, 5800, "Korea, South")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_coefficients_table_and_write_outputs(small_run, tmp_path):
    m, run = small_run
    coef = results.coefficients_table(run)
    assert list(coef.columns) == [
        "series",
        "model",
        "term",
        "estimate",
        "std_err",
        "ci_low",
        "ci_high",
        "p_value",
        "p_calibrated",
        "p_method",
    ]
    row = coef[(coef.series == "exports") & (coef.model == "its") & (coef.term == f"level_{BREAK}")]
    assert row["estimate"].item() == pytest.approx(run.its["exports"].effects[0].level_change)
    assert coef["model"].str.startswith("counterfactual SARIMAX").any()
    res = results.results_dict(run, 5800, "Korea, South")
    out, sa_path = tmp_path / "reports" / "korea-south", tmp_path / "sa" / "korea-south.csv"
    paths = results.write_outputs(res, coef, run.sa, out, sa_path)
    assert [p.name for p in paths] == [
        "coefficients.csv",
        "korea-south.csv",
        "results.json",
    ]  # results last
    first = [p.read_bytes() for p in paths]
    results.write_outputs(res, coef, run.sa, out, sa_path)
    assert [p.read_bytes() for p in paths] == first
    sa = pd.read_csv(sa_path)
    assert list(sa.columns) == ["date", "exports_sa", "imports_sa", "balance_sa"]
    assert sa["date"].iloc[0] == "2000-01-01" and len(sa) == N
    assert json.loads((out / "results.json").read_text())["slug"] == "korea-south"
    assert not list(out.glob(".*.tmp"))


def test_x13_runs_in_the_models_stage_and_its_series_are_written_beside_stl(small_run, tmp_path):
    """run_models adjusts the flows with X-13 beside STL; the SA file holds both."""
    m, run = small_run
    assert list(run.x13.columns) == ["exports_x13", "imports_x13", "balance_x13"]
    assert run.x13.attrs["x13"]["exports"]["available"]
    # the same numbers as X-13 run by itself on the series
    alone = seasonal.run_x13(m["exports"].rename("exports")).adjusted
    assert np.allclose(run.x13["exports_x13"], alone)
    assert np.allclose(run.x13["balance_x13"], run.x13["exports_x13"] - run.x13["imports_x13"])
    res = results.results_dict(run, 5800, "Korea, South")
    sa_path = tmp_path / "sa" / "korea-south.csv"
    results.write_outputs(
        res, results.coefficients_table(run), run.sa, tmp_path / "k", sa_path, x13=run.x13
    )
    sa = pd.read_csv(sa_path)
    assert list(sa.columns) == SA_CSV_COLUMNS
    assert np.allclose(sa["exports_x13"], run.x13["exports_x13"].round(1), atol=1e-9)
    assert np.allclose(sa["exports_sa"], run.sa["exports_sa"].round(1), atol=1e-9)
    # X-13 and STL differ (they are two methods), but not by much on this series
    assert not np.allclose(sa["exports_x13"], sa["exports_sa"])
    assert (sa["exports_x13"] / sa["exports_sa"] - 1).abs().mean() < 0.03


def test_the_report_stage_reads_the_model_run_and_fits_nothing(small_run, tmp_path, monkeypatch):
    """results_dict and write_outputs with every fitting function made to raise give the same
    files as before: the report stage only reads the run (no X-13, STL or run_models)."""
    import analysis.models.run as run_mod

    m, run = small_run
    coef = results.coefficients_table(run)
    before = results.results_dict(run, 5800, "Korea, South")

    def fits(*args, **kwargs):
        raise AssertionError("the report stage fitted a model")

    for mod, name in (
        (seasonal, "run_x13"),
        (seasonal, "x13_all"),
        (seasonal, "compare_adjustments"),
        (seasonal, "seasonally_adjust"),
        (seasonal, "stl_decompose"),
        (run_mod, "run_models"),
        (results, "run_models"),
        (results, "compare_adjustments"),
    ):
        monkeypatch.setattr(mod, name, fits, raising=False)
    after = results.results_dict(run, 5800, "Korea, South")
    assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True)
    assert after["seasonal_adjustment_x13"]["exports"]["available"] is True
    results.write_outputs(after, coef, run.sa, tmp_path / "k", tmp_path / "sa.csv", x13=run.x13)
    assert not hasattr(results, "build_results")


def test_compare_adjustments_has_no_hidden_cache(monkeypatch):
    """Each call runs X-13 (no module-level cache hiding a second run)."""
    calls = []
    real = seasonal.run_x13

    def counting(y, *args, **kwargs):
        calls.append(y.name)
        return real(y, *args, **kwargs)

    monkeypatch.setattr(seasonal, "run_x13", counting)
    m = synth_monthly(seed=11, n=48)
    a = seasonal.compare_adjustments(m)
    b = seasonal.compare_adjustments(m)
    assert calls == ["exports", "imports", "exports", "imports"]
    assert a.equals(b)


def test_results_record_the_folder_they_are_written_to(small_run, tmp_path):
    """Israel's second code is reported in ``israel-5080/``: results.json says so, not
    ``slugify("Israel")``, so that the landing page links the folder that exists."""
    m, run = small_run
    res = results.results_dict(run, 5080, "Israel")
    out = tmp_path / "reports" / "israel-5080"
    results.write_outputs(res, results.coefficients_table(run), run.sa, out, tmp_path / "sa.csv")
    assert json.loads((out / "results.json").read_text())["slug"] == "israel-5080"


def test_write_outputs_replaces_the_figures_folder_with_the_staged_one(small_run, tmp_path):
    from analysis.fileio import staging_dir

    m, run = small_run
    res, coef = (
        results.results_dict(run, 5800, "Korea, South"),
        results.coefficients_table(run),
    )
    out = tmp_path / "korea-south"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "stl_balance.png").write_bytes(b"old, of a model now skipped")
    (out / "figures" / "its_exports.png").write_bytes(b"old")
    stage = staging_dir(out / "figures")
    assert stage.parent == out and stage.name.startswith(".figures.") and not list(stage.iterdir())
    (stage / "its_exports.png").write_bytes(b"new")
    # Until the outputs are written, the published folder is the old one.
    assert (out / "figures" / "its_exports.png").read_bytes() == b"old"
    paths = results.write_outputs(res, coef, run.sa, out, tmp_path / "sa.csv", figures_stage=stage)
    assert out / "figures" in paths and paths[-1].name == "results.json"
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["its_exports.png"]
    assert (out / "figures" / "its_exports.png").read_bytes() == b"new"
    assert sorted(p.name for p in out.iterdir()) == ["coefficients.csv", "figures", "results.json"]


def test_zero_months_skip_log_models_with_reason():
    m = synth_monthly(seed=4)
    m.loc["2005-03-01", "exports"] = 0.0
    m["balance"] = m["exports"] - m["imports"]
    run = run_models(m, breaks=[BREAK], train_end="2007-12", n_boot=19, n_sim=50)
    for key in (
        "its.exports",
        "its_crisis.exports",
        "supf_search.exports",
        "counterfactual.exports",
    ):
        assert "<= 0 (first 2005-03)" in run.skipped[key], key
    assert run.known_tests["exports"] == [] and len(run.known_tests["imports"]) == 1
    assert "exports" not in run.its and "imports" in run.its and "balance" in run.its
    res = results.results_dict(run, 5800, "X")
    json.dumps(res, allow_nan=False)
    assert "its.exports" in res["skipped"] and "exports" not in res["its"]


def test_short_series_are_skipped_not_crashing():
    m = synth_monthly(seed=5, n=50)  # 2000-01 .. 2004-02
    run = run_models(m, breaks=["2002-03"], train_end="2002-02", n_boot=19, n_sim=50)
    assert "months before break 2002-03 (< 36)" in run.skipped["its.exports"]
    assert "training months" in run.skipped["counterfactual.balance"]
    assert "needed for a break search" in run.skipped["supf_search.imports"]
    tiny = synth_monthly(seed=6, n=20)
    run2 = run_models(tiny, breaks=["2001-01"], train_end="2000-12", n_boot=19, n_sim=50)
    assert "needed for STL" in run2.skipped["stl.exports"]
    assert run2.sa_methods["exports"].startswith("not adjusted")
    json.dumps(results.results_dict(run2, 5800, "X"), allow_nan=False)


@pytest.mark.parametrize(
    ("breaks", "train_end", "model", "message"),
    [
        (
            ["1999-01"],
            "",
            "sarimax",
            r"breaks=1999-01: outside the data window 2000-01 \.\. 2014-12",
        ),
        (["2016-01"], "", "sarimax", r"breaks=2016-01: outside"),
        (["2011-01", "2008-01"], "", "sarimax", "distinct months in increasing order"),
        (["2008-01"], "2014-12", "sarimax", r"train_end=2014-12: must lie in the data window"),
        (["2008-01"], "2007-12", "arima", "forecast_model='arima'"),
        (["2008-13"], "", "sarimax", r"breaks='2008-13': expected a month"),
    ],
)
def test_validate_params_errors(breaks, train_end, model, message):
    m = synth_monthly(seed=7)
    with pytest.raises(ParameterError, match=message):
        params.validate(
            breaks,
            first=m.index.min(),
            last=m.index.max(),
            train_end=train_end,
            forecast_model=model,
        )


def test_validate_params_normalises():
    m = synth_monthly(seed=7)
    assert params.validate(
        "2008-01, 2011-01",
        first=m.index.min(),
        last=m.index.max(),
        train_end="",
        forecast_model="ets",
    ) == (["2008-01", "2011-01"], "2007-12")


# ---- narrative -------------------------------------------------------------------------------

Z95 = 1.959963984540054  # normal 97.5 % quantile: a HAC CI is estimate +/- Z95 * se


def _effect(
    *,
    level: float = 0.1,
    level_half: float = 0.08,
    slope: float = 0.001,
    slope_half: float = 0.002,
    log: bool = True,
    boot_level_half: float | None = None,
) -> BreakEffect:
    """A break effect from its estimates and the half-widths of their 95 % intervals (HAC; and the
    bootstrap one of the level when ``boot_level_half``: |t| draws all at that critical value).
    The default is 10.5 % (CI 2.0 to 19.7 %) and a trend change of 1.2 % a year (CI -1.2 to 3.7)."""
    boot = None
    if boot_level_half is not None:
        boot = np.full((99, 2), Z95)
        boot[:, 0] = boot_level_half / (level_half / Z95)
    return BreakEffect(
        break_="2012-03",
        log=log,
        params=(level, slope),
        bse=(level_half / Z95, slope_half / Z95),
        cov_type="HAC",
        months_before=146,
        months_after=82,
        boot_t=boot,
    )


def test_describe_effect_sentences():
    s = text.describe_effect(_effect(), "Exports")
    assert s == (
        "Exports were 10.5 % higher in 2012-03 than the pre-break trend implied "
        "(95 % CI 2.0 % to 19.7 %, HAC)."
    )
    boot = text.describe_effect(
        _effect(boot_level_half=0.115), "Exports"
    )  # CI -0.015 .. 0.215 log points
    assert boot.endswith("(95 % CI \u22121.5 % to 24.0 %, bootstrap) \u2014 no detectable change.")
    s = text.describe_effect(_effect(level=math.log(0.967), level_half=0.134), "Exports")
    assert "3.3 % lower" in s and s.endswith("no detectable change.") and "\u221215.4 %" in s
    bal = _effect(log=False, level=-850.1, level_half=484.35)  # CI -1334.4 .. -365.7
    assert text.describe_effect(bal, "The balance").startswith(
        "The balance was US$ 850 million a month lower in 2012-03"
    )
    assert text.describe_slope(_effect(), "Exports") == (
        "After 2012-03, the trend growth of exports changed by 1.2 % a year "
        "(95 % CI \u22121.2 % to 3.7 %, HAC) \u2014 no detectable change in trend."
    )


# ---- real data (integration) -----------------------------------------------------------------


@pytest.fixture(scope="module")
def korea_monthly(real_trade: pd.DataFrame) -> pd.DataFrame:
    return series.partner_monthly(real_trade, 5800, "2000-01")


@pytest.mark.integration
def test_korea_results_structure(korea_monthly):
    run = run_models(
        korea_monthly, breaks=["2012-03", "2019-01"], train_end="2012-02", n_boot=49, n_sim=200
    )
    res = results.results_dict(run, 5800, "Korea, South")
    json.dumps(res, allow_nan=False)
    annual = {a["year"]: a for a in res["annual"]}
    assert annual[2011]["balance"] == pytest.approx(-13199.7, abs=0.05)
    assert annual[2015]["balance"] == pytest.approx(-28291.3, abs=0.05)
    assert res["slug"] == "korea-south" and res["params"]["start"] == "2000-01"
    assert res["skipped"] == {}
    for col in ("exports", "imports", "balance"):
        assert res["its"][col]["breaks"][0]["break"] == "2012-03"
        assert res["its"][col]["nobs"] == len(korea_monthly)
        assert res["counterfactual"][col]["train_end"] == "2012-02"


# ---- the notebook (papermill; slow) ---------------------------------------------------------


def _run_notebook(
    tmp_path, params: dict, raw: tuple[tuple[str, str], ...] = ()
) -> tuple[object, object]:
    import subprocess
    import sys

    trade = synth_monthly(seed=8).reset_index(names="date")
    trade.insert(1, "partner_code", 5800)
    trade.insert(2, "partner", "Korea, South")
    trade.insert(3, "is_aggregate", False)
    trade["date"] = trade["date"].dt.strftime("%Y-%m-%d")
    data = tmp_path / "processed" / "trade_monthly.csv"
    data.parent.mkdir()
    trade[list(config.TRADE_COLUMNS)].to_csv(data, index=False)
    pfile = tmp_path / "params.json"
    pfile.write_text(json.dumps(params))
    out = tmp_path / "reports" / "korea-south"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis.pipeline.run_notebook",
            str(config.NOTEBOOKS_DIR / "02_trends.ipynb"),
            str(tmp_path / "02_trends.ipynb"),
            "-f",
            str(pfile),
            "-r",
            "out_dir",
            str(out),
            "-r",
            "data_path",
            str(data),
            *[x for pair in raw for x in ("-r", *pair)],
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc, out


@pytest.mark.slow
def test_notebook_rejects_bad_parameters_before_model_work(tmp_path):
    proc, out = _run_notebook(
        tmp_path,
        {"partner": "5800", "start": "2000-01", "end": "", "breaks": ["1999-01"], "train_end": ""},
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .endswith("breaks=1999-01: outside the data window 2000-01 .. 2014-12")
    )
    assert not out.exists()


@pytest.mark.slow
def test_notebook_writes_results_figures_and_sa(tmp_path):
    # As `papermill notebooks/02_trends.ipynb out.ipynb -r breaks 2008-01,2011-01`: breaks
    # given alone, as one text, and no train_end, so the counterfactual is trained up to the
    # month before the first break, not a default month. (make passes breaks as a list: every
    # end-to-end build runs the notebook so. A train_end given is params.validate's, tested.)
    proc, out = _run_notebook(
        tmp_path,
        {"partner": "5800", "start": "2000-01", "end": ""},
        raw=(("breaks", f"{BREAK},2011-01"),),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads((out / "results.json").read_text())
    assert res["params"]["breaks"] == [BREAK, "2011-01"] and res["data_through"] == "2014-12"
    assert res["params"]["train_end"] == "2007-12"
    assert res["counterfactual"]["exports"]["train_end"] == "2007-12"
    assert (out / "coefficients.csv").is_file()
    sa = pd.read_csv(tmp_path / "processed" / "sa" / "korea-south.csv")
    assert list(sa.columns) == SA_CSV_COLUMNS
    assert (
        sa["exports_x13"].notna().all() and res["seasonal_adjustment_x13"]["exports"]["available"]
    )
    names = {p.name for p in (out / "figures").iterdir()}
    for stem in (
        "monthly_trade",
        "annual_balance",
        "its_exports",
        "its_imports",
        "its_balance",
        "stl_balance",
    ):
        assert {f"{stem}.png", f"{stem}.svg"} <= names, stem
    executed = json.loads((tmp_path / "02_trends.ipynb").read_text())
    streams = [
        o
        for c in executed["cells"]
        for o in c.get("outputs", [])
        if o["output_type"] == "stream" and o.get("name") == "stderr"
    ]
    assert streams == [], "unexpected warnings in the notebook output"
