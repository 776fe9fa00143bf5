"""The polypharmacy and prescribing-safety audit: its sections, tables and sentences.

``notebooks/polypharmacy_audit.ipynb`` resolves a :class:`~medlib.context.ReportContext`,
calls :func:`build` and shows one section per cell; :meth:`AuditReport.tables` are written once
at the end. The census date defaults to the last day of the context's period end, and may not
be later than it. The functions below (:func:`load_audit`, :func:`headline_table`, ...) are the
analyst's API to the same numbers; what the page shows of each table (labelled, reshaped to fit)
is made by :mod:`medlib.polypharmacy.views`.

Every table and chart label here is lead-facing, so every patient count goes through
:mod:`medlib.present.disclosure` (1-7 shown as ``*``, other counts rounded to the nearest 5,
secondary suppression where a ``*`` could be worked out from a total, percentages and funnel
limits computed from the published counts, means over 1-7 patients suppressed) before anything
renders, and no output carries a patient id. The counts the tables share (the by-age
distribution, the headline thresholds, the breakdowns by age band and sex) are disclosed
together, once, by :func:`published_counts`, so a count hidden in one table is hidden in every
other. The patient-level review list lives in :mod:`medlib.polypharmacy.review_list` and is
never produced here.

The published tables and their columns are documented in ``docs/polypharmacy.md``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from medlib.context import ReportContext
from medlib.errors import InputError
from medlib.io.patient_tables import PatientTables
from medlib.pack_cache import pack_cached
from medlib.polypharmacy import comparators, pincer, views
from medlib.polypharmacy.review_list import assert_lead_facing
from medlib.present import charts, disclosure
from medlib.present.outputs import publish_tables
from medlib.present.sections import Report, Section
from medlib.present.style import (
    NHS_BLUE,
    NHS_DARK_GREY,
    NHS_ORANGE,
    NHS_PALE_GREY,
    PALETTE,
    chart_style,
)
from medlib.present.wording import format_pct
from medlib.reference import pincer_definitions
from medlib.reference.lookback import to_day
from medlib.reference.trusts import normalise_code, trust_names
from medlib.stats import peer_comparison

__all__ = [
    "ACB_KEYS",
    "COMBINATION_KEYS",
    "FUNNEL_INDICATOR",
    "MEDICINE_BANDS",
    "AuditReport",
    "PolyAudit",
    "SharedFlags",
    "acb_table",
    "data_quality_table",
    "audit_from_tables",
    "build",
    "census_for",
    "check_parameters",
    "combinations_table",
    "comparators_by_group",
    "data_statement",
    "disclosed_mean",
    "headline_sentences",
    "headline_table",
    "indicator_label",
    "load_audit",
    "medicines_by_age",
    "medicines_by_age_chart",
    "pincer_funnel_chart",
    "pincer_funnel_table",
    "pincer_table",
    "publish_lead_tables",
    "published_counts",
    "shared_flags",
]

#: Medicine-count bands shown in the distribution by age band.
MEDICINE_BANDS = ((0, 4, "0-4"), (5, 7, "5-7"), (8, 9, "8-9"), (10, 14, "10-14"), (15, None, "15+"))
ACB_KEYS = ("acb_6plus", "acb_2plus_moderate_high")
COMBINATION_KEYS = ("damn_2plus", "nsaid_plus_damn", "anticoagulant_antiplatelet", "falls_3plus")


@dataclass(frozen=True)
class PolyAudit:
    """Everything the notebook's sections need, computed once.

    Attributes:
        organisation: The trust the report is for.
        organisation_name: Its name (or the code when the name is unknown).
        census_date: The census date.
        min_age: Youngest age included.
        max_age: Oldest age included.
        tables: Patient tables for every organisation, restricted to the age range.
        comparators: :func:`medlib.polypharmacy.comparators.comparator_flags` for every patient.
        pincer_flags: :func:`medlib.polypharmacy.pincer.pincer_flags` for every patient.
        source: How the data are described in every output (says "synthetic" when it is).
        synthetic: Whether the data are synthetic.
    """

    organisation: str
    organisation_name: str
    census_date: pd.Timestamp
    min_age: int
    max_age: int
    tables: PatientTables
    comparators: pd.DataFrame
    pincer_flags: pd.DataFrame
    source: str
    synthetic: bool
    rows: tuple[tuple[str, int, int, int], ...] = ()

    @property
    def organisations(self) -> list[str]:
        """Every organisation in the data."""
        return sorted(self.tables.patients["trust_code"].unique())


def check_parameters(census_date: object, min_age: int, max_age: int, seed: int) -> None:
    """Validate the audit's options before any work starts.

    The trust and the period are checked once, by :func:`medlib.context.resolve_context`.

    Raises:
        InputError: Naming the parameter, what it was and what is expected.
    """
    to_day(census_date, "census_date")
    for name, value in (("min_age", min_age), ("max_age", max_age), ("seed", seed)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 0:
            raise InputError(f"{name} must be a whole number of 0 or more, got {value!r}")
    if min_age > max_age:
        raise InputError(f"min_age ({min_age}) must not be above max_age ({max_age})")


def census_for(context: ReportContext, census_date: str = "") -> pd.Timestamp:
    """The audit's census date: the end of the period end's month unless given.

    Raises:
        InputError: The census date is after the end of the report's period.
    """
    if not census_date:
        return context.census_date
    census = to_day(census_date, "census_date")
    if census > context.census_date:
        raise InputError(
            f"census_date {census.date()} is after the report's period end "
            f"({context.period_end_label}); use a date up to {context.census_date.date()} or "
            "leave it empty for the end of the period"
        )
    return census


def load_audit(
    context: ReportContext,
    census_date: str = "",
    min_age: int = 18,
    max_age: int = 120,
    seed: int = 2025,
    patient_data_dir: str = "",
    store: str = "",
) -> PolyAudit:
    """Load (or generate) the patient tables and compute every flag once.

    The patient tables come from ``patient_data_dir`` when it is given; else from the store's
    patient extracts (``medlib ingest FOLDER --table patients``) when it holds any; else the
    synthetic patients stand in, and every output says so.

    Args:
        context: The report's trust and period end (a single trust).
        census_date: Census date ``YYYY-MM-DD``; empty for the last day of the period end.
        min_age: Youngest age included.
        max_age: Oldest age included.
        seed: Seed of the synthetic data (used when there is no real extract).
        patient_data_dir: Folder holding ``patients.csv``, ``medications.csv``,
            ``conditions.csv`` and ``tests.csv``; empty reads the store.
        store: The data store's folder; empty for the bundled sample's store (which holds
            no patient extract).

    Raises:
        InputError: A parameter is invalid, the context is a system, or the trust has no
            patients in the data.
    """
    census = census_for(context, census_date)
    check_parameters(census, min_age, max_age, seed)
    if context.is_system:
        raise InputError(
            f"trust_code: the audit is for one trust; {context.code!r} is a system of "
            f"{len(context.trust_codes)} trusts"
        )
    folder = patient_data_dir
    ages = int(min_age), int(max_age)
    if not folder and _store_extracts(store):
        flags = store_flags(census, *ages, store, _store_extracts(store))
    else:
        flags = shared_flags(census, *ages, int(seed), folder, _fingerprint(folder))
    return _audit(flags, context.code, census, min_age, max_age, context.name)


@dataclass(frozen=True)
class SharedFlags:
    """The part of an audit that is the same whichever organisation it is for."""

    tables: PatientTables
    comparators: pd.DataFrame
    pincer_flags: pd.DataFrame
    source: str
    synthetic: bool
    #: ``(table, rows read, accepted, quarantined)`` of a real extract; empty for synthetic.
    rows: tuple[tuple[str, int, int, int], ...] = ()


@pack_cached
def shared_flags(
    census: pd.Timestamp,
    min_age: int,
    max_age: int,
    seed: int,
    patient_data_dir: str,
    fingerprint: tuple = (),
) -> SharedFlags:
    """Patient tables and every patient's flags, computed once per pack render.

    ``fingerprint`` (see :func:`_fingerprint`) changes when a patient file does, so a cached
    result is never reused for edited files.
    """
    if patient_data_dir:
        from medlib.io.patients import read_patient_folder

        folder = read_patient_folder(patient_data_dir)
        tables = folder.tables
        source, synthetic = "patient extract", False
        rows = tuple(
            (name, r.summary.rows_read, r.summary.rows_accepted, r.summary.rows_quarantined)
            for name, r in folder.results.items()
        )
        return replace(_flags(tables, census, min_age, max_age, source, synthetic), rows=rows)
    else:
        from medlib.synthetic.patients import generate_patients

        tables = generate_patients(seed=seed, census_date=census).tables
        source, synthetic = f"synthetic patients (seed {seed})", True
    return _flags(tables, census, min_age, max_age, source, synthetic)


def _store_extracts(store: str) -> tuple[tuple[str, str], ...]:
    """Each patient extract of the store with the digest of its files (empty for none)."""
    from medlib.io.datasets import bundled_store
    from medlib.io.patient_store import patient_extracts
    from medlib.io.store import Store

    return patient_extracts(Store(store) if store else bundled_store())


@pack_cached
def store_flags(
    census: pd.Timestamp,
    min_age: int,
    max_age: int,
    store: str,
    extracts: tuple[tuple[str, str], ...],
) -> SharedFlags:
    """The store's patient extracts and every patient's flags, computed once per pack render.

    ``extracts`` (stream and digest of each) changes when an extract is replaced, so a cached
    result is never reused for new data.
    """
    from medlib.io.datasets import bundled_store
    from medlib.io.patient_store import read_patient_store
    from medlib.io.store import Store

    source = Store(store) if store else bundled_store()
    tables = read_patient_store(source, [name for name, _ in extracts])
    names = ", ".join(name for name, _ in extracts)
    flags = _flags(
        tables, census, min_age, max_age, f"patient extract in the store ({names})", False
    )
    return replace(flags, rows=_store_rows(source, [name for name, _ in extracts]))


def _store_rows(store: Any, streams: list[str]) -> tuple[tuple[str, int, int, int], ...]:
    """Rows read, accepted and quarantined per table, from the ingest log of each extract."""
    log = store.log()
    if log.empty or "rows_by_table" not in log:
        return ()
    totals: dict[str, list[int]] = {}
    for stream in streams:
        entries = log[(log["table"] == "patients") & (log["stream"] == stream)]
        if entries.empty:
            continue
        for table, counts in dict(entries["rows_by_table"].iloc[-1]).items():
            kept = totals.setdefault(table, [0, 0, 0])
            for i, n in enumerate(counts):
                kept[i] += int(n)
    return tuple((t, *counts) for t, counts in totals.items())


def _fingerprint(folder: str) -> tuple:
    """Name, size and modification time of every file in ``folder`` (empty for none)."""
    if not folder or not os.path.isdir(folder):
        return ()
    entries = sorted(os.scandir(folder), key=lambda e: e.name)
    return tuple((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in entries if e.is_file())


def _flags(
    tables: PatientTables,
    census: pd.Timestamp,
    min_age: int,
    max_age: int,
    source: str,
    synthetic: bool,
) -> SharedFlags:
    pats = tables.patients
    in_range = pats[(pats["age"] >= min_age) & (pats["age"] <= max_age)]
    tables = tables.for_patients(in_range["patient_id"])
    return SharedFlags(
        tables=tables,
        comparators=comparators.comparator_flags(tables, census),
        pincer_flags=pincer.pincer_flags(
            tables, census, min_age=max(int(min_age), 18), max_age=min(int(max_age), 120)
        ),
        source=source,
        synthetic=synthetic,
    )


def audit_from_tables(
    tables: PatientTables,
    organisation: str,
    census_date: object,
    min_age: int = 18,
    max_age: int = 120,
    source: str = "patient extract",
    synthetic: bool = False,
) -> PolyAudit:
    """Compute every flag once for canonical patient tables already in memory.

    Args:
        tables: Canonical patient tables (every organisation, for the comparisons).
        organisation: Trust ODS code the report is for.
        census_date: Census date.
        min_age: Youngest age included.
        max_age: Oldest age included.
        source: How the data are described in every output.
        synthetic: Whether the data are synthetic (said in every output).

    Raises:
        InputError: The organisation has no patients in the age range.
    """
    census = to_day(census_date, "census_date")
    _check_organisation(tables, organisation, min_age, max_age)
    flags = _flags(tables, census, int(min_age), int(max_age), source, synthetic)
    return _audit(flags, organisation, census, min_age, max_age, trust_names().get(organisation))


def _check_organisation(
    tables: PatientTables, organisation: str, min_age: int, max_age: int
) -> None:
    pats = tables.patients
    in_range = pats[(pats["age"] >= min_age) & (pats["age"] <= max_age)]
    available = sorted(in_range["trust_code"].unique())
    if normalise_code(organisation) not in available:
        raise InputError(
            f"organisation {normalise_code(organisation)!r} has no patients aged "
            f"{min_age}-{max_age} in the data; available: {', '.join(available) or 'none'}"
        )


def _audit(
    flags: SharedFlags,
    organisation: str,
    census: pd.Timestamp,
    min_age: int,
    max_age: int,
    name: str | None,
) -> PolyAudit:
    organisation = normalise_code(organisation)
    _check_organisation(flags.tables, organisation, min_age, max_age)
    return PolyAudit(
        organisation=organisation,
        organisation_name=name or organisation,
        census_date=census,
        min_age=int(min_age),
        max_age=int(max_age),
        tables=flags.tables,
        comparators=flags.comparators,
        pincer_flags=flags.pincer_flags,
        source=flags.source,
        synthetic=flags.synthetic,
        rows=flags.rows,
    )


# --------------------------------------------------------------------------- disclosure


def disclosed_mean(total: float, n: int, decimals: int = 1) -> float | str | None:
    """A mean over ``n`` patients, suppressed when ``n`` is 1-7 (HES rule for means)."""
    if n == 0:
        return None
    if disclosure.is_suppressed(n):
        return disclosure.SUPPRESSED
    return round(float(total) / n, decimals)


def _count_phrase(count: int | str | None) -> str:
    shown = disclosure.disclose_count(count)
    if shown == disclosure.SUPPRESSED:
        return f"fewer than {disclosure.SMALL_MAX + 1}"
    return f"about {shown:,}" if shown else "no"


def _pct_phrase(numerator: int, denominator: int) -> str:
    shown = disclosure.disclose_percentage(numerator, denominator)
    if shown is None:
        return "not available (no patients)"
    if shown == disclosure.SUPPRESSED:
        return "not shown (small numbers)"
    return f"{format_pct(shown)}"


def _in_band(frame: pd.DataFrame, lo: int, hi: int | None) -> pd.Series:
    return (frame["n_medicines"] >= lo) & (
        frame["n_medicines"] <= (hi if hi is not None else np.inf)
    )


def _flag_key(measure: str, group: str) -> tuple:
    # 15 or more medicines is the by-age table's 15+ band: one count, hidden in both or neither.
    return ("band", "15+", group) if measure == "medicines_15plus" else (measure, "flagged", group)


def _den_key(label: str, group: str) -> tuple:
    # "All patients" is the by-age table's patients in every table that shows it.
    return ("patients", group) if label == "all patients" else ("den", label, group)


def published_counts(audit: PolyAudit) -> dict[tuple, int | str | None]:
    """Every patient count the audit's tables and sentences show, as published.

    The counts that add up are disclosed together (:func:`medlib.present.disclosure.
    complementary_suppression`): the medicine-count bands of each age band to its patients,
    the age bands to all ages, the age bands and the sexes of each comparator to its total, and
    the headline thresholds (8+ = 8-9 + 10+, 10+ = 10-14 + 15+). Keys:
    ``("patients", group)``, ``("band", band, group)``, ``(measure, "flagged", group)`` and
    ``("den", denominator label, group)``, where ``group`` is an age band, a sex or ``"all"``;
    15+ medicines is ``("band", "15+", group)`` and a denominator of all patients is
    ``("patients", group)``.
    """
    flags = audit.comparators
    mine = flags[flags["trust_code"] == audit.organisation]
    ages = [str(a) for a in comparators.AGE_BANDS]
    bands = [label for *_, label in MEDICINE_BANDS]
    raw: dict[tuple, float] = {}

    def put(key: tuple, value: float) -> None:
        if key in raw and raw[key] != value:
            raise RuntimeError(f"{key} counted as both {raw[key]} and {value}")
        raw[key] = value

    for group, frame in [*((a, mine[mine["age_band"] == a]) for a in ages), ("all", mine)]:
        put(("patients", group), len(frame))
        for lo, hi, label in MEDICINE_BANDS:
            put(("band", label, group), int(_in_band(frame, lo, hi).sum()))
    breakdowns: dict[str, list[str]] = {"all": ["all"]}
    for column in ("age_band", "sex"):
        summary = comparators.comparator_summary(mine, by=[column])
        summary = summary[summary["comparator"] != "mean_medicines"]
        breakdowns[column] = [str(g) for g in dict.fromkeys(summary[column])]
        for _, row in summary.iterrows():
            group = str(row[column])
            put(_flag_key(row["comparator"], group), int(row["numerator"]))
            put(_den_key(row["denominator_label"], group), int(row["denominator"]))
            if column == "sex":
                put(("patients", group), int((mine["sex"].astype(str) == group).sum()))
    total = comparators.comparator_summary(mine, by=[])
    total = total[total["comparator"] != "mean_medicines"]
    for _, row in total.iterrows():
        put(_flag_key(row["comparator"], "all"), int(row["numerator"]))
        put(_den_key(row["denominator_label"], "all"), int(row["denominator"]))

    def add_up(total_key: tuple, part_keys: list[tuple]) -> list[disclosure.Group]:
        # A breakdown that misses some patients (a sex not recorded) adds up to no total.
        if not part_keys or sum(raw[k] for k in part_keys) != raw[total_key]:
            return []
        return [disclosure.Group(total_key, tuple(part_keys))]

    groups: list[disclosure.Group] = []
    for group in [*ages, "all"]:
        groups += add_up(("patients", group), [("band", b, group) for b in bands])
    for band in bands:
        groups += add_up(("band", band, "all"), [("band", band, a) for a in ages])
    labels = dict(zip(total["comparator"], total["denominator_label"], strict=True))
    for column in ("age_band", "sex"):
        parts = breakdowns[column]
        groups += add_up(("patients", "all"), [("patients", g) for g in parts])
        for measure in (*ACB_KEYS, *COMBINATION_KEYS):
            groups += add_up(_flag_key(measure, "all"), [_flag_key(measure, g) for g in parts])
            label = labels[measure]
            groups += add_up(_den_key(label, "all"), [_den_key(label, g) for g in parts])
    # The headline's thresholds nest over the by-age table's bands (all ages).
    groups += add_up(
        _flag_key("medicines_8plus", "all"),
        [("band", "8-9", "all"), _flag_key("medicines_10plus", "all")],
    )
    groups += add_up(
        _flag_key("medicines_10plus", "all"), [("band", "10-14", "all"), ("band", "15+", "all")]
    )
    return disclosure.published_counts(raw, list(dict.fromkeys(groups)))


def publish_lead_tables(tables: Mapping[str, pd.DataFrame], tables_dir: str) -> list[os.PathLike]:
    """Check each table is lead-facing, then write it for the report pack."""
    for name, table in tables.items():
        assert_lead_facing(name, table)
    return publish_tables(tables, tables_dir)


# --------------------------------------------------------------------------- prose


def data_statement(audit: PolyAudit) -> str:
    """Where the figures come from, how many patients, and the disclosure policy."""
    pats = audit.tables.patients
    mine = int((pats["trust_code"] == audit.organisation).sum())
    what = (
        f"**These figures use SYNTHETIC patients** ({audit.source}), generated by the "
        "workbook. They show how the audit works; they say nothing about real prescribing at "
        "any trust."
        if audit.synthetic
        else f"These figures come from the {audit.source} loaded for this run."
    )
    return (
        f"{what}\n\n"
        f"Census date {audit.census_date.date()}; patients aged {audit.min_age}-{audit.max_age}. "
        f"{audit.organisation_name} ({audit.organisation}): {_count_phrase(mine)} patients; "
        f"all {len(audit.organisations)} organisations together: {_count_phrase(len(pats))} "
        f"patients.{_rows_sentence(audit)}\n\nSmall numbers: {disclosure.POLICY_MARKDOWN}"
    )


def _rows_sentence(audit: PolyAudit) -> str:
    """Every row of the extract accounted for: read = accepted + quarantined, per table."""
    if not audit.rows:
        return ""
    parts = [
        f"{table} {_count_phrase(read)} rows read, {_count_phrase(accepted)} accepted, "
        f"{_count_phrase(quarantined)} quarantined"
        for table, read, accepted, quarantined in audit.rows
    ]
    return (
        "\n\nRows of the extract (small-number rule applied): " + "; ".join(parts) + ". "
        "Quarantined rows, with the reason for each, are in the quarantine files, for analysts."
    )


def data_quality_table(audit: PolyAudit) -> pd.DataFrame:
    """Table ``poly_data_quality``: rows read, accepted and quarantined per patient table.

    Empty for synthetic patients. Every count follows the small-number rule.
    """
    return pd.DataFrame(
        [
            {
                "table": table,
                "rows_read": disclosure.disclose_count(read),
                "rows_accepted": disclosure.disclose_count(accepted),
                "rows_quarantined": disclosure.disclose_count(quarantined),
            }
            for table, read, accepted, quarantined in audit.rows
        ],
        columns=["table", "rows_read", "rows_accepted", "rows_quarantined"],
    )


def headline_sentences(audit: PolyAudit) -> str:
    """The headline comparators for the trust against all organisations, in plain English."""
    flags = audit.comparators
    mine = flags[flags["trust_code"] == audit.organisation]
    summary = comparators.comparator_summary(mine, by=[]).set_index("comparator")
    everyone = comparators.comparator_summary(flags, by=[]).set_index("comparator")
    published = published_counts(audit)

    def overall_phrase(key: str) -> str:
        a = everyone.loc[key]
        shown = disclosure.disclose_percentage(a["numerator"], a["denominator"])
        if shown is None:
            return "none across all organisations"
        if shown == disclosure.SUPPRESSED:
            return "too few across all organisations to show"
        return f"{format_pct(shown)} across all organisations"

    def line(key: str, text: str) -> str:
        m = summary.loc[key]
        flagged = published[_flag_key(key, "all")]
        shown = disclosure.disclose_percentage(
            flagged, published[_den_key(m["denominator_label"], "all")]
        )
        if shown is None:
            return f"- {text}: no {m['denominator_label']} at {audit.organisation}; " + (
                f"{overall_phrase(key)}."
            )
        if shown == disclosure.SUPPRESSED:
            # The same words whether the count is 1-7 or hidden to protect one: saying which
            # would tell the reader where the small number is.
            return (
                f"- {text}: not shown at {audit.organisation} (small numbers, and counts they "
                f"could be worked out from, are suppressed); {overall_phrase(key)}."
            )
        return (
            f"- {text}: **{format_pct(shown)}** of {m['denominator_label']} at "
            f"{audit.organisation} "
            f"({_count_phrase(flagged)} patients), against {overall_phrase(key)}."
        )

    def mean_phrase(value: float | str | None) -> str:
        if value is None:
            return "not available (no patients)"
        if value == disclosure.SUPPRESSED:
            return "not shown (small numbers)"
        return f"{value}"

    mean_mine = disclosed_mean(
        summary.loc["mean_medicines", "numerator"],
        int(summary.loc["mean_medicines", "denominator"]),
    )
    mean_all = disclosed_mean(
        everyone.loc["mean_medicines", "numerator"],
        int(everyone.loc["mean_medicines", "denominator"]),
    )
    lines = [
        f"- Unique medicines per patient (BNF chapters 1-4 and 6-10), on average: "
        f"**{mean_phrase(mean_mine)}** at {audit.organisation}, against {mean_phrase(mean_all)} "
        "across all organisations.",
        line("medicines_10plus", "10 or more unique medicines"),
        line("medicines_15plus", "15 or more unique medicines"),
        line("acb_6plus", "Anticholinergic burden score of 6 or more"),
        line("damn_2plus", "2 or more DAMN medicines (kidney-injury risk)"),
        line("anticoagulant_antiplatelet", "An anticoagulant together with an antiplatelet"),
        line("falls_3plus", "3 or more falls-risk medicines"),
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- tables


def _disclose_rates(frame: pd.DataFrame, shown: Mapping[tuple, object]) -> pd.DataFrame:
    """Published ``patients_flagged``, ``patients_in_denominator`` and ``percent``.

    The counts come from :func:`published_counts` (``shown``), and the percentage from them.
    """
    out = frame.copy()
    flagged = [
        shown[_flag_key(m, g)] for m, g in zip(frame["measure_key"], frame["group"], strict=True)
    ]
    dens = [
        shown[_den_key(label, g)]
        for label, g in zip(frame["denominator_description"], frame["group"], strict=True)
    ]
    out["patients_flagged"] = pd.Series(flagged, index=frame.index, dtype=object)
    out["patients_in_denominator"] = pd.Series(dens, index=frame.index, dtype=object)
    out["percent"] = pd.Series(
        [disclosure.disclose_percentage(n, d) for n, d in zip(flagged, dens, strict=True)],
        index=frame.index,
        dtype=object,
    )
    return out


def headline_table(audit: PolyAudit) -> pd.DataFrame:
    """Table ``poly_headline``: every comparator for the trust and across all organisations."""
    flags = audit.comparators
    mine = comparators.comparator_summary(flags[flags["trust_code"] == audit.organisation], by=[])
    everyone = comparators.comparator_summary(flags, by=[]).set_index("comparator")
    shown = published_counts(audit)
    rows = []
    for _, m in mine.iterrows():
        a = everyone.loc[m["comparator"]]
        is_mean = m["comparator"] == "mean_medicines"
        flagged = "" if is_mean else shown[_flag_key(m["comparator"], "all")]
        den = shown[_den_key(m["denominator_label"], "all")]
        value = (
            disclosed_mean(m["numerator"], m["denominator"])
            if is_mean
            else disclosure.disclose_percentage(flagged, den)
        )
        overall = (
            disclosed_mean(a["numerator"], a["denominator"])
            if is_mean
            else disclosure.disclose_percentage(a["numerator"], a["denominator"])
        )
        rows.append(
            {
                "organisation": audit.organisation,
                "measure_key": m["comparator"],
                "measure": m["label"],
                "denominator_description": m["denominator_label"],
                "patients_flagged": flagged,
                "patients_in_denominator": den,
                "value": value,
                "all_organisations_value": overall,
                "unit": "medicines per patient" if is_mean else "%",
                "data_source": audit.source,
            }
        )
    return pd.DataFrame(rows).astype(object)


def medicines_by_age(audit: PolyAudit) -> pd.DataFrame:
    """Table ``poly_medicines_by_age``: the trust's medicine-count distribution by age band."""
    flags = audit.comparators
    mine = flags[flags["trust_code"] == audit.organisation]
    shown = published_counts(audit)
    rows = []
    groups = [(band, mine[mine["age_band"] == band]) for band in comparators.AGE_BANDS]
    for band, frame in [*groups, ("all ages", mine)]:
        group = "all" if band == "all ages" else str(band)
        patients = shown[("patients", group)]
        row = {
            "organisation": audit.organisation,
            "age_band": band,
            "patients": patients,
            "mean_medicines": disclosed_mean(frame["n_medicines"].sum(), len(frame)),
        }
        for *_, label in MEDICINE_BANDS:
            row[f"percent_{label}"] = disclosure.disclose_percentage(
                shown[("band", label, group)], patients
            )
        row["data_source"] = audit.source
        rows.append(row)
    return pd.DataFrame(rows).astype(object)


