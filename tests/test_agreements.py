"""Every agreement evaluated the same way (analysis.models.agreements): the verdict rules, each
agreement's windows, and a planted effect on a synthetic panel flagged by the page's own rules."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analysis import external
from analysis.models import agreements as ag
from analysis.models import fta

A, B, N = ag.ABOVE, ag.BELOW, ag.NEITHER


def _r(es, sc, tr):
    return {"event_study": es, "synthetic_control": sc, "trend": tr}


@pytest.mark.parametrize(
    ("readings", "expected"),
    [
        (_r(None, None, A), "too_little_pre_period"),
        (_r(A, None, None), "too_little_pre_period"),
        (_r(A, A, A), "above_both"),
        (_r(A, None, A), "above_both"),
        (_r(B, B, B), "below_both"),
        (_r(A, A, N), "above_comparable"),
        (_r(A, A, None), "above_comparable"),
        (_r(N, N, A), "above_own_trend"),
        (_r(N, N, N), "drift"),
        (_r(None, N, N), "drift"),
        (_r(A, N, N), "mixed"),
        (_r(A, A, B), "mixed"),
        (_r(B, N, A), "mixed"),
    ],
)
def test_verdict_rules(readings, expected):
    assert ag.verdict(readings) == expected
    assert expected in ag.VERDICT_LABELS


def test_verdict_rejects_unknown_design():
    with pytest.raises(ValueError, match="unknown design"):
        ag.verdict({"event_study": A, "did": A})


def test_readings_thresholds():
    assert ag.es_reading([0.01, 0.5]) == A
    assert ag.es_reading([-0.5, -0.01]) == B
    assert ag.es_reading([-0.1, 0.5]) == N
    assert ag.es_reading([None, 0.5]) is None
    # the synthetic control needs both pools at p <= 0.10
    assert ag.synth_reading(0.2, 0.05, 0.1) == A
    assert ag.synth_reading(0.2, 0.05, 0.11) == N
    assert ag.synth_reading(-0.2, 0.02, 0.02) == B
    assert ag.synth_reading(None, 0.02) is None
    assert ag.trend_reading(0.1, 0.05) == A
    assert ag.trend_reading(0.1, 0.051) == N
    assert ag.trend_reading(-0.1, 0.01) == B


def _agreement(code: int) -> external.Agreement:
    return next(a for a in external.load_agreements() if a.partner_code == code)


def test_synth_windows_follow_each_agreements_dates():
    korea = ag.synth_window(_agreement(5800), 1985, 2023)
    assert korea == ag.SynthWindow(2000, 2012, 2018, 2008)  # Korea's evaluation page
    mexico = ag.synth_window(_agreement(2010), 1985, 2023)
    assert mexico == ag.SynthWindow(1985, 1994, 2004, 1990)  # 9 pre years, event year 10
    panama = ag.synth_window(_agreement(2250), 1985, 2023)  # in force 2012-10-31: 2013
    assert panama == ag.SynthWindow(2001, 2013, 2023, 2009)
    for code in (5081, 1220):  # Israel 1985, Canada 1989
        reason = ag.synth_window(_agreement(code), 1985, 2023)
        assert isinstance(reason, str) and reason.startswith("too little pre-period")


# ---------------------------------------------------------------- planted effect, end to end

EFFECT_CODE, NULL_CODE = 8001, 8002
IN_FORCE = "2006-01-01"
EFFECT = 0.4


def _panel(seed: int = 3, n_controls: int = 40) -> pd.DataFrame:
    """Monthly trade 1988-2023: log flow = partner level + common path + partner-year shock
    (SD 0.05) + monthly noise (SD 0.05); partner 8001 gains EFFECT log points in both flows
    from its entry into force (2006-01), partner 8002 (same date) gains nothing."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("1988-01-01", "2023-12-01", freq="MS")
    years = dates.year.to_numpy()
    n_years = years.max() - years.min() + 1
    common = {f: np.cumsum(rng.normal(0.03, 0.04, n_years)) for f in ("exports", "imports")}
    codes = [*range(7001, 7001 + n_controls), EFFECT_CODE, NULL_CODE]
    frames = []
    for code in codes:
        cols = {}
        for flow in ("exports", "imports"):
            shock = rng.normal(0.0, 0.05, n_years)
            y = (
                rng.uniform(6.0, 8.0)
                + common[flow][years - years.min()]
                + shock[years - years.min()]
                + rng.normal(0.0, 0.05, len(dates))
            )
            if code == EFFECT_CODE:
                y = y + EFFECT * (dates >= pd.Timestamp(IN_FORCE))
            cols[flow] = np.exp(y)
        frames.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "partner_code": code,
                    "partner": f"Partner {code}",
                    "is_aggregate": False,
                    "exports": cols["exports"],
                    "imports": cols["imports"],
                    "balance": cols["exports"] - cols["imports"],
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["date"] = out["date"].astype("datetime64[us]")
    return out


