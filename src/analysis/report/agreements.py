"""The comparison page of every U.S. FTA (``reports/agreements.html``): table, forest plot,
verdicts, links, and where KORUS stands.

Reads the records of :func:`analysis.models.agreements.evaluate`; every number goes through
:mod:`analysis.report.fmt`, every name through Markdown escaping.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.fileio import write_json_atomic
from analysis.models import agreements as ag
from analysis.report import fmt, theme
from analysis.report.evaluation import log_pct, pct_ticks
from analysis.report.figures import add_source, headline
from analysis.report.markup import escape_md
from analysis.vocab import FLOWS, SERIES_LABELS, display_name

#: Where the comparison page and its data are, relative to ``reports/``.
PAGE: str = "agreements.html"
DATA: str = "agreements.json"
#: Korea's evaluation page (the old address, kept), relative to ``reports/``.
KOREA_EVALUATION: str = "korus/evaluation.html"
#: Census code of the partner the page places among the others (South Korea).
FOCUS: int = 5800

FLOW_TITLES: dict[str, str] = {f: SERIES_LABELS[f] for f in ("exports", "imports")}


def _pct(x: Any) -> str:
    return fmt.pct(log_pct(fmt.num(x)))


def _estimate(block: Mapping[str, Any]) -> str:
    """``"+12.3% (−4.0% to +30.1%)"`` from ``{att, ci}`` (log points), or the reason."""
    if "reason" in block:
        return fmt.MISSING
    ci = block.get("ci") or [None, None]
    return f"{_pct(block.get('att'))} ({_pct(ci[0])} to {_pct(ci[1])})"


def _synth(block: Mapping[str, Any]) -> str:
    if "reason" in block:
        return fmt.MISSING
    return (
        f"{fmt.pct(block.get('gap_pct'))} (p {fmt.p_value(block.get('p_value'))}; "
        f"rule {fmt.p_value(block.get('p_value_rule'))})"
    )


def _trend(block: Mapping[str, Any]) -> str:
    if "reason" in block:
        return fmt.MISSING
    return f"{fmt.pct(block.get('departure_pct'))} (p {fmt.p_value(block.get('p_joint'))})"


def comparison_table(records: Sequence[Mapping[str, Any]], flow: str) -> pd.DataFrame:
    """One row per agreement for ``flow``: partner, agreement, entry into force, each design's
    estimate (``–`` where a design could not be estimated) and the verdict."""
    rows = []
    for r in records:
        f = r["flows"][flow]
        e = f["event_study"]
        rows.append(
            {
                "Partner": display_name(r["partner"]),
                "Agreement": r["short_name"],
                "In force": r["in_force"][:7],
                "Event study, % (95 % interval)": _estimate(e),
                "With partner trends": _estimate(e.get("partner_trends") or {"reason": ""}),
                "Synthetic control gap, % (placebo p)": _synth(f["synthetic_control"]),
                f"Trend change at entry, % after {ag.HORIZON_MONTHS} months (calibrated p)": _trend(
                    f["trend"]
                ),
                "Verdict": f["verdict_label"],
            }
        )
    return pd.DataFrame(rows)


def reasons_lines(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Markdown bullets: each design not estimated for an agreement, with its one-line reason
    (the same reason for both flows is given once)."""
    lines = []
    for r in records:
        for design, label in (
            ("event_study", "event study"),
            ("synthetic_control", "synthetic control"),
            ("trend", "segmented trend"),
        ):
            why = {flow: r["flows"][flow][design].get("reason") for flow in FLOWS}
            if not any(why.values()):
                continue
            if why["exports"] == why["imports"]:
                text = str(why["exports"])
            else:
                text = "; ".join(f"{flow}: {w}" for flow, w in why.items() if w)
            lines.append(f"- {escape_md(display_name(r['partner']))}, {label}: {escape_md(text)}")
        for flow in FLOWS:
            pt = (r["flows"][flow]["event_study"].get("partner_trends") or {}).get("reason")
            if pt and "reason" not in r["flows"][flow]["event_study"]:
                lines.append(
                    f"- {escape_md(display_name(r['partner']))}, event study with partner "
                    f"trends ({flow}): {escape_md(pt)}"
                )
    return lines


def rules_lines() -> list[str]:
    """The design and verdict rules as Markdown bullets (the page states them)."""
    return [f"- {escape_md(t)}" for t in (*ag.DESIGN_RULES, *ag.VERDICT_RULES)]


def links_lines(
    records: Sequence[Mapping[str, Any]], reports_dir: Path, page_dir: Path | None = None
) -> list[str]:
    """Markdown bullets linking each partner's pages that exist under ``reports_dir`` (its
    agreement's evaluation, trends, sectors; Korea's full evaluation), relative to the page's
    folder ``page_dir`` (default ``reports_dir``); a partner without pages says so."""
    page_dir = page_dir or reports_dir
    lines = []
    for r in records:
        pages = []
        candidates = [
            (f"{r['slug']}/evaluation.html", "evaluation"),
            (f"{r['slug']}/trends.html", "trends"),
            (f"{r['slug']}/sectors.html", "sectors"),
        ]
        if int(r["partner_code"]) == FOCUS:
            candidates.append((KOREA_EVALUATION, f"full {r['short_name']} evaluation"))
        for rel, label in candidates:
            if (reports_dir / rel).is_file():
                href = Path(reports_dir / rel).resolve().relative_to(page_dir.resolve())
                pages.append(f"[{label}]({href.as_posix()})")
        name = escape_md(display_name(r["partner"]))
        code = fmt.code(r["partner_code"])
        shown = ", ".join(pages) if pages else f"no page yet (`make report PARTNER={code}`)"
        lines.append(f"- {name} ({code}): {shown}")
    return lines


