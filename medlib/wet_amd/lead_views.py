"""Lead-facing wet AMD tables, every count through disclosure control, and the 12-week funnel.

Every count goes through :mod:`medlib.present.disclosure` (1-7 shown as ``*``, others rounded
to 5; percentages from the published counts; secondary suppression where counts add up to a
total), and every mean or cost per patient-year made from 1-7 patients is ``*``. What the
tables hold:

- ``amd_latest_interval``: per trust, patients, patients in maintenance and those whose
  latest interval is at least 8, 12 and 16 weeks, with their percentages. These counts are
  nested (each at most the one before), which rounding keeps in order, so none narrows
  another; no count of eyes is shown, as eyes can be at most twice the patients and that
  would narrow a ``*``.
- ``amd_interval_bands``: per trust, maintenance intervals (injections, not patients) per
  band with their percentages; the bands add up to the total, so secondary suppression runs.
- ``amd_injections``: per trust, patients with a full first (second) year of treatment and the
  mean injections per eye in that year.
- ``amd_cost``: per trust, period and molecule, patients on treatment and the cost per
  patient-year (rounded to £10); the molecules' patients add up to the all-molecules row
  when no patient changes molecule, so it is treated as a total.
- ``amd_funnel``: per trust, the share of patients in maintenance whose latest interval is at
  least 12 weeks with funnel limits (:func:`medlib.stats.peer_comparison.funnel_limits`)
  computed from the published counts, so trusts showing the same denominator show the same
  limits.
"""

from __future__ import annotations

import pandas as pd

from medlib.errors import InputError
from medlib.present import disclosure
from medlib.stats import peer_comparison
from medlib.wet_amd.cost import ALL_MOLECULES, cost_per_patient_year
from medlib.wet_amd.intervals import BANDS, LOADING_DOSES, THRESHOLD_WEEKS
from medlib.wet_amd.summary import trust_summary

__all__ = ["FUNNEL_WEEKS", "TABLES", "latest_interval_funnel", "lead_tables", "lead_tables_from"]

#: The latest-interval threshold the funnel compares trusts on.
FUNNEL_WEEKS = 12
#: Table name -> what it shows.
TABLES = {
    "amd_latest_interval": "patients whose latest interval is at least 8, 12 and 16 weeks",
    "amd_interval_bands": "maintenance intervals by length",
    "amd_injections": "injections per eye in the first and second year of treatment",
    "amd_cost": "cost per patient-year by molecule and period",
    "amd_funnel": f"patients whose latest interval is at least {FUNNEL_WEEKS} weeks, "
    "with funnel limits",
}
_LIMITS = ("lower_95", "upper_95", "lower_99.8", "upper_99.8")


def _suppressed_or_missing(count: object) -> bool:
    return count is None or count == disclosure.SUPPRESSED


def _mean(value: object, shown_n: object, decimals: int) -> float | str | None:
    """A mean over patients as shown: ``*`` when the count is, None when there are none."""
    if shown_n == disclosure.SUPPRESSED:
        return disclosure.SUPPRESSED
    if shown_n in (None, 0) or value is None or pd.isna(value):
        return None
    return round(float(value), decimals)


def _latest_interval_table(summary: pd.DataFrame) -> pd.DataFrame:
    counts = ["patients", "patients_in_maintenance"]
    counts += [f"patients_latest_{w}w_plus" for w in THRESHOLD_WEEKS]
    table = summary[["trust_code", *counts]].reset_index(drop=True)
    return disclosure.disclose_table(
        table,
        counts,
        {
            f"percent_latest_{w}w_plus": (f"patients_latest_{w}w_plus", "patients_in_maintenance")
            for w in THRESHOLD_WEEKS
        },
    ).astype(object)


def _interval_band_table(summary: pd.DataFrame) -> pd.DataFrame:
    bands = [f"intervals_{name}" for name, *_ in BANDS]
    table = summary[["trust_code", "maintenance_intervals", *bands]].reset_index(drop=True)
    return disclosure.disclose_table(
        table,
        ["maintenance_intervals", *bands],
        {f"percent_{b.removeprefix('intervals_')}": (b, "maintenance_intervals") for b in bands},
        column_groups={"maintenance_intervals": bands},
    ).astype(object)


