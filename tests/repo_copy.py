"""Helpers for tests that run ``make`` in a fresh copy of the repository.

The copy holds what git would check out and shares this test run's virtual environment
(``VENV=``), so it exercises the Makefile as a new user would without reinstalling anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import config


def venv_dir() -> Path:
    """This test run's virtual environment, which ``make`` uses (``VENV=``) instead of making
    one. Not ``Path(sys.executable).resolve()``: that follows the venv's symlink to the base
    interpreter, and make would then run ``python3 -m venv`` and ``pip install`` over it."""
    prefix = Path(sys.prefix)
    if sys.prefix == sys.base_prefix or not (prefix / ".installed").is_file():
        pytest.skip(
            f"not running in the project's virtual environment made by `make venv` "
            f"({prefix}/.installed missing): make would (re)install it"
        )
    return prefix


def copy_repository(dest: Path) -> Path:
    """Copy what git would check out (tracked and not-ignored files) to ``dest``.

    ``pyproject.toml`` gets the venv's install time if it is newer, so that ``make`` in the copy
    never reinstalls the shared environment (with an editable install of a temporary copy).
    """
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=config.ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    for rel in filter(None, files):
        src = config.ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    installed = (venv_dir() / ".installed").stat().st_mtime_ns
    if (dest / "pyproject.toml").stat().st_mtime_ns > installed:
        os.utime(dest / "pyproject.toml", ns=(installed, installed))
    return dest


def make_env(mirror: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "ANALYSIS_DATA_MIRROR": str(mirror), **extra}
    for name in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "STRICT", "ANALYSIS_TIMINGS"):
        if name not in extra:
            env.pop(name, None)
    return env


def make_cmd(root: Path, *args: str) -> list[str]:
    return ["make", "-C", str(root), f"VENV={venv_dir()}", *args]


def run_make(
    root: Path,
    *args: str,
    env: dict[str, str],
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        make_cmd(root, *args), env=env, capture_output=True, text=True, timeout=1500
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"make {' '.join(args)} failed ({proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc
