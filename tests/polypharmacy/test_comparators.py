"""NHSBSA polypharmacy comparators, the anticholinergic scale and the look-back windows, on
hand-built patients with hand-worked expected values. Census date 2024-03-31."""

from __future__ import annotations

import pandas as pd
import pytest
from poly_fixtures import CENSUS, IBUPROFEN, NAPROXEN, WARFARIN, build, med, patient

from medlib.errors import InputError
from medlib.polypharmacy import acb, comparators
from medlib.reference import lookback

# (dm+d id, name, BNF code) of real medicines; the chemical substance is the first 9 BNF chars.
AMITRIPTYLINE = ("321745007", "Amitriptyline 10mg tablets", "0403010B0AAAGAG")  # ACB 3, falls
OXYBUTYNIN = ("326561005", "Oxybutynin 5mg tablets", "0704020J0AAACAC")  # ACB 3, falls
CHLORPHENAMINE = ("12018311000001104", "Chlorphenamine 4mg tablets", "0304010G0AAACAC")  # ACB 3
CETIRIZINE = ("320818006", "Cetirizine 10mg tablets", "0304010I0AAAAAA")  # ACB 1, not falls
DIGOXIN = ("317895005", "Digoxin 125microgram tablets", "0201010F0AAAEAE")  # ACB 1
CARBAMAZEPINE = ("322863001", "Carbamazepine 200mg tablets", "0408010C0AAACAC")  # ACB 2, falls
ATORVASTATIN = ("14018211000001101", "Atorvastatin 20mg tablets", "0212000B0AAABAB")
AMLODIPINE = ("429828006", "Amlodipine 5mg tablets", "0206020A0AAAAAA")
METFORMIN = ("325278007", "Metformin 500mg tablets", "0601022B0AAABAB")  # DAMN
RAMIPRIL = ("318902004", "Ramipril 5mg capsules", "0205051R0AAACAC")  # DAMN
FUROSEMIDE = ("317972000", "Furosemide 40mg tablets", "0202020L0AABDBD")  # DAMN, ACB 1, falls
ASPIRIN = ("319773006", "Aspirin 75mg dispersible tablets", "0209000A0AAABAB")
SERTRALINE = ("8721711000001105", "Sertraline 50mg tablets", "0403030Q0AAAAAA")  # falls
ZOPICLONE = ("321175006", "Zopiclone 7.5mg tablets", "0401010Z0AAAAAA")  # falls
AMOXICILLIN = ("323732002", "Amoxicillin 500mg capsules", "0501013B0AAABAB")  # chapter 5
HYDROCORTISONE_CREAM = ("331661006", "Hydrocortisone 1% cream", "1304000V0AAADAD")  # chapter 13

ON = "2023-01-01"


def comparator_row(*meds, census=CENSUS, **kwargs) -> pd.Series:
    flags = comparators.comparator_flags(build(patient(meds=list(meds), **kwargs)), census)
    return flags.set_index("patient_id").loc["p1"]


# --------------------------------------------------------------------------- look-back windows


def test_lookback_windows_include_both_edges():
    window = lookback.lookback(CENSUS, 3)
    assert (window.start, window.end) == (pd.Timestamp("2023-12-31"), pd.Timestamp("2024-03-31"))
    dates = pd.Series(pd.to_datetime(["2023-12-30", "2023-12-31", "2024-03-31", "2024-04-01"]))
    assert lookback.event_in(dates, window).tolist() == [False, True, True, False]


def test_months_before_clips_to_month_end():
    # 31 May minus 3 months has no 31st of February: the last day of February (leap year) it is.
    assert lookback.months_before("2024-05-31", 3) == pd.Timestamp("2024-02-29")
    assert lookback.months_before("2023-05-31", 3) == pd.Timestamp("2023-02-28")
    assert lookback.lookback(CENSUS, 6, 3).start == pd.Timestamp("2023-09-30")


def test_episode_overlap_edges():
    window = lookback.lookback(CENSUS, 3)
    start = pd.Series(
        pd.to_datetime(["2023-01-01", "2023-01-01", "2024-03-31", "2024-04-01", "2023-01-01"])
    )
    end = pd.Series(pd.to_datetime(["2023-12-31", "2023-12-30", None, None, None]))
    # ends on first day | ends day before | starts on last day | starts after | ongoing
    assert lookback.episode_overlaps(start, end, window).tolist() == [
        True,
        False,
        True,
        False,
        True,
    ]


