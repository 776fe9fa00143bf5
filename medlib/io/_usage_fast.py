"""SCMD CSV files read column by column in Arrow, row for row as :func:`read_usage` reads them.

``medlib ingest`` of national SCMD files spends most of its time validating millions of rows
that hold a few dozen months, a few hundred trusts and a few thousand products. This module reads
a CSV (or ``.csv.gz``) with the same Arrow CSV parser as the reference reader
(:func:`medlib.io.usage.read_usage`), then runs the reference's own checks once per *distinct*
value of each column and maps the verdicts back to the rows. The numbers are the exception: they
are mostly distinct, so plain decimals are cast in Arrow (which gives the same double as
pandas for them, see :func:`_numbers`) and only the other values go through the reference's
number parser. The accepted rows come out as an Arrow table in the store's schema, sorted as the
store keeps them; the quarantined rows, their reasons and the summary are the reference's, value
for value.

Whatever this path is not sure to read exactly as the reference does, it hands back to the
reference: other layouts' containers (Parquet), files the reference refuses, files whose line
numbers Arrow cannot give (blank lines, quoted newlines, ragged rows), and files with a number
whose value pandas takes from the column as a whole (see :func:`_numbers`).
:func:`load_usage` always answers, through this path or the reference.
"""

from __future__ import annotations

import functools
import gzip
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from medlib.errors import MedlibError
from medlib.io.usage import (
    _CODE,
    _CONTROL,
    _ODS,
    _OTHER_DELIMITERS,
    _REASONS,
    LoadResult,
    LoadSummary,
    UnusableFileError,
    _duplicate_reasons,
    _match_layout,
    _parse_months,
    _read_csv_arrow,
    parse_numbers,
    read_usage,
    reason_counts,
)
from medlib.reference.trusts import normalise_codes

__all__ = [
    "USAGE_ARROW_SCHEMA",
    "ArrowLoad",
    "load_usage",
    "month_slices",
    "read_usage_fast",
    "to_arrow",
]

#: The canonical ``usage`` rows as the store writes them (``year_month`` as a date).
USAGE_ARROW_SCHEMA = pa.schema(
    [
        ("year_month", pa.date32()),
        ("trust_code", pa.string()),
        ("vmp_code", pa.string()),
        ("vmp_name", pa.string()),
        ("unit", pa.string()),
        ("quantity", pa.float64()),
        ("cost_gbp", pa.float64()),
        ("source", pa.string()),
    ]
)
#: Decimals pandas and Arrow read to the same double: at most 15 characters, so at most 15
#: digits (an exact integer below 2**53) and at most 15 decimals (an exact power of ten), and
#: the value is one correctly rounded division for both. Integers whose sign is a minus and
#: whose digits are all zero are left out: pandas gives 0.0 or -0.0 depending on the column.
_PLAIN_NUMBER = r"^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)$"
_PLAIN_NUMBER_CHARS = 15
_NEGATIVE_ZERO_INTEGER = r"^-0+$"
_INTEGER_LIKE = re.compile(r"^[^.eE]*$")


class _NotExact(MedlibError):
    """This file is not one the fast path reads exactly as the reference does."""


@dataclass
class ArrowLoad:
    """One file's accepted rows as Arrow, its quarantined rows and its summary.

    Attributes:
        data: Accepted rows in :data:`USAGE_ARROW_SCHEMA`, sorted by ``year_month``,
            ``trust_code`` and ``vmp_code`` (no two rows share them).
        quarantine: Rejected rows, as :attr:`medlib.io.usage.LoadResult.quarantine`.
        summary: As :attr:`medlib.io.usage.LoadResult.summary`.
        fast: Whether the rows were read here (True) or by the reference reader (False).
    """

    data: pa.Table
    quarantine: pd.DataFrame
    summary: LoadSummary
    fast: bool


