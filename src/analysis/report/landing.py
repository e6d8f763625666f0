"""The landing page (``reports/index.html``): key numbers, trend changes, links, thumbnails.

Built from every ``reports/*/results.json`` (schema version :data:`RESULTS_SCHEMA_VERSION`),
``reports/claims.csv``, ``reports/korus/evaluation.json`` and the cleaned data's metadata, as
one static HTML page with no script. This module gathers what the page shows (numbers through
:mod:`analysis.report.fmt`); the template ``templates/landing.html.j2`` lays it out and escapes
every value. Its "Sections" list comes from the page registry (:mod:`analysis.report.pages`).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis import config, external
from analysis.errors import DataError
from analysis.fileio import write_text_atomic
from analysis.report import fmt
from analysis.report.consistency import current_data_sha, stale_reason
from analysis.report.pages import PAGES, Page, page, section_links
from analysis.report.provenance import data_vintage, vintage_text
from analysis.report.templating import render_template
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


def _month_name(ym: Any) -> str:
    try:
        return dt.date.fromisoformat(f"{str(ym)[:7]}-01").strftime("%b %Y")
    except ValueError:
        return str(ym) if ym else fmt.NA


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


def key_numbers(results: Mapping[str, Any]) -> dict[str, Any] | None:
    """The key-number cards of the latest complete year: ``{"year", "cards": [{"key",
    "label", "value", "sign"}]}`` (``sign`` "neg"/"pos" for the balance); None without one."""
    year = latest_complete_year(results)
    if year is None:
        return None
    cards = []
    for key, label in (
        ("exports", "U.S. exports"),
        ("imports", "U.S. imports"),
        ("balance", "U.S. goods balance"),
    ):
        x = fmt.num(year.get(key))
        sign = ("neg" if x < 0 else "pos") if key == "balance" and x is not None else ""
        cards.append(
            {"key": key, "label": label, "value": fmt.billions(year.get(key)), "sign": sign}
        )
    return {"year": fmt.year(year["year"]), "cards": cards}


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
    rates = both or cal
    return (
        f"in {fmt.count(n)} simulated series per flow plain HAC tests rejected a true null "
        f"{fmt.number(min(plain), 0)}–{fmt.number(max(plain), 0)} % of the time at a nominal "
        f"5 %, these {fmt.number(min(rates), 1)}–{fmt.number(max(rates), 1)} %"
        + (" whether the simulated noise was fitted with or without the breaks" if both else "")
        + " (evaluation page)"
    )


def _us_millions(value: Any) -> str:
    text = fmt.millions(value)
    return fmt.MISSING if text == fmt.NA else f"US$ {text} mn"


def effect_row(row: Mapping[str, Any]) -> dict[str, str]:
    """One row of the trend-change table: series, break, level change and its interval and
    p-value, trend change per year and its interval and p-value, in the row's own unit (% for
    log models, US$ millions for the balance); intervals and p-values by the one rule of
    :func:`analysis.vocab.quoted`, a missing value as :data:`fmt.MISSING`."""
    series = str(row["series"])
    cells = {
        "series": SERIES_LABELS.get(series, series),
        "break": _month_name(row.get("break")),
        "p_level": fmt.quoted_p(row, "p_level"),
        "p_slope": fmt.quoted_p(row, "p_slope"),
    }
    if row.get("log"):
        pct = lambda v: fmt.MISSING if fmt.num(v) is None else fmt.pct(v)  # noqa: E731
        return cells | {
            "level": pct(row.get("pct_level_change")),
            "level_ci": fmt.quoted_interval(row, "pct_level_change_ci", fmt.pct),
            "slope": pct(row.get("pct_slope_change_per_year")),
            "slope_ci": fmt.quoted_interval(row, "pct_slope_change_per_year_ci", fmt.pct),
        }
    return cells | {
        "level": _us_millions(row.get("level_change")),
        "level_ci": fmt.quoted_interval(row, "level_change_ci", fmt.millions),
        "slope": _us_millions(row.get("slope_change_per_year")),
        "slope_ci": fmt.quoted_interval(row, "slope_change_per_year_ci", fmt.millions),
    }


def _gap_row(label: str, period: str, gap: Mapping[str, Any]) -> dict[str, str]:
    signed = lambda v: fmt.billions(v, sign=True)  # noqa: E731
    return {
        "series": label,
        "period": period,
        "gap": signed(gap.get("cumulative_gap")),
        "ci": fmt.interval(gap.get("gap_ci"), signed),
        "pct": fmt.pct(gap.get("pct_gap")),
    }


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


def counterfactual(results: Mapping[str, Any]) -> dict[str, Any] | None:
    """The projection table: ``{"first_break", "short": [rows], "long": [rows]}`` (rows of
    :func:`_gap_row`; ``short`` at :data:`HORIZON_MONTHS`), None without a projection."""
    cfs = results.get("counterfactual")
    if not isinstance(cfs, Mapping) or not cfs:
        return None
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
            end = _month_name(gap.get("end"))
            months = fmt.count(gap["months"])
            short.append(_gap_row(label, f"{first_break} – {end} ({months} months)", gap))
        end, months = _month_name(c.get("post_end")), fmt.count(c.get("months"))
        long.append(_gap_row(label, f"{first_break} – {end} ({months} months)", c))
    return {"first_break": first_break, "short": short, "long": long} if long else None


def thumbnails(reports_dir: Path, folder: Path, heading: str) -> dict[str, Any] | None:
    """``{"heading", "figures": [{"href", "caption"}]}`` for the PNGs in ``folder``'s figure
    folders (:data:`analysis.config.FIGURE_FOLDERS`, in that order; each sorted by name)."""
    pngs = [
        png
        for sub in config.FIGURE_FOLDERS.values()
        for png in (sorted((folder / sub).glob("*.png")) if (folder / sub).is_dir() else [])
    ]
    if not pngs:
        return None
    return {
        "heading": heading,
        "figures": [{"href": _rel(png, reports_dir), "caption": _caption(png)} for png in pngs],
    }


def claims_block(reports_dir: Path) -> dict[str, Any] | None:
    """The claims summary: totals, a badge per verdict of the data checks and the claims
    counted apart (``others``); None without ``claims.csv``."""
    counts = claims_summary(reports_dir / "claims.csv")
    if counts is None:
        return None
    data = counts.get("data", dict.fromkeys(VERDICT_STYLE, 0))
    badges = []
    for key, n in data.items():
        bg, fg, label = VERDICT_STYLE.get(key, ("#eeeeee", "#111111", key.replace("_", " ")))
        badges.append({"key": key, "bg": bg, "fg": fg, "text": f"{fmt.count(n)} {label}"})
    others = []
    for b, what in (
        ("arithmetic", "recompute the report's own arithmetic"),
        ("reference", "rest on compiled trade-press or agency figures"),
        ("none", "have no source that holds the number"),
    ):
        n = sum(counts.get(b, {}).values())
        if n:
            agree = counts[b].get("supported", 0)
            others.append(
                f"{fmt.count(n)} {what}" + (f" ({fmt.count(agree)} agree)" if b != "none" else "")
            )
    n_data = sum(data.values())
    return {
        "total": fmt.count(sum(sum(v.values()) for v in counts.values())),
        "data": fmt.count(n_data),
        "checkable": fmt.count(n_data - data.get("not_checkable", 0)),
        "badges": badges,
        "others": "; ".join(others),
        "page": "korus/claims.html" if (reports_dir / "korus" / "claims.html").is_file() else "",
    }


def partner_row(reports_dir: Path, p: Mapping[str, Any]) -> dict[str, Any]:
    """One row of the partner table (name, link, tags, code, data through, year, values)."""
    slug = str(p.get("slug") or "")
    year = latest_complete_year(p)
    page = reports_dir / slug / "trends.html"
    code = _code(p)
    row: dict[str, Any] = {
        "name": fmt.display_name(str(p.get("partner") or slug or fmt.NA)),
        "href": _rel(page, reports_dir) if slug and page.is_file() else "",
        "aggregate": _is_aggregate(p),
        "stale": str(p.get("_stale") or ""),
        "code": fmt.code(code) if code is not None else fmt.NA,
        "through": str(p.get("data_through") or fmt.NA),
        "year": fmt.year(year["year"]) if year else fmt.NA,
        "no_trade": False,
        "values": [fmt.NA] * 3,
    }
    if year is not None and not any(fmt.num(year.get(k)) for k in ("exports", "imports")):
        row.update(no_trade=True, values=[])
    elif year is not None:
        row["values"] = [fmt.billions(year.get(k)) for k in SERIES]
    return row


def partner_rows(reports_dir: Path, partners: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The partner table's rows, one per Census code: a renamed partner's older folder never
    lists the code twice."""
    seen: set[Any] = set()
    rows = []
    for p in partners:
        key = _code(p) if _code(p) is not None else p.get("slug")
        if key in seen:
            continue
        seen.add(key)
        rows.append(partner_row(reports_dir, p))
    return rows


