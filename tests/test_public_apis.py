"""Other libraries through their public APIs: a figure's title by ``get_suptitle()``, pandas
Styler ids fixed by ``uuid`` (no regex over the page), pyfixest's covariance read in one
checked place, and nbconvert's failures on a readable notebook shown as the bugs they are."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis.errors import DataError  # noqa: E402
from analysis.report import publish, saving  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"


def test_no_private_attribute_of_another_library_outside_its_one_checked_reader() -> None:
    """``fig._suptitle``, Styler-id rewriting and ``._vcov`` are gone, except the one pyfixest
    accessor (event_study.fit_vcov, which checks it against the public standard errors)."""
    hits = []
    for path in sorted(SRC.rglob("*.py")):
        function = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            if m := re.match(r"def (\w+)", line):
                function = m.group(1)
            if re.search(r"\._suptitle\b|_STYLER_ID|stable_styler_ids|\._vcov\b", line):
                hits.append(f"{path.relative_to(SRC)}:{function}")
    assert hits == ["analysis/models/event_study.py:fit_vcov"], hits


def test_figure_description_reads_the_title_through_get_suptitle(monkeypatch) -> None:
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    ax.set_ylabel("US$ billions")
    fig.suptitle("U.S. goods trade with Japan")
    assert saving.describe_figure(fig).startswith("U.S. goods trade with Japan. Panel 1:")
    # the public getter is what is read (a title held elsewhere than matplotlib's private slot)
    monkeypatch.setattr(fig, "get_suptitle", lambda: "Through the public getter")
    assert saving.describe_figure(fig).startswith("Through the public getter.")
    plt.close(fig)
    bare, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    assert not saving.describe_figure(bare).startswith(".")
    plt.close(bare)


_TABLES = """
import pandas as pd
from analysis.report import markup
a = markup.table(pd.DataFrame({"x": [1.5, -2.0], "name": ["a", "b"]}))
b = markup.table(pd.DataFrame({"y": [3.25]}))
print(a.to_html() + b.to_html())
"""


def test_styler_tables_get_fixed_ids_without_rewriting_the_page() -> None:
    """Two runs (fresh processes, as two notebook runs) give byte-identical tables, each table
    with its own id ``T_table<digest>``, and publish no longer rewrites ids."""

    def render() -> str:
        proc = subprocess.run(
            [sys.executable, "-c", _TABLES],
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    first, second = render(), render()
    assert first == second
    ids = set(re.findall(r'<table id="(T_table[0-9a-f]{12})">', first))
    assert len(ids) == 2  # each table its own id
    assert set(re.findall(r'id="(T_[A-Za-z0-9]+)[_"]', first)) == ids
    assert not hasattr(publish, "stable_styler_ids")


def test_a_table_id_does_not_depend_on_the_tables_made_before_it() -> None:
    """The partner batch makes many pages in one process: a table's id is the same whether
    other tables were made first or not (a count of tables made gave another id)."""
    from analysis.report import markup

    df = pd.DataFrame({"Year": [2011, 2012], "Value": [1.5, -2.0]})
    alone = markup.table(df).to_html()
    for _ in range(3):
        markup.table(pd.DataFrame({"x": [1]})).to_html()
    assert markup.table(df).to_html() == alone


def test_fit_vcov_is_the_public_standard_errors_and_their_covariances() -> None:
    import pyfixest as pf

    from analysis.models import event_study as es

    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame(
        {
            "g": np.repeat(np.arange(20), n // 20),
            "t": np.tile(np.arange(n // 20), 20),
            "a": rng.normal(size=n),
        }
    )
    df["b"] = 0.6 * df["a"] + rng.normal(size=n)
    df["y"] = 1.0 + 0.5 * df["a"] - 0.25 * df["b"] + rng.normal(size=n)
    with es._quiet():
        fit = pf.feols("y ~ a + b | g + t", data=df, vcov={"CRV1": "g"})
    v = es.fit_vcov(fit, ["b", "a"])
    assert np.allclose(np.sqrt(np.diag(v)), fit.se()[["b", "a"]].to_numpy())
    assert v[0, 1] == pytest.approx(v[1, 0]) and v[0, 1] < 0  # a, b correlate positively
    # the full matrix agrees with pyfixest's own (public) Wald test of both coefficients
    with es._quiet():
        wald = fit.wald_test(R=np.eye(2), distribution="chi2")
    beta = fit.coef()[["b", "a"]].to_numpy()
    assert float(beta @ np.linalg.solve(v, beta)) == pytest.approx(wald["statistic"], rel=1e-9)


def _notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A page"), nbformat.v4.new_code_cell("1")]
    nbformat.write(nb, path)
    return path


def test_an_nbconvert_failure_is_a_bug_with_its_traceback(tmp_path: Path, monkeypatch) -> None:
    ipynb = _notebook(tmp_path / "page.ipynb")

    class Broken:
        def from_notebook_node(self, nb, resources=None):
            raise KeyError("a template bug")

    monkeypatch.setattr(publish, "_exporter", lambda: Broken())
    with pytest.raises(KeyError, match="a template bug"):
        publish.export_notebook(ipynb, tmp_path / "page.html")
    with pytest.raises(KeyError):  # the command line does not turn it into a user error
        publish.main(["notebook", str(ipynb), str(tmp_path / "page.html")])
    assert not (tmp_path / "page.html").exists()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (None, "no such notebook"),
        ("{not json", "not a readable notebook (NotJSONError)"),
        ('{"nbformat": 4, "nbformat_minor": 5, "cells": 3, "metadata": {}}', "not a readable"),
        ("[]", "not a readable notebook"),
        ("{}", "not a readable notebook"),
    ],
)
def test_a_bad_notebook_is_still_one_line(tmp_path: Path, text: str | None, problem: str) -> None:
    ipynb = tmp_path / "bad.ipynb"
    if text is not None:
        ipynb.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(problem)):
        publish.export_notebook(ipynb, tmp_path / "x.html")
    proc = subprocess.run(
        [sys.executable, "-m", "analysis.report.publish", "notebook", str(ipynb), "x.html"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")
    assert problem in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.html").exists()
