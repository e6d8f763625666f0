"""Parameter uncertainty in the counterfactual's simulated paths: wider intervals than the
point estimate alone, roughly nominal coverage, and the fallback when no draws can be had."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.signal import lfilter

from analysis.models import counterfactual as cfm


def ar_series(n: int = 144, phi: float = 0.9, seed: int = 0) -> pd.Series:
    """Zero-mean AR(1) in levels (unit innovations), monthly from 2000-01; no break."""
    rng = np.random.default_rng(seed)
    u = lfilter([1.0], [1.0, -phi], rng.normal(0.0, 1.0, n + 200))[200:]
    return pd.Series(u, index=pd.date_range("2000-01-01", periods=n, freq="MS"), name="balance")


def fit(y: pd.Series, **kw) -> cfm.Counterfactual:
    return cfm.counterfactual(
        y, "2009-12", log=False, order=(1, 0, 0), seasonal_order=(0, 0, 0, 0), **kw
    )


def test_parameter_uncertainty_widens_the_24_month_interval():
    y = ar_series(n=156, seed=5)
    with_pu = fit(y, n_sim=1000, seed=1)
    without = fit(y, n_sim=1000, seed=1, param_uncertainty=False)
    assert (
        with_pu.param_draws == cfm.PARAM_DRAWS
        and "parameter uncertainty included" in with_pu.interval_note
    )
    assert without.param_draws == 0 and "not included" in without.interval_note
    assert [g.months for g in with_pu.by_horizon] == [12, 24]
    w = np.diff(with_pu.gap(24).gap_ci)[0]
    w0 = np.diff(without.gap(24).gap_ci)[0]
    assert w > 1.05 * w0


@pytest.mark.slow
def test_24_month_interval_covers_the_truth_at_about_the_nominal_rate():
    # No break: the true gap is zero, and the 95 % interval should contain it ~95 % of the time.
    covered = []
    for seed in range(20):
        g = fit(ar_series(seed=100 + seed), n_sim=400, n_draws=20, seed=seed).gap(24)
        covered.append(g.gap_ci[0] <= 0.0 <= g.gap_ci[1])
    assert sum(covered) >= 16  # P(<= 15 of 20 | p = 0.95) is about 0.3 %


def test_no_usable_draws_falls_back_to_the_point_estimate():
    rng = np.random.default_rng(0)
    bad = SimpleNamespace(
        params=np.array([0.5, 1.0]), cov_params=lambda: np.array([[np.nan, 0], [0, 1]])
    )
    draws, note = cfm.draw_params(bad, 10, rng, lambda p: True)
    assert draws is None and "not finite" in note
    nonpsd = SimpleNamespace(
        params=np.array([0.5, 1.0]), cov_params=lambda: np.array([[1.0, 2.0], [2.0, 1.0]])
    )
    assert cfm.draw_params(nonpsd, 10, rng, lambda p: True)[0] is None
    ok = SimpleNamespace(params=np.array([0.5, 1.0]), cov_params=lambda: np.diag([0.01, 0.01]))
    draws, note = cfm.draw_params(ok, 10, rng, lambda p: p[0] < 0.5)  # about half rejected
    assert draws.shape == (10, 2) and (draws[:, 0] < 0.5).all() and "rejected" in note
    draws, note = cfm.draw_params(ok, 10, rng, lambda p: False)
    assert draws is None and "only 0 of 200" in note


def test_sarimax_admissibility():
    names = ["ar.L1", "ma.L1", "ma.S.L12", "sigma2"]
    assert cfm._sarimax_valid(names, np.array([0.5, -0.3, -0.9, 1.0]))
    assert not cfm._sarimax_valid(names, np.array([1.1, -0.3, -0.9, 1.0]))  # explosive AR
    assert not cfm._sarimax_valid(
        names, np.array([0.5, -0.3, -1.05, 1.0])
    )  # non-invertible seasonal MA
    assert not cfm._sarimax_valid(names, np.array([0.5, -0.3, -0.9, -1.0]))  # negative variance


def test_draws_simulate_on_the_bare_model_exactly_as_on_the_labelled_one():
    # The parameter draws simulate on a model of the bare values (no pandas labels, about twice
    # as fast); the paths and the random numbers they use must be those of the labelled model.
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    z = np.log(100.0 + ar_series(n=120, seed=3)).iloc[:108]
    f = cfm._fit_sarimax(z, 12, log=True, order=None, seasonal_order=None)
    labelled = SARIMAX(z, order=(1, 1, 1), seasonal_order=(0, 1, 1, 12))
    p = np.asarray(f.results.params)
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    got = f.simulate_at(p * 0.98, 12, 5, rng_a)
    want = cfm._sarimax_simulate_at(labelled, p * 0.98, 12, 5, rng_b)
    assert got.shape == (12, 5) and np.array_equal(got, want)
    assert rng_a.random() == rng_b.random()  # the same count of draws taken from the stream
    # Not vacuous: other parameters give other paths.
    other = f.simulate_at(p * 0.9, 12, 5, np.random.default_rng(7))
    assert not np.allclose(other, got)
