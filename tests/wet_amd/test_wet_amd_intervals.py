"""Injection intervals and the per-trust summary: hand-worked cases, then the generator's truth."""

import numpy as np
import pandas as pd
import pytest

from medlib.errors import InputError, MissingColumnsError
from medlib.synthetic.anti_vegf import generate_anti_vegf
from medlib.synthetic.hcd_activity import DEFAULT_TRUSTS
from medlib.wet_amd.intervals import INTERVAL_COLUMNS, injection_intervals
from medlib.wet_amd.summary import SUMMARY_COLUMNS, trust_summary

END = "2025-03-31"


def injections(dates, patient="p1", eye="left", trust="RTD", product="Eylea", cost=816.0):
    molecule = {"Eylea": "aflibercept", "Vabysmo": "faricimab"}.get(product, "ranibizumab")
    return pd.DataFrame(
        {
            "patient_id": patient,
            "trust_code": trust,
            "activity_date": pd.to_datetime(list(dates)),
            "molecule": molecule,
            "product": product,
            "cost_gbp": cost,
            "eye": eye,
        }
    )


# 4, 4, 8 and 12 weeks apart: loading is the first 3 injections, the latest interval is 12 weeks.
BRIEF = ["2024-01-01", "2024-01-29", "2024-02-26", "2024-04-22", "2024-07-15"]
# Two years: 4, 4, 8, 12, 16, 16 and 12 weeks apart from 1 January 2023.
TWO_YEARS = [
    "2023-01-01",  # day 0
    "2023-01-29",  # 28
    "2023-02-26",  # 56
    "2023-04-23",  # 112
    "2023-07-16",  # 196
    "2023-11-05",  # 308: the 6th and last injection of year 1 (days 0-364)
    "2024-02-25",  # 420: year 2 (days 365-729)
    "2024-05-19",  # 504: year 2
]


def test_hand_worked_intervals_loading_and_latest():
    out = injection_intervals(injections(BRIEF))
    assert list(out.columns) == INTERVAL_COLUMNS
    assert out["injection_number"].tolist() == [1, 2, 3, 4, 5]
    assert out["phase"].tolist() == ["loading"] * 3 + ["maintenance"] * 2
    assert out["interval_days"].tolist()[1:] == [28, 28, 56, 84]
    assert pd.isna(out["interval_days"].iloc[0])
    assert out["interval_weeks"].tolist()[1:] == [4.0, 4.0, 8.0, 12.0]
    assert out["is_latest"].tolist() == [False] * 4 + [True]


def test_hand_worked_summary_shares_bands_years_and_cost():
    row = trust_summary(injections(BRIEF), through="2024-12-31").iloc[0]
    assert list(row.index) == SUMMARY_COLUMNS
    assert (row.patients, row.patient_eyes, row.injections) == (1, 1, 5)
    # Latest interval 12 weeks: at least 8 and 12 weeks, not 16.
    assert row.patients_in_maintenance == 1
    assert [row[f"patients_latest_{w}w_plus"] for w in (8, 12, 16)] == [1, 1, 0]
    assert [row[f"share_latest_{w}w_plus"] for w in (8, 12, 16)] == [1.0, 1.0, 0.0]
    # Maintenance intervals 8 and 12 weeks (the two loading gaps are not counted).
    assert row.maintenance_intervals == 2
    assert (row.intervals_8_to_10w, row.intervals_12_to_16w, row.intervals_under_6w) == (1, 1, 0)
    assert row.mean_maintenance_interval_weeks == 10.0
    # First injection 1 January 2024; its year runs to 30 December, before the data end.
    assert (row.patients_year1, row.eyes_year1, row.injections_year1_per_eye) == (1, 1, 5.0)
    assert (row.patients_year2, row.eyes_year2) == (0, 0)
    assert pd.isna(row.injections_year2_per_eye)
    # 5 x £816 over 28 + 28 + 56 + 84 days and 16 weeks (112 days) after the last injection.
    assert row.cost_gbp == 4080.0
    assert row.patient_years == pytest.approx(308 / 365.25)
    assert row.cost_per_patient_year == pytest.approx(4080 * 365.25 / 308)


