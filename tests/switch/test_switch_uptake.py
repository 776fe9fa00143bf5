"""Uptake definitions on a hand-built example, then exact recovery of synthetic ground truth."""

import math

import numpy as np
import pandas as pd
import pytest
from switch_fixtures import TESTMAB, hand_activity

from medlib.errors import MissingColumnsError
from medlib.switch.definitions import load_switch_definitions
from medlib.switch.uptake import (
    brand_quantities,
    brand_quantity_share,
    count_switch_backs,
    existing_patient_uptake,
    months_since,
    new_patient_uptake,
    patient_cohorts,
    switch_backs,
    target_status,
    time_to_switch,
    time_to_switch_distribution,
    vmp_proxy_share,
)
from medlib.synthetic.hcd_activity import generate_hcd_activity


@pytest.fixture
def activity():
    return hand_activity()


def by_trust(frame, column):
    return {t: g[column].tolist() for t, g in frame.groupby("trust_code")}


class TestHandBuilt:
    def test_months_since(self):
        dates = pd.Series(pd.to_datetime(["2020-02-29", "2020-03-31", "2021-03-01"]))
        assert months_since(dates, pd.Timestamp("2020-03-15")).tolist() == [-1, 0, 12]

    def test_cohorts(self, activity):
        c = patient_cohorts(activity, TESTMAB).set_index("patient_id")
        assert c.loc[["p1", "p2", "p6", "p7"], "cohort"].eq("existing").all()
        assert c.loc[["p3", "p4", "p5", "p8"], "cohort"].eq("new").all()
        # p4's first day had Origo and Bestia: best value only if every brand is.
        assert c.loc["p4", "first_class"] == "originator"
        assert c.loc["p8", "first_class"] == "other"
        assert c.loc["p1", "last_date"] == pd.Timestamp("2020-05-01")

    def test_new_patient_uptake(self, activity):
        new = new_patient_uptake(activity, TESTMAB)
        # RTD: month 0 p3 (best value), month 1 p4 (not), month 2 p5 (best value).
        # RR7: month 1 p8 (other brand).
        assert by_trust(new, "new_patients") == {"RR7": [0, 1, 0], "RTD": [1, 1, 1]}
        assert by_trust(new, "new_best_value") == {"RR7": [0, 0, 0], "RTD": [1, 0, 1]}
        rtd = new[new["trust_code"] == "RTD"]["pct_new_best_value"].tolist()
        assert rtd == [100.0, 0.0, 100.0]
        assert math.isnan(new[new["trust_code"] == "RR7"]["pct_new_best_value"].iloc[0])
        assert new["year_month"].iloc[0] == pd.Timestamp("2020-03-01")

    def test_existing_patient_uptake(self, activity):
        ex = existing_patient_uptake(activity, TESTMAB)
        # RTD, end Mar: p1 (3 Mar Origo) and p2 (19 Mar Origo) on treatment, none on best value.
        # End Apr: p1 latest 3 Apr Bestia, p2 latest 16 Apr Origo -> 2 on, 1 best value.
        # End May: p1 latest 1 May Bestia; p2 latest 16 Apr is 45 days back -> stopped.
        # p6's last dose (Jun 2019) is long gone. RR7: p7 on Bestia at end Mar, then Origo.
        assert by_trust(ex, "existing_patients") == {"RR7": [1, 1, 1], "RTD": [2, 2, 1]}
        assert by_trust(ex, "existing_best_value") == {"RR7": [1, 0, 0], "RTD": [0, 1, 1]}
        assert by_trust(ex, "pct_existing_best_value")["RTD"] == [0.0, 50.0, 100.0]

    def test_target_status(self, activity):
        status = target_status(
            new_patient_uptake(activity, TESTMAB),
            existing_patient_uptake(activity, TESTMAB),
            TESTMAB,
        )
        s = status.set_index(["trust_code", "group"])
        # RTD new from month 1: p4 (no), p5 (yes) -> 1 of 2 = 50% < 90%;
        # gap = ceil(0.9 x 2) - 1 = 1.
        assert s.loc[
            ("RTD", "new"), ["patients", "on_best_value", "status", "gap_patients"]
        ].tolist() == [2.0, 1.0, "not met", 1.0]
        # RTD existing at end of May: 1 of 1 >= 50%.
        assert s.loc[
            ("RTD", "existing"), ["patients", "on_best_value", "status", "gap_patients"]
        ].tolist() == [1.0, 1.0, "met", 0.0]
        # RR7 existing: 0 of 1; gap = ceil(0.5 x 1) - 0 = 1. RR7 new: 0 of 1; gap 1.
        assert s.loc[("RR7", "existing"), ["status", "gap_patients"]].tolist() == ["not met", 1]
        assert s.loc[("RR7", "new"), ["status", "gap_patients"]].tolist() == ["not met", 1.0]
        assert s.loc[("RTD", "existing"), "target_month"] == pd.Timestamp("2020-05-01")
        assert s.loc[("RTD", "new"), "pct_best_value"] == 50.0

    def test_not_yet_due_and_no_patients(self, activity):
        trusts = ["RTD", "RR7", "RXP"]
        new = new_patient_uptake(activity, TESTMAB, through="2020-04-30", trusts=trusts)
        ex = existing_patient_uptake(activity, TESTMAB, through="2020-04-30", trusts=trusts)
        s = target_status(new, ex, TESTMAB).set_index(["trust_code", "group"])
        assert s.loc[("RTD", "existing"), "status"] == "not yet due"
        assert math.isnan(s.loc[("RTD", "existing"), "gap_patients"])
        # Month 1 is due for new patients: p4 alone, not on best value.
        assert s.loc[("RTD", "new"), ["patients", "status"]].tolist() == [1.0, "not met"]
        assert s.loc[("RXP", "new"), ["status", "gap_patients"]].tolist() == ["no patients", 0]

    def test_time_to_switch(self, activity):
        tts = time_to_switch(activity, TESTMAB).set_index("patient_id")
        # On treatment at launch (latest dose after 4 Feb): p1, p2, p7; p6 is not.
        assert sorted(tts.index) == ["p1", "p2", "p7"]
        assert tts.loc["p1", "months_to_switch"] == 1
        assert tts.loc["p7", "months_to_switch"] == 0
        assert math.isnan(tts.loc["p2", "months_to_switch"])
        dist = time_to_switch_distribution(
            time_to_switch(activity, TESTMAB), TESTMAB, through="2020-05-31"
        )
        assert by_trust(dist, "switched_by_month") == {"RR7": [1, 1, 1], "RTD": [0, 1, 1]}
        assert by_trust(dist, "pct_switched")["RTD"] == [0.0, 50.0, 50.0]

    def test_switch_backs(self, activity):
        backs = switch_backs(activity, TESTMAB)
        # p7 only: p4's Origo dose is on the same day as its Bestia dose, not after it.
        assert backs["patient_id"].tolist() == ["p7"]
        row = backs.iloc[0]
        assert (row["best_value_product"], row["originator_product"], row["cohort"]) == (
            "Bestia",
            "Origo",
            "existing",
        )
        assert row["switch_back_date"] == pd.Timestamp("2020-04-26")
        counts = count_switch_backs(activity, TESTMAB, trusts=["RR7", "RTD"])
        assert counts["patients_switched_back"].tolist() == [1, 0]

    def test_brand_quantity_share(self, activity):
        q = brand_quantities(activity, "testmab")
        share = brand_quantity_share(q, TESTMAB).set_index(["trust_code", "months_since_launch"])
        # RTD March: p1 Origo 1 + p2 Origo 1 + p3 Bestia 2 -> 2 of 4 = 50%.
        assert share.loc[("RTD", 0), ["total_quantity", "best_value_quantity"]].tolist() == [
            4.0,
            2.0,
        ]
        assert share.loc[("RTD", 0), "pct_quantity_best_value"] == 50.0
        # RTD April: p1 Bestia 1, p2 Origo 1, p3 Bestia 2, p4 Origo 1 + Bestia 1 -> 4 of 6.
        assert share.loc[("RTD", 1), "best_value_quantity"] == 4.0
        assert -1 not in share.index.get_level_values(1)  # pre-launch months left out

    def test_vmp_proxy_share(self):
        usage = pd.DataFrame(
            {
                "year_month": pd.to_datetime(["2020-01-01"] * 3),
                "trust_code": ["RTD"] * 3,
                "vmp_code": ["111111", "222222", "999999"],
                "quantity": [8.0, 2.0, 50.0],  # 10 doses of 0.8 ml, 5 doses of 0.4 ml, unrelated
            }
        )
        out = vmp_proxy_share(usage, TESTMAB).iloc[0]
        assert (out["proxy_best_value_doses"], out["proxy_total_doses"]) == (10.0, 15.0)
        assert out["pct_proxy_best_value"] == pytest.approx(100 * 10 / 15)

    def test_no_activity_and_bad_input(self, activity):
        none = activity[activity["molecule"] == "othermab"]
        assert new_patient_uptake(none, TESTMAB).empty
        assert existing_patient_uptake(none, TESTMAB).empty
        assert switch_backs(none, TESTMAB).empty
        with pytest.raises(MissingColumnsError, match="hcd_activity is missing column"):
            new_patient_uptake(activity.drop(columns="product"), TESTMAB)
        no_proxy = load_switch_definitions()["infliximab"]
        with pytest.raises(ValueError, match="has no vmp_proxy"):
            vmp_proxy_share(
                pd.DataFrame(columns=["year_month", "trust_code", "vmp_code", "quantity"]), no_proxy
            )


