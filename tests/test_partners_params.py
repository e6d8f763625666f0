"""Partner look-up and run-parameter validation (fast, no data needed)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from analysis import params, partners
from analysis.errors import ParameterError


def _table(tmp_path: Path) -> Path:
    rows = [
        (
            15,
            "World, Not Seasonally Adjusted",
            "world-not-seasonally-adjusted",
            True,
            "1985-01",
            "2024-06",
            474,
            474,
        ),
        (5520, "Vietnam", "vietnam", False, "1992-01", "2024-06", 390, 380),
        (5790, "Korea, North", "korea-north", False, "1985-01", "2024-06", 474, 40),
        (5800, "Korea, South", "korea-south", False, "1985-01", "2024-06", 474, 474),
        (5880, "Japan", "japan", False, "1985-01", "2024-06", 474, 474),
    ]
    path = tmp_path / "partners.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(partners.PARTNER_COLUMNS)
        w.writerows(rows)
    return path


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Korea, South", "korea-south"),
        ("World, Not Seasonally Adjusted", "world-not-seasonally-adjusted"),
        ("Côte d'Ivoire", "cote-d-ivoire"),
        ("  Japan ", "japan"),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert partners.slugify(name) == slug


def test_resolve_by_code_name_and_slug(tmp_path: Path) -> None:
    table = partners.load_partners(_table(tmp_path))
    assert partners.resolve("5880", table).name == "Japan"
    assert partners.resolve("japan", table).code == 5880
    assert partners.resolve("JAPAN", table).code == 5880
    assert partners.resolve("korea-south", table).code == 5800
    assert partners.resolve("0015", table).code == 15


def test_unknown_partner_suggests_closest(tmp_path: Path) -> None:
    table = partners.load_partners(_table(tmp_path))
    with pytest.raises(ParameterError, match=r"closest: Japan \(5880\)"):
        partners.resolve("Japn", table)
    with pytest.raises(ParameterError) as err:
        partners.resolve("Korea", table)
    assert "Korea, South (5800)" in str(err.value) and "Korea, North (5790)" in str(err.value)
    with pytest.raises(ParameterError, match="no Census partner has this code"):
        partners.resolve("9999", table)


def test_params_validation(tmp_path: Path) -> None:
    table = partners.load_partners(_table(tmp_path))
    korea = partners.resolve(5800, table)
    p = params.build_params(korea, "2000-01", "", ["2012-03", "2019-01"])
    assert p == {
        "partner": "5800",
        "start": "2000-01",
        "end": "",
        "breaks": ["2012-03", "2019-01"],
        "forecast_model": "sarimax",
        "train_end": "2012-02",
    }
    assert params.build_params(korea, "2000-01", "", ["2012-03"], "ets")["forecast_model"] == "ets"
    with pytest.raises(ParameterError, match="FORECAST='arima'"):
        params.build_params(korea, "2000-01", "", ["2012-03"], "arima")
    vietnam = partners.resolve("vietnam", table)
    assert params.build_params(vietnam, "1985-01", "", ["2012-03"])["start"] == "1992-01"
    bad = [
        (("2000-01", "1999-12", ["2012-03"]), "before START"),
        (("2000-01", "", ["2030-01"]), "outside the data window"),
        (("2000-01", "", ["2012-13"]), "YYYY-MM"),
        (("2000-01", "2010-12", ["2012-03"]), "outside the data window"),
        (("2000-01", "", ["2019-01", "2012-03"]), "increasing order"),
        (("2025-01", "", ["2012-03"]), "after the last month"),
    ]
    for args, msg in bad:
        with pytest.raises(ParameterError, match=msg):
            params.build_params(korea, *args)


def test_previous_month() -> None:
    assert params.previous_month("2012-03") == "2012-02"
    assert params.previous_month("2019-01") == "2018-12"


def test_params_file_rewritten_only_on_change(tmp_path: Path) -> None:
    path = tmp_path / "params.json"
    p = {"partner": "5800", "breaks": ["2012-03"]}
    assert params.write_if_changed(path, p) is True
    assert json.loads(path.read_text()) == p
    assert params.write_if_changed(path, p) is False
    assert params.write_if_changed(path, {**p, "start": "2001-01"}) is True


def test_partners_cli_unknown_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(partners.config, "PARTNERS_CSV", _table(tmp_path))
    monkeypatch.setattr(partners.load_partners, "__defaults__", (_table(tmp_path),))
    assert partners.main(["slug", "Japan"]) == 0
    assert capsys.readouterr().out.strip() == "japan"
    assert partners.main(["slug", "Jpan"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: partner 'Jpan': unknown; closest: Japan")


def test_forecast_models_agree_with_the_models_module() -> None:
    from analysis.models import counterfactual

    assert params.FORECAST_MODELS == tuple(counterfactual.FITTERS)


def test_a_partner_named_like_a_site_folder_gets_a_suffixed_slug(tmp_path: Path) -> None:
    """A partner renamed ``Korus`` (or ``Vintages``, ``Index``...) in a new vintage must not
    write its report into the site's own ``reports/korus/``: its slug gets its code."""
    import pandas as pd

    from analysis.clean.table import partner_table

    rows = []
    for code, name in (
        (5800, "Korus"),
        (5880, "Vintages"),
        (4120, "Data Quality"),
        (5700, "China"),
    ):
        for d in pd.date_range("2000-01-01", periods=2, freq="MS"):
            rows.append(
                {
                    "date": d,
                    "partner_code": code,
                    "partner": name,
                    "is_aggregate": False,
                    "exports": 1.0,
                    "imports": 1.0,
                }
            )
    table = partner_table(pd.DataFrame(rows))
    slugs = dict(zip(table["partner_code"], table["slug"], strict=True))
    assert slugs == {
        4120: "data-quality-4120",
        5700: "china",
        5800: "korus-5800",
        5880: "vintages-5880",
    }
    for reserved in ("korus", "index", "vintages", "assets", "claims", "figures", "agreements"):
        assert reserved in partners.RESERVED_SLUGS
