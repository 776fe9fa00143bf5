"""Statistical process control (XmR) charts in the NHS "Making Data Count" style.

The calculations follow METHODS.md 2.5, which records the semantics of the R package
NHSRplotthedots v0.2.2 that NHS analysts use, so a chart made here marks the same points as
one made there:

- centre line = mean; moving range ``mR_t = |x_t - x_(t-1)|``; process limits
  ``mean +/- 2.66 * mean(mR)``. With ``screen_outliers`` (the default) moving ranges of
  3.267 x mean(mR) or more are dropped once and the mean recomputed; ``False`` reproduces the
  Making Data Count Excel tool. Limits are not clipped. When the mean moving range is 0 the
  package's arithmetic is followed to the letter (``R/ptd_spc_standard.R``): a constant series
  screens out every moving range (none is below 3.267 x 0), so it has no limits (NaN); a
  series whose only non-zero moving ranges are screened out (``1, 1, 3, 3, 3``), or a constant
  one without screening, has zero-width limits at the mean, and every point off the mean is
  outside them.
- special causes, in order of precedence: a point outside a limit (strictly beyond it); a run of
  7 points with 6 strictly rising or falling steps (a tie breaks it); 2 of 3 consecutive points
  between 2 and 3 sigma (beyond ``mean +/- 1.773 * mean(mR)`` but inside the limits) with all
  three on the same side of the mean (only the 2-sigma points are flagged); 7 points in a row
  strictly on one side of the mean (a point on the mean breaks it). Runs are flagged in full.
- each point's class follows the improvement direction: ``common_cause``,
  ``special_cause_improvement``, ``special_cause_concern``, or
  ``special_cause_neutral_high``/``_low`` when no direction is good.
- the variation icon comes from the last point; assurance (needs a target) compares the target
  with the last limits. :func:`special_cause_signals` lists every signal on the chart (each
  rule found on its own), for captions that describe the whole chart and not only its end.

The rule primitives are public so they can be tested one by one against the package's own test
cases (``tests/data/spc/``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from medlib.errors import InputError

__all__ = [
    "ASSURANCE_TEXT",
    "MIN_POINTS",
    "SIGNAL_RULES",
    "SPC_COLOURS",
    "VARIATION_TEXT",
    "SpcResult",
    "XmrLimits",
    "assurance_type",
    "point_type",
    "position_against_limits",
    "rebase_groups",
    "run_members",
    "shift_window_ends",
    "spc",
    "special_cause_labels",
    "special_cause_signals",
    "trend_window_ends",
    "two_in_three_members",
    "two_in_three_windows",
    "variation_icon",
    "xmr_limits",
]

#: Making Data Count point colours (METHODS.md 2.5).
SPC_COLOURS = {
    "common_cause": "#A6A6A6",
    "special_cause_improvement": "#00B0F0",
    "special_cause_concern": "#E46C0A",
    "special_cause_neutral_high": "#490092",
    "special_cause_neutral_low": "#490092",
}

#: Distance of the process limits from the mean, in mean moving ranges (3 sigma).
LIMIT_FACTOR = 2.66
#: Two thirds of the limit distance (2 sigma): the "close to the limits" band.
CLOSE_FACTOR = 2 * LIMIT_FACTOR / 3
#: Moving ranges at or above this multiple of the mean moving range are screened out.
SCREEN_FACTOR = 3.267
#: Points needed for a run (shift or trend).
RUN_LENGTH = 7
#: Fewer points than this give only "trial" limits; fixed limits need at least this many.
MIN_POINTS = 12

DIRECTIONS = {"increase": 1, "decrease": -1, "neutral": 0}

_LABEL_ABOVE_UCL = "Above UCL"
_LABEL_BELOW_LCL = "Below LCL"
_LABEL_COMMON = "Common Cause"


# --- rule primitives ------------------------------------------------------------------------


def _as_array(values: Sequence[float] | np.ndarray | pd.Series, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numbers, got {values!r:.80}") from exc
    if array.ndim != 1:
        raise InputError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def shift_window_ends(relative_to_mean: Sequence[float]) -> np.ndarray:
    """1 at each point that ends 7 points in a row strictly on the same side of the mean.

    Args:
        relative_to_mean: Sign of each point against the mean (1 above, -1 below, 0 on it).

    Returns:
        0/1 integer array, same length; a 0 (a point on the mean) never ends a run.
    """
    rtm = _as_array(relative_to_mean, "relative_to_mean")
    out = np.zeros(len(rtm), dtype=int)
    for i in range(RUN_LENGTH - 1, len(rtm)):
        window = rtm[i - RUN_LENGTH + 1 : i + 1]
        out[i] = int(rtm[i] != 0 and bool(np.all(window == rtm[i])))
    return out


def trend_window_ends(values: Sequence[float]) -> np.ndarray:
    """+1 (rising) or -1 (falling) at each point that ends 7 points with 6 strict steps.

    A tie (two equal points) breaks a trend.
    """
    y = _as_array(values, "values")
    out = np.zeros(len(y), dtype=int)
    for i in range(RUN_LENGTH - 1, len(y)):
        steps = np.sign(np.diff(y[i - RUN_LENGTH + 1 : i + 1]))
        if np.all(steps == 1):
            out[i] = 1
        elif np.all(steps == -1):
            out[i] = -1
    return out


def run_members(window_ends: Sequence[float]) -> np.ndarray:
    """1 at every point belonging to a flagged run, given the points that end a run.

    A point is in a run when it, or one of the 6 points after it, ends a run, so the whole run
    (all 7 or more points) is flagged, not only its last point.
    """
    ends = _as_array(window_ends, "window_ends")
    out = np.zeros(len(ends), dtype=int)
    for i in range(len(ends)):
        out[i] = int(bool(np.any(ends[i : i + RUN_LENGTH] != 0)))
    return out


def two_in_three_windows(
    close_to_limits: Sequence[float], relative_to_mean: Sequence[float]
) -> np.ndarray:
    """1 at every point inside a 3-point window with 2+ close points all on one side.

    Args:
        close_to_limits: 1 where a point is between 2 and 3 sigma (inside the limits).
        relative_to_mean: Sign of each point against the mean.

    Returns:
        0/1 integer array: 1 where some window of 3 consecutive points containing this point
        has at least 2 close points and all 3 points strictly on the same side of the mean.
    """
    close = _as_array(close_to_limits, "close_to_limits")
    rtm = _as_array(relative_to_mean, "relative_to_mean")
    if len(close) != len(rtm):
        raise InputError(
            f"close_to_limits and relative_to_mean must be the same length, "
            f"got {len(close)} and {len(rtm)}"
        )
    n = len(close)
    padded_close = np.concatenate([[0, 0], close, [0, 0]])
    padded_rtm = np.concatenate([[0, 0], rtm, [0, 0]])
    out = np.zeros(n, dtype=int)
    for i in range(n):
        for start in (i, i + 1, i + 2):
            window = slice(start, start + 3)
            if padded_close[window].sum() >= 2 and abs(padded_rtm[window].sum()) == 3:
                out[i] = 1
                break
    return out


def two_in_three_members(windows: Sequence[float], close_to_limits: Sequence[float]) -> np.ndarray:
    """1 at the close points of a 2-in-3 window: only the 2-sigma points are flagged."""
    win = _as_array(windows, "windows")
    close = _as_array(close_to_limits, "close_to_limits")
    if len(win) != len(close):
        raise InputError(
            f"windows and close_to_limits must be the same length, got {len(win)} and {len(close)}"
        )
    return ((win == 1) & (np.abs(close) == 1)).astype(int)


def special_cause_labels(
    values: Sequence[float],
    relative_to_mean: Sequence[float],
    outside_limits: Sequence[float],
    trend_part: Sequence[float],
    two_in_three_part: Sequence[float],
    shift_part: Sequence[float],
) -> list[str]:
    """Name the special cause of each point, applying the rules' precedence.

    Precedence: outside a limit, then a 7-point trend, then 2 in 3 close to a limit, then a
    7-point shift; other points are "Common Cause". A trend point's direction comes from the
    step to its right when the next point is in the trend too, else from the step to its left.

    Returns:
        One label per point: ``"Above UCL"``, ``"Below LCL"``, ``"7 Point Trend (Increasing)"``,
        ``"7 Point Trend (Decreasing)"``, ``"2 in 3 Above CL"``, ``"2 in 3 Below CL"``,
        ``"7 Points Above CL"``, ``"7 Points Below CL"`` or ``"Common Cause"``.
    """
    y = _as_array(values, "values")
    arrays = {
        "relative_to_mean": _as_array(relative_to_mean, "relative_to_mean"),
        "outside_limits": _as_array(outside_limits, "outside_limits"),
        "trend_part": _as_array(trend_part, "trend_part"),
        "two_in_three_part": _as_array(two_in_three_part, "two_in_three_part"),
        "shift_part": _as_array(shift_part, "shift_part"),
    }
    bad = {k: len(v) for k, v in arrays.items() if len(v) != len(y)}
    if bad:
        raise InputError(f"every input must have {len(y)} values like values; got lengths {bad}")
    rtm, outside = arrays["relative_to_mean"], arrays["outside_limits"]
    trend, two3, shift = arrays["trend_part"], arrays["two_in_three_part"], arrays["shift_part"]
    steps = np.sign(np.diff(y))
    right_step = np.concatenate([steps, steps[-1:]]) if len(steps) else np.zeros(len(y))
    left_step = np.concatenate([[0.0], steps])[: len(y)]
    next_in_trend = np.concatenate([trend[1:], [0.0]]) != 0
    direction = np.where(next_in_trend & (trend != 0), right_step, left_step)

    labels = []
    for i in range(len(y)):
        side = "Above" if rtm[i] > 0 else "Below"
        if outside[i] != 0:
            labels.append(_LABEL_ABOVE_UCL if rtm[i] == 1 else _LABEL_BELOW_LCL)
        elif trend[i] != 0:
            labels.append(f"7 Point Trend ({'In' if direction[i] == 1 else 'De'}creasing)")
        elif two3[i] != 0:
            labels.append(f"2 in 3 {side} CL")
        elif shift[i] != 0:
            labels.append(f"7 Points {side} CL")
        else:
            labels.append(_LABEL_COMMON)
    return labels


def point_type(label: str, improvement_direction: str) -> str:
    """The Making Data Count class of a point from its special-cause label.

    Args:
        label: From :func:`special_cause_labels`.
        improvement_direction: ``"increase"``, ``"decrease"`` or ``"neutral"``.

    Example:
        >>> point_type("Above UCL", "decrease")
        'special_cause_concern'
    """
    sign = _direction(improvement_direction)
    if "Above" in label or "Increasing" in label:
        side = 1
    elif "Below" in label or "Decreasing" in label:
        side = -1
    else:
        return "common_cause"
    if sign == 0:
        return "special_cause_neutral_high" if side > 0 else "special_cause_neutral_low"
    return "special_cause_improvement" if side * sign > 0 else "special_cause_concern"


def _direction(improvement_direction: str) -> int:
    if improvement_direction not in DIRECTIONS:
        raise InputError(
            f"improvement_direction must be one of {sorted(DIRECTIONS)}, "
            f"got {improvement_direction!r}"
        )
    return DIRECTIONS[improvement_direction]


# --- limits -------------------------------------------------------------------------------


@dataclass(frozen=True)
class XmrLimits:
    """Centre line and limits of one XmR baseline.

    Attributes:
        mean: Centre line.
        mean_moving_range: Mean moving range after any screening (NaN with < 2 points).
        lpl: Lower process limit (mean - 2.66 x mean moving range); NaN when there is no
            variation to estimate limits from.
        upl: Upper process limit.
        lower_close: Lower 2-sigma line (mean - 1.773 x mean moving range).
        upper_close: Upper 2-sigma line.
    """

    mean: float
    mean_moving_range: float
    lpl: float
    upl: float
    lower_close: float
    upper_close: float


def xmr_limits(
    values: Sequence[float], screen_outliers: bool = True, fix_after_n_points: int | None = None
) -> XmrLimits:
    """Centre line and process limits of an XmR chart.

    Args:
        values: The series, in time order, no missing values.
        screen_outliers: Drop moving ranges >= 3.267 x their mean once, then recompute the mean
            (NHSRplotthedots default); ``False`` reproduces the Making Data Count Excel tool.
        fix_after_n_points: Compute the mean and limits from the first n points only.

    Returns:
        The limits. A single point, or a constant series with ``screen_outliers`` (every moving
        range of 0 is screened out, as ``mR < 3.267 x 0`` never holds), has NaN limits. When
        the mean moving range left is 0 (``1, 1, 3, 3, 3``: the 2 is screened out; or a
        constant series unscreened) the limits have zero width at the mean, as in
        NHSRplotthedots (``R/ptd_spc_standard.R`` computes ``mean +/- 2.66 x amr`` with
        ``amr = 0``), so every point off the mean is outside them.
    """
    y = _as_array(values, "values")
    if len(y) == 0:
        raise InputError("values is empty: an XmR chart needs at least one point")
    if fix_after_n_points is not None:
        y = y[:fix_after_n_points]
    mean = float(np.mean(y))
    moving_ranges = np.abs(np.diff(y))
    if len(moving_ranges) == 0:
        amr = float("nan")
    else:
        amr = float(np.mean(moving_ranges))
        if screen_outliers:
            # Strictly below: a moving range equal to the cut-off is screened out too, so with
            # a mean of 0 every moving range goes and the mean of none is NaN (as in R).
            kept = moving_ranges[moving_ranges < SCREEN_FACTOR * amr]
            amr = float(np.mean(kept)) if len(kept) else float("nan")
    if not np.isfinite(amr):
        nan = float("nan")
        return XmrLimits(mean, amr, nan, nan, nan, nan)
    return XmrLimits(
        mean=mean,
        mean_moving_range=amr,
        lpl=mean - LIMIT_FACTOR * amr,
        upl=mean + LIMIT_FACTOR * amr,
        lower_close=mean - CLOSE_FACTOR * amr,
        upper_close=mean + CLOSE_FACTOR * amr,
    )


def position_against_limits(
    values: Sequence[float], limits: XmrLimits
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each point sits against the limits.

    Returns:
        ``(outside, close, relative_to_mean)``: ``outside`` is True strictly beyond a process
        limit (a point on a limit is inside); ``close`` is True strictly beyond a 2-sigma line
        but not outside; ``relative_to_mean`` is the sign of ``value - mean``. With NaN limits
        no point is outside or close.
    """
    y = _as_array(values, "values")
    with np.errstate(invalid="ignore"):
        outside = (y > limits.upl) | (y < limits.lpl)
        close = ~outside & ((y < limits.lower_close) | (y > limits.upper_close))
    return outside, close, np.sign(y - limits.mean).astype(int)


