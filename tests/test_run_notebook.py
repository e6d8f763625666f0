"""The papermill wrapper: parameters as strings, atomic output, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow


def _notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
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
    return subprocess.run(
        [sys.executable, "-m", "analysis.pipeline.run_notebook", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


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


def test_published_notebook_names_no_temporary_or_absolute_path(tmp_path: Path) -> None:
    """papermill records the paths it is given in the notebook's metadata; the published
    notebook names its input and output relative to the repository root instead, and None
    for a file outside it (no absolute paths or pids in any published file)."""
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    nb = _notebook(root / "notebooks" / "in.ipynb")
    out = root / "reports" / "done.ipynb"
    env = dict(os.environ, ANALYSIS_ROOT=str(root))
    proc = subprocess.run(
        [sys.executable, "-m", "analysis.pipeline.run_notebook", str(nb), str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(out.read_text())["metadata"]["papermill"]
    assert (meta["input_path"], meta["output_path"]) == ("notebooks/in.ipynb", "reports/done.ipynb")
    text = out.read_text()
    assert str(tmp_path) not in text and ".tmp." not in text, (
        "an absolute or temporary path is published"
    )
    outside = _notebook(tmp_path / "outside.ipynb")
    proc = subprocess.run(
        [sys.executable, "-m", "analysis.pipeline.run_notebook", str(outside), str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(out.read_text())["metadata"]["papermill"]
    assert (meta["input_path"], meta["output_path"]) == (None, "reports/done.ipynb")


def test_unreadable_parameter_file_is_one_line(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "in.ipynb")
    missing = tmp_path / "params.json"
    proc = _run(str(nb), str(tmp_path / "done.ipynb"), "-f", str(missing))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {missing}: cannot read parameters ([Errno 2] No such file or directory: '{missing}')"
    ]


def test_speedups_go_through_public_hooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The wrapper's two speed-ups hang on public APIs: nbclient calls the client's
    ``wait_for_ready`` (here the kernel's ``idle`` ends the wait, not 0.2 s of silence) and the
    finished kernel is stopped with ``finish_shutdown(pollinterval=...)``. If a release of
    nbclient or jupyter_client stops calling or accepting them, this fails instead of every
    run silently getting slower."""
    from analysis.pipeline import run_notebook as rn

    calls: list[str] = []
    ready_class, manager_class = rn._ready_client_class, rn._kernel_manager_class

    def spy_ready() -> type:
        class SpyReady(ready_class()):
            async def wait_for_ready(self, timeout: float | None = None) -> None:
                calls.append("wait_for_ready")
                await super().wait_for_ready(timeout)

        return SpyReady

    def spy_manager(socket_dir: str) -> type:
        class SpyManager(manager_class(socket_dir)):
            async def finish_shutdown(self, *args: object, **kwargs: object) -> None:
                calls.append(f"finish_shutdown(pollinterval={kwargs.get('pollinterval')})")
                await super().finish_shutdown(*args, **kwargs)

        return SpyManager

    monkeypatch.setattr(rn, "_ready_client_class", spy_ready)
    monkeypatch.setattr(rn, "_kernel_manager_class", spy_manager)
    nb = _notebook(tmp_path / "in.ipynb")
    rn.run(nb, tmp_path / "done.ipynb", {"code": "1"}, cwd=tmp_path)
    assert calls == ["wait_for_ready", f"finish_shutdown(pollinterval={rn.SHUTDOWN_POLL})"]


def test_the_temporary_notebook_and_figures_are_staged_under_build(tmp_path: Path) -> None:
    """While a notebook runs for ``reports/<slug>/``, its figures' staging folder is in
    ``build/staging/reports/<slug>/``, never in the published folder (a killed run used to
    leave ``.02_trends.<pid>.tmp.ipynb`` and ``.figures.<pid>.staging`` there, uploaded with
    ``reports/``); it is renamed into place at the end. The executed notebook is not written
    while cells run (papermill's save after each cell serialised the whole notebook, figures
    included, twice a cell): it is written once, to the staging folder, then renamed."""
    from analysis import fileio

    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell('out_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(
            "import json, os\n"
            "from pathlib import Path\n"
            "from analysis.fileio import replace_dir, staging_dir\n"
            "stage = staging_dir(Path(out_dir) / 'figures')\n"
            "(stage / 'a.png').write_bytes(b'png')\n"
            "seen = {d: sorted(os.listdir(d)) for d in (out_dir, 'build/staging/' + out_dir)}\n"
            "replace_dir(stage, Path(out_dir) / 'figures')\n"
            "print(json.dumps(seen))"
        ),
    ]
    nbformat.write(nb, root / "notebooks" / "in.ipynb")
    out = root / "reports" / "japan" / "done.ipynb"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis.pipeline.run_notebook",
            str(root / "notebooks" / "in.ipynb"),
        ]
        + [str(out), "-r", "out_dir", "reports/japan"],
        capture_output=True,
        text=True,
        timeout=180,
        # The kernel imports this package (the code under test), not another install of it.
        env=dict(
            os.environ, ANALYSIS_ROOT=str(root), PYTHONPATH=str(Path(fileio.__file__).parents[1])
        ),
    )
    assert proc.returncode == 0, proc.stderr
    cell = json.loads(out.read_text())["cells"][-1]["outputs"][0]["text"]
    seen = json.loads("".join(cell))
    assert seen["reports/japan"] == []  # nothing hidden in the published folder meanwhile
    staged = seen["build/staging/reports/japan"]
    assert len(staged) == 1 and staged[0].startswith(".figures.") and staged[0].endswith(".staging")
    assert sorted(p.name for p in out.parent.iterdir()) == ["done.ipynb", "figures"]
    assert (out.parent / "figures" / "a.png").read_bytes() == b"png"
    assert list((root / "build" / "staging" / "reports" / "japan").iterdir()) == []
