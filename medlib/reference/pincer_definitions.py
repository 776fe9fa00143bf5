"""The PINCER prescribing-safety indicators as data: their code lists and definitions.

The code lists are the OpenSAFELY PINCER lists bundled in ``medlib/data/pincer`` (see the
``PROVENANCE.md`` there): drug lists hold dm+d ids, the others SNOMED CT ids. Each
:class:`Indicator` says who is in the denominator and who in the numerator, in words; the
arithmetic is :func:`medlib.polypharmacy.pincer.pincer_flags`. The synthetic patient generator
reads the same lists, so every code it writes is one the audit recognises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from medlib.errors import InputError
from medlib.paths import DATA_DIR

__all__ = [
    "ALL_KEYS",
    "CODELIST_FILES",
    "COMPOSITES",
    "DRUG_CODELISTS",
    "INDICATOR_KEYS",
    "Codelists",
    "Indicator",
    "indicator",
    "load_codelists",
]

PINCER_DIR = DATA_DIR / "pincer"

#: Code list name -> bundled file. Drug lists hold dm+d ids; the others SNOMED CT ids.
CODELIST_FILES: dict[str, str] = {
    "nsaid": "pincer-nsaid.csv",
    "ppi": "pincer-ppi.csv",
    "anticoagulant": "pincer-anticoag.csv",
    "antiplatelet_incl_aspirin": "pincer-antiplat.csv",
    "aspirin": "pincer-aspirin.csv",
    "antiplatelet_excl_aspirin": "pincer-non_asp_antiplate.csv",
    "nsbb": "pincer-nsbb.csv",
    "acei_arb": "pincer-acei.csv",
    "loop_diuretic": "pincer-diur.csv",
    "methotrexate": "pincer-met.csv",
    "lithium": "pincer-lith.csv",
    "amiodarone": "pincer-amio.csv",
    "gi_bleed": "pincer-gi_bleed.csv",
    "peptic_ulcer": "pincer-pep.csv",
    "asthma": "pincer-ast.csv",
    "asthma_resolved": "pincer-ast_res.csv",
    "heart_failure": "pincer-hf.csv",
    "egfr": "pincer-egfr.csv",
    "renal_function": "pincer-renal.csv",
    "electrolytes": "pincer-electro.csv",
    "fbc": "pincer-fbc.csv",
    "lft": "pincer-lft.csv",
    "lithium_level": "pincer-lith_lev.csv",
    "tft": "pincer-tft.csv",
}
DRUG_CODELISTS = frozenset(
    {
        "nsaid",
        "ppi",
        "anticoagulant",
        "antiplatelet_incl_aspirin",
        "aspirin",
        "antiplatelet_excl_aspirin",
        "nsbb",
        "acei_arb",
        "loop_diuretic",
        "methotrexate",
        "lithium",
        "amiodarone",
    }
)

Codelists = Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class Indicator:
    """One PINCER indicator or composite.

    Attributes:
        key: Column prefix (``a`` ... ``am``, or a composite name).
        title: Plain-English title.
        group: ``GI bleed``, ``Other prescribing``, ``Monitoring`` or ``Composite``.
        pincer_code: The PINCER audit code.
        denominator: Who is audited, in words.
        numerator: Who is flagged, in words.
    """

    key: str
    title: str
    group: str
    pincer_code: str
    denominator: str
    numerator: str


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "a",
        "Aged 65+ on an NSAID without gastro-protection",
        "GI bleed",
        "GI_P3A",
        "aged 65+ with no PPI/ulcer-healing drug in the last 3 months",
        "prescribed an oral NSAID in the last 3 months",
    ),
    Indicator(
        "b",
        "Peptic ulcer or GI bleed history on an NSAID without a PPI",
        "GI bleed",
        "GI_P3B",
        "peptic ulcer or GI bleed recorded, no PPI in the last 3 months",
        "prescribed an oral NSAID in the last 3 months",
    ),
    Indicator(
        "c",
        "Peptic ulcer or GI bleed history on an antiplatelet without a PPI",
        "GI bleed",
        "GI_P3C",
        "peptic ulcer or GI bleed recorded, no PPI in the last 3 months",
        "prescribed aspirin or another antiplatelet in the last 3 months",
    ),
    Indicator(
        "d",
        "Anticoagulant with an NSAID",
        "GI bleed",
        "GI_P3D",
        "prescribed an oral anticoagulant in the last 3 months",
        "prescribed an oral NSAID in the last 3 months",
    ),
    Indicator(
        "e",
        "Anticoagulant with an antiplatelet, without a PPI",
        "GI bleed",
        "GI_P3E",
        "prescribed an anticoagulant, no PPI in the last 3 months",
        "anticoagulant co-prescribed with an antiplatelet",
    ),
    Indicator(
        "f",
        "Aspirin with another antiplatelet, without a PPI",
        "GI bleed",
        "GI_P3F",
        "prescribed aspirin, no PPI in the last 3 months",
        "aspirin co-prescribed with another antiplatelet",
    ),
    Indicator(
        "g",
        "Asthma and a non-selective beta-blocker",
        "Other prescribing",
        "AS_P3G",
        "asthma recorded and not resolved",
        "prescribed a non-selective beta-blocker in the last 3 months",
    ),
    Indicator(
        "i",
        "Heart failure and an NSAID",
        "Other prescribing",
        "HF_P3I",
        "heart failure recorded",
        "prescribed an oral NSAID in the last 3 months",
    ),
    Indicator(
        "k",
        "Kidney impairment (eGFR under 45) and an NSAID",
        "Other prescribing",
        "KI_P3K",
        "latest eGFR in the last 3 months at least 1 and under 45",
        "prescribed an oral NSAID in the last 3 months",
    ),
    Indicator(
        "ac",
        "Aged 75+ on an ACE inhibitor/ARB or loop diuretic without monitoring",
        "Monitoring",
        "MO_P13",
        "aged 75+ on an ACE inhibitor/ARB or loop diuretic for 15 months or more",
        "no renal function or no electrolytes test in the last 15 months",
    ),
    Indicator(
        "me_no_fbc",
        "Methotrexate without a full blood count",
        "Monitoring",
        "MO_P15",
        "prescribed methotrexate for 3 months or more",
        "no full blood count in the last 3 months",
    ),
    Indicator(
        "me_no_lft",
        "Methotrexate without a liver function test",
        "Monitoring",
        "MO_P15",
        "prescribed methotrexate for 3 months or more",
        "no liver function test in the last 3 months",
    ),
    Indicator(
        "li",
        "Lithium without a lithium level",
        "Monitoring",
        "MO_P17",
        "prescribed lithium for 3 months or more",
        "no lithium level in the last 3 months",
    ),
    Indicator(
        "am",
        "Amiodarone without a thyroid function test",
        "Monitoring",
        "MO_P18",
        "prescribed amiodarone for 6 months or more",
        "no thyroid function test in the last 6 months",
    ),
)
COMPOSITES: dict[str, tuple[str, ...]] = {
    "gi_bleed": ("a", "b", "c", "d", "e", "f"),
    "other_prescribing": ("g", "i", "k"),
    "monitoring": ("ac", "me_no_fbc", "me_no_lft", "li", "am"),
}
COMPOSITE_INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "gi_bleed",
        "GI bleed composite (A-F)",
        "Composite",
        "",
        "in any of A-F",
        "flagged by any of A-F",
    ),
    Indicator(
        "other_prescribing",
        "Other prescribing composite (G, I, K)",
        "Composite",
        "",
        "in any of G, I, K",
        "flagged by any of G, I, K",
    ),
    Indicator(
        "monitoring",
        "Monitoring composite (AC, ME, LI, AM)",
        "Composite",
        "",
        "in any of AC, ME (both), LI, AM",
        "flagged by any of AC, ME (both), LI, AM",
    ),
)
INDICATOR_KEYS = tuple(i.key for i in INDICATORS)
ALL_KEYS = INDICATOR_KEYS + tuple(COMPOSITES)
_BY_KEY = {i.key: i for i in INDICATORS + COMPOSITE_INDICATORS}


def indicator(key: str) -> Indicator:
    """The :class:`Indicator` for a key (indicator or composite)."""
    if key not in _BY_KEY:
        raise InputError(f"unknown PINCER indicator {key!r}; choose from {list(_BY_KEY)}")
    return _BY_KEY[key]


@lru_cache(maxsize=4)
def _read_codelists(folder: str) -> dict[str, frozenset[str]]:
    out = {}
    for name, file in CODELIST_FILES.items():
        path = Path(folder) / file
        if not path.exists():
            raise InputError(f"PINCER code list {name} is missing: expected {path}")
        frame = pd.read_csv(path, dtype=str)
        column = "id" if "id" in frame.columns else "code"
        if column not in frame.columns:
            raise InputError(f"PINCER code list {path} has neither an 'id' nor a 'code' column")
        out[name] = frozenset(frame[column].dropna().str.strip())
    return out


def load_codelists(folder: str | Path | None = None) -> dict[str, frozenset[str]]:
    """The PINCER code lists as sets of text codes.

    Args:
        folder: A folder holding the ``pincer-*.csv`` files; None for the bundled ones.
    """
    return dict(_read_codelists(str(PINCER_DIR if folder is None else folder)))
