"""The patient-level review list: who is flagged and why. ANALYST ONLY.

The list names pseudonymised patients so that a trust's own clinicians can review their
prescribing. It is identifiable at the trust, so it is **never** part of a lead-facing report:
it is not written by :func:`medlib.present.outputs.publish_tables` (:func:`assert_lead_facing`
refuses
it) and the polypharmacy notebook only explains how to produce it. Produce it inside the trust's
secure environment and keep it there.
"""

from __future__ import annotations

import pandas as pd

from medlib.errors import InputError
from medlib.io.patient_tables import PatientTables
from medlib.polypharmacy import acb, comparators, pincer
from medlib.reference import pincer_definitions
from medlib.reference.lookback import lookback, to_day

__all__ = ["ANALYST_ONLY", "analyst_review_list", "assert_lead_facing"]

ANALYST_ONLY = "ANALYST ONLY: patient-level, do not publish or send to leads"
REVIEW_COLUMNS = ["patient_id", "trust_code", "age", "sex", "flag", "title", "reason"]
_IDENTIFYING = ("patient_id",)


def _pincer_reasons(flags: pd.DataFrame, census: pd.Timestamp) -> pd.DataFrame:
    w3, w6, w15 = lookback(census, 3), lookback(census, 6), lookback(census, 15)
    windows = {
        "3": f"{w3.start.date()} to {w3.end.date()}",
        "6": f"{w6.start.date()} to {w6.end.date()}",
        "15": f"{w15.start.date()} to {w15.end.date()}",
    }
    detail = {
        "a": "aged {age}; oral NSAID and no PPI/ulcer-healing drug in {w3}",
        "b": "peptic ulcer or GI bleed on record; oral NSAID and no PPI in {w3}",
        "c": "peptic ulcer or GI bleed on record; antiplatelet and no PPI in {w3}",
        "d": "oral anticoagulant and oral NSAID in {w3}",
        "e": "anticoagulant co-prescribed with an antiplatelet, no PPI in {w3}",
        "f": "aspirin co-prescribed with another antiplatelet, no PPI in {w3}",
        "g": "unresolved asthma; non-selective beta-blocker in {w3}",
        "i": "heart failure on record; oral NSAID in {w3}",
        "k": "latest eGFR {egfr:g} in {w3}; oral NSAID in {w3}",
        "ac": "aged {age}; ACE inhibitor/ARB or loop diuretic for 15+ months; renal function "
        "or electrolytes test missing in {w15}",
        "me_no_fbc": "methotrexate for 3+ months; no full blood count in {w3}",
        "me_no_lft": "methotrexate for 3+ months; no liver function test in {w3}",
        "li": "lithium for 3+ months; no lithium level in {w3}",
        "am": "amiodarone for 6+ months; no thyroid function test in {w6}",
    }
    rows = []
    for key in pincer_definitions.INDICATOR_KEYS:
        hit = flags[flags[f"{key}_num"]]
        ind = pincer_definitions.indicator(key)
        for _, row in hit.iterrows():
            reason = detail[key].format(
                age=row["age"],
                egfr=row["latest_egfr"],
                w3=windows["3"],
                w6=windows["6"],
                w15=windows["15"],
            )
            rows.append(
                {
                    "patient_id": row["patient_id"],
                    "flag": f"PINCER {key.upper()}",
                    "title": ind.title,
                    "reason": reason,
                }
            )
    return pd.DataFrame(rows, columns=["patient_id", "flag", "title", "reason"])


