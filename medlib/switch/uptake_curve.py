"""Logistic uptake curves, and a real switch to fit them to: DOACs replacing warfarin.

A switch that nobody mandates tends to follow an S-shaped (logistic) curve: slow at first,
fastest at the midpoint, then levelling off at a ceiling. The curve is

    share(t) = ceiling / (1 + exp(-rate x (t - midpoint)))

with ``t`` in months. :func:`fit_logistic` fits it by least squares (``scipy.optimize``).
The bundled real series is the monthly share of DOAC prescription items among DOAC plus
warfarin items in English primary care, 2013-05 to 2020-03 (``medlib/data/switch``, with its
provenance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from medlib.errors import MedlibError
from medlib.paths import DATA_DIR

__all__ = [
    "LogisticFit",
    "UptakeCurveError",
    "fit_doac_curve",
    "fit_logistic",
    "load_doac_share",
    "logistic",
]

DOAC_FILE = DATA_DIR / "switch" / "doac_warfarin_items_england_monthly.csv"


class UptakeCurveError(MedlibError, ValueError):
    """A series that cannot be fitted (too short, shares outside 0-1, no convergence)."""


def logistic(t: np.ndarray, ceiling: float, rate: float, midpoint: float) -> np.ndarray:
    """The logistic curve ``ceiling / (1 + exp(-rate (t - midpoint)))``.

    Example:
        >>> float(logistic(np.array([10.0]), 0.8, 0.5, 10.0)[0])
        0.4
    """
    z = np.clip(-rate * (np.asarray(t, dtype=float) - midpoint), -700, 700)
    return ceiling / (1.0 + np.exp(z))


@dataclass(frozen=True)
class LogisticFit:
    """A fitted logistic uptake curve.

    Attributes:
        ceiling: Share the curve levels off at (0-1).
        rate: Steepness, per month.
        midpoint: Month (from ``origin``) at which share = ceiling / 2.
        origin: Month 0 of the time axis.
        rmse: Root mean square error of the fit, as a share.
        n: Number of months fitted.
    """

    ceiling: float
    rate: float
    midpoint: float
    origin: pd.Timestamp
    rmse: float
    n: int

    @property
    def midpoint_month(self) -> pd.Timestamp:
        """Calendar month of the midpoint."""
        return _add_months(self.origin, self.midpoint)

    def predict(self, months: pd.Series | pd.DatetimeIndex | list) -> np.ndarray:
        """Fitted share for each calendar month."""
        return logistic(
            _month_number(pd.DatetimeIndex(pd.to_datetime(months)), self.origin),
            self.ceiling,
            self.rate,
            self.midpoint,
        )

    def month_reaching(self, share: float) -> pd.Timestamp | None:
        """Calendar month in which the curve reaches ``share`` (None if above the ceiling)."""
        if not 0 < share < self.ceiling:
            return None
        t = self.midpoint - math.log(self.ceiling / share - 1.0) / self.rate
        return _add_months(self.origin, t)

    def months_between(self, low: float, high: float) -> float:
        """Months the curve takes to rise from share ``low`` to share ``high``."""
        if not 0 < low < high < self.ceiling:
            return math.nan
        return (
            math.log(self.ceiling / low - 1.0) - math.log(self.ceiling / high - 1.0)
        ) / self.rate


def _month_number(months: pd.DatetimeIndex, origin: pd.Timestamp) -> np.ndarray:
    return np.asarray((months.year - origin.year) * 12 + (months.month - origin.month), dtype=float)


def _add_months(origin: pd.Timestamp, months: float) -> pd.Timestamp:
    whole = int(math.floor(months + 0.5))
    return (origin.to_period("M") + whole).to_timestamp()


def fit_logistic(months: pd.Series | list, share: pd.Series | list) -> LogisticFit:
    """Fit a logistic curve to a monthly share series.

    Args:
        months: Calendar months (any day of the month).
        share: Share (0-1) in each month.

    Returns:
        The fitted curve; month 0 is the first month of the series.

    Raises:
        UptakeCurveError: Fewer than 6 months, shares outside 0-1 or missing, or no fit.
    """
    from scipy.optimize import curve_fit  # here, not at the top: slow to import

    dates = pd.DatetimeIndex(pd.to_datetime(pd.Series(months))).to_period("M").to_timestamp()
    y = np.asarray(share, dtype=float)
    if len(dates) != len(y):
        raise UptakeCurveError(f"months ({len(dates)}) and share ({len(y)}) differ in length")
    if len(y) < 6:
        raise UptakeCurveError(f"need at least 6 months to fit a curve, got {len(y)}")
    if np.isnan(y).any() or (y < 0).any() or (y > 1).any():
        raise UptakeCurveError("every share must be a number between 0 and 1")
    origin = dates.min()
    t = _month_number(dates, origin)
    span = float(t.max() - t.min()) or 1.0
    # Start from a midpoint where the series crosses half its maximum: curve_fit needs a
    # start in the right basin because the logistic is flat far from its midpoint.
    half = y.max() / 2
    crossing = float(t[np.argmin(np.abs(y - half))])
    try:
        params, _ = curve_fit(
            logistic,
            t,
            y,
            p0=[min(1.0, max(y.max(), 1e-3)), 4.0 / span, crossing],
            bounds=([1e-6, 1e-6, t.min() - 5 * span], [1.0, 10.0, t.max() + 5 * span]),
            maxfev=20000,
        )
    except (RuntimeError, ValueError) as exc:
        raise UptakeCurveError(f"the logistic fit did not converge ({exc})") from None
    fitted = logistic(t, *params)
    rmse = float(np.sqrt(np.mean((fitted - y) ** 2)))
    return LogisticFit(
        ceiling=float(params[0]),
        rate=float(params[1]),
        midpoint=float(params[2]),
        origin=origin,
        rmse=rmse,
        n=len(y),
    )


@cache
def _doac_series() -> pd.DataFrame:
    table = pd.read_csv(DOAC_FILE, parse_dates=["year_month"])
    table["doac_share"] = table["doac_items"] / (table["doac_items"] + table["warfarin_items"])
    return table


def load_doac_share() -> pd.DataFrame:
    """The real DOAC share series (England, monthly, 2013-05 to 2020-03).

    Returns:
        Columns ``year_month, doac_items, warfarin_items, ccgs, doac_share``.
    """
    return _doac_series().copy()


def fit_doac_curve(through: pd.Timestamp | None = None) -> tuple[pd.DataFrame, LogisticFit]:
    """Fit the logistic curve to the real DOAC share series.

    Args:
        through: Last month to use (a report's period end); None uses the whole series.

    Returns:
        The series (to ``through``) with a ``fitted_share`` column, and the fit.
    """
    series = load_doac_share()
    if through is not None:
        series = series[series["year_month"] <= pd.Timestamp(through)].reset_index(drop=True)
    fit = fit_logistic(series["year_month"], series["doac_share"])
    series["fitted_share"] = fit.predict(series["year_month"])
    return series, fit
