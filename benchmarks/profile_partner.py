"""Where one partner's ``02_trends`` spends its time: the notebook's cells under cProfile.

``python benchmarks/profile_partner.py --root DIR --partner SLUG [--top N] [--out FILE]``

Runs ``notebooks/02_trends.ipynb`` in one process as :mod:`benchmarks.floor` does (its
parameters cell, then ``reports/<SLUG>/params.json`` and the Makefile's ``-r`` parameters,
then every code cell), under :mod:`cProfile`, after the imports (timed apart); with
``--warm``, after one untimed run that pays the first-call costs and fills the in-process
caches. ``DIR`` is a built repository (``make all`` has run there, and
``reports/<SLUG>/params.json`` exists); the run writes that partner's outputs again. Prints
the wall time of each code cell and the ``N`` functions with the largest cumulative time;
``--out`` also keeps the raw profile (``python -m pstats FILE``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor  # noqa: E402  (the benchmark's in-process notebook runner)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, required=True, help="a built copy of the repository")
    ap.add_argument("--partner", required=True, help="the report folder (slug), e.g. japan")
    ap.add_argument("--top", type=int, default=30, help="functions listed (cumulative time)")
    ap.add_argument(
        "--warm", action="store_true", help="profile a second run (in-process caches warm)"
    )
    ap.add_argument("--out", type=Path, default=None, help="also write the raw profile here")
    args = ap.parse_args(argv)
    root = args.root.resolve()
    floor._environment(root)
    os.chdir(root)
    t0 = time.perf_counter()
    import analysis.models.run  # noqa: F401
    import analysis.report.figures  # noqa: F401

    imports = time.perf_counter() - t0
    params = json.loads((root / "reports" / args.partner / "params.json").read_text("utf-8"))
    params.update(out_dir=f"reports/{args.partner}", data_path="data/processed/trade_monthly.csv")
    nb = root / "notebooks" / "02_trends.ipynb"
    cells = floor.notebook_cells(nb)
    with floor.displays_dropped() as display:
        first = 0.0
        if args.warm:
            t0 = time.perf_counter()
            floor.run_notebook(nb, params, display)
            first = time.perf_counter() - t0
        # Cell by cell (the cells share one namespace, as in the kernel).
        ns: dict = {"__name__": "__main__", "display": display}
        times = []
        prof = cProfile.Profile()
        for i, (source, is_params) in enumerate(cells, 1):
            t0 = time.perf_counter()
            prof.enable()
            exec(compile(source, f"<cell {i}>", "exec"), ns)
            prof.disable()
            times.append((i, time.perf_counter() - t0, source.strip().splitlines()[0][:70]))
            if is_params:
                ns.update(params)
    warm = f"; warm-up run {first:.2f} s" if args.warm else ""
    print(f"imports {imports:.2f} s{warm}; profiled run:")
    for i, sec, head in times:
        print(f"  cell {i:2d} {sec:6.2f} s  {head}")
    print(f"  total  {sum(t for _, t, _ in times):6.2f} s")
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(args.top)
    print(buf.getvalue())
    if args.out:
        prof.dump_stats(str(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
