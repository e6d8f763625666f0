"""Counterfactual projection: SARIMAX or ETS fitted before a date and projected past it.

The model is fitted on the months up to ``train_end`` only and projected over the rest of the
sample. The cumulative gap (actual minus projection, summed over the post period) gets its
interval from ``n_sim`` simulated paths of the state space model (anchored at the end of the
training sample, fixed seed), back-transformed to levels for log models: summing per-month
bounds would be wrong.

Parameter uncertainty is included by default: ``n_draws`` parameter vectors are drawn from the
estimates' asymptotic distribution (multivariate normal with the fitted ``cov_params()``); a
draw that is not stationary and invertible (or has a non-positive variance) is rejected and
another drawn, and each accepted draw re-filters the training sample and simulates its share
of the paths. When no usable draws can be had (a covariance matrix that is not finite or not
positive semi-definite, too many rejected draws) the paths come from the point estimate alone
and :attr:`Counterfactual.param_note` says why. The short horizons (:data:`HORIZONS`, 24 months
by default on the landing page) are the result; the whole post period is extrapolation.
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
from statsmodels.tsa.statespace.tools import is_invertible

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
HORIZONS: tuple[int, ...] = (12, 24, 36)
#: Parameter vectors drawn for the simulated paths (each simulates ``n_sim / n_draws`` paths).
PARAM_DRAWS = 40
#: Candidate draws tried per accepted draw before giving up on parameter uncertainty.
_MAX_TRIES_PER_DRAW = 20


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
    param_draws: int = 0
    param_note: str = "parameter uncertainty not included"

    @property
    def interval_note(self) -> str:
        """How the 95 % intervals were made (the ``interval`` text of ``results.json``)."""
        return f"95 %, percentiles of {self.n_sim} simulated paths (seed {self.seed}); {self.param_note}"

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
    converged: bool
    resid: np.ndarray
    model_df: int
    valid: Callable[[np.ndarray], bool]  # is a parameter vector admissible (stationary, ...)?
    #: ``(params, h, n, rng) -> h x n`` paths from the end of the training sample at ``params``
    simulate_at: Callable[[np.ndarray, int, int, np.random.Generator], np.ndarray]


def draw_normal(
    rng: np.random.Generator, mean: np.ndarray, cov: np.ndarray, size: int
) -> np.ndarray:
    """``size`` draws (rows) from N(``mean``, ``cov``), ``cov`` taken as the nearest symmetric
    positive semi-definite matrix.

    A Kalman filter's predicted state covariance or an optimiser's parameter covariance can be
    a hair off symmetric, or carry an eigenvalue of -1e-9 times its scale from rounding;
    ``Generator.multivariate_normal`` then prints a ``RuntimeWarning`` (which ended up on a
    published page) and takes the absolute value of the eigenvalue. Here the matrix is
    symmetrised and negative eigenvalues set to zero (the nearest PSD matrix in the Frobenius
    norm) before drawing. For a symmetric PSD ``cov`` the draws equal
    ``rng.multivariate_normal(mean, cov, size, method="eigh")`` exactly, same stream.
    """
    mean = np.asarray(mean, dtype="float64")
    cov = np.asarray(cov, dtype="float64")
    z = rng.standard_normal((int(size), mean.size))
    s, u = np.linalg.eigh((cov + cov.T) / 2.0)
    return mean + z @ (u * np.sqrt(np.clip(s, 0.0, None))).T


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
        expected = issubclass(w.category, ConvergenceWarning) or any(
            m in msg for m in _EXPECTED_FIT_WARNINGS
        )
        if expected:
            if msg not in notes:
                notes.append(msg)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return res, notes


def _lag_polynomial(
    names: list[str], p: np.ndarray, prefixes: tuple[str, ...], sign: float
) -> np.ndarray:
    """The lag polynomial ``1 + sign * sum(c_L z^L)`` of the parameters named ``<prefix><L>``."""
    lags = {
        int(n.rsplit("L", 1)[1]): float(v)
        for n, v in zip(names, p, strict=True)
        if n.startswith(prefixes)
    }
    poly = np.zeros(max(lags, default=0) + 1)
    poly[0] = 1.0
    for lag, c in lags.items():
        poly[lag] += sign * c
    return poly


def _sarimax_valid(names: list[str], p: np.ndarray) -> bool:
    """Stationary AR (regular and seasonal), invertible MA, positive variance."""
    if not np.isfinite(p).all() or any(
        v <= 0 for n, v in zip(names, p, strict=True) if n == "sigma2"
    ):
        return False
    polys = [
        _lag_polynomial(names, p, (pre,), sign)
        for pre, sign in (("ar.L", -1.0), ("ar.S.L", -1.0), ("ma.L", 1.0), ("ma.S.L", 1.0))
    ]
    return all(len(poly) < 2 or is_invertible(poly) for poly in polys)


def _ets_valid(names: list[str], p: np.ndarray) -> bool:
    """The usual admissible region of ETS(A,Ad,A): 0 < beta < alpha < 1, 0 < gamma < 1 - alpha,
    0 < phi < 1."""
    v = dict(zip(names, p, strict=True))
    a, b = v.get("smoothing_level", 0.5), v.get("smoothing_trend", 0.25)
    g, phi = v.get("smoothing_seasonal", 0.25), v.get("damping_trend", 0.9)
    return bool(np.isfinite(p).all() and 0 < b < a < 1 and 0 < g < 1 - a and 0 < phi < 1)


def _sarimax_simulate_at(
    mod: SARIMAX, p: np.ndarray, h: int, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` paths of ``h`` months at parameters ``p``, anchored at the end of the sample.

    What ``results.simulate(anchor="end")`` does, on the bare Kalman filter output (five
    times faster than building a results object for every parameter draw). ``mod`` is best
    a model of the bare array (no index; :func:`_fit_sarimax` passes one): statsmodels then
    returns the paths as an array instead of labelling them with a date index and a
    (series, path) MultiIndex, which took about half the time of each draw; the numbers, and
    the random numbers drawn, are the same.
    """
    kf = mod.filter(p, return_ssm=True)
    i = mod.nobs
    x0 = draw_normal(rng, kf.predicted_state[:, i], kf.predicted_state_cov[:, :, i], n).T
    sims = mod.simulate(p, h, initial_state=x0, anchor="end", repetitions=n, rng=rng)
    return np.asarray(sims, dtype="float64").reshape(h, n)