def rebase_groups(n: int, rebase_at: Sequence[int] = ()) -> np.ndarray:
    """Baseline number of each of ``n`` points, starting a new baseline at each position.

    Example:
        >>> rebase_groups(5, [2]).tolist()
        [0, 0, 1, 1, 1]
    """
    starts = np.zeros(n, dtype=int)
    for pos in rebase_at:
        if not 0 <= int(pos) < n:
            raise InputError(f"rebase position {pos} is outside the series (0..{n - 1})")
        if int(pos) > 0:
            starts[int(pos)] = 1
    return np.cumsum(starts)


# --- the chart ----------------------------------------------------------------------------


def assurance_type(
    lpl: float, upl: float, target: float | None, improvement_direction: str
) -> str | None:
    """Whether the process will consistently meet a target, from the (last) process limits.

    For an "increase is good" measure a target above the upper limit will consistently fail and
    one below the lower limit will consistently pass; otherwise it is "inconsistent" (hit and
    miss), including a target exactly on a limit. Flipped for "decrease". Zero-width limits
    compare like any others. Without limits (a constant series) the comparisons fail and the
    answer is "inconsistent", as in NHSRplotthedots (``R/ptd_calculate_assurance_type.R``: a
    ``case_when`` whose missing comparisons fall through to ``TRUE ~ "inconsistent"``).

    Returns:
        ``"consistent_pass"``, ``"consistent_fail"``, ``"inconsistent"``, or None when there is
        no target or the direction is neutral.

    Example:
        >>> assurance_type(2.2, 2.2, 3.0, "increase")  # zero-width limits at 2.2
        'consistent_fail'
    """
    sign = _direction(improvement_direction)
    if target is None or pd.isna(target) or sign == 0:
        return None
    if pd.isna(lpl) or pd.isna(upl):
        return "inconsistent"
    if target > upl:
        return "consistent_fail" if sign > 0 else "consistent_pass"
    if target < lpl:
        return "consistent_pass" if sign > 0 else "consistent_fail"
    return "inconsistent"