def _is_aggregate(results: Mapping[str, Any] | None) -> bool:
    """Census aggregates (World, European Union, regions): :func:`analysis.vocab.is_aggregate`."""
    code = _code(results) if results else None
    return code is not None and is_aggregate(code)


def index_context(
    reports_dir: Path,
    partners: list[dict[str, Any]],
    *,
    default_partner: int,
    vintage: Mapping[str, str],
    built: str,
    pages: Sequence[Page] = PAGES,
) -> dict[str, Any]:
    """Everything the landing page shows, as text and numbers already formatted (``fmt``):
    the template ``landing.html.j2`` only lays it out (and escapes it)."""
    main = next((p for p in partners if _code(p) == default_partner), None)
    if main is None and partners:
        main = partners[0]
    name = fmt.display_name(str(main.get("partner") or fmt.NA)) if main else fmt.NA
    slug = str(main.get("slug") or "") if main else None
    through = str((main or {}).get("data_through") or vintage.get("last_month") or fmt.NA)
    start = str(((main or {}).get("params") or {}).get("start") or "")
    thumbs = [
        t
        for t in (
            thumbnails(reports_dir, reports_dir / slug, f"{name}: figures") if slug else None,
            thumbnails(reports_dir, reports_dir / "korus", "KORUS context: figures"),
        )
        if t
    ]
    caveats = main.get("caveats") if main else None
    ctx: dict[str, Any] = {
        "name": name,
        "code": fmt.code(_code(main)) if main and _code(main) is not None else "",
        "aggregate": _is_aggregate(main),
        "window": f"{start} to {through}" if start else f"through {through}",
        "sha256": vintage.get("sha256", ""),
        "built": built,
        "css": CSS_FILE.read_text(encoding="utf-8"),
        "main": bool(main),
        "stale": str(main.get("_stale") or "") if main else "",
        "sections": section_links(reports_dir, partners, slug, pages),
        "agreements": agreements_summary(reports_dir, default_partner),
        "thumbs": thumbs,
        "claims": claims_block(reports_dir),
        "partners": partner_rows(reports_dir, partners),
        "caveats": [str(c) for c in caveats] if isinstance(caveats, list) else [],
        "footer": vintage_text(vintage),
    }
    if main:
        year = latest_complete_year(main)
        effects = [effect_row(r) for r in its_effects(main)]
        ctx |= {
            "key_year": fmt.year(year["year"]) if year else fmt.NA,
            "key_numbers": key_numbers(main),
            "breaks_heading": breaks_heading(main),
            "effects": effects,
            "effects_missing": any(fmt.MISSING in r.values() for r in effects),
            "missing_note": fmt.MISSING_NOTE,
            "size": size_note(reports_dir / "korus" / "evaluation.json"),
            "counterfactual": counterfactual(main),
        }
    return ctx