def _fit_sarimax(
    z: pd.Series,
    h: int,
    *,
    log: bool,
    order: tuple[int, int, int] | None,
    seasonal_order: tuple[int, int, int, int] | None,
) -> _Fitted:
    """SARIMAX (1,1,1)(0,1,1,12) on logs, the airline model (0,1,1)(0,1,1,12) on levels."""
    order = order or ((1, 1, 1) if log else (0, 1, 1))
    seasonal_order = seasonal_order or (0, 1, 1, 12)
    spec = (
        f"SARIMAX({','.join(map(str, order))})({','.join(map(str, seasonal_order))}) "
        f"on {'log' if log else 'levels'}"
    )
    mod = SARIMAX(z, order=order, seasonal_order=seasonal_order)
    res, notes = _fit_quietly(lambda: mod.fit(disp=False))
    # The same model of the bare values, for the parameter draws' simulations (no pandas labels).
    bare = SARIMAX(np.asarray(z, dtype="float64"), order=order, seasonal_order=seasonal_order)
    fc = res.get_forecast(h).summary_frame(alpha=0.05)
    names = list(mod.param_names)
    return _Fitted(
        spec=spec,
        results=res,
        notes=notes,
        forecast=fc[["mean", "mean_ci_lower", "mean_ci_upper"]].set_axis(
            ["mean", "lower", "upper"], axis=1
        ),
        converged=bool(res.mle_retvals.get("converged", True)) if res.mle_retvals else True,
        resid=np.asarray(res.resid)[int(res.loglikelihood_burn) :],
        model_df=order[0] + order[2] + seasonal_order[0] + seasonal_order[2],
        valid=lambda p: _sarimax_valid(names, p),
        simulate_at=lambda p, h_, n, rng: _sarimax_simulate_at(bare, p, h_, n, rng),
    )


