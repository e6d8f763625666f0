"""Every U.S. FTA evaluated the same way as KORUS, and a verdict for each by fixed rules.

For each agreement of ``data/external/us_ftas.csv`` and each flow (U.S. exports to, imports
from the partner), three designs, each the one Korea's pages use, at the agreement's own dates:

* **Event study** (:mod:`analysis.models.event_study`): the partner's own cohort among all
  agreements, its average imputed effect over event years 0..10 with the studentised placebo
  interval; and the same with a linear trend for every partner in the first stage
  (:func:`trend_effects`, the ``partner_trends`` row of :mod:`analysis.models.es_sensitivity`,
  per agreement; placebos refitted exactly, each never-treated partner treated in turn).
* **Synthetic control** (:func:`analysis.models.synth.run_flow`): treated = the partner; first
  treated year by the event study's half-year rule; pre-period up to :data:`SYNTH_PRE_YEARS`
  years from the partner's own data (at least :data:`MIN_SYNTH_PRE_YEARS`); post-period to the
  year before the first revision, at most event year 10 and the last complete year; placebo in
  time :data:`PLACEBO_LEAD` years before entry (Korea: 2008 for 2012); donors without an FTA in
  force by the end of the window, with and without the donor rule of
  ``data/external/donor_exclusions.csv``.
* **Segmented trend** (:func:`analysis.models.its.fit_its`): the monthly log flow over the
  partner's default window with its default breaks (:func:`analysis.params.default_window`,
  the same as its trends page without parameters), the HAC tests calibrated by the
  bias-corrected AR bootstrap (999 replications).

:func:`verdict` turns the three into words by the rules of :data:`VERDICT_RULES`. A design
that cannot be estimated (too little pre-period, missing months, no donors) gives a one-line
reason instead of numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import external
from analysis import params as run_params
from analysis.clean.series import partner_monthly
from analysis.clean.table import partner_table
from analysis.errors import AnalysisError, ParameterError
from analysis.models import es_sensitivity, synth
from analysis.models import event_study as es
from analysis.models.base import SEED, ModelSkipped
from analysis.models.its import fit_its
from analysis.partners import Partner, partners_from_rows, report_folder
from analysis.vocab import FLOWS, HORIZON_MONTHS

#: Layout version of ``reports/agreements.json``.
SCHEMA_VERSION: int = 1

#: Synthetic control: at most this many pre-period years (Korea: 2000..2011) ...
SYNTH_PRE_YEARS: int = 12
#: ... and at least this many (fewer: "too little pre-period" for the design).
MIN_SYNTH_PRE_YEARS: int = 6
#: The placebo in time is this many years before entry (Korea: 2008 for 2012).
PLACEBO_LEAD: int = 4
#: Partner-trends event study: untreated years in the window the partner needs before entry.
MIN_TREND_PRE_YEARS: int = 3
#: Bootstrap replications of the segmented trend's calibrated tests (as the trends pages).
N_BOOT: int = 999

#: Significance thresholds of the verdict rules.
SYNTH_ALPHA: float = 0.10
TREND_ALPHA: float = 0.05

#: The three designs, in page order, and how a page names them.
DESIGNS: tuple[str, ...] = ("event_study", "synthetic_control", "trend")
DESIGN_LABELS: dict[str, str] = {
    "event_study": "event study",
    "synthetic_control": "synthetic control",
    "trend": "segmented trend",
}

#: A design's reading: above, below, or neither (None: not estimated).
ABOVE, BELOW, NEITHER = "above", "below", "neither"

#: The verdicts (machine labels) in the order the rules are tried, and what a reader sees.
VERDICTS: tuple[str, ...] = (
    "too_little_pre_period",
    "above_both",
    "below_both",
    "above_comparable",
    "above_own_trend",
    "drift",
    "mixed",
)
VERDICT_LABELS: dict[str, str] = {
    "too_little_pre_period": "too little pre-period",
    "above_both": "above its own trend and above comparable partners",
    "below_both": "below its own trend and below comparable partners",
    "above_comparable": "above comparable partners, not its own trend",
    "above_own_trend": "above its own trend, not comparable partners",
    "drift": "indistinguishable from drift",
    "mixed": "mixed: the designs disagree",
}

#: The rules, stated on the page and in ``agreements.json`` (each flow separately).
DESIGN_RULES: tuple[str, ...] = (
    "Event study: above when the agreement's 95 % placebo interval lies above zero, below when "
    "it lies below zero (the baseline estimate; the partner-trends version is shown beside it "
    "and does not enter the verdict).",
    f"Synthetic control: above when the average post-period gap is positive and the placebo "
    f"p-value is at most {SYNTH_ALPHA:g} both without and with the donor rule; below likewise "
    f"with a negative gap.",
    f"Segmented trend: above when the joint test of the level and slope change at entry has a "
    f"calibrated p-value of at most {TREND_ALPHA:g} and the new path is above the old one "
    f"{HORIZON_MONTHS} months after entry; below likewise when it is under it.",
    "Any other estimate reads neither; a design that cannot be estimated does not count.",
)
VERDICT_RULES: tuple[str, ...] = (
    "too little pre-period: fewer than two of the three designs can be estimated.",
    "above its own trend and above comparable partners: the segmented trend reads above, and "
    "the event study and the synthetic control read above wherever estimated.",
    "below its own trend and below comparable partners: the same with below.",
    "above comparable partners, not its own trend: the event study and the synthetic control "
    "read above wherever estimated (at least one), no design reads below.",
    "above its own trend, not comparable partners: the segmented trend reads above, no "
    "design reads below.",
    "indistinguishable from drift: every estimated design reads neither.",
    "mixed: anything else.",
)


# ------------------------------------------------------------------------ verdict rules


def es_reading(ci: Sequence[float | None] | None) -> str | None:
    """Event study: :data:`ABOVE` when the interval is above zero, :data:`BELOW` when below."""
    if not ci or len(ci) != 2 or ci[0] is None or ci[1] is None:
        return None
    return ABOVE if ci[0] > 0 else BELOW if ci[1] < 0 else NEITHER


def synth_reading(
    gap: float | None, p_value: float | None, p_rule: float | None = None
) -> str | None:
    """Synthetic control: the gap's sign when both placebo p-values are <= :data:`SYNTH_ALPHA`."""
    if gap is None or p_value is None:
        return None
    p = max(p_value, p_rule if p_rule is not None else p_value)
    if p > SYNTH_ALPHA or gap == 0:
        return NEITHER
    return ABOVE if gap > 0 else BELOW


