"""Counterfactual projection: SARIMAX or ETS fitted before a date and projected past it.

The model is fitted on the months up to ``train_end`` only and projected over the rest of the
sample. The cumulative gap (actual minus projection, summed over the post period) gets its
interval from ``n_sim`` simulated paths of the fitted state space model (anchored at the end
of the training sample, fixed seed), back-transformed to levels for log models: summing
per-month bounds would be wrong. Parameter uncertainty is not simulated, so the interval is,
if anything, too narrow.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.statespace.sarimax import SARIMAX

from analysis.models.base import (
    MIN_PRE_MONTHS,
    SEED,
    ModelSkipped,
    check_series,
    ljung_box,
    month,
    ym,
)
from analysis.params import check_forecast_model

#: Expected optimiser chatter of SARIMAX/ETS fits: recorded on the result, not printed.
_EXPECTED_FIT_WARNINGS = (
    "Non-stationary starting",
    "Non-invertible starting",
    "Maximum Likelihood optimization failed",
    "Too few observations",
)
#: Horizons (months after ``train_end``) of the shorter cumulative gaps reported.
HORIZONS: tuple[int, ...] = (12, 36)


@dataclass(frozen=True)
class Gap:
    """Cumulative gap over the first ``months`` of the post period (to ``end``), US$ millions:
    the median over simulated paths and its 2.5-97.5 percentiles; in percent of the projection
    for log models (None otherwise, or when a simulated sum is not positive)."""

    months: int
    end: str
    cumulative_gap: float
    gap_ci: tuple[float, float]
    pct_gap: float | None
    pct_gap_ci: tuple[float, float] | None


@dataclass
class Counterfactual:
    """Projection from the pre-period and the gap between actual and projected values.

    Stores the actual post-period values and the simulated ``paths`` (levels, one column per
    simulation); the gaps are computed on demand (:meth:`gap`, :attr:`by_horizon`).
    """

    series: str
    model: str
    train_end: str
    actual: pd.Series = field(repr=False)
    paths: np.ndarray = field(repr=False)
    forecast: pd.DataFrame
    seed: int
    log: bool
    converged: bool
    fit_warnings: list[str]
    diagnostics: dict[str, Any]
    params: pd.DataFrame
    results: Any = field(repr=False, default=None)

    @property
    def post_start(self) -> str:
        """The first projected month."""
        return ym(self.actual.index[0])

    @property
    def post_end(self) -> str:
        """The last projected month."""
        return ym(self.actual.index[-1])

    @property
    def months_post(self) -> int:
        """Number of projected months."""
        return len(self.actual)

    @property
    def n_sim(self) -> int:
        """Number of simulated paths."""
        return int(self.paths.shape[1])

    def gap(self, months: int | None = None) -> Gap:
        """The cumulative gap over the first ``months`` projected months (default: all)."""
        k = self.months_post if months is None else int(months)
        actual = self.actual.to_numpy()[:k].sum()
        cum_sim = self.paths[:k].sum(axis=0)
        lo, mid, hi = np.percentile(actual - cum_sim, [2.5, 50, 97.5])
        pct = pct_ci = None
        if self.log and (cum_sim > 0).all():
            plo, pmid, phi = np.percentile(100.0 * (actual / cum_sim - 1.0), [2.5, 50, 97.5])
            pct, pct_ci = float(pmid), (float(plo), float(phi))
        return Gap(k, ym(self.actual.index[k - 1]), float(mid), (float(lo), float(hi)), pct, pct_ci)

    @property
    def cumulative_gap(self) -> float:
        """Cumulative gap over the whole post period (median over paths), US$ millions."""
        return self.gap().cumulative_gap

    @property
    def gap_ci(self) -> tuple[float, float]:
        """95 % simulation interval of :attr:`cumulative_gap`."""
        return self.gap().gap_ci

    @property
    def pct_gap(self) -> float | None:
        """The whole-period gap in percent of the projection (log models)."""
        return self.gap().pct_gap

    @property
    def pct_gap_ci(self) -> tuple[float, float] | None:
        """95 % simulation interval of :attr:`pct_gap`."""
        return self.gap().pct_gap_ci

    @property
    def by_horizon(self) -> list[Gap]:
        """The gaps at the shorter ``HORIZONS`` that end before the post period does."""
        return [self.gap(k) for k in HORIZONS if k < self.months_post]


@dataclass
class _Fitted:
    """One fitted forecast model and what the counterfactual needs of it."""

    spec: str
    results: Any
    notes: list[str]
    forecast: pd.DataFrame  # mean, lower, upper on the model's scale (logs or levels)
    sims: np.ndarray
    converged: bool
    resid: np.ndarray
    model_df: int


def _fit_quietly(fit_fn: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Run ``fit_fn()``, recording the expected optimiser warnings instead of printing them.

    Any other warning is re-issued, so real problems stay visible.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit_fn()
    notes: list[str] = []
    for w in caught:
        msg = str(w.message).splitlines()[0]
        expected = issubclass(w.category, ConvergenceWarning) or any(m in msg for m in _EXPECTED_FIT_WARNINGS)
        if expected:
            if msg not in notes:
                notes.append(msg)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return res, notes


def _fit_sarimax(z: pd.Series, h: int, n_sim: int, seed: int, *, log: bool,
                 order: tuple[int, int, int] | None,
                 seasonal_order: tuple[int, int, int, int] | None) -> _Fitted:
    """SARIMAX (1,1,1)(0,1,1,12) on logs, the airline model (0,1,1)(0,1,1,12) on levels."""
    order = order or ((1, 1, 1) if log else (0, 1, 1))
    seasonal_order = seasonal_order or (0, 1, 1, 12)
    spec = (f"SARIMAX({','.join(map(str, order))})({','.join(map(str, seasonal_order))}) "
            f"on {'log' if log else 'levels'}")
    mod = SARIMAX(z, order=order, seasonal_order=seasonal_order)
    res, notes = _fit_quietly(lambda: mod.fit(disp=False))
    fc = res.get_forecast(h).summary_frame(alpha=0.05)
    sims = res.simulate(h, anchor="end", repetitions=n_sim, rng=np.random.default_rng(seed))
    return _Fitted(
        spec=spec, results=res, notes=notes,
        forecast=fc[["mean", "mean_ci_lower", "mean_ci_upper"]].set_axis(["mean", "lower", "upper"], axis=1),
        sims=np.asarray(sims, dtype="float64"),
        converged=bool(res.mle_retvals.get("converged", True)) if res.mle_retvals else True,
        resid=np.asarray(res.resid)[int(res.loglikelihood_burn):],
        model_df=order[0] + order[2] + seasonal_order[0] + seasonal_order[2],
    )


def _fit_ets(z: pd.Series, h: int, n_sim: int, seed: int, *, log: bool,
             order: tuple[int, int, int] | None = None,
             seasonal_order: tuple[int, int, int, int] | None = None) -> _Fitted:
    """Additive-error ETS with damped additive trend and additive seasonality (``order`` and
    ``seasonal_order`` are SARIMAX options, ignored)."""
    mod = ETSModel(z, error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=12)
    res, notes = _fit_quietly(lambda: mod.fit(disp=False))
    fc = res.get_prediction(start=len(z), end=len(z) + h - 1).summary_frame(alpha=0.05)
    sims = res.simulate(h, anchor="end", repetitions=n_sim, rng=np.random.default_rng(seed))
    return _Fitted(
        spec=f"ETS(A,Ad,A) on {'log' if log else 'levels'}", results=res, notes=notes,
        forecast=fc[["mean", "pi_lower", "pi_upper"]].set_axis(["mean", "lower", "upper"], axis=1),
        sims=np.asarray(sims, dtype="float64"),
        converged=bool(res.mle_retvals.get("converged", True)) if getattr(res, "mle_retvals", None) else True,
        resid=np.asarray(res.resid),
        model_df=0,
    )


#: The fitter of each forecast model (the names are ``analysis.params.FORECAST_MODELS``).
FITTERS: dict[str, Callable[..., _Fitted]] = {"sarimax": _fit_sarimax, "ets": _fit_ets}


def _split(y: pd.Series, train_end: str, *, log: bool, name: str) -> tuple[pd.Series, pd.Series]:
    """Training months (checked for the log) and the post-period months of ``y``."""
    te = month(train_end, "train_end")
    train, post = y.loc[:te], y.loc[te + pd.offsets.MonthBegin(1):]
    if len(train) < MIN_PRE_MONTHS:
        raise ModelSkipped(f"{name}: {len(train)} training months up to {ym(te)} (< {MIN_PRE_MONTHS})")
    if len(post) < 1:
        raise ModelSkipped(f"{name}: no months after train_end={ym(te)} to compare with")
    return check_series(train, log=log, name=f"{name} (training sample)"), post


def _params_frame(res: Any) -> pd.DataFrame:
    """Tidy parameters of the forecast model: ``term, estimate, std_err, ci_low, ci_high, p_value``."""
    ci = res.conf_int(alpha=0.05)
    return pd.DataFrame(
        {
            "term": [str(i) for i in res.params.index],
            "estimate": np.asarray(res.params, dtype="float64"),
            "std_err": np.asarray(res.bse, dtype="float64"),
            "ci_low": np.asarray(ci.iloc[:, 0], dtype="float64"),
            "ci_high": np.asarray(ci.iloc[:, 1], dtype="float64"),
            "p_value": np.asarray(res.pvalues, dtype="float64"),
        }
    )


def counterfactual(
    y: pd.Series,
    train_end: str,
    *,
    log: bool,
    model: str = "sarimax",
    n_sim: int = 1000,
    seed: int = SEED,
    order: tuple[int, int, int] | None = None,
    seasonal_order: tuple[int, int, int, int] | None = None,
) -> Counterfactual:
    """Fit on ``y`` up to ``train_end``, project to the end, and measure the gap.

    ``model="sarimax"``: SARIMAX (1,1,1)(0,1,1,12) on logs for log series, the airline model
    (0,1,1)(0,1,1,12) on levels otherwise (override with ``order``/``seasonal_order``).
    ``model="ets"``: additive-error ETS with damped additive trend and additive seasonality
    (on logs for log series). The forecast frame (``mean``, ``lower``, ``upper``: 95 % interval,
    levels) for log series is the back-transformed median forecast. The cumulative gap is
    ``sum(actual) - sum(simulated path)`` over the post period: point = median over ``n_sim``
    simulated paths, interval = its 2.5-97.5 percentiles.
    """
    check_forecast_model(model)
    name = str(y.name or "series")
    y = check_series(y, log=False, name=name)
    train, post = _split(y, train_end, log=log, name=name)
    z, h = (np.log(train) if log else train), len(post)
    f = FITTERS[model](z, h, n_sim, seed, log=log, order=order, seasonal_order=seasonal_order)
    if not f.converged and "optimizer did not converge" not in f.notes:
        f.notes.append("optimizer did not converge")
    back = np.exp if log else np.asarray
    forecast = pd.DataFrame({c: np.asarray(back(f.forecast[c])) for c in ("mean", "lower", "upper")},
                            index=post.index)
    forecast.index.name = "date"
    return Counterfactual(
        series=name, model=f.spec, train_end=ym(train.index[-1]), actual=post,
        paths=back(f.sims.reshape(h, n_sim)), forecast=forecast, seed=seed, log=log,
        converged=f.converged, fit_warnings=f.notes, diagnostics=ljung_box(f.resid, model_df=f.model_df),
        params=_params_frame(f.results), results=f.results,
    )
