"""The landing page (``reports/index.html``): key numbers, trend changes, links, thumbnails.

Built from every ``reports/*/results.json`` (schema version :data:`RESULTS_SCHEMA_VERSION`),
``reports/claims.csv`` and the cleaned data's metadata, as one static HTML page with no
script. Every text from data or files goes through ``html.escape``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from analysis import config, external
from analysis.errors import DataError
from analysis.fileio import write_text_atomic
from analysis.report import fmt
from analysis.report.consistency import current_data_sha, stale_reason
from analysis.report.publish import data_vintage, vintage_text
from analysis.vocab import (
    FLOWS,
    HORIZON_MONTHS,
    RESULTS_SCHEMA_VERSION,
    SERIES,
    SERIES_LABELS,
    VERDICT_STYLE,
    is_aggregate,
)


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
        raise DataError(
            path, f"{found}; expected schema_version {RESULTS_SCHEMA_VERSION} (re-run the models)"
        )
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
    done = [
        r
        for r in annual
        if isinstance(r, Mapping) and r.get("complete") and fmt.num(r.get("year")) is not None
    ]
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
    """The calibrated value of an interval or p-value (``key + "_calibrated"``: a bootstrap with
    bias-corrected AR noise, whose size is checked by simulation), else the plain bootstrap one
    (``_boot``), else the plain HAC one, which over-rejects on persistent series."""
    for suffix in ("_calibrated", "_boot"):
        if row.get(f"{key}{suffix}") is not None:
            return row.get(f"{key}{suffix}")
    return row.get(key)


def _effect_cells(row: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """(level, level CI, slope, slope CI) as text in the row's own unit."""
    row = {
        **row,
        **{
            k: _calibrated(row, k)
            for k in (
                "pct_level_change_ci",
                "pct_slope_change_per_year_ci",
                "level_change_ci",
                "slope_change_per_year_ci",
                "slope_change_ci",
            )
        },
    }
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


def claims_summary(path: Path) -> dict[str, dict[str, int]] | None:
    """Counts per basis and verdict in ``claims.csv`` (``{"data": {"supported": 9, ...},
    "arithmetic": {...}}``); None when the file or its columns are missing. A file without
    a ``basis`` column (an older run) counts nothing as data."""
    if not path.is_file():
        return None
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "verdict" not in reader.fieldnames:
                return None
            counts: dict[str, dict[str, int]] = {}
            for row in reader:
                b = (row.get("basis") or "none").strip()
                v = (row.get("verdict") or "").strip()
                per = counts.setdefault(b, dict.fromkeys(VERDICT_STYLE, 0))
                per[v] = per.get(v, 0) + 1
    except (OSError, csv.Error, UnicodeDecodeError):
        return None
    return counts


