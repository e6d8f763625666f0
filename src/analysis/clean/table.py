"""Clean the Census country table into ``data/processed/`` (Load / Process / Save).

``run(raw_path, out_dir)`` reads the raw file once (read-only), checks it, reshapes it to
one row per partner-month and writes four files::

    trade_monthly.csv         the cleaned table (config.TRADE_COLUMNS)
    trade_monthly.parquet     the same, with dtypes
    partners.csv              one row per partner (partners.PARTNER_COLUMNS)
    trade_monthly.meta.json   source, checksums, coverage and what cleaning did (written last)

Every output is rendered in memory first; nothing is written if any check fails, and each
file is replaced atomically. Command line::

    python -m analysis.clean.table RAW OUT_DIR [--no-verify]
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import cli, config
from analysis.clean import census
from analysis.errors import DataError
from analysis.fileio import write_atomic, write_json_atomic
from analysis.partners import PARTNER_COLUMNS, RESERVED_SLUGS, slugify
from analysis.sources import census as census_source
from analysis.sources import fetch

UNITS = "US$ millions, not seasonally adjusted"
BASIS = (
    "Census basis, goods only: exports are total exports (f.a.s. value), imports are general "
    "imports (customs value); balance = exports - imports. Partners with codes < 1000 are "
    "Census aggregates (World, EU, regions, trade agreements, Advanced Technology Products); "
    "an aggregate can overlap countries and other aggregates, so never add them up."
)
PARQUET_COMPRESSION = "zstd"

TRADE_CSV = config.TRADE_MONTHLY_CSV.name
TRADE_PARQUET = config.TRADE_MONTHLY_PARQUET.name
TRADE_META = config.TRADE_MONTHLY_META.name
PARTNERS_CSV = config.PARTNERS_CSV.name

_SEASONALLY_ADJUSTED = re.compile(r"(?<!not )seasonally adjusted", re.IGNORECASE)


@dataclass
class CleanResult:
    """What ``run`` produced: the tables (in memory), the metadata and the files written."""

    raw_path: Path
    out_dir: Path
    trade: pd.DataFrame
    partners: pd.DataFrame
    meta: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)


# ---- Load ------------------------------------------------------------------------------------


def load(raw_path: str | Path) -> tuple[bytes, pd.DataFrame]:
    """Read the raw file's bytes once (read-only) and parse them."""
    raw_path = Path(raw_path)
    data = census_source.read_bytes(raw_path)
    return data, census_source.parse_census_bytes(data, raw_path)


# ---- Process ---------------------------------------------------------------------------------


def _month(ts: pd.Timestamp) -> str:
    return f"{ts:%Y-%m}"


def unique_slugs(partners: pd.DataFrame) -> list[str]:
    """Slugs for ``partners`` (columns partner_code, partner, last_month, months_with_trade).

    When names collide (Census has two "Israel", "Serbia", "Sudan", "Ethiopia" codes), the
    partner with the latest data (then more months with trade, then the lower code) keeps
    the plain slug and the others get ``-<code>`` appended: ``israel``, ``israel-5080``.
    A slug the site itself uses (:data:`analysis.partners.RESERVED_SLUGS`: ``korus``,
    ``vintages``, ...) is never given: such a partner gets ``-<code>`` too (``korus-5800``).
    """
    base = [slugify(n) for n in partners["partner"]]
    order = sorted(
        range(len(partners)),
        key=lambda i: (
            base[i],
            -int(str(partners["last_month"].iloc[i]).replace("-", "")),
            -int(partners["months_with_trade"].iloc[i]),
            int(partners["partner_code"].iloc[i]),
        ),
    )
    slugs = [""] * len(partners)
    taken: set[str] = set(RESERVED_SLUGS)
    for i in order:
        slug = base[i]
        if slug in taken:
            slug = f"{base[i]}-{int(partners['partner_code'].iloc[i])}"
        if slug in taken:  # pragma: no cover - would need a name that already ends in a code
            raise DataError(
                None, f"cannot make a unique slug for partner {partners['partner_code'].iloc[i]}"
            )
        taken.add(slug)
        slugs[i] = slug
    return slugs


