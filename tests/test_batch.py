"""The partner batch (``python -m analysis.pipeline.batch``, used by ``make all-partners``).

Unit tests of its pieces, and one end-to-end test on the miniature build (``mini_site``):
three partners built by the batch give the ``results.json`` and ``coefficients.csv`` (and the
pages) of ``make report`` for each of them, and a partner that cannot be built is one line and
does not stop the others.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from analysis.pipeline import batch

# ---- unit tests ------------------------------------------------------------------------------


def test_shards_deal_partners_round_robin_and_drop_empty_workers() -> None:
    assert batch.shards(["a", "b", "c", "d", "e"], 2) == [["a", "c", "e"], ["b", "d"]]
    assert batch.shards(["a"], 2) == [["a"]]
    assert batch.shards(["a", "b"], 1) == [["a", "b"]]


def test_remaining_time_in_seconds_then_minutes() -> None:
    assert batch.remaining(0) == "done"
    assert batch.remaining(40.4) == "about 40 s left"
    assert batch.remaining(89) == "about 89 s left"
    assert batch.remaining(150) == "about 2 min left"
    assert batch.remaining(600) == "about 10 min left"


def test_progress_counts_done_and_lists_failures_on_one_line() -> None:
    out = io.StringIO()
    progress = batch.Progress(4, 1, stream=out)
    progress("ok", "japan", 3.0)
    progress("failed", "nowhere: no such partner\n(second line)".splitlines()[0], 1.0)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[1/4] japan 3.0 s; about ")
    assert lines[1] == "failed: nowhere: no such partner"
    assert progress.done == 2 and progress.failed == ["nowhere: no such partner"]


def test_notebook_parameters_are_the_makefile_recipes() -> None:
    params = {"partner": "5880", "start": "2000-01", "breaks": [], "forecast_model": "sarimax"}
    got = batch.notebook_parameters("japan", params, "5880")
    assert got["02_trends"] == {
        **params,
        "out_dir": "reports/japan",
        "data_path": "data/processed/trade_monthly.csv",
    }
    assert got["06_sectors"] == {
        "out_dir": "reports/japan",
        "partner": "5880",
        "products_path": "data/processed/trade_hs_monthly.csv",
        "sections_path": "data/external/hs_sections.csv",
    }


# ---- end to end ------------------------------------------------------------------------------

#: Korea (breaks; built by ``make all``), Japan (a descriptive report) and Canada (two breaks).
PARTNERS = {"korea-south": "5800", "japan": "Japan", "canada": "Canada"}
COMPARED = ("results.json", "coefficients.csv", "trends.html", "sectors.html")


def make_like_env(root: Path, env: dict[str, str]) -> dict[str, str]:
    """The environment the Makefile's recipes run in (its exports), for the batch by hand."""
    cache = root / "build" / "cache"
    out = {k: v for k, v in env.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    out.update(
        ANALYSIS_ROOT=str(root),
        PYTHONPATH=str(root / "src"),
        MPLCONFIGDIR=str(cache / "matplotlib"),
        IPYTHONDIR=str(cache / "ipython"),
        JUPYTER_CONFIG_DIR=str(cache / "jupyter" / "config"),
        JUPYTER_DATA_DIR=str(cache / "jupyter" / "data"),
        JUPYTER_RUNTIME_DIR=str(cache / "jupyter" / "runtime"),
        JUPYTER_PLATFORM_DIRS="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        MPLBACKEND="Agg",
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
    )
    for name in ("PARTNER", "START", "END", "BREAKS", "FORECAST"):
        out[f"ANALYSIS_{name}"] = ""
    return out


@pytest.mark.integration
@pytest.mark.slow
def test_batch_equals_make_report_for_three_partners(mini_site) -> None:
    from built_site import settled_site
    from repo_copy import run_make, venv_dir

    site = settled_site(mini_site)
    root = site.root

    def outputs(slug: str) -> dict[str, bytes]:
        return {f: (root / "reports" / slug / f).read_bytes() for f in COMPARED}

    made = {"korea-south": outputs("korea-south")}  # make all's report of the default partner
    proc = subprocess.run(
        [
            str(venv_dir() / "bin" / "python"),
            "-m",
            "analysis.pipeline.batch",
            "korea-south",
            "no-such-partner",
            "japan",
            "canada",
        ],
        cwd=root,
        env=make_like_env(root, site.env),
        capture_output=True,
        text=True,
        timeout=1500,
    )
    # The unknown partner is one line; the others were built all the same.
    assert proc.returncode == 1, proc.stderr[-3000:]
    failed = [line for line in proc.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1 and failed[0].startswith("failed: no-such-partner: "), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "[3/4] japan" in proc.stderr and "[4/4] canada" in proc.stderr, proc.stderr
    batched = {slug: outputs(slug) for slug in PARTNERS}
    for slug, query in PARTNERS.items():
        if slug != "korea-south":
            run_make(root, "report", f"PARTNER={query}", env=site.env)
            made[slug] = outputs(slug)
    for slug in PARTNERS:
        for name in COMPARED:
            assert batched[slug][name] == made[slug][name], f"{slug}/{name} differs"
    # Not vacuous: the partners' results differ from one another.
    assert len({batched[s]["results.json"] for s in PARTNERS}) == 3
