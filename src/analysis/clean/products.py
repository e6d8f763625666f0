"""Build the product table ``trade_hs_monthly`` (HS2/HS4/HS6 by country and month) from API data.

Load / Process / Save::

    raw = load_mirror(path)                 # data/raw/imports_hs2_by_country_2023_2024.csv.gz
    # or: raw = load_api(...)               # analysis.sources.census_api_client (needs a key)
    table = process(raw, flow="imports", level="HS2", source=...)
    save(table, out_dir)                    # trade_hs_monthly.csv + .parquet, atomically

One row per month, partner, flow, HS level and code: ``date, partner_code, flow, level,
hs_code, description, value, source``; ``value`` in US$ millions (the API gives dollars; kept
to the dollar, 6 decimals), not seasonally adjusted; exports f.a.s., general imports customs
value. Only countries are kept: the API's own aggregate codes (``-`` all countries, ``0003``
EU, ``0020`` USMCA, ...) are numbered differently from ``country.xlsx``, so rows whose
``CTY_CODE`` is not a 4-digit code >= 1000 are dropped (countries share the 4-digit codes of
``country.xlsx``: Korea is 5800). Command line::

    python -m analysis.clean.products [--source mirror|api] [--raw PATH] [--out-dir DIR]

With ``--source api`` the client's base address, deadline and size cap come from
``CENSUS_API_BASE_URL``, ``CENSUS_API_DEADLINE`` and ``CENSUS_API_MAX_BYTES``, and
``ANALYSIS_REFRESH=1`` (``make products-api REFRESH=1``) asks the API again instead of
using cached answers.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import cli, config
from analysis.clean import table as clean_table
from analysis.errors import DataError, ParameterError
from analysis.fileio import write_atomic
from analysis.sources import census_api
from analysis.sources import census_api_client as api

COLUMNS: tuple[str, ...] = (
    "date", "partner_code", "flow", "level", "hs_code", "description", "value", "source",
)  # fmt: skip
CSV_NAME = "trade_hs_monthly.csv"
PARQUET_NAME = "trade_hs_monthly.parquet"
DEFAULT_RAW: Path = config.RAW_DIR / "imports_hs2_by_country_2023_2024.csv.gz"
#: ``source`` of rows from the mirror's HS2 extract and from live API answers.
SOURCE_EXTRACT = "census_hs2_imports"
SOURCE_API = "census_api"
#: Smallest country code: the API's (and Census's) aggregates are numbered below it.
COUNTRY_CODE_MIN = 1000
VALUE_DECIMALS = 6
LEVEL_DIGITS: dict[str, int] = {"HS2": 2, "HS4": 4, "HS6": 6}


# ---- Load ------------------------------------------------------------------------------------


def load_mirror(path: str | Path = DEFAULT_RAW) -> pd.DataFrame:
    """The HS2 imports extract (API columns, text; ``GEN_VAL_MO`` numeric), verified when it is
    the project's ``data/raw/`` file."""
    return census_api.read_hs2_imports(path, descriptions=True)


def load_api(
    flows: Sequence[str],
    levels: Sequence[str],
    years: Iterable[int],
    *,
    client: api.Client | None = None,
    chapter_list: Sequence[str] | None = None,
) -> list[tuple[str, str, pd.DataFrame]]:
    """``(flow, level, table)`` answered by the API client for each flow and level."""
    client = client or api.Client()
    years = list(years)
    out = []
    for flow in flows:
        for level in levels:
            queries = api.plan(flow, level, years, chapter_list=chapter_list)
            out.append((flow, level, client.fetch(queries)))
    return out


# ---- Process ---------------------------------------------------------------------------------


