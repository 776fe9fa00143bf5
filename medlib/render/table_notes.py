"""What each published table holds and where its data came from, for the workbook's About sheet.

The renderer imports no report package (the reports run in notebooks), so what a workbook says
of each table is kept here, by table name:

- :data:`TABLE_DESCRIPTIONS`: one line on what the table holds; a table not listed gets
  :func:`describe`'s generic line, naming its report;
- :data:`TABLE_SOURCES`: where the figures came from, for tables that do not say it
  themselves. A table with a ``data_source`` column says it on every row, and those values
  win (they name a synthetic sample and its seed when the data are synthetic);
- :data:`TABLE_KINDS`: value kinds that differ from the shared ones of
  :mod:`medlib.present.labels` for one table (``lower_95`` is money in a forecast, a 0-1
  proportion in the spend funnel and a 0-100 percentage in the PINCER funnel).

A table is synthetic when its ``data_source`` column holds a value containing "synthetic"
(:func:`is_synthetic`); every report that can run on generated data writes that column.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from medlib.present.labels import MEASURE_VALUE_COLUMNS

__all__ = [
    "MEASURE_COLUMNS",
    "MEASURE_TABLES",
    "MEASURE_VALUE_COLUMNS",
    "SOURCE_COLUMN",
    "TABLE_DESCRIPTIONS",
    "TABLE_KINDS",
    "TABLE_SOURCES",
    "data_from",
    "describe",
    "is_synthetic",
    "report_measure",
    "table_kinds",
    "table_labels",
]

#: The column in which a report says where a table's rows came from.
SOURCE_COLUMN = "data_source"

SCMD = "NHSBSA Secondary Care Medicines Data (SCMD), indicative cost"
_SCMD_ALL_TRUSTS = "NHSBSA Secondary Care Medicines Data (SCMD), the trusts compared"
_SCMD_NATIONAL = "NHSBSA Secondary Care Medicines Data (SCMD), every trust in the data"

#: ``{table: what it holds}``, one line each, for every table the reports publish.
TABLE_DESCRIPTIONS: dict[str, str] = {
    # spend_trends
    "spend_by_financial_year": (
        "Spend per financial year for the trust, with the change on the year before."
    ),
    "usage_by_financial_year": (
        "The report's measure (spend, DDDs or quantity) per financial year, against the same "
        "months a year before."
    ),
    "monthly_spc": (
        "Each month's spend (or usage) with the SPC chart's mean, process limits and signals."
    ),
    "spend_by_molecule": (
        "Year-to-date spend by molecule against the same months last year, with each "
        "molecule's share of the total."
    ),
    "spend_by_bnf_chapter": (
        "Year-to-date spend by BNF chapter against the same months last year, with each "
        "chapter's share of the total."
    ),
    "high_cost_split": (
        "Spend per financial year split into high-cost (tariff-excluded) and in-tariff medicines."
    ),
    "top_movers": (
        "The molecules whose spend changed most between the previous and the latest 12 months."
    ),
    "forecast_outturn": (
        "This financial year's forecast outturn from each forecasting method, with 80% and 95% "
        "intervals."
    ),
    "forecast_backtest": (
        "How accurate each forecasting method was on past years, for this trust and for all trusts."
    ),
    "benchmark_percentile_ranks": (
        "Where the trust's year-to-date spend and its change rank among the trusts compared."
    ),
    "benchmark_funnel": (
        "Funnel plot data: each compared trust's proportion, year to date, with 95% and 99.8% "
        "limits."
    ),
    "outliers": (
        "The trust's molecule shares within each BNF section against its comparison group, "
        "with z-scores and an outlier flag."
    ),
    "data_quality": (
        "Checks on the trust's data rows: months missing, rows without a cost, products not in "
        "the reference."
    ),
    "high_cost_block_variance": ("High-cost drug spend to date against each trust's block value."),
    "efficiency_forecast": (
        "Forecast savings this financial year from loss-of-exclusivity and biosimilar-launch "
        "events, with their baselines."
    ),
    # switch_uptake
    "switch_headline": (
        "Per molecule: new and existing patients on the best-value product against target, "
        "and the saving achieved."
    ),
    "switch_uptake_monthly": (
        "Each month's share of new and existing patients (and of quantity) on the best-value "
        "product, per molecule."
    ),
    "switch_league": (
        "Trusts ranked by their share of existing patients on the best-value product, per molecule."
    ),
    "switch_savings": (
        "Savings per molecule: achieved, still to come, and forecast against realised to the "
        "data end and the year end."
    ),
    "switch_forecast_monthly": (
        "Each month's forecast, realised and target saving of each switch, with running totals."
    ),
    "switch_doac_curve": (
        "A real switch for comparison: DOAC and warfarin items in England each month, with a "
        "fitted uptake curve."
    ),
    "switch_vmp_proxy": (
        "A best-value proxy from SCMD presentations (VMP level) each month, for the trust and "
        "the median trust."
    ),
    # polypharmacy_audit
    "poly_headline": (
        "Headline polypharmacy measures for the organisation against all organisations."
    ),
    "poly_medicines_by_age": (
        "How many unique medicines patients take, by age band (share of patients in each band)."
    ),
    "poly_acb": ("Patients with a high anticholinergic burden (ACB), by age band and sex."),
    "poly_combinations": (
        "Patients on risky combinations (DAMN medicines, NSAIDs, anticoagulant plus "
        "antiplatelet, falls-risk medicines), by age band and sex."
    ),
    "poly_pincer": (
        "PINCER prescribing-safety indicators: patients flagged, against all organisations."
    ),
    "poly_pincer_funnel": (
        "Funnel plot data for one PINCER indicator: each organisation's percentage with 95% "
        "and 99.8% limits."
    ),
    "poly_data_quality": (
        "Rows read, accepted and quarantined for each table of the patient extract."
    ),
    # measures
    "measures_overview": (
        "Every measure for the trust: latest value, national median, percentile, potential "
        "for improvement and most improved, sorted by potential for improvement."
    ),
    "measures_monthly": (
        "Each measure's numerator, denominator and value per month for the trust, with the "
        "national median and the trust's percentile."
    ),
    "measures_national_percentiles": (
        "Each measure's national percentiles (deciles) per month, over the trusts compared."
    ),
    "measures_not_computed": "Measures the data cannot support, with the reason.",
    "measures_excluded_products": (
        "Products a measure selects that are used in the data but left out (no DDD per unit)."
    ),
    # wet_amd
    "amd_headline": (
        "Wet AMD headline figures for the trust beside all trusts compared: patients, latest "
        "intervals, injections per eye, cost per patient-year."
    ),
    "amd_latest_interval": (
        "Patients in maintenance whose latest interval between injections is at least 8, 12 "
        "and 16 weeks."
    ),
    "amd_interval_bands": "Maintenance intervals between anti-VEGF injections, by length.",
    "amd_injections": "Injections per eye in the first and second year of treatment.",
    "amd_cost": (
        "Cost per patient-year of anti-VEGF injections by trust, calendar year and molecule."
    ),
    "amd_cost_all_trusts": "Cost per patient-year of all trusts compared, by calendar year.",
    "amd_funnel": (
        "Each trust's share of patients whose latest interval is at least 12 weeks, with "
        "funnel limits."
    ),
}

#: ``{table: where its figures came from}`` for tables without a ``data_source`` column.
TABLE_SOURCES: dict[str, str] = {
    "measures_overview": _SCMD_NATIONAL,
    "measures_monthly": _SCMD_NATIONAL,
    "measures_national_percentiles": _SCMD_NATIONAL,
    "measures_not_computed": "The measure definitions and the products reference",
    "measures_excluded_products": _SCMD_NATIONAL + "; DDDs from the WHO ATC/DDD index",
    "spend_by_financial_year": SCMD,
    "usage_by_financial_year": SCMD,
    "monthly_spc": SCMD,
    "spend_by_molecule": SCMD,
    "spend_by_bnf_chapter": SCMD,
    "high_cost_split": SCMD + "; high-cost flags from the product reference",
    "top_movers": SCMD,
    "forecast_outturn": SCMD + "; forecasts made by this pack",
    "forecast_backtest": _SCMD_ALL_TRUSTS + "; forecasts made by this pack",
    "benchmark_percentile_ranks": _SCMD_ALL_TRUSTS,
    "benchmark_funnel": _SCMD_ALL_TRUSTS,
    "outliers": _SCMD_ALL_TRUSTS,
    "data_quality": "The data store's SCMD rows for the trust",
    "high_cost_block_variance": SCMD + "; block values from the pack's parameters",
    "efficiency_forecast": (SCMD + "; event dates from the published sources in the Source column"),
    "switch_doac_curve": (
        "NHSBSA English Prescribing Data (via OpenPrescribing): DOAC and warfarin items in "
        "England, real data"
    ),
    "switch_vmp_proxy": "NHSBSA Secondary Care Medicines Data (SCMD), VMP level, real data",
    "poly_data_quality": "The patient extract loaded for the audit",
}

#: The report's measure columns: a spend report on data without costs uses DDDs or quantity.
MEASURE_COLUMNS = ("cost_gbp", "ddds", "quantity")
#: Tables whose value columns hold the spend report's measure (pounds, DDDs or quantity).
MEASURE_TABLES = frozenset(
    {
        "usage_by_financial_year",
        "monthly_spc",
        "spend_by_molecule",
        "spend_by_bnf_chapter",
        "top_movers",
        "forecast_outturn",
        "benchmark_percentile_ranks",
    }
)
_MEASURE_UNITS = {"ddds": "DDDs", "quantity": "Quantity issued"}

#: ``{table: {column: kind}}`` where a table's column differs from the shared kinds.
TABLE_KINDS: dict[str, dict[str, str]] = {
    # The funnel's limits are 0-1 proportions, like its proportion column.
    "benchmark_funnel": {"lower_95": "share", "upper_95": "share"},
    # The PINCER funnel's limits are 0-100 percentages, like its percent column.
    "poly_pincer_funnel": {"lower_95": "percent", "upper_95": "percent"},
    # A check's value is a count of months or rows (as the spend page shows it).
    "data_quality": {"value": "count"},
    "outliers": {"numerator": "number", "denominator": "number"},
}


def describe(table: str, report: str = "") -> str:
    """One line on what ``table`` holds.

    Example:
        >>> describe("top_movers")[:40]
        'The molecules whose spend changed most b'
        >>> describe("new_table", "spend_trends")
        'A table from the spend_trends report (see its page).'
    """
    if table in TABLE_DESCRIPTIONS:
        return TABLE_DESCRIPTIONS[table]
    where = f"the {report} report" if report else "its report"
    return f"A table from {where} (see its page)."


def _source_values(frame: pd.DataFrame) -> list[str]:
    if SOURCE_COLUMN not in frame.columns:
        return []
    values = frame[SOURCE_COLUMN].dropna().astype(str).str.strip()
    return list(dict.fromkeys(v for v in values if v))


def data_from(table: str, frame: pd.DataFrame) -> str:
    """Where the table's figures came from: its ``data_source`` values, else :data:`TABLE_SOURCES`.

    Example:
        >>> data_from("switch_league", pd.DataFrame({"data_source": ["synthetic sample (seed 1)"]}))
        'synthetic sample (seed 1)'
        >>> data_from("top_movers", pd.DataFrame())[:35]
        'NHSBSA Secondary Care Medicines Dat'
    """
    values = _source_values(frame)
    if values:
        return "; ".join(values)
    return TABLE_SOURCES.get(table, "As its report's page says")


def is_synthetic(frame: pd.DataFrame) -> bool:
    """Whether a table's figures are generated: a ``data_source`` value says "synthetic".

    Example:
        >>> is_synthetic(pd.DataFrame({"data_source": ["Synthetic patients (seed 2025)"]}))
        True
        >>> is_synthetic(pd.DataFrame({"data_source": ["patient extract"]}))
        False
    """
    return any("synthetic" in value.lower() for value in _source_values(frame))


def report_measure(tables: Mapping[str, pd.DataFrame]) -> str:
    """The spend report's measure, from the column ``usage_by_financial_year`` totals.

    ``cost_gbp`` when the workbook has no such table (no spend report, or an older one).

    Example:
        >>> report_measure({"usage_by_financial_year": pd.DataFrame(columns=["ddds"])})
        'ddds'
    """
    usage = tables.get("usage_by_financial_year")
    if usage is not None:
        for column in MEASURE_COLUMNS:
            if column in usage.columns:
                return column
    return "cost_gbp"


def table_kinds(table: str, frame: pd.DataFrame, measure: str = "cost_gbp") -> dict[str, str]:
    """``{column: kind}`` for the columns of ``table`` whose kind differs from the shared one.

    Args:
        table: The table's name.
        frame: The table (only its column names are used).
        measure: The spend report's measure (:func:`report_measure`): its value columns are
            money for spend, plain numbers for DDDs or quantity.

    Example:
        >>> table_kinds("monthly_spc", pd.DataFrame(columns=["year_month", "value"]))
        {'value': 'money'}
    """
    kinds: dict[str, str] = {}
    if table in MEASURE_TABLES:
        kind = "money" if measure == "cost_gbp" else "number"
        kinds.update({c: kind for c in frame.columns if c in MEASURE_VALUE_COLUMNS})
    kinds.update(TABLE_KINDS.get(table, {}))
    return kinds


def table_labels(table: str, frame: pd.DataFrame, measure: str = "cost_gbp") -> dict[str, str]:
    """``{column: label}`` where a table's label differs from the shared one.

    The value columns of a spend report on DDDs or quantity name their unit, as on its page.

    Example:
        >>> table_labels("spend_by_molecule", pd.DataFrame(columns=["fytd"]), "ddds")
        {'fytd': 'Year to date (DDDs)'}
    """
    from medlib.present.labels import column_label

    if table not in MEASURE_TABLES or measure not in _MEASURE_UNITS:
        return {}
    unit = _MEASURE_UNITS[measure]
    return {c: f"{column_label(c)} ({unit})" for c in frame.columns if c in MEASURE_VALUE_COLUMNS}
