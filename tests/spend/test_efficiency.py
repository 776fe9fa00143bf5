"""The efficiency pipeline: uptake profiles, baselines, forecasts, realised efficiencies, YAML.

Every expected number below is worked by hand in the comments, not taken from the code.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from medlib.errors import InputError, MedlibError, MissingColumnsError
from medlib.paths import PARAMETERS_DIR
from medlib.spend import efficiency as eff
from medlib.spend.efficiency import (
    ASSUMPTIONS_SOURCE,
    DEFAULT_PRICE_REDUCTION,
    DEFAULT_UPTAKE,
    EFFICIENCY_BASELINE_COLUMNS,
    EFFICIENCY_MONTHLY_COLUMNS,
    EFFICIENCY_SUMMARY_COLUMNS,
    STATUS_DUE,
    STATUS_NO_BASELINE,
    STATUS_NOT_DUE,
    STATUS_UNDER_WAY,
    EfficiencyPipelineError,
    PipelineEntry,
    UptakeProfile,
    baselines,
    efficiency_sentence,
    forecast_efficiencies,
    load_pipeline,
    parse_pipeline,
    uptake,
    uptake_profile,
)
from medlib.switch.savings import forecast_savings, uptake_path

FY_2024 = pd.date_range("2024-04-01", "2025-03-01", freq="MS")


def _entry(
    molecule: str = "ustekinumab",
    kind: str = "biosimilar",
    date: str = "2024-10-01",
    **overrides: object,
) -> PipelineEntry:
    fields = {
        "molecule": molecule,
        "type": kind,
        "event": f"{kind} launch",
        "date": dt.date.fromisoformat(date),
        "source": "a test source",
        "price_reduction": DEFAULT_PRICE_REDUCTION[kind],
        "uptake": DEFAULT_UPTAKE[kind],
    }
    fields.update(overrides)
    return PipelineEntry(**fields)


def _rows(trust: str, molecule: str, months, cost, quantity) -> list[dict]:
    months = pd.date_range(*months, freq="MS") if isinstance(months, tuple) else months
    n = len(months)
    cost = [cost] * n if not isinstance(cost, list) else cost
    quantity = [quantity] * n if not isinstance(quantity, list) else quantity
    return [
        {"year_month": m, "trust_code": trust, "molecule": molecule, "cost_gbp": c, "quantity": q}
        for m, c, q in zip(months, cost, quantity, strict=True)
    ]


def _frame(*groups: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([row for group in groups for row in group])


def _one(summary: pd.DataFrame, trust: str, molecule: str = "ustekinumab") -> pd.Series:
    rows = summary[(summary["trust_code"] == trust) & (summary["molecule"] == molecule)]
    assert len(rows) == 1
    return rows.iloc[0]


def _months(monthly: pd.DataFrame, trust: str, molecule: str = "ustekinumab") -> pd.DataFrame:
    rows = monthly[(monthly["trust_code"] == trust) & (monthly["molecule"] == molecule)]
    return rows.sort_values("year_month").reset_index(drop=True)


# --- uptake profiles --------------------------------------------------------------------------


def test_biosimilar_uptake_month_by_month():
    # Date 15 October 2024: October 2024 is k = 0 whatever the day.
    # uptake(k) = 0.8 x min(max(k, 0), 12) / 12
    e = _entry(date="2024-10-15")
    assert uptake(e, "2024-09") == 0.0  # k = -1
    assert uptake(e, "2024-10") == 0.0  # k = 0
    assert uptake(e, "2024-11") == pytest.approx(0.8 / 12)  # k = 1: 0.0667
    assert uptake(e, "2025-04") == pytest.approx(0.4)  # k = 6: 0.8 x 6/12
    assert uptake(e, "2025-10") == pytest.approx(0.8)  # k = 12
    assert uptake(e, "2027-01") == pytest.approx(0.8)  # k = 27: stays at 80%
    assert uptake(e, 3) == pytest.approx(0.2)  # an int is k itself: 0.8 x 3/12


def test_generic_uptake_month_by_month_linear_to_full_at_month_3():
    # Date 10 January 2026: Jan k=0 -> 0, Feb 1/3, Mar 2/3, Apr (k=3) on 1.0.
    e = _entry("apixaban", "generic", "2026-01-10")
    got = [uptake(e, m) for m in ("2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-09")]
    assert got == pytest.approx([0.0, 0.0, 1 / 3, 2 / 3, 1.0, 1.0])


def test_step_shape_is_zero_until_month_n_then_the_target():
    e = _entry("apixaban", "generic", "2026-01-10", uptake=UptakeProfile(1.0, 3, "step"))
    got = [uptake(e, k) for k in (-1, 0, 1, 2, 3, 4)]
    assert got == [0.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    # months_to_target 0: the target from the month of the date, either shape
    assert uptake_profile([-1, 0, 5], 0.9, 0).tolist() == [0.0, 0.9, 0.9]
    assert uptake_profile([-1, 0, 5], 0.9, 0, "step").tolist() == [0.0, 0.9, 0.9]
    with pytest.raises(InputError, match="shape"):
        uptake_profile([0], 0.8, 12, "curve")


@pytest.mark.parametrize(("target", "months"), [(0.8, 12), (1.0, 3), (0.9, 1), (0.5, 0)])
def test_linear_profile_agrees_with_the_switch_savings_uptake_path(target, months):
    k = np.arange(-4, 30)
    assert uptake_profile(k, target, months).tolist() == pytest.approx(
        uptake_path(k, target, months).tolist()
    )


def test_forecast_agrees_with_the_switch_savings_forecast():
    # forecast_savings: 10 units x £120 x 50% x uptake; ours: baseline £1,200 x 50% x uptake.
    entry = _entry(date="2024-10-01")
    data = _frame(_rows("A", "ustekinumab", ("2023-10-01", "2024-09-01"), 1200.0, 10.0))
    ours = forecast_efficiencies(data, [entry], ["A"], "2024-09", system_code=None)
    theirs = forecast_savings(
        launch="2024-10-01",
        monthly_quantity=10,
        originator_price_per_unit=120.0,
        price_reduction=0.5,
        target_uptake=0.8,
        months_to_target=12,
        start="2024-04-01",
        end="2025-03-01",
    )
    assert ours.monthly["year_month"].tolist() == theirs["year_month"].tolist()
    assert ours.monthly["forecast_efficiency_gbp"].tolist() == pytest.approx(
        theirs["forecast_saving_gbp"].tolist()
    )


# --- forecasts --------------------------------------------------------------------------------


def _planted_trust_a() -> list[dict]:
    # Baseline Oct 2023 - Sep 2024: £1,200 and 10 units a month (price per unit £120).
    # After the date (1 Oct 2024): Oct 10 units £1,200; Nov 10 units £1,000; Dec none used
    # (0 units, £0); Jan 2025 (after the period end, ignored) 10 units £100.
    base = _rows("A", "ustekinumab", ("2023-10-01", "2024-09-01"), 1200.0, 10.0)
    after = _rows(
        "A",
        "ustekinumab",
        pd.to_datetime(["2024-10-01", "2024-11-01", "2024-12-01", "2025-01-01"]),
        [1200.0, 1000.0, 0.0, 100.0],
        [10.0, 10.0, 0.0, 10.0],
    )
    return base + after


def test_biosimilar_dated_mid_year_forecast_month_by_month():
    # FY 2024/25, date 1 Oct 2024, baseline £1,200 a month, price 50% lower:
    # forecast = 1200 x 0.5 x 0.8 x k/12 = 40 x k from October (k=0):
    #   Apr-Sep 0 (before the date), Oct 0, Nov 40, Dec 80, Jan 120, Feb 160, Mar 200
    # year 600; to the period end (Dec) 0 + 40 + 80 = 120; remaining 120 + 160 + 200 = 480.
    out = forecast_efficiencies(
        _frame(_planted_trust_a()), [_entry()], ["A"], "2024-12", system_code=None
    )
    months = _months(out.monthly, "A")
    assert months["year_month"].tolist() == list(FY_2024)
    assert months["months_since_date"].tolist() == list(range(-6, 6))
    assert months["forecast_efficiency_gbp"].tolist() == pytest.approx(
        [0, 0, 0, 0, 0, 0, 0, 40, 80, 120, 160, 200]
    )
    assert months["passed"].tolist() == [True] * 9 + [False] * 3
    row = _one(out.summary, "A")
    assert row["status"] == STATUS_UNDER_WAY
    assert row["forecast_year_gbp"] == pytest.approx(600.0)
    assert row["forecast_to_date_gbp"] == pytest.approx(120.0)
    assert row["forecast_remaining_gbp"] == pytest.approx(480.0)
    assert (row["months_passed"], row["months_remaining"]) == (9, 3)
    assert row["baseline_months"] == 12
    assert row["baseline_monthly_cost_gbp"] == pytest.approx(1200.0)
    assert row["baseline_price_per_unit_gbp"] == pytest.approx(120.0)
    assert row["uptake_at_year_end"] == pytest.approx(0.8 * 5 / 12)
    assert out.financial_year == "2024/25"
    assert list(out.monthly.columns) == EFFICIENCY_MONTHLY_COLUMNS
    assert list(out.summary.columns) == EFFICIENCY_SUMMARY_COLUMNS


def test_realised_efficiency_on_a_planted_series():
    # realised = (baseline price per unit - actual price per unit) x actual quantity
    #   Oct: (120 - 1200/10) x 10 = 0
    #   Nov: (120 - 1000/10) x 10 = 200
    #   Dec: no use -> 0, with a note
    #   Jan: after the period end -> not counted (to come)
    # realised to date 200, against 120 forecast.
    out = forecast_efficiencies(
        _frame(_planted_trust_a()), [_entry()], ["A"], "2024-12", system_code=None
    )
    months = _months(out.monthly, "A").set_index("year_month")
    oct_, nov, dec, jan = (pd.Timestamp(m) for m in ("2024-10", "2024-11", "2024-12", "2025-01"))
    assert months.at[oct_, "realised_efficiency_gbp"] == pytest.approx(0.0)
    assert months.at[nov, "realised_efficiency_gbp"] == pytest.approx(200.0)
    assert months.at[nov, "actual_price_per_unit_gbp"] == pytest.approx(100.0)
    assert months.at[dec, "realised_efficiency_gbp"] == 0.0
    assert months.at[dec, "realised_note"] == "no use this month"
    assert math.isnan(months.at[dec, "actual_price_per_unit_gbp"])
    assert math.isnan(months.at[jan, "realised_efficiency_gbp"])
    assert months.at[jan, "realised_note"] == "to come"
    assert math.isnan(months.at[jan, "actual_cost_gbp"])  # data after the period end unused
    # September (k = -1) has passed but is before the date
    assert months.at[pd.Timestamp("2024-09"), "realised_note"] == "before the date"
    assert math.isnan(months.at[pd.Timestamp("2024-09"), "realised_efficiency_gbp"])
    assert _one(out.summary, "A")["realised_to_date_gbp"] == pytest.approx(200.0)


def test_realised_is_blank_without_a_cost_or_without_data_in_the_month():
    # Nov 2024: rows with no cost -> blank; Dec 2024: no data at all in the table (the period
    # end is December, the data stop in November) -> blank. Oct realised (120 x 10 - 900) = 300.
    rows = _rows("A", "ustekinumab", ("2023-10-01", "2024-09-01"), 1200.0, 10.0) + _rows(
        "A",
        "ustekinumab",
        pd.to_datetime(["2024-10-01", "2024-11-01"]),
        [900.0, float("nan")],
        [10.0, 10.0],
    )
    out = forecast_efficiencies(_frame(rows), [_entry()], ["A"], "2024-12", system_code=None)
    months = _months(out.monthly, "A").set_index("year_month")
    assert months.at[pd.Timestamp("2024-10"), "realised_efficiency_gbp"] == pytest.approx(300.0)
    assert math.isnan(months.at[pd.Timestamp("2024-11"), "realised_efficiency_gbp"])
    assert months.at[pd.Timestamp("2024-11"), "realised_note"] == "no cost recorded this month"
    assert math.isnan(months.at[pd.Timestamp("2024-12"), "realised_efficiency_gbp"])
    assert months.at[pd.Timestamp("2024-12"), "realised_note"] == "no data for this month"
    assert _one(out.summary, "A")["realised_to_date_gbp"] == pytest.approx(300.0)


def test_biosimilar_dated_before_the_year_is_part_way_up_the_ramp_in_april():
    # Date 1 Nov 2023, FY 2024/25: April 2024 is k = 5. Baseline Nov 2022 - Oct 2023 £1,200.
    # forecast = 40 x min(k, 12): Apr 200, May 240, Jun 280, Jul 320, Aug 360, Sep 400,
    # Oct 440, Nov-Mar 480 each.  Year: 2240 + 5 x 480 = 4640.
    # Period end June 2024: to date 200 + 240 + 280 = 720; remaining 4640 - 720 = 3920.
    rows = _rows("A", "ustekinumab", ("2022-11-01", "2023-10-01"), 1200.0, 10.0) + _rows(
        "A", "ustekinumab", ("2023-11-01", "2024-06-01"), 1000.0, 10.0
    )
    out = forecast_efficiencies(
        _frame(rows), [_entry(date="2023-11-01")], ["A"], "2024-06", system_code=None
    )
    months = _months(out.monthly, "A")
    assert months["months_since_date"].tolist() == list(range(5, 17))
    assert months["uptake"].iloc[0] == pytest.approx(1 / 3)  # 0.8 x 5/12
    assert months["forecast_efficiency_gbp"].tolist() == pytest.approx(
        [200, 240, 280, 320, 360, 400, 440, 480, 480, 480, 480, 480]
    )
    row = _one(out.summary, "A")
    assert row["status"] == STATUS_UNDER_WAY
    assert row["forecast_year_gbp"] == pytest.approx(4640.0)
    assert row["forecast_to_date_gbp"] == pytest.approx(720.0)
    assert row["forecast_remaining_gbp"] == pytest.approx(3920.0)
    # realised Apr-Jun: (120 - 100) x 10 = 200 a month -> 600
    assert row["realised_to_date_gbp"] == pytest.approx(600.0)


def test_generic_forecast_linear_and_step_month_by_month():
    # Date 15 Jan 2025 in FY 2024/25, baseline £1,000 a month, price 90% lower: 900 x uptake.
    # linear: Jan 0, Feb 900 x 1/3 = 300, Mar 900 x 2/3 = 600 -> year 900.
    # step (full switch at month 3 = April 2025): 0 in every month of 2024/25;
    # in 2025/26 every month (k = 3 ... 14) is 900 -> 10,800, the same for both shapes.
    data = _frame(_rows("A", "apixaban", ("2024-01-01", "2024-12-01"), 1000.0, 50.0))
    linear = _entry("apixaban", "generic", "2025-01-15")
    step = _entry("apixaban", "generic", "2025-01-15", uptake=UptakeProfile(1.0, 3, "step"))
    out = forecast_efficiencies(data, [linear], ["A"], "2024-12", system_code=None)
    months = _months(out.monthly, "A", "apixaban")
    assert months["forecast_efficiency_gbp"].tolist() == pytest.approx([0] * 9 + [0, 300, 600])
    row = _one(out.summary, "A", "apixaban")
    assert row["status"] == STATUS_DUE
    assert row["forecast_year_gbp"] == pytest.approx(900.0)
    assert row["forecast_to_date_gbp"] == 0.0
    assert row["forecast_remaining_gbp"] == pytest.approx(900.0)
    out = forecast_efficiencies(data, [step], ["A"], "2024-12", system_code=None)
    assert _one(out.summary, "A", "apixaban")["forecast_year_gbp"] == 0.0
    for entry in (linear, step):
        out = forecast_efficiencies(
            data, [entry], ["A"], "2024-12", system_code=None, financial_year="2025/26"
        )
        assert _one(out.summary, "A", "apixaban")["forecast_year_gbp"] == pytest.approx(10800.0)


def test_entry_dated_after_the_year_is_not_due_and_contributes_zero():
    data = _frame(_rows("A", "apixaban", ("2024-01-01", "2024-12-01"), 1000.0, 50.0))
    entry = _entry("apixaban", "generic", "2025-04-01")
    out = forecast_efficiencies(data, [entry], ["A"], "2024-12", system_code=None)
    row = _one(out.summary, "A", "apixaban")
    assert row["status"] == STATUS_NOT_DUE
    assert row["forecast_year_gbp"] == 0.0
    assert row["forecast_remaining_gbp"] == 0.0
    assert (_months(out.monthly, "A", "apixaban")["forecast_efficiency_gbp"] == 0.0).all()
    assert efficiency_sentence(row) == (
        "Apixaban (generic launch, April 2025): not due this year (2024/25), so no efficiency "
        "is forecast for it."
    )


# --- baselines --------------------------------------------------------------------------------


def test_baseline_with_fewer_than_12_months_uses_those_available():
    # Data from April 2024; date 1 Nov 2024 -> Apr-Oct = 7 months before the date:
    # costs 100, 200, ..., 700 (total 2,800, mean 400), 2 units each (14 units, £200 a unit).
    rows = _rows(
        "A",
        "ustekinumab",
        ("2024-04-01", "2024-10-01"),
        [100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0],
        2.0,
    )
    out = baselines(_frame(rows), [_entry(date="2024-11-01")], ["A"], system_code=None)
    assert list(out.columns) == EFFICIENCY_BASELINE_COLUMNS
    row = out.iloc[0]
    assert row["status"] == "baseline"
    assert row["baseline_months"] == 7
    assert row["baseline_cost_gbp"] == pytest.approx(2800.0)
    assert row["baseline_monthly_cost_gbp"] == pytest.approx(400.0)
    assert row["baseline_monthly_quantity"] == pytest.approx(2.0)
    assert row["baseline_price_per_unit_gbp"] == pytest.approx(200.0)
    assert row["baseline_first_month"] == pd.Timestamp("2024-04-01")
    assert row["baseline_last_month"] == pd.Timestamp("2024-10-01")
    assert "7 months" in row["note"]
    # the sentence says so too: Nov-Mar are k = 0..4, so the year's forecast is
    # 400 x 0.5 x 0.8 x (0+1+2+3+4)/12 = 160 x 10/12 = 133.33 -> "£133"
    out = forecast_efficiencies(
        _frame(rows), [_entry(date="2024-11-01")], ["A"], "2024-10", system_code=None
    )
    assert efficiency_sentence(_one(out.summary, "A")) == (
        "Ustekinumab (biosimilar launch, November 2024): forecast efficiency £133 in 2024/25, "
        "all of it after October 2024, from spend of £400 a month before the date (baseline "
        "from 7 months of data, fewer than 12)."
    )


def test_baseline_uses_only_the_last_12_months_and_leaves_out_months_without_cost():
    # 18 months before the date (1 Oct 2024): Apr-Sep 2023 at £9,999 (too early, ignored);
    # Oct 2023 - Sep 2024 at £100 and 1 unit, except March 2024 whose rows have no cost
    # (left out): 11 months, £1,100 -> £100 a month.
    costs = [9999.0] * 6 + [100.0] * 12
    costs[6 + 5] = float("nan")  # March 2024
    rows = _rows("A", "ustekinumab", ("2023-04-01", "2024-09-01"), costs, 1.0)
    row = baselines(_frame(rows), [_entry()], ["A"], system_code=None).iloc[0]
    assert row["baseline_months"] == 11
    assert row["months_without_cost"] == 1
    assert row["baseline_cost_gbp"] == pytest.approx(1100.0)
    assert row["baseline_monthly_cost_gbp"] == pytest.approx(100.0)
    assert row["baseline_first_month"] == pd.Timestamp("2023-10-01")
    assert "1 month(s) without a cost" in row["note"]


def test_a_month_with_no_rows_for_the_trust_counts_as_no_spend():
    # The table covers Oct 2023 - Sep 2024 (trust B every month); trust A has rows only in
    # Sep 2024 (£1,200): A's 12-month baseline is 1200 / 12 = £100 a month.
    rows = _rows("B", "ustekinumab", ("2023-10-01", "2024-09-01"), 10.0, 1.0) + _rows(
        "A", "ustekinumab", ("2024-09-01", "2024-09-01"), 1200.0, 12.0
    )
    out = baselines(_frame(rows), [_entry()], ["A", "B"], system_code=None)
    row = out[out["trust_code"] == "A"].iloc[0]
    assert row["baseline_months"] == 12
    assert row["baseline_monthly_cost_gbp"] == pytest.approx(100.0)
    assert row["baseline_price_per_unit_gbp"] == pytest.approx(100.0)  # 1200 / 12 units


def test_a_molecule_with_no_cost_has_no_baseline_in_this_data():
    # infliximab: rows with quantities but no cost (like the bundled SCMD biologics);
    # rituximab: no rows at all for trust A (spend 0). Another molecule's rows run to
    # December 2024, so Oct-Dec 2024 are months of data.
    rows = _rows("A", "infliximab", ("2023-10-01", "2024-09-01"), float("nan"), 8.0) + _rows(
        "A", "other", ("2023-10-01", "2024-12-01"), 50.0, 1.0
    )
    entries = [_entry("infliximab"), _entry("rituximab")]
    out = forecast_efficiencies(_frame(rows), entries, ["A"], "2024-12", system_code=None)
    for molecule, note in (
        ("infliximab", "no cost recorded in the months before the date"),
        ("rituximab", "no spend in the months before the date"),
    ):
        row = _one(out.summary, "A", molecule)
        assert row["status"] == STATUS_NO_BASELINE
        assert row["note"] == note
        assert math.isnan(row["baseline_monthly_cost_gbp"])
        assert math.isnan(row["forecast_year_gbp"])
        months = _months(out.monthly, "A", molecule)
        assert months["forecast_efficiency_gbp"].isna().all()
        assert set(months.loc[months["months_since_date"] >= 0, "realised_note"]) == {
            "no baseline price per unit",
            "to come",
        }
    assert efficiency_sentence(_one(out.summary, "A", "infliximab")) == (
        "Infliximab (biosimilar launch, October 2024): no baseline in this data, so no "
        "efficiency can be forecast for 2024/25."
    )


def test_no_months_before_the_date_means_no_baseline():
    rows = _rows("A", "ustekinumab", ("2024-10-01", "2024-12-01"), 500.0, 5.0)
    row = baselines(_frame(rows), [_entry()], ["A"], system_code=None).iloc[0]
    assert row["status"] == STATUS_NO_BASELINE
    assert row["baseline_months"] == 0
    assert row["note"] == "no months of data before the date"
    assert pd.isna(row["baseline_first_month"])


# --- the system -------------------------------------------------------------------------------


def test_system_is_the_sum_of_the_trusts():
    # A: £1,200 and 10 units a month before the date; B: £600 and 4 units; C: no rows.
    # System baseline £1,800 a month, 14 units, £1,800/14 a unit.
    # Forecast: A 40k, B 20k (600 x 0.5 x 0.8 x k/12), system 60k.
    # Nov 2024: A 10 units £1,000 (realised 200), B 4 units £600 (realised 0);
    # system 14 units £1,600: (1800/14) x 14 - 1600 = 200.
    rows = _planted_trust_a() + _rows("B", "ustekinumab", ("2023-10-01", "2024-12-01"), 600.0, 4.0)
    out = forecast_efficiencies(_frame(rows), [_entry()], ["A", "B", "C"], "2024-12", "NENC")
    assert out.summary["trust_code"].tolist() == ["A", "B", "C", "NENC"]
    assert out.summary["level"].tolist() == ["trust", "trust", "trust", "system"]
    system = _one(out.summary, "NENC")
    assert system["baseline_monthly_cost_gbp"] == pytest.approx(1800.0)
    assert system["baseline_price_per_unit_gbp"] == pytest.approx(1800.0 / 14)
    assert system["forecast_year_gbp"] == pytest.approx(600.0 + 300.0)
    assert _one(out.summary, "C")["status"] == STATUS_NO_BASELINE
    # C has no baseline (its forecast is missing); month by month the system is A + B:
    # 60 x k from October: Oct 0, Nov 60, Dec 120, Jan 180, Feb 240, Mar 300.
    system_months = _months(out.monthly, "NENC").set_index("year_month")
    assert system_months["forecast_efficiency_gbp"].tolist() == pytest.approx(
        [0] * 7 + [60, 120, 180, 240, 300]
    )
    a = _months(out.monthly, "A")["forecast_efficiency_gbp"].to_numpy()
    b = _months(out.monthly, "B")["forecast_efficiency_gbp"].to_numpy()
    assert system_months["forecast_efficiency_gbp"].tolist() == pytest.approx((a + b).tolist())
    assert _months(out.monthly, "C")["forecast_efficiency_gbp"].isna().all()
    nov = pd.Timestamp("2024-11-01")
    assert system_months.at[nov, "actual_quantity"] == pytest.approx(14.0)
    assert system_months.at[nov, "actual_cost_gbp"] == pytest.approx(1600.0)
    assert system_months.at[nov, "realised_efficiency_gbp"] == pytest.approx(200.0)
    table = out.baselines.set_index("trust_code")
    assert table.at["NENC", "baseline_cost_gbp"] == pytest.approx(
        table.at["A", "baseline_cost_gbp"] + table.at["B", "baseline_cost_gbp"]
    )


def test_a_trust_month_without_cost_makes_the_system_month_unknown():
    # B's March 2024 has rows but no cost: the system leaves March out (11 months, mean 1,800).
    b_costs = [600.0] * 12
    b_costs[5] = float("nan")
    rows = _rows("A", "ustekinumab", ("2023-10-01", "2024-09-01"), 1200.0, 10.0) + _rows(
        "B", "ustekinumab", ("2023-10-01", "2024-09-01"), b_costs, 4.0
    )
    table = baselines(_frame(rows), [_entry()], ["A", "B"], "SYSTEM").set_index("trust_code")
    assert table.at["SYSTEM", "baseline_months"] == 11
    assert table.at["SYSTEM", "months_without_cost"] == 1
    assert table.at["SYSTEM", "baseline_monthly_cost_gbp"] == pytest.approx(1800.0)


# --- inputs and sentences ---------------------------------------------------------------------


def test_molecule_names_match_without_regard_to_case_and_column_can_be_named():
    rows = _frame(_rows("A", "Ustekinumab", ("2023-10-01", "2024-09-01"), 1200.0, 10.0))
    rows = rows.rename(columns={"molecule": "vtm_name"})
    row = baselines(rows, [_entry()], ["A"], None, molecule_column="vtm_name").iloc[0]
    assert row["baseline_monthly_cost_gbp"] == pytest.approx(1200.0)


def test_bad_inputs_are_input_errors():
    data = _frame(_planted_trust_a())
    with pytest.raises(MissingColumnsError, match="quantity"):
        forecast_efficiencies(data.drop(columns="quantity"), [_entry()], ["A"], "2024-12")
    with pytest.raises(InputError, match="system code"):
        forecast_efficiencies(data, [_entry()], ["A", "SYSTEM"], "2024-12")
    with pytest.raises(InputError, match="twice"):
        forecast_efficiencies(data, [_entry()], ["A", "A"], "2024-12")
    with pytest.raises(InputError, match="trust codes"):
        forecast_efficiencies(data, [_entry()], "A", "2024-12")
    with pytest.raises(InputError, match="period_end"):
        forecast_efficiencies(data, [_entry()], ["A"], "2024-13")
    with pytest.raises(InputError, match="financial year"):
        forecast_efficiencies(data, [_entry()], ["A"], "2024-12", financial_year="2024/26")
    with pytest.raises(InputError, match="more than one entry"):
        forecast_efficiencies(data, [_entry(), _entry()], ["A"], "2024-12")


def test_sentence_for_an_entry_under_way():
    # Forecast £600 in the year, £120 to December, £480 for Jan-Mar; £200 realised.
    out = forecast_efficiencies(
        _frame(_planted_trust_a()), [_entry()], ["A"], "2024-12", system_code=None
    )
    assert out.sentences() == [
        "A: Ustekinumab (biosimilar launch, October 2024): forecast efficiency £600 in 2024/25; "
        "£200 realised to December 2024 against £120 forecast, and £480 forecast for the "
        "remaining 3 months."
    ]
    assert out.sentences("A")[0].startswith("Ustekinumab (biosimilar launch")
    row = _one(out.summary, "A").copy()
    row["realised_to_date_gbp"] = float("nan")
    row["months_remaining"] = 1
    assert efficiency_sentence(row, name="Trust A") == (
        "Trust A: Ustekinumab (biosimilar launch, October 2024): forecast efficiency £600 in "
        "2024/25; nothing measurable realised to December 2024 (no cost or use recorded) "
        "against £120 forecast, and £480 forecast for the remaining month."
    )


# --- the YAML ---------------------------------------------------------------------------------

GOOD = """\
schema_version: 1
entries:
  - molecule: adalimumab
    type: biosimilar
    event: loss of exclusivity
    date: 2018-10-16
    source: a source
  - molecule: apixaban
    type: generic
    event: loss of exclusivity
    date: 2026-04-01
    source: another source
    price_reduction: 0.8
    uptake: {months_to_target: 6, shape: step}
    assumptions_source: a local tender
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_loads_with_defaults_and_overrides(tmp_path):
    entries = load_pipeline(_write(tmp_path, GOOD))
    assert [e.molecule for e in entries] == ["adalimumab", "apixaban"]
    ada, apix = entries
    assert ada.date == dt.date(2018, 10, 16)
    assert ada.price_reduction == 0.5
    assert ada.uptake == UptakeProfile(0.8, 12, "linear")
    assert ada.assumptions_source == ASSUMPTIONS_SOURCE
    assert apix.price_reduction == 0.8
    assert apix.uptake == UptakeProfile(1.0, 6, "step")  # target from the generic default
    assert apix.assumptions_source == "a local tender"


