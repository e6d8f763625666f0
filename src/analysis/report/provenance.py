"""Where the site's numbers come from: the cleaned data's vintage, named on every page.

Read from ``data/processed/trade_monthly.meta.json`` by the notebook pages' footer
(:mod:`analysis.report.publish`), the landing page (:mod:`analysis.report.landing`) and the
published bundle's manifest (:mod:`analysis.report.bundle`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from analysis import __version__, config

SOURCE_NAME = "U.S. Census Bureau, U.S. goods trade by country"


def data_vintage(meta_path: Path | None = None) -> dict[str, str]:
    """Short sha256, file name and month range of the cleaned data (``trade_monthly.meta.json``).

    Returns an empty dict when the file is missing or unreadable (the page then says less).
    """
    path = Path(meta_path) if meta_path is not None else config.TRADE_MONTHLY_META
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(meta, Mapping):
        return {}
    source = meta.get("source") if isinstance(meta.get("source"), Mapping) else {}
    sha = source.get("sha256") or meta.get("sha256") or ""
    out = {
        "sha256": str(sha)[:12],
        "file": str(source.get("file") or ""),
        "first_month": str(meta.get("first_month") or ""),
        "last_month": str(meta.get("last_month") or ""),
    }
    return {k: v for k, v in out.items() if v}


def vintage_text(vintage: Mapping[str, str]) -> str:
    """One sentence naming the source and its vintage."""
    text = f"Data: {SOURCE_NAME}"
    details = []
    if vintage.get("file"):
        details.append(vintage["file"])
    if vintage.get("sha256"):
        details.append(f"sha256 {vintage['sha256']}")
    if details:
        text += f" ({', '.join(details)})"
    if vintage.get("first_month") and vintage.get("last_month"):
        text += f", published months {vintage['first_month']} to {vintage['last_month']}"
    elif vintage.get("last_month"):
        text += f", data through {vintage['last_month']}"
    return text + f". Built with korus-trade {__version__}."
