"""The data store: one folder of month-partitioned Parquet that reports read, and its ingest.

A store is a folder::

    <store>/
      usage/month=2024-05/data.parquet   one file per month (Hive style: DuckDB and Spark read
      usage/month=2024-06/data.parquet   ``usage/*/*.parquet`` as it is)
      ingest_log.jsonl                   one JSON line per ingest: file, SHA-256, release, months,
                                         rows read / accepted / quarantined, time, medlib version
      quarantine/<file>.<sha>.quarantine.csv   every rejected row, with file, line and reason

Rows come in through :func:`ingest`, which reads each file with the project's validating reader
(:func:`medlib.io.usage.read_usage`: every row read is accepted or quarantined with a reason);
CSV files (plain or gzip-compressed) take a vectorised path that gives exactly that reader's
rows, reasons and summary (``medlib.io._usage_fast``), and the next files are read while one is
written. Each file belongs to a *stream* (the published national SCMD files are the stream
``scmd``; an extract is its own stream, named after the file) and has a *release* taken from its
name: ``final`` > ``provisional`` > ``wip`` > ``unclassified``. For each month a file covers,
its rows replace that stream's rows of the month, unless the store already holds a higher
release of it (then the store keeps what it has and says so); the same file twice changes
nothing.

A month is replaced whole and atomically. The new month files are written aside (hidden
``.tmp`` files that readers ignore), then a journal listing the swaps is written, then each
file is swapped in with ``os.replace``. A process killed while writing aside leaves the store as
it was; one killed during the swaps is completed the next time the store is opened, so a reader
never sees half a month and an ingest is never half applied. Parquet metadata in each month file
records which file and release each stream's rows came from, so the files themselves are the
truth and :func:`store_status` reads them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from medlib import __version__
from medlib.errors import MedlibError
from medlib.io.cells import neutralise_frame

if TYPE_CHECKING:
    from medlib.io.usage import LoadSummary

__all__ = [
    "RELEASE_RANK",
    "IngestResult",
    "MonthOutcome",
    "Store",
    "StoreError",
    "StoreStatus",
    "StreamInfo",
    "TABLES",
    "TableSpec",
    "ingest",
    "release_type",
    "store_status",
    "stream_name",
]

#: Releases in the order one may replace another (a higher one replaces a lower one).
RELEASE_RANK = {"unclassified": 0, "wip": 1, "provisional": 2, "final": 3}
LOG_FILE = "ingest_log.jsonl"
JOURNAL_FILE = "_pending.json"
LOCK_FILE = ".lock"
PARTITION_FILE = "data.parquet"
_META_KEY = b"medlib"
_RELEASE = re.compile(r"(?:^|[_\-. ])(final|provisional|wip)(?=$|[_\-. ])", re.IGNORECASE)
_MONTH_TOKEN = re.compile(r"(?:^|[_\-. ])(\d{4}-?\d{2})(?=$|[_\-. ])")
_SUFFIXES = (".csv.gz", ".csv", ".parquet", ".pq", ".gz")
#: Files read and validated at once ahead of the one being written (the machines have two cores).
_READ_AHEAD = 2

USAGE_SCHEMA = pa.schema(
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


HCD_SCHEMA = pa.schema(
    [
        ("patient_id", pa.string()),
        ("trust_code", pa.string()),
        ("activity_date", pa.date32()),
        ("molecule", pa.string()),
        ("product", pa.string()),
        ("indication", pa.string()),
        ("quantity", pa.float64()),
        ("cost_gbp", pa.float64()),
        ("source", pa.string()),
        # Which eye was treated (left or right), when the file says; empty when it does not.
        ("eye", pa.string()),
    ]
)
#: Columns a file may leave out: they are stored empty (month files written before a column
#: was added read it as empty too).
OPTIONAL_COLUMNS = {"hcd_activity": ("eye",)}


@dataclass(frozen=True)
class TableSpec:
    """How one table of the store is laid out.

    Attributes:
        name: The table's folder.
        schema: Its Parquet schema (codes and pseudonyms as text, dates as dates).
        month_column: The date column its months come from.
        sort: Columns each month file is sorted by.
    """

    name: str
    schema: pa.Schema
    month_column: str
    sort: tuple[str, ...]


#: The store's month-partitioned tables.
TABLES = {
    "usage": TableSpec("usage", USAGE_SCHEMA, "year_month", ("trust_code", "vmp_code", "source")),
    "hcd_activity": TableSpec(
        "hcd_activity", HCD_SCHEMA, "activity_date", ("trust_code", "patient_id", "activity_date")
    ),
}


class StoreError(MedlibError, ValueError):
    """A folder that is not a usable store, or a store that cannot take this ingest."""


@dataclass(frozen=True)
class StreamInfo:
    """Where one stream's rows of one month came from."""

    stream: str
    release: str
    file: str
    sha256: str
    rows: int
    ingested_at: str


