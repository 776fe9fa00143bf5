"""The synthetic anti-VEGF generator: canonical, deterministic, per-trust independent, as documented."""

import numpy as np
import pandas as pd
import pytest

from medlib.io.hcd_activity import HCD_COLUMNS, validate_hcd_activity
from medlib.synthetic.anti_vegf import (
    BEHAVIOURS,
    INDICATION,
    LOADING_DOSES,
    LOADING_GAP_DAYS,
    PRODUCTS,
    RANIBIZUMAB_BIOSIMILAR_PRICE_GBP,
    RECORD_COLUMNS,
    SYNTHETIC_LABEL,
    SyntheticDataError,
    assign_interval_behaviours,
    generate_anti_vegf,
)
from medlib.synthetic.hcd_activity import DEFAULT_TRUSTS

TRUSTS = ("RTD", "RR7", "RTF")


@pytest.fixture(scope="module")
def sample():
    return generate_anti_vegf(TRUSTS, seed=11, patients={t: 60 for t in TRUSTS})


def test_records_are_hcd_activity_rows_plus_the_eye(sample):
    records = sample.records
    assert list(records.columns) == RECORD_COLUMNS == [*HCD_COLUMNS, "eye"]
    checked = validate_hcd_activity(records, known_trusts=TRUSTS)
    # Every row is a valid hcd_activity row, an injection in each eye on the same day too: the
    # validator keeps the eye and counts it in its duplicate check.
    same_day_other_eye = records.duplicated(subset=HCD_COLUMNS, keep="first")
    assert same_day_other_eye.any()
    assert checked.summary.rows_quarantined == 0
    pd.testing.assert_frame_equal(checked.data, records, check_dtype=False)
    # Without the eye those pairs read as one supply sent twice, as before.
    eyeless = validate_hcd_activity(records.drop(columns="eye"), known_trusts=TRUSTS)
    assert eyeless.summary.rows_quarantined == same_day_other_eye.sum()
    assert eyeless.quarantine["reason"].str.startswith("duplicate row").all()
    assert set(records["eye"]) == {"left", "right"}
    assert set(records["indication"]) == {INDICATION}
    assert (records["quantity"] == 1.0).all()
    assert sample.label == SYNTHETIC_LABEL


def test_pseudonyms_are_random_64_bit_ids_not_nhs_numbers(sample):
    ids = sample.records["patient_id"].drop_duplicates()
    assert ids.str.fullmatch(r"[0-9a-f]{16}").all()
    assert not ids.str.fullmatch(r"\d{10}").any()
    assert (
        ids.map(
            lambda i: sample.records.loc[sample.records.patient_id == i, "trust_code"].nunique()
        )
        .eq(1)
        .all()
    )


def test_each_injection_costs_its_product_price(sample):
    records = sample.records
    prices = records["product"].map({p: v.price_gbp for p, v in PRODUCTS.items()})
    assert (records["cost_gbp"] == prices).all()
    assert PRODUCTS["Eylea"].price_gbp == 816.0 and PRODUCTS["Vabysmo"].price_gbp == 857.0
    assert RANIBIZUMAB_BIOSIMILAR_PRICE_GBP == 303.05
    assert set(records["molecule"]) <= {"aflibercept", "faricimab", "ranibizumab"}
    # One biosimilar brand per trust, beside Lucentis.
    for _, frame in records[records["molecule"] == "ranibizumab"].groupby("trust_code"):
        assert len(set(frame["product"]) - {"Lucentis"}) <= 1


def test_same_seed_same_records_and_another_seed_differs():
    a = generate_anti_vegf(TRUSTS, seed=3, patients={t: 30 for t in TRUSTS})
    b = generate_anti_vegf(TRUSTS, seed=3, patients={t: 30 for t in TRUSTS})
    c = generate_anti_vegf(TRUSTS, seed=4, patients={t: 30 for t in TRUSTS})
    pd.testing.assert_frame_equal(a.records, b.records)
    pd.testing.assert_frame_equal(a.truth.eyes, b.truth.eyes)
    pd.testing.assert_frame_equal(a.truth.trusts, b.truth.trusts)
    assert not a.records.equals(c.records)


def test_a_trusts_records_do_not_change_when_another_trust_is_added():
    alone = generate_anti_vegf(["RTD"], seed=5)
    more = generate_anti_vegf(["RTD", "RX4", "RR7"], seed=5)
    mine = more.records[more.records["trust_code"] == "RTD"].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone.records, mine)
    eyes = more.truth.eyes[more.truth.eyes["trust_code"] == "RTD"].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone.truth.eyes, eyes)
    pd.testing.assert_frame_equal(
        alone.truth.trusts, more.truth.trusts.iloc[[0]].reset_index(drop=True)
    )


