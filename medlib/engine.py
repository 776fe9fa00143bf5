"""The query engine: measures are Ibis expressions, run on DuckDB (default) or Spark.

DuckDB is embedded and needs nothing started. ``backend="pyspark"`` runs the same expressions on
a local Spark session, which is what NHS analytics platforms run at national scale. Tables are
registered as in-memory tables or temporary views, never written to a warehouse folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import ibis
import pandas as pd

from medlib.errors import MedlibError

__all__ = ["BackendError", "connect", "monthly_usage", "register", "to_pandas"]

BACKENDS = ("duckdb", "pyspark")


class BackendError(MedlibError, ValueError):
    """An unknown backend or one whose optional dependencies are missing."""


def connect(backend: str = "duckdb") -> Any:
    """Open a connection for ``backend``.

    Args:
        backend: ``duckdb`` (default, in-process) or ``pyspark`` (local Spark session).

    Returns:
        An Ibis backend.
    """
    if backend == "duckdb":
        return ibis.duckdb.connect()
    if backend == "pyspark":
        return ibis.pyspark.connect(_spark_session())
    raise BackendError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")


def _spark_session() -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # pragma: no cover - depends on the install
        raise BackendError(
            "backend 'pyspark' needs the spark extra: pip install 'medlib[spark]'"
        ) from None
    # Spark binds to the machine's hostname by default, which may not resolve offline.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    java_opts = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
    return (
        SparkSession.builder.master("local[2]")
        .appName("medlib")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.extraJavaOptions", java_opts)
        .getOrCreate()
    )


def register(con: Any, name: str, df: pd.DataFrame) -> ibis.Table:
    """Make ``df`` available to ``con`` as table ``name`` (a temporary view on Spark)."""
    if con.name == "pyspark":
        import pyarrow as pa

        # Through Arrow, pandas NaN becomes SQL null as it does on DuckDB; a direct pandas
        # conversion would keep NaN and Spark's sum would then return NaN for the whole group.
        arrow = pa.Table.from_pandas(df, preserve_index=False)
        con._session.createDataFrame(arrow).createOrReplaceTempView(name)
        return con.table(name)
    return con.create_table(name, df, temp=True, overwrite=True)


def monthly_usage(table: ibis.Table, by: Sequence[str] = ("trust_code",)) -> ibis.Table:
    """Monthly quantity and indicative cost per group.

    ``cost_gbp`` is the sum of the known costs and is null when every row in the group lacks a
    cost (never zero-filled); ``rows_without_cost`` says how many rows had none.

    Args:
        table: A canonical ``usage`` table.
        by: Grouping columns besides ``year_month``.

    Returns:
        Columns ``year_month, *by, quantity, cost_gbp, rows, rows_without_cost``.
    """
    keys = ["year_month", *by]
    return (
        table.group_by(keys)
        .aggregate(
            quantity=table.quantity.sum(),
            cost_gbp=table.cost_gbp.sum(),
            rows=table.count(),
            rows_without_cost=table.cost_gbp.isnull().cast("int64").sum(),
        )
        .order_by(keys)
    )


def to_pandas(expr: ibis.Expr) -> pd.DataFrame:
    """Execute ``expr`` and return a pandas frame with a plain integer index."""
    out = expr.to_pandas()
    return out.reset_index(drop=True)
