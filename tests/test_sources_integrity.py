"""Every raw file is verified (sha256 + content) by each reader before use; rejects go to quarantine.

Issue 13, finding 4: a changed optional file (WDI, steel table, HS2 extract) is an error for the
step that reads it; a WDI cut at a row boundary is refused; a file that cleaning rejects is
moved to ``data/raw/quarantine/`` and logged as rejected; a Census byte flipped with its mtime
restored is caught by the cleaning step. Every test works in ``tmp_path`` (the config paths are
redirected), so the real ``data/raw`` is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from test_census import make_wide, write_xlsx

from analysis import config
from analysis.claims import computations as claims  # the readers ClaimsContext uses
from analysis.clean import table as clean
from analysis.errors import ChecksumMismatch, DataError
from analysis.fileio import sha256_file
from analysis.sources import acquire, census_api, fetch, steel_reference, wdi

REAL_MANIFEST = config.SOURCES_MANIFEST
REAL_MIRROR = config.mirror_dir()
WDI_MIRROR_PATH = "worldbank/API_KOR_DS2_en_csv_v2_15934.csv"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config paths inside tmp_path, with a copy of the committed manifest; no mirror, no STRICT."""
    monkeypatch.delenv(config.MIRROR_ENV, raising=False)
    monkeypatch.delenv("STRICT", raising=False)
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    monkeypatch.setattr(config, "ROOT", tmp_path)
    monkeypatch.setattr(config, "RAW_DIR", raw)
    monkeypatch.setattr(config, "VINTAGE_LOG", raw / "vintages.csv")
    monkeypatch.setattr(config, "SOURCES_MANIFEST", raw / "sources.json")
    shutil.copyfile(REAL_MANIFEST, raw / "sources.json")
    return raw


@pytest.fixture
def raw(isolated: Path) -> Path:
    return isolated


def _needs_mirror() -> Path:
    if REAL_MIRROR is None or not (REAL_MIRROR / WDI_MIRROR_PATH).is_file():
        pytest.skip(f"{config.MIRROR_ENV} is not set (point it at ../shared/data)")
    return REAL_MIRROR


def _rewrite(path: Path, data: bytes) -> None:
    """Replace a (read-only) raw file's bytes, as a user's editor would."""
    path.chmod(0o644)
    path.write_bytes(data)


def _pin(source_id: str, data: bytes) -> None:
    """Pin ``data`` as a known vintage of ``source_id`` in the test manifest."""
    import hashlib

    doc = json.loads(config.SOURCES_MANIFEST.read_text(encoding="utf-8"))
    for entry in doc["sources"]:
        if entry["id"] == source_id:
            entry["known_vintages"] = [
                {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "note": "test"}
            ]
    config.SOURCES_MANIFEST.write_text(json.dumps(doc), encoding="utf-8")


# ---- a changed file is an error for every reader, optional sources included ------------------


