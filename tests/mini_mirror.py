"""A miniature data mirror for the end-to-end tests, cut from the full one.

The end-to-end tests check how the pipeline behaves (byte-identical rebuilds, incremental
runs, killed steps, a new Census month, hostile names, runs by hand), which does not depend on
every one of the ~230 Census partners. This module writes a mirror laid out like the real one
(``census/country.xlsx``, ``census/vintage-2016/us-trade.csv``, ``census-api/...``,
``worldbank/...``, ``reference/...``) that is a true subset of it: the same files, formats,
columns, years and cell values, restricted to :data:`PARTNERS` — Korea, Japan, the other
comparison partners, every U.S. FTA partner, a pool of control countries for the evaluation's
designs, a partner with months of zero trade (North Korea), one whose name has a quote
(Cote d'Ivoire) and some aggregates. The files keep every year, so every notebook runs with
its default windows; the saving is in partners (and in the evaluation's placebos).

Each file is a new vintage to the pipeline (its sha256 is not pinned in ``sources.json``): it
passes the same content checks, is recorded in the vintage log and is announced, like a new
Census release.

Command line (the tests call :func:`write_mini_mirror` directly)::

    python tests/mini_mirror.py FULL_MIRROR DEST
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import re
import shutil
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

#: Census codes kept (as written in the files, without leading zeros).
PARTNERS: frozenset[int] = frozenset(
    {
        # aggregates: European Union, World (not seasonally adjusted), CAFTA-DR
        3,
        15,
        17,
        # Korea and the comparison partners of the context pages
        5800,
        5880,
        5700,
        4280,
        5830,
        5520,
        # every U.S. FTA partner (data/external/us_ftas.csv)
        5081,
        1220,
        2010,
        5110,
        3370,
        5590,
        6021,
        7140,
        2110,
        2150,
        2190,
        2050,
        5250,
        2470,
        2230,
        5230,
        3330,
        3010,
        2250,
        # never in a U.S. FTA: controls and donors (large and small, entrepots included)
        3510,
        5330,
        5600,
        5490,
        5570,
        5650,
        7910,
        4890,
        4419,
        3570,
        7290,
        6141,
        4039,
        4010,
        4759,
        4279,
        4120,
        4210,
        2360,
        5820,
        # months of zero trade; a name with a quote; a second Census code of one country
        5790,
        7480,
        5082,
    }
)

#: Files copied as they are (they hold Korea only, or are tiny).
COPIED: tuple[str, ...] = (
    "worldbank/API_KOR_DS2_en_csv_v2_15934.csv",
    "reference/korea_steel_exports_to_us_tonnes.tsv",
)


def _code(value: object) -> int | None:
    try:
        return int(str(value).strip().split(".")[0])
    except (TypeError, ValueError):
        return None


def cut_country_xlsx(src: Path, dest: Path, partners: Iterable[int] = PARTNERS) -> int:
    """Write ``dest``: the workbook ``src`` with only the rows of ``partners`` (same sheet name,
    header, cell values and types, document dates). Returns the number of data rows kept."""
    from openpyxl import Workbook, load_workbook

    keep = set(partners)
    book = load_workbook(src, read_only=True)
    out = Workbook(write_only=True)
    out.properties.created = book.properties.created
    out.properties.modified = book.properties.modified
    n = 0
    for ws in book.worksheets:
        sheet = out.create_sheet(ws.title)
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            continue
        sheet.append(list(header))
        icode = list(header).index("CTY_CODE")
        for row in rows:
            if _code(row[icode]) in keep:
                sheet.append(list(row))
                n += 1
    book.close()
    dest.parent.mkdir(parents=True, exist_ok=True)
    out.save(dest)
    with zipfile.ZipFile(src) as zsrc:  # when Census wrote the file (its members' dates)
        written = max(info.date_time for info in zsrc.infolist())
    _fix_zip_times(dest, book.properties.modified, written)
    return n


def _fix_zip_times(path: Path, modified, written: tuple[int, ...]) -> None:
    """Give the xlsx the source's dates: its members the date Census wrote them (``written``),
    its "modified" property the source's (``modified``). Two cuts of one file are then
    byte-identical (openpyxl stamps both with the current time), and the file's publication
    date (the latest date it carries) is the source's, not the day the cut was made."""
    stamp = written
    iso = modified.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path) as zin:
        members = [(info, zin.read(info.filename)) for info in zin.infolist()]
    members = [
        (info, re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + iso, data))
        if info.filename == "docProps/core.xml"
        else (info, data)
        for info, data in members
    ]
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in members:
            info.date_time = stamp
            zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    tmp.replace(path)


def _cut_csv_bytes(data: bytes, code_column: str, keep: set[int], newline: bytes) -> bytes:
    """Rows of a CSV whose ``code_column`` is in ``keep`` (or not a number, such as Census's
    "-" total rows), byte for byte as they were, with the file's own line ending."""
    lines = data.split(newline)
    header = next(csv.reader([lines[0].decode("utf-8-sig")]))
    i = header.index(code_column)
    kept = [lines[0]]
    for raw in lines[1:]:
        if not raw.strip():
            kept.append(raw)
            continue
        fields = next(csv.reader([raw.decode("utf-8", errors="replace")]))
        code = _code(fields[i]) if i < len(fields) else None
        if code is None or code in keep:
            kept.append(raw)
    return newline.join(kept)


def write_mini_mirror(full: Path, dest: Path, partners: Iterable[int] = PARTNERS) -> Path:
    """Write the miniature mirror of ``full`` into ``dest`` (created) and return ``dest``.

    Files missing from ``full`` are skipped (the pipeline treats those sources as absent)."""
    keep = set(partners)
    dest.mkdir(parents=True, exist_ok=True)
    xlsx = full / "census" / "country.xlsx"
    cut_country_xlsx(xlsx, dest / "census" / "country.xlsx", keep)
    csvs = (
        ("census/vintage-2016/us-trade.csv", "CTY_CODE", False),
        ("census-api/exports_by_country_2013_2024.csv", "CTY_CODE", False),
        ("census-api/imports_by_country_2013_2024.csv", "CTY_CODE", False),
        ("census-api/imports_hs2_by_country_2023_2024.csv.gz", "CTY_CODE", True),
    )
    for rel, column, gz in csvs:
        src = full / rel
        if not src.is_file():
            continue
        data = gzip.decompress(src.read_bytes()) if gz else src.read_bytes()
        newline = b"\r\n" if b"\r\n" in data[:65536] else b"\r" if b"\r" in data[:65536] else b"\n"
        cut = _cut_csv_bytes(data, column, keep, newline)
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if gz:
            buf = io.BytesIO()
            with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as fh:
                fh.write(cut)
            out.write_bytes(buf.getvalue())
        else:
            out.write_bytes(cut)
    for rel in COPIED:
        if (full / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(full / rel, dest / rel)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("full", type=Path, help="the full data mirror (ANALYSIS_DATA_MIRROR)")
    parser.add_argument("dest", type=Path, help="the folder to write the miniature mirror into")
    args = parser.parse_args(argv)
    if not (args.full / "census" / "country.xlsx").is_file():
        print(f"error: {args.full}: no census/country.xlsx (not a data mirror)", file=sys.stderr)
        return 1
    write_mini_mirror(args.full, args.dest)
    print(f"wrote {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
