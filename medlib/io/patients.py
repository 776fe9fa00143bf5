"""Reading patient-level extracts (patients, medications, conditions, tests) with validation.

Each reader returns a :class:`PatientLoadResult`: the accepted rows in canonical form (see
:mod:`medlib.io.patient_tables`), the quarantined rows (``file, line, column, value, reason``, the
same shape as :mod:`medlib.io.usage`) and a summary in which ``rows_read == rows_accepted +
rows_quarantined`` always holds. A row is quarantined for its first problem, with a specific
reason ("unparseable start date", "unknown patient id", "end date before start date", ...).

A file that cannot be read as a table at all (missing, empty, not UTF-8, separated by
semicolons or tabs, a repeated header, a required column missing) raises
:class:`~medlib.io.usage.UnusableFileError` naming the file and the fix; nothing is half-loaded. The
structural checks are those of :mod:`medlib.io.usage`.

CSV and Parquet are accepted. Every field is read as text, so long SNOMED CT and dm+d ids keep
every digit. Dates are ``YYYY-MM-DD`` or ``DD/MM/YYYY``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from medlib.io.patient_tables import (
    OPTIONAL_COLUMNS,
    TABLE_COLUMNS,
    PatientTables,
    check_patient_tables,
)
from medlib.io.usage import (
    QUARANTINE_COLUMNS,
    UnusableFileError,
    check_row_balance,
    out_of_range_reason,
    read_text_table,
    reason_counts,
    reason_lines,
    row_balance_line,
    year_out_of_range,
)
from medlib.reference.trusts import normalise_codes

__all__ = [
    "PatientFolderResult",
    "PatientLoadResult",
    "PatientLoadSummary",
    "read_conditions",
    "read_medications",
    "read_patient_folder",
    "read_patients",
    "read_tests",
]

FILE_STEMS = ("patients", "medications", "conditions", "tests")
_PATIENT_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_ODS = re.compile(r"^[A-Z0-9]{3,5}$")
# ASCII digits only; SNOMED CT and dm+d ids never start with 0.
_DMD = re.compile(r"^[1-9][0-9]{5,19}$")
_SNOMED = re.compile(r"^[1-9][0-9]{5,17}$")
_BNF = re.compile(r"^[0-9]{2}[0-9A-Z]{5,13}$")
_ISO = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_UK = re.compile(r"^([0-9]{2})/([0-9]{2})/([0-9]{4})$")
_SEX = {
    "F": "F",
    "FEMALE": "F",
    "2": "F",
    "M": "M",
    "MALE": "M",
    "1": "M",
    "U": "U",
    "UNKNOWN": "U",
    "NOT KNOWN": "U",
    "NOT STATED": "U",
    "I": "U",
    "INDETERMINATE": "U",
    "0": "U",
    "9": "U",
}
MAX_AGE = 120


@dataclass
class PatientLoadSummary:
    """What happened to the rows of one patient-level file."""

    file: str
    table: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    patients: int
    first_date: str | None
    last_date: str | None
    reasons: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_row_balance(self.rows_read, self.rows_accepted, self.rows_quarantined)

    def lines(self) -> list[str]:
        """Plain-English lines describing the load."""
        out = [
            f"{self.file} ({self.table})",
            row_balance_line(self.rows_read, self.rows_accepted, self.rows_quarantined),
            f"  patients {self.patients:,}"
            + (f"; dates {self.first_date} to {self.last_date}" if self.first_date else ""),
        ]
        return out + reason_lines(self.reasons)


@dataclass
class PatientLoadResult:
    """Accepted canonical rows, quarantined rows and the summary of one read."""

    data: pd.DataFrame
    quarantine: pd.DataFrame
    summary: PatientLoadSummary


@dataclass
class PatientFolderResult:
    """The four tables read from one folder, and each file's load result."""

    tables: PatientTables
    results: dict[str, PatientLoadResult]

    def lines(self) -> list[str]:
        """Every file's summary lines."""
        return [line for name in FILE_STEMS for line in self.results[name].summary.lines()]


# --------------------------------------------------------------------------- value parsers