def comparators_by_group(audit: PolyAudit, keys: tuple[str, ...]) -> pd.DataFrame:
    """Lead-facing comparators for the trust by age band and by sex.

    Returns:
        ``organisation, breakdown, group, measure_key, measure, denominator_description,
        patients_flagged, patients_in_denominator, percent, data_source``.
    """
    unknown = [k for k in keys if k not in comparators.COMPARATOR_KEYS]
    if unknown:
        raise InputError(
            f"unknown comparator(s) {unknown}; choose from {comparators.COMPARATOR_KEYS}"
        )
    flags = audit.comparators
    mine = flags[flags["trust_code"] == audit.organisation]
    frames = []
    for breakdown, column in (("age band", "age_band"), ("sex", "sex")):
        summary = comparators.comparator_summary(mine, by=[column])
        summary = summary[summary["comparator"].isin(keys)]
        frames.append(summary.rename(columns={column: "group"}).assign(breakdown=breakdown))
    total = comparators.comparator_summary(mine, by=[])
    frames.append(total[total["comparator"].isin(keys)].assign(breakdown="all", group="all"))
    table = pd.concat(frames, ignore_index=True)
    table["group"] = table["group"].astype(str)
    table = table.rename(
        columns={
            "comparator": "measure_key",
            "label": "measure",
            "denominator_label": "denominator_description",
        }
    )
    out = _disclose_rates(table, published_counts(audit))
    out["organisation"] = audit.organisation
    out["data_source"] = audit.source
    columns = [
        "organisation",
        "breakdown",
        "group",
        "measure_key",
        "measure",
        "denominator_description",
        "patients_flagged",
        "patients_in_denominator",
        "percent",
        "data_source",
    ]
    order = {k: i for i, k in enumerate(keys)}
    out = out.assign(_k=out["measure_key"].map(order)).sort_values(["_k"], kind="stable")
    return out[columns].reset_index(drop=True).astype(object)


