"""Product composition of a partner's trade: HS sections and chapters, and the report's product groups.

Reads the product table ``data/processed/trade_hs_monthly.csv`` (``analysis.clean.products``:
``date, partner_code, flow, level, hs_code, description, value, source``; US$ millions, not
seasonally adjusted) and answers, for one partner: what the table covers (flows, HS levels,
months, sources); the value of each HS section and chapter by year; the product groups the
policy report discusses (:data:`GROUPS`), by month and year, with their share of the partner's
trade and, when both flows are present, their part of the bilateral balance. A group defined at
a level the table lacks (HS4, HS6) is not estimated from a coarser one: it is listed with what
it needs (:func:`missing_groups`).

HS sections: ``data/external/hs_sections.csv`` (WCO Harmonized System 2022, sections I-XXI;
chapter 77 is reserved). Census chapters 98 and 99 (U.S. special classification provisions)
are in no HS section; they are kept apart as ``SPECIAL_SECTION``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.errors import DataError
from analysis.fileio import stat_key

SECTIONS_PATH: Path = config.EXTERNAL_DIR / "hs_sections.csv"
PRODUCTS_PATH: Path = config.PROCESSED_DIR / "trade_hs_monthly.csv"
PRODUCT_COLUMNS: tuple[str, ...] = (
    "date", "partner_code", "flow", "level", "hs_code", "description", "value", "source",
)  # fmt: skip
FLOWS: tuple[str, ...] = ("exports", "imports")
LEVELS: tuple[str, ...] = ("HS2", "HS4", "HS6")
#: Section number and title given to the U.S.-only chapters 98 and 99.
SPECIAL_SECTION: tuple[int, str, str, str] = (
    22,
    "—",
    "U.S. special classification provisions (chapters 98–99)",
    "U.S. special provisions (98–99)",
)
SPECIAL_CHAPTERS: tuple[str, ...] = ("98", "99")
#: What ``make products-api`` asks the Census International Trade API for (network and key).
API_OFFER = (
    "U.S. exports and imports by partner at HS2, HS4 and HS6, monthly from 2013 "
    "(the API's first year) to the latest published month"
)


@dataclass(frozen=True)
class Group:
    """A product group of the policy report: HS ``codes`` at ``level`` (codes of one length)."""

    key: str
    label: str
    level: str
    codes: tuple[str, ...]

    @property
    def codes_text(self) -> str:
        """``"HS 72, 73"``, ``"HS 01–24"`` (a run of consecutive chapters is shortened)."""
        c = self.codes
        if len(c) > 2 and [int(x) for x in c] == list(range(int(c[0]), int(c[-1]) + 1)):
            return f"HS {c[0]}–{c[-1]}"
        return "HS " + ", ".join(c)


def _chapters(first: int, last: int) -> tuple[str, ...]:
    return tuple(f"{i:02d}" for i in range(first, last + 1))


#: The report's product groups, HS2 groups first; finer ones need HS4 or HS6 rows.
GROUPS: tuple[Group, ...] = (
    Group("vehicles", "Vehicles and parts", "HS2", ("87",)),
    Group("steel", "Iron and steel, and articles of them", "HS2", ("72", "73")),
    Group("aluminum", "Aluminum and articles", "HS2", ("76",)),
    Group("fuels", "Mineral fuels and oils", "HS2", ("27",)),
    Group("farm", "Farm and food products", "HS2", _chapters(1, 24)),
    Group("cars", "Passenger cars", "HS4", ("8703",)),
    Group("trucks", "Trucks", "HS4", ("8704",)),
    Group(
        "semiconductors", "Semiconductor devices and integrated circuits", "HS4", ("8541", "8542")
    ),
    Group("lng", "Liquefied natural gas", "HS6", ("271111",)),
    Group("batteries", "Lithium-ion batteries", "HS6", ("850760",)),
)


# ---- inputs ----------------------------------------------------------------------------------


def load_sections(path: str | Path = SECTIONS_PATH) -> pd.DataFrame:
    """One row per HS chapter: ``chapter`` (two digits), ``section`` (1-21), ``numeral``,
    ``title`` and ``short_title`` (for figures).

    ``DataError`` when the file is missing, a range is malformed or two sections share a chapter."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "HS section table not found")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = []
    for r in table.itertuples(index=False):
        first, last = int(r.first_chapter), int(r.last_chapter)
        if not 1 <= first <= last <= 97:
            raise DataError(
                path, f"section {r.numeral}: chapters {r.first_chapter}-{r.last_chapter}"
            )
        rows += [
            (f"{c:02d}", int(r.section), r.numeral, r.title, r.short_title)
            for c in range(first, last + 1)
            if c != 77
        ]
    out = pd.DataFrame(rows, columns=["chapter", "section", "numeral", "title", "short_title"])
    if out["chapter"].duplicated().any():
        raise DataError(
            path, f"chapter {out['chapter'][out['chapter'].duplicated()].iloc[0]} in two sections"
        )
    return out


