from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from medlib.context import resolve_context
from medlib.errors import InputError, MedlibError
from medlib.present import charts
from medlib.present.sections import Section, Table
from medlib.spend import measures
from medlib.spend.report import (
    SpendReport,
    build,
    change_sentence,
    forecast_sentence,
    table_view,
    tidy_for_publication,
)
from medlib.stats import forecast


def spend_report(
    trust_code: str = "RTD",
    period_end: str = "2024-03",
    comparison_group: str = "region",
    system_trusts: tuple[str, ...] = (),
    **options,
) -> SpendReport:
    context = resolve_context(
        trust_code,
        period_end,
        comparison_group=comparison_group,
        system_trusts=system_trusts,
    )
    return build(context, **options)


# --- sentence builders ----------------------------------------------------------------------


def test_change_sentence_spend():
    # 1328.44 vs 470.63: +857.81 = +182.3%
    text = change_sentence(
        "Trust A", "2023/24", 12, pd.Timestamp("2024-03-01"), 1328.44, 470.63, "cost_gbp"
    )
    assert text == (
        "In 2023/24 (the full year to March 2024) Trust A spent £1,328, up £858 (+182.3%) "
        "on the same months of the year before."
    )


def test_change_sentence_ddds_partial_year_and_no_comparison():
    # 90 vs 100 DDDs after 3 months: down 10 (-10.0%)
    text = change_sentence("B", "2021/22", 3, pd.Timestamp("2021-06-01"), 90.0, 100.0, "ddds")
    assert text.startswith("In 2021/22 (the 3 months to June 2021) B used 90 defined daily doses")
    assert text.endswith("down 10 DDDs (-10.0%) on the same months of the year before.")
    text = change_sentence("B", "2021/22", 3, pd.Timestamp("2021-06-01"), 90.0, np.nan, "ddds")
    assert text.endswith("there is no comparable period the year before in this data.")


def test_forecast_sentence():
    row = {
        "financial_year": "2023/24",
        "method": "robust_national",
        "months_observed": 9,
        "forecast": 7223.01,
        "lower_80": 6756.59,
        "upper_80": 8281.95,
    }
    text = forecast_sentence(row, "cost_gbp", 13.65, coverage_80=82.09, trusts=184)
    assert text == (
        "The forecast for the whole of 2023/24 is £7,223 (80% interval £6,757 to £8,282), "
        "using run rate with the national level shift, spikes capped, the method with the "
        "smallest error when 184 trusts' past years were forecast from the same month "
        "(average error 13.7%); in those years 80% intervals made the same way held the "
        "outturn 82.1% of the time."
    )
    # no interval (too few past forecasts) and no backtest: it says so
    bare = forecast_sentence({**row, "lower_80": float("nan")}, "cost_gbp", None)
    assert bare == (
        "The forecast for the whole of 2023/24 is £7,223 (no interval: too few past forecasts "
        "to calibrate one), using run rate with the national level shift, spikes capped "
        "(there are too few complete past years in the data to test the methods)."
    )
    done = forecast_sentence({**row, "months_observed": 12, "forecast": 1328.44}, "cost_gbp", None)
    assert done == "2023/24 is complete, so its outturn is known: £1,328."


def test_tidy_for_publication_rounds_by_kind():
    df = pd.DataFrame(
        {"cost_gbp": [6004.939999999999], "yoy_change_pct": [50.4413], "z": [0.123456789]}
    )
    out = tidy_for_publication(df)
    assert out.loc[0, "cost_gbp"] == 6004.94
    assert out.loc[0, "yoy_change_pct"] == 50.4
    assert out.loc[0, "z"] == 0.1235


# --- the report on the bundled data ---------------------------------------------------------


@pytest.fixture(scope="module")
def rtd() -> SpendReport:
    return spend_report("RTD", "2024-03")


@pytest.fixture(scope="module")
def rx4_midyear() -> SpendReport:
    return spend_report("RX4", "2023-12", high_cost_blocks={"RX4": 1200.0})


def test_headline_numbers_match_the_penny_checked_totals(rtd):
    # RTD 2023/24 1328.44 vs 2022/23 470.63 (checked against the raw CSV in test_spend.py)
    text = rtd.headline()
    assert "spent £1,328 on the 8 lithium products in this data, up £858 (+182.3%)" in text
    assert "2023/24 is complete, so its outturn is known: £1,328." in text
    assert "Cost is not available" not in text


