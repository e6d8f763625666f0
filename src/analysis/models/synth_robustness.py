"""Synthetic-control robustness: placebo filters, leave-one-out, conformal intervals, donor rule."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import config
from analysis.errors import DataError, ParameterError
from analysis.models.synth import (
    FTA_PARTNERS,
    KOREA,
    MIN_FLOW,
    _flow_panel,
    _num,
    _split,
    fit,
    large_enough,
    partner_names,
    placebo_ratios,
    placebo_rmspe,
    rank_p,
    simplex_weights,
)

#: Placebos whose pre-period RMSPE exceeds this many times the treated unit's are dropped before
#: ranking (Abadie, Diamond and Hainmueller 2010, JASA: 5 and 2).
PRE_RMSPE_CUTS: tuple[float, ...] = (5.0, 2.0)

#: Leave-one-out: every donor with at least this weight is dropped in turn and the design refit.
LOO_MIN_WEIGHT: float = 0.05

#: Conformal intervals (Chernozhukov, Wüthrich and Zhu 2021, JASA): a year's interval collects
#: the effects the permutation test does not reject at this level. With one post year added to
#: the pre-period years (n periods in all), a p-value takes the values k/n, so the interval's
#: exact level is 1 - floor(alpha n) / n: with 12 pre-period years, 12/13 (92.3 %), reported
#: as ``level``.
CONFORMAL_ALPHA: float = 0.1

#: The donor-pool rule's list (micro-states, small territories and entrepôts, with sources).
DONOR_EXCLUSIONS: Path = config.EXTERNAL_DIR / "donor_exclusions.csv"

#: Categories of :data:`DONOR_EXCLUSIONS` and what each means on a page.
EXCLUSION_CATEGORIES: dict[str, str] = {
    "micro_state": "a state with fewer than 1 million people in 2011",
    "territory": "a dependent territory with fewer than 1 million people in 2011",
    "entrepot": "an entrepôt whose trade is largely re-exports",
}

#: The rule in words (shown on the evaluation page and in ``evaluation.json``).
DONOR_RULE: str = (
    "donors exclude micro-states and small territories (fewer than 1 million people in 2011, "
    "World Bank WDI or UN population estimates) and entrepôts whose trade is largely re-exports "
    "(Hong Kong, Macau, the United Arab Emirates, Singapore), listed with sources in "
    "data/external/donor_exclusions.csv"
)


def load_donor_exclusions(path: str | Path = DONOR_EXCLUSIONS) -> dict[int, str]:
    """Census code -> category of every partner the donor-pool rule keeps out.

    Reads ``data/external/donor_exclusions.csv`` (``partner_code, partner, category, source``);
    ``DataError`` naming the file when it is missing, lacks a column, repeats a code, has a
    category outside :data:`EXCLUSION_CATEGORIES` or a row without a source.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "donor exclusion list not found")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(path, f"not a readable CSV ({type(exc).__name__})") from None
    missing = {"partner_code", "partner", "category", "source"} - set(table.columns)
    if missing:
        raise DataError(path, f"missing column(s) {sorted(missing)}")
    if not table["partner_code"].str.fullmatch(r"\d+").all():
        raise DataError(path, "partner_code must be an integer Census code in every row")
    codes = table["partner_code"].astype(int)
    if codes.duplicated().any():
        raise DataError(path, f"partner_code {int(codes[codes.duplicated()].iloc[0])} repeated")
    bad = sorted(set(table["category"]) - set(EXCLUSION_CATEGORIES))
    if bad:
        raise DataError(
            path, f"unknown category {bad[0]!r} (known: {', '.join(EXCLUSION_CATEGORIES)})"
        )
    if (table["source"].str.strip() == "").any():
        raise DataError(path, "every row needs a source")
    return dict(zip(codes.tolist(), table["category"].tolist(), strict=True))


def _rank_among(stat: pd.Series, treated: int, keep: pd.Series | None = None) -> dict[str, Any]:
    """Rank of ``treated``'s statistic among the placebos kept (1 = largest; ties count
    against it), ``p = rank / (placebos kept + 1)`` and the number of placebos kept."""
    placebos = stat.drop(index=int(treated))
    if keep is not None:
        placebos = placebos[keep.drop(index=int(treated)).to_numpy()]
    own = stat.loc[int(treated)]
    rank = 1 + int((placebos >= own).sum())
    return {
        "n_placebos": len(placebos),
        "rank": rank,
        "p_value": _num(rank / (len(placebos) + 1), 4),
    }


