"""The wet AMD report: what each section shows against the synthetic sample's ground truth, the
disclosure of every lead table, the synthetic label on every output, the same peer figures in
every trust's report, a store's own injections used instead of the sample (worked by hand), and
clear errors for bad options."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from medlib.context import resolve_context
from medlib.errors import InputError
from medlib.io.store import ingest
from medlib.present.disclosure import SUPPRESSED, disclose_count, disclose_percentage
from medlib.present.disclosure_check import find_recoveries, table_facts
from medlib.present.figures import clipped_text
from medlib.present.labels import column_label
from medlib.render.guard import check_html, check_table, check_text
from medlib.synthetic.anti_vegf import generate_anti_vegf
from medlib.wet_amd.data import STORE_SOURCE, SYNTHETIC_TRUSTS, is_wet_amd, synthetic_window
from medlib.wet_amd.report import ALL_TRUSTS, SECTIONS, TABLES, build

PERIOD_END = "2024-03"
THROUGH = pd.Timestamp("2024-03-31")
START = "2020-04-01"
SEED = 2025


@pytest.fixture(autouse=True)
def _close_figures():
    """Sections draw their charts when built; a test closes what it opened."""
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def truth():
    """The sample as the report generates it, with its ground truth."""
    assert synthetic_window(THROUGH) == (START, "2024-03-31")
    return generate_anti_vegf(SYNTHETIC_TRUSTS, SEED, start=START, end="2024-03-31")


@pytest.fixture(scope="module")
def reports():
    return {t: build(resolve_context(t, PERIOD_END)) for t in ("RTD", "RR7", "RX4")}


@pytest.fixture(scope="module")
def rtd(reports):
    return reports["RTD"]


def read_back(table: pd.DataFrame) -> pd.DataFrame:
    """A published table as a reader has it: its CSV, every cell as text."""
    return pd.read_csv(io.StringIO(table.to_csv(index=False)), dtype=str, keep_default_na=False)


def shown_row(section, trust_label: str) -> pd.Series:
    frame = section.tables[0].frame
    return frame[frame["Trust"] == trust_label].iloc[0]


# --------------------------------------------------------------------------- the contract


def test_sections_and_tables_are_the_documented_ones(rtd):
    assert rtd.section_names() == list(SECTIONS)
    assert list(rtd.tables()) == list(TABLES)
    with pytest.raises(InputError, match="no section called 'summary'"):
        rtd.section("summary")


def test_the_sample_is_the_fixed_trusts_over_four_years_to_the_period_end(rtd, truth):
    injections = rtd.injections
    assert injections.synthetic and injections.trusts == SYNTHETIC_TRUSTS
    assert (injections.first_day, injections.through) == (pd.Timestamp(START), THROUGH)
    pd.testing.assert_frame_equal(injections.records, truth.records)


# --------------------------------------------------------------------------- against the truth


def test_latest_interval_shares_are_the_truths_after_disclosure(rtd, truth):
    published = rtd.tables()["amd_latest_interval"].set_index("trust_code")
    planted = truth.truth.trusts.set_index("trust_code")
    assert sorted(published.index) == sorted(planted.index)
    for trust, row in planted.iterrows():
        shown = published.loc[trust]
        assert shown["patients"] == disclose_count(row["patients"])
        assert shown["patients_in_maintenance"] == disclose_count(row["patients_in_maintenance"])
        for w in (8, 12, 16):
            n = disclose_count(row[f"patients_latest_{w}w_plus"])
            assert shown[f"patients_latest_{w}w_plus"] == n
            assert shown[f"percent_latest_{w}w_plus"] == disclose_percentage(
                n, disclose_count(row["patients_in_maintenance"])
            )
    # What the page shows for this trust is the same percentage.
    mine = planted.loc["RTD"]
    expected = disclose_percentage(
        mine["patients_latest_12w_plus"], mine["patients_in_maintenance"]
    )
    row = shown_row(rtd.section("latest_interval"), "RTD (this trust)")
    assert row[column_label("percent_latest_12w_plus")] == expected


def pooled_from_truth(planted: pd.DataFrame, weeks: int) -> float:
    """The trusts' disclosed counts added up, leaving out any shown as *."""
    num = planted[f"patients_latest_{weeks}w_plus"].map(disclose_count)
    den = planted["patients_in_maintenance"].map(disclose_count)
    keep = (num != SUPPRESSED) & (den != SUPPRESSED) & (den != 0)
    return round(100 * num[keep].sum() / den[keep].sum(), 1)


