"""Shared fixtures: the data mirror for integration tests, and a quiet plotting backend."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# One BLAS thread: on 2 shared cores threaded OpenBLAS makes model fits many times slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from analysis import config  # noqa: E402

# Ctrl-C as in a terminal. A test run started as a background job of a script (`make test &`
# from `bash -c`) inherits SIGINT ignored, and so would every process the tests start: the
# notebook runner rightly leaves an ignored SIGINT alone, and the Ctrl-C tests would time out.
# Python's own handler here means SIGINT's default in the children.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The data mirror named by ``$ANALYSIS_DATA_MIRROR``; skips the test when it is unset."""
    path = config.mirror_dir()
    if path is None:
        pytest.skip("ANALYSIS_DATA_MIRROR is not set (integration test needs the data mirror)")
    if not (path / "census" / "country.xlsx").exists():
        pytest.skip(f"ANALYSIS_DATA_MIRROR={path} has no census/country.xlsx")
    return path


@pytest.fixture(scope="session")
def real_trade(tmp_path_factory: pytest.TempPathFactory):
    """The real cleaned table: ``data/processed/trade_monthly.csv`` if built, otherwise cleaned
    from the mirror with ``analysis.clean.table.run`` into a temporary folder (once per session)."""
    from analysis.clean import series
    from analysis.clean import table as clean

    if config.TRADE_MONTHLY_CSV.is_file():
        return series.load_trade(config.TRADE_MONTHLY_CSV)
    mirror = config.mirror_dir()
    if mirror is None:
        pytest.skip("no data/processed/trade_monthly.csv and ANALYSIS_DATA_MIRROR is not set")
    out = tmp_path_factory.mktemp("processed")
    clean.run(mirror / "census" / "country.xlsx", out, verify=False)
    return series.load_trade(out / config.TRADE_MONTHLY_CSV.name)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory, mirror: Path):
    """One fresh copy of the repository after ``make all`` (twice), shared by the end-to-end
    modules; each puts it back to its settled state first (``built_site.settled_site``)."""
    from built_site import build_site

    return build_site(tmp_path_factory.mktemp("site"), mirror)
