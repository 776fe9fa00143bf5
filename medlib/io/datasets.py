"""The bundled sample data, loaded by name with no paths to type (like ``seaborn.load_dataset``).

The SCMD extracts are read through :func:`medlib.io.usage.read_usage`, so the bundled data
passes the same validation as any user file. Results are cached; every call returns a fresh copy
so callers can modify what they get.

Example:
    >>> from medlib.io.datasets import load_dataset
    >>> usage = load_dataset("scmd_lithium")
    >>> sorted(usage.columns)[:3]
    ['cost_gbp', 'quantity', 'source']
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from medlib import __version__
from medlib.errors import InputError
from medlib.paths import DATA_DIR, REFERENCE_DIR
from medlib.reference.trusts import trust_lineage, trusts_table

if TYPE_CHECKING:
    from medlib.io.store import Store

__all__ = [
    "BUNDLED_STORE_EXTRACTS",
    "MEASURES_STORE_EXTRACTS",
    "USAGE_FILES",
    "bundled_store",
    "bundled_store_dir",
    "dataset_names",
    "describe_usage",
    "high_cost_molecules",
    "load_dataset",
    "prepare_products",
]

#: Bundled SCMD extracts: dataset name -> (file, description).
USAGE_FILES = {
    "scmd_lithium": (
        "scmd_lithium.parquet",
        "Lithium, all trusts, 2019-04 to 2024-03 (60 months), quantity and indicative cost",
    ),
    "scmd_biologics": (
        "scmd_biologics.parquet",
        "Rheumatology and oncology biologics, 2019-01 to 2021-10, quantity only",
    ),
    "scmd_antibacterials": (
        "scmd_antibacterials.parquet",
        "Antibacterials, 2019-01 to 2020-11, quantity only",
    ),
}
#: The bundled extracts the bundled store's ``usage`` table is built from: the lithium extract,
#: the one with costs over five years, so the sample pack's spend report is about lithium. The
#: other extracts serve the analyses that read them directly (the switch report's SCMD proxy,
#: the explorer).
BUNDLED_STORE_EXTRACTS = ("scmd_lithium",)
#: The bundled extracts the measures report reads when no store is given: all of them, so each
#: shipped measure finds its products (antibacterials, biologics, lithium).
MEASURES_STORE_EXTRACTS = tuple(USAGE_FILES)
OTHER_DATASETS = {
    "usage": "All bundled SCMD extracts in the canonical usage table, tagged by source",
    "trusts": "NHS trusts with region, ICB and successor (merged trusts)",
    "trust_lineage": "Predecessor -> successor links for merged trusts",
    "products": "dm+d product attributes: molecule, BNF, ATC, DDD, high-cost flag",
}


def dataset_names() -> dict[str, str]:
    """Names of the bundled datasets with a one-line description of each."""
    return {**{k: v[1] for k, v in USAGE_FILES.items()}, **OTHER_DATASETS}


def load_dataset(name: str) -> pd.DataFrame:
    """Load a bundled dataset by name.

    Args:
        name: One of :func:`dataset_names`.

    Returns:
        A fresh copy of the canonical table.

    Raises:
        KeyError: The name is not a bundled dataset (the message lists the names).
    """
    if name in USAGE_FILES:
        return _usage(name).copy()
    if name == "usage":
        return pd.concat([_usage(n) for n in USAGE_FILES], ignore_index=True)
    if name == "trusts":
        return trusts_table()
    if name == "trust_lineage":
        return trust_lineage()
    if name == "products":
        return _products().copy()
    raise KeyError(f"no bundled dataset called {name!r}; choose one of {sorted(dataset_names())}")


@cache
def _usage(name: str) -> pd.DataFrame:
    # The reader and schemas (pandera) are imported where used, so a report that takes its
    # data from a render's shared work starts without them.
    from medlib.io.usage import read_usage

    result = read_usage(DATA_DIR / USAGE_FILES[name][0])
    data = result.data
    data["source"] = name
    return data


@cache
def _products() -> pd.DataFrame:
    products = pd.read_csv(
        DATA_DIR / "products.csv",
        dtype={c: str for c in ("vmp_code", "vmp_name", "vtm_name", "bnf_code", "atc_code")},
    )
    return prepare_products(products)


def prepare_products(products: pd.DataFrame) -> pd.DataFrame:
    """A dm+d products table made canonical: the project's DDD overrides and high-cost flag.

    Used for the bundled ``products.csv`` and for a products file ingested into a store.

    Raises:
        pandera.errors.SchemaError: The table breaks :data:`medlib.io.schemas.PRODUCTS_SCHEMA`.
    """
    products = products.copy()
    for col in ("vtm_name", "bnf_code", "atc_code", "ddd_unit", "route", "form"):
        products[col] = products[col].astype(object).where(products[col].notna(), None)
    overrides = pd.read_csv(REFERENCE_DIR / "ddd_per_unit_overrides.csv", dtype={"vmp_code": str})
    over = overrides.set_index("vmp_code")
    hit = products["vmp_code"].isin(over.index)
    idx = products.loc[hit, "vmp_code"]
    products.loc[hit, "ddd"] = over.loc[idx, "ddd"].to_numpy(dtype=float)
    products.loc[hit, "ddd_unit"] = over.loc[idx, "ddd_unit"].to_numpy()
    products.loc[hit, "ddd_per_unit"] = over.loc[idx, "ddd_per_unit"].to_numpy(dtype=float)
    products["high_cost"] = products["vtm_name"].map(_is_high_cost).astype(bool)
    from medlib.io.schemas import PRODUCTS_SCHEMA

    return PRODUCTS_SCHEMA.validate(products)


@cache
def high_cost_molecules() -> frozenset[str]:
    """Lower-case molecule names on the bundled high-cost (tariff-excluded) drugs list."""
    path = REFERENCE_DIR / "high_cost_drugs.csv"
    if not path.exists():
        return frozenset()
    table = pd.read_csv(path, dtype=str, comment="#")
    return frozenset(table["molecule"].str.strip().str.lower())


def _is_high_cost(vtm_name: str | None) -> bool:
    if not vtm_name:
        return False
    name = vtm_name.lower()
    return any(name == m or name.startswith(m + " ") for m in high_cost_molecules())


def describe_usage(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per source: months covered, trusts, products, rows and cost coverage.

    Args:
        frame: A canonical usage table.

    Returns:
        Columns ``source, first_month, last_month, months, trusts, products, rows,
        rows_with_cost, cost_coverage_pct, rows_negative_quantity``.
    """
    rows = []
    for source, part in frame.groupby("source", sort=True):
        with_cost = int(part["cost_gbp"].notna().sum())
        rows.append(
            {
                "source": source,
                "first_month": f"{part['year_month'].min():%Y-%m}",
                "last_month": f"{part['year_month'].max():%Y-%m}",
                "months": int(part["year_month"].nunique()),
                "trusts": int(part["trust_code"].nunique()),
                "products": int(part["vmp_code"].nunique()),
                "rows": len(part),
                "rows_with_cost": with_cost,
                "cost_coverage_pct": round(100 * with_cost / len(part), 1),
                "rows_negative_quantity": int((part["quantity"] < 0).sum()),
            }
        )
    return pd.DataFrame(rows)


