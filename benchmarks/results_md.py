"""``benchmarks/results.md`` from the measurements of ``bench.py`` (one function per section).

:func:`render` takes the dict :func:`bench.bench` returns; every number in the page comes from
it (or from the run's own files), nothing is typed in, except the list of costs removed by
earlier work, which says so.
"""

from __future__ import annotations

from typing import Any

from makeruns import (
    EMPTY_HTML,
    EMPTY_NB,
    EXTRA_PARTNER,
    PROBE_RUNS,
    TARGET_AGREEMENTS_SECONDS,
    TARGET_ALL_PARTNERS_SECONDS,
    TARGET_COLD_X_FLOOR,
    TARGET_NOOP_SHARE,
    TARGET_PARTNER_SECONDS,
    MakeRun,
    leaves,
)


def s(x: float | None, nd: int = 2) -> str:
    return "n/a" if x is None else f"{x:,.{nd}f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if i > 0 else "---" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _sum(run: MakeRun, *kinds: str) -> float:
    """Seconds of the run's commands of the given kinds."""
    return sum(c.seconds for k, _, c in leaves(run) if k in kinds)


def _nb(run: MakeRun, name: str) -> float | None:
    for kind, label, c in leaves(run):
        if kind == "notebook" and label.startswith(name):
            return c.seconds
    return None


def step_rows(
    run: MakeRun, cells: dict[str, float | None] | None = None
) -> tuple[list[list[str]], float]:
    """Rows ``step, seconds, papermill, in cells`` of a timed make run, and their total."""
    rows, total = [], 0.0
    by_out = {t["step"]: t["seconds"] for t in run.timings}
    for kind, label, c in leaves(run):
        if kind == "glue" and c.seconds < 0.05:
            continue  # counted with make itself
        total += c.seconds
        extra = ["", ""]
        if kind == "notebook":
            inside = (cells or {}).get(label)
            extra = [s(by_out.get(label.split(" -> ")[1])), s(inside) if inside is not None else ""]
        rows.append([label, s(c.seconds), *extra])
    return rows, total


def _met(seconds: float, target: float, extra: str = "") -> str:
    """``met (x s to spare)`` or ``**missed** by x s`` for a time against its target (seconds)."""
    gap = seconds - target
    return (
        f"met ({-gap:,.2f} s to spare{extra})"
        if gap <= 0
        else f"**missed** by {gap:,.2f} s" + (f" ({extra.removeprefix('; ')})" if extra else "")
    )


#: What the all-partners row says when the full run was not part of the benchmark.
NOT_MEASURED = "not measured in this run (needs --all-partners)"
#: The command that measures the full all-partners run.
ALL_PARTNERS_BENCH = "`make bench BENCH_ARGS=--all-partners`"


def _best(R: dict[str, Any]) -> str:
    n = len(R["cold_all"])
    return f"fastest of {n}" if n > 1 else "one run"


def _cold_over(R: dict[str, Any]) -> tuple[float, float]:
    """Seconds by which the cold run exceeds its target, and the run-to-run spread."""
    over = R["cold"].seconds - TARGET_COLD_X_FLOOR * R["floor"]
    spread = (max(R["cold_all"]) - min(R["cold_all"])) + TARGET_COLD_X_FLOOR * (
        max(R["floor_all"]) - min(R["floor_all"])
    )
    return over, spread


def _all_partners_label(R: dict[str, Any]) -> str:
    """The command of the full all-partners run (measured or not)."""
    jobs = R["jobs"]
    return f"`make -j{jobs} all-partners` after `make -j{jobs} all`: every country report"