def process(raw: pd.DataFrame, *, flow: str, level: str, source: str) -> pd.DataFrame:
    """API columns (``E_``/``I_COMMODITY``, ``CTY_CODE``, ``*_VAL_MO``, ``YEAR``, ``MONTH``)
    -> ``COLUMNS``; countries only; checked (:func:`check`)."""
    spec = api.FLOWS[flow]
    if raw.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _dtypes().items()})
    missing = [c for c in (spec.commodity, "CTY_CODE", spec.value, "YEAR", "MONTH") if c not in raw]
    if missing:
        raise DataError(None, f"{flow} {level}: API table has no {', '.join(missing)} column")
    code = raw["CTY_CODE"].astype(str).str.strip()
    countries = raw[
        code.str.fullmatch(r"\d{4}") & (pd.to_numeric(code, errors="coerce") >= COUNTRY_CODE_MIN)
    ]
    if "COMM_LVL" in countries:
        countries = countries[countries["COMM_LVL"].astype(str) == level]
    desc_col = f"{spec.commodity}_LDESC"
    out = pd.DataFrame(
        {
            "date": pd.to_datetime(
                countries["YEAR"].astype(str)
                + "-"
                + countries["MONTH"].astype(str).str.zfill(2)
                + "-01",
                format="%Y-%m-%d",
            ),
            "partner_code": countries["CTY_CODE"].astype("int64"),
            "flow": flow,
            "level": level,
            "hs_code": countries[spec.commodity].astype(str).str.strip(),
            "description": countries[desc_col].astype(str) if desc_col in countries else "",
            "value": (pd.to_numeric(countries[spec.value]) / 1e6).round(VALUE_DECIMALS),
            "source": source,
        }
    )
    out = _one_description(out)
    out = out.sort_values(["flow", "level", "partner_code", "hs_code", "date"], kind="stable")
    out = out.reset_index(drop=True)[list(COLUMNS)]
    check(out)
    return out


def _one_description(df: pd.DataFrame) -> pd.DataFrame:
    """One description per (level, code): the latest month's (Census rewords some)."""
    latest = df.sort_values("date").groupby(["level", "hs_code"])["description"].last()
    keys = pd.MultiIndex.from_frame(df[["level", "hs_code"]])
    return df.assign(description=latest.reindex(keys).to_numpy())


def _dtypes() -> dict[str, str]:
    return {
        "date": "datetime64[ns]",
        "partner_code": "int64",
        "flow": "str",
        "level": "str",
        "hs_code": "str",
        "description": "str",
        "value": "float64",
        "source": "str",
    }


def _fail(problem: str) -> DataError:
    return DataError(None, f"product table: {problem}")


def check(df: pd.DataFrame) -> None:
    """Sanity checks of the product table; ``DataError`` (one line) on the first that fails:
    the columns, unique keys, known flows and levels, codes of the level's length, country
    codes, month-start dates, finite non-negative values."""
    if list(df.columns) != list(COLUMNS):
        raise _fail(f"columns {list(df.columns)}, expected {list(COLUMNS)}")
    if df.empty:
        return
    keys = ["date", "partner_code", "flow", "level", "hs_code"]
    dup = df.duplicated(keys)
    if dup.any():
        raise _fail(f"{int(dup.sum())} duplicate rows, e.g. {df[dup].iloc[0][keys].tolist()}")
    if not df["flow"].isin(list(api.FLOWS)).all() or not df["level"].isin(list(LEVEL_DIGITS)).all():
        raise _fail("unknown flow or level")
    width = df["level"].map(LEVEL_DIGITS)
    bad = ~(df["hs_code"].str.fullmatch(r"\d+") & (df["hs_code"].str.len() == width))
    if bad.any():
        row = df[bad].iloc[0]
        raise _fail(f"HS code {row['hs_code']!r} does not match its level {row['level']}")
    if (df["partner_code"] < COUNTRY_CODE_MIN).any():
        raise _fail("an aggregate (code < 1000) is left")
    if not df["date"].dt.is_month_start.all():
        raise _fail("a date is not a month start")
    values = df["value"].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise _fail("a value is missing or not finite")
    if (values < 0).any():
        raise _fail("a value is negative")


