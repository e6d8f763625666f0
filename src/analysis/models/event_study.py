"""Staggered-adoption event study of U.S. trade around the entry into force of every U.S. FTA.

Question: how did log U.S. exports to, and log imports from, a partner move after its free trade
agreement with the United States entered into force, compared with partners that never had one;
and where does KORUS (2012-03-15) stand among the agreements?

Estimator: the imputation / two-stage DiD estimator (Borusyak, Jaravel and Spiess 2024; Gardner
2022), through :func:`pyfixest.did2s`. Stage 1 fits partner and year fixed effects on untreated
observations only (never-treated partners, and FTA partners before entry); stage 2 averages the
residuals ``y - y0_hat`` of treated observations, by event year or overall. Chosen over a
two-way fixed-effects regression because with staggered entry (1994..2013) TWFE uses
already-treated partners as controls and can weight effects negatively; chosen over
Sun-Abraham because the imputation estimator is efficient under homoskedastic errors, uses
every untreated year (not only a reference year) and gives each partner's own effect (the
average of its imputed effects), which is what ranking KORUS among the agreements needs.

Design (all choices are parameters with these defaults):

* Data: annual sums of the Census monthly table (partner and *year* fixed effects; monthly data
  would add seasonality and cost without changing the question). Window 1992..2023: 1992 is
  the first year with the post-1991 partners (Jordan, Oman, Morocco, Nicaragua ...), 2023 the
  last complete year.
* Panel: Census countries (``is_aggregate`` False) with exports > 0 and imports > 0 in every
  month of the window, so every annual log is defined and the panel is balanced.
* Treatment year: the calendar year of entry into force if the agreement was in force by 1 July
  (at least half the year), otherwise the next year (Jordan 2001-12-17 -> 2002, Bahrain
  2006-08-01 -> 2007, Panama 2012-10-31 -> 2013). Revisions (NAFTA for Canada, USMCA, the 2019
  KORUS amendments) are not new events.
* Controls: never-treated partners. Partners treated in or before the first year (Israel 1985,
  Canada 1989) have no pre-period: they are always-treated and left out.
* Event years: effects are estimated for 0..+10; treated observations more than 10 years after
  entry are left out, so the ATT is the average effect over the first 11 years and every
  agreement is averaged over a comparable horizon. Leads -5..-1 come from the BJS pre-trend
  regression (untreated observations only, partner and year FE, lead dummies, years <= -6 as the
  reference bin); the joint pre-trend test is a cluster-robust Wald test of those leads with a
  Hotelling-type correction for the few treated clusters, F(5, G_treated - 5).
* Inference: standard errors clustered by partner (Gardner's GMM variance, as pyfixest computes
  it), intervals from t(G-1). No wild cluster bootstrap: pyfixest offers none for the two-stage
  variance; with about 18 treated of about 115 clusters the cluster-robust intervals are
  checked by simulation instead (tests/test_event_study.py: 15 treated of 60, 100 seeds).
* One agreement's effect (KORUS among them): the unit's average imputed effect. Its interval
  is a placebo interval: every never-treated partner is given the same treatment year, its
  "effect" is imputed the same way (stage 1 refit without its post years), divided by its own
  noise scale (SD of year-on-year changes of log trade net of year effects); the 2.5 % and
  97.5 % quantiles of these studentised placebos, times the unit's own scale, bound its error
  (Conley-Taber / Ferman-Pinto style inference for one treated unit).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pyfixest as pf
from scipy import stats

from analysis.errors import DataError, ParameterError

OUTCOMES: tuple[str, ...] = ("exports", "imports")
ESTIMATOR = (
    "imputation (Borusyak-Jaravel-Spiess / Gardner did2s via pyfixest), annual, partner and year FE"
)
WINDOW: tuple[int, int] = (1992, 2023)
LEADS: int = 5
LAGS: int = 10
LEVEL: float = 0.95


# ---------------------------------------------------------------------------------- panel


def annual_panel(trade: pd.DataFrame, window: tuple[int, int] = WINDOW) -> pd.DataFrame:
    """Annual exports and imports of every country trading in every month of ``window``.

    ``trade`` is the cleaned monthly table (``analysis.clean.series.load_trade``). Returns
    ``partner_code, partner, year, exports, imports`` (US$ millions), one row per partner-year,
    balanced over ``window`` (inclusive calendar years).
    """
    first, last = window
    if first >= last:
        raise ParameterError(f"window {window}: the first year must precede the last")
    months = (last - first + 1) * 12
    rows = trade[
        ~trade["is_aggregate"] & (trade["date"].dt.year >= first) & (trade["date"].dt.year <= last)
    ]
    positive = (rows["exports"] > 0) & (rows["imports"] > 0)
    count = positive.groupby(rows["partner_code"]).sum()
    keep = count.index[count == months]
    if len(keep) == 0:
        raise DataError(None, f"no country trades in every month of {first}..{last}")
    rows = rows[rows["partner_code"].isin(keep)]
    out = (
        rows.assign(year=rows["date"].dt.year)
        .groupby(["partner_code", "year"], as_index=False)
        .agg(partner=("partner", "first"), exports=("exports", "sum"), imports=("imports", "sum"))
    )
    return out[["partner_code", "partner", "year", "exports", "imports"]]


def treatment_year(in_force: pd.Timestamp) -> int:
    """First calendar year with the agreement in force for at least half of it (by 1 July)."""
    ts = pd.Timestamp(in_force)
    return ts.year if (ts.month, ts.day) <= (7, 1) else ts.year + 1


def attach_treatment(panel: pd.DataFrame, ftas: pd.DataFrame) -> tuple[pd.DataFrame, list[int]]:
    """Add ``g`` (treatment year; 0 = never treated) to ``panel``; drop always-treated partners.

    Returns the panel restricted to never-treated partners and partners first treated after the
    panel's first year, and the list of FTA partner codes left out (always treated, or not in
    the panel because they lack trade in some month).
    """
    first = int(panel["year"].min())
    g_of = {
        int(c): treatment_year(d)
        for c, d in zip(ftas["partner_code"], ftas["in_force"], strict=True)
    }
    g = panel["partner_code"].map(g_of).fillna(0).astype("int64")
    always = sorted({int(c) for c, y in g_of.items() if y <= first})
    present = set(panel["partner_code"].astype(int))
    missing = sorted(c for c in g_of if c not in present)
    out = panel.assign(g=g)
    out = out[~out["partner_code"].isin(always)].reset_index(drop=True)
    return out, sorted(always + missing)


def event_frame(
    panel: pd.DataFrame, outcome: str, leads: int = LEADS, lags: int = LAGS
) -> pd.DataFrame:
    """The estimation frame of one outcome: log outcome, event time, treatment and event dummies.

    ``panel`` has ``partner_code, year, g`` and the outcome column (levels, > 0). Columns added:
    ``y`` (log), ``rel`` (year - g; NaN for never treated), ``treated`` (bool), ``D`` (float),
    ``e0..e{lags}`` (treated at event year k) and ``l1..l{leads}`` (untreated at event year -k).
    Treated observations after event year ``lags`` are dropped.
    """
    if outcome not in panel.columns:
        raise ParameterError(f"outcome {outcome!r} is not a column of the panel")
    if (panel[outcome] <= 0).any():
        raise DataError(None, f"{outcome}: values <= 0 have no logarithm")
    df = panel[["partner_code", "year", "g"]].copy()
    df["y"] = np.log(panel[outcome].to_numpy(dtype=float))
    ever = df["g"] > 0
    df["rel"] = np.where(ever, df["year"] - df["g"], np.nan)
    df = df[~(df["rel"] > lags)].reset_index(drop=True)
    df["treated"] = (df["rel"] >= 0).to_numpy()
    df["D"] = df["treated"].astype(float)
    for k in range(lags + 1):
        df[f"e{k}"] = (df["rel"] == k).astype(float)
    for k in range(1, leads + 1):
        df[f"l{k}"] = (df["rel"] == -k).astype(float)
    return df


# ------------------------------------------------------------------------------ estimates


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence pyfixest's pandas deprecation notices (``inplace``), nothing else."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*inplace keyword.*")
        yield


#: Convergence tolerance of pyfixest's fixed-effect demeaning (its default is 1e-08). With the
#: default, the lead test's p-value moved in the 7th digit with the order pyfixest met the
#: fixed effects in, which follows Python's string hashing, so two runs could round
#: ``pre_trend_p`` differently; at 1e-12 the estimates agree to about 1e-12 whatever the order.
FIXEF_TOL: float = 1e-12


def _t_crit(n_clusters: int, level: float = LEVEL) -> float:
    """Two-sided critical value of t(G-1) (small-sample correction for few clusters)."""
    return float(stats.t.ppf(0.5 + level / 2, max(n_clusters - 1, 1)))


def _did2s(frame: pd.DataFrame, regressors: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Gardner's two-stage estimates and clustered standard errors of ``regressors``."""
    with _quiet():
        fit = pf.did2s(
            frame,
            yname="y",
            first_stage="~ 0 | partner_code + year",
            second_stage="~ " + " + ".join(regressors),
            treatment="treated",
            cluster="partner_code",
        )
    coef = fit.coef().reindex(list(regressors)).to_numpy(dtype=float)
    se = fit.se().reindex(list(regressors)).to_numpy(dtype=float)
    return coef, se


