"""Client of the Census International Trade API (HS2/HS4/HS6 by country and month), cached.

Endpoints ``timeseries/intltrade/exports/hs`` (total exports, ``ALL_VAL_MO``, f.a.s. US$)
and ``timeseries/intltrade/imports/hs`` (general imports, ``GEN_VAL_MO``, customs US$), one
row per commodity, country and month, from 2013-01 to the latest published month. The base
address is ``$CENSUS_API_BASE_URL`` when set (a proxy, a mirror, a test server), else
``https://api.census.gov/data/timeseries/intltrade``.

Key. Since 12 May 2026 every request needs a key: it is read from ``$CENSUS_API_KEY`` only
when a request goes out (cached answers need none). It never leaves the client: every
message, log line, exception text and vintage-log entry is redacted (:func:`redact`: the key
in any letter case and URL-encoded, and any ``key=`` parameter) *before* it is shortened;
``http.client``/socket/ssl errors become one redacted line; an answer that contains the key
(any status) is refused, so it is never cached or written out. The cache is keyed by the
query *without* the key, whatever the base address.

Splitting (the API times out or refuses very large answers). :func:`plan` makes one request
per flow x level x year (all months, all countries) for HS2 (about 150,000 rows a year);
HS4 and HS6 are split further by HS2 chapter (``E_COMMODITY=87*``: about 100 requests a
year each); ``by_month=True`` also splits by month, for the largest HS6 chapters.

Bounded requests (the transport is :mod:`analysis.sources.census_api_http`). Each request
has an overall deadline (``$CENSUS_API_DEADLINE`` seconds, default 60) that holds across the
connection, the headers and the body, so a server that drips a byte a second is abandoned;
a size cap (``$CENSUS_API_MAX_BYTES``, default 50 MB) is enforced while reading, in chunks.
A breach is one line and nothing is cached.

Answers. Not following redirects is deliberate: a request without a valid key is redirected
(302) to an HTML "missing key" page, which a client that follows redirects sees as a 200.
A redirect, a key-error header (``X-DataWebAPI-KeyError``) or any HTML answer
(``Content-Type: text/html`` or a body starting with ``<``) is a :class:`CensusApiKeyError`
(one line). 429 and 5xx, connection errors (refused, reset), timeouts and short bodies are
retried with exponential backoff, a bounded number of times, through an injectable
``sleep``; a malformed status line, a header over 64 KB, a deadline or size breach are not.
204, an empty body and ``[]`` are an empty table. Anything else must be the API's JSON form,
an array of rows, header first, with exactly the query's columns (:func:`check_rows`).

Cache and vintages. Only an answer that passed :func:`check_rows` is stored, as sent, in
``build/cache/census-api/<sha256 of the query without key>.json`` and reused by the next
identical query; a cached answer that no longer passes is asked for again. An answer is
*final* once obtained after the annual revision of its year (Census revises a year each June:
:data:`REVISION_MONTH` of the next year); a provisional answer (the current year, or a past
year obtained before its revision) is reused for :data:`PROVISIONAL_MAX_AGE_S` only.
``refresh=True`` (``make products-api REFRESH=1``) asks again for everything. Each stored
answer is recorded in the vintage log (``data/raw/vintages.csv``,
:mod:`analysis.sources.manifest`): source ``census_api_<flow>_<level>``, time, bytes,
sha256, first and last month, and as origin the redacted query with its row count.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from analysis import cli, config
from analysis.errors import ParameterError, SourceUnavailable
from analysis.fileio import write_atomic
from analysis.sources import census_api_http as transport
from analysis.sources import retry
from analysis.sources.manifest import ACCEPTED, append_vintage_log
from analysis.sources.retry import attempts, describe, transient, transient_status

log = logging.getLogger(__name__)

BASE_URL = "https://api.census.gov/data/timeseries/intltrade"
KEY_ENV = "CENSUS_API_KEY"
#: Environment variables: the base address, the deadline (s) and the size cap (bytes).
BASE_URL_ENV = "CENSUS_API_BASE_URL"
DEADLINE_ENV = "CENSUS_API_DEADLINE"
MAX_BYTES_ENV = "CENSUS_API_MAX_BYTES"
FIRST_YEAR = 2013
LEVELS: tuple[str, ...] = ("HS2", "HS4", "HS6")
CACHE_DIR: Path = config.BUILD_DIR / "cache" / "census-api"
#: Response headers by which the API flags a missing or invalid key.
KEY_ERROR_HEADERS: tuple[str, ...] = ("X-DataWebAPI-KeyError",)
DEFAULT_RETRIES = 4
DEFAULT_BACKOFF = 2.0
MAX_WAIT = 120.0
#: Longest wait for one socket operation (connect, send, one read), in seconds.
DEFAULT_TIMEOUT = 30.0
#: Longest time one request may take, headers and body included, in seconds.
DEFAULT_DEADLINE = 60.0
#: Largest answer read, in bytes (the largest real answer is a few MB).
DEFAULT_MAX_BYTES = 50_000_000
#: Longest text of an answer or an error shown in a message (after redaction).
SHOWN_CHARS = 300
#: A provisional answer (its year not yet revised) is reused for this long.
PROVISIONAL_MAX_AGE_S = 24 * 3600.0
#: Census publishes the annual revision of year Y in June of Y+1: an answer obtained from
#: the first day of this month of Y+1 on is final.
REVISION_MONTH = 7
_KEY_IN_URL = re.compile(r"([?&;]key=)[^&#\s]*", re.IGNORECASE)
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class Flow:
    """One endpoint: its path under ``BASE_URL``, commodity variable and value variable."""

    endpoint: str
    commodity: str
    value: str


FLOWS: dict[str, Flow] = {
    "exports": Flow("exports/hs", "E_COMMODITY", "ALL_VAL_MO"),
    "imports": Flow("imports/hs", "I_COMMODITY", "GEN_VAL_MO"),
}


class CensusApiError(SourceUnavailable):
    """The API did not answer with data (one line, never with the key)."""


class CensusApiKeyError(CensusApiError):
    """The API says the key is missing or invalid (redirect, key-error header or HTML page)."""


def _key_forms(key: str) -> list[str]:
    """The key as sent and as it may come back: plain and URL-encoded (longest first)."""
    forms = {key, urllib.parse.quote(key, safe=""), urllib.parse.quote_plus(key)}
    return sorted((f for f in forms if f), key=len, reverse=True)


def _key_pattern(key: str) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(f) for f in _key_forms(key)), re.IGNORECASE)


def redact(text: str, key: str | None = None) -> str:
    """``text`` with any ``key=...`` URL parameter and the key itself (any letter case, plain
    or URL-encoded) replaced by ``REDACTED``. Redact first, shorten after (:func:`one_line`)."""
    if key and key.strip():
        text = _key_pattern(key.strip()).sub("REDACTED", text)
    return _KEY_IN_URL.sub(r"\1REDACTED", text)


def one_line(text: str, key: str | None = None, limit: int = SHOWN_CHARS) -> str:
    """``text`` redacted, then on one line (whitespace collapsed), then cut to ``limit``."""
    text = " ".join(redact(text, key).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def contains_key(data: bytes | str, key: str) -> bool:
    """Whether ``data`` holds the key (any letter case, plain or URL-encoded)."""
    if not key.strip():
        return False
    text = (data.decode("latin-1") if isinstance(data, bytes) else data).lower()
    return any(form.lower() in text for form in _key_forms(key.strip()))


def flag(name: str, value: str) -> bool:
    """A yes/no run parameter (``1``/``0``, ``yes``/``no``, ``true``/``false``; empty is no)."""
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ParameterError(f"{name} {value[:40]!r}: expected 1 or 0")


def _setting(name: str, default: float, *, integer: bool = False) -> float:
    """A positive number from the environment variable ``name`` (``default`` if unset/empty)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = -1
    if not value > 0 or value != value or value == float("inf"):
        kind = "a positive whole number of bytes" if integer else "a positive number of seconds"
        raise ParameterError(f"{name} {raw[:40]!r}: expected {kind}")
    return value