def _fit_ets(
    z: pd.Series,
    h: int,
    *,
    log: bool,
    order: tuple[int, int, int] | None = None,
    seasonal_order: tuple[int, int, int, int] | None = None,
) -> _Fitted:
    """Additive-error ETS with damped additive trend and additive seasonality (``order`` and
    ``seasonal_order`` are SARIMAX options, ignored)."""
    mod = ETSModel(
        z, error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=12
    )
    res, notes = _fit_quietly(lambda: mod.fit(disp=False))
    fc = res.get_prediction(start=len(z), end=len(z) + h - 1).summary_frame(alpha=0.05)
    names = list(mod.param_names)
    return _Fitted(
        spec=f"ETS(A,Ad,A) on {'log' if log else 'levels'}",
        results=res,
        notes=notes,
        forecast=fc[["mean", "pi_lower", "pi_upper"]].set_axis(["mean", "lower", "upper"], axis=1),
        converged=bool(res.mle_retvals.get("converged", True))
        if getattr(res, "mle_retvals", None)
        else True,
        resid=np.asarray(res.resid),
        model_df=0,
        valid=lambda p: _ets_valid(names, p),
        simulate_at=lambda p, h_, n, rng: np.asarray(
            mod.smooth(np.asarray(p)).simulate(h_, anchor="end", repetitions=n, rng=rng),
            dtype="float64",
        ).reshape(h_, n),
    )


def param_cov(results: Any) -> np.ndarray:
    """The covariance matrix the parameter draws use: the inverse of the observed information
    (numerical Hessian of the log-likelihood, ``cov_params_approx``) where the model has it,
    else ``cov_params()``.

    Not SARIMAX's default outer-product-of-gradients estimate: with a seasonal MA coefficient
    near -1 (as in the trade series, where the seasonal pattern is almost fixed) the OPG
    standard errors are several times too large (e.g. 2.2 for a coefficient of -0.99, and a
    variance whose standard error is twice the variance itself), and draws from it give
    exploding paths. The ``params`` table still reports ``cov_params()``.
    """
    approx = getattr(results, "cov_params_approx", None)
    cov = approx if approx is not None else results.cov_params()
    return np.asarray(cov, dtype="float64")


def draw_params(
    results: Any, n_draws: int, rng: np.random.Generator, valid: Callable[[np.ndarray], bool]
) -> tuple[np.ndarray | None, str]:
    """``n_draws`` admissible parameter vectors from N(estimates, :func:`param_cov`), and a note.

    Candidates failing ``valid`` are rejected and replaced (at most
    ``_MAX_TRIES_PER_DRAW * n_draws`` candidates). Returns ``(None, reason)`` when the
    covariance matrix is not finite or not positive semi-definite, or too few candidates pass.
    """
    est = np.asarray(results.params, dtype="float64")
    cov = np.asarray(param_cov(results), dtype="float64")
    why = "parameter uncertainty not included"
    if cov.shape != (est.size, est.size) or not np.isfinite(cov).all():
        return None, f"{why}: the parameters' covariance matrix is not finite"
    cov = (cov + cov.T) / 2.0
    eig = np.linalg.eigvalsh(cov)
    if eig.min() < -1e-8 * max(float(eig.max()), 1e-300):
        return None, f"{why}: the parameters' covariance matrix is not positive semi-definite"
    accepted: list[np.ndarray] = []
    tried, max_tries = 0, _MAX_TRIES_PER_DRAW * n_draws
    while len(accepted) < n_draws and tried < max_tries:
        for cand in draw_normal(rng, est, cov, n_draws):
            tried += 1
            if valid(cand):
                accepted.append(cand)
                if len(accepted) == n_draws:
                    break
    if len(accepted) < n_draws:
        return None, (
            f"{why}: only {len(accepted)} of {tried} parameter draws were stationary and invertible"
        )
    return np.array(accepted), (
        f"parameter uncertainty included ({n_draws} draws from the estimates' asymptotic normal "
        f"distribution; {tried - n_draws} of {tried} rejected as non-stationary or non-invertible)"
    )


