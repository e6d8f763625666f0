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

from analysis.errors import AnalysisError
from analysis.fileio import write_json_atomic
from analysis.models.base import LOG_SERIES
from analysis.models.size import MC_DRAWS_FULL, MC_WIDEN, SIZE_LIMIT, meets_target
from analysis.report import fmt, theme
from analysis.report.figures import add_source, headline
from analysis.report.markup import escape_md

FLOWS: tuple[str, ...] = ("exports", "imports")
FLOW_LABELS: dict[str, str] = {
    "exports": "U.S. exports to the partner",
    "imports": "U.S. imports from the partner",
}
#: evaluation.json layout version (read by the landing page).
SCHEMA_VERSION = 1


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


def event_study_sentence(es: Mapping[str, Any], flow: str) -> str:
    """All FTAs: the average effect after entry, its interval and the pre-trend test."""
    o = es[flow]
    k = es["korus"][flow]
    pre = o.get("pre_trend_p")
    pre_text = (
        f"the leads before entry are jointly {'not ' if (pre or 0) >= 0.05 else ''}"
        f"distinguishable from zero (p = {fmt.p_value(pre)})"
    )
    korus = (
        f"KORUS's own estimate is {_pct(k['att'])} ({_interval(k['ci'])}), "
        f"{ordinal(k['rank_among_agreements'])} of {k['n_agreements']} agreements"
        + ("; its interval includes zero" if _covers_zero(k["ci"]) else "")
    )
    return (
        f"**{FLOW_LABELS[flow]}, all U.S. FTAs** ({o['n_treated']} agreements, {o['n_controls']} "
        f"partners never in an FTA): {_pct(o['att'])} on average over the years after entry "
        f"({_interval(o['att_ci'])}); {pre_text}. {korus}."
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


NOISE_LABELS: dict[str, str] = {
    "break_model": "noise fitted to the break model",
    "null_model": "noise fitted to the model without breaks",
}


def _flow_order(size: Mapping[str, Any]) -> list[str]:
    order = ("exports", "imports", "balance")
    return sorted(size, key=lambda f: (order.index(f) if f in order else len(order), str(f)))


def _pts(x: float) -> str:
    """A rate (0.056) as percent with one decimal ("5.6")."""
    return fmt.number(100 * float(x), 1)


def size_sentence(size: Mapping[str, Any] | None, stale: str = "") -> str:
    """The simulated size of the segmented-trend tests, when the models report it: per flow
    under the break model's noise, then (``by_noise``) under both noise models with the Monte
    Carlo standard error and the power. ``stale``: why the record was refused."""
    if stale:
        return (
            "The size record of the segmented-trend tests (benchmarks/size.json) is not shown: "
            + escape_md(stale)
            + "."
        )
    if not size:
        return (
            "The size of the segmented-trend tests was not simulated in this run "
            "(see benchmarks/results.md)."
        )
    parts = []
    flows = _flow_order(size)
    for flow in flows:
        s = size[flow]
        if isinstance(s, Mapping) and s.get("actual") is not None:
            extra = [
                f"Monte Carlo s.e. {_pts(s['actual_se'])} points"
                if s.get("actual_se") is not None
                else "",
                f"plain HAC {_pts(s['actual_hac'])} %" if s.get("actual_hac") is not None else "",
            ]
            extra = [e for e in extra if e]
            parts.append(
                f"{escape_md(flow)} {_pts(s['actual'])} %"
                + (f" ({'; '.join(extra)})" if extra else "")
            )
    if not parts:
        return "The size of the segmented-trend tests is not available."
    n = next(iter(size.values())).get("n_sim")
    draws = f"{fmt.number(n, 0)} draws" if isinstance(n, int) else "simulated draws"
    text = (
        "Segmented-trend tests at a nominal 5 %, on series simulated with each flow's fitted dynamics "
        f"and no break ({draws} per flow): actual rejection rate " + "; ".join(parts) + "."
    )
    both, missed = [], []
    for flow in flows:
        rows = size[flow].get("by_noise") if isinstance(size[flow], Mapping) else None
        if not rows:
            continue
        cells = [
            f"{_pts(r['actual'])} % (s.e. {_pts(r['actual_se'])}) with "
            + NOISE_LABELS.get(str(r["noise"]), escape_md(str(r["noise"])))
            for r in rows
        ]
        power = [f"{_pts(r['power'])} %" for r in rows if isinstance(r.get("power"), (int, float))]
        both.append(
            f"{escape_md(flow)} {' and '.join(cells)}"
            + (f", power {' and '.join(power)}" if power else "")
        )
        missed += [
            f"{escape_md(flow)} ({NOISE_LABELS.get(str(r['noise']), escape_md(str(r['noise'])))})"
            for r in rows
            if not meets_target(r)
        ]
    if both:
        target = (
            f"the target of at most {fmt.number(100 * SIZE_LIMIT, 1)} % (plus "
            f"{fmt.number(MC_WIDEN, 1)} Monte Carlo s.e. below {fmt.number(MC_DRAWS_FULL, 0)} draws)"
        )
        verdict = (
            f"its size is within {target} under both"
            if not missed
            else f"its size exceeds {target} for " + ", ".join(missed)
        )
        text += (
            " The reported test draws its noise from the residuals of the model without the "
            "tested break (the null imposed); simulated with noise fitted to the break model and "
            f"to the model without breaks, {verdict}: "
            + "; ".join(both)
            + ". Power is the share of simulated series in which the test detects a level change "
            "as large as Korea's estimate at the first break, planted into them."
        )
    return text


def _planted(flow: str, value: Any) -> str:
    """The level change planted for the power: percent for the log flows, US$ millions a month
    for the balance."""
    if fmt.num(value) is None:
        return fmt.MISSING
    if LOG_SERIES.get(str(flow), True):
        return fmt.pct(100 * math.expm1(float(value)))
    return fmt.millions(value) + " US$ M a month"


def size_table(size: Mapping[str, Any] | None) -> pd.DataFrame:
    """One row per flow and noise model (``by_noise``): actual size of the reported test with
    its Monte Carlo s.e., the earlier test (noise fitted to the full model), plain HAC, and the
    power against Korea's estimated level change at the first break (shown as planted)."""
    rows = []
    for flow in _flow_order(size or {}):
        entry = (size or {})[flow]
        for r in entry.get("by_noise") or [] if isinstance(entry, Mapping) else []:
            rows.append(
                {
                    "Flow": str(flow),
                    "Noise": NOISE_LABELS.get(str(r["noise"]), str(r["noise"])),
                    "Size, reported test (%)": _pts(r["actual"]),
                    "Monte Carlo s.e. (points)": _pts(r["actual_se"]),
                    "Earlier test (%)": _pts(r["actual_unrestricted"])
                    if r.get("actual_unrestricted") is not None
                    else fmt.MISSING,
                    "Plain HAC (%)": _pts(r["actual_hac"])
                    if r.get("actual_hac") is not None
                    else fmt.MISSING,
                    "Power (%)": _pts(r["power"]) if r.get("power") is not None else fmt.MISSING,
                    "Planted level change": _planted(flow, r.get("planted")),
                    "Draws": fmt.number(int(r["n_sim"]), 0),
                }
            )
    return pd.DataFrame(rows)


def summary_lines(es: Mapping[str, Any], sc: Mapping[str, Any]) -> list[str]:
    """What the designs found for KORUS, each with its uncertainty, and whether they agree."""
    lines = []
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
    """Effect by year relative to entry (percent), both flows side by side."""
    out: dict[str, dict[int, str]] = {}
    for flow in FLOWS:
        for r in es[flow]["by_event_year"]:
            label = f"{FLOW_LABELS[flow].removeprefix('U.S. ')}: effect (95% CI)"
            out.setdefault(label, {})[int(r["event_year"])] = (
                f"{_pct(r['coef'])} ({_pct(r['ci_low'])} to {_pct(r['ci_high'])})"
            )
    table = pd.DataFrame(out).sort_index()
    return table.rename_axis("Years since entry").reset_index()


def agreements_table(es: Mapping[str, Any], flow: str, focus: int = 5800) -> pd.DataFrame:
    """Each agreement's own estimate (percent, placebo interval), largest first."""
    rows = sorted(
        es["by_agreement"][flow], key=lambda r: -(r["att"] if r["att"] is not None else -math.inf)
    )
    return pd.DataFrame(
        {
            "Partner": [
                r["partner"] + (" (KORUS)" if int(r["partner_code"]) == focus else "") for r in rows
            ],
            "In force": [str(r["in_force"]) for r in rows],
            "Effect after entry": [_pct(r["att"]) for r in rows],
            "95% interval": [f"{_pct(r['ci_low'])} to {_pct(r['ci_high'])}" for r in rows],
        }
    )


def weights_table(sc: Mapping[str, Any], flow: str) -> pd.DataFrame:
    """Donor weights of Korea's synthetic control (non-zero, largest first)."""
    w = sc[flow]["weights"]
    names = sc[flow].get("donor_names", {})
    items = sorted(w.items(), key=lambda kv: -kv[1])
    return pd.DataFrame(
        {"Donor": [names.get(k, k) for k, _ in items], "Weight": [f"{v:.3f}" for _, v in items]}
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
    axes[0].set_ylabel("Effect on the flow, %")
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
    return [(x, "0" if x == 0.0 else f"{round(100 * math.expm1(x)):+,d} %") for x in sorted(kept)]


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
        ax.set_yticks(y, [r["partner"] for r in rows], fontsize=8)
        ax.axvline(0, color="#555555", lw=0.8)
        ticks = pct_ticks(min(ends), max(ends), most=5)
        ax.set_xticks([t for t, _ in ticks], [label for _, label in ticks], fontsize=8)
        ax.set_title(FLOW_LABELS[flow].removeprefix("U.S. ").capitalize(), fontsize=10)
        ax.set_xlabel("Effect after entry, % (log scale; placebo interval)")
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


def size_record(
    size_path: Path, trade: pd.DataFrame | None = None, root: Path | None = None
) -> tuple[dict[str, Any] | None, str]:
    """The size simulation of the trend tests (``benchmarks/size.json``, written by
    ``benchmarks/size_sim.py``: ``{flow: {nominal, actual, actual_hac, n_sim, method, by_noise,
    ...}, stamp}``) and why it was refused ("" when it was not). ``(None, "")`` when the file
    is missing or unreadable; ``(None, reason)`` when its stamp does not match the code under
    ``root`` (default the repository root) or, given the cleaned ``trade`` table, the series of
    the stamp's partner (:func:`analysis.models.size.stamp_problem`)."""
    import json

    from analysis import config
    from analysis.clean.series import partner_monthly, resolve_partner
    from analysis.models.size import stamp_problem

    try:
        doc = json.loads(Path(size_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, ""
    if not isinstance(doc, Mapping):
        return None, ""
    monthly = None
    stamp = doc.get("stamp")
    if trade is not None and isinstance(stamp, Mapping):
        try:
            who = resolve_partner(trade, str(stamp.get("partner")))
            monthly = partner_monthly(trade, who.code, str(stamp.get("start")), "")
        except (AnalysisError, KeyError, ValueError):  # a partner or window no longer in the data
            return None, "the series it was simulated on are not in the data"
    problem = stamp_problem(doc, config.ROOT if root is None else Path(root), monthly)
    if problem:
        return None, problem
    keep = (
        "nominal",
        "actual",
        "actual_se",
        "actual_hac",
        "actual_boot",
        "n_sim",
        "n_boot",
        "method",
        "by_noise",
    )
    block = {
        flow: {k: v[k] for k in keep if k in v}
        for flow, v in doc.items()
        if isinstance(v, Mapping) and "actual" in v
    }
    return block or None, ""


def size_block(
    size_path: Path, trade: pd.DataFrame | None = None, root: Path | None = None
) -> dict[str, Any] | None:
    """The size record of :func:`size_record`, or None when it is missing, unreadable or
    stale."""
    return size_record(size_path, trade, root)[0]


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