@dataclass(frozen=True)
class MonthOutcome:
    """What an ingest did with one month of one file.

    ``action`` is ``added`` (a month the stream did not have), ``replaced`` (a lower or equal
    release was there), ``unchanged`` (this very file was there) or ``kept`` (a higher release
    was there and stays).
    """

    month: str
    action: str
    detail: str = ""


@dataclass
class IngestResult:
    """One file's ingest: its identity, its load summary and what happened to each month."""

    file: str
    sha256: str
    stream: str
    release: str
    summary: LoadSummary
    months: list[MonthOutcome] = field(default_factory=list)
    quarantine_file: str | None = None

    @property
    def changed(self) -> bool:
        """Whether the ingest changed the store."""
        return any(m.action in ("added", "replaced") for m in self.months)

    def lines(self) -> list[str]:
        """Plain-English lines for the command line."""
        out = [f"{self.file}: stream {self.stream!r}, release {self.release}"]
        out += self.summary.lines()[1:]
        if self.quarantine_file:
            out.append(f"  quarantined rows written to {self.quarantine_file}")
        for m in self.months:
            out.append(f"  {m.month}: {m.action}" + (f" ({m.detail})" if m.detail else ""))
        if not self.changed:
            out.append("  nothing in the store changed")
        return out


def release_type(name: str) -> str:
    """The release a file name declares: ``final``, ``provisional``, ``wip`` or ``unclassified``.

    Example:
        >>> release_type("scmd_final_202406.csv"), release_type("SCMD_WIP_202407.csv.gz")
        ('final', 'wip')
        >>> release_type("scmd_lithium.parquet")
        'unclassified'
    """
    match = _RELEASE.search(Path(name).name)
    return match.group(1).lower() if match else "unclassified"


