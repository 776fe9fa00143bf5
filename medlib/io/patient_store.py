"""The store's patient-level tables: ``patients``, ``medications``, ``conditions``, ``tests``.

A patient extract is four tables that only make sense together (every medication, condition
and test row must belong to an accepted patient), so it is ingested as one unit: the folder is
read by :func:`medlib.io.patients.read_patient_folder` (every row accepted or quarantined with a
reason), and the four tables of its **stream** (by default the folder's name, for example one
trust's extract) are written aside and swapped in under one journal, so a reader sees either
the old extract or the new one, never a mix. A later ingest of the same stream replaces it;
the same files again change nothing.

Layout, Hive style like the month tables, one file per stream::

    store/patients/stream=<name>/data.parquet
    store/medications/stream=<name>/data.parquet
    store/conditions/stream=<name>/data.parquet
    store/tests/stream=<name>/data.parquet

Pseudonymised patient ids stay in the store: the audit reads them to link the tables, and no
lead-facing output shows them.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from medlib import __version__
from medlib.io.cells import neutralise_frame
from medlib.io.patient_tables import PatientTables, check_patient_tables
from medlib.io.patients import FILE_STEMS, PatientLoadResult, read_patient_folder
from medlib.io.store import PARTITION_FILE, Store, _now, _write_staged

__all__ = [
    "PATIENT_TABLES",
    "PatientIngestResult",
    "ingest_patients",
    "patient_extracts",
    "patient_status_lines",
    "patient_streams",
    "patient_trusts",
    "read_patient_store",
]

#: The store's patient-level tables, ingested together.
PATIENT_TABLES = FILE_STEMS
#: How the ingest log names a patient extract's table group.
LOG_TABLE = "patients"


@dataclass
class PatientIngestResult:
    """What one patient extract's ingest did.

    Attributes:
        folder: The folder read.
        sha256: One digest of the four files (in table order).
        stream: The stream the extract was stored as.
        action: ``added``, ``replaced`` or ``unchanged``.
        results: Each table's load result (accepted rows, quarantine, summary).
        quarantine_files: Where each table's quarantined rows were written.
    """

    folder: str
    sha256: str
    stream: str
    action: str
    results: dict[str, PatientLoadResult]
    quarantine_files: list[str] = field(default_factory=list)

    @property
    def rows_quarantined(self) -> int:
        """Quarantined rows over the four tables."""
        return sum(r.summary.rows_quarantined for r in self.results.values())

    def lines(self) -> list[str]:
        """Plain-English lines for the command line."""
        what = {
            "added": "added to the store",
            "replaced": "replaced the stream's previous extract",
            "unchanged": "unchanged: these files are already in the store",
        }[self.action]
        out = [f"{self.folder} (patient extract, stream {self.stream}): {what}"]
        for name in PATIENT_TABLES:
            out += [f"  {line}" for line in self.results[name].summary.lines()]
        out += [f"  quarantined rows written to {path}" for path in self.quarantine_files]
        return out


def _partition(store: Store, table: str, stream: str) -> Path:
    return store.root / table / f"stream={stream}" / PARTITION_FILE


def _files_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in PATIENT_TABLES:
        for suffix in (".csv", ".parquet"):
            path = folder / f"{name}{suffix}"
            if path.is_file():
                digest.update(f"{name}{suffix}\n".encode())
                with path.open("rb") as handle:
                    for block in iter(lambda h=handle: h.read(1 << 20), b""):
                        digest.update(block)
    return digest.hexdigest()


def _stored_digest(store: Store, stream: str) -> str | None:
    path = _partition(store, "patients", stream)
    if not path.exists():
        return None
    meta = pq.read_schema(path).metadata or {}
    value = meta.get(b"medlib_sha256")
    return value.decode() if value else None


def _drop_strays(store: Store) -> None:
    """Remove staged files a killed ingest left behind (readers never read them)."""
    for table in PATIENT_TABLES:
        for stray in store.root.glob(f"{table}/stream=*/.*.tmp"):
            stray.unlink()


def ingest_patients(
    folder: str | os.PathLike[str],
    store: Store | str | os.PathLike[str],
    *,
    stream: str | None = None,
    known_trusts: Iterable[str] | None = None,
) -> PatientIngestResult:
    """Read, validate and add one patient extract (four tables in a folder) to a store.

    Args:
        folder: The folder holding ``patients``, ``medications``, ``conditions`` and ``tests``
            (``.csv`` or ``.parquet``).
        store: The store, or its folder (created if it does not exist).
        stream: The stream to store the extract as; None uses the folder's name.
        known_trusts: ODS codes to accept; None uses the bundled trust reference.

    Returns:
        What the ingest did.

    Raises:
        UnusableFileError: A table is missing or cannot be read (nothing is stored).
    """
    source = Path(folder)
    name = stream or source.name
    store = store if isinstance(store, Store) else Store(store, create=True)
    loaded = read_patient_folder(source, known_trusts)
    sha = _files_digest(source)
    with store._locked():
        store._recover()
        _drop_strays(store)
        there = _stored_digest(store, name)
        if there == sha:
            return PatientIngestResult(str(source), sha, name, "unchanged", loaded.results)
        result = PatientIngestResult(
            str(source), sha, name, "added" if there is None else "replaced", loaded.results
        )
        for table in PATIENT_TABLES:
            quarantine = loaded.results[table].quarantine
            if len(quarantine):
                target = store.root / "quarantine" / f"{name}.{table}.{sha[:12]}.quarantine.csv"
                target.parent.mkdir(exist_ok=True)
                # A rejected row may hold text written as a spreadsheet formula; it must not run.
                neutralise_frame(quarantine).to_csv(target, index=False)
                result.quarantine_files.append(str(target))
        ingested_at = _now()
        frames = {
            "patients": loaded.tables.patients,
            "medications": loaded.tables.medications,
            "conditions": loaded.tables.conditions,
            "tests": loaded.tables.tests,
        }
        swaps: list[tuple[Path, Path]] = []
        try:
            for table, frame in frames.items():
                arrow = pa.Table.from_pandas(frame, preserve_index=False)
                arrow = arrow.replace_schema_metadata(
                    {
                        **(arrow.schema.metadata or {}),
                        b"medlib_sha256": sha.encode(),
                        b"medlib_folder": source.name.encode(),
                        b"medlib_ingested_at": ingested_at.encode(),
                    }
                )
                target = _partition(store, table, name)
                target.parent.mkdir(parents=True, exist_ok=True)
                swaps.append((_write_staged(target.parent, arrow), target))
        except BaseException:
            for staged, _ in swaps:
                staged.unlink(missing_ok=True)
            raise
        summaries = [loaded.results[t].summary for t in PATIENT_TABLES]
        store._commit(
            swaps,
            {
                "ingest_id": uuid.uuid4().hex,
                "file": source.name,
                "sha256": sha,
                "table": LOG_TABLE,
                "stream": name,
                "release": "unclassified",
                "months": [],
                "rows_read": sum(s.rows_read for s in summaries),
                "rows_accepted": sum(s.rows_accepted for s in summaries),
                "rows_quarantined": sum(s.rows_quarantined for s in summaries),
                "rows_by_table": {
                    s.table: [s.rows_read, s.rows_accepted, s.rows_quarantined] for s in summaries
                },
                "ingested_at": ingested_at,
                "medlib_version": __version__,
            },
        )
    return result


def patient_streams(store: Store) -> list[str]:
    """The patient extracts (streams) the store holds, in name order."""
    return sorted(
        p.parent.name.split("=", 1)[1]
        for p in store.root.glob(f"patients/stream=*/{PARTITION_FILE}")
    )


def patient_extracts(store: Store) -> tuple[tuple[str, str], ...]:
    """``(stream, digest of its files)`` for each patient extract the store holds."""
    return tuple((name, _stored_digest(store, name) or "") for name in patient_streams(store))


def patient_trusts(store: Store) -> frozenset[str]:
    """Trusts with patients in the store's extracts (codes as recorded)."""
    import duckdb

    if not patient_streams(store):
        return frozenset()
    pattern = str(store.root / "patients" / "*" / PARTITION_FILE)
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT DISTINCT trust_code FROM read_parquet(?, hive_partitioning = false)",
            [pattern],
        ).fetchall()
    return frozenset(code for (code,) in rows if code)


