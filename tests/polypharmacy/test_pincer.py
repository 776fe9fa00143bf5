"""PINCER indicators on hand-built patients: a trigger, a non-trigger and both edges of every
look-back window, plus tests that would catch the known bugs of the ehrQL port.

Census date 2024-03-31 throughout; the windows are listed in ``poly_fixtures``. Each case is one
patient and the expected (denominator, numerator) of one indicator, worked out by hand from the
definitions in ``medlib/polypharmacy/pincer.py``.
"""

from __future__ import annotations

import pandas as pd
import pytest
from poly_fixtures import (
    AMIODARONE,
    ASPIRIN,
    ASTHMA,
    ASTHMA_RESOLVED,
    CENSUS,
    CLOPIDOGREL,
    CREATININE,
    EGFR,
    FBC,
    FUROSEMIDE,
    GI_BLEED,
    HEART_FAILURE,
    IBUPROFEN,
    LFT,
    LITHIUM,
    LITHIUM_LEVEL,
    METHOTREXATE,
    OMEPRAZOLE,
    PEPTIC_ULCER,
    PROPRANOLOL,
    RAMIPRIL,
    SODIUM,
    TFT,
    WARFARIN,
    build,
    cond,
    med,
    patient,
    result,
)

from medlib.errors import InputError
from medlib.polypharmacy import pincer
from medlib.reference import pincer_definitions

ON = "2023-06-01"  # a start date well before every window that matters here
LONG_AGO = "2020-01-01"


def flags(*patients, **kwargs) -> pd.DataFrame:
    return pincer.pincer_flags(build(*patients), CENSUS, **kwargs).set_index("patient_id")


NSAID_ON = med(IBUPROFEN, ON)
PPI_ON = med(OMEPRAZOLE, ON)

