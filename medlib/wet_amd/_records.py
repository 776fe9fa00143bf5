"""Checking injection records and handing them to the query engine as whole days."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from medlib.errors import InputError
from medlib.validation import require_columns

__all__: list[str] = []

#: Columns the wet AMD analyses read from injection records.
NEEDED = ["trust_code", "patient_id", "activity_date", "molecule", "product", "cost_gbp"]
#: The optional column naming the eye (``medlib.io.hcd_activity`` reads it when an extract
#: has it); without it every patient's injections are one course.
EYE = "eye"
EPOCH = np.datetime64("1970-01-01", "D")


def day_numbers(values: pd.Series) -> np.ndarray:
    """Dates as whole days since 1970-01-01 (the time of day is dropped)."""
    return pd.to_datetime(values).to_numpy().astype("datetime64[D]").astype("int64")


def as_dates(days: pd.Series) -> pd.Series:
    """Whole days since 1970-01-01 back to dates (``datetime64[ns]``)."""
    values = np.asarray(days, dtype="int64")
    return pd.Series((EPOCH + values).astype("datetime64[ns]"), index=days.index)


def prepare(records: pd.DataFrame) -> pd.DataFrame:
    """The columns the analyses need, with ``activity_date`` as whole days in ``day``.

    Working in whole days keeps every interval exact (no time zones, no float weeks) and the
    arithmetic the same on every backend.

    The ``eye`` column is optional: records without it (an ``hcd_activity`` extract that does
    not say which eye was treated) get a missing eye on every row, so each patient's injections
    form one unit.

    Raises:
        MissingColumnsError: A needed column is missing.
        InputError: A row has no date, trust or patient.
    """
    require_columns(records, NEEDED, "anti-VEGF injection records")
    if EYE not in records.columns:
        records = records.assign(**{EYE: None})
    missing = records[["trust_code", "patient_id", "activity_date"]].isna().any(axis=1)
    if missing.any():
        raise InputError(
            f"anti-VEGF injection records: {int(missing.sum())} row(s) lack a trust, patient "
            "or date; validate the table first (medlib.io.hcd_activity.validate_hcd_activity)"
        )
    out = pd.DataFrame(
        {
            "trust_code": records["trust_code"].astype(str).to_numpy(),
            "patient_id": records["patient_id"].astype(str).to_numpy(),
            # A missing eye stays missing: those injections form one unit per patient.
            "eye": records["eye"].astype(object).where(records["eye"].notna(), None).to_numpy(),
            "day": day_numbers(records["activity_date"]),
            "molecule": records["molecule"].astype(str).to_numpy(),
            "product": records["product"].astype(object).to_numpy(),
            "cost_gbp": records["cost_gbp"].astype("float64").to_numpy(),
        }
    )
    out["eye"] = out["eye"].astype(pd.StringDtype())
    out["product"] = out["product"].astype(pd.StringDtype())
    return out


def check_loading(loading_doses: int) -> int:
    """``loading_doses`` as a whole number of at least 1."""
    if isinstance(loading_doses, bool) or not isinstance(loading_doses, int) or loading_doses < 1:
        raise InputError(
            f"loading_doses must be a whole number of at least 1, got {loading_doses!r}"
        )
    return loading_doses


def check_cover(cover_weeks: float) -> int:
    """``cover_weeks`` in whole days (at least 1)."""
    days = round(float(cover_weeks) * 7)
    if days < 1:
        raise InputError(f"cover_weeks must be positive, got {cover_weeks!r}")
    return days


def through_day(prepared: pd.DataFrame, through: object | None) -> int:
    """The data end as a day number: ``through`` or else the last injection in the records."""
    if through is None:
        if prepared.empty:
            raise InputError("no injection records: give `through` or some records")
        return int(prepared["day"].max())
    try:
        stamp = pd.Timestamp(through)
    except (TypeError, ValueError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise InputError(f"through: expected a date YYYY-MM-DD, got {through!r}")
    return int(day_numbers(pd.Series([stamp]))[0])


def prepared_through(records: pd.DataFrame, through: object | None) -> tuple[pd.DataFrame, int]:
    """:func:`prepare` the records and keep those up to the data end; also return that end.

    Raises:
        InputError: As :func:`prepare` and :func:`through_day` do.
    """
    prepared = prepare(records)
    end = through_day(prepared, through)
    return prepared[prepared["day"] <= end].reset_index(drop=True), end


def register(records: pd.DataFrame, backend: str, name: str) -> tuple[Any, Any]:
    """Connect to ``backend`` and register the prepared records as table ``name``."""
    from medlib import engine  # Ibis loads here, only when something is computed

    con = engine.connect(backend)
    return con, engine.register(con, name, records)
