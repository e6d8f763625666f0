"""Check the quantitative statements of the seed policy report against the project's data.

The claims live in ``data/external/claims.csv`` (one row per statement, in our own words,
with the stated number, its precision, how to compare, the source and a *declared
computation*). No computed number is typed into that file: every ``computation`` names a
function registered in :data:`COMPUTATIONS`, which reads the value from the data at run time
(the cleaned Census table, World Bank WDI, or a reference TSV whose figures were typed by
their publishers). :func:`verdict` is the one tolerance rule; :data:`RULE_TEXT` states it.

Computation syntax: ``name(key=value, key=value)``; values are plain tokens (no commas or
parentheses) converted with the function's type annotations.
"""

from __future__ import annotations

import inspect
import math
import re
import typing
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.claims.computations import (  # noqa: F401 - the context and results are part of this API
    COMPUTATIONS,
    REVISION_TOLERANCES,
    ClaimsContext,
    Computed,
    RevisionTolerance,
    _complete_years,
    _rank,
    load_revision_tolerances,
    optional_dir,
)
from analysis.errors import DataError, ParameterError
from analysis.fileio import write_atomic
from analysis.models.comparison import partner_name
from analysis.report.fmt import number
from analysis.vocab import VERDICTS  # noqa: F401 - re-exported: the verdicts this check gives

#: Columns of ``data/external/claims.csv``, in this order.
CLAIM_COLUMNS: tuple[str, ...] = (
    "id", "claim", "section", "stated", "unit", "rounding", "comparison", "source", "computation", "note",
)  # fmt: skip
#: Columns of the evaluated table (``reports/claims.csv``), in this order.
RESULT_COLUMNS: tuple[str, ...] = (
    "id",
    "claim",
    "stated",
    "computed",
    "unit",
    "verdict",
    "basis",
    "note",
    "verdict_range",
)

#: What a verdict rests on: ``data`` (an official series: Census, WDI, the Census API, the
#: product table),
#: ``arithmetic`` (the report's own figures recomputed), ``reference`` (a compiled table of
#: figures from trade-press or agency pages), ``none`` (no source holds the number). Only
#: ``data`` verdicts say whether the data support a claim.
BASES: tuple[str, ...] = ("data", "arithmetic", "reference", "none")


def basis(source: str) -> str:
    """The basis of a claim's check from its declared ``source`` (see :data:`BASES`)."""
    kind = str(source).strip().split(":", 1)[0]
    if kind in {"census", "wdi", "census+wdi", "census-api", "products"}:
        return "data"
    return {"report": "arithmetic", "reference": "reference"}.get(kind, "none")


COMPARISONS: tuple[str, ...] = ("eq", "approx", "gt", "lt", "ge", "le")
#: Relative band of ``approx`` ("nearly", "about"): within 10 % of the stated value.
APPROX_BAND: float = 0.10
_EPS = 1e-9

#: Claims this project must check (the brief's list).
REQUIRED_IDS: tuple[str, ...] = (
    "deficit_2011", "deficit_2015", "exports_decline_after_2011", "gdp_growth_2018", "trade_gdp_2018",
    "steel_quota_70pct", "steel_drop_2018", "autos_share_2018", "ag_exports_2018", "us_china_share",
)  # fmt: skip

