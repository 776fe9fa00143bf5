"""The store's dm+d products table: validated, replaced whole, read by the reports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from medlib.cli import app
from medlib.context import resolve_context
from medlib.io.datasets import USAGE_FILES, load_dataset
from medlib.io.reference_store import ingest_products, products_status_lines, store_products
from medlib.io.store import Store, ingest
from medlib.io.usage import UnusableFileError
from medlib.paths import DATA_DIR
from medlib.spend.report import build

HEADER = "vmp_code,vmp_name,vtm_name,bnf_code,atc_code,ddd,ddd_unit,ddd_per_unit,route,form"


def _bundled_products_csv(path: Path) -> Path:
    path.write_bytes((DATA_DIR / "products.csv").read_bytes())
    return path


def test_the_bundled_products_file_round_trips(tmp_path):
    store = Store(tmp_path / "store", create=True)
    result = ingest_products(_bundled_products_csv(tmp_path / "products.csv"), store)
    bundled = load_dataset("products")
    assert (result.action, result.rows_read, result.rows_quarantined) == ("added", len(bundled), 0)
    pd.testing.assert_frame_equal(store_products(store), bundled, check_dtype=False)
    again = ingest_products(tmp_path / "products.csv", store)
    assert again.action == "unchanged" and len(store.log()) == 1
    assert products_status_lines(store) == [
        f"products: {len(bundled):,} products from products.csv"
    ]


def test_bad_rows_are_quarantined_with_a_reason(tmp_path):
    path = tmp_path / "dmd_refresh.csv"
    path.write_text(
        HEADER
        + "\n"
        + "11111111,Good tablets 5mg,Good,,,1,mg,5,oral,Tablet\n"
        + "1234,Short code tablets,Short,,,,,,,\n"
        + "22222222,,Nameless,,,,,,,\n"
        + "33333333,Bad DDD tablets,Bad,,,lots,mg,,,\n"
        + "44444444,Negative tablets,Neg,,,,,-1,,\n"
        + "11111111,Good tablets again,Good,,,,,,,\n"
        + "٥٥٥٥٥٥٥٥,Arabic digits,Arabic,,,,,,,\n",
        encoding="utf-8",
    )
    store = Store(tmp_path / "store", create=True)
    result = ingest_products(path, store)
    assert (result.rows_read, result.rows_accepted, result.rows_quarantined) == (7, 1, 6)
    assert result.reasons == {
        "VMP code is not 6-20 digits": 2,
        "missing VMP name": 1,
        "ddd is not a number": 1,
        "ddd_per_unit is negative": 1,
        "VMP code given twice": 1,
    }
    quarantine = pd.read_csv(result.quarantine_file, dtype=str)
    assert quarantine["line"].tolist() == ["3", "4", "5", "6", "7", "8"]
    products = store_products(store)
    assert products[["vmp_code", "ddd_per_unit", "high_cost"]].values.tolist() == [
        ["11111111", 5.0, False]
    ]


def test_a_file_without_the_key_columns_is_refused_and_nothing_is_stored(tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("code,name\n1,x\n", encoding="utf-8")
    store = Store(tmp_path / "store", create=True)
    with pytest.raises(UnusableFileError, match="it has no vmp_code, vmp_name column"):
        ingest_products(path, store)
    assert store_products(store) is None and store.log().empty


def test_the_spend_report_reads_the_stores_products(tmp_path):
    store = tmp_path / "store"
    ingest([DATA_DIR / USAGE_FILES["scmd_lithium"][0]], store)
    # A refresh that names lithium citrate "Lithium salt" moves its spend to that molecule.
    products = load_dataset("products")
    products.loc[products["vtm_name"] == "Lithium citrate", "vtm_name"] = "Lithium salt"
    refresh = tmp_path / "products_refresh.csv"
    products.drop(columns="high_cost").to_csv(refresh, index=False)
    ingest_products(refresh, store)
    context = resolve_context("RTD", "2024-03")
    mine = build(context, store=str(store)).entity_detail
    bundled = build(context).entity_detail
    citrate = bundled.loc[bundled["vtm_name"] == "Lithium citrate", "cost_gbp"].sum()
    assert citrate > 0
    assert mine.loc[mine["vtm_name"] == "Lithium salt", "cost_gbp"].sum() == pytest.approx(citrate)
    assert "Lithium citrate" not in set(mine["vtm_name"])


def test_cli_ingests_products_and_status_lists_them(tmp_path):
    store = tmp_path / "store"
    path = _bundled_products_csv(tmp_path / "products.csv")
    runner = CliRunner()
    done = runner.invoke(app, ["ingest", str(path), "--table", "products", "--store", str(store)])
    assert done.exit_code == 0, done.output
    assert "products.csv (products): added to the store" in done.output
    status = runner.invoke(app, ["store", "status", "--store", str(store)])
    assert "products from products.csv" in status.output
