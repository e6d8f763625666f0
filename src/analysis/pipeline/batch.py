"""Many partners' reports in one process: one kernel and one set of imports for all of them.

``python -m analysis.pipeline.batch [--jobs N] [SLUG ...]``

For each partner (its report folder ``SLUG``; default: every country of
``python -m analysis.partners list``) this does what ``make report`` does for one: writes
``reports/<SLUG>/params.json`` when there is none (the partner's defaults, as the Makefile's
``reports/%/params.json`` rule), executes ``notebooks/02_trends.ipynb`` and
``notebooks/06_sectors.ipynb`` with papermill into ``reports/<SLUG>/`` with the Makefile's
parameters, and publishes ``trends.html`` and ``sectors.html``
(:func:`analysis.report.publish.export_notebook`). The notebooks are the same, the parameters
are the same and papermill executes them, so ``results.json``, ``coefficients.csv``, the
figures and the pages are those of ``make report``; what is saved is the per-partner start of
a Python process, a kernel, the imports (in the kernel and for nbconvert), about 3 s a
notebook. The kernel is kept from one notebook to the next (papermill is given a running
kernel manager and does not stop it); its namespace is reset between notebooks (``%reset -f``),
so a notebook sees only what it defines, and the modules stay imported.

Each notebook is written through a staging file and renamed into place when all its cells
succeeded (:mod:`analysis.pipeline.run_notebook`'s helpers). A partner that fails is one
line on stderr, ``failed: <SLUG>: <problem>``, and the others go on (a dead kernel is
replaced); the exit status is 1 when any failed. Progress (partners done / total, time left)
goes to stderr. ``--jobs 2`` runs two worker processes, each with its own kernel (this machine
has two cores), handing each the next partner of one queue when it is done with one.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from analysis import cli, config

#: The Makefile's files (relative to the repository root, as in its recipes).
TRADE = "data/processed/trade_monthly.csv"
PRODUCTS = "data/processed/trade_hs_monthly.csv"
SECTIONS = "data/external/hs_sections.csv"


def notebook_parameters(slug: str, params: dict[str, Any], code: str) -> dict[str, dict[str, Any]]:
    """The parameters the Makefile's recipes pass to each partner notebook: ``02_trends`` the
    partner's ``params.json`` plus ``out_dir`` and ``data_path``; ``06_sectors`` its Census
    ``code``, ``out_dir``, ``products_path`` and ``sections_path``."""
    out_dir = f"reports/{slug}"
    return {
        "02_trends": {**params, "out_dir": out_dir, "data_path": TRADE},
        "06_sectors": {
            "out_dir": out_dir,
            "partner": code,
            "products_path": PRODUCTS,
            "sections_path": SECTIONS,
        },
    }


#: Each notebook and the page published from it.
PAGES: dict[str, str] = {"02_trends": "trends.html", "06_sectors": "sectors.html"}


class Kernel:
    """One Jupyter kernel kept for many papermill runs (in the repository root)."""

    def __init__(self, socket_dir: str, kernel: str = "python3") -> None:
        from analysis.pipeline import run_notebook as rn

        self._rn = rn
        self.socket_dir = socket_dir
        self.kernel = kernel
        self.km: Any = None

    def start(self) -> None:
        rn = self._rn
        self.km = rn._kernel_manager_class(self.socket_dir)(kernel_name=self.kernel)
        rn._KERNELS.append(self.km)
        rn._sync(self.km.start_kernel)(
            cwd=str(config.ROOT),
            extra_arguments=[
                "--IPKernelApp.log_level=CRITICAL",
                "--HistoryManager.hist_file=:memory:",
            ],
        )

    def alive(self) -> bool:
        return self.km is not None and bool(self._rn._sync(self.km.is_alive)())

    def stop(self, *, now: bool = False) -> None:
        if self.km is None:
            return
        with contextlib.suppress(ValueError):
            self._rn._KERNELS.remove(self.km)
        self._rn._stop_kernel(self.km, now=now)
        self.km = None

    def drop_clients(self) -> None:
        """Close the clients of finished runs. nbclient does not close the client it made on a
        kernel it does not own, and a client left open keeps receiving (and holding) every
        later message of the kernel: memory grew by about 30 MB a partner without this."""
        for kc in self.km.clients:
            kc.stop_channels()
        self.km.clients.clear()

    def reset(self) -> None:
        """Empty the kernel's namespace (``%reset -f``); imported modules stay loaded.

        The new client first waits until the kernel's ``idle`` reaches it on IOPub (its
        ``wait_for_ready``): a subscription still connecting when the kernel answers loses
        the status, and the request then waited out its whole timeout ("Timeout waiting for
        output", seen on the first partner of a worker, whose kernel had just started)."""
        kc = self.km.client()
        kc.start_channels()
        try:
            self._rn._sync(kc.wait_for_ready)(timeout=60)
            self._rn._sync(kc.execute_interactive)(
                "%reset -f", silent=True, store_history=False, timeout=60
            )
        finally:
            self.drop_clients()

    def run(self, notebook: Path, output: Path, parameters: dict[str, Any]) -> Path:
        """Execute ``notebook`` into ``output`` with papermill in this kernel (atomic, as
        :func:`analysis.pipeline.run_notebook.run`)."""
        from analysis.fileio import staging_home

        rn = self._rn
        if not self.alive():
            self.stop(now=True)
            self.start()
        else:
            self.reset()
        output.parent.mkdir(parents=True, exist_ok=True)
        rn._remove_leftovers(output, parameters, config.ROOT)
        tmp = staging_home(output.parent) / f".{output.stem}.{os.getpid()}.tmp.ipynb"
        try:
            nb = rn.papermill_execute(notebook, parameters, self.km, self.kernel, config.ROOT)
            rn._write_publishable(nb, tmp, notebook, output, config.ROOT)
            os.replace(tmp, output)
        finally:
            if self.km is not None:
                self.drop_clients()
            if tmp.exists():
                tmp.unlink()
            with contextlib.suppress(OSError):
                rn._remove_leftovers(output, parameters, config.ROOT)
        return output


def partner_params(slug: str) -> tuple[dict[str, Any], str]:
    """The partner's ``reports/<slug>/params.json`` (written with its defaults when missing,
    as the Makefile's rule does) and its Census code."""
    from analysis import params

    path = config.REPORTS_DIR / slug / "params.json"
    if not path.is_file():
        with contextlib.redirect_stdout(sys.stderr):
            params.main([str(path), "--partner", slug])
    return json.loads(path.read_text(encoding="utf-8")), params.read_partner(path)


def build_partner(kernel: Kernel, slug: str) -> None:
    """``make report``'s work for one partner: params.json, both notebooks, both pages."""
    from analysis.report.publish import export_notebook

    params, code = partner_params(slug)
    folder = config.REPORTS_DIR / slug
    for name, parameters in notebook_parameters(slug, params, code).items():
        executed = kernel.run(
            config.ROOT / "notebooks" / f"{name}.ipynb", folder / f"{name}.ipynb", parameters
        )
        export_notebook(executed, folder / PAGES[name])


def one_line(exc: BaseException) -> str:
    """A failure as one line (the kernel's exception for a failed cell)."""
    from analysis.pipeline import run_notebook as rn

    try:
        return rn._one_line(exc)
    except Exception:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


def work(slugs: Iterable[str], report: Callable[[str, str, float], None]) -> int:
    """Build ``slugs`` (as they come) in one kernel; ``report(status, slug_or_message, seconds)``
    after each (status ``ok`` or ``failed``). Returns the number of failures."""
    from analysis.pipeline import run_notebook as rn

    rn._quiet()
    failures = 0
    with tempfile.TemporaryDirectory(prefix="kernel-") as socket_dir:
        kernel = Kernel(socket_dir)
        kernel.start()
        try:
            for slug in slugs:
                t0 = time.perf_counter()
                try:
                    build_partner(kernel, slug)
                except Exception as exc:
                    failures += 1
                    report("failed", f"{slug}: {one_line(exc)}", time.perf_counter() - t0)
                else:
                    report("ok", slug, time.perf_counter() - t0)
        except BaseException:
            kernel.stop(now=True)
            raise
        kernel.stop(now=not kernel.alive())
    return failures


class Progress:
    """``[done/total] slug 4.1 s; about 3 min left`` lines on stderr (thread-safe)."""

    def __init__(self, total: int, jobs: int, stream: Any = sys.stderr) -> None:
        self.total, self.jobs, self.stream = total, jobs, stream
        self.done = 0
        self.failed: list[str] = []
        self.started = time.perf_counter()
        self.lock = threading.Lock()

    def __call__(self, status: str, what: str, seconds: float) -> None:
        with self.lock:
            self.done += 1
            elapsed = time.perf_counter() - self.started
            left = elapsed / self.done * (self.total - self.done)
            if status == "failed":
                self.failed.append(what)
                print(f"failed: {what}", file=self.stream, flush=True)
            else:
                print(
                    f"[{self.done}/{self.total}] {what} {seconds:.1f} s; {remaining(left)}",
                    file=self.stream,
                    flush=True,
                )


def remaining(seconds: float) -> str:
    """``about 3 min left`` (minutes from 90 s on), ``about 40 s left``, ``done``."""
    if seconds <= 0:
        return "done"
    if seconds >= 90:
        return f"about {round(seconds / 60)} min left"
    return f"about {round(seconds)} s left"


def lines_as_they_come(stream: Any) -> Iterator[str]:
    """The non-empty lines of ``stream``, each as soon as it arrives (a worker's slugs)."""
    for line in iter(stream.readline, ""):
        if line.strip():
            yield line.strip()


def run_pool(
    slugs: Sequence[str], jobs: int, progress: Progress, worker: Sequence[str] | None = None
) -> int:
    """Build ``slugs`` in ``jobs`` worker processes; returns the number of failures.

    The partners are handed out one at a time from one queue, the next to whichever worker
    finished (partners take 3 to 20 s: a fixed split left one core idle at the end). A worker
    that stops early loses only the partner it was building; the others take the rest."""
    queue = collections.deque(slugs)
    lock = threading.Lock()

    def feed(p: subprocess.Popen[str]) -> None:
        assert p.stdin is not None
        with lock:
            slug = queue.popleft() if queue else None
        try:
            if slug is None:
                p.stdin.close()
            else:
                p.stdin.write(slug + "\n")
                p.stdin.flush()
        except (BrokenPipeError, ValueError):  # the worker is gone
            if slug is not None:
                with lock:
                    queue.appendleft(slug)

    def relay(p: subprocess.Popen[str]) -> None:
        assert p.stdout is not None
        feed(p)
        for line in p.stdout:
            status, _, rest = line.rstrip("\n").partition(" ")
            seconds, _, what = rest.partition(" ")
            progress(status, what, float(seconds))
            feed(p)

    command = list(worker or WORKER)
    with _workers(max(1, min(jobs, len(slugs))), command) as procs:
        threads = [threading.Thread(target=relay, args=(p,)) for p in procs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = [p.wait() for p in procs]
    crashed = len(slugs) - progress.done
    if crashed or any(c not in (0, 1) for c in codes):
        print(f"failed: {max(crashed, 1)} partner(s): a worker stopped early", file=sys.stderr)
        return len(progress.failed) + max(crashed, 1)
    return len(progress.failed)


#: A worker process: reads slugs on stdin, writes ``<status> <seconds> <slug or message>`` lines.
WORKER: tuple[str, ...] = (sys.executable, "-m", "analysis.pipeline.batch", "--worker")


@contextlib.contextmanager
def _workers(n: int, command: list[str]) -> Iterator[list[subprocess.Popen[str]]]:
    """``n`` worker processes running ``command``."""
    procs = [
        subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(config.ROOT),
        )
        for _ in range(n)
    ]
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
            p.wait()
            for stream in (p.stdin, p.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError, ValueError):
                        stream.close()


def all_partners() -> list[str]:
    """The report folders of ``python -m analysis.partners list`` (its default month)."""
    from analysis import partners

    buf = __import__("io").StringIO()
    with contextlib.redirect_stdout(buf):
        partners.main(["list"])
    return [s for s in buf.getvalue().split() if s]


def _stopped(signum: int, frame: object) -> None:
    if "--worker" not in sys.argv:  # one line, from the parent only
        print(f"error: batch: stopped by {signal.Signals(signum).name}", file=sys.stderr)
    raise SystemExit(128 + signum)


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m analysis.pipeline.batch``; returns the exit status."""
    ap = cli.ArgumentParser(
        prog="python -m analysis.pipeline.batch", description=__doc__.splitlines()[0]
    )
    ap.add_argument("slugs", nargs="*", help="report folders (default: every listed country)")
    ap.add_argument("--jobs", "-j", type=int, default=1, help="worker processes (default 1)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    # A stop (SIGTERM, SIGHUP) unwinds like an error, so that the kernels and workers are
    # stopped and no staging file stays behind.
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _stopped)
    if args.worker:  # machine lines for the parent: "<status> <seconds> <slug or message>"

        def tell(status: str, what: str, seconds: float) -> None:
            print(f"{status} {seconds:.3f} {what}", flush=True)

        return 1 if work(lines_as_they_come(sys.stdin), tell) else 0
    slugs = list(dict.fromkeys(args.slugs)) or all_partners()
    for slug in slugs:
        if not slug or not all(c.isalnum() or c == "-" for c in slug):
            print(f"error: not a report folder name: {slug!r}", file=sys.stderr)
            return 2
    if not slugs:
        print("batch: no partner to build", file=sys.stderr)
        return 0
    jobs = max(1, min(args.jobs, len(slugs)))
    progress = Progress(len(slugs), jobs)
    if jobs == 1:
        failures = work(slugs, progress)
    else:
        failures = run_pool(slugs, jobs, progress)
    elapsed = time.perf_counter() - progress.started
    print(
        f"batch: {len(slugs) - failures} of {len(slugs)} partner(s) built in {elapsed:.0f} s"
        + (f"; failed: {', '.join(f.split(':')[0] for f in progress.failed)}" if failures else ""),
        file=sys.stderr,
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
