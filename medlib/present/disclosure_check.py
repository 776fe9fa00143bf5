"""Trying to work hidden counts back from published tables: the disclosure checker.

:mod:`medlib.present.disclosure` decides what is shown; this module plays the reader who has the
published tables (as their CSV files read back) and knows how they are laid out, and tries to
pin a hidden count to one value. What the reader knows is written as facts:

- :class:`Shown`: a published count (``*`` for 1 or more, ``0``, or a count rounded to 5 that
  stands for 2 either side of it);
- :class:`Percent`: a published percentage of two counts;
- :class:`Total`: counts that add up to another (bands to their row total, rows to a total
  row, a count in one table to a count in another);
- :class:`Relation`: any other rule the reader knows, tested on candidate values (for instance
  a target gap ``ceil(share x patients) - on target``).

A percentage column that equals what the policy computes from the published counts tells the
reader nothing more (a share of a count the table does not show gives that count's published
value); a column that does not is read as made from the true counts, the way percentages were
made before the policy (and then ``*`` means 1-7). :func:`find_recoveries` narrows every
count to the values consistent with every fact (interval reasoning on totals, every pair of
counts a percentage allows, and each remaining candidate tried in turn), and reports each
published count left with one possible value that its published form did not already give:
a suppressed count worked out, or a rounded count's exact value. Percentages of a denominator
no table shows are not used. Funnel limits are checked on their own by
:func:`funnel_findings`: limits that differ between organisations showing the same
denominator, or that are not those of the published counts, leak the unrounded counts.

:func:`table_facts` writes the facts of a table from a :class:`Layout`; facts of several tables
that name the same variable link them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from medlib.errors import MedlibError
from medlib.present.disclosure import ROUND_TO, SMALL_MAX, SUPPRESSED, disclose_percentage
from medlib.stats.peer_comparison import funnel_limits

__all__ = [
    "DisclosureCheckError",
    "FunnelFinding",
    "Layout",
    "Percent",
    "Recovery",
    "Relation",
    "RowTotal",
    "Shown",
    "Total",
    "find_recoveries",
    "funnel_findings",
    "parse_shown",
    "table_facts",
]

#: Domains wider than this stay intervals (only their ends are reasoned on).
_SET_LIMIT = 50_000
#: Largest number of value combinations a :class:`Relation` is enumerated over.
_RELATION_LIMIT = 200_000


class DisclosureCheckError(MedlibError, ValueError):
    """The facts contradict each other: the layout does not describe the tables."""


@dataclass(frozen=True)
class Shown:
    """A published count: ``value`` as it reads back (``"*"``, a number, or empty)."""

    var: Hashable
    value: object
    where: str = ""


@dataclass(frozen=True)
class Percent:
    """A published percentage ``value`` of ``num`` over ``den``.

    Attributes:
        source: Facts with the same source (a table's column) are judged together: made from
            the published counts, or from the true ones.
    """

    num: Hashable
    den: Hashable
    value: object
    where: str = ""
    source: str = ""
    decimals: int = 1


@dataclass(frozen=True)
class Total:
    """True counts adding up: ``total = sum(parts)``."""

    total: Hashable
    parts: tuple[Hashable, ...]


@dataclass(frozen=True)
class Relation:
    """A rule ``holds(*values)`` the true counts of ``vars`` obey."""

    vars: tuple[Hashable, ...]
    holds: Callable[..., bool]
    where: str = ""


Fact = Shown | Percent | Total | Relation


@dataclass(frozen=True)
class Recovery:
    """A published count the facts pin to one value.

    Attributes:
        var: The variable.
        where: Where it is published (table, row and column).
        shown: What is published (``"*"``, the rounded count, or the percentage).
        value: The one value it can have.
        kind: ``"suppressed"`` (a ``*`` worked out), ``"rounded"`` (a rounded count's exact
            value) or ``"shown elsewhere"`` (a ``*`` published as a number in another place;
            ``value`` is that number).
    """

    var: Hashable
    where: str
    shown: object
    value: int
    kind: str


def parse_shown(value: object) -> float | str | None:
    """A published cell as a reader has it: a number, ``"*"``, or None when empty.

    Example:
        >>> parse_shown("15"), parse_shown("*"), parse_shown(""), parse_shown(12.5)
        (15.0, '*', None, 12.5)
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text == SUPPRESSED:
            return SUPPRESSED
        try:
            number = float(text) if text else math.nan
        except ValueError:
            return None
    elif isinstance(value, bool):
        return None
    else:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
    return None if math.isnan(number) else number


def _window(shown: float | str, suppressed_max: int | None) -> tuple[int, float]:
    if shown == SUPPRESSED:
        return 1, math.inf if suppressed_max is None else suppressed_max
    value = float(shown)
    if value == 0 or value % ROUND_TO:
        return int(value), value  # zero, or a count shown as it is
    half = ROUND_TO // 2
    return int(value) - half, value + half


class _Contradiction(MedlibError):
    pass


class _Domain:
    """The values a count can still take: ``lo..hi``, or the set ``vals`` once finite."""

    __slots__ = ("hi", "lo", "vals")

    def __init__(self, lo: int = 0, hi: float = math.inf) -> None:
        self.lo, self.hi = int(lo), hi
        self.vals: set[int] | None = None
        self._settle()

    def copy(self) -> _Domain:
        out = _Domain.__new__(_Domain)
        out.lo, out.hi = self.lo, self.hi
        out.vals = None if self.vals is None else set(self.vals)
        return out

    def _settle(self) -> None:
        if self.vals is None and not math.isinf(self.hi) and self.hi - self.lo < _SET_LIMIT:
            self.vals = set(range(self.lo, int(self.hi) + 1))
        if self.vals is not None:
            if not self.vals:
                raise _Contradiction
            self.lo, self.hi = min(self.vals), max(self.vals)
        elif self.lo > self.hi:
            raise _Contradiction

    @property
    def finite(self) -> bool:
        return self.vals is not None

    def size(self) -> float:
        return len(self.vals) if self.vals is not None else self.hi - self.lo + 1

    def restrict(self, lo: float, hi: float) -> bool:
        lo = self.lo if math.isinf(lo) else max(self.lo, math.ceil(lo - 1e-9))
        hi = min(self.hi, math.floor(hi + 1e-9) if not math.isinf(hi) else hi)
        if lo == self.lo and hi == self.hi:
            return False
        if self.vals is not None:
            self.vals = {v for v in self.vals if lo <= v <= hi}
        self.lo, self.hi = int(lo), hi
        self._settle()
        return True

    def keep(self, allowed: set[int]) -> bool:
        current = self.vals if self.vals is not None else None
        if current is None:
            new = {v for v in allowed if self.lo <= v <= self.hi}
        else:
            new = current & allowed
        if current is not None and len(new) == len(current):
            return False
        self.vals = new
        self._settle()
        return True


class _Sum:
    def __init__(self, total: Hashable, parts: Sequence[Hashable]) -> None:
        self.vars = (*parts, total)

    def run(self, dom: dict[Hashable, _Domain]) -> list[Hashable]:
        *parts, total = self.vars
        changed = []
        lo = [dom[p].lo for p in parts]
        hi = [dom[p].hi for p in parts]
        s_lo = sum(lo)
        inf = sum(math.isinf(h) for h in hi)
        s_hi_finite = sum(h for h in hi if not math.isinf(h))
        if dom[total].restrict(s_lo, math.inf if inf else s_hi_finite):
            changed.append(total)
        t = dom[total]
        for i, p in enumerate(parts):
            others_inf = inf - math.isinf(hi[i])
            others_hi = (
                math.inf if others_inf else s_hi_finite - (0 if math.isinf(hi[i]) else hi[i])
            )
            if dom[p].restrict(t.lo - others_hi, t.hi - (s_lo - lo[i])):
                changed.append(p)
        return changed


class _Ratio:
    """``round(100 * num / den, decimals) == value`` on the true counts."""

    def __init__(self, num: Hashable, den: Hashable, value: float, decimals: int) -> None:
        self.vars = (num, den)
        self.value, self.decimals = value, decimals

    def run(self, dom: dict[Hashable, _Domain]) -> list[Hashable]:
        num, den = self.vars
        dn, dd = dom[num], dom[den]
        if not dd.finite:
            return []  # wait until the denominator is narrowed to a set
        step = 0.6 * 10.0**-self.decimals
        nums: set[int] = set()
        dens: set[int] = set()
        for d in sorted(dd.vals):  # type: ignore[arg-type]
            if d <= 0:
                continue
            lo = max(dn.lo, math.floor((self.value - step) * d / 100))
            hi = min(dn.hi, math.ceil((self.value + step) * d / 100))
            for n in range(int(lo), int(hi) + 1):
                if (dn.vals is None or n in dn.vals) and round(
                    100.0 * n / d, self.decimals
                ) == self.value:
                    nums.add(n)
                    dens.add(d)
        changed = []
        if dn.keep(nums):
            changed.append(num)
        if dd.keep(dens):
            changed.append(den)
        return changed


class _Rel:
    def __init__(self, vars: Sequence[Hashable], holds: Callable[..., bool]) -> None:
        self.vars = tuple(vars)
        self.holds = holds

    def run(self, dom: dict[Hashable, _Domain]) -> list[Hashable]:
        doms = [dom[v] for v in self.vars]
        if not all(d.finite for d in doms) or math.prod(d.size() for d in doms) > _RELATION_LIMIT:
            return []
        support: list[set[int]] = [set() for _ in doms]
        for combo in itertools.product(*(sorted(d.vals) for d in doms)):  # type: ignore[arg-type]
            if self.holds(*combo):
                for s, v in zip(support, combo, strict=True):
                    s.add(v)
        return [v for v, d, s in zip(self.vars, doms, support, strict=True) if d.keep(s)]


def _propagate(
    dom: dict[Hashable, _Domain], constraints: list, watching: dict, start: Iterable[int]
) -> None:
    queue = list(dict.fromkeys(start))
    queued = set(queue)
    while queue:
        index = queue.pop()
        queued.discard(index)
        for var in constraints[index].run(dom):
            for other in watching.get(var, ()):
                if other not in queued:
                    queue.append(other)
                    queued.add(other)


def _publishable(denominator: float) -> list[int]:
    """Every published count that can stand over a published denominator."""
    top = int(denominator)
    return [0, *range(2 * ROUND_TO, top + 1, ROUND_TO)]


def _published(shown: dict[Hashable, list], var: Hashable) -> float | str | None:
    values = [v for v in shown.get(var, []) if v is not None]
    return values[0] if values else None


def _percent_reading(
    fact: Percent, value: float | str, shown: dict[Hashable, list]
) -> tuple[bool, list[int] | None]:
    """Whether a percentage is what the policy makes of the published counts.

    Returns:
        That, and when the numerator is not shown, the published numerators it allows.
    """
    den, num = _published(shown, fact.den), _published(shown, fact.num)
    if value == SUPPRESSED:
        return num == SUPPRESSED or den == SUPPRESSED or (num is None and den is not None), None
    if den is None or den == SUPPRESSED:
        return False, None
    if num is not None:
        return num != SUPPRESSED and disclose_percentage(num, den, fact.decimals) == value, None
    allowed = [
        v for v in _publishable(float(den)) if disclose_percentage(v, den, fact.decimals) == value
    ]
    return bool(allowed), allowed


def find_recoveries(
    facts: Iterable[Fact], *, suppressed_max: int | None = None, thorough: bool = True
) -> list[Recovery]:
    """Every published count the facts pin to one value it was not published as.

    Args:
        facts: What the reader knows (see the module docstring).
        suppressed_max: The most a ``*`` count can be. None (the policy's meaning: ``*`` is
            1-7 or a count hidden to protect another); 7 for tables without secondary
            suppression.
        thorough: Also try each remaining candidate of every count with up to 12 left, and
            drop those that contradict the facts.

    Returns:
        The recoveries, in the order the counts were first published.

    Raises:
        DisclosureCheckError: The facts contradict each other (a layout that does not
            describe the tables).

    Example:
        >>> facts = [Shown("a", "*"), Shown("b", "10"), Shown("c", "15"), Shown("t", "20")]
        >>> facts.append(Total("t", ("a", "b", "c")))  # b >= 8, c >= 13, t <= 22: a = 1
        >>> [(r.var, r.value, r.kind) for r in find_recoveries(facts)]
        [('a', 1, 'suppressed'), ('b', 8, 'rounded'), ('c', 13, 'rounded'), ('t', 22, 'rounded')]
    """
    facts = list(facts)
    shown: dict[Hashable, list] = {}
    where: dict[Hashable, tuple[str, object]] = {}
    kind: dict[Hashable, str] = {}
    exact: set[Hashable] = set()
    dom: dict[Hashable, _Domain] = {}

    def domain(var: Hashable) -> _Domain:
        if var not in dom:
            dom[var] = _Domain()
        return dom[var]

    try:
        for fact in facts:
            if isinstance(fact, Shown):
                value = parse_shown(fact.value)
                shown.setdefault(fact.var, []).append(value)
                domain(fact.var)
                if value is None:
                    continue
                where.setdefault(fact.var, (fact.where, fact.value))
                lo, hi = _window(value, suppressed_max)
                dom[fact.var].restrict(lo, hi)
                if lo == hi:
                    exact.add(fact.var)
                if value == SUPPRESSED:
                    kind[fact.var] = "suppressed"
                else:
                    kind.setdefault(fact.var, "rounded")
        constraints: list = []
        readings: dict[str, bool] = {}
        percents = [(f, parse_shown(f.value)) for f in facts if isinstance(f, Percent)]
        for fact, value in percents:
            if value is None:
                continue
            by_policy, _ = _percent_reading(fact, value, shown)
            readings[fact.source] = readings.get(fact.source, True) and by_policy
        for fact, value in percents:
            domain(fact.num), domain(fact.den)
            den = _published(shown, fact.den)
            if value is None or den is None:
                continue  # a percentage of a denominator nobody shows is not used
            if fact.num not in shown:
                where.setdefault(fact.num, (fact.where, fact.value))
                kind[fact.num] = (
                    "suppressed" if value == SUPPRESSED else kind.get(fact.num, "rounded")
                )
            if readings[fact.source]:
                by_policy, allowed = _percent_reading(fact, value, shown)
                if allowed is not None:
                    windows = [_window(v, suppressed_max) for v in allowed]
                    dom[fact.num].restrict(min(w[0] for w in windows), max(w[1] for w in windows))
                    if dom[fact.num].finite:
                        dom[fact.num].keep(
                            {v for lo, hi in windows for v in range(lo, int(hi) + 1)}
                        )
                elif value == SUPPRESSED and fact.num not in shown:
                    dom[fact.num].restrict(
                        1, math.inf if suppressed_max is None else suppressed_max
                    )
            elif value == SUPPRESSED:
                # Made from the true counts, before secondary suppression: '*' meant 1-7.
                constraints.append(
                    _Rel(
                        (fact.num, fact.den),
                        lambda n, d: 0 < n <= SMALL_MAX or 0 < d <= SMALL_MAX,
                    )
                )
            else:
                constraints.append(_Ratio(fact.num, fact.den, float(value), fact.decimals))
        for fact in facts:
            if isinstance(fact, Total):
                for var in (fact.total, *fact.parts):
                    domain(var)
                constraints.append(_Sum(fact.total, fact.parts))
            elif isinstance(fact, Relation):
                for var in fact.vars:
                    domain(var)
                constraints.append(_Rel(fact.vars, fact.holds))
        watching: dict[Hashable, list[int]] = {}
        for i, c in enumerate(constraints):
            for var in c.vars:
                watching.setdefault(var, []).append(i)
        _propagate(dom, constraints, watching, range(len(constraints)))
        if thorough:
            _shave(dom, constraints, watching, [v for v in where if v not in exact])
    except _Contradiction:
        raise DisclosureCheckError(
            "the published tables contradict the facts given about them; check the layout"
        ) from None
    out = []
    for var, (place, value) in where.items():
        values = [v for v in shown.get(var, []) if v is not None]
        numbers = [v for v in values if v != SUPPRESSED]
        if SUPPRESSED in values and numbers:
            out.append(Recovery(var, place, value, int(numbers[0]), "shown elsewhere"))
            continue
        d = dom[var]
        if var in exact or not d.finite or d.size() != 1 or d.lo == 0:
            continue  # zeros are shown by the policy: pinning one reveals nothing
        out.append(Recovery(var, place, value, d.lo, kind.get(var, "rounded")))
    return out


def _shave(
    dom: dict[Hashable, _Domain], constraints: list, watching: dict, candidates: list[Hashable]
) -> None:
    """Drop every value that, tried on its own, contradicts the facts (up to 12 per count)."""
    for _ in range(3):
        removed = False
        for var in candidates:
            d = dom[var]
            if not d.finite or not 1 < d.size() <= 12 or var not in watching:
                continue
            bad = set()
            for value in sorted(d.vals):  # type: ignore[arg-type]
                trial = {k: v.copy() for k, v in dom.items()}
                trial[var].keep({value})
                try:
                    _propagate(trial, constraints, watching, watching[var])
                except _Contradiction:
                    bad.add(value)
            if bad:
                d.keep(d.vals - bad)  # type: ignore[operator]
                _propagate(dom, constraints, watching, watching[var])
                removed = True
        if not removed:
            return


@dataclass(frozen=True)
class RowTotal:
    """Rows of a table adding up to a total row (as :class:`medlib.present.disclosure.RowGroup`).

    Attributes:
        column: The column naming each row's place in the total.
        total: Its value in the total row (compared as text).
        parts: Its values in the rows adding up to the total.
        within: Columns that must match between the parts and the total.
        quantities: The quantities that add up; None for every quantity of the layout.
    """

    column: str
    total: object
    parts: tuple[object, ...]
    within: tuple[str, ...] = ()
    quantities: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Layout:
    """How a published table is laid out, as its reader knows it.

    Attributes:
        key: Columns naming a row.
        counts: ``{column: quantity}`` for each published count column.
        percentages: ``{column: (numerator quantity, denominator quantity)}``.
        row_sums: ``(total quantity, part quantities)`` adding up within every row.
        row_totals: Rows adding up to a total row.
        decimals: Decimal places of the percentages.
    """

    key: tuple[str, ...]
    counts: Mapping[str, str] = field(default_factory=dict)
    percentages: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    row_sums: tuple[tuple[str, tuple[str, ...]], ...] = ()
    row_totals: tuple[RowTotal, ...] = ()
    decimals: int = 1

    def quantities(self) -> list[str]:
        """Every quantity the layout names."""
        names = [*self.counts.values(), *(q for pair in self.percentages.values() for q in pair)]
        return list(dict.fromkeys(names))


Variable = Callable[[str, Mapping[str, object], str], Hashable]


def _default_variable(name: str, row: Mapping[str, object], quantity: str, key: Sequence[str]):
    return (name, tuple(str(row[k]) for k in key), quantity)


def table_facts(
    name: str, table: pd.DataFrame, layout: Layout, variable: Variable | None = None
) -> list[Fact]:
    """The facts a reader of one published table has.

    Args:
        name: The table's name (used in ``where`` and in default variable names).
        table: The table as published (for instance read back from its CSV).
        layout: How it is laid out.
        variable: ``(name, row, quantity) -> variable`` naming the variable behind each cell;
            tables whose cells share a variable are linked. Default: ``(name, key values,
            quantity)``, linking nothing.

    Returns:
        :class:`Shown`, :class:`Percent` and :class:`Total` facts.
    """
    rows = [dict(r) for r in table.to_dict("records")]

    def var(row: Mapping[str, object], quantity: str) -> Hashable:
        if variable is not None:
            return variable(name, row, quantity)
        return _default_variable(name, row, quantity, layout.key)

    def place(row: Mapping[str, object], column: str) -> str:
        return f"{name}[{', '.join(str(row[k]) for k in layout.key)}].{column}"

    facts: list[Fact] = []
    for row in rows:
        for column, quantity in layout.counts.items():
            facts.append(Shown(var(row, quantity), row[column], place(row, column)))
        for column, (num, den) in layout.percentages.items():
            facts.append(
                Percent(
                    var(row, num),
                    var(row, den),
                    row[column],
                    place(row, column),
                    f"{name}.{column}",
                    layout.decimals,
                )
            )
        for total, parts in layout.row_sums:
            facts.append(Total(var(row, total), tuple(var(row, p) for p in parts)))
    for rt in layout.row_totals:
        groups: dict[tuple, list[dict]] = {}
        for row in rows:
            groups.setdefault(tuple(str(row[c]) for c in rt.within), []).append(row)
        for members in groups.values():
            totals = [r for r in members if str(r[rt.column]) == str(rt.total)]
            parts = [r for r in members if str(r[rt.column]) in {str(p) for p in rt.parts}]
            if len(totals) != 1 or not parts:
                continue
            for quantity in rt.quantities or layout.quantities():
                facts.append(
                    Total(var(totals[0], quantity), tuple(var(r, quantity) for r in parts))
                )
    return facts


@dataclass(frozen=True)
class FunnelFinding:
    """Funnel limits that tell a reader more than the published counts."""

    where: str
    reason: str


def funnel_findings(
    name: str,
    table: pd.DataFrame,
    *,
    label: str,
    numerator: str,
    denominator: str,
    limits: Mapping[str, str],
    decimals: int = 1,
) -> list[FunnelFinding]:
    """Check a published funnel table's limits against its published counts.

    The limits at an organisation are a function of its denominator, so organisations showing
    the same denominator must show the same limits; and they must be the limits of the
    published counts (:func:`medlib.stats.peer_comparison.funnel_limits` over the
    organisations whose numerator and denominator are both shown), or they were made from the
    unrounded counts and give them away.

    Args:
        name: The table's name.
        table: The table as published.
        label: Column naming the organisation.
        numerator: Column of the published numerators.
        denominator: Column of the published denominators.
        limits: ``{shown column: FunnelResult column}``, e.g.
            ``{"lower_99_8": "lower_99.8"}``; shown as percentages.
        decimals: Decimal places of the shown limits.

    Returns:
        One finding per organisation whose limits leak.
    """
    rows = table.to_dict("records")
    num = [parse_shown(r[numerator]) for r in rows]
    den = [parse_shown(r[denominator]) for r in rows]
    shown_limits = [tuple(parse_shown(r[c]) for c in limits) for r in rows]
    findings: list[FunnelFinding] = []
    by_den: dict[float, set] = {}
    for d, lims in zip(den, shown_limits, strict=True):
        if isinstance(d, float) and all(isinstance(v, float) for v in lims):
            by_den.setdefault(d, set()).add(lims)
    for r, d in zip(rows, den, strict=True):
        if isinstance(d, float) and len(by_den.get(d, ())) > 1:
            findings.append(
                FunnelFinding(
                    f"{name}[{r[label]}]",
                    f"organisations showing the same denominator {d:g} show different limits",
                )
            )
    use = [
        i
        for i, (n, d) in enumerate(zip(num, den, strict=True))
        if isinstance(n, float) and isinstance(d, float) and d > 0
    ]
    if not use:
        return findings
    result = funnel_limits([num[i] for i in use], [den[i] for i in use])
    tolerance = 0.5 * 10.0**-decimals + 1e-9
    for i, r in enumerate(rows):
        d = den[i]
        if not isinstance(d, float) or d <= 0:
            continue
        expected = result.limits(np.array([d]))
        for (column, result_column), value in zip(limits.items(), shown_limits[i], strict=True):
            if not isinstance(value, float):
                continue
            published = 100 * float(expected[result_column].iloc[0])
            if abs(published - value) > tolerance:
                findings.append(
                    FunnelFinding(
                        f"{name}[{r[label]}].{column}",
                        f"shows {value:g}, not the {published:.3f} of the published counts",
                    )
                )
                break
    return findings
