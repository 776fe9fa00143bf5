from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medlib.errors import InputError
from medlib.spend.movers import OTHER_LABEL, TOTAL_LABEL, round_parts, top_movers


def _data() -> pd.DataFrame:
    # molecule: (2022/23, 2023/24)
    #   A: 100.00 -> 150.00  (+50.00)
    #   B: 80.00 -> 60.00    (-20.00)
    #   C: 0 -> 30.00        (+30.00, new this year: no 2022/23 row)
    #   D: 10.00 -> 0        (-10.00, stopped: no 2023/24 row)
    #   E: 5.00 -> 6.00      (+1.00), split over two rows in 2023/24 (2.50 + 3.50)
    # total 195.00 -> 246.00: +51.00 = 50 - 20 + 30 - 10 + 1
    rows = [
        ("A", "2022/23", 100.0),
        ("A", "2023/24", 150.0),
        ("B", "2022/23", 80.0),
        ("B", "2023/24", 60.0),
        ("C", "2023/24", 30.0),
        ("D", "2022/23", 10.0),
        ("E", "2022/23", 5.0),
        ("E", "2023/24", 2.5),
        ("E", "2023/24", 3.5),
        ("A", "2021/22", 999.0),  # another year: ignored
    ]
    return pd.DataFrame(rows, columns=["vtm_name", "financial_year", "cost_gbp"])


def test_top_movers_hand_worked():
    out = top_movers(_data(), "2023/24", "2022/23", n=3)
    # ordered by |change|: A +50, C +30, B -20; then D and E summed: -10 + 1 = -9
    assert out["vtm_name"].tolist() == ["A", "C", "B", OTHER_LABEL, TOTAL_LABEL]
    assert out["change"].tolist() == [50.0, 30.0, -20.0, -9.0, 51.0]
    assert out.loc[3, "previous"] == 15.0 and out.loc[3, "current"] == 6.0
    assert out.loc[4, "previous"] == 195.0 and out.loc[4, "current"] == 246.0
    # shares of the +51 change: 50/51 = 98.04%
    assert out.loc[0, "share_of_change_pct"] == pytest.approx(5000 / 51)
    assert out.loc[4, "share_of_change_pct"] == pytest.approx(100)


def test_contributions_add_up_exactly_in_pennies():
    rng = np.random.default_rng(7)
    n = 40
    df = pd.DataFrame(
        {
            "vtm_name": [f"m{i % 13}" for i in range(n)],
            "financial_year": ["2022/23", "2023/24"] * (n // 2),
            # awkward fractions of a penny so rounding matters
            "cost_gbp": rng.uniform(-5, 500, n).round(4),
        }
    )
    out = top_movers(df, "2023/24", "2022/23", n=5)
    pennies = (out["change"] * 100).round().astype(int)
    assert pennies.iloc[:-1].sum() == pennies.iloc[-1]
    # and the total matches the rounded overall totals of each year
    by_year = df.groupby("financial_year")["cost_gbp"].sum()
    assert out.iloc[-1]["current"] == round(by_year["2023/24"], 2)
    assert out.iloc[-1]["previous"] == round(by_year["2022/23"], 2)


def test_round_parts_largest_remainder():
    # 0.333 + 0.333 + 0.334 = 1.000: floors 33, 33, 33 (99) -> one penny to the largest
    # remainder (0.4 of a penny, the third value)
    assert round_parts(np.array([0.333, 0.333, 0.334])).tolist() == [33, 33, 34]
    # negative values: -0.125 and 0.25 total 0.125 -> 13 pennies (half up);
    # floors -13 and 25 (12) -> the extra penny goes to the larger remainder (-12.5 -> 0.5)
    assert round_parts(np.array([-0.125, 0.25])).tolist() == [-12, 25]


def test_no_change_gives_missing_shares():
    df = pd.DataFrame(
        {"vtm_name": ["A", "A"], "financial_year": ["2022/23", "2023/24"], "cost_gbp": [5.0, 5.0]}
    )
    out = top_movers(df, "2023/24", "2022/23")
    assert out["share_of_change_pct"].isna().all()
    assert out["vtm_name"].tolist() == ["A", TOTAL_LABEL]


def test_bad_input():
    with pytest.raises(InputError, match="not in the data"):
        top_movers(_data(), "2024/25", "2023/24")
    with pytest.raises(InputError, match="at least 1"):
        top_movers(_data(), "2023/24", "2022/23", n=0)
    with pytest.raises(InputError, match="missing column"):
        top_movers(_data().drop(columns="cost_gbp"), "2023/24", "2022/23")
