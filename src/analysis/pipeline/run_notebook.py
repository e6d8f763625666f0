"""Run a notebook with papermill, atomically, with a one-line error on failure.

``python -m analysis.pipeline.run_notebook IN.ipynb OUT.ipynb [-r NAME VALUE]... [-f PARAMS.json]``

* Parameters are passed as raw strings (``-r``), never parsed as YAML numbers, so a Census
  code like ``0015`` or a date like ``2012-03`` arrive intact; ``-f`` reads a JSON/YAML file.
* The executed notebook is written to a temporary file beside ``OUT`` and renamed only when
  every cell succeeded (papermill writes the output notebook even when a cell fails).
  Ctrl-C, SIGTERM and SIGHUP kill the kernel and remove the temporary file; the run ends
  with ``error: <file>: interrupted`` (or ``stopped by SIGTERM``) and status 128 + signal.
  Temporary files that a killed run (SIGKILL) left beside ``OUT`` or in the ``out_dir``
  parameter's folder are removed before the next run (``io.remove_stale_temps``).
* This module starts and stops the kernel itself (papermill's ``km`` argument): the kernel
  starts while papermill is imported, and no kernel outlives the run, whatever stops it.
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
from queue import Empty
from typing import Any

from analysis import config
from analysis.fileio import remove_stale_temps

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _quiet() -> None:
    """Silence the start-up chatter of jupyter_client / ipykernel that is not actionable."""
    warnings.filterwarnings("ignore", message=".*TCP.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*Jupyter is migrating its paths.*")
    logging.getLogger("papermill").setLevel(logging.WARNING)
    logging.getLogger("traitlets").setLevel(logging.ERROR)


def _kernel_manager_class(socket_dir: str) -> type:
    """A kernel manager that talks to the kernel over local IPC sockets instead of TCP, and
    does not sleep through start-up and shut-down.

    * The kernel runs on this machine only; IPC keeps its traffic off the network stack and
      avoids ipykernel 7's warning about unencrypted TCP on every run.
    * jupyter_client's ``wait_for_ready`` ends with 0.2 s of IOPub silence (its way of flushing
      the start-up messages); :class:`_ReadyClient` waits for the kernel's own ``idle`` status
      of the ``kernel_info`` request instead, which also proves that IOPub is connected.
    * After the shutdown request jupyter_client checks every 0.1 s whether the kernel process
      has exited; here every 0.01 s (the kernel exits within a few tens of milliseconds).

    Together about 0.25 s of every notebook run (``benchmarks/bench.py`` times an empty one).
    """
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager

    class _ReadyClient(AsyncKernelClient):
        async def wait_for_ready(self, timeout: float | None = None) -> None:
            """Return once the kernel has answered ``kernel_info`` on the shell channel and
            reported ``idle`` for it on IOPub; re-ask every second until ``timeout``."""
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                request = self.kernel_info()
                # Replies to earlier requests are skipped: a kernel that was slow to start
                # answers all of the requests that queued up meanwhile.
                reply = await _first(self.shell_channel, request, timeout=1)
                # The kernel's ``idle`` for the request proves IOPub is connected (it may
                # connect late, and then the status is lost: ask again).
                if reply is not None and await _first(self.iopub_channel, request, timeout=0.5,
                                                      idle=True) is not None:
                    self._handle_kernel_info_reply(reply)
                    break
                if not await self.is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
            while True:  # drop what is already queued, without waiting for more
                try:
                    await self.iopub_channel.get_msg(timeout=0)
                except Empty:
                    break

    async def _first(channel: Any, msg_id: str, *, timeout: float,
                     idle: bool = False) -> dict[str, Any] | None:
        """The first message on ``channel`` within ``timeout`` seconds that answers
        ``msg_id`` (with ``idle``: the kernel's ``idle`` status for it), or None; other
        messages are dropped."""
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                msg = await channel.get_msg(timeout=left)
            except Empty:
                return None
            if msg["parent_header"].get("msg_id") == msg_id and (not idle or (
                    msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle")):
                return msg
        return None

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("transport", "ipc")
            super().__init__(**kwargs)
            # A short private folder: unix socket paths are limited to ~100 characters.
            self.ip = str(Path(socket_dir) / "k")
            self.client_factory = _ReadyClient
            self.clients: list[AsyncKernelClient] = []  # closed by _stop_kernel

        def client(self, **kwargs: Any) -> AsyncKernelClient:
            kc = super().client(**kwargs)
            self.clients.append(kc)
            return kc

        async def _async_wait(self, pollinterval: float = 0.1) -> None:
            # (jupyter_client's poll for the kernel process to exit after a shutdown request)
            await super()._async_wait(pollinterval=min(pollinterval, 0.01))

    return IPCKernelManager


def run(
    notebook: str | Path,
    output: str | Path,
    parameters: dict[str, Any] | None = None,
    *,
    kernel: str = "python3",
    cwd: str | Path | None = None,
) -> Path:
    """Execute ``notebook`` into ``output`` with papermill; rename into place on success.

    The kernel is started before papermill is imported, so that its start-up (about 0.2 s)
    overlaps papermill's import (about 0.3 s); it is shut down here whatever happens.
    """
    _quiet()
    notebook, output = Path(notebook), Path(output)
    workdir = Path(cwd or config.ROOT)
    output.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(output, parameters or {}, workdir)
    tmp = output.with_name(f".{output.stem}.{os.getpid()}.tmp.ipynb")
    try:
        with tempfile.TemporaryDirectory(prefix="kernel-") as socket_dir:
            km = _kernel_manager_class(socket_dir)(kernel_name=kernel)
            _KERNELS.append(km)
            try:
                _sync(km.start_kernel)(
                    cwd=str(workdir),
                    # The kernel's own log (e.g. "KeyboardInterrupt caught in kernel" when it
                    # is shut down) is not actionable; cell errors come back through papermill.
                    # History in memory, as nbclient sets it (no sqlite file shared by -j runs).
                    extra_arguments=["--IPKernelApp.log_level=CRITICAL",
                                     "--HistoryManager.hist_file=:memory:"],
                )
                import papermill as pm  # imported late: slow (and overlapped by the kernel's start)

                pm.execute_notebook(
                    str(notebook),
                    str(tmp),
                    parameters=parameters or {},
                    kernel_name=kernel,
                    language="python",
                    cwd=str(workdir),
                    progress_bar=False,
                    report_mode=False,
                    log_output=False,
                    km=km,
                )
            except BaseException:
                _stop_kernel(km, now=True)
                raise
            finally:
                _KERNELS.remove(km)
            _stop_kernel(km, now=False)
        os.replace(tmp, output)
    finally:
        if tmp.exists():
            tmp.unlink()
        # A stopped or failed kernel's staging folders (its figures) go too, if it has exited.
        with contextlib.suppress(OSError):
            _remove_leftovers(output, parameters or {}, workdir)
    return output


def _sync(coroutine_function: Any) -> Any:
    """``coroutine_function`` as a blocking call, on the event loop that nbclient uses too."""
    from jupyter_core.utils import run_sync

    return run_sync(coroutine_function)


def _stop_kernel(km: Any, *, now: bool) -> None:
    """Shut the kernel down (if nbclient has not already, e.g. on a signal) and close every
    client's sockets, so that nothing lingers when the process exits.

    After a finished run the kernel is asked to exit. After a failure or a signal it is killed
    at once (``now``): asking first interrupts it, and a kernel interrupted while it is still
    starting prints a traceback of its own. If jupyter_client cannot stop it (a signal may have
    left its event loop half-way), the kernel process is killed directly; on that path errors
    of the clean-up are not raised, so the user sees the failure that stopped the run.
    """
    try:
        if km.has_kernel and _sync(km.is_alive)():
            _sync(km.shutdown_kernel)(now=now)
    except Exception:
        process = _kernel_process(km)
        if process is not None:
            process.kill()
            process.wait(timeout=10)
        if not now:
            raise
    finally:
        with contextlib.suppress(Exception) if now else contextlib.nullcontext():
            for client in km.clients:
                client.stop_channels()
            _sync(km.cleanup_resources)()


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


# Kernels of runs in progress in this process, and the signals received (see the handler).
_KERNELS: list[Any] = []
_STOPPED_BY: list[int] = []


def _kernel_process(km: Any) -> Any:
    """The kernel's ``subprocess.Popen`` while it runs (jupyter_client's local provisioner),
    else None."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    return process if process is not None and process.poll() is None else None