def trend_reading(departure: float | None, p_calibrated: float | None) -> str | None:
    """Segmented trend: the sign of the departure when the calibrated p <= :data:`TREND_ALPHA`."""
    if departure is None or p_calibrated is None:
        return None
    if p_calibrated > TREND_ALPHA or departure == 0:
        return NEITHER
    return ABOVE if departure > 0 else BELOW


def verdict(readings: Mapping[str, str | None]) -> str:
    """The verdict (a key of :data:`VERDICT_LABELS`) of one flow from its designs' readings.

    ``readings`` maps each of :data:`DESIGNS` to :data:`ABOVE`, :data:`BELOW`, :data:`NEITHER`
    or None (not estimated); the rules of :data:`VERDICT_RULES` are tried in order.
    """
    unknown = set(readings) - set(DESIGNS)
    if unknown:
        raise ValueError(f"unknown design(s) {sorted(unknown)}; expected {DESIGNS}")
    known = {d: r for d, r in readings.items() if r is not None}
    if len(known) < 2:
        return "too_little_pre_period"
    own = known.get("trend")
    comparable = [known[d] for d in ("event_study", "synthetic_control") if d in known]
    values = list(known.values())
    if own == ABOVE and comparable and all(c == ABOVE for c in comparable):
        return "above_both"
    if own == BELOW and comparable and all(c == BELOW for c in comparable):
        return "below_both"
    if BELOW not in values and comparable and all(c == ABOVE for c in comparable):
        return "above_comparable"
    if BELOW not in values and own == ABOVE:
        return "above_own_trend"
    if all(v == NEITHER for v in values):
        return "drift"
    return "mixed"


# ------------------------------------------------------------ event study per agreement


