"""The ``hcd_activity`` table: brand-level, pseudonymised high-cost drug activity.

One row per administration or supply: ``patient_id`` (pseudonym, text), ``trust_code`` (ODS),
``activity_date``, ``molecule`` (lower case), ``product`` (brand), ``indication``, ``quantity``
(price units, > 0) and ``cost_gbp`` (>= 0; missing when not known). SCMD cannot show brands;
switch tracking needs this table.

An optional ``eye`` column says which eye an intravitreal injection was given in (wet AMD
anti-VEGF treatment, :mod:`medlib.wet_amd`): ``left`` or ``right``, read from the spellings in
:data:`EYE_SPELLINGS` (``L``/``R``, ``LT``/``RT``, ``LE``/``RE``, ``OS``/``OD``, any case);
empty is missing. A table without the column reads exactly as before (the same columns, the
same duplicates); with it, the accepted rows carry ``eye`` as their last column and the eye is
part of what makes a row a duplicate, so an injection in each eye on the same day is two rows,
not one row sent twice.

:func:`validate_hcd_activity` checks a frame row by row and quarantines every bad row with the
column and the reason, in the same :class:`medlib.io.usage.LoadResult` form as the SCMD reader, so
``rows_read == rows_accepted + rows_quarantined`` always. :func:`read_hcd_activity` does the
same for a CSV or Parquet file. A table missing a required column is a clear
:class:`medlib.io.usage.UnusableFileError`; nothing is half-loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from medlib.io.usage import (
    QUARANTINE_COLUMNS,
    LoadResult,
    LoadSummary,
    UnusableFileError,
    as_text,
    out_of_range_reason,
    parse_numbers,
    read_text_table,
    reason_counts,
    year_out_of_range,
)

__all__ = [
    "EYE_COLUMN",
    "EYE_SPELLINGS",
    "EYES",
    "HCD_COLUMNS",
    "empty_hcd_activity",
    "read_hcd_activity",
    "validate_hcd_activity",
]

HCD_COLUMNS = [
    "patient_id",
    "trust_code",
    "activity_date",
    "molecule",
    "product",
    "indication",
    "quantity",
    "cost_gbp",
]
OPTIONAL_COLUMNS = {"indication", "cost_gbp"}
#: The optional column naming the eye treated; not one of :data:`HCD_COLUMNS`.
EYE_COLUMN = "eye"
EYES = ("left", "right")
#: How extracts write the eye (compared in lower case after trimming): the words, their
#: initials, the ``LT``/``RT`` and ``LE``/``RE`` abbreviations, and the Latin ``OS`` (oculus
#: sinister) and ``OD`` (oculus dexter) of ophthalmic records.
EYE_SPELLINGS = {
    **dict.fromkeys(("left", "l", "lt", "le", "os", "left eye"), "left"),
    **dict.fromkeys(("right", "r", "rt", "re", "od", "right eye"), "right"),
}
#: Spellings of both eyes: one row cannot be two injections, so such a row is quarantined.
BOTH_EYES = frozenset({"both", "b", "both eyes", "bilateral", "ou"})
ODS_PATTERN = r"^[A-Z0-9]{3,5}$"
#: A trailing UTC offset or "Z" on a timestamp (the local date is kept).
_TIMEZONE = r"(?:[Zz]|[+-][0-9]{2}:?[0-9]{2})$"

HCD_ACTIVITY_SCHEMA = pa.DataFrameSchema(
    {
        "patient_id": pa.Column(str, pa.Check.str_length(min_value=1)),
        "trust_code": pa.Column(str, pa.Check.str_matches(ODS_PATTERN)),
        "activity_date": pa.Column("datetime64[ns]"),
        "molecule": pa.Column(
            str, pa.Check(lambda s: (s == s.str.lower()).all(), error="molecule is lower case")
        ),
        "product": pa.Column(str, pa.Check.str_length(min_value=1)),
        "indication": pa.Column(str, nullable=True),
        "quantity": pa.Column(float, pa.Check.gt(0)),
        "cost_gbp": pa.Column(float, pa.Check.ge(0), nullable=True),
    },
    strict=True,
    ordered=True,
    coerce=True,
    name="hcd_activity",
)
#: The canonical table with the optional ``eye`` column last.
HCD_ACTIVITY_EYE_SCHEMA = HCD_ACTIVITY_SCHEMA.add_columns(
    {EYE_COLUMN: pa.Column(str, pa.Check.isin(EYES), nullable=True)}
)


def empty_hcd_activity() -> pd.DataFrame:
    """An empty table with the canonical columns and types."""
    return HCD_ACTIVITY_SCHEMA.validate(
        pd.DataFrame({c: pd.Series(dtype=object) for c in HCD_COLUMNS}).astype(
            {"activity_date": "datetime64[ns]", "quantity": float, "cost_gbp": float}
        )
    )


def _parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (dates at midnight, reason or '') for each value.

    A timezone is dropped, keeping the local date; dates outside the accepted years are
    quarantined.
    """
    reason = pd.Series("", index=values.index, dtype=object)
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values.dt.tz_localize(None) if getattr(values.dt, "tz", None) else values
        parsed = pd.to_datetime(parsed)
    else:
        text = as_text(values)
        local = text.str.replace(_TIMEZONE, "", regex=True)
        parsed = pd.to_datetime(local.where(local != ""), errors="coerce", format="ISO8601")
        reason[(text != "") & parsed.isna()] = "unparseable activity date (expected YYYY-MM-DD)"
    out_of_range = year_out_of_range(parsed.dt.year)
    reason[out_of_range] = out_of_range_reason("activity date")
    parsed = parsed.mask(out_of_range)
    reason[parsed.isna() & (reason == "")] = "missing activity date"
    return parsed.dt.normalize().astype("datetime64[ns]"), reason