def _polypharmacy_reasons(flags: pd.DataFrame, census: pd.Timestamp) -> pd.DataFrame:
    checks = [
        (
            "10+ medicines",
            "10 or more unique medicines",
            flags["n_medicines"] >= 10,
            "{n_medicines} unique medicines (BNF chapters 1-4, 6-10) on {day}",
        ),
        (
            "ACB 6+",
            "Anticholinergic burden score 6 or more",
            flags["acb_total"] >= 6,
            "anticholinergic burden score {acb_total} from {acb_medicines} medicines on {day}",
        ),
        (
            "NSAID + DAMN",
            "An NSAID plus another DAMN medicine",
            (flags["nsaid_medicines"] >= 1) & (flags["damn_non_nsaid_medicines"] >= 1),
            "NSAID with {damn_non_nsaid_medicines} other DAMN medicine(s) on {day}",
        ),
        (
            "Anticoagulant + antiplatelet",
            "An anticoagulant plus an antiplatelet",
            (flags["anticoagulant_medicines"] >= 1) & (flags["antiplatelet_medicines"] >= 1),
            "{anticoagulant_medicines} anticoagulant(s) and {antiplatelet_medicines} "
            "antiplatelet(s) on {day}",
        ),
        (
            "Falls risk 3+",
            "3 or more falls-risk medicines",
            flags["falls_medicines"] >= 3,
            "{falls_medicines} falls-risk (STOPPFall) medicines on {day}",
        ),
    ]
    rows = []
    for flag, title, mask, template in checks:
        for _, row in flags[mask].iterrows():
            rows.append(
                {
                    "patient_id": row["patient_id"],
                    "flag": flag,
                    "title": title,
                    "reason": template.format(day=census.date(), **row.to_dict()),
                }
            )
    return pd.DataFrame(rows, columns=["patient_id", "flag", "title", "reason"])


def analyst_review_list(
    tables: PatientTables,
    census_date: object,
    organisation: str | None = None,
    acb_scale: acb.ScaleLike = None,
    min_age: int = 18,
    max_age: int = 120,
) -> pd.DataFrame:
    """Every flagged patient with the reason, for the trust's own clinical review. ANALYST ONLY.

    Args:
        tables: Canonical patient tables.
        census_date: The audit's census date.
        organisation: Keep one trust's patients (None keeps all).
        acb_scale: Anticholinergic scale (see :mod:`medlib.polypharmacy.acb`).
        min_age: Youngest age reviewed.
        max_age: Oldest age reviewed.

    Returns:
        ``patient_id, trust_code, age, sex, flag, title, reason``, one row per patient and
        flag, sorted by trust, patient and flag. ``attrs["audience"]`` is :data:`ANALYST_ONLY`.
    """
    census = to_day(census_date, "census_date")
    if organisation is not None and organisation not in set(tables.patients["trust_code"]):
        raise InputError(f"no patients for organisation {organisation!r} in these tables")
    pats = tables.patients
    keep = (pats["age"] >= min_age) & (pats["age"] <= max_age)
    if organisation is not None:
        keep &= pats["trust_code"] == organisation
    subset = tables.for_patients(pats.loc[keep, "patient_id"])
    pflags = pincer.pincer_flags(subset, census, min_age=min_age, max_age=max_age)
    cflags = comparators.comparator_flags(subset, census, acb_scale)
    reasons = pd.concat(
        [_pincer_reasons(pflags, census), _polypharmacy_reasons(cflags, census)], ignore_index=True
    )
    out = reasons.merge(subset.patients, on="patient_id", how="left")[REVIEW_COLUMNS]
    out = out.sort_values(["trust_code", "patient_id", "flag"], kind="stable").reset_index(
        drop=True
    )
    out.attrs["audience"] = ANALYST_ONLY
    return out


def assert_lead_facing(name: str, table: pd.DataFrame) -> pd.DataFrame:
    """Refuse a table that is analyst-only or carries patient identifiers.

    Raises:
        InputError: The table is marked analyst-only or has a ``patient_id`` column.
    """
    if table.attrs.get("audience") == ANALYST_ONLY:
        raise InputError(f"table {name!r} is {ANALYST_ONLY}")
    identifying = [c for c in _IDENTIFYING if c in table.columns]
    if identifying:
        raise InputError(f"table {name!r} has patient identifier column(s) {identifying}")
    return table
