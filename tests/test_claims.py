"""analysis.claims.check: the tolerance rule, the claims file, the computations and the evaluation."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import config
from analysis.claims import check as cl
from analysis.claims import view
from analysis.errors import DataError, ParameterError

CLAIMS_FILE = config.EXTERNAL_DIR / "claims.csv"


# ---- verdict ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stated", "computed", "rounding", "comparison", "expected"),
    [
        (13.2, 13.2, 0.1, "eq", "supported"),  # exact
        (13.2, 13.1997, 0.1, "eq", "supported"),
        (13.2, 13.25, 0.1, "eq", "supported"),  # edge: half a unit above counts
        (13.2, 13.15, 0.1, "eq", "supported"),  # edge: half a unit below counts
        (13.2, 13.2501, 0.1, "eq", "contradicted"),
        (13.2, 13.1499, 0.1, "eq", "contradicted"),
        (2.7, 2.907, 0.1, "eq", "contradicted"),
        (-24.8, -24.7678, 0.1, "eq", "supported"),
        (70, 70.49, 1, "eq", "supported"),
        (70, 70.51, 1, "eq", "contradicted"),
        (80, 80.01, 1, "gt", "supported"),
        (80, 80.0, 1, "gt", "contradicted"),  # strict
        (80, 78.99, 1, "gt", "contradicted"),
        (0, -2.76, 0.1, "lt", "supported"),
        (0, 0.0, 0.1, "lt", "contradicted"),
        (0, 0.0, 0.1, "le", "supported"),
        (0, 0.0, 0.1, "ge", "supported"),
        (40, 36.0, 1, "approx", "supported"),  # -10 % is inside the band
        (40, 35.9, 1, "approx", "contradicted"),
        (40, 44.0, 1, "approx", "supported"),
        (40, 44.1, 1, "approx", "contradicted"),
        (13.2, None, 0.1, "eq", "not_checkable"),
        (13.2, float("nan"), 0.1, "gt", "not_checkable"),
    ],
)
def test_verdict(stated, computed, rounding, comparison, expected) -> None:
    assert cl.verdict(stated, computed, rounding, comparison) == expected


def test_verdict_unknown_comparison() -> None:
    with pytest.raises(ParameterError, match="comparison 'about'"):
        cl.verdict(1, 1, 1, "about")


def test_rule_text_mentions_every_comparison_and_band() -> None:
    # Issue 14: the page shows readable labels ('not checkable'), not the CSV's not_checkable.
    for word in ("'eq'", "'gt'", "'lt'", "'approx'", "'not checkable'", "10%"):
        assert word in cl.RULE_TEXT


# ---- the committed claims file ---------------------------------------------------------------


def test_claims_file_parses_with_required_ids() -> None:
    claims = cl.load_claims(CLAIMS_FILE)
    assert set(cl.REQUIRED_IDS) <= set(claims["id"])
    assert claims["id"].is_unique
    assert len(claims) >= 30
    for text in claims["computation"]:
        name, _ = cl.parse_computation(text)
        assert name in cl.COMPUTATIONS
    assert claims["stated"].dtype.kind == "f"
    # claims are in our own words with a section heading from the report
    assert (claims["section"].str.len() > 5).all()
    assert set(claims.loc[claims["id"].isin(["deficit_2011", "deficit_2015"]), "section"]) == {
        "The Trump Administration and KORUS FTA Renegotiation"
    }


def test_claims_file_has_no_typed_computed_values() -> None:
    """Every claim that is checked gets its number from a computation, not from the file."""
    claims = cl.load_claims(CLAIMS_FILE)
    checked = claims[claims["source"] != "none"]
    assert (checked["computation"] != "none()").all()
    unchecked = claims[claims["source"] == "none"]
    assert (unchecked["computation"] == "none()").all()
    assert unchecked["note"].str.contains("Not checkable").all()


def test_every_claim_gets_a_verdict(trade: pd.DataFrame, wdi: pd.DataFrame) -> None:
    claims = cl.load_claims(CLAIMS_FILE)
    ctx = cl.ClaimsContext(trade=trade, wdi=wdi, unavailable={"reference": "no reference folder"})
    results = cl.evaluate(claims, ctx)
    assert list(results.columns) == list(cl.RESULT_COLUMNS)
    assert list(results["id"]) == list(claims["id"])
    assert set(results["verdict"]) <= set(cl.VERDICTS)
    steel = results.set_index("id").loc["steel_quota_70pct"]
    assert steel["verdict"] == "not_checkable" and "no reference folder" in steel["note"]


# ---- load_claims errors ----------------------------------------------------------------------

GOOD_ROW = {
    "id": "x_2011",
    "claim": "A claim.",
    "section": "Some Section",
    "stated": "13.2",
    "unit": "USD bn",
    "rounding": "0.1",
    "comparison": "eq",
    "source": "census",
    "computation": "census_annual(partner=5800, year=2011, flow=balance, scale=-0.001)",
    "note": "",
}


def write_claims(path: Path, rows: list[dict[str, str]], columns=cl.CLAIM_COLUMNS) -> Path:
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"computation": "census_total(partner=5800)"}, "not registered"),
        ({"computation": "census_annual(partner=5800, year=2011)"}, "needs flow"),
        (
            {"computation": "census_annual(partner=korea, year=2011, flow=balance)"},
            "not an integer",
        ),
        (
            {"computation": "census_annual(partner=5800, year=2011, flow=balance, colour=red)"},
            "no argument 'colour'",
        ),
        ({"computation": "census_annual partner=5800"}, "not of the form"),
        ({"comparison": "about"}, "comparison 'about'"),
        ({"stated": "13.2bn"}, "must be numbers"),
        ({"rounding": "0"}, "rounding > 0"),
        ({"source": "the internet"}, "source 'the internet'"),
        ({"source": "none"}, "source 'none' goes with computation none()"),
        ({"id": "Deficit 2011"}, "lower-case"),
    ],
)
def test_load_claims_rejects(tmp_path: Path, change: dict[str, str], message: str) -> None:
    path = write_claims(tmp_path / "claims.csv", [{**GOOD_ROW, **change}])
    with pytest.raises(DataError, match=message) as info:
        cl.load_claims(path)
    assert "\n" not in str(info.value) and "claims.csv" in str(info.value)


def test_load_claims_duplicate_ids_and_columns(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="more than once"):
        cl.load_claims(write_claims(tmp_path / "a.csv", [GOOD_ROW, GOOD_ROW]))
    cols = [c for c in cl.CLAIM_COLUMNS if c != "note"]
    with pytest.raises(DataError, match="columns must be"):
        cl.load_claims(write_claims(tmp_path / "b.csv", [GOOD_ROW], columns=cols))
    with pytest.raises(DataError, match="not found"):
        cl.load_claims(tmp_path / "missing.csv")
    ok = cl.load_claims(write_claims(tmp_path / "c.csv", [GOOD_ROW]))
    assert ok["stated"].iloc[0] == 13.2 and ok["rounding"].iloc[0] == 0.1


# ---- computations on synthetic data ----------------------------------------------------------


def synthetic_trade() -> pd.DataFrame:
    """Korea (5800) 2010-2013 complete, 2014 with three months; world (15).

    Monthly exports of Korea are 10, 11, 12, 9 (2010..2013) and imports 20, 25, 30, 26, so the
    annual balances are -120, -168, -216, -204 (US$ millions).
    """
    rows = []
    for year, x, m in (
        (2010, 10.0, 20.0),
        (2011, 11.0, 25.0),
        (2012, 12.0, 30.0),
        (2013, 9.0, 26.0),
        (2014, 50.0, 1.0),
    ):
        months = 3 if year == 2014 else 12
        for mo in range(1, months + 1):
            d = pd.Timestamp(year, mo, 1)
            rows.append((d, 15, "World, Not Seasonally Adjusted", True, 100.0, 200.0, -100.0))
            rows.append((d, 5800, "Korea, South", False, x, m, x - m))
    df = pd.DataFrame(rows, columns=list(config.TRADE_COLUMNS))
    return df.sort_values(["partner_code", "date"]).reset_index(drop=True)


def synthetic_wdi() -> pd.DataFrame:
    rows = []
    growth = {2013: 3.2, 2014: 3.2, 2015: 2.8, 2016: 2.9, 2017: 3.2, 2018: 2.7}
    for y, v in growth.items():
        rows.append(("NY.GDP.MKTP.KD.ZG", "GDP growth (annual %)", y, v))
    for y, v in {2017: 3.65, 2018: 3.82}.items():
        rows.append(("SL.UEM.TOTL.ZS", "Unemployment", y, v))
    rows.append(("TX.VAL.MRCH.CD.WT", "Merchandise exports (current US$)", 2011, 1_000_000_000.0))
    rows.append(("NE.TRD.GNFS.ZS", "Trade (% of GDP)", 2018, 81.0))
    return pd.DataFrame(rows, columns=["indicator_code", "indicator", "year", "value"])


@pytest.fixture()
def trade() -> pd.DataFrame:
    return synthetic_trade()


@pytest.fixture()
def wdi() -> pd.DataFrame:
    return synthetic_wdi()


@pytest.fixture()
def ctx(trade: pd.DataFrame, wdi: pd.DataFrame) -> cl.ClaimsContext:
    return cl.ClaimsContext(trade=trade, wdi=wdi)


def run(ctx: cl.ClaimsContext, text: str) -> cl.Computed:
    name, args = cl.parse_computation(text)
    return cl.COMPUTATIONS[name](ctx, **args)


def test_census_annual(ctx: cl.ClaimsContext) -> None:
    assert run(
        ctx, "census_annual(partner=5800, year=2011, flow=balance, scale=-0.001)"
    ).value == pytest.approx(0.168)
    assert run(ctx, "census_annual(partner=5800, year=2012, flow=exports)").value == pytest.approx(
        144.0
    )
    got = run(ctx, "census_annual(partner=5800, year=2011, flow=balance, scale=-1, later=true)")
    assert got.value == pytest.approx(168.0)
    assert (
        "2 of 2 exceed it" in got.detail and "2012" in got.detail
    )  # 216 is the largest later deficit
    partial = run(ctx, "census_annual(partner=5800, year=2014, flow=exports)")
    assert partial.value is None and "not a complete year" in partial.detail


def test_census_rank_and_pct_change(ctx: cl.ClaimsContext) -> None:
    rank = run(
        ctx, "census_rank(partner=5800, year=2012, flow=balance, start=2010, end=2013, scale=-1)"
    )
    assert rank.value == 1.0
    rank = run(
        ctx, "census_rank(partner=5800, year=2013, flow=balance, start=2010, end=2013, scale=-1)"
    )
    assert rank.value == 2.0
    asc = run(
        ctx, "census_rank(partner=5800, year=2010, flow=exports, start=2010, end=2013, order=asc)"
    )
    assert asc.value == 2.0  # 2013 (108) is smaller than 2010 (120)
    assert (
        run(ctx, "census_rank(partner=5800, year=2012, flow=balance, start=2010, end=2014)").value
        is None
    )
    pct = run(ctx, "census_pct_change(partner=5800, flow=exports, base=2011, year=2013)")
    assert pct.value == pytest.approx(100 * (108 / 132 - 1))
    assert "2012 +9.09 %" in pct.detail
    assert "2013 \u221218.18 %" in pct.detail  # a true minus: the note is shown on the page


def test_wdi_computations(ctx: cl.ClaimsContext) -> None:
    assert run(ctx, "wdi_value(indicator=NY.GDP.MKTP.KD.ZG, year=2018)").value == pytest.approx(2.7)
    assert run(ctx, "wdi_value(indicator=NY.GDP.MKTP.KD.ZG, year=1990)").value is None
    assert (
        run(ctx, "wdi_rank(indicator=NY.GDP.MKTP.KD.ZG, year=2018, start=2013, end=2018)").value
        == 1.0
    )
    assert (
        run(ctx, "wdi_rank(indicator=NY.GDP.MKTP.KD.ZG, year=2016, start=2013, end=2018)").value
        == 3.0
    )
    assert run(
        ctx, "wdi_min(indicator=NY.GDP.MKTP.KD.ZG, start=2013, end=2018)"
    ).value == pytest.approx(2.7)
    assert run(
        ctx, "wdi_change(indicator=SL.UEM.TOTL.ZS, base=2017, year=2018)"
    ).value == pytest.approx(0.17)


def test_export_share_us_part_is_not_checkable_with_the_us_part(ctx: cl.ClaimsContext) -> None:
    got = run(ctx, "export_share_us_part(partner=5800, year=2011)")
    # Census imports 2011 = 300 (US$ millions) over WDI exports of US$ 1 bn = 30 %
    assert got.value is None and "30.0 %" in got.detail


def test_stated_pct_change(ctx: cl.ClaimsContext) -> None:
    got = run(ctx, "stated_pct_change(start=3.23, end=2.43)")
    assert got.value == pytest.approx(-24.7678, abs=1e-4)
    assert cl.verdict(-24.8, got.value, 0.1, "eq") == "supported"


def test_reference_quota_share(tmp_path: Path, ctx: cl.ClaimsContext) -> None:
    (tmp_path / "steel.tsv").write_text(
        "# comment line\nyear\ttonnes_million\tsource_url\n2015\t4.0\tu\n2016\t3.0\tu\n2017\t2.0\tu\n"
        "2018_quota\t2.1\tu\n",
        encoding="utf-8",
    )
    ctx.reference_dir = tmp_path
    got = run(ctx, "reference_quota_share(file=steel.tsv, quota=2018_quota, start=2015, end=2017)")
    assert got.value == pytest.approx(70.0)
    missing = run(
        ctx, "reference_quota_share(file=other.tsv, quota=2018_quota, start=2015, end=2017)"
    )
    assert missing.value is None and "not found" in missing.detail


def test_reference_unavailable_reason(
    trade: pd.DataFrame, wdi: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "t.csv"
    trade.assign(date=trade["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    wdi_path = tmp_path / "wdi.csv"
    wdi_path.write_bytes(
        '\ufeff"Data Source","WDI",\n\n"Last Updated Date","2025-03-24",\n\n'
        '"Country Name","Country Code","Indicator Name","Indicator Code","2018",\n'
        '"Korea, Rep.","KOR","GDP growth","NY.GDP.MKTP.KD.ZG","2.9",\n'.encode()
    )
    ctx = cl.ClaimsContext.from_paths(path, wdi_path, None, tmp_path / "nope")
    assert "from the data mirror only" in ctx.unavailable["reference"]
    assert "does not exist" in ctx.unavailable["census-api"]
    got = run(ctx, "reference_quota_share(file=x.tsv, quota=q, start=2015, end=2017)")
    assert got.value is None and "from the data mirror only" in got.detail
    assert run(ctx, "hs2_share(partner=5800, chapter=87, year=2018)").value is None


def test_hs2_share_and_value(tmp_path: Path, ctx: cl.ClaimsContext) -> None:
    lines = [
        "I_COMMODITY,I_COMMODITY_LDESC,I_COMMODITY_SDESC,CTY_CODE,CTY_NAME,GEN_VAL_MO,YEAR,MONTH,COMM_LVL"
    ]
    for month in range(1, 13):
        lines.append(f"87,VEHICLES,VEH,5800,KOREA SOUTH,30000000,2023,{month:02d},HS2")
        lines.append(f"85,ELECTRICAL,EL,5800,KOREA SOUTH,70000000,2023,{month:02d},HS2")
        lines.append(f"87,VEHICLES,VEH,5880,JAPAN,99000000,2023,{month:02d},HS2")
    with gzip.open(tmp_path / "imports_hs2_by_country_2023_2024.csv.gz", "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    ctx.census_api_dir = tmp_path
    assert run(ctx, "hs2_share(partner=5800, chapter=87, year=2023)").value == pytest.approx(30.0)
    assert run(
        ctx, "hs2_value(partner=5800, chapter=87, year=2023, scale=0.000001)"
    ).value == pytest.approx(360.0)
    got = run(ctx, "hs2_share(partner=5800, chapter=87, year=2018)")
    assert (
        got.value is None and "covers 2023, not 2018" in got.detail and "2023 30.0 %" in got.detail
    )


def test_not_in_sources(ctx: cl.ClaimsContext) -> None:
    assert run(ctx, "none()") == cl.Computed(None, "")


# ---- evaluate, write, style ------------------------------------------------------------------


def test_evaluate_and_write(tmp_path: Path, ctx: cl.ClaimsContext) -> None:
    rows = [
        {
            **GOOD_ROW,
            "id": "a",
            "stated": "0.3",
            "computation": "census_annual(partner=5800, year=2011, flow=balance, scale=-0.001)",
        },
        {**GOOD_ROW, "id": "b", "stated": "0.168", "rounding": "0.001"},
        {
            **GOOD_ROW,
            "id": "c",
            "source": "none",
            "computation": "none()",
            "note": "Not checkable: x.",
        },
    ]
    claims = cl.load_claims(write_claims(tmp_path / "claims.csv", rows))
    res = cl.evaluate(claims, ctx)
    assert list(res["verdict"]) == ["contradicted", "supported", "not_checkable"]
    assert res["computed"].iloc[1] == pytest.approx(0.168)
    assert np.isnan(res["computed"].iloc[2])
    out = tmp_path / "reports" / "claims.csv"
    cl.write_results(res, out)
    first = out.read_bytes()
    cl.write_results(res, out)
    assert out.read_bytes() == first  # deterministic
    text = first.decode()
    assert text.splitlines()[0] == "id,claim,stated,computed,unit,verdict,basis,note,verdict_range"
    assert "\r" not in text and ",0.168," in text
    back = pd.read_csv(out)
    assert list(back["verdict"]) == ["contradicted", "supported", "not_checkable"]
    assert view.verdict_counts(res) == {
        "supported": 1,
        "contradicted": 1,
        "within_revision": 0,
        "not_checkable": 1,
    }
    html = view.style_results(res).to_html()
    for colour in ("#1b7837", "#c51b7d", "#bdbdbd"):
        assert colour in html
    with pytest.raises(ParameterError):
        cl.write_results(res.drop(columns="note"), out)


def test_deficit_outlook_sentence(trade: pd.DataFrame) -> None:
    info = cl.deficit_outlook(trade, 5800, 2011)
    assert info["deficit"] == pytest.approx(168.0)
    assert info["later_years"] == 2 and info["later_larger"] == 2
    assert info["max_year"] == 2012 and info["max_deficit"] == pytest.approx(216.0)
    assert info["data_through"] == "2014-03"
    text = view.deficit_sentence(info)
    assert "2 of the 2 complete years" in text and "2012" in text


def test_display_paths(ctx: cl.ClaimsContext, tmp_path: Path) -> None:
    assert view.display_path(config.ROOT / "reports" / "claims.csv") == "reports/claims.csv"
    # Issue 13, finding 10: a published page never shows an absolute local path.
    assert view.display_path(tmp_path / "x.csv") == "x.csv"
    assert view.optional_sources_text(cl.ClaimsContext()) == "not available in this run"
    both = cl.ClaimsContext(reference_dir=config.ROOT / "data" / "raw", census_api_dir=tmp_path)
    assert view.optional_sources_text(both) == f"read from `data/raw, {tmp_path.name}`"


def test_rank_detail_uses_the_shared_number_format(ctx: cl.ClaimsContext) -> None:
    got = cl._rank(pd.Series({2001: 1234.567, 2002: -2.5, 2003: 10.0}), 2003, "desc", "u")
    assert got.value == 2.0
    assert got.detail == "largest first in 2001-2003 (u): 2001 1,234.57, 2003 10.00, 2002 −2.50"


def test_optional_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(config.MIRROR_ENV, raising=False)
    assert cl.optional_dir("", "reference") is None
    # Issue 13: an empty folder parameter no longer falls back to the (unverified) mirror,
    # so a run by hand gives the pipeline's verdicts whether or not the variable is set.
    monkeypatch.setenv(config.MIRROR_ENV, str(tmp_path))
    assert cl.optional_dir("", "reference") is None
    assert cl.optional_dir("some/dir", "reference") == config.ROOT / "some/dir"


# ---- integration on the mirror ---------------------------------------------------------------


@pytest.fixture(scope="module")
def real_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    mirror = config.mirror_dir()
    if mirror is None:
        pytest.skip("ANALYSIS_DATA_MIRROR is not set (integration test needs the data mirror)")
    if importlib.util.find_spec("analysis.clean.table") is None:
        pytest.skip("analysis.clean.table is not present")
    from analysis.clean import table as clean

    raw = mirror / "census" / "country.xlsx"
    wdi = mirror / "worldbank" / "API_KOR_DS2_en_csv_v2_15934.csv"
    if not raw.exists() or not wdi.exists():
        pytest.skip("mirror lacks census/country.xlsx or the WDI file")
    out = tmp_path_factory.mktemp("clean")
    clean.run(raw, out, verify=False)
    ctx = cl.ClaimsContext.from_paths(
        out / "trade_monthly.csv", wdi, mirror / "reference", mirror / "census-api"
    )
    return cl.evaluate(cl.load_claims(CLAIMS_FILE), ctx), ctx.trade


@pytest.mark.integration
def test_real_deficits_supported_and_equal_annual_sums(real_results) -> None:
    results, trade = real_results
    r = results.set_index("id")
    assert r.loc["deficit_2011", "verdict"] == "supported"
    assert r.loc["deficit_2015", "verdict"] == "supported"
    korea = trade[trade["partner_code"] == 5800]
    for year, cid in ((2011, "deficit_2011"), (2015, "deficit_2015")):
        annual = korea.loc[korea["date"].dt.year == year, "balance"].sum()
        assert r.loc[cid, "computed"] == pytest.approx(-annual / 1000, abs=1e-9)
    # the mirror's published anchors (US$ millions), allowed in tests only
    assert r.loc["deficit_2011", "computed"] == pytest.approx(13.1997, abs=1e-4)
    assert r.loc["deficit_2015", "computed"] == pytest.approx(28.2913, abs=1e-4)


@pytest.mark.integration
def test_real_other_verdicts(real_results) -> None:
    results, _ = real_results
    r = results.set_index("id")["verdict"]
    assert r["deficit_2015_high"] == "supported"
    assert r["steel_quota_70pct"] == "supported"
    assert r["steel_drop_2018"] == "supported"
    assert r["exports_decline_after_2011"] == "supported"
    # revised: WDI now has 2.9 %, within the documented revision of 0.2 points (plus rounding)
    assert r["gdp_growth_2018"] == "within_revision"
    assert r["gdp_growth_2018_slowest"] == "within_revision"  # 2015 2.81 vs 2018 2.91
    assert r["trade_gdp_2018"] == "within_revision"  # WDI: just under 80 %
    ranges = results.set_index("id")["verdict_range"]
    assert ranges["exports_decline_after_2011"].startswith("depends on the end year")
    assert "contradicted for 2014 (+2.73), 2015 (+0.05)" in ranges["exports_decline_after_2011"]
    for cid in ("autos_share_2018", "ag_exports_2018", "us_china_share"):
        assert r[cid] == "not_checkable"
    notes = results.set_index("id")["note"]
    assert "HS 87 share" in notes["autos_share_2018"]
    assert "U.S. part only" in notes["us_china_share"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("census", "data"),
        ("wdi", "data"),
        ("census+wdi", "data"),
        ("census-api:imports_hs2.csv.gz", "data"),
        ("report", "arithmetic"),
        ("reference:korea_steel_exports_to_us_tonnes.tsv", "reference"),
        ("none", "none"),
    ],
)
def test_basis_of_a_claim(source: str, expected: str) -> None:
    """Issue 12: steel_drop_2018 (the report's own arithmetic) and steel_quota_70pct (compiled
    trade-press tonnes) are not data checks."""
    assert cl.basis(source) == expected


def test_summary_sentence_counts_data_checks_apart() -> None:
    res = pd.DataFrame(
        {
            "verdict": ["supported", "contradicted", "supported", "supported", "not_checkable"],
            "basis": ["data", "data", "arithmetic", "reference", "none"],
        }
    )
    text = view.summary_sentence(res)
    assert text.startswith(
        "Of 5 claims, 2 concern official data and 2 of those can be checked: **1 supported**, "
        "**1 contradicted**; **0 not checkable**"
    )
    assert "1 only recompute the report's own arithmetic (1 agree)" in text
    assert "1 state numbers that none of the project's sources holds" in text


# ---- issue 15: claims on the product table ---------------------------------------------------


def product_fixture(
    years: tuple[int, ...] = (2017, 2018),
    flows: tuple[str, ...] = ("exports", "imports"),
    months: int = 12,
) -> pd.DataFrame:
    """Korea (5800) at HS2: each month imports 87 = 30, 72 = 5, 73 = 3, 76 = 2, 84 = 60 (total 100;
    2018 steel 72/73 = 4 + 2.4); exports 87 = 2, 84 = 18 (total 20). US$ millions."""
    rows = []
    for year in years:
        for mo in range(1, months + 1):
            d = pd.Timestamp(year, mo, 1)
            imports = {
                "87": 30.0,
                "72": 5.0 if year == 2017 else 4.0,
                "73": 3.0 if year == 2017 else 2.4,
                "76": 2.0,
                "84": 60.0,
            }
            for flow, values in (("imports", imports), ("exports", {"87": 2.0, "84": 18.0})):
                if flow in flows:
                    rows += [
                        (d, 5800, flow, "HS2", code, "x", v, "census_api")
                        for code, v in values.items()
                    ]
    return pd.DataFrame(
        rows,
        columns=[
            "date",
            "partner_code",
            "flow",
            "level",
            "hs_code",
            "description",
            "value",
            "source",
        ],
    )


def test_product_claims_checkable_when_the_table_covers_the_year(ctx: cl.ClaimsContext) -> None:
    ctx.products = product_fixture()
    share = run(ctx, "product_share(partner=5800, chapters=87, year=2018, flow=imports)")
    assert share.value == pytest.approx(30 / 98.4 * 100)
    assert run(
        ctx, "product_value(partner=5800, chapters=76, year=2018, flow=imports)"
    ).value == pytest.approx(24.0)
    drop = run(
        ctx,
        "product_pct_change(partner=5800, chapters=72+73, base=2017, year=2018, flow=imports, last_month=11)",
    )
    assert drop.value == pytest.approx(-20.0)
    deficit = run(ctx, "product_balance_share(partner=5800, chapters=87, year=2017)")
    assert deficit.value == pytest.approx(100 * 28 / (100 - 20))


def test_product_claims_not_covered_say_which_data_are_missing(ctx: cl.ClaimsContext) -> None:
    ctx.products = product_fixture(years=(2023, 2024), flows=("imports",))
    got = run(ctx, "product_share(partner=5800, chapters=87, year=2018, flow=imports)")
    assert got.value is None
    assert got.detail.startswith(
        "needs U.S. imports from South Korea by HS2 for 2018 (HS 87 share); "
        "the product table covers 2023-01..2024-12, imports only, HS2"
    )
    assert "2023 30.5 %; 2024 30.5 %" in got.detail
    bal = run(ctx, "product_balance_share(partner=5800, chapters=87, year=2023)")
    assert bal.value is None and "needs U.S. exports to South Korea by HS2 for 2023" in bal.detail
    part = run(
        ctx, "product_pct_change(partner=5800, chapters=72+73, base=2022, year=2023, last_month=11)"
    )
    assert "January to November of 2022 and 2023" in part.detail
    ctx.products = product_fixture(years=(2018,), months=6)
    assert run(ctx, "product_value(partner=5800, chapters=76, year=2018)").value is None


def test_product_claims_without_a_table_and_from_paths(
    tmp_path: Path, trade: pd.DataFrame, wdi: pd.DataFrame
) -> None:
    got = run(
        cl.ClaimsContext(trade=trade, wdi=wdi),
        "product_share(partner=5800, chapters=87, year=2018)",
    )
    assert got.value is None and "HS 87 share" in got.detail and "no product table" in got.detail


@pytest.mark.integration
def test_claims_context_from_paths_without_the_product_table(
    tmp_path: Path, trade: pd.DataFrame, mirror: Path
) -> None:
    """A product table that is not there is recorded as unavailable (the mirror's WDI file,
    not the developer's data/raw)."""
    trade_csv = tmp_path / "trade.csv"
    trade.assign(date=trade["date"].dt.strftime("%Y-%m-%d")).to_csv(trade_csv, index=False)
    wdi_csv = mirror / "worldbank" / "API_KOR_DS2_en_csv_v2_15934.csv"
    missing = cl.ClaimsContext.from_paths(trade_csv, wdi_csv, products_path=tmp_path / "none.csv")
    assert missing.products is None and "does not exist" in missing.unavailable["products"]


def test_committed_product_claims_and_basis() -> None:
    claims = cl.load_claims(CLAIMS_FILE).set_index("id")
    for cid in (
        "autos_share_2018",
        "aluminum_us_exports_2018",
        "autos_majority_of_deficit",
        "steel_value_drop_2018",
    ):
        assert claims.loc[cid, "source"] == "products"
        assert cl.parse_computation(claims.loc[cid, "computation"])[0].startswith("product_")
    assert cl.basis("products") == "data"
    ctx = cl.ClaimsContext(trade=synthetic_trade(), wdi=synthetic_wdi(), products=product_fixture())
    results = cl.evaluate(cl.load_claims(CLAIMS_FILE), ctx).set_index("id")
    assert results.loc["autos_share_2018", "verdict"] == "supported"  # 30.5 % > 24 %
    assert results.loc["aluminum_us_exports_2018", "verdict"] == "contradicted"  # 24 != 375
    assert results.loc["autos_majority_of_deficit", "verdict"] == "contradicted"  # 28 of 80: 35 %
    assert results.loc["steel_value_drop_2018", "computed"] == pytest.approx(-20.0)


# ---- claims within revisions, and verdicts that depend on the end year --------------------------


@pytest.mark.parametrize(
    ("stated", "computed", "rounding", "comparison", "band", "expected"),
    [
        # GDP growth: 2.7 stated, 2.907 now, revisions of 0.2 points: within revision
        (2.7, 2.907, 0.1, "eq", (2.707, 3.107), "within_revision"),
        # the same gap with a revision size of 0.1 points: still contradicted
        (2.7, 2.907, 0.1, "eq", (2.807, 3.007), "contradicted"),
        # "more than 80 %": 78.99 now, 6.6 % relative revisions reach 84.2
        (80, 78.99, 1, "gt", (73.78, 84.20), "within_revision"),
        (80, 78.99, 1, "gt", (78.0, 79.99), "contradicted"),
        # a rank: 2 now, 1 within revision
        (1, 2, 1, "eq", (1.0, 2.0), "within_revision"),
        (1, 3, 1, "eq", (2.0, 3.0), "contradicted"),
        (0, 0.5, 0.1, "lt", (-0.1, 1.1), "within_revision"),
        (40, 47.0, 1, "approx", (43.0, 51.0), "within_revision"),
        # a supported claim stays supported whatever the band
        (13.2, 13.2, 0.1, "eq", (10.0, 16.0), "supported"),
        (13.2, None, 0.1, "eq", (10.0, 16.0), "not_checkable"),
    ],
)
def test_verdict_within_revision(stated, computed, rounding, comparison, band, expected) -> None:
    assert cl.verdict(stated, computed, rounding, comparison, band) == expected
    # without a band the old rule holds: contradicted
    if expected == "within_revision":
        assert cl.verdict(stated, computed, rounding, comparison) == "contradicted"


def write_tolerances(path: Path, rows: list[str]) -> Path:
    path.write_text("indicator,kind,tolerance,unit,source,note\n" + "\n".join(rows) + "\n")
    return path


def test_tolerances_are_read_from_a_file_with_sources(tmp_path: Path) -> None:
    real = cl.load_revision_tolerances(cl.REVISION_TOLERANCES)
    gdp = real["NY.GDP.MKTP.KD.ZG"]
    assert (gdp.kind, gdp.tolerance) == ("absolute", 0.2) and "Bank of Korea" in gdp.source
    assert real["NE.TRD.GNFS.ZS"].band(100.0) == pytest.approx((93.4, 106.6))
    for row, message in (
        ("X,absolute,0.2,pp,", "no source"),
        ("X,sideways,0.2,pp,s", "absolute or relative"),
        ("X,relative,1.5,share,s", "positive"),
        ("X,absolute,abc,pp,s", "not a number"),
    ):
        with pytest.raises(DataError, match=message):
            cl.load_revision_tolerances(write_tolerances(tmp_path / "t.csv", [row + ",n"]))
    with pytest.raises(DataError, match="repeated"):
        cl.load_revision_tolerances(
            write_tolerances(tmp_path / "t.csv", ["X,absolute,1,pp,s,n", "X,absolute,2,pp,s,n"])
        )


def test_planted_revision_gap_is_within_revision_and_not_counted_as_contradicted(
    tmp_path: Path, trade: pd.DataFrame
) -> None:
    wdi = synthetic_wdi()
    wdi.loc[(wdi["indicator_code"] == "NY.GDP.MKTP.KD.ZG") & (wdi["year"] == 2018), "value"] = 2.907
    wdi.loc[(wdi["indicator_code"] == "NE.TRD.GNFS.ZS"), "value"] = 78.99
    rows = [
        {**GOOD_ROW, "id": "growth", "source": "wdi", "stated": "2.7",
         "computation": "wdi_value(indicator=NY.GDP.MKTP.KD.ZG, year=2018)"},
        {**GOOD_ROW, "id": "slowest", "source": "wdi", "stated": "1", "rounding": "1",
         "computation": "wdi_rank(indicator=NY.GDP.MKTP.KD.ZG, year=2018, start=2013, end=2018)"},
        {**GOOD_ROW, "id": "trade", "source": "wdi", "stated": "80", "rounding": "1",
         "comparison": "gt", "computation": "wdi_value(indicator=NE.TRD.GNFS.ZS, year=2018)"},
        {**GOOD_ROW, "id": "far", "source": "wdi", "stated": "2.0",
         "computation": "wdi_value(indicator=NY.GDP.MKTP.KD.ZG, year=2018)"},
    ]  # fmt: skip
    claims = cl.load_claims(write_claims(tmp_path / "claims.csv", rows))
    tol = cl.load_revision_tolerances(
        write_tolerances(
            tmp_path / "tol.csv",
            ["NY.GDP.MKTP.KD.ZG,absolute,0.2,percentage points,BoK,n",
             "NE.TRD.GNFS.ZS,relative,0.066,share,BoK benchmark,n"],
        )
    )  # fmt: skip
    res = cl.evaluate(claims, cl.ClaimsContext(trade=trade, wdi=wdi, tolerances=tol))
    got = dict(zip(res["id"], res["verdict"], strict=True))
    # growth 2.907 vs 2.7: 0.157 beyond the rounding, inside 0.2; 2018 (2.907) is second
    # lowest of 2013-2018 after 2015 (2.8), 0.107 apart: rank 1 within revision; 78.99 * 1.066
    # > 80; 2.0 is 0.857 beyond: contradicted
    assert got == {
        "growth": "within_revision",
        "slowest": "within_revision",
        "trade": "within_revision",
        "far": "contradicted",
    }
    note = res.set_index("id").loc["growth", "note"]
    assert "±0.20 percentage points (BoK)" in note and "from 2.71 to 3.11" in note
    counts = view.verdict_counts(res.assign(basis="data"))
    assert counts["contradicted"] == 1 and counts["within_revision"] == 3
    text = view.summary_sentence(res.assign(basis="data"))
    assert "**1 contradicted**, **3 within revision**" in text
    # without tolerances, the old verdicts
    old = cl.evaluate(claims, cl.ClaimsContext(trade=trade, wdi=wdi))
    assert set(old["verdict"]) == {"contradicted"}


def test_landing_counts_within_revision_apart(tmp_path: Path) -> None:
    from analysis.report import landing

    path = tmp_path / "claims.csv"
    path.write_text(
        "id,claim,stated,computed,unit,verdict,basis,note,verdict_range\n"
        "a,x,1,1,u,supported,data,,\nb,x,1,2,u,within_revision,data,,\n"
        "c,x,1,2,u,within_revision,data,,\nd,x,1,5,u,contradicted,data,,\n"
    )
    counts = landing.claims_summary(path)["data"]
    assert counts["contradicted"] == 1 and counts["within_revision"] == 2
    assert counts["supported"] == 1
    html = landing.render_index(tmp_path, [], default_partner=5800, vintage={}, built="x")
    assert (
        'data-verdict="contradicted" style="background:#c51b7d;color:#ffffff">1 contradicted'
        in html
    )
    assert (
        'data-verdict="within_revision" style="background:#fdb863;color:#111111">'
        "2 within revision" in html
    )


def test_end_year_range_is_shown_when_the_verdict_depends_on_it(ctx: cl.ClaimsContext) -> None:
    # exports 132, 144, 108 (2011..2013): +9.09 % to 2012, -18.18 % to 2013
    got = run(
        ctx, "census_pct_change(partner=5800, flow=exports, base=2011, year=2013, ends=2012+2013)"
    )
    assert got.value == pytest.approx(-18.1818, abs=1e-3)
    assert [k for k, _ in got.alternatives] == ["2012", "2013"]
    text = cl.verdict_range(0, 0.1, "lt", got.alternatives)
    assert (
        text
        == "depends on the end year: contradicted for 2012 (+9.09); supported for 2013 (−18.18)"
    )
    same = cl.verdict_range(0, 0.1, "lt", (("2013", -18.18), ("2014", -1.0)))
    assert same.startswith("supported for every end year")
    assert cl.verdict_range(0, 0.1, "lt", ()) == ""
    # without ends: no alternatives (the old behaviour)
    plain = run(ctx, "census_pct_change(partner=5800, flow=exports, base=2011, year=2013)")
    assert plain.alternatives == ()
    with pytest.raises(ParameterError):
        run(ctx, "census_pct_change(partner=5800, flow=exports, base=2011, year=2013, ends=20x3)")


def test_discrepancy_lines_list_contradicted_then_within_revision() -> None:
    res = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "stated": [2.7, 80.0, 1.0],
            "computed": [2.9074, 78.9889, 1.0],
            "unit": ["%", "%", "rank"],
            "verdict": ["within_revision", "contradicted", "supported"],
            "note": ["Revised.", "Under 80.", ""],
        }
    )
    text = view.discrepancy_lines(res)
    assert text.splitlines() == [
        "- **b** (contradicted): stated 80 %, computed 78.99. Under 80.",
        "- **a** (within revision): stated 2.7 %, computed 2.907. Revised.",
    ]
    assert "No claim is contradicted" in view.discrepancy_lines(res.iloc[[2]])
