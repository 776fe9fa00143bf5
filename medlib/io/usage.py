"""Reading SCMD usage files into the canonical ``usage`` table, with validation and quarantine.

Every read returns a :class:`LoadResult`: the accepted rows in canonical form, the quarantined
rows (file, line, column, value, reason) and a :class:`LoadSummary` in which
``rows_read == rows_accepted + rows_quarantined`` always holds. A file that cannot be read as a
table at all raises :class:`UnusableFileError` with one paragraph naming the file and what to fix;
nothing is half-loaded.

Three layouts are recognised from the header:

* ``scmd_published``: the NHSBSA SCMD CSV as published (upper-case columns, including the
  misspelt ``TOTAL_QUANITY_IN_VMP_UNIT``; ``INDICATIVE_COST`` optional because early releases
  lack it);
* ``scmd_unit_dose``: the newer published header, with quantities in the unit-dose form size
  (``VMP_UDFS_UNIT_OF_MEASURE_NAME``, ``TOTAL_QUANTITY_IN_VMP_UDFS_UNIT_OF_MEASURE``; the
  ``VMP_UNIT_DOSE_...`` columns beside them are not needed);
* ``scmd_extract``: lower-case analysis extracts (``year_month, ods_code, vmp_snomed_code,
  vmp_product_name, total_quantity``), quantity only;
* ``scmd_cost_extract``: lower-case extracts with indicative cost (``year_month,
  indicative_cost, quantity, uom, ods_code, vmp_code, vmp_name``, extra columns ignored).

CSV (also gzip-compressed, ``.csv.gz``) and Parquet files are accepted in any of them.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from medlib.errors import MedlibError
from medlib.reference.trusts import normalise_codes

__all__ = [
    "QUARANTINE_COLUMNS",
    "SCMD_PUBLISHED_HEADER",
    "LoadResult",
    "LoadSummary",
    "UnusableFileError",
    "as_text",
    "check_row_balance",
    "out_of_range_reason",
    "parse_numbers",
    "read_text_table",
    "read_usage",
    "reason_counts",
    "reason_lines",
    "row_balance_line",
    "year_out_of_range",
]

QUARANTINE_COLUMNS = ["file", "line", "column", "value", "reason"]
#: Years a date may fall in. Anything else is a typing error or a sentinel such as 9999-12-31,
#: and beyond 2262 it would not fit the nanosecond timestamps the tables use.
FIRST_YEAR, LAST_YEAR = 1900, 2100


def year_out_of_range(years: pd.Series) -> pd.Series:
    """True where a (numeric) year is outside ``FIRST_YEAR``-``LAST_YEAR``; False where missing."""
    return (years < FIRST_YEAR) | (years > LAST_YEAR)


def out_of_range_reason(label: str) -> str:
    """The quarantine reason for a date outside the accepted years."""
    return f"{label} out of range (expected a year from {FIRST_YEAR} to {LAST_YEAR})"


# canonical column -> source column, per layout; None means optional and absent is allowed.
LAYOUTS: dict[str, dict[str, str]] = {
    "scmd_published": {
        "year_month": "YEAR_MONTH",
        "trust_code": "ODS_CODE",
        "vmp_code": "VMP_SNOMED_CODE",
        "vmp_name": "VMP_PRODUCT_NAME",
        "unit": "UNIT_OF_MEASURE_NAME",
        "quantity": "TOTAL_QUANITY_IN_VMP_UNIT",
        "cost_gbp": "INDICATIVE_COST",
    },
    "scmd_unit_dose": {
        "year_month": "YEAR_MONTH",
        "trust_code": "ODS_CODE",
        "vmp_code": "VMP_SNOMED_CODE",
        "vmp_name": "VMP_PRODUCT_NAME",
        "unit": "VMP_UDFS_UNIT_OF_MEASURE_NAME",
        "quantity": "TOTAL_QUANTITY_IN_VMP_UDFS_UNIT_OF_MEASURE",
        "cost_gbp": "INDICATIVE_COST",
    },
    "scmd_extract": {
        "year_month": "year_month",
        "trust_code": "ods_code",
        "vmp_code": "vmp_snomed_code",
        "vmp_name": "vmp_product_name",
        "quantity": "total_quantity",
    },
    "scmd_cost_extract": {
        "year_month": "year_month",
        "trust_code": "ods_code",
        "vmp_code": "vmp_code",
        "vmp_name": "vmp_name",
        "unit": "uom",
        "quantity": "quantity",
        "cost_gbp": "indicative_cost",
    },
}
#: The published SCMD monthly file's header, in order (``TOTAL_QUANITY`` as spelt there).
SCMD_PUBLISHED_HEADER = [
    "YEAR_MONTH",
    "ODS_CODE",
    "VMP_SNOMED_CODE",
    "VMP_PRODUCT_NAME",
    "UNIT_OF_MEASURE_IDENTIFIER",
    "UNIT_OF_MEASURE_NAME",
    "TOTAL_QUANITY_IN_VMP_UNIT",
    "INDICATIVE_COST",
]
OPTIONAL_SOURCE_COLUMNS = {
    "UNIT_OF_MEASURE_NAME",
    "VMP_UDFS_UNIT_OF_MEASURE_NAME",
    "INDICATIVE_COST",
}

_DATE_PATTERNS = (
    (re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$"), True),
    (re.compile(r"^([0-9]{4})-([0-9]{2})$"), False),
    (re.compile(r"^([0-9]{4})([0-9]{2})$"), False),
)
# ASCII digits only (\d would take Arabic-Indic or full-width digits too), compared as text;
# dm+d ids never start with 0, so "0123" is refused rather than read as a second product.
_CODE = re.compile(r"^[1-9][0-9]{5,19}$")
#: Control characters (NUL included) that have no place in a product name or unit.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ODS = re.compile(r"^[A-Z0-9]{3,5}$")
_OTHER_DELIMITERS = (";", "\t", "|")
#: Quarantine reasons of the row checks that are fixed texts. The vectorised ingest path
#: (:mod:`medlib.io._usage_fast`) gives the same reasons, so both take them from here.
_REASONS = {
    "missing_trust": "missing trust code",
    "malformed_trust": "malformed trust code",
    "unknown_trust": "unknown trust code (not in the trust reference or its predecessors)",
    "missing_vmp": "missing VMP code",
    "malformed_vmp": (
        "malformed VMP code (expected a dm+d id: 6-20 ASCII digits, not starting with 0)"
    ),
    "missing_quantity": "missing quantity",
    "bad_quantity": "non-numeric quantity",
    "bad_cost": "non-numeric cost",
    "negative_cost": "negative cost without a negative quantity (a return has both negative)",
    "control_name": "control character (such as NUL) in the product name",
    "control_unit": "control character (such as NUL) in the unit",
}


class UnusableFileError(MedlibError, ValueError):
    """A file that cannot be read as a usage table at all.

    The message is one paragraph: which file, what is wrong, what to do about it.
    """

    def __init__(self, path: Path | str, problem: str, fix: str) -> None:
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"Cannot read {self.path}: {problem}. {fix}")


@dataclass
class LoadSummary:
    """What happened to the rows of one file."""

    file: str
    layout: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_without_cost: int
    rows_negative_quantity: int
    first_month: str | None
    last_month: str | None
    trusts: int
    products: int
    has_cost_column: bool
    reasons: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_row_balance(self.rows_read, self.rows_accepted, self.rows_quarantined)

    def lines(self) -> list[str]:
        """Plain-English lines describing the load, for the CLI and notebooks."""
        out = [
            f"{self.file} ({self.layout} layout)",
            row_balance_line(self.rows_read, self.rows_accepted, self.rows_quarantined),
        ]
        if self.rows_accepted:
            out.append(
                f"  months {self.first_month} to {self.last_month}; {self.trusts:,} trusts; "
                f"{self.products:,} products"
            )
        if self.has_cost_column:
            out.append(
                f"  data quality: {self.rows_without_cost:,} accepted rows have no indicative cost"
                " (kept as missing, not zero)"
            )
        else:
            out.append("  data quality: this layout has no cost column; cost is missing throughout")
        if self.rows_negative_quantity:
            out.append(
                f"  data quality: {self.rows_negative_quantity:,} accepted rows have a negative"
                " quantity (returns)"
            )
        return out + reason_lines(self.reasons)


def check_row_balance(rows_read: int, rows_accepted: int, rows_quarantined: int) -> None:
    """Stop if a load lost or duplicated rows (every row read is accepted or quarantined)."""
    if rows_read != rows_accepted + rows_quarantined:
        raise AssertionError("rows read must equal rows accepted plus rows quarantined")


def row_balance_line(rows_read: int, rows_accepted: int, rows_quarantined: int) -> str:
    """The summary line ``rows read N = accepted A + quarantined Q``."""
    return (
        f"  rows read {rows_read:,} = accepted {rows_accepted:,} + quarantined {rows_quarantined:,}"
    )


def reason_lines(reasons: dict[str, int]) -> list[str]:
    """One summary line per quarantine reason, most frequent first."""
    ordered = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    return [f"  quarantined {n:,}: {reason}" for reason, n in ordered]


@dataclass
class LoadResult:
    """Accepted canonical rows, quarantined rows and the summary of one read."""

    data: pd.DataFrame
    quarantine: pd.DataFrame
    summary: LoadSummary


# --------------------------------------------------------------------------- structural checks


def _check_utf8(path: Path) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                raise UnusableFileError(
                    path,
                    f"it is not UTF-8 text (byte {offset + exc.start:,} cannot be decoded)",
                    "If it is a spreadsheet export, save it again as 'CSV UTF-8'; if it is a binary"
                    " file (Excel, zip), export the sheet to CSV first",
                ) from None
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise UnusableFileError(
                path,
                "it is not UTF-8 text (it ends part-way through a character)",
                "Save it again as 'CSV UTF-8'",
            ) from None


def _refuse_repeated_columns(path: Path, names: list[str], where: str) -> None:
    """Refuse a header (or Parquet schema) that names a column twice."""
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UnusableFileError(
            path,
            f"{where} repeats the column name{'s' if len(dupes) > 1 else ''} {', '.join(dupes)}",
            "Give every column a unique name",
        )


def _match_layout(path: Path, columns: list[str]) -> tuple[str, dict[str, str]]:
    present = set(columns)
    required_of = {
        name: [c for c in mapping.values() if c not in OPTIONAL_SOURCE_COLUMNS]
        for name, mapping in LAYOUTS.items()
    }
    best: tuple[int, str] | None = None
    for name, mapping in LAYOUTS.items():
        required = set(required_of[name])
        if required <= present:
            return name, {k: v for k, v in mapping.items() if v in present}
        overlap = len(required & present)
        if best is None or overlap > best[0]:
            best = (overlap, name)
    assert best is not None
    # The right columns in another case (a lower-cased export): say so, not "looks like".
    folded = {c.casefold(): c for c in columns}
    for name, required in required_of.items():
        if all(c.casefold() in folded for c in required):
            found = [folded[c.casefold()] for c in required if c not in present]
            wanted = [c for c in required if c not in present]
            raise UnusableFileError(
                path,
                f"its header has the {name} columns with their names in another case "
                f"({', '.join(found)} instead of {', '.join(wanted)})",
                "Rename the columns exactly as published (the NHSBSA files use upper case), "
                "or re-export the file unchanged",
            )
    if best[0] == 0:
        expected = "; ".join(f"{name}: {', '.join(m.values())}" for name, m in LAYOUTS.items())
        shown = ", ".join(columns[:8]) + (" ..." if len(columns) > 8 else "")
        raise UnusableFileError(
            path,
            f"its header ({shown}) does not match any SCMD layout",
            f"Expected one of these column sets ({expected})",
        )
    name = best[1]
    missing = [c for c in required_of[name] if c not in present]
    raise UnusableFileError(
        path,
        f"it looks like the {name} layout but is missing the required column"
        f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
        "Add the missing column(s) with these exact names"
        + (
            " (spelling as published, including TOTAL_QUANITY_IN_VMP_UNIT)"
            if name == "scmd_published"
            else ""
        )
        + " or re-export the full extract",
    )


def _read_csv_text(path: Path) -> tuple[pd.DataFrame, list[int], list[dict[str, str]]]:
    """Read every field as text; return frame, physical line numbers and ragged rows."""
    if path.stat().st_size == 0:
        raise UnusableFileError(
            path, "the file is empty", "Check the export finished and re-run it"
        )
    _check_utf8(path)
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    if b"\r" in head and b"\n" not in head:
        raise UnusableFileError(
            path,
            "its lines end with a carriage return only (an old Mac format)",
            "Save it again as 'CSV UTF-8' with Windows or Unix line endings",
        )
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
    if not first.strip():
        raise UnusableFileError(
            path, "the first line is blank, so there is no header", "Remove leading blank lines"
        )
    if "," not in first and any(d in first for d in _OTHER_DELIMITERS):
        found = next(d for d in _OTHER_DELIMITERS if d in first)
        label = {";": "semicolons", "\t": "tabs", "|": "pipes"}[found]
        raise UnusableFileError(
            path,
            f"its fields are separated by {label}, not commas",
            "Re-export it as comma-separated CSV",
        )
    fast = _read_csv_fast(path)
    if fast is not None:
        return fast
    return _read_csv_exact(path)


def _read_csv_fast(path: Path) -> tuple[pd.DataFrame, list[int], list[dict[str, str]]] | None:
    """Vectorised read for the common case; None when line numbers would not be exact."""
    with path.open("rb") as handle:
        blob = handle.read()
    table = _read_csv_arrow(path, blob)
    if table is None:
        return None
    frame = table.to_pandas()
    return frame, list(range(2, len(frame) + 2)), []


def _read_csv_arrow(
    source: Path | pa.Buffer, blob: bytes, *, check_utf8: bool = True
) -> pa.Table | None:
    """Every field of a CSV as Arrow text, the header as names; None if lines would not be exact.

    The fast reader cannot say which physical line a row came from when the file has blank
    lines, fields with embedded newlines, or rows with the wrong number of fields; Arrow's CSV
    parser refuses such files (or the line count gives them away) and they go through the exact
    reader instead. ``source`` is what Arrow reads (the file, or ``blob`` already in memory) and
    ``blob`` the file's bytes; ``check_utf8`` False skips Arrow's check of every field, for a
    caller that has checked the whole file.
    """
    import pyarrow.csv as pacsv

    newlines = int(np.count_nonzero(np.frombuffer(blob, dtype=np.uint8) == ord("\n")))
    physical_lines = newlines + (0 if blob.endswith(b"\n") else 1)
    end = blob.find(b"\n")
    # The first line alone is decoded: a newline byte is never part of a longer UTF-8 character.
    first = (blob if end < 0 else blob[:end]).decode("utf-8-sig")
    header = next(csv.reader([first.rstrip("\r")]))
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        return None  # let the exact reader name the repeated columns
    try:
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=check_utf8,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if physical_lines != table.num_rows + 1:
        return None
    if table.num_rows and table.num_columns:
        import pyarrow.compute as pc

        # Blank lines are not rows; the exact reader skips them.
        empty = [pc.equal(table.column(i), "") for i in range(table.num_columns)]
        all_empty = empty[0]
        for other in empty[1:]:
            all_empty = pc.and_(all_empty, other)
        if pc.any(all_empty).as_py():
            return None
    return table


def _read_csv_exact(path: Path) -> tuple[pd.DataFrame, list[int], list[dict[str, str]]]:
    """Row-by-row read that knows every row's physical line and quarantines ragged rows."""
    ragged: list[dict[str, str]] = []
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader)]
        _refuse_repeated_columns(path, header, "the header")
        rows: list[list[str]] = []
        lines: list[int] = []
        width = len(header)
        for record in _records(path, reader, width):
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank lines are not rows
            if len(record) != width:
                ragged.append(
                    {
                        "line": reader.line_num,
                        "column": "",
                        "value": ",".join(record)[:200],
                        "reason": f"wrong number of fields ({len(record)}, header has {width})",
                    }
                )
                continue
            rows.append(record)
            lines.append(reader.line_num)
    frame = (
        pd.DataFrame(rows, columns=header, dtype=object)
        if rows
        else pd.DataFrame(columns=header, dtype=object)
    )
    return frame, lines, ragged


