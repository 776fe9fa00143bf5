import math

import numpy as np
import pandas as pd
import pytest

from medlib.switch.uptake_curve import (
    LogisticFit,
    UptakeCurveError,
    fit_doac_curve,
    fit_logistic,
    load_doac_share,
    logistic,
)

MONTHS = pd.date_range("2015-01-01", periods=60, freq="MS")


def test_logistic_at_midpoint_is_half_the_ceiling():
    assert logistic(np.array([10.0]), 0.8, 0.5, 10.0)[0] == pytest.approx(0.4)


def test_fit_recovers_known_parameters():
    truth = logistic(np.arange(60.0), 0.85, 0.2, 30.0)
    fit = fit_logistic(MONTHS, truth)
    assert fit.ceiling == pytest.approx(0.85, abs=1e-6)
    assert fit.rate == pytest.approx(0.2, abs=1e-6)
    assert fit.midpoint == pytest.approx(30.0, abs=1e-5)
    assert fit.rmse < 1e-8
    assert fit.midpoint_month == pd.Timestamp("2017-07-01")  # Jan 2015 + 30 months


def test_fit_with_noise_stays_close():
    rng = np.random.default_rng(1)
    noisy = np.clip(logistic(np.arange(60.0), 0.7, 0.15, 25.0) + rng.normal(0, 0.01, 60), 0, 1)
    fit = fit_logistic(MONTHS, noisy)
    assert abs(fit.ceiling - 0.7) < 0.03 and abs(fit.midpoint - 25) < 2


def test_crossing_times_follow_the_formula():
    fit = LogisticFit(
        ceiling=0.8, rate=0.5, midpoint=10.0, origin=pd.Timestamp("2020-01-01"), rmse=0.0, n=20
    )
    # t(s) = midpoint - ln(ceiling/s - 1) / rate: t(0.4) = 10 (Nov 2020).
    assert fit.month_reaching(0.4) == pd.Timestamp("2020-11-01")
    # t(0.6) - t(0.2) = (ln 3 - ln(1/3)) / 0.5 = 4 ln 3.
    assert fit.months_between(0.2, 0.6) == pytest.approx(4 * math.log(3))
    assert fit.month_reaching(0.9) is None
    assert math.isnan(fit.months_between(0.5, 0.9))
    assert fit.predict(["2020-11-15"])[0] == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("months", "share", "message"),
    [
        (MONTHS[:5], [0.1] * 5, "at least 6 months"),
        (MONTHS[:6], [0.1, 0.2, 1.3, 0.4, 0.5, 0.6], "between 0 and 1"),
        (MONTHS[:6], [0.1, np.nan, 0.3, 0.4, 0.5, 0.6], "between 0 and 1"),
        (MONTHS[:6], [0.1] * 7, "differ in length"),
    ],
)
def test_bad_series(months, share, message):
    with pytest.raises(UptakeCurveError, match=message):
        fit_logistic(months, share)


def test_bundled_doac_series():
    series = load_doac_share()
    assert len(series) == 83
    assert series["year_month"].min() == pd.Timestamp("2013-05-01")
    assert series["year_month"].max() == pd.Timestamp("2020-03-01")
    first = series.iloc[0]
    # From the bundled file: 26,142 DOAC and 949,772 warfarin items in May 2013.
    assert first["doac_share"] == pytest.approx(26142 / (26142 + 949772))


def test_doac_fit_is_a_good_s_curve():
    series, fit = fit_doac_curve()
    assert 0.6 < fit.ceiling <= 1.0
    assert fit.rmse < 0.02
    assert series["fitted_share"].is_monotonic_increasing
    assert pd.Timestamp("2014-01-01") < fit.midpoint_month < pd.Timestamp("2019-01-01")
