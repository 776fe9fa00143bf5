"""The disclosure checker on hand-worked tables: each attack the issue describes is found on
percentages made from raw counts, and finds nothing on the published counts' percentages."""

import pandas as pd
import pytest

from medlib.present.disclosure_check import (
    DisclosureCheckError,
    Layout,
    Percent,
    RowTotal,
    Shown,
    Total,
    find_recoveries,
    funnel_findings,
    parse_shown,
    table_facts,
)
from medlib.stats.peer_comparison import funnel_limits

BANDS = ("0-4", "5-7", "8-9", "10-14", "15+")
BY_AGE = Layout(
    key=("age_band",),
    counts={"patients": "patients"},
    percentages={f"percent_{b}": (b, "patients") for b in BANDS},
    row_sums=(("patients", BANDS),),
)


def _found(recoveries):
    return [(r.where, r.value, r.kind) for r in recoveries]


def _row(patients, *percents):
    return pd.DataFrame(
        [
            {"age_band": "under 65", "patients": patients}
            | {f"percent_{b}": p for b, p in zip(BANDS, percents, strict=True)}
        ]
    )


def test_cells_read_back_from_a_csv():
    assert [parse_shown(v) for v in ("10", " * ", "", "0.0", "not shown", None)] == [
        10.0,
        "*",
        None,
        0.0,
        None,
        None,
    ]


def test_subtracting_shown_counts_from_a_total_at_the_ends_of_their_rounding():
    # 10 is at least 8, 15 at least 13, and the total 20 at most 22: the '*' is 22 - 21 = 1.
    table = pd.DataFrame({"band": ["a", "b", "c", "all"], "n": ["10", "*", "15", "20"]})
    layout = Layout(
        key=("band",), counts={"n": "n"}, row_totals=(RowTotal("band", "all", ("a", "b", "c")),)
    )
    assert _found(find_recoveries(table_facts("t", table, layout))) == [
        ("t[a].n", 8, "rounded"),
        ("t[b].n", 1, "suppressed"),
        ("t[c].n", 13, "rounded"),
        ("t[all].n", 22, "rounded"),
    ]


def test_the_under_65_row_of_the_issue_is_worked_back_from_raw_percentages():
    # RTD's under-65 row before the fix: 181 patients shown as 180, bands 129, 38, 13, 1, 0
    # printed as 71.3, 21.0, 7.2, *, 0.0 of the raw 181. Of the denominators 178-182 only 181
    # allows all three shares (e.g. 180: 71.3% needs 128.25-128.43 patients), and then
    # 181 - 129 - 38 - 13 = 1.
    old = _row("180", "71.3", "21.0", "7.2", "*", "0.0")
    assert _found(find_recoveries(table_facts("by_age", old, BY_AGE))) == [
        ("by_age[under 65].patients", 181, "rounded"),
        ("by_age[under 65].percent_0-4", 129, "rounded"),
        ("by_age[under 65].percent_5-7", 38, "rounded"),
        ("by_age[under 65].percent_8-9", 13, "rounded"),
        ("by_age[under 65].percent_10-14", 1, "suppressed"),
    ]


def test_the_same_row_published_from_its_counts_gives_nothing_away():
    # 181 -> 180; 129 -> 130 (72.2%), 38 -> 40 (22.2%), 1 -> '*' and its complement 13 -> '*'.
    new = _row("180", "72.2", "22.2", "*", "*", "0.0")
    assert find_recoveries(table_facts("by_age", new, BY_AGE)) == []


def test_a_percentage_of_a_shown_denominator_gives_the_rounded_count_away():
    # ACB score 6+, women at RTD: 9 of 220, shown as 10 of 220 but printed as 4.1%: of 8-12
    # only 9 gives 4.1% of any denominator 218-222 (10/218 = 4.6%, 8/222 = 3.6%).
    layout = Layout(
        key=("group",),
        counts={"flagged": "flagged", "den": "den"},
        percentages={"percent": ("flagged", "den")},
    )
    old = pd.DataFrame({"group": ["F"], "flagged": ["10"], "den": ["220"], "percent": ["4.1"]})
    assert _found(find_recoveries(table_facts("acb", old, layout))) == [
        ("acb[F].flagged", 9, "rounded")
    ]
    new = old.assign(percent="4.5")  # 10 of 220 as published
    assert find_recoveries(table_facts("acb", new, layout)) == []


