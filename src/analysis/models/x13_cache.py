"""Finished X-13ARIMA-SEATS runs, stored by what they depend on, so a run is never repeated.

X-13 is deterministic: given the same series and options, the same program returns the same
adjustment. A run takes 0.05 to 0.6 s a series (the automatic model search), and the pipeline
adjusts the same series again whenever a partner's report re-runs on unchanged data: new
break dates, a changed notebook or model module, a rebuild from scratch, the test suite's
builds. So each successful run is stored under a key naming everything its answer depends on:

* the series: its dates and the bytes of its float64 values;
* the options: ``log``, ``trading``, ``outlier`` and the differencing the model starts from;
* the program: the sha256 of the X-13 binary, and the statsmodels version (statsmodels writes
  X-13's spec file and reads its output);
* :data:`FORMAT`, this module's file format.

A different series, option or program is a different key, so no entry ever goes stale; the
cached answer is the one X-13 gave for exactly this input. An entry that cannot be read, or
whose length does not match its series, is ignored (X-13 runs, and the entry is rewritten).

The store is used only when ``$ANALYSIS_X13_CACHE`` names a folder. The Makefile sets
``build/x13`` (``make clean`` removes it); without the variable, every run calls X-13.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.fileio import sha256_file, write_text_atomic

#: Environment variable naming the cache folder (unset or empty: no cache).
ENV: str = "ANALYSIS_X13_CACHE"
#: The version of the entries' format; part of every key.
FORMAT: int = 2


@dataclass(frozen=True)
class Entry:
    """A stored run: the adjusted values, X-13's warnings and the model it chose."""

    values: np.ndarray
    notes: tuple[str, ...]
    model: str | None


def cache_dir() -> Path | None:
    """The cache folder from ``$ANALYSIS_X13_CACHE``, or None when it is unset or empty."""
    value = os.environ.get(ENV, "").strip()
    return Path(value) if value else None


@functools.lru_cache(maxsize=4)
def _program(binary: str) -> str:
    """What identifies the X-13 program: its binary's sha256 and the statsmodels version."""
    import statsmodels

    return f"{sha256_file(binary)}:{statsmodels.__version__}"


def key(
    y: pd.Series,
    *,
    log: bool,
    trading: bool,
    outlier: bool,
    diff: tuple[int, int],
    binary: str,
) -> str:
    """The entry's name: a sha256 over the series (dates and float64 bytes), the options and
    the program (:func:`_program`)."""
    h = hashlib.sha256()
    head = {
        "format": FORMAT,
        "program": _program(binary),
        "log": bool(log),
        "trading": bool(trading),
        "outlier": bool(outlier),
        "diff": [int(d) for d in diff],
        "dates": [f"{d:%Y-%m}" for d in pd.DatetimeIndex(y.index)],
    }
    h.update(json.dumps(head, sort_keys=True).encode())
    h.update(np.ascontiguousarray(y.to_numpy(dtype="float64")).tobytes())
    return h.hexdigest()


def load(folder: Path, name: str, n: int) -> Entry | None:
    """The entry stored as ``name``, or None when there is no readable entry of ``n`` finite
    values."""
    try:
        data = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        values = np.asarray(data["adjusted"], dtype="float64")
        notes = tuple(str(w) for w in data["warnings"])
        model = data["model"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if values.shape != (n,) or not np.isfinite(values).all():
        return None
    return Entry(values, notes, None if model is None else str(model))


def store(folder: Path, name: str, entry: Entry) -> None:
    """Write ``entry`` as ``name`` atomically (JSON; floats written so they read back exactly).
    A folder that cannot be written is not an error: the run's answer stands without it."""
    text = json.dumps(
        {
            "adjusted": [float(v) for v in entry.values],
            "warnings": list(entry.notes),
            "model": entry.model,
        },
        allow_nan=False,
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(folder / f"{name}.json", text)
    except OSError:
        pass
