"""The trust workbook a lead opens: labelled headers, real numbers and dates, synthetic banners.

Each test writes a workbook from small tables built here and reads it back with openpyxl, so
every value, number format and layout rule is checked cell by cell; the last tests render a
pack (a fixture notebook, then the real reports for one trust) and open its workbook.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from render_fixtures import good_notebook, write_parameter_set

from medlib.render import render_pack
from medlib.render.excel import SYNTHETIC_BANNER, read_table_csv, write_workbook
from medlib.render.table_notes import (
    MEASURE_VALUE_COLUMNS,
    TABLE_DESCRIPTIONS,
    TABLE_KINDS,
    TABLE_SOURCES,
)

ABOUT = [("Trust", "The Newcastle upon Tyne Hospitals (RTD)"), ("Disclosure control", "rule")]


def _values(sheet) -> list[list[object]]:
    return [[c.value for c in row] for row in sheet.iter_rows()]


def _about_listing(book) -> dict[str, dict[str, object]]:
    """The About sheet's list of sheets: ``{sheet: {column header: value}}``."""
    rows = _values(book["About"])
    start = next(i for i, r in enumerate(rows) if r[0] == "Sheet")
    header = rows[start]
    return {r[0]: dict(zip(header, r, strict=True)) for r in rows[start + 1 :] if r[0]}


def _about_items(book) -> dict[str, object]:
    rows = _values(book["About"])
    end = next(i for i, r in enumerate(rows) if r[0] == "Sheets")
    return {r[0]: r[1] for r in rows[2:end] if r[0]}


@pytest.fixture
def book(tmp_path):
    tables = {
        "spend_by_molecule": pd.DataFrame(
            {
                "molecule": ["Lithium", "=1+2"],
                "cost_gbp": [1250.5, -450.0],
                "baseline_price_per_unit_gbp": [0.125, 2.0],
                "pct_new_best_value": [81.2, "*"],
                "doac_share": [0.5, 0.25],
                "year_month": ["2024-03", "2018-10-01"],
                "launch_date": ["2018-10-16", None],
                "financial_year": ["2023/24", 2024],
                "this_trust": [True, False],
                "patients": ["*", 10],
                "vmp_code": ["0123", "39720311000001101"],
            }
        ),
        "switch_league": pd.DataFrame(
            {
                "molecule": ["adalimumab"],
                "pct_existing_best_value_latest": [96.6],
                "data_source": ["Synthetic sample (seed 2025)"],
            }
        ),
        "switch_savings": pd.DataFrame(
            {"molecule": ["adalimumab"], "data_source": ["data store hcd_activity"]}
        ),
        "a_new_table": pd.DataFrame({"rows_read": [5]}),
    }
    sources = {
        "spend_by_molecule": "spend_trends",
        "switch_league": "switch_uptake",
        "switch_savings": "switch_uptake",
        "a_new_table": "data_overview",
    }
    path = write_workbook(tmp_path / "RTD_tables.xlsx", tables, ABOUT, sources)
    return load_workbook(path)


def test_headers_are_labels_and_values_are_stored_by_kind(book):
    sheet = book["spend_by_molecule"]
    assert [c.value for c in sheet[1]] == [
        "Molecule",
        "Spend (£)",
        "Baseline price per unit (£)",
        "New patients on best value (%)",
        "DOAC share",
        "Month",
        "Launch date",
        "Financial year",
        "This trust",
        "Patients",
        "VMP code",
    ]
    first, second = sheet[2], sheet[3]
    # Money in whole pounds, or pence where the column is a unit price.
    assert (first[1].value, first[1].number_format) == (1250.5, "£#,##0")
    assert (second[1].value, second[1].number_format) == (-450, "£#,##0")
    assert (first[2].value, first[2].number_format) == (0.125, "£#,##0.00")
    # One rule for percentages: a 0-100 column becomes a fraction, a 0-1 share stays.
    assert (first[3].value, first[3].number_format) == (0.812, "0.0%")
    assert (first[4].value, first[4].number_format) == (0.5, "0.0%")
    assert (second[4].value, second[4].number_format) == (0.25, "0.0%")
    # A suppressed value stays the text "*", in a percentage column and in a count column.
    assert (second[3].value, second[3].data_type) == ("*", "s")
    assert (first[9].value, first[9].data_type) == ("*", "s")
    assert (second[9].value, second[9].number_format) == (10, "#,##0")
    # Months and dates are real dates.
    assert first[5].value == datetime(2024, 3, 1)
    assert first[5].number_format == "mmm yyyy"
    assert second[5].value == datetime(2018, 10, 1)
    assert (first[6].value, first[6].number_format) == (datetime(2018, 10, 16), "d mmm yyyy")
    assert second[6].value is None
    # Financial years and flags are text; codes keep every digit.
    assert [first[7].value, second[7].value] == ["2023/24", "2024/25"]
    assert [first[8].value, second[8].value] == ["Yes", "No"]
    assert [first[10].value, second[10].value] == ["0123", "39720311000001101"]
    assert first[10].data_type == "s"
    # Text a spreadsheet would run as a formula stays text.
    assert (second[0].value, second[0].data_type) == ("'=1+2", "s")


