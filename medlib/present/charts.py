"""Charts for lead-facing reports: SPC, deciles, funnels, bars, forecasts.

Every function returns a matplotlib Figure drawn inside :func:`medlib.present.style.chart_style`
(NHS
colours, no global style changes). Figures are made with pyplot so a notebook shows them; end
the notebook cell with ``;`` or ``plt.show()``. Titles say in plain English what the chart
shows; axis labels carry units.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from medlib.errors import InputError
from medlib.present.style import (
    NHS_BLUE,
    NHS_DARK_GREY,
    NHS_LIGHT_BLUE,
    NHS_MID_GREY,
    NHS_ORANGE,
    NHS_RED,
    PALETTE,
    chart_style,
)
from medlib.present.wording import Rounding, format_gbp
from medlib.stats.peer_comparison import FunnelResult
from medlib.stats.spc import ASSURANCE_TEXT, VARIATION_TEXT, SpcResult
from medlib.validation import require_columns

__all__ = [
    "bar_chart",
    "close_all",
    "decile_chart",
    "forecast_chart",
    "funnel_chart",
    "money_formatter",
    "spc_chart",
    "stacked_bar_chart",
]


def money_formatter(rounding: Rounding = "prose") -> FuncFormatter:
    """Axis formatter for pounds, by :func:`medlib.present.wording.format_gbp`.

    The default writes 1234 as "£1,234" and 1.5m as "£1.5m"; ``"compact"`` writes "£15k".
    """
    return FuncFormatter(lambda value, _pos=None: format_gbp(value, rounding))


def _month_labels(x: Sequence[object]) -> list[str]:
    return [pd.Timestamp(v).strftime("%b %Y") if _is_date(v) else str(v) for v in x]


def _is_date(value: object) -> bool:
    return isinstance(value, pd.Timestamp | np.datetime64) or hasattr(value, "strftime")


def spc_chart(
    result: SpcResult,
    title: str,
    y_label: str,
    *,
    money: bool = True,
) -> Figure:
    """A Making Data Count XmR chart: points coloured by class, mean, process limits.

    The subtitle states the variation icon (and assurance, when there is a target) in words.
    """
    pts = result.points
    with chart_style():
        fig, ax = plt.subplots()
        x = np.arange(len(pts))
        ax.plot(x, pts["y"], color=NHS_MID_GREY, linewidth=1.2, zorder=1)
        ax.scatter(x, pts["y"], c=pts["colour"], s=28, zorder=3, edgecolors="none")
        for _, group in pts.groupby("rebase_group"):
            gx = x[group.index.to_numpy()]
            ax.plot(gx, group["mean"], color="black", linewidth=1, label="_mean")
            ax.plot(gx, group["upl"], color=NHS_DARK_GREY, linestyle="--", linewidth=1)
            ax.plot(gx, group["lpl"], color=NHS_DARK_GREY, linestyle="--", linewidth=1)
        if result.target is not None:
            ax.axhline(result.target, color=NHS_RED, linestyle=":", linewidth=1.2)
        labels = _month_labels(pts["x"])
        step = max(1, len(labels) // 10)
        ax.set_xticks(x[::step], labels[::step], rotation=45, ha="right")
        ax.set_ylabel(y_label)
        if money:
            ax.yaxis.set_major_formatter(money_formatter())
        text = VARIATION_TEXT[result.variation_icon].capitalize()
        if result.assurance_type:
            text += f"; {ASSURANCE_TEXT[result.assurance_type]}"
        if pts["trial_limits"].any():
            text += " (trial limits: fewer than 12 points)"
        ax.text(0, 1.0, text, transform=ax.transAxes, fontsize=9, color=NHS_DARK_GREY, va="bottom")
        ax.set_title(title, pad=18)
        fig.tight_layout()
    return fig


def decile_chart(
    deciles: pd.DataFrame,
    org_values: pd.DataFrame,
    title: str,
    y_label: str,
    org_label: str,
    *,
    period: str = "year_month",
    percent: bool = False,
    money: bool = False,
) -> Figure:
    """OpenPrescribing-style decile chart: deciles dashed blue, median darker, the org in red.

    Args:
        deciles: From :func:`medlib.stats.peer_comparison.deciles` (``period, percentile, value``).
        org_values: ``period, value`` for the organisation highlighted.
        title: Plain-English title.
        y_label: Axis label with units.
        org_label: Legend label for the organisation.
        period: Period column.
        percent: Format the y axis as a percentage of 1.
        money: Format the y axis as pounds.
    """
    require_columns(deciles, [period, "percentile", "value"], "deciles")
    require_columns(org_values, [period, "value"], "organisation values")
    with chart_style():
        fig, ax = plt.subplots()
        for p, frame in deciles.groupby("percentile"):
            median = p == 50
            ax.plot(
                frame[period],
                frame["value"],
                color=NHS_BLUE if median else NHS_LIGHT_BLUE,
                linestyle="--",
                linewidth=1.6 if median else 1.0,
                label="Median" if median else ("Deciles" if p == 10 else None),
            )
        ax.plot(
            org_values[period], org_values["value"], color=NHS_RED, linewidth=2, label=org_label
        )
        ax.set_ylabel(y_label)
        if percent:
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        elif money:
            ax.yaxis.set_major_formatter(money_formatter())
        ax.set_title(title)
        ax.legend(frameon=False, fontsize=9)
        fig.autofmt_xdate()
        fig.tight_layout()
    return fig


def funnel_chart(
    result: FunnelResult,
    title: str,
    x_label: str = "Denominator",
    y_label: str = "Proportion",
    *,
    highlight: Sequence[object] | None = None,
    percent: bool = True,
    subtitle: str | None = None,
) -> Figure:
    """Funnel plot: each organisation's proportion against its size, with 95%/99.8% limits.

    Args:
        result: From :func:`medlib.stats.peer_comparison.funnel_limits`.
        title: Plain-English title.
        x_label: Label of the size axis (the denominator's units).
        y_label: Label of the proportion axis.
        highlight: Labels of organisations to pick out in orange.
        percent: Show proportions as percentages.
        subtitle: A line under the title (e.g. the period and comparison group).
    """
    table = result.table.dropna(subset=["proportion"])
    if table.empty:
        raise InputError("funnel has no organisation with a positive denominator to plot")
    highlight = set(highlight or [])
    with chart_style():
        fig, ax = plt.subplots()
        n_max = table["denominator"].max()
        grid = np.linspace(max(table["denominator"].min() * 0.5, 1e-9), n_max * 1.05, 200)
        curve = result.limits(grid)
        styles = {"95": ("--", NHS_MID_GREY), "99.8": ("-", NHS_DARK_GREY)}
        for name in result.z_levels:
            style, colour = styles.get(name, ("-.", NHS_MID_GREY))
            ax.plot(
                grid,
                curve[f"upper_{name}"],
                style,
                color=colour,
                linewidth=1,
                label=f"{name}% limits",
            )
            ax.plot(grid, curve[f"lower_{name}"], style, color=colour, linewidth=1)
        ax.axhline(result.target, color="black", linewidth=1, label="Average")
        picked = table["label"].isin(highlight)
        ax.scatter(
            table.loc[~picked, "denominator"],
            table.loc[~picked, "proportion"],
            s=18,
            color=NHS_BLUE,
            alpha=0.7,
            label="Organisations",
        )
        if picked.any():
            ax.scatter(
                table.loc[picked, "denominator"],
                table.loc[picked, "proportion"],
                s=60,
                color=NHS_ORANGE,
                edgecolors="black",
                zorder=4,
                label=", ".join(map(str, sorted(highlight))),
            )
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        if percent:
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        lines = [subtitle] if subtitle else []
        if result.overdispersion_adjusted:
            lines.append("Limits widened for over-dispersion")
        if lines:
            ax.text(
                0,
                1.0,
                "; ".join(lines),
                transform=ax.transAxes,
                fontsize=9,
                color=NHS_DARK_GREY,
                va="bottom",
            )
        ax.set_title(title, pad=18 if lines else 6)
        ax.legend(frameon=False, fontsize=8)
        fig.tight_layout()
    return fig


def bar_chart(
    df: pd.DataFrame,
    category: str,
    value: str,
    title: str,
    x_label: str,
    *,
    money: bool = True,
    diverging: bool = False,
) -> Figure:
    """Horizontal bars, largest at the top; ``diverging`` colours rises orange, falls blue."""
    require_columns(df, [category, value], "bar chart data")
    data = df.dropna(subset=[value]).iloc[::-1]
    with chart_style():
        fig, ax = plt.subplots(figsize=(9, max(2.5, 0.35 * len(data) + 1)))
        colours = (
            [NHS_ORANGE if v > 0 else NHS_BLUE for v in data[value]] if diverging else NHS_BLUE
        )
        ax.barh(data[category].astype(str), data[value], color=colours)
        ax.axvline(0, color=NHS_DARK_GREY, linewidth=0.8)
        ax.set_xlabel(x_label)
        if money:
            ax.xaxis.set_major_formatter(money_formatter())
        ax.set_title(title)
        fig.tight_layout()
    return fig


def stacked_bar_chart(
    df: pd.DataFrame,
    x: str,
    parts: Sequence[str],
    labels: Sequence[str],
    title: str,
    y_label: str,
    *,
    money: bool = True,
) -> Figure:
    """Vertical bars per ``x`` stacked from ``parts`` (e.g. high-cost and in-tariff spend)."""
    require_columns(df, [x, *parts], "stacked bar data")
    with chart_style():
        fig, ax = plt.subplots()
        bottom = np.zeros(len(df))
        for part, label, colour in zip(parts, labels, PALETTE, strict=False):
            values = df[part].fillna(0).to_numpy(dtype=float)
            ax.bar(df[x].astype(str), values, bottom=bottom, label=label, color=colour)
            bottom += values
        ax.set_ylabel(y_label)
        if money:
            ax.yaxis.set_major_formatter(money_formatter())
        ax.set_title(title)
        ax.legend(frameon=False, fontsize=9)
        fig.tight_layout()
    return fig


def forecast_chart(
    cumulative: pd.DataFrame,
    forecasts: pd.DataFrame,
    title: str,
    y_label: str,
    *,
    money: bool = True,
) -> Figure:
    """Cumulative spend by month of the financial year, with each method's outturn and intervals.

    Args:
        cumulative: ``fy_month, financial_year, cumulative`` for this year and last year.
        forecasts: From :func:`medlib.stats.forecast.forecast_outturn`.
        title: Plain-English title.
        y_label: Axis label with units.
        money: Format the axis as pounds.
    """
    require_columns(cumulative, ["fy_month", "financial_year", "cumulative"], "cumulative spend")
    require_columns(forecasts, ["method", "forecast", "lower_95", "upper_95"], "forecasts")
    months = ["Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar"]
    with chart_style():
        fig, ax = plt.subplots()
        years = sorted(cumulative["financial_year"].unique())
        for i, year in enumerate(years):
            frame = cumulative[cumulative["financial_year"] == year]
            latest = i == len(years) - 1
            ax.plot(
                frame["fy_month"],
                frame["cumulative"],
                color=NHS_BLUE if latest else NHS_MID_GREY,
                linewidth=2 if latest else 1.2,
                marker="o" if latest else None,
                markersize=3,
                label=year,
            )
        offsets = np.linspace(-0.15, 0.15, max(len(forecasts), 1))
        for offset, (_, row), colour in zip(
            offsets, forecasts.iterrows(), PALETTE[1:], strict=False
        ):
            if pd.isna(row["forecast"]):
                continue
            lower = row["forecast"] - row["lower_95"] if pd.notna(row["lower_95"]) else 0
            upper = row["upper_95"] - row["forecast"] if pd.notna(row["upper_95"]) else 0
            ax.errorbar(
                12 + offset,
                row["forecast"],
                yerr=[[lower], [upper]],
                fmt="D",
                color=colour,
                capsize=4,
                label=f"Forecast: {row.get('method_name', row['method'])} (95% interval)",
            )
        ax.set_xticks(range(1, 13), months)
        ax.set_xlim(0.5, 12.6)
        ax.set_ylabel(y_label)
        if money:
            ax.yaxis.set_major_formatter(money_formatter())
        ax.set_title(title)
        ax.legend(frameon=False, fontsize=8)
        fig.tight_layout()
    return fig


def close_all() -> None:
    """Close every open figure (for scripts and tests that make many charts)."""
    plt.close("all")