def test_all_trusts_shares_are_the_published_counts_pooled(rtd, truth):
    planted = truth.truth.trusts
    row = shown_row(rtd.section("latest_interval"), ALL_TRUSTS)
    for w in (8, 12, 16):
        assert row[column_label(f"percent_latest_{w}w_plus")] == pooled_from_truth(planted, w)
    # The funnel's centre line is the 12-week figure.
    assert round(100 * rtd.analysis.funnel.target, 1) == pooled_from_truth(planted, 12)


def year_counts(eyes: pd.DataFrame, year: int) -> pd.DataFrame:
    """Injections per eye in a year of treatment, for the eyes whose whole year is in the data."""
    lo, hi = 365 * (year - 1), 365 * year

    def in_year(gaps: tuple[int, ...]) -> int:
        offsets = np.cumsum([0, *gaps])
        return int(((offsets >= lo) & (offsets < hi)).sum())

    full = eyes["first_injection"] + pd.Timedelta(days=hi - 1) <= THROUGH
    return eyes[full].assign(injections_in_year=eyes.loc[full, "intervals_days"].map(in_year))


def test_injections_per_eye_are_the_truths(rtd, truth):
    eyes = truth.truth.eyes
    published = rtd.tables()["amd_injections"].set_index("trust_code")
    pooled = shown_row(rtd.section("injections"), ALL_TRUSTS)
    for year in (1, 2):
        counted = year_counts(eyes, year)
        firsts = eyes.groupby(["trust_code", "patient_id"])["first_injection"].min()
        full = firsts + pd.Timedelta(days=365 * year - 1) <= THROUGH
        patients = full.groupby(level="trust_code").sum()
        means = counted.groupby("trust_code")["injections_in_year"].mean()
        for trust in SYNTHETIC_TRUSTS:
            shown = published.loc[trust]
            assert shown[f"patients_year{year}"] == disclose_count(int(patients[trust]))
            assert shown[f"injections_year{year}_per_eye"] == round(float(means[trust]), 1)
        # Every trust shows its count, so all trusts' figure is over every full-year eye.
        assert pooled[column_label(f"injections_year{year}_per_eye")] == round(
            float(counted["injections_in_year"].mean()), 1
        )


def test_interval_bands_shown_are_the_truths_disclosed(rtd, truth):
    eyes = truth.truth.eyes
    published = rtd.tables()["amd_interval_bands"].set_index("trust_code")
    edges = {
        "under_6w": (0, 42),
        "6_to_8w": (42, 56),
        "8_to_10w": (56, 70),
        "10_to_12w": (70, 84),
        "12_to_16w": (84, 112),
        "16w_plus": (112, 10**6),
    }
    for trust in SYNTHETIC_TRUSTS:
        gaps = np.concatenate(
            [
                np.asarray(g, dtype=int)
                for g in eyes.loc[eyes.trust_code == trust].maintenance_intervals_days
            ]
        )
        shown = published.loc[trust]
        assert shown["maintenance_intervals"] == disclose_count(len(gaps))
        for band, (lo, hi) in edges.items():
            cell = shown[f"intervals_{band}"]
            raw = int(((gaps >= lo) & (gaps < hi)).sum())
            # A * is a small count or one hidden to protect another; any other cell is the
            # truth rounded to 5, and its percentage is of the published counts.
            assert cell == SUPPRESSED or cell == disclose_count(raw)
            assert shown[f"percent_{band}"] == disclose_percentage(
                cell, shown["maintenance_intervals"]
            )


