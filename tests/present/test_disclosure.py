import pandas as pd
import pytest

from medlib.present.disclosure import disclose_count, disclose_percentage, disclose_table


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, 0),
        (1, "*"),
        (7, "*"),
        (8, 10),
        (12, 10),
        (12.5, 15),
        (13, 15),
        (17, 15),
        (18, 20),
        (102, 100),
        (None, None),
    ],
)
def test_hes_rule(count, shown):
    assert disclose_count(count) == shown


def test_negative_count_is_an_error():
    with pytest.raises(ValueError, match="cannot be negative"):
        disclose_count(-1)


def test_percentage_suppressed_with_its_counts():
    assert disclose_percentage(3, 40) == "*"  # numerator 1-7
    assert disclose_percentage(8, 5) == "*"  # denominator 1-7
    assert disclose_percentage(10, 40) == 25.0  # raw counts: 10/40
    assert disclose_percentage(0, 0) is None
    assert disclose_percentage(0, 20) == 0.0


def test_disclose_table():
    df = pd.DataFrame({"trust": ["A", "B"], "flagged": [3, 23], "patients": [40, 90]})
    out = disclose_table(df, ["flagged", "patients"], {"pct": ("flagged", "patients")})
    assert out["flagged"].tolist() == ["*", 25]
    assert out["patients"].tolist() == [40, 90]
    assert out["pct"].tolist() == ["*", 25.6]  # 23/90 = 25.56%
