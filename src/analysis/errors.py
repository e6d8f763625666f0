"""Exceptions that the command-line entry points turn into one-line messages.

Every error the user can cause (a bad file, a bad parameter, missing data) is an
``AnalysisError``: its message names the file or parameter and the problem, in one line.
"""

from __future__ import annotations

from pathlib import Path


class AnalysisError(Exception):
    """Base class: a problem the user can fix; printed as one line, exit status 2."""


class DataError(AnalysisError):
    """An input file is unreadable or violates an invariant."""

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = str(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class ChecksumMismatch(DataError):
    """A raw file's sha256 differs from what the manifest or metadata pins."""


class SourceUnavailable(AnalysisError):
    """A raw source could not be obtained (no copy, no mirror, download failed)."""


class ParameterError(AnalysisError):
    """A run parameter is invalid (unknown partner, break outside the data, ...)."""
