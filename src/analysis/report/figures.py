"""Figures of the report: one seaborn theme, colour-blind-safe colours, the partner's events.

Every ``plot_*`` function returns a matplotlib :class:`~matplotlib.figure.Figure` (shown inline
in a notebook when it is the last expression of a cell, or with ``display(fig)``); saving is
separate (:func:`save_figure`, which also closes the figure in pyplot so that the inline
backend does not show it twice). The notebooks ``display(save_figure(...))``: that shows the
saved PNG file, so each figure is rendered once per format, not again for the page.

Conventions shared by all figures:

* Monthly inputs are US$ millions, not seasonally adjusted (NSA) unless a column is named
  ``*_sa``; axes show US$ billions where that reads better, and the axis label says so.
* The title is the figure's headline: pass ``title=`` to state the finding (computed by the
  caller); the default title describes what is shown.
* A source line at the bottom names the Census table and the last month of data.
* The partner's events (``events=``: :func:`~analysis.report.theme.partner_events`, its own
  agreement dates and the events in its scope) are thin vertical lines with small labels,
  stacked in rows so that they never overlap; without ``events`` none is marked.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from analysis.errors import ParameterError
from analysis.report import fmt
from analysis.report.fmt import display_name  # noqa: F401 - re-exported for the figures' callers
from analysis.report.saving import SavedFigure, describe_figure, save_figure  # noqa: F401 - re-exported
from analysis.report.theme import (  # noqa: F401 - PNG_DPI, SVG_HASHSALT, partner_events re-exported
    COLORS,
    PNG_DPI,
    SVG_HASHSALT,
    Event,
    add_events,
    partner_events,
    set_theme,
)
from analysis.vocab import HORIZON_MONTHS

#: The source line's opening (Census table); the caller adds the last month of data.
SOURCE_TEXT = "Source: U.S. Census Bureau, U.S. goods trade by country"


# ---- axis helpers (every label through analysis.report.fmt) ----------------------------------


def billions(ax: Axes, axis: str = "y") -> None:
    """Label an axis whose data are US$ millions in US$ billions (``12,500`` -> ``12.5``)."""
    formatter = fmt.tick_formatter(scale=1 / 1000.0)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def year_axis(ax: Axes, axis: str = "x") -> None:
    """Label an axis of years as years (``2012``, never ``2,012``)."""
    formatter = FuncFormatter(lambda v, _pos: fmt.year(v))
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(formatter)


def money_axis(ax: Axes, values: Iterable[float], axis: str = "y") -> str:
    """Format an axis of US$ millions: billions when values reach US$ 1 billion, else millions.

    Returns the unit to write in the axis label (``"US$ billions"`` or ``"US$ millions"``).
    """
    arr = np.asarray(list(values), dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size and np.max(np.abs(arr)) >= 1000.0:
        billions(ax, axis)
        return "US$ billions"
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt.tick_formatter())
    return "US$ millions"


def add_source(fig: Figure, data_through: str, extra: str = "") -> None:
    """Add the source line at the bottom left of ``fig`` (inside the constrained layout)."""
    text = f"{SOURCE_TEXT}; data through {data_through}."
    if extra:
        text += " " + extra.strip()
    source_line(fig, text)


def source_line(fig: Figure, text: str) -> None:
    """Write ``text`` as the source line at the bottom left of ``fig`` (wrapped, muted)."""
    label = fig.supxlabel(
        wrap_text(text, fig, 8.0), x=0.01, ha="left", fontsize=8, color=COLORS["muted"]
    )
    label.set_gid("source")


def wrap_text(text: str, fig: Figure, fontsize: float) -> str:
    """Wrap ``text`` to the figure width (average glyph width ~0.55 em)."""
    width_chars = int(fig.get_figwidth() * 72 / (fontsize * 0.56))
    return "\n".join(textwrap.wrap(text, width=max(width_chars, 20))) or text


def headline(fig: Figure, title: str) -> None:
    """The figure's headline, left-aligned above the legend (wrapped to the figure width)."""
    fig.suptitle(
        wrap_text(title, fig, 13),
        x=0.01,
        ha="left",
        fontsize=13,
        fontweight="bold",
        color="#111111",
    )


