"""Each FTA partner's evaluation page: ``reports/<folder>/evaluation.html`` and ``.json``.

Built from the partner's record of :func:`analysis.models.agreements.evaluate` (the same
record as its row of ``reports/agreements.json``): nothing is estimated here. Per flow, the
three designs with their robustness versions (event study: baseline and partner trends;
synthetic control: all donors, with the donor rule, placebo in time; segmented trend: the
calibrated test), the verdict by the rules of :mod:`analysis.models.agreements`, and a headline
that says whether the departures the designs find survive their robustness checks
(:data:`ROBUSTNESS_RULES`). A design that could not be estimated shows its one-line reason.

``<folder>`` is the record's ``slug``: the partner's report folder by ``make report``'s rule
(:func:`analysis.partners.report_folder`). The page is laid out by the template
``templates/agreement_evaluation.html.j2`` (auto-escaping); every number goes through
:mod:`analysis.report.fmt`. Korea's full evaluation stays at ``korus/evaluation.html``; Korea's
page here links it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from analysis.fileio import write_text_atomic
from analysis.models import agreements as ag
from analysis.report import fmt
from analysis.report.agreements import FOCUS, KOREA_EVALUATION, write_document
from analysis.report.agreements import PAGE as COMPARISON_PAGE
from analysis.report.evaluation import log_pct
from analysis.report.pages import data_links, page
from analysis.report.templating import TEMPLATE_DIR, render_template
from analysis.vocab import FLOW_PHRASES, SERIES, SERIES_LABELS, display_name

#: The page's entry in the page registry (:data:`analysis.report.pages.PAGES`).
PAGE_KEY: str = "agreement-evaluation"
#: The page's data file, beside it.
DATA: str = "evaluation.json"
#: The landing page, relative to ``reports/``.
LANDING: str = "index.html"

#: The synthetic control's threshold as the rules write it (``0.1``).
ALPHA_TEXT: str = fmt.significant(ag.SYNTH_ALPHA, 1, trim=True)
#: What ``–`` means in the page's tables.
MISSING_NOTE: str = (
    "– : not given by this version of the design (the event study's interval is a placebo "
    "interval without a p-value; the synthetic control's robustness versions give a placebo "
    "p-value only; the synthetic control and the segmented trend show no interval here)."
)

#: When a design's departure survives its robustness checks (stated on the page and in JSON).
ROBUSTNESS_RULES: tuple[str, ...] = (
    "A design departs when its baseline version reads above or below: the event study "
    "without partner trends, the synthetic control with all donors, the segmented trend's "
    "calibrated test.",
    "Event study: the departure survives when the interval with a linear trend per partner "
    "lies on the same side of zero as the baseline interval.",
    f"Synthetic control: the departure survives when the placebo p-value is at most "
    f"{ALPHA_TEXT} with the donor rule too, and the placebo in time "
    f"({fmt.count(ag.PLACEBO_LEAD)} years before entry) has a p-value above "
    f"{ALPHA_TEXT} (no departure before the agreement).",
    "Segmented trend: its p-value is already calibrated by the bootstrap with bias-corrected "
    "AR noise; no further version of it is on this page.",
    "The departures survive their robustness checks when no check fails; a check that cannot "
    "be run is named.",
)

READING_WORDS: dict[str | None, str] = {
    ag.ABOVE: "above",
    ag.BELOW: "below",
    ag.NEITHER: "neither",
    None: fmt.MISSING,
}


@dataclass(frozen=True)
class Check:
    """One robustness check of a departing design: ``passed`` None when it cannot be run."""

    design: str
    passed: bool | None
    text: str


def _pct(x: Any) -> str:
    return fmt.pct(log_pct(fmt.num(x)))


def _ci(ci: Any) -> str:
    text = fmt.interval(ci, _pct)
    return fmt.MISSING if text == fmt.NA else text


def _p(x: Any) -> str:
    return fmt.MISSING if fmt.num(x) is None else fmt.p_value(x)


def _cell(text: str) -> str:
    return fmt.MISSING if text == fmt.NA else text


def flows(record: Mapping[str, Any]) -> list[str]:
    """The record's flows in page order (exports, imports, the balance where present)."""
    present = record.get("flows") or {}
    return [s for s in SERIES if s in present]


