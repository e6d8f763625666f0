"""One command-line style: argparse with ``--help`` everywhere, and a bad command line is one
``error:`` line and status 2 (analysis.cli.ArgumentParser), with the Makefile's calls kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import config
from analysis.pipeline import deps

SRC = Path(__file__).resolve().parents[1] / "src"


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "ANALYSIS_ROOT": str(config.ROOT)}
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


@pytest.mark.parametrize(
    ("module", "words"),
    [
        ("analysis.partners", ["{slug,code,name,list}", "QUERY|MONTH"]),
        ("analysis.pipeline.deps", ["OUT.mk"]),
    ],
)
def test_help_is_argparse_help(module: str, words: list[str]) -> None:
    proc = _run(module, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: python -m {module} [-h]")
    assert all(w in proc.stdout for w in words)


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["analysis.partners"], "the following arguments are required: command"),
        (["analysis.partners", "bogus"], "invalid choice: 'bogus'"),
        (["analysis.partners", "slug", "Japan", "extra"], "unrecognized arguments: extra"),
        (["analysis.pipeline.deps"], "the following arguments are required: OUT.mk"),
        (["analysis.pipeline.deps", "a.mk", "b.mk"], "unrecognized arguments: b.mk"),
        (["analysis.pipeline.run_notebook", "in.ipynb"], "required: output"),
        (["analysis.report.publish", "notebook", "a.ipynb"], "required: html"),
    ],
)
def test_a_bad_command_line_is_one_error_line(argv: list[str], problem: str, tmp_path: Path):
    proc = _run(*argv, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: python -m {argv[0]}"), proc.stderr
    assert problem in lines[0] and "(usage: python -m" in lines[0]
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.integration
def test_the_makefile_calls_keep_their_behaviour(
    tmp_path: Path, real_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``partners slug`` reads the partner from the environment, ``slug QUERY`` takes it from the
    command line, ``list MONTH`` lists the countries (on the real partner table, not the
    developer's); ``deps OUT`` writes the fragment."""
    code = (
        "from analysis import partners\n"
        "for argv in (['slug'], ['slug', '5800'], ['code', 'South Korea'], ['name', '5880'],"
        " ['list', '2012-03']):\n"
        "    assert partners.main(argv) == 0\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "ANALYSIS_ROOT": str(real_root), "ANALYSIS_PARTNER": "Japan"},
        capture_output=True,
        text=True,
        check=True,
    )
    out = proc.stdout.splitlines()
    assert out[:4] == ["japan", "korea-south", "5800", "Japan"]
    assert "korea-south" in out[4:] and "canada" in out[4:]
    monkeypatch.chdir(config.ROOT)
    target = tmp_path / "deps.mk"
    assert deps.main([str(target)]) == 0
    assert "DEPS_02_trends := " in target.read_text()


ENTRY_POINTS = [
    "analysis.partners",
    "analysis.params",
    "analysis.pipeline.deps",
    "analysis.pipeline.stamps",
    "analysis.pipeline.run_notebook",
    "analysis.report.publish",
    "analysis.clean.table",
    "analysis.clean.products",
    "analysis.clean.revisions",
    "analysis.sources.acquire",
    "analysis.sources.census_api_client",
    "analysis.sources.rules",
    "analysis.report.pages",
    "analysis.report.pagecheck",
    "analysis.report.bundle",
    "analysis.pipeline.batch",
]


#: Modules run with ``python -m`` whose command line is another program's, passed through.
PASSED_THROUGH = {"analysis.pipeline.lab": "jupyter lab's own options"}
#: Modules whose ``main`` is the shared error handling, not a command.
NOT_COMMANDS = {"analysis.cli"}


def test_every_module_run_as_a_command_is_checked() -> None:
    """The list below is every module of the package with a ``__main__`` block."""
    found = {
        ".".join(p.relative_to(SRC).with_suffix("").parts)
        for p in (SRC / "analysis").rglob("*.py")
        if 'if __name__ == "__main__"' in p.read_text(encoding="utf-8")
    }
    assert found - NOT_COMMANDS - set(PASSED_THROUGH) == set(ENTRY_POINTS)


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_every_entry_point_has_help_and_one_line_usage_errors(module: str, tmp_path: Path):
    helped = _run(module, "--help", cwd=tmp_path)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: python -m "), helped
    proc = _run(module, "--no-such-option", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: python -m "), proc
    assert "unrecognized arguments: --no-such-option" in proc.stderr or "required" in proc.stderr
    assert not list(tmp_path.iterdir())
