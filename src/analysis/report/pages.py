"""The page registry: one declaration per page of the site, from which the rest is derived.

Each :class:`Page` names what makes it (a notebook under ``notebooks/`` or a template under
``report/templates/``), where it is written (a path under ``reports/``, with ``{slug}`` for a
partner's page), its title and caption (the landing page's link and the line under it), its
section, and the data files it links (files beside the page, with their labels).

Derived from :data:`PAGES`: the landing page's "Sections" list (:func:`section_links`, in the
order declared here), each page's "Data behind this page" links (:func:`data_links`, used by
:mod:`analysis.report.publish`) and the bundle's list of pages (:mod:`analysis.report.bundle`).
Adding a page is its notebook or template, one entry here, and its Makefile rule.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The section of a page that exists once per partner report (``output`` holds ``{slug}``).
PARTNER = "partner"
#: The section of a page that exists once for the site.
SITE = "site"


@dataclass(frozen=True)
class Page:
    """One page of the site (see the module docstring)."""

    key: str
    title: str
    caption: str
    output: str
    section: str = SITE
    notebook: str | None = None
    template: str | None = None
    #: ``(file, label)``: data files the page links when they are present, relative to it.
    data: tuple[tuple[str, str], ...] = ()
    #: For a partner's page: the landing page lists it for every other partner report too,
    #: as "<partner>: <this>" (empty: only for the default partner).
    other_partners: str = ""
    #: Whether the landing page lists it under "Sections" (the landing page itself: no).
    listed: bool = True
    #: The executed notebook the page is published from (``{slug}`` for a partner's): make's
    #: publishing rule for the page is generated from it (:func:`make_rules`). None: the
    #: page's rule is written in the Makefile (the landing page, the vintages page).
    executed: str | None = None
    #: Further prerequisites of the publishing rule (``{slug}`` allowed).
    needs: tuple[str, ...] = ()
    #: For a partner's page that only some partners have (the FTA partners' evaluation):
    #: the landing page lists it only where it is built (never as "not built yet").
    only_where_built: bool = False

    def path(self, slug: str | None = None) -> str:
        """The page's path under ``reports/`` (``slug`` fills a partner page's ``{slug}``)."""
        if "{slug}" in self.output:
            if not slug:
                raise ValueError(f"page {self.key!r} is a partner's page: give its slug")
            return self.output.format(slug=slug)
        return self.output

    def pattern(self) -> re.Pattern[str]:
        """The paths (under ``reports/``) this page is written to, as a regular expression."""
        parts = [re.escape(p) for p in self.output.split("{slug}")]
        return re.compile("[a-z0-9-]+".join(parts) + r"\Z")


PAGES: tuple[Page, ...] = (
    Page(
        key="index",
        title="Reports",
        caption="Key numbers, trend changes, links to every page",
        output="index.html",
        template="landing.html.j2",
        listed=False,
    ),
    Page(
        key="trends",
        title="Trends and breaks",
        caption="Monthly trade, seasonality, segmented trends, projection of the pre-break path",
        output="{slug}/trends.html",
        section=PARTNER,
        notebook="notebooks/02_trends.ipynb",
        executed="reports/{slug}/02_trends.ipynb",
        needs=("reports/{slug}/results.json",),
        data=(
            ("results.json", "all results (JSON)"),
            ("coefficients.csv", "coefficients (CSV)"),
            ("monthly.csv", "monthly series (CSV)"),
        ),
        other_partners="trends",
    ),
    Page(
        key="evaluation",
        title="Evaluation",
        caption="KORUS among all U.S. FTAs and how robust that average is, a synthetic control "
        "for Korea, and the tests' size",
        output="korus/evaluation.html",
        notebook="notebooks/05_evaluation.ipynb",
        executed="reports/korus/05_evaluation.ipynb",
        data=(("evaluation.json", "evaluation results (JSON)"),),
    ),
    Page(
        key="agreement-evaluation",
        title="Agreement evaluation",
        caption="The partner's own FTA: each design with its robustness checks, the verdict by "
        "stated rules, and whether it survives",
        output="{slug}/evaluation.html",
        section=PARTNER,
        template="agreement_evaluation.html.j2",
        data=(("evaluation.json", "the agreement's estimates, checks and verdicts (JSON)"),),
        other_partners="agreement evaluation",
        # Written by `make agreements` (analysis.report.agreement_page) for every FTA partner,
        # into the partner's report folder; a partner without an agreement has none.
        only_where_built=True,
    ),
    Page(
        key="sectors",
        title="Sectors",
        caption="What U.S.–Korea trade is made of: HS sections, the report's product groups",
        output="{slug}/sectors.html",
        section=PARTNER,
        notebook="notebooks/06_sectors.ipynb",
        executed="reports/{slug}/06_sectors.ipynb",
        data=(("sectors.csv", "sector data by HS chapter and product group (CSV)"),),
    ),
    Page(
        key="vintages",
        title="Vintages",
        caption="How Census revised the data, and whether the KORUS findings change",
        output="vintages.html",
        notebook="notebooks/07_vintages.ipynb",
    ),
    Page(
        key="partners",
        title="Comparison partners",
        caption="Korea against other partners and Korea's macro context",
        output="korus/partners.html",
        notebook="notebooks/03_partners.ipynb",
        executed="reports/korus/03_partners.ipynb",
    ),
    Page(
        key="claims",
        title="Claims check",
        caption="Statements of the policy report tested against the data",
        output="korus/claims.html",
        notebook="notebooks/04_claims.ipynb",
        executed="reports/korus/04_claims.ipynb",
        data=(("../claims.csv", "claims and verdicts (CSV)"),),
    ),
    Page(
        key="agreements",
        title="Every U.S. FTA compared",
        caption="Each agreement evaluated as KORUS: event study, synthetic control, trend",
        output="agreements.html",
        notebook="notebooks/08_agreements.ipynb",
        executed="build/notebooks/08_agreements.ipynb",
        data=(("agreements.json", "every agreement's estimates and verdicts (JSON)"),),
        # Built by `make agreements`; the landing page links it in its own paragraph.
        listed=False,
    ),
    Page(
        key="data-quality",
        title="Data quality",
        caption="What cleaning the Census file found and did",
        output="data-quality.html",
        notebook="notebooks/01_clean.ipynb",
        executed="build/notebooks/01_clean.ipynb",
    ),
)


def page(key: str, pages: Sequence[Page] = PAGES) -> Page:
    """The page declared as ``key``; ``KeyError`` naming the keys when there is none."""
    for p in pages:
        if p.key == key:
            return p
    raise KeyError(f"no page {key!r} (pages: {', '.join(p.key for p in pages)})")


def page_at(relpath: str, pages: Sequence[Page] = PAGES) -> Page | None:
    """The page written to ``relpath`` (a POSIX path under ``reports/``), or None. A page
    declared at that very path wins over a partner's page whose pattern it fits
    (``korus/evaluation.html`` is KORUS's evaluation, not a partner ``korus``'s)."""
    exact = next((p for p in pages if p.output == relpath), None)
    return exact or next((p for p in pages if p.pattern().match(relpath)), None)


def reports_root(html: Path) -> Path | None:
    """The ``reports`` folder holding the page ``html`` (its nearest ancestor of that name)."""
    for parent in Path(os.path.abspath(html)).parents:
        if parent.name == "reports":
            return parent
    return None


def data_links(html: Path, pages: Sequence[Page] = PAGES) -> list[dict[str, str]]:
    """``[{"href", "label"}]``: the data files the page ``html`` declares (:attr:`Page.data`)
    that are present beside it. A page not in the registry links nothing."""
    html = Path(html)
    root = reports_root(html)
    if root is None:
        return []
    found = page_at(Path(os.path.relpath(os.path.abspath(html), root)).as_posix(), pages)
    if found is None:
        return []
    return [
        {"href": name, "label": label}
        for name, label in found.data
        if (html.parent / name).is_file()
    ]


def section_links(
    reports_dir: Path,
    partners: Iterable[Mapping[str, Any]],
    default_slug: str | None,
    pages: Sequence[Page] = PAGES,
) -> list[dict[str, Any]]:
    """The landing page's "Sections": ``{"title", "href", "caption", "built"}`` for each
    listed page in declared order (a partner's page for ``default_slug``), then each other
    partner's pages marked :attr:`Page.other_partners`; a page marked
    :attr:`Page.only_where_built` only where it is. ``href`` is relative to ``reports_dir``;
    ``built`` says whether the file is there."""

    def absent(p: Page, slug: str) -> bool:
        return p.only_where_built and not (Path(reports_dir) / p.path(slug)).is_file()

    items: list[tuple[str, str, str]] = []
    for p in pages:
        if not p.listed:
            continue
        if p.section == PARTNER:
            if default_slug and not absent(p, default_slug):
                items.append((p.title, p.path(default_slug), p.caption))
        else:
            items.append((p.title, p.path(), p.caption))
    for partner in partners:
        slug = partner.get("slug")
        if not slug or slug == default_slug:
            continue
        for p in pages:
            if p.listed and p.other_partners and p.section == PARTNER:
                if absent(p, str(slug)):
                    continue
                name = partner.get("partner") or slug
                items.append((f"{name}: {p.other_partners}", p.path(str(slug)), "Partner report"))
    return [
        {"title": t, "href": h, "caption": c, "built": (Path(reports_dir) / h).is_file()}
        for t, h, c in items
    ]


def make_rules(pages: Sequence[Page] = PAGES) -> str:
    """The Makefile fragment (``build/pages.mk``): one rule per page naming its executed
    notebook, publishing it to ``reports/<output>`` (a pattern rule, ``%`` for the slug, for
    a partner's page). Included by the Makefile after ``build/deps.mk``."""
    lines = [
        "# Generated by python -m analysis.report.pages from the page registry: do not edit.",
        "# One rule per page published from an executed notebook (analysis.report.pages.PAGES).",
    ]
    for p in pages:
        if not p.executed:
            continue
        target = "reports/" + p.output.replace("{slug}", "%")
        prereqs = [p.executed, *p.needs]
        prereqs = [x.replace("{slug}", "%") for x in prereqs]
        lines += [
            "",
            f"{target}: {' '.join(prereqs)} $(DEPS_publish) | $(ENV_STAMP) $(CACHE)",
            "\t$(PY) -m analysis.report.publish notebook $< $@",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.report.pages OUT.mk``: write :func:`make_rules` to ``OUT.mk``
    (atomically; standard library only, so it runs before the environment exists)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m analysis.report.pages OUT.mk", file=sys.stderr)
        return 2
    out = Path(args[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(make_rules())
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
