"""How the claims check is shown: the colour-coded table, verdict counts and sentences.

Presentation of the results of :mod:`analysis.claims.check` (which computes them); used by
notebook 04.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.claims.check import VERDICTS, ClaimsContext
from analysis.report.figures import display_name
from analysis.report.markup import escape_md

#: Cell colours of the verdicts (the HTML pages use the same).
VERDICT_COLOURS: dict[str, str] = {
    "supported": "background-color: #1b7837; color: white",
    "contradicted": "background-color: #c51b7d; color: white",
    "within_revision": "background-color: #fdb863; color: black",
    "not_checkable": "background-color: #bdbdbd; color: black",
}


#: What a reader sees for each verdict (the CSV keeps the machine labels).
VERDICT_LABELS: dict[str, str] = {
    "supported": "supported",
    "contradicted": "contradicted",
    "within_revision": "within revision",
    "not_checkable": "not checkable",
}

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


def _significant(v: object) -> str:
    """A number with four significant digits (``13.1997`` -> ``13.20``); blank if missing."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    x = float(v)
    if x == 0:
        return "0"
    text = (
        f"{x:,.{max(0, 3 - int(math.floor(math.log10(abs(x)))))}f}" if abs(x) < 1e4 else f"{x:,.0f}"
    )
    return text.replace("-", "\u2212")


def style_results(results: pd.DataFrame):  # -> pandas.io.formats.style.Styler
    """The claims table for a page: human headers, four significant digits, readable verdict
    labels coloured green (supported), red (contradicted) and grey (not checkable), and every
    text escaped (claims and notes come from a file: they are shown, never interpreted)."""
    from analysis.report import markup

    shown = results.assign(
        stated=results["stated"].map(_significant),
        computed=results["computed"].map(_significant),
        verdict=results["verdict"].map(lambda v: VERDICT_LABELS.get(str(v), str(v))),
    ).rename(columns=RESULT_HEADERS)
    colours = {VERDICT_LABELS[k]: v for k, v in VERDICT_COLOURS.items()}
    return (
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
            **{"text-align": "left", "white-space": "normal"},
        )
    )


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
        f"Of {len(results)} claims, {len(data)} can be checked against official data: "
        f"**{c['supported']} supported**, **{c['contradicted']} contradicted**{within} and "
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
                f"{_significant(r.stated)} {escape_md(str(r.unit))}, computed "
                f"{_significant(r.computed)}. {escape_md(str(r.note))}"
            )
    return "\n".join(lines)


def deficit_sentence(info: dict[str, object]) -> str:
    """One sentence from :func:`analysis.claims.check.deficit_outlook` (US$ billions)."""
    d = float(info["deficit"]) / 1000  # type: ignore[arg-type]
    if not info["later_years"]:
        return f"The {info['year']} deficit was US$ {d:.1f} billion; no later complete year is in the data."
    m = float(info["max_deficit"]) / 1000  # type: ignore[arg-type]
    return (
        f"The report's {info['year']} 'high' of the U.S. goods deficit with {escape_md(display_name(str(info['partner'])))} "
        f"(US$ {d:.1f} billion in the cleaned Census data) did not last: {info['later_larger']} of the "
        f"{info['later_years']} complete years since then were larger, and the largest, {info['max_year']}, "
        f"reached US$ {m:.1f} billion, {m / d:.1f} times as much (data through {info['data_through']})."
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
