"""The plotting theme: colour-blind-safe palette, seaborn's whitegrid theme, a partner's events on time axes.

Shared by :mod:`analysis.report.figures` (partner reports) and
:mod:`analysis.report.context_plots` (KORUS context pages).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory, offset_copy

from analysis import external
from analysis.errors import ParameterError

# ---- palette and theme -----------------------------------------------------------------------

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}

#: Colours by meaning, used consistently across figures.
COLORS: dict[str, str] = {
    "exports": OKABE_ITO["blue"],
    "imports": OKABE_ITO["orange"],
    "balance": "#333333",
    "deficit": OKABE_ITO["vermillion"],
    "surplus": OKABE_ITO["green"],
    "actual": "#9a9a9a",
    "fitted": OKABE_ITO["blue"],
    "trend": "#222222",
    "counterfactual": OKABE_ITO["vermillion"],
    "event": "#6b6b6b",
    "break": "#111111",
    "muted": "#5f5f5f",
}

#: Fixed salt for the ids matplotlib writes into SVG files (deterministic output).
SVG_HASHSALT = "korus-trade"
#: Resolution of saved PNG files.
PNG_DPI = 150


#: What seaborn's ``set_theme(context="notebook", style="whitegrid", palette=<OKABE_ITO without
#: black>)`` sets, written out: importing seaborn (it imports ``scipy.stats``) cost a kernel
#: that draws but fits no model more than half a second, for this call alone. The figures are
#: byte for byte those of the call; ``tests/test_figures.py`` checks these values against
#: seaborn's own. Left out: its ``image.cmap`` ("rocket", a colormap seaborn registers), as no
#: figure here uses a colormap.
_SEABORN_WHITEGRID_RC: dict[str, object] = {
    # seaborn.axes_style("whitegrid")
    "axes.axisbelow": True,
    "axes.edgecolor": ".8",
    "axes.facecolor": "white",
    "axes.grid": True,
    "axes.labelcolor": ".15",
    "axes.linewidth": 1.25,
    "axes.spines.bottom": True,
    "axes.spines.left": True,
    "axes.spines.right": True,
    "axes.spines.top": True,
    "figure.facecolor": "white",
    "font.family": ["sans-serif"],
    "font.sans-serif": [
        "Arial",
        "DejaVu Sans",
        "Liberation Sans",
        "Bitstream Vera Sans",
        "sans-serif",
    ],
    "grid.color": ".8",
    "grid.linestyle": "-",
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    "text.color": ".15",
    "xtick.bottom": False,
    "xtick.color": ".15",
    "xtick.direction": "out",
    "xtick.top": False,
    "ytick.color": ".15",
    "ytick.direction": "out",
    "ytick.left": False,
    "ytick.right": False,
    # seaborn.plotting_context("notebook")
    "axes.labelsize": 12,
    "axes.titlesize": 12,
    "font.size": 12,
    "grid.linewidth": 1,
    "legend.fontsize": 11,
    "legend.title_fontsize": 12,
    "lines.linewidth": 1.5,
    "lines.markersize": 6,
    "patch.linewidth": 1,
    "xtick.labelsize": 11,
    "xtick.major.size": 6,
    "xtick.major.width": 1.25,
    "xtick.minor.size": 4,
    "xtick.minor.width": 1,
    "ytick.labelsize": 11,
    "ytick.major.size": 6,
    "ytick.major.width": 1.25,
    "ytick.minor.size": 4,
    "ytick.minor.width": 1,
    # seaborn.set_palette(<OKABE_ITO without black>)
    "axes.prop_cycle": cycler(color=[mpl.colors.to_rgb(c) for c in list(OKABE_ITO.values())[1:]]),
}

_THEME_RC: dict[str, object] = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlelocation": "left",
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.labelcolor": "#333333",
    "axes.edgecolor": "#bbbbbb",
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.8,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "legend.fontsize": 9,
    "legend.frameon": False,
    "figure.dpi": 100,
    "savefig.dpi": PNG_DPI,
    "svg.hashsalt": SVG_HASHSALT,
    "font.family": "sans-serif",
    "axes.unicode_minus": True,
    "lines.solid_capstyle": "butt",
}


def set_theme() -> None:
    """Apply the project's one plotting theme (seaborn's whitegrid, Okabe-Ito palette).

    In a Jupyter kernel it also makes a returned Figure display as PNG (``fig`` as the last
    expression of a cell, or ``display(fig)``) whatever the matplotlib backend, so reports
    run with ``MPLBACKEND=Agg`` still embed their figures.
    """
    mpl.rcParams.update(_SEABORN_WHITEGRID_RC)
    mpl.rcParams.update(_THEME_RC)
    _enable_notebook_display()


def _enable_notebook_display() -> None:
    """Register a PNG display formatter for Figure in a running IPython shell (idempotent)."""
    ipython_mod = sys.modules.get("IPython")
    if ipython_mod is None:
        return
    shell = ipython_mod.get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters.get("image/png")
    if formatter is None:
        return
    try:
        formatter.lookup_by_type(Figure)
        return  # already registered (inline backend or an earlier call)
    except KeyError:
        pass
    from IPython.core.pylabtools import print_figure

    formatter.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


# ---- events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """A dated event marked on time axes; ``kind`` is ``"event"`` or ``"break"`` (styling)."""

    date: pd.Timestamp
    label: str
    kind: str = "event"


def agreement_events(partner_code: int) -> list[Event]:
    """The partner's own agreement dates (entry into force, revisions) from ``us_ftas.csv``;
    none for a partner without an agreement."""
    return [Event(pd.Timestamp(d.date), d.label) for d in external.partner_dates(partner_code)]


def partner_events(partner_code: int) -> list[Event]:
    """The events a partner's charts mark, in date order: its own agreement dates and the
    events of ``data/external/events.csv`` in its scope (its code or all partners)."""
    shared = [
        Event(pd.Timestamp(e.date), e.label)
        for e in external.events_in_scope(partner_code, external.load_events())
    ]
    return sorted(agreement_events(partner_code) + shared, key=lambda e: e.date)


def _decimal_year(ts: pd.Timestamp) -> float:
    """Position of a date on an axis of annual bars centred on integer years."""
    days = 366 if ts.is_leap_year else 365
    return ts.year - 0.5 + (ts.day_of_year - 1) / days


def _to_x(ts: pd.Timestamp, x: str) -> float:
    if x == "year":
        return _decimal_year(ts)
    return float(mpl.dates.date2num(ts.to_pydatetime()))


def add_events(
    ax: Axes,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    *,
    events: Sequence[Event],
    labels: bool = True,
    x: str = "date",
    fontsize: float = 7.5,
) -> None:
    """Mark ``events`` (a partner's: :func:`partner_events`) on ``ax`` as thin vertical lines.

    Only events between ``start`` and ``end`` (default: the current x-range) are drawn.
    ``x="date"`` for matplotlib date axes, ``x="year"`` for bars centred on integer years.
    Labels sit at the top of the axes, left-aligned beside their line (right-aligned when
    they would leave the axes), greedily stacked in rows so that no two labels overlap;
    the y-range is raised to leave room for the rows above the data.
    """
    if x not in ("date", "year"):
        raise ParameterError(f"add_events: x must be 'date' or 'year', not {x!r}")
    chosen = sorted(events, key=lambda e: e.date)
    lo, hi = ax.get_xlim()
    if start is not None:
        lo = max(lo, _to_x(pd.Timestamp(start), x))
    if end is not None:
        hi = min(hi, _to_x(pd.Timestamp(end), x))
    chosen = [e for e in chosen if lo <= _to_x(e.date, x) <= hi]
    if not chosen:
        return
    for ev in chosen:
        is_break = ev.kind == "break"
        ax.axvline(
            _to_x(ev.date, x),
            color=COLORS["break" if is_break else "event"],
            linewidth=1.1 if is_break else 0.8,
            linestyle="-" if is_break else (0, (4, 2)),
            alpha=0.9 if is_break else 0.75,
            zorder=1.5,
            gid=f"event:{ev.label}",
        )
    if labels:
        _place_event_labels(ax, chosen, x, fontsize)


def _place_event_labels(ax: Axes, chosen: Sequence[Event], x: str, fontsize: float) -> None:
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)  # the final axes position, so pixel widths are right
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    axbox = ax.get_window_extent(renderer)
    pad_px = 4.0
    rows: list[list[tuple[float, float]]] = []  # occupied pixel intervals per row
    placed: list[tuple[object, int]] = []
    for ev in chosen:
        xv = _to_x(ev.date, x)
        x_px = trans.transform((xv, 0))[0]
        text = ax.text(
            xv,
            0.0,
            ev.label,
            transform=offset_copy(trans, fig=fig, x=3, units="points"),
            ha="left",
            va="top",
            fontsize=fontsize,
            color=COLORS["break"] if ev.kind == "break" else COLORS["muted"],
            fontweight="bold" if ev.kind == "break" else "normal",
            bbox={
                "boxstyle": "square,pad=0.15",
                "facecolor": "white",
                "edgecolor": "none",
                "alpha": 0.85,
            },
            zorder=5,
            clip_on=False,
            gid=f"event-label:{ev.label}",
        )
        width = text.get_window_extent(renderer).width
        left, right = x_px + 3, x_px + 3 + width
        if right > axbox.x1 - 2:  # would leave the axes: put it on the line's left
            text.set_transform(offset_copy(trans, fig=fig, x=-3, units="points"))
            text.set_ha("right")
            left, right = x_px - 3 - width, x_px - 3
        for r, row in enumerate(rows):
            if all(right + pad_px < a or left - pad_px > b for a, b in row):
                row.append((left, right))
                placed.append((text, r))
                break
        else:
            rows.append([(left, right)])
            placed.append((text, len(rows) - 1))
    height_px = max(t.get_window_extent(renderer).height for t, _ in placed)  # type: ignore[attr-defined]
    row_frac = 1.35 * height_px / max(axbox.height, 1.0)
    top_pad = 0.015
    for text, r in placed:
        text.set_y(1.0 - top_pad - r * row_frac)  # type: ignore[attr-defined]
    # Raise the top of the y-range only as far as needed to keep data under the labels.
    ymin, ymax = ax.get_ylim()
    inv = ax.transData.inverted()
    need = ymax
    for text, r in placed:
        box = text.get_window_extent(renderer)  # type: ignore[attr-defined]
        x0 = inv.transform((box.x0, 0))[0]
        x1 = inv.transform((box.x1, 0))[0]
        top = _data_max(ax, x0, x1)
        bottom_frac = 1.0 - top_pad - (r + 1) * row_frac - 0.01
        if top is None or top <= ymin or bottom_frac <= 0.3:
            continue
        need = max(need, ymin + (top - ymin) / bottom_frac)
    if need > ymax:
        ax.set_ylim(ymin, need)


def _data_max(ax: Axes, x0: float, x1: float) -> float | None:
    """Largest y of the lines and bars of ``ax`` with x in ``[x0, x1]``."""
    best: float | None = None

    def take(xs: np.ndarray, ys: np.ndarray) -> None:
        nonlocal best
        mask = (xs >= x0) & (xs <= x1) & np.isfinite(ys)
        if mask.any():
            m = float(np.max(ys[mask]))
            best = m if best is None else max(best, m)

    for line in ax.lines:
        if str(line.get_gid() or "").startswith("event"):
            continue
        xy = np.asarray(line.get_xydata(), dtype=float)
        if xy.ndim != 2 or len(xy) == 0:
            continue
        if line.get_transform() != ax.transData:  # axhline: data y across the whole axes
            take(np.full(len(xy), x0), xy[:, 1])
        else:
            take(xy[:, 0], xy[:, 1])
    for patch in ax.patches:
        bbox = patch.get_bbox() if hasattr(patch, "get_bbox") else None
        if bbox is not None and bbox.x1 >= x0 and bbox.x0 <= x1:
            take(np.array([x0]), np.array([max(bbox.y0, bbox.y1)]))
    # Filled areas (intervals, shading) are translucent and bounded by lines or may be clipped
    # on purpose: labels may sit over them.
    return best
