"""Staggered-adoption event study (analysis.models.event_study) and the FTA table (models.fta).

Synthetic panels with known truth: a planted +20 % effect is recovered, no effect gives intervals
covering zero at about the nominal rate, a planted pre-trend is detected; the FTA loader rejects
bad rows in one line; and the real Census table gives a complete, finite result.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import DataError
from analysis.models import event_study as es
from analysis.models import fta

EFFECT = math.log(1.2)  # +20 % in logs, 0.182
COHORTS = (2000, 2003, 2006, 2009)


def synthetic_panel(
    seed: int,
    effect: float = EFFECT,
    pre_slope: float = 0.0,
    n_units: int = 60,
    per_cohort: int = 4,
    years: tuple[int, int] = (1992, 2015),
) -> pd.DataFrame:
    """Staggered panel: partner and year effects, AR(1) noise, ``effect`` from entry on.

    ``per_cohort`` partners enter in each of :data:`COHORTS`; the rest never do. ``pre_slope``
    adds ``pre_slope * rel`` to treated partners before entry (a pre-trend rising into entry).
    Both outcomes share the design; imports get independent noise and no effect.
    """
    rng = np.random.default_rng(seed)
    yrs = np.arange(years[0], years[1] + 1)
    g = np.zeros(n_units, dtype=int)
    g[: per_cohort * len(COHORTS)] = np.repeat(COHORTS, per_cohort)
    year_fe = np.cumsum(rng.normal(0.03, 0.05, len(yrs)))
    rows = []
    for i in range(n_units):
        alpha = rng.normal(6.0, 1.5)
        noise = np.zeros(len(yrs))
        for t in range(len(yrs)):
            noise[t] = (0.5 * noise[t - 1] if t else 0.0) + rng.normal(0, 0.08)
        rel = yrs - g[i] if g[i] else np.full(len(yrs), -99)
        y = alpha + year_fe + noise
        if g[i]:
            y = y + effect * (rel >= 0) + pre_slope * np.minimum(rel, 0)
        imports = alpha + year_fe + rng.normal(0, 0.08, len(yrs))
        rows.append(
            pd.DataFrame(
                {
                    "partner_code": 1000 + i,
                    "year": yrs,
                    "g": g[i],
                    "exports": np.exp(y),
                    "imports": np.exp(imports),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


# -------------------------------------------------------------------------- synthetic truth


def test_planted_effect_is_recovered() -> None:
    frame = es.event_frame(synthetic_panel(seed=1), "exports")
    pooled = es.att(frame)
    assert pooled["ci_low"] <= EFFECT <= pooled["ci_high"], pooled
    assert pooled["ci_low"] > 0, pooled
    post = es.post_effects(frame)
    covered = (post["ci_low"] <= EFFECT) & (EFFECT <= post["ci_high"])
    assert len(post) == es.LAGS + 1
    assert covered.sum() >= len(post) - 1, post  # 95 % intervals: at most one miss of 11
    assert (post["ci_low"] > 0).mean() > 0.8, post


def test_no_effect_gives_no_effect_on_fixed_seed() -> None:
    frame = es.event_frame(synthetic_panel(seed=2, effect=0.0), "exports")
    pooled = es.att(frame)
    assert pooled["ci_low"] <= 0 <= pooled["ci_high"], pooled
    assert abs(pooled["att"]) < 0.06, pooled


@pytest.mark.slow
def test_null_coverage_near_nominal() -> None:
    """100 seeds without an effect: the 95 % ATT interval covers 0 in 88..99 % of them, and the
    5 % pre-trend test rejects in at most 10 of them (its size is not above nominal)."""
    hits = rejections = 0
    for seed in range(100):
        frame = es.event_frame(synthetic_panel(seed=100 + seed, effect=0.0), "exports")
        pooled = es.att(frame)
        hits += pooled["ci_low"] <= 0 <= pooled["ci_high"]
        rejections += es.pre_trends(frame)[1] < 0.05
    assert 88 <= hits <= 99, hits
    assert rejections <= 10, rejections


def test_pre_trend_is_detected() -> None:
    trending = es.event_frame(synthetic_panel(seed=3, effect=0.0, pre_slope=0.05), "exports")
    _, p_trend = es.pre_trends(trending)
    assert p_trend < 0.01, p_trend
    flat = es.event_frame(synthetic_panel(seed=3, effect=0.0), "exports")
    leads, p_flat = es.pre_trends(flat)
    assert p_flat > 0.05, p_flat
    assert list(leads["event_year"]) == [-5, -4, -3, -2, -1]


def test_agreement_effects_cover_planted_effect() -> None:
    """Each partner's placebo interval covers the planted effect at about the nominal rate."""
    covered, means = [], []
    for seed in range(4, 12):
        effects = es.agreement_effects(es.event_frame(synthetic_panel(seed=seed), "exports"))
        assert len(effects) == 16 and (effects["n_placebo"] == 44).all()
        assert ((effects["ci_low"] < effects["att"]) & (effects["att"] < effects["ci_high"])).all()
        covered.extend((effects["ci_low"] <= EFFECT) & (EFFECT <= effects["ci_high"]))
        means.append(effects["att"].mean())
    assert abs(np.mean(means) - EFFECT) < 0.02, means
    assert 0.85 <= np.mean(covered) <= 1.0, np.mean(covered)


