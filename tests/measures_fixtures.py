"""Small products, definitions and usage the measures tests compute on, with known answers."""

from __future__ import annotations

import pandas as pd

from medlib.measures.definitions import MeasureDefinition, parse_definition
from medlib.measures.products import PRODUCT_COLUMNS


def products(codes: list[str], ddd: float = 1.0) -> pd.DataFrame:
    """A products table of ``codes`` (named ``Product <code>``), each ``ddd`` DDDs per unit."""
    frame = pd.DataFrame({"vmp_code": codes, "vmp_name": [f"Product {c}" for c in codes]})
    for column in PRODUCT_COLUMNS[2:]:
        frame[column] = None
    frame["ddd_per_unit"] = ddd
    return frame


def definition(
    measure_id: str,
    lower: bool | None,
    quantity: str = "quantity",
    numerator: tuple[str, ...] = ("1",),
    denominator: tuple[str, ...] = ("1", "2"),
    title: str | None = None,
) -> MeasureDefinition:
    """A measure of the products' codes (numerator among the denominator's)."""
    return parse_definition(
        {
            "id": measure_id,
            "title": title or measure_id,
            "why_it_matters": "test",
            "numerator": {"vmp_codes": list(numerator)},
            "denominator": {"vmp_codes": list(denominator)},
            "quantity": quantity,
            "lower_is_better": lower,
            "citation": "test",
        }
    )


def ladder_usage(trust: str = "A") -> pd.DataFrame:
    """11 trusts over the 12 months of 2023 whose values each month are 0, 0.1, ..., 1.0.

    Product 1, the numerator, is 10k units and product 2 is 100 - 10k, so the denominator is
    100. With 11 evenly spaced values the p-th percentile is p / 100 exactly, so a value v sits
    at position 100 v (clamped to 5..95) and its percent rank is 100 v. ``trust`` is 0.9 in
    months 1-3, 0.6 in months 4-9 and 0.2 in months 10-12; the others (``T00``...) take the
    remaining values.
    """
    months = pd.date_range("2023-01-01", periods=12, freq="MS")
    steps = [9] * 3 + [6] * 6 + [2] * 3
    rows = []
    for i, month in enumerate(months):
        others = [k for k in range(11) if k != steps[i]]
        assignment = {trust: steps[i], **{f"T{j:02d}": k for j, k in enumerate(others)}}
        for code, k in assignment.items():
            if k:
                rows.append((month, code, "1", 10.0 * k))
            if k < 10:
                rows.append((month, code, "2", 100.0 - 10.0 * k))
    return pd.DataFrame(rows, columns=["year_month", "trust_code", "vmp_code", "quantity"])
