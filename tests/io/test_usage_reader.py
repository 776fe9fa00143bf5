"""The SCMD readers: layouts, and a corpus of malformed files each with its exact outcome.

Every malformed file is made here by the test, so the corpus documents itself. Structural
problems must raise UnusableFileError with an exact message; row problems must quarantine the
row with an exact reason while every valid row is kept exactly once.
"""

from itertools import zip_longest
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medlib.io.usage import UnusableFileError, read_usage

PUBLISHED_HEADER = (
    "YEAR_MONTH,ODS_CODE,VMP_SNOMED_CODE,VMP_PRODUCT_NAME,UNIT_OF_MEASURE_IDENTIFIER,"
    "UNIT_OF_MEASURE_NAME,TOTAL_QUANITY_IN_VMP_UNIT,INDICATIVE_COST"
)
GOOD_1 = "201904,RTD,39110111000001103,Lithium carbonate 400mg modified-release tablets,428673006,tablet,560,15.40"
GOOD_2 = "201905,RTD,39110111000001103,Lithium carbonate 400mg modified-release tablets,428673006,tablet,-28,-0.77"
GOOD_3 = "201904,RR7,42295911000001104,Lithium citrate 509mg/5ml oral solution,258773002,ml,150,"
EXTRACT_HEADER = "year_month,ods_code,vmp_snomed_code,vmp_product_name,total_quantity"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def published(tmp_path: Path, *rows: str, name: str = "scmd.csv") -> Path:
    return write(tmp_path, name, "\n".join([PUBLISHED_HEADER, *rows]) + "\n")


# ----------------------------------------------------------------------------- good files


def test_published_layout_reads_as_published(tmp_path):
    result = read_usage(published(tmp_path, GOOD_1, GOOD_2, GOOD_3))
    data = result.data
    assert result.summary.layout == "scmd_published"
    assert list(data.columns) == [
        "year_month",
        "trust_code",
        "vmp_code",
        "vmp_name",
        "unit",
        "quantity",
        "cost_gbp",
        "source",
    ]
    assert data["year_month"].dt.strftime("%Y-%m-%d").tolist() == [
        "2019-04-01",
        "2019-05-01",
        "2019-04-01",
    ]
    # codes stay text: 17 digits would lose precision as floats
    assert data["vmp_code"].tolist() == [
        "39110111000001103",
        "39110111000001103",
        "42295911000001104",
    ]
    assert data["quantity"].tolist() == [560.0, -28.0, 150.0]
    # a return has negative quantity and cost; a blank cost stays missing, never 0
    assert data["cost_gbp"].iloc[:2].tolist() == [15.40, -0.77]
    assert np.isnan(data["cost_gbp"].iloc[2])
    s = result.summary
    assert (s.rows_read, s.rows_accepted, s.rows_quarantined) == (3, 3, 0)
    assert (s.rows_without_cost, s.rows_negative_quantity) == (1, 1)
    assert "1 accepted rows have no indicative cost (kept as missing, not zero)" in "\n".join(
        s.lines()
    )


def test_published_layout_without_cost_column_has_null_cost(tmp_path):
    header = PUBLISHED_HEADER.rsplit(",", 1)[0]
    row = GOOD_1.rsplit(",", 1)[0]
    result = read_usage(write(tmp_path, "old.csv", f"{header}\n{row}\n"))
    assert result.data["cost_gbp"].isna().all()
    assert result.summary.has_cost_column is False


def test_lower_case_extract_layout(tmp_path):
    path = write(
        tmp_path,
        "extract.csv",
        f"{EXTRACT_HEADER}\n2019-01-01,RTD,10970211000001102,Etanercept 50mg/1ml,64.0\n",
    )
    result = read_usage(path)
    assert result.summary.layout == "scmd_extract"
    assert result.data.loc[0, ["trust_code", "vmp_code", "quantity"]].tolist() == [
        "RTD",
        "10970211000001102",
        64.0,
    ]


def test_parquet_in_extract_layout(tmp_path):
    frame = pd.DataFrame(
        {
            "year_month": ["2019-01-01", "2019-02-01"],
            "ods_code": ["RTD", "RTD"],
            "vmp_snomed_code": ["10970211000001102", "10970211000001102"],
            "vmp_product_name": ["Etanercept", "Etanercept"],
            "total_quantity": [64.0, 70.5],
        }
    )
    path = tmp_path / "extract.parquet"
    frame.to_parquet(path, index=False)
    result = read_usage(path)
    assert result.data["quantity"].tolist() == [64.0, 70.5]
    assert result.summary.rows_read == 2


