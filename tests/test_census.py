"""Census country table: reading, validation, reshaping and the cleaning step.

Unit tests build small synthetic wide tables (the real file's layout) and write them as
.xlsx and as bare-CR CSV; integration tests (marked) read the data mirror.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import config
from analysis.clean import census
from analysis.clean import table as clean
from analysis.errors import ChecksumMismatch, DataError
from analysis.sources import census as census_source

# ---- synthetic Census tables (also used by test_bad_input.py) --------------------------------

PARTNERS: list[tuple[int, str]] = [
    (3, "European Union"),
    (15, "World, Not Seasonally Adjusted"),
    (5800, "Korea, South"),
    (5880, "Japan"),
    (7777, "Tinyland"),
]
YEARS = (2021, 2022, 2023)
LATEST_PUBLISHED = 4  # 2023 is published through April; May-Dec are zeros


def export_value(code: int, year: int, month: int) -> float:
    """A distinct, one-decimal value for every partner-month: Korea 2022-03 -> 278.3."""
    return round(code / 100 + 10 * (year - 2000) + month / 10, 1)


def import_value(code: int, year: int, month: int) -> float:
    """Korea 2022-03 -> 339.0."""
    return round(2 * code / 100 + 10 * (year - 2000) + month, 1)


def make_wide(
    partners: list[tuple[int, str]] = PARTNERS,
    years: tuple[int, ...] = YEARS,
    published: int = LATEST_PUBLISHED,
) -> pd.DataFrame:
    """A wide table as Census stores it: year and CTY_CODE as text, annual = sum of months.

    Tinyland (7777) has a real zero in the latest year's last published month.
    """
    rows = []
    for code, name in partners:
        for y in years:
            imp, exp = [], []
            for m in range(1, 13):
                unpublished = y == max(years) and m > published
                tiny_zero = code == 7777 and y == max(years) and m == published
                imp.append(0.0 if unpublished or tiny_zero else import_value(code, y, m))
                exp.append(0.0 if unpublished or tiny_zero else export_value(code, y, m))
            rows.append(
                [str(y), f"{code:04d}", name, *imp, round(sum(imp), 6), *exp, round(sum(exp), 6)]
            )
    return pd.DataFrame(rows, columns=list(census.WIDE_COLUMNS))


def write_xlsx(df: pd.DataFrame, path: Path, sheet: str = "country") -> Path:
    """Write ``df`` as a one-sheet workbook, cells typed as given (text stays text)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append(list(row))
    wb.save(path)
    return path


def write_cr_csv(df: pd.DataFrame, path: Path) -> Path:
    """Write ``df`` as CSV with bare-CR line endings (the 2016 vintage's form)."""
    text = df.to_csv(index=False, lineterminator="\r")
    path.write_bytes(text.encode("utf-8"))
    return path