def variation_icon(last_point_type: str, improvement_direction: str) -> str:
    """The Making Data Count variation icon for a chart whose last point has this class.

    Returns:
        ``common_cause``, ``improvement_high``, ``improvement_low``, ``concern_high``,
        ``concern_low``, ``neutral_high`` or ``neutral_low``.
    """
    sign = _direction(improvement_direction)
    if last_point_type == "common_cause":
        return "common_cause"
    if last_point_type in ("special_cause_neutral_high", "special_cause_neutral_low"):
        return last_point_type.removeprefix("special_cause_")
    if last_point_type == "special_cause_improvement":
        return "improvement_high" if sign > 0 else "improvement_low"
    if last_point_type == "special_cause_concern":
        return "concern_low" if sign > 0 else "concern_high"
    raise InputError(f"unknown point type {last_point_type!r}")


#: Plain-English meaning of each variation icon, for chart subtitles and report prose.
VARIATION_TEXT = {
    "common_cause": "common cause variation only: no sign of change",
    "improvement_high": "special cause: improvement, higher than expected",
    "improvement_low": "special cause: improvement, lower than expected",
    "concern_high": "special cause: concern, higher than expected",
    "concern_low": "special cause: concern, lower than expected",
    "neutral_high": "special cause: higher than expected",
    "neutral_low": "special cause: lower than expected",
}
ASSURANCE_TEXT = {
    "consistent_pass": "the process will consistently meet the target",
    "consistent_fail": "the process will consistently miss the target",
    "inconsistent": "the process will sometimes meet and sometimes miss the target",
}