def test_bundled_lithium_extract_reads_every_row():
    from medlib.io.datasets import load_dataset

    lithium = load_dataset("scmd_lithium")
    assert len(lithium) == 26629
    # 280 rows in the published extract have no indicative cost: kept, not zero-filled
    assert int(lithium["cost_gbp"].isna().sum()) == 280
    assert (lithium["cost_gbp"] == 0).sum() == 0


# ----------------------------------------------------------------------------- unusable files

UNUSABLE = [
    ("empty.csv", b"", "the file is empty"),
    (
        "latin1.csv",
        (PUBLISHED_HEADER + "\n" + GOOD_1.replace("Lithium", "Lithium \xa3") + "\n").encode(
            "latin-1"
        ),
        # header 142 chars + newline, then 37 chars of the row before the pound sign: 143 + 37 = 180
        "it is not UTF-8 text (byte 180 cannot be decoded)",
    ),
    ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "it is not UTF-8 text (byte 0 cannot"),
    (
        "semicolons.csv",
        PUBLISHED_HEADER.replace(",", ";") + "\n" + GOOD_1.replace(",", ";") + "\n",
        "its fields are separated by semicolons, not commas",
    ),
    (
        "tabs.tsv",
        PUBLISHED_HEADER.replace(",", "\t") + "\n" + GOOD_1.replace(",", "\t") + "\n",
        "its fields are separated by tabs, not commas",
    ),
    (
        "no_quantity.csv",
        PUBLISHED_HEADER.replace(",TOTAL_QUANITY_IN_VMP_UNIT", "") + "\n",
        "it looks like the scmd_published layout but is missing the required column "
        "TOTAL_QUANITY_IN_VMP_UNIT",
    ),
    (
        "spelling_fixed.csv",
        PUBLISHED_HEADER.replace("QUANITY", "QUANTITY") + "\n" + GOOD_1 + "\n",
        "missing the required column TOTAL_QUANITY_IN_VMP_UNIT",
    ),
    (
        "notes.csv",
        "These are meeting notes, not data.\nNothing here is a table.\n",
        "its header (These are meeting notes, not data.) does not match any SCMD layout",
    ),
    (
        "json.csv",
        '{"year_month": "2019-04", "ods_code": "RTD"}\n',
        "does not match any SCMD layout",
    ),
    ("header_only.csv", PUBLISHED_HEADER + "\n", "it has a header but no data rows"),
    (
        "repeated_column.csv",
        PUBLISHED_HEADER + ",ODS_CODE\n" + GOOD_1 + ",RTD\n",
        "the header repeats the column name ODS_CODE",
    ),
    (
        "blank_first_line.csv",
        "\n" + PUBLISHED_HEADER + "\n" + GOOD_1 + "\n",
        "the first line is blank",
    ),
    ("broken.parquet", b"PAR1 this is not really parquet", "it is not a readable Parquet file"),
    (
        "old_mac.csv",
        PUBLISHED_HEADER + "\r" + GOOD_1 + "\r",
        "its lines end with a carriage return only",
    ),
    (
        # Line 3 opens a quote that is never closed, swallowing lines 4-6.
        "stray_quote.csv",
        "\n".join([PUBLISHED_HEADER, GOOD_1, GOOD_1.replace("Lithium", '"Lithium', 1)])
        + "\n"
        + "\n".join(GOOD_1.replace("201904", month) for month in ("201905", "201906", "201907"))
        + "\n",
        "a quoted field starting on line 3 is probably never closed (its record runs on to line 6)",
    ),
    (
        # The same, with more than Python's csv field limit (131,072 characters) after the quote.
        "runaway_quote.csv",
        "\n".join([PUBLISHED_HEADER, GOOD_1, GOOD_1.replace("Lithium", '"Lithium', 1)])
        + "\n"
        + "x" * 140_000
        + "\n",
        "it cannot be read as CSV from line 3 (field larger than field limit (131072))",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), UNUSABLE, ids=[u[0] for u in UNUSABLE])
def test_unusable_file_stops_with_a_clear_message(tmp_path, name, content, message):
    path = write(tmp_path, name, content)
    with pytest.raises(UnusableFileError) as caught:
        read_usage(path)
    text = str(caught.value)
    assert text.startswith(f"Cannot read {path}: ")
    assert message in text
    assert "\n" not in text  # one paragraph


def test_folder_and_missing_file_are_unusable(tmp_path):
    with pytest.raises(UnusableFileError, match="it is a folder, not a file"):
        read_usage(tmp_path)
    with pytest.raises(UnusableFileError, match="the file does not exist"):
        read_usage(tmp_path / "nope.csv")