def build_date() -> str:
    """Today's date (UTC), or the date of ``$SOURCE_DATE_EPOCH`` for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date().isoformat()
    return dt.datetime.now(tz=dt.UTC).date().isoformat()


_ACRONYMS = {
    "its": "ITS",
    "stl": "STL",
    "sa": "SA",
    "nsa": "NSA",
    "us": "U.S.",
    "gdp": "GDP",
    "fta": "FTA",
    "korus": "KORUS",
    "wdi": "WDI",
}


#: Written titles of the figures the pipeline draws (thumbnail captions and alt text).
CAPTIONS: dict[str, str] = {
    "annual_balance": "Annual exports, imports and the goods balance",
    "monthly_trade": "Monthly exports, imports and balance, seasonally adjusted",
    "stl_balance": "The balance split into trend, seasonal pattern and remainder (STL)",
    "its_exports": "Exports: segmented trend around the breaks",
    "its_imports": "Imports: segmented trend around the breaks",
    "its_balance": "The balance: segmented trend around the breaks",
    "sa_x13_vs_stl": "Seasonal adjustment: X-13ARIMA-SEATS against STL",
    "partners_balance": "U.S. goods balance with Korea and the comparison partners",
    "partners_korea_share": "Korea's share of U.S. exports and imports",
    "partners_export_index": "U.S. exports to each partner, indexed to the base year",
    "partners_did_event_study": "Five-partner difference-in-differences by year (sensitivity analysis)",
    "partners_did_placebo": "Five-partner difference-in-differences at placebo dates",
    "korea_macro": "Korea's growth, unemployment, trade and exchange rate",
    "fta_event_study": "U.S. trade with FTA partners around entry into force",
    "fta_agreements": "Each U.S. FTA's estimate, Korea highlighted",
    "synthetic_control": "Korea against its synthetic control",
}


def _caption(png: Path) -> str:
    """The figure's written title (:data:`CAPTIONS`); for a figure not listed, words from its
    file name: ``02_its_exports.png`` -> ``"ITS exports"``."""
    if png.stem in CAPTIONS:
        return CAPTIONS[png.stem]
    words = re.sub(r"^\d+[_-]", "", png.stem).replace("_", " ").replace("-", " ").split()
    if not words:
        return png.stem
    words = [_ACRONYMS.get(w.lower(), w) for w in words]
    first = words[0]
    return " ".join([first[:1].upper() + first[1:], *words[1:]])


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


#: The landing page's stylesheet (inlined into the page, so it works offline).
CSS_FILE: Path = Path(__file__).resolve().parent / "templates" / "landing.css"


def _key_numbers(results: Mapping[str, Any]) -> str:
    year = latest_complete_year(results)
    if year is None:
        return '<p class="note">No complete year in results.json: key numbers n/a.</p>'
    cards = []
    for key, label in (
        ("exports", "U.S. exports"),
        ("imports", "U.S. imports"),
        ("balance", "U.S. goods balance"),
    ):
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


NO_SIZE = "the evaluation page reports how often these and plain HAC tests reject a true null"


def size_note(evaluation_json: Path) -> str:
    """How often plain and calibrated trend tests reject a true null (``its_size``; with
    ``by_noise``, the calibrated range covers both noise models of the simulation)."""
    try:
        size = json.loads(evaluation_json.read_text(encoding="utf-8"))["its_size"]
        plain, cal = ([100 * float(v[k]) for v in size.values()] for k in ("actual_hac", "actual"))
        n = int(next(iter(size.values()))["n_sim"])
        both = [100 * float(b["actual"]) for v in size.values() for b in v.get("by_noise") or []]
    except (OSError, ValueError, LookupError, TypeError, AttributeError, StopIteration):
        return NO_SIZE
    if both:
        return (
            f"in {n:,d} simulated series per flow plain HAC tests rejected a true null "
            f"{min(plain):.0f}–{max(plain):.0f} % of the time at a nominal 5 %, these "
            f"{min(both):.1f}–{max(both):.1f} % whether the simulated noise was fitted with or "
            "without the breaks (evaluation page)"
        )
    return (
        f"in {n:,d} simulated series per flow plain HAC tests rejected a true null "
        f"{min(plain):.0f}–{max(plain):.0f} % of the time at a nominal 5 %, these "
        f"{min(cal):.1f}–{max(cal):.1f} % (evaluation page)"
    )


def _effects_table(results: Mapping[str, Any], size: str = NO_SIZE) -> str:
    rows = its_effects(results)
    if not rows:
        return '<p class="note">Trend changes at the breaks: none estimated (no <code>its</code> in results.json).</p>'
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
        "<th>Trend change, per year</th><th>95% CI</th><th>p</th></tr>"
    )
    return (
        '<div class="table-wrap"><table class="effects">' + head + "".join(body) + "</table></div>"
        '<p class="note">Segmented regression (interrupted time series) with month effects: a '
        "change in level and in trend from each break month on, against the trend before it. "
        "Exports and imports are modelled in logs: the level change in %, the trend change in % "
        "per year (100·(exp(12b)−1) for a monthly slope change b). The balance is modelled in "
        "US$ millions per month: the level change in US$ millions per month, the trend change "
        "in US$ millions per month, per year. Intervals and p-values come from a bootstrap of the "
        "Newey–West (HAC) t statistics with bias-corrected AR noise, whose size was checked by "
        f"simulation: {escape(size)}. A trend change after a break "
        "is not by itself the effect of what happened at the break: see the evaluation page for "
        "designs with control partners.</p>"
    )


def _gap_row(label: str, period: str, gap: Mapping[str, Any]) -> str:
    ci = fmt.interval(gap.get("gap_ci"), lambda v: fmt.billions(v, sign=True))
    return (
        f"<tr><td>{escape(label)}</td><td>{escape(period)}</td>"
        f'<td class="num">{fmt.billions(gap.get("cumulative_gap"), sign=True)}</td>'
        f'<td class="num">{escape(ci)}</td><td class="num">{fmt.pct(gap.get("pct_gap"))}</td></tr>'
    )


def _short_gap(c: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The gap at the longest horizon of at most HORIZON_MONTHS (the default shown)."""
    horizons = [
        h
        for h in c.get("by_horizon") or []
        if isinstance(h, Mapping) and (fmt.num(h.get("months")) or 99) <= HORIZON_MONTHS
    ]
    return max(horizons, key=lambda h: h["months"]) if horizons else None


