"""What a lead reads in the switch report: the headline and league tables, built on a
constructed case, and the same peer figures in every report of a pack."""

from __future__ import annotations

from dataclasses import replace

import matplotlib
import pandas as pd
import pytest
from switch_fixtures import TESTMAB

from medlib.context import resolve_context
from medlib.render.table_notes import is_synthetic
from medlib.switch.charts import uptake_chart
from medlib.switch.report import (
    ROUNDING_NOTE,
    MoleculeResult,
    build,
    headline_lead_table,
    headline_summary,
    judged_at,
    league_lead_table,
    league_table,
)
from medlib.switch.uptake import month_start, target_status

matplotlib.use("Agg")

# TESTMAB launches 15 Mar 2020 (month 0 = Mar 2020). Targets: 90% of new patients from month 1
# (Apr 2020), 50% of existing patients at the end of month 2 (May 2020). Data to month 4 (Jul).
#
# Existing patients on best value, of 40 on treatment each month end:
#   RTD  0, 5, 15, 25, 35  -> 37.5% at the end of May (not met: 20 needed), 87.5% in Jul
#   RTF  0, 10, 25, 30, 30 -> 62.5% at the end of May (met), 75.0% in Jul
# New patients, 10 a month; started on best value:
#   RTD  5, 10, 10, 5, 10  -> Apr to Jul: 35 of 40 = 87.5% (not met: 36 needed)
#   RTF  5, 10, 10, 10, 10 -> Apr to Jul: 40 of 40 = 100.0% (met)
# Every count is a multiple of 5 and at least 8, so disclosure control changes nothing.
# Judged at the latest month instead, RTD (87.5%) would sit above RTF (75.0%) with "not met"
# beside it: the contradiction a lead saw.
EXISTING_BV = {"RTD": [0, 5, 15, 25, 35], "RTF": [0, 10, 25, 30, 30]}
NEW_BV = {"RTD": [5, 10, 10, 5, 10], "RTF": [5, 10, 10, 10, 10]}