def _parse_dates(text: pd.Series, label: str, required: bool) -> tuple[pd.Series, pd.Series]:
    """Return (dates, reason or '') for text values in ISO or UK day-first form."""
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    reason = pd.Series("", index=text.index, dtype=object)
    stripped = text.str.strip()
    blank = stripped == ""
    if required:
        reason[blank] = f"missing {label}"
    iso = stripped.str.extract(_ISO)
    uk = stripped.str.extract(_UK)
    year = iso[0].fillna(uk[2])
    month = iso[1].fillna(uk[1])
    day = iso[2].fillna(uk[0])
    years = pd.to_numeric(year, errors="coerce")
    if not required:
        # Clinical systems write 9999-12-31 for "no end date": that is a missing date.
        sentinel = years == 9999
        blank |= sentinel
        year = year.mask(sentinel)
        years = years.mask(sentinel)
    out_of_range = year_out_of_range(years)
    reason[out_of_range] = out_of_range_reason(label)
    year = year.mask(out_of_range)
    matched = year.notna()
    if matched.any():
        stamps = pd.to_datetime(
            {
                "year": year[matched].astype(int),
                "month": month[matched].astype(int),
                "day": day[matched].astype(int),
            },
            errors="coerce",
        )
        parsed.loc[matched] = stamps
    bad = ~blank & ~out_of_range & parsed.isna()
    reason[bad] = f"unparseable {label} (expected YYYY-MM-DD or DD/MM/YYYY)"
    return parsed, reason


class _Checks:
    """First-failure-wins reasons per row, with the source column."""

    def __init__(self, index: pd.Index) -> None:
        self.reason = pd.Series("", index=index, dtype=object)
        self.column = pd.Series("", index=index, dtype=object)

    def add(self, column: str, mask: pd.Series, reason: str | pd.Series) -> None:
        if not isinstance(reason, pd.Series):
            reason = pd.Series(reason, index=self.reason.index, dtype=object)
        fresh = mask.fillna(False).astype(bool) & (self.reason == "")
        self.reason = self.reason.mask(fresh, reason)
        self.column = self.column.mask(fresh, column)

    def ok(self) -> pd.Series:
        return self.reason == ""


def _check_patient_id(raw: pd.DataFrame, checks: _Checks, known: set[str] | None) -> pd.Series:
    pid = raw["patient_id"].str.strip()
    checks.add("patient_id", pid == "", "missing patient id")
    checks.add(
        "patient_id",
        (pid != "") & ~pid.str.match(_PATIENT_ID),
        "malformed patient id (expected letters, digits, '-' or '_')",
    )
    if known is not None:
        checks.add(
            "patient_id",
            (pid != "") & ~pid.isin(known),
            "unknown patient id (not in the patients table)",
        )
    return pid


def _check_code(
    raw: pd.DataFrame,
    checks: _Checks,
    column: str,
    pattern: re.Pattern[str],
    label: str,
    expected: str,
) -> pd.Series:
    code = raw[column].str.strip()
    checks.add(column, code == "", f"missing {label}")
    floaty = code.str.contains(r"[.eE+]", regex=True)
    checks.add(
        column,
        (code != "") & floaty,
        f"malformed {label} (looks like a number mangled by a spreadsheet; {expected})",
    )
    checks.add(column, (code != "") & ~code.str.match(pattern), f"malformed {label} ({expected})")
    return code


def _optional_text(raw: pd.DataFrame, column: str) -> pd.Series:
    if column not in raw.columns:
        return pd.Series(None, index=raw.index, dtype=object)
    text = raw[column].str.strip()
    return text.where(text != "", None).astype(object)


# --------------------------------------------------------------------------- table specs


