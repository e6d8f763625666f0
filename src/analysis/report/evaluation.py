"""The evaluation page: what each design found for KORUS, in words, tables and figures.

Three designs answer different questions and are reported side by side, each with its
uncertainty: the event study of every U.S. FTA (is an agreement followed by more trade, and
where does KORUS sit among them?), the synthetic control for Korea (did Korea's trade depart
from a weighted mix of partners without an FTA?) and the segmented trends of notebook 02 (did
Korea's own series change trend at the break, and are those tests of honest size?). The
sentences claim no more than the designs identify: the headline says when they disagree and
when pre-trends weaken a reading.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.fileio import write_json_atomic
from analysis.report import fmt, theme
from analysis.report.figures import add_source, headline
from analysis.report.size_page import (  # noqa: F401 - the page's size section, re-exported
    NOISE_LABELS,
    size_block,
    size_record,
    size_sentence,
    size_table,
)
from analysis.report.synth_page import (  # noqa: F401 - the synthetic control's robustness
    DISTINGUISHABLE_P,
    FILTER_LABELS,
    conformal_table,
    donor_rule_sentence,
    leave_one_out_table,
    robustness_sentence,
    robustness_table,
)
from analysis.vocab import EVALUATION_SCHEMA_VERSION, FLOWS, display_name

FLOW_LABELS: dict[str, str] = {
    "exports": "U.S. exports to the partner",
    "imports": "U.S. imports from the partner",
}
#: evaluation.json layout version (read by the landing page).
SCHEMA_VERSION = EVALUATION_SCHEMA_VERSION


def log_pct(x: float | None) -> float | None:
    """A log-point effect as a percent change: ``100·(exp(x) − 1)``."""
    return None if x is None or not math.isfinite(x) else 100.0 * math.expm1(x)


def _pct(x: float | None) -> str:
    return fmt.pct(log_pct(x))


def _interval(ci: Any) -> str:
    if not isinstance(ci, list | tuple) or len(ci) != 2:
        return fmt.NA
    return f"{_pct(ci[0])} to {_pct(ci[1])}"


def ordinal(n: int) -> str:
    """``1 -> "1st"``, ``12 -> "12th"``, ``22 -> "22nd"``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _covers_zero(ci: Any) -> bool:
    return isinstance(ci, list | tuple) and len(ci) == 2 and None not in ci and ci[0] <= 0 <= ci[1]


# ---- sentences -----------------------------------------------------------------------------


SPEC_LABELS: dict[str, str] = {
    "baseline": "Baseline: imputation, partner and year effects",
    "partner_trends": "With partner-specific linear trends",
    "size_floor": "Partners trading at least US$ 50 million a year before entry",
    "ppml": "Levels: Poisson (PPML), extended two-way fixed effects",
    "callaway_santanna": "Callaway–Sant'Anna, never-treated controls",
}


def _spec(o: Mapping[str, Any], spec: str) -> Mapping[str, Any] | None:
    return next((r for r in o.get("sensitivity") or [] if r.get("spec") == spec), None)


def _clear(att: Any, ci: Any) -> bool:
    """An estimate whose interval excludes zero."""
    return (
        att is not None and isinstance(ci, list | tuple) and not _covers_zero(ci) and None not in ci
    )


def robustness(o: Mapping[str, Any]) -> dict[str, Any]:
    """Does an outcome block's average effect survive its checks? Read from the numbers:

    ``clear``: the baseline interval excludes zero; ``trends``: the partner-trends interval
    excludes zero with the baseline's sign; ``rm_breakdown`` / ``sd_clear``: the honest-DiD
    breakdown M under relative magnitudes and whether the smoothness interval at M = 0 (the
    pre-entry trend extrapolated linearly) excludes zero; ``robust``: all of them hold, with
    the breakdown M at least 1 (post-entry violations as large as the largest pre-entry one).
    None where the block has no sensitivity results.
    """
    trend = _spec(o, "partner_trends")
    honest = o.get("honest_did") or {}
    if trend is None or not honest:
        return {"clear": _clear(o.get("att"), o.get("att_ci")), "robust": None}
    sign = 1 if (o.get("att") or 0) >= 0 else -1
    trends_ok = _clear(trend["att"], trend["att_ci"]) and sign * (trend["att"] or 0) > 0
    rm = (honest.get("relative_magnitudes") or {}).get("breakdown_M")
    sd_rows = (honest.get("smoothness") or {}).get("grid") or [{}]
    sd0 = [sd_rows[0].get("ci_low"), sd_rows[0].get("ci_high")]
    sd_clear = None not in sd0 and not _covers_zero(sd0)
    clear = _clear(o.get("att"), o.get("att_ci"))
    return {
        "clear": clear,
        "trends": trends_ok,
        "trend_row": trend,
        "rm_breakdown": rm,
        "sd_clear": sd_clear,
        "robust": clear and trends_ok and sd_clear and rm is not None and rm >= 1,
    }


