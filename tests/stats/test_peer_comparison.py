from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from medlib.errors import InputError
from medlib.stats import peer_comparison


def test_deciles_linear_interpolation_hand_worked():
    # Month 1 values 10, 20, 30, 40, 50 (n = 5): position of percentile p is p/100 * (n - 1)
    #   p10 -> 0.4 -> 10 + 0.4 * 10 = 14;  p50 -> 2.0 -> 30;  p90 -> 3.6 -> 40 + 0.6 * 10 = 46
    # Month 2 values 1, 3 and a NaN (left out): p10 -> 0.1 -> 1 + 0.1 * 2 = 1.2; p50 -> 2
    df = pd.DataFrame(
        {
            "year_month": ["m1"] * 5 + ["m2"] * 3,
            "trust_code": list("ABCDE") + list("ABC"),
            "v": [50, 10, 40, 20, 30, 3, np.nan, 1],
        }
    )
    out = peer_comparison.deciles(df, "v", percentiles=(10, 50, 90))
    got = {(r.year_month, r.percentile): r.value for r in out.itertuples()}
    assert got[("m1", 10.0)] == pytest.approx(14)
    assert got[("m1", 50.0)] == pytest.approx(30)
    assert got[("m1", 90.0)] == pytest.approx(46)
    assert got[("m2", 10.0)] == pytest.approx(1.2)
    assert got[("m2", 50.0)] == pytest.approx(2)
    assert len(out) == 6


def test_deciles_drop_inactive_orgs():
    # Trust C has zero activity in both months and is dropped: month values 1, 3 -> median 2;
    # kept, the median of 0, 1, 3 would be 1.
    df = pd.DataFrame(
        {
            "year_month": ["m1"] * 3 + ["m2"] * 3,
            "trust_code": list("ABC") * 2,
            "v": [1, 3, 0, 1, 3, 0],
            "den": [5, 5, 0, 5, 5, 0],
        }
    )
    out = peer_comparison.deciles(df, "v", percentiles=(50,), activity="den")
    assert out["value"].tolist() == [2.0, 2.0]
    kept = peer_comparison.deciles(df, "v", percentiles=(50,))
    assert kept["value"].tolist() == [1.0, 1.0]


def test_percent_rank_hand_worked():
    # ranks (min) 1, 2, 2, 4 of n = 4 -> (r - 1) / 3 * 100
    got = peer_comparison.percent_rank(pd.Series([10, 20, 20, 40]))
    assert got.tolist() == pytest.approx([0, 100 / 3, 100 / 3, 100])
    # NaN stays NaN and does not count: 5, 1 -> ranks 2, 1 of n = 2
    got = peer_comparison.percent_rank([5, np.nan, 1])
    assert got.iloc[0] == 100 and math.isnan(got.iloc[1]) and got.iloc[2] == 0
    assert peer_comparison.percent_rank([7.0]).tolist() == [0.0]


def test_winsorise_hand_worked():
    # sorted -2, 0, 0, 2: p10 at position 0.3 -> -2 + 0.3 * 2 = -1.4; p90 at 2.7 -> 0.7 * 2 = 1.4
    assert peer_comparison.winsorise(np.array([2.0, 0.0, -2.0, 0.0])).tolist() == pytest.approx(
        [1.4, 0.0, -1.4, 0.0]
    )


