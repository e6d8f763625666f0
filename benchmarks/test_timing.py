"""How long the test suite takes on a fresh clone: ``make bench-tests`` -> ``benchmarks/results.md``.

Clones the repository (what is committed, as a contributor gets it) into a temporary folder,
points it at this checkout's virtual environment (``VENV=``) and the data mirror
(``ANALYSIS_DATA_MIRROR``), imports the package from the clone's own ``src/`` (``PYTHONPATH``:
the venv's editable install points at this checkout, whose compiled modules a fresh clone does
not have), then times ``make test-fast`` and ``make test`` there, each as one
command, as a contributor would run them. Writes the section "Test suite" of
``benchmarks/results.md`` (the other sections are left as they are): both wall times against
their targets, the load of the machine before and after, pytest's summary line, and the 15
slowest tests of ``make test`` as pytest reports them (``--durations=15``), and the tests that
failed, if any (their node ids; both logs are kept in ``build/bench-tests/``).

    python benchmarks/test_timing.py [--keep] [--output benchmarks/results.md]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results.md"
#: Targets of the test suite on the project's 2-core machine, with the data mirror set.
TARGET_TEST_S = 360.0
TARGET_FAST_S = 60.0
BEGIN = "<!-- test-timing:begin -->"
END = "<!-- test-timing:end -->"
_DURATION = re.compile(r"^\s*(\d+\.\d+)s (call|setup|teardown)\s+(\S+)")
_SUMMARY = re.compile(r"^=+ (.*\d+ passed.*) in [\d.]+s.*=+$")
#: pytest's short summary line of a failed test (``-ra``/``-rf``): its node id.
_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+::\S+)")
#: Where the logs of the last run are kept (in this checkout's build folder, not committed).
LOGS = ROOT / "build" / "bench-tests"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split(" ")[:3])


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children and their descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(
    cmd: list[str], cwd: Path, env: dict[str, str], log: Path
) -> tuple[float, int, str, float]:
    """Run ``cmd`` (its output to ``log``); wall seconds, exit status, the output and the CPU
    seconds it used (every process it started and waited for: make, pytest's workers, the
    notebooks' kernels)."""
    cpu, start = children_cpu(), time.monotonic()
    with open(log, "w") as fh:
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - start
    return seconds, proc.returncode, log.read_text(errors="replace"), children_cpu() - cpu


def slowest(output: str, n: int = 15) -> list[tuple[float, str, str]]:
    """The ``(seconds, phase, test)`` lines of pytest's ``--durations`` report."""
    rows = [
        (float(m.group(1)), m.group(2), m.group(3))
        for line in output.splitlines()
        if (m := _DURATION.match(line))
    ]
    return sorted(rows, reverse=True)[:n]


def failed(output: str) -> list[str]:
    """The node ids of the tests pytest lists as failed or in error, in its order, once each
    (the ids only: a failure's message may name local paths)."""
    return list(dict.fromkeys(m.group(1) for ln in output.splitlines() if (m := _FAILED.match(ln))))


def summary(output: str) -> str:
    for line in reversed(output.splitlines()):
        if m := _SUMMARY.match(line.strip()):
            return m.group(1)
    return "(no pytest summary line)"


def section(r: dict) -> str:
    """The Markdown of the section, from the measurements in ``r``."""

    def verdict(seconds: float, target: float, status: int) -> str:
        if status != 0:
            return f"**failed** (exit {status})"
        return "yes" if seconds <= target else f"**no** ({seconds - target:,.0f} s over)"

    lines = [
        BEGIN,
        "## Test suite",
        "",
        f"Measured by `make bench-tests` (`benchmarks/test_timing.py`) on {r['date']}: a fresh "
        "clone of the committed repository importing its own `src/`, this checkout's virtual "
        f"environment, the data mirror set; {r['cpus']} CPUs. Load before `{r['load_before']}`, after "
        f"`{r['load_after']}` (the machine is shared).",
        "",
        "| command | seconds | target | met? | CPU seconds | pytest |",
        "|---|---:|---:|---|---:|---|",
        f"| `make test-fast` (unit tests, 2 workers) | {r['fast_s']:,.1f} | "
        f"≤ {TARGET_FAST_S:,.0f} | {verdict(r['fast_s'], TARGET_FAST_S, r['fast_rc'])} | "
        f"{r['fast_cpu']:,.0f} | {r['fast_summary']} |",
        f"| `make test` (lint, unit and end-to-end, 2 workers) | {r['test_s']:,.1f} | "
        f"≤ {TARGET_TEST_S:,.0f} | {verdict(r['test_s'], TARGET_TEST_S, r['test_rc'])} | "
        f"{r['test_cpu']:,.0f} | {r['test_summary']} |",
        "",
        f"*CPU seconds*: user and system time of every process the command started (make, "
        f"pytest's workers, the notebooks' kernels). On {r['cpus']} CPUs `make test` cannot "
        f"take less than {r['test_cpu'] / r['cpus']:,.0f} s of wall time; its "
        f"{TARGET_TEST_S:,.0f} s target needs at most {TARGET_TEST_S * r['cpus']:,.0f} CPU "
        "seconds, all cores busy all the time.",
        "",
    ]
    for name, key in (("make test-fast", "fast_failed"), ("make test", "test_failed")):
        if r.get(key):
            lines += [
                f"Failed in `{name}` (the run's logs are kept in `build/bench-tests/`): "
                + ", ".join(f"`{t}`" for t in r[key])
                + ".",
                "",
            ]
    lines += [
        "The 15 slowest tests of `make test` (pytest `--durations=15`; *setup* of an end-to-end "
        "test includes the shared build it waits for):",
        "",
        "| seconds | phase | test |",
        "|---:|---|---|",
    ]
    lines += [f"| {s:,.2f} | {phase} | `{test}` |" for s, phase, test in r["slowest"]]
    lines += ["", END]
    return "\n".join(lines)


def write_section(path: Path, text: str) -> None:
    """Put ``text`` in place of the section between the markers (or at the end)."""
    old = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmark results\n"
    if BEGIN in old and END in old:
        new = old[: old.index(BEGIN)] + text + old[old.index(END) + len(END) :]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the clone (the logs are copied to build/bench-tests/ in any case)",
    )
    args = parser.parse_args(argv)
    mirror = os.environ.get("ANALYSIS_DATA_MIRROR", "").strip()
    if not mirror:
        print("error: ANALYSIS_DATA_MIRROR is not set (the suite's timing needs the mirror)")
        return 2
    mirror_path = Path(mirror) if Path(mirror).is_absolute() else ROOT / mirror
    venv = Path(sys.prefix)
    work = Path(tempfile.mkdtemp(prefix="korus-test-timing-"))
    try:
        clone = work / "korus-trade"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS") and not k.startswith("PYTEST")
        }
        env["ANALYSIS_DATA_MIRROR"] = str(mirror_path.resolve())
        # The clone's own package, as a new user's editable install would import it: not this
        # checkout's (the venv's editable install), whose bytecode caches a clone has not.
        env["PYTHONPATH"] = str(clone / "src")
        # The clone's pyproject.toml is newer than the venv: make would reinstall it.
        installed = (venv / ".installed").stat().st_mtime_ns
        os.utime(clone / "pyproject.toml", ns=(installed, installed))
        make = ["make", "--no-print-directory", f"VENV={venv}"]
        r: dict = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpus": os.cpu_count(),
            "load_before": load(),
        }
        print("make test-fast ...", flush=True)
        r["fast_s"], r["fast_rc"], out, r["fast_cpu"] = timed(
            [*make, "test-fast"], clone, env, work / "fast.log"
        )
        r["fast_summary"], r["fast_failed"] = summary(out), failed(out)
        print(f"  {r['fast_s']:.1f} s: {r['fast_summary']}\nmake test ...", flush=True)
        r["test_s"], r["test_rc"], out, r["test_cpu"] = timed(
            [*make, "test"], clone, env, work / "test.log"
        )
        r["test_summary"], r["test_failed"] = summary(out), failed(out)
        r["slowest"] = slowest(out)
        LOGS.mkdir(parents=True, exist_ok=True)
        for log in ("fast.log", "test.log"):
            shutil.copyfile(work / log, LOGS / log)
        for t in r["fast_failed"] + r["test_failed"]:
            print(f"  failed: {t}", flush=True)
        r["load_after"] = load()
        print(f"  {r['test_s']:.1f} s: {r['test_summary']}", flush=True)
        write_section(args.output, section(r))
        print(
            f"wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}"
        )
        return 0 if r["fast_rc"] == 0 and r["test_rc"] == 0 else 1
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