def es_robustness_sentence(o: Mapping[str, Any]) -> str:
    """The average effect's robustness in plain words (partner trends, honest-DiD bounds)."""
    r = robustness(o)
    if r["robust"] is None:
        return ""
    t = r["trend_row"]
    trend_text = (
        f"with each partner's own linear trend before entry it is {_pct(t['att'])} "
        f"({_interval(t['att_ci'])}), "
        + (
            "so it is robust to partner-specific trends"
            if r["trends"]
            else "so it is not robust to partner-specific trends"
        )
    )
    rm = r["rm_breakdown"]
    rm_text = (
        "the Rambachan–Roth interval includes zero even under parallel trends"
        if rm == 0
        else "the Rambachan–Roth interval excludes zero for every M searched"
        if rm is None
        else (
            f"the Rambachan–Roth interval includes zero once the departure from parallel trends "
            f"after entry may reach {fmt.number(rm, 2)} times the largest one before entry"
        )
    )
    sd_text = (
        "and also when the pre-entry trend is simply continued (smoothness, M = 0)"
        if not r["sd_clear"]
        else "and excludes it when the pre-entry trend is simply continued (smoothness, M = 0)"
    )
    return f"{trend_text}; {rm_text} (relative magnitudes), {sd_text}"


def pre_trend_text(o: Mapping[str, Any]) -> str:
    """The joint lead test with what it can detect (its power against a linear trend)."""
    pre = o.get("pre_trend_p")
    power = o.get("pre_trend_power") or {}
    text = (
        f"the joint test of the leads before entry gives p = {fmt.p_value(pre)}"
        if (pre or 0) >= 0.05
        else f"the leads before entry are jointly distinguishable from zero (p = {fmt.p_value(pre)})"
    )
    if power.get("slope") is not None:
        text += (
            f"; that test would detect a steady pre-entry trend with "
            f"{fmt.number(100 * power['power'], 0)} % probability only if it were at least "
            f"{_pct(power['slope'])} a year"
        )
    return text


def event_study_sentence(es: Mapping[str, Any], flow: str) -> str:
    """All FTAs: the average gap after entry, its interval, its robustness and the lead test."""
    o = es[flow]
    k = es["korus"][flow]
    korus = (
        f"KORUS's own estimate is {_pct(k['att'])} ({_interval(k['ci'])}), "
        f"{ordinal(k['rank_among_agreements'])} of {k['n_agreements']} agreements"
        + ("; its interval includes zero" if _covers_zero(k["ci"]) else "")
    )
    robust = es_robustness_sentence(o)
    return (
        f"**{FLOW_LABELS[flow]}, all U.S. FTAs** ({o['n_treated']} agreements, {o['n_controls']} "
        f"partners never in an FTA): {_pct(o['att'])} against the path of partner and year "
        f"effects, on average over the years after entry ({_interval(o['att_ci'])})"
        + (f"; {robust}" if robust else "")
        + f". In the baseline, {pre_trend_text(o)}. {korus}."
    )


def synth_sentence(sc: Mapping[str, Any], flow: str) -> str:
    """Synthetic control: the gap by the last year, the placebo rank and p-value."""
    s = sc[flow]
    gaps = s.get("gap_by_year") or []
    last = gaps[-1] if gaps else {}
    ratio = s.get("rmspe_ratio")
    return (
        f"**{FLOW_LABELS[flow]}, synthetic control for Korea** ({s['n_donors']} donors without a "
        f"U.S. FTA): actual minus synthetic {fmt.number(last.get('gap_pct') or 0, 1, sign=True)}% in "
        f"{last.get('year', fmt.NA)}; Korea's post/pre RMSPE ratio "
        f"({fmt.number(ratio, 1) if ratio is not None else fmt.NA}) ranks {s['rank']} of "
        f"{s['n_donors'] + 1} (placebo p = {fmt.p_value(s['p_value'])}); a placebo break in "
        f"{str(s['placebo_in_time']['date'])[:4]} gives p = {fmt.p_value(s['placebo_in_time']['p_value'])}."
    )