def test_funnel_without_overdispersion_hand_worked():
    # FunnelPlotR works on the arcsine square-root scale for proportions (R/od_adjustment.R).
    # 4 trusts of 100 with 40, 60, 50, 50 events: p_bar = 0.5, centre asin(sqrt(0.5)) = pi/4,
    # s = 1 / (2 sqrt(100)) = 0.05; z = (asin(sqrt(0.4)) - pi/4) / 0.05 = -2.013579 and +2.013579
    # (asin sqrt(p) + asin sqrt(1 - p) = pi/2), 0, 0; winsorised to +/- 0.7 x 2.013579, so
    # phi = 2 x 0.49 x 2.013579^2 / 4 = 0.99336 <= 1 -> no adjustment.
    # Limits sin(pi/4 +/- z s)^2 = (1 +/- sin(2 z s)) / 2: at 95% (1 +/- sin 0.196) / 2.
    res = peer_comparison.funnel_limits([40, 60, 50, 50], [100] * 4, ["A", "B", "C", "D"])
    z = (math.asin(math.sqrt(0.4)) - math.pi / 4) / 0.05
    assert z == pytest.approx(-2.013579, abs=1e-6)
    assert res.target == pytest.approx(0.5) and res.scale == "arcsine"
    assert res.phi == pytest.approx(0.49 * z**2 / 2)
    assert res.tau2 == 0 and not res.overdispersion_adjusted
    t = res.table.set_index("label")
    assert t.loc["A", "z"] == pytest.approx(z) and t.loc["B", "z"] == pytest.approx(-z)
    assert t.loc["A", "lower_95"] == pytest.approx((1 - math.sin(0.196)) / 2)  # 0.402627
    assert t.loc["A", "upper_95"] == pytest.approx((1 + math.sin(0.196)) / 2)
    assert t.loc["A", "lower_99.8"] == pytest.approx((1 - math.sin(0.309)) / 2)  # 0.347944
    # 0.40 is inside the 99.8% limits but below the 95% limit 0.4026
    assert t["position"].tolist() == ["below 95%", "above 95%", "within limits", "within limits"]


def test_funnel_raw_scale_without_overdispersion_hand_worked():
    # scale="raw": s = sqrt(0.25 / 100) = 0.05, z = -2, 2, 0, 0; winsorised -1.4, 1.4, 0, 0
    # phi = (1.96 + 1.96) / 4 = 0.98; 95% limits 0.5 +/- 1.96 x 0.05 = 0.402 / 0.598
    res = peer_comparison.funnel_limits([40, 60, 50, 50], [100] * 4, scale="raw")
    assert res.phi == pytest.approx(0.98)
    assert res.table.loc[0, "z"] == pytest.approx(-2)
    assert res.table.loc[0, "lower_95"] == pytest.approx(0.402)
    assert res.table.loc[0, "lower_99.8"] == pytest.approx(0.3455)


def test_funnel_with_overdispersion_on_the_arcsine_scale_hand_worked():
    # 25, 75, 50, 50 of 100 each: p_bar 0.5; asin(sqrt(.25)) = pi/6, asin(sqrt(.75)) = pi/3,
    # centre pi/4, s = 0.05, so z = -/+ (pi/12) / 0.05 = -/+ 5 pi / 3, 0, 0.
    # Winsorised at 10%: -/+ 0.7 x 5 pi / 3; phi = 2 x 0.49 x 25 pi^2 / 9 / 4 = 6.125 pi^2 / 9
    # (6.7168; on the raw scale z would be -/+ 5 and phi 6.125).
    # w = 1 / s^2 = 400 each: sum w = 1600, sum w^2 / sum w = 400, so
    # tau^2 = (4 phi - 3) / 1200 = 0.0198894, on the arcsine scale.
    res = peer_comparison.funnel_limits([25, 75, 50, 50], [100] * 4)
    phi = 6.125 * math.pi**2 / 9
    assert res.phi == pytest.approx(phi)
    tau2 = (4 * phi - 3) / 1200
    assert res.tau2 == pytest.approx(tau2) and res.tau2 == pytest.approx(0.0198894, abs=1e-7)
    assert res.overdispersion_adjusted
    # limits (1 +/- sin(2 x 1.96 x sd)) / 2 with sd = sqrt(0.0025 + tau^2) = 0.149631
    sd = math.sqrt(0.0025 + tau2)
    assert res.table.loc[0, "lower_95"] == pytest.approx((1 - math.sin(2 * 1.96 * sd)) / 2)
    assert res.table.loc[0, "upper_99.8"] == pytest.approx((1 + math.sin(2 * 3.09 * sd)) / 2)
    assert res.table.loc[0, "z_adjusted"] == pytest.approx(-(math.pi / 12) / sd)
    # 0.25 is inside the widened 95% limits (sin 0.58655 = 0.55349: 0.2233) though z = -5.2
    assert res.table.loc[0, "lower_95"] == pytest.approx(0.223253, abs=1e-6)
    assert res.table.loc[0, "position"] == "within limits"
    plain = peer_comparison.funnel_limits([25, 75, 50, 50], [100] * 4, overdispersion=False)
    assert plain.tau2 == 0 and plain.table.loc[0, "position"] == "below 99.8%"


