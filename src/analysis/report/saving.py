r"""Saving figures: PNG and SVG written atomically and byte-for-byte reproducibly, with alt text.

:func:`save_figure` writes both files, closes the figure and returns a :class:`SavedFigure`,
which a notebook ``display()``\ s as the saved PNG (not a second rendering) and whose text
form is the figure's description (its alt text on the page), never a local path.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from analysis.errors import ParameterError
from analysis.fileio import write_atomic
from analysis.report.theme import PNG_DPI, SVG_HASHSALT


class SavedFigure:
    """The files :func:`save_figure` wrote: ``png`` and ``svg`` paths (iterable as
    ``[png, svg]``). In a notebook, ``display()`` of it shows the saved PNG itself, so the
    figure is not rendered a second time and the report embeds the same image as the file on
    disk (sized in CSS pixels as at ``figure.dpi``; the extra resolution serves HiDPI screens).
    """

    def __init__(self, png: Path, svg: Path, display_scale: float, alt: str = "") -> None:
        self.png, self.svg, self._scale = png, svg, display_scale
        #: What the figure shows, in words (the page's alt text and caption).
        self.alt = alt or f"Figure {png.stem.replace('_', ' ')}"

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter((self.png, self.svg))

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> Path:
        return (self.png, self.svg)[i]

    def __repr__(self) -> str:
        # The notebook's text/plain output, the page's alt text: a description, never a path.
        return self.alt

    def _repr_png_(self) -> tuple[bytes, dict[str, int]]:
        data = self.png.read_bytes()
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        return data, {"width": round(width * self._scale), "height": round(height * self._scale)}


def describe_figure(fig: Figure) -> str:
    """Alt text written from the figure itself: its title, each panel's title and axis
    labels, and the series named in the legends (``"Chart: U.S. goods trade with Japan.
    Panel 1: ... (y: US$ billions); lines: exports, imports"``)."""
    parts: list[str] = []
    title = fig.get_suptitle()
    if not title:
        title = next((t.get_text() for t in fig.texts if t.get_text().strip()), "")
    if title.strip():
        parts.append(" ".join(title.split()).rstrip(".") + ".")
    for i, ax in enumerate(a for a in fig.axes if a.get_visible() and a.has_data()):
        bits = [" ".join(ax.get_title().split())] if ax.get_title().strip() else []
        if ax.get_ylabel().strip():
            bits.append(f"y axis: {' '.join(ax.get_ylabel().split())}")
        legend = ax.get_legend()
        if legend is not None:
            names = [t.get_text() for t in legend.get_texts() if t.get_text().strip()]
            if names:
                bits.append("shows " + ", ".join(names))
        if bits:
            parts.append(f"Panel {i + 1}: " + "; ".join(bits) + ".")
    return " ".join(parts) or "Chart."


def save_figure(fig: Figure, out_dir: Path, name: str) -> SavedFigure:
    """Write ``out_dir/name.png`` and ``out_dir/name.svg`` atomically and deterministically.

    PNG without the ``Software`` tag, SVG without a date and with a fixed hash salt, so two
    runs give byte-identical files. The figure is then closed in pyplot. Returns the
    :class:`SavedFigure` (``[png_path, svg_path]``); ``display()`` it to show the PNG.
    """
    if not name or not re.fullmatch(r"[A-Za-z0-9._-]+", name) or name.startswith("."):
        raise ParameterError(f"save_figure: invalid figure name {name!r} (letters, digits, ._-)")
    out_dir = Path(out_dir)
    png = out_dir / f"{name}.png"
    svg = out_dir / f"{name}.svg"
    with mpl.rc_context({"svg.hashsalt": SVG_HASHSALT}):
        write_atomic(
            png, lambda p: fig.savefig(p, format="png", dpi=PNG_DPI, metadata={"Software": None})
        )
        # The SVG keeps the layout the PNG's drawing found: the constrained layout (the costly
        # part of a save) runs once, and both files show the same arrangement.
        if fig.get_layout_engine() is not None:
            fig.set_layout_engine("none")
        write_atomic(svg, lambda p: fig.savefig(p, format="svg", metadata={"Date": None}))
    alt = describe_figure(fig)
    plt.close(fig)
    return SavedFigure(png, svg, display_scale=float(fig.dpi) / PNG_DPI, alt=alt)


# ---- seasonal adjustment: X-13ARIMA-SEATS against STL -------------------------------------------
