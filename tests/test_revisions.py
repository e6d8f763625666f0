"""Revisions between vintages: annual totals of the 2016 table, country.xlsx and the API extract."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from analysis.clean import revisions as rev
from analysis.errors import DataError
from analysis.sources import census as census_source

MONTHS = census_source.MONTHS


def wide_csv(
    path: Path, rows: dict[tuple[str, str, int], float], last_month: int = 12, newline: str = "\r"
) -> Path:
    """A Census table CSV: ``rows`` maps (code, name, year) to a monthly import value (exports
    are twice that); months after ``last_month`` of the latest year are 0."""
    latest = max(y for _, _, y in rows)
    lines = [",".join(census_source.WIDE_COLUMNS)]
    for (code, name, year), v in rows.items():
        months = [v if (year < latest or m <= last_month) else 0.0 for m in range(1, 13)]
        exports = [2 * x for x in months]
        cells = [
            str(year),
            code,
            f'"{name}"',
            *map(str, months),
            str(sum(months)),
            *map(str, exports),
            str(sum(exports)),
        ]
        lines.append(",".join(cells))
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    return path


def api_csv(path: Path, value_col: str, rows: list[tuple[str, str, int, int, int]]) -> Path:
    lines = [f"CTY_CODE,CTY_NAME,{value_col},YEAR,MONTH"]
    lines += [f"{c},{n},{v},{y},{m:02d}" for c, n, v, y, m in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    old = wide_csv(
        tmp_path / "old.csv",
        {
            ("0001", "OPEC", 2015): 10.0,
            ("5800", "Korea, South", 2015): 100.0,
            ("5800", "Korea, South", 2016): 100.0,
        },
        last_month=11,
    )
    new = wide_csv(
        tmp_path / "new.csv",
        {
            ("0001", "OPEC", 2015): 10.0,
            ("5800", "Korea, South", 2015): 101.0,
            ("5800", "Korea, South", 2016): 102.0,
        },
        newline="\n",
    )
    api_rows = [
        (c, "X", v, 2016, m)
        for m in range(1, 13)
        for c, v in (("5800", 102_500_000), ("0001", 1), ("-", 5))
    ]
    exp = api_csv(
        tmp_path / "exp.csv", "ALL_VAL_MO", [(c, n, 2 * v, y, m) for c, n, v, y, m in api_rows]
    )
    imp = api_csv(tmp_path / "imp.csv", "GEN_VAL_MO", api_rows)
    return {"old": old, "new": new, "exp": exp, "imp": imp}


def test_three_vintages_compared(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "revisions.csv"
    table = rev.run(out, files["new"], files["old"], (files["exp"], files["imp"]))
    assert list(table.columns) == list(rev.COLUMNS)
    korea = table[(table["partner_code"] == 5800) & (table["flow"] == "imports")]
    # 2016 is not a full year in the old table (Dec is 0): only 2015 for the old/new pair
    assert korea[["year", "vintage_a", "vintage_b"]].values.tolist() == [
        [2015, "table-2017-01", "xlsx-2024-06"],
        [2016, "xlsx-2024-06", "api-2025-10"],
    ]
    r15, r16 = korea.iloc[0], korea.iloc[1]
    assert (r15["value_a"], r15["value_b"], r15["revision"]) == (1200.0, 1212.0, 12.0)
    assert r15["revision_pct"] == pytest.approx(1.0)
    assert (r16["value_a"], r16["value_b"]) == (1224.0, 1230.0)  # API US$ -> millions
    # the API's aggregates (0001, "-") are not compared; the tables' OPEC is
    assert set(table.loc[table["vintage_b"] == "api-2025-10", "partner_code"]) == {5800}
    assert 1 in set(table.loc[table["vintage_b"] == "xlsx-2024-06", "partner_code"])
    assert table.loc[table["partner_code"] == 5800, "partner"].iloc[0] == "Korea, South"
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(rev.COLUMNS)


def test_zero_base_gives_empty_percentage(tmp_path: Path) -> None:
    annual = pd.DataFrame(
        {
            "partner_code": [7000],
            "partner": ["Z"],
            "flow": ["imports"],
            "year": [2020],
            "value": [0.0],
        }
    )
    a = rev.Vintage("a", annual)
    b = rev.Vintage("b", annual.assign(value=[5.0]))
    table = rev.revisions([a, b])
    assert math.isnan(table["revision_pct"].iloc[0]) and table["revision"].iloc[0] == 5.0
    assert rev.csv_bytes(table).decode().splitlines()[1] == "7000,Z,imports,2020,a,b,0.0,5.0,5.0,"


def test_one_vintage_is_not_enough(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(DataError, match="two vintages"):
        rev.run(
            tmp_path / "r.csv",
            files["new"],
            tmp_path / "absent.csv",
            (tmp_path / "x.csv", files["imp"]),
        )
    assert "absent.csv not found" in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()


@pytest.mark.integration
def test_korea_revisions_from_the_mirror(mirror: Path, tmp_path: Path) -> None:
    api_dir = mirror / "census-api"
    table = rev.run(
        tmp_path / "revisions.csv",
        mirror / "census" / "country.xlsx",
        mirror / "census" / "vintage-2016" / "us-trade.csv",
        (
            api_dir / "exports_by_country_2013_2024.csv",
            api_dir / "imports_by_country_2013_2024.csv",
        ),
    )
    korea = table[table["partner_code"] == 5800]
    row = korea[(korea["flow"] == "imports") & (korea["year"] == 2023)].iloc[0]
    assert (row["vintage_a"], row["vintage_b"]) == ("xlsx-2024-06", "api-2025-10")
    assert round(row["value_a"], 1) == 116_154.5 and round(row["value_b"], 1) == 116_314.6
    assert row["revision"] == pytest.approx(160.1, abs=0.1)
    settled = korea[korea["year"].isin([2014, 2015])]
    assert len(settled) == 12  # 2 flows x 2 years x 3 pairs
    assert (settled["revision_pct"].abs() <= 0.1).all()
    # the 2016 table has 11 months of 2016: not a full year, not compared
    assert not ((korea["year"] == 2016) & (korea["vintage_a"] == "table-2017-01")).any()
