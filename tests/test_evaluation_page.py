"""The evaluation page's words, tables and files (report/evaluation.py) on made-up results."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from analysis.report import evaluation as ev


def _es(korus_exports=(-0.04, [-0.69, 0.51]), korus_imports=(0.37, [0.10, 0.81]), pre=0.44) -> dict:
    def flow(att):
        return {
            "estimator": "imputation",
            "pre_trend_p": pre,
            "att": att,
            "att_ci": [att - 0.1, att + 0.1],
            "n_treated": 18,
            "n_controls": 97,
            "by_event_year": [
                {
                    "event_year": k,
                    "coef": 0.01 * k,
                    "ci_low": 0.01 * k - 0.1,
                    "ci_high": 0.01 * k + 0.1,
                }
                for k in range(-2, 3)
            ],
        }

    return {
        "agreements": [],
        "exports": flow(0.22),
        "imports": flow(0.39),
        "korus": {
            "exports": {
                "att": korus_exports[0],
                "ci": korus_exports[1],
                "rank_among_agreements": 14,
                "n_agreements": 18,
            },
            "imports": {
                "att": korus_imports[0],
                "ci": korus_imports[1],
                "rank_among_agreements": 10,
                "n_agreements": 18,
            },
        },
        "by_agreement": {
            f: [
                {
                    "partner_code": 5800,
                    "partner": "Korea, South",
                    "in_force": "2012-03-15",
                    "att": 0.1,
                    "ci_low": -0.2,
                    "ci_high": 0.4,
                },
                {
                    "partner_code": 5230,
                    "partner": "Oman",
                    "in_force": "2009-01-01",
                    "att": 0.8,
                    "ci_low": 0.1,
                    "ci_high": 1.5,
                },
            ]
            for f in ("exports", "imports")
        },
    }


def _sc(p_exports=0.38, p_imports=0.24, gap_exports=0.26) -> dict:
    def flow(p, gap):
        return {
            "n_donors": 54,
            "rank": 21,
            "p_value": p,
            "rmspe_ratio": 6.5,
            "weights": {"5830": 0.6, "5570": 0.4},
            "donor_names": {"5830": "Taiwan", "5570": "Malaysia"},
            "gap_by_year": [{"year": 2018, "gap": gap, "gap_pct": 100 * math.expm1(gap)}],
            "placebo_in_time": {"date": "2008-01-01", "p_value": 0.47},
            "donor_floors": [
                {
                    "min_flow": None,
                    "n_donors": 170,
                    "pre_rmspe": 0.0,
                    "rmspe_ratio": None,
                    "rank": 74,
                    "p_value": 0.43,
                    "exact_fits": 74,
                },
                {
                    "min_flow": 250.0,
                    "n_donors": 54,
                    "pre_rmspe": 0.0207,
                    "rmspe_ratio": 6.5,
                    "rank": 21,
                    "p_value": p,
                    "exact_fits": 2,
                },
            ],
        }

    return {"exports": flow(p_exports, gap_exports), "imports": flow(p_imports, 0.16)}


def test_percent_of_log_points() -> None:
    assert ev.log_pct(0.182) == pytest.approx(19.96, abs=0.01)
    assert ev.log_pct(None) is None


def test_event_study_sentence_reports_the_interval_rank_and_pre_trends() -> None:
    text = ev.event_study_sentence(_es(), "exports")
    assert "+24.6% against the path of partner and year effects" in text and "p = 0.44" in text
    assert "14th of 18 agreements; its interval includes zero" in text
    assert "not distinguishable" not in text  # a lead test without power is no reassurance


def _robust(es: dict, trend=(0.04, [-0.21, 0.30]), rm=0.05, sd0=(-0.1, 0.18), slope=0.044) -> dict:
    """``es`` with sensitivity, honest-DiD and power results on both flows."""
    for flow in ("exports", "imports"):
        o = es[flow]
        o["sensitivity"] = [
            {
                "spec": "baseline",
                "att": o["att"],
                "att_ci": o["att_ci"],
                "pre_trend_p": 0.44,
                "n_treated": 18,
                "n_controls": 97,
            },
            {
                "spec": "partner_trends",
                "att": trend[0],
                "att_ci": trend[1],
                "pre_trend_p": 0.9,
                "n_treated": 18,
                "n_controls": 97,
            },
        ]
        o["honest_did"] = {
            "input": "Callaway-Sant'Anna event study, base year -1",
            "target": "average of the effects in event years 0..10",
            "event_years": [0, 10],
            "relative_magnitudes": {
                "grid": [{"M": 0.0, "ci_low": 0.02, "ci_high": 0.26}],
                "breakdown_M": rm,
            },
            "smoothness": {
                "grid": [{"M": 0.0, "ci_low": sd0[0], "ci_high": sd0[1]}],
                "breakdown_M": 0.0 if sd0[0] <= 0 <= sd0[1] else None,
            },
        }
        o["pre_trend_power"] = {"slope": slope, "power": 0.8, "alpha": 0.05}
    return es


def test_headline_says_when_the_average_is_not_robust() -> None:
    """Audit numbers: partner trends 0.04 [-0.21, 0.30]; the summary and the sentence say the
    average is not robust, with the trend estimate, the breakdown M and the test's power."""
    es = _robust(_es())
    text = ev.event_study_sentence(es, "exports")
    assert "+4.1% (−18.9% to +35.0%), so it is not robust to partner-specific trends" in text
    assert "may reach 0.05 times the largest one before entry" in text
    assert "also when the pre-entry trend is simply continued" in text
    assert "80 % probability only if it were at least +4.5% a year" in text
    lines = ev.summary_lines(es, _sc())
    assert len(lines) == 4
    assert "all U.S. FTAs" in lines[0] and "not robust to partner-specific trends" in lines[0]
    table = ev.sensitivity_table(es, "imports")
    assert table["Average after entry"].tolist() == ["+47.7%", "+4.1%"]
    assert table["95% interval"].tolist()[1] == "−18.9% to +35.0%"
    assert ev.honest_table(es, "exports")["Restriction"].tolist() == [
        "Relative magnitudes",
        "Smoothness",
    ]
    es["exports"]["sensitivity"].append(
        {**es["exports"]["sensitivity"][0], "spec": "size_floor", "n_controls": 72, "n_treated": 18}
    )
    es["exports"]["size_floor"] = {"min_flow": 50.0, "rule": "flows of at least US$ 50 million"}
    note = ev.size_floor_note(es)
    assert note == (
        "Size floor: flows of at least US$ 50 million; exports to the partner: 25 of 97 "
        "partners never in an FTA and 0 of 18 FTA partners left out."
    )
    honest = ev.honest_sentence(es)
    assert "breakdown M 0.05 (relative magnitudes), 0.000 (smoothness)" in honest
    assert "event years 0 to 10" in honest and "base year −1" in honest
    assert "80 % probability only if it were at least +4.5% a year" in lines[0]


