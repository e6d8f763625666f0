"""Publish the reports as a static, offline HTML site.

* :func:`export_notebook` turns an executed notebook into one self-contained HTML page with
  the ``offline`` nbconvert template (``templates/offline/``): the JupyterLab look without
  any script or stylesheet from a CDN, code hidden, figures embedded as base64 PNG, a header
  bar linking back to the landing page, the page's data files (declared in the page registry,
  :mod:`analysis.report.pages`) and a footer naming the data vintage
  (:mod:`analysis.report.provenance`). No build timestamp, so the same notebook always gives
  the same bytes.
* ``index`` writes ``reports/index.html``, the landing page (:mod:`analysis.report.landing`,
  through the template ``templates/landing.html.j2``).
* ``make publish`` packs the finished site: :mod:`analysis.report.bundle`.

Command line::

    python -m analysis.report.publish notebook IN.ipynb OUT.html [--index-href HREF]
    python -m analysis.report.publish index REPORTS_DIR

Errors the user can cause (a missing notebook, one that is not notebook JSON, a bad command
line, results of another data vintage) print one ``error: ...`` line and exit with status 2.
A failure of nbconvert on a readable notebook is a bug (in a template, a filter, this module):
it keeps its traceback.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from analysis import cli, config
from analysis.errors import DataError
from analysis.fileio import write_text_atomic
from analysis.report import landing
from analysis.report.pages import data_links
from analysis.report.provenance import data_vintage, vintage_text

#: Folder holding the nbconvert template ``offline`` (a child of this folder).
TEMPLATE_DIR: Path = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "offline"

# ---- notebook -> HTML ------------------------------------------------------------------------

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _plain(markdown: str) -> str:
    """Strip inline markdown (links, emphasis, code marks) from a heading."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = re.sub(r"[*_`]+", "", text)
    return re.sub(r"\s+", " ", text).strip()


#: A notebook number leading a heading ("02 · ", "03 - ", "4. "): the notebook's order in
#: the pipeline, not part of the published page's title.
_NUMBER_PREFIX = re.compile(r"^\d{1,2}\s*[·.:\-–—]\s+")


def page_title(heading: str) -> str:
    """A published page's title from a notebook heading: ``"02 · Trends in ..."`` ->
    ``"Trends in ..."`` (inline markdown stripped, the notebook number dropped)."""
    return _NUMBER_PREFIX.sub("", _plain(heading)).strip()


def notebook_title(nb: Any, default: str = "Report") -> str:
    """The page title from the notebook's first markdown heading (:func:`page_title`), or
    ``default``."""
    for cell in nb.cells:
        if cell.get("cell_type") != "markdown":
            continue
        m = _HEADING.search(str(cell.get("source", "")))
        if m and page_title(m.group(1)):
            return page_title(m.group(1))
    return default


def unnumber_heading(nb: Any) -> None:
    """Drop the notebook number from the first markdown heading of ``nb`` (in place), so the
    page's visible heading reads as its title (:func:`page_title`)."""
    for cell in nb.cells:
        if cell.get("cell_type") != "markdown":
            continue
        source = str(cell.get("source", ""))
        m = _HEADING.search(source)
        if m:
            start = m.start(1)
            cell["source"] = source[:start] + _NUMBER_PREFIX.sub("", source[start:], count=1)
            return


def index_href_for(html_path: Path) -> str:
    """Relative link from ``html_path`` to ``index.html`` of the enclosing ``reports`` folder."""
    target = Path(os.path.abspath(html_path))
    reports = Path(os.path.abspath(config.REPORTS_DIR))
    for parent in target.parents:
        if parent == reports or parent.name == "reports":
            return Path(os.path.relpath(parent / "index.html", target.parent)).as_posix()
    return "../index.html"


#: Papermill gives the cell it injects a random cell id, which would make a rebuilt page differ
#: from the last one. (pandas Styler tables get fixed ids where they are made:
#: :func:`analysis.report.markup.table`.)


def stable_ids(nb: Any) -> None:
    """Give papermill's injected-parameters cell a fixed id (in place)."""
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"


@functools.cache
def _exporter() -> Any:
    """The page exporter, made once a process: it compiles its templates on first use, about
    0.2 s that a batch would otherwise pay again for every page."""
    from nbconvert import HTMLExporter  # imported late: slow
    from traitlets.config import Config

    c = Config()
    c.HTMLExporter.extra_template_basedirs = [str(TEMPLATE_DIR)]
    c.HTMLExporter.template_name = TEMPLATE_NAME
    c.HTMLExporter.theme = "light"
    c.HTMLExporter.exclude_input = True
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    c.HTMLExporter.embed_images = True
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = {"remove-cell", "remove_cell"}
    c.TagRemovePreprocessor.remove_all_outputs_tags = {"remove-output", "remove_output"}
    return _page_exporter_class(HTMLExporter)(config=c)


def _page_exporter_class(html_exporter: type) -> type:
    """nbconvert's HTML exporter, but its last step finds the elements it marks without CSS
    selectors. That step gives an image without alt text a placeholder and the cells' input
    and output areas ``tabindex="0"``; with ``soup.select`` it had soupsieve compile its
    selector grammar in every page process, about 0.2 s of a page's second. The page is byte
    for byte the stock exporter's (``tests/test_publish.py`` compares them)."""
    from bs4 import BeautifulSoup
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class PageExporter(html_exporter):  # type: ignore[misc, valid-type]
        def from_notebook_node(
            self, nb: Any, resources: dict[str, Any] | None = None, **kw: Any
        ) -> tuple[str, dict[str, Any]]:
            # As HTMLExporter.from_notebook_node (nbconvert 7.17), up to its soup.
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight_code = self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
            )
            resources = self._init_resources(resources)
            filter_data_type = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            )
            self.register_filter("highlight_code", highlight_code)
            self.register_filter("filter_data_type", filter_data_type)
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            soup = BeautifulSoup(html, features="html.parser")
            missing_alt = 0
            for elem in soup.find_all("img", alt=False):  # img:not([alt])
                elem.attrs["alt"] = "No description has been provided for this image"
                missing_alt += 1
            if missing_alt:
                self.log.warning("Alternative text is missing on %s image(s).", missing_alt)
            for name in ("jp-Cell-inputWrapper", "jp-OutputArea-output"):  # .jp-Notebook div.<name>
                for elem in soup.find_all("div", class_=name):
                    if elem.find_parent(class_="jp-Notebook") is not None:
                        elem.attrs["tabindex"] = "0"
            return str(soup), resources

    return PageExporter


def _shows_results(html: Path) -> bool:
    """Whether the page ``html`` shows the ``results.json`` beside it: a partner page whose
    registry entry needs it (the trends page), not one made from other data (the sectors page,
    which may be published while the partner's models still run)."""
    from analysis.report.pages import PAGES

    return any(
        p.output == f"{{slug}}/{html.name}" and "reports/{slug}/results.json" in p.needs
        for p in PAGES
    )


def _check_results_beside(html: Path, meta_path: Path | None) -> None:
    """Refuse to publish a page that shows results (:func:`_shows_results`) next to results of
    another data vintage or other parameters (``DataError`` naming the results file): the page
    would show one run, its data another."""
    results_path = html.parent / "results.json"
    if not results_path.is_file() or not _shows_results(html):
        return
    from analysis.report import consistency

    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    reason = consistency.stale_reason(
        results, consistency.current_data_sha(meta_path), html.parent / "params.json"
    )
    if reason:
        raise DataError(results_path, f"{reason}; re-run `make report` for this partner")


def export_notebook(
    ipynb: Path,
    html: Path,
    *,
    index_href: str | None = None,
    meta_path: Path | None = None,
) -> Path:
    """Convert the executed notebook ``ipynb`` into the offline HTML page ``html`` (atomic).

    Code inputs and prompts are hidden; outputs (figures as base64 PNG) are kept. The page
    title is the notebook's first heading; the header links to ``index_href`` (default: the
    ``index.html`` of the enclosing ``reports`` folder); the footer names the data vintage
    read from ``meta_path`` (default ``data/processed/trade_monthly.meta.json``).
    """
    import nbformat

    ipynb, html = Path(ipynb), Path(html)
    if not ipynb.is_file():
        raise DataError(ipynb, "no such notebook")
    try:
        nb = nbformat.read(ipynb, as_version=4)
    # Bad input: not JSON or not UTF-8 (ValueError), not a notebook (ValidationError), or
    # JSON of the wrong shape, on which nbformat's upgrade code fails (TypeError & co).
    except (
        OSError,
        ValueError,
        TypeError,
        AttributeError,
        KeyError,
        nbformat.ValidationError,
    ) as exc:
        raise DataError(ipynb, f"not a readable notebook ({type(exc).__name__})") from exc
    _check_results_beside(html, meta_path)
    from analysis.report.outputs import clean_outputs

    for line in clean_outputs(nb, ipynb):  # stderr never reaches a page; say what went
        print(f"note: {ipynb}: stderr output not published: {line}", file=sys.stderr)
    title = notebook_title(nb, default=ipynb.stem)
    unnumber_heading(nb)
    nb.metadata["title"] = title
    stable_ids(nb)
    resources = {
        "metadata": {"name": title, "path": str(ipynb.parent)},
        "offline": {
            "title": title,
            "index_href": index_href if index_href is not None else index_href_for(html),
            "vintage": vintage_text(data_vintage(meta_path)),
            "data_links": data_links(html),
        },
    }
    # A readable notebook that nbconvert cannot convert is a bug, not bad input: no except.
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    if not body.endswith("\n"):
        body += "\n"
    return write_text_atomic(html, body)


# ---- command line ----------------------------------------------------------------------------


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m analysis.report.publish``; returns the exit status."""
    ap = cli.ArgumentParser(
        prog="python -m analysis.report.publish", description="Publish the reports as offline HTML."
    )
    sub = ap.add_subparsers(dest="command", required=True)
    nb = sub.add_parser("notebook", help="executed notebook -> offline HTML page")
    nb.add_argument("ipynb", type=Path)
    nb.add_argument("html", type=Path)
    nb.add_argument(
        "--index-href",
        default=None,
        help="link of the header bar (default: the reports folder's index.html)",
    )
    ix = sub.add_parser("index", help="write REPORTS_DIR/index.html, the landing page")
    ix.add_argument("reports_dir", type=Path)
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "notebook":
        out = export_notebook(args.ipynb, args.html, index_href=args.index_href)
    else:
        out = landing.build_index(args.reports_dir)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