def _trend_fit(
    x: np.ndarray, y: np.ndarray, xtx: np.ndarray, xty: np.ndarray, drop: np.ndarray
) -> np.ndarray:
    """Stage-1 coefficients with the rows ``drop`` (untreated rows) taken out of the fit."""
    a = xtx - x[drop].T @ x[drop]
    b = xty - x[drop].T @ y[drop]
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(a, b, rcond=None)[0]


def _scale(resid: np.ndarray) -> float:
    """SD of year-on-year changes of a unit's residuals (its noise scale; trend-free)."""
    return float(np.std(np.diff(resid), ddof=1)) if resid.size > 2 else math.nan


def trend_effects(
    frame: pd.DataFrame,
    level: float = es.LEVEL,
    lags: int = es.LAGS,
    min_pre: int = MIN_TREND_PRE_YEARS,
) -> pd.DataFrame:
    """Each treated partner's effect with partner-specific linear trends in the first stage.

    Stage 1 (untreated rows): partner and year effects and a linear trend per partner
    (:func:`analysis.models.es_sensitivity.imputation_att`'s design); the effect is the mean of
    ``y - y0_hat`` over the partner's treated years. Its interval is a studentised placebo
    interval as :func:`analysis.models.event_study.agreement_effects`: every never-treated
    partner with ``min_pre`` years before ``g`` is treated from ``g`` in turn, stage 1 refitted
    without its years ``g..g+lags``, its effect divided by its noise scale. Partners with fewer
    than ``min_pre`` untreated years get NaN. Returns ``partner_code, g, att, ci_low, ci_high,
    n_placebo, n_pre``.
    """
    x = es_sensitivity._design(frame, trends=True)
    y = frame["y"].to_numpy(dtype=float)
    treated = frame["treated"].to_numpy(dtype=bool)
    unit, _, units, _ = es._codes(frame)
    year = frame["year"].to_numpy()
    x0, y0 = x[~treated], y[~treated]
    xtx, xty = x0.T @ x0, x0.T @ y0
    beta = _trend_fit(x, y, xtx, xty, np.zeros(len(y), dtype=bool))
    resid = y - x @ beta
    g_of = frame.groupby("partner_code")["g"].first().reindex(units).to_numpy()
    alpha = (1 - level) / 2
    quantiles: dict[int, tuple[float, float, int]] = {}
    rows = []
    for i, code in enumerate(units):
        g = int(g_of[i])
        mine = unit == i
        if g == 0 or not (mine & treated).any():
            continue
        n_pre = int((mine & ~treated).sum())
        row = {"partner_code": int(code), "g": g, "n_pre": n_pre}
        if n_pre < min_pre:
            rows.append({**row, "att": math.nan, "ci_low": math.nan, "ci_high": math.nan})
            continue
        if g not in quantiles:
            ratios = []
            for j in np.flatnonzero(g_of == 0):
                theirs = unit == j
                fake = theirs & (year >= g) & (year <= g + lags)
                if not fake.any() or (theirs & (year < g)).sum() < min_pre:
                    continue
                b = _trend_fit(x, y, xtx, xty, fake)
                r = y - x @ b
                sd = _scale(r[theirs][np.argsort(year[theirs])])
                if sd > 0:
                    ratios.append(float(r[fake].mean()) / sd)
            quantiles[g] = (
                (float(np.quantile(ratios, alpha)), float(np.quantile(ratios, 1 - alpha)))
                + (len(ratios),)
                if len(ratios) >= 10
                else (math.nan, math.nan, len(ratios))
            )
        q_lo, q_hi, n_placebo = quantiles[g]
        att = float(resid[mine & treated].mean())
        sd = _scale(resid[mine][np.argsort(year[mine])])
        rows.append(
            {
                **row,
                "att": att,
                "ci_low": att - q_hi * sd,
                "ci_high": att - q_lo * sd,
                "n_placebo": n_placebo,
            }
        )
    cols = ["partner_code", "g", "att", "ci_low", "ci_high", "n_placebo", "n_pre"]
    return pd.DataFrame(rows).reindex(columns=cols)


