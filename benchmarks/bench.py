"""Benchmark of the pipeline: ``make bench`` (``python benchmarks/bench.py``) -> ``benchmarks/results.md``.

Measures, on fresh copies of the repository (the files ``git ls-files -co --exclude-standard``
lists, modification times kept) in a temporary folder, with this virtual environment
(``VENV=<sys.prefix>``; creating the venv is not part of the cold run) and the data mirror
``$ANALYSIS_DATA_MIRROR`` (required; a relative path means relative to the repository root):

* the **floor**: the same analysis as one plain Python process (``benchmarks/floor.py``: no
  notebooks, no make, no HTML export), and whether it gives the same ``results.json`` and
  ``claims.csv`` as the pipeline;
* the **cold** ``make all`` (raw files copied from the mirror and verified, cleaning, Korea's
  report, context pages, landing page) and the time of every step of that same run: each recipe
  command is timed by a thin ``SHELL`` wrapper (``make SHELL=...``), each notebook also by
  ``$ANALYSIS_TIMINGS`` (``analysis.pipeline.run_notebook``) and by the cell durations papermill stores.
  Floor and cold run alternate ``--repeat`` times (default 2), each in a fresh copy; the
  fastest of each is reported (the machine is shared);
* the **no-op** ``make all`` (median of 5), checking that nothing was rewritten;
* **one more partner**: ``make report PARTNER=Japan`` after the cold run;
* **all-partners**: ``make -jN`` of a subset of the country reports (``--partners``, default 8,
  chosen evenly from ``python -m analysis.partners list``), time per partner;
* the cold run again with ``make -jN all`` and, with ``--all-partners``, the full
  ``make -jN all-partners`` after it in the same copy (about 160 reports: long);
* **start-up costs**: interpreter, papermill and nbconvert imports, a papermill run of an
  empty notebook through ``analysis.pipeline.run_notebook`` (kernel start and stop), the HTML export of
  an empty notebook, the imports of each notebook's ``analysis`` modules, ``-X importtime``
  by package, and the cost of building a figure and saving it as PNG and as SVG;
* a profile of ``models.run_models`` for Korea (the largest step).

Options: ``--partners N``, ``--jobs N`` (default: number of CPUs), ``--all-partners``, ``--repeat N``,
``--venv`` (also time ``make venv`` into a temporary venv: needs PyPI), ``--keep`` (keep the
work folder), ``--output PATH``. Every number is measured when the script runs; nothing is
typed in. Errors print one ``error: ...`` line and exit with status 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from makeruns import (
    EMPTY_HTML,
    EMPTY_NB,
    EXTRA_PARTNER,
    PROBE_RUNS,
    BenchError,
    MakeRun,
    cell_seconds,
    cells_total,
    leaves,
    median_seconds,
    run_make,
    run_timed,
)
from results_md import render, trends_first

ROOT = Path(__file__).resolve().parents[1]
FLOOR = ROOT / "benchmarks" / "floor.py"
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results.md"
NOOP_RUNS = 5
REPEAT = 2

# The recipe-command timer given to make as SHELL: runs the command with bash as make would,
# appends "start<TAB>end<TAB>status<TAB>command" to $BENCH_SHELL_LOG (one write per command).
SHELL_WRAPPER = r"""#!/bin/bash
t0=$EPOCHREALTIME
/bin/bash "$@"; rc=$?
t1=$EPOCHREALTIME
c="${*: -1}"; c="${c//$'\n'/ }"; c="${c//$'\t'/ }"
printf '%s\t%s\t%s\t%s\n' "$t0" "$t1" "$rc" "$c" >> "$BENCH_SHELL_LOG"
exit $rc
"""

# Make variables that the outer `make bench` puts in the environment: not for the inner makes.
_MAKE_ENV = (
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "MAKEOVERRIDES",
    "MAKE_TERMOUT",
    "MAKE_TERMERR",
    "ANALYSIS_ROOT",
    "ANALYSIS_TIMINGS",
    "BENCH_SHELL_LOG",
)


# ---- environment --------------------------------------------------------------------------


def mirror_from_env() -> Path:
    """``$ANALYSIS_DATA_MIRROR`` as an absolute folder (relative = against the repo root)."""
    value = os.environ.get("ANALYSIS_DATA_MIRROR", "").strip()
    if not value:
        raise BenchError(
            "ANALYSIS_DATA_MIRROR is not set: the benchmark needs the local data mirror "
            "(e.g. ANALYSIS_DATA_MIRROR=../shared/data make bench)"
        )
    path = Path(value).expanduser()
    path = (path if path.is_absolute() else ROOT / path).resolve()
    if not path.is_dir():
        raise BenchError(f"ANALYSIS_DATA_MIRROR={value}: no such folder ({path})")
    return path


def this_venv() -> Path:
    """The virtual environment running this script (passed to make as ``VENV``)."""
    prefix = Path(sys.prefix)
    if sys.prefix == sys.base_prefix or not (prefix / "bin" / "python").exists():
        raise BenchError(
            f"{sys.executable}: not a virtual environment; run `make bench` "
            "(or .venv/bin/python benchmarks/bench.py)"
        )
    stamp = prefix / ".installed"
    if not stamp.exists() or stamp.stat().st_mtime < (ROOT / "pyproject.toml").stat().st_mtime:
        raise BenchError(
            f"{stamp}: missing or older than pyproject.toml; run `make venv` first "
            "(the benchmark must not reinstall the environment)"
        )
    return prefix


def base_env(mirror: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _MAKE_ENV}
    env["ANALYSIS_DATA_MIRROR"] = str(mirror)
    env["LC_ALL"] = env.get("LC_ALL") or "C.UTF-8"
    return env


def kernel_env(env: dict[str, str], copy: Path) -> dict[str, str]:
    """What the copy's Makefile exports to its recipes (for the probes run outside make)."""
    cache = copy / "build" / "cache"
    out = dict(env)
    out.update(
        {
            "ANALYSIS_ROOT": str(copy),
            "MPLCONFIGDIR": str(cache / "matplotlib"),
            "IPYTHONDIR": str(cache / "ipython"),
            "JUPYTER_CONFIG_DIR": str(cache / "jupyter" / "config"),
            "JUPYTER_DATA_DIR": str(cache / "jupyter" / "data"),
            "JUPYTER_RUNTIME_DIR": str(cache / "jupyter" / "runtime"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "MPLBACKEND": "Agg",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        }
    )
    return out


def copy_repo(dest: Path) -> int:
    """Copy the files git lists (tracked and untracked, not ignored) to ``dest``; mtimes kept,
    so the copy's ``pyproject.toml`` is not newer than the venv's install stamp."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BenchError(f"{ROOT}: cannot list the repository's files with git ({exc})") from None
    n = 0
    for rel in sorted({p for p in out.decode().split("\0") if p}):
        src = ROOT / rel
        if not src.is_file():  # deleted in the working tree
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
        n += 1
    return n


# ---- probes (run in a subprocess with the copy's environment) ------------------------------

PROFILE_CODE = r"""
import cProfile, json, pstats, time
from analysis import config
from analysis.models.run import run_models
from analysis.clean import series
trade = series.load_trade(config.TRADE_MONTHLY_CSV)
m = series.partner_monthly(trade, config.DEFAULT_PARTNER, "2000-01", "")
pr = cProfile.Profile()
t0 = time.perf_counter()
pr.enable()
run_models(m, breaks=["2012-03", "2019-01"], train_end="2012-02")
pr.disable()
out = {"run_models (profiled)": time.perf_counter() - t0}
names = ["supf_search", "hac_wald_boot", "fit_its", "counterfactual", "seasonally_adjust", "stl_decompose", "ar_noise"]
for (fn, _, name), (_, _, _, ct, _) in pstats.Stats(pr).stats.items():
    if name in names and "/analysis/models/" in fn:
        out[name] = out.get(name, 0.0) + ct
print(json.dumps(out))
"""

FIGURE_CODE = r"""
import json, tempfile, time
from pathlib import Path
from analysis import config
from analysis.models import comparison as cmp
from analysis.report import context_plots
from analysis.report import figures
from analysis.models import seasonal
from analysis.clean import series
from analysis.fileio import write_atomic
trade = series.load_trade(config.TRADE_MONTHLY_CSV)
m = series.partner_monthly(trade, config.DEFAULT_PARTNER, "2000-01", "")
through = series.data_through(m)
sa = seasonal.seasonally_adjust(m)
codes = [5800, 5700, 5880, 2010]
names = [cmp.partner_name(trade, c) for c in codes]
bal = cmp.wide_by_partner(cmp.annual_totals(trade, codes), "balance")[names]
figures.set_theme()
makers = {
    "annual_balance": lambda: figures.plot_annual_balance(series.annual(m), partner="Korea", data_through=through),
    "monthly_trade": lambda: figures.plot_monthly_trade(m, sa, partner="Korea", data_through=through),
    "partners_balance": lambda: context_plots.plot_partner_balances(bal, focus=names[0], data_through=through),
}
out = {"build": 0.0, "png": 0.0, "svg": 0.0, "n": 0}
with tempfile.TemporaryDirectory() as tmp:
    for name, make in makers.items():
        for _ in range(2):
            t0 = time.perf_counter()
            fig = make()
            t1 = time.perf_counter()
            figures.save_figure(fig, Path(tmp), name)      # PNG + SVG, as the notebooks do
            t2 = time.perf_counter()
            fig = make()
            t3 = time.perf_counter()
            write_atomic(Path(tmp) / "x.png", lambda p: fig.savefig(p, format="png", dpi=figures.PNG_DPI))
            t4 = time.perf_counter()
            out["build"] += t1 - t0
            out["png"] += t4 - t3
            out["svg"] += (t2 - t1) - (t4 - t3)
            out["n"] += 1
print(json.dumps(out))
"""

IMPORT_SETS = {  # the analysis modules each notebook imports
    "01_clean": "import analysis.clean.table, analysis.clean.census, analysis.config",
    "02_trends": "import analysis.models.run, analysis.report.results, analysis.report.text, analysis.report.figures, analysis.clean.series",
    "03_partners": "import analysis.clean.series, analysis.models.comparison, analysis.models.context, "
    "analysis.models.did_reading, analysis.report.context_plots, analysis.report.figures, "
    "analysis.report.theme, analysis.sources.wdi",
    "04_claims": "import analysis.claims.check, analysis.claims.view",
}
STATSMODELS_API = "import statsmodels.api"
STATSMODELS_DIRECT = (
    "from statsmodels.regression.linear_model import OLS, yule_walker; "
    "from statsmodels.stats.diagnostic import acorr_ljungbox, breaks_cusumolsresid; "
    "from statsmodels.stats.stattools import durbin_watson; "
    "from statsmodels.tsa.ar_model import ar_select_order; "
    "from statsmodels.tsa.exponential_smoothing.ets import ETSModel; "
    "from statsmodels.tsa.seasonal import STL; "
    "from statsmodels.tsa.statespace.sarimax import SARIMAX; "
    "from statsmodels.stats import sandwich_covariance"
)


def python_json(py: Path, code: str, env: dict[str, str], log: Path, cwd: Path) -> dict[str, Any]:
    with open(log, "ab") as fh:
        proc = subprocess.run(
            [str(py), "-c", code], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=fh
        )
    if proc.returncode != 0:
        raise BenchError(f"probe failed with status {proc.returncode} (log: {log})")
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


def importtime(
    py: Path, code: str, env: dict[str, str], cwd: Path
) -> tuple[dict[str, float], dict[str, float]]:
    """``python -X importtime -c code``: (self time summed by top-level package, cumulative time
    of each module), in seconds."""
    proc = subprocess.run(
        [str(py), "-X", "importtime", "-c", code], env=env, cwd=cwd, capture_output=True, text=True
    )
    by_pkg: dict[str, float] = {}
    cumulative: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        name = parts[2].strip()
        by_pkg[name.split(".")[0]] = by_pkg.get(name.split(".")[0], 0.0) + int(parts[0]) / 1e6
        cumulative.setdefault(name, int(parts[1]) / 1e6)
    return dict(sorted(by_pkg.items(), key=lambda kv: -kv[1])), cumulative


def empty_notebook(path: Path) -> None:
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "empty",
                "metadata": {},
                "outputs": [],
                "source": "pass",
            }
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb), encoding="utf-8")


def snapshot(copy: Path) -> dict[str, int]:
    out = {}
    for top in ("data", "reports", "build/notebooks"):
        for p in (copy / top).rglob("*"):
            if p.is_file():
                out[str(p.relative_to(copy))] = p.stat().st_mtime_ns
    return out


def versions(py: Path) -> dict[str, str]:
    code = (
        "import json, importlib.metadata as md, platform; "
        "print(json.dumps({'python': platform.python_version(), **{n: md.version(n) for n in "
        "['pandas', 'numpy', 'statsmodels', 'scipy', 'matplotlib', 'papermill', 'nbconvert', "
        "'ipykernel']}}))"
    )
    return json.loads(
        subprocess.run([str(py), "-c", code], capture_output=True, text=True, check=True).stdout
    )


def machine() -> dict[str, str]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    make_v = subprocess.run(
        ["make", "--version"], capture_output=True, text=True
    ).stdout.splitlines()
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu or platform.processor(),
        "os": f"{platform.system()} {platform.release()}",
        "make": make_v[0] if make_v else "?",
    }


def load() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


# ---- the benchmark -------------------------------------------------------------------------


@dataclass
class Bench:
    """Where and with what the benchmark runs (one work folder, this venv, the mirror)."""

    args: argparse.Namespace
    py: Path
    venv: Path
    env: dict[str, str]
    jobs: int
    base: Path
    work: Path

    def make(
        self, copy: Path, targets: list[str], name: str, jobs: int = 1, timed: bool = True
    ) -> MakeRun:
        return run_make(copy, targets, self.env, self.work, name, self.venv, jobs=jobs, timed=timed)


def say(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def _executed(copy: Path, label: str) -> Path:
    """The executed notebook of a step labelled ``source -> output``."""
    return copy / label.split(" -> ")[1]


def floor_and_cold(b: Bench, R: dict[str, Any]) -> Path:
    """Floor and cold ``make all``, alternately, each in a fresh copy; the fastest of each
    counts. Returns the copy of the fastest cold run (the later steps continue in it)."""
    floors: list[tuple[float, dict[str, float], Path]] = []
    colds: list[tuple[MakeRun, Path]] = []
    for i in range(b.args.repeat):
        floor_dir = b.base / f"floor{i}"
        R["files_copied"] = copy_repo(floor_dir)
        say(f"floor {i + 1}/{b.args.repeat}: one Python process ({FLOOR.name}) ...")
        seconds = run_timed(
            [
                str(b.py),
                str(FLOOR),
                "--root",
                str(floor_dir),
                "--json",
                str(b.work / f"floor{i}.json"),
            ],
            b.env,
            b.work / "floor.log",
        )
        floors.append((seconds, json.loads((b.work / f"floor{i}.json").read_text()), floor_dir))
        copy = b.base / f"pipeline{i}"
        copy_repo(copy)
        say(f"cold make all {i + 1}/{b.args.repeat} ...")
        colds.append((b.make(copy, ["all"], f"cold{i}"), copy))
    R["floor"], R["floor_phases"], floor_dir = min(floors, key=lambda f: f[0])
    R["floor_all"] = [f[0] for f in floors]
    cold, copy = min(colds, key=lambda c: c[0].seconds)
    R["cold"], R["cold_all"] = cold, [c[0].seconds for c in colds]
    R["same_results"] = {
        rel: (floor_dir / rel).read_bytes() == (copy / rel).read_bytes()
        for rel in (
            "reports/korea-south/results.json",
            "reports/korea-south/coefficients.csv",
            "reports/claims.csv",
            "data/processed/trade_monthly.csv",
        )
        if (floor_dir / rel).exists() and (copy / rel).exists()
    }
    notebooks = [label for kind, label, _ in leaves(cold) if kind == "notebook"]
    R["notebook_cells"] = {label: cells_total(_executed(copy, label)) for label in notebooks}
    R["displayed_figures"] = sum(
        1
        for label in notebooks
        for cell in json.loads(_executed(copy, label).read_text())["cells"]
        for o in cell.get("outputs", [])
        if "image/png" in o.get("data", {})
    )
    return copy


def noop_and_partner(b: Bench, R: dict[str, Any], copy: Path) -> None:
    """No-op ``make all`` (median; were files rewritten?), ``make agreements`` (the comparison
    of every U.S. FTA, after ``make all``) and ``make report`` of one more partner."""
    say(f"no-op make all x{b.args.noop_runs} ...")
    before = snapshot(copy)
    noops = [
        b.make(copy, ["all"], f"noop{i}", timed=False).seconds for i in range(b.args.noop_runs)
    ]
    after = snapshot(copy)
    R["noop"], R["noop_all"] = statistics.median(noops), noops
    R["noop_rewritten"] = sorted(k for k in after if before.get(k) != after[k])
    say("make agreements (every U.S. FTA, after make all) ...")
    R["agreements"] = b.make(copy, ["agreements"], "agreements")
    say(f"make report PARTNER={EXTRA_PARTNER} ...")
    R["partner"] = b.make(copy, ["report", f"PARTNER={EXTRA_PARTNER}"], "partner")
    notebooks = trends_first(
        [label for kind, label, _ in leaves(R["partner"]) if kind == "notebook"]
    )
    R["partner_cells"] = {label: cells_total(_executed(copy, label)) for label in notebooks}
    kinds = cell_seconds(_executed(copy, notebooks[0])) if notebooks else None
    R["partner_kinds"] = {k: v for k, v in (kinds or {}).items() if k != "parameters"}


def partners_and_parallel(b: Bench, R: dict[str, Any], copy: Path) -> None:
    """``make -jN`` of a subset of the country reports; a cold ``make -jN all`` in another fresh
    copy and, with ``--all-partners``, the full ``make -jN all-partners`` after it there (every
    country report but Korea's, which ``make all`` built)."""
    listed = subprocess.run(
        [str(b.py), "-m", "analysis.partners", "list", "2012-03"],
        env=kernel_env(b.env, copy),
        cwd=copy,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    R["partners_listed"] = len(listed)
    todo = [s for s in listed if not (copy / "reports" / s / "results.json").exists()]
    step = max(1, len(todo) // max(1, b.args.partners))
    R["subset"] = todo[::step][: b.args.partners]
    say(f"make -j{b.jobs} of {len(R['subset'])} partner reports ...")
    R["subset_run"] = b.make(
        copy,
        [f"reports/{s}/trends.html" for s in R["subset"]] + ["reports/index.html"],
        "subset",
        jobs=b.jobs,
    )
    if b.jobs > 1 or b.args.all_partners:
        copy_j = b.base / "pipeline-j"
        copy_repo(copy_j)
        say(f"cold make -j{b.jobs} all ...")
        cold_j = b.make(copy_j, ["all"], "coldj", jobs=b.jobs)
        if b.jobs > 1:
            R["cold_j"] = cold_j
        if b.args.all_partners:
            # Every country report, as a user runs it after `make all` (only Korea's exists).
            todo = [s for s in listed if not (copy_j / "reports" / s / "trends.html").exists()]
            say(f"make -j{b.jobs} all-partners ({len(todo)} reports to build) ...")
            R["all_partners_built"] = len(todo)
            R["all_partners_run"] = b.make(copy_j, ["all-partners"], "allpartners", jobs=b.jobs)


def startup_probes(b: Bench, R: dict[str, Any], copy: Path) -> None:
    """Start-up costs (medians), ``-X importtime`` by package, figure costs and the profile."""
    say("start-up probes ...")
    kenv = kernel_env(b.env, copy)
    log = b.work / "probes.log"
    empty_notebook(b.work / "empty.ipynb")

    def probe(*argv: str) -> float:
        return median_seconds([str(b.py), *argv], kenv, log, cwd=copy)

    probes: dict[str, float] = {
        "python -c pass": probe("-c", "pass"),
        "import papermill": probe("-c", "import papermill"),
        "import nbconvert": probe("-c", "import nbconvert"),
        EMPTY_NB: probe(
            "-m",
            "analysis.pipeline.run_notebook",
            str(b.work / "empty.ipynb"),
            str(b.work / "empty.out.ipynb"),
        ),
        EMPTY_HTML: probe(
            "-m",
            "analysis.report.publish",
            "notebook",
            str(b.work / "empty.out.ipynb"),
            str(b.work / "empty.html"),
        ),
    }
    for nb, code in IMPORT_SETS.items():
        probes[f"imports of {nb}: {code.removeprefix('import ')}"] = probe("-c", code)
    probes["import statsmodels.api"] = probe("-c", STATSMODELS_API)
    probes["import only the statsmodels modules used"] = probe("-c", STATSMODELS_DIRECT)
    R["probes"] = probes
    R["importtime"] = importtime(b.py, "; ".join(IMPORT_SETS.values()), kenv, copy)[0]
    R["claims_statsmodels"] = statistics.median(
        importtime(b.py, IMPORT_SETS["04_claims"], kenv, copy)[1].get("statsmodels.api", 0.0)
        for _ in range(PROBE_RUNS)
    )
    R["figures"] = python_json(b.py, FIGURE_CODE, kenv, log, copy)
    say("profile of run_models ...")
    R["profile"] = python_json(b.py, PROFILE_CODE, kenv, log, copy)


def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Run every measurement (see the module docstring); the results as one dict."""
    mirror = mirror_from_env()
    venv = this_venv()
    base = Path(tempfile.mkdtemp(prefix="korus-bench-", dir=args.workdir))
    b = Bench(
        args,
        venv / "bin" / "python",
        venv,
        base_env(mirror),
        args.jobs or os.cpu_count() or 1,
        base,
        base / "logs",
    )
    b.work.mkdir()
    (b.work / "timeshell").write_text(SHELL_WRAPPER)
    (b.work / "timeshell").chmod(0o755)
    R: dict[str, Any] = {
        "load_before": load(),
        "jobs": b.jobs,
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    try:
        copy = floor_and_cold(b, R)
        noop_and_partner(b, R, copy)
        partners_and_parallel(b, R, copy)
        startup_probes(b, R, copy)
        if args.venv:
            vcopy = base / "venv-copy"
            copy_repo(vcopy)
            say("make venv into a temporary venv (PyPI) ...")
            R["venv_create"] = run_timed(
                [
                    "make",
                    "-C",
                    str(vcopy),
                    "venv",
                    f"VENV={base / 'venv'}",
                    f"PYTHON={sys.base_prefix}/bin/python3",
                ],
                b.env,
                b.work / "venv.log",
            )
        R["load_after"] = load()
        R["versions"] = versions(b.py)
        R["machine"] = machine()
    finally:
        if args.keep:
            say(f"work folder kept: {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return R


def evaluation_jobs() -> dict[str, Any]:
    """The synthetic-control placebo batch, timed on this checkout's cleaned table, and the
    size simulation's results (``benchmarks/size.json``) when they exist."""
    out: dict[str, Any] = {}
    size = Path(__file__).with_name("size.json")
    if size.is_file():
        out["size"] = json.loads(size.read_text(encoding="utf-8"))
    from analysis import config

    if config.TRADE_MONTHLY_CSV.is_file():
        from synth_bench import best_of, placebo_batch

        from analysis.clean.series import load_trade
        from analysis.models import synth

        trade = load_trade(config.TRADE_MONTHLY_CSV)
        out["synth"] = {
            flow: best_of(3, lambda flow=flow: placebo_batch(trade, flow)) for flow in synth.FLOWS
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python benchmarks/bench.py", description=__doc__.splitlines()[0]
    )
    ap.add_argument(
        "--partners",
        type=int,
        default=8,
        help="partner reports in the all-partners subset (default 8)",
    )
    ap.add_argument(
        "--jobs", type=int, default=0, help="make -j for the parallel runs (default: CPUs)"
    )
    ap.add_argument(
        "--all-partners", action="store_true", help="also run the full `make all-partners` (long)"
    )
    ap.add_argument("--noop-runs", type=int, default=NOOP_RUNS)
    ap.add_argument(
        "--repeat",
        type=int,
        default=REPEAT,
        help="floor and cold runs, alternately; the fastest of each is reported (default 2)",
    )
    ap.add_argument(
        "--venv", action="store_true", help="also time `make venv` into a temporary venv (PyPI)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the work folder (copies, logs)")
    ap.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="parent of the work folder (default: system temp)",
    )
    ap.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    if min(args.partners, args.noop_runs, args.repeat) < 1:
        print("error: --partners, --noop-runs and --repeat must be at least 1", file=sys.stderr)
        return 2
    try:
        R = bench(args)
        R.update(evaluation_jobs())
        text = render(R)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    tmp = args.output.with_name(f".{args.output.name}.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
