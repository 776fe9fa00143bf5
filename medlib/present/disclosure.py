"""Statistical disclosure control for every patient count shown to leads.

The policy starts from the NHS Digital HES rule (METHODS.md 2.7) and closes the ways a reader
could work a hidden count back from what is shown:

- **counts**: 1 to 7 are shown as ``*``; every other count is rounded to the nearest 5. Zero is a
  true zero and is shown as 0.
- **secondary suppression**: where cells add up to a published total (a row of bands beside
  its "all" total, rows adding up to a total row, counts in one table adding up to a count in
  another), a total must never have exactly one ``*`` among its non-zero cells, or the reader
  gets that cell by subtraction. :func:`complementary_suppression` shows the smallest other
  non-zero part as ``*`` too (the total itself only when no part is left), and goes on while
  the rounding windows of what is shown would still pin a cell to one value.
- **percentages** are computed from the *published* counts (rounded or ``*``), never from the
  raw ones, so a percentage tells the reader nothing the counts beside it do not. A
  percentage is ``*`` when its numerator or denominator is; 0 of a published denominator is
  0.0%; a zero denominator gives no percentage (None).
- **derived statistics** (funnel limits, targets met) are computed from the published counts
  for the same reason; callers pass published counts (see :func:`published_counts`).

This module is the one place the rule lives: lead-facing tables, prose and chart labels call it,
the report guard checks for anything that slipped past it, and
:mod:`medlib.present.disclosure_check` tries to work back every hidden count of a published table.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "POLICY",
    "POLICY_MARKDOWN",
    "ROUND_TO",
    "SMALL_MAX",
    "SUPPRESSED",
    "Group",
    "RowGroup",
    "complementary_suppression",
    "disclose_count",
    "disclose_counts",
    "disclose_percentage",
    "disclose_table",
    "is_suppressed",
    "published_counts",
    "shown_range",
]

SUPPRESSED = "*"
SMALL_MAX = 7
ROUND_TO = 5
POLICY = (
    "NHS Digital HES rule: patient counts 1-7 shown as '*', all other counts rounded to the "
    "nearest 5; where a '*' could be worked out from a total, another count of that total is "
    "shown as '*' too; percentages and funnel limits are computed from the counts as shown, and "
    "a percentage is '*' when its numerator or denominator is."
)
#: :data:`POLICY` for Markdown text: each ``*`` escaped, so it shows as an asterisk instead of
#: turning the words between two of them into italics.
POLICY_MARKDOWN = POLICY.replace("*", "\\*")

Count = float | int | str | None


def _round_half_up(value: float, base: int) -> int:
    # Python's round() is banker's rounding; the HES rule rounds halves away from zero.
    return int(math.floor(value / base + 0.5) * base)


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def is_suppressed(count: Count) -> bool:
    """Whether a count is shown as ``*``: a raw count of 1-7, or ``"*"`` itself.

    Example:
        >>> [is_suppressed(n) for n in (0, 3, 8, "*", None)]
        [False, True, False, True, False]
    """
    if _missing(count):
        return False
    if isinstance(count, str):
        return count == SUPPRESSED
    return 0 < float(count) <= SMALL_MAX


def disclose_count(count: Count, suppress: bool = False) -> int | str | None:
    """Apply the HES rule to one count.

    The rule is idempotent: a count that has already been disclosed (a multiple of 5, 0 or
    ``"*"``) comes back unchanged, so callers may pass raw or published counts.

    Args:
        count: A raw count of patients, a published one, or None/NaN for missing.
        suppress: Show the count as ``*`` whatever it is, because
            :func:`complementary_suppression` chose it; a zero stays 0 (a zero hides nothing).

    Returns:
        ``"*"`` for 1-7 (or when ``suppress``), the count rounded to the nearest 5 otherwise,
        ``None`` if missing.

    Raises:
        ValueError: The count is negative or a string other than ``"*"``.

    Example:
        >>> [disclose_count(n) for n in (0, 3, 7, 8, 12, 13, "*")]
        [0, '*', '*', 10, 10, 15, '*']
        >>> disclose_count(40, suppress=True), disclose_count(0, suppress=True)
        ('*', 0)
    """
    if _missing(count):
        return None
    if isinstance(count, str):
        if count != SUPPRESSED:
            raise ValueError(f"a count must be a number or {SUPPRESSED!r}, got {count!r}")
        return SUPPRESSED
    if count < 0:
        raise ValueError(f"a count cannot be negative, got {count}")
    if is_suppressed(count) or (suppress and count > 0):
        return SUPPRESSED
    return _round_half_up(float(count), ROUND_TO)


def disclose_percentage(
    numerator: Count, denominator: Count, decimals: int = 1
) -> float | str | None:
    """A percentage computed from the published counts, ``*`` when either is suppressed.

    Both counts are disclosed first (:func:`disclose_count`; already-published counts pass
    through unchanged) and the percentage is the published numerator over the published
    denominator, so it reveals nothing the shown counts do not: a reader multiplying it by the
    shown denominator gets the shown numerator back, never the raw one.

    Args:
        numerator: Raw or published count (``"*"`` when suppressed, for instance by
            :func:`complementary_suppression`).
        denominator: Raw or published count.
        decimals: Decimal places.

    Returns:
        The percentage; ``"*"`` when the numerator or the denominator is suppressed; 0.0 for a
        zero numerator; None when a count is missing or the denominator is 0.

    Example:
        >>> disclose_percentage(9, 220)  # 9 -> 10 and 220 -> 220: 10/220, not 9/220 (4.1%)
        4.5
        >>> disclose_percentage(3, 40), disclose_percentage(0, 20), disclose_percentage(0, 0)
        ('*', 0.0, None)
    """
    num, den = disclose_count(numerator), disclose_count(denominator)
    if num is None or den is None:
        return None
    if num == SUPPRESSED or den == SUPPRESSED:
        return SUPPRESSED
    if den == 0:
        return None
    return round(100.0 * float(num) / float(den), decimals)


def disclose_counts(values: Iterable[Count]) -> list[int | str | None]:
    """Apply :func:`disclose_count` to every value."""
    return [disclose_count(v) for v in values]


def shown_range(shown: Count) -> tuple[int, float] | None:
    """The raw counts a reader knows a published count can stand for (both ends included).

    ``*`` stands for 1 or more (1-7, or any count hidden by secondary suppression), 0 for 0,
    and a rounded count ``r`` for ``r - 2`` to ``r + 2``. None for a missing count.

    Example:
        >>> shown_range(0), shown_range(10), shown_range("*")
        ((0, 0), (8, 12), (1, inf))
    """
    value = disclose_count(shown)
    if value is None:
        return None
    if value == SUPPRESSED:
        return 1, math.inf
    if value == 0:
        return 0, 0
    half = ROUND_TO // 2
    return int(value) - half, int(value) + half


@dataclass(frozen=True)
class Group:
    """Cells that add up to a published total: ``total = sum(parts)``.

    Attributes:
        total: Key of the total cell.
        parts: Keys of the cells adding up to it.
    """

    total: Hashable
    parts: tuple[Hashable, ...]


def _finite_sum(values: Sequence[float]) -> tuple[float, int]:
    """The finite part of a sum and how many of its terms are infinite."""
    finite = [v for v in values if not math.isinf(v)]
    return float(sum(finite)), len(values) - len(finite)


def _sum_without(total: tuple[float, int], value: float) -> float:
    """A sum from :func:`_finite_sum` less one of its terms."""
    finite, infinite = total
    if math.isinf(value):
        infinite -= 1
    else:
        finite -= value
    return math.inf if infinite else finite


def _pins(windows: Sequence[tuple[float, float]]) -> bool:
    """Whether the shown windows of ``parts..., total`` pin a cell to one value.

    Interval reasoning on ``total = sum(parts)``, repeated until nothing narrows: what a reader
    can get from the shown cells of this one total. Lower ends are finite; upper ends of
    ``*`` cells are infinite.
    """
    lo = [float(w[0]) for w in windows]
    hi = [float(w[1]) for w in windows]
    exact = [a == b for a, b in windows]
    for _ in range(4 * len(windows)):
        before = (list(lo), list(hi))
        parts_lo = sum(lo[:-1])
        parts_hi = _finite_sum(hi[:-1])
        lo[-1] = max(lo[-1], parts_lo)
        hi[-1] = min(hi[-1], _sum_without(parts_hi, 0.0))
        for i in range(len(windows) - 1):
            lo[i] = max(lo[i], lo[-1] - _sum_without(parts_hi, hi[i]))
            hi[i] = min(hi[i], hi[-1] - (parts_lo - lo[i]))
        if any(a > b for a, b in zip(lo, hi, strict=True)):
            return False  # windows that contradict each other pin nothing for certain
        if (lo, hi) == before:
            break
    return any(a == b and not e for a, b, e in zip(lo, hi, exact, strict=True))


def complementary_suppression(
    counts: Mapping[Hashable, Count],
    groups: Iterable[Group],
    suppressed: Iterable[Hashable] = (),
) -> frozenset[Hashable]:
    """Which cells to show as ``*``: the 1-7 counts and the complementary cells protecting them.

    A total with exactly one ``*`` among its non-zero cells gives that cell away by
    subtraction, so the smallest other non-zero part is suppressed too (ties go to the first
    listed; the total itself only when no part is left). The same happens when the rounding
    windows of the shown cells would pin any cell of the total to one value (for instance
    four counts shown as 10, each at least 8, beside a total shown as 30, at most 32). Groups
    are revisited until none needs more, since a cell hidden for one total is a part of
    another. Zeros are never suppressed: a zero is shown as it is.

    Args:
        counts: Raw count of every cell (None/NaN for missing), by key.
        groups: The totals and their parts, as keys of ``counts``. A missing part counts as
            0 (a reader sees nothing there); a group whose total is missing is skipped.
        suppressed: Cells already hidden for another reason (for instance by a plan spanning
            tables).

    Returns:
        Keys of every cell to show as ``*``.

    Raises:
        KeyError: A group names a key that is not in ``counts``.

    Example:
        >>> counts = {"a": 3, "b": 40, "c": 25, "all": 68}
        >>> sorted(complementary_suppression(counts, [Group("all", ("a", "b", "c"))]))
        ['a', 'c']
    """
    groups = list(groups)
    hidden = {k for k, v in counts.items() if is_suppressed(v)} | set(suppressed)
    for group in groups:
        for key in (group.total, *group.parts):
            if key not in counts:
                raise KeyError(f"group {group} names {key!r}, which has no count")

    def value(key: Hashable) -> float:
        return float(counts[key])  # type: ignore[arg-type]

    changed = True
    while changed:
        changed = False
        for group in groups:
            if _missing(counts[group.total]):
                continue
            cells = [k for k in (*group.parts, group.total) if not _missing(counts[k])]
            live = [k for k in cells if value(k) > 0]
            n_hidden = sum(k in hidden for k in live)
            windows = [shown_range(SUPPRESSED if k in hidden else counts[k]) for k in cells]
            windows = [(0, 0) if value(k) == 0 else w for k, w in zip(cells, windows, strict=True)]
            if n_hidden != 1 and not _pins(windows):  # type: ignore[arg-type]
                continue
            candidates = [k for k in group.parts if k in live and k not in hidden]
            if not candidates and group.total in live and group.total not in hidden:
                candidates = [group.total]
            if candidates:
                hidden.add(min(candidates, key=value))  # min keeps the first of equal values
                changed = True
    return frozenset(hidden)


@dataclass(frozen=True)
class RowGroup:
    """Rows of a table that add up to a total row, for :func:`disclose_table`.

    Attributes:
        column: The column naming each row's place in the total (e.g. ``"age_band"``).
        total: Its value in the total row (e.g. ``"all ages"``).
        parts: Its values in the rows adding up to the total (several rows may share one).
        within: Columns that must match between the parts and their total (e.g. the measure),
            so each combination of their values is a separate total.
        columns: Count columns the rows add up in; None for every count column of the table.
    """

    column: str
    total: object
    parts: tuple[object, ...]
    within: tuple[str, ...] = ()
    columns: tuple[str, ...] | None = None


def _table_groups(
    df: pd.DataFrame,
    cells: Sequence[str],
    column_groups: Mapping[str, Sequence[str]],
    row_groups: Sequence[RowGroup],
) -> list[Group]:
    groups = [
        Group((i, total), tuple((i, p) for p in parts))
        for total, parts in column_groups.items()
        for i in range(len(df))
    ]
    for rg in row_groups:
        keys = (
            df[list(rg.within)].apply(tuple, axis=1)
            if rg.within
            else pd.Series([()] * len(df), index=df.index)
        )
        for key in dict.fromkeys(keys):
            same = (keys == key).to_numpy()
            totals = [i for i in range(len(df)) if same[i] and df[rg.column].iloc[i] == rg.total]
            parts = [i for i in range(len(df)) if same[i] and df[rg.column].iloc[i] in rg.parts]
            if len(totals) != 1 or not parts:
                if len(totals) > 1:
                    raise ValueError(f"{len(totals)} total rows for {rg} at {key}; expected one")
                continue
            for col in rg.columns if rg.columns is not None else cells:
                groups.append(Group((totals[0], col), tuple((i, col) for i in parts)))
    return groups


def disclose_table(
    df: pd.DataFrame,
    count_columns: Iterable[str],
    percentage_columns: Mapping[str, tuple[str, str]] | None = None,
    decimals: int = 1,
    *,
    column_groups: Mapping[str, Sequence[str]] | None = None,
    row_groups: Sequence[RowGroup] = (),
    suppressed: Iterable[tuple[Hashable, str]] = (),
) -> pd.DataFrame:
    """Return a lead-facing copy of ``df`` with disclosure control applied.

    Args:
        df: Table with raw patient counts (and a unique index).
        count_columns: Columns holding patient counts that are shown.
        percentage_columns: ``{output_column: (numerator_column, denominator_column)}``;
            each output column is computed from the published numerator and denominator.
            The numerator need not be a shown column (a share of a shown count); it still
            takes part in secondary suppression.
        decimals: Decimal places for percentages.
        column_groups: ``{total_column: part_columns}``: in every row the parts add up to the
            total (e.g. medicine-count bands adding up to the row's patients).
        row_groups: Rows adding up to a total row (see :class:`RowGroup`).
        suppressed: ``(index label, column)`` cells to show as ``*`` whatever they hold
            (chosen by a plan spanning several tables).

    Returns:
        A copy in which count columns and percentage columns are object columns holding
        rounded integers, ``"*"`` or None. Secondary suppression (:func:`complementary_suppression`)
        is applied over the groups given.

    Example:
        >>> df = pd.DataFrame({"band": ["a", "b", "c", "all"], "n": [3, 40, 25, 68]})
        >>> out = disclose_table(df, ["n"], row_groups=[RowGroup("band", "all", ("a", "b", "c"))])
        >>> out["n"].tolist()  # c (25) is the smallest other part: hidden, or a = 68 - 40 - 25
        ['*', 40, '*', 70]
    """
    count_columns = list(count_columns)
    percentage_columns = dict(percentage_columns or {})
    column_groups = dict(column_groups or {})
    if not df.index.is_unique:
        raise ValueError("disclose_table needs a table with a unique index")
    cells = list(
        dict.fromkeys(
            [
                *count_columns,
                *(c for pair in percentage_columns.values() for c in pair),
                *column_groups,
                *(c for parts in column_groups.values() for c in parts),
            ]
        )
    )
    raw = {(i, c): df[c].iloc[i] for c in cells for i in range(len(df))}
    forced = [(df.index.get_loc(label), col) for label, col in suppressed]
    hidden = complementary_suppression(
        raw, _table_groups(df, cells, column_groups, row_groups), forced
    )

    def shown(col: str) -> list[int | str | None]:
        return [disclose_count(raw[(i, col)], suppress=(i, col) in hidden) for i in range(len(df))]

    out = df.copy()
    for out_col, (num_col, den_col) in percentage_columns.items():
        out[out_col] = pd.Series(
            [
                disclose_percentage(n, d, decimals)
                for n, d in zip(shown(num_col), shown(den_col), strict=True)
            ],
            index=df.index,
            dtype=object,
        )
    for col in count_columns:
        out[col] = pd.Series(shown(col), index=df.index, dtype=object)
    return out


def published_counts(
    counts: Mapping[Hashable, Count],
    groups: Iterable[Group] = (),
    suppressed: Iterable[Hashable] = (),
) -> dict[Hashable, int | str | None]:
    """Every count as it is published, with secondary suppression over ``groups``.

    The one call for a report whose tables share counts (the same total shown in two tables
    must be hidden in both or neither): work out the plan over every cell once, then build
    each table, sentence and statistic from the published values.

    Example:
        >>> published_counts({"a": 3, "b": 40, "c": 25, "all": 68}, [Group("all", ("a", "b", "c"))])
        {'a': '*', 'b': 40, 'c': '*', 'all': 70}
    """
    hidden = complementary_suppression(counts, groups, suppressed)
    return {k: disclose_count(v, suppress=k in hidden) for k, v in counts.items()}