@dataclass(frozen=True)
class SpcResult:
    """An XmR chart's points and settings.

    Attributes:
        points: One row per point: ``x, y, rebase_group, mean, lpl, upl, lower_close,
            upper_close, outside_limits, relative_to_mean, close_to_limits,
            special_cause_type, special_cause_flag, point_type, colour, trial_limits``.
        improvement_direction: ``"increase"``, ``"decrease"`` or ``"neutral"``.
        target: Target value, or None.
    """

    points: pd.DataFrame
    improvement_direction: str
    target: float | None = None

    @property
    def last_point_type(self) -> str:
        """Class of the last point."""
        return str(self.points["point_type"].iloc[-1])

    @property
    def variation_icon(self) -> str:
        """Variation icon category, from the last point."""
        return variation_icon(self.last_point_type, self.improvement_direction)

    @property
    def assurance_type(self) -> str | None:
        """Assurance against the target, from the last limits (None without a target)."""
        last = self.points.iloc[-1]
        return assurance_type(last["lpl"], last["upl"], self.target, self.improvement_direction)

    def summary(self) -> pd.DataFrame:
        """One row per baseline: limits, point counts, variation type, assurance.

        Columns: ``rebase_group, mean, lpl, upl, n, common_cause, special_cause_improvement,
        special_cause_concern, variation_type`` (class of the baseline's last point) and
        ``assurance_type`` (last baseline only).
        """
        rows = []
        groups = self.points.groupby("rebase_group", sort=True)
        last_group = self.points["rebase_group"].max()
        for group, frame in groups:
            rows.append(
                {
                    "rebase_group": int(group),
                    "mean": frame["mean"].iloc[0],
                    "lpl": frame["lpl"].iloc[0],
                    "upl": frame["upl"].iloc[0],
                    "n": len(frame),
                    "common_cause": int((~frame["special_cause_flag"]).sum()),
                    "special_cause_improvement": int(
                        (frame["point_type"] == "special_cause_improvement").sum()
                    ),
                    "special_cause_concern": int(
                        (frame["point_type"] == "special_cause_concern").sum()
                    ),
                    "variation_type": frame["point_type"].iloc[-1],
                    "assurance_type": self.assurance_type if group == last_group else None,
                }
            )
        return pd.DataFrame(rows)


