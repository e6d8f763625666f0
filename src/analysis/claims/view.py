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

#: Cell colours of the verdicts (the HTML pages use the same).
VERDICT_COLOURS: dict[str, str] = {
    "supported": "background-color: #1b7837; color: white",
    "contradicted": "background-color: #c51b7d; color: white",
    "not_checkable": "background-color: #bdbdbd; color: black",
}


def style_results(results: pd.DataFrame):  # -> pandas.io.formats.style.Styler
    """Colour-coded table: green supported, red contradicted, grey not checkable."""

    def colour(v: object) -> str:
        return VERDICT_COLOURS.get(str(v), "")

    def num(v: object) -> str:
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{float(v):.6g}"

    return (
        results.style.hide(axis="index")
        .map(colour, subset=["verdict"])
        .format({"stated": num, "computed": num})
        .set_properties(subset=["note", "claim"], **{"text-align": "left", "white-space": "normal"})
    )


def verdict_counts(results: pd.DataFrame) -> dict[str, int]:
    """Number of claims per verdict (every verdict present as a key)."""
    counts = results["verdict"].value_counts()
    return {v: int(counts.get(v, 0)) for v in VERDICTS}


def deficit_sentence(info: dict[str, object]) -> str:
    """One sentence from :func:`analysis.claims.check.deficit_outlook` (US$ billions)."""
    d = float(info["deficit"]) / 1000  # type: ignore[arg-type]
    if not info["later_years"]:
        return f"The {info['year']} deficit was US$ {d:.1f} billion; no later complete year is in the data."
    m = float(info["max_deficit"]) / 1000  # type: ignore[arg-type]
    return (
        f"The report's {info['year']} 'high' of the U.S. goods deficit with {display_name(str(info['partner']))} "
        f"(US$ {d:.1f} billion in the cleaned Census data) did not last: {info['later_larger']} of the "
        f"{info['later_years']} complete years since then were larger, and the largest, {info['max_year']}, "
        f"reached US$ {m:.1f} billion, {m / d:.1f} times as much (data through {info['data_through']})."
    )


def display_path(path: str | Path) -> str:
    """``path`` relative to the repository root when it is inside it, else as given."""
    for p in (Path(path), Path(path).resolve()):
        if p.is_relative_to(config.ROOT):
            return str(p.relative_to(config.ROOT))
    return str(path)


def optional_sources_text(context: ClaimsContext) -> str:
    """Where the optional sources were read from (``read from `folder, folder```), or that they
    were not available in this run."""
    folders = sorted({display_path(d) for d in (context.reference_dir, context.census_api_dir) if d})
    return f"read from `{', '.join(folders)}`" if folders else "not available in this run"
