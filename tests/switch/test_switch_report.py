import math
import re

import matplotlib
import pandas as pd
import pytest
from switch_fixtures import TESTMAB, hand_activity

from medlib.context import resolve_context
from medlib.errors import MedlibError
from medlib.switch.definitions import load_switch_definitions
from medlib.switch.report import (
    SwitchReportError,
    analyse_molecule,
    build,
    existing_target_sentence,
    league_table,
    new_target_sentence,
    savings_sentence,
    validate_parameters,
)

matplotlib.use("Agg")

TRUSTS = ["RTD", "RR7", "RTF", "RTR"]
NAMES = {"RTD": "Newcastle", "RR7": "Gateshead", "RTF": "Northumbria", "RTR": "South Tees"}
MOLECULES = ["adalimumab", "ustekinumab"]


@pytest.fixture(scope="module")
def report():
    volumes = pd.DataFrame(
        [(t, m, n) for t, n in zip(TRUSTS, (80, 40, 30, 5), strict=True) for m in MOLECULES],
        columns=["trust_code", "molecule", "patients"],
    )
    usage = pd.DataFrame(
        {
            "year_month": pd.to_datetime(["2019-01-01", "2019-01-01", "2019-01-01"]),
            "trust_code": ["RR7", "RR7", "RTD"],
            "vmp_code": ["11236911000001103", "32888111000001102", "11236911000001103"],
            "quantity": [8.0, 4.0, 0.8],
        }
    )
    return build(
        resolve_context("RR7", "2025-03"),
        MOLECULES,
        "2025",
        11,
        trusts=TRUSTS,
        volumes=volumes,
        usage=usage,
        trust_names=NAMES,
    )


ROW = {
    "target_share": 0.8,
    "target_months": 10,
    "target_month": pd.Timestamp("2019-08-01"),
    "measured": "existing patients on treatment at the end of Aug 2019",
}


class TestSentences:
    def test_existing_not_met_discloses_counts(self):
        row = {
            **ROW,
            "patients": 318.0,
            "on_best_value": 237.0,
            "status": "not met",
            "gap_patients": 18.0,
        }
        text = existing_target_sentence(row, "adalimumab")
        # 237 -> 235 and 318 -> 320 (nearest 5): 235/320 = 73.4% (not the raw 237/318 = 74.5%);
        # gap 18 -> 20.
        assert text == (
            "Existing patients (adalimumab): at the end of Aug 2019, 10 months after "
            "launch, 73.4% of about 320 existing patients on treatment were on a "
            "best-value product; target 80%: **not met**. Meeting it needed about "
            "20 more patients on a best-value product."
        )

    def test_existing_small_numbers_are_suppressed(self):
        row = {
            **ROW,
            "patients": 6.0,
            "on_best_value": 2.0,
            "status": "not met",
            "gap_patients": 3.0,
        }
        text = existing_target_sentence(row, "adalimumab")
        assert text.startswith(
            "Existing patients (adalimumab): at the end of Aug 2019, 10 months after launch, "
            "fewer than 8 existing patients on treatment; the share on a best-value product is "
            "not shown because fewer than 8 patients are involved; target 80%: **not met**."
        )
        assert "fewer than 8 more patients" in text
        assert not re.search(r"\b[1-7] (more )?patients", text)

    def test_existing_not_yet_due_quotes_the_latest_month(self):
        row = {
            **ROW,
            "target_month": pd.Timestamp("2025-07-01"),
            "patients": math.nan,
            "on_best_value": math.nan,
            "status": "not yet due",
            "gap_patients": math.nan,
        }
        latest = {
            "year_month": pd.Timestamp("2025-03-01"),
            "existing_patients": 200,
            "existing_best_value": 150,
        }
        assert existing_target_sentence(row, "ustekinumab", latest) == (
            "Existing patients (ustekinumab): the 80% target falls due at the end of Jul 2025. "
            "At the end of Mar 2025, 75.0% of existing patients on treatment were on a "
            "best-value product."
        )

    def test_new_met_and_no_patients(self):
        row = {
            "target_share": 1.0,
            "target_month": pd.Timestamp("2019-01-01"),
            "measured": "new patients starting Jan 2019 to Sep 2020",
            "patients": 422.0,
            "on_best_value": 422.0,
            "status": "met",
            "gap_patients": 0.0,
        }
        assert new_target_sentence(row, "adalimumab") == (
            "New patients (adalimumab): of about 420 new patients (new patients starting Jan "
            "2019 to Sep 2020), 100.0% were started on a best-value product; target 100%: "
            "**met**."
        )
        row.update(patients=0.0, on_best_value=0.0, status="no patients")
        assert "cannot be measured" in new_target_sentence(row, "adalimumab")

    def test_savings_sentence(self):
        assert savings_sentence(1234567.0, 0.0, 0.8, "adalimumab") == (
            "Savings (adalimumab): since launch, using best-value products saved £1,235,000 "
            "against paying the originator list price for the same activity. Best-value use is "
            "at or above 80%, so no further saving is counted against that target."
        )
        assert "A further £56,000 a year" in savings_sentence(1e6, 56123.0, 0.8, "x")


