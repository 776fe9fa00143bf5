"""One Excel workbook per trust holding every table of its reports.

Leads download the workbook rather than a folder of CSVs. The first sheet, ``About``, says what
the workbook is, the disclosure policy, and which sheet holds which table (sheet names are
limited to 31 characters, so long table names are shortened there). Codes stay text so dm+d
ids keep every digit; other columns become numbers where every value is a number, with ``*``
(a suppressed count) kept as text.

Every sheet, the About sheet included, is written through
:func:`medlib.io.cells.neutralise_frame`: text starting with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return gets a leading ``'``, so openpyxl stores it as text rather than as a live
formula. Published CSVs already carry that quote, and :func:`read_table_csv` keeps it: such a
value is not a number, so it stays text and is written as the same text.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from medlib.io.cells import neutralise_frame

__all__ = ["read_table_csv", "sheet_names", "write_workbook"]

SHEET_NAME_MAX = 31
ABOUT_SHEET = "About"
_CODE_COLUMN = re.compile(r"(code|_id$|^id$)", re.IGNORECASE)
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def sheet_names(table_names: Sequence[str]) -> dict[str, str]:
    """Unique Excel sheet names (at most 31 characters) for the given tables.

    Example:
        >>> sheet_names(["spend_by_month", "a" * 40, "a" * 40 + "_x"])["a" * 40 + "_x"]
        'aaaaaaaaaaaaaaaaaaaaaaaaaaaaa~2'
    """
    used = {ABOUT_SHEET.lower()}
    names: dict[str, str] = {}
    for table in table_names:
        base = _BAD_SHEET_CHARS.sub("_", table)[:SHEET_NAME_MAX] or "table"
        name, n = base, 1
        while name.lower() in used:
            n += 1
            suffix = f"~{n}"
            name = base[: SHEET_NAME_MAX - len(suffix)] + suffix
        used.add(name.lower())
        names[table] = name
    return names


def read_table_csv(path: Path) -> pd.DataFrame:
    """Read a published table for the workbook: codes as text, numbers as numbers.

    Text is read as it was published: a neutralised ``'=...`` keeps its quote (it is not a
    number), so the workbook shows it as text too.
    """
    header = pd.read_csv(path, nrows=0).columns
    text_columns = {c: str for c in header if _CODE_COLUMN.search(str(c))}
    table = pd.read_csv(path, dtype=text_columns, keep_default_na=False, na_values=[""])
    for column in table.columns:
        if column not in text_columns and not pd.api.types.is_numeric_dtype(table[column]):
            table[column] = _numbers_where_possible(table[column])
    return table


def write_workbook(
    path: Path,
    tables: Mapping[str, pd.DataFrame],
    about: Sequence[tuple[str, str]],
    sources: Mapping[str, str] | None = None,
) -> Path:
    """Write ``tables`` to one workbook, atomically, after an ``About`` sheet.

    Args:
        path: The ``.xlsx`` file to write.
        tables: ``{table_name: frame}`` in the order the sheets should appear.
        about: ``(label, text)`` rows for the top of the About sheet.
        sources: ``{table_name: notebook}`` shown in the About sheet's table list.

    Text that a spreadsheet would run as a formula is written with a leading ``'`` (see the
    module notes); numbers stay numbers.

    Returns:
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = sheet_names(list(tables))
    sources = dict(sources or {})
    listing = pd.DataFrame(
        {
            "sheet": [names[t] for t in tables],
            "table": list(tables),
            "report": [sources.get(t, "") for t in tables],
            "rows": [len(df) for df in tables.values()],
            "columns": [", ".join(map(str, df.columns)) for df in tables.values()],
        }
    )
    # The temporary name keeps the .xlsx suffix: pandas picks the Excel engine by it.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp.xlsx")
    os.close(fd)
    try:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            about_frame = pd.DataFrame(list(about), columns=["item", "value"])
            # openpyxl stores any text starting with "=" as a formula: names from data must
            # not become one (the About sheet holds the trust's name and the column names).
            neutralise_frame(about_frame).to_excel(writer, sheet_name=ABOUT_SHEET, index=False)
            neutralise_frame(listing).to_excel(
                writer, sheet_name=ABOUT_SHEET, index=False, startrow=len(about_frame) + 2
            )
            _fit_columns(writer.sheets[ABOUT_SHEET], [("item", 22), ("value", 90)])
            for table, frame in tables.items():
                neutralise_frame(frame).to_excel(writer, sheet_name=names[table], index=False)
                widths = [(c, min(50, max(len(str(c)), 10) + 2)) for c in frame.columns]
                _fit_columns(writer.sheets[names[table]], widths)
                writer.sheets[names[table]].freeze_panes = "A2"
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _numbers_where_possible(values: pd.Series) -> pd.Series:
    """Numbers as numbers, keeping ``*`` and other text as text, if most values are numbers."""
    numeric = pd.to_numeric(values, errors="coerce")
    text = values.notna() & numeric.isna()
    if numeric.notna().sum() == 0 or (text & (values != "*")).any():
        return values
    out = values.astype(object).copy()
    whole = numeric.notna() & (numeric == numeric.round())
    out[numeric.notna()] = numeric[numeric.notna()]
    out[whole] = numeric[whole].astype("int64")
    return out


def _fit_columns(sheet: object, widths: Sequence[tuple[str, int]]) -> None:
    from openpyxl.utils import get_column_letter

    for i, (_, width) in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width  # type: ignore[attr-defined]