def _new_figure(
    nrows: int, height: float, height_ratios: Sequence[float] | None = None, sharex: bool = True
) -> tuple[Figure, np.ndarray]:
    set_theme()
    fig, axes = plt.subplots(
        nrows,
        1,
        figsize=(10, height),
        sharex=sharex,
        layout="constrained",
        gridspec_kw={"height_ratios": list(height_ratios)} if height_ratios else None,
        squeeze=False,
    )
    return fig, axes[:, 0]


class _RecallingDateLocator(mpl.dates.AutoDateLocator):
    """``AutoDateLocator`` that recalls the ticks of the last view interval it was asked for.

    Laying out and drawing a figure asks an axis for its ticks hundreds of times with the
    same limits (every tight-box and draw pass of the constrained layout), and each answer
    runs dateutil's rrule in Python: about a tenth of a partner report's time. The ticks are a
    function of the view interval alone, so they are the same ones.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recalled: tuple[tuple[float, float], np.ndarray] | None = None

    def __call__(self) -> np.ndarray:
        if self.axis is None:
            return super().__call__()
        key = tuple(float(v) for v in self.axis.get_view_interval())
        if self._recalled is None or self._recalled[0] != key:
            self._recalled = (key, np.asarray(super().__call__()))  # type: ignore[assignment]
        return self._recalled[1].copy()  # type: ignore[union-attr]


class _RecallingDateFormatter(mpl.dates.ConciseDateFormatter):
    """``ConciseDateFormatter`` that recalls the labels of the last ticks it formatted (its
    offset text, set by that call, is still the one of those ticks)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recalled: tuple[tuple[float, ...], list[str]] | None = None

    def format_ticks(self, values: Any) -> list[str]:
        key = tuple(float(v) for v in values)
        if self._recalled is None or self._recalled[0] != key:
            self._recalled = (key, list(super().format_ticks(values)))
        return list(self._recalled[1])


def date_axis(ax: Axes) -> None:
    """Monthly date axis: automatic ticks, concise labels."""
    locator = _RecallingDateLocator(minticks=5, maxticks=14)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(_RecallingDateFormatter(locator))


def _check_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ParameterError(f"{what}: missing column(s) {', '.join(missing)}")


def _check_dates(df: pd.DataFrame, what: str) -> None:
    if not isinstance(df.index, pd.DatetimeIndex):
        raise ParameterError(f"{what}: index must be a DatetimeIndex")
    if len(df) == 0:
        raise ParameterError(f"{what}: no rows to plot")


def _legend(ax: Axes, handles: list, labels: list[str], ncols: int | None = None) -> None:
    """Legend in a band above the top axes (part of the layout, clear of the event labels).

    Columns are dropped until the legend is no wider than the figure.
    """
    ncols = ncols or len(labels)
    fig = ax.figure
    while True:
        legend = ax.legend(
            handles,
            labels,
            loc="lower left",
            bbox_to_anchor=(0.0, 1.01),
            borderaxespad=0.0,
            ncols=ncols,
            fontsize=9,
            handlelength=2.2,
            columnspacing=1.4,
        )
        if ncols <= 1:
            return
        renderer = fig.canvas.get_renderer()
        width = legend.get_window_extent(renderer).width
        if width <= 0.92 * fig.bbox.width:
            return
        ncols -= 1


# ---- figures ---------------------------------------------------------------------------------


