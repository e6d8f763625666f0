"""The context page's sentences (notebook 03): every number through :mod:`analysis.report.fmt`,
every partner name through :func:`analysis.vocab.display_name` and escaped.

Each function takes the tables the notebook computed (:mod:`analysis.models.comparison`,
:mod:`analysis.sources.wdi`) and returns Markdown; the notebook only displays it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from analysis.report import fmt
from analysis.report.markup import escape_md
from analysis.vocab import display_name

#: Years shown in the share table besides the base year and the last year: the report's
#: deficit "high" (2015) and the year of the renegotiation and Section 232 tariffs (2018).
SHARE_MARK_YEARS: tuple[int, ...] = (2015, 2018)


def _name(partner: str) -> str:
    return escape_md(display_name(str(partner)))


def _bn(millions: float) -> str:
    return f"US$ {fmt.billions(millions)} billion"


def deficit_lines(balances: pd.DataFrame, focus: str, base: int, peak_until: int) -> list[str]:
    """Two Markdown bullets on the U.S. deficit with ``focus``: its level in ``base``, its peak
    within ``base``..``peak_until``, its level in the last year and the rank of that deficit
    among the partners shown.

    ``balances``: index year, one column per partner name, U.S. balance in US$ millions
    (:func:`analysis.models.comparison.wide_by_partner`)."""
    last = int(balances.index.max())
    deficit = -balances[focus]
    peak = int(deficit.loc[base:peak_until].idxmax())
    ranked = (-balances.loc[last]).sort_values(ascending=False)
    position = list(ranked.index).index(focus) + 1
    ratio = float(deficit.loc[last] / deficit.loc[peak])
    return [
        f"- The U.S. deficit with {_name(focus)} was {_bn(deficit.loc[base])} in {fmt.year(base)}, "
        f"peaked at {_bn(deficit.loc[peak])} in {fmt.year(peak)} within "
        f"{fmt.year(base)}–{fmt.year(peak_until)}, and was {_bn(deficit.loc[last])} in "
        f"{fmt.year(last)}, the latest complete year ({fmt.decimal(ratio, 1)} times that peak).",
        f"- In {fmt.year(last)} it was the {fmt.ordinal(position)} largest of the "
        f"{fmt.count(len(ranked))} partners shown (largest: {_name(ranked.index[0])}, "
        f"{_bn(ranked.iloc[0])}).",
    ]


def share_years(shares: pd.DataFrame, base: int) -> list[int]:
    """The years of the share table: ``base``, :data:`SHARE_MARK_YEARS` and the last year,
    those in the data only, in order, each once."""
    last = int(shares.index.max())
    wanted = [base, *SHARE_MARK_YEARS, last]
    return sorted({int(y) for y in wanted if y in shares.index})


def share_sentence(shares: pd.DataFrame, focus: str, base: int) -> str:
    """``focus``'s shares of U.S. goods exports and imports in ``base`` and in the last year,
    and the highest import share (``shares``: :func:`analysis.models.comparison.trade_shares`,
    annual, columns ``exports_share`` and ``imports_share`` in %)."""
    last = int(shares.index.max())
    b, e = shares.loc[base], shares.loc[last]
    imp = shares["imports_share"]

    def pct(x: float) -> str:
        return f"{fmt.decimal(x, 2)} %"

    return (
        f"{_name(focus)} took {pct(b['exports_share'])} of U.S. goods exports and supplied "
        f"{pct(b['imports_share'])} of U.S. goods imports in {fmt.year(base)}; in {fmt.year(last)} "
        f"the shares were {pct(e['exports_share'])} and {pct(e['imports_share'])}. The highest "
        f"annual import share since {fmt.year(shares.index.min())} was {pct(imp.max())} "
        f"({fmt.year(imp.idxmax())})."
    )


def index_sentence(index: pd.DataFrame, focus: str, base: int, after: int = 5) -> str:
    """U.S. exports to ``focus`` ``after`` years past ``base`` and in the last year, indexed to
    ``base`` = 100, against the median and range of the other partners (``index``: index year,
    one column per partner name)."""
    last = int(index.index.max())
    mid = base + after
    others = index.loc[last].drop(focus)

    def ix(x: float) -> str:
        return fmt.decimal(x, 1)

    return (
        f"By {fmt.year(mid)}, U.S. exports to {_name(focus)} stood at {ix(index.loc[mid, focus])} "
        f"({fmt.year(base)} = 100), against a median of {ix(index.loc[mid].drop(focus).median())} "
        f"for the comparison partners; by {fmt.year(last)} they were at "
        f"{ix(index.loc[last, focus])} (partners' median {ix(others.median())}, range "
        f"{ix(others.min())} for {_name(others.idxmin())} to {ix(others.max())} for "
        f"{_name(others.idxmax())})."
    )


def macro_sentence(macro: pd.DataFrame, break_year: int, end_year: int, first_year: int) -> str:
    """Korea's growth before and after ``break_year`` (to ``end_year``), its lowest year since
    ``first_year``, trade in % of GDP, unemployment and the exchange rate in the last year
    (``macro``: :func:`analysis.sources.wdi.korea_macro`)."""
    g, t = macro["gdp_growth"], macro["trade_pct_gdp"]
    last = int(macro.dropna(how="all").index.max())
    pre, post = g.loc[: break_year - 1].mean(), g.loc[break_year:end_year].mean()

    def pc(x: float, places: int = 1) -> str:
        return f"{fmt.decimal(x, places)} %"

    return (
        f"Real GDP growth averaged {pc(pre)} a year in {fmt.year(g.index.min())}–"
        f"{fmt.year(break_year - 1)} and {pc(post)} in {fmt.year(break_year)}–{fmt.year(end_year)} "
        f"(the lowest year since {fmt.year(first_year)}: {fmt.year(g.idxmin())}, {pc(g.min())}). "
        f"Trade peaked at {pc(t.max(), 0)} of GDP in {fmt.year(t.idxmax())} and was "
        f"{pc(t.loc[last], 0)} in {fmt.year(last)}. Unemployment was "
        f"{pc(macro.loc[last, 'unemployment'])} in {fmt.year(last)}; the won averaged "
        f"{fmt.decimal(macro.loc[last, 'krw_per_usd'], 0)} per dollar."
    )


def placebo_subtitles(labels: Mapping[str, str], placebos: Mapping[str, Any]) -> dict[str, str]:
    """``{label: "placebo p = 0.12"}`` for each flow of ``placebos``."""
    return {labels[f]: f"placebo {fmt.p_equals(p.pvalue)}" for f, p in placebos.items()}
