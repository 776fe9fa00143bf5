"""The wet AMD report's charts, drawn from disclosed figures only.

Each chart takes values that have been through :mod:`medlib.present.disclosure` (numbers, or
``*`` where hidden) and draws a hidden value as a gap marked ``*``, so no chart shows more
than the tables beside it. The funnel plot is :func:`medlib.present.charts.funnel_chart`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from medlib.present.charts import money_formatter
from medlib.present.disclosure import SUPPRESSED
from medlib.present.style import (
    NHS_BLUE,
    NHS_DARK_BLUE,
    NHS_DARK_GREY,
    NHS_LIGHT_BLUE,
    NHS_MID_GREY,
    NHS_ORANGE,
    NHS_PALE_GREY,
    PALETTE,
    chart_style,
)

__all__ = ["cost_chart", "interval_band_chart"]

#: Short intervals (a heavy clinic load) pale, long ones dark.
BAND_COLOURS = (NHS_PALE_GREY, "#AEB7BD", NHS_LIGHT_BLUE, "#0072CE", NHS_BLUE, NHS_DARK_BLUE)
#: Bands dark enough for white labels.
_DARK = {NHS_BLUE, NHS_DARK_BLUE, "#0072CE"}


def _number(value: object) -> float | None:
    """A disclosed value as a number; None for ``*``, text or a missing value."""
    if value is None or isinstance(value, str):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _headed(ax: plt.Axes, title: str, subtitle: str) -> None:
    """Title with a grey line under it, as the funnel plot has."""
    ax.text(0, 1.0, subtitle, transform=ax.transAxes, fontsize=9, color=NHS_DARK_GREY, va="bottom")
    ax.set_title(title, pad=18)


def interval_band_chart(
    labels: Sequence[str],
    percentages: Sequence[Mapping[str, object]],
    bands: Sequence[tuple[str, str]],
    *,
    title: str,
    subtitle: str,
    highlight: str | None = None,
) -> Figure:
    """Stacked bars: each trust's maintenance intervals by length, as shares of 100%.

    Args:
        labels: One label per bar (trust), top to bottom.
        percentages: Per bar, ``{band key: disclosed percentage}``.
        bands: ``(key, label)`` of each band, shortest first.
        title: Plain-English title.
        subtitle: A line under it (the data, and that the data are synthetic when they are).
        highlight: The label drawn in bold (this trust).
    """
    with chart_style():
        fig, ax = plt.subplots(figsize=(9, max(3.2, 0.42 * len(labels) + 2.0)))
        y = np.arange(len(labels))
        left = np.zeros(len(labels))
        for (key, label), colour in zip(bands, BAND_COLOURS, strict=False):
            raw = [row.get(key) for row in percentages]
            values = np.array([_number(v) or 0.0 for v in raw])
            ax.barh(y, values, left=left, color=colour, label=label, edgecolor="white")
            for i, v in enumerate(raw):
                if v == SUPPRESSED:
                    ax.text(left[i] + 0.6, y[i], "*", va="center", color=NHS_DARK_GREY)
                elif values[i] >= 7:
                    ax.text(
                        left[i] + values[i] / 2,
                        y[i],
                        f"{values[i]:.0f}%",
                        va="center",
                        ha="center",
                        fontsize=8,
                        color="white" if colour in _DARK else "black",
                    )
            left += values
        ax.set_yticks(y, list(labels))
        for tick in ax.get_yticklabels():
            if tick.get_text() == highlight:
                tick.set_fontweight("bold")
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of the trust's maintenance intervals")
        _headed(ax, title, subtitle)
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False, fontsize=8
        )
        fig.tight_layout()
    return fig


def cost_chart(
    periods: Sequence[str],
    series: Mapping[str, Sequence[object]],
    *,
    title: str,
    subtitle: str,
    emphasis: Sequence[str] = (),
    dashed: Sequence[str] = (),
) -> Figure:
    """Lines: cost per patient-year by calendar year, one line per molecule or group.

    Args:
        periods: The x axis labels, in order.
        series: ``{line label: disclosed value per period}``; hidden or missing values are
            gaps.
        title: Plain-English title.
        subtitle: A line under it.
        emphasis: Lines drawn thicker (all molecules at this trust).
        dashed: Lines drawn dashed (the trusts compared).
    """
    with chart_style():
        fig, ax = plt.subplots(figsize=(9, 4.4))
        x = np.arange(len(periods))
        colours = iter(PALETTE)
        for name, values in series.items():
            numbers = np.array([np.nan if _number(v) is None else _number(v) for v in values])
            if np.isnan(numbers).all():
                continue
            if name in dashed:
                colour, style, width = NHS_MID_GREY, "--", 2.0
            elif name in emphasis:
                colour, style, width = NHS_ORANGE, "-", 2.6
            else:
                colour = next(c for c in colours if c != NHS_ORANGE)
                style, width = "-", 1.4
            ax.plot(x, numbers, style, marker="o", color=colour, linewidth=width, label=name)
        ax.set_xticks(x, list(periods))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(money_formatter())
        ax.set_ylabel("£ per patient-year")
        _headed(ax, title, subtitle)
        ax.legend(frameon=False, fontsize=8, loc="lower left")
        fig.tight_layout()
    return fig