def break_label(ym: str, partner_code: Any = None) -> str:
    """A break month named by the partner's agreement date of that month (``us_ftas.csv``):
    Korea's ``"2012-03"`` -> ``"KORUS in force (Mar 2012)"``; other months by their date alone."""
    code = fmt.num(partner_code)
    dates = external.partner_dates(int(code)) if code is not None else []
    name = next((d.phrase for d in dates if d.month == str(ym)[:7]), None)
    return f"{name} ({_month_name(ym)})" if name else _month_name(ym)


def breaks_heading(results: Mapping[str, Any]) -> str:
    """The heading of the trend-change section, naming this run's breaks."""
    breaks = (results.get("params") or {}).get("breaks") or []
    if not breaks:
        return "Trend changes"
    labels = [break_label(b, results.get("partner_code")) for b in breaks]
    joined = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    return f"Changes in level and trend at {joined}"


def _counterfactual_table(results: Mapping[str, Any]) -> str:
    cfs = results.get("counterfactual")
    if not isinstance(cfs, Mapping) or not cfs:
        return ""
    short, long = [], []
    first_break = ""
    for series in [s for s in SERIES if s in cfs] + sorted(k for k in cfs if k not in SERIES):
        c = cfs[series]
        if not isinstance(c, Mapping):
            continue
        label = SERIES_LABELS.get(series, series)
        first_break = _month_name(c.get("post_start"))
        gap = _short_gap(c)
        if gap is not None:
            short.append(
                _gap_row(
                    label,
                    f"{first_break} – {_month_name(gap.get('end'))} ({gap['months']} months)",
                    gap,
                )
            )
        long.append(
            _gap_row(
                label,
                f"{first_break} – {_month_name(c.get('post_end'))} ({c.get('months')} months)",
                c,
            )
        )
    if not long:
        return ""
    head = (
        '<div class="table-wrap"><table class="counterfactual"><tr><th>Series</th><th>Period</th>'
        "<th>Cumulative gap, US$ bn</th><th>95% interval</th><th>Gap, %</th></tr>"
    )
    out = (
        f"<h3>Actual trade against a projection of the path before {escape(first_break)}</h3>"
        '<p class="note">A time-series model fitted to the months before the first break, '
        "projected forward: the gap is what the series did beyond its own past pattern, not "
        "an estimate of what the agreement caused (anything else that changed then is in it too).</p>"
    )
    if short:
        out += head + "".join(short) + "</table></div>"
    out += (
        "<details><summary>Extrapolation over the whole period after the break (intervals wider "
        "than the flows themselves: not informative)</summary>"
        + head
        + "".join(long)
        + "</table></div></details>"
    )
    return out


def _section_links(
    reports_dir: Path, partners: list[dict[str, Any]], default_slug: str | None
) -> str:
    items: list[tuple[str, Path, str]] = []
    if default_slug:
        items.append(
            (
                "Trends and breaks",
                reports_dir / default_slug / "trends.html",
                "Monthly trade, seasonality, segmented trends, projection of the pre-break path",
            )
        )
    items += [
        (
            "Evaluation",
            reports_dir / "korus" / "evaluation.html",
            "KORUS among all U.S. FTAs and how robust that average is, a synthetic control for "
            "Korea, and the tests' size",
        ),
    ]
    if default_slug:
        items.append(
            (
                "Sectors",
                reports_dir / default_slug / "sectors.html",
                "What U.S.–Korea trade is made of: HS sections, the report's product groups",
            )
        )
    items += [
        (
            "Vintages",
            reports_dir / "vintages.html",
            "How Census revised the data, and whether the KORUS findings change",
        ),
        (
            "Comparison partners",
            reports_dir / "korus" / "partners.html",
            "Korea against other partners and Korea's macro context",
        ),
        (
            "Claims check",
            reports_dir / "korus" / "claims.html",
            "Statements of the policy report tested against the data",
        ),
        (
            "Data quality",
            reports_dir / "data-quality.html",
            "What cleaning the Census file found and did",
        ),
    ]
    for p in partners:
        slug = p.get("slug")
        if slug and slug != default_slug:
            items.append(
                (
                    f"{p.get('partner') or slug}: trends",
                    reports_dir / slug / "trends.html",
                    "Partner report",
                )
            )
    out = []
    for name, path, note in items:
        if path.is_file():
            out.append(
                f'<li><a href="{escape(_rel(path, reports_dir))}">{escape(name)}</a>'
                f"<small>{escape(note)}</small></li>"
            )
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
        figs.append(
            f'<figure><a href="{href}"><img src="{href}" alt="{cap}" loading="lazy"></a>'
            f"<figcaption>{cap}</figcaption></figure>"
        )
    return f'<h3>{escape(heading)}</h3><div class="thumbs">' + "".join(figs) + "</div>"


