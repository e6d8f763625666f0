"""Seasonal adjustment: robust STL decomposition and seasonally adjusted series.

Exports and imports are decomposed *in logs* because their seasonal swings scale with the
level (multiplicative seasonality): the seasonally adjusted series is
``exp(log y - seasonal) = y / exp(seasonal)``. A series with a zero or negative month cannot
be logged and is decomposed additively in levels. The balance can be negative, so its own
STL is additive; its *adjusted* series is by default the difference of the adjusted exports
and imports (the "indirect" method Census uses, so SA exports - SA imports = SA balance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.tsa.seasonal import STL

from analysis.errors import ParameterError
from analysis.models.base import LOG_SERIES, ModelSkipped, check_series


def stl_decompose(y: pd.Series, period: int = 12, robust: bool = True, *, log: bool = False) -> pd.DataFrame:
    """Robust STL decomposition: columns ``observed``, ``trend``, ``seasonal``, ``resid``.

    With ``log=True`` the decomposition is of ``log(y)`` (components in log points; the
    seasonal factor is ``exp(seasonal)``). Raises ``ModelSkipped`` for fewer than two full
    cycles, gaps, a constant series, or non-positive values under ``log``.
    """
    y = check_series(y, log=log)
    if len(y) < 2 * period:
        raise ModelSkipped(f"{y.name or 'series'}: {len(y)} months < {2 * period} needed for STL")
    z = np.log(y) if log else y
    res = STL(z, period=period, robust=robust).fit()
    out = pd.DataFrame(
        {"observed": res.observed, "trend": res.trend, "seasonal": res.seasonal, "resid": res.resid},
        index=y.index,
    )
    out.index.name = "date"
    return out


def seasonally_adjust(monthly: pd.DataFrame, *, balance_method: str = "indirect") -> pd.DataFrame:
    """Seasonally adjusted ``exports_sa``, ``imports_sa``, ``balance_sa`` (SA = observed - seasonal).

    Exports/imports: STL on logs (multiplicative), or additive in levels if a month is <= 0.
    Balance: ``"indirect"`` (default) = ``exports_sa - imports_sa``; ``"direct"`` = additive STL
    of the balance itself. A series too short or constant is left unadjusted. The method used
    for each series is in ``result.attrs["methods"]``.
    """
    if balance_method not in {"indirect", "direct"}:
        raise ParameterError(f"balance_method={balance_method!r}: expected 'indirect' or 'direct'")
    out = pd.DataFrame(index=monthly.index.copy())
    out.index.name = "date"
    methods: dict[str, str] = {}
    for col in ("exports", "imports") + (("balance",) if balance_method == "direct" else ()):
        y = monthly[col].rename(col)
        sa, method = _adjust_one(y, log=LOG_SERIES[col])
        out[f"{col}_sa"] = sa
        methods[col] = method
    if balance_method == "indirect":
        out["balance_sa"] = out["exports_sa"] - out["imports_sa"]
        methods["balance"] = "indirect: exports_sa - imports_sa"
    out = out[["exports_sa", "imports_sa", "balance_sa"]]
    out.attrs["methods"] = methods
    return out


def _adjust_one(y: pd.Series, *, log: bool) -> tuple[pd.Series, str]:
    if log and (y > 0).all():
        try:
            d = stl_decompose(y, log=True)
            return np.exp(d["observed"] - d["seasonal"]), "STL on logs (multiplicative), robust, period 12"
        except ModelSkipped as exc:
            return y.copy(), f"not adjusted ({exc})"
    try:
        d = stl_decompose(y, log=False)
    except ModelSkipped as exc:
        return y.copy(), f"not adjusted ({exc})"
    note = " (has months <= 0, so not in logs)" if log else ""
    return d["observed"] - d["seasonal"], f"STL additive in levels, robust, period 12{note}"
