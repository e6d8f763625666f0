"""Revisions between vintages of U.S. trade by partner: annual totals compared, ``revisions.csv``.

Three vintages, oldest first (labels are when each was obtained or what it runs to):

* ``table-2017-01``: the Census country table as published about January 2017 (the
  ``census_2016`` source: data 1985-01..2016-11, so 2016 is not a full year);
* ``xlsx-2024-06``: the current ``country.xlsx`` (``census``: data through 2024-06);
* ``api-2025-10``: the International Trade API by-country extracts (``census_api_exports``,
  ``census_api_imports``: pulled about October 2025, after the June 2025 annual revision;
  2013-2024; US$, converted to US$ millions).

For each pair of vintages (older ``a``, newer ``b``), every partner, flow and year that both
hold as a full year (all 12 months published in that vintage) gets one row: ``partner_code,
partner, flow, year, vintage_a, vintage_b, value_a, value_b, revision, revision_pct`` with
``revision = value_b - value_a`` (US$ millions) and ``revision_pct = 100 * revision /
value_a`` (empty when ``value_a`` is 0). Partner codes: the two Census tables share theirs
(countries and aggregates); the API's countries share the tables' 4-digit codes, but its
aggregates are numbered differently, so only API rows with codes >= 1000 are compared.
``partner`` is the name in vintage ``a``. Command line::

    python -m analysis.clean.revisions [--out data/processed/revisions.csv] [--census PATH]
        [--census-2016 PATH] [--api-exports PATH] [--api-imports PATH]
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import cli, config
from analysis.clean import table as clean_table
from analysis.errors import DataError
from analysis.fileio import write_atomic
from analysis.sources import census as census_source
from analysis.sources import census_api, census_vintage, fetch
from analysis.sources.manifest import say, show

COLUMNS: tuple[str, ...] = (
    "partner_code", "partner", "flow", "year", "vintage_a", "vintage_b",
    "value_a", "value_b", "revision", "revision_pct",
)  # fmt: skip
ANNUAL_COLUMNS: tuple[str, ...] = ("partner_code", "partner", "flow", "year", "value")
FLOWS: tuple[str, ...] = ("exports", "imports")
DEFAULT_OUT: Path = config.PROCESSED_DIR / "revisions.csv"
LABEL_TABLE_2016 = "table-" + census_vintage.VINTAGE_LABEL
LABEL_XLSX = "xlsx-2024-06"
LABEL_API = "api-2025-10"
COUNTRY_CODE_MIN = 1000
DECIMALS = 6


@dataclass(frozen=True)
class Vintage:
    """A vintage: its label and its annual totals (``ANNUAL_COLUMNS``)."""

    label: str
    annual: pd.DataFrame


# ---- Load ------------------------------------------------------------------------------------


def census_monthly(
    path: str | Path, reader: Callable[[Path], pd.DataFrame], source_id: str
) -> pd.DataFrame:
    """A Census country table (any vintage) -> the cleaned monthly table (``TRADE_COLUMNS``);
    a ``data/raw/`` file is verified, and quarantined if cleaning rejects it."""
    path = Path(path)
    with fetch.checked_use(source_id, path):
        trade, _ = clean_table.process(reader(path), path)
    return trade


def api_monthly(exports_path: str | Path, imports_path: str | Path) -> pd.DataFrame:
    """The API by-country extracts -> ``date, partner_code, partner, flow, value`` (US$
    millions), countries only (4-digit codes >= 1000)."""
    frames = []
    for flow, path in (("exports", exports_path), ("imports", imports_path)):
        raw = census_api.read_by_country(path)
        value_col = census_api.VALUE_COLUMN[
            census_api.EXPORTS_ID if flow == "exports" else census_api.IMPORTS_ID
        ]
        if value_col not in raw:
            raise DataError(path, f"expected the {flow} extract (column {value_col})")
        code = raw["CTY_CODE"].str.strip()
        raw = raw[
            code.str.fullmatch(r"\d{4}")
            & (pd.to_numeric(code, errors="coerce") >= COUNTRY_CODE_MIN)
        ]
        frames.append(
            pd.DataFrame(
                {
                    "date": pd.to_datetime(
                        raw["YEAR"] + "-" + raw["MONTH"].str.zfill(2) + "-01", format="%Y-%m-%d"
                    ),
                    "partner_code": raw["CTY_CODE"].astype("int64"),
                    "partner": raw["CTY_NAME"],
                    "flow": flow,
                    "value": raw[value_col].astype(float) / 1e6,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


# ---- Process ---------------------------------------------------------------------------------


def census_long(trade: pd.DataFrame) -> pd.DataFrame:
    """The cleaned Census table -> ``date, partner_code, partner, flow, value``."""
    long = trade.melt(
        id_vars=["date", "partner_code", "partner"],
        value_vars=list(FLOWS),
        var_name="flow",
        value_name="value",
    )
    return long


def full_years(long: pd.DataFrame) -> list[int]:
    """Years for which the vintage has all 12 months (over all partners)."""
    months = long.groupby(long["date"].dt.year)["date"].nunique()
    return sorted(int(y) for y, n in months.items() if n == 12)


def annual_totals(long: pd.DataFrame) -> pd.DataFrame:
    """Monthly ``date, partner_code, partner, flow, value`` -> ``ANNUAL_COLUMNS`` for full
    years only; ``partner`` is the partner's latest name in the vintage."""
    long = long[long["date"].dt.year.isin(full_years(long))]
    names = long.sort_values("date").groupby("partner_code")["partner"].last()
    out = (
        long.assign(year=long["date"].dt.year.astype("int64"))
        .groupby(["partner_code", "flow", "year"], as_index=False)["value"]
        .sum()
    )
    out["value"] = out["value"].round(DECIMALS)
    out.insert(1, "partner", out["partner_code"].map(names).astype(str))
    return out[list(ANNUAL_COLUMNS)]


