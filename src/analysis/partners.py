"""Partner look-up: Census country codes, names and report slugs.

Standard library only, so ``python -m analysis.partners slug Japan`` answers in a few
milliseconds from the Makefile. The table it reads, ``data/processed/partners.csv``, is
written by the cleaning step from the Census file itself.

Command line::

    python -m analysis.partners slug [QUERY]  # the report slug, e.g. korea-south
    python -m analysis.partners code [QUERY]  # the Census code, e.g. 5800
    python -m analysis.partners list [MONTH]  # slugs of countries with data around MONTH

QUERY defaults to ``$ANALYSIS_PARTNER`` and MONTH to the first of ``$ANALYSIS_BREAKS``, or when
that is empty to the default partner's entry into force (``data/external/us_ftas.csv``).
"""

from __future__ import annotations

import csv
import difflib
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis import cli, config, external
from analysis.errors import AnalysisError, ParameterError

PARTNER_COLUMNS: tuple[str, ...] = (
    "partner_code",
    "partner",
    "slug",
    "is_aggregate",
    "first_month",
    "last_month",
    "months",
    "months_with_trade",
)


@dataclass(frozen=True)
class Partner:
    """One Census partner (country or aggregate) as listed in ``partners.csv``."""

    code: int
    name: str
    slug: str
    is_aggregate: bool
    first_month: str
    last_month: str
    months: int
    months_with_trade: int


#: Names the site itself uses directly under ``reports/`` (folders, and pages without their
#: ``.html``): a partner whose slug is one of these (a partner renamed ``Korus`` in a new
#: vintage) gets ``<slug>-<code>`` instead, so its report never replaces the site's own files.
RESERVED_SLUGS: frozenset[str] = frozenset(
    {
        "korus",
        "index",
        "vintages",
        "assets",
        "claims",
        "data-quality",
        "agreements",
        "figures",
        "static",
        "build",
        "data",
    }
)


def slugify(name: str) -> str:
    """Turn a Census partner name into a folder-safe slug: ``"Korea, South" -> "korea-south"``."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not slug:
        raise ValueError(f"cannot make a slug from partner name {name!r}")
    return slug


def load_partners(path: str | Path = config.PARTNERS_CSV) -> list[Partner]:
    """Read the partner table written by the cleaning step."""
    path = Path(path)
    if not path.exists():
        raise AnalysisError(
            f"{path}: partner table not found; run `make data/processed/trade_monthly.csv` first"
        )
    with open(path, newline="", encoding="utf-8") as fh:
        return partners_from_rows(csv.DictReader(fh))


def partners_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[Partner]:
    """:class:`Partner` objects from rows with the columns of :data:`PARTNER_COLUMNS` (the
    CSV's text, or the values of the cleaning step's partner table)."""
    return [
        Partner(
            code=int(r["partner_code"]),
            name=str(r["partner"]),
            slug=str(r["slug"]),
            is_aggregate=str(r["is_aggregate"]).strip().lower() in {"true", "1"},
            first_month=str(r["first_month"]),
            last_month=str(r["last_month"]),
            months=int(r["months"]),
            months_with_trade=int(r["months_with_trade"]),
        )
        for r in rows
    ]


#: Common names that differ from Census's (folded, words in any order are matched too).
ALIASES: dict[str, int] = {
    "south korea": 5800,
    "republic of korea": 5800,
    "rok": 5800,
    "north korea": 5790,
    "dprk": 5790,
    "uk": 4120,
    "britain": 4120,
    "great britain": 4120,
    "holland": 4210,
    "czechia": 4351,
    "myanmar": 5460,
    "ivory coast": 7480,
    "north macedonia": 4794,
    "turkiye": 4890,
    "swaziland": 7950,
    "eu": 3,
    "vietnam": 5520,
    "viet nam": 5520,
    "usa": -1,  # the reporter itself, not a partner: reported as such
}


def _words(text: str) -> frozenset[str]:
    """Lower-case ASCII words of a name: ``"Korea, South" -> {"korea", "south"}``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return frozenset(w for w in re.split(r"[^a-z0-9]+", ascii_text.casefold()) if w)


