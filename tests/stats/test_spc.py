"""SPC (XmR) tests: the NHSRplotthedots reference cases plus hand-worked cases per rule."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from medlib.errors import InputError
from medlib.stats import spc

CASES_FILE = Path(__file__).parents[1] / "data" / "spc" / "nhsrplotthedots_cases.json"
CASES = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]


def _close(actual: float, expected: float, sig: int) -> bool:
    """Equal to ``sig`` significant figures, the precision the R snapshots print."""
    return math.isclose(actual, expected, rel_tol=0.6 * 10 ** (1 - sig), abs_tol=1e-12)


def _sig_figs(value: float) -> int:
    digits = f"{abs(value):.10g}".replace(".", "").lstrip("0").rstrip("0")
    return max(len(digits), 1)


def _check_limits(result: spc.SpcResult, expected: dict) -> None:
    first = result.points.iloc[0]
    for key, column in (("mean", "mean"), ("lpl", "lpl"), ("upl", "upl")):
        if key in expected:
            assert _close(first[column], expected[key], _sig_figs(expected[key])), (
                key,
                first[column],
                expected[key],
            )


def _run_case(case: dict) -> None:  # noqa: C901 - one branch per kind of reference case
    kind, inp, exp = case["kind"], case["inputs"], case["expected"]
    if kind == "shift_window_ends":
        assert spc.shift_window_ends(inp["rtm"]).tolist() == exp
    elif kind == "run_members":
        assert spc.run_members(inp["ends"]).tolist() == exp
    elif kind == "trend_window_ends":
        assert spc.trend_window_ends(inp["y"]).tolist() == exp
    elif kind in ("two_in_three_windows", "two_in_three_members"):
        close, rtm = inp["close"], list(inp["rtm"])
        # R reads past the end of a shorter vector as NA, which cannot change the result when
        # fewer than 2 points are close; pad with "on the mean" to keep lengths equal.
        rtm += [0] * (len(close) - len(rtm))
        windows = spc.two_in_three_windows(close, rtm)
        if kind == "two_in_three_windows":
            assert windows.tolist() == exp
        else:
            assert spc.two_in_three_members(windows, close).tolist() == exp
    elif kind == "two_in_three_members_direct":
        assert spc.two_in_three_members(inp["windows"], inp["close"]).tolist() == exp
    elif kind == "combine_rules":
        labels = spc.special_cause_labels(
            inp["y"],
            inp["rtm"],
            inp["outside"],
            inp["trend_part"],
            inp["two3_part"],
            inp["shift_part"],
        )
        assert labels == exp
    elif kind == "assurance":
        rows = inp.get("all_rows_in_order", [[inp["lpl"], inp["upl"]]])
        # Only the last row's limits count (the last baseline after rebasing).
        lpl, upl = rows[-1]
        assert (lpl, upl) == (inp["lpl"], inp["upl"])
        got = spc.assurance_type(lpl, upl, inp["target"], inp["improvement_direction"])
        assert got == exp
    elif kind == "spc_full":
        result = spc.spc(
            inp["values"],
            improvement_direction=inp["improvement_direction"],
            screen_outliers=inp["screen_outliers"],
        )
        pts = result.points
        _check_limits(result, exp)
        if "relative_to_mean_head" in exp:
            n = len(exp["relative_to_mean_head"])
            assert pts["relative_to_mean"].iloc[:n].tolist() == exp["relative_to_mean_head"]
        for key, column in (
            ("outside_limits_head", "outside_limits"),
            ("close_to_limits_head", "close_to_limits"),
        ):
            if key in exp:
                assert pts[column].iloc[: len(exp[key])].tolist() == exp[key]
        if "values_head" in exp:
            head = pts["y"].iloc[: len(exp["values_head"])]
            assert np.allclose(head, exp["values_head"], atol=5e-9)
        if "point_type_tail" in exp:
            assert (
                pts["point_type"].iloc[-len(exp["point_type_tail"]) :].tolist()
                == (exp["point_type_tail"])
            )
    elif kind == "spc_relation":
        if "values_r1" in inp:
            r1 = spc.xmr_limits(inp["values_r1"], screen_outliers=True)
            r2 = spc.xmr_limits(inp["values_r2r3"], screen_outliers=True)
            r3 = spc.xmr_limits(inp["values_r2r3"], screen_outliers=False)
            assert ((r3.upl - r3.lpl) > (r2.upl - r2.lpl)) == exp["r3_range_gt_r2_range"]
            limits = {(r.lpl, r.upl) for r in (r1, r2, r3)}
            assert (len(limits) == 3) == exp["all_limits_differ"]
        else:
            free = spc.xmr_limits(inp["values"])
            fixed = spc.xmr_limits(inp["values"], fix_after_n_points=inp["fix_after_n_points"])
            assert (free.lpl != fixed.lpl) == exp["lpl_differs"]
            assert (free.upl != fixed.upl) == exp["upl_differs"]
    elif kind in ("spc_summary", "spc_assurance_full"):
        result = spc.spc(
            inp["values"],
            improvement_direction=inp["improvement_direction"],
            target=inp.get("target"),
        )
        row = result.summary().iloc[-1]
        for key, value in exp.items():
            if key in ("mean", "lpl", "upl"):
                assert _close(row[key], value, _sig_figs(value)), (key, row[key], value)
            else:
                assert row[key] == value, (key, row[key], value)
    elif kind == "icons":
        result = spc.spc(
            inp["values"],
            improvement_direction=inp["improvement_direction"],
            target=inp["target"],
        )
        assert result.variation_icon == exp["variation_icon"]
        assert result.assurance_type == exp["assurance_type"]
    elif kind == "rebase_groups":
        result = spc.spc(inp["values"], rebase_at=inp["rebase_at"])
        assert result.points["rebase_group"].tolist() == exp["rebase_group"]
        # Each baseline has its own limits.
        assert result.points.groupby("rebase_group")["mean"].nunique().tolist() == [1, 1]
        assert result.points["mean"].nunique() == 2
    else:  # pragma: no cover - a new kind in the JSON must be handled explicitly
        pytest.fail(f"unhandled reference case kind {kind!r}")


def test_reference_file_has_all_75_cases():
    assert len(CASES) == 75
    assert len({c["id"] for c in CASES}) == 75


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_nhsrplotthedots_reference_case(case):
    _run_case(case)


# --- hand-worked cases --------------------------------------------------------------------


def test_limits_hand_worked():
    # values 10, 12, 11, 13, 14: mean = 60 / 5 = 12
    # moving ranges 2, 1, 2, 1 -> mean 1.5; screening cut-off 3.267 * 1.5 = 4.9 keeps all
    # UPL = 12 + 2.66 * 1.5 = 15.99; LPL = 12 - 3.99 = 8.01; 2-sigma: 12 +/- 1.7733 * 1.5
    lim = spc.xmr_limits([10, 12, 11, 13, 14])
    assert lim.mean == pytest.approx(12.0)
    assert lim.mean_moving_range == pytest.approx(1.5)
    assert lim.upl == pytest.approx(15.99)
    assert lim.lpl == pytest.approx(8.01)
    assert lim.upper_close == pytest.approx(12 + 2.66 * 2 / 3 * 1.5)


def test_screening_drops_large_moving_range_once():
    # values 0, 1, 0, 1, 0, 1, 0, 1, 0, 11: moving ranges eight 1s and one 11 -> mean 19/9 = 2.111
    # cut-off 3.267 * 2.111 = 6.897: the 11 is dropped, mean of the rest = 1.
    # mean of values = (4 + 11) / 10 = 1.5; UPL = 1.5 + 2.66 = 4.16 with screening.
    values = [0, 1, 0, 1, 0, 1, 0, 1, 0, 11]
    screened = spc.xmr_limits(values)
    assert screened.mean_moving_range == pytest.approx(1.0)
    assert screened.upl == pytest.approx(4.16)
    unscreened = spc.xmr_limits(values, screen_outliers=False)
    assert unscreened.mean_moving_range == pytest.approx(19 / 9)
    assert unscreened.upl == pytest.approx(1.5 + 2.66 * 19 / 9)


def test_constant_series_has_no_limits_and_no_special_cause_from_limits():
    # NHSRplotthedots (R/ptd_spc_standard.R): mean mR 0, and screening keeps mR < 3.267 x 0,
    # i.e. none, so the mean moving range is the mean of nothing (NaN) and so are the limits.
    result = spc.spc([5.0] * 10)
    pts = result.points
    assert pts["lpl"].isna().all() and pts["upl"].isna().all()
    assert not pts["outside_limits"].any()
    # every point is on the mean, so no shift either
    assert (pts["point_type"] == "common_cause").all()
    assert result.assurance_type is None


def test_constant_series_with_a_target_is_inconsistent_as_in_the_package():
    # R/ptd_calculate_assurance_type.R: target > NA and target < NA are missing, so case_when
    # falls through to TRUE ~ "inconsistent".
    assert spc.spc([5.0] * 10, target=6.0).assurance_type == "inconsistent"
    assert spc.spc([5.0] * 10, target=4.0, improvement_direction="decrease").assurance_type == (
        "inconsistent"
    )
    # unscreened, the constant series has zero-width limits at 5: a real comparison
    unscreened = spc.spc([5.0] * 10, target=6.0, screen_outliers=False)
    assert unscreened.points["upl"].eq(5.0).all() and unscreened.points["lpl"].eq(5.0).all()
    assert not unscreened.points["outside_limits"].any()  # every point is on the limits
    assert unscreened.assurance_type == "consistent_fail"


def test_flat_after_screening_gives_zero_width_limits_and_every_other_point_outside():
    # 1, 1, 3, 3, 3: mean 11 / 5 = 2.2; moving ranges 0, 2, 0, 0 -> mean 0.5; cut-off
    # 3.267 x 0.5 = 1.63 screens the 2, leaving a mean of 0: limits 2.2 +/- 0, and every
    # point is off the mean, so all five are outside (NHSRplotthedots draws the same).
    values = [1.0, 1.0, 3.0, 3.0, 3.0]
    limits = spc.xmr_limits(values)
    assert limits.mean_moving_range == 0.0
    assert (limits.lpl, limits.upl) == pytest.approx((2.2, 2.2))
    assert (limits.lower_close, limits.upper_close) == pytest.approx((2.2, 2.2))
    result = spc.spc(values, improvement_direction="neutral")
    pts = result.points
    assert pts["outside_limits"].all() and not pts["close_to_limits"].any()
    assert pts["special_cause_type"].tolist() == ["Below LCL"] * 2 + ["Above UCL"] * 3
    assert pts["point_type"].tolist() == (
        ["special_cause_neutral_low"] * 2 + ["special_cause_neutral_high"] * 3
    )
    assert result.variation_icon == "neutral_high"
    # a point exactly on the mean is on both limits, so inside: ten 0s, a 5, ten 10s has mean
    # 105 / 21 = 5 and moving ranges 5, 5 among eighteen 0s (mean 0.5, cut-off 1.63)
    middle = spc.spc([0.0] * 10 + [5.0] + [10.0] * 10, improvement_direction="neutral").points
    assert middle["upl"].eq(5.0).all()
    assert middle["outside_limits"].tolist() == [True] * 10 + [False] + [True] * 10
    assert middle["special_cause_type"].iloc[10] == "Common Cause"
    # unscreened the same series is ordinary: 1, 1, 3, 3, 3 with mean mR 0.5
    plain = spc.xmr_limits(values, screen_outliers=False)
    assert plain.upl == pytest.approx(2.2 + 2.66 * 0.5)


def test_flat_after_screening_with_a_target():
    # zero-width limits at 2.2: a target above them is consistently missed when more is better,
    # one below consistently met; one on them (2.2) is hit and miss.
    values = [1.0, 1.0, 3.0, 3.0, 3.0]
    assert spc.spc(values, target=3.0).assurance_type == "consistent_fail"
    assert spc.spc(values, target=1.0).assurance_type == "consistent_pass"
    assert spc.spc(values, target=2.2).assurance_type == "inconsistent"
    assert spc.spc(values, target=3.0, improvement_direction="decrease").assurance_type == (
        "consistent_pass"
    )
    # improvement classes follow the direction: more is better, so the 3s improve
    pts = spc.spc(values, target=3.0).points
    assert pts["point_type"].tolist() == (
        ["special_cause_concern"] * 2 + ["special_cause_improvement"] * 3
    )


def test_rule_outside_limits_is_strict():
    # values 0, 2, 0, 2, ... (12 points): mean 1, mR all 2 -> UPL = 1 + 5.32 = 6.32
    values = [0, 2] * 6
    assert not spc.spc(values).points["outside_limits"].any()
    # Appending 20: mean = 32 / 13 = 2.4615; mR: eleven 2s and 18 -> 40 / 12 = 3.333,
    # cut-off 10.89 screens the 18, mean mR = 2 -> UPL = 2.4615 + 5.32 = 7.78 < 20.
    result = spc.spc([*values, 20], improvement_direction="decrease")
    pts = result.points
    assert pts["outside_limits"].tolist() == [False] * 12 + [True]
    assert pts["special_cause_type"].iloc[-1] == "Above UCL"
    assert pts["point_type"].iloc[-1] == "special_cause_concern"
    assert result.variation_icon == "concern_high"


def test_point_exactly_on_limit_is_inside():
    # limits 0 +/- 3 (mean mR 3 / 2.66), 2-sigma lines +/- 2: points on a line are not beyond it
    limits = spc.XmrLimits(0.0, 3 / 2.66, -3.0, 3.0, -2.0, 2.0)
    outside, close, rtm = spc.position_against_limits([3.0, 3.5, -3.0, 2.0, 2.5, 0.0], limits)
    assert outside.tolist() == [False, True, False, False, False, False]
    assert close.tolist() == [True, False, True, False, True, False]
    assert rtm.tolist() == [1, 1, -1, 1, 1, 0]


def test_rule_trend_seven_rising_points_flags_all_seven():
    # 1..7 rising, then 1, 7, 1, 7, 1: mean = (28 + 17) / 12 = 3.75; mR six 1s and five 6s
    # -> 36 / 11 = 3.2727 (cut-off 10.69 keeps all); limits 3.75 +/- 8.705, so every point is
    # inside and the 2-sigma band (3.75 +/- 5.80) holds every point too.
    values = [1, 2, 3, 4, 5, 6, 7, 1, 7, 1, 7, 1]
    pts = spc.spc(values).points
    assert pts["upl"].iloc[0] == pytest.approx(3.75 + 2.66 * 36 / 11)
    assert pts["special_cause_type"].iloc[:7].tolist() == ["7 Point Trend (Increasing)"] * 7
    assert pts["point_type"].iloc[:7].eq("special_cause_improvement").all()
    assert pts["special_cause_type"].iloc[7:].eq("Common Cause").all()


def test_rule_trend_broken_by_a_tie():
    # 1,2,3,3,4,5,6: only 5 strict steps in the window -> no trend anywhere.
    assert spc.trend_window_ends([1, 2, 3, 3, 4, 5, 6, 7]).tolist() == [0] * 7 + [0]
    # 3,3,4,5,6,7,8,9: the last 7 points rise strictly -> the window ends at index 7.
    assert spc.trend_window_ends([3, 3, 4, 5, 6, 7, 8, 9]).tolist() == [0] * 7 + [1]


def test_rule_shift_seven_below_mean():
    # 7 points at 1 then 5 points at 10 alternating a little: mean = (7 + 50) / 12 = 4.75.
    values = [1, 1, 1, 1, 1, 1, 1, 10, 10, 10, 10, 10]
    pts = spc.spc(values, improvement_direction="increase").points
    # mR: six 0s, one 9, four 0s -> mean 9/11 = 0.818; cut-off 2.67 screens the 9 -> mR 0,
    # so the limits have zero width at the mean (as in NHSRplotthedots) and every point is
    # outside them, which takes precedence over the shift.
    assert pts["lpl"].eq(4.75).all() and pts["upl"].eq(4.75).all()
    assert pts["special_cause_type"].iloc[:7].eq("Below LCL").all()
    assert pts["point_type"].iloc[:7].eq("special_cause_concern").all()
    assert pts["special_cause_type"].iloc[7:].eq("Above UCL").all()
    # unscreened (the Making Data Count Excel tool) the limits are wide and the shift shows:
    # mean mR 9/11, limits 4.75 +/- 2.18, so 1 and 10 are outside; still, the run of 7 below
    plain = spc.spc(values, screen_outliers=False).points
    assert plain["upl"].iloc[0] == pytest.approx(4.75 + 2.66 * 9 / 11)
    assert plain["special_cause_type"].iloc[:7].eq("Below LCL").all()


def test_rule_shift_broken_by_point_on_mean():
    # rtm 1,1,1,0,1,1,1,1 -> no 7 in a row on one side
    assert spc.shift_window_ends([1, 1, 1, 0, 1, 1, 1, 1]).tolist() == [0] * 8


def test_rule_two_in_three_hand_worked():
    # Baseline alternating 0, 2 (12 points): mean 1, mR 2 -> 2-sigma line 1 + 1.7733*2 = 4.547,
    # UPL 6.32. Add 5, 1.5, 5 (two points in the 2-3 sigma band, all three above the mean).
    values = [0, 2] * 6 + [5, 1.5, 5]
    result = spc.spc(values)
    pts = result.points
    lim = spc.xmr_limits(values)
    # mean = (12 + 11.5) / 15 = 1.5667; mR: eleven 2s, 3, 3.5, 3.5 -> 32/14 = 2.2857
    assert lim.mean == pytest.approx(23.5 / 15)
    assert lim.mean_moving_range == pytest.approx(32 / 14)
    upper_close = 23.5 / 15 + 2.66 * 2 / 3 * 32 / 14  # 5.62: the 5s are NOT beyond it
    assert lim.upper_close == pytest.approx(upper_close)
    assert not pts["close_to_limits"].any()
    # With 6.5, 2, 6.5 instead the two 6.5s are between 2 and 3 sigma:
    values = [0, 2] * 6 + [6.5, 2, 6.5]
    # mean = 27/15 = 1.8; mR: 22 + 4.5 + 4.5 + 4.5 = 35.5 / 14 = 2.5357
    # 2-sigma = 1.8 + 1.7733 * 2.5357 = 6.2967 < 6.5 < UPL = 1.8 + 6.745 = 8.545
    pts = spc.spc(values).points
    assert pts["close_to_limits"].tolist() == [False] * 12 + [True, False, True]
    assert pts["relative_to_mean"].iloc[12:].tolist() == [1, 1, 1]
    # only the two close points are flagged, not the middle one
    assert pts["special_cause_type"].iloc[12:].tolist() == [
        "2 in 3 Above CL",
        "Common Cause",
        "2 in 3 Above CL",
    ]


def test_rule_precedence_outside_beats_trend():
    # A 7-point rise whose last point is both the end of a 7-point trend and outside the
    # limits; "outside" takes precedence for it, the other six stay a trend.
    # 1..6 then 30, then 1, 9, 1, 9, 1: mean = (21 + 30 + 21) / 12 = 6.
    # mR: five 1s, 24, 29, four 8s -> 90 / 11 = 8.18; cut-off 26.7 screens the 29 only,
    # mean mR = 61 / 10 = 6.1; UPL = 6 + 2.66 * 6.1 = 22.23 < 30, LPL = -10.23.
    values = [1, 2, 3, 4, 5, 6, 30, 1, 9, 1, 9, 1]
    pts = spc.spc(values).points
    assert pts["upl"].iloc[0] == pytest.approx(6 + 2.66 * 6.1)
    assert pts["special_cause_type"].iloc[6] == "Above UCL"
    assert pts["special_cause_type"].iloc[:6].eq("7 Point Trend (Increasing)").all()


def test_neutral_direction_colours_purple():
    values = [0, 2] * 6 + [20]
    result = spc.spc(values, improvement_direction="neutral")
    assert result.points["point_type"].iloc[-1] == "special_cause_neutral_high"
    assert result.points["colour"].iloc[-1] == "#490092"
    assert result.variation_icon == "neutral_high"
    assert result.assurance_type is None


def test_trial_limits_flagged_below_12_points():
    assert spc.spc([1, 2, 3, 2, 1]).points["trial_limits"].all()
    assert not spc.spc([1, 2] * 6).points["trial_limits"].any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"values": []}, "empty"),
        ({"values": [1, float("nan"), 2]}, "missing"),
        ({"values": [1, 2], "improvement_direction": "up"}, "improvement_direction"),
        ({"values": list(range(20)), "fix_after_n_points": 5}, "at least 12"),
        ({"values": [1, 2, 3], "x": ["a", "b"]}, "labels"),
        ({"values": [1, 2, 3], "rebase_at": [5]}, "outside the series"),
        ({"values": ["a", "b"]}, "numbers"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs, message):
    values = kwargs.pop("values")
    with pytest.raises(InputError, match=message):
        spc.spc(values, **kwargs)


# --- signals over the whole chart ---------------------------------------------------------

#: Limits fixed on 12 alternating points: mean 11, moving ranges all 2, so the limits are
#: 11 +/- 2.66 x 2 = 5.68 and 16.32 and the 2-sigma lines 11 +/- 3.547. The alternation gives
#: no run, trend or 2-of-3 pattern, and ending on a 10 stops a run above the mean there.
BASELINE = [12, 10] * 6


def test_signals_keep_a_run_whole_when_a_point_in_it_is_above_the_limit():
    # 8 points above the mean 11 (positions 12-19); 20 is above 16.32. The labels split the
    # run (position 14 is "Above UCL"), the signals do not.
    result = spc.spc(BASELINE + [13, 13, 20, 13, 13, 13, 13, 13], fix_after_n_points=12)
    labels = result.points["special_cause_type"].tolist()
    assert labels[12:] == ["7 Points Above CL"] * 2 + ["Above UCL"] + ["7 Points Above CL"] * 5
    signals = spc.special_cause_signals(result)
    assert signals[["rule", "side", "start", "end", "n_points"]].values.tolist() == [
        ["outside_limits", 1, 14, 14, 1],
        ["shift", 1, 12, 19, 8],
    ]
    # increase is good: higher points are improvement
    assert set(signals["point_type"]) == {"special_cause_improvement"}


def test_signals_find_a_trend_and_points_below_the_limit_as_lower_concern():
    # 10, 11, ..., 16 rises in 6 strict steps from position 11 (the last 10) to 17; 15 and 16
    # (positions 16, 17) are beyond the 2-sigma line 14.547 with 14 above the mean too (2 of
    # 3); 3 is below 5.68. With "increase" good, each is judged by its side.
    result = spc.spc(BASELINE + [11, 12, 13, 14, 15, 16, 3], fix_after_n_points=12)
    signals = spc.special_cause_signals(result)
    assert signals[["rule", "side", "start", "end", "point_type"]].values.tolist() == [
        ["outside_limits", -1, 18, 18, "special_cause_concern"],
        ["trend", 1, 11, 17, "special_cause_improvement"],
        ["two_in_three", 1, 16, 17, "special_cause_improvement"],
    ]


def test_signals_are_empty_for_common_cause_only():
    signals = spc.special_cause_signals(spc.spc(BASELINE))
    assert signals.empty
    assert list(signals.columns) == ["rule", "side", "start", "end", "n_points", "point_type"]


def _signal_members(signals) -> set[int]:
    return {
        i
        for start, end in zip(signals["start"], signals["end"], strict=True)
        for i in range(start, end + 1)
    }


@pytest.mark.parametrize("seed", range(40))
def test_signals_cover_exactly_the_flagged_points_and_stay_in_their_baseline(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 60))
    # Rounded values give ties and points on the mean; a level shift gives runs and outliers.
    values = np.round(rng.normal(10, 3, n) + np.where(np.arange(n) > n // 2, 4, 0))
    rebase = [int(rng.integers(1, n))] if seed % 2 else []
    result = spc.spc(values, rebase_at=rebase, improvement_direction="decrease")
    signals = spc.special_cause_signals(result)
    flagged = set(np.flatnonzero(result.points["special_cause_flag"].to_numpy()))
    assert _signal_members(signals) == flagged
    groups = result.points["rebase_group"].to_numpy()
    assert all(
        groups[s] == groups[e] for s, e in zip(signals["start"], signals["end"], strict=True)
    )


@pytest.mark.parametrize(
    "case", [c for c in CASES if "values" in c["inputs"]], ids=lambda c: c["id"]
)
def test_signals_cover_exactly_the_flagged_points_of_the_reference_series(case):
    inp = case["inputs"]
    result = spc.spc(
        inp["values"],
        improvement_direction=inp.get("improvement_direction", "increase"),
        screen_outliers=inp.get("screen_outliers", True),
    )
    flagged = set(np.flatnonzero(result.points["special_cause_flag"].to_numpy()))
    assert _signal_members(spc.special_cause_signals(result)) == flagged
