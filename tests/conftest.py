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
# No cache of X-13 runs in the tests' own process (make sets one in each copy it builds): a unit
# test runs X-13 itself and never reads what the developer's checkout stored.
os.environ.pop("ANALYSIS_X13_CACHE", None)

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
def real_processed(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> Path:
    """The real cleaned tables (``trade_monthly.csv``, ``partners.csv``, ...), cleaned from the
    mirror's ``country.xlsx`` with ``analysis.clean.table.run`` into the run's shared temporary
    folder: once per test run (the first pytest-xdist worker cleans it, the others wait), never
    the developer's own ``data/processed`` (which may be stale, or from another vintage)."""
    from built_site import made_once

    from analysis.clean import table as clean

    return made_once(
        tmp_path_factory,
        "real-processed",
        lambda out: clean.run(mirror / "census" / "country.xlsx", out, verify=False),
    )


@pytest.fixture(scope="session")
def real_trade(real_processed: Path):
    """The real cleaned table (:func:`real_processed`), loaded."""
    from analysis.clean import series

    return series.load_trade(real_processed / config.TRADE_MONTHLY_CSV.name)


@pytest.fixture(scope="session")
def real_products(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> Path:
    """The real product table's CSV (``trade_hs_monthly.csv``), built from the mirror's HS2
    imports extract with ``analysis.clean.products.run_mirror`` into the run's shared temporary
    folder: once per test run, like :func:`real_processed`, never the developer's
    ``data/raw`` or ``data/processed``."""
    from built_site import made_once

    from analysis.clean import products

    raw = mirror / "census-api" / "imports_hs2_by_country_2023_2024.csv.gz"
    out = made_once(tmp_path_factory, "real-products", lambda out: products.run_mirror(raw, out))
    return out / products.CSV_NAME


@pytest.fixture
def real_root(tmp_path: Path, real_processed: Path) -> Path:
    """A project root for commands run with ``ANALYSIS_ROOT``: the real cleaned tables
    (:func:`real_processed`) as its ``data/processed``, the repository's ``data/external``, no
    reports. Not the developer's checkout, whose ``data/processed`` may be missing or stale."""
    root = tmp_path / "root"
    (root / "data").mkdir(parents=True)
    (root / "data" / "processed").symlink_to(real_processed, target_is_directory=True)
    (root / "data" / "external").symlink_to(config.ROOT / "data" / "external")
    return root


@pytest.fixture(scope="session")
def mini_mirror(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> Path:
    """The miniature data mirror (``tests/mini_mirror.py``) cut from the full one, once per run."""
    from built_site import made_once
    from mini_mirror import write_mini_mirror

    return made_once(tmp_path_factory, "mini-mirror", lambda dest: write_mini_mirror(mirror, dest))


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory, mirror: Path):
    """``make all`` (twice) on the full data mirror, once per run: for the tests that read real
    Census figures off the site. Read-only: tests that change things use ``mini_site``."""
    from built_site import shared_site

    return shared_site(tmp_path_factory, "full", mirror)


@pytest.fixture(scope="session")
def published_evaluation(built_site) -> dict:
    """The KORUS evaluation the full build published (``reports/korus/evaluation.json``): the
    event study and its robustness checks on the real Census table, read off the build rather
    than computed again by each test that checks them."""
    import json

    path = built_site.root / "reports" / "korus" / "evaluation.json"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def mini_site(tmp_path_factory: pytest.TempPathFactory, mini_mirror: Path):
    """``make all`` (twice) on the miniature mirror, once per run, in this worker's own copy:
    for the end-to-end tests that change the copy and run make again. Each such test starts
    from it put back to its settled state (``built_site.settled_site``)."""
    from built_site import shared_site

    return shared_site(tmp_path_factory, "mini", mini_mirror)


#: The order in which the end-to-end modules are sent to the workers: heaviest first.
E2E_ORDER: tuple[str, ...] = (
    "test_agreements_site",
    "test_reliability",
    "test_site",
    "test_pipeline",
)
#: Under ``pytest -n 2``, which worker makes which shared build as soon as it starts.
PREBUILD: dict[str, str] = {"gw0": "built_site", "gw1": "mini_site"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The end-to-end tests first, heaviest module first, then the other slow tests, then the
    unit tests (stable within each), so that the long tests start early and the short ones
    fill the gaps at the end (``make test`` hands the workers one test at a time)."""

    def rank(item: pytest.Item) -> tuple[int, int]:
        names = set(getattr(item, "fixturenames", ()))
        module = item.module.__name__ if item.module else ""
        if "mini_site" in names:
            return (0, E2E_ORDER.index(module) if module in E2E_ORDER else len(E2E_ORDER))
        if "built_site" in names:
            return (1, 0)
        if item.get_closest_marker("slow") is not None:
            return (2, 0)
        return (3, 0)

    items.sort(key=rank)


@pytest.fixture(scope="session", autouse=True)
def _prebuild(request: pytest.FixtureRequest) -> None:
    """Under ``pytest -n``, the first two workers each start one shared build at once (the
    full one on ``gw0``, the miniature one on ``gw1``) instead of both waiting on the first
    that a test asks for. Nothing happens without a data mirror, without ``-n``, or when no
    collected test needs the build."""
    name = PREBUILD.get(os.environ.get("PYTEST_XDIST_WORKER", ""))
    mirror = config.mirror_dir()
    if name is None or mirror is None or not (mirror / "census" / "country.xlsx").is_file():
        return
    if not any(name in getattr(i, "fixturenames", ()) for i in request.session.items):
        return
    request.getfixturevalue(name)
