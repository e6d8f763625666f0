"""Real-time re-estimation: the KORUS trend models on the data as published in 2017 and as now."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from analysis.clean import series as ser
from analysis.clean import table as clean_table
from analysis.models.run import ModelRun, run_models
from analysis.sources import census_vintage, fetch
from analysis.vocab import SERIES_LABELS  # noqa: F401 - re-exported for the vintages page

#: Labels of the two vintages compared, oldest first.
OLD, NEW = "2017 vintage", "current"
ALPHA = 0.05
#: Relative move of an estimate counted as a change (10 % of the larger of the two).
REL_CHANGE = 0.10


def clean_vintage(raw_path: str | Path, out_dir: str | Path) -> clean_table.CleanResult:
    """Clean the 2016 Census table (``census_2016``) into ``out_dir`` with the current cleaning.

    One adjustment: :func:`analysis.clean.table.run` verifies a ``data/raw/`` file as the
    ``census`` source (``country.xlsx``), which this file is not; it is verified here as
    ``census_2016`` (sha256 and content) and then cleaned without the second check."""
    with fetch.checked_use(census_vintage.SOURCE_ID, raw_path):
        return clean_table.run(raw_path, out_dir, verify=False)


def fit_both(
    trades: Mapping[str, pd.DataFrame],
    partner: int,
    breaks: Sequence[str],
    start: str,
    end: str,
    *,
    n_boot: int = 199,
    n_sim: int = 200,
) -> dict[str, ModelRun]:
    """:func:`analysis.models.run.run_models` on each vintage's partner series over ``start..end``
    (without X-13, which the comparison does not read)."""
    return {
        label: run_models(
            ser.partner_monthly(trade, partner, start, end),
            breaks=list(breaks),
            n_boot=n_boot,
            n_sim=n_sim,
            x13=False,
        )
        for label, trade in trades.items()
    }


def _estimates(run: ModelRun) -> dict[tuple[str, str, str], float | str | None]:
    """``(series, estimate, kind) -> value``; kind is ``pct``, ``mn``, ``p`` or ``date``."""
    out: dict[tuple[str, str, str], float | str | None] = {}
    for col, its in run.its.items():
        e = its.effects[0]
        unit = "pct" if e.log else "mn"
        hac, boot = e.pvalues("hac"), e.pvalues("boot")
        out[
            (col, "level change at the break" + (" (%)" if e.log else " (US$ mn a month)"), unit)
        ] = e.pct_level_change if e.log else e.level_change
        out[
            (
                col,
                "trend change" + (" (% a year)" if e.log else " (US$ mn a month, per year)"),
                unit,
            )
        ] = e.pct_slope_change_per_year if e.log else e.slope_change_per_year
        out[(col, "level change: p-value (HAC)", "p")] = hac[0] if hac else None
        out[(col, "trend change: p-value (HAC)", "p")] = hac[1] if hac else None
        out[(col, "level change: p-value (bootstrap)", "p")] = boot[0] if boot else None
        out[(col, "trend change: p-value (bootstrap)", "p")] = boot[1] if boot else None
        if its.tests:
            out[(col, "joint test of the break: p-value (bootstrap)", "p")] = its.tests[0].p_value
    for col, s in run.searches.items():
        out[(col, "break search: month of the largest Wald statistic", "date")] = s.sup_month
        out[(col, "break search: p-value (bootstrap)", "p")] = s.p_value
    return out


def changed(a: float | str | None, b: float | str | None, kind: str) -> str:
    """Whether an estimate changed between vintages: ``"yes: ..."`` with the reason, or ``"no"``.

    p-values change when they fall on different sides of 5 %; estimates when their sign flips or
    they move by more than :data:`REL_CHANGE` of the larger; dates when they differ."""
    if a is None or b is None:
        return "n/a" if a is None and b is None else "yes: estimated in one vintage only"
    if kind == "date":
        return "no" if a == b else "yes: another month"
    x, y = float(a), float(b)
    if not (math.isfinite(x) and math.isfinite(y)):
        return "n/a"
    if kind == "p":
        return "yes: crosses 5 %" if (x < ALPHA) != (y < ALPHA) else "no"
    if x * y < 0:
        return "yes: sign"
    return "yes: moved > 10 %" if abs(y - x) > REL_CHANGE * max(abs(x), abs(y)) else "no"


def compare(runs: Mapping[str, ModelRun]) -> pd.DataFrame:
    """One row per estimate: ``series, estimate, kind, old, new, changed`` (``OLD`` vs ``NEW``)."""
    old, new = _estimates(runs[OLD]), _estimates(runs[NEW])
    rows = [
        {
            "series": s,
            "estimate": name,
            "kind": kind,
            "old": old.get(key),
            "new": new.get(key),
            "changed": changed(old.get(key), new.get(key), kind),
        }
        for key in dict.fromkeys([*old, *new])
        for s, name, kind in [key]
    ]
    return pd.DataFrame(rows, columns=["series", "estimate", "kind", "old", "new", "changed"])
