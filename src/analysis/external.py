"""Agreement and event dates: the one reader of ``data/external/us_ftas.csv`` and ``events.csv``.

Every date the project marks or models around an agreement comes from these two files, read and
validated here (no module repeats a date):

* ``us_ftas.csv``: one row per U.S. FTA partner, its agreement's entry into force and its
  revisions (:func:`load_agreements`, :class:`Agreement`);
* ``events.csv``: other dated events the charts mark (signings, the 2018 Section 232 tariffs,
  the pandemic), each scoped to one partner's Census code or to ``all`` partners
  (:func:`load_events`, :class:`Event`).

:func:`partner_dates` gives a partner's agreement dates with their labels, and
:func:`partner_events` the events its charts mark: its own agreement dates plus the events in its
scope. Standard library only, so ``python -m analysis.params`` (run by make before pandas is
loaded) derives a partner's default break months from the same reader. Every problem raises
:class:`analysis.errors.DataError` naming the file (and the row) in one line.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from analysis import config
from analysis.errors import DataError, ParameterError

#: The committed table of U.S. FTA partners.
FTA_CSV: Path = config.EXTERNAL_DIR / "us_ftas.csv"
#: The committed table of dated events marked on the charts.
EVENTS_CSV: Path = config.EXTERNAL_DIR / "events.csv"

#: Columns of ``us_ftas.csv``, in order.
FTA_COLUMNS: tuple[str, ...] = (
    "partner_code",
    "partner",
    "agreement",
    "in_force",
    "revision",
    "revision_in_force",
    "source",
)
#: Columns of ``events.csv``, in order.
EVENT_COLUMNS: tuple[str, ...] = ("date", "scope", "label", "kind", "source")
#: The kinds of event ``events.csv`` may hold.
EVENT_KINDS: tuple[str, ...] = ("signing", "trade_policy", "shock")
#: ``scope`` of an event that concerns every partner.
ALL_PARTNERS: str = "all"

_FTA_SOURCES: tuple[str, ...] = ("https://ustr.gov/", "https://www.federalregister.gov/")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class AgreementDate:
    """One dated step of a partner's agreement: entry into force or a revision.

    ``label`` is what a chart writes beside the line (``"KORUS in force"``, ``"Revised KORUS in
    force"``, ``"USMCA in force"``); ``phrase`` is how a sentence names it (``"KORUS in force"``,
    ``"the revised KORUS"``, ``"USMCA in force"``); ``revision`` is False for entry into force.
    """

    date: dt.date
    label: str
    phrase: str
    revision: bool

    @property
    def month(self) -> str:
        """The month as ``YYYY-MM``."""
        return f"{self.date.year:04d}-{self.date.month:02d}"


@dataclass(frozen=True)
class Agreement:
    """One row of ``us_ftas.csv``; ``revisions`` pairs each revision's name with its date."""

    partner_code: int
    partner: str
    agreement: str
    in_force: dt.date
    revisions: tuple[tuple[str, dt.date], ...]
    source: str

    @property
    def short_name(self) -> str:
        """``"U.S.-Korea Free Trade Agreement (KORUS)"`` -> ``"KORUS"``; without an abbreviation
        in brackets, the name with "Free Trade Agreement" / "Trade Promotion Agreement" shortened
        to FTA / TPA (``"U.S.-Colombia TPA"``)."""
        m = re.search(r"\(([^()]+)\)\s*$", self.agreement)
        if m:
            return m.group(1).strip()
        return (
            self.agreement.replace("Free Trade Agreement", "FTA")
            .replace("Trade Promotion Agreement", "TPA")
            .strip()
        )

    def dates(self) -> list[AgreementDate]:
        """Entry into force, then each revision, in date order.

        A revision whose name starts with the agreement's short name (``"KORUS amendment
        protocol"``) is the same agreement revised: ``"Revised KORUS in force"`` / ``"the revised
        KORUS"``; another agreement (``"USMCA"``) is named as itself.
        """
        short = self.short_name
        out = [AgreementDate(self.in_force, f"{short} in force", f"{short} in force", False)]
        for name, date in self.revisions:
            if name.startswith(short + " "):
                out.append(
                    AgreementDate(date, f"Revised {short} in force", f"the revised {short}", True)
                )
            else:
                out.append(AgreementDate(date, f"{name} in force", f"{name} in force", True))
        return sorted(out, key=lambda d: d.date)


@dataclass(frozen=True)
class Event:
    """One row of ``events.csv``: ``scope`` is a Census code, or None for every partner."""

    date: dt.date
    scope: int | None
    label: str
    kind: str
    source: str


