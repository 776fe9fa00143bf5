"""Issue 15, item 10: what the publication guard missed, and what it must still let through.

It missed an unspaced NHS number (``9434765919``, which the patient reader accepts as an id),
"patients flagged: 5", ``3\\u00a0patients`` and count columns whose name lacks "patient". It
must still pass ten digits that fail the check digit (a code) and the real tables of the
reports.
"""

from __future__ import annotations

import matplotlib
import nbformat
import pandas as pd
import pytest
from poly_fixtures import CENSUS

matplotlib.use("Agg")

from medlib.context import resolve_context  # noqa: E402
from medlib.io.patients import read_patients  # noqa: E402
from medlib.polypharmacy import report as poly_report  # noqa: E402
from medlib.present.outputs import publish_tables  # noqa: E402
from medlib.render.guard import (  # noqa: E402
    check_html,
    check_notebook,
    check_report,
    check_table,
    check_tables_dir,
    check_text,
    find_identifiers,
    find_small_counts_in_text,
    is_code_column,
    is_count_like_column,
    is_nhs_number,
)
from medlib.spend.report import build as build_spend  # noqa: E402
from medlib.switch.report import build as build_switch  # noqa: E402

NHS = "9434765919"
#: Ten digits shaped like a dm+d id whose last digit fails the NHS number check.
CODE = "9434765918"

# --- NHS numbers ------------------------------------------------------------------------------


def test_the_patient_reader_accepts_an_unspaced_nhs_number_as_an_id(tmp_path):
    # Why the guard must look for it: this is an id a patient extract can carry.
    path = tmp_path / "patients.csv"
    path.write_text(f"patient_id,trust_code,age,sex\n{NHS},RTD,70,F\n", encoding="utf-8")
    assert read_patients(path).data["patient_id"].tolist() == [NHS]
    assert is_nhs_number(NHS) and not is_nhs_number(CODE)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (f"patient {NHS} was flagged", [NHS]),
        (f"ids: {NHS}, 943 476 5919.", [NHS, "943 476 5919"]),
        ("NHS number 943\u00a0476\u00a05919", ["943\u00a0476\u00a05919"]),
        ("NHS number 943-476-5919", ["943-476-5919"]),
        (f"code {CODE} fails its check digit", []),
        ("943 476 5918 fails its check digit", []),
        (f"part of a longer number 1{NHS} or {NHS}7", []),
        (f"a decimal {NHS}.5 or 0.{NHS}", []),
        (f"inside a hash ab{NHS}cd", []),
        ("mixed separators 943 4765919", []),
    ],
)
def test_nhs_numbers_spaced_or_not(text, found):
    assert find_identifiers(text) == found


def test_an_unspaced_nhs_number_in_text_and_in_a_table_cell_is_refused():
    assert [str(f) for f in check_text(f"first patient {NHS}", "cell 4 output")] == [
        f"cell 4 output: patient identifier '{NHS}'"
    ]
    table = pd.DataFrame({"note": ["ok", NHS], "cost_gbp": ["1.0", "2.0"]})
    assert [str(f) for f in check_table(table, "table t")] == [
        f"table t, column 'note', row 1: patient identifier '{NHS}'"
    ]


def test_in_a_code_column_ten_unspaced_digits_are_a_code():
    assert is_code_column("vmp_code") and is_code_column("snomed") and not is_code_column("note")
    codes = pd.DataFrame({"vmp_code": [NHS, CODE], "molecule": ["a", "b"]})
    assert check_table(codes, "t") == []
    spaced = pd.DataFrame({"vmp_code": ["943 476 5919"]})
    assert [f.what for f in check_table(spaced, "t")] == ["patient identifier '943 476 5919'"]


def test_a_code_with_a_wrong_check_digit_is_not_flagged_anywhere():
    assert check_text(f"dm+d {CODE}", "w") == []
    assert check_table(pd.DataFrame({"note": [CODE]}), "t") == []


# --- counts in text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("3\u00a0patients", ["3 patients"]),
        ("3\u202fpatients", ["3 patients"]),
        ("3\u200bpatients", ["3patients"]),
        ("3\tnew\u00a0patients", ["3 new patients"]),
        ("only 3\npatients", ["3\npatients"]),
        ("patients flagged: 5", ["patients flagged: 5"]),
        ("patients\u00a0flagged:\u00a05", ["patients flagged: 5"]),
        ("Patients flagged = 4", ["Patients flagged = 4"]),
        ("patients: 3", ["patients: 3"]),
        ("patients (n=2)", ["patients (n=2"]),
        ("2 people", ["2 people"]),
        ("patients flagged: 8", []),
        ("patients flagged: *", []),
        ("patients: 5%", []),
        ("patients: 5.5", []),
        ("patients: 5,000", []),
        ("patients: 5 per 1,000", []),
        ("patients: 12", []),
        ("patients in 2 trusts", []),
        ("3 per patient", []),
        ("the 3rd patient", []),
        ("7-day patients", []),
        ("only 3\n\npatients", []),
    ],
)
def test_count_phrases_with_any_whitespace(text, found):
    assert find_small_counts_in_text(text) == found