# ----------------------------------------------------------------------------- quarantined rows

BAD_ROWS = [
    # (description, bad row, column, reason)
    (
        "month 13",
        GOOD_1.replace("201904", "201913"),
        "YEAR_MONTH",
        "unparseable date (month out of range)",
    ),
    ("words for a date", GOOD_1.replace("201904", "April 2019"), "YEAR_MONTH", "unparseable date"),
    ("missing date", GOOD_1.replace("201904", ""), "YEAR_MONTH", "missing date"),
    (
        "year 9999",
        GOOD_1.replace("201904", "999904"),
        "YEAR_MONTH",
        "date out of range (expected a year from 1900 to 2100)",
    ),
    (
        "year 1500",
        GOOD_1.replace("201904", "1500-04-01"),
        "YEAR_MONTH",
        "date out of range (expected a year from 1900 to 2100)",
    ),
    (
        "mid-month date",
        GOOD_1.replace("201904", "2019-04-15"),
        "YEAR_MONTH",
        "date is not the first day of a month",
    ),
    (
        "text quantity",
        GOOD_1.replace(",560,", ",12a,"),
        "TOTAL_QUANITY_IN_VMP_UNIT",
        "non-numeric quantity",
    ),
    (
        "blank quantity",
        GOOD_1.replace(",560,", ",,"),
        "TOTAL_QUANITY_IN_VMP_UNIT",
        "missing quantity",
    ),
    (
        "infinite quantity",
        GOOD_1.replace(",560,", ",inf,"),
        "TOTAL_QUANITY_IN_VMP_UNIT",
        "non-numeric quantity",
    ),
    (
        "pound sign in cost",
        GOOD_1.replace(",15.40", ",£15.40"),
        "INDICATIVE_COST",
        "non-numeric cost",
    ),
    (
        "negative cost, positive quantity",
        GOOD_1.replace(",15.40", ",-15.40"),
        "INDICATIVE_COST",
        "negative cost without a negative quantity (a return has both negative)",
    ),
    (
        "unknown trust",
        GOOD_1.replace(",RTD,", ",ZZZ,"),
        "ODS_CODE",
        "unknown trust code (not in the trust reference or its predecessors)",
    ),
    ("malformed trust", GOOD_1.replace(",RTD,", ",R-1,"), "ODS_CODE", "malformed trust code"),
    ("missing trust", GOOD_1.replace(",RTD,", ",,"), "ODS_CODE", "missing trust code"),
    (
        "code mangled by a spreadsheet",
        GOOD_1.replace("39110111000001103", "3.91101E+16"),
        "VMP_SNOMED_CODE",
        "malformed VMP code (expected a dm+d id: 6-20 ASCII digits, not starting with 0)",
    ),
    (
        "missing code",
        GOOD_1.replace("39110111000001103", ""),
        "VMP_SNOMED_CODE",
        "missing VMP code",
    ),
]


@pytest.mark.parametrize(
    ("label", "bad", "column", "reason"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS]
)
def test_bad_row_is_quarantined_with_its_reason_and_good_rows_kept(
    tmp_path, label, bad, column, reason
):
    path = published(tmp_path, GOOD_2, bad, GOOD_3)
    result = read_usage(path)
    q = result.quarantine
    assert q.to_dict("records") == [
        {
            "file": str(path),
            "line": 3,  # header is line 1, GOOD_2 line 2
            "column": column,
            "value": bad.split(",")[
                {
                    "YEAR_MONTH": 0,
                    "ODS_CODE": 1,
                    "VMP_SNOMED_CODE": 2,
                    "TOTAL_QUANITY_IN_VMP_UNIT": 6,
                    "INDICATIVE_COST": 7,
                }[column]
            ],
            "reason": reason,
        }
    ]
    # the two valid rows are kept, once each
    assert result.data["year_month"].dt.strftime("%Y%m").tolist() == ["201905", "201904"]
    assert result.data["trust_code"].tolist() == ["RTD", "RR7"]
    assert (
        result.summary.rows_read,
        result.summary.rows_accepted,
        result.summary.rows_quarantined,
    ) == (3, 2, 1)


def test_conflicting_duplicates_are_all_quarantined(tmp_path):
    conflicting = GOOD_1.replace(",560,", ",561,")
    path = published(tmp_path, GOOD_1, GOOD_3, conflicting)
    result = read_usage(path)
    assert result.quarantine[["line", "reason"]].to_dict("records") == [
        {"line": 2, "reason": "duplicate key with a different value (lines 2, 4)"},
        {"line": 4, "reason": "duplicate key with a different value (lines 2, 4)"},
    ]
    assert result.data["trust_code"].tolist() == ["RR7"]
    assert result.summary.reasons == {"duplicate key with a different value": 2}