def stream_name(name: str) -> str:
    """The stream a file belongs to: its name without release, months and suffix.

    Example:
        >>> stream_name("scmd_provisional_202405.csv"), stream_name("scmd_final_2024-06.csv.gz")
        ('scmd', 'scmd')
        >>> stream_name("scmd_lithium.parquet")
        'scmd_lithium'
    """
    base = Path(name).name.lower()
    for suffix in _SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    base = _RELEASE.sub("_", base)
    base = _MONTH_TOKEN.sub("_", base)
    base = re.sub(r"[^a-z0-9]+", "_", base).strip("_")
    return base or "usage"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """A store folder (created when ``create`` is true), recovered on opening.

    Args:
        root: The store's folder.
        create: Create the folder if it does not exist.

    Raises:
        StoreError: The folder does not exist (and ``create`` is false) or is a file.
    """

    def __init__(self, root: str | os.PathLike[str], create: bool = False) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"store {self.root} is a file; give a folder for the store")
        if not self.root.exists():
            if not create:
                raise StoreError(
                    f"there is no store at {self.root}; create one with "
                    f"'medlib ingest FILE --store {self.root}'"
                )
            try:
                self.root.mkdir(parents=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create a store at {self.root} ({exc.strerror}); give a folder "
                    "that can be created"
                ) from None
        self.usage_dir = self.root / "usage"
        if self._writable():
            with self._locked():
                self._recover()

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # ------------------------------------------------------------------ reading

    def months(self, table: str = "usage") -> list[str]:
        """Months with rows in ``table``, ``YYYY-MM``, in order."""
        return sorted(p.parent.name.split("=", 1)[1] for p in self.files(table))

    def files(self, table: str = "usage") -> list[Path]:
        """The month files of ``table``."""
        folder = self.root / _spec(table).name
        if not folder.is_dir():
            return []
        return sorted(folder.glob(f"month=*/{PARTITION_FILE}"))

    def usage_files(self) -> list[Path]:
        """The month files of the ``usage`` table."""
        return self.files("usage")

    def glob(self, table: str = "usage") -> str:
        """The pattern DuckDB or Spark reads ``table`` with."""
        return str(self.root / _spec(table).name / "*" / "*.parquet")

    def usage_glob(self) -> str:
        """The pattern DuckDB or Spark reads the ``usage`` table with."""
        return self.glob("usage")

    def partition(self, month: str, table: str = "usage") -> Path:
        """The file holding one month's rows of ``table``."""
        return self.root / _spec(table).name / f"month={month}" / PARTITION_FILE

    def streams(self, month: str, table: str = "usage") -> dict[str, StreamInfo]:
        """Which file and release each stream's rows of ``month`` came from."""
        path = self.partition(month, table)
        if not path.exists():
            return {}
        return _streams_of(pq.read_schema(path))

    def read(self, table: str = "usage", months: Sequence[str] | None = None) -> pd.DataFrame:
        """A table's rows as a canonical pandas frame (for small stores and tests).

        Reports read the store in the engine instead (see :meth:`glob`). ``hcd_activity`` holds
        pseudonymised patient ids: analysts only, never a lead-facing output.
        """
        spec = _spec(table)
        paths = [self.partition(m, table) for m in months] if months else self.files(table)
        paths = [p for p in paths if p.exists()]
        if not paths:
            return _empty(spec)
        frame = pa.concat_tables([pq.read_table(p, schema=spec.schema) for p in paths]).to_pandas()
        frame[spec.month_column] = pd.to_datetime(frame[spec.month_column]).astype("datetime64[ns]")
        return frame.reset_index(drop=True)

    def read_usage(self, months: Sequence[str] | None = None) -> pd.DataFrame:
        """The ``usage`` rows as a canonical pandas table (see :meth:`read`)."""
        return self.read("usage", months)

    def log(self) -> pd.DataFrame:
        """The ingest log, one row per ingest that changed the store, oldest first."""
        rows = list(_log_entries(self.root / LOG_FILE))
        columns = [
            "ingest_id",
            "table",
            "file",
            "sha256",
            "stream",
            "release",
            "months",
            "rows_read",
            "rows_accepted",
            "rows_quarantined",
            "ingested_at",
            "medlib_version",
        ]
        return pd.DataFrame(rows, columns=columns)

    # ------------------------------------------------------------------ writing

    def _writable(self) -> bool:
        return os.access(self.root, os.W_OK)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.root / LOCK_FILE).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _recover(self) -> None:
        """Finish an ingest whose swaps had begun; drop files of one that had not."""
        journal = self.root / JOURNAL_FILE
        if journal.exists():
            pending = json.loads(journal.read_text(encoding="utf-8"))
            for staged, final in pending["swaps"]:
                if Path(staged).exists():
                    os.replace(staged, final)
            if pending["log"]["ingest_id"] not in set(self.log()["ingest_id"]):
                _append_log(self.root / LOG_FILE, pending["log"])
            journal.unlink()
        for spec in TABLES.values():
            for stray in self.root.glob(f"{spec.name}/month=*/.*.tmp"):
                stray.unlink()
            for folder in self.root.glob(f"{spec.name}/month=*"):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()

    def _commit(self, swaps: list[tuple[Path, Path]], entry: dict) -> None:
        journal = self.root / JOURNAL_FILE
        staged_journal = self.root / f".{JOURNAL_FILE}.{uuid.uuid4().hex}.tmp"
        payload = {"swaps": [[str(a), str(b)] for a, b in swaps], "log": entry}
        staged_journal.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(staged_journal, journal)
        for staged, final in swaps:
            os.replace(staged, final)
        _append_log(self.root / LOG_FILE, entry)
        journal.unlink()


def _spec(table: str) -> TableSpec:
    if table not in TABLES:
        raise StoreError(f"the store has no table {table!r}; its tables are {sorted(TABLES)}")
    return TABLES[table]


def _empty(spec: TableSpec) -> pd.DataFrame:
    frame = spec.schema.empty_table().to_pandas()
    frame[spec.month_column] = pd.to_datetime(frame[spec.month_column]).astype("datetime64[ns]")
    return frame


