"""Project paths and constants, in one place (cookiecutter-data-science style).

Every path is absolute and derived from the repository root, so code behaves the same
from a notebook, the Makefile or the tests. Nothing here imports pandas.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Repository root: ``src/analysis/config.py`` -> two levels up from ``src``.
ROOT: Path = Path(os.environ.get("ANALYSIS_ROOT") or Path(__file__).resolve().parents[2])

DATA_DIR: Path = ROOT / "data"
RAW_DIR: Path = DATA_DIR / "raw"
PROCESSED_DIR: Path = DATA_DIR / "processed"
EXTERNAL_DIR: Path = DATA_DIR / "external"
REPORTS_DIR: Path = ROOT / "reports"
NOTEBOOKS_DIR: Path = ROOT / "notebooks"
BUILD_DIR: Path = ROOT / "build"

#: Committed manifest of raw sources (URLs, file names, known sha256 vintages).
SOURCES_MANIFEST: Path = RAW_DIR / "sources.json"
#: Machine-local log of the unknown (not pinned) vintages obtained (not committed).
VINTAGE_LOG: Path = RAW_DIR / "vintages.csv"

#: Cleaned outputs (issue 2 fixes the names and columns).
TRADE_MONTHLY_CSV: Path = PROCESSED_DIR / "trade_monthly.csv"
TRADE_MONTHLY_PARQUET: Path = PROCESSED_DIR / "trade_monthly.parquet"
TRADE_MONTHLY_META: Path = PROCESSED_DIR / "trade_monthly.meta.json"
PARTNERS_CSV: Path = PROCESSED_DIR / "partners.csv"

TRADE_COLUMNS: tuple[str, ...] = (
    "date",
    "partner_code",
    "partner",
    "is_aggregate",
    "exports",
    "imports",
    "balance",
)

#: Census country code of South Korea, the project's default partner.
DEFAULT_PARTNER: int = 5800

#: Environment variable naming a local mirror of the official files.
MIRROR_ENV: str = "ANALYSIS_DATA_MIRROR"


def mirror_dir() -> Path | None:
    """Return the data mirror folder from ``$ANALYSIS_DATA_MIRROR``, or None if unset.

    A relative path is resolved against the repository root (not the current directory),
    so ``ANALYSIS_DATA_MIRROR=../shared/data`` means the same thing from any folder.
    """
    value = os.environ.get(MIRROR_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = ROOT / path
    return path.resolve()


#: Prefix of the environment variables through which make passes run parameters
#: (``ANALYSIS_PARTNER``, ``ANALYSIS_BREAKS``, ...): data, never shell text.
PARAM_ENV_PREFIX: str = "ANALYSIS_"


def run_parameter(name: str, default: str = "") -> str:
    """A run parameter from the environment (``ANALYSIS_<NAME>``), or ``default`` if unset.

    Only the command-line entry points that make calls read these; notebooks take their
    parameters from papermill or their parameters cell, never from the environment.
    """
    value = os.environ.get(PARAM_ENV_PREFIX + name.upper())
    return default if value is None else value


def display_path(path: str | Path) -> str:
    """``path`` relative to the repository root when it is inside it, else its file name: what
    a published page or file may say about a local path (never the absolute one)."""
    for p in (Path(path), Path(path).resolve()):
        if p.is_absolute() and p.is_relative_to(ROOT):
            return p.relative_to(ROOT).as_posix()
        if not p.is_absolute():
            return p.as_posix()
    return Path(path).name


def from_root(path: str | Path) -> Path:
    """A path as given, or resolved against the repository root when relative.

    Notebook parameters and command-line paths are relative to the repository root, not
    to the folder a notebook or a shell happens to run in.
    """
    p = Path(path)
    return p if p.is_absolute() else ROOT / p


#: Where a notebook run outside the pipeline writes (JupyterLab, nbconvert, papermill
#: without ``out_dir``): never over what the pipeline published.
INTERACTIVE_DIR: Path = BUILD_DIR / "interactive"

#: A partner report's figure folders, one per notebook (``reports/<slug>/<folder>/``). The
#: trends notebook replaces its folder whole, together with its results, so no other notebook
#: writes there: the sectors notebook has its own.
FIGURE_FOLDERS: dict[str, str] = {"trends": "figures", "sectors": "sectors-figures"}


def output_dir(out_dir: str | Path, name: str) -> Path:
    """The folder a notebook writes to: ``out_dir`` when the pipeline passes one (resolved
    against the repository root), else the scratch folder ``build/interactive/<name>/``.

    Notebooks default ``out_dir`` to ``""``, so a run by hand never replaces the published
    results, figures or tables; the pipeline always passes its own ``out_dir``.
    """
    if str(out_dir).strip():
        return from_root(out_dir)
    return INTERACTIVE_DIR / name
