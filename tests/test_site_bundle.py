"""One rendering layer: templates only (no HTML in Python strings), one rule for the quoted
p-value, the page registry behind the landing page and the data links, and the published
bundle (``make publish``)."""

from __future__ import annotations

import ast
import hashlib
import json
import re
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import DataError
from analysis.report import bundle, fmt, landing, pages, tables
from analysis.vocab import quoted, quoted_kind

SRC = Path(__file__).resolve().parents[1] / "src" / "analysis"

# ---- no HTML in Python strings -----------------------------------------------------------------

_TAG = re.compile(
    r"</?(?:a|b|body|br|caption|code|details|div|em|figcaption|figure|footer|h[1-6]|head|"
    r"header|html|i|img|li|link|main|meta|ol|p|pre|script|section|small|span|strong|style|"
    r"summary|table|td|th|title|tr|ul)(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)


def html_in_strings(root: Path) -> list[str]:
    """``file:line: tag`` for each string literal (docstrings aside) holding an HTML tag."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        parts = {
            id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):  # an f-string: its text with {} for each field
                text = "".join(
                    v.value if isinstance(v, ast.Constant) else "{}" for v in node.values
                )
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in docs or id(node) in parts:
                    continue
                text = node.value
            else:
                continue
            if m := _TAG.search(text):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {m.group(0)}")
    return found


def test_no_python_module_writes_html_tags() -> None:
    assert html_in_strings(SRC) == []


def test_the_html_scan_finds_a_tag(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text('"""Doc <p>."""\nX = f"<td class={1}>"\nY = "a <b"\n')
    assert html_in_strings(tmp_path) == ["m.py:2: <td class={}>"]


def test_landing_module_is_well_under_the_limit() -> None:
    assert len((SRC / "report" / "landing.py").read_text().splitlines()) < 600


# ---- which p-value and interval a page quotes ---------------------------------------------------


def test_quoted_prefers_the_calibrated_value() -> None:
    row = {"p_level": 0.5, "p_level_boot": 0.2, "p_level_calibrated": 0.03}
    assert quoted(row, "p_level") == 0.03 and fmt.quoted_p(row, "p_level") == "0.030"


def test_quoted_falls_back_to_the_bootstrap() -> None:
    row = {"p_level": 0.5, "p_level_boot": 0.2, "p_level_calibrated": float("nan")}
    assert fmt.quoted_p(row, "p_level") == "0.20"
    assert fmt.quoted_p({"p_value_bootstrap": 0.0001}, "p_value") == "<0.001"


def test_quoted_never_shows_the_plain_hac_value() -> None:
    row = {"p_level": 0.5, "pct_level_change_ci": [1.0, 2.0]}
    assert fmt.quoted_p(row, "p_level") == fmt.MISSING
    assert fmt.quoted_interval(row, "pct_level_change_ci", fmt.pct) == fmt.MISSING


def test_quoted_interval_by_the_same_rule() -> None:
    row = {"pct_level_change_ci": [-90, 90], "pct_level_change_ci_boot": [-1.25, 2.0]}
    assert fmt.quoted_interval(row, "pct_level_change_ci", fmt.pct) == "\u22121.2% to +2.0%"


def test_model_kind_follows_the_rule() -> None:
    assert quoted_kind({"cal": True, "boot": True}) == "cal"
    assert quoted_kind({"cal": False, "boot": True}) == "boot"
    assert quoted_kind({"cal": False, "boot": False}) is None


def test_notebook_tables_quote_row_by_row_like_the_landing_page() -> None:
    """The effects table took the calibrated column whole: a row without a calibrated
    p-value showed "–" where the landing page showed its bootstrap one."""
    df = pd.DataFrame(
        {
            "series": ["exports", "imports"],
            "break": ["2012-03", "2012-03"],
            "unit": ["%", "%"],
            "level_change": [1.0, 2.0],
            "trend_change_per_year": [0.5, 0.5],
            "p_level_calibrated": [0.04, np.nan],
            "p_level_boot": [0.3, 0.07],
            "p_level_hac": [0.001, 0.001],
            "p_trend_calibrated": [np.nan, np.nan],
            "p_trend_hac": [0.2, 0.2],
        }
    )
    out = tables.effects(df)
    assert list(out["p, level"]) == ["0.040", "0.070"]
    assert list(out["p, trend"]) == [fmt.MISSING, fmt.MISSING]
    for (_, row), shown in zip(df.iterrows(), out["p, level"], strict=True):
        assert landing.effect_row({**row.to_dict(), "log": True})["p_level"] == shown


# ---- the landing page: template and registry ----------------------------------------------------

HOSTILE = '<script>alert("x")</script> & <b>Co</b>'


def _results(partner: str, slug: str, code: int = 5800) -> dict:
    return {
        "schema_version": 1,
        "partner_code": code,
        "partner": partner,
        "slug": slug,
        "data_through": "2024-06",
        "annual": [
            {"year": 2011, "exports": 1.0, "imports": 2.0, "balance": -1.0, "complete": True}
        ],
        "its": {
            "exports": {
                "log": True,
                "breaks": [{"break": "2012-03", "pct_level_change": 1.0, "p_level": 0.01}],
            }
        },
        "caveats": [HOSTILE],
    }


def test_landing_template_escapes_every_value(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "trends.html").write_text("<html></html>")
    registry = (
        *pages.PAGES,
        pages.Page(key="evil", title=HOSTILE, caption=HOSTILE, output="evil.html"),
    )
    (tmp_path / "evil.html").write_text("<html></html>")
    html = landing.render_index(
        tmp_path,
        [_results(HOSTILE, "x")],
        default_partner=5800,
        vintage={"sha256": "<i>", "last_month": "2024-06"},
        built="<u>",
        pages=registry,
    )
    assert "<script>" not in html and "<b>Co</b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;Co&lt;/b&gt;" in html
    assert '<li><a href="evil.html">&lt;script&gt;' in html
    # the plain HAC p-value (0.01) is not quoted: none was calibrated or bootstrapped
    assert "0.010" not in html and fmt.MISSING_NOTE in html


def test_registry_drives_the_landing_sections(tmp_path: Path) -> None:
    (tmp_path / "korus").mkdir()
    (tmp_path / "korus" / "agreements.html").write_text("<html></html>")
    extra = pages.Page(
        key="agreements",
        title="Every agreement",
        caption="All U.S. FTAs side by side",
        output="korus/agreements.html",
    )
    partners = [_results("Korea, South", "korea-south"), _results("Japan", "japan", 5880)]
    before = landing.render_index(tmp_path, partners, default_partner=5800, vintage={}, built="x")
    assert "Every agreement" not in before
    html = landing.render_index(
        tmp_path,
        partners,
        default_partner=5800,
        vintage={},
        built="x",
        pages=(*pages.PAGES, extra),
    )
    assert (
        '<li><a href="korus/agreements.html">Every agreement</a>'
        "<small>All U.S. FTAs side by side</small></li>" in html
    )
    # every declared page is listed, in the declared order; a partner's for the default one
    sections = html.split('<ul class="sections">')[1].split("</ul>")[0]
    titles = re.findall(r'<li(?: class="missing")?>(?:<a href="[^"]*">)?([^<]+)', sections)
    listed = [p.title for p in pages.PAGES if p.listed and not p.only_where_built]
    assert titles[: len(listed)] == listed and titles[len(listed)] == "Every agreement"
    assert titles[-1] == "Japan: trends"
    assert '<li class="missing">Trends and breaks<small>not built yet</small></li>' in html


def test_each_page_links_the_data_its_entry_declares(tmp_path: Path) -> None:
    """The sectors page linked the trend files beside it (results.json, monthly.csv)."""
    folder = tmp_path / "reports" / "korea-south"
    folder.mkdir(parents=True)
    for name in ("results.json", "coefficients.csv", "monthly.csv"):
        (folder / name).write_text("{}")
    trends = pages.data_links(folder / "trends.html")
    assert [link["href"] for link in trends] == ["results.json", "coefficients.csv", "monthly.csv"]
    assert pages.data_links(folder / "sectors.html") == []
    claims = tmp_path / "reports" / "korus" / "claims.html"
    claims.parent.mkdir()
    (tmp_path / "reports" / "claims.csv").write_text("id\n")
    assert pages.data_links(claims) == [
        {"href": "../claims.csv", "label": "claims and verdicts (CSV)"}
    ]
    assert pages.page_at("korea-south/trends.html").key == "trends"
    assert pages.page_at("korea-south/other.html") is None


# ---- the published bundle -----------------------------------------------------------------------


def _site(root: Path) -> Path:
    """A small built site: landing page, a partner page with a figure and data, a context
    page, and files no page links (an executed notebook, params.json)."""
    (root / "korea-south" / "figures").mkdir(parents=True)
    (root / "korus").mkdir()
    (root / "index.html").write_text(
        "<html><head><title>Reports</title></head><body><h1>Reports</h1>"
        '<a href="korea-south/trends.html">Trends</a> <a href="korus/claims.html#top">Claims</a>'
        '<img src="korea-south/figures/a.png" alt="a"><a href="https://census.gov">Census</a>'
        "</body></html>",
        encoding="utf-8",
    )
    (root / "korea-south" / "trends.html").write_text(
        '<html><body><a href="../index.html">back</a> <a href="results.json">data</a>'
        '<img src="data:image/png;base64,AAAA"></body></html>',
        encoding="utf-8",
    )
    (root / "korea-south" / "figures" / "a.png").write_bytes(b"\x89PNG fake")
    (root / "korea-south" / "results.json").write_text("{}")
    (root / "korea-south" / "params.json").write_text('{"partner": "5800"}')
    (root / "korea-south" / "02_trends.ipynb").write_text("{}")
    (root / "korus" / "claims.html").write_text(
        '<html><body><a href="../index.html">back</a></body></html>'
    )
    return root


@pytest.fixture
def meta(tmp_path: Path) -> Path:
    path = tmp_path / "meta.json"
    path.write_text(json.dumps({"last_month": "2024-06", "source": {"sha256": "ab" * 32}}))
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publish_writes_a_checksummed_offline_bundle(tmp_path: Path, meta: Path) -> None:
    root = _site(tmp_path / "reports")
    dist = tmp_path / "dist"
    out = bundle.publish(root, dist, meta_path=meta, built="2026-12-02", commit="abc123")
    assert out == dist / "korus-trade-2024-06-2026-12-02.zip"
    # SHA256SUMS verifies (sha256sum -c format)
    lines = (dist / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == 2
    for line in lines:
        digest, name = line.split("  ")
        assert _sha(dist / name) == digest
    assert not [p for p in dist.iterdir() if p.name.startswith(".")]  # no temporary left
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(unpacked)
    site = unpacked / "korus-trade-2024-06-2026-12-02"
    manifest = json.loads((site / "manifest.json").read_text())
    assert manifest["commit"] == "abc123" and manifest["data_vintage"]["last_month"] == "2024-06"
    assert manifest["parameters"] == {"korea-south": {"partner": "5800"}}
    assert manifest["pages"] == ["index.html", "korea-south/trends.html", "korus/claims.html"]
    files = sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file())
    assert files == sorted([*manifest["files"], "manifest.json", "SHA256SUMS"])
    assert "korea-south/02_trends.ipynb" not in files and "korea-south/params.json" not in files
    for line in (site / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert _sha(site / name) == digest
    # relocatable and offline: every relative link of the unpacked copy resolves inside it
    assert bundle.site_files(site) == sorted(manifest["files"])


def test_publish_copies_the_site_into_dest(tmp_path: Path, meta: Path) -> None:
    root = _site(tmp_path / "reports")
    dest = tmp_path / "host checkout"
    dest.mkdir()
    (dest / "CNAME").write_text("example.org\n")
    bundle.publish(root, tmp_path / "dist", dest=dest, meta_path=meta, built="2026-12-02")
    assert (dest / "CNAME").read_text() == "example.org\n"  # left alone
    assert (dest / "korea-south" / "figures" / "a.png").read_bytes() == b"\x89PNG fake"
    assert (dest / "index.html").read_bytes() == (root / "index.html").read_bytes()
    assert json.loads((dest / "manifest.json").read_text())["name"].startswith("korus-trade-")
    with pytest.raises(DataError, match="outside the reports folder"):
        bundle.publish(root, tmp_path / "dist", dest=root / "copy", meta_path=meta)


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ('<a href="missing.html">x</a>', "broken link 'missing.html'"),
        ('<img src="https://cdn.example/x.png">', "from the network"),
        ('<link rel="stylesheet" href="//cdn.example/x.css">', "from the network"),
        ('<a href="../../etc/passwd">x</a>', "leaves the site folder"),
        ("<p>RuntimeWarning: divide by zero</p>", "a page shows what it must not: korus/claims"),
        ("<p>change of -5.0 %</p>", "minus"),
    ],
)
def test_publish_refuses_a_site_with_a_bad_page(
    tmp_path: Path, meta: Path, page: str, message: str
) -> None:
    root = _site(tmp_path / "reports")
    (root / "korus" / "claims.html").write_text(f"<html><body>{page}</body></html>")
    with pytest.raises(DataError, match=re.escape(message)):
        bundle.publish(root, tmp_path / "dist", meta_path=meta)
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").iterdir())


def test_publish_refuses_stale_pages_and_a_missing_vintage(tmp_path: Path, meta: Path) -> None:
    root = _site(tmp_path / "reports")
    with pytest.raises(DataError, match="not up to date: reports/index.html"):
        bundle.publish(root, tmp_path / "dist", meta_path=meta, stale=["reports/index.html"])
    with pytest.raises(DataError, match="no data vintage"):
        bundle.publish(root, tmp_path / "dist", meta_path=tmp_path / "none.json")


def test_stale_pages_asks_make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Makefile").write_text(
        "new.html: src.txt\n\tcp src.txt $@\nold.html:\n\ttouch $@\n"
    )
    (tmp_path / "src.txt").write_text("x")
    (tmp_path / "old.html").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert bundle.stale_pages(["new.html", "old.html"], make=["make"]) == ["new.html"]
    assert not (tmp_path / "new.html").exists()  # asked, never built


def test_package_data_ships_every_template() -> None:
    """A template the globs miss is absent from an installed package (the page then fails)."""
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["analysis"]
    shipped = [
        p.relative_to(SRC).as_posix()
        for p in (SRC / "report" / "templates").rglob("*")
        if p.is_file()
    ]
    assert shipped and all(any(fnmatch.fnmatch(f, g) for g in globs) for f in shipped), shipped


def test_make_rules_come_from_the_registry(tmp_path: Path) -> None:
    """Each notebook page's publishing rule is generated (build/pages.mk), not kept by hand."""
    rules = pages.make_rules()
    assert (
        "reports/%/trends.html: reports/%/02_trends.ipynb reports/%/results.json $(DEPS_publish)"
        " | $(ENV_STAMP) $(CACHE)\n\t$(PY) -m analysis.report.publish notebook $< $@\n" in rules
    )
    assert "reports/korus/claims.html: reports/korus/04_claims.ipynb $(DEPS_publish)" in rules
    assert "index.html:" not in rules and "vintages.html:" not in rules  # hand-written rules
    makefile = (SRC.parents[1] / "Makefile").read_text()
    for line in rules.splitlines():
        if line.endswith("| $(ENV_STAMP) $(CACHE)"):
            assert line not in makefile  # one place only
    extra = pages.Page(
        key="agreements",
        title="Agreements",
        caption="x",
        output="korus/agreements.html",
        executed="reports/korus/08_agreements.ipynb",
    )
    assert (
        "reports/korus/agreements.html: reports/korus/08_agreements.ipynb $(DEPS_publish)"
        in pages.make_rules((*pages.PAGES, extra))
    )
    assert pages.main([str(tmp_path / "pages.mk")]) == 0
    assert (tmp_path / "pages.mk").read_text() == rules


def test_dest_reaches_python_as_data(tmp_path: Path, meta: Path, monkeypatch) -> None:
    """``make publish DEST=...``: the folder name is never expanded by make or a shell."""
    makefile = (SRC.parents[1] / "Makefile").read_text()
    assert "override DEST := $(value DEST)" in makefile
    assert "publish: export PUBLISH_DEST := $(DEST)" in makefile
    assert "$(DEST)" not in makefile.split("publish: export PUBLISH_DEST := $(DEST)")[1]
    root = _site(tmp_path / "reports")
    odd = tmp_path / "it's $(shell touch pwned) `x`"
    monkeypatch.setenv("PUBLISH_DEST", str(odd))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bundle, "data_vintage", lambda path=None: {"last_month": "2024-06"})
    assert bundle.main(["--reports", str(root), "--dist", str(tmp_path / "dist")]) == 0
    assert (odd / "index.html").is_file() and not (tmp_path / "pwned").exists()
    assert len(list((tmp_path / "dist").glob("korus-trade-2024-06-*.zip"))) == 1