def summary_lines(es: Mapping[str, Any], sc: Mapping[str, Any]) -> list[str]:
    """What the designs found: all FTAs (the average gap and whether it survives its checks),
    then KORUS by each design, with its uncertainty, and whether they agree."""
    lines = []
    for flow in FLOWS:
        o = es[flow]
        r = robustness(o)
        verdict = (
            ""
            if r["robust"] is None
            else "; it survives partner-specific trends and the honest-DiD bounds"
            if r["robust"]
            else "; " + es_robustness_sentence(o)
            if r["clear"]
            else "; its interval includes zero"
        )
        lines.append(
            f"- **{FLOW_LABELS[flow]}, all U.S. FTAs**: {_pct(o['att'])} against the path of "
            f"partner and year effects after entry ({_interval(o['att_ci'])}){verdict}; "
            f"{pre_trend_text(o)}."
        )
    for flow in FLOWS:
        k = es["korus"][flow]
        s = sc[flow]
        es_sign = "above" if (k["att"] or 0) > 0 else "below"
        es_clear = not _covers_zero(k["ci"])
        sc_clear = (s.get("p_value") or 1) < 0.1
        gaps = s.get("gap_by_year") or [{}]
        sc_sign = "above" if (gaps[-1].get("gap") or 0) > 0 else "below"
        agree = es_sign == sc_sign
        verdict = (
            "Neither design separates KORUS from the usual drift of a partner's trade"
            if not (es_clear or sc_clear)
            else "One design finds a clear departure, the other does not"
            if es_clear != sc_clear
            else "Both designs find a departure"
        )
        lines.append(
            f"- **{FLOW_LABELS[flow]}**: the event study puts Korea {es_sign} its predicted path "
            f"({_pct(k['att'])}, interval {_interval(k['ci'])}); the synthetic control puts it {sc_sign} "
            f"its synthetic by the last year (placebo p = {fmt.p_value(s['p_value'])}). {verdict}"
            + ("" if agree else "; the two point estimates have opposite signs")
            + "."
        )
    return lines


# ---- tables --------------------------------------------------------------------------------


def event_year_table(es: Mapping[str, Any]) -> pd.DataFrame:
    """Estimate by year relative to entry (percent), both flows side by side."""
    out: dict[str, dict[int, str]] = {}
    for flow in FLOWS:
        for r in es[flow]["by_event_year"]:
            label = f"{FLOW_LABELS[flow].removeprefix('U.S. ')}: estimate (95% CI)"
            out.setdefault(label, {})[int(r["event_year"])] = (
                f"{_pct(r['coef'])} ({_pct(r['ci_low'])} to {_pct(r['ci_high'])})"
            )
    table = pd.DataFrame(out).sort_index()
    return table.rename_axis("Years since entry").reset_index()


def sensitivity_table(es: Mapping[str, Any], flow: str) -> pd.DataFrame:
    """The average effect after entry under each specification (``sensitivity``), in percent."""
    rows = es[flow].get("sensitivity") or []
    return pd.DataFrame(
        {
            "Specification": [SPEC_LABELS.get(r["spec"], r["spec"]) for r in rows],
            "Average after entry": [_pct(r["att"]) for r in rows],
            "95% interval": [_interval(r["att_ci"]) for r in rows],
            "Pre-trend p": [fmt.p_value(r["pre_trend_p"]) for r in rows],
            "FTA partners": [r["n_treated"] for r in rows],
            "Controls": [r["n_controls"] for r in rows],
        }
    )


def honest_table(es: Mapping[str, Any], flow: str) -> pd.DataFrame:
    """Rambachan–Roth intervals (percent) over the grid of M of each restriction."""
    h = es[flow].get("honest_did") or {}
    rows = []
    for key, label, unit in (
        ("relative_magnitudes", "Relative magnitudes", "times the largest pre-entry violation"),
        ("smoothness", "Smoothness", "log points a year, per year"),
    ):
        for r in (h.get(key) or {}).get("grid") or []:
            rows.append(
                {
                    "Restriction": label,
                    "M": f"{fmt.number(r['M'], 2)} ({unit})",
                    "95% interval": _interval([r["ci_low"], r["ci_high"]]),
                }
            )
    return pd.DataFrame(rows, columns=["Restriction", "M", "95% interval"])