def plot_monthly_trade(
    monthly: pd.DataFrame,
    sa: pd.DataFrame,
    *,
    partner: str,
    events: Sequence[Event] = (),
    data_through: str,
    title: str | None = None,
    sa_label: str = "seasonally adjusted",
    sa_methods: dict[str, str] | None = None,
) -> Figure:
    """Monthly exports and imports (NSA thin, seasonally adjusted bold) and the balance.

    ``monthly``: DatetimeIndex, columns ``exports``, ``imports`` (US$ millions, NSA);
    ``sa``: same index, columns ``exports_sa``, ``imports_sa``. Top panel: both flows;
    bottom panel: the balance (exports − imports), deficits shaded. ``sa_methods`` (the
    models' ``sa_methods``) names a flow left unadjusted (a series too short or with zero
    months), whose legend then says so instead of "seasonally adjusted".
    """
    _check_dates(monthly, "plot_monthly_trade: monthly")
    _check_columns(monthly, ("exports", "imports"), "plot_monthly_trade: monthly")
    _check_columns(sa, ("exports_sa", "imports_sa"), "plot_monthly_trade: sa")
    sa = sa.reindex(monthly.index)
    name = display_name(partner)
    fig, (ax, axb) = _new_figure(2, 7.2, height_ratios=(2.1, 1))

    handles, labels = [], []
    for col in ("exports", "imports"):
        color = COLORS[col]
        (raw,) = ax.plot(monthly.index, monthly[col], color=color, linewidth=0.8, alpha=0.45)
        (adj,) = ax.plot(sa.index, sa[f"{col}_sa"], color=color, linewidth=2.0)
        handles += [adj, raw]
        adjusted = not str((sa_methods or {}).get(col, "")).startswith("not adjusted")
        labels += [
            f"U.S. {col} ({sa_label if adjusted else 'not adjusted: too few or zero months'})",
            f"U.S. {col} (NSA)",
        ]
    unit = money_axis(
        ax,
        np.concatenate(
            [
                monthly[["exports", "imports"]].to_numpy().ravel(),
                sa[["exports_sa", "imports_sa"]].to_numpy().ravel(),
            ]
        ),
    )
    ax.set_ylabel(f"{unit} per month")
    ax.set_ylim(bottom=0)

    bal = monthly["exports"] - monthly["imports"]
    bal_sa = sa["exports_sa"] - sa["imports_sa"]
    axb.axhline(0, color="#888888", linewidth=0.8)
    axb.plot(bal.index, bal, color=COLORS["balance"], linewidth=0.7, alpha=0.35)
    (bal_line,) = axb.plot(bal_sa.index, bal_sa, color=COLORS["balance"], linewidth=1.8)
    axb.fill_between(
        bal_sa.index,
        bal_sa,
        0,
        where=bal_sa < 0,
        interpolate=True,
        color=COLORS["deficit"],
        alpha=0.25,
        linewidth=0,
    )
    axb.fill_between(
        bal_sa.index,
        bal_sa,
        0,
        where=bal_sa > 0,
        interpolate=True,
        color=COLORS["surplus"],
        alpha=0.25,
        linewidth=0,
    )
    axb.set_ylabel(f"Balance,\n{money_axis(axb, np.concatenate([bal, bal_sa]))}")
    handles.append(bal_line)
    labels.append(f"Balance ({sa_label}; deficit shaded)")
    date_axis(axb)
    axb.set_xlim(
        monthly.index.min() - pd.Timedelta(days=20), monthly.index.max() + pd.Timedelta(days=20)
    )

    first, last = monthly.index.min(), monthly.index.max()
    headline(fig, title or f"U.S. goods trade with {name}, monthly, {first:%b %Y}–{last:%b %Y}")
    _legend(ax, handles, labels, ncols=3)
    add_source(fig, data_through, "NSA = not seasonally adjusted.")
    add_events(ax, events=events)
    add_events(axb, events=events, labels=False)
    return fig