def _interval(coef: float, se: float, crit: float) -> tuple[float, float]:
    return coef - crit * se, coef + crit * se


def att(frame: pd.DataFrame, level: float = LEVEL) -> dict[str, float]:
    """Average effect on treated observations (event years 0..lags), with its interval."""
    (coef,), (se,) = _did2s(frame, ["D"])
    lo, hi = _interval(coef, se, _t_crit(frame["partner_code"].nunique(), level))
    return {"att": coef, "se": se, "ci_low": lo, "ci_high": hi}


def post_effects(frame: pd.DataFrame, lags: int = LAGS, level: float = LEVEL) -> pd.DataFrame:
    """Effect by event year 0..lags: ``event_year, coef, se, ci_low, ci_high``."""
    names = [f"e{k}" for k in range(lags + 1) if frame[f"e{k}"].any()]
    coef, se = _did2s(frame, names)
    crit = _t_crit(frame["partner_code"].nunique(), level)
    return pd.DataFrame(
        {
            "event_year": [int(n[1:]) for n in names],
            "coef": coef,
            "se": se,
            "ci_low": coef - crit * se,
            "ci_high": coef + crit * se,
        }
    )


def fit_vcov(fit: Any, names: Sequence[str]) -> np.ndarray:
    """The estimated covariance matrix of the coefficients ``names`` of a pyfixest fit
    (``feols``/``fepois``), in that order.

    pyfixest (0.60) has no public getter for the whole matrix: ``vcov()`` recomputes it and
    returns the model, and ``se()``/``tidy()`` give only its diagonal. This is the one place
    that reads the attribute ``_vcov`` (listed among the model's documented attributes), and
    it checks the diagonal against the public ``se()``: a pyfixest that changes the attribute
    fails here, loudly, rather than giving wrong tests."""
    index = list(fit.coef().index)
    order = [index.index(n) for n in names]
    vcov = np.asarray(fit._vcov, dtype=float)[np.ix_(order, order)]
    se = fit.se().reindex(list(names)).to_numpy(dtype=float)
    if vcov.shape != (len(names), len(names)) or not np.allclose(
        np.sqrt(np.diag(vcov)), se, rtol=1e-8, atol=0.0, equal_nan=True
    ):
        raise RuntimeError("pyfixest's covariance matrix does not match its standard errors")
    return vcov


