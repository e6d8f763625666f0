"""Agreement and event dates are data (``data/external/``), read in one place, and each partner
uses its own: default breaks, the events its charts mark, the descriptive report without an
agreement, and the parameters a report keeps across ``make all``."""

from __future__ import annotations

import ast
import csv
import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import config, external, params, partners
from analysis.errors import DataError, ParameterError
from analysis.models import sectors as sec
from analysis.models.run import run_models
from analysis.report import landing, sectors, text

SRC = Path(__file__).resolve().parents[1] / "src"
MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"

#: Census code, name, first and last month of data (as in ``partners.csv``).
PARTNERS = [
    (5800, "Korea, South", "1985-01", "2024-06"),
    (3010, "Colombia", "1985-01", "2024-06"),
    (2010, "Mexico", "1985-01", "2024-06"),
    (5880, "Japan", "1985-01", "2024-06"),
    (5081, "Israel", "1985-01", "2024-06"),
    (1220, "Canada", "1985-01", "2024-06"),
]


@pytest.fixture
def table(tmp_path: Path) -> list[partners.Partner]:
    path = tmp_path / "partners.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(partners.PARTNER_COLUMNS)
        for code, name, first, last in PARTNERS:
            w.writerow((code, name, partners.slugify(name), False, first, last, 474, 474))
    return partners.load_partners(path)


def _defaults(who: partners.Partner, **given: str) -> dict:
    return params.build_params(
        who, given.get("start", ""), given.get("end", ""), given.get("breaks", []), ""
    )


# ---- each partner's own dates ------------------------------------------------------------------


def test_each_partner_gets_its_own_agreement_dates_by_default(table) -> None:
    """Colombia and Mexico got KORUS's 2012-03,2019-01 (params.py defaulted to 2012-03 alone)."""
    korea, colombia, mexico, japan, israel, canada = (
        partners.resolve(c, table) for c, *_ in PARTNERS
    )
    k = _defaults(korea)
    assert (k["start"], k["breaks"], k["train_end"]) == (
        "2000-01",
        ["2012-03", "2019-01"],
        "2012-02",
    )
    assert k["forecast_model"] == "sarimax"
    assert _defaults(colombia)["breaks"] == ["2012-05"]
    # Mexico: NAFTA (1994-01) needs 36 months before it: the default start moves back to 1991-01.
    m = _defaults(mexico)
    assert (m["start"], m["breaks"]) == ("1991-01", ["1994-01", "2020-07"])
    # ... unless START is given: then NAFTA, too early for the window, is left out.
    assert _defaults(mexico, start="2000-01")["breaks"] == ["2020-07"]
    note = params.default_window(mexico.code, first="1985-01", last="2024-06", start="2000-01").note
    assert "NAFTA in force (1994-01): fewer than 36 months before it" in note
    assert (_defaults(canada)["start"], _defaults(canada)["breaks"]) == (
        "1986-01",
        ["1989-01", "1994-01", "2020-07"],
    )
    # No agreement (Japan), or one the data cannot frame (Israel, 1985-09): a descriptive report.
    for who in (japan, israel):
        p = _defaults(who)
        assert (p["breaks"], p["train_end"], p["start"]) == ([], "", "2000-01")
    window = params.default_window(japan.code, first="1985-01", last="2024-06")
    assert window.breaks == [] and "no U.S. free trade agreement" in window.note
    # Given breaks always win.
    assert _defaults(japan, breaks=["2019-01"])["breaks"] == ["2019-01"]


def test_a_break_needs_months_after_it(table) -> None:
    colombia = partners.resolve(3010, table)
    window = params.default_window(colombia.code, first="1985-01", last="2013-01")
    assert window.breaks == [] and "fewer than 12 months after it" in window.note


def test_notebook_breaks_default_to_the_agreement_months() -> None:
    assert params.breaks_or_default([], 5800, first="2000-01", last="2024-06") == [
        "2012-03",
        "2019-01",
    ]
    assert params.breaks_or_default([], 5880, first="2000-01", last="2024-06") == []
    assert params.breaks_or_default("2010-01", 5880, first="2000-01", last="2024-06") == ["2010-01"]


def test_notebooks_about_one_agreement_default_to_its_entry_into_force() -> None:
    assert external.entry_month(5800) == "2012-03" and external.entry_year(5800) == "2012"
    assert external.entry_month(5800, "2010-01") == "2010-01"
    assert external.entry_year(2010) == "1994" and external.entry_year(2010, "2000") == "2000"
    with pytest.raises(ParameterError, match="partner 5880: no agreement in us_ftas.csv"):
        external.entry_month(5880)