def acb_table(audit: PolyAudit) -> pd.DataFrame:
    """Table ``poly_acb``: anticholinergic burden comparators by age band and sex."""
    return comparators_by_group(audit, ACB_KEYS)


def combinations_table(audit: PolyAudit) -> pd.DataFrame:
    """Table ``poly_combinations``: DAMN, anticoagulant + antiplatelet and falls-risk."""
    return comparators_by_group(audit, COMBINATION_KEYS)


def _funnel(audit: PolyAudit, key: str) -> tuple[peer_comparison.FunnelResult, pd.DataFrame]:
    """Funnel limits of one indicator from the published counts, and those counts.

    Limits made from raw counts differ between organisations that show the same rounded
    denominator, and so give the unrounded one away; made from the published counts they tell
    a reader nothing new. Organisations whose numerator or denominator is suppressed have no
    published count to use and are left out of the average and the over-dispersion estimate.

    Returns:
        The :class:`~medlib.stats.peer_comparison.FunnelResult` over the organisations with
        both counts shown, and every organisation with anyone in the denominator:
        ``trust_code``, published ``numerator`` and ``denominator``.
    """
    summary = pincer.pincer_summary(audit.pincer_flags, by=["trust_code"], keys=[key])
    summary = summary[summary["denominator"] > 0]
    if summary.empty:
        raise InputError(f"no organisation has anyone in the denominator of PINCER {key}")
    shown = pd.DataFrame(
        {
            "trust_code": summary["trust_code"].to_numpy(),
            "numerator": disclosure.disclose_counts(summary["numerator"]),
            "denominator": disclosure.disclose_counts(summary["denominator"]),
        },
        dtype=object,
    )
    usable = ~(
        shown["numerator"].eq(disclosure.SUPPRESSED)
        | shown["denominator"].eq(disclosure.SUPPRESSED)
    )
    if not usable.any():
        raise InputError(
            f"every organisation has 1-7 patients in PINCER {key}: too few to draw a funnel"
        )
    result = peer_comparison.funnel_limits(
        shown.loc[usable, "numerator"].astype(float),
        shown.loc[usable, "denominator"].astype(float),
        shown.loc[usable, "trust_code"],
    )
    return result, shown