def plot_annual_balance(
    annual: pd.DataFrame,
    *,
    partner: str,
    events: Sequence[Event] = (),
    data_through: str,
    title: str | None = None,
) -> Figure:
    """Annual U.S. goods balance with the partner: one bar a year, deficits in vermillion.

    ``annual``: columns ``year``, ``exports``, ``imports``, ``balance`` (US$ millions),
    ``months`` and ``complete``. An incomplete year is hatched and labelled with its
    month count (its total covers only those months).
    """
    _check_columns(annual, ("year", "balance"), "plot_annual_balance: annual")
    if len(annual) == 0:
        raise ParameterError("plot_annual_balance: annual: no rows to plot")
    df = annual.sort_values("year").reset_index(drop=True)
    months = df["months"].astype(int) if "months" in df else pd.Series(12, index=df.index)
    complete = df["complete"].astype(bool) if "complete" in df else months >= 12
    name = display_name(partner)
    fig, (ax,) = _new_figure(1, 5.6)

    years = df["year"].astype(int).to_numpy()
    millions = df["balance"].astype(float).to_numpy()
    scale = 1000.0 if np.nanmax(np.abs(millions)) >= 1000.0 else 1.0
    unit = "US$ billions" if scale == 1000.0 else "US$ millions"
    values = millions / scale
    colors = [COLORS["deficit"] if v < 0 else COLORS["surplus"] for v in values]
    bars = ax.bar(years, values, width=0.8, color=colors, edgecolor="none", zorder=2)
    handles = [Patch(color=COLORS["deficit"]), Patch(color=COLORS["surplus"])]
    labels = ["Deficit (U.S. imports > exports)", "Surplus"]
    for bar, is_complete, n, v in zip(bars, complete, months, values, strict=True):
        bar.set_gid("partial" if not is_complete else "complete")
        if not is_complete:
            base = bar.get_facecolor()
            bar.set_facecolor((*base[:3], 0.35))
            bar.set_edgecolor(base)
            bar.set_hatch("////")
            bar.set_linewidth(0.8)
            ax.annotate(
                f"{n} mo.",
                (bar.get_x() + bar.get_width() / 2, v),
                xytext=(0, -3 if v < 0 else 3),
                textcoords="offset points",
                ha="center",
                va="top" if v < 0 else "bottom",
                fontsize=8,
                color=COLORS["muted"],
            )
            handles.append(Patch(facecolor="white", edgecolor=COLORS["muted"], hatch="////"))
            labels.append(f"{int(bar.get_x() + 0.5)}: partial year, {n} months")
    # Value of the latest complete year, written at the end of its bar.
    full = np.flatnonzero(complete.to_numpy())
    if len(full):
        i = int(full[-1])
        v = values[i]
        ax.annotate(
            fmt.number(v),
            (years[i], v),
            xytext=(0, -3 if v < 0 else 3),
            textcoords="offset points",
            ha="center",
            va="top" if v < 0 else "bottom",
            fontsize=8,
            fontweight="bold",
            color="#222222",
        )
    ax.axhline(0, color="#888888", linewidth=0.8, zorder=2.5)
    ax.set_xlim(years.min() - 0.7, years.max() + 0.7)
    span = years.max() - years.min()
    step = 5 if span > 20 else (2 if span > 8 else 1)
    ax.set_xticks([y for y in years if y % step == 0])
    year_axis(ax)
    ax.yaxis.set_major_formatter(fmt.tick_formatter())
    ax.set_ylabel(f"{unit} per year (NSA)")
    ax.grid(axis="x", visible=False)
    lo, hi = ax.get_ylim()
    margin = 0.06 * (hi - lo)
    ax.set_ylim(lo - (margin if lo < 0 else 0), hi + (margin if hi > 0 else 0))

    headline(
        fig,
        title or f"U.S. goods trade balance with {name}, {years.min()}–{years.max()}",
    )
    _legend(ax, handles, labels)
    add_source(fig, data_through, "Balance = U.S. exports − U.S. imports.")
    add_events(ax, events=events, x="year")
    return fig


def _month_label(value: str | pd.Timestamp) -> str:
    return f"{pd.Timestamp(value):%b %Y}"