def test_behaviours_are_dealt_over_the_default_trusts_and_stable_elsewhere():
    dealt = assign_interval_behaviours(DEFAULT_TRUSTS, 2025)
    assert sorted(pd.Series(dealt).value_counts().tolist()) == [2, 3, 3]
    assert set(dealt.values()) == set(BEHAVIOURS)
    assert assign_interval_behaviours(["RX4"], 9) == {
        "RX4": assign_interval_behaviours(["RX4", "RTD"], 9)["RX4"]
    }


def test_loading_is_three_injections_about_four_weeks_apart(sample):
    eyes = sample.truth.eyes
    loading = eyes["intervals_days"].map(lambda gaps: gaps[: LOADING_DOSES - 1])
    lo, hi = LOADING_GAP_DAYS
    assert loading.map(lambda gaps: all(lo <= g <= hi for g in gaps)).all()
    assert (eyes["maintenance_intervals_days"] == eyes["intervals_days"].map(lambda g: g[2:])).all()
    has = eyes["injections"] > LOADING_DOSES
    assert eyes.loc[has, "latest_interval_days"].notna().all()
    assert eyes.loc[~has, "latest_interval_days"].isna().all()


def test_truth_eyes_match_the_records(sample):
    records = sample.records
    for _, eye in sample.truth.eyes.iterrows():
        days = records.loc[
            (records.patient_id == eye.patient_id) & (records.eye == eye.eye), "activity_date"
        ]
        assert len(days) == eye.injections
        assert days.iloc[0] == eye.first_injection
        assert (
            tuple(np.diff(days.to_numpy()).astype("timedelta64[D]").astype(int))
            == eye.intervals_days
        )


def test_behaviours_plant_the_intervals_they_describe():
    trusts = {"RTD": "treat_and_extend", "RR7": "fixed_8_weekly", "RTF": "short_interval"}
    s = generate_anti_vegf(
        list(trusts), seed=8, patients=dict.fromkeys(trusts, 150), behaviours=trusts
    )
    eyes = s.truth.eyes
    gaps = {
        t: np.concatenate(
            [
                np.asarray(g, dtype=int)
                for g in eyes.loc[eyes.trust_code == t, "maintenance_intervals_days"]
            ]
        )
        for t in trusts
    }
    assert gaps["RTD"].max() <= 16 * 7 + 5 and np.median(gaps["RTD"]) >= 10 * 7
    assert abs(np.median(gaps["RR7"]) - 56) <= 5
    assert np.median(gaps["RTF"]) < 6 * 7
    shares = s.truth.trusts.set_index("trust_code")["share_latest_12w_plus"]
    assert shares["RTD"] > shares["RR7"] > shares["RTF"]


def test_truth_shares_are_of_each_patients_shortest_latest_interval(sample):
    eyes = sample.truth.eyes.dropna(subset=["latest_interval_days"])
    for _, row in sample.truth.trusts.iterrows():
        latest = (
            eyes[eyes.trust_code == row.trust_code]
            .groupby("patient_id")["latest_interval_days"]
            .min()
        )
        assert row.patients_in_maintenance == len(latest)
        for w in (8, 12, 16):
            assert row[f"patients_latest_{w}w_plus"] == (latest >= 7 * w).sum()
            assert row[f"share_latest_{w}w_plus"] == pytest.approx((latest >= 7 * w).mean())


def test_nothing_is_generated_outside_the_window():
    s = generate_anti_vegf(["RTD"], seed=2, start="2023-01-01", end="2023-12-31")
    dates = s.records["activity_date"]
    assert dates.min() >= pd.Timestamp("2023-01-01") and dates.max() <= pd.Timestamp("2023-12-31")


def test_a_trust_can_be_given_its_size_even_zero():
    s = generate_anti_vegf(["RTD", "RR7"], seed=1, patients={"RTD": 5, "RR7": 0})
    assert s.truth.trusts.set_index("trust_code")["patients"].to_dict() == {"RTD": 5, "RR7": 0}
    assert set(s.records["trust_code"]) == {"RTD"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trusts": []}, "at least one trust"),
        ({"behaviours": {"RTD": "weekly"}}, "unknown behaviour"),
        ({"patients": {"RTD": -1}}, "cannot be negative"),
        ({"start": "2025-01-01", "end": "2024-01-01"}, "before start"),
        ({"end": "not a date"}, "expected a date"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs, message):
    args = {"trusts": ["RTD"], **kwargs}
    with pytest.raises(SyntheticDataError, match=message):
        generate_anti_vegf(**args)
