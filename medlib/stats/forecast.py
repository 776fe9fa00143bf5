"""Year-end (outturn) forecasts of monthly series, a pooled backtest, calibrated intervals.

After k months of a financial year (April is month 1) every method forecasts the rest of the
year, ``rest``, and the outturn is ``YTD + rest``. Each method is one small function of an
entity's history (an array with one row per entity, so all trusts are forecast at once) and of
what the pool of trusts shows at the forecast date (:class:`Pooled`):

- ``run_rate``: the months so far continue at their average, ``rest = YTD / k x (12 - k)``.
- ``recent_run_rate``: the last three months continue at their average.
- ``seasonal``: the rest of the year follows the entity's own last year, scaled by how this
  year compares with the same months last year, ``rest = YTD / LY_YTD x LY_rest``.
- ``pooled_seasonal``: the run rate shaped by national seasonality: monthly factors from the
  pool's totals over the complete years before this one (each month over its centred 12-month
  moving average, the median per month), ``rest = YTD / sum(f_1..f_k) x sum(f_k+1..f_12)``.
- ``national_run_rate``: the run rate scaled by the national step since April: the pool's
  mean of its last three months over its mean of all k months (a level shift that every trust
  sees, e.g. a price change, shows in the pool well before one trust's noise reveals it).
- ``robust_national``: ``national_run_rate`` with one-off spikes capped: each month counts at
  most ``SPIKE_CAP`` (2) times the median month so far, so a single large purchase is not
  assumed to recur every month.
- ``damped_trend``: Holt's linear exponential smoothing with a damped trend and fixed
  smoothing constants (``DAMPED_TREND``; not fitted per trust), run over the whole history.
- ``combined``: the mean of ``robust_national`` and ``damped_trend``.
- ``ets`` (optional): statsmodels ``ETSModel`` fitted to one series; slow (a fit per trust,
  year and month), so it never runs unless asked for and is not chosen automatically.

**Backtest.** :func:`panel_backtest` forecasts every complete financial year of every entity
from each month k and compares with the outturn: ``ape_pct = |forecast - actual| / |actual| x
100``. Only the months up to the forecast month are used; the pool's months likewise.

**Intervals** (:func:`calibrate`) are empirical, from the pooled backtest (split-conformal):
every past forecast has a score, its relative error in units of the entity's month-to-month
variability ``v`` at the forecast date (:func:`variability`, the mean moving range over the
mean of its last 12 months), ``score = (actual rest / forecast rest - 1) / v``. For a
forecast of year Y from month k by a method, the scores of the same method from the same k,
over every entity of the pool and every complete year *before* Y, give equal-tailed bounds
``q_lo, q_hi`` (:func:`conformal_bounds`), and the interval is ``YTD + rest x (1 + v x q)``
(never below the YTD). A steady trust so gets a narrower interval than an erratic one, and a
year is never calibrated on itself (forward chaining). With too few past forecasts (fewer
than 9 for 80%, 39 for 95%) there is no interval.

**Choice** (:func:`choose_method`): years differ in how hard they are, so each method is
scored in each earlier year by its mean APE over the run rate's on the same forecasts (the
pool's, from month k); the default for year Y from month k is the method with the lowest
mean of these relative errors over the years before Y. Optionally (:func:`with_default`,
off by default), an entity keeps another method of its own only with at least
``TRUST_CHOICE_MIN_YEARS`` years of its own forecasts and a mean APE at least
``TRUST_CHOICE_MARGIN`` (25%) lower than the pooled choice's on the same forecasts.

The constants (``SPIKE_CAP``, ``DAMPED_TREND``, ``RECENT_MONTHS``) and the make-up of
``combined`` were set by hand while exploring the bundled lithium extract, so those methods'
scores on it are not wholly out of sample; the choice among the methods and every interval
only ever use the years before the one judged.

Months with no rows inside an entity's span count as zero (a sum over nothing is zero); months
outside its span are missing, and a year with a missing month is not forecast or tested.
After month 12 the outturn is known.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from medlib.errors import InputError
from medlib.reference.financial_years import fy_bounds, fy_label, fy_of_month
from medlib.validation import parse_month, require_columns

__all__ = [
    "BACKTEST_COLUMNS",
    "Calibration",
    "DAMPED_TREND",
    "DEFAULT_METHODS",
    "FORECAST_COLUMNS",
    "METHODS",
    "METHOD_NAMES",
    "POOLED_METHODS",
    "Pooled",
    "backtest",
    "backtest_summary",
    "backtest_years",
    "best_method",
    "calibrate",
    "choose_method",
    "combined",
    "conformal_bounds",
    "damped_trend",
    "forecast_outturn",
    "forecast_panel",
    "interval_scores",
    "last_year_pattern",
    "monthly_panel",
    "monthly_series",
    "national_run_rate",
    "national_shift",
    "panel_backtest",
    "pooled_inputs",
    "pooled_seasonal",
    "recent_run_rate",
    "relative_errors",
    "robust_national",
    "run_rate",
    "seasonal_factors",
    "variability",
    "with_default",
]

LEVELS = (80, 95)
#: Months the recent run rate and the national shift look back over.
RECENT_MONTHS = 3
#: A month counts at most this many times the median month so far in ``robust_national``.
SPIKE_CAP = 2.0
#: Months over which :func:`variability` (the interval's scale) is measured.
VARIABILITY_MONTHS = 12
#: Holt's smoothing constants for ``damped_trend``: level, trend and damping (fixed, not fitted).
DAMPED_TREND = {"alpha": 0.2, "beta": 0.05, "phi": 0.8}
#: The method every other is scored against when choosing the default.
BASELINE = "run_rate"
#: A trust keeps its own best method only with this many tested years of its own ...
TRUST_CHOICE_MIN_YEARS = 3
#: ... and a mean APE at least this share lower than the pooled choice's.
TRUST_CHOICE_MARGIN = 0.25
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

#: Columns of :func:`panel_backtest` (then :func:`calibrate` adds the intervals and coverage).
BACKTEST_COLUMNS = [
    "entity",
    "financial_year",
    "method",
    "months_observed",
    "ytd",
    "rest_forecast",
    "forecast",
    "scale",
    "actual",
    "ape_pct",
]

METHOD_NAMES = {
    "run_rate": "Run rate",
    "recent_run_rate": "Run rate of the last 3 months",
    "seasonal": "Last year's monthly pattern",
    "pooled_seasonal": "Run rate with national seasonality",
    "national_run_rate": "Run rate with the national level shift",
    "robust_national": "Run rate with the national level shift, spikes capped",
    "damped_trend": "Damped trend (Holt)",
    "combined": "Average of the capped national run rate and the damped trend",
    "ets": "Exponential smoothing (model interval, not calibrated)",
}


@dataclass(frozen=True)
class Pooled:
    """What the pool of entities (e.g. all trusts in the data) shows at the forecast date.

    Attributes:
        year_to_date: The pool's total in each month of this financial year so far (k values),
            over the entities with a value in every one of those months.
        seasonal_factors: Twelve monthly factors, April first (:func:`seasonal_factors`);
            missing when the pool has no complete year before this one.
    """

    year_to_date: np.ndarray
    seasonal_factors: np.ndarray


# --- point forecasts: each returns the forecast rest of the year for every row -------------

Method = Callable[[np.ndarray, int, Pooled], np.ndarray]


def _this_year(history: np.ndarray, k: int) -> np.ndarray:
    return np.asarray(history, dtype=float)[:, history.shape[1] - k :]


def run_rate(history: np.ndarray, k: int, pooled: Pooled | None = None) -> np.ndarray:
    """Rest of the year at the average of the months so far: ``YTD / k x (12 - k)``.

    Args:
        history: One row per entity; the last ``k`` columns are this year's months.
        k: Months of the year observed (1-12).
        pooled: Not used (every method takes it).

    Returns:
        The forecast rest-of-year total of each row.

    Example:
        >>> run_rate(np.array([[10.0, 12.0, 14.0]]), 3).tolist()
        [108.0]
    """
    return _this_year(history, k).mean(axis=1) * (12 - k)


def recent_run_rate(
    history: np.ndarray, k: int, pooled: Pooled | None = None, months: int = RECENT_MONTHS
) -> np.ndarray:
    """Rest of the year at the average of the last ``months`` months (all of them if fewer).

    Example:
        >>> recent_run_rate(np.array([[10.0, 10.0, 10.0, 20.0, 20.0, 20.0]]), 6).tolist()
        [120.0]
    """
    recent = _this_year(history, k)[:, -min(months, k) :]
    return recent.mean(axis=1) * (12 - k)


def last_year_pattern(history: np.ndarray, k: int, pooled: Pooled | None = None) -> np.ndarray:
    """Rest of the year as last year's rest, scaled by this year's YTD over last year's.

    ``rest = YTD / LY_YTD x LY_rest``; missing without the 12 months of last year or when last
    year's same months total 0.

    Example:
        >>> history = np.array([[10.0] * 6 + [20.0] * 6 + [12.0, 14.0, 10.0]])
        >>> last_year_pattern(history, 3).tolist()  # 36 / 30 x 150
        [180.0]
    """
    history = np.asarray(history, dtype=float)
    n = history.shape[0]
    if history.shape[1] < k + 12:
        return np.full(n, np.nan)
    last = history[:, history.shape[1] - k - 12 : history.shape[1] - k]
    ytd = _this_year(history, k).sum(axis=1)
    last_ytd, last_rest = last[:, :k].sum(axis=1), last[:, k:].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rest = ytd / last_ytd * last_rest
    return np.where(np.isnan(last).any(axis=1) | (last_ytd == 0), np.nan, rest)


def pooled_seasonal(history: np.ndarray, k: int, pooled: Pooled) -> np.ndarray:
    """The run rate shaped by the pool's seasonal factors ``f``.

    ``rest = YTD / sum(f_1..f_k) x sum(f_k+1..f_12)``; missing without factors.

    Example:
        >>> factors = np.array([1.0] * 6 + [1.5] * 6)
        >>> pooled = Pooled(np.array([5.0] * 6), factors)
        >>> pooled_seasonal(np.array([[10.0] * 6]), 6, pooled).tolist()  # 60 / 6 x 9
        [90.0]
    """
    factors = np.asarray(pooled.seasonal_factors, dtype=float)
    observed = factors[:k].sum()
    ytd = _this_year(history, k).sum(axis=1)
    if not np.isfinite(factors).all() or observed <= 0:
        return np.full(len(ytd), np.nan)
    return ytd / observed * factors[k:].sum()


def national_shift(year_to_date: np.ndarray, months: int = RECENT_MONTHS) -> float:
    """The pool's mean of its last ``months`` months over its mean of the year so far.

    1 when the pool has not moved (or after fewer than two months); missing without a pool.

    Example:
        >>> national_shift(np.array([10.0, 10.0, 10.0, 16.0, 16.0, 16.0]))  # 16 / 13
        1.2307692307692308
    """
    values = np.asarray(year_to_date, dtype=float)
    if len(values) == 0 or not np.isfinite(values).all():
        return float("nan")
    mean = values.mean()
    if mean <= 0:
        return float("nan")
    return float(values[-min(months, len(values)) :].mean() / mean)


def national_run_rate(history: np.ndarray, k: int, pooled: Pooled) -> np.ndarray:
    """The run rate times :func:`national_shift` of the pool's months this year.

    Example:
        >>> pooled = Pooled(np.array([10.0, 10.0, 10.0, 16.0, 16.0, 16.0]), np.full(12, np.nan))
        >>> national_run_rate(np.array([[13.0] * 6]), 6, pooled).tolist()  # 13 x 16/13 x 6
        [96.0]
    """
    return run_rate(history, k) * national_shift(pooled.year_to_date)


def robust_national(
    history: np.ndarray, k: int, pooled: Pooled, cap: float = SPIKE_CAP
) -> np.ndarray:
    """:func:`national_run_rate` with each month capped at ``cap`` times the median month.

    Rows whose median month is 0 or less are not capped.

    Example:
        >>> flat = Pooled(np.array([5.0] * 6), np.full(12, np.nan))
        >>> # median 10, so the 70 counts as 20: mean (50 + 20) / 6, times 6 months to go
        >>> robust_national(np.array([[10.0, 10.0, 70.0, 10.0, 10.0, 10.0]]), 6, flat).tolist()
        [70.0]
    """
    observed = _this_year(history, k)
    median = np.median(observed, axis=1, keepdims=True)
    capped = np.where(median > 0, np.minimum(observed, cap * median), observed)
    return capped.mean(axis=1) * (12 - k) * national_shift(pooled.year_to_date)


def damped_trend(
    history: np.ndarray,
    k: int,
    pooled: Pooled | None = None,
    alpha: float = DAMPED_TREND["alpha"],
    beta: float = DAMPED_TREND["beta"],
    phi: float = DAMPED_TREND["phi"],
) -> np.ndarray:
    """Holt's linear exponential smoothing with a damped trend, with fixed constants.

    Each row starts at its first value (trend 0), then ``l_t = alpha x_t + (1 - alpha)
    (l_{t-1} + phi b_{t-1})`` and ``b_t = beta (l_t - l_{t-1}) + (1 - beta) phi b_{t-1}``;
    the forecast h months ahead is ``l + (phi + ... + phi^h) b``, summed over the months to go.
    Missing values before a row's first value are skipped; a missing value after it makes the
    forecast missing.

    Example:
        >>> damped_trend(np.array([[10.0, 10.0, 10.0]]), 3, alpha=0.5, beta=0.5).tolist()
        [90.0]
    """
    history = np.asarray(history, dtype=float)
    n = history.shape[0]
    level = np.full(n, np.nan)
    trend = np.zeros(n)
    broken = np.zeros(n, dtype=bool)
    for x in history.T:
        started = ~np.isnan(level)
        broken |= started & np.isnan(x)
        new_level = alpha * x + (1 - alpha) * (level + phi * trend)
        new_trend = beta * (new_level - level) + (1 - beta) * phi * trend
        level = np.where(started, new_level, x)
        trend = np.where(started, new_trend, 0.0)
    steps = 12 - k
    damping = sum(sum(phi**i for i in range(1, h + 1)) for h in range(1, steps + 1))
    rest = level * steps + damping * trend
    return np.where(broken, np.nan, rest)


def combined(history: np.ndarray, k: int, pooled: Pooled) -> np.ndarray:
    """The mean of :func:`robust_national` and :func:`damped_trend`.

    Example:
        >>> flat = Pooled(np.array([5.0] * 6), np.full(12, np.nan))
        >>> history = np.array([[10.0] * 6])
        >>> combined(history, 6, flat).tolist()  # both give 60 on a flat series
        [60.0]
    """
    return (robust_national(history, k, pooled) + damped_trend(history, k)) / 2


def variability(history: np.ndarray, months: int = VARIABILITY_MONTHS) -> np.ndarray:
    """Each row's mean moving range over its mean, in its last ``months`` months.

    ``mean |x_t - x_(t-1)| / mean x`` over the pairs of months with both values known; the
    scale of the calibrated intervals (a steady trust gets a narrower interval than an erratic
    one). Missing with fewer than two months or a mean of 0 or less.

    Example:
        >>> variability(np.array([[10.0, 12.0, 10.0, 12.0], [5.0, 5.0, 5.0, 5.0]])).tolist()
        [0.18181818181818182, 0.0]
    """
    window = np.asarray(history, dtype=float)[:, -months:]
    steps = np.abs(np.diff(window, axis=1))
    pairs = (~np.isnan(steps)).sum(axis=1)
    known = (~np.isnan(window)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_range = np.where(pairs > 0, np.nansum(steps, axis=1) / np.maximum(pairs, 1), np.nan)
        mean = np.where(known > 0, np.nansum(window, axis=1) / np.maximum(known, 1), np.nan)
        scale = mean_range / mean
    return np.where(mean > 0, scale, np.nan)


_FUNCTIONS: dict[str, Method] = {
    "run_rate": run_rate,
    "recent_run_rate": recent_run_rate,
    "seasonal": last_year_pattern,
    "pooled_seasonal": pooled_seasonal,
    "national_run_rate": national_run_rate,
    "robust_national": robust_national,
    "damped_trend": damped_trend,
    "combined": combined,
}
#: Methods that are vectorised across entities, backtested on the pool and calibrated.
POOLED_METHODS = tuple(_FUNCTIONS)
METHODS = (*POOLED_METHODS, "ets")
DEFAULT_METHODS = POOLED_METHODS


def _validate_methods(methods: Sequence[str]) -> tuple[str, ...]:
    if isinstance(methods, str):
        methods = [methods]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise InputError(f"forecast methods must be chosen from {list(METHODS)}, got {methods}")
    return tuple(dict.fromkeys(methods))


# --- series and panels --------------------------------------------------------------------


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


def monthly_panel(
    monthly: pd.DataFrame,
    value: str = "cost_gbp",
    entity: str = "trust_code",
    date: str = "year_month",
    months: pd.DatetimeIndex | None = None,
) -> pd.DataFrame:
    """One row per entity and one column per month: each entity's :func:`monthly_series`.

    Months outside an entity's span (before its first row or after its last) are missing.

    Args:
        monthly: Monthly rows (several per entity and month are summed).
        value: Column to forecast.
        entity: Column naming the entity (a trust).
        date: Month column.
        months: Columns to give the panel (default: every month from the first to the last).

    Raises:
        InputError: Missing columns or no rows.

    Example:
        >>> rows = pd.DataFrame({"trust_code": ["A", "A", "B"], "cost_gbp": [1.0, 3.0, 2.0],
        ...     "year_month": pd.to_datetime(["2023-04-01", "2023-06-01", "2023-05-01"])})
        >>> monthly_panel(rows).to_numpy().tolist()
        [[1.0, 0.0, 3.0], [nan, 2.0, nan]]
    """
    require_columns(monthly, [entity, date, value], "monthly panel")
    if monthly.empty:
        raise InputError("monthly panel has no rows")
    grouped = monthly.groupby([entity, date])[value]
    sums = grouped.sum(min_count=1).unstack(date)
    if months is None:
        months = pd.date_range(sums.columns.min(), sums.columns.max(), freq="MS")
    wide = sums.reindex(columns=months)
    has_row = grouped.size().unstack(date).reindex(index=wide.index, columns=months).notna()
    has_row = has_row.to_numpy()
    first = np.where(has_row.any(axis=1), has_row.argmax(axis=1), len(months))
    last = np.where(has_row.any(axis=1), len(months) - 1 - has_row[:, ::-1].argmax(axis=1), -1)
    cols = np.arange(len(months))
    inside = (cols >= first[:, None]) & (cols <= last[:, None])
    values = np.where(inside, np.nan_to_num(wide.to_numpy(dtype=float), nan=0.0), np.nan)
    return pd.DataFrame(values, index=wide.index, columns=months)


def _year_starts(months: pd.DatetimeIndex) -> dict[str, int]:
    """Column of April of every financial year whose 12 months are all in ``months``."""
    starts = {}
    for i, month in enumerate(months):
        if month.month == 4 and i + 11 < len(months):
            starts[fy_label(month.year)] = i
    return starts


def seasonal_factors(pool: np.ndarray, year_starts: Iterable[int]) -> np.ndarray:
    """Monthly factors of the pool, from the ratio of each month to its centred moving average.

    Over the window from the first to the last of the complete years in ``year_starts`` (each
    the column of an April), the pool's monthly totals (over the entities with a value in
    every month of the window) are divided by their centred 2x12 moving average (classical
    decomposition, so a level shift moves the average with it rather than the factors); each
    month's factor is the median of its ratios, and the twelve are scaled to a mean of 1.
    Missing without a ratio for every month (two complete years give one ratio per month).

    Example:
        >>> pattern = [8.0, 8.0, 8.0, 12.0, 12.0, 12.0] * 2
        >>> seasonal_factors(np.array([pattern * 2]), [0, 12]).round(6).tolist()
        [0.8, 0.8, 0.8, 1.2, 1.2, 1.2, 0.8, 0.8, 0.8, 1.2, 1.2, 1.2]
    """
    pool = np.asarray(pool, dtype=float)
    starts = sorted(year_starts)
    missing = np.full(12, np.nan)
    if not starts:
        return missing
    window = pool[:, starts[0] : starts[-1] + 12]
    complete = ~np.isnan(window).any(axis=1)
    totals = window[complete].sum(axis=0)
    if not complete.any() or len(totals) < 13:
        return missing
    weights = np.r_[0.5, np.ones(11), 0.5] / 12
    centred = np.convolve(totals, weights, mode="valid")  # centred on months 7 .. n - 6
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = totals[6 : 6 + len(centred)] / centred
    month = np.arange(6, 6 + len(centred)) % 12
    factors = np.array([np.median(ratios[month == m]) for m in range(12)])
    if not np.isfinite(factors).all() or factors.mean() <= 0:
        return missing
    return factors / factors.mean()


def pooled_inputs(
    pool: np.ndarray, start: int, k: int, earlier_starts: Iterable[int] = ()
) -> Pooled:
    """The pool's :class:`Pooled` for a forecast from month ``k`` of the year at ``start``.

    Args:
        pool: One row per pool entity, one column per month (missing outside its span).
        start: Column of April of the year being forecast.
        k: Months observed.
        earlier_starts: Columns of April of the complete years before it (seasonal factors).
    """
    pool = np.asarray(pool, dtype=float)
    months = pool[:, start : start + k]
    complete = ~np.isnan(months).any(axis=1)
    year_to_date = months[complete].sum(axis=0) if complete.any() else np.full(k, np.nan)
    return Pooled(year_to_date, seasonal_factors(pool, earlier_starts))


# --- one forecast origin for many entities ----------------------------------------------------


def _point(
    values: np.ndarray, start: int, k: int, method: str, pooled: Pooled
) -> tuple[np.ndarray, np.ndarray]:
    """YTD and the forecast rest of the year of every row (missing when a month is missing)."""
    history = values[:, : start + k]
    ytd = history[:, start:].sum(axis=1)
    if k == 12:
        return ytd, np.zeros(len(ytd))
    with np.errstate(divide="ignore", invalid="ignore"):
        rest = _FUNCTIONS[method](history, k, pooled)
    missing = np.isnan(history[:, start:]).any(axis=1)
    return ytd, np.where(missing, np.nan, rest)


def _origin_rows(
    values: np.ndarray,
    entities: np.ndarray,
    start: int,
    k: int,
    methods: Sequence[str],
    pooled: Pooled,
) -> dict[str, np.ndarray]:
    """Every method's forecast for every row from month ``k`` of the year at ``start``.

    Returns columns (one entry per row and method, methods in turn) as arrays.
    """
    n = len(values)
    scale = variability(values[:, : start + k])
    parts: dict[str, list[np.ndarray]] = {
        "entity": [],
        "method": [],
        "ytd": [],
        "rest_forecast": [],
        "scale": [],
    }
    bounds: dict[str, list[np.ndarray]] = {}
    for method in methods:
        if method == "ets":
            ytd, rest, own = _ets_rows(values, start, k)
            for name, column in own.items():
                bounds.setdefault(name, [np.full(n, np.nan)] * len(parts["ytd"]))
                bounds[name].append(column)
        else:
            ytd, rest = _point(values, start, k, method, pooled)
            for column in bounds.values():
                column.append(np.full(n, np.nan))
        parts["entity"].append(entities)
        parts["method"].append(np.full(n, method, dtype=object))
        parts["ytd"].append(ytd)
        parts["rest_forecast"].append(rest)
        parts["scale"].append(scale)
    out = {name: np.concatenate(column) for name, column in parts.items()}
    out["months_observed"] = np.full(n * len(methods), k)
    out["forecast"] = out["ytd"] + out["rest_forecast"]
    out.update({name: np.concatenate(column) for name, column in bounds.items()})
    return out


def panel_backtest(
    panel: pd.DataFrame,
    methods: Sequence[str] = DEFAULT_METHODS,
    *,
    pool: pd.DataFrame | None = None,
    months_observed: Iterable[int] = range(1, 12),
    financial_years: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Forecast every complete year of every entity from each month k; compare with the outturn.

    Args:
        panel: From :func:`monthly_panel`.
        methods: Methods to test (``ets`` fits one model per entity, year and month: slow).
        pool: The entities whose months the pooled methods read (default ``panel``); same
            columns as ``panel``.
        months_observed: The k to forecast from.
        financial_years: Years to test (default every complete year of the columns).

    Returns:
        ``BACKTEST_COLUMNS``: one row per entity, year, method and k, for the entities with a
        value in every month of the year (the forecast is missing where a method cannot run,
        e.g. the seasonal method without last year). ``scale`` is the entity's
        :func:`variability` up to the forecast month. ETS rows add the model's own
        ``lower_<level>``/``upper_<level>``.

    Raises:
        InputError: Unknown methods, or a requested year not complete in the columns.
    """
    methods = _validate_methods(methods)
    pool = panel if pool is None else pool
    if not pool.columns.equals(panel.columns):
        raise InputError("the pool must have the same months as the panel")
    starts = _year_starts(pd.DatetimeIndex(panel.columns))
    years = list(starts) if financial_years is None else list(financial_years)
    missing = [y for y in years if y not in starts]
    if missing:
        raise InputError(f"financial year(s) {missing} are not complete in the data")
    values = panel.to_numpy(dtype=float)
    pool_values = pool.to_numpy(dtype=float)
    entities = np.asarray(panel.index)
    chunks: list[dict[str, np.ndarray]] = []
    for label in years:
        start = starts[label]
        year = values[:, start : start + 12]
        keep = ~np.isnan(year).any(axis=1)
        if not keep.any():
            continue
        earlier = [s for s in starts.values() if s < start]
        factors = seasonal_factors(pool_values, earlier)
        for k in months_observed:
            pooled = Pooled(pooled_inputs(pool_values, start, k).year_to_date, factors)
            rows = _origin_rows(values[keep], entities[keep], start, k, methods, pooled)
            rows["financial_year"] = np.full(len(rows["ytd"]), label, dtype=object)
            rows["actual"] = np.tile(year[keep].sum(axis=1), len(methods))
            chunks.append(rows)
    if not chunks:
        return pd.DataFrame(columns=BACKTEST_COLUMNS)
    names = list(dict.fromkeys(name for rows in chunks for name in rows))
    detail = pd.DataFrame(
        {
            name: np.concatenate(
                [rows.get(name, np.full(len(rows["ytd"]), np.nan)) for rows in chunks]
            )
            for name in names
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ape = (detail["forecast"] - detail["actual"]).abs() / detail["actual"].abs() * 100
    detail["ape_pct"] = ape.where(detail["actual"] != 0)
    extra = [c for c in detail.columns if c.startswith(("lower_", "upper_"))]
    return detail[BACKTEST_COLUMNS + extra]


# --- calibrated intervals -----------------------------------------------------------------


def conformal_bounds(scores: np.ndarray, level: int) -> tuple[float, float]:
    """Equal-tailed split-conformal bounds of ``level``% from past scores.

    With ``n`` finite scores sorted ``s_(1) <= ... <= s_(n)`` and ``a = 1 - level / 100``, the
    bounds are ``s_(lo)`` and ``s_(hi)`` with ``lo = floor((n + 1) a / 2)`` and
    ``hi = ceil((n + 1)(1 - a / 2))``: a new exchangeable score falls below ``s_(lo)`` (or
    above ``s_(hi)``) with probability at most ``a / 2``. Missing when ``lo < 1`` (too few).

    Example:
        >>> conformal_bounds(np.arange(1.0, 20.0), 80)  # n = 19: lo = 2, hi = 18
        (2.0, 18.0)
    """
    values = np.asarray(scores, dtype=float)
    r = np.sort(values[np.isfinite(values)])
    n = len(r)
    a = 1 - level / 100
    lo = int(np.floor((n + 1) * a / 2 + 1e-9))
    hi = int(np.ceil((n + 1) * (1 - a / 2) - 1e-9))
    if lo < 1 or hi > n:
        return float("nan"), float("nan")
    return float(r[lo - 1]), float(r[hi - 1])


def interval_scores(detail: pd.DataFrame) -> pd.Series:
    """Each backtest forecast's calibration score: its relative error in units of its scale.

    ``score = (actual rest / forecast rest - 1) / scale``, where ``actual rest = actual - ytd``
    and ``scale`` is the entity's :func:`variability`. Missing without a positive forecast
    rest, a positive scale or an actual.

    Example:
        >>> row = pd.DataFrame({"ytd": [60.0], "rest_forecast": [40.0], "actual": [110.0],
        ...                     "scale": [0.25]})
        >>> interval_scores(row).tolist()  # (50 / 40 - 1) / 0.25
        [1.0]
    """
    rest = detail["rest_forecast"].astype(float)
    scale = detail["scale"].astype(float)
    actual_rest = detail["actual"].astype(float) - detail["ytd"].astype(float)
    usable = (rest > 0) & (scale > 0) & actual_rest.notna()
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (actual_rest / rest - 1) / scale
    return score.where(usable)


@dataclass(frozen=True)
class Calibration:
    """The pool's past :func:`interval_scores`, by method, month k and year.

    Built once from a pool's backtest (:meth:`from_backtest`) and reused by every
    :func:`calibrate` call on it.

    Attributes:
        scores: ``{(method, k): {financial_year: scores}}``.
    """

    scores: Mapping[tuple[str, int], Mapping[str, np.ndarray]]

    @classmethod
    def from_backtest(cls, pool_detail: pd.DataFrame) -> Calibration:
        """Collect the scores of a pool's :func:`panel_backtest`."""
        scores = interval_scores(pool_detail)
        keep = scores.notna().to_numpy()
        past = pd.DataFrame(
            {
                "method": pool_detail["method"].astype(str).to_numpy()[keep],
                "k": pool_detail["months_observed"].astype(int).to_numpy()[keep],
                "year": pool_detail["financial_year"].astype(str).to_numpy()[keep],
                "score": scores.to_numpy()[keep],
            }
        )
        table: dict[tuple[str, int], dict[str, np.ndarray]] = {}
        for (method, k, year), part in past.groupby(["method", "k", "year"], sort=True):
            table.setdefault((str(method), int(k)), {})[str(year)] = part["score"].to_numpy()
        return cls(table)

    @property
    def methods(self) -> set[str]:
        """Methods with scores."""
        return {method for method, _ in self.scores}

    def bounds(self, method: str, k: int, financial_year: str, level: int) -> tuple[float, float]:
        """:func:`conformal_bounds` of the scores of the years before ``financial_year``."""
        years = self.scores.get((method, int(k)), {})
        earlier = [scores for year, scores in years.items() if year < financial_year]
        return conformal_bounds(np.concatenate(earlier) if earlier else np.empty(0), level)


def calibrate(
    detail: pd.DataFrame,
    pool_detail: pd.DataFrame | Calibration | None = None,
    levels: Sequence[int] = LEVELS,
) -> pd.DataFrame:
    """Add calibrated intervals to forecasts, from the pool's backtest of earlier years.

    For each row (a forecast of year Y from month k by a method), the :func:`interval_scores`
    of the pool's forecasts by the same method from the same k in the years before Y give
    :func:`conformal_bounds` ``(q_lo, q_hi)``, and the interval is ``ytd + rest_forecast x
    max(0, 1 + scale x q)`` at each bound (the rest of the year is never negative). Rows
    without a positive forecast rest or scale, or whose method has too few earlier forecasts,
    get no interval; a row forecasting from month 12 gets the known outturn. Rows of a method
    the pool was not tested with (``ets``) keep their own interval columns.

    Args:
        detail: Forecasts with ``financial_year, method, months_observed, ytd,
            rest_forecast, scale`` (from :func:`panel_backtest` or :func:`forecast_panel`).
        pool_detail: The pool's :func:`panel_backtest` (default ``detail``), or its
            :class:`Calibration` (the same, collected once).
        levels: Interval levels in percent.

    Returns:
        ``detail`` with ``lower_<level>`` and ``upper_<level>`` and, where ``actual`` is
        known, ``covered_<level>`` (1.0 when the outturn is inside, 0.0 outside, missing
        without an interval).
    """
    require_columns(
        detail,
        ["financial_year", "method", "months_observed", "ytd", "rest_forecast", "scale"],
        "forecasts to calibrate",
    )
    pool = detail if pool_detail is None else pool_detail
    calibration = pool if isinstance(pool, Calibration) else Calibration.from_backtest(pool)
    out = detail.reset_index(drop=True).copy()
    rest = out["rest_forecast"].to_numpy(dtype=float)
    scale = out["scale"].to_numpy(dtype=float)
    ytd = out["ytd"].to_numpy(dtype=float)
    known = out["months_observed"].to_numpy() == 12
    tested = out["method"].isin(calibration.methods).to_numpy()
    groups = out.groupby(["method", "months_observed", "financial_year"], sort=False).indices
    for level in levels:
        q_low = np.full(len(out), np.nan)
        q_high = np.full(len(out), np.nan)
        for (method, k, year), positions in groups.items():
            q_low[positions], q_high[positions] = calibration.bounds(
                str(method), int(k), str(year), level
            )
        usable = (rest > 0) & (scale > 0)
        with np.errstate(invalid="ignore"):
            lower = np.where(usable, ytd + rest * np.maximum(0.0, 1 + scale * q_low), np.nan)
            upper = np.where(usable, ytd + rest * np.maximum(0.0, 1 + scale * q_high), np.nan)
        lower, upper = np.where(known, ytd, lower), np.where(known, ytd, upper)
        for name, new in ((f"lower_{level}", lower), (f"upper_{level}", upper)):
            if name in out.columns:
                out[name] = np.where(tested | known, new, out[name].to_numpy(dtype=float))
            else:
                out[name] = new
        if "actual" in out.columns:
            actual = out["actual"].to_numpy(dtype=float)
            lo, hi = out[f"lower_{level}"].to_numpy(), out[f"upper_{level}"].to_numpy()
            with np.errstate(invalid="ignore"):
                inside = ((actual >= lo) & (actual <= hi)).astype(float)
            out[f"covered_{level}"] = np.where(np.isnan(lo) | np.isnan(actual), np.nan, inside)
    return out


# --- choosing a method --------------------------------------------------------------------


def _ape_table(pool_detail: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """APE with one column per method, one row per entity, year and k."""
    rows = pool_detail[pool_detail["method"].isin(methods)]
    wide = rows.set_index(["entity", "financial_year", "months_observed", "method"])[
        "ape_pct"
    ].unstack("method")
    return wide.reindex(columns=[m for m in methods if m in wide.columns])


def _common_mape(wide: pd.DataFrame) -> pd.Series:
    """Mean APE per method over the rows every method with any forecast could make."""
    usable = wide.loc[:, wide.notna().any()]
    common = usable.dropna()
    return common.mean() if len(common) else pd.Series(dtype=float)


@dataclass(frozen=True)
class _YearScores:
    """Per earlier year and month k: each method's relative error and its APE sum and count."""

    relative: pd.DataFrame  # index (financial_year, months_observed), a column per method
    ape_sum: pd.DataFrame
    ape_count: pd.DataFrame


def _year_scores(pool_detail: pd.DataFrame, candidates: Sequence[str]) -> _YearScores:
    rows = pool_detail[pool_detail["method"].isin([*candidates, BASELINE])]
    keys = ["financial_year", "months_observed"]
    grouped = rows.groupby([*keys, "method"])["ape_pct"]
    ape_sum = grouped.sum().unstack("method")
    ape_count = grouped.count().unstack("method")
    relative = pd.DataFrame(index=ape_sum.index)
    if BASELINE in set(rows["method"]):
        wide = _ape_table(rows, list(dict.fromkeys([BASELINE, *candidates])))
        base = wide[BASELINE]
        for method in wide.columns:
            both = wide[method].notna() & base.notna()
            pair = pd.DataFrame({"m": wide[method].where(both), "b": base.where(both)})
            sums = pair.groupby(level=keys).sum(min_count=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                relative[method] = (sums["m"] / sums["b"]).where(sums["b"] > 0)
    return _YearScores(relative, ape_sum, ape_count)


def _scores_at(
    scores: _YearScores, financial_year: str, months_observed: int, candidates: Sequence[str]
) -> pd.DataFrame:
    """Each candidate's mean relative error and MAPE from month k over the earlier years."""
    columns = [m for m in candidates if m in scores.ape_sum.columns]
    out = pd.DataFrame(index=pd.Index(columns, name="method"))
    index = scores.ape_sum.index
    if len(index) == 0 or not columns:
        return out.assign(relative_error=np.nan, mape_pct=np.nan)
    mask = (index.get_level_values(0) < financial_year) & (
        index.get_level_values(1) == months_observed
    )
    total = scores.ape_sum.loc[mask, columns].sum()
    count = scores.ape_count.loc[mask, columns].sum()
    out["mape_pct"] = total / count.where(count > 0)
    if len(scores.relative.columns):
        relative = scores.relative.loc[mask].reindex(columns=columns).mean()
        out["relative_error"] = relative.where(out["mape_pct"].notna())
    else:
        out["relative_error"] = out["mape_pct"]
    return out[["relative_error", "mape_pct"]]


def _choose(
    scores: _YearScores, financial_year: str, months_observed: int, candidates: Sequence[str]
) -> tuple[str, float]:
    table = _scores_at(scores, financial_year, months_observed, candidates)
    usable = table.dropna(subset=["relative_error"])
    if usable.empty:
        return BASELINE, float("nan")
    best = str(usable["relative_error"].idxmin())  # the first listed on a tie
    return best, float(usable.loc[best, "mape_pct"])


def relative_errors(
    pool_detail: pd.DataFrame,
    financial_year: str,
    months_observed: int,
    methods: Sequence[str] = POOLED_METHODS,
) -> pd.DataFrame:
    """What :func:`choose_method` compares: each method's pooled error in the earlier years.

    Returns:
        One row per method (index ``method``, in the order given): ``relative_error``, its
        mean APE over the run rate's on the same forecasts averaged over the years before
        ``financial_year`` (1 for the run rate itself), and ``mape_pct``, its mean APE over all
        its earlier forecasts from month k; missing for a method never tested.
    """
    candidates = [m for m in methods if m in POOLED_METHODS]
    rows = pool_detail[
        (pool_detail["financial_year"] < financial_year)
        & (pool_detail["months_observed"] == months_observed)
    ]
    table = _scores_at(_year_scores(rows, candidates), financial_year, months_observed, candidates)
    return table.reindex(candidates)


def choose_method(
    pool_detail: pd.DataFrame,
    financial_year: str,
    months_observed: int,
    methods: Sequence[str] = POOLED_METHODS,
) -> tuple[str, float]:
    """The method with the lowest pooled error from month k in the years before ``financial_year``.

    Years differ in how hard they are (a national price rise mid-year defeats every method),
    and some methods need history the first years lack, so each earlier year is scored on its
    own: a method's *relative error* in a year is its mean APE over the run rate's on the same
    forecasts (the pool's entities, month k). The default is the method with the lowest mean
    relative error over the earlier years it was tested in (:func:`relative_errors`); ties go
    to the method listed first. Without the run rate in ``pool_detail`` the plain MAPE
    decides. Run rate, with a missing MAPE, when no earlier year was tested.

    Returns:
        The method and its pooled MAPE (mean APE over all its earlier forecasts from month k).
    """
    table = relative_errors(pool_detail, financial_year, months_observed, methods).dropna(
        subset=["relative_error"]
    )
    if table.empty:
        return BASELINE, float("nan")
    best = str(table["relative_error"].idxmin())
    return best, float(table.loc[best, "mape_pct"])


def _own_choices(wide: pd.DataFrame, pooled: str, min_years: int, margin: float) -> pd.Series:
    """Entities whose own best method clearly beats the pooled choice, and that method.

    ``wide`` is an :func:`_ape_table` of earlier years (every month). For each other method,
    an entity's forecasts where both it and ``pooled`` have one must span ``min_years`` years,
    and its mean APE there must be at most ``1 - margin`` times the pooled choice's.
    """
    if pooled not in wide.columns:
        return pd.Series(dtype=object)
    best_ratio = pd.Series(dtype=float)
    best_method = pd.Series(dtype=object)
    years = wide.index.get_level_values("financial_year")
    entities = wide.index.get_level_values("entity")
    for method in wide.columns:
        if method == pooled:
            continue
        both = (wide[method].notna() & wide[pooled].notna()).to_numpy()
        if not both.any():
            continue
        frame = pd.DataFrame(
            {
                "entity": entities[both],
                "year": years[both],
                "own": wide[method].to_numpy()[both],
                "pooled": wide[pooled].to_numpy()[both],
            }
        )
        per = frame.groupby("entity").agg(
            years=("year", "nunique"), own=("own", "mean"), pooled=("pooled", "mean")
        )
        per = per[(per["years"] >= min_years) & (per["pooled"] > 0)]
        ratio = per["own"] / per["pooled"]
        ratio = ratio[ratio <= 1 - margin]
        better = ratio[ratio < best_ratio.reindex(ratio.index).fillna(np.inf)]
        best_ratio = pd.concat([best_ratio.drop(better.index, errors="ignore"), better])
        best_method = pd.concat(
            [
                best_method.drop(better.index, errors="ignore"),
                pd.Series(method, index=better.index, dtype=object),
            ]
        )
    return best_method


def with_default(
    detail: pd.DataFrame,
    pool_detail: pd.DataFrame | None = None,
    methods: Sequence[str] = POOLED_METHODS,
    *,
    trust_choice: bool = False,
    min_years: int = TRUST_CHOICE_MIN_YEARS,
    margin: float = TRUST_CHOICE_MARGIN,
) -> pd.DataFrame:
    """Add each forecast's default: rows with ``method = "default"`` and ``chosen_method``.

    For every year Y and month k in ``detail``, the default is :func:`choose_method` on the
    pool's backtest of the years before Y. With ``trust_choice``, an entity keeps another
    method of its own when, over its own earlier forecasts in ``pool_detail`` (every month)
    that both methods made, spanning at least ``min_years`` years, that method's mean APE is
    at least ``margin`` lower than the pooled choice's. (Off by default: on the lithium
    extract it helped a little from month 3 and hurt a little from month 6.)

    Args:
        detail: Forecasts (from :func:`panel_backtest` or :func:`forecast_panel`, with or
            without :func:`calibrate`).
        pool_detail: The pool's backtest (default ``detail``).
        methods: Candidate methods.
        trust_choice: Allow an entity's own choice.
        min_years: Earlier tested years an entity needs for its own choice.
        margin: How much lower (a share) its own method's MAPE must be.

    Returns:
        ``detail`` with a ``chosen_method`` column (the method itself on ordinary rows) and,
        appended, a copy of each chosen row with ``method = "default"``.
    """
    pool_detail = detail if pool_detail is None else pool_detail
    candidates = [m for m in methods if m in POOLED_METHODS]
    scores = _year_scores(pool_detail, candidates)
    out = detail.assign(chosen_method=detail["method"])
    picks = []
    for year, year_rows in detail.groupby("financial_year", sort=True):
        earlier = pool_detail[pool_detail["financial_year"] < year]
        wide = _ape_table(earlier, candidates) if trust_choice and len(earlier) else None
        own: dict[str, pd.Series] = {}
        for k, part in year_rows.groupby("months_observed", sort=True):
            pooled, _ = _choose(scores, str(year), int(k), candidates)
            entities = part["entity"].unique()
            choice = pd.Series(pooled, index=entities, dtype=object)
            if wide is not None:
                if pooled not in own:
                    own[pooled] = _own_choices(wide, pooled, min_years, margin)
                keep = own[pooled].reindex(entities).dropna()
                choice[keep.index] = keep
            rows = part[part["method"].to_numpy() == part["entity"].map(choice).to_numpy()]
            picks.append(rows.assign(chosen_method=rows["method"], method="default"))
    if not picks:
        return out
    return pd.concat([out, *picks], ignore_index=True)


# --- the current year ---------------------------------------------------------------------


def forecast_panel(
    panel: pd.DataFrame,
    period_end: object,
    methods: Sequence[str] = DEFAULT_METHODS,
    *,
    pool: pd.DataFrame | None = None,
    pool_detail: pd.DataFrame | Calibration | None = None,
) -> pd.DataFrame:
    """Forecast the year containing ``period_end`` for every entity of ``panel``.

    Args:
        panel: From :func:`monthly_panel`; columns up to at least ``period_end``.
        period_end: Last month observed (``"YYYY-MM"``).
        methods: Methods to forecast with.
        pool: The entities the pooled methods read (default ``panel``); same columns.
        pool_detail: The pool's backtest (or its :class:`Calibration`), to calibrate the
            intervals (default: backtest the pool on its complete years before this one).

    Returns:
        ``entity``, ``FORECAST_COLUMNS``, ``rest_forecast`` and ``scale``: one row per entity
        and method.
        A forecast is missing for an entity without a value in every month of the year so far
        (or when its method cannot run).

    Raises:
        InputError: Unknown methods, or ``period_end`` outside the panel's columns or with
            the start of its financial year before them.
    """
    methods = _validate_methods(methods)
    end = parse_month(period_end, "period_end")
    label = fy_of_month(end)
    fy_start, _ = fy_bounds(label)
    months = pd.DatetimeIndex(panel.columns)
    if fy_start not in months or end not in months:
        raise InputError(
            f"the data cover {months.min():%Y-%m} to {months.max():%Y-%m}; a forecast from "
            f"{end:%Y-%m} needs every month from {fy_start:%Y-%m}"
        )
    pool = panel if pool is None else pool
    if not pool.columns.equals(panel.columns):
        raise InputError("the pool must have the same months as the panel")
    start = int(months.get_loc(fy_start))
    k = int(months.get_loc(end)) - start + 1
    values = panel.to_numpy(dtype=float)[:, : start + k]
    pool_values = pool.to_numpy(dtype=float)[:, : start + k]
    earlier = [s for s in _year_starts(months).values() if s + 12 <= start]
    pooled = pooled_inputs(pool_values, start, k, earlier)
    out = pd.DataFrame(_origin_rows(values, np.asarray(panel.index), start, k, methods, pooled))
    out["financial_year"] = label
    if pool_detail is None:
        years = [y for y, s in _year_starts(months).items() if s + 12 <= start]
        pooled_methods = [m for m in methods if m != "ets"]
        pool_detail = (
            panel_backtest(
                pool.iloc[:, :start],
                pooled_methods,
                months_observed=[min(k, 11)],
                financial_years=years,
            )
            if years and pooled_methods
            else pd.DataFrame(columns=BACKTEST_COLUMNS)
        )
    out = calibrate(out, pool_detail)
    return out[["entity", *FORECAST_COLUMNS, "rest_forecast", "scale"]]


# --- one series: the original interface ---------------------------------------------------


def _single_panel(
    monthly: pd.DataFrame, value: str, pool: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    series = monthly_series(monthly, value)
    months = series.index if pool is None else pd.DatetimeIndex(pool.columns)
    if pool is not None:
        months = months.union(series.index)
        pool = pool.reindex(columns=months)
    panel = pd.DataFrame(
        [series.reindex(months).to_numpy(dtype=float)], index=["series"], columns=months
    )
    return panel, panel if pool is None else pool


def forecast_outturn(
    monthly: pd.DataFrame,
    period_end: object,
    *,
    value: str = "cost_gbp",
    methods: Sequence[str] = DEFAULT_METHODS,
    pool: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Forecast the financial-year total of one series from the months up to ``period_end``.

    Args:
        monthly: One entity's monthly values (``year_month`` and ``value``; several rows per
            month are summed).
        period_end: Last month observed (``"YYYY-MM"``).
        value: Column to forecast.
        methods: Any of :data:`METHODS`.
        pool: Other entities' :func:`monthly_panel` for the pooled methods and the intervals
            (default: the series alone, which gives intervals only after 9 past forecasts).

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
    fy_start, _ = fy_bounds(fy_of_month(end))
    if fy_start < series.index.min() or end > series.index.max():
        raise InputError(
            f"the series covers {series.index.min():%Y-%m} to {series.index.max():%Y-%m}; "
            f"a forecast from {end:%Y-%m} needs every month from {fy_start:%Y-%m}"
        )
    panel, pool = _single_panel(monthly, value, pool)
    out = forecast_panel(panel.loc[:, :end], end, methods, pool=pool.loc[:, :end])
    return out[FORECAST_COLUMNS].reset_index(drop=True)


def backtest_years(series: pd.Series, min_history_months: int = 24) -> list[str]:
    """Complete financial years in ``series`` with at least ``min_history_months`` before them.

    Two years of history give the seasonal method last year's profile and the intervals a
    year of the pool's errors to calibrate on, so every method is tested on the same years.
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
    pool: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Forecast each past financial year of one series from month k = 1..11; compare.

    Args:
        monthly: One entity's monthly values.
        value: Column to forecast.
        methods: Methods to test.
        financial_years: Years to test (``"2022/23"``...); default :func:`backtest_years`.
        pool: Other entities' :func:`monthly_panel` (default: the series alone), read by the
            pooled methods and backtested to calibrate the intervals.

    Returns:
        One row per year, method and k: ``financial_year, method, months_observed, forecast,
        actual, ape_pct`` (``ape_pct = |forecast - actual| / |actual| x 100``, missing when the
        actual is 0), the calibrated ``lower_80 ... upper_95`` and ``covered_80``,
        ``covered_95``.

    Raises:
        InputError: A requested year is not complete in the data.
    """
    methods = _validate_methods(methods)
    series = monthly_series(monthly, value)
    years = backtest_years(series) if financial_years is None else list(financial_years)
    for label in years:
        fy_start, fy_end = fy_bounds(label)
        if fy_start < series.index.min() or fy_end > series.index.max():
            raise InputError(f"financial year {label} is not complete in the data")
    panel, pool = _single_panel(monthly, value, pool)
    detail = panel_backtest(panel, methods, pool=pool, financial_years=years)
    pooled_methods = [m for m in methods if m != "ets"]
    pool_detail = panel_backtest(pool, pooled_methods) if pooled_methods else detail.iloc[0:0]
    detail = calibrate(detail, pool_detail)
    return detail.drop(columns=["entity", "ytd", "rest_forecast"])


def backtest_summary(detail: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute percentage error (MAPE) and interval coverage per method, best first.

    Returns:
        ``method, mape_pct, median_ape_pct, coverage_80_pct, coverage_95_pct, forecasts``
        (forecasts with an error), sorted by MAPE. Coverage is the percentage of forecasts
        with an interval whose interval held the outturn (missing without intervals).
    """
    require_columns(detail, ["method", "ape_pct"], "backtest detail")
    frame = detail.assign(
        covered_80=detail.get("covered_80", np.nan), covered_95=detail.get("covered_95", np.nan)
    )
    grouped = frame.groupby("method", sort=False)
    summary = grouped["ape_pct"].agg(mape_pct="mean", median_ape_pct="median", forecasts="count")
    summary["coverage_80_pct"] = grouped["covered_80"].mean() * 100
    summary["coverage_95_pct"] = grouped["covered_95"].mean() * 100
    summary = summary.reset_index()[
        ["method", "mape_pct", "median_ape_pct", "coverage_80_pct", "coverage_95_pct", "forecasts"]
    ]
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


# --- ETS (optional, one model per series) -------------------------------------------------


def _ets_forecast(history: np.ndarray, m: int) -> tuple[float, float, float, float, float]:
    """Point rest-of-year and 80%/95% bounds of the rest from a statsmodels ETS fit."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    nan = float("nan")
    if len(history) < 12:
        return nan, nan, nan, nan, nan
    seasonal = "add" if len(history) >= 24 else None
    series = pd.Series(history, index=pd.RangeIndex(len(history)))
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
            nsimulations=m, repetitions=ETS_PATHS, anchor="end", rng=np.random.default_rng(ETS_SEED)
        )
    totals = np.asarray(paths).reshape(m, -1).sum(axis=0)
    lo80, hi80, lo95, hi95 = np.quantile(totals, [0.1, 0.9, 0.025, 0.975])
    return point, float(lo80), float(hi80), float(lo95), float(hi95)


def _ets_rows(
    values: np.ndarray, start: int, k: int
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """ETS for each row: YTD, rest and the model's own interval columns."""
    n = len(values)
    ytd = values[:, start : start + k].sum(axis=1)
    rest = np.full(n, np.nan)
    bounds = {
        f"{side}_{level}": np.full(n, np.nan) for level in LEVELS for side in ("lower", "upper")
    }
    if k == 12:
        rest[:] = 0.0
        for column in bounds.values():
            column[:] = ytd
        return ytd, rest, bounds
    for i in range(n):
        history = values[i, : start + k]
        history = history[np.argmax(~np.isnan(history)) :] if (~np.isnan(history)).any() else []
        if len(history) == 0 or np.isnan(history).any():
            continue
        point, lo80, hi80, lo95, hi95 = _ets_forecast(np.asarray(history), 12 - k)
        rest[i] = point
        bounds["lower_80"][i], bounds["upper_80"][i] = ytd[i] + lo80, ytd[i] + hi80
        bounds["lower_95"][i], bounds["upper_95"][i] = ytd[i] + lo95, ytd[i] + hi95
    return ytd, rest, bounds