def event_study_records(
    trade: pd.DataFrame,
    ftas: pd.DataFrame,
    window: tuple[int, int] = es.WINDOW,
    level: float = es.LEVEL,
) -> dict[int, dict[str, dict[str, Any]]]:
    """code -> flow -> ``{att, ci, partner_trends: {att, ci} | {reason}} | {reason}``.

    The baseline comes from :func:`analysis.models.event_study.agreement_effects` (the numbers
    of Korea's evaluation page), the partner-trends version from :func:`trend_effects`;
    partners left out of the estimation get the reason of
    :func:`analysis.models.event_study.excluded_partners`.
    """
    panel, _ = es.attach_treatment(es.annual_panel(trade, window), ftas)
    reasons = {r["partner_code"]: r["reason"] for r in es.excluded_partners(trade, ftas, window)}
    out: dict[int, dict[str, dict[str, Any]]] = {int(c): {} for c in ftas["partner_code"]}
    for flow in FLOWS:
        frame = es.event_frame(panel, flow)
        base = es.agreement_effects(frame, level).set_index("partner_code")
        trends = trend_effects(frame, level).set_index("partner_code")
        for code in out:
            if code not in base.index:
                why = reasons.get(code, f"not in the event study's panel {window[0]}..{window[1]}")
                out[code][flow] = {"reason": why}
                continue
            b = base.loc[code]
            rec: dict[str, Any] = {
                "att": es._num(b["att"]),
                "ci": [es._num(b["ci_low"]), es._num(b["ci_high"])],
            }
            t = trends.loc[code] if code in trends.index else None
            if t is None or not math.isfinite(float(t["att"])):
                n_pre = 0 if t is None else int(t["n_pre"])
                rec["partner_trends"] = {
                    "reason": f"too little pre-period: {n_pre} year(s) in the window before entry, "
                    f"a partner trend needs {MIN_TREND_PRE_YEARS}"
                }
            else:
                rec["partner_trends"] = {
                    "att": es._num(t["att"]),
                    "ci": [es._num(t["ci_low"]), es._num(t["ci_high"])],
                }
            out[code][flow] = rec
    return out


# ------------------------------------------------------- synthetic control per agreement


@dataclass(frozen=True)
class SynthWindow:
    """The synthetic control's years for one agreement."""

    pre_start: int
    treatment_year: int
    post_end: int
    time_year: int


def synth_window(
    agreement: external.Agreement, first_year: int, last_year: int
) -> SynthWindow | str:
    """The agreement's synthetic-control years, or a one-line reason why there are none.

    ``first_year`` .. ``last_year``: the partner's complete years of data
    (:func:`complete_years`). First treated year: the event
    study's rule (in force by 1 July, else the next year); pre-period the
    :data:`SYNTH_PRE_YEARS` years before it, cut at the data's first year (at least
    :data:`MIN_SYNTH_PRE_YEARS`); post-period to the year before the first revision, event year
    10 and ``last_year``, whichever comes first; placebo in time :data:`PLACEBO_LEAD` years
    before entry (at least two pre-period years before it).
    """
    g = es.treatment_year(pd.Timestamp(agreement.in_force))
    pre_start = max(first_year, g - SYNTH_PRE_YEARS)
    n_pre = g - pre_start
    if n_pre < MIN_SYNTH_PRE_YEARS:
        return (
            f"too little pre-period: {max(n_pre, 0)} year(s) of data before {g}, "
            f"the synthetic control needs {MIN_SYNTH_PRE_YEARS}"
        )
    post_end = min(g + es.LAGS, last_year)
    if agreement.revisions:
        post_end = min(post_end, min(d.year for _, d in agreement.revisions) - 1)
    if post_end < g:
        return f"no post-period year between entry ({g}) and the first revision"
    time_year = max(g - PLACEBO_LEAD, pre_start + 2)
    return SynthWindow(pre_start, g, post_end, time_year)


