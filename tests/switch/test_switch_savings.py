import math

import numpy as np
import pandas as pd
import pytest

from medlib.switch.definitions import get_target_profile, parse_switch_definitions
from medlib.switch.savings import (
    SavingsInputError,
    achieved_savings,
    financial_year_end,
    forecast_savings,
    forecast_vs_realised,
    remaining_opportunity,
    savings_summary,
    summarise_forecast,
    uptake_path,
)

DEF = parse_switch_definitions(
    {
        "switches": [
            {
                "molecule": "testmab",
                "type": "biosimilar",
                "originator": ["Origo"],
                "best_value": ["Bestia"],
                "launch_date": "2020-03-15",
                "launch_source": "test",
                "target_profile": "2025",
                "price": {
                    "unit": "vial",
                    "originator_price_per_unit": 100.0,
                    "expected_reduction": 0.5,
                    "target_uptake": 0.8,
                    "months_to_target": 12,
                },
                "dosing": {"interval_days": 28, "units_per_dose": 1},
            }
        ]
    }
)["testmab"]


def rows(*records):
    """records: (trust, date, product, quantity, cost)."""
    out = pd.DataFrame(
        records, columns=["trust_code", "activity_date", "product", "quantity", "cost_gbp"]
    )
    out["activity_date"] = pd.to_datetime(out["activity_date"])
    out["molecule"] = "testmab"
    out["patient_id"] = [f"p{i}" for i in range(len(out))]
    return out


# Launch month (Mar 2020) only.
# Trust A: 10 units of the originator at £100 and 30 best-value units at £40.
# Trust B: 20 best-value units at £50 (100% best value).
# Trust C: 10 units of the originator at £100 (0% best value).
MARCH = rows(
    ("AAA", "2020-03-20", "Origo", 10, 1000.0),
    ("AAA", "2020-03-21", "Bestia", 30, 1200.0),
    ("BBB", "2020-03-20", "Bestia", 20, 1000.0),
    ("CCC", "2020-03-20", "Origo", 10, 1000.0),
)


class TestAchieved:
    def test_hand_worked(self):
        out = achieved_savings(MARCH, DEF, trusts=["AAA", "BBB", "CCC", "DDD"]).set_index(
            "trust_code"
        )
        # A: 40 units x £100 = £4,000 at originator price; spent £2,200; saved £1,800.
        assert out.loc[
            "AAA", ["originator_cost_gbp", "actual_cost_gbp", "saving_gbp"]
        ].tolist() == [4000.0, 2200.0, 1800.0]
        # B: 20 x £100 - £1,000 = £1,000. C: paid the originator price, saved nothing.
        assert out.loc["BBB", "saving_gbp"] == 1000.0
        assert out.loc["CCC", "saving_gbp"] == 0.0
        # D has no activity: zeros, not missing.
        assert out.loc["DDD", ["quantity", "saving_gbp"]].tolist() == [0.0, 0.0]

    def test_pre_launch_months_and_unknown_costs_are_left_out(self):
        data = pd.concat(
            [
                MARCH,
                rows(
                    ("AAA", "2020-02-01", "Origo", 5, 100.0),
                    ("AAA", "2020-03-25", "Bestia", 10, np.nan),
                ),
            ]
        )
        out = achieved_savings(data, DEF).set_index("trust_code")
        assert out.loc["AAA", "saving_gbp"] == 1800.0
        assert out.loc["AAA", "rows_without_cost"] == 1

    def test_molecule_with_no_activity(self):
        assert achieved_savings(MARCH.assign(molecule="othermab"), DEF, trusts=["AAA"]).empty


