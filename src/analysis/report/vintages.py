"""The vintages page: how Census revised trade by partner, and whether KORUS findings change with revisions."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from analysis.clean import revisions as rev
from analysis.errors import DataError
from analysis.models import vintages as vm
from analysis.report import fmt, theme
from analysis.report.figures import display_name, headline, source_line
from analysis.report.markup import escape_md

PAIR_LABELS: dict[tuple[str, str], str] = {
    (rev.LABEL_TABLE_2016, rev.LABEL_XLSX): "2017 table → 2024 xlsx",
    (rev.LABEL_TABLE_2016, rev.LABEL_API): "2017 table → 2025 API",
    (rev.LABEL_XLSX, rev.LABEL_API): "2024 xlsx → 2025 API",
}
#: The pairs of consecutive vintages (the figure's panels; the third pair adds both).
CONSECUTIVE_PAIRS: tuple[tuple[str, str], ...] = (
    (rev.LABEL_TABLE_2016, rev.LABEL_XLSX),
    (rev.LABEL_XLSX, rev.LABEL_API),
)
SOURCE = (
    "Source: U.S. Census Bureau, U.S. goods trade by country, three vintages (table of Jan 2017, "
    "country.xlsx of Jun 2024, International Trade API of Oct 2025); annual totals, US$ millions."
)


def load_revisions(path: str | Path) -> pd.DataFrame | None:
    """``revisions.csv`` (:mod:`analysis.clean.revisions`), None when it does not exist."""
    path = Path(path)
    if not path.is_file():
        return None
    df = pd.read_csv(path, dtype={"partner": str, "flow": str, "vintage_a": str, "vintage_b": str})
    if tuple(df.columns) != rev.COLUMNS:
        raise DataError(path, f"columns {list(df.columns)}, expected {list(rev.COLUMNS)}")
    return df


def no_revisions_line(path: str | Path) -> str:
    """One line when there is no revisions table: what it needs."""
    return (
        f"No revisions table (`{escape_md(Path(path).name)}` is absent): `make revisions` builds it from a "
        "second vintage of the Census data (the 2016 table or the Census API extracts, from the data mirror)."
    )


def pair_label(a: str, b: str) -> str:
    """``"2017 table → 2024 xlsx"`` for a pair of vintage labels."""
    return PAIR_LABELS.get((a, b), f"{a} → {b}")


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per pair of vintages: years compared, partner-years, share revised, median and largest
    absolute revision (countries only, codes >= 1000)."""
    c = df[df["partner_code"] >= rev.COUNTRY_CODE_MIN]
    g = c.assign(abs_rev=c["revision"].abs(), abs_pct=c["revision_pct"].abs()).groupby(
        ["vintage_a", "vintage_b"]
    )
    out = g.agg(
        first=("year", "min"),
        last=("year", "max"),
        n=("revision", "size"),
        revised=("abs_rev", lambda s: 100.0 * float((s >= 0.05).mean())),
        median_pct=("abs_pct", "median"),
        largest=("abs_rev", "max"),
    ).reset_index()
    return pd.DataFrame(
        {
            "Vintages": [
                pair_label(a, b) for a, b in zip(out["vintage_a"], out["vintage_b"], strict=True)
            ],
            "Years": [f"{a}–{b}" for a, b in zip(out["first"], out["last"], strict=True)],
            "Country-flow-years": out["n"],
            "Revised by US$ 0.05 mn or more (%)": [fmt.number(v, 1) for v in out["revised"]],
            "Median |revision| (%)": [fmt.number(v, 2) for v in out["median_pct"]],
            "Largest |revision| (US$ mn)": [fmt.number(v, 0) for v in out["largest"]],
        }
    )


def largest_table(df: pd.DataFrame, n: int = 15) -> pd.DataFrame:
    """The ``n`` largest revisions in US$ (countries only), with both values and the percent."""
    c = df[df["partner_code"] >= rev.COUNTRY_CODE_MIN]
    top = c.loc[c["revision"].abs().sort_values(ascending=False).index[:n]]
    return _revision_rows(top, partner=True)


def _revision_rows(rows: pd.DataFrame, partner: bool) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "Partner": [display_name(p) for p in rows["partner"]],
            "Flow": rows["flow"].to_numpy(),
            "Year": rows["year"].to_numpy(),
            "Vintages": [
                pair_label(a, b) for a, b in zip(rows["vintage_a"], rows["vintage_b"], strict=True)
            ],
            "Older (US$ mn)": [fmt.number(v, 1) for v in rows["value_a"]],
            "Newer (US$ mn)": [fmt.number(v, 1) for v in rows["value_b"]],
            "Revision (US$ mn)": [fmt.number(v, 1, sign=True) for v in rows["revision"]],
            "Revision (%)": [
                fmt.pct(v, sign=True) if fmt.num(v) is not None else fmt.MISSING
                for v in rows["revision_pct"]
            ],
        }
    )
    return out if partner else out.drop(columns="Partner")


def partner_table(df: pd.DataFrame, code: int, first_year: int = 2000) -> pd.DataFrame:
    """A partner's revisions (US$ mn, newer minus older) by year from ``first_year``: one
    column per pair of consecutive vintages and flow; ``–`` where a pair has no full year."""
    rows = df[(df["partner_code"] == int(code)) & (df["year"] >= first_year)]
    out = pd.DataFrame({"Year": sorted(rows["year"].unique())})
    for a, b in CONSECUTIVE_PAIRS:
        for flow in ("exports", "imports"):
            part = rows[
                (rows["vintage_a"] == a) & (rows["vintage_b"] == b) & (rows["flow"] == flow)
            ]
            values = part.set_index("year")["revision"].reindex(out["Year"])
            out[f"{pair_label(a, b)}: {flow} (US$ mn)"] = [
                fmt.number(v, 1, sign=True) if fmt.num(v) is not None else fmt.MISSING
                for v in values
            ]
    return out


