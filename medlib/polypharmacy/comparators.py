"""NHSBSA polypharmacy comparators on patient-level medication records (METHODS.md 2.8).

What counts as a medicine a patient "is on":

* **On a census date**: every prescribing episode that covers that day (it started on or
  before it and has not ended before it).
* **Per month**: every episode that overlaps the calendar month, like the NHSBSA
  patient-month metrics.

The comparators, per patient (see :data:`COMPARATORS` for numerators and denominators):

* **unique medicines**: distinct BNF chemical substances (first 9 characters of the BNF code)
  in BNF chapters 1-4 and 6-10, the NHSBSA ePACT2 definition. Rows without a BNF code are not
  counted; :func:`comparator_flags` reports how many there were.
* **anticholinergic burden** on a swappable scale (:mod:`medlib.polypharmacy.acb`): total score,
and how many
  distinct moderate/high (score 2-3) medicines.
* **DAMN** medicines (diuretic, ACE inhibitor/ARB, metformin, NSAID) from
  ``medlib/reference/damn_groups.csv``; **anticoagulant and antiplatelet** from
  ``acap_groups.csv``; **falls-risk** medicines (STOPPFall groups mapped to BNF) from
  ``stoppfall_groups.csv``. Each counts distinct chemical substances.

Age bands are under 65, 65-74, 75-84 and 85+.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from medlib.errors import InputError
from medlib.io.patient_tables import PatientTables
from medlib.paths import REFERENCE_DIR
from medlib.polypharmacy import acb
from medlib.reference.lookback import Window, day_window, episode_overlaps, month_window
from medlib.validation import parse_month

__all__ = [
    "AGE_BANDS",
    "COMPARATORS",
    "COMPARATOR_KEYS",
    "COUNTED_CHAPTERS",
    "Comparator",
    "age_band",
    "chemical_substance",
    "comparator_flags",
    "comparator_summary",
    "counts_as_medicine",
    "current_medications",
    "group_of",
    "load_groups",
    "monthly_comparators",
]

#: BNF chapters counted as medicines by the NHSBSA comparators.
COUNTED_CHAPTERS = (1, 2, 3, 4, 6, 7, 8, 9, 10)
AGE_BANDS = ("under 65", "65-74", "75-84", "85+")
GROUP_FILES = {
    "damn": REFERENCE_DIR / "damn_groups.csv",
    "acap": REFERENCE_DIR / "acap_groups.csv",
    "falls": REFERENCE_DIR / "stoppfall_groups.csv",
}


@dataclass(frozen=True)
class Comparator:
    """One comparator: who is counted (numerator) among whom (denominator).

    Attributes:
        key: Short name used in tables.
        label: Plain-English label.
        numerator: Rule on the per-patient flags table giving the numerator patients.
        denominator: Rule giving the denominator patients.
        denominator_label: Plain-English denominator.
    """

    key: str
    label: str
    numerator: Callable[[pd.DataFrame], pd.Series]
    denominator: Callable[[pd.DataFrame], pd.Series]
    denominator_label: str


def _everyone(f: pd.DataFrame) -> pd.Series:
    return pd.Series(True, index=f.index)


COMPARATORS: tuple[Comparator, ...] = (
    Comparator(
        "medicines_8plus",
        "8 or more unique medicines",
        lambda f: f["n_medicines"] >= 8,
        _everyone,
        "all patients",
    ),
    Comparator(
        "medicines_10plus",
        "10 or more unique medicines",
        lambda f: f["n_medicines"] >= 10,
        _everyone,
        "all patients",
    ),
    Comparator(
        "medicines_15plus",
        "15 or more unique medicines",
        lambda f: f["n_medicines"] >= 15,
        _everyone,
        "all patients",
    ),
    Comparator(
        "medicines_20plus",
        "20 or more unique medicines",
        lambda f: f["n_medicines"] >= 20,
        _everyone,
        "all patients",
    ),
    Comparator(
        "acb_6plus",
        "anticholinergic burden score 6 or more",
        lambda f: f["acb_total"] >= 6,
        _everyone,
        "all patients",
    ),
    Comparator(
        "acb_2plus_moderate_high",
        "2 or more moderate/high anticholinergic medicines",
        lambda f: f["acb_moderate_high"] >= 2,
        lambda f: f["acb_medicines"] >= 1,
        "patients on at least one anticholinergic medicine",
    ),
    Comparator(
        "damn_2plus",
        "2 or more DAMN medicines",
        lambda f: f["damn_medicines"] >= 2,
        lambda f: f["damn_medicines"] >= 1,
        "patients on at least one DAMN medicine",
    ),
    Comparator(
        "nsaid_plus_damn",
        "an NSAID plus another DAMN medicine",
        lambda f: (f["nsaid_medicines"] >= 1) & (f["damn_non_nsaid_medicines"] >= 1),
        lambda f: f["nsaid_medicines"] >= 1,
        "patients on an NSAID",
    ),
    Comparator(
        "anticoagulant_antiplatelet",
        "an anticoagulant plus an antiplatelet",
        lambda f: (f["anticoagulant_medicines"] >= 1) & (f["antiplatelet_medicines"] >= 1),
        lambda f: (f["anticoagulant_medicines"] >= 1) | (f["antiplatelet_medicines"] >= 1),
        "patients on an anticoagulant or an antiplatelet",
    ),
    Comparator(
        "falls_3plus",
        "3 or more falls-risk medicines",
        lambda f: f["falls_medicines"] >= 3,
        _everyone,
        "all patients",
    ),
)
COMPARATOR_KEYS = tuple(c.key for c in COMPARATORS)


def age_band(ages: pd.Series) -> pd.Series:
    """Age bands under 65, 65-74, 75-84 and 85+ as an ordered categorical.

    Example:
        >>> age_band(pd.Series([64, 65, 74, 75, 84, 85])).tolist()
        ['under 65', '65-74', '65-74', '75-84', '75-84', '85+']
    """
    bands = pd.cut(pd.to_numeric(ages), bins=[-np.inf, 64, 74, 84, np.inf], labels=list(AGE_BANDS))
    return bands.astype(pd.CategoricalDtype(list(AGE_BANDS), ordered=True))


def chemical_substance(bnf_codes: pd.Series) -> pd.Series:
    """The BNF chemical substance (first 9 characters) of each BNF code, or None."""
    codes = bnf_codes.astype(object).where(bnf_codes.notna(), None)
    return codes.map(lambda c: c[:9] if isinstance(c, str) and len(c) >= 9 else None)


def counts_as_medicine(
    bnf_codes: pd.Series, chapters: Sequence[int] = COUNTED_CHAPTERS
) -> pd.Series:
    """Whether each BNF code lies in the counted chapters (1-4 and 6-10 by default)."""
    chapter = pd.to_numeric(
        bnf_codes.astype(object).map(lambda c: c[:2] if isinstance(c, str) else None),
        errors="coerce",
    )
    return chapter.isin(list(chapters)) & chemical_substance(bnf_codes).notna()


@lru_cache(maxsize=8)
def _read_groups(path: str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str)
    missing = {"group", "bnf_prefix"} - set(frame.columns)
    if missing:
        raise InputError(f"group table {path} is missing column(s) {sorted(missing)}")
    frame["bnf_prefix"] = frame["bnf_prefix"].str.strip().str.upper()
    return frame


def load_groups(name: str) -> pd.DataFrame:
    """A bundled BNF-prefix group table: ``"damn"``, ``"acap"`` or ``"falls"``."""
    if name not in GROUP_FILES:
        raise InputError(f"unknown group table {name!r}; choose one of {sorted(GROUP_FILES)}")
    return _read_groups(str(GROUP_FILES[name])).copy()


def group_of(bnf_codes: pd.Series, groups: pd.DataFrame) -> pd.Series:
    """The group of each BNF code by its longest matching prefix, or None."""
    out = pd.Series(None, index=bnf_codes.index, dtype=object)
    codes = bnf_codes.astype(object).where(bnf_codes.notna(), "")
    mapping = dict(zip(groups["bnf_prefix"], groups["group"], strict=True))
    for length in sorted({len(p) for p in mapping}, reverse=True):
        todo = out.isna()
        hit = codes[todo].str[:length].map(mapping).dropna()
        out.loc[hit.index] = hit
    return out


def current_medications(medications: pd.DataFrame, when: object) -> pd.DataFrame:
    """Medication episodes current on a census date or in a window.

    Args:
        medications: Canonical medications.
        when: A census date (a day) or a :class:`~medlib.reference.lookback.Window`.
    """
    window = when if isinstance(when, Window) else day_window(when)
    keep = episode_overlaps(medications["start_date"], medications["end_date"], window)
    return medications[keep]


def comparator_flags(
    tables: PatientTables,
    when: object,
    acb_scale: acb.ScaleLike = None,
) -> pd.DataFrame:
    """Per-patient counts behind every comparator.

    Args:
        tables: Canonical patient tables.
        when: Census date (``"YYYY-MM-DD"``) or a :class:`~medlib.reference.lookback.Window` such as
            :func:`~medlib.reference.lookback.month_window`.
        acb_scale: Anticholinergic scale (path, DataFrame, or None for the bundled ACB).

    Returns:
        One row per patient: ``patient_id, trust_code, age, age_band, sex, n_medicines,
        acb_total, acb_medicines, acb_moderate_high, damn_medicines, nsaid_medicines,
        damn_non_nsaid_medicines, anticoagulant_medicines, antiplatelet_medicines,
        falls_medicines``. ``attrs["rows_without_bnf"]`` counts current medication rows that
        had no BNF code (so were not counted as medicines).
    """
    current = current_medications(tables.medications, when)
    current = current.assign(substance=chemical_substance(current["bnf_code"]))
    pats = tables.patients[["patient_id", "trust_code", "age", "sex"]].copy()
    pats.insert(3, "age_band", age_band(pats["age"]))
    out = pats.set_index("patient_id")

    counted = current[counts_as_medicine(current["bnf_code"])]
    out["n_medicines"] = counted.groupby("patient_id")["substance"].nunique()

    burden = acb.patient_burden(current, acb_scale).set_index("patient_id")
    for column in ("acb_total", "acb_medicines", "acb_moderate_high"):
        out[column] = burden[column]

    def distinct(groups: pd.DataFrame, keep: Callable[[pd.Series], pd.Series]) -> pd.Series:
        grp = group_of(current["bnf_code"], groups)
        rows = current[keep(grp)]
        return rows.groupby("patient_id")["substance"].nunique()

    damn = load_groups("damn")
    out["damn_medicines"] = distinct(damn, lambda g: g.notna())
    out["nsaid_medicines"] = distinct(damn, lambda g: g == "nsaid")
    out["damn_non_nsaid_medicines"] = distinct(damn, lambda g: g.notna() & (g != "nsaid"))
    acap = load_groups("acap")
    out["anticoagulant_medicines"] = distinct(acap, lambda g: g == "anticoagulant")
    out["antiplatelet_medicines"] = distinct(acap, lambda g: g == "antiplatelet")
    out["falls_medicines"] = distinct(load_groups("falls"), lambda g: g.notna())
    count_columns = [c for c in out.columns if c not in ("trust_code", "age", "age_band", "sex")]
    out[count_columns] = out[count_columns].fillna(0).astype("int64")
    out = out.reset_index()
    out.attrs["rows_without_bnf"] = int(current["bnf_code"].isna().sum())
    return out


def comparator_summary(
    flags: pd.DataFrame,
    by: Sequence[str] = ("trust_code",),
    comparators: Sequence[Comparator] = COMPARATORS,
) -> pd.DataFrame:
    """Raw numerators and denominators of each comparator per group (analyst level).

    Args:
        flags: Output of :func:`comparator_flags`.
        by: Grouping columns, e.g. ``["trust_code", "age_band"]``; empty for everyone.
        comparators: Which comparators.

    Returns:
        Long table: the ``by`` columns, ``comparator, label, denominator_label, numerator,
        denominator, percent`` (raw, unrounded), plus one ``mean_medicines`` row per group with
        ``numerator`` = total medicines, ``denominator`` = patients, ``percent`` NaN and ``mean``.
        Not for leads: pass it through :mod:`medlib.polypharmacy.report` first.
    """
    by = list(by)
    missing = [c for c in by if c not in flags.columns]
    if missing:
        raise InputError(f"cannot group comparators by {missing}; flags have {list(flags.columns)}")
    groups = flags.groupby(by, observed=True, sort=True) if by else [((), flags)]
    rows = []
    for key, frame in groups:
        key = key if isinstance(key, tuple) else (key,)
        base = dict(zip(by, key, strict=True))
        for comp in comparators:
            den = comp.denominator(frame)
            num = comp.numerator(frame) & den
            rows.append(
                {
                    **base,
                    "comparator": comp.key,
                    "label": comp.label,
                    "denominator_label": comp.denominator_label,
                    "numerator": int(num.sum()),
                    "denominator": int(den.sum()),
                }
            )
        rows.append(
            {
                **base,
                "comparator": "mean_medicines",
                "label": "mean unique medicines per patient",
                "denominator_label": "all patients",
                "numerator": int(frame["n_medicines"].sum()),
                "denominator": len(frame),
            }
        )
    out = pd.DataFrame(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = out["numerator"] / out["denominator"].where(out["denominator"] > 0)
    is_mean = out["comparator"] == "mean_medicines"
    out["percent"] = (100 * ratio).where(~is_mean)
    out["mean"] = ratio.where(is_mean)
    return out


def monthly_comparators(
    tables: PatientTables,
    first_month: object,
    last_month: object,
    by: Sequence[str] = ("trust_code",),
    acb_scale: acb.ScaleLike = None,
) -> pd.DataFrame:
    """:func:`comparator_summary` for each calendar month (patient-month version).

    Returns:
        The summary with a ``month`` column (first day of the month) in front.
    """
    first, last = parse_month(first_month, "first_month"), parse_month(last_month, "last_month")
    if first > last:
        raise InputError(f"first_month {first.date()} is after last_month {last.date()}")
    months = pd.date_range(first, last, freq="MS")
    frames = []
    for month in months:
        summary = comparator_summary(comparator_flags(tables, month_window(month), acb_scale), by)
        frames.append(summary.assign(month=month))
    out = pd.concat(frames, ignore_index=True)
    return out[["month", *[c for c in out.columns if c != "month"]]]
