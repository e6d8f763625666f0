"""Census months against the calendar and per partner: a future month is refused (at
acquisition and in cleaning), each partner keeps its own last published month, a month Census
has not published never becomes a zero row, and a part year is never a complete year.

The files are small synthetic Census tables (see test_census.py) written with openpyxl.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from test_census import export_value, import_value, make_wide, write_xlsx

from analysis import config
from analysis.clean import census, series
from analysis.clean import table as clean
from analysis.errors import DataError
from analysis.models.comparison import annual_totals
from analysis.report.landing import latest_complete_year
from analysis.sources import census as census_source

NEXT_YEAR = dt.date.today().year + 1  # the latest year the year check accepts


def row(code: int, name: str, year: int, months: dict[int, tuple[float, float]]) -> list[object]:
    """One wide row as Census stores it; ``months`` maps month -> (imports, exports), others 0."""
    imp = [months.get(m, (0.0, 0.0))[0] for m in range(1, 13)]
    exp = [months.get(m, (0.0, 0.0))[1] for m in range(1, 13)]
    return [str(year), f"{code:04d}", name, *imp, round(sum(imp), 6), *exp, round(sum(exp), 6)]


def values(code: int, year: int, months: range) -> dict[int, tuple[float, float]]:
    return {m: (import_value(code, year, m), export_value(code, year, m)) for m in months}


def with_rows(df: pd.DataFrame, rows: list[list[object]]) -> pd.DataFrame:
    return pd.concat([df, pd.DataFrame(rows, columns=df.columns)], ignore_index=True)


def redate(path: Path, when: dt.datetime, *, core: dt.datetime | None = None) -> Path:
    """Rewrite an xlsx with every zip member dated ``when`` and the document properties'
    modified/created dates set to ``core`` (default ``when``)."""
    stamp = (core or when).strftime("%Y-%m-%dT%H:%M:%SZ")
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "docProps/core.xml":
                text = data.decode("utf-8")
                for tag in ("modified", "created"):
                    text = re.sub(
                        rf"(<dcterms:{tag}[^>]*>)[^<]*(</dcterms:{tag}>)",
                        rf"\g<1>{stamp}\g<2>",
                        text,
                    )
                data = text.encode("utf-8")
            dst.writestr(zipfile.ZipInfo(info.filename, when.timetuple()[:6]), data)
    path.write_bytes(buf.getvalue())
    return path


# ---- a future month ----------------------------------------------------------------------------


@pytest.fixture
def future_japan(tmp_path: Path) -> Path:
    """The real file's shape (2021-2023, published through 2023-04) plus rows for Japan only
    from 2024 to next year, with trade in December of next year (after today)."""
    extra = [row(5880, "Japan", y, {}) for y in range(2024, NEXT_YEAR)]
    extra.append(row(5880, "Japan", NEXT_YEAR, {12: (5.5, 4.5)}))
    return write_xlsx(with_rows(make_wide(), extra), tmp_path / "country.xlsx")


def test_future_month_of_one_partner_is_refused_at_acquisition(future_japan: Path) -> None:
    with pytest.raises(DataError) as err:
        census_source.check_content(future_japan, "country.xlsx")
    msg = str(err.value)
    assert msg.startswith("country.xlsx: Japan (5880) has trade in ")
    assert f"in {NEXT_YEAR}-12, a month that had not ended by " in msg
    assert "\n" not in msg


def test_future_month_of_one_partner_is_refused_in_cleaning(
    future_japan: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with pytest.raises(DataError, match=rf"Japan \(5880\) has trade in {NEXT_YEAR}-12, ") as err:
        clean.run(future_japan, out, verify=False)
    assert str(err.value).startswith(f"{future_japan}: ") and "\n" not in str(err.value)
    assert not out.exists()  # nothing written
    done = subprocess.run(
        [sys.executable, "-m", "analysis.clean.table", str(future_japan), str(out), "--no-verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "country.xlsx" in lines[0] and f"Japan (5880) has trade in {NEXT_YEAR}-12" in lines[0]


def test_month_not_over_by_the_files_own_date_is_refused(tmp_path: Path) -> None:
    # Published through 2023-05 in a file dated 2023-05-10: May had not ended.
    path = redate(
        write_xlsx(make_wide(published=5), tmp_path / "country.xlsx"), dt.datetime(2023, 5, 10)
    )
    expected = (
        "European Union (3) has trade in 2023-05, a month that had not ended by the file's own "
        "date (2023-05-10)"
    )
    with pytest.raises(DataError, match=re.escape(expected)):
        census_source.check_content(path, "country.xlsx")
    with pytest.raises(DataError, match=re.escape(expected)):
        clean.run(path, tmp_path / "out", verify=False)
    assert census_source.file_date(path) == dt.date(2023, 5, 10)
    # Through 2023-04 in the same file is fine.
    ok = redate(write_xlsx(make_wide(published=4), tmp_path / "ok.xlsx"), dt.datetime(2023, 5, 10))
    assert census_source.check_content(ok, "ok.xlsx") == ("2021-01", "2023-04")
    assert clean.run(ok, tmp_path / "out", verify=False).meta["last_month"] == "2023-04"


def test_file_date_is_the_latest_date_the_workbook_carries(tmp_path: Path) -> None:
    # Census's own file keeps a stale "modified" property (2023-07-07 in the 2024-06 vintage)
    # while its zip members carry the date it was written: the latest date counts.
    path = write_xlsx(make_wide(), tmp_path / "country.xlsx")
    redate(path, dt.datetime(2024, 7, 29, 12, 35), core=dt.datetime(2023, 7, 7, 14, 22))
    assert census_source.file_date(path) == dt.date(2024, 7, 29)
    assert census_source.publication_date(path, today=dt.date(2030, 1, 1)) == (
        dt.date(2024, 7, 29),
        "the file's own date",
    )
    # Today, when it is earlier; and for a CSV, which carries no date.
    assert census_source.publication_date(path, today=dt.date(2024, 7, 1)).source == "today"
    assert census_source.file_date(b"year,CTY_CODE\n") is None


# ---- each partner's own months -----------------------------------------------------------------


def different_ends(published: int = 4) -> pd.DataFrame:
    """2021-2023 for every partner (2023 published through ``published``; Tinyland has a real
    zero in 2023-``published`` and in 2022-07); Japan alone continues with 2024-01..03; a
    retired aggregate (6) ends in 2022-06, while the others publish 2022-07..12."""
    df = make_wide(published=published)
    tiny = (df["CTY_CODE"] == "7777") & (df["year"] == "2022")
    df.loc[tiny, ["IJUL", "EJUL"]] = 0.0
    df.loc[tiny, "IYR"] = df.loc[tiny, list(census.IMPORT_MONTHS)].sum(axis=1)
    df.loc[tiny, "EYR"] = df.loc[tiny, list(census.EXPORT_MONTHS)].sum(axis=1)
    return with_rows(
        df,
        [
            row(5880, "Japan", 2024, values(5880, 2024, range(1, 4))),
            row(6, "Retired aggregate", 2021, values(6, 2021, range(1, 13))),
            row(6, "Retired aggregate", 2022, values(6, 2022, range(1, 7))),
        ],
    )


@pytest.fixture
def different_ends_run(tmp_path: Path) -> clean.CleanResult:
    path = write_xlsx(different_ends(), tmp_path / "country.xlsx")
    return clean.run(path, tmp_path / "out", verify=False)


def test_partners_ending_in_different_months_keep_their_own_last_month(
    different_ends_run: clean.CleanResult,
) -> None:
    trade, partners = different_ends_run.trade, different_ends_run.partners
    last = dict(zip(partners["partner_code"], partners["last_month"], strict=True))
    months = dict(zip(partners["partner_code"], partners["months"], strict=True))
    # Korea's rows stop a year before Japan's: Korea ends with the months published in 2023.
    assert last[5800] == "2023-04" and months[5800] == 24 + 4
    assert trade.loc[trade["partner_code"] == 5800, "date"].max() == pd.Timestamp("2023-04-01")
    # Japan ends in its own last month; 2023-05..12, which nobody published, is no zero row.
    assert last[5880] == "2024-03" and months[5880] == 24 + 4 + 3
    japan = trade[trade["partner_code"] == 5880].set_index("date")
    assert not japan.index.isin(pd.date_range("2023-05-01", "2023-12-01", freq="MS")).any()
    assert japan.loc["2024-03-01", "exports"] == export_value(5880, 2024, 3)
    # No partner has a month after 2023-04 but Japan, and no zero row for an unpublished month.
    after = trade[trade["date"] > "2023-04-01"]
    assert set(after["partner_code"]) == {5880} and (after["exports"] > 0).all()
    assert different_ends_run.meta["unpublished_months_dropped"] == [
        *(f"2023-{m:02d}" for m in range(5, 13)),
        *(f"2024-{m:02d}" for m in range(4, 13)),
    ]
    # Real zeros stay: Tinyland's quiet month mid-series and in the last published month, and
    # a retired code's zeros in months the others published.
    tiny = trade[trade["partner_code"] == 7777].set_index("date")
    assert tiny.loc["2022-07-01", ["exports", "imports"]].tolist() == [0.0, 0.0]
    assert tiny.loc["2023-04-01", ["exports", "imports"]].tolist() == [0.0, 0.0]
    assert last[7777] == "2023-04"
    retired = trade[trade["partner_code"] == 6].set_index("date")
    assert len(retired) == 24 and (retired.loc["2022-07-01":, "exports"] == 0).all()


def test_the_same_rule_on_the_long_table() -> None:
    wide = census.validate_wide(different_ends(), "x.xlsx")
    assert census.published_months(wide) == {2021: 12, 2022: 12, 2023: 4, 2024: 3}
    long = census.to_long(wide)
    explicit = census.drop_unpublished(long, census.unpublished_months(wide))
    pd.testing.assert_frame_equal(census.drop_unpublished(long), explicit)
    census.finalize(explicit, "x.xlsx")  # each partner-year holds its year's published months


def test_half_year_is_not_a_complete_year(tmp_path: Path) -> None:
    path = write_xlsx(different_ends(published=6), tmp_path / "country.xlsx")
    result = clean.run(path, tmp_path / "out", verify=False)
    trade = series.load_trade(result.out_dir / config.TRADE_MONTHLY_CSV.name)
    korea = series.annual(series.partner_monthly(trade, 5800)).set_index("year")
    assert korea.loc[2023, "months"] == 6 and not korea.loc[2023, "complete"]
    assert korea.loc[2022, "complete"]
    # The landing page's "Key numbers, <year>" and the comparison pages agree: 2022.
    assert latest_complete_year({"annual": korea.reset_index().to_dict("records")})["year"] == 2022
    totals = annual_totals(trade, [5800]).set_index("year")
    assert totals.loc[2023, "months"] == 6 and not totals.loc[2023, "complete"]
    # Japan's 2023 has the months published that year, not 12 with invented zeros.
    japan = series.annual(series.partner_monthly(trade, 5880)).set_index("year")
    assert japan.loc[2023, "months"] == 6 and japan.loc[2024, "months"] == 3
    assert not japan.loc[2023, "complete"] and not japan.loc[2024, "complete"]