def test_published_tables_contract(rtd):
    tables = rtd.tables()
    fy = tables["spend_by_financial_year"]
    assert list(fy.columns) == measures.SPEND_BY_FY_COLUMNS
    assert fy["financial_year"].tolist() == ["2019/20", "2020/21", "2021/22", "2022/23", "2023/24"]
    assert fy["cost_gbp"].iloc[-1] == 1328.44 and fy["yoy_change_pct"].iloc[-1] == 182.3
    assert pd.isna(fy["yoy_change_gbp"].iloc[0])
    for name in tables:
        assert name == name.lower() and " " not in name
    # the backtest covers 2021/22 to 2023/24 on the lithium extract: 3 years x 11 months
    backtest = tables["forecast_backtest"]
    assert set(backtest["years_tested"]) == {"2021/22 to 2023/24"}
    assert backtest["forecasts"].tolist() == [33] * len(forecast.POOLED_METHODS)
    assert set(backtest["method"]) == set(forecast.POOLED_METHODS)
    assert backtest["chosen"].tolist() == [True] + [False] * (len(backtest) - 1)
    # the default is the method with the lowest pooled relative error (run rate = 1)
    relative = backtest.set_index("method")["pooled_relative_error"]
    assert relative.loc["run_rate"] == 1.0
    assert relative.iloc[0] == relative.min()
    for column in ("coverage_80_pct", "coverage_95_pct", "pooled_coverage_80_pct"):
        assert backtest[column].between(0, 100).all()
    outturn = tables["forecast_outturn"]
    assert list(outturn.columns) == [
        "financial_year",
        "method",
        "method_name",
        "months_observed",
        "ytd",
        "forecast",
        "lower_80",
        "upper_80",
        "lower_95",
        "upper_95",
        "chosen",
    ]


def test_movers_add_up_to_the_change(rtd):
    table = rtd.movers_table()
    pennies = (table["change"] * 100).round().astype(int)
    assert pennies.iloc[:-1].sum() == pennies.iloc[-1]
    # the total change equals the FY table's change: 1328.44 - 470.63
    assert table["change"].iloc[-1] == pytest.approx(857.81)


def test_midyear_forecast_and_block_variance(rx4_midyear):
    fc = rx4_midyear.forecasts.set_index("method")
    assert fc.loc["run_rate", "months_observed"] == 9
    # RX4's indicative cost Apr-Dec 2023, summed from the bundled file's text values with
    # Decimal (as in test_spend._independent_fy_totals): 5,272.78
    assert fc.loc["run_rate", "ytd"] == pytest.approx(5272.78)
    # run rate: ytd * 12 / 9 = 7,030.37
    assert fc.loc["run_rate", "forecast"] == pytest.approx(fc.loc["run_rate", "ytd"] * 12 / 9)
    assert fc.loc["run_rate", "forecast"] == pytest.approx(7030.37, abs=0.005)
    assert fc["chosen"].sum() == 1
    # the default is the pooled choice from month 9 over every trust's years before 2023/24
    method, mape = forecast.choose_method(
        rx4_midyear.pooled_backtest, "2023/24", 9, forecast.POOLED_METHODS
    )
    assert rx4_midyear.forecast_choice == (method, pytest.approx(mape))
    chosen = rx4_midyear.forecast_best_row
    assert chosen["method"] == method
    assert chosen["lower_95"] <= chosen["lower_80"] < chosen["forecast"] < chosen["upper_80"]
    assert "80% interval" in rx4_midyear.headline()
    # lithium is in tariff: no high-cost spend, so the whole block to date is unspent
    block = rx4_midyear.block_variance().iloc[0]
    assert block["block_to_date_gbp"] == 900  # 1200 * 9 / 12
    assert block["actual_gbp"] == 0 and block["variance_gbp"] == -900


