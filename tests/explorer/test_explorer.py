"""The explorer's state and queries, driven without a browser.

Most tests use a small hand-built world whose numbers are worked out below; a few run on the
bundled SCMD sample and check against the raw extract.

Hand-built usage (quantity, cost) by month M1..M4 = 2023-01..2023-04:

    molecule Alpha: product 1 (0.5 DDD per unit), product 2 (1 DDD per unit)
      A1   M1: p1 10 (£100) + p2 5 (£50)   M2: p1 20 (£200)   M3: none   M4: p1 30 (no cost)
      OLD  M2: p1 4 (£40)        OLD merged into A1, so A1's M2 is 24 units, £240
      A2   M1: p1 2 (£20)   M2: p1 4 (£40)   M3: p1 6 (£60)   M4: p1 8 (£80)
      B1   M1..M4: p1 1 (£10) each month
      C1   M2: p1 100 (£1000)   M3: p1 100 (£1000)
    molecule Beta: product 3 (no DDD), A1 M1: 7 units (no cost)

Trusts: A1, A2 in system Q01 and B1 in system Q02 (region North); C1 in system Q03 (South).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from medlib.explorer import Explorer, ExplorerError
from medlib.explorer.state import TABLE_COLUMNS
from medlib.io.patient_tables import check_patient_tables
from medlib.switch.definitions import (
    TARGET_PROFILES,
    Dosing,
    PriceAssumptions,
    SwitchDefinition,
    VmpProxy,
)

M1, M2, M3, M4 = (pd.Timestamp(f"2023-0{i}-01") for i in range(1, 5))


def _usage() -> pd.DataFrame:
    rows = [
        (M1, "A1", "1", 10, 100),
        (M1, "A1", "2", 5, 50),
        (M2, "A1", "1", 20, 200),
        (M4, "A1", "1", 30, np.nan),
        (M2, "OLD", "1", 4, 40),
        (M1, "A2", "1", 2, 20),
        (M2, "A2", "1", 4, 40),
        (M3, "A2", "1", 6, 60),
        (M4, "A2", "1", 8, 80),
        (M1, "B1", "1", 1, 10),
        (M2, "B1", "1", 1, 10),
        (M3, "B1", "1", 1, 10),
        (M4, "B1", "1", 1, 10),
        (M2, "C1", "1", 100, 1000),
        (M3, "C1", "1", 100, 1000),
        (M1, "A1", "3", 7, np.nan),
    ]
    frame = pd.DataFrame(
        rows, columns=["year_month", "trust_code", "vmp_code", "quantity", "cost_gbp"]
    )
    names = {"1": "Alpha 10mg tablets", "2": "Alpha 20mg tablets", "3": "Beta 5mg tablets"}
    frame["vmp_name"] = frame["vmp_code"].map(names)
    frame["unit"] = "tablet"
    frame["quantity"] = frame["quantity"].astype(float)
    frame["source"] = "test"
    return frame


def _products() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "vmp_code": ["1", "2", "3"],
            "vmp_name": ["Alpha 10mg tablets", "Alpha 20mg tablets", "Beta 5mg tablets"],
            "vtm_name": ["Alpha", "Alpha", "Beta"],
            "bnf_code": ["04020000", "04020000", "05010000"],
            "ddd_per_unit": [0.5, 1.0, np.nan],
            "high_cost": [False, False, False],
        }
    )


def _trusts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trust_code": ["A1", "A2", "B1", "C1", "OLD"],
            "trust_name": ["Alpha One", "Alpha Two", "Bravo One", "Charlie One", "Old Trust"],
            "region": ["North", "North", "North", "South", None],
            "icb_code": ["Q01", "Q01", "Q02", "Q03", None],
            "icb_name": ["System One", "System One", "System Two", "System Three", None],
            "successor_code": [None, None, None, None, "A1"],
        }
    )


def _switch() -> SwitchDefinition:
    return SwitchDefinition(
        molecule="alpha",
        type="biosimilar",
        originator=("Origina",),
        best_value=("Bestva",),
        launch_date=dt.date(2022, 10, 1),
        launch_source="test",
        target_profile=TARGET_PROFILES["2025"],
        price=PriceAssumptions("1 tablet", 10.0, 0.5, 0.8, 12),
        dosing=Dosing(1, 1, 28),
        # Product 1 stands for best value (1 unit a dose), product 2 for the originator (0.5).
        vmp_proxy=VmpProxy("test proxy", {"1": 1.0}, {"2": 0.5}),
    )


def make(**initial) -> Explorer:
    usage = {"test": _usage(), "nocost": _usage().assign(cost_gbp=np.nan)}
    return Explorer(
        usage,
        product_table=_products(),
        trust_table=_trusts(),
        switches={"alpha": _switch()},
        **initial,
    )


# --- selection ----------------------------------------------------------------------------


def test_default_selection_is_most_used_molecule_of_first_dataset():
    ex = make()
    # Alpha has 15 rows, Beta 1.
    assert ex.selection.dataset == "test"
    assert ex.selection.molecule == "Alpha"
    assert ex.level == "england"
    assert ex.units == ("ENG",)


def test_quantity_series_for_one_trust_counts_gaps_as_zero_and_maps_merged_trust():
    ex = make(trusts=["A1"])
    s = ex.series
    # M1 10 + 5; M2 20 + OLD's 4; M3 no rows inside A1's span = 0; M4 30
    assert s["year_month"].tolist() == [M1, M2, M3, M4]
    assert s["value"].tolist() == [15.0, 24.0, 0.0, 30.0]
    row = ex.table.iloc[0]
    assert row["period_value"] == 69.0  # 15 + 24 + 0 + 30
    assert row["latest_value"] == 30.0
    assert row["months_with_data"] == 4


def test_predecessor_code_is_shown_as_its_successor_with_a_note():
    ex = make(trusts=["old"])
    assert ex.selection.trusts == ("A1",)
    assert "OLD merged into A1: its history is shown as A1" in ex.notes


def test_spend_leaves_out_rows_without_cost_and_never_invents_zero():
    ex = make(trusts=["A1"], measure="spend")
    s = ex.series
    assert s["value"].tolist()[:3] == [150.0, 240.0, 0.0]  # £100 + £50; £200 + £40; none
    assert math.isnan(s["value"].iloc[3])  # M4: every row lacks a cost
    assert ex.table.iloc[0]["period_value"] == 390.0  # 150 + 240 + 0
    # The SPC chart has the three months with a value.
    assert ex.chart_data["value"].tolist() == [150.0, 240.0, 0.0]
    notes = " ".join(ex.notes)
    assert "1 of 15 rows for Alpha have no indicative cost" in notes
    assert "1 month(s) with no data are left out of the SPC chart" in notes


def test_spend_not_available_when_the_source_has_no_cost():
    ex = make(dataset="nocost", trusts=["A1"], measure="spend")
    assert not ex.available
    assert ex.message.startswith("Spend is not available for Alpha")
    assert ex.table.empty and list(ex.table.columns) == TABLE_COLUMNS
    assert ex.chart_data.empty
    assert ex.figure() is None


def test_ddds_multiply_quantity_by_ddd_per_unit():
    ex = make(trusts=["A1"], measure="ddds")
    # M1 10 x 0.5 + 5 x 1 = 10; M2 (20 + 4) x 0.5 = 12; M3 0; M4 30 x 0.5 = 15
    assert ex.series["value"].tolist() == [10.0, 12.0, 0.0, 15.0]


def test_ddds_not_available_when_a_product_has_no_ddd():
    ex = make(trusts=["A1"], measure="ddds", molecule="Beta")
    assert ex.message == (
        "DDDs not available for Beta: 1 of 1 products have no DDD per unit "
        "(e.g. Beta 5mg tablets). Choose quantity instead."
    )


def test_bnf_section_covers_its_molecules():
    ex = make(trusts=["A1"], bnf_section="0501")
    assert ex.selection.molecule is None
    assert ex.series["value"].tolist() == [7.0]  # Beta, A1, M1
    ex.set(bnf_section="0402")
    assert ex.series["value"].tolist() == [15.0, 24.0, 0.0, 30.0]  # Alpha again


def test_several_trusts_each_have_a_line_and_the_spc_adds_them_up():
    ex = make(trusts=["A1", "A2"])
    wide = ex.series.pivot(index="year_month", columns="code", values="value")
    assert wide["A2"].tolist() == [2.0, 4.0, 6.0, 8.0]
    # Combined: 15 + 2, 24 + 4, 0 + 6, 30 + 8
    assert ex.chart_series["value"].tolist() == [17.0, 28.0, 6.0, 38.0]
    table = ex.table
    assert table["code"].tolist() == ["A1", "A2", "Combined"]
    assert table["period_value"].tolist() == [69.0, 20.0, 89.0]


def test_system_is_the_sum_of_its_trusts_and_compares_with_systems():
    ex = make(system="Q01", chart="deciles")
    assert ex.level == "system"
    assert ex.series["value"].tolist() == [17.0, 28.0, 6.0, 38.0]
    # M2 systems: Q01 28, Q02 1, Q03 100 -> median 28
    m2 = ex.chart_data.set_index("year_month").loc[M2]
    assert m2["p50"] == 28.0
    assert m2["Q01"] == 28.0


def test_deciles_by_comparison_group_hand_worked():
    ex = make(trusts=["A1"], chart="deciles", period=("2023-02", "2023-02"))
    m2 = ex.chart_data.iloc[0]
    # England, M2: 1, 4, 24, 100. Linear: p10 at 0.3 -> 1.9; p50 at 1.5 -> 14; p90 at 2.7 -> 77.2
    assert m2["p10"] == pytest.approx(1.9)
    assert m2["p50"] == pytest.approx(14.0)
    assert m2["p90"] == pytest.approx(77.2)
    assert m2["A1"] == 24.0
    ex.set(comparison="region")  # North: 1, 4, 24 -> median 4
    assert ex.chart_data.iloc[0]["p50"] == pytest.approx(4.0)
    ex.set(comparison="system")  # Q01: 4, 24 -> median 14
    assert ex.chart_data.iloc[0]["p50"] == pytest.approx(14.0)
    assert ex.comparison_units() == ["A1", "A2"]


def test_percentile_rank_in_the_last_month_of_the_period():
    ex = make(trusts=["A1"], period=("2023-01", "2023-02"))
    # M2: A1 24 among 1, 4, 24, 100 -> rank 3 of 4 -> (3 - 1) / (4 - 1) x 100
    assert ex.table.iloc[0]["percentile_rank"] == 66.7  # 66.67 to one decimal
    assert ex.table.iloc[0]["comparison_median"] == pytest.approx(14.0)


def test_c1_outside_its_span_is_absent_not_zero():
    ex = make(trusts=["C1"])
    assert ex.series["year_month"].tolist() == [M2, M3]
    # M1 deciles come from A1 15, A2 2, B1 1 only: median 2 (a zero for C1 would make it 1.5)
    ex.set(chart="deciles")
    assert ex.chart_data.set_index("year_month").loc[M1, "p50"] == 2.0


def test_best_value_share_sums_doses_before_dividing():
    ex = make(trusts=["A1", "A2"], measure="best_value_share")
    s = ex.series.pivot(index="year_month", columns="code", values="value")
    # A1 M1: product 1 10 doses (best value), product 2 5 / 0.5 = 10 doses -> 50%
    assert s.loc[M1, "A1"] == pytest.approx(50.0)
    assert s.loc[M2, "A1"] == pytest.approx(100.0)
    # Combined M1: (10 + 2) / (20 + 2) = 54.5%, not the mean of 50% and 100%
    assert ex.chart_series.iloc[0]["value"] == pytest.approx(1200 / 22)
    assert any("proxy, not a brand share: test proxy" in n for n in ex.notes)


def test_best_value_share_needs_a_switch_with_a_proxy():
    ex = make(trusts=["A1"], measure="best_value_share", molecule="Beta")
    assert ex.message.startswith("Best-value share needs one molecule")
    assert "available for: alpha" in ex.message


def test_spc_chart_data_follows_medlib_spc():
    ex = make(trusts=["A1"])
    data = ex.chart_data
    # 15, 24, 0, 30: mean 17.25; moving ranges 9, 24, 30 (mean 21, none screened at 3.267 x 21)
    assert data["mean"].iloc[0] == pytest.approx(17.25)
    assert data["upl"].iloc[0] == pytest.approx(17.25 + 2.66 * 21)
    assert data["lpl"].iloc[0] == pytest.approx(17.25 - 2.66 * 21)
    assert set(data["point_type"]) == {"common_cause"}


def _view(ex: Explorer) -> tuple[pd.DataFrame, pd.DataFrame]:
    return ex.table, ex.chart_data


def test_changing_trust_or_period_reuses_the_aggregation():
    ex = make(trusts=["A1"])
    _view(ex)
    before = dict(ex.query_counts)
    _view(ex.set(trusts=["A2"]))
    _view(ex.set(period=("2023-02", "2023-03"), chart="deciles"))
    assert ex.query_counts["aggregate"] == before["aggregate"] == 1
    assert ex.query_counts["measure"] == before["measure"] == 1
    # Spend reuses the same monthly aggregation (quantity, cost and DDDs come together).
    _view(ex.set(measure="spend"))
    assert ex.query_counts["aggregate"] == 1
    assert ex.query_counts["measure"] == 2


def test_period_filters_and_bad_periods_are_explained():
    ex = make(trusts=["A1"], period=("2023-02", "2023-03"))
    assert ex.series["value"].tolist() == [24.0, 0.0]
    with pytest.raises(ExplorerError, match="outside the data, which covers 2023-01 to 2023-04"):
        ex.set(period=("2020-01", "2020-06"))
    with pytest.raises(ExplorerError, match="ends .2023-01. before it starts .2023-03."):
        ex.set(period=("2023-03", "2023-01"))
    with pytest.raises(ExplorerError, match="YYYY-MM"):
        ex.set(period=("March", "2023-04"))


def test_unknown_values_get_clear_errors():
    ex = make()
    with pytest.raises(ExplorerError, match="unknown trust code 'ZZZ'"):
        ex.set(trusts=["ZZZ"])
    with pytest.raises(ExplorerError, match="did you mean 'Alpha'"):
        ex.set(molecule="Alpah")
    with pytest.raises(ExplorerError, match="unknown measure 'cost'"):
        ex.set(measure="cost")
    with pytest.raises(ExplorerError, match=r"unknown setting\(s\) \['trust'\]"):
        ex.set(trust="A1")
    with pytest.raises(ExplorerError, match="with a whole system selected"):
        ex.set(system="Q01", comparison="system")
    with pytest.raises(ExplorerError, match="unknown dataset 'other'"):
        ex.set(dataset="other")
    with pytest.raises(ExplorerError, match="trusts table is missing column"):
        Explorer(_usage(), product_table=_products(), trust_table=_trusts().drop(columns="region"))
    # A failed change leaves the selection as it was.
    assert ex.selection.trusts == ()


def test_trusts_and_system_replace_each_other():
    ex = make(trusts=["A1"])
    ex.set(system="System Two")  # by name, any case
    assert ex.selection.system == "Q02" and ex.selection.trusts == ()
    ex.set(trusts=["B1"])
    assert ex.selection.system is None


def test_no_data_for_a_trust_is_a_message_not_a_crash():
    ex = make(trusts=["B1"], molecule="Beta")
    assert ex.message == "No data for B1 from Jan 2023 to Apr 2023 for this selection."
    assert ex.table.iloc[0]["months_with_data"] == 0


def test_describe_states_the_numbers_of_the_table():
    ex = make(trusts=["A1"], measure="spend", period=("2023-01", "2023-02"))
    # £150 + £240 = £390; M2 £240, rank 3 of 4 in M2 (10, 40, 240, 1000): (3 - 1) / 3 -> "67"
    assert ex.describe() == (
        "Spend, Alpha for Alpha One, Jan 2023 to Feb 2023: £390 in total; Feb 2023: £240, "
        "percentile rank 67 among all trusts in England. SPC: common cause variation only: "
        "no sign of change (trial limits)."
    )


def test_export_writes_csv_and_excel_with_the_table(tmp_path):
    ex = make(trusts=["A1", "A2"], measure="spend")
    csv, xlsx = ex.export(tmp_path / "out")
    assert csv.name == "explorer_spend_alpha_a1_a2_202301_202304.csv"
    back = pd.read_csv(csv)
    assert back["code"].tolist() == ["A1", "A2", "Combined"]
    assert back["period_value"].tolist() == [390.0, 200.0, 590.0]  # A2: 20 + 40 + 60 + 80
    sheets = pd.read_excel(xlsx, sheet_name=None)
    assert list(sheets) == ["table", "chart_data", "selection"]
    assert sheets["table"]["period_value"].tolist() == [390.0, 200.0, 590.0]
    setting = dict(zip(sheets["selection"]["setting"], sheets["selection"]["value"], strict=True))
    assert setting["shown"] == "A1, A2"
    with pytest.raises(ValueError, match="plain file name"):
        ex.export(tmp_path, name="../escape")


def test_returned_tables_are_copies():
    ex = make(trusts=["A1"])
    table = ex.table
    table["period_value"] = -1
    assert table["period_value"].tolist() == [-1]
    assert ex.table["period_value"].tolist() == [69.0]


# --- polypharmacy -------------------------------------------------------------------------


def _patients(people: dict[str, tuple[int, int]] | None = None):
    """Patients aged 70 at each trust: ``{trust: (on eight medicines, on one)}``.

    The eight are distinct chapter-1 substances, so a patient on them meets "8 or more unique
    medicines". Default: A1 has one of each (P1 and P2) and A2 one on a single medicine.
    """
    people = people or {"A1": (1, 1), "A2": (0, 1)}
    codes = [f"0101010{c}0AAAAAA" for c in "ABCDEFGH"]
    patients, meds = [], []
    for trust, (many, one) in people.items():
        for i in range(many + one):
            pid = f"{trust}-{i}"
            patients.append((pid, trust, 70, "F"))
            taken = codes if i < many else codes[:1]
            meds += [(pid, f"9{k}", f"drug {k}", code) for k, code in enumerate(taken)]
    medications = pd.DataFrame(
        meds, columns=["patient_id", "dmd_code", "medicine_name", "bnf_code"]
    )
    medications["start_date"] = "2022-06-01"
    medications["end_date"] = None
    patients = pd.DataFrame(patients, columns=["patient_id", "trust_code", "age", "sex"])
    conditions = pd.DataFrame(columns=["patient_id", "snomed_code", "date", "resolved_date"])
    tests = pd.DataFrame(columns=["patient_id", "snomed_code", "date", "value", "unit"])
    return check_patient_tables(patients, medications, conditions, tests)


def _poly(people: dict[str, tuple[int, int]] | None = None, **initial) -> Explorer:
    return Explorer(
        _usage(),
        product_table=_products(),
        trust_table=_trusts(),
        patients=_patients(people),
        polypharmacy_months=2,
        patients_last_month="2023-02",
        measure="polypharmacy",
        comparator="medicines_8plus",
        **initial,
    )


def test_polypharmacy_comparator_percent_and_disclosed_counts():
    ex = _poly(trusts=["A1", "A2"])
    assert list(ex.months) == [M1, M2]
    # A1: 1 of 2 patients, A2: 0 of 1. Every denominator is 1-7, so no percentage is shown:
    # the raw 50% and 0% would give the counts away.
    s = ex.series.pivot(index="year_month", columns="code", values="value")
    assert s["A1"].isna().all() and s["A2"].isna().all()
    assert ex.series["numerator"].tolist() == [1.0, 0.0, 1.0, 0.0]  # raw, for the table
    table = ex.table.set_index("code")
    # 1 and 2 patients are small numbers: counts and percentages are suppressed.
    assert table.loc["A1", "latest_patients_meeting"] == "*"
    assert table.loc["A1", "latest_patients"] == "*"
    assert table.loc["A1", "latest_value"] == "*"
    assert table.loc["A2", "latest_patients_meeting"] == 0
    # Both months had patients: they are months with data, whatever the chart can show.
    assert table.loc["A1", "months_with_data"] == 2
    assert table.loc["A1", "variation"] == "not shown (small numbers)"
    assert "comparator: 8 or more unique medicines" in ex.notes
    assert ex.message == (
        "Too few patients to show for A1, A2 from Jan 2023 to Feb 2023: every month's counts "
        "are small numbers, which are suppressed."
    )
    assert ex.figure() is None
    # Switching back to a usage measure returns to the usage months.
    ex.set(measure="quantity")
    assert list(ex.months) == [M1, M2, M3, M4]


def test_polypharmacy_chart_draws_percentages_of_the_published_counts():
    # A1: 8 of 20 patients (raw 40%), published 10 of 20 -> 50%. A2: 9 of 30 (raw 30%),
    # published 10 of 30 -> 33.3%. B1: 0 of 3, a denominator of 1-7 -> not shown.
    ex = _poly({"A1": (8, 12), "A2": (9, 21), "B1": (0, 3)}, trusts=["A1", "A2"], chart="deciles")
    s = ex.series.pivot(index="year_month", columns="code", values="value")
    assert s["A1"].tolist() == [50.0, 50.0]
    assert s["A2"].tolist() == [33.3, 33.3]
    # The deciles are of the shown values, B1 left out: the median of 50 and 33.3 is 41.65
    # (of the raw 40, 30 and 0 it would be 30).
    median = ex.deciles[ex.deciles["percentile"] == 50]["value"].tolist()
    assert median == pytest.approx([41.65, 41.65])
    data = ex.chart_data.set_index("year_month")
    assert data.loc[M2, ["p50", "A1", "A2"]].tolist() == pytest.approx([41.65, 50.0, 33.3])
    # Ranked among the shown values: A1 highest (100), A2 lowest (0); the combined row has none.
    table = ex.table.set_index("code")
    assert table.loc[["A1", "A2"], "percentile_rank"].tolist() == [100.0, 0.0]
    assert math.isnan(table.loc["Combined", "percentile_rank"])
    # The SPC chart adds A1 and A2 up: 17 of 50 (raw 34%), published 15 of 50 -> 30%.
    ex.set(chart="spc")
    assert ex.chart_series["value"].tolist() == [30.0, 30.0]
    assert ex.chart_data["value"].tolist() == [30.0, 30.0]
    # The table discloses its own counts from the raw ones, the same way.
    assert table.loc[
        "A1", ["latest_patients_meeting", "latest_patients", "latest_value"]
    ].tolist() == [
        10,
        20,
        50.0,
    ]
    assert table.loc["Combined", "latest_value"] == 30.0


def test_polypharmacy_months_with_small_numbers_are_left_out_of_the_spc_chart():
    ex = _poly({"A1": (8, 12), "B1": (0, 3)}, trusts=["B1"])
    assert ex.chart_series["value"].isna().all()
    assert ex.spc_result is None
    assert "2 month(s) with small numbers are left out of the SPC chart" in ex.notes
    ex.set(trusts=["A1", "B1"])
    # Together: 8 of 23, published 10 of 25 -> 40%; both months shown.
    assert ex.chart_series["value"].tolist() == [40.0, 40.0]
    assert not any("small numbers are left out" in n for n in ex.notes)


# --- the bundled sample -------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample():
    return Explorer(trusts=["RTD"], measure="spend")


def test_sample_spend_matches_the_raw_extract(sample):
    from medlib.io.datasets import load_dataset

    raw = load_dataset("scmd_lithium")
    raw = raw[(raw["trust_code"] == "RTD") & raw["vmp_name"].str.startswith("Lithium carbonate")]
    sample.set(molecule="Lithium carbonate", trusts=["RTD"], measure="spend", period=None)
    assert sample.table.iloc[0]["period_value"] == pytest.approx(raw["cost_gbp"].sum())
    assert sample.table.iloc[0]["months_with_data"] == 60


def test_sample_biologics_have_no_spend_and_adalimumab_has_a_proxy_share(sample):
    sample.set(dataset="scmd_biologics", molecule="Adalimumab", trusts=["RTD"], measure="spend")
    assert sample.message.startswith("Spend is not available for Adalimumab")
    sample.set(measure="best_value_share")
    values = sample.series["value"]
    assert sample.available and len(values) == 34 and values.between(0, 100).all()


def test_nothing_selected_shows_every_trust_added_up():
    ex = make()
    # M1: A1 15 + A2 2 + B1 1 = 18; M2: 24 + 4 + 1 + 100 = 129; M3: 0 + 6 + 1 + 100 = 107;
    # M4: 30 + 8 + 1 = 39 (C1 reports M2-M3 only)
    assert ex.chart_series["value"].tolist() == [18.0, 129.0, 107.0, 39.0]
    row = ex.table.iloc[0]
    assert (row["code"], row["period_value"]) == ("ENG", 293.0)
    assert math.isnan(row["percentile_rank"])


def test_molecule_in_any_case_and_section_with_a_dot():
    ex = make(molecule="alpha", trusts=["A1"])
    assert ex.selection.molecule == "Alpha"
    ex.set(bnf_section="05.01")
    assert ex.selection.bnf_section == "0501"


def test_a_rejected_change_keeps_the_notes_of_the_selection_shown():
    ex = make(trusts=["A1"])
    with pytest.raises(ExplorerError):
        ex.set(trusts=["OLD"], measure="nonsense")
    assert ex.selection.trusts == ("A1",)
    assert not any("merged" in n for n in ex.notes)


def test_an_explorer_pointed_at_a_store_explores_what_the_pack_reports(tmp_path):
    from medlib.context import resolve_context
    from medlib.io.datasets import USAGE_FILES, load_dataset
    from medlib.io.store import ingest
    from medlib.paths import DATA_DIR
    from medlib.spend.report import build

    ingest([DATA_DIR / USAGE_FILES["scmd_lithium"][0]], tmp_path / "store")
    ex = Explorer(store=tmp_path / "store", molecule="Lithium carbonate", trusts=["RTD"])
    assert ex.datasets == ["store"]
    ex.set(measure="spend", period=("2023-04", "2024-03"))
    raw = load_dataset("scmd_lithium")
    raw = raw[
        (raw["trust_code"] == "RTD")
        & (raw["vmp_name"].str.startswith("Lithium carbonate"))
        & (raw["year_month"] >= "2023-04-01")
    ]
    assert ex.table.iloc[0]["period_value"] == pytest.approx(raw["cost_gbp"].sum())
    # The spend report on the same store: its 2023/24 lithium carbonate spend is the same.
    report = build(resolve_context("RTD", "2024-03"), store=str(tmp_path / "store"))
    detail = report.entity_detail
    carbonate = detail[
        (detail["vtm_name"] == "Lithium carbonate") & (detail["year_month"] >= "2023-04-01")
    ]
    assert ex.table.iloc[0]["period_value"] == pytest.approx(carbonate["cost_gbp"].sum())


def test_an_explorer_store_must_hold_usage(tmp_path):
    from medlib.io.store import Store

    with pytest.raises(ExplorerError, match="there is no store at"):
        Explorer(store=tmp_path / "nowhere")
    Store(tmp_path / "empty", create=True)
    with pytest.raises(ExplorerError, match="has no usage rows"):
        Explorer(store=tmp_path / "empty")
    with pytest.raises(ExplorerError, match="give usage or store, not both"):
        Explorer(pd.DataFrame(), store=tmp_path / "empty")