def test_headline_says_when_the_average_survives() -> None:
    es = _robust(_es(), trend=(0.2, [0.05, 0.35]), rm=1.4, sd0=(0.05, 0.3))
    assert ev.robustness(es["exports"])["robust"] is True
    line = ev.summary_lines(es, _sc())[0]
    assert "survives partner-specific trends and the honest-DiD bounds" in line
    # a trend estimate of the other sign is not "robust" even if clear
    flipped = _robust(_es(), trend=(-0.2, [-0.35, -0.05]), rm=1.4, sd0=(0.05, 0.3))
    assert ev.robustness(flipped["exports"])["robust"] is False


def test_ordinals() -> None:
    assert [ev.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 102)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "102nd",
    ]


def test_summary_says_when_designs_disagree_or_find_nothing() -> None:
    lines = ev.summary_lines(_es(), _sc())  # the all-FTA lines first, then KORUS by flow
    # exports: the event study puts Korea below, the synthetic control above, neither clear
    assert "Neither design separates KORUS" in lines[2] and "opposite signs" in lines[2]
    # imports: the event study's interval excludes zero, the synthetic control's p does not
    assert "One design finds a clear departure, the other does not" in lines[3]
    both = ev.summary_lines(_es(korus_imports=(0.4, [0.2, 0.6])), _sc(p_imports=0.02))
    assert "Both designs find a departure" in both[3]