def test_funnel_with_overdispersion_raw_scale_hand_worked():
    # scale="raw", 30, 70, 50, 50 of 100: z = -4, 4, 0, 0; winsorised -/+ 2.8: phi = 3.92
    # tau^2 = (4 x 3.92 - 3) / (1600 - 400) = 12.68 / 1200; 95%: 0.5 +/- 1.96 sqrt(s^2 + tau^2)
    res = peer_comparison.funnel_limits([30, 70, 50, 50], [100] * 4, scale="raw")
    assert res.phi == pytest.approx(3.92)
    assert res.tau2 == pytest.approx(12.68 / 1200)
    sd = math.sqrt(0.0025 + 12.68 / 1200)
    assert res.table.loc[0, "upper_95"] == pytest.approx(0.5 + 1.96 * sd)
    assert res.table.loc[0, "z_adjusted"] == pytest.approx(-0.2 / sd)


def test_funnel_curve_narrows_with_size_and_stays_in_0_1():
    res = peer_comparison.funnel_limits([1, 2], [10, 10], overdispersion=False)
    # p_bar = 3 / 20 = 0.15, centre asin(sqrt(0.15)) = 0.397699. At n = 1 (s = 0.5) the lower
    # 99.8% angle 0.3977 - 3.09 x 0.5 is below 0, so the limit is 0 (not folded back up).
    curve = res.limits([1, 100])
    centre = math.asin(math.sqrt(0.15))
    assert curve.loc[0, "lower_99.8"] == 0
    assert curve.loc[1, "upper_95"] == pytest.approx(math.sin(centre + 1.96 * 0.05) ** 2)
    assert curve.loc[0, "upper_95"] > curve.loc[1, "upper_95"]
    raw = peer_comparison.funnel_limits([1, 2], [10, 10], overdispersion=False, scale="raw")
    assert raw.limits([1]).loc[0, "lower_99.8"] == 0  # clipped
    assert raw.limits([100]).loc[0, "upper_95"] == pytest.approx(
        0.15 + 1.96 * math.sqrt(0.15 * 0.85 / 100)
    )


def test_funnel_zero_denominator_is_kept_but_left_out():
    res = peer_comparison.funnel_limits([5, 0], [10, 0], ["A", "B"])
    assert res.target == 0.5
    assert math.isnan(res.table.loc[1, "proportion"]) and pd.isna(res.table.loc[1, "position"])


@pytest.mark.parametrize(
    ("num", "den", "message"),
    [
        ([1, 2], [10], "same length"),
        ([11], [10], "exceeds"),
        ([-1], [10], "negative"),
        ([np.nan], [10], "missing"),
        ([0], [0], "positive denominator"),
    ],
)
def test_funnel_bad_input(num, den, message):
    with pytest.raises(InputError, match=message):
        peer_comparison.funnel_limits(num, den)


def test_funnel_unknown_scale():
    with pytest.raises(InputError, match="scale"):
        peer_comparison.funnel_limits([1], [10], scale="logit")


def test_deciles_bad_input():
    with pytest.raises(InputError, match="missing column"):
        peer_comparison.deciles(pd.DataFrame({"x": [1]}), "v")
    df = pd.DataFrame({"year_month": [1], "trust_code": ["A"], "v": [1.0]})
    with pytest.raises(InputError, match="0-100"):
        peer_comparison.deciles(df, "v", percentiles=(150,))