def test_lookback_rejects_bad_input():
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        lookback.lookback("31/03/2024", 3)
    with pytest.raises(InputError, match="start further back"):
        lookback.lookback(CENSUS, 3, 6)


# --------------------------------------------------------------------------- unique medicines


def test_unique_medicines_counts_distinct_substances_in_counted_chapters():
    row = comparator_row(
        med(AMITRIPTYLINE, ON),
        med(AMITRIPTYLINE, "2024-01-01"),  # a second episode of the same substance: still 1
        med(ATORVASTATIN, ON),
        med(AMLODIPINE, ON, CENSUS),  # ends on the census date: current
        med(METFORMIN, CENSUS),  # starts on the census date: current
        med(DIGOXIN, ON, "2024-03-30"),  # ended the day before: not current
        med(RAMIPRIL, "2024-04-01"),  # starts the day after: not current
        med(AMOXICILLIN, ON),  # chapter 5: not counted
        med(HYDROCORTISONE_CREAM, ON),  # chapter 13: not counted
        med(("329653008", "Ibuprofen 400mg tablets", None), ON),  # no BNF code: not counted
    )
    # amitriptyline + atorvastatin + amlodipine + metformin = 4
    assert row["n_medicines"] == 4


def _patients_with_counts(counts: list[int]) -> list[dict]:
    # Real chemical substances from distinct BNF codes in chapters 1-4 and 6-10.
    substances = [
        AMITRIPTYLINE,
        OXYBUTYNIN,
        CHLORPHENAMINE,
        CETIRIZINE,
        DIGOXIN,
        CARBAMAZEPINE,
        ATORVASTATIN,
        AMLODIPINE,
        METFORMIN,
        RAMIPRIL,
        FUROSEMIDE,
        ASPIRIN,
        SERTRALINE,
        ZOPICLONE,
        WARFARIN,
        IBUPROFEN,
        ("317291008", "Omeprazole", "0103050P0AAAAAA"),
        ("325242002", "Gliclazide", "0601021M0AAAAAA"),
        ("330061001", "Allopurinol", "1001040C0AAAAAA"),
        ("325426006", "Prednisolone", "0603020T0AAACAC"),
    ]
    return [patient(f"n{n}", meds=[med(s, ON) for s in substances[:n]]) for n in counts]


def test_medicine_count_thresholds_and_mean():
    tables = build(*_patients_with_counts([7, 8, 9, 10, 14, 15, 19, 20]))
    flags = comparators.comparator_flags(tables, CENSUS)
    assert flags.set_index("patient_id")["n_medicines"].tolist() == [7, 8, 9, 10, 14, 15, 19, 20]
    summary = comparators.comparator_summary(flags, by=[]).set_index("comparator")
    # 8+: all but the 7 (7 of 8); 10+: 10, 14, 15, 19, 20 (5); 15+: 15, 19, 20 (3); 20+: 1.
    assert summary.loc["medicines_8plus", ["numerator", "denominator"]].tolist() == [7, 8]
    assert summary.loc["medicines_10plus", "numerator"] == 5
    assert summary.loc["medicines_15plus", "numerator"] == 3
    assert summary.loc["medicines_20plus", "numerator"] == 1
    assert summary.loc["medicines_10plus", "percent"] == pytest.approx(62.5)  # 5 / 8
    # mean = (7+8+9+10+14+15+19+20) / 8 = 102 / 8 = 12.75
    assert summary.loc["mean_medicines", "mean"] == pytest.approx(12.75)
    assert summary.loc["mean_medicines", ["numerator", "denominator"]].tolist() == [102, 8]


# --------------------------------------------------------------------------- anticholinergic burden