def size_floor_note(es: Mapping[str, Any]) -> str:
    """The size-floor rule (from ``size_floor.rule``) and how many controls it drops per flow."""
    parts = []
    rule = ""
    for flow in FLOWS:
        o = es[flow]
        base, floor = _spec(o, "baseline"), _spec(o, "size_floor")
        if base is None or floor is None:
            continue
        rule = (o.get("size_floor") or {}).get("rule", rule)
        parts.append(
            f"{FLOW_LABELS[flow].removeprefix('U.S. ')}: "
            f"{base['n_controls'] - floor['n_controls']} of {base['n_controls']} partners never "
            f"in an FTA and {base['n_treated'] - floor['n_treated']} of {base['n_treated']} FTA "
            "partners left out"
        )
    if not parts:
        return ""
    return f"Size floor: {rule}; " + "; ".join(parts) + "."


def honest_sentence(es: Mapping[str, Any]) -> str:
    """What the Rambachan–Roth bounds apply to, and each flow's breakdown values."""
    parts = []
    for flow in FLOWS:
        h = es[flow].get("honest_did") or {}
        if not h:
            continue
        rm = (h.get("relative_magnitudes") or {}).get("breakdown_M")
        sd = (h.get("smoothness") or {}).get("breakdown_M")
        parts.append(
            f"{FLOW_LABELS[flow].removeprefix('U.S. ')}: breakdown M "
            f"{fmt.number(rm, 2) if rm is not None else 'beyond the grid'} (relative "
            f"magnitudes), {fmt.number(sd, 3) if sd is not None else 'beyond the grid'} "
            "(smoothness)"
        )
    if not parts:
        return ""
    first, last = es[FLOWS[0]]["honest_did"]["event_years"]
    return (
        f"Rambachan–Roth bounds on the average of the estimates in event years {first} to {last} "
        f"(Callaway–Sant'Anna event study, base year {fmt.number(-1, 0)}): under "
        "relative magnitudes the departure from parallel trends between consecutive years after "
        "entry is at most M times the largest before entry (the interval: the identified set "
        "widened by the sampling error, conservative); under smoothness the departure's "
        "slope changes by at most M log points a year, each year (M = 0: the pre-entry trend "
        "continues in a straight line). The breakdown M is the smallest M whose 95 % interval "
        "includes zero. " + "; ".join(parts) + "."
    )


def agreements_table(es: Mapping[str, Any], flow: str, focus: int = 5800) -> pd.DataFrame:
    """Each agreement's own estimate (percent, placebo interval), largest first."""
    rows = sorted(
        es["by_agreement"][flow], key=lambda r: -(r["att"] if r["att"] is not None else -math.inf)
    )
    return pd.DataFrame(
        {
            "Partner": [
                display_name(r["partner"]) + (" (KORUS)" if int(r["partner_code"]) == focus else "")
                for r in rows
            ],
            "In force": [str(r["in_force"]) for r in rows],
            "Estimate after entry": [_pct(r["att"]) for r in rows],
            "95% interval": [f"{_pct(r['ci_low'])} to {_pct(r['ci_high'])}" for r in rows],
        }
    )


def weights_table(sc: Mapping[str, Any], flow: str) -> pd.DataFrame:
    """Donor weights of Korea's synthetic control (non-zero, largest first)."""
    w = sc[flow]["weights"]
    names = sc[flow].get("donor_names", {})
    items = sorted(w.items(), key=lambda kv: -kv[1])
    return pd.DataFrame(
        {
            "Donor": [names.get(k, k) for k, _ in items],
            "Weight": [fmt.decimal(v, 3) for _, v in items],
        }
    )


