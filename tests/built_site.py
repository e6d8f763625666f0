"""One fresh copy of the repository built with ``make all``, shared by the end-to-end tests.

``tests/test_pipeline.py``, ``tests/test_reliability.py`` and ``tests/test_site.py`` each used
to copy the repository and run a full ``make all`` of their own (about 2.5 minutes each on two
cores). They now share one build (the session fixture ``built_site`` in ``conftest.py``); each
module, and each reliability test, starts from the copy put back to the state after that build
(:func:`settled_site`: contents, modes and nanosecond mtimes), so what one test changes never
reaches the next.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterator
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
