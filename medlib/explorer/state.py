"""The explorer's state: the current selection and the cached queries behind its chart and table.

:class:`Explorer` holds one :class:`Selection` (dataset, molecule or BNF section, trusts or a
system, period, measure, comparison group, chart type) and answers from it: the series behind
the chart, the SPC result, the comparison deciles and the summary table. Analysts can drive it
from code in any notebook::

    ex = Explorer()
    ex.set(trusts=["RTD"], molecule="Lithium carbonate", measure="spend")
    ex.table
    ex.chart_data

Only what a change touches is recomputed. The expensive step, aggregating usage rows to one row
per trust and month, runs once per (dataset, molecule or section, measure) through
:func:`medlib.spend.measures.aggregate_monthly`; trusts, systems, periods and comparison groups are
filters and sums on that small cached table, and deciles are cached per comparison group.
``Explorer.query_counts`` counts how often each query really ran.

Definitions come from the modules that own them: spend, quantity and DDDs from
:mod:`medlib.spend.measures`, the best-value share proxy from
:func:`medlib.switch.uptake.vmp_proxy_share`,
polypharmacy comparators from :mod:`medlib.polypharmacy.comparators`, SPC from
:mod:`medlib.stats.spc`, deciles
and percentile ranks from :mod:`medlib.stats.peer_comparison`.

Missing is never zero: a source with no cost has no spend ("not available"), a product with no
DDD per unit makes DDDs "not available" for any selection containing it, and a ratio with no
denominator is missing. For additive measures a trust with no rows in a month, inside the span
of months it reports, used none of the products that month and counts as zero (the
:mod:`medlib.spend.measures` convention).
"""

from __future__ import annotations

import os
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from medlib.errors import InputError
from medlib.explorer.sources import (
    BUNDLED_DATASETS,
    COMPARATOR_LABELS,
    TRUST_COLUMNS,
    ExplorerError,
    Focus,
    PatientSource,
    UsageSource,
    bnf_section_label,
    patient_months,
)
from medlib.io.patient_tables import PatientTables
from medlib.present.disclosure import (
    POLICY,
    SUPPRESSED,
    RowGroup,
    disclose_percentage,
    disclose_table,
)
from medlib.present.wording import format_gbp, format_month_short, format_number, format_pct
from medlib.reference.trusts import normalise_code, normalise_codes
from medlib.spend.measures import aggregate_monthly
from medlib.stats import peer_comparison, spc
from medlib.switch.definitions import SwitchDefinition
from medlib.switch.uptake import vmp_proxy_share
from medlib.validation import parse_month

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from medlib.io.store import Store
    from medlib.present.sections import Section, Table

__all__ = [
    "CHARTS",
    "COMPARISONS",
    "MEASURES",
    "TABLE_COLUMNS",
    "Explorer",
    "Measure",
    "MeasureData",
    "STORE_DATASET",
    "Selection",
]


@dataclass(frozen=True)
class Measure:
    """A measure the explorer can chart.

    Attributes:
        key: Name used in code and selections.
        label: Plain-English name.
        axis: Axis label with units.
        ratio: A percentage ``100 x numerator / denominator`` (summed before dividing) rather
            than an additive total.
        improvement_direction: Which way is good, for SPC point colours.
        patients: Comes from patient-level records (its counts go through disclosure control).
    """

    key: str
    label: str
    axis: str
    ratio: bool
    improvement_direction: str
    patients: bool = False


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        Measure("spend", "Spend", "Indicative spend (£)", False, "neutral"),
        Measure("quantity", "Quantity", "Quantity (product units)", False, "neutral"),
        Measure("ddds", "Defined daily doses", "Defined daily doses (DDDs)", False, "neutral"),
        Measure(
            "best_value_share",
            "Best-value share (VMP proxy)",
            "Doses on best-value-like products (%)",
            True,
            "increase",
        ),
        Measure(
            "polypharmacy",
            "Polypharmacy comparator",
            "Patients meeting the comparator (%)",
            True,
            "decrease",
            patients=True,
        ),
    )
}
COMPARISONS = {
    "england": "all trusts in England",
    "region": "trusts in the same region",
    "system": "trusts in the same system (ICB)",
}
CHARTS = {"spc": "SPC chart", "deciles": "Decile chart"}
#: Columns of :attr:`Explorer.table`.
TABLE_COLUMNS = [
    "code",
    "name",
    "measure",
    "first_month",
    "last_month",
    "months_with_data",
    "period_value",
    "latest_value",
    "comparison_median",
    "percentile_rank",
    "variation",
]
ENGLAND = ("ENG", "All trusts in the data")
COMBINED = "Combined"
_PATIENTS = "polypharmacy"
_ADDITIVE_COLUMN = {"spend": "cost_gbp", "quantity": "quantity", "ddds": "ddds"}
_MONTH_FORMAT = "%Y-%m"


@dataclass(frozen=True)
class Selection:
    """What the explorer shows.

    Attributes:
        dataset: Usage extract (see :data:`medlib.explorer.sources.BUNDLED_DATASETS`).
        molecule: Molecule (dm+d VTM name), or None.
        bnf_section: 4-digit BNF section, or None; with neither, every product in the dataset.
        trusts: ODS codes of the trusts shown (each its own line; the SPC chart adds them up).
        system: ICB code of a system shown as one unit (instead of trusts).
        period: First and last month shown, or None for every month available.
        measure: A key of :data:`MEASURES`.
        comparator: Polypharmacy comparator key (used when ``measure`` is ``polypharmacy``).
        comparison: Comparison group for deciles and ranks: a key of :data:`COMPARISONS`.
        chart: ``"spc"`` or ``"deciles"``.
    """

    dataset: str
    molecule: str | None = None
    bnf_section: str | None = None
    trusts: tuple[str, ...] = ()
    system: str | None = None
    period: tuple[pd.Timestamp, pd.Timestamp] | None = None
    measure: str = "quantity"
    comparator: str = "medicines_10plus"
    comparison: str = "england"
    chart: str = "spc"

    @property
    def focus(self) -> Focus:
        """The products covered."""
        if self.molecule is not None:
            return Focus("molecule", self.molecule)
        if self.bnf_section is not None:
            return Focus("bnf_section", self.bnf_section)
        return Focus("all")


SELECTION_FIELDS = tuple(f.name for f in fields(Selection))