def _streams_of(schema: pa.Schema) -> dict[str, StreamInfo]:
    meta = (schema.metadata or {}).get(_META_KEY)
    if not meta:
        return {}
    return {k: StreamInfo(**v) for k, v in json.loads(meta)["streams"].items()}


def _log_entries(path: Path) -> Iterator[dict]:
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


def _append_log(path: Path, entry: dict) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _frame_to_arrow(frame: pd.DataFrame, spec: TableSpec) -> pa.Table:
    out = frame.copy()
    for column in OPTIONAL_COLUMNS.get(spec.name, ()):
        if column not in out.columns:
            out[column] = None
    out[spec.month_column] = pd.to_datetime(out[spec.month_column]).dt.date
    table = pa.Table.from_pandas(out[spec.schema.names], schema=spec.schema, preserve_index=False)
    return table.replace_schema_metadata(None)


def _with_streams(table: pa.Table, streams: dict[str, StreamInfo]) -> pa.Table:
    meta = {"streams": {k: asdict(v) for k, v in sorted(streams.items())}, "format": 1}
    return table.replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})


def _write_staged(folder: Path, table: pa.Table) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / f".{PARTITION_FILE}.{uuid.uuid4().hex}.tmp"
    pq.write_table(table, staged, compression="zstd")
    with staged.open("rb") as handle:
        os.fsync(handle.fileno())
    return staged


def ingest(
    files: Iterable[str | os.PathLike[str]],
    store: Store | str | os.PathLike[str],
    *,
    table: str = "usage",
    stream: str | None = None,
    known_trusts: Iterable[str] | None = None,
) -> list[IngestResult]:
    """Read, validate and add files to a store (created if it does not exist).

    Args:
        files: For ``usage``, SCMD files in any layout :func:`medlib.io.usage.read_usage`
            reads (published monthly CSV, gzip-compressed CSV, extracts, Parquet); for
            ``hcd_activity``, files :func:`medlib.io.hcd_activity.read_hcd_activity` reads.
        store: The store, or its folder.
        table: ``usage`` (default) or ``hcd_activity``.
        stream: The stream the files belong to; None takes it from each file's name
            (:func:`stream_name`).
        known_trusts: ODS codes to accept; None uses the bundled trust reference.

    Returns:
        One :class:`IngestResult` per file, in order.

    Raises:
        UnusableFileError: A file cannot be read as a usage table at all (nothing of it is
            stored; files before it are).
    """
    spec = _spec(table)
    store = store if isinstance(store, Store) else Store(store, create=True)
    paths = [Path(f) for f in files]
    known = None if known_trusts is None else frozenset(known_trusts)
    results = []
    with store._locked(), ThreadPoolExecutor(max_workers=_READ_AHEAD) as readers:
        store._recover()
        # Reading and validating a file needs nothing of the store, so the next files are read
        # while this one is written (every core at work); files still change the store one at
        # a time and in order, and a file that cannot be read stops the ingest at that file.
        ahead: deque[Future[_Loaded]] = deque()
        try:
            for i in range(len(paths)):
                while len(ahead) < _READ_AHEAD and i + len(ahead) < len(paths):
                    ahead.append(readers.submit(_load, spec, paths[i + len(ahead)], stream, known))
                results.append(_ingest_one(store, spec, ahead.popleft().result()))
        except BaseException:
            for pending in ahead:
                pending.cancel()  # files after the failure are not read (one may be under way)
            raise
    return results


@dataclass
class _Loaded:
    """One file read and validated, its accepted rows split by month, ready to store."""

    path: Path
    sha256: str
    stream: str
    release: str
    summary: LoadSummary
    quarantine: pd.DataFrame
    months: list[tuple[str, pa.Table]]
    #: Whether each month's rows are already in the order the month file keeps them.
    in_order: bool