def summary_rows(R: dict[str, Any]) -> list[list[str]]:
    """The rows of the summary table: the measurements, the five targets among them."""
    floor, cold, partner, sub = R["floor"], R["cold"].seconds, R["partner"].seconds, R["subset_run"]
    n_sub, jobs = len(R["subset"]), R["jobs"]
    cold_x, (over, spread) = cold / floor, _cold_over(R)
    noise = "; within the run-to-run spread" if 0 < over < spread else ""
    noop_share = R["noop"] / cold
    sub_serial = sum(c.seconds for k, _, c in leaves(sub) if k != "glue")
    rows = [
        [
            f"floor: the same analysis in one Python process (`benchmarks/floor.py`; {_best(R)})",
            s(floor),
            "1.00",
            "",
            "",
            "",
        ],
        [
            f"cold `make all` (fresh copy; data from the mirror; venv exists; {_best(R)})",
            s(cold),
            s(cold_x),
            "100 %",
            f"≤ {TARGET_COLD_X_FLOOR:g}× floor ({s(TARGET_COLD_X_FLOOR * floor)} s)",
            _met(cold, TARGET_COLD_X_FLOOR * floor, f"; {cold_x:.3f}×" + noise),
        ],
        [
            f"no-op `make all` after it (median of {len(R['noop_all'])})",
            s(R["noop"]),
            s(R["noop"] / floor, 3),
            f"{100 * noop_share:.2f} %",
            f"≤ {100 * TARGET_NOOP_SHARE:g} % of cold ({s(TARGET_NOOP_SHARE * cold)} s)",
            _met(R["noop"], TARGET_NOOP_SHARE * cold),
        ],
        [
            f"one more partner: `make report PARTNER={EXTRA_PARTNER}` after `make all`",
            s(partner),
            s(partner / floor),
            f"{100 * partner / cold:.1f} %",
            f"≤ {TARGET_PARTNER_SECONDS:g} s",
            _met(partner, TARGET_PARTNER_SECONDS),
        ],
        [
            f"{n_sub} partner reports, per partner: `make -j{jobs} reports/<slug>/trends.html … "
            f"reports/index.html` ({s(sub.seconds, 1)} s in all)",
            s(sub.seconds / n_sub),
            s(sub.seconds / n_sub / floor),
            f"{100 * sub.seconds / n_sub / cold:.1f} %",
            "",
            "",
        ],
        [
            f"… the same {n_sub} reports, sum of the command times (1 core), per partner",
            s(sub_serial / n_sub),
            s(sub_serial / n_sub / floor),
            "",
            "",
            "",
        ],
    ]
    all_target = f"≤ {TARGET_ALL_PARTNERS_SECONDS:g} s"
    if "all_partners_run" in R:
        secs, built = R["all_partners_run"].seconds, R["all_partners_built"]
        rows.append(
            [
                f"{_all_partners_label(R)} ({built} reports, {s(secs / max(1, built))} s a partner "
                f"amortised; {ALL_PARTNERS_BENCH})",
                s(secs),
                s(secs / floor),
                f"{100 * secs / cold:.0f} %",
                all_target,
                _met(secs, TARGET_ALL_PARTNERS_SECONDS),
            ]
        )
    else:
        rows.append(
            [f"{_all_partners_label(R)} ({ALL_PARTNERS_BENCH})", "n/a", "", "", all_target]
            + [NOT_MEASURED]
        )
    agr_label = "`make agreements` after `make all`: every U.S. FTA evaluated and compared"
    agr_target = f"≤ {TARGET_AGREEMENTS_SECONDS:g} s"
    if "agreements" in R:
        agr = R["agreements"].seconds
        rows.append(
            [
                agr_label,
                s(agr),
                s(agr / floor),
                f"{100 * agr / cold:.1f} %",
                agr_target,
                _met(agr, TARGET_AGREEMENTS_SECONDS),
            ]
        )
    else:
        rows.append([agr_label, "n/a", "", "", agr_target, "not measured in this run"])
    if "cold_j" in R:
        cj = R["cold_j"].seconds
        rows.append(
            [
                f"cold `make -j{jobs} all` (fresh copy)",
                s(cj),
                s(cj / floor),
                f"{100 * cj / cold:.0f} %",
                "",
                "",
            ]
        )
    if "venv_create" in R:
        rows.append(
            [
                "`make venv` into a new venv (PyPI; not part of the cold run)",
                s(R["venv_create"]),
                s(R["venv_create"] / floor),
                "",
                "",
                "",
            ]
        )
    return rows


def header_section(R: dict[str, Any]) -> list[str]:
    """Title, machine, versions, load, and the summary table with its notes."""
    v, m = R["versions"], R["machine"]
    out = [
        "# Benchmark results",
        "",
        f"Generated by `make bench` (`benchmarks/bench.py`) on {R['started']}. "
        "Every number below was measured by that run; see `benchmarks/README.md` for what each "
        "row times and how.",
        "",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['os']}, {m['make']}.",
        f"- Python {v['python']}; pandas {v['pandas']}, numpy {v['numpy']}, statsmodels {v['statsmodels']}, "
        f"scipy {v['scipy']}, matplotlib {v['matplotlib']}, papermill {v['papermill']}, nbconvert {v['nbconvert']}, "
        f"ipykernel {v['ipykernel']}.",
        f"- Load (the machine is shared; other jobs may have been running): before `{R['load_before']}`; "
        f"after `{R['load_after']}`.",
        f"- Each run used a fresh copy of the repository ({R['files_copied']} files from "
        "`git ls-files -co --exclude-standard`) and the existing virtual environment (`VENV=` this venv); "
        "the data came from `ANALYSIS_DATA_MIRROR`.",
        "",
        "## Summary",
        "",
        table(
            ["measurement", "seconds", "× floor", "% of cold", "target", "met?"], summary_rows(R)
        ),
        "",
    ]
    if len(R["cold_all"]) > 1:
        out += [
            f"Floor runs: {', '.join(s(x) for x in R['floor_all'])} s; cold runs: "
            f"{', '.join(s(x) for x in R['cold_all'])} s (alternately, each in a fresh copy); the fastest "
            "of each is used above and below.",
            "",
        ]
    same = R["same_results"]
    if same:
        out += [
            "The floor and the pipeline wrote "
            + ("identical" if all(same.values()) else "**different**")
            + " "
            + ", ".join(f"`{k}`" + ("" if ok else " (differs)") for k, ok in same.items())
            + ".",
            "",
        ]
    return out