def bundled_store_dir(extracts: Sequence[str] = BUNDLED_STORE_EXTRACTS) -> Path:
    """Where a store of the bundled extracts is built: a cache folder keyed by the bundled files.

    ``MEDLIB_CACHE_DIR`` overrides the cache folder (default ``$XDG_CACHE_HOME/medlib`` or
    ``~/.cache/medlib``). The key changes when a bundled file does, so an edited sample is
    rebuilt instead of read stale.

    Args:
        extracts: Names of :data:`USAGE_FILES` the store holds.
    """
    base = os.environ.get("MEDLIB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "medlib"
    )
    digest = hashlib.sha256(f"store-format-1 {__version__}".encode())
    for name in extracts:
        path = DATA_DIR / USAGE_FILES[name][0]
        stat = path.stat()
        digest.update(f"{name} {stat.st_size} {stat.st_mtime_ns}".encode())
    # The sample's own store keeps its folder name; a store of other extracts is named apart.
    prefix = "bundled-store" if tuple(extracts) == BUNDLED_STORE_EXTRACTS else "bundled-extracts"
    return Path(base) / f"{prefix}-{digest.hexdigest()[:16]}"


def bundled_store(extracts: Sequence[str] = BUNDLED_STORE_EXTRACTS) -> Store:
    """A store of bundled extracts, built from ``medlib/data`` on first use.

    By default the bundled sample's store: its ``usage`` table is the extracts of
    :data:`BUNDLED_STORE_EXTRACTS` (the lithium extract, stream ``scmd_lithium``). The measures
    report reads :data:`MEASURES_STORE_EXTRACTS`, every extract. Each extract is its own
    stream, ingested through the same validating reader as any file. The store is built aside
    and moved into place in one rename, so concurrent first uses (two report kernels) never see
    half a store.

    Args:
        extracts: Names of :data:`USAGE_FILES` to hold.

    Raises:
        InputError: An extract name is not one of :data:`USAGE_FILES`.
    """
    from medlib.io.store import Store, ingest

    unknown = [name for name in extracts if name not in USAGE_FILES]
    if unknown or not extracts:
        raise InputError(
            f"bundled extracts {unknown or list(extracts)} are not known; choose from "
            f"{list(USAGE_FILES)}"
        )
    target = bundled_store_dir(extracts)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        building = target.parent / f".{target.name}.{uuid.uuid4().hex}.building"
        for name in extracts:
            ingest([DATA_DIR / USAGE_FILES[name][0]], building, stream=name)
        try:
            os.rename(building, target)
        except OSError:
            # Another process built it first; theirs is the same.
            shutil.rmtree(building, ignore_errors=True)
    return Store(target)
