"""Break tests: a known-date HAC Wald test and a Quandt-Andrews sup-Wald search.

A HAC Wald test of the joint level + slope change at a known month (:func:`known_break_test`;
bootstrap p-value, asymptotic one alongside) and a Quandt-Andrews sup-Wald search over the
middle 70 % of the sample (:func:`supf_search`). Andrews' (1993) tables assume stationary
regressors; with a broken *trend* and persistent errors the null distribution differs
(Vogelsang 1997), so the p-value comes from a parametric bootstrap: the residuals of the
best-fitting break model are fitted by an AR(p) (order by Hannan-Quinn, at least 3, Yule-Walker estimates, bias-
corrected by simulation as for the ITS tests), and the sup-Wald statistic is recomputed on
``n_boot`` simulated AR series (fixed seed). The noise is not taken from the no-break model:
a real break left in its residuals would make the noise look more persistent than it is and
the test too conservative. The break month reported is the least-squares date (Bai 1997). The Wald statistics are
computed in a vectorised form (Frisch-Waugh-Lovell) that is tested to equal statsmodels' HAC
``wald_test``. A CUSUM test on the OLS residuals is a cross-check.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.diagnostic import breaks_cusumolsresid

from analysis.models.ar_boot import ar_bias_correct, boot_p, fit_ar, simulate_ar
from analysis.models.base import (
    MIN_SEARCH_MONTHS,
    SEED,
    TRIM,
    ModelSkipped,
    check_series,
    month,
    ym,
)
from analysis.models.its import BreakTest, fit_its, its_design


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
    date = ym(month(date, "break"))
    breaks = sorted({ym(month(b, "breaks")) for b in other_breaks} | {date})
    its = fit_its(
        y,
        breaks,
        log=log,
        crisis_dummies=crisis_dummies,
        hac_maxlags=hac_maxlags,
        n_boot=n_boot,
        seed=seed,
    )
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
    ar_params: tuple[float, ...] = ()
    ar_params_bc: tuple[float, ...] = ()


def hac_wald_path(
    z: np.ndarray,
    Zt: np.ndarray,
    ZtT: np.ndarray,
    A: np.ndarray,
    q0: np.ndarray,
    maxlags: int,
    *,
    ssr: bool = False,
) -> Any:
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


def break_regressors(
    n: int, cands: np.ndarray, q0: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def hac_wald_boot(
    U: np.ndarray,
    Zt: np.ndarray,
    ZtT: np.ndarray,
    A: np.ndarray,
    q0: np.ndarray,
    maxlags: int,
    chunk: int = 256,
) -> np.ndarray:
    """The statistics of :func:`hac_wald_path` for many simulated series at once.

    ``U`` (R, n): the simulated series; ``Zt``, ``ZtT``, ``A``, ``q0`` as for
    :func:`hac_wald_path`. Returns (T, R), the HAC Wald statistic of every candidate for
    every series. Equal to calling ``hac_wald_path`` on each row (a unit test
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
        out[:, lo : lo + r] = (c0 * c0 * s11 - 2.0 * c0 * c1 * s01 + c1 * c1 * s00) / (
            s00 * s11 - s01 * s01
        )
    return out


def break_model_design(X0: np.ndarray, n: int, k: int) -> np.ndarray:
    """The base regressors ``X0`` plus a level step ``1(t >= k)`` and a slope change
    ``(t - k) 1(t >= k)`` at month index ``k``: the design of the break model at ``k``."""
    t = np.arange(n, dtype="float64")
    return np.column_stack([X0, (t >= k).astype("float64"), np.where(t >= k, t - k, 0.0)])


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
    under no break, with AR(p) noise fitted to the residuals of the *break* model at ``best``
    (p <= 12 by Hannan-Quinn, at least 3, Yule-Walker estimates ``ar_params``, bias-corrected by
    :func:`analysis.models.ar_boot.ar_bias_correct` to ``ar_params_bc``). Fitting the noise to the
    no-break residuals would let a real break inflate its persistence (balance: p 0.028 instead
    of 0.004). The statistic is scale-invariant and the base regressors are projected out, so
    the simulated AR noise alone reproduces its null distribution. Also reports the OLS-CUSUM
    test of the no-break residuals (``breaks_cusumolsresid``) as a cross-check.
    """
    name = str(y.name or "series")
    y = check_series(y, log=log, name=name)
    n = len(y)
    if n < MIN_SEARCH_MONTHS:
        raise ModelSkipped(f"{name}: {n} months < {MIN_SEARCH_MONTHS} needed for a break search")
    z = np.log(y.to_numpy()) if log else y.to_numpy()
    X0 = its_design(y.index, []).to_numpy()
    q0, _ = np.linalg.qr(X0)
    lo, hi = int(math.ceil(trim * n)), int(math.floor((1 - trim) * n))
    cands = np.arange(lo, hi + 1)
    Zt, ZtT, A = break_regressors(n, cands, q0)
    stats, ssr = hac_wald_path(z, Zt, ZtT, A, q0, hac_maxlags, ssr=True)
    best = int(np.argmin(ssr))  # least-squares break date (Bai 1997)
    sup_at = int(np.argmax(stats))
    sup = float(stats[sup_at])

    # The noise: AR process of the best-fitting break model's residuals, bias-corrected.
    Xb = break_model_design(X0, n, int(cands[best]))
    rho, p = fit_ar(np.asarray(OLS(z, Xb).fit().resid))
    rho_bc = ar_bias_correct(rho, Xb, seed=seed)
    U = simulate_ar(rho_bc, n_boot, n, seed)
    boot = hac_wald_boot(U, Zt, ZtT, A, q0, hac_maxlags).max(axis=0)
    p_value = boot_p(boot, sup)
    null = OLS(z, X0).fit()
    cus, cus_p, _ = breaks_cusumolsresid(np.asarray(null.resid), ddof=X0.shape[1])
    return SearchResult(
        best=ym(y.index[cands[best]]),
        sup_month=ym(y.index[cands[sup_at]]),
        statistic=sup,
        p_value=p_value,
        n_boot=n_boot,
        trim=trim,
        first_candidate=ym(y.index[cands[0]]),
        last_candidate=ym(y.index[cands[-1]]),
        ar_order=p,
        method=(
            f"sup-Wald (chi2 form, HAC {hac_maxlags} lags) over candidates {ym(y.index[cands[0]])}.."
            f"{ym(y.index[cands[-1]])} ({int(trim * 100)} % trimming); p-value from a parametric "
            f"bootstrap, {n_boot} replications, AR({p}) errors fitted to the residuals of the break "
            f"model at {ym(y.index[cands[best]])} (bias-corrected Yule-Walker), seed {seed}"
        ),
        stats=pd.Series(stats, index=y.index[cands], name="wald"),
        cusum_statistic=float(cus),
        cusum_p_value=float(cus_p),
        ar_params=tuple(float(v) for v in rho),
        ar_params_bc=tuple(float(v) for v in rho_bc),
    )