def _glue(R: dict[str, Any]) -> float:
    """Make itself and the short glue commands of the cold run (wall minus the listed steps);
    negative when steps ran side by side (:func:`_busy`)."""
    return R["cold"].seconds - _busy(R)


def _busy(R: dict[str, Any]) -> float:
    """The cold run's listed steps, added up: their own time on one core."""
    return step_rows(R["cold"], R.get("notebook_cells"))[1]


def _side_by_side(R: dict[str, Any]) -> bool:
    """Did the cold run's steps overlap (``make all`` runs independent notebooks two at a time
    unless make is given ``-j``)? Then they add up to more than the wall time."""
    return _glue(R) < 0


def steps_section(R: dict[str, Any]) -> list[str]:
    """Time per step of the cold run."""
    cold = R["cold"]
    rows, _ = step_rows(cold, R["notebook_cells"])
    return [
        "## Time per step of the cold `make all`",
        "",
        "Each recipe command of the cold run above, in order (timed by a `SHELL` wrapper around bash). "
        "For notebooks, *papermill* is the time `analysis.pipeline.run_notebook` reports to `$ANALYSIS_TIMINGS` "
        "(papermill, kernel start to stop) and *in cells* the sum of the cell durations papermill "
        "stores; the rest of the process time is interpreter start, imports of papermill and the "
        "kernel's start-up.",
        "",
        table(
            ["step", "seconds", "papermill", "in cells"],
            rows
            + [
                (
                    ["make itself, partner lookup, params.json, mkdir", s(_glue(R)), "", ""]
                    if not _side_by_side(R)
                    else ["the steps above added up (they ran two at a time)", s(_busy(R)), "", ""]
                ),
                ["**total (wall)**", f"**{s(cold.seconds)}**", "", ""],
            ],
        ),
        "",
    ]


def versus_floor_section(R: dict[str, Any]) -> list[str]:
    """The cold run's parts beside the floor's phases."""
    cold, floor, ph = R["cold"], R["floor"], R["floor_phases"]
    trends_floor = sum(v for k, v in ph.items() if k.startswith("trends"))
    floor_in = ph.get("total (in process)", 0.0)
    return [
        "## Pipeline versus floor",
        "",
        table(
            ["part", "pipeline s", "floor s"],
            [
                [
                    "interpreter start, imports and exit",
                    "(in each step)",
                    s(floor - floor_in + ph.get("imports", 0.0)),
                ],
                ["data (copy from the mirror, verify)", s(_sum(cold, "data")), s(ph.get("data"))],
                ["cleaning (01_clean)", s(_nb(cold, "01_clean")), s(ph.get("clean"))],
                [
                    "Korea's trend models and figures (02_trends)",
                    s(_nb(cold, "02_trends")),
                    s(trends_floor),
                ],
                [
                    "KORUS context (03_partners)",
                    s(_nb(cold, "03_partners")),
                    s(ph.get("context (03_partners)")),
                ],
                [
                    "claims check (04_claims)",
                    s(_nb(cold, "04_claims")),
                    s(ph.get("claims (04_claims)")),
                ],
                [
                    "evaluation (05_evaluation)",
                    s(_nb(cold, "05_evaluation")),
                    s(ph.get("evaluation (05_evaluation)")),
                ],
                [
                    "sectors (06_sectors)",
                    s(_nb(cold, "06_sectors")),
                    s(ph.get("sectors (06_sectors)")),
                ],
                [
                    "vintages (07_vintages)",
                    s(_nb(cold, "07_vintages")),
                    s(ph.get("vintages (07_vintages)")),
                ],
                [
                    "product table and revisions",
                    "(in glue)",
                    s((ph.get("products") or 0.0) + (ph.get("revisions") or 0.0)),
                ],
                ["HTML pages of the notebooks (nbconvert)", s(_sum(cold, "html")), "none"],
                ["landing page", s(_sum(cold, "index")), s(ph.get("index.html"))],
                (
                    ["make and glue", s(_glue(R)), "none"]
                    if not _side_by_side(R)
                    else [
                        "make and glue (not told apart: the steps ran two at a time, "
                        f"{s(_busy(R))} s of commands in {s(cold.seconds)} s)",
                        "",
                        "none",
                    ]
                ),
                ["**total**", f"**{s(cold.seconds)}**", f"**{s(floor)}**"],
            ],
        ),
        "",
        "Floor phases (seconds, in process): "
        + ", ".join(f"{k} {s(v)}" for k, v in ph.items())
        + ".",
        "",
    ]