def _its_events(breaks: Sequence[str], events: Sequence[Event]) -> list[Event]:
    """Break markers; one of the partner's ``events`` within two months of a break names that
    break."""
    out: list[Event] = []
    used: set[Event] = set()
    for b in breaks:
        ts = pd.Timestamp(b)
        near = [e for e in events if abs((e.date - ts).days) <= 62]
        label = f"Break {_month_label(ts)}"
        if near:
            label = f"{near[0].label} (break)"
            used.update(near)
        out.append(Event(ts, label, "break"))
    out += [e for e in events if e not in used]
    return out


def plot_its(
    fit: pd.DataFrame,
    *,
    forecast: pd.DataFrame | None,
    series_label: str,
    partner: str,
    events: Sequence[Event] = (),
    data_through: str,
    breaks: list[str],
    unit: str,
    title: str | None = None,
    adjustment: str = "NSA",
    interval_label: str = "95% interval",
    band_months: int | None = HORIZON_MONTHS,
) -> Figure:
    """Interrupted time series: actual, model fit, pre-break trend and counterfactual.

    ``fit``: DatetimeIndex, columns ``actual``, ``fitted``, ``pre_trend`` (in ``unit``);
    ``forecast`` (optional): DatetimeIndex, columns ``mean``, ``lower``, ``upper``: what the
    pre-break model predicts after the break. ``breaks`` are months (``"2010-01"``).
    The interval band covers the first ``band_months`` of the forecast (the horizon the
    page reads, :data:`analysis.vocab.HORIZON_MONTHS`; None: all of it); beyond it only the
    forecast mean is drawn, labelled as extrapolation.
    """
    _check_dates(fit, "plot_its: fit")
    _check_columns(fit, ("actual", "fitted", "pre_trend"), "plot_its: fit")
    if forecast is not None:
        _check_dates(forecast, "plot_its: forecast")
        _check_columns(forecast, ("mean", "lower", "upper"), "plot_its: forecast")
    name = display_name(partner)
    fig, (ax,) = _new_figure(1, 5.6)

    handles, labels = [], []
    (h,) = ax.plot(fit.index, fit["actual"], color=COLORS["actual"], linewidth=0.9)
    handles.append(h)
    labels.append(f"Actual ({adjustment})")
    (h,) = ax.plot(fit.index, fit["fitted"], color=COLORS["fitted"], linewidth=1.8)
    handles.append(h)
    labels.append("Model fit (segmented trend)")
    first_break = _month_label(breaks[0]) if breaks else "break"
    (h,) = ax.plot(
        fit.index, fit["pre_trend"], color=COLORS["trend"], linewidth=1.3, linestyle=(0, (6, 3))
    )
    handles.append(h)
    labels.append(f"Trend before {first_break}, extrapolated")
    # The y-range follows the lines; a forecast interval that fans out far beyond them
    # (long horizons) is clipped at the axis rather than flattening everything else.
    lines = [fit["actual"], fit["fitted"], fit["pre_trend"]]
    if forecast is not None and len(forecast):
        lines.append(forecast["mean"])
    values = pd.concat(lines).to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    pad = 0.12 * (hi - lo or abs(hi) or 1.0)
    y_lo, y_hi = lo - pad, hi + pad
    if forecast is not None and len(forecast):
        banded = forecast if band_months is None else forecast.iloc[: int(band_months)]
        cut = len(banded) < len(forecast)
        band = ax.fill_between(
            banded.index,
            banded["lower"],
            banded["upper"],
            color=COLORS["counterfactual"],
            alpha=0.18,
            linewidth=0,
        )
        (h,) = ax.plot(
            forecast.index,
            forecast["mean"],
            color=COLORS["counterfactual"],
            linewidth=1.6,
            linestyle=(0, (2, 1.5)),
        )
        clipped = bool((banded["upper"] > y_hi).any() or (banded["lower"] < y_lo).any())
        handles += [h, band]
        labels += [
            "Counterfactual: no break (forecast mean"
            + (f"; after {fmt.count(len(banded))} months extrapolation)" if cut else ")"),
            f"Counterfactual {interval_label}"
            + (f", first {fmt.count(len(banded))} months" if cut else "")
            + (" (clipped at the axis)" if clipped else ""),
        ]
    ax.set_ylim(y_lo, y_hi)

    in_millions = unit.strip().lower() == "us$ millions"
    if in_millions:
        shown = money_axis(ax, np.concatenate([fit["actual"], fit["fitted"]]))
        ax.set_ylabel(f"{shown} per month ({adjustment})" if adjustment else f"{shown} per month")
    else:
        ax.set_ylabel(f"{unit} ({adjustment})" if adjustment else unit)
    if (fit["actual"].dropna() < 0).any() or (fit["fitted"].dropna() < 0).any():
        ax.axhline(0, color="#888888", linewidth=0.8)
    date_axis(ax)
    ax.set_xlim(fit.index.min() - pd.Timedelta(days=20), fit.index.max() + pd.Timedelta(days=20))

    if len(breaks) == 1:
        default = f"{series_label}, {name}: trend before and after {_month_label(breaks[0])}"
    elif breaks:
        months = [_month_label(b) for b in breaks]
        default = (
            f"{series_label}, {name}: segmented trend with breaks in "
            f"{', '.join(months[:-1])} and {months[-1]}"
        )
    else:
        default = f"{series_label}, {name}: trend and model fit"
    headline(fig, title or default)
    _legend(ax, handles, labels, ncols=3)
    add_source(fig, data_through, "Segmented regression with month effects.")
    add_events(ax, events=_its_events(breaks, events))
    return fig