def base_url_from_env(key: str | None = None) -> str:
    """``$CENSUS_API_BASE_URL`` (checked: an http(s) address without query), else ``BASE_URL``."""
    raw = os.environ.get(BASE_URL_ENV, "").strip()
    if not raw:
        return BASE_URL
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        shown = one_line(raw, key or os.environ.get(KEY_ENV), 80)
        raise ParameterError(
            f"{BASE_URL_ENV} {shown!r}: expected an http(s) address without query, e.g. {BASE_URL}"
        )
    return raw


@dataclass(frozen=True)
class Query:
    """One request: a flow, an HS level and a year, optionally one chapter and one month."""

    flow: str
    level: str
    year: int
    month: int | None = None
    chapter: str | None = None

    def __post_init__(self) -> None:
        if self.flow not in FLOWS:
            raise ParameterError(f"flow {self.flow!r}: expected one of {', '.join(FLOWS)}")
        if self.level not in LEVELS:
            raise ParameterError(f"level {self.level!r}: expected one of {', '.join(LEVELS)}")
        if self.month is not None and not 1 <= self.month <= 12:
            raise ParameterError(f"month {self.month!r}: expected 1..12")
        if self.chapter is not None and not re.fullmatch(r"\d{2}", self.chapter):
            raise ParameterError(f"chapter {self.chapter!r}: expected two digits, e.g. '87'")

    @property
    def spec(self) -> Flow:
        return FLOWS[self.flow]

    def params(self) -> list[tuple[str, str]]:
        """The query parameters (without the key), in a fixed order."""
        c = self.spec.commodity
        get = [c, f"{c}_LDESC", "CTY_CODE", "CTY_NAME", self.spec.value]
        if self.month is None:
            get.append("MONTH")
        out = [("get", ",".join(get)), ("COMM_LVL", self.level), ("YEAR", str(self.year))]
        if self.month is not None:
            out.append(("MONTH", f"{self.month:02d}"))
        if self.chapter is not None:
            out.append((c, f"{self.chapter}*"))
        return out

    def url(self, base_url: str = BASE_URL) -> str:
        """The request's address without the key."""
        query = urllib.parse.urlencode(self.params(), safe=",*")
        return f"{base_url.rstrip('/')}/{self.spec.endpoint}?{query}"

    def cache_key(self) -> str:
        """sha256 of the endpoint and query (never the key): the cache file's name."""
        return hashlib.sha256(self.url("").encode("utf-8")).hexdigest()

    @property
    def source(self) -> str:
        """The id under which its answers are recorded in the vintage log."""
        return f"census_api_{self.flow}_{self.level.lower()}"


