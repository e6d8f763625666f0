"""How the claims check is shown: the colour-coded table, verdict counts and sentences.

Presentation of the results of :mod:`analysis.claims.check` (which computes them); used by
notebook 04.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import config
from analysis.claims.check import ClaimsContext
from analysis.report import fmt
from analysis.report.markup import escape_md
from analysis.vocab import VERDICT_LABELS, VERDICTS, display_name, verdict_css

#: Cell colours of the verdicts (:data:`analysis.vocab.VERDICT_STYLE`, as on every page).
VERDICT_COLOURS: dict[str, str] = {k: verdict_css(k) for k in VERDICTS}

#: Column headers of the claims table, with units where they apply.
RESULT_HEADERS: dict[str, str] = {
    "id": "Claim id",
    "claim": "Claim (as stated in the report)",
    "stated": "Stated",
    "computed": "Computed",
    "unit": "Unit",
    "verdict": "Verdict",
    "basis": "Basis",
    "note": "How it was checked",
    "verdict_range": "Verdict at other end years",
}


#: Narrowest widths of the claims table's text columns. Long tokens (ids, file names) may
#: break anywhere, so these set the layout: the claim reads as a sentence, not a column of
#: single words, and the id takes no more room than a short id needs.
COLUMN_WIDTHS: dict[str, str] = {
    RESULT_HEADERS["id"]: "9em",
    RESULT_HEADERS["claim"]: "15em",
    RESULT_HEADERS["note"]: "15em",
    RESULT_HEADERS["verdict_range"]: "8em",
}


#: Units whose values are whole numbers (counts, ranks, durations in whole units).
COUNT_UNITS: frozenset[str] = frozenset({"count", "rank", "years", "days", "vehicles"})


def claim_number(value: object, unit: str, *, as_stated: bool = False) -> str:
    """A stated or computed value as the claims table shows it: a ``year`` as a year
    (``2041``), a whole value in :data:`COUNT_UNITS` as a count (``5``, ``25,000``), anything
    else with four significant digits (``13.1997`` -> ``13.20``; ``as_stated`` drops trailing
    zeros, so a stated ``2.7`` reads ``2.7``); blank if missing."""
    x = fmt.num(value)
    if x is None:
        return ""
    if str(unit).strip() == "year":
        return fmt.year(x)
    if str(unit).strip() in COUNT_UNITS and x == int(x):
        return fmt.count(x)
    return fmt.significant(x, 4, trim=as_stated)


def style_results(results: pd.DataFrame):  # -> pandas.io.formats.style.Styler
    """The claims table for a page: human headers, four significant digits, readable verdict
    labels coloured green (supported), red (contradicted) and grey (not checkable), and every
    text escaped (claims and notes come from a file: they are shown, never interpreted)."""
    from analysis.report import markup

    units = results["unit"].astype(str).tolist()
    shown = results.assign(
        stated=[claim_number(v, u) for v, u in zip(results["stated"], units, strict=True)],
        computed=[claim_number(v, u) for v, u in zip(results["computed"], units, strict=True)],
        verdict=results["verdict"].map(lambda v: VERDICT_LABELS.get(str(v), str(v))),
    ).rename(columns=RESULT_HEADERS)
    colours = {VERDICT_LABELS[k]: v for k, v in VERDICT_COLOURS.items()}
    styler = (
        markup.table(shown, na_rep="")
        .map(lambda v: colours.get(str(v), ""), subset=[RESULT_HEADERS["verdict"]])
        .set_properties(
            subset=[
                h
                for h in (
                    RESULT_HEADERS["note"],
                    RESULT_HEADERS["claim"],
                    RESULT_HEADERS["verdict_range"],
                )
                if h in shown.columns
            ],
            **{"text-align": "left"},
        )
        .set_properties(
            subset=[h for h in COLUMN_WIDTHS if h in shown.columns],
            **{"white-space": "normal", "overflow-wrap": "anywhere"},
        )
    )
    for header, width in COLUMN_WIDTHS.items():
        if header in shown.columns:
            styler = styler.set_properties(subset=[header], **{"min-width": width})
    return styler


def verdict_counts(results: pd.DataFrame) -> dict[str, int]:
    """Number of claims per verdict (every verdict present as a key)."""
    counts = results["verdict"].value_counts()
    return {v: int(counts.get(v, 0)) for v in VERDICTS}


def summary_sentence(results: pd.DataFrame) -> str:
    """The claims check in one paragraph: verdicts of the data checks, then the claims whose
    verdict rests on the report's own arithmetic or compiled figures, counted apart."""
    data = results[results["basis"] == "data"]
    c = verdict_counts(data)
    within = (
        f", **{c['within_revision']} within revision** (off the current vintage by no more "
        "than the indicator's documented revision size, so not counted as contradicted)"
        if c.get("within_revision")
        else ""
    )
    text = (
        f"Of {len(results)} claims, {len(data)} concern official data and "
        f"{c['supported'] + c['contradicted'] + c.get('within_revision', 0)} of those can be "
        f"checked: **{c['supported']} supported**, **{c['contradicted']} contradicted**{within}; "
        f"**{c['not_checkable']} not checkable** with the data at hand."
    )
    if "verdict_range" in data:
        ranged = data[data["verdict_range"].fillna("").str.startswith("depends")]
        if len(ranged):
            n = len(ranged)
            text += (
                f" {n} data verdict{'s' if n > 1 else ''} depend{'' if n > 1 else 's'} on the "
                f"end year chosen for the claim "
                f"({', '.join(escape_md(str(i)) for i in ranged['id'])}); the table gives "
                "the verdict at each end year."
            )
    for b, what in (
        ("arithmetic", "recompute the report's own arithmetic"),
        ("reference", "compare with a compiled table of trade-press or agency figures"),
    ):
        part = results[results["basis"] == b]
        if len(part):
            text += (
                f" {len(part)} only {what} ({verdict_counts(part)['supported']} agree); "
                "they are not data checks."
            )
    rest = int((results["basis"] == "none").sum())
    if rest:
        text += f" {rest} state numbers that none of the project's sources holds."
    return text


