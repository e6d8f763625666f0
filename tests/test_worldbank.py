"""analysis.sources.wdi: reading the WDI bulk CSV and Korea's macro panel."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from analysis.errors import DataError
from analysis.sources import wdi as worldbank

YEARS = [str(y) for y in range(1998, 2004)]


def write_wdi(
    path: Path,
    rows: list[list[str]],
    *,
    years: list[str] = YEARS,
    bom: bool = True,
    preamble: bool = True,
) -> Path:
    """A small file in the WDI bulk format: BOM, 4 preamble lines, header, trailing empty column."""
    lines = []
    if preamble:
        lines += [
            '"Data Source","World Development Indicators",',
            "",
            '"Last Updated Date","2025-03-24",',
            "",
        ]
    header = ["Country Name", "Country Code", "Indicator Name", "Indicator Code", *years]
    lines.append(",".join(f'"{h}"' for h in header) + ",")
    for r in rows:
        lines.append(",".join(f'"{v}"' for v in r) + ",")
    text = "\r\n".join(lines) + "\r\n"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def row(code: str, name: str, values: list[str], country: str = "KOR") -> list[str]:
    return ["Korea, Rep.", country, name, code, *values]


@pytest.fixture()
def wdi_file(tmp_path: Path) -> Path:
    return write_wdi(
        tmp_path / "API_KOR.csv",
        [
            row(
                "NY.GDP.MKTP.KD.ZG",
                "GDP growth (annual %)",
                ["-5.1", "11.5", "9.1", "4.9", "7.7", "3.1"],
            ),
            row("SL.UEM.TOTL.ZS", "Unemployment, total", ["7.0", "6.3", "4.4", "4.0", "3.3", ""]),
            row("NE.TRD.GNFS.ZS", "Trade (% of GDP)", ["70.1", "", "66.1", "62.2", "58.3", "61.2"]),
            row(
                "PA.NUS.FCRF",
                "Official exchange rate",
                ["1401.4", "1188.8", "1131.0", "1291.0", "1251.1", "1191.6"],
            ),
            row("AG.LND.TOTL.K2", "Land area", ["", "", "", "", "", ""]),
        ],
    )


def test_read_wdi_long_table(wdi_file: Path) -> None:
    wdi = worldbank.read_wdi(wdi_file)
    assert list(wdi.columns) == list(worldbank.WDI_COLUMNS)
    # empty cells dropped: 6 + 5 + 5 + 6 values, the all-empty indicator vanishes
    assert len(wdi) == 22
    assert "AG.LND.TOTL.K2" not in set(wdi["indicator_code"])
    g = wdi[(wdi["indicator_code"] == "NY.GDP.MKTP.KD.ZG") & (wdi["year"] == 1998)]
    assert g["value"].iloc[0] == pytest.approx(-5.1)
    assert g["indicator"].iloc[0] == "GDP growth (annual %)"
    assert wdi["year"].dtype.kind == "i"
    assert list(wdi["indicator_code"]) == sorted(wdi["indicator_code"])  # sorted by code, year


def test_wdi_value_and_series(wdi_file: Path) -> None:
    wdi = worldbank.read_wdi(wdi_file)
    assert worldbank.wdi_value(wdi, "PA.NUS.FCRF", 2001) == pytest.approx(1291.0)
    assert worldbank.wdi_value(wdi, "SL.UEM.TOTL.ZS", 2003) is None  # empty cell
    assert worldbank.wdi_value(wdi, "XX.NOPE", 2000) is None
    s = worldbank.wdi_series(wdi, "NE.TRD.GNFS.ZS")
    assert list(s.index) == [1998, 2000, 2001, 2002, 2003]
    with pytest.raises(DataError, match="XX.NOPE"):
        worldbank.wdi_series(wdi, "XX.NOPE")


def test_korea_macro(wdi_file: Path) -> None:
    wdi = worldbank.read_wdi(wdi_file)
    macro = worldbank.korea_macro(wdi, start=1999)
    assert list(macro.columns) == list(worldbank.MACRO_INDICATORS)
    assert list(macro.index) == [1999, 2000, 2001, 2002, 2003]
    assert macro.loc[2000, "gdp_growth"] == pytest.approx(9.1)
    assert macro.loc[2002, "unemployment"] == pytest.approx(3.3)
    assert math.isnan(macro.loc[1999, "trade_pct_gdp"])  # a gap stays a gap
    assert math.isnan(macro.loc[2003, "unemployment"])
    assert list(worldbank.korea_macro(wdi, start=1998, end=2000).index) == [1998, 1999, 2000]


def test_korea_macro_missing_indicator(tmp_path: Path) -> None:
    path = write_wdi(
        tmp_path / "w.csv", [row("NY.GDP.MKTP.KD.ZG", "GDP growth", ["1", "2", "3", "4", "5", "6"])]
    )
    with pytest.raises(DataError, match="SL.UEM.TOTL.ZS"):
        worldbank.korea_macro(worldbank.read_wdi(path))


def test_read_wdi_without_bom(tmp_path: Path) -> None:
    path = write_wdi(
        tmp_path / "w.csv", [row("X.Y", "x", ["1", "2", "3", "4", "5", "6"])], bom=False
    )
    assert len(worldbank.read_wdi(path)) == 6


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "not found"),
        (lambda p: (p.write_text("a,b\n1,2\n"), p)[1], "not a"),
        (
            lambda p: write_wdi(
                p, [row(f"X.{i}", "x", ["1"] * 6) for i in range(6)], preamble=False
            ),
            "not a WDI bulk CSV",
        ),
        (
            lambda p: write_wdi(p, [row("X.Y", "x", ["1"] * 6)], preamble=False),
            "not a readable WDI bulk CSV",
        ),
        (
            lambda p: write_wdi(p, [row("X.Y", "x", ["1"] * 6), row("X.Y", "x", ["2"] * 6)]),
            "repeated: X.Y",
        ),
        (
            lambda p: write_wdi(p, [row("X.Y", "x", ["1", "2", "n/a", "4", "5", "6"])]),
            "non-numeric value 'n/a'",
        ),
        (
            lambda p: write_wdi(
                p, [row("X.Y", "x", ["1"] * 6), row("X.Z", "z", ["1"] * 6, country="JPN")]
            ),
            "one country",
        ),
        (lambda p: write_wdi(p, [row("X.Y", "x", [])], years=[]), "no year columns"),
    ],
)
def test_read_wdi_bad_files(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path / "bad.csv")
    with pytest.raises(DataError, match=message) as info:
        worldbank.read_wdi(path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text


@pytest.mark.integration
def test_real_wdi_file(mirror: Path) -> None:
    path = mirror / "worldbank" / "API_KOR_DS2_en_csv_v2_15934.csv"
    if not path.exists():
        pytest.skip(f"{path} not in the mirror")
    wdi = worldbank.read_wdi(path)
    macro = worldbank.korea_macro(wdi)
    # Spot values from the mirror's PROVENANCE file.
    assert macro.loc[2011, "gdp_growth"] == pytest.approx(3.69, abs=0.005)
    assert macro.loc[2015, "trade_pct_gdp"] == pytest.approx(79.1, abs=0.05)
    assert macro.loc[2015, "unemployment"] == pytest.approx(3.55, abs=0.005)
    assert macro.index.min() == 2000 and macro.index.max() == 2023
    assert macro.notna().all().all()
