"""The AR bootstrap behind the calibrated trend tests: AR noise fitted, bias-corrected, simulated.

:mod:`analysis.models.its` (the null-imposed tests of each break), :mod:`analysis.models.breaks`
(the sup-F search) and :mod:`analysis.models.size` (the size simulation) all draw their null
distributions through :func:`calibrated_null`: an AR(p) fitted to regression residuals
(:func:`fit_ar`: Hannan-Quinn, at least :data:`AR_MIN_ORDER`, Yule-Walker), its coefficients
bias-corrected by simulation (:func:`ar_bias_correct`), simulated noise regressed on the
design, and the HAC statistics of every draw at once (:func:`null_draws`).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter
from statsmodels.regression.linear_model import yule_walker
from statsmodels.tsa.ar_model import ar_select_order

from analysis.models.base import SEED


def _yule_walker(x: np.ndarray, order: int) -> np.ndarray:
    kw = (
        {"result_object": True}
        if "result_object" in inspect.signature(yule_walker).parameters
        else {}
    )
    out = yule_walker(x, order=order, method="mle", **kw)
    return np.atleast_1d(np.asarray(out[0], dtype="float64"))


def yule_walker_rows(E: np.ndarray, order: int) -> np.ndarray:
    """Yule-Walker AR(``order``) coefficients of every row of ``E`` (R, n) at once: statsmodels
    ``yule_walker(x, order, method="mle")`` (demeaned, autocovariances divided by n) row by
    row (a unit test checks it). Returns (R, order)."""
    x = E - E.mean(axis=1, keepdims=True)
    n = x.shape[1]
    r = np.stack(
        [np.einsum("rn,rn->r", x[:, k:], x[:, : n - k]) / n for k in range(order + 1)], axis=1
    )
    toeplitz = r[:, np.abs(np.subtract.outer(np.arange(order), np.arange(order)))]
    return np.linalg.solve(toeplitz, r[:, 1:, None])[:, :, 0]


#: Information criterion choosing the order of the AR noise (statsmodels ``ar_select_order``).
AR_ORDER_IC: str = "hqic"

#: Smallest AR order of the noise. A bootstrap whose noise misses some persistence is liberal,
#: while an unneeded coefficient is estimated near zero and costs little, so the order errs on
#: the long side. Measured with :func:`analysis.models.size.size_simulation` on Korea's flows
#: (2,000 draws, seeds of ``benchmarks/size.json``): with BIC and no floor the balance's weak
#: AR(3) noise was usually fitted as AR(1) and the calibrated tests rejected 6.7 % at 5 %;
#: Hannan-Quinn alone 6.4 % (5,000 draws); the true order fixed at 3, 5.3 %; Hannan-Quinn with
#: this floor 5.6 % (exports 5.8 %, imports 5.8 %; 5,000 draws each). AIC over-fits and widened
#: the size for exports and imports instead.
AR_MIN_ORDER: int = 3


#: Two criteria closer than this (relative) are left to statsmodels to rank (:func:`ic_order`).
_IC_TIE: float = 1e-9
#: Each criterion's penalty per estimated parameter, for ``n`` observations (statsmodels'
#: ``eval_measures``: -2 llf + penalty * (k + 1)).
_PENALTY = {
    "aic": lambda n: 2.0,
    "bic": lambda n: float(np.log(n)),
    "hqic": lambda n: 2.0 * float(np.log(np.log(n))),
}


def _statsmodels_order(x: np.ndarray, maxlag: int) -> int:
    """statsmodels ``ar_select_order(x, maxlag, ic=AR_ORDER_IC, trend="n")``'s order."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        lags = ar_select_order(x, maxlag=maxlag, ic=AR_ORDER_IC, trend="n").ar_lags or []
    return int(max(lags)) if lags else 0


def ic_order(x: np.ndarray, maxlag: int) -> int:
    """The AR order 0..``maxlag`` with the smallest :data:`AR_ORDER_IC`, no constant, all
    orders fitted on the same sample (the last n - ``maxlag`` months): statsmodels
    ``ar_select_order(x, maxlag, ic=AR_ORDER_IC, trend="n")``, computed from one QR
    factorisation of the lag matrix (the residual sum of squares of each order is the data's
    minus its leading projections) instead of ``maxlag + 1`` regressions. Where the two best
    criteria are too close for the rounding of the two computations to agree on their order,
    statsmodels ranks them. Rank-deficient lag matrices (a constant series) are left to
    statsmodels too."""
    x = np.asarray(x, dtype="float64")
    n = len(x) - maxlag
    y = x[maxlag:]
    lags = np.column_stack([x[maxlag - j : len(x) - j] for j in range(1, maxlag + 1)])
    q, r = np.linalg.qr(lags)
    diag = np.abs(np.diag(r))
    if n <= maxlag or not np.all(diag > 1e-10 * max(diag.max(), 1e-300)):
        return _statsmodels_order(x, maxlag)
    c = q.T @ y
    rss = float(y @ y) - np.r_[0.0, np.cumsum(c**2)]
    if not np.all(rss > 0):
        return _statsmodels_order(x, maxlag)
    k = np.arange(maxlag + 1)
    # -2 llf + penalty (k + 1), llf = -n (ln(2 pi rss / n) + 1) / 2 (statsmodels' AutoReg)
    ic = n * (np.log(2 * np.pi * rss / n) + 1) + _PENALTY[AR_ORDER_IC](n) * (k + 1)
    order = np.argsort(ic, kind="stable")
    best, second = ic[order[0]], ic[order[1]]
    if abs(second - best) <= _IC_TIE * max(abs(best), 1.0):
        return _statsmodels_order(x, maxlag)
    return int(order[0])


