"""Reliability of the monthly re-run (issue 6): never publish something half-built, never lose
the last good report.

The integration tests drive ``make`` in a fresh copy of the repository, the one successful
``make all`` on the miniature data mirror that tests/test_pipeline.py and tests/test_site.py
share (the session fixture ``mini_site`` in conftest.py; tests/mini_mirror.py). Before each test the copy is put back, contents and
timestamps, to the state after that build, so a failing test leaves nothing behind for the
next. They cover: broken raw files (in place and as
a new vintage from the mirror, also with ``STRICT=1``), bad parameters, a run killed during
the model step (SIGINT, SIGTERM, SIGKILL), incremental re-runs, and a byte-identical rebuild.

The small unit tests at the end check the clean-up of temporary files left by killed writers
(``analysis.fileio.remove_stale_temps``) and that ``analysis.pipeline.run_notebook`` removes its temporary
output when it is stopped with SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from analysis.fileio import atomic_path, remove_stale_temps

MODEL_NB = "notebooks/02_trends.ipynb"
KOREA = "reports/korea-south"
#: Where the runs for reports/<slug>/ stage their temporary notebook and figures.
STAGING = "build/staging"
TEMP_GLOB = ".*tmp*"
#: make's own diagnostics (``make: *** [...] Error 2``, ``make[1]: Leaving directory``).
_MAKE_LINE = re.compile(r"^make(\[\d+\])?: ")
_RECIPE_LINE = re.compile(r"^(run |wrote )", re.MULTILINE)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# ---- helpers ---------------------------------------------------------------------------------

from built_site import (  # noqa: E402
    OUTPUT_DIRS,
    Site,
    output_mtimes,
    outputs,
    settled_site,
    sha256,
)
from repo_copy import make_cmd, make_env, run_make  # noqa: E402


def temp_files(root: Path) -> list[str]:
    """Temporary files (``.<name>...tmp...``) and staging folders (``.<name>.<pid>.staging``,
    ``.<name>.<pid>.old``) anywhere under the output folders and ``build/staging/``, where the
    notebook runner and the figures stage them (``analysis.fileio.staging_home``)."""
    return sorted(
        p.relative_to(root).as_posix()
        for d in (*OUTPUT_DIRS, STAGING)
        if (root / d).is_dir()
        for pattern in (TEMP_GLOB, ".*.staging", ".*.old")
        for p in (root / d).rglob(pattern)
    )


def diff_maps(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Human-readable differences between two path -> hash maps."""
    out = [f"deleted {k}" for k in sorted(before.keys() - after.keys())]
    out += [f"created {k}" for k in sorted(after.keys() - before.keys())]
    out += [f"changed {k}" for k in sorted(before.keys() & after.keys()) if before[k] != after[k]]
    return out


def user_message(stderr: str) -> str:
    """The last line on stderr that is not one of make's own diagnostics."""
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip() and not _MAKE_LINE.match(ln)]
    return lines[-1] if lines else ""