def test_a_partner_without_breaks_gets_the_descriptive_report() -> None:
    rng = np.random.default_rng(3)
    idx = pd.date_range("2000-01-01", periods=120, freq="MS")
    ex = pd.Series(np.exp(6 + 0.002 * np.arange(120) + rng.normal(0, 0.05, 120)), idx)
    im = pd.Series(np.exp(6.2 + 0.002 * np.arange(120) + rng.normal(0, 0.05, 120)), idx)
    monthly = pd.DataFrame({"exports": ex, "imports": im, "balance": ex - im})
    run = run_models(monthly, breaks=[], n_boot=9, n_sim=20)
    assert run.its == {} and run.its_crisis == {} and run.counterfactuals == {}
    assert run.searches == {} and set(run.skipped) == {"breaks"}
    assert run.params["breaks"] == [] and run.params["train_end"] == ""
    assert "exports_sa" in run.sa
    note = text.skipped_note(run, 5880, "Japan")
    assert note.count("\n") == 0 and note.startswith("**Descriptive report:** Japan has no free")
    assert "Skipped:" not in note
    israel = text.skipped_note(run, 5081, "Israel")
    assert "Israel FTA in force (1985-09)" in israel and "too little data" in israel


# ---- events: data, validated, filtered by scope ------------------------------------------------


def _event(day: str, scope: int | None, label: str, kind: str = "trade_policy") -> external.Event:
    return external.Event(dt.date.fromisoformat(day), scope, label, kind, "https://example.gov/")


def test_events_are_filtered_by_scope() -> None:
    events = [
        _event("2007-06-30", 5800, "KORUS signed", "signing"),
        _event("2018-03-01", 5800, "Renegotiation; §232 steel tariffs"),
        _event("2018-03-23", None, "§232 tariffs"),
        _event("2020-03-01", None, "Pandemic", "shock"),
        _event("2006-11-22", 3010, "Colombia signed", "signing"),
    ]
    assert [e.label for e in external.events_in_scope(3010, events)] == [
        "Colombia signed",
        "§232 tariffs",
        "Pandemic",
    ]
    # Korea's own wording of the shared March 2018 event replaces it.
    assert [e.label for e in external.events_in_scope(5800, events)] == [
        "KORUS signed",
        "Renegotiation; §232 steel tariffs",
        "Pandemic",
    ]
    assert [e.label for e in external.events_in_scope(5880, events)] == ["§232 tariffs", "Pandemic"]


