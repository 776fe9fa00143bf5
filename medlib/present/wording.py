"""How numbers, months and years are written on every page: one rule for each.

Money is the one formatter :func:`format_gbp`, with three roundings chosen by what the number
is: ``"prose"`` (whole pounds, millions to one decimal, for sentences), ``"whole"`` (every pound,
for tables) and ``"estimate"`` (nearest £10, or £1,000 from £10,000, for modelled savings, so an
estimate does not look more precise than it is). A negative amount is written ``-£858``, never
``£-858``; a missing one ``not available``.
"""

from __future__ import annotations

import math
from typing import Literal

import pandas as pd

from medlib.reference.financial_years import fy_label, fy_of_month

__all__ = [
    "MISSING",
    "Rounding",
    "format_count",
    "format_disclosed_pct",
    "format_financial_year",
    "format_gbp",
    "format_month",
    "format_month_short",
    "format_number",
    "format_pct",
    "is_missing",
]

#: How a missing value reads in prose and tables.
MISSING = "not available"

Rounding = Literal["prose", "whole", "pence", "estimate", "compact"]


def is_missing(value: object) -> bool:
    """Whether a value is missing (None, NaN, NaT or NA); text and other objects are not.

    Example:
        >>> is_missing(None), is_missing(float("nan")), is_missing("*"), is_missing([1])
        (True, True, False, False)
    """
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_gbp(value: float | None, rounding: Rounding = "prose") -> str:
    """Pounds as a lead reads them.

    Args:
        value: An amount in pounds (may be negative or missing).
        rounding: ``"prose"``: whole pounds below £1m, one decimal of millions from £1m;
            ``"whole"``: every pound with thousands separators; ``"pence"``: to the penny;
            ``"estimate"``: nearest £10, or nearest £1,000 from £10,000; ``"compact"``: for
            chart axes, ``£120``, ``£15k``, ``£1.5m``.

    Returns:
        The amount as text, ``not available`` when missing.

    Example:
        >>> format_gbp(1328.44), format_gbp(-857.5), format_gbp(2_450_000)
        ('£1,328', '-£858', '£2.5m')
        >>> format_gbp(2_450_000, "whole"), format_gbp(-15_400, "estimate")
        ('£2,450,000', '-£15,000')
    """
    if is_missing(value):
        return MISSING
    number = float(value)
    amount = abs(number)
    if rounding == "estimate":
        step = 1000 if amount >= 10000 else 10
        rounded = math.floor(amount / step + 0.5) * step
        return f"{'-' if number < 0 and rounded else ''}£{rounded:,.0f}"
    if rounding == "compact":
        sign = "-" if number < 0 and amount >= 0.5 else ""
        if amount >= 1e6:
            return f"{sign}£{amount / 1e6:,.1f}m"
        if amount >= 1e3:
            return f"{sign}£{amount / 1e3:,.0f}k"
        return f"{sign}£{amount:,.0f}"
    if rounding == "prose" and amount >= 1e6:
        return f"{'-' if number < 0 else ''}£{amount / 1e6:,.1f}m"
    if rounding not in ("prose", "whole", "pence"):
        raise ValueError(
            f"rounding must be 'prose', 'whole', 'pence', 'estimate' or 'compact', got {rounding!r}"
        )
    text = f"{amount:,.2f}" if rounding == "pence" else f"{amount:,.0f}"
    return f"{'-' if number < 0 and text.strip('0.') else ''}£{text}"


def format_pct(value: float | None, signed: bool = False, decimals: int = 1) -> str:
    """A percentage: ``95.2%``, or ``+12.5%`` when ``signed``; ``not available`` when missing.

    Example:
        >>> format_pct(95.24), format_pct(12.5, signed=True), format_pct(None)
        ('95.2%', '+12.5%', 'not available')
    """
    if is_missing(value):
        return MISSING
    return f"{float(value):{'+' if signed else ''}.{decimals}f}%"


def format_disclosed_pct(value: float | str | None) -> str:
    """A percentage that has been through disclosure control: ``95.2%``, or why not shown.

    Example:
        >>> format_disclosed_pct(95.23), format_disclosed_pct("*")
        ('95.2%', 'suppressed (fewer than 8 patients)')
    """
    if value == "*":
        return "suppressed (fewer than 8 patients)"
    return format_pct(value)


def format_number(value: float | None, decimals: int = 0) -> str:
    """A plain quantity with thousands separators: ``1,234``."""
    if is_missing(value):
        return MISSING
    return f"{float(value):,.{decimals}f}"


def format_count(value: int | str | None, noun: str = "patients") -> str:
    """A disclosure-controlled count in words: ``about 590 patients``, ``fewer than 8 ...``.

    Args:
        value: A count that has been through :func:`medlib.present.disclosure.disclose_count`
            (``"*"`` when suppressed).
        noun: What is counted.

    Example:
        >>> format_count(590), format_count("*"), format_count(0)
        ('about 590 patients', 'fewer than 8 patients', 'no patients')
    """
    if value == "*":
        return f"fewer than 8 {noun}"
    if is_missing(value):
        return f"an unknown number of {noun}"
    if value == 0:
        return f"no {noun}"
    return f"about {int(value):,} {noun}"


def format_month(value: object) -> str:
    """A month in full: ``March 2024``."""
    return f"{pd.Timestamp(value):%B %Y}"


def format_month_short(value: object) -> str:
    """A month for chart labels and tight text: ``Mar 2024``."""
    return f"{pd.Timestamp(value):%b %Y}"


def format_financial_year(start_year: int) -> str:
    """The NHS financial year starting in April of ``start_year``: ``2023/24``.

    Example:
        >>> format_financial_year(2023), format_financial_year(1999)
        ('2023/24', '1999/00')
    """
    return fy_label(start_year)


def format_period(period_start: object, period_end: object) -> str:
    """The period a pack covers, as a page header says it.

    Example:
        >>> format_period(None, "2024-03")
        'data to March 2024 (financial year 2023/24)'
        >>> format_period("2023-04", "2024-03")
        'April 2023 to March 2024'
    """
    if not period_end:
        return ""
    if period_start:
        return f"{format_month(str(period_start))} to {format_month(str(period_end))}"
    return (
        f"data to {format_month(str(period_end))} (financial year {fy_of_month(str(period_end))})"
    )
