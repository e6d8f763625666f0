"""What of an executed notebook's outputs may reach a published page.

A notebook page shows its cells' outputs. Some outputs are for whoever runs the notebook,
never for a reader: a ``stderr`` stream (warnings, progress bars, library chatter) and an
error's traceback. :func:`clean_outputs` removes every ``stderr`` stream from a notebook
before it is converted (and says which it removed) and refuses, with a
:class:`~analysis.errors.DataError`, a notebook whose remaining outputs still show an error,
a Python warning line or traceback, or a local path (the checkout's folder, or ``/home/``,
``/root/``, ``/tmp/``, ``/work/``): such a page would publish what the reader must not see.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from analysis import config
from analysis.errors import DataError

#: A Python warning as ``warnings`` prints it, or a traceback's first line.
WARNING_TEXT = re.compile(r"\b\w*(?:Warning|Error): |Traceback \(most recent call last\)")
#: A local absolute path (the places a checkout or a temporary file lives).
LOCAL_PATH = re.compile(r"(?<![\w.])/(?:work|root|home|tmp|Users)/")
#: Output data shown as text on a page (images are not read).
_TEXT_TYPES = ("text/plain", "text/html", "text/markdown", "text/latex")


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def output_texts(output: Any) -> list[str]:
    """The texts one notebook output shows (a stream's text, its text mime data)."""
    if output.get("output_type") == "stream":
        return [_text(output.get("text", ""))]
    data = output.get("data", {}) or {}
    return [_text(data[k]) for k in _TEXT_TYPES if k in data]


def problem(text: str, root: Path | None = None) -> str | None:
    """What in ``text`` must not be published (``"a warning"``, ``"a local path"``), or None."""
    root_str = str(Path(root if root is not None else config.ROOT).resolve())
    if WARNING_TEXT.search(text):
        return "a warning or traceback"
    if (len(root_str) > 1 and root_str in text) or LOCAL_PATH.search(text):
        return "a local path"
    return None


def clean_outputs(nb: Any, source: Path, root: Path | None = None) -> list[str]:
    """Remove every ``stderr`` stream from the notebook ``nb`` (in place) and return their
    first lines; raise :class:`DataError` naming ``source`` and the cell when an output left
    is an error or shows a warning, a traceback or a local path (:func:`problem`)."""
    dropped: list[str] = []
    for n, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                first = _text(out.get("text", "")).strip().splitlines()
                dropped.append(first[0] if first else "")
                continue
            if out.get("output_type") == "error":
                raise DataError(source, f"cell {n} shows an error ({out.get('ename', '?')})")
            for text in output_texts(out):
                what = problem(text, root)
                if what:
                    raise DataError(source, f"an output of cell {n} shows {what}; not published")
            kept.append(out)
        cell["outputs"] = kept
    return dropped