def _claims_block(reports_dir: Path) -> str:
    counts = claims_summary(reports_dir / "claims.csv")
    if counts is None:
        return ""
    data = counts.get("data", dict.fromkeys(VERDICT_STYLE, 0))
    badges = []
    for key, n in data.items():
        bg, fg, label = VERDICT_STYLE.get(key, ("#eeeeee", "#111111", key.replace("_", " ")))
        badges.append(
            f'<span class="badge" data-verdict="{escape(key)}" '
            f'style="background:{bg};color:{fg}">{n} {escape(label)}</span>'
        )
    total = sum(sum(v.values()) for v in counts.values())
    others = []
    for b, what in (
        ("arithmetic", "recompute the report's own arithmetic"),
        ("reference", "rest on compiled trade-press or agency figures"),
        ("none", "have no source that holds the number"),
    ):
        n = sum(counts.get(b, {}).values())
        if n:
            agree = counts[b].get("supported", 0)
            others.append(f"{n} {what}" + (f" ({agree} agree)" if b != "none" else ""))
    link = ""
    if (reports_dir / "korus" / "claims.html").is_file():
        link = '<p><a href="korus/claims.html">Every claim, with the computed value and its basis</a></p>'
    return (
        f"<h2>Claims check</h2><p>{fmt.count(total)} quantitative statements of the policy "
        f"report; {fmt.count(sum(data.values()))} concern official data, and "
        f"{fmt.count(sum(data.values()) - data.get('not_checkable', 0))} of those can be "
        "checked with the data at hand:</p>"
        f'<div class="badges">{"".join(badges)}</div>'
        + (
            f'<p class="note">Not counted as data checks: {escape("; ".join(others))}.</p>'
            if others
            else ""
        )
        + link
    )


def _partner_row(reports_dir: Path, p: Mapping[str, Any]) -> str:
    slug = str(p.get("slug") or "")
    year = latest_complete_year(p)
    name = escape(fmt.display_name(str(p.get("partner") or slug or fmt.NA)))
    page = reports_dir / slug / "trends.html"
    link = (
        f'<a href="{escape(_rel(page, reports_dir))}">{name}</a>'
        if slug and page.is_file()
        else name
    )
    if _is_aggregate(p):
        link += ' <span class="tag">aggregate</span>'
    if p.get("_stale"):
        link += f' <span class="tag stale">not current: {escape(str(p["_stale"]))}</span>'
    code = _code(p)
    cells = [
        link,
        str(code) if code is not None else fmt.NA,
        escape(str(p.get("data_through") or fmt.NA)),
    ]
    if year is None:
        cells += [fmt.NA] * 4
    elif not any(fmt.num(year.get(k)) for k in ("exports", "imports")):
        cells += [escape(str(year["year"])), '<span class="note">no trade recorded</span>', "", ""]
    else:
        cells += [escape(str(year["year"]))] + [fmt.billions(year.get(k)) for k in SERIES]
    classes = [
        "",
        ' class="num"',
        "",
        ' class="num"',
        ' class="num"',
        ' class="num"',
        ' class="num"',
    ]
    return (
        "<tr>" + "".join(f"<td{c}>{v}</td>" for c, v in zip(classes, cells, strict=True)) + "</tr>"
    )


def _partner_table(reports_dir: Path, partners: list[dict[str, Any]]) -> str:
    if not partners:
        return '<p class="note">No partner report yet (run <code>make report</code>).</p>'
    # One row per Census code: a renamed partner's older folder never lists the code twice.
    seen: set[Any] = set()
    rows = []
    for p in partners:
        key = _code(p) if _code(p) is not None else p.get("slug")
        if key in seen:
            continue
        seen.add(key)
        rows.append(_partner_row(reports_dir, p))
    return (
        '<div class="table-wrap"><table class="partners"><tr><th>Partner</th><th>Census code</th>'
        "<th>Data through</th><th>Year</th><th>Exports, US$ bn</th><th>Imports, US$ bn</th>"
        "<th>Balance, US$ bn</th></tr>" + "".join(rows) + "</table></div>"
    )


def _is_aggregate(results: Mapping[str, Any] | None) -> bool:
    """Census aggregates (World, European Union, regions): :func:`analysis.vocab.is_aggregate`."""
    code = _code(results) if results else None
    return code is not None and is_aggregate(code)