def test_treatment_year_needs_half_a_year() -> None:
    assert es.treatment_year(pd.Timestamp("2012-03-15")) == 2012
    assert es.treatment_year(pd.Timestamp("2006-07-01")) == 2006
    assert es.treatment_year(pd.Timestamp("2006-08-01")) == 2007
    assert es.treatment_year(pd.Timestamp("2012-10-31")) == 2013


# ---------------------------------------------------------------------------- FTA table


def _write_ftas(tmp_path: Path, edit) -> Path:
    table = pd.read_csv(fta.FTA_CSV, dtype="str", keep_default_na=False)
    path = tmp_path / "bad_ftas.csv"
    edit(table).to_csv(path, index=False)
    return path


def test_fta_table_is_valid_and_matches_census_codes() -> None:
    table = fta.load_ftas()
    assert len(table) == 20
    korea = table[table["partner_code"] == 5800].iloc[0]
    assert korea["in_force"] == pd.Timestamp("2012-03-15")
    assert korea["revision_in_force"] == "2019-01-01"
    assert 5081 in set(table["partner_code"]) and 5080 not in set(table["partner_code"])


@pytest.mark.integration
def test_fta_partners_are_census_countries_with_trade(real_processed: Path) -> None:
    """Every code of the FTA table is a Census country with trade, under its Census name (the
    partner table cleaned from the mirror, not the checkout's data/processed)."""
    known = pd.read_csv(real_processed / "partners.csv").set_index("partner_code")
    for row in fta.load_ftas().itertuples(index=False):
        census = known.loc[row.partner_code]
        assert str(census["partner"]) == row.partner
        assert str(census["is_aggregate"]).lower() != "true"
        assert int(census["months_with_trade"]) > 0


def test_fta_loader_rejects_bad_date(tmp_path: Path) -> None:
    def edit(t: pd.DataFrame) -> pd.DataFrame:
        t.loc[t["partner_code"] == "5800", "in_force"] = "2012-13-15"
        return t

    path = _write_ftas(tmp_path, edit)
    with pytest.raises(DataError) as err:
        fta.load_ftas(path)
    message = str(err.value)
    assert "bad_ftas.csv" in message and "in_force" in message and "2012-13-15" in message
    assert "\n" not in message


def test_fta_loader_rejects_duplicate_code(tmp_path: Path) -> None:
    def edit(t: pd.DataFrame) -> pd.DataFrame:
        t.loc[t["partner"] == "Panama", "partner_code"] = "5800"
        return t

    path = _write_ftas(tmp_path, edit)
    with pytest.raises(DataError) as err:
        fta.load_ftas(path)
    message = str(err.value)
    assert "bad_ftas.csv" in message and "5800" in message and "more than once" in message
    assert "\n" not in message


# ------------------------------------------------------------------------------ real data


def _finite(x: object) -> bool:
    return isinstance(x, float) and math.isfinite(x)


@pytest.mark.integration
@pytest.mark.slow
def test_real_evaluation(published_evaluation: dict, real_trade: pd.DataFrame) -> None:
    """The event study on the Census table, as the full build published it."""
    ftas = fta.load_ftas()
    result = published_evaluation["event_study"]
    assert len(result["agreements"]) >= 20
    korea = [a for a in result["agreements"] if a["partner_code"] == 5800]
    assert korea and korea[0]["in_force"] == "2012-03-15"
    for outcome in es.OUTCOMES:
        block = result[outcome]
        assert _finite(block["att"]) and all(_finite(v) for v in block["att_ci"])
        assert block["att_ci"][0] < block["att"] < block["att_ci"][1]
        assert _finite(block["pre_trend_p"]) and 0 <= block["pre_trend_p"] <= 1
        assert block["n_treated"] >= 15 and block["n_controls"] >= 50
        assert [r["event_year"] for r in block["by_event_year"]] == list(range(-5, 11))
        k = result["korus"][outcome]
        assert _finite(k["att"]) and all(_finite(v) for v in k["ci"])
        assert (
            1
            <= k["rank_among_agreements"]
            <= k["n_agreements"]
            == len(result["by_agreement"][outcome])
        )
    excluded = {r["partner_code"] for r in es.excluded_partners(real_trade, ftas)}
    assert excluded == {5081, 1220}  # Israel 1985 and Canada 1989: in force before 1992
