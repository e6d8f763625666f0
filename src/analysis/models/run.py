"""One call that fits every trend model to a partner's exports, imports and balance.

All of this describes *when* the series changed course; none of it identifies the effect of
the trade agreement. A bilateral balance is mostly a macroeconomic quantity (saving and
investment in both countries, exchange rates, business cycles, supply chains), and the dates
tested coincide with other events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis import params as run_params
from analysis.clean import series as ser
from analysis.models.base import (
    CRISIS_WINDOWS,
    LOG_SERIES,
    SEED,
    SERIES,
    TRIM,
    ModelSkipped,
    ym,
)
from analysis.models.breaks import SearchResult, supf_search
from analysis.models.counterfactual import Counterfactual, counterfactual
from analysis.models.its import BreakTest, ITSResult, fit_its
from analysis.models.seasonal import (
    seasonally_adjust,
    side_by_side,
    stl_decompose,
    x13_all,
    x13_not_run,
)

__all__ = ["DESCRIPTIVE", "ModelRun", "ModelSkipped", "run_models"]

#: ``skipped["breaks"]`` of a run without break months.
DESCRIPTIVE: str = (
    "no break month: a descriptive report (seasonal adjustment only; no segmented trend, "
    "break test or projection)"
)


@dataclass
class ModelRun:
    """Everything :func:`run_models` estimated for one partner (objects, not JSON)."""

    params: dict[str, Any]
    monthly: pd.DataFrame
    annual: pd.DataFrame
    sa: pd.DataFrame
    sa_methods: dict[str, str]
    x13: pd.DataFrame
    stl: dict[str, pd.DataFrame]
    its: dict[str, ITSResult]
    its_crisis: dict[str, ITSResult]
    known_tests: dict[str, list[BreakTest]]
    searches: dict[str, SearchResult]
    counterfactuals: dict[str, Counterfactual]
    skipped: dict[str, str]

    @property
    def sa_compare(self) -> pd.DataFrame:
        """The STL and X-13 adjusted flows side by side (:func:`~analysis.models.seasonal.side_by_side`
        of ``sa`` and ``x13``: read, not refitted)."""
        return side_by_side(self.sa, self.x13)


def _stl_all(monthly: pd.DataFrame, skipped: dict[str, str]) -> dict[str, pd.DataFrame]:
    """STL of each series (in logs when it is a log series with no month <= 0)."""
    stl: dict[str, pd.DataFrame] = {}
    for col in SERIES:
        try:
            stl[col] = stl_decompose(
                monthly[col].rename(col), log=LOG_SERIES[col] and bool((monthly[col] > 0).all())
            )
        except ModelSkipped as exc:
            skipped[f"stl.{col}"] = str(exc)
    return stl


def _run_params(
    monthly: pd.DataFrame,
    breaks: list[str],
    train_end: str,
    forecast_model: str,
    hac_maxlags: int,
    n_boot: int,
    n_sim: int,
    seed: int,
) -> dict[str, Any]:
    """The parameters of a run, as recorded in ``results.json``."""
    return {
        "start": ym(monthly.index.min()),
        "end": ym(monthly.index.max()),
        "breaks": breaks,
        "train_end": train_end,
        "forecast_model": forecast_model,
        "hac_maxlags": int(hac_maxlags),
        "n_boot": int(n_boot),
        "n_sim": int(n_sim),
        "seed": int(seed),
        "trim": TRIM,
        "crisis_windows": {k: list(v) for k, v in CRISIS_WINDOWS.items()},
        "log_series": [c for c in SERIES if LOG_SERIES[c]],
    }


def run_models(
    monthly: pd.DataFrame,
    *,
    breaks: Sequence[str] | str,
    train_end: str | None = None,
    forecast_model: str = "sarimax",
    hac_maxlags: int = 12,
    n_boot: int = 999,
    n_sim: int = 1000,
    seed: int = SEED,
    x13: bool = True,
) -> ModelRun:
    """Fit every model to exports, imports and balance; never raises for a series that cannot
    be modelled: the reason goes into ``skipped`` (keys like ``"its.exports"``).

    The parameters are checked first by :func:`analysis.params.validate` against the months of
    ``monthly``; an empty ``train_end`` means the month before the first break. No break at all
    (a partner without an agreement) is a descriptive run: seasonal adjustment only, no break
    model, and ``skipped["breaks"]`` says so (:data:`DESCRIPTIVE`).

    Beside STL (``sa``), X-13ARIMA-SEATS adjusts the flows (``x13``,
    :func:`~analysis.models.seasonal.x13_all`); ``x13=False`` skips it (a run whose X-13
    series nobody reads, e.g. the vintage comparison), leaving NaN and a reason."""
    breaks, train_end = run_params.validate(
        breaks,
        first=monthly.index.min(),
        last=monthly.index.max(),
        train_end=train_end,
        forecast_model=forecast_model,
        hac_maxlags=hac_maxlags,
    )
    skipped: dict[str, str] = {}
    stl = _stl_all(monthly, skipped)
    sa = seasonally_adjust(monthly)
    x13_sa = x13_all(monthly) if x13 else x13_not_run(monthly.index, "X-13 not run (x13=False)")
    its: dict[str, ITSResult] = {}
    its_crisis: dict[str, ITSResult] = {}
    known: dict[str, list[BreakTest]] = {}
    searches: dict[str, SearchResult] = {}
    cfs: dict[str, Counterfactual] = {}
    if not breaks:
        skipped["breaks"] = DESCRIPTIVE
    for col in SERIES if breaks else ():
        y = monthly[col].rename(col)
        log = LOG_SERIES[col]
        for key, store, crisis in (("its", its, False), ("its_crisis", its_crisis, True)):
            try:
                store[col] = fit_its(
                    y,
                    breaks,
                    log=log,
                    crisis_dummies=crisis,
                    hac_maxlags=hac_maxlags,
                    n_boot=n_boot,
                    seed=seed,
                )
            except ModelSkipped as exc:
                skipped[f"{key}.{col}"] = str(exc)
        # The known-date tests are the joint Wald tests of the main ITS model (each break given
        # the others), i.e. known_break_test(y, b, other_breaks=...) without refitting.
        known[col] = list(its[col].tests) if col in its else []
        try:
            searches[col] = supf_search(
                y, log=log, hac_maxlags=hac_maxlags, n_boot=n_boot, seed=seed
            )
        except ModelSkipped as exc:
            skipped[f"supf_search.{col}"] = str(exc)
        try:
            cfs[col] = counterfactual(
                y, train_end, log=log, model=forecast_model, n_sim=n_sim, seed=seed
            )
        except ModelSkipped as exc:
            skipped[f"counterfactual.{col}"] = str(exc)
    return ModelRun(
        params=_run_params(
            monthly, breaks, train_end, forecast_model, hac_maxlags, n_boot, n_sim, seed
        ),
        monthly=monthly,
        annual=ser.annual(monthly),
        sa=sa,
        sa_methods=dict(sa.attrs.get("methods", {})),
        x13=x13_sa,
        stl=stl,
        its=its,
        its_crisis=its_crisis,
        known_tests=known,
        searches=searches,
        counterfactuals=cfs,
        skipped=skipped,
    )
