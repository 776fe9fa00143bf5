"""What a person reads of the explorer: the summary table through the shared layer, and the
sentence through the Markdown escape.

The hand-built world is the one in ``test_explorer.py`` (its docstring has the numbers).
"""

from __future__ import annotations

import re

import pytest
from test_explorer import _poly, _products, _trusts, _usage, make

from medlib.explorer import Explorer
from medlib.explorer.state import TABLE_COLUMNS
from medlib.present.sections import Section


def _cells(html: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", html)


def _headings(html: str) -> list[str]:
    return re.findall(r"<th[^>]*>(.*?)</th>", html)


def test_the_summary_table_is_labelled_and_formatted_by_the_measure():
    ex = make(trusts=["A1", "A2"], measure="spend")
    html = ex.table_view()._repr_html_()
    assert _headings(html) == [
        "Code",
        "Name",
        "Total spend (£)",
        "April 2023 (£)",
        "Comparison median, April 2023 (£)",
        "Percentile rank, April 2023",
        "Variation (SPC)",
        "Months with data",
    ]
    variation = "common cause variation only: no sign of change (trial limits)"
    # A1: £150 + £240 (OLD merged in) = £390, April has no cost (a dash, and no rank); A2:
    # £20 + £40 + £60 + £80 = £200, April £80, the highest of A2 £80 and B1 £10 (median £45).
    assert _cells(html) == [
        *("A1", "Alpha One", "£390", "–", "£45", "–", variation, "3"),
        *("A2", "Alpha Two", "£200", "£80", "£45", "100", variation, "4"),
        *("Combined", "Selected trusts added together", "£590", "£80", "£45", "–", variation, "4"),
    ]
    assert (
        "<em>Spend, Alpha: A1, A2, Jan 2023 to Apr 2023. Compared with all trusts in England.</em>"
        in html
    )
    # The table code reads, and the exports, keep their columns.
    assert list(ex.table.columns) == TABLE_COLUMNS


def test_a_percentage_measure_shows_percent_signs_and_suppressed_counts_as_stars():
    # A1 8 of 20, B1 0 of 3; B1's denominator is 1-7, so the table suppresses it and, to
    # protect it from the combined row, A1's too (test_explorer.py has the chart's side).
    ex = _poly({"A1": (8, 12), "A2": (9, 21), "B1": (0, 3)}, trusts=["A1", "B1"])
    view = ex.table_view()
    # Ten columns are two tables, each starting with the code and the name.
    assert [list(part.frame.columns) for part in view.parts()] == [
        [
            "Code",
            "Name",
            "Overall (%)",
            "February 2023 (%)",
            "Patients meeting it, February 2023",
            "Patients, February 2023",
        ],
        [
            "Code",
            "Name",
            "Comparison median, February 2023 (%)",
            "Percentile rank, February 2023",
            "Variation (SPC)",
            "Months with data",
        ],
    ]
    first = _cells(view.parts()[0].styler().to_html())
    # Combined: 8 of 23 published as 10 of 25 (40.0%); over both months 16 of 46 -> 15 of 45.
    assert first == [
        *("A1", "Alpha One", "*", "*", "10", "*"),
        *("B1", "Bravo One", "*", "*", "0", "*"),
        *("Combined", "Selected trusts added together", "33.3%", "40.0%", "10", "25"),
    ]
    assert view.caption.endswith("* = not shown (small numbers).")


def test_an_empty_view_says_so():
    ex = make(dataset="nocost", measure="spend", trusts=["A1"])
    html = ex.table_view()._repr_html_()
    assert "<table" not in html
    assert "No table for this selection." in html


def test_the_summary_is_the_sentence_and_the_table_and_shows_names_as_typed(monkeypatch):
    name = "<b>Alpha</b> [One](javascript:alert(1))"
    trusts = _trusts()
    trusts.loc[trusts["trust_code"] == "A1", "trust_name"] = name
    ex = Explorer({"test": _usage()}, product_table=_products(), trust_table=trusts, trusts=["A1"])
    summary = ex.summary()
    assert isinstance(summary, Section)
    assert summary.text == ex.describe() and name in summary.text
    assert len(summary.tables) == 1
    assert summary.tables[0].frame.equals(ex.table_view().frame)
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objects: shown.extend(objects))
    summary._ipython_display_()
    markdown = shown[0].data
    assert "&lt;b&gt;Alpha&lt;/b&gt; &#91;One&#93;(javascript:alert(1))" in markdown
    assert "<b>" not in markdown and "[One]" not in markdown
    html = shown[1]._repr_html_()
    assert "&lt;b&gt;Alpha&lt;/b&gt;" in html and "<b>" not in html


@pytest.mark.parametrize("measure", ["spend", "quantity", "ddds", "best_value_share"])
def test_no_heading_a_person_reads_has_an_underscore(measure):
    ex = make(trusts=["A1", "A2"], molecule="Alpha", measure=measure)
    assert ex.available, ex.message
    headings = [h for part in ex.table_view().parts() for h in part.frame.columns]
    assert headings and not [h for h in headings if "_" in h]
