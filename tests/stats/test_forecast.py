from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medlib.errors import InputError
from medlib.stats import forecast


def _frame(start: str, values: list[float]) -> pd.DataFrame:
    months = pd.date_range(start, periods=len(values), freq="MS")
    return pd.DataFrame({"year_month": months, "cost_gbp": values})


def _panel(start: str, rows: dict[str, list[float]]) -> pd.DataFrame:
    width = max(len(v) for v in rows.values())
    months = pd.date_range(start, periods=width, freq="MS")
    values = [v + [np.nan] * (width - len(v)) for v in rows.values()]
    return pd.DataFrame(values, index=list(rows), columns=months, dtype=float)


NO_POOL = forecast.Pooled(np.full(6, np.nan), np.full(12, np.nan))
FLAT_POOL = forecast.Pooled(np.full(6, 5.0), np.full(12, np.nan))
# FY 2022/23: six months at 10 then six at 20 (total 180); FY 2023/24 so far: 12, 14, 10.
LAST_YEAR = [10.0] * 6 + [20.0] * 6
THIS_YEAR = [12.0, 14.0, 10.0]


# --- the point forecasts, each by hand --------------------------------------------------------


def test_run_rate_and_recent_run_rate():
    # 36 in 3 months -> 12 a month for 9 more months
    assert forecast.run_rate(np.array([THIS_YEAR]), 3).tolist() == [108.0]
    # recent: the last 3 of 10, 10, 10, 20, 20, 20 average 20 -> 20 x 6
    history = np.array([[10.0, 10.0, 10.0, 20.0, 20.0, 20.0]])
    assert forecast.recent_run_rate(history, 6).tolist() == [120.0]
    assert forecast.run_rate(history, 6).tolist() == [90.0]
    # after 2 months the recent run rate is the run rate of both
    assert forecast.recent_run_rate(np.array([[4.0, 8.0]]), 2).tolist() == [60.0]


def test_last_year_pattern():
    history = np.array([LAST_YEAR + THIS_YEAR])
    # last year's first 3 months 30, rest 150; 36 / 30 x 150 = 180
    assert forecast.last_year_pattern(history, 3).tolist() == [180.0]
    # no full last year, a missing month of it, or last year's months summing to 0: missing
    assert np.isnan(forecast.last_year_pattern(np.array([THIS_YEAR]), 3)).all()
    gap = np.array([[np.nan] + LAST_YEAR[1:] + THIS_YEAR])
    assert np.isnan(forecast.last_year_pattern(gap, 3)).all()
    zeros = np.array([[0.0] * 3 + [5.0] * 9 + THIS_YEAR])
    assert np.isnan(forecast.last_year_pattern(zeros, 3)).all()


def test_pooled_seasonal_and_national_shift():
    factors = np.array([1.0] * 6 + [1.5] * 6)
    pooled = forecast.Pooled(np.full(6, 5.0), factors)
    # 60 so far over factors summing to 6, so 10 per unit of factor; 9 units to go
    assert forecast.pooled_seasonal(np.array([[10.0] * 6]), 6, pooled).tolist() == [90.0]
    assert np.isnan(forecast.pooled_seasonal(np.array([[10.0] * 6]), 6, NO_POOL)).all()
    # the pool's last three months average 16, all six 13
    assert forecast.national_shift(np.array([10.0] * 3 + [16.0] * 3)) == pytest.approx(16 / 13)
    assert forecast.national_shift(np.array([7.0])) == 1.0
    assert np.isnan(forecast.national_shift(np.array([0.0, 0.0])))
    shifted = forecast.Pooled(np.array([10.0] * 3 + [16.0] * 3), np.full(12, np.nan))
    # run rate 13 a month x 16/13 x 6 months
    assert forecast.national_run_rate(np.array([[13.0] * 6]), 6, shifted).tolist() == [96.0]


def test_robust_national_caps_spikes_at_twice_the_median():
    # months 10, 10, 70, 10, 10, 10: median 10, so 70 counts as 20; mean 70 / 6 for 6 months
    history = np.array([[10.0, 10.0, 70.0, 10.0, 10.0, 10.0]])
    assert forecast.robust_national(history, 6, FLAT_POOL).tolist() == pytest.approx([70.0])
    # a median of 0 caps nothing: 0, 0, 6 -> mean 2 for 9 months
    assert forecast.robust_national(np.array([[0.0, 0.0, 6.0]]), 3, FLAT_POOL).tolist() == [18.0]


