"""The papermill wrapper: parameters as strings, atomic output, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow


def _notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('code = "5800"\nmonth = "2012-03"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Test notebook"),
        params,
        nbformat.v4.new_code_cell(
            "from analysis.errors import ParameterError\n"
            "if code == 'bad':\n"
            "    raise ParameterError(\"partner 'bad': unknown; closest: Japan (5880)\")\n"
            "result = f'{code}|{month}|{type(code).__name__}'\n"
            "print(result)"
        ),
    ]
    nbformat.write(nb, path)
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analysis.pipeline.run_notebook", *args],
                          capture_output=True, text=True, timeout=180)


def test_parameters_arrive_as_strings_and_output_is_written(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "in.ipynb")
    out = tmp_path / "out" / "done.ipynb"
    proc = _run(str(nb), str(out), "-r", "code", "0015", "-r", "month", "2019-01")
    assert proc.returncode == 0, proc.stderr
    executed = json.loads(out.read_text())
    texts = ["".join(o.get("text", "")) for c in executed["cells"] for o in c.get("outputs", [])]
    assert "0015|2019-01|str\n" in texts
    assert not list(out.parent.glob(".*tmp*")), "temporary file left behind"


def test_failure_is_one_line_and_leaves_no_output(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "in.ipynb")
    out = tmp_path / "done.ipynb"
    out.write_text("previous good run")
    proc = _run(str(nb), str(out), "-r", "code", "bad")
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"error: {nb}: partner 'bad': unknown; closest: Japan (5880)"
    assert "Traceback" not in proc.stderr
    assert out.read_text() == "previous good run", "a failed run replaced the last good output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done.ipynb", "in.ipynb"]


def _start(extra: list[str], socket_dir: str):  # -> (km, kc)
    from jupyter_core.utils import run_sync

    from analysis.pipeline.run_notebook import _kernel_manager_class

    km = _kernel_manager_class(socket_dir)(kernel_name="python3")
    run_sync(km.start_kernel)(extra_arguments=[*extra, "--HistoryManager.hist_file=:memory:"])
    kc = km.client()
    kc.start_channels()
    return km, kc


def test_ready_wait_survives_a_kernel_slow_to_start(tmp_path: Path) -> None:
    """A kernel that answers only after several kernel_info requests have queued up (here it
    sleeps 2.5 s before serving) is still recognised as ready: the replies to the earlier
    requests are skipped instead of being mistaken for a lag that never closes."""
    from jupyter_core.utils import run_sync

    from analysis.pipeline.run_notebook import _stop_kernel

    km, kc = _start(["--IPKernelApp.exec_lines=import time; time.sleep(2.5)"], str(tmp_path))
    try:
        run_sync(kc.wait_for_ready)(timeout=30)
        msg_id = kc.execute("x = 6 * 7")
        reply = run_sync(kc.get_shell_msg)(timeout=30)
        assert reply["parent_header"]["msg_id"] == msg_id and reply["content"]["status"] == "ok"
    finally:
        _stop_kernel(km, now=True)
    assert not km.has_kernel or not run_sync(km.is_alive)()


def test_ready_wait_reports_a_kernel_that_dies(tmp_path: Path) -> None:
    from jupyter_core.utils import run_sync

    from analysis.pipeline.run_notebook import _stop_kernel

    km, kc = _start(["--IPKernelApp.exec_lines=import os; os._exit(3)"], str(tmp_path))
    try:
        with pytest.raises(RuntimeError, match="Kernel died before replying to kernel_info"):
            run_sync(kc.wait_for_ready)(timeout=30)
    finally:
        _stop_kernel(km, now=True)
