"""Synthetic control for Korea around KORUS: donor pool, simplex weights, placebos in space and time.

Design (issue 12, part 2)
-------------------------
* **Outcome.** Log of the *annual* total of U.S. exports to (or imports from) a partner, the sum
  of the twelve published, not seasonally adjusted monthly figures (US$ millions). Annual sums
  are used rather than months because monthly NSA partner series are dominated by seasonality
  and by lumpy shipments (aircraft, ships, oil cargoes), which a convex combination of donors
  would have to fit month by month; seasonally adjusting some 170 small-partner series would add
  a model per donor whose errors then enter the fit. A year is the natural unit of the annual
  trade statistics and keeps every step a plain sum.
* **Normalisation.** Each unit's log outcome is demeaned over the pre-period (equivalently, the
  outcome is the log of an index equal to 1 at the pre-period geometric mean). Korea is among
  the largest U.S. partners, so a convex combination of donors cannot reach its *level*; after
  demeaning the weights match the *path* (growth and fluctuations) and the synthetic Korea is
  Korea's own pre-period mean plus the weighted demeaned donors. ``actual`` and ``synthetic``
  are reported in log US$ millions; the gap (actual - synthetic) is in log points, and
  ``gap_pct = 100 * (exp(gap) - 1)``.
* **Window.** Pre-period: ``pre_start`` (2000) to the year before treatment (2011). KORUS entered
  into force on 2012-03-15; the fit uses whole pre-treatment years only, so January-February 2012
  are left out of the fit rather than forming a part year. Post-period: 2012 (about 9.5 of its
  months treated) to ``post_end`` (2018, the last year before the 2019 revision; a parameter).
* **Donor pool.** Every Census country (``is_aggregate`` False) with trade (exports + imports
  > 0) in every month of the window, a positive annual total of the flow in every year (so the
  log exists), no U.S. free trade agreement in force during the window (the ``exclude`` codes),
  and not the treated partner. By default the pool is then restricted to partners whose annual
  flow reached US$ 250 million in every pre-period year (:data:`MIN_FLOW`): with ~170 eligible
  donors and 12 annual pre-periods the unrestricted convex hull contains Korea's path, so the
  fit interpolates it exactly with micro-partners (pre RMSPE 0) and inference breaks down.
* **Weights.** Non-negative, summing to one, minimising the pre-period RMSPE of the demeaned log
  outcome: ``scipy.optimize.nnls`` on the system augmented with a heavily weighted row of ones
  (the sum-to-one constraint), then renormalised; this is the exact simplex least-squares
  solution to rounding and takes well under a millisecond per fit. No predictor weights (V).
* **Inference.** Placebo in space: the same fit for every donor, each with the other donors as
  its pool (the treated partner never in a placebo pool); the treated unit's post/pre RMSPE
  ratio is ranked among all (rank 1 = largest), ``p = rank / (donors + 1)``. Placebo in time: the
  same design with a fake treatment year (2008: pre 2000-2007, post 2008-2011), ranked likewise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from analysis import config
from analysis.errors import DataError, ParameterError
from analysis.external import load_agreements

#: Census code of South Korea ("Korea, South").
KOREA: int = 5800

FLOWS: tuple[str, ...] = ("exports", "imports")

#: Census codes of U.S. FTA partners (verified against ``data/processed/partners.csv``), used
#: until ``data/external/us_ftas.csv`` is available: Israel (5081, 5080), Canada, Mexico,
#: Jordan, Chile, Singapore, Australia, Morocco, Bahrain, El Salvador, Honduras, Nicaragua,
#: Guatemala, Dominican Republic, Costa Rica, Oman, Peru, Korea, Colombia, Panama.
FTA_PARTNERS: tuple[int, ...] = (
    5081, 5080, 1220, 2010, 5110, 3370, 5590, 6021, 7140, 5250, 2110,
    2150, 2190, 2050, 2470, 2230, 5230, 3330, 5800, 3010, 2250,
)  # fmt: skip

#: Donor floor (US$ millions): a donor's annual flow must reach this in every pre-period year.
#: Without it, 12 annual pre-periods and ~170 eligible donors let a convex combination of
#: erratic micro-partners (Tokelau, Samoa, Monaco, ...) interpolate Korea's path exactly (pre
#: RMSPE 0, so the post/pre ratio is meaningless and the post-period "synthetic" swings by
#: +-50 %). Restricting the pool to comparable units is the remedy Abadie (2021, JEL) advises;
#: results are stable for floors of 250 to 1000. ``min_flow=None`` uses every eligible donor.
MIN_FLOW: float = 250.0

#: Donor floors (US$ millions; None: every eligible donor) of the sensitivity table
#: (:func:`floor_sensitivity`), the default :data:`MIN_FLOW` among them.
SENSITIVITY_FLOORS: tuple[float | None, ...] = (None, 50.0, 100.0, 250.0, 500.0, 1000.0)

#: Pre-period RMSPE (log points) below which a fit counts as exact interpolation: its post/pre
#: ratio is infinite (reported as None), not a huge number produced by rounding.
_EXACT: float = 1e-8

#: Relative weight of the sum-to-one row in the augmented NNLS system.
_SUM_WEIGHT: float = 1e3


# ---------------------------------------------------------------------------------------------
# Data: donor pool and annual log panel
# ---------------------------------------------------------------------------------------------
def fta_partners(path: str | Path, window_end: str | pd.Timestamp) -> set[int]:
    """Census codes of partners whose U.S. FTA entered into force on or before ``window_end``.

    Reads ``data/external/us_ftas.csv`` through its one validated reader
    (:func:`analysis.external.load_agreements`). An agreement in force at any time up to the end
    of the window makes the partner ineligible. Raises ``DataError`` (one line) when the file is
    missing or invalid.
    """
    end = pd.Timestamp(window_end)
    return {a.partner_code for a in load_agreements(path) if pd.Timestamp(a.in_force) <= end}


def donor_pool(
    trade: pd.DataFrame,
    first_year: int,
    last_year: int,
    exclude: Iterable[int],
    treated: int = KOREA,
) -> list[int]:
    """Codes of eligible donors: countries with trade in every month of the window, not excluded.

    ``trade`` is the cleaned monthly table; the window is January of ``first_year`` to December
    of ``last_year``. A donor must be a country (``is_aggregate`` False), have a row for every
    month of the window with exports + imports > 0, not be in ``exclude`` (partners with a U.S.
    FTA in force during the window) and not be ``treated``. Sorted by code.
    """
    if first_year > last_year:
        raise ParameterError(f"window {first_year}-{last_year}: first year after last year")
    start, end = pd.Timestamp(f"{first_year}-01-01"), pd.Timestamp(f"{last_year}-12-01")
    n_months = 12 * (last_year - first_year + 1)
    rows = trade[(~trade["is_aggregate"]) & (trade["date"] >= start) & (trade["date"] <= end)]
    traded = rows[(rows["exports"] + rows["imports"]) > 0]
    months = traded.groupby("partner_code")["date"].nunique()
    complete = {int(c) for c in months.index[months.to_numpy() == n_months]}
    banned = {int(c) for c in exclude} | {int(treated)}
    return sorted(complete - banned)


def annual_log_panel(
    trade: pd.DataFrame, flow: str, codes: Sequence[int], first_year: int, last_year: int
) -> pd.DataFrame:
    """Log annual totals of ``flow``: index years, one column per code (in the order given).

    A year's total is the sum of its twelve monthly figures; a unit with fewer than twelve
    months in some year or a non-positive annual total (no log) gets NaN there. Use
    :func:`usable` to keep complete columns.
    """
    if flow not in FLOWS:
        raise ParameterError(f"flow {flow!r} is not one of {FLOWS}")
    start, end = pd.Timestamp(f"{first_year}-01-01"), pd.Timestamp(f"{last_year}-12-01")
    rows = trade[
        trade["partner_code"].isin(list(codes)) & (trade["date"] >= start) & (trade["date"] <= end)
    ]
    year = rows["date"].dt.year.rename("year")
    grouped = rows.groupby([year, rows["partner_code"]])[flow]
    total = grouped.sum().where(grouped.count() == 12)
    wide = total.unstack("partner_code").reindex(
        index=range(first_year, last_year + 1), columns=list(codes)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        logged = np.log(wide.where(wide > 0))
    logged.columns = [int(c) for c in logged.columns]
    logged.index.name = "year"
    return logged.astype("float64")


def usable(panel: pd.DataFrame) -> list[int]:
    """Columns of ``panel`` with a finite value in every year."""
    finite = np.isfinite(panel.to_numpy()).all(axis=0)
    return [int(c) for c, ok in zip(panel.columns, finite, strict=True) if ok]


def large_enough(
    panel: pd.DataFrame, donors: Sequence[int], pre_end: int, min_flow: float | None
) -> list[int]:
    """Donors whose annual flow was at least ``min_flow`` (US$ millions) in every year up to
    ``pre_end``; all of them when ``min_flow`` is None. ``panel`` holds log annual totals."""
    if min_flow is None:
        return [int(d) for d in donors]
    if min_flow <= 0:
        raise ParameterError(f"min_flow must be positive (US$ millions), got {min_flow}")
    floor = panel.loc[panel.index <= pre_end, list(donors)].min()
    return [int(d) for d in donors if floor[d] >= math.log(min_flow)]


# ---------------------------------------------------------------------------------------------
# Estimation
# ---------------------------------------------------------------------------------------------
def simplex_weights(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Weights ``w >= 0``, ``sum(w) = 1`` minimising ``||x @ w - y||`` (``x``: periods x donors).

    NNLS on ``[x; c 1'] w = [y; c]`` with ``c`` large relative to the data; the result is
    renormalised so the weights sum to one exactly.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    if x.ndim != 2 or x.shape[1] == 0:
        raise ParameterError("synthetic control needs at least one donor")
    scale = max(1.0, float(np.abs(x).max(initial=0.0)), float(np.abs(y).max(initial=0.0)))
    c = _SUM_WEIGHT * scale
    a = np.vstack([x, np.full((1, x.shape[1]), c)])
    b = np.append(y, c)
    w, _ = nnls(a, b, maxiter=max(50 * x.shape[1], 500))
    total = w.sum()
    if not total > 0:
        raise ParameterError("synthetic control weights could not be found (all zero)")
    return w / total


def _rmspe(gap: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(gap)))) if gap.size else math.nan


@dataclass(frozen=True)
class SynthFit:
    """One synthetic control: weights over donors and the treated unit's gap by year.

    ``actual`` and ``synthetic`` are log outcomes (the synthetic is the treated unit's pre-period
    mean plus the weighted demeaned donors); ``gap = actual - synthetic`` in log points.
    """

    treated: int
    donors: tuple[int, ...]
    weights: np.ndarray
    years: np.ndarray
    actual: np.ndarray
    synthetic: np.ndarray
    treatment_year: int
    pre_rmspe: float
    post_rmspe: float

    @property
    def gap(self) -> np.ndarray:
        return self.actual - self.synthetic

    @property
    def rmspe_ratio(self) -> float:
        return self.post_rmspe / self.pre_rmspe if self.pre_rmspe > _EXACT else math.inf

    def nonzero_weights(self, tol: float = 1e-4) -> dict[int, float]:
        """Donor code -> weight for weights above ``tol``, largest first."""
        order = np.argsort(-self.weights)
        return {self.donors[i]: float(self.weights[i]) for i in order if self.weights[i] > tol}


def _split(panel: pd.DataFrame, treatment_year: int, post_end: int | None) -> pd.DataFrame:
    """The panel's years up to ``post_end``, checking there are pre and post years."""
    years = panel.index.to_numpy()
    last = int(years.max()) if post_end is None else post_end
    cut = panel.loc[(years <= last)]
    n_pre = int((cut.index < treatment_year).sum())
    n_post = int((cut.index >= treatment_year).sum())
    if n_pre < 2 or n_post < 1:
        raise ParameterError(
            f"treatment year {treatment_year} with years {years.min()}-{last} leaves "
            f"{n_pre} pre-period and {n_post} post-period year(s); need >= 2 and >= 1"
        )
    return cut