@pytest.mark.integration
def test_changed_wdi_digit_stops_its_readers(raw: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mirror = _needs_mirror()
    fetch.ensure("census", mirror=mirror)
    path = fetch.ensure("wdi", mirror=mirror)
    assert wdi.read_wdi(path)["indicator_code"].nunique() > 1000  # the pinned vintage reads
    data = path.read_bytes()
    assert data.count(b'"2.90740377377135"') == 1
    _rewrite(path, data.replace(b'"2.90740377377135"', b'"2.70740377377135"'))  # 2018 GDP growth
    with pytest.raises(ChecksumMismatch, match="wdi_kor.csv: sha256 .* the raw file was changed"):
        wdi.read_wdi(path)
    with pytest.raises(ChecksumMismatch, match="wdi_kor.csv"):
        claims.read_wdi(path)  # the reader ClaimsContext.from_paths uses
    # `acquire --verify` no longer only warns about a changed optional file.
    capsys.readouterr()
    assert acquire.main(["--verify"]) == 2
    assert "wdi_kor.csv" in capsys.readouterr().err


def test_changed_steel_table_stops_its_reader(raw: Path) -> None:
    text = (
        "# compiled\nyear\ttonnes_million\n2015\t4.40\n2016\t3.46\n2017\t3.62\n2018_quota\t2.68\n"
    )
    _pin("steel_reference", text.encode())
    path = raw / "korea_steel_exports_to_us_tonnes.tsv"
    path.write_text(text, encoding="utf-8")
    assert steel_reference.read_reference_table(path)["tonnes_million"].tolist()[0] == "4.40"
    path.write_text(text.replace("4.40", "4.90"), encoding="utf-8")
    with pytest.raises(ChecksumMismatch, match="korea_steel_exports_to_us_tonnes.tsv"):
        steel_reference.read_reference_table(path)
    # The claims step reads it through the same reader.
    ctx = claims.ClaimsContext(reference_dir=raw)
    with pytest.raises(ChecksumMismatch):
        claims.reference_quota_share(ctx, file=path.name, quota="2018_quota", start=2015, end=2017)


def test_changed_hs2_extract_stops_its_reader(raw: Path) -> None:
    import gzip

    header = "I_COMMODITY,I_COMMODITY_LDESC,CTY_CODE,CTY_NAME,GEN_VAL_MO,YEAR,MONTH,COMM_LVL\n"
    rows = "".join(
        f'87,VEHICLES,5800,"KOREA, SOUTH",{100 + m},2023,{m:02d},HS2\n' for m in range(1, 13)
    )
    path = raw / "imports_hs2_by_country_2023_2024.csv.gz"
    path.write_bytes(gzip.compress((header + rows).encode(), mtime=0))
    _pin("census_hs2_imports", path.read_bytes())
    assert len(census_api.read_hs2_imports(path)) == 12
    path.write_bytes(gzip.compress((header + rows.replace(",101,", ",901,")).encode(), mtime=0))
    with pytest.raises(ChecksumMismatch, match="imports_hs2_by_country_2023_2024.csv.gz"):
        census_api.read_hs2_imports(path)
    ctx = claims.ClaimsContext(census_api_dir=raw)
    with pytest.raises(ChecksumMismatch):
        claims.hs2_value(ctx, partner=5800, chapter="87", year=2023)


# ---- content checks that fit the source ------------------------------------------------------


@pytest.mark.integration
def test_wdi_cut_at_a_row_boundary_is_refused(tmp_path: Path, raw: Path) -> None:
    mirror = _needs_mirror()
    lines = (mirror / WDI_MIRROR_PATH).read_bytes().split(b"\n")
    assert len(lines) == 1502  # 1,501 lines and a final newline
    cut = tmp_path / "cut-mirror"
    (cut / "worldbank").mkdir(parents=True)
    (cut / WDI_MIRROR_PATH).write_bytes(b"\n".join(lines[:800]) + b"\n")
    with pytest.raises(DataError, match=r"TX\.VAL\.MRCH\.CD\.WT"):
        fetch.ensure("wdi", mirror=cut)
    assert not (raw / "wdi_kor.csv").exists()
    assert fetch.read_vintage_log() == []  # not logged as a new vintage


def test_census_content_check_wants_contiguous_plausible_years(tmp_path: Path) -> None:
    from analysis.sources import census as census_source

    wide = make_wide(years=(2019, 2021, 2022))
    path = write_xlsx(wide, tmp_path / "country.xlsx")
    with pytest.raises(DataError, match="no rows for 2020"):
        census_source.check_content(path)
    path = write_xlsx(make_wide(years=(2021, 2022)), tmp_path / "country.xlsx")
    assert census_source.check_content(path) == ("2021-01", "2022-04")


# ---- files that cleaning rejects go to quarantine --------------------------------------------


def _edit(code: str, year: str, col: str, value: object):
    def edit(df: pd.DataFrame) -> pd.DataFrame:
        df = df.astype({col: object})
        df.loc[(df["CTY_CODE"] == code) & (df["year"] == year), col] = value
        return df

    return edit


REJECTED = {
    "negative-value": _edit("5880", "2021", "IJUN", -5.0),
    "duplicate-row": lambda d: pd.concat([d, d[(d["CTY_CODE"] == "5800") & (d["year"] == "2022")]]),
    "suppressed-(D)": _edit("5800", "2022", "EMAR", "(D)"),
    "missing-year": _edit("5800", "2022", "year", None),
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_file_that_cleaning_rejects_is_quarantined(case: str, raw: Path, tmp_path: Path) -> None:
    path = write_xlsx(REJECTED[case](make_wide()), raw / "country.xlsx")
    digest = sha256_file(path)
    fetch.ensure("census")  # passes the acquisition checks: adopted as a new vintage
    assert [r["status"] for r in fetch.read_vintage_log()] == ["accepted"]
    with pytest.raises(DataError, match="moved to data/raw/quarantine/") as err:
        clean.run(path, tmp_path / "out")
    assert "\n" not in str(err.value)
    assert not path.exists()
    (moved,) = (raw / "quarantine").iterdir()
    assert sha256_file(moved) == digest
    last = fetch.read_vintage_log()[-1]
    assert (last["source"], last["sha256"], last["status"]) == ("census", digest, "rejected")
    assert not (tmp_path / "out").exists()
    # The rejected vintage is no longer accepted, even if the same file comes back.
    shutil.copyfile(moved, path)
    with pytest.raises(ChecksumMismatch):
        fetch.verify("census", path)


def test_old_vintage_log_without_status_stays_readable(raw: Path) -> None:
    log = raw / "vintages.csv"
    log.write_text(
        "source,obtained_utc,bytes,sha256,first_month,last_month,origin\n"
        f"wdi,2025-01-01T00:00:00Z,10,{'a' * 64},1960,2023,mirror x\n",
        encoding="utf-8",
    )
    (row,) = fetch.read_vintage_log()
    assert row["status"] == "accepted" and row["sha256"] == "a" * 64
    fetch.append_vintage_log(
        log,
        {
            "source": "wdi",
            "obtained_utc": "2025-01-02T00:00:00Z",
            "bytes": 10,
            "sha256": "b" * 64,
            "first_month": "",
            "last_month": "",
            "origin": "test",
            "status": "rejected",
        },
    )
    rows = fetch.read_vintage_log()
    assert [(r["sha256"][0], r["status"]) for r in rows] == [("a", "accepted"), ("b", "rejected")]


# ---- a Census byte flipped with its mtime restored -------------------------------------------


def test_flipped_census_byte_with_mtime_restored_is_caught_by_cleaning(
    raw: Path, tmp_path: Path
) -> None:
    path = write_xlsx(make_wide(), raw / "country.xlsx")
    data = path.read_bytes()
    _pin("census", data)
    clean.run(path, tmp_path / "out")
    before = path.stat()
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    _rewrite(path, bytes(flipped))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    with pytest.raises(ChecksumMismatch, match="country.xlsx: sha256"):
        clean.run(path, tmp_path / "out")