def test_damped_trend_by_hand():
    # alpha = beta = phi = 0.5. Start l = 10, b = 0. x = 14: l = 7 + 0.5 x 10 = 12,
    # b = 0.5 x (12 - 10) = 1. Ten months to go: sum of (12 + (1 - 0.5^h)) for h = 1..10
    # = 120 + 10 - (1 - 0.5^10) = 129 + 0.5^10.
    expected = 129 + 0.5**10
    out = forecast.damped_trend(np.array([[10.0, 14.0]]), 2, alpha=0.5, beta=0.5, phi=0.5)
    assert out.tolist() == pytest.approx([expected])
    # leading gaps are skipped; a gap after the start makes the forecast missing
    late = forecast.damped_trend(np.array([[np.nan, 10.0, 14.0]]), 2, alpha=0.5, beta=0.5, phi=0.5)
    assert late.tolist() == pytest.approx([expected])
    hole = forecast.damped_trend(np.array([[10.0, np.nan, 14.0]]), 2)
    assert np.isnan(hole).all()


def test_combined_is_the_mean_of_capped_national_and_damped_trend():
    history = np.array([[10.0, 10.0, 70.0, 10.0, 10.0, 10.0]])
    expected = (
        forecast.robust_national(history, 6, FLAT_POOL) + forecast.damped_trend(history, 6)
    ) / 2
    assert forecast.combined(history, 6, FLAT_POOL).tolist() == pytest.approx(expected.tolist())


def test_variability():
    # moving ranges 2, 2, 2 over a mean of 11; a flat row 0; missing with one month
    out = forecast.variability(np.array([[10.0, 12.0, 10.0, 12.0], [5.0] * 4]))
    assert out.tolist() == pytest.approx([2 / 11, 0.0])
    assert np.isnan(forecast.variability(np.array([[np.nan, np.nan, np.nan, 3.0]]))).all()
    # only the last 12 months count: 13 months where the first is far off
    assert forecast.variability(np.array([[100.0] + [4.0, 6.0] * 6])).tolist() == [0.4]


# --- panels and the pool ------------------------------------------------------------------


def test_monthly_panel_spans_and_zero_months():
    rows = pd.DataFrame(
        {
            "trust_code": ["A", "A", "B", "B"],
            "year_month": pd.to_datetime(["2023-04-01", "2023-07-01", "2023-05-01", "2023-05-01"]),
            "cost_gbp": [1.0, 3.0, 2.0, np.nan],
        }
    )
    panel = forecast.monthly_panel(rows)
    assert list(panel.columns) == list(pd.date_range("2023-04-01", "2023-07-01", freq="MS"))
    # A: no rows in May and June inside its span count 0; B: rows only in May
    assert panel.loc["A"].tolist() == [1.0, 0.0, 0.0, 3.0]
    assert panel.loc["B"].fillna(-1).tolist() == [-1.0, 2.0, -1.0, -1.0]


def test_missing_month_inside_span_counts_as_zero():
    df = _frame("2023-04-01", [10.0, 10.0, 10.0]).drop(index=1)
    assert forecast.monthly_series(df).tolist() == [10.0, 0.0, 10.0]


def test_seasonal_factors_from_the_centred_moving_average():
    pattern = [8.0, 8.0, 8.0, 12.0, 12.0, 12.0] * 2
    # a purely seasonal pool: the centred 12-month average is 10 everywhere
    factors = forecast.seasonal_factors(np.array([pattern * 2]), [0, 12])
    assert factors.tolist() == pytest.approx([0.8] * 3 + [1.2] * 3 + [0.8] * 3 + [1.2] * 3)
    # one year gives no centred average for every month
    assert np.isnan(forecast.seasonal_factors(np.array([pattern]), [0])).all()
    # a step in level moves the average, not the factors: second year doubled
    stepped = np.array([pattern + [2 * v for v in pattern] + [2 * v for v in pattern]])
    factors = forecast.seasonal_factors(stepped, [12, 24])
    assert factors.tolist() == pytest.approx([0.8] * 3 + [1.2] * 3 + [0.8] * 3 + [1.2] * 3)


def test_pooled_inputs_use_only_entities_with_every_month():
    pool = np.array([[1.0, 2.0, 3.0], [10.0, np.nan, 10.0], [4.0, 4.0, 4.0]])
    pooled = forecast.pooled_inputs(pool, 0, 3)
    assert pooled.year_to_date.tolist() == [5.0, 6.0, 7.0]
    assert np.isnan(pooled.seasonal_factors).all()


# --- calibrated intervals -----------------------------------------------------------------