def partners_section(R: dict[str, Any]) -> list[str]:
    """One more partner's steps, and the all-partners subset."""
    partner, sub, jobs = R["partner"], R["subset_run"], R["jobs"]
    n_sub = len(R["subset"])
    sub_serial = sum(c.seconds for k, _, c in leaves(sub) if k != "glue")
    prow, _ = step_rows(partner, R["partner_cells"])
    if "all_partners_run" in R:
        secs = R["all_partners_run"].seconds
        full = (
            f"In another fresh copy, the full `make -j{jobs} all-partners` after `make -j{jobs} all` "
            f"built {R['all_partners_built']} reports in about {secs / 60:.0f} min, "
            f"{s(secs / max(1, R['all_partners_built']))} s per partner (summary table)."
        )
    else:
        full = (
            f"At that rate the {R['partners_listed']} reports would take about "
            f"{sub.seconds / n_sub * R['partners_listed'] / 60:.0f} min; `make -j{jobs} all-partners` "
            f"builds them in one batch process instead, and {ALL_PARTNERS_BENCH} measures it."
        )
    return [
        f"## One more partner (`make report PARTNER={EXTRA_PARTNER}`)",
        "",
        table(
            ["step", "seconds", "papermill", "in cells"],
            prow + [["**total (wall)**", f"**{s(partner.seconds)}**", "", ""]],
        ),
        "",
        f"## All partners: {n_sub} of the {R['partners_listed']} country reports with `make -j{jobs}`",
        "",
        f"Partners (spread evenly over `python -m analysis.partners list 2012-03`): {', '.join(R['subset'])}. "
        f"Wall time {s(sub.seconds, 1)} s, {s(sub.seconds / n_sub)} s per partner; the commands add up to "
        f"{s(sub_serial, 1)} s ({s(sub_serial / n_sub)} s per partner on one core), a parallel speed-up of "
        f"{sub_serial / sub.seconds:.2f} on {jobs} jobs. " + full,
        "",
    ]


def startup_section(R: dict[str, Any]) -> list[str]:
    """Start-up costs and import times."""
    return [
        "## Start-up costs",
        "",
        f"Median of {PROBE_RUNS} runs each, with the environment the Makefile exports (warm caches).",
        "",
        table(
            ["what", "seconds"],
            [[k, s(val)] for k, val in R["probes"].items()]
            + [
                [
                    "… of `import analysis.claims.check`: statsmodels, pulled in by `analysis.models.comparison` "
                    "(`-X importtime`, cumulative)",
                    s(R["claims_statsmodels"]),
                ]
            ],
        ),
        "",
        "`-X importtime` of all four notebooks' imports, self time by top-level package: "
        + ", ".join(f"{k} {s(val)} s" for k, val in list(R["importtime"].items())[:8])
        + ".",
        "",
    ]


def dominates_section(R: dict[str, Any]) -> list[str]:
    """What dominates: notebook start-up, figures, models."""
    cold, pr, fg, prof = R["cold"], R["probes"], R["figures"], R["profile"]
    nb_total = _sum(cold, "notebook")
    cells = sum(v for v in R["notebook_cells"].values() if v)
    imports = [pr[k] for k in pr if k.startswith("imports of")]
    rm = prof.get("run_models (profiled)", 0.0) or float("nan")
    return [
        "## What dominates",
        "",
        f"- **Notebook start-up.** Each of the 4 notebooks is a new interpreter plus a new kernel: an empty "
        f"notebook costs {s(pr[EMPTY_NB])} s, and each kernel then imports its own scientific stack "
        f"({', '.join(s(x) for x in imports)} s for notebooks 01..04, inside the first cells) where the "
        f"floor imports it once ({s(R['floor_phases'].get('imports'))} s). Outside their cells the notebook steps "
        f"spend {s(nb_total - cells)} s of {s(nb_total)} s. Each HTML page costs about {s(pr[EMPTY_HTML])} s "
        f"before any content (interpreter, nbconvert, template): {s(_sum(cold, 'html'))} s for the 4 pages.",
        f"- **Figures.** A figure takes {s(fg['build'] / fg['n'], 3)} s to build, {s(fg['png'] / fg['n'], 3)} s "
        f"to save as PNG and {s(fg['svg'] / fg['n'], 3)} s as SVG (mean of 3 of the project's figures); the "
        f"notebooks show the saved PNG, so nothing is rendered twice. The cold run makes "
        f"{R['displayed_figures']} figures.",
        f"- **Models.** `models.run_models` for Korea takes {s(rm)} s (profiled): the counterfactual "
        f"(SARIMAX fits and 1000 simulated paths per series) {s(prof.get('counterfactual'))} s, the "
        f"unknown-date break search (`supf_search`) {s(prof.get('supf_search'))} s (its bootstrap, "
        f"`hac_wald_boot`, {s(prof.get('hac_wald_boot'))} s for 3 series × 999 replications), the ITS "
        f"fits with their bootstrap {s(prof.get('fit_its'))} s. The pipeline and the floor do the same work.",
        "",
    ]