def test_header_is_frozen_and_filtered_and_columns_fit(book):
    sheet = book["spend_by_molecule"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:K3"
    widths = {k: d.width for k, d in sheet.column_dimensions.items()}
    assert all(8 <= w <= 60 for w in widths.values())
    # "39720311000001101" is 17 characters; its column fits it.
    assert widths["K"] >= 19


def test_a_synthetic_table_carries_the_banner_and_a_real_one_does_not(book):
    synthetic = book["switch_league"]
    banner = synthetic["A1"].value
    assert banner.startswith(SYNTHETIC_BANNER)
    assert banner.endswith("Data: Synthetic sample (seed 2025).")
    assert SYNTHETIC_BANNER == (
        "SYNTHETIC DATA — these figures are generated, not real; for testing the method only."
    )
    assert [str(r) for r in synthetic.merged_cells.ranges] == ["A1:C1"]
    assert synthetic["A1"].font.bold and synthetic["A1"].font.color.rgb == "00FFFFFF"
    assert synthetic["A1"].fill.fgColor.rgb == "00C00000"
    # The header is row 2: frozen below it and filtered on it.
    assert [c.value for c in synthetic[2]] == [
        "Molecule",
        "Existing on best value, latest month (%)",
        "Data",
    ]
    assert synthetic.freeze_panes == "A3"
    assert synthetic.auto_filter.ref == "A2:C3"
    assert synthetic["B3"].value == 0.966

    real = book["switch_savings"]
    assert [c.value for c in real[1]] == ["Molecule", "Data"]
    assert not real.merged_cells.ranges
    assert all(SYNTHETIC_BANNER not in str(v) for row in _values(real) for v in row)
    assert real.freeze_panes == "A2"


def test_about_lists_every_sheet_with_what_it_holds_and_whether_it_is_synthetic(book):
    assert book.sheetnames == [
        "About",
        "spend_by_molecule",
        "switch_league",
        "switch_savings",
        "a_new_table",
    ]
    listing = _about_listing(book)
    assert list(listing) == book.sheetnames[1:]
    league = listing["switch_league"]
    assert league["What it holds"] == TABLE_DESCRIPTIONS["switch_league"]
    assert league["Report"] == "Switch uptake (switch_uptake.html)"
    assert league["Data from"] == "Synthetic sample (seed 2025)"
    assert league["Rows"] == 1
    assert league["Synthetic data"] == "Yes: SYNTHETIC"
    assert league["Table (CSV file)"] == "switch_league.csv"
    assert league["Columns: Label (name)"] == (
        "Molecule (molecule), Existing on best value, latest month (%) "
        "(pct_existing_best_value_latest), Data (data_source)"
    )
    assert listing["switch_savings"]["Synthetic data"] == "No"
    assert listing["switch_savings"]["Data from"] == "data store hcd_activity"
    spend = listing["spend_by_molecule"]
    assert spend["Synthetic data"] == "No"
    assert spend["Data from"] == TABLE_SOURCES["spend_by_molecule"]
    assert "Spend (£) (cost_gbp)" in spend["Columns: Label (name)"]
    # A table the notes do not know gets a generic line naming its report.
    assert listing["a_new_table"]["What it holds"] == (
        "A table from the data_overview report (see its page)."
    )
    items = _about_items(book)
    assert items["Trust"] == "The Newcastle upon Tyne Hospitals (RTD)"
    assert items["Disclosure control"] == "rule"
    assert "SYNTHETIC DATA banner: switch_league." in items["Synthetic data"]


def test_about_says_when_no_sheet_is_synthetic(tmp_path):
    path = write_workbook(tmp_path / "w.xlsx", {"top_movers": pd.DataFrame({"x": [1]})}, ABOUT)
    items = _about_items(load_workbook(path))
    assert items["Synthetic data"].startswith("None: every sheet holds figures")


def test_a_table_the_caller_declares_synthetic_gets_the_banner(tmp_path):
    path = write_workbook(
        tmp_path / "w.xlsx", {"x": pd.DataFrame({"y": [1]})}, ABOUT, synthetic={"x"}
    )
    sheet = load_workbook(path)["x"]
    assert sheet["A1"].value.startswith(SYNTHETIC_BANNER)
    # One column: nothing to merge, and the header is still row 2.
    assert not sheet.merged_cells.ranges
    assert (sheet["A2"].value, sheet["A3"].value) == ("Y", 1)


def test_table_kinds_fix_the_columns_whose_meaning_depends_on_the_table(tmp_path):
    tables = {
        # The spend funnel's limits are 0-1; the PINCER funnel's are 0-100.
        "benchmark_funnel": pd.DataFrame({"proportion": [0.0534], "upper_95": [0.11]}),
        "poly_pincer_funnel": pd.DataFrame({"percent": [30.3], "upper_95": [43.3]}),
        "forecast_outturn": pd.DataFrame({"forecast": [1328.44], "upper_95": [1400.0]}),
        # The audit headline's value is a percentage on its "%" rows only.
        "poly_headline": pd.DataFrame({"value": [29.8, 5.2], "unit": ["%", "medicines"]}),
        "monthly_spc": pd.DataFrame({"year_month": ["2024-03"], "value": [26.62]}),
    }
    book = load_workbook(write_workbook(tmp_path / "w.xlsx", tables, ABOUT))
    funnel, pincer = book["benchmark_funnel"], book["poly_pincer_funnel"]
    assert (funnel["B2"].value, funnel["B2"].number_format) == (0.11, "0.0%")
    assert (pincer["A2"].value, pincer["B2"].value, pincer["B2"].number_format) == (
        0.303,
        0.433,
        "0.0%",
    )
    outturn = book["forecast_outturn"]
    assert (outturn["B2"].value, outturn["B2"].number_format) == (1400, "£#,##0")
    headline = book["poly_headline"]
    assert (headline["A2"].value, headline["A2"].number_format) == (0.298, "0.0%")
    assert (headline["A3"].value, headline["A3"].number_format) == (5.2, "#,##0.00")
    spc = book["monthly_spc"]
    assert (spc["B2"].value, spc["B2"].number_format) == (26.62, "£#,##0")


def test_a_spend_report_on_ddds_writes_its_values_as_numbers_named_by_unit(tmp_path):
    tables = {
        "usage_by_financial_year": pd.DataFrame({"financial_year": ["2023/24"], "ddds": [12.5]}),
        "spend_by_molecule": pd.DataFrame({"molecule": ["Lithium"], "fytd": [1234.5]}),
    }
    sheet = load_workbook(write_workbook(tmp_path / "w.xlsx", tables, ABOUT))["spend_by_molecule"]
    assert sheet["B1"].value == "Year to date (DDDs)"
    assert (sheet["B2"].value, sheet["B2"].number_format) == (1234.5, "#,##0.00")


def test_read_back_csv_keeps_text_codes_and_flags(tmp_path):
    path = tmp_path / "outliers.csv"
    path.write_text(
        "bnf_section,target_profile,outlier,this_trust,share\n"
        "0402,2025,True,,0.5\n"
        "0401,2025,False,True,*\n",
        encoding="utf-8",
    )
    table = read_table_csv(path)
    assert table["bnf_section"].tolist() == ["0402", "0401"]
    assert table["target_profile"].tolist() == ["2025", "2025"]
    assert table["outlier"].tolist() == [True, False]
    assert table["this_trust"].tolist()[1] is True
    sheet = load_workbook(write_workbook(tmp_path / "w.xlsx", {"outliers": table}, ABOUT))[
        "outliers"
    ]
    assert [c.value for c in sheet[2]] == ["0402", "2025", "Yes", None, 0.5]
    assert [c.value for c in sheet[3]] == ["0401", "2025", "No", "Yes", "*"]


def _published_table_names(function) -> set[str]:
    """The table names a report's ``tables()`` method writes: dict keys and ``tables[...] =``."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            names |= {k.value for k in node.keys if isinstance(k, ast.Constant)}
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
                    names.add(target.slice.value)
    return {n for n in names if isinstance(n, str)}


def test_every_table_the_reports_publish_has_a_description():
    from medlib.measures.report import MeasuresReport
    from medlib.polypharmacy.report import AuditReport
    from medlib.spend.report import SpendReport
    from medlib.switch.report import SwitchReport
    from medlib.wet_amd.report import TABLES as WET_AMD_TABLES

    published = set()
    for report in (SpendReport, SwitchReport, AuditReport, MeasuresReport):
        published |= _published_table_names(report.tables)
    # The wet AMD report lists its tables once (its tests check tables() publishes them all).
    published |= set(WET_AMD_TABLES)
    # The switch report's frames carry data_source and note keys: not table names.
    published -= {"data_source", "note"}
    assert "switch_vmp_proxy" in published and "high_cost_block_variance" in published
    assert sorted(published - set(TABLE_DESCRIPTIONS)) == []
    # And the notes name no table that is no longer published.
    assert sorted(set(TABLE_DESCRIPTIONS) - published) == []
    assert sorted(set(TABLE_SOURCES) - published) == []
    assert sorted(set(TABLE_KINDS) - published) == []


def test_measure_value_columns_are_the_spend_reports():
    from medlib.spend import report

    assert set(report._VALUE_COLUMNS) == MEASURE_VALUE_COLUMNS


def test_a_rendered_pack_workbook_shows_labels_and_formats(tmp_path):
    nbs = tmp_path / "notebooks"
    good_notebook(nbs)
    params = write_parameter_set(tmp_path / "p.yaml", trusts=["RTD"], notebooks=["good"])
    out = tmp_path / "pack"
    result = render_pack(params, notebooks_dir=nbs, output_dir=out, jobs=1, progress=False)
    assert result.ok
    book = load_workbook(out / "RTD" / "RTD_tables.xlsx")
    sheet = book["demo_table"]
    assert [c.value for c in sheet[1]] == ["Trust code", "Patients", "Spend (£)"]
    assert [c.value for c in sheet[2]] == ["RTD", "*", 1250.5]
    assert sheet["C2"].number_format == "£#,##0"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:C2"
    listing = _about_listing(book)
    assert listing["demo_table"]["Report"] == "Good (good.html)"
    assert listing["demo_table"]["Synthetic data"] == "No"
    items = _about_items(book)
    assert items["Disclosure control"].startswith("NHS Digital HES rule")


@pytest.mark.notebook
def test_the_real_reports_workbook_describes_every_sheet_and_marks_the_synthetic_ones(
    tmp_path: Path,
):
    params = write_parameter_set(
        tmp_path / "one.yaml",
        trusts=["RTD"],
        notebooks=["spend_trends", "switch_uptake", "polypharmacy_audit"],
        timeout_seconds=600,
    )
    out = tmp_path / "pack"
    result = render_pack(params, output_dir=out, jobs=3, progress=False)
    assert result.failed == []
    book = load_workbook(out / "RTD" / "RTD_tables.xlsx")
    listing = _about_listing(book)
    published = {p.stem for p in (out / "RTD" / "tables").glob("*.csv")}
    assert set(listing) == published
    assert sorted(published - set(TABLE_DESCRIPTIONS)) == []
    for name, row in listing.items():
        sheet = book[name]
        synthetic = SYNTHETIC_BANNER in str(sheet["A1"].value)
        assert synthetic == (row["Synthetic data"] == "Yes: SYNTHETIC"), name
        header = [c.value for c in sheet[2 if synthetic else 1]]
        assert all("_" not in str(h) for h in header), (name, header)
    # The bundled switch and audit data are synthetic; SCMD spend and the DOAC curve are real.
    assert listing["switch_headline"]["Synthetic data"] == "Yes: SYNTHETIC"
    assert listing["poly_headline"]["Synthetic data"] == "Yes: SYNTHETIC"
    assert listing["spend_by_financial_year"]["Synthetic data"] == "No"
    assert listing["switch_doac_curve"]["Synthetic data"] == "No"
