"""Partner look-up: Census country codes, names and report slugs.

Standard library only, so ``python -m analysis.partners slug Japan`` answers in a few
milliseconds from the Makefile. The table it reads, ``data/processed/partners.csv``, is
written by the cleaning step from the Census file itself.

Command line::

    python -m analysis.partners slug QUERY   # prints the slug, e.g. korea-south
    python -m analysis.partners code QUERY   # prints the Census code, e.g. 5800
    python -m analysis.partners list 2012-03 # slugs of countries with data around that month
"""

from __future__ import annotations

import csv
import difflib
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from analysis import config
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
        raise AnalysisError(f"{path}: partner table not found; run `make data/processed/trade_monthly.csv` first")
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [
        Partner(
            code=int(r["partner_code"]),
            name=r["partner"],
            slug=r["slug"],
            is_aggregate=r["is_aggregate"].strip().lower() in {"true", "1"},
            first_month=r["first_month"],
            last_month=r["last_month"],
            months=int(r["months"]),
            months_with_trade=int(r["months_with_trade"]),
        )
        for r in rows
    ]


def resolve(query: str | int, partners: list[Partner] | None = None) -> Partner:
    """Find a partner by Census code (``5880``), name (``japan``, any case) or slug.

    Raises ``ParameterError`` with the closest names when nothing matches exactly.
    """
    if partners is None:
        partners = load_partners()
    q = str(query).strip()
    if not q:
        raise ParameterError("partner: empty; give a Census code (5800) or a name (Japan)")
    if q.lstrip("0").isdigit() or q == "0":
        code = int(q)
        for p in partners:
            if p.code == code:
                return p
        raise ParameterError(f"partner {q}: no Census partner has this code (Korea, South is 5800)")
    folded = q.casefold()
    for p in partners:
        if folded == p.slug:
            return p
    # Census reuses a few names under two codes (Israel 5080/5081): take the current one.
    same_name = [p for p in partners if p.name.casefold() == folded]
    if same_name:
        return max(same_name, key=lambda p: (p.last_month, p.code))
    names = {p.name.casefold(): p for p in partners}
    close = difflib.get_close_matches(folded, list(names), n=3, cutoff=0.5)
    # Also offer names that contain the query ("korea" -> both Koreas).
    close += [n for n in names if folded in n and n not in close]
    hint = ", ".join(f"{names[n].name} ({names[n].code})" for n in close[:4])
    raise ParameterError(
        f"partner {q!r}: unknown" + (f"; closest: {hint}" if hint else "; see data/processed/partners.csv")
    )


def countries_covering(month: str, partners: list[Partner] | None = None, *, margin: int = 36) -> list[Partner]:
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
        p for p in partners
        if not p.is_aggregate and index(p.first_month) <= first and index(p.last_month) >= last
        and p.months_with_trade == p.months
    ]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "list":
        try:
            print("\n".join(p.slug for p in countries_covering(args[1])))
        except AnalysisError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    if len(args) != 2 or args[0] not in {"slug", "code", "name"}:
        print("usage: python -m analysis.partners {slug|code|name|list} QUERY", file=sys.stderr)
        return 2
    try:
        p = resolve(args[1])
    except AnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print({"slug": p.slug, "code": p.code, "name": p.name}[args[0]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