def load_usage(
    path: str | Path,
    known_trusts: Iterable[str] | None = None,
    *,
    blob: bytes | None = None,
    source: str | None = None,
) -> ArrowLoad:
    """Read one usage file of any layout :func:`read_usage` reads, fast where that is exact.

    Args:
        path: The file.
        known_trusts: ODS codes to accept; None uses the bundled trust reference.
        blob: The file's bytes, if already read (as an ingest does to hash them).
        source: The ``source`` of every accepted row; None uses the file's name, as
            :func:`read_usage` does.

    Returns:
        The load, through :func:`read_usage_fast` or else :func:`read_usage`.

    Raises:
        UnusableFileError: As :func:`read_usage`.
    """
    path = Path(path)
    fast = read_usage_fast(path, known_trusts, blob=blob, source=source)
    if fast is not None:
        return fast
    result = read_usage(path, known_trusts)
    return ArrowLoad(
        to_arrow(result, source or path.name), result.quarantine, result.summary, fast=False
    )


def to_arrow(result: LoadResult, source: str) -> pa.Table:
    """The accepted rows of a :func:`read_usage` result as :class:`ArrowLoad` holds them."""
    frame = result.data
    days = frame["year_month"].to_numpy(dtype="datetime64[D]").astype("int32")
    columns = {"year_month": pa.array(days, pa.date32())}
    for name in ("trust_code", "vmp_code", "vmp_name", "unit"):
        columns[name] = pa.Array.from_pandas(frame[name], type=pa.string())
    for name in ("quantity", "cost_gbp"):
        columns[name] = pa.Array.from_pandas(frame[name], type=pa.float64())
    columns["source"] = _repeat(source, len(frame))
    table = pa.table(columns, schema=USAGE_ARROW_SCHEMA)
    return table.sort_by([(c, "ascending") for c in ("year_month", "trust_code", "vmp_code")])


def month_slices(table: pa.Table, column: str = "year_month") -> Iterator[tuple[str, pa.Table]]:
    """``(YYYY-MM, rows)`` for each month of a table sorted by its month column, in order."""
    if not table.num_rows:
        return
    days = table.column(column).cast(pa.int32()).to_numpy()
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    starts = np.flatnonzero(np.r_[True, months[1:] != months[:-1]])
    ends = np.r_[starts[1:], len(months)]
    for start, end in zip(starts, ends, strict=True):
        yield str(months[start]), table.slice(int(start), int(end - start))


def read_usage_fast(
    path: str | Path,
    known_trusts: Iterable[str] | None = None,
    *,
    blob: bytes | None = None,
    source: str | None = None,
) -> ArrowLoad | None:
    """Read an SCMD CSV (any layout, plain or gzip) in Arrow, exactly as :func:`read_usage` would.

    Args:
        path: A ``.csv`` or ``.csv.gz`` file.
        known_trusts: ODS codes to accept; None uses the bundled trust reference.
        blob: The file's bytes, if already read.
        source: The ``source`` of every accepted row; None uses the file's name.

    Returns:
        The load, or None when the file is one for the reference reader (see the module's
        description): then nothing about it has been decided.
    """
    path = Path(path)
    name = path.name.lower()
    if not (name.endswith(".csv") or name.endswith(".csv.gz")) or not path.is_file():
        return None
    if blob is None:
        blob = path.read_bytes()
    if name.endswith(".gz"):
        try:
            # As the reference decompresses: GzipFile, so what it refuses is refused here too.
            with gzip.GzipFile(fileobj=io.BytesIO(blob)) as handle:
                blob = handle.read()
        except (OSError, EOFError):
            return None
    try:
        return _read(path, blob, known_trusts, source or path.name, gzipped=name.endswith(".gz"))
    except _NotExact:
        return None
    except (pa.ArrowCapacityError, pa.ArrowInvalid):
        # A column past what one Arrow array holds (2 GiB of text): the reference reads it.
        return None


# --------------------------------------------------------------------------- the read


