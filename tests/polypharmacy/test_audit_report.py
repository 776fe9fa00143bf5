"""Lead-facing polypharmacy outputs: every count goes through disclosure control, nothing
carries a patient id, and the analyst-only review list cannot be published."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from poly_fixtures import CENSUS, IBUPROFEN, build, med, patient  # noqa: E402

from medlib.context import resolve_context  # noqa: E402
from medlib.errors import InputError  # noqa: E402
from medlib.polypharmacy import pincer  # noqa: E402
from medlib.polypharmacy import report as poly_report
from medlib.polypharmacy.review_list import ANALYST_ONLY, analyst_review_list, assert_lead_facing  # noqa: E402
from medlib.present import disclosure  # noqa: E402
from medlib.reference import pincer_definitions

# Ten distinct counted substances (BNF chapters 1-4, 6-10), as (dm+d, name, BNF).
TEN = [
    ("321745007", "Amitriptyline", "0403010B0AAAGAG"),
    ("14018211000001101", "Atorvastatin", "0212000B0AAABAB"),
    ("429828006", "Amlodipine", "0206020A0AAAAAA"),
    ("325278007", "Metformin", "0601022B0AAABAB"),
    ("318590006", "Bisoprolol", "0204000H0AAAJAJ"),
    ("322236009", "Paracetamol", "0407010H0AAAAAA"),
    ("8584011000001100", "Levothyroxine", "0602010V0AABXBX"),
    ("317548002", "Senna", "0106020M0AAACAC"),
    ("330061001", "Allopurinol", "1001040C0AAAAAA"),
    ("327549006", "Folic acid", "0901020G0AAAGAG"),
]
COUNT_COLUMNS = ("patients_flagged", "patients_in_denominator", "patients")


@pytest.fixture(scope="module")
def small_audit():
    # RTD: 9 patients aged 70, 2 on ten medicines and 7 on none.
    # RTF: 20 patients aged 70, 10 on ten medicines and 10 on none.
    many = [med(d, "2023-01-01") for d in TEN]
    people = [patient(f"rtd{i}", meds=many if i < 2 else []) for i in range(9)]
    people += [patient(f"rtf{i}", trust="RTF", meds=many if i < 10 else []) for i in range(20)]
    return poly_report.audit_from_tables(build(*people), "RTD", CENSUS)


@pytest.fixture(scope="module")
def synthetic_audit():
    return poly_report.load_audit(resolve_context("RTD", "2024-03"), CENSUS, 18, 120, 2025)


def test_headline_table_hand_worked(small_audit):
    table = poly_report.headline_table(small_audit).set_index("measure_key")
    ten = table.loc["medicines_10plus"]
    # 2 of 9 at RTD: 2 is suppressed, 9 rounds to 10, the percentage is suppressed.
    assert [ten["patients_flagged"], ten["patients_in_denominator"], ten["value"]] == ["*", 10, "*"]
    # All organisations: 2 + 10 = 12 of 9 + 20 = 29, published as 10 of 30 -> 33.3% (the raw
    # 12 / 29 = 41.4% would not be the published counts' share).
    assert ten["all_organisations_value"] == 33.3
    mean = table.loc["mean_medicines"]
    # RTD mean = 2 x 10 / 9 = 2.2; everyone = (20 + 100) / 29 = 4.1.
    assert [mean["value"], mean["all_organisations_value"], mean["unit"]] == [
        2.2,
        4.1,
        "medicines per patient",
    ]
    assert table["data_source"].eq("patient extract").all()


def test_medicines_by_age_hand_worked(small_audit):
    table = poly_report.medicines_by_age(small_audit).set_index("age_band")
    band = table.loc["65-74"]
    # 9 patients (shown 10); 7 with 0-4 medicines and 2 with 10-14: both counts are 1-7.
    assert [
        band["patients"],
        band["mean_medicines"],
        band["percent_0-4"],
        band["percent_10-14"],
        band["percent_5-7"],
    ] == [10, 2.2, "*", "*", 0.0]
    empty = table.loc["85+"]
    assert empty["patients"] == 0
    assert pd.isna(empty["mean_medicines"]) and pd.isna(empty["percent_0-4"])  # no patients


def test_means_over_one_to_seven_patients_are_suppressed():
    assert poly_report.disclosed_mean(30, 7) == "*"
    assert poly_report.disclosed_mean(30, 8) == 3.8
    assert poly_report.disclosed_mean(0, 0) is None


def _is_disclosed(value) -> bool:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value in ("*", ""):
        return True
    return float(value) % 5 == 0


def _lead_tables(audit) -> dict[str, pd.DataFrame]:
    return {
        "poly_headline": poly_report.headline_table(audit),
        "poly_medicines_by_age": poly_report.medicines_by_age(audit),
        "poly_acb": poly_report.acb_table(audit),
        "poly_combinations": poly_report.combinations_table(audit),
        "poly_pincer": poly_report.pincer_table(audit),
        "poly_pincer_funnel": poly_report.pincer_funnel_table(audit, "gi_bleed"),
    }


def test_every_lead_facing_count_is_disclosed(synthetic_audit):
    for name, table in _lead_tables(synthetic_audit).items():
        assert_lead_facing(name, table)
        counts = [c for c in COUNT_COLUMNS if c in table.columns]
        assert counts, name
        for column in counts:
            bad = [v for v in table[column] if not _is_disclosed(v)]
            assert not bad, f"{name}.{column} has undisclosed counts {bad[:5]}"
        if {"patients_flagged", "percent"} <= set(table.columns):
            small = table["patients_flagged"].eq("*") | table["patients_in_denominator"].eq("*")
            assert table.loc[small, "percent"].eq("*").all(), name
        assert table["data_source"].str.contains("synthetic").all(), name


def test_pincer_table_uses_the_disclosure_rule_on_raw_counts(synthetic_audit):
    flags = synthetic_audit.pincer_flags
    raw = pincer.pincer_summary(flags[flags["trust_code"] == "RTD"], by=[]).set_index("indicator")
    table = poly_report.pincer_table(synthetic_audit)
    for _, row in table.iterrows():
        key = {v: k for k in pincer_definitions.ALL_KEYS for v in [poly_report.indicator_label(k)]}[
            row["indicator"]
        ]
        assert row["patients_flagged"] == disclosure.disclose_count(raw.loc[key, "numerator"])
        assert row["percent"] == disclosure.disclose_percentage(
            raw.loc[key, "numerator"], raw.loc[key, "denominator"]
        )
        if row["percent"] == "*":
            assert row["funnel_position"] == "not shown"


def test_prose_has_no_small_counts_or_ids(synthetic_audit):
    text = poly_report.headline_sentences(synthetic_audit) + poly_report.data_statement(
        synthetic_audit
    )
    assert not re.search(r"\b[1-7] patients", text)
    assert not re.search(r"SYN[0-9A-F]{10}", text)
    assert "SYNTHETIC" in text


def test_funnel_table_marks_this_report(synthetic_audit):
    table = poly_report.pincer_funnel_table(synthetic_audit, "gi_bleed")
    assert table.loc[table["this_report"], "organisation"].tolist() == ["RTD"]
    assert len(table) == len(synthetic_audit.organisations)
    assert (table["lower_99_8"] <= table["lower_95"]).all()


def test_chart_labels_come_from_disclosed_values(small_audit):
    table = poly_report.medicines_by_age(small_audit)
    fig = poly_report.medicines_by_age_chart(table, small_audit)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "*" in texts  # the suppressed 65-74 shares are marked, not drawn
    assert "Unique medicines per patient by age band, RTD" in fig.axes[0].get_title(loc="left")
    plt.close(fig)


def test_review_list_is_analyst_only_and_cannot_be_published(tmp_path):
    tables = build(
        patient("keep", age=70, meds=[med(IBUPROFEN, "2023-06-01")]),
        patient("other", age=70, trust="RTF", meds=[med(IBUPROFEN, "2023-06-01")]),
    )
    review = analyst_review_list(tables, CENSUS, organisation="RTD")
    assert review.attrs["audience"] == ANALYST_ONLY
    assert review[["patient_id", "flag"]].values.tolist() == [["keep", "PINCER A"]]
    assert review["reason"].iloc[0] == (
        "aged 70; oral NSAID and no PPI/ulcer-healing drug in 2023-12-31 to 2024-03-31"
    )
    with pytest.raises(InputError, match="ANALYST ONLY"):
        poly_report.publish_lead_tables({"review": review}, str(tmp_path))
    with pytest.raises(InputError, match="patient identifier"):
        poly_report.publish_lead_tables({"ids": pd.DataFrame({"patient_id": ["x"]})}, str(tmp_path))
    assert not list(tmp_path.iterdir())


def test_review_list_polypharmacy_reasons():
    tables = build(patient(meds=[med(d, "2023-01-01") for d in TEN]))
    review = analyst_review_list(tables, CENSUS)
    row = review[review["flag"] == "10+ medicines"].iloc[0]
    assert row["reason"] == "10 unique medicines (BNF chapters 1-4, 6-10) on 2024-03-31"


def test_publish_writes_lead_tables(small_audit, tmp_path):
    written = poly_report.publish_lead_tables(
        {"poly_headline": poly_report.headline_table(small_audit)}, str(tmp_path)
    )
    assert [p.name for p in written] == ["poly_headline.csv"]
    assert poly_report.publish_lead_tables({"poly_headline": pd.DataFrame()}, "") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("2024-13-01", 18, 120, 1), "census_date"),
        ((CENSUS, 80, 20, 1), "must not be above max_age"),
        ((CENSUS, 18.5, 120, 1), "min_age must be a whole number"),
        ((CENSUS, 18, 120, -3), "seed must be a whole number"),
    ],
)
def test_bad_parameters_fail_before_any_work(args, message):
    with pytest.raises(InputError, match=message):
        poly_report.check_parameters(*args)


def test_unknown_organisation_lists_the_available_ones(small_audit):
    with pytest.raises(InputError, match="available: RTD, RTF"):
        poly_report.audit_from_tables(small_audit.tables, "RXX", CENSUS)


def test_indicator_labels():
    assert [poly_report.indicator_label(k) for k in ("a", "me_no_fbc", "monitoring")] == [
        "A",
        "ME (no FBC)",
        "Monitoring composite",
    ]


def test_headline_sentences_hand_worked(small_audit):
    text = poly_report.headline_sentences(small_audit).splitlines()
    # Means as in test_headline_table_hand_worked: 20 / 9 = 2.2 and 120 / 29 = 4.1.
    assert text[0] == (
        "- Unique medicines per patient (BNF chapters 1-4 and 6-10), on average: **2.2** at RTD, "
        "against 4.1 across all organisations."
    )
    # 2 of 9 is suppressed; all organisations 12 of 29, published as 10 of 30 -> 33.3%.
    assert text[1] == (
        "- 10 or more unique medicines: not shown at RTD (small numbers, and counts they could "
        "be worked out from, are suppressed); 33.3% across all organisations."
    )


def test_census_date_defaults_to_the_end_of_the_period_and_may_not_pass_it():
    context = resolve_context("RTD", "2023-12")
    assert poly_report.census_for(context) == pd.Timestamp("2023-12-31")
    assert poly_report.census_for(context, "2023-11-30") == pd.Timestamp("2023-11-30")
    with pytest.raises(InputError, match="census_date 2024-01-31 is after the report's period end"):
        poly_report.census_for(context, "2024-01-31")
    with pytest.raises(InputError, match="the audit is for one trust; 'QHM' is a system"):
        poly_report.load_audit(resolve_context("QHM", "2023-12"))


def test_report_sections_and_tables(synthetic_audit):
    report = poly_report.AuditReport(resolve_context("RTD", "2024-03"), synthetic_audit)
    assert report.section_names() == [
        "data_statement",
        "headline",
        "comparators",
        "medicines_by_age",
        "acb",
        "combinations",
        "pincer",
        "pincer_funnel",
    ]
    assert report.section("headline").text == poly_report.headline_sentences(synthetic_audit)
    # One table per PINCER group, with every published row in one of them.
    shown = report.section("pincer").tables
    assert len(shown) == 3
    assert sum(len(t.frame) for t in shown) == len(report.tables()["poly_pincer"])
    assert len(report.section("pincer_funnel").figures) == 1
    assert sorted(report.tables()) == [
        "poly_acb",
        "poly_combinations",
        "poly_headline",
        "poly_medicines_by_age",
        "poly_pincer",
        "poly_pincer_funnel",
    ]
    plt.close("all")