def _kill_kernels() -> None:
    """Kill the kernel processes of the runs in progress (from a signal handler)."""
    for km in _KERNELS:
        if (process := _kernel_process(km)) is not None:
            with contextlib.suppress(OSError):
                process.kill()


class Terminated(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP, raised like Ctrl-C so that clean-up code runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _termination_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM/SIGHUP raise :class:`Terminated` (by default they kill the
    process without clean-up), and so does SIGINT unless it is ignored (a background job).

    The handler also kills the running kernel and records the signal in ``_STOPPED_BY``:
    Python ignores an exception raised in a weakref callback or ``__del__`` (a signal can
    arrive during one, e.g. in importlib's module locks), and then the run must still stop
    (the dead kernel fails it) and be reported as stopped by the signal. Such a lost
    :class:`Terminated` is not printed ("Exception ignored in ..."), and neither are the log
    records of the kernel's death that follow a signal.

    SIGINT gets its own handler, although Python's raises KeyboardInterrupt too: when a plain
    KeyboardInterrupt passes through C code that runs Python source (some extension modules'
    imports do), CPython remembers it as unhandled and kills the process with SIGINT at exit,
    even after it has been handled and the clean-up has run; a subclass is not remembered.
    The previous handlers are restored on exit.
    """

    def handler(signum: int, frame: object) -> None:
        _STOPPED_BY.append(signum)
        _kill_kernels()
        raise Terminated(signum)

    def unraisable(info: Any) -> None:
        if not isinstance(info.exc_value, Terminated):  # a lost Terminated is handled
            previous_hook(info)

    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable
    after_signal = _AfterSignal()
    loggers = [logging.getLogger(n) for n in ("papermill", "traitlets")]
    for logger in loggers:
        logger.addFilter(after_signal)
    previous: dict[int, Any] = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is None or (name == "SIGINT" and signal.getsignal(sig) is signal.SIG_IGN):
            continue
        try:
            previous[sig] = signal.signal(sig, handler)
        except (OSError, ValueError):  # not the main thread
            pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        sys.unraisablehook = previous_hook
        for logger in loggers:
            logger.removeFilter(after_signal)


class _AfterSignal(logging.Filter):
    """Drop log records once a signal has stopped the run: papermill and jupyter_client log
    the kernel's death that the stop causes; the user sees one line saying what stopped it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _STOPPED_BY


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
    ap = argparse.ArgumentParser(prog="python -m analysis.pipeline.run_notebook", description=__doc__.splitlines()[0])
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
    failure: BaseException | None = None
    try:
        with _termination_as_interrupt():
            run(args.notebook, args.output, params, kernel=args.kernel)
        _record_timing(args.output, time.perf_counter() - started)
    except (Exception, KeyboardInterrupt) as exc:  # PapermillExecutionError for cell failures
        failure = exc
    # A signal stops the run even if its exception was lost (the handler records every one:
    # see _termination_as_interrupt); a bare KeyboardInterrupt is Python's own Ctrl-C.
    signum = _STOPPED_BY[0] if _STOPPED_BY else (
        signal.SIGINT if isinstance(failure, KeyboardInterrupt) else None)
    if signum is not None:
        what = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
        print(f"error: {args.notebook}: {what}", file=sys.stderr)
        return 128 + signum
    if failure is not None:
        print(f"error: {args.notebook}: {_one_line(failure)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