def test_a_printed_table_row_label_is_still_not_a_count():
    # Three or more spaces are a column gap, whatever kind of space.
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output(
            "stream",
            name="stdout",
            text="   group\u00a0\u00a0\u00a0\u00a0patients\n1    all patients\n",
        )
    ]
    nb.cells = [cell]
    assert check_notebook(nb) == []


def test_markdown_and_html_outputs_with_the_missed_phrases_are_refused():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/markdown": "Only 3\u00a0patients."}),
        nbformat.v4.new_output(
            "display_data", data={"text/html": "<p>Patients flagged:&nbsp;5</p>"}
        ),
    ]
    nb.cells = [cell]
    assert [str(f) for f in check_notebook(nb)] == [
        "cell 1 output (text/markdown): unsuppressed small count '3 patients'",
        "cell 1 output (text/html): unsuppressed small count 'Patients flagged: 5'",
    ]


# --- count columns that do not say "patient" --------------------------------------------------


@pytest.mark.parametrize(
    ("name", "is_count"),
    [
        ("n", True),
        ("n_flagged", True),
        ("flagged", True),
        ("count", True),
        ("review_count", True),
        ("denominator", True),
        ("numerator", True),
        ("gi_bleed_num", True),
        ("number_on_ten_or_more", True),
        ("cases", True),
        ("denominator_description", False),
        ("pct_flagged", False),
        ("mean_count", False),
        ("value", False),
        ("cost_gbp", False),
        ("z", False),
    ],
)
def test_count_like_column_names(name, is_count):
    assert is_count_like_column(name) is is_count


def test_a_count_column_without_patient_in_its_name_in_a_table_about_patients():
    table = pd.DataFrame(
        {"group": ["all", "65+"], "patients_in_denominator": ["120", "40"], "flagged": ["15", "4"]}
    )
    assert [str(f) for f in check_table(table, "table t")] == [
        "table t, column 'flagged', row 1: unsuppressed patient count '4' "
        "(counts 1-7 must be shown as '*')"
    ]


def test_a_table_alone_with_count_like_names_is_not_about_patients():
    # A spend table's numerator and denominator are DDDs, not patients.
    spend = pd.DataFrame({"trust_code": ["RTD"], "numerator": ["3"], "denominator": ["7"]})
    assert check_table(spend, "t") == []
    assert [f.what[:29] for f in check_table(spend, "t", about_patients=True)] == [
        "unsuppressed patient count '3",
        "unsuppressed patient count '7",
    ]


def test_a_report_about_patients_checks_count_columns_of_all_its_tables(tmp_path):
    publish_tables(
        {
            "poly_headline": pd.DataFrame({"measure": ["ten+"], "patients_flagged": ["*"]}),
            "poly_review_counts": pd.DataFrame({"group": ["all", "65+"], "n": [40, 3]}),
        },
        tmp_path,
    )
    assert [str(f) for f in check_report(nbformat.v4.new_notebook(), tmp_path)] == [
        "table poly_review_counts, column 'n', row 1: unsuppressed patient count '3' "
        "(counts 1-7 must be shown as '*')"
    ]
    # Alone, the same table passes: nothing in it says it counts patients.
    (tmp_path / "poly_headline.csv").unlink()
    assert check_report(nbformat.v4.new_notebook(), tmp_path) == []


def test_a_report_is_about_patients_when_an_html_table_it_shows_is(tmp_path):
    publish_tables({"review": pd.DataFrame({"group": ["all"], "count": [5]})}, tmp_path)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    shown = pd.DataFrame({"patients": ["*"]}).to_html(index=False)
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": shown})]
    nb.cells = [cell]
    assert [f.where for f in check_report(nb, tmp_path)] == ["table review, column 'count', row 0"]
    assert check_html(shown, "w") == []


# --- the real reports still pass --------------------------------------------------------------


@pytest.fixture(scope="module")
def real_tables(tmp_path_factory):
    """Every lead-facing table of the three reports for RTD, as the notebooks publish them."""
    folder = tmp_path_factory.mktemp("tables")
    context = resolve_context("RTD", "2024-03")
    reports = [
        build_spend(context),
        build_switch(context, ("adalimumab", "infliximab")),
        poly_report.AuditReport(context, poly_report.load_audit(context, CENSUS, 18, 120, 2025)),
    ]
    for report in reports:
        report.publish(str(folder))
    return folder


def test_the_real_published_tables_pass_the_guard_as_one_report_about_patients(real_tables):
    names = sorted(p.stem for p in real_tables.glob("*.csv"))
    assert {"benchmark_funnel", "outliers", "poly_headline", "switch_league"} <= set(names)
    # Checked together, every count-like column of the spend tables is held to the patient
    # rule too, the strictest reading the guard can make of them.
    assert check_tables_dir(real_tables, about_patients=True) == []
    assert check_report(nbformat.v4.new_notebook(), real_tables) == []
