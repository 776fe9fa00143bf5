"""The publication guard and the tables contracts."""

from __future__ import annotations

import nbformat
import pandas as pd
import pytest

from medlib.present.disclosure import disclose_table
from medlib.render.contracts import check_contract, check_contracts
from medlib.render.guard import (
    PATIENT_ID_PATTERN,
    check_html,
    check_notebook,
    check_report,
    check_table,
    check_tables_dir,
    check_text,
    find_identifiers,
    find_small_counts_in_text,
    is_nhs_number,
    is_patient_count_column,
)


def test_nhs_number_check_digit():
    # 9 4 3 4 7 6 5 9 1 weighted 10..2: 90+36+24+28+42+30+20+27+2 = 299; 299 % 11 = 2;
    # 11 - 2 = 9, the tenth digit. So 9434765919 is valid and 9434765918 is not.
    assert is_nhs_number("9434765919")
    assert not is_nhs_number("9434765918")
    # 000000006: 6 * 2 = 12; 12 % 11 = 1; 11 - 1 = 10, which no digit can be: never valid.
    assert not any(is_nhs_number(f"000000006{d}") for d in range(10))
    # 000000001: 1 * 2 = 2; 11 - 2 = 9, so 0000000019 is valid.
    assert is_nhs_number("0000000019")
    assert not is_nhs_number("943476591")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("patient SYN0A1B2C3D4E started", ["SYN0A1B2C3D4E"]),
        ("pseudonym 0f3a9c1e2b4d5a6c.", ["0f3a9c1e2b4d5a6c"]),
        ("NHS number 943 476 5919", ["943 476 5919"]),
        ("NHS number 943 476 5918 fails its check digit", []),
        ("a 16-digit dm+d code 1234567890123456 is not a pseudonym", []),
        ("a 17-digit dm+d code 39720311000001101", []),
        ("a sha256 " + "ab" * 32, []),
        ("part of a word: xSYN0A1B2C3D4E", []),
        ("cost 1234567890.50", []),
        # A float in scientific notation: 16 hex-like characters after the decimal point.
        ("share 5.949370854032165e-05", []),
        ("pseudonym at the end of a sentence. 0f3a9c1e2b4d5a6c", ["0f3a9c1e2b4d5a6c"]),
    ],
)
def test_identifiers(text, found):
    assert find_identifiers(text) == found


def test_the_pattern_matches_the_ids_the_patient_generators_issue():
    from medlib.synthetic.patients import generate_patients

    audit = generate_patients(seed=7, trusts={"RTD": 25})
    ids = audit.truth["patient_id"]
    assert len(ids) == 25
    assert ids.map(lambda v: bool(PATIENT_ID_PATTERN.fullmatch(v))).all()


def test_the_pattern_matches_hcd_pseudonyms():
    # medlib.synthetic.hcd_activity writes f"{i:016x}" for random 63-bit integers.
    ids = [f"{i:016x}" for i in (0x0F3A9C1E2B4D5A6C, 0x7FFFFFFFFFFFFFFE, 0x00000000000000AB)]
    assert [bool(PATIENT_ID_PATTERN.fullmatch(i)) for i in ids] == [True, True, True]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("There were 3 patients.", ["3 patients"]),
        ("5 new patients started", ["5 new patients"]),
        ("2 of 1,000 eligible patients", ["2 of 1,000 eligible patients"]),
        ("1 patient", ["1 patient"]),
        ("There were 8 patients.", []),
        ("17 patients", []),
        ("3.5 patients on average", []),
        ("£3 per patient", []),
        ("3 per patient", []),
        ("0 patients", []),
        ("* patients", []),
    ],
)
def test_small_counts_in_text(text, found):
    assert find_small_counts_in_text(text) == found


@pytest.mark.parametrize(
    ("name", "is_count"),
    [
        ("patients", True),
        ("n_patients", True),
        ("new_patients", True),
        ("patients_on_target", True),
        ("patient_id", False),
        ("pct_patients", False),
        ("patients_per_1000", False),
        ("share_of_patients", False),
        ("items", False),
        ("cost_gbp", False),
    ],
)
def test_patient_count_columns(name, is_count):
    assert is_patient_count_column(name) is is_count


def test_disclosed_table_passes_and_raw_counts_fail():
    raw = pd.DataFrame({"trust_code": ["RTD", "RTF", "RR7"], "patients": [3, 12, 0]})
    disclosed = disclose_table(raw, ["patients"])  # -> "*", 10, 0
    assert check_table(disclosed, "table t") == []
    (finding,) = check_table(raw, "table t")
    assert finding.where == "table t, column 'patients', row 0"
    assert finding.what.startswith("unsuppressed patient count '3'")


def test_identifier_column_is_refused_whatever_it_holds():
    table = pd.DataFrame({"patient_id": ["x"], "patients": ["*"]})
    assert [f.what for f in check_table(table, "t")] == ["column of patient identifiers"]


def test_identifier_in_any_text_cell_is_found():
    table = pd.DataFrame({"note": ["ok", "see SYN0A1B2C3D4E"], "cost_gbp": [1.0, 2.0]})
    (finding,) = check_table(table, "t")
    assert finding.where == "t, column 'note', row 1"


def test_counts_in_text_cells_with_thousands_separators():
    table = pd.DataFrame({"patients": ["1,205", "*", "4"]})
    (finding,) = check_table(table, "t")
    assert finding.where == "t, column 'patients', row 2"