def compare(a: Vintage, b: Vintage) -> pd.DataFrame:
    """One row per partner, flow and year in both vintages' annual totals (``COLUMNS``)."""
    m = a.annual.merge(
        b.annual, on=["partner_code", "flow", "year"], suffixes=("_a", "_b"), how="inner"
    )
    revision = (m["value_b"] - m["value_a"]).round(DECIMALS)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(m["value_a"] != 0, 100 * revision / m["value_a"], np.nan)
    out = pd.DataFrame(
        {
            "partner_code": m["partner_code"],
            "partner": m["partner_a"],
            "flow": m["flow"],
            "year": m["year"],
            "vintage_a": a.label,
            "vintage_b": b.label,
            "value_a": m["value_a"],
            "value_b": m["value_b"],
            "revision": revision,
            "revision_pct": pd.Series(pct, index=m.index).round(DECIMALS),
        }
    )
    return out[list(COLUMNS)]


def revisions(vintages: list[Vintage]) -> pd.DataFrame:
    """Every pair of ``vintages`` (given oldest first) compared; checked and sorted."""
    if len(vintages) < 2:
        raise DataError(None, f"revisions need two vintages, have {len(vintages)}")
    out = pd.concat(
        [compare(a, b) for a, b in itertools.combinations(vintages, 2)], ignore_index=True
    )
    keys = ["partner_code", "flow", "year", "vintage_a", "vintage_b"]
    if out.duplicated(keys).any():
        raise DataError(None, "revisions: duplicate partner/flow/year/vintage rows")
    if not np.isfinite(out[["value_a", "value_b", "revision"]].to_numpy(dtype=float)).all():
        raise DataError(None, "revisions: a value is missing or not finite")
    order = {v.label: i for i, v in enumerate(vintages)}
    pair = out["vintage_a"].map(order) * len(order) + out["vintage_b"].map(order)
    out = out.assign(_pair=pair).sort_values(
        ["partner_code", "flow", "year", "_pair"], kind="stable"
    )
    return out.drop(columns="_pair").reset_index(drop=True)


# ---- Save ------------------------------------------------------------------------------------


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The table as CSV: fixed-point values, empty ``revision_pct`` where undefined."""
    out = df.copy()
    for col in ("value_a", "value_b", "revision", "revision_pct"):
        out[col] = [
            clean_table.format_value(v) if np.isfinite(v) else ""
            for v in out[col].to_numpy(dtype=float)
        ]
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def load_vintages(
    census_path: Path | None, census_2016_path: Path | None, api_paths: tuple[Path, Path] | None
) -> list[Vintage]:
    """The vintages whose files are given and present (oldest first); absent ones are
    announced on stderr and skipped."""
    found: list[Vintage] = []
    if census_2016_path is not None and _present(census_2016_path, LABEL_TABLE_2016):
        trade = census_monthly(census_2016_path, census_vintage.read, census_vintage.SOURCE_ID)
        found.append(Vintage(LABEL_TABLE_2016, annual_totals(census_long(trade))))
    if census_path is not None and _present(census_path, LABEL_XLSX):
        trade = census_monthly(
            census_path, census_source.read_census_table, census_source.SOURCE_ID
        )
        found.append(Vintage(LABEL_XLSX, annual_totals(census_long(trade))))
    if api_paths is not None and all(_present(p, LABEL_API) for p in api_paths):
        found.append(Vintage(LABEL_API, annual_totals(api_monthly(*api_paths))))
    return found


def _present(path: Path, label: str) -> bool:
    if path.is_file():
        return True
    say(f"revisions: {show(path)} not found, vintage {label} skipped (run `make data`)")
    return False


def run(
    out: str | Path,
    census_path: Path | None,
    census_2016_path: Path | None,
    api_paths: tuple[Path, Path] | None,
) -> pd.DataFrame:
    """Compare the vintages found and write ``out`` atomically; returns the table."""
    table = revisions(load_vintages(census_path, census_2016_path, api_paths))
    payload = csv_bytes(table)
    write_atomic(out, lambda p: p.write_bytes(payload))
    return table


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.clean.revisions``: see the module docstring."""
    raw = config.RAW_DIR
    ap = cli.ArgumentParser(
        prog="python -m analysis.clean.revisions", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--census", default=str(raw / "country.xlsx"))
    ap.add_argument("--census-2016", default=str(raw / "census_country_vintage_2016.csv"))
    ap.add_argument("--api-exports", default=str(raw / "exports_by_country_2013_2024.csv"))
    ap.add_argument("--api-imports", default=str(raw / "imports_by_country_2013_2024.csv"))
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    table = run(
        config.from_root(args.out),
        config.from_root(args.census),
        config.from_root(args.census_2016),
        (config.from_root(args.api_exports), config.from_root(args.api_imports)),
    )
    pairs = table.groupby(["vintage_a", "vintage_b"]).size()
    print(
        f"{len(table)} rows ({', '.join(f'{a} vs {b}: {n}' for (a, b), n in pairs.items())}) -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
