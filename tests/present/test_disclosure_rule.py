"""The disclosure rule on hand-worked counts: rounding, percentages of the published counts,
and secondary suppression."""

import math

import pandas as pd
import pytest

from medlib.present.disclosure import (
    Group,
    RowGroup,
    complementary_suppression,
    disclose_count,
    disclose_percentage,
    disclose_table,
    published_counts,
    shown_range,
)


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
        ("*", "*"),  # already published: unchanged
    ],
)
def test_hes_rule(count, shown):
    assert disclose_count(count) == shown


def test_the_rule_is_idempotent():
    for raw in range(0, 60):
        once = disclose_count(raw)
        assert disclose_count(once) == once


def test_negative_count_or_text_is_an_error():
    with pytest.raises(ValueError, match="cannot be negative"):
        disclose_count(-1)
    with pytest.raises(ValueError, match="must be a number or"):
        disclose_count("12")


def test_a_count_chosen_for_secondary_suppression_is_hidden_but_a_zero_is_not():
    assert disclose_count(40, suppress=True) == "*"
    assert disclose_count(0, suppress=True) == 0


def test_percentage_suppressed_with_its_counts():
    assert disclose_percentage(3, 40) == "*"  # numerator 1-7
    assert disclose_percentage(8, 5) == "*"  # denominator 1-7
    assert disclose_percentage(0, 5) == "*"  # 0 of a suppressed denominator
    assert disclose_percentage("*", 40) == "*"  # numerator hidden by secondary suppression
    assert disclose_percentage(10, 40) == 25.0  # 10 and 40 are published as they are
    assert disclose_percentage(0, 0) is None  # no patients: no percentage
    assert disclose_percentage(0, 20) == 0.0  # a true zero of a published denominator
    assert disclose_percentage(None, 20) is None


@pytest.mark.parametrize(
    ("numerator", "denominator", "percent"),
    [
        (9, 220, 4.5),  # published 10 of 220 = 4.545% (the raw 9/220 = 4.1% gave 9 back)
        (10, 220, 4.5),  # the published counts themselves give the same
        (23, 90, 27.8),  # 25 of 90 = 27.78%
        (12, 13, 66.7),  # 10 of 15 = 66.67%
        (237, 318, 73.4),  # 235 of 320 = 73.44%
        (422, 422, 100.0),  # 420 of 420
        (12, 12, 100.0),  # 10 of 10
    ],
)
def test_percentages_are_those_of_the_published_counts(numerator, denominator, percent):
    assert disclose_percentage(numerator, denominator) == percent


def test_shown_range_is_what_a_reader_can_infer():
    assert shown_range(0) == (0, 0)
    assert shown_range(12) == (8, 12)  # shown as 10: 8 to 12
    assert shown_range(102) == (98, 102)  # shown as 100
    assert shown_range(3) == (1, math.inf)  # '*': 1-7, or any count hidden to protect another
    assert shown_range(None) is None


def test_one_suppressed_part_gets_the_smallest_other_non_zero_part_as_company():
    # 3 is primary; 68 - 40 - 25 would give it back, so the smaller of 40 and 25 goes too.
    counts = {"a": 3, "b": 40, "c": 25, "all": 68}
    assert complementary_suppression(counts, [Group("all", ("a", "b", "c"))]) == {"a", "c"}
    assert published_counts(counts, [Group("all", ("a", "b", "c"))]) == {
        "a": "*",
        "b": 40,
        "c": "*",
        "all": 70,
    }


def test_zeros_are_never_chosen():
    # b is 0: shown as 0, so c (40) is the complement.
    counts = {"a": 3, "b": 0, "c": 40, "all": 43}
    assert complementary_suppression(counts, [Group("all", ("a", "b", "c"))]) == {"a", "c"}


def test_two_suppressed_parts_need_no_more():
    # a + b = 55 -/+ 2 - 50 -/+ 2 = 1..9, each at least 1: neither is pinned.
    counts = {"a": 3, "b": 2, "c": 50, "all": 55}
    assert complementary_suppression(counts, [Group("all", ("a", "b", "c"))]) == {"a", "b"}


def test_nothing_suppressed_when_nothing_can_be_worked_out():
    counts = {"a": 20, "b": 30, "all": 50}
    assert complementary_suppression(counts, [Group("all", ("a", "b"))]) == frozenset()


