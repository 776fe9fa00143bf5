"""Cost per patient-year of anti-VEGF treatment, by molecule and calendar period (wet AMD).

Definitions:

- **Time on treatment**: a patient is on treatment from each injection (either eye) until
  their next injection, for at most ``cover_weeks`` (16) weeks, and never past the data end
  (``through``, a whole day included). So a patient who stops stops counting 16 weeks after
  their last injection, and a gap longer than 16 weeks counts as 16 weeks. Time from an
  injection is credited to that injection's molecule.
- **Patient-years**: days on treatment / 365.25.
- **Cost per patient-year**: the cost of the injections given in a period / the patient-years
  in that period. Injections without a cost are left out of the cost and counted in
  ``injections_without_cost``.
- **Periods**: calendar years (``2024``) or quarters (``2024 Q1``); time is split at period
  boundaries, so a 16-week interval over a new year counts in both years.
- **Patients** in a period: patients with time on treatment in it.

The splitting and grouping run in the query engine (:mod:`medlib.engine`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from medlib.errors import InputError
from medlib.wet_amd import _records

__all__ = [
    "ALL_MOLECULES",
    "COST_COLUMNS",
    "COVER_WEEKS",
    "DAYS_PER_YEAR",
    "PERIODS",
    "cost_per_patient_year",
    "segment_expr",
]

COVER_WEEKS = 16
DAYS_PER_YEAR = 365.25
PERIODS = ("year", "quarter")
ALL_MOLECULES = "all molecules"
COST_COLUMNS = [
    "trust_code",
    "period",
    "period_start",
    "molecule",
    "patients",
    "injections",
    "injections_without_cost",
    "cost_gbp",
    "patient_years",
    "cost_per_patient_year",
]


def segment_expr(table: Any, through: int, cover_days: int) -> Any:
    """Ibis expression: each injection with the stretch of time on treatment it starts.

    Args:
        table: Prepared records (``day`` as whole days, none after ``through``).
        through: The data end (a day number, included).
        cover_days: The most time one injection covers.

    Returns:
        The table's columns plus ``end_day`` (first day not covered) and ``days`` on
        treatment.
    """
    import ibis

    keys = [table.trust_code, table.patient_id]
    ordered = ibis.window(
        group_by=keys, order_by=[table.day, table.eye, table.product, table.cost_gbp]
    )
    t = table.mutate(next_day=table.day.lead().over(ordered))
    end = ibis.least(t.next_day.fill_null(t.day + cover_days), t.day + cover_days, through + 1)
    t = t.mutate(end_day=end)
    return t.mutate(days=t.end_day - t.day)


def _periods(first: int, through: int, period: str) -> pd.DataFrame:
    freq = "Y" if period == "year" else "Q"
    span = pd.period_range(
        _records.as_dates(pd.Series([first])).iloc[0],
        _records.as_dates(pd.Series([through])).iloc[0],
        freq=freq,
    )
    starts = span.start_time.normalize()
    ends = (span + 1).start_time.normalize()
    labels = [str(p.year) if period == "year" else f"{p.year} Q{p.quarter}" for p in span]
    return pd.DataFrame(
        {
            "period": labels,
            "p_start": _records.day_numbers(pd.Series(starts)),
            "p_end": _records.day_numbers(pd.Series(ends)),
        }
    )


def cost_per_patient_year(
    records: pd.DataFrame,
    *,
    period: str = "year",
    through: object | None = None,
    cover_weeks: float = COVER_WEEKS,
    backend: str = "duckdb",
) -> pd.DataFrame:
    """Patients, injections, cost and cost per patient-year per trust, period and molecule.

    Args:
        records: Injection rows (the ``hcd_activity`` columns, with ``eye`` when known).
        period: ``year`` (calendar) or ``quarter``.
        through: The data end (included); default the last injection. Later rows are left out.
        cover_weeks: The most time one injection counts as on treatment.
        backend: Query engine, ``duckdb`` (default) or ``pyspark``.

    Returns:
        :data:`COST_COLUMNS`, one row per trust, period and molecule plus a row per trust and
        period for :data:`ALL_MOLECULES` (its patients are distinct patients, not a sum).
        ``cost_per_patient_year`` is missing where there is no time on treatment. Patient
        counts are raw: lead-facing tables disclose them
        (:func:`medlib.wet_amd.lead_views.lead_tables`).

    Example:
        >>> rows = pd.DataFrame({
        ...     "trust_code": "RTD", "patient_id": "p1", "eye": "left", "molecule": "aflibercept",
        ...     "product": "Eylea", "cost_gbp": 816.0,
        ...     "activity_date": pd.to_datetime(["2024-01-01", "2024-01-29"]),
        ... })
        >>> out = cost_per_patient_year(rows, through="2024-12-31")
        >>> out[["molecule", "injections", "cost_gbp"]].values.tolist()  # 28 + 112 days
        [['aflibercept', 2, 1632.0], ['all molecules', 2, 1632.0]]
        >>> round(out["patient_years"].iloc[0] * 365.25)
        140
    """
    if period not in PERIODS:
        raise InputError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    cover_days = _records.check_cover(cover_weeks)
    prepared, end = _records.prepared_through(records, through)
    if prepared.empty:
        return pd.DataFrame(columns=COST_COLUMNS)
    periods = _periods(int(prepared["day"].min()), end, period)

    import ibis

    con, table = _records.register(prepared, backend, "wet_amd_cost_injections")
    from medlib import engine

    spans = engine.register(con, "wet_amd_periods", periods)
    segs = segment_expr(table, end, cover_days)
    joined = segs.join(spans, [segs.day < spans.p_end, segs.end_day > spans.p_start])
    overlap = ibis.least(joined.end_day, joined.p_end) - ibis.greatest(joined.day, joined.p_start)
    timed = joined.mutate(overlap=overlap).filter(lambda t: t.overlap > 0)
    given = table.join(spans, [table.day >= spans.p_start, table.day < spans.p_end])

    def time(by: list[str]) -> pd.DataFrame:
        return (
            timed.group_by(by)
            .aggregate(patients=timed.patient_id.nunique(), patient_days=timed.overlap.sum())
            .to_pandas()
        )

    def money(by: list[str]) -> pd.DataFrame:
        return (
            given.group_by(by)
            .aggregate(
                injections=given.count(),
                injections_without_cost=given.cost_gbp.isnull().cast("int64").sum(),
                cost_gbp=given.cost_gbp.sum(),
            )
            .to_pandas()
        )

    parts = []
    for by in (["trust_code", "period", "molecule"], ["trust_code", "period"]):
        part = time(by).merge(money(by), on=by, how="outer")
        if "molecule" not in by:
            part["molecule"] = ALL_MOLECULES
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    for col in ("patients", "injections", "injections_without_cost"):
        out[col] = out[col].fillna(0).astype("int64")
    out["patient_days"] = out["patient_days"].fillna(0).astype("int64")
    out["cost_gbp"] = out["cost_gbp"].astype("float64")
    out.loc[out["injections"] == 0, "cost_gbp"] = 0.0
    out["patient_years"] = out["patient_days"] / DAYS_PER_YEAR
    out["cost_per_patient_year"] = (out["cost_gbp"] / out["patient_years"]).where(
        out["patient_days"] > 0
    )
    starts = dict(zip(periods["period"], _records.as_dates(periods["p_start"]), strict=True))
    out["period_start"] = out["period"].map(starts).astype("datetime64[ns]")
    out["_all"] = out["molecule"] == ALL_MOLECULES
    out = out.sort_values(
        ["trust_code", "period_start", "_all", "molecule"], kind="mergesort", ignore_index=True
    )
    return out[COST_COLUMNS]
