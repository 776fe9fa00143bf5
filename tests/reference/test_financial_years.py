from __future__ import annotations

import pandas as pd
import pytest

from medlib.errors import InputError
from medlib.reference import financial_years
from medlib.validation import parse_month


@pytest.mark.parametrize(
    ("month", "label", "fy_month"),
    [
        ("2023-04-01", "2023/24", 1),  # April opens the year
        ("2023-12-01", "2023/24", 9),  # April=1 ... December=9
        ("2024-01-01", "2023/24", 10),
        ("2024-03-01", "2023/24", 12),  # March closes it
        ("2024-04-01", "2024/25", 1),
        ("1999-04-01", "1999/00", 1),  # century wrap keeps two digits
    ],
)
def test_month_to_financial_year(month, label, fy_month):
    dates = pd.Series(pd.to_datetime([month]))
    assert financial_years.financial_year(dates).tolist() == [label]
    assert financial_years.fy_month(dates).tolist() == [fy_month]
    assert financial_years.fy_of_month(month[:7]) == label


def test_label_round_trip_and_bounds():
    assert financial_years.fy_label(2019) == "2019/20"
    assert financial_years.fy_start_year("2019/20") == 2019
    assert financial_years.fy_bounds("2019/20") == (
        pd.Timestamp("2019-04-01"),
        pd.Timestamp("2020-03-01"),
    )


@pytest.mark.parametrize("bad", ["2023-24", "2023/25", "23/24", "", "2023/2024"])
def test_bad_labels_are_rejected(bad):
    with pytest.raises(InputError, match="financial year"):
        financial_years.fy_start_year(bad)


def test_fytd_and_same_period_last_year():
    # period end December 2023 = month 9 of 2023/24: FYTD Apr-Dec 2023, last year Apr-Dec 2022
    assert financial_years.fytd_window("2023-12") == (
        pd.Timestamp("2023-04-01"),
        pd.Timestamp("2023-12-01"),
    )
    assert financial_years.same_period_last_year("2023-12") == (
        pd.Timestamp("2022-04-01"),
        pd.Timestamp("2022-12-01"),
    )
    # period end in the first quarter of the calendar year stays in the FY that began last April
    assert financial_years.fytd_window("2024-02")[0] == pd.Timestamp("2023-04-01")


def test_add_fy_columns_keeps_rows_and_adds_two_columns():
    df = pd.DataFrame({"year_month": pd.to_datetime(["2020-03-01", "2020-04-01"]), "v": [1, 2]})
    out = financial_years.add_fy_columns(df)
    assert out["financial_year"].tolist() == ["2019/20", "2020/21"]
    assert out["fy_month"].tolist() == [12, 1]
    assert "financial_year" not in df.columns  # input untouched


def test_months_between_inclusive():
    months = financial_years.months_between("2023-11", "2024-02")
    assert [m.strftime("%Y-%m") for m in months] == ["2023-11", "2023-12", "2024-01", "2024-02"]
    with pytest.raises(InputError, match="before start"):
        financial_years.months_between("2024-02", "2023-11")


@pytest.mark.parametrize("bad", ["2024-13", "March 2024", "2024/03", 202403, None])
def test_parse_month_rejects_non_months(bad):
    with pytest.raises(InputError, match="month"):
        parse_month(bad, "period_end")


def test_parse_month_accepts_dates():
    assert parse_month("2024-03-01") == pd.Timestamp("2024-03-01")
    assert parse_month(pd.Timestamp("2024-03-17")) == pd.Timestamp("2024-03-01")


def test_non_datetime_dates_are_rejected():
    with pytest.raises(InputError, match="datetime64"):
        financial_years.financial_year(pd.Series(["2024-03-01"]))
    with pytest.raises(InputError, match="no 'month'"):
        financial_years.add_fy_columns(pd.DataFrame({"x": [1]}), date_column="month")
