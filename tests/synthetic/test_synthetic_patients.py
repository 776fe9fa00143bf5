"""The synthetic patient generator: deterministic, realistic in shape, and the audit recovers
exactly the ground truth it planted."""

from __future__ import annotations

import pandas as pd
import pytest

from medlib.errors import InputError
from medlib.polypharmacy import comparators, pincer
from medlib.reference import pincer_definitions
from medlib.reference.trusts import known_trust_codes
from medlib.synthetic.patients import (
    SYNTHETIC_LABEL,
    SYNTHETIC_TRUSTS,
    generate_patients,
    load_formulary,
)


@pytest.fixture(scope="module")
def default():
    return generate_patients()


def _flag_columns(truth: pd.DataFrame) -> list[str]:
    return [c for c in truth.columns if c.endswith(("_den", "_num"))]


def test_default_is_sized(default):
    assert len(default.tables.patients) == sum(SYNTHETIC_TRUSTS.values())
    assert default.census_date == pd.Timestamp("2024-03-31")
    assert "SYNTHETIC" in default.label == SYNTHETIC_LABEL


def test_same_seed_same_data_and_other_seed_differs():
    a = generate_patients(seed=11, scale=0.1)
    b = generate_patients(seed=11, scale=0.1)
    c = generate_patients(seed=12, scale=0.1)
    for name in ("patients", "medications", "conditions", "tests"):
        pd.testing.assert_frame_equal(getattr(a.tables, name), getattr(b.tables, name))
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not a.tables.patients["patient_id"].equals(c.tables.patients["patient_id"])


def test_audit_flags_exactly_the_planted_patients(default):
    flags = pincer.pincer_flags(default.tables, default.census_date).set_index("patient_id")
    truth = default.truth.set_index("patient_id")
    flags = flags.loc[truth.index]
    for column in _flag_columns(default.truth):
        wrong = flags.index[flags[column] != truth[column]]
        assert len(wrong) == 0, f"{column}: {len(wrong)} patients differ, e.g. {list(wrong[:3])}"
    # Every indicator has planted numerator patients, so the check above is not vacuous.
    for key in pincer_definitions.ALL_KEYS:
        assert truth[f"{key}_num"].sum() > 0, key
        assert (truth[f"{key}_den"] & ~truth[f"{key}_num"]).sum() > 0, key


def test_audit_recovers_medicine_counts_and_acb(default):
    flags = comparators.comparator_flags(default.tables, default.census_date)
    got = flags.set_index("patient_id").loc[default.truth["patient_id"]]
    assert got["n_medicines"].tolist() == default.truth["n_medicines"].tolist()
    assert got["acb_total"].tolist() == default.truth["acb_total"].tolist()
    assert default.truth["acb_total"].max() >= 6


@pytest.mark.parametrize(("seed", "census"), [(3, "2023-02-28"), (4, "2024-05-31")])
def test_truth_holds_for_other_census_dates(seed, census):
    audit = generate_patients(seed=seed, census_date=census, scale=0.2)
    flags = pincer.pincer_flags(audit.tables, census).set_index("patient_id")
    truth = audit.truth.set_index("patient_id")
    flags = flags.loc[truth.index]
    assert (flags[_flag_columns(audit.truth)] == truth[_flag_columns(audit.truth)]).all().all()
    comp = comparators.comparator_flags(audit.tables, census).set_index("patient_id")
    assert (comp.loc[truth.index, "n_medicines"] == truth["n_medicines"]).all()


def test_population_shape(default):
    pats = default.tables.patients
    assert pats["age"].between(18, 99).all()
    assert 0.48 < (pats["sex"] == "F").mean() < 0.58
    assert set(pats["trust_code"]) == set(SYNTHETIC_TRUSTS)
    assert set(SYNTHETIC_TRUSTS) <= known_trust_codes()
    counts = pats.groupby("trust_code").size()
    assert counts.to_dict() == SYNTHETIC_TRUSTS
    # Medicines rise with age.
    flags = comparators.comparator_flags(default.tables, default.census_date)
    means = flags.groupby("age_band", observed=True)["n_medicines"].mean()
    assert list(means.index) == list(comparators.AGE_BANDS)
    assert means.is_monotonic_increasing and means.iloc[-1] > 2 * means.iloc[0]


def test_codes_are_real_and_text(default):
    lists = pincer_definitions.load_codelists()
    clinical = set().union(
        *(v for k, v in lists.items() if k not in pincer_definitions.DRUG_CODELISTS)
    )
    assert default.tables.conditions["snomed_code"].isin(clinical).all()
    assert default.tables.tests["snomed_code"].isin(clinical).all()
    formulary = load_formulary()
    assert default.tables.medications["dmd_code"].isin(formulary["dmd_code"]).all()
    assert default.tables.patients["patient_id"].str.fullmatch(r"SYN[0-9A-F]{10}").all()
    assert default.tables.patients["patient_id"].is_unique


def test_formulary_is_consistent_with_reference_tables():
    formulary = load_formulary()
    assert formulary["bnf_code"].str[:9].is_unique  # one chemical substance per molecule
    meds = formulary.assign(
        patient_id=formulary["molecule"], start_date=pd.Timestamp("2020-01-01"), end_date=pd.NaT
    )
    # The ACB score the generator plants per molecule is what the scale gives its codes.
    from medlib.polypharmacy.acb import match_medications

    matched = match_medications(meds).set_index("patient_id")["score"]
    expected = formulary.set_index("molecule")["acb_score"]
    assert matched.reindex(expected.index).fillna(0).astype(int).equals(expected)
    chapters = formulary["bnf_code"].str[:2].astype(int)
    assert (chapters.isin(comparators.COUNTED_CHAPTERS) == formulary["counts_as_medicine"]).all()


def test_bad_arguments():
    with pytest.raises(InputError, match="seed"):
        generate_patients(seed=-1)
    with pytest.raises(InputError, match="scale"):
        generate_patients(scale=0)
    with pytest.raises(InputError, match="census_date"):
        generate_patients(census_date="March 2024")
