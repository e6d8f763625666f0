"""Broken raw files: each fails with a one-line DataError naming the file and the problem,
and leaves a previous good output folder byte-identical. The files are generated here from
a synthetic Census table (see test_census.py)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from test_census import make_wide, write_cr_csv, write_xlsx

from analysis.clean import census
from analysis.clean import table as clean
from analysis.errors import DataError


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def good_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output folder from a good run, which every failing run must leave untouched."""
    base = tmp_path_factory.mktemp("good")
    clean.run(write_xlsx(make_wide(), base / "country.xlsx"), base / "out", verify=False)
    return base / "out"


@pytest.fixture(scope="module")
def good_xlsx_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_xlsx(make_wide(), tmp_path_factory.mktemp("x") / "country.xlsx").read_bytes()


def _edited(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    """A writer of country.xlsx whose table is ``edit(make_wide())``."""
    return lambda path: write_xlsx(edit(make_wide()), path)


def _set(code: str, year: str, col: str, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(df: pd.DataFrame) -> pd.DataFrame:
        df = df.astype({col: object})
        df.loc[(df["CTY_CODE"] == code) & (df["year"] == year), col] = value
        return df

    return edit


def _shift_imports(df: pd.DataFrame) -> pd.DataFrame:
    """Japan 2022's import months moved one column right (IJAN empty-as-0, IDEC lost)."""
    row = (df["CTY_CODE"] == "5880") & (df["year"] == "2022")
    months = list(census.IMPORT_MONTHS)
    values = df.loc[row, months].to_numpy()
    df.loc[row, months[1:]] = values[:, :-1]
    df.loc[row, "IJAN"] = 0.0
    return df


def _wrong_sheet(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active.append(["This table has moved; see census.gov/foreign-trade"])
    wb.create_sheet("Sheet2").append([1, 2, 3])
    wb.save(path)


def _truncated(good: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(good[: len(good) // 2])


HTML = b"""<!DOCTYPE html>
<html><head><title>Service Unavailable</title></head>
<body><h1>503 Service Unavailable</h1></body></html>
"""

# (case id, writer(path) or None for the truncated xlsx, the problem the message names)
CASES: list[tuple[str, Callable[[Path], None] | None, str]] = [
    ("truncated-xlsx", None, "cannot be read as .xlsx (truncated or corrupt workbook"),
    ("empty-file", lambda p: p.write_bytes(b""), "empty file"),
    (
        "wrong-sheet",
        _wrong_sheet,
        "no sheet has the Census header (year, CTY_CODE, CTYNAME, IJAN..EYR); sheets in country.xlsx: 'Notes', 'Sheet2'",
    ),
    (
        "renamed-column",
        _edited(lambda d: d.rename(columns={"EJAN": "EXP_JAN"})),
        "missing column(s) EJAN; unexpected column(s) EXP_JAN (renamed?)",
    ),
    ("missing-column", _edited(lambda d: d.drop(columns=["IYR"])), "missing column(s) IYR;"),
    (
        "text-in-number",
        _edited(_set("5800", "2022", "EMAR", "n/a")),
        "text 'n/a' in numeric column EMAR, row",
    ),
    (
        "negative-value",
        _edited(_set("5880", "2021", "IJUN", -5.0)),
        "negative value -5 in IJUN, row",
    ),
    (
        "duplicate-rows",
        _edited(lambda d: pd.concat([d, d[(d["CTY_CODE"] == "5800") & (d["year"] == "2022")]])),
        "duplicate rows for (CTY_CODE, year): Korea, South 5800 2022",
    ),
    (
        "annual-total",
        _edited(_set("5800", "2021", "EYR", 2621.4)),
        "annual total EYR 2621.400 != sum of months",
    ),
    ("shifted-month", _edited(_shift_imports), "annual total IYR 4129.200 != sum of months"),
    ("html-page", lambda p: p.write_bytes(HTML), "is an HTML page, not the Census table"),
    (
        "truncated-csv",
        lambda p: p.write_bytes(write_cr_csv(make_wide(), p).read_bytes()[:1500]),
        "fields, expected 29 (truncated or malformed file)",
    ),
    (
        "empty-year",
        _edited(_set("5800", "2022", "year", "")),
        "empty year in row 9 (Korea, South 5800)",
    ),
    (
        "not-a-year",
        _edited(_set("5800", "2022", "year", "FY22")),
        "year 'FY22' is not a year in row 9",
    ),
    (
        "bad-code",
        _edited(_set("5880", "2021", "CTY_CODE", "JP")),
        "CTY_CODE 'JP' is not a Census code",
    ),
]


@pytest.mark.parametrize(("case", "writer", "problem"), CASES, ids=[c[0] for c in CASES])
def test_bad_file_fails_cleanly(
    case: str,
    writer: Callable[[Path], None] | None,
    problem: str,
    good_output: Path,
    good_xlsx_bytes: bytes,
    tmp_path: Path,
) -> None:
    path = tmp_path / "country.xlsx"
    (writer or _truncated(good_xlsx_bytes))(path)
    before = _hashes(good_output)
    with pytest.raises(DataError) as info:
        clean.run(path, good_output, verify=False)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert problem in message, message
    assert _hashes(good_output) == before
    assert sorted(p.name for p in good_output.iterdir()) == sorted(before)  # no temp files left


def test_messages_name_partner_and_year(tmp_path: Path) -> None:
    path = write_xlsx(_shift_imports(make_wide()), tmp_path / "country.xlsx")
    with pytest.raises(DataError, match=r"for Japan \(5880\) 2022 .*a month column shifted\?"):
        clean.run(path, tmp_path / "out", verify=False)
    path = write_xlsx(_set("5800", "2022", "EMAR", "n/a")(make_wide()), tmp_path / "country.xlsx")
    with pytest.raises(DataError, match=r"EMAR, row \d+ \(Korea, South 5800, 2022\)"):
        clean.run(path, tmp_path / "out", verify=False)
    assert not (tmp_path / "out").exists()


def test_bare_cr_csv_is_valid(good_output: Path, tmp_path: Path) -> None:
    path = write_cr_csv(make_wide(), tmp_path / "country.xlsx")  # CSV content, .xlsx name
    assert b"\r" in path.read_bytes() and b"\n" not in path.read_bytes()
    result = clean.run(path, tmp_path / "out", verify=False)
    assert result.meta["source"]["format"] == "csv"
    # Same table as the xlsx run: identical data files.
    for name in ("trade_monthly.csv", "trade_monthly.parquet", "partners.csv"):
        assert (tmp_path / "out" / name).read_bytes() == (good_output / name).read_bytes(), name


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"country\.xlsx: file not found"):
        clean.run(tmp_path / "country.xlsx", tmp_path / "out", verify=False)


def test_cli_exit_status_and_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "country.xlsx"
    bad.write_bytes(HTML)
    proc = subprocess.run(
        [sys.executable, "-m", "analysis.clean.table", str(bad), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert (
        last
        == f"error: {bad}: is an HTML page, not the Census table (an error page saved under this name?)"
    )
    assert not (tmp_path / "out").exists()


def test_cli_success(tmp_path: Path) -> None:
    raw = write_xlsx(make_wide(), tmp_path / "country.xlsx")
    from analysis.clean.table import main

    out = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(out):
        assert main([str(raw), str(tmp_path / "out")]) == 0
    assert "140 rows, 5 partners, 2021-01..2023-04" in out.getvalue()