def focus_sentence(records: Sequence[Mapping[str, Any]], focus: int = FOCUS) -> str:
    """Where the focus partner (KORUS) stands: its verdict per flow and its event-study rank."""
    rec = next((r for r in records if int(r["partner_code"]) == focus), None)
    if rec is None:
        return ""
    parts = []
    for flow in FLOWS:
        ranked = sorted(
            (r for r in records if fmt.num(r["flows"][flow]["event_study"].get("att")) is not None),
            key=lambda r: -r["flows"][flow]["event_study"]["att"],
        )
        codes = [int(r["partner_code"]) for r in ranked]
        rank = (
            f", its event-study estimate {fmt.ordinal(codes.index(focus) + 1)} of "
            f"{fmt.count(len(codes))}"
            if focus in codes
            else ""
        )
        parts.append(f"{FLOW_TITLES[flow]}: {rec['flows'][flow]['verdict_label']}{rank}")
    same = {
        flow: sum(
            1 for r in records if r["flows"][flow]["verdict"] == rec["flows"][flow]["verdict"]
        )
        - 1
        for flow in FLOWS
    }
    return (
        f"**Where {escape_md(rec['short_name'])} stands.** "
        + escape_md("; ".join(parts))
        + f". Other agreements with the same verdict: {fmt.count(same['exports'])} for exports, "
        f"{fmt.count(same['imports'])} for imports."
    )


def verdict_counts(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """How many agreements got each verdict, per flow."""
    rows = []
    for key in ag.VERDICTS:
        counts = {
            FLOW_TITLES[flow]: sum(1 for r in records if r["flows"][flow]["verdict"] == key)
            for flow in FLOWS
        }
        rows.append({"Verdict": ag.VERDICT_LABELS[key], **counts})
    return pd.DataFrame(rows)


def plot_forest(
    records: Sequence[Mapping[str, Any]], *, focus: int = FOCUS, data_through: str
) -> Figure:
    """Forest plot: each agreement's event-study estimate with its placebo interval (dots and
    bars) and the partner-trends version (open squares), by entry into force; KORUS
    highlighted. The axis is in log points, labelled in percent."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 6.2), layout="constrained", sharey=True)
    order = list(reversed(records))  # earliest agreement at the top
    labels = [display_name(r["partner"]) + f" ({r['in_force'][:4]})" for r in order]
    for ax, flow in zip(axes, FLOWS, strict=True):
        ends = [0.0]
        for i, r in enumerate(order):
            e = r["flows"][flow]["event_study"]
            colour = theme.COLORS["deficit"] if int(r["partner_code"]) == focus else "#5a6571"
            ci = e.get("ci") or [None, None]
            if fmt.num(ci[0]) is not None and fmt.num(ci[1]) is not None:
                ax.plot(ci, [i, i], color=colour, lw=1.3)
                ends += list(ci)
            if fmt.num(e.get("att")) is not None:
                ax.plot([e["att"]], [i], "o", color=colour, ms=4.5)
                ends.append(e["att"])
            pt = e.get("partner_trends") or {}
            if fmt.num(pt.get("att")) is not None:
                ax.plot([pt["att"]], [i - 0.3], "s", mfc="none", mec=colour, ms=4, mew=0.9)
                ends.append(pt["att"])
        ax.axvline(0, color="#555555", lw=0.8)
        lo, hi = min(ends), max(ends)
        ticks = pct_ticks(lo, hi, most=5)
        ax.set_xticks([t for t, _ in ticks], [label for _, label in ticks], fontsize=8)
        ax.set_yticks(np.arange(len(order)), labels, fontsize=8)
        ax.set_title(FLOW_TITLES[flow], fontsize=10)
        ax.set_xlabel("Estimate after entry, % (log scale)")
    handles = [
        axes[0].plot([], [], "o-", color="#5a6571")[0],
        axes[0].plot([], [], "s", mfc="none", mec="#5a6571")[0],
    ]
    fig.legend(
        handles,
        ["event study, 95 % placebo interval", "with partner trends"],
        loc="outside lower center",
        ncols=2,
        frameon=False,
        fontsize=8,
    )
    headline(fig, "Each U.S. FTA's effect in the event study, Korea highlighted")
    add_source(fig, data_through)
    return fig


def write_document(path: Path, doc: Mapping[str, Any]) -> Path:
    """Write ``agreements.json`` atomically (no NaN: JSON has none)."""
    clean = _no_nan(doc)
    write_json_atomic(Path(path), clean)
    return Path(path)


def _no_nan(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, Mapping):
        return {str(k): _no_nan(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_no_nan(v) for v in x]
    return x