def chapters() -> list[str]:
    """The HS2 chapters ``01``..``99`` (77 is reserved; asking for it returns nothing)."""
    return [f"{c:02d}" for c in range(1, 100)]


def plan(
    flow: str,
    level: str,
    years: Iterable[int],
    *,
    chapter_list: Iterable[str] | None = None,
    by_month: bool = False,
) -> list[Query]:
    """The requests that cover ``flow`` x ``level`` x ``years`` (see the module docstring)."""
    split_chapters = level != "HS2" or chapter_list is not None
    chs: list[str | None] = list(chapter_list or chapters()) if split_chapters else [None]
    months: list[int | None] = list(range(1, 13)) if by_month else [None]
    return [Query(flow, level, y, m, c) for y in years for c in chs for m in months]


def latest_years(first: int = FIRST_YEAR, today: date | None = None) -> list[int]:
    """``first`` .. this year (the current year's answer holds the months published so far)."""
    return list(range(first, (today or date.today()).year + 1))


def to_frame(rows: object, query: Query | None = None) -> pd.DataFrame:
    """The API's JSON form (array of rows, header first) -> a DataFrame with the API's column
    names: text columns (codes keep leading zeros), ``*_VAL_MO`` numeric."""
    if rows == [] or rows is None:
        return pd.DataFrame(columns=[] if query is None else _expected_columns(query), dtype=str)
    if not (isinstance(rows, list) and all(isinstance(r, list) for r in rows)):
        raise ValueError("not an array of rows")
    header = [str(h) for h in rows[0]]
    body = rows[1:]
    if any(len(r) != len(header) for r in body):
        raise ValueError(f"a row does not have the header's {len(header)} fields")
    df = pd.DataFrame(body, columns=header, dtype=str)
    df = df.loc[:, ~df.columns.duplicated()]  # a predicate also asked for comes back twice
    for col in df.columns:
        if col.endswith("_VAL_MO"):
            df[col] = pd.to_numeric(df[col], errors="raise")
    return df


def _expected_columns(query: Query) -> list[str]:
    names = query.params()[0][1].split(",")
    return [*names, "COMM_LVL", "YEAR"] + (["MONTH"] if query.month is not None else [])


_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_NUMBERS = re.compile(r"(?:-?\d+(?:\.\d+)?\n)*-?\d+(?:\.\d+)?")
_LEVEL_DIGITS = {"HS2": 2, "HS4": 4, "HS6": 6}


