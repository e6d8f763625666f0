"""Synthetic control (analysis.models.synth): planted effects, null placebos, weights, donor pool."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from analysis.models import synth, synth_robustness

TREATED = 9999
YEARS = np.arange(1990, 2020)  # 30 years
TREAT_YEAR = 2010  # 20 pre-period years, 10 post
TRUE_W = {1001: 0.5, 1002: 0.3, 1003: 0.2}


def factor_panel(
    seed: int, effect: float, n_donors: int = 40, treated_noise: float = 0.01
) -> pd.DataFrame:
    """Log panel (years x codes): donors from a 3-factor model plus N(0, 0.1) noise, the treated
    unit an exact convex combination of donors 1001-1003 plus N(0, ``treated_noise``) noise,
    ``effect`` added from TREAT_YEAR on."""
    rng = np.random.default_rng(seed)
    t = len(YEARS)
    factors = np.cumsum(rng.normal(0.0, 0.1, size=(t, 3)), axis=0)
    loadings = rng.normal(1.0, 0.5, size=(3, n_donors))
    levels = rng.uniform(3.0, 9.0, size=n_donors)
    donors = levels + factors @ loadings + rng.normal(0.0, 0.1, size=(t, n_donors))
    codes = list(range(1001, 1001 + n_donors))
    panel = pd.DataFrame(donors, index=pd.Index(YEARS, name="year"), columns=codes)
    treated = sum(w * panel[c] for c, w in TRUE_W.items()) + 2.0  # level shift: demeaned away
    treated = treated + rng.normal(0.0, treated_noise, size=t) + effect * (YEARS >= TREAT_YEAR)
    panel.insert(0, TREATED, treated)
    return panel


def donors_of(panel: pd.DataFrame) -> list[int]:
    return [c for c in panel.columns if c != TREATED]


# ---------------------------------------------------------------------------------------------
# Planted effect and null
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 3, 4, 5])
def test_planted_gap_is_recovered_and_ranks_first(seed: int) -> None:
    panel = factor_panel(seed=seed, effect=0.2)
    donors = donors_of(panel)
    fit = synth.fit(panel, TREATED, donors, TREAT_YEAR)
    w = dict(zip(fit.donors, fit.weights, strict=True))
    for code, true in TRUE_W.items():
        assert w[code] == pytest.approx(true, abs=0.1)
    assert sum(v for c, v in w.items() if c not in TRUE_W) < 0.15
    post = fit.years >= TREAT_YEAR
    assert np.mean(fit.gap[post]) == pytest.approx(0.2, abs=0.04)
    assert fit.pre_rmspe < 0.03
    ratios = synth.placebo_ratios(panel, TREATED, donors, TREAT_YEAR)
    assert len(ratios) == len(donors) + 1
    rank, p = synth.rank_p(ratios, TREATED)
    assert rank == 1
    assert p == pytest.approx(1 / (len(donors) + 1))


@pytest.mark.parametrize("seed", [2, 3, 4, 5, 6])
def test_no_effect_is_not_significant(seed: int) -> None:
    # Under the null the treated unit must be exchangeable with its placebos: its own noise is
    # the donors' (with noise 0.01 its pre-fit is far tighter than any placebo's, which inflates
    # its post/pre ratio whatever the effect -- a property of the statistic, not a bug).
    panel = factor_panel(seed=seed, effect=0.0, treated_noise=0.1)
    donors = donors_of(panel)
    rank, p = synth.rank_p(synth.placebo_ratios(panel, TREATED, donors, TREAT_YEAR), TREATED)
    assert p > 0.1
    assert rank > 4


def test_placebo_ratio_of_treated_matches_its_own_fit() -> None:
    panel = factor_panel(seed=6, effect=0.1)
    donors = donors_of(panel)
    fit = synth.fit(panel, TREATED, donors, TREAT_YEAR)
    ratios = synth.placebo_ratios(panel, TREATED, donors, TREAT_YEAR)
    assert ratios[TREATED] == pytest.approx(fit.rmspe_ratio, rel=1e-6)
    # a placebo never draws on the treated unit: dropping it from the panel changes nothing
    donor_ratios = synth.placebo_ratios(
        panel.drop(columns=TREATED), donors[0], donors[1:], TREAT_YEAR
    )
    assert ratios[donors[0]] == pytest.approx(donor_ratios[donors[0]], rel=1e-6)


def test_post_end_limits_the_post_period() -> None:
    panel = factor_panel(seed=7, effect=0.2)
    fit = synth.fit(panel, TREATED, donors_of(panel), TREAT_YEAR, post_end=2012)
    assert fit.years.max() == 2012
    with pytest.raises(synth.ParameterError):
        synth.fit(panel, TREATED, donors_of(panel), TREAT_YEAR, post_end=2009)


# ---------------------------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("t", "j"), [(12, 60), (20, 40), (30, 5)])
def test_weights_are_on_the_simplex_and_optimal(t: int, j: int) -> None:
    rng = np.random.default_rng(t * j)
    x = rng.normal(0.0, 0.3, size=(t, j))
    y = x[:, :3] @ np.array([0.2, 0.3, 0.5]) + rng.normal(0.0, 0.3, size=t) + 0.4
    w = synth.simplex_weights(x, y)
    assert (w >= 0).all()
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    ref = minimize(
        lambda v: float(np.sum((x @ v - y) ** 2)),
        np.full(j, 1 / j),
        jac=lambda v: 2 * x.T @ (x @ v - y),
        bounds=[(0, None)] * j,
        constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 2000},
    )
    assert np.sum((x @ w - y) ** 2) <= ref.fun + 1e-8


def test_fit_weights_are_on_the_simplex() -> None:
    fit = synth.fit(factor_panel(seed=8, effect=0.0), TREATED, list(range(1001, 1041)), TREAT_YEAR)
    assert (fit.weights >= 0).all()
    assert fit.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert sum(fit.nonzero_weights().values()) == pytest.approx(1.0, abs=1e-3)


# ---------------------------------------------------------------------------------------------
# Donor pool and panel on a tiny monthly table
# ---------------------------------------------------------------------------------------------
def monthly_table(
    units: dict[int, tuple[np.ndarray, np.ndarray]], start: str, aggregates=()
) -> pd.DataFrame:
    """Cleaned-table frame from ``code -> (monthly exports, monthly imports)``."""
    frames = []
    for code, (exp, imp) in units.items():
        dates = pd.date_range(start, periods=len(exp), freq="MS")
        frames.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "partner_code": code,
                    "partner": f"P{code}",
                    "is_aggregate": code in aggregates,
                    "exports": exp,
                    "imports": imp,
                    "balance": exp - imp,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_donor_pool_excludes_fta_partners_gaps_and_aggregates() -> None:
    ones = np.ones(36)
    zero_month = ones.copy()
    zero_month[20] = 0.0
    units = {
        100: (ones, ones),  # eligible
        200: (ones, ones),  # FTA partner
        300: (ones[:35], ones[:35]),  # last month missing
        400: (zero_month, zero_month),  # no trade in one month
        500: (zero_month, ones),  # no exports in one month, but trade: eligible
        600: (ones, ones),  # aggregate
        TREATED: (ones, ones),
    }
    trade = monthly_table(units, "2000-01-01", aggregates=(600,))
    pool = synth.donor_pool(trade, 2000, 2002, exclude=[200], treated=TREATED)
    assert pool == [100, 500]
    # the window matters: over 2000 alone unit 300 and 400 are complete
    assert synth.donor_pool(trade, 2000, 2000, exclude=iter([200]), treated=TREATED) == [
        100,
        300,
        400,
        500,
    ]
    panel = synth.annual_log_panel(trade, "exports", [100, 300, 500], 2000, 2002)
    assert panel.loc[2000, 100] == pytest.approx(math.log(12))
    assert np.isnan(panel.loc[2002, 300])  # 11 months: no annual total
    assert panel.loc[2001, 500] == pytest.approx(math.log(11))
    assert synth.usable(panel) == [100, 500]
    assert synth.large_enough(panel, [100, 500], 2001, 11.5) == [100]
    assert synth.large_enough(panel, [100, 500], 2001, None) == [100, 500]


def test_fta_partners_from_csv(tmp_path) -> None:
    path = tmp_path / "us_ftas.csv"
    path.write_text(
        "partner_code,partner,agreement,in_force,revision,revision_in_force,source\n"
        "5800,Korea,KORUS,2012-03-15,yes,2019-01-01,https://ustr.gov/x\n"
        "3370,Chile,US-Chile,2004-01-01,,,https://ustr.gov/y\n"
    )
    assert synth.fta_partners(path, "2011-12-31") == {3370}
    assert synth.fta_partners(path, "2018-12-31") == {3370, 5800}
    with pytest.raises(synth.DataError):
        synth.fta_partners(tmp_path / "missing.csv", "2018-12-31")
    # the one validated reader: a source that is no official address is refused, in one line
    path.write_text(path.read_text().replace("https://ustr.gov/y", "x"))
    with pytest.raises(synth.DataError, match=r"us_ftas\.csv: row 3: source is not a USTR"):
        synth.fta_partners(path, "2018-12-31")


def test_evaluation_dict_shape_on_a_synthetic_table() -> None:
    panel = factor_panel(seed=9, effect=0.2, n_donors=12)
    panel.index = panel.index + 10  # 2000..2029
    units = {}
    for code in panel.columns:
        monthly = np.repeat(np.exp(panel[code].to_numpy()) / 12, 12)
        units[int(code)] = (monthly, monthly * 1.1)
    trade = monthly_table(units, "2000-01-01")
    out = synth.evaluation(
        trade,
        exclude=[1012],
        treated=TREATED,
        pre_start=2000,
        treatment_year=2020,
        post_end=2024,
        time_year=2015,
        min_flow=None,
    )
    json.dumps(out, allow_nan=False)
    assert set(out) == {"exports", "imports"}
    res = out["exports"]
    assert set(res) == {
        "outcome",
        "weights",
        "donor_names",
        "n_donors",
        "pre_rmspe",
        "post_rmspe",
        "rmspe_ratio",
        "rank",
        "p_value",
        "gap_by_year",
        "placebo_in_time",
        "donor_floors",
    }
    assert res["n_donors"] == 11
    # min_flow=None: the sensitivity rows start with the open pool, the run's own pool
    floors = res["donor_floors"]
    assert floors[0]["min_flow"] is None and floors[0]["n_donors"] == 11
    assert floors[0]["p_value"] == res["p_value"] and floors[0]["rank"] == res["rank"]
    kept = [r["min_flow"] for r in floors]
    assert kept == [f for f in synth.SENSITIVITY_FLOORS if f in kept]
    assert [r["n_donors"] for r in floors] == sorted((r["n_donors"] for r in floors), reverse=True)
    assert "1012" not in res["weights"] and str(TREATED) not in res["weights"]
    assert set(res["donor_names"]) == set(res["weights"])
    assert [g["year"] for g in res["gap_by_year"]] == list(range(2020, 2025))
    first = res["gap_by_year"][0]
    assert set(first) == {"year", "actual", "synthetic", "gap", "gap_pct"}
    assert first["gap_pct"] == pytest.approx(100 * math.expm1(first["gap"]), abs=0.05)
    assert set(res["placebo_in_time"]) == {"date", "rmspe_ratio", "rank", "p_value"}
    assert res["placebo_in_time"]["date"] == "2015-01-01"
    assert res["p_value"] == pytest.approx(res["rank"] / 12, abs=1e-4)


def test_bad_parameters_raise() -> None:
    ones = np.ones(48)
    trade = monthly_table({100: (ones, ones), TREATED: (ones, ones)}, "2000-01-01")
    with pytest.raises(synth.ParameterError):
        synth.run_flow(
            trade,
            "exports",
            [],
            TREATED,
            pre_start=2000,
            treatment_year=2001,
            post_end=2001,
            time_year=2003,
        )
    with pytest.raises(synth.ParameterError):
        synth.annual_log_panel(trade, "balance", [100], 2000, 2001)
    with pytest.raises(synth.DataError):
        synth.run_flow(
            trade,
            "exports",
            [],
            4242,
            pre_start=2000,
            treatment_year=2002,
            post_end=2003,
            time_year=2001,
        )


# ---------------------------------------------------------------------------------------------
# Real data
# ---------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_korea_on_the_real_table(mirror, real_trade) -> None:
    full = synth.run_flow(real_trade, "exports", synth.FTA_PARTNERS, min_flow=None)
    assert len(full.fit.donors) >= 100
    assert synth.KOREA not in full.fit.donors
    out = synth.evaluation(real_trade, synth.FTA_PARTNERS)
    json.dumps(out, allow_nan=False)
    for flow in synth.FLOWS:
        res = out[flow]
        assert res["n_donors"] >= 30
        assert str(synth.KOREA) not in res["weights"]
        assert not set(res["weights"]) & {str(c) for c in synth.FTA_PARTNERS}
        assert res["pre_rmspe"] is not None and 0 < res["pre_rmspe"] < 0.1
        assert [g["year"] for g in res["gap_by_year"]] == list(range(2012, 2019))
        assert 1 <= res["rank"] <= res["n_donors"] + 1
        # the donor-floor sensitivity: the default floor's row is the reported result; the
        # open pool reproduces many pre-break paths exactly (why the default has a floor)
        rows = {r["min_flow"]: r for r in res["donor_floors"]}
        assert set(rows) == set(synth.SENSITIVITY_FLOORS)
        own = rows[synth.MIN_FLOW]
        assert (own["n_donors"], own["rank"], own["p_value"]) == (
            res["n_donors"],
            res["rank"],
            res["p_value"],
        )
        assert rows[None]["n_donors"] >= 150 and rows[None]["exact_fits"] > 10
        assert rows[None]["n_donors"] > rows[250.0]["n_donors"] > rows[1000.0]["n_donors"]


def test_floor_sensitivity_counts_exact_fits_and_drops_small_donors() -> None:
    # Two tiny donors (flow 10) and the factor panel's donors (flow ~e^8): a floor of 100 drops
    # the tiny ones; with three periods and many donors the open pool fits units exactly.
    panel = factor_panel(seed=11, effect=0.0, n_donors=8)
    panel.iloc[:, 1:] = panel.iloc[:, 1:] - panel.iloc[:, 1:].min() + np.log(1000.0)
    small = panel.iloc[:, 1:3] - panel.iloc[:, 1:3].mean() + np.log(10.0)
    small.columns = [9001, 9002]
    wide = pd.concat([panel, small], axis=1)
    eligible = [c for c in wide.columns if c != TREATED]
    rows = synth.floor_sensitivity(
        wide, TREATED, eligible, TREAT_YEAR, int(wide.index.max()), floors=(None, 100.0, 1e9)
    )
    assert [r["min_flow"] for r in rows] == [None, 100.0]  # no donor above 1e9: skipped
    assert rows[0]["n_donors"] == len(eligible) and rows[1]["n_donors"] == len(eligible) - 2
    short = wide.loc[: TREAT_YEAR + 1].iloc[-5:]  # 3 pre years, many donors: exact fits
    rows = synth.floor_sensitivity(
        short, TREATED, eligible, int(short.index[3]), int(short.index.max()), floors=(None,)
    )
    assert rows[0]["exact_fits"] >= 1 and rows[0]["rank"] >= 1


# ---------------------------------------------------------------------------------------------
# Robustness: placebo filters, leave-one-out, conformal intervals, the donor-pool rule
# ---------------------------------------------------------------------------------------------
FILTERS = ["all", "exact_fits_excluded", "pre_rmspe_5x", "pre_rmspe_2x", "post_rmspe"]


@pytest.mark.parametrize("seed", [1, 3, 4])
def test_planted_effect_has_small_p_under_every_filter(seed: int) -> None:
    # the treated unit is as noisy as a donor (exchangeable but for the effect), effect +1.0
    panel = factor_panel(seed=seed, effect=1.0, treated_noise=0.1)
    table = synth.placebo_rmspe(panel, TREATED, donors_of(panel), TREAT_YEAR)
    rows = synth_robustness.placebo_filters(table, TREATED)
    assert [r["filter"] for r in rows] == FILTERS
    for r in rows:
        assert r["rank"] == 1, r
        assert r["p_value"] == pytest.approx(1 / (r["n_placebos"] + 1), abs=1e-4)
        assert r["p_value"] <= 0.1, r
    # the 2x cut keeps fewer placebos than the 5x cut, which keeps no more than all
    n = {r["filter"]: r["n_placebos"] for r in rows}
    assert n["pre_rmspe_2x"] <= n["pre_rmspe_5x"] <= n["all"] == len(donors_of(panel))


@pytest.mark.parametrize("seed", [2, 3, 4, 5, 6])
def test_untreated_unit_is_not_significant_under_any_filter(seed: int) -> None:
    panel = factor_panel(seed=seed, effect=0.0, treated_noise=0.1)
    rows = synth_robustness.placebo_filters(
        synth.placebo_rmspe(panel, TREATED, donors_of(panel), TREAT_YEAR), TREATED
    )
    assert min(r["p_value"] for r in rows) > 0.1, rows


def test_filters_drop_exact_fits_and_placebos_with_poor_pre_fit() -> None:
    # a hand-made table: treated pre 0.1; placebo 2 is an exact fit (ratio inf), placebo 3 has
    # pre 0.3 (kept by 5x, dropped by 2x), placebo 4 pre 0.6 (dropped by both)
    table = pd.DataFrame(
        {
            "pre": [0.1, 0.0, 0.3, 0.6, 0.1],
            "post": [0.5, 0.4, 0.2, 3.0, 0.1],
            "ratio": [5.0, math.inf, 0.2 / 0.3, 5.0, 1.0],
        },
        index=pd.Index([TREATED, 2, 3, 4, 5], name="code"),
    )
    got = {
        r["filter"]: (r["n_placebos"], r["rank"])
        for r in synth_robustness.placebo_filters(table, TREATED)
    }
    assert got == {
        "all": (4, 3),  # the exact fit and placebo 4 (tie counts against) rank above
        "exact_fits_excluded": (3, 2),
        "pre_rmspe_5x": (3, 2),  # placebo 4 (pre 0.6 > 0.5) dropped; the exact fit stays
        "pre_rmspe_2x": (2, 2),  # 3 (0.3 > 0.2) and 4 dropped
        "post_rmspe": (4, 2),  # only placebo 4's post RMSPE (3.0) is larger than 0.5
    }


def test_placebo_rmspe_ratio_matches_placebo_ratios() -> None:
    panel = factor_panel(seed=7, effect=0.1)
    table = synth.placebo_rmspe(panel, TREATED, donors_of(panel), TREAT_YEAR)
    ratios = synth.placebo_ratios(panel, TREATED, donors_of(panel), TREAT_YEAR)
    assert list(table.index) == list(ratios)
    np.testing.assert_allclose(table["ratio"].to_numpy(), list(ratios.values()))
    np.testing.assert_allclose(table["post"] / table["pre"], table["ratio"])


def test_leave_one_out_refits_without_each_top_donor() -> None:
    panel = factor_panel(seed=1, effect=0.5)
    donors = donors_of(panel)
    rows = synth_robustness.leave_one_out(panel, TREATED, donors, TREAT_YEAR, int(YEARS.max()))
    # every donor of weight >= 5 %, largest first: the true donors (0.5, 0.3, 0.2) lead
    assert [r["code"] for r in rows][:3] == list(TRUE_W)
    assert all(r["weight"] >= 0.05 for r in rows)
    assert [r["weight"] for r in rows] == sorted((r["weight"] for r in rows), reverse=True)
    for r in rows:
        assert r["n_donors"] == len(donors) - 1
        # without one of the true donors the planted +0.5 is still found, roughly
        assert r["mean_gap"] == pytest.approx(0.5, abs=0.2)
        full = synth.fit(panel, TREATED, [d for d in donors if d != r["code"]], TREAT_YEAR)
        assert r["gap_pct_last"] == pytest.approx(100 * math.expm1(full.gap[-1]), abs=0.01)


@pytest.mark.parametrize("seed", [1, 3])
def test_conformal_intervals_find_a_planted_effect(seed: int) -> None:
    panel = factor_panel(seed=seed, effect=1.0, treated_noise=0.05)
    out = synth_robustness.conformal(panel, TREATED, donors_of(panel), TREAT_YEAR, int(YEARS.max()))
    assert out["p_no_effect"] <= 0.1
    assert out["level"] == pytest.approx(1 - 2 / 21, abs=1e-4)  # 20 pre years + 1: p in k/21
    assert [r["year"] for r in out["by_year"]] == list(YEARS[YEARS >= TREAT_YEAR])
    covers = 0
    for r in out["by_year"]:
        assert r["ci_low"] is not None and r["ci_high"] is not None
        assert r["ci_low"] > 0, r  # every year's interval excludes zero
        assert r["ci_low"] <= r["gap"] <= r["ci_high"]
        covers += r["ci_low"] <= 1.0 <= r["ci_high"]
    assert covers >= 8  # of 10 years: a 90 % interval covers the truth most of the time


def test_conformal_intervals_cover_zero_under_the_null() -> None:
    covered, p_values = [], []
    for seed in range(20):
        panel = factor_panel(seed=seed, effect=0.0, treated_noise=0.1)
        years, pre, z = synth_robustness._demeaned(
            panel, TREATED, donors_of(panel), TREAT_YEAR, 2019
        )
        lo, hi = synth_robustness.conformal_interval(z, pre, 0)
        covered.append((lo is None or lo <= 0) and (hi is None or 0 <= hi))
        p_values.append(synth_robustness.conformal_p(z, pre, np.zeros(int((~pre).sum()))))
    assert np.mean(covered) >= 0.8  # nominal 90 % or more
    assert np.mean(np.array(p_values) <= 0.1) <= 0.25


def test_conformal_p_is_one_when_nothing_is_left_over() -> None:
    # treated = donor 1001 exactly: every residual is zero, so no permutation is smaller
    panel = factor_panel(seed=2, effect=0.0)
    panel[TREATED] = panel[1001]
    years, pre, z = synth_robustness._demeaned(panel, TREATED, donors_of(panel), TREAT_YEAR, 2019)
    assert synth_robustness.conformal_p(z, pre, np.zeros(int((~pre).sum()))) == 1.0
    # a huge post-period effect imposed as the null is rejected (smallest p: 1 / periods)
    assert synth_robustness.conformal_p(z, pre, np.full(int((~pre).sum()), 5.0)) == pytest.approx(
        1 / 30
    )


def rule_table() -> pd.DataFrame:
    panel = factor_panel(seed=4, effect=0.3, n_donors=10)
    panel.index = panel.index + 10  # 2000..2029
    units = {}
    for code in panel.columns:
        monthly = np.repeat(np.exp(panel[code].to_numpy()) / 12, 12)
        units[int(code)] = (monthly, monthly)
    return monthly_table(units, "2000-01-01")


def test_robustness_applies_the_donor_rule_beside_the_open_design() -> None:
    trade = rule_table()
    out = synth_robustness.robustness(
        trade,
        "exports",
        exclude=[],
        rule_exclude={1001: "micro_state", 1005: "entrepot", 4242: "territory"},
        treated=TREATED,
        pre_start=2000,
        treatment_year=2020,
        post_end=2024,
        min_flow=None,
    )
    json.dumps(out, allow_nan=False)
    assert set(out["pools"]) == {"no_rule", "donor_rule"}
    free, ruled = out["pools"]["no_rule"], out["pools"]["donor_rule"]
    assert free["n_donors"] == 10 and ruled["n_donors"] == 8
    assert ruled["excluded"] == [
        {"code": 1001, "category": "micro_state"},
        {"code": 1005, "category": "entrepot"},
    ]
    assert "1001" in free["weights"] and not {"1001", "1005"} & set(ruled["weights"])
    assert out["names"]["1001"] == "P1001"
    # the no-rule pool is the main design: same p-value as run_flow
    main = synth.run_flow(trade, "exports", [], TREATED, 2000, 2020, 2024, 2015, min_flow=None)
    assert free["filters"][0]["p_value"] == pytest.approx(main.p_value, abs=1e-4)
    ps = [r["p_value"] for pool in (free, ruled) for r in pool["filters"]]
    assert out["p_range"] == [min(ps), max(ps)]
    assert [r["filter"] for r in ruled["filters"]] == FILTERS
    assert len(ruled["conformal"]["by_year"]) == 5


def test_donor_exclusions_file_is_read_and_checked(tmp_path) -> None:
    rule = synth_robustness.load_donor_exclusions()
    assert rule[2360] == "micro_state" and rule[5820] == "entrepot"  # Bahamas, Hong Kong
    assert synth.KOREA not in rule and set(rule.values()) <= set(
        synth_robustness.EXCLUSION_CATEGORIES
    )
    bad = tmp_path / "x.csv"
    bad.write_text("partner_code,partner,category,source\n1,A,island,somewhere\n")
    with pytest.raises(synth.DataError, match="unknown category"):
        synth_robustness.load_donor_exclusions(bad)
    bad.write_text("partner_code,partner,category,source\n1,A,entrepot,\n")
    with pytest.raises(synth.DataError, match="source"):
        synth_robustness.load_donor_exclusions(bad)
    bad.write_text("partner_code,partner,category,source\n1,A,entrepot,s\n1,B,entrepot,s\n")
    with pytest.raises(synth.DataError, match="repeated"):
        synth_robustness.load_donor_exclusions(bad)
    with pytest.raises(synth.DataError, match="not found"):
        synth_robustness.load_donor_exclusions(tmp_path / "missing.csv")


@pytest.mark.integration
def test_korea_robustness_on_the_real_table(mirror, real_trade) -> None:
    rule = synth_robustness.load_donor_exclusions()
    for flow in synth.FLOWS:
        out = synth_robustness.robustness(real_trade, flow, synth.FTA_PARTNERS, rule)
        ruled = out["pools"]["donor_rule"]
        assert "2360" not in ruled["weights"] and "5820" not in ruled["weights"]  # Bahamas, HK
        assert {e["code"] for e in ruled["excluded"]} >= {2360}
        lo, hi = out["p_range"]
        assert 0.1 < lo <= hi < 0.9  # Korea is not distinguishable under any filter
