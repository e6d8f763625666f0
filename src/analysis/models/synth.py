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