def test_the_committed_event_table_is_valid_and_cited() -> None:
    events = external.load_events()
    assert events == sorted(events, key=lambda e: e.date)
    assert all(e.source.startswith("https://") and e.label for e in events)
    korea = [e.label for e in external.events_in_scope(5800, events)]
    assert korea == ["KORUS signed", "Renegotiation; §232 steel tariffs", "Pandemic"]
    for code in (3010, 2010, 5880):
        assert not any("KORUS" in e.label for e in external.events_in_scope(code, events))


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(["date,scope,label,kind,source", *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (
            "2018-13-01,all,X,shock,https://a.gov/",
            "row 3: date is not a YYYY-MM-DD date: '2018-13-01'",
        ),
        ("2018/03/01,all,X,shock,https://a.gov/", "row 3: date is not a YYYY-MM-DD date"),
        ("2018-03-01,Korea,X,shock,https://a.gov/", "row 3: scope is not an integer: 'Korea'"),
        ("2018-03-01,all,X,party,https://a.gov/", "row 3: kind 'party' is not one of"),
        ("2018-03-01,all,,shock,https://a.gov/", "row 3: empty label"),
        ("2018-03-01,all,X,shock,www.a.gov", "row 3: source is not an https:// address"),
        ("2018-03-01,all,X,shock", "row 3: 4 fields, expected 5"),
    ],
)
def test_bad_event_rows_fail_in_one_line_naming_file_and_row(
    tmp_path: Path, row: str, problem: str
) -> None:
    path = _write(tmp_path / "events.csv", ["2020-03-01,all,Pandemic,shock,https://who.int/", row])
    with pytest.raises(DataError) as err:
        external.load_events(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {problem}") and "\n" not in message


def test_event_table_columns_and_presence(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="event table not found"):
        external.load_events(tmp_path / "none.csv")
    bad = tmp_path / "cols.csv"
    bad.write_text("date,label\n2020-03-01,x\n", encoding="utf-8")
    with pytest.raises(DataError, match="columns"):
        external.load_events(bad)


def test_agreement_dates_and_names_come_from_us_ftas() -> None:
    korea = external.agreement_for(5800)
    assert korea is not None and korea.short_name == "KORUS"
    assert [(d.month, d.label, d.phrase) for d in korea.dates()] == [
        ("2012-03", "KORUS in force", "KORUS in force"),
        ("2019-01", "Revised KORUS in force", "the revised KORUS"),
    ]
    assert [d.label for d in external.partner_dates(2010)] == ["NAFTA in force", "USMCA in force"]
    assert [d.label for d in external.partner_dates(3010)] == ["U.S.-Colombia TPA in force"]
    assert external.partner_dates(5880) == []


# ---- pages name the partner's own agreement --------------------------------------------------


def test_landing_names_each_partner_by_its_own_agreement() -> None:
    korea = {"partner_code": 5800, "params": {"breaks": ["2012-03", "2019-01"]}}
    assert landing.breaks_heading(korea) == (
        "Changes in level and trend at KORUS in force (Mar 2012) and the revised KORUS (Jan 2019)"
    )
    colombia = {"partner_code": 3010, "params": {"breaks": ["2012-03"]}}
    assert landing.breaks_heading(colombia) == "Changes in level and trend at Mar 2012"
    mexico = {"partner_code": 2010, "params": {"breaks": ["1994-01", "2020-07"]}}
    assert landing.breaks_heading(mexico) == (
        "Changes in level and trend at NAFTA in force (Jan 1994) and USMCA in force (Jul 2020)"
    )


def test_sectors_page_speaks_of_the_partners_own_agreement() -> None:
    rows = [
        {
            "date": pd.Timestamp(f"2023-{m:02d}-01"),
            "partner_code": code,
            "flow": "imports",
            "level": "HS2",
            "hs_code": "87",
            "description": "Vehicles",
            "value": 10.0,
            "source": "census-api",
        }
        for code in (3010, 5800, 5880)
        for m in range(1, 13)
    ]
    products = pd.DataFrame(rows)
    colombia = sec.coverage(products, 3010)
    for line in (
        sectors.agreement_dates_text(colombia, 3010),
        sectors.coverage_text(colombia, "Colombia", 3010),
    ):
        assert "KORUS" not in line
    assert "Colombia TPA in force (2012-05)" in sectors.agreement_dates_text(colombia, 3010)
    assert "still starts after U.S.\\-Colombia TPA took effect (2012-05)" in sectors.coverage_text(
        colombia, "Colombia", 3010
    )
    korea_cov = sec.coverage(products, 5800)
    assert "still starts after KORUS took effect (2012-03)." in sectors.coverage_text(
        korea_cov, "Korea, South", 5800
    )
    korea = sectors.agreement_dates_text(korea_cov, 5800)
    assert "KORUS in force (2012-03) and Revised KORUS in force (2019-01)" in korea
    assert sectors.agreement_dates_text(sec.coverage(products, 5880), 5880) == ""


# ---- the dates live in data only ---------------------------------------------------------------

#: The KORUS dates that were written into eight modules and the Makefile.
KORUS_LITERALS = re.compile(r"2012-03|2019-01|2012, ?3\b|2007-06-30")


def _code_without_docstrings(path: Path) -> str:
    """A module's code with comments and docstrings removed (what it computes with)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body[0] = ast.Pass()
    return ast.unparse(tree)


def test_no_module_or_the_makefile_repeats_the_agreement_dates() -> None:
    found = []
    for path in sorted(SRC.rglob("*")):
        if path.suffix == ".py":
            code = _code_without_docstrings(path)
        elif path.is_file() and path.suffix in {".j2", ".css", ".json", ".tpl"}:
            code = path.read_text(encoding="utf-8")
        else:
            continue
        found += [f"{path.name}: {m}" for m in KORUS_LITERALS.findall(code)]
    for n, line in enumerate(MAKEFILE.read_text(encoding="utf-8").splitlines(), start=1):
        code = line.split("#", 1)[0]
        found += [f"Makefile:{n}: {m}" for m in KORUS_LITERALS.findall(code)]
    assert found == []


def test_one_reader_of_the_fta_table() -> None:
    """``synth.fta_partners`` read us_ftas.csv with its own unvalidated pandas reader: only
    :mod:`analysis.external` names the files as paths (``"us_ftas.csv"``, ``"events.csv"``)."""
    readers = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
        if names & {"us_ftas.csv", "events.csv"}:
            readers.append(path.name)
    assert readers == ["external.py"]


# ---- a report keeps its parameters -------------------------------------------------------------


def test_make_all_keeps_a_reports_parameters_and_make_report_resets_them(
    table, tmp_path: Path
) -> None:
    """``make report BREAKS=2012-03`` then ``make all`` silently restored two breaks."""
    korea = partners.resolve(5800, table)
    path = tmp_path / "params.json"
    # make report BREAKS=2012-03
    chosen, lines = params.report_params(path, korea, breaks="2012-03")
    params.write_if_changed(path, chosen)
    assert chosen["breaks"] == ["2012-03"] and lines == []
    # make all: no parameter, --keep: the report keeps what it was built with
    kept, lines = params.report_params(path, korea, keep=True)
    assert kept == chosen and lines == []
    assert params.write_if_changed(path, kept) is False
    # make all BREAKS=2010-01: given parameters still apply
    given, _ = params.report_params(path, korea, breaks="2010-01", keep=True)
    assert given["breaks"] == ["2010-01"]
    # make report: back to the defaults, said in one line
    back, lines = params.report_params(path, korea)
    assert back["breaks"] == ["2012-03", "2019-01"]
    assert lines == [
        "note: Korea, South: parameters back to the defaults (START=2000-01 "
        "BREAKS=2012-03,2019-01 FORECAST=sarimax); the previous report used START=2000-01 "
        "BREAKS=2012-03 FORECAST=sarimax"
    ]
    params.write_if_changed(path, back)
    assert params.report_params(path, korea)[1] == []  # already the defaults: nothing to say
    # a new report (no file yet) with --keep gets the defaults; a descriptive one says why
    fresh, lines = params.report_params(
        tmp_path / "new.json", partners.resolve(5880, table), keep=True
    )
    assert fresh["breaks"] == [] and len(lines) == 1 and "no U.S. free trade agreement" in lines[0]


def test_params_cli_keep(table, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(partners, "load_partners", lambda path=None: table)
    for name in ("START", "END", "BREAKS", "FORECAST"):
        monkeypatch.setenv(f"ANALYSIS_{name}", "")
    path = tmp_path / "korea-south" / "params.json"
    assert params.main([str(path), "--partner", "5800", "--breaks", "2012-03"]) == 0
    assert params.main([str(path), "--partner", "5800", "--keep"]) == 0
    assert json.loads(path.read_text())["breaks"] == ["2012-03"]
    capsys.readouterr()
    assert params.main([str(path), "--partner", "5800"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith(
        "note: Korea, South: parameters back to the defaults"
    )
    assert json.loads(path.read_text())["breaks"] == ["2012-03", "2019-01"]


def test_makefile_leaves_the_defaults_to_the_partner() -> None:
    make = MAKEFILE.read_text(encoding="utf-8")
    for name in ("START", "BREAKS", "FORECAST"):
        assert re.search(rf"^{name}\s*\?=\s*$", make, re.M), name
    assert "report KEEP_PARAMS=1" in make and "$(if $(value KEEP_PARAMS),--keep)" in make
    assert config.DEFAULT_PARTNER == 5800


def test_all_partners_lists_around_the_default_partners_entry_into_force(
    table, monkeypatch, capsys
) -> None:
    """``python -m analysis.partners list`` took its month from a typed default of BREAKS."""
    short = partners.Partner(3370, "Chile", "chile", False, "2010-01", "2024-06", 174, 174)
    monkeypatch.setattr(partners, "load_partners", lambda path=None: [*table, short])
    monkeypatch.setattr(partners, "existing_folders", lambda reports_dir=None: {})
    monkeypatch.setenv("ANALYSIS_BREAKS", "")
    monkeypatch.delenv("ANALYSIS_PARTNERS", raising=False)
    assert partners.main(["list"]) == 0
    listed = capsys.readouterr().out.split()
    assert "korea-south" in listed and "chile" not in listed  # Chile's data start 2010-01
    monkeypatch.setenv("ANALYSIS_BREAKS", "2014-01")
    assert partners.main(["list"]) == 0
    assert "chile" in capsys.readouterr().out.split()


def test_all_partners_can_be_given_the_partners_to_build(table, monkeypatch, capsys, tmp_path):
    """``make all-partners PARTNERS='...'`` (``ANALYSIS_PARTNERS``): those report folders only,
    in the order given, each checked against the partner table (a renamed partner keeps the
    folder it has); a name that is no partner's folder is one line and exit 2."""
    monkeypatch.setattr(partners, "load_partners", lambda path=None: list(table))
    monkeypatch.setattr(config, "REPORTS_DIR", tmp_path)
    (tmp_path / "korea-old-name").mkdir()
    (tmp_path / "korea-old-name" / "params.json").write_text('{"partner": "5800"}')
    monkeypatch.setenv("ANALYSIS_PARTNERS", " japan  korea-old-name japan ")
    assert partners.main(["list"]) == 0
    assert capsys.readouterr().out.split() == ["japan", "korea-old-name"]
    monkeypatch.setenv("ANALYSIS_PARTNERS", "japan korea-south")  # Korea's folder is the old one
    assert partners.main(["list"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: PARTNERS: 'korea-south' is no partner's report folder "
        "(python -m analysis.partners slug NAME prints a partner's)"
    ]
