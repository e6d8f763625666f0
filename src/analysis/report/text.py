"""Sentences and display tables of a model run (effects, tests, counterfactual, diagnostics)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from analysis import external
from analysis.models.breaks import SearchResult
from analysis.models.counterfactual import Counterfactual, Gap
from analysis.models.its import BreakEffect
from analysis.models.run import ModelRun
from analysis.report.fmt import count, number, p_value
from analysis.report.markup import escape_md
from analysis.vocab import HORIZON_MONTHS, SERIES, SERIES_SUBJECTS, display_name

#: How each series is named in a sentence.
LABELS: dict[str, str] = SERIES_SUBJECTS

CAVEATS: tuple[str, ...] = (
    "A bilateral trade balance is mostly a macroeconomic quantity: it moves with saving and "
    "investment in both economies, the exchange rate, business cycles and supply chains, so a "
    "change in it is not a verdict on a trade agreement.",
    "The break months coincide with other events (the euro-area crisis and the strong dollar "
    "after 2012; Section 232 tariffs and the U.S.-China tariffs around 2018-19; the pandemic), "
    "so the estimated changes describe when the series changed course, not why.",
    "Segmented trends and counterfactual projections extrapolate pre-break behaviour; the further "
    "from the break, the more the gap reflects the extrapolation rather than the data.",
    "The p-values quoted are calibrated by a bootstrap of each model's autocorrelated "
    "residuals, because plain HAC tests reject far too often on series this persistent; the "
    "calibration is itself approximate, so treat p-values near conventional thresholds with "
    "caution.",
)

_KIND_NAMES = {"cal": "calibrated bootstrap", "boot": "bootstrap", "hac": "HAC"}


def _verb(label: str) -> str:
    return "were" if label.rstrip().lower().endswith("s") else "was"


def bullets(lines: Sequence[str]) -> str:
    """A Markdown bullet list, or a note that nothing could be estimated."""
    return (
        "\n".join(f"- {line}" for line in lines)
        if lines
        else "_Nothing to report: the models were skipped (reasons above)._"
    )


def descriptive_note(partner_code: int, partner: str) -> str:
    """Why a run has no break month, in one line: the partner has no agreement in
    ``us_ftas.csv``, or its agreement dates leave too little data in the window."""
    dates = external.partner_dates(partner_code)
    name = escape_md(display_name(partner))
    if not dates:
        why = (
            f"{name} has no free trade agreement with the United States in "
            "`data/external/us_ftas.csv` and no break month was given"
        )
    else:
        listed = ", ".join(f"{escape_md(d.label)} ({d.month})" for d in dates)
        why = f"the agreement dates of {name} ({listed}) leave too little data around them in this window"
    return (
        f"**Descriptive report:** {why}, so no segmented trend, break test or projection was "
        "fitted (`make report BREAKS=YYYY-MM` fits them at a chosen month)."
    )


def skipped_note(run: ModelRun, partner_code: int | None = None, partner: str = "") -> str:
    """Markdown line listing the models skipped and why (or that none was); a run without
    break months says so first, with the reason (:func:`descriptive_note`) when the partner is
    given."""
    others = {k: v for k, v in run.skipped.items() if k != "breaks"}
    lines = []
    if "breaks" in run.skipped:
        lines.append(
            descriptive_note(partner_code, partner)
            if partner_code is not None
            else f"**Descriptive report:** {run.skipped['breaks']}."
        )
    if others or not lines:
        lines.append(
            "Skipped: " + "; ".join(f"`{k}`: {v}" for k, v in others.items())
            if others
            else "No model was skipped."
        )
    return " ".join(lines)


def describe_effect(e: BreakEffect, label: str) -> str:
    """One sentence for the level change at a break, generated from the estimate and its CI.

    Log models speak in percent; level models (the balance) in US$ millions per month. The CI is
    the bootstrap-calibrated one when it was computed, else the HAC one. When the 95 % CI covers
    zero the sentence says there is no detectable change.
    """
    kind = e.best_kind
    if e.log:
        v = e.pct_level_change
        lo, hi = e.pct_conf_int(kind=kind)["level"]  # type: ignore[index]
        size = f"{number(abs(v))} % {'higher' if v > 0 else 'lower'}"  # type: ignore[arg-type]
        ci = f"95 % CI {number(lo)} % to {number(hi)} %, {_KIND_NAMES[kind]}"
    else:
        v, (lo, hi) = e.level_change, e.conf_int(kind=kind)["level"]  # type: ignore[index]
        size = f"US$ {number(abs(v), 0)} million a month {'higher' if v > 0 else 'lower'}"
        ci = f"95 % CI {number(lo, 0)} to {number(hi, 0)}, {_KIND_NAMES[kind]}"
    text = f"{label} {_verb(label)} {size} in {e.break_} than the pre-break trend implied ({ci})"
    return text + (" \u2014 no detectable change." if lo <= 0 <= hi else ".")


def describe_slope(e: BreakEffect, label: str) -> str:
    """One sentence for the change in trend at a break (per year), from the estimate and CI."""
    kind = e.best_kind
    noun = label.lower().removeprefix("the ")
    if e.log:
        v = e.pct_slope_change_per_year
        lo, hi = e.pct_conf_int(kind=kind)["slope_per_year"]  # type: ignore[index]
        what = f"the trend growth of {noun} changed by {number(v)} % a year"  # type: ignore[arg-type]
        ci = f"95 % CI {number(lo)} % to {number(hi)} %, {_KIND_NAMES[kind]}"
    else:
        v = e.slope_change_per_year
        lo, hi = e.conf_int(kind=kind)["slope_per_year"]  # type: ignore[index]
        what = f"the trend of the monthly {noun} changed by US$ {number(v, 0)} million a year"
        ci = f"95 % CI {number(lo, 0)} to {number(hi, 0)}, {_KIND_NAMES[kind]}"
    text = f"After {e.break_}, {what} ({ci})"
    return text + (" \u2014 no detectable change in trend." if lo <= 0 <= hi else ".")


def _gap_clause(g: Gap) -> tuple[str, str]:
    """The size of one gap (``"US$ 1.2 billion above"``) and its interval in parentheses."""
    lo, hi = g.gap_ci
    v = g.cumulative_gap
    return (
        f"US$ {number(abs(v) / 1000)} billion {'above' if v > 0 else 'below'}",
        f"(95 % simulation interval {number(lo / 1000)} to {number(hi / 1000)} billion)",
    )


def describe_counterfactual(c: Counterfactual, label: str, horizon: int = HORIZON_MONTHS) -> str:
    """The cumulative gap between actual values and the projection, the result first: over
    the first ``horizon`` months after the break (:data:`analysis.vocab.HORIZON_MONTHS`),
    then, when the post period is longer, the whole post period, labelled as extrapolation."""
    noun = label.lower().removeprefix("the ")
    subject = f"cumulative {noun} {_verb(noun)}"
    short = c.gap(min(horizon, c.months_post))
    size, ci = _gap_clause(short)
    text = (
        f"Over the first {count(short.months)} months after the break ({c.post_start} to "
        f"{short.end}), {subject} {size} the {c.model} projection trained through "
        f"{c.train_end} {ci}"
    )
    lo, hi = short.gap_ci
    text += " — the interval includes zero." if lo <= 0 <= hi else "."
    if c.months_post > short.months:
        whole = c.gap()
        size, ci = _gap_clause(whole)
        text += (
            f" Extrapolated over all {count(whole.months)} months to {c.post_end}, the gap "
            f"would be {size} the projection {ci}; that long horizon is extrapolation, not "
            "the result to read."
        )
    return text


def describe_search(s: SearchResult, label: str) -> str:
    """One sentence for the unknown-break search, flagging a break at the edge of the window."""
    noun = label.lower().removeprefix("the ")
    edge = s.best in (s.first_candidate, s.last_candidate)
    text = (
        f"For {noun}, the best-fitting single break (level and trend) in {s.first_candidate}..{s.last_candidate} "
        f"is {s.best}; the largest Wald statistic ({number(s.statistic)}, in {s.sup_month}) has a bootstrap "
        f"p-value of {p_value(s.p_value)}"
    )
    if edge:
        text += (
            ", and the best month sits at the edge of the search window, a sign of gradual change "
            "or curvature rather than a break"
        )
    if s.p_value >= 0.05:
        return text + " \u2014 no significant break at the 5 % level."
    return text + "."


def effect_sentences(run: ModelRun) -> list[str]:
    """Level and trend sentences of every break of the main ITS model."""
    return [
        f"{describe_effect(e, LABELS[col])} {describe_slope(e, LABELS[col])}"
        for col in SERIES
        if col in run.its
        for e in run.its[col].effects
    ]


def search_sentences(run: ModelRun) -> list[str]:
    """One sentence per series for the unknown-break search."""
    return [
        describe_search(run.searches[col], LABELS[col]) for col in SERIES if col in run.searches
    ]


def counterfactual_sentences(run: ModelRun) -> list[str]:
    """One sentence per series for the counterfactual gap."""
    return [
        describe_counterfactual(run.counterfactuals[col], LABELS[col])
        for col in SERIES
        if col in run.counterfactuals
    ]


def optimizer_note(run: ModelRun) -> str:
    """The optimiser messages of the forecast models, or an empty string."""
    notes = [
        f"{col}: {'; '.join(c.fit_warnings)}"
        for col, c in run.counterfactuals.items()
        if c.fit_warnings
    ]
    return "Optimizer messages: " + " | ".join(notes) if notes else ""


# ---- display tables ------------------------------------------------------------------------------


def _lo_hi(ci: tuple[float, float] | None) -> tuple[float | None, float | None]:
    return (None, None) if ci is None else (ci[0], ci[1])


def _effect_row(col: str, e: BreakEffect) -> dict[str, Any]:
    if e.log:
        lv, sv, unit = e.pct_level_change, e.pct_slope_change_per_year, "%"
        hac, boot = e.pct_conf_int(kind="hac") or {}, e.pct_conf_int(kind="boot") or {}
        cal = (e.pct_conf_int(kind="cal") or {}) if e.has_cal else {}
    else:
        lv, sv, unit = e.level_change, e.slope_change_per_year, "US$ millions a month"
        hac, boot = e.conf_int(kind="hac") or {}, e.conf_int(kind="boot") or {}
        cal = (e.conf_int(kind="cal") or {}) if e.has_cal else {}
    p_boot = e.pvalues("boot") or (None, None)
    p_cal = e.pvalues("cal") or (None, None)
    p_hac = e.pvalues("hac") or (None, None)
    (bl, bh), (hl, hh) = _lo_hi(boot.get("level")), _lo_hi(hac.get("level"))
    tl, th = _lo_hi(boot.get("slope_per_year"))
    return {
        "series": col,
        "break": e.break_,
        "unit": unit,
        "level_change": lv,
        "ci_low_boot": bl,
        "ci_high_boot": bh,
        "p_level_boot": p_boot[0],
        "ci_low_hac": hl,
        "ci_high_hac": hh,
        "p_level_hac": p_hac[0],
        "trend_change_per_year": sv,
        "trend_ci_low_boot": tl,
        "trend_ci_high_boot": th,
        "p_trend_boot": p_boot[1],
        "p_level_calibrated": p_cal[0],
        "p_trend_calibrated": p_cal[1],
        "p_trend_hac": p_hac[1],
        "p_method": e.cal_method,
        "ci_low_calibrated": _lo_hi(cal.get("level"))[0],
        "ci_high_calibrated": _lo_hi(cal.get("level"))[1],
        "trend_ci_low_calibrated": _lo_hi(cal.get("slope_per_year"))[0],
        "trend_ci_high_calibrated": _lo_hi(cal.get("slope_per_year"))[1],
    }


def effects_table(run: ModelRun, *, crisis: bool = False) -> pd.DataFrame:
    """The ITS break effects as a display table (one row per series and break).

    ``level_change`` is in % for log series and US$ millions per month for the balance
    (``unit`` says which); ``trend_change_per_year`` in % a year or US$ millions a month per year.
    CIs and p-values: residual AR bootstrap (``*_boot``) and plain HAC (``*_hac``);
    ``p_level_calibrated``/``p_trend_calibrated`` are the calibrated p-values (the test named in
    ``p_method``, whose size is checked by :mod:`analysis.models.size`), the ones to quote.
    """
    store = run.its_crisis if crisis else run.its
    rows = [_effect_row(col, e) for col in SERIES if col in store for e in store[col].effects]
    cols = [
        "series",
        "break",
        "unit",
        "level_change",
        "ci_low_boot",
        "ci_high_boot",
        "p_level_boot",
        "ci_low_hac",
        "ci_high_hac",
        "p_level_hac",
        "trend_change_per_year",
        "trend_ci_low_boot",
        "trend_ci_high_boot",
        "p_trend_boot",
        "p_level_calibrated",
        "p_trend_calibrated",
        "p_trend_hac",
        "p_method",
        "ci_low_calibrated",
        "ci_high_calibrated",
        "trend_ci_low_calibrated",
        "trend_ci_high_calibrated",
    ]
    return pd.DataFrame(rows, columns=cols)


def tests_table(run: ModelRun) -> pd.DataFrame:
    """Known-date Wald tests and the unknown-break search, one row per test."""
    rows = []
    for col in SERIES:
        for t in run.known_tests.get(col, []):
            rows.append(
                {
                    "series": col,
                    "test": "known date",
                    "month": t.date,
                    "statistic": t.statistic,
                    "p_value_bootstrap": t.p_value if t.n_boot else None,
                    "p_value_asymptotic": t.p_value_asymptotic,
                    "p_value_calibrated": t.p_value_calibrated,
                }
            )
        if col in run.searches:
            s = run.searches[col]
            rows.append(
                {
                    "series": col,
                    "test": f"sup-Wald search {s.first_candidate}..{s.last_candidate}",
                    "month": s.best,
                    "statistic": s.statistic,
                    "p_value_bootstrap": s.p_value,
                    "p_value_asymptotic": None,
                    "p_value_calibrated": s.p_value,
                }
            )
            rows.append(
                {
                    "series": col,
                    "test": "OLS-CUSUM (no-break model)",
                    "month": None,
                    "statistic": s.cusum_statistic,
                    "p_value_bootstrap": None,
                    "p_value_asymptotic": s.cusum_p_value,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "series",
            "test",
            "month",
            "statistic",
            "p_value_bootstrap",
            "p_value_asymptotic",
            "p_value_calibrated",
        ],
    )


def size_sentence(size: dict[str, dict[str, Any]] | None = None) -> str:
    """One sentence on the actual size of the trend tests, from the result of
    :func:`analysis.models.size.size_simulation` (``{flow: {"nominal", "actual", "actual_hac",
    "n_sim", "method"}}``); without it, the general statement."""
    if not size:
        return (
            "On series this persistent, plain Newey–West (HAC) tests reject a true null far more "
            "often than their nominal 5 %; the p-values quoted come from a bootstrap with "
            "bias-corrected AR noise fitted to the residuals of each model without its breaks (the "
            "null imposed), which in simulations on the fitted dynamics rejects close to 5 % "
            "whether the noise is fitted with or without the breaks."
        )
    flows = [f for f in SERIES if f in size]
    hac = [100 * size[f]["actual_hac"] for f in flows]
    cal = [100 * size[f]["actual"] for f in flows]
    n = min(int(size[f]["n_sim"]) for f in flows)
    return (
        f"In {count(n)} simulations per series of the fitted trends, seasonality and AR noise with no "
        f"break, plain Newey–West (HAC) tests at a nominal 5 % rejected {number(min(hac), 0)}–{number(max(hac), 0)} % "
        f"of the time; the calibrated bootstrap tests quoted here rejected {number(min(cal))}–{number(max(cal))} %."
    )


def counterfactual_table(run: ModelRun) -> pd.DataFrame:
    """Cumulative gaps (US$ millions) between actual values and the projection, by horizon."""
    rows = []
    for col in SERIES:
        if col not in run.counterfactuals:
            continue
        c = run.counterfactuals[col]
        for g in [*c.by_horizon, c.gap()]:
            plo, phi = _lo_hi(g.pct_gap_ci)
            rows.append(
                {
                    "series": col,
                    "model": c.model,
                    "from": c.post_start,
                    "to": g.end,
                    "months": g.months,
                    "cumulative_gap": g.cumulative_gap,
                    "ci_low": g.gap_ci[0],
                    "ci_high": g.gap_ci[1],
                    "pct_gap": g.pct_gap,
                    "pct_ci_low": plo,
                    "pct_ci_high": phi,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "series",
            "model",
            "from",
            "to",
            "months",
            "cumulative_gap",
            "ci_low",
            "ci_high",
            "pct_gap",
            "pct_ci_low",
            "pct_ci_high",
        ],
    )


def diagnostics_table(run: ModelRun) -> pd.DataFrame:
    """Ljung-Box (lags 12, 24) and Durbin-Watson of every model's residuals."""
    rows = []
    for col in SERIES:
        models_ = [
            ("ITS", run.its.get(col)),
            ("ITS + crisis dummies", run.its_crisis.get(col)),
            ("counterfactual", run.counterfactuals.get(col)),
        ]
        for name, m in models_:
            if m is None:
                continue
            d = m.diagnostics
            row: dict[str, Any] = {
                "series": col,
                "model": m.model if name == "counterfactual" else name,
            }
            for lb in d["ljung_box"]:
                row[f"LB({lb['lag']})"] = lb["statistic"]
                row[f"p LB({lb['lag']})"] = lb["p_value"]
            row["Durbin-Watson"] = d["durbin_watson"]
            rows.append(row)
    return pd.DataFrame(
        rows,
        columns=["series", "model", "LB(12)", "p LB(12)", "LB(24)", "p LB(24)", "Durbin-Watson"],
    )


