"""Run parameters of a partner report: the one month parser and parameter validator.

``python -m analysis.params reports/<slug>/params.json --partner 5800 --start 2000-01
--end '' --breaks 2012-03,2019-01``

The file is rewritten only when its content changes, so changing a model parameter re-runs
the models and the report (which depend on it) but a repeated ``make`` does nothing. The
parameters are validated here, against the partner's data range in ``partners.csv``, so
bad parameters fail before any work. The notebook and :func:`analysis.models.run.run_models`
validate with the same :func:`validate` against the months of the series they are given.
Standard library only (fast start: the Makefile calls it before pandas is loaded).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis import cli, config
from analysis.errors import DataError, ParameterError
from analysis.fileio import write_text_atomic
from analysis.partners import Partner, resolve

_MONTH = re.compile(r"^\s*(\d{4})-(\d{2})(?:-01)?\s*$")

#: Forecast models of the counterfactual (``analysis.models.counterfactual``).
FORECAST_MODELS: tuple[str, ...] = ("sarimax", "ets")

#: Parameter names as the notebook and the models spell them in messages.
NOTEBOOK_NAMES: Mapping[str, str] = {
    "start": "start",
    "end": "end",
    "breaks": "breaks",
    "train_end": "train_end",
    "forecast_model": "forecast_model",
    "hac_maxlags": "hac_maxlags",
}
#: ... and as the Makefile's variables spell them.
MAKE_NAMES: Mapping[str, str] = {
    "start": "START",
    "end": "END",
    "breaks": "BREAKS",
    "train_end": "TRAIN_END",
    "forecast_model": "FORECAST",
    "hac_maxlags": "HAC_MAXLAGS",
}


def parse_month(value: Any, name: str) -> str:
    """A month as ``"YYYY-MM"``: from ``"2012-03"``, ``"2012-03-01"`` or a date/datetime
    (``pandas.Timestamp`` included). Raises ``ParameterError`` naming ``name`` otherwise
    (an empty value too; callers that allow one test for it first)."""
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}"
    m = _MONTH.match(str(value)) if isinstance(value, str) else None
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ParameterError(f"{name}={value!r}: expected a month as YYYY-MM (e.g. 2012-03)")
    return f"{m.group(1)}-{m.group(2)}"


def is_blank(value: Any) -> bool:
    """True for None or an all-blank string: an optional month that was not given."""
    return value is None or (isinstance(value, str) and not value.strip())


def previous_month(month: str) -> str:
    """``"2012-03" -> "2012-02"``; ``"2012-01" -> "2011-12"``."""
    y, m = int(month[:4]), int(month[5:7])
    return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"


def split_months(breaks: Sequence[str] | str) -> list[str]:
    """Break months as a list: a list as it is; ``"2012-03,2019-01"``, space-separated or
    written as a list (``'["2010-01"]'``, as a papermill ``-p`` on the command line gives it) split."""
    if isinstance(breaks, str):
        text = breaks.strip().removeprefix("[").removesuffix("]")
        return [b.strip("'\"") for b in text.replace(" ", ",").split(",") if b.strip("'\"")]
    return list(breaks)


def check_forecast_model(model: str, name: str = "forecast_model") -> str:
    """``model`` if it is one of ``FORECAST_MODELS``, else ``ParameterError``."""
    if model not in FORECAST_MODELS:
        raise ParameterError(f"{name}={model!r}: expected one of {', '.join(FORECAST_MODELS)}")
    return model


def validate(
    breaks: Sequence[str] | str,
    *,
    first: Any,
    last: Any,
    train_end: Any = "",
    forecast_model: str = "sarimax",
    hac_maxlags: int = 12,
    names: Mapping[str, str] = NOTEBOOK_NAMES,
    where: str = "",
) -> tuple[list[str], str]:
    """Check the model parameters against the data window ``first .. last`` (months).

    ``breaks``: a list of months or a comma-separated string; each must lie after ``first`` and
    not after ``last``, distinct and increasing. ``train_end``: a month in the window with at
    least one month after it; empty means the month before the first break (the counterfactual
    is trained on the months before it). ``names`` spells the parameters in the messages,
    ``where`` ends the window's description (e.g. ``" for Japan"``).
    Returns ``(breaks, train_end)`` as ``YYYY-MM``; raises ``ParameterError``.
    """
    first, last = parse_month(first, "first month"), parse_month(last, "last month")
    window = f"{first} .. {last}{where}"
    months = split_months(breaks)
    if not months:
        raise ParameterError(f"{names['breaks']}: give at least one break month (e.g. 2012-03)")
    checked = [parse_month(b, names["breaks"]) for b in months]
    for b in checked:
        if not first < b <= last:
            raise ParameterError(f"{names['breaks']}={b}: outside the data window {window}")
    if checked != sorted(set(checked)):
        raise ParameterError(
            f"{names['breaks']}={','.join(checked)}: give distinct months in increasing order"
        )
    te = (
        previous_month(checked[0])
        if is_blank(train_end)
        else parse_month(train_end, names["train_end"])
    )
    if not first <= te < last:
        raise ParameterError(
            f"{names['train_end']}={te}: must lie in the data window {window} with months after it"
        )
    check_forecast_model(forecast_model, names["forecast_model"])
    if int(hac_maxlags) < 0:
        raise ParameterError(f"{names['hac_maxlags']}={hac_maxlags}: must be >= 0")
    return checked, te


def build_params(
    partner: Partner, start: str, end: str, breaks: list[str], forecast_model: str = "sarimax"
) -> dict[str, Any]:
    """Check the parameters against the partner's data and return the papermill parameters."""
    check_forecast_model(forecast_model, MAKE_NAMES["forecast_model"])
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
        raise ParameterError(
            f"END={end}: after the last month of data for {partner.name} ({partner.last_month})"
        )
    checked, train_end = validate(
        breaks,
        first=start,
        last=last,
        forecast_model=forecast_model,
        names=MAKE_NAMES,
        where=f" for {partner.name}",
    )
    return {
        "partner": str(partner.code),
        "start": start,
        "end": end,
        "breaks": checked,
        "forecast_model": forecast_model,
        "train_end": train_end,
    }


