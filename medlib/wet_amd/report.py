"""The wet AMD treatment-intervals report: its sections, sentences and tables.

``notebooks/wet_amd.ipynb`` resolves a :class:`~medlib.context.ReportContext`, calls
:func:`build` and shows one section per cell; :meth:`WetAmdReport.tables` are written once at
the end. The injections are the store's wet AMD anti-VEGF rows of the context's comparison
group, or the synthetic sample for a fixed set of trusts when the store has none
(:mod:`medlib.wet_amd.data`); either way every trust's report of a pack is made from the same
records and shows the same peer figures. The analysis runs to the last day of the period end.

Every count a lead sees comes from :func:`medlib.wet_amd.lead_views.lead_tables_from` (1-7
shown as ``*``, others rounded to 5, secondary suppression, percentages and funnel limits
from the published counts); the sentences use those published counts too, and the figures
"across all trusts compared" are made from them (percentages) or are means over more than 7
patients (injections per eye, cost per patient-year). No table carries a patient id or eye.
When the data are synthetic, the data statement, the headline, every table's source and every
chart's subtitle say so.

The published tables and their columns are documented in ``docs/wet_amd.md``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from medlib.context import ReportContext
from medlib.engine import BACKENDS
from medlib.errors import InputError
from medlib.pack_cache import pack_cached
from medlib.present import charts as present_charts
from medlib.present import disclosure
from medlib.present.disclosure import POLICY_MARKDOWN, SUPPRESSED
from medlib.present.labels import column_label
from medlib.present.sections import Report, Section, Table, lead_table
from medlib.present.wording import format_count, format_gbp, format_month, format_pct
from medlib.reference.trusts import trust_names
from medlib.stats.peer_comparison import FunnelResult
from medlib.synthetic.anti_vegf import BEHAVIOURS
from medlib.wet_amd import _records, charts
from medlib.wet_amd.cost import ALL_MOLECULES, cost_per_patient_year
from medlib.wet_amd.data import Injections, Source, choose_source, read_source
from medlib.wet_amd.intervals import BANDS, LOADING_DOSES, THRESHOLD_WEEKS
from medlib.wet_amd.lead_views import FUNNEL_WEEKS, latest_interval_funnel, lead_tables_from
from medlib.wet_amd.summary import trust_summary

__all__ = [
    "ALL_TRUSTS",
    "SECTIONS",
    "TABLES",
    "WetAmdAnalysis",
    "WetAmdReport",
    "analyse",
    "build",
    "check_options",
    "pooled_percent",
    "shared_analysis",
]

#: How tables and sentences name the trusts compared, taken together.
ALL_TRUSTS = "All trusts compared"
#: The sections of the notebook, in page order.
SECTIONS = (
    "data_statement",
    "headline",
    "latest_interval",
    "interval_bands",
    "injections",
    "cost",
    "funnel",
)
#: Published table -> what it holds.
TABLES = {
    "amd_headline": "the headline figures for this trust beside all trusts compared",
    "amd_latest_interval": "patients whose latest interval is at least 8, 12 and 16 weeks",
    "amd_interval_bands": "maintenance intervals by length",
    "amd_injections": "injections per eye in the first and second year of treatment",
    "amd_cost": "cost per patient-year by trust, calendar year and molecule",
    "amd_cost_all_trusts": "cost per patient-year of all trusts compared, by calendar year",
    "amd_funnel": f"patients whose latest interval is at least {FUNNEL_WEEKS} weeks, "
    "with funnel limits",
}
_BANDS = [(name, label) for name, label, *_ in BANDS]
#: Columns that name a patient or an eye: never in a lead-facing table.
_IDENTIFYING = re.compile(r"patient_?id|nhs_?(number|no)|pseudonym|^eye$", re.IGNORECASE)
#: Funnel limit columns of the lead views, and the names published (0-100 percentages).
_LIMIT_COLUMNS = {
    "lower_95": "lower_95_pct",
    "upper_95": "upper_95_pct",
    "lower_99_8": "lower_99_8_pct",
    "upper_99_8": "upper_99_8_pct",
}
_POSITION_WORDS = {
    "within limits": "within the funnel limits (no more different from the average than "
    "chance would explain)",
    "above 95%": "above the upper 95% funnel limit",
    "above 99.8%": "above the upper 99.8% funnel limit (more patients on long intervals than "
    "chance explains)",
    "below 95%": "below the lower 95% funnel limit",
    "below 99.8%": "below the lower 99.8% funnel limit (fewer patients on long intervals than "
    "chance explains)",
}


# --------------------------------------------------------------------------- the analysis


@dataclass(frozen=True)
class WetAmdAnalysis:
    """Every trust's results, computed once for every report of a pack.

    Attributes:
        injections: The records and what they are.
        loading_doses: Injections in the loading phase.
        summary: :func:`medlib.wet_amd.summary.trust_summary` (raw counts: analysts only).
        cost: :func:`medlib.wet_amd.cost.cost_per_patient_year` by calendar year (raw).
        pooled_cost: The trusts compared taken together, all molecules, by calendar year
            (raw): ``period, patients, cost_per_patient_year``.
        lead: The lead-facing tables of :func:`medlib.wet_amd.lead_views.lead_tables_from`.
        funnel: Funnel limits of the 12-week share from the published counts, or None when
            no trust shows both counts.
    """

    injections: Injections
    loading_doses: int
    summary: pd.DataFrame
    cost: pd.DataFrame
    pooled_cost: pd.DataFrame
    lead: dict[str, pd.DataFrame] = field(repr=False)
    funnel: FunnelResult | None = field(default=None, repr=False)


def analyse(
    injections: Injections, loading_doses: int = LOADING_DOSES, backend: str = "duckdb"
) -> WetAmdAnalysis:
    """Run the wet AMD analysis on a set of injections, to their data end.

    Args:
        injections: From :func:`medlib.wet_amd.data.load_injections`.
        loading_doses: Injections in the loading phase (3).
        backend: Query engine, ``duckdb`` or ``pyspark``.
    """
    records, through = injections.records, injections.through
    summary = trust_summary(records, through=through, loading_doses=loading_doses, backend=backend)
    cost = cost_per_patient_year(records, period="year", through=through, backend=backend)
    # One "trust" holding every trust's records: its patients and time on treatment pooled.
    pooled = cost_per_patient_year(
        records.assign(trust_code=ALL_TRUSTS), period="year", through=through, backend=backend
    )
    pooled = pooled.loc[
        pooled["molecule"] == ALL_MOLECULES, ["period", "patients", "cost_per_patient_year"]
    ].reset_index(drop=True)
    try:
        funnel = latest_interval_funnel(summary, FUNNEL_WEEKS)
    except InputError:
        funnel = None
    return WetAmdAnalysis(
        injections=injections,
        loading_doses=loading_doses,
        summary=summary,
        cost=cost,
        pooled_cost=pooled,
        lead=lead_tables_from(summary, cost),
        funnel=funnel,
    )


@pack_cached
def shared_analysis(source: Source, loading_doses: int, backend: str) -> WetAmdAnalysis:
    """:func:`analyse` on a source's injections, once per pack render."""
    return analyse(read_source(source), loading_doses, backend)


