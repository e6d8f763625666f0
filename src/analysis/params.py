"""Run parameters of a partner report: the one month parser and parameter validator.

``python -m analysis.params reports/<slug>/params.json --partner 5800 --start 2000-01
--end '' --breaks YYYY-MM,YYYY-MM`` (every parameter defaults to the environment, where make
puts it; an empty one to the partner's default, :func:`default_window`).

**Each partner's own dates.** Without breaks, a partner with an agreement in
``data/external/us_ftas.csv`` gets its agreement months (entry into force, then each revision)
as breaks; one without an agreement gets none: a descriptive report (:func:`default_window`).

**A report keeps its parameters.** ``--keep`` (what ``make all`` runs) leaves an existing
``params.json`` as it was built when no parameter is given; without ``--keep`` (``make report``)
no parameter means the partner's defaults, and a file that held others is reset with one line
saying so.

The file is rewritten only when its content changes, so changing a model parameter re-runs
the models and the report (which depend on it) but a repeated ``make`` does nothing. The
parameters are validated here, against the partner's data range in ``partners.csv``, so
bad parameters fail before any work. The notebook and :func:`analysis.models.run.run_models`
validate with the same :func:`validate` against the months of the series they are given.
Standard library only (fast start: the Makefile calls it before pandas is loaded).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis import cli, config, external
from analysis.errors import DataError, ParameterError
from analysis.fileio import write_text_atomic
from analysis.partners import Partner, resolve

_MONTH = re.compile(r"^\s*(\d{4})-(\d{2})(?:-01)?\s*$")

#: Forecast models of the counterfactual (``analysis.models.counterfactual``).
FORECAST_MODELS: tuple[str, ...] = ("sarimax", "ets")
#: The defaults of an empty START and FORECAST (BREAKS: the partner's agreement months).
DEFAULT_START: str = "2000-01"
DEFAULT_FORECAST: str = "sarimax"
#: Months of data a break model needs before the first break, and after each break (to the
#: next one or the end): :mod:`analysis.models.base` checks the same numbers.
MIN_PRE_MONTHS: int = 36
MIN_POST_MONTHS: int = 12

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
    """A month as ``"YYYY-MM"``: from ``"2010-01"``, ``"2010-01-01"`` or a date/datetime
    (``pandas.Timestamp`` included). Raises ``ParameterError`` naming ``name`` otherwise
    (an empty value too; callers that allow one test for it first)."""
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}"
    m = _MONTH.match(str(value)) if isinstance(value, str) else None
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ParameterError(f"{name}={value!r}: expected a month as YYYY-MM (e.g. 2010-01)")
    return f"{m.group(1)}-{m.group(2)}"


def is_blank(value: Any) -> bool:
    """True for None or an all-blank string: an optional month that was not given."""
    return value is None or (isinstance(value, str) and not value.strip())


def previous_month(month: str) -> str:
    """``"2010-03" -> "2010-02"``; ``"2012-01" -> "2011-12"``."""
    y, m = int(month[:4]), int(month[5:7])
    return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"


def split_months(breaks: Sequence[str] | str) -> list[str]:
    """Break months as a list: a list as it is; ``"2010-01,2015-06"``, space-separated or
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
    not after ``last``, distinct and increasing; none at all is a descriptive run (``train_end``
    then stays empty). ``train_end``: a month in the window with at
    least one month after it; empty means the month before the first break (the counterfactual
    is trained on the months before it). ``names`` spells the parameters in the messages,
    ``where`` ends the window's description (e.g. ``" for Japan"``).
    Returns ``(breaks, train_end)`` as ``YYYY-MM``; raises ``ParameterError``.
    """
    first, last = parse_month(first, "first month"), parse_month(last, "last month")
    window = f"{first} .. {last}{where}"
    months = split_months(breaks)
    checked = [parse_month(b, names["breaks"]) for b in months]
    for b in checked:
        if not first < b <= last:
            raise ParameterError(f"{names['breaks']}={b}: outside the data window {window}")
    if checked != sorted(set(checked)):
        raise ParameterError(
            f"{names['breaks']}={','.join(checked)}: give distinct months in increasing order"
        )
    if not checked and is_blank(train_end):  # no break: a descriptive run, nothing to train
        check_forecast_model(forecast_model, names["forecast_model"])
        return [], ""
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


def _index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _month(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass(frozen=True)
class DefaultWindow:
    """A partner's default window start and breaks, and one line on what was left out and why
    (empty when every agreement month is a break)."""

    start: str
    breaks: list[str]
    note: str


def default_window(
    code: int,
    *,
    first: str,
    last: str,
    start: str = "",
    ftas_path: str | Path = external.FTA_CSV,
) -> DefaultWindow:
    """The breaks a partner gets when none is given: its own agreement dates.

    The candidates are the partner's agreement months in ``us_ftas.csv``: entry into force, then
    each revision (Korea: KORUS and its 2019 revision; Mexico: NAFTA and USMCA). ``first`` ..
    ``last`` are the partner's months of data. The window starts at ``start``, or when it is empty
    at :data:`DEFAULT_START`, moved back to :data:`MIN_PRE_MONTHS` before the first agreement
    month when that is later than the default allows and the data reach back so far (Mexico:
    1991-01, for NAFTA in 1994-01). A candidate is kept when the window holds at least
    ``MIN_PRE_MONTHS`` months before it and ``MIN_POST_MONTHS`` from it to the next kept break
    or the end; the others are left out and named in ``note``. A partner with no agreement, or
    none kept, gets no break: a descriptive report.
    """
    given = not is_blank(start)
    s = max(parse_month(start, "START") if given else DEFAULT_START, first)
    dates = external.partner_dates(code, ftas_path)
    if not dates:
        return DefaultWindow(
            s,
            [],
            "no U.S. free trade agreement in data/external/us_ftas.csv: a descriptive report "
            "(no break models; give BREAKS=YYYY-MM to fit them)",
        )
    earliest = _index(dates[0].month) - MIN_PRE_MONTHS
    if not given and _index(first) <= earliest < _index(s):
        s = _month(earliest)
    kept: list[str] = []
    left: list[str] = []
    for d in dates:
        m = _index(d.month)
        if m - _index(s) < MIN_PRE_MONTHS:
            left.append(f"{d.label} ({d.month}): fewer than {MIN_PRE_MONTHS} months before it")
        elif _index(last) - m + 1 < MIN_POST_MONTHS or (
            kept and m - _index(kept[-1]) < MIN_POST_MONTHS
        ):
            left.append(f"{d.label} ({d.month}): fewer than {MIN_POST_MONTHS} months after it")
        else:
            kept.append(d.month)
    note = ""
    if left:
        note = "agreement date(s) left out of the window " + f"{s} .. {last}: " + "; ".join(left)
        if not kept:
            note += ": a descriptive report (no break models; give BREAKS=YYYY-MM to fit them)"
    return DefaultWindow(s, kept, note)


def breaks_or_default(
    breaks: Sequence[str] | str, code: int, *, first: Any, last: Any
) -> list[str]:
    """``breaks`` as a list when any is given, else the partner's own agreement months that the
    window ``first .. last`` (its months of data) can hold (:func:`default_window` with the
    window's start as given): what a notebook run by hand with empty ``breaks`` tests."""
    given = split_months(breaks)
    if given:
        return given
    first, last = parse_month(first, "first month"), parse_month(last, "last month")
    return default_window(code, first=first, last=last, start=first).breaks


def build_params(
    partner: Partner,
    start: str,
    end: str,
    breaks: list[str],
    forecast_model: str = DEFAULT_FORECAST,
    *,
    ftas_path: str | Path = external.FTA_CSV,
) -> dict[str, Any]:
    """Check the parameters against the partner's data and return the papermill parameters.

    An empty ``start``, ``breaks`` or ``forecast_model`` takes the partner's default
    (:func:`default_window`, :data:`DEFAULT_START`, :data:`DEFAULT_FORECAST`)."""
    forecast_model = forecast_model or DEFAULT_FORECAST
    check_forecast_model(forecast_model, MAKE_NAMES["forecast_model"])
    end = parse_month(end, "END") if end else ""
    if not split_months(breaks):
        window = default_window(
            partner.code,
            first=partner.first_month,
            last=min(end or partner.last_month, partner.last_month),
            start=start,
            ftas_path=ftas_path,
        )
        start, breaks = window.start, window.breaks
    start = parse_month(start, "START") if start else DEFAULT_START
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


def read_params(path: Path) -> dict[str, Any] | None:
    """The parameters recorded in a ``params.json``, or None when there is none (or it is not
    a JSON object)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def describe(params: Mapping[str, Any]) -> str:
    """``START=2000-01 BREAKS=2010-01,2015-06 FORECAST=sarimax`` (END only when set; a run
    without breaks shows ``BREAKS=none``)."""
    parts = [f"START={params.get('start', '')}"]
    if params.get("end"):
        parts.append(f"END={params['end']}")
    parts.append(f"BREAKS={','.join(params.get('breaks') or []) or 'none'}")
    parts.append(f"FORECAST={params.get('forecast_model', '')}")
    return " ".join(parts)


def report_params(
    path: Path,
    partner: Partner,
    *,
    start: str = "",
    end: str = "",
    breaks: str | Sequence[str] = "",
    forecast: str = "",
    keep: bool = False,
    ftas_path: str | Path = external.FTA_CSV,
) -> tuple[dict[str, Any], list[str]]:
    """The parameters to write to a report's ``params.json``, and the lines to print.

    Given parameters (non-empty ``start``, ``end``, ``breaks`` or ``forecast``) always apply.
    With none: ``keep`` re-checks and keeps the parameters the report was last built with (what
    ``make all`` does for each report on disk); otherwise the partner returns to its defaults,
    and when the file held other parameters one line says so (what ``make report`` does).
    """
    given = any(not is_blank(v) for v in (start, end, forecast)) or bool(split_months(breaks))
    old = read_params(path)
    recorded = old if old is not None and str(old.get("partner")) == str(partner.code) else None
    if keep and not given and recorded is not None:
        kept = build_params(
            partner,
            str(recorded.get("start", "")),
            str(recorded.get("end", "")),
            list(recorded.get("breaks") or []),
            str(recorded.get("forecast_model", "")),
            ftas_path=ftas_path,
        )
        return kept, []
    params = build_params(partner, start, end, split_months(breaks), forecast, ftas_path=ftas_path)
    lines: list[str] = []
    if not split_months(breaks):
        window = default_window(
            partner.code,
            first=partner.first_month,
            last=params["end"] or partner.last_month,
            start=start,
            ftas_path=ftas_path,
        )
        if window.note:
            lines.append(f"note: {partner.name}: {window.note}")
    if not given and recorded is not None and recorded != params:
        lines.append(
            f"note: {partner.name}: parameters back to the defaults ({describe(params)}); "
            f"the previous report used {describe(recorded)}"
        )
    return params, lines


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    ap = cli.ArgumentParser(prog="python -m analysis.params")
    ap.add_argument("path", type=Path)
    # Defaults come from the environment (make passes parameters as data, not shell text).
    ap.add_argument(
        "--partner", default=config.run_parameter("partner", str(config.DEFAULT_PARTNER))
    )
    ap.add_argument("--start", default=config.run_parameter("start"))
    ap.add_argument("--end", default=config.run_parameter("end"))
    ap.add_argument("--breaks", default=config.run_parameter("breaks"))
    ap.add_argument("--forecast", default=config.run_parameter("forecast"))
    ap.add_argument(
        "--keep",
        action="store_true",
        help="without parameters, keep the ones an existing params file records (make all)",
    )
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
    params, lines = report_params(
        args.path,
        partner,
        start=args.start,
        end=args.end,
        breaks=args.breaks,
        forecast=args.forecast,
        keep=args.keep,
    )
    write_if_changed(args.path, params)
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