def clean_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The whole census pipeline in memory (no files)."""
    raw, _ = census.drop_placeholder_rows(df)
    wide = census.validate_wide(raw, "synthetic.xlsx")
    return census.finalize(
        census.drop_unpublished(census.to_long(wide), census.unpublished_months(wide))
    )


# ---- reading ---------------------------------------------------------------------------------


def test_xlsx_and_bare_cr_csv_read_the_same(tmp_path: Path) -> None:
    df = make_wide()
    x = census_source.read_census_table(write_xlsx(df, tmp_path / "country.xlsx"))
    # Content decides the format, not the extension.
    c = census_source.read_census_table(write_cr_csv(df, tmp_path / "country.xlsx.csv"))
    assert list(x.columns) == list(census.WIDE_COLUMNS) == list(c.columns)
    assert x["CTY_CODE"].tolist()[:3] == ["0003", "0003", "0003"]  # leading zeros kept
    assert c["CTY_CODE"].tolist()[:3] == ["0003", "0003", "0003"]
    assert x.index[0] == 2 and c.index[0] == 2  # row numbers in the file
    pd.testing.assert_frame_equal(clean_frame(x), clean_frame(c))


def test_xlsx_with_numeric_codes_and_title_rows(tmp_path: Path) -> None:
    import openpyxl

    df = make_wide().astype({"year": "int64"})
    df["CTY_CODE"] = df["CTY_CODE"].astype(int)  # as pandas would write it: zeros lost
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["U.S. trade by country"])
    ws.append([])
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append(list(row))
    wb.save(tmp_path / "country.xlsx")
    raw = census_source.read_census_table(tmp_path / "country.xlsx")
    assert raw.index[0] == 4  # the first data row's number in the sheet
    pd.testing.assert_frame_equal(clean_frame(raw), clean_frame(make_wide()))


def test_csv_with_quoted_name_and_placeholder_row(tmp_path: Path) -> None:
    df = make_wide()
    blank = pd.DataFrame([["", "5220", "Yemen", *[0] * 26]], columns=df.columns)
    path = write_cr_csv(pd.concat([df, blank], ignore_index=True), tmp_path / "us-trade.csv")
    assert b"\n" not in path.read_bytes() and b'"Korea, South"' in path.read_bytes()
    raw = census_source.read_census_table(path)
    kept, dropped = census.drop_placeholder_rows(raw)
    assert dropped == [f"row {len(df) + 2}: 5220 Yemen"]
    assert len(kept) == len(df)
    assert "Korea, South" in set(kept["CTYNAME"])


def test_detect_format() -> None:
    assert census_source.detect_format(b"PK\x03\x04rest") == "xlsx"
    assert census_source.detect_format(b"year,CTY_CODE\r") == "csv"
    with pytest.raises(ValueError, match="HTML page"):
        census_source.detect_format(b"\n  <!DOCTYPE html><html><body>503</body></html>")
    with pytest.raises(ValueError, match="empty file"):
        census_source.detect_format(b"")


# ---- validation and reshaping ----------------------------------------------------------------


def test_validate_types_and_annual_discrepancy() -> None:
    wide = census.validate_wide(make_wide(), "x.xlsx")
    assert wide["year"].dtype == "int64" and wide["CTY_CODE"].dtype == "int64"
    assert wide["IJAN"].dtype == "float64"
    assert census.annual_discrepancy(wide).max() < 1e-9


def test_to_long_puts_values_at_the_right_partner_and_month() -> None:
    long = census.to_long(census.validate_wide(make_wide(), "x.xlsx"))
    assert len(long) == len(PARTNERS) * len(YEARS) * 12
    row = long[(long["partner_code"] == 5800) & (long["date"] == "2022-03-01")]
    assert len(row) == 1
    assert row["exports"].item() == 278.3 and row["imports"].item() == 339.0
    assert row["partner"].item() == "Korea, South"
    jp = long[(long["partner_code"] == 5880) & (long["date"] == "2021-12-01")]
    assert jp["exports"].item() == export_value(5880, 2021, 12) == 270.0
    assert jp["imports"].item() == import_value(5880, 2021, 12) == 339.6
    assert str(long["date"].dtype).startswith("datetime64")
    assert (long["date"].dt.day == 1).all()


def test_unpublished_trailing_months_dropped_real_zeros_kept() -> None:
    wide = census.validate_wide(make_wide(), "x.xlsx")
    months = census.unpublished_months(wide)
    assert [f"{m:%Y-%m}" for m in months] == [f"2023-{m:02d}" for m in range(5, 13)]
    out = census.drop_unpublished(census.to_long(wide), months)
    assert out["date"].max() == pd.Timestamp("2023-04-01")
    tiny = out[(out["partner_code"] == 7777) & (out["date"] == "2023-04-01")]
    assert len(tiny) == 1 and tiny["exports"].item() == 0.0  # a real zero is data
    # The same rule on the long table itself.
    pd.testing.assert_frame_equal(census.drop_unpublished(census.to_long(wide)), out)


def test_zero_month_inside_latest_year_is_kept() -> None:
    df = make_wide()
    # Every partner is zero in Feb 2023, but March has data: Feb is published (a real zero).
    latest = df["year"] == "2023"
    df.loc[latest, ["IFEB", "EFEB"]] = 0.0
    df.loc[latest, "IYR"] = df.loc[latest, list(census.IMPORT_MONTHS)].sum(axis=1)
    df.loc[latest, "EYR"] = df.loc[latest, list(census.EXPORT_MONTHS)].sum(axis=1)
    wide = census.validate_wide(df, "x.xlsx")
    assert [f"{m:%m}" for m in census.unpublished_months(wide)] == [
        "05",
        "06",
        "07",
        "08",
        "09",
        "10",
        "11",
        "12",
    ]
    out = clean_frame(df)
    assert (out["date"] == "2023-02-01").sum() == len(PARTNERS)


def test_fully_published_latest_year_drops_nothing() -> None:
    wide = census.validate_wide(make_wide(published=12), "x.xlsx")
    assert census.unpublished_months(wide) == []


def test_is_aggregate() -> None:
    assert census.is_aggregate(3) and census.is_aggregate(15) and census.is_aggregate(999)
    assert not census.is_aggregate(1000) and not census.is_aggregate(5800)
    assert census.is_aggregate(pd.Series([4, 1220])).tolist() == [True, False]


def test_finalize_columns_dtypes_sorting_and_balance() -> None:
    out = clean_frame(make_wide())
    assert tuple(out.columns) == config.TRADE_COLUMNS
    assert str(out["date"].dtype).startswith("datetime64")
    assert out["partner_code"].dtype == "int64" and out["is_aggregate"].dtype == bool
    assert out["exports"].dtype == out["imports"].dtype == out["balance"].dtype == "float64"
    assert out[["partner_code", "date"]].equals(
        out.sort_values(["partner_code", "date"])[["partner_code", "date"]]
    )
    assert out.set_index(["partner_code", "date"]).index.is_unique
    agg = out.groupby("partner_code")["is_aggregate"].first().to_dict()
    assert agg == {3: True, 15: True, 5800: False, 5880: False, 7777: False}
    k = out[(out["partner_code"] == 5800) & (out["date"] == "2022-03-01")]
    assert k["balance"].item() == -60.7  # exactly: rounded, no float noise
    assert len(out) == len(PARTNERS) * (24 + LATEST_PUBLISHED)


def test_balance_has_no_float_noise() -> None:
    long = pd.DataFrame(
        {
            "date": pd.to_datetime(["2011-01-01", "2011-02-01"]),
            "partner_code": [5800, 5800],
            "partner": ["Korea, South"] * 2,
            "exports": [43461.6, 0.3],
            "imports": [56661.3, 0.1],
        }
    )
    out = census.finalize(long)
    assert 43461.6 - 56661.3 != -13199.7  # the float noise this guards against
    assert out["balance"].tolist() == [-13199.7, 0.2]


def test_name_change_keeps_latest_name() -> None:
    df = make_wide()
    df.loc[(df["CTY_CODE"] == "5880") & (df["year"] == "2021"), "CTYNAME"] = "Nippon"
    wide = census.validate_wide(df, "x.xlsx")
    long = census.to_long(wide)
    assert census.name_changes(long) == {5880: ["Nippon", "Japan"]}
    out = census.finalize(long)
    assert set(out.loc[out["partner_code"] == 5880, "partner"]) == {"Japan"}


def test_year_gap_is_reported_not_filled_and_month_gap_rejected() -> None:
    df = make_wide()
    df = df[~((df["CTY_CODE"] == "5880") & (df["year"] == "2022"))]
    wide = census.validate_wide(df, "x.xlsx")
    assert census.year_gaps(wide) == {5880: [2022]}
    out = clean_frame(df)
    assert not ((out["partner_code"] == 5880) & (out["date"].dt.year == 2022)).any()
    long = census.to_long(census.validate_wide(make_wide(), "x.xlsx"))
    holed = long[~((long["partner_code"] == 5800) & (long["date"] == "2022-06-01"))]
    with pytest.raises(DataError, match="partner 5800 has a gap in 2022"):
        census.finalize(holed, "x.xlsx")
    duplicated = pd.concat([long, long.iloc[[0]]])
    with pytest.raises(DataError, match="duplicate partner-month 3 2021-01"):
        census.finalize(duplicated, "x.xlsx")


def test_format_years() -> None:
    assert census.format_years([2001, 1997, 1998, 1999]) == "1997-1999, 2001"
    assert census.format_years([2015]) == "2015"


# ---- clean.run: files ------------------------------------------------------------------------


@pytest.fixture
def good_run(tmp_path: Path) -> clean.CleanResult:
    raw = write_xlsx(make_wide(), tmp_path / "country.xlsx")
    return clean.run(raw, tmp_path / "out", verify=False)


def test_run_writes_four_files_and_csv_round_trips(good_run: clean.CleanResult) -> None:
    out = good_run.out_dir
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["trade_monthly.csv", "trade_monthly.parquet", "trade_monthly.meta.json", "partners.csv"]
    )
    raw_text = (out / "trade_monthly.csv").read_bytes()
    assert b"\r" not in raw_text
    lines = raw_text.decode().splitlines()
    assert lines[0] == ",".join(config.TRADE_COLUMNS)
    assert '2022-03-01,5800,"Korea, South",False,278.3,339.0,-60.7' in lines
    assert lines[1].startswith("2021-01-01,3,European Union,True,")
    back = pd.read_csv(out / "trade_monthly.csv", parse_dates=["date"])
    assert tuple(back.columns) == config.TRADE_COLUMNS
    assert back["is_aggregate"].dtype == bool
    np.testing.assert_array_equal(back["partner_code"], good_run.trade["partner_code"])
    np.testing.assert_allclose(
        back[["exports", "imports", "balance"]],
        good_run.trade[["exports", "imports", "balance"]],
        atol=1e-9,
    )


def test_parquet_round_trip_and_determinism(good_run: clean.CleanResult) -> None:
    back = pd.read_parquet(good_run.out_dir / "trade_monthly.parquet")
    pd.testing.assert_frame_equal(back, good_run.trade)
    assert (
        clean.parquet_bytes(good_run.trade)
        == (good_run.out_dir / "trade_monthly.parquet").read_bytes()
    )


def test_second_run_is_byte_identical(good_run: clean.CleanResult, tmp_path: Path) -> None:
    again = clean.run(good_run.raw_path, tmp_path / "again", verify=False)
    for name in good_run.files:
        assert (good_run.out_dir / name).read_bytes() == (again.out_dir / name).read_bytes(), name


def test_meta_fields(good_run: clean.CleanResult) -> None:
    meta = json.loads((good_run.out_dir / "trade_monthly.meta.json").read_text())
    assert meta == good_run.meta
    assert meta["source"]["file"] == "country.xlsx" and meta["source"]["format"] == "xlsx"
    import hashlib

    assert meta["source"]["sha256"] == hashlib.sha256(good_run.raw_path.read_bytes()).hexdigest()
    assert meta["first_month"] == "2021-01" and meta["last_month"] == "2023-04"
    assert meta["rows"] == len(good_run.trade) == 5 * 28
    assert (meta["partners"], meta["countries"], meta["aggregates"]) == (5, 3, 2)
    assert meta["unpublished_months_dropped"] == [f"2023-{m:02d}" for m in range(5, 13)]
    assert meta["units"] == "US$ millions, not seasonally adjusted"
    assert "Census basis" in meta["basis"]
    assert meta["columns"] == list(config.TRADE_COLUMNS)
    assert meta["annual_sum_check"]["tolerance"] == census.ANNUAL_SUM_TOLERANCE
    for name in ("trade_monthly.csv", "trade_monthly.parquet", "partners.csv"):
        data = (good_run.out_dir / name).read_bytes()
        assert meta["outputs"][name] == {
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
        }


def test_partners_csv(good_run: clean.CleanResult) -> None:
    p = pd.read_csv(
        good_run.out_dir / "partners.csv", dtype={"first_month": str, "last_month": str}
    )
    assert list(p.columns) == [
        "partner_code",
        "partner",
        "slug",
        "is_aggregate",
        "first_month",
        "last_month",
        "months",
        "months_with_trade",
    ]
    k = p[p["partner_code"] == 5800].iloc[0]
    assert (k["partner"], k["slug"], bool(k["is_aggregate"])) == (
        "Korea, South",
        "korea-south",
        False,
    )
    assert (k["first_month"], k["last_month"], k["months"], k["months_with_trade"]) == (
        "2021-01",
        "2023-04",
        28,
        28,
    )
    tiny = p[p["partner_code"] == 7777].iloc[0]
    assert (tiny["months"], tiny["months_with_trade"]) == (28, 27)
    assert p["slug"].is_unique


def test_colliding_slugs_get_the_code(tmp_path: Path) -> None:
    df = make_wide([(4801, "Serbia"), (4802, "Serbia"), (5800, "Korea, South")])
    # The old 4802 stops after 2021: the current 4801 keeps the plain slug.
    df = df[~((df["CTY_CODE"] == "4802") & (df["year"] != "2021"))]
    trade = clean_frame(df)
    slugs = dict(
        zip(*[clean.partner_table(trade)[c] for c in ("partner_code", "slug")], strict=True)
    )
    assert slugs == {4801: "serbia", 4802: "serbia-4802", 5800: "korea-south"}


def test_format_value() -> None:
    assert clean.format_value(800.7) == "800.7"
    assert clean.format_value(0.0) == "0.0" and clean.format_value(-0.0) == "0.0"
    assert clean.format_value(0.000055) == "0.000055"
    assert clean.format_value(3195.544833) == "3195.544833"
    assert clean.format_value(-13199.7) == "-13199.7"


def test_data_quality_summary(good_run: clean.CleanResult) -> None:
    s = clean.data_quality_summary(good_run).set_index("measure")["value"]
    assert s["coverage"] == "2021-01 to 2023-04"
    assert s["partners"] == "5" and s["countries (code >= 1000)"] == "3"
    assert s["unpublished months dropped"] == "8 (2023-05 to 2023-12)"
    assert s["largest |annual total - sum of months|"].startswith("0 ")


def test_verify_runs_only_for_project_raw_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analysis.sources import fetch

    calls: list[tuple[str, Path]] = []

    def verify(source_id: str, path: Path | None = None) -> str:
        calls.append((source_id, Path(path)))
        raise ChecksumMismatch(path, "sha256 differs from data/raw/sources.json")

    monkeypatch.setattr(fetch, "verify", verify)
    monkeypatch.setattr(config, "RAW_DIR", tmp_path / "raw")
    (tmp_path / "raw").mkdir()
    outside = write_xlsx(make_wide(), tmp_path / "country.xlsx")
    clean.run(outside, tmp_path / "out1")  # not the project's raw file: no check
    assert calls == []
    inside = write_xlsx(make_wide(), tmp_path / "raw" / "country.xlsx")
    with pytest.raises(ChecksumMismatch, match="sha256 differs"):
        clean.run(inside, tmp_path / "out2")
    assert calls == [("census", inside)]
    assert not (tmp_path / "out2").exists()
    clean.run(inside, tmp_path / "out3", verify=False)  # skippable


# ---- integration: the real Census files ------------------------------------------------------


@pytest.fixture(scope="module")
def real_xlsx(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> clean.CleanResult:
    """The mirror's country.xlsx cleaned once for the module."""
    return clean.run(
        mirror / "census" / "country.xlsx", tmp_path_factory.mktemp("census"), verify=False
    )


