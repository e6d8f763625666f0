"""Run parameters of a partner report, stored as a file so ``make`` can track them.

``python -m analysis.params reports/<slug>/params.json --partner 5800 --start 2000-01
--end '' --breaks 2012-03,2019-01``

The file is rewritten only when its content changes, so changing a model parameter re-runs
the models and the report (which depend on it) but a repeated ``make`` does nothing. The
parameters are validated here, against the partner's data range in ``partners.csv``, so
bad parameters fail before any work. Standard library only (fast start).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from analysis import config
from analysis.errors import AnalysisError, ParameterError
from analysis.fileio import write_text_atomic
from analysis.partners import Partner, resolve

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(value: str, name: str) -> str:
    """Validate a ``YYYY-MM`` string (``2012-03``) and return it unchanged."""
    m = _MONTH.match(value.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ParameterError(f"{name}={value!r}: expected a month as YYYY-MM (e.g. 2012-03)")
    return value.strip()


FORECAST_MODELS: tuple[str, ...] = ("sarimax", "ets")  # as in analysis.models.core


def build_params(
    partner: Partner, start: str, end: str, breaks: list[str], forecast_model: str = "sarimax"
) -> dict[str, Any]:
    """Check the parameters against the partner's data and return the papermill parameters."""
    if forecast_model not in FORECAST_MODELS:
        raise ParameterError(f"FORECAST={forecast_model!r}: expected one of {', '.join(FORECAST_MODELS)}")
    start = parse_month(start, "START") if start else partner.first_month
    end = parse_month(end, "END") if end else ""
    last = end or partner.last_month
    if start < partner.first_month:
        start = partner.first_month  # a window that starts before the data starts with the data
    if start > partner.last_month:
        raise ParameterError(
            f"START={start}: after the last month of data for {partner.name} ({partner.last_month})"
        )
    if end and end < start:
        raise ParameterError(f"END={end} is before START={start}")
    if end and end > partner.last_month:
        raise ParameterError(f"END={end}: after the last month of data for {partner.name} ({partner.last_month})")
    if not breaks:
        raise ParameterError("BREAKS: give at least one break month (e.g. 2012-03)")
    checked = [parse_month(b, "BREAKS") for b in breaks]
    for b in checked:
        if not start < b <= last:
            raise ParameterError(f"BREAKS={b}: outside the data window {start} .. {last} for {partner.name}")
    if checked != sorted(set(checked)):
        raise ParameterError(f"BREAKS={','.join(checked)}: give distinct months in increasing order")
    return {
        "partner": str(partner.code),
        "start": start,
        "end": end,
        "breaks": checked,
        "forecast_model": forecast_model,
        # The counterfactual is trained on the months before the first break.
        "train_end": previous_month(checked[0]),
    }


def previous_month(month: str) -> str:
    """``"2012-03" -> "2012-02"``; ``"2012-01" -> "2011-12"``."""
    y, m = int(month[:4]), int(month[5:7])
    return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"


def write_if_changed(path: Path, params: dict[str, Any]) -> bool:
    """Write ``params`` as JSON unless the file already holds exactly that; True if written."""
    text = json.dumps(params, indent=2, sort_keys=True) + "\n"
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    write_text_atomic(path, text)
    return True


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m analysis.params")
    ap.add_argument("path", type=Path)
    # Defaults come from the environment (make passes parameters as data, not shell text).
    ap.add_argument("--partner", default=config.run_parameter("partner", str(config.DEFAULT_PARTNER)))
    ap.add_argument("--start", default=config.run_parameter("start"))
    ap.add_argument("--end", default=config.run_parameter("end"))
    ap.add_argument("--breaks", default=config.run_parameter("breaks", "2012-03"))
    ap.add_argument("--forecast", default=config.run_parameter("forecast", "sarimax"))
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        partner = resolve(args.partner)
        breaks = [b for b in args.breaks.replace(" ", ",").split(",") if b]
        params = build_params(partner, args.start, args.end, breaks, args.forecast)
        write_if_changed(args.path, params)
    except AnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
