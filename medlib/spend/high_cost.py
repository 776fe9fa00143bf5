"""High-cost (tariff-excluded) drugs: the reference list, the spend split and block variance.

High-cost drugs are excluded from the NHS Payment Scheme prices and paid on use, so regions
track them separately from in-tariff spend. The list is ``medlib/reference/high_cost_drugs.csv``
(a cited subset of the Payment Scheme's Annex A; see the README beside it). Some trusts agree a
fixed annual "block" value for high-cost drugs with their commissioner; comparing actual spend to
the block, pro rata to the months elapsed, shows whether they are running over or under.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from medlib.errors import InputError
from medlib.paths import REFERENCE_DIR
from medlib.validation import require_columns

__all__ = ["block_variance", "high_cost_split", "is_high_cost", "load_high_cost_drugs"]

HIGH_COST_FILE = REFERENCE_DIR / "high_cost_drugs.csv"


def load_high_cost_drugs() -> pd.DataFrame:
    """The bundled high-cost drugs list: ``molecule`` (lower-case VTM name), ``category``."""
    table = pd.read_csv(HIGH_COST_FILE, dtype=str, comment="#", keep_default_na=False)
    table["molecule"] = table["molecule"].str.strip().str.lower()
    return table


def is_high_cost(molecules: pd.Series, reference: pd.DataFrame | None = None) -> pd.Series:
    """Whether each molecule (VTM name, any case) is on the high-cost list.

    A molecule matches a listed name exactly or as its first words (``"certolizumab pegol"``
    matches ``"certolizumab"``), ignoring case. Missing names are not high cost.

    Example:
        >>> is_high_cost(pd.Series(["Adalimumab", "Lithium carbonate", None])).tolist()
        [True, False, False]
    """
    ref = load_high_cost_drugs() if reference is None else reference
    require_columns(ref, ["molecule"], "high-cost reference")
    names = tuple(ref["molecule"].str.lower())

    def match(value: object) -> bool:
        if not isinstance(value, str) or not value:
            return False
        text = value.lower().strip()
        return any(text == n or text.startswith(n + " ") for n in names)

    return molecules.map(match).astype(bool)


def high_cost_split(
    df: pd.DataFrame,
    by: Sequence[str] = ("trust_code", "financial_year"),
    value: str = "cost_gbp",
    flag: str = "high_cost",
) -> pd.DataFrame:
    """Split spend into high-cost and in-tariff parts.

    Args:
        df: Spend rows with a boolean ``flag`` column (e.g. usage joined to products).
        by: Grouping columns (e.g. trust and financial year, or month).
        value: Spend column; missing costs are left out, never counted as zero.
        flag: Boolean column, True for high-cost drugs.

    Returns:
        ``*by, high_cost_gbp, in_tariff_gbp, total_gbp, high_cost_share_pct``. A part with no
        known cost is missing (NaN); the share is missing when the total is 0 or missing.
    """
    by = list(by)
    require_columns(df, [*by, value, flag], "spend for the high-cost split")
    data = df[[*by, value, flag]].copy()
    data[flag] = data[flag].fillna(False).astype(bool)
    parts = (
        data.groupby([*by, flag])[value]
        .sum(min_count=1)
        .unstack(flag)
        .reindex(columns=[True, False])
    )
    out = pd.DataFrame(
        {
            "high_cost_gbp": parts[True].fillna(0.0).where(parts.notna().any(axis=1)),
            "in_tariff_gbp": parts[False].fillna(0.0).where(parts.notna().any(axis=1)),
        }
    )
    out["total_gbp"] = out["high_cost_gbp"] + out["in_tariff_gbp"]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = out["high_cost_gbp"] / out["total_gbp"] * 100
    out["high_cost_share_pct"] = share.where(out["total_gbp"] != 0)
    return out.reset_index()


def block_variance(
    actual: pd.DataFrame,
    blocks: Mapping[str, float],
    months_elapsed: int,
    *,
    org: str = "trust_code",
    value: str = "high_cost_gbp",
) -> pd.DataFrame:
    """Actual high-cost spend against an annual block value, pro rata to the months elapsed.

    Args:
        actual: One row per organisation with its high-cost spend so far this financial year.
        blocks: Annual block value (GBP) per organisation code.
        months_elapsed: Months of the financial year covered by ``actual`` (1-12).
        org: Organisation column of ``actual``.
        value: Spend column of ``actual``.

    Returns:
        One row per organisation in ``blocks``: ``org, annual_block_gbp, block_to_date_gbp``
        (``block * months / 12``), ``actual_gbp``, ``variance_gbp`` (actual minus block to date:
        positive means over the block) and ``variance_pct`` (of the block to date).

    Raises:
        InputError: ``months_elapsed`` outside 1-12, a negative or non-numeric block, or
            missing columns.
    """
    require_columns(actual, [org, value], "actual high-cost spend")
    if not 1 <= int(months_elapsed) <= 12:
        raise InputError(f"months_elapsed must be 1-12, got {months_elapsed}")
    rows = []
    spend = actual.groupby(org)[value].sum(min_count=1)
    for code, block in blocks.items():
        try:
            block_value = float(block)
        except (TypeError, ValueError):
            raise InputError(f"block value for {code} must be a number, got {block!r}") from None
        if block_value < 0 or np.isnan(block_value):
            raise InputError(f"block value for {code} must be zero or more, got {block!r}")
        to_date = block_value * int(months_elapsed) / 12
        got = float(spend.get(code, np.nan))
        variance = got - to_date
        rows.append(
            {
                org: code,
                "annual_block_gbp": block_value,
                "block_to_date_gbp": to_date,
                "actual_gbp": got,
                "variance_gbp": variance,
                "variance_pct": variance / to_date * 100 if to_date else np.nan,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            org,
            "annual_block_gbp",
            "block_to_date_gbp",
            "actual_gbp",
            "variance_gbp",
            "variance_pct",
        ],
    )