def _by_code(code: int, partners: list[Partner]) -> Partner | None:
    return next((p for p in partners if p.code == code), None)


def _by_alias(q: str, partners: list[Partner]) -> Partner | None:
    """A common name (``South Korea``, ``UK``) or a Census name with its parts reordered."""
    words = _words(q)
    for alias, code in ALIASES.items():
        if _words(alias) == words:
            if code < 0:
                raise ParameterError(
                    f"partner {q!r}: the United States is the reporter, not a partner"
                )
            return _by_code(code, partners)
    return None


def _by_words(q: str, partners: list[Partner]) -> list[Partner]:
    """Partners whose name holds every word of the query (``korea`` -> both Koreas)."""
    words = _words(q)
    if not words:
        return []
    found = [p for p in partners if words <= _words(p.name)]
    exact = [p for p in found if _words(p.name) == words]  # "South Korea" = "Korea, South"
    return exact or found


def resolve(query: str | int, partners: list[Partner] | None = None) -> Partner:
    """Find a partner by Census code (``5880``), name (``japan``, any case), slug, a common
    name (``South Korea``, ``UK``) or the words of its name in any order.

    A query that fits several partners (``Korea``) is reported as ambiguous with each of
    them; one that fits none gets the closest names. Both raise ``ParameterError``.
    """
    if partners is None:
        partners = load_partners()
    q = str(query).strip()
    if not q:
        raise ParameterError("partner: empty; give a Census code (5800) or a name (Japan)")
    if q.lstrip("0").isdigit() or q == "0":
        hit = _by_code(int(q), partners)
        if hit is None:
            raise ParameterError(
                f"partner {q}: no Census partner has this code (Korea, South is 5800)"
            )
        return hit
    folded = q.casefold()
    for p in partners:
        if folded == p.slug:
            return p
    # Census reuses a few names under two codes (Israel 5080/5081): take the current one.
    same_name = [p for p in partners if p.name.casefold() == folded]
    if same_name:
        return max(same_name, key=lambda p: (p.last_month, p.code))
    alias = _by_alias(q, partners)
    if alias is not None:
        return alias
    matches = _by_words(q, partners)
    if len({p.name for p in matches}) == 1:
        return max(matches, key=lambda p: (p.last_month, p.code))
    if matches:
        listed = ", ".join(
            f"{p.name} ({p.code})" for p in sorted(matches, key=lambda p: p.name)[:6]
        )
        raise ParameterError(
            f"partner {q!r}: ambiguous; it matches {listed}: give the code or the full name"
        )
    names = {p.name.casefold(): p for p in partners}
    close = difflib.get_close_matches(folded, list(names), n=3, cutoff=0.5)
    hint = ", ".join(f"{names[n].name} ({names[n].code})" for n in close[:4])
    raise ParameterError(
        f"partner {q!r}: unknown"
        + (f"; closest: {hint}" if hint else "; see data/processed/partners.csv")
    )


def existing_folders(reports_dir: Path | None = None) -> dict[str, str]:
    """Census code (as text) -> the report folder that already holds a ``params.json`` of it
    (the first in name order)."""
    reports_dir = config.REPORTS_DIR if reports_dir is None else reports_dir
    out: dict[str, str] = {}
    for params_file in sorted(reports_dir.glob("*/params.json")):
        try:
            code = json.loads(params_file.read_text(encoding="utf-8")).get("partner")
        except (OSError, ValueError, AttributeError):
            continue
        out.setdefault(str(code), params_file.parent.name)
    return out


def report_slug(
    partner: Partner, reports_dir: Path | None = None, existing: Mapping[str, str] | None = None
) -> str:
    """The report folder of a partner, keyed by its Census code: an existing
    ``reports/<slug>/params.json`` of this code keeps its folder when Census renames the
    partner (``Korea, South`` -> ``South Korea``); otherwise the partner's own slug.
    ``existing`` (:func:`existing_folders`) saves reading the folders again for many partners."""
    if existing is None:
        existing = existing_folders(reports_dir)
    return existing.get(str(partner.code), partner.slug)