def check_rows(rows: object, query: Query) -> None:
    """Raise ``ValueError`` (one line) unless ``rows`` is the answer to ``query``: an array
    of rows of text, header first, with exactly the query's columns (a column asked for
    twice may come back twice); the value a number; ``YEAR``, ``MONTH`` and ``COMM_LVL``
    those asked for; commodity codes of the level's digits (in the chapter asked for)."""
    if rows == [] or rows is None:
        return
    if not (isinstance(rows, list) and rows and all(isinstance(r, list) for r in rows)):
        raise ValueError("not an array of rows")
    header = rows[0]
    expected = _expected_columns(query)
    if not all(isinstance(h, str) for h in header) or set(header) != set(expected):
        shown = ",".join(map(str, header))
        raise ValueError(f"columns {shown!r}, expected {','.join(expected)!r}")
    col = {name: header.index(name) for name in expected}
    body = rows[1:]
    for n, row in enumerate(body, start=1):
        if len(row) != len(header):
            raise ValueError(f"row {n} does not have the header's {len(header)} fields")
    for c, name in enumerate(header):
        try:
            "".join([r[c] for r in body])
        except TypeError:
            n = 1 + next(k for k, r in enumerate(body) if not isinstance(r[c], str))
            raise ValueError(f"row {n}: {name} is not text") from None
    spec, digits = query.spec, _LEVEL_DIGITS[query.level]
    month_ok = {f"{m:02d}" for m in range(1, 13)} if query.month is None else {f"{query.month:02d}"}
    values = [r[col[spec.value]] for r in body]
    joined = "\n".join(values)  # one match for all values (a value with a newline is no number)
    if values and (joined.count("\n") != len(values) - 1 or not _NUMBERS.fullmatch(joined)):
        n, bad = next((k, v) for k, v in enumerate(values, 1) if not _NUMBER.fullmatch(v))
        raise ValueError(f"row {n}: {spec.value} {bad[:20]!r} is not a number")
    checks: list[tuple[str, Callable[[str], bool], str]] = [
        ("YEAR", lambda v: v == str(query.year), f"not the {query.year} asked for"),
        ("MONTH", lambda v: v in month_ok, "not a month asked for"),
        ("COMM_LVL", lambda v: v == query.level, f"not the {query.level} asked for"),
        (
            spec.commodity,
            lambda v: v.isdigit() and len(v) == digits and v.startswith(query.chapter or ""),
            f"not an {query.level} code asked for",
        ),
    ]
    for name, ok, problem in checks:
        column = [r[col[name]] for r in body]
        bad = [v for v in set(column) if not ok(v)]
        if bad:
            n = 1 + column.index(bad[0])
            raise ValueError(f"row {n}: {name} {bad[0][:20]!r} is {problem}")


