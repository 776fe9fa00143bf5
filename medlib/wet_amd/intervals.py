"""Intervals between anti-VEGF injections, per patient and eye (wet AMD).

Definitions, used by every wet AMD table:

- **Unit**: a patient-eye, i.e. one ``(trust_code, patient_id, eye)``. A course at another
  trust is another unit. Injections whose eye is missing (or records with no ``eye`` column)
  form one unit per patient, which mixes the eyes of a patient treated in both: an extract
  should carry the eye.
- **Order**: a unit's injections in date order (same-day ties by product, then cost), numbered
  from 1.
- **Loading phase**: injections 1 to 3 (``loading_doses``); injections 4 onwards are
  maintenance.
- **Interval**: days from the unit's previous injection, and weeks as days / 7. A
  **maintenance interval** is one ending at a maintenance injection, so the first one runs from
  injection 3 to injection 4.
- **Latest interval**: a unit's last maintenance interval (units with 3 injections or fewer
  have none). A patient's latest interval is the shortest latest interval among their eyes in
  maintenance: they attend as often as their most demanding eye needs.
- **Bands** (:data:`BANDS`): under 6, 6 to under 8, 8 to under 10, 10 to under 12, 12 to under
  16, and 16 weeks or more, compared in whole days (8 weeks is 56 days).

The grouping runs in the query engine (:mod:`medlib.engine`, DuckDB by default); only results
come back to pandas.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from medlib.wet_amd import _records

__all__ = [
    "BANDS",
    "LOADING_DOSES",
    "THRESHOLD_WEEKS",
    "INTERVAL_COLUMNS",
    "band_of",
    "injection_intervals",
]

LOADING_DOSES = 3
#: Weeks a latest interval is compared with (``at least``).
THRESHOLD_WEEKS = (8, 12, 16)
#: ``(column suffix, label, lowest day, first day above)``; None for an open end.
BANDS: tuple[tuple[str, str, int | None, int | None], ...] = (
    ("under_6w", "under 6 weeks", None, 42),
    ("6_to_8w", "6 to under 8 weeks", 42, 56),
    ("8_to_10w", "8 to under 10 weeks", 56, 70),
    ("10_to_12w", "10 to under 12 weeks", 70, 84),
    ("12_to_16w", "12 to under 16 weeks", 84, 112),
    ("16w_plus", "16 weeks or more", 112, None),
)
INTERVAL_COLUMNS = [
    "trust_code",
    "patient_id",
    "eye",
    "activity_date",
    "molecule",
    "product",
    "cost_gbp",
    "injection_number",
    "phase",
    "interval_days",
    "interval_weeks",
    "is_latest",
]


def band_of(days: int) -> str:
    """The band (:data:`BANDS`) an interval of ``days`` falls in.

    Example:
        >>> [band_of(d) for d in (41, 42, 56, 83, 84, 112)]
        ['under_6w', '6_to_8w', '8_to_10w', '10_to_12w', '12_to_16w', '16w_plus']
    """
    # Bands are in order and the first has no lower end: the first upper end above wins.
    return next(name for name, _, _, hi in BANDS if hi is None or days < hi)


def interval_expr(table: Any, loading_doses: int = LOADING_DOSES) -> Any:
    """Ibis expression: each injection with its number, interval and phase.

    Args:
        table: Prepared records (``day`` as whole days) registered with the engine.
        loading_doses: Injections in the loading phase.

    Returns:
        The table's columns plus ``injection_number`` (from 1), ``interval_days`` (null for
        a unit's first injection), ``eye_injections``, ``eye_first_day``, ``maintenance`` and
        ``is_latest`` (the unit's last injection).
    """
    import ibis

    keys = [table.trust_code, table.patient_id, table.eye]
    ordered = ibis.window(group_by=keys, order_by=[table.day, table.product, table.cost_gbp])
    whole = ibis.window(group_by=keys)
    t = table.mutate(
        injection_number=ibis.row_number().over(ordered) + 1,
        interval_days=table.day - table.day.lag().over(ordered),
        eye_injections=table.day.count().over(whole),
        eye_first_day=table.day.min().over(whole),
    )
    return t.mutate(
        maintenance=t.injection_number > loading_doses,
        is_latest=t.injection_number == t.eye_injections,
    )


def injection_intervals(
    records: pd.DataFrame, *, loading_doses: int = LOADING_DOSES, backend: str = "duckdb"
) -> pd.DataFrame:
    """Every injection with its place in its patient-eye's course and the interval before it.

    Patient level: for analysts and tests, never a lead-facing table.

    Args:
        records: Injection rows with ``trust_code, patient_id, activity_date, molecule,
            product, cost_gbp`` and, when known, ``eye`` (without it, one unit per patient).
        loading_doses: Injections in the loading phase (3).
        backend: Query engine, ``duckdb`` (default) or ``pyspark``.

    Returns:
        :data:`INTERVAL_COLUMNS`, one row per injection sorted by trust, patient, eye and
        injection number: ``injection_number`` from 1, ``phase`` (``loading`` or
        ``maintenance``), ``interval_days`` (nullable integer; missing for the first
        injection), ``interval_weeks`` (days / 7) and ``is_latest`` (the unit's last
        injection; its interval is the latest interval when its phase is maintenance).

    Example:
        >>> rows = pd.DataFrame({
        ...     "trust_code": "RTD", "patient_id": "p1", "eye": "left", "molecule": "aflibercept",
        ...     "product": "Eylea", "cost_gbp": 816.0,
        ...     "activity_date": pd.to_datetime(
        ...         ["2024-01-01", "2024-01-29", "2024-02-26", "2024-04-22", "2024-07-15"]),
        ... })
        >>> out = injection_intervals(rows)
        >>> out["interval_weeks"].tolist()[1:], out["phase"].tolist()[2:4]
        ([4.0, 4.0, 8.0, 12.0], ['loading', 'maintenance'])
    """
    loading_doses = _records.check_loading(loading_doses)
    prepared = _records.prepare(records)
    _, table = _records.register(prepared, backend, "wet_amd_injections")
    t = interval_expr(table, loading_doses)
    out = t.select(
        "trust_code",
        "patient_id",
        "eye",
        "day",
        "molecule",
        "product",
        "cost_gbp",
        "injection_number",
        "interval_days",
        "maintenance",
        "is_latest",
    ).to_pandas()
    out = out.sort_values(
        ["trust_code", "patient_id", "eye", "injection_number"], kind="mergesort", ignore_index=True
    )
    out["activity_date"] = _records.as_dates(out["day"])
    out["injection_number"] = out["injection_number"].astype("int64")
    out["interval_days"] = out["interval_days"].astype("Int64")
    out["interval_weeks"] = out["interval_days"].astype("float64") / 7
    out["phase"] = out["maintenance"].map({True: "maintenance", False: "loading"})
    out["is_latest"] = out["is_latest"].astype(bool)
    out["cost_gbp"] = out["cost_gbp"].astype("float64")
    return out[INTERVAL_COLUMNS]
