"""The floor of the benchmark: the pipeline's analysis as one plain Python process.

``python benchmarks/floor.py --root DIR [--json OUT]``

Does the work of ``make all`` (every source of the data manifest, cleaning, the default partner's models and figures, the
KORUS context and the claims check, the landing page) with the same ``analysis`` calls as the
notebooks ``01``..``04`` (the Korea report's parameters come from ``analysis.params``, as in
``make report``), but with no ``make``, no papermill, no Jupyter kernel and no nbconvert: one
interpreter, each library imported once. Tables and narrative that the notebooks only display
are not rendered, and there are no notebook HTML pages (there are no executed notebooks to
convert); the landing page ``reports/index.html`` is written. Outputs go under ``DIR`` (a copy
of the repository; ``ANALYSIS_ROOT`` is set to it before ``analysis`` is imported), raw files
come from ``$ANALYSIS_DATA_MIRROR`` exactly as in ``make data``.

The environment matches the Makefile's exports (single-threaded BLAS, Agg backend, matplotlib
state under ``DIR/build/cache``), so the comparison with the pipeline is like for like.
Phase times (seconds since the interpreter started running this file) are printed as one JSON
object on stdout, and written to ``--json`` when given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()

PARTNER = "5800"
START = "2000-01"
END = ""
BREAKS = ["2012-03", "2019-01"]


def _environment(root: Path) -> None:
    """The Makefile's exported variables, set before numpy/matplotlib/analysis are imported."""
    cache = root / "build" / "cache"
    os.environ["ANALYSIS_ROOT"] = str(root)
    os.environ["MPLCONFIGDIR"] = str(cache / "matplotlib")
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    os.environ["OMP_NUM_THREADS"] = "1"
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


def run(root: Path) -> dict[str, float]:
    """Do the whole analysis under ``root``; return the seconds of each phase."""
    _environment(root)
    clock = Phases()

    import matplotlib.pyplot as plt  # noqa: F401  (imported here so the import phase is separate)
    import pandas as pd

    from analysis import config
    from analysis import params as params_mod
    from analysis.claims import check as claims
    from analysis.claims import view
    from analysis.clean import series
    from analysis.clean import table as clean
    from analysis.errors import AnalysisError
    from analysis.models.base import SERIES
    from analysis.models.run import run_models
    from analysis.params import build_params
    from analysis.partners import resolve
    from analysis.report import figures, publish, results, text
    from analysis.sources import fetch, manifest

    clock.mark("imports")

    # ---- make data -------------------------------------------------------------------------
    # Every source of the manifest, as `make data` does; optional ones may be unavailable.
    raw: dict[str, Path] = {}
    for sid, source in manifest.load_manifest().items():
        try:
            raw[sid] = fetch.ensure(sid)
        except AnalysisError:
            if source.required:
                raise
    raw_census, raw_wdi = raw["census"], config.RAW_DIR / "wdi_kor.csv"
    clock.mark("data")

    # ---- 01_clean ----------------------------------------------------------------------------
    result = clean.run(raw_census, config.PROCESSED_DIR)
    clean.data_quality_summary(result)
    clock.mark("clean")

    # ---- make report PARTNER=5800 (params) + 02_trends ----------------------------------------
    params = build_params(resolve(PARTNER), START, END, BREAKS)
    trade = series.load_trade(config.TRADE_MONTHLY_CSV)
    who = series.resolve_partner(trade, params["partner"])
    report_dir = config.REPORTS_DIR / who.slug
    fig_dir = report_dir / "figures"
    monthly = series.partner_monthly(trade, who.code, params["start"], params["end"])
    breaks, train_end = params_mod.validate(
        params["breaks"],
        first=monthly.index.min(),
        last=monthly.index.max(),
        train_end=params["train_end"],
        forecast_model="sarimax",
    )
    through = series.data_through(monthly)
    sa_path = config.TRADE_MONTHLY_CSV.parent / "sa" / f"{who.slug}.csv"
    figures.set_theme()
    annual = series.annual(monthly)
    figures.save_figure(
        figures.plot_annual_balance(annual, partner=who.name, data_through=through),
        fig_dir,
        "annual_balance",
    )
    clock.mark("trends: data and first figure")

    mrun = run_models(monthly, breaks=breaks, train_end=train_end, forecast_model="sarimax")
    outcome = results.build_results(who.code, who.name, monthly, run=mrun)
    coef = results.coefficients_table(mrun)
    clock.mark("trends: run_models")

    figures.save_figure(
        figures.plot_monthly_trade(monthly, mrun.sa, partner=who.name, data_through=through),
        fig_dir,
        "monthly_trade",
    )
    if "balance" in mrun.stl:
        figures.save_figure(
            figures.plot_stl(
                mrun.stl["balance"], series_label="Balance", partner=who.name, data_through=through
            ),
            fig_dir,
            "stl_balance",
        )
    for col in SERIES:
        if col not in mrun.its:
            continue
        cf = mrun.counterfactuals.get(col)
        fig = figures.plot_its(
            mrun.its[col].fit,
            forecast=cf.forecast if cf else None,
            series_label=text.LABELS[col].removeprefix("The ").capitalize(),
            partner=who.name,
            data_through=through,
            breaks=breaks,
            unit="US$ millions",
        )
        figures.save_figure(fig, fig_dir, f"its_{col}")
    for table in (
        text.effects_table(mrun),
        text.effects_table(mrun, crisis=True),
        text.tests_table(mrun),
        text.counterfactual_table(mrun),
        text.diagnostics_table(mrun),
    ):
        assert isinstance(table, pd.DataFrame)
    results.write_outputs(outcome, coef, mrun.sa, report_dir, sa_path)
    clock.mark("trends: figures and outputs")

    # ---- 03_partners (default parameters of the notebook) ------------------------------------
    _context(notebook_parameters(root / "notebooks" / "03_partners.ipynb"))
    clock.mark("context (03_partners)")

    # ---- 04_claims ---------------------------------------------------------------------------
    table = claims.load_claims(config.EXTERNAL_DIR / "claims.csv")
    # The Makefile passes reference_dir and census_api_dir = data/raw (optional sources there).
    ctx = claims.ClaimsContext.from_paths(
        config.TRADE_MONTHLY_CSV,
        raw_wdi,
        claims.optional_dir("data/raw", "reference"),
        claims.optional_dir("data/raw", "census-api"),
    )
    res = claims.evaluate(table, ctx)
    claims.write_results(res, config.REPORTS_DIR / "claims.csv")
    view.verdict_counts(res)
    _, args = claims.parse_computation(table.set_index("id").loc["deficit_2015", "computation"])
    view.deficit_sentence(claims.deficit_outlook(ctx.trade, args["partner"], args["year"]))
    clock.mark("claims (04_claims)")

    # ---- landing page ------------------------------------------------------------------------
    publish.build_index(config.REPORTS_DIR)
    clock.mark("index.html")
    return clock.seconds


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The default parameters of a notebook: its ``parameters`` cell, executed."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    values: dict[str, Any] = {}
    exec("".join(cell["source"]), {}, values)
    return values


