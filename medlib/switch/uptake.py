"""Best-value uptake: new and existing patients, targets, time to switch, switch-backs.

Definitions (the same for every molecule; ``docs/switches.md`` explains them for users):

* **Months since launch**: calendar months counted from the launch month, which is month 0.
* **New patient**: a patient (within one trust) whose first dose of the molecule is on or after
  the launch date. They count in the month of that first dose, and are *started on best value*
  if that first dose is a best-value brand.
* **Existing patient**: a patient whose first dose is before the launch date. At the end of
  each month an existing patient is *on treatment* if their latest dose up to then is less than
  ``active_window_days`` before the month end, and *on best value* if that latest dose is a
  best-value brand (a day with several brands counts as best value only if all are).
* **New-patient target**: measured over all new patients who started from the horizon month
  (``new_months`` after launch) to the latest month of data.
* **Existing-patient target**: measured at the end of the horizon month
  (``existing_months`` after launch).
* **Status**: ``met`` when on-best-value >= target x patients, ``not met`` otherwise,
  ``not yet due`` while the data end before the horizon month, ``no patients`` when the
  denominator is 0. The **gap** is the number of further patients needed on best value:
  ``max(0, ceil(target x patients) - on_best_value)``.

All functions take the canonical ``hcd_activity`` table and return pandas frames with raw
counts. Counts are for analysts; anything shown to leads goes through
:mod:`medlib.present.disclosure` first (see :mod:`medlib.switch.report`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from medlib.present.wording import format_month_short
from medlib.switch.definitions import SwitchDefinition, TargetProfile
from medlib.validation import require_columns

__all__ = [
    "brand_quantities",
    "brand_quantity_share",
    "count_switch_backs",
    "data_through",
    "existing_patient_uptake",
    "molecule_activity",
    "month_start",
    "months_since",
    "new_patient_uptake",
    "patient_cohorts",
    "switch_backs",
    "target_status",
    "time_to_switch",
    "time_to_switch_distribution",
    "vmp_proxy_share",
]

ACTIVITY_COLUMNS = ["patient_id", "trust_code", "activity_date", "molecule", "product"]
_KEY = ["trust_code", "patient_id"]


def months_since(dates: pd.Series | pd.DatetimeIndex, launch_month: pd.Timestamp) -> np.ndarray:
    """Whole calendar months from ``launch_month`` to each date (launch month = 0).

    Example:
        >>> months_since(pd.Series(pd.to_datetime(["2018-10-31", "2019-01-01"])),
        ...              pd.Timestamp("2018-10-16")).tolist()
        [0, 3]
    """
    d = pd.DatetimeIndex(dates)
    launch = pd.Timestamp(launch_month)
    return np.asarray((d.year - launch.year) * 12 + (d.month - launch.month), dtype="int64")


def month_start(launch: pd.Timestamp | object, index: int | np.ndarray) -> pd.DatetimeIndex:
    """First day of the month ``index`` months after the month of ``launch``."""
    base = pd.Timestamp(launch).to_period("M")
    idx = np.atleast_1d(np.asarray(index, dtype="int64"))
    return pd.PeriodIndex([base + int(i) for i in idx], freq="M").to_timestamp()


_CLASS_CODES = {"best_value": 0, "other": 1, "originator": 2}
# Ordered so that the maximum over one day's brands is that day's class: best value only if
# every brand that day is best value, otherwise originator if any brand is the originator.
_CLASS_NAMES = np.array(["best_value", "other", "originator"], dtype=object)


def molecule_activity(activity: pd.DataFrame, definition: SwitchDefinition) -> pd.DataFrame:
    """Rows for the definition's molecule with ``product_class`` and a patient key added.

    ``product_class`` is ``best_value``, ``originator`` or ``other`` (a brand in neither list);
    ``patient_key`` numbers each (trust, patient) pair 0, 1, 2, ... so later steps group on
    integers rather than text.
    """
    require_columns(activity, ACTIVITY_COLUMNS, "hcd_activity")
    rows = activity.loc[activity["molecule"] == definition.molecule, ACTIVITY_COLUMNS]
    dates = pd.to_datetime(rows["activity_date"]).dt.normalize().astype("datetime64[ns]")
    product_index, products = pd.factorize(rows["product"], sort=True)
    lookup = np.array([_CLASS_CODES[definition.product_class(p)] for p in products], dtype="int64")
    class_code = lookup[product_index] if len(rows) else np.zeros(0, dtype="int64")
    key = (
        rows.groupby(_KEY, sort=False, observed=True).ngroup().to_numpy(dtype="int64")
        if len(rows)
        else np.zeros(0, dtype="int64")
    )
    return rows.assign(
        activity_date=dates,
        class_code=class_code,
        product_class=_CLASS_NAMES[class_code],
        product_rank=product_index,
        patient_key=key,
    )


def _patients(rows: pd.DataFrame) -> pd.DataFrame:
    """``patient_key, trust_code, patient_id``, indexed and sorted by key."""
    out = rows.drop_duplicates("patient_key")[["patient_key", *_KEY]]
    return out.set_index("patient_key", drop=False).sort_index()


def _patient_days(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per patient-day with the day's class code, sorted by patient then date."""
    frame = pd.DataFrame(
        {
            "patient_key": rows["patient_key"].to_numpy(),
            "activity_date": rows["activity_date"].to_numpy(),
            "class_code": rows["class_code"].to_numpy(),
        }
    )
    return (
        frame.groupby(["patient_key", "activity_date"], sort=True)["class_code"].max().reset_index()
    )


