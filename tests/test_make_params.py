"""The Makefile takes its parameters as data: make never expands them, a shell never reads
them, and ``make all-partners`` parses. Each test runs ``make`` on a cheap target (``help``,
or ``-n`` in a copy of the repository with a small partner table), never a build."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis import config
from analysis.partners import PARTNER_COLUMNS

# These run make (in a copy of the repository): part of `make test`, not of `make test-fast`.
pytestmark = [
    pytest.mark.skipif(shutil.which("make") is None, reason="no make"),
    pytest.mark.slow,
]

PARAMETERS = ("PARTNER", "START", "END", "BREAKS", "FORECAST", "SLUG")


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(config.ROOT / "src")}
    for name in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", *PARAMETERS):
        env.pop(name, None)
    return env


def _make(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    from repo_copy import venv_dir

    return subprocess.run(
        ["make", "-C", str(root), "--no-print-directory", f"VENV={venv_dir()}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env() if env is None else env,
    )


def test_make_expands_no_parameter_and_keeps_a_dollar(tmp_path: Path) -> None:
    """``$(shell ...)`` in any parameter is never run (make used to export each command-line
    variable to every recipe, expanding it), and ``Cura$cao`` keeps its ``$``."""
    markers = {name: tmp_path / f"ran-{name}" for name in PARAMETERS}
    args = [f"{name}=$(shell touch {markers[name]})" for name in PARAMETERS]
    args[0] = f"PARTNER=$(shell touch {markers['PARTNER']})Cura$cao"
    proc = _make(config.ROOT, "help", *args)
    assert [n for n, m in markers.items() if m.exists()] == []
    # SLUG is checked (a folder name), so only the others reach the help text.
    assert proc.returncode != 0 and "SLUG=$(shell touch" in proc.stderr
    proc = _make(config.ROOT, "help", *args[:-1])
    assert proc.returncode == 0, proc.stderr
    assert [n for n, m in markers.items() if m.exists()] == []
    line = next(ln for ln in proc.stdout.splitlines() if "Parameters:" in ln)
    assert f"PARTNER=$(shell touch {markers['PARTNER']})Cura$cao START=$(shell touch" in line
    assert f"BREAKS=$(shell touch {markers['BREAKS']}) FORECAST=$(shell" in line


def test_parameters_from_the_environment_are_not_expanded_either(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    env = {**_env(), "PARTNER": f"$(shell touch {marker})x", "FORECAST": "a$$b"}
    proc = _make(config.ROOT, "help", env=env)
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    assert f"PARTNER=$(shell touch {marker})x " in proc.stdout
    assert "FORECAST=a$$b " in proc.stdout


def test_a_slug_that_is_not_a_folder_name_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for bad in (f"$$(touch {marker})", "a b", "../x", "Korea"):
        proc = _make(config.ROOT, "-n", "partner-pages", f"SLUG={bad}")
        assert proc.returncode == 2
        assert "a report folder is lower-case letters, digits and hyphens" in proc.stderr
    assert not marker.exists()


# ---- in a copy of the repository, with a partner table and no data: make -n only ---------------


def _write_partners(root: Path) -> None:
    rows = [
        (5800, "Korea, South", "korea-south", "1985-01", "2024-06"),
        (5880, "Japan", "japan", "1985-01", "2024-06"),
        (1234, "Cura$cao", "cura-cao", "1985-01", "2024-06"),
        (5790, "Korea, North", "korea-north", "2010-01", "2024-06"),  # not around 2012-03
    ]
    path = root / "data" / "processed" / "partners.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(PARTNER_COLUMNS)
        for code, name, slug, first, last in rows:
            n = (int(last[:4]) - int(first[:4])) * 12 + int(last[5:]) - int(first[5:]) + 1
            w.writerow([code, name, slug, "False", first, last, n, n])


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from repo_copy import copy_repository

    root = copy_repository(tmp_path_factory.mktemp("repo"))
    _write_partners(root)
    return root


def _copy_env(root: Path) -> dict[str, str]:
    return {**_env(), "PYTHONPATH": str(root / "src")}


def test_make_report_passes_parameters_to_python_as_they_were_given(
    repo: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    proc = _make(repo, "-n", "report", f"PARTNER=$(shell touch {marker})", env=_copy_env(repo))
    assert proc.returncode != 0
    assert f"error: partner '$(shell touch {marker})': unknown" in proc.stderr
    assert not marker.exists()
    # A `$` in a name survives to Python (the partner is found, its params.json written) ...
    proc = _make(repo, "-n", "report", "PARTNER=Cura$cao", env=_copy_env(repo))
    assert proc.returncode == 0, proc.stderr
    assert (repo / "reports" / "cura-cao" / "params.json").is_file()
    assert "reports/cura-cao/02_trends.ipynb" in proc.stdout
    # ... and a bad month is refused as it was given, word for word.
    proc = _make(
        repo, "-n", "report", "PARTNER=Japan", f"START=$(shell touch {marker})", env=_copy_env(repo)
    )
    assert (
        proc.returncode != 0 and f"START='$(shell touch {marker})': expected a month" in proc.stderr
    )
    assert not marker.exists()


def test_make_all_partners_parses_and_lists_each_partners_pages(repo: Path) -> None:
    proc = _make(repo, "-n", "all-partners", env=_copy_env(repo))
    assert proc.returncode == 0, proc.stderr
    for slug in ("korea-south", "japan", "cura-cao"):
        assert f"notebooks/02_trends.ipynb reports/{slug}/02_trends.ipynb" in proc.stdout
        assert f"notebooks/06_sectors.ipynb reports/{slug}/06_sectors.ipynb" in proc.stdout
    assert "reports/korea-north/" not in proc.stdout  # no data around the first break


def test_the_landing_page_is_made_after_the_partner_pages_it_links(repo: Path) -> None:
    """The landing page links a partner's trends page only when the file exists, so it must
    depend on it: with a report's two notebooks side by side, it was made before
    ``trends.html`` was written and never again, and Japan's row had no link."""
    on_disk = repo / "reports" / "zz-on-disk" / "trends.html"
    on_disk.parent.mkdir(parents=True)
    on_disk.write_text("<html></html>")
    try:
        proc = _make(repo, "-n", "-p", "reports/index.html", "SLUG=japan", env=_copy_env(repo))
    finally:
        shutil.rmtree(on_disk.parent)
    rules = [ln for ln in proc.stdout.splitlines() if ln.startswith("reports/index.html:")]
    assert rules, proc.stdout[-2000:] + proc.stderr
    prerequisites = rules[0].split(":", 1)[1].split()
    for page in ("japan/trends.html", "japan/sectors.html", "zz-on-disk/trends.html"):
        assert f"reports/{page}" in prerequisites, prerequisites


def test_recipes_write_python_bytecode_caches(tmp_path: Path) -> None:
    """A build starts dozens of Python processes (each notebook's kernel among them); with
    ``PYTHONDONTWRITEBYTECODE`` set, as in this machine's environment, each one compiled the
    package's modules again (a miniature build: about 75 CPU seconds instead of 65). Recipes
    run Python with it unset, so the caches (``__pycache__/``, git-ignored) are written."""
    probe = tmp_path / "probe.mk"
    probe.write_text(
        'probe:\n\t@$(PY) -c "import sys; print(sys.dont_write_bytecode)"\n', encoding="utf-8"
    )
    env = {**_env(), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = _make(config.ROOT, "-f", "Makefile", "-f", str(probe), "probe", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "False"