@pytest.fixture(scope="module")
def real_csv(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> clean.CleanResult:
    return clean.run(
        mirror / "census" / "vintage-2016" / "us-trade.csv",
        tmp_path_factory.mktemp("census2016"),
        verify=False,
    )


def _annual(trade: pd.DataFrame, code: int) -> pd.DataFrame:
    k = trade[trade["partner_code"] == code]
    return k.groupby(k["date"].dt.year)[["exports", "imports", "balance"]].sum()


@pytest.mark.integration
def test_real_xlsx_korea(real_xlsx: clean.CleanResult) -> None:
    trade = real_xlsx.trade
    k = trade[trade["partner_code"] == 5800]
    assert set(k["partner"]) == {"Korea, South"}
    assert f"{k['date'].min():%Y-%m}" == "1985-01" and f"{k['date'].max():%Y-%m}" == "2024-06"
    annual = _annual(trade, 5800)
    assert annual.loc[2011, "balance"] == pytest.approx(-13199.7, abs=0.05)
    assert annual.loc[2011, "exports"] == pytest.approx(43461.6, abs=0.05)
    assert annual.loc[2015, "balance"] == pytest.approx(-28291.3, abs=0.05)
    assert real_xlsx.meta["unpublished_months_dropped"] == [f"2024-{m:02d}" for m in range(7, 13)]
    assert real_xlsx.meta["last_month"] == "2024-06"


@pytest.mark.integration
def test_real_xlsx_codes_and_files(real_xlsx: clean.CleanResult) -> None:
    p = real_xlsx.partners
    assert len(p) == 263 and p["slug"].is_unique
    agg = p[p["is_aggregate"]]
    assert {3, 4, 15}.issubset(set(agg["partner_code"]))
    assert set(agg["partner"]) >= {"European Union", "World, Not Seasonally Adjusted"}
    assert (p.loc[~p["is_aggregate"], "partner_code"] >= 1000).all()
    assert real_xlsx.meta["annual_sum_check"]["max_discrepancy"] <= census.ANNUAL_SUM_TOLERANCE
    back = pd.read_csv(real_xlsx.files["trade_monthly.csv"])
    k = back[(back["partner_code"] == 5800) & back["date"].str.startswith("2011")]
    assert k["balance"].sum() == pytest.approx(-13199.7, abs=0.05)


@pytest.mark.integration
def test_real_csv_vintage_2016(real_csv: clean.CleanResult) -> None:
    annual = _annual(real_csv.trade, 5800)
    assert annual.loc[2011, "balance"] == pytest.approx(-13199.7, abs=0.05)
    assert annual.loc[2015, "balance"] == pytest.approx(-28313.1, abs=0.05)
    assert real_csv.meta["last_month"] == "2016-11"
    assert real_csv.meta["unpublished_months_dropped"] == ["2016-12"]
    assert real_csv.meta["source"]["format"] == "csv"
    assert real_csv.meta["placeholder_rows_dropped"] == ["row 3771: 5220 Yemen"]
