"""The switch report made from a store's own ``hcd_activity`` rows, not the synthetic sample."""

import matplotlib
import pandas as pd
import pytest
import yaml
from switch_fixtures import DOC, TESTMAB, hand_activity

from medlib.context import resolve_context
from medlib.io.hcd_activity import HCD_COLUMNS, validate_hcd_activity
from medlib.io.store import ingest
from medlib.switch.report import (
    STORE_LABEL,
    analyse_molecule,
    build,
    comparison_trusts,
    store_hcd_activity,
)
from medlib.synthetic.hcd_activity import SYNTHETIC_LABEL

matplotlib.use("Agg")

COLUMNS = HCD_COLUMNS


def _extract() -> pd.DataFrame:
    rows = hand_activity().assign(indication="rheumatoid arthritis")
    # RLN merged into R0B (same region); RJ1 is a London trust, outside the region.
    extra = rows[rows["patient_id"] == "p1"].assign(patient_id="s1", trust_code="RLN")
    london = rows[rows["patient_id"] == "p2"].assign(patient_id="g1", trust_code="RJ1")
    rows = pd.concat([rows, extra, london], ignore_index=True)
    rows["activity_date"] = rows["activity_date"].dt.strftime("%Y-%m-%d")
    return rows[COLUMNS]


@pytest.fixture(scope="module")
def store_and_definitions(tmp_path_factory):
    folder = tmp_path_factory.mktemp("switch_store")
    extract = folder / "hcd_extract_2020.csv"
    _extract().to_csv(extract, index=False)
    ingest([extract], folder / "store", table="hcd_activity")
    definitions = folder / "switch_definitions.yaml"
    definitions.write_text(yaml.safe_dump(DOC), encoding="utf-8")
    return str(folder / "store"), str(definitions)


def _build(store, definitions, trust="RTD", period_end="2020-05"):
    return build(
        resolve_context(trust, period_end),
        ["testmab"],
        "definition",
        definitions_path=definitions,
        store=store,
    )


def test_report_uses_the_stores_rows_and_says_so(store_and_definitions):
    store, definitions = store_and_definitions
    report = _build(store, definitions)
    assert not report.is_synthetic and report.sample is None
    note = report.data_note()
    assert note.startswith(f"**{STORE_LABEL}** (real data, not synthetic)")
    assert SYNTHETIC_LABEL not in note
    assert "Files: hcd_extract_2020.csv." in note
    # 18 testmab/othermab rows + 5 RLN rows mapped to R0B; RJ1 (London) is not compared.
    assert (
        "Trusts compared (region comparison group, with rows in the store): RTD, R0B, RR7" in note
    )
    assert "Rows read 25 = accepted 25 + quarantined 0; months 2019-06 to 2020-05" in note
    tables = report.tables()
    assert tables["switch_doac_curve"].attrs["note"].startswith("Real data")
    for name in ("switch_headline", "switch_league", "switch_savings", "switch_uptake_monthly"):
        assert tables[name].attrs["note"] == STORE_LABEL
        assert set(tables[name]["data_source"]) == {"data store hcd_activity"}


def test_store_results_are_the_hand_worked_ones(store_and_definitions):
    store, definitions = store_and_definitions
    result = _build(store, definitions).result("testmab")
    status = result.status.set_index(["trust_code", "group"])
    # The hand-worked statuses of tests/switch/test_switch_uptake.py: RTD new from month 1,
    # p4 (no) and p5 (yes) -> 50%, not met; existing at the end of May, 1 of 1 -> met.
    assert status.loc[("RTD", "new"), ["patients", "on_best_value", "status"]].tolist() == [
        2.0,
        1.0,
        "not met",
    ]
    assert status.loc[("RTD", "existing"), ["patients", "status"]].tolist() == [1.0, "met"]
    # R0B's only patient is a copy of p1 (switched 3 Apr, on Bestia at the end of May).
    assert status.loc[("R0B", "existing"), ["patients", "on_best_value"]].tolist() == [1.0, 1.0]
    assert "RJ1" not in set(result.status["trust_code"])


def test_store_results_equal_the_analysis_of_the_same_rows(store_and_definitions):
    store, definitions = store_and_definitions
    got = _build(store, definitions).result("testmab")
    rows = store_hcd_activity(store, pd.Timestamp("2020-05-31")).drop(columns="source")
    rows = rows[rows["trust_code"].isin(["RTD", "R0B", "RR7"])].reset_index(drop=True)
    valid = validate_hcd_activity(rows, known_trusts=()).data
    expected = analyse_molecule(valid, TESTMAB, ["RTD", "R0B", "RR7"], "RTD")
    pd.testing.assert_frame_equal(got.status, expected.status)
    pd.testing.assert_frame_equal(got.existing, expected.existing)
    pd.testing.assert_frame_equal(got.savings, expected.savings)


def test_two_trusts_reports_show_the_same_peer_figures(store_and_definitions):
    store, definitions = store_and_definitions
    rtd = _build(store, definitions, "RTD").league("testmab")
    rr7 = _build(store, definitions, "RR7").league("testmab")
    # Each report marks its own row; every figure is the same in both.
    figures = [c for c in rtd.columns if c not in ("this_trust", "rank")]
    key = rtd.columns[0]
    pd.testing.assert_frame_equal(
        rtd[figures].sort_values(key).reset_index(drop=True),
        rr7[figures].sort_values(key).reset_index(drop=True),
    )
    assert len(rtd) == 3


def test_period_end_cuts_the_stores_rows(store_and_definitions):
    store, definitions = store_and_definitions
    report = _build(store, definitions, period_end="2020-04")
    assert report.activity["activity_date"].max() <= pd.Timestamp("2020-04-30")
    assert "months 2019-06 to 2020-04" in report.data_note()


def test_a_trust_without_rows_in_the_store_gets_the_synthetic_sample(store_and_definitions):
    store, definitions = store_and_definitions
    report = build(
        resolve_context("RTF", "2020-05"),
        ["testmab"],
        "definition",
        definitions_path=definitions,
        store=store,
        volumes=pd.DataFrame(
            [("RTF", "testmab", 20)], columns=["trust_code", "molecule", "patients"]
        ),
    )
    assert report.is_synthetic
    note = report.data_note()
    assert note.startswith(f"**{SYNTHETIC_LABEL}.**")
    assert "The data store has no hcd_activity rows for RTF" in note
    tables = report.tables()
    assert tables["switch_headline"].attrs["note"] == SYNTHETIC_LABEL
    assert set(tables["switch_headline"]["data_source"]) == {"synthetic sample (seed 2025)"}


def test_comparison_groups():
    context = resolve_context("RTD", "2020-05")
    with_rows = ["RTD", "RR7", "RJ1"]
    assert comparison_trusts(context, with_rows) == ["RTD", "RR7"]
    national = resolve_context("RTD", "2020-05", comparison_group="national")
    assert comparison_trusts(national, with_rows) == ["RTD", "RJ1", "RR7"]
    icb = resolve_context("RTD", "2020-05", comparison_group="icb")
    assert comparison_trusts(icb, ["RTD", "RR7", "RX4", "RJ1"]) == ["RTD", "RR7", "RX4"]


def test_a_store_without_hcd_activity_reads_as_empty(tmp_path):
    from medlib.io.store import Store

    Store(tmp_path / "empty", create=True)
    rows = store_hcd_activity(str(tmp_path / "empty"), pd.Timestamp("2024-03-31"))
    assert rows.empty and "patient_id" in rows.columns
