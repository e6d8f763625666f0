"""The product table trade_hs_monthly: unit tests on small fixtures, and Korea's HS 87 imports."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from analysis.clean import products
from analysis.errors import DataError
from analysis.models import sectors

HEADER = "I_COMMODITY,I_COMMODITY_LDESC,I_COMMODITY_SDESC,CTY_CODE,CTY_NAME,GEN_VAL_MO,YEAR,MONTH,COMM_LVL"
LINES = [
    '87,"VEHICLES, OTHER",VEH,-,TOTAL FOR ALL COUNTRIES,9000000000,2023,01,HS2',
    '87,"VEHICLES, OTHER",VEH,0003,EUROPEAN UNION,4000000000,2023,01,HS2',
    '87,"VEHICLES, OTHER",VEH,5800,"KOREA, SOUTH",3000000000,2023,01,HS2',
    '87,"VEHICLES, NEW NAME",VEH,5800,"KOREA, SOUTH",3500000000,2023,02,HS2',
    "03,FISH,FISH,1220,CANADA,1234567,2023,01,HS2",
]


def write_extract(path: Path, lines: list[str]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
        fh.write("\n".join([HEADER, *lines]) + "\n")
    return path


def test_mirror_extract_to_product_table(tmp_path: Path) -> None:
    raw = write_extract(tmp_path / "hs2.csv.gz", LINES)
    table = products.run_mirror(raw, tmp_path / "out")
    assert list(table.columns) == list(products.COLUMNS)
    # countries only: the API's aggregates ("-", 0003 EU) are numbered unlike country.xlsx
    assert sorted(table["partner_code"].unique()) == [1220, 5800]
    korea = table[table["partner_code"] == 5800]
    assert korea["value"].tolist() == [3000.0, 3500.0]  # US$ millions
    assert set(korea["description"]) == {"VEHICLES, NEW NAME"}  # one per code: the latest
    assert table.loc[table["partner_code"] == 1220, "hs_code"].tolist() == ["03"]  # leading zero
    assert set(table["flow"]) == {"imports"} and set(table["level"]) == {"HS2"}
    assert set(table["source"]) == {products.SOURCE_EXTRACT}
    csv = (tmp_path / "out" / products.CSV_NAME).read_text(encoding="utf-8").splitlines()
    assert csv[0] == ",".join(products.COLUMNS)
    assert csv[1] == "2023-01-01,1220,imports,HS2,03,FISH,1.234567,census_hs2_imports"
    parquet = pd.read_parquet(tmp_path / "out" / products.PARQUET_NAME)
    assert parquet["hs_code"].tolist() == table["hs_code"].tolist()
    assert not list((tmp_path / "out").glob(".*"))  # no temporary files left


def test_second_run_is_byte_identical(tmp_path: Path) -> None:
    raw = write_extract(tmp_path / "hs2.csv.gz", LINES)
    products.run_mirror(raw, tmp_path / "a")
    products.run_mirror(raw, tmp_path / "b")
    for name in (products.CSV_NAME, products.PARQUET_NAME):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (LINES[2:3] * 2, "duplicate rows"),
        (["87,V,V,5800,K,-5,2023,01,HS2"], "negative"),
        (["870,V,V,5800,K,5,2023,01,HS2"], "does not match its level"),
    ],
)
def test_sanity_checks_refuse_bad_tables(tmp_path: Path, lines: list[str], problem: str) -> None:
    raw = write_extract(tmp_path / "hs2.csv.gz", lines)
    with pytest.raises(DataError, match=problem):
        products.run_mirror(raw, tmp_path / "out")
    assert not (tmp_path / "out" / products.CSV_NAME).exists()


class FakeClient:
    """Stands in for the API client: answers each flow with a small table in the API's form."""

    def __init__(self) -> None:
        self.queries: list[object] = []

    def fetch(self, queries: list[products.api.Query]) -> pd.DataFrame:
        self.queries += queries
        q = queries[0]
        c, v = q.spec.commodity, q.spec.value
        return pd.DataFrame(
            {
                c: ["8703", "8703"],
                f"{c}_LDESC": ["CARS", "CARS"],
                "CTY_CODE": ["5800", "0020"],
                "CTY_NAME": ["KOREA, SOUTH", "USMCA"],
                v: [2_500_000, 9],
                "MONTH": ["03", "03"],
                "COMM_LVL": [q.level, q.level],
                "YEAR": [str(q.year), str(q.year)],
            }
        )


def test_api_answers_to_product_table(tmp_path: Path) -> None:
    client = FakeClient()
    table = products.run_api(
        tmp_path,
        flows=["exports", "imports"],
        levels=["HS4"],
        years=[2024],
        client=client,
        chapter_list=["87"],
    )  # type: ignore[arg-type]
    assert len(client.queries) == 2
    assert table[["flow", "level", "hs_code", "partner_code", "value"]].values.tolist() == [
        ["exports", "HS4", "8703", 5800, 2.5],
        ["imports", "HS4", "8703", 5800, 2.5],
    ]
    assert set(table["source"]) == {products.SOURCE_API}
    assert str(table["date"].iloc[0].date()) == "2024-03-01"


@pytest.mark.integration
def test_korea_vehicles_imports_from_the_mirror(real_products: Path) -> None:
    # The mirror's extract through products.run_mirror (conftest), read back as the pages do.
    table = sectors.load_products(real_products)
    korea = table[(table["partner_code"] == 5800) & (table["hs_code"] == "87")]
    by_year = korea.groupby(korea["date"].dt.year)["value"].sum() / 1000  # US$ bn
    assert round(by_year[2023], 2) == 37.52  # PROVENANCE: 37.52 bn
    assert round(by_year[2024], 2) == 44.47  # PROVENANCE: 44.47 bn
    assert (korea.groupby(korea["date"].dt.year).size() == 12).all()
    assert table["partner_code"].min() >= 1000


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = write_extract(tmp_path / "hs2.csv.gz", LINES)
    assert products.main(["--raw", str(raw), "--out-dir", str(tmp_path / "out")]) == 0
    assert "3 rows, 2 countries, 2023-01..2023-02" in capsys.readouterr().out
    assert (
        products.main(["--raw", str(tmp_path / "absent.csv.gz"), "--out-dir", str(tmp_path)]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err


def test_api_source_without_key_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CENSUS_API_KEY", raising=False)
    monkeypatch.setattr(products.api, "CACHE_DIR", tmp_path / "cache")
    assert (
        products.main(
            [
                "--source",
                "api",
                "--from",
                "2024",
                "--chapter",
                "87",
                "--level",
                "HS4",
                "--out-dir",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "CENSUS_API_KEY" in capsys.readouterr().err
