"""Patient extracts in the store: ingested as one unit, replaced whole, read by the audit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from medlib.cli import app
from medlib.context import patient_coverage, report_unavailable, resolve_context
from medlib.io.patient_store import (
    ingest_patients,
    patient_extracts,
    patient_status_lines,
    patient_streams,
    patient_trusts,
    read_patient_store,
)
from medlib.io.patient_tables import PatientDataError
from medlib.io.store import Store
from medlib.polypharmacy.report import headline_table, load_audit
from medlib.synthetic.patients import generate_patients

CENSUS = "2024-03-31"
TABLES = ("patients", "medications", "conditions", "tests")


def _write(folder, tables) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        frame = getattr(tables, name).copy()
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].dt.strftime("%Y-%m-%d")
        frame.to_csv(folder / f"{name}.csv", index=False)


@pytest.fixture(scope="module")
def synthetic():
    return generate_patients(scale=0.05, census_date=CENSUS)


@pytest.fixture
def extract(tmp_path, synthetic):
    folder = tmp_path / "rtd_extract"
    _write(folder, synthetic.tables)
    return folder


def test_extract_round_trips_through_the_store(tmp_path, extract, synthetic):
    store = Store(tmp_path / "store", create=True)
    result = ingest_patients(extract, store)
    assert result.action == "added" and result.stream == "rtd_extract"
    assert patient_streams(store) == ["rtd_extract"]
    tables = read_patient_store(store)
    for name in TABLES:
        pd.testing.assert_frame_equal(
            getattr(tables, name), getattr(synthetic.tables, name), check_dtype=False
        )
    log = store.log()
    assert log[["table", "stream", "rows_quarantined"]].values.tolist() == [
        ["patients", "rtd_extract", 0]
    ]
    expected = sum(len(getattr(synthetic.tables, n)) for n in TABLES)
    assert log["rows_read"].iloc[0] == log["rows_accepted"].iloc[0] == expected
    assert patient_trusts(store) == frozenset(synthetic.tables.patients["trust_code"])


def test_same_files_again_change_nothing_and_a_new_extract_replaces_the_stream(
    tmp_path, extract, synthetic
):
    store = Store(tmp_path / "store", create=True)
    ingest_patients(extract, store)
    again = ingest_patients(extract, store)
    assert again.action == "unchanged" and len(store.log()) == 1
    # A new extract of the stream with half the patients replaces all four tables.
    keep = synthetic.tables.patients["patient_id"].iloc[::2]
    _write(extract, synthetic.tables.for_patients(keep))
    replaced = ingest_patients(extract, store)
    assert replaced.action == "replaced"
    tables = read_patient_store(store)
    assert sorted(tables.patients["patient_id"]) == sorted(keep)
    assert set(tables.medications["patient_id"]) <= set(keep)
    assert len(store.log()) == 2
    assert patient_extracts(store)[0][1] == replaced.sha256 != again.sha256


def test_every_row_is_accepted_or_quarantined(tmp_path, extract):
    medications = (extract / "medications.csv").read_text(encoding="utf-8")
    (extract / "medications.csv").write_text(
        medications + "nobody,321745007,Amitriptyline,0403010B0AAAGAG,2023-01-01,\n",
        encoding="utf-8",
    )
    store = Store(tmp_path / "store", create=True)
    result = ingest_patients(extract, store)
    summary = result.results["medications"].summary
    assert summary.rows_quarantined == 1 and summary.reasons == {
        "unknown patient id (not in the patients table)": 1
    }
    assert summary.rows_read == summary.rows_accepted + 1
    [quarantine] = result.quarantine_files
    assert "nobody" in Path(quarantine).read_text(encoding="utf-8")
    assert store.log()["rows_quarantined"].tolist() == [1]


def test_the_audit_reads_the_stores_extract(tmp_path, extract, synthetic):
    store = tmp_path / "store"
    ingest_patients(extract, store)
    context = resolve_context("RTD", "2024-03")
    from_store = load_audit(context, store=str(store))
    from_folder = load_audit(context, patient_data_dir=str(extract))
    assert not from_store.synthetic
    assert from_store.source == "patient extract in the store (rtd_extract)"
    pd.testing.assert_frame_equal(
        headline_table(from_store).drop(columns="data_source"),
        headline_table(from_folder).drop(columns="data_source"),
    )
    pd.testing.assert_frame_equal(from_store.pincer_flags, from_folder.pincer_flags)


def test_preflight_uses_the_stores_trusts(tmp_path, extract, synthetic):
    store = tmp_path / "store"
    rtd_only = synthetic.tables.for_patients(
        synthetic.tables.patients.loc[
            synthetic.tables.patients["trust_code"] == "RTD", "patient_id"
        ]
    )
    _write(extract, rtd_only)
    ingest_patients(extract, store)
    values = {"store": str(store)}
    assert report_unavailable(["patients"], "RTD", values) is None
    assert report_unavailable(["patients"], "RTF", values) == (
        "no polypharmacy data for RTF: no patients in the store's patient extracts (rtd_extract)"
    )
    assert patient_coverage("") is None  # the bundled store holds no patient extract


def test_a_store_without_extracts_says_how_to_add_one(tmp_path):
    store = Store(tmp_path / "store", create=True)
    with pytest.raises(PatientDataError, match="medlib ingest FOLDER --table patients"):
        read_patient_store(store)
    assert patient_status_lines(store) == ["patients: no patient extract"]


def test_cli_ingests_a_patient_folder_and_status_lists_it(tmp_path, extract):
    store = tmp_path / "store"
    runner = CliRunner()
    done = runner.invoke(
        app, ["ingest", str(extract), "--table", "patients", "--store", str(store)]
    )
    assert done.exit_code == 0, done.output
    assert "patient extract, stream rtd_extract): added to the store" in done.output
    status = runner.invoke(app, ["store", "status", "--store", str(store)])
    assert status.exit_code == 0
    assert "rtd_extract: from rtd_extract" in status.output
    missing = runner.invoke(
        app, ["ingest", str(tmp_path / "nowhere"), "--table", "patients", "--store", str(store)]
    )
    assert missing.exit_code == 2 and "not a folder" in missing.output


def test_files_a_killed_ingest_left_aside_are_never_read_and_are_removed(tmp_path, extract):
    store = Store(tmp_path / "store", create=True)
    ingest_patients(extract, store)
    before = read_patient_store(store).patients
    stray = store.root / "patients" / "stream=rtd_extract" / ".data.parquet.dead.tmp"
    stray.write_bytes(b"half a file")
    pd.testing.assert_frame_equal(read_patient_store(store).patients, before)
    assert ingest_patients(extract, store).action == "unchanged"
    assert not stray.exists()