def _iso_date(path: Path, row: int, column: str, value: str) -> dt.date:
    """A strict ``YYYY-MM-DD`` date, or a one-line DataError naming the row and column."""
    try:
        if not _ISO_DATE.match(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DataError(path, f"row {row}: {column} is not a YYYY-MM-DD date: {value!r}") from None


def _read_rows(path: Path, columns: tuple[str, ...], what: str) -> list[dict[str, str]]:
    """The rows of a committed CSV with exactly ``columns``, values stripped."""
    if not path.is_file():
        raise DataError(path, f"{what} not found")
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            body = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(path, f"cannot read ({type(exc).__name__})") from exc
    if tuple(h.strip() for h in header) != columns:
        raise DataError(path, f"columns {header} do not match {list(columns)}")
    rows = []
    for n, values in enumerate(body, start=2):  # row numbers as a spreadsheet shows them
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(columns):
            raise DataError(path, f"row {n}: {len(values)} fields, expected {len(columns)}")
        rows.append(
            {"_row": str(n), **{c: v.strip() for c, v in zip(columns, values, strict=True)}}
        )
    if not rows:
        raise DataError(path, "no rows")
    return rows


def _code(path: Path, row: dict[str, str], column: str) -> int:
    value = row[column]
    if not re.fullmatch(r"\d+", value):
        raise DataError(path, f"row {row['_row']}: {column} is not an integer: {value!r}")
    return int(value)


def load_agreements(path: str | Path = FTA_CSV) -> list[Agreement]:
    """Read and validate ``us_ftas.csv``, sorted by entry into force then Census code.

    Checks: the columns; integer, unique codes; non-empty partner, agreement and source; ISO dates;
    revision names and dates paired one to one, each after entry into force; a USTR or Federal
    Register source. Raises ``DataError(path, problem)`` (one line) on the first problem.
    """
    path = Path(path)
    out: list[Agreement] = []
    seen: set[int] = set()
    for row in _read_rows(path, FTA_COLUMNS, "FTA table"):
        n = row["_row"]
        code = _code(path, row, "partner_code")
        if code in seen:
            raise DataError(path, f"row {n}: partner_code {code} appears more than once")
        seen.add(code)
        for col in ("partner", "agreement", "source"):
            if not row[col]:
                raise DataError(path, f"row {n}: empty {col} for partner {code}")
        in_force = _iso_date(path, int(n), "in_force", row["in_force"])
        names = [s.strip() for s in row["revision"].split(";") if s.strip()]
        dates = [s.strip() for s in row["revision_in_force"].split(";") if s.strip()]
        if len(names) != len(dates):
            raise DataError(
                path,
                f"row {n}: partner {code}: {len(names)} revision(s) but {len(dates)} revision date(s)",
            )
        parsed = [_iso_date(path, int(n), "revision_in_force", d) for d in dates]
        if any(d <= in_force for d in parsed):
            raise DataError(path, f"row {n}: partner {code}: a revision date is not after in_force")
        if not row["source"].startswith(_FTA_SOURCES):
            raise DataError(
                path,
                f"row {n}: source is not a USTR or Federal Register address: {row['source']!r}",
            )
        out.append(
            Agreement(
                partner_code=code,
                partner=row["partner"],
                agreement=row["agreement"],
                in_force=in_force,
                revisions=tuple(zip(names, parsed, strict=True)),
                source=row["source"],
            )
        )
    return sorted(out, key=lambda a: (a.in_force, a.partner_code))


def load_events(path: str | Path = EVENTS_CSV) -> list[Event]:
    """Read and validate ``events.csv``, in date order.

    Checks: the columns; an ISO date; ``scope`` a Census code or ``all``; a non-empty label; a
    kind of :data:`EVENT_KINDS`; an ``https://`` source. Raises ``DataError(path, "row N: ...")``.
    """
    path = Path(path)
    out: list[Event] = []
    for row in _read_rows(path, EVENT_COLUMNS, "event table"):
        n = row["_row"]
        date = _iso_date(path, int(n), "date", row["date"])
        scope = None if row["scope"] == ALL_PARTNERS else _code(path, row, "scope")
        if not row["label"]:
            raise DataError(path, f"row {n}: empty label")
        if row["kind"] not in EVENT_KINDS:
            raise DataError(
                path, f"row {n}: kind {row['kind']!r} is not one of {', '.join(EVENT_KINDS)}"
            )
        if not row["source"].startswith("https://"):
            raise DataError(path, f"row {n}: source is not an https:// address: {row['source']!r}")
        out.append(Event(date, scope, row["label"], row["kind"], row["source"]))
    return sorted(out, key=lambda e: e.date)


def agreement_for(code: int, path: str | Path = FTA_CSV) -> Agreement | None:
    """The partner's agreement in ``us_ftas.csv``, or None when it has none."""
    return next((a for a in load_agreements(path) if a.partner_code == int(code)), None)


def partner_dates(code: int, path: str | Path = FTA_CSV) -> list[AgreementDate]:
    """The partner's agreement dates (entry into force, revisions); empty without an agreement."""
    agreement = agreement_for(code, path)
    return [] if agreement is None else agreement.dates()


def agreement_months(code: int, path: str | Path = FTA_CSV) -> list[str]:
    """The partner's agreement months (``YYYY-MM``), entry into force first."""
    return [d.month for d in partner_dates(code, path)]


def events_in_scope(code: int, events: list[Event]) -> list[Event]:
    """The events a partner's charts mark: those scoped to it or to all partners.

    A row scoped to the partner replaces an ``all`` row of the same kind in the same month (the
    partner's own wording of a shared event, e.g. Korea's "Renegotiation; §232 steel tariffs").
    """
    own = [e for e in events if e.scope == int(code)]
    taken = {(e.kind, e.date.year, e.date.month) for e in own}
    shared = [
        e for e in events if e.scope is None and (e.kind, e.date.year, e.date.month) not in taken
    ]
    return sorted(own + shared, key=lambda e: e.date)


def entry_month(code: int, given: str = "", path: str | Path = FTA_CSV) -> str:
    """``given`` when it is not blank, else the month (``YYYY-MM``) the partner's agreement
    entered into force: the default break of the notebooks about one agreement. Raises
    ``ParameterError`` for a partner without an agreement and no ``given`` month."""
    if given.strip():
        return given.strip()
    months = agreement_months(code, path)
    if not months:
        raise ParameterError(
            f"partner {code}: no agreement in {Path(path).name}; give the break month"
        )
    return months[0]


def entry_year(code: int, given: str = "", path: str | Path = FTA_CSV) -> str:
    """``given`` when it is not blank, else the year the partner's agreement entered into force
    (the first treated year of an annual design), as text like a notebook parameter."""
    return given.strip() or entry_month(code, "", path)[:4]