def _per_view(method: Callable[[Explorer], Any]) -> Callable[[Explorer], Any]:
    """Compute a view's answer once per selection (the memo is cleared when it changes)."""
    name = method.__name__

    def wrapper(self: Explorer) -> Any:
        if name not in self._memo:
            self._memo[name] = method(self)
        value = self._memo[name]
        # Callers may change what they get; the memo must stay as computed.
        return value.copy() if isinstance(value, pd.DataFrame | list) else value

    wrapper.__name__ = name
    wrapper.__doc__ = method.__doc__
    return wrapper


class _Cache:
    """A small least-recently-used cache that counts real computations by name."""

    def __init__(self, counts: Counter, maxsize: int = 48) -> None:
        self._store: OrderedDict[Hashable, Any] = OrderedDict()
        self._counts = counts
        self._maxsize = maxsize

    def has(self, name: str, key: Hashable) -> bool:
        """Whether a result is cached."""
        return (name, key) in self._store

    def get(self, name: str, key: Hashable, compute: Callable[[], Any]) -> Any:
        full = (name, key)
        if full in self._store:
            self._store.move_to_end(full)
            return self._store[full]
        value = compute()
        self._counts[name] += 1
        self._store[full] = value
        if len(self._store) > self._maxsize:
            self._store.popitem(last=False)
        return value


@dataclass(frozen=True)
class MeasureData:
    """A measure per trust and month, or why it cannot be shown.

    Attributes:
        frame: ``year_month, unit, numerator, denominator, rows`` (denominator NaN for
            additive measures).
        message: Why the measure is not available for this selection, or None.
        notes: Caveats to show beside the chart.
    """

    frame: pd.DataFrame
    message: str | None = None
    notes: tuple[str, ...] = ()


def _ratio_frame(
    months: pd.Series, units: pd.Series, numerator: pd.Series, denominator: pd.Series
) -> pd.DataFrame:
    """A measure frame for a ratio measure: one row per unit and month, counted as one row."""
    return pd.DataFrame(
        {
            "year_month": pd.to_datetime(months).astype("datetime64[ns]"),
            "unit": units.astype(object),
            "numerator": numerator.astype(float),
            "denominator": denominator.astype(float),
            "rows": 1.0,
        }
    )


_EMPTY_FRAME = pd.DataFrame(
    {
        "year_month": pd.Series(dtype="datetime64[ns]"),
        "unit": pd.Series(dtype=object),
        "numerator": pd.Series(dtype=float),
        "denominator": pd.Series(dtype=float),
        "rows": pd.Series(dtype=float),
    }
)