# --------------------------------------------------------------------------- ground truth


def _latest_dose(first, last, interval, when):
    """Latest scheduled dose on or before ``when`` (None if treatment had not started)."""
    if first > when:
        return None
    steps = (min(when, last) - first).days // interval
    return first + pd.Timedelta(days=steps * interval)


def true_uptake(truth, definition, trust, last_month):
    """New and existing uptake per month computed from the generator's patient records."""
    launch_month = pd.Timestamp(definition.launch_month)
    window = definition.dosing.active_window_days
    patients = truth[(truth["trust_code"] == trust) & (truth["molecule"] == definition.molecule)]
    new_n, new_bv, ex_n, ex_bv = [], [], [], []
    for m in range(last_month + 1):
        start = launch_month + pd.DateOffset(months=m)
        end = start + pd.offsets.MonthEnd(0)
        n = bv = e = ebv = 0
        for p in patients.itertuples():
            if p.cohort == "new":
                if start <= p.first_dose_date <= end:
                    n += 1
                    bv += p.started_on == "best_value"
                continue
            latest = _latest_dose(p.first_dose_date, p.last_dose_date, p.interval_days, end)
            if latest is None or (end - latest).days >= window:
                continue
            e += 1
            switched = pd.notna(p.switch_date) and p.switch_date <= latest
            back = pd.notna(p.switch_back_date) and p.switch_back_date <= latest
            ebv += switched and not back
        new_n.append(n)
        new_bv.append(bv)
        ex_n.append(e)
        ex_bv.append(ebv)
    return new_n, new_bv, ex_n, ex_bv