def test_rounding_that_pins_every_cell_is_broken_up():
    # Four counts of 8 are each shown as 10 (so at least 8) beside a total of 32 shown as 30
    # (at most 32): the reader knows all five exactly. The smallest part goes (ties to the
    # first, a), which leaves one '*', so b goes too; then a + b = 28..32 - 16..24 = 4..16.
    counts = {"a": 8, "b": 8, "c": 8, "d": 8, "t": 32}
    group = Group("t", ("a", "b", "c", "d"))
    assert complementary_suppression(counts, [group]) == {"a", "b"}
    assert published_counts(counts, [group]) == {"a": "*", "b": "*", "c": 10, "d": 10, "t": 30}


def test_suppression_cascades_across_rows_and_columns():
    #            c1   c2  | row total
    #   r1        3   20  |  23
    #   r2       30   40  |  70
    #   columns  33   60  |  93
    # r1: x11 (3) alone -> x12 (20); c1: x11 alone -> x21 (30); c2: x12 alone -> x22 (40).
    counts = {"x11": 3, "x12": 20, "x21": 30, "x22": 40}
    counts |= {"r1": 23, "r2": 70, "c1": 33, "c2": 60, "all": 93}
    groups = [
        Group("r1", ("x11", "x12")),
        Group("r2", ("x21", "x22")),
        Group("c1", ("x11", "x21")),
        Group("c2", ("x12", "x22")),
        Group("all", ("r1", "r2")),
        Group("all", ("c1", "c2")),
    ]
    assert complementary_suppression(counts, groups) == {"x11", "x12", "x21", "x22"}


def test_missing_parts_count_as_zero_and_a_missing_total_ends_the_group():
    counts = {"a": 3, "b": None, "c": 40, "all": 43}
    assert complementary_suppression(counts, [Group("all", ("a", "b", "c"))]) == {"a", "c"}
    counts = {"a": 3, "b": 40, "all": None}
    assert complementary_suppression(counts, [Group("all", ("a", "b"))]) == {"a"}


def test_cells_hidden_elsewhere_count_as_hidden():
    counts = {"a": 30, "b": 40, "c": 25, "all": 95}
    got = complementary_suppression(counts, [Group("all", ("a", "b", "c"))], suppressed=["b"])
    assert got == {"b", "c"}


def test_a_group_naming_an_unknown_cell_is_an_error():
    with pytest.raises(KeyError, match="'z'"):
        complementary_suppression({"a": 3, "all": 3}, [Group("all", ("a", "z"))])


def test_disclose_table():
    df = pd.DataFrame({"trust": ["A", "B"], "flagged": [3, 23], "patients": [40, 90]})
    out = disclose_table(df, ["flagged", "patients"], {"pct": ("flagged", "patients")})
    assert out["flagged"].tolist() == ["*", 25]
    assert out["patients"].tolist() == [40, 90]
    assert out["pct"].tolist() == ["*", 27.8]  # 25 of 90 published = 27.78%


def test_disclose_table_with_bands_and_a_total_row():
    # Two age bands and their total; in each row the bands lo + hi add up to n.
    df = pd.DataFrame(
        {
            "age": ["under 65", "65+", "all"],
            "n": [174, 90, 264],
            "lo": [171, 40, 211],
            "hi": [3, 50, 53],
        }
    )
    out = disclose_table(
        df,
        ["n"],
        {"p_lo": ("lo", "n"), "p_hi": ("hi", "n")},
        column_groups={"n": ["lo", "hi"]},
        row_groups=[RowGroup("age", "all", ("under 65", "65+"))],
    )
    # under 65: hi (3) is primary and lo (171) its complement; column hi: the under-65 cell
    # alone -> 65+ hi (50); row 65+: hi alone -> lo (40). The total row stays: 210 of 265 is
    # 79.2%, 55 of 265 is 20.8%.
    assert out["n"].tolist() == [175, 90, 265]
    assert out["p_lo"].tolist() == ["*", "*", 79.2]
    assert out["p_hi"].tolist() == ["*", "*", 20.8]


def test_disclose_table_takes_cells_hidden_by_a_wider_plan():
    df = pd.DataFrame({"n": [40, 90]}, index=["x", "y"])
    out = disclose_table(df, ["n"], suppressed=[("y", "n")])
    assert out["n"].tolist() == [40, "*"]


def test_disclose_table_needs_a_unique_index():
    with pytest.raises(ValueError, match="unique index"):
        disclose_table(pd.DataFrame({"n": [1, 2]}, index=[0, 0]), ["n"])