def test_the_forecast_never_looks_at_the_year_it_forecasts(rx4_midyear):
    # Spoil every trust's backtest of 2023/24 (the year being forecast): the choice and the
    # intervals, made from the years before it, must not move.
    report = spend_report("RX4", "2023-12", high_cost_blocks={"RX4": 1200.0})
    spoiled = rx4_midyear.pooled_backtest.copy()
    current = spoiled["financial_year"] == "2023/24"
    assert current.any()
    spoiled.loc[current, "actual"] *= 5
    spoiled.loc[current & (spoiled["method"] == "run_rate"), "ape_pct"] = 0.0
    report.__dict__["pooled_backtest"] = spoiled
    assert report.forecast_choice == rx4_midyear.forecast_choice
    pd.testing.assert_frame_equal(report.forecasts, rx4_midyear.forecasts)


def test_charts_are_figures(rx4_midyear):
    for method in (
        "trend_chart",
        "high_cost_chart",
        "movers_chart",
        "forecast_chart",
        "deciles_chart",
        "funnel_chart",
    ):
        fig = getattr(rx4_midyear, method)()
        assert isinstance(fig, Figure), method
    # What is drawn: one bar per molecule's change (not the total), and high-cost plus
    # in-tariff bars for each of the five financial years 2019/20-2023/24.
    movers = rx4_midyear.movers_table()
    bars = rx4_midyear.movers_chart().axes[0].patches
    assert sorted(p.get_width() for p in bars) == pytest.approx(sorted(movers["change"][:-1]))
    assert len(bars) == len(movers) - 1 == 2
    assert len(rx4_midyear.high_cost_chart().axes[0].patches) == 5 * 2
    # The total change: this year to date (5,272.78) less the same months last year.
    assert movers["current"].iloc[-1] == pytest.approx(5272.78)
    charts.close_all()


def test_comparators_follow_the_group(rx4_midyear):
    region = rx4_midyear.comparators
    national = spend_report("RX4", "2023-12", comparison_group="national").comparators
    assert "RX4" in region and set(region) < set(national)


@pytest.fixture(scope="module")
def biologics_store(tmp_path_factory):
    from medlib.io.datasets import USAGE_FILES
    from medlib.io.store import ingest
    from medlib.paths import DATA_DIR

    folder = tmp_path_factory.mktemp("biologics") / "store"
    ingest([DATA_DIR / USAGE_FILES["scmd_biologics"][0]], folder)
    return str(folder)


def test_quantity_only_source_never_shows_a_cost(biologics_store):
    report = spend_report("RR7", "2021-10", store=biologics_store)
    assert report.measure == "ddds"
    # The biologics extract: 63 VMP codes of 16 molecules (abatacept to upadacitinib).
    assert report.scope == "the 63 products of 16 molecules in this data"
    assert (
        "**Cost is not available in this data** (the 63 products of 16 molecules in this data)"
        in report.headline()
    )
    fy = report.spend_by_financial_year()
    assert fy["cost_gbp"].isna().all()
    assert report.usage_by_financial_year()["ddds"].notna().any()


def test_system_of_trusts_sums_members():
    report = spend_report("North East", "2023-10", system_trusts=["RTD", "RR7"])
    fy = report.spend_by_financial_year().set_index(["trust_code", "financial_year"])
    total = fy.loc[("North East", "2022/23"), "cost_gbp"]
    members = fy.loc[("RTD", "2022/23"), "cost_gbp"] + fy.loc[("RR7", "2022/23"), "cost_gbp"]
    assert total == pytest.approx(members)
    # RTD 470.63 + RR7 204.30, both checked to the penny against the raw file in test_spend.py
    assert total == pytest.approx(674.93)
    assert report.name.startswith("the North East system (2 trusts)")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"store": 7}, "store: expected a folder"),
        ({"comparison_group": "planet"}, "comparison_group"),
        ({"period_end": "2030-01"}, "outside the data in the bundled sample"),
        ({"trust_code": "RBS"}, "no rows"),
        ({"period_end": "March"}, "period_end"),
    ],
)
def test_bad_parameters_are_clear_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        spend_report(**kwargs)


def test_an_unknown_trust_stops_before_any_data_is_read():
    with pytest.raises(MedlibError, match="'ZZZ' is not a trust in the bundled trusts reference"):
        spend_report("ZZZ")