def indicator_label(key: str) -> str:
    """How an indicator is named in reports: ``A`` ... ``AM``, ``ME (no FBC)``, or a composite.

    Example:
        >>> indicator_label("me_no_lft"), indicator_label("ac"), indicator_label("gi_bleed")
        ('ME (no LFT)', 'AC', 'GI bleed composite')
    """
    special = {
        "me_no_fbc": "ME (no FBC)",
        "me_no_lft": "ME (no LFT)",
        "gi_bleed": "GI bleed composite",
        "other_prescribing": "Other prescribing composite",
        "monitoring": "Monitoring composite",
    }
    pincer_definitions.indicator(key)
    return special.get(key, key.upper())


def pincer_table(audit: PolyAudit) -> pd.DataFrame:
    """Table ``poly_pincer``: each PINCER indicator and composite, trust against all.

    ``funnel_position`` compares the trust with the funnel limits across organisations
    (:func:`medlib.stats.peer_comparison.funnel_limits`, over-dispersion adjusted, on the
    published counts); it is left out when the trust's own counts are suppressed.
    """
    flags = audit.pincer_flags
    mine = pincer.pincer_summary(flags[flags["trust_code"] == audit.organisation], by=[])
    everyone = pincer.pincer_summary(flags, by=[]).set_index("indicator")
    rows = []
    for _, m in mine.iterrows():
        key = m["indicator"]
        a = everyone.loc[key]
        position = None
        small = disclosure.is_suppressed(m["numerator"]) or disclosure.is_suppressed(
            m["denominator"]
        )
        if m["denominator"] > 0 and not small:
            result, _ = _funnel(audit, key)
            hit = result.table[result.table["label"] == audit.organisation]
            position = hit["position"].iloc[0] if len(hit) else None
        ind = pincer_definitions.indicator(key)
        rows.append(
            {
                "organisation": audit.organisation,
                "indicator": indicator_label(key),
                "title": ind.title,
                "group": ind.group,
                "patients_flagged": disclosure.disclose_count(m["numerator"]),
                "patients_in_denominator": disclosure.disclose_count(m["denominator"]),
                "percent": disclosure.disclose_percentage(m["numerator"], m["denominator"]),
                "all_organisations_percent": disclosure.disclose_percentage(
                    a["numerator"], a["denominator"]
                ),
                "funnel_position": position if position is not None else "not shown",
                "data_source": audit.source,
            }
        )
    return pd.DataFrame(rows).astype(object)


