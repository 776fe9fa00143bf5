"""What a lead reads on the audit page: every table through the shared layer, shaped to fit.

A small audit with known counts checks the shaping value by value; the synthetic audit checks
the rules every table of every section keeps (no machine names, no True/False, the data source
said once, in the caption).
"""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from poly_fixtures import CENSUS, FUROSEMIDE, build, med, patient  # noqa: E402

from medlib.context import resolve_context  # noqa: E402
from medlib.polypharmacy import report as poly_report  # noqa: E402
from medlib.polypharmacy import views  # noqa: E402
from medlib.present.sections import Table  # noqa: E402

# Three falls-risk substances (STOPPFall: a loop diuretic, a tricyclic, a hypnotic).
AMITRIPTYLINE = ("321745007", "Amitriptyline 10mg tablets", "0403010B0AAAGAG")
ZOPICLONE = ("320010001", "Zopiclone 7.5mg tablets", "0401010Z0AAAAAA")
SOURCE = "synthetic patients (seed 2025)"


def _cells(table: Table) -> list[list[str]]:
    """The table's body as shown, row by row."""
    rows = re.findall(r"<tr>(.*?)</tr>", table.styler().to_html(), flags=re.S)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows if "<td" in row]


def _headings(table: Table) -> list[str]:
    return re.findall(r"<th[^>]*>(.*?)</th>", table.styler().to_html())


@pytest.fixture(scope="module")
def falls_audit():
    """RTD: 50 patients, 30 on the three falls-risk medicines; RTF: 10 on none.

    ========  =====  ===================  ===========
    who       age    on the three          patients
    ========  =====  ===================  ===========
    women     70     yes                  10
    women     80     no                   10
    men       80     yes                  20
    men       90     no                   10
    ========  =====  ===================  ===========

    Every count is 0 or a multiple of 5 above 7, so the published counts are the raw ones.
    """
    falls = [med(d, "2023-01-01") for d in (FUROSEMIDE, AMITRIPTYLINE, ZOPICLONE)]
    people = [patient(f"f70-{i}", age=70, sex="F", meds=falls) for i in range(10)]
    people += [patient(f"f80-{i}", age=80, sex="F") for i in range(10)]
    people += [patient(f"m80-{i}", age=80, sex="M", meds=falls) for i in range(20)]
    people += [patient(f"m90-{i}", age=90, sex="M") for i in range(10)]
    people += [patient(f"rtf-{i}", age=70, trust="RTF") for i in range(10)]
    return poly_report.audit_from_tables(build(*people), "RTD", CENSUS, source="test extract")


def test_a_breakdown_is_one_row_per_measure_and_one_column_per_group(falls_audit):
    view = views.breakdown_view(poly_report.combinations_table(falls_audit), caption="By group.")
    # No-one is under 65, so that band has no column.
    assert _headings(view) == [
        "Measure",
        "All patients",
        "65-74",
        "75-84",
        "85+",
        "Female",
        "Male",
    ]
    # Falls: 30 of 50; 65-74 10 of 10; 75-84 20 of 30 (10 women none, 20 men on three);
    # 85+ 0 of 10; women 10 of 20; men 20 of 30.
    # DAMN (the loop diuretic): 30 on one, none on two; no-one aged 85+ is on one, so there is
    # no percentage (a dash). No NSAIDs, anticoagulants or antiplatelets: dashes throughout.
    assert _cells(view) == [
        [
            "2 or more DAMN medicines (of patients on at least one DAMN medicine)",
            *("0.0%", "0.0%", "0.0%", "–", "0.0%", "0.0%"),
        ],
        ["An NSAID plus another DAMN medicine (of patients on an NSAID)", *["–"] * 6],
        [
            "An anticoagulant plus an antiplatelet (of patients on an anticoagulant or an "
            "antiplatelet)",
            *["–"] * 6,
        ],
        ["3 or more falls-risk medicines", "60.0%", "100.0%", "66.7%", "0.0%", "50.0%", "66.7%"],
    ]
    assert view.caption == "By group. * = not shown (small numbers). Data: test extract."
    assert len(view.parts()) == 1


def test_the_headline_table_keeps_counts_and_sets_the_trust_beside_everyone(falls_audit):
    view = views.headline_view(poly_report.headline_table(falls_audit))
    assert _headings(view) == [
        "Measure",
        "Who is counted",
        "Patients flagged",
        "Patients counted",
        "This trust",
        "All organisations",
    ]
    rows = {row[0]: row[1:] for row in _cells(view)}
    # Falls: 30 of 50 at RTD; 30 of 60 with RTF's 10 (on none).
    assert rows["3 or more falls-risk medicines"] == ["All patients", "30", "50", "60.0%", "50.0%"]
    # Mean: 30 x 3 / 50 = 1.8 at RTD, 90 / 60 = 1.5 everywhere; a mean flags no-one (a dash).
    assert rows["Mean unique medicines per patient"] == ["All patients", "–", "50", "1.8", "1.5"]
    # No NSAIDs: no-one counted, so no percentage.
    assert rows["An NSAID plus another DAMN medicine"] == [
        "Patients on an NSAID",
        "0",
        "0",
        "–",
        "–",
    ]
    # Numbers line up on the right, the trust's and everyone's figures too.
    assert view.numeric == (
        "Patients flagged",
        "Patients counted",
        "This trust",
        "All organisations",
    )