def plot_stl(
    stl: pd.DataFrame,
    *,
    series_label: str,
    partner: str,
    events: Sequence[Event] = (),
    data_through: str,
    title: str | None = None,
    unit: str = "US$ millions",
    log: bool = False,
) -> Figure:
    """STL decomposition: observed, trend, seasonal and remainder in four panels sharing x.

    ``stl``: DatetimeIndex, columns ``observed``, ``trend``, ``seasonal``, ``resid`` in ``unit``
    (US$ millions are shown as billions when large). For a decomposition of the logarithm
    (``models.stl_decompose(..., log=True)``) pass ``log=True``: the panels are then in log
    points (a seasonal value of 0.1 is about +10 %).
    """
    _check_dates(stl, "plot_stl: stl")
    columns = ("observed", "trend", "seasonal", "resid")
    _check_columns(stl, columns, "plot_stl: stl")
    name = display_name(partner)
    fig, axes = _new_figure(4, 8.4, height_ratios=(2, 2, 1.3, 1.3))
    in_millions = unit.strip().lower() == "us$ millions" and not log
    shown_unit = f"log points (log of {unit})" if log else unit
    if in_millions:
        shown_unit = "US$ billions" if stl["observed"].abs().max() >= 1000.0 else "US$ millions"
    titles = {
        "observed": "Observed (NSA)",
        "trend": "Trend",
        "seasonal": "Seasonal",
        "resid": "Remainder",
    }
    for ax, col in zip(axes, columns, strict=True):
        style = {
            "observed": (COLORS["actual"], 1.0),
            "trend": (COLORS["fitted"], 1.8),
            "seasonal": (COLORS["imports"], 0.9),
            "resid": (COLORS["balance"], 0.8),
        }[col]
        ax.plot(stl.index, stl[col], color=style[0], linewidth=style[1])
        if col in ("seasonal", "resid"):
            ax.axhline(0, color="#888888", linewidth=0.7)
        if in_millions and shown_unit == "US$ billions":
            billions(ax)
        ax.set_ylabel(titles[col], fontsize=9)
    axes[0].plot(stl.index, stl["trend"], color=COLORS["fitted"], linewidth=1.2, alpha=0.6)
    date_axis(axes[-1])
    axes[-1].set_xlim(
        stl.index.min() - pd.Timedelta(days=20), stl.index.max() + pd.Timedelta(days=20)
    )
    fig.align_ylabels(axes)

    if log:
        default = f"{series_label}, {name}: seasonal-trend decomposition (STL) of the logarithm"
        note = (
            f"Panels in log points (log of {unit} per month; 0.1 is about +10%); "
            "observed = trend + seasonal + remainder."
        )
    else:
        default = f"{series_label}, {name}: seasonal-trend decomposition (STL), {shown_unit}"
        note = f"Panels in {shown_unit} per month; observed = trend + seasonal + remainder."
    headline(fig, title or default)
    add_source(fig, data_through, note)
    add_events(axes[0], events=events)
    for ax in axes[1:]:
        add_events(ax, events=events, labels=False)
    return fig


