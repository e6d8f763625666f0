"""Content stamps of the raw files, so make re-runs a step when a file's bytes change.

make compares modification times, so a raw file changed with its time restored would go
unnoticed. The Makefile therefore calls ``python -m analysis.pipeline.stamps FILE ...`` when
it reads itself; for each file this keeps ``build/stamps/<name>.sha256`` (the steps that read
the file depend on it) whose time is that of the file's *content*:

* the first time a content (sha256) is seen, it is dated by the file's own time, so a file
  that ``make data`` just fetched does not make the next ``make`` re-run anything;
* a content seen before keeps the date it was first seen (a good file put back after a bad
  one leaves the outputs up to date);
* a new content of a file already stamped is dated now, so the steps that read it re-run
  (and their readers, which verify every file, refuse a changed one).

The dates of every content seen are kept in ``build/stamps/<name>.seen/<sha256>``. Standard
library only (the digest is :func:`analysis.fileio.sha256_file`, which is too): it runs
before the virtual environment exists. Prints nothing.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from analysis import cli
from analysis.fileio import sha256_file, stat_key

STAMPS = Path("build") / "stamps"
MISSING = "missing"


def _digest(path: Path, cache: Path | None = None) -> str:
    """:func:`~analysis.fileio.sha256_file` of ``path``, or ``missing``; with ``cache`` (a small
    file), the digest is re-read only when the file's :func:`~analysis.fileio.stat_key` changed since it was
    last hashed."""
    if not path.is_file():
        return MISSING
    key = stat_key(path)
    if cache is not None and cache.is_file():
        cached_key, _, digest = cache.read_text(encoding="utf-8").partition(" ")
        if cached_key == key and digest.strip():
            return digest.strip()
    digest = sha256_file(path)
    if cache is not None:
        cache.write_text(f"{key} {digest}\n", encoding="utf-8")
    return digest


def refresh(raw: Path, stamps: Path = STAMPS) -> Path:
    """Bring ``stamps/<name>.sha256`` up to date for ``raw`` (see the module docstring)."""
    stamp = stamps / f"{raw.name}.sha256"
    seen = stamps / f"{raw.name}.seen"
    seen.mkdir(parents=True, exist_ok=True)
    digest = _digest(raw, cache=seen.with_suffix(".hashed"))
    marker = seen / digest
    if not marker.exists():
        first_ever = not any(p.name != MISSING for p in seen.iterdir())
        marker.touch()
        if digest != MISSING and first_ever:
            when = raw.stat().st_mtime_ns
            os.utime(marker, ns=(when, when))
        elif digest == MISSING:
            os.utime(marker, ns=(0, 0))
        else:
            now = time.time_ns()
            os.utime(marker, ns=(now, now))
    text = f"{digest}  {raw.as_posix()}\n"
    if not stamp.is_file() or stamp.read_text(encoding="utf-8") != text:
        stamp.write_text(text, encoding="utf-8")
    when = marker.stat().st_mtime_ns
    if stamp.stat().st_mtime_ns != when:
        os.utime(stamp, ns=(when, when))
    return stamp


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    """Refresh the stamps of the files given (paths relative to the current folder)."""
    ap = cli.ArgumentParser(
        prog="python -m analysis.pipeline.stamps",
        description="Refresh build/stamps/<name>.sha256 of each raw file (see the module).",
    )
    ap.add_argument("files", nargs="*", type=Path, metavar="FILE")
    for path in ap.parse_args(sys.argv[1:] if argv is None else argv).files:
        refresh(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
