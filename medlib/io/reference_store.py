"""The store's reference tables: the dm+d ``products`` a team refreshes with the data.

A products file has the columns of the bundled ``medlib/data/products.csv`` (``vmp_code,
vmp_name, vtm_name, bnf_code, atc_code, ddd, ddd_unit, ddd_per_unit, route, form``). On
ingest every row is accepted or quarantined with a reason (a VMP code that is not 6 to 20
ASCII digits, a missing name, a DDD that is not a number or is negative, a VMP code given
twice); the project's DDD overrides and the high-cost flag are applied as for the bundled
table; and the table replaces the store's previous one whole and atomically (written aside,
swapped in under the journal). The same file again changes nothing. Reports and the explorer
read the store's products when it has them, else the bundled ones.

Layout::

    store/products/data.parquet
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from medlib import __version__
from medlib.io.cells import neutralise_frame
from medlib.io.store import PARTITION_FILE, Store, _now, _write_staged
from medlib.io.usage import UnusableFileError, check_row_balance, reason_lines, row_balance_line

__all__ = [
    "PRODUCT_COLUMNS",
    "ReferenceIngestResult",
    "ingest_products",
    "products_status_lines",
    "store_products",
]

PRODUCT_COLUMNS = [
    "vmp_code",
    "vmp_name",
    "vtm_name",
    "bnf_code",
    "atc_code",
    "ddd",
    "ddd_unit",
    "ddd_per_unit",
    "route",
    "form",
]
#: Columns a products file must have; the others may be left out (then missing throughout).
REQUIRED_COLUMNS = ("vmp_code", "vmp_name")
TABLE = "products"
# ASCII digits only: \d would also accept Arabic-Indic and full-width digits.
_VMP = re.compile(r"^[0-9]{6,20}$")


@dataclass
class ReferenceIngestResult:
    """What one reference file's ingest did.

    Attributes:
        file: The file read.
        sha256: Its SHA-256.
        action: ``added``, ``replaced`` or ``unchanged``.
        rows_read: Data rows in the file.
        rows_accepted: Rows kept.
        rows_quarantined: Rows refused, each with a reason in the quarantine file.
        reasons: ``{reason: rows}``.
        quarantine_file: Where the refused rows were written, or None.
    """

    file: str
    sha256: str
    action: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    reasons: dict[str, int]
    quarantine_file: str | None = None

    def __post_init__(self) -> None:
        check_row_balance(self.rows_read, self.rows_accepted, self.rows_quarantined)

    def lines(self) -> list[str]:
        """Plain-English lines for the command line."""
        what = {
            "added": "added to the store",
            "replaced": "replaced the store's previous products table",
            "unchanged": "unchanged: this file is already the store's products table",
        }[self.action]
        out = [
            f"{self.file} (products): {what}",
            row_balance_line(self.rows_read, self.rows_accepted, self.rows_quarantined),
        ]
        out += reason_lines(self.reasons)
        if self.quarantine_file:
            out.append(f"  quarantined rows written to {self.quarantine_file}")
        return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _path(store: Store) -> Path:
    return store.root / TABLE / PARTITION_FILE


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise UnusableFileError(path, "it does not exist", "Give the path of a products CSV")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path).astype(object)
            return frame.where(frame.notna(), None)
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError:
        raise UnusableFileError(path, "it is not UTF-8 text", "Save it as UTF-8") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise UnusableFileError(
            path, f"it cannot be read as a table ({exc})", "Give a CSV with a header row"
        ) from None


def _validate(raw: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accepted rows (canonical products) and the quarantine (line, column, value, reason)."""
    from medlib.io.datasets import prepare_products

    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise UnusableFileError(
            path,
            f"it has no {', '.join(missing)} column",
            f"A products file needs the columns {', '.join(PRODUCT_COLUMNS)}",
        )
    text = pd.DataFrame(index=raw.index)
    for column in PRODUCT_COLUMNS:
        values = raw[column] if column in raw.columns else pd.Series(None, index=raw.index)
        values = values.astype(object).map(lambda v: None if v is None else str(v).strip())
        text[column] = values.where(values.astype(bool), None)
    reason = pd.Series(None, index=raw.index, dtype=object)
    where = pd.Series(None, index=raw.index, dtype=object)

    def flag(mask: pd.Series, column: str, why: str) -> None:
        hit = mask & reason.isna()
        reason[hit] = why
        where[hit] = column

    code = text["vmp_code"].fillna("")
    flag(~code.map(lambda v: bool(_VMP.match(v))), "vmp_code", "VMP code is not 6-20 digits")
    flag(text["vmp_name"].isna(), "vmp_name", "missing VMP name")
    for column in ("ddd", "ddd_per_unit"):
        number = pd.to_numeric(text[column], errors="coerce")
        flag(text[column].notna() & number.isna(), column, f"{column} is not a number")
        flag(number < 0, column, f"{column} is negative")
    flag(code.duplicated(keep="first") & code.astype(bool), "vmp_code", "VMP code given twice")
    bad = reason.notna()
    quarantine = pd.DataFrame(
        {
            "file": path.name,
            "line": (raw.index[bad] + 2).astype(int),
            "column": where[bad].to_numpy(),
            "value": [text.at[i, c] for i, c in zip(raw.index[bad], where[bad], strict=True)],
            "reason": reason[bad].to_numpy(),
        }
    )
    kept = text[~bad].reset_index(drop=True)
    for column in ("ddd", "ddd_per_unit"):
        kept[column] = pd.to_numeric(kept[column]).astype(float)
    return prepare_products(kept), quarantine