class Explorer:
    """Selection state plus cached queries for the interactive explorer.

    Args:
        usage: A canonical usage table, a mapping ``{dataset name: usage table}``, or None for
            the bundled SCMD extracts (each loaded the first time it is chosen).
        product_table: The ``products`` table (default: bundled).
        trust_table: The ``trusts`` table (default: bundled); merged trusts are shown as their
            successors.
        patients: Patient tables for the polypharmacy measure (default: the seeded synthetic
            sample from :func:`medlib.synthetic.patients.generate_patients`, made when first
            needed).
        switches: ``{molecule: SwitchDefinition}`` for the best-value share (default: the
            project's switch definitions).
        polypharmacy_months: How many months of comparators to compute.
        patients_last_month: The last of those months (default: the synthetic sample's census
            month, or the month of the latest medication start in ``patients``).
        store: A data store's folder (built by ``medlib ingest``; empty or None for the
            bundled extracts): its ``usage`` table is the
            one dataset, ``store``, and its patient extracts (if any) the polypharmacy
            measure's patients, so what an analyst explores is what the pack reports. The rows
            are loaded into memory when first chosen: a regional store fits, a national one
            is for the reports, which aggregate in the engine.
        **initial: Initial selection, as for :meth:`set`.

    Example:
        >>> ex = Explorer()  # doctest: +SKIP
        >>> ex.set(trusts=["RTD"], measure="spend").table  # doctest: +SKIP
        >>> Explorer(store="store/").datasets  # doctest: +SKIP
        ['store']
    """

    def __init__(
        self,
        usage: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None,
        *,
        product_table: pd.DataFrame | None = None,
        trust_table: pd.DataFrame | None = None,
        patients: PatientTables | None = None,
        switches: Mapping[str, SwitchDefinition] | None = None,
        polypharmacy_months: int = 12,
        patients_last_month: object | None = None,
        store: str | os.PathLike[str] | None = None,
        **initial: Any,
    ) -> None:
        self._store = None
        if store is not None and str(store) != "":
            if usage is not None:
                raise ExplorerError("give usage or store, not both")
            from medlib.io.store import Store, StoreError

            try:
                self._store = Store(store)
            except StoreError as exc:
                raise ExplorerError(str(exc)) from None
            if not self._store.usage_files():
                raise ExplorerError(
                    f"the store {self._store.root} has no usage rows; add SCMD files with "
                    f"'medlib ingest FILE --store {self._store.root}'"
                )
            usage = {STORE_DATASET: None}
            if patients is None:
                patients = _store_patients(self._store)
            if product_table is None:
                from medlib.io.reference_store import store_products

                product_table = store_products(self._store)
        if usage is None:
            self._inputs: dict[str, pd.DataFrame | None] = dict.fromkeys(BUNDLED_DATASETS)
        elif isinstance(usage, pd.DataFrame):
            self._inputs = {"usage": usage}
        elif isinstance(usage, Mapping) and usage:
            self._inputs = dict(usage)
        else:
            raise ExplorerError(
                "usage must be a usage DataFrame, a non-empty mapping of name -> DataFrame, "
                f"or None for the bundled extracts; got {type(usage).__name__}"
            )
        self._products = product_table
        self._trusts = _check_trusts(trust_table if trust_table is not None else _bundled("trusts"))
        self._patients = patients
        self._switches = switches
        self._polypharmacy_months = int(polypharmacy_months)
        self._patients_last_month = (
            parse_month(patients_last_month, "patients_last_month")
            if patients_last_month is not None
            else None
        )
        self.query_counts: Counter = Counter()
        # Sources are kept apart so that many small query results never push out a dataset.
        self._sources = _Cache(self.query_counts, maxsize=16)
        self._cache = _Cache(self.query_counts, maxsize=64)
        self._trust_notes: tuple[str, ...] = ()
        self._memo: dict[str, Any] = {}
        current = self._trusts[self._trusts["successor_code"].isna()]
        self._trust_name = dict(
            zip(self._trusts["trust_code"], self._trusts["trust_name"], strict=True)
        )
        self._trust_icb = dict(zip(current["trust_code"], current["icb_code"], strict=True))
        self._trust_region = dict(zip(current["trust_code"], current["region"], strict=True))
        self._icb_name = dict(zip(current["icb_code"], current["icb_name"], strict=True))
        self._icb_region = dict(zip(current["icb_code"], current["region"], strict=True))
        self._successor = _final_successors(self._trusts)

        dataset = initial.pop("dataset", next(iter(self._inputs)))
        self._check_dataset(dataset)
        self._selection = Selection(dataset=dataset)
        focus_given = {"molecule", "bnf_section"} & set(initial)
        if not focus_given:
            initial["molecule"] = self._default_molecule(dataset)
        self.set(**initial)

    # --- selection ------------------------------------------------------------------------

    @property
    def selection(self) -> Selection:
        """The current selection."""
        return self._selection

    def set(self, **changes: Any) -> Explorer:
        """Change the selection; unchanged fields keep their values.

        Choosing a molecule clears the BNF section and the other way round; choosing trusts
        clears the system and the other way round. Choosing another dataset keeps the molecule
        if the dataset has it (otherwise its most used molecule) and resets the period if it
        falls outside the new data.

        Args:
            **changes: Any of ``dataset, molecule, bnf_section, trusts, system, period
                (start, end as "YYYY-MM" or dates, or None), measure, comparator,
                comparison, chart``.

        Returns:
            The explorer, so calls can be chained.

        Raises:
            ExplorerError: An unknown field or value; the message lists what is allowed.
        """
        unknown = sorted(set(changes) - set(SELECTION_FIELDS))
        if unknown:
            raise ExplorerError(
                f"unknown setting(s) {unknown}; the explorer accepts {list(SELECTION_FIELDS)}"
            )
        sel = self._selection
        values = dict(changes)
        if "dataset" in values:
            self._check_dataset(values["dataset"])
        if values.get("molecule") is not None and "bnf_section" not in values:
            values["bnf_section"] = None
        if values.get("bnf_section") is not None and "molecule" not in values:
            values["molecule"] = None
        if values.get("trusts") and "system" not in values:
            values["system"] = None
        if values.get("system") is not None and "trusts" not in values:
            values["trusts"] = ()
        trust_notes = self._trust_notes
        if "trusts" in values:
            values["trusts"], trust_notes = self._normalise_trusts(values["trusts"])
        if values.get("bnf_section") is not None:
            values["bnf_section"] = str(values["bnf_section"]).replace(".", "").strip()
        if values.get("system") is not None:
            values["system"] = self._normalise_system(values["system"])
        if "period" in values:
            values["period"] = _normalise_period(values["period"])
        new = replace(sel, **values)
        if new.dataset != sel.dataset and not {"molecule", "bnf_section"} & set(changes):
            new = self._keep_focus(new)
        new = self._fit_period(self._validated(new), explicit="period" in changes)
        if new != sel:
            self._memo = {}
        self._selection = new
        self._trust_notes = trust_notes
        return self

    def _check_dataset(self, dataset: object) -> None:
        if dataset not in self._inputs:
            raise ExplorerError(f"unknown dataset {dataset!r}; choose one of {list(self._inputs)}")

    def _normalise_trusts(self, trusts: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Trust codes as shown (merged trusts as their successors) and notes on any mapping."""
        if trusts is None:
            return (), ()
        items = [trusts] if isinstance(trusts, str) else list(trusts)
        codes: list[str] = []
        notes = []
        known = set(self._trust_name)
        for item in items:
            code = normalise_code(item)
            if code not in known:
                raise ExplorerError(
                    f"unknown trust code {item!r}; trust codes are ODS codes such as "
                    f"{', '.join(sorted(self._trust_icb)[:5])} (see the trusts table)"
                )
            final = self._successor.get(code, code)
            if final != code:
                notes.append(f"{code} merged into {final}: its history is shown as {final}")
            if final not in codes:
                codes.append(final)
        return tuple(codes), tuple(notes)

    def _normalise_system(self, system: object) -> str:
        code = normalise_code(system)
        if code not in self._icb_name:
            names = {str(n).casefold(): c for c, n in self._icb_name.items() if c is not None}
            if str(system).strip().casefold() in names:
                return names[str(system).strip().casefold()]
            raise ExplorerError(
                f"unknown system {system!r}; give an ICB code such as "
                f"{', '.join(sorted(c for c in self._icb_name if c)[:5])}"
            )
        return code

    def _validated(self, sel: Selection) -> Selection:
        """The selection checked, with the molecule spelled as in the data (any case accepted)."""
        if sel.measure not in MEASURES:
            raise ExplorerError(f"unknown measure {sel.measure!r}; choose one of {list(MEASURES)}")
        if sel.comparator not in COMPARATOR_LABELS:
            raise ExplorerError(
                f"unknown polypharmacy comparator {sel.comparator!r}; choose one of "
                f"{list(COMPARATOR_LABELS)}"
            )
        if sel.comparison not in COMPARISONS:
            raise ExplorerError(
                f"unknown comparison group {sel.comparison!r}; choose one of {list(COMPARISONS)}"
            )
        if sel.chart not in CHARTS:
            raise ExplorerError(f"unknown chart {sel.chart!r}; choose one of {list(CHARTS)}")
        if sel.system is not None and sel.comparison == "system":
            raise ExplorerError(
                "comparison 'system' compares trusts within their system; with a whole system "
                "selected, compare it with 'england' or 'region'"
            )
        if sel.molecule is not None and sel.bnf_section is not None:
            raise ExplorerError("choose a molecule or a BNF section, not both")
        if MEASURES[sel.measure].patients:
            return sel
        source = self._usage_source(sel.dataset)
        if sel.molecule is not None and sel.molecule not in source.molecules:
            spelled = {m.casefold(): m for m in source.molecules}
            if str(sel.molecule).strip().casefold() not in spelled:
                raise ExplorerError(
                    f"no molecule {sel.molecule!r} in dataset {sel.dataset!r}; "
                    f"{_suggest(str(sel.molecule), source.molecules)}"
                )
            sel = replace(sel, molecule=spelled[str(sel.molecule).strip().casefold()])
        if sel.bnf_section is not None and sel.bnf_section not in source.sections:
            raise ExplorerError(
                f"no BNF section {sel.bnf_section!r} in dataset {sel.dataset!r}; sections "
                f"there are {source.sections} (4 digits: chapter and section)"
            )
        return sel

    def _keep_focus(self, sel: Selection) -> Selection:
        source = self._usage_source(sel.dataset)
        if sel.molecule is not None and sel.molecule in source.molecules:
            return sel
        if sel.bnf_section is not None and sel.bnf_section in source.sections:
            return sel
        return replace(sel, molecule=self._default_molecule(sel.dataset), bnf_section=None)

    def _fit_period(self, sel: Selection, explicit: bool) -> Selection:
        if sel.period is None:
            return sel
        months = self._months_for(sel)
        start, end = sel.period
        if end < months[0] or start > months[-1]:
            if explicit:
                raise ExplorerError(
                    f"period {start:%Y-%m} to {end:%Y-%m} is outside the data, which covers "
                    f"{months[0]:%Y-%m} to {months[-1]:%Y-%m}"
                )
            return replace(sel, period=None)
        return sel

    def _default_molecule(self, dataset: str) -> str | None:
        molecules = self._usage_source(dataset).molecules
        return molecules[0] if molecules else None

    # --- sources --------------------------------------------------------------------------

    def _usage_source(self, dataset: str) -> UsageSource:
        def load() -> UsageSource:
            frame = self._inputs[dataset]
            if frame is None and self._store is not None:
                frame = self._store.read_usage().drop(columns="source")
            elif frame is None:
                frame = _bundled(dataset)
            return UsageSource(dataset, frame, self.products, self._trusts)

        return self._sources.get("load", dataset, load)

    def _patient_source(self) -> PatientSource:
        def load() -> PatientSource:
            synthetic = self._patients is None
            if synthetic:
                from medlib.synthetic.patients import generate_patients

                audit = generate_patients()
                tables, last = audit.tables, audit.census_date
            else:
                tables = self._patients
                last = self._patients_last_month
                if last is None:
                    last = tables.medications["start_date"].max()
            months = patient_months(last, self._polypharmacy_months)
            return PatientSource(tables, months, synthetic)

        return self._sources.get("load", _PATIENTS, load)

    @property
    def patients_ready(self) -> bool:
        """Whether the polypharmacy comparators are computed (the first time takes a while)."""
        return self._sources.has("load", _PATIENTS)

    @property
    def products(self) -> pd.DataFrame:
        """The products table in use."""
        if self._products is None:
            self._products = _bundled("products")
        return self._products

    @property
    def switches(self) -> Mapping[str, SwitchDefinition]:
        """Switch definitions by molecule (lower case)."""
        if self._switches is None:
            from medlib.switch.definitions import load_switch_definitions

            self._switches = load_switch_definitions()
        return self._switches

    def usage_rows(self, dataset: str) -> pd.DataFrame:
        """A dataset's usage rows as prepared: merged trusts mapped, product attributes added."""
        self._check_dataset(dataset)
        return self._usage_source(dataset).rows

    @property
    def datasets(self) -> list[str]:
        """Dataset names available."""
        return list(self._inputs)

    def _months_for(self, sel: Selection) -> pd.DatetimeIndex:
        if MEASURES[sel.measure].patients:
            return self._patient_source().months
        return self._usage_source(sel.dataset).months

    @property
    def months(self) -> pd.DatetimeIndex:
        """Every month the current data source covers."""
        return self._months_for(self._selection)

    @property
    def period(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The first and last month shown."""
        months = self.months
        if self._selection.period is None:
            return months[0], months[-1]
        start, end = self._selection.period
        return max(start, months[0]), min(end, months[-1])

    # --- options for controls -------------------------------------------------------------

    def molecule_options(self) -> list[str]:
        """Molecules in the current dataset, most used first."""
        return list(self._usage_source(self._selection.dataset).molecules)

    def section_options(self) -> dict[str, str]:
        """BNF sections in the current dataset: ``{label: 4-digit code}``."""
        source = self._usage_source(self._selection.dataset)
        out = {}
        for code in source.sections:
            molecules = source.section_molecules(code)
            shown = ", ".join(molecules[:3]) + (", ..." if len(molecules) > 3 else "")
            out[f"{bnf_section_label(code)}: {shown}"] = code
        return out

    def trust_options(self) -> dict[str, str]:
        """Trusts with data in the current source: ``{"CODE name": code}``, by code."""
        if MEASURES[self._selection.measure].patients:
            codes = self._patient_source().summary["trust_code"].unique()
        else:
            codes = self._usage_source(self._selection.dataset).trust_codes
        return {f"{c} {self._trust_name.get(c, '')}".strip(): c for c in sorted(codes)}

    def system_options(self) -> dict[str, str]:
        """Systems (ICBs) of the trusts with data: ``{name: icb_code}``, by name."""
        icbs = {self._trust_icb.get(c) for c in self.trust_options().values()}
        named = {self._icb_name[i]: i for i in icbs if i is not None and i in self._icb_name}
        return dict(sorted(named.items()))

    # --- measure data (cached) ------------------------------------------------------------

    @property
    def measure(self) -> Measure:
        """The current measure."""
        return MEASURES[self._selection.measure]

    @property
    def level(self) -> str:
        """``"trust"``, ``"system"`` or ``"england"`` (nothing selected: every trust added up)."""
        if self._selection.system is not None:
            return "system"
        return "trust" if self._selection.trusts else "england"

    @property
    def units(self) -> tuple[str, ...]:
        """Codes of what is shown: trust codes, an ICB code, or ``("ENG",)``."""
        sel = self._selection
        if sel.system is not None:
            return (sel.system,)
        return sel.trusts or (ENGLAND[0],)

    def trusts_shown(self) -> tuple[str, ...]:
        """Trust codes behind the view: the trusts chosen, a system's trusts, or () for all."""
        sel = self._selection
        if sel.system is not None:
            return tuple(sorted(t for t, icb in self._trust_icb.items() if icb == sel.system))
        return sel.trusts

    def _data_key(self, sel: Selection) -> tuple:
        if MEASURES[sel.measure].patients:
            return (_PATIENTS, sel.comparator)
        return (sel.dataset, sel.focus, sel.measure)

    def _trust_measure(self, sel: Selection) -> MeasureData:
        return self._cache.get("measure", self._data_key(sel), lambda: self._compute_measure(sel))

    def _compute_measure(self, sel: Selection) -> MeasureData:
        measure = MEASURES[sel.measure]
        if measure.patients:
            return self._polypharmacy_measure(sel)
        source = self._usage_source(sel.dataset)
        rows = source.focus_rows(sel.focus)
        label = sel.focus.label
        if rows.empty:
            return MeasureData(_EMPTY_FRAME, f"no rows for {label} in {sel.dataset}")
        if measure.key == "best_value_share":
            return self._best_value_measure(sel, rows)
        notes: list[str] = []
        if measure.key == "spend":
            missing = int(rows["cost_gbp"].isna().sum())
            if missing == len(rows):
                return MeasureData(
                    _EMPTY_FRAME,
                    f"Spend is not available for {label}: the {sel.dataset} extract has "
                    "quantities only, no indicative cost. Choose quantity or DDDs.",
                )
            if missing:
                notes.append(
                    f"{missing:,} of {len(rows):,} rows for {label} have no indicative cost and "
                    "add nothing to spend"
                )
        if measure.key == "ddds":
            lacking = sorted(
                rows.loc[rows["ddds"].isna() & rows["quantity"].notna(), "vmp_name"]
                .astype(str)
                .unique()
            )
            if lacking:
                total = rows["vmp_code"].nunique()
                return MeasureData(
                    _EMPTY_FRAME,
                    f"DDDs not available for {label}: {len(lacking)} of {total} products have "
                    f"no DDD per unit (e.g. {lacking[0]}). Choose quantity instead.",
                )
        if measure.key == "quantity" and "unit" in rows.columns:
            units = sorted(str(u) for u in rows["unit"].dropna().unique())
            if len(units) > 1:
                notes.append(
                    f"quantities are added across different units ({', '.join(units)}); "
                    "compare like with like, or use DDDs"
                )
        monthly = self._cache.get(
            "aggregate",
            (sel.dataset, sel.focus),
            lambda: aggregate_monthly(rows, by=("trust_code",)),
        )
        frame = pd.DataFrame(
            {
                "year_month": monthly["year_month"],
                "unit": monthly["trust_code"].astype(object),
                "numerator": monthly[_ADDITIVE_COLUMN[measure.key]].astype(float),
                "denominator": np.nan,
                "rows": monthly["rows"].astype(float),
            }
        )
        return MeasureData(_fill_span(frame, source.months), None, tuple(notes))

    def _best_value_measure(self, sel: Selection, rows: pd.DataFrame) -> MeasureData:
        with_proxy = sorted(m for m, d in self.switches.items() if d.vmp_proxy is not None)
        definition = (
            self.switches.get(str(sel.molecule).casefold()) if sel.molecule is not None else None
        )
        if definition is None or definition.vmp_proxy is None:
            return MeasureData(
                _EMPTY_FRAME,
                "Best-value share needs one molecule whose SCMD products separate best-value "
                f"and originator presentations; available for: {', '.join(with_proxy) or 'none'}.",
            )
        share = vmp_proxy_share(rows, definition)
        frame = _ratio_frame(
            share["year_month"],
            share["trust_code"],
            share["proxy_best_value_doses"],
            share["proxy_total_doses"],
        )
        note = f"proxy, not a brand share: {definition.vmp_proxy.label}"
        return MeasureData(frame, None, (note,))

    def _polypharmacy_measure(self, sel: Selection) -> MeasureData:
        source = self._patient_source()
        part = source.summary[source.summary["comparator"] == sel.comparator]
        frame = _ratio_frame(
            part["month"], part["trust_code"], part["numerator"], part["denominator"]
        )
        notes = [f"comparator: {COMPARATOR_LABELS[sel.comparator]}"]
        if source.synthetic:
            notes.append("SYNTHETIC patients (not real people) from medlib.synthetic.patients")
        notes.append(
            f"patient counts, and the percentages in the table and chart, follow the disclosure "
            f"policy: {POLICY}"
        )
        return MeasureData(frame.reset_index(drop=True), None, tuple(notes))

    def _unit_frame(self, sel: Selection, level: str) -> pd.DataFrame:
        """The measure per unit (trust or system) and month, every month available."""
        data = self._trust_measure(sel)
        if level != "system" or data.message:
            return data.frame

        def by_system() -> pd.DataFrame:
            frame = data.frame.assign(unit=data.frame["unit"].map(self._trust_icb))
            frame = frame[frame["unit"].notna()]
            out = frame.groupby(["year_month", "unit"], as_index=False)[
                ["numerator", "denominator", "rows"]
            ].sum(min_count=1)
            return out

        return self._cache.get("systems", self._data_key(sel), by_system)

    # --- answers --------------------------------------------------------------------------

    @property
    @_per_view
    def message(self) -> str | None:
        """Why the current view cannot be drawn (e.g. "Spend is not available ..."), or None."""
        data = self._trust_measure(self._selection)
        if data.message:
            return data.message
        series = self.chart_series
        if series.empty or series["value"].isna().all():
            start, end = self.period
            who = ", ".join(self.units)
            span = f"{format_month_short(start)} to {format_month_short(end)}"
            if series.empty:
                return f"No data for {who} from {span} for this selection."
            return (
                f"Too few patients to show for {who} from {span}: every month's counts are "
                "small numbers, which are suppressed."
            )
        return None

    @property
    def available(self) -> bool:
        """Whether the measure can be shown for the current selection."""
        return self._trust_measure(self._selection).message is None

    @property
    @_per_view
    def notes(self) -> list[str]:
        """Caveats for the current view."""
        data = self._trust_measure(self._selection)
        out = list(self._trust_notes) + list(data.notes)
        if data.message is None and self._selection.chart == "spc":
            gaps, hidden = self._gaps()
            if gaps:
                out.append(f"{gaps} month(s) with no data are left out of the SPC chart")
            if hidden:
                out.append(f"{hidden} month(s) with small numbers are left out of the SPC chart")
        return out

    def _in_period(self, frame: pd.DataFrame) -> pd.DataFrame:
        start, end = self.period
        return frame[(frame["year_month"] >= start) & (frame["year_month"] <= end)]

    @property
    @_per_view
    def series(self) -> pd.DataFrame:
        """The measure for each unit shown, month by month within the period.

        Returns:
            ``year_month, code, numerator, denominator, value``; ``value`` is the total for
            additive measures and ``100 x numerator / denominator`` for percentages. For a
            measure from patient records ``value`` is the percentage of the published counts
            (:func:`medlib.present.disclosure.disclose_percentage`), missing when either count
            is suppressed, so a chart shows no more than the table; ``numerator`` and
            ``denominator`` stay the raw counts the table discloses.
        """
        sel = self._selection
        if self.level == "england":
            out = self.chart_series.assign(code=ENGLAND[0])
            return out[["year_month", "code", "numerator", "denominator", "value"]]
        frame = self._in_period(self._unit_frame(sel, self.level))
        frame = frame[frame["unit"].isin(self.units)].rename(columns={"unit": "code"})
        frame = frame.assign(value=_shown_values(frame, self.measure))
        order = {c: i for i, c in enumerate(self.units)}
        frame = frame.assign(_order=frame["code"].map(order))
        frame = frame.sort_values(["year_month", "_order"], kind="mergesort")
        return frame[["year_month", "code", "numerator", "denominator", "value"]].reset_index(
            drop=True
        )

    @property
    @_per_view
    def chart_series(self) -> pd.DataFrame:
        """The one series an SPC chart shows: the unit, or the units added up, by month.

        Returns:
            ``year_month, numerator, denominator, value`` over the period, months with no data
            left out. For a measure from patient records ``value`` is missing in a month whose
            published counts are suppressed (see :attr:`series`); the SPC chart leaves it out.
        """
        sel = self._selection
        level = "trust" if self.level == "england" else self.level
        frame = self._in_period(self._unit_frame(sel, level))
        if self.level != "england":
            frame = frame[frame["unit"].isin(self.units)]
        summed = frame.groupby("year_month", as_index=False)[["numerator", "denominator"]].sum(
            min_count=1
        )
        summed = summed[_values(summed, self.measure).notna()]
        return summed.assign(value=_shown_values(summed, self.measure)).reset_index(drop=True)

    def _gaps(self) -> tuple[int, int]:
        """Months of the period with no data, and months whose published counts are hidden."""
        start, end = self.period
        expected = self.months[(self.months >= start) & (self.months <= end)]
        series = self.chart_series
        hidden = int(series["value"].isna().sum())
        return len(expected) - len(series), hidden

    @property
    @_per_view
    def spc_result(self) -> spc.SpcResult | None:
        """The XmR chart of :attr:`chart_series` (None when there is nothing to chart)."""
        series = self.chart_series
        series = series[series["value"].notna()]
        if series.empty:
            return None
        return spc.spc(
            series["value"].to_numpy(),
            x=list(series["year_month"]),
            improvement_direction=self.measure.improvement_direction,
        )

    def comparison_units(self) -> list[str]:
        """Units in the comparison group (trusts, or systems when a system is shown)."""
        sel = self._selection
        level = "system" if self.level == "system" else "trust"
        frame = self._unit_frame(sel, level)
        every = sorted(frame["unit"].dropna().unique())
        if sel.comparison == "england" or self.level == "england":
            return every
        if level == "system":
            regions = {self._icb_region.get(u) for u in self.units}
            return [u for u in every if self._icb_region.get(u) in regions]
        if sel.comparison == "region":
            regions = {self._trust_region.get(u) for u in self.units}
            return [u for u in every if self._trust_region.get(u) in regions]
        icbs = {self._trust_icb.get(u) for u in self.units}
        return [u for u in every if self._trust_icb.get(u) in icbs]

    def _group_deciles(self) -> pd.DataFrame:
        sel = self._selection
        level = "system" if self.level == "system" else "trust"
        group = tuple(self.comparison_units())

        def compute() -> pd.DataFrame:
            frame = self._unit_frame(sel, level)
            frame = frame[frame["unit"].isin(group)]
            frame = frame.assign(value=_shown_values(frame, MEASURES[sel.measure]))
            return peer_comparison.deciles(frame, "value", period="year_month", org="unit")

        return self._cache.get("deciles", (self._data_key(sel), level, group), compute)

    @property
    @_per_view
    def deciles(self) -> pd.DataFrame:
        """Deciles of the comparison group per month within the period.

        Returns:
            ``year_month, percentile, value`` (:func:`medlib.stats.peer_comparison.deciles`).
        """
        if not self.available:
            return pd.DataFrame(columns=["year_month", "percentile", "value"])
        return self._in_period(self._group_deciles()).reset_index(drop=True)

    @property
    @_per_view
    def chart_data(self) -> pd.DataFrame:
        """The numbers behind the chart currently chosen.

        Returns:
            For the SPC chart, one row per month: ``year_month, value, mean, lpl, upl,
            special_cause_type, point_type``. For the decile chart, one row per month:
            ``year_month``, ``p10`` ... ``p90`` and one column per unit shown (its code).
            Empty when the measure is not available.
        """
        if not self.available:
            return pd.DataFrame()
        if self._selection.chart == "spc":
            result = self.spc_result
            if result is None:
                return pd.DataFrame()
            pts = result.points.rename(columns={"x": "year_month", "y": "value"})
            return pts[
                ["year_month", "value", "mean", "lpl", "upl", "special_cause_type", "point_type"]
            ].reset_index(drop=True)
        wide = self.deciles.pivot(index="year_month", columns="percentile", values="value")
        wide.columns = [f"p{int(p)}" for p in wide.columns]
        if self.level != "england":
            lines = self.series.pivot(index="year_month", columns="code", values="value")
            wide = wide.join(lines[[c for c in self.units if c in lines.columns]], how="outer")
        wide.columns.name = None
        return wide.reset_index()

    def name_of(self, code: str) -> str:
        """A unit's name: trust name, ICB name, or the England label."""
        if code == ENGLAND[0]:
            return ENGLAND[1]
        if code == COMBINED:
            return "Selected trusts added together"
        return str(self._trust_name.get(code) or self._icb_name.get(code) or code)

    @property
    @_per_view
    def table(self) -> pd.DataFrame:
        """The summary table of the current view: one row per unit shown, plus a combined row.

        Columns (:data:`TABLE_COLUMNS`): ``code, name, measure, first_month, last_month,
        months_with_data, period_value`` (the total over the period, or the overall percentage
        ``100 x sum(numerator) / sum(denominator)``), ``latest_value`` (the last month of the
        period), ``comparison_median`` (the comparison group's median that month),
        ``percentile_rank`` (0 lowest to 100 highest in the comparison group that month) and
        ``variation`` (the SPC verdict on the unit's own series). For polypharmacy the
        percentages follow the disclosure policy and two disclosed count columns are added.
        Values are rounded to 2 decimals and ranks to 1.
        """
        if not self.available:
            return pd.DataFrame(columns=TABLE_COLUMNS)
        measure = self.measure
        start, end = self.period
        series = self.series
        deciles = self.deciles
        median = deciles[(deciles["year_month"] == end) & (deciles["percentile"] == 50)]
        median_value = float(median["value"].iloc[0]) if len(median) else np.nan
        ranks = self._ranks_at(end)
        rows = []
        groups: list[tuple[str, pd.DataFrame]] = [
            (c, series[series["code"] == c]) for c in self.units
        ]
        if len(self.units) > 1:
            groups.append((COMBINED, self.chart_series))
        for code, part in groups:
            # The months with data, whether or not their published counts are suppressed: the
            # table discloses its own totals from the raw counts.
            part = part[_values(part, measure).notna()]
            latest = part[part["year_month"] == end]
            rows.append(
                {
                    "code": code,
                    "name": self.name_of(code),
                    "measure": self._measure_label(),
                    "first_month": f"{start:{_MONTH_FORMAT}}",
                    "last_month": f"{end:{_MONTH_FORMAT}}",
                    "months_with_data": len(part),
                    "period_value": _period_value(part, measure),
                    "latest_value": _latest_value(latest, measure),
                    "comparison_median": median_value,
                    "percentile_rank": ranks.get(code, np.nan),
                    "variation": _variation(part, measure),
                    "_num": float(latest["numerator"].sum()) if len(latest) else np.nan,
                    "_den": float(latest["denominator"].sum()) if len(latest) else np.nan,
                    "_pnum": float(part["numerator"].sum()),
                    "_pden": float(part["denominator"].sum()),
                }
            )
        table = pd.DataFrame(rows)
        # Pennies, hundredths of a unit or of a percentage point: more would be false precision.
        for col in ("period_value", "latest_value", "comparison_median"):
            table[col] = table[col].astype(float).round(2)
        table["percentile_rank"] = table["percentile_rank"].astype(float).round(1)
        if measure.patients:
            # Percentages from the published counts; the units add up to the combined row, so
            # a unit's '*' is protected by suppressing another unit too.
            combined = (
                [RowGroup("code", COMBINED, tuple(self.units))] if len(self.units) > 1 else []
            )
            shown = disclose_table(
                table,
                ["_num", "_den"],
                {"period_value": ("_pnum", "_pden"), "latest_value": ("_num", "_den")},
                row_groups=combined,
            )
            table["period_value"] = shown["period_value"]
            table["latest_value"] = shown["latest_value"]
            table["latest_patients_meeting"] = shown["_num"]
            table["latest_patients"] = shown["_den"]
        return table.drop(columns=["_num", "_den", "_pnum", "_pden"])

    def _ranks_at(self, month: pd.Timestamp) -> dict[str, float]:
        if self.level == "england":
            return {}
        level = "system" if self.level == "system" else "trust"
        frame = self._unit_frame(self._selection, level)
        frame = frame[(frame["year_month"] == month) & frame["unit"].isin(self.comparison_units())]
        values = pd.Series(
            _shown_values(frame, self.measure).to_numpy(), index=frame["unit"].to_numpy()
        )
        ranks = peer_comparison.percent_rank(values)
        return {u: float(ranks[u]) for u in self.units if u in ranks.index}

    @property
    def comparison_label(self) -> str:
        """The comparison group in words, e.g. "trusts in the same region"."""
        return COMPARISONS[self._selection.comparison]

    def _measure_label(self) -> str:
        sel = self._selection
        if self.measure.patients:
            return f"{self.measure.label}: {COMPARATOR_LABELS[sel.comparator]}"
        return f"{self.measure.label}, {sel.focus.label}"

    # --- words and files ------------------------------------------------------------------

    def title(self) -> str:
        """A plain-English chart title for the current view."""
        start, end = self.period
        who = ", ".join(self.units) if self.level != "england" else ENGLAND[1].lower()
        if self.level == "system":
            who = self.name_of(self.units[0])
        span = f"{format_month_short(start)} to {format_month_short(end)}"
        return f"{self._measure_label()}: {who}, {span}"

    def describe(self) -> str:
        """One sentence summing up the current view (or saying why it cannot be shown)."""
        if self.message:
            return self.message
        table = self.table
        row = table.iloc[-1]
        measure = self.measure
        start, end = self.period
        who = row["name"] if row["code"] != COMBINED else "the selected trusts together"
        value = _format_value(row["period_value"], measure)
        kind = "overall" if measure.ratio else "in total"
        span = f"{format_month_short(start)} to {format_month_short(end)}"
        text = f"{self._measure_label()} for {who}, {span}: {value} {kind}"
        latest = _format_value(row["latest_value"], measure)
        text += f"; {format_month_short(end)}: {latest}"
        if pd.notna(row["percentile_rank"]):
            text += f", percentile rank {row['percentile_rank']:.0f} among {self.comparison_label}"
        return text + f". SPC: {row['variation']}."

    def export_name(self) -> str:
        """A file name (no extension) describing the current view."""
        sel = self._selection
        start, end = self.period
        what = COMPARATOR_LABELS[sel.comparator] if self.measure.patients else sel.focus.label
        parts = [
            "explorer",
            sel.measure,
            what,
            "-".join(self.units),
            f"{start:%Y%m}",
            f"{end:%Y%m}",
        ]
        return re.sub(r"[^a-z0-9]+", "_", "_".join(parts).lower()).strip("_")[:120]

    def export(self, folder: str | Path = "exports", name: str | None = None) -> tuple[Path, Path]:
        """Write the current view's table as ``<name>.csv`` and ``<name>.xlsx``.

        The workbook also has the chart's data and the selection, so a file found later says
        what it shows.

        Args:
            folder: Folder to write into (created if needed); default ``exports`` under the
                current working directory.
            name: File name without extension; default :meth:`export_name`.

        Returns:
            The CSV and Excel paths.
        """
        from medlib.explorer.export import write_view

        return write_view(self, Path(folder), name or self.export_name())

    def figure(self) -> Figure | None:
        """The current chart as a matplotlib Figure, or None when there is nothing to draw."""
        from medlib.explorer.render import view_figure

        return view_figure(self)

    def table_view(self) -> Table:
        """The summary table as a person reads it: labelled, values written as the measure's.

        :attr:`table` keeps its machine-readable columns for code and the exports; this is
        the same rows through :func:`medlib.present.sections.lead_table` (see
        :func:`medlib.explorer.render.table_view`).
        """
        from medlib.explorer.render import table_view

        return table_view(self)

    @property
    def store(self) -> Store | None:
        """The data store the explorer reads, or None for the bundled extracts or own tables."""
        return self._store

    def measures(self, measure: str | None = None, measure_dirs: Sequence[str] = ()) -> Section:
        """The trusts shown on every hospital medicines measure (see :mod:`medlib.measures`).

        One row per measure and trust (latest value, national median, percentile, potential
        for improvement, most improved), measures in order of the first trust's potential;
        with ``measure`` (an id such as ``"abx_iv"``), that measure's decile chart for the
        first trust and its sentence. Computed over the explorer's store, or every bundled SCMD
        extract, up to the last month shown.

        Args:
            measure: A measure id to chart.
            measure_dirs: Folders of a team's own measure definitions (YAML).

        Raises:
            ExplorerError: No trust is chosen, the explorer was given its own usage table,
                or ``measure`` has no data.
        """
        from medlib.explorer.measures import measures_section

        return measures_section(self, measure, measure_dirs)

    def summary(self) -> Section:
        """The view in words and as a table: :meth:`describe`, then :meth:`table_view`.

        A notebook shows it as a cell's last value. Trust and molecule names come from the
        data, so the sentence is shown through the Markdown escape of
        :class:`medlib.present.sections.Section`, never as raw Markdown.
        """
        from medlib.present.sections import Section

        return Section(self.describe(), self.table_view())


# --- private functions ----------------------------------------------------------------------


#: The explorer's one dataset when it reads a store.
STORE_DATASET = "store"


def _store_patients(store: Any) -> PatientTables | None:
    """The store's patient extracts, or None when it holds none (synthetic patients then)."""
    from medlib.io.patient_store import patient_streams, read_patient_store

    return read_patient_store(store) if patient_streams(store) else None


def _bundled(name: str) -> pd.DataFrame:
    from medlib.io.datasets import load_dataset

    return load_dataset(name)


def _check_trusts(trusts: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in TRUST_COLUMNS if c not in trusts.columns]
    if missing:
        raise ExplorerError(
            f"trusts table is missing column(s) {missing}; it needs {TRUST_COLUMNS}"
        )
    out = trusts.copy()
    out["trust_code"] = normalise_codes(out["trust_code"].astype(str))
    out["successor_code"] = (
        out["successor_code"].astype(object).where(out["successor_code"].notna(), None)
    )
    return out


def _final_successors(trusts: pd.DataFrame) -> dict[str, str]:
    from medlib.explorer.sources import lineage_from_trusts
    from medlib.reference.trusts import successor_map

    return successor_map(lineage_from_trusts(trusts))


def _normalise_period(period: object) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    if period is None:
        return None
    if isinstance(period, str) or not isinstance(period, Sequence) or len(period) != 2:
        raise ExplorerError(
            f"period must be (start, end), e.g. ('2023-04', '2024-03'), or None; got {period!r}"
        )
    try:
        start, end = parse_month(period[0], "period start"), parse_month(period[1], "period end")
    except InputError as exc:
        raise ExplorerError(str(exc)) from None
    if end < start:
        raise ExplorerError(f"period ends ({end:%Y-%m}) before it starts ({start:%Y-%m})")
    return start, end


def _suggest(value: str, choices: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(value, list(choices), n=3, cutoff=0.5)
    lower = [c for c in choices if value.casefold() in c.casefold()]
    hints = list(dict.fromkeys(close + lower))[:3]
    if hints:
        return f"did you mean {', '.join(map(repr, hints))}?"
    return f"molecules there include {', '.join(map(repr, list(choices)[:5]))}"


def _fill_span(frame: pd.DataFrame, months: pd.DatetimeIndex) -> pd.DataFrame:
    """Count months with no rows as zero inside each unit's span of reported months."""
    if frame.empty:
        return frame
    months = months.rename("year_month")
    num = frame.pivot(index="year_month", columns="unit", values="numerator").reindex(months)
    rows = frame.pivot(index="year_month", columns="unit", values="rows").reindex(months)
    has = rows.notna()
    inside = has.cummax() & has[::-1].cummax()[::-1]
    num = num.where(~(inside & ~has), 0.0)
    rows = rows.where(~(inside & ~has), 0.0)
    long = pd.DataFrame(
        {
            "numerator": num.stack(future_stack=True),
            "rows": rows.stack(future_stack=True),
            "inside": inside.stack(future_stack=True),
        }
    )
    long = long[long["inside"]].drop(columns="inside").reset_index()
    long["denominator"] = np.nan
    long["unit"] = long["unit"].astype(object)
    return long[["year_month", "unit", "numerator", "denominator", "rows"]]


def _values(frame: pd.DataFrame, measure: Measure) -> pd.Series:
    if not measure.ratio:
        return frame["numerator"].astype(float)
    den = frame["denominator"].astype(float)
    return 100.0 * frame["numerator"].astype(float) / den.where(den > 0)


def _shown_values(frame: pd.DataFrame, measure: Measure) -> pd.Series:
    """The values a chart draws: for patient records, percentages of the published counts.

    A percentage of raw counts gives them away (1 of 3 patients is 33.3%), so for a measure
    from patient records each value is
    :func:`~medlib.present.disclosure.disclose_percentage` of the unit's month, missing when
    either count is suppressed.
    """
    if not measure.patients:
        return _values(frame, measure)
    shown = [
        disclose_percentage(n, d)
        for n, d in zip(frame["numerator"], frame["denominator"], strict=True)
    ]
    return pd.Series(
        [np.nan if v is None or v == SUPPRESSED else float(v) for v in shown],
        index=frame.index,
        dtype=float,
    )


def _latest_value(latest: pd.DataFrame, measure: Measure) -> float:
    """The unit's value in the period's last month (raw: the table discloses its own)."""
    if latest.empty:
        return np.nan
    return float(_values(latest, measure).iloc[0])


def _period_value(part: pd.DataFrame, measure: Measure) -> float:
    if part.empty:
        return np.nan
    if measure.ratio:
        den = float(part["denominator"].sum())
        return 100.0 * float(part["numerator"].sum()) / den if den > 0 else np.nan
    return float(part["numerator"].sum())


def _variation(part: pd.DataFrame, measure: Measure) -> str:
    if part.empty:
        return "no data"
    values = part["value"].dropna().to_numpy()
    if len(values) == 0:
        return "not shown (small numbers)"
    result = spc.spc(values, improvement_direction=measure.improvement_direction)
    text = spc.VARIATION_TEXT[result.variation_icon]
    if len(values) < spc.MIN_POINTS:
        text += " (trial limits)"
    return text


def _format_value(value: object, measure: Measure) -> str:
    if isinstance(value, str):
        return value
    if value is None or pd.isna(value):
        return "no data"
    number = float(value)  # type: ignore[arg-type]
    if measure.ratio:
        return format_pct(number)
    if measure.key == "spend":
        return format_gbp(number, "whole")
    return format_number(number)
