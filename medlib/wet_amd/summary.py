"""Per-trust wet AMD summary: intervals, latest-interval shares, injections per year, cost.

The definitions of units, loading, intervals, latest intervals and bands are those of
:mod:`medlib.wet_amd.intervals`; time on treatment and patient-years are those of
:mod:`medlib.wet_amd.cost`. Besides:

- **Year 1 / year 2 of treatment**: days 0-364 and 365-729 after a patient-eye's first
  injection. Injections per eye in a year are averaged over the eyes whose whole year lies on
  or before the data end (``through``), so recent starters do not pull the mean down.
- **Patients with a full year 1 / year 2**: patients whose first injection (either eye) is
  at least 364 / 729 days before the data end.

Counts here are raw, for analysts and tests; :func:`medlib.wet_amd.lead_views.lead_tables`
makes the lead-facing versions.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from medlib.wet_amd import _records
from medlib.wet_amd.cost import COVER_WEEKS, DAYS_PER_YEAR, segment_expr
from medlib.wet_amd.intervals import BANDS, LOADING_DOSES, THRESHOLD_WEEKS, interval_expr

__all__ = ["COUNT_COLUMNS", "SUMMARY_COLUMNS", "trust_summary"]

YEAR_DAYS = 365
SUMMARY_COLUMNS = [
    "trust_code",
    "patients",
    "patient_eyes",
    "injections",
    "patients_in_maintenance",
    *(f"patients_latest_{w}w_plus" for w in THRESHOLD_WEEKS),
    *(f"share_latest_{w}w_plus" for w in THRESHOLD_WEEKS),
    "eyes_in_maintenance",
    *(f"eyes_latest_{w}w_plus" for w in THRESHOLD_WEEKS),
    "maintenance_intervals",
    *(f"intervals_{name}" for name, *_ in BANDS),
    "mean_maintenance_interval_weeks",
    "patients_year1",
    "eyes_year1",
    "injections_year1_per_eye",
    "patients_year2",
    "eyes_year2",
    "injections_year2_per_eye",
    "cost_gbp",
    "patient_years",
    "cost_per_patient_year",
]

#: Columns that are not whole-number counts.
_MEASURES = {
    "trust_code",
    *(f"share_latest_{w}w_plus" for w in THRESHOLD_WEEKS),
    "mean_maintenance_interval_weeks",
    "injections_year1_per_eye",
    "injections_year2_per_eye",
    "cost_gbp",
    "patient_years",
    "cost_per_patient_year",
}
COUNT_COLUMNS = [c for c in SUMMARY_COLUMNS if c not in _MEASURES]


def _count(condition: Any) -> Any:
    return condition.fill_null(False).cast("int64").sum()


def _in_band(days: Any, lo: int | None, hi: int | None) -> Any:
    condition = days.notnull()
    if lo is not None:
        condition &= days >= lo
    if hi is not None:
        condition &= days < hi
    return condition


def trust_summary(
    records: pd.DataFrame,
    *,
    through: object | None = None,
    loading_doses: int = LOADING_DOSES,
    cover_weeks: float = COVER_WEEKS,
    backend: str = "duckdb",
) -> pd.DataFrame:
    """One row per trust: patients, interval bands, latest-interval shares, injections, cost.

    Args:
        records: Injection rows (the ``hcd_activity`` columns, with ``eye`` when known).
        through: The data end (included); default the last injection. Later rows are left out.
        loading_doses: Injections in the loading phase (3).
        cover_weeks: The most time one injection counts as on treatment (for patient-years).
        backend: Query engine, ``duckdb`` (default) or ``pyspark``.

    Returns:
        :data:`SUMMARY_COLUMNS`, sorted by trust. ``patients_latest_<w>w_plus`` counts the
        patients whose latest interval is at least w weeks (``share_`` divides by
        ``patients_in_maintenance``; missing when it is 0); ``eyes_`` columns do the same per
        patient-eye. ``intervals_<band>`` count maintenance intervals (not patients) per band.
        Means are missing where nothing is averaged.

    Example:
        >>> rows = pd.DataFrame({
        ...     "trust_code": "RTD", "patient_id": "p1", "eye": "left", "molecule": "aflibercept",
        ...     "product": "Eylea", "cost_gbp": 816.0,
        ...     "activity_date": pd.to_datetime(
        ...         ["2024-01-01", "2024-01-29", "2024-02-26", "2024-04-22", "2024-07-15"]),
        ... })
        >>> row = trust_summary(rows, through="2024-12-31").iloc[0]
        >>> [int(row[f"patients_latest_{w}w_plus"]) for w in (8, 12, 16)]
        [1, 1, 0]
        >>> int(row["intervals_8_to_10w"]), int(row["intervals_12_to_16w"])
        (1, 1)
    """
    loading_doses = _records.check_loading(loading_doses)
    cover_days = _records.check_cover(cover_weeks)
    prepared, end = _records.prepared_through(records, through)
    if prepared.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    _, table = _records.register(prepared, backend, "wet_amd_summary_injections")
    t = interval_expr(table, loading_doses)
    since_first = t.day - t.eye_first_day

    eyes = t.group_by(["trust_code", "patient_id", "eye"]).aggregate(
        first_day=t.day.min(),
        latest=t.interval_days.max(where=t.is_latest & t.maintenance),
        year1=_count(since_first < YEAR_DAYS),
        year2=_count((since_first >= YEAR_DAYS) & (since_first < 2 * YEAR_DAYS)),
    )
    full1 = eyes.first_day + (YEAR_DAYS - 1) <= end
    full2 = eyes.first_day + (2 * YEAR_DAYS - 1) <= end
    by_eyes = eyes.group_by("trust_code").aggregate(
        patient_eyes=eyes.count(),
        eyes_in_maintenance=_count(eyes.latest.notnull()),
        **{f"eyes_latest_{w}w_plus": _count(eyes.latest >= 7 * w) for w in THRESHOLD_WEEKS},
        eyes_year1=_count(full1),
        injections_year1_per_eye=eyes.year1.mean(where=full1),
        eyes_year2=_count(full2),
        injections_year2_per_eye=eyes.year2.mean(where=full2),
    )

    # The shortest latest interval of the patient's eyes: min() skips eyes still loading.
    patients = eyes.group_by(["trust_code", "patient_id"]).aggregate(
        first_day=eyes.first_day.min(), latest=eyes.latest.min()
    )
    by_patients = patients.group_by("trust_code").aggregate(
        patients=patients.count(),
        patients_in_maintenance=_count(patients.latest.notnull()),
        **{f"patients_latest_{w}w_plus": _count(patients.latest >= 7 * w) for w in THRESHOLD_WEEKS},
        patients_year1=_count(patients.first_day + (YEAR_DAYS - 1) <= end),
        patients_year2=_count(patients.first_day + (2 * YEAR_DAYS - 1) <= end),
    )

    gap = t.interval_days
    by_injections = t.group_by("trust_code").aggregate(
        injections=t.count(),
        maintenance_intervals=_count(t.maintenance),
        **{
            f"intervals_{name}": _count(t.maintenance & _in_band(gap, lo, hi))
            for name, _, lo, hi in BANDS
        },
        mean_maintenance_interval_days=gap.mean(where=t.maintenance),
        cost_gbp=t.cost_gbp.sum(),
    )
    segs = segment_expr(table, end, cover_days)
    by_time = segs.group_by("trust_code").aggregate(patient_days=segs.days.sum())

    out = by_patients.to_pandas()
    for part in (by_eyes, by_injections, by_time):
        out = out.merge(part.to_pandas(), on="trust_code", how="left")
    for col in COUNT_COLUMNS:
        out[col] = out[col].fillna(0).astype("int64")
    for w in THRESHOLD_WEEKS:
        share = out[f"patients_latest_{w}w_plus"] / out["patients_in_maintenance"]
        out[f"share_latest_{w}w_plus"] = share.where(out["patients_in_maintenance"] > 0)
    out["mean_maintenance_interval_weeks"] = out["mean_maintenance_interval_days"] / 7
    for col in ("injections_year1_per_eye", "injections_year2_per_eye", "cost_gbp"):
        out[col] = out[col].astype("float64")
    out["patient_years"] = out["patient_days"].astype("float64") / DAYS_PER_YEAR
    out["cost_per_patient_year"] = (out["cost_gbp"] / out["patient_years"]).where(
        out["patient_years"] > 0
    )
    return out.sort_values("trust_code", ignore_index=True)[SUMMARY_COLUMNS]
