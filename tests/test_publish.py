"""Publishing: offline notebook HTML, the landing page, and a headless-browser screenshot."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from analysis.errors import DataError  # noqa: E402
from analysis.report import fmt, landing, publish  # noqa: E402

SECRET_CODE = "secret_variable_name = 41 + 1"


def _png_bytes() -> bytes:
    fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50)
    ax.plot([0, 1, 2], [1, 3, 2], color="#0072B2")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _notebook(path: Path) -> Path:
    """A tiny executed notebook: title, parameters cell, narrative, code with a PNG output."""
    png = base64.b64encode(_png_bytes()).decode("ascii")
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("partner = '5800'", metadata={"tags": ["parameters"]})
    params.execution_count = 1
    code = nbformat.v4.new_code_cell(SECRET_CODE + "\nfig")
    code.execution_count = 2
    code.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
        nbformat.v4.new_output("stream", name="stdout", text="forty-two computed\n"),
    ]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# U.S.–Korea *trade* trends\n\nIntro paragraph."),
        params,
        nbformat.v4.new_markdown_cell("## Findings\n\nThe deficit **widened** after 2012."),
        code,
    ]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def meta(tmp_path: Path) -> Path:
    path = tmp_path / "trade_monthly.meta.json"
    path.write_text(
        json.dumps(
            {
                "source": {"file": "country.xlsx", "sha256": "ab" * 32},
                "first_month": "1985-01",
                "last_month": "2024-06",
            }
        ),
        encoding="utf-8",
    )
    return path


def test_export_notebook_offline(tmp_path: Path, meta: Path) -> None:
    ipynb = _notebook(tmp_path / "02_trends.ipynb")
    out = tmp_path / "reports" / "korea-south" / "trends.html"
    assert publish.export_notebook(ipynb, out, meta_path=meta) == out
    text = out.read_text(encoding="utf-8")
    assert '<script src="http' not in text and "<script src='http" not in text
    assert '<link href="http' not in text and 'rel="stylesheet" href="http' not in text
    assert "<script" not in text  # nothing to load at all: require.js, MathJax, mermaid gone
    assert "secret_variable_name" not in text and "partner = " not in text  # inputs hidden
    assert "In&nbsp;[" not in text and "In [" not in text  # prompts hidden
    assert "data:image/png;base64," in text
    assert "forty-two computed" in text
    assert "Intro paragraph." in text and "<strong>widened</strong>" in text
    assert "<title>U.S.–Korea trade trends</title>" in text  # first heading, markdown stripped
    assert 'href="../index.html"' in text  # header bar back to the landing page
    assert "sha256 abababababab" in text and "2024-06" in text  # data vintage in the footer
    # deterministic: a second export gives the same bytes
    again = publish.export_notebook(
        ipynb, tmp_path / "again.html", meta_path=meta, index_href="../index.html"
    )
    assert again.read_text(encoding="utf-8") == text


def test_pages_in_one_process_share_one_exporter_and_keep_their_own_content(
    tmp_path: Path, meta: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch publishes hundreds of pages in one process: the exporter (its templates
    compiled on first use) is made once, and each page still gets its own title, header link
    and content (nothing of one page's resources leaks into the next)."""
    import nbconvert

    made: list[object] = []

    class Counting(nbconvert.HTMLExporter):  # type: ignore[misc]
        def __init__(self, *args: object, **kwargs: object) -> None:
            made.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(nbconvert, "HTMLExporter", Counting)
    publish._exporter.cache_clear()
    try:
        first = _notebook(tmp_path / "a.ipynb")
        second = tmp_path / "b.ipynb"
        nb = nbformat.read(first, as_version=4)
        nb.cells[0].source = "# Japan sectors\n\nAnother page."
        nb.cells[3].outputs[1].text = "seventeen computed\n"
        nbformat.write(nb, second)
        a = publish.export_notebook(first, tmp_path / "a" / "trends.html", meta_path=meta)
        b = publish.export_notebook(
            second, tmp_path / "b" / "sectors.html", meta_path=meta, index_href="../../x.html"
        )
    finally:
        publish._exporter.cache_clear()
    assert len(made) == 1
    text_a, text_b = a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")
    assert "<title>U.S.–Korea trade trends</title>" in text_a and "forty-two" in text_a
    assert "<title>Japan sectors</title>" in text_b and "seventeen" in text_b
    assert "forty-two" not in text_b and "Korea" not in text_b
    assert 'href="../../x.html"' in text_b and 'href="../../x.html"' not in text_a


