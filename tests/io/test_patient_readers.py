"""The patient-level readers: good files, and a corpus of malformed files each with its exact
outcome. Every file is made here by the test, so the corpus documents itself.

Structural problems raise UnusableFileError; a bad row is quarantined with a specific reason
while every valid row is kept exactly once, and rows read = accepted + quarantined.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medlib.io.patients import (
    read_conditions,
    read_medications,
    read_patient_folder,
    read_patients,
    read_tests,
)
from medlib.io.usage import UnusableFileError
from medlib.synthetic.patients import generate_patients

TRUSTS = {"RTD", "RTF"}
IDS = {"p1", "p2"}
PATIENTS = "patient_id,trust_code,age,sex"
MEDS = "patient_id,dmd_code,medicine_name,bnf_code,start_date,end_date"
CONDS = "patient_id,snomed_code,date,resolved_date"
TESTS = "patient_id,snomed_code,date,value,unit"
GOOD_MED = "p1,321745007,Amitriptyline 10mg tablets,0403010B0AAAGAG,2023-01-01,"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


def check_invariant(result) -> None:
    s = result.summary
    assert s.rows_read == s.rows_accepted + s.rows_quarantined
    assert s.rows_accepted == len(result.data) and s.rows_quarantined == len(result.quarantine)


# ----------------------------------------------------------------------------- good files


def test_patients_read_and_normalise(tmp_path):
    path = write(
        tmp_path, "patients.csv", lines(PATIENTS, "p1,rtd,70,female", "p2,RTF,45,M", "p3,RTD,0,9")
    )
    result = read_patients(path, TRUSTS)
    assert result.data.to_dict("list") == {
        "patient_id": ["p1", "p2", "p3"],
        "trust_code": ["RTD", "RTF", "RTD"],
        "age": [70, 45, 0],
        "sex": ["F", "M", "U"],
    }
    assert result.data["age"].dtype == "int64"
    check_invariant(result)


def test_medications_keep_long_codes_as_text_and_read_both_date_forms(tmp_path):
    path = write(
        tmp_path,
        "meds.csv",
        lines(
            MEDS,
            GOOD_MED,
            "p2,13177001000001108,Lithium carbonate 400mg MR,0402030k0aaafaf,31/01/2023,28/02/2024",
        ),
    )
    result = read_medications(path, IDS)
    data = result.data
    assert data["dmd_code"].tolist() == ["321745007", "13177001000001108"]
    assert data["bnf_code"].tolist() == ["0403010B0AAAGAG", "0402030K0AAAFAF"]
    assert data["start_date"].tolist() == [pd.Timestamp("2023-01-01"), pd.Timestamp("2023-01-31")]
    assert pd.isna(data["end_date"].iloc[0]) and data["end_date"].iloc[1] == pd.Timestamp(
        "2024-02-28"
    )
    assert (result.summary.first_date, result.summary.last_date) == ("2023-01-01", "2023-01-31")


def test_optional_columns_may_be_absent(tmp_path):
    meds = read_medications(
        write(
            tmp_path, "m.csv", lines("patient_id,dmd_code,start_date", "p1,321745007,2023-01-01")
        ),
        IDS,
    )
    assert meds.data["bnf_code"].isna().all() and meds.data["end_date"].isna().all()
    tests = read_tests(
        write(
            tmp_path,
            "t.csv",
            lines("patient_id,snomed_code,date", "p1,1011481000000105,2024-01-01"),
        ),
        IDS,
    )
    assert np.isnan(tests.data["value"].iloc[0])


def test_header_only_conditions_are_an_empty_table(tmp_path):
    result = read_conditions(write(tmp_path, "c.csv", lines(CONDS)), IDS)
    assert result.data.empty and result.summary.rows_read == 0


def test_parquet_is_accepted(tmp_path):
    table = pa.table(
        {
            "patient_id": ["p1"],
            "snomed_code": ["1011481000000105"],
            "date": pa.array([pd.Timestamp("2024-01-02")], pa.timestamp("ms")),
            "value": [30.5],
            "unit": ["mL/min"],
        }
    )
    pq.write_table(table, tmp_path / "tests.parquet")
    result = read_tests(tmp_path / "tests.parquet", IDS)
    assert result.data[["snomed_code", "value"]].values.tolist() == [["1011481000000105", 30.5]]
    assert result.data["date"].iloc[0] == pd.Timestamp("2024-01-02")


def test_synthetic_extract_round_trips_through_a_folder(tmp_path):
    audit = generate_patients(scale=0.05)
    for name in ("patients", "medications", "conditions", "tests"):
        frame = getattr(audit.tables, name).copy()
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].dt.strftime("%Y-%m-%d")
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    result = read_patient_folder(tmp_path)
    for name in ("patients", "medications", "conditions", "tests"):
        pd.testing.assert_frame_equal(
            getattr(result.tables, name), getattr(audit.tables, name), check_dtype=False
        )
        check_invariant(result.results[name])
    assert all(r.summary.rows_quarantined == 0 for r in result.results.values())


# ----------------------------------------------------------------------------- structural corpus


STRUCTURAL = [
    ("empty file", "patients.csv", b"", "the file is empty"),
    ("header only", "patients.csv", lines(PATIENTS), "it has a header but no data rows"),
    (
        "semicolons",
        "patients.csv",
        lines("patient_id;trust_code;age;sex", "p1;RTD;70;F"),
        "separated by semicolons",
    ),
    (
        "tabs",
        "patients.csv",
        lines("patient_id\ttrust_code\tage\tsex", "p1\tRTD\t70\tF"),
        "separated by tabs",
    ),
    (
        "latin-1",
        "patients.csv",
        "patient_id,trust_code,age,sex\np1,RTD,70,F\xe9\n".encode("latin-1"),
        "not UTF-8",
    ),
    (
        "missing column",
        "patients.csv",
        lines("patient_id,trust_code,age", "p1,RTD,70"),
        "lacks the required column sex",
    ),
    (
        "repeated header",
        "patients.csv",
        lines("patient_id,trust_code,age,age,sex", "p1,RTD,70,70,F"),
        "repeats the column name age",
    ),
    (
        "header repeated in another case",
        "patients.csv",
        lines("patient_id,trust_code,age,sex,PATIENT_ID", "p1,RTD,70,F,p1"),
        "repeats the column name patient_id \\(names are compared ignoring case\\)",
    ),
]


@pytest.mark.parametrize(
    ("name", "file", "content", "message"), STRUCTURAL, ids=[c[0] for c in STRUCTURAL]
)
def test_structurally_unusable_files(tmp_path, name, file, content, message):
    with pytest.raises(UnusableFileError, match=message) as info:
        read_patients(write(tmp_path, file, content), TRUSTS)
    assert file in str(info.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(UnusableFileError, match="does not exist"):
        read_patients(tmp_path / "nope.csv", TRUSTS)
    write(tmp_path, "patients.csv", lines(PATIENTS, "p1,RTD,70,F"))
    with pytest.raises(UnusableFileError, match="no medications.csv or medications.parquet"):
        read_patient_folder(tmp_path, TRUSTS)
    with pytest.raises(UnusableFileError, match="not a folder"):
        read_patient_folder(tmp_path / "patients.csv", TRUSTS)


def test_medications_without_start_date_column(tmp_path):
    with pytest.raises(UnusableFileError, match="lacks the required column start_date"):
        read_medications(
            write(tmp_path, "m.csv", lines("patient_id,dmd_code", "p1,321745007")), IDS
        )


# ----------------------------------------------------------------------------- row corpus

# (table, bad row, column, reason); each file is the header, one good row and the bad row.
ROWS = [
    ("patients", ",RTD,70,F", "patient_id", "missing patient id"),
    (
        "patients",
        "p 9,RTD,70,F",
        "patient_id",
        "malformed patient id (expected letters, digits, '-' or '_')",
    ),
    ("patients", "p9,,70,F", "trust_code", "missing trust code"),
    (
        "patients",
        "p9,R-1,70,F",
        "trust_code",
        "malformed trust code (expected an ODS code such as RTD)",
    ),
    (
        "patients",
        "p9,RXX,70,F",
        "trust_code",
        "unknown trust code (not in the trust reference or its predecessors)",
    ),
    ("patients", "p9,RTD,,F", "age", "missing age"),
    ("patients", "p9,RTD,seventy,F", "age", "non-numeric age"),
    ("patients", "p9,RTD,70.5,F", "age", "age is not a whole number of years"),
    ("patients", "p9,RTD,121,F", "age", "age out of range (expected 0-120)"),
    ("patients", "p9,RTD,-1,F", "age", "age out of range (expected 0-120)"),
    ("patients", "p9,RTD,70,", "sex", "missing sex"),
    ("patients", "p9,RTD,70,X", "sex", "unknown sex code (expected F, M or U)"),
    ("patients", "p9,RTD,70,F,extra", "", "wrong number of fields (5, header has 4)"),
    (
        "medications",
        "p9,321745007,Amitriptyline,,2023-01-01,",
        "patient_id",
        "unknown patient id (not in the patients table)",
    ),
    ("medications", "p2,,Amitriptyline,,2023-01-01,", "dmd_code", "missing dm+d code"),
    (
        "medications",
        "p2,3.21745E+08,Amitriptyline,,2023-01-01,",
        "dmd_code",
        "malformed dm+d code (looks like a number mangled by a spreadsheet; expected a dm+d id: 6-20 ASCII digits, not starting with 0)",
    ),
    (
        "medications",
        "p2,ABC123,Amitriptyline,,2023-01-01,",
        "dmd_code",
        "malformed dm+d code (expected a dm+d id: 6-20 ASCII digits, not starting with 0)",
    ),
    (
        "medications",
        "p2,321745007,Amitriptyline,4.3E+10,2023-01-01,",
        "bnf_code",
        "malformed BNF code (expected e.g. 0403010B0AAAGAG)",
    ),
    ("medications", "p2,321745007,Amitriptyline,,,", "start_date", "missing start date"),
    (
        "medications",
        "p2,321745007,Amitriptyline,,2023-02-30,",
        "start_date",
        "unparseable start date (expected YYYY-MM-DD or DD/MM/YYYY)",
    ),
    (
        "medications",
        "p2,321745007,Amitriptyline,,01/13/2023,",
        "start_date",
        "unparseable start date (expected YYYY-MM-DD or DD/MM/YYYY)",
    ),
    (
        "medications",
        "p2,321745007,Amitriptyline,,2023-01-01,soon",
        "end_date",
        "unparseable end date (expected YYYY-MM-DD or DD/MM/YYYY)",
    ),
    (
        "medications",
        "p2,321745007,Amitriptyline,,2023-01-01,2022-12-31",
        "end_date",
        "end date before start date",
    ),
    ("medications", GOOD_MED, "patient_id", "duplicate row (same values as line 2)"),
    (
        "conditions",
        "p9,195967001,2020-01-01,",
        "patient_id",
        "unknown patient id (not in the patients table)",
    ),
    (
        "conditions",
        "p2,12345,2020-01-01,",
        "snomed_code",
        "malformed SNOMED CT code (expected 6-18 digits, read as text)",
    ),
    ("conditions", "p2,195967001,,", "date", "missing date"),
    (
        "conditions",
        "p2,195967001,9999-12-31,",
        "date",
        "date out of range (expected a year from 1900 to 2100)",
    ),
    (
        "medications",
        "p2,321745007,Amitriptyline,,1600-01-01,",
        "start_date",
        "start date out of range (expected a year from 1900 to 2100)",
    ),
    (
        "medications",
        "p2,321745007,Amitriptyline,,2023-01-01,2301-01-01",
        "end_date",
        "end date out of range (expected a year from 1900 to 2100)",
    ),
    (
        "conditions",
        "p2,195967001,2020-01-01,2019-01-01",
        "resolved_date",
        "resolved date before the diagnosis date",
    ),
    ("tests", "p2,1011481000000105,2024-01-01,high,", "value", "non-numeric test value"),
    (
        "tests",
        "p2,1011481000000105,yesterday,30,",
        "date",
        "unparseable date (expected YYYY-MM-DD or DD/MM/YYYY)",
    ),
]
GOOD = {
    "patients": "p1,RTD,70,F",
    "medications": GOOD_MED,
    "conditions": "p1,195967001,2020-01-01,",
    "tests": "p1,1011481000000105,2024-01-01,30,mL/min",
}
HEADERS = {"patients": PATIENTS, "medications": MEDS, "conditions": CONDS, "tests": TESTS}
READERS = {
    "patients": lambda p: read_patients(p, TRUSTS),
    "medications": lambda p: read_medications(p, IDS),
    "conditions": lambda p: read_conditions(p, IDS),
    "tests": lambda p: read_tests(p, IDS),
}


@pytest.mark.parametrize(
    ("table", "row", "column", "reason"), ROWS, ids=[f"{t}: {r}" for t, _row, _c, r in ROWS]
)
def test_bad_rows_are_quarantined_with_their_reason(tmp_path, table, row, column, reason):
    path = write(tmp_path, f"{table}.csv", lines(HEADERS[table], GOOD[table], row))
    result = READERS[table](path)
    check_invariant(result)
    assert len(result.data) == 1 and result.data["patient_id"].iloc[0] == "p1"
    assert result.quarantine[["line", "column", "reason"]].values.tolist() == [[3, column, reason]]
    assert result.quarantine["file"].iloc[0] == str(path)


def test_end_date_9999_means_no_end_date(tmp_path):
    path = write(
        tmp_path,
        "medications.csv",
        lines(MEDS, GOOD_MED, "p2,321745007,Amitriptyline,,2023-01-01,9999-12-31"),
    )
    result = read_medications(path, IDS)
    check_invariant(result)
    assert result.quarantine.empty
    assert result.data["patient_id"].tolist() == ["p1", "p2"]
    assert result.data["end_date"].isna().tolist() == [True, True]


def test_conflicting_duplicate_patients_keep_neither(tmp_path):
    path = write(
        tmp_path,
        "patients.csv",
        lines(PATIENTS, "p1,RTD,70,F", "p1,RTD,71,F", "p2,RTD,40,M", "p2,RTD,40,M"),
    )
    result = read_patients(path, TRUSTS)
    check_invariant(result)
    assert result.data["patient_id"].tolist() == ["p2"]
    assert result.quarantine["reason"].tolist() == [
        "duplicate patient id with different details (lines 2, 3)",
        "duplicate patient id with different details (lines 2, 3)",
        "duplicate row (same values as line 4)",
    ]
    assert result.summary.reasons == {
        "duplicate patient id with different details": 2,
        "duplicate row": 1,
    }


def test_folder_quarantines_rows_of_rejected_patients(tmp_path):
    write(tmp_path, "patients.csv", lines(PATIENTS, "p1,RTD,70,F", "p2,RTD,200,M"))
    write(tmp_path, "medications.csv", lines(MEDS, GOOD_MED, GOOD_MED.replace("p1", "p2")))
    write(tmp_path, "conditions.csv", lines(CONDS))
    write(tmp_path, "tests.csv", lines(TESTS))
    result = read_patient_folder(tmp_path, TRUSTS)
    # p2's age is out of range, so p2 and p2's medication are both quarantined.
    assert result.tables.patients["patient_id"].tolist() == ["p1"]
    assert result.results["medications"].quarantine["reason"].tolist() == [
        "unknown patient id (not in the patients table)"
    ]
    assert "quarantined 1: age out of range (expected 0-120)" in "\n".join(result.lines())


# ----------------------------------------------------------------------------- frames built in code

PATS = pd.DataFrame(
    {"patient_id": ["p1", "p2"], "trust_code": ["rtd", "RTF"], "age": [70, 45], "sex": ["f", "M"]}
)


def test_check_patient_tables_normalises_and_fills_optional_columns():
    from medlib.io.patient_tables import check_patient_tables

    meds = pd.DataFrame(
        {"patient_id": ["p1"], "dmd_code": ["321745007"], "start_date": ["2023-01-01"]}
    )
    tables = check_patient_tables(PATS, meds)
    assert tables.patients["trust_code"].tolist() == ["RTD", "RTF"]
    assert tables.patients["sex"].tolist() == ["F", "M"]
    assert list(tables.medications.columns) == [
        "patient_id",
        "dmd_code",
        "medicine_name",
        "bnf_code",
        "start_date",
        "end_date",
    ]
    assert tables.medications["end_date"].isna().all()
    assert tables.conditions.empty and tables.tests.empty


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patients": PATS.assign(patient_id=["p1", "p1"])}, "must be unique"),
        ({"patients": PATS.assign(sex=["F", "X"])}, r"sex must be one of"),
        ({"patients": PATS.assign(age=[70, 130])}, "whole years between 0 and 120"),
        ({"patients": PATS.drop(columns="age")}, r"missing column\(s\) \['age'\]"),
        (
            {
                "medications": pd.DataFrame(
                    {"patient_id": ["p1"], "dmd_code": [321745007.0], "start_date": ["2023-01-01"]}
                )
            },
            "floating-point",
        ),
        (
            {
                "medications": pd.DataFrame(
                    {"patient_id": ["p9"], "dmd_code": ["321745007"], "start_date": ["2023-01-01"]}
                )
            },
            "not in the patients table",
        ),
        (
            {
                "medications": pd.DataFrame(
                    {
                        "patient_id": ["p1"],
                        "dmd_code": ["321745007"],
                        "start_date": ["2023-01-01"],
                        "end_date": ["2022-01-01"],
                    }
                )
            },
            "end_date is before start_date",
        ),
        (
            {
                "conditions": pd.DataFrame(
                    {"patient_id": ["p1"], "snomed_code": ["195967001"], "date": ["someday"]}
                )
            },
            "must hold dates",
        ),
    ],
)
def test_check_patient_tables_errors(kwargs, message):
    from medlib.io.patient_tables import PatientDataError, check_patient_tables

    args = {"patients": PATS, **kwargs}
    with pytest.raises(PatientDataError, match=message):
        check_patient_tables(**args)
