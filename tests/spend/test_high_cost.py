from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medlib.errors import InputError
from medlib.spend import high_cost


def test_reference_lists_the_bundled_biologics_and_not_lithium():
    ref = high_cost.load_high_cost_drugs()
    assert {"molecule", "category"} <= set(ref.columns)
    assert ref["molecule"].is_unique
    for name in ("adalimumab", "etanercept", "infliximab", "rituximab", "nivolumab"):
        assert name in set(ref["molecule"])
    names = pd.Series(["Lithium carbonate", "Certolizumab pegol", "ADALIMUMAB", "Adalimumabx"])
    assert high_cost.is_high_cost(names).tolist() == [False, True, True, False]


def test_split_hand_worked():
    df = pd.DataFrame(
        {
            "trust_code": ["A", "A", "A", "B", "C"],
            "financial_year": ["2023/24"] * 5,
            "cost_gbp": [300.0, 100.0, np.nan, 50.0, np.nan],
            "high_cost": [True, False, False, False, True],
        }
    )
    out = high_cost.high_cost_split(df).set_index("trust_code")
    # A: 300 high-cost, 100 in tariff (the missing cost is left out) -> 75%
    assert out.loc["A", "high_cost_gbp"] == 300 and out.loc["A", "in_tariff_gbp"] == 100
    assert out.loc["A", "high_cost_share_pct"] == pytest.approx(75)
    # B: no high-cost rows -> 0, share 0%
    assert out.loc["B", "high_cost_gbp"] == 0 and out.loc["B", "high_cost_share_pct"] == 0
    # C: no known cost at all -> missing, never 0
    assert np.isnan(out.loc["C", "total_gbp"]) and np.isnan(out.loc["C", "high_cost_share_pct"])


def test_block_variance_pro_rata():
    actual = pd.DataFrame({"trust_code": ["A", "B"], "high_cost_gbp": [700.0, 200.0]})
    out = high_cost.block_variance(actual, {"A": 1200.0, "C": 600}, months_elapsed=6)
    out = out.set_index("trust_code")
    # A: block 1200 a year -> 600 to date after 6 months; actual 700 -> +100 (+16.7%)
    assert out.loc["A", "block_to_date_gbp"] == 600
    assert out.loc["A", "variance_gbp"] == 100
    assert out.loc["A", "variance_pct"] == pytest.approx(100 / 6)
    # C has a block but no spend recorded: actual missing, not 0
    assert np.isnan(out.loc["C", "actual_gbp"])
    assert "B" not in out.index


@pytest.mark.parametrize(
    ("blocks", "months", "message"),
    [({"A": 1.0}, 0, "1-12"), ({"A": -5}, 6, "zero or more"), ({"A": "lots"}, 6, "number")],
)
def test_block_variance_bad_input(blocks, months, message):
    actual = pd.DataFrame({"trust_code": ["A"], "high_cost_gbp": [1.0]})
    with pytest.raises(InputError, match=message):
        high_cost.block_variance(actual, blocks, months)