def test_index_href_depends_on_depth(tmp_path: Path) -> None:
    assert publish.index_href_for(tmp_path / "reports" / "data-quality.html") == "index.html"
    assert publish.index_href_for(tmp_path / "reports" / "korus" / "x.html") == "../index.html"


def test_export_notebook_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such notebook"):
        publish.export_notebook(tmp_path / "missing.ipynb", tmp_path / "x.html")
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="bad.ipynb: not a readable notebook"):
        publish.export_notebook(bad, tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


def _results(code: int, partner: str, slug: str, scale: float = 1.0) -> dict:
    """A results.json in the layout of analysis.report.results.results_dict (values made up)."""

    def year(y: int, e: float, i: float, months: int = 12) -> dict:
        return {
            "year": y,
            "exports": e * scale,
            "imports": i * scale,
            "balance": round((e - i) * scale, 1),
            "months": months,
            "complete": months == 12,
        }

    return {
        "schema_version": 1,
        "partner_code": code,
        "partner": partner,
        "slug": slug,
        "data_through": "2024-06",
        "annual": [
            year(2010, 38844.0, 48875.4),
            year(2011, 43461.6, 56661.4),
            year(2012, 42000.0, 58000.0, months=6),
        ],
        "its": {
            "exports": {
                "log": True,
                "breaks": [
                    {
                        "break": "2012-03",
                        "level_change": -0.052,
                        "level_change_ci": [-0.1, -0.004],
                        "pct_level_change": -5.07,
                        "pct_level_change_ci": [-90.0, 90.0],  # plain HAC: never quoted
                        "pct_level_change_ci_calibrated": [-9.52, -0.4],
                        "pct_slope_change_per_year": 1.234,
                        "pct_slope_change_per_year_ci_boot": [-0.5, 3.0],
                        "p_level": 0.777,  # plain HAC: never quoted
                        "p_level_calibrated": 0.0312,
                        "p_slope_boot": 0.21,
                    },
                ],
            },
            "balance": {
                "log": False,
                "breaks": [
                    {
                        "break": "2012-03",
                        "level_change": -512.4,
                        "level_change_ci_calibrated": [-900.2, -124.6],
                        "slope_change": -10.0,
                        "slope_change_ci_calibrated": [-20.0, 0.0],
                        "slope_change_per_year": -120.0,
                        "slope_change_per_year_ci_calibrated": [-240.0, 0.0],
                        "p_level_calibrated": 0.0004,
                        "p_slope_calibrated": 0.05,
                        "p_slope": 0.666,  # plain HAC only where nothing else: never quoted
                    },
                    {"break": "2019-01"},  # everything missing: n/a, not a crash
                ],
            },
        },
        "counterfactual": {
            "exports": {
                "post_start": "2012-03",
                "post_end": "2024-06",
                "cumulative_gap": -12345.6,
                "gap_ci": [-20000, -3000],
                "pct_gap": -2.5,
            }
        },
        "caveats": ["Goods only; services are not covered."],
    }


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    root = tmp_path / "reports"
    korea = root / "korea-south"
    (korea / "figures").mkdir(parents=True)
    (korea / "results.json").write_text(json.dumps(_results(5800, "Korea, South", "korea-south")))
    (korea / "trends.html").write_text("<html></html>")
    png = _png_bytes()
    (korea / "figures" / "annual_balance.png").write_bytes(png)
    (korea / "figures" / "monthly_trade.png").write_bytes(png)
    (korea / "sectors-figures").mkdir()
    (korea / "sectors-figures" / "product_groups.png").write_bytes(png)
    japan = root / "japan"
    japan.mkdir()
    (japan / "results.json").write_text(json.dumps(_results(5880, "Japan", "japan", 2.0)))
    (root / "korus").mkdir()
    (root / "korus" / "claims.html").write_text("<html></html>")
    (root / "claims.csv").write_text(
        "id,claim,stated,computed,unit,verdict,basis,note\n"
        "a,x,1,1,u,supported,data,\nb,x,1,2,u,supported,data,\nc,x,1,3,u,contradicted,data,\n"
        "d,x,1,,u,not_checkable,data,\ne,x,1,1,u,supported,arithmetic,\nf,x,1,1,u,supported,reference,\n",
        encoding="utf-8",
    )
    return root


def test_build_index(reports: Path, meta: Path) -> None:
    out = landing.build_index(reports, meta_path=meta, built="2025-01-02")
    assert out == reports / "index.html"
    text = out.read_text(encoding="utf-8")
    # key numbers of the default partner (5800): latest complete year 2011, US$ billions
    assert "Key numbers, 2011" in text
    assert 'data-key="exports">43.5<' in text
    assert 'data-key="imports">56.7<' in text
    assert 'data-key="balance">\u221213.2<' in text
    # KORUS effects with intervals, in % for log models and US$ millions for the balance
    assert "\u22125.1%" in text and "\u22129.5% to \u22120.4%" in text
    assert "US$ \u2212512 mn<" in text and "\u2212900 to \u2212125" in text
    assert "US$ \u2212120 mn<" in text  # slope x 12
    assert "0.031" in text and "&lt;0.001" in text
    assert "0.777" not in text and "0.666" not in text and "90.0%" not in text  # never HAC
    assert "0.21" in text  # the bootstrap p-value where no calibrated one was computed
    # the empty break entry: every cell missing, shown as in the notebook tables
    assert "Jan 2019</td>" + '<td class="num">\u2013</td>' * 6 in text
    assert fmt.MISSING_NOTE in text
    assert "\u221212.3" in text  # counterfactual gap in US$ billions
    # vintage and build date
    assert "abababababab" in text and "2024-06" in text and "2025-01-02" in text
    # links and thumbnails (relative), other partners, claims summary
    assert 'href="korea-south/trends.html"' in text
    assert 'href="korus/claims.html"' in text
    assert 'src="korea-south/figures/annual_balance.png"' in text
    assert 'src="korea-south/figures/monthly_trade.png"' in text
    # the sectors notebook's figures, from their own folder, after the trends figures
    sectors_at = text.index('src="korea-south/sectors-figures/product_groups.png"')
    assert sectors_at > text.index('src="korea-south/figures/monthly_trade.png"')
    assert "Japan" in text and "\u221226.4" in text  # Japan 2011 balance (scaled x2)
    assert 'data-verdict="supported" style="background:#1b7837;color:#ffffff">2 supported' in text
    assert ">1 contradicted<" in text and ">1 not checkable<" in text
    assert "Goods only; services are not covered." in text
    assert "http://" not in text and "https://" not in text  # no external resources
    # the size of the trend tests is read from the evaluation page's results, not typed in
    assert landing.NO_SIZE in text and "25–30" not in text
    (reports / "korus" / "evaluation.json").write_text(
        json.dumps(
            {
                "its_size": {
                    "exports": {"actual": 0.058, "actual_hac": 0.309, "n_sim": 5000},
                    "balance": {"actual": 0.056, "actual_hac": 0.229, "n_sim": 5000},
                }
            }
        ),
        encoding="utf-8",
    )
    text = landing.build_index(reports, meta_path=meta, built="2025-01-02").read_text()
    assert (
        "in 5,000 simulated series per flow plain HAC tests rejected a true null 23–31 % of the "
        "time at a nominal 5 %, these 5.6–5.8 % (evaluation page)" in text
    )


def test_build_index_defensive(tmp_path: Path, meta: Path) -> None:
    root = tmp_path / "reports"
    (root / "odd").mkdir(parents=True)
    (root / "odd" / "results.json").write_text(
        json.dumps({"schema_version": 1, "partner": "Odd", "annual": "?"})
    )
    text = landing.build_index(root, meta_path=tmp_path / "none.json", built="x").read_text()
    assert "n/a" in text and "Odd" in text
    (root / "odd" / "results.json").write_text(json.dumps({"partner": "Odd"}))
    with pytest.raises(
        DataError, match=r"odd/results.json: no schema_version; expected schema_version 1"
    ):
        landing.build_index(root, meta_path=meta)
    (root / "odd" / "results.json").write_text(json.dumps({"schema_version": 2, "partner": "Odd"}))
    with pytest.raises(
        DataError, match=r"results.json: schema_version 2; expected schema_version 1"
    ) as err:
        landing.build_index(root, meta_path=meta)
    assert "\n" not in str(err.value)
    (root / "odd" / "results.json").write_text("{broken")
    with pytest.raises(DataError, match="results.json: not valid JSON"):
        landing.build_index(root, meta_path=meta)
    with pytest.raises(DataError, match="no such reports folder"):
        landing.build_index(tmp_path / "nope")


def test_formatting() -> None:
    assert fmt.billions(-13199.7) == "\u221213.2"
    assert fmt.billions(43461.6) == "43.5"
    assert fmt.billions(None) == "n/a"
    assert fmt.billions(float("nan")) == "n/a"
    assert fmt.billions(-20.0) == "0.0"  # no negative zero
    assert fmt.pct(12.345) == "+12.3%" and fmt.pct(-0.01) == "0.0%"
    assert landing._caption(Path("02_its_exports.png")) == "ITS exports"
    assert fmt.p_value(0.00001) == "<0.001" and fmt.p_value("x") == "n/a"


def test_cli(tmp_path: Path, reports: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert publish.main(["index", str(reports)]) == 0
    assert (reports / "index.html").is_file()
    assert publish.main(["notebook", str(tmp_path / "none.ipynb"), str(tmp_path / "o.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "none.ipynb" in err[0]


# ---- headless browser ------------------------------------------------------------------------

CHROMIUM_NAMES = (
    "chromium-headless-shell",
    "chromium",
    "chromium-browser",
    "google-chrome",
    "chrome-headless-shell",
)


def _chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(html: Path, png: Path, profile: Path, size: str = "1280,2000") -> None:
    """Render ``html`` with headless Chromium into ``png`` (offline flags, 60 s timeout)."""
    binary = _chromium()
    assert binary is not None
    subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--hide-scrollbars",
            f"--screenshot={png}",
            f"--window-size={size}",
            html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def distinct_colours(rgb: np.ndarray) -> int:
    """How many distinct colours the pixels ``rgb`` (n, 3) of ``uint8`` hold: each packed into
    one integer (``np.unique(rgb, axis=0)`` gives the same count, seven times slower)."""
    packed = (rgb[:, 0].astype(np.uint32) << 16) | (rgb[:, 1].astype(np.uint32) << 8) | rgb[:, 2]
    return len(np.unique(packed))


def test_distinct_colours_counts_rows_as_numpys_unique_does() -> None:
    levels = np.array([0, 1, 254, 255], dtype=np.uint8)
    rgb = levels[np.random.default_rng(3).integers(0, 4, size=(5000, 3))]
    assert distinct_colours(rgb) == len(np.unique(rgb, axis=0)) == 64


@pytest.mark.skipif(
    _chromium() is None,
    reason="no Chromium binary on PATH (apt-get install "
    "chromium-headless-shell) for the screenshot test",
)
@pytest.mark.slow  # a browser: `make test`, not `make test-fast`
def test_index_screenshot_not_blank(tmp_path: Path, reports: Path, meta: Path) -> None:
    index = landing.build_index(reports, meta_path=meta, built="2025-01-02")
    png = tmp_path / "index.png"
    screenshot(index, png, tmp_path / "profile")
    image = plt.imread(png)
    assert image.shape[0] == 2000 and image.shape[1] == 1280
    rgb = (image[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    non_white = np.any(rgb < 245, axis=1).mean()
    assert distinct_colours(rgb) > 50, "page rendered with almost no colours"
    assert non_white > 0.05, "page rendered nearly blank"
    # the dark header band is at the top
    assert image[20, 640, :3].max() < 0.3


def test_landing_page_counts_only_data_checks(reports: Path, meta: Path) -> None:
    """Issue 12: the report's own arithmetic and compiled trade-press figures are shown as
    such, not counted with the data-backed verdicts (they were before)."""
    text = landing.build_index(reports, meta_path=meta, built="2025-01-02").read_text(
        encoding="utf-8"
    )
    assert ">2 supported<" in text and ">4 supported<" not in text
    assert (
        "6 quantitative statements of the policy report; 4 concern official data, and 3 of "
        "those can be checked with the data at hand:" in text
    )
    assert "1 recompute the report&#39;s own arithmetic (1 agree)" in text
    assert "1 rest on compiled trade-press or agency figures (1 agree)" in text


def test_landing_page_names_the_breaks_of_the_run() -> None:
    """Issue 14: after ``make report BREAKS=2010-01`` the heading named KORUS regardless."""
    korus = {"partner_code": 5800, "params": {"breaks": ["2012-03", "2019-01"]}}
    assert landing.breaks_heading(korus) == (
        "Changes in level and trend at KORUS in force (Mar 2012) and the revised KORUS (Jan 2019)"
    )
    other = {"partner_code": 5800, "params": {"breaks": ["2010-01"]}}
    assert landing.breaks_heading(other) == "Changes in level and trend at Jan 2010"
    assert "KORUS" not in landing.breaks_heading(other)


def test_landing_page_makes_no_causal_claim(reports: Path, meta: Path) -> None:
    """Issue 12: the projection was called a "no-KORUS forecast" under "KORUS effects", and
    trend changes 100(exp(12b)-1) were labelled "percentage points of growth"."""
    text = landing.build_index(reports, meta_path=meta, built="2025-01-02").read_text(
        encoding="utf-8"
    )
    for phrase in ("no-KORUS", "KORUS effect", "effect of KORUS", "percentage points"):
        assert phrase not in text
    assert "% per year" in text and "not an estimate of what the agreement caused" in text


def test_size_note_covers_both_noise_models(tmp_path: Path) -> None:
    def row(cal: float, both: tuple[float, float]) -> dict:
        return {
            "actual": cal,
            "actual_hac": 0.3,
            "n_sim": 500,
            "by_noise": [
                {"noise": "break_model", "actual": both[0]},
                {"noise": "null_model", "actual": both[1]},
            ],
        }

    path = tmp_path / "evaluation.json"
    size = {"exports": row(0.05, (0.05, 0.054)), "balance": row(0.048, (0.048, 0.063))}
    path.write_text(json.dumps({"its_size": size}), encoding="utf-8")
    assert landing.size_note(path) == (
        "in 500 simulated series per flow plain HAC tests rejected a true null 30–30 % of the "
        "time at a nominal 5 %, these 4.8–6.3 % whether the simulated noise was fitted with or "
        "without the breaks (evaluation page)"
    )


def test_the_page_exporter_gives_nbconverts_page_without_css_selectors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page exporter's last step (a placeholder for an image without alt text,
    ``tabindex="0"`` on the cells' input and output areas) gives the stock HTMLExporter's page
    byte for byte, and compiles no CSS selector (soupsieve's grammar: 0.2 s a page process)."""
    import nbconvert
    import soupsieve

    nb = nbformat.read(_notebook(tmp_path / "a.ipynb"), as_version=4)
    png = base64.b64encode(_png_bytes()).decode("ascii")
    nb.cells.append(
        nbformat.v4.new_markdown_cell(f'An inline image: <img src="data:image/png;base64,{png}">')
    )
    publish._exporter.cache_clear()
    exporter = publish._exporter()
    stock = nbconvert.HTMLExporter(config=exporter.config)
    expected, _ = stock.from_notebook_node(nb)
    assert "No description has been provided for this image" in expected
    assert expected.count('tabindex="0"') >= 3

    def no_selectors(*args: object, **kwargs: object) -> None:
        raise AssertionError("a CSS selector was compiled")

    monkeypatch.setattr(soupsieve, "compile", no_selectors)
    got, _ = exporter.from_notebook_node(nb)
    assert got == expected
