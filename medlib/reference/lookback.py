"""Look-back windows relative to an audit's census date, defined once.

Every window here is a closed interval of whole days: **both edges are included**. This follows
the OpenSAFELY PINCER definitions (``between=[index_date - 3 months, index_date]`` and ehrQL's
``is_on_or_between``), where a record dated exactly on either edge counts.

Months are calendar months: ``census - 3 months`` keeps the day of the month and, when that day
does not exist, falls back to the last day of the month (``2024-05-31 - 3 months =
2024-02-29``), as ``pandas.DateOffset`` and ehrQL's ``months()`` do.

A prescribing episode ``[start_date, end_date]`` (``end_date`` missing = still taking it)
*overlaps* a window when it starts on or before the window's last day and ends on or after its
first day. An event (a diagnosis, a test) is *in* a window when its date lies between the edges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from medlib.errors import InputError
from medlib.validation import parse_month

__all__ = [
    "Window",
    "clip_to",
    "day_window",
    "episode_overlaps",
    "event_in",
    "lookback",
    "month_window",
    "months_before",
    "on_or_before",
    "to_day",
]

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def to_day(value: object, name: str = "date") -> pd.Timestamp:
    """Read a date (``"YYYY-MM-DD"``, date or Timestamp) as a midnight Timestamp.

    Raises:
        InputError: The value is not a date.
    """
    if isinstance(value, str) and not _ISO_DAY.match(value.strip()):
        raise InputError(f"{name} must be a date written YYYY-MM-DD, got {value!r}")
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"{name} must be a date written YYYY-MM-DD, got {value!r}") from None
    if pd.isna(stamp):
        raise InputError(f"{name} must be a date written YYYY-MM-DD, got a missing value")
    return stamp.normalize()


def months_before(day: object, months: int) -> pd.Timestamp:
    """The date ``months`` calendar months before ``day`` (month-end clipped).

    Example:
        >>> months_before("2024-05-31", 3)
        Timestamp('2024-02-29 00:00:00')
    """
    if months < 0:
        raise InputError(f"months must not be negative, got {months}")
    return to_day(day) - pd.DateOffset(months=int(months))


@dataclass(frozen=True)
class Window:
    """A closed interval of days; ``start`` None means no lower bound (all history).

    Attributes:
        start: First day included, or None for "ever".
        end: Last day included.
    """

    start: pd.Timestamp | None
    end: pd.Timestamp

    def __post_init__(self) -> None:
        if self.start is not None and self.start > self.end:
            raise InputError(f"window start {self.start.date()} is after its end {self.end.date()}")

    def __str__(self) -> str:
        first = "ever" if self.start is None else str(self.start.date())
        return f"{first} to {self.end.date()} (both included)"


def lookback(census: object, months_from: int, months_to: int = 0) -> Window:
    """The window from ``months_from`` to ``months_to`` months before the census date.

    Args:
        census: The census (index) date.
        months_from: How many months back the window starts.
        months_to: How many months back it ends (0 = the census date itself).

    Returns:
        ``[census - months_from, census - months_to]``, both edges included.

    Example:
        >>> str(lookback("2024-03-31", 3))
        '2023-12-31 to 2024-03-31 (both included)'
        >>> str(lookback("2024-03-31", 6, 3))
        '2023-09-30 to 2023-12-31 (both included)'
    """
    if months_to > months_from:
        raise InputError(
            f"a look-back window must start further back than it ends, got {months_from} to "
            f"{months_to} months"
        )
    return Window(months_before(census, months_from), months_before(census, months_to))


def on_or_before(census: object, months: int = 0) -> Window:
    """All history up to and including ``census - months``."""
    return Window(None, months_before(census, months))


def month_window(month: object) -> Window:
    """The whole calendar month ``month`` (``"YYYY-MM"``, a date or a Timestamp), first to last day.

    Example:
        >>> str(month_window("2024-02"))
        '2024-02-01 to 2024-02-29 (both included)'
    """
    first = parse_month(month, "month")
    return Window(first, first + pd.offsets.MonthEnd(0))


def day_window(day: object) -> Window:
    """A single day: what is current on a census date."""
    stamp = to_day(day)
    return Window(stamp, stamp)


def episode_overlaps(start: pd.Series, end: pd.Series, window: Window) -> pd.Series:
    """Whether each episode ``[start, end]`` (end missing = ongoing) overlaps ``window``."""
    hit = start <= window.end
    if window.start is not None:
        hit &= end.isna() | (end >= window.start)
    return hit.fillna(False).astype(bool)


def event_in(dates: pd.Series, window: Window) -> pd.Series:
    """Whether each event date lies in ``window`` (both edges included)."""
    hit = dates <= window.end
    if window.start is not None:
        hit &= dates >= window.start
    return hit.fillna(False).astype(bool)


def clip_to(start: pd.Series, end: pd.Series, window: Window) -> tuple[pd.Series, pd.Series]:
    """Episodes cut to the window (ongoing episodes end on the window's last day)."""
    clipped_end = end.fillna(window.end).clip(upper=window.end)
    clipped_start = start if window.start is None else start.clip(lower=window.start)
    return clipped_start, clipped_end