def _monthly(cohort: str, best_value: dict[str, list[int]], patients: int) -> pd.DataFrame:
    rows = [
        {
            "trust_code": trust,
            "year_month": month_start(TESTMAB.launch_month, month)[0],
            "months_since_launch": month,
            f"{cohort}_patients": patients,
            f"{cohort}_best_value": bv,
            f"pct_{cohort}_best_value": 100.0 * bv / patients,
        }
        for trust, counts in best_value.items()
        for month, bv in enumerate(counts)
    ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def result() -> MoleculeResult:
    new = _monthly("new", NEW_BV, 10)
    existing = _monthly("existing", EXISTING_BV, 40)
    trusts = list(EXISTING_BV)
    return MoleculeResult(
        definition=TESTMAB,
        profile=TESTMAB.target_profile,
        new=new,
        existing=existing,
        status=target_status(new, existing, TESTMAB),
        quantity_share=pd.DataFrame(columns=["trust_code", "year_month"]),
        switch_back_counts=pd.DataFrame({"trust_code": trusts, "patients_switched_back": [0, 0]}),
        time_to_switch=pd.DataFrame(columns=["trust_code", "months_since_launch"]),
        savings=pd.DataFrame(
            {
                "trust_code": trusts,
                "molecule": "testmab",
                "achieved_gbp": [1000.0, 2000.0],
                "annual_remaining_gbp": [500.0, 0.0],
            }
        ),
        forecast=pd.DataFrame(),
        through=pd.Timestamp("2020-07-31"),
    )


def test_the_points_a_switch_is_judged_at(result):
    when = judged_at(result)
    assert (when.new_from, when.existing_at, when.latest) == (
        pd.Timestamp("2020-04-01"),
        pd.Timestamp("2020-05-01"),
        pd.Timestamp("2020-07-01"),
    )
    assert when.describe() == "new Apr 2020 to Jul 2020; existing end of May 2020"


def test_league_status_sits_beside_the_percentage_it_was_judged_on(result):
    league = league_table(result, {"RTD": "Newcastle", "RTF": "Northumbria"}, "RTD")
    got = league.set_index("trust_code")
    # Ranked by the latest month: RTD 87.5% above RTF 75.0%.
    assert got["rank"].tolist() == [1, 2] and list(got.index) == ["RTD", "RTF"]
    assert got.loc["RTD", "pct_existing_best_value_latest"] == 87.5
    assert got.loc["RTF", "pct_existing_best_value_latest"] == 75.0
    # Beside the status: the end of the target month, where it was judged.
    assert got.loc["RTD", "existing_patients_at_target"] == 40
    assert got.loc["RTD", "pct_existing_best_value_at_target"] == 37.5
    assert got.loc["RTD", "existing_target_status"] == "not met"
    assert got.loc["RTF", "pct_existing_best_value_at_target"] == 62.5
    assert got.loc["RTF", "existing_target_status"] == "met"
    assert got.loc["RTD", "pct_new_best_value_since_target"] == 87.5
    assert got.loc["RTD", "new_target_status"] == "not met"
    assert got.loc["RTF", "pct_new_best_value_since_target"] == 100.0
    assert got.loc["RTF", "new_target_status"] == "met"
    # The rule itself: met exactly when the percentage beside the status reaches the target.
    for _, row in league.iterrows():
        assert (row["existing_target_status"] == "met") == (
            row["pct_existing_best_value_at_target"] >= 50.0
        )
        assert (row["new_target_status"] == "met") == (
            row["pct_new_best_value_since_target"] >= 90.0
        )


def test_league_columns_name_the_month_they_refer_to(result):
    table = league_lead_table(league_table(result, {}, "RTD"), result)
    assert [list(part.frame.columns) for part in table.parts()] == [
        [
            "Rank",
            "Trust",
            "This trust",
            "Existing patients, end of May 2020",
            "Existing on best value, end of May 2020 (%)",
            "Existing-patient status, end of May 2020",
            "Existing on best value, latest month (Jul 2020) (%)",
        ],
        [
            "Rank",
            "Trust",
            "This trust",
            "New patients, Apr 2020 to Jul 2020",
            "New on best value, Apr 2020 to Jul 2020 (%)",
            "New-patient status, Apr 2020 to Jul 2020",
            "Patients switched back",
        ],
    ]
    first = table.frame.iloc[0]
    shown = {column: table.formats[column](first[column]) for column in table.frame.columns}
    assert shown["Existing on best value, end of May 2020 (%)"] == "37.5%"
    assert shown["Existing-patient status, end of May 2020"] == "not met"
    assert shown["Existing on best value, latest month (Jul 2020) (%)"] == "87.5%"
    assert shown["This trust"] == "this trust"


def test_headline_is_one_row_per_molecule_judged_at_a_stated_point(result):
    summary = headline_summary([result], "RTD")
    assert summary.to_dict("records") == [
        {
            "molecule": "testmab",
            "new_patients": 40,
            "pct_new_best_value": 87.5,
            "existing_patients": 40,
            "pct_existing_best_value": 37.5,
            "targets": "90% / 50%",
            "status": "not met / not met",
            "judged": "new Apr 2020 to Jul 2020; existing end of May 2020",
        }
    ]
    table = headline_lead_table([result], "RTF", caption="Synthetic data.")
    assert list(table.frame.columns) == [
        "Molecule",
        "New patients",
        "New on best value (%)",
        "Existing patients",
        "Existing on best value (%)",
        "Target (new / existing)",
        "Status (new / existing)",
        "When judged",
    ]
    assert len(table.parts()) == 1  # eight columns fit one page width
    row = table.frame.iloc[0]
    assert [table.formats[c](row[c]) for c in table.frame.columns] == [
        "Testmab",
        "40",
        "100.0%",
        "40",
        "62.5%",
        "90% / 50%",
        "met / met",
        "new Apr 2020 to Jul 2020; existing end of May 2020",
    ]


def test_a_share_rounding_lifts_over_its_target_is_shown_as_under_it(result):
    # RTF: 22 new patients from Apr 2020 (6, 5, 6, 5), 19 started on best value (5, 5, 5, 4):
    # 19 < ceil(0.9 x 22) = 20, not met. Rounded to the nearest 5 that is 20 of 20, 100.0%.
    new = result.new.copy()
    rtf = new["trust_code"] == "RTF"
    new.loc[rtf, "new_patients"] = [10, 6, 5, 6, 5]
    new.loc[rtf, "new_best_value"] = [5, 5, 5, 5, 4]
    changed = replace(result, new=new, status=target_status(new, result.existing, TESTMAB))
    league = league_table(changed, {}, "RTD")
    published = league.set_index("trust_code")
    assert published.loc["RTF", "pct_new_best_value_since_target"] == 100.0
    assert published.loc["RTF", "new_target_status"] == "not met"
    table = league_lead_table(league, changed)
    shown = table.frame.set_index("Trust")["New on best value, Apr 2020 to Jul 2020 (%)"]
    assert shown.to_dict() == {"RTD": 87.5, "RTF": "under 90%"}
    assert table.caption.endswith(ROUNDING_NOTE)
    summary = headline_summary([changed], "RTF").iloc[0]
    assert (summary["pct_new_best_value"], summary["status"]) == ("under 90%", "not met / met")
    assert headline_lead_table([changed], "RTF").caption == ROUNDING_NOTE
    # Nothing changed, nothing said.
    assert headline_lead_table([result], "RTF").caption == ""


def test_uptake_chart_title_names_the_trust_by_code_and_fits(result):
    import matplotlib.pyplot as plt

    mine = result.new[result.new["trust_code"] == "RTD"]
    ex = result.existing[result.existing["trust_code"] == "RTD"]
    fig = uptake_chart(mine, ex, None, TESTMAB, result.profile, "RTD")
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "Testmab: best-value uptake (RTD)"
    fig.canvas.draw()
    # The axes with its title and labels, as drawn, lie within the figure.
    box = ax.get_tightbbox(fig.canvas.get_renderer())
    assert 0 <= box.x0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height
    plt.close(fig)


# --------------------------------------------------------------------------- one sample a pack


@pytest.fixture(scope="module")
def pack_reports():
    # The NENC pack's period and seed: RTD is one of the sample's default trusts, RX4 is not
    # (its report adds it to the sample).
    return {
        code: build(resolve_context(code, "2024-03"), ["adalimumab"], "2025", 2025)
        for code in ("RTD", "RX4")
    }


def test_a_peer_shows_the_same_figures_in_every_report_of_the_pack(pack_reports):
    rtd, rx4 = pack_reports["RTD"], pack_reports["RX4"]
    assert "RX4" in rx4.trust_names and "RX4" not in rtd.trust_names
    figures = [
        "existing_patients_at_target",
        "pct_existing_best_value_at_target",
        "existing_target_status",
        "existing_patients_latest",
        "pct_existing_best_value_latest",
        "new_patients_since_target",
        "pct_new_best_value_since_target",
        "new_target_status",
        "patients_switched_back",
    ]
    mine = {
        code: report.league("adalimumab").set_index("trust_code").loc["RTF", figures].to_dict()
        for code, report in pack_reports.items()
    }
    assert mine["RTD"] == mine["RX4"]
    # Something to compare: RTF has patients, so a changed behaviour would show.
    assert mine["RTD"]["existing_patients_latest"] not in (0, "*", None)
    behaviours = {
        code: report.sample.trusts.set_index("trust_code").loc["RTF", "behaviour"]
        for code, report in pack_reports.items()
    }
    assert behaviours == {"RTD": "switch_backs", "RX4": "switch_backs"}


SYNTHETIC_TABLES = (
    "switch_headline",
    "switch_league",
    "switch_savings",
    "switch_uptake_monthly",
    "switch_forecast_monthly",
)


def test_every_table_from_the_synthetic_sample_says_so(pack_reports):
    tables = pack_reports["RTD"].tables()
    for name in SYNTHETIC_TABLES:
        assert len(tables[name]) > 0, name
        assert is_synthetic(tables[name]), name
        assert set(tables[name]["data_source"]) == {"synthetic sample (seed 2025)"}, name
    # The DOAC curve is real public data, whatever the activity is.
    assert not is_synthetic(tables["switch_doac_curve"])
