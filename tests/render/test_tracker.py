"""The pack's front page: read from the trusts' published tables, summed for the system."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from medlib.render.tracker import SYSTEM_CODE, TRACKER_COLUMNS, build_tracker, tracker_html

NOTEBOOKS = ("spend_trends", "switch_uptake", "polypharmacy_audit")


def _write(folder: Path, name: str, rows: list[dict]) -> None:
    (folder / "tables").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / "tables" / f"{name}.csv", index=False)


def _trust(pack: Path, code: str, fytd: float, last: float, forecast: float, synthetic=True):
    folder = pack / code
    _write(
        folder,
        "benchmark_percentile_ranks",
        [
            {
                "trust_code": code,
                "financial_year": "2023/24",
                "months": 6,
                "fytd": fytd,
                "same_period_last_year": last,
                "change": fytd - last,
                "change_pct": round((fytd - last) / last * 100, 1),
            }
        ],
    )
    _write(
        folder,
        "spend_by_financial_year",
        [{"trust_code": code, "financial_year": "2023/24", "cost_gbp": fytd}],
    )
    _write(
        folder,
        "forecast_outturn",
        [
            {
                "financial_year": "2023/24",
                "method": "run_rate",
                "method_name": "Run rate",
                "forecast": forecast,
                "lower_80": forecast - 100,
                "upper_80": forecast + 100,
                "chosen": True,
            },
            {
                "financial_year": "2023/24",
                "method": "seasonal",
                "method_name": "Seasonal",
                "forecast": 1.0,
                "lower_80": 0.0,
                "upper_80": 2.0,
                "chosen": False,
            },
        ],
    )
    _write(
        folder,
        "high_cost_split",
        [
            {
                "financial_year": "2023/24",
                "high_cost_gbp": fytd / 4,
                "in_tariff_gbp": fytd * 3 / 4,
                "total_gbp": fytd,
                "high_cost_share_pct": 25.0,
            }
        ],
    )
    _write(
        folder,
        "efficiency_forecast",
        [
            {"molecule": "x", "status": "under way", "forecast_year_gbp": 50.0},
            {"molecule": "y", "status": "not due this year", "forecast_year_gbp": 0.0},
            {"molecule": "z", "status": "no baseline in this data", "forecast_year_gbp": None},
        ],
    )
    _write(
        folder,
        "monthly_spc",
        [
            {"year_month": "2023-08", "point_type": "common_cause"},
            {"year_month": "2023-09", "point_type": "special_cause_neutral_high"},
        ],
    )
    source = "synthetic sample (seed 1)" if synthetic else "data store hcd_activity"
    _write(
        folder,
        "switch_headline",
        [
            {
                "molecule": "adalimumab",
                "new_status": "met",
                "existing_status": "not met",
                "data_source": source,
            },
            {
                "molecule": "infliximab",
                "new_status": "not yet due",
                "existing_status": "met",
                "data_source": source,
            },
        ],
    )
    _write(
        folder,
        "poly_pincer",
        [
            {
                "organisation": code,
                "indicator": "A",
                "group": "GI bleed",
                "percent": 9.0,
                "funnel_position": "within limits",
                "data_source": "synthetic patients (seed 1)",
            },
            {
                "organisation": code,
                "indicator": "GI bleed composite",
                "group": "Composite",
                "percent": 16.1,
                "funnel_position": "above 95%",
                "data_source": "synthetic patients (seed 1)",
            },
            {
                "organisation": code,
                "indicator": "Monitoring composite (AC, ME)",
                "group": "Composite",
                "percent": "*",
                "funnel_position": "not shown",
                "data_source": "synthetic patients (seed 1)",
            },
        ],
    )
    for nb in NOTEBOOKS:
        (folder / f"{nb}.html").write_text(
            '<h2 id="Headline">x</h2><h2 id="Year-end-forecast">y</h2>'
            '<h2 id="PINCER-prescribing-safety-indicators">z</h2>',
            encoding="utf-8",
        )


@pytest.fixture
def pack(tmp_path):
    _trust(tmp_path, "RTD", 1000.0, 800.0, 2100.0)
    _trust(tmp_path, "RR7", 500.0, 700.0, 950.0, synthetic=False)
    return tmp_path


def _complete(trusts, missing=()):
    return {f"{t}/{nb}": f"{t}/{nb}" not in missing for t in trusts for nb in NOTEBOOKS}


NAMES = {"RTD": "Newcastle <script>alert(1)</script>", "RR7": "Gateshead"}


def test_each_row_is_the_trusts_published_figures_and_the_system_adds_them(pack):
    tracker = build_tracker(pack, ["RTD", "RR7"], NAMES, _complete(["RTD", "RR7"]))
    table = tracker.table.set_index("trust_code")
    assert list(tracker.table.columns) == TRACKER_COLUMNS
    assert list(table.index) == ["RTD", "RR7", SYSTEM_CODE]
    rtd = table.loc["RTD"]
    assert rtd[["spend_fytd_gbp", "spend_same_months_last_year_gbp", "change_gbp"]].tolist() == [
        1000.0,
        800.0,
        200.0,
    ]
    # The chosen method's forecast and interval, not the other method's.
    assert rtd[["forecast_outturn_gbp", "forecast_lower_80_gbp", "forecast_method"]].tolist() == [
        2100.0,
        2000.0,
        "Run rate",
    ]
    assert rtd["high_cost_fytd_gbp"] == 250.0 and rtd["high_cost_share_pct"] == 25.0
    # Efficiencies: the under-way entry only (50); one of three has no baseline.
    assert rtd["efficiency_forecast_gbp"] == 50.0
    assert rtd["efficiency_note"] == "no baseline in this data for 1 of 3 molecules"
    assert rtd["spc_latest"] == "special cause: high"
    # 4 statuses: met (new adalimumab), not met, not yet due, met (existing infliximab).
    targets = ["switch_targets_met", "switch_targets_not_met", "switch_targets_not_yet_due"]
    assert rtd[targets].tolist() == [2, 1, 1]
    assert rtd[["pincer_gi_bleed_pct", "pincer_gi_bleed_position"]].tolist() == [
        16.1,
        "above 95%",
    ]
    assert rtd["pincer_monitoring_pct"] == "*"
    total = table.loc[SYSTEM_CODE]
    # 1000 + 500; 800 + 700; change 200 - 200 = 0, so 0.0%; forecasts 2100 + 950.
    assert total[["spend_fytd_gbp", "spend_same_months_last_year_gbp", "change_gbp"]].tolist() == [
        1500.0,
        1500.0,
        0.0,
    ]
    assert total["change_pct"] == 0.0
    assert total["forecast_outturn_gbp"] == 3050.0 and pd.isna(total["forecast_lower_80_gbp"])
    assert total["high_cost_fytd_gbp"] == 375.0 and total["high_cost_share_pct"] == 25.0
    assert total["efficiency_forecast_gbp"] == 100.0
    assert tracker.period == "2023/24, 6 months"


def test_a_missing_report_leaves_its_figures_out_and_the_total_too(pack):
    trusts = ["RTD", "RR7"]
    tracker = build_tracker(pack, trusts, NAMES, _complete(trusts, missing=("RR7/spend_trends",)))
    table = tracker.table.set_index("trust_code")
    assert pd.isna(table.loc["RR7", "spend_fytd_gbp"])
    # A total of RTD alone would pass for the system's: there is none.
    assert pd.isna(table.loc[SYSTEM_CODE, "spend_fytd_gbp"])
    assert tracker.missing == {"RR7": ["spend_trends"]}
    assert "RR7: spend trends not complete" in tracker_html(tracker)


def test_the_page_escapes_links_sorts_and_labels_synthetic_data(pack):
    tracker = build_tracker(pack, ["RTD", "RR7"], NAMES, _complete(["RTD", "RR7"]))
    page = tracker_html(tracker)
    assert "<script>alert(1)</script>" not in page
    assert "Newcastle &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<a href="RTD/spend_trends.html#Headline">£1,000</a>' in page
    assert '<a href="RTD/spend_trends.html#Year-end-forecast">£2,100</a>' in page
    assert 'href="RTD/polypharmacy_audit.html#PINCER-prescribing-safety-indicators"' in page
    # RTD's switch statuses are synthetic, RR7's come from the store: only RTD says so.
    rows = re.findall(r"<tr>.*?</tr>", page, flags=re.S)
    rtd = next(r for r in rows if "RTD</span>" in r)
    rr7 = next(r for r in rows if "RR7</span>" in r)
    assert rtd.count("synthetic data") == 2  # switch and PINCER
    assert rr7.count("synthetic data") == 1  # PINCER only
    assert 'data-sort="1000.0"' in page and "table.sortable" in page
    assert "<tfoot><tr>" in page and "System total" in page
    assert "http" not in page  # nothing loads from the network
    # Blocks are not given, so there is no block column.
    assert "Block to date" not in page


def test_measures_and_wet_amd_by_trust(pack):
    for code, top, score in (("RTD", "IV <b>antibiotics</b>", 58.27), ("RR7", None, None)):
        rows = [
            {"trust_code": code, "measure": "Lithium given as a liquid", "potential": None},
        ]
        if top is not None:
            rows.insert(0, {"trust_code": code, "measure": top, "potential": score})
        _write(
            pack / code,
            "measures_overview",
            [
                {
                    "trust_code": r["trust_code"],
                    "measure": r["measure"],
                    "potential_for_improvement": r["potential"],
                }
                for r in rows
            ],
        )
        (pack / code / "measures.html").write_text(
            '<h2 id="Where-to-look-first">x</h2>', encoding="utf-8"
        )
    # The funnel table lists every trust compared; RR7 has no injections, so it is not in it.
    funnel = [
        {
            "trust_code": "RTD",
            "percent_latest_12w_plus": 48.1,
            "position": "within limits",
            "data_source": "synthetic anti-VEGF sample (seed 2025)",
        },
        {
            "trust_code": "RTF",
            "percent_latest_12w_plus": 4.3,
            "position": "within limits",
            "data_source": "synthetic anti-VEGF sample (seed 2025)",
        },
    ]
    for code in ("RTD", "RR7"):
        _write(pack / code, "amd_funnel", funnel)
        (pack / code / "wet_amd.html").write_text(
            '<h2 id="This-trust-against-the-others:-12-weeks-or-more">x</h2>', encoding="utf-8"
        )
    notebooks = (*NOTEBOOKS, "measures", "wet_amd")
    complete = {f"{t}/{nb}": True for t in ("RTD", "RR7") for nb in notebooks}
    tracker = build_tracker(pack, ["RTD", "RR7"], NAMES, complete)
    table = tracker.table.set_index("trust_code")
    assert table.loc["RTD", "measure_most_potential"] == "IV <b>antibiotics</b>"
    assert table.loc["RTD", "measure_most_potential_score"] == 58.27
    assert table.loc["RTD", "measures_ranked"] == 1 and table.loc["RR7", "measures_ranked"] == 0
    assert table.loc["RTD", "amd_latest_12w_plus_pct"] == 48.1
    assert pd.isna(table.loc["RR7", "amd_latest_12w_plus_pct"])
    page = tracker_html(tracker)
    section = page[page.index("<h3>Medicines measures and wet AMD by trust</h3>") :]
    assert "IV &lt;b&gt;antibiotics&lt;/b&gt;" in section and "<b>antibiotics" not in section
    assert "potential for improvement 58 of 100; 1 measure ranked" in section
    assert 'href="RTD/measures.html#Where-to-look-first"' in section
    assert (
        '<a href="RTD/wet_amd.html#This-trust-against-the-others:-12-weeks-or-more">48.1%</a>'
        in section
    )
    rr7 = next(r for r in re.findall(r"<tr>.*?</tr>", section, flags=re.S) if "RR7<" in r)
    assert "no measure can be ranked here" in rr7 and "no injections in the data" in rr7
    assert rr7.count("synthetic data") == 1