def data_through(activity: pd.DataFrame, definition: SwitchDefinition) -> pd.Timestamp | None:
    """First day of the latest month with any activity for the molecule (None if there is none)."""
    rows = activity[activity["molecule"] == definition.molecule]
    if rows.empty:
        return None
    return pd.Timestamp(rows["activity_date"].max()).to_period("M").to_timestamp()


def _through_index(
    rows: pd.DataFrame, definition: SwitchDefinition, through: object | None
) -> int | None:
    if through is not None:
        end = pd.Timestamp(through)
    elif rows.empty:
        return None
    else:
        end = rows["activity_date"].max()
    return int(months_since(pd.Series([end]), pd.Timestamp(definition.launch_month))[0])


def _trust_list(rows: pd.DataFrame, trusts: list[str] | None) -> list[str]:
    return sorted(rows["trust_code"].unique().tolist()) if trusts is None else list(trusts)


def _scope(
    activity: pd.DataFrame,
    definition: SwitchDefinition,
    through: object | None,
    trusts: list[str] | None,
) -> tuple[pd.DataFrame, int, list[str]] | None:
    """The molecule's rows, the last month index and the trusts to report.

    None when there is nothing to report: no activity and no ``through``, a ``through`` before
    launch, or no trusts.
    """
    rows = molecule_activity(activity, definition)
    last = _through_index(rows, definition, through)
    trust_list = _trust_list(rows, trusts)
    if last is None or last < 0 or not trust_list:
        return None
    return rows, last, trust_list


def _uptake_columns(cohort: str) -> list[str]:
    return [
        "trust_code",
        "year_month",
        "months_since_launch",
        f"{cohort}_patients",
        f"{cohort}_best_value",
        f"pct_{cohort}_best_value",
    ]


def patient_cohorts(activity: pd.DataFrame, definition: SwitchDefinition) -> pd.DataFrame:
    """One row per patient within a trust: first dose, first product and cohort.

    Returns:
        Columns ``trust_code, patient_id, first_date, first_product, first_class, last_date,
        cohort`` where cohort is ``new`` (first dose on or after launch) or ``existing``;
        ``first_class`` is best value only if every brand on the first day is.
    """
    columns = [*_KEY, "first_date", "first_product", "first_class", "last_date", "cohort"]
    rows = molecule_activity(activity, definition)
    if rows.empty:
        return pd.DataFrame(columns=columns)
    return _cohorts(rows, definition)[columns]