def test_no_forecast_when_the_trust_data_stop_before_the_period_end():
    # North Tees and Hartlepool (RVW) has no lithium rows after 2023-12 in the bundled extract.

    report = spend_report("RVW", "2024-03")
    assert report.forecasts["forecast"].isna().all()
    assert report.forecast_gap == (
        "There is no year-end forecast for 2023/24: the data for North Tees and Hartlepool NHS "
        "Foundation Trust run to 2023-12, and a forecast needs every month of the year up to "
        "2024-03 (see the data quality section)."
    )
    assert report.forecast_gap in report.headline()


def test_table_views_put_the_sign_before_the_pound_sign_and_label_the_columns():
    frame = pd.DataFrame({"cost_gbp": [-357.76, 1328.44], "yoy_change_pct": [12.26, None]})
    view = table_view(frame)
    html = view.styler().to_html()
    assert list(view.frame.columns) == ["Spend (£)", "Change on year before (%)"]
    assert "-£358" in html and "£1,328" in html and "12.3%" in html
    # Amounts stay on one line: a minus sign never wraps away from its pounds.
    assert "white-space: nowrap" in html


def test_table_views_of_a_quantity_measure_name_the_unit_and_write_no_pounds():
    frame = pd.DataFrame({"molecule": ["Lithium"], "fytd": [1234.5], "change_pct": [-2.0]})
    view = table_view(frame, "ddds")
    html = view.styler().to_html()
    assert list(view.frame.columns) == ["Molecule", "Year to date (DDDs)", "Change (%)"]
    assert "1,234" in html and "£" not in html and "-2.0%" in html


def test_an_empty_table_view_says_so_in_one_sentence():
    view = table_view(pd.DataFrame(columns=["trust_code", "actual_gbp"]), empty="No blocks.")
    assert view._repr_html_() == '<p class="medlib-empty">No blocks.</p>'


def test_every_section_returns_what_it_shows(rx4_midyear):
    names = rx4_midyear.section_names()
    assert names[0] == "headline" and names[-1] == "data_quality" and len(names) == 16
    assert names[-2] == "efficiency"
    for name in names:
        section = rx4_midyear.section(name)
        assert isinstance(section, Section) and section.parts, name
        assert "report." not in section.text, name
    assert rx4_midyear.section("headline").text == rx4_midyear.headline()
    movers = rx4_midyear.section("movers")
    assert len(movers.figures) == 1
    assert isinstance(movers.tables[0], Table)
    assert movers.tables[0].source.equals(rx4_midyear.movers_table())
    charts.close_all()


def test_an_unknown_section_lists_the_names(rtd):
    with pytest.raises(InputError, match="no section called 'summary'; choose one of"):
        rtd.section("summary")


def test_a_store_built_by_ingest_gives_the_bundled_totals(tmp_path):
    from medlib.io.datasets import USAGE_FILES
    from medlib.io.store import ingest
    from medlib.paths import DATA_DIR

    ingest([DATA_DIR / USAGE_FILES["scmd_lithium"][0]], tmp_path / "store")
    for trust, system in (("RTD", ()), ("North East", ("RTD", "RR7", "R0B"))):
        context = resolve_context(trust, "2024-03", system_trusts=system)
        own = build(context, store=str(tmp_path / "store")).spend_by_financial_year()
        bundled = build(context).spend_by_financial_year()
        pd.testing.assert_frame_equal(own, bundled)
    assert own["cost_gbp"].notna().all() and len(own) == 4 * 5


def test_a_store_without_usage_is_a_clear_error(tmp_path):
    from medlib.io.store import Store

    Store(tmp_path / "store", create=True)
    context = resolve_context("RTD", "2024-03")
    with pytest.raises(InputError, match=r"has no usage rows; add SCMD files with 'medlib ingest"):
        build(context, store=str(tmp_path / "store"))


def test_the_headline_and_titles_say_what_the_data_cover(rtd):
    # The bundled store holds the 8 lithium products of the lithium extract.
    assert rtd.scope == "the 8 lithium products in this data"
    assert "spent £1,328 on the 8 lithium products in this data" in rtd.headline()
    title = rtd.trend_chart().axes[0].get_title(loc="left")
    assert title.startswith("Spend each month on the 8 lithium products in this data")