def synth_record(
    trade: pd.DataFrame,
    agreement: external.Agreement,
    flow: str,
    window: SynthWindow,
    rule: Mapping[int, str],
    ftas_path: str | Path = external.FTA_CSV,
) -> dict[str, Any]:
    """One flow's synthetic control: ``{gap, gap_pct, p_value, p_value_rule, time_p_value,
    pre_rmspe, n_donors, years}`` or ``{reason}``.

    ``gap``: the average post-period gap (log points), ``gap_pct`` its percent; ``p_value``
    the placebo-in-space p of :func:`analysis.models.synth.run_flow` (Korea's design),
    ``p_value_rule`` the same with the donor rule's partners (``rule``) out of the pool.
    """
    exclude = synth.fta_partners(ftas_path, f"{window.post_end}-12-31")
    args = (
        agreement.partner_code,
        window.pre_start,
        window.treatment_year,
        window.post_end,
        window.time_year,
    )
    try:
        main = synth.run_flow(trade, flow, exclude, *args)
        ruled = synth.run_flow(trade, flow, set(exclude) | set(rule), *args)
    except AnalysisError as exc:
        return {"reason": str(exc).splitlines()[0]}
    f = main.fit
    post = f.years >= f.treatment_year
    gap = float(np.mean(f.gap[post]))
    return {
        "years": [window.pre_start, window.treatment_year, window.post_end],
        "placebo_year": window.time_year,
        "gap": es._num(gap),
        "gap_pct": es._num(100.0 * math.expm1(gap), 2),
        "pre_rmspe": es._num(f.pre_rmspe),
        "n_donors": len(f.donors),
        "p_value": es._num(main.p_value),
        "p_value_rule": es._num(ruled.p_value),
        "time_p_value": es._num(main.time_p_value),
    }


# ----------------------------------------------------------- segmented trend per agreement


def trend_record(
    trade: pd.DataFrame,
    agreement: external.Agreement,
    flow: str,
    ftas_path: str | Path = external.FTA_CSV,
    n_boot: int = N_BOOT,
    seed: int = SEED,
) -> dict[str, Any]:
    """The segmented trend of one flow at the partner's default breaks: the changes at entry.

    ``{window, breaks, level_pct, slope_pct_per_year, departure, departure_pct, p_level,
    p_slope, p_joint}`` (p-values calibrated; ``departure``: level change plus
    :data:`analysis.vocab.HORIZON_MONTHS` months of slope change, log points) or ``{reason}``
    when entry into force is not among the partner's default breaks (too little data before
    it) or the model cannot be fitted.
    """
    rows = trade[trade["partner_code"] == agreement.partner_code]
    if rows.empty:
        return {"reason": "not in the trade table"}
    first = f"{rows['date'].min():%Y-%m}"
    last = f"{rows['date'].max():%Y-%m}"
    dw = run_params.default_window(
        agreement.partner_code, first=first, last=last, ftas_path=ftas_path
    )
    entry = agreement.dates()[0].month
    if entry not in dw.breaks:
        return {
            "reason": f"too little pre-period: fewer than {run_params.MIN_PRE_MONTHS} months "
            f"of data before entry ({entry})"
        }
    monthly = partner_monthly(trade, agreement.partner_code, dw.start, None)
    try:
        res = fit_its(monthly[flow].rename(flow), dw.breaks, log=True, n_boot=n_boot, seed=seed)
    except (ModelSkipped, AnalysisError) as exc:
        return {"reason": str(exc).splitlines()[0]}
    effect = next(e for e in res.effects if e.break_ == entry)
    test = next(t for t in res.tests if t.date == entry)
    p_level, p_slope = effect.pvalues("cal") or (None, None)
    departure = effect.params[0] + HORIZON_MONTHS * effect.params[1]
    return {
        "window": [dw.start, last],
        "breaks": list(dw.breaks),
        "level_pct": es._num(effect.pct_level_change, 2),
        "slope_pct_per_year": es._num(effect.pct_slope_change_per_year, 2),
        "departure": es._num(departure),
        "departure_pct": es._num(100.0 * math.expm1(departure), 2),
        "p_level": es._num(p_level),
        "p_slope": es._num(p_slope),
        "p_joint": es._num(test.p_value_calibrated),
    }


# ---------------------------------------------------------------------------- the table


