"""The synthetic control's robustness on the evaluation page: the placebo p under each filter
and donor pool, the leave-one-out refits, the conformal intervals, and the sentences that say
whether the conclusion survives them.

Split from :mod:`analysis.report.evaluation` (which re-exports these names) by concern.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from analysis.report import fmt
from analysis.report.markup import escape_md
from analysis.vocab import FLOWS

FILTER_LABELS: dict[str, str] = {
    "all": "Post/pre RMSPE ratio, every placebo (the main result)",
    "exact_fits_excluded": "Ratio, placebos fitted exactly left out",
    "pre_rmspe_5x": "Ratio, placebos with pre-period RMSPE above 5× Korea's left out",
    "pre_rmspe_2x": "Ratio, placebos with pre-period RMSPE above 2× Korea's left out",
    "post_rmspe": "Post-period RMSPE alone, every placebo",
}
#: Below this placebo p-value a gap would count as distinguishable from the placebos' (as in
#: :func:`summary_lines`).
DISTINGUISHABLE_P: float = 0.1
_POOLS: tuple[str, ...] = ("no_rule", "donor_rule")


def _rob(sc: Mapping[str, Any], flow: str) -> Mapping[str, Any] | None:
    rob = sc.get(flow, {}).get("robustness")
    return rob if isinstance(rob, Mapping) and rob.get("pools") else None


def _pool_header(rob: Mapping[str, Any], pool: str) -> str:
    n = rob["pools"][pool]["n_donors"]
    return (
        f"Without the donor rule ({n} donors)"
        if pool == "no_rule"
        else (f"With the donor rule ({n} donors)")
    )


def _p_cell(r: Mapping[str, Any]) -> str:
    return f"p = {fmt.p_value(r['p_value'])} (rank {r['rank']} of {r['n_placebos'] + 1})"


def _range(pair: Any, show: Any) -> str:
    if not isinstance(pair, list | tuple) or len(pair) != 2 or None in pair:
        return fmt.MISSING
    lo, hi = show(pair[0]), show(pair[1])
    return lo if lo == hi else f"{lo} to {hi}"


def robustness_table(sc: Mapping[str, Any], flow: str) -> pd.DataFrame:
    """Korea's placebo p-value under each filter, the leave-one-out range and the conformal
    test of no effect, without and with the donor-pool rule side by side."""
    rob = _rob(sc, flow)
    if rob is None:
        return pd.DataFrame()
    cols: dict[str, list[str]] = {"Inference": []}
    keys = [r["filter"] for r in rob["pools"]["no_rule"]["filters"]]
    cols["Inference"] = [FILTER_LABELS.get(k, escape_md(k)) for k in keys]
    cols["Inference"] += [
        "Leave-one-out over donors of weight ≥ 5 %: p",
        "Leave-one-out: gap in the last year",
        "Conformal test of no effect in any post year (all years jointly)",
    ]
    for pool in _POOLS:
        p = rob["pools"][pool]
        by = {r["filter"]: r for r in p["filters"]}
        loo = p.get("leave_one_out_range") or {}
        cols[_pool_header(rob, pool)] = [
            _p_cell(by[k]) if k in by else fmt.MISSING for k in keys
        ] + [
            _range(loo.get("p_value"), fmt.p_value),
            _range(loo.get("gap_pct_last"), fmt.pct),
            f"p = {fmt.p_value(p['conformal']['p_no_effect'])}",
        ]
    return pd.DataFrame(cols)


def leave_one_out_table(sc: Mapping[str, Any], flow: str) -> pd.DataFrame:
    """Each refit without one top donor (weight ≥ 5 %), both pools: the gap in the last year,
    Korea's RMSPE ratio and its placebo p-value."""
    rob = _rob(sc, flow)
    if rob is None:
        return pd.DataFrame()
    names = rob.get("names", {})
    rows = []
    for pool in _POOLS:
        for r in rob["pools"][pool]["leave_one_out"]:
            rows.append(
                {
                    "Donor pool": "without the rule" if pool == "no_rule" else "with the rule",
                    "Donor left out": names.get(str(r["code"]), str(r["code"])),
                    "Its weight": fmt.number(r["weight"], 3),
                    "Gap in the last year": fmt.pct(r["gap_pct_last"]),
                    "Post/pre RMSPE ratio": fmt.number(r["rmspe_ratio"], 1)
                    if r["rmspe_ratio"] is not None
                    else "infinite",
                    "Placebo p": fmt.p_value(r["p_value"]),
                }
            )
    return pd.DataFrame(rows)


def _ci_pct(r: Mapping[str, Any]) -> str:
    lo, hi = r.get("ci_low_pct"), r.get("ci_high_pct")
    return (
        f"{fmt.pct(lo) if lo is not None else 'beyond the grid'} to "
        f"{fmt.pct(hi) if hi is not None else 'beyond the grid'}"
    )


