"""The published site end to end, on a fresh copy after ``make all`` (issues 13 and 14).

The module starts from the end-to-end tests' shared build (``conftest.built_site``: a fresh
copy after ``make all``, with the data mirror and the test run's venv), put back to its state
after that build. The first tests
read the pages as a reader would (no NaN, no raw column names, no placeholder alt text, text
that follows the run's parameters; screenshots at 1280 and 390 px when Chromium is present);
the others reproduce each finding of issue 13, as a user or an attacker would, and check the
outcome. Every test here failed before its fix.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import browser_checks
import numpy as np
import page_checks
import pandas as pd
import pytest
from built_site import settled_site
from repo_copy import run_make, venv_dir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KOREA = "reports/korea-south"


def digests(root: Path, folder: str) -> dict[str, str]:
    top = root / folder
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(top.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def full(built_site) -> tuple[Path, dict[str, str]]:
    """The full build (``conftest.built_site``), for the tests that only read its pages."""
    return built_site.root, built_site.env


@pytest.fixture
def site(mini_site) -> tuple[Path, dict[str, str]]:
    """The miniature build (``conftest.mini_site``), put back to its settled state: for the
    tests that run notebooks or make again."""
    settled = settled_site(mini_site)
    return settled.root, settled.env


def notebook_env(root: Path, **extra: str) -> dict[str, str]:
    """A user's shell: the project's venv on PATH, none of make's variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ANALYSIS_") and k not in ("MAKEFLAGS", "MAKELEVEL")
    }
    env["PATH"] = f"{venv_dir() / 'bin'}:{env.get('PATH', '')}"
    for name in (
        "MPLCONFIGDIR",
        "IPYTHONDIR",
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
    ):
        env[name] = str(root / "build" / "cache" / name.lower())
    env["MPLBACKEND"] = "Agg"
    env["ANALYSIS_ROOT"] = str(
        root
    )  # the copy is the repository (the venv's editable install is another)
    env.update(extra)
    return env


