"""Timed runs of make and of commands, and what the recipe commands were (for bench.py).

A :class:`MakeRun` holds the wall time of one ``make`` and, when timed, every recipe command
(logged by the ``SHELL`` wrapper) and the notebook timings of ``$ANALYSIS_TIMINGS``;
:func:`leaves` names each command's step (data, notebook, HTML page, landing page, glue).
"""

from __future__ import annotations

import json
import re
import shlex
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The partner of the "one more partner" measurement.
EXTRA_PARTNER = "Japan"
#: Runs of each start-up probe (the median counts).
PROBE_RUNS = 3
#: The targets ("partners in seconds", and the comparison of every agreement):
#: cold `make all` at most this multiple of the floor (`benchmarks/floor.py`);
TARGET_COLD_X_FLOOR = 1.4
#: no-op `make all` at most this share of the cold run;
TARGET_NOOP_SHARE = 0.01
#: one more partner (`make report PARTNER=Japan` after `make all`), seconds;
TARGET_PARTNER_SECONDS = 8.0
#: the full `make -jN all-partners` after `make -jN all` (every country report), seconds;
TARGET_ALL_PARTNERS_SECONDS = 600.0
#: `make agreements` after `make all`: every U.S. FTA evaluated and compared (seconds).
TARGET_AGREEMENTS_SECONDS = 300.0
EMPTY_NB = "empty notebook via analysis.pipeline.run_notebook (kernel start and stop)"
EMPTY_HTML = "empty notebook to HTML (analysis.report.publish notebook)"


class BenchError(Exception):
    """A problem that stops the benchmark; the message is one line."""


# ---- running things ----------------------------------------------------------------------


@dataclass
class Cmd:
    """One recipe command timed by the SHELL wrapper."""

    start: float
    end: float
    status: int
    text: str

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class MakeRun:
    seconds: float
    cmds: list[Cmd] = field(default_factory=list)
    timings: list[dict[str, Any]] = field(default_factory=list)


def run_timed(argv: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> float:
    """Run ``argv``, output to ``log``; return the wall seconds. A failure is a BenchError."""
    with open(log, "ab") as fh:
        fh.write(f"\n$ {shlex.join(argv)}\n".encode())
        fh.flush()
        t0 = time.perf_counter()
        proc = subprocess.run(argv, env=env, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()][-1:]
        raise BenchError(
            f"`{shlex.join(argv)}` failed with status {proc.returncode}"
            + (f": {tail[0]}" if tail else "")
            + f" (log: {log})"
        )
    return seconds


def run_make(
    copy: Path,
    targets: list[str],
    env: dict[str, str],
    work: Path,
    name: str,
    venv: Path,
    jobs: int = 1,
    timed: bool = True,
) -> MakeRun:
    """``make -C copy [-jN] TARGETS VENV=venv``; with ``timed``, every recipe command is timed
    (SHELL wrapper) and the notebook timings are collected ($ANALYSIS_TIMINGS)."""
    env = dict(env)
    shell_log, timings = work / f"{name}.shell.tsv", work / f"{name}.timings.jsonl"
    for p in (shell_log, timings):
        p.unlink(missing_ok=True)
    argv = ["make", "-C", str(copy), *targets, f"VENV={venv}"]
    if jobs > 1:
        argv.insert(1, f"-j{jobs}")
    if timed:
        argv.append(f"SHELL={work / 'timeshell'}")
        env["BENCH_SHELL_LOG"] = str(shell_log)
        env["ANALYSIS_TIMINGS"] = str(timings)
    seconds = run_timed(argv, env, work / "make.log")
    run = MakeRun(seconds)
    if timed and shell_log.exists():
        for line in shell_log.read_text().splitlines():
            t0, t1, rc, text = line.split("\t", 3)
            run.cmds.append(Cmd(float(t0), float(t1), int(rc), text))
    if timed and timings.exists():
        run.timings = [json.loads(ln) for ln in timings.read_text().splitlines() if ln.strip()]
    return run


def median_seconds(
    argv: list[str], env: dict[str, str], log: Path, runs: int = PROBE_RUNS, cwd: Path | None = None
) -> float:
    return statistics.median(run_timed(argv, env, log, cwd) for _ in range(runs))


# ---- classifying recipe commands -----------------------------------------------------------

_NB = re.compile(r"analysis\.(?:\w+\.)*run_notebook\s+(\S+)\s+(\S+)")
_HTML = re.compile(r"analysis\.(?:\w+\.)*publish notebook\s+(\S+)\s+(\S+)")
_ACQ = re.compile(r"analysis\.(?:\w+\.)*acquire\s+(\w+)")


def classify(text: str) -> tuple[str, str] | None:
    """(kind, label) of a recipe command; None for a recipe that runs a sub-make (a container,
    whose time is that of the commands inside it plus make itself)."""
    flat = " ".join(text.replace("\\", " ").split())
    if re.search(r"(^|[\s;&|(])make\s", flat):
        return None
    if m := _ACQ.search(flat):
        return "data", f"data: obtain {m.group(1)} (mirror copy, sha256)"
    if m := _NB.search(flat):
        return "notebook", f"{Path(m.group(1)).name} -> {m.group(2)}"
    if m := _HTML.search(flat):
        return "html", f"HTML {m.group(2)}"
    if re.search(r"analysis\.(?:\w+\.)*publish index", flat):
        return "index", "landing page reports/index.html"
    if "analysis.params" in flat:
        return "glue", "params.json"
    return "glue", flat[:60]


def leaves(run: MakeRun) -> list[tuple[str, str, Cmd]]:
    out = []
    for c in sorted(run.cmds, key=lambda c: c.start):
        k = classify(c.text)
        if k is not None:
            out.append((k[0], k[1], c))
    return out


def cell_seconds(path: Path) -> dict[str, float] | None:
    """Papermill's code-cell durations of an executed notebook, summed by kind: ``imports``
    (the first code cell after the parameters: imports, data, checks), ``models`` (cells calling
    ``run_models``), ``figures`` (cells that save figures, with their tables and text), ``other``
    and ``parameters``; None when the notebook cannot be read."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    out = {"imports": 0.0, "models": 0.0, "figures": 0.0, "other": 0.0, "parameters": 0.0}
    first = True
    for cell in nb.get("cells", []):
        d = cell.get("metadata", {}).get("papermill", {}).get("duration")
        if cell.get("cell_type") != "code" or not isinstance(d, int | float):
            continue
        src = "".join(cell.get("source", []))
        if {"parameters", "injected-parameters"} & set(cell.get("metadata", {}).get("tags", [])):
            kind = "parameters"
        else:
            kind = (
                "imports"
                if first
                else "models"
                if "run_models(" in src
                else "figures"
                if "save_figure(" in src
                else "other"
            )
            first = False
        out[kind] += d
    return out


def cells_total(path: Path) -> float | None:
    """Sum of the code cells' papermill durations in an executed notebook."""
    kinds = cell_seconds(path)
    return None if kinds is None else sum(kinds.values())
