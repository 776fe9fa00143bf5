from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure

from medlib.errors import InputError
from medlib.present import charts
from medlib.present.style import NHS_ORANGE
from medlib.stats import peer_comparison, spc
from medlib.stats.spc import SPC_COLOURS


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
    # 12 common-cause grey points, the last one orange (concern: higher when lower is better)
    assert len(colours) == 13
    expected = SPC_COLOURS["special_cause_concern"].lstrip("#")
    last = "".join(f"{round(c * 255):02x}" for c in colours[-1][:3])
    assert last == expected.lower()
    assert "concern" in ax.texts[0].get_text()


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