def placebo_filters(table: pd.DataFrame, treated: int) -> list[dict[str, Any]]:
    """The placebo p-value under each standard filter, from :func:`placebo_rmspe`'s table.

    Rows (``filter``, ``statistic``, ``n_placebos``, ``rank``, ``p_value``): ``all`` (the
    post/pre RMSPE ratio among every placebo, the main result); ``exact_fits_excluded``
    (placebos whose pre-period path the others reproduce exactly, infinite ratio, left out);
    ``pre_rmspe_5x`` and ``pre_rmspe_2x`` (placebos whose pre-period RMSPE exceeds 5 or 2 times
    the treated unit's left out, as Abadie, Diamond and Hainmueller 2010); ``post_rmspe`` (every
    placebo, ranked by the post-period RMSPE alone).
    """
    treated = int(treated)
    own_pre = table.at[treated, "pre"]
    rows = [
        {"filter": "all", "statistic": "rmspe_ratio", **_rank_among(table["ratio"], treated)},
        {
            "filter": "exact_fits_excluded",
            "statistic": "rmspe_ratio",
            **_rank_among(table["ratio"], treated, np.isfinite(table["ratio"])),
        },
    ]
    for k in PRE_RMSPE_CUTS:
        rows.append(
            {
                "filter": f"pre_rmspe_{k:g}x",
                "statistic": "rmspe_ratio",
                **_rank_among(table["ratio"], treated, table["pre"] <= k * own_pre),
            }
        )
    rows.append(
        {"filter": "post_rmspe", "statistic": "post_rmspe", **_rank_among(table["post"], treated)}
    )
    return rows


def leave_one_out(
    panel: pd.DataFrame,
    treated: int,
    donors: Sequence[int],
    treatment_year: int,
    post_end: int,
    min_weight: float = LOO_MIN_WEIGHT,
) -> list[dict[str, Any]]:
    """The design refit without each donor whose weight is at least ``min_weight``, in turn.

    One row per dropped donor (largest weight first): ``code``, ``weight`` (in the full
    design), ``n_donors``, ``gap_pct_last`` (actual vs synthetic in the last year, percent),
    ``mean_gap`` (mean post-period gap, log points), ``rmspe_ratio``, ``rank`` and ``p_value``
    (placebos among the remaining donors).
    """
    full = fit(panel, treated, donors, treatment_year, post_end)
    rows = []
    for code, weight in full.nonzero_weights(tol=min_weight - 1e-12).items():
        pool = [d for d in full.donors if d != code]
        if len(pool) < 2:
            continue
        f = fit(panel, treated, pool, treatment_year, post_end)
        rank, p = rank_p(placebo_ratios(panel, treated, pool, treatment_year, post_end), treated)
        post = f.years >= treatment_year
        rows.append(
            {
                "code": int(code),
                "weight": _num(weight, 4),
                "n_donors": len(pool),
                "gap_pct_last": _num(100.0 * math.expm1(f.gap[-1]), 2),
                "mean_gap": _num(float(np.mean(f.gap[post])), 4),
                "rmspe_ratio": _num(f.rmspe_ratio, 3),
                "rank": rank,
                "p_value": _num(p, 4),
            }
        )
    return rows