#: The product table last read in this process, by the file's identity (:func:`load_products`).
_READ: dict[tuple[str, str], pd.DataFrame] = {}


def load_products(path: str | Path = PRODUCTS_PATH) -> pd.DataFrame | None:
    """The product table with dtypes (``date`` datetime, ``hs_code`` text); None when the file
    does not exist (no product data in this checkout). ``DataError`` when it is unreadable.

    A process reads a file once while it is unchanged (same path and
    :func:`~analysis.fileio.stat_key`): the partner batch (:mod:`analysis.pipeline.batch`)
    builds every partner's sectors page in one kernel from the same table, whose CSV takes
    0.5-1.2 s to parse. Each call returns its own copy."""
    path = Path(path)
    if not path.is_file():
        return None
    key = (str(path.resolve()), stat_key(path))
    if key not in _READ:
        table = _read_products(path)
        _READ.clear()
        _READ[key] = table
    return _READ[key].copy()


def _read_products(path: Path) -> pd.DataFrame:
    """Parse and check the product table's CSV (:func:`load_products`)."""
    try:
        df = pd.read_csv(
            path,
            dtype={"hs_code": str, "flow": str, "level": str, "description": str, "source": str},
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(path, f"not a readable CSV ({type(exc).__name__})") from None
    if tuple(df.columns) != PRODUCT_COLUMNS:
        raise DataError(path, f"columns {list(df.columns)}, expected {list(PRODUCT_COLUMNS)}")
    df["date"] = pd.to_datetime(df["date"], format="%Y-%m-%d")
    df["partner_code"] = df["partner_code"].astype("int64")
    df["value"] = df["value"].astype(float)
    return df


# ---- coverage --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """What the product table holds for a partner: flows, levels by flow, months, sources."""

    partner: int
    flows: tuple[str, ...]
    levels: dict[str, tuple[str, ...]]
    first: str
    last: str
    sources: tuple[str, ...]
    complete_years: dict[str, tuple[int, ...]]

    @property
    def empty(self) -> bool:
        """Whether the table has no rows for the partner."""
        return not self.flows

    def has(self, flow: str, level: str) -> bool:
        """Whether the table holds ``flow`` at ``level`` for the partner."""
        return level in self.levels.get(flow, ())


def coverage(products: pd.DataFrame | None, partner: int) -> Coverage:
    """The partner's coverage in the product table (empty when there is no table or it has
    no rows for the partner)."""
    rows = None if products is None else products[products["partner_code"] == int(partner)]
    if rows is None or rows.empty:
        return Coverage(int(partner), (), {}, "", "", (), {})
    flows = tuple(f for f in FLOWS if (rows["flow"] == f).any())
    levels = {
        f: tuple(lv for lv in LEVELS if ((rows["flow"] == f) & (rows["level"] == lv)).any())
        for f in flows
    }
    years = {f: tuple(int(y) for y in complete_years(rows, f)) for f in flows}
    return Coverage(
        int(partner),
        flows,
        levels,
        f"{rows['date'].min():%Y-%m}",
        f"{rows['date'].max():%Y-%m}",
        tuple(sorted(rows["source"].astype(str).unique())),
        years,
    )


def complete_years(rows: pd.DataFrame, flow: str) -> list[int]:
    """Years with all 12 months of ``flow`` at the coarsest level present."""
    sub = _level_rows(rows, flow)
    if sub.empty:
        return []
    months = sub.groupby(sub["date"].dt.year)["date"].nunique()
    return [int(y) for y in months.index[months == 12]]


def _level_rows(rows: pd.DataFrame, flow: str, level: str | None = None) -> pd.DataFrame:
    """Rows of ``flow`` at ``level`` (default: the coarsest level the flow has)."""
    sub = rows[rows["flow"] == flow]
    if level is None:
        present = [lv for lv in LEVELS if (sub["level"] == lv).any()]
        if not present:
            return sub.iloc[0:0]
        level = present[0]
    return sub[sub["level"] == level]


# ---- composition -----------------------------------------------------------------------------


def chapter_annual(
    products: pd.DataFrame, partner: int, flow: str, sections: pd.DataFrame
) -> pd.DataFrame:
    """HS2 chapters of ``flow`` by complete year: ``year, chapter, description, section,
    numeral, title, value`` (US$ millions) and ``share`` (% of the year's total)."""
    rows = products[(products["partner_code"] == int(partner))]
    sub = _level_rows(rows, flow, "HS2")
    years = complete_years(rows, flow)
    sub = sub[sub["date"].dt.year.isin(years)]
    cols = [
        "year",
        "chapter",
        "description",
        "section",
        "numeral",
        "title",
        "short_title",
        "value",
        "share",
    ]
    if sub.empty:
        return pd.DataFrame(columns=cols)
    out = (
        sub.assign(year=sub["date"].dt.year)
        .groupby(["year", "hs_code"], as_index=False)
        .agg(value=("value", "sum"), description=("description", "last"))
        .rename(columns={"hs_code": "chapter"})
    )
    special = pd.DataFrame(
        {
            "chapter": list(SPECIAL_CHAPTERS),
            "section": SPECIAL_SECTION[0],
            "numeral": SPECIAL_SECTION[1],
            "title": SPECIAL_SECTION[2],
            "short_title": SPECIAL_SECTION[3],
        }
    )
    out = out.merge(pd.concat([sections, special], ignore_index=True), on="chapter", how="left")
    if out["section"].isna().any():
        raise DataError(
            None, f"HS chapter {out.loc[out['section'].isna(), 'chapter'].iloc[0]} is in no section"
        )
    out["section"] = out["section"].astype(int)
    out["share"] = 100.0 * out["value"] / out.groupby("year")["value"].transform("sum")
    return out[cols].sort_values(["year", "chapter"]).reset_index(drop=True)


def section_annual(chapters: pd.DataFrame) -> pd.DataFrame:
    """Chapters summed to sections: ``year, section, numeral, title, short_title, chapters`` (count),
    ``value`` (US$ millions), ``share`` (%)."""
    cols = ["year", "section", "numeral", "title", "short_title", "chapters", "value", "share"]
    if chapters.empty:
        return pd.DataFrame(columns=cols)
    out = chapters.groupby(
        ["year", "section", "numeral", "title", "short_title"], as_index=False
    ).agg(chapters=("chapter", "nunique"), value=("value", "sum"), share=("share", "sum"))
    return out[cols].sort_values(["year", "section"]).reset_index(drop=True)


# ---- product groups --------------------------------------------------------------------------


def group_available(group: Group, cov: Coverage, flow: str) -> bool:
    """Whether the table holds ``flow`` at the group's level for the partner."""
    return cov.has(flow, group.level)


def missing_groups(cov: Coverage, groups: Sequence[Group] = GROUPS) -> list[tuple[Group, str]]:
    """Groups that cannot be computed for some flow of the report, with what they need."""
    out = []
    for g in groups:
        lacking = [f for f in FLOWS if not group_available(g, cov, f)]
        if lacking:
            out.append(
                (
                    g,
                    f"U.S. {' and '.join(lacking)} at {g.level} (the table has "
                    f"{levels_text(cov, lacking)})",
                )
            )
    return out


def levels_text(cov: Coverage, flows: Sequence[str]) -> str:
    """``"imports at HS2; no exports"``: the levels the table has for ``flows``."""
    parts = [
        f"{f} at {', '.join(cov.levels[f])}" if cov.levels.get(f) else f"no {f}" for f in flows
    ]
    return "; ".join(parts)


def group_monthly(
    products: pd.DataFrame | None, partner: int, flow: str, groups: Sequence[Group] = GROUPS
) -> pd.DataFrame:
    """Monthly value (US$ millions) of each group available for ``flow``: one column per
    group key, a month-start ``DatetimeIndex`` (empty frame when none is available)."""
    if products is None:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="date"))
    rows = products[(products["partner_code"] == int(partner)) & (products["flow"] == flow)]
    cols = {}
    for g in groups:
        sub = rows[(rows["level"] == g.level) & rows["hs_code"].isin(g.codes)]
        if (rows["level"] == g.level).any():
            months = pd.DatetimeIndex(sorted(rows.loc[rows["level"] == g.level, "date"].unique()))
            cols[g.key] = sub.groupby("date")["value"].sum().reindex(months, fill_value=0.0)
    out = pd.DataFrame(cols)
    out.index.name = "date"
    return out