def flow_subject(flow: str, partner: str) -> str:
    """``"U.S. exports to Colombia"``; the balance: ``"U.S. balance with Colombia"``."""
    phrase = FLOW_PHRASES.get(flow, f"{SERIES_LABELS.get(flow, flow)} with")
    return f"{phrase} {display_name(partner)}"


def date_text(iso: str) -> str:
    """``"2012-05-15"`` -> ``"15 May 2012"`` (the year bare)."""
    d = dt.date.fromisoformat(str(iso)[:10])
    return f"{fmt.count(d.day)} {d:%B} {fmt.year(d.year)}"


def baseline_readings(flow_record: Mapping[str, Any]) -> dict[str, str | None]:
    """Each design's reading in its baseline version (:data:`ROBUSTNESS_RULES`): the event
    study's interval, the synthetic control's gap with the all-donor placebo p alone, the
    segmented trend's calibrated test. (The verdict's readings, ``readings``, require the
    synthetic control's p-value with the donor rule too.)"""
    e = flow_record.get("event_study") or {}
    s = flow_record.get("synthetic_control") or {}
    t = flow_record.get("trend") or {}
    return {
        "event_study": ag.es_reading(e.get("ci")),
        "synthetic_control": ag.synth_reading(s.get("gap"), s.get("p_value")),
        "trend": ag.trend_reading(t.get("departure"), t.get("p_joint")),
    }


def _es_checks(e: Mapping[str, Any], base: str) -> list[Check]:
    pt = e.get("partner_trends") or {}
    if "reason" in pt or not pt:
        why = pt.get("reason") or "not estimated"
        return [
            Check(
                "event_study",
                None,
                f"the event study with partner trends was not estimated ({why})",
            )
        ]
    reading = ag.es_reading(pt.get("ci"))
    ci = _ci(pt.get("ci"))
    if reading == base:
        return [
            Check(
                "event_study",
                True,
                f"with partner trends the event-study interval still excludes zero ({ci})",
            )
        ]
    if reading is None:
        return [Check("event_study", None, "the event study with partner trends has no interval")]
    where = "contains zero" if reading == ag.NEITHER else "lies on the other side of zero"
    return [
        Check("event_study", False, f"with partner trends the event-study interval {where} ({ci})")
    ]


def _synth_checks(s: Mapping[str, Any]) -> list[Check]:
    alpha = ALPHA_TEXT
    out = []
    p, p_rule = s.get("p_value"), s.get("p_value_rule")
    if fmt.num(p_rule) is None:
        out.append(Check("synthetic_control", None, "the donor rule's placebo p is missing"))
    elif p_rule <= ag.SYNTH_ALPHA:
        out.append(
            Check(
                "synthetic_control",
                True,
                f"the synthetic control's placebo p is at most {alpha} with and without the donor "
                f"rule ({fmt.p_equals(p)}; with the rule {fmt.p_equals(p_rule)})",
            )
        )
    else:
        out.append(
            Check(
                "synthetic_control",
                False,
                f"with the donor rule the synthetic control's placebo p exceeds {alpha} "
                f"({fmt.p_equals(p_rule)}; {fmt.p_equals(p)} with all donors)",
            )
        )
    tp, year = s.get("time_p_value"), fmt.year(s.get("placebo_year"))
    if fmt.num(tp) is None:
        out.append(Check("synthetic_control", None, "the placebo in time could not be run"))
    elif tp > ag.SYNTH_ALPHA:
        out.append(
            Check(
                "synthetic_control",
                True,
                f"the placebo in time ({year}) finds no departure ({fmt.p_equals(tp)})",
            )
        )
    else:
        out.append(
            Check(
                "synthetic_control",
                False,
                f"the placebo in time ({year}) finds a departure before the agreement "
                f"({fmt.p_equals(tp)})",
            )
        )
    return out


def robustness_checks(flow_record: Mapping[str, Any]) -> list[Check]:
    """The robustness checks of every design that departs in its baseline version."""
    base = baseline_readings(flow_record)
    out: list[Check] = []
    if base["event_study"] in (ag.ABOVE, ag.BELOW):
        out += _es_checks(flow_record["event_study"], base["event_study"])
    if base["synthetic_control"] in (ag.ABOVE, ag.BELOW):
        out += _synth_checks(flow_record["synthetic_control"])
    return out


