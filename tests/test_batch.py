"""The partner batch (``python -m analysis.pipeline.batch``, used by ``make all-partners``).

Unit tests of its pieces, and one end-to-end test on the miniature build (``mini_site``):
three partners built by the batch give the ``results.json`` and ``coefficients.csv`` (and the
pages) of ``make report`` for each of them, and a partner that cannot be built is one line and
does not stop the others.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import pytest

from analysis.pipeline import batch

# ---- unit tests ------------------------------------------------------------------------------


#: A stand-in worker: takes slugs from stdin, notes "<its pid> <slug>" in the file argv[1],
#: sleeps (1.5 s for "slow"), fails "bad" on one line and stops dead on "boom".
FAKE_WORKER = """
import os, sys, time
for line in iter(sys.stdin.readline, ""):
    slug = line.strip()
    with open(sys.argv[1], "a") as fh:
        fh.write(f"{os.getpid()} {slug}\\n")
    if slug == "boom":
        os._exit(3)
    time.sleep(1.5 if slug == "slow" else 0.05)
    if slug == "bad":
        print("failed 0.050 bad: no data", flush=True)
    else:
        print(f"ok 0.050 {slug}", flush=True)
"""


def _pool(tmp_path: Path, slugs: list[str]) -> tuple[int, dict[str, list[str]], str]:
    log = tmp_path / "taken.txt"
    out = io.StringIO()
    progress = batch.Progress(len(slugs), 2, stream=out)
    with contextlib.redirect_stderr(out):
        failures = batch.run_pool(
            slugs, 2, progress, worker=[sys.executable, "-c", FAKE_WORKER, str(log)]
        )
    by_worker: dict[str, list[str]] = {}
    for line in log.read_text().splitlines():
        pid, slug = line.split()
        by_worker.setdefault(pid, []).append(slug)
    return failures, by_worker, out.getvalue()


def test_the_pool_hands_the_next_partner_to_the_worker_that_is_free(tmp_path: Path) -> None:
    slugs = ["slow", "a", "b", "c", "d", "e", "bad"]
    failures, by_worker, out = _pool(tmp_path, slugs)
    # Each partner built once; while one worker is on the slow partner the other takes every
    # other one (a fixed split would have given the slow worker "b", "d" and "bad").
    assert sorted(s for taken in by_worker.values() for s in taken) == sorted(slugs)
    assert sorted(by_worker.values(), key=len) == [["slow"], ["a", "b", "c", "d", "e", "bad"]]
    assert failures == 1
    assert "failed: bad: no data" in out.splitlines()
    assert f"[{len(slugs)}/{len(slugs)}]" in out


def test_a_worker_that_stops_loses_only_its_partner(tmp_path: Path) -> None:
    failures, by_worker, out = _pool(tmp_path, ["boom", "a", "b", "c"])
    taken = sorted(s for t in by_worker.values() for s in t)
    assert taken == ["a", "b", "boom", "c"]  # the others were built by the other worker
    assert failures == 1
    assert "failed: 1 partner(s): a worker stopped early" in out


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


@pytest.mark.integration
@pytest.mark.slow
def test_make_all_partners_builds_by_batch_what_make_report_builds(mini_site) -> None:
    """``make -j2 all-partners`` (here for four partners: ``PARTNERS``) builds the partners whose
    pages are out of date by the batch, with progress; a partner whose model cannot run (a
    break after its data, planted) is one line and the others are built all the same; the
    results, coefficients and pages of Korea (by ``make all``) and Japan (by ``make report``)
    equal the batch's; a misspelt partner is one line naming the closest; a second run
    finds nothing to do."""
    import json

    from built_site import settled_site
    from repo_copy import run_make

    site = settled_site(mini_site)
    root = site.root

    def outputs(slug: str) -> dict[str, bytes]:
        return {f: (root / "reports" / slug / f).read_bytes() for f in COMPARED}

    made = {"korea-south": outputs("korea-south")}  # make all's report of the default partner
    (root / "reports" / "korea-south" / "results.json").unlink()  # out of date: rebuilt
    bad = root / "reports" / "mexico" / "params.json"
    bad.parent.mkdir()
    bad.write_text(json.dumps({"partner": "2010", "breaks": ["2030-01"], "start": "2000-01"}))
    chosen = "PARTNERS=korea-south japan mexico canada"
    proc = run_make(root, "-j2", "all-partners", chosen, env=site.env, check=False)
    assert proc.returncode != 0
    failed = [line for line in proc.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1 and failed[0].startswith("failed: mexico: "), proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    progress = [line for line in proc.stderr.splitlines() if line.startswith("[")]
    assert len(progress) == 3 and progress[-1].startswith("[4/4] "), proc.stderr[-3000:]
    assert "batch: 3 of 4 partner(s) built" in proc.stderr
    batched = {slug: outputs(slug) for slug in PARTNERS}
    # One partner by `make report` besides Korea's (by make all): Canada's report would take
    # the same path again, for five more seconds of the suite.
    run_make(root, "report", "PARTNER=Japan", env=site.env)
    made["japan"] = outputs("japan")
    for slug in made:
        for name in COMPARED:
            assert batched[slug][name] == made[slug][name], f"{slug}/{name} differs"
    # make report took Japan by name; a misspelt name is one line naming the closest partner.
    assert json.loads(made["japan"]["results.json"])["partner_code"] == 5880
    typo = run_make(root, "report", "PARTNER=Jpan", env=site.env, check=False)
    assert typo.returncode != 0
    assert "error: partner 'Jpan': unknown; closest: Japan (5880)" in typo.stderr
    # Not vacuous: the partners' results differ from one another.
    assert len({batched[s]["results.json"] for s in PARTNERS}) == 3
    index = (root / "reports" / "index.html").read_text(encoding="utf-8")
    assert 'href="canada/trends.html"' in index and 'href="japan/trends.html"' in index
    again = run_make(root, "-j2", "all-partners", "PARTNERS=korea-south japan canada", env=site.env)
    assert "batch:" not in again.stderr and "[1/" not in again.stderr


@pytest.mark.slow
def test_reset_waits_until_the_kernel_reaches_it_on_iopub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before ``%reset -f`` the new client waits for the kernel's ``idle`` on IOPub (its
    ``wait_for_ready``): a request sent while the subscription is still connecting loses the
    status and waits out its timeout (the batch failed a worker's first partner so, now and
    then). Checked right after the kernel starts, the case that failed."""
    from analysis.pipeline import run_notebook as rn

    calls: list[str] = []
    ready_class = rn._ready_client_class

    def spy() -> type:
        class Spy(ready_class()):
            async def wait_for_ready(self, timeout: float | None = None) -> None:
                calls.append("wait_for_ready")
                await super().wait_for_ready(timeout)

            async def execute_interactive(self, code: str, **kwargs: object) -> object:
                calls.append(f"execute {code}")
                return await super().execute_interactive(code, **kwargs)

        return Spy

    monkeypatch.setattr(rn, "_ready_client_class", spy)
    kernel = batch.Kernel(str(tmp_path))
    kernel.start()
    try:
        kernel.reset()
    finally:
        kernel.stop(now=True)
    assert calls == ["wait_for_ready", "execute %reset -f"]
