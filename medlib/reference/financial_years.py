"""NHS financial years: April to March, labelled like ``2023/24``.

Month 1 of a financial year is April and month 12 is the following March, so March 2024 is
month 12 of ``2023/24`` and April 2024 is month 1 of ``2024/25``. "Financial year to date"
(FYTD) runs from April to a given month; "same period last year" is the same run of months one
year earlier.
"""

from __future__ import annotations

import re

import pandas as pd

from medlib.errors import InputError
from medlib.validation import parse_month

__all__ = [
    "add_fy_columns",
    "financial_year",
    "fy_bounds",
    "fy_label",
    "fy_month",
    "fy_of_month",
    "fy_start_year",
    "fy_start_years",
    "fytd_window",
    "months_between",
    "same_period_last_year",
]

#: Calendar month in which the NHS financial year starts.
FY_START_MONTH = 4

_LABEL = re.compile(r"^(\d{4})/(\d{2})$")


def fy_label(start_year: int) -> str:
    """The label of the financial year starting in April of ``start_year``.

    Example:
        >>> fy_label(2023)
        '2023/24'
    """
    return f"{int(start_year)}/{(int(start_year) + 1) % 100:02d}"


def fy_start_year(label: str) -> int:
    """The calendar year in which the financial year ``label`` starts.

    Raises:
        InputError: ``label`` is not written like ``2023/24`` or its two years do not follow.

    Example:
        >>> fy_start_year("1999/00")
        1999
    """
    match = _LABEL.match(str(label).strip())
    if not match:
        raise InputError(f"financial year must be written like 2023/24, got {label!r}")
    start = int(match.group(1))
    if (start + 1) % 100 != int(match.group(2)):
        raise InputError(f"financial year {label!r} is not two consecutive years (e.g. 2023/24)")
    return start


def _as_datetimes(dates: pd.Series | pd.DatetimeIndex) -> pd.Series:
    series = pd.Series(dates)
    if not pd.api.types.is_datetime64_any_dtype(series):
        raise InputError(f"dates must be datetime64 values, got dtype {series.dtype}")
    return series


def fy_start_years(dates: pd.Series | pd.DatetimeIndex) -> pd.Series:
    """The start year of the financial year of each date (April-March)."""
    series = _as_datetimes(dates)
    return series.dt.year - (series.dt.month < FY_START_MONTH).astype(int)


def financial_year(dates: pd.Series | pd.DatetimeIndex) -> pd.Series:
    """The financial-year label of each date.

    Example:
        >>> financial_year(pd.Series(pd.to_datetime(["2024-03-01", "2024-04-01"]))).tolist()
        ['2023/24', '2024/25']
    """
    starts = fy_start_years(dates)
    return starts.map(lambda y: fy_label(y) if pd.notna(y) else None)


def fy_month(dates: pd.Series | pd.DatetimeIndex) -> pd.Series:
    """The month number within the financial year: April is 1, March is 12.

    Example:
        >>> fy_month(pd.Series(pd.to_datetime(["2023-04-01", "2023-12-01", "2024-03-01"]))).tolist()
        [1, 9, 12]
    """
    series = _as_datetimes(dates)
    return (series.dt.month - FY_START_MONTH) % 12 + 1


def fy_bounds(label: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last month (first day of each) of the financial year ``label``.

    Example:
        >>> fy_bounds("2023/24")
        (Timestamp('2023-04-01 00:00:00'), Timestamp('2024-03-01 00:00:00'))
    """
    start = fy_start_year(label)
    return pd.Timestamp(start, FY_START_MONTH, 1), pd.Timestamp(start + 1, FY_START_MONTH - 1, 1)


def fy_of_month(month: object) -> str:
    """The financial-year label of one month (``"YYYY-MM"`` or a date)."""
    stamp = parse_month(month)
    return fy_label(stamp.year - (stamp.month < FY_START_MONTH))


def fytd_window(period_end: object) -> tuple[pd.Timestamp, pd.Timestamp]:
    """April of the financial year containing ``period_end``, and ``period_end`` itself.

    Example:
        >>> fytd_window("2024-01")
        (Timestamp('2023-04-01 00:00:00'), Timestamp('2024-01-01 00:00:00'))
    """
    end = parse_month(period_end, "period_end")
    return fy_bounds(fy_of_month(end))[0], end


def same_period_last_year(period_end: object) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The FYTD window one year before the FYTD window ending at ``period_end``.

    Example:
        >>> same_period_last_year("2024-01")
        (Timestamp('2022-04-01 00:00:00'), Timestamp('2023-01-01 00:00:00'))
    """
    start, end = fytd_window(period_end)
    return start - pd.DateOffset(years=1), end - pd.DateOffset(years=1)


def add_fy_columns(df: pd.DataFrame, date_column: str = "year_month") -> pd.DataFrame:
    """A copy of ``df`` with ``financial_year`` (label) and ``fy_month`` (1-12) added.

    Raises:
        InputError: ``date_column`` is missing or is not datetime64.
    """
    if date_column not in df.columns:
        raise InputError(f"table has no {date_column!r} column to derive financial years from")
    out = df.copy()
    out["financial_year"] = financial_year(out[date_column]).to_numpy()
    out["fy_month"] = fy_month(out[date_column]).to_numpy()
    return out


def months_between(start: object, end: object) -> pd.DatetimeIndex:
    """Every month from ``start`` to ``end`` inclusive (first day of each month)."""
    first, last = parse_month(start, "start"), parse_month(end, "end")
    if last < first:
        raise InputError(f"end month {last:%Y-%m} is before start month {first:%Y-%m}")
    return pd.date_range(first, last, freq="MS")
