"""One formatter, one vocabulary: the rules of ``report/fmt.py`` and ``analysis/vocab.py``, the
page checker of ``tests/page_checks.py``, and the page texts that used to break those rules."""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import nbformat
import pandas as pd
import pytest
from page_checks import Violation, check_html, text_violations, title_violations

from analysis import vocab
from analysis.claims import view
from analysis.report import context_text, evaluation, fmt, markup, publish, quality, results

M = "\u2212"
SRC = Path(__file__).resolve().parents[1] / "src" / "analysis"


# ---- fmt: one rule per quantity -------------------------------------------------------------


def test_number_uses_true_minus_separators_and_never_minus_zero() -> None:
    assert fmt.number(-1234.56) == f"{M}1,234.6"
    assert fmt.number(-0.04) == "0.0" and fmt.number(-0.0004, 3) == "0.000"
    assert fmt.number(2.5, 1, sign=True) == "+2.5"
    assert "-" not in fmt.decimal(-0.249, 3, sign=True) == f"{M}0.249"


@pytest.mark.parametrize(
    ("value", "expected"), [(2041, "2041"), (2041.0, "2041"), ("1998", "1998"), (None, "n/a")]
)
def test_year_and_code_have_no_separator(value: object, expected: str) -> None:
    assert fmt.year(value) == expected
    assert fmt.code(5800.0) == "5800"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(12232, "12,232"), (103212.0, "103,212"), (5.0, "5"), (11, "11"), (-3, f"{M}3"), (0, "0")],
)
def test_count_is_a_whole_number_with_separators(value: object, expected: str) -> None:
    assert fmt.count(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3.5e-14, "<0.001"),
        (0.00099, "<0.001"),
        (0.001, "0.0010"),
        (0.04567, "0.046"),
        (0.0996, "0.10"),
        (0.242, "0.24"),
        (0.5, "0.50"),
        (0.999, "1.0"),
        (1.0, "1.0"),
        (float("nan"), "n/a"),
    ],
)
def test_p_value_is_below_a_thousandth_or_two_significant_digits(
    value: float, expected: str
) -> None:
    assert fmt.p_value(value) == expected
    assert "e" not in fmt.p_value(value).replace("n/a", "")


def test_p_equals_reads_in_a_sentence() -> None:
    assert fmt.p_equals(3.5e-14) == "p < 0.001"
    assert fmt.p_equals(0.0123) == "p = 0.012"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(13.1997, "13.20"), (-0.0123456, f"{M}0.01235"), (25000, "25,000"), (0, "0"), (None, "n/a")],
)
def test_significant_digits(value: object, expected: str) -> None:
    assert fmt.significant(value, 4) == expected


def test_significant_digits_trimmed() -> None:
    assert fmt.significant(2.7, 4, trim=True) == "2.7"
    assert fmt.significant(80.0, 4, trim=True) == "80"
    assert fmt.significant(-1234.5, 4, trim=True) == f"{M}1,234"


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (103, "103rd"),
    ],
)
def test_ordinal(n: int, expected: str) -> None:
    assert fmt.ordinal(n) == expected


def test_tick_labels_one_rule() -> None:
    assert fmt.tick(-50, 0, " %") == f"{M}50 %"
    assert fmt.tick(-75.0, 0, " %") == f"{M}75 %"
    assert fmt.tick(-0.0001) == "0" and fmt.tick(0.0, 0, " %") == "0"
    assert fmt.tick(12500) == "12,500" and fmt.tick(2.50) == "2.5"
    assert fmt.tick(25, 0, " %", sign=True) == "+25 %"


def test_tick_formatter_on_an_axis() -> None:
    fig, ax = plt.subplots()
    ax.plot([0, 1], [-60.0, 40.0])
    ax.yaxis.set_major_formatter(fmt.tick_formatter(0, " %"))
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    plt.close(fig)
    assert labels and all("-" not in s for s in labels)
    assert any(s.startswith(M) and s.endswith(" %") for s in labels)
    assert fmt.tick_formatter(scale=1 / 1000)(-12500.0, 0) == f"{M}12.5"


def test_evaluation_percent_ticks_use_the_true_minus() -> None:
    labels = [label for _, label in evaluation.pct_ticks(math.log(0.2), math.log(3.0))]
    assert f"{M}50 %" in labels and not any("-" in s for s in labels)