def _injections_table(summary: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, r in summary.iterrows():
        row: dict[str, object] = {"trust_code": r["trust_code"]}
        for year in (1, 2):
            shown = disclosure.disclose_count(r[f"patients_year{year}"])
            row[f"patients_year{year}"] = shown
            row[f"injections_year{year}_per_eye"] = _mean(
                r[f"injections_year{year}_per_eye"], shown, 1
            )
        rows.append(row)
    columns = ["trust_code"] + [
        c for y in (1, 2) for c in (f"patients_year{y}", f"injections_year{y}_per_eye")
    ]
    return pd.DataFrame(rows, columns=columns, dtype=object)


def _cost_table(cost: pd.DataFrame) -> pd.DataFrame:
    columns = ["trust_code", "period", "molecule", "patients", "cost_per_patient_year"]
    if cost.empty:
        return pd.DataFrame(columns=columns).astype(object)
    table = cost[["trust_code", "period", "molecule", "patients"]].reset_index(drop=True)
    molecules = tuple(sorted(set(table["molecule"]) - {ALL_MOLECULES}))
    shown = disclosure.disclose_table(
        table,
        ["patients"],
        row_groups=[
            disclosure.RowGroup("molecule", ALL_MOLECULES, molecules, ("trust_code", "period"))
        ],
    )
    # A cost per patient-year is a mean over patients: nearest £10, '*' where they are hidden.
    shown["cost_per_patient_year"] = [
        _mean(None if pd.isna(v) else round(float(v), -1), n, 0)
        for v, n in zip(cost["cost_per_patient_year"], shown["patients"], strict=True)
    ]
    return shown[columns].astype(object)


def _published_funnel_counts(
    summary: pd.DataFrame, weeks: int
) -> tuple[peer_comparison.FunnelResult | None, pd.DataFrame]:
    """Published numerators and denominators, and the funnel over the trusts showing both.

    Limits made from raw counts differ between trusts showing the same rounded denominator
    and so give the unrounded one away; made from the published counts they tell a reader
    nothing new. Trusts with a ``*`` have no published count to use and are left out of the
    average and the over-dispersion estimate.
    """
    column = f"patients_latest_{weeks}w_plus"
    if column not in summary.columns:
        raise InputError(f"weeks must be one of {', '.join(map(str, THRESHOLD_WEEKS))}")
    shown = pd.DataFrame(
        {
            "trust_code": summary["trust_code"].to_numpy(),
            "numerator": disclosure.disclose_counts(summary[column]),
            "denominator": disclosure.disclose_counts(summary["patients_in_maintenance"]),
        },
        dtype=object,
    )
    usable = ~(
        shown["numerator"].map(_suppressed_or_missing)
        | shown["denominator"].map(_suppressed_or_missing)
        | shown["denominator"].eq(0)
    )
    if not usable.any():
        return None, shown
    result = peer_comparison.funnel_limits(
        shown.loc[usable, "numerator"].astype(float),
        shown.loc[usable, "denominator"].astype(float),
        shown.loc[usable, "trust_code"],
    )
    return result, shown


def latest_interval_funnel(
    summary: pd.DataFrame, weeks: int = FUNNEL_WEEKS
) -> peer_comparison.FunnelResult:
    """Funnel limits for the share of patients whose latest interval is at least ``weeks``.

    Built from the published counts (see the module docstring), over the trusts whose
    numerator and denominator are both shown.

    Args:
        summary: :func:`medlib.wet_amd.summary.trust_summary` output.
        weeks: 8, 12 or 16.

    Returns:
        The :class:`~medlib.stats.peer_comparison.FunnelResult`.

    Raises:
        InputError: An unknown threshold, or no trust shows both counts.
    """
    result, _ = _published_funnel_counts(summary, weeks)
    if result is None:
        raise InputError(
            f"no trust shows both its patients in maintenance and those at {weeks} weeks or "
            "more (every count is 0 or 1-7): too few to draw a funnel"
        )
    return result


def _funnel_table(summary: pd.DataFrame, weeks: int) -> pd.DataFrame:
    result, shown = _published_funnel_counts(summary, weeks)
    placed = result.table.set_index("label") if result is not None else pd.DataFrame()
    rows = []
    for _, r in shown.iterrows():
        trust, num, den = r["trust_code"], r["numerator"], r["denominator"]
        at: pd.Series | None = None
        position = "not shown"
        if result is not None and trust in placed.index:
            at, position = placed.loc[trust], placed.loc[trust, "position"]
        elif result is not None and not _suppressed_or_missing(den) and den != 0:
            at = result.limits([float(den)]).iloc[0]
        row = {
            "trust_code": trust,
            f"patients_latest_{weeks}w_plus": num,
            "patients_in_maintenance": den,
            "percent": disclosure.disclose_percentage(num, den),
        }
        for name in _LIMITS:
            row[name.replace(".", "_")] = None if at is None else round(100 * float(at[name]), 1)
        row["position"] = position
        rows.append(row)
    out = pd.DataFrame(rows, dtype=object)
    out.attrs["target_percent"] = None if result is None else round(100 * result.target, 1)
    return out


def lead_tables(
    records: pd.DataFrame,
    *,
    through: object | None = None,
    period: str = "year",
    loading_doses: int = LOADING_DOSES,
    backend: str = "duckdb",
) -> dict[str, pd.DataFrame]:
    """The lead-facing wet AMD tables (:data:`TABLES`), every count disclosed.

    Args:
        records: Injection rows (the ``hcd_activity`` columns, with ``eye`` when known) of
            every trust compared.
        through: The data end (included); default the last injection.
        period: Periods of the cost table, ``year`` or ``quarter``.
        loading_doses: Injections in the loading phase (3).
        backend: Query engine, ``duckdb`` (default) or ``pyspark``.

    Returns:
        ``{table name: table}``; cells are rounded counts, ``"*"``, or None where there is
        nothing to show. ``amd_funnel.attrs["target_percent"]`` is the funnel's centre line.
    """
    summary = trust_summary(records, through=through, loading_doses=loading_doses, backend=backend)
    cost = cost_per_patient_year(records, period=period, through=through, backend=backend)
    return lead_tables_from(summary, cost)


def lead_tables_from(summary: pd.DataFrame, cost: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """:func:`lead_tables` from a summary and a cost table already computed.

    For a caller that needs the raw summary too (the report draws the funnel from it), so the
    analysis runs once.

    Args:
        summary: :func:`medlib.wet_amd.summary.trust_summary` output.
        cost: :func:`medlib.wet_amd.cost.cost_per_patient_year` output.

    Returns:
        As :func:`lead_tables`.
    """
    return {
        "amd_latest_interval": _latest_interval_table(summary),
        "amd_interval_bands": _interval_band_table(summary),
        "amd_injections": _injections_table(summary),
        "amd_cost": _cost_table(cost),
        "amd_funnel": _funnel_table(summary, FUNNEL_WEEKS),
    }