def test_a_difference_of_percentages_across_tables_gives_a_suppressed_count_away():
    # Headline: 10+ medicines 55 of 420 at 12.6%, 15+ '*'. By age, all ages: 10-14 at 11.9%.
    # 12.6% allows 53 of 419-421 only, 11.9% allows 50 of each, so 15+ = 53 - 50 = 3. The
    # by-age column is judged as a whole: its 65-74 cell (16.5% of 90) is no published share
    # (15 of 90 is 16.7%), so 11.9% too is read as a share of the raw counts, although 50 of
    # 420 would also give 11.9%.
    column = "by_age.percent_10-14"
    facts = [
        Shown("n10", "55", "headline[10+]"),
        Shown("all", "420", "headline[10+].den"),
        Percent("n10", "all", "12.6", "headline[10+].value", "headline.value"),
        Shown("n15", "*", "headline[15+]"),
        Percent("c1014", "all", "11.9", "by_age[all].10-14", column),
        Shown("n65", "90", "by_age[65-74].patients"),
        Percent("c1014_65", "n65", "16.5", "by_age[65-74].10-14", column),
        Total("n10", ("c1014", "n15")),
    ]
    found = _found(find_recoveries(facts))
    assert ("headline[15+]", 3, "suppressed") in found
    assert ("headline[10+]", 53, "rounded") in found
    published = [
        Shown("n10", "55"),
        Shown("all", "420"),
        Percent("n10", "all", "13.1", source="headline.value"),  # 55 of 420
        Shown("n15", "*"),
        Percent("c1014", "all", "*", source=column),  # hidden to protect 15+
        Total("n10", ("c1014", "n15")),
    ]
    assert find_recoveries(published) == []


def test_a_count_hidden_in_one_table_and_shown_in_another_is_reported():
    found = find_recoveries([Shown("x", "*", "a[1].n"), Shown("x", "15", "b[1].n")])
    assert _found(found) == [("a[1].n", 15, "shown elsewhere")]


def test_facts_that_contradict_the_tables_are_an_error():
    # Two counts of at most 12 cannot add up to at least 48.
    facts = [Shown("a", "10"), Shown("b", "10"), Shown("t", "50"), Total("t", ("a", "b"))]
    with pytest.raises(DisclosureCheckError, match="check the layout"):
        find_recoveries(facts)


def test_a_suppressed_count_is_one_or_more_unless_the_tables_say_one_to_seven():
    # Three counts shown as 10 (8-12) and a '*' add up to 45 (43-47): the '*' is 7 to 23. Read
    # as 1-7 (tables without secondary suppression) it can only be 7, so the 10s are 12 each
    # and the total 43.
    facts = [Shown(k, "10") for k in ("b", "c", "d")]
    facts += [Shown("a", "*"), Shown("t", "45"), Total("t", ("a", "b", "c", "d"))]
    assert find_recoveries(facts) == []
    assert [(r.var, r.value, r.kind) for r in find_recoveries(facts, suppressed_max=7)] == [
        ("b", 12, "rounded"),
        ("c", 12, "rounded"),
        ("d", 12, "rounded"),
        ("a", 7, "suppressed"),
        ("t", 43, "rounded"),
    ]


def _funnel_table(numerators, denominators, labels):
    result = funnel_limits(numerators, denominators, labels)
    table = result.table
    return pd.DataFrame(
        {
            "organisation": labels,
            "flagged": [str(int(n)) for n in numerators],
            "den": [str(int(d)) for d in denominators],
            "lower_95": (100 * table["lower_95"]).round(1).astype(str),
            "upper_95": (100 * table["upper_95"]).round(1).astype(str),
        }
    )


FUNNEL = dict(
    label="organisation",
    numerator="flagged",
    denominator="den",
    limits={"lower_95": "lower_95", "upper_95": "upper_95"},
)


def test_funnel_limits_of_the_published_counts_leak_nothing():
    table = _funnel_table([20, 30, 45, 10], [90, 90, 150, 60], ["A", "B", "C", "D"])
    assert funnel_findings("funnel", table, **FUNNEL) == []


def test_funnel_limits_of_the_unrounded_counts_are_found():
    # A has 88 patients and B 91, both shown as 90: limits at 88 and 91 differ.
    table = _funnel_table([20, 30, 45, 10], [88, 91, 150, 60], ["A", "B", "C", "D"])
    table["den"] = ["90", "90", "150", "60"]
    reasons = {f.where: f.reason for f in funnel_findings("funnel", table, **FUNNEL)}
    assert (
        reasons["funnel[A]"]
        == reasons["funnel[B]"]
        == ("organisations showing the same denominator 90 show different limits")
    )
    assert "funnel[A].lower_95" in reasons and "funnel[B].lower_95" in reasons
