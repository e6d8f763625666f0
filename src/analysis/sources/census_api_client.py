"""Client of the Census International Trade API (HS2/HS4/HS6 by country and month), cached.

Endpoints ``timeseries/intltrade/exports/hs`` (total exports, ``ALL_VAL_MO``, f.a.s. US$)
and ``timeseries/intltrade/imports/hs`` (general imports, ``GEN_VAL_MO``, customs US$), one
row per commodity, country and month, from 2013-01 to the latest published month.

Key. Since 12 May 2026 every request needs a key: it is read from ``$CENSUS_API_KEY`` only
when a request goes out (cached answers need none). It is never printed, logged, written to
a file or put in an error message: URLs in messages and logs have ``key=REDACTED``; the
cache is keyed by the query *without* the key.

Splitting (the API times out or refuses very large answers). :func:`plan` makes one request
per flow x level x year (all months, all countries) for HS2 (about 150,000 rows a year);
HS4 and HS6 are split further by HS2 chapter (``E_COMMODITY=87*``: about 100 requests a
year each); ``by_month=True`` also splits by month, for the largest HS6 chapters.

Answers. Not following redirects is deliberate: a request without a valid key is redirected
(302) to an HTML "missing key" page, which a client that follows redirects sees as a 200.
A redirect, a key-error header (``X-DataWebAPI-KeyError``) or any HTML answer
(``Content-Type: text/html`` or a body starting with ``<``) is a :class:`CensusApiKeyError`
(one line). 429 and 5xx (and connection errors) are retried with exponential backoff, a
bounded number of times, through an injectable ``sleep``. 204, an empty body and ``[]`` are
an empty table. Anything else must be the API's JSON form: an array of rows, header first.

Cache and vintages. A JSON answer is stored as sent in
``build/cache/census-api/<sha256 of the query without key>.json`` and reused by the next
identical query; each stored answer is recorded in the vintage log (``data/raw/vintages.csv``,
:mod:`analysis.sources.manifest`): source ``census_api_<flow>_<level>``, time, bytes,
sha256, first and last month, and as origin the redacted query with its row count.
"""

from __future__ import annotations

import argparse
import contextlib
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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from analysis import cli, config
from analysis.errors import ParameterError, SourceUnavailable
from analysis.fileio import write_atomic
from analysis.sources.download import USER_AGENT
from analysis.sources.manifest import ACCEPTED, append_vintage_log

log = logging.getLogger(__name__)

BASE_URL = "https://api.census.gov/data/timeseries/intltrade"
KEY_ENV = "CENSUS_API_KEY"
FIRST_YEAR = 2013
LEVELS: tuple[str, ...] = ("HS2", "HS4", "HS6")
CACHE_DIR: Path = config.BUILD_DIR / "cache" / "census-api"
#: Response headers by which the API flags a missing or invalid key.
KEY_ERROR_HEADERS: tuple[str, ...] = ("X-DataWebAPI-KeyError",)
DEFAULT_RETRIES = 4
DEFAULT_BACKOFF = 2.0
MAX_WAIT = 120.0
DEFAULT_TIMEOUT = 120.0
#: Cached answers for the current year (months still being published) are refreshed after this.
CURRENT_YEAR_MAX_AGE_S = 24 * 3600.0
_KEY_IN_URL = re.compile(r"([?&]key=)[^&#\s]*", re.IGNORECASE)


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


def redact(text: str, key: str | None = None) -> str:
    """``text`` with any ``key=...`` URL parameter and the key itself replaced."""
    text = _KEY_IN_URL.sub(r"\1REDACTED", text)
    if key:
        text = text.replace(key, "REDACTED")
        text = text.replace(urllib.parse.quote(key, safe=""), "REDACTED")
    return text


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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Do not follow redirects: the 3xx reaches the caller as an ``HTTPError``."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass
class _Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


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


