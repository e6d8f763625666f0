"""The computations a claim can declare, and the context they read (data, WDI, references).

Each computation takes the :class:`ClaimsContext` and keyword arguments parsed from the claim's
``computation`` cell, and returns a :class:`Computed` (the value, or None with the reason it
cannot be computed). To add one: a function here and a line in :data:`COMPUTATIONS`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.claims import products as product_claims
from analysis.clean.series import load_trade
from analysis.errors import DataError, ParameterError
from analysis.models.comparison import annual_totals
from analysis.models.sectors import load_products
from analysis.report.fmt import number, significant
from analysis.sources.census_api import read_hs2_imports
from analysis.sources.steel_reference import read_reference_table
from analysis.sources.wdi import read_wdi, wdi_series, wdi_value

# ---------------------------------------------------------------------------------------------
# Documented revision sizes
# ---------------------------------------------------------------------------------------------
#: The documented revision size of each indicator a claim uses, with its source (one row an
#: indicator; read by :func:`load_revision_tolerances` only).
REVISION_TOLERANCES: Path = config.EXTERNAL_DIR / "revision_tolerances.csv"
_TOLERANCE_COLUMNS: tuple[str, ...] = ("indicator", "kind", "tolerance", "unit", "source", "note")


@dataclass(frozen=True)
class RevisionTolerance:
    """How far a published value of ``indicator`` may move between vintages: ``absolute``
    (plus or minus ``tolerance`` in the indicator's units) or ``relative`` (times one plus or
    minus ``tolerance``), with the ``source`` that documents it."""

    indicator: str
    kind: str
    tolerance: float
    unit: str
    source: str

    def band(self, value: float) -> tuple[float, float]:
        """The values within one revision of ``value``."""
        if self.kind == "absolute":
            return value - self.tolerance, value + self.tolerance
        a, b = value * (1 - self.tolerance), value * (1 + self.tolerance)
        return min(a, b), max(a, b)

    def text(self) -> str:
        """The tolerance in words, for a claim's note."""
        size = (
            f"±{number(self.tolerance, 2)} {self.unit}"
            if self.kind == "absolute"
            else f"±{number(100 * self.tolerance, 1)} % of the value"
        )
        return f"documented revision size of {self.indicator}: {size} ({self.source})"