def pincer_funnel_table(audit: PolyAudit, key: str = "gi_bleed") -> pd.DataFrame:
    """Table ``poly_pincer_funnel``: every organisation on one indicator, with funnel limits.

    The data behind :func:`pincer_funnel_chart`. Counts are disclosed and the limits are those
    of the published counts (see :func:`_funnel`), so organisations showing the same
    denominator show the same limits. Organisations whose counts are suppressed show no
    percentage or position, and no limits when their denominator is suppressed.
    """
    result, shown = _funnel(audit, key)
    placed = result.table.set_index("label")
    rows = []
    for _, r in shown.iterrows():
        org, num, den = r["trust_code"], r["numerator"], r["denominator"]
        if org in placed.index:
            at, position = placed.loc[org], placed.loc[org, "position"]
        elif den != disclosure.SUPPRESSED:
            at, position = result.limits([float(den)]).iloc[0], "not shown"
        else:
            at, position = None, "not shown"

        def limit(column: str, at: pd.Series | None = at) -> float | None:
            return None if at is None else round(100 * float(at[column]), 1)

        rows.append(
            {
                "indicator": key,
                "organisation": org,
                "this_report": org == audit.organisation,
                "patients_flagged": num,
                "patients_in_denominator": den,
                "percent": disclosure.disclose_percentage(num, den),
                "lower_95": limit("lower_95"),
                "upper_95": limit("upper_95"),
                "lower_99_8": limit("lower_99.8"),
                "upper_99_8": limit("upper_99.8"),
                "position": position,
                "data_source": audit.source,
            }
        )
    out = pd.DataFrame(rows).sort_values("organisation").reset_index(drop=True)
    out.attrs["target_percent"] = round(100 * result.target, 1)
    return out.astype(object)


