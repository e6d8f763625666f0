"""The source manifest (``data/raw/sources.json``) and the machine-local vintage log.

The committed manifest lists each source: its official URL, the file name under
``data/raw/``, its path in a local mirror, licence and the sha256 of every known published
vintage. The vintage log ``data/raw/vintages.csv`` (not committed) records every vintage not
pinned in the manifest that was checked: ``status`` is ``accepted`` (it may be used) or
``rejected`` (it failed its content checks or cleaning and was moved to
``data/raw/quarantine/``). A log written before the ``status`` column existed is read as all
``accepted``, and gains the column the next time a row is appended. Standard library only.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis import config
from analysis.errors import DataError, ParameterError

#: Columns of the vintage log; logs written before ``status`` existed lack the last column.
VINTAGE_LOG_COLUMNS: tuple[str, ...] = (
    "source",
    "obtained_utc",
    "bytes",
    "sha256",
    "first_month",
    "last_month",
    "origin",
    "status",
)
_OLD_LOG_COLUMNS = VINTAGE_LOG_COLUMNS[:-1]
ACCEPTED = "accepted"
REJECTED = "rejected"

FORMATS: frozenset[str] = frozenset({"xlsx", "csv", "tsv", "csv.gz"})
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Vintage:
    """One published version of a source file, pinned by its sha256."""

    sha256: str
    bytes: int
    note: str = ""


@dataclass(frozen=True)
class Source:
    """One raw data source as described in ``data/raw/sources.json``."""

    id: str
    title: str
    url: str
    file: str
    mirror_path: str
    format: str
    license: str
    attribution: str
    required: bool
    known_vintages: tuple[Vintage, ...] = ()
    zip_member_glob: str | None = None
    #: For a source the pipeline can do without: what it then does, as make says it when the
    #: file cannot be had ("note: optional source <id> unavailable; <this>"). A source without
    #: it stops make when it cannot be had (see :mod:`analysis.sources.rules`).
    when_unavailable: str | None = None

    def known(self, sha256: str) -> Vintage | None:
        """The pinned vintage with this sha256, or None."""
        for v in self.known_vintages:
            if v.sha256 == sha256:
                return v
        return None


def load_manifest(path: str | Path | None = None) -> dict[str, Source]:
    """Read and validate the source manifest; return the sources by id, in file order.

    ``path`` defaults to ``config.SOURCES_MANIFEST`` (``data/raw/sources.json``).
    Raises ``DataError`` naming the file and the problem if it is missing or malformed.
    """
    path = Path(path) if path is not None else config.SOURCES_MANIFEST
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(path, "source manifest not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(path, f"cannot read the source manifest: {exc}") from None
    entries = doc.get("sources") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        raise DataError(path, 'expected an object with a non-empty list "sources"')
    sources: dict[str, Source] = {}
    for i, entry in enumerate(entries):
        src = _parse_source(path, i, entry)
        if src.id in sources:
            raise DataError(path, f"source id {src.id!r} appears twice")
        sources[src.id] = src
    return sources


def _parse_source(path: Path, index: int, entry: Any) -> Source:
    where = f"sources[{index}]"
    if not isinstance(entry, dict):
        raise DataError(path, f"{where}: expected an object")

    def text(key: str, *, optional: bool = False) -> str | None:
        value = entry.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise DataError(path, f"{where}: {key!r} must be a non-empty string")
        return value.strip()

    sid = text("id")
    where = f"source {sid!r}"
    file = text("file")
    mirror_path = text("mirror_path")
    fmt = text("format")
    assert sid and file and mirror_path and fmt  # for the type checker; text() raised otherwise
    if Path(file).name != file or file.startswith("."):
        raise DataError(path, f"{where}: 'file' must be a plain file name, got {file!r}")
    mp = Path(mirror_path)
    if mp.is_absolute() or ".." in mp.parts:
        raise DataError(
            path, f"{where}: 'mirror_path' must be relative inside the mirror, got {mirror_path!r}"
        )
    if fmt not in FORMATS:
        raise DataError(path, f"{where}: 'format' must be one of {sorted(FORMATS)}, got {fmt!r}")
    required = entry.get("required", False)
    if not isinstance(required, bool):
        raise DataError(path, f"{where}: 'required' must be true or false")
    if required and entry.get("when_unavailable") is not None:
        raise DataError(path, f"{where}: a required source has no 'when_unavailable'")
    vintages = []
    for j, v in enumerate(entry.get("known_vintages") or []):
        sha = v.get("sha256") if isinstance(v, dict) else None
        size = v.get("bytes") if isinstance(v, dict) else None
        if not isinstance(sha, str) or not _SHA256_RE.match(sha):
            raise DataError(
                path, f"{where}: known_vintages[{j}].sha256 must be 64 lower-case hex digits"
            )
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise DataError(path, f"{where}: known_vintages[{j}].bytes must be a positive integer")
        vintages.append(Vintage(sha256=sha, bytes=size, note=str(v.get("note", ""))))
    return Source(
        id=sid,
        title=text("title") or "",
        url=text("url", optional=True) or "",
        file=file,
        mirror_path=mirror_path,
        format=fmt,
        license=text("license") or "",
        attribution=text("attribution") or "",
        required=required,
        known_vintages=tuple(vintages),
        zip_member_glob=text("zip_member_glob", optional=True),
        when_unavailable=text("when_unavailable", optional=True),
    )


def get_source(source_id: str, manifest: str | Path | dict[str, Source] | None) -> Source:
    sources = manifest if isinstance(manifest, dict) else load_manifest(manifest)
    try:
        return sources[source_id]
    except KeyError:
        raise ParameterError(
            f"source {source_id!r}: unknown; the manifest lists {', '.join(sources)}"
        ) from None


# ---- vintage log -------------------------------------------------------------------------


def read_vintage_log(path: str | Path | None = None) -> list[dict[str, str]]:
    """Rows of the vintage log (``config.VINTAGE_LOG`` by default); [] if it does not exist.

    Every row has a ``status``; rows of a log written before that column existed are
    ``accepted``.
    """
    path = Path(path) if path is not None else config.VINTAGE_LOG
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return _parse_log(path, fh.read())
    except FileNotFoundError:
        return []


def _parse_log(path: Path, text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        return []
    if tuple(reader.fieldnames) not in (VINTAGE_LOG_COLUMNS, _OLD_LOG_COLUMNS):
        raise DataError(path, f"vintage log header must be {','.join(VINTAGE_LOG_COLUMNS)}")
    return [{**row, "status": row.get("status") or ACCEPTED} for row in reader]


def append_vintage_log(path: str | Path, row: dict[str, str | int]) -> None:
    """Append one row to the vintage log, writing the header if the log is new.

    The log is append-only: the row is written with one ``write`` under an exclusive lock,
    so two ``make -j`` jobs cannot interleave or lose rows. A log without the ``status``
    column is first rewritten with it (its rows ``accepted``), under the same lock.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", newline="", encoding="utf-8") as fh, _locked(fh):
        fh.seek(0)
        old = fh.read()
        lines = []
        if not old or not old.startswith(",".join(VINTAGE_LOG_COLUMNS)):
            fh.seek(0)
            fh.truncate()
            lines.append(",".join(VINTAGE_LOG_COLUMNS) + "\n")
            lines.extend(_csv_line(r) for r in _parse_log(path, old))
        lines.append(_csv_line({"status": ACCEPTED, **row}))
        fh.seek(0, os.SEEK_END)
        fh.write("".join(lines))
        fh.flush()
        os.fsync(fh.fileno())


