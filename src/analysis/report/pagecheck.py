"""What a published page must never show, as one check for the tests and the publisher
(``make publish`` refuses a site with a page it flags, :mod:`analysis.report.bundle`).

:func:`check_html` (and :func:`check_page` for a file) returns the violations of one page:

* ``minus``: a hyphen-minus used as a minus sign in visible text, i.e. a ``-`` directly before
  a digit and directly after the start of a text, white space or one of ``( [ = < > ≤ ≥``.
  A date or code range (``2012-03``, ``2008-09``, ``5800-5900``) has a digit before its ``-``
  and is not one; attributes, URLs, scripts and styles are not visible text and are not read.
* ``year``: a year written with a thousands separator (``2,041``, ``1,995``): ``1,9dd`` or
  ``2,0dd`` standing alone (not followed by decimals or another group of digits).
* ``title``: the page's ``<title>`` or first ``<h1>`` starts with a notebook number
  (``02 · Trends``, ``03 - Partners``).
* ``path``: a local path (``/work/``, ``/root/``, ``/home/``, ``/tmp/``) in visible text or in
  any attribute (a link or image source); ``data:`` URIs are skipped.
* ``warning``: warning or error output: the words ``Warning`` (also ``RuntimeWarning``, ...)
  or ``Traceback`` in visible text, or an element marked as a notebook's stderr stream.
* ``entity``: an HTML character reference shown as text (``&#x27;``, ``&amp;``, ``&lt;``):
  text escaped twice, which a reader sees as code ("Cote d&#x27;Ivoire").

Each violation names its kind and a short excerpt, so a failing test says where to look.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from analysis import cli

#: A hyphen-minus used as a minus sign: after start, space or an opening/comparison sign.
MINUS_RE = re.compile(r"(?:^|(?<=[\s(\[=<>≤≥]))-(?=\.?\d)")
#: A year with a thousands separator, not part of a longer number.
YEAR_RE = re.compile(r"(?<![\d,.])(?:1,9\d\d|2,0\d\d)(?![\d]|,\d|\.\d)")
#: A notebook number at the start of a title: "02 · ", "03 - ", "4. ".
TITLE_RE = re.compile(r"^\s*\d{1,2}\s*[·.:\-–—]\s")
PATH_RE = re.compile(r"(?<![\w.])/(?:work|root|home|tmp)/")
WARNING_RE = re.compile(r"\b\w*Warning\b|\bTraceback\b")
#: A character reference left in visible text (the page decodes one level of them).
ENTITY_RE = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")
_SKIP = {"script", "style"}


@dataclass(frozen=True)
class Violation:
    """One thing a page must not show: ``kind`` (see the module docstring) and an excerpt."""

    kind: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.excerpt!r}"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.attrs: list[str] = []
        self.title = ""
        self.h1 = ""
        self.stderr = 0
        self._stack: list[str] = []
        self._in_title = False
        self._h1_open = False
        self._h1_done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._stack.append(tag)
        for name, value in attrs:
            if value is None or value.startswith("data:"):
                continue
            self.attrs.append(value)
            if name == "class" and "stderr" in value:
                self.stderr += 1
            if name == "data-mime-type" and "stderr" in value:
                self.stderr += 1
        if tag == "title":
            self._in_title = True
        if tag == "h1" and not self._h1_done:
            self._h1_open = True

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass
        if tag == "title":
            self._in_title = False
        if tag == "h1" and self._h1_open:
            self._h1_open, self._h1_done = False, True

    def handle_data(self, data: str) -> None:
        if any(t in _SKIP for t in self._stack):
            return
        if self._in_title:
            self.title += data
            return
        if self._h1_open:
            self.h1 += data
        self.texts.append(data)


def _excerpt(text: str, start: int, end: int, width: int = 30) -> str:
    return " ".join(text[max(0, start - width) : end + width].split())


def text_violations(text: str) -> list[Violation]:
    """The ``minus``, ``year``, ``path``, ``warning`` and ``entity`` violations of one piece of
    visible text."""
    out: list[Violation] = []
    for kind, pattern in (
        ("minus", MINUS_RE),
        ("year", YEAR_RE),
        ("path", PATH_RE),
        ("warning", WARNING_RE),
        ("entity", ENTITY_RE),
    ):
        out += [Violation(kind, _excerpt(text, m.start(), m.end())) for m in pattern.finditer(text)]
    return out


def title_violations(title: str) -> list[Violation]:
    """A ``title`` violation when ``title`` starts with a notebook number."""
    return [Violation("title", title.strip())] if TITLE_RE.match(title) else []


def check_html(html: str) -> list[Violation]:
    """Every violation of one HTML page (see the module docstring)."""
    page = _Page()
    page.feed(html)
    page.close()
    out = title_violations(page.title) + title_violations(page.h1)
    out += [v for v in text_violations(page.title) if v.kind != "minus"]
    for text in page.texts:
        out += text_violations(text)
    for value in page.attrs:
        out += [
            Violation("path", _excerpt(value, m.start(), m.end())) for m in PATH_RE.finditer(value)
        ]
    out += [Violation("warning", "stderr output")] * page.stderr
    return out


def check_page(path: str | Path) -> list[Violation]:
    """Every violation of the HTML file ``path``."""
    return check_html(Path(path).read_text(encoding="utf-8"))


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.report.pagecheck PAGE.html ...``: each violation on one line, then
    the count; status 1 when a page shows anything it must not."""
    ap = cli.ArgumentParser(
        prog="python -m analysis.report.pagecheck",
        description="List what published pages must not show (see the module docstring).",
    )
    ap.add_argument("pages", nargs="+", metavar="PAGE.html", type=Path)
    pages = ap.parse_args(sys.argv[1:] if argv is None else argv).pages
    found = 0
    for page in pages:
        for v in check_page(page):
            found += 1
            print(f"{page}: {v}")
    print(f"{found} violation(s) in {len(pages)} page(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