def _cohorts(rows: pd.DataFrame, definition: SwitchDefinition) -> pd.DataFrame:
    days = _patient_days(rows)
    first = days.drop_duplicates("patient_key", keep="first").set_index("patient_key")
    last = days.drop_duplicates("patient_key", keep="last").set_index("patient_key")
    order = np.lexsort(
        (
            rows["product_rank"].to_numpy(),
            rows["activity_date"].to_numpy(),
            rows["patient_key"].to_numpy(),
        )
    )
    first_rows = (
        rows[["patient_key", "product"]]
        .iloc[order]
        .drop_duplicates("patient_key")
        .set_index("patient_key")
    )
    out = _patients(rows)
    out["first_date"] = first["activity_date"]
    out["first_product"] = first_rows["product"]
    out["first_class"] = _CLASS_NAMES[first["class_code"].to_numpy()]
    out["last_date"] = last["activity_date"]
    launch = pd.Timestamp(definition.launch_date)
    out["cohort"] = np.where(out["first_date"] >= launch, "new", "existing")
    return out.sort_values(_KEY, ignore_index=True)


def new_patient_uptake(
    activity: pd.DataFrame,
    definition: SwitchDefinition,
    through: object | None = None,
    trusts: list[str] | None = None,
) -> pd.DataFrame:
    """Per trust and month since launch: new patients and how many started on best value.

    Args:
        activity: ``hcd_activity`` rows (any molecules; others are ignored).
        definition: The switch.
        through: Last month to report (default: the latest month with activity).
        trusts: Trusts to report (default: those with activity for the molecule); a trust
            with no activity gets zero counts.

    Returns:
        Columns ``trust_code, year_month, months_since_launch, new_patients, new_best_value,
        pct_new_best_value`` (percentage 0-100; NaN when there are no new patients).
    """
    columns = _uptake_columns("new")
    scope = _scope(activity, definition, through, trusts)
    if scope is None:
        return pd.DataFrame(columns=columns)
    rows, last, trust_list = scope
    cohorts = _cohorts(rows, definition)
    new = cohorts[cohorts["cohort"] == "new"].copy()
    new["months_since_launch"] = months_since(
        new["first_date"], pd.Timestamp(definition.launch_month)
    )
    new["is_bv"] = new["first_class"] == "best_value"
    counts = new.groupby(["trust_code", "months_since_launch"]).agg(
        new_patients=("patient_id", "size"), new_best_value=("is_bv", "sum")
    )
    return _monthly_grid(counts, trust_list, last, definition, "new")[columns]


def _monthly_grid(
    counts: pd.DataFrame,
    trust_list: list[str],
    last: int,
    definition: SwitchDefinition,
    cohort: str,
) -> pd.DataFrame:
    """Counts on a full trust x months-since-launch grid, with the best-value percentage.

    Months with no patients are rows of zeros (and a missing percentage), so every trust has
    every month from launch to ``last``.
    """
    grid = pd.MultiIndex.from_product(
        [trust_list, range(last + 1)], names=["trust_code", "months_since_launch"]
    )
    out = counts.reindex(grid, fill_value=0).reset_index()
    patients, best_value = f"{cohort}_patients", f"{cohort}_best_value"
    out[patients] = out[patients].astype("int64")
    out[best_value] = out[best_value].astype("int64")
    out[f"pct_{cohort}_best_value"] = _pct(out[best_value], out[patients])
    out["year_month"] = month_start(definition.launch_month, out["months_since_launch"])
    return out


