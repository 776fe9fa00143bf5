"""The explorer's measures section: the chosen trusts side by side on every measure."""

from __future__ import annotations

import pandas as pd
import pytest

from medlib.explorer import Explorer, ExplorerError
from medlib.explorer.measures import measures_table
from medlib.present.sections import Table


@pytest.fixture(scope="module")
def explorer():
    # The antibacterial extract to February 2020: the measures' latest month is February 2020.
    return Explorer(
        dataset="scmd_antibacterials", trusts=["RY2", "RV9"], period=("2019-04", "2020-02")
    )


def test_each_trust_on_each_measure_with_hand_worked_values(explorer):
    table = measures_table(explorer)
    iv = table[table["measure_id"] == "abx_iv"].set_index("trust_code")
    assert iv.index.tolist() == ["RV9", "RY2"]
    assert set(iv["latest_month"]) == {pd.Timestamp("2020-02-01")}
    # Worked by hand from the extract's rows (tests/measures/test_measure_compute.py):
    # RY2 issued 55 intravenous DDDs of 429.5; RV9 none of 132.8.
    assert iv.loc["RY2", "value_share"] == pytest.approx(55 / 429.5, rel=1e-12)
    assert iv.loc["RV9", "value_share"] == 0.0
    # One row per measure and trust, both trusts named.
    assert len(table) == 2 * table["measure_id"].nunique()
    names = dict(zip(table["trust_code"], table["trust_name"], strict=True))
    assert names == {"RY2": explorer.name_of("RY2"), "RV9": explorer.name_of("RV9")}
    assert names["RY2"] != "RY2" and names["RV9"] != "RV9"


def test_the_section_shows_the_table_and_a_chosen_measure(explorer):
    section = explorer.measures("abx_iv")
    table, figure, sentence = section.parts
    assert isinstance(table, Table)
    assert list(table.frame.columns[:2]) == ["Measure", "Trust"]
    titles = {figure.axes[0].get_title(loc) for loc in ("left", "center", "right")}
    assert "Intravenous antibiotics" in titles
    assert sentence.startswith("In February 2020, ")
    assert "12.8% against a national median of" in sentence


def test_the_section_says_what_it_needs(explorer):
    with pytest.raises(ExplorerError, match="choose one of"):
        explorer.measures("no_such_measure")
    with pytest.raises(ExplorerError, match="choose one or more trusts"):
        Explorer(dataset="scmd_antibacterials").measures()
    own = pd.DataFrame(
        {
            "year_month": pd.to_datetime(["2024-01-01"]),
            "trust_code": ["RTD"],
            "vmp_code": ["1"],
            "vmp_name": ["x"],
            "quantity": [1.0],
            "cost_gbp": [1.0],
            "source": ["own"],
        }
    )
    with pytest.raises(ExplorerError, match="reads a data store or the bundled extracts"):
        measures_table(Explorer(own, trusts=["RTD"]))
