"""The explorer's widgets and what-if panel, driven by setting control values (no browser).

The hand-built world is the one in ``test_explorer.py`` (its docstring has the numbers).
"""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from test_explorer import M2, M3, _switch, make

from medlib.explorer.whatif import WhatIf, scmd_units_per_month
from medlib.explorer.widgets import ALL_PRODUCTS, ExplorerPanel, WhatIfPanel, explore
from medlib.switch.definitions import load_switch_definitions


@pytest.fixture
def panel(tmp_path):
    return ExplorerPanel(make(trusts=["A1"]), export_dir=tmp_path / "exports")


def _cells(html: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", html)


def _headings(html: str) -> list[str]:
    return re.findall(r"<th[^>]*>(.*?)</th>", html)


def test_panel_starts_from_the_selection(panel):
    c = panel.controls
    assert c["dataset"].value == "test"
    assert c["focus"].value == "Alpha"
    assert c["focus"].options[0] == ALL_PRODUCTS
    assert c["trusts"].value == ("A1",)
    assert c["period"].value == (pd.Timestamp("2023-01-01"), pd.Timestamp("2023-04-01"))
    assert panel.chart.value.startswith('<img class="medlib-chart"')
    # Quantity for A1: 69 over the period, 30 in the latest month, where the median of the
    # trusts reporting (A1 30, A2 8, B1 1) is 8 and A1 ranks highest; 4 months with data.
    assert _cells(panel.table.value) == [
        "A1",
        "Alpha One",
        "69",
        "30",
        "8",
        "100",
        "common cause variation only: no sign of change (trial limits)",
        "4",
    ]
    # Labelled as in the reports, with the measure and the period said once, in the caption.
    assert _headings(panel.table.value) == [
        "Code",
        "Name",
        "Total quantity",
        "April 2023",
        "Comparison median, April 2023",
        "Percentile rank, April 2023",
        "Variation (SPC)",
        "Months with data",
    ]
    assert (
        "<em>Quantity, Alpha: A1, Jan 2023 to Apr 2023. Compared with all trusts in England.</em>"
        in panel.table.value
    )


def test_only_the_comparator_is_hidden_outside_polypharmacy(panel):
    c = panel.controls
    assert c["comparator"].layout.display == "none"
    shown = [name for name in c if name != "comparator"]
    assert all(c[name].layout.display != "none" for name in shown)


def test_changing_the_trust_control_changes_chart_and_table(panel):
    chart, table = panel.chart.value, panel.table.value
    panel.controls["trusts"].value = ("A2",)
    assert panel.explorer.selection.trusts == ("A2",)
    assert panel.chart.value != chart
    assert panel.table.value != table
    assert _cells(panel.table.value)[2] == "20"  # A2: 2 + 4 + 6 + 8
    assert panel.last_update_ms is not None


def test_measure_period_chart_and_comparison_controls(panel):
    c = panel.controls
    c["measure"].value = "spend"
    cells = _cells(panel.table.value)
    # A1's April has no cost: its latest spend is missing (a dash), and so is its rank.
    assert cells[2:6] == ["£390", "–", "£45", "–"]
    assert "Total spend (£)" in _headings(panel.table.value)
    c["period"].value = (M2, M3)
    assert panel.explorer.period == (M2, M3)
    assert _cells(panel.table.value)[2] == "£240"  # £240 in M2, nothing in M3
    c["chart"].value = "deciles"
    assert set(panel.explorer.chart_data.columns) >= {"p50", "A1"}
    c["comparison"].value = "system"
    assert panel.explorer.comparison_units() == ["A1", "A2"]


def test_focus_control_takes_molecules_sections_and_all_products(panel):
    c = panel.controls
    section = next(o for o in c["focus"].options if o.startswith("BNF section 05.01"))
    c["focus"].value = section
    assert panel.explorer.selection.bnf_section == "0501"
    c["focus"].value = ALL_PRODUCTS
    assert panel.explorer.selection.focus.kind == "all"
    # Alpha 69 + Beta 7 for A1
    assert panel.explorer.table.iloc[0]["period_value"] == 76.0


def test_system_control_clears_trusts_and_an_unavailable_measure_says_why(panel):
    c = panel.controls
    c["comparison"].value = "system"
    c["system"].value = "Q01"
    assert panel.explorer.selection.trusts == ()
    assert c["trusts"].value == ()
    # Comparing a system "within its system" makes no sense: it falls back to England.
    assert panel.explorer.selection.comparison == "england"
    c["dataset"].value = "nocost"
    c["measure"].value = "spend"
    assert "Spend is not available for Alpha" in panel.chart.value
    assert "No table for this selection" in panel.table.value


def test_export_button_writes_the_current_table(panel):
    panel.controls["trusts"].value = ("A1", "A2")
    panel.export_button.click()
    csv, xlsx = panel.last_export
    assert csv.exists() and xlsx.exists()
    assert pd.read_csv(csv)["code"].tolist() == ["A1", "A2", "Combined"]
    assert "Saved" in panel.export_status.value


def test_whatif_opens_with_the_switch_assumptions_and_updates_live(panel):
    panel.whatif_box.selected_index = 0
    whatif = panel.whatif
    assert isinstance(whatif, WhatIfPanel)
    assert whatif.price_reduction.value == 0.5 and whatif.months.value == 12
    before = whatif.output.value
    whatif.target_uptake.value = 0.9
    assert whatif.scenario.target_uptake == 0.9
    assert whatif.output.value != before
    whatif.start.value = "not a month"
    assert "medlib-error" in whatif.output.value


def test_whatif_forecast_hand_worked():
    # 100 units a month at £10, 50% cheaper: £500 a month at full uptake. Uptake rises to 80%
    # over 4 months from Apr 2024 (0, .2, .4, .6, then .8 for 8 months) to Mar 2025:
    #   500 x (0 + .2 + .4 + .6 + 8 x .8) = 500 x 7.6 = 3,800
    # Target path (2025: 80% of existing patients by month 10): .08 a month to .8 at month 10
    #   uptake sum 0.08 x (0 + ... + 9) + .8 + .8 = 5.2 -> 500 x 5.2 = 2,600
    w = WhatIf.from_definition(
        _switch(), 100, price_reduction=0.5, target_uptake=0.8, months_to_target=4, start="2024-04"
    )
    s = w.summary
    assert s["months"] == 12
    assert s["forecast_gbp"] == pytest.approx(3800)
    assert s["target_gbp"] == pytest.approx(2600)
    assert "saves £1,200 more than the target path" in w.sentence()
    assert w.table().iloc[0]["forecast_saving_gbp"] == 3800


def test_units_per_month_from_scmd_counts_months_without_use():
    adalimumab = load_switch_definitions()["adalimumab"]
    months = pd.date_range("2021-01-01", periods=7, freq="MS")
    # 40mg/0.4ml devices: 100 mg per ml. T1 uses 4 ml (400 mg = 10 pens) in 5 of the latest 6
    # months (none in the last); T2 8 ml every month (20 pens). The oldest month is left out.
    rows = [(m, "T1", 4.0) for m in months[:-1]] + [(m, "T2", 8.0) for m in months]
    usage = pd.DataFrame(rows, columns=["year_month", "trust_code", "quantity"])
    usage["vmp_code"] = "32888111000001102"
    assert scmd_units_per_month(usage, adalimumab, ["T1"]) == pytest.approx(10 * 5 / 6)
    assert scmd_units_per_month(usage, adalimumab) == pytest.approx(10 * 5 / 6 + 20)
    assert scmd_units_per_month(usage, load_switch_definitions()["ustekinumab"]) is None


def test_explore_applies_the_initial_selection(tmp_path):
    panel = explore(make(), export_dir=tmp_path, trusts=["B1"], measure="spend")
    assert panel.explorer.selection.trusts == ("B1",)
    assert panel.controls["measure"].value == "spend"


def test_decile_figure_draws_every_trust_chosen():
    ex = make(trusts=["A1", "A2"], chart="deciles")
    fig = ex.figure()
    lines = {line.get_label(): list(line.get_ydata()) for line in fig.axes[0].get_lines()}
    assert lines["A1"] == [15.0, 24.0, 0.0, 30.0]
    assert lines["A2"] == [2.0, 4.0, 6.0, 8.0]
    assert "Median" in lines
    plt.close(fig)
