from __future__ import annotations

import math

import pandas as pd
import pytest

from medlib.errors import InputError
from medlib.spend.outliers import share_outliers


def _usage() -> pd.DataFrame:
    rows = []
    # A-F: 25 units of X and 75 of Y (share of X 0.25); A's X is split over two months.
    for org in "ABCDEF":
        if org == "A":
            rows += [(org, "X", 10.0), (org, "X", 15.0)]
        else:
            rows.append((org, "X", 25.0))
        rows.append((org, "Y", 75.0))
    rows.append(("G", "Y", 100.0))  # G uses the section but never X: share of X is 0
    rows.append(("H", "X", 100.0))  # H uses only X: share 1
    rows.append(("I", "X", 40.0))  # I is below the 50-unit minimum: not compared
    df = pd.DataFrame(rows, columns=["trust_code", "vtm_name", "quantity"])
    df["bnf_section"] = "0402"
    return df


def test_share_outliers_hand_worked():
    # X shares of the 8 compared trusts: six 0.25, G 0, H 1 -> mean = 2.5 / 8 = 0.3125
    # squared deviations: 6 * 0.0625^2 + 0.3125^2 + 0.6875^2 = 0.0234375 + 0.09765625 + 0.47265625
    #   = 0.59375 -> sample variance 0.59375 / 7, sd = 0.291241
    # z(H) = 0.6875 / 0.291241 = 2.3606 -> "higher"; z(G) = -0.3125 / 0.291241 = -1.073
    # Y shares are 1 - X shares, so z(H, Y) = -2.3606 -> "lower".
    out = share_outliers(_usage())
    x = out[out["vtm_name"] == "X"].set_index("trust_code")
    sd = math.sqrt(0.59375 / 7)
    assert x.loc["H", "mean_share"] == pytest.approx(0.3125)
    assert x.loc["H", "sd_share"] == pytest.approx(sd)
    assert x.loc["H", "z"] == pytest.approx(0.6875 / sd)
    assert x.loc["G", "z"] == pytest.approx(-0.3125 / sd)
    assert x.loc["H", "outlier"] == "higher" and x.loc["G", "outlier"] == ""
    assert x.loc["A", "numerator"] == 25 and x.loc["A", "denominator"] == 100
    assert x.loc["G", "numerator"] == 0 and x.loc["G", "share"] == 0
    assert (x["n_orgs"] == 8).all()
    # I has a share but is not compared
    assert x.loc["I", "share"] == 1 and math.isnan(x.loc["I", "z"])
    y = out[out["vtm_name"] == "Y"].set_index("trust_code")
    assert y.loc["H", "z"] == pytest.approx(-0.6875 / sd) and y.loc["H", "outlier"] == "lower"
    # sorted by |z|, largest first
    assert out.iloc[0]["trust_code"] == "H"


def test_threshold_and_minimum_are_parameters():
    # With |z| >= 2.5 nobody is flagged; with a minimum of 101 units no trust is compared.
    assert (share_outliers(_usage(), z_threshold=2.5)["outlier"] == "").all()
    assert share_outliers(_usage(), min_denominator=101)["z"].isna().all()
    # with a minimum of 30, I (share 1) joins the comparison: 9 trusts
    assert (share_outliers(_usage(), min_denominator=30)["n_orgs"] == 9).all()


def test_bad_input():
    with pytest.raises(InputError, match="missing column"):
        share_outliers(pd.DataFrame({"trust_code": ["A"]}))
    with pytest.raises(InputError, match="z_threshold"):
        share_outliers(_usage(), z_threshold=0)
