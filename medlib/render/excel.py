"""One Excel workbook per trust holding every table of its reports.

Leads download the workbook rather than a folder of CSVs, so each sheet is written for a person
to read while keeping the published numbers:

- the header row shows each column's label (``Spend (£)``, from
  :func:`medlib.present.labels.column_label`); the About sheet lists each sheet's columns as
  ``Label (machine_name)``, the names the published CSVs and downstream scripts use;
- values are stored by kind (:func:`medlib.present.labels.column_kind`, see
  :func:`excel_value`): money, counts and numbers as numbers with a number format; every
  percentage as a fraction formatted ``0.0%``, so a 0-100 ``percent`` column (81.2) and a 0-1
  ``share`` column (0.812) both show 81.2%; months and dates as real dates; financial years
  (``2023/24``) and flags (``Yes``/``No``) as text; a suppressed ``*`` stays text;
- the header row is frozen and filtered, and columns are as wide as their content (8 to 60
  characters);
- a sheet whose figures are generated (a ``data_source`` value says "synthetic", see
  :func:`medlib.render.table_notes.is_synthetic`) starts with a red banner row,
  :data:`SYNTHETIC_BANNER`, merged across its columns; its header is then row 2;
- the first sheet, ``About``, says what the workbook is, the disclosure policy, which sheets
  are synthetic, and for each sheet what it holds, its report, where its data came from, its
  rows and columns (sheet names are limited to 31 characters, so long table names are
  shortened there).

Codes stay text so dm+d ids keep every digit. Every text cell, the About sheet's included, goes
through :func:`medlib.io.cells.neutralise_text`: text starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return gets a leading ``'``, so openpyxl stores it as text rather than as a
live formula. Published CSVs already carry that quote, and :func:`read_table_csv` keeps it: such
a value is not a number, so it stays text and is written as the same text.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import textwrap
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medlib.io.cells import neutralise_frame, neutralise_text
from medlib.present.labels import COLUMNS, column_kind, column_label, formatter
from medlib.present.wording import is_missing
from medlib.render.html import notebook_label
from medlib.render.table_notes import (
    data_from,
    describe,
    is_synthetic,
    report_measure,
    table_kinds,
    table_labels,
)

__all__ = [
    "ABOUT_SHEET",
    "NUMBER_FORMATS",
    "SYNTHETIC_BANNER",
    "excel_value",
    "read_table_csv",
    "sheet_names",
    "write_workbook",
]

SHEET_NAME_MAX = 31
ABOUT_SHEET = "About"
#: The first row of every sheet whose figures are generated.
SYNTHETIC_BANNER = (
    "SYNTHETIC DATA — these figures are generated, not real; for testing the method only."
)
#: Excel number formats by value kind; kinds not listed are written as text.
NUMBER_FORMATS: dict[str, str] = {
    "money": "£#,##0",
    "money_pence": "£#,##0.00",
    "count": "#,##0",
    "number": "#,##0.00",
    "rank": "0",
    "percent": "0.0%",
    "share": "0.0%",
    "month": "mmm yyyy",
    "date": "d mmm yyyy",
}
#: Narrowest and widest column, in characters.
WIDTH_BOUNDS = (8, 60)
#: A header label longer than this wraps onto more lines rather than widening its column.
_HEADER_WRAP = 24
_POINTS_PER_LINE = 15
_BANNER_FILL = "C00000"
_HEADER_FILL = "D9E1F2"
_CODE_COLUMN = re.compile(r"(code|_id$|^id$)", re.IGNORECASE)
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
#: Text a month or date column holds: ``2024-03``, ``2024-03-01``, optionally with a time.
_ISO_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?)?$")
#: Known columns that hold text even when every value looks like a number (``0402``, ``2025``).
_TEXT_COLUMNS = frozenset(c for c, (_, kind) in COLUMNS.items() if kind in ("text", "code"))


@dataclass(frozen=True)
class _Sheet:
    """What the About sheet says of one sheet."""

    table: str
    sheet: str
    description: str
    report: str
    data_from: str
    rows: int
    synthetic: bool
    columns: tuple[str, ...]


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

    Codes, and the shared text columns (a BNF section ``0402``, a target profile ``2025``),
    keep their text. Text is read as it was published: a neutralised ``'=...`` keeps its
    quote (it is not a number), so the workbook shows it as text too.
    """
    header = pd.read_csv(path, nrows=0).columns
    text_columns = {
        c: str for c in header if _CODE_COLUMN.search(str(c)) or str(c) in _TEXT_COLUMNS
    }
    table = pd.read_csv(path, dtype=text_columns, keep_default_na=False, na_values=[""])
    for column in table.columns:
        if column not in text_columns and not pd.api.types.is_numeric_dtype(table[column]):
            table[column] = _numbers_where_possible(table[column])
    return table


