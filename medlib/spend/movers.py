"""Top movers: which molecules drive the change in spend between two periods.

Each molecule's contribution is its own change, ``current - previous`` (a molecule new this year
contributes all its spend, one no longer used contributes minus last year's). Contributions add
up to the total change exactly: values are rounded to whole pennies once, with the largest
remainder method so that the rounded molecule totals also add up to the rounded overall total,
and all further arithmetic is on integers.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from medlib.errors import InputError
from medlib.validation import require_columns

__all__ = ["OTHER_LABEL", "TOTAL_LABEL", "round_parts", "top_movers"]

OTHER_LABEL = "All other molecules"
TOTAL_LABEL = "Total"


def round_parts(values: pd.Series | np.ndarray, decimals: int = 2) -> np.ndarray:
    """Round values to ``decimals`` places so that the rounded parts add up to the rounded total.

    Largest remainder method: each value is rounded down, then the units still needed to reach
    the (half-up) rounded total go to the values with the largest remainders.

    Returns:
        Integers in units of ``10**-decimals`` (pennies for ``decimals=2``).

    Example:
        >>> round_parts(np.array([0.333, 0.333, 0.334]), 2).tolist()  # total 1.00
        [33, 33, 34]
    """
    x = np.asarray(values, dtype=float)
    if np.isnan(x).any():
        raise InputError("cannot round missing values; fill or drop them first")
    scale = 10**decimals
    scaled = [Decimal(repr(float(v))) * scale for v in x]
    total = sum(scaled, Decimal(0)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    floors = np.array([int(s.to_integral_value(rounding="ROUND_FLOOR")) for s in scaled], dtype=int)
    remainders = np.array([float(s - int(f)) for s, f in zip(scaled, floors, strict=True)])
    short = int(total) - int(floors.sum())
    if short:
        order = np.argsort(-remainders, kind="mergesort")[:short]
        floors[order] += 1
    return floors


def top_movers(
    df: pd.DataFrame,
    current: str,
    previous: str,
    *,
    group: str = "vtm_name",
    period: str = "financial_year",
    value: str = "cost_gbp",
    n: int = 10,
    decimals: int = 2,
) -> pd.DataFrame:
    """The groups (molecules) contributing most to the change between two periods.

    Args:
        df: Rows with ``group``, ``period`` and ``value`` (any grain; summed).
        current: The later period, e.g. ``"2023/24"``.
        previous: The earlier period, e.g. ``"2022/23"``.
        group: Column naming the molecule (or any category).
        period: Column naming the period.
        value: Column to compare (e.g. ``cost_gbp``).
        n: Number of movers to list; the rest are summed into one row.
        decimals: Rounding of values (2 = pennies).

    Returns:
        Rows ``group, previous, current, change, share_of_change_pct`` for the ``n`` largest
        absolute changes, then ``"All other molecules"`` (if any are left), then ``"Total"``.
        ``change`` of the listed rows adds up exactly to the total's ``change``.
        ``share_of_change_pct`` is each change as a percentage of the total change (missing
        when the total change is 0).

    Raises:
        InputError: Missing columns, ``n < 1``, or a period absent from the data.
    """
    require_columns(df, [group, period, value], "data for top movers")
    if n < 1:
        raise InputError(f"n must be at least 1, got {n}")
    periods = set(df[period].dropna().unique())
    absent = [p for p in (current, previous) if p not in periods]
    if absent:
        raise InputError(f"period(s) {absent} not in the data; it has {sorted(periods)}")
    data = df[df[period].isin([current, previous])]
    wide = data.pivot_table(index=group, columns=period, values=value, aggfunc="sum")
    wide = wide.reindex(columns=[previous, current]).fillna(0.0)
    scale = 10**decimals
    prev_units = round_parts(wide[previous].to_numpy(), decimals)
    curr_units = round_parts(wide[current].to_numpy(), decimals)
    table = pd.DataFrame(
        {
            group: wide.index.astype(str),
            "previous": prev_units,
            "current": curr_units,
            "change": curr_units - prev_units,
        }
    )
    order = table["change"].abs().sort_values(ascending=False, kind="mergesort").index
    table = table.loc[order].reset_index(drop=True)
    top, rest = table.iloc[:n], table.iloc[n:]
    rows = [top]
    if len(rest):
        other = rest[["previous", "current", "change"]].sum()
        rows.append(pd.DataFrame([{group: OTHER_LABEL, **other.to_dict()}]))
    total = table[["previous", "current", "change"]].sum()
    rows.append(pd.DataFrame([{group: TOTAL_LABEL, **total.to_dict()}]))
    out = pd.concat(rows, ignore_index=True)
    total_change = int(total["change"])
    if total_change:
        out["share_of_change_pct"] = out["change"].astype(float) / total_change * 100
    else:
        out["share_of_change_pct"] = np.nan
    for col in ("previous", "current", "change"):
        out[col] = out[col].astype("int64") / scale
    return out