# ---- saving ----------------------------------------------------------------------------------


def plot_sa_comparison(
    compare: pd.DataFrame,
    *,
    partner: str,
    events: Sequence[Event] = (),
    data_through: str,
    title: str | None = None,
) -> Figure:
    """Seasonally adjusted exports and imports by STL (the models' method) and X-13ARIMA-SEATS
    (Census's program): one panel per flow with both series (US$ billions), and below each the
    X-13 series in % of the STL one.

    ``compare``: :func:`analysis.models.seasonal.compare_adjustments` (columns
    ``<flow>_stl``, ``<flow>_x13``; X-13 NaN where it could not run, which the panel says).
    """
    _check_dates(compare, "plot_sa_comparison: compare")
    flows = [c for c in ("exports", "imports") if f"{c}_stl" in compare.columns]
    _check_columns(
        compare, [f"{c}_{m}" for c in flows for m in ("stl", "x13")], "plot_sa_comparison: compare"
    )
    fig, axes = _new_figure(
        2 * len(flows), 3.3 * len(flows) + 0.8, height_ratios=[2.2, 1.0] * len(flows)
    )
    info = compare.attrs.get("x13", {})
    for i, flow in enumerate(flows):
        ax, dax = axes[2 * i], axes[2 * i + 1]
        stl, x13 = compare[f"{flow}_stl"], compare[f"{flow}_x13"]
        ax.plot(stl.index, stl, color=COLORS[flow], linewidth=1.4, label="STL (used by the models)")
        ax.plot(
            x13.index,
            x13,
            color=COLORS["trend"],
            linewidth=0.9,
            linestyle="--",
            label="X-13ARIMA-SEATS (Census method)",
        )
        billions(ax)
        ax.set_ylabel(f"{flow.capitalize()}, US$ bn", fontsize=9)
        diff = 100.0 * (x13 / stl - 1.0)
        dax.axhline(0, color="#888888", linewidth=0.7)
        dax.plot(diff.index, diff, color=COLORS["muted"], linewidth=0.8)
        dax.set_ylabel("X-13 vs STL, %", fontsize=9)
        if x13.isna().all():
            reason = (info.get(flow) or {}).get("reason") or "X-13 not run"
            ax.text(
                0.01,
                0.92,
                f"X-13 not available: {reason}",
                transform=ax.transAxes,
                fontsize=8,
                color=COLORS["muted"],
                va="top",
            )
        handles, labels = ax.get_legend_handles_labels()
        if i == 0:
            _legend(ax, handles, labels)
        add_events(ax, events=events, labels=i == 0)
        add_events(dax, events=events, labels=False)
    date_axis(axes[-1])
    fig.align_ylabels(axes)
    name = display_name(partner)
    headline(fig, title or f"{name}: seasonally adjusted trade, STL against X-13ARIMA-SEATS")
    add_source(
        fig,
        data_through,
        "Both adjustments in logs (multiplicative); X-13 with trading-day "
        "regressors and automatic outliers, X-11 filters.",
    )
    return fig