def recipe_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The ``run ...`` (notebook) and ``wrote ...`` (HTML) lines that recipes print."""
    return [ln for ln in (proc.stdout + "\n" + proc.stderr).splitlines() if _RECIPE_LINE.match(ln)]


def processes_in(root: Path) -> dict[int, str]:
    """Processes (other than this one) whose command line or working folder is in ``root``:
    make, the notebook runner, Jupyter kernels (their connection file is under build/)."""
    found: dict[int, str] = {}
    for d in Path("/proc").glob("[0-9]*"):
        if int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            try:
                cwd = os.readlink(d / "cwd")
            except OSError:
                cwd = ""
        except OSError:
            continue
        if cmd and (str(root) in cmd or cwd == str(root) or cwd.startswith(f"{root}/")):
            found[int(d.name)] = cmd.strip()[:200]
    return found


@pytest.fixture
def site(mini_site: Site) -> Site:
    """The miniature build (``conftest.mini_site``), put back to its settled state."""
    return settled_site(mini_site)


@pytest.fixture
def good(site: Site) -> Site:
    """The site, reset to the state after the second ``make all``."""
    return site


# ---- 1. the first build, and a second make -------------------------------------------------


@pytest.mark.integration
@pytest.mark.slow
def test_first_build_landing_page_lists_the_context_pages(site: Site) -> None:
    """``make all`` builds the context pages after the landing page's first version; the
    page must not say they are "not built yet" once ``make all`` has finished."""
    index = (site.first / "reports/index.html").read_text(encoding="utf-8")
    assert (site.first / "reports/korus/claims.html").is_file()
    assert 'href="korus/claims.html"' in index and 'href="korus/partners.html"' in index, (
        "reports/index.html from the first `make all` does not link the KORUS context pages "
        "(it was built before them and not rebuilt)"
    )
    assert "not built yet" not in index
    assert "<h2>Claims check</h2>" in index


@pytest.mark.integration
@pytest.mark.slow
def test_second_make_all_after_first_build_runs_nothing(site: Site) -> None:
    assert recipe_lines(site.second) == [], site.second.stdout + site.second.stderr
    assert site.second_changed == []


@pytest.mark.integration
@pytest.mark.slow
def test_noop_make_all_runs_no_recipe_and_changes_nothing(good: Site, tmp_path: Path) -> None:
    """Nothing runs, not even the raw files' stamps (no Python starts for them when no raw file
    or stamp was written since the last refresh); yet a raw file rewritten with its size and
    modification time restored is still seen, and putting the good one back is up to date."""
    before = output_mtimes(good.root)
    starts = tmp_path / "stamps-python"
    spy = tmp_path / "python"
    spy.write_text(f'#!/bin/sh\necho "$*" >> "{starts}"\nexec "{sys.executable}" "$@"\n')
    spy.chmod(0o755)
    proc = run_make(good.root, "all", env=good.env)
    assert recipe_lines(proc) == [], proc.stdout + proc.stderr
    assert "run notebooks/" not in proc.stderr
    assert output_mtimes(good.root) == before
    assert temp_files(good.root) == []
    # (That first run may refresh the stamps once: this copy's files have new inodes.)
    proc = run_make(good.root, "all", f"PY_FAST={spy}", env=good.env)
    assert recipe_lines(proc) == [], proc.stdout + proc.stderr
    assert not starts.exists(), starts.read_text()

    def cleaning_up_to_date() -> bool:
        q = subprocess.run(
            make_cmd(good.root, f"PY_FAST={spy}", "-q", "data/processed/trade_monthly.csv"),
            env=good.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert q.returncode in (0, 1), q.stderr
        return q.returncode == 0

    raw = good.root / "data/raw/country.xlsx"
    good_bytes, st = raw.read_bytes(), raw.stat()
    flipped = bytearray(good_bytes)
    flipped[time.time_ns() % len(flipped)] ^= 0xFF  # a content no other test has made
    raw.chmod(0o644)
    raw.write_bytes(bytes(flipped))
    os.utime(raw, ns=(st.st_atime_ns, st.st_mtime_ns))
    try:
        assert raw.stat().st_size == st.st_size and raw.stat().st_mtime_ns == st.st_mtime_ns
        assert not cleaning_up_to_date(), "a rewritten raw file went unnoticed"
    finally:
        restore_raw(good.root, good_bytes, st)
    assert cleaning_up_to_date()
    assert starts.read_text().count("analysis.pipeline.stamps") == 2


# ---- 2. bad parameters fail before any work -----------------------------------------------

BAD_PARAMS: list[tuple[tuple[str, ...], str]] = [
    (("PARTNER=Nowhere",), "error: partner 'Nowhere': unknown; closest: "),
    (
        ("BREAKS=2030-01",),
        "error: BREAKS=2030-01: outside the data window 2000-01 .. 2024-06 for Korea, South",
    ),
    (("START=2015-01", "END=2010-01"), "error: END=2010-01 is before START=2015-01"),
    (("BREAKS=2012-13",), "error: BREAKS='2012-13': expected a month as YYYY-MM"),
]


@pytest.mark.parametrize(("args", "message"), BAD_PARAMS, ids=[" ".join(a) for a, _ in BAD_PARAMS])
@pytest.mark.integration
@pytest.mark.slow
def test_bad_parameters_fail_before_any_work(
    good: Site, args: tuple[str, ...], message: str
) -> None:
    proc = run_make(good.root, "report", *args, env=good.env, check=False)
    assert proc.returncode != 0
    last = user_message(proc.stderr)
    assert last.startswith(message), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "run notebooks/" not in proc.stderr, "a notebook ran before the parameters were checked"
    assert diff_maps(good.good, outputs(good.root)) == []


# ---- 3. broken raw files ------------------------------------------------------------------

HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>\n"
    b"<body><h1>503 Service Unavailable</h1></body></html>\n"
)


def _html(path: Path, good: bytes) -> None:
    path.write_bytes(HTML_PAGE)


def _truncated(path: Path, good: bytes) -> None:
    path.write_bytes(good[: len(good) // 2])


def _negative(path: Path, good: bytes) -> None:
    """A small, well-formed Census workbook (the synthetic table of test_census.py) with one
    negative import value: it passes acquisition's header check, cleaning must refuse it."""
    from test_census import make_wide, write_xlsx

    df = make_wide().astype({"IJUN": object})
    df.loc[(df["CTY_CODE"] == "5880") & (df["year"] == "2021"), "IJUN"] = -5.0
    write_xlsx(df, path)


BAD_FILES: dict[str, Callable[[Path, bytes], None]] = {
    "html-page": _html,
    "truncated-xlsx": _truncated,
    "negative-value": _negative,
}


def replace_raw(root: Path, writer: Callable[[Path, bytes], None]) -> tuple[bytes, os.stat_result]:
    """Overwrite data/raw/country.xlsx (read-only) with a bad file, newer than the outputs."""
    raw = root / "data/raw/country.xlsx"
    good, st = raw.read_bytes(), raw.stat()
    raw.chmod(0o644)
    writer(raw, good)
    now = time.time_ns()
    os.utime(raw, ns=(now, now))
    return good, st


