"""Defects a reader saw on the published pages, each pinned by the function that caused it."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import browser_checks  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import page_checks  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis.errors import DataError  # noqa: E402
from analysis.models.counterfactual import Counterfactual, draw_normal  # noqa: E402
from analysis.report import pages, publish, text  # noqa: E402
from analysis.vocab import HORIZON_MONTHS  # noqa: E402

# ---- the projection: nearest PSD covariance, the short horizon first -----------------------------


def test_draw_normal_equals_numpy_on_a_psd_matrix_and_is_silent_off_one() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    cov = a @ a.T
    for size in (1, 7, 40):
        want = np.random.default_rng(3).multivariate_normal(
            np.arange(4.0), cov, size=size, method="eigh"
        )
        assert np.array_equal(
            draw_normal(np.random.default_rng(3), np.arange(4.0), cov, size), want
        )
    # A Kalman-filter-like covariance: large scale, a rounding-size negative eigenvalue and a
    # hair of asymmetry: numpy warns ("not symmetric positive-semidefinite"), we must not.
    u, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    bad = (u * np.array([1e6, 1.0, -1e-5])) @ u.T
    bad[0, 1] += 1e-7
    with pytest.warns(RuntimeWarning, match="positive-semidefinite"):
        np.random.default_rng(1).multivariate_normal(np.zeros(3), bad, size=3, method="eigh")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = draw_normal(np.random.default_rng(1), np.zeros(3), bad, 2000)
    assert x.shape == (2000, 3) and np.isfinite(x).all()
    # the direction of the negative eigenvalue gets no spread at all (clipped to zero)
    assert np.abs(x @ u[:, 2]).max() < 1e-6
    assert np.std(x @ u[:, 0]) == pytest.approx(1000.0, rel=0.1)


def _counterfactual(months: int) -> Counterfactual:
    idx = pd.date_range("2012-03-01", periods=months, freq="MS")
    actual = pd.Series(np.full(months, 1100.0), index=idx)
    paths = np.tile(np.linspace(900.0, 1100.0, 5), (months, 1))  # median path 1000 a month
    return Counterfactual(
        series="exports",
        model="SARIMAX(1,1,1)(0,1,1,12) on log",
        train_end="2012-02",
        actual=actual,
        paths=paths,
        forecast=pd.DataFrame(),
        seed=1,
        log=True,
        converged=True,
        fit_warnings=[],
        diagnostics={},
        params=pd.DataFrame(),
    )


def test_projection_sentence_leads_with_the_short_horizon() -> None:
    assert HORIZON_MONTHS == 24
    s = text.describe_counterfactual(_counterfactual(148), "Exports")
    first, _, rest = s.partition(" Extrapolated")
    assert first.startswith("Over the first 24 months after the break (2012-03 to 2014-02),")
    assert "US$ 2.4 billion above" in first  # 24 months x 100 a month
    assert "extrapolation" not in first
    assert rest.startswith(" over all 148 months to 2024-06")
    assert "US$ 14.8 billion above" in rest and "extrapolation" in rest
    # a post period no longer than the horizon: one sentence, no extrapolation
    short = text.describe_counterfactual(_counterfactual(20), "Exports")
    assert short.startswith("Over the first 20 months") and "Extrapolated" not in short


# ---- no stderr, warning, traceback or local path on a notebook page -----------------------------


def _notebook(path: Path, *outputs) -> Path:
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("x = 1")
    code.execution_count = 1
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="forty-two computed\n"),
        *outputs,
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# 02 · Trends\n\nIntro."), code]
    nbformat.write(nb, path)
    return path


WARNING = (
    "/work/main/src/analysis/models/counterfactual.py:246: RuntimeWarning: covariance is not "
    "symmetric positive-semidefinite.\n  x0 = rng.multivariate_normal(\n"
)


def test_a_stderr_warning_is_not_published(tmp_path: Path, capsys) -> None:
    ipynb = _notebook(
        tmp_path / "02_trends.ipynb", nbformat.v4.new_output("stream", name="stderr", text=WARNING)
    )
    out = publish.export_notebook(ipynb, tmp_path / "reports" / "p" / "trends.html")
    html = out.read_text(encoding="utf-8")
    assert "forty-two computed" in html
    assert page_checks.check_html(html) == []
    assert "RuntimeWarning" not in html and "/work/main" not in html
    assert "stderr output not published" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("output", "why"),
    [
        (nbformat.v4.new_output("stream", name="stdout", text=WARNING), "warning"),
        (
            nbformat.v4.new_output(
                "execute_result", data={"text/plain": "Written: /home/me/korus/data/x.csv"}
            ),
            "local path",
        ),
        (
            nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=["..."]),
            "error",
        ),
    ],
)
def test_a_page_showing_a_warning_path_or_error_is_refused(
    tmp_path: Path, output, why: str
) -> None:
    ipynb = _notebook(tmp_path / "02_trends.ipynb", output)
    html = tmp_path / "reports" / "p" / "trends.html"
    with pytest.raises(DataError, match=f"cell 1 shows.*{why}|cell 1 shows an {why}"):
        publish.export_notebook(ipynb, html)
    assert not html.exists()


def test_projection_band_covers_the_horizon_read_and_the_mean_goes_on() -> None:
    from matplotlib.collections import PolyCollection
    from matplotlib.dates import num2date

    from analysis.report import figures

    idx = pd.date_range("2000-01-01", "2024-06-01", freq="MS")
    y = pd.Series(np.linspace(2000.0, 6000.0, len(idx)), index=idx)
    fit = pd.DataFrame({"actual": y, "fitted": y, "pre_trend": y})
    post = idx[idx >= "2012-03-01"]
    mean = np.full(len(post), 4000.0)
    forecast = pd.DataFrame({"mean": mean, "lower": mean - 500, "upper": mean + 500}, index=post)
    fig = figures.plot_its(
        fit,
        forecast=forecast,
        series_label="U.S. exports",
        partner="Japan",
        data_through="2024-06",
        breaks=["2012-03"],
        unit="US$ millions",
    )
    ax = fig.axes[0]
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    xs = band.get_paths()[0].vertices[:, 0]
    assert num2date(xs.max()).strftime("%Y-%m") == "2014-02"  # 24 months from 2012-03
    mean_line = [ln for ln in ax.lines if len(ln.get_xdata()) == len(post)]
    assert mean_line  # the forecast mean still runs to the end of the data
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("first 24 months" in t for t in legend)
    assert any("after 24 months extrapolation" in t for t in legend)


# ---- the sectors page: its own months in the captions, its own data behind it --------------------


def test_sector_figures_name_the_product_tables_months() -> None:
    from analysis.report import sectors

    sections = pd.DataFrame(
        {
            "year": [2024, 2024],
            "numeral": ["XVI", "XVII"],
            "short_title": ["Machinery", "Vehicles"],
            "share": [60.0, 40.0],
        }
    )
    fig = sectors.plot_sections(sections, "Korea, South", "imports", "2024-12", data_from="2023-01")
    source = " ".join(fig.get_supxlabel().split())
    assert "product table, months 2023-01 to 2024-12" in source
    assert "trade by country" not in source and "data through" not in source


def test_sectors_page_links_the_sector_data_not_the_trend_files(tmp_path: Path) -> None:
    from analysis.models import sectors as model

    folder = tmp_path / "reports" / "korea-south"
    folder.mkdir(parents=True)
    for name in ("results.json", "coefficients.csv", "monthly.csv"):
        (folder / name).write_text("x", encoding="utf-8")
    chapters = pd.DataFrame(
        {
            "year": [2024],
            "chapter": ["87"],
            "description": ["Vehicles"],
            "value": [45000.0],
            "share": [34.2],
        }
    )
    groups = pd.DataFrame(
        {
            "group": ["autos"],
            "label": ["Cars"],
            "codes": ["8703"],
            "flow": ["imports"],
            "year": [2024],
            "value": [30000.0],
            "share": [22.8],
        }
    )
    data = model.page_data({"imports": chapters}, groups)
    assert list(data.columns) == list(model.PAGE_DATA_COLUMNS)
    assert data[["kind", "code", "value"]].values.tolist() == [
        ["chapter", "87", 45000.0],
        ["group", "8703", 30000.0],
    ]
    model.write_page_data(folder / "sectors.csv", data)
    sectors_links = [x["href"] for x in pages.data_links(folder / "sectors.html")]
    trends_links = [x["href"] for x in pages.data_links(folder / "trends.html")]
    assert sectors_links == ["sectors.csv"]
    assert trends_links == ["results.json", "coefficients.csv", "monthly.csv"]


# ---- the browser check itself: it fails on what a reader would see as broken ------------------

_PAGE = """<!DOCTYPE html><html><head><title>{title}</title><style>{css}</style></head>
<body><h1>{title}</h1><p>{prose}</p>{table}</body></html>"""
_TABLE = (
    "<div class='out'><table><thead><tr><th>Claim id</th><th>Claim (as stated)</th>"
    "<th>Stated</th><th>Verdict</th></tr></thead><tbody><tr><td>{date}</td><td>"
    + "a claim in words " * 8
    + "</td><td>1</td><td>supported</td></tr></tbody></table></div>"
)


@pytest.mark.skipif(browser_checks.browser() is None, reason="no headless Chromium on PATH")
def test_browser_check_catches_an_off_screen_verdict_and_bad_text(tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text(
        _PAGE.format(
            title="04 · Claims",
            prose="The gap was -0.249 in 2,041.",
            css="td{white-space:nowrap} td:first-child{white-space:normal;width:3em}"
            " td:nth-child(2),th:nth-child(2){white-space:normal;width:60px;max-width:60px}"
            " td:nth-child(3){padding-left:400px}",
            table=_TABLE.format(date="2012-03"),
        ),
        encoding="utf-8",
    )
    found = browser_checks.problems(browser_checks.probe(broken, 390, tmp_path), 390)
    kinds = " | ".join(found)
    for expected in (
        "minus:",
        "year:",
        "title:",
        "verdict column off-screen",
        "date cell wraps",
        "claim column squeezed",
    ):
        assert expected in kinds, kinds
    fixed = tmp_path / "fixed.html"
    fixed.write_text(
        _PAGE.format(
            title="Claims",
            prose="The gap was \u22120.249 in 2041.",
            css="td{white-space:nowrap} td:nth-child(2){white-space:normal;min-width:15em}"
            " table{display:block;overflow-x:auto;"
            "background:linear-gradient(to left,#0003,#0000) right/14px 100% no-repeat}",
            table=_TABLE.format(date="2012-03"),
        ),
        encoding="utf-8",
    )
    assert browser_checks.problems(browser_checks.probe(fixed, 390, tmp_path), 390) == []


def test_a_quote_in_a_name_reads_as_a_quote_on_the_page(tmp_path: Path) -> None:
    # Cote d'Ivoire's pages said "Cote d&#x27;Ivoire": the escaped quote's '#' was then
    # escaped as Markdown, so the renderer no longer saw an entity.
    from analysis.report.markup import escape_md

    names = 'Cote d\'Ivoire, "quoted" <b>bold</b> & more'
    md = f"- **{escape_md(names)}**: {escape_md('agreement' + chr(39) + 's rule #1')}"
    out = nbformat.v4.new_output("display_data", data={"text/markdown": md, "text/plain": ""})
    html = publish.export_notebook(
        _notebook(tmp_path / "02_trends.ipynb", out), tmp_path / "reports" / "p" / "trends.html"
    ).read_text(encoding="utf-8")
    assert "&amp;#x27;" not in html and "&amp;#39;" not in html
    assert "Cote d'Ivoire" in html or "Cote d&#x27;Ivoire" in html  # one level: a quote
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html  # still escaped
    assert page_checks.check_html(html) == []


def test_an_entity_shown_as_text_is_flagged() -> None:
    bad = "<html><body><p>Cote d&amp;#x27;Ivoire and AT&amp;amp;T</p></body></html>"
    kinds = [v.kind for v in page_checks.check_html(bad)]
    assert kinds == ["entity", "entity"], kinds
    assert page_checks.check_html("<p>Cote d&#x27;Ivoire &amp; 5 &lt; 6</p>") == []
