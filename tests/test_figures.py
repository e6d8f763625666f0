"""Figures: expected artists on synthetic data, readable event labels, deterministic files."""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from analysis.errors import ParameterError  # noqa: E402
from analysis.report import figures, fmt  # noqa: E402

KOREA_EVENTS = figures.partner_events(5800)
DATA_THROUGH = "2024-06"


@pytest.fixture(autouse=True)
def _close_all():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def monthly() -> pd.DataFrame:
    idx = pd.date_range("2005-01-01", "2024-06-01", freq="MS")
    t = np.arange(len(idx))
    season = 150 * np.sin(2 * np.pi * idx.month / 12)
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "exports": 2500 + 12 * t + season + rng.normal(0, 80, len(t)),
            "imports": 3500 + 25 * t + season + rng.normal(0, 80, len(t)),
        },
        index=idx,
    )


@pytest.fixture(scope="module")
def sa(monthly: pd.DataFrame) -> pd.DataFrame:
    return monthly.rolling(12, min_periods=1, center=True).mean().add_suffix("_sa")


def _annual(complete_last: bool) -> pd.DataFrame:
    years = list(range(1985, 2025))
    exports = np.linspace(5000, 65000, len(years))
    imports = np.linspace(9000, 110000, len(years))
    imports[10:13] = exports[10:13] - 2000  # three surplus years
    months = [12] * len(years)
    if not complete_last:
        months[-1] = 6
    return pd.DataFrame(
        {
            "year": years,
            "exports": exports,
            "imports": imports,
            "balance": exports - imports,
            "months": months,
            "complete": [m == 12 for m in months],
        }
    )


def _texts(fig: Figure) -> list[str]:
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
    return out


def _event_lines(ax) -> list[str]:
    return [ln.get_gid() for ln in ax.lines if str(ln.get_gid() or "").startswith("event:")]


def _event_labels(ax):
    return [t for t in ax.texts if str(t.get_gid() or "").startswith("event-label:")]


def _assert_labels_apart(fig: Figure, ax) -> None:
    """No two event labels overlap, and all stay inside the figure."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in _event_labels(ax)]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    for box in boxes:
        assert box.x0 >= 0 and box.x1 <= fig.bbox.width


def test_korea_events_are_its_agreement_dates_and_its_events() -> None:
    assert [e.date.strftime("%Y-%m") for e in KOREA_EVENTS] == [
        "2007-06",
        "2012-03",
        "2018-03",
        "2019-01",
        "2020-03",
    ]
    assert KOREA_EVENTS[1] == figures.Event(pd.Timestamp("2012-03-15"), "KORUS in force")
    assert KOREA_EVENTS[3] == figures.Event(pd.Timestamp("2019-01-01"), "Revised KORUS in force")
    assert "232" in KOREA_EVENTS[2].label


def test_other_partners_mark_their_own_agreement_and_shared_events() -> None:
    """Colombia's charts were annotated "KORUS signed", "KORUS in force (break)"."""
    colombia = figures.partner_events(3010)
    assert [(e.date.strftime("%Y-%m-%d"), e.label) for e in colombia] == [
        ("2012-05-15", "U.S.-Colombia TPA in force"),
        ("2018-03-23", "§232 steel and aluminum tariffs"),
        ("2020-03-01", "Pandemic"),
    ]
    mexico = [e.label for e in figures.partner_events(2010)]
    assert mexico[:1] == ["NAFTA in force"] and "USMCA in force" in mexico
    japan = figures.partner_events(5880)  # no agreement: only the shared events
    assert [e.label for e in japan] == ["§232 steel and aluminum tariffs", "Pandemic"]
    assert not any("KORUS" in e.label for e in colombia + japan)


def test_number_helpers() -> None:
    assert not hasattr(figures, "fmt_number")  # one formatter: analysis.report.fmt
    assert figures.display_name("Korea, South") == "South Korea"
    assert figures.display_name("Japan") == "Japan"
    fig, ax = plt.subplots()
    figures.billions(ax)
    axis_fmt = ax.yaxis.get_major_formatter()
    assert axis_fmt(12500, 0) == "12.5"
    assert axis_fmt(-3000, 0) == "\u22123"
    assert axis_fmt(250, 0) == "0.25"