def test_html_table_output_is_checked_by_column():
    frame = pd.DataFrame({"patients": [10, 4]}, index=pd.Index(["RTD", "RTF"], name="trust"))
    (finding,) = check_html(frame.to_html(), "cell 3")
    assert finding.where == "cell 3, HTML table 1, column 'patients', row 1"
    assert check_html(frame.style.to_html(), "cell 3")[0].what.startswith(
        "unsuppressed patient count '4'"
    )


def test_html_text_outside_tables_is_checked():
    found = check_html("<p>Only <b>2 patients</b> switched</p>", "cell 1")
    assert [f.what for f in found] == ["unsuppressed small count '2 patients'"]


def _notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _code(*outputs: dict) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def test_notebook_outputs_and_markdown_are_checked():
    nb = _notebook(
        nbformat.v4.new_markdown_cell("Of the cohort, 6 patients had a bleed."),
        _code({"output_type": "stream", "name": "stdout", "text": "first: SYN0A1B2C3D4E\n"}),
        _code(
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {"text/markdown": "We found 2 patients", "text/plain": "<Markdown>"},
            }
        ),
        _code(
            {
                "output_type": "error",
                "ename": "KeyError",
                "evalue": "'0f3a9c1e2b4d5a6c'",
                "traceback": [],
            }
        ),
    )
    found = [str(f) for f in check_notebook(nb)]
    assert found == [
        "cell 1 (markdown): unsuppressed small count '6 patients'",
        "cell 2 output: patient identifier 'SYN0A1B2C3D4E'",
        "cell 3 output (text/markdown): unsuppressed small count '2 patients'",
        "cell 4 error: patient identifier '0f3a9c1e2b4d5a6c'",
    ]


def test_text_tables_are_not_read_as_prose():
    # A DataFrame's text form puts row labels before column gaps: "1" here is a row label.
    frame = "                  group  patients\n1          all patients         *\n"
    nb = _notebook(_code({"output_type": "stream", "name": "stdout", "text": frame}))
    assert check_notebook(nb) == []


def test_plain_text_fallback_is_skipped_when_html_is_shown():
    output = {
        "output_type": "execute_result",
        "execution_count": 1,
        "metadata": {},
        "data": {"text/plain": "1 all patients", "text/html": "<p>All patients: *</p>"},
    }
    assert check_notebook(_notebook(_code(output))) == []
    del output["data"]["text/html"]
    assert [f.what for f in check_notebook(_notebook(_code(output)))] == [
        "unsuppressed small count '1 all patients'"
    ]


def test_images_are_not_read_as_text():
    # base64 image data can contain anything; it must not trip the text rules.
    nb = _notebook(
        _code(
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {"image/png": "iVBOR/SYN0A1B2C3D4E/3 patients", "text/plain": "<Figure>"},
            }
        )
    )
    assert check_notebook(nb) == []


def test_report_check_covers_published_tables(tmp_path):
    pd.DataFrame({"n_patients": [5, 20]}).to_csv(tmp_path / "counts.csv", index=False)
    pd.DataFrame({"trust_code": ["RTD"], "patients": ["*"]}).to_csv(
        tmp_path / "fine.csv", index=False
    )
    assert [str(f) for f in check_tables_dir(tmp_path)] == [
        "table counts, column 'n_patients', row 0: unsuppressed patient count '5' "
        "(counts 1-7 must be shown as '*')"
    ]
    assert len(check_report(_notebook(), tmp_path)) == 1


def test_text_check_reports_both_kinds():
    found = check_text("SYN0A1B2C3D4E and 3 patients", "w")
    assert [f.what for f in found] == [
        "patient identifier 'SYN0A1B2C3D4E'",
        "unsuppressed small count '3 patients'",
    ]


SPEND = pd.DataFrame(
    {
        "trust_code": ["RTD", "RTD"],
        "financial_year": ["2022/23", "2023/24"],
        "cost_gbp": ["100.0", "110.0"],
        "yoy_change_gbp": ["", "10.0"],
        "yoy_change_pct": ["", "10.0"],
    }
)


def test_spend_contract_accepts_the_contracted_shape():
    assert check_contract("spend_by_financial_year", SPEND) == []
    extra = SPEND.assign(note="x")
    assert check_contract("spend_by_financial_year", extra) == []


def test_spend_contract_names_what_is_wrong():
    renamed = SPEND.rename(columns={"financial_year": "fy"})
    (finding,) = check_contract("spend_by_financial_year", renamed)
    assert "the tables contract expects ['trust_code', 'financial_year'" in finding.what
    duplicated = pd.concat([SPEND, SPEND.iloc[[1]]])
    assert check_contract("spend_by_financial_year", duplicated)[0].what.startswith(
        "more than one row for {'trust_code': 'RTD', 'financial_year': '2023/24'}"
    )
    bad_year = SPEND.assign(financial_year=["2022-23", "2023/24"])
    assert [str(f) for f in check_contract("spend_by_financial_year", bad_year)] == [
        "table spend_by_financial_year, column 'financial_year': '2022-23' is not a financial "
        "year written like 2023/24"
    ]


def test_tables_without_contract_pass(tmp_path):
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "anything.csv", index=False)
    SPEND.rename(columns={"cost_gbp": "spend"}).to_csv(
        tmp_path / "spend_by_financial_year.csv", index=False
    )
    assert [f.where for f in check_contracts(tmp_path)] == ["table spend_by_financial_year"]
