import pandas as pd
import pytest

from medlib.errors import MissingColumnsError
from medlib.io.hcd_activity import HCD_COLUMNS, read_hcd_activity, validate_hcd_activity
from medlib.io.usage import UnusableFileError
from medlib.validation import require_columns

TRUSTS = ["RTD", "RR7"]
GOOD = {
    "patient_id": "p1",
    "trust_code": "RTD",
    "activity_date": "2020-04-03",
    "molecule": "Adalimumab",
    "product": "Amgevita",
    "indication": "Rheumatoid arthritis",
    "quantity": "2",
    "cost_gbp": "200.5",
}


def frame(*changes):
    rows = []
    for change in changes:
        row = dict(GOOD)
        row.update(change)
        rows.append(row)
    return pd.DataFrame(rows, columns=HCD_COLUMNS)


class TestValidate:
    def test_good_row_is_canonical(self):
        result = validate_hcd_activity(frame({}), known_trusts=TRUSTS)
        row = result.data.iloc[0]
        assert row["molecule"] == "adalimumab"  # lower-cased
        assert row["activity_date"] == pd.Timestamp("2020-04-03")
        assert row["quantity"] == 2.0 and row["cost_gbp"] == 200.5
        assert list(result.data.columns) == HCD_COLUMNS
        assert result.quarantine.empty

    @pytest.mark.parametrize(
        ("change", "column", "reason"),
        [
            ({"patient_id": " "}, "patient_id", "missing patient pseudonym"),
            ({"trust_code": ""}, "trust_code", "missing trust code"),
            ({"trust_code": "R-1"}, "trust_code", "malformed trust code"),
            ({"trust_code": "ZZZ"}, "trust_code", "unknown trust code"),
            ({"activity_date": ""}, "activity_date", "missing activity date"),
            ({"activity_date": "03/04/2020"}, "activity_date", "unparseable activity date"),
            ({"activity_date": "9999-12-31"}, "activity_date", "activity date out of range"),
            ({"activity_date": "1200-01-01"}, "activity_date", "activity date out of range"),
            ({"molecule": ""}, "molecule", "missing molecule"),
            ({"product": ""}, "product", "missing product (brand)"),
            ({"quantity": ""}, "quantity", "missing quantity"),
            ({"quantity": "two"}, "quantity", "non-numeric quantity"),
            ({"quantity": "0"}, "quantity", "quantity is not positive"),
            ({"cost_gbp": "£3"}, "cost_gbp", "non-numeric cost"),
            ({"cost_gbp": "-1"}, "cost_gbp", "negative cost"),
        ],
    )
    def test_each_bad_row_is_quarantined_with_its_reason(self, change, column, reason):
        result = validate_hcd_activity(frame({}, change), known_trusts=TRUSTS)
        assert len(result.data) == 1
        q = result.quarantine.iloc[0]
        assert (q["line"], q["column"]) == (2, column)
        assert q["reason"].startswith(reason)
        s = result.summary
        assert (s.rows_read, s.rows_accepted, s.rows_quarantined) == (2, 1, 1)

    def test_timestamps_with_a_timezone_keep_their_local_date(self):
        result = validate_hcd_activity(
            frame(
                {"activity_date": "2020-04-03T23:30:00+01:00"},
                {"activity_date": "2020-04-04T00:30:00Z", "patient_id": "P2"},
                {"activity_date": "2020-04-05T09:00:00", "patient_id": "P3"},
            ),
            known_trusts=TRUSTS,
        )
        assert result.quarantine.empty
        assert result.data["activity_date"].tolist() == [
            pd.Timestamp("2020-04-03"),
            pd.Timestamp("2020-04-04"),
            pd.Timestamp("2020-04-05"),
        ]

    def test_first_failing_check_wins_and_value_is_kept(self):
        result = validate_hcd_activity(
            frame({"trust_code": "ZZZ", "quantity": "x"}), known_trusts=TRUSTS
        )
        q = result.quarantine.iloc[0]
        assert (q["column"], q["value"]) == ("trust_code", "ZZZ")

    def test_exact_repeat_is_a_duplicate_but_a_second_dose_is_not(self):
        result = validate_hcd_activity(
            frame({}, {}, {"activity_date": "2020-05-01"}), known_trusts=TRUSTS
        )
        assert len(result.data) == 2
        assert result.quarantine["reason"].tolist() == ["duplicate row (same values as line 1)"]
        assert result.summary.reasons == {"duplicate row": 1}

    def test_missing_cost_is_missing_not_zero(self):
        result = validate_hcd_activity(frame({"cost_gbp": ""}), known_trusts=TRUSTS)
        assert pd.isna(result.data["cost_gbp"].iloc[0])
        assert result.summary.rows_without_cost == 1

    def test_optional_columns_may_be_absent(self):
        data = frame({}).drop(columns=["indication", "cost_gbp"])
        result = validate_hcd_activity(data, known_trusts=TRUSTS)
        assert result.data["cost_gbp"].isna().all()
        assert not result.summary.has_cost_column

    def test_empty_known_trusts_accepts_any_well_formed_code(self):
        result = validate_hcd_activity(frame({"trust_code": "ABC12"}), known_trusts=())
        assert len(result.data) == 1

    def test_typed_input_is_accepted(self):
        typed = frame({}).assign(
            activity_date=pd.to_datetime(["2020-04-03"]), quantity=[2.0], cost_gbp=[200.5]
        )
        result = validate_hcd_activity(typed, known_trusts=TRUSTS)
        assert len(result.data) == 1 and result.quarantine.empty

    def test_missing_required_column_is_unusable(self):
        with pytest.raises(
            UnusableFileError, match="missing the required columns product, quantity"
        ):
            validate_hcd_activity(
                frame({}).drop(columns=["product", "quantity"]),
                source="extract.csv",
                known_trusts=TRUSTS,
            )


