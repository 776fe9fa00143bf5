"""Writing a notebook's tables for the report pack.

Every table a notebook shows to leads is also written as ``<tables_dir>/<name>.csv`` so the
renderer can bundle it into the trust's Excel workbook. Writes are atomic (temporary file, then
``os.replace``) so an interrupted run never leaves a half-written table. Text cells that a
spreadsheet would run as a formula (``=...``, ``+...``, ``-...``, ``@...``) are written with a
leading ``'`` (:func:`medlib.io.cells.neutralise_frame`).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from medlib.io.cells import neutralise_frame

__all__ = ["atomic_write_text", "publish_tables"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see either the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        # mkstemp makes owner-only files; published tables are for others to read.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def publish_tables(
    tables: Mapping[str, pd.DataFrame], tables_dir: str | os.PathLike[str] | None
) -> list[Path]:
    """Write lead-facing tables as CSV files named after their keys.

    Args:
        tables: ``{table_name: frame}``; names are lower-case snake_case.
        tables_dir: Folder to write into. Empty or None (an interactive run) writes nothing.

    Returns:
        The paths written.

    Text cells and column names starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return get a leading ``'`` so a spreadsheet shows them instead of running them; numbers
    are written as they are.
    """
    if not tables_dir:
        return []
    folder = Path(tables_dir)
    written = []
    for name, frame in tables.items():
        if not _NAME.match(name):
            raise ValueError(f"table name {name!r} must be lower-case snake_case")
        path = folder / f"{name}.csv"
        atomic_write_text(path, neutralise_frame(frame).to_csv(index=False))
        written.append(path)
    return written
