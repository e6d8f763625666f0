"""Number formatters shared by every page, table, sentence and figure label.

One rule per quantity, so the same number reads the same wherever it appears: a true minus
sign (U+2212), thousands separators, no "−0.0", and ``n/a`` for a missing value.
"""

from __future__ import annotations

import math
import re
from typing import Any

MINUS = "\u2212"
#: How each series is named on every page and table.
SERIES_LABELS: dict[str, str] = {
    "exports": "U.S. exports",
    "imports": "U.S. imports",
    "balance": "U.S. balance",
}
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
    """p-value: ``<0.001`` or three decimals."""
    x = num(value)
    if x is None:
        return NA
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def interval(ci: Any, fmt: Any) -> str:
    """A ``[low, high]`` pair formatted with ``fmt`` as ``"low to high"``; n/a if incomplete."""
    if not isinstance(ci, list | tuple) or len(ci) != 2:
        return NA
    lo, hi = fmt(ci[0]), fmt(ci[1])
    return NA if NA in (lo, hi) else f"{lo} to {hi}"


def display_name(partner: str) -> str:
    """Census names like ``"Korea, South"`` read as ``"South Korea"``; others unchanged."""
    m = re.fullmatch(r"\s*(.+?),\s*(South|North)\s*", partner)
    return f"{m.group(2)} {m.group(1)}" if m else partner.strip()
