import numpy as np
import pandas as pd
import pytest

from medlib.io.hcd_activity import HCD_COLUMNS, validate_hcd_activity
from medlib.switch.definitions import load_switch_definitions
from medlib.synthetic.hcd_activity import (
    DEFAULT_TRUSTS,
    SYNTHETIC_LABEL,
    SyntheticDataError,
    assign_behaviours,
    generate_hcd_activity,
    scmd_patients_on_treatment,
    trust_patient_volumes,
)

DEFS = load_switch_definitions()
ADA, USTE = DEFS["adalimumab"], DEFS["ustekinumab"]


def volumes(trusts, n=20, molecules=("adalimumab", "ustekinumab")):
    return pd.DataFrame(
        [(t, m, n) for t in trusts for m in molecules],
        columns=["trust_code", "molecule", "patients"],
    )


def make(trusts=("RTD", "RR7"), seed=3, **kw):
    return generate_hcd_activity(
        [ADA, USTE], list(trusts), seed=seed, volumes=volumes(trusts), **kw
    )


def test_output_is_canonical_and_valid():
    s = make()
    assert list(s.activity.columns) == HCD_COLUMNS
    checked = validate_hcd_activity(s.activity, known_trusts=["RTD", "RR7"])
    assert checked.quarantine.empty
    assert s.label == SYNTHETIC_LABEL


def test_same_seed_same_data_and_other_seed_differs():
    a, b, c = make(seed=3), make(seed=3), make(seed=4)
    pd.testing.assert_frame_equal(a.activity, b.activity)
    pd.testing.assert_frame_equal(a.patients, b.patients)
    assert not a.activity.equals(c.activity)


def test_a_trust_gets_the_same_patients_whatever_the_other_trusts():
    alone = make(trusts=("RTD",), behaviours={"RTD": "slow"})
    with_others = make(trusts=("RTD", "RR7", "RTF"), behaviours={"RTD": "slow"})
    mine = with_others.activity[with_others.activity["trust_code"] == "RTD"]
    pd.testing.assert_frame_equal(
        alone.activity.sort_values(["molecule", "activity_date", "patient_id"], ignore_index=True),
        mine.sort_values(["molecule", "activity_date", "patient_id"], ignore_index=True),
    )


def test_dosing_follows_the_definition_interval():
    s = make()
    ada = s.activity[s.activity["molecule"] == "adalimumab"].sort_values(
        ["patient_id", "activity_date"]
    )
    gaps = ada.groupby("patient_id")["activity_date"].diff().dropna().dt.days
    assert set(gaps) == {14}
    uste = s.activity[s.activity["molecule"] == "ustekinumab"]
    assert set(uste["quantity"]) == {2.0}  # 90 mg = 2 x 45 mg units


def test_costs_use_the_originator_price_and_the_realised_discount():
    s = make()
    ada = s.activity[s.activity["molecule"] == "adalimumab"]
    humira = ada[ada["product"] == "Humira"]["cost_gbp"].unique()
    others = ada[ada["product"] != "Humira"]["cost_gbp"].unique()
    assert humira.tolist() == [352.14]
    # 352.14 x (1 - 0.75) = 88.035
    assert others == pytest.approx([88.035])


def test_every_cohort_and_date_is_consistent_with_the_activity():
    s = make()
    firsts = s.activity.groupby(["trust_code", "patient_id"])["activity_date"].min()
    truth = s.patients.set_index(["trust_code", "patient_id"])
    assert (firsts == truth.loc[firsts.index, "first_dose_date"]).all()
    launch = pd.Timestamp(ADA.launch_date)
    ada = truth[truth["molecule"] == "adalimumab"]
    assert ((ada["cohort"] == "new") == (ada["first_dose_date"] >= launch)).all()
    assert (ada["switch_date"].dropna() >= launch).all()


def test_window_is_cut_at_as_of():
    s = make()
    uste = s.activity[s.activity["molecule"] == "ustekinumab"]
    assert uste["activity_date"].max() <= pd.Timestamp("2025-03-31")
    assert uste["activity_date"].min() >= pd.Timestamp("2024-03-01")  # 6 months before


def test_default_trusts_are_dealt_every_behaviour_and_other_trusts_hashed():
    got = assign_behaviours(DEFAULT_TRUSTS, seed=2025)
    # The seeded order is RNN, RTD, RTR, RTF, R0B, RXP, RVW, RR7; the four behaviours are
    # dealt out in turn, so each goes to two trusts (the assignment the default sample had).
    assert got == {
        "RNN": "fast",
        "RTD": "slow",
        "RTR": "stalled",
        "RTF": "switch_backs",
        "R0B": "fast",
        "RXP": "slow",
        "RVW": "stalled",
        "RR7": "switch_backs",
    }
    # A default trust keeps its dealt behaviour in any list; order and repeats change nothing.
    assert assign_behaviours(["RR7", "RTD", "RTD"], 2025) == {"RR7": "switch_backs", "RTD": "slow"}
    # Another trust: crc32("2025:RX4") = 2309127833 = 4 x 577281958 + 1, the second behaviour.
    assert assign_behaviours(["RX4"], 2025) == {"RX4": "slow"}
    assert assign_behaviours([*DEFAULT_TRUSTS, "RX4"], 2025) == {**got, "RX4": "slow"}