def test_hand_worked_first_and_second_year_injections():
    row = trust_summary(injections(TWO_YEARS), through="2024-12-31").iloc[0]
    assert (row.eyes_year1, row.injections_year1_per_eye) == (1, 6.0)
    # Year 2 ends on day 729, 30 December 2024: inside the data.
    assert (row.eyes_year2, row.injections_year2_per_eye) == (1, 2.0)
    assert [row[f"patients_latest_{w}w_plus"] for w in (8, 12, 16)] == [1, 1, 0]
    assert row.intervals_16w_plus == 2
    # A data end one day earlier leaves year 2 incomplete: not averaged.
    early = trust_summary(injections(TWO_YEARS), through="2024-12-29").iloc[0]
    assert (early.eyes_year2, early.patients_year2) == (0, 0)


def test_a_patients_latest_interval_is_their_shortest_eye_in_maintenance():
    left = injections(BRIEF, eye="left")  # latest 12 weeks
    right = injections(["2024-03-04", "2024-04-01", "2024-04-29", "2024-07-22"], eye="right")
    still_loading = injections(["2024-09-02", "2024-10-01"], patient="p2")
    row = trust_summary(pd.concat([left, right, still_loading]), through="2024-12-31").iloc[0]
    assert (row.patients, row.patient_eyes, row.patients_in_maintenance) == (2, 3, 1)
    # The right eye's latest is 12 weeks too (29 April to 22 July); take the left at 8.
    right8 = injections(["2024-03-04", "2024-04-01", "2024-04-29", "2024-06-24"], eye="right")
    row = trust_summary(pd.concat([left, right8, still_loading]), through="2024-12-31").iloc[0]
    assert [row[f"patients_latest_{w}w_plus"] for w in (8, 12, 16)] == [1, 0, 0]
    assert [row[f"eyes_latest_{w}w_plus"] for w in (8, 12, 16)] == [2, 1, 0]


def test_generator_and_analysis_agree_on_the_loading_phase():
    from medlib.synthetic import anti_vegf
    from medlib.wet_amd import intervals

    assert anti_vegf.LOADING_DOSES == intervals.LOADING_DOSES == 3


def test_loading_doses_is_a_parameter():
    out = injection_intervals(injections(BRIEF), loading_doses=4)
    assert out["phase"].tolist() == ["loading"] * 4 + ["maintenance"]
    with pytest.raises(InputError, match="loading_doses"):
        injection_intervals(injections(BRIEF), loading_doses=0)


def test_records_after_the_data_end_are_left_out():
    row = trust_summary(injections(BRIEF), through="2024-05-01").iloc[0]
    assert row.injections == 4
    assert [row[f"patients_latest_{w}w_plus"] for w in (8, 12, 16)] == [1, 0, 0]


def test_records_need_their_columns_and_dates():
    rows = injections(BRIEF)
    with pytest.raises(MissingColumnsError, match="product"):
        injection_intervals(rows.drop(columns="product"))
    rows.loc[2, "activity_date"] = pd.NaT
    with pytest.raises(InputError, match="lack a trust, patient or date"):
        trust_summary(rows)


def test_a_missing_eye_makes_one_unit_per_patient():
    rows = pd.concat([injections(BRIEF[:3], eye=None), injections(BRIEF[3:], eye=None)])
    out = injection_intervals(rows)
    assert out["injection_number"].tolist() == [1, 2, 3, 4, 5]
    assert out["eye"].isna().all()