def load_revision_tolerances(path: str | Path) -> dict[str, RevisionTolerance]:
    """Indicator -> :class:`RevisionTolerance` from ``data/external/revision_tolerances.csv``.

    ``DataError`` naming the file when it is missing or unreadable, its columns differ from
    ``indicator, kind, tolerance, unit, source, note``, an indicator repeats, a kind is not
    ``absolute``/``relative``, a tolerance is not a positive number (below 1 when relative) or
    a source is empty.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "revision tolerance file not found")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(path, f"not a readable CSV ({type(exc).__name__})") from None
    if tuple(table.columns) != _TOLERANCE_COLUMNS:
        raise DataError(path, f"columns must be {','.join(_TOLERANCE_COLUMNS)}")
    out: dict[str, RevisionTolerance] = {}
    for i, row in enumerate(table.itertuples(index=False), start=2):
        where = f"line {i} ({row.indicator!r})"
        if row.indicator in out:
            raise DataError(path, f"{where}: indicator repeated")
        if row.kind not in {"absolute", "relative"}:
            raise DataError(path, f"{where}: kind must be absolute or relative")
        try:
            tol = float(row.tolerance)
        except ValueError:
            raise DataError(path, f"{where}: tolerance is not a number") from None
        if not (tol > 0 and (row.kind == "absolute" or tol < 1)):
            raise DataError(path, f"{where}: tolerance must be positive (below 1 when relative)")
        if not row.source.strip():
            raise DataError(path, f"{where}: no source")
        out[row.indicator] = RevisionTolerance(row.indicator, row.kind, tol, row.unit, row.source)
    return out


# ---------------------------------------------------------------------------------------------
# Context: where the computations find their data
# ---------------------------------------------------------------------------------------------
@dataclass
class ClaimsContext:
    """Data the computations may use; a source that is absent has a reason in ``unavailable``.

    ``trade`` is the cleaned monthly Census table (``date`` as datetime), ``wdi`` the long WDI
    table of :func:`analysis.sources.wdi.read_wdi`, ``reference_dir`` the folder of reference
    TSVs, ``census_api_dir`` the folder of Census API extracts and ``products`` the product
    table (``data/processed/trade_hs_monthly.csv``; all three optional).
    """

    trade: pd.DataFrame | None = None
    wdi: pd.DataFrame | None = None
    reference_dir: Path | None = None
    census_api_dir: Path | None = None
    unavailable: dict[str, str] = field(default_factory=dict)
    products: pd.DataFrame | None = None
    tolerances: dict[str, RevisionTolerance] = field(default_factory=dict)

    @classmethod
    def from_paths(
        cls,
        data_path: str | Path,
        wdi_path: str | Path,
        reference_dir: str | Path | None = None,
        census_api_dir: str | Path | None = None,
        products_path: str | Path | None = None,
        tolerances_path: str | Path | None = REVISION_TOLERANCES,
    ) -> ClaimsContext:
        """Load the cleaned trade table and WDI (both required: ``DataError`` if missing);
        the optional folders and product table are recorded as unavailable (with the reason)
        when absent. ``tolerances_path``: the documented revision sizes
        (:func:`load_revision_tolerances`; None: no tolerance, every verdict on the point value)."""
        ctx = cls(trade=load_trade(data_path), wdi=read_wdi(wdi_path))
        if tolerances_path is not None:
            ctx.tolerances = load_revision_tolerances(tolerances_path)
        ctx.products = load_products(products_path) if products_path is not None else None
        if ctx.products is None:
            ctx.unavailable["products"] = (
                f"the product table {config.display_path(products_path)} does not exist (make products)"
                if products_path is not None
                else "no product table given"
            )
        for key, folder in (("reference", reference_dir), ("census-api", census_api_dir)):
            if folder is None:
                ctx.unavailable[key] = (
                    f"the {key} folder is not available (make data takes it from the data mirror only, "
                    f"{config.MIRROR_ENV})"
                )
            elif not Path(folder).is_dir():
                ctx.unavailable[key] = (
                    f"the {key} folder {config.display_path(folder)} does not exist"
                )
            else:
                setattr(
                    ctx, "reference_dir" if key == "reference" else "census_api_dir", Path(folder)
                )
        return ctx


def optional_dir(value: str | Path | None, mirror_subdir: str = "") -> Path | None:
    """Resolve an optional input folder parameter: a non-empty ``value`` as given (relative
    paths against ``config.ROOT``), an empty one None (the computations then report the
    source as unavailable).

    Never the data mirror: files are read where ``make data`` put and verified them
    (``data/raw/``), so a run by hand gives the pipeline's verdicts whether or not
    ``$ANALYSIS_DATA_MIRROR`` is set (``mirror_subdir`` is kept for old callers, unused).
    """
    text = str(value).strip() if value is not None else ""
    return config.from_root(Path(text).expanduser()) if text else None


@dataclass(frozen=True)
class Computed:
    """A computation's result: the value (None when not checkable) and a run-time detail."""

    value: float | None
    detail: str = ""
    #: The values the computation takes when its inputs move by one documented revision
    #: (``(low, high)``), and the tolerance in words; None when no tolerance applies.
    band: tuple[float, float] | None = None
    tolerance: str = ""
    #: The value under each alternative reading of a chosen parameter (e.g. ``("2014",
    #: 2.73)`` for another end year), the chosen one included, in order.
    alternatives: tuple[tuple[str, float], ...] = ()


# ---------------------------------------------------------------------------------------------
# Registered computations
# ---------------------------------------------------------------------------------------------
def _need_trade(ctx: ClaimsContext) -> pd.DataFrame | Computed:
    if ctx.trade is None:
        return Computed(
            None, ctx.unavailable.get("census", "the cleaned Census table is not available")
        )
    return ctx.trade


def _need_wdi(ctx: ClaimsContext) -> pd.DataFrame | Computed:
    if ctx.wdi is None:
        return Computed(
            None, ctx.unavailable.get("wdi", "the World Bank WDI file is not available")
        )
    return ctx.wdi


