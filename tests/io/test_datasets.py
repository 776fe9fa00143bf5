import pytest

from medlib.io.datasets import dataset_names, load_dataset
from medlib.reference.trusts import known_trust_codes


def test_every_named_dataset_loads():
    for name in dataset_names():
        assert len(load_dataset(name)) > 0, name


def test_usage_is_the_three_extracts_with_their_row_counts():
    usage = load_dataset("usage")
    # rows as listed in the data provenance: 26,629 + 125,660 + 309,901
    assert usage.groupby("source").size().to_dict() == {
        "scmd_antibacterials": 309901,
        "scmd_biologics": 125660,
        "scmd_lithium": 26629,
    }
    assert usage.loc[usage["source"] != "scmd_lithium", "cost_gbp"].notna().sum() == 0


def test_load_dataset_returns_a_copy():
    first = load_dataset("scmd_lithium")
    first["quantity"] = 0.0
    assert load_dataset("scmd_lithium")["quantity"].abs().sum() > 0


def test_unknown_dataset_lists_the_names():
    with pytest.raises(KeyError, match="no bundled dataset called 'lithum'"):
        load_dataset("lithum")


def test_products_carry_lithium_ddds_from_the_bnf_statement():
    products = load_dataset("products").set_index("vmp_code")
    # lithium carbonate 400 mg = 10.8 mmol Li+; DDD 24 mmol -> 0.45 DDD per tablet
    assert products.loc["39110111000001103", "ddd_per_unit"] == pytest.approx(0.45)
    assert products.loc["39110111000001103", "vtm_name"] == "Lithium carbonate"
    assert products.loc["39110111000001103", "bnf_code"] == "04020300"
    # etanercept 50 mg syringe, DDD 7 mg -> 50 / 7 DDD per syringe
    assert products.loc["10970211000001102", "ddd_per_unit"] == pytest.approx(50 / 7)


def test_known_trusts_include_predecessors():
    codes = known_trust_codes()
    assert {"RTD", "R0B", "RLN", "RE9"} <= codes