class TestReport:
    def test_report_is_for_the_requested_trust(self, report):
        assert report.trust_code == "RR7" and report.trust_name == "Gateshead"
        assert [r.molecule for r in report.results] == MOLECULES
        assert report.load.summary.rows_quarantined == 0

    def test_data_note_says_synthetic_first(self, report):
        note = report.data_note()
        assert note.startswith("**SYNTHETIC DATA")
        assert "rounded to the nearest 5" in note

    def test_lead_tables_have_no_patient_identifiers(self, report):
        tables = report.tables()
        pseudonyms = set(report.activity["patient_id"])
        for name, table in tables.items():
            assert re.fullmatch(r"[a-z][a-z0-9_]*", name)
            assert "patient_id" not in table.columns
            cells = set(table.astype(str).to_numpy().ravel())
            assert not cells & pseudonyms, name
            if name in ("switch_doac_curve", "switch_vmp_proxy"):
                assert table.attrs["note"].startswith("Real data")
                continue
            assert table.attrs["note"].startswith("SYNTHETIC DATA")
            assert set(table["data_source"]) == {"synthetic sample (seed 11)"}

    def test_lead_table_counts_are_disclosed(self, report):
        tables = report.tables()
        count_columns = {
            "switch_headline": [
                "new_patients",
                "existing_patients",
                "new_gap_patients",
                "existing_gap_patients",
            ],
            "switch_uptake_monthly": ["new_patients", "existing_patients"],
            "switch_league": [
                "existing_patients_latest",
                "new_patients_since_target",
                "patients_switched_back",
            ],
        }
        seen = 0
        for name, columns in count_columns.items():
            for col in columns:
                for value in tables[name][col]:
                    if value is None or (isinstance(value, float) and math.isnan(value)):
                        continue
                    seen += 1
                    assert value == "*" or (float(value) % 5 == 0), (name, col, value)
        assert seen > 50

    def test_league_suppresses_the_small_trust(self, report):
        league = report.league("adalimumab")
        rtr = league[league["trust_code"] == "RTR"].iloc[0]  # 5 patients on treatment
        assert rtr["existing_patients_latest"] == "*"
        assert rtr["pct_existing_best_value_latest"] == "*"
        assert pd.isna(rtr["rank"])
        assert league["this_trust"].tolist().count("this trust") == 1
        ranked = league["rank"].dropna().tolist()
        assert ranked == sorted(ranked)

    def test_league_matches_hand_counts_on_a_tiny_example(self):
        result = analyse_molecule(hand_activity(), TESTMAB, ["RTD", "RR7"], "RTD")
        league = league_table(result, {}, "RTD").set_index("trust_code")
        # Every count here is 1-2 patients: all suppressed, nothing ranked.
        assert league.loc["RTD", "existing_patients_latest"] == "*"
        assert league.loc["RR7", "patients_switched_back"] == "*"
        assert league.loc["RTD", "patients_switched_back"] == 0
        assert league["rank"].isna().all()

    def test_headline_and_not_yet_due(self, report):
        head = report.headline().set_index("molecule")
        assert head.loc["ustekinumab", "existing_status"] == "not yet due"
        assert head.loc["adalimumab", "existing_status"] in {"met", "not met"}
        assert head.loc["adalimumab", "achieved_saving_gbp"] > 0

    def test_vmp_proxy_table_is_labelled_and_uses_real_counts(self, report):
        proxy = report.tables()["switch_vmp_proxy"]
        row = proxy[proxy["trust_code"] == "RR7"].iloc[0]
        # RR7: 8 ml / 0.8 = 10 best-value-like doses, 4 ml / 0.4 = 10 originator-like doses.
        assert row["pct_proxy_best_value"] == 50.0
        assert row["label"].startswith("PROXY")

    def test_publish(self, report, tmp_path):
        assert report.publish("") == []
        written = report.publish(str(tmp_path / "tables"))
        names = sorted(p.name for p in written)
        assert "switch_headline.csv" in names and "switch_league.csv" in names
        assert not any("switch_back" in n and "patients" in n for n in names)

    def test_analyst_switch_backs_are_patient_level_for_this_trust_only(self, report):
        from dataclasses import replace

        from medlib.switch.uptake import switch_backs

        backs = report.analyst_switch_backs("adalimumab")
        assert set(backs["trust_code"]) <= {"RR7"}
        assert "patient_id" in backs.columns
        # Each trust's list holds its own patients, and together they are every switch-back.
        per_trust = {
            t: replace(
                report, context=replace(report.context, code=t, trust_codes=(t,))
            ).analyst_switch_backs("adalimumab")
            for t in TRUSTS
        }
        assert all(set(b["trust_code"]) <= {t} for t, b in per_trust.items())
        activity = report.activity
        everyone = switch_backs(
            activity[activity["molecule"] == "adalimumab"], report.result("adalimumab").definition
        )
        assert sum(len(b) for b in per_trust.values()) == len(everyone) > 0

    def test_sections_return_what_they_show(self, report):
        import matplotlib.pyplot as plt

        names = report.section_names()
        assert names == [
            "data_note",
            "headline",
            "molecules",
            "time_to_switch",
            "vmp_proxy",
            "doac",
        ]
        sections = {name: report.section(name) for name in names}
        text = "\n".join(s.text for s in sections.values())
        assert "### Adalimumab" in text and "### Ustekinumab" in text
        assert "falls due at the end of Jul 2025" in text
        assert "DOACs made up" in text
        # Uptake and savings charts for two molecules, then time to switch, proxy and DOAC.
        assert [len(s.figures) for s in sections.values()] == [0, 0, 4, 1, 1, 1]
        captions = [t.caption for s in sections.values() for t in s.tables]
        assert len(captions) == 3 and all(c.startswith("Synthetic data.") for c in captions)
        assert "report." not in text and "analyst_" not in text
        plt.close("all")