def _complete_years(trade: pd.DataFrame, partner: int, flow: str) -> pd.Series:
    annual = annual_totals(trade, [partner])
    annual = annual[annual["complete"]]
    return annual.set_index("year")[flow].astype(float)


def census_annual(
    ctx: ClaimsContext,
    *,
    partner: int,
    year: int,
    flow: str,
    scale: float = 1.0,
    later: bool = False,
) -> Computed:
    """Annual sum of ``flow`` (US$ millions) for ``partner`` in ``year``, times ``scale``.

    None when the year is not complete. With ``later=true`` the detail compares the value
    with every later complete year in the data (how many exceed it, and the largest).
    """
    trade = _need_trade(ctx)
    if isinstance(trade, Computed):
        return trade
    series = _complete_years(trade, partner, flow) * scale
    if year not in series.index:
        return Computed(
            None, f"{year} is not a complete year of {flow} for partner {partner} in the data"
        )
    value = float(series.loc[year])
    detail = ""
    if later:
        after = series[series.index > year]
        if after.empty:
            detail = f"no complete year after {year} in the data"
        else:
            top_year = int(after.idxmax())
            bigger = after[after > value]
            detail = (
                f"in the complete years after {year} (to {int(after.index.max())}), {len(bigger)} of "
                f"{len(after)} exceed it; the largest is {top_year} at {number(float(after.max()))} (claim's unit), "
                f"{number(float(after.max()) / value, 2)} times the {year} value"
            )
    return Computed(value, detail)


def census_rank(
    ctx: ClaimsContext,
    *,
    partner: int,
    year: int,
    flow: str,
    start: int,
    end: int,
    scale: float = 1.0,
    order: str = "desc",
) -> Computed:
    """Rank of ``year`` among the complete years ``start..end`` of ``flow * scale``.

    ``order="desc"``: 1 = largest; ``"asc"``: 1 = smallest. Ties share the better rank.
    """
    trade = _need_trade(ctx)
    if isinstance(trade, Computed):
        return trade
    series = (_complete_years(trade, partner, flow) * scale).loc[start:end]
    if year not in series.index or len(series) != end - start + 1:
        return Computed(None, f"the years {start}-{end} are not all complete in the data")
    unit = "US$ millions" if abs(scale) == 1 else f"US$ millions x {abs(scale):g}"
    return _rank(series, year, order, unit)


def _rank(
    series: pd.Series, year: int, order: str, unit: str, tol: RevisionTolerance | None = None
) -> Computed:
    """Rank of ``year`` in ``series`` (ties share the better rank). With a tolerance, the band
    is the range of ranks when two years whose values differ by no more than one documented
    revision (``tol``, applied to the larger of the two) may fall either way."""
    if order not in {"asc", "desc"}:
        raise ParameterError(f"order {order!r}: expected 'asc' or 'desc'")
    value = float(series.loc[year])
    better = series < value if order == "asc" else series > value
    ranked = series.sort_values(ascending=(order == "asc"), kind="mergesort")
    top = ", ".join(f"{int(y)} {number(float(v), 2)}" for y, v in ranked.head(3).items())
    which = "smallest" if order == "asc" else "largest"
    detail = f"{which} first in {int(series.index.min())}-{int(series.index.max())} ({unit}): {top}"
    rank = float(int(better.sum()) + 1)
    if tol is None:
        return Computed(rank, detail)
    others = series.drop(index=year).astype(float)
    if tol.kind == "absolute":
        close = (others - value).abs() <= tol.tolerance + 1e-12
    else:
        close = (others - value).abs() <= tol.tolerance * others.abs().clip(lower=abs(value))
    ahead = others < value if order == "asc" else others > value
    best = 1 + int((ahead & ~close).sum())
    worst = 1 + int((ahead | close).sum())
    return Computed(rank, detail, band=(float(best), float(worst)), tolerance=tol.text())


