"""Checks on the inputs to the spend, benchmarking and SPC functions.

Bad input should fail early with a message that names what is wrong and what was expected,
rather than as a ``KeyError`` from deep inside pandas. Every error raised here is an
:class:`~medlib.errors.InputError` (a :class:`~medlib.errors.MedlibError` and a ``ValueError``),
so callers can catch one type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from medlib.errors import InputError, MissingColumnsError

__all__ = ["parse_month", "require_columns", "require_frame", "require_numeric"]

_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})(?:-01)?$")


def require_frame(obj: object, what: str) -> pd.DataFrame:
    """Return ``obj`` if it is a DataFrame, else raise :class:`InputError` naming ``what``."""
    if not isinstance(obj, pd.DataFrame):
        raise MissingColumnsError(f"{what}: expected a pandas DataFrame, got {type(obj).__name__}")
    return obj


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> pd.DataFrame:
    """Check that ``df`` is a DataFrame holding every column in ``columns``.

    Args:
        df: The table to check.
        columns: Column names the caller needs.
        what: How to name the table in the error message, e.g. ``"monthly spend"``.

    Returns:
        ``df`` unchanged, so the call can be used inline.

    Raises:
        MissingColumnsError: ``df`` is not a DataFrame or lacks some of the columns.
    """
    require_frame(df, what)
    columns = list(columns)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MissingColumnsError(
            f"{what} is missing column(s) {', '.join(missing)}; it has "
            f"{', '.join(map(str, df.columns)) or 'no columns'} and needs {', '.join(columns)}"
        )
    return df


def parse_month(value: object, name: str = "month") -> pd.Timestamp:
    """Read a month given as ``"YYYY-MM"``, ``"YYYY-MM-01"``, a date or a Timestamp.

    Args:
        value: The month to read.
        name: The parameter name, used in the error message.

    Returns:
        The first day of that month as a Timestamp.

    Raises:
        InputError: The value is not a month.

    Example:
        >>> parse_month("2024-03")
        Timestamp('2024-03-01 00:00:00')
    """
    if isinstance(value, str):
        match = _MONTH.match(value.strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise InputError(
                f"{name} must be a month written YYYY-MM (e.g. 2024-03), got {value!r}"
            )
        return pd.Timestamp(year=int(match.group(1)), month=int(match.group(2)), day=1)
    if isinstance(value, pd.Timestamp | pd.Period) or hasattr(value, "year"):
        stamp = pd.Timestamp(str(value)) if isinstance(value, pd.Period) else pd.Timestamp(value)
        if pd.isna(stamp):
            raise InputError(f"{name} must be a month, got a missing value")
        return pd.Timestamp(year=stamp.year, month=stamp.month, day=1)
    raise InputError(f"{name} must be a month written YYYY-MM (e.g. 2024-03), got {value!r}")


def require_numeric(series: pd.Series, what: str) -> pd.Series:
    """Return ``series`` as float64, or raise :class:`InputError` if it is not numeric."""
    if not (pd.api.types.is_numeric_dtype(series) or series.isna().all()):
        raise InputError(f"{what} must be numeric, got dtype {series.dtype}")
    return series.astype("float64")
