"""The page registry: one declaration per page of the site, from which the rest is derived.

Each :class:`Page` names what makes it (a notebook under ``notebooks/`` or a template under
``report/templates/``), where it is written (a path under ``reports/``, with ``{slug}`` for a
partner's page), its title and caption (the landing page's link and the line under it), its
section, the data files it links (files beside the page, with their labels), and for a notebook
page how make runs the notebook (:class:`Run`: its parameters and further inputs).

Derived from :data:`PAGES`: the landing page's "Sections" list (:func:`section_links`, in the
order declared here), each page's "Data behind this page" links (:func:`data_links`, used by
:mod:`analysis.report.publish`), the bundle's list of pages (:mod:`analysis.report.bundle`) and
the Makefile's rules for the pages (:func:`make_rules`, written to ``build/pages.mk``): the rule
running the notebook with papermill into the executed notebook, and the rule publishing that
to HTML, and the list of site pages ``make all`` builds (``REGISTRY_CONTEXT_PAGES``, the
pages marked :attr:`Page.context`). Adding a site page is its notebook or template and one
entry here; a partner's page also needs its file in ``PAGES_partner``.

Three notebooks are run by rules written in the Makefile instead (:data:`RUN_BY_HAND`, which
says why): their recipes have shell logic a declaration would only hide.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis import cli

#: The section of a page that exists once per partner report (``output`` holds ``{slug}``).
PARTNER = "partner"
#: The section of a page that exists once for the site.
SITE = "site"

#: The notebooks make runs by a rule written in the Makefile (not generated), and why.
RUN_BY_HAND: dict[str, str] = {
    "notebooks/02_trends.ipynb": "a pattern rule for every partner report (reports/%/): its "
    "parameters come from the report's params.json (-f) and results.json is a second output",
    "notebooks/06_sectors.ipynb": "a pattern rule for every partner report whose partner code "
    "the recipe's shell reads from params.json (python -m analysis.params --print-partner)",
    "notebooks/07_vintages.ipynb": "run and published in one recipe, and only when its optional "
    "input (the 2016 vintage) and the revisions exist, else one line says what is missing",
}

_VAR_NAME = re.compile(r"[A-Z][A-Z0-9_]*\Z")
#: A file name make and the shell both read literally (a target or prerequisite).
_MAKE_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*\Z")
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Var:
    """A make variable, written ``$(NAME)`` into a generated rule: a file or list of files the
    Makefile or ``build/sources.mk`` defines (``PROCESSED``, ``RAW_WDI``), never a user's
    parameter (those reach Python through the environment)."""

    name: str

    def __post_init__(self) -> None:
        if not _VAR_NAME.match(self.name):
            raise ValueError(f"make variable {self.name!r}: capitals, digits and '_' only")


@dataclass(frozen=True)
class Run:
    """How make runs a page's notebook (``$(RUN_NB)``, papermill) into its executed notebook:
    one rule in ``build/pages.mk`` (:func:`run_rule`). Files are paths (``str``, letters,
    digits and ``_./-`` only) or make variables (:class:`Var`)."""

    #: ``(name, value)``: one ``-r NAME VALUE`` each, in order. A ``str`` value is written as
    #: one literal shell word (quoted for the shell, ``$`` doubled for make: never expanded);
    #: a :class:`Var` as ``$(NAME)``.
    params: tuple[tuple[str, str | Var], ...] = ()
    #: Prerequisites besides the notebook and the modules it imports (``$(DEPS_<stem>)``).
    needs: tuple[str | Var, ...] = ()
    #: Raw files whose content stamps are prerequisites (``$(call STAMP,...)``, each file of
    #: a variable's list).
    stamped: tuple[Var, ...] = ()
    #: Prerequisites only when they exist (``$(wildcard ...)``).
    if_present: tuple[str | Var, ...] = ()
    #: Made first when missing, never compared by date (after ``|``).
    order_only: tuple[str | Var, ...] = ()
    #: The run's other outputs: one grouped rule (``&:``) writes them all, and they are
    #: ``.PRECIOUS`` (GNU make 4.3 deletes a grouped rule's unchanged targets when it fails).
    writes: tuple[str | Var, ...] = ()


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
    #: Whether ``make all`` builds the page through ``make context-pages`` (the site's pages
    #: other than the landing page, the data-quality page, a prerequisite of ``make all``, and
    #: the agreements pages of ``make agreements``): the Makefile's ``CONTEXT_PAGES`` is
    #: ``REGISTRY_CONTEXT_PAGES``, these pages (with the claims table).
    context: bool = False
    #: How make runs :attr:`notebook` into :attr:`executed` (:func:`run_rule`). None: the
    #: notebook's run is written in the Makefile (:data:`RUN_BY_HAND`) or there is none.
    run: Run | None = None

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


#: The monthly table the KORUS notebooks read (one of ``$(PROCESSED)``).
_TRADE = "data/processed/trade_monthly.csv"

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
        context=True,
        title="Evaluation",
        caption="KORUS among all U.S. FTAs and how robust that average is, a synthetic control "
        "for Korea, and the tests' size",
        output="korus/evaluation.html",
        notebook="notebooks/05_evaluation.ipynb",
        executed="reports/korus/05_evaluation.ipynb",
        # The size of the trend tests comes from the size simulation (benchmarks/size.json,
        # written by benchmarks/size_sim.py), when there is one.
        run=Run(
            params=(
                ("out_dir", "reports/korus"),
                ("data_path", _TRADE),
                ("ftas_path", Var("FTAS")),
                ("size_path", "benchmarks/size.json"),
            ),
            needs=(Var("PROCESSED"), Var("FTAS"), Var("DONOR_RULE")),
            if_present=("benchmarks/size.json",),
            writes=("reports/korus/evaluation.json",),
        ),
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
        context=True,
        title="Vintages",
        caption="How Census revised the data, and whether the KORUS findings change",
        output="vintages.html",
        notebook="notebooks/07_vintages.ipynb",
    ),
    Page(
        key="partners",
        context=True,
        title="Comparison partners",
        caption="Korea against other partners and Korea's macro context",
        output="korus/partners.html",
        notebook="notebooks/03_partners.ipynb",
        executed="reports/korus/03_partners.ipynb",
        run=Run(
            params=(
                ("out_dir", "reports/korus"),
                ("data_path", _TRADE),
                ("wdi_path", Var("RAW_WDI")),
            ),
            needs=(Var("PROCESSED"), Var("DATES"), Var("RAW_WDI")),
            stamped=(Var("RAW_WDI"),),
        ),
    ),
    Page(
        key="claims",
        context=True,
        title="Claims check",
        caption="Statements of the policy report tested against the data",
        output="korus/claims.html",
        notebook="notebooks/04_claims.ipynb",
        executed="reports/korus/04_claims.ipynb",
        # The optional sources (RAW_OPTIONAL) are obtained first when they can be; a claim
        # whose source is absent is not_checkable. The product table counts when present.
        run=Run(
            params=(
                ("out_dir", "reports"),
                ("data_path", _TRADE),
                ("wdi_path", Var("RAW_WDI")),
                ("claims_path", Var("CLAIMS_FILE")),
                ("reference_dir", "data/raw"),
                ("census_api_dir", "data/raw"),
            ),
            needs=(
                Var("PROCESSED"),
                Var("RAW_WDI"),
                Var("CLAIMS_FILE"),
                Var("REVISION_TOLERANCES"),
            ),
            stamped=(Var("RAW_WDI"), Var("RAW_OPTIONAL")),
            if_present=(Var("PRODUCTS"),),
            order_only=(Var("RAW_OPTIONAL"),),
            writes=("reports/claims.csv",),
        ),
        data=(("../claims.csv", "claims and verdicts (CSV)"),),
    ),
    Page(
        key="agreements",
        title="Every U.S. FTA compared",
        caption="Each agreement evaluated as KORUS: event study, synthetic control, trend",
        output="agreements.html",
        notebook="notebooks/08_agreements.ipynb",
        executed="build/notebooks/08_agreements.ipynb",
        # Every U.S. FTA evaluated as KORUS (analysis.models.agreements): the event-study
        # cohort, the synthetic control and the segmented trend at each agreement's own
        # dates, a verdict by fixed rules. Run by `make agreements`, after `make all`.
        run=Run(
            params=(
                ("out_dir", "reports"),
                ("data_path", _TRADE),
                ("ftas_path", Var("FTAS")),
                ("donor_rule_path", Var("DONOR_RULE")),
            ),
            needs=(Var("PROCESSED"), Var("FTAS"), Var("DONOR_RULE")),
            writes=("reports/agreements.json",),
        ),
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
        # The cleaning step: the processed tables are the run's outputs.
        run=Run(
            params=(("raw_path", Var("RAW_CENSUS")), ("out_dir", "data/processed")),
            needs=(Var("RAW_CENSUS"),),
            stamped=(Var("RAW_CENSUS"),),
            writes=(Var("PROCESSED"),),
        ),
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


def _file(item: str | Var) -> str:
    """A file or variable as make text (a path is checked to be read literally)."""
    if isinstance(item, Var):
        return f"$({item.name})"
    if not _MAKE_WORD.match(item):
        raise ValueError(f"file {item!r}: letters, digits and '_./-' only (make reads it)")
    return item


def _word(value: str | Var) -> str:
    """A parameter value as one literal shell word in a recipe (``$`` doubled for make)."""
    if isinstance(value, Var):
        return f"$({value.name})"
    if "\n" in value:
        raise ValueError(f"parameter value {value!r}: one line only")
    return shlex.quote(value).replace("$", "$$")


def _wrap(head: str, words: Sequence[str], width: int = 100) -> list[str]:
    """``head`` and ``words`` as recipe lines of at most ``width`` characters (one word
    per line beyond it), continued with backslashes."""
    lines, line = [], "\t" + head
    for w in words:
        if len(line) + 1 + len(w) + 2 > width and line.strip():
            lines.append(line + " \\")
            line = "\t  " + w
        else:
            line += " " + w
    return [*lines, line]


def run_rule(p: Page) -> list[str]:
    """The lines of make's rule running the notebook of page ``p`` (:attr:`Page.run`): the
    executed notebook and the run's other outputs (one grouped rule, ``.PRECIOUS``), from the
    notebook, the modules it imports, and the declared files; the recipe is ``$(RUN_NB)``
    with one ``-r NAME VALUE`` per parameter, each value one literal word."""
    run = p.run
    if run is None:
        return []
    if not p.notebook or not p.executed or "{slug}" in p.executed:
        raise ValueError(f"page {p.key!r}: a generated run needs a notebook and a fixed executed")
    targets = [_file(p.executed), *(_file(w) for w in run.writes)]
    stem = Path(p.notebook).stem
    prereqs = [_file(p.notebook), *(_file(n) for n in run.needs)]
    if run.stamped:
        files = " ".join(_file(v) for v in run.stamped)
        prereqs.append(f"$(foreach f,{files},$(call STAMP,$(f)))")
    prereqs += [f"$(wildcard {_file(f)})" for f in run.if_present]
    prereqs.append(f"$(DEPS_{stem})")
    order = [*(_file(f) for f in run.order_only), "$(ENV_STAMP)", "$(CACHE)"]
    words: list[str] = []
    for name, value in run.params:
        if not _PARAM_NAME.match(name):
            raise ValueError(f"page {p.key!r}: parameter name {name!r} is not an identifier")
        words.append(f"-r {name} {_word(value)}")
    lines = [f"# {p.notebook} (page {p.key})"]
    if len(targets) > 1:
        lines.append(f".PRECIOUS: {' '.join(targets)}")
    sep = " &:" if len(targets) > 1 else ":"
    lines.append(f"{' '.join(targets)}{sep} {' '.join(prereqs)} | {' '.join(order)}")
    return lines + _wrap(f"$(RUN_NB) {_file(p.notebook)} {_file(p.executed)}", words)


def make_rules(pages: Sequence[Page] = PAGES) -> str:
    """The Makefile fragment (``build/pages.mk``), included by the Makefile after
    ``build/deps.mk`` and the files' variables: for each page with a :attr:`Page.run`, the
    rule running its notebook (:func:`run_rule`); for each page naming its executed notebook,
    the rule publishing it to ``reports/<output>`` (a pattern rule, ``%`` for the slug, for a
    partner's page)."""
    lines = [
        "# Generated by python -m analysis.report.pages from the page registry: do not edit.",
        "# Per page (analysis.report.pages.PAGES): the rule running its notebook, if declared,",
        "# and the rule publishing the executed notebook.",
    ]
    context = [f"reports/{p.output}" for p in pages if p.context]
    lines += [
        "",
        "# The site pages `make all` builds through `make context-pages` (Page.context).",
        f"REGISTRY_CONTEXT_PAGES := {' '.join(context)}",
    ]
    for p in pages:
        if p.run:
            lines += ["", *run_rule(p)]
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


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.report.pages OUT.mk``: write :func:`make_rules` to ``OUT.mk``
    (atomically; standard library only, so it runs before the environment exists)."""
    ap = cli.ArgumentParser(
        prog="python -m analysis.report.pages",
        description="Write the Makefile's page rules (build/pages.mk) from the page registry.",
    )
    ap.add_argument("out", metavar="OUT.mk", type=Path, help="the fragment to write")
    out = ap.parse_args(sys.argv[1:] if argv is None else argv).out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(make_rules())
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