CASES: dict[str, list[tuple[str, dict, tuple[bool, bool]]]] = {
    "a": [
        ("trigger: 70, NSAID, no PPI", dict(age=70, meds=[NSAID_ON]), (True, True)),
        ("no NSAID", dict(age=70), (True, False)),
        ("on a PPI", dict(age=70, meds=[NSAID_ON, PPI_ON]), (False, False)),
        # The ehrQL port left age out of A's denominator; a 64-year-old must not count.
        ("aged 64 is outside the denominator", dict(age=64, meds=[NSAID_ON]), (False, False)),
        ("aged exactly 65", dict(age=65, meds=[NSAID_ON]), (True, True)),
        (
            "NSAID ends on the window's first day",
            dict(meds=[med(IBUPROFEN, "2023-12-01", "2023-12-31")]),
            (True, True),
        ),
        (
            "NSAID ends the day before",
            dict(meds=[med(IBUPROFEN, "2023-12-01", "2023-12-30")]),
            (True, False),
        ),
        ("NSAID starts on the census date", dict(meds=[med(IBUPROFEN, CENSUS)]), (True, True)),
        ("NSAID starts the day after", dict(meds=[med(IBUPROFEN, "2024-04-01")]), (True, False)),
        (
            "PPI ended on the window's first day",
            dict(meds=[NSAID_ON, med(OMEPRAZOLE, "2023-01-01", "2023-12-31")]),
            (False, False),
        ),
        (
            "PPI ended the day before the window",
            dict(meds=[NSAID_ON, med(OMEPRAZOLE, "2023-01-01", "2023-12-30")]),
            (True, True),
        ),
        (
            "PPI starts on the census date",
            dict(meds=[NSAID_ON, med(OMEPRAZOLE, CENSUS)]),
            (False, False),
        ),
        (
            "PPI starts after the census date",
            dict(meds=[NSAID_ON, med(OMEPRAZOLE, "2024-04-01")]),
            (True, True),
        ),
    ],
    "b": [
        (
            "trigger: GI bleed and NSAID",
            dict(age=50, conds=[cond(GI_BLEED, "2020-05-01")], meds=[NSAID_ON]),
            (True, True),
        ),
        (
            "peptic ulcer and NSAID",
            dict(age=50, conds=[cond(PEPTIC_ULCER, "2020-05-01")], meds=[NSAID_ON]),
            (True, True),
        ),
        ("ulcer, no NSAID", dict(age=50, conds=[cond(PEPTIC_ULCER, "2020-05-01")]), (True, False)),
        ("NSAID without ulcer or bleed", dict(age=50, meds=[NSAID_ON]), (False, False)),
        (
            "ulcer and NSAID but on a PPI",
            dict(conds=[cond(PEPTIC_ULCER, "2020-05-01")], meds=[NSAID_ON, PPI_ON]),
            (False, False),
        ),
        (
            "ulcer recorded on census - 3 months",
            dict(conds=[cond(PEPTIC_ULCER, "2023-12-31")], meds=[NSAID_ON]),
            (True, True),
        ),
        (
            "ulcer recorded a day later",
            dict(conds=[cond(PEPTIC_ULCER, "2024-01-01")], meds=[NSAID_ON]),
            (False, False),
        ),
        (
            "NSAID ends on the window's first day",
            dict(
                conds=[cond(GI_BLEED, "2020-05-01")],
                meds=[med(IBUPROFEN, "2023-12-01", "2023-12-31")],
            ),
            (True, True),
        ),
        (
            "NSAID ends the day before",
            dict(
                conds=[cond(GI_BLEED, "2020-05-01")],
                meds=[med(IBUPROFEN, "2023-12-01", "2023-12-30")],
            ),
            (True, False),
        ),
        (
            "NSAID starts on the census date",
            dict(conds=[cond(GI_BLEED, "2020-05-01")], meds=[med(IBUPROFEN, CENSUS)]),
            (True, True),
        ),
        (
            "NSAID starts the day after",
            dict(conds=[cond(GI_BLEED, "2020-05-01")], meds=[med(IBUPROFEN, "2024-04-01")]),
            (True, False),
        ),
    ],
    "c": [
        (
            "trigger: ulcer and aspirin",
            dict(conds=[cond(PEPTIC_ULCER, "2020-05-01")], meds=[med(ASPIRIN, ON)]),
            (True, True),
        ),
        (
            "ulcer and clopidogrel",
            dict(conds=[cond(PEPTIC_ULCER, "2020-05-01")], meds=[med(CLOPIDOGREL, ON)]),
            (True, True),
        ),
        ("ulcer, no antiplatelet", dict(conds=[cond(PEPTIC_ULCER, "2020-05-01")]), (True, False)),
        ("aspirin without ulcer", dict(meds=[med(ASPIRIN, ON)]), (False, False)),
        (
            "ulcer and aspirin with a PPI",
            dict(conds=[cond(GI_BLEED, "2020-05-01")], meds=[med(ASPIRIN, ON), PPI_ON]),
            (False, False),
        ),
        (
            "bleed recorded after census - 3 months",
            dict(conds=[cond(GI_BLEED, "2024-01-01")], meds=[med(ASPIRIN, ON)]),
            (False, False),
        ),
        (
            "aspirin ends on the window's first day",
            dict(
                conds=[cond(GI_BLEED, "2020-05-01")],
                meds=[med(ASPIRIN, "2023-01-01", "2023-12-31")],
            ),
            (True, True),
        ),
        (
            "aspirin ends the day before",
            dict(
                conds=[cond(GI_BLEED, "2020-05-01")],
                meds=[med(ASPIRIN, "2023-01-01", "2023-12-30")],
            ),
            (True, False),
        ),
        (
            "aspirin starts on the census date",
            dict(conds=[cond(GI_BLEED, "2020-05-01")], meds=[med(ASPIRIN, CENSUS)]),
            (True, True),
        ),
        (
            "aspirin starts the day after",
            dict(conds=[cond(GI_BLEED, "2020-05-01")], meds=[med(ASPIRIN, "2024-04-01")]),
            (True, False),
        ),
    ],
    "d": [
        ("trigger: warfarin and NSAID", dict(meds=[med(WARFARIN, ON), NSAID_ON]), (True, True)),
        ("warfarin alone", dict(meds=[med(WARFARIN, ON)]), (True, False)),
        ("NSAID alone", dict(meds=[NSAID_ON]), (False, False)),
        (
            "a PPI does not matter for D",
            dict(meds=[med(WARFARIN, ON), NSAID_ON, PPI_ON]),
            (True, True),
        ),
        (
            "warfarin ends on the window's first day",
            dict(meds=[med(WARFARIN, ON, "2023-12-31"), NSAID_ON]),
            (True, True),
        ),
        (
            "warfarin ends the day before",
            dict(meds=[med(WARFARIN, ON, "2023-12-30"), NSAID_ON]),
            (False, False),
        ),
        (
            "warfarin starts on the census date",
            dict(meds=[med(WARFARIN, CENSUS), NSAID_ON]),
            (True, True),
        ),
        (
            "warfarin starts the day after",
            dict(meds=[med(WARFARIN, "2024-04-01"), NSAID_ON]),
            (False, False),
        ),
        (
            "NSAID ends the day before the window",
            dict(meds=[med(WARFARIN, ON), med(IBUPROFEN, ON, "2023-12-30")]),
            (True, False),
        ),
    ],
    "e": [
        (
            "trigger: warfarin with aspirin",
            dict(meds=[med(WARFARIN, ON), med(ASPIRIN, ON)]),
            (True, True),
        ),
        (
            "warfarin with clopidogrel",
            dict(meds=[med(WARFARIN, ON), med(CLOPIDOGREL, ON)]),
            (True, True),
        ),
        ("warfarin alone", dict(meds=[med(WARFARIN, ON)]), (True, False)),
        ("with a PPI", dict(meds=[med(WARFARIN, ON), med(ASPIRIN, ON), PPI_ON]), (False, False)),
        # Aspirin stopped 2024-01-10; warfarin started 27 days later (21 days of January + 6).
        (
            "gap of 27 days is co-prescribing",
            dict(meds=[med(ASPIRIN, ON, "2024-01-10"), med(WARFARIN, "2024-02-06")]),
            (True, True),
        ),
        (
            "gap of 28 days is not",
            dict(meds=[med(ASPIRIN, ON, "2024-01-10"), med(WARFARIN, "2024-02-07")]),
            (True, False),
        ),
        (
            "aspirin stopped before the window is not co-prescribed",
            dict(meds=[med(ASPIRIN, ON, "2023-12-20"), med(WARFARIN, "2023-12-25")]),
            (True, False),
        ),
        (
            "aspirin ends on the window's first day",
            dict(meds=[med(ASPIRIN, ON, "2023-12-31"), med(WARFARIN, ON)]),
            (True, True),
        ),
        (
            "aspirin ends the day before",
            dict(meds=[med(ASPIRIN, ON, "2023-12-30"), med(WARFARIN, ON)]),
            (True, False),
        ),
        (
            "warfarin starts on the census date",
            dict(meds=[med(ASPIRIN, ON), med(WARFARIN, CENSUS)]),
            (True, True),
        ),
        (
            "warfarin starts the day after",
            dict(meds=[med(ASPIRIN, ON), med(WARFARIN, "2024-04-01")]),
            (False, False),
        ),
    ],
    "f": [
        (
            "trigger: aspirin with clopidogrel",
            dict(meds=[med(ASPIRIN, ON), med(CLOPIDOGREL, ON)]),
            (True, True),
        ),
        ("aspirin alone", dict(meds=[med(ASPIRIN, ON)]), (True, False)),
        ("clopidogrel alone", dict(meds=[med(CLOPIDOGREL, ON)]), (False, False)),
        ("with a PPI", dict(meds=[med(ASPIRIN, ON), med(CLOPIDOGREL, ON), PPI_ON]), (False, False)),
        (
            "aspirin with warfarin is not F",
            dict(meds=[med(ASPIRIN, ON), med(WARFARIN, ON)]),
            (True, False),
        ),
        (
            "gap of 27 days",
            dict(meds=[med(ASPIRIN, ON, "2024-01-10"), med(CLOPIDOGREL, "2024-02-06")]),
            (True, True),
        ),
        (
            "gap of 28 days",
            dict(meds=[med(ASPIRIN, ON, "2024-01-10"), med(CLOPIDOGREL, "2024-02-07")]),
            (True, False),
        ),
        (
            "aspirin ends on the window's first day",
            dict(meds=[med(ASPIRIN, ON, "2023-12-31"), med(CLOPIDOGREL, ON)]),
            (True, True),
        ),
        (
            "aspirin ends the day before",
            dict(meds=[med(ASPIRIN, ON, "2023-12-30"), med(CLOPIDOGREL, ON)]),
            (False, False),
        ),
        (
            "clopidogrel starts on the census date",
            dict(meds=[med(ASPIRIN, ON), med(CLOPIDOGREL, CENSUS)]),
            (True, True),
        ),
        (
            "clopidogrel starts the day after",
            dict(meds=[med(ASPIRIN, ON), med(CLOPIDOGREL, "2024-04-01")]),
            (True, False),
        ),
    ],
    "g": [
        # The ehrQL port compared dates with a missing resolved date, dropping these patients.
        (
            "trigger: asthma never resolved, propranolol",
            dict(conds=[cond(ASTHMA, "2015-01-01")], meds=[med(PROPRANOLOL, ON)]),
            (True, True),
        ),
        ("asthma, no beta-blocker", dict(conds=[cond(ASTHMA, "2015-01-01")]), (True, False)),
        ("beta-blocker without asthma", dict(meds=[med(PROPRANOLOL, ON)]), (False, False)),
        (
            "resolved by a later code",
            dict(
                conds=[cond(ASTHMA, "2015-01-01"), cond(ASTHMA_RESOLVED, "2020-01-01")],
                meds=[med(PROPRANOLOL, ON)],
            ),
            (False, False),
        ),
        (
            "resolved, then diagnosed again",
            dict(
                conds=[
                    cond(ASTHMA, "2015-01-01"),
                    cond(ASTHMA_RESOLVED, "2020-01-01"),
                    cond(ASTHMA, "2022-01-01"),
                ],
                meds=[med(PROPRANOLOL, ON)],
            ),
            (True, True),
        ),
        (
            "resolved on the day of the latest asthma code stays active",
            dict(
                conds=[cond(ASTHMA, "2020-01-01"), cond(ASTHMA_RESOLVED, "2020-01-01")],
                meds=[med(PROPRANOLOL, ON)],
            ),
            (True, True),
        ),
        (
            "resolved date on the diagnosis row",
            dict(conds=[cond(ASTHMA, "2015-01-01", "2019-01-01")], meds=[med(PROPRANOLOL, ON)]),
            (False, False),
        ),
        (
            "asthma recorded on census - 3 months",
            dict(conds=[cond(ASTHMA, "2023-12-31")], meds=[med(PROPRANOLOL, ON)]),
            (True, True),
        ),
        (
            "asthma recorded a day later",
            dict(conds=[cond(ASTHMA, "2024-01-01")], meds=[med(PROPRANOLOL, ON)]),
            (False, False),
        ),
        (
            "resolved on the census date",
            dict(
                conds=[cond(ASTHMA, "2015-01-01"), cond(ASTHMA_RESOLVED, CENSUS)],
                meds=[med(PROPRANOLOL, ON)],
            ),
            (False, False),
        ),
        (
            "resolved after the census date",
            dict(
                conds=[cond(ASTHMA, "2015-01-01"), cond(ASTHMA_RESOLVED, "2024-04-01")],
                meds=[med(PROPRANOLOL, ON)],
            ),
            (True, True),
        ),
        (
            "beta-blocker ends on the window's first day",
            dict(conds=[cond(ASTHMA, "2015-01-01")], meds=[med(PROPRANOLOL, ON, "2023-12-31")]),
            (True, True),
        ),
        (
            "beta-blocker ends the day before",
            dict(conds=[cond(ASTHMA, "2015-01-01")], meds=[med(PROPRANOLOL, ON, "2023-12-30")]),
            (True, False),
        ),
        (
            "beta-blocker starts on the census date",
            dict(conds=[cond(ASTHMA, "2015-01-01")], meds=[med(PROPRANOLOL, CENSUS)]),
            (True, True),
        ),
        (
            "beta-blocker starts the day after",
            dict(conds=[cond(ASTHMA, "2015-01-01")], meds=[med(PROPRANOLOL, "2024-04-01")]),
            (True, False),
        ),
    ],
    "i": [
        (
            "trigger: heart failure and NSAID",
            dict(conds=[cond(HEART_FAILURE, "2018-01-01")], meds=[NSAID_ON]),
            (True, True),
        ),
        ("heart failure alone", dict(conds=[cond(HEART_FAILURE, "2018-01-01")]), (True, False)),
        ("NSAID alone", dict(meds=[NSAID_ON]), (False, False)),
        (
            "heart failure on census - 3 months",
            dict(conds=[cond(HEART_FAILURE, "2023-12-31")], meds=[NSAID_ON]),
            (True, True),
        ),
        (
            "heart failure a day later",
            dict(conds=[cond(HEART_FAILURE, "2024-01-01")], meds=[NSAID_ON]),
            (False, False),
        ),
        (
            "NSAID ends on the window's first day",
            dict(
                conds=[cond(HEART_FAILURE, "2018-01-01")], meds=[med(IBUPROFEN, ON, "2023-12-31")]
            ),
            (True, True),
        ),
        (
            "NSAID ends the day before",
            dict(
                conds=[cond(HEART_FAILURE, "2018-01-01")], meds=[med(IBUPROFEN, ON, "2023-12-30")]
            ),
            (True, False),
        ),
        (
            "NSAID starts on the census date",
            dict(conds=[cond(HEART_FAILURE, "2018-01-01")], meds=[med(IBUPROFEN, CENSUS)]),
            (True, True),
        ),
        (
            "NSAID starts the day after",
            dict(conds=[cond(HEART_FAILURE, "2018-01-01")], meds=[med(IBUPROFEN, "2024-04-01")]),
            (True, False),
        ),
    ],
    "k": [
        (
            "trigger: eGFR 30 and NSAID",
            dict(tests=[result(EGFR, "2024-02-01", 30)], meds=[NSAID_ON]),
            (True, True),
        ),
        ("eGFR 30, no NSAID", dict(tests=[result(EGFR, "2024-02-01", 30)]), (True, False)),
        (
            "eGFR exactly 45 is not under 45",
            dict(tests=[result(EGFR, "2024-02-01", 45)], meds=[NSAID_ON]),
            (False, False),
        ),
        (
            "eGFR 44.9",
            dict(tests=[result(EGFR, "2024-02-01", 44.9)], meds=[NSAID_ON]),
            (True, True),
        ),
        (
            "eGFR exactly 1",
            dict(tests=[result(EGFR, "2024-02-01", 1)], meds=[NSAID_ON]),
            (True, True),
        ),
        (
            "eGFR 0.9 is below the range",
            dict(tests=[result(EGFR, "2024-02-01", 0.9)], meds=[NSAID_ON]),
            (False, False),
        ),
        (
            "eGFR on the window's first day",
            dict(tests=[result(EGFR, "2023-12-31", 30)], meds=[NSAID_ON]),
            (True, True),
        ),
        (
            "eGFR the day before the window",
            dict(tests=[result(EGFR, "2023-12-30", 30)], meds=[NSAID_ON]),
            (False, False),
        ),
        (
            "eGFR on the census date",
            dict(tests=[result(EGFR, CENSUS, 30)], meds=[NSAID_ON]),
            (True, True),
        ),
        (
            "eGFR the day after",
            dict(tests=[result(EGFR, "2024-04-01", 30)], meds=[NSAID_ON]),
            (False, False),
        ),
        (
            "latest result normal",
            dict(
                tests=[result(EGFR, "2024-01-15", 30), result(EGFR, "2024-03-01", 60)],
                meds=[NSAID_ON],
            ),
            (False, False),
        ),
        (
            "two results on the latest day: the lower counts",
            dict(
                tests=[result(EGFR, "2024-03-01", 60), result(EGFR, "2024-03-01", 30)],
                meds=[NSAID_ON],
            ),
            (True, True),
        ),
        (
            "eGFR without a value",
            dict(tests=[result(EGFR, "2024-02-01")], meds=[NSAID_ON]),
            (False, False),
        ),
        (
            "NSAID ends the day before the window",
            dict(tests=[result(EGFR, "2024-02-01", 30)], meds=[med(IBUPROFEN, ON, "2023-12-30")]),
            (True, False),
        ),
    ],
    "ac": [
        (
            "trigger: 80, ramipril for years, no tests",
            dict(age=80, meds=[med(RAMIPRIL, LONG_AGO)]),
            (True, True),
        ),
        (
            "both tests in 15 months",
            dict(
                age=80,
                meds=[med(RAMIPRIL, LONG_AGO)],
                tests=[result(CREATININE, "2023-06-01", 80), result(SODIUM, "2023-06-01", 140)],
            ),
            (True, False),
        ),
        (
            "renal test only",
            dict(
                age=80, meds=[med(RAMIPRIL, LONG_AGO)], tests=[result(CREATININE, "2023-06-01", 80)]
            ),
            (True, True),
        ),
        (
            "electrolytes only",
            dict(age=80, meds=[med(RAMIPRIL, LONG_AGO)], tests=[result(SODIUM, "2023-06-01", 140)]),
            (True, True),
        ),
        (
            "an eGFR is a renal function test",
            dict(
                age=80,
                meds=[med(RAMIPRIL, LONG_AGO)],
                tests=[result(EGFR, "2023-06-01", 70), result(SODIUM, "2023-06-01", 140)],
            ),
            (True, False),
        ),
        ("loop diuretic branch", dict(age=80, meds=[med(FUROSEMIDE, LONG_AGO)]), (True, True)),
        # The ehrQL port's precedence applied the age filter to the ACE inhibitor branch only.
        (
            "aged 74 on a loop diuretic is outside",
            dict(age=74, meds=[med(FUROSEMIDE, LONG_AGO)]),
            (False, False),
        ),
        ("aged exactly 75", dict(age=75, meds=[med(RAMIPRIL, LONG_AGO)]), (True, True)),
        (
            "started exactly 15 months ago",
            dict(age=80, meds=[med(RAMIPRIL, "2022-12-31")]),
            (True, True),
        ),
        ("started a day later", dict(age=80, meds=[med(RAMIPRIL, "2023-01-01")]), (False, False)),
        (
            "last taken on the 6-month window's first day",
            dict(age=80, meds=[med(RAMIPRIL, LONG_AGO, "2023-09-30")]),
            (True, True),
        ),
        (
            "stopped the day before",
            dict(age=80, meds=[med(RAMIPRIL, LONG_AGO, "2023-09-29")]),
            (False, False),
        ),
        (
            "tests on the 15-month window's first day",
            dict(
                age=80,
                meds=[med(RAMIPRIL, LONG_AGO)],
                tests=[result(CREATININE, "2022-12-31", 80), result(SODIUM, "2022-12-31", 140)],
            ),
            (True, False),
        ),
        (
            "tests the day before",
            dict(
                age=80,
                meds=[med(RAMIPRIL, LONG_AGO)],
                tests=[result(CREATININE, "2022-12-30", 80), result(SODIUM, "2022-12-30", 140)],
            ),
            (True, True),
        ),
        (
            "tests on the census date",
            dict(
                age=80,
                meds=[med(RAMIPRIL, LONG_AGO)],
                tests=[result(CREATININE, CENSUS, 80), result(SODIUM, CENSUS, 140)],
            ),
            (True, False),
        ),
        (
            "tests the day after",
            dict(
                age=80,
                meds=[med(RAMIPRIL, LONG_AGO)],
                tests=[result(CREATININE, "2024-04-01", 80), result(SODIUM, "2024-04-01", 140)],
            ),
            (True, True),
        ),
    ],
    "li": [
        (
            "trigger: lithium for a year, no level",
            dict(meds=[med(LITHIUM, "2023-01-01")]),
            (True, True),
        ),
        (
            "level in 3 months",
            dict(
                meds=[med(LITHIUM, "2023-01-01")], tests=[result(LITHIUM_LEVEL, "2024-02-01", 0.6)]
            ),
            (True, False),
        ),
        (
            "started 2024-01-15: recent window only",
            dict(meds=[med(LITHIUM, "2024-01-15")]),
            (False, False),
        ),
        (
            "stopped 2023-11-30: earlier window only",
            dict(meds=[med(LITHIUM, "2023-06-01", "2023-11-30")]),
            (False, False),
        ),
        (
            "earlier episode ends on 2023-09-30",
            dict(meds=[med(LITHIUM, "2023-06-01", "2023-09-30"), med(LITHIUM, "2024-01-01")]),
            (True, True),
        ),
        (
            "earlier episode ends on 2023-09-29",
            dict(meds=[med(LITHIUM, "2023-06-01", "2023-09-29"), med(LITHIUM, "2024-01-01")]),
            (False, False),
        ),
        (
            "one episode starting on 2023-12-31 is in both windows",
            dict(meds=[med(LITHIUM, "2023-12-31")]),
            (True, True),
        ),
        (
            "starting on 2024-01-01 is in the recent one only",
            dict(meds=[med(LITHIUM, "2024-01-01")]),
            (False, False),
        ),
        (
            "level on the window's first day",
            dict(
                meds=[med(LITHIUM, "2023-01-01")], tests=[result(LITHIUM_LEVEL, "2023-12-31", 0.6)]
            ),
            (True, False),
        ),
        (
            "level the day before",
            dict(
                meds=[med(LITHIUM, "2023-01-01")], tests=[result(LITHIUM_LEVEL, "2023-12-30", 0.6)]
            ),
            (True, True),
        ),
        (
            "level on the census date",
            dict(meds=[med(LITHIUM, "2023-01-01")], tests=[result(LITHIUM_LEVEL, CENSUS, 0.6)]),
            (True, False),
        ),
        (
            "level the day after",
            dict(
                meds=[med(LITHIUM, "2023-01-01")], tests=[result(LITHIUM_LEVEL, "2024-04-01", 0.6)]
            ),
            (True, True),
        ),
    ],
    "am": [
        # The ehrQL port's AM numerator lacked the NOT: these two cases pin it down.
        (
            "trigger: amiodarone for 2 years, no TFT",
            dict(meds=[med(AMIODARONE, "2022-01-01")]),
            (True, True),
        ),
        (
            "TFT in 6 months",
            dict(meds=[med(AMIODARONE, "2022-01-01")], tests=[result(TFT, "2024-01-01")]),
            (True, False),
        ),
        (
            "started 2023-11-01: recent window only",
            dict(meds=[med(AMIODARONE, "2023-11-01")]),
            (False, False),
        ),
        (
            "earlier episode ends on 2023-03-31",
            dict(meds=[med(AMIODARONE, "2022-06-01", "2023-03-31"), med(AMIODARONE, "2023-10-01")]),
            (True, True),
        ),
        (
            "earlier episode ends on 2023-03-30",
            dict(meds=[med(AMIODARONE, "2022-06-01", "2023-03-30"), med(AMIODARONE, "2023-10-01")]),
            (False, False),
        ),
        (
            "one episode starting on 2023-09-30 is in both windows",
            dict(meds=[med(AMIODARONE, "2023-09-30")]),
            (True, True),
        ),
        (
            "starting on 2023-10-01 is in the recent one only",
            dict(meds=[med(AMIODARONE, "2023-10-01")]),
            (False, False),
        ),
        (
            "TFT on the window's first day",
            dict(meds=[med(AMIODARONE, "2022-01-01")], tests=[result(TFT, "2023-09-30")]),
            (True, False),
        ),
        (
            "TFT the day before",
            dict(meds=[med(AMIODARONE, "2022-01-01")], tests=[result(TFT, "2023-09-29")]),
            (True, True),
        ),
        (
            "TFT on the census date",
            dict(meds=[med(AMIODARONE, "2022-01-01")], tests=[result(TFT, CENSUS)]),
            (True, False),
        ),
        (
            "TFT the day after",
            dict(meds=[med(AMIODARONE, "2022-01-01")], tests=[result(TFT, "2024-04-01")]),
            (True, True),
        ),
    ],
}
# Further window edges: the PPI window in B and E, the history edge in C, the NSAID window in
# D and K, and the LFT window in ME (see test_methotrexate_monitoring).
ULCER = cond(PEPTIC_ULCER, "2020-05-01")
CASES["b"] += [
    (
        "PPI ended the day before the window",
        dict(conds=[ULCER], meds=[NSAID_ON, med(OMEPRAZOLE, ON, "2023-12-30")]),
        (True, True),
    ),
    (
        "PPI ended on the window's first day",
        dict(conds=[ULCER], meds=[NSAID_ON, med(OMEPRAZOLE, ON, "2023-12-31")]),
        (False, False),
    ),
]
CASES["c"] += [
    (
        "bleed recorded on census - 3 months",
        dict(conds=[cond(GI_BLEED, "2023-12-31")], meds=[med(ASPIRIN, ON)]),
        (True, True),
    ),
]
CASES["d"] += [
    (
        "NSAID ends on the window's first day",
        dict(meds=[med(WARFARIN, ON), med(IBUPROFEN, ON, "2023-12-31")]),
        (True, True),
    ),
    (
        "NSAID starts on the census date",
        dict(meds=[med(WARFARIN, ON), med(IBUPROFEN, CENSUS)]),
        (True, True),
    ),
    (
        "NSAID starts the day after",
        dict(meds=[med(WARFARIN, ON), med(IBUPROFEN, "2024-04-01")]),
        (True, False),
    ),
]
CASES["e"] += [
    (
        "PPI ended the day before the window",
        dict(meds=[med(WARFARIN, ON), med(ASPIRIN, ON), med(OMEPRAZOLE, ON, "2023-12-30")]),
        (True, True),
    ),
    (
        "PPI starts on the census date",
        dict(meds=[med(WARFARIN, ON), med(ASPIRIN, ON), med(OMEPRAZOLE, CENSUS)]),
        (False, False),
    ),
]
CASES["k"] += [
    (
        "NSAID ends on the window's first day",
        dict(tests=[result(EGFR, "2024-02-01", 30)], meds=[med(IBUPROFEN, ON, "2023-12-31")]),
        (True, True),
    ),
    (
        "NSAID starts on the census date",
        dict(tests=[result(EGFR, "2024-02-01", 30)], meds=[med(IBUPROFEN, CENSUS)]),
        (True, True),
    ),
    (
        "NSAID starts the day after",
        dict(tests=[result(EGFR, "2024-02-01", 30)], meds=[med(IBUPROFEN, "2024-04-01")]),
        (True, False),
    ),
]