def fit(
    panel: pd.DataFrame,
    treated: int,
    donors: Sequence[int],
    treatment_year: int,
    post_end: int | None = None,
) -> SynthFit:
    """Synthetic control of ``treated`` from ``donors`` on a log panel (years x codes).

    Every unit is demeaned over the pre-period (years before ``treatment_year``); weights
    minimise the pre-period RMSPE of the demeaned outcome. Years after ``post_end`` are ignored.
    """
    donors = [int(d) for d in donors if int(d) != int(treated)]
    cut = _split(panel, treatment_year, post_end)
    values = cut[[treated, *donors]].to_numpy(dtype="float64")
    if not np.isfinite(values).all():
        raise DataError(None, "synthetic control panel has missing or non-positive years")
    pre = cut.index.to_numpy() < treatment_year
    centre = values[pre].mean(axis=0)
    z = values - centre
    w = simplex_weights(z[pre, 1:], z[pre, 0])
    synthetic = centre[0] + z[:, 1:] @ w
    gap = values[:, 0] - synthetic
    return SynthFit(
        treated=int(treated),
        donors=tuple(donors),
        weights=w,
        years=cut.index.to_numpy().astype(int),
        actual=values[:, 0],
        synthetic=synthetic,
        treatment_year=treatment_year,
        pre_rmspe=_rmspe(gap[pre]),
        post_rmspe=_rmspe(gap[~pre]),
    )