def restore_raw(root: Path, good: bytes, st: os.stat_result) -> None:
    """Put the good raw file back: same bytes, read-only, and its old mtime (the outputs were
    built from exactly this file, so they are up to date again)."""
    raw = root / "data/raw/country.xlsx"
    if raw.exists():
        raw.chmod(0o644)
        raw.unlink()
    raw.write_bytes(good)
    raw.chmod(0o444)
    os.utime(raw, ns=(st.st_atime_ns, st.st_mtime_ns))


def check_failed_run(
    site: Site,
    proc: subprocess.CompletedProcess[str],
    expect: list[str],
) -> list[str]:
    """Problems with a failed ``make``: exit status, the user's last line, the outputs."""
    problems = []
    if proc.returncode == 0:
        problems.append("make succeeded")
    last = user_message(proc.stderr)
    if not last.startswith("error: ") or any(e not in last for e in expect):
        problems.append(f"last line is not a one-line error with {expect}: {last!r}")
    if last and "Traceback" in proc.stderr.rsplit(last, 1)[-1]:
        problems.append("a traceback after the error line")
    changes = diff_maps(site.good, outputs(site.root))
    if changes:
        problems.append("outputs changed by the failed run: " + "; ".join(changes))
    if temp_files(site.root):
        problems.append(f"temporary files left: {temp_files(site.root)}")
    return problems


