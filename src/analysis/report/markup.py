"""Escaping in one place: every text from data or files reaches a page through here.

Notebook prose is Markdown that nbconvert renders to HTML, raw HTML included, and tables are
pandas Stylers rendered to HTML. A partner name, a claim or a note from a file is data, not
markup: ``md`` escapes every value it interpolates (HTML and Markdown syntax alike), and
``table`` escapes every cell, header and index label. Templates (the text we write) stay
as they are. ``a<b & c>d`` then reads ``a<b & c>d`` on the page, and ``<script>`` is text.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from analysis.report import fmt


def table_id(df: pd.DataFrame) -> str:
    """A fixed Styler ``uuid`` for ``df`` instead of pandas' random one, so that a rebuilt page
    is byte-identical: a digest of the table's content (columns, index, values). Not a count
    of the tables made so far: a process that builds many pages (the partner batch) would
    number the same page's tables differently from a run of its notebook alone."""
    digest = hashlib.sha256(df.to_csv(index=True).encode("utf-8")).hexdigest()
    return f"table{digest[:12]}"


#: Markdown characters that would start emphasis, code, links, headings, tables or HTML.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


class Trusted(str):
    """A string written by the project (a link, a formatted fragment): ``md`` keeps it."""


def escape_md(value: Any) -> str:
    """``value`` as literal text inside Markdown: HTML-escaped, Markdown syntax escaped.

    Quotes stay characters (the Markdown renderer escapes them itself): a numeric entity such
    as ``&#x27;`` would have its ``#`` escaped as Markdown and show as text ("Cote
    d&#x27;Ivoire")."""
    if isinstance(value, Trusted):
        return str(value)
    text = html.escape(str(value), quote=False)
    return _MD_SPECIAL.sub(r"\\\1", text)


def md(template: str, /, **values: Any):  # -> IPython.display.Markdown
    """A Markdown display object: ``template`` (ours) with ``{name}`` fields filled by
    escaped ``values`` (data). Use format specs in the template, e.g. ``{x:,.1f}``: numbers
    are formatted first, then escaped."""
    from IPython.display import Markdown

    return Markdown(fill(template, values))


def fill(template: str, values: Mapping[str, Any]) -> str:
    """The text of :func:`md`: each ``{name[:spec]}`` field formatted, then escaped."""

    def one(m: re.Match[str]) -> str:
        name, spec = m.group(1), m.group(2) or ""
        if name not in values:
            raise KeyError(f"markup template field {name!r} has no value")
        value = values[name]
        text = format(value, spec) if spec else str(value)
        return escape_md(Trusted(text) if isinstance(value, Trusted) else text)

    return re.sub(r"\{(\w+)(?::([^{}]*))?\}", one, template)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(
        v, bool | np.bool_
    )


def year_column(col: pd.Series) -> bool:
    """Whether a column of whole numbers holds years (labels, shown without a separator): its
    name is ``year``/``Year`` or every value lies in 1800-2200."""
    if str(col.name).strip().lower() == "year":
        return True
    values = [float(v) for v in col if _is_number(v) and v == v]
    return bool(values) and all(1800 <= v <= 2200 and v == int(v) for v in values)


def cell_formatter(col: pd.Series, decimals: int | None = None) -> Callable[[Any], Any]:
    """How :func:`table` writes the numbers of ``col`` (text is left as it is), through
    :mod:`analysis.report.fmt`: years without a separator, whole numbers as counts (``12,232``,
    ``−5``), other numbers with ``decimals`` places (default: pandas' Styler precision);
    thousands separators and U+2212 throughout."""
    places = pd.get_option("styler.format.precision") if decimals is None else decimals
    whole = pd.api.types.is_integer_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype)
    years = whole and year_column(col)

    def one(v: Any) -> Any:
        if not _is_number(v):
            return v
        if years:
            return fmt.year(v)
        if whole or isinstance(v, int | np.integer):
            return fmt.count(v)
        return fmt.decimal(v, places)

    return one


