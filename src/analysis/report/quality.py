"""The data-quality page's prose: what cleaning found, every partner name escaped.

Notebook 01 shows these; the lists come from the cleaning step's metadata and partner table
(:class:`analysis.clean.table.CleanResult`), so the page says what this run of the Census
file held, not what an earlier one did.
"""

from __future__ import annotations

import re

import pandas as pd

from analysis.clean import census
from analysis.clean import table as clean_table
from analysis.clean.table import CleanResult
from analysis.report import fmt
from analysis.report.markup import escape_md

#: Four-digit Census codes that are not places (organisations, unidentified, neutral zones).
NOT_PLACES = r"Unidentified|Organi[sz]ation|Neutral Zone"


def summary_table(result: CleanResult) -> pd.DataFrame:
    """The page's table of :func:`analysis.clean.table.data_quality_summary` (columns
    ``Measure``, ``Value``), a value that is a whole number written as a count by
    :func:`analysis.report.fmt.count` (``103212`` -> ``103,212``); other text unchanged."""
    table = clean_table.data_quality_summary(result)
    values = [
        fmt.count(int(v)) if re.fullmatch(r"-?\d+", str(v)) else str(v) for v in table["value"]
    ]
    return pd.DataFrame({"Measure": table["measure"].tolist(), "Value": values})


def _codes(df: pd.DataFrame) -> str:
    """``"5800 Korea, South; 5880 Japan"`` (names escaped), or ``none``."""
    return (
        "; ".join(
            f"{c} {escape_md(n)}" for c, n in zip(df["partner_code"], df["partner"], strict=True)
        )
        or "none"
    )


def summary_sentence(result: CleanResult) -> str:
    """One paragraph: rows, partners, coverage, unpublished months, the annual-sum check."""
    m = result.meta
    check = m["annual_sum_check"]
    return (
        f"Cleaned {escape_md(m['source']['file'])}: {fmt.count(m['rows'])} partner-months for "
        f"{fmt.count(m['partners'])} partners ({fmt.count(m['countries'])} countries and territories, "
        f"{fmt.count(m['aggregates'])} aggregates), {m['first_month']} to "
        f"{m['last_month']}. Unpublished months dropped: {', '.join(m['unpublished_months_dropped']) or 'none'}. "
        f"The largest difference between an annual total and the sum of its months is "
        f"{fmt.significant(check['max_discrepancy'], 6, trim=True)} (tolerance "
        f"{fmt.significant(check['tolerance'], 6, trim=True)})."
    )


def partner_notes(result: CleanResult) -> str:
    """A Markdown list: aggregates, seasonally adjusted partners, codes that are not places,
    retired codes, names shared by two codes, years Census omits, and name changes."""
    m, partners = result.meta, result.partners
    agg = partners[partners["is_aggregate"]]
    cty = partners[~partners["is_aggregate"]]
    not_places = cty[cty["partner"].str.contains(NOT_PLACES, case=False)]
    retired = cty[cty["last_month"] < m["last_month"]]
    same = cty[cty["partner"].duplicated(keep=False)].sort_values(["partner", "partner_code"])
    names = dict(zip(partners["partner_code"].astype(str), partners["partner"], strict=True))
    adjusted = (
        "; ".join(f"{c} {escape_md(n)}" for c, n in m["seasonally_adjusted_partners"].items())
        or "none"
    )
    shared = (
        "; ".join(
            f"{c} {escape_md(n)} (`{s}`)"
            for c, n, s in zip(same["partner_code"], same["partner"], same["slug"], strict=True)
        )
        or "none"
    )
    gaps = "; ".join(
        f"{c} {escape_md(names[c])} {census.format_years(y)}" for c, y in m["year_gaps"].items()
    )
    renamed = "; ".join(
        f"{c}: " + " → ".join(escape_md(n) for n in ns) for c, ns in m["name_changes"].items()
    )
    lines = [
        f"- **Aggregates** (code < {census.AGGREGATE_CODE_LIMIT}, {len(agg)}): {_codes(agg)}.",
        f"- **Not seasonally adjusted, except**: {adjusted} (a seasonally adjusted aggregate; NAFTA/USMCA "
        "aggregates marked '(Consump)' are on an imports-for-consumption basis).",
        f"- **Four-digit codes that are not a country** ({len(not_places)}): {_codes(not_places)}.",
        f"- **Codes with no data in the latest month** ({len(retired)}: former states, retired or split codes), "
        f"e.g. {_codes(retired.head(8))}.",
        f"- **Two codes, one name** (the code whose data end first gets its number in the slug): {shared}.",
        f"- **Years Census omits inside a partner's range** ({len(m['year_gaps'])} partners; left as gaps, not "
        f"filled with zeros): {gaps or 'none'}.",
        f"- **Name changes within the file**: {renamed or 'none'}.",
    ]
    return "\n".join(lines)


def partner_sentence(result: CleanResult, code: int) -> str:
    """One partner's coverage: ``**Korea, South** (code 5800, slug `korea-south`): ...``."""
    row = result.partners[result.partners["partner_code"] == code].iloc[0]
    return (
        f"**{escape_md(row['partner'])}** (code {code}, slug `{row['slug']}`): {row['months']} months, "
        f"{row['first_month']} to {row['last_month']}; months with trade: {row['months_with_trade']}."
    )


def partner_rows(result: CleanResult, code: int, n: int = 3) -> pd.DataFrame:
    """The first and last ``n`` months of one partner, as a readable table (no row numbers)."""
    one = result.trade[result.trade["partner_code"] == code]
    rows = pd.concat([one.head(n), one.tail(n)])
    out = rows.assign(date=rows["date"].dt.strftime("%Y-%m"))[
        ["date", "partner", "exports", "imports", "balance"]
    ]
    return out.rename(
        columns={
            "date": "Month",
            "partner": "Partner",
            "exports": "Exports (US$ M)",
            "imports": "Imports (US$ M)",
            "balance": "Balance (US$ M)",
        }
    )


def annual_rows(result: CleanResult, code: int, years: int = 5) -> pd.DataFrame:
    """The partner's last ``years`` annual totals (sums of months), US$ millions."""
    one = result.trade[result.trade["partner_code"] == code]
    by_year = one.groupby(one["date"].dt.year)
    annual = by_year[["exports", "imports", "balance"]].sum().tail(years)
    months = by_year["date"].count().reindex(annual.index)
    label = [
        str(y) if n == 12 else f"{y} ({n} months)"
        for y, n in zip(annual.index, months, strict=True)
    ]
    return (
        annual.set_axis(label)
        .rename_axis("Year")
        .reset_index()
        .rename(
            columns={
                "exports": "Exports (US$ M)",
                "imports": "Imports (US$ M)",
                "balance": "Balance (US$ M)",
            }
        )
    )
