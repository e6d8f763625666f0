"""Atomic file output: write to a temporary file beside the target, then rename.

A reader (or ``make``) therefore sees either the old complete file or the new complete
file, never a half-written one, even if the process is killed mid-write. A writer killed
mid-write (SIGKILL, or a kernel whose parent died) leaves its hidden temporary file behind;
temporary names carry the writer's pid so that :func:`remove_stale_temps` can tell such
leftovers from the files of writers still running.

Larger staged outputs (an executed notebook, a folder of figures) are staged outside the
published folders, under ``build/staging/`` at the same relative path (:func:`staging_home`),
so that a killed run leaves nothing of them in ``reports/``; the rename into place stays atomic
(same filesystem, checked).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from analysis import config


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_atomic(target: str | Path, writer: Callable[[Path], Any]) -> Path:
    """Call ``writer(tmp_path)`` and move the result onto ``target`` atomically."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def write_text_atomic(target: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` newlines) to ``target`` atomically."""
    return write_atomic(target, lambda p: p.write_text(text, encoding="utf-8", newline="\n"))


def write_json_atomic(target: str | Path, obj: Any) -> Path:
    """Write ``obj`` as stable, pretty JSON (sorted keys, trailing newline) atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    return write_text_atomic(target, text)


def stat_key(path: str | Path) -> str:
    """Size, inode, modification and change times of ``path``: a write changes the change time
    (ctime), which no user command can set back, so an unchanged key means unchanged bytes.
    (The Makefile's stamps check uses the same four fields, from GNU ``stat``.)"""
    st = Path(path).stat()
    return f"{st.st_size}:{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks (the file is opened read-only)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


#: Where :func:`staging_home` stages what is bound for a folder of the repository.
STAGING_SUBDIR = "staging"


def staging_home(folder: str | Path) -> Path:
    """The folder in which to stage what is bound for ``folder`` (and rename it from there):
    ``build/staging/<folder relative to the repository>`` for a folder of the repository
    outside ``build/`` (``reports/korea-south`` -> ``build/staging/reports/korea-south``), so
    that a killed run leaves no temporary file in a published folder; ``folder`` itself for a
    folder outside the repository or in ``build/``, or when the two are not on one filesystem
    (a rename across filesystems is not atomic). Both folders are created."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    root, build = Path(config.ROOT).resolve(), Path(config.BUILD_DIR).resolve()
    real = folder.resolve()
    if not real.is_relative_to(root) or real.is_relative_to(build):
        return folder
    home = build / STAGING_SUBDIR / real.relative_to(root)
    try:
        home.mkdir(parents=True, exist_ok=True)
        if home.stat().st_dev != real.stat().st_dev:
            return folder
    except OSError:
        return folder
    return home


def staging_dir(target: str | Path) -> Path:
    """A new empty folder ``.<name>.<pid>.staging`` for the folder ``target``, in its
    :func:`staging_home` (under ``build/staging/``), to fill and then move into place with
    :func:`replace_dir` (so readers see the old or the new folder, never a mix)."""
    target = Path(target)
    stage = staging_home(target.parent) / f".{target.name}.{os.getpid()}.staging"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir()
    return stage


def replace_dir(stage: str | Path, target: str | Path) -> Path:
    """Move the folder ``stage`` onto ``target``, replacing the old folder and its files.

    Two renames (old aside, new in), then the old folder is deleted: a reader sees the old
    complete folder or the new one; only a process killed between the two renames leaves no
    ``target`` (and the aside folder, which :func:`remove_stale_temps` removes later).
    """
    stage, target = Path(stage), Path(target)
    # The aside folder goes where the stage was made (same filesystem, not published).
    old = staging_home(target.parent) / f".{target.name}.{os.getpid()}.old"
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(stage, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


#: Temporary names of this package's writers: ``.<name>.<pid>.<random>.tmp``
#: (:func:`atomic_path`) and ``.<stem>.<pid>.tmp.ipynb`` (``analysis.pipeline.run_notebook``).
_TEMP_NAME = re.compile(r"^\..+\.(?P<pid>\d+)\.(?:[^.]+\.tmp|tmp\.ipynb)$")
#: Folders of :func:`staging_dir` and :func:`replace_dir`: ``.<name>.<pid>.staging|old``.
_TEMP_DIR = re.compile(r"^\..+\.(?P<pid>\d+)\.(?:staging|old)$")


def _pid_alive(pid: int) -> bool:
    """True if a process with this pid runs (or may run: we cannot tell).

    A killed process that its parent has not reaped yet (a zombie) does not run.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    try:  # Linux: the state after the command name in /proc/<pid>/stat
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in (b"Z", b"X")


def remove_stale_temps(folder: str | Path, *, depth: int = 1) -> list[Path]:
    """Delete the temporary files (and staging folders) that killed writers left in
    ``folder``; return them.

    Only names of this package's temporary files and folders whose writer's pid no longer runs are
    removed, in ``folder`` and its subfolders down to ``depth`` levels (hidden folders are
    skipped), so a concurrent writer's file is never touched. A missing folder is fine.
    """
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            d = _TEMP_DIR.match(entry.name)
            if d and not _pid_alive(int(d["pid"])):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
            elif depth > 0 and not entry.name.startswith("."):
                removed += remove_stale_temps(entry, depth=depth - 1)
            continue
        m = _TEMP_NAME.match(entry.name)
        if m and entry.is_file() and not _pid_alive(int(m["pid"])):
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed.append(entry)
    return removed


def record_timing(step: str, seconds: float, kind: str = "step") -> None:
    """Append ``{"step": step, "seconds": s, "kind": kind}`` to ``$ANALYSIS_TIMINGS`` when it is
    set: the benchmark's record of what a real ``make`` run spent where (a notebook run, an X-13
    run). Never written into an output, which stays the same however long it took."""
    path = os.environ.get("ANALYSIS_TIMINGS")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(
                json.dumps({"step": str(step), "seconds": round(seconds, 3), "kind": kind}) + "\n"
            )
