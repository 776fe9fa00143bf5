import pandas as pd
import pytest

from medlib.io.datasets import load_dataset
from medlib.reference.trusts import map_to_successor, successor_map, trusts_table


def lineage(*pairs):
    return pd.DataFrame(pairs, columns=["predecessor_code", "successor_code"])


def test_chains_are_followed_to_the_final_successor():
    links = lineage(("AAA", "BBB"), ("BBB", "CCC"), ("DDD", "EEE"))
    assert successor_map(links) == {"AAA": "CCC", "BBB": "CCC", "DDD": "EEE"}


def test_cycle_is_an_error():
    with pytest.raises(ValueError, match="cycle: AAA -> BBB -> AAA"):
        successor_map(lineage(("AAA", "BBB"), ("BBB", "AAA")))


def test_map_to_successor_keeps_the_reported_code():
    links = lineage(("AAA", "CCC"))
    df = pd.DataFrame({"trust_code": ["AAA", "CCC", "ZZZ"], "quantity": [1.0, 2.0, 3.0]})
    out = map_to_successor(df, lineage=links)
    assert out["trust_code"].tolist() == ["CCC", "CCC", "ZZZ"]
    assert out["trust_code_reported"].tolist() == ["AAA", "CCC", "ZZZ"]
    assert out.groupby("trust_code")["quantity"].sum().to_dict() == {"CCC": 3.0, "ZZZ": 3.0}


def test_real_reference_maps_sunderland_onto_south_tyneside_and_sunderland():
    # City Hospitals Sunderland (RLN) and South Tyneside (RE9) merged into R0B in 2019.
    mapping = successor_map()
    assert mapping["RLN"] == "R0B"
    assert mapping["RE9"] == "R0B"
    # Central Manchester (RW3) -> Manchester University NHS FT (R0A)
    assert mapping["RW3"] == "R0A"
    trusts = load_dataset("trusts").set_index("trust_code")
    assert trusts.loc["RLN", "successor_code"] == "R0B"
    assert trusts.loc["R0B", "successor_code"] is None
    assert trusts.loc["RTD", "icb_name"] == "NHS North East and North Cumbria"
    assert trusts.loc["RTD", "icb_code"] == "QHM"


def test_names_follow_nhs_capitalisation_in_one_place():
    trusts = trusts_table().set_index("trust_code")
    assert trusts.loc["RTD", "trust_name"] == (
        "The Newcastle upon Tyne Hospitals NHS Foundation Trust"
    )
    assert trusts.loc["RX3", "trust_name"] == "Tees, Esk and Wear Valleys NHS Foundation Trust"
    assert trusts.loc["RTD", "region"] == "North East and Yorkshire"
    # No joining word is title-cased anywhere in the reference.
    for column in ("trust_name", "region", "icb_name"):
        words = {w for name in trusts[column].dropna() for w in name.split()[1:]}
        assert not words & {"And", "Upon", "Of", "On", "The"}, column