def readings(flow_record: Mapping[str, Any]) -> dict[str, str | None]:
    """Each design's reading of one flow's record (:func:`evaluate` ``flows[flow]``)."""
    e = flow_record.get("event_study") or {}
    s = flow_record.get("synthetic_control") or {}
    t = flow_record.get("trend") or {}
    return {
        "event_study": es_reading(e.get("ci")),
        "synthetic_control": synth_reading(s.get("gap"), s.get("p_value"), s.get("p_value_rule")),
        "trend": trend_reading(t.get("departure"), t.get("p_joint")),
    }


def complete_years(trade: pd.DataFrame, code: int) -> tuple[int, int] | None:
    """The first and last calendar years the partner's own data cover in full (twelve
    months), or None without such a year. (Partners created in 1992, Jordan among them, start
    then, not with the table in 1985.)"""
    rows = trade.loc[trade["partner_code"] == int(code), "date"]
    months = rows.groupby(rows.dt.year).nunique()
    full = months.index[months.to_numpy() == 12]
    return (int(full.min()), int(full.max())) if len(full) else None


def partner_folder(
    code: int, partners: list[Partner], reports_dir: Path | None = None
) -> str | None:
    """The partner's report folder (:func:`analysis.partners.report_folder`, ``make report``'s
    rule), or None for a code the partner table does not hold (no page is written for it)."""
    try:
        return report_folder(code, partners, reports_dir)
    except ParameterError:
        return None


def evaluate(
    trade: pd.DataFrame,
    ftas: pd.DataFrame,
    rule: Mapping[int, str],
    ftas_path: str | Path = external.FTA_CSV,
    window: tuple[int, int] = es.WINDOW,
    n_boot: int = N_BOOT,
    partners: list[Partner] | None = None,
    reports_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """One record per agreement of ``ftas`` (in its order) with every design and the verdict.

    ``trade``: the cleaned monthly table; ``ftas``: :func:`analysis.models.fta.load_ftas` of
    ``ftas_path``; ``rule``: :func:`analysis.models.synth_robustness.load_donor_exclusions`.
    Record: ``{partner, partner_code, slug, agreement, in_force, revisions, flows: {flow:
    {event_study, synthetic_control, trend, readings, verdict, verdict_label}}}``.
    ``slug``: the partner's report folder by the one rule of ``make report``
    (:func:`partner_folder`; None for a code without data) among ``partners`` (default: the cleaning
    step's partner table of ``trade``, i.e. ``partners.csv``) and the reports already in
    ``reports_dir`` (default ``reports/``).
    """
    agreements = {a.partner_code: a for a in external.load_agreements(ftas_path)}
    if partners is None:
        partners = partners_from_rows(partner_table(trade).to_dict("records"))
    es_recs = event_study_records(trade, ftas, window)
    records = []
    for code in ftas["partner_code"].astype(int):
        a = agreements[code]
        years = complete_years(trade, code)
        sw = "no complete year of data" if years is None else synth_window(a, *years)
        flows: dict[str, Any] = {}
        for flow in FLOWS:
            rec: dict[str, Any] = {
                "event_study": es_recs[code][flow],
                "synthetic_control": (
                    {"reason": sw}
                    if isinstance(sw, str)
                    else synth_record(trade, a, flow, sw, rule, ftas_path)
                ),
                "trend": trend_record(trade, a, flow, ftas_path, n_boot),
            }
            rec["readings"] = readings(rec)
            rec["verdict"] = verdict(rec["readings"])
            rec["verdict_label"] = VERDICT_LABELS[rec["verdict"]]
            flows[flow] = rec
        records.append(
            {
                "partner": a.partner,
                "partner_code": code,
                "slug": partner_folder(code, partners, reports_dir),
                "agreement": a.agreement,
                "short_name": a.short_name,
                "in_force": a.in_force.isoformat(),
                "revisions": [{"name": n, "in_force": d.isoformat()} for n, d in a.revisions],
                "source": a.source,
                "flows": flows,
            }
        )
    return records


def document(records: list[dict[str, Any]], params: Mapping[str, Any]) -> dict[str, Any]:
    """``reports/agreements.json``: the records with the rules and the parameters."""
    return {
        "schema_version": SCHEMA_VERSION,
        "design_rules": list(DESIGN_RULES),
        "verdict_rules": list(VERDICT_RULES),
        "verdicts": dict(VERDICT_LABELS),
        "params": dict(params),
        "agreements": records,
    }
