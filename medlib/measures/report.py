"""The measures report: every measure for one trust against all trusts, as OP-H shows them.

``notebooks/measures.ipynb`` resolves a :class:`~medlib.context.ReportContext`, calls
:func:`build` and shows one section per cell; :meth:`MeasuresReport.tables` are written once at
the end. The report shows every definition :func:`~medlib.measures.definitions.load_definitions`
reads (the package's, plus any folders given in ``measure_dirs``), so a measure is added to
every trust's report by adding a YAML file: no code changes.

For each measure the page shows the trust's monthly value against the national deciles, its
percentile in the latest month, and OP-H's potential for improvement and most improved over
the last 12 months of the measure's data (:mod:`medlib.measures.compute`); the overview lists
the measures sorted by potential for improvement. A measure the data cannot support (no
product in the products reference matches it, none of its products has a DDD, or the data
hold no use of its products) is listed with the reason instead of being left out silently.

Each measure covers its own months: the bundled sample's extracts end at different months
(antibacterials November 2020, biologics October 2021, lithium March 2024), so each measure's
window ends at its last month of data up to the report's period end, and the page says which.

The figures are quantities of medicines (DDDs, units issued, indicative cost) summed per trust
and month, not counts of patients, so no disclosure control applies to them.
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
from medlib.measures.compute import MeasureResults, compute_measures
from medlib.measures.definitions import DEFINITIONS_DIR, MeasureDefinition, load_definitions
from medlib.measures.products import measure_products
from medlib.pack_cache import pack_cached
from medlib.present import charts
from medlib.present.sections import Report, Section, Table, lead_table
from medlib.present.wording import format_month, format_month_short
from medlib.reference.trusts import nhs_name, trust_names

__all__ = [
    "DIRECTION_TEXT",
    "MeasuresReport",
    "NationalMeasures",
    "OVERVIEW_CAPTION",
    "OVERVIEW_SHOWN",
    "build",
    "national_measures",
    "not_computed_reasons",
    "overview_table",
    "overview_view",
]

#: How each value judgement reads on the page.
DIRECTION_TEXT = {True: "Lower is better", False: "Higher is better", None: "No judgement"}
#: What each quantity type sums, for axis labels and sentences.
QUANTITY_TEXT = {"ddd": "defined daily doses (DDDs)", "quantity": "units issued", "cost": "spend"}
#: Why a measure is not computed, by case.
NOT_COMPUTED = {
    "no_products": "no product in the products reference matches its definition",
    "no_ddd": "none of the {n} products it selects has a DDD per unit, so DDDs cannot be summed",
    "no_use": "the data hold no use of the {n} products it selects",
}


@dataclass(frozen=True)
class NationalMeasures:
    """Every measure for every trust, computed once per pack.

    Attributes:
        results: :func:`~medlib.measures.compute.compute_measures` over the store's usage.
        where: How the page names the data ("the bundled SCMD extracts", "the store at PATH").
        not_computed: Measures the data cannot support: ``measure_id, measure, reason``.
    """

    results: MeasureResults
    where: str
    not_computed: pd.DataFrame

    @property
    def definitions(self) -> tuple[MeasureDefinition, ...]:
        """Every definition read, computed or not."""
        return self.results.definitions


def not_computed_reasons(results: MeasureResults) -> pd.DataFrame:
    """The measures with no value for any trust, and why.

    Args:
        results: From :func:`~medlib.measures.compute.compute_measures`.

    Returns:
        ``measure_id, measure, reason``, in definition order.

    Example:
        >>> from medlib.measures.definitions import parse_definition
        >>> d = parse_definition({"id": "m", "title": "M", "why_it_matters": "w",
        ...     "numerator": {"vmp_codes": ["9"]}, "denominator": {"vmp_codes": ["9"]},
        ...     "quantity": "quantity", "lower_is_better": None, "citation": "c"})
        >>> empty = pd.DataFrame(columns=["measure_id", "vmp_code", "counted"])
        >>> r = MeasureResults(pd.DataFrame(columns=["measure_id"]), None, None, empty, None, (d,))
        >>> not_computed_reasons(r).reason.tolist()
        ['no product in the products reference matches its definition']
    """
    with_values = set(results.values["measure_id"])
    rows = []
    for definition in results.definitions:
        if definition.id in with_values:
            continue
        products = results.products[results.products["measure_id"] == definition.id]
        if products.empty:
            reason = NOT_COMPUTED["no_products"]
        elif not products["counted"].astype(bool).any():
            reason = NOT_COMPUTED["no_ddd"].format(n=len(products))
        else:
            reason = NOT_COMPUTED["no_use"].format(n=len(products))
        rows.append({"measure_id": definition.id, "measure": definition.title, "reason": reason})
    return pd.DataFrame(rows, columns=["measure_id", "measure", "reason"])


@pack_cached
def national_measures(
    store: str = "",
    measure_dirs: tuple[str, ...] = (),
    through: str = "",
    backend: str = "duckdb",
) -> NationalMeasures:
    """Compute every measure for every trust, once per pack (:mod:`medlib.pack_cache`).

    Args:
        store: The data store's folder; empty for every bundled SCMD extract
            (:data:`~medlib.io.datasets.MEASURES_STORE_EXTRACTS`).
        measure_dirs: Folders of extra definitions, read after the package's.
        through: Last month used (``YYYY-MM``); empty for all the data.
        backend: ``duckdb`` or ``pyspark``.

    Raises:
        InputError: The store has no usage rows.
        MeasureDefinitionError: A definition file is invalid (naming the file and field).
    """
    from medlib import engine
    from medlib.io.datasets import MEASURES_STORE_EXTRACTS, bundled_store, load_dataset
    from medlib.io.reference_store import store_products
    from medlib.io.store import Store

    definitions = load_definitions([DEFINITIONS_DIR, *measure_dirs])
    source = Store(store) if store else bundled_store(MEASURES_STORE_EXTRACTS)
    where = (
        f"the store at {source.root}"
        if store
        else "the bundled NHSBSA Secondary Care Medicines Data (SCMD) extracts"
    )
    if not source.usage_files():
        raise InputError(
            f"{where} has no usage rows; add SCMD files with 'medlib ingest FILE --store "
            f"{source.root}'"
        )
    products = store_products(source)
    if products is None:
        products = load_dataset("products")
    con = engine.connect(backend)
    usage = con.read_parquet(source.usage_glob())
    results = compute_measures(
        usage,
        definitions,
        measure_products(products),
        through=through or None,
        con=con,
    )
    return NationalMeasures(
        results=results, where=where, not_computed=not_computed_reasons(results)
    )


def overview_table(national: NationalMeasures, trust_code: str) -> pd.DataFrame:
    """One row per measure for the trust, sorted by potential for improvement (highest first).

    Measures without a potential (no value judgement, too few months, or no use at the trust)
    follow, then the measures the data cannot support.

    Args:
        national: From :func:`national_measures`.
        trust_code: The trust (successor code).

    Returns:
        ``measure_id, measure, direction, latest_month, value_share, national_median_share,
        percent_rank, trusts_compared, potential_for_improvement, most_improved,
        window_start, window_end, note``.
    """
    results = national.results
    values = results.values
    medians = results.percentiles[results.percentiles["percentile"] == 50.0]
    medians = medians.set_index(["measure_id", "year_month"])
    metrics = results.improvement.set_index(["measure_id", "trust_code"])
    skipped = set(national.not_computed["measure_id"])
    rows = []
    for definition in results.definitions:
        row: dict[str, Any] = {
            "measure_id": definition.id,
            "measure": definition.title,
            "direction": DIRECTION_TEXT[definition.lower_is_better],
        }
        if definition.id in skipped:
            reason = national.not_computed.set_index("measure_id").loc[definition.id, "reason"]
            rows.append({**row, "note": f"Not computed: {reason}."})
            continue
        mine = values[
            (values["measure_id"] == definition.id) & (values["trust_code"] == trust_code)
        ]
        if mine.empty:
            rows.append({**row, "note": "No use of this measure's products at this trust."})
            continue
        valued = mine[mine["value"].notna()]
        latest = valued.iloc[-1] if len(valued) else mine.iloc[-1]
        month = pd.Timestamp(latest["year_month"])
        median = medians["value"].get((definition.id, month), np.nan)
        trusts = medians["trusts"].get((definition.id, month), np.nan)
        row.update(
            latest_month=month,
            value_share=latest["value"],
            national_median_share=median,
            percent_rank=latest["percent_rank"],
            trusts_compared=trusts,
        )
        if (definition.id, trust_code) in metrics.index:
            m = metrics.loc[(definition.id, trust_code)]
            row.update(
                potential_for_improvement=m["potential_for_improvement"],
                most_improved=m["most_improved"],
                window_start=m["window_start"],
                window_end=m["window_end"],
                note=m["note"],
            )
        rows.append(row)
    columns = [
        "measure_id",
        "measure",
        "direction",
        "latest_month",
        "value_share",
        "national_median_share",
        "percent_rank",
        "trusts_compared",
        "potential_for_improvement",
        "most_improved",
        "window_start",
        "window_end",
        "note",
    ]
    table = pd.DataFrame(rows, columns=columns)
    for column in ("latest_month", "window_start", "window_end"):
        table[column] = pd.to_datetime(table[column]).astype("datetime64[ns]")
    for column in columns[4:10]:
        table[column] = pd.to_numeric(table[column], errors="coerce").astype("float64")
    table["_computed"] = ~table["measure_id"].isin(skipped)
    table = table.sort_values(
        ["_computed", "potential_for_improvement", "measure"],
        ascending=[False, False, True],
        na_position="last",
        kind="mergesort",
    )
    return table.drop(columns="_computed").reset_index(drop=True)


#: The overview columns a page shows (the published table has them all).
OVERVIEW_SHOWN = (
    "measure",
    "latest_month",
    "value_share",
    "national_median_share",
    "percent_rank",
    "potential_for_improvement",
    "most_improved",
)
#: What the overview's figures mean, under every view of it.
OVERVIEW_CAPTION = (
    "Percentile: where the trust's value sits among all trusts that month (0 the lowest value, "
    "100 the highest). Potential for improvement: 0 at the best trusts, 100 at the worst, over "
    "the measure's last 12 months; a measure with no value judgement is not ranked. Most "
    "improved: the change in percentile position from the first 3 to the last 3 of those "
    "months, in points; positive is better."
)


def overview_view(table: pd.DataFrame, keys: Sequence[str] = ("measure",)) -> Table:
    """An overview table (one trust's, or several trusts' with ``trust_name``) as a page shows it.

    Args:
        table: Rows of :func:`overview_table`.
        keys: Columns that identify a row, shown first.
    """
    columns = [*keys, *(c for c in OVERVIEW_SHOWN if c not in keys)]
    return lead_table(
        table.assign(most_improved=table["most_improved"].round(1)),
        columns=columns,
        keys=tuple(keys),
        labels={
            "potential_for_improvement": "Potential for improvement",
            "most_improved": "Most improved",
        },
        caption=OVERVIEW_CAPTION,
        empty="No measure is defined.",
    )


def _window_text(start: object, end: object) -> str:
    if pd.isna(start) or pd.isna(end):
        return ""
    return f"{format_month_short(start)} to {format_month_short(end)}"


def _pct(value: object) -> str:
    return "no value" if pd.isna(value) else f"{float(value):.1%}"


class MeasuresReport(Report):
    """Everything the measures notebook shows, for one trust. Build it with :func:`build`."""

    def __init__(self, context: ReportContext, national: NationalMeasures) -> None:
        self.context = context
        self.national = national
        self.trust_code = context.trust_codes[0]
        self.trust_name = nhs_name(trust_names().get(self.trust_code, self.trust_code))

    # --- tables -------------------------------------------------------------------------

    @cached_property
    def overview(self) -> pd.DataFrame:
        """:func:`overview_table` for this trust."""
        return overview_table(self.national, self.trust_code)

    def monthly(self) -> pd.DataFrame:
        """The trust's values per measure and month, with the national median beside them."""
        results = self.national.results
        values = results.values[results.values["trust_code"] == self.trust_code]
        medians = results.percentiles[results.percentiles["percentile"] == 50.0]
        medians = medians.rename(columns={"value": "national_median_share"})
        out = values.merge(
            medians[["measure_id", "year_month", "national_median_share", "trusts"]],
            on=["measure_id", "year_month"],
            how="left",
        )
        out = out.rename(columns={"value": "value_share", "trusts": "trusts_compared"})
        columns = [
            "measure_id",
            "trust_code",
            "year_month",
            "numerator",
            "denominator",
            "value_share",
            "national_median_share",
            "percent_rank",
            "percentile_position",
            "trusts_compared",
            "note",
        ]
        return out[columns].reset_index(drop=True)

    def national_percentiles(self) -> pd.DataFrame:
        """Every measure's national percentiles per month (the same for every trust)."""
        table = self.national.results.percentiles.rename(
            columns={"value": "value_share", "trusts": "trusts_compared"}
        )
        return table.reset_index(drop=True)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The lead-facing tables, keyed by file name."""
        return {
            "measures_overview": self.overview.assign(trust_code=self.trust_code)[
                ["trust_code", *self.overview.columns]
            ],
            "measures_monthly": self.monthly(),
            "measures_national_percentiles": self.national_percentiles(),
            "measures_not_computed": self.national.not_computed.copy(),
            "measures_excluded_products": self.national.results.excluded.copy(),
        }

    # --- sections -----------------------------------------------------------------------

    def sections(self) -> Mapping[str, Callable[[], Section]]:
        """The notebook's sections, in page order."""
        return {
            "data_statement": self.data_statement,
            "overview": self.overview_section,
            "measures": self.measures_section,
        }

    def computed(self) -> list[MeasureDefinition]:
        """The measures with values, in the overview's order (most potential first)."""
        by_id = {d.id: d for d in self.national.definitions}
        skipped = set(self.national.not_computed["measure_id"])
        return [by_id[i] for i in self.overview["measure_id"] if i not in skipped]

    def data_statement(self) -> Section:
        """Which data, which months each measure covers, and the measures not shown."""
        values = self.national.results.values
        spans = []
        for definition in self.computed():
            months = values.loc[values["measure_id"] == definition.id, "year_month"]
            spans.append(
                f"- **{definition.title}**: {format_month(months.min())} to "
                f"{format_month(months.max())}"
            )
        parts = [
            f"Measures are computed from {self.national.where}, for every trust in the data, "
            f"up to {format_month(self.context.period_end)}. Each measure covers the months "
            "of its own products:",
            "\n".join(spans) if spans else "- none: no measure has data.",
        ]
        if len(self.national.not_computed):
            lines = [
                f"- **{row.measure}**: {row.reason}."
                for row in self.national.not_computed.itertuples()
            ]
            parts.append(
                "The data cannot support these measures, so they are not shown:\n"
                + "\n".join(lines)
            )
        excluded = self.national.results.excluded
        if len(excluded):
            counts = excluded.groupby("measure_id")["vmp_code"].nunique()
            titles = {d.id: d.title for d in self.national.definitions}
            listed = "; ".join(
                f"{titles.get(i, i)}: {n} product{'s' if n != 1 else ''}" for i, n in counts.items()
            )
            parts.append(
                "Products used in the data but left out because they have no DDD per unit "
                f"(listed in the pack's table of excluded products): {listed}."
            )
        return Section(*parts)

    def overview_section(self) -> Section:
        """The measures sorted by potential for improvement, with one sentence on the top one."""
        table = self.overview
        ranked = table.dropna(subset=["potential_for_improvement"])
        if ranked.empty:
            lead = (
                f"No measure can be ranked for {self.trust_name}: none has both a value "
                "judgement and at least 6 months of data at this trust."
            )
        else:
            top = ranked.iloc[0]
            lead = (
                f"Of {len(ranked)} ranked measure{'s' if len(ranked) != 1 else ''}, "
                f"{self.trust_name} has most potential for improvement on "
                f"**{top['measure']}** ({top['potential_for_improvement']:.0f} of 100: its "
                "furthest point from the best trusts over the measure's last 12 months)."
            )
        # The direction is said in each measure's chart and sentence; seven columns fit A4.
        view = overview_view(table)
        notes = table[table["note"].notna()]
        lines = [f"- **{row.measure}**: {row.note}" for row in notes.itertuples()]
        parts: list[Any] = [lead, view]
        if lines:
            parts.append("Notes:\n" + "\n".join(lines))
        return Section(*parts)

    def measure_chart(self, definition: MeasureDefinition) -> Figure | str:
        """The trust's monthly value against the national deciles."""
        results = self.national.results
        deciles = results.percentiles[results.percentiles["measure_id"] == definition.id]
        mine = results.values[
            (results.values["measure_id"] == definition.id)
            & (results.values["trust_code"] == self.trust_code)
        ]
        if deciles.empty:
            return "No month has a national value to compare with."
        return charts.decile_chart(
            deciles[["year_month", "percentile", "value"]],
            mine[["year_month", "value"]],
            definition.title,
            y_label="Share" if definition.quantity != "cost" else "Share of spend",
            org_label=self.trust_code,
            percent=True,
            subtitle=(
                f"{self.trust_name} against the national deciles; "
                f"{QUANTITY_TEXT[definition.quantity]}. "
                f"{DIRECTION_TEXT[definition.lower_is_better]}."
            ),
        )

    def measure_sentence(self, definition: MeasureDefinition) -> str:
        """The trust's latest value, percentile and the two improvement metrics, in words."""
        row = self.overview.set_index("measure_id").loc[definition.id]
        if pd.isna(row["latest_month"]):
            return f"{self.trust_name}: {row['note']}"
        text = (
            f"In {format_month(row['latest_month'])}, {self.trust_name}: "
            f"{_pct(row['value_share'])} against a national median of "
            f"{_pct(row['national_median_share'])}"
        )
        if not pd.isna(row["percent_rank"]):
            text += (
                f" (percentile {row['percent_rank']:.0f} of {int(row['trusts_compared'])} trusts)."
            )
        else:
            text += " (not compared this month)."
        if definition.lower_is_better is None:
            return text + " This measure makes no value judgement, so trusts are not ranked on it."
        if pd.isna(row["potential_for_improvement"]):
            return text + f" Not ranked: {row['note']}."
        window = _window_text(row["window_start"], row["window_end"])
        change = row["most_improved"]
        if pd.isna(change):
            moved = f"no figure ({row['note']})"
        elif change == 0:
            moved = "no change"
        else:
            moved = f"{abs(change):.1f} points {'better' if change > 0 else 'worse'}"
        return (
            text
            + f" Over {window}: potential for improvement {row['potential_for_improvement']:.0f}"
            f" of 100; from the first 3 months to the last 3, {moved}."
        )

    def months_sentence(self, definition: MeasureDefinition) -> str:
        """The trust's months whose value is missing, not compared or outside 0-100%, if any.

        Empty when every month has an ordinary value. Returns of products make a denominator
        zero or negative, or a value leave 0-100% (OP-H notes this of its own data).
        """
        values = self.national.results.values
        mine = values[
            (values["measure_id"] == definition.id) & (values["trust_code"] == self.trust_code)
        ]
        counts = mine["note"].dropna().value_counts()
        if counts.empty:
            return ""
        parts = [f"{n} month{'s' if n != 1 else ''}: {note}" for note, n in sorted(counts.items())]
        return f"Of this trust's {len(mine)} months, " + "; ".join(parts) + "."

    def measures_section(self) -> Section:
        """Every computed measure: what it is, why it matters, the chart and the sentence."""
        parts: list[Any] = []
        for definition in self.computed():
            parts.append(f"### {definition.title}")
            if definition.description:
                parts.append(definition.description)
            parts.append(f"**Why it matters.** {definition.why_it_matters}")
            parts.append(self.measure_chart(definition))
            parts.append(self.measure_sentence(definition))
            months = self.months_sentence(definition)
            if months:
                parts.append(months)
            parts.append(f"*Source: {definition.citation}*")
        if not parts:
            parts.append("No measure has data to show.")
        return Section(*parts)


def build(
    context: ReportContext,
    *,
    store: str = "",
    measure_dirs: Sequence[str] = (),
    backend: str = "duckdb",
) -> MeasuresReport:
    """The measures report for one trust.

    Args:
        context: The trust and period end (:func:`medlib.context.resolve_context`).
        store: The data store's folder; empty for every bundled SCMD extract.
        measure_dirs: Folders of a team's own measure definitions (``*.yaml``), shown beside
            the package's.
        backend: ``duckdb`` or ``pyspark``.

    Raises:
        InputError: The context is a system, or the store has no usage rows.
        MeasureDefinitionError: A definition file is invalid (naming the file and field).
    """
    if context.is_system:
        raise InputError(
            f"trust_code: the measures report is for one trust; {context.code!r} is a system of "
            f"{len(context.trust_codes)} trusts"
        )
    if isinstance(measure_dirs, str):
        measure_dirs = [measure_dirs] if measure_dirs else []
    national = national_measures(
        store=store,
        measure_dirs=tuple(str(d) for d in measure_dirs),
        through=f"{context.period_end:%Y-%m}",
        backend=backend,
    )
    return MeasuresReport(context, national)
