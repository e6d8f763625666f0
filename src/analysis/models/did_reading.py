"""What the KORUS DiD results say, in words: drift, sign flips, unusual placebo shifts.

The context page (notebook 03) states a few judgements about the estimates of
:mod:`analysis.models.comparison`; each is made here by one small rule, so that it is tested
and the notebook only prints it:

* :func:`gap_drifting` -- the treated-minus-controls gap was *drifting rather than flat* when
  the median placebo shift is larger (in absolute value) than the shift at the break;
* :func:`sign_flip_flows` -- the baseline DiD and the one with partner-specific trends disagree
  in sign;
* :func:`unusual_flows` -- the shift at the break stands out from the placebo shifts
  (placebo p-value below ``alpha``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from analysis.errors import ParameterError
from analysis.models.comparison import EventStudy, PlaceboResult
from analysis.report import fmt

#: Placebo p-value below which the shift at the break counts as unusual.
UNUSUAL_ALPHA: float = 0.05


def did_row(did_rows: pd.DataFrame, flow: str, specification: str) -> pd.Series:
    """The row of :func:`~analysis.models.comparison.did_table` for ``flow`` and ``specification``.

    Raises ``ParameterError`` when the table has no such row.
    """
    hit = did_rows[(did_rows["flow"] == flow) & (did_rows["specification"] == specification)]
    if hit.empty:
        raise ParameterError(
            f"DiD table: no row for flow {flow!r}, specification {specification!r}"
        )
    return hit.iloc[0]


def gap_drifting(placebo: PlaceboResult) -> bool:
    """True when the gap drifts rather than stays flat away from the break.

    That is, when the median placebo shift is larger in absolute value than the shift at the
    break itself: typical months move the gap more than the break does.
    """
    return bool(abs(float(placebo.placebos.median())) > abs(placebo.estimate))


def share_as_large(placebo: PlaceboResult) -> float:
    """Percent of placebo shifts at least as large in absolute value as the shift at the break."""
    return float(100 * (placebo.placebos.abs() >= abs(placebo.estimate)).mean())


def share_negative(placebo: PlaceboResult) -> float:
    """Percent of placebo shifts below zero."""
    return float(100 * (placebo.placebos < 0).mean())


def sign_flip_flows(
    did_rows: pd.DataFrame, flows: Sequence[str] = ("exports", "imports")
) -> list[str]:
    """Flows whose ``baseline`` and ``partner trends`` estimates have opposite signs.

    A coefficient counts as positive when it is ``> 0`` (so 0 goes with the negatives).
    """
    return [
        f
        for f in flows
        if (did_row(did_rows, f, "baseline")["coef"] > 0)
        != (did_row(did_rows, f, "partner trends")["coef"] > 0)
    ]


def unusual_flows(placebos: Mapping[str, PlaceboResult], alpha: float = UNUSUAL_ALPHA) -> list[str]:
    """Flows (in the mapping's order) whose shift at the break has a placebo p-value below ``alpha``."""
    return [f for f, p in placebos.items() if p.pvalue < alpha]


def _lp(x: float) -> str:
    """A signed log-point value: ``-0.249`` -> ``"−0.249"``, ``0.3`` -> ``"+0.300"``."""
    return fmt.decimal(x, 3, sign=True)


def _ci_text(row: pd.Series) -> str:
    return (
        f"{_lp(row['coef'])} log points ({fmt.pct(row['pct_effect']).replace('%', ' %')}; "
        f"95 % DK interval {_lp(row['ci_low'])} to {_lp(row['ci_high'])})"
    )


def flow_sentence(
    title: str, did_rows: pd.DataFrame, flow: str, study: EventStudy, placebo: PlaceboResult
) -> str:
    """One Markdown bullet reading the DiD, event study and placebo test of one ``flow``.

    ``title`` starts the bullet in bold (e.g. ``"U.S. exports to South Korea"``).
    """
    base, trends = did_row(did_rows, flow, "baseline"), did_row(did_rows, flow, "partner trends")
    loo = did_rows[(did_rows["flow"] == flow) & did_rows["specification"].str.startswith("without")]
    leads = study.table[study.table["k"] <= -2]
    pl = placebo
    shape = "was drifting rather than flat" if gap_drifting(pl) else "was roughly flat"
    return (
        f"- **{title}.** Baseline DiD {_ci_text(base)}; with partner-specific linear "
        f"trends {_ci_text(trends)}. Dropping one control at a time moves the estimate between "
        f"{_lp(loo['coef'].min())} and {_lp(loo['coef'].max())}. Pre-period leads range from "
        f"{_lp(leads['coef'].min())} to {_lp(leads['coef'].max())} (Driscoll-Kraay joint test "
        f"{fmt.p_equals(study.pretrend_pvalue)}, which over-rejects). Placebo in time: the {pl.window}-month shift at "
        f"{pl.break_date} is {_lp(pl.estimate)}, and {fmt.decimal(share_as_large(pl), 0)} % of the "
        f"{fmt.count(len(pl.placebos))} placebo months show a shift at least as large "
        f"({fmt.p_equals(pl.pvalue)}); the median placebo shift is {_lp(pl.placebos.median())} and "
        f"{fmt.decimal(share_negative(pl), 0)} % of them are negative, so the gap "
        f"{shape} away from the break."
    )


def pretrend_sentence(labels: Mapping[str, str], studies: Mapping[str, EventStudy]) -> str:
    """One sentence per flow of ``studies``: the joint test that its leads are zero."""
    return " ".join(
        f"Joint test that the {labels[f]} leads before the break are zero: "
        f"{fmt.p_equals(studies[f].pretrend_pvalue)}."
        for f in studies
    )


def verdict(
    did_rows: pd.DataFrame, placebos: Mapping[str, PlaceboResult], alpha: float = UNUSUAL_ALPHA
) -> str:
    """The closing verdict: which flows' KORUS-date shift stands out, and whether a sign flips."""
    unusual = unusual_flows(placebos, alpha)
    if unusual:
        text = (
            "The KORUS-date shift stands out from the placebo shifts for "
            + " and ".join(unusual)
            + "."
        )
    else:
        text = (
            "For neither flow does the shift at the KORUS date stand out from the shifts at other dates, so "
            "these comparisons give no evidence of a KORUS effect that is distinguishable from the usual drift "
            "of Korea's trade relative to these partners."
        )
    if sign_flip_flows(did_rows, list(placebos)):
        text += (
            " The baseline estimate also changes sign once partner-specific trends are allowed, another sign "
            "that parallel trends do not hold for this control group."
        )
    return text