CASE_PARAMS = [
    pytest.param(f"{key}-{i}", key, expected, id=f"{key}: {name}")
    for key, cases in CASES.items()
    for i, (name, _spec, expected) in enumerate(cases)
]


@pytest.fixture(scope="module")
def case_flags() -> pd.DataFrame:
    # Every case is its own patient, so one run over all of them checks each independently.
    return flags(
        *(
            patient(f"{key}-{i}", **spec)
            for key, cases in CASES.items()
            for i, (_name, spec, _expected) in enumerate(cases)
        )
    )


@pytest.mark.parametrize(("pid", "key", "expected"), CASE_PARAMS)
def test_indicator_case(case_flags, pid, key, expected):
    row = case_flags.loc[pid]
    assert (bool(row[f"{key}_den"]), bool(row[f"{key}_num"])) == expected


# Methotrexate has two numerators sharing one denominator: (den, no FBC, no LFT).
MTX_CASES = [
    ("no tests", [], (True, True, True)),
    ("FBC and LFT", [result(FBC, "2024-02-01"), result(LFT, "2024-02-01")], (True, False, False)),
    # The ehrQL port checked LFTs against the FBC code list: an FBC alone would clear both.
    ("FBC only", [result(FBC, "2024-02-01")], (True, False, True)),
    ("LFT only", [result(LFT, "2024-02-01")], (True, True, False)),
    ("FBC on the window's first day", [result(FBC, "2023-12-31")], (True, False, True)),
    ("FBC on the census date", [result(FBC, CENSUS)], (True, False, True)),
    ("FBC the day after", [result(FBC, "2024-04-01")], (True, True, True)),
    ("FBC the day before", [result(FBC, "2023-12-30")], (True, True, True)),
    ("LFT on the window's first day", [result(LFT, "2023-12-31")], (True, True, False)),
    ("LFT the day before", [result(LFT, "2023-12-30")], (True, True, True)),
    ("LFT on the census date", [result(LFT, CENSUS)], (True, True, False)),
    ("LFT the day after", [result(LFT, "2024-04-01")], (True, True, True)),
]


