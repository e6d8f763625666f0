"""The KORUS context page's set-up and DiD checks, shared by notebook 03 and the benchmark floor.

:func:`setup` turns the notebook's parameters (partner codes as lists or comma-separated
strings, a first month) into the sample and the partners' names; :func:`did_checks` runs the
DiD table, the event studies and the placebo tests of both flows. Both only call
:mod:`analysis.models.comparison`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.errors import ParameterError
from analysis.models import comparison as cmp
from analysis.vocab import FLOW_PHRASES

#: The DiD flows, with the words that introduce a partner in titles ("U.S. exports to Korea").
FLOW_LABELS: dict[str, str] = FLOW_PHRASES


@dataclass(frozen=True)
class Setup:
    """The sample and partners of the context page."""

    trade: pd.DataFrame  # the cleaned table from ``start`` on
    focus: int
    comparators: list[int]  # without the focus partner
    controls: list[int]
    world: int  # code of the Census world aggregate
    names: dict[int, str]  # Census names of focus, comparators, controls and world
    data_through: str  # last month in the data, YYYY-MM

    @property
    def focus_name(self) -> str:
        """Census name of the focus partner."""
        return self.names[self.focus]

    @property
    def codes(self) -> list[int]:
        """Focus partner first, then the comparators."""
        return [self.focus, *self.comparators]

    @property
    def shown(self) -> list[str]:
        """Names of :attr:`codes`, in that order (the columns of the partner figures)."""
        return [self.names[c] for c in self.codes]


def setup(
    trade: pd.DataFrame, focus: object, comparators: object, controls: object, start: str
) -> Setup:
    """The context page's sample: ``trade`` from ``start`` on and the partners' codes and names.

    ``focus``, ``comparators`` and ``controls`` are notebook parameters (see
    :func:`~analysis.models.comparison.parse_codes`); the focus partner is dropped from the
    comparators. Raises ``ParameterError`` when no data start at ``start`` or a code is absent.
    """
    focus_code = cmp.parse_codes(str(focus), "focus")[0]
    comparator_codes = [c for c in cmp.parse_codes(comparators, "comparators") if c != focus_code]
    control_codes = cmp.parse_codes(controls, "did_controls")
    trade = trade[trade["date"] >= pd.Timestamp(start)]
    if trade.empty:
        raise ParameterError(f"start {start}: no data from this month")
    world = cmp.world_code(trade)
    codes = {focus_code, *comparator_codes, *control_codes, world}
    return Setup(
        trade=trade,
        focus=focus_code,
        comparators=comparator_codes,
        controls=control_codes,
        world=world,
        names={c: cmp.partner_name(trade, c) for c in codes},
        data_through=f"{trade['date'].max():%Y-%m}",
    )


@dataclass(frozen=True)
class DidChecks:
    """The DiD table and, by flow, the event study and the placebo-in-time test."""

    rows: pd.DataFrame  # :func:`analysis.models.comparison.did_table`
    studies: dict[str, cmp.EventStudy]
    placebos: dict[str, cmp.PlaceboResult]


def did_checks(s: Setup, *, break_date: str, start: str, end: str, window: int) -> DidChecks:
    """DiD of the focus partner against ``s.controls`` for both flows of :data:`FLOW_LABELS`,
    with the event study and the placebo test (``window`` months each side) of each flow."""
    rows = cmp.did_table(s.trade, s.focus, s.controls, break_date=break_date, start=start, end=end)
    panels = {f: cmp.did_panel(s.trade, s.focus, s.controls, f, start, end) for f in FLOW_LABELS}
    return DidChecks(
        rows=rows,
        studies={f: cmp.event_study(panels[f], break_date) for f in panels},
        placebos={f: cmp.placebo_in_time(panels[f], break_date, window=window) for f in panels},
    )