class Client:
    """Requests to the API, with retries, bounds, a local cache and the vintage log.

    ``key`` defaults to ``$CENSUS_API_KEY`` (read when a request is sent); ``base_url``,
    ``deadline`` and ``max_bytes`` to ``$CENSUS_API_BASE_URL``, ``$CENSUS_API_DEADLINE`` and
    ``$CENSUS_API_MAX_BYTES`` (else ``BASE_URL``, 60 s, 50 MB); ``timeout`` bounds each socket
    operation; ``refresh`` asks the API even for cached answers; ``sleep`` is ``time.sleep``
    (tests pass a recorder); ``cache_dir`` and ``vintage_log`` default to
    ``build/cache/census-api/`` and ``data/raw/vintages.csv``.
    """

    def __init__(
        self,
        key: str | None = None,
        *,
        base_url: str | None = None,
        cache_dir: str | Path | None = None,
        vintage_log: str | Path | None = None,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float | None = None,
        max_bytes: int | None = None,
        refresh: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._key = key
        self.base_url = base_url if base_url is not None else base_url_from_env(key)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else CACHE_DIR
        self.vintage_log = Path(vintage_log) if vintage_log is not None else config.VINTAGE_LOG
        self.retries, self.backoff, self.timeout, self.sleep = retries, backoff, timeout, sleep
        self.deadline = (
            deadline if deadline is not None else _setting(DEADLINE_ENV, DEFAULT_DEADLINE)
        )
        self.max_bytes = int(
            max_bytes
            if max_bytes is not None
            else _setting(MAX_BYTES_ENV, DEFAULT_MAX_BYTES, integer=True)
        )
        self.refresh = refresh

    def __repr__(self) -> str:  # never show the key
        return f"Client(base_url={self._say(self.base_url)!r}, cache_dir={str(self.cache_dir)!r})"

    def _secret(self) -> str:
        key = self._key if self._key is not None else os.environ.get(KEY_ENV, "")
        return key.strip()

    def _api_key(self) -> str:
        key = self._secret()
        if not key:
            raise CensusApiKeyError(
                f"the Census API key is missing: set {KEY_ENV} (free at "
                "https://api.census.gov/data/key_signup.html), or use the data mirror's extracts"
            )
        return key

    def _say(self, text: str, limit: int = 2000) -> str:
        """``text`` redacted, on one line, at most ``limit`` characters: every message."""
        return one_line(text, self._secret() or None, limit)

    def _shown(self, query: Query) -> str:
        """The query's address as messages and the vintage log show it (redacted)."""
        return self._say(query.url(self.base_url), 1000)

    # ---- one query -------------------------------------------------------------------------

    def cache_path(self, query: Query) -> Path:
        return self.cache_dir / f"{query.cache_key()}.json"

    def get(self, query: Query, *, refresh: bool | None = None) -> pd.DataFrame:
        """One query's table: from the cache when there, valid and fresh, else from the API.

        Only an answer that passes :func:`check_rows` and does not contain the key is cached
        and recorded as accepted."""
        path = self.cache_path(query)
        refresh = self.refresh if refresh is None else refresh
        if not refresh and self._fresh(path, query):
            try:
                table = self._parse(path.read_bytes(), query)
            except CensusApiError as exc:
                log.warning("census api: cached %s not used, asking again (%s)", path.name, exc)
            else:
                log.info("census api: cache hit %s", path.name)
                return table
        body = self._request(query)
        if not body.strip():
            return to_frame([], query)
        table = self._parse(body, query)
        if table.empty:
            return table
        write_atomic(path, lambda p: p.write_bytes(body))
        self._record(query, path, body, table)
        return table

    def _fresh(self, path: Path, query: Query) -> bool:
        """Whether a cached answer may be reused: it exists and is final (obtained after its
        year's annual revision) or provisional and younger than ``PROVISIONAL_MAX_AGE_S``."""
        if not path.is_file():
            return False
        mtime = path.stat().st_mtime
        obtained = datetime.fromtimestamp(mtime, UTC).date()
        if obtained >= date(query.year + 1, REVISION_MONTH, 1):
            return True
        return time.time() - mtime < PROVISIONAL_MAX_AGE_S

    def _parse(self, body: bytes, query: Query) -> pd.DataFrame:
        """An answer's table, or one line saying why it is not the answer to ``query``."""
        shown = self._shown(query)
        key = self._secret()
        if key and contains_key(body, key):
            raise CensusApiError(f"{shown}: the answer contains the API key; refused, not kept")
        try:
            rows = json.loads(body.decode("utf-8")) if body.strip() else []
            if key and b"\\u" in body and contains_key(json.dumps(rows), key):
                raise CensusApiError(f"{shown}: the answer contains the API key; refused, not kept")
            check_rows(rows, query)
            return to_frame(rows, query)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            detail = self._say(str(exc), SHOWN_CHARS)
            raise CensusApiError(
                f"{shown}: not the API's JSON form for this query ({detail}); not cached"
            ) from None

    def _record(self, query: Query, path: Path, body: bytes, table: pd.DataFrame) -> None:
        months = []
        if {"YEAR", "MONTH"} <= set(table.columns):
            months = sorted(
                f"{int(y):04d}-{int(m):02d}"
                for y, m in set(zip(table["YEAR"], table["MONTH"], strict=True))
            )
        append_vintage_log(
            self.vintage_log,
            {
                "source": query.source,
                "obtained_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "bytes": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "first_month": months[0] if months else "",
                "last_month": months[-1] if months else "",
                "origin": f"{self._shown(query)} ({len(table)} rows; cache {path.name[:12]})",
                "status": ACCEPTED,
            },
        )

    # ---- HTTP ------------------------------------------------------------------------------

    def _request(self, query: Query) -> bytes:
        """The body of a data answer (b"" for none); retries what may pass; raises one line."""
        shown = self._shown(query)
        url = query.url(self.base_url)
        sep = "&" if "?" in url else "?"
        url = f"{url}{sep}{urllib.parse.urlencode({'key': self._api_key()})}"
        last, retry_after = "", None
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self._wait(attempt, retry_after))
            log.info("census api: GET %s (attempt %d)", shown, attempt + 1)
            try:
                answer = transport.send(
                    url, deadline_s=self.deadline, timeout=self.timeout, max_bytes=self.max_bytes
                )
            except transport.Breach as exc:
                raise CensusApiError(self._say(f"{shown}: {exc}; nothing kept")) from None
            except Exception as exc:  # noqa: BLE001 (any text may hold the key: one line)
                last = self._say(describe(exc), SHOWN_CHARS)
                if not transient(exc):
                    raise CensusApiError(self._say(f"{shown}: {last}")) from None
                retry_after = None
                continue
            self._check_key(answer, shown)
            if transient_status(answer.status):
                last = f"HTTP {answer.status}"
                retry_after = answer.headers.get("Retry-After")
                continue
            return self._data(answer, shown)
        raise CensusApiError(
            self._say(f"{shown}: {last} ({attempts(self.retries)}); try again later")
        )

    def _wait(self, attempt: int, retry_after: str | None) -> float:
        """The shared policy's wait (:func:`analysis.sources.retry.wait`), at most ``MAX_WAIT``."""
        return retry.wait(attempt, self.backoff, retry_after, MAX_WAIT)

    def _check_key(self, answer: transport.Answer, shown: str) -> None:
        """A key-error header, a redirect or an HTML page means the key is missing/invalid."""
        for name in KEY_ERROR_HEADERS:
            value = answer.headers.get(name)
            if value:
                detail = self._say(value, 160)
                raise CensusApiKeyError(
                    f"{shown}: the Census API key in {KEY_ENV} is missing or invalid "
                    f"(HTTP {answer.status}, {name}: {detail})"
                )
        if 300 <= answer.status < 400:
            where = self._say(answer.headers.get("Location") or "?", 160)
            raise CensusApiKeyError(
                f"{shown}: the Census API key in {KEY_ENV} is missing or invalid "
                f"(HTTP {answer.status} redirect to {where}, not followed)"
            )
        ctype = (answer.headers.get("Content-Type") or "").lower()
        if "text/html" in ctype or answer.body.lstrip().startswith(b"<"):
            raise CensusApiKeyError(
                f"{shown}: the Census API key in {KEY_ENV} is missing or invalid "
                f"(HTTP {answer.status} answered with an HTML page, not data)"
            )

    def _data(self, answer: transport.Answer, shown: str) -> bytes:
        if answer.status == 204:
            return b""
        if answer.status != 200:
            # Redact the whole body first, then shorten: a key past the cut must not leave a
            # prefix of itself in the message.
            text = self._say(answer.body.decode("utf-8", "replace"), SHOWN_CHARS)
            raise CensusApiError(f"{shown}: HTTP {answer.status}" + (f": {text}" if text else ""))
        return answer.body

    # ---- many queries ----------------------------------------------------------------------

    def fetch(self, queries: Iterable[Query], *, refresh: bool | None = None) -> pd.DataFrame:
        """The tables of ``queries`` (see :func:`plan`), concatenated."""
        frames = [t for q in queries if not (t := self.get(q, refresh=refresh)).empty]
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)