class TestRead:
    def test_csv_lines_count_from_the_header(self, tmp_path):
        path = tmp_path / "hcd.csv"
        frame({}, {"quantity": "-1"}).to_csv(path, index=False)
        result = read_hcd_activity(path, known_trusts=TRUSTS)
        assert result.quarantine["line"].tolist() == [3]
        assert result.quarantine["file"].iloc[0] == str(path)

    def test_blank_lines_and_ragged_rows_keep_their_physical_line(self, tmp_path):
        path = tmp_path / "hcd.csv"
        header = ",".join(HCD_COLUMNS)
        good = ",".join(GOOD[c] for c in HCD_COLUMNS)
        rows = [
            header,  # line 1
            good,  # line 2: accepted
            "",  # line 3: blank, not a row
            good.replace(",2,", ",-1,"),  # line 4: quantity -1
            good.rsplit(",", 1)[0],  # line 5: 7 fields, cost missing
            good + ",extra",  # line 6: 9 fields
        ]
        path.write_text("\n".join(rows) + "\n")
        result = read_hcd_activity(path, known_trusts=TRUSTS)
        assert len(result.data) == 1
        assert result.quarantine[["line", "reason"]].values.tolist() == [
            [4, "quantity is not positive"],
            [5, "wrong number of fields (7, header has 8)"],
            [6, "wrong number of fields (9, header has 8)"],
        ]
        s = result.summary
        assert (s.rows_read, s.rows_accepted, s.rows_quarantined) == (4, 1, 3)

    def test_a_repeated_column_is_refused_in_a_file_and_a_frame(self, tmp_path):
        path = tmp_path / "hcd.csv"
        header = ",".join(HCD_COLUMNS) + ",quantity"
        path.write_text(header + "\n" + ",".join(GOOD[c] for c in HCD_COLUMNS) + ",-5\n")
        with pytest.raises(UnusableFileError, match="the header repeats the column name quantity"):
            read_hcd_activity(path, known_trusts=TRUSTS)
        doubled = pd.concat([frame({}), frame({})[["quantity"]]], axis=1)
        with pytest.raises(UnusableFileError, match="repeats the column name quantity"):
            validate_hcd_activity(doubled, known_trusts=TRUSTS)

    def test_parquet(self, tmp_path):
        path = tmp_path / "hcd.parquet"
        frame({}).to_parquet(path)
        assert len(read_hcd_activity(path, known_trusts=TRUSTS).data) == 1

    def test_unusable_files(self, tmp_path):
        with pytest.raises(UnusableFileError, match="does not exist"):
            read_hcd_activity(tmp_path / "none.csv")
        empty = tmp_path / "empty.csv"
        empty.write_text("")
        with pytest.raises(UnusableFileError, match="is empty"):
            read_hcd_activity(empty)
        latin = tmp_path / "latin.csv"
        latin.write_bytes("patient_id\n\xe9\n".encode("latin-1"))
        with pytest.raises(UnusableFileError, match="not UTF-8"):
            read_hcd_activity(latin)
        fake = tmp_path / "fake.parquet"
        fake.write_text("not parquet")
        with pytest.raises(UnusableFileError, match="not a readable Parquet"):
            read_hcd_activity(fake)


def test_require_columns_names_what_is_missing():
    with pytest.raises(MissingColumnsError, match="usage is missing column\\(s\\) quantity"):
        require_columns(pd.DataFrame({"a": [1]}), ["a", "quantity"], "usage")
    with pytest.raises(MissingColumnsError, match="expected a pandas DataFrame"):
        require_columns([1, 2], ["a"], "usage")