def test_pincer_is_one_table_per_group_with_its_composite_last():
    published = pd.DataFrame(
        {
            "organisation": ["RTD"] * 4,
            "indicator": ["A", "G", "GI bleed composite", "Other prescribing composite"],
            "title": [
                "Aged 65+ on an NSAID without gastro-protection",
                "Asthma and a non-selective beta-blocker",
                "GI bleed composite (A-F)",
                "Other prescribing composite (G, I, K)",
            ],
            "group": ["GI bleed", "Other prescribing", "Composite", "Composite"],
            "patients_flagged": [10, "*", 30, 10],
            "patients_in_denominator": [110, 35, 185, 125],
            "percent": [9.1, "*", 16.2, 8.0],
            "all_organisations_percent": [16.4, 24.6, 26.0, 17.6],
            "funnel_position": ["within limits", "not shown", "above 99.8%", "not shown"],
            "data_source": [SOURCE] * 4,
        },
        dtype=object,
    )
    shown = views.pincer_views(published)
    assert [group for group, _ in shown] == ["GI bleed", "Other prescribing"]
    gi, other = (table for _, table in shown)
    assert _headings(gi) == [
        "Indicator",
        "Patients flagged",
        "Patients counted",
        "This trust (%)",
        "All organisations (%)",
        "Funnel position",
    ]
    assert _cells(gi) == [
        [
            "A: Aged 65+ on an NSAID without gastro-protection",
            *("10", "110", "9.1%", "16.4%", "Within limits"),
        ],
        ["GI bleed composite (A-F)", "30", "185", "16.2%", "26.0%", "Above 99.8%"],
    ]
    assert _cells(other)[0] == [
        "G: Asthma and a non-selective beta-blocker",
        *("*", "35", "*", "24.6%", "Not shown"),
    ]
    assert gi.caption == f"* = not shown (small numbers). Data: {SOURCE}."


def test_an_empty_breakdown_says_so():
    view = views.breakdown_view(pd.DataFrame(columns=["breakdown", "group", "percent"]))
    assert "There are no measures to show." in view._repr_html_()
    assert "<table" not in view._repr_html_()


# --------------------------------------------------------------------------- every section


@pytest.fixture(scope="module")
def page():
    context = resolve_context("RTD", "2024-03")
    report = poly_report.AuditReport(context, poly_report.load_audit(context, CENSUS))
    sections = {name: report.section(name) for name in report.section_names()}
    yield report, sections
    plt.close("all")


def test_every_table_a_lead_reads_is_labelled_with_no_machine_names(page):
    _, sections = page
    tables = [t for s in sections.values() for t in s.tables]
    # Headline 1, ACB 1, combinations 1, PINCER 3 (GI bleed, other prescribing, monitoring).
    assert [len(s.tables) for s in sections.values()] == [0, 0, 1, 0, 1, 1, 3, 0]
    for table in tables:
        headings = _headings(table)
        assert headings and not [h for h in headings if "_" in h], headings
        assert not {"Measure code", "Indicator code", "Trust code", "Organisation", "Data"} & set(
            headings
        )
        # Each fits the page as one table.
        assert len(table.parts()) == 1 and len(headings) <= 8


def test_no_true_false_and_the_data_source_said_once_in_each_caption(page):
    _, sections = page
    for table in (t for s in sections.values() for t in s.tables):
        frame = table.frame
        assert not any(isinstance(v, bool | np.bool_) for v in frame.to_numpy().ravel())
        body = [cell for row in _cells(table) for cell in row]
        assert not {"True", "False"} & set(body)
        assert SOURCE not in body
        assert table.caption.count(f"Data: {SOURCE}.") == 1


def test_the_tables_show_the_published_figures(page):
    report, sections = page
    published = report.tables()
    # The headline table's counts are the published ones, row for row.
    headline = sections["comparators"].tables[0].frame
    assert (
        headline["Patients counted"].tolist()
        == published["poly_headline"]["patients_in_denominator"].tolist()
    )
    # Each PINCER group's rows are the published rows of that group, then its composite.
    pincer = published["poly_pincer"]
    shown = [
        count
        for table in sections["pincer"].tables
        for count in table.frame["Patients counted"].tolist()
    ]
    order = [
        *pincer.loc[pincer["group"] == "GI bleed", "patients_in_denominator"],
        pincer.loc[pincer["indicator"] == "GI bleed composite", "patients_in_denominator"].item(),
        *pincer.loc[pincer["group"] == "Other prescribing", "patients_in_denominator"],
        pincer.loc[
            pincer["indicator"] == "Other prescribing composite", "patients_in_denominator"
        ].item(),
        *pincer.loc[pincer["group"] == "Monitoring", "patients_in_denominator"],
        pincer.loc[pincer["indicator"] == "Monitoring composite", "patients_in_denominator"].item(),
    ]
    assert shown == order
    # The ACB breakdown's "all patients" column is the published all-patients rows.
    acb = published["poly_acb"]
    everyone = acb.loc[acb["breakdown"] == "all", "percent"].tolist()
    assert sections["acb"].tables[0].frame["All patients"].tolist() == everyone
    assert sections["pincer"].text == "**GI bleed**\n\n**Other prescribing**\n\n**Monitoring**"