def spc(
    values: Sequence[float] | pd.Series,
    x: Sequence[object] | pd.Series | None = None,
    *,
    improvement_direction: str = "increase",
    target: float | None = None,
    rebase_at: Sequence[int] = (),
    screen_outliers: bool = True,
    fix_after_n_points: int | None = None,
) -> SpcResult:
    """Build an XmR chart: limits, special-cause rules and point classes.

    Args:
        values: The series in time order; no missing values.
        x: Labels of the points (e.g. months); defaults to 0..n-1.
        improvement_direction: Which way is good: ``"increase"``, ``"decrease"`` or
            ``"neutral"`` (e.g. spend, where neither is good in itself).
        target: Optional target, for the assurance icon.
        rebase_at: Positions where a new baseline starts (e.g. a merger or a switch launch);
            limits and rules are computed separately in each baseline.
        screen_outliers: Screen large moving ranges (see :func:`xmr_limits`).
        fix_after_n_points: Compute each baseline's limits from its first n points; at least 12.

    Returns:
        An :class:`SpcResult`.

    Raises:
        InputError: Empty or non-numeric values, missing values, lengths that differ, an unknown
            direction, or ``fix_after_n_points`` below 12.
    """
    y = _as_array(values, "values")
    if len(y) == 0:
        raise InputError("values is empty: an XmR chart needs at least one point")
    if np.isnan(y).any():
        raise InputError(
            f"values has {int(np.isnan(y).sum())} missing value(s); an XmR chart needs a "
            "complete series (fill or drop the gaps first)"
        )
    _direction(improvement_direction)
    if fix_after_n_points is not None and fix_after_n_points < MIN_POINTS:
        raise InputError(
            f"fix_after_n_points must be at least {MIN_POINTS}, got {fix_after_n_points}"
        )
    labels = list(range(len(y))) if x is None else list(x)
    if len(labels) != len(y):
        raise InputError(f"x has {len(labels)} labels but values has {len(y)} points")

    groups = rebase_groups(len(y), rebase_at)
    frames = []
    for group in np.unique(groups):
        idx = np.flatnonzero(groups == group)
        frames.append(_baseline(y[idx], screen_outliers, fix_after_n_points, improvement_direction))
    points = pd.concat(frames, ignore_index=True)
    points.insert(0, "x", labels)
    points.insert(2, "rebase_group", groups)
    return SpcResult(points=points, improvement_direction=improvement_direction, target=target)


