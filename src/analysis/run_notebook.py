"""Run a notebook with papermill, atomically, with a one-line error on failure.

``python -m analysis.run_notebook IN.ipynb OUT.ipynb [-r NAME VALUE]... [-f PARAMS.json]``

* Parameters are passed as raw strings (``-r``), never parsed as YAML numbers, so a Census
  code like ``0015`` or a date like ``2012-03`` arrive intact; ``-f`` reads a JSON/YAML file.
* The executed notebook is written to a temporary file beside ``OUT`` and renamed only when
  every cell succeeded (papermill writes the output notebook even when a cell fails).
  SIGTERM and SIGHUP are handled like Ctrl-C, so the temporary file is removed when the run
  is stopped; temporary files that a killed run (SIGKILL) left beside ``OUT`` or in the
  ``out_dir`` parameter's folder are removed before the next run (``io.remove_stale_temps``).
* The kernel runs in the repository root, so relative paths in parameters mean the same as
  on the Makefile's command line.
* On failure the last line on stderr is ``error: <file>: <the exception's message>``, and the
  exit status is 2: no traceback is the last thing a user sees.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import signal
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import config
from .io import remove_stale_temps

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _quiet() -> None:
    """Silence the start-up chatter of jupyter_client / ipykernel that is not actionable."""
    warnings.filterwarnings("ignore", message=".*TCP.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*Jupyter is migrating its paths.*")
    logging.getLogger("papermill").setLevel(logging.WARNING)
    logging.getLogger("traitlets").setLevel(logging.ERROR)


def _kernel_manager_class(socket_dir: str) -> type:
    """A kernel manager that talks to the kernel over local IPC sockets instead of TCP.

    The kernel runs on this machine only; IPC keeps its traffic off the network stack and
    avoids ipykernel 7's warning about unencrypted TCP on every run.
    """
    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("transport", "ipc")
            super().__init__(**kwargs)
            # A short private folder: unix socket paths are limited to ~100 characters.
            self.ip = str(Path(socket_dir) / "k")

    return IPCKernelManager


def run(
    notebook: str | Path,
    output: str | Path,
    parameters: dict[str, Any] | None = None,
    *,
    kernel: str = "python3",
    cwd: str | Path | None = None,
) -> Path:
    """Execute ``notebook`` into ``output`` with papermill; rename into place on success."""
    _quiet()
    import papermill as pm  # imported late: slow

    notebook, output = Path(notebook), Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(output, parameters or {}, Path(cwd or config.ROOT))
    tmp = output.with_name(f".{output.stem}.{os.getpid()}.tmp.ipynb")
    try:
        with tempfile.TemporaryDirectory(prefix="kernel-") as socket_dir:
            pm.execute_notebook(
                str(notebook),
                str(tmp),
                parameters=parameters or {},
                kernel_name=kernel,
                language="python",
                cwd=str(cwd or config.ROOT),
                progress_bar=False,
                report_mode=False,
                log_output=False,
                kernel_manager_class=_kernel_manager_class(socket_dir),
                # The kernel's own log (e.g. "KeyboardInterrupt caught in kernel" when it is
                # shut down) is not actionable; cell errors still come back through papermill.
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
            )
        os.replace(tmp, output)
    finally:
        if tmp.exists():
            tmp.unlink()
        # A stopped or failed kernel's staging folders (its figures) go too, if it has exited.
        with contextlib.suppress(OSError):
            _remove_leftovers(output, parameters or {}, Path(cwd or config.ROOT))
    return output


def _remove_leftovers(output: Path, parameters: dict[str, Any], cwd: Path) -> list[Path]:
    """Remove temporary files of killed earlier runs beside ``output`` and in ``out_dir``."""
    folders = [output.parent]
    out_dir = parameters.get("out_dir")
    if isinstance(out_dir, str) and out_dir:
        folders.append(Path(out_dir) if Path(out_dir).is_absolute() else cwd / out_dir)
    removed: list[Path] = []
    for folder in dict.fromkeys(f.resolve() for f in folders):
        removed += remove_stale_temps(folder)
    return removed


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so that clean-up code runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _termination_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM/SIGHUP raise :class:`Terminated` (by default they kill the
    process without clean-up); the previous handlers are restored on exit."""

    def handler(signum: int, frame: object) -> None:
        raise Terminated(signum)

    previous: dict[int, Any] = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            try:
                previous[sig] = signal.signal(sig, handler)
            except (OSError, ValueError):  # not the main thread
                pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _one_line(exc: BaseException) -> str:
    """The user-facing message of a papermill failure: the kernel's exception, one line."""
    ename = getattr(exc, "ename", None)
    evalue = getattr(exc, "evalue", None)
    if ename is not None:
        text = _ANSI.sub("", str(evalue or "")).strip().splitlines()
        msg = text[0] if text else ""
        user_errors = {"AnalysisError", "DataError", "ChecksumMismatch", "ParameterError", "SourceUnavailable"}
        return msg if ename in user_errors else f"{ename}: {msg}"
    return _ANSI.sub("", str(exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _record_timing(output: str, seconds: float) -> None:
    """Append ``{"step": output, "seconds": s}`` to ``$ANALYSIS_TIMINGS`` when it is set
    (used by the benchmark to time each step of a real ``make`` run)."""
    path = os.environ.get("ANALYSIS_TIMINGS")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"step": str(output), "seconds": round(seconds, 3)}) + "\n")


def _parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m analysis.run_notebook", description=__doc__.splitlines()[0])
    ap.add_argument("notebook")
    ap.add_argument("output")
    ap.add_argument("-r", "--raw", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="parameter passed as a string")
    ap.add_argument("-f", "--file", action="append", default=[], help="JSON file of parameters")
    ap.add_argument("-k", "--kernel", default="python3")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    params: dict[str, Any] = {}
    for f in args.file:
        try:
            params.update(json.loads(Path(f).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            print(f"error: {f}: cannot read parameters ({exc})", file=sys.stderr)
            return 2
    params.update({k: v for k, v in args.raw})
    print(f"run {args.notebook} -> {args.output}", file=sys.stderr)
    started = time.perf_counter()
    try:
        with _termination_as_interrupt():
            run(args.notebook, args.output, params, kernel=args.kernel)
        _record_timing(args.output, time.perf_counter() - started)
    except Terminated as exc:
        print(f"error: {args.notebook}: stopped by {exc}", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print(f"error: {args.notebook}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # papermill raises PapermillExecutionError for cell failures
        print(f"error: {args.notebook}: {_one_line(exc)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