def _csv_line(row: dict[str, Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([row[c] for c in VINTAGE_LOG_COLUMNS])
    return buf.getvalue()


@contextlib.contextmanager
def _locked(fh: Any) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def accepted_hashes(source_id: str, log_path: str | Path | None = None) -> set[str]:
    """The sha256 of the vintages of a source whose latest log row says ``accepted``."""
    status: dict[str, str] = {}
    for row in read_vintage_log(log_path):
        if row.get("source") == source_id:
            status[row["sha256"]] = row["status"]
    return {sha for sha, s in status.items() if s == ACCEPTED}


def strict_from_env() -> bool:
    """True when ``STRICT`` is set to 1/true/yes/on: only manifest vintages are accepted."""
    return os.environ.get("STRICT", "").strip().lower() in {"1", "true", "yes", "on"}


# ---- messages ------------------------------------------------------------------------------


def show(path: str | Path) -> str:
    """A path for messages: relative to the repository root when inside it. A symbolic link
    in the repository is shown where it is (``data/raw/country.xlsx``), never as the absolute
    path of the file it points to."""
    lexical = Path(os.path.abspath(path))
    candidates = (lexical, lexical.parent.resolve() / lexical.name)
    roots = (Path(os.path.abspath(config.ROOT)), Path(config.ROOT).resolve())
    for candidate in candidates:
        for root in roots:
            if candidate.is_relative_to(root):
                return str(candidate.relative_to(root))
    return str(path)


def say(message: str) -> None:
    """One line on stderr (progress and notices of the data steps)."""
    print(message, file=sys.stderr, flush=True)
