"""Shared fixtures: the data mirror for integration tests, and a quiet plotting backend."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# One BLAS thread: on 2 shared cores threaded OpenBLAS makes model fits many times slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from analysis import config  # noqa: E402


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The data mirror named by ``$ANALYSIS_DATA_MIRROR``; skips the test when it is unset."""
    path = config.mirror_dir()
    if path is None:
        pytest.skip("ANALYSIS_DATA_MIRROR is not set (integration test needs the data mirror)")
    if not (path / "census" / "country.xlsx").exists():
        pytest.skip(f"ANALYSIS_DATA_MIRROR={path} has no census/country.xlsx")
    return path
