"""Drawing the explorer's current view: its chart, and its summary table as a person reads it.

The SPC chart is :func:`medlib.present.charts.spc_chart` and the decile chart is
:func:`medlib.present.charts.decile_chart`; when several trusts are shown, the others are added to
the decile chart as further lines. Every figure is closed (taken out of pyplot's list of open
figures) as soon as it is drawn: pyplot keeps each open figure alive until it is closed, so an
analyst calling :meth:`Explorer.figure` 50 times kept 50 figures (about 150 MiB), and a cell
ending in ``ex.figure()`` showed its chart twice. A closed figure still saves and displays: a
notebook shows the one a cell returns, once.

The summary table a person reads (in the widgets and in a notebook) is :attr:`Explorer.table`
through the shared layer (:func:`medlib.present.sections.lead_table`): labelled columns, values
written as the measure's kind (pounds, percentages, quantities), the measure and period said
once in the caption. :attr:`Explorer.table` itself, and the exports, keep their columns.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from medlib.present import charts
from medlib.present.labels import format_value
from medlib.present.sections import Table, lead_table
from medlib.present.style import NHS_RED, PALETTE, chart_style

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from medlib.explorer.state import Explorer

__all__ = ["NO_TABLE", "figure_png", "table_view", "view_figure"]

#: Resolution of the PNG shown in the explorer (lower than print: it redraws on every change).
SCREEN_DPI = 80
#: What the summary table says when the selection has nothing to show.
NO_TABLE = "No table for this selection."
#: The summary table's columns a person reads, in order (the measure and the period are said
#: once, in the caption).
_SHOWN_COLUMNS = [
    "code",
    "name",
    "period_value",
    "latest_value",
    "latest_patients_meeting",
    "latest_patients",
    "comparison_median",
    "percentile_rank",
    "variation",
    "months_with_data",
]


def view_figure(ex: Explorer) -> Figure | None:
    """The chart of the explorer's current view, or None when there is nothing to draw.

    The figure is already closed in pyplot (see the module docstring): nothing is left open.
    """
    return _closed(lambda: _draw(ex))


def _closed(draw: Callable[[], Figure | None]) -> Figure | None:
    """Run ``draw`` and close every pyplot figure it opened, even if it fails half-way."""
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    try:
        return draw()
    finally:
        for number in set(plt.get_fignums()) - before:
            plt.close(number)


def _draw(ex: Explorer) -> Figure | None:
    if ex.message:
        return None
    measure = ex.measure
    money = measure.key == "spend"
    if ex.selection.chart == "spc":
        result = ex.spc_result
        if result is None:
            return None
        return charts.spc_chart(result, ex.title(), measure.axis, money=money)
    deciles = ex.deciles
    series = ex.series
    units = list(ex.units) if ex.level != "england" else []
    first = units[0] if units else None
    own = (
        series.loc[series["code"] == first, ["year_month", "value"]]
        if first
        else pd.DataFrame({"year_month": pd.Series(dtype="datetime64[ns]"), "value": []})
    )
    fig = charts.decile_chart(
        deciles,
        own,
        ex.title(),
        measure.axis,
        first if first else "_no_unit",
        money=money,
    )
    ax = fig.axes[0]
    with chart_style():
        colours = [c for c in PALETTE if c != NHS_RED]
        for i, code in enumerate(units[1:]):
            part = series[series["code"] == code]
            ax.plot(
                part["year_month"],
                part["value"],
                color=colours[(i + 1) % len(colours)],
                linewidth=2,
                label=code,
            )
        if len(units) > 1:
            ax.legend(frameon=False, fontsize=9)
    return fig


def figure_png(fig: Figure, dpi: int = SCREEN_DPI) -> bytes:
    """PNG bytes of a figure, closing it afterwards."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        # Fast compression: the image is redrawn on every change and only travels to the browser.
        fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    finally:
        plt.close(fig)
    return buffer.getvalue()


def table_view(ex: Explorer) -> Table:
    """:attr:`Explorer.table` as a person reads it, labelled and formatted by the shared layer.

    Values are written as the measure's kind: spend in pounds, percentages as ``81.2%``,
    quantities and DDDs as numbers; suppressed patient counts stay ``*``. The latest month's
    columns name the month.
    """
    table = ex.table
    measure = ex.measure
    _, end = ex.period
    month = format_value(end, "month")
    if measure.ratio:
        kind, total, unit = "percent", "Overall", " (%)"
    elif measure.key == "spend":
        kind, total, unit = "money", "Total spend", " (£)"
    else:
        kind, total, unit = "count", f"Total {measure.label.lower()}", ""
    labels = {
        "code": "Code",
        "name": "Name",
        "period_value": f"{total}{unit}",
        "latest_value": f"{month}{unit}",
        "latest_patients_meeting": f"Patients meeting it, {month}",
        "latest_patients": f"Patients, {month}",
        "comparison_median": f"Comparison median, {month}{unit}",
        "percentile_rank": f"Percentile rank, {month}",
        "variation": "Variation (SPC)",
        "months_with_data": "Months with data",
    }
    kinds = {
        "code": "code",
        "name": "text",
        "period_value": kind,
        "latest_value": kind,
        "comparison_median": kind,
        # 0-100 among the comparison group, not a share of anything: no % sign.
        "percentile_rank": "rank",
        "latest_patients_meeting": "count",
        "latest_patients": "count",
    }
    caption = f"{ex.title()}. Compared with {ex.comparison_label}."
    if measure.patients:
        caption += " * = not shown (small numbers)."
    return lead_table(
        table,
        caption=caption if not table.empty else "",
        columns=[c for c in _SHOWN_COLUMNS if c in table.columns],
        labels=labels,
        kinds=kinds,
        keys=["code", "name"],
        empty=NO_TABLE,
    )
