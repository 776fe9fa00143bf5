"""The optional ``eye`` column of ``hcd_activity``: read when present, nothing changes without it."""

import pandas as pd
import pytest

from medlib.io.hcd_activity import (
    EYE_SPELLINGS,
    HCD_COLUMNS,
    read_hcd_activity,
    validate_hcd_activity,
)


def rows(**columns):
    """Injections of one patient on 1 January 2024, one row per value given."""
    n = len(next(iter(columns.values())))
    base = {
        "patient_id": ["a1"] * n,
        "trust_code": ["RTD"] * n,
        "activity_date": ["2024-01-01"] * n,
        "molecule": ["Aflibercept"] * n,
        "product": ["Eylea"] * n,
        "indication": ["Wet AMD"] * n,
        "quantity": [1] * n,
        "cost_gbp": [816.0] * n,
    }
    return pd.DataFrame({**base, **columns})


def test_a_table_without_the_column_reads_exactly_as_before():
    frame = rows(patient_id=["a1", "a1", "b2"])
    result = validate_hcd_activity(frame, known_trusts=())
    assert list(result.data.columns) == HCD_COLUMNS
    assert result.data["patient_id"].tolist() == ["a1", "b2"]
    assert result.quarantine[["line", "column", "reason"]].values.tolist() == [
        [2, "patient_id", "duplicate row (same values as line 1)"]
    ]
    assert (result.summary.rows_read, result.summary.rows_accepted) == (3, 2)


def test_both_eyes_on_one_day_are_two_injections_and_a_repeat_is_still_a_duplicate():
    frame = rows(eye=["left", "right", "left"])
    result = validate_hcd_activity(frame, known_trusts=())
    assert list(result.data.columns) == [*HCD_COLUMNS, "eye"]
    assert result.data["eye"].tolist() == ["left", "right"]
    assert result.quarantine[["line", "column", "reason"]].values.tolist() == [
        [3, "patient_id", "duplicate row (same values as line 1)"]
    ]
    s = result.summary
    assert (s.rows_read, s.rows_accepted, s.rows_quarantined) == (3, 2, 1)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("left", "left"),
        ("Left", "left"),
        (" L ", "left"),
        ("lt", "left"),
        ("LE", "left"),
        ("OS", "left"),
        ("left eye", "left"),
        ("RIGHT", "right"),
        ("r", "right"),
        ("RT", "right"),
        ("Re", "right"),
        ("od", "right"),
        ("Right Eye", "right"),
    ],
)
def test_the_eye_is_normalised_to_left_or_right(written, read):
    result = validate_hcd_activity(rows(eye=[written]), known_trusts=())
    assert result.data["eye"].tolist() == [read]
    assert result.summary.rows_quarantined == 0


def test_every_spelling_reads_as_left_or_right():
    assert set(EYE_SPELLINGS.values()) == {"left", "right"}
    assert all(key == key.strip().lower() for key in EYE_SPELLINGS)


def test_a_missing_eye_is_kept_as_missing_and_other_values_are_quarantined():
    frame = rows(patient_id=["a1", "b2", "c3", "d4"], eye=["", None, "both", "middle"])
    result = validate_hcd_activity(frame, known_trusts=())
    assert result.data["patient_id"].tolist() == ["a1", "b2"]
    assert result.data["eye"].isna().all()
    assert result.quarantine[["line", "column", "value", "reason"]].values.tolist() == [
        [3, "eye", "both", "both eyes on one row (give one row per eye)"],
        [
            4,
            "eye",
            "middle",
            "unrecognised eye (expected left or right, L or R, LT or RT, LE or RE, OS or OD)",
        ],
    ]


def test_a_missing_eye_and_a_given_eye_on_the_same_day_are_different_rows():
    result = validate_hcd_activity(rows(eye=["", "left", None]), known_trusts=())
    # The two rows with no eye are the same row twice; the one with an eye is another.
    assert result.data["eye"].tolist()[1] == "left"
    assert len(result.data) == 2
    assert result.quarantine["reason"].tolist() == ["duplicate row (same values as line 1)"]


def test_a_csv_with_the_column_is_read_with_it(tmp_path):
    path = tmp_path / "injections.csv"
    path.write_text(
        "patient_id,trust_code,activity_date,molecule,product,indication,quantity,cost_gbp,eye\n"
        "a1,RTD,2024-01-01,aflibercept,Eylea,Wet AMD,1,816,L\n"
        "a1,RTD,2024-01-01,aflibercept,Eylea,Wet AMD,1,816,R\n"
        "a1,RTD,2024-01-01,aflibercept,Eylea,Wet AMD,1,816,r\n"
        "a1,RTD,2024-01-29,aflibercept,Eylea,Wet AMD,1,816,x\n",
        encoding="utf-8",
    )
    result = read_hcd_activity(path, known_trusts=())
    assert result.data["eye"].tolist() == ["left", "right"]
    assert result.quarantine[["line", "column", "reason"]].values.tolist() == [
        [4, "patient_id", "duplicate row (same values as line 3)"],
        [
            5,
            "eye",
            "unrecognised eye (expected left or right, L or R, LT or RT, LE or RE, OS or OD)",
        ],
    ]


def test_the_eye_does_not_change_the_other_columns():
    without = validate_hcd_activity(rows(patient_id=["a1", "b2"]), known_trusts=()).data
    with_eye = validate_hcd_activity(
        rows(patient_id=["a1", "b2"], eye=["l", "r"]), known_trusts=()
    ).data
    pd.testing.assert_frame_equal(with_eye[HCD_COLUMNS], without)