def _pct(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    num = numerator.astype("float64")
    den = denominator.astype("float64")
    return (100.0 * num / den.where(den > 0)).astype("float64")


def existing_patient_uptake(
    activity: pd.DataFrame,
    definition: SwitchDefinition,
    through: object | None = None,
    trusts: list[str] | None = None,
) -> pd.DataFrame:
    """Per trust and month since launch: existing patients on treatment and on best value.

    Args:
        activity: ``hcd_activity`` rows.
        definition: The switch (its ``dosing.active_window_days`` decides "on treatment").
        through: Last month to report (default: the latest month with activity).
        trusts: Trusts to report (default: those with activity for the molecule).

    Returns:
        Columns ``trust_code, year_month, months_since_launch, existing_patients,
        existing_best_value, pct_existing_best_value``; counts are at each month end.
    """
    columns = _uptake_columns("existing")
    scope = _scope(activity, definition, through, trusts)
    if scope is None:
        return pd.DataFrame(columns=columns)
    rows, last, trust_list = scope
    days = _patient_days(rows)
    first = days.groupby("patient_key", sort=False)["activity_date"].transform("min")
    days = days[first < pd.Timestamp(definition.launch_date)].sort_values(
        "activity_date", kind="stable"
    )
    existing = days["patient_key"].drop_duplicates().to_frame()
    month_index = np.arange(last + 1)
    starts = month_start(definition.launch_month, month_index)
    ends = (starts + pd.offsets.MonthEnd(0)).astype("datetime64[ns]")
    grid = existing.merge(
        pd.DataFrame({"months_since_launch": month_index, "month_end": ends}), how="cross"
    ).sort_values("month_end", kind="stable")
    latest = pd.merge_asof(
        grid,
        days,
        left_on="month_end",
        right_on="activity_date",
        by="patient_key",
        direction="backward",
    )
    trust_of = _patients(rows)["trust_code"]
    latest["trust_code"] = trust_of.reindex(latest["patient_key"]).to_numpy()
    window = pd.Timedelta(days=definition.dosing.active_window_days)
    active = latest["activity_date"].notna() & (
        latest["activity_date"] > latest["month_end"] - window
    )
    latest["on"] = active
    latest["bv"] = active & (latest["class_code"] == _CLASS_CODES["best_value"])
    counts = latest.groupby(["trust_code", "months_since_launch"]).agg(
        existing_patients=("on", "sum"), existing_best_value=("bv", "sum")
    )
    return _monthly_grid(counts, trust_list, last, definition, "existing")[columns]


def _status(on_bv: float, patients: float, target: float, due: bool) -> tuple[str, float]:
    if not due:
        return "not yet due", math.nan
    if patients == 0:
        return "no patients", 0.0
    needed = math.ceil(target * patients - 1e-9)
    gap = max(0, needed - int(on_bv))
    return ("met" if gap == 0 else "not met"), float(gap)


TARGET_STATUS_COLUMNS = [
    "trust_code",
    "molecule",
    "group",
    "target_share",
    "target_months",
    "target_month",
    "measured",
    "patients",
    "on_best_value",
    "pct_best_value",
    "status",
    "gap_patients",
]


def target_status(
    new_uptake: pd.DataFrame,
    existing_uptake: pd.DataFrame,
    definition: SwitchDefinition,
    profile: TargetProfile | None = None,
) -> pd.DataFrame:
    """Target status per trust for new and existing patients.

    Args:
        new_uptake: From :func:`new_patient_uptake`.
        existing_uptake: From :func:`existing_patient_uptake` (same months).
        definition: The switch.
        profile: Targets to apply (default: the definition's profile).

    Returns:
        One row per trust and group (``new``, ``existing``): columns ``trust_code, molecule,
        group, target_share, target_months, target_month, measured, patients, on_best_value,
        pct_best_value, status, gap_patients``. ``measured`` says which months were counted.
    """
    require_columns(
        new_uptake,
        ["trust_code", "months_since_launch", "new_patients", "new_best_value"],
        "new-patient uptake",
    )
    require_columns(
        existing_uptake,
        ["trust_code", "months_since_launch", "existing_patients", "existing_best_value"],
        "existing-patient uptake",
    )
    profile = profile or definition.target_profile
    launch = definition.launch_month
    records = []
    trusts = sorted(set(new_uptake["trust_code"]) | set(existing_uptake["trust_code"]))
    for trust in trusts:
        new = new_uptake[new_uptake["trust_code"] == trust]
        last = int(new["months_since_launch"].max()) if len(new) else -1
        due = last >= profile.new_months
        window = new[new["months_since_launch"] >= profile.new_months]
        patients = float(window["new_patients"].sum()) if due else math.nan
        on_bv = float(window["new_best_value"].sum()) if due else math.nan
        status, gap = _status(on_bv, patients, profile.new_share, due)
        start = month_start(launch, profile.new_months)[0]
        end = month_start(launch, max(last, profile.new_months))[0]
        records.append(
            {
                "trust_code": trust,
                "group": "new",
                "target_share": profile.new_share,
                "target_months": profile.new_months,
                "target_month": start,
                "measured": (
                    f"new patients starting {format_month_short(start)} to "
                    f"{format_month_short(end)}"
                )
                if due
                else f"from {format_month_short(start)}",
                "patients": patients,
                "on_best_value": on_bv,
                "status": status,
                "gap_patients": gap,
            }
        )
        ex = existing_uptake[existing_uptake["trust_code"] == trust]
        last = int(ex["months_since_launch"].max()) if len(ex) else -1
        due = last >= profile.existing_months
        at = ex[ex["months_since_launch"] == profile.existing_months]
        patients = float(at["existing_patients"].sum()) if due else math.nan
        on_bv = float(at["existing_best_value"].sum()) if due else math.nan
        status, gap = _status(on_bv, patients, profile.existing_share, due)
        month = month_start(launch, profile.existing_months)[0]
        records.append(
            {
                "trust_code": trust,
                "group": "existing",
                "target_share": profile.existing_share,
                "target_months": profile.existing_months,
                "target_month": month,
                "measured": (
                    f"existing patients on treatment at the end of {format_month_short(month)}"
                ),
                "patients": patients,
                "on_best_value": on_bv,
                "status": status,
                "gap_patients": gap,
            }
        )
    out = pd.DataFrame.from_records(
        records,
        columns=[c for c in TARGET_STATUS_COLUMNS if c not in ("molecule", "pct_best_value")],
    )
    out["molecule"] = definition.molecule
    out["pct_best_value"] = _pct(out["on_best_value"].fillna(0), out["patients"]).where(
        out["patients"].notna()
    )
    return out[TARGET_STATUS_COLUMNS]


def time_to_switch(activity: pd.DataFrame, definition: SwitchDefinition) -> pd.DataFrame:
    """Per existing patient on treatment at launch: when they first had a best-value dose.

    Analyst-only: this is a patient-level table. "On treatment at launch" means the latest dose
    before the launch date is less than ``active_window_days`` before it.

    Returns:
        Columns ``trust_code, patient_id, first_best_value_date, months_to_switch`` (months
        since launch of the first best-value dose on or after launch; NaN if none yet).
    """
    columns = ["trust_code", "patient_id", "first_best_value_date", "months_to_switch"]
    rows = molecule_activity(activity, definition)
    if rows.empty:
        return pd.DataFrame(columns=columns)
    launch = pd.Timestamp(definition.launch_date)
    before = rows[rows["activity_date"] < launch]
    latest = before.groupby("patient_key")["activity_date"].max()
    window = pd.Timedelta(days=definition.dosing.active_window_days)
    keys = latest.index[latest > launch - window]
    after = rows[
        (rows["activity_date"] >= launch) & (rows["class_code"] == _CLASS_CODES["best_value"])
    ]
    first_bv = after.groupby("patient_key")["activity_date"].min()
    out = _patients(rows).loc[keys, _KEY].copy()
    out["first_best_value_date"] = first_bv.reindex(keys).to_numpy()
    has = out["first_best_value_date"].notna()
    out["months_to_switch"] = np.nan
    out.loc[has, "months_to_switch"] = months_since(
        out.loc[has, "first_best_value_date"], pd.Timestamp(definition.launch_month)
    )
    return out[columns].sort_values(_KEY, ignore_index=True)


def time_to_switch_distribution(
    switch_times: pd.DataFrame, definition: SwitchDefinition, through: object | None = None
) -> pd.DataFrame:
    """Cumulative share of existing patients (on treatment at launch) switched by each month.

    Args:
        switch_times: From :func:`time_to_switch`.
        definition: The switch.
        through: Last month to report (default: the latest switch month).

    Returns:
        Columns ``trust_code, months_since_launch, existing_at_launch, switched_by_month,
        pct_switched``.
    """
    require_columns(switch_times, ["trust_code", "months_to_switch"], "time-to-switch table")
    columns = [
        "trust_code",
        "months_since_launch",
        "existing_at_launch",
        "switched_by_month",
        "pct_switched",
    ]
    if switch_times.empty:
        return pd.DataFrame(columns=columns)
    if through is not None:
        last = int(
            months_since(pd.Series([pd.Timestamp(through)]), pd.Timestamp(definition.launch_month))[
                0
            ]
        )
    else:
        last = int(np.nanmax(switch_times["months_to_switch"].to_numpy(dtype=float), initial=0))
    frames = []
    for trust, group in switch_times.groupby("trust_code", sort=True):
        months = group["months_to_switch"].to_numpy(dtype=float)
        index = np.arange(last + 1)
        switched = np.array([(months <= m).sum() for m in index], dtype="int64")
        frames.append(
            pd.DataFrame(
                {
                    "trust_code": trust,
                    "months_since_launch": index,
                    "existing_at_launch": len(group),
                    "switched_by_month": switched,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["pct_switched"] = _pct(out["switched_by_month"], out["existing_at_launch"])
    return out[columns]


def switch_backs(activity: pd.DataFrame, definition: SwitchDefinition) -> pd.DataFrame:
    """Patients who had a best-value dose and later an originator dose. Analyst-only.

    Returns:
        Columns ``trust_code, patient_id, cohort, best_value_product, first_best_value_date,
        originator_product, switch_back_date`` (the first originator dose after the first
        best-value dose), sorted by trust and date.
    """
    columns = [
        "trust_code",
        "patient_id",
        "cohort",
        "best_value_product",
        "first_best_value_date",
        "originator_product",
        "switch_back_date",
    ]
    rows = molecule_activity(activity, definition)
    if rows.empty:
        return pd.DataFrame(columns=columns)
    ordered = rows.sort_values(["activity_date", "product_rank"], kind="stable")
    bv = ordered[ordered["class_code"] == _CLASS_CODES["best_value"]]
    first_bv = bv.drop_duplicates("patient_key").set_index("patient_key")
    orig = ordered[ordered["class_code"] == _CLASS_CODES["originator"]]
    since = first_bv["activity_date"].reindex(orig["patient_key"]).to_numpy()
    later = orig[orig["activity_date"].to_numpy() > since]
    back = later.drop_duplicates("patient_key").set_index("patient_key")
    if back.empty:
        return pd.DataFrame(columns=columns)
    keys = back.index
    out = _patients(rows).loc[keys, _KEY].copy()
    out["best_value_product"] = first_bv.loc[keys, "product"].to_numpy()
    out["first_best_value_date"] = first_bv.loc[keys, "activity_date"].to_numpy()
    out["originator_product"] = back["product"].to_numpy()
    out["switch_back_date"] = back["activity_date"].to_numpy()
    cohorts = _cohorts(rows, definition)[[*_KEY, "cohort"]]
    out = out.merge(cohorts, on=_KEY, how="left")
    return out[columns].sort_values(
        ["trust_code", "switch_back_date", "patient_id"], ignore_index=True
    )


def count_switch_backs(
    activity: pd.DataFrame, definition: SwitchDefinition, trusts: list[str] | None = None
) -> pd.DataFrame:
    """Number of patients per trust who switched back to the originator (raw counts).

    Returns:
        Columns ``trust_code, patients_switched_back``.
    """
    backs = switch_backs(activity, definition)
    rows = molecule_activity(activity, definition)
    trust_list = _trust_list(rows, trusts)
    counts = backs.groupby("trust_code").size().reindex(trust_list, fill_value=0)
    return pd.DataFrame(
        {"trust_code": trust_list, "patients_switched_back": counts.to_numpy(dtype="int64")}
    )


def brand_quantities(activity: pd.DataFrame, molecule: str | None = None) -> pd.DataFrame:
    """Aggregate patient-level activity to brand quantities per trust and month.

    This is the shape of data a trust has when only aggregated brand-level dispensing is
    available (no patient identifiers).

    Returns:
        Columns ``trust_code, year_month, molecule, product, quantity``.
    """
    require_columns(
        activity, ["trust_code", "activity_date", "molecule", "product", "quantity"], "hcd_activity"
    )
    rows = activity if molecule is None else activity[activity["molecule"] == molecule]
    month = pd.to_datetime(rows["activity_date"]).dt.to_period("M").dt.to_timestamp()
    out = (
        rows.assign(year_month=month)
        .groupby(["trust_code", "year_month", "molecule", "product"], as_index=False)["quantity"]
        .sum()
    )
    return out


def brand_quantity_share(
    quantities: pd.DataFrame, definition: SwitchDefinition, trusts: list[str] | None = None
) -> pd.DataFrame:
    """Share of quantity on best-value brands per trust and month (product-level uptake).

    Args:
        quantities: Columns ``trust_code, year_month, product, quantity`` (and optionally
            ``molecule``, used to keep only the definition's molecule).
        definition: The switch.
        trusts: Trusts to report (default: those present).

    Returns:
        Columns ``trust_code, year_month, months_since_launch, total_quantity,
        best_value_quantity, pct_quantity_best_value`` for months from launch on.
    """
    require_columns(
        quantities, ["trust_code", "year_month", "product", "quantity"], "brand quantities"
    )
    columns = [
        "trust_code",
        "year_month",
        "months_since_launch",
        "total_quantity",
        "best_value_quantity",
        "pct_quantity_best_value",
    ]
    rows = quantities
    if "molecule" in rows.columns:
        rows = rows[rows["molecule"] == definition.molecule]
    if trusts is not None:
        rows = rows[rows["trust_code"].isin(trusts)]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows.assign(
        year_month=pd.to_datetime(rows["year_month"]).dt.to_period("M").dt.to_timestamp(),
        bv=rows["product"].map(lambda p: definition.product_class(p) == "best_value"),
    )
    rows = rows.assign(best_value_quantity=rows["quantity"].where(rows["bv"], 0.0))
    out = rows.groupby(["trust_code", "year_month"], as_index=False).agg(
        total_quantity=("quantity", "sum"), best_value_quantity=("best_value_quantity", "sum")
    )
    out["months_since_launch"] = months_since(
        out["year_month"], pd.Timestamp(definition.launch_month)
    )
    out = out[out["months_since_launch"] >= 0]
    out["pct_quantity_best_value"] = _pct(out["best_value_quantity"], out["total_quantity"])
    return out[columns].reset_index(drop=True)


def vmp_proxy_share(usage: pd.DataFrame, definition: SwitchDefinition) -> pd.DataFrame:
    """VMP-level proxy for best-value share from SCMD, where brands are not recorded.

    Quantities are converted to doses with the definition's ``vmp_proxy`` units per dose, then
    the share of doses on the "best-value-like" VMPs is taken. This is a proxy: a VMP covers
    every brand of that presentation.

    Args:
        usage: Canonical ``usage`` rows (``year_month, trust_code, vmp_code, quantity``).
        definition: A switch with a ``vmp_proxy``.

    Returns:
        Columns ``trust_code, year_month, proxy_best_value_doses, proxy_total_doses,
        pct_proxy_best_value``.

    Raises:
        ValueError: The definition has no VMP proxy.
    """
    require_columns(usage, ["year_month", "trust_code", "vmp_code", "quantity"], "usage")
    proxy = definition.vmp_proxy
    if proxy is None:
        raise ValueError(
            f"switch {definition.molecule!r} has no vmp_proxy in its definition; only "
            "molecules whose presentations separate brands have one"
        )
    per_dose = {**proxy.best_value_like, **proxy.originator_like}
    rows = usage[usage["vmp_code"].isin(per_dose)]
    columns = [
        "trust_code",
        "year_month",
        "proxy_best_value_doses",
        "proxy_total_doses",
        "pct_proxy_best_value",
    ]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    doses = rows["quantity"] / rows["vmp_code"].map(per_dose)
    rows = rows.assign(
        doses=doses,
        bv_doses=doses.where(rows["vmp_code"].isin(proxy.best_value_like), 0.0),
    )
    out = rows.groupby(["trust_code", "year_month"], as_index=False).agg(
        proxy_best_value_doses=("bv_doses", "sum"), proxy_total_doses=("doses", "sum")
    )
    out["pct_proxy_best_value"] = _pct(out["proxy_best_value_doses"], out["proxy_total_doses"])
    return out[columns]