def census_pct_change(
    ctx: ClaimsContext, *, partner: int, flow: str, base: int, year: int, ends: str = ""
) -> Computed:
    """Percent change of annual ``flow`` from ``base`` to ``year``; the detail lists every year.

    ``ends``: other end years a reader could take for the claim, ``+``-separated (e.g.
    ``2012+2013+2014+2015+2016``); their changes become the result's ``alternatives`` (the
    chosen ``year`` included), so the verdict can show whether it depends on the end year.
    """
    trade = _need_trade(ctx)
    if isinstance(trade, Computed):
        return trade
    series = _complete_years(trade, partner, flow)
    if base not in series.index or year not in series.index:
        return Computed(None, f"{base} or {year} is not a complete year of {flow} in the data")
    pct = 100.0 * (series / series.loc[base] - 1.0)
    end = max(year, *_years(ends)) if ends else year
    span = pct.loc[base + 1 : end] if end > base else pct.loc[year:base]
    detail = f"change against {base}: " + ", ".join(
        f"{int(y)} {number(float(v), 2, sign=True)} %" for y, v in span.items()
    )
    alternatives = tuple(
        (str(y), float(pct.loc[y])) for y in sorted({year, *_years(ends)}) if y in pct.index
    )
    return Computed(float(pct.loc[year]), detail, alternatives=alternatives if ends else ())


def _years(text: str) -> list[int]:
    """``"2014+2015"`` -> ``[2014, 2015]``; ``ParameterError`` for anything but years."""
    parts = [p.strip() for p in str(text).split("+") if p.strip()]
    if not all(p.isdigit() and len(p) == 4 for p in parts):
        raise ParameterError(f"end years {text!r}: expected years joined by '+'")
    return [int(p) for p in parts]


def _wdi_series(wdi: pd.DataFrame, indicator: str) -> pd.Series:
    """The indicator's series, empty when WDI does not have it (the claim is then not checkable)."""
    if not (wdi["indicator_code"] == indicator).any():
        return pd.Series(dtype=float)
    return wdi_series(wdi, indicator)


def wdi_indicator(ctx: ClaimsContext, *, indicator: str, year: int) -> Computed:
    """Value of a WDI indicator in ``year``."""
    wdi = _need_wdi(ctx)
    if isinstance(wdi, Computed):
        return wdi
    value = wdi_value(wdi, indicator, year)
    if value is None:
        return Computed(None, f"WDI has no {indicator} value for {year}")
    tol = ctx.tolerances.get(indicator)
    if tol is None:
        return Computed(value)
    return Computed(value, band=tol.band(value), tolerance=tol.text())


def wdi_change(ctx: ClaimsContext, *, indicator: str, base: int, year: int) -> Computed:
    """Change of a WDI indicator from ``base`` to ``year`` (in the indicator's units)."""
    wdi = _need_wdi(ctx)
    if isinstance(wdi, Computed):
        return wdi
    a, b = wdi_value(wdi, indicator, base), wdi_value(wdi, indicator, year)
    if a is None or b is None:
        return Computed(None, f"WDI lacks {indicator} for {base} or {year}")
    s = _wdi_series(wdi, indicator).loc[base : year + 1]
    detail = "values: " + ", ".join(f"{int(y)} {number(float(v), 2)}" for y, v in s.items())
    tol = ctx.tolerances.get(indicator)
    if tol is None or tol.kind != "absolute":
        return Computed(b - a, detail)
    # one documented revision of the difference, as for ranks (see _rank)
    return Computed(b - a, detail, band=tol.band(b - a), tolerance=tol.text())


def wdi_rank(
    ctx: ClaimsContext, *, indicator: str, year: int, start: int, end: int, order: str = "asc"
) -> Computed:
    """Rank of ``year`` among ``start..end`` for a WDI indicator (``asc``: 1 = lowest)."""
    wdi = _need_wdi(ctx)
    if isinstance(wdi, Computed):
        return wdi
    s = _wdi_series(wdi, indicator).loc[start:end]
    if year not in s.index or len(s) != end - start + 1:
        return Computed(None, f"WDI lacks {indicator} for some of {start}-{end}")
    return _rank(s, year, order, "WDI units", ctx.tolerances.get(indicator))


def wdi_min(ctx: ClaimsContext, *, indicator: str, start: int, end: int) -> Computed:
    """Smallest value of a WDI indicator over ``start..end`` (detail: its year)."""
    wdi = _need_wdi(ctx)
    if isinstance(wdi, Computed):
        return wdi
    s = _wdi_series(wdi, indicator).loc[start:end]
    if len(s) != end - start + 1:
        return Computed(None, f"WDI lacks {indicator} for some of {start}-{end}")
    tol = ctx.tolerances.get(indicator)
    low = float(s.min())
    if tol is None:
        return Computed(low, f"smallest in {int(s.idxmin())}")
    return Computed(low, f"smallest in {int(s.idxmin())}", band=tol.band(low), tolerance=tol.text())