def table(
    df: pd.DataFrame, *, na_rep: str = fmt.MISSING, hide_index: bool = True, **format_kwargs: Any
):
    """A pandas Styler of ``df`` that escapes every cell, column header and index label and
    writes every number through :func:`cell_formatter` (``precision=`` sets the decimals).

    Its HTML ids are ``T_table<digest>`` (:func:`table_id`), not pandas' random ``uuid``."""
    decimals = format_kwargs.pop("precision", None)
    format_kwargs.pop("thousands", None)  # fmt always separates thousands
    formatter = {c: cell_formatter(df[c], decimals) for c in df.columns}
    format_kwargs.setdefault("formatter", formatter)
    styler = Styler(df, uuid=table_id(df)).format(escape="html", na_rep=na_rep, **format_kwargs)
    styler = styler.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    shown = df.astype(object).where(df.notna(), na_rep)
    if bool((shown.astype(str) == fmt.MISSING).to_numpy().any()):
        # one footnote for the dash, under the table
        styler = styler.set_caption(fmt.MISSING_NOTE).set_table_styles(
            [
                {
                    "selector": "caption",
                    "props": "caption-side: bottom; text-align: left; font-size: 0.85em;",
                }
            ],
            overwrite=False,
        )
    # text reads from the left, numbers (also formatted ones, "−1,234.5 (−2.0 to +3.1)")
    # line up on the right, each header over its column
    text_cols = [c for c in df.columns if not numeric_column(df[c])]
    if text_cols:
        styler = styler.set_properties(subset=text_cols, **{"text-align": "left"})
    date_cols = [c for c in text_cols if date_column(df[c])]
    if date_cols:
        # "2012-03" never breaks after its hyphen ("2012-/03" on a phone)
        styler = styler.set_properties(subset=date_cols, **{"white-space": "nowrap"})
    num_cols = [c for c in df.columns if c not in text_cols]
    if num_cols:
        # a number with its interval stays on one line: on a phone the table scrolls instead
        styler = styler.set_properties(
            subset=num_cols, **{"text-align": "right", "white-space": "nowrap"}
        )
    styler = styler.map_index(
        lambda label: "text-align: left" if label in text_cols else "text-align: right", axis=1
    )
    return styler.hide(axis="index") if hide_index else styler


#: A formatted number as the tables write it: sign (also U+2212), digits with thousands
#: separators, decimals, an optional unit or ordinal suffix, optionally an interval or a
#: second number in brackets ("−0.249 (−0.371 to −0.128)", "21 of 55", "<0.001").
_NUMBER = r"(?:[<>]?[−+-]?\d[\d,]*(?:\.\d+)?(?: ?%| points)?|infinite)"
_NUMERIC_TEXT = re.compile(
    rf"^{_NUMBER}(?: (?:\({_NUMBER} to {_NUMBER}\)|of {_NUMBER}|to {_NUMBER}))?$"
)


def numeric_column(col: pd.Series) -> bool:
    """Whether a column holds numbers: a numeric dtype, or text that is a formatted number in
    every row that is not missing (``fmt.MISSING``), with at least one such row. Years
    ("2011") are labels, not quantities: a column of them reads from the left."""
    if pd.api.types.is_numeric_dtype(col):
        return True
    shown = [str(v) for v in col if v is not None and not (isinstance(v, float) and v != v)]
    shown = [v for v in shown if v != fmt.MISSING]
    if not shown or all(re.fullmatch(r"\d{4}", v) for v in shown):
        return False
    return all(_NUMERIC_TEXT.match(v) for v in shown)


#: A month (2012-03), a date (2012-03-15) or a year range (1985–2015, 2013-2015).
_DATE = re.compile(r"\b\d{4}(?:-\d{2}(?:-\d{2})?|[-–]\d{4})\b")


def date_column(col: pd.Series) -> bool:
    """Whether a text column holds dates or periods (``2012-03``, ``2000-01 to 2017-12``,
    ``1985–2015``): every value not missing is short (at most 30 characters) and holds a date.
    Such cells must not wrap at a date's hyphen."""
    shown = [str(v) for v in col if v is not None and not (isinstance(v, float) and v != v)]
    shown = [v for v in shown if v != fmt.MISSING]
    return bool(shown) and all(len(v) <= 30 and _DATE.search(v) for v in shown)


def table_or_note(df: pd.DataFrame, note: str, **kwargs: Any):  # -> Styler | Markdown
    """:func:`table` of ``df``, or the Markdown ``note`` when it has no rows (a page never shows
    a table of headers only, e.g. when every model was skipped)."""
    if df.empty:
        from IPython.display import Markdown

        return Markdown(escape_md(note))
    return table(df, **kwargs)
