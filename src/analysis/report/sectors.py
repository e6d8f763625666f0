"""The sectors page: what the product table covers, composition by HS section, the report's product groups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis import external
from analysis.models import sectors as sec
from analysis.report import fmt, theme
from analysis.report.figures import date_axis, display_name, headline, money_axis, source_line
from analysis.report.markup import escape_md
from analysis.sources.census_api_client import FIRST_YEAR
from analysis.vocab import FLOW_PHRASES

FLOW_WORDS: dict[str, str] = FLOW_PHRASES
SOURCE_EXTRA = "Product detail: Census International Trade API (HS), US$, not seasonally adjusted."


def product_source(data_through: str, data_from: str = "") -> str:
    """The source line of a sectors figure: the product table and its own months (not the
    country table's, which other pages use and which can end in another month)."""
    months = f"months {data_from} to {data_through}" if data_from else f"through {data_through}"
    return (
        "Source: U.S. Census Bureau, International Trade API, U.S. trade by HS product "
        f"(the product table, {months}); US$, not seasonally adjusted."
    )


def no_products_line(path: str | Path) -> str:
    """One line when there is no product table at all: what is missing and how to get it."""
    return (
        f"No product table (`{escape_md(Path(path).name)}` is absent), so this page has no product "
        "detail. It needs `make products` with the data mirror (`ANALYSIS_DATA_MIRROR`: U.S. imports by "
        "HS2, 2023–2024) or, with network access and `CENSUS_API_KEY`, `make products-api` "
        f"({sec.API_OFFER})."
    )


def coverage_text(cov: sec.Coverage, partner: str, partner_code: int | None = None) -> str:
    """Exactly what the product table holds for the partner, and what the API would add (and,
    given the partner's code, whether the API's months reach back to its agreement)."""
    name = escape_md(display_name(partner))
    if cov.empty:
        return (
            f"The product table has no rows for {name}; `make products-api` (network and "
            f"`CENSUS_API_KEY`) gets {sec.API_OFFER}."
        )
    flows = " and ".join(f"{FLOW_WORDS[f]} {name} at {', '.join(cov.levels[f])}" for f in cov.flows)
    lacking = [f for f in sec.FLOWS if f not in cov.flows]
    years = sorted({y for ys in cov.complete_years.values() for y in ys})
    text = (
        f"**What the data cover.** {flows}, monthly, {cov.first} to {cov.last} "
        f"({len(years)} complete year{'s' if len(years) != 1 else ''}: "
        f"{', '.join(map(str, years)) or 'none'}); source: {', '.join(escape_md(s) for s in cov.sources)} "
        "(Census International Trade API; US$ millions, not seasonally adjusted)."
    )
    if lacking:
        text += f" The table has no {' or '.join(lacking)}, so nothing here speaks of the balance by product."
    gaps = [lv for lv in sec.LEVELS if not any(cov.has(f, lv) for f in cov.flows)]
    if gaps or lacking:
        text += (
            f" With network access and `CENSUS_API_KEY`, `make products-api` gets {sec.API_OFFER}, "
            "which fills these gaps"
        )
        agreement = external.agreement_for(partner_code) if partner_code is not None else None
        if agreement is not None and agreement.in_force.year < FIRST_YEAR:
            text += (
                f"; it still starts after {escape_md(agreement.short_name)} took effect "
                f"({agreement.dates()[0].month})"
            )
        text += "."
    return text


def no_complete_year_line(cov: sec.Coverage, partner: str, flow: str) -> str | None:
    """One line when the product table holds no complete calendar year of ``flow`` for the
    partner (North Korea: 2024-05 to 2024-12), so that there is no composition to show; None
    when it holds one."""
    if cov.complete_years.get(flow):
        return None
    return (
        f"No complete year of product data for {FLOW_WORDS[flow]} "
        f"{escape_md(display_name(partner))} ({cov.first} to {cov.last}): the composition by HS "
        "section needs all twelve months of a year."
    )


# ---- tables ----------------------------------------------------------------------------------


def _year_columns(
    df: pd.DataFrame, keys: list[str], value: str, share: str | None, unit: str = "US$ bn"
) -> pd.DataFrame:
    """Wide table: one value column (US$ bn) and one share column (%) per year."""
    out = df[keys].drop_duplicates().reset_index(drop=True)
    for year in sorted(df["year"].unique()):
        part = df[df["year"] == year].set_index(keys)
        idx = pd.MultiIndex.from_frame(out[keys]) if len(keys) > 1 else pd.Index(out[keys[0]])
        out[f"{year} ({unit})"] = [fmt.billions(v) for v in part[value].reindex(idx).to_numpy()]
        if share:
            out[f"Share {year} (%)"] = [
                fmt.number(v, 1) if fmt.num(v) is not None else fmt.MISSING
                for v in part[share].reindex(idx).to_numpy()
            ]
    return out


def section_table(sections: pd.DataFrame) -> pd.DataFrame:
    """HS sections by year, largest (latest year) first: value (US$ bn) and share (%)."""
    last = sections["year"].max()
    order = (
        sections[sections["year"] == last].sort_values("value", ascending=False)["section"].tolist()
    )
    wide = _year_columns(sections, ["section", "numeral", "title"], "value", "share")
    wide = wide.set_index("section").loc[order].reset_index()
    return wide.drop(columns="section").rename(
        columns={"numeral": "HS section", "title": "Products"}
    )


def chapter_table(chapters: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` largest HS2 chapters in the latest year, with their section, by year."""
    last = chapters["year"].max()
    top = chapters[chapters["year"] == last].nlargest(n, "value")["chapter"].tolist()
    part = chapters[chapters["chapter"].isin(top)]
    wide = _year_columns(part, ["chapter", "description", "numeral"], "value", "share")
    wide = wide.set_index("chapter").loc[top].reset_index()
    wide["description"] = wide["description"].str.capitalize()
    return wide.rename(
        columns={"chapter": "HS chapter", "description": "Description", "numeral": "HS section"}
    )


def group_table(annual: pd.DataFrame) -> pd.DataFrame:
    """Each product group by flow: value (US$ bn) and share of the partner's flow (%) by year."""
    wide = _year_columns(annual, ["label", "codes", "flow"], "value", "share")
    wide["flow"] = wide["flow"].map(lambda f: FLOW_WORDS[f].replace(" to", "").replace(" from", ""))
    return wide.rename(columns={"label": "Product group", "codes": "HS codes", "flow": "Flow"})


def missing_table(missing: Sequence[tuple[sec.Group, str]]) -> pd.DataFrame:
    """Groups (or flows of a group) the table cannot give, and the data they need."""
    return pd.DataFrame(
        {
            "Product group": [g.label for g, _ in missing],
            "HS codes": [g.codes_text for g, _ in missing],
            "Needs": [need for _, need in missing],
        }
    )


def balance_table(balance: pd.DataFrame) -> pd.DataFrame:
    """Group balances (US$ bn, exports minus imports) and their part of the total balance (%)."""
    wide = _year_columns(balance, ["label", "codes"], "balance", "share_of_balance")
    wide.columns = [
        c.replace("Share", "Part of the balance").replace("(US$ bn)", "balance (US$ bn)")
        for c in wide.columns
    ]
    return wide.rename(columns={"label": "Product group", "codes": "HS codes"})


# ---- sentences -------------------------------------------------------------------------------


def groups_sentence(annual: pd.DataFrame, partner: str) -> str:
    """The largest group in the latest year of each flow, and what the HS2 groups add up to."""
    if annual.empty:
        return "None of the report's product groups can be computed from this table."
    name = escape_md(display_name(partner))
    lines = []
    for flow in sec.FLOWS:
        part = annual[
            (annual["flow"] == flow)
            & (annual["year"] == annual.loc[annual["flow"] == flow, "year"].max())
        ]
        if part.empty:
            continue
        top = part.nlargest(1, "share").iloc[0]
        hs2 = part[part["group"].isin([g.key for g in sec.GROUPS if g.level == "HS2"])]
        lines.append(
            f"In {int(top['year'])}, {escape_md(top['label'].lower())} ({escape_md(top['codes'])}) were the largest "
            f"of the report's product groups in {FLOW_WORDS[flow]} {name}: US$ {fmt.billions(top['value'])} bn, "
            f"{fmt.pct(top['share'], sign=False)} of the total; the {len(hs2)} HS2 groups together were "
            f"{fmt.pct(hs2['share'].sum(), sign=False)}."
        )
    return " ".join(lines)


def balance_sentence(balance: pd.DataFrame, cov: sec.Coverage) -> str:
    """Which groups drive the balance, or one line on the flow the table lacks."""
    if balance.empty:
        lacking = [f for f in sec.FLOWS if f not in cov.flows] or list(sec.FLOWS)
        return (
            f"Which groups drive the balance cannot be said from this table: it needs U.S. "
            f"{' and '.join(lacking)} by product for the same months (`make products-api`)."
        )
    last = balance[balance["year"] == balance["year"].max()].sort_values("balance")
    hs2 = last[last["group"].isin([g.key for g in sec.GROUPS if g.level == "HS2"])]
    top = hs2.iloc[0]
    return (
        f"In {int(top['year'])} the largest product deficit among the report's groups was in "
        f"{escape_md(top['label'].lower())} (US$ {fmt.billions(top['balance'])} bn, against a total goods "
        f"balance of US$ {fmt.billions(top['total_balance'])} bn): a balance by product is an accounting "
        "split, not a cause of the total."
    )


def agreement_dates_text(cov: sec.Coverage, partner_code: int) -> str:
    """Whether the monthly series reach the partner's agreement dates (marked on the figure when
    they do); nothing for a partner without an agreement."""
    events = theme.agreement_events(partner_code)
    if cov.empty or not events:
        return ""
    first = pd.Timestamp(cov.first + "-01")
    before = [e for e in events if e.date < first]
    if not before:
        return "The agreement dates are marked on the monthly series."
    dates = " and ".join(f"{escape_md(e.label)} ({e.date:%Y-%m})" for e in before)
    text = (
        f"The table starts in {cov.first}, after {dates}: these series cannot show trade around "
        "the agreement dates"
    )
    reach = [e for e in events if e.date.year >= FIRST_YEAR and e.date < first]
    if reach:
        text += f"; with the API's data from {FIRST_YEAR} they would reach " + " and ".join(
            f"{escape_md(e.label)} ({e.date:%Y-%m})" for e in reach
        )
    return text + "."


# ---- figures ---------------------------------------------------------------------------------


def plot_sections(
    sections: pd.DataFrame, partner: str, flow: str, data_through: str, *, data_from: str = ""
) -> Figure:
    """Horizontal bars: each HS section's share of the flow in the latest year; the source line
    names the product table's months (``data_from`` to ``data_through``)."""
    theme.set_theme()
    last = int(sections["year"].max())
    part = sections[sections["year"] == last].sort_values("share")
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(part) + 1.8), layout="constrained")
    labels = [
        t if n == sec.SPECIAL_SECTION[1] else f"{t} ({n})"
        for n, t in zip(part["numeral"], part["short_title"], strict=True)
    ]
    ax.barh(labels, part["share"], color=theme.COLORS[flow])
    for y, v in enumerate(part["share"]):
        ax.text(v + 0.3, y, fmt.number(v, 1), va="center", fontsize=8, color=theme.COLORS["muted"])
    ax.set_xlabel(f"Share of {FLOW_WORDS[flow]} {display_name(partner)}, {last} (%)")
    ax.grid(axis="y", visible=False)
    big = part.nlargest(2, "share")
    headline(
        fig,
        f"Two HS sections made up {fmt.number(big['share'].sum(), 0)} % of {FLOW_WORDS[flow]} "
        f"{display_name(partner)} in {last}",
    )
    source_line(fig, product_source(data_through, data_from))
    return fig


def plot_groups(
    monthly: Mapping[str, pd.DataFrame],
    partner: str,
    data_through: str,
    groups: Sequence[sec.Group] = sec.GROUPS,
    *,
    partner_code: int | None = None,
    data_from: str = "",
) -> Figure:
    """Small multiples: each available group's monthly value, one line per flow present; the
    partner's agreement dates (given its code) marked where the months reach them; the source
    line names the product table's months (``data_from`` to ``data_through``)."""
    events = theme.agreement_events(partner_code) if partner_code is not None else []
    theme.set_theme()
    keys = [g for g in groups if any(g.key in df for df in monthly.values())]
    ncols = 2
    nrows = int(np.ceil(len(keys) / ncols))
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(10, 2.3 * nrows + 1.2),
        layout="constrained",
        sharex=True,
        squeeze=False,
    )
    for ax, g in zip(axes.flat, keys, strict=False):
        values = []
        for flow, df in monthly.items():
            if g.key in df:
                ax.plot(df.index, df[g.key], color=theme.COLORS[flow], linewidth=1.6, label=flow)
                values += list(df[g.key])
        unit = money_axis(ax, values)
        ax.set_ylim(bottom=0)
        ax.set_title(f"{g.label} ({g.codes_text})", fontsize=10)
        ax.set_ylabel(unit + " a month", fontsize=8)
        date_axis(ax)
        theme.add_events(ax, events=events)
    for ax in axes.flat[len(keys) :]:
        ax.set_visible(False)
    flows = " and ".join(FLOW_WORDS[f].split()[1] for f in monthly)
    headline(
        fig,
        f"U.S. {flows} {'to and from' if len(monthly) > 1 else FLOW_WORDS[next(iter(monthly))].split()[-1]} "
        f"{display_name(partner)}: the policy report's product groups, monthly",
    )
    if len(monthly) > 1:
        axes.flat[0].legend(loc="upper left", fontsize=8)
    source_line(fig, product_source(data_through, data_from))
    return fig
