"""The floor of the benchmark: the pipeline's analysis as one plain Python process.

``python benchmarks/floor.py --root DIR [--json OUT]``

Does the work of ``make all`` with no ``make``, no papermill, no Jupyter kernel and no
nbconvert: one interpreter, each library imported once. It runs the notebooks themselves, not a
copy of their calls: for each notebook, in the order a cold ``make all`` runs them, it reads
``notebooks/<name>.ipynb``, executes its ``parameters`` cell, sets the parameters the
Makefile's recipe passes (``-r NAME VALUE``, and ``-f reports/<slug>/params.json`` for
``02_trends``) as papermill's injected cell would, then executes every code cell in one
namespace per notebook (``__name__ == "__main__"``, working directory ``DIR``, as in the
kernel). Between the notebooks it does in process what the other recipes do:

1. data: every source of the data manifest (``analysis.sources.fetch.ensure``; optional ones
   may be unavailable), as ``make data`` does;
2. ``01_clean``; ``03_partners``; the product table (``analysis.clean.products.main``);
   ``04_claims``; ``05_evaluation``; ``analysis.clean.revisions.main`` and ``07_vintages``;
   the partner's slug and ``params.json`` (``analysis.partners.report_slug``,
   ``analysis.params.main`` with the Makefile's PARTNER, START, END, BREAKS, FORECAST);
   ``02_trends``; ``06_sectors``. The in-process commands and ``07_vintages`` run only when
   their optional raw files are there, as in the Makefile. This is make's order (context
   pages, then ``make report``) but for the product table: a cold ``make all`` builds it for
   ``06_sectors``, after a first ``04_claims``, and its last sub-make re-runs ``04_claims``
   (which depends on the table once it exists); the floor builds it first and runs
   ``04_claims`` once, so its ``claims.csv`` is make's final one;
3. the landing page ``reports/index.html`` (``analysis.report.landing.build_index``).

``IPython.display.display`` is replaced by a function that formats each object with IPython's
own ``DisplayFormatter`` (the mime bundle the kernel would send: ``_repr_html_`` of the tables,
the PNG of the saved figures, ...) and then drops it; a cell's last expression is formatted the
same way, as the kernel's display hook would. No executed notebooks are written and there are
no notebook HTML pages (``analysis.report.publish.export_notebook`` needs an executed
notebook); the landing page is written. Outputs land where make puts them under ``DIR`` (a
copy of the repository; ``ANALYSIS_ROOT`` is set to it before ``analysis`` is imported), raw
files come from ``$ANALYSIS_DATA_MIRROR`` exactly as in ``make data``.

The environment matches the Makefile's exports (single-threaded BLAS, Agg backend, matplotlib
state under ``DIR/build/cache``), so the comparison with the pipeline is like for like. The
modules the notebooks import (found in their code cells) are imported once up front, in the
``imports`` phase. Phase times (seconds) are printed as one JSON object on stdout, and
written to ``--json`` when given; the messages of the in-process commands go to stderr.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import contextlib
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()

# The Makefile's parameters (its defaults: PARTNER, START, END, BREAKS, FORECAST; empty ones
# are the partner's defaults, chosen by analysis.params from data/external/us_ftas.csv).
PARTNER = "5800"
START = ""
END = ""
BREAKS = ""
FORECAST = ""

# The Makefile's files (relative to the repository root, as in its recipes).
RAW_CENSUS = "data/raw/country.xlsx"
RAW_WDI = "data/raw/wdi_kor.csv"
RAW_HS2 = "data/raw/imports_hs2_by_country_2023_2024.csv.gz"
RAW_API_EXPORTS = "data/raw/exports_by_country_2013_2024.csv"
RAW_CENSUS_2016 = "data/raw/census_country_vintage_2016.csv"
TRADE = "data/processed/trade_monthly.csv"
PRODUCTS = "data/processed/trade_hs_monthly.csv"
REVISIONS = "data/processed/revisions.csv"
CLAIMS_FILE = "data/external/claims.csv"
FTAS = "data/external/us_ftas.csv"
SECTIONS = "data/external/hs_sections.csv"

#: Each notebook's ``-r`` parameters, as its Makefile recipe passes them ({slug} and {code}:
#: the partner's report folder and Census code, known once the cleaned table exists).
NOTEBOOK_ARGS: dict[str, dict[str, str]] = {
    "01_clean": {"raw_path": RAW_CENSUS, "out_dir": "data/processed"},
    "03_partners": {"out_dir": "reports/korus", "data_path": TRADE, "wdi_path": RAW_WDI},
    "04_claims": {
        "out_dir": "reports",
        "data_path": TRADE,
        "wdi_path": RAW_WDI,
        "claims_path": CLAIMS_FILE,
        "reference_dir": "data/raw",
        "census_api_dir": "data/raw",
    },
    "05_evaluation": {
        "out_dir": "reports/korus",
        "data_path": TRADE,
        "ftas_path": FTAS,
        "size_path": "benchmarks/size.json",
    },
    "07_vintages": {"out_dir": "build/vintages"},
    "02_trends": {"out_dir": "reports/{slug}", "data_path": TRADE},
    "06_sectors": {
        "out_dir": "reports/{slug}",
        "partner": "{code}",
        "products_path": PRODUCTS,
        "sections_path": SECTIONS,
    },
}

#: The phase name of each notebook (``benchmarks/results_md.py`` reads some of these names).
PHASE: dict[str, str] = {
    "01_clean": "clean",
    "02_trends": "trends (02_trends)",
    "03_partners": "context (03_partners)",
    "04_claims": "claims (04_claims)",
    "05_evaluation": "evaluation (05_evaluation)",
    "06_sectors": "sectors (06_sectors)",
    "07_vintages": "vintages (07_vintages)",
}


def _environment(root: Path) -> None:
    """The Makefile's exported variables, set before numpy/matplotlib/analysis are imported."""
    cache = root / "build" / "cache"
    os.environ["ANALYSIS_ROOT"] = str(root)
    os.environ["MPLCONFIGDIR"] = str(cache / "matplotlib")
    os.environ["IPYTHONDIR"] = str(cache / "ipython")
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    os.environ["OMP_NUM_THREADS"] = "1"
    for name, value in (
        ("PARTNER", PARTNER),
        ("START", START),
        ("END", END),
        ("BREAKS", BREAKS),
        ("FORECAST", FORECAST),
    ):
        os.environ[f"ANALYSIS_{name}"] = value
    (cache / "matplotlib").mkdir(parents=True, exist_ok=True)


