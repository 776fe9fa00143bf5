"""Organisation lineage: mapping merged trusts onto their successors for time series.

A trust that merged into another stops reporting under its own code; to compare years, its
history is attributed to the successor. Chains (A merged into B, later B into C) are followed to
the end. The mapping is explicit: :func:`successor_map` shows every code that moves.
"""

from __future__ import annotations

import pandas as pd


def successor_map(lineage: pd.DataFrame | None = None) -> dict[str, str]:
    """Every predecessor code mapped to its final successor.

    Args:
        lineage: Pairs ``predecessor_code, successor_code``; None uses the bundled reference.

    Returns:
        ``{predecessor: final_successor}``.

    Raises:
        ValueError: The links contain a cycle.
    """
    if lineage is None:
        from medlib.datasets import load_dataset

        lineage = load_dataset("trust_lineage")
    direct = dict(zip(lineage["predecessor_code"], lineage["successor_code"], strict=True))
    final: dict[str, str] = {}
    for start in direct:
        seen = [start]
        code = direct[start]
        while code in direct:
            if code in seen:
                raise ValueError(f"trust lineage has a cycle: {' -> '.join([*seen, code])}")
            seen.append(code)
            code = direct[code]
        final[start] = code
    return final


def map_to_successor(
    df: pd.DataFrame,
    column: str = "trust_code",
    lineage: pd.DataFrame | None = None,
    keep_original: bool = True,
) -> pd.DataFrame:
    """Return a copy of ``df`` with merged trusts' codes replaced by their successor's.

    Rows are not summed here: aggregate afterwards (two predecessors in the same month become
    two rows of the successor, which a group-by adds up).

    Args:
        df: Any table with a trust code column.
        column: The trust code column.
        lineage: Predecessor/successor pairs; None uses the bundled reference.
        keep_original: Keep the reported code in ``<column>_reported``.

    Returns:
        The mapped copy.
    """
    mapping = successor_map(lineage)
    out = df.copy()
    if keep_original:
        out[f"{column}_reported"] = out[column]
    out[column] = out[column].map(lambda c: mapping.get(c, c)).astype(df[column].dtype)
    return out
