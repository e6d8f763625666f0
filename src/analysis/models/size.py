"""Actual size of the segmented-trend tests, simulated on each flow's fitted dynamics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.models.base import LOG_SERIES, SEED, SERIES
from analysis.models.its import (
    ITSResult,
    cal_method,
    calibrated_null,
    fit_ar,
    fit_its,
    hac_cov_rows,
    level_name,
    simulate_ar,
    slope_name,
)

NOMINAL = 0.05


def null_series(its: ITSResult, n_sim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n_sim`` series with the fitted dynamics of ``its`` and no break: its constant, trend,
    month (and crisis) effects, plus AR(p) noise with the Yule-Walker coefficients of its
    residuals (:func:`analysis.models.its.fit_ar`) and their innovation standard deviation
    (normal shocks, fixed ``seed``). Returns the (n_sim, n) series (in logs for log models)
    and the AR coefficients."""
    res = its.results
    X = res.model.exog
    names = list(res.params.index)
    keep = np.array([not n.startswith(("level_", "slope_")) for n in names])
    mean = X[:, keep] @ res.params.to_numpy()[keep]
    resid = np.asarray(res.resid)
    rho, p = fit_ar(resid)
    innov = resid[p:] - sum(rho[k] * resid[p - k - 1 : len(resid) - k - 1] for k in range(p))
    sigma = float(np.std(innov))
    return mean[None, :] + sigma * simulate_ar(rho, n_sim, len(mean), seed), rho


def hac_t(
    Y: np.ndarray, X: np.ndarray, P: np.ndarray, idx: Sequence[int], maxlags: int
) -> tuple[np.ndarray, np.ndarray]:
    """|t| (HAC, Bartlett, ``maxlags``) of the regressors ``idx`` and the OLS residuals, for every
    row of ``Y`` regressed on ``X`` at once (``P = pinv(X)``): (R, len(idx)), (R, n)."""
    B = Y @ P.T
    E = Y - B @ X.T
    V = hac_cov_rows(P[list(idx)], E, maxlags)
    return np.abs(B[:, list(idx)]) / np.sqrt(np.einsum("rii->ri", V)), E


def simulated_pvalues(
    Y: np.ndarray, X: np.ndarray, idx: Sequence[int], *, n_boot: int, seed: int, maxlags: int
) -> dict[str, np.ndarray]:
    """p-values of the HAC t tests of regressors ``idx`` for every row of ``Y``: ``"hac"``
    (normal), ``"boot"`` (residual AR bootstrap) and ``"cal"`` (bias-corrected AR bootstrap), each
    (R, len(idx)). The bootstrap ones go through
    :func:`analysis.models.its.calibrated_null`, the function :func:`fit_its` uses, with the
    design and its pseudo-inverse computed once; row ``r`` uses bootstrap seed ``seed + r``."""
    P = np.linalg.pinv(X)
    t, E = hac_t(Y, X, P, idx, maxlags)
    boot = np.empty_like(t)
    cal = np.empty_like(t)
    for r in range(len(Y)):
        # A seed per series, so that the Monte Carlo error of n_boot draws averages out over the
        # series instead of shifting every p-value the same way.
        nd = calibrated_null(E[r], X, idx, n_boot, seed + r, maxlags, P=P)
        boot[r] = (1.0 + (nd.t >= t[r]).sum(axis=0)) / (n_boot + 1.0)
        cal[r] = (1.0 + (nd.t_cal >= t[r]).sum(axis=0)) / (n_boot + 1.0)
    return {"hac": 2.0 * stats.norm.sf(t), "boot": boot, "cal": cal}


def rejection_rates(
    its: ITSResult,
    *,
    n_sim: int,
    n_boot: int,
    seed: int = SEED,
    maxlags: int = 12,
    alpha: float = NOMINAL,
) -> dict[str, Any]:
    """Rejection rates at ``alpha`` of the level and slope tests of every break of ``its``, on
    ``n_sim`` no-break series with its fitted dynamics (:func:`null_series`). ``actual`` and
    ``actual_hac`` pool the 2 x breaks tests (the calibrated and the plain HAC test);
    ``actual_se`` is the Monte Carlo standard error of ``actual`` (from the per-series shares of
    tests rejected, so the correlation between a series' tests is accounted for);
    ``by_test`` gives each test's rates; ``actual_boot`` is the plain residual AR bootstrap."""
    Y, rho = null_series(its, n_sim, seed)
    names = list(its.results.params.index)
    terms = [f(b) for b in its.breaks for f in (level_name, slope_name)]
    idx = [names.index(t) for t in terms]
    p = simulated_pvalues(
        Y, its.results.model.exog, idx, n_boot=n_boot, seed=seed + 1, maxlags=maxlags
    )
    rej = {k: (v <= alpha) for k, v in p.items()}
    per_draw = rej["cal"].mean(axis=1)  # share of the 2 x breaks tests rejected, per series
    return {
        "nominal": alpha,
        "actual": float(rej["cal"].mean()),
        "actual_se": float(per_draw.std(ddof=1) / np.sqrt(len(per_draw))),
        "actual_hac": float(rej["hac"].mean()),
        "actual_boot": float(rej["boot"].mean()),
        "n_sim": int(n_sim),
        "n_boot": int(n_boot),
        "method": cal_method(len(rho), n_boot),
        "ar_params": [float(v) for v in rho],
        "by_test": {
            t: {
                "actual": float(rej["cal"][:, i].mean()),
                "actual_hac": float(rej["hac"][:, i].mean()),
                "actual_boot": float(rej["boot"][:, i].mean()),
            }
            for i, t in enumerate(terms)
        },
    }


def size_simulation(
    monthly: pd.DataFrame,
    *,
    breaks: Sequence[str],
    n_sim: int = 500,
    n_boot: int = 199,
    seed: int = SEED,
    hac_maxlags: int = 12,
    flows: Sequence[str] = SERIES,
) -> dict[str, dict[str, Any]]:
    """Actual size at 5 % of the plain HAC and the calibrated tests of each flow's ITS model.

    For each flow the ITS model of :func:`fit_its` is fitted to ``monthly`` and ``n_sim``
    series are simulated from it without break (:func:`null_series`); each is put through the
    whole test procedure (OLS, HAC t, AR order by Hannan-Quinn (at least 3) and Yule-Walker fit on its residuals,
    bias correction, ``n_boot`` bootstrap draws). Returns ``{flow: {"nominal", "actual",
    "actual_hac", "n_sim", "method", ...}}`` (see :func:`rejection_rates`); ``actual`` pools the
    level and slope tests of every break, with its Monte Carlo standard error ``actual_se``. Flow ``col`` uses seed
    ``seed + 1000 * SERIES.index(col)`` whichever other flows are run.
    """
    out: dict[str, dict[str, Any]] = {}
    for i, col in enumerate(flows):
        # The seed follows the flow, not its place in ``flows``: one flow run alone (or in a
        # parallel job) gives the same draws as in the full run.
        k = SERIES.index(col) if col in SERIES else i
        its = fit_its(
            monthly[col].rename(col), breaks, log=LOG_SERIES[col], hac_maxlags=hac_maxlags
        )
        out[col] = rejection_rates(
            its, n_sim=n_sim, n_boot=n_boot, seed=seed + 1000 * k, maxlags=hac_maxlags
        )
    return out
