"""One wrapper for every ``python -m analysis.*`` entry point: a user's error is one line.

Usage in a module::

    @cli.entry_point
    def main(argv: list[str] | None = None) -> int:
        ...

    if __name__ == "__main__":
        sys.exit(main())

The wrapped ``main`` (or ``run(main, argv)``) calls the function; an :class:`~analysis.errors.AnalysisError` (a bad file or parameter,
missing data) becomes ``error: <message>`` on stderr and exit status 2, so make stops with
one line naming the file or parameter and the problem. Anything else is a bug and keeps its
traceback. Standard library only (the Makefile calls some entry points before pandas loads).

Every entry point parses its command line with :class:`ArgumentParser` (argparse, with
``--help``), whose errors are such one-line user errors too.
"""

from __future__ import annotations

import argparse
import functools
import sys
import typing
from collections.abc import Callable

from analysis.errors import AnalysisError, ParameterError

#: Exit status of a user's error (bad input or parameter); 1 stays for bugs.
USER_ERROR = 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser whose command-line errors are one line: a
    :class:`~analysis.errors.ParameterError` ``<prog>: <problem> (usage: ...)``, which
    :func:`run` prints as ``error: ...`` with status 2 (``--help`` prints the help as usual)."""

    def error(self, message: str) -> typing.NoReturn:
        usage = " ".join(self.format_usage().split()).removeprefix("usage: ")
        raise ParameterError(f"{self.prog}: {message} (usage: {usage})")


def report(exc: AnalysisError) -> int:
    """Print ``error: <message>`` (one line) to stderr and return the exit status."""
    message = " ".join(str(exc).split("\n"))
    print(f"error: {message}", file=sys.stderr)
    return USER_ERROR


def run(main: Callable[..., int | None], argv: list[str] | None = None) -> int:
    """Call ``main(argv)`` and turn an ``AnalysisError`` into one line and status 2."""
    try:
        return int(main(argv) or 0)
    except AnalysisError as exc:
        return report(exc)


def entry_point(main: Callable[..., int | None]) -> Callable[..., int]:
    """Decorate a module's ``main(argv)`` so that calling it returns the exit status."""

    @functools.wraps(main)
    def wrapper(argv: list[str] | None = None) -> int:
        return run(main, argv)

    return wrapper
