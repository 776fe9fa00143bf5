"""The explorer's data: usage extracts and synthetic patients, each prepared once.

A usage extract is prepared once when it is first chosen: merged trusts are mapped onto their
successors (so a trust's history is continuous) and every row is joined to its molecule, BNF
section and defined daily doses with :func:`medlib.spend.measures.with_product_attributes`.
Everything
the explorer asks afterwards is a filter on that prepared table.

The polypharmacy comparators need patient-level records, for which there is no public source:
the explorer uses the seeded synthetic patients of :mod:`medlib.synthetic.patients` and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from medlib.errors import InputError
from medlib.io.patient_tables import PatientTables
from medlib.polypharmacy.comparators import COMPARATORS, monthly_comparators
from medlib.reference.trusts import map_to_successor
from medlib.spend.measures import BNF_CHAPTERS, UNKNOWN, with_product_attributes
from medlib.validation import require_columns

__all__ = [
    "BUNDLED_DATASETS",
    "COMPARATOR_LABELS",
    "TRUST_COLUMNS",
    "ExplorerError",
    "Focus",
    "PatientSource",
    "UsageSource",
    "bnf_section_label",
    "lineage_from_trusts",
    "patient_months",
]

#: Bundled usage extracts the explorer offers, with a short label for menus.
BUNDLED_DATASETS = {
    "scmd_lithium": "Lithium (SCMD 2019-04 to 2024-03, with indicative cost)",
    "scmd_biologics": "Biologics (SCMD 2019-01 to 2021-10, quantity only)",
    "scmd_antibacterials": "Antibacterials (SCMD 2019-01 to 2020-11, quantity only)",
}
USAGE_COLUMNS = ["year_month", "trust_code", "vmp_code", "vmp_name", "quantity", "cost_gbp"]
TRUST_COLUMNS = ["trust_code", "trust_name", "region", "icb_code", "icb_name", "successor_code"]
#: Polypharmacy comparators the explorer offers: key -> plain-English label.
COMPARATOR_LABELS = {c.key: c.label for c in COMPARATORS}


class ExplorerError(InputError):
    """A selection or input the explorer cannot show; the message says what to choose instead."""


@dataclass(frozen=True)
class Focus:
    """Which products a view covers: one molecule, one BNF section, or every product.

    Attributes:
        kind: ``"molecule"``, ``"bnf_section"`` or ``"all"``.
        value: The molecule name (as in dm+d, e.g. ``"Lithium carbonate"``) or the 4-digit BNF
            section (e.g. ``"0402"``); None for ``"all"``.
    """

    kind: str
    value: str | None = None

    @property
    def label(self) -> str:
        """How the focus is named in titles and sentences."""
        if self.kind == "molecule":
            return str(self.value)
        if self.kind == "bnf_section":
            return bnf_section_label(str(self.value))
        return "all products"


def bnf_section_label(section: str) -> str:
    """A BNF section code with its chapter name.

    Example:
        >>> bnf_section_label("0402")
        'BNF section 04.02 (Central nervous system)'
    """
    chapter = BNF_CHAPTERS.get(section[:2], UNKNOWN)
    return f"BNF section {section[:2]}.{section[2:4]} ({chapter})"


def lineage_from_trusts(trusts: pd.DataFrame) -> pd.DataFrame:
    """Predecessor -> successor pairs from the ``successor_code`` column of a trusts table."""
    require_columns(trusts, ["trust_code", "successor_code"], "trusts")
    merged = trusts[trusts["successor_code"].notna()]
    return pd.DataFrame(
        {
            "predecessor_code": merged["trust_code"].astype(object).to_numpy(),
            "successor_code": merged["successor_code"].astype(object).to_numpy(),
        }
    )


class UsageSource:
    """One usage extract, prepared for exploring.

    Attributes:
        name: The dataset name.
        rows: Usage rows with merged trusts mapped to successors and product attributes added
            (``vtm_name``, ``bnf_section``, ``ddds``, ...).
        months: Every month in the extract, in order.
        molecules: Molecule names with their row counts, most rows first.
        sections: BNF sections (4 digits) present, in order.
        trust_codes: Trusts with rows (after mapping merged trusts), in order.
    """

    def __init__(
        self, name: str, usage: pd.DataFrame, products: pd.DataFrame, trusts: pd.DataFrame
    ) -> None:
        require_columns(usage, USAGE_COLUMNS, f"usage table {name!r}")
        if usage.empty:
            raise ExplorerError(f"usage table {name!r} has no rows: there is nothing to explore")
        mapped = map_to_successor(usage, lineage=lineage_from_trusts(trusts), keep_original=False)
        self.name = name
        self.rows = with_product_attributes(mapped, products)
        self.rows["year_month"] = pd.to_datetime(self.rows["year_month"]).astype("datetime64[ns]")
        self.months = pd.DatetimeIndex(sorted(self.rows["year_month"].unique()))
        counts = self.rows["vtm_name"].value_counts()
        counts = counts[counts.index != UNKNOWN]
        self.molecules = sorted(counts.index, key=lambda m: (-counts[m], m))
        rows = self.rows
        known = rows[(rows["bnf_section"] != UNKNOWN) & (rows["vtm_name"] != UNKNOWN)]
        by_section = known.groupby("bnf_section")["vtm_name"].unique()
        self._section_molecules = {s: sorted(v) for s, v in by_section.items()}
        self.sections = sorted(self._section_molecules)
        self.trust_codes = sorted(self.rows["trust_code"].unique())

    def focus_rows(self, focus: Focus) -> pd.DataFrame:
        """The prepared rows a focus covers."""
        if focus.kind == "molecule":
            return self.rows[self.rows["vtm_name"] == focus.value]
        if focus.kind == "bnf_section":
            return self.rows[self.rows["bnf_section"] == focus.value]
        return self.rows

    def section_molecules(self, section: str) -> list[str]:
        """Molecules in a BNF section, alphabetically."""
        return list(self._section_molecules.get(section, []))


class PatientSource:
    """Monthly polypharmacy comparators per trust, computed once from patient-level tables.

    Attributes:
        tables: The patient tables.
        months: The months summarised.
        summary: :func:`medlib.polypharmacy.comparators.monthly_comparators` by trust: ``month,
            trust_code, comparator, numerator, denominator, percent, ...``.
        synthetic: Whether the tables are the generated sample.
    """

    def __init__(self, tables: PatientTables, months: Sequence[pd.Timestamp], synthetic: bool):
        if len(months) == 0:
            raise ExplorerError("polypharmacy needs at least one month to summarise")
        self.tables = tables
        self.months = pd.DatetimeIndex(sorted(months))
        self.synthetic = synthetic
        self.summary = monthly_comparators(tables, self.months[0], self.months[-1])


def patient_months(last_month: object, count: int) -> pd.DatetimeIndex:
    """The ``count`` months ending with ``last_month`` (first day of each)."""
    if count < 1:
        raise ExplorerError(f"polypharmacy_months must be at least 1, got {count}")
    end = pd.Timestamp(last_month).to_period("M").to_timestamp()
    return pd.date_range(end - pd.DateOffset(months=count - 1), end, freq="MS")