def conformal_table(sc: Mapping[str, Any], flow: str) -> pd.DataFrame:
    """Korea's gap by post year with its conformal interval, both donor pools."""
    rob = _rob(sc, flow)
    if rob is None:
        return pd.DataFrame()
    conf = rob["pools"]["no_rule"]["conformal"]
    level = fmt.number(100 * conf.get("level", 1 - conf["alpha"]), 0)
    table = None
    for pool in _POOLS:
        label = "without the rule" if pool == "no_rule" else "with the rule"
        rows = rob["pools"][pool]["conformal"]["by_year"]
        part = pd.DataFrame(
            {
                "Year": [str(r["year"]) for r in rows],
                f"Gap, {label}": [fmt.pct(r["gap_pct"]) for r in rows],
                f"{level}% interval, {label}": [_ci_pct(r) for r in rows],
            }
        )
        table = part if table is None else table.merge(part, on="Year", how="outer")
    return table


def donor_rule_sentence(sc: Mapping[str, Any]) -> str:
    """The donor-pool rule in words, the donors it removes (with the weight they had) and what
    the design gives with and without it."""
    parts = []
    rule = ""
    for flow in FLOWS:
        rob = _rob(sc, flow)
        if rob is None:
            continue
        rule = str(rob.get("rule", ""))
        names = rob.get("names", {})
        weights = rob["pools"]["no_rule"]["weights"]
        dropped = rob["pools"]["donor_rule"].get("excluded", [])
        listed = ", ".join(
            escape_md(str(names.get(str(e["code"]), e["code"])))
            + (
                f" (weight {fmt.number(weights[str(e['code'])], 3)})"
                if str(e["code"]) in weights
                else ""
            )
            for e in dropped
        )
        free = rob["pools"]["no_rule"]["filters"][0]
        ruled = rob["pools"]["donor_rule"]["filters"][0]
        parts.append(
            f"for {flow} it removes {len(dropped)} of the donors "
            f"above the floor ({listed or 'none'}); Korea's placebo p-value is "
            f"{fmt.p_value(ruled['p_value'])} with the rule and {fmt.p_value(free['p_value'])} "
            "without it"
        )
    if not parts:
        return ""
    joined = "; ".join(parts)
    return f"**Donor-pool rule**: {escape_md(rule)}. {joined[0].upper()}{joined[1:]}."


def robustness_sentence(sc: Mapping[str, Any]) -> str:
    """Whether the synthetic control's conclusion survives every filter, both donor pools, the
    leave-one-out refits and conformal inference, read from the numbers."""
    ps: dict[str, list[float]] = {}
    covers: dict[str, tuple[int, int]] = {}
    joint: dict[str, list[float]] = {}
    for flow in FLOWS:
        rob = _rob(sc, flow)
        if rob is None:
            continue
        vals = []
        zero, n = 0, 0
        for pool in _POOLS:
            p = rob["pools"][pool]
            vals += [r["p_value"] for r in p["filters"] if r["p_value"] is not None]
            vals += [r["p_value"] for r in p["leave_one_out"] if r["p_value"] is not None]
            joint.setdefault(flow, []).append(p["conformal"]["p_no_effect"])
            if pool == "no_rule":
                for r in p["conformal"]["by_year"]:
                    n += 1
                    zero += (r["ci_low"] is None or r["ci_low"] <= 0) and (
                        r["ci_high"] is None or r["ci_high"] >= 0
                    )
        ps[flow] = vals
        covers[flow] = (zero, n)
    if not ps:
        return ""
    ranges = " and ".join(
        f"from {fmt.p_value(min(v))} to {fmt.p_value(max(v))} for {f}" for f, v in ps.items() if v
    )
    low = [f for f, v in ps.items() if v and min(v) < DISTINGUISHABLE_P]
    text = (
        "Across the placebo filters, both donor pools and the leave-one-out refits, Korea's "
        f"placebo p-value ranges {ranges}. "
    )
    if low:
        text += (
            f"For {' and '.join(low)} some choices "
            f"put it below {fmt.number(DISTINGUISHABLE_P, 1)}, so whether Korea's gap is "
            "distinguishable from the placebos' depends on the filter."
        )
    else:
        text += (
            f"None is below {fmt.number(DISTINGUISHABLE_P, 1)}: the conclusion that Korea's gap is "
            "not distinguishable from the placebos' holds across filters, donor pools and "
            "leave-one-out refits."
        )
    conf = "; ".join(
        f"for {f} the interval contains zero in {z} of {n} "
        f"post years, joint p = {_range([min(joint[f]), max(joint[f])], fmt.p_value)}"
        for f, (z, n) in covers.items()
        if n
    )
    if conf:
        agree = all(z == n for z, n in covers.values()) and all(
            min(v) >= DISTINGUISHABLE_P for v in joint.values()
        )
        text += (
            " Conformal inference (intervals without the rule; joint p over both pools) "
            + ("agrees" if agree else "reads")
            + f": {conf}."
        )
    return text
