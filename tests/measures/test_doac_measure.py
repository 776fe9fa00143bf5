"""Best-value DOACs: not supported by the bundled data (and said so), computed where it is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medlib.context import resolve_context
from medlib.measures.compute import compute_measures
from medlib.measures.definitions import DEFINITIONS_DIR, load_definition
from medlib.measures.products import PRODUCT_COLUMNS
from medlib.measures.report import NOT_COMPUTED, build

DOACS = load_definition(DEFINITIONS_DIR / "best_value_doacs.yaml")

# A products table as a team's store would hold it, with WHO DDDs per unit (apixaban 10 mg,
# rivaroxaban 20 mg, edoxaban 60 mg, dabigatran etexilate 300 mg).
PRODUCTS = [
    ("1", "Apixaban 5mg tablets", "Apixaban", 5 / 10),
    ("2", "Rivaroxaban 20mg tablets", "Rivaroxaban", 20 / 20),
    ("3", "Edoxaban 60mg tablets", "Edoxaban", 60 / 60),
    ("4", "Dabigatran etexilate 150mg capsules", "Dabigatran etexilate", 150 / 300),
    ("5", "Rivaroxaban 1mg/ml oral suspension", "Rivaroxaban", 1 / 20),
    ("6", "Rivaroxaban 15mg tablets and Rivaroxaban 20mg tablets", "Rivaroxaban", np.nan),
    ("7", "Warfarin 1mg tablets", "Warfarin", np.nan),
]


def _products() -> pd.DataFrame:
    frame = pd.DataFrame(PRODUCTS, columns=["vmp_code", "vmp_name", "vtm_name", "ddd_per_unit"])
    frame["route"] = "Oral"
    for column in PRODUCT_COLUMNS:
        if column not in frame:
            frame[column] = None
    return frame[PRODUCT_COLUMNS]


def _usage() -> pd.DataFrame:
    rows = [
        # Trust A: apixaban 560 tablets = 280 DDDs, rivaroxaban 20 mg 100 = 100, edoxaban 56 = 56,
        # dabigatran 120 capsules = 60, rivaroxaban suspension 200 ml = 10; the initiation pack
        # and warfarin are not in the measure.
        ("A", "1", 560.0),
        ("A", "2", 100.0),
        ("A", "3", 56.0),
        ("A", "4", 120.0),
        ("A", "5", 200.0),
        ("A", "6", 42.0),
        ("A", "7", 100.0),
        # Trust B: apixaban only, 1000 tablets = 500 DDDs.
        ("B", "1", 1000.0),
        # Trust C: edoxaban 30 = 30 DDDs and rivaroxaban 20 mg 70 = 70.
        ("C", "3", 30.0),
        ("C", "2", 70.0),
    ]
    frame = pd.DataFrame(rows, columns=["trust_code", "vmp_code", "quantity"])
    frame.insert(0, "year_month", pd.Timestamp("2024-01-01"))
    return frame


def test_the_selection_picks_the_doacs_and_the_numerator_all_but_the_two_tablets():
    results = compute_measures(_usage(), [DOACS], _products(), successors={})
    picked = results.products.set_index("vmp_code")
    assert sorted(picked.index) == ["1", "2", "3", "4", "5"]
    assert sorted(picked.index[picked["in_numerator"]]) == ["3", "4", "5"]


def test_values_by_hand():
    results = compute_measures(_usage(), [DOACS], _products(), successors={})
    values = results.values.set_index("trust_code")
    # A: numerator 56 + 60 + 10 = 126 of 280 + 100 + 56 + 60 + 10 = 506.
    assert values.loc["A", "numerator"] == pytest.approx(126)
    assert values.loc["A", "denominator"] == pytest.approx(506)
    assert values.loc["B", "value"] == 0.0
    assert values.loc["C", "value"] == pytest.approx(30 / 100)
    # Three trusts, values 0, 0.249 and 0.3: the median is A's.
    median = results.percentiles[results.percentiles["percentile"] == 50.0]["value"].item()
    assert median == pytest.approx(126 / 506)


def test_the_bundled_sample_cannot_support_it_and_the_report_says_so():
    report = build(resolve_context("RTD", "2024-03"))
    reasons = report.national.not_computed.set_index("measure_id")["reason"]
    assert reasons["best_value_doacs"] == NOT_COMPUTED["no_products"]
    statement = "\n".join(p for p in report.section("data_statement").parts)
    assert (
        "**DOACs not issued as rivaroxaban or apixaban tablets**: no product in the products "
        "reference matches its definition." in statement
    )
    row = report.overview.set_index("measure_id").loc["best_value_doacs"]
    assert row["note"].startswith("Not computed: no product in the products reference")


def test_a_store_with_the_doacs_lights_the_measure_up(tmp_path):
    from medlib.io.reference_store import ingest_products
    from medlib.io.store import ingest
    from medlib.io.usage import SCMD_PUBLISHED_HEADER
    from medlib.measures.report import national_measures

    # The store's own products table: the test's DOACs under 8-digit codes, with DDDs.
    codes = {code: f"9000000{code}" for code, *_ in PRODUCTS}
    lines = ["vmp_code,vmp_name,vtm_name,bnf_code,atc_code,ddd,ddd_unit,ddd_per_unit,route,form"]
    for code, name, vtm, per_unit in PRODUCTS:
        per = "" if np.isnan(per_unit) else repr(per_unit)
        lines.append(f"{codes[code]},{name},{vtm},,,,,{per},Oral,")
    products = tmp_path / "products.csv"
    products.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest_products(products, tmp_path / "store")
    # One month of SCMD in the published layout: trust A of the hand working is RTD, B is RTF
    # and C is RR7.
    trusts = {"A": "RTD", "B": "RTF", "C": "RR7"}
    names = {code: name for code, name, *_ in PRODUCTS}
    rows = [",".join(SCMD_PUBLISHED_HEADER)]
    for trust, code, quantity in _usage()[["trust_code", "vmp_code", "quantity"]].itertuples(
        index=False
    ):
        rows.append(f"202401,{trusts[trust]},{codes[code]},{names[code]},,,{quantity},")
    usage = tmp_path / "scmd_202401.csv"
    usage.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ingest([usage], tmp_path / "store")

    national = national_measures(store=str(tmp_path / "store"), through="2024-01")
    values = national.results.values
    doacs = values[values["measure_id"] == "best_value_doacs"].set_index("trust_code")
    assert doacs.loc["RTD", "value"] == pytest.approx(126 / 506)
    assert doacs.loc["RTF", "value"] == 0.0
    assert doacs.loc["RR7", "value"] == pytest.approx(0.3)
    # The store has no antibiotics or lithium, so those measures say why they are not shown.
    reasons = national.not_computed.set_index("measure_id")["reason"]
    assert "best_value_doacs" not in reasons
    assert reasons["abx_iv"].startswith("the data hold no use of the ")
