"""The project's vocabulary, defined once: series and flows, how they are named, the claims'
verdicts and their colours, the layout versions of the result files, the projection horizon
to read, which Census codes are aggregates, and how a partner is named on a page.

Every module imports these names from here; none repeats them. (Agreement and event dates are
data, in ``data/external/``, not vocabulary.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: The three monthly series of a partner, in page order.
SERIES: tuple[str, ...] = ("exports", "imports", "balance")
#: The two trade flows (the balance is their difference).
FLOWS: tuple[str, ...] = ("exports", "imports")

#: How each series is named in tables, figure legends and headings.
SERIES_LABELS: dict[str, str] = {
    "exports": "U.S. exports",
    "imports": "U.S. imports",
    "balance": "U.S. balance",
}
#: How each series starts a sentence ("Exports were 12.3 % higher ...").
SERIES_SUBJECTS: dict[str, str] = {
    "exports": "Exports",
    "imports": "Imports",
    "balance": "The balance",
}
#: A flow followed by the partner's name ("U.S. exports to South Korea").
FLOW_PHRASES: dict[str, str] = {"exports": "U.S. exports to", "imports": "U.S. imports from"}

#: The verdicts of the claims check, in display order (the CSV's machine labels).
VERDICTS: tuple[str, ...] = ("supported", "contradicted", "within_revision", "not_checkable")
#: What a reader sees for each verdict.
VERDICT_LABELS: dict[str, str] = {
    "supported": "supported",
    "contradicted": "contradicted",
    "within_revision": "within revision",
    "not_checkable": "not checkable",
}
#: Background colour, text colour and label of each verdict, on every page.
VERDICT_STYLE: dict[str, tuple[str, str, str]] = {
    "supported": ("#1b7837", "#ffffff", VERDICT_LABELS["supported"]),
    "contradicted": ("#c51b7d", "#ffffff", VERDICT_LABELS["contradicted"]),
    "within_revision": ("#fdb863", "#111111", VERDICT_LABELS["within_revision"]),
    "not_checkable": ("#bdbdbd", "#111111", VERDICT_LABELS["not_checkable"]),
}


def verdict_css(verdict: str) -> str:
    """The CSS of a table cell showing ``verdict`` (``""`` for an unknown verdict)."""
    if verdict not in VERDICT_STYLE:
        return ""
    bg, fg, _label = VERDICT_STYLE[verdict]
    return f"background-color: {bg}; color: {fg}"


#: Layout version of ``results.json`` (top-level key ``schema_version``), written by
#: :mod:`analysis.report.results` and required by the landing page.
RESULTS_SCHEMA_VERSION = 1
#: Layout version of ``evaluation.json`` (read by the landing page).
EVALUATION_SCHEMA_VERSION = 1

#: The projection horizon to read (months after the break); longer ones are extrapolation.
HORIZON_MONTHS = 24

#: Census partner codes below this are aggregates (World, EU, regions, NAFTA/USMCA, ...).
AGGREGATE_CODE_LIMIT = 1000


def is_aggregate(code: Any) -> bool:
    """True for a Census aggregate: a partner code below :data:`AGGREGATE_CODE_LIMIT`."""
    try:
        return int(code) < AGGREGATE_CODE_LIMIT
    except (TypeError, ValueError):
        return False


def display_name(partner: str) -> str:
    """How a partner is named on a page: ``"Korea, South"`` reads ``"South Korea"`` (Census
    names of the form ``"X, South"``/``"X, North"`` reordered), other names unchanged.

    The rule: every page names a partner this way; the Census name appears only where the
    Census file itself is described (the data-quality page)."""
    m = re.fullmatch(r"\s*(.+?),\s*(South|North)\s*", partner)
    return f"{m.group(2)} {m.group(1)}" if m else partner.strip()


#: The inference a page quotes for an interval or a p-value, best first: the bootstrap with
#: bias-corrected AR noise (``cal``, whose size is checked by simulation), then the plain
#: bootstrap (``boot``). Plain HAC p-values over-reject on persistent series and are never
#: quoted in their place; a value none of these gives is missing (shown as ``fmt.MISSING``).
#: Each kind with the suffixes its values carry in results and tables (``p_level_calibrated``,
#: ``p_level_boot``, ``p_value_bootstrap``).
QUOTED_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cal", ("_calibrated",)),
    ("boot", ("_boot", "_bootstrap")),
)


def quoted_kind(available: Mapping[str, bool]) -> str | None:
    """The kind of :data:`QUOTED_KINDS` to quote, given which were computed
    (``{"cal": False, "boot": True}`` -> ``"boot"``); None when neither was."""
    return next((kind for kind, _ in QUOTED_KINDS if available.get(kind)), None)


def _present(value: Any) -> bool:
    """Not None and not NaN (an interval, a list, is present)."""
    return value is not None and not (isinstance(value, float) and value != value)


def quoted(row: Mapping[str, Any], key: str) -> Any:
    """The value of ``key`` a page quotes from ``row`` (a results entry or a table row): the
    first present of ``key`` + each suffix of :data:`QUOTED_KINDS` in order, else None. The
    plain ``key`` (HAC) is never the answer."""
    for _kind, suffixes in QUOTED_KINDS:
        for suffix in suffixes:
            value = row.get(f"{key}{suffix}")
            if _present(value):
                return value
    return None