# ---- no import circle, no dead code --------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    """The ``analysis`` modules ``path`` imports, at any depth (lazy imports too)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("analysis"):
            base = node.module
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if (SRC.parent / (sub.replace(".", "/") + ".py")).is_file() else base)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("analysis")}
    return out


def import_cycles(src: Path) -> list[list[str]]:
    """Each cycle of imports between modules of the package (as a list of module names)."""
    graph = {
        ".".join(p.relative_to(src.parent).with_suffix("").parts): _imports(p)
        for p in src.rglob("*.py")
        if p.name != "__init__.py"
    }
    cycles = []
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    cycles.append(path)
                elif nxt not in path and nxt > start:
                    stack.append((nxt, [*path, nxt]))
    return cycles


def test_no_import_circle() -> None:
    """``landing`` imported ``publish`` (for the data vintage), which imported ``landing``."""
    assert import_cycles(SRC) == []


def test_every_function_is_used() -> None:
    """A top-level function or class of the package that nothing names (no module, notebook,
    template, benchmark, test or the Makefile) is dead code."""
    root = SRC.parents[1]
    files = [
        *root.joinpath("src").rglob("*.py"),
        *root.joinpath("src").rglob("*.j2"),
        *root.joinpath("notebooks").glob("*.ipynb"),
        *root.joinpath("benchmarks").rglob("*.py"),
        *root.joinpath("tests").rglob("*.py"),
        root / "Makefile",
    ]
    names = Counter(re.findall(r"\w+", "\n".join(p.read_text(encoding="utf-8") for p in files)))
    unused = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name != "main":
                if names[node.name] < 2:
                    unused.append(f"{path.relative_to(SRC)}:{node.name}")
    assert unused == []