def test_no_causal_wording() -> None:
    text = " ".join(ev.summary_lines(_es(), _sc())) + ev.event_study_sentence(_es(), "imports")
    for phrase in ("effect of KORUS", "caused", "no-KORUS"):
        assert phrase not in text


def test_tables_have_human_headers() -> None:
    agreements = ev.agreements_table(_es(), "exports")
    assert list(agreements.columns) == [
        "Partner",
        "In force",
        "Estimate after entry",
        "95% interval",
    ]
    assert agreements["Partner"].tolist() == ["Oman", "South Korea (KORUS)"]
    assert ev.weights_table(_sc(), "exports")["Donor"].tolist() == ["Taiwan", "Malaysia"]
    years = ev.event_year_table(_es())
    assert years.columns[0] == "Years since entry" and years.shape == (5, 3)


def _stamped(doc: dict, monthly=None) -> dict:
    """``doc`` with the stamp of this checkout's code (and of ``monthly``, if given)."""
    import pandas as pd

    from analysis import config
    from analysis.models.size import size_stamp

    monthly = (
        pd.DataFrame({"exports": [1.0], "imports": [2.0], "balance": [-1.0]})
        if monthly is None
        else monthly
    )
    return {**doc, "stamp": size_stamp(config.ROOT, monthly, "5800", "2000-01")}


def test_size_block_reads_the_simulation(tmp_path: Path) -> None:
    path = tmp_path / "size.json"
    row = {
        "nominal": 0.05,
        "actual": 0.056,
        "actual_se": 0.0021,
        "actual_hac": 0.287,
        "n_sim": 5000,
    }
    path.write_text(json.dumps(_stamped({"exports": {**row, "by_test": {}}})))
    block = ev.size_block(path)
    two = {"balance": {"actual": 0.056}, "exports": {"actual": 0.058}}
    assert ev.size_sentence(two).index("exports 5.8") < ev.size_sentence(two).index("balance 5.6")
    assert block == {"exports": row}  # by_test is left out
    text = ev.size_sentence(block)
    assert "(5,000 draws per flow)" in text
    assert "exports 5.6 % (Monte Carlo s.e. 0.2 points; plain HAC 28.7 %)" in text
    assert ev.size_block(tmp_path / "missing.json") is None


def _by_noise(actual_null: float = 0.061) -> list[dict]:
    return [
        {
            "noise": "break_model",
            "actual": 0.052,
            "actual_se": 0.0071,
            "n_sim": 500,
            "power": 0.83,
            "planted": -850.07,
            "actual_unrestricted": 0.056,
            "actual_hac": 0.26,
        },
        {
            "noise": "null_model",
            "actual": actual_null,
            "actual_se": 0.0083,
            "n_sim": 500,
            "power": 0.31,
            "planted": -850.07,
            "actual_unrestricted": 0.097,
            "actual_hac": 0.45,
        },
    ]


def test_size_under_both_noise_models_on_the_page(tmp_path: Path) -> None:
    path = tmp_path / "size.json"
    doc = {
        "balance": {
            "nominal": 0.05,
            "actual": 0.052,
            "actual_se": 0.0071,
            "n_sim": 500,
            "by_noise": _by_noise(),
        }
    }
    path.write_text(json.dumps(_stamped(doc)))
    block, stale = ev.size_record(path)
    assert stale == "" and block["balance"]["by_noise"] == _by_noise()
    text = ev.size_sentence(block)
    assert (
        "balance 5.2 % (s.e. 0.7) with noise fitted to the break model and 6.1 % (s.e. 0.8) "
        "with noise fitted to the model without breaks, power 83.0 % and 31.0 %" in text
    )
    assert (
        "its size is within the target of at most 6.5 % (plus 2.5 Monte Carlo s.e. for runs of fewer than "
        in text
    )
    # 9.0 % > 6.5 % + 2.5 x 0.83: the sentence names the miss instead
    missed = {"balance": {**block["balance"], "by_noise": _by_noise(0.09)}}
    assert (
        "exceeds the target of at most 6.5 % (plus 2.5 Monte Carlo s.e. for runs of fewer than 2 thousand draws) for "
        "balance (noise fitted to the model without breaks)" in ev.size_sentence(missed)
    )
    table = ev.size_table(block)
    assert table.shape == (2, 9)
    assert table["Planted level change"].tolist() == ["\u2212850 US$ M a month"] * 2
    assert table["Size, reported test (%)"].tolist() == ["5.2", "6.1"]
    assert table["Monte Carlo s.e. (points)"].tolist() == ["0.7", "0.8"]
    assert table["Earlier test (%)"].tolist() == ["5.6", "9.7"]
    assert table["Power (%)"].tolist() == ["83.0", "31.0"]
    assert ev.size_table(None).empty


