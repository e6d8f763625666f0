"""Shared ground of the trend models: constants, ModelSkipped, series checks, residual tests."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.diagnostic import acorr_ljungbox
from statsmodels.stats.stattools import durbin_watson

from analysis import params as run_params
from analysis.errors import AnalysisError
from analysis.params import parse_month
from analysis.vocab import SERIES  # noqa: F401 - re-exported for the models

#: Which series are modelled in logs (percentage effects); the balance can be negative.
LOG_SERIES: dict[str, bool] = {"exports": True, "imports": True, "balance": False}
#: Dummy windows of the crisis variant (inclusive months).
CRISIS_WINDOWS: dict[str, tuple[str, str]] = {
    "crisis_2008_09": ("2008-09", "2009-06"),
    "pandemic_2020": ("2020-03", "2020-12"),
}
SEED = 20120315
# Months before the first break (ITS) or in the training sample, and from each break to the
# next break or the end: the same numbers choose a partner's default breaks (analysis.params).
MIN_PRE_MONTHS = run_params.MIN_PRE_MONTHS
MIN_POST_MONTHS = run_params.MIN_POST_MONTHS
MIN_SEARCH_MONTHS = 60
TRIM = 0.15


class ModelSkipped(AnalysisError):
    """A model cannot be fitted to this series (zeros under a log, too few months, ...).

    The message says why; :func:`analysis.models.run.run_models` records it under ``skipped``.
    """


def ym(ts: pd.Timestamp) -> str:
    """A timestamp as ``"YYYY-MM"``."""
    return pd.Timestamp(ts).strftime("%Y-%m")


def month(value: str | pd.Timestamp, name: str) -> pd.Timestamp:
    """A month (:func:`analysis.params.parse_month`) as its month-start Timestamp."""
    return pd.Timestamp(parse_month(value, name))


def pct(x: float) -> float:
    """Log points -> percent: ``100 * (exp(x) - 1)``."""
    return 100.0 * math.expm1(x)


def check_series(y: pd.Series, *, log: bool, name: str | None = None) -> pd.Series:
    """Float series with a monthly index, no gaps/NaN; positive if ``log``."""
    if not isinstance(y.index, pd.DatetimeIndex):
        raise TypeError("y must have a DatetimeIndex")
    label = name or str(y.name or "series")
    y = y.astype("float64").sort_index()
    full = pd.date_range(y.index[0], y.index[-1], freq="MS")
    if len(full) != len(y) or not (full == y.index).all():
        raise ModelSkipped(f"{label}: months are not consecutive month starts")
    y.index = full
    if y.isna().any():
        gaps = y.index[y.isna()]
        raise ModelSkipped(
            f"{label}: {len(gaps)} month(s) without data in the window (first {ym(gaps[0])}; "
            "Census omits years without recorded trade)"
        )
    if log and (y <= 0).any():
        bad = y[y <= 0]
        raise ModelSkipped(
            f"{label}: {len(bad)} month(s) <= 0 (first {ym(bad.index[0])}); log model not defined"
        )
    if float(y.std()) == 0.0:
        raise ModelSkipped(f"{label}: constant series (no variation to model)")
    return y


def ljung_box(
    resid: Iterable[float], lags: Sequence[int] = (12, 24), model_df: int = 0
) -> dict[str, Any]:
    """Ljung-Box tests (statsmodels ``acorr_ljungbox``) and Durbin-Watson of residuals.

    Returns ``{"ljung_box": [{"lag", "statistic", "p_value"}...], "durbin_watson"}``; lags
    longer than the sample allows are dropped.
    """
    r = np.asarray(pd.Series(resid, dtype="float64").dropna())
    usable = [int(lag) for lag in lags if lag < len(r) - 1 and lag > model_df]
    out: dict[str, Any] = {
        "ljung_box": [],
        "durbin_watson": float(durbin_watson(r)) if len(r) > 1 else None,
    }
    if usable:
        lb = acorr_ljungbox(r, lags=usable, model_df=model_df, return_df=True)
        out["ljung_box"] = [
            {
                "lag": int(lag),
                "statistic": float(row["lb_stat"]),
                "p_value": float(row["lb_pvalue"]),
            }
            for lag, row in lb.iterrows()
        ]
    return out
