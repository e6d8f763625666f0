"""The Makefile's rules derived from the registries: one acquire rule per source of
``data/raw/sources.json`` (``build/sources.mk``) and one run rule per page of
``analysis.report.pages.PAGES`` that declares its run (``build/pages.mk``). Each generated
fragment is given to a real ``make`` in a temporary folder (a few milliseconds)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import config
from analysis.errors import DataError
from analysis.report import pages
from analysis.report.pages import Page, Run, Var
from analysis.sources import manifest, rules

ROOT = Path(__file__).resolve().parents[1]
MAKEFILE = ROOT / "Makefile"
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="no make")


def _make(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(folder), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )


# ---- sources -----------------------------------------------------------------------------


def _manifest_with(tmp_path: Path, *entries: dict) -> Path:
    doc = json.loads(config.SOURCES_MANIFEST.read_text(encoding="utf-8"))
    doc["sources"] += list(entries)
    path = tmp_path / "data" / "raw" / "sources.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _entry(sid: str, file: str, **extra: object) -> dict:
    return {
        "id": sid,
        "title": "t",
        "file": file,
        "mirror_path": f"x/{file}",
        "format": "csv",
        "license": "l",
        "attribution": "a",
        "required": False,
        **extra,
    }


@needs_make
def test_a_new_manifest_entry_yields_its_acquire_rule_and_lands_in_raw_all(tmp_path: Path):
    path = _manifest_with(
        tmp_path,
        _entry("tariff_lines", "tariffs.csv", when_unavailable="the tariff page is skipped"),
        _entry("fx_rates", "fx.csv"),
    )
    (tmp_path / "stamp").touch()
    (tmp_path / "sources.mk").write_text(rules.make_rules(manifest.load_manifest(path), path))
    (tmp_path / "Makefile").write_text(
        "ENV_STAMP := stamp\nPY := py\ninclude sources.mk\n"
        "show:\n\t@echo all $(RAW_ALL)\n\t@echo optional $(RAW_OPTIONAL)\n"
    )
    out = _make(tmp_path, "show").stdout.splitlines()
    raw_all, optional = out[0].split()[1:], out[1].split()[1:]
    assert raw_all[:2] == ["data/raw/country.xlsx", "data/raw/wdi_kor.csv"]
    assert raw_all[-2:] == ["data/raw/tariffs.csv", "data/raw/fx.csv"]
    assert len(raw_all) == 9 and "data/raw/wdi_kor.csv" not in optional
    assert optional[-1] == "data/raw/tariffs.csv" and "data/raw/fx.csv" not in optional
    # The optional source's rule never stops make and says what is done without it; the
    # other's is a plain command (make stops when it fails).
    dry = _make(tmp_path, "-n", "data/raw/tariffs.csv", "data/raw/fx.csv")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        'py -m analysis.sources.acquire tariff_lines || echo "note: optional source '
        'tariff_lines unavailable; the tariff page is skipped"',
        "py -m analysis.sources.acquire fx_rates",
    ]
    # Run, with an acquire that always fails: the optional one says so and make goes on.
    (tmp_path / "Makefile").write_text("ENV_STAMP := stamp\nPY := false\ninclude sources.mk\n")
    proc = _make(tmp_path, "data/raw/tariffs.csv")
    assert proc.returncode == 0 and proc.stdout.startswith("note: optional source tariff_lines")
    assert _make(tmp_path, "data/raw/fx.csv").returncode == 2


def test_the_makefile_takes_every_source_from_the_manifest() -> None:
    """No source's file or acquire command is written in the Makefile; it includes the
    generated fragment, remade when the manifest or its generator changes."""
    text = "\n".join(ln.split("#", 1)[0] for ln in MAKEFILE.read_text("utf-8").splitlines())
    # (The one acquire call left verifies any raw file by name: build/verified/<file>.ok.)
    acquire_lines = [ln for ln in text.splitlines() if "analysis.sources.acquire" in ln]
    assert acquire_lines == ["\t@$(PY) -m analysis.sources.acquire --verify-file data/raw/$*"]
    for src in manifest.load_manifest().values():
        assert src.file not in text, src.file
    assert "-include $(SOURCES_MK)" in text
    assert re.search(r"^\$\(SOURCES_MK\): data/raw/sources\.json .*sources/rules\.py", text, re.M)
    assert re.search(r"^data: \$\(RAW_ALL\) *$", text, re.M)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (_entry("bad id", "b.csv"), "id 'bad id' must be letters"),
        (_entry("b", "$(shell touch x).csv"), "file '$(shell touch x).csv' must be letters"),
        (_entry("b", "b.csv", when_unavailable='x"; touch y; "'), "'when_unavailable' must be"),
        (_entry("b", "b.csv", when_unavailable="$(shell touch x)"), "'when_unavailable' must be"),
    ],
)
def test_a_manifest_entry_that_make_would_misread_is_refused(tmp_path, entry, problem) -> None:
    path = _manifest_with(tmp_path, entry)
    with pytest.raises(DataError, match=re.escape(problem)) as info:
        rules.make_rules(manifest.load_manifest(path), path)
    assert str(path) in str(info.value)


def test_a_required_source_cannot_say_what_happens_without_it(tmp_path: Path) -> None:
    path = _manifest_with(tmp_path, _entry("b", "b.csv", required=True, when_unavailable="x"))
    with pytest.raises(DataError, match="a required source has no 'when_unavailable'"):
        manifest.load_manifest(path)


def test_rules_main_writes_the_fragment_or_one_error_line(tmp_path: Path, monkeypatch, capsys):
    assert rules.main([str(tmp_path / "sources.mk")]) == 0
    assert (tmp_path / "sources.mk").read_text() == rules.make_rules(manifest.load_manifest())
    monkeypatch.setattr(config, "SOURCES_MANIFEST", _manifest_with(tmp_path, _entry("a b", "c")))
    assert rules.main([str(tmp_path / "other.mk")]) == 2
    assert not (tmp_path / "other.mk").exists()
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "'a b'" in err[0]


# ---- pages -------------------------------------------------------------------------------

HOSTILE = ("$(shell touch pwned)", "a b'c", 'd"$$e`f`', "-r x", "", "%")


@needs_make
def test_a_registry_entry_yields_its_run_rule_with_literal_parameters(tmp_path: Path) -> None:
    """The generated rule, run by make, hands the runner each value as one argument, as
    written: nothing in it is expanded by make or read by a shell."""
    page = Page(
        key="tariffs",
        title="Tariffs",
        caption="c",
        output="korus/tariffs.html",
        notebook="notebooks/09_tariffs.ipynb",
        executed="reports/korus/09_tariffs.ipynb",
        run=Run(
            params=(*((f"p{i}", v) for i, v in enumerate(HOSTILE)), ("data", Var("TABLE"))),
            needs=(Var("TABLE"), "data/external/t.csv"),
            writes=("reports/tariffs.json",),
        ),
    )
    text = pages.make_rules((page,))
    assert (
        "reports/korus/09_tariffs.ipynb reports/tariffs.json &: notebooks/09_tariffs.ipynb" in text
    )
    assert "$(DEPS_09_tariffs) | $(ENV_STAMP) $(CACHE)" in text
    assert ".PRECIOUS: reports/korus/09_tariffs.ipynb reports/tariffs.json" in text
    (tmp_path / "pages.mk").write_text(text)
    for f in ("notebooks/09_tariffs.ipynb", "data/external/t.csv", "table.csv", "stamp"):
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).touch()
    (tmp_path / "cache").mkdir()
    (tmp_path / "args.py").write_text(
        "import json, pathlib, sys\n"
        "pathlib.Path(sys.argv[2]).parent.mkdir(parents=True, exist_ok=True)\n"
        "pathlib.Path(sys.argv[2]).write_text(json.dumps(sys.argv[1:]))\n"
        "pathlib.Path('reports/tariffs.json').write_text('{}')\n"
    )
    (tmp_path / "Makefile").write_text(
        f"SHELL := /bin/bash\nRUN_NB := {sys.executable} args.py\nTABLE := table.csv\n"
        "ENV_STAMP := stamp\nCACHE := cache\nPY := false\ninclude pages.mk\n"
    )
    proc = _make(tmp_path, "reports/korus/09_tariffs.ipynb")
    assert proc.returncode == 0, proc.stderr
    argv = json.loads((tmp_path / "reports/korus/09_tariffs.ipynb").read_text())
    expected = ["notebooks/09_tariffs.ipynb", "reports/korus/09_tariffs.ipynb"]
    for i, v in enumerate(HOSTILE):
        expected += ["-r", f"p{i}", v]
    assert argv == [*expected, "-r", "data", "table.csv"]
    assert not (tmp_path / "pwned").exists() and not list(tmp_path.glob("*pwned*"))
    assert _make(tmp_path, "-q", "reports/tariffs.json").returncode == 0  # one grouped run


@pytest.mark.parametrize(
    "run",
    [
        Run(needs=("$(shell touch x)",)),
        Run(writes=("a b.json",)),
        Run(params=(("bad name", "v"),)),
        Run(params=(("v", "two\nlines"),)),
    ],
)
def test_a_run_make_would_misread_is_refused(run: Run) -> None:
    page = Page("k", "t", "c", "k.html", notebook="notebooks/k.ipynb", executed="build/k.ipynb")
    with pytest.raises(ValueError):
        pages.make_rules((Page(**{**page.__dict__, "run": run}),))
    with pytest.raises(ValueError):
        Var("$(shell touch x)")


def test_every_notebook_is_run_by_one_rule_generated_or_written_by_hand() -> None:
    """A notebook is run by its page's generated rule, or by a rule in the Makefile listed in
    ``pages.RUN_BY_HAND`` (with the reason), never by both and never by neither."""
    makefile = MAKEFILE.read_text(encoding="utf-8")
    generated = pages.make_rules()
    notebooks = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 8
    by_registry = {p.notebook for p in pages.PAGES if p.run}
    for nb in notebooks:
        run = f"$(RUN_NB) {nb} "
        in_makefile, in_generated = run in makefile, run in generated
        assert in_makefile != in_generated, nb
        assert in_generated == (nb in by_registry), nb
        assert in_makefile == (nb in pages.RUN_BY_HAND), nb
    assert set(pages.RUN_BY_HAND) <= set(notebooks)
    assert all(len(why) > 40 for why in pages.RUN_BY_HAND.values())


def test_a_site_page_marked_context_is_built_by_make_all(tmp_path: Path) -> None:
    """A new site page is one registry entry: marked ``context``, it lands in the list that
    ``make context-pages`` (and so ``make all``) builds; the Makefile names no page itself."""
    page = Page(
        key="tariffs",
        title="Tariffs",
        caption="Tariff lines",
        output="korus/tariffs.html",
        notebook="notebooks/09_tariffs.ipynb",
        executed="reports/korus/09_tariffs.ipynb",
        context=True,
    )
    text = pages.make_rules((*pages.PAGES, page))
    (listed,) = re.findall(r"^REGISTRY_CONTEXT_PAGES := (.*)$", text, re.M)
    assert "reports/korus/tariffs.html" in listed.split()
    assert "reports/korus/evaluation.html" in listed.split()
    assert "reports/index.html" not in listed.split()  # the landing page comes last, by itself
    makefile = "\n".join(
        ln.split("#", 1)[0] for ln in (config.ROOT / "Makefile").read_text("utf-8").splitlines()
    )
    assert re.search(
        r"^CONTEXT_PAGES := \$\(REGISTRY_CONTEXT_PAGES\) reports/claims\.csv$", makefile, re.M
    )
    assert "reports/korus/partners.html" not in makefile