#: Costs removed by earlier work (measured when they were removed, not by this run).
COSTS_REMOVED = [
    "## Costs already removed",
    "",
    "- The optional `rfc3987-syntax` plugin of jsonschema is uninstalled in the venv (`make venv`): "
    "it added about 2 s to every Jupyter process start (papermill, nbconvert, the kernel; measured "
    "when it was removed, not by this run).",
    "- The bootstrap of the break search is one matrix product over all replications "
    "(`analysis.models.breaks.hac_wald_boot`), not a loop over them, with the same statistics (a unit test "
    "compares the two paths).",
    "- Figures are rendered once per format: `display(figures.save_figure(...))` embeds the saved PNG "
    "(before, `display(fig)` rendered every figure a third time).",
    "- Kernels talk to papermill over local IPC sockets, not TCP (no port allocation, no warning).",
    "- `analysis.pipeline.run_notebook` starts the kernel before it imports papermill (the two overlap), "
    "takes the kernel's `idle` status for its `kernel_info` request as the sign that it is ready "
    "(jupyter_client waits for 0.2 s of silence on IOPub) and checks every 10 ms, not 100 ms, "
    "whether the kernel has exited after the shutdown request: an empty notebook went from about "
    "0.87 s to the figure in the table above (0.87 s measured before the change, not by this run).",
    "- BLAS is single-threaded (`OPENBLAS_NUM_THREADS=1`, `OMP_NUM_THREADS=1`): multi-threaded "
    "OpenBLAS on 2 shared cores made a SARIMAX fit up to 50× slower (measured when it was set, "
    "not by this run).",
    "- matplotlib, IPython and Jupyter state live under `build/cache` (the font cache is built once "
    "per checkout, no scans of `$HOME`).",
    "- `analysis.sources.acquire`, `analysis.params` and `analysis.partners` import only the standard "
    "library, so make's bookkeeping commands (and the no-op run) take milliseconds; papermill and "
    "nbconvert are imported only where they are used; `analysis.models.comparison` loads statsmodels lazily.",
    "- A notebook is written once, when every cell has run: papermill's default save after each "
    "cell's start and end serialised the whole notebook, figures included, on the way from one cell "
    "to the next (a third of the partner batch's own CPU, about 1 s a partner; measured when it was "
    "removed, not by this run).",
    "- A process that publishes many pages (the partner batch) makes one HTML exporter, so the "
    "templates are compiled once, not for every page (about 0.2 s a page).",
    "- Date axes recall their ticks and labels for the view they last worked out: the constrained "
    "layout and the drawing ask hundreds of times a figure, each through dateutil's rrule "
    "(identical figures).",
    "- make starts no Python for the raw files' stamps when no raw file or stamp was written since "
    "their last refresh (`build/stamps/keys`, GNU `stat`): a no-op `make all` went from about 0.6 s "
    "to about 0.3 s (measured when it was changed, not by this run).",
    "",
]


def _cold_target(R: dict[str, Any]) -> str:
    floor, cold_x, jobs = R["floor"], R["cold"].seconds / R["floor"], R["jobs"]
    over, spread = _cold_over(R)
    if cold_x <= TARGET_COLD_X_FLOOR:
        verdict = f"met, {-over:.2f} s to spare"
    elif over < spread:
        verdict = (
            f"missed by {over:.2f} s, less than the run-to-run spread of {spread:.2f} s on this shared "
            "machine: on the line, neither clearly met nor clearly missed"
        )
    else:
        verdict = f"missed by {over:.2f} s"
    parallel = (
        f"With parallel jobs, `make -j{jobs} all` took {s(R['cold_j'].seconds)} s "
        f"({R['cold_j'].seconds / floor:.2f}× the one-process floor, on more than one core)."
        if "cold_j" in R
        else ""
    )
    cores = (
        "`make all` runs independent notebooks two at a time unless make is given `-j`, so this "
        "wall time used both cores where the floor uses one; its steps' own times add up to "
        f"{s(_busy(R))} s ({_busy(R) / floor:.2f}× the floor). "
        if _side_by_side(R)
        else ""
    )
    return (
        f"- **Cold `make all` ≤ {TARGET_COLD_X_FLOOR:g}× floor:** {cold_x:.3f}× "
        f"({s(R['cold'].seconds)} s against {s(floor)} s for `benchmarks/floor.py`; {verdict}). "
        + cores
        + "What the pipeline adds to the floor is the notebook machinery (kernels, their imports, "
        "the HTML pages): see the two tables above. " + parallel
    )