def export_share_us_part(
    ctx: ClaimsContext, *, partner: int, year: int, indicator: str = "TX.VAL.MRCH.CD.WT"
) -> Computed:
    """Partly checkable share: only the U.S. part of the partner's exports is in the sources.

    Returns no value (not checkable). The detail gives the U.S. part, approximated as Census
    U.S. general imports from the partner (US$ millions) over the partner's total merchandise
    exports in WDI (current US$), and the share the rest of the claim would need.
    """
    trade = _need_trade(ctx)
    wdi = _need_wdi(ctx)
    for src in (trade, wdi):
        if isinstance(src, Computed):
            return src
    assert isinstance(trade, pd.DataFrame) and isinstance(wdi, pd.DataFrame)
    series = _complete_years(trade, partner, "imports")
    total = wdi_value(wdi, indicator, year)
    if year not in series.index or total is None:
        return Computed(None, f"Census imports or WDI {indicator} missing for {year}")
    us = 100.0 * float(series.loc[year]) * 1e6 / total
    return Computed(
        None,
        f"U.S. part only: Census U.S. imports from partner {partner} in {year} are {number(us)} % of its "
        f"WDI merchandise exports (U.S. customs value vs exporter's f.o.b. value, so approximate); "
        f"the other partner's part is not in the sources",
    )


def _reference_table(ctx: ClaimsContext, file: str) -> pd.DataFrame | Computed:
    if ctx.reference_dir is None:
        return Computed(
            None, ctx.unavailable.get("reference", "the reference folder is not available")
        )
    path = ctx.reference_dir / file
    if not path.is_file():
        return Computed(None, f"reference file {file} not found in {ctx.reference_dir}")
    return read_reference_table(path)


def reference_quota_share(
    ctx: ClaimsContext,
    *,
    file: str,
    quota: str,
    start: int,
    end: int,
    column: str = "tonnes_million",
) -> Computed:
    """Quota row as a percent of the mean of the year rows ``start..end`` of a reference TSV.

    The first column holds the keys (years, and e.g. ``2018_quota``).
    """
    table = _reference_table(ctx, file)
    if isinstance(table, Computed):
        return table
    key = table.columns[0]
    if column not in table.columns:
        raise DataError(
            ctx.reference_dir / file if ctx.reference_dir else file, f"no column {column!r}"
        )
    values = table.set_index(key)[column]
    years = [str(y) for y in range(start, end + 1)]
    if quota not in values.index or any(y not in values.index for y in years):
        return Computed(None, f"{file} lacks the rows {quota} or {start}-{end}")
    base = pd.to_numeric(values.loc[years]).astype(float)
    q = float(values.loc[quota])
    return Computed(
        100.0 * q / float(base.mean()),
        f"quota {significant(q, 6, trim=True)} against a {start}-{end} average of "
        f"{number(float(base.mean()), 3)} ({column})",
    )


def stated_pct_change(ctx: ClaimsContext, *, start: float, end: float) -> Computed:
    """Percent change between two figures the report itself states (an arithmetic check)."""
    if start == 0:
        raise ParameterError("stated_pct_change: start is 0")
    return Computed(100.0 * (end / start - 1.0), "arithmetic on the report's own figures")


def _hs2(ctx: ClaimsContext) -> pd.DataFrame | Computed:
    if ctx.census_api_dir is None:
        return Computed(
            None, ctx.unavailable.get("census-api", "the Census API extracts are not available")
        )
    path = ctx.census_api_dir / "imports_hs2_by_country_2023_2024.csv.gz"
    if not path.is_file():
        return Computed(None, f"{path.name} not found in {ctx.census_api_dir}")
    return read_hs2_imports(path)


