"""Number formatters shared by every page, table, sentence and figure label.

One rule per quantity, so the same number reads the same wherever it appears: a true minus
sign (U+2212), thousands separators, no "−0.0", and ``n/a`` for a missing value. Years and
codes have no separator (:func:`year`, :func:`code`), counts and ranks are whole numbers
(:func:`count`), p-values are ``<0.001`` or two significant digits (:func:`p_value`), never
scientific notation; figure ticks use :func:`tick` (:func:`tick_formatter` for an axis).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from analysis.vocab import SERIES_LABELS, display_name, quoted  # noqa: F401 - re-exported for pages

MINUS = "\u2212"

#: Shown for a missing or non-finite value in a sentence.
NA = "n/a"
#: Shown for a missing value in a table, with :data:`MISSING_NOTE` under the table.
MISSING = "–"
MISSING_NOTE = (
    "– : not defined (a part year, a model skipped, no earlier vintage or year to compare with)."
)


def num(value: Any) -> float | None:
    """``value`` as a finite float, or None (missing, text, NaN, inf, bool)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def number(x: float, decimals: int = 1, sign: bool = False) -> str:
    """``-1234.5`` -> ``"−1,234.5"``; ``sign`` adds ``+`` to positives; never ``"−0.0"``."""
    if round(x, decimals) == 0:
        return f"{0:.{decimals}f}"
    text = f"{x:+,.{decimals}f}" if sign else f"{x:,.{decimals}f}"
    return text.replace("-", MINUS)


def year(value: Any) -> str:
    """A year as a label, no separator: ``2041.0`` -> ``"2041"``; n/a if missing."""
    x = num(value)
    return NA if x is None else str(int(round(x))).replace("-", MINUS)


def code(value: Any) -> str:
    """A Census code (partner, HS chapter) as a label, no separator: ``5800.0`` -> ``"5800"``."""
    return year(value)


def count(value: Any, *, sign: bool = False) -> str:
    """A count or a rank as a whole number with separators: ``12232`` -> ``"12,232"``,
    ``5.0`` -> ``"5"``, ``-3`` -> ``"−3"``; n/a if missing."""
    x = num(value)
    return NA if x is None else number(float(round(x)), 0, sign)


def significant(value: Any, digits: int = 4, *, trim: bool = False) -> str:
    """``digits`` significant digits, at least all the whole digits, with separators:
    ``13.1997`` -> ``"13.20"``, ``-0.0123456`` -> ``"−0.01235"``, ``25000`` -> ``"25,000"``;
    ``trim`` drops trailing zeros (``2.7`` -> ``"2.7"``, not ``"2.700"``); n/a if missing."""
    x = num(value)
    if x is None:
        return NA
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    text = number(x, decimals)
    return text.rstrip("0").rstrip(".") if trim and "." in text else text


def decimal(value: Any, decimals: int = 1, *, sign: bool = False) -> str:
    """:func:`number` for any value: ``decimals`` places, separators, U+2212; n/a if missing."""
    x = num(value)
    return NA if x is None else number(x, decimals, sign)


def tick(value: float, decimals: int = 2, suffix: str = "", *, sign: bool = False) -> str:
    """A figure's tick label: at most ``decimals`` places, trailing zeros dropped, separators,
    U+2212, never ``"−0"``; ``sign`` adds ``+`` to positives; ``suffix`` (e.g. ``" %"``)
    follows every label but zero's: ``-50`` -> ``"−50 %"``, ``0`` -> ``"0"``."""
    text = f"{value:+,.{decimals}f}" if sign else f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text.lstrip("+-").strip("0,.") == "":
        return "0"
    return text.replace("-", MINUS) + suffix


def tick_formatter(
    decimals: int = 2, suffix: str = "", *, scale: float = 1.0, sign: bool = False
):  # -> matplotlib.ticker.FuncFormatter
    """A matplotlib formatter writing every tick with :func:`tick` (values times ``scale``)."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: tick(v * scale, decimals, suffix, sign=sign))


def ordinal(n: int) -> str:
    """``1`` -> ``"1st"``, ``2`` -> ``"2nd"``, ``3`` -> ``"3rd"``, ``11`` -> ``"11th"``,
    ``22`` -> ``"22nd"``."""
    n = int(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{count(n)}{suffix}"


def billions(millions: Any, *, sign: bool = False) -> str:
    """US$ millions as billions with one decimal: ``-1234.5`` -> ``"−1.2"``; n/a if missing."""
    x = num(millions)
    return NA if x is None else number(x / 1000.0, 1, sign)


def millions(value: Any, *, sign: bool = True) -> str:
    """US$ millions, no decimals, signed: ``-512.4`` -> ``"−512"``."""
    x = num(value)
    return NA if x is None else number(x, 0, sign)


def pct(value: Any, *, sign: bool = True) -> str:
    """Percent with one decimal: ``12.34`` -> ``"+12.3%"``."""
    x = num(value)
    return NA if x is None else number(x, 1, sign) + "%"


def p_value(value: Any) -> str:
    """p-value: ``"<0.001"`` below 0.001, else two significant digits (``0.04567`` ->
    ``"0.046"``, ``0.5`` -> ``"0.50"``, ``1`` -> ``"1.0"``); never scientific notation."""
    x = num(value)
    if x is None:
        return NA
    if x < 0.001:
        return "<0.001"
    decimals = max(1, 1 - math.floor(math.log10(x)))
    if decimals > 1 and round(x, decimals) >= 10 ** (1 - decimals + 1):  # 0.0996 -> 0.10
        decimals -= 1
    return f"{x:.{decimals}f}"


def p_equals(value: Any) -> str:
    """A p-value in a sentence: ``"p = 0.034"``, ``"p < 0.001"`` (:func:`p_value`)."""
    text = p_value(value)
    return f"p < {text[1:]}" if text.startswith("<") else f"p = {text}"


def interval(ci: Any, fmt: Any) -> str:
    """A ``[low, high]`` pair formatted with ``fmt`` as ``"low to high"``; n/a if incomplete."""
    if not isinstance(ci, list | tuple) or len(ci) != 2:
        return NA
    lo, hi = fmt(ci[0]), fmt(ci[1])
    return NA if NA in (lo, hi) else f"{lo} to {hi}"


def quoted_p(row: Mapping[str, Any], key: str) -> str:
    """The p-value a table quotes for ``key`` (``"p_level"``) of ``row``, by the one rule of
    :func:`analysis.vocab.quoted` (calibrated, else bootstrap, never plain HAC), through
    :func:`p_value`; :data:`MISSING` when there is none."""
    x = num(quoted(row, key))
    return MISSING if x is None else p_value(x)


def quoted_interval(row: Mapping[str, Any], key: str, fmt: Any) -> str:
    """The interval a table quotes for ``key`` (``"pct_level_change_ci"``) of ``row`` by the
    same rule, ``"low to high"`` through ``fmt``; :data:`MISSING` when there is none."""
    text = interval(quoted(row, key), fmt)
    return MISSING if text == NA else text