def floors_table(sc: Mapping[str, Any], flow: str) -> pd.DataFrame:
    """The synthetic control at each donor floor (``donor_floors``): donors, pre-period fit,
    Korea's RMSPE ratio, its placebo rank and p, and how many units the others fit exactly."""
    rows = sc[flow].get("donor_floors") or []
    return pd.DataFrame(
        {
            "Donor floor (US$ M a year)": [
                "none (every eligible country)"
                if r["min_flow"] is None
                else fmt.number(r["min_flow"], 0)
                for r in rows
            ],
            "Donors": [r["n_donors"] for r in rows],
            "Pre-period RMSPE (log points)": [
                fmt.number(r["pre_rmspe"], 3) if r["pre_rmspe"] is not None else fmt.MISSING
                for r in rows
            ],
            "Post/pre RMSPE ratio": [
                fmt.number(r["rmspe_ratio"], 1) if r["rmspe_ratio"] is not None else "infinite"
                for r in rows
            ],
            "Rank": [f"{r['rank']} of {r['n_donors'] + 1}" for r in rows],
            "Placebo p": [fmt.p_value(r["p_value"]) for r in rows],
            "Units fitted exactly": [r["exact_fits"] for r in rows],
        }
    )


def floors_sentence(sc: Mapping[str, Any]) -> str:
    """Whether Korea's placebo p-value depends on the donor floor, over both flows, and what
    happens without a floor (read from the rows, not assumed)."""
    rows = [r for flow in FLOWS for r in sc[flow].get("donor_floors") or []]
    ps = [r["p_value"] for r in rows if r.get("p_value") is not None]
    if not ps:
        return ""
    text = (
        f"Across the donor floors below, Korea's placebo p-value ranges from "
        f"{fmt.p_value(min(ps))} to {fmt.p_value(max(ps))}."
    )
    open_pool = {
        flow: r
        for flow in FLOWS
        for r in sc[flow].get("donor_floors") or []
        if r["min_flow"] is None
    }
    exact = [f"{r['exact_fits']} ({flow})" for flow, r in open_pool.items() if r["exact_fits"]]
    if exact:
        korea = any(r["rmspe_ratio"] is None for r in open_pool.values())
        text += (
            " Without a floor (every eligible country) a mix of very small partners reproduces "
            f"the pre-break path of {' and '.join(exact)} units exactly"
            + (", Korea's included" if korea else "")
            + " (pre-period RMSPE 0), so their post/pre ratio is infinite and the ranking carries "
            "little information; a floor keeps the donors comparable to Korea (Abadie 2021)."
        )
    return text


#: What each placebo filter of ``robustness.pools.<pool>.filters`` means, in words.
# ---- figures -------------------------------------------------------------------------------


