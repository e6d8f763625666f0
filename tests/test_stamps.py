"""Content stamps of raw files (analysis.pipeline.stamps): make sees content, not mtimes."""

from __future__ import annotations

import os
import time
from pathlib import Path

from analysis import fileio
from analysis.pipeline import stamps


def _mtime(p: Path) -> int:
    return p.stat().st_mtime_ns


def test_first_content_is_dated_by_the_file_a_change_by_now_a_return_by_its_first_date(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "raw" / "country.xlsx"
    raw.parent.mkdir()
    raw.write_bytes(b"good")
    old = time.time_ns() - 3_600_000_000_000  # an hour ago
    os.utime(raw, ns=(old, old))
    st = tmp_path / "stamps"
    stamp = stamps.refresh(raw, st)
    assert _mtime(stamp) == old  # a file just fetched re-runs nothing on the next make
    assert stamp.read_text().startswith(fileio.sha256_file(raw))
    # a byte changed, the time restored: the stamp is newer than every output
    raw.write_bytes(b"evil")
    os.utime(raw, ns=(old, old))
    before = time.time_ns()
    assert _mtime(stamps.refresh(raw, st)) >= before
    # the good file back: the stamp returns to the good content's date
    raw.write_bytes(b"good")
    os.utime(raw, ns=(old, old))
    assert _mtime(stamps.refresh(raw, st)) == old


def test_a_missing_optional_file_is_older_than_everything(tmp_path: Path) -> None:
    raw = tmp_path / "absent.tsv"
    stamp = stamps.refresh(raw, tmp_path / "stamps")
    assert stamp.read_text().startswith("missing") and _mtime(stamp) == 0
    raw.write_bytes(b"now here")
    assert _mtime(stamps.refresh(raw, tmp_path / "stamps")) == _mtime(raw)


def test_a_rewrite_is_rehashed_even_with_size_and_time_restored(tmp_path: Path) -> None:
    raw = tmp_path / "f.csv"
    raw.write_bytes(b"aaaa")
    cache = tmp_path / "f.hashed"
    first = stamps._digest(raw, cache)
    st = raw.stat()
    raw.write_bytes(b"bbbb")  # same size
    os.utime(raw, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert stamps._digest(raw, cache) != first


def test_one_sha256_helper_for_the_whole_package(tmp_path: Path, monkeypatch) -> None:
    """The stamps hash files with fileio.sha256_file; their own sha256 function is gone."""
    import hashlib

    raw = tmp_path / "x.bin"
    raw.write_bytes(b"abc" * 1000)
    assert stamps._digest(raw) == hashlib.sha256(raw.read_bytes()).hexdigest()
    assert not hasattr(stamps, "content_id")
    monkeypatch.setattr(stamps, "sha256_file", lambda path: "from-fileio")
    assert stamps._digest(raw) == "from-fileio"
    assert stamps.refresh(raw, tmp_path / "stamps").read_text().startswith("from-fileio")