def check_options(seed: object, loading_doses: object, backend: object, store: object) -> None:
    """Validate the report's options before any work starts.

    The trust and the period are checked once, by :func:`medlib.context.resolve_context`.

    Raises:
        InputError: Naming the option, what it was and what is expected.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed must be a whole number of 0 or more, got {seed!r}")
    _records.check_loading(loading_doses)  # type: ignore[arg-type]
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if not isinstance(store, str):
        raise InputError(f"store: expected a folder or '' for the bundled sample, got {store!r}")
    if store and not os.path.isdir(store):
        raise InputError(f"store: {store!r} is not a folder (build one with medlib ingest)")


# --------------------------------------------------------------------------- helpers


def _hidden(value: object) -> bool:
    """Whether a published value cannot be used: ``*`` or missing."""
    if value is None or value == SUPPRESSED:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def pooled_percent(numerators: Sequence[object], denominators: Sequence[object]) -> float | None:
    """The published numerators over the published denominators, as a percentage.

    Trusts with either count shown as ``*`` (or a zero denominator) are left out, as they are
    from the funnel's average, so the figure is made from the published counts alone.

    Example:
        >>> pooled_percent([40, "*", 10], [95, 150, 205])
        16.7
        >>> pooled_percent(["*"], [10]) is None
        True
    """
    pairs = [
        (float(n), float(d))  # type: ignore[arg-type]
        for n, d in zip(numerators, denominators, strict=True)
        if not _hidden(n) and not _hidden(d) and float(d) != 0  # type: ignore[arg-type]
    ]
    if not pairs:
        return None
    return round(100.0 * sum(n for n, _ in pairs) / sum(d for _, d in pairs), 1)


def _pct_words(value: object) -> str:
    if value is None:
        return "not available (no patients in maintenance)"
    if value == SUPPRESSED:
        return "not shown (small numbers)"
    return format_pct(float(value))  # type: ignore[arg-type]


def _mean_words(value: object) -> str:
    if value is None:
        return "none yet"
    if value == SUPPRESSED:
        return "not shown (small numbers)"
    return f"{float(value):.1f}"  # type: ignore[arg-type]


def _range_words(values: Sequence[object], render: Callable[[float], str]) -> str | None:
    shown = [float(v) for v in values if not _hidden(v)]  # type: ignore[arg-type]
    if not shown:
        return None
    low, high = min(shown), max(shown)
    return render(low) if low == high else f"{render(low)} to {render(high)}"


def _sentence(text: str) -> str:
    """A list item of Markdown, its first letter a capital."""
    return f"- {text[:1].upper()}{text[1:]}"


def _rows(count: int) -> str:
    """A count of rows in words, after the small-number rule (a row is one injection)."""
    return format_count(disclosure.disclose_count(int(count)), "rows")


def _and_list(words: Sequence[str]) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _one_decimal(table: Table, columns: Sequence[str]) -> Table:
    """The table with these columns (labels) written to one decimal place."""

    def write(value: object) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        return value if isinstance(value, str) else f"{float(value):.1f}"  # type: ignore[arg-type]

    formats = {**table.formats, **{c: write for c in columns if c in table.frame.columns}}
    return replace(table, formats=formats)


# --------------------------------------------------------------------------- the report


class WetAmdReport(Report):
    """The wet AMD notebook's sections and tables for one trust.

    Args:
        context: The report's trust and period end.
        analysis: Every trust's results (from :func:`shared_analysis` or :func:`analyse`).
    """

    def __init__(self, context: ReportContext, analysis: WetAmdAnalysis) -> None:
        self.context = context
        self.analysis = analysis

    # ----------------------------------------------------------------- what the report is

    @property
    def code(self) -> str:
        """ODS code of the report's trust."""
        return self.context.code

    @property
    def injections(self) -> Injections:
        """The records the report is made from (patient level: analysts only)."""
        return self.analysis.injections

    @property
    def synthetic(self) -> bool:
        """Whether the data are the synthetic sample."""
        return self.injections.synthetic

    @property
    def source(self) -> str:
        """How tables name the data (says "synthetic" when they are)."""
        return self.injections.source

    @property
    def has_data(self) -> bool:
        """Whether the report's trust has injections in the data."""
        return self.code in set(self.analysis.summary["trust_code"])

    @property
    def trusts(self) -> list[str]:
        """The trusts compared: this trust first (when it has data), then by code."""
        codes = sorted(self.analysis.summary["trust_code"])
        return ([self.code] if self.has_data else []) + [c for c in codes if c != self.code]

    def _tag(self) -> str:
        return " (synthetic data)" if self.synthetic else ""

    def _subtitle(self) -> str:
        data = "SYNTHETIC DATA" if self.synthetic else "Data store hcd_activity"
        return (
            f"{data}; data to {self.injections.through.day} {format_month(self.injections.through)}"
        )

    def _label(self, code: str) -> str:
        return f"{code} (this trust)" if code == self.code else code

    def _ordered(self, table: pd.DataFrame) -> pd.DataFrame:
        """Rows of a per-trust table in :attr:`trusts` order."""
        order = {c: i for i, c in enumerate(self.trusts)}
        out = table.assign(_o=table["trust_code"].map(order)).sort_values("_o", kind="stable")
        return out.drop(columns="_o").reset_index(drop=True)

    def _row(self, name: str) -> pd.Series | None:
        table = self.analysis.lead[name]
        mine = table[table["trust_code"] == self.code]
        return None if mine.empty else mine.iloc[0]

    def _others(self, name: str, column: str) -> list[object]:
        table = self.analysis.lead[name]
        return table.loc[table["trust_code"] != self.code, column].tolist()

    # ----------------------------------------------------------------- figures

    def _pooled_latest(self, weeks: int) -> float | None:
        table = self.analysis.lead["amd_latest_interval"]
        return pooled_percent(
            table[f"patients_latest_{weeks}w_plus"], table["patients_in_maintenance"]
        )

    def _pooled_injections(self, year: int) -> float | None:
        """Mean injections per eye over the trusts whose patient count is shown.

        A mean over more than 7 patients, as every trust with a shown count has; trusts
        shown as ``*`` are left out so the figure says nothing about them.
        """
        summary = self.analysis.summary.set_index("trust_code")
        shown = self.analysis.lead["amd_injections"].set_index("trust_code")[f"patients_year{year}"]
        keep = [t for t, v in shown.items() if not _hidden(v) and v != 0]
        eyes = summary.loc[keep, f"eyes_year{year}"].astype(float)
        means = summary.loc[keep, f"injections_year{year}_per_eye"].astype(float)
        if eyes.sum() == 0:
            return None
        return round(float((eyes * means.fillna(0)).sum() / eyes.sum()), 1)

    def _cost_year(self) -> str | None:
        """The latest calendar year wholly inside the data, else the latest year there is."""
        periods = sorted(set(self.analysis.cost["period"]), key=int)
        if not periods:
            return None
        through = self.injections.through
        whole = [p for p in periods if pd.Timestamp(f"{p}-12-31") <= through]
        return whole[-1] if whole else periods[-1]

    def _period_label(self, period: str) -> str:
        """A calendar year as pages write it, saying when only part of it is in the data."""
        start, end = pd.Timestamp(f"{period}-01-01"), pd.Timestamp(f"{period}-12-31")
        first, through = self.injections.first_day, self.injections.through
        late, early = first > start, through < end
        if late and early:
            return f"{period} ({first:%B} to {through:%B})"
        if early:
            return f"{period} (January to {through:%B})"
        if late:
            return f"{period} (from {first:%B})"
        return period

    def _pooled_cost(self, period: str) -> object:
        pooled = self.analysis.pooled_cost.set_index("period")
        if period not in pooled.index:
            return None
        row = pooled.loc[period]
        shown = disclosure.disclose_count(int(row["patients"]))
        if shown == SUPPRESSED:
            return SUPPRESSED
        value = row["cost_per_patient_year"]
        return None if shown == 0 or pd.isna(value) else round(float(value), -1)

    def headline_figures(self) -> pd.DataFrame:
        """Table ``amd_headline``: this trust's headline figures beside all trusts compared.

        Counts are as published; percentages come from the published counts (the trusts
        compared: their published counts added up, leaving out any shown as ``*``); means and
        costs are over more than 7 patients or ``*``.
        """
        latest = self._row("amd_latest_interval")
        injections = self._row("amd_injections")
        year = self._cost_year()
        cost = self.analysis.lead["amd_cost"]
        mine = cost[
            (cost["trust_code"] == self.code)
            & (cost["period"] == year)
            & (cost["molecule"] == ALL_MOLECULES)
        ]

        def get(row: pd.Series | None, column: str) -> object:
            return None if row is None else row[column]

        rows = [
            ("patients", "Patients treated", get(latest, "patients"), None, "patients"),
            (
                "patients_in_maintenance",
                f"Patients past the {self.analysis.loading_doses} loading doses",
                get(latest, "patients_in_maintenance"),
                None,
                "patients",
            ),
            *(
                (
                    f"percent_latest_{w}w_plus",
                    f"Patients in maintenance whose latest interval is {w} weeks or more",
                    get(latest, f"percent_latest_{w}w_plus"),
                    self._pooled_latest(w),
                    "%",
                )
                for w in THRESHOLD_WEEKS
            ),
            *(
                (
                    f"injections_year{y}_per_eye",
                    f"Injections per eye in year {y} of treatment",
                    get(injections, f"injections_year{y}_per_eye"),
                    self._pooled_injections(y),
                    "injections per eye",
                )
                for y in (1, 2)
            ),
            (
                "cost_per_patient_year",
                f"Cost per patient-year, all molecules, {self._period_label(year)}"
                if year
                else "Cost per patient-year, all molecules",
                mine["cost_per_patient_year"].iloc[0] if len(mine) else None,
                self._pooled_cost(year) if year else None,
                "£ per patient-year",
            ),
        ]
        out = pd.DataFrame(
            rows, columns=["measure_key", "measure", "value", "all_trusts_value", "unit"]
        )
        out.insert(0, "trust_code", self.code)
        out["data_source"] = self.source
        return out.astype(object)

    # ----------------------------------------------------------------- text

    def data_statement(self) -> str:
        """Where the figures come from, the period, and the disclosure policy (Markdown)."""
        inj = self.injections
        span = (
            f"{inj.first_day.day} {format_month(inj.first_day)} to "
            f"{inj.through.day} {format_month(inj.through)}"
        )
        names = trust_names()
        compared = _and_list([f"{names.get(t, t)} ({t})" for t in inj.trusts])
        if inj.synthetic:
            lines = [
                f"**{inj.label}.** There is no public patient-level record of anti-VEGF "
                f"injections, so this report runs on a {inj.source}, generated by the "
                f"workbook: injections from {span} for the {len(inj.trusts)} trusts of the "
                f"sample, {compared}. It shows how the analysis works; it says nothing "
                f"about real care at {self.context.name} or at any other trust.",
                "",
                f"- {self._store_sentence()}",
                self._behaviour_line(),
                "- Every synthetic injection records the eye treated, so each eye is followed "
                "on its own.",
            ]
        else:
            summary = inj.load
            rows = (
                f"- Rows read: {_rows(summary.rows_read)}; accepted: "
                f"{_rows(summary.rows_accepted)}; quarantined: {_rows(summary.rows_quarantined)} "
                "(small-number rule applied)."
                if summary is not None
                else None
            )
            lines = [
                f"**Anti-VEGF injections for wet AMD from the data store's hcd_activity table** "
                f"(real activity, not generated), {span}.",
                "",
                f"- Trusts compared ({self.context.comparison_group} comparison group, with wet "
                f"AMD rows in the store): {compared}.",
                None
                if self.has_data
                else f"- {self.context.name} ({self.code}) has no wet AMD anti-VEGF rows in "
                "the store, so this report shows the other trusts only.",
                f"- Files: {', '.join(inj.files) or 'none named in the ingest log'}.",
                rows,
                f"- Anti-VEGF rows of these trusts left out because their indication is not "
                f"wet AMD, or is missing: "
                f"{_rows(inj.other_indications)}.",
                "- The rows record the eye treated, so each eye is followed on its own."
                if inj.has_eye
                else "- The rows do not say which eye was treated, so each patient's injections "
                "are followed as one course: a patient treated in both eyes shows shorter "
                "intervals than either eye had.",
            ]
        lines += [
            f"- Loading phase: the first {self.analysis.loading_doses} injections of each "
            "treated eye; every later interval is a maintenance interval.",
            f"- Small numbers: {POLICY_MARKDOWN}",
        ]
        return "\n".join(line for line in lines if line is not None)

    def _store_sentence(self) -> str:
        inj = self.injections
        if inj.store_trusts:
            return (
                "The data store has wet AMD anti-VEGF rows only for trusts outside this "
                f"report's {self.context.comparison_group} comparison group "
                f"({', '.join(inj.store_trusts)}), so the synthetic sample stands in."
            )
        return (
            "The data store has no wet AMD anti-VEGF rows, so the synthetic sample stands in; "
            "ingest the trusts' own injections (medlib ingest FILE --table hcd_activity) to "
            "report on real activity."
        )

    def _behaviour_line(self) -> str:
        behaviour = self.injections.behaviours.get(self.code)
        if behaviour is None:
            return (
                f"- {self.context.name} ({self.code}) is not one of the trusts of the sample, "
                "so this report shows the other trusts only."
            )
        return (
            f"- The intervals planted for {self.code} follow one of three patterns the sample "
            f"deals out to its trusts: {BEHAVIOURS[behaviour].description}."
        )

    def _compared(self) -> str:
        """How sentences name all the trusts compared."""
        n = len(self.trusts)
        return {1: "the one trust compared", 2: "both trusts compared"}.get(
            n, f"all {n} trusts compared"
        )

    def headline(self) -> str:
        """Two to four plain sentences: patients, the 12-week share, injections and cost."""
        lead = "In this synthetic sample, " if self.synthetic else ""
        pooled12 = self._pooled_latest(FUNNEL_WEEKS)
        if not self.has_data:
            return "\n".join(
                [
                    _sentence(
                        f"{lead}{self.context.name} ({self.code}) has no anti-VEGF injections "
                        f"for wet AMD, so this report shows {self._compared()}."
                    ),
                    _sentence(
                        f"Across them, {_pct_words(pooled12)} of patients in maintenance had a "
                        f"latest interval of {FUNNEL_WEEKS} weeks or more."
                    ),
                ]
            )
        inj = self.injections
        latest = self._row("amd_latest_interval")
        injections = self._row("amd_injections")
        figures = self.headline_figures().set_index("measure_key")
        maintenance = latest["patients_in_maintenance"]
        doses = f"their {self.analysis.loading_doses} loading doses"
        ended = (
            f"none of them had finished {doses}"
            if maintenance == 0
            else f"{format_count(maintenance, 'of them')} had had {doses} and were in maintenance"
        )
        first = _sentence(
            f"{lead}{format_count(latest['patients'])} were treated with anti-VEGF injections "
            f"for wet AMD at {self.code} from {format_month(inj.first_day)} to "
            f"{format_month(inj.through)}; {ended}."
        )
        share = latest[f"percent_latest_{FUNNEL_WEEKS}w_plus"]
        where = f"of patients in maintenance at {self.code}"
        opening = (
            f"The share {where} whose latest interval was {FUNNEL_WEEKS} weeks or more is "
            f"{_pct_words(share)}"
            if _hidden(share)
            else f"{format_pct(float(share))} {where} had a latest interval of "
            f"{FUNNEL_WEEKS} weeks or more"
        )
        others = _range_words(
            self._others("amd_latest_interval", f"percent_latest_{FUNNEL_WEEKS}w_plus"),
            format_pct,
        )
        position = self._row("amd_funnel")["position"]
        second = _sentence(
            f"{opening}, against {_pct_words(pooled12)} across {self._compared()}"
            + (f" (the other trusts: {others})" if others else "")
            + (
                f"; {self.code} is {_POSITION_WORDS[position]}"
                if position in _POSITION_WORDS
                else ""
            )
            + "."
        )
        means = [_mean_words(injections[f"injections_year{y}_per_eye"]) for y in (1, 2)]
        ranges = [
            _range_words(
                self._others("amd_injections", f"injections_year{y}_per_eye"),
                lambda v: f"{v:.1f}",
            )
            for y in (1, 2)
        ]
        third = _sentence(
            f"Injections per eye at {self.code}, over the eyes with a whole year of treatment "
            f"in the data: {means[0]} in the first year and {means[1]} in the second"
            + (f" (the other trusts: {ranges[0]} and {ranges[1]})" if all(ranges) else "")
            + "."
        )
        year = self._cost_year()
        fourth = self._cost_sentence(figures.loc["cost_per_patient_year"], year) if year else None
        return "\n".join(line for line in (first, second, third, fourth) if line)

    def _cost_sentence(self, cost: pd.Series, year: str) -> str:
        when = self._period_label(year)
        prices = "list prices" if self.synthetic else "the prices in the data"
        overall = cost["all_trusts_value"]
        others = (
            f"about {format_gbp(float(overall))}"
            if not _hidden(overall)
            else "not shown (small numbers)"
            if overall == SUPPRESSED
            else "not available"
        )
        value = cost["value"]
        if value == SUPPRESSED:
            return _sentence(
                f"The cost per patient-year at {self.code} in {when} is not shown (small "
                f"numbers); across all trusts compared it was {others}."
            )
        if _hidden(value):
            return _sentence(
                f"{self.code} had nobody on treatment in {when}; across all trusts compared "
                f"the cost per patient-year was {others}."
            )
        return _sentence(
            f"Treatment cost about {format_gbp(float(value))} per patient-year at {self.code} "
            f"in {when} (all molecules, at {prices}), against {others} across all trusts "
            "compared."
        )

    # ----------------------------------------------------------------- published tables

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every lead-facing table, each checked to carry no patient id or eye."""
        lead = self.analysis.lead
        funnel = lead["amd_funnel"].rename(
            columns={"percent": f"percent_latest_{FUNNEL_WEEKS}w_plus", **_LIMIT_COLUMNS}
        )
        funnel.insert(1, "this_trust", funnel["trust_code"] == self.code)
        pooled = pd.DataFrame(
            {
                "period": self.analysis.pooled_cost["period"],
                "cost_per_patient_year": [
                    self._pooled_cost(p) for p in self.analysis.pooled_cost["period"]
                ],
            },
            dtype=object,
        )
        tables = {
            "amd_headline": self.headline_figures(),
            "amd_latest_interval": lead["amd_latest_interval"],
            "amd_interval_bands": lead["amd_interval_bands"],
            "amd_injections": lead["amd_injections"],
            "amd_cost": lead["amd_cost"],
            "amd_cost_all_trusts": pooled,
            "amd_funnel": funnel,
        }
        out = {}
        for name, table in tables.items():
            table = table.copy()
            if "data_source" not in table.columns:
                table["data_source"] = self.source
            out[name] = self._lead_facing(name, table.astype(object))
        return out

    def _lead_facing(self, name: str, table: pd.DataFrame) -> pd.DataFrame:
        """Refuse a table with an identifying column or a patient's id in any cell."""
        bad = [c for c in table.columns if _IDENTIFYING.search(str(c))]
        if bad:
            raise InputError(f"table {name!r} has identifying column(s) {bad}")
        ids = set(self.injections.records["patient_id"].astype(str))
        cells = {str(v) for v in table.to_numpy().ravel()}
        if cells & ids:
            raise InputError(f"table {name!r} holds a patient id")
        return table

    # ----------------------------------------------------------------- sections

    def sections(self) -> dict[str, Callable[[], Section]]:
        """The notebook's sections, in page order (:data:`SECTIONS`)."""
        return {
            "data_statement": lambda: Section(self.data_statement()),
            "headline": lambda: Section(self.headline()),
            "latest_interval": self._latest_interval_section,
            "interval_bands": self._interval_bands_section,
            "injections": self._injections_section,
            "cost": self._cost_section,
            "funnel": self._funnel_section,
        }

    def _latest_interval_section(self) -> Section:
        table = self._ordered(self.analysis.lead["amd_latest_interval"])
        columns = [f"percent_latest_{w}w_plus" for w in THRESHOLD_WEEKS]
        view = pd.DataFrame(
            {
                "trust": table["trust_code"].map(self._label),
                "patients_in_maintenance": table["patients_in_maintenance"],
                **{c: table[c] for c in columns},
            },
            dtype=object,
        )
        pooled = {
            "trust": ALL_TRUSTS,
            "patients_in_maintenance": None,
            **{f"percent_latest_{w}w_plus": self._pooled_latest(w) for w in THRESHOLD_WEEKS},
        }
        view = pd.concat([view, pd.DataFrame([pooled], dtype=object)], ignore_index=True)
        view["data_source"] = self.source
        text = (
            f"Patients in maintenance (past their {self.analysis.loading_doses} loading doses) "
            "whose latest interval between injections is at least 8, 12 and 16 weeks, at each "
            f"trust compared{self._tag()}."
        )
        caption = (
            f"{ALL_TRUSTS}: the trusts' published counts added up, leaving out a trust whose "
            "count is shown as *. The counts behind each percentage are in the report pack's "
            "tables."
        )
        return Section(text, lead_table(view, caption=caption, keys=["trust"]))

    def _interval_bands_section(self) -> Section:
        table = self._ordered(self.analysis.lead["amd_interval_bands"])
        percents = [f"percent_{name}" for name, _ in _BANDS]
        labels = [self._label(c) for c in table["trust_code"]]
        figure = charts.interval_band_chart(
            labels,
            [{name: row[f"percent_{name}"] for name, _ in _BANDS} for _, row in table.iterrows()],
            _BANDS,
            title=f"Maintenance intervals by length{self._tag()}",
            subtitle=self._subtitle() + "; * not shown (small numbers)",
            highlight=self._label(self.code) if self.has_data else None,
        )
        view = pd.DataFrame(
            {
                "trust": labels,
                "maintenance_intervals": table["maintenance_intervals"],
                **{c: table[c] for c in percents},
            },
            dtype=object,
        )
        view["data_source"] = self.source
        text = (
            "Every maintenance interval (from the last loading dose on) at each trust, by "
            "length: a trust that extends intervals has more of them at 12 weeks or more"
            f"{self._tag()}."
        )
        caption = (
            "Intervals are counted, not patients: a patient with many visits adds many. The "
            "counts in each band are in the report pack's tables."
        )
        return Section(text, figure, lead_table(view, caption=caption, keys=["trust"]))

    def _injections_section(self) -> Section:
        table = self._ordered(self.analysis.lead["amd_injections"])
        view = pd.DataFrame(
            {
                "trust": table["trust_code"].map(self._label),
                "patients_year1": table["patients_year1"],
                "injections_year1_per_eye": table["injections_year1_per_eye"],
                "patients_year2": table["patients_year2"],
                "injections_year2_per_eye": table["injections_year2_per_eye"],
            },
            dtype=object,
        )
        pooled = {
            "trust": ALL_TRUSTS,
            "patients_year1": None,
            "injections_year1_per_eye": self._pooled_injections(1),
            "patients_year2": None,
            "injections_year2_per_eye": self._pooled_injections(2),
        }
        view = pd.concat([view, pd.DataFrame([pooled], dtype=object)], ignore_index=True)
        view["data_source"] = self.source
        text = (
            "Injections per eye in the first and the second year of treatment (days 0-364 and "
            "365-729 after the eye's first injection), averaged over the eyes whose whole year "
            "is in the data, so recent starters do not pull the figure down"
            f"{self._tag()}."
        )
        caption = (
            "Patients: those whose first injection is a full year (two years) before the data "
            f"end. {ALL_TRUSTS}: every eye of the trusts whose count is shown."
        )
        shown = lead_table(view, caption=caption, keys=["trust"])
        means = [column_label(f"injections_year{y}_per_eye") for y in (1, 2)]
        return Section(text, _one_decimal(shown, means))

    def _cost_section(self) -> Section:
        cost = self.analysis.lead["amd_cost"]
        mine = cost[cost["trust_code"] == self.code]
        periods = sorted(set(self.analysis.pooled_cost["period"]), key=int)
        molecules = sorted(set(mine["molecule"]) - {ALL_MOLECULES})
        view = pd.DataFrame({"period": [self._period_label(p) for p in periods]}, dtype=object)
        if self.has_data:
            by = mine.set_index(["period", "molecule"])
            view["patients"] = [by["patients"].get((p, ALL_MOLECULES)) for p in periods]
            for molecule in [*molecules, ALL_MOLECULES]:
                view[molecule] = [by["cost_per_patient_year"].get((p, molecule)) for p in periods]
        view[ALL_TRUSTS] = [self._pooled_cost(p) for p in periods]
        view["data_source"] = self.source
        series = {
            **(
                {f"{m.capitalize()} at {self.code}": view[m].tolist() for m in molecules}
                if self.has_data
                else {}
            ),
            **(
                {f"All molecules at {self.code}": view[ALL_MOLECULES].tolist()}
                if self.has_data
                else {}
            ),
            ALL_TRUSTS: view[ALL_TRUSTS].tolist(),
        }
        figure = charts.cost_chart(
            [str(p) for p in periods],
            series,
            title=f"Anti-VEGF cost per patient-year{self._tag()}",
            subtitle=self._subtitle() + "; nearest £10",
            emphasis=[f"All molecules at {self.code}"],
            dashed=[ALL_TRUSTS],
        )
        labels = {
            "period": "Year",
            "patients": "Patients on treatment",
            ALL_MOLECULES: "All molecules (£)",
            ALL_TRUSTS: "All trusts compared, all molecules (£)",
            **{m: f"{m.capitalize()} (£)" for m in molecules},
        }
        kinds = {c: "money" for c in [*molecules, ALL_MOLECULES, ALL_TRUSTS]}
        text = (
            "Cost per patient-year: the cost of the injections given in a year divided by the "
            "time patients were on treatment in it (each injection covers the time to the "
            "next, at most 16 weeks), "
            + ("by molecule at this trust and " if self.has_data else "")
            + f"for all trusts compared{self._tag()}."
        )
        prices = "list prices, in the synthetic sample" if self.synthetic else "the data's prices"
        caption = (
            f"Pounds per patient-year at {prices}, rounded to £10; * where fewer than 8 "
            "patients are behind the figure. A part year is named as such."
        )
        return Section(
            text,
            figure,
            lead_table(view, caption=caption, labels=labels, kinds=kinds, keys=["period"]),
        )

    def _funnel_section(self) -> Section:
        result = self.analysis.funnel
        if result is None:
            return Section(
                f"No trust shows both its patients in maintenance and those whose latest "
                f"interval is {FUNNEL_WEEKS} weeks or more (every count is 0 or hidden as a "
                f"small number), so there is no funnel plot{self._tag()}."
            )
        table = self._ordered(self.analysis.lead["amd_funnel"])
        placed = set(result.table["label"])
        left_off = len(table) - len(placed)
        figure = present_charts.funnel_chart(
            result,
            title=f"Latest interval {FUNNEL_WEEKS} weeks or more: {self.code} and the "
            f"others{self._tag()}",
            x_label="Patients in maintenance (rounded to 5)",
            y_label=f"Latest interval {FUNNEL_WEEKS}+ weeks",
            highlight=[self.code] if self.code in placed else [],
            subtitle=self._subtitle()
            + (f"; {left_off} trusts not shown (small numbers)" if left_off else ""),
        )
        view = pd.DataFrame(
            {
                "trust": table["trust_code"].map(self._label),
                f"patients_latest_{FUNNEL_WEEKS}w_plus": table[
                    f"patients_latest_{FUNNEL_WEEKS}w_plus"
                ],
                "patients_in_maintenance": table["patients_in_maintenance"],
                f"percent_latest_{FUNNEL_WEEKS}w_plus": table["percent"],
                "lower_99_8_pct": table["lower_99_8"],
                "upper_99_8_pct": table["upper_99_8"],
                "position": table["position"],
            },
            dtype=object,
        )
        view["data_source"] = self.source
        target = table.attrs.get("target_percent")
        text = (
            f"Each trust's share of patients in maintenance whose latest interval is "
            f"{FUNNEL_WEEKS} weeks or more, against its number of patients in maintenance, "
            f"with the 95% and 99.8% limits around the average of {format_pct(target)}. "
            "Small trusts scatter more by chance, hence the funnel shape; a trust outside the "
            "99.8% limits differs by more than chance explains. The limits are widened when "
            "the trusts differ more than chance alone would make them"
            f"{self._tag()}."
        )
        caption = (
            "Made from the published (rounded) counts; a trust with a count shown as * is "
            "left off the chart and out of the average."
        )
        return Section(text, figure, lead_table(view, caption=caption, keys=["trust"]))


def build(
    context: ReportContext,
    *,
    store: str = "",
    seed: int = 2025,
    loading_doses: int = LOADING_DOSES,
    backend: str = "duckdb",
) -> WetAmdReport:
    """The wet AMD report for a resolved context.

    Args:
        context: From :func:`medlib.context.resolve_context` (a single trust, not a system).
        store: The store's folder (``medlib ingest FILE --table hcd_activity``); empty for the
            bundled sample's store, which has no ``hcd_activity`` (so the synthetic sample).
        seed: Seed of the synthetic sample (used when the store has no wet AMD rows).
        loading_doses: Injections in the loading phase (3).
        backend: Query engine, ``duckdb`` (default) or ``pyspark``.

    Raises:
        InputError: An option is invalid or the context is a system (the message names the
            option and what is expected).
    """
    check_options(seed, loading_doses, backend, store)
    if context.is_system:
        raise InputError(
            f"trust_code: the wet AMD report is for one trust; {context.code!r} is a system of "
            f"{len(context.trust_codes)} trusts"
        )
    source = choose_source(context, store=store, seed=int(seed))
    return WetAmdReport(context, shared_analysis(source, int(loading_doses), str(backend)))