def _joined(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def headline(record: Mapping[str, Any], flow: str) -> str:
    """Two or three sentences for a flow: the verdict; which designs depart in their baseline
    version; whether those departures survive their robustness checks (the checks that fail,
    else those that pass; a check that cannot be run is named, and a departure with no check
    run is said to be unchecked, never to survive)."""
    f = record["flows"][flow]
    out = f"{flow_subject(flow, record['partner'])} — {f['verdict_label']}"
    if f["verdict"] == "too_little_pre_period":
        out += " (fewer than two of the three designs could be estimated)"
    base = baseline_readings(f)
    departing = [d for d, r in base.items() if r in (ag.ABOVE, ag.BELOW)]
    if not departing:
        return (
            out + ". No design departs from zero in its baseline version: there is no "
            "departure for the robustness checks to test."
        )
    one = len(departing) == 1
    named = _joined([f"the {ag.DESIGN_LABELS[d]} ({READING_WORDS[base[d]]})" for d in departing])
    out += (
        f". Departing in {'its' if one else 'their'} baseline version{'' if one else 's'}: {named}."
    )
    checks = robustness_checks(f)
    failed = [c.text for c in checks if c.passed is False]
    passed = [c.text for c in checks if c.passed]
    unrun = [c.text for c in checks if c.passed is None]
    checked = [d for d in departing if d != "trend"]
    if not checked:
        return (
            out + " The segmented trend's test is calibrated and has no further robustness "
            "version here."
        )
    subject = (
        f"the {ag.DESIGN_LABELS[checked[0]]}'s departure"
        if len(checked) == 1
        else "these departures"
        if len(checked) == len(departing)
        else "the departures of the " + _joined([ag.DESIGN_LABELS[d] for d in checked])
    )
    subject = subject[0].upper() + subject[1:]
    plural = len(checked) > 1
    if failed:
        out += (
            f" {subject} {'do' if plural else 'does'} not survive {'their' if plural else 'its'} "
            f"robustness checks: " + "; ".join(failed) + "."
        )
    elif passed and unrun:
        out += (
            f" {subject} {'survive' if plural else 'survives'} the robustness checks that could be "
            f"run ({'; '.join(passed)}); not run: " + "; ".join(unrun) + "."
        )
    elif passed:
        out += (
            f" {subject} {'survive' if plural else 'survives'} {'their' if plural else 'its'} "
            f"robustness checks: " + "; ".join(passed) + "."
        )
    elif unrun:
        out += f" {subject} cannot be checked for robustness: " + "; ".join(unrun) + "."
    if "trend" in departing:
        out += (
            " The segmented trend's test is calibrated and has no further robustness version here."
        )
    return out


def _reason_row(design: str, reason: str) -> dict[str, str]:
    return {"design": design, "reason": reason}


def _row(
    design: str,
    version: str,
    reads: str,
    note: str,
    estimate: str = fmt.MISSING,
    interval: str = fmt.MISSING,
    p: str = fmt.MISSING,
) -> dict[str, str]:
    """One row of a flow's table (every value already formatted)."""
    return {
        "design": design,
        "version": version,
        "estimate": estimate,
        "interval": interval,
        "p": p,
        "reads": reads,
        "note": note,
    }


def design_rows(flow_record: Mapping[str, Any]) -> list[dict[str, str]]:
    """The table of one flow: per design and robustness version ``{design, version, estimate,
    interval, p, reads, note}`` (numbers formatted), or ``{design, reason}`` for a design or a
    version that could not be estimated."""
    rows: list[dict[str, str]] = []
    e = flow_record.get("event_study") or {}
    if "reason" in e:
        rows.append(_reason_row("Event study", str(e["reason"])))
    else:
        rows.append(
            _row(
                "Event study",
                "baseline: partner and year effects",
                READING_WORDS[ag.es_reading(e.get("ci"))],
                f"average over event years 0 to {fmt.count(ag.es.LAGS)}; 95 % studentised "
                "placebo interval",
                estimate=_cell(_pct(e.get("att"))),
                interval=_ci(e.get("ci")),
            )
        )
        pt = e.get("partner_trends") or {"reason": "not estimated"}
        if "reason" in pt:
            rows.append(_reason_row("Event study with partner trends", str(pt["reason"])))
        else:
            rows.append(
                _row(
                    "",
                    "with a linear trend per partner",
                    READING_WORDS[ag.es_reading(pt.get("ci"))],
                    "placebos refitted the same way",
                    estimate=_cell(_pct(pt.get("att"))),
                    interval=_ci(pt.get("ci")),
                )
            )
    s = flow_record.get("synthetic_control") or {}
    if "reason" in s:
        rows.append(_reason_row("Synthetic control", str(s["reason"])))
    else:
        y0, g, y1 = (s.get("years") or [None, None, None])[:3]
        g_before = fmt.num(g) - 1 if fmt.num(g) is not None else None
        time_p = fmt.num(s.get("time_p_value"))
        rows += [
            _row(
                "Synthetic control",
                "all donors",
                READING_WORDS[ag.synth_reading(s.get("gap"), s.get("p_value"))],
                f"average gap after entry; {fmt.count(s.get('n_donors'))} donors without a "
                f"U.S. FTA; fitted {fmt.year(y0)}–{fmt.year(g_before)}, after entry "
                f"{fmt.year(g)}–{fmt.year(y1)}; pre-period RMSPE "
                f"{fmt.decimal(s.get('pre_rmspe'), 3, sign=False)} log points",
                estimate=_cell(fmt.pct(s.get("gap_pct"))),
                p=_p(s.get("p_value")),
            ),
            _row(
                "",
                "with the donor rule",
                READING_WORDS[ag.synth_reading(s.get("gap"), s.get("p_value_rule"))],
                "the donor rule's partners out of the pool; placebo p only",
                p=_p(s.get("p_value_rule")),
            ),
            _row(
                "",
                f"placebo in time ({fmt.year(s.get('placebo_year'))})",
                fmt.MISSING
                if time_p is None
                else "departs"
                if time_p <= ag.SYNTH_ALPHA
                else "no departure",
                f"a fake entry in {fmt.year(s.get('placebo_year'))}, same donors; a "
                "departure here would predate the agreement",
                p=_p(s.get("time_p_value")),
            ),
        ]
    t = flow_record.get("trend") or {}
    if "reason" in t:
        rows.append(_reason_row("Segmented trend", str(t["reason"])))
    else:
        window = t.get("window") or ["", ""]
        breaks = ", ".join(str(b) for b in t.get("breaks") or [])
        rows.append(
            _row(
                "Segmented trend",
                "calibrated test at entry",
                READING_WORDS[ag.trend_reading(t.get("departure"), t.get("p_joint"))],
                f"new path against the old {fmt.count(ag.HORIZON_MONTHS)} months after "
                f"entry; level {_cell(fmt.pct(t.get('level_pct')))} (p {_p(t.get('p_level'))}), "
                f"trend {_cell(fmt.pct(t.get('slope_pct_per_year')))} a year "
                f"(p {_p(t.get('p_slope'))}); months {window[0]} to {window[1]}, breaks {breaks}",
                estimate=_cell(fmt.pct(t.get("departure_pct"))),
                p=_p(t.get("p_joint")),
            )
        )
    return rows


def verdict_readings(flow_record: Mapping[str, Any]) -> str:
    """The readings the verdict is made of: ``"event study neither, synthetic control above,
    segmented trend neither"``."""
    readings = flow_record.get("readings") or {}
    return ", ".join(f"{ag.DESIGN_LABELS[d]} {READING_WORDS[readings.get(d)]}" for d in ag.DESIGNS)


def _href(target: Path, page_dir: Path) -> str:
    return Path(os.path.relpath(target, page_dir)).as_posix()


def page_links(
    record: Mapping[str, Any], out_dir: Path, reports_dir: Path | None = None
) -> list[dict[str, str]]:
    """The page's links, relative to its folder ``out_dir/<slug>``: the comparison page and
    the landing page (both built by the same ``make agreements``), the partner's trends and
    sectors pages when they exist in ``reports_dir`` (default ``out_dir``), and for Korea
    the full KORUS evaluation (``korus/evaluation.html``) when it exists."""
    reports_dir = Path(reports_dir or out_dir)
    here = Path(out_dir) / str(record["slug"])
    links = [
        {"href": _href(Path(out_dir) / COMPARISON_PAGE, here), "label": "All U.S. FTAs compared"},
        {"href": _href(Path(out_dir) / LANDING, here), "label": "Reports home"},
    ]
    name = display_name(str(record["partner"]))
    for rel, label in (
        (f"{record['slug']}/trends.html", f"{name}: trends and breaks"),
        (f"{record['slug']}/sectors.html", f"{name}: sectors"),
    ):
        if (reports_dir / rel).is_file():
            links.append({"href": _href(Path(out_dir) / rel, here), "label": label})
    if int(record["partner_code"]) == FOCUS and (reports_dir / KOREA_EVALUATION).is_file():
        links.append(
            {
                "href": _href(Path(out_dir) / KOREA_EVALUATION, here),
                "label": f"The full {record['short_name']} evaluation (every design in detail, "
                "the tests' size)",
            }
        )
    return links


def document(record: Mapping[str, Any], comparison: Mapping[str, Any]) -> dict[str, Any]:
    """``evaluation.json`` of one partner: the schema version, the partner's record, the
    rules, the parameters, and per flow the headline and the robustness checks.
    ``comparison``: :func:`analysis.models.agreements.document` (``agreements.json``)."""
    return {
        "schema_version": ag.SCHEMA_VERSION,
        "design_rules": list(comparison.get("design_rules") or ag.DESIGN_RULES),
        "verdict_rules": list(comparison.get("verdict_rules") or ag.VERDICT_RULES),
        "robustness_rules": list(ROBUSTNESS_RULES),
        "verdicts": dict(comparison.get("verdicts") or ag.VERDICT_LABELS),
        "params": dict(comparison.get("params") or {}),
        "headline": {flow: headline(record, flow) for flow in flows(record)},
        "robustness": {
            flow: [asdict(c) for c in robustness_checks(record["flows"][flow])]
            for flow in flows(record)
        },
        "agreement": dict(record),
    }


def page_context(
    record: Mapping[str, Any],
    comparison: Mapping[str, Any],
    links: Sequence[Mapping[str, str]] = (),
    data: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """Everything the template shows, already formatted (it only lays it out and escapes)."""
    name = display_name(str(record["partner"]))
    params = comparison.get("params") or {}
    entry = page(PAGE_KEY)
    return {
        "title": f"{name}: {record['short_name']} evaluated",
        "page_title": entry.title,
        "name": name,
        "code": fmt.code(record["partner_code"]),
        "agreement": record["agreement"],
        "in_force": date_text(record["in_force"]),
        "revisions": [
            {"name": r["name"], "in_force": date_text(r["in_force"])}
            for r in record.get("revisions") or []
        ],
        "source": str(record.get("source") or ""),
        "links": list(links),
        "flows": [
            {
                "key": flow,
                "title": flow_subject(flow, record["partner"]),
                "headline": headline(record, flow),
                "verdict": record["flows"][flow]["verdict_label"],
                "readings": verdict_readings(record["flows"][flow]),
                "rows": design_rows(record["flows"][flow]),
            }
            for flow in flows(record)
        ],
        "design_rules": list(ag.DESIGN_RULES),
        "verdict_rules": list(ag.VERDICT_RULES),
        "robustness_rules": list(ROBUSTNESS_RULES),
        "data": list(data),
        "data_through": str(params.get("data_through") or fmt.NA),
        "missing_note": MISSING_NOTE,
        "css": (TEMPLATE_DIR / "landing.css").read_text(encoding="utf-8"),
    }


def render(
    record: Mapping[str, Any],
    comparison: Mapping[str, Any],
    links: Sequence[Mapping[str, str]] = (),
    data: Sequence[Mapping[str, str]] = (),
) -> str:
    """The page's HTML: :func:`page_context` through the registry entry's template."""
    template = page(PAGE_KEY).template or "agreement_evaluation.html.j2"
    return render_template(template, page_context(record, comparison, links, data))


def write_pages(
    comparison: Mapping[str, Any], out_dir: Path, reports_dir: Path | None = None
) -> list[Path]:
    """Write ``out_dir/<slug>/evaluation.json`` and ``evaluation.html`` for every agreement of
    ``comparison`` (``agreements.json``'s document) with a report folder (``slug``), each
    atomically, the data file first (the page links it). Returns the pages' paths."""
    out_dir = Path(out_dir)
    written = []
    for record in comparison["agreements"]:
        if not record.get("slug"):  # a code without data has no report folder
            continue
        html = out_dir / page(PAGE_KEY).path(str(record["slug"]))
        write_document(html.parent / DATA, document(record, comparison))
        text = render(
            record, comparison, page_links(record, out_dir, reports_dir), data_links(html)
        )
        written.append(write_text_atomic(html, text))
    return written