def up_to_date(site: Site) -> bool:
    """Whether make takes the cleaned data and the Korea report as up to date."""
    targets = [
        "data/processed/trade_monthly.csv",
        "data/processed/trade_monthly.meta.json",
        "data/processed/partners.csv",
        "data/processed/trade_monthly.parquet",
        "reports/data-quality.html",
        f"{KOREA}/trends.html",
        "reports/korus/claims.html",
    ]
    proc = subprocess.run(
        make_cmd(site.root, "-q", *targets),
        env=site.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode == 0


@pytest.mark.parametrize("case", list(BAD_FILES))
@pytest.mark.integration
@pytest.mark.slow
def test_raw_file_changed_in_place_is_refused(good: Site, case: str) -> None:
    """A raw file edited or replaced after acquisition fails the checksum before cleaning."""
    saved = replace_raw(good.root, BAD_FILES[case])
    proc = run_make(good.root, "all", env=good.env, check=False)
    problems = check_failed_run(
        good,
        proc,
        [
            "data/raw/country.xlsx: sha256 ",
            "is neither a known vintage nor in the vintage log",
            "delete it and run `make data`",
        ],
    )
    restore_raw(good.root, *saved)
    if not up_to_date(good):
        problems.append(
            "after restoring the good raw file, make does not take the outputs as up to date"
        )
    assert not problems, "\n".join(problems) + "\n--- stderr:\n" + proc.stderr[-3000:]


MIRROR_CASES: dict[str, list[str]] = {
    "html-page": ["country.xlsx from mirror ", "not an xlsx workbook: it looks like an HTML page"],
    "truncated-xlsx": ["country.xlsx from mirror ", "truncated or corrupt xlsx workbook"],
    "negative-value": ["data/raw/country.xlsx: negative value -5 in IJUN, row "],
}


def bad_mirror(tmp: Path, case: str, good: bytes) -> Path:
    """A mirror whose census/country.xlsx is a bad new vintage (the WDI file stays in data/raw)."""
    path = tmp / "mirror" / "census" / "country.xlsx"
    path.parent.mkdir(parents=True)
    BAD_FILES[case](path, good)
    return tmp / "mirror"


@pytest.mark.parametrize("case", list(MIRROR_CASES))
@pytest.mark.integration
@pytest.mark.slow
def test_bad_new_vintage_fails_and_keeps_the_last_good_outputs(
    good: Site, case: str, tmp_path: Path
) -> None:
    """The monthly update: the old raw file is removed and ``make data all`` obtains the new
    vintage. A broken download is refused by acquisition's content check; a well-formed file
    with bad values is recorded as a new vintage and then refused by cleaning. Either way the
    last good outputs stay. (``make all`` alone does not obtain a missing raw file: see
    test_missing_files_are_remade.)"""
    raw = good.root / "data/raw/country.xlsx"
    good_bytes, st = raw.read_bytes(), raw.stat()
    raw.unlink()
    env = make_env(bad_mirror(tmp_path, case, good_bytes))
    proc = run_make(good.root, "data", "all", env=env, check=False)
    problems = check_failed_run(good, proc, MIRROR_CASES[case])
    leftovers = [p.name for p in (good.root / "data/raw").iterdir() if p.name.startswith(".")]
    if leftovers:
        problems.append(f"acquisition left {leftovers} in data/raw")
    if case != "negative-value" and raw.exists():
        problems.append("a refused download was kept as data/raw/country.xlsx")
    restore_raw(good.root, good_bytes, st)
    if not up_to_date(good):
        problems.append(
            "after restoring the good raw file, make does not take the outputs as up to date"
        )
    assert not problems, "\n".join(problems) + "\n--- stderr:\n" + proc.stderr[-3000:]


@pytest.mark.integration
@pytest.mark.slow
def test_strict_refuses_a_modified_raw_file(good: Site, tmp_path: Path) -> None:
    strict = make_env(good.mirror, STRICT="1")
    saved = replace_raw(good.root, _negative)
    proc = run_make(good.root, "all", env=strict, check=False)
    problems = check_failed_run(
        good,
        proc,
        ["data/raw/country.xlsx: sha256 ", "is not a vintage pinned in the manifest (STRICT=1)"],
    )
    restore_raw(good.root, *saved)
    # The same file offered as a new vintage is refused by acquisition under STRICT=1.
    raw = good.root / "data/raw/country.xlsx"
    good_bytes, st = raw.read_bytes(), raw.stat()
    raw.unlink()
    log = good.root / "data/raw/vintages.csv"
    log_before = log.read_bytes() if log.exists() else None
    proc2 = run_make(
        good.root,
        "data",
        "all",
        check=False,
        env=make_env(bad_mirror(tmp_path, "negative-value", good_bytes), STRICT="1"),
    )
    problems += check_failed_run(
        good, proc2, ["country.xlsx from mirror ", "refused because STRICT=1"]
    )
    if raw.exists():
        problems.append("STRICT=1 kept the refused file as data/raw/country.xlsx")
    if (log.read_bytes() if log.exists() else None) != log_before:
        problems.append("STRICT=1 recorded the refused vintage in data/raw/vintages.csv")
    restore_raw(good.root, good_bytes, st)
    if not up_to_date(good):
        problems.append(
            "after restoring the good raw file, make does not take the outputs as up to date"
        )
    assert not problems, (
        "\n".join(problems) + "\n--- stderr:\n" + proc.stderr[-2000:] + proc2.stderr[-2000:]
    )


# ---- 4. incremental runs ------------------------------------------------------------------

#: A file that is gone (deleted by a user, or by make itself after a failed step) and the
#: command that must remake it.
MISSING: dict[str, str] = {
    "data/raw/country.xlsx": "-m analysis.sources.acquire census",
    f"{KOREA}/results.json": f"-m analysis.pipeline.run_notebook {MODEL_NB}",
    f"{KOREA}/02_trends.ipynb": f"-m analysis.pipeline.run_notebook {MODEL_NB}",
    "build/notebooks/01_clean.ipynb": "-m analysis.pipeline.run_notebook notebooks/01_clean.ipynb",
    "reports/korus/03_partners.ipynb": "-m analysis.pipeline.run_notebook notebooks/03_partners.ipynb",
    "reports/claims.csv": "-m analysis.pipeline.run_notebook notebooks/04_claims.ipynb",
}


@pytest.mark.parametrize("rel", list(MISSING))
@pytest.mark.integration
@pytest.mark.slow
def test_missing_files_are_remade(good: Site, rel: str) -> None:
    """``make all`` must remake a missing output or raw file, not call the site up to date
    (with it missing, or with last month's data). Checked with ``make -n`` (nothing runs)."""
    (good.root / rel).unlink()
    proc = run_make(good.root, "-n", "all", env=good.env)
    assert MISSING[rel] in proc.stdout, (
        f"`make all` would not remake the missing {rel}; it would run:\n"
        + "\n".join(ln for ln in proc.stdout.splitlines() if "analysis." in ln)
    )


def changed_since(root: Path, before: dict[str, int]) -> set[str]:
    after = output_mtimes(root)
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


@pytest.mark.integration
@pytest.mark.slow
def test_incremental_runs_redo_only_what_depends_on_the_change(good: Site) -> None:
    root, env = good.root, good.env
    # Editing the claims notebook re-runs the claims check, its page and the landing page.
    before = output_mtimes(root)
    os.utime(root / "notebooks/04_claims.ipynb")
    proc = run_make(root, "all", env=env)
    ran = recipe_lines(proc)
    assert [ln for ln in ran if ln.startswith("run ")] == [
        "run notebooks/04_claims.ipynb -> reports/korus/04_claims.ipynb"
    ], ran
    assert sorted(ln for ln in ran if ln.startswith("wrote ")) == [
        "wrote reports/index.html",
        "wrote reports/korus/claims.html",
    ], ran
    changed = changed_since(root, before)
    assert not {c for c in changed if c.startswith(("data/", "build/", f"{KOREA}/"))}, changed
    assert {
        "reports/korus/04_claims.ipynb",
        "reports/korus/claims.html",
        "reports/index.html",
    } <= changed

    # A model parameter re-runs the models and the report, not the cleaning.
    before = output_mtimes(root)
    proc = run_make(root, "report", "BREAKS=2012-03", env=env)
    ran = recipe_lines(proc)
    assert "run notebooks/01_clean" not in proc.stderr
    assert f"run {MODEL_NB} -> {KOREA}/02_trends.ipynb" in ran, ran
    assert f"wrote {KOREA}/trends.html" in ran and "wrote reports/index.html" in ran
    assert json.loads((root / f"{KOREA}/params.json").read_text())["breaks"] == ["2012-03"]
    changed = changed_since(root, before)  # the model step also writes data/processed/sa/<slug>.csv
    assert not {
        c
        for c in changed
        if c.startswith(("data/", "build/", "reports/korus/"))
        and not c.startswith("data/processed/sa/")
    }, changed
    assert (root / f"{KOREA}/results.json").read_bytes() != (
        good.settled / f"{KOREA}/results.json"
    ).read_bytes()

    # Back to the default break dates: the models run again and give the same results.
    proc = run_make(root, "report", env=env)
    assert f"run {MODEL_NB} -> {KOREA}/02_trends.ipynb" in recipe_lines(proc)
    assert "run notebooks/01_clean" not in proc.stderr
    for rel in (f"{KOREA}/results.json", f"{KOREA}/params.json", f"{KOREA}/coefficients.csv"):
        assert sha256(root / rel) == good.good[rel], rel
    # ... and then everything is up to date.
    proc = run_make(root, "all", env=env)
    assert recipe_lines(proc) == [], proc.stdout + proc.stderr


# ---- 5. a run killed during the model step -------------------------------------------------


def _wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def kill_during_model_step(site: Site, sig: signal.Signals, log: Path) -> list[str]:
    """Start ``make all`` (the model notebook is out of date), kill the whole process group
    with ``sig`` while the model notebook runs, and return what is wrong afterwards."""
    root = site.root
    problems: list[str] = []
    with open(log, "w") as err:
        proc = subprocess.Popen(
            make_cmd(root, "all"),
            env=site.env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        try:
            _wait_for(lambda: f"run {MODEL_NB}" in log.read_text(), 300, "the model step")
            _wait_for(
                lambda: (
                    any((root / STAGING / KOREA).glob(".figures.*.staging"))
                    or proc.poll() is not None
                ),
                120,
                "the model notebook's figures folder (made by its first cells)",
            )
            time.sleep(2.0)  # the kernel is now executing cells and writing figures
            if proc.poll() is not None:
                return [f"{sig.name}: make finished before it could be killed"]
            os.killpg(proc.pid, sig)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    # Kernels run in their own session; they exit when they see their parent die (<= 1 s).
    deadline = time.monotonic() + 20
    while (alive := processes_in(root)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if alive:
        problems.append(f"{sig.name}: processes still running 20 s after the kill: {alive}")
        for pid in alive:  # children of our make: ours to clean up
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    # Each published file is either absent or complete (the same as before: the inputs only
    # had their timestamp changed, and the build is deterministic) ...
    for rel in (
        f"{KOREA}/results.json",
        f"{KOREA}/02_trends.ipynb",
        f"{KOREA}/trends.html",
        f"{KOREA}/coefficients.csv",
        "reports/index.html",
    ):
        path = root / rel
        if path.exists() and sha256(path) != site.good[rel]:
            problems.append(f"{sig.name}: {rel} is neither absent nor the complete old file")
    # The report's figures are written to a staging folder: the published ones are untouched.
    good_figures = {k: v for k, v in site.good.items() if k.startswith(f"{KOREA}/figures/")}
    now_figures = {
        p.relative_to(root).as_posix(): sha256(p) for p in (root / KOREA / "figures").glob("*")
    }
    if not good_figures or now_figures != good_figures:
        problems.append(
            f"{sig.name}: the published figures changed: {diff_maps(good_figures, now_figures)}"
        )
    # ... make still sees the model step as out of date, so the next run redoes it ...
    q = subprocess.run(
        make_cmd(root, "-q", f"{KOREA}/02_trends.ipynb", f"{KOREA}/results.json"),
        env=site.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if q.returncode == 0:
        problems.append(f"{sig.name}: make takes the interrupted model step as up to date")
    # ... and a stopped (not SIGKILLed) run removes its temporary files.
    if sig != signal.SIGKILL and temp_files(root):
        problems.append(f"{sig.name}: temporary files left: {temp_files(root)}")
    stderr = log.read_text()
    if sig != signal.SIGKILL and not any(
        ln.startswith(f"error: {MODEL_NB}: ") for ln in stderr.splitlines()
    ):
        problems.append(
            f"{sig.name}: no one-line error from the notebook runner:\n{stderr[-1500:]}"
        )
    return problems


@pytest.mark.integration
@pytest.mark.slow
def test_killed_model_step_leaves_nothing_half_built(good: Site, tmp_path: Path) -> None:
    """Ctrl-C (SIGINT), a CI cancel (SIGTERM) and a hard kill (SIGKILL) of the whole process
    group while the model notebook runs; then one ``make all`` completes the build."""
    root = good.root
    os.utime(root / MODEL_NB)
    problems: list[str] = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        problems += kill_during_model_step(good, sig, tmp_path / f"{sig.name}.log")
    leftovers = temp_files(root)  # SIGKILL's, at least
    proc = run_make(root, "all", env=good.env, check=False)
    if proc.returncode != 0:
        problems.append(f"the next make all failed:\n{proc.stderr[-3000:]}")
    else:
        if f"run {MODEL_NB}" not in proc.stderr:
            problems.append("the next make all did not re-run the model step")
        results = json.loads((root / f"{KOREA}/results.json").read_text())
        if results.get("partner_code") != 5800:
            problems.append("results.json after recovery is not Korea's")
        for rel in (f"{KOREA}/results.json", f"{KOREA}/trends.html", f"{KOREA}/coefficients.csv"):
            if not (root / rel).is_file() or sha256(root / rel) != good.good[rel]:
                problems.append(f"after recovery {rel} differs from the good build")
        # Only the trends notebook ran again: the sectors notebook's figures are still there.
        good_pngs = {
            k: v for k, v in good.good.items() if k.startswith(KOREA) and k.endswith(".png")
        }
        now_pngs = {
            p.relative_to(root).as_posix(): sha256(p) for p in (root / KOREA).rglob("*.png")
        }
        if not any("sections_" in k for k in good_pngs) or now_pngs != good_pngs:
            problems.append(
                f"the report's figures after recovery: {diff_maps(good_pngs, now_pngs)}"
            )
        if temp_files(root):
            problems.append(
                f"temporary files of killed runs survive a successful make all "
                f"(published with reports/): {temp_files(root)} (after the kills: {leftovers})"
            )
        if recipe_lines(again := run_make(root, "all", env=good.env)):
            problems.append(f"make all after recovery is not a no-op: {recipe_lines(again)}")
    assert not problems, "\n".join(problems)


# ---- a partner that cannot be built does not block the others ------------------------------


def _params(code: str, breaks: list[str]) -> str:
    return json.dumps(
        {
            "breaks": breaks,
            "end": "",
            "forecast_model": "sarimax",
            "partner": code,
            "start": "2000-01",
            "train_end": "",
        }
    )


@pytest.mark.integration
@pytest.mark.slow
def test_a_partner_that_cannot_be_built_does_not_block_the_others(good: Site) -> None:
    """North Korea and Gaza (no complete year of product data) get both pages (from the
    partner batch, one kernel for both; ``make all`` then takes them as up to date). A partner
    whose model cannot run (here: a break after its data, planted in its params.json) does not
    stop ``make all``: every other page is built, each page not built is listed on one line,
    make exits non-zero, and the next ``make all`` retries only it."""
    root = good.root
    run_make(root, "all-partners", "PARTNERS=korea-north gaza-strip-admin-by-israel", env=good.env)
    for slug in ("korea-north", "gaza-strip-admin-by-israel"):
        page = (root / "reports" / slug / "sectors.html").read_text(encoding="utf-8")
        assert page.count("No complete year of product data for U.S. imports from") == 1
        assert (root / "reports" / slug / "trends.html").is_file()
    japan = root / "reports" / "japan" / "params.json"
    japan.parent.mkdir(exist_ok=True)
    japan.write_text(_params("5880", ["2030-01"]), encoding="utf-8")
    failed = run_make(root, "all", env=good.env, check=False)
    assert failed.returncode != 0
    rebuilt = [ln for ln in recipe_lines(failed) if "korea-north" in ln or "gaza-strip" in ln]
    assert rebuilt == [], rebuilt  # the batch's pages are up to date for make
    listed = [ln for ln in failed.stderr.splitlines() if ln.startswith("not built: ")]
    assert listed == [
        "not built: reports/japan/trends.html (its error is above; the next make all retries it)"
    ]
    assert (root / "reports" / "japan" / "sectors.html").is_file()  # built all the same
    index = (root / "reports" / "index.html").read_text(encoding="utf-8")
    assert 'href="korea-north/trends.html"' in index
    again = run_make(root, "all", env=good.env, check=False)
    assert again.returncode != 0
    assert recipe_lines(again) == [f"run {MODEL_NB} -> reports/japan/02_trends.ipynb"]
    assert [ln for ln in again.stderr.splitlines() if ln.startswith("not built: ")] == listed


# ---- 6. determinism -----------------------------------------------------------------------

#: Executed notebooks record papermill's start/end times and durations: not compared.
NOT_REPRODUCIBLE = re.compile(r"\.ipynb$")


def _html_equal(a: bytes, b: bytes) -> bool:
    """Equal except for a build date (``YYYY-MM-DD``) on lines that differ."""
    la, lb = a.decode("utf-8").splitlines(), b.decode("utf-8").splitlines()
    return len(la) == len(lb) and all(
        x == y or _ISO_DATE.sub("DATE", x) == _ISO_DATE.sub("DATE", y)
        for x, y in zip(la, lb, strict=True)
    )


@pytest.mark.integration
@pytest.mark.slow
def test_rebuild_from_scratch_is_byte_identical(good: Site) -> None:
    root = good.root
    run_make(root, "clean", env=good.env)
    assert (
        not (root / "reports").exists() and not (root / "data/processed/trade_monthly.csv").exists()
    )
    run_make(root, "all", env=good.env)
    first, again = outputs(good.first), outputs(root)
    assert sorted(first) == sorted(again), diff_maps(first, again)
    differ = []
    for rel in sorted(first):
        if first[rel] == again[rel] or NOT_REPRODUCIBLE.search(rel):
            continue
        if rel.endswith(".html") and _html_equal(
            (good.first / rel).read_bytes(), (root / rel).read_bytes()
        ):
            continue
        differ.append(rel)
    assert differ == [], f"not reproducible: {differ}"


# ---- unit tests: temporary files of killed writers -----------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_atomic_temp_name_carries_the_writer_pid(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "results.json") as tmp:
        assert tmp.name.startswith(f".results.json.{os.getpid()}.") and tmp.name.endswith(".tmp")
        tmp.write_text("{}")
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def _zombie() -> subprocess.Popen[bytes]:
    """A child that has exited but is not reaped yet (as a SIGKILLed writer can be for a while)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    _wait_for(
        lambda: Path(f"/proc/{proc.pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] == b"Z",
        30,
        "the child to exit",
    )
    return proc


def test_remove_stale_temps_removes_only_files_of_dead_writers(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getpid()
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "deeper").mkdir()
    stale = [
        tmp_path / f".02_trends.{dead}.tmp.ipynb",
        tmp_path / f".results.json.{dead}.k3j_x9a1.tmp",
        tmp_path / "figures" / f".its.png.{dead}.abcd1234.tmp",
    ]
    keep = [
        tmp_path / f".02_trends.{alive}.tmp.ipynb",
        tmp_path / f".results.json.{alive}.zz9_a1b2.tmp",
        tmp_path / "results.json",
        tmp_path / ".hidden",
        tmp_path / "notes.tmp",
        tmp_path / ".results.json.k3j_x9a1.tmp",  # the old (pid-less) name: not ours to judge
        tmp_path / "figures" / "deeper" / f".x.png.{dead}.abcd1234.tmp",
    ]  # beyond depth 1
    zombie = _zombie() if Path("/proc/self/stat").exists() else None
    if zombie is not None:
        stale.append(tmp_path / f".results.json.{zombie.pid}.abc_1234.tmp")
    for p in stale + keep:
        p.write_text("x")
    try:
        removed = remove_stale_temps(tmp_path)
    finally:
        if zombie is not None:
            zombie.wait()
    assert sorted(removed) == sorted(stale)
    assert all(p.exists() for p in keep) and not any(p.exists() for p in stale)
    assert remove_stale_temps(tmp_path / "missing") == []


def test_figures_are_staged_under_build_and_renamed_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report folder's figures are staged in ``build/staging/<same path>/`` (and its old
    figures set aside there), never beside the published folder; outside the repository
    (or in ``build/``) the stage stays beside its target."""
    from analysis import config
    from analysis.fileio import replace_dir, staging_dir

    monkeypatch.setattr(config, "ROOT", tmp_path)
    monkeypatch.setattr(config, "BUILD_DIR", tmp_path / "build")
    report = tmp_path / "reports" / "japan"
    (report / "figures").mkdir(parents=True)
    (report / "figures" / "old.png").write_bytes(b"old")
    stage = staging_dir(report / "figures")
    assert stage.parent == tmp_path / "build" / "staging" / "reports" / "japan"
    assert stage.name == f".figures.{os.getpid()}.staging"
    (stage / "new.png").write_bytes(b"new")
    assert sorted(p.name for p in report.iterdir()) == ["figures"]
    assert replace_dir(stage, report / "figures") == report / "figures"
    assert sorted(p.name for p in (report / "figures").iterdir()) == ["new.png"]
    assert sorted(p.name for p in report.iterdir()) == ["figures"]
    assert list(stage.parent.iterdir()) == []
    scratch = staging_dir(tmp_path / "build" / "interactive" / "japan" / "figures")
    assert scratch.parent == tmp_path / "build" / "interactive" / "japan"
    monkeypatch.setattr(config, "ROOT", tmp_path / "elsewhere")
    assert staging_dir(report / "figures").parent == report


def test_remove_stale_temps_removes_staging_folders_of_dead_writers(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getpid()
    stale = [tmp_path / f".figures.{dead}.staging", tmp_path / f".figures.{dead}.old"]
    keep = [
        tmp_path / f".figures.{alive}.staging",
        tmp_path / "figures",
        tmp_path / ".figures.staging",
    ]
    for d in stale + keep:
        d.mkdir()
        (d / "its_exports.png").write_text("x")
    assert sorted(remove_stale_temps(tmp_path)) == sorted(stale)
    assert all(d.is_dir() for d in keep) and not any(d.exists() for d in stale)


def _code_notebook(path: Path, params: str, code: str) -> Path:
    """A notebook at ``path``: a cell tagged ``parameters`` (``params``), then one cell (``code``)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, path)
    return path


def _sleeping_notebook(path: Path) -> Path:
    # The sleeping cell touches $SLEEPING (when set): the sign that cells are running.
    return _code_notebook(
        path,
        "out_dir = '.'",
        "import os, pathlib, time\n"
        "if os.environ.get('SLEEPING'):\n"
        "    pathlib.Path(os.environ['SLEEPING']).touch()\n"
        "time.sleep(60)",
    )


@pytest.mark.slow
def test_run_notebook_stopped_by_sigterm_removes_its_temp_file(tmp_path: Path) -> None:
    nb = _sleeping_notebook(tmp_path / "in.ipynb")
    out = tmp_path / "out" / "done.ipynb"
    out.parent.mkdir()
    out.write_text("previous good run")
    old = out.parent / f".done.{_dead_pid()}.tmp.ipynb"  # left by a SIGKILLed run
    old.write_text("{}")
    sleeping = tmp_path / "sleeping"
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis.pipeline.run_notebook", str(nb), str(out)],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=dict(os.environ, SLEEPING=str(sleeping)),
    )
    try:
        _wait_for(sleeping.exists, 120, "the notebook's cells to run")
        assert not old.exists(), "the stale temporary file of a killed run was not removed"
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + signal.SIGTERM
    assert stderr.strip().splitlines()[-1] == f"error: {nb}: stopped by SIGTERM"
    assert out.read_text() == "previous good run"
    assert sorted(p.name for p in out.parent.iterdir()) == ["done.ipynb"]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_run_notebook_stopped_at_any_moment_leaves_no_kernel(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """The kernel is started before papermill is imported: a run stopped while the kernel
    starts, while papermill loads or while a cell runs exits with 128+signal, says so in one
    line (no traceback, not even the kernel's), writes no output and leaves no kernel behind."""
    nb = _sleeping_notebook(tmp_path / "in.ipynb")
    problems = []
    for i, delay in enumerate((0.1, 0.2, 0.3, 0.45, 0.7, 2.0)):
        # Its own root (the kernel's working folder) for each run, so that processes_in finds
        # the runner (by its command line) and the kernel (by its working folder).
        root = tmp_path / f"run{i}"
        root.mkdir()
        out = root / "reports" / "done.ipynb"  # its temporary file: under root/build/staging/
        env = dict(os.environ, ANALYSIS_ROOT=str(root))
        proc = subprocess.Popen(
            [sys.executable, "-m", "analysis.pipeline.run_notebook", str(nb), str(out)],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        try:
            time.sleep(delay)
            proc.send_signal(sig)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        time.sleep(0.2)
        left = processes_in(root)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        what = "interrupted" if sig == signal.SIGINT else f"stopped by {sig.name}"
        lines = stderr.strip().splitlines()
        files = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
        if (
            proc.returncode != 128 + sig
            or lines != [f"run {nb} -> {out}", f"error: {nb}: {what}"]
            or left
            or files
        ):
            problems.append(
                f"{sig.name} after {delay} s: exit {proc.returncode}, kernels left {left}, "
                f"files {files}, stderr {stderr[-400:]!r}"
            )
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="needs POSIX signal masks")
def test_a_second_signal_while_the_kernel_stops_still_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``make`` passes on a SIGTERM, so the runner can get a second one while it stops the
    kernel that the first one killed. Under load, that kernel may not have died yet: the second
    signal used to cut the stop short, and the kernel's figures staging folder outlived the run
    (seen in ``test_killed_model_step_leaves_nothing_half_built``). Simulated exactly here: the
    kill of the first signal has not taken effect, and a second SIGTERM arrives as the stop
    begins. The stop and the clean-up still finish; the run still says it was stopped."""
    import threading

    from analysis import config
    from analysis.fileio import _pid_alive
    from analysis.pipeline import run_notebook as rn

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers need the main thread")
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    _code_notebook(
        root / "notebooks" / "in.ipynb",
        "out_dir = ''",
        "import os, time\n"
        "from pathlib import Path\n"
        "from analysis.fileio import staging_dir\n"
        "stage = staging_dir(Path(out_dir) / 'figures')\n"
        "Path(os.environ['SLEEPING']).write_text(str(os.getpid()))\n"
        "time.sleep(60)",
    )
    sleeping = tmp_path / "sleeping"
    src = str(Path(rn.__file__).parents[2])
    monkeypatch.setenv("SLEEPING", str(sleeping))
    monkeypatch.setenv("ANALYSIS_ROOT", str(root))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setattr(config, "ROOT", root)
    monkeypatch.setattr(config, "BUILD_DIR", root / "build")
    monkeypatch.chdir(root)
    monkeypatch.setattr(rn, "_STOPPED_BY", [])
    monkeypatch.setattr(rn, "_kill_kernels", lambda: None)  # the first kill: not yet in effect
    real_stop, seconds = rn._stop_kernel, []

    def second_signal_then_stop(km: object, *, now: bool) -> None:
        if now and not seconds:
            seconds.append(signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)
        real_stop(km, now=now)

    monkeypatch.setattr(rn, "_stop_kernel", second_signal_then_stop)

    done = threading.Event()

    def first_signal() -> None:
        deadline = time.monotonic() + 120
        while not sleeping.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)
        done.wait(120)  # a thread that takes signals stays: the runner has threads too

    threading.Thread(target=first_signal, daemon=True).start()
    try:
        status = rn.main(
            ["notebooks/in.ipynb", "reports/japan/done.ipynb", "-r", "out_dir", "reports/japan"]
        )
    finally:
        kernel = int(sleeping.read_text()) if sleeping.exists() else 0
        alive = kernel > 0 and _pid_alive(kernel)
        if alive:
            os.kill(kernel, signal.SIGKILL)
        done.set()
    assert seconds == [signal.SIGTERM]
    assert status == 128 + signal.SIGTERM
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "error: notebooks/in.ipynb: stopped by SIGTERM"
    )
    assert not alive, "the kernel outlived the run"
    assert [p.relative_to(root).as_posix() for p in root.rglob(".*")] == []
    assert not (root / "reports" / "japan" / "done.ipynb").exists()