def test_the_efficiency_forecast_reads_the_reports_own_spend(tmp_path):
    from medlib.io.datasets import load_dataset
    from medlib.spend.efficiency import STATUS_NO_BASELINE, STATUS_UNDER_WAY

    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        "schema_version: 1\n"
        "entries:\n"
        "  - molecule: lithium carbonate\n"
        "    type: generic\n"
        "    event: tender award\n"
        "    date: 2023-10-01\n"
        "    source: a test tender\n"
        "  - molecule: adalimumab\n"
        "    type: biosimilar\n"
        "    event: biosimilar launch\n"
        "    date: 2023-06-01\n"
        "    source: a test launch\n",
        encoding="utf-8",
    )
    report = spend_report("RTD", "2024-03", pipeline_path=str(pipeline))
    table = report.efficiency_table().set_index("molecule")
    # Baseline: RTD's lithium carbonate cost, October 2022 to September 2023, from the raw
    # extract. Generic: 90% lower, uptake 0, 1/3, 2/3 then 1 from October 2023, so 2023/24's
    # forecast is baseline x 0.9 x (0 + 1/3 + 2/3 + 1 + 1 + 1) = baseline x 0.9 x 4.
    raw = load_dataset("scmd_lithium")
    raw = raw[(raw["trust_code"] == "RTD") & raw["vmp_name"].str.startswith("Lithium carbonate")]
    months = raw[(raw["year_month"] >= "2022-10-01") & (raw["year_month"] <= "2023-09-01")]
    baseline = months["cost_gbp"].sum() / 12
    row = table.loc["lithium carbonate"]
    assert row["status"] == STATUS_UNDER_WAY
    assert row["baseline_monthly_cost_gbp"] == pytest.approx(baseline, abs=0.01)
    assert row["forecast_year_gbp"] == pytest.approx(baseline * 0.9 * 4, abs=0.01)
    assert table.loc["adalimumab", "status"] == STATUS_NO_BASELINE
    text = report.efficiency_markdown()
    assert "No baseline in this data for adalimumab" in text
    assert "efficiency_forecast" in report.tables()


# --- the funnel plot: a measure of the measures library, year to date ------------------------

# RTD's oral lithium in 2023/24 (April 2023 to March 2024), from the bundled extract, in DDDs:
# quantity x lithium per unit (mmol, BNF) / the WHO DDD of 24 mmol.
#   lithium citrate 520mg/5ml, 1.08 mmol a ml: 150 + 300 + 150 + 150 + 450 = 1,200 ml -> 54
#   lithium carbonate 200mg MR, 5.4 mmol: 158 + 232 + 103 + 104 + 188 + 268 + 146 + 74 + 185
#     + 129 + 138 + 17 = 1,742 tablets -> 391.95
#   lithium carbonate 400mg MR, 10.8 mmol: 75 + 148 + 60 + 92 + 44 + 40 + 170 + 40 + 50 + 102
#     + 101 + 41 = 963 tablets -> 433.35
#   lithium carbonate 250mg, 6.8 mmol: 103 + 313 + 28 + 20 + 20 = 484 tablets -> 137.133333
# RTD also had lithium chloride injection, which is not oral lithium.
RTD_LIQUID_DDDS = 1200 * 1.08 / 24
RTD_MR_DDDS = 1742 * 5.4 / 24 + 963 * 10.8 / 24
RTD_ORAL_DDDS = RTD_LIQUID_DDDS + RTD_MR_DDDS + 484 * 6.8 / 24  # = 1,016.433333


def test_the_funnel_shows_lithium_liquid_summed_over_the_year_to_date(rtd):
    from medlib.io.datasets import load_dataset
    from medlib.measures.compute import compute_measures

    measure = rtd.funnel_measure
    assert measure.id == "lithium_liquid" and rtd.funnel_measure_ids[0] == "lithium_liquid"
    row = rtd.funnel_table().set_index("trust_code").loc["RTD"]
    assert row["numerator"] == pytest.approx(RTD_LIQUID_DDDS, rel=1e-12)
    assert row["denominator"] == pytest.approx(RTD_ORAL_DDDS, rel=1e-12)
    assert row["proportion"] == pytest.approx(54 / 1016.433333, rel=1e-8)  # 5.3%
    # The same as the measure's own monthly values summed over the twelve months.
    values = compute_measures(load_dataset("scmd_lithium"), [measure]).values
    months = values[
        (values.trust_code == "RTD")
        & values.year_month.between(pd.Timestamp("2023-04-01"), pd.Timestamp("2024-03-01"))
    ]
    assert len(months) == 12
    assert row["numerator"] == pytest.approx(months.numerator.sum(), rel=1e-12)
    assert row["denominator"] == pytest.approx(months.denominator.sum(), rel=1e-12)


