"""The one report contract: sections that return what they show, and one set of tables.

Every domain's ``build(context, **options)`` returns a :class:`Report`. A notebook shows a
section by making ``report.section("name")`` the last line of a cell; the :class:`Section` it
returns holds the section's parts in order (Markdown text, :class:`Table` views, matplotlib
figures) and displays them when Jupyter shows it. Nothing is displayed as a side effect, so a
test can build a report and read exactly what a lead would see. The notebook's last cell calls
``report.publish(tables_dir)`` once, which writes :meth:`Report.tables` for the pack.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from medlib.errors import InputError
from medlib.present.outputs import publish_tables

__all__ = ["Report", "Section", "Table"]


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
        mix numbers with ``*``).
        """
        styler = self.frame.style.hide(axis="index")
        default = {c: _plain_value for c in self.frame.columns if c not in self.formats}
        return styler.format({**default, **self.formats}, na_rep=self.na_rep)

    def _repr_html_(self) -> str:
        html = self.styler().to_html()
        if self.caption:
            from html import escape

            html += f"<p><em>{escape(self.caption)}</em></p>"
        return html


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
            parts are left out, so a section can include a part only when it applies.
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
                display(Markdown(part))
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