def _fta_csv(path) -> None:
    rows = [
        "partner_code,partner,agreement,in_force,revision,revision_in_force,source",
        f"{EFFECT_CODE},Partner {EFFECT_CODE},Planted Free Trade Agreement,{IN_FORCE},,,"
        "https://ustr.gov/trade-agreements/free-trade-agreements",
        f"{NULL_CODE},Partner {NULL_CODE},Null Free Trade Agreement,{IN_FORCE},,,"
        "https://ustr.gov/trade-agreements/free-trade-agreements",
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_planted_effect_flagged_and_null_partner_not(tmp_path):
    ftas_path = tmp_path / "us_ftas.csv"
    _fta_csv(ftas_path)
    trade = _panel()
    # The report folders follow `make report`'s one rule, not a second slug: a partner whose
    # Census name is one the site uses ("Korus") gets its code appended (its evaluation page
    # must never replace KORUS's), and a partner whose report already has a folder (renamed
    # by Census) keeps it.
    trade.loc[trade["partner_code"] == NULL_CODE, "partner"] = "Korus"
    reports = tmp_path / "reports"
    (reports / "partner-renamed").mkdir(parents=True)
    (reports / "partner-renamed" / "params.json").write_text(f'{{"partner": {EFFECT_CODE}}}')
    records = ag.evaluate(
        trade, fta.load_ftas(ftas_path), {}, ftas_path, n_boot=199, reports_dir=reports
    )
    by_code = {r["partner_code"]: r for r in records}
    assert [r["partner_code"] for r in records] == [EFFECT_CODE, NULL_CODE]
    assert by_code[NULL_CODE]["slug"] == f"korus-{NULL_CODE}"
    assert by_code[EFFECT_CODE]["slug"] == "partner-renamed"
    assert by_code[EFFECT_CODE]["in_force"] == dt.date.fromisoformat(IN_FORCE).isoformat()
    for flow in ("exports", "imports"):
        planted = by_code[EFFECT_CODE]["flows"][flow]
        null = by_code[NULL_CODE]["flows"][flow]
        assert planted["readings"] == {"event_study": A, "synthetic_control": A, "trend": A}
        assert planted["verdict"] == "above_both"
        # the estimates recover the planted 0.4 log points
        assert planted["event_study"]["att"] == pytest.approx(EFFECT, abs=0.1)
        assert planted["event_study"]["partner_trends"]["att"] == pytest.approx(EFFECT, abs=0.15)
        assert planted["synthetic_control"]["gap"] == pytest.approx(EFFECT, abs=0.1)
        assert planted["trend"]["departure"] == pytest.approx(EFFECT, abs=0.1)
        assert planted["synthetic_control"]["years"] == [1994, 2006, 2016]
        assert null["verdict"] == "drift", null["readings"]
        assert abs(null["event_study"]["att"]) < 0.1


def test_pre_period_starts_with_the_partners_own_data():
    """Jordan's Census code starts in 1992: its synthetic control starts there, not in 1990
    (which would leave it with missing years and no synthetic control at all)."""
    dates = pd.date_range("1992-01-01", "2024-06-01", freq="MS")
    trade = pd.DataFrame({"date": dates.astype("datetime64[us]"), "partner_code": 5110})
    assert ag.complete_years(trade, 5110) == (1992, 2023)
    assert ag.complete_years(trade, 1) is None
    jordan = ag.synth_window(_agreement(5110), 1992, 2023)  # in force 2001-12-17: 2002
    assert jordan == ag.SynthWindow(1992, 2002, 2012, 1998)


def _doc(verdicts: dict[int, str]) -> dict:
    def flows(v: str) -> dict:
        return {
            f: {
                "verdict": v,
                "verdict_label": ag.VERDICT_LABELS[v],
                "event_study": {"att": 0.1, "ci": [-0.1, 0.3]},
            }
            for f in ("exports", "imports")
        }

    recs = [
        {"partner_code": c, "partner": f"P{c}", "short_name": "KORUS" if c == 5800 else f"A{c}"}
        | {"flows": flows(v)}
        for c, v in verdicts.items()
    ]
    return ag.document(recs, {})


def test_landing_summary_says_where_korus_stands(tmp_path):
    import json

    from analysis.report import landing

    assert landing.agreements_summary(tmp_path) is None  # no make agreements yet
    (tmp_path / "agreements.json").write_text(
        json.dumps(_doc({3010: "above_both", 5800: "drift"})), encoding="utf-8"
    )
    summary = landing.agreements_summary(tmp_path)
    assert summary["href"] == "agreements.html"
    assert "(2)" in summary["text"]
    assert "Where KORUS stands: exports: indistinguishable from drift" in summary["text"]
    (tmp_path / "agreements.json").write_text("{not json", encoding="utf-8")
    assert landing.agreements_summary(tmp_path) is None


def test_focus_sentence_ranks_korus_among_the_agreements():
    from analysis.report import agreements as page

    doc = _doc({3010: "above_both", 5800: "drift", 2250: "drift"})
    doc["agreements"][0]["flows"]["exports"]["event_study"]["att"] = 0.5
    text = page.focus_sentence(doc["agreements"])
    assert text.startswith("**Where KORUS stands.** U.S. exports: indistinguishable from drift")
    assert "2nd of 3" in text
    assert "Other agreements with the same verdict: 1 for exports, 1 for imports." in text