def placebo_ratios(
    panel: pd.DataFrame,
    treated: int,
    donors: Sequence[int],
    treatment_year: int,
    post_end: int | None = None,
) -> dict[int, float]:
    """Post/pre RMSPE ratio of the treated unit and of every donor as a placebo.

    The demeaned matrix is built once; each placebo's pool is the other donors (never the
    treated unit), a column deletion on that matrix. Returns code -> ratio, treated first.
    """
    table = placebo_rmspe(panel, treated, donors, treatment_year, post_end)
    return {int(code): float(r) for code, r in table["ratio"].items()}


def placebo_rmspe(
    panel: pd.DataFrame,
    treated: int,
    donors: Sequence[int],
    treatment_year: int,
    post_end: int | None = None,
) -> pd.DataFrame:
    """Pre- and post-period RMSPE and their ratio for the treated unit and every donor as a
    placebo (each placebo's pool: the other donors, never the treated unit).

    Index: codes, treated first; columns ``pre``, ``post``, ``ratio`` (``inf`` when the
    pre-period fit is exact, see :data:`_EXACT`).
    """
    donors = [int(d) for d in donors if int(d) != int(treated)]
    cut = _split(panel, treatment_year, post_end)
    values = cut[[treated, *donors]].to_numpy(dtype="float64")
    if not np.isfinite(values).all():
        raise DataError(None, "synthetic control panel has missing or non-positive years")
    pre = cut.index.to_numpy() < treatment_year
    z = values - values[pre].mean(axis=0)
    z_pre, z_post = z[pre], z[~pre]
    n = z.shape[1]
    gaps = np.empty_like(z)
    for k in range(n):
        pool = np.arange(1, n) if k == 0 else np.delete(np.arange(1, n), k - 1)
        w = simplex_weights(z_pre[:, pool], z_pre[:, k])
        gaps[:, k] = z[:, k] - z[:, pool] @ w
    pre_r = np.sqrt(np.mean(gaps[pre] ** 2, axis=0))
    post_r = np.sqrt(np.mean(gaps[~pre] ** 2, axis=0)) if z_post.size else np.full(n, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(pre_r > _EXACT, post_r / pre_r, np.inf)
    return pd.DataFrame(
        {"pre": pre_r, "post": post_r, "ratio": ratio},
        index=pd.Index([int(treated), *donors], name="code"),
    )


def rank_p(ratios: dict[int, float], treated: int) -> tuple[int, float]:
    """Rank of ``treated``'s ratio among all (1 = largest; ties count against it) and
    ``p = rank / len(ratios)`` (placebos + 1)."""
    own = ratios[int(treated)]
    rank = 1 + sum(1 for code, r in ratios.items() if code != int(treated) and r >= own)
    return rank, rank / len(ratios)


# ---------------------------------------------------------------------------------------------
# Korea: one flow, and the evaluation dictionary
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SynthResult:
    """Synthetic control of one flow with its placebos in space and in time."""

    flow: str
    outcome: str
    fit: SynthFit
    names: dict[int, str]
    ratios: dict[int, float]
    rank: int
    p_value: float
    time_year: int
    time_ratios: dict[int, float]
    time_rank: int
    time_p_value: float
    floors: tuple[dict[str, Any], ...] = ()


def outcome_label(
    flow: str, pre_start: int, treatment_year: int, min_flow: float | None = None
) -> str:
    """Plain-language description of the outcome the weights match (and of the donor floor)."""
    direction = "to" if flow == "exports" else "from"
    pool = (
        ""
        if min_flow is None
        else f"; donors: eligible countries with annual {flow} of at least US$ {min_flow:g} "
        f"million in every pre-period year"
    )
    return (
        f"log of annual U.S. {flow} {direction} the partner (sum of the 12 monthly NSA figures, "
        f"US$ millions), demeaned over the pre-period {pre_start}-{treatment_year - 1}{pool}"
    )


def floor_sensitivity(
    panel: pd.DataFrame,
    treated: int,
    eligible: Sequence[int],
    treatment_year: int,
    post_end: int,
    floors: Sequence[float | None] = SENSITIVITY_FLOORS,
) -> tuple[dict[str, Any], ...]:
    """The same synthetic control and placebo test for each donor floor in ``floors``.

    ``eligible``: the donors before any floor (complete data, positive flow, no FTA). One row
    per floor: ``min_flow`` (None: every eligible donor, the issue's literal pool), ``n_donors``,
    ``pre_rmspe``, ``rmspe_ratio`` (None when the pre-period fit is exact), ``rank``,
    ``p_value`` and ``exact_fits``, the number of units (Korea and placebos) whose pre-period
    path the others reproduce exactly, whose post/pre ratio is therefore infinite. Floors that
    leave fewer than two donors are skipped (a placebo needs another donor).
    """
    pre_end = treatment_year - 1
    rows = []
    for floor in floors:
        donors = large_enough(panel, eligible, pre_end, floor)
        if len(donors) < 2:  # a placebo needs another donor
            continue
        f = fit(panel, treated, donors, treatment_year, post_end)
        ratios = placebo_ratios(panel, treated, donors, treatment_year, post_end)
        rank, p = rank_p(ratios, treated)
        rows.append(
            {
                "min_flow": floor,
                "n_donors": len(donors),
                "pre_rmspe": _num(f.pre_rmspe, 4),
                "rmspe_ratio": _num(f.rmspe_ratio, 3),
                "rank": rank,
                "p_value": _num(p, 4),
                "exact_fits": sum(1 for r in ratios.values() if math.isinf(r)),
            }
        )
    return tuple(rows)


def _flow_panel(
    trade: pd.DataFrame,
    flow: str,
    exclude: Iterable[int],
    treated: int,
    pre_start: int,
    post_end: int,
) -> tuple[pd.DataFrame, list[int]]:
    """The log annual panel of ``flow`` over ``pre_start``-``post_end`` (treated unit and the
    :func:`donor_pool`) and the eligible donors: those with a positive total every year."""
    if not (trade["partner_code"] == treated).any():
        raise DataError(None, f"treated partner {treated} is not in the trade table")
    pool = donor_pool(trade, pre_start, post_end, exclude, treated)
    panel = annual_log_panel(trade, flow, [treated, *pool], pre_start, post_end)
    if treated not in usable(panel):
        raise DataError(None, f"partner {treated} has no positive annual {flow} in some year")
    return panel, [c for c in usable(panel) if c != treated]


def partner_names(trade: pd.DataFrame, codes: Iterable[int]) -> dict[int, str]:
    """Census name (the latest spelling in the table) of each code."""
    names_all = trade.drop_duplicates("partner_code", keep="last").set_index("partner_code")
    return {int(c): str(names_all.at[int(c), "partner"]) for c in codes}


def run_flow(
    trade: pd.DataFrame,
    flow: str,
    exclude: Iterable[int] = FTA_PARTNERS,
    treated: int = KOREA,
    pre_start: int = 2000,
    treatment_year: int = 2012,
    post_end: int = 2018,
    time_year: int = 2008,
    min_flow: float | None = MIN_FLOW,
) -> SynthResult:
    """Synthetic control of ``flow`` for ``treated`` on the cleaned monthly table, with placebos.

    Donors: :func:`donor_pool` over ``pre_start``-``post_end`` minus units with a non-positive
    annual total of ``flow`` and, unless ``min_flow`` is None, minus units whose annual ``flow``
    fell below ``min_flow`` US$ millions in a pre-period year (:func:`large_enough`; see
    :data:`MIN_FLOW`). Placebo in time: fake treatment in ``time_year`` with the post
    period ending the year before ``treatment_year``, same donors. ``floors``: the same design
    with each donor floor of :data:`SENSITIVITY_FLOORS` (:func:`floor_sensitivity`).
    """
    if not pre_start < time_year < treatment_year <= post_end:
        raise ParameterError(
            f"need pre_start < time_year < treatment_year <= post_end, got "
            f"{pre_start}, {time_year}, {treatment_year}, {post_end}"
        )
    panel, eligible = _flow_panel(trade, flow, exclude, treated, pre_start, post_end)
    donors = large_enough(panel, eligible, treatment_year - 1, min_flow)
    if not donors:
        raise ParameterError(f"no donor left for {flow} (min_flow={min_flow})")
    names = partner_names(trade, [treated, *donors])
    ratios = placebo_ratios(panel, treated, donors, treatment_year, post_end)
    rank, p = rank_p(ratios, treated)
    time_ratios = placebo_ratios(panel, treated, donors, time_year, treatment_year - 1)
    time_rank, time_p = rank_p(time_ratios, treated)
    return SynthResult(
        flow=flow,
        outcome=outcome_label(flow, pre_start, treatment_year, min_flow),
        fit=fit(panel, treated, donors, treatment_year, post_end),
        names=names,
        ratios=ratios,
        rank=rank,
        p_value=p,
        time_year=time_year,
        time_ratios=time_ratios,
        time_rank=time_rank,
        time_p_value=time_p,
        floors=floor_sensitivity(panel, treated, eligible, treatment_year, post_end),
    )


def _num(value: float, digits: int) -> float | None:
    """Rounded float, or None for NaN/inf (JSON has neither)."""
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def result_dict(result: SynthResult) -> dict[str, Any]:
    """One flow's entry of ``reports/korus/evaluation.json`` (plain types, None for missing)."""
    f = result.fit
    weights = f.nonzero_weights()
    post = f.years >= f.treatment_year
    gap_by_year = [
        {
            "year": int(y),
            "actual": _num(a, 4),
            "synthetic": _num(s, 4),
            "gap": _num(a - s, 4),
            "gap_pct": _num(100.0 * math.expm1(a - s), 2),
        }
        for y, a, s in zip(f.years[post], f.actual[post], f.synthetic[post], strict=True)
    ]
    return {
        "outcome": result.outcome,
        "weights": {str(c): _num(w, 4) for c, w in weights.items()},
        "donor_names": {str(c): result.names[c] for c in weights},
        "n_donors": len(f.donors),
        "pre_rmspe": _num(f.pre_rmspe, 4),
        "post_rmspe": _num(f.post_rmspe, 4),
        "rmspe_ratio": _num(f.rmspe_ratio, 3),
        "rank": result.rank,
        "p_value": _num(result.p_value, 4),
        "gap_by_year": gap_by_year,
        "placebo_in_time": {
            "date": f"{result.time_year}-01-01",
            "rmspe_ratio": _num(result.time_ratios[f.treated], 3),
            "rank": result.time_rank,
            "p_value": _num(result.time_p_value, 4),
        },
        "donor_floors": [dict(row) for row in result.floors],
    }


def evaluation(
    trade: pd.DataFrame,
    exclude: Iterable[int] = FTA_PARTNERS,
    treated: int = KOREA,
    pre_start: int = 2000,
    treatment_year: int = 2012,
    post_end: int = 2018,
    time_year: int = 2008,
    min_flow: float | None = MIN_FLOW,
) -> dict[str, dict[str, Any]]:
    """``{"exports": {...}, "imports": {...}}`` for ``reports/korus/evaluation.json``.

    Each entry is :func:`result_dict` of :func:`run_flow` with the same parameters.
    """
    exclude = tuple(exclude)
    return {
        flow: result_dict(
            run_flow(
                trade,
                flow,
                exclude,
                treated,
                pre_start,
                treatment_year,
                post_end,
                time_year,
                min_flow,
            )
        )
        for flow in FLOWS
    }


# ---------------------------------------------------------------------------------------------
# Robustness: placebo filters, leave-one-out, conformal intervals, a donor-pool rule
# ---------------------------------------------------------------------------------------------
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