def test_monthly_trade(monthly: pd.DataFrame, sa: pd.DataFrame) -> None:
    fig = figures.plot_monthly_trade(
        monthly, sa, partner="Korea, South", data_through=DATA_THROUGH, events=KOREA_EVENTS
    )
    assert isinstance(fig, Figure)
    top, bottom = fig.axes[:2]
    assert len(_event_lines(top)) == 5 and len(_event_lines(bottom)) == 5
    assert len(_event_labels(top)) == 5 and not _event_labels(bottom)
    texts = _texts(fig)
    assert any("data through 2024-06" in t and "Census" in t for t in texts)
    assert any("South Korea" in t for t in texts)  # default, descriptive title
    assert "US$ billions" in top.get_ylabel()
    legend = [t.get_text() for t in top.get_legend().get_texts()]
    assert any("NSA" in t for t in legend) and any("seasonally adjusted" in t for t in legend)
    _assert_labels_apart(fig, top)


def test_title_override(monthly: pd.DataFrame, sa: pd.DataFrame) -> None:
    fig = figures.plot_monthly_trade(
        monthly, sa, partner="Japan", data_through=DATA_THROUGH, title="Imports grew faster"
    )
    assert fig.get_suptitle() == "Imports grew faster"


def test_small_partner_axis_in_millions() -> None:
    idx = pd.date_range("2015-01-01", "2016-12-01", freq="MS")
    m = pd.DataFrame(
        {"exports": np.full(len(idx), 40.0), "imports": np.full(len(idx), 25.0)}, index=idx
    )
    fig = figures.plot_monthly_trade(
        m, m.add_suffix("_sa"), partner="Tonga", data_through="2016-12"
    )
    assert "US$ millions" in fig.axes[0].get_ylabel()


def test_annual_balance_partial_year() -> None:
    annual = _annual(complete_last=False)
    fig = figures.plot_annual_balance(
        annual, partner="Korea, South", data_through=DATA_THROUGH, events=KOREA_EVENTS
    )
    (ax,) = fig.axes
    bars = [p for p in ax.patches if p.get_gid() in ("complete", "partial")]
    assert len(bars) == len(annual) == 40
    assert bars[-1].get_hatch() and bars[-1].get_gid() == "partial"
    assert not any(b.get_hatch() for b in bars[:-1])
    deficit = to_hex(figures.COLORS["deficit"])
    surplus = to_hex(figures.COLORS["surplus"])
    assert to_hex(bars[0].get_facecolor()) == deficit
    assert to_hex(bars[10].get_facecolor()) == surplus
    texts = _texts(fig)
    assert "6 mo." in texts
    assert any("partial year, 6 months" in t.get_text() for t in ax.get_legend().get_texts())
    # latest complete year (2023) is labelled with its value in US$ billions
    expected = fmt.number(float(annual["balance"].iloc[-2]) / 1000)
    assert expected in texts
    assert len(_event_lines(ax)) == 5
    assert any("data through 2024-06" in t for t in texts)
    _assert_labels_apart(fig, ax)


def test_annual_balance_complete_year_not_hatched() -> None:
    fig = figures.plot_annual_balance(
        _annual(complete_last=True), partner="Japan", data_through="2024-12"
    )
    bars = [p for p in fig.axes[0].patches if p.get_gid() in ("complete", "partial")]
    assert len(bars) == 40 and not any(b.get_hatch() for b in bars)


def test_its(monthly: pd.DataFrame) -> None:
    fit = pd.DataFrame(
        {
            "actual": monthly["exports"],
            "fitted": monthly["exports"].rolling(3, min_periods=1).mean(),
            "pre_trend": np.linspace(2500, 5000, len(monthly)),
        }
    )
    post = monthly.index[monthly.index >= "2012-03-01"]
    forecast = pd.DataFrame({"mean": np.linspace(3500, 4500, len(post))}, index=post).assign(
        lower=lambda d: d["mean"] - 400, upper=lambda d: d["mean"] + 400
    )
    fig = figures.plot_its(
        fit,
        forecast=forecast,
        series_label="U.S. exports",
        partner="Korea, South",
        events=KOREA_EVENTS,
        data_through=DATA_THROUGH,
        breaks=["2012-03", "2019-01"],
        unit="US$ millions",
    )
    (ax,) = fig.axes
    lines = _event_lines(ax)
    assert "event:KORUS in force (break)" in lines
    assert "event:Revised KORUS in force (break)" in lines
    assert len(lines) == 5  # two breaks + three other story events, no duplicates
    assert any(isinstance(c, PolyCollection) for c in ax.collections)  # interval band
    dashed = [
        ln
        for ln in ax.lines
        if ln.get_linestyle() not in ("-", "None")
        and not str(ln.get_gid() or "").startswith("event")
    ]
    assert len(dashed) == 2  # extrapolated pre-break trend, counterfactual mean
    assert "2019" in fig.get_suptitle()
    _assert_labels_apart(fig, ax)


