"""Data sources: one module per source (address id, content checks, reader), and the fetch machinery.

The registry below maps each source id of ``data/raw/sources.json`` to the module that knows
its content. Each such module defines::

    SOURCE_ID = "<id>"                          # its entry in the manifest
    def check_content(path, label=None) -> (first, last)   # raises DataError when wrong
    def read(path)                              # the reader (verifies a project raw file first)

so :func:`analysis.sources.fetch.check_content` dispatches by source, not by file format.
Adding a source: add its entry to ``data/raw/sources.json``, one module, and one line here.
Kept import-light (the modules are imported on first use): ``make data`` runs before pandas
is needed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

#: Source id -> the module holding its content check and reader.
REGISTRY: dict[str, str] = {
    "census": "analysis.sources.census",
    "wdi": "analysis.sources.wdi",
    "steel_reference": "analysis.sources.steel_reference",
    "census_hs2_imports": "analysis.sources.census_api",
    "census_api_exports": "analysis.sources.census_api",
    "census_api_imports": "analysis.sources.census_api",
    "census_2016": "analysis.sources.census_vintage",
}


def module(source_id: str) -> ModuleType | None:
    """The module of a registered source (imported now), or None for an unregistered id."""
    name = REGISTRY.get(source_id)
    return importlib.import_module(name) if name else None


def content_check(source_id: str) -> Callable[..., tuple[str, str]] | None:
    """``check_content(path, label=None) -> (first, last)`` of a source, or None."""
    mod = module(source_id)
    return mod.check_content if mod else None


def reader(source_id: str) -> Callable[[str | Path], Any] | None:
    """The reader ``read(path)`` of a source, or None."""
    mod = module(source_id)
    return mod.read if mod else None
