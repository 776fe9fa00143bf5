from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure

from medlib.errors import InputError
from medlib.present import charts
from medlib.present.figures import clipped_text
from medlib.present.style import NHS_MID_GREY, NHS_ORANGE
from medlib.stats import peer_comparison, spc
from medlib.stats.spc import SPC_COLOURS

CONCERN = SPC_COLOURS["special_cause_concern"]
IMPROVEMENT = SPC_COLOURS["special_cause_improvement"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    charts.close_all()


def test_money_formatter():
    fmt = charts.money_formatter()
    assert fmt(1234.0) == "£1,234" and fmt(2_500_000) == "£2.5m" and fmt(-50) == "-£50"


def test_spc_chart_colours_points_by_class():
    result = spc.spc([0, 2] * 6 + [20], improvement_direction="decrease")
    fig = charts.spc_chart(result, "Spend each month", "Spend (£)")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "Spend each month"
    colours = ax.collections[0].get_facecolors()
    # 13 points, the last one orange (concern: higher when lower is better)
    assert len(colours) == 13
    expected = SPC_COLOURS["special_cause_concern"].lstrip("#")
    last = "".join(f"{round(c * 255):02x}" for c in colours[-1][:3])
    assert last == expected.lower()
    assert "concern" in ax.texts[0].get_text()


#: Limits fixed on 12 alternating points: mean 11, moving ranges all 2, limits 11 +/- 5.32
#: (5.68 and 16.32), 2-sigma lines 11 +/- 3.547; the alternation itself signals nothing.
BASELINE = [12, 10] * 6


def _months(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2023-04-01", periods=n, freq="MS")


def _hex(rgba) -> str:
    return "#" + "".join(f"{round(c * 255):02X}" for c in rgba[:3])


def test_summary_names_points_above_the_limit_when_the_latest_month_is_common_cause():
    # 20 and 21 (May and July 2024) are above 16.32; the last month, 12 in August 2024, is not.
    values = BASELINE + [20, 11, 21, 10, 12]
    result = spc.spc(values, _months(17), improvement_direction="decrease", fix_after_n_points=12)
    assert charts.spc_summary(result) == [
        "Latest month (August 2024): common cause variation.",
        "Over the chart, 2 of 17 months show special cause: 2 months above the upper limit "
        "(concern).",
    ]


def test_summary_gives_a_run_its_full_length_and_the_latest_point_its_rule():
    # 13, 13, 20, 13, 13, 13, 13, 13: 8 months above the mean 11, the 20 above 16.32 as well.
    values = BASELINE + [13, 13, 20, 13, 13, 13, 13, 13]
    result = spc.spc(values, _months(20), improvement_direction="neutral", fix_after_n_points=12)
    assert charts.spc_summary(result) == [
        "Latest month (November 2024): special cause, higher (the end of a run of 8 months "
        "above the mean).",
        "Over the chart, 8 of 20 months show special cause: 1 month above the upper limit and "
        "a run of 8 months above the mean.",
    ]


def test_summary_states_the_target_and_trial_limits():
    # [5, 7, 6, 9, 6]: mean 6.6, moving ranges 2, 1, 3, 3 (mean 2.25), limits 0.615 to 12.585;
    # a target of 20 above the upper limit of an "increase" measure is consistently missed.
    result = spc.spc([5, 7, 6, 9, 6], improvement_direction="increase", target=20)
    assert charts.spc_summary(result, money=False) == [
        "Latest point (4): common cause variation.",
        "Over the chart, all 5 points show common cause variation only.",
        "Target 20: the process will consistently miss the target.",
        "Trial limits: fewer than 12 points.",
    ]


@pytest.mark.parametrize(
    ("last", "direction", "code", "letter", "colour"),
    [
        (12, "decrease", "common_cause", "", NHS_MID_GREY),
        (30, "decrease", "concern_high", "H", SPC_COLOURS["special_cause_concern"]),
        (30, "increase", "improvement_high", "H", SPC_COLOURS["special_cause_improvement"]),
        (0, "increase", "concern_low", "L", SPC_COLOURS["special_cause_concern"]),
        (0, "decrease", "improvement_low", "L", SPC_COLOURS["special_cause_improvement"]),
        (30, "neutral", "neutral_high", "H", SPC_COLOURS["special_cause_neutral_high"]),
        (0, "neutral", "neutral_low", "L", SPC_COLOURS["special_cause_neutral_low"]),
    ],
)
def test_variation_icon_for_a_planted_last_point(last, direction, code, letter, colour):
    # 30 is above the upper limit 16.32 and 0 below the lower limit 5.68; 12 is inside.
    result = spc.spc(BASELINE + [last], improvement_direction=direction, fix_after_n_points=12)
    icon = charts.variation_icon_spec(result.variation_icon)
    assert (icon.code, icon.letter, icon.colour) == (code, letter, colour)


@pytest.mark.parametrize(
    ("target", "direction", "code", "letter", "colour", "caption"),
    [
        (20, "increase", "consistent_fail", "F", CONCERN, "Consistently\nfails target"),
        (20, "decrease", "consistent_pass", "P", IMPROVEMENT, "Consistently\npasses target"),
        (11, "increase", "inconsistent", "?", NHS_MID_GREY, "Hit and miss\nagainst target"),
        (None, "increase", "no_target", "", None, "No target set"),
        (11, "neutral", "no_assurance", "", None, "No assurance:\nno better direction"),
    ],
)
def test_assurance_icon_for_a_target_against_the_limits(
    target, direction, code, letter, colour, caption
):
    # Limits 5.68 to 16.32: a target of 20 is above them, 11 between them.
    result = spc.spc(BASELINE, improvement_direction=direction, target=target)
    icon = charts.assurance_icon_spec(result.assurance_type, has_target=target is not None)
    assert icon == charts.SpcIcon(code, letter, colour, caption)


def test_unknown_icon_codes_are_clear_errors():
    with pytest.raises(InputError, match="unknown variation icon 'high'"):
        charts.variation_icon_spec("high")
    with pytest.raises(InputError, match="unknown assurance type 'pass'"):
        charts.assurance_icon_spec("pass")


def _lines(ax, gid: str) -> list:
    return [line for line in ax.lines if line.get_gid() == gid]


def test_a_negative_lower_limit_is_drawn_at_zero_and_said_so():
    # [1, 5] x 6: mean 3, moving ranges all 4, lower limit 3 - 2.66 x 4 = -7.64.
    result = spc.spc([1, 5] * 6, _months(12))
    fig = charts.spc_chart(result, "Spend each month", "Spend (£)")
    ax = fig.axes[0]
    (lower,) = _lines(ax, "lower_limit")
    assert lower.get_ydata().tolist() == [0.0] * 12
    (upper,) = _lines(ax, "upper_limit")
    assert upper.get_ydata().tolist() == pytest.approx([13.64] * 12)
    notes = [t.get_text() for t in fig.texts if t.get_gid() == "floor_note"]
    assert notes == [
        "Lower process limit drawn at £0, not at the computed -£8: values cannot be negative."
    ]
    # The published limits are the computed ones.
    assert result.points["lpl"].tolist() == pytest.approx([-7.64] * 12)


def test_the_lower_limit_is_left_as_computed_without_a_floor_or_below_it():
    result = spc.spc([1, 5] * 6)
    fig = charts.spc_chart(result, "Change each month", "Change (£)", floor=None)
    assert _lines(fig.axes[0], "lower_limit")[0].get_ydata().tolist() == pytest.approx([-7.64] * 12)
    assert not [t for t in fig.texts if t.get_gid() == "floor_note"]
    # A value below the floor shows the measure can go there: nothing is clipped.
    result = spc.spc([1, 5] * 5 + [-1, 5])
    fig = charts.spc_chart(result, "Spend each month", "Spend (£)")
    assert min(_lines(fig.axes[0], "lower_limit")[0].get_ydata()) < 0
    assert not [t for t in fig.texts if t.get_gid() == "floor_note"]


def test_each_baseline_lower_limit_is_clipped_on_its_own():
    # Baseline 1: [1, 5] x 6, lower limit -7.64 (clipped); baseline 2: [20, 22] x 6, mean 21,
    # moving ranges 2, lower limit 21 - 5.32 = 15.68 (kept).
    result = spc.spc([1, 5] * 6 + [20, 22] * 6, rebase_at=[12])
    fig = charts.spc_chart(result, "Spend each month", "Spend (£)")
    first, second = _lines(fig.axes[0], "lower_limit")
    assert first.get_ydata().tolist() == [0.0] * 12
    assert second.get_ydata().tolist() == pytest.approx([15.68] * 12)


def test_legend_names_points_lines_and_the_target():
    neutral = charts.spc_chart(
        spc.spc(BASELINE + [30], improvement_direction="neutral"), "Spend", "Spend (£)"
    )
    assert [t.get_text() for t in neutral.legends[0].get_texts()] == [
        "Common cause",
        "Special cause\n(higher or lower)",
        "Mean",
        "Process limits",
    ]
    result = spc.spc(BASELINE + [30], improvement_direction="increase", target=20)
    legend = charts.spc_chart(result, "Spend", "Spend (£)").legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [
        "Common cause",
        "Special cause:\nimprovement",
        "Special cause:\nconcern",
        "Mean",
        "Process limits",
        "Target",
    ]
    points = [h.get_markerfacecolor() for h in legend.legend_handles[:3]]
    assert [p.upper() for p in points] == [
        SPC_COLOURS["common_cause"],
        SPC_COLOURS["special_cause_improvement"],
        SPC_COLOURS["special_cause_concern"],
    ]


def test_spc_chart_draws_both_icons_and_fits_an_a4_width():
    longest = "Royal Devon University Healthcare NHS Foundation Trust"
    values = BASELINE + [20, 11, 21, 10, 30]
    result = spc.spc(values, _months(17), improvement_direction="decrease", target=8)
    fig = charts.spc_chart(
        result, f"Spend each month on every product in this data: {longest}", "Spend (£)"
    )
    assert fig.get_size_inches()[0] == 9.0
    assert clipped_text(fig) == []
    icons = {ax.get_gid(): ax for ax in fig.axes if ax.get_gid()}
    variation, assurance = icons["variation_icon"], icons["assurance_icon"]
    # The last month (30) is above the upper limit 24.17 of a "decrease" measure: an orange H.
    (letter,) = variation.texts
    assert letter.get_text() == "H"
    assert letter.get_color() == SPC_COLOURS["special_cause_concern"]
    (ring,) = variation.patches
    assert _hex(ring.get_edgecolor()) == SPC_COLOURS["special_cause_concern"]
    # Limits from all 17 months: mean 13.18, mean moving range 4.13 after screening the 20-point
    # jump, so 2.18 to 24.17; a target of 8 is within them: "?".
    assert [t.get_text() for t in assurance.texts] == ["?"]
    captions = [t.get_text() for t in fig.texts]
    assert "Concern:\nhigher" in captions and "Hit and miss\nagainst target" in captions
    # Icons stand right of the plot, below its top edge, so no text runs under them.
    plot = fig.axes[0].get_position()
    for ax in (variation, assurance):
        assert ax.get_position().x0 > plot.x1 and ax.get_position().y1 < plot.y1


def test_spc_chart_without_a_target_says_so_in_place_of_the_assurance_icon():
    fig = charts.spc_chart(spc.spc(BASELINE), "Spend", "Spend (£)")
    assurance = next(ax for ax in fig.axes if ax.get_gid() == "assurance_icon")
    assert not assurance.patches and not assurance.texts
    assert "No target set" in [t.get_text() for t in fig.texts]


def test_funnel_chart_general_signature_and_highlight():
    res = peer_comparison.funnel_limits([5, 30, 12, 40], [50, 100, 80, 200], ["A", "B", "C", "D"])
    fig = charts.funnel_chart(res, "Patients meeting the indicator", "Patients", highlight=["B"])
    ax = fig.axes[0]
    # limit lines: upper and lower for 95% and 99.8%, plus the average
    assert len(ax.lines) == 5
    highlighted = ax.collections[1]
    assert len(highlighted.get_offsets()) == 1
    assert tuple(highlighted.get_offsets()[0]) == (100, 0.3)
    r, g, b = (round(c * 255) for c in highlighted.get_facecolors()[0][:3])
    assert f"#{r:02X}{g:02X}{b:02X}" == NHS_ORANGE


def test_funnel_chart_needs_an_organisation():
    res = peer_comparison.funnel_limits([0, 1], [0, 2])
    res.table.loc[:, "proportion"] = float("nan")
    with pytest.raises(InputError, match="no organisation"):
        charts.funnel_chart(res, "x")


def test_decile_chart_draws_nine_deciles_and_the_org():
    months = pd.date_range("2023-04-01", periods=3, freq="MS")
    df = pd.DataFrame(
        {
            "year_month": list(months) * 5,
            "trust_code": [t for t in "ABCDE" for _ in range(3)],
            "v": range(15),
        }
    )
    dec = peer_comparison.deciles(df, "v")
    mine = df[df["trust_code"] == "A"].rename(columns={"v": "value"})
    fig = charts.decile_chart(dec, mine, "Monthly spend", "Spend", "A")
    assert len(fig.axes[0].lines) == 10


def test_bar_and_stacked_and_forecast_charts():
    bars = pd.DataFrame({"m": ["x", "y"], "change": [5.0, -3.0]})
    assert isinstance(charts.bar_chart(bars, "m", "change", "t", "£", diverging=True), Figure)
    stack = pd.DataFrame({"fy": ["2022/23", "2023/24"], "a": [1.0, 2.0], "b": [3.0, None]})
    fig = charts.stacked_bar_chart(stack, "fy", ["a", "b"], ["A", "B"], "t", "£")
    assert len(fig.axes[0].patches) == 4
    cumulative = pd.DataFrame(
        {
            "fy_month": [1, 2, 1],
            "financial_year": ["2022/23", "2022/23", "2023/24"],
            "cumulative": [1.0, 2.0, 1.5],
        }
    )
    fc = pd.DataFrame(
        {"method": ["run_rate"], "forecast": [18.0], "lower_95": [15.0], "upper_95": [21.0]}
    )
    fig = charts.forecast_chart(cumulative, fc, "t", "£")
    assert len(fig.axes[0].containers) == 1  # one error bar
    with pytest.raises(InputError, match="missing column"):
        charts.bar_chart(bars, "m", "nope", "t", "x")