def group_annual(
    products: pd.DataFrame | None, partner: int, groups: Sequence[Group] = GROUPS
) -> pd.DataFrame:
    """Each available group by flow and complete year: ``group, label, codes, flow, year,
    value`` (US$ millions), ``total`` (the partner's total of the flow, US$ millions) and
    ``share`` (% of that total); empty without a product table."""
    cols = ["group", "label", "codes", "flow", "year", "value", "total", "share"]
    if products is None:
        return pd.DataFrame(columns=cols)
    rows = products[products["partner_code"] == int(partner)]
    frames = []
    for flow in FLOWS:
        years = complete_years(rows, flow)
        base = _level_rows(rows, flow)
        total = base[base["date"].dt.year.isin(years)].groupby(base["date"].dt.year)["value"].sum()
        monthly = group_monthly(products, partner, flow, groups)
        if monthly.empty or total.empty:
            continue
        annual = monthly.groupby(monthly.index.year).sum().reindex(total.index)
        for g in groups:
            if g.key in annual:
                frames.append(
                    pd.DataFrame(
                        {
                            "group": g.key,
                            "label": g.label,
                            "codes": g.codes_text,
                            "flow": flow,
                            "year": total.index.astype(int),
                            "value": annual[g.key].to_numpy(),
                            "total": total.to_numpy(),
                        }
                    )
                )
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    out["share"] = 100.0 * out["value"] / out["total"]
    return out[cols]