@pytest.fixture(scope="module")
def sample():
    defs = load_switch_definitions()
    chosen = [defs["adalimumab"], defs["infliximab"], defs["ustekinumab"]]
    trusts = ["RTD", "RR7", "RTF", "RTR"]
    volumes = pd.DataFrame(
        [(t, d.molecule, n) for t, n in zip(trusts, (60, 45, 30, 25), strict=True) for d in chosen],
        columns=["trust_code", "molecule", "patients"],
    )
    behaviours = {"RTD": "fast", "RR7": "slow", "RTF": "stalled", "RTR": "switch_backs"}
    return chosen, generate_hcd_activity(
        chosen, trusts, seed=7, volumes=volumes, behaviours=behaviours
    )


def test_recovers_true_new_and_existing_uptake_exactly(sample):
    definitions, synth = sample
    checked = 0
    for d in definitions:
        new = new_patient_uptake(synth.activity, d)
        ex = existing_patient_uptake(synth.activity, d)
        last = int(new["months_since_launch"].max())
        for trust in synth.settings["trusts"]:
            new_n, new_bv, ex_n, ex_bv = true_uptake(synth.patients, d, trust, last)
            got_new = new[new["trust_code"] == trust]
            got_ex = ex[ex["trust_code"] == trust]
            assert got_new["new_patients"].tolist() == new_n, (d.molecule, trust)
            assert got_new["new_best_value"].tolist() == new_bv, (d.molecule, trust)
            assert got_ex["existing_patients"].tolist() == ex_n, (d.molecule, trust)
            assert got_ex["existing_best_value"].tolist() == ex_bv, (d.molecule, trust)
            checked += sum(ex_n)
    assert checked > 1000  # the comparison covered real volumes, not empty frames


