"""Cost per patient-year: time on treatment worked by hand, split by period and molecule."""

import pandas as pd
import pytest
from test_wet_amd_intervals import BRIEF, injections

from medlib.errors import InputError
from medlib.wet_amd.cost import ALL_MOLECULES, COST_COLUMNS, cost_per_patient_year


def rows_of(out, molecule=ALL_MOLECULES):
    return out[out["molecule"] == molecule].set_index("period")


def test_hand_worked_cost_per_patient_year_by_quarter():
    out = cost_per_patient_year(injections(BRIEF), period="quarter", through="2024-12-31")
    assert list(out.columns) == COST_COLUMNS
    q = rows_of(out)
    # On treatment without a break from 1 January to 4 November 2024 (16 weeks after the
    # last injection): all of Q1 (91 days), Q2 (91), Q3 (92) and 34 days of Q4.
    assert (q["patient_years"] * 365.25).round().astype(int).to_dict() == {
        "2024 Q1": 91,
        "2024 Q2": 91,
        "2024 Q3": 92,
        "2024 Q4": 34,
    }
    assert q["injections"].to_dict() == {"2024 Q1": 3, "2024 Q2": 1, "2024 Q3": 1, "2024 Q4": 0}
    assert q["cost_gbp"].to_dict() == {
        "2024 Q1": 2448.0,
        "2024 Q2": 816.0,
        "2024 Q3": 816.0,
        "2024 Q4": 0.0,
    }
    assert q["patients"].tolist() == [1, 1, 1, 1]
    assert q.loc["2024 Q1", "cost_per_patient_year"] == pytest.approx(2448 * 365.25 / 91)
    assert q.loc["2024 Q4", "cost_per_patient_year"] == 0.0
    assert q["period_start"].tolist() == list(
        pd.to_datetime(["2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01"])
    )
    year = rows_of(cost_per_patient_year(injections(BRIEF), through="2024-12-31")).loc["2024"]
    assert year["cost_per_patient_year"] == pytest.approx(4080 * 365.25 / 308)


def test_a_long_gap_and_the_data_end_cap_the_time_on_treatment():
    # 200 days apart: the first injection covers 16 weeks (112 days), not 200.
    out = cost_per_patient_year(injections(["2024-01-01", "2024-07-19"]), through="2024-12-31")
    assert round(rows_of(out).loc["2024", "patient_years"] * 365.25) == 112 + 112
    # The data end stops the time: 1 to 31 December is 31 days.
    out = cost_per_patient_year(injections(["2024-12-01"]), through="2024-12-31")
    assert round(rows_of(out).loc["2024", "patient_years"] * 365.25) == 31
    # A longer cover is a parameter.
    out = cost_per_patient_year(
        injections(["2024-01-01", "2024-07-19"]), through="2024-12-31", cover_weeks=52
    )
    assert round(rows_of(out).loc["2024", "patient_years"] * 365.25) == 200 + 166


def test_both_eyes_on_the_same_days_count_the_patients_time_once():
    both = pd.concat([injections(BRIEF[:2], eye="left"), injections(BRIEF[:2], eye="right")])
    row = rows_of(cost_per_patient_year(both, through="2024-12-31")).loc["2024"]
    assert (row["injections"], row["patients"], row["cost_gbp"]) == (4, 1, 3264.0)
    assert round(row["patient_years"] * 365.25) == 28 + 112


def test_time_goes_to_the_molecule_given_and_all_molecules_counts_distinct_patients():
    switcher = pd.concat(
        [
            injections(["2024-01-01", "2024-01-29"]),
            injections(["2024-02-26"], product="Vabysmo", cost=857.0),
        ]
    )
    other = injections(["2024-03-04"], patient="p2", product="Vabysmo", cost=857.0)
    out = cost_per_patient_year(pd.concat([switcher, other]), through="2024-12-31")
    afl, far, every = (
        rows_of(out, m).loc["2024"] for m in ("aflibercept", "faricimab", ALL_MOLECULES)
    )
    assert round(afl["patient_years"] * 365.25) == 56
    assert round(far["patient_years"] * 365.25) == 112 + 112
    assert (afl["patients"], far["patients"], every["patients"]) == (1, 2, 2)
    assert every["cost_gbp"] == 2 * 816 + 2 * 857
    assert out["molecule"].tolist() == ["aflibercept", "faricimab", ALL_MOLECULES]


def test_time_is_split_at_the_new_year():
    out = cost_per_patient_year(injections(["2023-12-18"]), through="2024-12-31")
    years = rows_of(out)
    assert (years["patient_years"] * 365.25).round().astype(int).to_dict() == {
        "2023": 14,
        "2024": 98,
    }
    assert years["injections"].to_dict() == {"2023": 1, "2024": 0}


def test_missing_costs_are_counted_not_zero():
    rows = injections(BRIEF)
    rows.loc[0, "cost_gbp"] = None
    row = rows_of(cost_per_patient_year(rows, through="2024-12-31")).loc["2024"]
    assert (row["injections"], row["injections_without_cost"], row["cost_gbp"]) == (5, 1, 3264.0)


def test_bad_arguments():
    with pytest.raises(InputError, match="period"):
        cost_per_patient_year(injections(BRIEF), period="month")
    with pytest.raises(InputError, match="cover_weeks"):
        cost_per_patient_year(injections(BRIEF), cover_weeks=0)
    with pytest.raises(InputError, match="through"):
        cost_per_patient_year(injections(BRIEF), through="soon")
