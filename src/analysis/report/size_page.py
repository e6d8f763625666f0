"""The size of the segmented-trend tests on the evaluation page: the simulated size record
(``benchmarks/size.json``, refused when its stamp is stale), its sentence and its table.

Split from :mod:`analysis.report.evaluation` (which re-exports these names) by concern: the
record's freshness and its wording, apart from the event study and the synthetic control.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.errors import AnalysisError
from analysis.models.base import LOG_SERIES
from analysis.models.size import MC_DRAWS_FULL, MC_WIDEN, SIZE_LIMIT, meets_target
from analysis.report import fmt
from analysis.report.markup import escape_md
from analysis.vocab import SERIES

NOISE_LABELS: dict[str, str] = {
    "break_model": "noise fitted to the break model",
    "null_model": "noise fitted to the model without breaks",
}


def _flow_order(size: Mapping[str, Any]) -> list[str]:
    order = SERIES
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
    draws = f"{fmt.count(n)} draws" if isinstance(n, int) else "simulated draws"
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
            f"{fmt.number(MC_WIDEN, 1)} Monte Carlo s.e. for runs of fewer than "
            # in words: "2,000 draws" would read as a year written with a separator
            f"{fmt.count(MC_DRAWS_FULL // 1000)} thousand draws)"
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