def test_cost_per_patient_year_is_worked_from_the_injections(rtd, truth):
    """RTD, all molecules, 2023: the cost of its injections given in 2023 over its patients'
    time on treatment in 2023 (each injection covers the time to the patient's next one, at
    most 16 weeks, and never past the data end)."""
    rows = truth.records[truth.records["trust_code"] == "RTD"]
    year_start, year_end = pd.Timestamp("2023-01-01"), pd.Timestamp("2024-01-01")
    days = 0
    for _, patient in rows.groupby("patient_id"):
        dates = patient["activity_date"].sort_values().tolist()
        for date, after in zip(dates, [*dates[1:], None], strict=True):
            end = min(
                after if after is not None else date + pd.Timedelta(days=112),
                date + pd.Timedelta(days=112),
                THROUGH + pd.Timedelta(days=1),
            )
            overlap = (min(end, year_end) - max(date, year_start)).days
            days += max(0, overlap)
    given = rows[(rows["activity_date"] >= year_start) & (rows["activity_date"] < year_end)]
    expected = round(given["cost_gbp"].sum() / (days / 365.25), -1)
    figures = rtd.tables()["amd_headline"].set_index("measure_key")
    assert figures.loc["cost_per_patient_year", "value"] == expected
    assert figures.loc["cost_per_patient_year", "measure"].endswith(", 2023")
    view = rtd.section("cost").tables[0].frame.set_index("Year")
    assert view.loc["2023", "All molecules (£)"] == expected
    assert f"about £{expected:,.0f} per patient-year at RTD in 2023" in rtd.section("headline").text


def test_the_headline_says_what_the_truth_says(rtd, truth):
    planted = truth.truth.trusts.set_index("trust_code")
    mine = planted.loc["RTD"]
    lines = rtd.section("headline").text.split("\n")
    assert 2 <= len(lines) <= 4
    assert lines[0] == (
        f"- In this synthetic sample, about {disclose_count(mine['patients'])} patients were "
        "treated with anti-VEGF injections for wet AMD at RTD from April 2020 to March 2024; "
        f"about {disclose_count(mine['patients_in_maintenance'])} of them had had their 3 "
        "loading doses and were in maintenance."
    )
    share = disclose_percentage(mine["patients_latest_12w_plus"], mine["patients_in_maintenance"])
    others = [
        disclose_percentage(r["patients_latest_12w_plus"], r["patients_in_maintenance"])
        for t, r in planted.iterrows()
        if t != "RTD"
    ]
    shown = [v for v in others if v != SUPPRESSED]
    assert lines[1].startswith(
        f"- {share:.1f}% of patients in maintenance at RTD had a latest interval of 12 weeks or "
        f"more, against {pooled_from_truth(planted.reset_index(), 12):.1f}% across all 8 trusts "
        f"compared (the other trusts: {min(shown):.1f}% to {max(shown):.1f}%)"
    )
    counted = year_counts(truth.truth.eyes, 1)
    year1 = counted[counted.trust_code == "RTD"]["injections_in_year"].mean()
    assert lines[2].startswith(
        "- Injections per eye at RTD, over the eyes with a whole year of treatment in the data: "
        f"{round(float(year1), 1):.1f} in the first year and "
    )


# --------------------------------------------------------------------------- disclosure


def test_every_lead_table_passes_disclosure_control_and_holds_no_id(reports, truth):
    ids = set(truth.records["patient_id"])
    for report in reports.values():
        for name, table in report.tables().items():
            published = read_back(table)
            assert check_table(published, f"table {name}", about_patients=True) == [], name
            cells = set(published.to_numpy().ravel())
            assert not cells & ids, name
            assert not [c for c in published.columns if "patient_id" in c or c == "eye"]
            for column in published.columns:
                if (
                    column.startswith("patients")
                    or column in ("maintenance_intervals",)
                    or (column.startswith("intervals_"))
                ):
                    values = [v for v in published[column] if v not in ("", SUPPRESSED)]
                    assert all(float(v) % 5 == 0 for v in values), (name, column)


def test_no_hidden_count_of_the_published_tables_can_be_worked_back(rtd):
    from test_wet_amd_lead_views import layouts, nested, variable

    published = {name: read_back(t) for name, t in rtd.tables().items()}
    published["amd_funnel"] = published["amd_funnel"].rename(
        columns={"percent_latest_12w_plus": "percent"}
    )
    facts = []
    for name, layout in layouts(published["amd_cost"]).items():
        facts.extend(table_facts(name, published[name], layout, variable))
    facts.extend(nested(SYNTHETIC_TRUSTS))
    assert any(v == SUPPRESSED for t in published.values() for v in t.to_numpy().ravel())
    assert find_recoveries(facts) == []