@pytest.mark.parametrize(("tests", "expected"), [pytest.param(t, e, id=n) for n, t, e in MTX_CASES])
def test_methotrexate_monitoring(tests, expected):
    row = flags(patient(meds=[med(METHOTREXATE, "2023-01-01")], tests=tests)).loc["p1"]
    assert row["me_no_fbc_den"] == row["me_no_lft_den"]
    assert (
        bool(row["me_no_fbc_den"]),
        bool(row["me_no_fbc_num"]),
        bool(row["me_no_lft_num"]),
    ) == expected


@pytest.mark.parametrize(
    ("episodes", "in_denominator"),
    [
        pytest.param([med(METHOTREXATE, "2023-01-01")], True, id="taken throughout"),
        pytest.param([med(METHOTREXATE, "2024-01-15")], False, id="recent window only"),
        pytest.param(
            [med(METHOTREXATE, "2023-06-01", "2023-11-30")], False, id="earlier window only"
        ),
        pytest.param(
            [med(METHOTREXATE, "2023-06-01", "2023-09-30"), med(METHOTREXATE, "2024-01-01")],
            True,
            id="earlier episode ends on 2023-09-30",
        ),
        pytest.param(
            [med(METHOTREXATE, "2023-06-01", "2023-09-29"), med(METHOTREXATE, "2024-01-01")],
            False,
            id="earlier episode ends on 2023-09-29",
        ),
        pytest.param([med(METHOTREXATE, "2023-12-31")], True, id="starts on 2023-12-31"),
        pytest.param([med(METHOTREXATE, "2024-01-01")], False, id="starts on 2024-01-01"),
        pytest.param(
            [med(METHOTREXATE, "2023-06-01", "2023-12-31")], True, id="ends on 2023-12-31"
        ),
        pytest.param(
            [med(METHOTREXATE, "2023-06-01", "2023-12-30")], False, id="ends on 2023-12-30"
        ),
    ],
)
def test_methotrexate_windows(episodes, in_denominator):
    row = flags(patient(meds=episodes)).loc["p1"]
    assert bool(row["me_no_fbc_den"]) is in_denominator
    assert bool(row["me_no_fbc_num"]) is in_denominator  # no tests at all


