"""Anticholinergic burden: a swappable scale and the per-patient score.

The bundled scale is ``medlib/reference/acb_scale.csv``, the Anticholinergic Cognitive Burden
(ACB) Scale, 2012 update, Aging Brain Care (Boustani et al. 2008; Campbell et al. 2009): every
molecule scores 1 (possible), 2 or 3 (definite anticholinergic effect). See
``medlib/reference/README.md`` for how its codes were derived.

A scale is any table with the columns ``molecule`` and ``score``, optionally with
``bnf_chemical_prefixes`` and ``dmd_vmp_codes`` (semicolon-separated lists) so that it joins to
the medications table by code. Pass a path or a DataFrame wherever a function takes ``scale`` to
use another one (e.g. the Anticholinergic Drug Scale).

A medication row is matched to a molecule, in this order:

1. by ``dmd_code`` in the molecule's ``dmd_vmp_codes``;
2. else by the longest of the molecule's ``bnf_chemical_prefixes`` that starts ``bnf_code``;
3. else by name: the molecule's name as a whole word in ``medicine_name`` (case-insensitive),
   but only when the row has no BNF code or the molecule has no BNF prefixes in the scale, so
   that a known BNF code rules out, say, hydrocortisone cream scoring as systemic
   hydrocortisone. Names can match several molecules (combination products).

A patient's total is the sum of the scores of the *distinct* molecules they take: two episodes
of amitriptyline count once.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pandas as pd

from medlib.errors import InputError
from medlib.paths import REFERENCE_DIR

__all__ = ["ScaleError", "ScaleLike", "load_scale", "match_medications", "patient_burden"]

ACB_SCALE_PATH = REFERENCE_DIR / "acb_scale.csv"
ACB_CITATION = (
    "Anticholinergic Cognitive Burden Scale, 2012 update, Aging Brain Care "
    "(Boustani et al. 2008; Campbell et al. 2009)"
)
#: Scores counted as "moderate or high" anticholinergic burden.
MODERATE_HIGH_MIN = 2

ScaleLike = str | Path | pd.DataFrame | None


class ScaleError(InputError):
    """An anticholinergic scale table that cannot be used."""


def _split(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return [part.strip() for part in str(value).split(";") if part.strip()]


@lru_cache(maxsize=4)
def _read_scale_file(path: str) -> pd.DataFrame:
    file = Path(path)
    if not file.exists():
        raise ScaleError(f"scale file {file} does not exist; pass a CSV path or a DataFrame")
    return pd.read_csv(file, dtype=str, keep_default_na=False)


def load_scale(scale: ScaleLike = None) -> pd.DataFrame:
    """Read and check an anticholinergic scale.

    Args:
        scale: A CSV path, a DataFrame, or None for the bundled ACB scale.

    Returns:
        ``molecule, score, bnf_chemical_prefixes, dmd_vmp_codes`` with ``score`` as int and
        the two code columns as lists of text codes.

    Raises:
        ScaleError: Missing columns, a molecule listed twice, a score that is not a positive
            whole number, or a dm+d code given to two molecules.
    """
    if scale is None or isinstance(scale, str | Path):
        raw = _read_scale_file(str(ACB_SCALE_PATH if scale is None else scale)).copy()
    elif isinstance(scale, pd.DataFrame):
        raw = scale.copy()
    else:
        raise ScaleError(f"scale must be a path or a DataFrame, got {type(scale).__name__}")
    missing = [c for c in ("molecule", "score") if c not in raw.columns]
    if missing:
        raise ScaleError(
            f"scale is missing column(s) {missing}; it needs molecule and score (optionally "
            "bnf_chemical_prefixes and dmd_vmp_codes)"
        )
    out = pd.DataFrame({"molecule": raw["molecule"].astype(str).str.strip()})
    scores = pd.to_numeric(raw["score"], errors="coerce")
    bad = out["molecule"][scores.isna() | (scores <= 0) | (scores % 1 != 0)]
    if len(bad):
        raise ScaleError(f"scale scores must be positive whole numbers; check {list(bad)[:5]}")
    out["score"] = scores.astype("int64")
    dupes = out["molecule"][out["molecule"].str.lower().duplicated()]
    if len(dupes):
        raise ScaleError(f"scale lists these molecules more than once: {sorted(set(dupes))}")
    for column in ("bnf_chemical_prefixes", "dmd_vmp_codes"):
        values = raw[column] if column in raw.columns else pd.Series([None] * len(raw))
        out[column] = [
            [code.upper() for code in _split(v)] if column.startswith("bnf") else _split(v)
            for v in values
        ]
    owners: dict[str, str] = {}
    for molecule, codes in zip(out["molecule"], out["dmd_vmp_codes"], strict=True):
        for code in codes:
            if code in owners and owners[code] != molecule:
                raise ScaleError(
                    f"dm+d code {code} is given to both {owners[code]} and {molecule} in the scale"
                )
            owners[code] = molecule
    return out.reset_index(drop=True)


def match_medications(medications: pd.DataFrame, scale: ScaleLike = None) -> pd.DataFrame:
    """Which scale molecule each medication row is, by code and then by name.

    Args:
        medications: Rows with ``dmd_code``, ``bnf_code`` and ``medicine_name`` (any others
            are kept).
        scale: See :func:`load_scale`.

    Returns:
        The matching rows only, with ``molecule``, ``score`` and ``matched_by`` (``"dm+d"``,
        ``"bnf"`` or ``"name"``) added. A combination product matched by name appears once per
        molecule.
    """
    table = load_scale(scale)
    meds = medications.reset_index(drop=True)
    for column in ("dmd_code", "bnf_code", "medicine_name"):
        if column not in meds.columns:
            raise InputError(f"medications need a {column} column to match a scale")
    pairs_dmd = zip(table["molecule"], table["dmd_vmp_codes"], strict=True)
    by_dmd = {code: mol for mol, codes in pairs_dmd for code in codes}
    pairs_bnf = list(zip(table["molecule"], table["bnf_chemical_prefixes"], strict=True))
    by_bnf = {prefix: mol for mol, codes in pairs_bnf for prefix in codes}
    molecule = meds["dmd_code"].map(by_dmd).astype(object)
    how = pd.Series("dm+d", index=meds.index, dtype=object).where(molecule.notna())
    bnf = meds["bnf_code"].astype(object).where(meds["bnf_code"].notna(), "")
    for length in sorted({len(p) for p in by_bnf}, reverse=True):
        todo = molecule.isna()
        hit = bnf[todo].str[:length].map(by_bnf)
        found = hit.dropna()
        molecule.loc[found.index] = found
        how.loc[found.index] = "bnf"
    matched = meds.assign(molecule=molecule, matched_by=how)[molecule.notna()]

    has_bnf_prefixes = {mol for mol, codes in pairs_bnf if codes}
    rest = meds[molecule.isna() & meds["medicine_name"].notna()]
    name_rows = []
    if len(rest):
        names = rest["medicine_name"].astype(str)
        no_bnf = rest["bnf_code"].isna()
        for mol in table["molecule"]:
            pattern = re.compile(rf"(?<![a-z]){re.escape(mol.lower())}(?![a-z])")
            allowed = no_bnf if mol in has_bnf_prefixes else pd.Series(True, index=rest.index)
            hits = names[allowed].str.lower().str.contains(pattern)
            if hits.any():
                name_rows.append(rest.loc[hits[hits].index].assign(molecule=mol, matched_by="name"))
    out = pd.concat([matched, *name_rows], ignore_index=True) if name_rows else matched
    scores = dict(zip(table["molecule"], table["score"], strict=True))
    out = out.assign(score=out["molecule"].map(scores).astype("int64"))
    return out.reset_index(drop=True)


def patient_burden(
    medications: pd.DataFrame,
    scale: ScaleLike = None,
    moderate_high_min: int = MODERATE_HIGH_MIN,
) -> pd.DataFrame:
    """Anticholinergic burden per patient from the medicines they take.

    Args:
        medications: The medication rows to score (already limited to what is current), with
            ``patient_id``.
        scale: See :func:`load_scale`.
        moderate_high_min: Lowest score counted as moderate/high (default 2).

    Returns:
        One row per patient with at least one scale medicine: ``patient_id``, ``acb_total``
        (sum of scores over distinct molecules), ``acb_medicines`` (distinct scale molecules)
        and ``acb_moderate_high`` (distinct molecules scoring ``moderate_high_min`` or more).

    Example:
        Amitriptyline (3) twice and oxybutynin (3) once give a total of 6 from 2 molecules.
    """
    matched = match_medications(medications, scale)
    distinct = matched.drop_duplicates(["patient_id", "molecule"])
    grouped = distinct.groupby("patient_id", sort=True)
    return (
        pd.DataFrame(
            {
                "acb_total": grouped["score"].sum(),
                "acb_medicines": grouped["molecule"].nunique(),
                "acb_moderate_high": grouped["score"].apply(
                    lambda s: int((s >= moderate_high_min).sum())
                ),
            }
        )
        .reset_index()
        .astype({"acb_total": "int64", "acb_medicines": "int64", "acb_moderate_high": "int64"})
    )