def agreements_summary(
    reports_dir: Path, focus: int = config.DEFAULT_PARTNER
) -> dict[str, str] | None:
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
            f"Every U.S. free trade agreement ({fmt.count(n)}) evaluated the same way, side by "
            f"side. Where {rec['short_name']} stands: {stands}."
        )
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None
    return {"href": "agreements.html", "text": text}


def render_index(
    reports_dir: Path,
    partners: list[dict[str, Any]],
    *,
    default_partner: int,
    vintage: Mapping[str, str],
    built: str,
    pages: Sequence[Page] = PAGES,
) -> str:
    """The landing page's HTML: :func:`index_context` through the template
    ``templates/landing.html.j2`` (auto-escaping)."""
    ctx = index_context(
        reports_dir,
        partners,
        default_partner=default_partner,
        vintage=vintage,
        built=built,
        pages=pages,
    )
    return render_template(page("index", pages).template or "landing.html.j2", ctx)


def build_index(
    reports_dir: Path,
    *,
    meta_path: Path | None = None,
    default_partner: int = config.DEFAULT_PARTNER,
    built: str | None = None,
    pages: Sequence[Page] = PAGES,
) -> Path:
    """Write ``reports_dir/index.html``, the landing page of the static site (atomically).

    Reads every ``reports_dir/*/results.json`` (partners, sorted by slug), the cleaned data's
    metadata (``meta_path``, default ``data/processed/trade_monthly.meta.json``) and, when
    present, ``reports_dir/claims.csv`` and the figures of the default partner and of KORUS (:func:`thumbnails`).
    ``built`` is the build date shown (default: :func:`build_date`); ``pages`` the page
    registry whose pages the "Sections" list links (default :data:`analysis.report.pages.PAGES`).
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
        pages=pages,
    )
    return write_text_atomic(reports_dir / "index.html", text)