def test_acb_total_and_moderate_high():
    row = comparator_row(
        med(AMITRIPTYLINE, ON),  # 3, matched by dm+d
        med(AMITRIPTYLINE, ON),  # same molecule again: counted once
        # Codes 999999999 and 888888888 are deliberately not dm+d ids, to force the BNF and name routes.
        med(("999999999", "Oxybutynin 5mg tablets", "0704020J0AAACAC"), ON),  # 3, matched by BNF
        med(("888888888", "Chlorphenamine oral solution", None), ON),  # 3, matched by name
        med(CETIRIZINE, ON),  # 1
        med(HYDROCORTISONE_CREAM, ON),  # topical: BNF rules out systemic hydrocortisone
        med(ATORVASTATIN, ON),  # not on the scale
    )
    # 3 + 3 + 3 + 1 = 10 from 4 molecules, 3 of them scoring 2 or more.
    assert row[["acb_total", "acb_medicines", "acb_moderate_high"]].tolist() == [10, 4, 3]


def test_acb_comparators():
    tables = build(
        patient("six", meds=[med(AMITRIPTYLINE, ON), med(OXYBUTYNIN, ON)]),  # 3 + 3 = 6
        patient("five", meds=[med(CARBAMAZEPINE, ON), med(AMITRIPTYLINE, ON)]),  # 2 + 3 = 5
        patient("ones", meds=[med(CETIRIZINE, ON), med(DIGOXIN, ON)]),  # 1 + 1 = 2
        patient("none", meds=[med(ATORVASTATIN, ON)]),
    )
    summary = comparators.comparator_summary(
        comparators.comparator_flags(tables, CENSUS), by=[]
    ).set_index("comparator")
    # Score 6+: "six" only, of all 4 patients.
    assert summary.loc["acb_6plus", ["numerator", "denominator"]].tolist() == [1, 4]
    # 2+ moderate/high (score 2-3): "six" and "five", of the 3 patients on any ACB medicine.
    assert summary.loc["acb_2plus_moderate_high", ["numerator", "denominator"]].tolist() == [2, 3]


def test_scale_can_be_swapped():
    other = pd.DataFrame(
        {
            "molecule": ["Atorvastatin"],
            "score": [3],
            "bnf_chemical_prefixes": ["0212000B0"],
            "dmd_vmp_codes": [""],
        }
    )
    meds = build(patient(meds=[med(ATORVASTATIN, ON), med(AMITRIPTYLINE, ON)])).medications
    burden = acb.patient_burden(meds, other)
    # On this made-up scale only atorvastatin scores (3); amitriptyline is not on it.
    assert burden[["acb_total", "acb_medicines"]].values.tolist() == [[3, 1]]


def test_scale_file_and_path(tmp_path):
    scale = acb.load_scale()
    assert scale["molecule"].is_unique and scale["score"].between(1, 3).all()
    assert scale.set_index("molecule").loc["Amitriptyline", "score"] == 3
    assert "0403010B0" in scale.set_index("molecule").loc["Amitriptyline", "bnf_chemical_prefixes"]
    path = tmp_path / "ads.csv"
    path.write_text("molecule,score\nAmitriptyline,2\n")
    assert acb.load_scale(path)["score"].tolist() == [2]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pd.DataFrame({"molecule": ["A"]}), "missing column"),
        (pd.DataFrame({"molecule": ["A", "a"], "score": [1, 2]}), "more than once"),
        (pd.DataFrame({"molecule": ["A"], "score": ["high"]}), "positive whole numbers"),
        (
            pd.DataFrame(
                {"molecule": ["A", "B"], "score": [1, 2], "dmd_vmp_codes": ["123456", "123456"]}
            ),
            "given to both",
        ),
    ],
)
def test_bad_scales_are_clear_errors(table, message):
    with pytest.raises(acb.ScaleError, match=message):
        acb.load_scale(table)


# --------------------------------------------------------------------------- DAMN, ACAP, falls


def test_damn_and_nsaid_combinations():
    tables = build(
        patient("two", meds=[med(FUROSEMIDE, ON), med(RAMIPRIL, ON)]),  # 2 DAMN, no NSAID
        patient("one", meds=[med(METFORMIN, ON)]),  # 1 DAMN
        patient("nsaid_plus", meds=[med(IBUPROFEN, ON), med(METFORMIN, ON)]),  # NSAID + other
        patient("two_nsaids", meds=[med(IBUPROFEN, ON), med(NAPROXEN, ON)]),  # 2 DAMN, no other
        patient("none", meds=[med(ATORVASTATIN, ON)]),
    )
    flags = comparators.comparator_flags(tables, CENSUS)
    assert flags.set_index("patient_id")["damn_medicines"].tolist() == [2, 1, 2, 2, 0]
    summary = comparators.comparator_summary(flags, by=[]).set_index("comparator")
    # DAMN 2+: two, nsaid_plus, two_nsaids (3) of the 4 on any DAMN medicine.
    assert summary.loc["damn_2plus", ["numerator", "denominator"]].tolist() == [3, 4]
    # NSAID + another DAMN group: nsaid_plus only, of the 2 on an NSAID.
    assert summary.loc["nsaid_plus_damn", ["numerator", "denominator"]].tolist() == [1, 2]


