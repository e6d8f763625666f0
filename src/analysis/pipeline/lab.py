"""``make lab``: JupyterLab on the project's environment, as root too, printing its URL.

Jupyter refuses to start as root ("Running as root is not recommended") unless told
``--allow-root``; in containers and CI root is the usual user, so the flag is added when the
effective uid is 0. The server listens on the loopback address only and opens no browser
(the URL with its token is printed instead), in the repository root so that the notebooks'
relative paths and ``data/`` resolve as in the pipeline.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from analysis import cli, config


def lab_command(uid: int, extra: Sequence[str] = (), python: str = sys.executable) -> list[str]:
    """The JupyterLab command line for a user of effective uid ``uid``."""
    cmd = [
        python,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={config.ROOT}",
        "--LabApp.default_url=/lab/tree/notebooks",
    ]
    if uid == 0:
        cmd.append("--allow-root")
    return [*cmd, *extra]


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    """Replace this process with JupyterLab (extra arguments are passed on)."""
    extra = sys.argv[1:] if argv is None else argv
    cmd = lab_command(os.geteuid(), extra)
    print(
        "JupyterLab: open the http://127.0.0.1:... URL printed below (Ctrl-C stops it)", flush=True
    )
    os.chdir(Path(config.ROOT))
    os.execv(cmd[0], cmd)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