def _records(path: Path, reader: Any, width: int) -> Iterator[list[str]]:
    """The reader's records, stopping at a quote that swallows the lines after it.

    A field that opens a quote and never closes it runs on over every later line, so those
    rows would vanish into one ragged record; such a file is unusable, not a quarantined row.
    """
    end = reader.line_num
    while True:
        start = end + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a runaway quoted field passing the field size limit
            raise UnusableFileError(
                path,
                f"it cannot be read as CSV from line {start:,} ({exc})",
                "Look there for a stray double quote or an over-long field, fix it and export "
                "again",
            ) from None
        end = reader.line_num
        if end > start and len(record) != width and _has_newline(record):
            raise UnusableFileError(
                path,
                f"a quoted field starting on line {start:,} is probably never closed (its "
                f"record runs on to line {end:,})",
                "Remove the stray double quote, or close it, and export again",
            )
        yield record


def _has_newline(record: list[str]) -> bool:
    return any("\n" in field or "\r" in field for field in record)


def _read_parquet_text(path: Path) -> tuple[pd.DataFrame, list[int], list[dict[str, str]]]:
    if path.stat().st_size == 0:
        raise UnusableFileError(
            path, "the file is empty", "Check the export finished and re-run it"
        )
    try:
        names = pq.read_schema(path).names
    except (pa.ArrowInvalid, OSError) as exc:
        raise UnusableFileError(
            path,
            f"it is not a readable Parquet file ({str(exc).splitlines()[0]})",
            "Re-export it, or give it a .csv name if it is really CSV",
        ) from None
    _refuse_repeated_columns(path, names, "its schema")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise UnusableFileError(
            path,
            f"it is not a readable Parquet file ({str(exc).splitlines()[0]})",
            "Re-export it, or give it a .csv name if it is really CSV",
        ) from None
    data = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
            values = [None if v is None else v.strftime("%Y-%m-%d") for v in col.to_pylist()]
        elif pa.types.is_floating(col.type):
            # Floats that are whole numbers print without a trailing ".0" so codes stored as
            # floats are still caught by the code check rather than silently mangled.
            # NaN in a float column is how pandas writes "missing": read it as blank, not as
            # the text "nan", which would be quarantined as non-numeric.
            values = [None if v is None or v != v else repr(v) for v in col.to_pylist()]
        else:
            values = [None if v is None else str(v) for v in col.to_pylist()]
        data[name] = ["" if v is None else v for v in values]
    frame = pd.DataFrame(data, dtype=object)
    return frame, list(range(1, len(frame) + 1)), []