def test_conformal_bounds():
    # n = 19 at 80%: lo = floor(20 x 0.1) = 2, hi = ceil(20 x 0.9) = 18
    assert forecast.conformal_bounds(np.arange(1.0, 20.0), 80) == (2.0, 18.0)
    # n = 39 at 95%: lo = floor(40 x 0.025) = 1, hi = ceil(40 x 0.975) = 39
    assert forecast.conformal_bounds(np.arange(1.0, 40.0), 95) == (1.0, 39.0)
    # too few: 8 at 80%, 38 at 95%; missing values are ignored
    assert np.isnan(forecast.conformal_bounds(np.arange(8.0), 80)).all()
    assert np.isnan(forecast.conformal_bounds(np.arange(38.0), 95)).all()
    assert forecast.conformal_bounds(np.r_[np.arange(1.0, 20.0), np.nan], 80) == (2.0, 18.0)


def _scored_rows(year: str, scores: list[float], scale: float = 0.1) -> pd.DataFrame:
    # ytd 100, rest forecast 100: score s needs actual rest 100 (1 + scale x s)
    n = len(scores)
    return pd.DataFrame(
        {
            "entity": [f"T{i}" for i in range(n)],
            "financial_year": year,
            "method": "run_rate",
            "months_observed": 6,
            "ytd": 100.0,
            "rest_forecast": 100.0,
            "forecast": 200.0,
            "scale": scale,
            "actual": [200.0 + 100 * scale * s for s in scores],
        }
    )


def test_interval_scores():
    rows = _scored_rows("2021/22", [3.0, -2.0], scale=0.2)
    assert forecast.interval_scores(rows).tolist() == pytest.approx([3.0, -2.0])
    rows.loc[0, "rest_forecast"] = 0.0
    rows.loc[1, "scale"] = 0.0
    assert forecast.interval_scores(rows).isna().all()


def test_calibrate_by_hand_and_forward_chaining():
    pool = _scored_rows("2021/22", [float(s) for s in range(1, 20)])
    target = pd.DataFrame(
        {
            "entity": ["X", "X"],
            "financial_year": ["2022/23", "2021/22"],
            "method": "run_rate",
            "months_observed": 6,
            "ytd": 50.0,
            "rest_forecast": 60.0,
            "scale": 0.2,
            "actual": [140.0, 140.0],
        }
    )
    out = forecast.calibrate(target, pool)
    # 80%: scores 2 and 18 -> 50 + 60 x (1 + 0.2 x 2) = 134 and 50 + 60 x (1 + 0.2 x 18) = 326
    assert out.loc[0, ["lower_80", "upper_80"]].tolist() == pytest.approx([134.0, 326.0])
    assert out.loc[0, "covered_80"] == 1.0
    # 19 scores are too few for 95%
    assert np.isnan(out.loc[0, "lower_95"])
    # 2021/22 is never calibrated on itself
    assert np.isnan(out.loc[1, "lower_80"]) and np.isnan(out.loc[1, "covered_80"])
    # another month of the year or another method has no past forecasts
    other = forecast.calibrate(target.assign(months_observed=5), pool)
    assert other["lower_80"].isna().all()


def test_calibrate_never_puts_the_lower_bound_below_the_ytd():
    pool = _scored_rows("2021/22", [float(s) for s in range(-19, 0)])
    target = pd.DataFrame(
        {
            "financial_year": ["2022/23"],
            "method": "run_rate",
            "months_observed": 6,
            "ytd": 50.0,
            "rest_forecast": 60.0,
            "scale": 0.2,
        }
    )
    out = forecast.calibrate(target, pool).iloc[0]
    # scores -18 and -2: 1 + 0.2 x -18 < 0 -> the YTD; 50 + 60 x (1 - 0.4) = 86
    assert out["lower_80"] == 50.0 and out["upper_80"] == pytest.approx(86.0)
    assert "covered_80" not in out.index


# --- choosing the default -----------------------------------------------------------------


def _ape_rows(year: str, apes: dict[str, float], entities: int = 2) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "entity": f"T{i}",
                "financial_year": year,
                "method": method,
                "months_observed": 6,
                "ape_pct": ape,
            }
            for method, ape in apes.items()
            for i in range(entities)
        ]
    )


