"""Issue 13 (safe to use): partner look-up, parameters as data, ``make lab`` as root.

Each test here failed before its fix: the look-up did not know common names ("South Korea"
suggested South Sudan), make pasted parameters into shell text, and ``make lab`` refused to
start as root.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis import config, partners
from analysis.errors import ParameterError
from analysis.pipeline import lab

ROWS = [
    (3, "European Union", "european-union", True, "1985-01", "2024-06", 474, 474),
    (4120, "United Kingdom", "united-kingdom", False, "1985-01", "2024-06", 474, 474),
    (5790, "Korea, North", "korea-north", False, "1992-01", "2024-06", 330, 132),
    (5800, "Korea, South", "korea-south", False, "1985-01", "2024-06", 474, 474),
    (7323, "South Sudan", "south-sudan", False, "2011-07", "2024-06", 156, 150),
    (7910, "South Africa", "south-africa", False, "1985-01", "2024-06", 474, 474),
    (4790, "North America", "north-america", True, "1985-01", "2024-06", 474, 474),
    (7480, "Cote d'Ivoire", "cote-d-ivoire", False, "1985-01", "2024-06", 474, 474),
    (5880, "Japan", "japan", False, "1985-01", "2024-06", 474, 474),
]


@pytest.fixture
def table(tmp_path: Path) -> list[partners.Partner]:
    path = tmp_path / "partners.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(partners.PARTNER_COLUMNS)
        w.writerows(ROWS)
    return partners.load_partners(path)


# ---- finding 9: partner look-up knows common names and matches on words ----------------------


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("South Korea", 5800),
        ("south korea", 5800),
        ("North Korea", 5790),
        ("Korea South", 5800),
        ("UK", 4120),
        ("Ivory Coast", 7480),
        ("Cote d'Ivoire", 7480),
        ("cote d ivoire", 7480),
        ("Japan", 5880),
        ("5800", 5800),
    ],
)
def test_common_names_and_word_order_resolve(
    table: list[partners.Partner], query: str, code: int
) -> None:
    assert partners.resolve(query, table).code == code


def test_korea_alone_is_ambiguous_between_the_two_koreas(table: list[partners.Partner]) -> None:
    with pytest.raises(ParameterError, match="ambiguous") as err:
        partners.resolve("Korea", table)
    assert "Korea, South (5800)" in str(err.value) and "Korea, North (5790)" in str(err.value)
    assert "unknown" not in str(err.value)


def test_a_typo_still_gets_the_closest_names(table: list[partners.Partner]) -> None:
    with pytest.raises(ParameterError, match=r"partner 'Jpan': unknown; closest: Japan \(5880\)"):
        partners.resolve("Jpan", table)


# ---- finding 5 (part): a partner renamed by Census keeps its report folder ---------------------


def test_report_slug_is_keyed_by_census_code(table: list[partners.Partner], tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    (reports / "korea-south").mkdir(parents=True)
    (reports / "korea-south" / "params.json").write_text(json.dumps({"partner": "5800"}))
    renamed = partners.Partner(
        5800, "South Korea", "south-korea", False, "1985-01", "2024-07", 475, 475
    )
    assert partners.report_slug(renamed, reports) == "korea-south"
    japan = partners.resolve("Japan", table)
    assert partners.report_slug(japan, reports) == "japan"


# ---- finding 3: parameters reach Python as data, never as shell text -------------------------


@pytest.mark.integration
def test_partner_cli_reads_the_query_from_the_environment(tmp_path: Path, real_root: Path) -> None:
    """``python -m analysis.partners slug`` takes ANALYSIS_PARTNER as data: a quote or a
    command in it is just part of a name (on the real partner table, not the developer's)."""
    env = {**os.environ, "ANALYSIS_ROOT": str(real_root), "ANALYSIS_PARTNER": "Cote d'Ivoire"}
    out = subprocess.run(
        [sys.executable, "-m", "analysis.partners", "slug"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "cote-d-ivoire"
    marker = tmp_path / "injected"
    env["ANALYSIS_PARTNER"] = f"x'; touch {marker}; echo '"
    bad = subprocess.run(
        [sys.executable, "-m", "analysis.partners", "slug"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: partner ")
    assert not marker.exists()


def test_makefile_pastes_no_parameter_into_shell_text() -> None:
    text = (config.ROOT / "Makefile").read_text(encoding="utf-8")
    for name in ("PARTNER", "START", "END", "BREAKS", "FORECAST"):
        for pasted in (f"'$({name})'", f'"$({name})"', f" $({name}) ", f"{name}=$({name})"):
            recipe_lines = [ln for ln in text.splitlines() if ln.startswith("\t") and pasted in ln]
            assert recipe_lines == [], (
                f"Makefile recipe pastes $({name}) into shell text: {recipe_lines}"
            )


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_help_with_a_hostile_partner_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "injected"
    hostile = (
        f"x\"; touch {marker}; echo \"'; touch {marker}; echo '$$(touch {marker})`touch {marker}`"
    )
    proc = subprocess.run(
        ["make", "-C", str(config.ROOT), "--no-print-directory", "help", f"PARTNER={hostile}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    assert 'Parameters: PARTNER=x"; touch' in proc.stdout


# ---- finding 8: make lab works as root and prints the URL ------------------------------------


def test_lab_command_allows_root_only_for_root() -> None:
    assert "--allow-root" in lab.lab_command(0)
    assert "--allow-root" not in lab.lab_command(1000)
    assert "--no-browser" in lab.lab_command(1000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="the finding is about running as root")
def test_make_lab_starts_as_root_and_prints_its_url(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
        "IPYTHONDIR": str(tmp_path / "ipy"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis.pipeline.lab", f"--ServerApp.port={port}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = ""
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            seen += line
            if f"http://127.0.0.1:{port}/" in line:
                break
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert "Running as root is not recommended" not in seen
    assert f"http://127.0.0.1:{port}/lab" in seen, seen[-2000:]


# ---- finding 10: no absolute paths or pids in published files --------------------------------


def test_saved_figure_output_text_is_a_description_not_a_path(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.report import figures

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [3, 1, 2], label="U.S. exports")
    ax.set_ylabel("US$ billions")
    ax.legend()
    fig.suptitle("Trade with Japan")
    stage = tmp_path / ".figures.12345.staging"
    saved = figures.save_figure(fig, stage, "trade")
    text = repr(saved)
    assert str(tmp_path) not in text and "12345" not in text and "staging" not in text
    assert (
        text.startswith("Trade with Japan.") and "US$ billions" in text and "U.S. exports" in text
    )


# ---- finding 7: slugs are unique in every file name -------------------------------------------


def test_partner_list_slugs_are_unique_like_partners_csv() -> None:
    import pandas as pd

    from analysis.clean import series

    dates = pd.date_range("2000-01-01", periods=3, freq="MS")
    rows = []
    for code, last in ((5080, 2), (5081, 3)):  # Census lists Israel under two codes
        for d in dates[:last]:
            rows.append(
                {
                    "date": d,
                    "partner_code": code,
                    "partner": "Israel",
                    "is_aggregate": False,
                    "exports": 1.0,
                    "imports": 1.0,
                    "balance": 0.0,
                }
            )
    slugs = {p.code: p.slug for p in series.partner_list(pd.DataFrame(rows))}
    assert slugs == {5081: "israel", 5080: "israel-5080"}


# ---- finding 5 (part): the index never lists a code twice -------------------------------------


def test_landing_page_lists_each_census_code_once(tmp_path: Path) -> None:
    from analysis.report import landing

    old = {
        "schema_version": 1,
        "partner_code": 5800,
        "partner": "Korea, South",
        "slug": "korea-south",
        "annual": [],
    }
    new = {**old, "partner": "South Korea", "slug": "south-korea"}
    rows = landing.partner_rows(tmp_path, [old, new])
    assert [r["code"] for r in rows] == ["5800"]
    html = landing.render_index(
        tmp_path, [old, new], default_partner=5800, vintage={}, built="2026-01-01"
    )
    assert html.count(">5800<") == 1


def test_landing_page_links_a_report_by_the_folder_it_is_in(tmp_path: Path) -> None:
    """Israel's second Census code is written to ``reports/israel-5080/``; a results.json
    that names its slug ``israel`` (slugify of the name) must still be linked there."""
    from analysis.report import landing
    from analysis.report.results import SCHEMA_VERSION

    folder = tmp_path / "israel-5080"
    folder.mkdir()
    (folder / "results.json").write_text(
        json.dumps(
            {
                "schema_version": SCHEMA_VERSION,
                "partner_code": 5080,
                "partner": "Israel",
                "slug": "israel",
                "data_through": "1999-12",
                "annual": [],
            }
        )
    )
    (folder / "trends.html").write_text("<html></html>")
    html = landing.build_index(tmp_path, meta_path=tmp_path / "none.json", built="2026-01-01")
    text = html.read_text(encoding="utf-8")
    assert 'href="israel-5080/trends.html"' in text
    assert 'href="israel/' not in text and "not built yet" not in text.split("Partner reports")[1]


# ---- finding 1 (part): breaks given by hand derive their training end --------------------------


@pytest.mark.parametrize("given", ["2010-01", '["2010-01"]', "['2010-01']", ["2010-01"]])
def test_breaks_given_by_hand_derive_train_end(given: object) -> None:
    import pandas as pd

    from analysis import params

    breaks, train_end = params.validate(
        params.split_months(given),
        first=pd.Timestamp("2000-01-01"),
        last=pd.Timestamp("2024-06-01"),
        train_end="",
    )
    assert breaks == ["2010-01"] and train_end == "2009-12"


# ---- finding 1 (part): results carry their parameters and data vintage, consumers check them --


def test_consumers_refuse_results_of_another_vintage_or_other_parameters(tmp_path: Path) -> None:
    from analysis.errors import DataError
    from analysis.report import consistency as landing
    from analysis.report import publish

    folder = tmp_path / "reports" / "korea-south"
    folder.mkdir(parents=True)
    (folder / "params.json").write_text(
        json.dumps(
            {
                "partner": "5800",
                "breaks": ["2012-03", "2019-01"],
                "start": "2000-01",
                "end": "",
                "forecast_model": "sarimax",
            }
        )
    )
    good = {
        "params": {
            "breaks": ["2012-03", "2019-01"],
            "start": "2000-01",
            "end": "2024-06",
            "forecast_model": "sarimax",
        },
        "inputs": {"data_sha256": "aaa"},
    }
    assert landing.stale_reason(good, "aaa", folder / "params.json") is None
    assert (
        landing.stale_reason(good, "bbb", folder / "params.json")
        == "computed from an earlier vintage of the data"
    )
    japan_by_hand = {**good, "params": {**good["params"], "breaks": ["2010-01"]}}
    assert "breaks" in landing.stale_reason(japan_by_hand, "aaa", folder / "params.json")
    # the publisher refuses to write a page beside such results
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"outputs": {"trade_monthly.csv": {"sha256": "bbb"}}}))
    (folder / "results.json").write_text(json.dumps(good))
    with pytest.raises(DataError, match="earlier vintage of the data"):
        publish._check_results_beside(folder / "trends.html", meta)
    # ... but not a page made from other data: the sectors page is published while the
    # partner's models still run (the two notebooks side by side) and does not show them.
    publish._check_results_beside(folder / "sectors.html", meta)


# ---- issue 14: pages degrade gracefully ---------------------------------------------------------


def test_no_header_only_tables_and_no_contradicting_legend() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    import pandas as pd

    from analysis.report import figures, markup, tables

    empty = tables.effects(
        pd.DataFrame(columns=["series", "break", "unit", "level_change", "trend_change_per_year"])
    )
    shown = markup.table_or_note(empty, "No segmented trend was fitted.")
    assert type(shown).__name__ == "Markdown" and "No segmented trend" in shown.data
    idx = pd.date_range("2020-01-01", periods=30, freq="MS")
    monthly = pd.DataFrame(
        {"exports": np.linspace(1, 2, 30), "imports": np.linspace(2, 3, 30)}, index=idx
    )
    monthly["balance"] = monthly["exports"] - monthly["imports"]
    sa = monthly.rename(columns=lambda c: f"{c}_sa")
    fig = figures.plot_monthly_trade(
        monthly,
        sa,
        partner="Tuvalu",
        data_through="2022-06",
        sa_methods={"exports": "not adjusted (too short)", "imports": "STL on logs"},
    )
    legend = [
        t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()
    ]
    assert "U.S. exports (seasonally adjusted)" not in legend
    assert any(t.startswith("U.S. exports (not adjusted") for t in legend)
    assert "U.S. imports (seasonally adjusted)" in legend