def _wald_p(coef: np.ndarray, vcov: np.ndarray, n_clusters: int) -> float:
    """p-value of the joint test ``coef == 0`` with a Hotelling-type small-cluster correction.

    ``W = b' V^-1 b`` from a cluster-robust ``V`` behaves like Hotelling's T^2 with as many
    observations as clusters identifying ``b``: ``W / q * (G - q) / (G - 1) ~ F(q, G - q)``.
    With ``G`` the treated clusters (the leads are identified by them only) this keeps the size
    at or below nominal (plain F(q, G_all - 1) rejected 16 % at 5 % with 16 treated partners).
    """
    q = len(coef)
    wald = float(coef @ np.linalg.pinv(vcov) @ coef)
    if n_clusters <= q:
        return math.nan
    return float(stats.f.sf(wald / q * (n_clusters - q) / (n_clusters - 1), q, n_clusters - q))


def pre_trends(
    frame: pd.DataFrame, leads: int = LEADS, level: float = LEVEL
) -> tuple[pd.DataFrame, float]:
    """BJS pre-trend test: lead coefficients on untreated observations and the joint p-value.

    Regresses ``y`` on lead dummies -1..-leads with partner and year FE on untreated
    observations (years before -leads are the reference), clusters by partner and tests all
    leads jointly (:func:`_wald_p`, with the treated partners as the cluster count).
    """
    names = [f"l{k}" for k in range(leads, 0, -1) if frame[f"l{k}"].any()]
    untreated = frame[~frame["treated"]]
    with _quiet():
        fit = pf.feols(
            "y ~ " + " + ".join(names) + " | partner_code + year",
            data=untreated,
            vcov={"CRV1": "partner_code"},
            fixef_tol=FIXEF_TOL,
        )
    coef = fit.coef().reindex(names).to_numpy(dtype=float)
    vcov = fit_vcov(fit, names)
    se = np.sqrt(np.diag(vcov))
    crit = _t_crit(untreated["partner_code"].nunique(), level)
    table = pd.DataFrame(
        {
            "event_year": [-int(n[1:]) for n in names],
            "coef": coef,
            "se": se,
            "ci_low": coef - crit * se,
            "ci_high": coef + crit * se,
        }
    )
    n_treated = untreated.loc[untreated["g"] > 0, "partner_code"].nunique()
    return table, _wald_p(coef, vcov, n_treated)


