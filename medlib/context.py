"""The report context: a trust or system resolved once, with its period and data source.

Every report notebook declares ``trust_code`` and ``period_end``, turns them into a
:class:`ReportContext` with :func:`resolve_context`, and hands that one object to its domain's
``build(context, ...)``. The renderer's pre-flight calls the same checks
(:func:`check_trust_code`, :func:`check_period_end`) before any kernel starts, so a trust or a
period is validated in one place, with one message, whichever way the report is run.

Example:
    >>> context = resolve_context("rtd", "2024-03")
    >>> context.code, context.period_end_label, f"{context.census_date:%Y-%m-%d}"
    ('RTD', 'March 2024', '2024-03-31')
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import pandas as pd

from medlib.errors import InputError
from medlib.present.wording import format_month
from medlib.reference.trusts import (
    UnknownTrustError,
    icb_members,
    normalise_code,
    trust,
    unknown_trust,
)
from medlib.validation import parse_month

__all__ = [
    "COMPARISON_GROUPS",
    "NEEDS",
    "patient_coverage",
    "UsageCoverage",
    "report_unavailable",
    "usage_coverage",
    "ReportContext",
    "check_period_end",
    "check_trust_code",
    "resolve_context",
]

#: Which trusts a report compares with: the trust's NHS region, its ICB, or every trust.
COMPARISON_GROUPS = ("region", "icb", "national")


@dataclass(frozen=True)
class ReportContext:
    """What one report is about, resolved once and shared by every section.

    Attributes:
        code: The trust's ODS code, an ICB code for the ICB's system, or a system's name.
        name: How pages name it ("The Newcastle upon Tyne Hospitals NHS Foundation Trust",
            "NHS North East and North Cumbria (10 trusts)").
        trust_codes: The trusts it covers (one for a trust).
        is_system: True for a system of trusts.
        region: NHS England region of the trust (of the first trust for a system), or None.
        icb_code: Its integrated care board's code, or None.
        icb_name: Its integrated care board's name, or None.
        comparison_group: ``region``, ``icb`` or ``national``.
        period_end: The last month the report shows (first day of the month); no figure is
            dated after it.
        data_source: Which data the report reads (a bundled dataset name, or a folder).
    """

    code: str
    name: str
    trust_codes: tuple[str, ...]
    is_system: bool
    region: str | None
    icb_code: str | None
    icb_name: str | None
    comparison_group: str
    period_end: pd.Timestamp
    data_source: str

    @property
    def period_end_label(self) -> str:
        """The period end as pages write it: ``March 2024``."""
        return format_month(self.period_end)

    @property
    def census_date(self) -> pd.Timestamp:
        """The last day of the period end's month (the default audit census date)."""
        return self.period_end + pd.offsets.MonthEnd(0)


def check_period_end(value: object) -> pd.Timestamp:
    """The one check of a report's ``period_end``: a month written ``YYYY-MM``.

    Raises:
        InputError: The value is not a month.
    """
    return parse_month(value, "period_end")


def check_trust_code(code: object, known: Mapping[str, str | None] | None = None) -> str:
    """The one check of a report's trust: in the reference, and not merged into another.

    Args:
        code: An ODS trust code.
        known: ``{trust_code: successor_code or None}`` to check against instead of the bundled
            reference (the renderer's tests pass their own).

    Returns:
        The code as the reference writes it.

    Raises:
        UnknownTrustError: The code is not a trust, or the trust merged into another (the
            message names the successor to report on instead).
    """
    _require_code(code)
    if known is None:
        successor = trust(code).successor_code
        wanted = normalise_code(code)
    else:
        wanted = normalise_code(code)
        if wanted not in known:
            raise unknown_trust(wanted, known)
        successor = known[wanted]
    if successor:
        raise UnknownTrustError(f"{wanted!r} merged into {successor!r}; use {successor!r} instead")
    return wanted


def _require_code(code: object) -> None:
    if not isinstance(code, str) or not code.strip():
        raise UnknownTrustError(f"trust_code must be an ODS trust code such as 'RTD', got {code!r}")


def resolve_context(
    trust_code: str,
    period_end: object,
    *,
    comparison_group: str = "region",
    data_source: str = "bundled",
    system_trusts: Sequence[str] = (),
) -> ReportContext:
    """Resolve a report's subject, period and data source once.

    Args:
        trust_code: An ODS trust code; an ICB code (e.g. ``"QHM"``) for the system of that
            ICB's current trusts; or a system's name when ``system_trusts`` is given.
        period_end: The last month of the report, ``"YYYY-MM"``.
        comparison_group: ``region``, ``icb`` or ``national``.
        data_source: What the report reads (a bundled dataset name, or a folder).
        system_trusts: The member trusts of a system named ``trust_code``.

    Returns:
        The frozen context.

    Raises:
        UnknownTrustError: The trust (or a system member) is unknown or merged.
        InputError: The period is not a month, or the comparison group is unknown.
    """
    end = check_period_end(period_end)
    if comparison_group not in COMPARISON_GROUPS:
        raise InputError(
            f"comparison_group must be one of {list(COMPARISON_GROUPS)}, got {comparison_group!r}"
        )
    _require_code(trust_code)
    common = {"comparison_group": comparison_group, "period_end": end, "data_source": data_source}
    if system_trusts:
        members = tuple(dict.fromkeys(check_trust_code(c) for c in system_trusts))
        first = trust(members[0])
        label = trust_code.strip()
        of_icb = icb_members(label)
        system = trust(of_icb[0]).icb_name if of_icb else f"the {label} system"
        return ReportContext(
            code=label,
            name=f"{system} ({len(members)} trusts)",
            trust_codes=members,
            is_system=True,
            region=first.region,
            icb_code=first.icb_code,
            icb_name=first.icb_name,
            **common,
        )
    code = normalise_code(trust_code)
    members = icb_members(code)
    if members:
        first = trust(members[0])
        return ReportContext(
            code=code,
            name=f"{first.icb_name} ({len(members)} trusts)",
            trust_codes=members,
            is_system=True,
            region=first.region,
            icb_code=code,
            icb_name=first.icb_name,
            **common,
        )
    code = check_trust_code(code)
    found = trust(code)
    return ReportContext(
        code=code,
        name=found.name,
        trust_codes=(code,),
        is_system=False,
        region=found.region,
        icb_code=found.icb_code,
        icb_name=found.icb_name,
        **common,
    )