def test_a_stale_size_record_is_refused(tmp_path: Path) -> None:

    path = tmp_path / "size.json"
    doc = {"balance": {"actual": 0.052, "n_sim": 500, "by_noise": _by_noise()}}
    path.write_text(json.dumps(doc))  # no stamp: produced by code nobody can name
    block, stale = ev.size_record(path)
    assert block is None and "no stamp" in stale
    assert ev.size_block(path) is None
    assert ev.size_sentence(block, stale).startswith("The size record of the segmented-trend tests")
    # another code: the stamp of a different repository root
    other = tmp_path / "elsewhere"
    path.write_text(json.dumps(_stamped(doc)))
    assert ev.size_record(path)[1] == ""
    assert "has changed" in ev.size_record(path, root=other)[1]
    # other data: the series of the stamp's partner differ from those it was simulated on
    from analysis.clean.series import load_trade, partner_monthly

    csv = tmp_path / "trade.csv"
    csv.write_text(
        "date,partner_code,partner,is_aggregate,exports,imports,balance\n"
        + "".join(
            f'2000-{m:02d}-01,5800,"Korea, South",False,{m}.0,{2 * m}.0,{-m}.0\n'
            for m in range(1, 13)
        )
    )
    trade = load_trade(csv)
    monthly = partner_monthly(trade, 5800, "2000-01", "")
    path.write_text(json.dumps(_stamped(doc, monthly)))
    assert ev.size_record(path, trade) == (ev.size_block(path), "")
    path.write_text(json.dumps(_stamped(doc, monthly.assign(balance=monthly["balance"] - 1))))
    block, stale = ev.size_record(path, trade)
    assert block is None and "series" in stale


def test_write_evaluation(tmp_path: Path) -> None:
    out = ev.write_evaluation(tmp_path / "evaluation.json", _es(), _sc(), None, {"focus": "5800"})
    doc = json.loads(out.read_text())
    assert doc["schema_version"] == 1
    assert set(doc) >= {"event_study", "synthetic_control", "its_size", "headline", "params"}


def test_donor_floor_table_and_sentence() -> None:
    table = ev.floors_table(_sc(), "exports")
    assert table["Donor floor (US$ M a year)"].tolist() == ["none (every eligible country)", "250"]
    assert table["Post/pre RMSPE ratio"].tolist() == ["infinite", "6.5"]
    assert table["Rank"].tolist() == ["74 of 171", "21 of 55"]
    text = ev.floors_sentence(_sc(p_exports=0.38, p_imports=0.24))
    # p over both flows and floors (0.24 to 0.43); exact fits by flow, Korea's included
    assert "from 0.24 to 0.43" in text
    assert "74 (exports) and 74 (imports) units exactly, Korea's included" in text
    no_open = {f: {**v, "donor_floors": v["donor_floors"][1:]} for f, v in _sc().items()}
    assert "exactly" not in ev.floors_sentence(no_open)
    assert ev.floors_sentence({f: {"donor_floors": []} for f in ("exports", "imports")}) == ""


def test_percent_ticks_on_a_log_point_axis() -> None:
    ticks = ev.pct_ticks(math.log(0.5), math.log(5.0))
    assert [label for _, label in ticks] == ["\u221250 %", "0", "+100 %", "+200 %", "+400 %"]
    assert ticks[0][0] == pytest.approx(math.log(0.5)) and ticks[1][0] == 0.0
    positions = [x for x, _ in ticks]
    assert min(np.diff(positions)) >= math.log(10.0) / 7
    wide = [label for _, label in ev.pct_ticks(math.log(0.05), math.log(70.0), most=6)]
    assert wide == ["\u221290 %", "0", "+400 %", "+3,000 %"]