# --------------------------------------------------------------- one unit's effect (numpy)


def _twfe(
    y: np.ndarray, unit: np.ndarray, time: np.ndarray, use: np.ndarray, n_units: int, n_times: int
) -> tuple[np.ndarray, np.ndarray]:
    """Unit and time effects of ``y = a_unit + b_time + e`` fitted on rows ``use``.

    Solves the normal equations directly (size units + times - 1; ``b`` of the first time is 0).
    Units without a fitted row get NaN.
    """
    u, t, yy = unit[use], time[use], y[use]
    n_u = np.bincount(u, minlength=n_units).astype(float)
    n_t = np.bincount(t, minlength=n_times).astype(float)
    cross = np.zeros((n_units, n_times))
    np.add.at(cross, (u, t), 1.0)
    xtx = np.block([[np.diag(n_u), cross[:, 1:]], [cross[:, 1:].T, np.diag(n_t[1:])]])
    xty = np.concatenate([np.bincount(u, yy, n_units), np.bincount(t, yy, n_times)[1:]])
    live = np.concatenate([n_u > 0, n_t[1:] > 0])
    sol = np.full(n_units + n_times - 1, np.nan)
    sol[live] = np.linalg.solve(xtx[np.ix_(live, live)], xty[live])
    return sol[:n_units], np.concatenate([[0.0], sol[n_units:]])


