"""Year-end (outturn) forecasts of a monthly series, and a backtest to choose between methods.

Methods, each giving a point forecast of the full financial year and 80% and 95% intervals:

- ``run_rate``: the months so far continue at their average.
  ``outturn = YTD + (YTD / k) * (12 - k)`` after k months.
- ``seasonal``: the rest of the year follows last year's monthly profile, scaled by how this
  year compares with the same months last year.
  ``outturn = YTD + (YTD / LY_YTD) * LY_rest``.
- ``ets``: an exponential-smoothing state-space model (statsmodels ``ETSModel``; additive
  error, damped additive trend, additive 12-month seasonality once there are two years of
  history), fitted to all months up to the period end; its interval comes from simulated paths.

Both ratio methods are the same model with a different profile ``w``: ``x_i = R * w_i + e_i``
with independent errors of variance ``sigma^2`` (``w_i = 1`` for the run rate, last year's
month i for the seasonal method). With ``R = sum(x_obs) / sum(w_obs)``, the prediction variance
of the rest-of-year total is ``sigma^2 * (m + k * (sum w_rest / sum w_obs)^2)`` for m months to
go, with ``sigma^2 = sum(residual^2) / (k - 1)``; intervals use Student's t with k - 1 degrees of
freedom, so there is no interval after one month. After month 12 the outturn is known.

Months with no rows inside a series' span count as zero (a sum over nothing is zero).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import stdtrit

from medlib.errors import InputError
from medlib.reference.financial_years import fy_bounds, fy_label, fy_month, fy_of_month
from medlib.validation import parse_month, require_columns

__all__ = [
    "DEFAULT_METHODS",
    "FORECAST_COLUMNS",
    "METHOD_NAMES",
    "backtest",
    "backtest_summary",
    "backtest_years",
    "best_method",
    "forecast_outturn",
    "monthly_series",
]

METHODS = ("run_rate", "seasonal", "ets")
DEFAULT_METHODS = ("run_rate", "seasonal")
LEVELS = (80, 95)
#: Simulated paths for the ETS interval; seeded so a report is reproducible.
ETS_PATHS = 1000
ETS_SEED = 20240331

FORECAST_COLUMNS = [
    "financial_year",
    "method",
    "months_observed",
    "ytd",
    "forecast",
    "lower_80",
    "upper_80",
    "lower_95",
    "upper_95",
]

METHOD_NAMES = {
    "run_rate": "Run rate",
    "seasonal": "Last year's monthly pattern",
    "ets": "Exponential smoothing",
}


def monthly_series(
    monthly: pd.DataFrame, value: str = "cost_gbp", date: str = "year_month"
) -> pd.Series:
    """One value per calendar month from the first to the last month in ``monthly``.

    Rows in the same month are summed; months with no rows inside the span are 0.

    Raises:
        InputError: Missing columns or no rows.
    """
    require_columns(monthly, [date, value], "monthly series")
    if monthly.empty:
        raise InputError("monthly series has no rows")
    sums = monthly.groupby(date)[value].sum(min_count=1)
    index = pd.date_range(sums.index.min(), sums.index.max(), freq="MS")
    return sums.reindex(index).fillna(0.0).astype(float)


def _validate_methods(methods: Sequence[str]) -> tuple[str, ...]:
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise InputError(f"forecast methods must be chosen from {list(METHODS)}, got {methods}")
    return tuple(methods)


def _ratio_forecast(
    observed: np.ndarray, profile_obs: np.ndarray, profile_rest: np.ndarray
) -> dict[str, float]:
    k, m = len(observed), len(profile_rest)
    ytd = float(observed.sum())
    out = {"ytd": ytd, "forecast": np.nan}
    for level in LEVELS:
        out[f"lower_{level}"] = out[f"upper_{level}"] = np.nan
    w_obs = float(profile_obs.sum())
    if w_obs == 0:
        return out
    ratio = ytd / w_obs
    w_rest = float(profile_rest.sum())
    out["forecast"] = ytd + ratio * w_rest
    if k < 2 or m == 0:
        if m == 0:
            for level in LEVELS:
                out[f"lower_{level}"] = out[f"upper_{level}"] = out["forecast"]
        return out
    residuals = observed - ratio * profile_obs
    sigma2 = float((residuals**2).sum() / (k - 1))
    se = np.sqrt(sigma2 * (m + k * (w_rest / w_obs) ** 2))
    for level in LEVELS:
        # The t quantile (what scipy.stats.t.ppf computes, without importing scipy.stats).
        t = stdtrit(k - 1, 0.5 + level / 200)
        out[f"lower_{level}"] = out["forecast"] - t * se
        out[f"upper_{level}"] = out["forecast"] + t * se
    return out


def _ets_forecast(history: pd.Series, observed: np.ndarray, m: int) -> dict[str, float]:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    ytd = float(observed.sum())
    out = {"ytd": ytd, "forecast": np.nan}
    for level in LEVELS:
        out[f"lower_{level}"] = out[f"upper_{level}"] = np.nan
    if m == 0:
        out["forecast"] = ytd
        for level in LEVELS:
            out[f"lower_{level}"] = out[f"upper_{level}"] = ytd
        return out
    if len(history) < 12:
        return out
    seasonal = "add" if len(history) >= 24 else None
    series = pd.Series(history.to_numpy(), index=pd.RangeIndex(len(history)))
    with warnings.catch_warnings():
        # Short monthly series often trip statsmodels' convergence warnings; the backtest is
        # the check on whether the fit is any good.
        warnings.simplefilter("ignore")
        model = ETSModel(
            series,
            error="add",
            trend="add",
            damped_trend=True,
            seasonal=seasonal,
            seasonal_periods=12 if seasonal else None,
        )
        fit = model.fit(disp=False, maxiter=200)
        point = float(np.asarray(fit.forecast(m)).sum())
        paths = fit.simulate(
            nsimulations=m,
            repetitions=ETS_PATHS,
            anchor="end",
            rng=np.random.default_rng(ETS_SEED),
        )
    totals = np.asarray(paths).reshape(m, -1).sum(axis=0)
    out["forecast"] = ytd + point
    for level in LEVELS:
        lo, hi = np.quantile(totals, [0.5 - level / 200, 0.5 + level / 200])
        out[f"lower_{level}"], out[f"upper_{level}"] = ytd + lo, ytd + hi
    return out


def _forecast_from_series(series: pd.Series, period_end: pd.Timestamp, method: str) -> dict:
    label = fy_of_month(period_end)
    fy_start, _ = fy_bounds(label)
    k = int(fy_month(pd.Series([period_end])).iloc[0])
    m = 12 - k
    row: dict = {"financial_year": label, "method": method, "months_observed": k}
    months_obs = pd.date_range(fy_start, period_end, freq="MS")
    if months_obs[0] < series.index.min() or period_end > series.index.max():
        raise InputError(
            f"the series covers {series.index.min():%Y-%m} to {series.index.max():%Y-%m}; "
            f"a forecast from {period_end:%Y-%m} needs every month from {fy_start:%Y-%m}"
        )
    observed = series.loc[months_obs].to_numpy()
    if method == "run_rate":
        row.update(_ratio_forecast(observed, np.ones(k), np.ones(m)))
    elif method == "seasonal":
        last_year = pd.date_range(
            fy_start - pd.DateOffset(years=1), fy_start - pd.DateOffset(months=1), freq="MS"
        )
        if last_year[0] < series.index.min():
            row.update(_ratio_forecast(observed, np.zeros(k), np.zeros(m)))
            row["forecast"] = np.nan
        else:
            profile = series.loc[last_year].to_numpy()
            row.update(_ratio_forecast(observed, profile[:k], profile[k:]))
    else:
        row.update(_ets_forecast(series.loc[:period_end], observed, m))
    return row


def forecast_outturn(
    monthly: pd.DataFrame,
    period_end: object,
    *,
    value: str = "cost_gbp",
    methods: Sequence[str] = DEFAULT_METHODS,
) -> pd.DataFrame:
    """Forecast the financial-year total from the months up to ``period_end``.

    Args:
        monthly: One entity's monthly values (``year_month`` and ``value``; several rows per
            month are summed).
        period_end: Last month observed (``"YYYY-MM"``).
        value: Column to forecast.
        methods: Any of ``"run_rate"``, ``"seasonal"``, ``"ets"``.

    Returns:
        One row per method (``FORECAST_COLUMNS``). A method that cannot run (e.g. seasonal
        without last year's data) has a missing forecast.

    Raises:
        InputError: Unknown methods, missing columns, or data that does not cover the financial
            year up to ``period_end``.
    """
    methods = _validate_methods(methods)
    end = parse_month(period_end, "period_end")
    series = monthly_series(monthly, value)
    rows = [_forecast_from_series(series, end, method) for method in methods]
    return pd.DataFrame(rows, columns=FORECAST_COLUMNS)


def backtest_years(series: pd.Series, min_history_months: int = 24) -> list[str]:
    """Complete financial years in ``series`` with at least ``min_history_months`` before them.

    Two years of history give the seasonal method last year's profile and the ETS model two
    seasons, so every method is tested on the same years.
    """
    first, last = series.index.min(), series.index.max()
    years = []
    start_year = first.year - (first.month < 4)
    for year in range(start_year, last.year + 1):
        fy_start, fy_end = fy_bounds(fy_label(year))
        history = (fy_start.year - first.year) * 12 + fy_start.month - first.month
        if fy_start >= first and fy_end <= last and history >= min_history_months:
            years.append(fy_label(year))
    return years


def backtest(
    monthly: pd.DataFrame,
    *,
    value: str = "cost_gbp",
    methods: Sequence[str] = DEFAULT_METHODS,
    financial_years: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Forecast each past financial year from month k = 1..11 and compare with the outturn.

    Args:
        monthly: One entity's monthly values.
        value: Column to forecast.
        methods: Methods to test.
        financial_years: Years to test (``"2022/23"``...); default :func:`backtest_years`.

    Returns:
        One row per year, method and k: ``financial_year, method, months_observed, forecast,
        actual, ape_pct`` where ``ape_pct = |forecast - actual| / |actual| * 100`` (missing when
        the actual is 0).

    Raises:
        InputError: A requested year is not complete in the data.
    """
    methods = _validate_methods(methods)
    series = monthly_series(monthly, value)
    years = backtest_years(series) if financial_years is None else list(financial_years)
    rows = []
    for label in years:
        fy_start, fy_end = fy_bounds(label)
        if fy_start < series.index.min() or fy_end > series.index.max():
            raise InputError(f"financial year {label} is not complete in the data")
        actual = float(series.loc[fy_start:fy_end].sum())
        for k in range(1, 12):
            end = fy_start + pd.DateOffset(months=k - 1)
            for method in methods:
                result = _forecast_from_series(series, end, method)
                ape = abs(result["forecast"] - actual) / abs(actual) * 100 if actual else np.nan
                rows.append(
                    {
                        "financial_year": label,
                        "method": method,
                        "months_observed": k,
                        "forecast": result["forecast"],
                        "actual": actual,
                        "ape_pct": ape,
                    }
                )
    return pd.DataFrame(
        rows,
        columns=["financial_year", "method", "months_observed", "forecast", "actual", "ape_pct"],
    )


def backtest_summary(detail: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute percentage error (MAPE) per method, best first.

    Returns:
        ``method, mape_pct, forecasts`` (number of forecasts with an error), sorted by MAPE.
    """
    require_columns(detail, ["method", "ape_pct"], "backtest detail")
    summary = (
        detail.groupby("method", sort=False)["ape_pct"]
        .agg(mape_pct="mean", forecasts="count")
        .reset_index()
    )
    return summary.sort_values("mape_pct", kind="mergesort", na_position="last").reset_index(
        drop=True
    )


def best_method(summary: pd.DataFrame) -> str:
    """The method with the lowest MAPE in a :func:`backtest_summary` table.

    Raises:
        InputError: No method has a MAPE.
    """
    require_columns(summary, ["method", "mape_pct"], "backtest summary")
    usable = summary.dropna(subset=["mape_pct"])
    if usable.empty:
        raise InputError("no forecast method could be backtested (no complete past years)")
    return str(usable.sort_values("mape_pct", kind="mergesort").iloc[0]["method"])
