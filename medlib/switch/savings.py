"""Savings from best-value switches: achieved, remaining, forecast and realised.

Definitions (``docs/switches.md`` has worked examples):

* **Achieved saving** in a month = the same activity priced at the originator price per unit
  minus what was actually spent: ``quantity x originator_price - actual cost``, over rows with
  a known cost, from the launch month on.
* **Remaining opportunity** over the latest ``months`` months = the further quantity that would
  have to move to best value to reach the target share, times the difference in unit cost:
  ``max(0, target x Q - B) x max(0, c_other - c_best_value)``, where ``Q`` is all quantity,
  ``B`` best-value quantity, ``c_other`` the actual cost per unit of non-best-value quantity
  and ``c_best_value`` the actual cost per unit of best-value quantity (or, when none was
  used, the originator price less the expected reduction). Annualised x 12 / months. A trust
  already at or above the target has no remaining opportunity.
* **Programme forecast**: uptake rises linearly from 0 in the launch month to
  ``target_uptake`` ``months_to_target`` months later and stays there; each month saves
  ``monthly_quantity x uptake x originator_price x price_reduction``.
  :func:`forecast_savings` is pure and fast (no data access) so an interactive explorer can
  call it on every slider move.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from medlib.errors import MedlibError
from medlib.switch.definitions import SwitchDefinition, TargetProfile
from medlib.switch.uptake import month_start, months_since
from medlib.validation import require_columns

__all__ = [
    "FORECAST_COLUMNS",
    "SavingsInputError",
    "achieved_savings",
    "financial_year_end",
    "forecast_savings",
    "forecast_vs_realised",
    "remaining_opportunity",
    "savings_summary",
    "summarise_forecast",
    "uptake_path",
]

SAVINGS_COLUMNS = ["trust_code", "activity_date", "molecule", "product", "quantity", "cost_gbp"]
#: Columns of :func:`forecast_vs_realised`.
FORECAST_COLUMNS = [
    "year_month",
    "months_since_launch",
    "assumed_uptake",
    "realised_best_value_share",
    "forecast_saving_gbp",
    "realised_saving_gbp",
    "projected_saving_gbp",
    "cumulative_forecast_gbp",
    "cumulative_realised_gbp",
    "target_uptake",
    "target_saving_gbp",
    "cumulative_target_gbp",
]


class SavingsInputError(MedlibError, ValueError):
    """An argument to a savings calculation is out of range or inconsistent."""


def financial_year_end(month: object) -> pd.Timestamp:
    """First day of the last month (March) of the NHS financial year containing ``month``.

    Example:
        >>> financial_year_end("2020-09-01").date(), financial_year_end("2021-02-01").date()
        (datetime.date(2021, 3, 1), datetime.date(2021, 3, 1))
    """
    ts = pd.Timestamp(month)
    year = ts.year + 1 if ts.month >= 4 else ts.year
    return pd.Timestamp(year=year, month=3, day=1)


def uptake_path(
    months_since_launch: np.ndarray | list[int] | int,
    target_uptake: float,
    months_to_target: int,
) -> np.ndarray:
    """Assumed best-value share: linear from 0 at launch to ``target_uptake``, then level.

    Args:
        months_since_launch: Month numbers (launch month = 0; negative months give 0).
        target_uptake: Share reached (0-1).
        months_to_target: Months to reach it; 0 means the target applies from launch.

    Example:
        >>> uptake_path([0, 6, 12, 18], 0.8, 12).tolist()
        [0.0, 0.4, 0.8, 0.8]
    """
    m = np.asarray(months_since_launch, dtype=float)
    if months_to_target == 0:
        return np.where(m >= 0, float(target_uptake), 0.0)
    return float(target_uptake) * np.clip(m / months_to_target, 0.0, 1.0)


def _check_share(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise SavingsInputError(f"{name} must be a share between 0 and 1, got {value!r}")
    return float(value)


def forecast_savings(
    *,
    launch: object,
    monthly_quantity: float,
    originator_price_per_unit: float,
    price_reduction: float,
    target_uptake: float,
    months_to_target: int,
    end: object | None = None,
    start: object | None = None,
    target_profile: TargetProfile | None = None,
) -> pd.DataFrame:
    """Forecast monthly savings from the programme's uptake and price assumptions.

    Pure and fast: it needs no data, so it can back an interactive what-if explorer.

    Args:
        launch: Launch date (its month is month 0).
        monthly_quantity: Units used per month (the same every month).
        originator_price_per_unit: Originator price per unit, pounds.
        price_reduction: Best-value price reduction (0-1), e.g. 0.5 for biosimilars.
        target_uptake: Best-value share reached (0-1), e.g. 0.8.
        months_to_target: Months after launch at which ``target_uptake`` is reached.
        end: Last month (default: the end of the financial year containing ``start``).
        start: First month (default: the launch month).
        target_profile: If given, also the saving if uptake followed the national
            existing-patient target (linear to its share by its horizon).

    Returns:
        One row per month: ``year_month, months_since_launch, assumed_uptake,
        forecast_saving_gbp, cumulative_forecast_gbp`` and, with a target profile,
        ``target_uptake, target_saving_gbp, cumulative_target_gbp``.

    Raises:
        SavingsInputError: A share outside 0-1, a negative quantity or price, or an end
            before the start.

    Example:
        >>> f = forecast_savings(launch="2024-04-01", monthly_quantity=100,
        ...     originator_price_per_unit=10.0, price_reduction=0.5, target_uptake=0.8,
        ...     months_to_target=4, end="2024-07-01")
        >>> f["forecast_saving_gbp"].round(2).tolist()
        [0.0, 100.0, 200.0, 300.0]
    """
    price_reduction = _check_share(price_reduction, "price_reduction")
    target_uptake = _check_share(target_uptake, "target_uptake")
    if (
        isinstance(months_to_target, bool)
        or not isinstance(months_to_target, int | np.integer)
        or months_to_target < 0
    ):
        raise SavingsInputError(
            f"months_to_target must be a whole number of months >= 0, got {months_to_target!r}"
        )
    if not isinstance(monthly_quantity, int | float | np.number) or not monthly_quantity >= 0:
        raise SavingsInputError(f"monthly_quantity must be >= 0, got {monthly_quantity!r}")
    if (
        not isinstance(originator_price_per_unit, int | float | np.number)
        or not originator_price_per_unit > 0
    ):
        raise SavingsInputError(
            f"originator_price_per_unit must be > 0, got {originator_price_per_unit!r}"
        )
    try:
        launch_month = pd.Timestamp(launch).to_period("M").to_timestamp()
        first = (
            pd.Timestamp(start).to_period("M").to_timestamp() if start is not None else launch_month
        )
        last = (
            pd.Timestamp(end).to_period("M").to_timestamp()
            if end is not None
            else financial_year_end(first)
        )
    except (ValueError, TypeError) as exc:
        raise SavingsInputError(f"launch, start and end must be dates: {exc}") from None
    if last < first:
        raise SavingsInputError(f"end {last:%Y-%m} is before start {first:%Y-%m}")
    lo = int(months_since(pd.Series([first]), launch_month)[0])
    hi = int(months_since(pd.Series([last]), launch_month)[0])
    m = np.arange(lo, hi + 1)
    per_switched_unit = float(monthly_quantity) * float(originator_price_per_unit) * price_reduction
    assumed = uptake_path(m, target_uptake, int(months_to_target))
    out = pd.DataFrame(
        {
            "year_month": month_start(launch_month, m),
            "months_since_launch": m,
            "assumed_uptake": assumed,
            "forecast_saving_gbp": assumed * per_switched_unit,
        }
    )
    out["cumulative_forecast_gbp"] = out["forecast_saving_gbp"].cumsum()
    if target_profile is not None:
        target = uptake_path(m, target_profile.existing_share, target_profile.existing_months)
        out["target_uptake"] = target
        out["target_saving_gbp"] = target * per_switched_unit
        out["cumulative_target_gbp"] = out["target_saving_gbp"].cumsum()
    return out


def summarise_forecast(forecast: pd.DataFrame) -> dict[str, Any]:
    """Totals of a :func:`forecast_savings` frame, for a what-if explorer or a sentence."""
    out: dict[str, Any] = {
        "months": len(forecast),
        "first_month": forecast["year_month"].min() if len(forecast) else None,
        "last_month": forecast["year_month"].max() if len(forecast) else None,
        "forecast_gbp": float(forecast["forecast_saving_gbp"].sum()),
    }
    if "target_saving_gbp" in forecast.columns:
        out["target_gbp"] = float(forecast["target_saving_gbp"].sum())
        out["forecast_minus_target_gbp"] = out["forecast_gbp"] - out["target_gbp"]
    return out


def _molecule_rows(activity: pd.DataFrame, definition: SwitchDefinition) -> pd.DataFrame:
    require_columns(activity, SAVINGS_COLUMNS, "hcd_activity")
    rows = activity.loc[activity["molecule"] == definition.molecule, SAVINGS_COLUMNS]
    month = pd.to_datetime(rows["activity_date"]).dt.to_period("M").dt.to_timestamp()
    product_index, products = pd.factorize(rows["product"])
    is_bv = np.array([definition.product_class(p) == "best_value" for p in products], dtype=bool)
    return rows.assign(
        year_month=month.astype("datetime64[ns]"),
        months_since_launch=months_since(month, pd.Timestamp(definition.launch_month)),
        is_best_value=is_bv[product_index] if len(rows) else np.zeros(0, dtype=bool),
    )


def achieved_savings(
    activity: pd.DataFrame,
    definition: SwitchDefinition,
    trusts: list[str] | None = None,
    through: object | None = None,
) -> pd.DataFrame:
    """Monthly achieved savings per trust from the launch month on.

    Args:
        activity: ``hcd_activity`` rows.
        definition: The switch (its originator price per unit is the comparator).
        trusts: Trusts to report (default: those with activity); no activity gives zeros.
        through: Last month (default: the latest month with activity for the molecule).

    Returns:
        Columns ``trust_code, year_month, months_since_launch, quantity,
        best_value_quantity, actual_cost_gbp, originator_cost_gbp, saving_gbp,
        rows_without_cost``. Quantities and costs count rows with a known cost only;
        ``rows_without_cost`` says how many were left out.
    """
    rows = _molecule_rows(activity, definition)
    columns = [
        "trust_code",
        "year_month",
        "months_since_launch",
        "quantity",
        "best_value_quantity",
        "actual_cost_gbp",
        "originator_cost_gbp",
        "saving_gbp",
        "rows_without_cost",
    ]
    trust_list = sorted(rows["trust_code"].unique().tolist()) if trusts is None else list(trusts)
    if through is not None:
        last = int(
            months_since(pd.Series([pd.Timestamp(through)]), pd.Timestamp(definition.launch_month))[
                0
            ]
        )
    elif len(rows):
        last = int(rows["months_since_launch"].max())
    else:
        last = -1
    if last < 0 or not trust_list:
        return pd.DataFrame(columns=columns)
    rows = rows[(rows["months_since_launch"] >= 0) & (rows["months_since_launch"] <= last)]
    known = rows["cost_gbp"].notna()
    priced = rows[known]
    grouped = (
        priced.assign(bvq=priced["quantity"].where(priced["is_best_value"], 0.0))
        .groupby(["trust_code", "months_since_launch"])
        .agg(
            quantity=("quantity", "sum"),
            best_value_quantity=("bvq", "sum"),
            actual_cost_gbp=("cost_gbp", "sum"),
        )
    )
    missing = rows[~known].groupby(["trust_code", "months_since_launch"]).size()
    grid = pd.MultiIndex.from_product(
        [trust_list, range(last + 1)], names=["trust_code", "months_since_launch"]
    )
    out = grouped.reindex(grid, fill_value=0.0)
    out["rows_without_cost"] = missing.reindex(grid, fill_value=0).astype("int64")
    out = out.reset_index()
    out["originator_cost_gbp"] = out["quantity"] * definition.price.originator_price_per_unit
    out["saving_gbp"] = out["originator_cost_gbp"] - out["actual_cost_gbp"]
    out["year_month"] = month_start(definition.launch_month, out["months_since_launch"])
    return out[columns]


def remaining_opportunity(
    activity: pd.DataFrame,
    definition: SwitchDefinition,
    target_share: float | None = None,
    months: int = 3,
    trusts: list[str] | None = None,
    through: object | None = None,
) -> pd.DataFrame:
    """Saving still available per trust if the best-value share reached the target.

    Args:
        activity: ``hcd_activity`` rows.
        definition: The switch.
        target_share: Target best-value share of quantity (default: the definition's
            existing-patient target, e.g. 0.8).
        months: Length of the recent period measured (default 3), ending at ``through``.
        trusts: Trusts to report (default: those with activity); no activity gives zeros.
        through: Last month (default: the latest month with activity for the molecule).

    Returns:
        One row per trust: ``trust_code, period_start, period_end, total_quantity,
        best_value_quantity, pct_quantity_best_value, target_share, gap_quantity,
        other_unit_cost_gbp, best_value_unit_cost_gbp, remaining_gbp,
        annual_remaining_gbp``.

    Raises:
        SavingsInputError: ``months`` below 1 or a target share outside 0-1.
    """
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise SavingsInputError(f"months must be a whole number >= 1, got {months!r}")
    target = _check_share(
        definition.target_profile.existing_share if target_share is None else target_share,
        "target_share",
    )
    rows = _molecule_rows(activity, definition)
    trust_list = sorted(rows["trust_code"].unique().tolist()) if trusts is None else list(trusts)
    if through is not None:
        end = pd.Timestamp(through).to_period("M").to_timestamp()
    elif len(rows):
        end = rows["year_month"].max()
    else:
        end = None
    records = []
    for trust in trust_list:
        if end is None:
            period = rows.iloc[0:0]
            start = None
        else:
            start = end - pd.DateOffset(months=months - 1)
            mask = (
                (rows["trust_code"] == trust)
                & (rows["year_month"] >= start)
                & (rows["year_month"] <= end)
                & rows["cost_gbp"].notna()
            )
            period = rows[mask]
        records.append(_opportunity_row(trust, period, definition, target, months, start, end))
    return pd.DataFrame.from_records(
        records,
        columns=[
            "trust_code",
            "period_start",
            "period_end",
            "total_quantity",
            "best_value_quantity",
            "pct_quantity_best_value",
            "target_share",
            "gap_quantity",
            "other_unit_cost_gbp",
            "best_value_unit_cost_gbp",
            "remaining_gbp",
            "annual_remaining_gbp",
        ],
    )


def _opportunity_row(
    trust: str,
    period: pd.DataFrame,
    definition: SwitchDefinition,
    target: float,
    months: int,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
) -> dict[str, Any]:
    bv = period[period["is_best_value"]]
    other = period[~period["is_best_value"]]
    q_total = float(period["quantity"].sum())
    q_bv = float(bv["quantity"].sum())
    q_other = float(other["quantity"].sum())
    c_other = float(other["cost_gbp"].sum()) / q_other if q_other > 0 else math.nan
    if q_bv > 0:
        c_bv = float(bv["cost_gbp"].sum()) / q_bv
    else:
        # No best-value use yet: price it as the programme expects.
        price = definition.price
        c_bv = price.originator_price_per_unit * (1 - price.expected_reduction)
    # A tiny tolerance keeps float noise (0.8 x 100 = 80.00000000000001) from inventing a gap.
    gap = max(0.0, target * q_total - q_bv)
    gap = 0.0 if gap < 1e-9 * max(q_total, 1.0) else gap
    unit_saving = max(0.0, c_other - c_bv) if gap > 0 else 0.0
    remaining = gap * unit_saving
    return {
        "trust_code": trust,
        "period_start": start,
        "period_end": end,
        "total_quantity": q_total,
        "best_value_quantity": q_bv,
        "pct_quantity_best_value": 100.0 * q_bv / q_total if q_total > 0 else math.nan,
        "target_share": target,
        "gap_quantity": gap,
        "other_unit_cost_gbp": c_other,
        "best_value_unit_cost_gbp": c_bv,
        "remaining_gbp": remaining,
        "annual_remaining_gbp": remaining * 12.0 / months,
    }


def forecast_vs_realised(
    activity: pd.DataFrame,
    definition: SwitchDefinition,
    trust_code: str,
    profile: TargetProfile | None = None,
    baseline_months: int = 6,
    recent_months: int = 3,
) -> pd.DataFrame:
    """The programme forecast for one trust beside the savings it realised.

    The forecast volume is the trust's mean monthly quantity over the ``baseline_months``
    before launch (or, with no pre-launch activity, over the months since launch). Realised
    savings come from :func:`achieved_savings`. After the last month of data the realised line
    is projected to the financial year end at the mean of the last ``recent_months`` months.

    Returns:
        One row per month from launch to the end of the financial year containing the last
        month of data: ``year_month, months_since_launch, assumed_uptake,
        realised_best_value_share, forecast_saving_gbp, realised_saving_gbp,
        projected_saving_gbp, cumulative_forecast_gbp, cumulative_realised_gbp,
        target_uptake, target_saving_gbp, cumulative_target_gbp``. Realised columns are NaN
        after the data end; projected is NaN before it. Empty if the trust has no activity.
    """
    profile = profile or definition.target_profile
    rows = _molecule_rows(activity, definition)
    rows = rows[rows["trust_code"] == trust_code]
    if rows.empty:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    monthly = rows.groupby("months_since_launch")["quantity"].sum()
    before = monthly[(monthly.index < 0) & (monthly.index >= -baseline_months)]
    after = monthly[monthly.index >= 0]
    baseline = float(before.mean()) if len(before) else float(after.mean())
    last_month = rows["year_month"].max()
    price = definition.price
    forecast = forecast_savings(
        launch=definition.launch_month,
        monthly_quantity=baseline,
        originator_price_per_unit=price.originator_price_per_unit,
        price_reduction=price.expected_reduction,
        target_uptake=price.target_uptake,
        months_to_target=price.months_to_target,
        end=financial_year_end(last_month),
        target_profile=profile,
    )
    achieved = achieved_savings(activity, definition, trusts=[trust_code], through=last_month)
    achieved = achieved.set_index("months_since_launch")
    share = achieved["best_value_quantity"] / achieved["quantity"].where(achieved["quantity"] > 0)
    out = forecast.copy()
    out["realised_best_value_share"] = out["months_since_launch"].map(share).astype(float)
    out["realised_saving_gbp"] = (
        out["months_since_launch"].map(achieved["saving_gbp"]).astype(float)
    )
    data_end = int(months_since(pd.Series([last_month]), pd.Timestamp(definition.launch_month))[0])
    recent = achieved["saving_gbp"].loc[max(0, data_end - recent_months + 1) : data_end]
    run_rate = float(recent.mean()) if len(recent) else 0.0
    out["projected_saving_gbp"] = np.where(out["months_since_launch"] > data_end, run_rate, np.nan)
    realised_or_projected = out["realised_saving_gbp"].fillna(out["projected_saving_gbp"])
    out["cumulative_realised_gbp"] = realised_or_projected.cumsum()
    return out[FORECAST_COLUMNS]


def savings_summary(
    activity: pd.DataFrame,
    definition: SwitchDefinition,
    trusts: list[str] | None = None,
    target_share: float | None = None,
    months: int = 3,
) -> pd.DataFrame:
    """Per trust: total achieved saving since launch and the annual remaining opportunity.

    Returns:
        Columns ``trust_code, molecule, achieved_gbp, annual_remaining_gbp,
        pct_quantity_best_value, period_start, period_end``.
    """
    achieved = achieved_savings(activity, definition, trusts=trusts)
    remaining = remaining_opportunity(
        activity, definition, target_share=target_share, months=months, trusts=trusts
    )
    total = (
        achieved.groupby("trust_code")["saving_gbp"].sum()
        if len(achieved)
        else pd.Series(dtype=float)
    )
    out = remaining[
        [
            "trust_code",
            "annual_remaining_gbp",
            "pct_quantity_best_value",
            "period_start",
            "period_end",
        ]
    ].copy()
    out["achieved_gbp"] = out["trust_code"].map(total).fillna(0.0).astype(float)
    out["molecule"] = definition.molecule
    return out[
        [
            "trust_code",
            "molecule",
            "achieved_gbp",
            "annual_remaining_gbp",
            "pct_quantity_best_value",
            "period_start",
            "period_end",
        ]
    ]
