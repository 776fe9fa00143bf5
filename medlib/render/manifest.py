"""The pack manifest: what was rendered, from what, by which code, and how each report went.

``manifest.json`` is the single record of a pack's state. It is rewritten atomically after
every report, so a render killed at any moment leaves a manifest that says which reports are
complete; the index page and ``--resume`` both read it. A report counts as complete only if
its entry says ``ok``, it was rendered from the current inputs (parameters, notebook, data,
medlib version) and every file it lists is present with the recorded hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from medlib import __version__
from medlib.paths import DATA_DIR, PROJECT_ROOT, REFERENCE_DIR
from medlib.present.outputs import atomic_write_text

__all__ = [
    "STATUS_FAILED",
    "STATUS_OK",
    "STATUS_NOT_AVAILABLE",
    "STATUS_PENDING",
    "bundled_data_files",
    "data_file_record",
    "data_files_digest",
    "display_path",
    "file_sha256",
    "files_intact",
    "git_commit",
    "read_files_digest",
    "store_record",
    "is_complete",
    "load_manifest",
    "new_manifest",
    "now_iso",
    "report_key",
    "write_manifest",
]

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1
#: Report statuses recorded in the manifest.
STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUS_PENDING = "pending"
#: A report the data cannot make (checked before any kernel); settled, not a failure.
STATUS_NOT_AVAILABLE = "not available"
#: File types recorded as data files.
DATA_SUFFIXES = (".csv", ".parquet", ".json", ".yaml", ".yml", ".tsv", ".xlsx")
_DATE_COLUMNS = ("year_month", "YEAR_MONTH", "month", "date", "activity_date")


def now_iso() -> str:
    """The current local time, to the second, ISO 8601."""
    return dt.datetime.now().astimezone().replace(microsecond=0).isoformat()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def report_key(trust_code: str, notebook: str) -> str:
    """The manifest key of one report, e.g. ``"RTD/spend_trends"``."""
    return f"{trust_code}/{notebook}"


def bundled_data_files(folders: Iterable[Path] = (DATA_DIR, REFERENCE_DIR)) -> list[Path]:
    """Every data file under the bundled data and reference folders, sorted."""
    files: list[Path] = []
    for folder in folders:
        if Path(folder).is_dir():
            files += [
                p
                for p in Path(folder).rglob("*")
                if p.is_file() and p.suffix.lower() in DATA_SUFFIXES and not p.name.startswith(".")
            ]
    return sorted(files)


#: Report parameters that name a folder of files the report reads.
FOLDER_PARAMETERS = ("patient_data_dir",)
#: Report parameters that name a list of such folders.
FOLDER_LIST_PARAMETERS = ("measure_dirs",)


def read_files_digest(values: Mapping[str, Any]) -> str:
    """One digest of every file in the folders a report's parameters name (empty for none).

    The bundled data and the store are covered by the pack's data records; this covers a
    folder such as ``patient_data_dir`` and the folders of ``measure_dirs``, so ``--resume``
    re-renders a report whose patient files or measure definitions changed.
    """
    digest = hashlib.sha256()
    found = False
    folders = [(name, values.get(name)) for name in FOLDER_PARAMETERS]
    for name in FOLDER_LIST_PARAMETERS:
        listed = values.get(name)
        if isinstance(listed, list | tuple):
            folders += [(f"{name}[{i}]", folder) for i, folder in enumerate(listed)]
    for name, folder in folders:
        if not folder or not Path(str(folder)).is_dir():
            continue
        for path in sorted(Path(str(folder)).rglob("*")):
            if path.is_file():
                found = True
                digest.update(f"{name}:{path.relative_to(folder)}:{file_sha256(path)}\n".encode())
    return digest.hexdigest() if found else ""


def store_record(store: Path) -> dict[str, Any]:
    """The data store a pack reads, as a data record: its ingest log's hash and size.

    The log gains a line at every ingest that changes the store, so the hash changes with
    the store's content.
    """
    log = Path(store) / "ingest_log.jsonl"
    exists = log.is_file()
    return {
        "path": f"store {display_path(Path(store))}",
        "sha256": file_sha256(log) if exists else "",
        "bytes": log.stat().st_size if exists else 0,
        "rows": len(log.read_text(encoding="utf-8").splitlines()) if exists else 0,
        "date_range": None,
    }


def data_file_record(path: Path) -> dict[str, Any]:
    """Hash, size, rows and date range of one data file.

    The date range is the first and last month of the file's ``year_month`` (or similar)
    column, written ``YYYY-MM``; None if the file has no such column.
    """
    record: dict[str, Any] = {
        "path": display_path(path),
        "sha256": file_sha256(path),
        "bytes": path.stat().st_size,
        "rows": None,
        "date_range": None,
    }
    record["rows"] = _row_count(path)
    dates = _date_column(path)
    if dates is not None:
        # Parse the distinct values only: a national extract has few months but many rows.
        distinct = pd.Series(pd.unique(dates.dropna())).astype(str).str[:10]
        parsed = pd.to_datetime(distinct, errors="coerce", format="mixed").dropna()
        if len(parsed):
            record["date_range"] = [f"{parsed.min():%Y-%m}", f"{parsed.max():%Y-%m}"]
    return record


def data_files_digest(records: Iterable[Mapping[str, Any]]) -> str:
    """One hash over all data files' paths and hashes."""
    text = json.dumps(sorted((r["path"], r["sha256"]) for r in records))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def git_commit(root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The project's git commit and whether the working tree has changes (None outside git)."""

    def run(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = run("rev-parse", "HEAD")
    status = run("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def new_manifest(pset_record: Mapping[str, Any], data_files: list[dict[str, Any]]) -> dict:
    """An empty manifest for a pack."""
    return {
        "schema_version": SCHEMA_VERSION,
        "parameter_set": dict(pset_record),
        "medlib_version": __version__,
        "git": git_commit(),
        "data_files": data_files,
        "run": {},
        "reports": {},
        "trusts": {},
    }


def load_manifest(out_dir: Path) -> dict | None:
    """The pack's manifest, or None if there is none or it cannot be read."""
    path = Path(out_dir) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("schema_version") != SCHEMA_VERSION:
        return None
    return manifest


def write_manifest(out_dir: Path, manifest: Mapping[str, Any]) -> Path:
    """Write the manifest atomically."""
    path = Path(out_dir) / MANIFEST_NAME
    atomic_write_text(path, json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n")
    return path


def files_intact(out_dir: Path, files: Mapping[str, str]) -> bool:
    """Whether every ``{relative_path: sha256}`` file exists with that hash."""
    for rel, digest in files.items():
        path = Path(out_dir) / rel
        if not path.is_file() or file_sha256(path) != digest:
            return False
    return True


def is_complete(out_dir: Path, entry: Mapping[str, Any] | None, inputs_sha256: str) -> bool:
    """Whether a report entry is complete for the current inputs (see module docstring).

    A report that is not available from the data counts as complete: nothing is missing.
    """
    if (
        entry is not None
        and entry.get("status") == STATUS_NOT_AVAILABLE
        and entry.get("inputs_sha256") == inputs_sha256
    ):
        return True
    return (
        entry is not None
        and entry.get("status") == STATUS_OK
        and entry.get("inputs_sha256") == inputs_sha256
        and bool(entry.get("files"))
        and files_intact(out_dir, entry["files"])
    )


def display_path(path: Path) -> str:
    """A path relative to the project (or the package's data folder), never a home path."""
    path = Path(path).resolve()
    for base in (PROJECT_ROOT, DATA_DIR.parent):
        try:
            return str(path.relative_to(base))
        except ValueError:
            continue
    return path.name


def _row_count(path: Path) -> int | None:
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return int(pq.read_metadata(path).num_rows)
        if suffix in {".csv", ".tsv"}:
            sep = "\t" if suffix == ".tsv" else ","
            return int(len(pd.read_csv(path, usecols=[0], dtype=str, sep=sep)))
    except (OSError, ValueError, pd.errors.ParserError):
        return None
    return None


def _date_column(path: Path) -> pd.Series | None:
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            names = pq.read_schema(path).names
            column = next((c for c in _DATE_COLUMNS if c in names), None)
            if column is None:
                return None
            return pq.read_table(path, columns=[column]).column(0).to_pandas()
        if suffix in {".csv", ".tsv"}:
            sep = "\t" if suffix == ".tsv" else ","
            names = list(pd.read_csv(path, nrows=0, sep=sep).columns)
            column = next((c for c in _DATE_COLUMNS if c in names), None)
            if column is None:
                return None
            return pd.read_csv(path, usecols=[column], dtype=str, sep=sep)[column]
    except (OSError, ValueError, pd.errors.ParserError):
        return None
    return None