def agreements_summary(reports_dir: Path, focus: int = 5800) -> dict[str, str] | None:
    """The comparison of every U.S. FTA for the landing page: ``{href, text}`` with where the
    focus partner's agreement (KORUS) stands, or None without ``reports/agreements.json``
    (``make agreements``) or with one this page cannot read."""
    path = Path(reports_dir) / "agreements.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        rec = next(r for r in doc["agreements"] if int(r["partner_code"]) == focus)
        stands = "; ".join(f"{flow}: {rec['flows'][flow]['verdict_label']}" for flow in FLOWS)
        n = len(doc["agreements"])
        text = (
            f"Every U.S. free trade agreement ({n}) evaluated the same way, side by side. "
            f"Where {rec['short_name']} stands: {stands}."
        )
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None
    return {"href": "agreements.html", "text": text}


def _agreements_block(reports_dir: Path) -> str:
    """A paragraph linking the comparison page (:func:`agreements_summary`), or nothing."""
    summary = agreements_summary(reports_dir)
    if summary is None:
        return ""
    return (
        f'<p><a href="{escape(summary["href"])}">All U.S. FTAs compared</a>: '
        f"{escape(summary['text'])}</p>"
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
    name = fmt.display_name(str(main.get("partner") or fmt.NA)) if main else fmt.NA
    slug = str(main.get("slug") or "") if main else None
    through = str((main or {}).get("data_through") or vintage.get("last_month") or fmt.NA)
    start = str(((main or {}).get("params") or {}).get("start") or "")
    window = f"{start} to {through}" if start else f"through {through}"

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>U.S. goods trade with {escape(name)}: reports</title>",
        f"<style>{CSS_FILE.read_text(encoding='utf-8')}</style></head><body>",
        '<header class="top"><div class="wrap">',
        f"<h1>U.S. goods trade with {escape(name)}</h1>",
        f"<p>Partner: <strong>{escape(name)}</strong>"
        + (f" (Census code {_code(main)})" if main and _code(main) is not None else "")
        + (
            " · a Census aggregate of several partners, not a country"
            if _is_aggregate(main)
            else ""
        )
        + "</p>",
        f"<p>Months analysed: <strong>{escape(window)}</strong>"
        + (
            f" · source file sha256 <code>{escape(vintage['sha256'])}</code>"
            if vintage.get("sha256")
            else ""
        )
        + f' · built <span id="build-date">{escape(built)}</span></p>',
        "</div></header>",
        '<main class="wrap">',
    ]
    if main and main.get("_stale"):
        parts.append(
            f'<p class="note stale">These results are not current ({escape(str(main["_stale"]))}): '
            "run <code>make all</code>.</p>"
        )
    if main:
        year = latest_complete_year(main)
        parts.append(f"<h2>Key numbers, {escape(str(year['year'])) if year else fmt.NA}</h2>")
        parts.append(_key_numbers(main))
        parts.append(f"<h2>{escape(breaks_heading(main))}</h2>")
        parts.append(_effects_table(main, size_note(reports_dir / "korus" / "evaluation.json")))
        parts.append(_counterfactual_table(main))
    else:
        parts.append('<p class="note">No partner report yet: run <code>make report</code>.</p>')
    parts.append("<h2>Sections</h2>")
    parts.append(_section_links(reports_dir, partners, slug))
    parts.append(_agreements_block(reports_dir))
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
        parts.append(
            "<h2>Caveats</h2><ul>"
            + "".join(f"<li>{escape(str(c))}</li>" for c in caveats)
            + "</ul>"
        )
    parts.append("</main>")
    parts.append(
        f'<footer class="bottom"><div class="wrap">{escape(vintage_text(vintage))} '
        "Values in US$, current prices, not seasonally adjusted unless stated."
        "</div></footer>"
    )
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
    data_sha = current_data_sha(meta_path)
    for path in sorted(reports_dir.glob("*/results.json")):
        data = _read_results(path)
        # The folder the report was read from is its slug, whatever results.json says: every
        # link of the page goes by this one name (``israel-5080``, not ``israel``).
        data["slug"] = path.parent.name
        data["_stale"] = stale_reason(data, data_sha, path.parent / "params.json")
        partners.append(data)
    text = render_index(
        reports_dir,
        partners,
        default_partner=default_partner,
        vintage=data_vintage(meta_path),
        built=built or build_date(),
    )
    return write_text_atomic(reports_dir / "index.html", text)
