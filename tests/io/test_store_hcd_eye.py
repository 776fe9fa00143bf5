"""The store keeps ``hcd_activity``'s optional eye: both eyes on one day stay two injections."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from medlib.io.store import HCD_SCHEMA, Store, ingest

HEADER = "patient_id,trust_code,activity_date,molecule,product,indication,quantity,cost_gbp"


def _write(path, lines, eye=None):
    header = HEADER + (",eye" if eye is not None else "")
    body = [
        line + (f",{e}" if eye is not None else "")
        for line, e in zip(lines, eye or lines, strict=True)
    ]
    path.write_text("\n".join([header, *body]) + "\n", encoding="utf-8")
    return path


def test_both_eyes_on_one_day_are_stored_as_two_injections(tmp_path):
    line = "a1,RTD,2024-01-05,Aflibercept,Eylea,Wet AMD,1,816"
    path = _write(tmp_path / "amd_2024.csv", [line, line], eye=["left", "R"])
    [result] = ingest([path], tmp_path / "store", table="hcd_activity")
    assert (result.summary.rows_accepted, result.summary.rows_quarantined) == (2, 0)
    rows = Store(tmp_path / "store").read("hcd_activity")
    assert rows["eye"].tolist() == ["left", "right"]
    # The wet AMD report reads them in the engine, eye and all.
    from medlib.wet_amd.data import store_anti_vegf_rows

    read = store_anti_vegf_rows(str(tmp_path / "store"), pd.Timestamp("2024-01-31"))
    assert sorted(read["eye"]) == ["left", "right"]


def test_a_file_without_eyes_is_stored_with_the_eye_empty(tmp_path):
    path = _write(tmp_path / "amd.csv", ["a1,RTD,2024-01-05,Aflibercept,Eylea,Wet AMD,1,816"])
    ingest([path], tmp_path / "store", table="hcd_activity")
    rows = Store(tmp_path / "store").read("hcd_activity")
    assert rows["eye"].isna().tolist() == [True]
    assert rows["patient_id"].tolist() == ["a1"]


def test_a_month_file_from_before_the_eye_column_still_reads_and_merges(tmp_path):
    store = Store(tmp_path / "store", create=True)
    first = _write(tmp_path / "trust_a.csv", ["a1,RTD,2024-01-05,Aflibercept,Eylea,Wet AMD,1,816"])
    ingest([first], store, table="hcd_activity")
    # Rewrite the month file as the store wrote it before the eye column: no eye field.
    target = store.partition("2024-01", "hcd_activity")
    old = pq.read_table(target)
    without = old.drop(["eye"])
    pq.write_table(without.replace_schema_metadata(old.schema.metadata), target)
    assert "eye" not in pq.read_schema(target).names
    # Another stream's rows for the same month, with eyes, merge with the old rows.
    second = _write(
        tmp_path / "trust_b.csv",
        ["b2,RTF,2024-01-09,Faricimab,Vabysmo,Wet AMD,1,857"],
        eye=["left"],
    )
    ingest([second], store, table="hcd_activity")
    rows = store.read("hcd_activity").sort_values("patient_id")
    assert rows["patient_id"].tolist() == ["a1", "b2"]
    assert rows["eye"].isna().tolist() == [True, False]
    assert pq.read_schema(target).names == HCD_SCHEMA.names
    assert HCD_SCHEMA.field("eye").type == pa.string()
