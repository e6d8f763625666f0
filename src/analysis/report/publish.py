"""Publish the reports as a static, offline HTML site.

* :func:`export_notebook` turns an executed notebook into one self-contained HTML page with
  the ``offline`` nbconvert template (``templates/offline/``): the JupyterLab look without
  any script or stylesheet from a CDN, code hidden, figures embedded as base64 PNG, a header
  bar linking back to the landing page and a footer naming the data vintage. No build
  timestamp, so the same notebook always gives the same bytes.
* :func:`build_index` writes ``reports/index.html``, the landing page: key numbers of the
  default partner (from its ``results.json``), the KORUS effect estimates, links to every
  section, figure thumbnails, the other partner reports present and the claims summary.
  Inline CSS, no external resources. A missing value renders as "n/a", never a crash.

Command line::

    python -m analysis.report.publish notebook IN.ipynb OUT.html [--index-href HREF]
    python -m analysis.report.publish index REPORTS_DIR

Errors the user can cause print one ``error: ...`` line and exit with status 2.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from analysis import __version__, cli, config
from analysis.errors import DataError
from analysis.fileio import write_text_atomic
from analysis.report import fmt

#: Folder holding the nbconvert template ``offline`` (a child of this folder).
TEMPLATE_DIR: Path = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "offline"

SERIES: tuple[str, ...] = ("exports", "imports", "balance")
SERIES_LABELS: dict[str, str] = {
    "exports": "U.S. exports",
    "imports": "U.S. imports",
    "balance": "U.S. balance",
}
#: Same colours as ``analysis.claims.check.VERDICT_COLOURS`` (background, text).
VERDICT_STYLE: dict[str, tuple[str, str, str]] = {
    "supported": ("#1b7837", "#ffffff", "supported"),
    "contradicted": ("#c51b7d", "#ffffff", "contradicted"),
    "not_checkable": ("#bdbdbd", "#111111", "not checkable"),
}
SOURCE_NAME = "U.S. Census Bureau, U.S. goods trade by country"


# ---- data vintage ----------------------------------------------------------------------------


def data_vintage(meta_path: Path | None = None) -> dict[str, str]:
    """Short sha256, file name and month range of the cleaned data (``trade_monthly.meta.json``).

    Returns an empty dict when the file is missing or unreadable (the page then says less).
    """
    path = Path(meta_path) if meta_path is not None else config.TRADE_MONTHLY_META
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(meta, Mapping):
        return {}
    source = meta.get("source") if isinstance(meta.get("source"), Mapping) else {}
    sha = source.get("sha256") or meta.get("sha256") or ""
    out = {
        "sha256": str(sha)[:12],
        "file": str(source.get("file") or ""),
        "first_month": str(meta.get("first_month") or ""),
        "last_month": str(meta.get("last_month") or ""),
    }
    return {k: v for k, v in out.items() if v}


def vintage_text(vintage: Mapping[str, str]) -> str:
    """One sentence naming the source and its vintage."""
    text = f"Data: {SOURCE_NAME}"
    details = []
    if vintage.get("file"):
        details.append(vintage["file"])
    if vintage.get("sha256"):
        details.append(f"sha256 {vintage['sha256']}")
    if details:
        text += f" ({', '.join(details)})"
    if vintage.get("first_month") and vintage.get("last_month"):
        text += f", {vintage['first_month']} to {vintage['last_month']}"
    elif vintage.get("last_month"):
        text += f", data through {vintage['last_month']}"
    return text + f". Built with korus-trade {__version__}."


# ---- notebook -> HTML ------------------------------------------------------------------------

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _plain(markdown: str) -> str:
    """Strip inline markdown (links, emphasis, code marks) from a heading."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = re.sub(r"[*_`]+", "", text)
    return re.sub(r"\s+", " ", text).strip()


def notebook_title(nb: Any, default: str = "Report") -> str:
    """The text of the notebook's first markdown heading, or ``default``."""
    for cell in nb.cells:
        if cell.get("cell_type") != "markdown":
            continue
        m = _HEADING.search(str(cell.get("source", "")))
        if m and _plain(m.group(1)):
            return _plain(m.group(1))
    return default


def index_href_for(html_path: Path) -> str:
    """Relative link from ``html_path`` to ``index.html`` of the enclosing ``reports`` folder."""
    target = Path(os.path.abspath(html_path))
    reports = Path(os.path.abspath(config.REPORTS_DIR))
    for parent in target.parents:
        if parent == reports or parent.name == "reports":
            return Path(os.path.relpath(parent / "index.html", target.parent)).as_posix()
    return "../index.html"


#: pandas ``Styler`` tables carry a random id (``T_1a2b3``) on every run; papermill gives the
#: cell it injects a random cell id. Both would make a rebuilt page differ from the last one.
_STYLER_ID = re.compile(r'id="T_([0-9a-f]{5})[_"]')


def stable_ids(nb: Any) -> None:
    """Give papermill's injected-parameters cell a fixed id (in place)."""
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"


def stable_styler_ids(body: str) -> str:
    """Replace the random ids of pandas Styler tables with their order on the page."""
    for n, uid in enumerate(dict.fromkeys(_STYLER_ID.findall(body))):
        body = re.sub(rf"\bT_{uid}(?![0-9a-f])", f"T_table{n}", body)
    return body


def _exporter() -> Any:
    from nbconvert import HTMLExporter  # imported late: slow
    from traitlets.config import Config

    c = Config()
    c.HTMLExporter.extra_template_basedirs = [str(TEMPLATE_DIR)]
    c.HTMLExporter.template_name = TEMPLATE_NAME
    c.HTMLExporter.theme = "light"
    c.HTMLExporter.exclude_input = True
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    c.HTMLExporter.embed_images = True
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = {"remove-cell", "remove_cell"}
    c.TagRemovePreprocessor.remove_all_outputs_tags = {"remove-output", "remove_output"}
    return HTMLExporter(config=c)


def export_notebook(
    ipynb: Path,
    html: Path,
    *,
    index_href: str | None = None,
    meta_path: Path | None = None,
) -> Path:
    """Convert the executed notebook ``ipynb`` into the offline HTML page ``html`` (atomic).

    Code inputs and prompts are hidden; outputs (figures as base64 PNG) are kept. The page
    title is the notebook's first heading; the header links to ``index_href`` (default: the
    ``index.html`` of the enclosing ``reports`` folder); the footer names the data vintage
    read from ``meta_path`` (default ``data/processed/trade_monthly.meta.json``).
    """
    import nbformat

    ipynb, html = Path(ipynb), Path(html)
    if not ipynb.is_file():
        raise DataError(ipynb, "no such notebook")
    try:
        nb = nbformat.read(ipynb, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types on bad input
        raise DataError(ipynb, f"not a readable notebook ({type(exc).__name__})") from exc
    title = notebook_title(nb, default=ipynb.stem)
    nb.metadata["title"] = title
    stable_ids(nb)
    resources = {
        "metadata": {"name": title, "path": str(ipynb.parent)},
        "offline": {
            "title": title,
            "index_href": index_href if index_href is not None else index_href_for(html),
            "vintage": vintage_text(data_vintage(meta_path)),
        },
    }
    try:
        body, _ = _exporter().from_notebook_node(nb, resources=resources)
    except Exception as exc:
        raise DataError(ipynb, f"cannot convert to HTML: {exc}".splitlines()[0]) from exc
    body = stable_styler_ids(body)
    if not body.endswith("\n"):
        body += "\n"
    return write_text_atomic(html, body)


# ---- landing page ----------------------------------------------------------------------------


#: The results.json layout this page reads (``analysis.report.results.SCHEMA_VERSION``).
RESULTS_SCHEMA_VERSION = 1


def _read_results(path: Path) -> dict[str, Any]:
    """A partner's results.json; ``DataError`` naming the file unless it is a JSON object of
    schema version ``RESULTS_SCHEMA_VERSION``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(path, f"cannot read ({exc.strerror})") from exc
    except ValueError as exc:
        raise DataError(path, f"not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise DataError(path, "expected a JSON object")
    version = data.get("schema_version")
    if version != RESULTS_SCHEMA_VERSION:
        found = "no schema_version" if version is None else f"schema_version {version!r}"
        raise DataError(path, f"{found}; expected schema_version {RESULTS_SCHEMA_VERSION} (re-run the models)")
    return data


def _code(results: Mapping[str, Any]) -> int | None:
    try:
        return int(str(results.get("partner_code")).strip())
    except (TypeError, ValueError):
        return None


def latest_complete_year(results: Mapping[str, Any]) -> dict[str, Any] | None:
    """The last entry of ``annual`` that is a complete year."""
    annual = results.get("annual")
    if not isinstance(annual, list):
        return None
    done = [r for r in annual if isinstance(r, Mapping) and r.get("complete") and fmt.num(r.get("year")) is not None]
    return dict(max(done, key=lambda r: r["year"])) if done else None


def its_effects(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Flatten ``its`` (``its[series] = {"log": ..., "breaks": [...]}``) into rows
    ``{series, log, **break_entry}``."""
    its = results.get("its")
    if not isinstance(its, Mapping):
        return []
    rows: list[dict[str, Any]] = []
    order = [s for s in SERIES if s in its] + sorted(k for k in its if k not in SERIES)
    for series in order:
        model = its[series]
        if not isinstance(model, Mapping) or not isinstance(model.get("breaks"), list):
            continue
        for entry in model["breaks"]:
            if isinstance(entry, Mapping):
                rows.append({"series": series, **entry, "log": bool(model.get("log"))})
    return rows


def _calibrated(row: Mapping[str, Any], key: str) -> Any:
    """The bootstrap-calibrated value of an interval or p-value (``key + "_boot"``) when the
    models report one, else the plain HAC one: HAC tests over-reject on persistent series."""
    boot = row.get(f"{key}_boot")
    return boot if boot is not None else row.get(key)


def _effect_cells(row: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """(level, level CI, slope, slope CI) as text in the row's own unit."""
    row = {**row, **{k: _calibrated(row, k) for k in (
        "pct_level_change_ci", "pct_slope_change_per_year_ci", "level_change_ci",
        "slope_change_per_year_ci", "slope_change_ci")}}
    if row.get("log"):
        level = fmt.pct(row.get("pct_level_change"))
        level_ci = fmt.interval(row.get("pct_level_change_ci"), fmt.pct)
        slope = fmt.pct(row.get("pct_slope_change_per_year"))
        slope_ci = fmt.interval(row.get("pct_slope_change_per_year_ci"), fmt.pct)
        return level, level_ci, slope, slope_ci
    level = fmt.millions(row.get("level_change"))
    level_ci = fmt.interval(row.get("level_change_ci"), fmt.millions)
    if level != fmt.NA:
        level = f"US$ {level} mn"
    slope = fmt.millions(row.get("slope_change_per_year"))
    if slope != fmt.NA:
        slope = f"US$ {slope} mn"
    return level, level_ci, slope, fmt.interval(row.get("slope_change_per_year_ci"), fmt.millions)


def _month_name(ym: Any) -> str:
    try:
        return dt.date.fromisoformat(f"{str(ym)[:7]}-01").strftime("%b %Y")
    except ValueError:
        return escape(str(ym)) if ym else fmt.NA


def claims_summary(path: Path) -> dict[str, int] | None:
    """Counts per verdict in ``claims.csv`` (None when the file or its column is missing)."""
    if not path.is_file():
        return None
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "verdict" not in reader.fieldnames:
                return None
            counts = dict.fromkeys(VERDICT_STYLE, 0)
            for row in reader:
                v = (row.get("verdict") or "").strip()
                counts[v] = counts.get(v, 0) + 1
    except (OSError, csv.Error, UnicodeDecodeError):
        return None
    return counts


def build_date() -> str:
    """Today's date (UTC), or the date of ``$SOURCE_DATE_EPOCH`` for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date().isoformat()
    return dt.datetime.now(tz=dt.UTC).date().isoformat()


_ACRONYMS = {"its": "ITS", "stl": "STL", "sa": "SA", "nsa": "NSA", "us": "U.S.", "gdp": "GDP",
             "fta": "FTA", "korus": "KORUS", "wdi": "WDI"}


def _caption(png: Path) -> str:
    """``02_its_exports.png`` -> ``"ITS exports"``."""
    words = re.sub(r"^\d+[_-]", "", png.stem).replace("_", " ").replace("-", " ").split()
    if not words:
        return png.stem
    words = [_ACRONYMS.get(w.lower(), w) for w in words]
    first = words[0]
    return " ".join([first[:1].upper() + first[1:], *words[1:]])


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


_CSS = """
:root{--ink:#1d2733;--muted:#5b6672;--line:#dde2e7;--bg:#ffffff;--panel:#f5f7f9;
--accent:#0072B2;--deficit:#D55E00;--surplus:#009E73}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header.top{background:#12303f;color:#fff;padding:28px 0 22px}
.wrap{max-width:1100px;margin:0 auto;padding:0 20px}
header.top h1{margin:0 0 6px;font-size:1.9rem;line-height:1.2}
header.top p{margin:2px 0;color:#d6e2ea}
header.top code{color:#fff}
main.wrap{padding-top:8px;padding-bottom:40px}
h2{font-size:1.3rem;margin:34px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:20px 0 8px}
a{color:var(--accent)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:14px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.card .label{color:var(--muted);font-size:.9rem}
.card .value{font-size:2rem;font-weight:700;line-height:1.2;font-variant-numeric:tabular-nums}
.card .unit{color:var(--muted);font-size:.85rem}
.neg{color:var(--deficit)}.pos{color:var(--surplus)}
.note{color:var(--muted);font-size:.9rem}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.93rem;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--panel);font-weight:600}
td.num{text-align:right;white-space:nowrap}
table.effects td:nth-child(-n+2),table.counterfactual td:first-child{white-space:nowrap}
ul.sections{list-style:none;padding:0;display:grid;
grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:10px}
ul.sections li{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:10px 14px}
ul.sections li.missing{color:var(--muted)}
ul.sections small{display:block;color:var(--muted)}
.thumbs{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:14px}
figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px}
figure img{width:100%;height:auto;display:block}
figcaption{font-size:.85rem;color:var(--muted);margin-top:6px}
.badges{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.badge{border-radius:999px;padding:6px 14px;font-weight:600}
footer.bottom{border-top:1px solid var(--line);color:var(--muted);font-size:.85rem;padding:16px 0 30px}
@media (max-width:600px){header.top h1{font-size:1.45rem}.card .value{font-size:1.6rem}
th,td{padding:6px}}
"""


def _key_numbers(results: Mapping[str, Any]) -> str:
    year = latest_complete_year(results)
    if year is None:
        return '<p class="note">No complete year in results.json: key numbers n/a.</p>'
    cards = []
    for key, label in (("exports", "U.S. exports"), ("imports", "U.S. imports"),
                       ("balance", "U.S. goods balance")):
        value = fmt.billions(year.get(key))
        x = fmt.num(year.get(key))
        cls = ""
        if key == "balance" and x is not None:
            cls = " neg" if x < 0 else " pos"
        cards.append(
            f'<div class="card"><div class="label">{escape(label)}, {escape(str(year["year"]))}'
            f'</div><div class="value{cls}" data-key="{key}">{value}</div>'
            '<div class="unit">US$ billions, goods, Census basis</div></div>'
        )
    return '<div class="cards">' + "".join(cards) + "</div>"


def _effects_table(results: Mapping[str, Any]) -> str:
    rows = its_effects(results)
    if not rows:
        return '<p class="note">KORUS effect estimates: n/a (no <code>its</code> in results.json).</p>'
    body = []
    for r in rows:
        level, level_ci, slope, slope_ci = _effect_cells(r)
        series = SERIES_LABELS.get(str(r["series"]), str(r["series"]))
        body.append(
            "<tr>"
            f"<td>{escape(series)}</td><td>{_month_name(r.get('break'))}</td>"
            f'<td class="num">{escape(level)}</td><td class="num">{escape(level_ci)}</td>'
            f'<td class="num">{escape(fmt.p_value(_calibrated(r, "p_level")))}</td>'
            f'<td class="num">{escape(slope)}</td><td class="num">{escape(slope_ci)}</td>'
            f'<td class="num">{escape(fmt.p_value(_calibrated(r, "p_slope")))}</td>'
            "</tr>"
        )
    head = (
        "<tr><th>Series</th><th>Break</th><th>Level change</th><th>95% CI</th><th>p</th>"
        "<th>Trend change per year</th><th>95% CI</th><th>p</th></tr>"
    )
    return (
        '<div class="table-wrap"><table class="effects">' + head + "".join(body)
        + "</table></div>"
        '<p class="note">Segmented regression (interrupted time series) with month effects. '
        "Exports and imports are modelled in logs: level changes in %, trend changes in "
        "percentage points of growth per year. The balance is modelled in US$ millions per "
        "month: the level change in US$ millions per month, the trend change in US$ millions "
        "per month, per year. Intervals and p-values come from a residual AR bootstrap around "
        "the Newey–West (HAC) estimates, where the models report one: plain HAC tests "
        "reject far too often on series this persistent.</p>"
    )


def _counterfactual_table(results: Mapping[str, Any]) -> str:
    cfs = results.get("counterfactual")
    if not isinstance(cfs, Mapping) or not cfs:
        return ""
    body = []
    for series in [s for s in SERIES if s in cfs] + sorted(k for k in cfs if k not in SERIES):
        c = cfs[series]
        if not isinstance(c, Mapping):
            continue
        gap = fmt.billions(c.get("cumulative_gap"), sign=True)
        body.append(
            "<tr>"
            f"<td>{escape(SERIES_LABELS.get(series, series))}</td>"
            f"<td>{_month_name(c.get('post_start'))} – {_month_name(c.get('post_end'))}</td>"
            f'<td class="num">{gap}</td>'
            f'<td class="num">{escape(fmt.interval(c.get("gap_ci"), lambda v: fmt.billions(v, sign=True)))}</td>'
            f'<td class="num">{fmt.pct(c.get("pct_gap"))}</td>'
            "</tr>"
        )
    if not body:
        return ""
    return (
        "<h3>Actual minus counterfactual (no-KORUS forecast)</h3>"
        '<div class="table-wrap"><table class="counterfactual"><tr><th>Series</th><th>Period</th>'
        "<th>Cumulative gap, US$ bn</th><th>95% interval</th><th>Gap, %</th></tr>"
        + "".join(body) + "</table></div>"
    )


def _section_links(reports_dir: Path, partners: list[dict[str, Any]], default_slug: str | None
                   ) -> str:
    items: list[tuple[str, Path, str]] = []
    if default_slug:
        items.append(("Trends and KORUS effects", reports_dir / default_slug / "trends.html",
                      "Monthly trade, seasonality, segmented trends, counterfactual"))
    items += [
        ("Comparison partners", reports_dir / "korus" / "partners.html",
         "Korea against other partners and Korea's macro context"),
        ("Claims check", reports_dir / "korus" / "claims.html",
         "Statements of the policy report tested against the data"),
        ("Data quality", reports_dir / "data-quality.html",
         "What cleaning the Census file found and did"),
    ]
    for p in partners:
        slug = p.get("slug")
        if slug and slug != default_slug:
            items.append((f"{p.get('partner') or slug}: trends", reports_dir / slug / "trends.html",
                          "Partner report"))
    out = []
    for name, path, note in items:
        if path.is_file():
            out.append(f'<li><a href="{escape(_rel(path, reports_dir))}">{escape(name)}</a>'
                       f"<small>{escape(note)}</small></li>")
        else:
            out.append(f'<li class="missing">{escape(name)}<small>not built yet</small></li>')
    return '<ul class="sections">' + "".join(out) + "</ul>"


def _thumbnails(reports_dir: Path, folder: Path, heading: str) -> str:
    pngs = sorted((folder / "figures").glob("*.png")) if (folder / "figures").is_dir() else []
    if not pngs:
        return ""
    figs = []
    for png in pngs:
        href = escape(_rel(png, reports_dir))
        cap = escape(_caption(png))
        figs.append(f'<figure><a href="{href}"><img src="{href}" alt="{cap}" loading="lazy"></a>'
                    f"<figcaption>{cap}</figcaption></figure>")
    return f"<h3>{escape(heading)}</h3><div class=\"thumbs\">" + "".join(figs) + "</div>"


def _claims_block(reports_dir: Path) -> str:
    counts = claims_summary(reports_dir / "claims.csv")
    if counts is None:
        return ""
    badges = []
    for key, n in counts.items():
        bg, fg, label = VERDICT_STYLE.get(key, ("#eeeeee", "#111111", key.replace("_", " ")))
        badges.append(f'<span class="badge" data-verdict="{escape(key)}" '
                      f'style="background:{bg};color:{fg}">{n} {escape(label)}</span>')
    link = ""
    if (reports_dir / "korus" / "claims.html").is_file():
        link = '<p><a href="korus/claims.html">Every claim, with the computed value</a></p>'
    total = sum(counts.values())
    return (
        f"<h2>Claims check</h2><p>{total} quantitative statements of the policy report "
        "checked against the data:</p>"
        f'<div class="badges">{"".join(badges)}</div>{link}'
    )


def _partner_table(reports_dir: Path, partners: list[dict[str, Any]]) -> str:
    if not partners:
        return '<p class="note">No partner report yet (run <code>make report</code>).</p>'
    rows = []
    for p in partners:
        slug = str(p.get("slug") or "")
        year = latest_complete_year(p)
        name = escape(str(p.get("partner") or slug or fmt.NA))
        page = reports_dir / slug / "trends.html"
        link = f'<a href="{escape(_rel(page, reports_dir))}">{name}</a>' if slug and page.is_file() \
            else name
        code = _code(p)
        rows.append(
            f"<tr><td>{link}</td><td class=\"num\">{code if code is not None else fmt.NA}</td>"
            f"<td>{escape(str(p.get('data_through') or fmt.NA))}</td>"
            f"<td class=\"num\">{escape(str(year['year'])) if year else fmt.NA}</td>"
            f"<td class=\"num\">{fmt.billions(year.get('exports')) if year else fmt.NA}</td>"
            f"<td class=\"num\">{fmt.billions(year.get('imports')) if year else fmt.NA}</td>"
            f"<td class=\"num\">{fmt.billions(year.get('balance')) if year else fmt.NA}</td></tr>"
        )
    return (
        '<div class="table-wrap"><table class="partners"><tr><th>Partner</th><th>Census code</th>'
        "<th>Data through</th><th>Year</th><th>Exports, US$ bn</th><th>Imports, US$ bn</th>"
        "<th>Balance, US$ bn</th></tr>" + "".join(rows) + "</table></div>"
    )


def render_index(
    reports_dir: Path,
    partners: list[dict[str, Any]],
    *,
    default_partner: int,
    vintage: Mapping[str, str],
    built: str,
) -> str:
    """The landing page's HTML (see :func:`build_index`)."""
    main = next((p for p in partners if _code(p) == default_partner), None)
    if main is None and partners:
        main = partners[0]
    name = str(main.get("partner") or fmt.NA) if main else fmt.NA
    slug = str(main.get("slug") or "") if main else None
    through = str((main or {}).get("data_through") or vintage.get("last_month") or fmt.NA)

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>U.S.–Korea goods trade and KORUS: reports</title>",
        f"<style>{_CSS}</style></head><body>",
        '<header class="top"><div class="wrap">',
        "<h1>U.S. goods trade with South Korea and the KORUS FTA</h1>",
        f"<p>Partner: <strong>{escape(name)}</strong>"
        + (f" (Census code {_code(main)})" if main and _code(main) is not None else "") + "</p>",
        f"<p>Census data through <strong>{escape(through)}</strong>"
        + (f" · source file sha256 <code>{escape(vintage['sha256'])}</code>"
           if vintage.get("sha256") else "")
        + f' · built <span id="build-date">{escape(built)}</span></p>',
        "</div></header>",
        '<main class="wrap">',
    ]
    if main:
        year = latest_complete_year(main)
        parts.append(f"<h2>Key numbers, {escape(str(year['year'])) if year else fmt.NA}</h2>")
        parts.append(_key_numbers(main))
        parts.append("<h2>KORUS: what changed at the breaks</h2>")
        parts.append(_effects_table(main))
        parts.append(_counterfactual_table(main))
    else:
        parts.append('<p class="note">No partner report yet: run <code>make report</code>.</p>')
    parts.append("<h2>Sections</h2>")
    parts.append(_section_links(reports_dir, partners, slug))
    thumbs = ""
    if slug:
        thumbs += _thumbnails(reports_dir, reports_dir / slug, f"{name}: figures")
    thumbs += _thumbnails(reports_dir, reports_dir / "korus", "KORUS context: figures")
    if thumbs:
        parts.append("<h2>Figures</h2>" + thumbs)
    parts.append(_claims_block(reports_dir))
    parts.append("<h2>Partner reports</h2>")
    parts.append(_partner_table(reports_dir, partners))
    caveats = main.get("caveats") if main else None
    if isinstance(caveats, list) and caveats:
        parts.append("<h2>Caveats</h2><ul>"
                     + "".join(f"<li>{escape(str(c))}</li>" for c in caveats) + "</ul>")
    parts.append("</main>")
    parts.append(f'<footer class="bottom"><div class="wrap">{escape(vintage_text(vintage))} '
                 "Values in US$, current prices, not seasonally adjusted unless stated."
                 "</div></footer>")
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p) + "\n"


def build_index(
    reports_dir: Path,
    *,
    meta_path: Path | None = None,
    default_partner: int = config.DEFAULT_PARTNER,
    built: str | None = None,
) -> Path:
    """Write ``reports_dir/index.html``, the landing page of the static site (atomically).

    Reads every ``reports_dir/*/results.json`` (partners, sorted by slug), the cleaned data's
    metadata (``meta_path``, default ``data/processed/trade_monthly.meta.json``) and, when
    present, ``reports_dir/claims.csv`` and the figures under ``reports_dir/*/figures/``.
    ``built`` is the build date shown (default: :func:`build_date`).
    """
    reports_dir = Path(reports_dir)
    if not reports_dir.is_dir():
        raise DataError(reports_dir, "no such reports folder")
    partners = []
    for path in sorted(reports_dir.glob("*/results.json")):
        data = _read_results(path)
        data.setdefault("slug", path.parent.name)
        partners.append(data)
    text = render_index(
        reports_dir,
        partners,
        default_partner=default_partner,
        vintage=data_vintage(meta_path),
        built=built or build_date(),
    )
    return write_text_atomic(reports_dir / "index.html", text)


# ---- command line ----------------------------------------------------------------------------


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m analysis.report.publish``; returns the exit status."""
    ap = argparse.ArgumentParser(prog="python -m analysis.report.publish",
                                 description="Publish the reports as offline HTML.")
    sub = ap.add_subparsers(dest="command", required=True)
    nb = sub.add_parser("notebook", help="executed notebook -> offline HTML page")
    nb.add_argument("ipynb", type=Path)
    nb.add_argument("html", type=Path)
    nb.add_argument("--index-href", default=None,
                    help="link of the header bar (default: the reports folder's index.html)")
    ix = sub.add_parser("index", help="write REPORTS_DIR/index.html, the landing page")
    ix.add_argument("reports_dir", type=Path)
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "notebook":
        out = export_notebook(args.ipynb, args.html, index_href=args.index_href)
    else:
        out = build_index(args.reports_dir)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