def test_choose_method_scores_each_year_against_the_run_rate():
    # an easy year without the seasonal method and a hard one with it:
    #   2020/21: run rate 10, recent 9 (0.9)              seasonal cannot run
    #   2021/22: run rate 40, recent 36 (0.9), seasonal 32 (0.8)
    # plain MAPE would favour recent (22.5 against 32); relative to the run rate, seasonal wins
    pool = pd.concat(
        [
            _ape_rows("2020/21", {"run_rate": 10.0, "recent_run_rate": 9.0, "seasonal": np.nan}),
            _ape_rows("2021/22", {"run_rate": 40.0, "recent_run_rate": 36.0, "seasonal": 32.0}),
        ]
    )
    methods = ["run_rate", "recent_run_rate", "seasonal"]
    assert forecast.choose_method(pool, "2022/23", 6, methods) == ("seasonal", 32.0)
    table = forecast.relative_errors(pool, "2022/23", 6, methods)
    assert table["relative_error"].tolist() == pytest.approx([1.0, 0.9, 0.8])
    assert table["mape_pct"].tolist() == pytest.approx([25.0, 22.5, 32.0])
    # only the years before: for 2021/22, recent (0.9) beats the run rate (1.0)
    assert forecast.choose_method(pool, "2021/22", 6, methods) == ("recent_run_rate", 9.0)
    # nothing earlier, or another month: the run rate, without a MAPE
    method, mape = forecast.choose_method(pool, "2020/21", 6, methods)
    assert method == "run_rate" and np.isnan(mape)
    assert forecast.choose_method(pool, "2022/23", 5, methods)[0] == "run_rate"


def test_with_default_adds_the_chosen_rows_and_a_clear_trust_choice():
    pool = pd.concat(
        [
            _ape_rows(year, {"run_rate": 20.0, "recent_run_rate": 8.0})
            for year in ("2019/20", "2020/21", "2021/22")
        ],
        ignore_index=True,
    )
    # T1 is much better off with the run rate in every earlier year (4 against 8: 50% lower)
    better = (pool["entity"] == "T1") & (pool["method"] == "run_rate")
    pool.loc[better, "ape_pct"] = 4.0
    detail = _ape_rows("2022/23", {"run_rate": 1.0, "recent_run_rate": 2.0})
    methods = ["run_rate", "recent_run_rate"]
    out = forecast.with_default(detail, pool, methods)
    default = out[out["method"] == "default"].set_index("entity")
    # pooled, every year: recent 8 against the run rate's (20 + 4) / 2 = 12
    assert default["chosen_method"].to_dict() == {"T0": "recent_run_rate", "T1": "recent_run_rate"}
    assert default["ape_pct"].tolist() == [2.0, 2.0]
    own = forecast.with_default(detail, pool, methods, trust_choice=True)
    own = own[own["method"] == "default"].set_index("entity")["chosen_method"]
    assert own.to_dict() == {"T0": "recent_run_rate", "T1": "run_rate"}
    # with fewer than three earlier years of its own, T1 keeps the pooled choice
    two = forecast.with_default(
        detail, pool[pool["financial_year"] != "2019/20"], methods, trust_choice=True
    )
    assert set(two.loc[two["method"] == "default", "chosen_method"]) == {"recent_run_rate"}


# --- backtest, forecast and the single-series interface -----------------------------------


def test_panel_backtest_hand_worked():
    # Three identical years (2020/21-2022/23) of six 10s then six 20s. The seasonal method
    # needs last year, so it is tested in 2021/22 and 2022/23, and is exact (APE 0); the run
    # rate after k months: k <= 6: 10k x 12 / k = 120 vs 180 -> APE 33.33%
    #   k >= 7: (60 + 20 (k - 6)) x 12 / k -> k = 7: 137.14 (23.81%), ... k = 11: 174.55 (3.03%)
    panel = _panel("2020-04-01", {"A": LAST_YEAR * 3})
    detail = forecast.panel_backtest(panel, ["run_rate", "seasonal"])
    assert sorted(set(detail["financial_year"])) == ["2020/21", "2021/22", "2022/23"]
    assert len(detail) == 3 * 11 * 2
    seasonal = detail[detail["method"] == "seasonal"].set_index("financial_year")["ape_pct"]
    assert seasonal.loc["2020/21"].isna().all() and seasonal.loc["2022/23"].max() == pytest.approx(
        0
    )
    expected = [
        abs((60 + 20 * max(k - 6, 0) if k > 6 else 10 * k) * 12 / k - 180) / 180 * 100
        for k in range(1, 12)
    ]
    run_rate = detail[(detail["method"] == "run_rate") & (detail["financial_year"] == "2022/23")]
    assert run_rate["ape_pct"].tolist() == pytest.approx(expected)
    assert run_rate["actual"].unique().tolist() == [180.0]


def test_panel_backtest_leaves_out_years_with_a_missing_month():
    panel = _panel("2022-04-01", {"A": [1.0] * 24, "B": [np.nan] + [1.0] * 23})
    detail = forecast.panel_backtest(panel, ["run_rate"], months_observed=[6])
    assert detail.groupby("financial_year")["entity"].apply(sorted).to_dict() == {
        "2022/23": ["A"],
        "2023/24": ["A", "B"],
    }