# ---- command line ----------------------------------------------------------------------------


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.sources.census_api_client FLOW LEVEL OUT.csv [--from Y] [--to Y]``."""
    ap = cli.ArgumentParser(
        prog="python -m analysis.sources.census_api_client", description=__doc__.splitlines()[0]
    )
    ap.add_argument("flow", choices=sorted(FLOWS))
    ap.add_argument("level", choices=LEVELS)
    ap.add_argument(
        "out", help="CSV to write (the API's columns), e.g. build/census-api/imports_hs2.csv"
    )
    ap.add_argument("--from", dest="first", type=int, default=FIRST_YEAR)
    ap.add_argument("--to", dest="last", type=int, default=date.today().year)
    ap.add_argument("--chapter", action="append", help="only these HS2 chapters (repeatable)")
    ap.add_argument("--by-month", action="store_true", help="one request per month as well")
    ap.add_argument(
        "--refresh", action="store_true", help="ignore the cache (also ANALYSIS_REFRESH=1)"
    )
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    queries = plan(
        args.flow,
        args.level,
        range(args.first, args.last + 1),
        chapter_list=args.chapter,
        by_month=args.by_month,
    )
    refresh = args.refresh or flag("REFRESH", config.run_parameter("REFRESH"))
    table = Client(refresh=refresh).fetch(queries)
    write_atomic(
        config.from_root(args.out), lambda p: table.to_csv(p, index=False, lineterminator="\n")
    )
    print(f"{len(table)} rows from {len(queries)} queries -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
