"""analysis.models.sectors and analysis.report.sectors: HS sections, product groups, coverage, the page's text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import config
from analysis.models import sectors as sec
from analysis.report import sectors as page


def fixture_table(
    flows: tuple[str, ...] = ("imports",), years: tuple[int, ...] = (2023,)
) -> pd.DataFrame:
    """Partner 5800 at HS2, every month: imports 87 = 30, 72 = 5, 03 = 1, 84 = 64 (total 100);
    exports 87 = 2, 84 = 8 (total 10). US$ millions."""
    rows = []
    values = {
        "imports": {"87": 30.0, "72": 5.0, "03": 1.0, "84": 64.0},
        "exports": {"87": 2.0, "84": 8.0},
    }
    for year in years:
        for mo in range(1, 13):
            for flow in flows:
                rows += [
                    (pd.Timestamp(year, mo, 1), 5800, flow, "HS2", c, f"chapter {c}", v, "test")
                    for c, v in values[flow].items()
                ]
    return pd.DataFrame(rows, columns=list(sec.PRODUCT_COLUMNS))


def test_section_mapping_covers_every_chapter_but_77() -> None:
    sections = sec.load_sections()
    assert sorted(sections["chapter"]) == [f"{c:02d}" for c in range(1, 98) if c != 77]
    assert sections["section"].nunique() == 21
    by = sections.set_index("chapter")["numeral"]
    assert (
        by["87"] == "XVII"
        and by["72"] == "XV"
        and by["27"] == "V"
        and by["01"] == "I"
        and by["97"] == "XXI"
    )
    assert "wcoomd.org" in pd.read_csv(sec.SECTIONS_PATH)["source"].iloc[0]


def test_composition_and_group_shares() -> None:
    table = fixture_table()
    chapters = sec.chapter_annual(table, 5800, "imports", sec.load_sections())
    assert chapters["value"].sum() == pytest.approx(1200.0)
    sections = sec.section_annual(chapters).set_index("numeral")
    assert sections.loc["XVII", "share"] == pytest.approx(30.0)
    assert sections.loc["XVI", "share"] == pytest.approx(64.0)
    annual = sec.group_annual(table, 5800).set_index("group")
    assert annual.loc["vehicles", "value"] == pytest.approx(360.0)
    assert annual.loc["vehicles", "share"] == pytest.approx(30.0)
    assert annual.loc["steel", "share"] == pytest.approx(5.0)
    assert annual.loc["farm", "share"] == pytest.approx(1.0)
    assert annual.loc["aluminum", "share"] == 0.0
    assert "cars" not in annual.index  # HS4 group: never approximated from its chapter


def test_balance_needs_both_flows() -> None:
    assert sec.group_balance(sec.group_annual(fixture_table(), 5800)).empty
    both = sec.group_balance(
        sec.group_annual(fixture_table(("exports", "imports")), 5800)
    ).set_index("group")
    assert both.loc["vehicles", "balance"] == pytest.approx(-28 * 12)
    assert both.loc["vehicles", "share_of_balance"] == pytest.approx(100 * 28 / 90)


def test_missing_level_message() -> None:
    cov = sec.coverage(fixture_table(), 5800)
    assert cov.flows == ("imports",) and cov.first == "2023-01" and cov.last == "2023-12"
    missing = dict((g.key, need) for g, need in sec.missing_groups(cov))
    assert (
        missing["cars"]
        == "U.S. exports and imports at HS4 (the table has no exports; imports at HS2)"
    )
    assert missing["lng"].startswith("U.S. exports and imports at HS6")
    assert missing["vehicles"] == "U.S. exports at HS2 (the table has no exports)"
    text = page.coverage_text(cov, "Korea, South")
    assert "U.S. imports from South Korea at HS2, monthly, 2023-01 to 2023-12" in text
    assert "make products-api" in text and "no exports" in text


def test_no_table_and_no_partner() -> None:
    line = page.no_products_line("data/processed/trade_hs_monthly.csv")
    assert (
        "No product table" in line and "CENSUS\\_API\\_KEY" not in line and "CENSUS_API_KEY" in line
    )
    assert sec.coverage(None, 5800).empty
    assert sec.group_annual(None, 5800).empty
    assert sec.load_products(Path("/nonexistent/trade_hs_monthly.csv")) is None
    assert "no rows for South Korea" in page.coverage_text(
        sec.coverage(fixture_table(), 1220), "Korea, South"
    )


def test_the_product_table_is_read_once_a_process_while_its_file_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch kernel builds many partners' sectors pages from one product table: the CSV is
    parsed once (about 1.2 s for the real one) while the file is the same (path, inode, size,
    mtime), each call gets its own copy, and a rewritten file is read again."""
    import os

    path = tmp_path / "trade_hs_monthly.csv"
    table = fixture_table()
    table.assign(date=table["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    reads = []
    real = pd.read_csv
    monkeypatch.setattr(pd, "read_csv", lambda *a, **k: reads.append(a) or real(*a, **k))
    first = sec.load_products(path)
    first.loc[:, "value"] = -1.0  # a notebook that changes its copy
    second = sec.load_products(path)
    assert len(reads) == 1
    assert second["value"].sum() == table["value"].sum() and second.equals(sec.load_products(path))
    pd.testing.assert_frame_equal(second, table)  # the same dtypes as read from the file
    table.assign(value=table["value"] * 2, date=table["date"].dt.strftime("%Y-%m-%d")).to_csv(
        path, index=False
    )
    os.utime(path, ns=(1, 1))  # whatever the clock: another mtime
    assert sec.load_products(path)["value"].sum() == 2 * table["value"].sum()
    assert len(reads) == 2


def test_sentences_and_tables() -> None:
    annual = sec.group_annual(fixture_table(), 5800)
    text = page.groups_sentence(annual, "Korea, South")
    assert "vehicles and parts (HS 87)" in text and "30.0%" in text
    table = page.group_table(annual)
    assert (
        list(table.columns[:3]) == ["Product group", "HS codes", "Flow"]
        and "2023 (US$ bn)" in table.columns
    )
    assert sec.GROUPS[4].codes_text == "HS 01–24"


@pytest.mark.integration
def test_korea_vehicles_imports_2023_2024(real_products: Path) -> None:
    table = sec.load_products(real_products)
    annual = sec.group_annual(table, 5800).set_index(["group", "year"])
    assert annual.loc[("vehicles", 2023), "value"] / 1000 == pytest.approx(37.52, abs=0.005)
    assert annual.loc[("vehicles", 2024), "value"] / 1000 == pytest.approx(44.47, abs=0.005)


def _months_only(table: pd.DataFrame, first: str) -> pd.DataFrame:
    """``table`` from ``first`` on (North Korea's product data: 2023-05 to 2023-12)."""
    return table[table["date"] >= pd.Timestamp(first)].reset_index(drop=True)


def test_no_complete_year_is_one_line_not_a_crash() -> None:
    part = _months_only(fixture_table(), "2023-05-01")
    cov = sec.coverage(part, 5800)
    assert cov.complete_years == {"imports": ()}
    assert sec.section_annual(sec.chapter_annual(part, 5800, "imports", sec.load_sections())).empty
    line = page.no_complete_year_line(cov, "Korea, North", "imports")
    assert line == (
        "No complete year of product data for U.S. imports from North Korea (2023-05 to "
        "2023-12): the composition by HS section needs all twelve months of a year."
    )
    assert page.no_complete_year_line(sec.coverage(fixture_table(), 5800), "x", "imports") is None


@pytest.mark.slow
def test_sectors_page_of_a_partner_without_a_complete_year(tmp_path: Path) -> None:
    """The notebook runs to the end (it stopped with ``cannot convert float NaN to integer``
    in plot_sections) and says so in one line; no figure of sections is drawn."""
    import csv
    import json
    import os
    import shutil
    import subprocess
    import sys

    from analysis.partners import PARTNER_COLUMNS

    root = tmp_path / "repo"
    (root / "data" / "processed").mkdir(parents=True)
    # The agreement and event dates the page reads (analysis.external), as committed.
    shutil.copytree(config.EXTERNAL_DIR, root / "data" / "external")
    with open(root / "data" / "processed" / "partners.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(PARTNER_COLUMNS)
        w.writerow([5790, "Korea, North", "korea-north", "False", "2023-05", "2023-12", 8, 8])
    products = tmp_path / "products.csv"
    table = _months_only(fixture_table(), "2023-05-01").assign(partner_code=5790)
    table.to_csv(products, index=False)
    out = tmp_path / "korea-north"
    env = {
        **os.environ,
        "ANALYSIS_ROOT": str(root),
        "PYTHONPATH": str(config.ROOT / "src"),
        "MPLBACKEND": "Agg",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "analysis.pipeline.run_notebook"]
        + [str(config.ROOT / "notebooks" / "06_sectors.ipynb"), str(out / "06_sectors.ipynb")]
        + ["-r", "out_dir", str(out), "-r", "partner", "5790"]
        + ["-r", "products_path", str(products), "-r", "sections_path", str(sec.SECTIONS_PATH)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    shown = json.dumps(json.loads((out / "06_sectors.ipynb").read_text())["cells"])
    assert shown.count("No complete year of product data for U.S. imports from North Korea") == 1
    assert not list(out.glob("figures/sections_*"))