def excel_value(value: Any, kind: str) -> tuple[Any, str | None]:
    """A value as the workbook stores it, with its number format.

    Args:
        value: One value of a published table.
        kind: The column's kind (:func:`medlib.present.labels.column_kind`).

    Returns:
        ``(value, number_format)``: numbers stay numbers (a 0-100 percentage becomes a
        fraction), months and dates become ``datetime``, flags ``Yes``/``No``; text that is not
        a value of the kind (``*``) is returned as it is, without a format; missing values are
        ``None``.

    Example:
        >>> excel_value(81.2, "percent"), excel_value("*", "count")
        ((0.812, '0.0%'), ('*', None))
        >>> excel_value("2024-03", "month")
        (datetime.datetime(2024, 3, 1, 0, 0), 'mmm yyyy')
        >>> excel_value(True, "flag"), excel_value(2023, "financial_year")
        (('Yes', None), ('2023/24', None))
    """
    if is_missing(value):
        return None, None
    if kind in ("month", "date"):
        stamp = _timestamp(value)
        if stamp is None:
            return _plain(value), None
        day = 1 if kind == "month" else stamp.day
        return datetime(stamp.year, stamp.month, day), NUMBER_FORMATS[kind]
    if kind in NUMBER_FORMATS:
        number = _number(value)
        if number is None:
            return _plain(value), None
        if kind == "percent":
            # 15 significant digits drop the float noise of the division (0.9 / 100).
            number = float(f"{number / 100:.15g}")
        return number, NUMBER_FORMATS[kind]
    if kind in ("flag", "financial_year"):
        return formatter(kind)(value), None
    if kind == "code":
        return str(value), None
    return _plain(value), None


def write_workbook(
    path: Path,
    tables: Mapping[str, pd.DataFrame],
    about: Sequence[tuple[str, str]],
    sources: Mapping[str, str] | None = None,
    *,
    synthetic: Collection[str] = (),
) -> Path:
    """Write ``tables`` to one workbook, atomically, after an ``About`` sheet.

    Args:
        path: The ``.xlsx`` file to write.
        tables: ``{table_name: frame}`` in the order the sheets should appear, with their
            published (machine-readable) columns.
        about: ``(label, text)`` rows for the top of the About sheet.
        sources: ``{table_name: notebook}``: the report each table came from.
        synthetic: Tables to mark synthetic besides those whose ``data_source`` says so.

    Text that a spreadsheet would run as a formula is written with a leading ``'`` (see the
    module notes); numbers stay numbers.

    Returns:
        ``path``.
    """
    from openpyxl import Workbook

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = sheet_names(list(tables))
    sources = dict(sources or {})
    measure = report_measure(tables)
    book = Workbook()
    about_sheet = book.active
    about_sheet.title = ABOUT_SHEET
    listing = []
    for table, frame in tables.items():
        labels = _labels(frame, table_labels(table, frame, measure))
        marked = table in synthetic or is_synthetic(frame)
        report = sources.get(table, "")
        _write_table(
            book.create_sheet(names[table]),
            frame,
            labels,
            table_kinds(table, frame, measure),
            banner=_banner(table, frame) if marked else None,
        )
        listing.append(
            _Sheet(
                table=table,
                sheet=names[table],
                description=describe(table, report),
                report=f"{notebook_label(report)} ({report}.html)" if report else "",
                data_from=data_from(table, frame),
                rows=len(frame),
                synthetic=marked,
                columns=tuple(
                    f"{label} ({column})"
                    for column, label in zip(frame.columns, labels, strict=True)
                ),
            )
        )
    _write_about(about_sheet, about, listing)
    # The temporary name keeps the .xlsx suffix, which Excel and openpyxl go by.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp.xlsx")
    os.close(fd)
    try:
        book.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------- sheets