def _bad(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "entry", "field", "expected"),
    [
        (
            "type: biosimilar",
            "type: biologic",
            "entries[0] (adalimumab)",
            "type",
            "expected one of biosimilar, generic, got 'biologic'",
        ),
        (
            "price_reduction: 0.8",
            "price_reduction: 1.5",
            "entries[1] (apixaban)",
            "price_reduction",
            "expected a share from 0 to 1",
        ),
        (
            "price_reduction: 0.8",
            "price_reduction: -0.1",
            "entries[1] (apixaban)",
            "price_reduction",
            "expected a share from 0 to 1",
        ),
        (
            "price_reduction: 0.8",
            "price_reduction: yes",
            "entries[1] (apixaban)",
            "price_reduction",
            "got True",
        ),
        (
            "date: 2018-10-16",
            "date: 2018-13-01",
            "entries[0] (adalimumab)",
            "date",
            "expected a real date written YYYY-MM-DD",
        ),
        (
            "date: 2018-10-16",
            "date: 2019-02-30",
            "entries[0] (adalimumab)",
            "date",
            "expected a real date written YYYY-MM-DD",
        ),
        (
            "date: 2018-10-16",
            "date: 16 October 2018",
            "entries[0] (adalimumab)",
            "date",
            "expected a real date written YYYY-MM-DD",
        ),
        (
            "    source: a source\n",
            "    source: a source\n    price_reducton: 0.5\n",
            "entries[0] (adalimumab)",
            None,
            "unknown field(s) price_reducton",
        ),
        (
            "molecule: apixaban",
            "molecule: adalimumab",
            "entries[1] (adalimumab)",
            "molecule",
            "'adalimumab' is already listed at entries[0] (adalimumab)",
        ),
        (
            "molecule: adalimumab",
            "molecule: Adalimumab",
            "entries[0] (Adalimumab)",
            "molecule",
            "lower case",
        ),
        (
            "event: loss of exclusivity",
            "event: launch",
            "entries[0] (adalimumab)",
            "event",
            "expected one of biosimilar launch, generic launch",
        ),
        (
            "    source: a source\n",
            "",
            "entries[0] (adalimumab)",
            None,
            "missing required field(s) source",
        ),
        (
            "shape: step",
            "shape: curve",
            "entries[1] (apixaban)",
            "uptake.shape",
            "expected one of linear, step",
        ),
        (
            "months_to_target: 6",
            "months_to_target: 2.5",
            "entries[1] (apixaban)",
            "uptake.months_to_target",
            "expected a whole number of months",
        ),
        (
            "{months_to_target: 6",
            "{target: 1.2, months_to_target: 6",
            "entries[1] (apixaban)",
            "uptake.target",
            "expected a share from 0 to 1",
        ),
        (
            "{months_to_target: 6",
            "{speed: 2, months_to_target: 6",
            "entries[1] (apixaban)",
            "uptake",
            "unknown field(s) speed",
        ),
        (
            "    assumptions_source: a local tender\n",
            "",
            "entries[1] (apixaban)",
            "assumptions_source",
            "needs an assumptions_source",
        ),
        (
            "    source: another source\n",
            "    source: ''\n",
            "entries[1] (apixaban)",
            "source",
            "expected non-empty text",
        ),
    ],
)
def test_validation_errors_name_the_file_entry_and_field(
    tmp_path, old, new, entry, field, expected
):
    path = _write(tmp_path, _bad(GOOD, old, new))
    with pytest.raises(EfficiencyPipelineError) as caught:
        load_pipeline(path)
    error = caught.value
    assert isinstance(error, MedlibError) and isinstance(error, ValueError)
    assert error.path == "pipeline.yaml"
    assert error.entry == entry
    assert error.field == field
    assert expected in error.reason
    message = str(error)
    assert message.startswith(f"pipeline.yaml: {entry}: ")
    if field:
        assert f": {field}: " in message
    assert expected in message