def test_its_without_forecast_in_other_unit(monthly: pd.DataFrame) -> None:
    fit = pd.DataFrame({"actual": 1.0, "fitted": 1.1, "pre_trend": 1.2}, index=monthly.index)
    fig = figures.plot_its(
        fit,
        forecast=None,
        series_label="Share",
        partner="Japan",
        data_through=DATA_THROUGH,
        breaks=["2012-03"],
        unit="% of total",
    )
    assert fig.axes[0].get_ylabel().startswith("% of total")
    assert not fig.axes[0].collections


def test_its_rejects_missing_column(monthly: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="pre_trend"):
        figures.plot_its(
            monthly.rename(columns={"exports": "actual", "imports": "fitted"}),
            forecast=None,
            series_label="x",
            partner="Japan",
            data_through=DATA_THROUGH,
            breaks=[],
            unit="US$ millions",
        )


def test_stl(monthly: pd.DataFrame) -> None:
    stl = pd.DataFrame(
        {
            "observed": monthly["imports"],
            "trend": monthly["imports"].rolling(12, min_periods=1).mean(),
            "seasonal": 150 * np.sin(2 * np.pi * monthly.index.month / 12),
            "resid": 5.0,
        }
    )
    fig = figures.plot_stl(
        stl,
        series_label="U.S. imports",
        partner="Korea, South",
        data_through=DATA_THROUGH,
        events=KOREA_EVENTS,
    )
    axes = fig.axes
    assert len(axes) == 4
    assert all(axes[0].get_shared_x_axes().joined(axes[0], a) for a in axes[1:])
    assert [a.get_ylabel() for a in axes] == ["Observed (NSA)", "Trend", "Seasonal", "Remainder"]
    assert all(len(_event_lines(a)) == 5 for a in axes)
    assert len(_event_labels(axes[0])) == 5 and not _event_labels(axes[3])


def _build(monthly: pd.DataFrame, sa: pd.DataFrame) -> Figure:
    return figures.plot_monthly_trade(
        monthly, sa, partner="Korea, South", data_through=DATA_THROUGH, events=KOREA_EVENTS
    )


