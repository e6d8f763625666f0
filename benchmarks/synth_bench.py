"""Benchmark of the synthetic-control placebo batch (analysis.models.synth) on the real table.

``python benchmarks/synth_bench.py [--table data/processed/trade_monthly.csv] [--repeat 3]``

Times, on the cleaned monthly table, (1) the placebo-in-space run over every eligible donor
(``min_flow=None``: the whole pool, ~170 partners) for exports and for imports, each donor fitted
with the other donors as its pool, and (2) the full :func:`analysis.models.synth.evaluation`
(default donor floor; both flows; placebos in space and in time). Prints the best of
``--repeat`` wall times and the donor counts. Reading the table is timed separately. Errors print
one ``error: ...`` line and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from analysis import config  # noqa: E402
from analysis.clean.series import load_trade  # noqa: E402
from analysis.errors import AnalysisError  # noqa: E402
from analysis.models import synth  # noqa: E402


def best_of(repeat: int, func) -> tuple[float, object]:
    """Fastest wall time of ``repeat`` calls of ``func`` and the last result."""
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - start)
    return min(times), out


def placebo_batch(trade, flow: str) -> int:
    """Placebo in space over the whole eligible pool of ``flow``; returns the donor count."""
    pool = synth.donor_pool(trade, 2000, 2018, synth.FTA_PARTNERS)
    panel = synth.annual_log_panel(trade, flow, [synth.KOREA, *pool], 2000, 2018)
    donors = [c for c in synth.usable(panel) if c != synth.KOREA]
    ratios = synth.placebo_ratios(panel, synth.KOREA, donors, 2012, 2018)
    return len(ratios) - 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=config.TRADE_MONTHLY_CSV)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        t_load, trade = best_of(1, lambda: load_trade(args.table))
        print(f"load table: {t_load:.2f} s ({args.table})")
        for flow in synth.FLOWS:
            secs, n = best_of(args.repeat, lambda flow=flow: placebo_batch(trade, flow))
            print(f"placebo in space, {flow}, whole eligible pool: {secs:.3f} s for {n} donors")
        secs, out = best_of(args.repeat, lambda: synth.evaluation(trade))
        counts = ", ".join(f"{f} {out[f]['n_donors']} donors" for f in synth.FLOWS)
        print(
            f"evaluation (both flows, placebos in space and time, default floor): {secs:.3f} s ({counts})"
        )
        secs, out = best_of(args.repeat, lambda: synth.evaluation(trade, min_flow=None))
        counts = ", ".join(f"{f} {out[f]['n_donors']} donors" for f in synth.FLOWS)
        print(f"evaluation, whole eligible pool (min_flow=None): {secs:.3f} s ({counts})")
    except AnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
