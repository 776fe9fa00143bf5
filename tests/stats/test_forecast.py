from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from medlib.errors import InputError
from medlib.stats import forecast


def _frame(start: str, values: list[float]) -> pd.DataFrame:
    months = pd.date_range(start, periods=len(values), freq="MS")
    return pd.DataFrame({"year_month": months, "cost_gbp": values})


# FY 2022/23: six months at 10 then six at 20 (total 180); FY 2023/24 so far: 12, 14, 10.
LAST_YEAR = [10.0] * 6 + [20.0] * 6
THIS_YEAR = [12.0, 14.0, 10.0]


def test_run_rate_hand_worked():
    out = forecast.forecast_outturn(
        _frame("2022-04-01", LAST_YEAR + THIS_YEAR), "2023-06", methods=["run_rate"]
    ).iloc[0]
    # YTD 36 after k = 3 months -> 36 + 12 * 9 = 144
    # residuals 0, 2, -2 -> sigma^2 = 8 / 2 = 4; se = sqrt(4 * (9 + 3 * (9 / 3)^2)) = 12
    assert out["financial_year"] == "2023/24" and out["months_observed"] == 3
    assert out["ytd"] == 36 and out["forecast"] == pytest.approx(144)
    t95, t80 = stats.t.ppf(0.975, 2), stats.t.ppf(0.9, 2)  # 4.3027, 1.8856
    assert out["upper_95"] == pytest.approx(144 + t95 * 12)
    assert out["lower_80"] == pytest.approx(144 - t80 * 12)


def test_seasonal_hand_worked():
    out = forecast.forecast_outturn(
        _frame("2022-04-01", LAST_YEAR + THIS_YEAR), "2023-06", methods=["seasonal"]
    ).iloc[0]
    # last year's first 3 months 30, rest 150; ratio 36 / 30 = 1.2 -> 36 + 1.2 * 150 = 216
    # residuals 12 - 12, 14 - 12, 10 - 12 -> sigma^2 = 4
    # se = sqrt(4 * (9 + 3 * (150 / 30)^2)) = sqrt(336)
    assert out["forecast"] == pytest.approx(216)
    assert out["upper_95"] == pytest.approx(216 + stats.t.ppf(0.975, 2) * np.sqrt(336))


def test_seasonal_needs_last_year_and_one_month_has_no_interval():
    out = forecast.forecast_outturn(_frame("2023-04-01", [5.0, 7.0]), "2023-05").set_index("method")
    assert out.loc["run_rate", "forecast"] == pytest.approx(12 + 6 * 10)
    assert np.isnan(out.loc["seasonal", "forecast"])
    one = forecast.forecast_outturn(_frame("2023-04-01", [5.0]), "2023-04", methods=["run_rate"])
    assert one.loc[0, "forecast"] == 60 and np.isnan(one.loc[0, "upper_95"])


def test_month_12_outturn_is_known():
    values = [float(v) for v in range(1, 13)]
    out = forecast.forecast_outturn(_frame("2023-04-01", values), "2024-03", methods=["run_rate"])
    assert out.loc[0, "forecast"] == 78 and out.loc[0, "lower_95"] == 78


def test_missing_month_inside_span_counts_as_zero():
    df = _frame("2023-04-01", [10.0, 10.0, 10.0]).drop(index=1)
    series = forecast.monthly_series(df)
    assert series.tolist() == [10.0, 0.0, 10.0]


def test_backtest_hand_worked():
    # Three identical years (2020/21-2022/23) of six 10s then six 20s. Only 2022/23 has
    # 24 months of history. The seasonal method is exact (APE 0); the run rate after k months:
    #   k <= 6: 10k * 12 / k = 120 vs 180 -> APE 33.33%
    #   k >= 7: (60 + 20 (k - 6)) * 12 / k -> k = 7: 137.14 (23.81%), ... k = 11: 174.55 (3.03%)
    df = _frame("2020-04-01", LAST_YEAR * 3)
    detail = forecast.backtest(df)
    assert set(detail["financial_year"]) == {"2022/23"}
    assert len(detail) == 11 * 2
    seasonal = detail[detail["method"] == "seasonal"]
    assert seasonal["ape_pct"].max() == pytest.approx(0)
    expected = [
        abs((60 + 20 * max(k - 6, 0) if k > 6 else 10 * k) * 12 / k - 180) / 180 * 100
        for k in range(1, 12)
    ]
    run_rate = detail[detail["method"] == "run_rate"]["ape_pct"].tolist()
    assert run_rate == pytest.approx(expected)
    summary = forecast.backtest_summary(detail)
    assert summary["method"].tolist() == ["seasonal", "run_rate"]
    assert summary.loc[1, "mape_pct"] == pytest.approx(sum(expected) / 11)
    assert forecast.best_method(summary) == "seasonal"


def test_backtest_years_rule():
    series = forecast.monthly_series(_frame("2019-04-01", [1.0] * 60))  # 2019-04 .. 2024-03
    assert forecast.backtest_years(series) == ["2021/22", "2022/23", "2023/24"]


def test_ets_runs_and_recovers_a_repeating_pattern():
    rng = np.random.default_rng(1)
    pattern = np.array([10, 11, 12, 11, 10, 9, 10, 12, 14, 13, 11, 20], dtype=float)
    values = np.concatenate([pattern] * 4) + rng.normal(0, 0.3, 48)
    df = _frame("2020-04-01", values.tolist())
    out = forecast.forecast_outturn(df, "2023-09", methods=["ets"]).iloc[0]
    actual = values[-12:].sum()
    # the ETS point forecast of a stable seasonal series lands within 3% of the outturn
    assert abs(out["forecast"] - actual) / actual < 0.03
    assert out["lower_95"] < out["lower_80"] < out["forecast"] < out["upper_80"] < out["upper_95"]


def test_bad_input():
    df = _frame("2023-04-01", [1.0, 2.0])
    with pytest.raises(InputError, match="methods"):
        forecast.forecast_outturn(df, "2023-05", methods=["magic"])
    with pytest.raises(InputError, match="needs every month"):
        forecast.forecast_outturn(_frame("2023-05-01", [1.0]), "2023-05")
    with pytest.raises(InputError, match="period_end"):
        forecast.forecast_outturn(df, "May 2023")
    with pytest.raises(InputError, match="not complete"):
        forecast.backtest(df, financial_years=["2023/24"])
    with pytest.raises(InputError, match="no rows"):
        forecast.forecast_outturn(df.iloc[0:0], "2023-05")