def ingest_products(
    path: str | os.PathLike[str], store: Store | str | os.PathLike[str]
) -> ReferenceIngestResult:
    """Validate a dm+d products file and make it the store's products table.

    Args:
        path: A products CSV (or Parquet) with the columns of :data:`PRODUCT_COLUMNS`.
        store: The store, or its folder (created if it does not exist).

    Returns:
        What the ingest did.

    Raises:
        UnusableFileError: The file cannot be read or lacks ``vmp_code`` or ``vmp_name``
            (nothing is stored).
    """
    source = Path(path)
    store = store if isinstance(store, Store) else Store(store, create=True)
    raw = _read(source)
    sha = _sha256(source)
    accepted, quarantine = _validate(raw, source)
    reasons = quarantine["reason"].value_counts().to_dict() if len(quarantine) else {}
    with store._locked():
        store._recover()
        target = _path(store)
        for stray in target.parent.glob(".*.tmp"):
            stray.unlink()
        there = None
        if target.exists():
            meta = pq.read_schema(target).metadata or {}
            there = meta.get(b"medlib_sha256", b"").decode()
        result = ReferenceIngestResult(
            source.name,
            sha,
            "unchanged" if there == sha else "added" if there is None else "replaced",
            len(raw),
            len(accepted),
            len(quarantine),
            reasons,
        )
        if result.action == "unchanged":
            return result
        if len(quarantine):
            qfile = store.root / "quarantine" / f"{source.name}.{sha[:12]}.quarantine.csv"
            qfile.parent.mkdir(exist_ok=True)
            # A rejected row may hold a name written as a spreadsheet formula; it must not run.
            neutralise_frame(quarantine).to_csv(qfile, index=False)
            result.quarantine_file = str(qfile)
        table = pa.Table.from_pandas(accepted, preserve_index=False)
        table = table.replace_schema_metadata(
            {
                **(table.schema.metadata or {}),
                b"medlib_sha256": sha.encode(),
                b"medlib_file": source.name.encode(),
            }
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = _write_staged(target.parent, table)
        store._commit(
            [(staged, target)],
            {
                "ingest_id": uuid.uuid4().hex,
                "file": source.name,
                "sha256": sha,
                "table": TABLE,
                "stream": TABLE,
                "release": "unclassified",
                "months": [],
                "rows_read": result.rows_read,
                "rows_accepted": result.rows_accepted,
                "rows_quarantined": result.rows_quarantined,
                "ingested_at": _now(),
                "medlib_version": __version__,
            },
        )
    return result


def store_products(store: Store) -> pd.DataFrame | None:
    """The store's products table, or None when the store has none.

    Canonical, as ``load_dataset("products")`` gives the bundled one.
    """
    path = _path(store)
    if not path.exists():
        return None
    from medlib.io.schemas import PRODUCTS_SCHEMA

    frame = pq.read_table(path).to_pandas()
    for column in ("vtm_name", "bnf_code", "atc_code", "ddd_unit", "route", "form"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return PRODUCTS_SCHEMA.validate(frame)


def products_status_lines(store: Store) -> list[str]:
    """One line on the store's products table, for ``medlib store status``."""
    path = _path(store)
    if not path.exists():
        return ["products: none in the store (the bundled dm+d products are used)"]
    meta = pq.read_schema(path).metadata or {}
    rows = pq.read_metadata(path).num_rows
    name = meta.get(b"medlib_file", b"").decode()
    return [f"products: {rows:,} products from {name}"]