class TestParameters:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("adalimumab", "2025", 1), "switches: expected a list"),
            ((["adalimumab"], "2030", 1), "target_profile: expected one of 2025, 2017"),
            ((["adalimumab"], "2025", -1), "seed"),
            ((["adalimumab"], "2025", True), "seed"),
        ],
    )
    def test_bad_parameters(self, args, message):
        with pytest.raises(SwitchReportError, match=message):
            validate_parameters(*args)
        with pytest.raises(SwitchReportError, match="tables_dir"):
            validate_parameters(["adalimumab"], "2025", 1, None)

    def test_unknown_molecule_and_trust(self):
        with pytest.raises(SwitchReportError, match="no definition for 'nivolumab'"):
            build(resolve_context("RTD", "2025-03"), ["nivolumab"])
        with pytest.raises(MedlibError, match="'ZZZ' is not a trust in the bundled"):
            resolve_context("ZZZ", "2025-03")
        with pytest.raises(MedlibError, match="'RNL' merged into 'RNN'"):
            resolve_context("RNL", "2025-03")
        with pytest.raises(SwitchReportError, match="is for one trust; 'QHM' is a system"):
            build(resolve_context("QHM", "2025-03"), ["adalimumab"])

    def test_switches_launched_after_the_period_end_are_left_out(self):
        # Ustekinumab's best-value launch is 1 September 2024: after a 2024-06 period end.
        report = build(resolve_context("RTD", "2024-06"), ["adalimumab", "ustekinumab"])
        assert [r.molecule for r in report.results] == ["adalimumab"]
        assert (
            "Ustekinumab is left out: its best-value launch (1 September 2024) is after this "
            "report's period end (June 2024)." in report.data_note()
        )
        assert report.activity["activity_date"].max() <= pd.Timestamp("2024-06-30")
        with pytest.raises(SwitchReportError, match="none of \\['ustekinumab'\\] had launched"):
            build(resolve_context("RTD", "2024-06"), ["ustekinumab"])

    def test_trust_without_biologics_gets_a_report_that_says_so(self, tmp_path):
        from medlib.render.guard import check_tables_dir

        # RX4 is a mental health trust: no biologics in SCMD. R0B calibrates through its
        # predecessors RLN and RE9.
        report = build(
            resolve_context("RX4", "2025-03"),
            ["adalimumab", "infliximab"],
            trusts=["RTD", "R0B"],
        )
        assert set(report.activity["trust_code"]) == {"RTD", "R0B"}
        assert report.used_results() == []
        assert report.unused_molecules() == ["adalimumab", "infliximab"]
        assert "has no use of these biologics" in report.data_note()
        sections = {n: report.section(n) for n in ("headline", "molecules", "time_to_switch")}
        # One sentence each: no table, no chart, no savings sentence, no league table.
        assert sections["molecules"].parts == (
            "RX4 has no activity for adalimumab and infliximab in the data.",
        )
        assert sections["headline"].parts == (
            "RX4 has no activity for adalimumab and infliximab in the data, so there is no "
            "target to judge.",
        )
        assert sections["time_to_switch"].parts == (
            "RX4 had no existing patients on treatment when these molecules launched, so "
            "there is no time to switch to show.",
        )
        proxy = report.section("vmp_proxy")
        assert proxy.figures == []
        assert proxy.parts[-1] == (
            "RX4 has no adalimumab doses in the SCMD extract, so there is no proxy to show for it."
        )
        # The published tables keep a row per molecule for the trust, as before.
        head = report.headline()
        assert head["molecule"].tolist() == ["adalimumab", "infliximab"]
        assert set(head["new_status"]) == set(head["existing_status"]) == {"no patients"}
        assert head["achieved_saving_gbp"].tolist() == [0.0, 0.0]
        tables = report.tables()
        assert set(tables["switch_league"]["trust_code"]) == {"RTD", "R0B", "RX4"}
        report.publish(str(tmp_path))
        assert check_tables_dir(tmp_path) == []

    def test_a_trust_using_some_molecules_has_the_rest_named_in_one_line(self, report):
        # The module's report: RR7 has rows for both molecules; with one of them taken away,
        # that molecule is named once and gets no part of its own.
        from dataclasses import replace

        activity = report.activity[report.activity["molecule"] != "ustekinumab"]
        load = replace(report.load, data=activity.reset_index(drop=True))
        fewer = replace(report, load=load, _leagues={})
        molecules = fewer.section("molecules")
        assert molecules.parts[0] == "RR7 has no activity for ustekinumab in the data."
        assert "### Ustekinumab" not in molecules.text and "### Adalimumab" in molecules.text
        assert len(molecules.figures) == 2  # adalimumab's uptake and savings charts
        assert len(molecules.tables) == 1
        headline = fewer.section("headline")
        assert headline.text.endswith("RR7 has no activity for ustekinumab in the data.")
        assert headline.tables[0].frame["Molecule"].tolist() == ["Adalimumab"]

    def test_definitions_are_the_shipped_ones(self):
        defs = load_switch_definitions()
        assert {"adalimumab", "ustekinumab"} <= set(defs)
