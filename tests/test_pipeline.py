"""End to end: ``make all`` on the data mirror, in a fresh copy of the repository.

The copy holds exactly what git would check out (tracked and not-ignored files) and shares
this test run's virtual environment (``VENV=``), so it exercises the Makefile, acquisition
from the mirror, cleaning, models, figures and the HTML report as a new user would. The real
Census figures are read off the full build (``built_site``, read-only); what runs make again
works on the miniature build (``mini_site``), put back to its settled state for each test.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from built_site import settled_site
from repo_copy import run_make as _make

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def built(built_site) -> tuple[Path, dict[str, str]]:
    """The full build (``conftest.built_site``), for tests that only read it."""
    return built_site.root, built_site.env


@pytest.fixture
def mini(mini_site) -> tuple[Path, dict[str, str]]:
    """The miniature build (``conftest.mini_site``), put back to its settled state."""
    settled = settled_site(mini_site)
    return settled.root, settled.env


def test_outputs_exist_with_known_census_figures(built: tuple[Path, dict[str, str]]) -> None:
    root, _ = built
    for rel in [
        "data/raw/country.xlsx",
        "data/processed/trade_monthly.csv",
        "data/processed/trade_monthly.parquet",
        "data/processed/trade_monthly.meta.json",
        "data/processed/partners.csv",
        "reports/korea-south/results.json",
        "reports/korea-south/trends.html",
        "reports/index.html",
        "reports/claims.csv",
        "reports/korus/partners.html",
        "reports/korus/claims.html",
    ]:
        assert (root / rel).is_file(), rel
    sums: dict[int, dict[str, float]] = {}
    with open(root / "data/processed/trade_monthly.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["partner_code"] == "5800" and row["date"][:4] in {"2011", "2015"}:
                year = sums.setdefault(int(row["date"][:4]), {"exports": 0.0, "balance": 0.0})
                year["exports"] += float(row["exports"])
                year["balance"] += float(row["balance"])
    assert sums[2011]["balance"] == pytest.approx(-13199.7, abs=0.05)
    assert sums[2011]["exports"] == pytest.approx(43461.6, abs=0.05)
    assert sums[2015]["balance"] == pytest.approx(-28291.3, abs=0.05)
    results = json.loads((root / "reports/korea-south/results.json").read_text())
    assert results["partner_code"] == 5800 and results["data_through"] == "2024-06"
    annual = {a["year"]: a for a in results["annual"]}
    assert annual[2015]["balance"] == pytest.approx(-28291.3, abs=0.05)
    html = (root / "reports/index.html").read_text()
    assert '<script src="http' not in html and '<link href="http' not in html
    # Raw data is read-only after acquisition.
    assert not os.access(root / "data/raw/country.xlsx", os.W_OK) or os.geteuid() == 0
    assert (root / "data/raw/country.xlsx").stat().st_mode & 0o222 == 0


def test_second_make_all_does_nothing(mini: tuple[Path, dict[str, str]]) -> None:
    root, env = mini
    before = {p: p.stat().st_mtime_ns for p in (root / "reports").rglob("*") if p.is_file()}
    proc = _make(root, "all", env=env)
    assert "run notebooks/" not in proc.stderr, proc.stderr
    after = {p: p.stat().st_mtime_ns for p in (root / "reports").rglob("*") if p.is_file()}
    assert before == after


def test_real_index_has_key_numbers_and_renders(
    built: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """The landing page shows the latest complete year's numbers computed from the cleaned data,
    loads nothing from the network, and renders non-blank in headless Chromium."""
    import matplotlib.pyplot as plt
    import numpy as np
    from test_publish import _chromium, distinct_colours, screenshot

    root, _ = built
    totals = {"exports": 0.0, "imports": 0.0}
    with open(root / "data/processed/trade_monthly.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["partner_code"] == "5800" and row["date"].startswith("2023-"):
                totals["exports"] += float(row["exports"])
                totals["imports"] += float(row["imports"])
    html = (root / "reports/index.html").read_text()
    for value in totals.values():
        assert f"{value / 1000:,.1f}" in html
    for page in [root / "reports/index.html", *sorted((root / "reports").rglob("*.html"))]:
        text = page.read_text()
        assert '<script src="http' not in text and '<link href="http' not in text, page
    if _chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium-headless-shell for the report screenshot test")
        pytest.skip("no Chromium binary on PATH (apt-get install chromium-headless-shell)")
    png = tmp_path / "index.png"
    screenshot(root / "reports/index.html", png, tmp_path / "profile", size="1280,2400")
    rgb = (plt.imread(png)[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    assert distinct_colours(rgb) > 100, "landing page rendered with almost no colours"
    assert np.any(rgb < 245, axis=1).mean() > 0.05, "landing page rendered nearly blank"
