"""Run a notebook with papermill into place atomically; a failure or a stop is one line on stderr.

``python -m analysis.pipeline.run_notebook IN.ipynb OUT.ipynb [-r NAME VALUE]... [-f PARAMS.json]``

* Parameters are raw strings (``-r``), never parsed as YAML numbers: ``0015`` and ``2012-03``
  arrive intact; ``-f`` reads a JSON file.
* The executed notebook is written to a temporary file in ``build/staging/`` (at ``OUT``'s
  relative folder; beside ``OUT`` outside the repository: ``fileio.staging_home``) and renamed
  only when every cell succeeded. Its papermill metadata names input and output relative to
  the repository root (None outside it), not the temporary file. Temporary files of killed
  runs for ``OUT``'s folder or ``out_dir`` are removed first (``fileio.remove_stale_temps``).
* A failure ends with one line, ``error: <file>: <problem>``, and status 2 (``analysis.cli``);
  Ctrl-C, SIGTERM and SIGHUP with ``error: <file>: interrupted`` (``stopped by SIGTERM``) and
  status 128 + signal. No kernel and no temporary file outlive the run, whatever stops it.
* The kernel runs in the repository root (relative paths in parameters mean what they mean
  on the Makefile's command line).

What papermill's public API does here, and what it cannot do. The notebook runs through
``papermill.execute_notebook`` with its engine options (``km``, ``cwd``, ``kernel_name``,
``progress_bar``, ``log_output``, ``request_save_on_cell_execute``); atomic output and
one-line errors need nothing more (papermill returns the executed notebook, written once to a
staging path renamed afterwards; ``PapermillExecutionError`` carries the kernel's exception).
Papermill cannot, on its own:

1. *Stop the run on a signal at any moment, say so, and leave no kernel.* nbclient's own
   handlers (SIGINT and SIGTERM, installed on its event loop only while it executes) schedule
   the kernel's shutdown but do not stop the run; SIGHUP, or a signal before they are
   installed, kills the process and leaves the kernel running; an exception raised by a signal
   inside the loop leaves nbclient's ``finally`` unrun. So this module makes the kernel
   manager itself (passed as papermill's ``km`` option), keeps it in a list for its own
   signal handler, and kills the kernel's process (``km.provisioner.process``, an attribute of
   jupyter_client's local provisioner: the one non-public attribute read) when a signal
   arrives or jupyter_client cannot stop it; ``tests/test_reliability.py`` checks this at six
   moments of a run for SIGINT and SIGTERM.
2. *Start the kernel before papermill is imported* (the two overlap): with ``km`` the kernel
   is started here first.
3. *End the ready wait as soon as the kernel is ready*: jupyter_client's ``wait_for_ready``
   waits for 0.2 s of silence on IOPub; the client here overrides that public method (nbclient
   calls it) to end on the kernel's ``idle`` for its ``kernel_info``, and the manager (an
   ``AsyncKernelManager`` subclass that also sets IPC sockets and remembers its clients so
   their sockets are closed) is stopped with the public ``finish_shutdown(pollinterval=...)``.
   ``test_speedups_go_through_public_hooks`` fails if nbclient or jupyter_client stop calling
   them.

What the workarounds buy, measured on the project's shared two-core machine (a two-cell
notebook, whole process including imports, runs alternated, load average 6 to 8): this
runner took 2.45 s (median of 8), ``execute_notebook`` starting and stopping its own kernel
(``extra_arguments`` for the log level, default graceful shutdown) 3.48 s: about 1 s more per
notebook (median paired difference 0.97 s; 1.4 s in 12 more pairs under heavier load).
"""

from __future__ import annotations

import signal

# ruff: noqa: E402 (the signals are held before the other imports)
#: The signals that stop a run (each raises Terminated; see _termination_as_interrupt).
_SIGNALS = [s for s in (getattr(signal, n, None) for n in ("SIGINT", "SIGTERM", "SIGHUP")) if s]
if __name__ == "__main__" and hasattr(signal, "pthread_sigmask"):
    # Held until main has said what it runs and installed its handlers, so that a run stopped
    # at any moment (even during these imports) ends with the same two lines.
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from queue import Empty
from typing import Any

