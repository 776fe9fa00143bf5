"""Which products a measure counts, and how many defined daily doses (DDDs) one unit holds.

Two jobs, both on the products reference (thousands of rows, never the usage rows):

* **Selection.** :func:`select` turns a :class:`~medlib.measures.definitions.ProductSelection`
  into a mask over a products table with the columns of :data:`PRODUCT_COLUMNS`.
  :func:`measure_products` builds that table from the bundled (or a store's) products joined
  to the bundled antibacterial reference, which adds the WHO AWaRe group and DDDs per unit.
* **DDDs per unit.** SCMD counts quantity in the product's dm+d unit: one tablet, capsule,
  sachet or vial of powder, or one millilitre of a liquid (oral liquids, and solutions in
  ampoules, vials, bags or syringes, whose dm+d unit dose form size is in ml: the bundled
  lithium extract records its 10 ml ampoules in ``ML``). :func:`parse_strength` reads the
  strength from the VMP name and :func:`ddd_per_unit` divides the amount in one such unit by
  the WHO DDD, converted to the DDD's unit. For a combination the WHO DDD refers to one
  ingredient, to the total, or to unit doses (:data:`COMBINATION_DDD_BASIS`); a combination
  without a rule, a strength given as a percentage, or a form whose SCMD unit is not known gets
  no DDD and a reason, never a guess.

Example:
    >>> ddd_per_unit("Amoxicillin 500mg capsules", "J01CA04", 1.5, "g").value
    0.3333333333333333
    >>> vial = ddd_per_unit("Ceftriaxone 1g powder for solution for injection vials",
    ...                     "J01DD04", 2, "g")
    >>> vial.value, vial.scmd_unit, vial.note
    (0.5, 'vial', '1 g per vial / DDD 2 g')
    >>> ddd_per_unit("Amoxicillin 250mg/5ml oral suspension", "J01CA04", 1.5, "g").note
    '0.05 g per ml / DDD 1.5 g'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from medlib.errors import InputError
from medlib.measures.definitions import ProductSelection
from medlib.paths import REFERENCE_DIR
from medlib.validation import require_columns

__all__ = [
    "ANTIBACTERIAL_REFERENCE",
    "COMBINATION_DDD_BASIS",
    "DDD_UNIT_CODES",
    "PRODUCT_COLUMNS",
    "CombinationDdd",
    "DddPerUnit",
    "Strength",
    "antibacterial_reference",
    "build_antibacterial_reference",
    "ddd_per_unit",
    "derive_ddd_columns",
    "measure_products",
    "parse_strength",
    "select",
]

#: The bundled antibacterial reference: route, WHO AWaRe group, WHO DDD and DDDs per unit.
ANTIBACTERIAL_REFERENCE = REFERENCE_DIR / "antibacterial_ddd.csv"

#: Columns of the products table that selections and measures read.
PRODUCT_COLUMNS = [
    "vmp_code",
    "vmp_name",
    "vtm_name",
    "atc_code",
    "route",
    "form",
    "aware_category",
    "ddd_per_unit",
    "ddd_note",
]

#: dm+d UNIT_OF_MEASURE codes of WHO DDDs (dm+d lookup tables, April 2019).
DDD_UNIT_CODES = {"258682000": "g", "258684004": "mg", "408165007": "MU"}


@dataclass(frozen=True)
class CombinationDdd:
    """What the WHO DDD of a combination product counts.

    Attributes:
        counts: ``"ingredient"`` (one ingredient's amount), ``"total"`` (all ingredients
            together) or ``"unit_dose"`` (unit doses of one ingredient's stated size).
        ingredient: Which strength in the VMP name, from 0, for ``ingredient`` and
            ``unit_dose``.
        unit_dose: ``(amount, unit)`` of that ingredient in one unit dose.
        unit_doses_per_ddd: The DDD in unit doses.
        oral_only: The DDD is given for oral forms only (not for injections or infusions).
    """

    counts: str
    ingredient: int = 0
    unit_dose: tuple[float, str] | None = None
    unit_doses_per_ddd: float | None = None
    oral_only: bool = False


#: What the WHO DDD counts for the combinations in the bundled data, by ATC code (WHO ATC/DDD
#: Index): the DDDs of J01CR02, J01CR05 and J01DH51 refer to amoxicillin, piperacillin and
#: imipenem, which dm+d names first (co-amoxiclav as amoxicillin/clavulanic acid); the 1.5 g of
#: quinupristin/dalfopristin is the two together; sulfamethoxazole/trimethoprim is given in the
#: WHO list of DDDs for combined products as 4 unit doses (UD) of one 400 mg/80 mg tablet
#: (1.92 g of the two together), counted here by the trimethoprim dm+d names first
#: (co-trimoxazole 80mg/400mg); that list gives it for oral forms, so infusions get none. A
#: combination not listed gets no DDD.
COMBINATION_DDD_BASIS: Mapping[str, CombinationDdd] = {
    "J01CR02": CombinationDdd("ingredient", 0),
    "J01CR05": CombinationDdd("ingredient", 0),
    "J01DH51": CombinationDdd("ingredient", 0),
    "J01FG02": CombinationDdd("total"),
    "J01EE01": CombinationDdd("unit_dose", 0, (80.0, "mg"), 4.0, oral_only=True),
}

# Amounts in a common base per kind, so mg, g and micrograms (or units and million units)
# compare. "UD" (unit doses) is its own kind.
_BASE = {
    "g": ("mass", 1.0),
    "mg": ("mass", 1e-3),
    "microgram": ("mass", 1e-6),
    "nanogram": ("mass", 1e-9),
    "MU": ("units", 1e6),
    "unit": ("units", 1.0),
    "mmol": ("amount", 1.0),
    "UD": ("unit_dose", 1.0),
}
_UNIT_WORDS = [
    (r"million\s*units?|mega\s*u(?:nits?)?", "MU"),
    (r"micrograms?|mcg", "microgram"),
    (r"nanograms?", "nanogram"),
    (r"mg", "mg"),
    (r"g(?:rams?)?", "g"),
    (r"units?", "unit"),
    (r"mmol", "mmol"),
    (r"ml", "ml"),
    (r"%", "%"),
]
_UNIT = "|".join(f"(?:{w})" for w, _ in _UNIT_WORDS)
_NUMBER = r"\d+(?:,\d{3})*(?:\.\d+)?"
# One strength run, e.g. "500mg", "1.2g", "500,000unit", "125mg/31mg/5ml", "40mg/ml".
_RUN = re.compile(
    rf"(?<![\w.])({_NUMBER})\s?({_UNIT})((?:\s?/\s?(?:{_NUMBER})?\s?(?:{_UNIT}))*)(?![a-z])",
    re.IGNORECASE,
)
_PART = re.compile(rf"({_NUMBER})?\s?({_UNIT})$", re.IGNORECASE)

_PARENTERAL = re.compile(r"\b(?:injection|infusion)\b", re.IGNORECASE)

# The SCMD unit of a product counted per piece, from words of its dm+d name (checked in order).
_PIECES = [
    (r"\bvials?\b", "vial"),
    (r"\bampoules?\b", "ampoule"),
    (r"\bsachets?\b", "sachet"),
    (r"\bsuppositor(?:y|ies)\b", "suppository"),
    (r"\bpessar(?:y|ies)\b", "pessary"),
    (r"\bcapsules?\b", "capsule"),
    (r"\btablets?\b", "tablet"),
    (r"\blozenges?\b", "lozenge"),
    (r"\bpastilles?\b", "pastille"),
    (r"\bpre-filled syringes?\b", "pre-filled syringe"),
]


@dataclass(frozen=True)
class Strength:
    """The strength stated in a VMP name.

    Attributes:
        amounts: ``(amount, unit)`` of each ingredient in the order the name gives them, with
            units normalised (``mg``, ``g``, ``microgram``, ``unit``, ``MU``, ``mmol``, ``%``).
        per_ml: The volume in ml the amounts are in (``250mg/5ml`` -> 5.0), or None when the
            amounts are per piece (tablet, vial).
    """

    amounts: tuple[tuple[float, str], ...]
    per_ml: float | None


@dataclass(frozen=True)
class DddPerUnit:
    """DDDs in one SCMD unit of a product, or why there are none.

    Attributes:
        value: DDDs per unit, or None.
        amount_per_unit: Amount of the DDD's substance in one unit, in ``amount_unit``.
        amount_unit: The DDD's unit (``g``, ``mg``, ``MU``, ``mmol``, ``UD``).
        scmd_unit: What one unit is (``tablet``, ``vial``, ``ml``), as assumed from the name.
        note: The arithmetic (``"0.5 g per capsule / DDD 1.5 g"``) or the reason for no value.
    """

    value: float | None
    amount_per_unit: float | None
    amount_unit: str | None
    scmd_unit: str | None
    note: str


def parse_strength(name: str) -> Strength | None:
    """The strength in a dm+d VMP name, or None when the name states none.

    Ingredients written ``"Piperacillin 4g / Tazobactam 500mg"`` and strengths written
    ``"500mg/125mg"`` both give two amounts; a trailing ``/5ml`` (or ``/ml``) is the volume.

    Examples:
        >>> parse_strength("Co-amoxiclav 125mg/31mg/5ml oral suspension")
        Strength(amounts=((125.0, 'mg'), (31.0, 'mg')), per_ml=5.0)
        >>> name = "Piperacillin 4g / Tazobactam 500mg powder for solution for infusion vials"
        >>> parse_strength(name)
        Strength(amounts=((4.0, 'g'), (500.0, 'mg')), per_ml=None)
        >>> parse_strength("Colistimethate 1million unit powder for solution for injection vials")
        Strength(amounts=((1.0, 'MU'),), per_ml=None)
        >>> parse_strength("Generic Rifater tablets") is None
        True
    """
    if not isinstance(name, str):
        return None
    components = name.split(" / ")
    amounts: list[tuple[float, str]] = []
    per_ml: float | None = None
    for component in components:
        run = _RUN.search(component)
        if run is None:
            continue
        parts = [run.group(1) + run.group(2)]
        parts += [p for p in re.split(r"\s?/\s?", run.group(3)) if p]
        for part in parts:
            match = _PART.match(part.strip())
            if match is None:  # pragma: no cover - the run's pattern admits only such parts
                return None
            number = float(match.group(1).replace(",", "")) if match.group(1) else 1.0
            unit = _unit(match.group(2))
            if unit == "ml":
                per_ml = number
            else:
                amounts.append((number, unit))
    if not amounts:
        return None
    return Strength(tuple(amounts), per_ml)


def _unit(word: str) -> str:
    for pattern, unit in _UNIT_WORDS:
        if re.fullmatch(pattern, word, re.IGNORECASE):
            return unit
    raise ValueError(word)  # pragma: no cover - _UNIT lists exactly these words


def _scmd_unit(name: str, strength: Strength) -> str | None:
    if strength.per_ml is not None:
        return "ml"
    for pattern, unit in _PIECES:
        if re.search(pattern, name, re.IGNORECASE):
            return unit
    return None


def ddd_per_unit(
    name: str, atc_code: str | None, ddd: float | None, ddd_unit: str | None
) -> DddPerUnit:
    """DDDs in one SCMD unit of the product named ``name``.

    Args:
        name: The dm+d VMP name, e.g. ``"Amoxicillin 500mg capsules"``.
        atc_code: Its ATC code (picks the rule for combinations, :data:`COMBINATION_DDD_BASIS`).
        ddd: The WHO DDD, in ``ddd_unit``; None or NaN when WHO gives none.
        ddd_unit: ``g``, ``mg``, ``MU`` or ``mmol``.

    Returns:
        The value with its arithmetic, or None with the reason.

    Examples:
        >>> ddd_per_unit("Co-amoxiclav 500mg/100mg powder for solution for injection vials",
        ...              "J01CR02", 3, "g").note
        '0.5 g per vial / DDD 3 g'
        >>> ddd_per_unit("Co-trimoxazole 160mg/800mg tablets", "J01EE01", None, None).note
        '2 UD per tablet / DDD 4 UD (1 UD = 80 mg of the first ingredient)'
        >>> ddd_per_unit("Fusidic acid 2% cream", "D06AX01", None, None).note
        'no WHO DDD for this product'
    """
    atc = atc_code if isinstance(atc_code, str) and atc_code else None
    strength = parse_strength(name)
    rule = COMBINATION_DDD_BASIS.get(atc) if atc else None
    if rule is not None and rule.oral_only and _PARENTERAL.search(name or ""):
        return DddPerUnit(
            None, None, None, None, "the WHO DDD of this combination is for oral forms"
        )
    if rule is not None and rule.counts == "unit_dose":
        ddd, ddd_unit = rule.unit_doses_per_ddd, "UD"
    if ddd is None or np.isnan(ddd) or not ddd_unit:
        return DddPerUnit(None, None, None, None, "no WHO DDD for this product")
    ddd = float(ddd)
    if ddd_unit not in _BASE:
        return DddPerUnit(None, None, None, None, f"DDD unit {ddd_unit!r} is not one known here")
    if strength is None:
        return DddPerUnit(None, None, None, None, "no strength in the product name")
    if any(unit == "%" for _, unit in strength.amounts):
        return DddPerUnit(
            None, None, None, None, "strength given as a percentage: SCMD unit not known"
        )
    scmd_unit = _scmd_unit(name, strength)
    if scmd_unit is None:
        return DddPerUnit(None, None, None, None, "SCMD unit of this form not known")
    if len(strength.amounts) > 1 and rule is None:
        return DddPerUnit(
            None,
            None,
            None,
            scmd_unit,
            f"combination product: no rule for which ingredient the DDD of {atc or 'its ATC'} "
            "refers to",
        )
    amount, problem = _counted_amount(strength, rule, ddd_unit)
    if amount is None:
        return DddPerUnit(None, None, None, scmd_unit, problem)
    if strength.per_ml is not None:
        amount = amount / strength.per_ml
    note = f"{_number(amount)} {ddd_unit} per {scmd_unit} / DDD {_number(ddd)} {ddd_unit}"
    if rule is not None and rule.unit_dose is not None:
        size, unit = rule.unit_dose
        note += f" (1 UD = {_number(size)} {unit} of the first ingredient)"
    return DddPerUnit(amount / ddd, amount, ddd_unit, scmd_unit, note)


def _counted_amount(
    strength: Strength, rule: CombinationDdd | None, ddd_unit: str
) -> tuple[float | None, str]:
    """The amount the DDD counts in the strength's quantity (in ``ddd_unit``), or a problem."""
    if rule is not None and rule.counts == "total":
        parts = [_convert(a, u, ddd_unit) for a, u in strength.amounts]
        if any(p is None for p in parts):
            return None, f"strength units do not convert to {ddd_unit}"
        return float(sum(p for p in parts if p is not None)), ""
    index = rule.ingredient if rule is not None else 0
    amount, unit = strength.amounts[index]
    if rule is not None and rule.unit_dose is not None:
        size, size_unit = rule.unit_dose
        converted = _convert(amount, unit, size_unit)
        if converted is None:
            return None, f"strength unit {unit} does not convert to {size_unit}"
        return converted / size, ""
    converted = _convert(amount, unit, ddd_unit)
    if converted is None:
        return None, f"strength unit {unit} does not convert to the DDD unit {ddd_unit}"
    return converted, ""


def _convert(amount: float, unit: str, to: str) -> float | None:
    if unit not in _BASE or to not in _BASE or _BASE[unit][0] != _BASE[to][0]:
        return None
    return amount * _BASE[unit][1] / _BASE[to][1]


def _number(x: float) -> str:
    """A number as people write it: up to 6 significant figures, no trailing zeros."""
    return f"{x:.6g}"


# --- the bundled antibacterial reference ----------------------------------------------------

#: Columns of :data:`ANTIBACTERIAL_REFERENCE` that come from the sources (the rest are derived).
_SOURCE_COLUMNS = [
    "vmp_code",
    "vmp_name",
    "atc_code",
    "route",
    "aware_category",
    "ddd",
    "ddd_unit",
    "ddd_source",
]
_DERIVED_COLUMNS = ["amount_per_unit", "amount_unit", "scmd_unit", "ddd_per_unit", "ddd_note"]


def derive_ddd_columns(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the DDD-per-unit columns derived from each row's name, ATC and DDD.

    Args:
        table: Columns ``vmp_name, atc_code, ddd, ddd_unit`` (others are kept).

    Returns:
        ``table`` plus ``amount_per_unit, amount_unit, scmd_unit, ddd_per_unit, ddd_note``.
        A combination measured in unit doses gets ``ddd`` 4 and ``ddd_unit`` ``UD``.
    """
    require_columns(table, ["vmp_name", "atc_code", "ddd", "ddd_unit"], "products")
    out = table.copy()
    results = [
        ddd_per_unit(name, atc, _float(ddd), unit if isinstance(unit, str) else None)
        for name, atc, ddd, unit in zip(
            out["vmp_name"], out["atc_code"], out["ddd"], out["ddd_unit"], strict=True
        )
    ]
    out["amount_per_unit"] = [r.amount_per_unit for r in results]
    out["amount_unit"] = [r.amount_unit for r in results]
    out["scmd_unit"] = [r.scmd_unit for r in results]
    out["ddd_per_unit"] = pd.array([r.value for r in results], dtype="Float64").astype(float)
    out["ddd_note"] = [r.note for r in results]
    unit_dose = out["amount_unit"].eq("UD")
    out.loc[unit_dose, "ddd"] = [
        COMBINATION_DDD_BASIS[a].unit_doses_per_ddd for a in out.loc[unit_dose, "atc_code"]
    ]
    out.loc[unit_dose, "ddd_unit"] = "UD"
    return out


def _float(value: object) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number


def build_antibacterial_reference(codelist: pd.DataFrame, supplement: pd.DataFrame) -> pd.DataFrame:
    """The antibacterial reference table from its two published sources.

    Args:
        codelist: The antibacterial code list of ``ebmdatalab/open-nhs-hospital-use-data``
            (``data/antibac_codelist.csv``: ``id, nm, ddd, ddd_uomcd, category, Route``; one
            row per VMP and ingredient).
        supplement: The dm+d supplementary BNF/ATC/DDD file (``VPID, ATC, DDD, DDD_UOMCD``).

    Returns:
        One row per VMP: ``vmp_code, vmp_name, atc_code, route, aware_category, ddd,
        ddd_unit, ddd_source`` and the derived columns of :func:`derive_ddd_columns`, sorted
        by name. The code list's ``"Uncategorised"`` becomes a missing AWaRe group.

    Raises:
        InputError: A VMP's rows disagree on its name, route, group or DDD.
    """
    require_columns(codelist, ["id", "nm", "ddd", "ddd_uomcd", "category", "Route"], "codelist")
    require_columns(supplement, ["VPID", "ATC", "DDD", "DDD_UOMCD"], "DDD supplement")
    rows = codelist[["id", "nm", "ddd", "ddd_uomcd", "category", "Route"]].drop_duplicates()
    clash = rows["id"].duplicated(keep=False)
    if clash.any():
        raise InputError(
            f"the code list describes {rows.loc[clash, 'id'].nunique()} VMP(s) in more than one "
            f"way, e.g. {rows.loc[clash, 'id'].iloc[0]}"
        )
    ddd = pd.to_numeric(rows["ddd"], errors="coerce")
    # The code list writes a missing DDD as the smallest 64-bit integer.
    ddd = ddd.where(ddd > 0)
    sup = supplement.drop_duplicates("VPID")
    sup = sup.set_index(sup["VPID"].astype(str).str.strip())
    codes = rows["id"].astype(str).str.strip()
    sup_ddd = pd.to_numeric(codes.map(sup["DDD"]), errors="coerce")
    ddd_unit = rows["ddd_uomcd"].map(_uom_code).map(DDD_UNIT_CODES)
    sup_unit = codes.map(sup["DDD_UOMCD"]).map(_uom_code).map(DDD_UNIT_CODES)
    use_sup = ddd.isna() & sup_ddd.notna()
    out = pd.DataFrame(
        {
            "vmp_code": codes.to_numpy(),
            "vmp_name": rows["nm"].to_numpy(),
            "atc_code": codes.map(sup["ATC"]).where(lambda s: s.notna() & s.ne(""), None),
            "route": rows["Route"].to_numpy(),
            "aware_category": rows["category"].where(rows["category"].ne("Uncategorised"), None),
            "ddd": ddd.where(~use_sup, sup_ddd).to_numpy(),
            "ddd_unit": ddd_unit.where(~use_sup, sup_unit).to_numpy(),
        }
    )
    # A VMP whose code the supplement does not hold is usually an older or newer code of a
    # product listed under another code with the same name: it takes that product's ATC code.
    by_name = (
        out.dropna(subset=["atc_code"])
        .groupby("vmp_name")["atc_code"]
        .agg(lambda s: s.iloc[0] if s.nunique() == 1 else None)
    )
    out["atc_code"] = out["atc_code"].where(out["atc_code"].notna(), out["vmp_name"].map(by_name))
    out["ddd_source"] = np.select(
        [use_sup.to_numpy(), out["ddd"].notna().to_numpy()],
        ["dm+d DDD supplement, week 49 2021", "code list (WHO DDD from the dm+d supplement)"],
        default="",
    )
    out["ddd_source"] = out["ddd_source"].where(out["ddd_source"] != "", None)
    out = out.astype({"atc_code": object, "aware_category": object, "ddd_source": object})
    out = derive_ddd_columns(out)
    combined = out["ddd_unit"].eq("UD")
    out.loc[combined, "ddd_source"] = "WHO DDDs for combined products (unit doses)"
    out = out[[*_SOURCE_COLUMNS, *_DERIVED_COLUMNS]]
    return out.sort_values(["vmp_name", "vmp_code"], kind="mergesort").reset_index(drop=True)


def _uom_code(value: object) -> str | None:
    number = _float(value)
    return None if number is None else str(int(number))


@cache
def _antibacterial_reference() -> pd.DataFrame:
    return pd.read_csv(
        ANTIBACTERIAL_REFERENCE,
        dtype={
            "vmp_code": str,
            "vmp_name": str,
            "atc_code": str,
            "route": str,
            "aware_category": str,
            "ddd_unit": str,
            "ddd_source": str,
            "amount_unit": str,
            "scmd_unit": str,
            "ddd_note": str,
        },
        keep_default_na=False,
        na_values={
            c: [""]
            for c in [
                "atc_code",
                "aware_category",
                "ddd",
                "ddd_unit",
                "ddd_source",
                "amount_per_unit",
                "amount_unit",
                "scmd_unit",
                "ddd_per_unit",
            ]
        },
    )


def antibacterial_reference() -> pd.DataFrame:
    """The bundled antibacterial reference (a fresh copy): see ``medlib/reference/README.md``.

    Example:
        >>> ref = antibacterial_reference()
        >>> row = ref[ref["vmp_name"] == "Ceftriaxone 1g powder for solution for injection vials"]
        >>> row[["aware_category", "ddd", "ddd_unit", "ddd_per_unit"]].to_numpy().tolist()
        [['Watch', 2.0, 'g', 0.5]]
    """
    return _antibacterial_reference().copy()


# --- the products table measures select from -------------------------------------------------


def measure_products(
    products: pd.DataFrame | None = None, antibacterials: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The products table measures select from: dm+d attributes, AWaRe group, DDDs per unit.

    Args:
        products: A products reference (``vmp_code, vmp_name, vtm_name, atc_code, route,
            form, ddd_per_unit``); None uses the bundled one.
        antibacterials: The antibacterial reference; None uses the bundled one.

    Returns:
        The columns of :data:`PRODUCT_COLUMNS`, one row per product of either table. Attributes
        come from ``products`` where it has them and from the antibacterial reference
        otherwise; a DDD per unit in ``products`` (e.g. the lithium overrides) wins over a
        derived one. ``ddd_note`` says how the DDD per unit was found, or why there is none.
    """
    if products is None:
        from medlib.io.datasets import load_dataset

        products = load_dataset("products")
    if antibacterials is None:
        antibacterials = antibacterial_reference()
    need = ["vmp_code", "vmp_name", "vtm_name", "atc_code", "route", "ddd_per_unit"]
    require_columns(products, need, "products")
    base = products[need].copy()
    base["form"] = products["form"] if "form" in products else None
    base["vmp_code"] = base["vmp_code"].astype(str).str.strip()
    base["ddd_note"] = np.where(
        base["ddd_per_unit"].notna(), "DDD per unit from the products table", None
    )
    abx = antibacterials[
        ["vmp_code", "vmp_name", "atc_code", "route", "aware_category", "ddd_per_unit", "ddd_note"]
    ].copy()
    abx["vmp_code"] = abx["vmp_code"].astype(str).str.strip()
    merged = base.merge(abx, on="vmp_code", how="outer", suffixes=("", "_abx"))
    for column in ("vmp_name", "atc_code", "route", "ddd_per_unit", "ddd_note"):
        merged[column] = merged[column].where(merged[column].notna(), merged[f"{column}_abx"])
    merged["ddd_note"] = merged["ddd_note"].fillna("no DDD per unit known for this product")
    out = merged[PRODUCT_COLUMNS].copy()
    for column in PRODUCT_COLUMNS:
        if column != "ddd_per_unit":
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    out["ddd_per_unit"] = out["ddd_per_unit"].astype(float)
    return out.sort_values("vmp_code", kind="mergesort").reset_index(drop=True)


def select(products: pd.DataFrame, selection: ProductSelection) -> pd.Series:
    """Which rows of ``products`` a :class:`~medlib.measures.definitions.ProductSelection` picks.

    Each key given must match (keys combine with AND); within a key, any listed value matches.
    ``any_of`` holds alternatives of which at least one must match, and products matching
    ``exclude`` are left out. Text compares without regard to case; a ``vtm`` value also
    matches the name followed by a salt (``metronidazole`` matches ``Metronidazole benzoate``);
    ``atc_prefix`` matches the start of the ATC code; ``name_pattern`` is a regular expression
    searched in the VMP name. A missing attribute matches nothing.

    Args:
        products: The columns of :data:`PRODUCT_COLUMNS` (from :func:`measure_products`).
        selection: A ``ProductSelection``.

    Returns:
        A boolean Series aligned with ``products``.

    Example:
        >>> from medlib.measures.definitions import ProductSelection
        >>> table = pd.DataFrame({"vmp_code": ["1", "2", "3"],
        ...     "vmp_name": ["Amoxicillin 500mg capsules", "Amoxicillin 1g vials", "Lithium"],
        ...     "vtm_name": ["Amoxicillin", "Amoxicillin sodium", "Lithium carbonate"],
        ...     "atc_code": ["J01CA04", "J01CA04", "N05AN01"],
        ...     "route": ["Oral", "Injectable", "Oral"], "form": [None] * 3,
        ...     "aware_category": ["Access", "Access", None]})
        >>> select(table, ProductSelection(atc_prefix=("J01",), route=("oral",))).tolist()
        [True, False, False]
        >>> select(table, ProductSelection(vtm=("amoxicillin",))).tolist()
        [True, True, False]
    """
    mask = pd.Series(True, index=products.index)
    text = {
        "route": "route",
        "form": "form",
        "aware": "aware_category",
    }
    if selection.vmp_codes:
        mask &= products["vmp_code"].astype(str).isin(selection.vmp_codes)
    if selection.vtm:
        mask &= _vtm_matches(products["vtm_name"], selection.vtm)
    if selection.atc_prefix:
        atc = products["atc_code"].astype(object).where(products["atc_code"].notna(), "")
        prefixes = tuple(p.upper() for p in selection.atc_prefix)
        mask &= atc.astype(str).str.upper().str.startswith(prefixes)
    for key, column in text.items():
        values = getattr(selection, key)
        if values:
            mask &= _text_in(products[column], values)
    if selection.name_pattern:
        pattern = re.compile(selection.name_pattern, re.IGNORECASE)
        mask &= products["vmp_name"].map(lambda v: isinstance(v, str) and bool(pattern.search(v)))
    if selection.any_of:
        either = pd.Series(False, index=products.index)
        for alternative in selection.any_of:
            either |= select(products, alternative)
        mask &= either
    if selection.exclude is not None:
        mask &= ~select(products, selection.exclude)
    return mask.astype(bool)


def _text_in(column: pd.Series, values: tuple[str, ...]) -> pd.Series:
    wanted = {v.casefold() for v in values}
    return column.map(lambda v: isinstance(v, str) and v.casefold() in wanted)


def _vtm_matches(names: pd.Series, wanted: tuple[str, ...]) -> pd.Series:
    keys = [w.casefold() for w in wanted]

    def hit(name: object) -> bool:
        if not isinstance(name, str):
            return False
        low = name.casefold()
        return any(low == k or low.startswith(k + " ") for k in keys)

    return names.map(hit)