def test_composites_combine_their_members():
    table = flags(
        patient("only_a", age=70, meds=[NSAID_ON]),  # A flagged
        patient("only_d_den", age=50, meds=[med(WARFARIN, ON), PPI_ON]),  # D den, E not, no flag
        patient("only_k", age=50, tests=[result(EGFR, "2024-02-01", 30)], meds=[NSAID_ON]),
        patient(
            "only_lft",
            age=50,
            meds=[med(METHOTREXATE, "2023-01-01")],
            tests=[result(FBC, "2024-02-01")],
        ),
        patient("nothing", age=30),
    )
    got = table[[f"{k}_{p}" for k in pincer_definitions.COMPOSITES for p in ("den", "num")]].astype(
        bool
    )
    # only_a: 70 and no PPI puts them in A's denominator; NSAID flags A.
    assert got.loc["only_a"].tolist() == [True, True, False, False, False, False]
    # only_d_den: warfarin puts them in D's denominator; the PPI keeps them out of E's.
    assert got.loc["only_d_den"].tolist() == [True, False, False, False, False, False]
    # only_k: under 65 so not in A; eGFR 30 puts them in K and the NSAID flags it.
    assert got.loc["only_k"].tolist() == [False, False, True, True, False, False]
    # only_lft: methotrexate throughout with an FBC only flags ME (no LFT).
    assert got.loc["only_lft"].tolist() == [False, False, False, False, True, True]
    assert not got.loc["nothing"].any()