def _load(
    spec: TableSpec, path: Path, stream: str | None, known_trusts: frozenset[str] | None
) -> _Loaded:
    # Read once: the bytes are hashed and, for a CSV, parsed from memory.
    blob = path.read_bytes() if path.is_file() else None
    sha = hashlib.sha256(blob).hexdigest() if blob is not None else ""
    name = stream or stream_name(path.name)
    release = release_type(path.name)
    # The validating readers load only when something is ingested, so reports that only read
    # the store start without them.
    if spec.name == "usage":
        from medlib.io._usage_fast import load_usage, month_slices

        usage = load_usage(path, known_trusts, blob=blob, source=name)
        months = list(month_slices(usage.data, spec.month_column))
        return _Loaded(path, sha, name, release, usage.summary, usage.quarantine, months, True)
    from medlib.io.hcd_activity import read_hcd_activity

    result = read_hcd_activity(path, known_trusts)
    frame = result.data
    frame["source"] = name
    table = _frame_to_arrow(frame, spec)
    periods = pd.to_datetime(frame[spec.month_column]).dt.to_period("M").to_numpy()
    months = [
        (f"{period:%Y-%m}", table.take(pa.array(np.flatnonzero(periods == period))))
        for period in sorted(set(periods))
    ]
    return _Loaded(path, sha, name, release, result.summary, result.quarantine, months, False)


def _ingest_one(store: Store, spec: TableSpec, loaded: _Loaded) -> IngestResult:
    path, sha, name, release = loaded.path, loaded.sha256, loaded.stream, loaded.release
    result = IngestResult(str(path), sha, name, release, loaded.summary)
    if len(loaded.quarantine):
        folder = store.root / "quarantine"
        folder.mkdir(exist_ok=True)
        target = folder / f"{path.name}.{sha[:12]}.quarantine.csv"
        neutralise_frame(loaded.quarantine).to_csv(target, index=False)
        result.quarantine_file = str(target)
    rank = RELEASE_RANK[release]
    swaps: list[tuple[Path, Path]] = []
    ingested_at = _now()
    try:
        for month, rows in loaded.months:
            streams = store.streams(month, spec.name)
            there = streams.get(name)
            if there is not None and there.sha256 == sha:
                result.months.append(MonthOutcome(month, "unchanged", "this file is already in"))
                continue
            if there is not None and RELEASE_RANK[there.release] > rank:
                result.months.append(
                    MonthOutcome(
                        month,
                        "kept",
                        f"the store keeps the {there.release} release from "
                        f"{Path(there.file).name}; this {release} file does not replace it",
                    )
                )
                continue
            target = store.partition(month, spec.name)
            others = _other_streams(target, streams, name, spec)
            streams[name] = StreamInfo(name, release, path.name, sha, rows.num_rows, ingested_at)
            merged = _merged(others, rows.cast(spec.schema), spec, loaded.in_order)
            staged = _write_staged(target.parent, _with_streams(merged, streams))
            swaps.append((staged, target))
            detail = "" if there is None else f"was the {there.release} release from {there.file}"
            result.months.append(
                MonthOutcome(month, "added" if there is None else "replaced", detail)
            )
    except BaseException:
        for staged, _ in swaps:
            staged.unlink(missing_ok=True)
        raise
    # A file whose every row was quarantined changes no month, but is still logged: its rows
    # are accounted for in the log as well as in the quarantine file.
    logged = not swaps and sha in set(store.log()["sha256"])
    if swaps or (not result.months and not logged):
        summary = loaded.summary
        entry = {
            "ingest_id": uuid.uuid4().hex,
            "file": path.name,
            "sha256": sha,
            "table": spec.name,
            "stream": name,
            "release": release,
            "months": [m.month for m in result.months if m.action in ("added", "replaced")],
            "rows_read": summary.rows_read,
            "rows_accepted": summary.rows_accepted,
            "rows_quarantined": summary.rows_quarantined,
            "ingested_at": ingested_at,
            "medlib_version": __version__,
        }
        store._commit(swaps, entry)
    return result


def _other_streams(
    target: Path, streams: dict[str, StreamInfo], name: str, spec: TableSpec
) -> pa.Table | None:
    """The rows of a month file that other streams than ``name`` hold; None if there are none.

    A month file whose metadata names only this stream is not read: all its rows are
    replaced.
    """
    if not target.exists() or (streams and set(streams) <= {name}):
        return None
    rows = pq.read_table(target, schema=spec.schema).replace_schema_metadata(None)
    rows = rows.filter(pc.not_equal(rows.column("source"), name))
    return rows if rows.num_rows else None


def _merged(others: pa.Table | None, rows: pa.Table, spec: TableSpec, in_order: bool) -> pa.Table:
    """A month's rows: other streams' rows, then this stream's, sorted as month files are."""
    keys = [(c, "ascending") for c in dict.fromkeys([*spec.sort, "source"])]
    if others is None:
        return rows if in_order else rows.sort_by(keys)
    # A stable sort, so rows equal on every key keep their order: the other streams' first.
    return pa.concat_tables([others, rows]).sort_by(keys)


