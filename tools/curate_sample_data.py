"""Curate the bundled sample data in ``medlib/data/`` from the public NHS extracts.

Run once by a maintainer when the sample changes:

    python tools/curate_sample_data.py SOURCE_DIR

SOURCE_DIR holds the extracts named in ``medlib/data/PROVENANCE.md`` (``scmd/``, ``dmd/``,
``org/``). Values are copied as text so nothing is re-rounded; only columns the workbook uses are
kept. Lithium DDD conversions that dm+d does not carry are in
``medlib/reference/ddd_per_unit_overrides.csv``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd

from medlib.io.reference_store import PRODUCT_COLUMNS

OUT = Path(__file__).resolve().parents[1] / "medlib" / "data"

# dm+d unit-of-measure codes used by the DDD file.
UOM = {
    "258684004": "mg",
    "258682000": "g",
    "258685003": "microgram",
    "258718000": "mmol",
    "767525000": "unit",
    "258774008": "microlitre",
    "408165007": "mL",
    "428673006": "tablet",
}
TO_MG = {"mg": 1.0, "g": 1000.0, "microgram": 0.001}


def main(source: Path) -> None:
    """Write the curated files."""
    OUT.mkdir(parents=True, exist_ok=True)
    lithium = pd.read_csv(
        source / "scmd/scmd_lithium_with_indicative_cost_2019-04_2024-03.csv",
        dtype=str,
        keep_default_na=False,
    )
    lithium_cols = [
        "year_month",
        "indicative_cost",
        "quantity",
        "uom",
        "ods_code",
        "vmp_code",
        "vmp_name",
    ]
    lithium[lithium_cols].to_parquet(OUT / "scmd_lithium.parquet", index=False)
    biologics = pd.read_csv(
        source / "scmd/scmd_biologics_rheumatology_2019-01_2021-10.csv",
        dtype=str,
        keep_default_na=False,
    )
    biologics.to_parquet(OUT / "scmd_biologics.parquet", index=False)
    shutil.copyfile(
        source / "scmd/scmd_antibacterials_2019-01_2020-11.parquet",
        OUT / "scmd_antibacterials.parquet",
    )
    for name in ("trusts_region_icb_predecessors_oph.csv", "icb_names_codes_dec_2024.csv"):
        shutil.copyfile(source / "org" / name, OUT / name)

    abx = pd.read_parquet(OUT / "scmd_antibacterials.parquet")
    used = pd.concat(
        [
            lithium[["vmp_code", "vmp_name"]],
            biologics.rename(
                columns={"vmp_snomed_code": "vmp_code", "vmp_product_name": "vmp_name"}
            )[["vmp_code", "vmp_name"]],
            abx.rename(columns={"vmp_snomed_code": "vmp_code", "vmp_product_name": "vmp_name"})[
                ["vmp_code", "vmp_name"]
            ],
        ]
    ).drop_duplicates("vmp_code")
    ddd = pd.read_csv(source / "dmd/vmp_bnf_atc_ddd_dmd_wk49_2021.csv", dtype=str)
    ddd = ddd.rename(
        columns={"VPID": "vmp_code", "BNF": "bnf_code", "ATC": "atc_code", "DDD": "ddd"}
    )
    ddd["ddd_unit"] = ddd["DDD_UOMCD"].map(UOM)
    products = used.merge(ddd.drop(columns="DDD_UOMCD"), on="vmp_code", how="left")

    li = lithium.drop_duplicates("vmp_code").set_index("vmp_code")
    bio = pd.read_csv(source / "dmd/vmp_attributes_biologics.csv", dtype=str).set_index(
        "vmp_snomed_code"
    )
    abx_list = (
        pd.read_csv(source / "dmd/antibacterial_codelist_aware_ddd.csv", dtype=str)
        .drop_duplicates("id")
        .set_index("id")
    )
    vtm, route, form, per_unit = [], [], [], []
    for _, row in products.iterrows():
        code = row["vmp_code"]
        mg_per_unit = None
        if code in li.index:
            vtm.append(li.at[code, "vtm_name"])
            route.append(li.at[code, "droute_description"])
            form.append(li.at[code, "dform_form"])
        elif code in bio.index:
            vtm.append(bio.at[code, "vtmnm"])
            route.append(None)
            form.append(bio.at[code, "form_descr"])
            b = bio.loc[code]
            if b["df_descr"] == "Discrete" and b["strnt_nmrtr_uom"] in TO_MG:
                # SCMD counts a product in its unit dose form size unit (udfs_descr): millilitres
                # for a syringe, pen or vial of solution, so 0.4 of a 40mg/0.4ml syringe is
                # one dose. The amount per SCMD unit is then the strength per millilitre;
                # for a unit counted whole (a vial of powder) it is the amount in one unit.
                dose = float(b["strnt_nmrtr_val"]) * TO_MG[b["strnt_nmrtr_uom"]]
                per_volume = b["strnt_dnmtr_val"] not in ("NA", None)
                if per_volume and b["udfs_descr"] == b["strnt_dnmtr_descr"]:
                    dose = dose / float(b["strnt_dnmtr_val"])
                elif per_volume and str(b["udfs"]) not in ("NA",):
                    dose = dose / float(b["strnt_dnmtr_val"]) * float(b["udfs"])
                mg_per_unit = dose
        elif code in abx_list.index:
            vtm.append(abx_list.at[code, "ingredient"])
            route.append(abx_list.at[code, "Route"])
            form.append(None)
        else:
            vtm.append(None)
            route.append(None)
            form.append(None)
        if mg_per_unit is not None and pd.notna(row["ddd"]) and row["ddd_unit"] in TO_MG:
            per_unit.append(mg_per_unit / (float(row["ddd"]) * TO_MG[row["ddd_unit"]]))
        else:
            per_unit.append(None)
    products["vtm_name"] = vtm
    products["route"] = route
    products["form"] = form
    products["ddd_per_unit"] = per_unit
    products = products[PRODUCT_COLUMNS].sort_values("vmp_code")
    products.to_csv(OUT / "products.csv", index=False)
    print(f"wrote {len(products)} products to {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