def partner_table(trade: pd.DataFrame) -> pd.DataFrame:
    """One row per partner: ``partners.PARTNER_COLUMNS``, sorted by code."""
    g = trade.groupby("partner_code", sort=True)
    traded = (trade["exports"] > 0) | (trade["imports"] > 0)
    out = pd.DataFrame(
        {
            "partner_code": g.size().index.astype("int64"),
            "partner": g["partner"].last().astype("str").to_numpy(),
            "is_aggregate": g["is_aggregate"].first().astype("bool").to_numpy(),
            "first_month": g["date"].min().dt.strftime("%Y-%m").to_numpy(),
            "last_month": g["date"].max().dt.strftime("%Y-%m").to_numpy(),
            "months": g.size().astype("int64").to_numpy(),
            "months_with_trade": traded.groupby(trade["partner_code"])
            .sum()
            .astype("int64")
            .to_numpy(),
        }
    )
    out.insert(2, "slug", unique_slugs(out))
    return out[list(PARTNER_COLUMNS)].reset_index(drop=True)


def process(
    raw: pd.DataFrame,
    raw_path: str | Path,
    *,
    published: census_source.PublicationDate | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Raw Census table -> cleaned trade table, plus what cleaning found and did.

    ``published``: the file's publication date (:func:`analysis.sources.census.publication_date`;
    default today); trade in a month that had not ended by then refuses the file.
    """
    raw, placeholders = census.drop_placeholder_rows(raw)
    wide = census.validate_wide(raw, raw_path)
    if published is None:
        published = census_source.PublicationDate(census_source.utc_today(), "today")
    census.check_calendar(wide, raw_path, published)
    gaps = census.year_gaps(wide)
    unpublished = census.unpublished_months(wide)
    long = census.drop_unpublished(census.to_long(wide), unpublished)
    renamed = census.name_changes(long)
    trade = census.finalize(long, raw_path)
    notes = {
        "annual_sum_max_discrepancy": round(
            float(census.annual_discrepancy(wide).max()), census.VALUE_DECIMALS
        ),
        "unpublished_months": [_month(m) for m in unpublished],
        "placeholder_rows": placeholders,
        "year_gaps": gaps,
        "name_changes": renamed,
    }
    return trade, notes


# ---- Save ------------------------------------------------------------------------------------


def format_value(x: float) -> str:
    """Stable text for a value in US$ millions: fixed-point, at most ``VALUE_DECIMALS``
    decimals, at least one (``800.7``, ``0.0``, ``3195.544833``; never ``1e-06``)."""
    text = f"{x:.{census.VALUE_DECIMALS}f}".rstrip("0")
    text = text + "0" if text.endswith(".") else text
    return "0.0" if text == "-0.0" else text


def trade_csv_bytes(trade: pd.DataFrame) -> bytes:
    """The cleaned table as CSV: dates ``YYYY-MM-01``, ``True``/``False``, ``\\n`` newlines."""
    out = trade.copy()
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    for col in ("exports", "imports", "balance"):
        out[col] = [format_value(v) for v in out[col].to_numpy()]
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def parquet_bytes(trade: pd.DataFrame) -> bytes:
    """The cleaned table as Parquet (no index, fixed compression): byte-identical for the
    same data and library versions."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(trade, preserve_index=False)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression=PARQUET_COMPRESSION)
    return buf.getvalue()