def write_if_changed(path: Path, params: dict[str, Any]) -> bool:
    """Write ``params`` as JSON unless the file already holds exactly that; True if written."""
    text = json.dumps(params, indent=2, sort_keys=True) + "\n"
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    write_text_atomic(path, text)
    return True


def read_partner(path: Path) -> str:
    """The partner's Census code recorded in a ``params.json`` (``DataError`` if unreadable)."""
    try:
        code = str(json.loads(Path(path).read_text(encoding="utf-8"))["partner"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(path, f"not a readable params file ({type(exc).__name__})") from exc
    if not code.isdigit():
        raise DataError(path, f"partner {code!r} is not a Census code")
    return code


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m analysis.params")
    ap.add_argument("path", type=Path)
    # Defaults come from the environment (make passes parameters as data, not shell text).
    ap.add_argument(
        "--partner", default=config.run_parameter("partner", str(config.DEFAULT_PARTNER))
    )
    ap.add_argument("--start", default=config.run_parameter("start"))
    ap.add_argument("--end", default=config.run_parameter("end"))
    ap.add_argument("--breaks", default=config.run_parameter("breaks", "2012-03"))
    ap.add_argument("--forecast", default=config.run_parameter("forecast", "sarimax"))
    ap.add_argument(
        "--print-partner",
        action="store_true",
        help="print the Census code of an existing params file's partner, write nothing",
    )
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    if args.print_partner:
        print(read_partner(args.path))
        return 0
    partner = resolve(args.partner)
    params = build_params(partner, args.start, args.end, split_months(args.breaks), args.forecast)
    write_if_changed(args.path, params)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