# ---- vocab -----------------------------------------------------------------------------------


def test_vocabulary_is_consistent() -> None:
    assert vocab.SERIES == ("exports", "imports", "balance")
    assert vocab.FLOWS == vocab.SERIES[:2]
    for labels in (vocab.SERIES_LABELS, vocab.SERIES_SUBJECTS):
        assert tuple(labels) == vocab.SERIES
    assert tuple(vocab.FLOW_PHRASES) == vocab.FLOWS
    assert tuple(vocab.VERDICT_STYLE) == vocab.VERDICTS == tuple(vocab.VERDICT_LABELS)
    assert vocab.verdict_css("supported") == "background-color: #1b7837; color: #ffffff"
    assert vocab.verdict_css("other") == ""
    assert vocab.HORIZON_MONTHS == 24


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (0, True),
        (999, True),
        ("1", True),
        (1000, False),
        (5800, False),
        (None, False),
        ("x", False),
    ],
)
def test_aggregate_rule(code: object, expected: bool) -> None:
    assert vocab.is_aggregate(code) is expected


def test_display_name_rule() -> None:
    assert vocab.display_name("Korea, South") == "South Korea"
    assert vocab.display_name("Korea, North ") == "North Korea"
    assert vocab.display_name(" Japan") == "Japan"
    assert fmt.display_name is vocab.display_name


def test_modules_use_the_vocabulary_not_copies() -> None:
    """The concepts are defined once, in vocab.py (clean/ is owned elsewhere and not scanned)."""
    patterns = {
        "series tuple": r"\(\s*\"exports\",\s*\"imports\",\s*\"balance\"\s*\)",
        "schema version": r"SCHEMA_VERSION\s*=\s*\d",
        "verdict colour": r"#1b7837|#c51b7d",
        "aggregate rule": r"<\s*1000\b",
        "horizon": r"<=\s*24\b",
        "series label": r"\"exports\":\s*\"(?:U\.S\. exports|Exports)\"",
    }
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel == "vocab.py" or rel.startswith("clean/"):
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{rel}: {what}" for what, pat in patterns.items() if re.search(pat, text)]
    assert found == []


# ---- the page checker ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["-0.249 log points", "DiD (-22.1 %)", "between 3 and -4", "[-1, 2]", "x=-2", "-.5"],
)
def test_checker_flags_a_hyphen_used_as_minus(text: str) -> None:
    assert [v.kind for v in text_violations(text)] == ["minus"]


@pytest.mark.parametrize(
    "text",
    [
        "2012-03 to 2024-06",
        "2008-09 crisis",
        "codes 5800-5900",
        "COVID-19",
        "U.S.-China",
        f"{M}0.249",
        "exports - imports",
        "p < 0.001",
        "data through 2024-12",
    ],
)
def test_checker_leaves_dates_ranges_and_true_minus(text: str) -> None:
    assert text_violations(text) == []


def test_checker_flags_years_with_separators_only() -> None:
    assert [v.kind for v in text_violations("ends in 2,041.")] == ["year"]
    assert [v.kind for v in text_violations("from 1,998 on")] == ["year"]
    assert text_violations("2041, 12,232 rows, US$ 2,041.5 million, 2,0415") == []


def test_checker_flags_paths_and_warnings() -> None:
    kinds = [v.kind for v in text_violations("read /work/main/data and /tmp/x")]
    assert kinds == ["path", "path"]
    assert [v.kind for v in text_violations("RuntimeWarning: overflow")] == ["warning"]
    assert [v.kind for v in text_violations("Traceback (most recent call last)")] == ["warning"]
    assert text_violations("a warning sign; src/work/x; /workshop/") == []


def test_checker_titles() -> None:
    assert title_violations("02 · Trends in trade") == [Violation("title", "02 · Trends in trade")]
    assert title_violations("3 - Partners") != []
    assert title_violations("Trends in trade") == title_violations("2012 trade") == []