def test_save_figure_deterministic(tmp_path, monthly: pd.DataFrame, sa: pd.DataFrame) -> None:
    paths_a = figures.save_figure(_build(monthly, sa), tmp_path / "a", "monthly")
    paths_b = figures.save_figure(_build(monthly, sa), tmp_path / "b", "monthly")
    assert [p.name for p in paths_a] == ["monthly.png", "monthly.svg"]
    for a, b in zip(paths_a, paths_b, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    png, svg = (p.read_bytes() for p in paths_a)
    assert png.startswith(b"\x89PNG") and b"Software" not in png
    assert b"<svg" in svg and b"<dc:date>" not in svg
    assert not list(tmp_path.glob("**/*.tmp"))  # atomic write left no temporaries
    assert not plt.get_fignums()  # closed after saving


def test_saved_figure_displays_the_saved_png(
    tmp_path, monthly: pd.DataFrame, sa: pd.DataFrame
) -> None:
    fig = _build(monthly, sa)
    w_in, h_in = fig.get_size_inches()
    saved = figures.save_figure(fig, tmp_path, "monthly")
    data, meta = saved._repr_png_()
    assert data == saved.png.read_bytes()  # the page embeds exactly the file on disk
    # Pixel size at PNG_DPI, shown at the size it has at figure.dpi (100) in CSS pixels.
    assert int.from_bytes(data[16:20], "big") == round(w_in * figures.PNG_DPI)
    assert meta == {"width": round(w_in * 100), "height": round(h_in * 100)}
    png, svg = saved
    assert (png.suffix, svg.suffix) == (".png", ".svg") and saved[1] == svg


def test_save_figure_rejects_bad_name(tmp_path) -> None:
    fig, _ = plt.subplots()
    with pytest.raises(ParameterError, match="figure name"):
        figures.save_figure(fig, tmp_path, "../escape")


def test_stl_of_logs_is_labelled(monthly: pd.DataFrame) -> None:
    logs = np.log(monthly["imports"])
    stl = pd.DataFrame({"observed": logs, "trend": logs, "seasonal": 0.0, "resid": 0.0})
    fig = figures.plot_stl(
        stl, series_label="U.S. imports", partner="Japan", data_through=DATA_THROUGH, log=True
    )
    assert "logarithm" in fig.get_suptitle()
    assert any("log points" in t for t in _texts(fig))


def test_its_clips_a_fanning_interval(monthly: pd.DataFrame) -> None:
    fit = pd.DataFrame(
        {
            "actual": monthly["exports"],
            "fitted": monthly["exports"],
            "pre_trend": monthly["exports"],
        }
    )
    post = monthly.index[monthly.index >= "2012-03-01"]
    mean = np.full(len(post), 4000.0)
    forecast = pd.DataFrame({"mean": mean, "lower": mean / 10, "upper": mean * 10}, index=post)
    fig = figures.plot_its(
        fit,
        forecast=forecast,
        series_label="U.S. exports",
        partner="Japan",
        data_through=DATA_THROUGH,
        breaks=["2012-03"],
        unit="US$ millions",
    )
    ax = fig.axes[0]
    assert ax.get_ylim()[1] < 40000 * 0.5  # the lines, not the interval, set the y-range
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("clipped at the axis" in t for t in legend)


def test_date_axis_ticks_are_worked_out_once_per_view_and_are_the_automatic_ones(
    tmp_path, monthly: pd.DataFrame, sa: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Laying out and saving a figure asks each date axis for its ticks hundreds of times with
    the same limits; dateutil works them out once per view interval, and the ticks and labels
    are those of matplotlib's own AutoDateLocator and ConciseDateFormatter."""
    import matplotlib.dates as mdates

    asked: list[tuple[float, float]] = []
    plain = mdates.AutoDateLocator.get_locator

    def counting(self, dmin, dmax):  # type: ignore[no-untyped-def]
        asked.append((dmin, dmax))
        return plain(self, dmin, dmax)

    monkeypatch.setattr(mdates.AutoDateLocator, "get_locator", counting)
    fig = _build(monthly, sa)
    ax = fig.axes[-1]
    figures.save_figure(fig, tmp_path, "monthly")
    assert 0 < len(asked) <= 4, len(asked)  # hundreds without recalling them
    ticks = ax.xaxis.get_majorticklocs()
    labels = [t.get_text() for t in ax.xaxis.get_ticklabels()]
    own = mdates.AutoDateLocator(minticks=5, maxticks=14)
    own.set_axis(ax.xaxis)
    assert list(ticks) == list(own())
    assert labels == mdates.ConciseDateFormatter(own).format_ticks(ticks)
    assert len(ticks) >= 5


def test_the_theme_is_seaborns_whitegrid_without_importing_seaborn() -> None:
    """The project's theme sets what seaborn's ``set_theme(context="notebook",
    style="whitegrid", palette=<Okabe-Ito without black>)`` sets (but its "rocket" colormap,
    which no figure uses), and drawing a report's figures imports neither seaborn nor
    ``scipy.stats`` (half a second of every kernel that fits no model)."""
    import subprocess
    import sys

    import matplotlib as mpl
    import seaborn as sns

    from analysis.report import theme

    def rc_after(apply) -> dict[str, object]:
        with mpl.rc_context():
            mpl.rcdefaults()
            mpl.rcParams.update({"image.cmap": "viridis", "lines.solid_capstyle": "projecting"})
            apply()
            return dict(mpl.rcParams)

    ours = rc_after(theme.set_theme)
    seaborns = rc_after(
        lambda: (
            sns.set_theme(
                context="notebook", style="whitegrid", palette=list(theme.OKABE_ITO.values())[1:]
            ),
            mpl.rcParams.update(theme._THEME_RC),
        )
    )
    assert seaborns.pop("image.cmap") == "rocket" and ours.pop("image.cmap") == "viridis"
    assert {k: v for k, v in ours.items() if seaborns[k] != v} == {}
    code = (
        "import sys\n"
        "from analysis.report import figures, sectors, context_plots\n"
        "from analysis.claims import check, view\n"
        "figures.set_theme() if hasattr(figures, 'set_theme') else None\n"
        "print(sorted(m for m in ('seaborn', 'scipy.stats', 'statsmodels') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