# --------------------------------------------------------------------------- charts


def medicines_by_age_chart(table: pd.DataFrame, audit: PolyAudit) -> plt.Figure:
    """Stacked bars: share of the trust's patients in each medicine-count band, by age band.

    Bars use the disclosed percentages from :func:`medicines_by_age`; a suppressed share is
    drawn as a gap and marked ``*``.
    """
    bands = [label for *_, label in MEDICINE_BANDS]
    colours = [NHS_PALE_GREY, PALETTE[4], NHS_BLUE, NHS_ORANGE, PALETTE[5]]
    with chart_style():
        fig, ax = plt.subplots(figsize=(9, 4.2))
        y = np.arange(len(table))
        left = np.zeros(len(table))
        for label, colour in zip(bands, colours, strict=True):
            raw = table[f"percent_{label}"].tolist()
            values = np.array(
                [v if isinstance(v, int | float) and v is not None else 0.0 for v in raw],
                dtype=float,
            )
            ax.barh(
                y, values, left=left, color=colour, label=f"{label} medicines", edgecolor="white"
            )
            for i, v in enumerate(raw):
                if v == disclosure.SUPPRESSED:
                    ax.text(left[i] + 0.5, y[i], "*", va="center", color=NHS_DARK_GREY)
                elif isinstance(v, int | float) and v >= 8:
                    dark = colour in (NHS_BLUE, PALETTE[5])
                    ax.text(
                        left[i] + v / 2,
                        y[i],
                        f"{v:.0f}%",
                        va="center",
                        ha="center",
                        fontsize=8,
                        color="white" if dark else "black",
                    )
            left += values
        ax.set_yticks(y, [str(b) for b in table["age_band"]])
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of patients in the age band")
        tag = " (synthetic data)" if audit.synthetic else ""
        ax.set_title(f"Unique medicines per patient by age band, {audit.organisation}{tag}")
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=5, frameon=False, fontsize=8
        )
        fig.tight_layout()
    return fig


