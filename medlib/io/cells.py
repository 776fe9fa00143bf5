"""Text cells that a spreadsheet will show as text, never run as a formula.

Names in published tables and quarantine files come from files a team ingests, so a trust or
molecule called ``=HYPERLINK("http://...","x")`` or ``=cmd|' /C calc'!A0`` would be a live
formula in Excel or LibreOffice when the CSV or workbook is opened (openpyxl even stores such a
string as a formula). Every CSV and ``.xlsx`` writer of the project passes its frame through
:func:`neutralise_frame` first, which applies the OWASP CSV-injection rule:

* a **text** cell (a Python ``str``; numbers, dates and missing values are never touched) that
  starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a single quote in
  front (``'=HYPERLINK(...)``), which spreadsheets show and never evaluate;
* text that is a plain number (``-5``, ``+1.5``, ``-2e3``) is left alone: a spreadsheet reads it
  as that number, which is no formula, and the published value stays the same;
* column names are text cells too (the header row).

The rule lives in :mod:`medlib.io`, the lowest layer that writes files, so the store's own
quarantine writers can use it as well as the presentation and rendering layers.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["FORMULA_STARTS", "neutralise_frame", "neutralise_text"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Text a spreadsheet could run: a formula start, unless the whole text is a plain number.
#: ASCII digits only, so full-width or Arabic digits do not pass as a number.
_RISKY = re.compile(
    r"(?![+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z)"
    rf"[{re.escape(''.join(FORMULA_STARTS))}]"
)


def neutralise_text(value: object) -> object:
    """``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula.

    Example:
        >>> print(neutralise_text('=HYPERLINK("http://x","x")'))
        '=HYPERLINK("http://x","x")
        >>> neutralise_text("-5"), neutralise_text(-5), neutralise_text("Lithium")
        ('-5', -5, 'Lithium')
    """
    if isinstance(value, str) and _RISKY.match(value):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are safe to open in a spreadsheet.

    Only text (``str``) cells starting with one of :data:`FORMULA_STARTS` change (see the
    module rules); numeric columns are passed over whole, so a negative number stays a number.
    The index is left as it is: every writer of the project writes with ``index=False``.

    Args:
        frame: A table about to be written as CSV or to a workbook.

    Returns:
        A new frame (``frame`` itself is never changed).

    Example:
        >>> table = pd.DataFrame({"name": ["=1+2", "Lithium"], "change": [-5, 3]})
        >>> neutralise_frame(table).to_dict("list")
        {'name': ["'=1+2", 'Lithium'], 'change': [-5, 3]}
    """
    out = frame.copy()
    for position in range(frame.shape[1]):
        values = frame.iloc[:, position]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        elif not (
            pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)
        ):
            continue
        try:
            # Anything but text (a number or date in a mixed column) does not match.
            risky = values.str.match(_RISKY, na=False).to_numpy(dtype=bool)
        except AttributeError:  # a column of objects none of which is text
            continue
        if risky.any():
            changed = values.copy()
            changed[risky] = "'" + values[risky].astype(str)
            # By position, so columns that share a name are each handled.
            out.isetitem(position, changed)
    names = [neutralise_text(c) for c in frame.columns]
    if any(new is not old for new, old in zip(names, frame.columns, strict=True)):
        out.columns = pd.Index(names, dtype=object)
    return out
