"""PINCER prescribing-safety indicators on patient-level records (METHODS.md 2.9).

The indicators and their look-back windows follow OpenSAFELY ``pincer-measures``
(``analysis/study_definition.py``), with the code lists it used (bundled in
``medlib/data/pincer``). Windows are built by :mod:`medlib.reference.lookback`: every window
includes
both of its edges. With ``census`` the census date and "3 m" meaning
``[census - 3 months, census]``:

=====  ==========================================================================================
A      aged 65+, no PPI/ulcer-healing drug (3 m); numerator: oral NSAID (3 m)
B      peptic ulcer or GI bleed recorded on or before census - 3 months, no PPI (3 m); NSAID (3 m)
C      as B; numerator: aspirin or another antiplatelet (3 m)
D      oral anticoagulant (3 m); numerator: NSAID (3 m)
E      anticoagulant (3 m), no PPI (3 m); numerator: co-prescribed with an antiplatelet
F      aspirin (3 m), no PPI (3 m); numerator: co-prescribed with another antiplatelet
G      asthma recorded on or before census - 3 months and not resolved since; numerator:
       non-selective beta-blocker (3 m)
I      heart failure recorded on or before census - 3 months; numerator: NSAID (3 m)
K      latest eGFR in the 3 m window with 1 <= eGFR < 45; numerator: NSAID (3 m)
AC     aged 75+, ACE inhibitor/ARB or loop diuretic started on or before census - 15 months and
       taken in the 6 m window; numerator: no renal function test *or* no electrolytes test in
       the 15 m window
ME     methotrexate in both ``[census - 6 m, census - 3 m]`` and the 3 m window; numerators: no
       full blood count (3 m) / no liver function test (3 m), with the LFT code list
LI     lithium in both windows as ME; numerator: no lithium level (3 m)
AM     amiodarone in ``[census - 12 m, census - 6 m]`` and the 6 m window; numerator: no thyroid
       function test (6 m)
=====  ==========================================================================================

Composites (as ``composite_indicators.py``): a patient is in a composite's denominator if in any
member's denominator and in its numerator if in any member's numerator. Members: GI bleed (A-F),
other prescribing (G, I, K), monitoring (AC, ME no FBC, ME no LFT, LI, AM).

The population is patients aged ``min_age``-``max_age`` (default 18-120) on the census date.

Co-prescription (E, F): two prescribing episodes are co-prescribed when, cut to the 3-month
window, they overlap or the gap between them is shorter than ``co_prescription_days`` (default
28, from the 28-day rule of ``calculate_numerators.py``).

Deliberate differences from the repository's ehrQL port, each covered by a test: A's
denominator keeps the age 65+ filter; the LFT check uses the LFT code list; AM's numerator
requires the *absence* of a thyroid function test; AC's age filter applies to both drug
branches; monitoring tests are clinical events, not medications; and G keeps patients whose
asthma has no resolved code at all.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from medlib.errors import InputError
from medlib.io.patient_tables import PatientTables
from medlib.reference.lookback import (
    Window,
    clip_to,
    episode_overlaps,
    event_in,
    lookback,
    months_before,
    on_or_before,
    to_day,
)
from medlib.reference.pincer_definitions import (
    ALL_KEYS,
    CODELIST_FILES,
    COMPOSITES,
    Codelists,
    indicator,
    load_codelists,
)

__all__ = ["pincer_flags", "pincer_summary"]


def _patients_with(ids: pd.Series, index: pd.Index) -> pd.Series:
    return pd.Series(index.isin(set(ids)), index=index)


class _Facts:
    """The building blocks (on a drug in a window, had a test in a window, ...) for one census."""

    def __init__(self, tables: PatientTables, census: pd.Timestamp, codelists: Codelists) -> None:
        self.census = census
        self.codelists = codelists
        self.index = pd.Index(tables.patients["patient_id"])
        self.meds = tables.medications
        cond = tables.conditions
        self.events = pd.concat(
            [
                cond[["patient_id", "snomed_code", "date"]],
                tables.tests[["patient_id", "snomed_code", "date"]],
            ],
            ignore_index=True,
        )
        self.conditions = cond
        self.tests = tables.tests

    def window(self, months_from: int, months_to: int = 0) -> Window:
        return lookback(self.census, months_from, months_to)

    def drug_rows(self, name: str) -> pd.DataFrame:
        return self.meds[self.meds["dmd_code"].isin(self.codelists[name])]

    def on_drug(self, name: str, window: Window) -> pd.Series:
        rows = self.drug_rows(name)
        hit = episode_overlaps(rows["start_date"], rows["end_date"], window)
        return _patients_with(rows.loc[hit, "patient_id"], self.index)

    def started_by(self, name: str, day: pd.Timestamp) -> pd.Series:
        rows = self.drug_rows(name)
        return _patients_with(rows.loc[rows["start_date"] <= day, "patient_id"], self.index)

    def event_rows(self, name: str) -> pd.DataFrame:
        return self.events[self.events["snomed_code"].isin(self.codelists[name])]

    def had_event(self, name: str, window: Window) -> pd.Series:
        rows = self.event_rows(name)
        return _patients_with(rows.loc[event_in(rows["date"], window), "patient_id"], self.index)

    def latest(self, dates: pd.DataFrame) -> pd.Series:
        return dates.groupby("patient_id")["date"].max().reindex(self.index)

    def coprescribed(self, first: str, second: str, window: Window, days: int) -> pd.Series:
        def episodes(name: str) -> pd.DataFrame:
            rows = self.drug_rows(name)
            rows = rows[episode_overlaps(rows["start_date"], rows["end_date"], window)]
            start, end = clip_to(rows["start_date"], rows["end_date"], window)
            return pd.DataFrame({"patient_id": rows["patient_id"], "start": start, "end": end})

        pairs = episodes(first).merge(episodes(second), on="patient_id", suffixes=("_a", "_b"))
        # Gap between the two episodes in days; zero or negative when they overlap.
        gap = (
            np.maximum(pairs["start_a"], pairs["start_b"])
            - np.minimum(pairs["end_a"], pairs["end_b"])
        ).dt.days
        return _patients_with(pairs.loc[gap < days, "patient_id"], self.index)


def pincer_flags(
    tables: PatientTables,
    census_date: object,
    codelists: Codelists | None = None,
    min_age: int = 18,
    max_age: int = 120,
    co_prescription_days: int = 28,
) -> pd.DataFrame:
    """Denominator and numerator flags of every PINCER indicator and composite, per patient.

    Args:
        tables: Canonical patient tables (see :mod:`medlib.io.patient_tables`).
        census_date: The audit's census (index) date.
        codelists: Code lists by name (see :data:`CODELIST_FILES`); None for the bundled ones.
        min_age: Youngest age in the audited population (inclusive).
        max_age: Oldest age in the audited population (inclusive).
        co_prescription_days: Gap (days) below which two episodes count as co-prescribed.

    Returns:
        One row per patient: ``patient_id, trust_code, age, sex, in_population``, then
        ``<key>_den`` and ``<key>_num`` booleans for each indicator and composite, and
        ``latest_egfr`` (the value used by K, or NaN).
    """
    census = to_day(census_date, "census_date")
    if min_age > max_age:
        raise InputError(f"min_age {min_age} is above max_age {max_age}")
    cl = dict(load_codelists() if codelists is None else codelists)
    missing = sorted(set(CODELIST_FILES) - set(cl))
    if missing:
        raise InputError(f"codelists is missing {missing}")
    fx = _Facts(tables, census, cl)
    pats = tables.patients.set_index("patient_id")
    age = pats["age"]
    out = pats[["trust_code", "age", "sex"]].copy()
    pop = (age >= min_age) & (age <= max_age)
    out["in_population"] = pop

    w3, w6, w15 = fx.window(3), fx.window(6), fx.window(15)
    history = on_or_before(census, 3)
    ppi = fx.on_drug("ppi", w3)
    nsaid = fx.on_drug("nsaid", w3)
    anticoag = fx.on_drug("anticoagulant", w3)
    aspirin = fx.on_drug("aspirin", w3)
    aspirin_or_antiplatelet = aspirin | fx.on_drug("antiplatelet_excl_aspirin", w3)
    ulcer_or_bleed = fx.had_event("gi_bleed", history) | fx.had_event("peptic_ulcer", history)

    flags: dict[str, tuple[pd.Series, pd.Series]] = {}
    den = pop & (age >= 65) & ~ppi
    flags["a"] = (den, den & nsaid)
    den = pop & ulcer_or_bleed & ~ppi
    flags["b"] = (den, den & nsaid)
    flags["c"] = (den, den & aspirin_or_antiplatelet)
    den = pop & anticoag
    flags["d"] = (den, den & nsaid)
    den = pop & anticoag & ~ppi
    cop_e = fx.coprescribed("anticoagulant", "antiplatelet_incl_aspirin", w3, co_prescription_days)
    flags["e"] = (den, den & cop_e)
    den = pop & aspirin & ~ppi
    cop_f = fx.coprescribed("aspirin", "antiplatelet_excl_aspirin", w3, co_prescription_days)
    flags["f"] = (den, den & cop_f)

    den = pop & _asthma_unresolved(fx, census)
    flags["g"] = (den, den & fx.on_drug("nsbb", w3))
    den = pop & fx.had_event("heart_failure", history)
    flags["i"] = (den, den & nsaid)
    egfr = _latest_egfr(fx, w3)
    den = pop & (egfr >= 1) & (egfr < 45)
    flags["k"] = (den, den & nsaid)

    long_ago = months_before(census, 15)
    on_acei = fx.started_by("acei_arb", long_ago) & fx.on_drug("acei_arb", w6)
    on_loop = fx.started_by("loop_diuretic", long_ago) & fx.on_drug("loop_diuretic", w6)
    den = pop & (age >= 75) & (on_acei | on_loop)
    untested = ~fx.had_event("renal_function", w15) | ~fx.had_event("electrolytes", w15)
    flags["ac"] = (den, den & untested)

    w6_3 = fx.window(6, 3)
    den = pop & fx.on_drug("methotrexate", w6_3) & fx.on_drug("methotrexate", w3)
    flags["me_no_fbc"] = (den, den & ~fx.had_event("fbc", w3))
    flags["me_no_lft"] = (den, den & ~fx.had_event("lft", w3))
    den = pop & fx.on_drug("lithium", w6_3) & fx.on_drug("lithium", w3)
    flags["li"] = (den, den & ~fx.had_event("lithium_level", w3))
    den = pop & fx.on_drug("amiodarone", fx.window(12, 6)) & fx.on_drug("amiodarone", w6)
    flags["am"] = (den, den & ~fx.had_event("tft", w6))

    for name, members in COMPOSITES.items():
        flags[name] = (
            np.logical_or.reduce([flags[m][0] for m in members]),
            np.logical_or.reduce([flags[m][1] for m in members]),
        )
    for key in ALL_KEYS:
        out[f"{key}_den"] = np.asarray(flags[key][0], dtype=bool)
        out[f"{key}_num"] = np.asarray(flags[key][1], dtype=bool)
    out["latest_egfr"] = egfr
    out = out.reset_index()
    out.attrs["census_date"] = census
    return out


def _asthma_unresolved(fx: _Facts, census: pd.Timestamp) -> pd.Series:
    diagnosed = fx.event_rows("asthma")
    diagnosed = diagnosed[diagnosed["date"] <= months_before(census, 3)]
    last_asthma = fx.latest(diagnosed)
    resolved_codes = fx.event_rows("asthma_resolved")
    resolved_codes = resolved_codes[resolved_codes["date"] <= census]
    # A resolved date on an asthma diagnosis row counts as a resolution recorded on that date.
    cond = fx.conditions
    on_row = cond[
        cond["snomed_code"].isin(fx.codelists["asthma"]) & (cond["resolved_date"] <= census)
    ]
    resolutions = pd.concat(
        [
            resolved_codes[["patient_id", "date"]],
            on_row[["patient_id", "resolved_date"]].rename(columns={"resolved_date": "date"}),
        ],
        ignore_index=True,
    )
    last_resolved = fx.latest(resolutions)
    # As in the PINCER study definition, a resolution on or before the latest asthma code leaves
    # the asthma active (the code re-opened it).
    active = last_asthma.notna() & (last_resolved.isna() | (last_resolved <= last_asthma))
    return active.fillna(False).astype(bool)


def _latest_egfr(fx: _Facts, window: Window) -> pd.Series:
    tests = fx.tests
    rows = tests[tests["snomed_code"].isin(fx.codelists["egfr"]) & tests["value"].notna()]
    rows = rows[event_in(rows["date"], window)]
    # Latest date wins; two results on that day resolve to the lower (more cautious) one.
    rows = rows.sort_values(["patient_id", "date", "value"], ascending=[True, True, False])
    latest = rows.groupby("patient_id")["value"].last()
    return latest.reindex(fx.index).astype("float64")


def pincer_summary(
    flags: pd.DataFrame,
    by: Sequence[str] = ("trust_code",),
    keys: Sequence[str] = ALL_KEYS,
) -> pd.DataFrame:
    """Raw numerators and denominators per indicator and group (analyst level, unsuppressed).

    Returns:
        Long table: the ``by`` columns, ``indicator, title, group, numerator, denominator,
        percent`` (raw). Pass it through :mod:`medlib.polypharmacy.report` before showing it to
        leads.
    """
    by = list(by)
    missing = [c for c in by if c not in flags.columns]
    if missing:
        raise InputError(f"cannot group PINCER flags by {missing}")
    rows = []
    groups = flags.groupby(by, observed=True, sort=True) if by else [((), flags)]
    for key, frame in groups:
        key = key if isinstance(key, tuple) else (key,)
        base = dict(zip(by, key, strict=True))
        for k in keys:
            ind = indicator(k)
            num, den = int(frame[f"{k}_num"].sum()), int(frame[f"{k}_den"].sum())
            rows.append(
                {
                    **base,
                    "indicator": k,
                    "title": ind.title,
                    "group": ind.group,
                    "numerator": num,
                    "denominator": den,
                    "percent": 100 * num / den if den else np.nan,
                }
            )
    return pd.DataFrame(rows)