def test_identical_duplicate_keeps_the_first(tmp_path):
    path = published(tmp_path, GOOD_1, GOOD_1)
    result = read_usage(path)
    assert result.quarantine[["line", "reason"]].to_dict("records") == [
        {"line": 3, "reason": "duplicate row (same key and values as line 2)"}
    ]
    assert len(result.data) == 1


def test_ragged_row_is_quarantined(tmp_path):
    path = published(tmp_path, GOOD_1, GOOD_2 + ",extra", GOOD_3)
    result = read_usage(path)
    assert result.quarantine[["line", "column", "reason"]].to_dict("records") == [
        {"line": 3, "column": "", "reason": "wrong number of fields (9, header has 8)"}
    ]
    assert len(result.data) == 2


def test_parquet_with_codes_stored_as_floats_is_quarantined(tmp_path):
    table = pa.table(
        {
            "year_month": ["2019-01-01"],
            "ods_code": ["RTD"],
            "vmp_snomed_code": pa.array([10970211000001102.0]),
            "vmp_product_name": ["Etanercept"],
            "total_quantity": [64.0],
        }
    )
    path = tmp_path / "floats.parquet"
    pq.write_table(table, path)
    result = read_usage(path)
    assert result.quarantine["reason"].tolist() == [
        "malformed VMP code (expected a dm+d id: 6-20 ASCII digits, not starting with 0)"
    ]
    assert result.quarantine["line"].tolist() == [1]


def test_mixed_corpus_loses_and_duplicates_nothing(tmp_path):
    """Every bad row from the corpus in one file, interleaved with distinct valid rows."""
    valid = [
        f"2019{m:02d},RTD,39110111000001103,Lithium carbonate 400mg,428673006,tablet,{m * 10},{m}.5"
        for m in range(1, 13)
    ]
    bad = [b[1] for b in BAD_ROWS]
    rows = [row for pair in zip_longest(valid, bad) for row in pair if row is not None]
    result = read_usage(published(tmp_path, *rows))
    s = result.summary
    assert s.rows_read == len(valid) + len(bad) == s.rows_accepted + s.rows_quarantined
    assert s.rows_quarantined == len(bad)
    expected = sorted(int(r.split(",")[0]) for r in valid)
    got = sorted(int(d) for d in result.data["year_month"].dt.strftime("%Y%m"))
    assert got == expected
    assert result.data["quantity"].sum() == sum(m * 10 for m in range(1, 13))


def test_short_row_is_quarantined(tmp_path):
    short = GOOD_2.rsplit(",", 1)[0]  # the cost field is missing altogether
    path = published(tmp_path, GOOD_1, short, GOOD_3)
    result = read_usage(path)
    assert result.quarantine[["line", "column", "reason"]].to_dict("records") == [
        {"line": 3, "column": "", "reason": "wrong number of fields (7, header has 8)"}
    ]
    assert result.data["quantity"].tolist() == [560.0, 150.0]


def test_blank_line_keeps_line_numbers_exact(tmp_path):
    bad = GOOD_2.replace(",RTD,", ",ZZZ,")
    path = write(tmp_path, "gap.csv", f"{PUBLISHED_HEADER}\n{GOOD_1}\n\n{bad}\n")
    result = read_usage(path)
    assert result.quarantine["line"].tolist() == [4]  # header 1, row 2, blank 3, bad row 4
    assert result.summary.rows_read == 2


def test_parquet_nan_cost_is_missing_not_quarantined(tmp_path):
    table = pa.table(
        {
            "year_month": ["2019-04-01", "2019-05-01"],
            "indicative_cost": pa.array([float("nan"), 4.5]),
            "quantity": [100.0, 90.0],
            "uom": ["TABLET", "TABLET"],
            "ods_code": ["RTD", "RTD"],
            "vmp_code": ["39110111000001103", "39110111000001103"],
            "vmp_name": ["Lithium carbonate 400mg", "Lithium carbonate 400mg"],
        }
    )
    path = tmp_path / "nan_cost.parquet"
    pq.write_table(table, path)
    result = read_usage(path)
    assert result.summary.rows_quarantined == 0
    assert result.summary.rows_without_cost == 1
    assert np.isnan(result.data["cost_gbp"].iloc[0])
    assert result.data["cost_gbp"].iloc[1] == 4.5