def test_records_without_an_eye_column_are_one_unit_per_patient():
    # Both eyes of one patient, 4 weeks apart in turn: without the eye, one course of 8
    # injections with 14-day intervals; with it, two courses of 4 with 28-day intervals.
    left = injections(["2024-01-01", "2024-01-29", "2024-02-26", "2024-03-25"], eye="left")
    right = injections(["2024-01-15", "2024-02-12", "2024-03-11", "2024-04-08"], eye="right")
    both = pd.concat([left, right], ignore_index=True)
    eyeless = injection_intervals(both.drop(columns="eye"))
    assert eyeless["injection_number"].tolist() == list(range(1, 9))
    assert eyeless["interval_days"].tolist()[1:] == [14] * 7
    assert eyeless["eye"].isna().all()
    by_eye = injection_intervals(both)
    assert by_eye["injection_number"].tolist() == [1, 2, 3, 4] * 2
    assert by_eye["interval_days"].dropna().tolist() == [28] * 6
    row = trust_summary(both.drop(columns="eye"), through="2024-12-31").iloc[0]
    assert (row.patients, row.patient_eyes, row.patients_in_maintenance) == (1, 1, 1)
    assert row.maintenance_intervals == 5


# --------------------------------------------------------------------------- the truth


@pytest.fixture(scope="module")
def sample():
    return generate_anti_vegf(DEFAULT_TRUSTS, seed=2025, end=END)


def test_every_patient_eyes_planted_intervals_are_recovered_exactly(sample):
    out = injection_intervals(sample.records)
    assert len(out) == len(sample.records)
    got = (
        out.groupby(["trust_code", "patient_id", "eye"], sort=True)
        .agg(
            intervals=("interval_days", lambda s: tuple(int(v) for v in s.dropna())),
            maintenance=(
                "interval_days",
                lambda s: tuple(int(v) for v in s[out.loc[s.index, "phase"] == "maintenance"]),
            ),
            injections=("injection_number", "max"),
            latest=(
                "interval_days",
                lambda s: (
                    int(s.iloc[-1]) if out.loc[s.index[-1], "phase"] == "maintenance" else None
                ),
            ),
        )
        .reset_index()
    )
    truth = sample.truth.eyes.sort_values(["trust_code", "patient_id", "eye"], ignore_index=True)
    assert len(got) == len(truth)
    assert got["intervals"].tolist() == truth["intervals_days"].tolist()
    assert got["maintenance"].tolist() == truth["maintenance_intervals_days"].tolist()
    assert got["injections"].tolist() == truth["injections"].tolist()

    def whole(values):
        return [None if pd.isna(v) else int(v) for v in values]

    assert whole(got["latest"]) == whole(truth["latest_interval_days"])
    assert truth["latest_interval_days"].notna().sum() > 1000


def test_the_planted_per_trust_shares_are_recovered_exactly(sample):
    summary = trust_summary(sample.records, through=END).set_index("trust_code")
    truth = sample.truth.trusts.set_index("trust_code")
    assert sorted(summary.index) == sorted(truth.index)
    for column in [
        "patients",
        "patient_eyes",
        "patients_in_maintenance",
        *(f"patients_latest_{w}w_plus" for w in (8, 12, 16)),
    ]:
        assert summary[column].to_dict() == truth[column].to_dict(), column
    for w in (8, 12, 16):
        # Both are the same whole-number counts divided the same way: exactly equal.
        assert (
            summary[f"share_latest_{w}w_plus"].to_dict()
            == truth[f"share_latest_{w}w_plus"].to_dict()
        )


def test_the_behaviours_show_in_the_summary(sample):
    summary = trust_summary(sample.records, through=END).set_index("trust_code")
    behaviour = sample.truth.trusts.set_index("trust_code")["behaviour"]
    by = summary.groupby(behaviour)
    twelve = by["share_latest_12w_plus"].mean()
    assert twelve["treat_and_extend"] > twelve["fixed_8_weekly"] > twelve["short_interval"]
    # About 6 to 11 injections per eye in year 1, around the UK real-world mean of 7.1.
    year1 = by["injections_year1_per_eye"].mean()
    assert 5.5 < year1["treat_and_extend"] < year1["fixed_8_weekly"] < year1["short_interval"] < 12
    assert np.isfinite(summary["cost_per_patient_year"]).all()