def group_balance(annual: pd.DataFrame) -> pd.DataFrame:
    """Per group and year present in both flows: ``exports, imports, balance`` (US$ millions,
    exports minus imports), the partner's total ``total_balance`` and ``share_of_balance`` (%
    of the total balance: above 100 when the group's deficit exceeds the whole deficit).
    Empty when one flow is missing."""
    cols = [
        "group",
        "label",
        "codes",
        "year",
        "exports",
        "imports",
        "balance",
        "total_balance",
        "share_of_balance",
    ]
    if annual.empty or set(annual["flow"]) != set(FLOWS):
        return pd.DataFrame(columns=cols)
    wide = annual.pivot_table(
        index=["group", "label", "codes", "year"],
        columns="flow",
        values=["value", "total"],
        aggfunc="sum",
    ).dropna()
    if wide.empty:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(
        {
            "exports": wide[("value", "exports")],
            "imports": wide[("value", "imports")],
            "total_balance": wide[("total", "exports")] - wide[("total", "imports")],
        }
    )
    out["balance"] = out["exports"] - out["imports"]
    out["share_of_balance"] = (
        100.0 * out["balance"] / out["total_balance"].where(out["total_balance"] != 0)
    )
    return out.reset_index()[cols]


#: Columns of the sectors page's data file (:func:`page_data`).
PAGE_DATA_COLUMNS: tuple[str, ...] = ("kind", "flow", "year", "code", "label", "value", "share")


def page_data(chapters: Mapping[str, pd.DataFrame], groups: pd.DataFrame) -> pd.DataFrame:
    """The numbers the sectors page shows as one tidy table (``sectors.csv`` beside the page):
    ``kind`` (``chapter`` or ``group``), ``flow``, ``year``, ``code`` (HS chapter, or the
    group's codes), ``label``, ``value`` (US$ millions) and ``share`` (% of the flow's total
    in that year); from :func:`chapter_annual` per flow and :func:`group_annual`."""
    frames = [
        pd.DataFrame(
            {
                "kind": "chapter",
                "flow": flow,
                "year": df["year"],
                "code": df["chapter"],
                "label": df["description"],
                "value": df["value"],
                "share": df["share"],
            }
        )
        for flow, df in chapters.items()
        if not df.empty
    ]
    if not groups.empty:
        frames.append(
            pd.DataFrame(
                {
                    "kind": "group",
                    "flow": groups["flow"],
                    "year": groups["year"],
                    "code": groups["codes"],
                    "label": groups["label"],
                    "value": groups["value"],
                    "share": groups["share"],
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=list(PAGE_DATA_COLUMNS))
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["kind", "flow", "year", "code"], kind="stable").reset_index(drop=True)


def write_page_data(path: str | Path, data: pd.DataFrame) -> Path:
    """Write :func:`page_data` to ``path`` as CSV (atomic, ``\\n`` line ends)."""
    from analysis.fileio import write_text_atomic

    return write_text_atomic(path, data.to_csv(index=False, lineterminator="\n"))