def _verdict(seconds: float, target: float) -> str:
    gap = seconds - target
    return f"met, {abs(gap):.2f} s to spare" if gap <= 0 else f"missed by {gap:.2f} s"


def _partner_target(R: dict[str, Any]) -> str:
    """The one-more-partner target: the measured seconds, what they are made of, and what
    reaching the target would take."""
    partner, target = R["partner"], TARGET_PARTNER_SECONDS
    pk, cells = R.get("partner_kinds", {}), R.get("partner_cells", {})
    notebooks = trends_first([label for k, label, _ in leaves(partner) if k == "notebook"])
    p_nb, p_html = _sum(partner, "notebook"), _sum(partner, "html")
    n_html = sum(1 for k, _, _ in leaves(partner) if k == "html")
    p_cells = sum(v for v in cells.values() if v)
    # Steps side by side (make -j) add up to more than the wall time: the parts below are then
    # those of the commands' own time, on one core.
    busy = sum(c.seconds for _, _, c in leaves(partner))
    base = max(partner.seconds, busy)
    p_machinery, p_other = p_nb - p_cells, base - p_nb - p_html
    fixed = p_machinery + p_html + p_other + pk.get("imports", 0.0)
    later = [(label.split(" -> ")[0], cells.get(label) or 0.0) for label in notebooks[1:]]
    work = base - fixed
    first = notebooks[0].split(" -> ")[0] if notebooks else "the first notebook"
    parts = (
        f"The {s(partner.seconds)} s are: "
        if base == partner.seconds
        else f"Its steps ran side by side on two cores; their own times, {s(base)} s, are: "
    )
    text = (
        f"- **One more partner ≤ {target:g} s** (`make report PARTNER={EXTRA_PARTNER}` after "
        f"`make all`): {s(partner.seconds)} s ({_verdict(partner.seconds, target)}). "
        + parts
        + f"{len(notebooks)} notebook runs outside their cells (interpreter, papermill, kernel start "
        f"and stop) {s(p_machinery)} s, the first cell of {first} (imports and data) "
        f"{s(pk.get('imports'))} s, {n_html} HTML pages {s(p_html)} s, make, `params.json` and the "
        f"landing page {s(p_other)} s — {s(fixed)} s paid again for every partner before any model "
        f"or figure — then the report's own work, {s(work)} s: `run_models` {s(pk.get('models'))} s, "
        f"the cells that draw and save the figures (with their tables) {s(pk.get('figures'))} s and "
        f"the other cells {s(pk.get('other'))} s of {first}"
        + "".join(f", the cells of {name} {s(secs)} s" for name, secs in later)
        + ". "
    )
    gap = partner.seconds - target
    if gap <= 0:
        return text
    if work <= target:
        what = (
            f"without the per-partner overhead the report's own work ({s(work)} s) would meet it, "
            f"so cutting {s(gap)} s of the {s(fixed)} s overhead would do (a kept kernel with the "
            "imports paid once, fewer processes and pages per report)."
        )
    else:
        what = (
            f"even with no overhead at all the report's own work ({s(work)} s) exceeds {target:g} s: "
            f"the overhead would have to go and the models and figures shrink by {s(work - target)} s "
            "too (faster models or fewer of them, fewer figures or formats)."
        )
    return text + f"Reaching {target:g} s takes {s(gap)} s less: " + what


def trends_first(labels: list[str]) -> list[str]:
    """Notebook step labels with the trends notebook's first (the steps of a partner report
    start side by side, in either order)."""
    return sorted(labels, key=lambda label: not label.startswith("02_trends"))