def _baseline(
    y: np.ndarray, screen_outliers: bool, fix_after_n_points: int | None, direction: str
) -> pd.DataFrame:
    limits = xmr_limits(y, screen_outliers, fix_after_n_points)
    outside, close, rtm = position_against_limits(y, limits)

    trend_part = run_members(trend_window_ends(y))
    two3_part = two_in_three_members(two_in_three_windows(close, rtm), close)
    shift_part = run_members(shift_window_ends(rtm))
    labels = special_cause_labels(y, rtm, outside, trend_part, two3_part, shift_part)
    types = [point_type(label, direction) for label in labels]
    return pd.DataFrame(
        {
            "y": y,
            "mean": limits.mean,
            "lpl": limits.lpl,
            "upl": limits.upl,
            "lower_close": limits.lower_close,
            "upper_close": limits.upper_close,
            "outside_limits": outside,
            "relative_to_mean": rtm,
            "close_to_limits": close,
            "special_cause_type": labels,
            "special_cause_flag": [label != _LABEL_COMMON for label in labels],
            "point_type": types,
            "colour": [SPC_COLOURS[t] for t in types],
            "trial_limits": len(y) < MIN_POINTS,
        }
    )


# --- the signals on a chart -----------------------------------------------------------------

#: Special-cause rules in order of precedence, as :func:`special_cause_signals` names them.
SIGNAL_RULES = ("outside_limits", "trend", "two_in_three", "shift")