def pincer_funnel_chart(audit: PolyAudit, key: str = "gi_bleed") -> plt.Figure:
    """Funnel plot of one PINCER indicator: the trust against every organisation.

    The limits and points use the published counts
    (:func:`medlib.stats.peer_comparison.funnel_limits`, over-dispersion adjusted): each point
    sits at its rounded denominator, and an organisation with 1-7 patients in the numerator or
    denominator is left off.
    """
    result, everyone = _funnel(audit, key)
    table = result.table
    tag = " (synthetic data)" if audit.synthetic else ""
    left_off = len(everyone) - len(table)
    subtitle = f"Census date {audit.census_date.date()}; {len(everyone)} organisations" + (
        f", {left_off} not shown (small numbers)" if left_off else ""
    )
    return charts.funnel_chart(
        result,
        title=f"PINCER {indicator_label(key)}: {audit.organisation} against all organisations{tag}",
        x_label="Patients at risk (denominator, rounded to 5)",
        y_label="Patients flagged",
        highlight=[audit.organisation] if (table["label"] == audit.organisation).any() else [],
        subtitle=subtitle,
    )


# --------------------------------------------------------------------------- the report


#: The PINCER composite whose funnel plot the report shows.
FUNNEL_INDICATOR = "gi_bleed"


def _breakdown_caption(audit: PolyAudit) -> str:
    return (
        f"Patients flagged at {audit.organisation}, as a percentage of the patients each "
        "measure counts. The counts are in the report pack's tables."
    )