def plot_event_study(es: Mapping[str, Any], *, data_through: str) -> Figure:
    """Effect by year since entry into force, both flows, with 95% intervals."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharey=True, layout="constrained")
    for ax, flow in zip(axes, FLOWS, strict=True):
        rows = es[flow]["by_event_year"]
        x = np.array([r["event_year"] for r in rows], dtype=float)
        y = np.array([log_pct(r["coef"]) for r in rows], dtype=float)
        lo = np.array([log_pct(r["ci_low"]) for r in rows], dtype=float)
        hi = np.array([log_pct(r["ci_high"]) for r in rows], dtype=float)
        ax.axhline(0, color="#555555", lw=0.8)
        ax.axvline(-0.5, color="#999999", lw=0.8, ls="--")
        ax.fill_between(x, lo, hi, color=theme.COLORS[flow], alpha=0.2)
        ax.plot(x, y, marker="o", color=theme.COLORS[flow], lw=1.5)
        ax.set_title(FLOW_LABELS[flow].removeprefix("U.S. ").capitalize(), fontsize=10)
        ax.set_xlabel("Years since entry into force")
    axes[0].set_ylabel("Against the path of partner and year effects, %")
    axes[0].yaxis.set_major_formatter(fmt.tick_formatter())
    headline(
        fig,
        "U.S. trade with FTA partners around entry into force, against partners never in "
        "an FTA (event study, 95% intervals)",
    )
    add_source(fig, data_through, extra="FTA dates: USTR (data/external/us_ftas.csv).")
    return fig


#: Percent changes offered as ticks on a log-point axis (100·(exp(x) − 1) at x = log(1 + p/100)).
_PCT_TICKS = (-90, -75, -50, -25, 0, 25, 50, 100, 200, 400, 1000, 3000, 10000)


def pct_ticks(lo: float, hi: float, most: int = 7) -> list[tuple[float, str]]:
    """Ticks for a log-point axis from ``lo`` to ``hi`` labelled in percent: ``(position,
    label)`` for percentages of :data:`_PCT_TICKS` inside the range, zero first, then the others
    from the largest change down, each kept only if it sits at least ``(hi - lo) / most`` from
    every tick kept (labels never overlap), in axis order."""
    gap = (hi - lo) / most
    kept: list[float] = []
    candidates = sorted(
        (math.log1p(p / 100) for p in _PCT_TICKS if lo <= math.log1p(p / 100) <= hi),
        key=lambda x: (x != 0.0, -abs(x)),
    )
    for x in candidates:
        if all(abs(x - k) >= gap for k in kept):
            kept.append(x)
    return [(x, fmt.tick(round(100 * math.expm1(x)), 0, " %", sign=True)) for x in sorted(kept)]


def plot_agreements(es: Mapping[str, Any], *, focus: int = 5800, data_through: str) -> Figure:
    """Each agreement's estimate with its interval, KORUS highlighted. The axis is in log
    points (a +100 % and a -50 % change are the same distance from zero), labelled in percent,
    so one agreement's very large estimate does not squeeze the others."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.6), layout="constrained")
    for ax, flow in zip(axes, FLOWS, strict=True):
        rows = sorted(
            es["by_agreement"][flow], key=lambda r: r["att"] if r["att"] is not None else -math.inf
        )
        y = np.arange(len(rows))
        ends = [0.0]
        for i, r in enumerate(rows):
            colour = theme.COLORS["deficit"] if int(r["partner_code"]) == focus else "#7a8591"
            if r["ci_low"] is not None and r["ci_high"] is not None:
                ax.plot([r["ci_low"], r["ci_high"]], [i, i], color=colour, lw=1.2)
                ends += [r["ci_low"], r["ci_high"]]
            if r["att"] is not None:
                ax.plot([r["att"]], [i], "o", color=colour, ms=4)
                ends.append(r["att"])
        ax.set_yticks(y, [display_name(r["partner"]) for r in rows], fontsize=8)
        ax.axvline(0, color="#555555", lw=0.8)
        ticks = pct_ticks(min(ends), max(ends), most=5)
        ax.set_xticks([t for t, _ in ticks], [label for _, label in ticks], fontsize=8)
        ax.set_title(FLOW_LABELS[flow].removeprefix("U.S. ").capitalize(), fontsize=10)
        ax.set_xlabel("Estimate after entry, % (log scale; placebo interval)")
    headline(fig, "Each U.S. FTA's estimate, Korea highlighted")
    add_source(fig, data_through)
    return fig


def plot_synthetic(results: Mapping[str, Any], *, data_through: str) -> Figure:
    """Korea against its synthetic control (log annual flow, demeaned over the pre-period)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), layout="constrained")
    for ax, flow in zip(axes, FLOWS, strict=True):
        fit = results[flow].fit
        ax.plot(fit.years, fit.actual, color=theme.COLORS[flow], lw=1.8, label="Korea")
        ax.plot(fit.years, fit.synthetic, color="#555555", lw=1.4, ls="--", label="Synthetic Korea")
        ax.axvline(fit.treatment_year - 0.5, color="#999999", lw=0.8, ls=":")
        ax.set_title(
            f"{FLOW_LABELS[flow].removeprefix('U.S. ').capitalize()} (placebo p = "
            f"{fmt.p_value(results[flow].p_value)})",
            fontsize=10,
        )
        ax.set_ylabel("Log of the annual flow (US$ millions)")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.legend(frameon=False, fontsize=8)
    headline(fig, "Korea against a weighted mix of partners without a U.S. FTA (synthetic control)")
    add_source(fig, data_through)
    return fig


# ---- output --------------------------------------------------------------------------------


def write_evaluation(
    path: Path,
    es: Mapping[str, Any],
    sc: Mapping[str, Any],
    size: Mapping[str, Any] | None,
    params: Mapping[str, Any],
) -> Path:
    """Write ``evaluation.json`` (atomically): event study, synthetic control, ITS size."""
    doc = {
        "schema_version": SCHEMA_VERSION,
        "params": dict(params),
        "event_study": dict(es),
        "synthetic_control": dict(sc),
        "its_size": dict(size or {}),
        "headline": summary_lines(es, sc),
    }
    write_json_atomic(path, doc)
    return path
