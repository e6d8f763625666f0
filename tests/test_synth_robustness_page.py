"""The synthetic control's robustness on the evaluation page (analysis.report.evaluation):
tables and sentences read from ``synthetic_control.<flow>.robustness``."""

from __future__ import annotations

import pytest

from analysis.report import evaluation as ev


def _filters(ps: list[float], n: int = 54) -> list[dict]:
    keys = ["all", "exact_fits_excluded", "pre_rmspe_5x", "pre_rmspe_2x", "post_rmspe"]
    return [
        {"filter": k, "statistic": "x", "n_placebos": n, "rank": round(p * (n + 1)), "p_value": p}
        for k, p in zip(keys, ps, strict=True)
    ]


def _pool(ps, loo_ps=(0.4, 0.5), n=54, covers=True, joint=0.84) -> dict:
    low = -0.1 if covers else 0.05
    return {
        "n_donors": n,
        "weights": {"5830": 0.6, "2360": 0.4},
        "filters": _filters(list(ps), n),
        "p_range": [min(ps), max(ps)],
        "leave_one_out": [
            {"code": 5830, "weight": 0.6, "n_donors": n - 1, "gap_pct_last": 21.2,
             "mean_gap": 0.04, "rmspe_ratio": 3.7, "rank": 20, "p_value": loo_ps[0]},
            {"code": 2360, "weight": 0.4, "n_donors": n - 1, "gap_pct_last": 31.8,
             "mean_gap": 0.1, "rmspe_ratio": None, "rank": 22, "p_value": loo_ps[1]},
        ],
        "leave_one_out_range": {"gap_pct_last": [21.2, 31.8], "rmspe_ratio": [3.7, 3.7],
                                "p_value": [min(loo_ps), max(loo_ps)]},
        "conformal": {
            "method": "conformal",
            "alpha": 0.1,
            "level": 12 / 13,
            "p_no_effect": joint,
            "by_year": [
                {"year": 2012, "gap": 0.04, "ci_low": low, "ci_high": 0.3, "gap_pct": 4.5,
                 "ci_low_pct": 100 * low, "ci_high_pct": 37.5},
                {"year": 2013, "gap": 0.1, "ci_low": -0.2, "ci_high": None, "gap_pct": 10.5,
                 "ci_low_pct": -18.1, "ci_high_pct": None},
            ],
        },
    }  # fmt: skip


def _sc(ps_rule=(0.4, 0.38, 0.48, 0.73, 0.65), ps_free=(0.38, 0.36, 0.48, 0.72, 0.65), **kw):
    def flow():
        rule = _pool(ps_rule, n=47, **kw)
        rule["excluded"] = [
            {"code": 2360, "category": "micro_state"},
            {"code": 5820, "category": "entrepot"},
        ]
        return {
            "robustness": {
                "rule": "donors exclude micro-states",
                "pools": {"no_rule": _pool(ps_free, **kw), "donor_rule": rule},
                "names": {"5830": "Taiwan", "2360": "Bahamas", "5820": "Hong Kong"},
            }
        }

    return {"exports": flow(), "imports": flow()}


def test_robustness_table_puts_both_pools_side_by_side() -> None:
    table = ev.robustness_table(_sc(), "exports")
    assert list(table.columns) == [
        "Inference",
        "Without the donor rule (54 donors)",
        "With the donor rule (47 donors)",
    ]
    assert table["Inference"].iloc[0] == ev.FILTER_LABELS["all"]
    assert table.iloc[3, 1] == "p = 0.72 (rank 40 of 55)"  # the 2x cut, no rule
    assert table.iloc[3, 2] == "p = 0.73 (rank 35 of 48)"
    assert table.iloc[5, 1] == "0.40 to 0.50"  # leave-one-out p range
    assert table.iloc[6, 1] == "+21.2% to +31.8%"
    assert table.iloc[7, 2] == "p = 0.84"
    assert ev.robustness_table({"exports": {}}, "exports").empty


def test_robustness_sentence_says_the_conclusion_holds_across_filters() -> None:
    text = ev.robustness_sentence(_sc())
    assert "0.36 to 0.73" in text  # every filter and leave-one-out of both pools
    assert "holds across filters, donor pools and leave-one-out refits" in text
    assert "interval contains zero in 2 of 2 post years" in text and "agrees" in text


def test_robustness_sentence_does_not_claim_robustness_when_a_filter_breaks_it() -> None:
    text = ev.robustness_sentence(_sc(ps_rule=(0.4, 0.05, 0.48, 0.73, 0.65)))
    assert "holds across" not in text
    assert "below 0.1" in text and "depends on the filter" in text
    # a conformal interval excluding zero: no "agrees"
    text = ev.robustness_sentence(_sc(covers=False))
    assert "agrees" not in text and "contains zero in 1 of 2 post years" in text
    assert ev.robustness_sentence({"exports": {}, "imports": {}}) == ""


def test_donor_rule_sentence_names_the_donors_removed_and_their_weight() -> None:
    text = ev.donor_rule_sentence(_sc())
    assert text.startswith("**Donor-pool rule**: donors exclude micro\\-states.")
    assert "Bahamas (weight 0.400), Hong Kong" in text
    assert "0.40 with the rule and 0.38 without it" in text


def test_leave_one_out_and_conformal_tables() -> None:
    loo = ev.leave_one_out_table(_sc(), "imports")
    assert len(loo) == 4 and list(loo["Donor left out"][:2]) == ["Taiwan", "Bahamas"]
    assert loo["Post/pre RMSPE ratio"].iloc[1] == "infinite"
    conf = ev.conformal_table(_sc(), "exports")
    assert list(conf.columns) == [
        "Year",
        "Gap, without the rule",
        "92% interval, without the rule",
        "Gap, with the rule",
        "92% interval, with the rule",
    ]
    assert conf.iloc[0, 2] == "−10.0% to +37.5%"
    assert conf.iloc[1, 2] == "−18.1% to beyond the grid"


@pytest.mark.parametrize("flow", ["exports", "imports"])
def test_every_number_uses_the_unicode_minus(flow: str) -> None:
    for table in (ev.robustness_table(_sc(), flow), ev.conformal_table(_sc(), flow)):
        assert not table.astype(str).apply(lambda c: c.str.contains("-\\d", regex=True)).any().any()
