"""Whether published results belong with the current data and with their folder's parameters.

A ``results.json`` records the parameters and the cleaned table (its sha256) it was computed
from; the landing page marks results that do not match, and the page publisher refuses them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis import config

#: The run parameters a results.json must share with its folder's params.json.
CHECKED_PARAMS: tuple[str, ...] = ("breaks", "start", "end", "forecast_model")


def current_data_sha(meta_path: Path | None = None) -> str | None:
    """sha256 of the cleaned table the pipeline last wrote (from its metadata), or None."""
    path = Path(meta_path) if meta_path is not None else config.TRADE_MONTHLY_META
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        return str(meta["outputs"]["trade_monthly.csv"]["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def stale_reason(
    results: Mapping[str, Any], data_sha: str | None, params_file: Path | None
) -> str | None:
    """Why ``results`` do not belong with the current data or their folder's parameters (None
    when they do): computed from another vintage of the cleaned table, or with parameters that
    differ from ``params.json`` (as a notebook run by hand into the folder would)."""
    inputs = results.get("inputs") if isinstance(results.get("inputs"), Mapping) else {}
    used = inputs.get("data_sha256")
    if data_sha and used and used != data_sha:
        return "computed from an earlier vintage of the data"
    if params_file is not None and params_file.is_file():
        try:
            wanted = json.loads(params_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        have = results.get("params") or {}
        for key in CHECKED_PARAMS:
            want = wanted.get(key)
            if key == "end" and not want:
                continue  # "to the last month of data"
            if want is not None and key in have and have[key] != want:
                return f"computed with {key}={have[key]!r}, not the report's {want!r}"
    return None
