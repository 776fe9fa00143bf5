"""What the header of a report page says: trust, period, and where the figures came from."""

from __future__ import annotations

import pandas as pd

from medlib.present.wording import format_period
from medlib.render.html import ReportHeading, report_data_source


def _heading(source: str) -> ReportHeading:
    return ReportHeading(
        pack_title="Pack",
        trust_code="RTD",
        trust_name="The Newcastle upon Tyne Hospitals NHS Foundation Trust",
        notebook="switch_uptake",
        period=format_period(None, "2024-03"),
        generated="now",
        data_source=source,
    )


def test_the_header_names_trust_period_and_source_and_flags_synthetic_data():
    real = _heading("NHSBSA Secondary Care Medicines Data (SCMD)").banner_html()
    assert "The Newcastle upon Tyne Hospitals NHS Foundation Trust (RTD)" in real
    assert "data to March 2024 (financial year 2023/24)" in real
    assert "Data: NHSBSA Secondary Care Medicines Data (SCMD)" in real
    assert "SYNTHETIC DATA" not in real
    fake = _heading("synthetic sample (seed 2025)").banner_html()
    assert '<span class="medlib-synthetic">SYNTHETIC DATA</span> Data: synthetic sample' in fake
    assert "Data:" not in _heading("").banner_html()


def test_the_source_adds_what_the_tables_say_to_what_the_notebook_declares():
    nb = {"metadata": {"medlib": {"data_source": "SCMD"}}}
    tables = [
        pd.DataFrame({"data_source": ["store", "synthetic sample", None]}),
        pd.DataFrame({"x": [1]}),
        pd.DataFrame({"data_source": ["store"]}),
    ]
    assert report_data_source(nb, tables) == "SCMD; store; synthetic sample"
    assert report_data_source({"metadata": {}}, []) == ""


def test_a_source_holding_markup_is_shown_as_typed():
    assert "Data: &lt;b&gt;x&lt;/b&gt;" in _heading("<b>x</b>").banner_html()