def _labels(frame: pd.DataFrame, overrides: Mapping[str, str]) -> list[str]:
    """Each column's header label, numbered where two columns would read the same."""
    labels = [column_label(c, overrides) for c in frame.columns]
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def _banner(table: str, frame: pd.DataFrame) -> str:
    return f"{SYNTHETIC_BANNER} Data: {data_from(table, frame)}."


def _write_table(
    sheet: Any,
    frame: pd.DataFrame,
    labels: Sequence[str],
    overrides: Mapping[str, str],
    banner: str | None,
) -> None:
    """One table's sheet: an optional banner row, the labelled header, then the rows."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_row = 2 if banner else 1
    kinds = [column_kind(c, frame.iloc[:, i], overrides) for i, c in enumerate(frame.columns)]
    # A table with a unit column (the audit's headline) holds percentages on its "%" rows.
    percent_rows = (
        frame["unit"].astype(str).str.strip().eq("%").to_numpy()
        if "unit" in frame.columns
        else np.zeros(len(frame), dtype=bool)
    )
    shown = neutralise_frame(frame)
    widths = [0] * len(labels)
    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor=_HEADER_FILL)
    for i, label in enumerate(labels, start=1):
        cell = sheet.cell(row=header_row, column=i, value=neutralise_text(label))
        cell.font = bold
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for r, (raw, safe) in enumerate(
        zip(
            frame.itertuples(index=False, name=None),
            shown.itertuples(index=False, name=None),
            strict=True,
        )
    ):
        for c, kind in enumerate(kinds):
            if kind == "number" and percent_rows[r]:
                kind = "percent"
            value, number_format = excel_value(safe[c], kind)
            cell = sheet.cell(row=header_row + 1 + r, column=c + 1, value=value)
            if number_format is not None:
                cell.number_format = number_format
            widths[c] = max(widths[c], len(_display(raw[c], kind)))
    last = get_column_letter(max(len(labels), 1))
    header_lines = 1
    low, high = WIDTH_BOUNDS
    for i, label in enumerate(labels):
        longest_word = max((len(w) for w in label.split()), default=0)
        need = max(widths[i], min(len(label), _HEADER_WRAP), longest_word) + 2
        width = min(max(need, low), high)
        sheet.column_dimensions[get_column_letter(i + 1)].width = width
        header_lines = max(header_lines, len(textwrap.wrap(label, max(width - 2, 1))))
    if header_lines > 1:
        sheet.row_dimensions[header_row].height = _POINTS_PER_LINE * header_lines
    if banner:
        cell = sheet.cell(row=1, column=1, value=neutralise_text(banner))
        cell.font = Font(bold=True, color="FFFFFF", size=12)
        cell.fill = PatternFill("solid", fgColor=_BANNER_FILL)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        if len(labels) > 1:
            sheet.merge_cells(f"A1:{last}1")
        # Excel does not grow a merged cell's row to fit its text, so the height is set.
        across = sum(
            sheet.column_dimensions[get_column_letter(i + 1)].width
            for i in range(max(len(labels), 1))
        )
        lines = math.ceil(len(banner) * 1.15 / max(across, 1))
        sheet.row_dimensions[1].height = max(2, lines) * (_POINTS_PER_LINE + 2)
    sheet.freeze_panes = f"A{header_row + 1}"
    if labels:
        sheet.auto_filter.ref = f"A{header_row}:{last}{header_row + len(frame)}"


def _write_about(sheet: Any, about: Sequence[tuple[str, str]], listing: Sequence[_Sheet]) -> None:
    """The About sheet: what the workbook is, then one row per sheet."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    top = Alignment(wrap_text=True, vertical="top")
    marked = [s.sheet for s in listing if s.synthetic]
    items = [
        *about,
        (
            "Synthetic data",
            (
                "These sheets hold generated figures, not real data, and start with a red "
                f"SYNTHETIC DATA banner: {', '.join(marked)}. Use them to test the method only."
            )
            if marked
            else "None: every sheet holds figures from the data named in its row below.",
        ),
        (
            "Headers and formats",
            "Each sheet's header shows plain-English labels; the list below gives each column "
            "as Label (name), the name being the column's in the published CSV file. Money is "
            "in pounds; percentages are stored as fractions and shown as percentages (81.2% is "
            "the number 0.812, where the CSV file holds 81.2 or 0.812); months and dates are "
            "dates; financial years are text (2023/24); a * is a withheld count (see "
            "disclosure control).",
        ),
    ]
    sheet.cell(row=1, column=1, value="About this workbook").font = Font(bold=True, size=14)
    row = 3
    for label, text in items:
        sheet.cell(row=row, column=1, value=neutralise_text(str(label))).font = bold
        sheet.cell(row=row, column=2, value=neutralise_text(str(text))).alignment = top
        row += 1
    row += 1
    sheet.cell(row=row, column=1, value="Sheets").font = Font(bold=True, size=12)
    row += 1
    header = (
        "Sheet",
        "What it holds",
        "Report",
        "Data from",
        "Rows",
        "Synthetic data",
        "Table (CSV file)",
        "Columns: Label (name)",
    )
    header_fill = PatternFill("solid", fgColor=_HEADER_FILL)
    for i, label in enumerate(header, start=1):
        cell = sheet.cell(row=row, column=i, value=label)
        cell.font = bold
        cell.fill = header_fill
    first = row
    banner_font = Font(bold=True, color="FFFFFF")
    banner_fill = PatternFill("solid", fgColor=_BANNER_FILL)
    for entry in listing:
        row += 1
        values = (
            entry.sheet,
            entry.description,
            entry.report,
            entry.data_from,
            entry.rows,
            "Yes: SYNTHETIC" if entry.synthetic else "No",
            f"{entry.table}.csv",
            ", ".join(entry.columns),
        )
        for i, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=i, value=neutralise_text(value))
            cell.alignment = top
        if entry.synthetic:
            cell = sheet.cell(row=row, column=6)
            cell.font = banner_font
            cell.fill = banner_fill
    sheet.auto_filter.ref = f"A{first}:{get_column_letter(len(header))}{row}"
    for i, width in enumerate((32, 70, 30, 40, 8, 15, 32, 90), start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width


# --------------------------------------------------------------------------- values


def _number(value: Any) -> int | float | None:
    """The value as a Python number, or None when it is text (``*``) or not finite."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.replace(",", ""))
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    return None


def _timestamp(value: Any) -> pd.Timestamp | None:
    if isinstance(value, pd.Period):
        return value.to_timestamp()
    if isinstance(value, datetime | date | np.datetime64):
        return pd.Timestamp(value)
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return pd.Timestamp(value.strip())
        except ValueError:
            return None
    return None


def _plain(value: Any) -> Any:
    """A value of a text column, or text in a number column, as openpyxl can store it."""
    if isinstance(value, bool | np.bool_):
        return "Yes" if value else "No"
    number = _number(value) if not isinstance(value, str) else None
    if number is not None:
        return number
    return value if isinstance(value, str) else str(value)


def _display(value: Any, kind: str) -> str:
    """Roughly what a cell shows, to size its column."""
    try:
        return formatter(kind)(value)
    except (TypeError, ValueError, OverflowError):
        return str(value)


def _numbers_where_possible(values: pd.Series) -> pd.Series:
    """Numbers as numbers, keeping ``*`` and other text as text, if most values are numbers."""
    # True/False would become 1/0; a flag column stays as it was read.
    if values.map(lambda v: isinstance(v, bool | np.bool_)).any():
        return values
    numeric = pd.to_numeric(values, errors="coerce")
    text = values.notna() & numeric.isna()
    if numeric.notna().sum() == 0 or (text & (values != "*")).any():
        return values
    out = values.astype(object).copy()
    whole = numeric.notna() & (numeric == numeric.round())
    out[numeric.notna()] = numeric[numeric.notna()]
    out[whole] = numeric[whole].astype("int64")
    return out
