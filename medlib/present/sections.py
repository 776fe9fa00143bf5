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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from medlib.errors import InputError
from medlib.present.outputs import publish_tables

__all__ = ["Report", "Section", "Table", "safe_html", "safe_markdown"]

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
    """

    frame: pd.DataFrame
    formats: Mapping[str, Any] = field(default_factory=dict)
    caption: str = ""
    na_rep: str = "–"

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
        # Column names can come from data too (a column per trust or per molecule).
        return styler.format_index(safe_html, axis=1)

    def _repr_html_(self) -> str:
        page = self.styler().to_html()
        if self.caption:
            page += f"<p><em>{safe_html(self.caption)}</em></p>"
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
