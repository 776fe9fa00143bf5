"""Writing the explorer's current view to CSV and Excel.

The CSV holds the summary table exactly as shown, except that text a spreadsheet would run as a
formula (``=...``, ``+...``, ``-...``, ``@...``) gets a leading ``'`` in both files
(:func:`medlib.io.cells.neutralise_frame`). The Excel workbook holds the same table on
its first sheet, then the numbers behind the chart and the selection that produced them, so a
file found weeks later says what it shows. Both files are written to a temporary name first and
then moved into place, so an interrupted export never leaves half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from medlib.io.cells import neutralise_frame
from medlib.present.outputs import atomic_write_text

if TYPE_CHECKING:
    from medlib.explorer.state import Explorer

__all__ = ["selection_table", "write_view"]


def selection_table(ex: Explorer) -> pd.DataFrame:
    """The selection as ``setting, value`` rows (for the workbook's last sheet)."""
    sel = ex.selection
    start, end = ex.period
    rows = [
        ("dataset", "synthetic patients" if ex.measure.patients else sel.dataset),
        ("measure", ex.measure.label),
        ("products", "" if ex.measure.patients else sel.focus.label),
        ("shown", ", ".join(ex.units)),
        ("period", f"{start:%Y-%m} to {end:%Y-%m}"),
        ("comparison group", sel.comparison),
        ("chart", sel.chart),
    ]
    if ex.measure.patients:
        rows.append(("comparator", sel.comparator))
    rows.extend(("note", note) for note in ex.notes)
    return pd.DataFrame(rows, columns=["setting", "value"])


def write_view(ex: Explorer, folder: Path, name: str) -> tuple[Path, Path]:
    """Write ``<name>.csv`` (the table) and ``<name>.xlsx`` (table, chart data, selection).

    Returns:
        The CSV and Excel paths.
    """
    if not name or any(sep in name for sep in ("/", "\\")) or name.startswith("."):
        raise ValueError(f"export name must be a plain file name without folders, got {name!r}")
    folder.mkdir(parents=True, exist_ok=True)
    table = ex.table
    csv_path = folder / f"{name}.csv"
    atomic_write_text(csv_path, neutralise_frame(table).to_csv(index=False))
    xlsx_path = folder / f"{name}.xlsx"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".xlsx")
    os.close(fd)
    try:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for sheet, frame in (
                ("table", table),
                ("chart_data", ex.chart_data),
                ("selection", selection_table(ex)),
            ):
                neutralise_frame(frame).to_excel(writer, sheet_name=sheet, index=False)
        os.replace(tmp, xlsx_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return csv_path, xlsx_path