def test_every_section_is_lead_safe_as_shown(reports):
    for report in reports.values():
        for name in SECTIONS:
            section = report.section(name)
            assert check_text(section.text, name) == []
            for table in section.tables:
                html = table._repr_html_()
                assert check_html(html, name, about_patients=True) == []
                assert not [c for c in table.frame.columns if "_" in str(c)], name
                assert table.caption and "Data: synthetic anti-VEGF sample (seed 2025)." in (
                    table.caption
                )
            for figure in section.figures:
                assert clipped_text(figure) == [], name
            plt.close("all")


def test_every_output_says_the_data_are_synthetic(rtd):
    for name in SECTIONS:
        section = rtd.section(name)
        assert "synthetic" in section.text.lower(), name
        for figure in section.figures:
            ax = figure.axes[0]
            assert ax.get_title(loc="left").endswith("(synthetic data)"), name
            assert any("SYNTHETIC DATA" in t.get_text() for t in ax.texts), name
        plt.close("all")
    assert rtd.section("data_statement").text.startswith(
        "**SYNTHETIC DATA: generated patients, not real activity.**"
    )
    for name, table in rtd.tables().items():
        assert table["data_source"].eq("synthetic anti-VEGF sample (seed 2025)").all(), name


# --------------------------------------------------------------------------- the pack


def test_peer_figures_are_the_same_whichever_trusts_report_is_built(reports):
    rtd, rr7, rx4 = reports["RTD"], reports["RR7"], reports["RX4"]
    for name in TABLES:
        if name == "amd_headline":
            continue
        a, b, c = (
            r.tables()[name].drop(columns="this_trust", errors="ignore") for r in (rtd, rr7, rx4)
        )
        pd.testing.assert_frame_equal(a, b)
        pd.testing.assert_frame_equal(a, c)
    # The funnel highlights each report's own trust.
    assert rtd.tables()["amd_funnel"].set_index("trust_code")["this_trust"].to_dict()["RTD"]
    assert not rr7.tables()["amd_funnel"].set_index("trust_code")["this_trust"].to_dict()["RTD"]
    # A trust's row on the page is the same in another trust's report.
    for section in ("latest_interval", "interval_bands", "injections", "funnel"):
        assert shown_row(rtd.section(section), "RTF").equals(shown_row(rr7.section(section), "RTF"))
        plt.close("all")


def test_a_trust_outside_the_sample_gets_the_others_figures_and_says_why(reports):
    rx4 = reports["RX4"]
    assert not rx4.has_data
    statement = rx4.section("data_statement").text
    assert "(RX4) is not one of the trusts of the sample" in statement
    headline = rx4.section("headline").text
    assert "(RX4) has no anti-VEGF injections for wet AMD" in headline
    assert rx4.section("latest_interval").tables[0].frame["Trust"].tolist()[-1] == ALL_TRUSTS
    assert "(this trust)" not in " ".join(rx4.section("funnel").tables[0].frame["Trust"])
    assert rx4.tables()["amd_headline"]["value"].isna().all()


def test_pack_caching_gives_the_same_report(monkeypatch, tmp_path, rtd):
    monkeypatch.setenv("MEDLIB_PACK_CACHE", str(tmp_path))
    first = build(resolve_context("RTD", PERIOD_END))
    again = build(resolve_context("RTD", PERIOD_END))
    for name, table in rtd.tables().items():
        pd.testing.assert_frame_equal(first.tables()[name], table)
        pd.testing.assert_frame_equal(again.tables()[name], table)
    assert any(tmp_path.iterdir())


# --------------------------------------------------------------------------- a real store

#: 4, 4, 8 and 12 weeks apart: the latest interval is 12 weeks.
EXTENDED = ["2024-01-01", "2024-01-29", "2024-02-26", "2024-04-22", "2024-07-15"]
#: Every 4 weeks: the latest interval is 4 weeks.
MONTHLY = ["2024-01-01", "2024-01-29", "2024-02-26", "2024-03-25", "2024-04-22"]
HEADER = "patient_id,trust_code,activity_date,molecule,product,indication,quantity,cost_gbp\n"