class Client:
    """Requests to the API, with retries, a local cache and the vintage log.

    ``key`` defaults to ``$CENSUS_API_KEY`` (read when a request is sent); ``sleep`` is
    ``time.sleep`` (tests pass a recorder); ``cache_dir`` and ``vintage_log`` default to
    ``build/cache/census-api/`` and ``data/raw/vintages.csv``.
    """

    def __init__(
        self,
        key: str | None = None,
        *,
        base_url: str = BASE_URL,
        cache_dir: str | Path | None = None,
        vintage_log: str | Path | None = None,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        timeout: float = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._key = key
        self.base_url = base_url
        self.cache_dir = Path(cache_dir) if cache_dir is not None else CACHE_DIR
        self.vintage_log = Path(vintage_log) if vintage_log is not None else config.VINTAGE_LOG
        self.retries, self.backoff, self.timeout, self.sleep = retries, backoff, timeout, sleep
        self._opener = urllib.request.build_opener(_NoRedirect())

    def __repr__(self) -> str:  # never show the key
        return f"Client(base_url={self.base_url!r}, cache_dir={str(self.cache_dir)!r})"

    def _api_key(self) -> str:
        key = self._key if self._key is not None else os.environ.get(KEY_ENV, "")
        if not key.strip():
            raise CensusApiKeyError(
                f"the Census API key is missing: set {KEY_ENV} (free at "
                "https://api.census.gov/data/key_signup.html), or use the data mirror's extracts"
            )
        return key.strip()

    def _say(self, text: str) -> str:
        return redact(text, self._key or os.environ.get(KEY_ENV) or None)

    # ---- one query -------------------------------------------------------------------------

    def cache_path(self, query: Query) -> Path:
        return self.cache_dir / f"{query.cache_key()}.json"

    def get(self, query: Query, *, refresh: bool = False) -> pd.DataFrame:
        """One query's table: from the cache when there (and fresh), else from the API."""
        path = self.cache_path(query)
        if not refresh and self._fresh(path, query):
            log.info("census api: cache hit %s", path.name)
            return self._parse(path.read_bytes(), query)
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
        if not path.is_file():
            return False
        if query.year < date.today().year:
            return True
        return time.time() - path.stat().st_mtime < CURRENT_YEAR_MAX_AGE_S

    def _parse(self, body: bytes, query: Query) -> pd.DataFrame:
        try:
            return to_frame(json.loads(body.decode("utf-8")) if body.strip() else [], query)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CensusApiError(
                self._say(f"{query.url(self.base_url)}: not the API's JSON form ({exc})")
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
                "origin": f"{query.url(self.base_url)} ({len(table)} rows; cache {path.name[:12]})",
                "status": ACCEPTED,
            },
        )

    # ---- HTTP ------------------------------------------------------------------------------

    def _request(self, query: Query) -> bytes:
        """The body of a data answer (b"" for none); retries 429/5xx; raises one line."""
        shown = query.url(self.base_url)
        sep = "&" if "?" in shown else "?"
        url = f"{shown}{sep}{urllib.parse.urlencode({'key': self._api_key()})}"
        last, retry_after = "", None
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self._wait(attempt, retry_after))
            log.info("census api: GET %s (attempt %d)", shown, attempt + 1)
            try:
                answer = self._send(url)
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                last = self._say(f"{type(reason).__name__}: {reason}")
                continue
            self._check_key(answer, shown)
            if answer.status == 429 or answer.status >= 500:
                last = f"HTTP {answer.status}"
                retry_after = answer.headers.get("Retry-After")
                continue
            return self._data(answer, shown)
        tries = f"{self.retries + 1} attempts" if self.retries else "1 attempt"
        raise CensusApiError(self._say(f"{shown}: {last} ({tries}); try again later"))

    def _wait(self, attempt: int, retry_after: str | None) -> float:
        """``backoff * 2**(attempt-1)`` seconds, or the server's ``Retry-After`` if longer;
        at most ``MAX_WAIT``."""
        wait = self.backoff * 2 ** (attempt - 1)
        with contextlib.suppress(TypeError, ValueError):
            wait = max(wait, float(retry_after or ""))
        return min(wait, MAX_WAIT)

    def _send(self, url: str) -> _Answer:
        request = urllib.request.Request(
            url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"}
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as resp:
                return _Answer(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as exc:
            with exc:
                try:
                    body = exc.read()
                except (OSError, ValueError):
                    body = b""
            return _Answer(exc.code, exc.headers, body)

    def _check_key(self, answer: _Answer, shown: str) -> None:
        """A key-error header, a redirect or an HTML page means the key is missing/invalid."""
        for name in KEY_ERROR_HEADERS:
            value = answer.headers.get(name)
            if value:
                detail = self._say(" ".join(value.split()))[:160]
                raise CensusApiKeyError(
                    f"{shown}: the Census API key in {KEY_ENV} is missing or invalid "
                    f"(HTTP {answer.status}, {name}: {detail})"
                )
        if 300 <= answer.status < 400:
            where = self._say(answer.headers.get("Location") or "?")
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

    def _data(self, answer: _Answer, shown: str) -> bytes:
        if answer.status == 204:
            return b""
        if answer.status != 200:
            text = self._say(" ".join(answer.body[:300].decode("utf-8", "replace").split()))
            raise CensusApiError(f"{shown}: HTTP {answer.status}" + (f": {text}" if text else ""))
        return answer.body

    # ---- many queries ----------------------------------------------------------------------

    def fetch(self, queries: Iterable[Query], *, refresh: bool = False) -> pd.DataFrame:
        """The tables of ``queries`` (see :func:`plan`), concatenated."""
        frames = [t for q in queries if not (t := self.get(q, refresh=refresh)).empty]
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)


# ---- command line ----------------------------------------------------------------------------


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.sources.census_api_client FLOW LEVEL OUT.csv [--from Y] [--to Y]``."""
    ap = argparse.ArgumentParser(
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
    ap.add_argument("--refresh", action="store_true", help="ignore the cache")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    queries = plan(
        args.flow,
        args.level,
        range(args.first, args.last + 1),
        chapter_list=args.chapter,
        by_month=args.by_month,
    )
    table = Client().fetch(queries, refresh=args.refresh)
    write_atomic(
        config.from_root(args.out), lambda p: table.to_csv(p, index=False, lineterminator="\n")
    )
    print(f"{len(table)} rows from {len(queries)} queries -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
