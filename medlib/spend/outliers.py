"""Organisations whose choice of molecule within a BNF section is far from their peers'.

This is the z-score approach of the OpenPrescribing Hospitals / ebmdatalab outliers reports:

1. for each organisation, ``share = quantity of the molecule / quantity of the whole BNF
   section`` (so 0 when the organisation uses the section but not the molecule);
2. only organisations whose section quantity reaches a minimum volume are compared, so a trust
   that issued a handful of units does not top the list by chance;
3. ``z = (share - mean share) / sd of shares`` across those organisations (sample sd, ddof=1);
4. an organisation is flagged when ``|z| >= z_threshold`` (default 2).

Quantities are summed in the units SCMD reports (tablets, millilitres, vials...). Within one
BNF section those units can differ between products, so a share is a share of units issued, not
of doses; read the flags as prompts to look, not as findings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from medlib.errors import InputError
from medlib.validation import require_columns

__all__ = ["share_outliers"]

#: Minimum section quantity (in SCMD units) for an organisation to be compared. 50 units is
#: about a week of a few patients' tablets: enough to exclude organisations with token use.
DEFAULT_MIN_DENOMINATOR = 50.0
#: |z| at or above which an organisation is flagged.
DEFAULT_Z_THRESHOLD = 2.0

OUTLIER_COLUMNS = [
    "org",
    "section",
    "molecule",
    "numerator",
    "denominator",
    "share",
    "mean_share",
    "sd_share",
    "z",
    "n_orgs",
    "outlier",
]


def share_outliers(
    df: pd.DataFrame,
    *,
    org: str = "trust_code",
    molecule: str = "vtm_name",
    section: str = "bnf_section",
    quantity: str = "quantity",
    min_denominator: float = DEFAULT_MIN_DENOMINATOR,
    z_threshold: float = DEFAULT_Z_THRESHOLD,
) -> pd.DataFrame:
    """Z-scores of each organisation's molecule share within its BNF section.

    Args:
        df: Usage rows at any grain finer than organisation x molecule (e.g. per product and
            month); rows with no molecule or section are ignored.
        org: Organisation column.
        molecule: Molecule (VTM) column.
        section: BNF section column.
        quantity: Quantity column, summed.
        min_denominator: Organisations whose section quantity is below this are left out of the
            comparison (they appear with a missing z).
        z_threshold: Flag organisations with ``|z| >=`` this.

    Returns:
        One row per organisation, section and molecule (``OUTLIER_COLUMNS``, with ``org``,
        ``section``, ``molecule`` renamed back to the input column names): ``outlier`` is
        ``"higher"``, ``"lower"`` or ``""``. Sorted by ``|z|`` descending.

    Raises:
        InputError: Missing columns or a non-positive ``z_threshold``.
    """
    require_columns(df, [org, molecule, section, quantity], "usage for outliers")
    if not z_threshold > 0:
        raise InputError(f"z_threshold must be positive, got {z_threshold}")
    data = df[[org, section, molecule, quantity]].dropna(subset=[org, section, molecule])
    data = data.rename(columns={org: "org", section: "section", molecule: "molecule"})
    num = data.groupby(["org", "section", "molecule"], as_index=False)[quantity].sum()
    num = num.rename(columns={quantity: "numerator"})
    den = num.groupby(["org", "section"], as_index=False)["numerator"].sum()
    den = den.rename(columns={"numerator": "denominator"})

    # Every organisation using a section is compared on every molecule of that section; a
    # molecule it does not use is a real share of 0.
    pairs = num[["section", "molecule"]].drop_duplicates()
    grid = den.merge(pairs, on="section").merge(num, on=["org", "section", "molecule"], how="left")
    grid["numerator"] = grid["numerator"].fillna(0.0)
    eligible = grid["denominator"] >= min_denominator
    grid["share"] = np.where(
        grid["denominator"] > 0, grid["numerator"] / grid["denominator"], np.nan
    )
    compared = grid[eligible & grid["share"].notna()]
    stats = compared.groupby(["section", "molecule"])["share"].agg(
        mean_share="mean", sd_share=lambda s: s.std(ddof=1), n_orgs="count"
    )
    grid = grid.merge(stats.reset_index(), on=["section", "molecule"], how="left")
    grid["n_orgs"] = grid["n_orgs"].fillna(0).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (grid["share"] - grid["mean_share"]) / grid["sd_share"]
    z = z.where(eligible & (grid["sd_share"] > 0))
    grid["z"] = z
    grid["outlier"] = np.select([z >= z_threshold, z <= -z_threshold], ["higher", "lower"], "")
    grid = grid[OUTLIER_COLUMNS]
    order = grid["z"].abs().fillna(-1).sort_values(ascending=False, kind="mergesort").index
    out = grid.loc[order].reset_index(drop=True)
    return out.rename(columns={"org": org, "section": section, "molecule": molecule})
