"""The canonical patient-level tables for polypharmacy and prescribing-safety audits.

Four pseudonymised tables, keyed by ``patient_id`` (a pseudonym, text):

* ``patients``: ``patient_id, trust_code, age, sex``. ``age`` is the age in whole years on the
  audit's census date; ``sex`` is ``"F"``, ``"M"`` or ``"U"`` (unknown or not stated).
* ``medications``: ``patient_id, dmd_code, medicine_name, bnf_code, start_date, end_date``. One
  row per prescribing episode; ``end_date`` missing means the medicine is still being taken.
  ``dmd_code`` is a dm+d VMP or AMP id and ``bnf_code`` a BNF presentation code (may be missing).
* ``conditions``: ``patient_id, snomed_code, date, resolved_date``. A diagnosis recorded on
  ``date``; ``resolved_date`` (may be missing) is when it was recorded as resolved.
* ``tests``: ``patient_id, snomed_code, date, value, unit``. A monitoring test or observation
  and its numeric result (may be missing).

Codes are always text: SNOMED CT and dm+d ids exceed float precision. Dates are
``datetime64[ns]`` at midnight. :func:`check_patient_tables` turns any frames holding these
columns into the canonical dtypes, or raises :class:`PatientDataError` naming what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from medlib.errors import InputError

__all__ = [
    "CONDITION_COLUMNS",
    "MEDICATION_COLUMNS",
    "OPTIONAL_COLUMNS",
    "PATIENT_COLUMNS",
    "TABLE_COLUMNS",
    "TEST_COLUMNS",
    "PatientDataError",
    "PatientTables",
    "check_patient_tables",
]

PATIENT_COLUMNS = ["patient_id", "trust_code", "age", "sex"]
MEDICATION_COLUMNS = [
    "patient_id",
    "dmd_code",
    "medicine_name",
    "bnf_code",
    "start_date",
    "end_date",
]
CONDITION_COLUMNS = ["patient_id", "snomed_code", "date", "resolved_date"]
TEST_COLUMNS = ["patient_id", "snomed_code", "date", "value", "unit"]

TABLE_COLUMNS = {
    "patients": PATIENT_COLUMNS,
    "medications": MEDICATION_COLUMNS,
    "conditions": CONDITION_COLUMNS,
    "tests": TEST_COLUMNS,
}
#: Columns that may be missing from a file or frame (filled with nulls).
OPTIONAL_COLUMNS = {
    "medications": {"bnf_code", "end_date", "medicine_name"},
    "conditions": {"resolved_date"},
    "tests": {"value", "unit"},
}
SEXES = ("F", "M", "U")


class PatientDataError(InputError):
    """Patient-level tables that do not have the columns or values the audit needs."""


@dataclass(frozen=True)
class PatientTables:
    """The four canonical patient-level tables of one extract.

    Attributes:
        patients: One row per patient.
        medications: One row per prescribing episode.
        conditions: One row per recorded diagnosis.
        tests: One row per monitoring test or observation.
    """

    patients: pd.DataFrame
    medications: pd.DataFrame
    conditions: pd.DataFrame
    tests: pd.DataFrame

    def for_patients(self, patient_ids: pd.Series | list[str] | set[str]) -> PatientTables:
        """The same tables restricted to some patients."""
        keep = set(patient_ids)
        return PatientTables(
            *(
                frame[frame["patient_id"].isin(keep)].reset_index(drop=True)
                for frame in (self.patients, self.medications, self.conditions, self.tests)
            )
        )


def _text(series: pd.Series) -> pd.Series:
    out = series.astype(object).where(series.notna(), None)
    out = out.map(lambda v: None if v is None else str(v).strip())
    return out.where(out != "", None).astype(object)


def _upper(series: pd.Series) -> pd.Series:
    return _text(series).map(lambda v: v.upper() if isinstance(v, str) else None).astype(object)


def _dates(series: pd.Series, table: str, column: str) -> pd.Series:
    try:
        parsed = pd.to_datetime(series, errors="raise")
    except (ValueError, TypeError) as exc:
        raise PatientDataError(
            f"{table}.{column} must hold dates (YYYY-MM-DD); could not read it: {exc}"
        ) from None
    return parsed.dt.normalize().astype("datetime64[ns]")


def _check_codes(series: pd.Series, table: str, column: str) -> None:
    if pd.api.types.is_float_dtype(series):
        raise PatientDataError(
            f"{table}.{column} is stored as floating-point numbers, which corrupts long SNOMED "
            "and dm+d ids; read the file with codes as text (dtype=str)"
        )


def check_patient_tables(
    patients: pd.DataFrame,
    medications: pd.DataFrame | None = None,
    conditions: pd.DataFrame | None = None,
    tests: pd.DataFrame | None = None,
) -> PatientTables:
    """Check four frames against the canonical patient tables and return them in canonical form.

    Missing optional columns are added as nulls; the tables that are None are empty. This is for
    frames built in code; files go through :mod:`medlib.io.patients`, which quarantines bad rows
    instead of failing.

    Args:
        patients: ``patient_id, trust_code, age, sex``.
        medications: ``patient_id, dmd_code, start_date`` and optionally ``medicine_name,
            bnf_code, end_date``.
        conditions: ``patient_id, snomed_code, date`` and optionally ``resolved_date``.
        tests: ``patient_id, snomed_code, date`` and optionally ``value, unit``.

    Returns:
        A :class:`PatientTables` with canonical columns and dtypes.

    Raises:
        PatientDataError: A table is not a DataFrame, lacks a required column, holds codes as
            floats, has unreadable dates or ages, duplicated or missing patient ids, an unknown
            sex, or rows for patients not in ``patients``.
    """
    frames = {
        "patients": patients,
        "medications": medications,
        "conditions": conditions,
        "tests": tests,
    }
    out: dict[str, pd.DataFrame] = {}
    for name, frame in frames.items():
        columns = TABLE_COLUMNS[name]
        if frame is None:
            frame = pd.DataFrame(columns=columns)
        if not isinstance(frame, pd.DataFrame):
            raise PatientDataError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
        optional = OPTIONAL_COLUMNS.get(name, set())
        missing = [c for c in columns if c not in frame.columns and c not in optional]
        if missing:
            raise PatientDataError(
                f"{name} is missing column(s) {missing}; it has {list(frame.columns)} and needs "
                f"{[c for c in columns if c not in optional]} (optional: {sorted(optional)})"
            )
        frame = frame.copy()
        for column in columns:
            if column not in frame.columns:
                frame[column] = None
        out[name] = frame[columns].reset_index(drop=True)

    pats = out["patients"]
    pats["patient_id"] = _text(pats["patient_id"])
    if pats["patient_id"].isna().any():
        raise PatientDataError("patients.patient_id has missing values; every patient needs an id")
    dupes = pats["patient_id"][pats["patient_id"].duplicated()]
    if len(dupes):
        raise PatientDataError(
            f"patients.patient_id must be unique; repeated: {sorted(set(dupes))[:5]}"
        )
    pats["trust_code"] = _upper(pats["trust_code"])
    ages = pd.to_numeric(pats["age"], errors="coerce")
    if ages.isna().any() or (ages % 1 != 0).any() or (ages < 0).any() or (ages > 120).any():
        raise PatientDataError("patients.age must be whole years between 0 and 120 for everyone")
    pats["age"] = ages.astype("int64")
    pats["sex"] = _upper(pats["sex"])
    bad_sex = sorted(set(pats["sex"].dropna()) - set(SEXES)) + (
        ["<missing>"] if pats["sex"].isna().any() else []
    )
    if bad_sex:
        raise PatientDataError(f"patients.sex must be one of {list(SEXES)}; found {bad_sex}")

    known = set(pats["patient_id"])
    date_columns = {
        "medications": ("start_date", "end_date"),
        "conditions": ("date", "resolved_date"),
        "tests": ("date",),
    }
    code_column = {"medications": "dmd_code", "conditions": "snomed_code", "tests": "snomed_code"}
    for name in ("medications", "conditions", "tests"):
        frame = out[name]
        _check_codes(frame[code_column[name]], name, code_column[name])
        frame["patient_id"] = _text(frame["patient_id"])
        frame[code_column[name]] = _text(frame[code_column[name]])
        unknown = set(frame["patient_id"].dropna()) - known
        if unknown or frame["patient_id"].isna().any():
            raise PatientDataError(
                f"{name} has rows for patients not in the patients table: "
                f"{sorted(str(u) for u in unknown)[:5]}"
            )
        for column in date_columns[name]:
            frame[column] = _dates(frame[column], name, column)
        required_date = date_columns[name][0]
        if frame[required_date].isna().any():
            raise PatientDataError(f"{name}.{required_date} is missing on some rows")
    meds = out["medications"]
    _check_codes(meds["bnf_code"], "medications", "bnf_code")
    meds["bnf_code"] = _upper(meds["bnf_code"])
    meds["medicine_name"] = _text(meds["medicine_name"])
    if (meds["end_date"] < meds["start_date"]).any():
        raise PatientDataError("medications.end_date is before start_date on some rows")
    cond = out["conditions"]
    if (cond["resolved_date"] < cond["date"]).any():
        raise PatientDataError("conditions.resolved_date is before date on some rows")
    tst = out["tests"]
    tst["value"] = pd.to_numeric(tst["value"], errors="coerce").astype("float64")
    tst["unit"] = _text(tst["unit"])
    return PatientTables(**out)
