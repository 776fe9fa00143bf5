"""Work shared by a pack's reports: computed once in a render, identical to computing it alone."""

from __future__ import annotations

import pandas as pd
import pytest

from medlib.context import resolve_context
from medlib.pack_cache import CACHE_ENV, cache_dir, pack_cached
from medlib.polypharmacy import report as poly_report
from medlib.spend.report import build
from medlib.switch.report import build as build_switch

CALLS: list[tuple[int, int]] = []


@pack_cached
def add(a: int, b: int) -> int:
    CALLS.append((a, b))
    return a + b


@pytest.fixture
def no_render(monkeypatch):
    monkeypatch.delenv(CACHE_ENV, raising=False)


@pytest.fixture
def in_render(monkeypatch, tmp_path):
    folder = tmp_path / "shared-work"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


def test_outside_a_render_every_call_computes_and_nothing_is_written(no_render, tmp_path):
    CALLS.clear()
    assert cache_dir() is None
    assert add(2, 3) == 5
    assert add(2, 3) == 5
    assert CALLS == [(2, 3), (2, 3)]


def test_in_a_render_a_repeated_call_loads_the_stored_result(in_render):
    CALLS.clear()
    assert cache_dir() == str(in_render)
    assert add(2, 3) == 5
    assert add(2, 3) == 5
    assert add(b=3, a=2) == 5
    assert add(3, 2) == 5
    assert CALLS == [(2, 3), (3, 2)]
    assert in_render.is_dir()


# The shared part of each report leaves out what belongs to the report's own trust; each test
# renders two trusts from one cache (cold, then warm) and compares with no cache at all.

SWITCH_TRUSTS = ["RTD", "RR7", "RTF", "RTR"]
SWITCH_NAMES = {"RTD": "Newcastle", "RR7": "Gateshead", "RTF": "Northumbria", "RTR": "South Tees"}


def _switch_tables(trust: str) -> dict[str, pd.DataFrame]:
    volumes = pd.DataFrame(
        [
            (t, m, n)
            for t, n in zip(SWITCH_TRUSTS, (80, 40, 30, 5), strict=True)
            for m in ("adalimumab", "ustekinumab")
        ],
        columns=["trust_code", "molecule", "patients"],
    )
    report = build_switch(
        resolve_context(trust, "2025-03"),
        ["adalimumab", "ustekinumab"],
        "2025",
        11,
        trusts=SWITCH_TRUSTS,
        volumes=volumes,
        trust_names=SWITCH_NAMES,
    )
    return report.tables()


def _alone_and_shared(
    monkeypatch, folder, tables_for, codes: tuple[str, str]
) -> dict[str, dict[str, pd.DataFrame]]:
    """Each trust's tables computed alone, checked equal to those computed from one shared
    folder (the first trust fills it, the second reads it); returns the ones computed alone."""
    monkeypatch.delenv(CACHE_ENV, raising=False)
    alone = {code: tables_for(code) for code in codes}
    monkeypatch.setenv(CACHE_ENV, str(folder))
    shared = {code: tables_for(code) for code in codes}
    for code in codes:
        assert list(shared[code]) == list(alone[code])
        for name, frame in alone[code].items():
            pd.testing.assert_frame_equal(shared[code][name], frame, obj=f"{code} {name}")
    return alone


def test_switch_report_is_the_same_with_shared_work(monkeypatch, tmp_path):
    alone = _alone_and_shared(monkeypatch, tmp_path, _switch_tables, ("RR7", "RTF"))
    # The forecasts are each trust's own, not the first trust's.
    assert not alone["RR7"]["switch_forecast_monthly"].equals(
        alone["RTF"]["switch_forecast_monthly"]
    )


def _poly_tables(organisation: str) -> dict[str, pd.DataFrame]:
    audit = poly_report.load_audit(
        resolve_context(organisation, "2024-03"), "2024-03-31", 18, 120, 2025
    )
    return {
        "headline": poly_report.headline_table(audit),
        "pincer": poly_report.pincer_table(audit),
        "acb": poly_report.acb_table(audit),
    }


def test_polypharmacy_audit_is_the_same_with_shared_work(monkeypatch, tmp_path):
    alone = _alone_and_shared(monkeypatch, tmp_path, _poly_tables, ("RTD", "RR7"))
    assert not alone["RTD"]["headline"].equals(alone["RR7"]["headline"])


def test_polypharmacy_audit_in_a_render_follows_edits_to_the_patient_files(in_render, tmp_path):
    folder = tmp_path / "extract"
    folder.mkdir()
    for name, text in (
        (
            "medications",
            "patient_id,dmd_code,medicine_name,bnf_code,start_date,end_date\n"
            "p1,321745007,Amitriptyline 10mg tablets,0403010B0AAAGAG,2023-01-01,\n",
        ),
        ("conditions", "patient_id,snomed_code,date,resolved_date\n"),
        ("tests", "patient_id,snomed_code,date,value,unit\n"),
    ):
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    patients = folder / "patients.csv"
    patients.write_text("patient_id,trust_code,age,sex\np1,RTD,70,F\n", encoding="utf-8")
    context = resolve_context("RTD", "2024-03")
    before = poly_report.load_audit(context, patient_data_dir=str(folder))
    assert in_render.is_dir()  # the shared work was stored
    # Same arguments, edited file: the stored result must not be reused.
    patients.write_text(
        "patient_id,trust_code,age,sex\np1,RTD,70,F\np2,RR7,45,M\n", encoding="utf-8"
    )
    after = poly_report.load_audit(context, patient_data_dir=str(folder))
    assert before.organisations == ["RTD"]
    assert after.organisations == ["RR7", "RTD"]
    assert after.tables.patients["patient_id"].tolist() == ["p1", "p2"]


def test_spend_report_is_the_same_with_shared_work(monkeypatch, tmp_path):
    def tables(trust: str) -> dict[str, pd.DataFrame]:
        report = build(resolve_context(trust, "2024-03", data_source="scmd_lithium"))
        return {"fy": report.spend_by_financial_year(), "molecule": report.by_molecule()}

    alone = _alone_and_shared(monkeypatch, tmp_path, tables, ("RTD", "RR7"))
    assert set(alone["RR7"]["fy"]["trust_code"]) == {"RR7"}