def fit_ar(resid: np.ndarray, maxlag: int = 12) -> tuple[np.ndarray, int]:
    """AR(p) fitted to ``resid``: p <= ``maxlag`` (capped at n/10) by :data:`AR_ORDER_IC`
    (Hannan-Quinn, :func:`ic_order`: statsmodels ``ar_select_order``'s choice), at least
    :data:`AR_MIN_ORDER` (within the cap), Yule-Walker coefficients (always stationary).
    Returns (coefs, p)."""
    cap = max(1, min(maxlag, len(resid) // 10))
    p = max(ic_order(resid, cap), min(AR_MIN_ORDER, cap))
    return (_yule_walker(resid, p) if p else np.zeros(0)), p


def simulate_ar(rho: np.ndarray, n_boot: int, n: int, seed: int) -> np.ndarray:
    """``n_boot`` AR(``rho``) series of length ``n`` with standard normal shocks (200 months of
    burn-in from zero, fixed ``seed``): the (n_boot, n) array."""
    burn = 200
    eps = np.random.default_rng(seed).standard_normal((n_boot, n + burn))
    return lfilter([1.0], np.r_[1.0, -np.asarray(rho, dtype="float64")], eps, axis=1)[:, burn:]


def _max_root(rho: np.ndarray) -> float:
    """Largest modulus of the roots of ``z^p - rho_1 z^(p-1) - ... - rho_p`` (< 1: stationary)."""
    return float(np.abs(np.roots(np.r_[1.0, -rho])).max()) if len(rho) else 0.0


def ar_bias_correct(
    rho: np.ndarray, X: np.ndarray, *, n_sim: int = 200, iters: int = 5, seed: int = SEED
) -> np.ndarray:
    """AR coefficients whose Yule-Walker estimates, from residuals of a regression on ``X``,
    average ``rho``: the simulation-based bias correction of Kilian (1998) / MacKinnon and
    Smith (1998).

    Yule-Walker estimates from regression residuals underestimate persistence (on Korea's
    series the sum of two AR coefficients by about 0.07 of 0.8), and a bootstrap from the
    estimates then under-disperses the HAC t statistics. Starting from ``rho``, each of
    ``iters`` steps simulates ``n_sim`` AR series with the current coefficients (common random
    numbers, fixed ``seed``), takes their residuals on ``X``, and moves the coefficients by
    ``rho`` minus the mean re-estimate. A step that would leave the stationary region is shrunk
    towards ``rho`` until the largest root modulus is below 0.99.
    """
    rho = np.asarray(rho, dtype="float64")
    p = len(rho)
    if p == 0:
        return rho.copy()
    n = X.shape[0]
    q, _ = np.linalg.qr(X)
    # Shocks of their own (not those of the bootstrap drawn with the same seed).
    eps = np.random.default_rng((seed, 0xBC)).standard_normal((n_sim, n + 200))
    cur = rho.copy()
    for _ in range(iters):
        U = lfilter([1.0], np.r_[1.0, -cur], eps, axis=1)[:, 200:]
        step = rho - yule_walker_rows(U - (U @ q) @ q.T, p).mean(axis=0)
        new = cur + step
        shrink = 1.0
        while _max_root(new) >= 0.99 and shrink > 1e-3:
            shrink *= 0.8
            new = cur + shrink * step
        cur = new if _max_root(new) < 0.99 else cur
    return cur


def ar_noise(resid: np.ndarray, n_boot: int, seed: int, maxlag: int = 12) -> tuple[np.ndarray, int]:
    """``n_boot`` simulated series shaped like ``resid``: an AR(p) fitted to the residuals
    (:func:`fit_ar`: p by Hannan-Quinn, at least 3, Yule-Walker coefficients) driven by
    standard normal shocks (the statistics that use them are scale-invariant). Returns the (n_boot, n) array and p."""
    rho, p = fit_ar(resid, maxlag)
    return simulate_ar(rho, n_boot, len(resid), seed), p


def hac_cov_rows(G: np.ndarray, E: np.ndarray, maxlags: int) -> np.ndarray:
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


def null_draws(
    U: np.ndarray, X: np.ndarray, P: np.ndarray, idx: Sequence[int], maxlags: int
) -> tuple[np.ndarray, np.ndarray]:
    """HAC |t| of the regressors ``idx`` (consecutive level, slope pairs) and the HAC Wald
    statistic of each pair (none for a single regressor), for every row of ``U`` (R, n)
    regressed on ``X`` (``P`` = ``pinv(X)``, passed in so that it is computed once). Returns
    (R, len(idx)), (R, pairs)."""
    B = U @ P.T
    E = U - B @ X.T
    Vb = hac_cov_rows(P[list(idx)], E, maxlags)
    Bs = B[:, list(idx)]
    t_star = np.abs(Bs) / np.sqrt(np.einsum("rii->ri", Vb))
    walds = []
    for j in range(len(idx) // 2):
        sl = slice(2 * j, 2 * j + 2)
        bb, VV = Bs[:, sl], Vb[:, sl, sl]
        walds.append(np.einsum("ri,ri->r", bb, np.linalg.solve(VV, bb[:, :, None])[:, :, 0]))
    return t_star, (np.stack(walds, axis=1) if walds else np.zeros((len(U), 0)))


@dataclass(frozen=True)
class NullDraws:
    """Bootstrap null draws of the break statistics of one fitted model.

    ``t``/``wald``: from AR noise with the Yule-Walker coefficients ``rho`` of the residuals
    (the plain residual AR bootstrap, ``kind="boot"``); ``t_cal``/``wald_cal``: from AR noise
    with the bias-corrected coefficients ``rho_bc`` (:func:`ar_bias_correct`; the calibrated
    test, ``kind="cal"``). Columns of ``t``: |t| of level_b, slope_b for each break in order.
    """

    t: np.ndarray
    wald: np.ndarray
    t_cal: np.ndarray
    wald_cal: np.ndarray
    rho: np.ndarray
    rho_bc: np.ndarray

    @property
    def ar_order(self) -> int:
        """The order p of the AR noise (:func:`fit_ar`: Hannan-Quinn, at least 3)."""
        return len(self.rho)


def calibrated_null(
    resid: np.ndarray,
    X: np.ndarray,
    idx: Sequence[int],
    n_boot: int,
    seed: int,
    maxlags: int,
    P: np.ndarray | None = None,
    X_resid: np.ndarray | None = None,
) -> NullDraws:
    """Null draws of the HAC statistics of regressors ``idx`` of the regression on ``X``: AR(p)
    fitted to ``resid`` (:func:`fit_ar`), the OLS residuals of the regression on ``X_resid``
    (default ``X``), simulated with the estimated and with the bias-corrected coefficients
    (same shocks, fixed ``seed``; the correction simulates residuals on ``X_resid``, the design
    they come from), each regressed on ``X``. The statistics are scale-invariant and the design
    is projected out, so the noise alone gives their null distribution. :func:`fit_its` (with
    ``X_resid`` the design without the tested break: :func:`null_imposed`) and the size
    simulation (:mod:`analysis.models.size`) both go through this function."""
    P = np.linalg.pinv(X) if P is None else P
    rho, _ = fit_ar(np.asarray(resid, dtype="float64"))
    rho_bc = ar_bias_correct(rho, X if X_resid is None else X_resid, seed=seed)
    n = X.shape[0]
    t, wald = null_draws(simulate_ar(rho, n_boot, n, seed), X, P, idx, maxlags)
    t_cal, wald_cal = null_draws(simulate_ar(rho_bc, n_boot, n, seed), X, P, idx, maxlags)
    return NullDraws(t=t, wald=wald, t_cal=t_cal, wald_cal=wald_cal, rho=rho, rho_bc=rho_bc)


def null_columns(names: Sequence[str]) -> list[int]:
    """Positions of the regressors of the model without breaks (no ``level_``/``slope_``
    term): the design under the null that every break term is zero."""
    return [i for i, c in enumerate(names) if not str(c).startswith(("level_", "slope_"))]


def null_imposed(
    z: np.ndarray,
    X: np.ndarray,
    idx: Sequence[int],
    n_boot: int,
    seed: int,
    maxlags: int,
    keep: Sequence[int],
    P: np.ndarray | None = None,
) -> NullDraws:
    """:func:`calibrated_null` with the null imposed: the AR noise is fitted to the residuals
    of ``z`` on the columns ``keep`` of ``X`` (the model under the null: without the tested
    break's terms, :func:`break_nulls`) and bias-corrected for that design, then the simulated
    noise is regressed on the whole ``X`` to give the null distribution of the statistics of
    the regressors ``idx``."""
    X0 = X[:, list(keep)]
    z = np.asarray(z, dtype="float64")
    resid0 = z - X0 @ np.linalg.lstsq(X0, z, rcond=None)[0]
    return calibrated_null(resid0, X, idx, n_boot, seed, maxlags, P=P, X_resid=X0)


def boot_p(draws: np.ndarray, stat: float) -> float:
    """Bootstrap p-value ``(1 + #{draws >= stat}) / (n + 1)``."""
    return float((1.0 + (draws >= stat).sum()) / (len(draws) + 1.0))