def _runs(codes: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal runs of one non-zero code: ``(first, last, code)``, positions inclusive."""
    runs = []
    start = 0
    for i in range(1, len(codes) + 1):
        if i == len(codes) or codes[i] != codes[start]:
            if codes[start] != 0:
                runs.append((start, i - 1, int(codes[start])))
            start = i
    return runs


def _side_type(side: int, improvement_direction: str) -> str:
    label = _LABEL_ABOVE_UCL if side > 0 else _LABEL_BELOW_LCL
    return point_type(label, improvement_direction)


def special_cause_signals(result: SpcResult) -> pd.DataFrame:
    """Every special-cause signal on a chart, so a caption can say what the whole chart shows.

    Each point's label keeps only its rule of highest precedence, so a run of 8 points above
    the mean that includes a point above the upper limit is labelled in two parts; here each
    rule is found on its own, in each baseline, from the chart's points with the same rule
    primitives (so every flagged point is in at least one signal, and no other point is).

    Returns:
        One row per maximal group of consecutive points making a signal, in rule precedence
        then position order: ``rule`` (one of :data:`SIGNAL_RULES`), ``side`` (1 higher or
        rising, -1 lower or falling), ``start`` and ``end`` (positions in the series,
        inclusive), ``n_points`` and ``point_type`` (the class the side gives under the chart's
        improvement direction). A run of 7 or more on one side of the mean, or of 6 or more
        strict steps, is one row with its full length; points outside a limit or in a 2-of-3
        pattern are grouped only when they are consecutive, so count them with ``n_points``.

    Example:
        >>> result = spc([10, 20] * 6 + [80], improvement_direction="decrease")
        >>> special_cause_signals(result)[["rule", "side", "start", "n_points"]].values.tolist()
        [['outside_limits', 1, 12, 1]]
    """
    pts = result.points
    found: dict[str, list[tuple[int, int, int]]] = {rule: [] for rule in SIGNAL_RULES}
    for _, frame in pts.groupby("rebase_group", sort=True):
        first = int(frame.index[0])
        y = frame["y"].to_numpy(dtype=float)
        rtm = frame["relative_to_mean"].to_numpy(dtype=int)
        outside = frame["outside_limits"].to_numpy(dtype=bool)
        close = frame["close_to_limits"].to_numpy(dtype=bool)
        two3 = two_in_three_members(two_in_three_windows(close, rtm), close).astype(bool)
        per_point = {
            "outside_limits": np.where(outside, rtm, 0),
            "two_in_three": np.where(two3, rtm, 0),
        }
        for rule, codes in per_point.items():
            found[rule] += [(first + a, first + b, s) for a, b, s in _runs(codes)]
        found["shift"] += [
            (first + a, first + b, s) for a, b, s in _runs(rtm) if b - a + 1 >= RUN_LENGTH
        ]
        # A trend is a run of equal strict steps; step k joins points k and k + 1.
        steps = np.sign(np.diff(y)).astype(int) if len(y) > 1 else np.zeros(0, dtype=int)
        found["trend"] += [
            (first + a, first + b + 1, s) for a, b, s in _runs(steps) if b - a + 1 >= RUN_LENGTH - 1
        ]
    rows = [
        {
            "rule": rule,
            "side": side,
            "start": start,
            "end": end,
            "n_points": end - start + 1,
            "point_type": _side_type(side, result.improvement_direction),
        }
        for rule in SIGNAL_RULES
        for start, end, side in sorted(found[rule])
    ]
    columns = ["rule", "side", "start", "end", "n_points", "point_type"]
    return pd.DataFrame(rows, columns=columns).astype(
        {"side": int, "start": int, "end": int, "n_points": int}
    )
