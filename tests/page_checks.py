"""The page checker, for the tests: :mod:`analysis.report.pagecheck` (the publisher uses it too)."""

from analysis.report.pagecheck import (  # noqa: F401 - re-exported for the tests
    MINUS_RE,
    PATH_RE,
    TITLE_RE,
    WARNING_RE,
    YEAR_RE,
    Violation,
    check_html,
    check_page,
    text_violations,
    title_violations,
)