class Phases:
    """Cumulative clock: ``mark(name)`` records the seconds spent since the previous mark."""

    def __init__(self) -> None:
        self.last = STARTED
        self.seconds: dict[str, float] = {}

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self.last, 3)
        self.last = now


# ---- notebooks -----------------------------------------------------------------------------


def notebook_cells(path: Path) -> list[tuple[str, bool]]:
    """The code cells of a notebook: (source, is the ``parameters`` cell)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [
        ("".join(c["source"]), "parameters" in c.get("metadata", {}).get("tags", []))
        for c in nb["cells"]
        if c["cell_type"] == "code"
    ]


def notebook_imports(paths: list[Path]) -> list[str]:
    """Every module the notebooks' code cells import (``import x``, ``from x import y``)."""
    names: dict[str, None] = {}
    for path in paths:
        for source, _ in notebook_cells(path):
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    names.update(dict.fromkeys(a.name for a in node.names))
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names[node.module] = None
    return list(names)


def _formatter() -> Callable[[Any], None]:
    """A stand-in for ``IPython.display.display``: each object is formatted by IPython's
    ``DisplayFormatter`` (what the kernel does before it sends the output), then dropped."""
    from IPython.core.formatters import DisplayFormatter

    fmt = DisplayFormatter()

    def display(*objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            fmt.format(obj)

    return display


@contextlib.contextmanager
def displays_dropped() -> Iterator[Callable[[Any], None]]:
    """``IPython.display.display`` replaced by the formatter above while the notebooks run."""
    import IPython.core.display_functions as functions
    import IPython.display as public

    display = _formatter()
    saved = public.display, functions.display
    public.display = functions.display = display
    try:
        yield display
    finally:
        public.display, functions.display = saved


def run_notebook(
    path: Path, parameters: dict[str, Any], display: Callable[[Any], None]
) -> dict[str, Any]:
    """Execute the notebook ``path`` as papermill would with ``parameters``: its parameters
    cell, then the parameters set (the injected cell), then every other code cell, in one
    namespace; a cell's last expression, if not None, is displayed. Returns the namespace."""
    cells = notebook_cells(path)
    defaults = next((source for source, is_params in cells if is_params), None)
    if defaults is None:
        raise RuntimeError(f"{path.name}: no cell tagged 'parameters'")
    declared: dict[str, Any] = {}
    exec(defaults, {}, declared)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:  # the Makefile and the notebook disagree: papermill would only warn
        raise RuntimeError(f"{path.name}: not parameters of the notebook: {', '.join(unknown)}")
    ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    for i, (source, is_params) in enumerate(cells, 1):
        tree = ast.parse(source, filename=f"{path.name}, cell {i}")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        try:
            exec(compile(tree, f"<{path.name}, cell {i}>", "exec"), ns)
            if last is not None:
                expr = ast.Expression(last.value)
                value = eval(compile(expr, f"<{path.name}, cell {i}>", "eval"), ns)
                if value is not None:
                    display(value)
        except Exception as exc:
            raise RuntimeError(f"{path.name}, code cell {i}: {type(exc).__name__}: {exc}") from exc
        if is_params:
            ns.update(parameters)
    return ns


def _command(main: Callable[[list[str]], int], argv: list[str]) -> None:
    """A package entry point called in process (its messages to stderr); status 0 or raise."""
    with contextlib.redirect_stdout(sys.stderr):
        status = main(argv)
    if status:
        raise RuntimeError(f"{main.__module__}.main({' '.join(argv)}): exit status {status}")


# ---- the run -------------------------------------------------------------------------------


def run(root: Path) -> dict[str, float]:
    """Do the whole analysis under ``root``; return the seconds of each phase."""
    _environment(root)
    os.chdir(root)  # make's recipes and papermill's kernels run in the repository root
    clock = Phases()
    notebooks = root / "notebooks"

    for name in notebook_imports(sorted(notebooks.glob("*.ipynb"))):
        importlib.import_module(name)
    from analysis import config, params, partners
    from analysis.clean import products, revisions
    from analysis.errors import AnalysisError
    from analysis.report import landing
    from analysis.sources import fetch, manifest

    clock.mark("imports")

    # ---- make data -------------------------------------------------------------------------
    # Every source of the manifest, as `make data` does; optional ones may be unavailable.
    for sid, source in manifest.load_manifest().items():
        try:
            fetch.ensure(sid)
        except AnalysisError:
            if source.required:
                raise
    clock.mark("data")

    def exists(rel: str) -> bool:
        return config.from_root(rel).is_file()

    with displays_dropped() as display:

        def notebook(name: str, extra: dict[str, Any] | None = None, **fill: str) -> None:
            args = {k: v.format(**fill) for k, v in NOTEBOOK_ARGS[name].items()}
            run_notebook(notebooks / f"{name}.ipynb", {**(extra or {}), **args}, display)
            clock.mark(PHASE[name])

        # ---- all: the cleaned table; context-pages ----------------------------------------
        notebook("01_clean")
        notebook("03_partners")
        # make builds the product table for 06_sectors, after a first 04_claims without it; its
        # last sub-make (reports/index.html) then re-runs 04_claims, which depends on the table
        # once it exists. The floor runs 04_claims once, with the table: make's final claims.csv.
        if exists(RAW_HS2):
            _command(products.main, ["--raw", RAW_HS2, "--out-dir", "data/processed"])
        else:
            print("floor: no product data", file=sys.stderr)
        clock.mark("products")
        notebook("04_claims")
        notebook("05_evaluation")
        if exists(RAW_CENSUS_2016) or exists(RAW_API_EXPORTS):
            _command(revisions.main, ["--out", REVISIONS])
        else:
            print("floor: no second vintage: no revisions", file=sys.stderr)
        clock.mark("revisions")
        if exists(RAW_CENSUS_2016) and exists(REVISIONS):
            notebook("07_vintages")
        else:
            print("floor: no 2016 vintage or revisions: 07_vintages skipped", file=sys.stderr)

        # ---- make report: slug, params.json, 02_trends, 06_sectors ------------------------
        slug = partners.report_slug(partners.resolve(PARTNER))
        params_file = config.REPORTS_DIR / slug / "params.json"
        _command(
            params.main,
            [
                str(params_file),
                *("--partner", PARTNER, "--start", START, "--end", END),
                *("--breaks", BREAKS, "--forecast", FORECAST),
            ],
        )
        code = params.read_partner(params_file)
        clock.mark("params.json (partner lookup)")
        notebook("02_trends", json.loads(params_file.read_text(encoding="utf-8")), slug=slug)
        notebook("06_sectors", slug=slug, code=code)

    # ---- landing page ----------------------------------------------------------------------
    landing.build_index(config.REPORTS_DIR)
    clock.mark("index.html")
    return clock.seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python benchmarks/floor.py", description=__doc__.splitlines()[0]
    )
    ap.add_argument(
        "--root",
        type=Path,
        required=True,
        help="a copy of the repository; outputs (data/processed, reports, build) are written there",
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the phase times here")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    root = args.root.resolve()
    json_out = args.json.resolve() if args.json else None  # before run() changes directory
    if not (root / "data" / "raw" / "sources.json").is_file():
        print(
            f"error: {root}: not a copy of the repository (no data/raw/sources.json)",
            file=sys.stderr,
        )
        return 2
    if not os.environ.get("ANALYSIS_DATA_MIRROR"):
        print(
            "error: ANALYSIS_DATA_MIRROR is not set (the floor obtains raw data like `make data`)",
            file=sys.stderr,
        )
        return 2
    try:
        phases = run(root)
    except Exception as exc:  # the AnalysisError subclasses carry a one-line message
        print(f"error: floor: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    phases["total (in process)"] = round(time.perf_counter() - STARTED, 3)
    text = json.dumps(phases)
    if json_out:
        json_out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