def partners_csv_bytes(partners: pd.DataFrame) -> bytes:
    """The partner table as CSV (``True``/``False``, ``\\n`` newlines)."""
    return partners.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _digest(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def build_meta(
    raw_path: Path,
    data: bytes,
    fmt: str,
    trade: pd.DataFrame,
    partners: pd.DataFrame,
    notes: dict[str, Any],
    outputs: dict[str, bytes],
) -> dict[str, Any]:
    """The metadata written to ``trade_monthly.meta.json`` (no timestamps: deterministic)."""
    sa = partners[partners["partner"].str.contains(_SEASONALLY_ADJUSTED)]
    return {
        "source": {
            "file": raw_path.name,
            "format": fmt,
            **_digest(data),
            "publisher": "U.S. Census Bureau, Foreign Trade Division",
        },
        "units": UNITS,
        "basis": BASIS,
        "seasonally_adjusted_partners": {
            str(c): n for c, n in zip(sa["partner_code"], sa["partner"], strict=True)
        },
        "columns": list(trade.columns),
        "dtypes": {c: str(t) for c, t in trade.dtypes.items()},
        "first_month": _month(trade["date"].min()),
        "last_month": _month(trade["date"].max()),
        "months": int(trade["date"].nunique()),
        "rows": len(trade),
        "partners": len(partners),
        "countries": int((~partners["is_aggregate"]).sum()),
        "aggregates": int(partners["is_aggregate"].sum()),
        "unpublished_months_dropped": notes["unpublished_months"],
        "annual_sum_check": {
            "max_discrepancy": notes["annual_sum_max_discrepancy"],
            "tolerance": census.ANNUAL_SUM_TOLERANCE,
        },
        "value_decimals": census.VALUE_DECIMALS,
        "year_gaps": {str(c): ys for c, ys in sorted(notes["year_gaps"].items())},
        "name_changes": {str(c): ns for c, ns in sorted(notes["name_changes"].items())},
        "placeholder_rows_dropped": notes["placeholder_rows"],
        "outputs": {name: _digest(b) for name, b in sorted(outputs.items())},
    }


def run(raw_path: str | Path, out_dir: str | Path, *, verify: bool = True) -> CleanResult:
    """Clean ``raw_path`` (Census country table) into ``out_dir``; see the module docstring.

    The project's ``data/raw/`` file is verified first (its sha256, each run) and, when it
    fails reading or cleaning, moved to ``data/raw/quarantine/`` and logged as rejected
    (:func:`analysis.sources.fetch.checked_use`); ``verify=False`` skips both (unit tests on
    synthetic files). Raises ``DataError`` (or ``ChecksumMismatch``) before anything is written.
    """
    raw_path, out_dir = Path(raw_path), Path(out_dir)
    with fetch.checked_use("census", raw_path) if verify else contextlib.nullcontext():
        # Load
        data, raw = load(raw_path)
        fmt = census_source.detect_format(data)
        # Process
        trade, notes = process(raw, raw_path, published=census_source.publication_date(data))
        partners = partner_table(trade)
    # Save: render everything in memory, then write; meta.json (which lists the others) last.
    outputs = {
        TRADE_CSV: trade_csv_bytes(trade),
        TRADE_PARQUET: parquet_bytes(trade),
        PARTNERS_CSV: partners_csv_bytes(partners),
    }
    meta = build_meta(raw_path, data, fmt, trade, partners, notes, outputs)
    files: dict[str, Path] = {}
    for name, payload in outputs.items():
        files[name] = write_atomic(out_dir / name, lambda p, b=payload: p.write_bytes(b))
    files[TRADE_META] = write_json_atomic(out_dir / TRADE_META, meta)
    return CleanResult(
        raw_path=raw_path, out_dir=out_dir, trade=trade, partners=partners, meta=meta, files=files
    )


def data_quality_summary(result: CleanResult) -> pd.DataFrame:
    """A small two-column table (measure, value) describing the cleaned data, for notebooks."""
    m = result.meta
    dropped = m["unpublished_months_dropped"]
    gaps = m["year_gaps"]
    rows = [
        (
            "source file",
            f"{m['source']['file']} ({m['source']['format']}, sha256 {m['source']['sha256'][:12]}…)",
        ),
        ("coverage", f"{m['first_month']} to {m['last_month']}"),
        ("months", m["months"]),
        ("rows (partner-months)", m["rows"]),
        ("partners", m["partners"]),
        ("countries (code >= 1000)", m["countries"]),
        ("aggregates (code < 1000)", m["aggregates"]),
        (
            "unpublished months dropped",
            f"{len(dropped)}" + (f" ({dropped[0]} to {dropped[-1]})" if dropped else ""),
        ),
        (
            "largest |annual total - sum of months|",
            f"{m['annual_sum_check']['max_discrepancy']:g} (tolerance {m['annual_sum_check']['tolerance']:g})",
        ),
        (
            "partners with years Census omits",
            f"{len(gaps)} ({sum(len(v) for v in gaps.values())} partner-years)",
        ),
        ("partners whose name changed", len(m["name_changes"])),
        ("placeholder rows dropped", len(m["placeholder_rows_dropped"])),
    ]
    return pd.DataFrame(rows, columns=["measure", "value"]).astype({"value": "str"})


# ---- command line ----------------------------------------------------------------------------


def _main(argv: list[str] | None = None) -> int:
    ap = cli.ArgumentParser(
        prog="python -m analysis.clean.table", description=__doc__.splitlines()[0]
    )
    ap.add_argument("raw", help="Census country table (.xlsx or CSV)")
    ap.add_argument("out_dir", help="output folder (e.g. data/processed)")
    ap.add_argument("--no-verify", action="store_true", help="skip the acquisition checksum")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    result = run(args.raw, args.out_dir, verify=not args.no_verify)
    m = result.meta
    print(
        f"{m['rows']} rows, {m['partners']} partners, {m['first_month']}..{m['last_month']} -> {result.out_dir}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.clean.table RAW OUT_DIR``: one ``error: ...`` line and exit 2 on failure."""
    return cli.run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