def pct_by_year(df: pd.DataFrame, code: int, a: str, b: str) -> pd.DataFrame:
    """Revision (%) by year and flow for the partner and the median over countries: columns
    ``year, flow, partner, median`` for the pair ``a -> b``."""
    pair = df[
        (df["vintage_a"] == a)
        & (df["vintage_b"] == b)
        & (df["partner_code"] >= rev.COUNTRY_CODE_MIN)
    ]
    med = pair.groupby(["year", "flow"])["revision_pct"].median().rename("median")
    own = (
        pair[pair["partner_code"] == int(code)]
        .set_index(["year", "flow"])["revision_pct"]
        .rename("partner")
    )
    return pd.concat([own, med], axis=1).reset_index().sort_values(["flow", "year"])


def plot_revision_pct(by_pair: Mapping[tuple[str, str], pd.DataFrame], partner: str) -> Figure:
    """Revision (%) by year for the partner (solid) and the median country (dashed), one panel
    per pair of vintages; exports and imports in their colours."""
    theme.set_theme()
    pairs = [k for k, v in by_pair.items() if not v.empty]
    fig, axes = plt.subplots(
        len(pairs), 1, figsize=(10, 2.8 * len(pairs) + 1.2), layout="constrained", squeeze=False
    )
    name = display_name(partner)
    for ax, key in zip(axes[:, 0], pairs, strict=True):
        d = by_pair[key]
        for flow in ("exports", "imports"):
            f = d[d["flow"] == flow]
            ax.plot(
                f["year"],
                f["partner"],
                color=theme.COLORS[flow],
                linewidth=1.8,
                marker="o",
                markersize=3,
                label=f"{name}, U.S. {flow}",
            )
            ax.plot(
                f["year"],
                f["median"],
                color=theme.COLORS[flow],
                linewidth=1.2,
                linestyle=(0, (4, 2)),
                label=f"median country, U.S. {flow}",
            )
        ax.axhline(0, color=theme.COLORS["muted"], linewidth=0.8)
        ax.set_title(pair_label(*key), fontsize=10)
        ax.set_ylabel("revision (%)")
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0, 0].legend(loc="best", fontsize=8, ncols=2)
    big = max(float(by_pair[k]["partner"].abs().max()) for k in pairs)
    headline(
        fig,
        f"Census revisions to {name}'s annual trade with the U.S. are at most "
        f"{fmt.number(big, 2)} % of a year's value between consecutive vintages",
    )
    source_line(fig, SOURCE)
    return fig


def realtime_table(cmp: pd.DataFrame) -> pd.DataFrame:
    """The comparison of :func:`analysis.models.vintages.compare` for a page."""

    def show(v: object, kind: str) -> str:
        if kind == "date":
            return str(v) if v is not None else fmt.MISSING
        if kind == "p":
            return fmt.p_value(v)
        return fmt.number(v, 2, sign=True) if fmt.num(v) is not None else fmt.MISSING

    return pd.DataFrame(
        {
            "Series": [vm.SERIES_LABELS[s] for s in cmp["series"]],
            "Estimate": cmp["estimate"].to_numpy(),
            vm.OLD: [show(v, k) for v, k in zip(cmp["old"], cmp["kind"], strict=True)],
            vm.NEW: [show(v, k) for v, k in zip(cmp["new"], cmp["kind"], strict=True)],
            "Changed?": cmp["changed"].to_numpy(),
        }
    )


def realtime_sentence(cmp: pd.DataFrame, n_boot: int) -> str:
    """What changed between the vintages, in one paragraph."""
    moved = cmp[cmp["changed"].str.startswith("yes")]
    head = (
        f"Of {len(cmp)} estimates, {len(moved)} change between the 2017 vintage and the current data "
        "over the same months (a sign flip, a move of more than 10 %, a p-value crossing 5 % or another "
        "break month)"
    )
    listing = "; ".join(
        f"{vm.SERIES_LABELS[r.series]}, {escape_md(r.estimate)} ({escape_md(r.changed)})"
        for r in moved.itertuples()
    )
    return (
        head
        + (f": {listing}." if listing else ": none does.")
        + f" Bootstrap p-values use {n_boot} draws, so they carry a Monte Carlo error of about "
        f"±{fmt.number(100 * (0.25 / n_boot) ** 0.5 * 2, 1)} percentage points near 0.5 (less near 0)."
    )


def claims_table(results: Mapping[str, pd.DataFrame], claims: pd.DataFrame) -> pd.DataFrame:
    """Claims whose check uses the Census table (``source`` census or census+wdi), by vintage:
    computed value and verdict, and whether the verdict changed between the first two (the
    2017 vintage and the current data over the same months)."""
    labels = list(results)
    ids = claims.loc[claims["source"].isin(["census", "census+wdi"]), "id"].tolist()
    out = pd.DataFrame({"Claim": ids})
    for label in labels:
        r = results[label].set_index("id").loc[ids]
        out[label] = [
            f"{fmt.number(c, 2) if fmt.num(c) is not None else '–'} ({v.replace('_', ' ')})"
            for c, v in zip(r["computed"], r["verdict"], strict=True)
        ]
    a, b = (
        results[labels[0]].set_index("id").loc[ids, "verdict"],
        results[labels[1]].set_index("id").loc[ids, "verdict"],
    )
    out["Verdict changed?"] = ["yes" if x != y else "no" for x, y in zip(a, b, strict=True)]
    return out