def test_recovers_true_target_status_exactly(sample):
    definitions, synth = sample
    statuses = set()
    for d in definitions:
        p = d.target_profile
        new = new_patient_uptake(synth.activity, d)
        ex = existing_patient_uptake(synth.activity, d)
        status = target_status(new, ex, d).set_index(["trust_code", "group"])
        last = int(new["months_since_launch"].max())
        for trust in synth.settings["trusts"]:
            new_n, new_bv, ex_n, ex_bv = true_uptake(synth.patients, d, trust, last)
            if last >= p.new_months:
                den, num = sum(new_n[p.new_months :]), sum(new_bv[p.new_months :])
                gap = max(0, math.ceil(p.new_share * den - 1e-9) - num)
                expected = "no patients" if den == 0 else ("met" if gap == 0 else "not met")
                got = status.loc[(trust, "new")]
                assert (got["status"], got["gap_patients"]) == (expected, gap)
                statuses.add(expected)
            got = status.loc[(trust, "existing")]
            if last < p.existing_months:
                assert got["status"] == "not yet due"
                statuses.add("not yet due")
            else:
                den, num = ex_n[p.existing_months], ex_bv[p.existing_months]
                gap = max(0, math.ceil(p.existing_share * den - 1e-9) - num)
                assert (got["status"], got["gap_patients"]) == (
                    "met" if gap == 0 else "not met",
                    gap,
                )
                statuses.add("met" if gap == 0 else "not met")
    assert {"met", "not met", "not yet due"} <= statuses


def test_recovers_true_switch_backs_and_switch_times(sample):
    definitions, synth = sample
    truth = synth.patients
    for d in definitions:
        rows = truth[truth["molecule"] == d.molecule]
        expected = sorted(rows.loc[rows["switch_back_date"].notna(), "patient_id"])
        assert sorted(switch_backs(synth.activity, d)["patient_id"]) == expected
        tts = time_to_switch(synth.activity, d).set_index("patient_id")
        switched = rows[(rows["cohort"] == "existing") & rows["switch_date"].notna()]
        for p in switched.itertuples():
            if p.patient_id in tts.index:
                assert (
                    tts.loc[p.patient_id, "months_to_switch"]
                    == months_since(pd.Series([p.switch_date]), pd.Timestamp(d.launch_month))[0]
                )
    assert truth["switch_back_date"].notna().sum() > 0


def test_trust_behaviours_differ_as_documented(sample):
    definitions, synth = sample
    adalimumab = definitions[0]
    ex = existing_patient_uptake(synth.activity, adalimumab)
    at_10 = ex[ex["months_since_launch"] == 10].set_index("trust_code")["pct_existing_best_value"]
    # fast switches ~95% within 6 months; stalled stops at ~45%.
    assert at_10["RTD"] > 85 and at_10["RTF"] < 60
    assert np.isfinite(at_10).all()