class TestRemaining:
    def test_hand_worked(self):
        out = remaining_opportunity(
            MARCH, DEF, months=1, trusts=["AAA", "BBB", "CCC", "DDD"]
        ).set_index("trust_code")
        # A: 30 of 40 units (75%) on best value; 80% target needs 0.8 x 40 - 30 = 2 more
        # units, each saving £100 - £40 = £60: £120 a month, £1,440 a year.
        a = out.loc["AAA"]
        assert (a["gap_quantity"], a["other_unit_cost_gbp"], a["best_value_unit_cost_gbp"]) == (
            pytest.approx(2.0),
            100.0,
            40.0,
        )
        assert a["remaining_gbp"] == pytest.approx(120.0)
        assert a["annual_remaining_gbp"] == pytest.approx(1440.0)
        # B is already at 100%: no remaining opportunity.
        assert out.loc[
            "BBB", ["gap_quantity", "remaining_gbp", "annual_remaining_gbp"]
        ].tolist() == [0.0, 0.0, 0.0]
        # C uses no best value yet: priced at £100 x (1 - 0.5) = £50; gap 0.8 x 10 = 8 units
        # x £50 = £400 a month.
        assert out.loc["CCC", "best_value_unit_cost_gbp"] == 50.0
        assert out.loc["CCC", "remaining_gbp"] == pytest.approx(400.0)
        # D has no activity.
        assert out.loc["DDD", ["total_quantity", "remaining_gbp"]].tolist() == [0.0, 0.0]
        assert math.isnan(out.loc["DDD", "pct_quantity_best_value"])

    def test_exactly_at_target_has_no_gap(self):
        data = rows(
            ("AAA", "2020-03-20", "Origo", 20, 2000.0), ("AAA", "2020-03-21", "Bestia", 80, 4000.0)
        )
        out = remaining_opportunity(data, DEF, months=1).iloc[0]
        assert out["gap_quantity"] == 0.0 and out["remaining_gbp"] == 0.0

    def test_three_month_period_is_annualised_by_four(self):
        data = pd.concat([MARCH, rows(("AAA", "2020-05-10", "Origo", 10, 1000.0))])
        out = remaining_opportunity(data, DEF, months=3, trusts=["AAA"]).iloc[0]
        # Mar-May: 50 units, 30 best value; gap 0.8 x 50 - 30 = 10 units x £60 = £600.
        assert out["remaining_gbp"] == pytest.approx(600.0)
        assert out["annual_remaining_gbp"] == pytest.approx(2400.0)
        assert out["period_start"] == pd.Timestamp("2020-03-01")

    def test_full_switch_target_and_bad_arguments(self):
        out = remaining_opportunity(MARCH, DEF, target_share=1.0, months=1, trusts=["AAA"])
        assert out["remaining_gbp"].iloc[0] == pytest.approx(10 * 60.0)
        with pytest.raises(SavingsInputError, match="months must be"):
            remaining_opportunity(MARCH, DEF, months=0)
        with pytest.raises(SavingsInputError, match="target_share must be a share"):
            remaining_opportunity(MARCH, DEF, target_share=80)

    def test_summary_for_a_molecule_with_no_activity(self):
        out = savings_summary(MARCH.assign(molecule="othermab"), DEF, trusts=["AAA"])
        assert out[["achieved_gbp", "annual_remaining_gbp"]].iloc[0].tolist() == [0.0, 0.0]