def test_anticoagulant_antiplatelet_and_falls():
    tables = build(
        patient("both", meds=[med(WARFARIN, ON), med(ASPIRIN, ON)]),
        patient("anticoag", meds=[med(WARFARIN, ON)]),
        patient("falls3", meds=[med(SERTRALINE, ON), med(ZOPICLONE, ON), med(FUROSEMIDE, ON)]),
        patient("falls2", meds=[med(SERTRALINE, ON), med(CETIRIZINE, ON), med(CHLORPHENAMINE, ON)]),
    )
    flags = comparators.comparator_flags(tables, CENSUS)
    # falls2: sertraline and chlorphenamine (sedating) are falls-risk; cetirizine is not.
    assert flags.set_index("patient_id")["falls_medicines"].tolist() == [0, 0, 3, 2]
    summary = comparators.comparator_summary(flags, by=[]).set_index("comparator")
    # Anticoagulant + antiplatelet: "both", of the 2 on either.
    assert summary.loc["anticoagulant_antiplatelet", ["numerator", "denominator"]].tolist() == [
        1,
        2,
    ]
    assert summary.loc["falls_3plus", ["numerator", "denominator"]].tolist() == [1, 4]


# --------------------------------------------------------------------------- groups and months


def test_age_bands_and_grouped_summary():
    assert comparators.age_band(pd.Series([18, 64, 65, 74, 75, 84, 85, 120])).tolist() == [
        "under 65",
        "under 65",
        "65-74",
        "65-74",
        "75-84",
        "75-84",
        "85+",
        "85+",
    ]
    tables = build(
        *(_patients_with_counts([10, 3])),
        patient("old", age=90, sex="M", meds=[med(s, ON) for s in (AMITRIPTYLINE, OXYBUTYNIN)]),
    )
    flags = comparators.comparator_flags(tables, CENSUS)
    by = comparators.comparator_summary(flags, by=["age_band", "sex"])
    ten = by[(by["comparator"] == "medicines_10plus")].set_index(["age_band", "sex"])
    # Two 70-year-old women (10 and 3 medicines): 1 of 2; one 90-year-old man: 0 of 1.
    assert ten.loc[("65-74", "F"), ["numerator", "denominator"]].tolist() == [1, 2]
    assert ten.loc[("85+", "M"), ["numerator", "denominator"]].tolist() == [0, 1]
    with pytest.raises(InputError, match="cannot group"):
        comparators.comparator_summary(flags, by=["ward"])


def test_monthly_comparators_use_month_overlap():
    tables = build(patient(meds=[med(AMITRIPTYLINE, "2024-02-15", "2024-03-02")]))
    monthly = comparators.monthly_comparators(tables, "2024-01", "2024-04", by=[])
    means = monthly[monthly["comparator"] == "mean_medicines"].set_index("month")["mean"]
    # The episode overlaps February and March only.
    assert means.tolist() == [0.0, 1.0, 1.0, 0.0]
    with pytest.raises(InputError, match="after last_month"):
        comparators.monthly_comparators(tables, "2024-05", "2024-04")


def test_rows_without_bnf_are_reported():
    flags = comparators.comparator_flags(
        build(patient(meds=[med(("329653008", "Ibuprofen", None), ON), med(ATORVASTATIN, ON)])),
        CENSUS,
    )
    assert flags.attrs["rows_without_bnf"] == 1


def test_patients_without_records_count_zero():
    flags = comparators.comparator_flags(build(patient()), CENSUS).set_index("patient_id")
    assert flags.loc[
        "p1", ["n_medicines", "acb_total", "damn_medicines", "falls_medicines"]
    ].tolist() == [0, 0, 0, 0]