def _hs2_by_year(
    ctx: ClaimsContext, partner: int, chapter: str
) -> tuple[pd.DataFrame, str] | Computed:
    df = _hs2(ctx)
    if isinstance(df, Computed):
        return df
    rows = df[df["CTY_CODE"] == f"{partner:04d}"]
    months = rows.groupby("YEAR")["MONTH"].nunique()
    full = months.index[months == 12]
    rows = rows[rows["YEAR"].isin(full)]
    total = rows.groupby("YEAR")["GEN_VAL_MO"].sum()
    chap = rows[rows["I_COMMODITY"] == chapter].groupby("YEAR")["GEN_VAL_MO"].sum()
    out = pd.DataFrame({"chapter": chap, "total": total}).fillna(0.0)
    out.index = out.index.astype(int)
    years = ", ".join(str(y) for y in out.index)
    return out, years


def _hs2_year(
    ctx: ClaimsContext,
    partner: int,
    chapter: str,
    year: int,
    per_year: Callable[[pd.DataFrame], pd.Series],
    fmt: Callable[[float], str],
    what: str,
) -> Computed:
    """``per_year(table)`` (by year, from :func:`_hs2_by_year`) in ``year``; when the extract
    does not hold that year, no value, and the detail lists the years it holds (each value
    formatted with ``fmt``) under the label ``what``."""
    got = _hs2_by_year(ctx, partner, chapter)
    if isinstance(got, Computed):
        return got
    table, years = got
    values = per_year(table)
    if year in values.index:
        return Computed(float(values.loc[year]))
    listing = "; ".join(f"{y} {fmt(v)}" for y, v in values.items())
    return Computed(
        None,
        f"the HS2 extract covers {years or 'no complete year'}, not {year}; for information, HS {chapter} "
        f"{what}: {listing}",
    )


def hs2_share(ctx: ClaimsContext, *, partner: int, chapter: str, year: int) -> Computed:
    """Share (%) of HS2 ``chapter`` in U.S. imports from ``partner`` in ``year`` (Census API
    extract). When ``year`` is not in the extract: no value, and the detail gives the share in
    the years it holds."""
    return _hs2_year(
        ctx,
        partner,
        chapter,
        year,
        lambda t: 100.0 * t["chapter"] / t["total"],
        lambda v: f"{number(v)} %",
        f"share of U.S. imports from partner {partner}",
    )


def hs2_value(
    ctx: ClaimsContext, *, partner: int, chapter: str, year: int, scale: float = 1.0
) -> Computed:
    """U.S. imports of HS2 ``chapter`` from ``partner`` in ``year`` (US$ times ``scale``); when
    the year is not in the extract, no value and the years it holds in the detail."""
    return _hs2_year(
        ctx,
        partner,
        chapter,
        year,
        lambda t: t["chapter"] * scale,
        lambda v: number(v, 0),
        f"U.S. imports from partner {partner} (claim's unit)",
    )


def _on_products(func: Callable[..., tuple[float | None, str]]) -> Callable[..., Computed]:
    """A product-table computation of :mod:`analysis.claims.products` as a registered one
    (same signature and types, so claims parse against it)."""

    @functools.wraps(func)
    def run(ctx: ClaimsContext, **kwargs: object) -> Computed:
        return Computed(*func(ctx, **kwargs))

    return run


def not_in_sources(ctx: ClaimsContext) -> Computed:
    """No computation: the claim's number is not in any of the project's sources."""
    return Computed(None)


#: Registered computations: name -> function(ctx, **kwargs) -> Computed.
COMPUTATIONS: dict[str, Callable[..., Computed]] = {
    "census_annual": census_annual,
    "census_rank": census_rank,
    "census_pct_change": census_pct_change,
    "wdi_value": wdi_indicator,
    "wdi_change": wdi_change,
    "wdi_rank": wdi_rank,
    "wdi_min": wdi_min,
    "export_share_us_part": export_share_us_part,
    "reference_quota_share": reference_quota_share,
    "stated_pct_change": stated_pct_change,
    "hs2_share": hs2_share,
    "hs2_value": hs2_value,
    "product_share": _on_products(product_claims.share),
    "product_value": _on_products(product_claims.value),
    "product_pct_change": _on_products(product_claims.pct_change),
    "product_balance_share": _on_products(product_claims.balance_share),
    "none": not_in_sources,
}
