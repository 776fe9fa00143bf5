"""Charts for lead-facing reports: SPC, deciles, funnels, bars, forecasts.

Every function returns a matplotlib Figure drawn inside :func:`medlib.present.style.chart_style`
(NHS
colours, no global style changes). Figures are made with pyplot so a notebook shows them; end
the notebook cell with ``;`` or ``plt.show()``. Titles say in plain English what the chart
shows; axis labels carry units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle
from matplotlib.text import Text
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
from medlib.present.wording import Rounding, format_gbp, format_month, format_number
from medlib.stats.peer_comparison import FunnelResult
from medlib.stats.spc import (
    ASSURANCE_TEXT,
    MIN_POINTS,
    SIGNAL_RULES,
    SPC_COLOURS,
    SpcResult,
    special_cause_signals,
)
from medlib.validation import require_columns

__all__ = [
    "SPC_FIGURE_WIDTH",
    "SpcIcon",
    "assurance_icon_spec",
    "bar_chart",
    "close_all",
    "decile_chart",
    "forecast_chart",
    "funnel_chart",
    "money_formatter",
    "spc_chart",
    "spc_summary",
    "stacked_bar_chart",
    "variation_icon_spec",
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


#: Figure width in inches: a full A4 portrait text width at 100 dpi.
SPC_FIGURE_WIDTH = 9.0
#: Inches kept right of the SPC plot for the Making Data Count icons and the legend.
_SPC_SIDE_WIDTH = 1.95
#: Inches of the SPC plot with its x tick labels (the header and footnote come on top).
_SPC_BODY_HEIGHT = 3.9
#: Widest left margin (y tick labels and axis label) the title and subtitle are wrapped for.
_SPC_LEFT_MARGIN = 1.2
#: Diameter of a Making Data Count icon, in inches.
_ICON_SIZE = 0.62

#: Plain words for a point's class, as the subtitle names the latest point's.
_CLASS_TEXT = {
    "common_cause": "common cause variation",
    "special_cause_improvement": "special cause of improvement",
    "special_cause_concern": "special cause of concern",
    "special_cause_neutral_high": "special cause, higher",
    "special_cause_neutral_low": "special cause, lower",
}
_JUDGEMENT = {"special_cause_improvement": "improvement", "special_cause_concern": "concern"}


@dataclass(frozen=True)
class SpcIcon:
    """A Making Data Count icon as drawn beside an SPC chart.

    Attributes:
        code: The variation icon (:func:`medlib.stats.spc.variation_icon`), the assurance type
            (:func:`medlib.stats.spc.assurance_type`), or ``"no_target"`` / ``"no_assurance"``
            when there is no assurance icon to draw.
        letter: Letter in the circle (``"H"``, ``"L"``, ``"P"``, ``"F"`` or ``"?"``); empty for
            common cause, which has a line of dots instead, and when nothing is drawn.
        colour: Colour of the circle and its letter; None when no circle is drawn.
        caption: The words under the icon (in its place when nothing is drawn).
    """

    code: str
    letter: str
    colour: str | None
    caption: str


_IMPROVEMENT = SPC_COLOURS["special_cause_improvement"]
_CONCERN = SPC_COLOURS["special_cause_concern"]
_NEUTRAL = SPC_COLOURS["special_cause_neutral_high"]
# Blue, orange and purple are the chart's own point colours, so an icon matches the points it
# is about; the grey is darker than the points' so that a grey "?" on white can still be read.
_VARIATION_ICONS = {
    "common_cause": ("", NHS_MID_GREY, "Common cause\nvariation"),
    "improvement_high": ("H", _IMPROVEMENT, "Improvement:\nhigher"),
    "improvement_low": ("L", _IMPROVEMENT, "Improvement:\nlower"),
    "concern_high": ("H", _CONCERN, "Concern:\nhigher"),
    "concern_low": ("L", _CONCERN, "Concern:\nlower"),
    "neutral_high": ("H", _NEUTRAL, "Special cause:\nhigher"),
    "neutral_low": ("L", _NEUTRAL, "Special cause:\nlower"),
}
_ASSURANCE_ICONS = {
    "consistent_pass": ("P", _IMPROVEMENT, "Consistently\npasses target"),
    "consistent_fail": ("F", _CONCERN, "Consistently\nfails target"),
    "inconsistent": ("?", NHS_MID_GREY, "Hit and miss\nagainst target"),
}


def variation_icon_spec(icon: str) -> SpcIcon:
    r"""The Making Data Count variation icon to draw for a chart's variation category.

    Grey with a line of dots for common cause; blue for improvement, orange for concern and
    purple when neither direction is better, each with ``H`` (higher) or ``L`` (lower).

    Args:
        icon: From :func:`medlib.stats.spc.variation_icon` (``SpcResult.variation_icon``).

    Raises:
        InputError: An unknown category.

    Example:
        >>> variation_icon_spec("concern_high")
        SpcIcon(code='concern_high', letter='H', colour='#E46C0A', caption='Concern:\nhigher')
    """
    if icon not in _VARIATION_ICONS:
        raise InputError(
            f"unknown variation icon {icon!r}; expected one of {list(_VARIATION_ICONS)}"
        )
    letter, colour, caption = _VARIATION_ICONS[icon]
    return SpcIcon(icon, letter, colour, caption)


def assurance_icon_spec(assurance: str | None, has_target: bool = False) -> SpcIcon:
    """The Making Data Count assurance icon to draw, or the words saying why there is none.

    ``P`` in blue when the process will consistently pass the target, ``F`` in orange when it
    will consistently fail, ``?`` in grey when it will hit and miss.

    Args:
        assurance: From :func:`medlib.stats.spc.assurance_type` (``SpcResult.assurance_type``).
        has_target: Whether the chart has a target: a target on a measure with no better
            direction gives no assurance either, and is said differently.

    Raises:
        InputError: An unknown assurance type.

    Example:
        >>> assurance_icon_spec("inconsistent").letter, assurance_icon_spec(None).caption
        ('?', 'No target set')
    """
    if assurance is None:
        if has_target:
            return SpcIcon("no_assurance", "", None, "No assurance:\nno better direction")
        return SpcIcon("no_target", "", None, "No target set")
    if assurance not in _ASSURANCE_ICONS:
        raise InputError(
            f"unknown assurance type {assurance!r}; expected one of {list(_ASSURANCE_ICONS)}"
        )
    letter, colour, caption = _ASSURANCE_ICONS[assurance]
    return SpcIcon(assurance, letter, colour, caption)


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _value_text(value: float, money: bool) -> str:
    if money:
        return format_gbp(value)
    return format_number(value) if abs(value) >= 1000 else f"{value:.3g}"


def _signal_phrase(
    rule: str, side: int, lengths: Sequence[int], unit: str, judgement: str | None
) -> str:
    """One kind of signal in words, e.g. ``runs of 8 and 9 months above the mean (concern)``."""
    limit = "upper" if side > 0 else "lower"
    notes = [judgement] if judgement else []
    if rule == "outside_limits":
        phrase = (
            f"{_plural(sum(lengths), unit)} {'above' if side > 0 else 'below'} the {limit} limit"
        )
    elif rule == "two_in_three":
        phrase = f"{_plural(sum(lengths), unit)} close to the {limit} limit"
        notes.insert(0, "2 of 3 in a row beyond 2 sigma")
    else:
        of = f"of {_and([str(n) for n in lengths])} {unit}s"
        if rule == "trend":
            way = "rising" if side > 0 else "falling"
            phrase = f"a {way} run {of}" if len(lengths) == 1 else f"{way} runs {of}"
        else:
            runs = "a run" if len(lengths) == 1 else "runs"
            phrase = f"{runs} {of} {'above' if side > 0 else 'below'} the mean"
    return f"{phrase} ({', '.join(notes)})" if notes else phrase


def _latest_rule_text(label: str, last: int, signals: pd.DataFrame, unit: str) -> str:
    """Why the latest point is special cause, from its label and the signal it ends."""
    if label == "Above UCL":
        return "above the upper limit"
    if label == "Below LCL":
        return "below the lower limit"
    rule = "trend" if "Trend" in label else "two_in_three" if "2 in 3" in label else "shift"
    if rule == "two_in_three":
        limit = "upper" if "Above" in label else "lower"
        return f"close to the {limit} limit, 2 of 3 in a row beyond 2 sigma"
    # The run a latest point belongs to ends at it, so its signal ends there too.
    mine = signals[(signals["rule"] == rule) & (signals["end"] == last)]
    n = str(mine["n_points"].max()) if len(mine) else "7 or more"
    if rule == "trend":
        return f"the end of a {'rising' if 'Increasing' in label else 'falling'} run of {n} {unit}s"
    return f"the end of a run of {n} {unit}s {'above' if 'Above' in label else 'below'} the mean"


def spc_summary(result: SpcResult, *, money: bool = True) -> list[str]:
    """What an SPC chart shows, in sentences: the latest point, then the chart as a whole.

    The first sentence is the latest point's class (what the variation icon shows); the second
    names every special-cause signal anywhere on the chart (from
    :func:`medlib.stats.spc.special_cause_signals`), so a chart ending in common cause is not
    described as showing no change when earlier points are far outside the limits. Then the
    target's assurance and trial limits, when they apply.

    Args:
        result: The chart.
        money: Values are pounds (the target is written as pounds).

    Returns:
        The sentences, each ending in a full stop.

    Example:
        >>> from medlib.stats.spc import spc
        >>> spc_summary(spc([10, 20] * 6 + [80]))
        ['Latest point (12): special cause of improvement (above the upper limit).', \
'Over the chart, 1 of 13 points shows special cause: 1 point above the upper limit \
(improvement).']
    """
    pts = result.points
    monthly = all(_is_date(v) for v in pts["x"])
    unit = "month" if monthly else "point"
    last = len(pts) - 1
    when = format_month(pts["x"].iloc[-1]) if monthly else str(pts["x"].iloc[-1])
    signals = special_cause_signals(result)

    latest_type = result.last_point_type
    latest = f"Latest {unit} ({when}): {_CLASS_TEXT[latest_type]}"
    if latest_type != "common_cause":
        label = str(pts["special_cause_type"].iloc[-1])
        latest += f" ({_latest_rule_text(label, last, signals, unit)})"
    sentences = [latest + "."]

    flagged = int(pts["special_cause_flag"].sum())
    if flagged == 0:
        every = f"the 1 {unit} shows" if len(pts) == 1 else f"all {len(pts)} {unit}s show"
        sentences.append(f"Over the chart, {every} common cause variation only.")
    else:
        phrases = []
        # Rules in precedence order, and for each the higher side first.
        order = signals.assign(rank=signals["rule"].map(SIGNAL_RULES.index), high=-signals["side"])
        for (_, _, side), group in order.groupby(["rank", "rule", "high"], sort=True):
            judgement = _JUDGEMENT.get(group["point_type"].iloc[0])
            rule, lengths = group["rule"].iloc[0], list(group["n_points"])
            phrases.append(_signal_phrase(rule, -int(side), lengths, unit, judgement))
        verb = "shows" if flagged == 1 else "show"
        sentences.append(
            f"Over the chart, {flagged} of {_plural(len(pts), unit)} {verb} special cause: "
            f"{_and(phrases)}."
        )

    if result.target is not None:
        target = _value_text(result.target, money)
        assurance = result.assurance_type
        words = (
            ASSURANCE_TEXT[assurance]
            if assurance
            else "no assurance, as neither direction is better"
        )
        sentences.append(f"Target {target}: {words}.")
    if pts["trial_limits"].any():
        sentences.append(f"Trial limits: fewer than {MIN_POINTS} points.")
    return sentences


def _clipped_lower_limits(pts: pd.DataFrame, floor: float | None) -> list[float]:
    """The computed lower limits (one per baseline) drawn at ``floor`` instead."""
    if floor is None or (pts["y"] < floor).any():
        # A value below the floor shows the measure can go there, so the limit is left alone.
        return []
    limits = pts.groupby("rebase_group", sort=True)["lpl"].first()
    return [float(v) for v in limits if pd.notna(v) and v < floor]


def _wrap(text: str, fig: Figure, width_in: float, **font: object) -> str:
    """``text`` broken into lines no wider than ``width_in`` inches, as drawn in ``fig``."""
    renderer = fig.canvas.get_renderer()
    probe = fig.text(0, 0, "", **font)
    limit = width_in * fig.dpi

    def fits(line: str) -> bool:
        probe.set_text(line)
        return probe.get_window_extent(renderer).width <= limit

    lines = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and not fits(candidate):
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    probe.remove()
    return "\n".join(lines)


def _height_in(text: Text, fig: Figure) -> float:
    return text.get_window_extent(fig.canvas.get_renderer()).height / fig.dpi


def _draw_icon(fig: Figure, centre: tuple[float, float], icon: SpcIcon, gid: str) -> None:
    """One icon: a ring with its letter (or line of dots) and the caption under it."""
    fig_w, fig_h = fig.get_size_inches()
    cx, cy = centre
    half = _ICON_SIZE / 2
    ax = fig.add_axes(
        (cx - half / fig_w, cy - half / fig_h, _ICON_SIZE / fig_w, _ICON_SIZE / fig_h)
    )
    ax.set_gid(gid)
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1, 1)
    ax.axis("off")
    caption_y = cy - (half + 0.05) / fig_h
    if icon.colour is None:
        fig.text(cx, cy, icon.caption, ha="center", va="center", fontsize=8, color=NHS_DARK_GREY)
        return
    ax.add_patch(Circle((0, 0), 0.88, facecolor="white", edgecolor=icon.colour, linewidth=3))
    if icon.letter:
        ax.text(
            0,
            0,
            icon.letter,
            ha="center",
            va="center",
            fontsize=17,
            fontweight="bold",
            color=icon.colour,
        )
    else:
        ax.plot(
            np.linspace(-0.55, 0.55, 5),
            [0.0] * 5,
            color=icon.colour,
            marker="o",
            markersize=4,
            linewidth=1.5,
        )
    fig.text(cx, caption_y, icon.caption, ha="center", va="top", fontsize=8, color=NHS_DARK_GREY)


def _spc_legend_handles(result: SpcResult) -> list[Line2D]:
    common = SPC_COLOURS["common_cause"]

    def point(colour: str, label: str) -> Line2D:
        return Line2D(
            [],
            [],
            color=NHS_MID_GREY,
            linewidth=1.2,
            marker="o",
            markersize=5,
            markerfacecolor=colour,
            markeredgecolor="none",
            label=label,
        )

    handles = [point(common, "Common cause")]
    if result.improvement_direction == "neutral":
        handles.append(point(_NEUTRAL, "Special cause\n(higher or lower)"))
    else:
        handles.append(point(_IMPROVEMENT, "Special cause:\nimprovement"))
        handles.append(point(_CONCERN, "Special cause:\nconcern"))
    handles.append(Line2D([], [], color="black", linewidth=1, label="Mean"))
    handles.append(
        Line2D([], [], color=NHS_DARK_GREY, linestyle="--", linewidth=1, label="Process limits")
    )
    if result.target is not None:
        handles.append(Line2D([], [], color=NHS_RED, linestyle=":", linewidth=1.2, label="Target"))
    return handles


def spc_chart(
    result: SpcResult,
    title: str,
    y_label: str,
    *,
    money: bool = True,
    floor: float | None = 0.0,
) -> Figure:
    """A Making Data Count XmR chart: points coloured by class, mean, limits, icons and legend.

    The subtitle says what the latest point shows and what the whole chart shows
    (:func:`spc_summary`). The variation and assurance icons (:func:`variation_icon_spec`,
    :func:`assurance_icon_spec`) are drawn at the top right, over the legend. The figure is
    :data:`SPC_FIGURE_WIDTH` inches wide, so it fits an A4 portrait page, and its height grows
    with the subtitle; everything is inside the figure as drawn.

    Args:
        result: The chart, from :func:`medlib.stats.spc.spc`.
        title: Plain-English title.
        y_label: Axis label with units.
        money: Values are pounds (axis and text formatted as pounds).
        floor: The lowest value the measure can take (0 for spend, quantities and DDDs); a
            lower process limit below it is drawn at it, and a footnote gives the computed
            limit. None draws the limits as computed. Nothing is clipped when a value is below
            the floor. The computed limits in ``result`` are not changed.
    """
    pts = result.points
    x = np.arange(len(pts))
    clipped = _clipped_lower_limits(pts, floor)
    drawn_lpl = pts["lpl"].to_numpy(dtype=float)
    if clipped:
        drawn_lpl = np.where(drawn_lpl < floor, floor, drawn_lpl)
    with chart_style():
        fig, ax = plt.subplots(figsize=(SPC_FIGURE_WIDTH, _SPC_BODY_HEIGHT))
        ax.plot(x, pts["y"], color=NHS_MID_GREY, linewidth=1.2, zorder=1)
        ax.scatter(x, pts["y"], c=pts["colour"], s=28, zorder=3, edgecolors="none")
        for _, group in pts.groupby("rebase_group"):
            idx = group.index.to_numpy()
            gx = x[idx]
            ax.plot(gx, group["mean"], color="black", linewidth=1, gid="mean")
            ax.plot(
                gx,
                group["upl"],
                color=NHS_DARK_GREY,
                linestyle="--",
                linewidth=1,
                gid="upper_limit",
            )
            ax.plot(
                gx,
                drawn_lpl[idx],
                color=NHS_DARK_GREY,
                linestyle="--",
                linewidth=1,
                gid="lower_limit",
            )
        if result.target is not None:
            ax.axhline(result.target, color=NHS_RED, linestyle=":", linewidth=1.2, gid="target")
        labels = _month_labels(pts["x"])
        step = max(1, len(labels) // 10)
        ax.set_xticks(x[::step], labels[::step], rotation=45, ha="right")
        ax.set_ylabel(y_label)
        if money:
            ax.yaxis.set_major_formatter(money_formatter())

        # Title and subtitle span the whole width (the icons start below them), so they are
        # wrapped to it. The subtitle is kept out of tight_layout, which would otherwise
        # squeeze the plot to fit it beside; the title's pad keeps room for it above the plot
        # (tight_layout counts a title's height, never its width).
        text_width = SPC_FIGURE_WIDTH - _SPC_LEFT_MARGIN - 0.1
        # The latest point, the chart as a whole and the notes each start a line.
        sentences = spc_summary(result, money=money)
        subtitle = "\n".join([*sentences[:2], " ".join(sentences[2:])]).strip()
        sub = ax.text(
            0,
            1.0,
            _wrap(subtitle, fig, text_width, fontsize=9),
            transform=ax.transAxes,
            fontsize=9,
            color=NHS_DARK_GREY,
            va="bottom",
            linespacing=1.3,
        )
        sub.set_in_layout(False)
        sub_h = _height_in(sub, fig)
        heading = ax.set_title(
            _wrap(title, fig, text_width, fontsize=12, fontweight="bold"),
            loc="left",
            pad=sub_h * 72 + 6,
        )
        header_h = sub_h + 6 / 72 + _height_in(heading, fig) + 0.12

        note: Text | None = None
        note_h = 0.0
        if clipped:
            floor_text = _value_text(floor, money)
            computed = _and([_value_text(v, money) for v in clipped])
            why = (
                "values cannot be negative"
                if floor == 0
                else f"values cannot go below {floor_text}"
            )
            note = fig.text(
                0.1 / SPC_FIGURE_WIDTH,
                0.0,
                f"Lower process limit drawn at {floor_text}, "
                f"not at the computed {computed}: {why}.",
                fontsize=8,
                color=NHS_DARK_GREY,
                va="bottom",
                gid="floor_note",
            )
            note_h = _height_in(note, fig) + 0.08

        height = header_h + _SPC_BODY_HEIGHT + note_h
        fig.set_size_inches(SPC_FIGURE_WIDTH, height)
        if note is not None:
            note.set_y(0.06 / height)
        fig.tight_layout(rect=(0, note_h / height, 1 - _SPC_SIDE_WIDTH / SPC_FIGURE_WIDTH, 1))

        # The icons and the legend stand in the column right of the plot, from its top down.
        box = ax.get_position()
        column_left = box.x1 + 0.15 / SPC_FIGURE_WIDTH
        column_centre = column_left + (_SPC_SIDE_WIDTH - 0.15) / 2 / SPC_FIGURE_WIDTH
        offset = 0.47 / SPC_FIGURE_WIDTH
        heading_y = box.y1
        icon_y = heading_y - (0.2 + _ICON_SIZE / 2) / height
        icons = (
            ("Variation", variation_icon_spec(result.variation_icon), "variation_icon"),
            (
                "Assurance",
                assurance_icon_spec(result.assurance_type, result.target is not None),
                "assurance_icon",
            ),
        )
        for sign, (name, icon, gid) in zip((-1, 1), icons, strict=True):
            cx = column_centre + sign * offset
            fig.text(
                cx,
                heading_y,
                name,
                ha="center",
                va="top",
                fontsize=8,
                fontweight="bold",
                color=NHS_DARK_GREY,
            )
            _draw_icon(fig, (cx, icon_y), icon, gid)
        legend_top = icon_y - (_ICON_SIZE / 2 + 0.45) / height
        fig.legend(
            handles=_spc_legend_handles(result),
            loc="upper left",
            bbox_to_anchor=(column_left, legend_top),
            frameon=False,
            fontsize=8,
            borderaxespad=0,
            handlelength=2.2,
        )
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
    subtitle: str | None = None,
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
        subtitle: A line (wrapped to the chart's width) under the title.
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
        if subtitle:
            width = fig.get_figwidth() * ax.get_position().width
            text = _wrap(subtitle, fig, width, fontsize=9)
            ax.text(
                0, 1.0, text, transform=ax.transAxes, fontsize=9, color=NHS_DARK_GREY, va="bottom"
            )
            ax.set_title(title, pad=8 + 12 * (text.count("\n") + 1))
        else:
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