RULE_TEXT: str = (
    "Each claim's stated number is compared with a value computed from the data at run time. "
    "'eq' (a figure stated to a precision r, e.g. 13.2 with r = 0.1): supported when "
    "|computed - stated| <= r/2, i.e. when the computed value rounds to the stated figure; "
    "both ends of that interval count (13.15 and 13.25 are consistent with 13.2), so no "
    "rounding convention is penalised. 'gt' / 'lt' ('more than' / 'less than'): supported "
    "when the computed value is strictly above / below the stated threshold ('ge' / 'le' "
    "allow equality). 'approx' ('nearly', 'about'): supported when the computed value is "
    f"within +/-{APPROX_BAND:.0%} of the stated value. Otherwise the verdict is "
    "'contradicted', unless a value within one documented revision of the computed one "
    "(the indicator's revision size, data/external/revision_tolerances.csv, with its source) "
    "would support the claim: then the verdict is 'within revision', not counted as "
    "contradicted, since the report may have quoted an earlier vintage of the same figure. "
    "A claim whose reading needs a chosen end year is also judged at the other end years a "
    "reader could take, and the range of verdicts is shown beside it. "
    "When the sources cannot give the number (not in the data, another "
    "period, or a source that is not available), the verdict is 'not checkable' and the note "
    "says why. Each verdict has a basis: official data, the report's own arithmetic, or a "
    "compiled reference table; only data checks count as supported or contradicted."
)

_SOURCE = re.compile(
    r"^(census|wdi|census\+wdi|products|report|none|reference:[\w.\-]+|census-api:[\w.\-]+)$"
)
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_CALL = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*\((.*)\)\s*$", re.S)
_ARG = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*=\s*([^,()=\s]+)\s*$")


# ---------------------------------------------------------------------------------------------
# The tolerance rule
# ---------------------------------------------------------------------------------------------
def _holds(stated: float, low: float, high: float, rounding: float, comparison: str) -> bool:
    """Whether some value in ``[low, high]`` supports the claim (a point when equal)."""
    if comparison == "eq":
        return low - _EPS <= stated + rounding / 2 and high + _EPS >= stated - rounding / 2
    if comparison == "approx":
        band = APPROX_BAND * abs(stated)
        return low - _EPS <= stated + band and high + _EPS >= stated - band
    if comparison == "gt":
        return high > stated
    if comparison == "lt":
        return low < stated
    if comparison == "ge":
        return high >= stated
    return low <= stated  # le


def verdict(
    stated: float,
    computed: float | None,
    rounding: float,
    comparison: str,
    band: tuple[float, float] | None = None,
) -> str:
    """``supported``, ``contradicted``, ``within_revision`` or ``not_checkable`` (see
    :data:`RULE_TEXT`). ``band``: the values within one documented revision of ``computed``;
    a claim the point value contradicts but some value of the band supports is
    ``within_revision``."""
    if comparison not in COMPARISONS:
        raise ParameterError(f"comparison {comparison!r}: expected one of {', '.join(COMPARISONS)}")
    if computed is None or (isinstance(computed, float) and math.isnan(computed)):
        return "not_checkable"
    stated, computed, rounding = float(stated), float(computed), float(rounding)
    if _holds(stated, computed, computed, rounding, comparison):
        return "supported"
    if band is not None and _holds(stated, float(band[0]), float(band[1]), rounding, comparison):
        return "within_revision"
    return "contradicted"


def verdict_range(
    stated: float, rounding: float, comparison: str, alternatives: tuple[tuple[str, float], ...]
) -> str:
    """The verdict at each alternative end year, grouped: ``""`` without alternatives, else
    e.g. ``"supported for end year 2012 (−2.71), 2016 (−2.76); contradicted for 2014
    (+2.73)"`` (values in the claim's unit)."""
    if not alternatives:
        return ""
    groups: dict[str, list[str]] = {}
    for label, value in alternatives:
        v = verdict(stated, value, rounding, comparison)
        groups.setdefault(v, []).append(f"{label} ({number(value, 2, sign=True)})")
    if len(groups) == 1:
        ((v, items),) = groups.items()
        return f"{v.replace('_', ' ')} for every end year: {', '.join(items)}"
    return "depends on the end year: " + "; ".join(
        f"{v.replace('_', ' ')} for {', '.join(items)}" for v, items in groups.items()
    )