def test_a_trust_gets_the_same_rows_and_behaviour_with_or_without_an_extra_trust():
    # No behaviours given: the seeded assignment decides. Dealing over the list given would
    # move RR7 from "slow" to "stalled" once RX4 joins (seed 3).
    two = make(trusts=("RTD", "RR7"))
    three = make(trusts=("RTD", "RR7", "RX4"))
    assert set(three.activity["trust_code"]) == {"RTD", "RR7", "RX4"}
    order = ["molecule", "activity_date", "patient_id"]
    for trust in ("RTD", "RR7"):
        pd.testing.assert_frame_equal(
            two.activity[two.activity["trust_code"] == trust]
            .astype(str)
            .sort_values(order, ignore_index=True),
            three.activity[three.activity["trust_code"] == trust]
            .astype(str)
            .sort_values(order, ignore_index=True),
        )
    settings = [
        s.trusts[s.trusts["trust_code"] != "RX4"].reset_index(drop=True) for s in (two, three)
    ]
    pd.testing.assert_frame_equal(*settings)
    assert set(two.trusts.set_index("trust_code")["behaviour"].items()) == {
        ("RTD", "slow"),
        ("RR7", "switch_backs"),
    }


def test_scmd_calibration_formula():
    usage = pd.DataFrame(
        {
            "year_month": pd.to_datetime(["2019-01-01", "2019-02-01"]),
            "trust_code": ["RTD", "RR7"],
            "vmp_code": ["11236911000001103", "11236911000001103"],  # adalimumab 50 mg/ml
            "quantity": [20.8, 0.0],
        }
    )
    out = scmd_patients_on_treatment(usage).set_index("trust_code")
    # 20.8 ml x 50 mg/ml = 1,040 mg over 2 months = 520 mg a month = 13 doses of 40 mg;
    # a patient has 30.4375 / 14 doses a month, so 13 x 14 / 30.4375 patients.
    assert out.loc["RTD", "mean_monthly_mg"] == pytest.approx(520.0)
    assert out.loc["RTD", "patients"] == pytest.approx(13 * 14 / 30.4375)
    assert out.loc["RR7", "patients"] == 0.0


def test_volumes_scale_molecules_not_in_scmd_by_trust_size():
    scmd = pd.DataFrame(
        {
            "trust_code": ["AAA", "BBB", "CCC"],
            "molecule": ["adalimumab"] * 3,
            "mean_monthly_mg": [0.0] * 3,
            "patients": [100.0, 200.0, 400.0],
        }
    )
    out = trust_patient_volumes([ADA, USTE], ["AAA", "CCC"], scmd=scmd).set_index(
        ["trust_code", "molecule"]
    )
    assert out.loc[("CCC", "adalimumab"), "patients"] == 400
    # median trust size 200: ustekinumab default 120 x 400 / 200 = 240; 120 x 100 / 200 = 60.
    assert out.loc[("CCC", "ustekinumab"), "patients"] == 240
    assert out.loc[("AAA", "ustekinumab"), "patients"] == 60
    # A trust with no biologics use (e.g. a mental health trust) gets no patients.
    none = trust_patient_volumes([ADA, USTE], ["ZZZ"], scmd=scmd)
    assert none["patients"].tolist() == [0, 0]
    assert set(none["volume_basis"]) == {"no biologics use in the SCMD extract"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"behaviours": {"RTD": "lazy"}}, "unknown behaviour 'lazy'"),
        ({"as_of": "2024-01-01"}, "before the ustekinumab launch"),
        ({"as_of": "not a date"}, "as_of: expected a date"),
        ({"months_before": 0}, "at least 1"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(SyntheticDataError, match=message):
        make(**kwargs)
    with pytest.raises(SyntheticDataError, match="at least one trust"):
        generate_hcd_activity([ADA], [], volumes=volumes(["RTD"]))


def test_zero_patients_gives_no_rows_for_that_trust():
    vols = volumes(["RTD", "RR7"]).assign(patients=[20, 20, 0, 0])
    s = generate_hcd_activity([ADA, USTE], ["RTD", "RR7"], seed=1, volumes=vols)
    assert set(s.activity["trust_code"]) == {"RTD"}
    assert np.isin(s.trusts["patients_on_treatment"], [0, 20]).all()
