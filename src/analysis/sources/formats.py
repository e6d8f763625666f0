"""Format-level sanity checks shared by the source modules (and used for a source without one).

Each ``require_*`` function raises ``DataError`` naming ``label`` with a one-line problem when
a file is not of its format (an HTML error page saved under the data file's name, a truncated
archive, ...). Standard library only.
"""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

from analysis.errors import DataError

ZIP_MAGIC: bytes = b"PK\x03\x04"
GZIP_MAGIC: bytes = b"\x1f\x8b"
UTF8_BOM: bytes = b"\xef\xbb\xbf"


def head(path: str | Path, n: int = 4096) -> bytes:
    """The first ``n`` bytes of a file."""
    with open(path, "rb") as fh:
        return fh.read(n)


def sniff(first: bytes) -> str:
    """A short description of what the first bytes of a file look like."""
    if not first:
        return "it is empty"
    low = first.lstrip(UTF8_BOM).lstrip().lower()
    if low.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")) or b"<html" in low[:1024]:
        return "it looks like an HTML page (an error or login page saved under this name?)"
    if first.startswith(ZIP_MAGIC):
        return "it is a zip archive"
    return f"it starts with {first[:24]!r}"


def require_xlsx(path: str | Path, label: str) -> None:
    """A complete zip container (an xlsx workbook is one)."""
    first = head(path)
    if first.startswith(ZIP_MAGIC) and not zipfile.is_zipfile(path):
        raise DataError(label, "truncated or corrupt xlsx workbook (the zip archive is incomplete)")
    if not first.startswith(ZIP_MAGIC):
        raise DataError(label, f"not an xlsx workbook: {sniff(first)}")


def require_tsv(path: str | Path, label: str) -> list[list[str]]:
    """A UTF-8, tab-separated text table (``#`` lines are comments); returns its rows."""
    first = head(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(label, "not a UTF-8 text table") from None
    rows = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if (
        first.lstrip().lower().startswith((b"<!doctype", b"<html"))
        or not rows
        or "\t" not in rows[0]
    ):
        raise DataError(label, f"not a tab-separated table: {sniff(first)}")
    return [ln.split("\t") for ln in rows]


def require_gzip_csv(path: str | Path, label: str, columns: tuple[str, ...]) -> list[str]:
    """A gzip-compressed CSV whose header has ``columns``; returns the header."""
    first = head(path)
    if not first.startswith(GZIP_MAGIC):
        raise DataError(label, f"not a gzip file: {sniff(first)}")
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            header = fh.readline().strip().split(",")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(label, f"unreadable gzip: {exc}") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(
            label, f"not a Census API extract (no {', '.join(missing)} column in the header)"
        )
    return header


def check_by_format(fmt: str, path: str | Path, label: str) -> tuple[str, str]:
    """The generic check of a format, for a source that has no module of its own."""
    if fmt == "xlsx":
        require_xlsx(path, label)
    elif fmt == "tsv":
        require_tsv(path, label)
    elif fmt == "csv.gz":
        require_gzip_csv(path, label, ("CTY_CODE",))
    elif fmt == "csv":
        if not head(path).strip():
            raise DataError(label, "empty file")
    else:  # pragma: no cover - the manifest parser allows only the formats above
        raise DataError(label, f"unsupported format {fmt!r}")
    return "", ""
