"""Fresh copies of the repository built with ``make all``, shared by the end-to-end tests.

Two builds serve the whole test session (fixtures in ``conftest.py``):

* ``built_site``: ``make all`` on the full data mirror, for the tests that read real Census
  figures off the published pages and files (read-only tests);
* ``mini_site``: ``make all`` on the miniature mirror (``tests/mini_mirror.py``), for the tests
  that change things and run ``make`` again (rebuilds, incremental runs, killed steps, new
  months, hostile names, runs by hand).

Each is built once per test session, also under ``pytest -n 2`` (:func:`shared_site`: the first
worker that needs it builds it under a file lock, the others wait and copy it). Every test that
changes a copy starts from it put back to the state after the build (:func:`settled_site`:
contents, modes and nanosecond mtimes), so no test sees what another changed, in any order.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from repo_copy import copy_repository, make_env, run_make

#: What the pipeline writes (and a failed run must leave byte-identical).
OUTPUT_DIRS: tuple[str, ...] = ("data/processed", "reports", "build/notebooks")
#: Per-machine state that ``make`` re-creates and no target depends on.
IGNORED: tuple[str, ...] = ("build/cache",)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(root: Path, dirs: tuple[str, ...] | None = None) -> Iterator[Path]:
    tops = [root / d for d in dirs] if dirs else [root]
    for top in tops:
        if not top.is_dir():
            continue
        for p in sorted(top.rglob("*")):
            rel = p.relative_to(root).as_posix()
            if (
                p.is_file()
                and not p.is_symlink()
                and not rel.startswith(IGNORED)
                and "__pycache__" not in p.parts
            ):
                yield p


def outputs(root: Path) -> dict[str, str]:
    """sha256 of every file the pipeline writes, by path relative to ``root``."""
    return {p.relative_to(root).as_posix(): sha256(p) for p in _files(root, OUTPUT_DIRS)}


def output_mtimes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in _files(root, OUTPUT_DIRS)}


def snapshot_tree(root: Path, dest: Path) -> Path:
    """Copy the repository copy (contents, modes, nanosecond mtimes) to ``dest``."""
    shutil.copytree(
        root,
        dest,
        symlinks=True,
        ignore=lambda d, names: [
            n
            for n in names
            if n in {"cache", "__pycache__"} and Path(d).name in {"build", "analysis", "tests"}
        ],
    )
    return dest


def reset_tree(root: Path, snapshot: Path) -> list[str]:
    """Make ``root`` identical to ``snapshot`` again (contents, modes and mtimes), so ``make``
    sees exactly the state of the snapshot. Returns what had to be repaired."""
    want = {p.relative_to(snapshot).as_posix(): p for p in _files(snapshot)}
    have = {p.relative_to(root).as_posix(): p for p in _files(root)}
    repaired = []
    for rel in sorted(have.keys() - want.keys()):
        have[rel].unlink()
        repaired.append(f"removed {rel}")
    for rel, src in sorted(want.items()):
        dst = root / rel
        s = src.stat()
        if dst.is_file():
            d = dst.stat()
            if (d.st_mtime_ns, d.st_mode, d.st_size) == (
                s.st_mtime_ns,
                s.st_mode,
                s.st_size,
            ) and sha256(dst) == sha256(src):
                continue
            dst.unlink()
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        repaired.append(f"restored {rel}")
    for d in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        rel = d.relative_to(root).as_posix()
        if (
            not rel.startswith(IGNORED)
            and "__pycache__" not in d.parts
            and not (snapshot / rel).is_dir()
            and not any(d.iterdir())
        ):
            d.rmdir()
    return repaired


@dataclass
class Site:
    """The fresh copy after ``make all``, and what the first two builds did."""

    root: Path
    env: dict[str, str]
    mirror: Path
    first: Path  # the outputs of the first ``make all`` (a copy of OUTPUT_DIRS)
    settled: Path  # the whole copy after the second ``make all``: every test starts from it
    second: subprocess.CompletedProcess[str]
    second_changed: list[str]  # outputs whose mtime the second ``make all`` changed

    @property
    def good(self) -> dict[str, str]:
        return outputs(self.settled)


def build_site(base: Path, mirror: Path) -> Site:
    """Copy the repository under ``base``, run ``make all`` twice (the second must do nothing),
    keep the first build's outputs and a snapshot of the settled copy."""
    root = copy_repository(base / "korus-trade")
    env = make_env(mirror)
    run_make(root, "all", env=env)
    first = base / "first"
    for d in OUTPUT_DIRS:
        shutil.copytree(root / d, first / d)
    before = output_mtimes(root)
    second = run_make(root, "all", env=env)
    after = output_mtimes(root)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    settled = snapshot_tree(root, base / "settled")
    return Site(root, env, mirror, first, settled, second, changed)


def settled_site(site: Site) -> Site:
    """``site`` put back, contents and timestamps, to its state after the second ``make all``."""
    reset_tree(site.root, site.settled)
    return site


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created), held for the ``with`` block: one pytest-xdist
    worker at a time does what is inside; the others wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def shared_dir(tmp_path_factory) -> Path:
    """A folder that every worker of this test run sees (the run's base temp folder; under
    pytest-xdist, the parent of the workers' own)."""
    base = Path(tmp_path_factory.getbasetemp())
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def made_once(tmp_path_factory, name: str, make: Callable[[Path], object]) -> Path:
    """The folder ``name`` of the run's shared folder, filled by ``make(folder)`` once for the
    whole run: the first worker to ask makes it under a lock (a ``.complete`` file records that
    it finished), the others wait and take it as it is."""
    out = shared_dir(tmp_path_factory) / name
    with file_lock(out.with_name(f"{name}.lock")):
        if not (out / ".complete").is_file():
            make(out)
            (out / ".complete").touch()
    return out


def shared_site(tmp_path_factory, name: str, mirror: Path) -> Site:
    """The site ``name`` built from ``mirror`` once for the whole run, in this worker's own copy.

    The first worker to ask builds it (:func:`build_site`) in the shared folder and records the
    second run's outcome; the others wait on the lock. Each worker then works in its own copy
    of the settled tree (contents, modes and mtimes), so two workers never run make in one
    folder."""
    shared = shared_dir(tmp_path_factory) / f"shared-{name}"
    record = shared / "site.json"
    with file_lock(shared.with_name(f"shared-{name}.lock")):
        if not record.is_file():
            if shared.exists():  # a build that failed in another worker: start again
                shutil.rmtree(shared)
            site = build_site(shared, mirror)
            record.write_text(
                json.dumps(
                    {
                        "args": site.second.args,
                        "returncode": site.second.returncode,
                        "stdout": site.second.stdout,
                        "stderr": site.second.stderr,
                        "second_changed": site.second_changed,
                    }
                )
            )
    meta = json.loads(record.read_text())
    own = Path(tmp_path_factory.mktemp(name))
    root = snapshot_tree(shared / "settled", own / "korus-trade")
    second = subprocess.CompletedProcess(
        meta["args"], meta["returncode"], meta["stdout"], meta["stderr"]
    )
    return Site(
        root,
        make_env(mirror),
        mirror,
        shared / "first",
        shared / "settled",
        second,
        meta["second_changed"],
    )