@dataclass
class StoreStatus:
    """A store's coverage at a glance.

    Attributes:
        months: One row per table, month and stream: ``table, month, stream, release, file,
            trusts, rows, rows_with_cost_pct``.
        tables: One row per table: ``table, first_month, last_month, months, rows``.
        missing: One row per table, month and stream in which trusts that have rows in other
            months of the stream have none: ``table, month, stream, missing_trusts,
            trust_codes``.
    """

    months: pd.DataFrame
    tables: pd.DataFrame
    missing: pd.DataFrame

    def lines(self) -> list[str]:
        """Plain-English lines for the command line."""
        if self.months.empty:
            return ["The store holds no rows yet."]
        out = []
        for t in self.tables.itertuples():
            out.append(
                f"{t.table}: {t.first_month} to {t.last_month} "
                f"({t.months} month{'s' if t.months != 1 else ''}, {t.rows:,} rows)"
            )
            for m in self.months[self.months["table"] == t.table].itertuples():
                out.append(
                    f"  {m.month} {m.stream}: {m.release} ({m.file}); {m.trusts} trusts, "
                    f"{m.rows:,} rows, {m.rows_with_cost_pct:.1f}% with a cost"
                )
            for g in self.missing[self.missing["table"] == t.table].itertuples():
                shown = ", ".join(g.trust_codes[:10]) + (" ..." if len(g.trust_codes) > 10 else "")
                out.append(f"  {g.month} {g.stream}: {g.missing_trusts} trusts missing ({shown})")
        return out


def store_status(store: Store | str | os.PathLike[str]) -> StoreStatus:
    """Coverage of a store: per table, month and stream its release, trusts, rows and costs.

    Raises:
        StoreError: There is no store at the path.
    """
    import duckdb

    store = store if isinstance(store, Store) else Store(store)
    columns = ["table", "month", "stream", "release", "file", "trusts", "rows"]
    columns.append("rows_with_cost_pct")
    con = duckdb.connect()
    counts, missing_rows, tables = [], [], []
    for spec in TABLES.values():
        if not store.files(spec.name):
            continue
        month = f"strftime({spec.month_column}, '%Y-%m')"
        part = con.execute(
            f"SELECT '{spec.name}' AS \"table\", {month} AS month, source AS stream, "
            "count(DISTINCT trust_code) AS trusts, count(*) AS rows, "
            "100.0 * count(cost_gbp) / count(*) AS rows_with_cost_pct "
            "FROM read_parquet(?) GROUP BY ALL ORDER BY month, stream",
            [store.glob(spec.name)],
        ).df()
        info = {
            (m, s): i
            for m in store.months(spec.name)
            for s, i in store.streams(m, spec.name).items()
        }
        pairs = list(zip(part["month"], part["stream"], strict=True))
        part["release"] = [info[k].release for k in pairs]
        part["file"] = [info[k].file for k in pairs]
        counts.append(part)
        present = con.execute(
            f"SELECT DISTINCT {month} AS month, source AS stream, trust_code FROM read_parquet(?)",
            [store.glob(spec.name)],
        ).df()
        for name, rows in present.groupby("stream"):
            everyone = set(rows["trust_code"])
            for m, in_month in rows.groupby("month"):
                gone = sorted(everyone - set(in_month["trust_code"]))
                if gone:
                    missing_rows.append((spec.name, m, name, len(gone), gone))
        tables.append(
            {
                "table": spec.name,
                "first_month": part["month"].min(),
                "last_month": part["month"].max(),
                "months": part["month"].nunique(),
                "rows": int(part["rows"].sum()),
            }
        )
    months = pd.concat(counts, ignore_index=True) if counts else pd.DataFrame(columns=columns)
    months = months.astype({"rows": "int64", "trusts": "int64"})
    missing = pd.DataFrame(
        missing_rows, columns=["table", "month", "stream", "missing_trusts", "trust_codes"]
    ).sort_values(["table", "month", "stream"], ignore_index=True)
    summary = pd.DataFrame(tables, columns=["table", "first_month", "last_month", "months", "rows"])
    return StoreStatus(months[columns], summary, missing)