# ---------------------------------------------------------------------------------------------
# Parsing and validating the claims file
# ---------------------------------------------------------------------------------------------
def _convert(raw: str, kind: object, what: str) -> object:
    if kind is bool:
        if raw.lower() in {"true", "1", "yes"}:
            return True
        if raw.lower() in {"false", "0", "no"}:
            return False
        raise ValueError(f"{what}={raw!r} is not a boolean")
    if kind is int:
        if not re.fullmatch(r"-?\d+", raw):
            raise ValueError(f"{what}={raw!r} is not an integer")
        return int(raw)
    if kind is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{what}={raw!r} is not a number") from None
    return raw


def parse_computation(text: str) -> tuple[str, dict[str, object]]:
    """Parse ``name(key=value, ...)`` into the registered name and converted arguments.

    Raises ``ValueError`` (with the reason) for bad syntax, an unknown name, unknown or
    missing arguments, or a value of the wrong type.
    """
    m = _CALL.match(text or "")
    if not m:
        raise ValueError(f"computation {text!r} is not of the form name(key=value, ...)")
    name, body = m.group(1), m.group(2).strip()
    if name not in COMPUTATIONS:
        raise ValueError(
            f"computation {name!r} is not registered (known: {', '.join(sorted(COMPUTATIONS))})"
        )
    func = COMPUTATIONS[name]
    hints = typing.get_type_hints(func)
    params = {k: p for k, p in inspect.signature(func).parameters.items() if k != "ctx"}
    args: dict[str, object] = {}
    for part in [p for p in body.split(",") if p.strip()] if body else []:
        a = _ARG.match(part)
        if not a:
            raise ValueError(f"argument {part.strip()!r} of {name} is not key=value")
        key, raw = a.group(1), a.group(2)
        if key not in params:
            raise ValueError(f"{name} has no argument {key!r} (has: {', '.join(params) or 'none'})")
        if key in args:
            raise ValueError(f"{name}: argument {key!r} given twice")
        args[key] = _convert(raw, hints.get(key, str), key)
    missing = [
        k for k, p in params.items() if p.default is inspect.Parameter.empty and k not in args
    ]
    if missing:
        raise ValueError(f"{name} needs {', '.join(missing)}")
    return name, args


