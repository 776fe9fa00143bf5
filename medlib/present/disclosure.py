"""Statistical disclosure control for every patient count shown to leads.

The policy is the NHS Digital HES rule (METHODS.md 2.7): counts of 1 to 7 are shown as ``*``
and every other count is rounded to the nearest 5; a percentage is suppressed when its
numerator or denominator is. Zero is a true zero and is shown. This module is the one place
that rule lives: lead-facing tables and chart labels call it, and the report guard checks for
anything that slipped past it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import pandas as pd

__all__ = [
    "POLICY",
    "SMALL_MAX",
    "SUPPRESSED",
    "disclose_count",
    "disclose_counts",
    "disclose_percentage",
    "disclose_table",
    "is_suppressed",
]

SUPPRESSED = "*"
SMALL_MAX = 7
ROUND_TO = 5
POLICY = (
    "NHS Digital HES rule: patient counts 1-7 shown as '*', all other counts rounded to the "
    "nearest 5; percentages suppressed when their numerator or denominator is suppressed."
)


def _round_half_up(value: float, base: int) -> int:
    # Python's round() is banker's rounding; the HES rule rounds halves away from zero.
    return int(math.floor(value / base + 0.5) * base)


def is_suppressed(count: float | int | None) -> bool:
    """Whether a raw count falls in the suppressed range 1-7."""
    if count is None or pd.isna(count):
        return False
    return 0 < float(count) <= SMALL_MAX


def disclose_count(count: float | int | None) -> int | str | None:
    """Apply the HES rule to one count.

    Args:
        count: A raw count of patients (or None/NaN for missing).

    Returns:
        ``"*"`` for 1-7, the count rounded to the nearest 5 otherwise, ``None`` if missing.

    Example:
        >>> [disclose_count(n) for n in (0, 3, 7, 8, 12, 13)]
        [0, '*', '*', 10, 10, 15]
    """
    if count is None or pd.isna(count):
        return None
    if count < 0:
        raise ValueError(f"a count cannot be negative, got {count}")
    if is_suppressed(count):
        return SUPPRESSED
    return _round_half_up(float(count), ROUND_TO)


def disclose_percentage(
    numerator: float | int | None, denominator: float | int | None, decimals: int = 1
) -> float | str | None:
    """A percentage computed from raw counts, suppressed when either count is.

    The percentage uses the raw counts (the rounding is for display of counts only) and is
    suppressed if the numerator or the denominator is 1-7. A zero denominator gives None.
    """
    if numerator is None or denominator is None or pd.isna(numerator) or pd.isna(denominator):
        return None
    if is_suppressed(numerator) or is_suppressed(denominator):
        return SUPPRESSED
    if denominator == 0:
        return None
    return round(100.0 * float(numerator) / float(denominator), decimals)


def disclose_counts(values: Iterable[float | int | None]) -> list[int | str | None]:
    """Apply :func:`disclose_count` to every value."""
    return [disclose_count(v) for v in values]


def disclose_table(
    df: pd.DataFrame,
    count_columns: Iterable[str],
    percentage_columns: Mapping[str, tuple[str, str]] | None = None,
    decimals: int = 1,
) -> pd.DataFrame:
    """Return a lead-facing copy of ``df`` with disclosure control applied.

    Args:
        df: Table with raw patient counts.
        count_columns: Columns holding patient counts.
        percentage_columns: ``{output_column: (numerator_column, denominator_column)}``;
            each output column is recomputed from the raw counts and suppressed as needed.
        decimals: Decimal places for percentages.

    Returns:
        A copy in which count columns and percentage columns are object columns holding
        rounded integers, ``"*"`` or None.
    """
    out = df.copy()
    percentage_columns = dict(percentage_columns or {})
    for out_col, (num_col, den_col) in percentage_columns.items():
        out[out_col] = pd.Series(
            [
                disclose_percentage(n, d, decimals)
                for n, d in zip(df[num_col], df[den_col], strict=True)
            ],
            index=df.index,
            dtype=object,
        )
    for col in count_columns:
        out[col] = pd.Series(disclose_counts(df[col]), index=df.index, dtype=object)
    return out