def combine(tables: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Several processed tables as one, sorted and checked."""
    frames = [t for t in tables if not t.empty]
    if not frames:
        raise DataError(None, "product table: no rows (the API or the extract answered nothing)")
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(["flow", "level", "partner_code", "hs_code", "date"], kind="stable")
    out = out.reset_index(drop=True)
    check(out)
    return out


# ---- Save ------------------------------------------------------------------------------------


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The table as CSV: dates ``YYYY-MM-01``, values fixed-point, ``\\n`` newlines."""
    out = df.copy()
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    out["value"] = [clean_table.format_value(v) for v in out["value"].to_numpy()]
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def save(df: pd.DataFrame, out_dir: str | Path) -> dict[str, Path]:
    """Write the CSV and its Parquet twin, each atomically (rendered in memory first)."""
    out_dir = Path(out_dir)
    payloads = {CSV_NAME: csv_bytes(df), PARQUET_NAME: clean_table.parquet_bytes(df)}
    return {
        name: write_atomic(out_dir / name, lambda p, b=data: p.write_bytes(b))
        for name, data in payloads.items()
    }


def run_mirror(raw_path: str | Path, out_dir: str | Path) -> pd.DataFrame:
    """The HS2 imports extract -> ``out_dir/trade_hs_monthly.{csv,parquet}``; the table."""
    table = combine(
        [process(load_mirror(raw_path), flow="imports", level="HS2", source=SOURCE_EXTRACT)]
    )
    save(table, out_dir)
    return table


def run_api(
    out_dir: str | Path,
    *,
    flows: Sequence[str],
    levels: Sequence[str],
    years: Iterable[int],
    client: api.Client | None = None,
    chapter_list: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The API's answers for ``flows`` x ``levels`` x ``years`` -> ``out_dir``; the table."""
    answers = load_api(flows, levels, years, client=client, chapter_list=chapter_list)
    table = combine(process(raw, flow=f, level=lv, source=SOURCE_API) for f, lv, raw in answers)
    save(table, out_dir)
    return table


# ---- command line ----------------------------------------------------------------------------


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.clean.products``: see the module docstring."""
    ap = cli.ArgumentParser(
        prog="python -m analysis.clean.products", description=__doc__.splitlines()[0]
    )
    ap.add_argument(
        "--source",
        choices=("mirror", "api"),
        default="mirror",
        help="mirror: the HS2 imports extract (default); api: the live API (needs CENSUS_API_KEY)",
    )
    ap.add_argument("--raw", default=str(DEFAULT_RAW), help="HS2 extract (with --source mirror)")
    ap.add_argument("--out-dir", default=str(config.PROCESSED_DIR))
    ap.add_argument(
        "--flow",
        action="append",
        choices=sorted(api.FLOWS),
        help="with --source api (default both)",
    )
    ap.add_argument(
        "--level", action="append", choices=api.LEVELS, help="with --source api (default HS2)"
    )
    ap.add_argument("--from", dest="first", type=int, default=api.FIRST_YEAR)
    ap.add_argument("--chapter", action="append", help="with --source api: only these HS2 chapters")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    out_dir = config.from_root(args.out_dir)
    if args.source == "api":
        if args.first < api.FIRST_YEAR:
            raise ParameterError(f"--from {args.first}: the API starts in {api.FIRST_YEAR}")
        table = run_api(
            out_dir,
            flows=args.flow or sorted(api.FLOWS),
            levels=args.level or ["HS2"],
            years=api.latest_years(args.first),
            chapter_list=args.chapter,
            client=api.Client(refresh=api.flag("REFRESH", config.run_parameter("REFRESH"))),
        )
    else:
        table = run_mirror(config.from_root(args.raw), out_dir)
    first, last = f"{table['date'].min():%Y-%m}", f"{table['date'].max():%Y-%m}"
    print(
        f"{len(table)} rows, {table['partner_code'].nunique()} countries, {first}..{last} -> {out_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