def validate_hcd_activity(
    frame: pd.DataFrame,
    source: str = "hcd_activity table",
    known_trusts: Iterable[str] | None = None,
    first_line: int = 1,
) -> LoadResult:
    """Check an ``hcd_activity`` table row by row, quarantining every bad row with a reason.

    Molecule names are lower-cased and text is trimmed; nothing else is changed. An ``eye``
    column is read as the module docstring says; other extra columns are ignored. Rows that
    repeat an earlier row exactly (the eye included, when there is one) are quarantined as
    duplicates.

    Args:
        frame: The table (text or typed columns).
        source: Name of the file or table, recorded in the quarantine and summary.
        known_trusts: ODS codes to accept; None uses the bundled trust reference (current
            trusts and their predecessors); an empty iterable accepts any well-formed code.
        first_line: Line number of the first data row (2 for a CSV with a header).

    Returns:
        Accepted rows in canonical form (:data:`HCD_COLUMNS`, then ``eye`` when the table has
        one), the quarantine (file, line, column, value, reason) and a summary in which rows
        read = rows accepted + rows quarantined.

    Raises:
        UnusableFileError: A required column is missing.
    """
    if not isinstance(frame, pd.DataFrame):
        raise UnusableFileError(
            source,
            f"it is a {type(frame).__name__}, not a table",
            "Pass a pandas DataFrame with the hcd_activity columns",
        )
    lines = list(range(first_line, first_line + len(frame)))
    return _validate(frame, source, known_trusts, lines, [])