def _all_partners_target(R: dict[str, Any]) -> str:
    """The all-partners target: the full run's seconds and its time per partner, or why the
    row is empty."""
    jobs, target = R["jobs"], TARGET_ALL_PARTNERS_SECONDS
    head = f"- **`make all-partners` ≤ {target:g} s** (every country report, on {jobs} jobs): "
    if "all_partners_run" not in R:
        sub, n_sub = R["subset_run"], len(R["subset"])
        return (
            head + f"{NOT_MEASURED}; {ALL_PARTNERS_BENCH} runs `make -j{jobs} all-partners` after "
            f"`make -j{jobs} all` in a fresh copy. The {n_sub} reports above (`make -j{jobs}` of their "
            "pages: a process per notebook and page, not the batch `make all-partners` uses) took "
            f"{s(sub.seconds / n_sub)} s a partner, against {s(target / R['partners_listed'])} s "
            f"a partner allowed for the {R['partners_listed']} listed."
        )
    secs, built = R["all_partners_run"].seconds, max(1, R["all_partners_built"])
    return (
        head + f"{s(secs)} s for {R['all_partners_built']} reports, {s(secs / built)} s a partner "
        f"amortised against {s(target / built)} s allowed ({_verdict(secs, target)}); "
        f"`make -j{jobs} all-partners` after `make -j{jobs} all` in a fresh copy, run by "
        f"{ALL_PARTNERS_BENCH}." + _x13_share(R["all_partners_run"], jobs)
    )


def _x13_share(run: MakeRun, jobs: int) -> str:
    """What X-13ARIMA-SEATS took of a run (its runs report to ``$ANALYSIS_TIMINGS``), and the
    wall time it alone needs on ``jobs`` cores; empty when the run recorded none."""
    x13 = [t["seconds"] for t in run.timings if t.get("kind") == "x13"]
    if not x13:
        return ""
    total = sum(x13)
    return (
        f" X-13ARIMA-SEATS ran {len(x13)} times in it, {s(total)} s in all ({s(total / len(x13))} s "
        f"a series, the program's automatic model identification): {s(total / jobs)} s of the "
        f"wall time on {jobs} cores at the least, however the rest is arranged."
    )


def targets_section(R: dict[str, Any]) -> list[str]:
    """The five targets, each with its measurement and verdict, and the no-op check."""
    cold, noop = R["cold"].seconds, R["noop"]
    noop_share = noop / cold
    agreements = (
        f"{s(R['agreements'].seconds)} s "
        f"({_verdict(R['agreements'].seconds, TARGET_AGREEMENTS_SECONDS)})."
        if "agreements" in R
        else "not measured in this run."
    )
    out = [
        "## Targets",
        "",
        _cold_target(R),
        f"- **No-op `make all` ≤ {100 * TARGET_NOOP_SHARE:g} % of cold:** {s(noop)} s, "
        f"{100 * noop_share:.2f} % ({_verdict(noop, TARGET_NOOP_SHARE * cold)})."
        + " It is make reading the Makefile six times (`make all` and its sub-makes: context pages,"
        " the default partner's report and its pages, every partner page, the landing page), each"
        " time comparing the raw files' and their stamps' `stat` keys with the ones recorded when"
        " the stamps were last refreshed (no Python process when nothing was written), and two"
        " Python commands (partner slug, params.json).",
        _partner_target(R),
        _all_partners_target(R),
        f"- **`make agreements` ≤ {TARGET_AGREEMENTS_SECONDS:g} s** (after `make all`: every U.S. "
        f"FTA evaluated and compared): " + agreements,
        "",
    ]
    if R["noop_rewritten"]:
        out += [
            f"Warning: the no-op runs rewrote {len(R['noop_rewritten'])} file(s): "
            + ", ".join(f"`{p}`" for p in R["noop_rewritten"][:10])
            + ".",
            "",
        ]
    else:
        out += [
            "The no-op runs rewrote no file under `data/`, `reports/` or `build/notebooks/`.",
            "",
        ]
    return out


def size_verdict(size: dict[str, Any], target: float = 0.05, tol: float = 0.015) -> str:
    """Which flows' calibrated tests meet ``target`` +- ``tol`` (the issue's 5 % +- 1.5 points)."""
    met = [f for f, r in size.items() if abs(r["actual"] - target) <= tol]
    missed = [f"{f} ({100 * r['actual']:.1f} %)" for f, r in size.items() if f not in met]
    band = f"{100 * target:g} % ± {100 * tol:g} points"
    if not missed:
        return f"The calibrated test meets {band} for every flow ({', '.join(met)})."
    return (
        f"The calibrated test meets {band} for {', '.join(met) or 'no flow'}; "
        f"not for {', '.join(missed)}."
    )


#: Largest acceptable size under either noise model, and the Monte Carlo widening below
#: ``FULL_DRAWS`` draws (the same rule as ``analysis.models.size.meets_target``).
SIZE_LIMIT, MC_WIDEN, FULL_DRAWS = 0.065, 2.5, 2000


