"""The measures report: overview order, sentences, measures the data cannot support, the pack."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from measures_fixtures import definition as make_definition
from measures_fixtures import ladder_usage
from measures_fixtures import products as make_products
from render_fixtures import write_parameter_set

from medlib.context import resolve_context
from medlib.errors import InputError
from medlib.measures.compute import compute_measures
from medlib.measures.definitions import MeasureDefinitionError
from medlib.measures.report import (
    NOT_COMPUTED,
    MeasuresReport,
    NationalMeasures,
    build,
    not_computed_reasons,
    overview_table,
)
from medlib.present.sections import Table


@pytest.fixture(scope="module")
def ladder():
    definitions = [
        make_definition("lower", True, title="Measure lower"),
        make_definition("higher", False, title="Measure higher"),
        make_definition("none", None, title="Measure none"),
        # Product 3 is in the products table but never used; product 9 is in neither.
        make_definition(
            "unused", True, title="Measure unused", numerator=("3",), denominator=("3",)
        ),
        make_definition(
            "unknown", True, title="Measure unknown", numerator=("9",), denominator=("9",)
        ),
        # Product 4 has no DDD per unit, so a DDD measure of it counts nothing.
        make_definition(
            "no_ddd",
            True,
            title="Measure no_ddd",
            numerator=("4",),
            denominator=("4",),
            quantity="ddd",
        ),
    ]
    products = pd.concat([make_products(["1", "2", "3"]), make_products(["4"], ddd=np.nan)])
    results = compute_measures(
        ladder_usage("RTD"), definitions, products, successors={}, percentiles=(10, 50, 90)
    )
    national = NationalMeasures(
        results=results,
        where="the test usage",
        not_computed=not_computed_reasons(results),
    )
    return MeasuresReport(resolve_context("RTD", "2023-12"), national)


def test_measures_the_data_cannot_support_say_why(ladder):
    reasons = ladder.national.not_computed.set_index("measure_id")["reason"].to_dict()
    assert reasons == {
        "no_ddd": NOT_COMPUTED["no_ddd"].format(n=1),
        "unknown": NOT_COMPUTED["no_products"],
        "unused": NOT_COMPUTED["no_use"].format(n=1),
    }
    statement = "\n".join(p for p in ladder.section("data_statement").parts)
    assert "The data cannot support these measures" in statement
    assert "**Measure unused**: the data hold no use of the 1 products it selects." in statement


def test_overview_is_sorted_by_potential_for_improvement(ladder):
    table = ladder.overview
    # lower is better: RTD's highest position is 90. Higher is better: 100 - its lowest (20).
    # No judgement: not ranked. Then the three the data cannot support, by title.
    assert table["measure_id"].tolist() == [
        "lower",
        "higher",
        "none",
        "no_ddd",
        "unknown",
        "unused",
    ]
    lower = table.set_index("measure_id").loc["lower"]
    assert lower["potential_for_improvement"] == pytest.approx(90)
    assert lower["most_improved"] == pytest.approx(90 - 20)
    assert table.set_index("measure_id").loc["higher", "most_improved"] == pytest.approx(-70)
    assert lower["latest_month"] == pd.Timestamp("2023-12-01")
    assert lower["value_share"] == pytest.approx(0.2)
    assert lower["national_median_share"] == pytest.approx(0.5)
    assert lower["percent_rank"] == pytest.approx(20)
    assert lower["trusts_compared"] == 11
    assert table.set_index("measure_id").loc["unused", "note"].startswith("Not computed: ")


def test_overview_section_names_the_top_measure_and_labels_its_table(ladder):
    section = ladder.section("overview")
    lead, table = section.parts[0], section.parts[1]
    assert "has most potential for improvement on **Measure lower** (90 of 100" in lead
    assert isinstance(table, Table)
    assert list(table.frame.columns) == [
        "Measure",
        "Latest month",
        "This trust",
        "National median",
        "Percentile (0-100)",
        "Potential for improvement",
        "Most improved",
    ]
    html = table.styler().to_html()
    assert "December 2023" in html and "20.0%" in html and "50.0%" in html


def test_measure_sentences(ladder):
    by_id = {d.id: d for d in ladder.national.definitions}
    name = ladder.trust_name
    assert ladder.measure_sentence(by_id["lower"]) == (
        f"In December 2023, {name}: 20.0% against a national median of 50.0% (percentile 20 of "
        "11 trusts). Over Jan 2023 to Dec 2023: potential for improvement 90 of 100; from the "
        "first 3 months to the last 3, 70.0 points better."
    )
    assert ladder.measure_sentence(by_id["higher"]).endswith("70.0 points worse.")
    assert ladder.measure_sentence(by_id["none"]).endswith(
        "This measure makes no value judgement, so trusts are not ranked on it."
    )


def test_every_computed_measure_has_a_chart_and_the_others_none(ladder):
    section = ladder.section("measures")
    headings = [p for p in section.parts if isinstance(p, str) and p.startswith("### ")]
    assert headings == ["### Measure lower", "### Measure higher", "### Measure none"]
    figures = [p for p in section.parts if not isinstance(p, str)]
    assert len(figures) == 3


def test_published_tables(ladder):
    tables = ladder.tables()
    assert set(tables) == {
        "measures_overview",
        "measures_monthly",
        "measures_national_percentiles",
        "measures_not_computed",
        "measures_excluded_products",
    }
    monthly = tables["measures_monthly"]
    assert set(monthly["trust_code"]) == {"RTD"}
    lower = monthly[monthly["measure_id"] == "lower"]
    np.testing.assert_allclose(lower["value_share"], [0.9] * 3 + [0.6] * 6 + [0.2] * 3)
    np.testing.assert_allclose(lower["national_median_share"], [0.5] * 12)
    assert tables["measures_overview"]["trust_code"].unique().tolist() == ["RTD"]


def test_a_trust_without_use_of_a_measure_is_told_so():
    usage = ladder_usage("RTD")
    usage = usage[~((usage["trust_code"] == "RTD") & (usage["vmp_code"] == "2"))]
    usage = usage[usage["trust_code"] != "RTD"]
    results = compute_measures(
        usage,
        [make_definition("lower", True, title="Measure lower")],
        make_products(["1", "2"]),
        successors={},
    )
    national = NationalMeasures(results, "the test usage", not_computed_reasons(results))
    row = overview_table(national, "RTD").iloc[0]
    assert row["note"] == "No use of this measure's products at this trust."
    assert pd.isna(row["latest_month"])


def test_a_system_is_refused():
    with pytest.raises(InputError, match="for one trust"):
        build(resolve_context("QHM", "2024-03"))


def test_a_bad_team_definition_names_its_file_and_field(tmp_path):
    (tmp_path / "broken.yaml").write_text(
        "id: broken\ntitle: Broken\nwhy_it_matters: x\nnumerator: {vtm: [a]}\n"
        "denominator: {vtm: [a]}\nquantity: litres\nlower_is_better: true\ncitation: x\n",
        encoding="utf-8",
    )
    with pytest.raises(MeasureDefinitionError) as caught:
        build(resolve_context("RTD", "2024-03"), measure_dirs=[str(tmp_path)])
    assert caught.value.path.endswith("broken.yaml")
    assert caught.value.field == "quantity"


# --- the rendered pack -----------------------------------------------------------------------

TEAM_MEASURE = """\
id: amoxicillin_share
title: Amoxicillin among penicillins (a team's own measure)
why_it_matters: Written by the test to show a definition file is all a new measure needs.
numerator:
  vtm: [amoxicillin]
denominator:
  atc_prefix: [J01C]
quantity: ddd
lower_is_better: null
citation: This test.
"""


@pytest.mark.notebook
def test_a_definition_file_adds_the_measure_to_every_trusts_report(tmp_path):
    from medlib.render import render_pack

    folder = tmp_path / "our_measures"
    folder.mkdir()
    (folder / "amoxicillin_share.yaml").write_text(TEAM_MEASURE, encoding="utf-8")
    params = write_parameter_set(
        tmp_path / "pack.yaml",
        trusts=["RTD", "RX4"],
        notebooks=["measures"],
        parameters={"measure_dirs": [str(folder)]},
        timeout_seconds=600,
    )
    out = tmp_path / "pack"
    result = render_pack(params, output_dir=out, jobs=2, progress=False)
    assert result.failed == []
    for trust in ("RTD", "RX4"):
        page = (out / trust / "measures.html").read_text(encoding="utf-8")
        assert page.count("Amoxicillin among penicillins") >= 3  # overview, heading, chart note
        overview = pd.read_csv(out / trust / "tables" / "measures_overview.csv")
        row = overview.set_index("measure_id").loc["amoxicillin_share"]
        assert row["trust_code"] == trust
        monthly = pd.read_csv(out / trust / "tables" / "measures_monthly.csv")
        mine = monthly[monthly["measure_id"] == "amoxicillin_share"]
        # The antibacterial extract's 23 months, January 2019 to November 2020.
        assert mine["year_month"].tolist() == [
            f"{m:%Y-%m-%d}" for m in pd.date_range("2019-01-01", "2020-11-01", freq="MS")
        ]
        latest = mine.set_index("year_month").loc[row["latest_month"]]
        assert row["value_share"] == pytest.approx(latest["numerator"] / latest["denominator"])
        # No value judgement: shown, never ranked.
        assert np.isnan(row["potential_for_improvement"])


def test_months_without_an_ordinary_value_are_said():
    from medlib.measures.compute import NOTES

    months = pd.date_range("2023-01-01", periods=4, freq="MS")
    rows = [(m, "T1", "2", 10.0) for m in months]
    # RTD: an ordinary January, nothing in February, more returned than issued in March
    # (denominator -5), and returns of the numerator in April (value below 0).
    rows += [
        (months[0], "RTD", "1", 4.0),
        (months[0], "RTD", "2", 6.0),
        (months[2], "RTD", "2", -5.0),
        (months[3], "RTD", "1", -1.0),
        (months[3], "RTD", "2", 11.0),
    ]
    usage = pd.DataFrame(rows, columns=["year_month", "trust_code", "vmp_code", "quantity"])
    results = compute_measures(
        usage,
        [make_definition("m", True, title="Measure m")],
        make_products(["1", "2"]),
        successors={},
    )
    national = NationalMeasures(results, "the test usage", not_computed_reasons(results))
    report = MeasuresReport(resolve_context("RTD", "2023-04"), national)
    [definition] = results.definitions
    assert report.months_sentence(definition) == (
        "Of this trust's 4 months, "
        f"1 month: {NOTES['negative']}; 1 month: {NOTES['no_rows']}; "
        f"1 month: {NOTES['below_zero']}."
    )
    assert report.months_sentence(definition) in report.section("measures").parts


def test_a_trust_without_positions_at_one_end_has_no_most_improved_figure():
    # RTD issues nothing in January-March 2023, so those months have no value and no position:
    # potential for improvement is its highest position over April-December (0.6 -> 60), and
    # most improved cannot be worked out.
    usage = ladder_usage("RTD")
    usage = usage[~((usage["trust_code"] == "RTD") & (usage["year_month"] < "2023-04-01"))]
    results = compute_measures(usage, [make_definition("m", True)], make_products(["1", "2"]))
    national = NationalMeasures(results, "the test usage", not_computed_reasons(results))
    report = MeasuresReport(resolve_context("RTD", "2023-12"), national)
    [definition] = results.definitions
    assert report.measure_sentence(definition).endswith(
        "potential for improvement 60 of 100; from the first 3 months to the last 3, no figure "
        "(no percentile position in the first or last 3 months)."
    )
