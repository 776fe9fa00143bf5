"""The spend-trends report: its sections, its tables and the sentences it shows.

``notebooks/spend_trends.ipynb`` resolves a :class:`~medlib.context.ReportContext`, calls
:func:`build`, shows one :meth:`~medlib.present.sections.Report.section` per cell and publishes
:meth:`SpendReport.tables` once. All arithmetic lives in the tested modules
(:mod:`medlib.spend.measures`, :mod:`medlib.stats.forecast`, :mod:`medlib.stats.spc`,
:mod:`medlib.stats.peer_comparison`, :mod:`medlib.spend.movers`, :mod:`medlib.spend.high_cost`,
:mod:`medlib.spend.outliers`); this module chooses what to show and words it.

When the data source has no cost (the biologics and antibacterials extracts), the report shows
defined daily doses (or, without DDDs, quantities as issued) and says that cost is not
available; it never estimates a cost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from medlib.context import ReportContext
from medlib.errors import InputError
from medlib.io.datasets import bundled_store, load_dataset
from medlib.measures.compute import compute_measures
from medlib.measures.definitions import DEFINITIONS_DIR, MeasureDefinition, load_definitions
from medlib.measures.products import measure_products
from medlib.pack_cache import pack_cached
from medlib.present import charts
from medlib.present.labels import MEASURE_VALUE_COLUMNS, column_label
from medlib.present.sections import Report, Section, Table, lead_table
from medlib.present.wording import format_gbp, format_month, format_month_short, format_pct
from medlib.reference.financial_years import add_fy_columns, fy_bounds, fy_month, fy_of_month
from medlib.reference.trusts import successor_map, trust_names, trusts_table
from medlib.spend import efficiency, high_cost, measures, movers, outliers
from medlib.stats import forecast, peer_comparison, spc

__all__ = [
    "FUNNEL_MEASURE_IDS",
    "FUNNEL_UNITS",
    "SpendReport",
    "build",
    "change_sentence",
    "forecast_sentence",
    "format_amount",
    "pooled_forecast_backtest",
    "prepared_usage",
    "scope_label",
    "spc_sentence",
    "table_view",
]

#: Products from which a store counts as full SCMD ("all medicines"): a national month holds
#: about 6,000 VMPs, a single-topic extract tens.
ALL_MEDICINES_PRODUCTS = 1000

#: Share of rows that must have a DDD before a quantity-only source is reported in DDDs.
DDD_COVERAGE_NEEDED = 0.5

#: How the year-to-date total is introduced in prose, per measure ("{amount}" is filled in).
MEASURE_VERBS = {
    "cost_gbp": "spent {amount}",
    "ddds": "used {amount}",
    "quantity": "issued {amount} (each product counted in its own units)",
}

MEASURE_LABELS = {
    "cost_gbp": "spend",
    "ddds": "defined daily doses (DDDs)",
    "quantity": "quantity issued (in each product's own units)",
}
AXIS_LABELS = {"cost_gbp": "Spend (£)", "ddds": "DDDs", "quantity": "Quantity issued"}


# --- formatting and sentences -------------------------------------------------------------


def format_amount(value: float | None, measure: str, short: bool = False) -> str:
    """A value of ``measure`` for prose: pounds for spend, whole numbers otherwise.

    Example:
        >>> format_amount(1234.4, "ddds"), format_amount(1234.4, "ddds", short=True)
        ('1,234 defined daily doses (DDDs)', '1,234 DDDs')
    """
    if measure == "cost_gbp":
        return format_gbp(value)
    if value is None or pd.isna(value):
        return "not available"
    if measure == "ddds":
        unit = " DDDs" if short else " defined daily doses (DDDs)"
    else:
        unit = " units"
    return f"{float(value):,.0f}{unit}"


def change_sentence(
    name: str,
    label: str,
    months: int,
    period_end: pd.Timestamp,
    current: float,
    previous: float | None,
    measure: str,
    scope: str = "",
) -> str:
    """One sentence on the year to date and its change on the same period last year.

    ``scope`` says what the figure covers ("the 8 lithium products in this data"); it follows
    the amount.

    Example:
        >>> text = change_sentence(
        ...     "Trust A", "2023/24", 12, pd.Timestamp("2024-03-01"), 1328.44, 470.63, "cost_gbp"
        ... )
        >>> text.startswith("In 2023/24 (the full year to March 2024) Trust A spent £1,328")
        True
        >>> "£1,328, up £858 (+182.3%)" in text
        True
    """
    span = "the full year" if months == 12 else f"the {months} months"
    verb = MEASURE_VERBS[measure].format(amount=format_amount(current, measure))
    if scope:
        verb = verb.replace(" (each product", f" on {scope} (each product", 1)
        verb = verb if scope in verb else f"{verb} on {scope}"
    text = f"In {label} ({span} to {format_month(period_end)}) {name} {verb}"
    if previous is None or pd.isna(previous) or pd.isna(current):
        return text + "; there is no comparable period the year before in this data."
    change = current - previous
    direction = "up" if change > 0 else "down" if change < 0 else "unchanged"
    if change == 0:
        return text + ", unchanged on the same months of the year before."
    pct = f" ({format_pct(change / previous * 100, signed=True)})" if previous else ""
    amount = format_amount(abs(change), measure, short=True)
    return text + f", {direction} {amount}{pct} on the same months of the year before."


def forecast_sentence(
    row: Mapping[str, object],
    measure: str,
    mape: float | None,
    *,
    coverage_80: float | None = None,
    trusts: int | None = None,
) -> str:
    """One sentence on the forecast outturn, its 80% interval and how far to trust them.

    Args:
        row: The chosen method's forecast (``financial_year, method, months_observed,
            forecast, lower_80, upper_80``).
        measure: ``cost_gbp``, ``ddds`` or ``quantity``.
        mape: The method's average error in the pooled backtest (None when untested).
        coverage_80: The share (%) of past outturns its 80% intervals held.
        trusts: How many trusts' past years the backtest forecast.

    Example:
        >>> row = {"financial_year": "2023/24", "method": "run_rate", "months_observed": 6,
        ...        "forecast": 2000.0, "lower_80": 1800.0, "upper_80": 2300.0}
        >>> forecast_sentence(row, "cost_gbp", 4.04)[:79]
        'The forecast for the whole of 2023/24 is £2,000 (80% interval £1,800 to £2,300)'
    """
    label, k = row["financial_year"], int(row["months_observed"])
    if k == 12:
        known = format_amount(row["forecast"], measure, True)
        return f"{label} is complete, so its outturn is known: {known}."
    if pd.isna(row["forecast"]):
        return f"There is not enough data to forecast {label}."
    method = forecast.METHOD_NAMES[str(row["method"])].lower()
    text = (
        f"The forecast for the whole of {label} is {format_amount(row['forecast'], measure, True)}"
    )
    if pd.notna(row.get("lower_80")):
        text += (
            f" (80% interval {format_amount(row['lower_80'], measure, True)} to "
            f"{format_amount(row['upper_80'], measure, True)})"
        )
    else:
        text += " (no interval: too few past forecasts to calibrate one)"
    text += f", using {method}"
    if mape is None or pd.isna(mape):
        return text + " (there are too few complete past years in the data to test the methods)."
    whose = f"{trusts} trusts'" if trusts else "the trusts'"
    text += (
        f", the method with the smallest error when {whose} past years were forecast from the "
        f"same month (average error {format_pct(mape)})"
    )
    if coverage_80 is not None and pd.notna(coverage_80) and pd.notna(row.get("lower_80")):
        text += (
            f"; in those years 80% intervals made the same way held the outturn "
            f"{format_pct(coverage_80)} of the time"
        )
    return text + "."


def spc_sentence(result: spc.SpcResult, measure: str) -> str:
    """What the SPC chart says: the latest month, then the chart as a whole (as its subtitle)."""
    what = {"cost_gbp": "spend", "ddds": "use in DDDs", "quantity": "quantity issued"}[measure]
    sentences = charts.spc_summary(result, money=measure == "cost_gbp")
    return f"Monthly {what}. " + " ".join(sentences)


# --- funnel measures ---------------------------------------------------------------------


#: Measures of the measures library (:mod:`medlib.measures`) the funnel plot can show, in order
#: of preference: the report draws the first that three or more compared trusts used in the
#: year to date. Each is a share of one group of products, so one data source finds its own:
#: the lithium extract the first, the biologics the second, the antibacterials the third.
FUNNEL_MEASURE_IDS = ("lithium_liquid", "adalimumab_low_volume", "abx_iv")

#: What a measure's denominator is counted in, by its ``quantity``, for the funnel's size axis.
FUNNEL_UNITS = {
    "ddd": "DDDs",
    "quantity": "quantity issued, each product in its own units",
    "cost": "indicative cost, £",
}


# --- the report ---------------------------------------------------------------------------


#: Columns the monthly detail is aggregated by.
DETAIL_BY = ("trust_code", "vtm_name", "bnf_chapter_name", "bnf_section", "high_cost")


@dataclass(frozen=True)
class PreparedUsage:
    """What every trust's report of a pack shares: aggregates of the data, never its rows.

    Attributes:
        trusts: The trusts reference.
        products: The products reference.
        monthly_detail: Monthly totals per trust, molecule, BNF chapter and section and
            high-cost flag (:data:`DETAIL_BY`), computed in the engine.
        usage_glob: The store's usage files, for the filtered row queries a report makes.
        where: How messages name the store ("the bundled sample", "the store at PATH").
        products_in_data: Distinct products (VMP codes) with rows.
        molecules: Distinct molecules (VTM names) with rows, in name order.
        data_start: First month with rows.
        data_end: Last month with rows.
        trusts_with_rows: Trusts (successor codes) with at least one row.
        has_cost: Whether any row has an indicative cost.
        ddd_coverage: Share of rows whose product has a DDD.
        quality: Row counts per month and trust behind the data-quality checks
            (:func:`medlib.spend.measures.quality_counts`).
        measure_definitions: The measures the funnel plot may show, in order of preference
            (see :class:`SpendReport`'s ``funnel_measures``).
        measure_monthly: Per measure, trust and month, ``numerator`` and ``denominator``
            (:func:`medlib.measures.compute.compute_measures` over the store's usage; a
            measure none of whose products the store holds has no rows).
    """

    trusts: pd.DataFrame
    products: pd.DataFrame
    monthly_detail: pd.DataFrame
    usage_glob: str
    where: str
    products_in_data: int
    molecules: tuple[str, ...]
    data_start: pd.Timestamp
    data_end: pd.Timestamp
    trusts_with_rows: frozenset[str]
    has_cost: bool
    ddd_coverage: float
    quality: pd.DataFrame
    measure_definitions: tuple[MeasureDefinition, ...]
    measure_monthly: pd.DataFrame


@pack_cached
def prepared_usage(
    backend: str = "duckdb",
    store: str = "",
    measure_dirs: tuple[str, ...] = (),
    funnel_measures: tuple[str, ...] | None = None,
) -> PreparedUsage:
    """Aggregate a store's usage by month for every trust, in the engine.

    The store's Parquet files are read by the engine; successor mapping, the product join and
    the aggregation run there, and only the monthly totals come back. Every product the
    store holds is covered. The same for every trust's report, so a pack render computes it
    once (:mod:`medlib.pack_cache`).

    Args:
        backend: ``duckdb`` or ``pyspark``.
        store: The store's folder; empty for the bundled sample's store.
        measure_dirs: Folders of measure definitions to read besides the package's, for
            the funnel plot.
        funnel_measures: Ids of the measures the funnel plot may show, in order; None for
            the default (see :class:`SpendReport`). Only these are computed.

    Raises:
        InputError: The store has no usage rows, or a funnel measure names no definition.
        MeasureDefinitionError: A measure definition cannot be read (names file and field).
    """
    from medlib import engine
    from medlib.io.store import Store

    source = Store(store) if store else bundled_store()
    where = f"the store at {source.root}" if store else "the bundled sample"
    from medlib.io.reference_store import store_products

    products = store_products(source)
    if products is None:
        products = load_dataset("products")
    con = engine.connect(backend)
    table = None
    if source.usage_files():
        table = measures.store_usage(con, source.usage_glob(), products, successor_map())
        detail = measures.monthly_detail(table, DETAIL_BY)
    if table is None or detail.empty:
        raise InputError(
            f"{where} has no usage rows; add SCMD files with 'medlib ingest FILE --store "
            f"{source.root}'"
        )
    quality = measures.rows_frame(measures.quality_counts_expr(table))
    products_in_data = int(table.vmp_code.nunique().execute())
    definitions = _funnel_candidates(
        load_definitions([DEFINITIONS_DIR, *measure_dirs]), funnel_measures
    )
    # The measures read the store's files themselves: they join only their own products, so
    # scanning the Parquet again is faster than reusing the report's product-joined rows.
    results = compute_measures(
        con.read_parquet(source.usage_glob()),
        definitions,
        measure_products(products),
        successors=successor_map(),
        con=con,
    )
    monthly = results.values[
        ["measure_id", "trust_code", "year_month", "numerator", "denominator"]
    ].reset_index(drop=True)
    molecules = sorted(set(detail["vtm_name"]) - {measures.UNKNOWN})
    return PreparedUsage(
        trusts=trusts_table(),
        products=products,
        monthly_detail=detail,
        usage_glob=source.usage_glob(),
        where=where,
        products_in_data=products_in_data,
        molecules=tuple(molecules),
        data_start=pd.Timestamp(detail["year_month"].min()),
        data_end=pd.Timestamp(detail["year_month"].max()),
        trusts_with_rows=frozenset(detail["trust_code"]),
        has_cost=bool(detail["cost_gbp"].notna().any()),
        ddd_coverage=float(quality["rows_with_ddd"].sum()) / max(int(quality["rows"].sum()), 1),
        quality=quality,
        measure_definitions=definitions,
        measure_monthly=monthly,
    )


def _trust_panel(detail: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Every trust's monthly measure, one row per trust (:func:`forecast.monthly_panel`)."""
    monthly = detail.groupby(["year_month", "trust_code"], as_index=False)[measure].sum(min_count=1)
    return forecast.monthly_panel(monthly, value=measure)


@pack_cached
def pooled_forecast_backtest(
    backend: str, store: str, measure: str, methods: tuple[str, ...]
) -> pd.DataFrame:
    """The calibrated backtest of every trust in a store: what the forecasts are chosen on.

    Every complete financial year of every trust, forecast from each month 1-11 by each
    method (:func:`medlib.stats.forecast.panel_backtest`, with all trusts as the pool) and
    given forward-chained intervals (:func:`medlib.stats.forecast.calibrate`). A report
    chooses its default and calibrates its intervals on the years before its own; the same
    for every trust of a pack, so a pack render computes it once (:mod:`medlib.pack_cache`).

    Args:
        backend: ``duckdb`` or ``pyspark``.
        store: The store's folder; empty for the bundled sample's store.
        measure: ``cost_gbp``, ``ddds`` or ``quantity``.
        methods: Pooled forecast methods (:data:`medlib.stats.forecast.POOLED_METHODS`).
    """
    panel = _trust_panel(prepared_usage(backend, store).monthly_detail, measure)
    return forecast.calibrate(forecast.panel_backtest(panel, list(methods)))


def scope_label(products: int, molecules: Sequence[str]) -> str:
    """What a store's usage covers, as the headline and chart titles say it.

    A store of full monthly SCMD files (:data:`ALL_MEDICINES_PRODUCTS` products or more) is
    "all medicines"; a smaller one names its molecules, or counts them.

    Example:
        >>> scope_label(8, ["Lithium carbonate", "Lithium citrate"])
        'the 8 lithium products in this data'
        >>> scope_label(12, ["Adalimumab", "Etanercept"])
        'the 12 adalimumab and etanercept products in this data'
        >>> scope_label(63, [f"m{i}" for i in range(15)])
        'the 63 products of 15 molecules in this data'
        >>> scope_label(6000, [f"m{i}" for i in range(900)])
        'all medicines in this data (6,000 products)'
    """
    names = [m.lower() for m in molecules]
    first_words = {n.split()[0] for n in names if n}
    if products >= ALL_MEDICINES_PRODUCTS:
        return f"all medicines in this data ({products:,} products)"
    if len(first_words) == 1:
        what = first_words.pop()
    elif 1 < len(names) <= 3:
        what = " and ".join([", ".join(names[:-1]), names[-1]])
    else:
        return f"the {products:,} products of {len(names):,} molecules in this data"
    return f"the {products:,} {what} products in this data"


class SpendReport(Report):
    """Everything the spend-trends notebook shows, for one trust or system.

    Build it with :func:`build`. Its sections (:meth:`sections`) return what the notebook
    shows; the methods behind them return the plain tables, for analysts and for
    :meth:`tables`.

    Args:
        context: The trust or system, period end and comparison group.
        backend: Query engine backend, ``duckdb`` or ``pyspark``.
        high_cost_blocks: Optional annual high-cost-drug block values per trust code (GBP).
        forecast_methods: Methods to backtest and forecast with (default every pooled method
            of :mod:`medlib.stats.forecast`; the default forecast is chosen among them on all
            trusts' past years). Add ``"ets"`` for exponential smoothing: about 0.5 s per fit,
            so the trust's three-year backtest takes ~15 s; it is shown with its own model
            interval and never chosen.
        store: The store to read (a folder built by ``medlib ingest``); empty reads the bundled
            sample's store. The report covers every product in its ``usage`` table, and its
            headline and chart titles say which (:func:`scope_label`).
        pipeline_path: The efficiency pipeline YAML (default:
            ``parameters/efficiency_pipeline.yaml``; see :mod:`medlib.spend.efficiency`).
        measure_dirs: Folders of a team's own measure definitions (YAML files as in
            :mod:`medlib.measures.definitions`), read with the package's for the funnel plot.
        funnel_measures: Ids of the measures the funnel plot may show, in order of
            preference; None tries the measures of ``measure_dirs`` first (by id), then
            :data:`FUNNEL_MEASURE_IDS`.

    Raises:
        InputError: A store without usage, a trust without data, a period outside the data,
            or a funnel measure that no definition names.
        MeasureDefinitionError: A measure definition cannot be read.
    """

    def __init__(
        self,
        context: ReportContext,
        backend: str = "duckdb",
        high_cost_blocks: Mapping[str, float] | None = None,
        forecast_methods: Sequence[str] = forecast.DEFAULT_METHODS,
        store: str = "",
        pipeline_path: str | None = None,
        measure_dirs: Sequence[str] = (),
        funnel_measures: Sequence[str] | None = None,
    ) -> None:
        if not isinstance(store, str):
            raise InputError(
                f"store: expected a folder or '' for the bundled sample, got {store!r}"
            )
        if isinstance(measure_dirs, str):
            measure_dirs = [measure_dirs]
        self.context = context
        self.comparison_group = context.comparison_group
        self.backend = backend
        self.high_cost_blocks = dict(high_cost_blocks or {})
        self.pipeline_path = pipeline_path
        self.forecast_methods = tuple(dict.fromkeys(forecast_methods))
        self.store = store
        self.measure_dirs = tuple(str(folder) for folder in measure_dirs)
        if isinstance(funnel_measures, str):
            funnel_measures = [funnel_measures]
        wanted = None if funnel_measures is None else tuple(funnel_measures)
        inputs = prepared_usage(backend, store, self.measure_dirs, wanted)
        self._inputs = inputs
        self.funnel_measure_ids = tuple(d.id for d in inputs.measure_definitions)
        self.scope = scope_label(inputs.products_in_data, inputs.molecules)
        self.trusts = inputs.trusts
        self.products = inputs.products
        self._detail_all = inputs.monthly_detail
        self.data_start = inputs.data_start
        self.data_end = inputs.data_end
        self.period_end = context.period_end
        if not self.data_start <= self.period_end <= self.data_end:
            raise InputError(
                f"period_end {self.period_end:%Y-%m} is outside the data in {inputs.where}, "
                f"which covers {self.data_start:%Y-%m} to {self.data_end:%Y-%m}"
            )
        self.entity = measures.Entity(context.code, context.trust_codes, context.is_system)
        present = inputs.trusts_with_rows
        absent = [c for c in self.entity.trust_codes if c not in present]
        if absent:
            raise InputError(
                f"trust(s) {absent} have no rows in {inputs.where}; e.g. {sorted(present)[:8]} do"
            )
        self.trust_names = trust_names()
        self.name = context.name
        self.has_cost = inputs.has_cost
        ddd_share = inputs.ddd_coverage
        self.ddd_coverage = ddd_share
        if self.has_cost:
            self.measure = "cost_gbp"
        elif ddd_share >= DDD_COVERAGE_NEEDED:
            self.measure = "ddds"
        else:
            self.measure = "quantity"
        self.fy = fy_of_month(self.period_end)
        self.fy_start = fy_bounds(self.fy)[0]
        self.months = int(fy_month(pd.Series([self.period_end])).iloc[0])

    def sections(self) -> dict[str, Callable[[], Section]]:
        """The notebook's sections, in page order."""
        measure = self.measure
        return {
            "headline": lambda: Section(self.headline()),
            "usage_by_financial_year": lambda: Section(
                table_view(self.usage_by_financial_year(), measure)
            ),
            "trend": lambda: Section(self.trend_chart()),
            "by_molecule": lambda: Section(table_view(self.by_molecule(), measure)),
            "by_bnf_chapter": lambda: Section(table_view(self.by_bnf_chapter(), measure)),
            "high_cost": lambda: Section(self.high_cost_chart()),
            "block_variance": lambda: Section(
                table_view(
                    self.block_variance(),
                    empty="No block values were given for this pack, so high-cost spend is "
                    "not compared with a block (set high_cost_blocks in the parameters).",
                )
            ),
            "movers": lambda: Section(
                self.movers_chart(), table_view(self.movers_table(), measure)
            ),
            "forecast": lambda: Section(
                self.forecast_chart(),
                table_view(self.forecasts, measure, FORECAST_COLUMNS),
            ),
            "backtest": lambda: Section(
                table_view(self.backtest_table(), columns=BACKTEST_COLUMNS)
            ),
            "deciles": lambda: Section(self.deciles_chart()),
            "percentile_ranks": lambda: Section(
                table_view(self.percentile_ranks(), measure, PERCENTILE_COLUMNS)
            ),
            "funnel": lambda: Section(self.funnel_sentence(), self.funnel_chart()),
            "outliers": lambda: Section(
                table_view(
                    self.outliers_table(),
                    columns=OUTLIER_COLUMNS,
                    kinds={"numerator": "number", "denominator": "number"},
                    empty="No molecule shares to compare in this data.",
                )
            ),
            "efficiency": lambda: Section(
                self.efficiency_markdown(),
                table_view(self.efficiency_table(), columns=EFFICIENCY_COLUMNS),
            ),
            "data_quality": lambda: Section(
                table_view(self.data_quality(), kinds={"value": "count"})
            ),
        }

    # --- data -----------------------------------------------------------------------------

    @cached_property
    def monthly_detail(self) -> pd.DataFrame:
        """Monthly totals per trust, molecule, BNF chapter/section and high-cost flag."""
        detail = self._detail_all
        return detail[detail["year_month"] <= self.period_end].reset_index(drop=True)

    @cached_property
    def monthly_by_trust(self) -> pd.DataFrame:
        """Monthly totals per trust up to the period end."""
        values = ["quantity", "cost_gbp", "rows", "rows_without_cost", "ddds"]
        return self.monthly_detail.groupby(["year_month", "trust_code"], as_index=False)[
            values
        ].sum(min_count=1)

    @cached_property
    def monthly_entity(self) -> pd.DataFrame:
        """Monthly totals for the trust or system."""
        return measures.entity_monthly(self.monthly_by_trust, self.entity)

    @cached_property
    def entity_detail(self) -> pd.DataFrame:
        """Monthly rows by molecule etc. for the trust or system."""
        return self.monthly_detail[
            self.monthly_detail["trust_code"].isin(self.entity.trust_codes)
        ].reset_index(drop=True)

    @cached_property
    def comparators(self) -> dict[str, str]:
        """Trusts in the comparison group: ``{trust_code: trust_name}`` (with data)."""
        trusts = self.trusts.set_index("trust_code")
        first = self.entity.trust_codes[0]
        with_data = set(self.monthly_by_trust["trust_code"])
        if self.comparison_group == "national" or first not in trusts.index:
            codes = with_data
        else:
            column = "region" if self.comparison_group == "region" else "icb_code"
            key = trusts.loc[first, column]
            codes = (
                set(trusts.index[trusts[column] == key]) & with_data if pd.notna(key) else with_data
            )
        codes |= set(self.entity.trust_codes)
        return {c: self.trust_names.get(c, c) for c in sorted(codes)}

    @property
    def comparison_label(self) -> str:
        """Plain-English name of the comparison group."""
        trusts = self.trusts.set_index("trust_code")
        first = self.entity.trust_codes[0]
        if self.comparison_group == "national" or first not in trusts.index:
            return "all trusts in England with data"
        if self.comparison_group == "region":
            return f"trusts in the {trusts.loc[first, 'region']} region"
        return f"trusts in {trusts.loc[first, 'icb_name']}"

    # --- sections ---------------------------------------------------------------------------

    @property
    def short_name(self) -> str:
        """The trust's code (or the system's label) for chart titles, which also name the data.

        The page header names the trust in full; a title with both the data's scope and a
        long trust name would not fit the chart.
        """
        return self.entity.label

    def headline(self) -> str:
        """Headline numbers in plain English (Markdown)."""
        parts = []
        if not self.has_cost:
            parts.append(
                f"**Cost is not available in this data** ({self.scope}), so this report shows "
                f"{MEASURE_LABELS[self.measure]} instead; no cost is estimated."
            )
            if self.measure == "ddds":
                parts.append(
                    f"DDDs are known for {self.ddd_coverage:.0%} of rows; rows without a DDD "
                    "are left out of the DDD totals."
                )
        row = self.fytd.iloc[0]
        parts.append(
            change_sentence(
                self.name,
                self.fy,
                int(row["months"]),
                self.period_end,
                row["fytd"],
                row["same_period_last_year"],
                self.measure,
                self.scope,
            )
        )
        gap = self.forecast_gap
        parts.append(gap if gap else self.forecast_headline())
        parts.append(spc_sentence(self.spc_result, self.measure))
        return "\n\n".join(parts)

    @cached_property
    def fytd(self) -> pd.DataFrame:
        """Year to date against the same months last year, for the trust or system."""
        return measures.fytd_comparison(
            self.monthly_entity, self.period_end, self.measure, data_start=self.data_start
        )

    def spend_by_financial_year(self) -> pd.DataFrame:
        """The published ``spend_by_financial_year`` table.

        One row per financial year for the trust; for a system, for each member trust and for
        the system as a whole (``trust_code`` = the system's name).
        """
        frames = [
            self.monthly_by_trust[self.monthly_by_trust["trust_code"].isin(self.entity.trust_codes)]
        ]
        if self.entity.is_system:
            frames.append(self.monthly_entity)
        monthly = pd.concat(frames, ignore_index=True)
        return measures.spend_by_financial_year(
            monthly, self.period_end, data_start=self.data_start
        )

    def usage_by_financial_year(self) -> pd.DataFrame:
        """Financial-year totals of the report's measure (spend, DDDs or quantity)."""
        table = measures.totals_by_financial_year(
            self.monthly_entity,
            self.measure,
            period_end=self.period_end,
            data_start=self.data_start,
        )
        return table.rename(columns={"previous": "same_months_year_before"})

    @cached_property
    def spc_result(self) -> spc.SpcResult:
        """XmR chart of the monthly measure from the start of the data to the period end."""
        series = forecast.monthly_series(self.monthly_entity, self.measure)
        series = series.loc[: self.period_end]
        return spc.spc(series.to_numpy(), list(series.index), improvement_direction="neutral")

    def trend_chart(self) -> Figure:
        """Monthly trend as a Making Data Count SPC chart."""
        what = MEASURE_LABELS[self.measure].capitalize()
        return charts.spc_chart(
            self.spc_result,
            f"{what} each month on {self.scope}: {self.short_name}",
            AXIS_LABELS[self.measure],
            money=self.measure == "cost_gbp",
        )

    def spc_table(self) -> pd.DataFrame:
        """The SPC chart's points, for the report pack."""
        pts = self.spc_result.points
        return pd.DataFrame(
            {
                "year_month": pd.to_datetime(pts["x"]).dt.strftime("%Y-%m"),
                "value": pts["y"],
                "mean": pts["mean"],
                "lower_process_limit": pts["lpl"],
                "upper_process_limit": pts["upl"],
                "special_cause": pts["special_cause_type"],
                "point_type": pts["point_type"],
            }
        )

    def by_molecule(self) -> pd.DataFrame:
        """Year to date by molecule against the same months last year."""
        return measures.totals_by_group(
            self.entity_detail, "vtm_name", self.period_end, self.measure, self.data_start
        ).rename(columns={"vtm_name": "molecule"})

    def by_bnf_chapter(self) -> pd.DataFrame:
        """Year to date by BNF chapter against the same months last year."""
        return measures.totals_by_group(
            self.entity_detail, "bnf_chapter_name", self.period_end, self.measure, self.data_start
        ).rename(columns={"bnf_chapter_name": "bnf_chapter"})

    @cached_property
    def high_cost_by_year(self) -> pd.DataFrame:
        """High-cost and in-tariff spend per financial year for the trust or system."""
        detail = add_fy_columns(self.entity_detail)
        split = high_cost.high_cost_split(detail, by=("financial_year",), value=self.measure)
        # Keep the same years as the spend tables (a partial first year is left out).
        years = measures.totals_by_financial_year(
            self.monthly_entity,
            self.measure,
            period_end=self.period_end,
            data_start=self.data_start,
        )["financial_year"]
        return split[split["financial_year"].isin(set(years))].reset_index(drop=True)

    def high_cost_chart(self) -> Figure:
        """High-cost versus in-tariff spend (or use) per financial year."""
        table = self.high_cost_by_year
        unit = "spend" if self.measure == "cost_gbp" else MEASURE_LABELS[self.measure]
        return charts.stacked_bar_chart(
            table,
            "financial_year",
            ["high_cost_gbp", "in_tariff_gbp"],
            ["High-cost drugs (tariff-excluded)", "In-tariff drugs"],
            f"High-cost and in-tariff {unit} by year ({self.scope}): {self.short_name}",
            AXIS_LABELS[self.measure],
            money=self.measure == "cost_gbp",
        )

    def high_cost_table(self) -> pd.DataFrame:
        """High-cost split per financial year (columns in the report's measure)."""
        table = self.high_cost_by_year.copy()
        if self.measure != "cost_gbp":
            table.columns = [c.replace("_gbp", f"_{self.measure}") for c in table.columns]
        return table

    @cached_property
    def efficiency(self) -> efficiency.EfficiencyForecast:
        """Forecast and realised efficiencies of the pipeline for the trust (or system)."""
        detail = self._detail_all[self._detail_all["trust_code"].isin(self.entity.trust_codes)]
        monthly = detail.groupby(["year_month", "trust_code", "vtm_name"], as_index=False)[
            ["cost_gbp", "quantity"]
        ].sum(min_count=1)
        return efficiency.forecast_efficiencies(
            monthly,
            efficiency.load_pipeline(self.pipeline_path),
            list(self.entity.trust_codes),
            self.period_end,
            system_code=self.entity.label if self.entity.is_system else None,
            molecule_column="vtm_name",
        )

    def efficiency_table(self) -> pd.DataFrame:
        """The pipeline's forecast efficiencies this financial year for the trust (or system)."""
        summary = self.efficiency.summary
        return summary[summary["trust_code"] == self.entity.label].reset_index(drop=True)

    def efficiency_markdown(self) -> str:
        """The efficiency forecast in words: what is under way or due, what has no baseline."""
        table = self.efficiency_table()
        known = table[table["status"] != efficiency.STATUS_NO_BASELINE]
        lines = [f"- {efficiency.efficiency_sentence(row)}" for _, row in known.iterrows()]
        active = known[known["status"].isin([efficiency.STATUS_UNDER_WAY, efficiency.STATUS_DUE])]
        total = active["forecast_year_gbp"].sum(min_count=1)
        if len(active) and pd.notna(total):
            lines.insert(
                0,
                f"Forecast efficiencies in {self.fy} from the pipeline: "
                f"{format_gbp(total, 'estimate')} in all.\n",
            )
        missing = table.loc[table["status"] == efficiency.STATUS_NO_BASELINE, "molecule"]
        if len(missing):
            lines.append(
                f"\nNo baseline in this data for {', '.join(missing)}: the data have no cost for "
                "these molecules in the 12 months before their date, so no efficiency is "
                "forecast for them."
            )
        return "\n".join(lines)

    def block_variance(self) -> pd.DataFrame:
        """High-cost spend to date against each trust's block value (empty without blocks)."""
        if not self.high_cost_blocks:
            return pd.DataFrame(
                columns=[
                    "trust_code",
                    "annual_block_gbp",
                    "block_to_date_gbp",
                    "actual_gbp",
                    "variance_gbp",
                    "variance_pct",
                ]
            )
        if self.measure != "cost_gbp":
            raise InputError("high_cost_blocks need a data source with cost")
        current = self.monthly_detail[self.monthly_detail["year_month"] >= self.fy_start]
        # A trust with rows this year but none for high-cost drugs spent 0 on them; a trust
        # with no rows at all has no actual (missing).
        high = current["cost_gbp"].where(current["high_cost"], 0.0)
        actual = (
            current.assign(high_cost_gbp=high)
            .groupby("trust_code", as_index=False)["high_cost_gbp"]
            .sum(min_count=1)
        )
        return high_cost.block_variance(actual, self.high_cost_blocks, self.months)

    @cached_property
    def movers(self) -> pd.DataFrame:
        """Top movers by molecule: this year to date against the same months last year."""
        detail = add_fy_columns(self.entity_detail)
        detail = detail[detail["fy_month"] <= self.months]
        previous = fy_of_month(self.period_end - pd.DateOffset(years=1))
        if (
            previous not in set(detail["financial_year"])
            or self.period_end - pd.DateOffset(years=1) < self.data_start
        ):
            return pd.DataFrame(
                columns=["vtm_name", "previous", "current", "change", "share_of_change_pct"]
            )
        data = detail.dropna(subset=[self.measure])
        return movers.top_movers(
            data,
            self.fy,
            previous,
            value=self.measure,
            n=10,
            decimals=2 if self.measure == "cost_gbp" else 0,
        )

    def movers_chart(self) -> Figure:
        """Each molecule's contribution to the change on last year."""
        table = self.movers
        rows = table[~table["vtm_name"].isin([movers.TOTAL_LABEL])]
        return charts.bar_chart(
            rows,
            "vtm_name",
            "change",
            f"What drove the change on last year "
            f"({self.fy} to {format_month_short(self.period_end)})",
            f"Change in {MEASURE_LABELS[self.measure]}",
            money=self.measure == "cost_gbp",
            diverging=True,
        )

    def movers_table(self) -> pd.DataFrame:
        """Top movers with the molecule column named for leads."""
        return self.movers.rename(columns={"vtm_name": "molecule"})

    # --- forecast ---------------------------------------------------------------------------

    @cached_property
    def pool_panel(self) -> pd.DataFrame:
        """Every trust's monthly measure over the whole data (the forecasts' pool)."""
        return _trust_panel(self._detail_all, self.measure)

    @cached_property
    def entity_panel(self) -> pd.DataFrame:
        """The trust's (or system's) monthly measure up to the period end, one row."""
        months = self.pool_panel.columns
        if self.monthly_entity.empty:
            return pd.DataFrame([[np.nan] * len(months)], index=[self.entity.label], columns=months)
        return forecast.monthly_panel(self.monthly_entity, value=self.measure, months=months)

    @property
    def _pooled_methods(self) -> tuple[str, ...]:
        return tuple(m for m in self.forecast_methods if m in forecast.POOLED_METHODS)

    @cached_property
    def pooled_backtest(self) -> pd.DataFrame:
        """Every trust's backtest with calibrated intervals (:func:`pooled_forecast_backtest`)."""
        if not self._pooled_methods:
            return pd.DataFrame(columns=forecast.BACKTEST_COLUMNS)
        return pooled_forecast_backtest(
            self.backend, self.store, self.measure, self._pooled_methods
        )

    @cached_property
    def calibration(self) -> forecast.Calibration:
        """The pooled backtest's scores, collected once for every interval of the report."""
        return forecast.Calibration.from_backtest(self.pooled_backtest)

    @cached_property
    def backtest_detail(self) -> pd.DataFrame:
        """Backtest of every forecast method on the trust's (or system's) past complete years.

        Each year's intervals are calibrated on all trusts' forecasts of the years before it.
        """
        monthly = self.monthly_entity[self.monthly_entity["year_month"] <= self.period_end]
        years = (
            forecast.backtest_years(forecast.monthly_series(monthly, self.measure))
            if len(monthly)
            else []
        )
        if not years:
            return pd.DataFrame(columns=forecast.BACKTEST_COLUMNS)
        end = self.period_end
        detail = forecast.panel_backtest(
            self.entity_panel.loc[:, :end],
            self.forecast_methods,
            pool=self.pool_panel.loc[:, :end],
            financial_years=years,
        )
        return forecast.calibrate(detail, self.calibration)

    @property
    def _basis_month(self) -> int:
        """The month the default is chosen for: the months observed (11 once complete)."""
        return min(self.months, 11)

    @cached_property
    def pooled_track_record(self) -> pd.DataFrame:
        """All trusts' backtest from this month of the year, in the years before this one.

        Each method's MAPE, interval coverage and forecasts, and its ``relative_error``
        (:func:`forecast.relative_errors`), which the default is chosen on.
        """
        pool = self.pooled_backtest
        rows = pool[
            (pool["financial_year"] < self.fy) & (pool["months_observed"] == self._basis_month)
        ]
        columns = ["method", "mape_pct", "coverage_80_pct", "coverage_95_pct", "forecasts"]
        if not len(rows):
            return pd.DataFrame(columns=[*columns, "relative_error"])
        relative = forecast.relative_errors(pool, self.fy, self._basis_month, self._pooled_methods)[
            "relative_error"
        ]
        summary = forecast.backtest_summary(rows)[columns]
        return summary.merge(relative.reset_index(), on="method", how="left")

    def backtest_table(self) -> pd.DataFrame:
        """Each method's error and interval coverage: for this trust, and for all trusts.

        ``mape_pct``, ``median_ape_pct``, ``coverage_80_pct``, ``coverage_95_pct``,
        ``forecasts`` and ``years_tested`` are over the trust's (or system's) own past years
        and every month 1-11; the ``pooled_`` columns over every trust's years before this
        one, from the month of the year the report is at: ``pooled_relative_error`` (each
        year's MAPE over the run rate's, averaged) is what the default is chosen on.
        """
        own = (
            forecast.backtest_summary(self.backtest_detail)
            if len(self.backtest_detail)
            else pd.DataFrame(columns=["method"])
        )
        pooled = self.pooled_track_record.rename(
            columns={
                "mape_pct": "pooled_mape_pct",
                "coverage_80_pct": "pooled_coverage_80_pct",
                "coverage_95_pct": "pooled_coverage_95_pct",
                "forecasts": "pooled_forecasts",
                "relative_error": "pooled_relative_error",
            }
        )
        table = pd.DataFrame({"method": list(self.forecast_methods)})
        table = table.merge(own, on="method", how="left").merge(pooled, on="method", how="left")
        for col in ("mape_pct", "median_ape_pct", "coverage_80_pct", "coverage_95_pct"):
            if col not in table:
                table[col] = np.nan
        for col in ("forecasts", "pooled_forecasts"):
            table[col] = table.get(col, pd.Series(0, index=table.index)).fillna(0).astype(int)
        years = sorted(self.backtest_detail["financial_year"].unique())
        tested = "" if not years else years[0] if len(years) == 1 else f"{years[0]} to {years[-1]}"
        table["years_tested"] = tested
        table.insert(1, "method_name", table["method"].map(forecast.METHOD_NAMES))
        table.insert(2, "chosen", table["method"] == self.forecast_choice[0])
        columns = [
            "method",
            "method_name",
            "chosen",
            "mape_pct",
            "median_ape_pct",
            "coverage_80_pct",
            "coverage_95_pct",
            "forecasts",
            "years_tested",
            "pooled_mape_pct",
            "pooled_coverage_80_pct",
            "pooled_coverage_95_pct",
            "pooled_forecasts",
            "pooled_relative_error",
        ]
        for col in columns:
            if col not in table:
                table[col] = np.nan
        return (
            table[columns]
            .sort_values(
                ["chosen", "pooled_relative_error"], ascending=[False, True], kind="mergesort"
            )
            .reset_index(drop=True)
        )

    @cached_property
    def forecast_choice(self) -> tuple[str, float | None]:
        """The default method and its pooled MAPE (see :func:`forecast.choose_method`).

        Chosen on every trust's forecasts from the same month of the year in the years before
        this one; run rate (or the first method asked for) when none could be tested.
        """
        methods = self._pooled_methods
        if not methods:
            return self.forecast_methods[0], None
        method, mape = forecast.choose_method(
            self.pooled_backtest, self.fy, self._basis_month, methods
        )
        if method not in methods:
            return methods[0], None
        return method, (None if pd.isna(mape) else mape)

    @cached_property
    def forecasts(self) -> pd.DataFrame:
        """Outturn forecasts from every method for the year containing the period end."""
        end = self.period_end
        try:
            table = forecast.forecast_panel(
                self.entity_panel.loc[:, :end],
                end,
                self.forecast_methods,
                pool=self.pool_panel.loc[:, :end],
                pool_detail=self.calibration,
            )[forecast.FORECAST_COLUMNS]
        except InputError:
            # The data start after the year began: say there is no forecast rather than
            # forecast from a gap (a trust whose data stop early gets missing forecasts).
            table = pd.DataFrame(
                [
                    {"financial_year": self.fy, "method": m, "months_observed": self.fy_months}
                    for m in self.forecast_methods
                ],
                columns=forecast.FORECAST_COLUMNS,
            )
        table.insert(2, "method_name", table["method"].map(forecast.METHOD_NAMES))
        table["chosen"] = table["method"] == self.forecast_choice[0]
        return table.reset_index(drop=True)

    @property
    def fy_months(self) -> int:
        """Months of the financial year up to and including the period end (1 = April)."""
        return (self.period_end.month - 4) % 12 + 1

    @cached_property
    def forecast_gap(self) -> str | None:
        """Why there is no forecast, when the data do not cover the year to the period end."""
        if self.forecasts["forecast"].notna().any():
            return None
        months = self.monthly_entity["year_month"]
        last = f"{months.max():%Y-%m}" if len(months) else "nowhere"
        return (
            f"There is no year-end forecast for {self.fy}: the data for {self.name} run to "
            f"{last}, and a forecast needs every month of the year up to "
            f"{self.period_end:%Y-%m} (see the data quality section)."
        )

    @property
    def forecast_best_row(self) -> pd.Series:
        """The chosen method's forecast row."""
        return self.forecasts[self.forecasts["chosen"]].iloc[0]

    def forecast_headline(self) -> str:
        """The forecast sentence of the headline, with the chosen method's track record."""
        method, mape = self.forecast_choice
        record = self.pooled_track_record.set_index("method")
        coverage = record.loc[method, "coverage_80_pct"] if method in record.index else None
        pool = self.pooled_backtest
        trusts = int(pool.loc[pool["financial_year"] < self.fy, "entity"].nunique())
        return forecast_sentence(
            self.forecast_best_row,
            self.measure,
            mape,
            coverage_80=coverage,
            trusts=trusts or None,
        )

    def forecast_chart(self) -> Figure:
        """Cumulative spend this year and last, with the chosen and run-rate outturn forecasts."""
        monthly = add_fy_columns(self.monthly_entity)
        last = fy_of_month(self.period_end - pd.DateOffset(years=1))
        rows = monthly[monthly["financial_year"].isin([self.fy, last])]
        rows = rows[rows["year_month"] <= self.period_end].sort_values("year_month")
        rows = rows.assign(cumulative=rows.groupby("financial_year")[self.measure].cumsum())
        shown = self.forecasts[self.forecasts["chosen"] | (self.forecasts["method"] == "run_rate")]
        return charts.forecast_chart(
            rows[["fy_month", "financial_year", "cumulative"]],
            shown.sort_values("chosen", ascending=False, kind="mergesort"),
            f"Cumulative {MEASURE_LABELS[self.measure]} and year-end forecast ({self.scope}): "
            f"{self.short_name}",
            AXIS_LABELS[self.measure],
            money=self.measure == "cost_gbp",
        )

    # --- benchmarking -----------------------------------------------------------------------

    @cached_property
    def group_monthly(self) -> pd.DataFrame:
        """Monthly measure per trust in the comparison group."""
        return self.monthly_by_trust[self.monthly_by_trust["trust_code"].isin(self.comparators)]

    def deciles_chart(self) -> Figure:
        """Monthly measure of the trust against the deciles of its comparison group."""
        group = self.group_monthly.rename(columns={self.measure: "value"})
        dec = peer_comparison.deciles(group, "value")
        mine = self.monthly_entity.rename(columns={self.measure: "value"})
        label = self.entity.label
        if self.entity.is_system:
            mine = mine.assign(value=mine["value"] / len(self.entity.trust_codes))
            label = f"{self.entity.label} (average per trust)"
        return charts.decile_chart(
            dec,
            mine[["year_month", "value"]],
            f"Monthly {MEASURE_LABELS[self.measure]} against {self.comparison_label}",
            AXIS_LABELS[self.measure],
            label,
            money=self.measure == "cost_gbp",
        )

    def percentile_ranks(self) -> pd.DataFrame:
        """Percentile rank (0 lowest, 100 highest) of the year to date and its change."""
        table = measures.fytd_comparison(
            self.group_monthly, self.period_end, self.measure, data_start=self.data_start
        )
        table["fytd_percentile_rank"] = peer_comparison.percent_rank(table["fytd"]).to_numpy()
        table["change_pct_percentile_rank"] = peer_comparison.percent_rank(
            table["change_pct"]
        ).to_numpy()
        table["trusts_compared"] = int(table["fytd"].notna().sum())
        table.insert(1, "trust_name", table["trust_code"].map(self.comparators))
        mine = table[table["trust_code"].isin(self.entity.trust_codes)]
        return mine.reset_index(drop=True)

    @cached_property
    def _funnel_choice(self) -> tuple[MeasureDefinition, peer_comparison.FunnelResult] | None:
        """The first of :attr:`funnel_measure_ids` with use at three or more compared trusts.

        Year to date: each trust's numerator and denominator summed over the financial year's
        months to the period end.
        """
        monthly = self._inputs.measure_monthly
        part = monthly[
            (monthly["year_month"] >= self.fy_start)
            & (monthly["year_month"] <= self.period_end)
            & monthly["trust_code"].isin(self.comparators)
        ]
        definitions = {d.id: d for d in self._inputs.measure_definitions}
        for measure_id in self.funnel_measure_ids:
            rows = part[part["measure_id"] == measure_id]
            used = rows[rows["denominator"] != 0]
            # Returns can leave a trust's year below zero, or a numerator above its
            # denominator; a proportion needs 0 <= numerator <= denominator.
            den = used.groupby("trust_code")["denominator"].sum().clip(lower=0)
            num = used.groupby("trust_code")["numerator"].sum().reindex(den.index).fillna(0)
            num = num.clip(lower=0, upper=den)
            keep = den > 0
            if keep.sum() >= 3:
                result = peer_comparison.funnel_limits(num[keep], den[keep], list(den.index[keep]))
                return definitions[measure_id], result
        return None

    @property
    def funnel_measure(self) -> MeasureDefinition | None:
        """The measure the funnel plot shows, or None when none has enough trusts."""
        return None if self._funnel_choice is None else self._funnel_choice[0]

    @property
    def funnel(self) -> peer_comparison.FunnelResult | None:
        """Funnel benchmark of the measure, year to date."""
        return None if self._funnel_choice is None else self._funnel_choice[1]

    def _no_funnel(self) -> str:
        titles = {d.id: d.title for d in self._inputs.measure_definitions}
        names = [titles[i].lower() for i in self.funnel_measure_ids]
        listed = " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        return (
            f"No funnel plot: fewer than three trusts in the comparison group used the products "
            f"of any of its measures ({listed}) in {self.fy} to date."
        )

    def funnel_chart(self) -> Figure | str:
        """Funnel plot of the measure for the comparison group."""
        measure = self.funnel_measure
        if self.funnel is None or measure is None:
            return self._no_funnel()
        return charts.funnel_chart(
            self.funnel,
            measure.title,
            x_label=f"Use of all the products compared ({FUNNEL_UNITS[measure.quantity]})",
            y_label="Proportion",
            highlight=list(self.entity.trust_codes),
            subtitle=f"{self.fy} to {format_month_short(self.period_end)}, {self.comparison_label}",
        )

    def funnel_table(self) -> pd.DataFrame:
        """The funnel's per-trust table."""
        if self.funnel is None:
            return pd.DataFrame(columns=["trust_code", "numerator", "denominator", "proportion"])
        table = self.funnel.table.rename(columns={"label": "trust_code"})
        table.insert(1, "trust_name", table["trust_code"].map(self.comparators))
        return table

    def funnel_sentence(self) -> str:
        """Where the trust sits in the funnel, in words: the measure, then each trust."""
        measure = self.funnel_measure
        if self.funnel is None or measure is None:
            return self._no_funnel()
        table = self.funnel.table.set_index("label")
        parts = [measure.description] if measure.description else []
        for code in self.entity.trust_codes:
            name = self.trust_names.get(code, code)
            if code not in table.index:
                parts.append(f"{name} issued none of these products in {self.fy} to date.")
                continue
            row = table.loc[code]
            parts.append(
                f"{name}: {row['proportion']:.1%} against an average "
                f"of {self.funnel.target:.1%} ({row['position']})."
            )
        if self.funnel.overdispersion_adjusted:
            parts.append(
                "The limits are widened because trusts vary more than chance alone explains."
            )
        return f"**{measure.title}.** " + " ".join(parts)

    @property
    def outlier_quantity(self) -> str:
        """Column the outlier shares are computed on.

        DDDs when most rows have one (units of different products, e.g. tablets and
        millilitres, cannot be added up meaningfully), otherwise quantities as issued.
        """
        return "ddds" if self.ddd_coverage >= DDD_COVERAGE_NEEDED else "quantity"

    def outliers_table(self) -> pd.DataFrame:
        """The trust's molecule shares within BNF sections, compared with its group."""
        detail = self.monthly_detail
        rows = detail[
            (detail["year_month"] >= self.fy_start)
            & detail["trust_code"].isin(self.comparators)
            & (detail["bnf_section"] != measures.UNKNOWN)
        ]
        table = outliers.share_outliers(rows, quantity=self.outlier_quantity)
        mine = table[table["trust_code"].isin(self.entity.trust_codes)].copy()
        mine = mine.rename(columns={"vtm_name": "molecule"})
        return mine.reset_index(drop=True)

    def data_quality(self) -> pd.DataFrame:
        """Data-quality checks on the trust's rows from the start of the data to the period end."""
        counts = self._inputs.quality
        mine = counts[counts["trust_code"].isin(self.entity.trust_codes)]
        return measures.data_quality(mine, self.data_start, self.period_end)

    # --- publishing -------------------------------------------------------------------------

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every lead-facing table of the report, by name, for the report pack."""
        tables = {
            "spend_by_financial_year": self.spend_by_financial_year(),
            "usage_by_financial_year": self.usage_by_financial_year(),
            "monthly_spc": self.spc_table(),
            "spend_by_molecule": self.by_molecule(),
            "spend_by_bnf_chapter": self.by_bnf_chapter(),
            "high_cost_split": self.high_cost_table(),
            "top_movers": self.movers_table(),
            "forecast_outturn": self.forecasts,
            "forecast_backtest": self.backtest_table(),
            "benchmark_percentile_ranks": self.percentile_ranks(),
            "benchmark_funnel": self.funnel_table(),
            "outliers": self.outliers_table(),
            "data_quality": self.data_quality(),
        }
        if self.high_cost_blocks:
            tables["high_cost_block_variance"] = self.block_variance()
        tables["efficiency_forecast"] = self.efficiency_table()
        return {name: tidy_for_publication(df, self.measure) for name, df in tables.items()}


def tidy_for_publication(df: pd.DataFrame, measure: str = "cost_gbp") -> pd.DataFrame:
    """Round a table for the report pack: money to pennies, percentages to one decimal place.

    Money columns are those ending ``_gbp`` and, when the report's measure is spend, the value
    columns (``fytd``, ``forecast``...); DDD and quantity columns get 2 decimals; shares,
    z-scores and limits 4.
    """
    out = df.copy()
    for col in out.columns:
        if not pd.api.types.is_float_dtype(out[col]):
            continue
        if col.endswith("_gbp") or col in _VALUE_COLUMNS or col == measure:
            out[col] = out[col].round(2)
        elif col.endswith("_pct") or col.endswith("percentile_rank"):
            out[col] = out[col].round(1)
        else:
            out[col] = out[col].round(4)
    return out


def table_view(
    df: pd.DataFrame,
    measure: str = "cost_gbp",
    columns: Sequence[str] | None = None,
    *,
    kinds: Mapping[str, str] | None = None,
    empty: str = "There is nothing to show here.",
    caption: str = "",
) -> Table:
    """A table as a lead reads it (:func:`medlib.present.sections.lead_table`).

    When the report's measure is not spend, the value columns (``fytd``, ``forecast``...)
    hold DDDs or quantities: they are written as numbers and their labels name the unit.

    Example:
        >>> t = table_view(pd.DataFrame({"molecule": ["x"], "fytd": [1234.5]}), "ddds")
        >>> list(t.frame.columns)
        ['Molecule', 'Year to date (DDDs)']
    """
    value_kinds: dict[str, str] = {}
    labels: dict[str, str] = {}
    if measure != "cost_gbp":
        unit = AXIS_LABELS[measure]
        for column in df.columns:
            if column in _VALUE_COLUMNS:
                value_kinds[column] = "number"
                labels[column] = f"{column_label(column)} ({unit})"
    return lead_table(
        df,
        columns=columns,
        labels=labels,
        kinds={**value_kinds, **(kinds or {})},
        empty=empty,
        caption=caption,
    )


def _pounds(value: float) -> str:
    return format_gbp(value, "pence")


#: The columns of the wide published tables a lead reads on the page (the workbook and the
#: CSVs keep every column).
FORECAST_COLUMNS = (
    "financial_year",
    "method_name",
    "chosen",
    "months_observed",
    "ytd",
    "forecast",
    "lower_80",
    "upper_80",
)
BACKTEST_COLUMNS = (
    "method_name",
    "chosen",
    "mape_pct",
    "coverage_80_pct",
    "forecasts",
    "pooled_mape_pct",
    "pooled_coverage_80_pct",
    "pooled_forecasts",
)
PERCENTILE_COLUMNS = (
    "trust_name",
    "financial_year",
    "fytd",
    "change_pct",
    "fytd_percentile_rank",
    "change_pct_percentile_rank",
    "trusts_compared",
)
OUTLIER_COLUMNS = (
    "trust_code",
    "bnf_section",
    "molecule",
    "share",
    "mean_share",
    "z",
    "n_orgs",
    "outlier",
)
EFFICIENCY_COLUMNS = (
    "trust_code",
    "molecule",
    "type",
    "date",
    "status",
    "forecast_year_gbp",
    "realised_to_date_gbp",
    "forecast_remaining_gbp",
    "note",
)

_VALUE_COLUMNS = MEASURE_VALUE_COLUMNS


def _funnel_candidates(
    definitions: Sequence[MeasureDefinition], wanted: Sequence[str] | None
) -> tuple[MeasureDefinition, ...]:
    """The measures the funnel plot tries, in order, from the definitions read.

    Raises:
        InputError: ``wanted`` is empty or names an id no definition has.
    """
    by_id = {d.id: d for d in definitions}
    if wanted is None:
        # A team's own measures are what it added the folder for: they come first.
        own = [d.id for d in definitions if d.source is None or d.source.parent != DEFINITIONS_DIR]
        wanted = [*own, *(i for i in FUNNEL_MEASURE_IDS if i in by_id)]
    unknown = [i for i in wanted if i not in by_id]
    if unknown or not wanted:
        raise InputError(
            f"funnel_measures: {unknown or list(wanted)} name no measure definition; the "
            f"measures read are {', '.join(by_id)}"
        )
    return tuple(by_id[i] for i in dict.fromkeys(wanted))


def build(context: ReportContext, **options: Any) -> SpendReport:
    """The spend-trends report for a resolved context.

    Args:
        context: From :func:`medlib.context.resolve_context`.
        **options: ``backend``, ``high_cost_blocks``, ``forecast_methods``, ``store``,
            ``pipeline_path``, ``measure_dirs``, ``funnel_measures`` (see
            :class:`SpendReport`).
    """
    return SpendReport(context, **options)
