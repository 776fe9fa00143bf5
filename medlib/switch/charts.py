"""Charts for the switch-uptake report. Each function returns a matplotlib Figure.

Percentages drawn from patient counts are computed from the published (rounded) counts and
suppressed (not drawn) where the numerator or the denominator is 1-7 patients, following
:mod:`medlib.present.disclosure`; charts of synthetic data say so in their footnote.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from medlib.present.charts import money_formatter
from medlib.present.disclosure import disclose_percentage
from medlib.present.style import (
    NHS_BLUE,
    NHS_DARK_GREY,
    NHS_GREEN,
    NHS_MID_GREY,
    NHS_ORANGE,
    NHS_PALE_GREY,
    NHS_PURPLE,
    chart_style,
)
from medlib.switch.definitions import SwitchDefinition, TargetProfile
from medlib.switch.uptake_curve import LogisticFit

__all__ = [
    "disclosed_percentages",
    "doac_chart",
    "savings_chart",
    "time_to_switch_chart",
    "uptake_chart",
    "vmp_proxy_chart",
]


def disclosed_percentages(numerator: pd.Series, denominator: pd.Series) -> np.ndarray:
    """Percentages with suppressed or undefined values as NaN (for plotting)."""
    values = [disclose_percentage(n, d) for n, d in zip(numerator, denominator, strict=True)]
    return np.array([v if isinstance(v, float | int) else np.nan for v in values], dtype=float)


#: Longest trust label written on the title's own line; a longer one (a full trust name) gets
#: a line of its own, since the figure is rendered as drawn (see medlib.present.figures), not
#: cropped to its contents, and a title wider than the figure would be cut off.
SHORT_LABEL_CHARS = 12


def _title(ax: plt.Axes, title: str, trust_label: str = "") -> None:
    if not trust_label:
        ax.set_title(title)
    elif len(trust_label) <= SHORT_LABEL_CHARS:
        ax.set_title(f"{title} ({trust_label})")
    else:
        ax.set_title(f"{title}\n{trust_label}")


def _margins(fig: Figure, bottom: float) -> None:
    # Fixed margins leave room for a two-line title, the axis labels and the footnote.
    fig.subplots_adjust(left=0.09, right=0.97, top=0.85, bottom=bottom)


def _footnote(fig: Figure, text: str) -> None:
    fig.text(0.01, 0.01, text, fontsize=8, color=NHS_DARK_GREY, ha="left", va="bottom", wrap=True)


def _launch_line(ax: plt.Axes, definition: SwitchDefinition) -> None:
    launch = pd.Timestamp(definition.launch_date)
    ax.axvline(launch, color=NHS_DARK_GREY, linestyle=":", linewidth=1)
    ax.annotate(
        f"Launch\n{launch:%d %b %Y}",
        xy=(launch, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(4, -4),
        textcoords="offset points",
        fontsize=8,
        va="top",
        color=NHS_DARK_GREY,
    )


def uptake_chart(
    new_uptake: pd.DataFrame,
    existing_uptake: pd.DataFrame,
    quantity_share: pd.DataFrame | None,
    definition: SwitchDefinition,
    profile: TargetProfile,
    trust_label: str,
    note: str = "",
    new_window: int = 3,
) -> Figure:
    """New and existing patients on best value by month, with target lines and launch marked.

    Args:
        new_uptake: One trust's rows from :func:`medlib.switch.uptake.new_patient_uptake`.
        existing_uptake: One trust's rows from :func:`medlib.switch.uptake.existing_patient_uptake`.
        quantity_share: Optional rows from :func:`medlib.switch.uptake.brand_quantity_share`.
        definition: The switch.
        profile: Targets to draw.
        trust_label: Trust code for the title (a longer label gets its own line).
        note: Footnote (e.g. the synthetic-data label).
        new_window: Months pooled for the new-patient share (trailing; 1 = each month alone).
    """
    with chart_style():
        fig, ax = plt.subplots(figsize=(9, 4.5))
        # New starts per month are often few; a trailing window keeps more months above the
        # disclosure threshold while still showing the trend.
        window = max(1, int(new_window))
        ordered = new_uptake.sort_values("year_month")
        new_n = ordered["new_patients"].rolling(window, min_periods=1).sum()
        new_bv = ordered["new_best_value"].rolling(window, min_periods=1).sum()
        new_pct = disclosed_percentages(new_bv, new_n)
        new_label = "New patients started on best value" + (
            f" ({window} months to date)" if window > 1 else ""
        )
        ex_pct = disclosed_percentages(
            existing_uptake["existing_best_value"], existing_uptake["existing_patients"]
        )
        ax.plot(
            ordered["year_month"],
            new_pct,
            marker="o",
            markersize=3,
            color=NHS_BLUE,
            label=new_label,
        )
        ax.plot(
            existing_uptake["year_month"],
            ex_pct,
            color=NHS_ORANGE,
            linewidth=2,
            label="Existing patients on best value",
        )
        if quantity_share is not None and len(quantity_share):
            ax.plot(
                quantity_share["year_month"],
                quantity_share["pct_quantity_best_value"],
                color=NHS_PURPLE,
                linestyle="--",
                linewidth=1,
                label="Share of quantity on best value",
            )
        end = max(new_uptake["year_month"].max(), existing_uptake["year_month"].max())
        launch_month = pd.Timestamp(definition.launch_month)
        for share, months, colour, who in (
            (profile.new_share, profile.new_months, NHS_BLUE, "new"),
            (profile.existing_share, profile.existing_months, NHS_ORANGE, "existing"),
        ):
            start = launch_month + pd.DateOffset(months=months)
            if start <= end:
                ax.hlines(
                    share * 100, start, end, colors=colour, linestyles=(0, (4, 3)), linewidth=1
                )
            # A target month after the data end is labelled at the end, inside the axes.
            after_end = start > end
            ax.annotate(
                f"{who} target {share * 100:.0f}% from month {months}",
                xy=(min(start, end), share * 100),
                xytext=(-2 if after_end else 2, 3),
                textcoords="offset points",
                ha="right" if after_end else "left",
                fontsize=7,
                color=colour,
            )
        _launch_line(ax, definition)
        ax.set_ylim(0, 105)
        ax.yaxis.set_major_formatter(PercentFormatter())
        ax.set_ylabel("Patients on a best-value product")
        _title(ax, f"{definition.molecule.capitalize()}: best-value uptake", trust_label)
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        _margins(fig, bottom=0.2)
        _footnote(fig, (note + " " if note else "") + "Months with 1-7 patients are not shown.")
    return fig


def savings_chart(
    forecast_vs_realised: pd.DataFrame,
    definition: SwitchDefinition,
    trust_label: str,
    note: str = "",
) -> Figure:
    """Cumulative savings: the programme forecast, the national-target path and the realised.

    Args:
        forecast_vs_realised: From :func:`medlib.switch.savings.forecast_vs_realised`.
        definition: The switch.
        trust_label: Trust code for the title (a longer label gets its own line).
        note: Footnote.
    """
    f = forecast_vs_realised
    with chart_style():
        fig, ax = plt.subplots(figsize=(9, 4.5))
        if len(f):
            ax.plot(
                f["year_month"],
                f["cumulative_forecast_gbp"],
                color=NHS_BLUE,
                linestyle="--",
                label="Programme forecast",
            )
            ax.plot(
                f["year_month"],
                f["cumulative_target_gbp"],
                color=NHS_MID_GREY,
                linestyle=":",
                label="If the existing-patient target path were followed",
            )
            realised = f["realised_saving_gbp"].notna()
            ax.plot(
                f.loc[realised, "year_month"],
                f.loc[realised, "cumulative_realised_gbp"],
                color=NHS_GREEN,
                linewidth=2,
                label="Realised",
            )
            projected = f["projected_saving_gbp"].notna()
            if projected.any():
                last_real = f.loc[realised].tail(1)
                proj = pd.concat([last_real, f.loc[projected]])
                ax.plot(
                    proj["year_month"],
                    proj["cumulative_realised_gbp"],
                    color=NHS_GREEN,
                    linestyle=(0, (2, 2)),
                    label="Realised, projected to year end",
                )
        ax.yaxis.set_major_formatter(money_formatter("compact"))
        ax.set_ylabel("Cumulative saving since launch")
        _title(
            ax, f"{definition.molecule.capitalize()}: savings forecast and realised", trust_label
        )
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        _margins(fig, bottom=0.2)
        _footnote(
            fig,
            (note + " " if note else "")
            + "Savings are against the originator list price; contract prices differ.",
        )
    return fig


def time_to_switch_chart(
    distributions: dict[str, pd.DataFrame], trust_label: str, note: str = ""
) -> Figure:
    """Cumulative share of existing patients switched, by months since launch, per molecule.

    Args:
        distributions: ``{molecule: one trust's rows from
            medlib.switch.uptake.time_to_switch_distribution}``.
        trust_label: Trust code for the title (a longer label gets its own line).
        note: Footnote.
    """
    with chart_style():
        fig, ax = plt.subplots(figsize=(9, 4.5))
        drawn = 0
        for molecule, dist in distributions.items():
            if dist is None or dist.empty:
                continue
            pct = disclosed_percentages(dist["switched_by_month"], dist["existing_at_launch"])
            ax.step(dist["months_since_launch"], pct, where="post", label=molecule.capitalize())
            drawn += 1
        ax.set_ylim(0, 105)
        ax.yaxis.set_major_formatter(PercentFormatter())
        ax.set_xlabel("Months since launch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("Existing patients switched")
        _title(ax, "Time to switch: existing patients on treatment at launch", trust_label)
        if drawn:
            ax.legend(loc="lower right", fontsize=8, frameon=False)
        _margins(fig, bottom=0.22)
        _footnote(fig, (note + " " if note else "") + "Months with 1-7 patients are not shown.")
    return fig


def vmp_proxy_chart(
    trust_proxy: pd.DataFrame,
    all_proxy: pd.DataFrame,
    definition: SwitchDefinition,
    trust_label: str,
) -> Figure:
    """The SCMD VMP-level proxy share for one trust against the median trust.

    Args:
        trust_proxy: One trust's rows from :func:`medlib.switch.uptake.vmp_proxy_share`.
        all_proxy: Every trust's rows (the median per month is drawn).
        definition: A switch with a VMP proxy.
        trust_label: Trust code for the legend.
    """
    with chart_style():
        fig, ax = plt.subplots(figsize=(9, 4.5))
        if len(all_proxy):
            spread = (
                all_proxy.groupby("year_month")["pct_proxy_best_value"]
                .quantile([0.1, 0.5, 0.9])
                .unstack()
            )
            ax.fill_between(
                spread.index,
                spread[0.1],
                spread[0.9],
                color=NHS_PALE_GREY,
                label="Middle 80% of trusts",
            )
            ax.plot(
                spread.index, spread[0.5], color=NHS_MID_GREY, linestyle="--", label="Median trust"
            )
        if len(trust_proxy):
            ax.plot(
                trust_proxy["year_month"],
                trust_proxy["pct_proxy_best_value"],
                color=NHS_BLUE,
                linewidth=2,
                label=trust_label,
            )
        ax.set_ylim(0, 105)
        ax.yaxis.set_major_formatter(PercentFormatter())
        ax.set_ylabel("Doses on best-value-like VMPs")
        _title(ax, f"{definition.molecule.capitalize()}: VMP-level proxy from SCMD (real data)")
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        _margins(fig, bottom=0.2)
        _footnote(
            fig,
            "PROXY, not a brand share. Source: NHSBSA Secondary Care Medicines Data, "
            "Open Government Licence v3.0.",
        )
    return fig


def doac_chart(series: pd.DataFrame, fit: LogisticFit) -> Figure:
    """The real DOAC share series with its fitted logistic curve."""
    with chart_style():
        fig, ax = plt.subplots(figsize=(9, 4.5))
        ax.plot(
            series["year_month"],
            series["doac_share"] * 100,
            "o",
            markersize=3,
            color=NHS_BLUE,
            label="DOAC share of DOAC + warfarin items (England)",
        )
        ax.plot(
            series["year_month"],
            series["fitted_share"] * 100,
            color=NHS_ORANGE,
            label="Fitted logistic curve",
        )
        ax.axhline(fit.ceiling * 100, color=NHS_MID_GREY, linestyle=":", linewidth=1)
        ax.annotate(
            f"fitted ceiling {fit.ceiling * 100:.0f}%",
            xy=(series["year_month"].min(), fit.ceiling * 100),
            xytext=(2, 3),
            textcoords="offset points",
            fontsize=8,
            color=NHS_DARK_GREY,
        )
        ax.set_ylim(0, 100)
        ax.yaxis.set_major_formatter(PercentFormatter())
        ax.set_ylabel("Share of items")
        _title(ax, "A real switch: DOACs replacing warfarin in primary care")
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        _margins(fig, bottom=0.2)
        _footnote(
            fig,
            "Source: English Prescribing Dataset (NHSBSA) via OpenPrescribing, "
            "Open Government Licence v3.0.",
        )
    return fig