# --------------------------------------------------------------------------- data coverage

#: What a report notebook may say it needs (notebook metadata ``medlib.needs``).
NEEDS = ("usage", "patients")


def report_unavailable(
    needs: Sequence[str], trust_code: str, values: Mapping[str, object]
) -> str | None:
    """Why a report cannot be made for a trust from the data it would read, or None.

    Checked by the renderer before any kernel starts, so a report that has no data is listed
    as "not available" with this reason instead of failing.

    Args:
        needs: What the notebook reads: ``usage`` (the usage table of its ``store``)
            and/or ``patients`` (its ``patient_data_dir``, else its store's patient extracts,
            else the synthetic sample).
        trust_code: The trust.
        values: The parameters the report would be given.
    """
    if "usage" in needs:
        coverage = usage_coverage(str(values.get("store") or ""))
        if trust_code not in coverage.trusts:
            return f"no usage rows for {trust_code} in {coverage.where}"
    if "patients" in needs and not values.get("patient_data_dir"):
        coverage = patient_coverage(str(values.get("store") or ""))
        if coverage is not None:
            if trust_code not in coverage[1]:
                return f"no polypharmacy data for {trust_code}: no patients in {coverage[0]}"
            return None
        from medlib.synthetic.patients import SYNTHETIC_TRUSTS

        if trust_code not in SYNTHETIC_TRUSTS:
            return (
                f"no polypharmacy data for {trust_code}: the synthetic patients are of "
                f"{len(SYNTHETIC_TRUSTS)} other trusts; ingest a patient extract into the "
                "store (medlib ingest FOLDER --table patients) or give patient_data_dir"
            )
    return None


def patient_coverage(store: str) -> tuple[str, frozenset[str]] | None:
    """How messages name the store's patient extracts, and the trusts they cover.

    Trusts are their successor codes. None when the store holds no patient extract (the
    synthetic patients stand in). Read once per process and state of the store.
    """
    return _patient_coverage(store, _store_state(store))


@cache
def _patient_coverage(store: str, state: tuple[int, int]) -> tuple[str, frozenset[str]] | None:
    from medlib.io.datasets import bundled_store
    from medlib.io.patient_store import patient_streams, patient_trusts
    from medlib.io.store import Store
    from medlib.reference.trusts import successor_map

    source = Store(store) if store else bundled_store()
    streams = patient_streams(source)
    if not streams:
        return None
    successors = successor_map()
    trusts = frozenset(successors.get(c, c) for c in patient_trusts(source))
    return f"the store's patient extracts ({', '.join(streams)})", trusts


@dataclass(frozen=True)
class UsageCoverage:
    """Which trusts and months a store's usage table covers.

    Attributes:
        where: How messages name the store.
        trusts: Trusts with rows, merged trusts counted as their successors.
        first_month: First month with rows, or None when there are none.
        last_month: Last month with rows, or None.
    """

    where: str
    trusts: frozenset[str]
    first_month: pd.Timestamp | None
    last_month: pd.Timestamp | None


def _store_state(store: str) -> tuple[int, int]:
    """Size and modification time of the store's ingest log: they change at every ingest."""
    if not store:
        return (0, 0)
    try:
        stat = os.stat(os.path.join(store, "ingest_log.jsonl"))
    except OSError:
        return (0, 0)
    return (stat.st_size, stat.st_mtime_ns)


def usage_coverage(store: str) -> UsageCoverage:
    """The trusts and months a store's usage covers (empty ``store`` for the bundled one).

    Read once per process and state of the store: the renderer asks for every (trust,
    notebook) of a pack, and an ingest in between is seen.
    """
    return _usage_coverage(store, _store_state(store))


@cache
def _usage_coverage(store: str, state: tuple[int, int]) -> UsageCoverage:
    import duckdb

    from medlib.io.datasets import bundled_store
    from medlib.io.store import Store
    from medlib.reference.trusts import successor_map

    source = Store(store) if store else bundled_store()
    where = f"the store {source.root}" if store else "the bundled sample"
    if not source.usage_files():
        return UsageCoverage(where, frozenset(), None, None)
    frame = duckdb.execute(
        "SELECT trust_code, min(year_month) AS first, max(year_month) AS last "
        "FROM read_parquet(?) GROUP BY trust_code",
        [source.usage_glob()],
    ).df()
    successors = successor_map()
    trusts = frozenset(successors.get(c, c) for c in frame["trust_code"])
    first = pd.Timestamp(frame["first"].min()) if len(frame) else None
    last = pd.Timestamp(frame["last"].max()) if len(frame) else None
    return UsageCoverage(where, trusts, first, last)
