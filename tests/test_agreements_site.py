"""`make agreements` end to end on the miniature mirror: the comparison page of every U.S. FTA,
its data file, the landing page's link, and a second run that does nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from built_site import settled_site
from page_checks import check_page
from repo_copy import run_make

from analysis.partners import load_partners, report_folder
from analysis.report.bundle import site_files

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def site(mini_site) -> tuple[Path, dict[str, str]]:
    settled = settled_site(mini_site)
    return settled.root, settled.env


def test_make_agreements_builds_the_comparison_page(site):
    root, env = site
    run_make(root, "agreements", env=env)
    with open(root / "data/external/us_ftas.csv", newline="", encoding="utf-8") as fh:
        codes = [int(r["partner_code"]) for r in csv.DictReader(fh)]
    doc = json.loads((root / "reports/agreements.json").read_text(encoding="utf-8"))
    assert doc["schema_version"] == 1
    records = {r["partner_code"]: r for r in doc["agreements"]}
    assert sorted(records) == sorted(codes)  # one record per agreement of us_ftas.csv
    korea = records[5800]["flows"]["exports"]
    assert korea["synthetic_control"]["years"] == [2000, 2012, 2018]
    assert "reason" in records[5081]["flows"]["exports"]["synthetic_control"]  # Israel, 1985
    assert records[5081]["flows"]["exports"]["verdict"] == "too_little_pre_period"
    for rec in records.values():
        for flow in ("exports", "imports"):
            assert rec["flows"][flow]["verdict_label"] in doc["verdicts"].values()
    page = root / "reports/agreements.html"
    assert check_page(page) == []
    html = page.read_text(encoding="utf-8")
    assert "indistinguishable from drift: every estimated design reads neither." in html
    for rec in records.values():
        assert rec["short_name"].replace("&", "&amp;") in html
    assert 'href="korus/evaluation.html"' in html  # Korea's evaluation keeps its address
    index = (root / "reports/index.html").read_text(encoding="utf-8")
    assert 'href="agreements.html"' in index
    assert "Where KORUS stands" in index
    # each agreement's evaluation page, in the partner's folder by `make report`'s one rule,
    # linked from the comparison page; Korea's links the full KORUS evaluation
    known = load_partners(root / "data/processed/partners.csv")
    evaluations = []
    for rec in records.values():
        assert rec["slug"] == report_folder(rec["partner_code"], known, root / "reports")
        ev = root / "reports" / rec["slug"] / "evaluation.html"
        assert check_page(ev) == [], rec["slug"]
        data = json.loads((ev.parent / "evaluation.json").read_text(encoding="utf-8"))
        assert data["agreement"] == rec and set(data["headline"]) == {"exports", "imports"}
        assert f'href="{rec["slug"]}/evaluation.html"' in html
        evaluations.append(ev)
    korea = (root / "reports/korea-south/evaluation.html").read_text(encoding="utf-8")
    assert 'href="../korus/evaluation.html"' in korea and 'href="../agreements.html"' in korea
    assert 'href="korea-south/evaluation.html"' in index  # the registry's per-partner page
    files = site_files(root / "reports")  # make publish's link check: relocatable, offline
    assert {"colombia/evaluation.html", "korea-south/evaluation.json"} <= set(files)
    # incremental: a second run rebuilds nothing
    before = {
        p: p.stat().st_mtime_ns for p in (page, root / "reports/agreements.json", *evaluations)
    }
    proc = run_make(root, "agreements", env=env)
    assert "run notebooks/08_agreements.ipynb" not in proc.stdout
    assert {p: p.stat().st_mtime_ns for p in before} == before