def _validate(
    frame: pd.DataFrame,
    source: str,
    known_trusts: Iterable[str] | None,
    row_lines: list[int],
    ragged: list[dict[str, str]],
) -> LoadResult:
    """Check each row of ``frame`` (see :func:`validate_hcd_activity`).

    ``row_lines`` are the rows' line numbers; ``ragged`` are rows a file reader already found
    with the wrong number of fields, quarantined as they are.
    """
    repeated = sorted(set(frame.columns[frame.columns.duplicated()]))
    if repeated:
        raise UnusableFileError(
            source,
            f"the header repeats the column name{'s' if len(repeated) > 1 else ''} "
            f"{', '.join(map(str, repeated))}",
            "Give every column a unique name",
        )
    required = [c for c in HCD_COLUMNS if c not in OPTIONAL_COLUMNS]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise UnusableFileError(
            source,
            f"it is missing the required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}",
            f"An hcd_activity table needs the columns {', '.join(HCD_COLUMNS)} "
            "(indication and cost_gbp may be absent)",
        )
    if known_trusts is None:
        from medlib.reference.trusts import known_trust_codes

        known_trusts = known_trust_codes()
    known = set(known_trusts)

    raw = frame.reset_index(drop=True)
    n = len(raw)
    lines = pd.Series(row_lines, dtype="int64")
    checks: list[tuple[str, pd.Series, str | pd.Series]] = []

    patient = as_text(raw["patient_id"])
    checks.append(("patient_id", patient == "", "missing patient pseudonym"))

    trust = as_text(raw["trust_code"]).str.upper()
    well_formed = trust.str.match(ODS_PATTERN)
    checks.append(("trust_code", trust == "", "missing trust code"))
    checks.append(("trust_code", (trust != "") & ~well_formed, "malformed trust code"))
    if known:
        checks.append(
            (
                "trust_code",
                well_formed & ~trust.isin(known),
                "unknown trust code (not in the trust reference or its predecessors)",
            )
        )

    dates, date_reason = _parse_dates(raw["activity_date"])
    checks.append(("activity_date", date_reason != "", date_reason))

    molecule = as_text(raw["molecule"]).str.lower()
    checks.append(("molecule", molecule == "", "missing molecule"))
    product = as_text(raw["product"])
    checks.append(("product", product == "", "missing product (brand)"))

    quantity, q_blank, q_bad = parse_numbers(raw["quantity"])
    checks.append(("quantity", q_blank, "missing quantity"))
    checks.append(("quantity", q_bad, "non-numeric quantity"))
    checks.append(("quantity", ~q_blank & ~q_bad & (quantity <= 0), "quantity is not positive"))

    if "cost_gbp" in raw.columns:
        cost, _, c_bad = parse_numbers(raw["cost_gbp"])
        checks.append(("cost_gbp", c_bad, "non-numeric cost"))
        checks.append(("cost_gbp", ~c_bad & (cost < 0), "negative cost"))
    else:
        cost = pd.Series(np.nan, index=raw.index, dtype="float64")
    if "indication" in raw.columns:
        indication = as_text(raw["indication"])
        indication = indication.astype(object).where(indication != "", None)
    else:
        indication = pd.Series(None, index=raw.index, dtype=object)
    has_eye = EYE_COLUMN in raw.columns
    if has_eye:
        eye_text = as_text(raw[EYE_COLUMN])
        lowered = eye_text.str.lower()
        eye = lowered.map(EYE_SPELLINGS)
        both = lowered.isin(BOTH_EYES)
        checks.append((EYE_COLUMN, both, "both eyes on one row (give one row per eye)"))
        checks.append(
            (
                EYE_COLUMN,
                (eye_text != "") & eye.isna(),
                "unrecognised eye (expected left or right, L or R, LT or RT, LE or RE, OS or OD)",
            )
        )
        eye = eye.astype(object).where(eye.notna(), None)

    reason = pd.Series("", index=raw.index, dtype=object)
    column = pd.Series("", index=raw.index, dtype=object)
    flagged = np.zeros(n, dtype=bool)
    for col, mask, why in checks:
        fresh = mask.to_numpy(dtype=bool) & ~flagged
        if not fresh.any():
            continue
        reason[fresh] = why[fresh] if isinstance(why, pd.Series) else why
        column[fresh] = col
        flagged |= fresh

    candidate = pd.DataFrame(
        {
            "patient_id": patient,
            "trust_code": trust,
            "activity_date": dates,
            "molecule": molecule,
            "product": product,
            "indication": indication,
            "quantity": quantity,
            "cost_gbp": cost,
        }
    )
    if has_eye:
        candidate[EYE_COLUMN] = eye
    ok = pd.Series(~flagged, index=raw.index)
    # An exact repeat is a double-count (the same supply sent twice), not a second dose.
    valid = candidate[ok]
    repeat = valid.duplicated(keep="first")
    if repeat.any():
        first_of = (
            lines[valid.index]
            .groupby([valid[c] for c in candidate.columns], dropna=False, sort=False)
            .transform("first")
        )
        for idx in repeat[repeat].index:
            reason[idx] = f"duplicate row (same values as line {int(first_of[idx])})"
            column[idx] = "patient_id"
        ok[repeat[repeat].index] = False

    bad = ~ok
    value = pd.Series("", index=raw.index, dtype=object)
    for col in set(column[bad]):
        rows = bad & (column == col)
        value[rows] = as_text(raw.loc[rows, col])
    quarantine = pd.DataFrame(
        {
            "file": source,
            "line": lines[bad],
            "column": column[bad],
            "value": value[bad],
            "reason": reason[bad],
        },
        columns=QUARANTINE_COLUMNS,
    )
    if ragged:
        quarantine = pd.concat(
            [quarantine, pd.DataFrame([{"file": source, **r} for r in ragged])]
        ).sort_values("line", kind="stable")
    quarantine = quarantine.reset_index(drop=True)

    schema = HCD_ACTIVITY_EYE_SCHEMA if has_eye else HCD_ACTIVITY_SCHEMA
    data = schema.validate(candidate[ok].reset_index(drop=True))
    summary = LoadSummary(
        file=source,
        layout="hcd_activity",
        rows_read=n + len(ragged),
        rows_accepted=len(data),
        rows_quarantined=len(quarantine),
        rows_without_cost=int(data["cost_gbp"].isna().sum()),
        rows_negative_quantity=0,
        first_month=data["activity_date"].min().strftime("%Y-%m") if len(data) else None,
        last_month=data["activity_date"].max().strftime("%Y-%m") if len(data) else None,
        trusts=int(data["trust_code"].nunique()),
        products=int(data["product"].nunique()),
        has_cost_column="cost_gbp" in raw.columns,
        reasons=reason_counts(quarantine),
    )
    return LoadResult(data=data, quarantine=quarantine, summary=summary)


def read_hcd_activity(path: str | Path, known_trusts: Iterable[str] | None = None) -> LoadResult:
    """Read an ``hcd_activity`` CSV or Parquet file and validate it row by row.

    Args:
        path: The file.
        known_trusts: As for :func:`validate_hcd_activity`.

    Returns:
        The :class:`medlib.io.usage.LoadResult` of :func:`validate_hcd_activity`.

    Raises:
        UnusableFileError: The file is missing, empty, not UTF-8, not a well-formed table (see
            :func:`medlib.io.usage.read_text_table`), repeats a column or lacks a required one.
    """
    frame, lines, ragged = read_text_table(Path(path))
    return _validate(frame, str(path), known_trusts, lines, ragged)