def discrepancy_lines(results: pd.DataFrame) -> str:
    """The claims the data do not support as stated, one Markdown bullet each: contradicted
    first, then within revision (each with its verdict, stated and computed values and note);
    a sentence when there are none."""
    shown = [v for v in ("contradicted", "within_revision") if (results["verdict"] == v).any()]
    if not shown:
        return "No claim is contradicted by the sources, and none differs from them by a revision."
    lines = []
    for v in shown:
        for r in results[results["verdict"] == v].itertuples():
            lines.append(
                f"- **{escape_md(str(r.id))}** ({VERDICT_LABELS[v]}): stated "
                f"{claim_number(r.stated, r.unit, as_stated=True)} {escape_md(str(r.unit))}, "
                f"computed {claim_number(r.computed, r.unit)}. {escape_md(str(r.note))}"
            )
    return "\n".join(lines)


def deficit_sentence(info: dict[str, object]) -> str:
    """One sentence from :func:`analysis.claims.check.deficit_outlook` (US$ billions)."""
    d, year = float(info["deficit"]), fmt.year(info["year"])  # type: ignore[arg-type]
    if not info["later_years"]:
        return f"The {year} deficit was US$ {fmt.billions(d)} billion; no later complete year is in the data."
    m = float(info["max_deficit"])  # type: ignore[arg-type]
    return (
        f"The report's {year} 'high' of the U.S. goods deficit with {escape_md(display_name(str(info['partner'])))} "
        f"(US$ {fmt.billions(d)} billion in the cleaned Census data) did not last: "
        f"{fmt.count(info['later_larger'])} of the {fmt.count(info['later_years'])} complete years "
        f"since then were larger, and the largest, {fmt.year(info['max_year'])}, reached "
        f"US$ {fmt.billions(m)} billion, {fmt.decimal(m / d, 1)} times as much (data through "
        f"{info['data_through']})."
    )


def display_path(path: str | Path) -> str:
    """``path`` as a page may show it (:func:`analysis.config.display_path`)."""
    return config.display_path(path)


def optional_sources_text(context: ClaimsContext) -> str:
    """Where the optional sources were read from (``read from `folder, folder```), or that they
    were not available in this run."""
    folders = sorted(
        {display_path(d) for d in (context.reference_dir, context.census_api_dir) if d}
    )
    return f"read from `{', '.join(folders)}`" if folders else "not available in this run"
