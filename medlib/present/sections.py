"""The one report contract: sections that return what they show, and one set of tables.

Every domain's ``build(context, **options)`` returns a :class:`Report`. A notebook shows a
section by making ``report.section("name")`` the last line of a cell; the :class:`Section` it
returns holds the section's parts in order (Markdown text, :class:`Table` views, matplotlib
figures) and displays them when Jupyter shows it. Nothing is displayed as a side effect, so a
test can build a report and read exactly what a lead would see. The notebook's last cell calls
``report.publish(tables_dir)`` once, which writes :meth:`Report.tables` for the pack.

Names in a report come from files a team ingests (trusts, molecules, medicines), so every
string on its way into a page passes one of two escapes here, whatever built it: a
:class:`Table` cell or column name is HTML-escaped after it is formatted (:func:`safe_html`),
and a Markdown part is shown through :func:`safe_markdown`, which writes HTML and link
syntax as entities. A report's Markdown can therefore use emphasis, lists and headings but
no raw HTML, links or images: a ``<b>`` or ``[text](url)`` in it is shown as typed.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from medlib.errors import InputError
from medlib.present.outputs import publish_tables

__all__ = ["Report", "Section", "Table", "lead_table", "safe_html", "safe_markdown"]

#: Most columns a table shows side by side: A4 portrait fits about eight at the page's type
#: size, so a wider table is shown as several, each repeating its key columns.
MAX_COLUMNS = 8

#: What each character that could start markup in Markdown becomes: HTML's own specials, and
#: the brackets of link and image syntax (``[text](javascript:...)``, ``![](http://...)``),
#: which a Markdown renderer never reads as structure when written as entities. (A backslash
#: escape would be undone by a backslash just before the bracket in the name itself.)
_MARKDOWN_ENTITIES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", "[": "&#91;", "]": "&#93;"}
)


def safe_html(value: object) -> str:
    """Any value as text that shows as typed inside an HTML element or attribute.

    Example:
        >>> safe_html("<img src=x onerror=alert(1)>")
        '&lt;img src=x onerror=alert(1)&gt;'
    """
    return html.escape(str(value), quote=True)


def safe_markdown(text: str) -> str:
    """Markdown that renders emphasis, lists and headings, but no HTML, links or images.

    Args:
        text: A Markdown part of a section, with data-derived names in it.

    Returns:
        The text with ``& < > [ ]`` written as entities, which a Markdown renderer shows as
        the characters themselves.

    Example:
        >>> safe_markdown("**<script>x</script>** [a](javascript:b) A&E")
        '**&lt;script&gt;x&lt;/script&gt;** &#91;a&#93;(javascript:b) A&amp;E'
    """
    return text.translate(_MARKDOWN_ENTITIES)


@dataclass(frozen=True)
class Table:
    """A table as a lead sees it: a display-ready frame, how to format it, and a caption.

    Attributes:
        frame: The rows to show (index hidden).
        formats: ``{column: format}`` as ``pandas.io.formats.style.Styler.format`` takes it.
        caption: A line shown in italics under the table (empty for none).
        na_rep: How a missing value is written.
        numeric: Columns holding numbers: right-aligned and kept on one line, so a minus
            sign never wraps away from its amount.
        keys: Columns that identify a row; when the table is wider than
            :data:`MAX_COLUMNS` it is shown as several tables, each starting with these.
        empty: The sentence shown instead of the table when it has no rows.
        source: The published table the view was made from (machine-readable columns), when
            it was made by :func:`lead_table`.
    """

    frame: pd.DataFrame
    formats: Mapping[str, Any] = field(default_factory=dict)
    caption: str = ""
    na_rep: str = "–"
    numeric: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    empty: str = "There is nothing to show here."
    source: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def styler(self) -> pd.io.formats.style.Styler:
        """The frame with its formats applied and its index hidden.

        Columns without a format of their own show whole numbers with thousands separators
        and other numbers to one decimal place, whatever the column's dtype (disclosed columns
        mix numbers with ``*``). Every cell is HTML-escaped after it is formatted, and every
        column name too, so a name holding markup shows as typed.
        """
        styler = self.frame.style.hide(axis="index")
        default = {c: _plain_value for c in self.frame.columns if c not in self.formats}
        formats = {c: _escaped(f) for c, f in {**default, **self.formats}.items()}
        styler = styler.format(formats, na_rep=safe_html(self.na_rep))
        numeric = [c for c in self.numeric if c in self.frame.columns]
        if numeric:
            styler = styler.set_properties(
                subset=numeric, **{"white-space": "nowrap", "text-align": "right"}
            )
            # Headings line up with their column: numbers right, text left.
            positions = [self.frame.columns.get_loc(c) for c in numeric]
            styler = styler.set_table_styles(
                [{"selector": f"th.col{i}", "props": [("text-align", "right")]} for i in positions],
                overwrite=False,
            )
        # Column names can come from data too (a column per trust or per molecule).
        return styler.format_index(safe_html, axis=1)

    def parts(self) -> list[Table]:
        """The table as shown: itself, or several no wider than :data:`MAX_COLUMNS`."""
        columns = list(self.frame.columns)
        if len(columns) <= MAX_COLUMNS:
            return [self]
        keys = [c for c in self.keys if c in columns][: MAX_COLUMNS - 1]
        rest = [c for c in columns if c not in keys]
        # As few parts as fit, of even width (9 columns become 5 and 5, not 8 and 2).
        count = -(-len(rest) // (MAX_COLUMNS - len(keys)))
        step = -(-len(rest) // count)
        return [
            Table(
                self.frame[keys + rest[i : i + step]],
                {c: f for c, f in self.formats.items() if c in keys + rest[i : i + step]},
                na_rep=self.na_rep,
                numeric=self.numeric,
            )
            for i in range(0, len(rest), step)
        ]

    def _repr_html_(self) -> str:
        if self.frame.empty:
            page = f'<p class="medlib-empty">{safe_html(self.empty)}</p>'
        else:
            page = "".join(
                f'<div class="medlib-table">{part.styler().to_html()}</div>'
                for part in self.parts()
            )
        if self.caption:
            page += f'<p class="medlib-caption"><em>{safe_html(self.caption)}</em></p>'
        return page


def _escaped(formatter: str | Callable[[Any], object] | None) -> Callable[[Any], str]:
    """A cell formatter whose output is HTML-escaped.

    pandas' own ``escape="html"`` escapes a string before a formatter sees it, so text a
    formatter makes from any other value would reach the page raw; escaping the formatted
    text covers every formatter.
    """
    if formatter is None:
        formatter = _plain_value
    render = formatter.format if isinstance(formatter, str) else formatter
    return lambda value: safe_html(render(value))


def _plain_value(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | np.integer):
        return f"{value:,}"
    if isinstance(value, float | np.floating):
        return f"{value:,.1f}"
    return str(value)


#: Key columns that say the same thing on every row of a one-trust table: dropped.
REPEATED_KEYS = ("trust_code", "trust_name", "organisation")
#: Columns that say where the rows came from: said once, in the caption, when all agree.
SOURCE_COLUMNS = ("data_source",)


def lead_table(
    frame: pd.DataFrame,
    *,
    caption: str = "",
    columns: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
    keys: Sequence[str] = (),
    empty: str = "There is nothing to show here.",
) -> Table:
    """A published table as a lead reads it (see :mod:`medlib.present.labels`).

    Columns get plain-English labels with units and their values are written by kind (money,
    counts, percentages 0-100, months, financial years, Yes/No). A key column that holds one
    value on every row (the report's own trust) is dropped, and a data-source column that
    does is said once in the caption instead.

    Args:
        frame: The table as published, with its machine-readable columns.
        caption: A line under the table.
        columns: The columns to show, in order (default: all).
        labels: ``{column: label}`` overriding the shared labels.
        kinds: ``{column: kind}`` overriding the shared kinds (e.g. a value column that holds
            DDDs, not pounds).
        keys: Columns that identify a row, repeated on each part of a table too wide for one
            page (default: the first column).
        empty: The sentence shown when there are no rows.

    Example:
        >>> t = lead_table(pd.DataFrame({"trust_code": ["RTD"], "cost_gbp": [-450.0]}))
        >>> list(t.frame.columns), t.styler().to_html().count("-£450")
        (['Spend (£)'], 1)
    """
    from medlib.present.labels import NUMERIC_KINDS, column_kind, column_label, formatter

    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise InputError(
                f"lead_table: the table has no column {missing[0]!r}; it has {list(frame.columns)}"
            )
    shown = frame[list(columns)] if columns is not None else frame
    notes = []
    drop = []
    for column in shown.columns:
        values = shown[column].dropna().unique()
        if column in SOURCE_COLUMNS and len(values) == 1:
            notes.append(f"Data: {values[0]}.")
            drop.append(column)
        elif column in REPEATED_KEYS and len(values) <= 1 and len(shown.columns) > 1:
            drop.append(column)
    shown = shown.drop(columns=drop)
    names = {c: column_label(c, labels) for c in shown.columns}
    seen: dict[str, int] = {}
    for column, label in names.items():
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            names[column] = f"{label} ({seen[label]})"
    formats: dict[str, Any] = {}
    numeric = []
    for column in shown.columns:
        kind = column_kind(column, shown[column], kinds)
        formats[names[column]] = formatter(kind)
        if kind in NUMERIC_KINDS:
            numeric.append(names[column])
    key_columns = [names[k] for k in keys if k in names] or list(names.values())[:1]
    text = " ".join([caption, *notes]).strip() if caption or notes else ""
    return Table(
        shown.rename(columns=names).reset_index(drop=True),
        formats,
        caption=text,
        numeric=tuple(numeric),
        keys=tuple(key_columns),
        empty=empty,
        source=frame,
    )


Part = str | Table | Figure


class Section:
    """What one section of a report shows, in order.

    Args:
        *parts: Markdown text (``str``), :class:`Table` views and matplotlib figures; ``None``
            parts are left out, so a section can include a part only when it applies. Text is
            shown through :func:`safe_markdown` (no raw HTML, links or images).
    """

    def __init__(self, *parts: Part | None) -> None:
        for part in parts:
            if part is not None and not isinstance(part, str | Table | Figure):
                raise TypeError(f"a section part must be text, a Table or a Figure, not {part!r}")
        self.parts: tuple[Part, ...] = tuple(p for p in parts if p is not None)

    @property
    def text(self) -> str:
        """Every Markdown part, joined by blank lines (what the section says in words)."""
        return "\n\n".join(p for p in self.parts if isinstance(p, str))

    @property
    def tables(self) -> list[Table]:
        """The section's tables, in order."""
        return [p for p in self.parts if isinstance(p, Table)]

    @property
    def figures(self) -> list[Figure]:
        """The section's figures, in order."""
        return [p for p in self.parts if isinstance(p, Figure)]

    def __add__(self, other: Section) -> Section:
        return Section(*self.parts, *other.parts)

    def __repr__(self) -> str:
        kinds = ", ".join(type(p).__name__ for p in self.parts)
        return f"Section({kinds})"

    def _ipython_display_(self) -> None:
        from IPython.display import Markdown, display

        from medlib.present.figures import show_figure

        for part in self.parts:
            if isinstance(part, str):
                display(Markdown(safe_markdown(part)))
            elif isinstance(part, Figure):
                show_figure(part)
            else:
                display(part)


class Report:
    """The contract every domain's report meets.

    Subclasses implement :meth:`sections` (name -> a function returning a :class:`Section`)
    and :meth:`tables` (the lead-facing tables for the pack, keyed by file name).
    """

    def sections(self) -> Mapping[str, Callable[[], Section]]:
        """Every section the report's notebook shows, in page order."""
        raise NotImplementedError

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every lead-facing table of the report, keyed by file name."""
        raise NotImplementedError

    def section_names(self) -> list[str]:
        """The names :meth:`section` accepts, in page order."""
        return list(self.sections())

    def section(self, name: str) -> Section:
        """Build one section.

        Raises:
            InputError: No section has that name (the message lists the names).
        """
        sections = self.sections()
        if name not in sections:
            raise InputError(f"no section called {name!r}; choose one of {list(sections)}")
        return sections[name]()

    def publish(self, tables_dir: str) -> list[Path]:
        """Write :meth:`tables` as CSV files for the pack (nothing when ``tables_dir`` is "")."""
        return publish_tables(self.tables(), tables_dir)
