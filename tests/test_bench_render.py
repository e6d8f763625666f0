"""benchmarks/results_md.py: the size table's verdict is computed from the simulation."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import results_md  # noqa: E402


def _size(balance: float) -> dict:
    row = {"nominal": 0.05, "actual_hac": 0.3, "actual_boot": 0.07, "n_sim": 5000, "n_boot": 199}
    return {
        "exports": {**row, "actual": 0.058, "actual_se": 0.002},
        "imports": {**row, "actual": 0.035, "actual_se": 0.002},
        "balance": {**row, "actual": balance, "actual_se": 0.002},
    }


def test_size_verdict_names_the_flows_outside_the_band() -> None:
    assert results_md.size_verdict(_size(0.064)) == (
        "The calibrated test meets 5 % ± 1.5 points for every flow (exports, imports, balance)."
    )
    assert results_md.size_verdict(_size(0.066)).endswith("not for balance (6.6 %).")


def test_evaluation_section_lists_the_monte_carlo_error() -> None:
    text = "\n".join(results_md.evaluation_section({"size": _size(0.064)}))
    assert "| Monte Carlo s.e. |" in text and "| balance | 0.05 | 0.300 |" in text
    assert "0.064 | 0.002 | 5000 | 199 |" in text