def _patients_rows(raw: pd.DataFrame, checks: _Checks, ctx: dict) -> pd.DataFrame:
    pid = _check_patient_id(raw, checks, None)
    trust = normalise_codes(raw["trust_code"])
    checks.add("trust_code", trust == "", "missing trust code")
    checks.add(
        "trust_code",
        (trust != "") & ~trust.str.match(_ODS),
        "malformed trust code (expected an ODS code such as RTD)",
    )
    if ctx["known_trusts"] is not None:
        checks.add(
            "trust_code",
            (trust != "") & trust.str.match(_ODS) & ~trust.isin(ctx["known_trusts"]),
            "unknown trust code (not in the trust reference or its predecessors)",
        )
    age_text = raw["age"].str.strip()
    age = pd.to_numeric(age_text.where(age_text != ""), errors="coerce")
    checks.add("age", age_text == "", "missing age")
    checks.add("age", (age_text != "") & age.isna(), "non-numeric age")
    checks.add("age", age.notna() & (age % 1 != 0), "age is not a whole number of years")
    checks.add(
        "age",
        age.notna() & ((age < 0) | (age > MAX_AGE)),
        f"age out of range (expected 0-{MAX_AGE})",
    )
    sex_text = raw["sex"].str.strip().str.upper()
    sex = sex_text.map(_SEX)
    checks.add("sex", sex_text == "", "missing sex")
    checks.add("sex", (sex_text != "") & sex.isna(), "unknown sex code (expected F, M or U)")
    return pd.DataFrame({"patient_id": pid, "trust_code": trust, "age": age, "sex": sex})


def _medications_rows(raw: pd.DataFrame, checks: _Checks, ctx: dict) -> pd.DataFrame:
    pid = _check_patient_id(raw, checks, ctx["patient_ids"])
    dmd = _check_code(
        raw,
        checks,
        "dmd_code",
        _DMD,
        "dm+d code",
        "expected a dm+d id: 6-20 ASCII digits, not starting with 0",
    )
    bnf = _optional_text(raw, "bnf_code")
    bnf_upper = bnf.map(lambda v: v.upper() if isinstance(v, str) else None)
    checks.add(
        "bnf_code",
        bnf_upper.notna() & ~bnf_upper.fillna("").str.match(_BNF),
        "malformed BNF code (expected e.g. 0403010B0AAAGAG)",
    )
    start, start_reason = _parse_dates(raw["start_date"], "start date", required=True)
    checks.add("start_date", start_reason != "", start_reason)
    end_text = raw["end_date"] if "end_date" in raw.columns else pd.Series("", index=raw.index)
    end, end_reason = _parse_dates(end_text, "end date", required=False)
    checks.add("end_date", end_reason != "", end_reason)
    checks.add(
        "end_date", end.notna() & start.notna() & (end < start), "end date before start date"
    )
    return pd.DataFrame(
        {
            "patient_id": pid,
            "dmd_code": dmd,
            "medicine_name": _optional_text(raw, "medicine_name"),
            "bnf_code": bnf_upper,
            "start_date": start,
            "end_date": end,
        }
    )


