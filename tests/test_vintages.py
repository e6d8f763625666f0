"""analysis.report.vintages and analysis.models.vintages: revision summaries and the real-time comparison."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.clean import revisions as rev
from analysis.models import vintages as vm
from analysis.report import vintages as page


def fixture_revisions() -> pd.DataFrame:
    rows = []
    for code, name, bump in (
        (5800, "Korea, South", 1.0),
        (5880, "Japan", 3.0),
        (1220, "Canada", -10.0),
        (3, "EU", 99.0),
    ):
        for year in (2022, 2023):
            for flow in ("exports", "imports"):
                a = 1000.0
                b = a + bump * (year - 2021)
                rows.append(
                    (
                        code,
                        name,
                        flow,
                        year,
                        rev.LABEL_XLSX,
                        rev.LABEL_API,
                        a,
                        b,
                        b - a,
                        100 * (b - a) / a,
                    )
                )
    return pd.DataFrame(rows, columns=list(rev.COLUMNS))


def test_revision_summaries() -> None:
    df = fixture_revisions()
    top = page.largest_table(df, n=2)
    assert (
        list(top["Partner"]) == ["Canada", "Canada"]
        and top["Revision (US$ mn)"].iloc[0] == "\u221220.0"
    )
    summary = page.summary(df)
    assert summary["Country-flow-years"].iloc[0] == 12  # the EU aggregate is left out
    assert summary["Vintages"].iloc[0] == "2024 xlsx → 2025 API"
    korea = page.partner_table(df, 5800)
    assert list(korea["Year"]) == [2022, 2023]
    assert korea["2024 xlsx → 2025 API: imports (US$ mn)"].tolist() == ["+1.0", "+2.0"]
    pct = page.pct_by_year(df, 5800, rev.LABEL_XLSX, rev.LABEL_API).set_index(["year", "flow"])
    assert pct.loc[(2023, "exports"), "partner"] == pytest.approx(0.2)
    assert pct.loc[(2023, "exports"), "median"] == pytest.approx(0.2)  # median of 0.2, 0.6, -2.0


@pytest.mark.parametrize(
    ("a", "b", "kind", "expected"),
    [
        (0.04, 0.06, "p", "yes: crosses 5 %"),
        (0.2, 0.3, "p", "no"),
        (1.0, -1.0, "pct", "yes: sign"),
        (10.0, 10.5, "pct", "no"),
        (10.0, 12.0, "mn", "yes: moved > 10 %"),
        ("2009-04", "2009-05", "date", "yes: another month"),
        (None, 0.1, "p", "yes: estimated in one vintage only"),
    ],
)
def test_changed(a, b, kind, expected) -> None:
    assert vm.changed(a, b, kind) == expected


def test_no_revisions_line(tmp_path: Path) -> None:
    assert page.load_revisions(tmp_path / "revisions.csv") is None
    assert "make revisions" in page.no_revisions_line(tmp_path / "revisions.csv")


@pytest.mark.integration
def test_vintages_comparison_on_the_real_files(
    mirror: Path, real_trade: pd.DataFrame, tmp_path: Path
) -> None:
    # The mirror's files and the run's cleaned table, not the developer's data/ (which may be
    # missing or stale): the revisions as `make revisions` writes and the vintages page reads them.
    api = tuple(
        mirror / "census-api" / f"{f}_by_country_2013_2024.csv" for f in ("exports", "imports")
    )
    table = rev.revisions(
        [
            rev.Vintage(rev.LABEL_XLSX, rev.annual_totals(rev.census_long(real_trade))),
            rev.Vintage(rev.LABEL_API, rev.annual_totals(rev.api_monthly(*api))),
        ]
    )
    (tmp_path / "revisions.csv").write_bytes(rev.csv_bytes(table))
    revisions = page.load_revisions(tmp_path / "revisions.csv")
    raw = mirror / "census" / "vintage-2016" / "us-trade.csv"
    r = revisions[
        (revisions["partner_code"] == 5800)
        & (revisions["year"] == 2023)
        & (revisions["flow"] == "imports")
        & (revisions["vintage_a"] == rev.LABEL_XLSX)
        & (revisions["vintage_b"] == rev.LABEL_API)
    ]
    assert round(float(r["revision"].iloc[0]), 1) == 160.2
    vintage = vm.clean_vintage(raw, tmp_path / "v2017")
    assert vintage.meta["last_month"] == "2016-11"
    runs = vm.fit_both(
        {vm.OLD: vintage.trade, vm.NEW: real_trade},
        5800,
        ["2012-03"],
        "2000-01",
        "2016-11",
        n_boot=49,
        n_sim=50,
    )
    cmp = vm.compare(runs)
    assert len(cmp) == 27 and set(cmp["series"]) == {"exports", "imports", "balance"}
    level = cmp[
        (cmp["series"] == "imports") & cmp["estimate"].str.startswith("level change at")
    ].iloc[0]
    assert level["old"] == pytest.approx(level["new"], rel=0.05)
    assert not page.realtime_table(cmp).empty