def load_claims(path: str | Path) -> pd.DataFrame:
    """Read and validate the claims file; ``DataError`` (naming the file and row) otherwise.

    Checks: the columns are :data:`CLAIM_COLUMNS` in order; ids are unique lower-case
    identifiers; ``stated`` and ``rounding`` are numbers (``rounding > 0``); ``comparison`` is
    one of :data:`COMPARISONS`; ``source`` is ``census``, ``wdi``, ``census+wdi``, ``products``,
    ``reference:<file>``, ``census-api:<file>``, ``report`` or ``none``; ``computation`` parses
    and is registered with valid arguments. ``stated`` and ``rounding`` become floats.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "claims file not found")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(path, f"not a readable CSV ({type(exc).__name__})") from None
    if tuple(df.columns) != CLAIM_COLUMNS:
        raise DataError(
            path,
            f"columns must be {','.join(CLAIM_COLUMNS)}; found {','.join(map(str, df.columns))}",
        )
    if df.empty:
        raise DataError(path, "no claims")
    dup = df["id"][df["id"].duplicated()]
    if not dup.empty:
        raise DataError(path, f"id {dup.iloc[0]!r} appears more than once")
    stated, rounding = [], []
    for i, row in enumerate(df.itertuples(index=False), start=2):
        where = f"line {i} (id {row.id!r})"
        if not _ID.match(row.id):
            raise DataError(path, f"{where}: id must be lower-case letters, digits and _")
        if not row.claim.strip() or not row.section.strip():
            raise DataError(path, f"{where}: empty claim or section")
        try:
            s, r = float(row.stated), float(row.rounding)
        except ValueError:
            raise DataError(path, f"{where}: stated and rounding must be numbers") from None
        if not (math.isfinite(s) and math.isfinite(r) and r > 0):
            raise DataError(path, f"{where}: stated must be finite and rounding > 0")
        if row.comparison not in COMPARISONS:
            raise DataError(
                path, f"{where}: comparison {row.comparison!r} not in {', '.join(COMPARISONS)}"
            )
        if not _SOURCE.match(row.source):
            raise DataError(
                path,
                f"{where}: source {row.source!r} not census, wdi, census+wdi, products, reference:<file>, census-api:<file>, report or none",
            )
        try:
            name, _ = parse_computation(row.computation)
        except ValueError as exc:
            raise DataError(path, f"{where}: {exc}") from None
        if (name == "none") != (row.source == "none"):
            raise DataError(
                path, f"{where}: source 'none' goes with computation none() and only with it"
            )
        stated.append(s)
        rounding.append(r)
    df["stated"] = stated
    df["rounding"] = rounding
    return df


# ---------------------------------------------------------------------------------------------
# Evaluation and output
# ---------------------------------------------------------------------------------------------
def evaluate(claims: pd.DataFrame, context: ClaimsContext) -> pd.DataFrame:
    """Run every claim's computation and apply :func:`verdict`.

    Returns :data:`RESULT_COLUMNS` in the claims' order; ``computed`` is NaN when not
    checkable; ``note`` is the claim's note followed by the computation's run-time detail.
    """
    rows = []
    for row in claims.itertuples(index=False):
        name, args = parse_computation(row.computation)
        result = COMPUTATIONS[name](context, **args)
        v = verdict(row.stated, result.value, row.rounding, row.comparison, result.band)
        note = str(row.note).strip()
        if result.detail:
            note = f"{note} Computed: {result.detail}." if note else f"Computed: {result.detail}."
        if v == "within_revision" and result.band is not None:
            lo, hi = (number(x, 0 if float(x).is_integer() else 2) for x in result.band)
            note = (
                f"{note} Within revision: {result.tolerance}; within one revision the computed "
                f"value could be anywhere from {lo} to {hi}, which includes values that support "
                "the claim."
            ).strip()
        rows.append(
            {
                "id": row.id,
                "claim": row.claim,
                "stated": float(row.stated),
                "computed": float("nan") if result.value is None else float(result.value),
                "unit": row.unit,
                "verdict": v,
                "basis": basis(row.source),
                "note": note,
                "verdict_range": verdict_range(
                    row.stated, row.rounding, row.comparison, result.alternatives
                ),
            }
        )
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def write_results(results: pd.DataFrame, path: str | Path) -> Path:
    """Write the evaluated claims as CSV, atomically and deterministically (6 significant
    digits, ``\\n`` line ends, no index)."""
    if tuple(results.columns) != RESULT_COLUMNS:
        raise ParameterError(f"results must have columns {','.join(RESULT_COLUMNS)}")
    return write_atomic(
        path,
        lambda p: results.to_csv(
            p, index=False, float_format="%.6g", lineterminator="\n", encoding="utf-8"
        ),
    )


def deficit_outlook(
    trade: pd.DataFrame, partner: int = config.DEFAULT_PARTNER, year: int = 2015
) -> dict[str, object]:
    """Compare one year's U.S. deficit with the partner against the later complete years.

    Returns the partner name, the year's deficit (US$ millions, positive = deficit), the
    number of later complete years and how many exceed it, the largest later year and value,
    and the last month in the data.
    """
    deficit = -_complete_years(trade, partner, "balance")
    if year not in deficit.index:
        raise ParameterError(f"year {year}: not a complete year for partner {partner}")
    later = deficit[deficit.index > year]
    last = trade.loc[trade["partner_code"] == partner, "date"].max()
    return {
        "partner": partner_name(trade, partner),
        "year": year,
        "deficit": float(deficit.loc[year]),
        "later_years": len(later),
        "later_larger": int((later > deficit.loc[year]).sum()),
        "max_year": int(later.idxmax()) if not later.empty else None,
        "max_deficit": float(later.max()) if not later.empty else None,
        "data_through": f"{last:%Y-%m}",
    }