def test_population_age_limits():
    table = flags(
        patient("young", age=17, meds=[NSAID_ON], conds=[cond(GI_BLEED, "2020-01-01")]),
        patient("adult", age=18, meds=[NSAID_ON], conds=[cond(GI_BLEED, "2020-01-01")]),
    )
    assert not table.loc["young", "in_population"] and not table.loc["young", "b_den"]
    assert table.loc["adult", "b_num"]
    narrowed = flags(patient(age=70, meds=[NSAID_ON]), min_age=75)
    assert not narrowed.loc["p1", "a_den"]


def test_summary_counts_by_trust():
    table = pincer.pincer_flags(
        build(
            patient("r1", age=70, meds=[NSAID_ON]),
            patient("r2", age=70),
            patient("r3", age=50),
            patient("t1", age=80, trust="RTF", meds=[NSAID_ON]),
        ),
        CENSUS,
    )
    summary = pincer.pincer_summary(table, keys=["a"]).set_index("trust_code")
    # RTD: r1 and r2 are 65+ without a PPI (denominator 2); r1 takes an NSAID (numerator 1).
    assert summary.loc["RTD", ["numerator", "denominator", "percent"]].tolist() == [1, 2, 50.0]
    assert summary.loc["RTF", ["numerator", "denominator", "percent"]].tolist() == [1, 1, 100.0]