def _demeaned(
    panel: pd.DataFrame, treated: int, donors: Sequence[int], treatment_year: int, post_end: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Years, pre-period mask and the matrix (treated first, then donors) demeaned over the
    pre-period, as :func:`fit` uses it."""
    cut = _split(panel, treatment_year, post_end)
    values = cut[[int(treated), *[int(d) for d in donors]]].to_numpy(dtype="float64")
    if not np.isfinite(values).all():
        raise DataError(None, "synthetic control panel has missing or non-positive years")
    years = cut.index.to_numpy().astype(int)
    pre = years < treatment_year
    return years, pre, values - values[pre].mean(axis=0)


def _null_residuals(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Residuals of the treated outcome ``y`` (effect removed under the null) on the donors of
    ``z`` with simplex weights fitted on every period, pre and post (the null imposed)."""
    w = simplex_weights(z, y)
    return y - z @ w


def conformal_p(z: np.ndarray, pre: np.ndarray, effect: np.ndarray) -> float:
    """Chernozhukov–Wüthrich–Zhu permutation p-value of the null "the effect in the post
    periods is ``effect``" (one value per post period).

    ``z``: periods x (treated, donors), demeaned over the pre-period. The effect is removed
    from the treated unit's post periods, the weights are refitted on all periods, and the test
    statistic (mean absolute residual over the post periods) is compared with its values under
    every moving-block (cyclic) permutation of the periods: ``p`` = share of permutations with
    a statistic at least as large.
    """
    y = z[:, 0].copy()
    y[~pre] = y[~pre] - np.asarray(effect, dtype="float64")
    u = np.abs(_null_residuals(z[:, 1:], y))
    t, t_post = len(u), int((~pre).sum())
    order = np.concatenate([np.flatnonzero(pre), np.flatnonzero(~pre)])  # post periods last
    u = u[order]
    windows = np.concatenate([u, u])  # cyclic shifts: window j is u[j + t - t_post : j + t]
    sums = np.convolve(windows, np.ones(t_post), mode="valid")[t - t_post : 2 * t - t_post]
    stats = sums / t_post
    return float(np.mean(stats >= stats[0] - 1e-12))


def conformal_interval(
    z: np.ndarray,
    pre: np.ndarray,
    post_index: int,
    alpha: float = CONFORMAL_ALPHA,
    half_width: float = 3.0,
    step: float = 0.05,
) -> tuple[float | None, float | None]:
    """The effect values in post period ``post_index`` (0 = first) that the test of
    :func:`conformal_p` (pre-period plus that one period) does not reject at ``alpha``.

    Grid of ``step`` over the point gap ± ``half_width`` (log points), each end refined by
    bisection to ``step / 1024``; the interval spans every accepted grid point (the accepted set
    need not be convex); an end that reaches the grid's edge is None (wider than the grid).
    """
    rows = np.concatenate([np.flatnonzero(pre), [np.flatnonzero(~pre)[post_index]]])
    zz = z[rows]
    pp = np.arange(len(rows)) < len(rows) - 1
    centre = float(zz[-1, 0] - zz[-1, 1:] @ simplex_weights(zz[pp, 1:], zz[pp, 0]))

    def accepted(theta: float) -> bool:
        return conformal_p(zz, pp, np.array([theta])) > alpha

    grid = centre + np.arange(-half_width, half_width + step / 2, step)
    ok = np.array([accepted(float(g)) for g in grid])
    if not ok.any():
        return None, None
    i, j = int(np.flatnonzero(ok)[0]), int(np.flatnonzero(ok)[-1])

    def edge(inside: float, outside: float) -> float:
        for _ in range(10):
            mid = (inside + outside) / 2
            inside, outside = (mid, outside) if accepted(mid) else (inside, mid)
        return inside

    lo = None if i == 0 else edge(float(grid[i]), float(grid[i - 1]))
    hi = None if j == len(grid) - 1 else edge(float(grid[j]), float(grid[j + 1]))
    return lo, hi


def conformal(
    panel: pd.DataFrame,
    treated: int,
    donors: Sequence[int],
    treatment_year: int,
    post_end: int,
    alpha: float = CONFORMAL_ALPHA,
) -> dict[str, Any]:
    """Conformal inference for the synthetic control's gap (Chernozhukov, Wüthrich and Zhu).

    ``p_no_effect``: the permutation p-value of "no effect in any post year" (all post years
    jointly); ``by_year``: each post year's gap (log points) with the interval of effects the
    test does not reject at ``alpha`` (pre-period plus that year), and the same in percent;
    ``level``: the intervals' exact level (see :data:`CONFORMAL_ALPHA`).
    """
    years, pre, z = _demeaned(panel, treated, donors, treatment_year, post_end)
    f = fit(panel, treated, donors, treatment_year, post_end)
    post_years = years[~pre]
    by_year = []
    for k, year in enumerate(post_years):
        lo, hi = conformal_interval(z, pre, k, alpha)
        gap = float(f.gap[~pre][k])
        by_year.append(
            {
                "year": int(year),
                "gap": _num(gap, 4),
                "ci_low": None if lo is None else _num(lo, 4),
                "ci_high": None if hi is None else _num(hi, 4),
                "gap_pct": _num(100.0 * math.expm1(gap), 2),
                "ci_low_pct": None if lo is None else _num(100.0 * math.expm1(lo), 2),
                "ci_high_pct": None if hi is None else _num(100.0 * math.expm1(hi), 2),
            }
        )
    n = int(pre.sum()) + 1  # periods in each year's test
    return {
        "method": "conformal (Chernozhukov, Wüthrich and Zhu 2021), moving-block permutations",
        "alpha": alpha,
        "level": _num(1 - math.floor(alpha * n + 1e-9) / n, 4),
        "p_no_effect": _num(conformal_p(z, pre, np.zeros(int((~pre).sum()))), 4),
        "by_year": by_year,
    }


def _pool_robustness(
    panel: pd.DataFrame,
    treated: int,
    donors: Sequence[int],
    treatment_year: int,
    post_end: int,
) -> dict[str, Any]:
    """One donor pool's fit, placebo filters, leave-one-out and conformal intervals."""
    f = fit(panel, treated, donors, treatment_year, post_end)
    table = placebo_rmspe(panel, treated, donors, treatment_year, post_end)
    filters = placebo_filters(table, treated)
    loo = leave_one_out(panel, treated, donors, treatment_year, post_end)

    def span(key: str, rows: list[dict[str, Any]]) -> list[float] | None:
        vals = [r[key] for r in rows if r.get(key) is not None]
        return [min(vals), max(vals)] if vals else None

    return {
        "n_donors": len(f.donors),
        "weights": {str(c): _num(w, 4) for c, w in f.nonzero_weights().items()},
        "pre_rmspe": _num(f.pre_rmspe, 4),
        "rmspe_ratio": _num(f.rmspe_ratio, 3),
        "gap_pct_last": _num(100.0 * math.expm1(f.gap[-1]), 2),
        "exact_fits": int(np.isinf(table["ratio"]).sum()),
        "filters": filters,
        "p_range": span("p_value", filters),
        "leave_one_out": loo,
        "leave_one_out_range": {
            key: span(key, loo) for key in ("gap_pct_last", "rmspe_ratio", "p_value")
        },
        "conformal": conformal(panel, treated, donors, treatment_year, post_end),
    }


def robustness(
    trade: pd.DataFrame,
    flow: str,
    exclude: Iterable[int] = FTA_PARTNERS,
    rule_exclude: dict[int, str] | None = None,
    treated: int = KOREA,
    pre_start: int = 2000,
    treatment_year: int = 2012,
    post_end: int = 2018,
    min_flow: float | None = MIN_FLOW,
) -> dict[str, Any]:
    """``synthetic_control.<flow>.robustness`` of ``evaluation.json``.

    The design of :func:`run_flow` (same donors: ``no_rule``) and the same design with the
    donor-pool rule applied (``donor_rule``: the codes of ``rule_exclude``, from
    :func:`load_donor_exclusions`, left out), each with :func:`placebo_filters`,
    :func:`leave_one_out` and :func:`conformal`. ``p_range``: the smallest and largest placebo
    p-value over every filter of both pools; ``names``: code -> Census name of every donor
    named in the block.
    """
    panel, eligible = _flow_panel(trade, flow, exclude, treated, pre_start, post_end)
    donors = large_enough(panel, eligible, treatment_year - 1, min_flow)
    rule_exclude = rule_exclude or {}
    kept = [d for d in donors if d not in rule_exclude]
    if len(donors) < 2 or len(kept) < 2:
        raise ParameterError(f"fewer than two donors left for {flow} (min_flow={min_flow})")
    pools = {
        "no_rule": _pool_robustness(panel, treated, donors, treatment_year, post_end),
        "donor_rule": _pool_robustness(panel, treated, kept, treatment_year, post_end),
    }
    dropped = [d for d in donors if d in rule_exclude]
    pools["donor_rule"]["excluded"] = [{"code": d, "category": rule_exclude[d]} for d in dropped]
    ps = [
        r["p_value"] for pool in pools.values() for r in pool["filters"] if r["p_value"] is not None
    ]
    named = set(dropped) | {int(c) for pool in pools.values() for c in pool["weights"]}
    return {
        "rule": DONOR_RULE,
        "min_flow": min_flow,
        "pools": pools,
        "p_range": [min(ps), max(ps)] if ps else None,
        "names": {str(c): n for c, n in partner_names(trade, sorted(named)).items()},
    }
