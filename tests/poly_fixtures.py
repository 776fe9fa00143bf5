"""Hand-built patients for the polypharmacy and PINCER tests.

Codes are real: dm+d ids from the bundled PINCER drug code lists and SNOMED CT ids from the
clinical ones (``test_pincer.py`` checks each is in its list), BNF codes are real presentations.
"""

from __future__ import annotations

import pandas as pd

from medlib.io.patient_tables import PatientTables, check_patient_tables

CENSUS = "2024-03-31"
# Look-back windows at this census date, both edges included:
#   3 months   2023-12-31 .. 2024-03-31      6 months  2023-09-30 .. 2024-03-31
#   6-3 months 2023-09-30 .. 2023-12-31      12-6      2023-03-31 .. 2023-09-30
#   15 months  2022-12-31 .. 2024-03-31      history   up to 2023-12-31

# (dm+d id, name, BNF code)
IBUPROFEN = ("329653008", "Ibuprofen 400mg tablets", "1001010J0AAAEAE")
NAPROXEN = ("329807003", "Naproxen 500mg tablets", "1001010P0AAAEAE")
OMEPRAZOLE = ("317291008", "Omeprazole 20mg gastro-resistant capsules", "0103050P0AAAAAA")
WARFARIN = ("319733000", "Warfarin 1mg tablets", "0208020V0AAAAAA")
ASPIRIN = ("319773006", "Aspirin 75mg dispersible tablets", "0209000A0AAABAB")
CLOPIDOGREL = ("319799004", "Clopidogrel 75mg tablets", "0209000C0AAAAAA")
PROPRANOLOL = ("318353009", "Propranolol 40mg tablets", "0204000R0AAAJAJ")
RAMIPRIL = ("318902004", "Ramipril 5mg capsules", "0205051R0AAACAC")
FUROSEMIDE = ("317972000", "Furosemide 40mg tablets", "0202020L0AABDBD")
METHOTREXATE = ("326874007", "Methotrexate 2.5mg tablets", "1001030U0AAABAB")
LITHIUM = (
    "13177001000001108",
    "Lithium carbonate 400mg modified-release tablets",
    "0402030K0AAAFAF",
)
AMIODARONE = ("318187007", "Amiodarone 200mg tablets", "0203020D0AAABAB")

# SNOMED CT ids
GI_BLEED = "37372002"  # Upper gastrointestinal hemorrhage
PEPTIC_ULCER = "13200003"  # Peptic ulcer
ASTHMA = "195967001"  # Asthma
ASTHMA_RESOLVED = "162660004"  # Asthma resolved
HEART_FAILURE = "84114007"  # Heart failure
EGFR = "1011481000000105"  # eGFR using creatinine CKD-EPI per 1.73 m2
CREATININE = "1000731000000107"  # Serum creatinine level (renal function)
SODIUM = "1000661000000107"  # Serum sodium level (electrolytes)
FBC = "1022441000000101"  # Full blood count
LFT = "1000621000000104"  # Serum alkaline phosphatase level
LITHIUM_LEVEL = "1006681000000100"  # Serum lithium level
TFT = "1016851000000107"  # Thyroid function test


def med(drug: tuple[str, str, str | None], start: str, end: str | None = None) -> dict:
    """One prescribing episode of ``drug`` from ``start`` to ``end`` (None = ongoing)."""
    code, name, bnf = drug
    return {
        "dmd_code": code,
        "medicine_name": name,
        "bnf_code": bnf,
        "start_date": start,
        "end_date": end,
    }


def cond(code: str, date: str, resolved: str | None = None) -> dict:
    """A diagnosis recorded on ``date``."""
    return {"snomed_code": code, "date": date, "resolved_date": resolved}


def result(code: str, date: str, value: float | None = None, unit: str | None = None) -> dict:
    """A test result on ``date``."""
    return {"snomed_code": code, "date": date, "value": value, "unit": unit}


def patient(
    pid: str = "p1",
    age: int = 70,
    sex: str = "F",
    trust: str = "RTD",
    meds: list[dict] = (),
    conds: list[dict] = (),
    tests: list[dict] = (),
) -> dict:
    """A patient with their records."""
    return {
        "patient_id": pid,
        "trust_code": trust,
        "age": age,
        "sex": sex,
        "meds": list(meds),
        "conds": list(conds),
        "tests": list(tests),
    }


def build(*patients: dict) -> PatientTables:
    """Canonical tables holding the given patients."""
    pats = pd.DataFrame(
        [{k: p[k] for k in ("patient_id", "trust_code", "age", "sex")} for p in patients]
    )

    def rows(key: str, columns: list[str]) -> pd.DataFrame:
        out = [{"patient_id": p["patient_id"], **r} for p in patients for r in p[key]]
        return pd.DataFrame(out, columns=["patient_id", *columns])

    return check_patient_tables(
        pats,
        rows("meds", ["dmd_code", "medicine_name", "bnf_code", "start_date", "end_date"]),
        rows("conds", ["snomed_code", "date", "resolved_date"]),
        rows("tests", ["snomed_code", "date", "value", "unit"]),
    )