def diagnostics_summary(diag: pd.DataFrame) -> str:
    """How many trend regressions and projection models reject no autocorrelation (LB(12), 5 %)."""
    if not len(diag):
        return bullets([])
    its_rows = diag[diag["model"] == "ITS"]
    cf_rows = diag[~diag["model"].str.startswith("ITS")]
    return (
        f"Ljung–Box rejects no autocorrelation (5 %, lag 12) for {int((its_rows['p LB(12)'] < 0.05).sum())} of "
        f"{len(its_rows)} trend regressions and for {int((cf_rows['p LB(12)'] < 0.05).sum())} of "
        f"{len(cf_rows)} projection models."
    )


def sa_comparison_summary(compare: pd.DataFrame) -> str:
    """Markdown bullets comparing X-13ARIMA-SEATS with STL, per flow: the mean absolute
    difference of the two adjusted series (in % of STL) and the correlation of their
    month-on-month growth rates; or why X-13 could not run.

    ``compare``: :func:`analysis.models.seasonal.compare_adjustments`.
    """
    from analysis.models.seasonal import adjustment_agreement

    lines = []
    for col, a in adjustment_agreement(compare).items():
        if not a["available"]:
            lines.append(f"{LABELS[col]}: X-13 not available ({a['reason']}); STL only.")
            continue
        lines.append(
            f"{LABELS[col]}: the X-13 and STL adjusted series differ by {number(a['mean_abs_diff_pct'])} % "  # type: ignore[arg-type]
            f"on average (absolute); their month-on-month growth rates correlate at "
            f"{number(a['growth_corr'], 2)}."
        )
    return bullets(lines)