def test_file_level_errors(tmp_path):
    with pytest.raises(EfficiencyPipelineError, match="nothing.yaml: .*not found"):
        load_pipeline(tmp_path / "nothing.yaml")
    # a key repeated inside one entry: YAML would keep the last one silently
    with pytest.raises(EfficiencyPipelineError, match=r"pipeline.yaml: .*'date' appears twice"):
        load_pipeline(
            _write(
                tmp_path,
                _bad(
                    GOOD, "    source: a source\n", "    source: a source\n    date: 2019-01-01\n"
                ),
            )
        )
    with pytest.raises(EfficiencyPipelineError, match="pipeline.yaml: not valid YAML"):
        load_pipeline(_write(tmp_path, "entries: [\n"))
    with pytest.raises(
        EfficiencyPipelineError, match="pipeline.yaml: entries: expected a non-empty"
    ):
        load_pipeline(_write(tmp_path, "entries: []\n"))
    with pytest.raises(EfficiencyPipelineError, match="schema_version: this version"):
        load_pipeline(_write(tmp_path, GOOD.replace("schema_version: 1", "schema_version: 2")))
    with pytest.raises(EfficiencyPipelineError, match="unknown field"):
        parse_pipeline({"entries": [], "extra": 1})


def test_the_shipped_pipeline_loads_and_every_entry_is_cited():
    path = PARAMETERS_DIR / "efficiency_pipeline.yaml"
    assert eff.DEFAULT_PIPELINE_PATH == path
    entries = load_pipeline()
    assert len(entries) >= 5
    molecules = [e.molecule for e in entries]
    assert len(set(molecules)) == len(molecules)
    for e in entries:
        assert e.source.strip(), e.molecule
        assert e.assumptions_source.strip(), e.molecule
        assert e.type in ("biosimilar", "generic")
    assert {"adalimumab", "ustekinumab"} <= set(molecules)
    # the shipped file names its citations per entry, not by falling back on a default
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert all(item.get("source") for item in raw["entries"])