from analysis import cli, config
from analysis.errors import AnalysisError, ParameterError
from analysis.fileio import record_timing, remove_stale_temps, staging_home

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: How often to check whether the kernel has exited after the shutdown request (jupyter_client's
#: default is 0.1 s; the kernel exits within a few tens of milliseconds).
SHUTDOWN_POLL = 0.01
#: Whether papermill writes the notebook after each cell starts and ends (its default). No:
#: the executed notebook is written once, when every cell has run, and no one reads the
#: staging file before that. Each of papermill's saves serialises the whole notebook, the
#: figures' PNG included, twice a cell, on the way from one cell to the next: about 0.5 s a
#: partner report, and a third of the process's own CPU when a batch builds many.
SAVE_EACH_CELL = False


def _quiet() -> None:
    """Silence the start-up chatter of jupyter_client / ipykernel that is not actionable."""
    warnings.filterwarnings("ignore", message=".*TCP.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*Jupyter is migrating its paths.*")
    logging.getLogger("papermill").setLevel(logging.WARNING)
    logging.getLogger("traitlets").setLevel(logging.ERROR)


# ---- the kernel ------------------------------------------------------------------------------


async def _first(
    channel: Any, msg_id: str, *, timeout: float, idle: bool = False
) -> dict[str, Any] | None:
    """The first message on ``channel`` within ``timeout`` seconds that answers ``msg_id``
    (with ``idle``: the kernel's ``idle`` status for it), or None; other messages are dropped."""
    end = time.monotonic() + timeout
    while (left := end - time.monotonic()) > 0:
        try:
            msg = await channel.get_msg(timeout=left)
        except Empty:
            return None
        if msg["parent_header"].get("msg_id") == msg_id and (
            not idle
            or (msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle")
        ):
            return msg
    return None


def _ready_client_class() -> type:
    """An ``AsyncKernelClient`` whose ``wait_for_ready`` (the public method nbclient calls)
    ends on the kernel's ``idle`` status for its ``kernel_info`` request, which also proves that
    IOPub is connected, instead of jupyter_client's 0.2 s of IOPub silence."""
    from jupyter_client import protocol_version_info
    from jupyter_client.asynchronous import AsyncKernelClient

    class ReadyClient(AsyncKernelClient):
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
                if (
                    reply is not None
                    and await _first(self.iopub_channel, request, timeout=0.5, idle=True)
                    is not None
                ):
                    break
                if not await self.is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
            # Speak the kernel's protocol version, as jupyter_client's own wait does.
            major = int(reply["content"]["protocol_version"].split(".")[0])
            if major != protocol_version_info[0]:
                self.session.adapt_version = major
            while True:  # drop what is already queued, without waiting for more
                try:
                    await self.iopub_channel.get_msg(timeout=0)
                except Empty:
                    break

    return ReadyClient


def _kernel_manager_class(socket_dir: str) -> type:
    """An ``AsyncKernelManager`` using IPC sockets in ``socket_dir`` (no network port, no
    ipykernel warning about unencrypted TCP) and the client of :func:`_ready_client_class`;
    it remembers its clients for :func:`_stop_kernel`."""
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager

    ready_client = _ready_client_class()

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("transport", "ipc")
            super().__init__(**kwargs)
            # A short private folder: unix socket paths are limited to ~100 characters.
            self.ip = str(Path(socket_dir) / "k")
            self.client_factory = ready_client
            self.clients: list[AsyncKernelClient] = []

        def client(self, **kwargs: Any) -> AsyncKernelClient:
            kc = super().client(**kwargs)
            self.clients.append(kc)
            return kc

    return IPCKernelManager


def _sync(coroutine_function: Any) -> Any:
    """``coroutine_function`` as a blocking call, on the event loop that nbclient uses too."""
    from jupyter_core.utils import run_sync

    return run_sync(coroutine_function)


def _stop_kernel(km: Any, *, now: bool) -> None:
    """Stop the kernel and close every client's sockets, so that nothing lingers.

    After a finished run the kernel is asked to exit (``request_shutdown``, then
    ``finish_shutdown`` polling every ``SHUTDOWN_POLL`` s; ``shutdown_kernel`` would interrupt
    it first and poll every 0.1 s); after a failure or a signal (``now``) it is killed. If
    jupyter_client cannot stop it (a signal may have left its event loop half-way), the process
    is killed directly, and then (``now``) clean-up errors are not raised: the user sees the
    failure that stopped the run.
    """
    try:
        if km.has_kernel and _sync(km.is_alive)():
            if now:
                _sync(km.shutdown_kernel)(now=True)
            else:
                _sync(km.request_shutdown)()
                _sync(km.finish_shutdown)(pollinterval=SHUTDOWN_POLL)
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


# Kernels of runs in progress in this process, and the signals received (see the handler).
_KERNELS: list[Any] = []
_STOPPED_BY: list[int] = []
# While clean-up runs (_signals_held): its depth, and the signals it holds back.
_HOLDING: list[bool] = []
_HELD: list[int] = []


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


# ---- one run ---------------------------------------------------------------------------------


def papermill_execute(
    notebook: Path, parameters: dict[str, Any], km: Any, kernel: str, workdir: Path
) -> Any:
    """Execute ``notebook`` with papermill in the started kernel of ``km``, in ``workdir``;
    return the executed notebook, not written (the caller writes it once, when every cell has
    run: :data:`SAVE_EACH_CELL`). Used by :func:`run` and by the partner batch."""
    import papermill as pm  # imported late: slow (and overlapped by the kernel's start)

    return pm.execute_notebook(
        str(notebook),
        None,
        parameters=parameters,
        kernel_name=kernel,
        language="python",
        cwd=str(workdir),
        progress_bar=False,
        report_mode=False,
        log_output=False,
        request_save_on_cell_execute=SAVE_EACH_CELL,
        km=km,
    )


def _execute(
    notebook: Path,
    parameters: dict[str, Any],
    kernel: str,
    workdir: Path,
    socket_dir: str,
) -> Any:
    """Start the kernel, import papermill meanwhile, execute ``notebook`` and stop the kernel,
    whatever happens; return the executed notebook (a ``NotebookNode``, not yet written)."""
    km = _kernel_manager_class(socket_dir)(kernel_name=kernel)
    _KERNELS.append(km)
    try:
        _sync(km.start_kernel)(
            cwd=str(workdir),
            # The kernel's own log (e.g. "KeyboardInterrupt caught in kernel" when it is
            # killed) is not actionable; cell errors come back through papermill.
            # History in memory, as nbclient sets it (no sqlite file shared by -j runs).
            extra_arguments=[
                "--IPKernelApp.log_level=CRITICAL",
                "--HistoryManager.hist_file=:memory:",
            ],
        )
        nb = papermill_execute(notebook, parameters, km, kernel, workdir)
        _stop_kernel(km, now=False)
    except BaseException:
        with _signals_held():  # a second signal must not cut the stop short
            process = _kernel_process(km)
            _stop_kernel(km, now=True)
            if process is not None:  # gone before its staging folders are removed
                with contextlib.suppress(Exception):
                    process.kill()
                    process.wait(timeout=10)
        raise
    finally:
        _KERNELS.remove(km)
    return nb


def _repo_path(path: Path, root: Path) -> str | None:
    """``path`` relative to ``root`` (POSIX), or None when it is outside ``root``."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def _write_publishable(nb: Any, tmp: Path, notebook: Path, output: Path, root: Path) -> None:
    """Write the executed notebook to ``tmp``, as papermill writes it, with papermill's
    ``input_path`` and ``output_path`` relative to the repository root (not a temporary
    file's name, with this process's pid)."""
    import nbformat

    nb.metadata.papermill["input_path"] = _repo_path(notebook, root)
    nb.metadata.papermill["output_path"] = _repo_path(output, root)
    tmp.write_text(nbformat.writes(nb), encoding="utf-8")  # as papermill writes it


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
    parameters = parameters or {}
    workdir = Path(cwd or config.ROOT)
    output.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(output, parameters, workdir)
    tmp = staging_home(output.parent) / f".{output.stem}.{os.getpid()}.tmp.ipynb"
    try:
        with tempfile.TemporaryDirectory(prefix="kernel-") as socket_dir:
            nb = _execute(notebook, parameters, kernel, workdir, socket_dir)
        _write_publishable(nb, tmp, notebook, output, workdir)
        os.replace(tmp, output)
    finally:
        with _signals_held():
            if tmp.exists():
                tmp.unlink()
            # A stopped or failed kernel's staging folders (its figures) go too, if it has exited.
            with contextlib.suppress(OSError):
                _remove_leftovers(output, parameters, workdir)
    return output


def _remove_leftovers(output: Path, parameters: dict[str, Any], cwd: Path) -> list[Path]:
    """Remove temporary files of killed earlier runs for ``output``'s folder and ``out_dir``:
    in them (left by earlier versions) and in their staging folders (``build/staging/...``)."""
    folders = [output.parent]
    out_dir = parameters.get("out_dir")
    if isinstance(out_dir, str) and out_dir:
        folders.append(Path(out_dir) if Path(out_dir).is_absolute() else cwd / out_dir)
    folders += [staging_home(f) for f in folders if f.is_dir()]
    removed: list[Path] = []
    for folder in dict.fromkeys(f.resolve() for f in folders):
        removed += remove_stale_temps(folder)
    return removed


# ---- signals ---------------------------------------------------------------------------------


class Terminated(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP, raised like Ctrl-C so that clean-up code runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _handle(signum: int, frame: object) -> None:
    """The signal handler: record the signal, kill the running kernels, raise Terminated."""
    _STOPPED_BY.append(signum)
    _kill_kernels()
    if _HOLDING:  # inside _signals_held: raised on leaving it
        _HELD.append(signum)
        return
    raise Terminated(signum)


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

    def unraisable(info: Any) -> None:
        if not isinstance(info.exc_value, Terminated):  # a lost Terminated is handled
            previous_hook(info)

    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable
    after_signal = _AfterSignal()
    loggers = [logging.getLogger(n) for n in ("papermill", "traitlets", "asyncio")]
    for logger in loggers:
        logger.addFilter(after_signal)
    previous: dict[int, Any] = {}
    for sig in _SIGNALS:
        if sig == signal.SIGINT and signal.getsignal(sig) is signal.SIG_IGN:
            continue
        with contextlib.suppress(OSError, ValueError):  # ValueError: not the main thread
            previous[sig] = signal.signal(sig, _handle)
    if hasattr(signal, "pthread_sigmask"):  # those held since the start arrive now
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        sys.unraisablehook = previous_hook
        # After a signal the filter stays: asyncio logs nbclient's unretrieved DeadKernelError
        # when the task is collected, which may be after this block.
        for logger in loggers if not _STOPPED_BY else ():
            logger.removeFilter(after_signal)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """A signal that arrives while inside is recorded (and kills the kernels, as always) but
    raises :class:`Terminated` only on leaving. For the clean-up after a stop: ``make`` passes
    a SIGTERM on to its job, so the runner may get a second one while it stops the kernel that
    the first one killed, which under load may not have died yet; cut short, the stop left it
    running, and its staging folders behind. (Deferred in the handler, not by a signal mask:
    a mask holds a signal for one thread only, and another thread may take it.)"""
    _HOLDING.append(True)
    try:
        yield
    finally:
        _HOLDING.pop()
        if not _HOLDING and _HELD:
            signum = _HELD[0]
            _HELD.clear()
            raise Terminated(signum)


class _AfterSignal(logging.Filter):
    """Drop log records once a signal has stopped the run: papermill, jupyter_client and
    asyncio log the kernel's death that the stop causes; the user sees one line saying what
    stopped it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _STOPPED_BY


# ---- command line ----------------------------------------------------------------------------

#: Exceptions raised in the kernel whose message is shown alone (the user's errors).
_USER_ERRORS = {
    "AnalysisError",
    "DataError",
    "ChecksumMismatch",
    "ParameterError",
    "SourceUnavailable",
}


def _one_line(exc: BaseException) -> str:
    """The user-facing message of a papermill failure: the kernel's exception, one line."""
    ename = getattr(exc, "ename", None)
    evalue = getattr(exc, "evalue", None)
    if ename is not None:
        text = _ANSI.sub("", str(evalue or "")).strip().splitlines()
        msg = text[0] if text else ""
        return msg if ename in _USER_ERRORS else f"{ename}: {msg}"
    return (
        _ANSI.sub("", str(exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    )


def _parse(argv: list[str]) -> argparse.Namespace:
    ap = cli.ArgumentParser(
        prog="python -m analysis.pipeline.run_notebook", description=__doc__.splitlines()[0]
    )
    ap.add_argument("notebook")
    ap.add_argument("output")
    ap.add_argument(
        "-r",
        "--raw",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="parameter passed as a string",
    )
    ap.add_argument("-f", "--file", action="append", default=[], help="JSON file of parameters")
    ap.add_argument("-k", "--kernel", default="python3")
    return ap.parse_args(argv)


def _parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The ``-f`` files' parameters, then the ``-r`` ones (strings)."""
    params: dict[str, Any] = {}
    for f in args.file:
        try:
            params.update(json.loads(Path(f).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise ParameterError(f"{f}: cannot read parameters ({exc})") from None
    params.update({k: v for k, v in args.raw})
    return params


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring); a failed run raises
    :class:`AnalysisError` (``analysis.cli`` prints it), a stopped one returns 128 + signal."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    params = _parameters(args)
    print(f"run {args.notebook} -> {args.output}", file=sys.stderr)
    started = time.perf_counter()
    failure: BaseException | None = None
    try:
        with _termination_as_interrupt():
            run(args.notebook, args.output, params, kernel=args.kernel)
        record_timing(args.output, time.perf_counter() - started, kind="notebook")
    except (Exception, KeyboardInterrupt) as exc:  # PapermillExecutionError for cell failures
        failure = exc
    # A signal stops the run even if its exception was lost (the handler records every one:
    # see _termination_as_interrupt); a bare KeyboardInterrupt is Python's own Ctrl-C.
    signum = (
        _STOPPED_BY[0]
        if _STOPPED_BY
        else (signal.SIGINT if isinstance(failure, KeyboardInterrupt) else None)
    )
    if signum is not None:
        what = (
            "interrupted"
            if signum == signal.SIGINT
            else f"stopped by {signal.Signals(signum).name}"
        )
        print(f"error: {args.notebook}: {what}", file=sys.stderr)
        return 128 + signum
    if failure is not None:
        raise AnalysisError(f"{args.notebook}: {_one_line(failure)}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