class TestForecast:
    def test_uptake_path(self):
        assert uptake_path([-1, 0, 6, 12, 18], 0.8, 12).tolist() == [0.0, 0.0, 0.4, 0.8, 0.8]
        assert uptake_path([-1, 0, 5], 1.0, 0).tolist() == [0.0, 1.0, 1.0]

    def test_biosimilar_defaults_hand_worked(self):
        f = forecast_savings(
            launch="2020-04-15",
            monthly_quantity=100,
            originator_price_per_unit=200.0,
            price_reduction=0.5,
            target_uptake=0.8,
            months_to_target=12,
        )
        # Default end: the end of the financial year containing the launch (Mar 2021).
        assert len(f) == 12 and f["year_month"].iloc[-1] == pd.Timestamp("2021-03-01")
        # Month 6: uptake 0.4; saving 100 x 0.4 x £200 x 0.5 = £4,000.
        assert f.loc[6, "forecast_saving_gbp"] == pytest.approx(4000.0)
        # Total: £10,000 x 0.8 x (0 + 1 + ... + 11) / 12 = £10,000 x 0.8 x 5.5 = £44,000.
        assert f["cumulative_forecast_gbp"].iloc[-1] == pytest.approx(44000.0)

    def test_generic_defaults_full_switch_at_three_months(self):
        f = forecast_savings(
            launch="2021-01-01",
            monthly_quantity=10,
            originator_price_per_unit=50.0,
            price_reduction=0.9,
            target_uptake=1.0,
            months_to_target=3,
            end="2021-06-01",
        )
        # 10 x £50 x 0.9 = £450 per month at full switch; months 0-5: 0, 1/3, 2/3, 1, 1, 1.
        assert f["forecast_saving_gbp"].tolist() == pytest.approx([0, 150, 300, 450, 450, 450])

    def test_against_the_target_profile(self):
        f = forecast_savings(
            launch="2020-03-01",
            monthly_quantity=100,
            originator_price_per_unit=10.0,
            price_reduction=0.5,
            target_uptake=0.8,
            months_to_target=12,
            end="2020-08-01",
            target_profile=get_target_profile("2025"),
        )
        # 2025 target: 80% of existing patients by month 10, so 8% a month.
        assert f["target_uptake"].tolist() == pytest.approx([0, 0.08, 0.16, 0.24, 0.32, 0.4])
        assert f["target_saving_gbp"].iloc[5] == pytest.approx(200.0)
        summary = summarise_forecast(f)
        # forecast: 500 x (0.8/12) x (0+...+5) = 500; target: 500 x 0.08 x 15 = 600.
        assert summary["forecast_gbp"] == pytest.approx(500.0)
        assert summary["target_gbp"] == pytest.approx(600.0)
        assert summary["forecast_minus_target_gbp"] == pytest.approx(-100.0)

    def test_start_after_launch(self):
        f = forecast_savings(
            launch="2020-03-01",
            start="2020-09-01",
            end="2020-10-01",
            monthly_quantity=12,
            originator_price_per_unit=1.0,
            price_reduction=1.0,
            target_uptake=1.0,
            months_to_target=12,
        )
        assert f["months_since_launch"].tolist() == [6, 7]
        assert f["forecast_saving_gbp"].tolist() == pytest.approx([6.0, 7.0])

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"price_reduction": 1.5}, "price_reduction must be a share"),
            ({"target_uptake": -0.1}, "target_uptake must be a share"),
            ({"months_to_target": 2.5}, "months_to_target must be a whole number"),
            ({"monthly_quantity": -1}, "monthly_quantity must be >= 0"),
            ({"originator_price_per_unit": 0}, "originator_price_per_unit must be > 0"),
            ({"end": "2019-01-01"}, "is before start"),
            ({"launch": "soon"}, "must be dates"),
        ],
    )
    def test_bad_arguments(self, change, message):
        args = {
            "launch": "2020-03-01",
            "monthly_quantity": 1,
            "originator_price_per_unit": 1.0,
            "price_reduction": 0.5,
            "target_uptake": 0.8,
            "months_to_target": 12,
        }
        args.update(change)
        with pytest.raises(SavingsInputError, match=message):
            forecast_savings(**args)

    def test_financial_year_end(self):
        assert financial_year_end("2020-03-31") == pd.Timestamp("2020-03-01")
        assert financial_year_end("2020-04-01") == pd.Timestamp("2021-03-01")


def test_forecast_vs_realised_hand_worked():
    data = rows(
        ("AAA", "2020-01-10", "Origo", 10, 1000.0),
        ("AAA", "2020-02-10", "Origo", 10, 1000.0),
        ("AAA", "2020-03-10", "Origo", 10, 1000.0),
        ("AAA", "2020-04-10", "Origo", 5, 500.0),
        ("AAA", "2020-04-11", "Bestia", 5, 200.0),
    )
    f = forecast_vs_realised(data, DEF, "AAA").set_index("months_since_launch")
    # Baseline = mean of Jan and Feb = 10 units. Forecast month 1: 10 x 0.8/12 x £100 x 0.5.
    assert f.loc[1, "forecast_saving_gbp"] == pytest.approx(10 * 0.8 / 12 * 50)
    # Realised: month 0 nothing (all originator); month 1 £1,000 - £700 = £300.
    assert f.loc[0, "realised_saving_gbp"] == 0.0 and f.loc[1, "realised_saving_gbp"] == 300.0
    assert f.loc[1, "realised_best_value_share"] == 0.5
    # Data end Apr 2020; year end Mar 2021 (month 12). Projection = mean of months 0-1 = £150.
    assert f.index.max() == 12
    assert math.isnan(f.loc[1, "projected_saving_gbp"]) and f.loc[2, "projected_saving_gbp"] == 150
    assert f.loc[12, "cumulative_realised_gbp"] == pytest.approx(300 + 150 * 11)
    assert forecast_vs_realised(data, DEF, "ZZZ").empty
