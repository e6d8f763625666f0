"""Command line of the data step: ``make data`` runs ``python -m analysis.sources.acquire [ID ...]``.

Usage::

    python -m analysis.sources.acquire            # every source in data/raw/sources.json
    python -m analysis.sources.acquire census     # only data/raw/country.xlsx
    python -m analysis.sources.acquire --verify   # check the files present, obtain nothing

Obtaining (see :mod:`analysis.sources.fetch`): an existing verified copy, else the mirror
(``ANALYSIS_DATA_MIRROR``), else the official URL. With no ids, an optional source that cannot
be obtained, or is absent with ``--verify``, is a warning; a present file that does not verify
is an error for every source. Errors are one line (``error: ...``) and exit status 2.
Standard library only at import time, so the command starts fast.
"""

from __future__ import annotations

import sys

from analysis import cli, config
from analysis.errors import AnalysisError
from analysis.sources import fetch
from analysis.sources.manifest import get_source, load_manifest, say, show


def _run(argv: list[str] | None) -> int:
    parser = cli.ArgumentParser(
        prog="python -m analysis.sources.acquire",
        description="Obtain and verify the raw data files listed in data/raw/sources.json.",
    )
    parser.add_argument("ids", nargs="*", metavar="ID", help="source ids (default: all)")
    parser.add_argument(
        "--verify", action="store_true", help="only check the sha256 of the files present"
    )
    args = parser.parse_args(argv)
    sources = load_manifest()
    for sid in args.ids:
        get_source(sid, sources)
    for sid in args.ids or list(sources):
        src = sources[sid]
        optional = not (args.ids or src.required)
        path = config.RAW_DIR / src.file
        try:
            if args.verify:
                if optional and not path.exists():
                    say(f"warning: {sid}: {show(path)} not present (optional source, skipped)")
                    continue
                digest = fetch.verify(sid, manifest=sources)
                say(f"{sid}: {show(path)} {fetch.describe_known(src, digest)}")
            else:
                fetch.ensure(sid, manifest=sources)
        except AnalysisError as exc:
            if not optional or (args.verify and path.exists()):
                raise
            say(f"warning: {exc} (optional source, skipped)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring). Returns the exit status."""
    return cli.run(_run, argv)


if __name__ == "__main__":
    sys.exit(main())
