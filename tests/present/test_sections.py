"""The one report contract: sections return what they show, in order."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from medlib.errors import InputError  # noqa: E402
from medlib.present.sections import Report, Section, Table  # noqa: E402


def test_a_table_formats_numbers_in_any_column_and_hides_the_index():
    frame = pd.DataFrame(
        {
            "trust": ["RTD", "RR7"],
            "patients": [1234, 5],
            "percent": pd.Series([82.2, "*"], dtype=object),
            "share": [0.25, None],
        }
    )
    html = Table(frame, {"share": "{:.0%}"}, caption="Counts rounded <to 5>").styler().to_html()
    assert "1,234" in html and "82.2<" in html and "82.200000" not in html
    assert ">*<" in html and "25%" in html and ">–<" in html
    assert (
        "Counts rounded &lt;to 5&gt;" in Table(frame, caption="Counts rounded <to 5>")._repr_html_()
    )
    assert 'class="row_heading' not in html


def test_a_section_keeps_its_parts_in_order_and_leaves_out_none():
    fig, _ = plt.subplots()
    table = Table(pd.DataFrame({"a": [1]}))
    section = Section("First", None, fig, table, "Last")
    assert section.parts == ("First", fig, table, "Last")
    assert section.text == "First\n\nLast"
    assert section.figures == [fig] and section.tables == [table]
    assert repr(section) == "Section(str, Figure, Table, str)"
    with pytest.raises(TypeError, match="a section part must be text, a Table or a Figure"):
        Section(pd.DataFrame())
    plt.close(fig)


def test_displaying_a_section_shows_each_part_and_closes_its_figures(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    fig, _ = plt.subplots()
    table = Table(pd.DataFrame({"a": [1]}))
    Section("Some **text**", fig, table)._ipython_display_()
    assert [type(s).__name__ for s in shown] == ["Markdown", "Image", "Table"]
    assert shown[0].data == "Some **text**" and shown[2] is table
    assert not plt.fignum_exists(fig.number)


class _Two(Report):
    def sections(self):
        return {"one": lambda: Section("1"), "two": lambda: Section("2")}

    def tables(self):
        return {"two_rows": pd.DataFrame({"x": [1, 2]})}


def test_the_report_contract(tmp_path):
    report = _Two()
    assert report.section_names() == ["one", "two"]
    assert report.section("two").text == "2"
    with pytest.raises(
        InputError, match=r"no section called 'three'; choose one of \['one', 'two'\]"
    ):
        report.section("three")
    assert report.publish("") == []
    written = report.publish(str(tmp_path))
    assert [p.name for p in written] == ["two_rows.csv"]
    assert (tmp_path / "two_rows.csv").read_text(encoding="utf-8") == "x\n1\n2\n"


def test_a_lead_table_labels_formats_and_drops_what_repeats():
    from medlib.present.sections import lead_table

    frame = pd.DataFrame(
        {
            "trust_code": ["RTD", "RTD"],
            "year_month": ["2024-02", "2024-03"],
            "cost_gbp": [1234.4, -450.0],
            "doac_share": [0.8123, None],
            "data_source": ["synthetic sample (seed 1)"] * 2,
        }
    )
    view = lead_table(frame, caption="Monthly.")
    assert list(view.frame.columns) == ["Month", "Spend (£)", "DOAC share"]
    assert view.caption == "Monthly. Data: synthetic sample (seed 1)."
    html = view.styler().to_html()
    for text in ("February 2024", "£1,234", "-£450", "81.2%", "–"):
        assert text in html, text
    assert view.source is frame


def test_a_table_wider_than_a_page_splits_into_even_parts_that_repeat_their_key():
    from medlib.present.sections import lead_table

    frame = pd.DataFrame({f"c{i}": [i] for i in range(10)})
    parts = lead_table(frame, keys=["c0"]).parts()
    # Nine columns besides the key: two parts of five and four, each led by the key.
    assert [list(p.frame.columns) for p in parts] == [
        ["C0", "C1", "C2", "C3", "C4", "C5"],
        ["C0", "C6", "C7", "C8", "C9"],
    ]


def test_a_lead_table_asked_for_a_column_it_lacks_says_which():
    from medlib.errors import InputError
    from medlib.present.sections import lead_table

    with pytest.raises(InputError, match="no column 'cost_gbp'; it has \\['molecule'\\]"):
        lead_table(pd.DataFrame({"molecule": ["x"]}), columns=["molecule", "cost_gbp"])
