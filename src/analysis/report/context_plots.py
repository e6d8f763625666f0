"""Figures of the KORUS context pages: partners side by side, DiD event study, Korea's macro.

Built on the shared theme of :mod:`analysis.report.theme` (``set_theme``, ``add_events``) and
the helpers of :mod:`analysis.report.figures` (``headline``, ``add_source``, ``display_name``;
saving with ``save_figure``). Every function
returns a matplotlib ``Figure``; inputs come from :mod:`analysis.models.comparison` and
:mod:`analysis.sources.wdi`. Money is plotted in US$ billions (inputs are US$ millions).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from analysis import config
from analysis.errors import ParameterError
from analysis.models.comparison import EventStudy, PlaceboResult
from analysis.report import figures, fmt, theme
from analysis.sources.wdi import MACRO_INDICATORS, MACRO_LABELS

#: Line colours of partners (Okabe-Ito, colour-blind safe); the focus partner is black.
_PARTNER_COLOURS = [
    theme.OKABE_ITO[k] for k in ("orange", "sky", "green", "vermillion", "blue", "purple", "yellow")
]
_FOCUS_COLOUR = "#000000"


def focus_events() -> list[theme.Event]:
    """The events these context pages mark: the default partner's (Korea's) agreement dates and
    the events in its scope, from ``data/external/`` (:func:`analysis.report.theme.partner_events`)."""
    return theme.partner_events(config.DEFAULT_PARTNER)


def events_caption(events: list[theme.Event]) -> str:
    """``"Dashed lines: KORUS signed (2007), KORUS in force (2012), ..."``: the events marked on
    an annual axis, each with its year."""
    return "Dashed lines: " + ", ".join(f"{e.label} ({e.date.year})" for e in events) + "."


def _colours(names: list[str], focus: str) -> dict[str, str]:
    out, i = {}, 0
    for n in names:
        if n == focus:
            out[n] = _FOCUS_COLOUR
        else:
            out[n] = _PARTNER_COLOURS[i % len(_PARTNER_COLOURS)]
            i += 1
    return out


def _hide_unused(axes: np.ndarray, used: int) -> None:
    """Hide the grid cells after the first ``used`` and show x tick labels above the gaps."""
    nrows, ncols = axes.shape
    for i, ax in enumerate(axes.flat):
        if i >= used:
            ax.set_visible(False)
        elif i + ncols >= used:  # nothing visible below this panel
            ax.xaxis.set_tick_params(labelbottom=True)


def _year_axis(ax, years: np.ndarray) -> None:
    span = int(years.max() - years.min()) if len(years) else 0
    step = 5 if span > 20 else (2 if span > 8 else 1)
    ax.set_xticks([int(y) for y in years if int(y) % step == 0])
    figures.year_axis(ax)
    ax.set_xlim(years.min() - 0.7, years.max() + 0.7)


def plot_partner_balances(
    wide: pd.DataFrame, *, focus: str, data_through: str, title: str | None = None
) -> Figure:
    """Small multiples of the annual U.S. goods balance with each partner (US$ billions).

    ``wide``: ``year x partner name`` of annual balances in US$ millions (complete years);
    ``focus`` is the Census name of the partner drawn first. Each panel has its own y-axis,
    since the balances differ by an order of magnitude (China's dwarfs the others).
    """
    if wide.empty or focus not in wide.columns:
        raise ParameterError(f"plot_partner_balances: no data, or {focus!r} is not a column")
    theme.set_theme()
    names = [focus] + [c for c in wide.columns if c != focus]
    ncols = 2
    nrows = math.ceil(len(names) / ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(10, 2.1 * nrows + 1.2),
        sharex=True,
        layout="constrained",
        squeeze=False,
    )
    years = wide.index.to_numpy(dtype=int)
    for ax, name in zip(axes.flat, names, strict=False):
        values = wide[name].to_numpy(dtype=float) / 1000.0
        colours = [theme.COLORS["deficit"] if v < 0 else theme.COLORS["surplus"] for v in values]
        ax.bar(years, values, width=0.8, color=colours, edgecolor="none", zorder=2)
        ax.axhline(0, color="#888888", linewidth=0.8)
        ax.set_title(
            figures.display_name(name),
            fontweight="bold" if name == focus else "normal",
            fontsize=10,
        )
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_formatter(fmt.tick_formatter(0))
        ax.grid(axis="x", visible=False)
        _year_axis(ax, years)
        theme.add_events(ax, events=focus_events(), x="year", labels=False)
    _hide_unused(axes, len(names))
    fig.supylabel("US$ billions per year (NSA); below zero = U.S. deficit", fontsize=9)
    figures.headline(
        fig, title or f"U.S. goods trade balance by partner, {years.min()}–{years.max()}"
    )
    figures.add_source(
        fig,
        data_through,
        f"Complete years only. {events_caption(focus_events())} Each panel has its own scale.",
    )
    return fig


def plot_partner_shares(
    monthly: pd.DataFrame,
    annual: pd.DataFrame,
    *,
    partner: str,
    data_through: str,
    title: str | None = None,
) -> Figure:
    """The partner's share (%) of total U.S. goods exports and imports.

    ``monthly`` (DatetimeIndex) and ``annual`` (index ``year``) come from
    :func:`analysis.models.comparison.trade_shares` (columns ``exports_share``, ``imports_share``).
    Monthly shares are thin lines, annual shares bold (plotted at mid-year).
    """
    for df, what in ((monthly, "monthly"), (annual, "annual")):
        if df.empty or not {"exports_share", "imports_share"} <= set(df.columns):
            raise ParameterError(
                f"plot_partner_shares: {what} needs exports_share and imports_share"
            )
    theme.set_theme()
    fig, ax = plt.subplots(figsize=(10, 5.2), layout="constrained")
    mid = pd.to_datetime([f"{int(y)}-07-01" for y in annual.index])
    for flow, label in (("exports", "U.S. exports to"), ("imports", "U.S. imports from")):
        colour = theme.COLORS[flow]
        ax.plot(monthly.index, monthly[f"{flow}_share"], color=colour, linewidth=0.7, alpha=0.45)
        ax.plot(
            mid,
            annual[f"{flow}_share"],
            color=colour,
            linewidth=2.2,
            marker="o",
            markersize=3.5,
            label=f"{label} {figures.display_name(partner)} (annual; thin: monthly)",
        )
    ax.set_ylabel("% of total U.S. goods trade with the world")
    ax.yaxis.set_major_formatter(fmt.tick_formatter(1))
    figures.date_axis(ax)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncols=2, fontsize=9)
    figures.headline(fig, title or f"{figures.display_name(partner)}'s share of U.S. goods trade")
    figures.add_source(
        fig, data_through, "Share of the Census world total (not seasonally adjusted)."
    )
    theme.add_events(ax, events=focus_events())
    return fig


def plot_index(
    index: pd.DataFrame,
    *,
    focus: str,
    base_year: int,
    flow: str = "exports",
    data_through: str,
    title: str | None = None,
) -> Figure:
    """Annual U.S. ``flow`` by partner indexed to ``base_year = 100`` (one line per partner).

    ``index``: ``year x partner name`` from :func:`analysis.models.comparison.index_to_base`; the
    focus partner is drawn bold in black. The y-axis is logarithmic, so equal growth rates
    look alike whatever the level.
    """
    if index.empty or focus not in index.columns:
        raise ParameterError(f"plot_index: no data, or {focus!r} is not a column")
    theme.set_theme()
    fig, ax = plt.subplots(figsize=(10, 5.6), layout="constrained")
    names = [c for c in index.columns if c != focus] + [focus]
    colours = _colours(list(index.columns), focus)
    years = index.index.to_numpy(dtype=int)
    for name in names:
        is_focus = name == focus
        ax.plot(
            years,
            index[name],
            color=colours[name],
            linewidth=2.6 if is_focus else 1.4,
            zorder=4 if is_focus else 3,
            label=figures.display_name(name),
        )
        last = index[name].dropna()
        if is_focus and not last.empty:
            ax.annotate(
                f"{figures.display_name(name)} {fmt.decimal(last.iloc[-1], 0)}",
                (last.index[-1], last.iloc[-1]),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
                color=colours[name],
                fontweight="bold",
            )
    ax.axhline(100, color="#888888", linewidth=0.8)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(fmt.tick_formatter())
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _p: ""))
    ax.set_ylabel(f"U.S. {flow}, {base_year} = 100 (log scale)")
    _year_axis(ax, years)
    ax.set_xlim(years.min() - 0.7, years.max() + 3.0)
    ax.grid(axis="x", visible=False)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(
        range(len(labels)), key=lambda i: (labels[i] != figures.display_name(focus), labels[i])
    )
    ax.legend(
        [handles[i] for i in order],
        [labels[i] for i in order],
        loc="lower left",
        bbox_to_anchor=(0.0, 1.01),
        ncols=4,
        fontsize=9,
    )
    what = "to" if flow == "exports" else "from"
    figures.headline(
        fig, title or f"U.S. {flow} {what} Korea and comparison partners, {base_year} = 100"
    )
    figures.add_source(
        fig,
        data_through,
        f"Annual sums of monthly data, complete years only; indexed to {base_year}.",
    )
    theme.add_events(ax, events=focus_events(), x="year")
    return fig


def plot_event_study(
    studies: Mapping[str, EventStudy],
    *,
    partner: str,
    controls_label: str,
    break_date: str,
    data_through: str,
    title: str | None = None,
    subtitles: Mapping[str, str] | None = None,
) -> Figure:
    """Event-study coefficients (treated x year-relative-to-break) with 95 % intervals.

    ``studies`` maps a panel label (e.g. ``"U.S. exports to"``) to an
    :class:`~analysis.models.comparison.EventStudy`. Bin ``k`` covers months ``12k..12k+11`` after
    the break; ``k = -1`` is the reference (0, hollow marker); the end bins pool the years
    beyond. Leads (``k <= -2``) away from zero are evidence against parallel trends.
    ``subtitles`` (by panel label) are appended to the panel titles, e.g. a placebo p-value.
    """
    if not studies:
        raise ParameterError("plot_event_study: no event studies")
    theme.set_theme()
    fig, axes = plt.subplots(
        len(studies),
        1,
        figsize=(10, 3.3 * len(studies) + 1.0),
        sharex=True,
        layout="constrained",
        squeeze=False,
    )
    name = figures.display_name(partner)
    for ax, (label, es) in zip(axes[:, 0], studies.items(), strict=True):
        t = es.table
        pre = t["k"] < 0
        for mask, colour in ((pre, theme.OKABE_ITO["sky"]), (~pre, theme.OKABE_ITO["vermillion"])):
            sub = t[mask & (t["k"] != es.reference)]
            ax.errorbar(
                sub["k"],
                sub["coef"],
                yerr=[sub["coef"] - sub["ci_low"], sub["ci_high"] - sub["coef"]],
                fmt="o",
                color=colour,
                ecolor=colour,
                elinewidth=1.4,
                capsize=3,
                markersize=5,
                zorder=3,
            )
        ref = t[t["k"] == es.reference]
        ax.plot(
            ref["k"], ref["coef"], "o", markerfacecolor="white", markeredgecolor="#333333", zorder=4
        )
        ax.axhline(0, color="#888888", linewidth=0.8)
        ax.axvline(-0.5, color=theme.COLORS["break"], linewidth=1.0)
        ax.set_ylabel("log points vs controls")
        extra = (subtitles or {}).get(label, "")
        ax.set_title(f"{label} {name}" + (f": {extra}" if extra else ""), fontsize=10)
        ax.grid(axis="x", visible=False)
    ks = sorted(set().union(*[set(es.table["k"]) for es in studies.values()]))
    ax = axes[-1, 0]
    ax.set_xticks(ks)
    lo, hi = min(ks), max(ks)
    ax.set_xticklabels([("≤" if k == lo else "≥" if k == hi else "") + fmt.tick(k, 0) for k in ks])
    ax.set_xlabel(
        f"Years relative to {break_date} (0 = first 12 months in force; −1 = reference year)"
    )
    figures.headline(fig, title or f"KORUS event study: {name} against {controls_label}")
    figures.add_source(
        fig,
        data_through,
        "Two-way fixed effects on log monthly trade (partner, month and partner x calendar-month effects); "
        "95 % Driscoll-Kraay intervals, which are too narrow when the gap is persistent.",
    )
    return fig


def macro_source(macro: pd.DataFrame) -> str:
    """Source line of :func:`plot_korea_macro`: the WDI indicators, the years, the event lines."""
    return (
        "Source: World Bank, World Development Indicators ("
        + ", ".join(MACRO_INDICATORS.values())
        + f"), {int(macro.index.min())}-{int(macro.index.max())}. "
        + events_caption(focus_events())
    )


def plot_korea_macro(macro: pd.DataFrame, *, source: str, title: str | None = None) -> Figure:
    """Small multiples of Korea's macro indicators (one panel per column of ``macro``).

    ``macro``: index ``year``, columns from :data:`analysis.sources.wdi.MACRO_LABELS`
    (from :func:`analysis.sources.wdi.korea_macro`); ``source`` is the source line.
    """
    cols = [c for c in macro.columns if c in MACRO_LABELS]
    if macro.empty or not cols:
        raise ParameterError("plot_korea_macro: no macro columns to plot")
    theme.set_theme()
    ncols = 2
    nrows = math.ceil(len(cols) / ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(10, 2.6 * nrows + 1.2),
        sharex=True,
        layout="constrained",
        squeeze=False,
    )
    years = macro.index.to_numpy(dtype=int)
    for ax, col in zip(axes.flat, cols, strict=False):
        s = macro[col]
        ax.plot(years, s, color=theme.OKABE_ITO["blue"], linewidth=1.8, marker="o", markersize=2.5)
        if col == "gdp_growth":
            ax.axhline(0, color="#888888", linewidth=0.8)
        ax.set_title(MACRO_LABELS[col], fontsize=10)
        ax.yaxis.set_major_locator(MaxNLocator(5))
        ax.grid(axis="x", visible=False)
        _year_axis(ax, years)
        theme.add_events(ax, events=focus_events(), x="year", labels=False)
        last = s.dropna()
        if not last.empty:
            ax.annotate(
                fmt.decimal(last.iloc[-1], 1),
                (last.index[-1], last.iloc[-1]),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
    _hide_unused(axes, len(cols))
    figures.headline(fig, title or f"South Korea: macro indicators, {years.min()}–{years.max()}")
    figures.source_line(fig, source)
    return fig


def plot_placebo(
    results: Mapping[str, PlaceboResult],
    *,
    partner: str,
    data_through: str,
    title: str | None = None,
) -> Figure:
    """Placebo-in-time check: the gap's shift at each placebo month, and at the real break.

    ``results`` maps a panel label (e.g. ``"U.S. exports to"``) to a
    :class:`~analysis.models.comparison.PlaceboResult`. Grey: shifts at placebo months (plotted at the
    placebo month); black line: the shift at the break. A real effect stands out from the grey.
    """
    if not results:
        raise ParameterError("plot_placebo: no placebo results")
    theme.set_theme()
    fig, axes = plt.subplots(
        len(results),
        1,
        figsize=(10, 2.8 * len(results) + 1.0),
        sharex=True,
        layout="constrained",
        squeeze=False,
    )
    name = figures.display_name(partner)
    for ax, (label, res) in zip(axes[:, 0], results.items(), strict=True):
        pl = res.placebos
        ax.vlines(
            pl.index, 0, pl.to_numpy(), color="#9a9a9a", linewidth=1.2, label="placebo months"
        )
        brk = pd.Timestamp(res.break_date)
        ax.vlines(
            [brk],
            0,
            [res.estimate],
            color="#000000",
            linewidth=3.0,
            label=f"break {res.break_date}",
        )
        ax.axhline(0, color="#888888", linewidth=0.8)
        ax.set_ylabel("shift, log points")
        ax.set_title(
            f"{label} {name}: shift {fmt.decimal(res.estimate, 3, sign=True)} at {res.break_date}; "
            f"placebo {fmt.p_equals(res.pvalue)} ({fmt.count(len(pl))} placebo months, "
            f"{res.window}-month windows)",
            fontsize=10,
        )
        figures.date_axis(ax)
    axes[0, 0].legend(loc="lower left", bbox_to_anchor=(0.0, 1.12), ncols=2, fontsize=9)
    figures.headline(fig, title or f"Placebo-in-time check of the KORUS shift: {name}")
    figures.add_source(
        fig,
        data_through,
        "Shift = mean treated-minus-controls gap (log, seasonal means removed) in the window after a month "
        "minus the window before it.",
    )
    return fig
