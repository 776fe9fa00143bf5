"""The explorer's measures section: the chosen trusts on every measure, and one measure's chart.

The same figures as the measures report (:mod:`medlib.measures.report`), for the trusts the
explorer shows, side by side: an analyst asks "where do our trusts sit on the antibiotic
measures?" without rendering a pack. The measures are computed in the engine over the
explorer's store (or every bundled SCMD extract) up to the explorer's last month, once per
process and state of the definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from medlib.explorer.sources import ExplorerError
from medlib.present.sections import Section

if TYPE_CHECKING:
    from medlib.explorer.state import Explorer
    from medlib.measures.report import NationalMeasures

__all__ = ["measures_section", "measures_table"]


def _national(ex: Explorer, measure_dirs: Sequence[str]) -> NationalMeasures:
    from medlib.measures.report import national_measures

    if ex.store is None and ex.datasets != list(_bundled_names()):
        raise ExplorerError(
            "the measures section reads a data store or the bundled extracts; this explorer "
            "was given its own usage table (open it with Explorer(store=...) instead)"
        )
    store = "" if ex.store is None else str(ex.store.root)
    return national_measures(
        store=store,
        measure_dirs=tuple(str(d) for d in measure_dirs),
        through=f"{ex.period[1]:%Y-%m}",
    )


def _bundled_names() -> tuple[str, ...]:
    from medlib.explorer.sources import BUNDLED_DATASETS

    return tuple(BUNDLED_DATASETS)


def measures_table(ex: Explorer, measure_dirs: Sequence[str] = ()) -> pd.DataFrame:
    """Every measure for each trust the explorer shows, one row per measure and trust.

    Args:
        ex: The explorer; its trusts (or a system's trusts) and its last month are used.
        measure_dirs: Folders of a team's own definitions, read after the package's.

    Returns:
        The columns of :func:`medlib.measures.report.overview_table` with ``trust_code`` and
        ``trust_name``, measures in the first trust's order of potential for improvement.

    Raises:
        ExplorerError: No trust is chosen, or the explorer reads its own usage table.
    """
    from medlib.measures.report import overview_table

    trusts = ex.trusts_shown()
    if not trusts:
        raise ExplorerError("choose one or more trusts (or a system) to compare on the measures")
    national = _national(ex, measure_dirs)
    parts = []
    for code in trusts:
        table = overview_table(national, code)
        table.insert(0, "trust_code", code)
        table.insert(1, "trust_name", ex.name_of(code))
        parts.append(table)
    combined = pd.concat(parts, ignore_index=True)
    order = {m: i for i, m in enumerate(parts[0]["measure_id"])}
    combined["_order"] = combined["measure_id"].map(order)
    combined = combined.sort_values(["_order", "trust_code"], kind="mergesort")
    return combined.drop(columns="_order").reset_index(drop=True)


def measures_section(
    ex: Explorer, measure: str | None = None, measure_dirs: Sequence[str] = ()
) -> Section:
    """The chosen trusts on every measure; with ``measure``, that measure's decile chart too.

    Args:
        ex: The explorer.
        measure: A measure id (``abx_iv``) to chart for the first trust shown.
        measure_dirs: Folders of a team's own definitions.

    Raises:
        ExplorerError: No trust is chosen, the explorer reads its own usage table, or
            ``measure`` is not a measure with data (the message lists those that are).
    """
    from medlib.context import resolve_context
    from medlib.measures.report import MeasuresReport, overview_view

    table = measures_table(ex, measure_dirs)
    national = _national(ex, measure_dirs)
    view = overview_view(table, keys=("measure", "trust_name"))
    parts: list[object] = [view]
    if measure is not None:
        computed = {
            d.id: d
            for d in national.definitions
            if d.id not in set(national.not_computed["measure_id"])
        }
        if measure not in computed:
            raise ExplorerError(
                f"measure {measure!r} has no data here; choose one of {sorted(computed)}"
            )
        first = ex.trusts_shown()[0]
        report = MeasuresReport(resolve_context(first, f"{ex.period[1]:%Y-%m}"), national)
        parts += [
            report.measure_chart(computed[measure]),
            report.measure_sentence(computed[measure]),
        ]
    return Section(*parts)
