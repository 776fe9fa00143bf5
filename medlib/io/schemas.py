"""The canonical tables (data contracts), as pandera schemas.

Codes are text because dm+d/SNOMED ids exceed float precision; money is pounds as float, never
rounded in storage; missing is null, never zero.
"""

from __future__ import annotations

import pandera.pandas as pa

__all__ = ["PRODUCTS_SCHEMA", "USAGE_COLUMNS", "USAGE_SCHEMA"]

USAGE_COLUMNS = [
    "year_month",
    "trust_code",
    "vmp_code",
    "vmp_name",
    "unit",
    "quantity",
    "cost_gbp",
    "source",
]

USAGE_SCHEMA = pa.DataFrameSchema(
    {
        "year_month": pa.Column("datetime64[ns]", pa.Check(lambda s: (s.dt.day == 1).all())),
        "trust_code": pa.Column(str, pa.Check.str_matches(r"^[A-Z0-9]{3,5}$")),
        "vmp_code": pa.Column(str, pa.Check.str_matches(r"^\d{6,20}$")),
        "vmp_name": pa.Column(str, nullable=True),
        "unit": pa.Column(str, nullable=True),
        "quantity": pa.Column(float),
        "cost_gbp": pa.Column(float, nullable=True),
        "source": pa.Column(str),
    },
    unique=["year_month", "trust_code", "vmp_code", "source"],
    strict=True,
    ordered=True,
    coerce=True,
    name="usage",
)

PRODUCTS_SCHEMA = pa.DataFrameSchema(
    {
        "vmp_code": pa.Column(str, pa.Check.str_matches(r"^\d{6,20}$"), unique=True),
        "vmp_name": pa.Column(str),
        "vtm_name": pa.Column(str, nullable=True),
        "bnf_code": pa.Column(str, nullable=True),
        "atc_code": pa.Column(str, nullable=True),
        "ddd": pa.Column(float, nullable=True),
        "ddd_unit": pa.Column(str, nullable=True),
        "ddd_per_unit": pa.Column(float, nullable=True),
        "route": pa.Column(str, nullable=True),
        "form": pa.Column(str, nullable=True),
        "high_cost": pa.Column(bool),
    },
    strict=True,
    ordered=True,
    name="products",
)
