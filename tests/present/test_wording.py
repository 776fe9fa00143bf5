"""The one set of number and date formats every page uses."""

import math

import numpy as np
import pandas as pd
import pytest

from medlib.present.wording import (
    format_count,
    format_disclosed_pct,
    format_financial_year,
    format_gbp,
    format_month,
    format_month_short,
    format_number,
    format_pct,
)


@pytest.mark.parametrize(
    ("value", "rounding", "text"),
    [
        (1328.44, "prose", "£1,328"),
        (-857.5, "prose", "-£858"),
        (999_999.0, "prose", "£999,999"),
        (2_450_000, "prose", "£2.5m"),
        (-2_450_000, "prose", "-£2.5m"),
        (2_450_000, "whole", "£2,450,000"),
        (-357.76, "pence", "-£357.76"),
        (1328.44, "pence", "£1,328.44"),
        (-0.001, "pence", "£0.00"),
        (1234567.8, "estimate", "£1,235,000"),
        (9994.0, "estimate", "£9,990"),
        (-15400, "estimate", "-£15,000"),
        (0.4, "estimate", "£0"),
        (-0.4, "whole", "£0"),
        (120.4, "compact", "£120"),
        (-15_400, "compact", "-£15k"),
        (1_540_000, "compact", "£1.5m"),
    ],
)
def test_money_has_one_formatter_with_five_roundings(value, rounding, text):
    assert format_gbp(value, rounding) == text


@pytest.mark.parametrize("missing", [None, math.nan, np.nan, pd.NA])
def test_missing_money_and_percentages_say_so(missing):
    assert format_gbp(missing) == "not available"
    assert format_pct(missing) == "not available"
    assert format_number(missing) == "not available"


def test_an_unknown_rounding_is_refused():
    with pytest.raises(ValueError, match="rounding must be"):
        format_gbp(1.0, "nearest")


def test_percentages_counts_and_numbers():
    assert format_pct(182.268, signed=True) == "+182.3%"
    assert format_pct(-3.04, signed=True) == "-3.0%"
    assert format_pct(95.24) == "95.2%"
    assert format_disclosed_pct("*") == "suppressed (fewer than 8 patients)"
    assert format_disclosed_pct(95.23) == "95.2%"
    assert format_count(590) == "about 590 patients"
    assert format_count("*", "more patients") == "fewer than 8 more patients"
    assert format_count(0) == "no patients"
    assert format_count(None) == "an unknown number of patients"
    assert format_number(1234.4) == "1,234"


def test_months_and_financial_years():
    assert format_month("2024-03-01") == "March 2024"
    assert format_month_short(pd.Timestamp("2019-08-01")) == "Aug 2019"
    assert format_financial_year(2023) == "2023/24"
    assert format_financial_year(1999) == "1999/00"
