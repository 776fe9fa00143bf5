"""The audit's published tables as a lead reads them on the report page.

The published tables (``poly_headline``, ``poly_acb``, ``poly_combinations``, ``poly_pincer``)
keep one row per measure, group or indicator with machine-readable columns, for analysts and
the pack's workbook. A lead reads the same numbers here, through the shared layer
(:func:`medlib.present.sections.lead_table`): labelled columns, no code columns, the data source
said once in the caption, and long tables reshaped so that each fits on a page:

- :func:`headline_view`: every comparator, its counts, and the trust against all organisations;
- :func:`breakdown_view`: one row per measure and one column per group (all patients, each age
  band, each sex), the percentage flagged in each cell;
- :func:`pincer_views`: one table per PINCER indicator group, its composite last.

Every value shown is the published one: the views reshape and label, they never recount.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd

from medlib.present.disclosure import SUPPRESSED
from medlib.present.labels import format_value
from medlib.present.sections import Table, lead_table

__all__ = [
    "ALL_PATIENTS",
    "SEX_LABELS",
    "SMALL_NUMBERS_NOTE",
    "breakdown_view",
    "headline_view",
    "measure_text",
    "pincer_views",
]

#: The column of a breakdown that counts everyone, whatever their age or sex.
ALL_PATIENTS = "All patients"
#: How each recorded sex is written as a column heading.
SEX_LABELS = {"F": "Female", "M": "Male", "U": "Sex not stated"}
#: Said under every table with patient counts (the page's data statement has the full rule).
SMALL_NUMBERS_NOTE = "* = not shown (small numbers)."


def _sentence(text: object) -> str:
    """Text with its first letter in capitals (the tables' labels start in lower case)."""
    text = str(text)
    return text[:1].upper() + text[1:]


def measure_text(measure: str, denominator: str) -> str:
    """A measure as a row label, saying whom it counts unless that is everyone.

    Example:
        >>> measure_text("an NSAID plus another DAMN medicine", "patients on an NSAID")
        'An NSAID plus another DAMN medicine (of patients on an NSAID)'
        >>> measure_text("3 or more falls-risk medicines", "all patients")
        '3 or more falls-risk medicines'
    """
    if denominator == "all patients":
        return _sentence(measure)
    return f"{_sentence(measure)} (of {denominator})"


def _missing(value: object) -> bool:
    """No value: None, NaN, or the empty text a mean's "patients flagged" holds."""
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _shown_percent(value: object) -> str | None:
    """A published percentage as text: ``29.8%``, ``*`` as it is, None when there is none."""
    if _missing(value):
        return None
    return format_value(value, "percent")


def _caption(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def headline_view(table: pd.DataFrame, caption: str = "") -> Table:
    """Table ``poly_headline`` as a lead reads it: one row per comparator.

    The trust's value and all organisations' sit side by side; percentages are written
    ``29.8%`` and the mean number of medicines as a plain number, so both columns are text
    (right-aligned like numbers).

    Args:
        table: :func:`medlib.polypharmacy.report.headline_table`.
        caption: A line under the table (the small-number note and data source follow it).

    Example:
        >>> t = headline_view(pd.DataFrame({
        ...     "organisation": ["RTD", "RTD"], "measure_key": ["acb_6plus", "mean_medicines"],
        ...     "measure": ["anticholinergic burden score 6 or more", "mean medicines"],
        ...     "denominator_description": ["all patients", "all patients"],
        ...     "patients_flagged": [20, ""], "patients_in_denominator": [420, 420],
        ...     "value": [4.8, 5.7], "all_organisations_value": [4.1, 5.8],
        ...     "unit": ["%", "medicines per patient"], "data_source": ["extract", "extract"]}))
        >>> t.frame.iloc[:, [0, 4, 5]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
        [['Anticholinergic burden score 6 or more', '4.8%', '4.1%'],
         ['Mean medicines', '5.7', '5.8']]
    """
    shown = table.copy()

    def value_text(value: object, unit: object) -> object:
        if unit == "%":
            return _shown_percent(value)
        if _missing(value):
            return None
        if value == SUPPRESSED:
            return value
        return f"{float(value):.1f}"

    for column in ("value", "all_organisations_value"):
        shown[column] = [
            value_text(v, u) for v, u in zip(shown[column], shown["unit"], strict=True)
        ]
    shown["measure"] = shown["measure"].map(_sentence)
    shown["denominator_description"] = shown["denominator_description"].map(_sentence)
    # A mean has no patients flagged: a dash, not an empty cell that reads as zero.
    shown["patients_flagged"] = pd.Series(
        [None if _missing(v) else v for v in shown["patients_flagged"]],
        index=shown.index,
        dtype=object,
    )
    view = lead_table(
        shown,
        caption=_caption(caption, SMALL_NUMBERS_NOTE),
        columns=[
            "organisation",
            "measure",
            "denominator_description",
            "patients_flagged",
            "patients_in_denominator",
            "value",
            "all_organisations_value",
            "data_source",
        ],
        labels={"value": "This trust", "all_organisations_value": "All organisations"},
        kinds={"value": "text", "all_organisations_value": "text"},
        keys=["measure"],
        empty="There are no comparators to show.",
    )
    return replace(view, numeric=(*view.numeric, "This trust", "All organisations"))


def _group_heading(breakdown: str, group: str) -> str:
    if breakdown == "all":
        return ALL_PATIENTS
    if breakdown == "sex":
        return SEX_LABELS.get(group, _sentence(group))
    return _sentence(group)


def breakdown_view(table: pd.DataFrame, caption: str = "") -> Table:
    """Table ``poly_acb`` or ``poly_combinations`` as a lead reads it: measures by group.

    One row per measure, then the percentage of patients flagged for all patients, each age
    band and each sex (each measure's own patients counted: of everyone, or of patients on a
    medicine, as its label says). The counts behind each percentage are in the published
    table.

    Args:
        table: :func:`medlib.polypharmacy.report.comparators_by_group`.
        caption: A line under the table (the small-number note and data source follow it).

    Example:
        >>> t = breakdown_view(pd.DataFrame({
        ...     "breakdown": ["age band", "sex", "all"], "group": ["85+", "F", "all"],
        ...     "measure_key": ["falls_3plus"] * 3,
        ...     "measure": ["3 or more falls-risk medicines"] * 3,
        ...     "denominator_description": ["all patients"] * 3, "percent": [50.0, "*", 22.6],
        ...     "data_source": ["extract"] * 3}))
        >>> list(t.frame.columns)
        ['Measure', 'All patients', '85+', 'Female']
        >>> t.frame.iloc[0].tolist()
        ['3 or more falls-risk medicines', 22.6, 50.0, '*']
    """
    empty = "There are no measures to show."
    if table.empty:
        return lead_table(pd.DataFrame({"measure": []}), caption=caption, empty=empty)
    headings = [
        _group_heading(b, g) for b, g in zip(table["breakdown"], table["group"], strict=True)
    ]
    shown = table.assign(heading=headings)
    groups = list(dict.fromkeys(headings))
    if ALL_PATIENTS in groups:
        groups = [ALL_PATIENTS, *(g for g in groups if g != ALL_PATIENTS)]
    keys = list(dict.fromkeys(shown["measure_key"]))
    wide = shown.pivot(index="measure_key", columns="heading", values="percent")
    wide = wide.reindex(index=keys, columns=groups)
    wide.columns.name = None
    first = shown.drop_duplicates("measure_key").set_index("measure_key").loc[keys]
    wide.insert(
        0,
        "measure",
        [
            measure_text(m, d)
            for m, d in zip(first["measure"], first["denominator_description"], strict=True)
        ],
    )
    wide["data_source"] = first["data_source"]
    return lead_table(
        wide.reset_index(drop=True).astype(object),
        caption=_caption(caption, SMALL_NUMBERS_NOTE),
        kinds=dict.fromkeys(groups, "percent"),
        # A group's heading is the data's own word (an age band, a sex): shown as it is.
        labels={g: g for g in groups},
        keys=["measure"],
        empty=empty,
    )


def pincer_views(table: pd.DataFrame) -> list[tuple[str, Table]]:
    """Table ``poly_pincer`` as a lead reads it: one table per indicator group.

    Each indicator is named by its PINCER letter and title; a group's composite (``GI bleed
    composite`` for the ``GI bleed`` group) is its table's last row.

    Args:
        table: :func:`medlib.polypharmacy.report.pincer_table`.

    Returns:
        ``(group, table)`` pairs in the order the groups first appear.

    Example:
        >>> views = pincer_views(pd.DataFrame({
        ...     "organisation": ["RTD", "RTD"], "indicator": ["GI bleed composite", "A"],
        ...     "title": ["GI bleed composite (A-F)", "Aged 65+ on an NSAID"],
        ...     "group": ["Composite", "GI bleed"], "patients_flagged": [30, 10],
        ...     "patients_in_denominator": [185, 110], "percent": [16.2, 9.1],
        ...     "all_organisations_percent": [26.0, 16.4],
        ...     "funnel_position": ["within limits", "not shown"], "data_source": ["x", "x"]}))
        >>> [(g, t.frame["Indicator"].tolist()) for g, t in views]
        [('GI bleed', ['A: Aged 65+ on an NSAID', 'GI bleed composite (A-F)'])]
    """
    groups = [g for g in dict.fromkeys(table["group"]) if g != "Composite"]
    composites = table["group"] == "Composite"
    owned = {f"{g} composite" for g in groups}
    # A composite with no group of its own (none today) keeps a table of its own.
    if (composites & ~table["indicator"].isin(owned)).any():
        groups.append("Composite")
    views = []
    for group in groups:
        if group == "Composite":
            rows = table[composites & ~table["indicator"].isin(owned)]
        else:
            members = table[(table["group"] == group) & ~composites]
            composite = table[composites & (table["indicator"] == f"{group} composite")]
            rows = pd.concat([members, composite])
        shown = rows.assign(
            indicator=[
                title if group_ == "Composite" else f"{code}: {title}"
                for code, title, group_ in zip(
                    rows["indicator"], rows["title"], rows["group"], strict=True
                )
            ],
            funnel_position=rows["funnel_position"].map(_sentence),
        )
        view = lead_table(
            shown,
            caption=SMALL_NUMBERS_NOTE,
            columns=[
                "organisation",
                "indicator",
                "patients_flagged",
                "patients_in_denominator",
                "percent",
                "all_organisations_percent",
                "funnel_position",
                "data_source",
            ],
            labels={"indicator": "Indicator", "percent": "This trust (%)"},
            keys=["indicator"],
            empty="There are no indicators in this group.",
        )
        views.append((str(group), view))
    return views
