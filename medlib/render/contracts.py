"""Column contracts for published tables that other tools read.

Leads' spreadsheets and downstream scripts read some tables by column name, so those tables
have a fixed shape. The renderer checks each published table that has a contract and refuses
to publish a report whose table breaks it, naming the table and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from medlib.render.guard import Finding

__all__ = ["TableContract", "check_contract", "check_contracts"]

_FINANCIAL_YEAR = re.compile(r"^\d{4}/\d{2}$")


@dataclass(frozen=True)
class TableContract:
    """The required columns of a published table and the checks on its values.

    Attributes:
        columns: Columns the table must have, in this order, at its start.
        unique: Columns that together identify one row.
        checks: ``{column: (description, predicate)}``; every non-empty value must pass.
    """

    columns: tuple[str, ...]
    unique: tuple[str, ...] = ()
    checks: dict[str, tuple[str, Callable[[str], bool]]] = field(default_factory=dict)


#: Contracted tables by name (the CSV file's stem).
TABLE_CONTRACTS: dict[str, TableContract] = {
    "spend_by_financial_year": TableContract(
        columns=("trust_code", "financial_year", "cost_gbp", "yoy_change_gbp", "yoy_change_pct"),
        unique=("trust_code", "financial_year"),
        checks={
            "financial_year": (
                "a financial year written like 2023/24",
                lambda v: bool(_FINANCIAL_YEAR.match(v)),
            ),
        },
    ),
}


def check_contract(name: str, table: pd.DataFrame) -> list[Finding]:
    """Check one table against its contract (tables without a contract always pass).

    Args:
        name: Table name (CSV file stem).
        table: The table, values as text.

    Returns:
        Findings naming the table and what was expected.
    """
    contract = TABLE_CONTRACTS.get(name)
    if contract is None:
        return []
    where = f"table {name}"
    leading = tuple(table.columns[: len(contract.columns)])
    if leading != contract.columns:
        return [
            Finding(
                where,
                f"columns start {list(leading)}; the tables contract expects "
                f"{list(contract.columns)} first",
            )
        ]
    findings = []
    if contract.unique and table.duplicated(list(contract.unique)).any():
        dup = table[table.duplicated(list(contract.unique), keep=False)].iloc[0]
        key = {c: dup[c] for c in contract.unique}
        findings.append(Finding(where, f"more than one row for {key}; expected one per key"))
    for column, (description, ok) in contract.checks.items():
        bad = [v for v in table[column].dropna().astype(str) if not ok(v)]
        if bad:
            findings.append(
                Finding(f"{where}, column {column!r}", f"{bad[0]!r} is not {description}")
            )
    return findings


def check_contracts(tables_dir: Path) -> list[Finding]:
    """Check every contracted table published in ``tables_dir``."""
    findings: list[Finding] = []
    for path in sorted(Path(tables_dir).glob("*.csv")):
        if path.stem in TABLE_CONTRACTS:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
            findings += check_contract(path.stem, table)
    return findings
