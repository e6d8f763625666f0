"""On-demand quantities of the model result objects (BreakEffect, Counterfactual), the one
parameter validator and month parser, and the versioned results.json."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from scipy.signal import lfilter

from analysis import params
from analysis.errors import ParameterError
from analysis.models.counterfactual import Counterfactual
from analysis.models.its import BreakEffect, fit_its


def _series(n: int = 180, k: int = 96, level: float = 0.1, seed: int = 0) -> pd.Series:
    idx = pd.date_range("2000-01-01", periods=n, freq="MS")
    rng = np.random.default_rng(seed)
    u = lfilter([1.0], [1.0, -0.5], rng.normal(0.0, 0.02, n + 100))[100:]
    t = np.arange(n)
    z = 8.0 + 0.003 * t + 0.1 * np.sin(2 * np.pi * (idx.month - 1) / 12) + level * (t >= k) + u
    return pd.Series(np.exp(z), index=idx, name="exports")


@pytest.fixture(scope="module")
def fitted():
    return fit_its(_series(), ["2008-01"], log=True, n_boot=99, seed=3)


def test_hac_interval_and_pvalues_are_statsmodels_ones(fitted):
    (e,) = fitted.effects
    res = fitted.results
    ci = res.conf_int(alpha=0.05)
    hac = e.conf_int()
    assert hac["level"] == (ci.loc["level_2008-01", 0], ci.loc["level_2008-01", 1])  # bit for bit
    assert hac["slope"] == (ci.loc["slope_2008-01", 0], ci.loc["slope_2008-01", 1])
    assert hac["slope_per_year"] == (12 * hac["slope"][0], 12 * hac["slope"][1])
    assert e.pvalues() == (res.pvalues["level_2008-01"], res.pvalues["slope_2008-01"])
    ci90 = res.conf_int(alpha=0.10)
    assert e.conf_int(alpha=0.10)["level"] == pytest.approx(tuple(ci90.loc["level_2008-01"]))
    assert e.params == (res.params["level_2008-01"], res.params["slope_2008-01"])
    assert e.slope_change_per_year == 12 * e.slope_change


def test_bootstrap_interval_from_the_draws(fitted):
    (e,) = fitted.effects
    assert (
        e.has_boot
        and e.best_kind == "cal"
        and e.boot_t.shape == (99, 2)
        and e.cal_t.shape == (99, 2)
    )
    c = np.quantile(e.boot_t[:, 0], 0.95)
    lo, hi = e.conf_int(kind="boot")["level"]
    assert (lo, hi) == pytest.approx((e.level_change - c * e.bse[0], e.level_change + c * e.bse[0]))
    # a wider interval for a smaller alpha; the p-value counts the draws at least as large as |t|
    lo99, hi99 = e.conf_int(alpha=0.01, kind="boot")["level"]
    assert lo99 <= lo and hi99 >= hi
    t = abs(e.slope_change) / e.bse[1]
    assert e.pvalues("boot")[1] == (1 + (e.boot_t[:, 1] >= t).sum()) / 100
    with pytest.raises(ValueError, match="kind='wild'"):
        e.conf_int(kind="wild")


def test_percent_transform_and_missing_bootstrap():
    e = BreakEffect(
        break_="2012-03",
        log=True,
        params=(0.1, 0.001),
        bse=(0.04, 0.001),
        cov_type="HAC",
        months_before=146,
        months_after=82,
    )
    assert e.pct_level_change == pytest.approx(100 * math.expm1(0.1))
    assert e.pct_slope_change_per_year == pytest.approx(100 * math.expm1(0.012))
    lo, hi = e.conf_int()["level"]
    assert e.pct_conf_int()["level"] == pytest.approx((100 * math.expm1(lo), 100 * math.expm1(hi)))
    assert e.conf_int(kind="boot") is None and e.pvalues("boot") is None and e.best_kind == "hac"
    assert e.pct_conf_int(kind="boot") is None
    levels = BreakEffect(
        break_="2012-03",
        log=False,
        params=(-500.0, -5.0),
        bse=(100.0, 2.0),
        cov_type="HAC",
        months_before=146,
        months_after=82,
    )
    assert levels.pct_level_change is None and levels.pct_conf_int() is None
    assert levels.conf_int()["slope_per_year"] == pytest.approx(
        (12 * (-5 - 1.96 * 2), 12 * (-5 + 1.96 * 2)), rel=1e-4
    )


def test_counterfactual_gaps_on_demand():
    idx = pd.date_range("2010-01-01", periods=40, freq="MS")
    actual = pd.Series(np.full(40, 110.0), index=idx)
    paths = np.tile(np.linspace(90.0, 110.0, 5), (40, 1))  # five simulated paths, each flat
    c = Counterfactual(
        series="exports",
        model="m",
        train_end="2009-12",
        actual=actual,
        paths=paths,
        forecast=pd.DataFrame(),
        seed=1,
        log=True,
        converged=True,
        fit_warnings=[],
        diagnostics={},
        params=pd.DataFrame(),
    )
    assert (c.post_start, c.post_end, c.months_post, c.n_sim) == ("2010-01", "2013-04", 40, 5)
    g12 = c.gap(12)
    assert g12.months == 12 and g12.end == "2010-12"
    assert g12.cumulative_gap == pytest.approx(12 * 10.0)  # median path 100 a month
    assert g12.gap_ci == pytest.approx((12 * (110 - 109.5), 12 * (110 - 90.5)))
    assert g12.pct_gap == pytest.approx(10.0)
    assert [h.months for h in c.by_horizon] == [12, 24, 36]
    assert c.cumulative_gap == c.gap().cumulative_gap == pytest.approx(400.0)
    assert c.gap_ci == c.gap().gap_ci and c.pct_gap_ci == c.gap().pct_gap_ci


# ---- the one validator and month parser ----------------------------------------------------------


def test_parse_month_accepts_the_usual_forms():
    assert params.parse_month("2012-03", "x") == "2012-03"
    assert params.parse_month(" 2012-03-01 ", "x") == "2012-03"
    assert params.parse_month(pd.Timestamp("2012-03-15"), "x") == "2012-03"
    assert params.parse_month(dt.date(2012, 3, 1), "x") == "2012-03"
    for bad in ("2012-3", "2012-13", "", None, 201203):
        with pytest.raises(ParameterError, match="x=.*expected a month as YYYY-MM"):
            params.parse_month(bad, "x")


def test_validate_derives_train_end_and_names_parameters_as_told():
    assert params.validate(["2010-01"], first="2000-01", last="2014-12") == (["2010-01"], "2009-12")
    assert (
        params.validate("2010-01", first="2000-01", last="2014-12", train_end=None)[1] == "2009-12"
    )
    assert (
        params.validate("2010-01", first="2000-01", last="2014-12", train_end="2008-06")[1]
        == "2008-06"
    )
    with pytest.raises(
        ParameterError,
        match=r"^BREAKS=2016-01: outside the data window 2000-01 \.\. 2014-12 for X$",
    ):
        params.validate(
            ["2016-01"], first="2000-01", last="2014-12", names=params.MAKE_NAMES, where=" for X"
        )
    with pytest.raises(ParameterError, match="hac_maxlags=-1"):
        params.validate(["2010-01"], first="2000-01", last="2014-12", hac_maxlags=-1)


def test_notebook_default_train_end_is_derived_from_the_breaks():
    # `papermill ... -p breaks 2010-01` must not keep a train_end of another break: the
    # notebook's default is empty, which the validator turns into the month before the break.
    import json

    from analysis import config

    nb = json.loads((config.NOTEBOOKS_DIR / "02_trends.ipynb").read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    ns: dict = {}
    exec("".join(cell["source"]), ns)  # noqa: S102 - the notebook's own parameters cell
    ns["breaks"] = "2010-01"  # what papermill -p injects
    assert params.validate(
        ns["breaks"], first="2000-01", last="2014-12", train_end=ns["train_end"]
    ) == (["2010-01"], "2009-12")


# ---- results.json --------------------------------------------------------------------------------


def test_results_json_is_versioned():
    from analysis.models.run import run_models
    from analysis.report import landing, results

    s = _series()
    m = pd.DataFrame({"exports": s, "imports": s * 1.1, "balance": s - s * 1.1})
    run = run_models(m, breaks=["2008-01"], n_boot=19, n_sim=50)
    res = results.results_dict(run, 5800, "Korea, South")
    assert res["schema_version"] == results.SCHEMA_VERSION == landing.RESULTS_SCHEMA_VERSION == 1
    assert res["params"]["train_end"] == "2007-12"  # derived from the first break
