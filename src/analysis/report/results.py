"""The versioned results.json, coefficients.csv and SA series of a model run (rounded, stable).

This is the report stage: it reads a :class:`~analysis.models.run.ModelRun` and fits nothing
(STL and X-13 both ran in the models stage).

``results.json`` carries ``"schema_version": SCHEMA_VERSION`` at the top level;
:mod:`analysis.report.publish` reads exactly that schema. Change the layout only together
with the version number and the reader.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import config
from analysis.clean import series as ser
from analysis.fileio import replace_dir, write_atomic, write_json_atomic
from analysis.models.breaks import SearchResult
from analysis.models.counterfactual import Counterfactual, Gap
from analysis.models.its import BreakEffect, BreakTest, ITSResult
from analysis.models.run import ModelRun
from analysis.models.seasonal import X13_COLUMNS, adjustment_agreement
from analysis.partners import slugify
from analysis.report.text import CAVEATS
from analysis.vocab import RESULTS_SCHEMA_VERSION, SERIES

#: Version of the results.json layout (top-level key ``schema_version``).
SCHEMA_VERSION = RESULTS_SCHEMA_VERSION


# ---- rounding ----------------------------------------------------------------------------------


def _finite(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def r_money(x: Any) -> float | None:
    """US$ millions to 0.1."""
    v = _finite(x)
    return None if v is None else round(v, 1) + 0.0


def r_p(x: Any) -> float | None:
    """p-values to 4 significant digits."""
    v = _finite(x)
    if v is None or v == 0:
        return v
    return float(f"{v:.4g}")


def r_stat(x: Any) -> float | None:
    """Test statistics, R-squared and the like to 4 decimals."""
    v = _finite(x)
    return None if v is None else round(v, 4) + 0.0


def r_pct(x: Any) -> float | None:
    """Percentages to 0.01."""
    v = _finite(x)
    return None if v is None else round(v, 2) + 0.0


def r_coef(x: Any) -> float | None:
    """Regression coefficients to 6 significant digits."""
    v = _finite(x)
    if v is None or v == 0:
        return v
    return float(f"{v:.6g}")


def _pair(
    ci: Sequence[float] | None, fn: Callable[[Any], float | None]
) -> list[float | None] | None:
    return None if ci is None else [fn(ci[0]), fn(ci[1])]


# ---- JSON of each result object ----------------------------------------------------------------


def _get(d: dict[str, Any] | None, key: str) -> Any:
    return None if d is None else d[key]


def _effect_json(e: BreakEffect) -> dict[str, Any]:
    lvl = r_coef if e.log else r_money
    hac, boot = e.conf_int(kind="hac"), e.conf_int(kind="boot")
    pct_hac, pct_boot = e.pct_conf_int(kind="hac"), e.pct_conf_int(kind="boot")
    p_hac, p_boot, p_cal = e.pvalues("hac"), e.pvalues("boot"), e.pvalues("cal")
    cal, pct_cal = e.conf_int(kind="cal"), e.pct_conf_int(kind="cal")
    return {
        "break": e.break_,
        "unit": "log points" if e.log else "US$ millions per month",
        "level_change": lvl(e.level_change),
        "level_change_ci": _pair(hac["level"], lvl),
        "slope_change": r_coef(e.slope_change),
        "slope_change_ci": _pair(hac["slope"], r_coef),
        "slope_change_per_year": r_coef(e.slope_change_per_year),
        "slope_change_per_year_ci": _pair(hac["slope_per_year"], r_coef),
        "p_level": r_p(p_hac[0]),
        "p_slope": r_p(p_hac[1]),
        "cov_type": e.cov_type,
        "months_before": e.months_before,
        "months_after": e.months_after,
        "pct_level_change": r_pct(e.pct_level_change),
        "pct_level_change_ci": _pair(_get(pct_hac, "level"), r_pct),
        "pct_slope_change_per_year": r_pct(e.pct_slope_change_per_year),
        "pct_slope_change_per_year_ci": _pair(_get(pct_hac, "slope_per_year"), r_pct),
        "level_change_ci_boot": _pair(_get(boot, "level"), lvl),
        "slope_change_ci_boot": _pair(_get(boot, "slope"), r_coef),
        "slope_change_per_year_ci_boot": _pair(_get(boot, "slope_per_year"), r_coef),
        "pct_level_change_ci_boot": _pair(_get(pct_boot, "level"), r_pct),
        "pct_slope_change_per_year_ci_boot": _pair(_get(pct_boot, "slope_per_year"), r_pct),
        "p_level_boot": r_p(p_boot[0]) if p_boot else None,
        "p_slope_boot": r_p(p_boot[1]) if p_boot else None,
        "p_level_calibrated": r_p(p_cal[0]) if p_cal else None,
        "p_slope_calibrated": r_p(p_cal[1]) if p_cal else None,
        "level_change_ci_calibrated": _pair(_get(cal, "level"), lvl),
        "slope_change_ci_calibrated": _pair(_get(cal, "slope"), r_coef),
        "slope_change_per_year_ci_calibrated": _pair(_get(cal, "slope_per_year"), r_coef),
        "pct_level_change_ci_calibrated": _pair(_get(pct_cal, "level"), r_pct),
        "pct_slope_change_per_year_ci_calibrated": _pair(_get(pct_cal, "slope_per_year"), r_pct),
        "p_method": e.cal_method,
    }


def _diag_json(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "ljung_box": [
            {"lag": x["lag"], "statistic": r_stat(x["statistic"]), "p_value": r_p(x["p_value"])}
            for x in d.get("ljung_box", [])
        ],
        "durbin_watson": r_stat(d.get("durbin_watson")),
    }


def _its_json(m: ITSResult) -> dict[str, Any]:
    return {
        "model": "OLS segmented trend + month dummies"
        + (" + crisis dummies" if m.crisis_dummies else ""),
        "log": m.log,
        "unit": "log points (pct_* in %)" if m.log else "US$ millions per month",
        "cov_type": m.cov_type,
        "nobs": m.nobs,
        "r2": r_stat(m.rsquared),
        "breaks": [_effect_json(e) for e in m.effects],
        "dummies": list(m.crisis_dummies),
        "bootstrap": (
            f"HAC t statistics calibrated by a parametric bootstrap: {m.n_boot} replications of "
            f"AR({m.ar_order}) noise fitted to the residuals of the model without the tested "
            "break (the null imposed; seed in params)"
            if m.n_boot
            else None
        ),
        "calibration": (
            f"*_calibrated: {m.n_boot} replications of AR({m.ar_order}) noise with bias-corrected "
            "Yule-Walker coefficients of the residuals of the model without the tested break (the "
            "null imposed; ar_params* are the first break's; actual size at 5 % under noise fitted to the break model and to the model "
            "without breaks, and power, checked by simulation: analysis.models.size)"
            if m.n_boot
            else None
        ),
        "ar_params": [r_coef(v) for v in m.ar_params],
        "ar_params_bias_corrected": [r_coef(v) for v in m.ar_params_bc],
    }


def _gap_json(g: Gap) -> dict[str, Any]:
    return {
        "months": g.months,
        "end": g.end,
        "cumulative_gap": r_money(g.cumulative_gap),
        "gap_ci": _pair(g.gap_ci, r_money),
        "pct_gap": r_pct(g.pct_gap),
        "pct_gap_ci": _pair(g.pct_gap_ci, r_pct),
    }


def _cf_json(c: Counterfactual) -> dict[str, Any]:
    g = c.gap()
    return {
        "model": c.model,
        "train_end": c.train_end,
        "post_start": c.post_start,
        "post_end": c.post_end,
        "months": c.months_post,
        "unit": "US$ millions, summed over the post period",
        "cumulative_gap": r_money(g.cumulative_gap),
        "gap_ci": _pair(g.gap_ci, r_money),
        "pct_gap": r_pct(g.pct_gap),
        "pct_gap_ci": _pair(g.pct_gap_ci, r_pct),
        "by_horizon": [_gap_json(h) for h in c.by_horizon],
        "interval": c.interval_note,
        "param_draws": c.param_draws,
        "converged": c.converged,
    }


def _x13_json(compare: pd.DataFrame) -> dict[str, Any]:
    """X-13ARIMA-SEATS against STL, per flow (``seasonal_adjustment_x13``)."""
    return {
        col: {
            "available": a["available"],
            "reason": a["reason"],
            "mean_abs_diff_pct": r_pct(a["mean_abs_diff_pct"]),
            "growth_corr": r_stat(a["growth_corr"]),
        }
        for col, a in adjustment_agreement(compare).items()
    }


def _known_json(k: BreakTest) -> dict[str, Any]:
    return {
        "date": k.date,
        "statistic": r_stat(k.statistic),
        "df": k.df,
        "p_value": r_p(k.p_value),
        "p_value_asymptotic": r_p(k.p_value_asymptotic),
        "n_boot": k.n_boot,
        "test": k.test,
        "p_value_calibrated": r_p(k.p_value_calibrated),
    }


def _search_json(s: SearchResult) -> dict[str, Any]:
    return {
        "best": s.best,
        "best_method": "least-squares break date (smallest residual sum of squares)",
        "sup_month": s.sup_month,
        "statistic": r_stat(s.statistic),
        "p_value": r_p(s.p_value),
        "n_boot": s.n_boot,
        "trim": s.trim,
        "first_candidate": s.first_candidate,
        "last_candidate": s.last_candidate,
        "ar_order": s.ar_order,
        "method": s.method,
    }


def _tests_json(run: ModelRun, col: str) -> dict[str, Any]:
    t: dict[str, Any] = {"known": [_known_json(k) for k in run.known_tests.get(col, [])]}
    if col in run.searches:
        s = run.searches[col]
        t["search"] = _search_json(s)
        t["cusum"] = {
            "statistic": r_stat(s.cusum_statistic),
            "p_value": r_p(s.cusum_p_value),
            "test": "OLS-CUSUM (Ploberger-Kraemer) on the no-break model's residuals",
        }
    return t


def _diagnostics_json(run: ModelRun, col: str) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if col in run.its:
        d["its"] = _diag_json(run.its[col].diagnostics)
    if col in run.its_crisis:
        d["its_crisis"] = _diag_json(run.its_crisis[col].diagnostics)
    if col in run.counterfactuals:
        c = run.counterfactuals[col]
        d["counterfactual"] = {
            **_diag_json(c.diagnostics),
            "model": c.model,
            "converged": c.converged,
            "fit_warnings": list(c.fit_warnings),
        }
    return d


def _annual_json(annual: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "year": int(r.year),
            "exports": r_money(r.exports),
            "imports": r_money(r.imports),
            "balance": r_money(r.balance),
            "months": int(r.months),
            "complete": bool(r.complete),
            "exports_growth": r_pct(r.exports_growth),
            "imports_growth": r_pct(r.imports_growth),
        }
        for r in annual.itertuples(index=False)
    ]


# ---- the results structure and the files ---------------------------------------------------------


def results_dict(run: ModelRun, partner_code: int | str, partner: str) -> dict[str, Any]:
    """The JSON-safe results structure of a :class:`ModelRun` (no NaN; rounded; deterministic),
    read from the run (X-13 against STL from ``run.sa_compare``); nothing is fitted here."""
    its: dict[str, Any] = {}
    for col in SERIES:
        if col in run.its:
            its[col] = _its_json(run.its[col])
            if col in run.its_crisis:
                its[col]["crisis"] = _its_json(run.its_crisis[col])
    return {
        "schema_version": SCHEMA_VERSION,
        "partner_code": int(str(partner_code).strip()),
        "partner": partner,
        "slug": slugify(partner),
        "data_through": ser.data_through(run.monthly),
        "params": dict(run.params),
        "annual": _annual_json(run.annual),
        "seasonal_adjustment": dict(run.sa_methods),
        "seasonal_adjustment_x13": _x13_json(run.sa_compare),
        "its": its,
        "break_tests": {col: _tests_json(run, col) for col in SERIES},
        "counterfactual": {
            col: _cf_json(run.counterfactuals[col]) for col in SERIES if col in run.counterfactuals
        },
        "diagnostics": {col: _diagnostics_json(run, col) for col in SERIES},
        "skipped": dict(sorted(run.skipped.items())),
        "caveats": list(CAVEATS),
    }


def coefficients_table(run: ModelRun) -> pd.DataFrame:
    """Tidy coefficients of every fitted model: ``series, model, term, estimate, std_err,
    ci_low, ci_high, p_value`` (ITS with HAC errors; the counterfactual's SARIMAX/ETS parameters),
    then ``p_calibrated`` and ``p_method``: the calibrated p-value of the ITS break terms and the
    test that gives it (empty for other terms)."""
    frames = []
    for col in SERIES:
        for key, store in (("its", run.its), ("its_crisis", run.its_crisis)):
            if col in store:
                frames.append(store[col].coefs.assign(series=col, model=key))
        if col in run.counterfactuals:
            c = run.counterfactuals[col]
            frames.append(c.params.assign(series=col, model=f"counterfactual {c.model}"))
    cols = [
        "series",
        "model",
        "term",
        "estimate",
        "std_err",
        "ci_low",
        "ci_high",
        "p_value",
        "p_calibrated",
        "p_method",
    ]
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True).reindex(columns=cols)
    out["p_method"] = out["p_method"].fillna("")
    return out


def write_outputs(
    results: dict[str, Any],
    coef: pd.DataFrame,
    sa: pd.DataFrame,
    out_dir: str | Path,
    sa_path: str | Path,
    *,
    figures_stage: str | Path | None = None,
    monthly: pd.DataFrame | None = None,
    x13: pd.DataFrame | None = None,
) -> list[Path]:
    """Write ``out_dir/coefficients.csv``, the SA series (``date, exports_sa, imports_sa,
    balance_sa``, then with ``x13`` (a run's ``ModelRun.x13``) ``exports_x13, imports_x13,
    balance_x13``, empty where X-13 could not run) to ``sa_path`` and ``out_dir/results.json``, each atomically and
    deterministically (fixed float formats, ``\\n`` line ends). With ``figures_stage`` (a
    folder from :func:`analysis.fileio.staging_dir` holding this run's figures) that folder then
    replaces ``out_dir/figures``, so a run that stops early leaves the last good figures in
    place and stale figures of an earlier run (e.g. of a model now skipped) do not linger.
    ``results.json`` is written last, its ``slug`` set to the name of ``out_dir`` (the folder
    it is written to, which is how every page links to it). With ``monthly`` (the partner's monthly NSA series) the
    report also gets ``out_dir/monthly.csv``: ``date, exports, imports, balance`` and their
    adjusted series, for readers who want to reuse the numbers. Returns the paths written."""
    out_dir, sa_path = Path(out_dir), Path(sa_path)
    c = coef.copy()
    for col in ("estimate", "std_err", "ci_low", "ci_high"):
        c[col] = [r_coef(v) for v in c[col]]
    for col in ("p_value", "p_calibrated"):
        if col in c:
            c[col] = [r_p(v) for v in c[col]]
    paths = [
        write_atomic(
            out_dir / "coefficients.csv",
            lambda p: c.to_csv(p, index=False, lineterminator="\n", float_format="%.6g"),
        )
    ]
    s = sa[["exports_sa", "imports_sa", "balance_sa"]].copy()
    s.index = pd.DatetimeIndex(s.index).strftime("%Y-%m-%d")
    s.index.name = "date"
    s = s.round(1) + 0.0
    s_file = s
    if x13 is not None:
        x = x13[list(X13_COLUMNS)].copy()
        x.index = pd.DatetimeIndex(x.index).strftime("%Y-%m-%d")
        s_file = s.join(x.round(1) + 0.0, how="left")
    paths.append(
        write_atomic(sa_path, lambda p: s_file.to_csv(p, lineterminator="\n", float_format="%.1f"))
    )
    if monthly is not None:
        both = monthly[["exports", "imports", "balance"]].copy()
        both.index = pd.DatetimeIndex(both.index).strftime("%Y-%m-%d")
        both.index.name = "date"
        both = both.join(s, how="left").round(1) + 0.0
        paths.append(
            write_atomic(
                out_dir / "monthly.csv",
                lambda p: both.to_csv(p, lineterminator="\n", float_format="%.1f"),
            )
        )
    if figures_stage is not None:
        paths.append(replace_dir(figures_stage, out_dir / config.FIGURE_FOLDERS["trends"]))
    paths.append(write_json_atomic(out_dir / "results.json", {**results, "slug": out_dir.name}))
    return paths


def written_note(paths: list[Path], report_dir: str | Path) -> str:
    """The page's line naming what this run wrote beside it: the files of ``paths`` inside
    ``report_dir`` (the page's own folder), relative to it (``figures/`` for a folder). Files
    elsewhere (the adjusted series under ``data/processed/sa/``) are not in the site, so the
    page does not name them."""
    base = Path(report_dir).resolve()
    shown = []
    for p in paths:
        full = Path(p).resolve()
        if full.is_relative_to(base):
            rel = full.relative_to(base).as_posix()
            shown.append(f"`{rel}/`" if full.is_dir() else f"`{rel}`")
    if not shown:
        return ""
    return "Written beside this page: " + ", ".join(shown) + "."


def input_vintage(data_file: Path) -> dict[str, str]:
    """What the results were computed from: the cleaned table's path (relative to the
    repository) and sha256, so that every consumer can tell results of another data vintage
    (the landing page marks them, the page publisher refuses them)."""
    from analysis import config
    from analysis.fileio import sha256_file

    data_file = Path(data_file)
    rel = data_file.resolve()
    shown = (
        rel.relative_to(config.ROOT).as_posix()
        if rel.is_relative_to(config.ROOT)
        else data_file.name
    )
    return {"data_file": shown, "data_sha256": sha256_file(data_file)}


def output_paths(out_dir: str | Path, data_file: Path, slug: str) -> tuple[Path, Path]:
    """Where a trends run writes: ``(report folder, seasonally adjusted CSV)``.

    The pipeline passes ``out_dir`` (``reports/<slug>``) and the adjusted series go beside
    the cleaned table (``data/processed/sa/<slug>.csv``). A run by hand (``out_dir`` empty)
    writes everything under ``build/interactive/<slug>/``, so it never replaces what the
    pipeline published.
    """
    from analysis import config

    report_dir = config.output_dir(out_dir, slug)
    if str(out_dir).strip():
        return report_dir, data_file.parent / "sa" / f"{slug}.csv"
    return report_dir, report_dir / "sa.csv"