def noise_verdict(size: dict[str, Any]) -> str:
    """Whether every flow's reported test has a size of at most :data:`SIZE_LIMIT` under every
    noise model of ``by_noise`` (widened by :data:`MC_WIDEN` Monte Carlo s.e. below
    :data:`FULL_DRAWS` draws), naming the misses."""
    missed = []
    for flow, r in size.items():
        for b in r.get("by_noise") or []:
            bound = SIZE_LIMIT + (
                MC_WIDEN * float(b.get("actual_se") or 0) if int(b["n_sim"]) < FULL_DRAWS else 0
            )
            if float(b["actual"]) > bound:
                missed.append(f"{flow} with {b['noise']} noise ({100 * b['actual']:.1f} %)")
    rule = (
        f"at most {100 * SIZE_LIMIT:g} % (plus {MC_WIDEN:g} Monte Carlo s.e. below "
        f"{FULL_DRAWS} draws)"
    )
    if not missed:
        return f"The reported test's size is {rule} for every flow under both noise models."
    return f"The reported test's size is not {rule} for {', '.join(missed)}."


def size_lines(size: dict[str, Any]) -> list[str]:
    """The size tables of the trend tests (``benchmarks/size.json``): the break-model table and,
    when present, size and power by noise model (``by_noise``); the ``stamp`` is left out."""
    order = ("exports", "imports", "balance")
    size = {
        f: size[f]
        for f in sorted(
            (f for f, r in size.items() if isinstance(r, dict) and "actual" in r),
            key=lambda f: (f not in order, order.index(f) if f in order else 0, f),
        )
    }
    if not size:
        return []
    rows = [
        [
            flow,
            s(r["nominal"]),
            s(r["actual_hac"], 3),
            s(r.get("actual_boot"), 3),
            s(r["actual"], 3),
            s(r.get("actual_se"), 3),
            str(r["n_sim"]),
            str(r.get("n_boot", "")),
        ]
        for flow, r in size.items()
    ]
    out = [
        "",
        "Size of the segmented-trend tests at a nominal 5 % (share of simulated series with the "
        "flow's fitted dynamics and no break in which a test rejects, pooled over the level and "
        "slope tests at both breaks; `benchmarks/size_sim.py`, seed 20120315, written to "
        "`benchmarks/size.json`):",
        "",
        table(
            [
                "flow",
                "nominal",
                "plain HAC",
                "residual AR bootstrap",
                "calibrated (reported)",
                "Monte Carlo s.e.",
                "draws",
                "bootstrap replications",
            ],
            rows,
        ),
        "",
        size_verdict(size),
    ]
    noise_rows = [
        [
            flow,
            str(b["noise"]),
            s(b["actual"], 3),
            s(b.get("actual_se"), 3),
            s(b.get("actual_unrestricted"), 3),
            s(b.get("actual_hac"), 3),
            s(b.get("power"), 3),
            s(b.get("planted"), 3),
            s(sum(b["ar_params"]), 3) if b.get("ar_params") else "",
            str(b["n_sim"]),
        ]
        for flow, r in size.items()
        for b in r.get("by_noise") or []
    ]
    if noise_rows:
        out += [
            "",
            "Size and power by noise model: the simulated series' AR noise fitted to the break "
            "model's residuals (`break_model`) or to the no-break model's (`null_model`). The "
            "reported test imposes the null (noise fitted to the residuals of the model without "
            "the tested break); the earlier test fitted it to the full model's residuals. Power: "
            "share of series in which the reported level test at the first break rejects when "
            "Korea's estimated level change there (`planted`, log points or US$ millions) is "
            "added:",
            "",
            table(
                [
                    "flow",
                    "noise",
                    "size (reported)",
                    "Monte Carlo s.e.",
                    "earlier test",
                    "plain HAC",
                    "power",
                    "planted",
                    "AR sum",
                    "draws",
                ],
                noise_rows,
            ),
            "",
            noise_verdict(size),
        ]
    return out


def evaluation_section(R: dict[str, Any]) -> list[str]:
    """The evaluation's batch jobs: the synthetic-control placebos (timed by the benchmark)
    and the size simulation of the trend tests (``benchmarks/size.json``, from size_sim.py)."""
    out = ["", "## Evaluation batch jobs", ""]
    synth = R.get("synth")
    if synth:
        rows = [
            [f"placebo in space, {flow}, whole eligible pool", f"{n} donors", s(secs, 3)]
            for flow, (secs, n) in synth.items()
        ]
        out += [
            "Synthetic control for Korea: the same fit for every donor (target: at most 15 s for "
            "about 150 donors on this 2-core machine).",
            "",
            table(["job", "size", "seconds"], rows),
        ]
    out += size_lines(R.get("size") or {})
    out.append("")
    return out if len(out) > 3 else []


def render(R: dict[str, Any]) -> str:
    """``benchmarks/results.md`` from the measurements of :func:`bench`."""
    return "\n".join(
        header_section(R)
        + steps_section(R)
        + versus_floor_section(R)
        + partners_section(R)
        + startup_section(R)
        + dominates_section(R)
        + COSTS_REMOVED
        + evaluation_section(R)
        + targets_section(R)
    )
