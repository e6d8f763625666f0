"""Actual size at 5 % of the trend tests on Korea's fitted dynamics, as a markdown table.

``python benchmarks/size_sim.py [--data data/processed/trade_monthly.csv] [--partner 5800]
[--n-sim 500] [--n-boot 199] [--jobs 2] [--json OUT]`` (run from the repository root after
``make data``). Each flow has its own seed, so ``--jobs`` (flows in parallel processes) gives
the same numbers as one process. Every flow is simulated under both noise models of
:mod:`analysis.models.size` (AR noise fitted to the break model's and to the no-break model's
residuals), with the power of the reported test against Korea's estimated level change at the
first break. The JSON carries a ``stamp`` (hashes of the code and the series,
:func:`analysis.models.size.size_stamp`), by which the evaluation page refuses a stale record.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

from analysis import external  # noqa: E402
from analysis.clean import series  # noqa: E402
from analysis.fileio import write_json_atomic  # noqa: E402
from analysis.models.base import SEED, SERIES  # noqa: E402
from analysis.models.size import size_simulation, size_stamp  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def one_flow(flow: str, monthly, breaks: list[str], n_sim: int, n_boot: int, seed: int) -> dict:
    """:func:`size_simulation` of one flow (a job of its own)."""
    return size_simulation(
        monthly, breaks=breaks, n_sim=n_sim, n_boot=n_boot, seed=seed, flows=[flow]
    )[flow]


def main() -> None:
    """Run :func:`analysis.models.size.size_simulation` on the real data and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/processed/trade_monthly.csv")
    ap.add_argument("--partner", default="5800")
    ap.add_argument("--start", default="2000-01")
    ap.add_argument("--n-sim", type=int, default=500)
    ap.add_argument("--n-boot", type=int, default=199)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    trade = series.load_trade(a.data)
    who = series.resolve_partner(trade, a.partner)
    monthly = series.partner_monthly(trade, who.code, a.start, "")
    t0 = time.perf_counter()
    # The partner's own agreement months (data/external/us_ftas.csv) are the breaks tested.
    breaks = external.agreement_months(who.code)
    run = partial(
        one_flow, monthly=monthly, breaks=breaks, n_sim=a.n_sim, n_boot=a.n_boot, seed=a.seed
    )
    with ProcessPoolExecutor(max_workers=max(1, min(a.jobs, len(SERIES)))) as pool:
        out = dict(zip(SERIES, pool.map(run, SERIES), strict=True))
    secs = time.perf_counter() - t0
    print(
        f"Size at a nominal 5 %, {who.name}, {monthly.index[0]:%Y-%m}..{monthly.index[-1]:%Y-%m}, "
        f"seed {a.seed}, {secs:.0f} s\n"
    )
    print(
        "| flow | nominal | plain HAC | residual AR bootstrap | calibrated (MC s.e.) | n_sim | "
        "n_boot | AR |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for flow, r in out.items():
        print(
            f"| {flow} | {r['nominal']:.2f} | {r['actual_hac']:.3f} | {r['actual_boot']:.3f} | "
            f"{r['actual']:.3f} ({r['actual_se']:.3f}) | {r['n_sim']} | {r['n_boot']} | "
            f"{len(r['ar_params'])} |"
        )
    print("\nBy noise model (reported test; earlier test fitted to the full model's residuals):\n")
    print("| flow | noise | size (MC s.e.) | earlier test | plain HAC | power | planted | AR sum |")
    print("|---|---|---|---|---|---|---|---|")
    for flow, r in out.items():
        for b in r["by_noise"]:
            print(
                f"| {flow} | {b['noise']} | {b['actual']:.3f} ({b['actual_se']:.3f}) | "
                f"{b.get('actual_unrestricted', float('nan')):.3f} | {b['actual_hac']:.3f} | "
                f"{b.get('power', float('nan')):.3f} | {b.get('planted', float('nan')):.4g} | "
                f"{sum(b['ar_params']):.3f} |"
            )
    print("\nBy test (reported / plain HAC), break-model noise:\n")
    for flow, r in out.items():
        cells = ", ".join(
            f"{t} {v['actual']:.3f} / {v['actual_hac']:.3f}" for t, v in r["by_test"].items()
        )
        print(f"- {flow}: {cells}")
    print(f"\nReported test: {next(iter(out.values()))['method']}.")
    if a.json:
        stamp = size_stamp(ROOT, monthly, a.partner, a.start)
        write_json_atomic(a.json, {**out, "stamp": stamp})


if __name__ == "__main__":
    main()