def test_check_html_reads_visible_text_title_and_attributes_only() -> None:
    page = (
        "<html><head><title>04 · Claims</title><style>.a{margin:-1px}</style>"
        "<script>var x = -1;</script></head><body><h1>04 · Claims</h1>"
        '<a href="/home/me/x.html" title="-5">link</a><img src="data:image/png;base64,/tmp/AA">'
        '<td>-228.6</td><td>2012-03</td><div class="output_stderr">x</div></body></html>'
    )
    kinds = sorted(v.kind for v in check_html(page))
    assert kinds == ["minus", "path", "title", "title", "warning"]
    clean = f"<html><head><title>Claims</title></head><body><h1>Claims</h1><td>{M}228.6</td></body></html>"
    assert check_html(clean) == []


# ---- pages: numbers and text ------------------------------------------------------------------


def test_claims_table_numbers_follow_their_unit() -> None:
    assert view.claim_number(2041.0, "year") == "2041"
    assert view.claim_number(5.0, "count") == "5" and view.claim_number(11.0, "count") == "11"
    assert view.claim_number(1.0, "rank") == "1"
    assert view.claim_number(25000.0, "vehicles") == "25,000"
    assert view.claim_number(13.1997, "USD bn") == "13.20"
    assert view.claim_number(-2.75979, "%") == f"{M}2.760"
    assert view.claim_number(float("nan"), "%") == ""


def test_claims_contradiction_lines_use_the_unit_rule() -> None:
    res = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "stated": [2041.0, 1.0, 2.7],
            "computed": [2040.0, 2.0, 2.9074],
            "unit": ["year", "rank", "%"],
            "verdict": ["contradicted"] * 3,
            "note": ["n1", "n2", "n3"],
        }
    )
    text = view.discrepancy_lines(res)
    assert "stated 2041 year, computed 2040. n1" in text
    assert "stated 1 rank, computed 2. n2" in text
    assert "stated 2.7 %, computed 2.907. n3" in text
    assert view.discrepancy_lines(res.assign(verdict="supported")).startswith("No claim")


def test_claims_summary_does_not_count_unchecked_claims_as_checked() -> None:
    res = pd.DataFrame(
        {"verdict": ["supported", "contradicted", "not_checkable"], "basis": ["data"] * 3}
    )
    text = view.summary_sentence(res)
    assert text.startswith("Of 3 claims, 3 concern official data and 2 of those can be checked")
    assert "**1 not checkable**" in text


def test_deficit_sentence_writes_years_as_years() -> None:
    info = {
        "deficit": -28291.3 * -1,
        "year": 2015,
        "partner": "Korea, South",
        "later_years": 9,
        "later_larger": 4,
        "max_year": 2023,
        "max_deficit": 51412.0,
        "data_through": "2024-06",
    }
    text = view.deficit_sentence(info)
    assert "2015 'high'" in text and "largest, 2023," in text and "US$ 28.3 billion" in text
    assert "4 of the 9" in text and "South Korea" in text


def test_tables_write_years_counts_and_minus_through_fmt() -> None:
    df = pd.DataFrame(
        {
            "Year": [2011, 2012],
            "Country-flow-years": [12232, 5121],
            "Years since entry": [-5, 1],
            "Value": [-228.64, 1234.5],
        }
    )
    html = markup.table(df, precision=1).to_html()
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert cells == ["2011", "12,232", f"{M}5", f"{M}228.6", "2012", "5,121", "1", "1,234.5"]


def test_data_quality_summary_separates_thousands() -> None:
    meta = {
        "source": {"file": "country.xlsx", "format": "xlsx", "sha256": "4b16c6641234abcd"},
        "first_month": "1985-01",
        "last_month": "2024-06",
        "months": 474,
        "rows": 103212,
        "partners": 263,
        "countries": 246,
        "aggregates": 17,
        "unpublished_months_dropped": ["2024-07", "2024-12"],
        "year_gaps": {},
        "annual_sum_check": {"max_discrepancy": 0.1, "tolerance": 0.5},
        "name_changes": [],
        "placeholder_rows_dropped": [],
    }
    text = quality.summary_sentence(SimpleNamespace(meta=meta))
    assert "103,212 partner-months for 263 partners" in text and "0.1 (tolerance 0.5)" in text
    table = quality.summary_table(SimpleNamespace(meta=meta))
    values = dict(zip(table["Measure"], table["Value"], strict=True))
    assert values["rows (partner-months)"] == "103,212"
    assert values["months"] == "474" and values["coverage"] == "1985-01 to 2024-06"
    assert "4b16c6641234" in values["source file"]