def read_text_table(path: Path) -> tuple[pd.DataFrame, list[int], list[dict[str, str]]]:
    """Read a CSV or Parquet file with every field as text, after the structural checks.

    Shared by every reader of the project's tables (usage, patient-level tables).

    Returns:
        The raw frame, each row's physical line (CSV) or row number (Parquet), and the rows
        that had the wrong number of fields, ready to quarantine.

    Raises:
        UnusableFileError: The file is missing, empty, not UTF-8, uses another delimiter or is
            not a readable table.
    """
    path = Path(path)
    if not path.exists():
        raise UnusableFileError(path, "the file does not exist", "Check the path and file name")
    if path.is_dir():
        raise UnusableFileError(path, "it is a folder, not a file", "Pass the files inside it")
    if path.suffix.lower() in {".parquet", ".pq"}:
        return _read_parquet_text(path)
    return _read_csv_text(path)


# --------------------------------------------------------------------------- row checks


def _parse_months(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (parsed first-of-month timestamps, reason or '') for each text value.

    A usage file has a few dozen distinct months among millions of rows, so each distinct
    value is parsed once and the result mapped back.
    """
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=False)
    parsed_u, reason_u = _parse_unique_months(pd.Series(uniques, dtype=object).astype(str))
    parsed = pd.Series(parsed_u.to_numpy()[codes], index=values.index, dtype="datetime64[ns]")
    reason = pd.Series(reason_u.to_numpy()[codes], index=values.index, dtype=object)
    return parsed, reason


def _parse_unique_months(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    reason = pd.Series("", index=values.index, dtype=object)
    text = values.str.strip()
    unmatched = pd.Series(True, index=values.index)
    for pattern, has_day in _DATE_PATTERNS:
        parts = text.str.extract(pattern)
        hit = parts[0].notna() & unmatched
        if not hit.any():
            continue
        unmatched &= ~hit
        year = parts.loc[hit, 0].astype(int)
        month = parts.loc[hit, 1].astype(int)
        day = parts.loc[hit, 2].astype(int) if has_day else pd.Series(1, index=year.index)
        bad_month = (month < 1) | (month > 12)
        reason.loc[bad_month[bad_month].index] = "unparseable date (month out of range)"
        ok = ~bad_month
        bad_year = ok & year_out_of_range(year)
        reason.loc[bad_year[bad_year].index] = out_of_range_reason("date")
        ok &= ~bad_year
        if has_day:
            not_first = ok & (day != 1)
            reason.loc[not_first[not_first].index] = "date is not the first day of a month"
            ok &= day == 1
        idx = ok[ok].index
        parsed.loc[idx] = pd.to_datetime({"year": year.loc[idx], "month": month.loc[idx], "day": 1})
    reason.loc[unmatched & (text == "")] = "missing date"
    reason.loc[unmatched & (text != "")] = "unparseable date"
    return parsed, reason


def _matches(values: pd.Series, pattern: re.Pattern[str], search: bool = False) -> pd.Series:
    """Whether each value matches ``pattern`` (anywhere, with ``search``), each distinct once."""
    uniques = values.unique()
    test = pattern.search if search else pattern.match
    hits = {u for u in uniques if isinstance(u, str) and test(u)}
    return values.isin(hits)


def as_text(values: pd.Series) -> pd.Series:
    """Values as stripped text, with missing values as empty strings."""
    if pd.api.types.is_string_dtype(values) and not pd.api.types.is_object_dtype(values):
        return values.fillna("").str.strip()
    text = values.astype(object).where(values.notna(), "")
    return text.astype(str).str.strip()


def parse_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Read numbers given as text (or already numeric).

    Returns:
        ``(floats, is_blank, is_bad)``: ``is_bad`` marks values that are present but not a
        finite number (text such as ``12a``, ``inf``).
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype("float64")
        blank = numbers.isna()
        return numbers, blank, ~blank & ~np.isfinite(numbers.fillna(0))
    text = as_text(values)
    blank = text == ""
    numbers = pd.to_numeric(text.where(~blank), errors="coerce").astype("float64")
    bad = ~blank & (numbers.isna() | ~np.isfinite(numbers.fillna(0)))
    return numbers, blank, bad


def read_usage(
    path: str | Path,
    known_trusts: Iterable[str] | None = None,
) -> LoadResult:
    """Read one SCMD usage file (CSV or Parquet, any recognised layout).

    Args:
        path: The file to read.
        known_trusts: ODS codes to accept (current trusts and their predecessors). None uses
            the bundled trust reference.

    Returns:
        The accepted rows in the canonical ``usage`` form, the quarantined rows and a summary.

    Raises:
        UnusableFileError: The file is empty, not UTF-8, uses another delimiter, is not a
            readable table or lacks required columns.
    """
    # pandera loads with the first read, not with the module: the vectorised ingest path
    # uses this module's checks without it.
    from medlib.io.schemas import USAGE_COLUMNS, USAGE_SCHEMA

    path = Path(path)
    if path.suffix.lower() == ".gz":
        return _read_gzip_usage(path, known_trusts)
    raw, lines, ragged = read_text_table(path)
    layout, mapping = _match_layout(path, list(raw.columns))
    if raw.empty and not ragged:
        raise UnusableFileError(
            path, "it has a header but no data rows", "Check the export selected any data"
        )
    if known_trusts is None:
        from medlib.reference.trusts import known_trust_codes

        known_trusts = known_trust_codes()
    known = set(known_trusts)

    text = {canon: raw[src].astype(str) for canon, src in mapping.items()}
    reasons: list[tuple[str, pd.Series, pd.Series]] = []  # (source column, failed mask, reason)

    def add(canon: str, mask: pd.Series, reason: str | pd.Series) -> None:
        if not isinstance(reason, pd.Series):
            reason = pd.Series(reason, index=raw.index, dtype=object)
        reasons.append((mapping[canon], mask, reason))

    months, month_reason = _parse_months(text["year_month"])
    add("year_month", month_reason != "", month_reason)

    trust = normalise_codes(text["trust_code"])
    trust_ok = _matches(trust, _ODS)
    add("trust_code", trust == "", _REASONS["missing_trust"])
    add("trust_code", (trust != "") & ~trust_ok, _REASONS["malformed_trust"])
    add("trust_code", (trust != "") & trust_ok & ~trust.isin(known), _REASONS["unknown_trust"])

    vmp = text["vmp_code"].str.strip()
    add("vmp_code", vmp == "", _REASONS["missing_vmp"])
    add("vmp_code", (vmp != "") & ~_matches(vmp, _CODE), _REASONS["malformed_vmp"])

    quantity, q_blank, q_bad = parse_numbers(text["quantity"])
    add("quantity", q_blank, _REASONS["missing_quantity"])
    add("quantity", q_bad, _REASONS["bad_quantity"])

    if "cost_gbp" in text:
        cost, c_blank, c_bad = parse_numbers(text["cost_gbp"])
        add("cost_gbp", c_bad, _REASONS["bad_cost"])
        add("cost_gbp", ~c_bad & (cost < 0) & ~(quantity < 0), _REASONS["negative_cost"])
    else:
        cost = pd.Series(np.nan, index=raw.index, dtype="float64")
    add("vmp_name", _matches(text["vmp_name"], _CONTROL, search=True), _REASONS["control_name"])
    if "unit" in text:
        add("unit", _matches(text["unit"], _CONTROL, search=True), _REASONS["control_unit"])

    first_reason = pd.Series("", index=raw.index, dtype=object)
    first_column = pd.Series("", index=raw.index, dtype=object)
    for column, mask, reason in reasons:
        fresh = mask & (first_reason == "")
        first_reason = first_reason.mask(fresh, reason)
        first_column = first_column.mask(fresh, column)

    line_numbers = pd.Series(lines, index=raw.index, dtype="int64")
    candidate = pd.DataFrame(
        {
            "year_month": months,
            "trust_code": trust,
            "vmp_code": vmp,
            "vmp_name": text["vmp_name"].str.strip().replace("", None),
            "unit": text["unit"].str.strip().replace("", None) if "unit" in text else None,
            "quantity": quantity,
            "cost_gbp": cost,
        }
    )

    ok = first_reason == ""
    valid = candidate[ok]
    dup_any = valid.duplicated(_DUPLICATE_KEY, keep=False)
    if dup_any.any():
        repeated = valid[dup_any].assign(_line=line_numbers[dup_any[dup_any].index])
        for idx, (reason, canon) in _duplicate_reasons(repeated).items():
            first_reason[idx] = reason
            first_column[idx] = mapping[canon]

    ok = first_reason == ""
    bad = ~ok
    source_value = pd.Series("", index=raw.index, dtype=object)
    for column in set(first_column[bad]):
        rows = bad & (first_column == column)
        source_value[rows] = raw.loc[rows, column].astype(str)
    quarantine = pd.DataFrame(
        {
            "file": str(path),
            "line": line_numbers[bad],
            "column": first_column[bad],
            "value": source_value[bad],
            "reason": first_reason[bad],
        }
    )
    if ragged:
        quarantine = pd.concat(
            [pd.DataFrame([{"file": str(path), **r} for r in ragged]), quarantine],
            ignore_index=True,
        )
    quarantine = quarantine.sort_values("line", kind="stable").reset_index(drop=True)
    quarantine = quarantine[QUARANTINE_COLUMNS]

    data = candidate[ok].copy()
    data["source"] = path.name
    data = data[USAGE_COLUMNS].reset_index(drop=True)
    data = USAGE_SCHEMA.validate(data)

    summary = LoadSummary(
        file=str(path),
        layout=layout,
        rows_read=len(raw) + len(ragged),
        rows_accepted=len(data),
        rows_quarantined=len(quarantine),
        rows_without_cost=int(data["cost_gbp"].isna().sum()),
        rows_negative_quantity=int((data["quantity"] < 0).sum()),
        first_month=data["year_month"].min().strftime("%Y-%m") if len(data) else None,
        last_month=data["year_month"].max().strftime("%Y-%m") if len(data) else None,
        trusts=int(data["trust_code"].nunique()),
        products=int(data["vmp_code"].nunique()),
        has_cost_column="cost_gbp" in mapping,
        reasons=reason_counts(quarantine),
    )
    return LoadResult(data=data, quarantine=quarantine, summary=summary)


#: The columns no two accepted rows of a file share.
_DUPLICATE_KEY = ["year_month", "trust_code", "vmp_code"]


def _duplicate_reasons(repeated: pd.DataFrame) -> dict[Any, tuple[str, str]]:
    """The quarantine reason and canonical column of each row whose key another row repeats.

    Identical repeats keep the first; conflicting values keep none, because there is no way to
    know which one is right.

    Args:
        repeated: Valid rows whose :data:`_DUPLICATE_KEY` is not unique, in file order, with
            their ``quantity``, ``cost_gbp`` and physical line (``_line``).

    Returns:
        Row label -> (reason, canonical column) for every row to quarantine.
    """
    out: dict[Any, tuple[str, str]] = {}
    for _, group in repeated.groupby(_DUPLICATE_KEY, sort=False):
        values = group[["quantity", "cost_gbp"]].astype("float64")
        identical = (values.nunique(dropna=False) <= 1).all()
        first_line = int(group["_line"].iloc[0])
        if identical:
            for idx in group.index[1:]:
                out[idx] = (f"duplicate row (same key and values as line {first_line})", "vmp_code")
        else:
            lines_txt = ", ".join(str(int(x)) for x in group["_line"])
            for idx in group.index:
                out[idx] = (f"duplicate key with a different value (lines {lines_txt})", "quantity")
    return out


def _read_gzip_usage(path: Path, known_trusts: Iterable[str] | None) -> LoadResult:
    """Read a gzip-compressed CSV by decompressing it aside; every message names ``path``."""
    import gzip
    import shutil
    import tempfile

    if not path.is_file():
        raise UnusableFileError(path, "the file does not exist", "Check the path and file name")
    with tempfile.TemporaryDirectory(prefix="medlib-gz-") as folder:
        plain = Path(folder) / path.name[: -len(".gz")]
        try:
            with gzip.open(path, "rb") as source, plain.open("wb") as target:
                shutil.copyfileobj(source, target, 1 << 20)
        except (OSError, EOFError) as exc:
            raise UnusableFileError(
                path,
                f"it is not a complete gzip file ({exc})",
                "Download it again, or pass the uncompressed CSV",
            ) from None
        try:
            result = read_usage(plain, known_trusts)
        except UnusableFileError as exc:
            raise UnusableFileError(path, exc.problem, exc.fix) from None
    result.quarantine["file"] = str(path)
    result.data["source"] = path.name
    result.summary.file = str(path)
    return result


def reason_counts(quarantine: pd.DataFrame) -> dict[str, int]:
    """Quarantined rows per reason, for a load summary.

    Duplicate reasons name the lines involved ("... (lines 2, 4)", "... (same values as line
    2)"); those details are dropped here so the summary has one line per kind of problem.
    """
    generic = quarantine["reason"].str.replace(
        r" \((lines|same key|same values)[^)]*\)$", "", regex=True
    )
    return {str(k): int(v) for k, v in generic.value_counts().items()}
