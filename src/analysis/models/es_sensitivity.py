"""How robust is the all-FTA event study? Four other specifications and Rambachan-Roth bounds.

The baseline (:mod:`analysis.models.event_study`) assumes that, without an agreement, a
partner's log trade would have moved with the year effects: parallel trends. An agreement
often follows years of growing trade, so that assumption is checked here in five ways, each a
row of ``event_study.<flow>.sensitivity`` (``{spec, att, att_ci, pre_trend_p, n_treated,
n_controls}``, log points):

* ``baseline``: the imputation estimator as published.
* ``partner_trends``: the imputation estimator with a linear trend for every partner in the
  first stage, fitted on untreated years only (Borusyak, Jaravel and Spiess 2024, the extension
  with unit-specific trends): an agreement is credited only with what departs from the
  partner's own pre-entry path. Gardner's two-stage variance (:func:`imputation_att`).
* ``size_floor``: the baseline on partners whose flow was at least :data:`SIZE_FLOOR`
  (US$ 50 million) in every year before entry (partners never in an FTA: every year of the
  window before the last entry), which keeps micro-states and entrepots out of the controls.
* ``ppml``: levels, not logs: Poisson pseudo-maximum likelihood with partner and year effects
  and one dummy for each treated cohort-by-year cell (Wooldridge's extended two-way fixed
  effects, 2023), on every country with a reported value in every month (zero years kept,
  the standard of the gravity literature). The ATT is the average of the cell coefficients
  weighted by their treated observations (log points); delta-method errors clustered by partner.
* ``callaway_santanna``: Callaway and Sant'Anna (2021) with never-treated controls and the
  year before entry as base (outcome regression without covariates, i.e. cohort-by-year
  long differences against the never-treated), aggregated with equal weight per treated
  partner-year; analytic influence-function errors clustered by partner.

``event_study.<flow>.honest_did`` applies Rambachan and Roth (2023) to the Callaway-Sant'Anna
event study (base year -1, the normalisation their method expects), through the ``diff-diff``
package: intervals for the average of the effects in event years 0..10 when the post-entry
violation of parallel trends may be up to ``M`` times the largest pre-entry one (relative
magnitudes) or when the trend's slope may change by up to ``M`` log points a year per year
(smoothness), and the breakdown value of ``M`` at which the interval first includes zero.

:func:`pre_trend_power` states what the baseline's joint pre-trend test can detect: the slope
of a linear pre-entry trend it would detect with 80 % probability.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyfixest as pf
from scipy import optimize, stats

from analysis.errors import DataError, ParameterError
from analysis.models import event_study as es

SIZE_FLOOR: float = 50.0  # US$ millions a year
SPECS: tuple[str, ...] = ("baseline", "partner_trends", "size_floor", "ppml", "callaway_santanna")
RM_GRID: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
SD_GRID: tuple[float, ...] = (0.0, 0.01, 0.02)  # each M > 0 costs about a second (FLCI)
POWER: float = 0.8


def _row(
    spec: str, att: float, lo: float, hi: float, p: float, g: pd.Series | np.ndarray
) -> dict[str, Any]:
    g = np.asarray(g)
    return {
        "spec": spec,
        "att": es._num(att),
        "att_ci": [es._num(lo), es._num(hi)],
        "pre_trend_p": es._num(p),
        "n_treated": int((g > 0).sum()),
        "n_controls": int((g == 0).sum()),
    }


def _unit_g(frame: pd.DataFrame) -> pd.Series:
    return frame.groupby("partner_code")["g"].first()


# --------------------------------------------------------------------- partner trends


def _design(frame: pd.DataFrame, trends: bool) -> np.ndarray:
    """Dummies of every partner and of every year but the first; with ``trends``, a centred
    year for every partner but the first (the last would be collinear with the year effects)."""
    unit, time, units, times = es._codes(frame)
    n = len(frame)
    parts = [np.eye(len(units))[unit], np.eye(len(times))[time][:, 1:]]
    if trends:
        centred = (frame["year"] - frame["year"].mean()).to_numpy(dtype=float)
        parts.append((np.eye(len(units))[unit] * centred[:, None])[:, 1:])
    return np.hstack(parts) if n else np.zeros((0, 0))


def imputation_att(
    frame: pd.DataFrame, trends: bool = False, level: float = es.LEVEL
) -> dict[str, float]:
    """The imputation ATT, with partner-specific linear trends in the first stage if ``trends``.

    Stage 1 (untreated observations): ``y = a_i + b_t (+ c_i * year)`` by least squares;
    stage 2 averages ``y - y0_hat`` over treated observations. Variance: Gardner's GMM
    sandwich clustered by partner, written out for a linear two-stage estimator (the same
    formula :func:`pyfixest.did2s` computes, without its sparse overhead; equal to it for the
    baseline, see tests): ``s_g = (sum_{treated in g} (tau - att) - v' X0_g' u0_g) / N1`` with
    ``v = (X0'X0)^-1 X1' 1``, ``var = sum_g s_g^2``. Trends need two untreated years per partner.
    """
    treated = frame["treated"].to_numpy(dtype=bool)
    if trends:
        thin = frame[~treated].groupby("partner_code").size()
        if (thin < 2).any() or thin.size < frame["partner_code"].nunique():
            raise DataError(None, "partner trends need two untreated years for every partner")
    x = _design(frame, trends)
    y = frame["y"].to_numpy(dtype=float)
    x0, y0 = x[~treated], y[~treated]
    xtx = x0.T @ x0
    beta = np.linalg.lstsq(xtx, x0.T @ y0, rcond=None)[0]
    resid = y - x @ beta
    tau = resid[treated]
    n1 = len(tau)
    att = float(tau.mean())
    v = np.linalg.lstsq(xtx, x[treated].sum(axis=0), rcond=None)[0]
    unit = pd.factorize(frame["partner_code"])[0]
    n_units = int(unit.max()) + 1
    own = np.bincount(unit[treated], tau - att, minlength=n_units)
    spill = np.bincount(unit[~treated], (x0 @ v) * resid[~treated], minlength=n_units)
    se = float(math.sqrt(np.sum(((own - spill) / n1) ** 2)))
    crit = es._t_crit(n_units, level)
    return {"att": att, "se": se, "ci_low": att - crit * se, "ci_high": att + crit * se}


def pre_trend_p_trends(frame: pd.DataFrame, leads: int = es.LEADS) -> float:
    """The joint lead test of :func:`analysis.models.event_study.pre_trends` with partner trends
    in the untreated regression (leads that depart from each partner's own line).

    Least squares on untreated observations of ``y`` on the leads, partner and year dummies and
    partner trends; cluster-robust (CRV1, small-sample factor ``G/(G-1) (N-1)/(N-k)`` with ``k``
    the leads and trends, as pyfixest) covariance of the leads; :func:`event_study._wald_p`.
    """
    untreated = frame[~frame["treated"]].reset_index(drop=True)
    names = [f"l{k}" for k in range(leads, 0, -1) if untreated[f"l{k}"].any()]
    controls = _design(untreated, trends=True)
    z = untreated[names].to_numpy(dtype=float)
    y = untreated["y"].to_numpy(dtype=float)
    # Frisch-Waugh: the leads and y net of the fixed effects and trends
    both = np.column_stack([z, y])
    proj = np.linalg.lstsq(controls.T @ controls, controls.T @ both, rcond=None)[0]
    rz = both - controls @ proj
    zr, yr = rz[:, :-1], rz[:, -1]
    keep = np.abs(zr).sum(axis=0) > 1e-8 * len(zr)
    if not keep.any():
        return math.nan
    zr = zr[:, keep]
    bread = np.linalg.pinv(zr.T @ zr)
    coef = bread @ zr.T @ yr
    e = yr - zr @ coef
    unit = pd.factorize(untreated["partner_code"])[0]
    g = int(unit.max()) + 1
    scores = np.zeros((g, zr.shape[1]))
    np.add.at(scores, unit, zr * e[:, None])
    k = zr.shape[1] + controls.shape[1] - (g + len(np.unique(untreated["year"])) - 1)
    n = len(yr)
    vcov = bread @ (scores.T @ scores) @ bread * g / (g - 1) * (n - 1) / (n - k)
    n_treated = untreated.loc[untreated["g"] > 0, "partner_code"].nunique()
    return es._wald_p(coef, vcov, n_treated)


# --------------------------------------------------------------------------- size floor


def size_floor_panel(panel: pd.DataFrame, outcome: str, floor: float = SIZE_FLOOR) -> pd.DataFrame:
    """Partners of ``panel`` whose ``outcome`` is at least ``floor`` in every pre-period year.

    Pre-period: the years before entry for FTA partners (``g`` > 0); for partners never in an
    FTA, every year of the panel before the last entry year (their years that serve as controls
    for some agreement's pre-period).
    """
    last_entry = int(panel.loc[panel["g"] > 0, "g"].max())
    pre = np.where(panel["g"] > 0, panel["year"] < panel["g"], panel["year"] < last_entry)
    low = panel.loc[pre & (panel[outcome] < floor), "partner_code"].unique()
    return panel[~panel["partner_code"].isin(low)].reset_index(drop=True)


# --------------------------------------------------------------------------------- PPML


def levels_panel(
    trade: pd.DataFrame, ftas: pd.DataFrame, window: tuple[int, int] = es.WINDOW
) -> pd.DataFrame:
    """Annual exports and imports (US$ millions, zeros kept) of every country with a reported
    value in every month of ``window``, with ``g`` as in :func:`event_study.attach_treatment`."""
    first, last = window
    rows = trade[
        ~trade["is_aggregate"] & (trade["date"].dt.year >= first) & (trade["date"].dt.year <= last)
    ]
    reported = (rows["exports"].notna() & rows["imports"].notna()).groupby(rows["partner_code"])
    keep = reported.sum().index[reported.sum() == (last - first + 1) * 12]
    rows = rows[rows["partner_code"].isin(keep)]
    annual = (
        rows.assign(year=rows["date"].dt.year)
        .groupby(["partner_code", "year"], as_index=False)
        .agg(partner=("partner", "first"), exports=("exports", "sum"), imports=("imports", "sum"))
    )
    panel, _ = es.attach_treatment(annual, ftas)
    return panel


def att_ppml(
    panel: pd.DataFrame,
    outcome: str,
    leads: int = es.LEADS,
    lags: int = es.LAGS,
    level: float = es.LEVEL,
) -> dict[str, float]:
    """Poisson extended TWFE: ATT (log points), interval and the joint lead p-value.

    ``panel``: ``partner_code, year, g`` and ``outcome`` in levels (zeros allowed). The model:
    partner and year effects, a dummy for each treated cohort-by-year cell (event years
    0..lags; later treated years dropped) and lead dummies -1..-leads of the FTA partners
    (years before -leads are the reference). With saturated cells the Poisson score equations
    split: the partner, year and lead effects solve the Poisson fit on untreated observations
    alone, and each cell's coefficient is ``log(sum y / sum mu0)`` over the cell, ``mu0`` the
    untreated fit's prediction (so Wooldridge's ETWFE is Poisson imputation). That is how it is
    computed here (one small :func:`pyfixest.fepois` fit instead of ~100 dense regressors);
    the ATT averages the cells weighted by their observations; its clustered variance is the
    two-step sandwich of those score equations, ``G/(G-1)`` (tested against the full fepois).
    Partners whose flow is zero in every year are dropped.
    """
    df = panel[["partner_code", "year", "g", outcome]].rename(columns={outcome: "v"})
    df = df[df.groupby("partner_code")["v"].transform("sum") > 0]
    rel = np.where(df["g"] > 0, df["year"] - df["g"], np.nan)
    df = df[~(rel > lags)].reset_index(drop=True)
    rel = np.where(df["g"] > 0, df["year"] - df["g"], np.nan)
    lead_names = [f"l{k}" for k in range(1, leads + 1) if (rel == -k).any()]
    for name in lead_names:
        df[name] = (rel == -int(name[1:])).astype(float)
    treated = rel >= 0
    untreated = df[~treated]
    with es._quiet():
        fit = pf.fepois(
            "v ~ " + " + ".join(lead_names) + " | partner_code + year",
            data=untreated,
            vcov={"CRV1": "partner_code"},
            fixef_tol=es.FIXEF_TOL,
        )
        mu = np.asarray(fit.predict(newdata=df, type="response"), dtype=float)
    lead_vcov = es.fit_vcov(fit, lead_names)
    lead_coef = fit.coef().reindex(lead_names).to_numpy(dtype=float)
    # the two-step sandwich: stage-1 design (partner and year dummies, leads) and scores
    unit, time, units, times = es._codes(df)
    x = np.hstack(
        [
            np.eye(len(units))[unit],
            np.eye(len(times))[time][:, 1:],
            df[lead_names].to_numpy(dtype=float),
        ]
    )
    v = df["v"].to_numpy(dtype=float)
    x0, mu0, v0 = x[~treated], mu[~treated], v[~treated]
    hess = x0.T @ (x0 * mu0[:, None])
    cell = np.where(treated, df["g"].to_numpy() * 10_000 + df["year"].to_numpy(), -1)
    cells = np.unique(cell[treated])
    n_units = len(units)
    att = 0.0
    own = np.zeros(n_units)
    proj = np.zeros(x.shape[1])
    n_treated_obs = int(treated.sum())
    for c in cells:
        rows = cell == c
        w = rows.sum() / n_treated_obs
        tau = math.log(v[rows].sum() / mu[rows].sum())
        fitted = mu[rows] * math.exp(tau)
        m_c = fitted.sum()
        att += w * tau
        own += w * np.bincount(unit[rows], v[rows] - fitted, minlength=n_units) / m_c
        proj += w * (x[rows] * fitted[:, None]).sum(axis=0) / m_c
    h = np.linalg.lstsq(hess, proj, rcond=None)[0]
    spill = np.bincount(unit[~treated], (x0 @ h) * (v0 - mu0), minlength=n_units)
    se = float(math.sqrt(np.sum((own - spill) ** 2) * n_units / (n_units - 1)))
    crit = es._t_crit(n_units, level)
    n_treated = df.loc[df["g"] > 0, "partner_code"].nunique()
    g_units = df.groupby("partner_code")["g"].first()
    return {
        "att": float(att),
        "se": se,
        "ci_low": float(att - crit * se),
        "ci_high": float(att + crit * se),
        "pre_trend_p": es._wald_p(lead_coef, lead_vcov, n_treated),
        "n_treated": int((g_units > 0).sum()),
        "n_controls": int((g_units == 0).sum()),
    }


# ------------------------------------------------------------------- Callaway-Sant'Anna


def callaway_santanna(
    frame: pd.DataFrame, leads: int = es.LEADS, lags: int = es.LAGS, level: float = es.LEVEL
) -> dict[str, Any]:
    """Callaway-Sant'Anna with never-treated controls and base year ``g - 1``.

    ``ATT(g, t)`` = mean over cohort ``g`` of ``y_t - y_{g-1}`` minus the same mean over the
    never-treated. Event-year effects average the cohorts observed at that event year, weighted
    by cohort size; the ATT averages every post cell (event years 0..lags) weighted by cohort
    size, i.e. equal weight per treated partner-year, as the baseline. Errors come from the
    influence function of each partner (cohort weights taken as fixed), clustered by partner,
    scaled by G/(G-1); intervals from t(G-1). A treated partner's term is its deviation from
    the aggregate being estimated, not from its cohort's mean (as in the imputation
    estimator's variance): with single-partner cohorts (Mexico, Jordan, Panama ...) the
    cohort-mean version would give them no variance at all; this one is conservative when
    effects differ across cohorts.

    Returns ``{att, se, ci_low, ci_high, pre_trend_p, event: DataFrame(event_year, coef, se),
    vcov}`` with ``vcov`` the covariance of ``event`` (event year -1 is the base, not listed).
    """
    wide = frame.pivot(index="partner_code", columns="year", values="y")
    g_of = _unit_g(frame).reindex(wide.index).to_numpy()
    years = wide.columns.to_numpy()
    y = wide.to_numpy(dtype=float)
    never = g_of == 0
    n_units = len(g_of)
    events = [e for e in range(-leads, lags + 1) if e != -1]
    col = {int(t): j for j, t in enumerate(years)}
    cohorts = sorted(int(g) for g in np.unique(g_of[~never]))
    n_never = int(never.sum())
    cells = []  # (event year, cohort mask, long differences, ATT(g, t), cohort size)
    for e in events:
        for g in cohorts:
            t, base = g + e, g - 1
            if t not in col or base not in col:
                continue
            diff = y[:, col[t]] - y[:, col[base]]
            mine = g_of == g
            if np.isnan(diff[mine | never]).any():
                continue
            cells.append((e, mine, diff, diff[mine].mean() - diff[never].mean(), int(mine.sum())))
    if not any(e >= 0 for e, *_ in cells):
        raise DataError(None, "Callaway-Sant'Anna: no treated cohort is observed after entry")

    def aggregate(chosen: list[tuple[int, np.ndarray, np.ndarray, float, int]]) -> tuple:
        weight = sum(c[4] for c in chosen)
        theta = sum(c[4] * c[3] for c in chosen) / weight
        psi = np.zeros(n_units)
        for _, mine, diff, _, _ in chosen:
            ctrl = diff[never].mean()
            psi[mine] += (diff[mine] - ctrl - theta) / weight
            psi[never] -= (diff[never] - ctrl) * mine.sum() / n_never / weight
        return theta, psi

    est: dict[int, float] = {}
    infl: dict[int, np.ndarray] = {}
    for e in events:
        chosen = [c for c in cells if c[0] == e]
        if chosen:
            est[e], infl[e] = aggregate(chosen)
    post_est, post_if = aggregate([c for c in cells if c[0] >= 0])
    kept = [e for e in events if e in est]
    scale = n_units / (n_units - 1)
    psi_mat = np.column_stack([infl[e] for e in kept])
    vcov = scale * psi_mat.T @ psi_mat
    att = float(post_est)
    se = float(math.sqrt(scale * np.sum(post_if**2)))
    crit = es._t_crit(n_units, level)
    pre = [i for i, e in enumerate(kept) if e < 0]
    p = es._wald_p(
        np.array([est[kept[i]] for i in pre]), vcov[np.ix_(pre, pre)], int((~never).sum())
    )
    return {
        "att": att,
        "se": se,
        "ci_low": att - crit * se,
        "ci_high": att + crit * se,
        "pre_trend_p": p,
        "event": pd.DataFrame(
            {"event_year": kept, "coef": [est[e] for e in kept], "se": np.sqrt(np.diag(vcov))}
        ),
        "vcov": vcov,
    }


# ---------------------------------------------------------------------- honest DiD


def _mp_results(event: pd.DataFrame, vcov: np.ndarray) -> Any:
    """A ``diff_diff`` event-study results object from our coefficients and covariance."""
    from diff_diff.results import MultiPeriodDiDResults, PeriodEffect

    effects = {}
    for r in event.itertuples(index=False):
        se = float(r.se)
        effects[int(r.event_year)] = PeriodEffect(
            period=int(r.event_year),
            effect=float(r.coef),
            se=se,
            t_stat=float(r.coef) / se,
            p_value=float(2 * stats.norm.sf(abs(r.coef / se))),
            conf_int=(float(r.coef - 1.96 * se), float(r.coef + 1.96 * se)),
        )
    pre = [int(e) for e in event["event_year"] if e < 0] + [-1]
    post = [int(e) for e in event["event_year"] if e >= 0]
    return MultiPeriodDiDResults(
        period_effects=effects,
        avg_att=math.nan,
        avg_se=math.nan,
        avg_t_stat=math.nan,
        avg_p_value=math.nan,
        avg_conf_int=(math.nan, math.nan),
        n_obs=0,
        n_treated=0,
        n_control=0,
        pre_periods=pre,
        post_periods=post,
        vcov=vcov,
        reference_period=-1,
        interaction_indices={int(e): i for i, e in enumerate(event["event_year"])},
    )


def honest_did(
    event: pd.DataFrame,
    vcov: np.ndarray,
    rm_grid: Sequence[float] = RM_GRID,
    sd_grid: Sequence[float] = SD_GRID,
    level: float = es.LEVEL,
) -> dict[str, Any]:
    """Rambachan-Roth intervals for the average effect over the post-entry event years.

    ``event``: ``event_year, coef, se`` with event year -1 the omitted base (pre years before
    it, post years 0.. after it), ``vcov`` their covariance (e.g. :func:`callaway_santanna`).
    Returns ``{input, target, event_years: [first, last], relative_magnitudes: {grid: [{M,
    ci_low, ci_high}], breakdown_M}, smoothness: {...}}``: under relative magnitudes the post-entry year-to-year violation is at
    most ``M`` times the largest pre-entry one; under smoothness the violation's slope changes
    by at most ``M`` log points a year per year. ``breakdown_M`` is the smallest ``M`` whose
    interval includes zero (0 when the interval at ``M`` = 0 already does; None when no ``M``
    up to the grid's largest does), to 1/256 of that largest ``M``.

    ``diff-diff`` 3.13 computes the smoothness intervals as Rambachan and Roth's optimal
    fixed-length intervals, and the relative-magnitudes intervals as the identified set widened
    by the critical value times the standard error (conservative: wider than the ARP hybrid
    intervals of the authors' R package), so a breakdown value under relative magnitudes errs
    on the small side.
    """
    import warnings

    from diff_diff import HonestDiD

    results = _mp_results(event, vcov)
    post = [int(e) for e in event["event_year"] if e >= 0]
    out: dict[str, Any] = {
        "input": "Callaway-Sant'Anna event study, base year -1",
        "target": f"average of the effects in event years {post[0]}..{post[-1]}",
        "event_years": [post[0], post[-1]],
    }
    for key, method, grid in (
        ("relative_magnitudes", "relative_magnitude", rm_grid),
        ("smoothness", "smoothness", sd_grid),
    ):
        rows = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tool = HonestDiD(method=method, alpha=1 - level)  # type: ignore[arg-type]
            for m in grid:
                fit = tool.fit(results, M=float(m))
                rows.append(
                    {"M": float(m), "ci_low": es._num(fit.ci_lb), "ci_high": es._num(fit.ci_ub)}
                )
            breakdown = _breakdown(tool, results, max(grid) or 1.0)
        out[key] = {"grid": rows, "breakdown_M": es._num(breakdown)}
    return out


def _breakdown(tool: Any, results: Any, upper: float) -> float | None:
    """Smallest M in [0, upper] whose interval includes zero (bisection; intervals widen in M)."""

    def covers(m: float) -> bool:
        fit = tool.fit(results, M=m)
        lo, hi = fit.ci_lb, fit.ci_ub
        return bool(not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0 <= hi)

    if covers(0.0):
        return 0.0
    if not covers(upper):
        return None
    lo, hi = 0.0, upper
    for _ in range(8):  # to 1/256 of the search bound: each step is one more interval
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if covers(mid) else (mid, hi)
    return hi


# ------------------------------------------------------------------- pre-trend power


def pre_trend_power(
    frame: pd.DataFrame, leads: int = es.LEADS, alpha: float = 0.05, power: float = POWER
) -> dict[str, float | None]:
    """What the baseline's joint lead test can detect: the slope (log points a year) of a linear
    pre-entry trend of the FTA partners it detects with probability ``power``.

    The leads a trend of slope 1 would produce are computed exactly (the lead regression of
    :func:`event_study.pre_trends` applied to ``rel``); the test's power at slope ``s`` is
    that of the noncentral F(q, G - q) with noncentrality ``s^2 b' V^-1 b (G - q) / (G - 1)``
    (``V`` the leads' clustered covariance, ``G`` the treated partners), matching the
    Hotelling-type scaling of the test.
    Returns ``{slope, power, alpha}``.
    """
    names = [f"l{k}" for k in range(leads, 0, -1) if frame[f"l{k}"].any()]
    untreated = frame[~frame["treated"]].assign(ramp=lambda d: np.where(d["g"] > 0, d["rel"], 0.0))
    with es._quiet():
        fit = pf.feols(
            "y ~ " + " + ".join(names) + " | partner_code + year",
            data=untreated,
            vcov={"CRV1": "partner_code"},
            fixef_tol=es.FIXEF_TOL,
        )
        ramp = pf.feols(
            "ramp ~ " + " + ".join(names) + " | partner_code + year",
            data=untreated,
            fixef_tol=es.FIXEF_TOL,
        )
    vcov = es.fit_vcov(fit, names)
    b = ramp.coef().reindex(names).to_numpy(dtype=float)
    q = len(names)
    g = untreated.loc[untreated["g"] > 0, "partner_code"].nunique()
    if g <= q:
        return {"slope": None, "power": power, "alpha": alpha}
    unit_nc = float(b @ np.linalg.pinv(vcov) @ b) * (g - q) / (g - 1)
    crit = stats.f.ppf(1 - alpha, q, g - q)

    def gap(s: float) -> float:
        return float(stats.ncf.sf(crit, q, g - q, s * s * unit_nc)) - power

    slope = optimize.brentq(gap, 1e-9, 10.0)
    return {"slope": es._num(slope), "power": power, "alpha": alpha}


# ---------------------------------------------------------------------------- together


def sensitivity(
    panel: pd.DataFrame,
    levels: pd.DataFrame,
    outcome: str,
    level: float = es.LEVEL,
    floor: float = SIZE_FLOOR,
    baseline: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every specification for one outcome, the honest-DiD bounds and the pre-trend power.

    ``panel``: the baseline panel (:func:`event_study.attach_treatment` of
    :func:`event_study.annual_panel`); ``levels``: :func:`levels_panel` (for PPML);
    ``baseline``: the published block of this outcome (:func:`event_study.outcome_summary`),
    whose ATT, interval and pre-trend p are reused instead of refitted. Returns
    ``{sensitivity: [rows], honest_did: {...}, pre_trend_power: {...}, size_floor: {min_flow,
    rule}}``.
    """
    if outcome not in es.OUTCOMES:
        raise ParameterError(f"outcome {outcome!r}: expected one of {es.OUTCOMES}")
    frame = es.event_frame(panel, outcome)
    g = _unit_g(frame)
    first, last_entry = int(panel["year"].min()), int(panel.loc[panel["g"] > 0, "g"].max())
    if baseline is None:
        base = es.att(frame, level)
        _, p_base = es.pre_trends(frame, level=level)
        rows = [_row("baseline", base["att"], base["ci_low"], base["ci_high"], p_base, g)]
    else:
        lo, hi = baseline["att_ci"]
        rows = [_row("baseline", baseline["att"], lo, hi, baseline["pre_trend_p"], g)]
    trend = imputation_att(frame, trends=True, level=level)
    rows.append(
        _row(
            "partner_trends",
            trend["att"],
            trend["ci_low"],
            trend["ci_high"],
            pre_trend_p_trends(frame),
            g,
        )
    )
    small = es.event_frame(size_floor_panel(panel, outcome, floor), outcome)
    fl = es.att(small, level)
    _, p_fl = es.pre_trends(small, level=level)
    rows.append(_row("size_floor", fl["att"], fl["ci_low"], fl["ci_high"], p_fl, _unit_g(small)))
    pp = att_ppml(levels, outcome, level=level)
    counts = np.repeat([1, 0], [pp["n_treated"], pp["n_controls"]])
    rows.append(_row("ppml", pp["att"], pp["ci_low"], pp["ci_high"], pp["pre_trend_p"], counts))
    cs = callaway_santanna(frame, level=level)
    rows.append(
        _row("callaway_santanna", cs["att"], cs["ci_low"], cs["ci_high"], cs["pre_trend_p"], g)
    )
    return {
        "sensitivity": rows,
        "honest_did": honest_did(cs["event"], cs["vcov"], level=level),
        "pre_trend_power": pre_trend_power(frame),
        "size_floor": {
            "min_flow": floor,
            "rule": (
                f"partners with at least US$ {floor:.0f} million of the flow in every year "
                f"before entry (partners never in an FTA: every year from {first} to "
                f"{last_entry - 1}, before the last entry)"
            ),
        },
    }


def add_sensitivity(
    result: dict[str, Any],
    trade: pd.DataFrame,
    ftas: pd.DataFrame,
    window: tuple[int, int] = es.WINDOW,
    level: float = es.LEVEL,
) -> dict[str, Any]:
    """Add ``sensitivity``, ``honest_did``, ``pre_trend_power`` and ``size_floor`` to each
    outcome block of ``result`` (:func:`event_study.evaluate` on the same ``trade``, ``ftas``
    and ``window``); returns ``result``."""
    panel, _ = es.attach_treatment(es.annual_panel(trade, window), ftas)
    levels = levels_panel(trade, ftas, window)
    for outcome in es.OUTCOMES:
        result[outcome].update(sensitivity(panel, levels, outcome, level, baseline=result[outcome]))
    return result