def simulate_paths(
    f: _Fitted,
    h: int,
    n_sim: int,
    seed: int,
    *,
    param_uncertainty: bool = True,
    n_draws: int = PARAM_DRAWS,
) -> tuple[np.ndarray, int, str]:
    """``(paths, draws used, note)``: ``n_sim`` simulated paths (``h x n_sim``, model scale).

    Without parameter uncertainty (or when :func:`draw_params` gives none), every path comes
    from the point estimate, seeded by ``seed`` alone. With it, the paths are split evenly over
    the parameter draws; each draw re-filters the training sample and simulates from its end.
    """
    rng = np.random.default_rng(seed)
    draws, note = None, "parameter uncertainty not included"
    if param_uncertainty:
        draws, note = draw_params(
            f.results, max(1, min(n_draws, n_sim)), np.random.default_rng([seed, 1]), f.valid
        )
    if draws is None:
        sims = f.results.simulate(h, anchor="end", repetitions=n_sim, rng=rng)
        return np.asarray(sims, dtype="float64").reshape(h, n_sim), 0, note
    paths = np.empty((h, n_sim))
    try:
        for p, cols in zip(draws, np.array_split(np.arange(n_sim), len(draws)), strict=True):
            paths[:, cols] = f.simulate_at(p, h, len(cols), rng)
    finally:  # leave the model at its estimates (the draws update it in place)
        if hasattr(f.results.model, "update"):
            f.results.model.update(np.asarray(f.results.params))
    return paths, len(draws), note


#: The fitter of each forecast model (the names are ``analysis.params.FORECAST_MODELS``).
FITTERS: dict[str, Callable[..., _Fitted]] = {"sarimax": _fit_sarimax, "ets": _fit_ets}


def _split(y: pd.Series, train_end: str, *, log: bool, name: str) -> tuple[pd.Series, pd.Series]:
    """Training months (checked for the log) and the post-period months of ``y``."""
    te = month(train_end, "train_end")
    train, post = y.loc[:te], y.loc[te + pd.offsets.MonthBegin(1) :]
    if len(train) < MIN_PRE_MONTHS:
        raise ModelSkipped(
            f"{name}: {len(train)} training months up to {ym(te)} (< {MIN_PRE_MONTHS})"
        )
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
    param_uncertainty: bool = True,
    n_draws: int = PARAM_DRAWS,
) -> Counterfactual:
    """Fit on ``y`` up to ``train_end``, project to the end, and measure the gap.

    ``model="sarimax"``: SARIMAX (1,1,1)(0,1,1,12) on logs for log series, the airline model
    (0,1,1)(0,1,1,12) on levels otherwise (override with ``order``/``seasonal_order``).
    ``model="ets"``: additive-error ETS with damped additive trend and additive seasonality
    (on logs for log series). The forecast frame (``mean``, ``lower``, ``upper``: 95 % interval,
    levels) for log series is the back-transformed median forecast. The cumulative gap is
    ``sum(actual) - sum(simulated path)`` over the post period: point = median over ``n_sim``
    simulated paths, interval = its 2.5-97.5 percentiles. With ``param_uncertainty`` (default)
    the paths are spread over ``n_draws`` parameter vectors drawn from the estimates' asymptotic
    distribution (:func:`simulate_paths`); the ``forecast`` frame is that of the point estimate.
    """
    check_forecast_model(model)
    name = str(y.name or "series")
    y = check_series(y, log=False, name=name)
    train, post = _split(y, train_end, log=log, name=name)
    z, h = (np.log(train) if log else train), len(post)
    f = FITTERS[model](z, h, log=log, order=order, seasonal_order=seasonal_order)
    sims, n_used, param_note = simulate_paths(
        f, h, n_sim, seed, param_uncertainty=param_uncertainty, n_draws=n_draws
    )
    if not f.converged and "optimizer did not converge" not in f.notes:
        f.notes.append("optimizer did not converge")
    back = np.exp if log else np.asarray
    forecast = pd.DataFrame(
        {c: np.asarray(back(f.forecast[c])) for c in ("mean", "lower", "upper")}, index=post.index
    )
    forecast.index.name = "date"
    return Counterfactual(
        series=name,
        model=f.spec,
        train_end=ym(train.index[-1]),
        actual=post,
        paths=back(sims),
        forecast=forecast,
        seed=seed,
        log=log,
        converged=f.converged,
        fit_warnings=f.notes,
        diagnostics=ljung_box(f.resid, model_df=f.model_df),
        params=_params_frame(f.results),
        results=f.results,
        param_draws=n_used,
        param_note=param_note,
    )