def test_published_title_drops_the_notebook_number() -> None:
    assert publish.page_title("02 · Trends in *U.S.* goods trade") == "Trends in U.S. goods trade"
    assert publish.page_title("2012 in review") == "2012 in review"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 04 · Checking the numbers\n\nText 02 · here.")]
    assert publish.notebook_title(nb) == "Checking the numbers"
    publish.unnumber_heading(nb)
    assert nb.cells[0]["source"] == "# Checking the numbers\n\nText 02 · here."


def test_written_note_names_only_files_in_the_site(tmp_path: Path) -> None:
    report = tmp_path / "reports" / "korea-south"
    (report / "figures").mkdir(parents=True)
    paths = [
        report / "coefficients.csv",
        tmp_path / "data" / "processed" / "sa" / "korea-south.csv",
        report / "figures",
        report / "results.json",
    ]
    note = results.written_note(paths, report)
    assert note == "Written beside this page: `coefficients.csv`, `figures/`, `results.json`."
    assert "data/processed" not in note


def test_context_sentences_use_fmt() -> None:
    years = [2011, 2012, 2013, 2014, 2015, 2016, 2017]
    balances = pd.DataFrame(
        {
            "Korea, South": [-13200.0, -16600.0, -20700.0, -25100.0, -28300.0, -27600.0, -51400.0],
            "China, People's Republic": [-295000.0] * 7,
            "Japan": [-63000.0] * 7,
        },
        index=pd.Index(years, name="year"),
    )
    lines = context_text.deficit_lines(balances, "Korea, South", 2011, 2015)
    assert lines[0].startswith("- The U.S. deficit with South Korea was US$ 13.2 billion in 2011")
    assert "peaked at US$ 28.3 billion in 2015 within 2011–2015" in lines[0]
    assert "In 2017 it was the 3rd largest of the 3 partners shown" in lines[1]
    assert "US$ 295.0 billion" in lines[1]
    shares = pd.DataFrame(
        {"exports_share": [2.6, 3.0], "imports_share": [2.5, 3.1]}, index=pd.Index([2011, 2024])
    )
    assert context_text.share_years(shares, 2011) == [2011, 2024]
    assert "in 2011; in 2024 the shares were 3.00 % and 3.10 %" in context_text.share_sentence(
        shares, "Korea, South", 2011
    )
    macro = pd.DataFrame(
        {
            "gdp_growth": [3.0, -0.7, 2.0],
            "trade_pct_gdp": [100.0, 90.0, 80.0],
            "unemployment": [3.5, 3.6, 2.9],
            "krw_per_usd": [1100.0, 1200.0, 1363.4],
        },
        index=pd.Index([2011, 2012, 2013]),
    )
    text = context_text.macro_sentence(macro, 2012, 2013, 2000)
    assert f"(the lowest year since 2000: 2012, {M}0.7 %)" in text
    assert "won averaged 1,363 per dollar" in text
    assert not text_violations(text) and not any(text_violations(s) for s in lines)


def test_landing_caveat_speaks_of_the_p_values_the_table_shows() -> None:
    from analysis.report.text import CAVEATS

    assert any("calibrated" in c for c in CAVEATS)
    assert not any(c.startswith("HAC standard errors") for c in CAVEATS)


def test_date_cells_do_not_wrap_at_their_hyphen() -> None:
    df = pd.DataFrame(
        {
            "Period": ["2012-03 to 2024-06", "2000-01 to 2011-12"],
            "Break": ["2012-03", fmt.MISSING],
            "Years": ["1985–2015", "2013–2023"],
            "Note": ["a long note that mentions 2012-03 and goes on to explain much more", "x"],
        }
    )
    assert [c for c in df.columns if markup.date_column(df[c])] == ["Period", "Break", "Years"]
    css = markup.table(df).to_html().split("</style>")[0]
    nowrap = re.search(r"([^{}]*)\{[^{}]*white-space: nowrap;[^{}]*\}", css)
    assert nowrap is not None
    selectors = nowrap.group(1)
    assert "_col0" in selectors and "_col1" in selectors and "_col2" in selectors
    assert "_col3" not in selectors