def extract(folder, rows: list[str], name: str = "wet_amd_extract_2024.csv"):
    path = folder / name
    path.write_text(HEADER + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


def patients(trust: str, dates: list[str], n: int = 10, indication: str = "Wet AMD") -> list[str]:
    return [
        f"{trust.lower()}{i:02d},{trust},{d},aflibercept,Eylea,{indication},1,816"
        for i in range(n)
        for d in dates
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("amd_store")
    rows = [
        *patients("RTD", EXTENDED),
        *patients("RR7", MONTHLY),
        # Not wet AMD: another indication of the molecule, and another molecule.
        "dmo01,RTD,2024-02-01,ranibizumab,Byooviz,Diabetic macular oedema,1,303.05",
        "ada01,RTD,2024-02-01,adalimumab,Amgevita,Crohn's disease,1,150",
        # Wet AMD at a trust outside the North East and Yorkshire region.
        *patients("RBS", MONTHLY, n=2),
    ]
    ingest([extract(folder, rows)], folder / "store", table="hcd_activity")
    return str(folder / "store")


@pytest.fixture(scope="module")
def from_store(store):
    return {t: build(resolve_context(t, "2024-12"), store=store) for t in ("RTD", "RR7", "RX4")}


def test_a_store_with_wet_amd_rows_is_used_instead_of_the_sample(from_store):
    report = from_store["RTD"]
    assert not report.synthetic
    assert report.injections.trusts == ("RR7", "RTD")  # the region's trusts with rows
    assert report.injections.other_indications == 1
    assert not report.injections.has_eye
    for name, table in report.tables().items():
        assert table["data_source"].eq(STORE_SOURCE).all(), name
    for name in SECTIONS:
        section = report.section(name)
        assert "synthetic" not in section.text.lower(), name
        for table in section.tables:
            assert "synthetic" not in table.caption.lower()
        for figure in section.figures:
            assert "synthetic" not in figure.axes[0].get_title(loc="left").lower()
        plt.close("all")
    statement = report.section("data_statement").text
    assert "from the data store's hcd_activity table" in statement
    assert "Files: wet_amd_extract_2024.csv." in statement
    assert "do not say which eye was treated" in statement


def test_the_store_figures_are_worked_by_hand(from_store):
    report = from_store["RTD"]
    latest = report.tables()["amd_latest_interval"].set_index("trust_code")
    # RTD: 10 patients, all latest at 12 weeks (84 days); RR7: 10 patients, all at 4 weeks.
    assert latest.loc["RTD", ["patients", "patients_in_maintenance"]].tolist() == [10, 10]
    assert latest.loc["RTD", [f"percent_latest_{w}w_plus" for w in (8, 12, 16)]].tolist() == [
        100.0,
        100.0,
        0.0,
    ]
    assert latest.loc["RR7", [f"percent_latest_{w}w_plus" for w in (8, 12, 16)]].tolist() == [
        0.0,
        0.0,
        0.0,
    ]
    figures = report.tables()["amd_headline"].set_index("measure_key")
    assert figures.loc["percent_latest_12w_plus", "all_trusts_value"] == 50.0  # 10 of 20
    # Five £816 injections each: 28 + 28 + 56 + 84 days and 16 weeks after the last at RTD
    # (308 days); at RR7 four gaps of 28 days and 112 after the last (224 days).
    assert figures.loc["cost_per_patient_year", "value"] == round(5 * 816 * 365.25 / 308, -1)
    assert figures.loc["cost_per_patient_year", "value"] == 4840.0
    assert figures.loc["cost_per_patient_year", "all_trusts_value"] == round(
        20 * 5 * 816 * 365.25 / (10 * 308 + 10 * 224), -1
    )
    assert figures.loc["cost_per_patient_year", "measure"].endswith(", 2024")
    # Every injection is in the first year, which ends on 30 December 2024.
    injections = report.tables()["amd_injections"].set_index("trust_code")
    assert injections.loc["RTD", ["patients_year1", "injections_year1_per_eye"]].tolist() == [
        10,
        5.0,
    ]
    assert injections.loc["RTD", "patients_year2"] == 0
    bands = report.tables()["amd_interval_bands"].set_index("trust_code")
    # RTD's maintenance intervals: 10 of 8 weeks and 10 of 12 weeks.
    assert bands.loc[
        "RTD", ["maintenance_intervals", "intervals_8_to_10w", "intervals_12_to_16w"]
    ].tolist() == [20, 10, 10]
    assert (
        report.section("headline")
        .text.split("\n")[1]
        .startswith(
            "- 100.0% of patients in maintenance at RTD had a latest interval of 12 weeks or more, "
            "against 50.0% across both trusts compared (the other trusts: 0.0%)"
        )
    )


def test_store_peer_figures_are_the_same_in_every_report(from_store):
    rtd, rr7, rx4 = from_store["RTD"], from_store["RR7"], from_store["RX4"]
    pd.testing.assert_frame_equal(rtd.tables()["amd_cost"], rr7.tables()["amd_cost"])
    pd.testing.assert_frame_equal(
        rtd.tables()["amd_latest_interval"], rx4.tables()["amd_latest_interval"]
    )
    assert "(RX4) has no wet AMD anti-VEGF rows in the store" in rx4.section("data_statement").text


def test_a_trust_with_few_patients_is_described_without_small_numbers(tmp_path):
    rows = [*patients("RTD", EXTENDED, n=5), *patients("RR7", MONTHLY)]
    ingest([extract(tmp_path, rows)], tmp_path / "store", table="hcd_activity")
    report = build(resolve_context("RTD", "2024-12"), store=str(tmp_path / "store"))
    assert report.section("headline").text.split("\n") == [
        "- Fewer than 8 patients were treated with anti-VEGF injections for wet AMD at RTD from "
        "January 2024 to December 2024; fewer than 8 of them had had their 3 loading doses and "
        "were in maintenance.",
        "- The share of patients in maintenance at RTD whose latest interval was 12 weeks or "
        "more is not shown (small numbers), against 0.0% across both trusts compared (the other "
        "trusts: 0.0%).",
        "- Injections per eye at RTD, over the eyes with a whole year of treatment in the data: "
        "not shown (small numbers) in the first year and none yet in the second.",
        # 15 patients, five £816 injections each, over 5 x 308 + 10 x 224 days: £5,913.
        "- The cost per patient-year at RTD in 2024 is not shown (small numbers); across all "
        "trusts compared it was about £5,910.",
    ]
    for name in SECTIONS:
        section = report.section(name)
        assert check_text(section.text, name) == []
        for table in section.tables:
            assert check_html(table._repr_html_(), name, about_patients=True) == []
        plt.close("all")
    for name, table in report.tables().items():
        assert check_table(read_back(table), name, about_patients=True) == [], name


def test_loading_doses_is_an_option(store):
    report = build(resolve_context("RTD", "2024-12"), store=store, loading_doses=5)
    latest = report.tables()["amd_latest_interval"].set_index("trust_code")
    # Five injections, all of them loading: nobody is in maintenance.
    assert latest.loc["RTD", "patients_in_maintenance"] == 0
    assert latest.loc["RTD", "percent_latest_12w_plus"] is None
    assert "the first 5 injections of each treated eye" in report.section("data_statement").text


def test_a_store_with_rows_only_outside_the_group_falls_back_to_the_sample(tmp_path):
    ingest([extract(tmp_path, patients("RBS", MONTHLY))], tmp_path / "store", table="hcd_activity")
    report = build(resolve_context("RTD", PERIOD_END), store=str(tmp_path / "store"))
    assert report.synthetic
    assert "only for trusts outside this report's region comparison group (RBS)" in (
        report.section("data_statement").text
    )


def test_wet_amd_is_told_apart_from_other_indications():
    assert is_wet_amd(
        pd.Series(
            [
                "Wet age-related macular degeneration",
                "exudative macular degeneration",
                "wAMD",
                "retinal vein occlusion",
                "geographic atrophy",
                "",
            ]
        )
    ).tolist() == [True, True, True, False, False, False]


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"seed": -1}, "seed must be a whole number of 0 or more, got -1"),
        ({"seed": True}, "seed must be a whole number"),
        ({"seed": "2025"}, "seed must be a whole number"),
        ({"loading_doses": 0}, "loading_doses must be a whole number of at least 1, got 0"),
        ({"loading_doses": 2.5}, "loading_doses must be a whole number"),
        ({"backend": "sqlite"}, "backend must be one of duckdb, pyspark, got 'sqlite'"),
        ({"store": 3}, "store: expected a folder"),
        ({"store": "/no/such/store"}, "store: '/no/such/store' is not a folder"),
    ],
)
def test_bad_options_are_clear_errors(options, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build(resolve_context("RTD", PERIOD_END), **options)


def test_a_system_is_refused():
    with pytest.raises(InputError, match="the wet AMD report is for one trust; 'QHM' is a system"):
        build(resolve_context("QHM", PERIOD_END))