def _codes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Integer unit and year indices and their labels."""
    unit, units = pd.factorize(frame["partner_code"], sort=True)
    time, times = pd.factorize(frame["year"], sort=True)
    return unit, time, np.asarray(units), np.asarray(times)


def _unit_effect(
    y: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    unit: np.ndarray,
    time: np.ndarray,
    post: np.ndarray,
    i: int,
) -> tuple[float, float]:
    """(mean imputed effect of unit ``i`` over rows ``post``, the unit's noise scale).

    The scale is the standard deviation of the year-on-year changes of ``y - b_year`` over all
    the unit's years: it does not depend on the length of the pre-period (Mexico has two years).
    """
    mine = unit == i
    effect = float(np.mean(y[mine & post] - a[i] - b[time[mine & post]]))
    order = np.argsort(time[mine])
    detrended = (y[mine] - b[time[mine]])[order]
    scale = float(np.std(np.diff(detrended), ddof=1)) if mine.sum() > 2 else math.nan
    return effect, scale


def unit_effects(frame: pd.DataFrame) -> pd.DataFrame:
    """Each treated partner's average imputed effect: ``partner_code, g, att, sd``.

    ``att`` is the mean of ``y - y0_hat`` over the partner's treated years (0..lags); ``sd`` is
    its noise scale (SD of year-on-year changes of ``y`` net of year effects).
    """
    unit, time, units, _ = _codes(frame)
    y = frame["y"].to_numpy(dtype=float)
    treated = frame["treated"].to_numpy(dtype=bool)
    a, b = _twfe(y, unit, time, ~treated, len(units), int(time.max()) + 1)
    rows = []
    g_of = frame.groupby("partner_code")["g"].first()
    for i, code in enumerate(units):
        if g_of[code] > 0 and treated[unit == i].any():
            effect, sd = _unit_effect(y, a, b, unit, time, treated, i)
            rows.append({"partner_code": int(code), "g": int(g_of[code]), "att": effect, "sd": sd})
    return pd.DataFrame(rows, columns=["partner_code", "g", "att", "sd"])


def placebo_effects(frame: pd.DataFrame, g: int, lags: int = LAGS) -> np.ndarray:
    """Studentised placebo effects: each never-treated partner treated from year ``g``.

    For each never-treated partner in turn, its years ``g..g+lags`` are removed from stage 1,
    its imputed effect over those years is divided by its noise scale. Returns the array of
    these ratios (partners without two pre years or without post years are skipped).
    """
    unit, time, units, times = _codes(frame)
    y = frame["y"].to_numpy(dtype=float)
    treated = frame["treated"].to_numpy(dtype=bool)
    year = frame["year"].to_numpy()
    never = frame.groupby("partner_code")["g"].first().reindex(units).to_numpy() == 0
    post_years = (year >= g) & (year <= g + lags)
    out = []
    for i in np.flatnonzero(never):
        mine = unit == i
        fake_post = mine & post_years
        if not fake_post.any() or (mine & (year < g)).sum() < 2:
            continue
        a, b = _twfe(y, unit, time, ~treated & ~fake_post, len(units), len(times))
        effect, sd = _unit_effect(y, a, b, unit, time, fake_post, i)
        if sd > 0:
            out.append(effect / sd)
    return np.asarray(out, dtype=float)


def agreement_effects(frame: pd.DataFrame, level: float = LEVEL, lags: int = LAGS) -> pd.DataFrame:
    """Each treated partner's effect with a studentised placebo interval.

    Returns ``partner_code, g, att, sd, ci_low, ci_high, n_placebo``: the interval is
    ``att - q_hi * sd .. att - q_lo * sd`` with ``q`` the placebo quantiles for the same ``g``.
    """
    units = unit_effects(frame)
    alpha = (1 - level) / 2
    quantiles = {}
    for g in sorted(units["g"].unique()):
        ratios = placebo_effects(frame, int(g), lags)
        quantiles[g] = (
            (float(np.quantile(ratios, alpha)), float(np.quantile(ratios, 1 - alpha)), len(ratios))
            if len(ratios) >= 10
            else (math.nan, math.nan, len(ratios))
        )
    q_lo = units["g"].map(lambda g: quantiles[g][0])
    q_hi = units["g"].map(lambda g: quantiles[g][1])
    return units.assign(
        ci_low=units["att"] - q_hi * units["sd"],
        ci_high=units["att"] - q_lo * units["sd"],
        n_placebo=units["g"].map(lambda g: quantiles[g][2]),
    )


# ---------------------------------------------------------------------------- the report


def _num(x: Any, digits: int = 4) -> float | None:
    """A rounded float, or None for NaN / inf / missing (JSON has no NaN)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return round(v, digits) if math.isfinite(v) else None


def outcome_summary(frame: pd.DataFrame, level: float = LEVEL) -> dict[str, Any]:
    """The report block of one outcome (without per-agreement effects).

    ``{estimator, by_event_year: [{event_year, coef, ci_low, ci_high}], pre_trend_p, att,
    att_ci: [lo, hi], n_treated, n_controls}``; leads from :func:`pre_trends`, lags from
    :func:`post_effects`, ATT from :func:`att`.
    """
    leads, p = pre_trends(frame, level=level)
    lags = post_effects(frame, level=level)
    pooled = att(frame, level)
    events = pd.concat([leads, lags], ignore_index=True).sort_values("event_year")
    g = frame.groupby("partner_code")["g"].first()
    return {
        "estimator": ESTIMATOR,
        "by_event_year": [
            {
                "event_year": int(r.event_year),
                "coef": _num(r.coef),
                "ci_low": _num(r.ci_low),
                "ci_high": _num(r.ci_high),
            }
            for r in events.itertuples(index=False)
        ],
        "pre_trend_p": _num(p),
        "att": _num(pooled["att"]),
        "att_ci": [_num(pooled["ci_low"]), _num(pooled["ci_high"])],
        "n_treated": int((g > 0).sum()),
        "n_controls": int((g == 0).sum()),
    }


def _by_agreement(effects: pd.DataFrame, ftas: pd.DataFrame) -> list[dict[str, Any]]:
    """Per-agreement rows ``{partner_code, partner, in_force, att, ci_low, ci_high}`` by ATT."""
    meta = ftas.set_index("partner_code")
    rows = []
    for r in effects.sort_values("att", ascending=False).itertuples(index=False):
        rows.append(
            {
                "partner_code": int(r.partner_code),
                "partner": str(meta.loc[r.partner_code, "partner"]),
                "in_force": pd.Timestamp(meta.loc[r.partner_code, "in_force"]).strftime("%Y-%m-%d"),
                "att": _num(r.att),
                "ci_low": _num(r.ci_low),
                "ci_high": _num(r.ci_high),
            }
        )
    return rows


def _rank_of(effects: pd.DataFrame, code: int) -> dict[str, Any]:
    """One partner's effect, interval and rank (1 = largest ATT) among the agreements."""
    ranked = effects.sort_values("att", ascending=False).reset_index(drop=True)
    hit = ranked.index[ranked["partner_code"] == code]
    if len(hit) == 0:
        return {
            "att": None,
            "ci": [None, None],
            "rank_among_agreements": None,
            "n_agreements": len(ranked),
        }
    r = ranked.loc[hit[0]]
    return {
        "att": _num(r["att"]),
        "ci": [_num(r["ci_low"]), _num(r["ci_high"])],
        "rank_among_agreements": int(hit[0]) + 1,
        "n_agreements": len(ranked),
    }


def evaluate(
    trade: pd.DataFrame,
    ftas: pd.DataFrame,
    window: tuple[int, int] = WINDOW,
    focus: int = 5800,
    level: float = LEVEL,
) -> dict[str, Any]:
    """The whole evaluation as a plain dict (written to ``reports/korus/evaluation.json``).

    ``trade``: the cleaned monthly table (``analysis.clean.series.load_trade``); ``ftas``: the
    FTA table (``analysis.models.fta.load_ftas``); ``focus``: the partner placed among the
    agreements (5800, Korea). Shape: ``{agreements, exports, imports, korus: {exports, imports},
    by_agreement: {exports, imports}}``; floats rounded to 4 decimals, None where undefined.
    ``agreements`` lists every row of ``ftas``; ``by_agreement`` and the ranks cover those in the
    estimation (:func:`excluded_partners` says which are not, and why).
    """
    panel, _left_out = attach_treatment(annual_panel(trade, window), ftas)
    result: dict[str, Any] = {
        "agreements": [
            {
                "partner_code": int(r.partner_code),
                "partner": str(r.partner),
                "agreement": str(r.agreement),
                "in_force": pd.Timestamp(r.in_force).strftime("%Y-%m-%d"),
            }
            for r in ftas.itertuples(index=False)
        ],
        "korus": {},
        "by_agreement": {},
    }
    for outcome in OUTCOMES:
        frame = event_frame(panel, outcome)
        result[outcome] = outcome_summary(frame, level)
        effects = agreement_effects(frame, level)
        result["by_agreement"][outcome] = _by_agreement(effects, ftas)
        result["korus"][outcome] = _rank_of(effects, focus)
    return result


def excluded_partners(
    trade: pd.DataFrame, ftas: pd.DataFrame, window: tuple[int, int] = WINDOW
) -> list[dict[str, Any]]:
    """FTA partners not in the estimation and why (always treated, or missing trade months)."""
    panel = annual_panel(trade, window)
    present = set(panel["partner_code"].astype(int))
    rows = []
    for r in ftas.itertuples(index=False):
        g = treatment_year(r.in_force)
        if int(r.partner_code) not in present:
            why = f"not traded (both flows) in every month of {window[0]}..{window[1]}"
        elif g <= window[0]:
            why = f"in force before the window ({pd.Timestamp(r.in_force).date()}): always treated"
        else:
            continue
        rows.append({"partner_code": int(r.partner_code), "partner": str(r.partner), "reason": why})
    return rows