def _structure_ok(blob: bytes) -> bool:
    """Whether the reference's structural checks pass (else it raises; let it)."""
    if not blob:
        return False
    if not blob.isascii():
        try:
            blob.decode("utf-8")
        except UnicodeDecodeError:
            return False
    head = blob[: 1 << 16]
    if b"\r" in head and b"\n" not in head:
        return False
    # The reference reads the header line in text mode, where "\r" alone also ends a line.
    with io.TextIOWrapper(io.BytesIO(blob), encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
    if not first.strip():
        return False
    return "," in first or not any(d in first for d in _OTHER_DELIMITERS)


def _read(
    path: Path, blob: bytes, known_trusts: Iterable[str] | None, source: str, gzipped: bool
) -> ArrowLoad:
    if not _structure_ok(blob):
        raise _NotExact
    # The whole file is valid UTF-8 (checked above) and fields are cut from it at ASCII
    # delimiters, so every field is too: Arrow need not check them again.
    raw = _read_csv_arrow(pa.py_buffer(blob), blob, check_utf8=False)
    if raw is None or raw.num_rows == 0:
        raise _NotExact
    try:
        layout, mapping = _match_layout(path, raw.column_names)
    except UnusableFileError:
        raise _NotExact from None
    if known_trusts is None:
        from medlib.reference.trusts import known_trust_codes

        known_trusts = known_trust_codes()
    known = set(known_trusts)

    # Each check runs once per distinct value; ``failed`` holds each row's first failing check
    # (its number in _CHECKS, 0 for none), the checks being in the reference's order.
    month = _Distinct(raw.column(mapping["year_month"]))
    parsed_u, month_reason_u = _parse_months(month.text)
    month_reason_u = month_reason_u.to_numpy(dtype=object)
    failed = month.rows(_first((month_reason_u != "", "year_month")))

    trust = _Distinct(raw.column(mapping["trust_code"]))
    trust_u = normalise_codes(trust.text)
    trust_text_u = trust_u.to_numpy(dtype=object, na_value="")
    blank_u = trust_text_u == ""
    ok_u = _each(trust_text_u, _ODS)
    unknown_u = _mask(trust_u.isin(known))
    trust_fail_u = _first(
        (blank_u, "missing_trust"),
        (~blank_u & ~ok_u, "malformed_trust"),
        (~blank_u & ok_u & ~unknown_u, "unknown_trust"),
    )
    failed = _then(failed, trust.rows(trust_fail_u))

    vmp = _Distinct(raw.column(mapping["vmp_code"]))
    vmp_u = vmp.text.str.strip()
    vmp_text_u = vmp_u.to_numpy(dtype=object, na_value="")
    blank_u = vmp_text_u == ""
    failed = _then(
        failed,
        vmp.rows(
            _first(
                (blank_u, "missing_vmp"), (~blank_u & ~_each(vmp_text_u, _CODE), "malformed_vmp")
            )
        ),
    )

    quantity, q_failed = _numbers(
        raw.column(mapping["quantity"]), "missing_quantity", "bad_quantity"
    )
    failed = _then(failed, q_failed)
    if "cost_gbp" in mapping:
        cost, c_failed = _numbers(raw.column(mapping["cost_gbp"]), None, "bad_cost")
        with np.errstate(invalid="ignore"):
            negative = (c_failed == 0) & (cost < 0) & ~(quantity < 0)
        c_failed[negative] = _CHECK["negative_cost"]
        failed = _then(failed, c_failed)
    else:
        cost = np.full(raw.num_rows, np.nan)
    for canon, check in (("vmp_name", "control_name"), ("unit", "control_unit")):
        if canon in mapping:
            names = _Distinct(raw.column(mapping[canon]))
            text_u = names.text.to_numpy(dtype=object, na_value="")
            control = np.fromiter(
                (bool(_CONTROL.search(v)) for v in text_u), dtype=bool, count=len(text_u)
            )
            failed = _then(failed, names.rows(_first((control, check))))

    # The accepted rows in the order the store keeps a month (by the text of the canonical
    # codes), found with their key, which also shows any key that two rows share.
    month_days_u = parsed_u.to_numpy(dtype="datetime64[D]").astype("int64")
    ranks = (
        month.rows(_ranks(month_days_u)),
        trust.rows(_ranks(trust_text_u)),
        vmp.rows(_ranks(vmp_text_u)),
    )
    keys = month.size * trust.size * vmp.size
    if keys >= 2**62:
        raise _NotExact  # the key would not fit 64 bits (a file of mostly distinct garbage)
    key = (ranks[0] * trust.size + ranks[1]) * vmp.size + ranks[2]
    valid = np.flatnonzero(failed == 0)
    order = _sorted_if_unique(key, valid, keys)
    duplicate: dict[int, tuple[str, str]] = {}
    if order is None:
        order = valid[np.argsort(key[valid], kind="stable")]
        repeats = key[order][1:] == key[order][:-1]
        rows = np.sort(order[np.flatnonzero(np.r_[repeats, False] | np.r_[False, repeats])])
        frame = pd.DataFrame(
            {
                "year_month": ranks[0][rows],
                "trust_code": ranks[1][rows],
                "vmp_code": ranks[2][rows],
                "quantity": quantity[rows],
                "cost_gbp": cost[rows],
                "_line": rows + 2,
            },
            index=rows,
        )
        duplicate = {int(i): v for i, v in _duplicate_reasons(frame).items()}
        order = order[~np.isin(order, np.fromiter(duplicate, dtype=np.int64))]

    quarantine = _quarantine(
        path, raw, mapping, failed, (month, month_reason_u), duplicate, gzipped
    )
    month_days = month_days_u.astype("int32")[month.codes[order]]
    accepted_quantity, accepted_cost = quantity[order], cost[order]
    data = pa.table(
        {
            "year_month": pa.array(month_days, pa.date32()),
            "trust_code": trust.take(trust_u, order),
            "vmp_code": vmp.take(vmp_u, order),
            "vmp_name": _names(raw, mapping, "vmp_name", order),
            "unit": _names(raw, mapping, "unit", order),
            "quantity": pa.array(accepted_quantity, pa.float64()),
            "cost_gbp": pa.array(accepted_cost, pa.float64(), from_pandas=True),
            "source": _repeat(source, len(order)),
        },
        schema=USAGE_ARROW_SCHEMA,
    )
    summary = LoadSummary(
        file=str(path),
        layout=layout,
        rows_read=raw.num_rows,
        rows_accepted=len(order),
        rows_quarantined=len(quarantine),
        rows_without_cost=int(np.isnan(accepted_cost).sum()),
        rows_negative_quantity=int((accepted_quantity < 0).sum()),
        first_month=_month_text(month_days[0]) if len(order) else None,
        last_month=_month_text(month_days[-1]) if len(order) else None,
        trusts=int(np.count_nonzero(np.bincount(ranks[1][order]))),
        products=int(np.count_nonzero(np.bincount(ranks[2][order]))),
        has_cost_column="cost_gbp" in mapping,
        reasons=reason_counts(quarantine),
    )
    return ArrowLoad(data, quarantine, summary, fast=True)


#: The reference's row checks in its order: (canonical column, reason key); the month check's
#: reason is the parser's, per value.
_CHECKS = (
    ("year_month", ""),
    ("trust_code", "missing_trust"),
    ("trust_code", "malformed_trust"),
    ("trust_code", "unknown_trust"),
    ("vmp_code", "missing_vmp"),
    ("vmp_code", "malformed_vmp"),
    ("quantity", "missing_quantity"),
    ("quantity", "bad_quantity"),
    ("cost_gbp", "bad_cost"),
    ("cost_gbp", "negative_cost"),
    ("vmp_name", "control_name"),
    ("unit", "control_unit"),
)
_CHECK = {"year_month": 1} | {reason: n for n, (_, reason) in enumerate(_CHECKS, start=1) if reason}


def _first(*checks: tuple[np.ndarray, str]) -> np.ndarray:
    """The number of the first of these checks that fails, per element (0 for none)."""
    out = np.zeros(len(checks[0][0]), dtype=np.int16)
    for mask, reason in checks:
        out[(out == 0) & mask] = _CHECK[reason]
    return out


def _then(failed: np.ndarray, later: np.ndarray) -> np.ndarray:
    """Rows' first failing check, given their earlier checks' and later checks' numbers."""
    return np.where(failed == 0, later, failed).astype(np.int16, copy=False)


def _each(values: np.ndarray, pattern: re.Pattern[str]) -> np.ndarray:
    """Whether each distinct value matches ``pattern``, as the reference's ``_matches``."""
    return np.fromiter((bool(pattern.match(v)) for v in values), dtype=bool, count=len(values))


def _mask(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype=bool)


def _sorted_if_unique(key: np.ndarray, rows: np.ndarray, size: int) -> np.ndarray | None:
    """``rows`` by ascending ``key`` (from 0 to ``size - 1``), or None if two share a key.

    A key is a position in a table of every possible key, so one pass places each row; a
    table much larger than the file (or than a quarter of a GiB), or a shared key, is left to a
    sort.
    """
    if size > min(max(4 * len(key), 1 << 16), 1 << 25):
        return None
    slot = np.full(size, -1, dtype=np.int64)
    slot[key[rows]] = rows
    order = slot[slot >= 0]
    return order if len(order) == len(rows) else None


class _Distinct:
    """A text column as its distinct values and each row's code for its value."""

    def __init__(self, column: pa.ChunkedArray) -> None:
        text = column.combine_chunks()
        # A column of one value throughout (the month of a monthly file, the unit of an
        # extract) is common; comparing is cheaper than hashing. A sample tells first.
        first = text[:1]
        if len(text) and _all_equal(text[:1000], first) and _all_equal(text, first):
            self.codes = np.zeros(len(text), dtype=np.int32)
            self.dictionary = first
        else:
            encoded = pc.dictionary_encode(text)
            self.codes = encoded.indices.to_numpy()
            self.dictionary = encoded.dictionary
        self.size = max(len(self.dictionary), 1)

    @functools.cached_property
    def text(self) -> pd.Series:
        """The distinct values as the reference's column holds them (pandas text).

        Built as the reference builds its columns (Arrow text -> pandas -> str), so each check
        sees each value exactly as it sees it in the whole column.
        """
        return pa.table({"v": self.dictionary}).to_pandas()["v"].astype(str)

    def rows(self, per_value: np.ndarray) -> np.ndarray:
        """A per-distinct-value array spread over the rows."""
        return per_value[self.codes]

    def take(self, per_value: pd.Series, rows: np.ndarray) -> pa.Array:
        """Per-distinct-value text (None or NaN as null) at the given rows, as Arrow."""
        dictionary = pa.Array.from_pandas(per_value, type=pa.string())
        return dictionary.take(pa.array(self.codes[rows]))


def _all_equal(text: pa.Array, value: pa.Array) -> bool:
    return bool(pc.all(pc.equal(text, value[0])).as_py())


def _ranks(values: np.ndarray) -> np.ndarray:
    """Each value's position among the sorted distinct values (equal values, equal ranks)."""
    _, inverse = np.unique(values, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)


def _numbers(
    column: pa.ChunkedArray, blank_check: str | None, bad_check: str
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's number (NaN if blank or bad) and failed check, as the reference reads them.

    The reference reads numbers with :func:`medlib.io.usage.parse_numbers`: pandas'
    ``to_numeric`` parses a column with its own decimal parser, except that a column of integers
    alone (no blank, no decimal point anywhere) is read as integers and then converted. The two
    agree on every plain decimal of up to 15 characters (see ``_PLAIN_NUMBER``), and so does
    Arrow's cast: those are cast here. Every other distinct value goes through
    ``parse_numbers``; those it rejects or finds blank are the same whatever the column holds,
    and so are decimals it accepts. An accepted integer of another form (long, padded) would
    depend on the whole column, so its file goes to the reference reader.

    Args:
        column: The number column's text.
        blank_check: The check a blank value fails, or None if blank is allowed.
        bad_check: The check a value that is not a finite number fails.

    Raises:
        _NotExact: The column holds such an integer.
    """
    distinct = _Distinct(column)
    text = distinct.dictionary
    plain = pc.and_(
        pc.match_substring_regex(text, _PLAIN_NUMBER),
        pc.less_equal(pc.binary_length(text), _PLAIN_NUMBER_CHARS),
    )
    plain = pc.and_not(plain, pc.match_substring_regex(text, _NEGATIVE_ZERO_INTEGER))
    values = pc.cast(pc.if_else(plain, text, pa.scalar(None, pa.string())), pa.float64())
    floats = values.to_numpy(zero_copy_only=False).astype(np.float64, copy=True)
    blank = pc.equal(text, "").to_numpy(zero_copy_only=False)
    bad = np.zeros(len(text), dtype=bool)
    other = np.flatnonzero(~plain.to_numpy(zero_copy_only=False) & ~blank)
    if len(other):
        numbers, other_blank, other_bad = parse_numbers(distinct.text.iloc[other])
        good = (~other_blank & ~other_bad).to_numpy(dtype=bool)
        if any(_INTEGER_LIKE.match(v) for v in distinct.text.iloc[other][good]):
            raise _NotExact
        floats[other] = numbers.to_numpy(dtype=np.float64)
        blank[other] = other_blank.to_numpy(dtype=bool)
        bad[other] = other_bad.to_numpy(dtype=bool)
    checks = [(bad, bad_check)] if blank_check is None else [(blank, blank_check), (bad, bad_check)]
    return distinct.rows(floats), distinct.rows(_first(*checks))


def _names(raw: pa.Table, mapping: dict[str, str], canon: str, rows: np.ndarray) -> pa.Array:
    """A free-text column (name, unit) stripped, empty as null; all null when absent."""
    if canon not in mapping:
        return pa.nulls(len(rows), pa.string())
    names = _Distinct(raw.column(mapping[canon]))
    return names.take(names.text.str.strip().replace("", None), rows)


def _quarantine(
    path: Path,
    raw: pa.Table,
    mapping: dict[str, str],
    failed: np.ndarray,
    month_reasons: tuple[_Distinct, np.ndarray],
    duplicate: dict[int, tuple[str, str]],
    gzipped: bool,
) -> pd.DataFrame:
    """The rejected rows as the reference lists them: by line, its first reason, raw value."""
    rows = np.flatnonzero(failed != 0)
    if duplicate:
        rows = np.sort(np.r_[rows, np.fromiter(duplicate, dtype=np.int64)])
    columns = np.empty(len(rows), dtype=object)
    values = np.empty(len(rows), dtype=object)
    reasons = np.empty(len(rows), dtype=object)
    codes = failed[rows]
    for number, (canon, reason) in enumerate(_CHECKS, start=1):
        at = np.flatnonzero(codes == number)
        if not len(at):
            continue
        columns[at] = mapping[canon]
        values[at] = raw.column(mapping[canon]).take(pa.array(rows[at])).to_pylist()
        if canon == "year_month":
            month, reason_u = month_reasons
            reasons[at] = reason_u[month.codes[rows[at]]]
        else:
            reasons[at] = _REASONS[reason]
    for position in np.flatnonzero(codes == 0):  # the repeated keys
        reason, canon = duplicate[int(rows[position])]
        columns[position] = mapping[canon]
        values[position] = raw.column(mapping[canon])[int(rows[position])].as_py()
        reasons[position] = reason
    quarantine = pd.DataFrame(
        {
            "file": str(path),
            "line": pd.Series(rows + 2, dtype="int64"),
            "column": pd.Series(columns, dtype=object),
            "value": pd.Series(values, dtype=object),
            "reason": pd.Series(reasons, dtype=object),
        }
    )
    if gzipped:
        # The reference names the compressed file by assigning it afterwards; so here, so
        # that the column's type is the same too.
        quarantine["file"] = str(path)
    return quarantine


def _repeat(text: str, n: int) -> pa.Array:
    """``n`` times the same text, built from its buffers (one copy of the bytes)."""
    data = text.encode("utf-8")
    offsets = np.arange(n + 1, dtype=np.int64) * len(data)
    if offsets[-1] >= 2**31:
        return pa.nulls(n, pa.string()).fill_null(text)
    buffers = [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data * n)]
    return pa.Array.from_buffers(pa.string(), n, buffers)


def _month_text(days: int) -> str:
    return str(np.datetime64(int(days), "D").astype("datetime64[M]"))
