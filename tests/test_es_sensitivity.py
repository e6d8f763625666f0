"""Robustness of the FTA event study (analysis.models.es_sensitivity) on panels with known truth.

A +20 % staggered effect is recovered by every specification; a partner-specific trend with no
effect fools the baseline (a spurious, "significant" effect) but is flagged by the
partner-trends specification (ATT near 0) and by the Rambachan-Roth bounds (the interval
includes zero from a small M on).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from analysis.models import es_sensitivity as sens
from analysis.models import event_study as es

EFFECT = math.log(1.2)
COHORTS = (2000, 2003, 2006, 2009)


def trending_panel(
    seed: int,
    effect: float = EFFECT,
    slope: float = 0.0,
    n_units: int = 60,
    per_cohort: int = 5,
    years: tuple[int, int] = (1992, 2015),
) -> pd.DataFrame:
    """Staggered panel in levels: partner and year effects, AR(1) noise, ``effect`` from entry
    on; FTA partners' log flow also rises by ``slope`` a year over the whole window (a
    partner-specific trend the year effects do not absorb). Both flows share the design.
    Every partner trades at least about US$ 100 million a year (no one is cut by the floor)."""
    rng = np.random.default_rng(seed)
    yrs = np.arange(years[0], years[1] + 1)
    g = np.zeros(n_units, dtype=int)
    g[: per_cohort * len(COHORTS)] = np.repeat(COHORTS, per_cohort)
    year_fe = np.cumsum(rng.normal(0.03, 0.05, len(yrs)))
    rows = []
    for i in range(n_units):
        flows = {}
        for flow in ("exports", "imports"):
            alpha = rng.uniform(6.0, 9.0)
            noise = np.zeros(len(yrs))
            for t in range(len(yrs)):
                noise[t] = (0.5 * noise[t - 1] if t else 0.0) + rng.normal(0, 0.06)
            y = alpha + year_fe + noise
            if g[i]:
                y = y + effect * (yrs >= g[i]) + slope * (yrs - yrs.mean())
            flows[flow] = np.exp(y)
        rows.append(pd.DataFrame({"partner_code": 1000 + i, "year": yrs, "g": g[i], **flows}))
    return pd.concat(rows, ignore_index=True)


def _specs(panel: pd.DataFrame) -> dict[str, dict]:
    out = sens.sensitivity(panel, panel, "exports")
    return {r["spec"]: r for r in out["sensitivity"]} | {"_honest": out["honest_did"]}


@pytest.mark.slow  # five estimators on a planted panel (~10 s): `make test`, not `make test-fast`
def test_planted_effect_recovered_by_every_spec() -> None:
    rows = _specs(trending_panel(seed=11))
    assert set(rows) - {"_honest"} == set(sens.SPECS)
    for spec in sens.SPECS:
        r = rows[spec]
        lo, hi = r["att_ci"]
        assert abs(r["att"] - EFFECT) < 0.05, (spec, r)
        assert lo <= EFFECT <= hi and lo > 0, (spec, r)
        assert r["n_treated"] == 20 and r["n_controls"] == 40, (spec, r)
    honest = rows["_honest"]["relative_magnitudes"]
    assert honest["grid"][0]["ci_low"] > 0  # M = 0: parallel trends, the effect is clear
    assert honest["breakdown_M"] is None or honest["breakdown_M"] > 1, honest


def test_planted_partner_trend_is_flagged() -> None:
    """No effect, FTA partners' flows rising 3 % a year: the baseline reports a clear positive
    effect; partner trends bring it back to about zero; the honest-DiD intervals include zero
    under smoothness at M = 0 and break down at a small M under relative magnitudes."""
    rows = _specs(trending_panel(seed=12, effect=0.0, slope=0.03))
    base = rows["baseline"]
    assert base["att"] > 0.15 and base["att_ci"][0] > 0, base
    trend = rows["partner_trends"]
    assert abs(trend["att"]) < 0.03, trend
    assert trend["att_ci"][0] <= 0 <= trend["att_ci"][1], trend
    honest = rows["_honest"]
    smooth = honest["smoothness"]["grid"][0]
    assert smooth["M"] == 0 and smooth["ci_low"] <= 0 <= smooth["ci_high"], smooth
    assert honest["smoothness"]["breakdown_M"] == 0
    assert honest["relative_magnitudes"]["breakdown_M"] < 1, honest


def test_imputation_matches_pyfixest_did2s() -> None:
    """The numpy two-stage estimator (no trends) equals the published baseline (pyfixest's
    did2s: same ATT and the same clustered GMM standard error)."""
    frame = es.event_frame(trending_panel(seed=15), "exports")
    ours = sens.imputation_att(frame)
    theirs = es.att(frame)
    assert ours["att"] == pytest.approx(theirs["att"], abs=1e-6)
    assert ours["se"] == pytest.approx(theirs["se"], rel=1e-4)


def test_ppml_equals_the_full_extended_twfe_poisson() -> None:
    """Poisson imputation (:func:`att_ppml`) against the regression it replaces: pyfixest's
    fepois with a dummy per treated cohort-by-year cell, leads, partner and year effects, the
    ATT a delta-method average of the cells. Same ATT; the same standard error once pyfixest's
    extra factor (N - 1)/(N - k) is applied (k: cells, leads and year effects; the partner
    effects are nested in the clusters)."""
    panel = trending_panel(seed=16)
    panel.loc[panel.index[::37], "exports"] = 0.0  # zero years are kept
    ours = sens.att_ppml(panel, "exports")
    df = panel.rename(columns={"exports": "v"})
    rel = np.where(df["g"] > 0, df["year"] - df["g"], np.nan)
    df = df[~(rel > es.LAGS)].reset_index(drop=True)
    rel = np.where(df["g"] > 0, df["year"] - df["g"], np.nan)
    cells = {
        f"c{g}_{t}": ((df["g"] == g) & (df["year"] == t)).to_numpy(dtype=float)
        for g, t in df.loc[rel >= 0, ["g", "year"]].drop_duplicates().itertuples(index=False)
    }
    leads = {f"l{k}": (rel == -k).astype(float) for k in range(1, es.LEADS + 1)}
    data = pd.concat([df, pd.DataFrame(cells | leads)], axis=1)
    with es._quiet():
        fit = pf.fepois(
            "v ~ " + " + ".join([*cells, *leads]) + " | partner_code + year",
            data=data,
            vcov={"CRV1": "partner_code"},
        )
    index = list(fit.coef().index)
    w = np.zeros(len(index))
    for name, col in cells.items():
        w[index.index(name)] = col.sum()
    w /= w.sum()
    assert ours["att"] == pytest.approx(float(w @ fit.coef().to_numpy()), abs=1e-5)
    se = math.sqrt(w @ np.asarray(fit._vcov) @ w)
    n, k = len(data), len(cells) + len(leads) + data["year"].nunique() - 1
    assert ours["se"] * math.sqrt((n - 1) / (n - k)) == pytest.approx(se, rel=1e-3)


def test_size_floor_drops_small_partners() -> None:
    panel = trending_panel(seed=13)
    small = panel["partner_code"].isin([1000, 1059])
    panel.loc[small & (panel["year"] == 1995), "exports"] = 10.0  # one pre-entry year < 50
    panel.loc[(panel["partner_code"] == 1001) & (panel["year"] == 2014), "exports"] = 10.0
    kept = set(sens.size_floor_panel(panel, "exports")["partner_code"])
    assert 1000 not in kept and 1059 not in kept  # a treated and a control partner cut
    assert 1001 in kept  # a post-entry year below the floor does not count


def test_callaway_santanna_matches_hand_computation() -> None:
    """Two cohorts, two controls, no noise: ATT(g, t) are exact long differences."""
    years = np.arange(2000, 2006)
    rows = []
    for code, g, bump in ((1, 2003, 0.2), (2, 2004, 0.4), (3, 0, 0.0), (4, 0, 0.0)):
        y = 5.0 + 0.1 * (years - 2000) + code * 0.01 * (years - 2000) ** 2 * (g == 0)
        y = y + bump * (years >= g) * (g > 0)
        rows.append(
            pd.DataFrame({"partner_code": code, "year": years, "g": g, "exports": np.exp(y)})
        )
    panel = pd.concat(rows, ignore_index=True)
    frame = es.event_frame(panel, "exports", leads=2, lags=2)
    cs = sens.callaway_santanna(frame, leads=2, lags=2)
    ctrl = lambda t, b: np.mean([0.01 * c * ((t - 2000) ** 2 - (b - 2000) ** 2) for c in (3, 4)])  # noqa: E731
    e0 = np.mean([0.2 - ctrl(2003, 2002), 0.4 - ctrl(2004, 2003)])
    got = cs["event"].set_index("event_year")["coef"]
    assert got[0] == pytest.approx(e0)
    assert got[2] == pytest.approx(0.2 - ctrl(2005, 2002))  # only cohort 2003 reaches +2
    # ATT: every treated partner-year 0..2 equally (cohort 2003: 3 years, 2004: 2 years)
    cells = [0.2 - ctrl(t, 2002) for t in (2003, 2004, 2005)] + [
        0.4 - ctrl(t, 2003) for t in (2004, 2005)
    ]
    assert cs["att"] == pytest.approx(np.mean(cells))


def test_callaway_santanna_single_partner_cohorts_have_variance() -> None:
    """Cohorts of one partner each (as Mexico, Jordan or Panama) and controls on a common path:
    the effects differ by partner, so the ATT is uncertain; the cohort-mean influence function
    would report a standard error of zero."""
    years = np.arange(2000, 2010)
    rows = []
    for code, g, bump in ((1, 2003, 0.1), (2, 2004, 0.5), (3, 2005, -0.2), (4, 2006, 0.3)):
        y = 5.0 + 0.1 * (years - 2000) + bump * (years >= g)
        rows.append(
            pd.DataFrame({"partner_code": code, "year": years, "g": g, "exports": np.exp(y)})
        )
    for code in range(5, 15):
        y = 4.0 + 0.1 * (years - 2000)
        rows.append(
            pd.DataFrame({"partner_code": code, "year": years, "g": 0, "exports": np.exp(y)})
        )
    frame = es.event_frame(pd.concat(rows, ignore_index=True), "exports", leads=2, lags=3)
    cs = sens.callaway_santanna(frame, leads=2, lags=3)
    assert cs["att"] == pytest.approx((0.1 * 4 + 0.5 * 4 - 0.2 * 4 + 0.3 * 4) / 16)
    assert cs["se"] > 0.1, cs["se"]
    assert cs["ci_low"] < 0.1 < cs["ci_high"]


def test_pre_trend_power_grows_with_treated_partners() -> None:
    few = sens.pre_trend_power(es.event_frame(trending_panel(seed=14, per_cohort=2), "exports"))
    many = sens.pre_trend_power(es.event_frame(trending_panel(seed=14, per_cohort=8), "exports"))
    assert 0 < many["slope"] < few["slope"] < 0.2, (few, many)


@pytest.mark.integration
@pytest.mark.slow
def test_real_sensitivity(published_evaluation: dict) -> None:
    """On the Census table (the full build's published evaluation): every spec for both flows,
    finite, the baseline row equal to the published block; intervals contain their estimates;
    the Rambachan-Roth grids are ordered (wider with M) and the power slope is positive."""
    result = published_evaluation["event_study"]
    for outcome in es.OUTCOMES:
        block = result[outcome]
        rows = {r["spec"]: r for r in block["sensitivity"]}
        assert list(rows) == list(sens.SPECS)
        assert rows["baseline"]["att"] == block["att"]
        for r in rows.values():
            lo, hi = r["att_ci"]
            assert lo < r["att"] < hi and 0 <= r["pre_trend_p"] <= 1, r
            assert r["n_treated"] >= 15 and r["n_controls"] >= 50, r
        for key in ("relative_magnitudes", "smoothness"):
            grid = block["honest_did"][key]["grid"]
            widths = [g["ci_high"] - g["ci_low"] for g in grid]
            assert widths == sorted(widths), grid
        assert block["pre_trend_power"]["slope"] > 0