def test_indicator_catalogue():
    assert pincer_definitions.INDICATOR_KEYS == (
        "a",
        "b",
        "c",
        "d",
        "e",
        "f",
        "g",
        "i",
        "k",
        "ac",
        "me_no_fbc",
        "me_no_lft",
        "li",
        "am",
    )
    assert set(pincer_definitions.COMPOSITES) == {"gi_bleed", "other_prescribing", "monitoring"}
    with pytest.raises(InputError, match="unknown PINCER indicator"):
        pincer_definitions.indicator("z")


def test_bundled_codelists_match_their_provenance():
    lists = pincer_definitions.load_codelists()
    # Distinct ids per list as recorded in the data's provenance (pincer-antiplat has one
    # repeated row: 551 rows, 550 distinct ids).
    expected = {
        "nsaid": 1466,
        "ppi": 1197,
        "anticoagulant": 218,
        "antiplatelet_incl_aspirin": 550,
        "aspirin": 357,
        "antiplatelet_excl_aspirin": 193,
        "nsbb": 1088,
        "acei_arb": 2509,
        "loop_diuretic": 813,
        "methotrexate": 330,
        "lithium": 41,
        "amiodarone": 170,
        "asthma_resolved": 1,
        "egfr": 8,
        "lithium_level": 13,
    }
    assert {k: len(lists[k]) for k in expected} == expected
    assert all(code.isdigit() for codes in lists.values() for code in codes)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (IBUPROFEN[0], "nsaid"),
        (OMEPRAZOLE[0], "ppi"),
        (WARFARIN[0], "anticoagulant"),
        (ASPIRIN[0], "aspirin"),
        (CLOPIDOGREL[0], "antiplatelet_excl_aspirin"),
        (PROPRANOLOL[0], "nsbb"),
        (RAMIPRIL[0], "acei_arb"),
        (FUROSEMIDE[0], "loop_diuretic"),
        (METHOTREXATE[0], "methotrexate"),
        (LITHIUM[0], "lithium"),
        (AMIODARONE[0], "amiodarone"),
        (GI_BLEED, "gi_bleed"),
        (PEPTIC_ULCER, "peptic_ulcer"),
        (ASTHMA, "asthma"),
        (ASTHMA_RESOLVED, "asthma_resolved"),
        (HEART_FAILURE, "heart_failure"),
        (EGFR, "egfr"),
        (CREATININE, "renal_function"),
        (SODIUM, "electrolytes"),
        (FBC, "fbc"),
        (LFT, "lft"),
        (LITHIUM_LEVEL, "lithium_level"),
        (TFT, "tft"),
    ],
)
def test_fixture_codes_are_in_their_list(code, name):
    lists = pincer_definitions.load_codelists()
    assert code in lists[name]
    # Only the overlaps PINCER itself has (aspirin/clopidogrel are also in the combined
    # antiplatelet list; every eGFR code is also a renal function code).
    allowed = {name, "antiplatelet_incl_aspirin", "renal_function" if name == "egfr" else name}
    assert {k for k, v in lists.items() if code in v} <= allowed


def test_custom_codelists_must_be_complete():
    with pytest.raises(InputError, match="codelists is missing"):
        pincer.pincer_flags(build(patient()), CENSUS, codelists={"nsaid": frozenset()})


def test_bad_census_date_is_a_clear_error():
    with pytest.raises(InputError, match="census_date must be a date"):
        pincer.pincer_flags(build(patient()), "31st March")