def report_folder(
    code: int, partners: list[Partner] | None = None, reports_dir: Path | None = None
) -> str:
    """The folder under ``reports/`` that ``make report PARTNER=<code>`` writes the partner's
    report to (``python -m analysis.partners slug <code>``): :func:`report_slug` of the partner
    with this Census code, i.e. its unique slug of ``partners.csv`` (``israel-5080``,
    ``korus-<code>`` for a reserved name) unless a report of this code already has a folder.
    Every page written into a partner's folder names it by this one rule."""
    return report_slug(resolve(int(code), partners), reports_dir)


def countries_covering(
    month: str, partners: list[Partner] | None = None, *, margin: int = 36
) -> list[Partner]:
    """Countries (not aggregates) with trade in every month from ``margin`` months before
    ``month`` (YYYY-MM) to ``margin`` months after it: those a break model can be fitted to."""
    if partners is None:
        partners = load_partners()
    y, m = int(month[:4]), int(month[5:7])
    first = (y * 12 + m - 1) - margin
    last = (y * 12 + m - 1) + margin

    def index(ym: str) -> int:
        return int(ym[:4]) * 12 + int(ym[5:7]) - 1

    return [
        p
        for p in partners
        if not p.is_aggregate
        and index(p.first_month) <= first
        and index(p.last_month) >= last
        and p.months_with_trade == p.months
    ]


def chosen_folders(folders: Iterable[str], partners: list[Partner] | None = None) -> list[str]:
    """The report folders ``folders`` (``make all-partners PARTNERS='japan canada'``), each
    checked against the partner table, in the order given and without repeats; a name that is
    no partner's report folder is a :class:`~analysis.errors.ParameterError` naming it and the
    way to find the right one."""
    if partners is None:
        partners = load_partners()
    existing = existing_folders()
    known = {report_slug(p, existing=existing) for p in partners}
    out: list[str] = []
    for folder in dict.fromkeys(folders):
        if folder not in known:
            raise ParameterError(
                f"PARTNERS: {folder!r} is no partner's report folder "
                "(python -m analysis.partners slug NAME prints a partner's)"
            )
        out.append(folder)
    return out


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring). The query defaults to the run
    parameter ``ANALYSIS_PARTNER`` and the month of ``list`` to the first of
    ``ANALYSIS_BREAKS`` (the default partner's entry into force when empty): make passes them as
    data in the environment, not as shell text."""
    ap = cli.ArgumentParser(
        prog="python -m analysis.partners",
        description="Look up a partner (Census code, name or a common name) or list partners.",
    )
    ap.add_argument(
        "command",
        choices=("slug", "code", "name", "list"),
        help="slug, code or name of QUERY; list: slugs of the countries with data around MONTH",
    )
    ap.add_argument(
        "query",
        nargs="?",
        metavar="QUERY|MONTH",
        help="the partner (default $ANALYSIS_PARTNER) or, for list, the month YYYY-MM "
        "(default the first of $ANALYSIS_BREAKS, else the default partner's entry into force)",
    )
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "list":
        chosen = config.run_parameter("partners").split()
        if chosen:
            print("\n".join(chosen_folders(chosen)))
            return 0
        given = config.run_parameter("breaks").replace(" ", ",").split(",")[0].strip()
        month = args.query or given or external.agreement_months(config.DEFAULT_PARTNER)[0]
        existing = existing_folders()
        print("\n".join(report_slug(p, existing=existing) for p in countries_covering(month)))
        return 0
    query = (
        args.query
        if args.query is not None
        else config.run_parameter("partner", str(config.DEFAULT_PARTNER))
    )
    p = resolve(query)
    print({"slug": report_slug(p), "code": p.code, "name": p.name}[args.command])
    return 0


if __name__ == "__main__":
    sys.exit(main())