def read_patient_store(store: Store, streams: Sequence[str] | None = None) -> PatientTables:
    """The store's patient tables (every stream, or the ones named), checked and canonical.

    Raises:
        PatientDataError: No extract is stored, or the extracts together break a rule of the
            tables (for example one patient id in two extracts).
    """
    from medlib.io.patient_tables import PatientDataError

    names = list(streams) if streams is not None else patient_streams(store)
    if not names:
        raise PatientDataError(
            f"the store {store.root} holds no patient extract; add one with "
            f"'medlib ingest FOLDER --table patients --store {store.root}'"
        )
    frames = []
    for table in PATIENT_TABLES:
        parts = [pq.read_table(_partition(store, table, n)).to_pandas() for n in names]
        frames.append(pd.concat(parts, ignore_index=True))
    return check_patient_tables(*frames)


def patient_status_lines(store: Store) -> list[str]:
    """Plain-English lines on the store's patient extracts, for ``medlib store status``."""
    import duckdb

    streams = patient_streams(store)
    if not streams:
        return ["patients: no patient extract"]
    out = ["patients (one extract per stream, replaced whole):"]
    with duckdb.connect() as con:
        for name in streams:
            path = _partition(store, "patients", name)
            meta = pq.read_schema(path).metadata or {}
            folder = meta.get(b"medlib_folder", b"").decode()
            when = meta.get(b"medlib_ingested_at", b"").decode()
            patients, trusts = con.execute(
                "SELECT count(*), count(DISTINCT trust_code) FROM read_parquet(?)", [str(path)]
            ).fetchone()
            rows = [
                f"{table} {pq.read_metadata(_partition(store, table, name)).num_rows:,}"
                for table in PATIENT_TABLES[1:]
            ]
            out.append(
                f"  {name}: from {folder}, ingested {when}; {patients:,} patients at "
                f"{trusts:,} trusts; {', '.join(rows)} rows"
            )
    return out
