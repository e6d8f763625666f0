"""Command line of the data step: ``make data`` runs ``python -m analysis.sources.acquire [ID ...]``.

Usage::

    python -m analysis.sources.acquire            # every source in data/raw/sources.json
    python -m analysis.sources.acquire census     # only data/raw/country.xlsx
    python -m analysis.sources.acquire --verify   # check the files present, obtain nothing
    python -m analysis.sources.acquire --verify-file data/raw/wdi_kor.csv   # one file, if present

Obtaining (see :mod:`analysis.sources.fetch`): an existing verified copy, else the mirror
(``ANALYSIS_DATA_MIRROR``), else the official URL. With no ids, an optional source that cannot
be obtained, or is absent with ``--verify``, is a warning; a present file that does not verify
is an error for every source. Errors are one line (``error: ...``) and exit status 2.
Standard library only at import time, so the command starts fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

from analysis import cli, config
from analysis.errors import AnalysisError, ParameterError
from analysis.sources import fetch
from analysis.sources.manifest import Source, get_source, load_manifest, say, show


def _run(argv: list[str] | None) -> int:
    parser = cli.ArgumentParser(
        prog="python -m analysis.sources.acquire",
        description="Obtain and verify the raw data files listed in data/raw/sources.json.",
    )
    parser.add_argument("ids", nargs="*", metavar="ID", help="source ids (default: all)")
    parser.add_argument(
        "--verify", action="store_true", help="only check the sha256 of the files present"
    )
    parser.add_argument(
        "--verify-file",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="check this raw file (data/raw/<file> of a source) if it is present; repeatable",
    )
    args = parser.parse_args(argv)
    sources = load_manifest()
    if args.verify_file:
        if args.ids or args.verify:
            raise ParameterError("--verify-file takes no source ids and no --verify")
        for path in args.verify_file:
            verify_file(path, sources)
        return 0
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


def verify_file(path: Path, sources: dict[str, Source]) -> str | None:
    """Verify one raw file by its name (the source whose ``file`` it is): its sha256, or None
    when it is absent (the step that reads it says what is missing). Make runs this once for
    each new content of a raw file (``build/verified/<file>.ok``), before any step that reads
    it, so a file changed by hand stops the build in one line instead of in every notebook."""
    matches = [s for s in sources.values() if s.file == path.name]
    if not matches:
        raise ParameterError(f"{show(path)}: not the file of any source in data/raw/sources.json")
    if not path.exists():
        return None
    return fetch.verify(matches[0].id, path, manifest=sources)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring). Returns the exit status."""
    return cli.run(_run, argv)


if __name__ == "__main__":
    sys.exit(main())
