"""Trend models of one partner's exports, imports and balance around known dates.

What is estimated, and why (all with statsmodels):

1. **Seasonal adjustment** (:func:`stl_decompose`, :func:`seasonally_adjust`): robust STL with
   a 12-month period. Exports and imports are decomposed *in logs* because their seasonal swings
   scale with the level (multiplicative seasonality): the seasonally adjusted series is
   ``exp(log y - seasonal) = y / exp(seasonal)``. A series with a zero or negative month cannot
   be logged and is decomposed additively in levels. The balance can be negative, so its own
   STL is additive; its *adjusted* series is by default the difference of the adjusted exports
   and imports (the "indirect" method Census uses, so SA exports - SA imports = SA balance).
2. **Segmented regression / interrupted time series** (:func:`fit_its`): OLS of log exports,
   log imports or the balance in levels on a constant, a linear trend, month-of-year dummies
   and, for each break month ``b``, a level step ``1(t >= b)`` and a slope change
   ``(t - b) * 1(t >= b)``, with Newey-West (HAC, Bartlett kernel) covariance. The level
   change is the jump at the break month relative to the extrapolated previous segment. A
   variant adds dummies for the 2008-09 financial crisis and the 2020 pandemic. Newey-West
   tests on trending regressors with persistent residuals over-reject badly at this sample size
   (simulated: nominal 5 % tests rejected 15-40 % of the time), so the same HAC statistics are
   also calibrated by a parametric AR bootstrap (``*_boot`` intervals and p-values; see
   :func:`fit_its`); the narrative uses those.
3. **Break tests**: a HAC Wald test of the joint level + slope change at a known month
   (:func:`known_break_test`; bootstrap p-value, asymptotic one alongside) and a Quandt-Andrews
   sup-Wald search over the middle 70 % of the sample (:func:`supf_search`). Andrews' (1993)
   tables assume stationary regressors; with a broken *trend* and persistent errors the null
   distribution differs (Vogelsang 1997), so the p-value comes from a parametric bootstrap: the
   no-break model's residuals are fitted by an AR(p) (order by BIC, Yule-Walker estimates, so
   the process is stationary), and the sup-Wald statistic is recomputed on ``n_boot``
   simulated AR series (fixed seed). The break month reported is the least-squares date (Bai
   1997). The Wald statistics are computed in a vectorised form (Frisch-Waugh-Lovell) that is
   tested to equal statsmodels' HAC ``wald_test``. A CUSUM test on the OLS residuals is a
   cross-check.
4. **Counterfactual** (:func:`counterfactual`): SARIMAX (or ETS) fitted on the months up to
   ``train_end`` only and projected over the rest of the sample. The cumulative gap (actual
   minus projection, summed over the post period) gets its interval from ``n_sim`` simulated
   paths of the fitted state space model (anchored at the end of the training sample, fixed
   seed), back-transformed to levels for log models: summing per-month bounds would be wrong.
   Parameter uncertainty is not simulated, so the interval is, if anything, too narrow.
5. **Residual diagnostics**: Ljung-Box (lags 12 and 24) and Durbin-Watson for every model.

All of this describes *when* the series changed course; none of it identifies the effect of
the trade agreement. A bilateral balance is mostly a macroeconomic quantity (saving and
investment in both countries, exchange rates, business cycles, supply chains), and the dates
tested coincide with other events.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import lfilter
from statsmodels.regression.linear_model import OLS, yule_walker
from statsmodels.stats.diagnostic import acorr_ljungbox, breaks_cusumolsresid
from statsmodels.stats.stattools import durbin_watson
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.ar_model import ar_select_order
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.seasonal import STL
from statsmodels.tsa.statespace.sarimax import SARIMAX

from analysis.clean import series as ser
from analysis.errors import AnalysisError, ParameterError
from analysis.fileio import replace_dir, write_atomic, write_json_atomic
from analysis.partners import slugify

SERIES: tuple[str, ...] = ("exports", "imports", "balance")
#: Which series are modelled in logs (percentage effects); the balance can be negative.
LOG_SERIES: dict[str, bool] = {"exports": True, "imports": True, "balance": False}
DEFAULT_BREAKS: tuple[str, ...] = ("2012-03", "2019-01")
DEFAULT_TRAIN_END = "2012-02"
FORECAST_MODELS: tuple[str, ...] = ("sarimax", "ets")
#: Dummy windows of the crisis variant (inclusive months).
CRISIS_WINDOWS: dict[str, tuple[str, str]] = {
    "crisis_2008_09": ("2008-09", "2009-06"),
    "pandemic_2020": ("2020-03", "2020-12"),
}
SEED = 20120315
MIN_PRE_MONTHS = 36  # months before the first break (ITS) or in the training sample
MIN_POST_MONTHS = 12  # months from each break to the next break or the end
MIN_STL_MONTHS = 24  # two seasonal cycles
MIN_SEARCH_MONTHS = 60
TRIM = 0.15
#: Expected optimiser chatter of SARIMAX/ETS fits: recorded on the result, not printed.
_EXPECTED_FIT_WARNINGS = (
    "Non-stationary starting",
    "Non-invertible starting",
    "Maximum Likelihood optimization failed",
    "Too few observations",
)

CAVEATS: tuple[str, ...] = (
    "A bilateral trade balance is mostly a macroeconomic quantity: it moves with saving and "
    "investment in both economies, the exchange rate, business cycles and supply chains, so a "
    "change in it is not a verdict on a trade agreement.",
    "The break months coincide with other events (the euro-area crisis and the strong dollar "
    "after 2012; Section 232 tariffs and the U.S.-China tariffs around 2018-19; the pandemic), "
    "so the estimated changes describe when the series changed course, not why.",
    "Segmented trends and counterfactual projections extrapolate pre-break behaviour; the further "
    "from the break, the more the gap reflects the extrapolation rather than the data.",
    "HAC standard errors correct for autocorrelated residuals only approximately when the "
    "series are very persistent; treat p-values near conventional thresholds with caution.",
)


class ModelSkipped(AnalysisError):
    """A model cannot be fitted to this series (zeros under a log, too few months, ...).

    The message says why; :func:`run_models` records it under ``skipped``.
    """


# --------------------------------------------------------------------------- small helpers


def _ym(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m")


def _month(value: str | pd.Timestamp, name: str) -> pd.Timestamp:
    ts = ser.parse_month(value, name)
    if ts is None:
        raise ParameterError(f"{name}: empty; expected a month as YYYY-MM")
    return ts


def _check_series(y: pd.Series, *, log: bool, name: str | None = None) -> pd.Series:
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
            f"{label}: {len(gaps)} month(s) without data in the window (first {_ym(gaps[0])}; "
            "Census omits years without recorded trade)"
        )
    if log and (y <= 0).any():
        bad = y[y <= 0]
        raise ModelSkipped(
            f"{label}: {len(bad)} month(s) <= 0 (first {_ym(bad.index[0])}); "
            "log model not defined"
        )
    if float(y.std()) == 0.0:
        raise ModelSkipped(f"{label}: constant series (no variation to model)")
    return y


def _pct(x: float) -> float:
    """Log points -> percent: ``100 * (exp(x) - 1)``."""
    return 100.0 * math.expm1(x)


def ljung_box(resid: Iterable[float], lags: Sequence[int] = (12, 24), model_df: int = 0) -> dict[str, Any]:
    """Ljung-Box tests (statsmodels ``acorr_ljungbox``) and Durbin-Watson of residuals.

    Returns ``{"ljung_box": [{"lag", "statistic", "p_value"}...], "durbin_watson"}``; lags
    longer than the sample allows are dropped.
    """
    r = np.asarray(pd.Series(resid, dtype="float64").dropna())
    usable = [int(lag) for lag in lags if lag < len(r) - 1 and lag > model_df]
    out: dict[str, Any] = {"ljung_box": [], "durbin_watson": float(durbin_watson(r)) if len(r) > 1 else None}
    if usable:
        lb = acorr_ljungbox(r, lags=usable, model_df=model_df, return_df=True)
        out["ljung_box"] = [
            {"lag": int(lag), "statistic": float(row["lb_stat"]), "p_value": float(row["lb_pvalue"])}
            for lag, row in lb.iterrows()
        ]
    return out


# --------------------------------------------------------------------------- STL / SA


def stl_decompose(y: pd.Series, period: int = 12, robust: bool = True, *, log: bool = False) -> pd.DataFrame:
    """Robust STL decomposition: columns ``observed``, ``trend``, ``seasonal``, ``resid``.

    With ``log=True`` the decomposition is of ``log(y)`` (components in log points; the
    seasonal factor is ``exp(seasonal)``). Raises ``ModelSkipped`` for fewer than two full
    cycles, gaps, a constant series, or non-positive values under ``log``.
    """
    y = _check_series(y, log=log)
    if len(y) < 2 * period:
        raise ModelSkipped(f"{y.name or 'series'}: {len(y)} months < {2 * period} needed for STL")
    z = np.log(y) if log else y
    res = STL(z, period=period, robust=robust).fit()
    out = pd.DataFrame(
        {"observed": res.observed, "trend": res.trend, "seasonal": res.seasonal, "resid": res.resid},
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
            return np.exp(d["observed"] - d["seasonal"]), "STL on logs (multiplicative), robust, period 12"
        except ModelSkipped as exc:
            return y.copy(), f"not adjusted ({exc})"
    try:
        d = stl_decompose(y, log=False)
    except ModelSkipped as exc:
        return y.copy(), f"not adjusted ({exc})"
    note = " (has months <= 0, so not in logs)" if log else ""
    return d["observed"] - d["seasonal"], f"STL additive in levels, robust, period 12{note}"


# --------------------------------------------------------------------------- ITS


@dataclass(frozen=True)
class BreakEffect:
    """Estimated level and slope change at one break (see :func:`fit_its`).

    ``level_change`` is in log points for log models (``pct_level_change`` in percent) and in
    US$ millions per month for the balance; ``slope_change`` is per month, ``*_per_year`` x12.
    ``*_ci`` and ``p_*`` use the HAC covariance with normal critical values; ``*_ci_boot`` and
    ``p_*_boot`` are the same HAC t statistics calibrated by the AR bootstrap (see
    :func:`fit_its`), which keep their nominal level when the residuals are persistent.
    """

    break_: str
    level_change: float
    level_change_ci: tuple[float, float]
    slope_change: float
    slope_change_ci: tuple[float, float]
    slope_change_per_year: float
    slope_change_per_year_ci: tuple[float, float]
    p_level: float
    p_slope: float
    cov_type: str
    log: bool
    months_before: int
    months_after: int
    pct_level_change: float | None = None
    pct_level_change_ci: tuple[float, float] | None = None
    pct_slope_change_per_year: float | None = None
    pct_slope_change_per_year_ci: tuple[float, float] | None = None
    level_change_ci_boot: tuple[float, float] | None = None
    slope_change_ci_boot: tuple[float, float] | None = None
    slope_change_per_year_ci_boot: tuple[float, float] | None = None
    pct_level_change_ci_boot: tuple[float, float] | None = None
    pct_slope_change_per_year_ci_boot: tuple[float, float] | None = None
    p_level_boot: float | None = None
    p_slope_boot: float | None = None

    @property
    def best_level_ci(self) -> tuple[float, float]:
        """The level-change CI to report (bootstrap if computed, else HAC); log points or US$."""
        return self.level_change_ci_boot or self.level_change_ci

    @property
    def best_pct_level_ci(self) -> tuple[float, float] | None:
        return self.pct_level_change_ci_boot or self.pct_level_change_ci


@dataclass(frozen=True)
class BreakTest:
    """Wald test that the level and slope change at ``date`` are jointly zero.

    ``statistic`` is the HAC Wald statistic (chi-squared form, ``df`` = 2);
    ``p_value_asymptotic`` its chi-squared p-value; ``p_value`` the AR-bootstrap p-value when
    ``n_boot > 0`` (the one to report), otherwise the asymptotic one.
    """

    date: str
    statistic: float
    df: int
    p_value: float
    p_value_asymptotic: float
    n_boot: int
    test: str


@dataclass
class ITSResult:
    """A fitted segmented regression (interrupted time series)."""

    series: str
    log: bool
    breaks: list[str]
    crisis_dummies: list[str]
    cov_type: str
    nobs: int
    rsquared: float
    rsquared_adj: float
    effects: list[BreakEffect]
    tests: list[BreakTest]
    coefs: pd.DataFrame
    fit: pd.DataFrame
    diagnostics: dict[str, Any]
    n_boot: int
    ar_order: int | None
    results: Any = field(repr=False, default=None)

    @property
    def model_name(self) -> str:
        return "its_crisis" if self.crisis_dummies else "its"


def _level_name(b: str) -> str:
    return f"level_{b}"


def _slope_name(b: str) -> str:
    return f"slope_{b}"


def its_design(index: pd.DatetimeIndex, breaks: Sequence[str], crisis_dummies: bool = False) -> pd.DataFrame:
    """Regressors of the ITS model: const, trend (months from the start), month dummies
    ``month_02..month_12`` (January is the base), per break ``level_<b>`` and ``slope_<b>``,
    and, with ``crisis_dummies``, one dummy per window in ``CRISIS_WINDOWS`` that overlaps."""
    n = len(index)
    t = np.arange(n, dtype="float64")
    X = pd.DataFrame({"const": 1.0, "trend": t}, index=index)
    for m in range(2, 13):
        X[f"month_{m:02d}"] = (index.month == m).astype("float64")
    for b in breaks:
        tb = _month(b, "breaks")
        after = index >= tb
        k = int(np.argmax(after)) if after.any() else n
        X[_level_name(b)] = after.astype("float64")
        X[_slope_name(b)] = np.where(after, t - k, 0.0)
    if crisis_dummies:
        for name, (lo, hi) in CRISIS_WINDOWS.items():
            d = ((index >= _month(lo, name)) & (index <= _month(hi, name))).astype("float64")
            if d.any():
                X[name] = d
    return X


def _segments(y: pd.Series, breaks: Sequence[str]) -> list[tuple[str, int, int]]:
    """(break, months before it in its segment, months from it to the next break/end)."""
    idx = y.index
    tbs = [_month(b, "breaks") for b in breaks]
    if tbs != sorted(set(tbs)):
        raise ParameterError(f"breaks={list(breaks)}: give distinct months in increasing order")
    out = []
    edges = [idx[0], *tbs, idx[-1] + pd.offsets.MonthBegin(1)]
    for i, b in enumerate(breaks):
        before = int(((idx >= edges[i]) & (idx < edges[i + 1])).sum())
        after = int(((idx >= edges[i + 1]) & (idx < edges[i + 2])).sum())
        out.append((str(b), before, after))
    return out


# ---- AR bootstrap machinery (shared by fit_its and supf_search) ----------------------------


def _yule_walker(x: np.ndarray, order: int) -> np.ndarray:
    kw = {"result_object": True} if "result_object" in inspect.signature(yule_walker).parameters else {}
    out = yule_walker(x, order=order, method="mle", **kw)
    return np.atleast_1d(np.asarray(out[0], dtype="float64"))


def _ar_noise(resid: np.ndarray, n_boot: int, seed: int, maxlag: int = 12) -> tuple[np.ndarray, int]:
    """``n_boot`` simulated series shaped like ``resid``: an AR(p) fitted to the residuals
    (p <= ``maxlag`` by BIC with statsmodels ``ar_select_order``; Yule-Walker coefficients, which
    are always stationary) driven by standard normal shocks (the statistics that use them are
    scale-invariant). Returns the (n_boot, n) array and p."""
    n = len(resid)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        sel = ar_select_order(resid, maxlag=max(1, min(maxlag, n // 10)), ic="bic", trend="n")
    lags = sel.ar_lags or []
    p = int(max(lags)) if lags else 0
    rho = _yule_walker(resid, p) if p else np.zeros(0)
    rng = np.random.default_rng(seed)
    burn = 200
    eps = rng.standard_normal((n_boot, n + burn))
    return lfilter([1.0], np.r_[1.0, -rho], eps, axis=1)[:, burn:], p


def _hac_cov_rows(G: np.ndarray, E: np.ndarray, maxlags: int) -> np.ndarray:
    """HAC (Bartlett) covariance of the OLS coefficients whose rows of ``pinv(X)`` are ``G``
    (m, n), for each row of residuals ``E`` (R, n): ``sum_j w_j sum_t g_t e_t (g_{t-j} e_{t-j})'``
    symmetrised, i.e. the corresponding block of statsmodels' ``cov_hac_simple`` sandwich
    (no small-sample correction). Returns (R, m, m)."""
    V = G[None, :, :] * E[:, None, :]
    S = V @ V.transpose(0, 2, 1)
    for j in range(1, maxlags + 1):
        C = V[:, :, j:] @ V[:, :, :-j].transpose(0, 2, 1)
        S += (1.0 - j / (maxlags + 1.0)) * (C + C.transpose(0, 2, 1))
    return S


def fit_its(
    y: pd.Series,
    breaks: Sequence[str],
    *,
    log: bool,
    crisis_dummies: bool = False,
    hac_maxlags: int = 12,
    n_boot: int = 0,
    seed: int = SEED,
) -> ITSResult:
    """Segmented regression of ``log(y)`` (``log=True``) or ``y`` with HAC covariance.

    Each break ``b`` adds a level step ``1(t >= b)`` and a slope change ``(t - b) * 1(t >= b)``;
    the level change is the jump at ``b`` relative to the previous segment's trend. Newey-West
    tests on trending regressors over-reject in samples of this size when residuals are
    persistent (in simulations with AR(1) errors, rho = 0.5 and 180 months, nominal 5 % t-tests
    rejected 15 % of the time), so with ``n_boot > 0`` the HAC t and Wald statistics are also
    calibrated by a parametric bootstrap: AR(p) noise fitted to the residuals (see
    :func:`_ar_noise`) is regressed on the same design, giving the null distribution of each
    statistic; CIs are ``estimate +/- c * se`` with ``c`` the bootstrap 95th percentile of |t|.

    Raises ``ModelSkipped`` if ``y`` has months <= 0 under ``log``, gaps, if fewer than
    ``MIN_PRE_MONTHS`` months precede the first break, or fewer than ``MIN_POST_MONTHS``
    follow a break (before the next one or the end).
    """
    name = str(y.name or "series")
    y = _check_series(y, log=log, name=name)
    breaks = [_ym(_month(b, "breaks")) for b in breaks]
    segs = _segments(y, breaks)
    for i, (b, before, after) in enumerate(segs):
        need = MIN_PRE_MONTHS if i == 0 else MIN_POST_MONTHS
        if before < need:
            raise ModelSkipped(
                f"{name}: {before} months before break {b} (< {need}); segment too short for a trend"
            )
        if after < MIN_POST_MONTHS:
            raise ModelSkipped(
                f"{name}: {after} months from break {b} to the next break or the end (< {MIN_POST_MONTHS})"
            )
    X = its_design(y.index, breaks, crisis_dummies)
    z = np.log(y) if log else y
    res = OLS(z, X).fit(cov_type="HAC", cov_kwds={"maxlags": hac_maxlags})
    cov_type = f"HAC (Newey-West, Bartlett kernel, {hac_maxlags} lags)"
    names = list(X.columns)
    ci = res.conf_int(alpha=0.05)
    cov = res.cov_params()

    # Observed Wald statistics of each break's (level, slope) pair.
    walds, p_asym = [], []
    for b in breaks:
        R = np.zeros((2, len(names)))
        R[0, names.index(_level_name(b))] = R[1, names.index(_slope_name(b))] = 1.0
        w = res.wald_test(R, use_f=False, scalar=True)
        walds.append(float(w.statistic))
        p_asym.append(float(w.pvalue))

    boot: dict[str, Any] = {}
    ar_order: int | None = None
    if n_boot > 0:
        U, ar_order = _ar_noise(np.asarray(res.resid), n_boot, seed)
        Xa = X.to_numpy()
        P = np.linalg.pinv(Xa)
        idx = [names.index(f(b)) for b in breaks for f in (_level_name, _slope_name)]
        B = U @ P.T
        E = U - B @ Xa.T
        Vb = _hac_cov_rows(P[idx], E, hac_maxlags)
        Bs = B[:, idx]
        t_star = np.abs(Bs) / np.sqrt(np.einsum("rii->ri", Vb))
        t_obs = np.abs(res.params.iloc[idx].to_numpy()) / res.bse.iloc[idx].to_numpy()
        crit = np.quantile(t_star, 0.95, axis=0)
        pvals = (1.0 + (t_star >= t_obs[None, :]).sum(axis=0)) / (n_boot + 1.0)
        for i, term in enumerate(names[k] for k in idx):
            boot[term] = (float(crit[i]), float(pvals[i]))
        for j, b in enumerate(breaks):
            sl = slice(2 * j, 2 * j + 2)
            bb, VV = Bs[:, sl], Vb[:, sl, sl]
            w_star = np.einsum("ri,ri->r", bb, np.linalg.solve(VV, bb[:, :, None])[:, :, 0])
            boot[f"wald_{b}"] = float((1.0 + (w_star >= walds[j]).sum()) / (n_boot + 1.0))

    effects, tests = [], []
    for j, (b, before, after) in enumerate(segs):
        lv, sl = _level_name(b), _slope_name(b)
        bl, bs = float(res.params[lv]), float(res.params[sl])
        lci = (float(ci.loc[lv, 0]), float(ci.loc[lv, 1]))
        sci = (float(ci.loc[sl, 0]), float(ci.loc[sl, 1]))
        kw: dict[str, Any] = {}
        if log:
            kw.update(
                pct_level_change=_pct(bl),
                pct_level_change_ci=(_pct(lci[0]), _pct(lci[1])),
                pct_slope_change_per_year=_pct(12 * bs),
                pct_slope_change_per_year_ci=(_pct(12 * sci[0]), _pct(12 * sci[1])),
            )
        if boot:
            cl, pl = boot[lv]
            cs, ps = boot[sl]
            sel_, ses = math.sqrt(cov.loc[lv, lv]), math.sqrt(cov.loc[sl, sl])
            lb, sb = (bl - cl * sel_, bl + cl * sel_), (bs - cs * ses, bs + cs * ses)
            kw.update(
                level_change_ci_boot=lb,
                slope_change_ci_boot=sb,
                slope_change_per_year_ci_boot=(12 * sb[0], 12 * sb[1]),
                p_level_boot=pl,
                p_slope_boot=ps,
            )
            if log:
                kw.update(
                    pct_level_change_ci_boot=(_pct(lb[0]), _pct(lb[1])),
                    pct_slope_change_per_year_ci_boot=(_pct(12 * sb[0]), _pct(12 * sb[1])),
                )
        effects.append(
            BreakEffect(
                break_=b,
                level_change=bl,
                level_change_ci=lci,
                slope_change=bs,
                slope_change_ci=sci,
                slope_change_per_year=12 * bs,
                slope_change_per_year_ci=(12 * sci[0], 12 * sci[1]),
                p_level=float(res.pvalues[lv]),
                p_slope=float(res.pvalues[sl]),
                cov_type=cov_type,
                log=log,
                months_before=before,
                months_after=after,
                **kw,
            )
        )
        others = [o for o in breaks if o != b]
        tests.append(
            BreakTest(
                date=b,
                statistic=walds[j],
                df=2,
                p_value=boot[f"wald_{b}"] if boot else p_asym[j],
                p_value_asymptotic=p_asym[j],
                n_boot=n_boot,
                test=(
                    f"Wald chi2(2), level and slope change jointly zero; {cov_type}"
                    + (f"; given the break(s) at {', '.join(others)}" if others else "")
                    + (f"; p-value from an AR({ar_order}) bootstrap, {n_boot} replications, seed {seed}"
                       if boot else "; asymptotic chi2 p-value")
                ),
            )
        )
    coefs = pd.DataFrame(
        {
            "term": names,
            "estimate": res.params.to_numpy(),
            "std_err": res.bse.to_numpy(),
            "ci_low": ci[0].to_numpy(),
            "ci_high": ci[1].to_numpy(),
            "p_value": res.pvalues.to_numpy(),
        }
    )
    # Pre-first-break trend over the whole sample, seasonal terms averaged out (January = 0).
    p = res.params
    month_effects = [0.0] + [float(p[f"month_{m:02d}"]) for m in range(2, 13)]
    pre = p["const"] + p["trend"] * X["trend"] + float(np.mean(month_effects))
    back = np.exp if log else (lambda v: v)
    fit = pd.DataFrame({"actual": y, "fitted": back(res.fittedvalues), "pre_trend": back(pre)}, index=y.index)
    fit.index.name = "date"
    return ITSResult(
        series=name,
        log=log,
        breaks=list(breaks),
        crisis_dummies=[c for c in names if c in CRISIS_WINDOWS],
        cov_type=cov_type,
        nobs=int(res.nobs),
        rsquared=float(res.rsquared),
        rsquared_adj=float(res.rsquared_adj),
        effects=effects,
        tests=tests,
        coefs=coefs,
        fit=fit,
        diagnostics=ljung_box(res.resid),
        n_boot=n_boot,
        ar_order=ar_order,
        results=res,
    )


# --------------------------------------------------------------------------- break tests


def known_break_test(
    y: pd.Series,
    date: str,
    *,
    log: bool,
    other_breaks: Sequence[str] = (),
    crisis_dummies: bool = False,
    hac_maxlags: int = 12,
    n_boot: int = 499,
    seed: int = SEED,
) -> BreakTest:
    """HAC Wald test (2 df) of no level and no slope change at ``date``.

    The model is the ITS of :func:`fit_its` with breaks ``other_breaks + [date]`` (so the test is
    conditional on the other breaks). The p-value is from the AR bootstrap of :func:`fit_its`
    (``n_boot`` replications); ``n_boot=0`` gives the asymptotic chi-squared p-value, which
    over-rejects when residuals are persistent.
    """
    date = _ym(_month(date, "break"))
    breaks = sorted({_ym(_month(b, "breaks")) for b in other_breaks} | {date})
    its = fit_its(y, breaks, log=log, crisis_dummies=crisis_dummies, hac_maxlags=hac_maxlags,
                  n_boot=n_boot, seed=seed)
    return next(t for t in its.tests if t.date == date)


@dataclass
class SearchResult:
    """Quandt-Andrews sup-Wald search for one unknown break in level and slope."""

    best: str
    sup_month: str
    statistic: float
    p_value: float
    n_boot: int
    trim: float
    first_candidate: str
    last_candidate: str
    ar_order: int
    method: str
    stats: pd.Series = field(repr=False)
    cusum_statistic: float | None = None
    cusum_p_value: float | None = None


def _hac_wald_path(z: np.ndarray, Zt: np.ndarray, ZtT: np.ndarray, A: np.ndarray, q0: np.ndarray,
                   maxlags: int, *, ssr: bool = False) -> Any:
    """HAC Wald statistics of the two break regressors for every candidate at once.

    ``Zt`` (T, n, 2): the step and slope regressors of each candidate, already residualised on
    the base regressors (orthonormal basis ``q0``); ``ZtT`` its (T, 2, n) transpose (contiguous);
    ``A`` (T, 2, 2) = inv(Zt'Zt). By Frisch-Waugh-Lovell the coefficients, residuals and the
    HAC sandwich block equal those of the full OLS (statsmodels ``cov_hac_simple``: Bartlett
    weights ``1 - j/(maxlags+1)``, no small-sample correction); a unit test checks this.
    With ``ssr=True`` also returns the residual sum of squares of each candidate model.
    """
    zt = z - q0 @ (q0.T @ z)
    b = (A @ (ZtT @ zt)[:, :, None])[:, :, 0]
    e = zt[None, :] - (Zt @ b[:, :, None])[:, :, 0]
    uT = ZtT * e[:, None, :]
    S = uT @ uT.transpose(0, 2, 1)
    for j in range(1, maxlags + 1):
        G = uT[:, :, j:] @ uT[:, :, :-j].transpose(0, 2, 1)
        S += (1.0 - j / (maxlags + 1.0)) * (G + G.transpose(0, 2, 1))
    V = A @ S @ A
    wald = np.einsum("ti,ti->t", b, np.linalg.solve(V, b[:, :, None])[:, :, 0])
    return (wald, np.einsum("tn,tn->t", e, e)) if ssr else wald


def _break_regressors(n: int, cands: np.ndarray, q0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step ``1(t >= k)`` and slope ``(t - k) 1(t >= k)`` regressors of each candidate month
    ``k`` in ``cands``, residualised on the base regressors (orthonormal basis ``q0``):
    ``Zt`` (T, n, 2), its contiguous transpose ``ZtT`` (T, 2, n) and ``A = inv(Zt'Zt)``."""
    t = np.arange(n, dtype="float64")
    Z = np.empty((len(cands), n, 2))
    for i, k in enumerate(cands):
        Z[i, :, 0] = (t >= k).astype("float64")
        Z[i, :, 1] = np.where(t >= k, t - k, 0.0)
    Zt = Z - np.einsum("nk,tkj->tnj", q0, np.einsum("nk,tnj->tkj", q0, Z))
    ZtT = np.ascontiguousarray(Zt.transpose(0, 2, 1))
    return Zt, ZtT, np.linalg.inv(ZtT @ Zt)


def _bartlett_smooth(x: np.ndarray, maxlags: int) -> np.ndarray:
    """``(k * x)(s) = sum_{|j| <= maxlags} (1 - |j|/(maxlags+1)) x(s+j)`` along the last axis
    (zero outside the sample): the Bartlett kernel applied as a band matrix."""
    out = x.copy()
    for j in range(1, maxlags + 1):
        w = 1.0 - j / (maxlags + 1.0)
        out[..., :-j] += w * x[..., j:]
        out[..., j:] += w * x[..., :-j]
    return out


def _hac_wald_boot(U: np.ndarray, Zt: np.ndarray, ZtT: np.ndarray, A: np.ndarray, q0: np.ndarray,
                   maxlags: int, chunk: int = 256) -> np.ndarray:
    """The statistics of :func:`_hac_wald_path` for many simulated series at once.

    ``U`` (R, n): the simulated series; ``Zt``, ``ZtT``, ``A``, ``q0`` as for
    :func:`_hac_wald_path`. Returns (T, R), the HAC Wald statistic of every candidate for
    every series. Equal to calling ``_hac_wald_path`` on each row (a unit test
    checks it), but organised so that the bulk of the work is one matrix product.

    With ``zt`` a series residualised on the base regressors, ``c = Zt'zt`` and ``b = A c``
    the break coefficients, the residuals are ``e = zt - Zt b`` and the HAC meat is
    ``S_ab = e' K_ab e`` with ``K_ab[s, s'] = k(|s - s'|) Zt_a(s) Zt_b(s')`` (Bartlett
    weights ``k``). Expanding ``e``: ``S_ab = zt'K_ab zt - sum_c b_c zt'(K_ab + K_ab')Zt_c
    + sum_cd b_c b_d Zt_c'K_ab Zt_d``. The first term is a sum over lags ``j <= maxlags`` of
    ``zt(s) zt(s+j)`` weighted by candidate-specific coefficients: one product of a
    (3T, (maxlags+1) n) matrix by a ((maxlags+1) n, R) one; the other terms are small. Since
    ``V = A S A`` and ``A^-1 b = c``, the Wald statistic is ``c' S^-1 c``.
    """
    T, n, _ = Zt.shape
    L = maxlags
    Z = (Zt[:, :, 0], Zt[:, :, 1])
    pairs = ((0, 0), (1, 1), (0, 1))  # S_00, S_11, S_01
    # Coefficients of zt(s) zt(s+j), j = 0..L, of the first term, for each pair and candidate.
    Y = np.zeros((3, T, L + 1, n))
    for p, (a, b_) in enumerate(pairs):
        Za, Zb = Z[a], Z[b_]
        Y[p, :, 0, :] = Za * Zb
        for j in range(1, L + 1):
            w = 1.0 - j / (L + 1.0)
            Y[p, :, j, : n - j] = w * (Za[:, : n - j] * Zb[:, j:] + Za[:, j:] * Zb[:, : n - j])
    Y = Y.reshape(3 * T, (L + 1) * n)
    # Second term: g_abc = (K_ab + K_ba) Zt_c, so that zt'(K_ab + K_ab')Zt_c = zt . g_abc.
    # Only three products Zt_i Zt_j exist; each is smoothed once.
    smooth = {(i, j): _bartlett_smooth(Z[i] * Z[j], L) for i, j in pairs}
    sm = lambda i, j: smooth[min(i, j), max(i, j)]  # noqa: E731
    G = np.empty((3, 2, T, n))
    C = np.empty((3, 2, 2, T))  # Zt_c' K_ab Zt_d
    for p, (a, b_) in enumerate(pairs):
        for c in (0, 1):
            G[p, c] = Z[a] * sm(b_, c) + Z[b_] * sm(a, c)
            for d in (0, 1):
                C[p, c, d] = np.einsum("tn,tn->t", Z[a] * Z[c], sm(b_, d))
    G = G.reshape(6 * T, n)
    ZtT = ZtT.reshape(2 * T, n)
    out = np.empty((T, len(U)))
    for lo in range(0, len(U), chunk):
        zt = U[lo : lo + chunk]
        zt = zt - (zt @ q0) @ q0.T  # (r, n)
        r = len(zt)
        P = np.zeros((L + 1, n, r))
        P[0] = (zt * zt).T
        for j in range(1, L + 1):
            P[j, : n - j] = (zt[:, : n - j] * zt[:, j:]).T
        Q = (Y @ P.reshape((L + 1) * n, r)).reshape(3, T, r)
        c = (ZtT @ zt.T).reshape(T, 2, r)
        b = np.einsum("tij,tjr->tir", A, c)
        Lg = (G @ zt.T).reshape(3, 2, T, r)
        bT = b.transpose(1, 0, 2)
        S = Q - np.einsum("pctr,ctr->ptr", Lg, bT) + np.einsum("pcdt,ctr,dtr->ptr", C, bT, bT)
        s00, s11, s01 = S
        c0, c1 = c[:, 0, :], c[:, 1, :]
        out[:, lo : lo + r] = (c0 * c0 * s11 - 2.0 * c0 * c1 * s01 + c1 * c1 * s00) / (s00 * s11 - s01 * s01)
    return out


def supf_search(
    y: pd.Series,
    *,
    log: bool,
    trim: float = TRIM,
    hac_maxlags: int = 12,
    n_boot: int = 999,
    seed: int = SEED,
) -> SearchResult:
    """Quandt-Andrews search for one break in level and slope at an unknown month, over candidates
    in the middle ``1 - 2*trim`` of the sample.

    ``statistic`` is the largest HAC Wald statistic (joint level + slope change) over the
    candidates (``sup_month`` is where it occurs); ``best`` is the least-squares estimate of the
    break month (the candidate with the smallest residual sum of squares, Bai 1997). The two
    usually agree; with HAC covariance the Wald maximum can sit a few months from the best fit,
    because the long-run variance is estimated separately at each candidate.

    p-value: parametric bootstrap (``n_boot`` replications, fixed ``seed``) of the sup statistic
    under the no-break model with AR(p) errors fitted to its residuals (p <= 12 by BIC, Yule-Walker
    estimates). The statistic is scale-invariant and the base regressors are projected out, so the
    simulated AR noise alone reproduces its null distribution. Also reports the OLS-CUSUM test of
    the no-break residuals (``breaks_cusumolsresid``) as a cross-check.
    """
    name = str(y.name or "series")
    y = _check_series(y, log=log, name=name)
    n = len(y)
    if n < MIN_SEARCH_MONTHS:
        raise ModelSkipped(f"{name}: {n} months < {MIN_SEARCH_MONTHS} needed for a break search")
    z = np.log(y.to_numpy()) if log else y.to_numpy()
    X0 = its_design(y.index, []).to_numpy()
    q0, _ = np.linalg.qr(X0)
    lo, hi = int(math.ceil(trim * n)), int(math.floor((1 - trim) * n))
    cands = np.arange(lo, hi + 1)
    Zt, ZtT, A = _break_regressors(n, cands, q0)
    stats, ssr = _hac_wald_path(z, Zt, ZtT, A, q0, hac_maxlags, ssr=True)
    best = int(np.argmin(ssr))  # least-squares break date (Bai 1997)
    sup_at = int(np.argmax(stats))
    sup = float(stats[sup_at])

    # Null model and its residual AR process.
    null = OLS(z, X0).fit()
    resid = np.asarray(null.resid)
    U, p = _ar_noise(resid, n_boot, seed)
    boot = _hac_wald_boot(U, Zt, ZtT, A, q0, hac_maxlags).max(axis=0)
    p_value = (1.0 + float((boot >= sup).sum())) / (n_boot + 1.0)
    cus, cus_p, _ = breaks_cusumolsresid(resid, ddof=X0.shape[1])
    return SearchResult(
        best=_ym(y.index[cands[best]]),
        sup_month=_ym(y.index[cands[sup_at]]),
        statistic=sup,
        p_value=p_value,
        n_boot=n_boot,
        trim=trim,
        first_candidate=_ym(y.index[cands[0]]),
        last_candidate=_ym(y.index[cands[-1]]),
        ar_order=p,
        method=(
            f"sup-Wald (chi2 form, HAC {hac_maxlags} lags) over candidates {_ym(y.index[cands[0]])}.."
            f"{_ym(y.index[cands[-1]])} ({int(trim * 100)} % trimming); p-value from a parametric "
            f"bootstrap, {n_boot} replications, AR({p}) errors, seed {seed}"
        ),
        stats=pd.Series(stats, index=y.index[cands], name="wald"),
        cusum_statistic=float(cus),
        cusum_p_value=float(cus_p),
    )


# --------------------------------------------------------------------------- counterfactual


@dataclass
class Counterfactual:
    """Projection from the pre-period and the gap between actual and projected values."""

    series: str
    model: str
    train_end: str
    post_start: str
    post_end: str
    months_post: int
    cumulative_gap: float
    gap_ci: tuple[float, float]
    pct_gap: float | None
    pct_gap_ci: tuple[float, float] | None
    by_horizon: list[dict[str, Any]]
    forecast: pd.DataFrame
    n_sim: int
    seed: int
    log: bool
    converged: bool
    fit_warnings: list[str]
    diagnostics: dict[str, Any]
    params: pd.DataFrame
    results: Any = field(repr=False, default=None)


def _fit_quietly(fit_fn: Any) -> tuple[Any, list[str]]:
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


def counterfactual(
    y: pd.Series,
    train_end: str = DEFAULT_TRAIN_END,
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
    if model not in FORECAST_MODELS:
        raise ParameterError(f"forecast_model={model!r}: expected one of {', '.join(FORECAST_MODELS)}")
    name = str(y.name or "series")
    y = _check_series(y, log=False, name=name)
    te = _month(train_end, "train_end")
    train, post = y.loc[:te], y.loc[te + pd.offsets.MonthBegin(1):]
    if len(train) < MIN_PRE_MONTHS:
        raise ModelSkipped(f"{name}: {len(train)} training months up to {_ym(te)} (< {MIN_PRE_MONTHS})")
    if len(post) < 1:
        raise ModelSkipped(f"{name}: no months after train_end={_ym(te)} to compare with")
    train = _check_series(train, log=log, name=f"{name} (training sample)")
    z = np.log(train) if log else train
    h = len(post)
    scale = "log" if log else "levels"
    if model == "sarimax":
        order = order or ((1, 1, 1) if log else (0, 1, 1))
        seasonal_order = seasonal_order or (0, 1, 1, 12)
        spec = (f"SARIMAX({','.join(map(str, order))})({','.join(map(str, seasonal_order))}) "
                f"on {scale}")
        mod = SARIMAX(z, order=order, seasonal_order=seasonal_order)
        res, notes = _fit_quietly(lambda: mod.fit(disp=False))
        fc = res.get_forecast(h).summary_frame(alpha=0.05)
        mean, lower, upper = fc["mean"], fc["mean_ci_lower"], fc["mean_ci_upper"]
        sims = res.simulate(h, anchor="end", repetitions=n_sim, rng=np.random.default_rng(seed))
        converged = bool(res.mle_retvals.get("converged", True)) if res.mle_retvals else True
        burn = int(res.loglikelihood_burn)
        resid = np.asarray(res.resid)[burn:]
        model_df = order[0] + order[2] + seasonal_order[0] + seasonal_order[2]
    else:
        spec = f"ETS(A,Ad,A) on {scale}"
        mod = ETSModel(z, error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=12)
        res, notes = _fit_quietly(lambda: mod.fit(disp=False))
        fc = res.get_prediction(start=len(z), end=len(z) + h - 1).summary_frame(alpha=0.05)
        mean, lower, upper = fc["mean"], fc["pi_lower"], fc["pi_upper"]
        sims = res.simulate(h, anchor="end", repetitions=n_sim, rng=np.random.default_rng(seed))
        converged = bool(res.mle_retvals.get("converged", True)) if getattr(res, "mle_retvals", None) else True
        resid = np.asarray(res.resid)
        model_df = 0
    if not converged and "optimizer did not converge" not in notes:
        notes.append("optimizer did not converge")
    paths = np.asarray(sims, dtype="float64").reshape(h, n_sim)
    if log:
        paths = np.exp(paths)
        mean, lower, upper = np.exp(mean), np.exp(lower), np.exp(upper)
    forecast = pd.DataFrame(
        {"mean": np.asarray(mean), "lower": np.asarray(lower), "upper": np.asarray(upper)}, index=post.index
    )
    forecast.index.name = "date"
    actual = post.to_numpy()

    def gap(k: int) -> tuple[float, tuple[float, float], float | None, tuple[float, float] | None]:
        cum_sim = paths[:k].sum(axis=0)
        g = actual[:k].sum() - cum_sim
        lo_, mid, hi_ = np.percentile(g, [2.5, 50, 97.5])
        pct = pct_ci = None
        if log and (cum_sim > 0).all():
            pg = 100.0 * (actual[:k].sum() / cum_sim - 1.0)
            plo, pmid, phi = np.percentile(pg, [2.5, 50, 97.5])
            pct, pct_ci = float(pmid), (float(plo), float(phi))
        return float(mid), (float(lo_), float(hi_)), pct, pct_ci

    cg, ci, pg, pci = gap(h)
    horizons = [
        {"months": k, "end": _ym(post.index[k - 1]), "cumulative_gap": g_, "gap_ci": list(c_), "pct_gap": p_,
         "pct_gap_ci": list(pc_) if pc_ else None}
        for k in (12, 36) if k < h
        for g_, c_, p_, pc_ in [gap(k)]
    ]
    ci_frame = res.conf_int(alpha=0.05)
    params = pd.DataFrame(
        {
            "term": [str(i) for i in res.params.index],
            "estimate": np.asarray(res.params, dtype="float64"),
            "std_err": np.asarray(res.bse, dtype="float64"),
            "ci_low": np.asarray(ci_frame.iloc[:, 0], dtype="float64"),
            "ci_high": np.asarray(ci_frame.iloc[:, 1], dtype="float64"),
            "p_value": np.asarray(res.pvalues, dtype="float64"),
        }
    )
    return Counterfactual(
        series=name,
        model=spec,
        train_end=_ym(te),
        post_start=_ym(post.index[0]),
        post_end=_ym(post.index[-1]),
        months_post=h,
        cumulative_gap=cg,
        gap_ci=ci,
        pct_gap=pg,
        pct_gap_ci=pci,
        by_horizon=horizons,
        forecast=forecast,
        n_sim=n_sim,
        seed=seed,
        log=log,
        converged=converged,
        fit_warnings=notes,
        diagnostics=ljung_box(resid, model_df=model_df),
        params=params,
        results=res,
    )


# --------------------------------------------------------------------------- whole run


def validate_params(
    monthly: pd.DataFrame,
    breaks: Sequence[str] | str,
    train_end: str | None,
    forecast_model: str = "sarimax",
    hac_maxlags: int = 12,
) -> tuple[list[str], str]:
    """Check the model parameters against the data window before any model work.

    ``breaks``: a list of ``YYYY-MM`` or a comma-separated string; each must lie after the first
    and not after the last month of ``monthly``, distinct and increasing. ``train_end``: a month
    with at least one month after it in the window; empty means the month before the first break.
    Returns ``(breaks, train_end)`` normalised. Raises ``ParameterError``.
    """
    if isinstance(breaks, str):
        breaks = [b for b in breaks.replace(" ", ",").split(",") if b]
    if not breaks:
        raise ParameterError("breaks: give at least one break month (e.g. 2012-03)")
    first, last = monthly.index.min(), monthly.index.max()
    window = f"{_ym(first)} .. {_ym(last)}"
    tbs = [_month(b, "breaks") for b in breaks]
    for b in tbs:
        if not first < b <= last:
            raise ParameterError(f"breaks={_ym(b)}: outside the data window {window}")
    if tbs != sorted(set(tbs)):
        raise ParameterError(f"breaks={','.join(_ym(b) for b in tbs)}: give distinct months in increasing order")
    if train_end is None or not str(train_end).strip():
        te = tbs[0] - pd.offsets.MonthBegin(1)
    else:
        te = _month(train_end, "train_end")
    if not first <= te < last:
        raise ParameterError(f"train_end={_ym(te)}: must lie in the data window {window} with months after it")
    if forecast_model not in FORECAST_MODELS:
        raise ParameterError(f"forecast_model={forecast_model!r}: expected one of {', '.join(FORECAST_MODELS)}")
    if int(hac_maxlags) < 0:
        raise ParameterError(f"hac_maxlags={hac_maxlags}: must be >= 0")
    return [_ym(b) for b in tbs], _ym(te)


@dataclass
class ModelRun:
    """Everything :func:`run_models` estimated for one partner (objects, not JSON)."""

    params: dict[str, Any]
    monthly: pd.DataFrame
    annual: pd.DataFrame
    sa: pd.DataFrame
    sa_methods: dict[str, str]
    stl: dict[str, pd.DataFrame]
    its: dict[str, ITSResult]
    its_crisis: dict[str, ITSResult]
    known_tests: dict[str, list[BreakTest]]
    searches: dict[str, SearchResult]
    counterfactuals: dict[str, Counterfactual]
    skipped: dict[str, str]


def run_models(
    monthly: pd.DataFrame,
    *,
    breaks: Sequence[str] | str = DEFAULT_BREAKS,
    train_end: str | None = DEFAULT_TRAIN_END,
    forecast_model: str = "sarimax",
    hac_maxlags: int = 12,
    n_boot: int = 999,
    n_sim: int = 1000,
    seed: int = SEED,
) -> ModelRun:
    """Fit every model to exports, imports and balance; never raises for a series that cannot
    be modelled: the reason goes into ``skipped`` (keys like ``"its.exports"``)."""
    breaks, train_end = validate_params(monthly, breaks, train_end, forecast_model, hac_maxlags)
    skipped: dict[str, str] = {}
    stl: dict[str, pd.DataFrame] = {}
    for col in SERIES:
        try:
            stl[col] = stl_decompose(monthly[col].rename(col), log=LOG_SERIES[col] and bool((monthly[col] > 0).all()))
        except ModelSkipped as exc:
            skipped[f"stl.{col}"] = str(exc)
    sa = seasonally_adjust(monthly)
    its: dict[str, ITSResult] = {}
    its_crisis: dict[str, ITSResult] = {}
    known: dict[str, list[BreakTest]] = {}
    searches: dict[str, SearchResult] = {}
    cfs: dict[str, Counterfactual] = {}
    for col in SERIES:
        y = monthly[col].rename(col)
        log = LOG_SERIES[col]
        for key, store, crisis in (("its", its, False), ("its_crisis", its_crisis, True)):
            try:
                store[col] = fit_its(y, breaks, log=log, crisis_dummies=crisis, hac_maxlags=hac_maxlags,
                                     n_boot=n_boot, seed=seed)
            except ModelSkipped as exc:
                skipped[f"{key}.{col}"] = str(exc)
        # The known-date tests are the joint Wald tests of the main ITS model (each break given
        # the others), i.e. known_break_test(y, b, other_breaks=...) without refitting.
        known[col] = list(its[col].tests) if col in its else []
        try:
            searches[col] = supf_search(y, log=log, hac_maxlags=hac_maxlags, n_boot=n_boot, seed=seed)
        except ModelSkipped as exc:
            skipped[f"supf_search.{col}"] = str(exc)
        try:
            cfs[col] = counterfactual(y, train_end, log=log, model=forecast_model, n_sim=n_sim, seed=seed)
        except ModelSkipped as exc:
            skipped[f"counterfactual.{col}"] = str(exc)
    params = {
        "start": _ym(monthly.index.min()),
        "end": _ym(monthly.index.max()),
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
    return ModelRun(
        params=params,
        monthly=monthly,
        annual=ser.annual(monthly),
        sa=sa,
        sa_methods=dict(sa.attrs.get("methods", {})),
        stl=stl,
        its=its,
        its_crisis=its_crisis,
        known_tests=known,
        searches=searches,
        counterfactuals=cfs,
        skipped=skipped,
    )


# --------------------------------------------------------------------------- JSON output


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


def _pair(ci: Sequence[float] | None, fn: Any) -> list[float | None] | None:
    return None if ci is None else [fn(ci[0]), fn(ci[1])]


def _effect_json(e: BreakEffect) -> dict[str, Any]:
    lvl = r_coef if e.log else r_money
    return {
        "break": e.break_,
        "unit": "log points" if e.log else "US$ millions per month",
        "level_change": lvl(e.level_change),
        "level_change_ci": _pair(e.level_change_ci, lvl),
        "slope_change": r_coef(e.slope_change),
        "slope_change_ci": _pair(e.slope_change_ci, r_coef),
        "slope_change_per_year": r_coef(e.slope_change_per_year),
        "slope_change_per_year_ci": _pair(e.slope_change_per_year_ci, r_coef),
        "p_level": r_p(e.p_level),
        "p_slope": r_p(e.p_slope),
        "cov_type": e.cov_type,
        "months_before": e.months_before,
        "months_after": e.months_after,
        "pct_level_change": r_pct(e.pct_level_change),
        "pct_level_change_ci": _pair(e.pct_level_change_ci, r_pct),
        "pct_slope_change_per_year": r_pct(e.pct_slope_change_per_year),
        "pct_slope_change_per_year_ci": _pair(e.pct_slope_change_per_year_ci, r_pct),
        "level_change_ci_boot": _pair(e.level_change_ci_boot, lvl),
        "slope_change_ci_boot": _pair(e.slope_change_ci_boot, r_coef),
        "slope_change_per_year_ci_boot": _pair(e.slope_change_per_year_ci_boot, r_coef),
        "pct_level_change_ci_boot": _pair(e.pct_level_change_ci_boot, r_pct),
        "pct_slope_change_per_year_ci_boot": _pair(e.pct_slope_change_per_year_ci_boot, r_pct),
        "p_level_boot": r_p(e.p_level_boot),
        "p_slope_boot": r_p(e.p_slope_boot),
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
        "model": "OLS segmented trend + month dummies" + (" + crisis dummies" if m.crisis_dummies else ""),
        "log": m.log,
        "unit": "log points (pct_* in %)" if m.log else "US$ millions per month",
        "cov_type": m.cov_type,
        "nobs": m.nobs,
        "r2": r_stat(m.rsquared),
        "breaks": [_effect_json(e) for e in m.effects],
        "dummies": list(m.crisis_dummies),
        "bootstrap": (
            f"HAC t statistics calibrated by a parametric bootstrap: {m.n_boot} replications of "
            f"AR({m.ar_order}) noise fitted to the residuals (seed in params)" if m.n_boot else None
        ),
    }


def _cf_json(c: Counterfactual) -> dict[str, Any]:
    return {
        "model": c.model,
        "train_end": c.train_end,
        "post_start": c.post_start,
        "post_end": c.post_end,
        "months": c.months_post,
        "unit": "US$ millions, summed over the post period",
        "cumulative_gap": r_money(c.cumulative_gap),
        "gap_ci": _pair(c.gap_ci, r_money),
        "pct_gap": r_pct(c.pct_gap),
        "pct_gap_ci": _pair(c.pct_gap_ci, r_pct),
        "by_horizon": [
            {"months": x["months"], "end": x["end"], "cumulative_gap": r_money(x["cumulative_gap"]),
             "gap_ci": _pair(x["gap_ci"], r_money), "pct_gap": r_pct(x["pct_gap"]),
             "pct_gap_ci": _pair(x["pct_gap_ci"], r_pct)}
            for x in c.by_horizon
        ],
        "interval": f"95 %, percentiles of {c.n_sim} simulated paths (seed {c.seed}); parameter uncertainty not included",
        "converged": c.converged,
    }


def results_dict(run: ModelRun, partner_code: int | str, partner: str) -> dict[str, Any]:
    """The JSON-safe results structure of a :class:`ModelRun` (no NaN; rounded; deterministic)."""
    ann = [
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
        for r in run.annual.itertuples(index=False)
    ]
    its: dict[str, Any] = {}
    tests: dict[str, Any] = {}
    cfs: dict[str, Any] = {}
    diags: dict[str, Any] = {}
    for col in SERIES:
        if col in run.its:
            its[col] = _its_json(run.its[col])
            if col in run.its_crisis:
                its[col]["crisis"] = _its_json(run.its_crisis[col])
        t: dict[str, Any] = {
            "known": [
                {"date": k.date, "statistic": r_stat(k.statistic), "df": k.df, "p_value": r_p(k.p_value),
                 "p_value_asymptotic": r_p(k.p_value_asymptotic), "n_boot": k.n_boot, "test": k.test}
                for k in run.known_tests.get(col, [])
            ]
        }
        if col in run.searches:
            s = run.searches[col]
            t["search"] = {
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
            t["cusum"] = {"statistic": r_stat(s.cusum_statistic), "p_value": r_p(s.cusum_p_value),
                          "test": "OLS-CUSUM (Ploberger-Kraemer) on the no-break model's residuals"}
        tests[col] = t
        if col in run.counterfactuals:
            cfs[col] = _cf_json(run.counterfactuals[col])
        d: dict[str, Any] = {}
        if col in run.its:
            d["its"] = _diag_json(run.its[col].diagnostics)
        if col in run.its_crisis:
            d["its_crisis"] = _diag_json(run.its_crisis[col].diagnostics)
        if col in run.counterfactuals:
            c = run.counterfactuals[col]
            d["counterfactual"] = {**_diag_json(c.diagnostics), "model": c.model, "converged": c.converged,
                                   "fit_warnings": list(c.fit_warnings)}
        diags[col] = d
    code = int(str(partner_code).strip())
    return {
        "partner_code": code,
        "partner": partner,
        "slug": slugify(partner),
        "data_through": ser.data_through(run.monthly),
        "params": dict(run.params),
        "annual": ann,
        "seasonal_adjustment": dict(run.sa_methods),
        "its": its,
        "break_tests": tests,
        "counterfactual": cfs,
        "diagnostics": diags,
        "skipped": dict(sorted(run.skipped.items())),
        "caveats": list(CAVEATS),
    }


def build_results(
    partner_code: int | str,
    partner: str,
    monthly: pd.DataFrame,
    *,
    run: ModelRun | None = None,
    **params: Any,
) -> dict[str, Any]:
    """Fit every model (:func:`run_models` with ``params``) unless ``run`` is given, and return
    the JSON-safe results dictionary (see :func:`results_dict`)."""
    if run is None:
        run = run_models(monthly, **params)
    elif params:
        raise TypeError("build_results: give either run= or model parameters, not both")
    return results_dict(run, partner_code, partner)


def coefficients_table(run: ModelRun) -> pd.DataFrame:
    """Tidy coefficients of every fitted model: ``series, model, term, estimate, std_err,
    ci_low, ci_high, p_value`` (ITS with HAC errors; the counterfactual's SARIMAX/ETS parameters)."""
    frames = []
    for col in SERIES:
        for key, store in (("its", run.its), ("its_crisis", run.its_crisis)):
            if col in store:
                frames.append(store[col].coefs.assign(series=col, model=key))
        if col in run.counterfactuals:
            c = run.counterfactuals[col]
            frames.append(c.params.assign(series=col, model=f"counterfactual {c.model}"))
    cols = ["series", "model", "term", "estimate", "std_err", "ci_low", "ci_high", "p_value"]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def write_outputs(
    results: dict[str, Any],
    coef: pd.DataFrame,
    sa: pd.DataFrame,
    out_dir: str | Path,
    sa_path: str | Path,
    *,
    figures_stage: str | Path | None = None,
) -> list[Path]:
    """Write ``out_dir/coefficients.csv``, the SA series (``date, exports_sa, imports_sa,
    balance_sa``) to ``sa_path`` and ``out_dir/results.json``, each atomically and
    deterministically (fixed float formats, ``\\n`` line ends). With ``figures_stage`` (a
    folder from :func:`analysis.fileio.staging_dir` holding this run's figures) that folder then
    replaces ``out_dir/figures``, so a run that stops early leaves the last good figures in
    place and stale figures of an earlier run (e.g. of a model now skipped) do not linger.
    ``results.json`` is written last. Returns the paths (the figures folder included)."""
    out_dir, sa_path = Path(out_dir), Path(sa_path)
    c = coef.copy()
    for col in ("estimate", "std_err", "ci_low", "ci_high"):
        c[col] = [r_coef(v) for v in c[col]]
    c["p_value"] = [r_p(v) for v in c["p_value"]]
    paths = [write_atomic(out_dir / "coefficients.csv",
                          lambda p: c.to_csv(p, index=False, lineterminator="\n", float_format="%.6g"))]
    s = sa[["exports_sa", "imports_sa", "balance_sa"]].copy()
    s.index = pd.DatetimeIndex(s.index).strftime("%Y-%m-%d")
    s.index.name = "date"
    s = s.round(1) + 0.0
    paths.append(write_atomic(sa_path, lambda p: s.to_csv(p, lineterminator="\n", float_format="%.1f")))
    if figures_stage is not None:
        paths.append(replace_dir(figures_stage, out_dir / "figures"))
    paths.append(write_json_atomic(out_dir / "results.json", results))
    return paths


# --------------------------------------------------------------------------- narrative


def _fmt(x: float, nd: int = 1) -> str:
    """``-1234.5 -> "−1,234.5"`` (a true minus sign; no "-0.0")."""
    s = f"{abs(x):,.{nd}f}"
    return ("\u2212" if x < 0 and float(s.replace(",", "")) != 0 else "") + s


def _verb(label: str) -> str:
    return "were" if label.rstrip().lower().endswith("s") else "was"


def describe_effect(e: BreakEffect, label: str) -> str:
    """One sentence for the level change at a break, generated from the estimate and its CI.

    Log models speak in percent; level models (the balance) in US$ millions per month. The CI is
    the bootstrap-calibrated one when it was computed, else the HAC one. When the 95 % CI covers
    zero the sentence says there is no detectable change.
    """
    kind = "bootstrap" if e.level_change_ci_boot else "HAC"
    if e.log:
        v = e.pct_level_change
        lo, hi = e.best_pct_level_ci  # type: ignore[misc]
        size = f"{_fmt(abs(v))} % {'higher' if v > 0 else 'lower'}"  # type: ignore[arg-type]
        ci = f"95 % CI {_fmt(lo)} % to {_fmt(hi)} %, {kind}"
    else:
        v, (lo, hi) = e.level_change, e.best_level_ci
        size = f"US$ {_fmt(abs(v), 0)} million a month {'higher' if v > 0 else 'lower'}"
        ci = f"95 % CI {_fmt(lo, 0)} to {_fmt(hi, 0)}, {kind}"
    text = f"{label} {_verb(label)} {size} in {e.break_} than the pre-break trend implied ({ci})"
    return text + (" \u2014 no detectable change." if lo <= 0 <= hi else ".")


def describe_slope(e: BreakEffect, label: str) -> str:
    """One sentence for the change in trend at a break (per year), from the estimate and CI."""
    kind = "bootstrap" if e.slope_change_ci_boot else "HAC"
    noun = label.lower().removeprefix("the ")
    if e.log:
        v = e.pct_slope_change_per_year
        lo, hi = e.pct_slope_change_per_year_ci_boot or e.pct_slope_change_per_year_ci  # type: ignore[misc]
        what = f"the trend growth of {noun} changed by {_fmt(v)} % a year"  # type: ignore[arg-type]
        ci = f"95 % CI {_fmt(lo)} % to {_fmt(hi)} %, {kind}"
    else:
        v = e.slope_change_per_year
        lo, hi = e.slope_change_per_year_ci_boot or e.slope_change_per_year_ci
        what = f"the trend of the monthly {noun} changed by US$ {_fmt(v, 0)} million a year"
        ci = f"95 % CI {_fmt(lo, 0)} to {_fmt(hi, 0)}, {kind}"
    text = f"After {e.break_}, {what} ({ci})"
    return text + (" \u2014 no detectable change in trend." if lo <= 0 <= hi else ".")


def describe_counterfactual(c: Counterfactual, label: str) -> str:
    """One sentence for the cumulative gap between actual values and the projection."""
    lo, hi = c.gap_ci
    v = c.cumulative_gap
    noun = label.lower().removeprefix("the ")
    subject = f"cumulative {noun} {_verb(noun)}"
    text = (
        f"From {c.post_start} to {c.post_end}, {subject} US$ {_fmt(abs(v) / 1000)} billion "
        f"{'above' if v > 0 else 'below'} the {c.model} projection trained through {c.train_end} "
        f"(95 % simulation interval {_fmt(lo / 1000)} to {_fmt(hi / 1000)} billion)"
    )
    return text + (" \u2014 the interval includes zero." if lo <= 0 <= hi else ".")


def describe_search(s: SearchResult, label: str) -> str:
    """One sentence for the unknown-break search, flagging a break at the edge of the window."""
    noun = label.lower().removeprefix("the ")
    edge = s.best in (s.first_candidate, s.last_candidate)
    text = (
        f"For {noun}, the best-fitting single break (level and trend) in {s.first_candidate}..{s.last_candidate} "
        f"is {s.best}; the largest Wald statistic ({_fmt(s.statistic)}, in {s.sup_month}) has a bootstrap "
        f"p-value of {s.p_value:.3f}"
    )
    if edge:
        text += (", and the best month sits at the edge of the search window, a sign of gradual change "
                 "or curvature rather than a break")
    if s.p_value >= 0.05:
        return text + " \u2014 no significant break at the 5 % level."
    return text + "."


# --------------------------------------------------------------------------- display tables


def effects_table(run: ModelRun, *, crisis: bool = False) -> pd.DataFrame:
    """The ITS break effects as a display table (one row per series and break).

    ``level_change`` is in % for log series and US$ millions per month for the balance
    (``unit`` says which); ``trend_change_per_year`` in % a year or US$ millions a month per year.
    CIs and p-values: bootstrap-calibrated (``*_boot``) and plain HAC.
    """
    store = run.its_crisis if crisis else run.its
    rows = []
    for col in SERIES:
        if col not in store:
            continue
        for e in store[col].effects:
            if e.log:
                lv, lci, lci_h = e.pct_level_change, e.pct_level_change_ci_boot, e.pct_level_change_ci
                sv, sci = e.pct_slope_change_per_year, e.pct_slope_change_per_year_ci_boot
                unit = "%"
            else:
                lv, lci, lci_h = e.level_change, e.level_change_ci_boot, e.level_change_ci
                sv, sci = e.slope_change_per_year, e.slope_change_per_year_ci_boot
                unit = "US$ millions a month"
            rows.append({
                "series": col,
                "break": e.break_,
                "unit": unit,
                "level_change": lv,
                "ci_low_boot": lci[0] if lci else None,
                "ci_high_boot": lci[1] if lci else None,
                "p_level_boot": e.p_level_boot,
                "ci_low_hac": lci_h[0] if lci_h else None,
                "ci_high_hac": lci_h[1] if lci_h else None,
                "p_level_hac": e.p_level,
                "trend_change_per_year": sv,
                "trend_ci_low_boot": sci[0] if sci else None,
                "trend_ci_high_boot": sci[1] if sci else None,
                "p_trend_boot": e.p_slope_boot,
            })
    cols = ["series", "break", "unit", "level_change", "ci_low_boot", "ci_high_boot", "p_level_boot",
            "ci_low_hac", "ci_high_hac", "p_level_hac", "trend_change_per_year", "trend_ci_low_boot",
            "trend_ci_high_boot", "p_trend_boot"]
    return pd.DataFrame(rows, columns=cols)


def tests_table(run: ModelRun) -> pd.DataFrame:
    """Known-date Wald tests and the unknown-break search, one row per test."""
    rows = []
    for col in SERIES:
        for t in run.known_tests.get(col, []):
            rows.append({"series": col, "test": "known date", "month": t.date, "statistic": t.statistic,
                         "p_value_bootstrap": t.p_value if t.n_boot else None,
                         "p_value_asymptotic": t.p_value_asymptotic})
        if col in run.searches:
            s = run.searches[col]
            rows.append({"series": col, "test": f"sup-Wald search {s.first_candidate}..{s.last_candidate}",
                         "month": s.best, "statistic": s.statistic, "p_value_bootstrap": s.p_value,
                         "p_value_asymptotic": None})
            rows.append({"series": col, "test": "OLS-CUSUM (no-break model)", "month": None,
                         "statistic": s.cusum_statistic, "p_value_bootstrap": None,
                         "p_value_asymptotic": s.cusum_p_value})
    return pd.DataFrame(rows, columns=["series", "test", "month", "statistic", "p_value_bootstrap",
                                       "p_value_asymptotic"])


def counterfactual_table(run: ModelRun) -> pd.DataFrame:
    """Cumulative gaps (US$ millions) between actual values and the projection, by horizon."""
    rows = []
    for col in SERIES:
        if col not in run.counterfactuals:
            continue
        c = run.counterfactuals[col]
        spans = [*c.by_horizon, {"months": c.months_post, "end": c.post_end, "cumulative_gap": c.cumulative_gap,
                                 "gap_ci": c.gap_ci, "pct_gap": c.pct_gap, "pct_gap_ci": c.pct_gap_ci}]
        for h in spans:
            rows.append({
                "series": col, "model": c.model, "from": c.post_start, "to": h["end"], "months": h["months"],
                "cumulative_gap": h["cumulative_gap"], "ci_low": h["gap_ci"][0], "ci_high": h["gap_ci"][1],
                "pct_gap": h["pct_gap"], "pct_ci_low": h["pct_gap_ci"][0] if h["pct_gap_ci"] else None,
                "pct_ci_high": h["pct_gap_ci"][1] if h["pct_gap_ci"] else None,
            })
    return pd.DataFrame(rows, columns=["series", "model", "from", "to", "months", "cumulative_gap", "ci_low",
                                       "ci_high", "pct_gap", "pct_ci_low", "pct_ci_high"])


def diagnostics_table(run: ModelRun) -> pd.DataFrame:
    """Ljung-Box (lags 12, 24) and Durbin-Watson of every model's residuals."""
    rows = []
    for col in SERIES:
        models_ = [("ITS", run.its.get(col)), ("ITS + crisis dummies", run.its_crisis.get(col)),
                   ("counterfactual", run.counterfactuals.get(col))]
        for name, m in models_:
            if m is None:
                continue
            d = m.diagnostics
            row: dict[str, Any] = {"series": col, "model": m.model if name == "counterfactual" else name}
            for lb in d["ljung_box"]:
                row[f"LB({lb['lag']})"] = lb["statistic"]
                row[f"p LB({lb['lag']})"] = lb["p_value"]
            row["Durbin-Watson"] = d["durbin_watson"]
            rows.append(row)
    return pd.DataFrame(rows, columns=["series", "model", "LB(12)", "p LB(12)", "LB(24)", "p LB(24)",
                                       "Durbin-Watson"])