def _coded_event(
    raw: pd.DataFrame, checks: _Checks, ctx: dict
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Patient id, SNOMED CT code and date: the columns conditions and tests share."""
    pid = _check_patient_id(raw, checks, ctx["patient_ids"])
    code = _check_code(
        raw, checks, "snomed_code", _SNOMED, "SNOMED CT code", "expected 6-18 digits, read as text"
    )
    date, reason = _parse_dates(raw["date"], "date", required=True)
    checks.add("date", reason != "", reason)
    return pid, code, date


def _conditions_rows(raw: pd.DataFrame, checks: _Checks, ctx: dict) -> pd.DataFrame:
    pid, code, date = _coded_event(raw, checks, ctx)
    res_text = (
        raw["resolved_date"] if "resolved_date" in raw.columns else pd.Series("", index=raw.index)
    )
    resolved, res_reason = _parse_dates(res_text, "resolved date", required=False)
    checks.add("resolved_date", res_reason != "", res_reason)
    checks.add(
        "resolved_date",
        resolved.notna() & date.notna() & (resolved < date),
        "resolved date before the diagnosis date",
    )
    return pd.DataFrame(
        {"patient_id": pid, "snomed_code": code, "date": date, "resolved_date": resolved}
    )


def _tests_rows(raw: pd.DataFrame, checks: _Checks, ctx: dict) -> pd.DataFrame:
    pid, code, date = _coded_event(raw, checks, ctx)
    value_text = (
        raw["value"].str.strip() if "value" in raw.columns else pd.Series("", index=raw.index)
    )
    value = pd.to_numeric(value_text.where(value_text != ""), errors="coerce")
    bad = (value_text != "") & (value.isna() | ~np.isfinite(value.fillna(0)))
    checks.add("value", bad, "non-numeric test value")
    return pd.DataFrame(
        {
            "patient_id": pid,
            "snomed_code": code,
            "date": date,
            "value": value.astype("float64"),
            "unit": _optional_text(raw, "unit"),
        }
    )


_ROWS: dict[str, Callable[[pd.DataFrame, _Checks, dict], pd.DataFrame]] = {
    "patients": _patients_rows,
    "medications": _medications_rows,
    "conditions": _conditions_rows,
    "tests": _tests_rows,
}
_DATE_COLUMN = {"medications": "start_date", "conditions": "date", "tests": "date"}


def _read_raw(path: Path, table: str) -> tuple[pd.DataFrame, list[int], list[dict]]:
    raw, lines, ragged = read_text_table(path)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    repeated = sorted({c for c in raw.columns if list(raw.columns).count(c) > 1})
    if repeated:
        raise UnusableFileError(
            path,
            f"the header repeats the column name{'s' if len(repeated) > 1 else ''} "
            f"{', '.join(repeated)} (names are compared ignoring case)",
            "Give every column a unique name",
        )
    optional = OPTIONAL_COLUMNS.get(table, set())
    required = [c for c in TABLE_COLUMNS[table] if c not in optional]
    missing = [c for c in required if c not in raw.columns]
    if missing:
        shown = ", ".join(list(raw.columns)[:8])
        raise UnusableFileError(
            path,
            f"it is read as the {table} table but lacks the required column"
            f"{'s' if len(missing) > 1 else ''} {', '.join(missing)} (header: {shown})",
            f"The {table} table needs {', '.join(required)}"
            + (f" and may have {', '.join(sorted(optional))}" if optional else ""),
        )
    if raw.empty and not ragged and table in ("patients", "medications"):
        raise UnusableFileError(
            path, "it has a header but no data rows", "Check the export selected any patients"
        )
    return raw.astype(str).replace({"nan": "", "None": ""}), lines, ragged


def _read_table(
    path: str | Path,
    table: str,
    known_trusts: Iterable[str] | None = None,
    patient_ids: Iterable[str] | None = None,
) -> PatientLoadResult:
    path = Path(path)
    raw, lines, ragged = _read_raw(path, table)
    ctx = {
        "known_trusts": None if known_trusts is None else set(known_trusts),
        "patient_ids": None if patient_ids is None else set(patient_ids),
    }
    checks = _Checks(raw.index)
    candidate = _ROWS[table](raw, checks, ctx)
    line_numbers = pd.Series(lines, index=raw.index, dtype="int64")

    # Duplicates among otherwise valid rows. Identical repeats keep the first; for patients,
    # one id with conflicting details keeps none, since there is no way to know which is right.
    key = ["patient_id"] if table == "patients" else list(candidate.columns)
    valid = candidate[checks.ok()]
    repeated = valid.duplicated(key, keep=False)
    if repeated.any():
        groups = valid[repeated].assign(_line=line_numbers[repeated[repeated].index])
        for _, group in groups.groupby(key, sort=False, dropna=False):
            identical = len(group.drop(columns="_line").drop_duplicates()) == 1
            first = int(group["_line"].iloc[0])
            if identical:
                for idx in group.index[1:]:
                    checks.add(
                        "patient_id",
                        pd.Series(raw.index == idx, index=raw.index),
                        f"duplicate row (same values as line {first})",
                    )
            else:
                listed = ", ".join(str(int(x)) for x in group["_line"])
                mask = pd.Series(raw.index.isin(group.index), index=raw.index)
                checks.add(
                    "patient_id",
                    mask,
                    f"duplicate patient id with different details (lines {listed})",
                )

    ok = checks.ok()
    bad = ~ok
    value = pd.Series("", index=raw.index, dtype=object)
    for column in set(checks.column[bad]):
        rows = bad & (checks.column == column)
        value[rows] = raw.loc[rows, column].astype(str)
    quarantine = pd.DataFrame(
        {
            "file": str(path),
            "line": line_numbers[bad],
            "column": checks.column[bad],
            "value": value[bad],
            "reason": checks.reason[bad],
        }
    )
    if ragged:
        quarantine = pd.concat(
            [pd.DataFrame([{"file": str(path), **r} for r in ragged]), quarantine],
            ignore_index=True,
        )
    quarantine = quarantine.sort_values("line", kind="stable").reset_index(drop=True)
    quarantine = quarantine[QUARANTINE_COLUMNS]

    data = candidate[ok].reset_index(drop=True)
    if table == "patients":
        data["age"] = data["age"].astype("int64")
    date_col = _DATE_COLUMN.get(table)
    dates = data[date_col] if date_col else pd.Series(dtype="datetime64[ns]")
    summary = PatientLoadSummary(
        file=str(path),
        table=table,
        rows_read=len(raw) + len(ragged),
        rows_accepted=len(data),
        rows_quarantined=len(quarantine),
        patients=int(data["patient_id"].nunique()),
        first_date=dates.min().strftime("%Y-%m-%d") if len(dates) else None,
        last_date=dates.max().strftime("%Y-%m-%d") if len(dates) else None,
        reasons=reason_counts(quarantine),
    )
    return PatientLoadResult(data=data, quarantine=quarantine, summary=summary)


def read_patients(path: str | Path, known_trusts: Iterable[str] | None = None) -> PatientLoadResult:
    """Read a patients file: ``patient_id, trust_code, age, sex``.

    Args:
        path: CSV or Parquet file.
        known_trusts: ODS codes to accept; None uses the bundled trust reference and its
            predecessors.

    Raises:
        UnusableFileError: The file cannot be read as a table or lacks required columns.
    """
    if known_trusts is None:
        from medlib.reference.trusts import known_trust_codes

        known_trusts = known_trust_codes()
    return _read_table(path, "patients", known_trusts=known_trusts)


def read_medications(path: str | Path, patient_ids: Iterable[str]) -> PatientLoadResult:
    """Read a medications file; rows for patients not in ``patient_ids`` are quarantined.

    Columns: ``patient_id, dmd_code, start_date`` and optionally ``medicine_name, bnf_code,
    end_date``.
    """
    return _read_table(path, "medications", patient_ids=patient_ids)


def read_conditions(path: str | Path, patient_ids: Iterable[str]) -> PatientLoadResult:
    """Read a conditions file (``patient_id, snomed_code, date``; optionally ``resolved_date``)."""
    return _read_table(path, "conditions", patient_ids=patient_ids)


def read_tests(path: str | Path, patient_ids: Iterable[str]) -> PatientLoadResult:
    """Read a tests file (``patient_id, snomed_code, date``; optionally ``value, unit``)."""
    return _read_table(path, "tests", patient_ids=patient_ids)


def _find(folder: Path, stem: str) -> Path:
    for suffix in (".csv", ".parquet"):
        candidate = folder / f"{stem}{suffix}"
        if candidate.exists():
            return candidate
    raise UnusableFileError(
        folder / f"{stem}.csv",
        f"the folder has no {stem}.csv or {stem}.parquet",
        f"Put the {stem} table in the folder under that name",
    )


def read_patient_folder(
    folder: str | Path, known_trusts: Iterable[str] | None = None
) -> PatientFolderResult:
    """Read the four patient tables (CSV or Parquet) from one folder.

    Rows of the other three tables whose patient is not among the accepted patients are
    quarantined as "unknown patient id".
    """
    base = Path(folder)
    if not base.is_dir():
        raise UnusableFileError(
            base, "it is not a folder", "Pass the folder holding the four tables"
        )
    results = {"patients": read_patients(_find(base, "patients"), known_trusts)}
    ids = set(results["patients"].data["patient_id"])
    results["medications"] = read_medications(_find(base, "medications"), ids)
    results["conditions"] = read_conditions(_find(base, "conditions"), ids)
    results["tests"] = read_tests(_find(base, "tests"), ids)
    tables = check_patient_tables(*(results[name].data for name in FILE_STEMS))
    return PatientFolderResult(tables=tables, results=results)
