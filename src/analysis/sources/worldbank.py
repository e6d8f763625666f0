"""Former name of :mod:`analysis.sources.wdi` (kept until report.context_plots imports wdi)."""

from analysis.sources.wdi import (  # noqa: F401
    MACRO_INDICATORS,
    MACRO_LABELS,
    WDI_COLUMNS,
    indicator_name,
    korea_macro,
    read_wdi,
    wdi_series,
    wdi_value,
)
