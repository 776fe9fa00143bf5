"""What a lead reads in a table: plain-English column labels with units, values by kind.

Published CSV tables keep their documented machine-readable columns (``cost_gbp``,
``pct_new_best_value``) for analysts and downstream scripts. Everything a person reads (a
report page, a PDF, a workbook sheet) goes through this module instead, so every page follows
the same rules:

- each column has a label (``Spend (£)``) and a *kind* that says how its values are written;
- money is ``£1,234`` (or ``-£450``), counts ``1,234``, percentages ``81.2%`` whether the
  column holds 0-100 (``*_pct``, ``pct_*``, ``percent``) or a 0-1 share (``share``,
  ``proportion``), months ``March 2024``, dates ``1 March 2024``, financial years ``2023/24``,
  flags ``Yes``/``No``;
- a disclosure-controlled ``*`` (or any other text in a number column) is shown as it is.

:data:`COLUMNS` names the columns the reports publish; a column not listed gets a kind from
its name (:func:`column_kind`) and a label made from its words (:func:`column_label`), so a
new table never shows a header with an underscore in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from medlib.present.wording import is_missing

__all__ = [
    "COLUMNS",
    "KINDS",
    "MEASURE_VALUE_COLUMNS",
    "Kind",
    "column_kind",
    "column_label",
    "format_value",
    "formatter",
]

Kind = Literal[
    "text",
    "code",
    "money",
    "money_pence",
    "count",
    "number",
    "rank",
    "percent",
    "share",
    "month",
    "date",
    "financial_year",
    "flag",
]

#: Every kind, for validation.
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]

#: ``{column: (label, kind)}`` for the columns the reports publish.
COLUMNS: dict[str, tuple[str, Kind]] = {
    # who and when
    "trust_code": ("Trust code", "code"),
    "trust_name": ("Trust", "text"),
    "organisation": ("Organisation", "text"),
    "financial_year": ("Financial year", "financial_year"),
    "year_month": ("Month", "month"),
    "date": ("Date", "date"),
    "launch_date": ("Launch date", "date"),
    "data_end": ("Data to", "month"),
    "year_end": ("Year end", "month"),
    "period_end": ("Period end", "month"),
    "months": ("Months", "count"),
    "months_observed": ("Months observed", "count"),
    "months_passed": ("Months passed", "count"),
    "months_remaining": ("Months remaining", "count"),
    "months_since_launch": ("Months since launch", "count"),
    "baseline_months": ("Baseline months", "count"),
    "data_source": ("Data", "text"),
    "source": ("Source", "text"),
    "note": ("Note", "text"),
    # what
    "molecule": ("Molecule", "text"),
    "bnf_chapter": ("BNF chapter", "text"),
    "bnf_section": ("BNF section", "text"),
    "level": ("Level", "text"),
    "type": ("Type", "text"),
    "event": ("Event", "text"),
    "status": ("Status", "text"),
    "check": ("Check", "text"),
    "value": ("Value", "number"),
    "detail": ("Detail", "text"),
    "label": ("Label", "text"),
    # spend
    "cost_gbp": ("Spend (£)", "money"),
    "yoy_change_gbp": ("Change on year before (£)", "money"),
    "yoy_change_pct": ("Change on year before (%)", "percent"),
    "yoy_change": ("Change on same months a year before", "money"),
    "same_months_year_before": ("Same months a year before", "money"),
    "fytd": ("Year to date", "money"),
    "same_period_last_year": ("Same period last year", "money"),
    "change": ("Change", "money"),
    "change_pct": ("Change (%)", "percent"),
    "share_pct": ("Share of total (%)", "percent"),
    "share_of_change_pct": ("Share of change (%)", "percent"),
    "previous": ("Previous 12 months", "money"),
    "current": ("Latest 12 months", "money"),
    "high_cost_gbp": ("High-cost (tariff-excluded) spend (£)", "money"),
    "in_tariff_gbp": ("In-tariff spend (£)", "money"),
    "total_gbp": ("Total spend (£)", "money"),
    "high_cost_share_pct": ("High-cost share (%)", "percent"),
    "mean": ("Mean", "money"),
    "lower_process_limit": ("Lower process limit", "money"),
    "upper_process_limit": ("Upper process limit", "money"),
    "special_cause": ("Special cause", "flag"),
    "point_type": ("Signal", "text"),
    # forecasts
    "method": ("Method code", "code"),
    "method_name": ("Method", "text"),
    "chosen": ("Default method", "flag"),
    "ytd": ("Year to date", "money"),
    "forecast": ("Forecast outturn", "money"),
    "lower_80": ("Lower 80%", "money"),
    "upper_80": ("Upper 80%", "money"),
    "lower_95": ("Lower 95%", "money"),
    "upper_95": ("Upper 95%", "money"),
    "mape_pct": ("Mean absolute error (%)", "percent"),
    "median_ape_pct": ("Median absolute error (%)", "percent"),
    "coverage_80_pct": ("80% interval coverage (%)", "percent"),
    "coverage_95_pct": ("95% interval coverage (%)", "percent"),
    "forecasts": ("Forecasts tested", "count"),
    "years_tested": ("Years tested", "count"),
    "pooled_mape_pct": ("All trusts: mean absolute error (%)", "percent"),
    "pooled_coverage_80_pct": ("All trusts: 80% coverage (%)", "percent"),
    "pooled_coverage_95_pct": ("All trusts: 95% coverage (%)", "percent"),
    "pooled_forecasts": ("All trusts: forecasts tested", "count"),
    "pooled_relative_error": ("All trusts: error relative to run rate", "number"),
    # benchmarking
    "fytd_percentile_rank": ("Percentile: year to date", "rank"),
    "change_pct_percentile_rank": ("Percentile: change", "rank"),
    "trusts_compared": ("Trusts compared", "count"),
    "numerator": ("Numerator", "number"),
    "denominator": ("Denominator", "number"),
    "proportion": ("Proportion", "share"),
    "z": ("z-score", "number"),
    "z_adjusted": ("z-score (adjusted)", "number"),
    "lower_99.8": ("Lower 99.8%", "share"),
    "upper_99.8": ("Upper 99.8%", "share"),
    "lower_99_8": ("Lower 99.8%", "percent"),
    "upper_99_8": ("Upper 99.8%", "percent"),
    "position": ("Position", "text"),
    "share": ("Share", "share"),
    "mean_share": ("Group mean share", "share"),
    "sd_share": ("Group standard deviation", "share"),
    "n_orgs": ("Trusts in group", "count"),
    "outlier": ("Outlier", "flag"),
    # efficiencies
    "baseline_monthly_cost_gbp": ("Baseline monthly spend (£)", "money"),
    "baseline_price_per_unit_gbp": ("Baseline price per unit (£)", "money_pence"),
    "price_reduction": ("Price reduction", "share"),
    "uptake_at_year_end": ("Uptake at year end", "share"),
    "forecast_year_gbp": ("Forecast for the year (£)", "money"),
    "forecast_to_date_gbp": ("Forecast to date (£)", "money"),
    "forecast_remaining_gbp": ("Forecast still to come (£)", "money"),
    "realised_to_date_gbp": ("Realised to date (£)", "money"),
    # switches
    "target_profile": ("Target profile", "text"),
    "new_target": ("New-patient target", "share"),
    "existing_target": ("Existing-patient target", "share"),
    "new_patients": ("New patients", "count"),
    "existing_patients": ("Existing patients", "count"),
    "pct_new_best_value": ("New patients on best value (%)", "percent"),
    "pct_existing_best_value": ("Existing patients on best value (%)", "percent"),
    "pct_quantity_best_value": ("Quantity as best value (%)", "percent"),
    "new_status": ("New-patient status", "text"),
    "existing_status": ("Existing-patient status", "text"),
    "new_gap_patients": ("New patients short of target", "count"),
    "existing_gap_patients": ("Existing patients short of target", "count"),
    "achieved_saving_gbp": ("Saving achieved (£)", "money"),
    "annual_remaining_gbp": ("Saving still to come, per year (£)", "money"),
    "remaining_target_share": ("Share still to switch", "share"),
    "forecast_to_data_end_gbp": ("Forecast saving to data end (£)", "money"),
    "realised_to_data_end_gbp": ("Realised saving to data end (£)", "money"),
    "forecast_to_year_end_gbp": ("Forecast saving to year end (£)", "money"),
    "realised_projected_to_year_end_gbp": ("Realised saving projected to year end (£)", "money"),
    "rank": ("Rank", "count"),
    "this_trust": ("This trust", "flag"),
    "existing_patients_latest": ("Existing patients (latest month)", "count"),
    "pct_existing_best_value_latest": ("Existing on best value, latest month (%)", "percent"),
    "existing_target_status": ("Existing-patient status", "text"),
    "new_patients_since_target": ("New patients since target date", "count"),
    "pct_new_best_value_since_target": ("New on best value since target date (%)", "percent"),
    "new_target_status": ("New-patient status", "text"),
    "patients_switched_back": ("Patients switched back", "count"),
    "assumed_uptake": ("Assumed uptake", "share"),
    "realised_best_value_share": ("Realised best-value share", "share"),
    "forecast_saving_gbp": ("Forecast saving (£)", "money"),
    "realised_saving_gbp": ("Realised saving (£)", "money"),
    "projected_saving_gbp": ("Projected saving (£)", "money"),
    "cumulative_forecast_gbp": ("Cumulative forecast (£)", "money"),
    "cumulative_realised_gbp": ("Cumulative realised (£)", "money"),
    "target_uptake": ("Target uptake", "share"),
    "target_saving_gbp": ("Target saving (£)", "money"),
    "cumulative_target_gbp": ("Cumulative target (£)", "money"),
    "doac_items": ("DOAC items", "count"),
    "warfarin_items": ("Warfarin items", "count"),
    "doac_share": ("DOAC share", "share"),
    "fitted_share": ("Fitted share", "share"),
    "fit": ("Fitted curve", "text"),
    "pct_proxy_best_value": ("Best-value share of issues (%)", "percent"),
    "pct_proxy_best_value_median_trust": ("Median trust (%)", "percent"),
    # polypharmacy
    "breakdown": ("Breakdown", "text"),
    "group": ("Group", "text"),
    "measure_key": ("Measure code", "code"),
    "measure": ("Measure", "text"),
    "denominator_description": ("Who is counted", "text"),
    "patients_flagged": ("Patients flagged", "count"),
    "patients_in_denominator": ("Patients counted", "count"),
    "percent": ("Patients flagged (%)", "percent"),
    "all_organisations_value": ("All organisations", "number"),
    "all_organisations_percent": ("All organisations (%)", "percent"),
    "unit": ("Unit", "text"),
    "age_band": ("Age band", "text"),
    "patients": ("Patients", "count"),
    "mean_medicines": ("Mean medicines per patient", "number"),
    "indicator": ("Indicator code", "code"),
    "title": ("Indicator", "text"),
    "funnel_position": ("Funnel position", "text"),
    "this_report": ("This organisation", "flag"),
    # wet AMD
    "trust": ("Trust", "text"),
    "period": ("Period", "text"),
    "patients_in_maintenance": ("Patients in maintenance", "count"),
    "patients_latest_8w_plus": ("Patients, latest interval 8 weeks or more", "count"),
    "patients_latest_12w_plus": ("Patients, latest interval 12 weeks or more", "count"),
    "patients_latest_16w_plus": ("Patients, latest interval 16 weeks or more", "count"),
    "percent_latest_8w_plus": ("Latest interval 8 weeks or more (%)", "percent"),
    "percent_latest_12w_plus": ("Latest interval 12 weeks or more (%)", "percent"),
    "percent_latest_16w_plus": ("Latest interval 16 weeks or more (%)", "percent"),
    "maintenance_intervals": ("Maintenance intervals", "count"),
    "intervals_under_6w": ("Intervals under 6 weeks", "count"),
    "intervals_6_to_8w": ("Intervals 6 to under 8 weeks", "count"),
    "intervals_8_to_10w": ("Intervals 8 to under 10 weeks", "count"),
    "intervals_10_to_12w": ("Intervals 10 to under 12 weeks", "count"),
    "intervals_12_to_16w": ("Intervals 12 to under 16 weeks", "count"),
    "intervals_16w_plus": ("Intervals 16 weeks or more", "count"),
    "percent_under_6w": ("Under 6 weeks (%)", "percent"),
    "percent_6_to_8w": ("6 to under 8 weeks (%)", "percent"),
    "percent_8_to_10w": ("8 to under 10 weeks (%)", "percent"),
    "percent_10_to_12w": ("10 to under 12 weeks (%)", "percent"),
    "percent_12_to_16w": ("12 to under 16 weeks (%)", "percent"),
    "percent_16w_plus": ("16 weeks or more (%)", "percent"),
    "patients_year1": ("Patients with a full first year", "count"),
    "patients_year2": ("Patients with a full second year", "count"),
    "injections_year1_per_eye": ("Injections per eye, first year", "number"),
    "injections_year2_per_eye": ("Injections per eye, second year", "number"),
    "cost_per_patient_year": ("Cost per patient-year (£)", "money"),
    "all_trusts_value": ("All trusts compared", "number"),
    "lower_95_pct": ("Lower 95% limit (%)", "percent"),
    "upper_95_pct": ("Upper 95% limit (%)", "percent"),
    "lower_99_8_pct": ("Lower 99.8% limit (%)", "percent"),
    "upper_99_8_pct": ("Upper 99.8% limit (%)", "percent"),
    # data quality
    "rows": ("Rows", "count"),
    "rows_without_cost": ("Rows without a cost", "count"),
    "quantity": ("Quantity", "number"),
    "ddds": ("Defined daily doses", "number"),
    # measures (OpenPrescribing Hospitals style)
    "measure_id": ("Measure code", "code"),
    "direction": ("Direction", "text"),
    "latest_month": ("Latest month", "month"),
    "value_share": ("This trust", "share"),
    "national_median_share": ("National median", "share"),
    "percent_rank": ("Percentile (0-100)", "rank"),
    "percentile_position": ("Position on national percentiles (0-100)", "number"),
    "potential_for_improvement": ("Potential for improvement (0-100)", "rank"),
    "most_improved": ("Most improved (points)", "number"),
    "window_start": ("12 months from", "month"),
    "window_end": ("12 months to", "month"),
    "reason": ("Why", "text"),
    "in_numerator": ("In numerator", "flag"),
    "percentile": ("National percentile", "rank"),
}

#: Columns of the spend report's tables that hold its measure: pounds when the measure is spend,
#: DDDs or quantities otherwise (so their kind and unit depend on the report's data).
MEASURE_VALUE_COLUMNS = frozenset(
    {
        "fytd",
        "same_period_last_year",
        "change",
        "previous",
        "current",
        "forecast",
        "lower_80",
        "upper_80",
        "lower_95",
        "upper_95",
        "ytd",
        "actual",
        "value",
        "mean",
        "lower_process_limit",
        "upper_process_limit",
        "same_months_year_before",
        "yoy_change",
    }
)

_PERCENT_NAME = re.compile(r"(^pct_|_pct$|^percent)")
_MONEY_NAME = re.compile(r"_gbp$")
_SHARE_NAME = re.compile(r"(share|proportion)$")
_COUNT_NAME = re.compile(r"(patients|items|rows|^n_|count|months)")
_DATE_NAME = re.compile(r"(_date$|^date$)")
#: Words an automatic label writes in capitals or otherwise than the title case of the word.
_WORD_FORMS = {
    "gbp": "(£)",
    "pct": "(%)",
    "bnf": "BNF",
    "ddd": "DDD",
    "ddds": "DDDs",
    "vmp": "VMP",
    "vtm": "VTM",
    "ods": "ODS",
    "spc": "SPC",
    "acb": "ACB",
    "yoy": "year-on-year",
    "fytd": "year to date",
    "id": "ID",
}


def column_label(column: object, labels: Mapping[str, str] | None = None) -> str:
    """The label a lead reads for a column.

    Args:
        column: The machine-readable column name.
        labels: Labels that win over :data:`COLUMNS` (a report's own wording).

    Returns:
        The label: from ``labels``, then :data:`COLUMNS`, then the name's words in sentence
        case with units for ``_gbp`` and ``_pct``.

    Example:
        >>> column_label("cost_gbp"), column_label("percent_0-4"), column_label("new_thing_gbp")
        ('Spend (£)', 'Percent 0-4', 'New thing (£)')
    """
    name = str(column)
    if labels and name in labels:
        return labels[name]
    if name in COLUMNS:
        return COLUMNS[name][0]
    words = [_WORD_FORMS.get(w, w) for w in re.split(r"[_\s]+", name) if w]
    units = [w for w in words if w in ("(£)", "(%)")]
    words = [w for w in words if w not in ("(£)", "(%)")]
    text = " ".join(words + units).strip() or name
    return text[:1].upper() + text[1:]


def column_kind(
    column: object, values: pd.Series | None = None, kinds: Mapping[str, str] | None = None
) -> Kind:
    """How a column's values are written.

    Args:
        column: The machine-readable column name.
        values: The column's values, used when the name says nothing (booleans are flags,
            whole numbers counts, other numbers plain numbers).
        kinds: Kinds that win over :data:`COLUMNS` (a report's own, e.g. a value column that
            holds DDDs rather than pounds).

    Example:
        >>> column_kind("yoy_change_pct"), column_kind("doac_share"), column_kind("x_gbp")
        ('percent', 'share', 'money')
    """
    name = str(column)
    if kinds and name in kinds:
        kind = kinds[name]
        if kind not in KINDS:
            raise ValueError(f"column {name!r}: kind {kind!r} is not one of {list(KINDS)}")
        return kind  # type: ignore[return-value]
    if name in COLUMNS:
        return COLUMNS[name][1]
    if _MONEY_NAME.search(name):
        return "money"
    if _PERCENT_NAME.search(name):
        return "percent"
    if _SHARE_NAME.search(name):
        return "share"
    if _DATE_NAME.search(name):
        return "date"
    if values is not None:
        if pd.api.types.is_bool_dtype(values):
            return "flag"
        if pd.api.types.is_datetime64_any_dtype(values):
            return "date"
        if pd.api.types.is_integer_dtype(values):
            return "count"
        if pd.api.types.is_numeric_dtype(values):
            return "count" if _COUNT_NAME.search(name) else "number"
    if _COUNT_NAME.search(name):
        return "count"
    return "text"


def format_value(value: Any, kind: str) -> str:
    """One value written as its kind says (text, and ``*``, shown as they are).

    Example:
        >>> format_value(-450.4, "money"), format_value(0.8123, "share"), format_value("*", "count")
        ('-£450', '81.2%', '*')
        >>> format_value("2024-03", "month"), format_value(2023, "financial_year")
        ('March 2024', '2023/24')
    """
    return formatter(kind)(value)


def formatter(kind: str) -> Callable[[Any], str]:
    """The function that writes values of one kind."""
    if kind not in _FORMATTERS:
        raise ValueError(f"kind {kind!r} is not one of {list(KINDS)}")
    return _FORMATTERS[kind]


def _number(value: Any) -> float | None:
    """The value as a float, or None when it is text (``*``, a reason) or missing."""
    if is_missing(value) or isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", ""))
        except ValueError:
            return None
    return None


def _numeric(render: Callable[[float], str]) -> Callable[[Any], str]:
    def write(value: Any) -> str:
        if is_missing(value):
            return ""
        number = _number(value)
        return str(value) if number is None else render(number)

    return write


def _money(number: float, decimals: int = 0) -> str:
    text = f"£{abs(number):,.{decimals}f}"
    negative = round(number, decimals) < 0
    return f"-{text}" if negative else text


def _month(value: Any) -> str:
    if is_missing(value):
        return ""
    try:
        return f"{pd.Timestamp(str(value) if isinstance(value, pd.Period) else value):%B %Y}"
    except (TypeError, ValueError):
        return str(value)


def _date(value: Any) -> str:
    if is_missing(value):
        return ""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{stamp.day} {stamp:%B %Y}"


def _financial_year(value: Any) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        from medlib.reference.financial_years import fy_label

        return fy_label(int(value))
    return str(value)


def _flag(value: Any) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return "Yes" if value else "No"
    text = str(value).strip().lower()
    return {"true": "Yes", "false": "No"}.get(text, str(value))


def _text(value: Any) -> str:
    return "" if is_missing(value) else str(value)


_FORMATTERS: dict[str, Callable[[Any], str]] = {
    "text": _text,
    "code": _text,
    "money": _numeric(_money),
    "money_pence": _numeric(lambda n: _money(n, 2)),
    "count": _numeric(lambda n: f"{n:,.0f}"),
    "number": _numeric(lambda n: f"{n:,.0f}" if abs(n) >= 1000 else f"{n:,.2f}"),
    "rank": _numeric(lambda n: f"{n:.0f}"),
    "percent": _numeric(lambda n: f"{n:.1f}%"),
    "share": _numeric(lambda n: f"{n * 100:.1f}%"),
    "month": _month,
    "date": _date,
    "financial_year": _financial_year,
    "flag": _flag,
}

#: Kinds whose values are numbers: right-aligned and kept on one line.
NUMERIC_KINDS = frozenset(
    {"money", "money_pence", "count", "number", "rank", "percent", "share", "month", "date"}
)