def test_forecast_panel_intervals_come_from_the_pools_earlier_year():
    # Pool: nine trusts in 2022/23 alternating 9, 11 for six months (mean 10, moving range 2,
    # variability 0.2), then 10 + i for six months (i = 1..9): the run rate's rest is 60 and
    # the actual rest 60 + 6i, so the scores are (6i / 60) / 0.2 = i / 2. With n = 9 the 80%
    # bounds are the smallest and largest, 0.5 and 4.5.
    pool = _panel(
        "2022-04-01",
        {f"P{i}": [9.0, 11.0] * 3 + [10.0 + i] * 6 + [9.0, 11.0] * 3 for i in range(1, 10)},
    )
    # Trust X in 2023/24: 9, 11, 9, 11, 9, 11 after a year of the same: rest 60, variability
    # 0.2, so 60 + 60 x (1 + 0.2 x 0.5) = 126 and 60 + 60 x (1 + 0.2 x 4.5) = 174.
    panel = _panel("2022-04-01", {"X": [9.0, 11.0] * 9})
    out = forecast.forecast_panel(panel, "2023-09", ["run_rate"], pool=pool).iloc[0]
    assert out["financial_year"] == "2023/24" and out["months_observed"] == 6
    assert out["forecast"] == 120.0
    assert [out["lower_80"], out["upper_80"]] == pytest.approx([126.0, 174.0])
    assert np.isnan(out["lower_95"])  # nine past forecasts are too few for 95%


def test_forecast_outturn_single_series():
    out = forecast.forecast_outturn(
        _frame("2022-04-01", LAST_YEAR + THIS_YEAR), "2023-06", methods=["run_rate", "seasonal"]
    )
    assert list(out.columns) == forecast.FORECAST_COLUMNS
    out = out.set_index("method")
    assert out.loc["run_rate", "ytd"] == 36 and out.loc["run_rate", "forecast"] == 144
    assert out.loc["seasonal", "forecast"] == pytest.approx(216)
    # one series has no earlier year's forecasts to calibrate on: no interval
    assert out["lower_80"].isna().all()
    # seasonal needs last year; after month 12 the outturn is known
    short = forecast.forecast_outturn(_frame("2023-04-01", [5.0, 7.0]), "2023-05")
    assert short.set_index("method").loc["run_rate", "forecast"] == 12 + 6 * 10
    assert np.isnan(short.set_index("method").loc["seasonal", "forecast"])
    values = [float(v) for v in range(1, 13)]
    done = forecast.forecast_outturn(_frame("2023-04-01", values), "2024-03", methods=["run_rate"])
    assert done.loc[0, "forecast"] == 78 and done.loc[0, "lower_95"] == 78


def test_backtest_single_series_and_summary():
    detail = forecast.backtest(
        _frame("2020-04-01", LAST_YEAR * 3), methods=["run_rate", "seasonal"]
    )
    assert set(detail["financial_year"]) == {"2022/23"}  # 24 months of history before it
    assert len(detail) == 11 * 2
    summary = forecast.backtest_summary(detail)
    assert summary["method"].tolist() == ["seasonal", "run_rate"]
    expected = [
        abs((60 + 20 * max(k - 6, 0) if k > 6 else 10 * k) * 12 / k - 180) / 180 * 100
        for k in range(1, 12)
    ]
    assert summary.loc[1, "mape_pct"] == pytest.approx(sum(expected) / 11)
    assert summary.loc[1, "median_ape_pct"] == pytest.approx(np.median(expected))
    assert forecast.best_method(summary) == "seasonal"


def test_backtest_summary_coverage():
    detail = pd.DataFrame(
        {
            "method": ["a", "a", "a", "a"],
            "ape_pct": [10.0, 20.0, 30.0, 40.0],
            "covered_80": [1.0, 0.0, 1.0, np.nan],
            "covered_95": [1.0, 1.0, 1.0, np.nan],
        }
    )
    row = forecast.backtest_summary(detail).iloc[0]
    assert row["mape_pct"] == 25.0 and row["forecasts"] == 4
    assert row["coverage_80_pct"] == pytest.approx(200 / 3) and row["coverage_95_pct"] == 100.0


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
    # its own (simulated) interval is kept: ETS is not calibrated on the pool
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
    panel = _panel("2023-04-01", {"A": [1.0] * 12})
    with pytest.raises(InputError, match="same months"):
        forecast.panel_backtest(panel, pool=panel.iloc[:, :6])
    with pytest.raises(InputError, match="not complete"):
        forecast.panel_backtest(panel, financial_years=["2024/25"])