def _context(p: dict[str, Any]) -> None:
    """The computations and figures of ``03_partners.ipynb`` with its default parameters ``p``,
    through the same package calls as the notebook (tables and sentences are not rendered)."""
    from analysis import config
    from analysis.clean.series import load_trade
    from analysis.models import comparison as cmp
    from analysis.models import context, did_reading
    from analysis.report import context_plots, figures, theme
    from analysis.sources import wdi

    setup = context.setup(
        load_trade(config.from_root(p["data_path"])),
        p["focus"],
        p["comparators"],
        p["did_controls"],
        p["start"],
    )
    trade, through, focus_name = setup.trade, setup.data_through, setup.focus_name
    base = int(p["base_year"])
    fig_dir = config.from_root(p["out_dir"]) / "figures"
    theme.set_theme()

    balances = cmp.wide_by_partner(cmp.annual_totals(trade, setup.codes), "balance")[setup.shown]
    figures.save_figure(
        context_plots.plot_partner_balances(balances, focus=focus_name, data_through=through),
        fig_dir,
        "partners_balance",
    )

    shares_m = cmp.trade_shares(trade, setup.focus, setup.world, freq="monthly")
    shares_a = cmp.trade_shares(trade, setup.focus, setup.world, freq="annual")
    figures.save_figure(
        context_plots.plot_partner_shares(
            shares_m, shares_a, partner=focus_name, data_through=through
        ),
        fig_dir,
        "partners_korea_share",
    )

    index = cmp.index_to_base(trade, setup.codes, "exports", base)[setup.shown]
    figures.save_figure(
        context_plots.plot_index(
            index, focus=focus_name, base_year=base, flow="exports", data_through=through
        ),
        fig_dir,
        "partners_export_index",
    )

    checks = context.did_checks(
        setup,
        break_date=p["break_date"],
        start=p["start"],
        end=p["did_end"],
        window=int(p["placebo_window"]),
    )
    label = context.FLOW_LABELS
    fig = context_plots.plot_event_study(
        {label[f]: checks.studies[f] for f in checks.studies},
        partner=focus_name,
        controls_label="partners without a U.S. FTA",
        break_date=p["break_date"],
        data_through=through,
        subtitles={
            label[f]: f"placebo p = {checks.placebos[f].pvalue:.2f}" for f in checks.placebos
        },
    )
    figures.save_figure(fig, fig_dir, "partners_did_event_study")
    figures.save_figure(
        context_plots.plot_placebo(
            {label[f]: checks.placebos[f] for f in checks.placebos},
            partner=focus_name,
            data_through=through,
        ),
        fig_dir,
        "partners_did_placebo",
    )
    did_reading.verdict(checks.rows, checks.placebos)

    macro = wdi.korea_macro(
        wdi.read_wdi(config.from_root(p["wdi_path"])), start=int(p["start"][:4])
    )
    figures.save_figure(
        context_plots.plot_korea_macro(macro, source=context_plots.macro_source(macro)),
        fig_dir,
        "korea_macro",
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python benchmarks/floor.py", description=__doc__.splitlines()[0]
    )
    ap.add_argument(
        "--root",
        type=Path,
        required=True,
        help="a copy of the repository; outputs (data/processed, reports) are written there",
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the phase times here")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    root = args.root.resolve()
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
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
