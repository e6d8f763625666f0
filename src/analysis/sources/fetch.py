"""Obtain, verify and adopt raw files: keep a verified copy, else the mirror, else the official URL.

For each source of the manifest (``data/raw/sources.json``, see :mod:`.manifest`),
:func:`ensure`:

1. keeps ``data/raw/<file>`` if it is there and its sha256 verifies (a vintage pinned in the
   manifest, or one accepted earlier in the machine-local vintage log ``data/raw/vintages.csv``);
2. otherwise copies it from ``$ANALYSIS_DATA_MIRROR/<mirror_path>`` when that variable is set
   and the mirror holds the file;
3. otherwise downloads it from the official URL (see :mod:`.download`), into a staging
   folder inside ``data/raw/``. When both fail, one line names both places tried.

A zip archive (the World Bank serves one) is unpacked to get the data member. An unknown
vintage must pass its source's content checks (:func:`check_content`, dispatched by source
through the registry in :mod:`analysis.sources`); it is then recorded in the vintage log and
announced on stderr, or refused when ``STRICT=1``. The final file is moved into place only
when complete and verified, and made read-only. Files in the mirror are only ever read.

Every reader of a project raw file uses :func:`checked_use`: the sha256 is verified each time
(optional sources too), and a file that then fails the reader's checks or cleaning is moved to
``data/raw/quarantine/`` and logged as ``rejected``. Standard library only at import time.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from analysis import config
from analysis import sources as registry
from analysis.errors import ChecksumMismatch, DataError, SourceUnavailable
from analysis.fileio import sha256_file
from analysis.sources import formats
from analysis.sources.download import CHUNK, download
from analysis.sources.manifest import (
    ACCEPTED,
    REJECTED,
    Source,
    accepted_hashes,
    append_vintage_log,
    get_source,
    load_manifest,
    read_vintage_log,
    say,
    show,
    strict_from_env,
)

__all__ = ["check_content", "checked_use", "ensure", "read_vintage_log", "verify"]

QUARANTINE_DIR = "quarantine"
Manifest = str | Path | dict[str, Source] | None


# ---- verification ------------------------------------------------------------------------


def verify(
    source_id: str,
    path: Path | None = None,
    *,
    manifest: Manifest = None,
    vintage_log: str | Path | None = None,
    strict: bool | None = None,
) -> str:
    """Return the sha256 of a raw file if it is a vintage we accepted; else raise.

    ``path`` defaults to ``data/raw/<file>`` of the source. The hash must be a vintage
    pinned in the manifest or (unless ``STRICT=1``) one accepted in the vintage log.
    Raises ``ChecksumMismatch`` for any other hash (the raw file was modified, obtained
    outside ``make data``, or rejected) and ``DataError`` if the file is missing.
    """
    src = get_source(source_id, manifest)
    path = Path(path) if path is not None else config.RAW_DIR / src.file
    log_path = Path(vintage_log) if vintage_log is not None else config.VINTAGE_LOG
    strict = strict_from_env() if strict is None else strict
    if not path.is_file():
        raise DataError(
            show(path), f"raw file for {src.id!r} not found; run `make data` to obtain it"
        )
    digest = sha256_file(path)
    if _accepted(src, digest, log_path, strict):
        return digest
    if strict:
        problem = f"sha256 {digest[:16]}... is not a vintage pinned in the manifest (STRICT=1)"
    else:
        problem = (
            f"sha256 {digest[:16]}... is neither a known vintage nor in the vintage log "
            f"{show(log_path)}; the raw file was changed: delete it and run `make data`"
        )
    raise ChecksumMismatch(show(path), problem)


def _accepted(src: Source, digest: str, log_path: Path, strict: bool) -> bool:
    return src.known(digest) is not None or (
        not strict and digest in accepted_hashes(src.id, log_path)
    )


def describe_known(src: Source, digest: str) -> str:
    """``sha256 ok (known vintage: <note>)`` or ``... (vintage <sha> recorded in the vintage log)``."""
    v = src.known(digest)
    if v is not None:
        return f"sha256 ok (known vintage{': ' + v.note if v.note else ''})"
    return f"sha256 ok (vintage {digest[:12]} recorded in the vintage log)"


def is_project_raw(path: str | Path) -> bool:
    """True for a file under the project's ``data/raw/`` (which must be a verified vintage),
    a symbolic link there included (whatever it points to)."""
    try:
        lexical = Path(os.path.abspath(path))
        return (lexical.parent.resolve() / lexical.name).is_relative_to(config.RAW_DIR.resolve())
    except OSError:
        return False


def _source_for_file(name: str) -> str:
    for src in load_manifest().values():
        if src.file == name:
            return src.id
    raise DataError(
        show(config.RAW_DIR / name),
        f"not a source listed in {show(config.SOURCES_MANIFEST)}; raw files come from `make data`",
    )


@contextlib.contextmanager
def checked_use(
    source_id: str | None, path: str | Path, *, content: bool = False
) -> Iterator[str | None]:
    """Verify a project raw file before its reader uses it; quarantine it if the reader rejects it.

    For a file under ``data/raw/`` (``source_id`` None: the source whose file has that name),
    the sha256 must be an accepted vintage (``ChecksumMismatch`` otherwise), with ``content``
    the source's :func:`check_content` must pass, and the digest is yielded; a ``DataError`` raised inside the block (the reader's content checks, cleaning)
    then moves a vintage not pinned in the manifest to ``data/raw/quarantine/``, logs it as
    rejected, and is raised with that news. Any other path yields None, unchecked (a file
    cleaned by hand, a test fixture, the data mirror).
    """
    path = Path(path)
    if not is_project_raw(path):
        yield None
        return
    sid = source_id or _source_for_file(path.name)
    digest = verify(sid, path)
    try:
        if content:
            check_content(get_source(sid, None), path)
        yield digest
    except ChecksumMismatch:
        raise
    except DataError as exc:
        src = get_source(sid, None)
        if src.known(digest) is not None:
            raise
        raise reject(src, path, digest, exc) from None


def reject(src: Source, path: Path, digest: str, exc: DataError) -> DataError:
    """Move a raw file that failed its checks to ``quarantine/`` and log it as rejected.

    Returns the error to raise: the original problem, and where the file went.
    """
    qdir = path.parent / QUARANTINE_DIR
    qdir.mkdir(exist_ok=True)
    target = qdir / f"{digest[:12]}-{path.name}"
    os.replace(path, target)
    log_path = config.VINTAGE_LOG
    append_vintage_log(
        log_path, _log_row(src, target, digest, "", "", f"quarantined from {show(path)}", REJECTED)
    )
    return DataError(
        exc.path,
        f"{exc.problem}; the file was moved to {show(target)} and logged as rejected in "
        f"{show(log_path)}; run `make data` to obtain {src.id} again",
    )


def _log_row(
    src: Source, path: Path, digest: str, first: str, last: str, origin: str, status: str
) -> dict:
    return {
        "source": src.id,
        "obtained_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "bytes": path.stat().st_size,
        "sha256": digest,
        "first_month": first,
        "last_month": last,
        "origin": origin,
        "status": status,
    }


# ---- content checks ----------------------------------------------------------------------


def check_content(source: Source, path: str | Path, label: str | None = None) -> tuple[str, str]:
    """Sanity-check a candidate file for ``source``; return its (first, last) period.

    The checks are the source module's (``check_content`` of the module registered for
    ``source.id`` in :mod:`analysis.sources`); a source without a module gets the generic
    check of its format. Raises ``DataError`` naming ``label`` (or the path), one line.
    """
    label = label or show(Path(path))
    check = registry.content_check(source.id)
    if check is None:
        return formats.check_by_format(source.format, path, label)
    return check(path, label=label)


# ---- obtaining a source ------------------------------------------------------------------


def ensure(
    source_id: str,
    *,
    mirror: str | Path | None = None,
    strict: bool | None = None,
    url_override: str | None = None,
    raw_dir: str | Path | None = None,
    manifest: Manifest = None,
    vintage_log: str | Path | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    backoff: float | None = None,
) -> Path:
    """Make sure ``<raw_dir>/<file>`` of a source exists and verifies; return its path.

    Order: keep a present file whose sha256 is pinned or accepted in the vintage log; else
    copy from the mirror (``mirror``, default ``$ANALYSIS_DATA_MIRROR``; relative to the
    repository root) when it holds the file; else download from the official URL (or
    ``url_override``). An unknown vintage passes the content check, then is recorded in the
    vintage log and announced, or refused with ``ChecksumMismatch`` when ``strict`` (default:
    ``STRICT=1``); refused or broken downloads leave nothing in ``raw_dir``. A present file
    that is not a verified vintage (one put there by hand) is checked and adopted the same
    way, never overwritten. ``raw_dir`` defaults to ``config.RAW_DIR``; the vintage log to
    ``<raw_dir>/vintages.csv``.
    """
    src = get_source(source_id, manifest)
    raw = Path(raw_dir) if raw_dir is not None else config.RAW_DIR
    log_path = Path(vintage_log) if vintage_log is not None else raw / config.VINTAGE_LOG.name
    strict = strict_from_env() if strict is None else strict
    dest = raw / src.file
    if dest.exists():
        return _keep_present(src, dest, log_path, strict)
    raw.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".acquire-{src.id}-", dir=raw))
    try:
        fetched, origin = _obtain(
            src,
            staging,
            dest,
            mirror,
            url_override,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
        )
        candidate, label = _unpack(src, fetched, staging, origin)
        _adopt(src, candidate, dest, log_path, strict, origin=origin, label=label)
        return dest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _keep_present(src: Source, dest: Path, log_path: Path, strict: bool) -> Path:
    """Keep a present file: a verified vintage as it is, any other after its checks. A
    symbolic link is verified through (its content must be an accepted vintage like any raw
    file) but left as it is: the file it points to may be outside the repository."""
    digest = sha256_file(dest)
    if _accepted(src, digest, log_path, strict):
        _make_read_only(dest)
        link = " (a symbolic link, left as it is)" if dest.is_symlink() else ""
        say(f"{src.id}: {show(dest)} present{link}, {describe_known(src, digest)}")
        return dest
    _accept_unknown(src, dest, dest, digest, log_path, strict, origin=f"existing file {show(dest)}")
    _make_read_only(dest)
    return dest


def _obtain(
    src: Source,
    staging: Path,
    dest: Path,
    mirror: str | Path | None,
    url_override: str | None,
    **download_options: float | int | None,
) -> tuple[Path, str]:
    """Copy the file from the mirror, or else download it; return (staged file, origin)."""
    fetched = staging / src.file
    tried: list[str] = []
    mirror_root = _resolve_mirror(mirror)
    if mirror_root is not None:
        origin_path = mirror_root / src.mirror_path
        if origin_path.is_file():
            shutil.copyfile(origin_path, fetched)  # reads the mirror; never touches it otherwise
            return fetched, f"mirror {origin_path}"
        tried.append(f"{config.MIRROR_ENV}={mirror_root} has no {src.mirror_path}")
    url = url_override or src.url
    if not url:
        tried.append(
            "no official download address (the file is a compilation kept in the data mirror)"
        )
        raise SourceUnavailable(f"{src.id}: {'; '.join(tried)}; {_how_to_supply(src, dest)}")
    try:
        download(url, fetched, **download_options)  # type: ignore[arg-type]
    except SourceUnavailable as exc:
        tried.append(f"cannot download {exc}")
        raise SourceUnavailable(
            f"{src.id}: {'; '.join(tried)}; {_how_to_supply(src, dest)}"
        ) from None
    return fetched, url


def _resolve_mirror(mirror: str | Path | None) -> Path | None:
    if mirror is None:
        return config.mirror_dir()
    path = Path(mirror).expanduser()
    return (path if path.is_absolute() else config.ROOT / path).resolve()


def _how_to_supply(src: Source, dest: Path) -> str:
    return (
        f"to supply it without network, set {config.MIRROR_ENV} to a folder laid out like "
        f"../shared/data (holding {src.mirror_path}) or put the file at {show(dest)}, "
        f"then run `make data` again"
    )


def _unpack(src: Source, fetched: Path, staging: Path, origin: str) -> tuple[Path, str]:
    """The data file itself (the zip member, for a source served as a zip) and its label."""
    label = f"{src.file} from {origin}"
    if not (src.zip_member_glob and formats.head(fetched, 4) == formats.ZIP_MAGIC):
        return fetched, label
    try:
        with zipfile.ZipFile(fetched) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            hits = [n for n in names if fnmatch.fnmatch(Path(n).name, src.zip_member_glob)]
            if len(hits) != 1:
                raise DataError(
                    label,
                    f"zip archive should hold exactly one member matching {src.zip_member_glob!r}, "
                    f"found {len(hits)} (members: {', '.join(names) or 'none'})",
                )
            out = staging / "unzipped" / Path(hits[0]).name
            out.parent.mkdir(exist_ok=True)
            with zf.open(hits[0]) as member, open(out, "wb") as fh:
                shutil.copyfileobj(member, fh, CHUNK)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise DataError(label, f"cannot unpack the zip archive: {exc}") from None
    return out, f"{out.name} (in the zip) from {origin}"


def _adopt(
    src: Source,
    candidate: Path,
    dest: Path,
    log_path: Path,
    strict: bool,
    *,
    origin: str,
    label: str,
) -> None:
    """Move a verified (or checked and logged) candidate into place, read-only."""
    digest = sha256_file(candidate)
    if _accepted(src, digest, log_path, strict):
        say(f"{src.id}: {show(dest)} from {origin}, {describe_known(src, digest)}")
    else:
        _accept_unknown(src, candidate, dest, digest, log_path, strict, origin=origin, label=label)
    _make_read_only(candidate)
    os.replace(candidate, dest)


def _accept_unknown(
    src: Source,
    candidate: Path,
    dest: Path,
    digest: str,
    log_path: Path,
    strict: bool,
    *,
    origin: str,
    label: str | None = None,
) -> None:
    """Check an unknown vintage's content, then log and announce it, or refuse it."""
    label = label or show(dest)
    rejected = [
        r for r in read_vintage_log(log_path) if r["source"] == src.id and r["sha256"] == digest
    ]
    if rejected and rejected[-1]["status"] == REJECTED:
        raise DataError(
            label,
            f"sha256 {digest[:16]}... is a vintage rejected earlier ({rejected[-1]['origin']}, "
            f"see {show(log_path)}); remove it and run `make data`",
        )
    first, last = check_content(src, candidate, label=label)
    size = candidate.stat().st_size
    if strict:
        pinned = ", ".join(v.sha256[:12] for v in src.known_vintages) or "none"
        raise ChecksumMismatch(
            label,
            f"sha256 {digest[:16]}... ({size:,} bytes, {first}..{last}) is not a vintage pinned "
            f"in the manifest ({pinned}); refused because STRICT=1",
        )
    append_vintage_log(log_path, _log_row(src, candidate, digest, first, last, origin, ACCEPTED))
    say(
        f"{src.id}: NEW VINTAGE {show(dest)} from {origin}: sha256 {digest[:16]}..., "
        f"{size:,} bytes, {first}..{last}; not pinned in the manifest, recorded in {show(log_path)} "
        f"(STRICT=1 refuses unknown vintages)"
    )


def _make_read_only(path: Path) -> None:
    """Raw data is immutable: r--r--r--. Ignored if we do not own the file, and for a
    symbolic link: the mode of the file it points to (perhaps outside the repository, someone
    else's) is never changed."""
    if path.is_symlink():
        return
    with contextlib.suppress(OSError):
        os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