class AuditReport(Report):
    """The audit notebook's sections and tables for one trust.

    Args:
        context: The report's trust and period end.
        audit: The computed audit (from :func:`load_audit` or :func:`audit_from_tables`).
    """

    def __init__(self, context: ReportContext, audit: PolyAudit) -> None:
        self.context = context
        self.audit = audit

    def sections(self) -> dict[str, Callable[[], Section]]:
        """The notebook's sections, in page order."""
        audit = self.audit
        return {
            "data_statement": lambda: Section(data_statement(audit)),
            "headline": lambda: Section(headline_sentences(audit)),
            "comparators": lambda: Section(views.headline_view(headline_table(audit))),
            "medicines_by_age": lambda: Section(
                medicines_by_age_chart(medicines_by_age(audit), audit)
            ),
            "acb": lambda: Section(
                views.breakdown_view(acb_table(audit), caption=_breakdown_caption(audit))
            ),
            "combinations": lambda: Section(
                views.breakdown_view(combinations_table(audit), caption=_breakdown_caption(audit))
            ),
            "pincer": lambda: Section(
                *(
                    part
                    for group, table in views.pincer_views(pincer_table(audit))
                    for part in (f"**{group}**", table)
                )
            ),
            "pincer_funnel": lambda: Section(pincer_funnel_chart(audit, FUNNEL_INDICATOR)),
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every lead-facing table, each checked to carry no identifier or small count."""
        audit = self.audit
        tables = {
            "poly_headline": headline_table(audit),
            "poly_medicines_by_age": medicines_by_age(audit),
            "poly_acb": acb_table(audit),
            "poly_combinations": combinations_table(audit),
            "poly_pincer": pincer_table(audit),
            "poly_pincer_funnel": pincer_funnel_table(audit, FUNNEL_INDICATOR),
        }
        if audit.rows:
            tables["poly_data_quality"] = data_quality_table(audit)
        for name, table in tables.items():
            assert_lead_facing(name, table)
        return tables


def build(context: ReportContext, **options: object) -> AuditReport:
    """The audit report for a resolved context.

    Args:
        context: From :func:`medlib.context.resolve_context`.
        **options: ``census_date``, ``min_age``, ``max_age``, ``seed``, ``patient_data_dir``,
            ``store`` (see :func:`load_audit`).
    """
    return AuditReport(context, load_audit(context, **options))
