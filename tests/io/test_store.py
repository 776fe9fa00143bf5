"""The data store: published monthly files in, releases kept straight, months swapped whole."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from medlib.cli import app
from medlib.io.datasets import bundled_store, load_dataset
from medlib.io.store import Store, StoreError, ingest, store_status
from medlib.io.usage import SCMD_PUBLISHED_HEADER, UnusableFileError

LITHIUM = "36040211000001104"  # a dm+d VMP in the bundled products reference
NAME = "Lithium carbonate 450mg modified-release tablets"
PUBLISHED = ",".join(SCMD_PUBLISHED_HEADER)
UNIT_DOSE = (
    "YEAR_MONTH,ODS_CODE,VMP_SNOMED_CODE,VMP_PRODUCT_NAME,VMP_UDFS_UNIT_OF_MEASURE_NAME,"
    "VMP_UNIT_DOSE_UNIT_OF_MEASURE_NAME,TOTAL_QUANTITY_IN_VMP_UDFS_UNIT_OF_MEASURE,"
    "TOTAL_QUANTITY_IN_VMP_UNIT_DOSE_UNIT_OF_MEASURE,INDICATIVE_COST"
)


def published(path: Path, month: str, rows: list[tuple[str, float, float]]) -> Path:
    """A monthly file in the published SCMD layout: (trust, quantity, cost) per row."""
    lines = [PUBLISHED] + [
        f"{month},{trust},{LITHIUM},{NAME},428673006,tablet,{qty},{cost}"
        for trust, qty, cost in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def totals(store: Store) -> dict[tuple[str, str], float]:
    usage = store.read_usage()
    return {
        (f"{r.year_month:%Y-%m}", r.trust_code): r.quantity
        for r in usage.itertuples()
        if r.source == "scmd"
    }


@pytest.fixture
def months(tmp_path):
    april = published(
        tmp_path / "scmd_provisional_202404.csv",
        "202404",
        [("RTD", 100, 12.5), ("RR7", 50, 6.25), ("ZZZ", 5, 1.0)],
    )
    may = published(
        tmp_path / "scmd_provisional_202405.csv", "2024-05", [("RTD", 110, 13.75), ("RR7", 40, 5)]
    )
    april_final = published(
        tmp_path / "scmd_final_202404.csv", "2024-04-01", [("RTD", 120, 15.0), ("RR7", 50, 6.25)]
    )
    return april, may, april_final


def test_two_provisional_months_then_a_final_one(tmp_path, months):
    april, may, april_final = months
    store = Store(tmp_path / "store", create=True)
    first = ingest([april, may], store)
    # The unknown trust ZZZ is quarantined with its line; every row is accounted for.
    assert [
        (r.summary.rows_read, r.summary.rows_accepted, r.summary.rows_quarantined) for r in first
    ] == [(3, 2, 1), (2, 2, 0)]
    quarantine = pd.read_csv(first[0].quarantine_file)
    assert quarantine[["line", "column", "value"]].values.tolist() == [[4, "ODS_CODE", "ZZZ"]]
    assert [m.action for r in first for m in r.months] == ["added", "added"]

    final = ingest([april_final], store)[0]
    assert [(m.month, m.action) for m in final.months] == [("2024-04", "replaced")]
    status = store_status(store)
    assert status.months[["month", "release", "trusts", "rows"]].values.tolist() == [
        ["2024-04", "final", 2, 2],
        ["2024-05", "provisional", 2, 2],
    ]
    assert totals(store) == {
        ("2024-04", "RR7"): 50.0,
        ("2024-04", "RTD"): 120.0,
        ("2024-05", "RR7"): 40.0,
        ("2024-05", "RTD"): 110.0,
    }

    # The same files again change nothing, and say so; the provisional April does not
    # overwrite the final one.
    before = {p: p.stat().st_mtime_ns for p in store.usage_files()}
    again = ingest([april_final, may, april], store)
    assert [(m.month, m.action) for r in again for m in r.months] == [
        ("2024-04", "unchanged"),
        ("2024-05", "unchanged"),
        ("2024-04", "kept"),
    ]
    assert "keeps the final release from scmd_final_202404.csv" in again[2].months[0].detail
    assert not any(r.changed for r in again)
    assert {p: p.stat().st_mtime_ns for p in store.usage_files()} == before
    log = store.log()
    assert log["file"].tolist() == [april.name, may.name, april_final.name]
    assert log[["rows_read", "rows_accepted", "rows_quarantined"]].values.tolist() == [
        [3, 2, 1],
        [2, 2, 0],
        [2, 2, 0],
    ]
    assert (log["rows_read"] == log["rows_accepted"] + log["rows_quarantined"]).all()
    assert log["release"].tolist() == ["provisional", "provisional", "final"]


def test_unit_dose_header_and_gzip(tmp_path):
    text = (
        UNIT_DOSE
        + "\n"
        + f"202406,RTD,{LITHIUM},{NAME},tablet,tablet,30,30,4.5\n"
        + f"202406,RR7,{LITHIUM},{NAME},tablet,tablet,10,10,\n"
    )
    path = tmp_path / "scmd_wip_202406.csv.gz"
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    [result] = ingest([path], tmp_path / "store")
    assert (result.stream, result.release) == ("scmd", "wip")
    usage = Store(tmp_path / "store").read_usage().set_index("trust_code")
    assert usage.loc["RTD", ["quantity", "cost_gbp"]].tolist() == [30.0, 4.5]
    assert pd.isna(usage.loc["RR7", "cost_gbp"])  # missing cost stays missing
    assert usage.loc["RTD", "unit"] == "tablet"


def test_a_file_of_another_layout_is_refused_naming_what_it_lacks(tmp_path):
    path = tmp_path / "scmd_final_202406.csv"
    path.write_text("YEAR_MONTH,ODS_CODE,VMP_SNOMED_CODE\n202406,RTD,1\n", encoding="utf-8")
    with pytest.raises(UnusableFileError, match="missing the required columns VMP_PRODUCT_NAME"):
        ingest([path], tmp_path / "store")
    assert Store(tmp_path / "store").months() == []


def test_streams_share_a_month_without_replacing_each_other(tmp_path, months):
    april = months[0]
    extract = tmp_path / "lithium_extract.csv"
    extract.write_text(
        "year_month,ods_code,vmp_snomed_code,vmp_product_name,total_quantity\n"
        f"2024-04,RTD,{LITHIUM},{NAME},7\n",
        encoding="utf-8",
    )
    store = tmp_path / "store"
    ingest([extract, april], store)
    usage = Store(store).read_usage()
    assert sorted(zip(usage["source"], usage["trust_code"], usage["quantity"], strict=True)) == [
        ("lithium_extract", "RTD", 7.0),
        ("scmd", "RR7", 50.0),
        ("scmd", "RTD", 100.0),
    ]
    assert set(Store(store).streams("2024-04")) == {"lithium_extract", "scmd"}


_KILLED_INGEST = """
import sys
from medlib.io.store import ingest
ingest([sys.argv[1]], sys.argv[2])
"""


def test_an_ingest_killed_mid_write_leaves_the_store_as_it_was(tmp_path, months):
    store = Store(tmp_path / "store", create=True)
    ingest(months[:2], store)
    before = store.read_usage()
    # A year of monthly rows for every NENC trust, in one file: writing it aside takes a while.
    trusts = ["RTD", "RR7", "RTF", "R0B", "RXP", "RVW", "RTR", "RNN"]
    lines = [PUBLISHED]
    for month in pd.period_range("2023-05", "2024-04", freq="M"):
        for i in range(20_000):
            lines.append(
                f"{month:%Y%m},{trusts[i % 8]},{39719411000001000 + i},Product {i},1,unit,1,1"
            )
    big = tmp_path / "scmd_final_big.csv"
    big.write_text("\n".join(lines) + "\n", encoding="utf-8")
    child = subprocess.Popen([sys.executable, "-c", _KILLED_INGEST, str(big), str(store.root)])
    deadline = time.monotonic() + 120
    staged = []
    while not staged and child.poll() is None and time.monotonic() < deadline:
        staged = list(store.usage_dir.glob("month=*/.*.tmp"))
        time.sleep(0.001)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert staged, "the ingest finished before a month was written aside"
    reopened = Store(store.root)
    assert reopened.months() == ["2024-04", "2024-05"]
    pd.testing.assert_frame_equal(reopened.read_usage(), before)
    assert list(reopened.usage_dir.glob("month=*/.*.tmp")) == []  # cleaned on opening
    assert len(reopened.log()) == 2


def test_swaps_begun_before_a_kill_are_completed_on_opening(tmp_path, months):
    april, may, april_final = months
    root = tmp_path / "store"
    ingest([april, may], root)
    other = tmp_path / "other"
    ingest([april_final], other)
    # A journal as an ingest leaves it once its month is written aside: the swap and the log
    # entry to make.
    final = Store(root).partition("2024-04")
    staged = final.parent / ".data.parquet.x.tmp"
    staged.write_bytes(Store(other).partition("2024-04").read_bytes())
    entry = json.loads((other / "ingest_log.jsonl").read_text(encoding="utf-8").splitlines()[0])
    pending = {"swaps": [[str(staged), str(final)]], "log": entry}
    (root / "_pending.json").write_text(json.dumps(pending), encoding="utf-8")
    store = Store(root)
    assert not (root / "_pending.json").exists()
    assert store.streams("2024-04")["scmd"].release == "final"
    assert store.log()["file"].tolist() == [april.name, may.name, april_final.name]


def test_a_store_that_is_not_there_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="there is no store at .*; create one with"):
        Store(tmp_path / "nowhere")
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    with pytest.raises(StoreError, match="is a file"):
        Store(tmp_path / "afile", create=True)


def test_status_lists_the_trusts_missing_from_a_month(tmp_path):
    april = published(tmp_path / "scmd_final_202404.csv", "202404", [("RTD", 1, 1), ("RR7", 1, 1)])
    may = published(tmp_path / "scmd_final_202405.csv", "202405", [("RTD", 1, 1)])
    ingest([april, may], tmp_path / "store")
    status = store_status(tmp_path / "store")
    assert status.missing.values.tolist() == [["usage", "2024-05", "scmd", 1, ["RR7"]]]
    assert status.tables.values.tolist() == [["usage", "2024-04", "2024-05", 2, 3]]
    assert "  2024-05 scmd: 1 trusts missing (RR7)" in status.lines()


def test_the_bundled_sample_is_a_store_holding_exactly_the_bundled_data():
    store = bundled_store()
    keys = ["source", "year_month", "trust_code", "vmp_code"]
    stored = store.read_usage().sort_values(keys, ignore_index=True)
    # The usage table is the lithium extract: the one bundled extract with costs over 5 years.
    bundled = load_dataset("scmd_lithium").assign(source="scmd_lithium")
    bundled = bundled.sort_values(keys, ignore_index=True)[stored.columns]
    pd.testing.assert_frame_equal(stored, bundled)
    assert set(store_status(store).months["stream"]) == {"scmd_lithium"}


def test_the_command_line_ingests_and_reports_status(tmp_path, months):
    runner = CliRunner()
    store = tmp_path / "store"
    result = runner.invoke(app, ["ingest", *map(str, months), "--store", str(store)])
    assert result.exit_code == 1  # a row was quarantined
    assert "2024-04: replaced (was the provisional release" in result.output
    again = runner.invoke(app, ["ingest", str(months[2]), "--store", str(store)])
    assert again.exit_code == 0 and "nothing in the store changed" in again.output
    status = runner.invoke(app, ["store", "status", "--store", str(store)])
    assert status.exit_code == 0
    assert "2024-04 scmd: final (scmd_final_202404.csv); 2 trusts, 2 rows" in status.output
    missing = runner.invoke(app, ["store", "status", "--store", str(tmp_path / "none")])
    assert missing.exit_code == 2


HCD_HEADER = "patient_id,trust_code,activity_date,molecule,product,indication,quantity,cost_gbp"


def test_hcd_activity_is_a_table_of_the_store_too(tmp_path):
    extract = tmp_path / "hcd_extract_2024.csv"
    extract.write_text(
        HCD_HEADER
        + "\n"
        + "p1,RTD,2024-04-03,adalimumab,Amgevita,rheumatoid arthritis,1,150\n"
        + "p1,RTD,2024-04-17,adalimumab,Amgevita,rheumatoid arthritis,1,150\n"
        + "p2,RR7,2024-05-09,adalimumab,Humira,psoriasis,2,\n"
        + "p3,RR7,not a date,adalimumab,Humira,psoriasis,1,10\n",
        encoding="utf-8",
    )
    store = Store(tmp_path / "store", create=True)
    [result] = ingest([extract], store, table="hcd_activity")
    assert (result.summary.rows_read, result.summary.rows_quarantined) == (4, 1)
    assert [(m.month, m.action) for m in result.months] == [
        ("2024-04", "added"),
        ("2024-05", "added"),
    ]
    assert store.months("hcd_activity") == ["2024-04", "2024-05"] and store.months() == []
    rows = store.read("hcd_activity")
    assert rows[["patient_id", "trust_code", "product", "quantity"]].values.tolist() == [
        ["p1", "RTD", "Amgevita", 1.0],
        ["p1", "RTD", "Amgevita", 1.0],
        ["p2", "RR7", "Humira", 2.0],
    ]
    assert rows["activity_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-04-03",
        "2024-04-17",
        "2024-05-09",
    ]
    assert pd.isna(rows["cost_gbp"].iloc[2]) and set(rows["source"]) == {"hcd_extract_2024"}
    again = ingest([extract], store, table="hcd_activity")[0]
    assert not again.changed
    assert store.log()[["table", "rows_read", "rows_accepted"]].values.tolist() == [
        ["hcd_activity", 4, 3]
    ]
    status = store_status(store)
    assert status.tables.values.tolist() == [["hcd_activity", "2024-04", "2024-05", 2, 3]]
    assert status.months[["table", "month", "trusts", "rows"]].values.tolist() == [
        ["hcd_activity", "2024-04", 1, 2],
        ["hcd_activity", "2024-05", 1, 1],
    ]
    assert status.missing[["month", "trust_codes"]].values.tolist() == [
        ["2024-04", ["RR7"]],
        ["2024-05", ["RTD"]],
    ]
    with pytest.raises(StoreError, match="the store has no table 'patients'"):
        ingest([extract], store, table="patients")


def test_a_store_that_cannot_be_created_is_a_clear_error(tmp_path):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    with pytest.raises(StoreError, match="cannot create a store at .*afile/store"):
        Store(tmp_path / "afile" / "store", create=True)


def test_a_file_whose_every_row_is_quarantined_is_still_logged(tmp_path):
    bad = published(tmp_path / "scmd_final_202406.csv", "202406", [("ZZZ", 1, 1), ("ZZY", 2, 2)])
    [result] = ingest([bad], tmp_path / "store")
    assert (result.summary.rows_accepted, result.summary.rows_quarantined) == (0, 2)
    assert result.months == [] and not result.changed
    assert len(pd.read_csv(result.quarantine_file)) == 2
    log = Store(tmp_path / "store").log()
    assert log[["file", "months", "rows_read", "rows_quarantined"]].values.tolist() == [
        ["scmd_final_202406.csv", [], 2, 2]
    ]
    ingest([bad], tmp_path / "store")  # the same file again adds nothing, not even a line
    assert len(Store(tmp_path / "store").log()) == 1