def test_default_assumptions_match_the_switch_definitions_price_defaults():
    # The same programme assumptions drive the switch savings forecast.
    raw = yaml.safe_load((PARAMETERS_DIR / "switch_definitions.yaml").read_text(encoding="utf-8"))
    for kind, spec in raw["price_defaults"].items():
        assert DEFAULT_PRICE_REDUCTION[kind] == spec["expected_reduction"]
        assert DEFAULT_UPTAKE[kind].target == spec["target_uptake"]
        assert DEFAULT_UPTAKE[kind].months_to_target == spec["months_to_target"]
        assert DEFAULT_UPTAKE[kind].shape == "linear"


def test_the_spend_notebooks_prose_states_the_default_assumptions():
    import json

    from medlib.paths import NOTEBOOKS_DIR

    cells = json.loads((NOTEBOOKS_DIR / "spend_trends.ipynb").read_text(encoding="utf-8"))["cells"]
    prose = " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    biosimilar, generic = DEFAULT_UPTAKE["biosimilar"], DEFAULT_UPTAKE["generic"]
    assert (DEFAULT_PRICE_REDUCTION["biosimilar"], biosimilar.target) == (0.5, 0.8)
    assert biosimilar.months_to_target == 12
    assert (DEFAULT_PRICE_REDUCTION["generic"], generic.target, generic.months_to_target) == (
        0.9,
        1.0,
        3,
    )
    assert "a biosimilar is 50% cheaper, with uptake rising evenly to 80% over 12 months" in prose
    assert "a generic is 90% cheaper, with a full switch three months after the date" in prose