def papermill(
    root: Path, notebook: str, *args: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    out = root / "build" / f"by-hand-{Path(notebook).stem}.ipynb"
    return subprocess.run(
        [
            str(venv_dir() / "bin" / "papermill"),
            "-k",
            "python3",
            "--no-progress-bar",
            notebook,
            str(out),
            *args,
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


# ---- issue 14: the pages read like a publication ----------------------------------------------

#: Machine names that must not reach a reader (column names, labels of the CSV files).
RAW_NAMES = (
    "exports_growth",
    "imports_growth",
    "ci_low_boot",
    "ci_high_boot",
    "pct_ci_low",
    "pct_ci_high",
    "p_level_boot",
    "p_trend_boot",
    "level_change",
    "trend_change_per_year",
    "not_checkable",
    "cumulative_gap",
    "p_value_bootstrap",
    "p_value_asymptotic",
    "exports_share",
    "imports_share",
    "effect_pct",
    "ci95",
    "n_partners",
    "first_month",
)


class _Text(HTMLParser):
    """Visible text of a page (not scripts, styles or attributes) and every img's alt."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.alts: list[str | None] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "img":
            self.alts.append(dict(attrs).get("alt"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(path: Path) -> tuple[str, list[str | None]]:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return " ".join(" ".join(parser.parts).split()), parser.alts


def test_pages_show_no_nan_raw_names_or_placeholder_alt_text(full) -> None:
    root, _ = full
    pages = sorted((root / "reports").rglob("*.html"))
    assert len(pages) >= 8
    problems = []
    for page in pages:
        text, alts = page_text(page)
        rel = page.relative_to(root)
        if re.search(r"\bNaN\b|\bnan\b", text):
            problems.append(f"{rel}: NaN")
        problems += [f"{rel}: raw name {n}" for n in RAW_NAMES if n in text]
        problems += [f"{rel}: img without alt text" for a in alts if not a or "No description" in a]
    assert problems == []


def test_landing_page_follows_the_run(full) -> None:
    root, _ = full
    text, _ = page_text(root / "reports/index.html")
    meta = json.loads((root / "data/processed/trade_monthly.meta.json").read_text())
    assert f"Months analysed: 2000-01 to {meta['last_month']}" in text
    assert (
        "Changes in level and trend at KORUS in force (Mar 2012) and the revised KORUS (Jan 2019)"
        in text
    )
    for link in (
        "korus/evaluation.html",
        "korea-south/sectors.html",
        "vintages.html",
        "korus/claims.html",
    ):
        assert f'href="{link}"' in (root / "reports/index.html").read_text(encoding="utf-8")


@pytest.mark.skipif(
    shutil.which("chromium-headless-shell") is None and shutil.which("chromium") is None,
    reason="no Chromium binary on PATH (apt-get install chromium-headless-shell)",
)
@pytest.mark.parametrize("width", [1280, 390])
def test_screenshots_of_the_main_pages(full, tmp_path: Path, width: int) -> None:
    root, _ = full
    browser = shutil.which("chromium-headless-shell") or shutil.which("chromium")
    for page in (
        "index.html",
        "korea-south/trends.html",
        "korus/claims.html",
        "korus/evaluation.html",
    ):
        shot = tmp_path / f"{page.replace('/', '_')}.png"
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--hide-scrollbars",
                f"--user-data-dir={tmp_path / 'profile'}",
                f"--screenshot={shot}",
                f"--window-size={width},2000",
                (root / "reports" / page).as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(data[16:20], "big") == width
        assert len(data) > 20_000, f"{page} at {width} px looks blank"


@pytest.mark.skipif(
    browser_checks.browser() is None,
    reason="no Chromium binary on PATH (apt-get install chromium-headless-shell)",
)
@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_reads_right_in_a_browser(full, tmp_path: Path, width: int) -> None:
    """Every page of the site as Chromium lays it out at ``width``: its visible text passes
    ``page_checks`` (no hyphen-minus before a digit, no year with a separator, no notebook
    number in the title, no local path or warning), the claims table's verdict column is on
    screen or in a box that scrolls and shows it, date cells keep one line, figures stay
    readable (``browser_checks``); the HTML itself carries no path or stderr output."""
    root, _ = full
    pages = sorted((root / "reports").rglob("*.html"))
    assert len(pages) >= 8
    found = {}
    verdicts = 0
    for page in pages:
        rel = page.relative_to(root).as_posix()
        result = browser_checks.probe(page, width, tmp_path)
        verdicts += result.get("verdict") is not None
        bad = browser_checks.problems(result, width)
        bad += [str(v) for v in page_checks.check_page(page)]
        if bad:
            found[rel] = bad
    assert found == {}
    assert verdicts >= 1  # the claims table was found and checked


# ---- finding 1: a notebook run by hand never replaces what the pipeline published ------------


def test_papermill_by_hand_for_another_partner_leaves_the_korea_report_alone(site) -> None:
    """Another partner run by hand with a new first break: its results go to
    build/interactive/<slug>/ with the training end derived from that break (the month before),
    and the published Korea report is untouched."""
    root, _ = site
    before = digests(root, KOREA)
    proc = papermill(
        root,
        "notebooks/02_trends.ipynb",
        "-p",
        "partner",
        "Japan",
        "-p",
        "breaks",
        '["2010-01"]',
        env=notebook_env(root),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert digests(root, KOREA) == before
    scratch = json.loads((root / "build/interactive/japan/results.json").read_text())
    assert scratch["partner"] == "Japan"
    assert (
        scratch["params"]["breaks"] == ["2010-01"] and scratch["params"]["train_end"] == "2009-12"
    )


def test_claims_notebook_by_hand_gives_the_pipelines_verdicts(site) -> None:
    """Run by hand without the mirror variable: the pipeline's verdicts, and reports/ untouched."""
    root, _ = site
    published = (root / "reports/claims.csv").read_bytes()
    proc = papermill(root, "notebooks/04_claims.ipynb", env=notebook_env(root))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (root / "reports/claims.csv").read_bytes() == published
    assert (root / "build/interactive/claims/claims.csv").read_bytes() == published


# ---- finding 2: text from files and data is escaped -------------------------------------------


def test_hostile_claims_are_shown_as_text(site) -> None:
    root, env = site
    claims = root / "data/external/claims.csv"
    original = claims.read_text(encoding="utf-8")
    rows = list(csv.DictReader(original.splitlines(keepends=True)))
    rows[0]["claim"] = "<script>alert(1)</script> a<b & c>d"
    rows[0]["note"] = "<img src=x onerror=alert(2)>"
    rows[0]["stated"] = "99"  # contradicted: listed again below the table
    try:
        with claims.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        # The claims page only: the vintages notebook also reads the claims (and would run
        # again under `make context`) but shows their ids, not their text.
        run_make(root, "reports/korus/claims.html", env=env)
        html = (root / "reports/korus/claims.html").read_text(encoding="utf-8")
    finally:
        claims.write_text(original, encoding="utf-8")
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a&lt;b &amp; c&gt;d" in html


def test_hostile_partner_name_is_shown_as_text(site, tmp_path: Path) -> None:
    root, _ = site
    dates = pd.date_range("2000-01-01", "2024-06-01", freq="MS")
    rng = np.random.default_rng(1)
    level = 1000 * np.exp(np.linspace(0, 1, len(dates)) + 0.05 * rng.standard_normal(len(dates)))
    hostile = "<img src=x onerror=alert(1)> a<b & c>d"
    trade = pd.DataFrame(
        {
            "date": dates.strftime("%Y-%m-%d"),
            "partner_code": 5800,
            "partner": hostile,
            "is_aggregate": False,
            "exports": level.round(1),
            "imports": (1.5 * level).round(1),
        }
    )
    trade["balance"] = (trade["exports"] - trade["imports"]).round(1)
    data = tmp_path / "trade.csv"
    trade.to_csv(data, index=False)
    out = tmp_path / "report"
    nb = tmp_path / "02.ipynb"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis.pipeline.run_notebook",
            "notebooks/02_trends.ipynb",
            str(nb),
            "-r",
            "partner",
            "5800",
            "-r",
            "data_path",
            str(data),
            "-r",
            "out_dir",
            str(out),
        ],
        cwd=root,
        env=notebook_env(root),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = tmp_path / "trends.html"
    subprocess.run(
        [sys.executable, "-m", "analysis.report.publish", "notebook", str(nb), str(page)],
        cwd=root,
        env=notebook_env(root),
        check=True,
        capture_output=True,
        timeout=300,
    )
    html = page.read_text(encoding="utf-8")
    # As elements, not as a string: the page is re-serialized (attributes reordered, quoted),
    # so an injected <img src=x onerror=...> would read <img alt=... onerror="alert(1)" src="x"/>.
    injected = [
        (tag, attrs)
        for tag, attrs in _elements(html)
        if any(name.startswith("on") for name, _ in attrs)
        or (tag == "img" and ("src", "x") in attrs)
    ]
    assert injected == []
    assert "&lt;img src=x onerror=alert(1)&gt; a&lt;b &amp; c&gt;d" in html


def _elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every start tag of ``html`` with its attributes, as the browser's parser reads them."""
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collect().feed(html)
    return found


# ---- finding 3: parameters are data, never shell text -----------------------------------------


def test_a_partner_name_with_a_quote_builds(site) -> None:
    root, env = site
    run_make(root, "report", "PARTNER=Cote d'Ivoire", env=env)
    res = json.loads((root / "reports/cote-d-ivoire/results.json").read_text())
    assert res["partner"] == "Cote d'Ivoire"
    assert (root / "reports/cote-d-ivoire/trends.html").is_file()
    index = (root / "reports/index.html").read_text(encoding="utf-8")
    assert index.count(">7480<") == 1  # listed once, by its code


def test_an_injection_attempt_runs_nothing(site, tmp_path: Path) -> None:
    root, env = site
    marker = tmp_path / "injected"
    for value in (
        f"x'; touch {marker}; echo '",
        f'x"; touch {marker}; echo "',
        f"x`touch {marker}`",
    ):
        for param in ("PARTNER", "BREAKS", "START", "END", "FORECAST"):
            proc = run_make(root, "report", f"{param}={value}", env=env, check=False)
            assert proc.returncode != 0
            assert "syntax error" not in proc.stderr
    assert not marker.exists()


# ---- finding 4 (make level): a raw byte changed with its time restored -------------------------


def test_a_raw_byte_changed_with_its_time_restored_is_caught(site) -> None:
    root, env = site
    raw = root / "data/raw/wdi_kor.csv"
    data, st = raw.read_bytes(), raw.stat()
    assert data.count(b'"2.90740377377135"') == 1
    try:
        raw.chmod(0o644)
        raw.write_bytes(
            data.replace(b'"2.90740377377135"', b'"2.70740377377135"')
        )  # 2018 GDP growth
        os.utime(raw, ns=(st.st_atime_ns, st.st_mtime_ns))
        proc = run_make(root, "all", env=env, check=False)
        assert proc.returncode != 0
        assert "error: " in proc.stderr and "wdi_kor.csv: sha256" in proc.stderr
        # Refused once, before any step that reads it starts a notebook.
        assert "run notebooks/" not in proc.stderr + proc.stdout, proc.stderr
    finally:
        raw.write_bytes(data)
        os.utime(raw, ns=(st.st_atime_ns, st.st_mtime_ns))
        raw.chmod(st.st_mode)
    # The good file back: nothing to do.
    proc = run_make(root, "all", env=env)
    assert "run notebooks/" not in proc.stderr + proc.stdout


# ---- finding 5: pages follow the data ----------------------------------------------------------


def test_a_new_month_rebuilds_every_partner_page_on_disk(site) -> None:
    """A new vintage of the cleaned data (as make sees it): ``make all`` re-runs every partner
    report on disk, not only Korea's. Checked with ``make -n`` (the plan, nothing runs); a
    partner report's actual build is checked by the quote and second-partner tests."""
    root, env = site
    # Two more reports on disk, up to date (copies of Korea's, with their timestamps).
    for folder in ("japan", "cote-d-ivoire"):
        shutil.copytree(root / KOREA, root / "reports" / folder)
    assert "02_trends" not in recipe_plan(run_make(root, "-n", "all", env=env))
    for p in (root / "data/processed").glob("trade_monthly.*"):
        os.utime(p)
    plan = recipe_plan(run_make(root, "-n", "all", env=env))
    for folder in ("korea-south", "japan", "cote-d-ivoire"):
        assert f"notebooks/02_trends.ipynb reports/{folder}/02_trends.ipynb" in plan, plan
        assert f"notebooks/06_sectors.ipynb reports/{folder}/06_sectors.ipynb" in plan, plan
    assert "publish index reports" in plan, plan


def recipe_plan(proc: subprocess.CompletedProcess[str]) -> str:
    """What ``make -n`` would run: the lines that call the package (``-m analysis.``)."""
    return "\n".join(ln for ln in proc.stdout.splitlines() if "-m analysis." in ln)


# ---- finding 6: a break in the last month of data ---------------------------------------------


def test_a_break_in_the_last_month_builds_and_links_only_existing_figures(site) -> None:
    root, env = site
    run_make(root, "report", "BREAKS=2024-06", env=env)
    index = (root / "reports/index.html").read_text(encoding="utf-8")
    for href in {h for h in _hrefs(index) if h.endswith(".png")}:
        assert (root / "reports" / href).is_file(), href
    # issue 14: the landing page names the run's break, not KORUS's dates
    text, _ = page_text(root / "reports/index.html")
    assert "Changes in level and trend at Jun 2024" in text and "Mar 2012" not in text


def _hrefs(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"#]+)"', html)


# ---- finding 10: no absolute paths or pids in published files ----------------------------------


def test_published_files_carry_no_local_paths(full) -> None:
    root, _ = full
    bad = []
    for p in sorted((root / "reports").rglob("*")):
        if not p.is_file() or p.suffix in (".png",):
            continue
        text = p.read_text(encoding="utf-8", errors="replace")
        for needle in (str(root), "/tmp/", ".staging", "/root/"):
            if needle in text:
                bad.append(f"{p.relative_to(root)}: {needle}")
        bad += [
            f"{p.relative_to(root)}: {m}" for m in re.findall(r"\.\d{2,}\.(?:tmp|staging)\b", text)
        ]
    assert bad == []
