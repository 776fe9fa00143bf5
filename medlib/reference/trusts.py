"""NHS trusts, resolved once: the reference table, merged trusts' successors, one lookup.

Everything that needs a trust goes through this module: :func:`normalise_code` is the one place
a code typed by a person (``" rtd "``) becomes an ODS code (``"RTD"``); :func:`trust` is the one
code-to-trust lookup, with a clear :class:`UnknownTrustError` (and a suggestion) for a code that
is not in the reference; :func:`trusts_table` is the bundled table itself.

A trust that merged into another stops reporting under its own code; to compare years, its
history is attributed to the successor. Chains (A merged into B, later B into C) are followed to
the end. The mapping is explicit: :func:`successor_map` shows every code that moves.

The table comes from ``medlib/data/trusts_region_icb_predecessors_oph.csv`` (OpenPrescribing
Hospitals' trust reference) with ICB codes from ``icb_names_codes_dec_2024.csv``; see
``medlib/data/PROVENANCE.md``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import pandas as pd

from medlib.errors import InputError, MedlibError
from medlib.paths import DATA_DIR

__all__ = [
    "Trust",
    "UnknownTrustError",
    "icb_members",
    "known_trust_codes",
    "map_to_successor",
    "nhs_name",
    "normalise_code",
    "normalise_codes",
    "successor_map",
    "trust",
    "trust_lineage",
    "trust_names",
    "trusts_table",
    "unknown_trust",
]

TRUST_COLUMNS = ["trust_code", "trust_name", "region", "icb_code", "icb_name", "successor_code"]
_ODS_TRUST = re.compile(r"^[A-Z0-9]{3,5}$")


class UnknownTrustError(MedlibError, ValueError):
    """A trust code that is not in the trusts reference."""


@dataclass(frozen=True)
class Trust:
    """One trust of the reference table.

    Attributes:
        code: ODS code, e.g. ``"RTD"``.
        name: Name as the reference gives it.
        region: NHS England region, or None.
        icb_code: Integrated care board ODS code (e.g. ``"QHM"``), or None.
        icb_name: Integrated care board name, or None.
        successor_code: The trust it finally merged into, or None if it still reports.
    """

    code: str
    name: str
    region: str | None
    icb_code: str | None
    icb_name: str | None
    successor_code: str | None


def normalise_code(value: object) -> str:
    """An organisation code as typed by a person, as the reference writes it.

    Example:
        >>> normalise_code(" rtd ")
        'RTD'
    """
    return str(value).strip().upper()


def normalise_codes(values: pd.Series) -> pd.Series:
    """:func:`normalise_code` for a column of codes (missing values stay missing).

    A column of millions of rows holds a few hundred distinct codes, so each distinct code is
    normalised once and the result looked up.
    """
    text = values.astype("string")
    lookup = {code: normalise_code(code) for code in text.dropna().unique()}
    return text.map(lookup, na_action="ignore").astype(
        values.dtype if values.dtype == object else "string"
    )


def trusts_table() -> pd.DataFrame:
    """The bundled trusts reference, one row per trust (a fresh copy).

    Columns: ``trust_code, trust_name, region, icb_code, icb_name, successor_code``.
    """
    return _trusts().copy()


def trust_lineage() -> pd.DataFrame:
    """Predecessor -> successor pairs of merged trusts (a fresh copy)."""
    return _lineage().copy()


def trust(code: object) -> Trust:
    """Look up one trust by ODS code (case and surrounding spaces ignored).

    Args:
        code: An ODS trust code such as ``"RTD"``.

    Returns:
        The trust's reference row.

    Raises:
        UnknownTrustError: The code is not in the reference; the message suggests the closest
            codes.

    Example:
        >>> trust("rtd").icb_code
        'QHM'
    """
    wanted = normalise_code(code)
    rows = _by_code()
    if wanted not in rows:
        raise unknown_trust(wanted, rows)
    return rows[wanted]


def unknown_trust(code: str, known: Iterable[str]) -> UnknownTrustError:
    """The error for a code that is not among ``known``, suggesting the closest codes."""
    close = difflib.get_close_matches(code, list(known), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
    return UnknownTrustError(
        f"{code!r} is not a trust in the bundled trusts reference{hint}; expected an ODS trust "
        "code such as 'RTD'"
    )


def icb_members(code: object) -> tuple[str, ...]:
    """The current trusts of an integrated care board, by its code; empty for any other code.

    Example:
        >>> icb_members("QHM")[:3]
        ('R0B', 'RNN', 'RR7')
    """
    wanted = normalise_code(code)
    if wanted in _by_code():
        return ()
    return tuple(
        sorted(
            t.code for t in _by_code().values() if t.icb_code == wanted and t.successor_code is None
        )
    )


def trust_names() -> dict[str, str]:
    """``{trust_code: trust_name}`` for every trust in the reference."""
    return {code: row.name for code, row in _by_code().items()}


@cache
def _by_code() -> dict[str, Trust]:
    table = _trusts()
    return {
        row.trust_code: Trust(
            code=row.trust_code,
            name=row.trust_name,
            region=_text(row.region),
            icb_code=_text(row.icb_code),
            icb_name=_text(row.icb_name),
            successor_code=_text(row.successor_code),
        )
        for row in table.itertuples(index=False)
    }


def _text(value: object) -> str | None:
    return None if value is None or (isinstance(value, float) and value != value) else str(value)


def _checked(trusts: pd.DataFrame) -> pd.DataFrame:
    """The trusts table's contract, checked without pandera (kept out of a report's start)."""
    bad = trusts.loc[~trusts["trust_code"].str.match(_ODS_TRUST), "trust_code"]
    repeated = trusts.loc[trusts["trust_code"].duplicated(), "trust_code"]
    if not bad.empty or not repeated.empty:
        raise MedlibError(
            "trusts reference: codes must be unique upper-case ODS codes; "
            f"malformed {sorted(bad)}, repeated {sorted(repeated)}"
        )
    return trusts[TRUST_COLUMNS]


#: Words NHS names write in lower case after the first word ("Newcastle upon Tyne", "North
#: East and Yorkshire"); the reference file title-cases every word.
_LOWER_CASE_WORDS = frozenset({"and", "upon", "on", "of", "the", "in", "with", "for", "at"})


def nhs_name(name: str) -> str:
    """A trust, ICB or region name with NHS capitalisation: joining words in lower case.

    The ODS publishes names such as "The Newcastle upon Tyne Hospitals NHS Foundation
    Trust"; the bundled reference title-cases every word, so names are put right here, once,
    for every page, table and workbook.

    Example:
        >>> nhs_name("The Newcastle Upon Tyne Hospitals NHS Foundation Trust")
        'The Newcastle upon Tyne Hospitals NHS Foundation Trust'
        >>> nhs_name("North East And Yorkshire"), nhs_name("Tees, Esk And Wear Valleys")
        ('North East and Yorkshire', 'Tees, Esk and Wear Valleys')
    """
    words = name.split(" ")
    return " ".join(
        w.lower() if i > 0 and w.lower() in _LOWER_CASE_WORDS else w for i, w in enumerate(words)
    )


def _raw_trusts() -> pd.DataFrame:
    return pd.read_csv(
        DATA_DIR / "trusts_region_icb_predecessors_oph.csv", dtype=str, keep_default_na=False
    )


def _split_codes(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


def _icb_key(name: str) -> str:
    text = name.lower().replace("&", "and")
    text = re.sub(r"\bintegrated care board\b", "", text)
    return re.sub(r"[^a-z]+", " ", text).strip()


@cache
def _lineage() -> pd.DataFrame:
    """Predecessor -> successor pairs from both directions of the reference, checked to agree."""
    raw = _raw_trusts()
    pairs: set[tuple[str, str]] = set()
    for _, row in raw.iterrows():
        for pred in _split_codes(row["Predecessors"]):
            pairs.add((pred, row["Trust Code"]))
        for succ in _split_codes(row["Successors"]):
            pairs.add((row["Trust Code"], succ))
    lineage = pd.DataFrame(sorted(pairs), columns=["predecessor_code", "successor_code"])
    clash = lineage[lineage.duplicated("predecessor_code", keep=False)]
    if not clash.empty:
        raise MedlibError(f"trust reference gives more than one successor for {clash.to_dict()}")
    return lineage


@cache
def _trusts() -> pd.DataFrame:
    raw = _raw_trusts()
    icbs = pd.read_csv(DATA_DIR / "icb_names_codes_dec_2024.csv", dtype=str)
    icb_codes = {_icb_key(n): c for n, c in zip(icbs["ICB24NM"], icbs["ICB24CDH"], strict=True)}
    successor = dict(zip(_lineage()["predecessor_code"], _lineage()["successor_code"], strict=True))
    trusts = pd.DataFrame(
        {
            "trust_code": raw["Trust Code"].str.strip(),
            "trust_name": raw["Trust Name"].str.strip().map(nhs_name),
            "region": raw["Region"].map(nhs_name).replace("", None),
            "icb_code": [icb_codes.get(_icb_key(n)) for n in raw["ICB"]],
            "icb_name": raw["ICB"].map(nhs_name).replace("", None),
        }
    )
    # Predecessors that closed before the reference was drawn keep a row so their history maps.
    trusts["successor_code"] = trusts["trust_code"].map(successor).astype(object)
    trusts["successor_code"] = trusts["successor_code"].where(
        trusts["successor_code"].notna(), None
    )
    return _checked(trusts.sort_values("trust_code").reset_index(drop=True))


def known_trust_codes() -> frozenset[str]:
    """ODS codes accepted in usage files: every trust in the reference and every predecessor."""
    return _known_trust_codes()


@cache
def _known_trust_codes() -> frozenset[str]:
    raw = _raw_trusts()
    codes = set(raw["Trust Code"].str.strip())
    for value in raw["Predecessors"]:
        codes.update(_split_codes(value))
    return frozenset(codes)


def successor_map(lineage: pd.DataFrame | None = None) -> dict[str, str]:
    """Every predecessor code mapped to its final successor.

    Args:
        lineage: Pairs ``predecessor_code, successor_code``; None uses the bundled reference.

    Returns:
        ``{predecessor: final_successor}``.

    Raises:
        InputError: The links contain a cycle.
    """
    if lineage is None:
        lineage = _lineage()
    direct = dict(zip(lineage["predecessor_code"], lineage["successor_code"], strict=True))
    final: dict[str, str] = {}
    for start in direct:
        seen = [start]
        code = direct[start]
        while code in direct:
            if code in seen:
                raise InputError(f"trust lineage has a cycle: {' -> '.join([*seen, code])}")
            seen.append(code)
            code = direct[code]
        final[start] = code
    return final


def map_to_successor(
    df: pd.DataFrame,
    column: str = "trust_code",
    lineage: pd.DataFrame | None = None,
    keep_original: bool = True,
) -> pd.DataFrame:
    """Return a copy of ``df`` with merged trusts' codes replaced by their successor's.

    Rows are not summed here: aggregate afterwards (two predecessors in the same month become
    two rows of the successor, which a group-by adds up).

    Args:
        df: Any table with a trust code column.
        column: The trust code column.
        lineage: Predecessor/successor pairs; None uses the bundled reference.
        keep_original: Keep the reported code in ``<column>_reported``.

    Returns:
        The mapped copy.
    """
    mapping = successor_map(lineage)
    out = df.copy()
    if keep_original:
        out[f"{column}_reported"] = out[column]
    out[column] = out[column].map(lambda c: mapping.get(c, c)).astype(df[column].dtype)
    return out