def test_the_funnel_words_and_labels_come_from_the_definition(rtd):
    table = rtd.funnel_table()
    average = table["numerator"].sum() / table["denominator"].sum()
    assert rtd.funnel.target == pytest.approx(average)
    assert rtd.funnel_sentence() == (
        "**Lithium given as a liquid.** Share of the defined daily doses (DDDs) of oral lithium "
        "that are given as liquid lithium citrate. The Newcastle upon Tyne Hospitals NHS "
        f"Foundation Trust: 5.3% against an average of {average:.1%} "
        f"({table.set_index('trust_code').loc['RTD', 'position']}). The limits are widened "
        "because trusts vary more than chance alone explains."
    )
    ax = rtd.funnel_chart().axes[0]
    assert ax.get_title(loc="left") == "Lithium given as a liquid"
    assert ax.get_xlabel() == "Use of all the products compared (DDDs)"
    charts.close_all()


def test_a_definition_in_a_teams_folder_becomes_the_funnel_measure(tmp_path):
    (tmp_path / "lithium_modified_release.yaml").write_text(
        "id: lithium_modified_release\n"
        "title: Lithium as modified-release tablets\n"
        "description: Share of the DDDs of oral lithium given as modified-release tablets.\n"
        "why_it_matters: An example a team might add.\n"
        "numerator:\n"
        "  form: [Modified-release tablet]\n"
        "denominator:\n"
        "  vtm: [lithium carbonate, lithium citrate]\n"
        "  route: [Oral]\n"
        "quantity: ddd\n"
        "lower_is_better: null\n"
        "citation: This test.\n",
        encoding="utf-8",
    )
    report = spend_report("RTD", "2024-03", measure_dirs=[str(tmp_path)])
    assert report.funnel_measure.id == "lithium_modified_release"
    assert report.funnel_measure_ids == (
        "lithium_modified_release",
        "lithium_liquid",
        "adalimumab_low_volume",
        "abx_iv",
    )
    row = report.funnel_table().set_index("trust_code").loc["RTD"]
    # The 200mg and 400mg modified-release tablets of the year: 391.95 + 433.35 = 825.3 DDDs.
    assert row["numerator"] == pytest.approx(RTD_MR_DDDS, rel=1e-12)
    assert row["denominator"] == pytest.approx(RTD_ORAL_DDDS, rel=1e-12)
    assert report.funnel_sentence().startswith(
        "**Lithium as modified-release tablets.** Share of the DDDs of oral lithium given as "
        "modified-release tablets. The Newcastle upon Tyne Hospitals NHS Foundation Trust: 81.2%"
    )


def test_a_funnel_measure_without_use_draws_no_funnel():
    # The bundled store holds lithium only: no trust used antibiotics, so there is no funnel.
    report = spend_report("RTD", "2024-03", funnel_measures=["abx_iv"])
    assert report.funnel is None and report.funnel_measure is None
    message = (
        "No funnel plot: fewer than three trusts in the comparison group used the products of "
        "any of its measures (intravenous antibiotics) in 2023/24 to date."
    )
    assert report.funnel_sentence() == message and report.funnel_chart() == message
    assert report.funnel_table().empty


def test_an_unknown_funnel_measure_is_a_clear_error():
    with pytest.raises(InputError, match=r"funnel_measures: \['abx_ivv'\] name no measure"):
        spend_report("RTD", "2024-03", funnel_measures=["abx_ivv"])


def test_the_biologics_funnel_is_the_adalimumab_measure(biologics_store):
    report = spend_report("RR7", "2021-10", store=biologics_store)
    assert report.funnel_measure.id == "adalimumab_low_volume"
    assert report.funnel_sentence().startswith(
        "**Adalimumab 40 mg given as the low-volume (0.4 ml) products.** "
    )
