"""Where the wet AMD report's injections come from: the store's ``hcd_activity``, or a sample.

:func:`choose_source` picks the source once per report (a small :class:`Source`, which a pack's
cache keys on) and :func:`read_source` reads it; :func:`load_injections` does both:

- **The store**: the rows of the store's ``hcd_activity`` table (``medlib ingest FILE --table
  hcd_activity``) up to the report's data end whose molecule is an anti-VEGF
  (:data:`ANTI_VEGF_MOLECULES`) and whose indication names wet AMD (:func:`is_wet_amd`), for the
  trusts of the context's comparison group that have such rows (merged trusts under their
  successor). They pass through :func:`medlib.io.hcd_activity.validate_hcd_activity` again, so
  every row read is accounted for. When the rows carry an ``eye`` each eye is followed on its
  own; otherwise each patient's injections are one course.
- **The synthetic sample**, when the store holds no such rows for those trusts:
  :func:`medlib.synthetic.anti_vegf.generate_anti_vegf` for the fixed trusts of
  :data:`SYNTHETIC_TRUSTS` over the :data:`WINDOW_YEARS` years to the data end. The set of
  trusts does not depend on the trust a report is for, so every report of a pack shows the
  same sample and the same peer figures; a trust outside the set has no injections in it.

Both are read or generated once per pack render (:func:`medlib.pack_cache.pack_cached`). The
records are patient level: analysts and the analyses only, never a lead-facing table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from medlib.context import ReportContext
from medlib.errors import InputError
from medlib.io.hcd_activity import EYE_COLUMN, HCD_COLUMNS, validate_hcd_activity
from medlib.io.usage import LoadSummary
from medlib.pack_cache import pack_cached
from medlib.reference.trusts import map_to_successor, trusts_table
from medlib.synthetic.anti_vegf import AntiVegfTruth, generate_anti_vegf
from medlib.synthetic.hcd_activity import DEFAULT_TRUSTS, SYNTHETIC_LABEL

__all__ = [
    "ANTI_VEGF_MOLECULES",
    "STORE_SOURCE",
    "SYNTHETIC_TRUSTS",
    "WINDOW_YEARS",
    "Injections",
    "Source",
    "choose_source",
    "comparison_trusts",
    "is_wet_amd",
    "load_injections",
    "read_source",
    "store_anti_vegf_rows",
    "synthetic_sample",
    "synthetic_source",
    "synthetic_window",
]

#: Molecules given as intravitreal anti-VEGF injections for wet AMD (bevacizumab off label).
ANTI_VEGF_MOLECULES = ("aflibercept", "bevacizumab", "brolucizumab", "faricimab", "ranibizumab")
#: The trusts of the synthetic sample: the eight acute trusts of North East and North Cumbria
#: the bundled samples use, whichever trust a report is for.
SYNTHETIC_TRUSTS = tuple(DEFAULT_TRUSTS)
#: Years of synthetic injections before the data end (an incident cohort over them).
WINDOW_YEARS = 4
#: What tables and pages call the store's rows.
STORE_SOURCE = "data store hcd_activity (anti-VEGF injections for wet AMD)"

#: Wet AMD as indications are written: AMD, ARMD, nAMD or wAMD, age-related macular
#: degeneration, or wet (neovascular, exudative) macular degeneration. Anti-VEGF injections
#: are licensed for wet AMD only among the forms of AMD, so AMD alone reads as wet.
_WET_AMD = re.compile(
    r"\b(?:amd|armd|namd|wamd)\b|age[- ]related macular degeneration"
    r"|\b(?:wet|neovascular|exudative)\b.*\bmacular degeneration\b",
    re.IGNORECASE,
)
#: What makes it another condition: dry (atrophic, non-neovascular) AMD, geographic atrophy,
#: and myopic macular degeneration (myopic choroidal neovascularisation).
_NOT_WET = re.compile(
    r"\b(?:dry|atrophic|geographic atrophy|myopic|non[- ]?(?:neovascular|exudative))\b",
    re.IGNORECASE,
)


def is_wet_amd(indication: pd.Series) -> pd.Series:
    """Whether each indication names wet (neovascular) age-related macular degeneration.

    Diabetic macular oedema, retinal vein occlusion, myopic choroidal neovascularisation and
    dry AMD are other indications of the same molecules and are not wet AMD; a missing
    indication is not either (the row cannot be told apart).

    Example:
        >>> is_wet_amd(pd.Series(["Wet AMD", "neovascular age-related macular degeneration",
        ...     "nAMD", "ARMD", "diabetic macular oedema", "dry AMD", "myopic CNV", None])).tolist()
        [True, True, True, True, False, False, False, False]
    """
    text = indication.astype(object).where(indication.notna(), "").astype(str)
    return text.map(lambda t: bool(_WET_AMD.search(t)) and not _NOT_WET.search(t)).astype(bool)


def synthetic_window(through: pd.Timestamp) -> tuple[str, str]:
    """First and last day of the synthetic sample: the :data:`WINDOW_YEARS` years to ``through``.

    Example:
        >>> synthetic_window(pd.Timestamp("2024-03-31"))
        ('2020-04-01', '2024-03-31')
    """
    end = pd.Timestamp(through).normalize()
    start = end - pd.DateOffset(years=WINDOW_YEARS) + pd.Timedelta(days=1)
    return f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"


def synthetic_source(seed: int) -> str:
    """What every table and page calls the synthetic sample (it says "synthetic").

    Example:
        >>> synthetic_source(2025)
        'synthetic anti-VEGF sample (seed 2025)'
    """
    return f"synthetic anti-VEGF sample (seed {seed})"


@dataclass(frozen=True)
class Injections:
    """The injection records a wet AMD report is made from.

    Attributes:
        records: One row per injection (the ``hcd_activity`` columns, with ``eye`` when known)
            for every trust compared. Patient level: analysts only.
        trusts: The trusts compared, in order.
        synthetic: Whether the records are the synthetic sample.
        source: How tables and pages name the data (says "synthetic" when they are).
        first_day: The first day the data can hold (the sample's window, or the first row).
        through: The data end (a whole day, included).
        has_eye: Whether the records say which eye was treated.
        seed: The sample's seed (None for the store's rows).
        truth: The sample's ground truth (None for the store's rows).
        behaviours: ``{trust: planted interval behaviour}`` of the sample (empty for the store).
        load: The validation summary of the store's rows (None for the sample).
        files: The files the store's ingest log names for the rows used.
        other_indications: Anti-VEGF rows of the trusts compared left out because their
            indication is not wet AMD (or missing).
        store_trusts: Trusts with wet AMD rows in the store (outside the comparison group
            too), so a page can say why the sample stands in.
    """

    records: pd.DataFrame
    trusts: tuple[str, ...]
    synthetic: bool
    source: str
    first_day: pd.Timestamp
    through: pd.Timestamp
    has_eye: bool
    seed: int | None = None
    truth: AntiVegfTruth | None = field(default=None, repr=False)
    behaviours: dict[str, str] = field(default_factory=dict)
    load: LoadSummary | None = None
    files: tuple[str, ...] = ()
    other_indications: int = 0
    store_trusts: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The synthetic-data label, or the store's source."""
        return SYNTHETIC_LABEL if self.synthetic else STORE_SOURCE


@pack_cached
def synthetic_sample(trusts: tuple[str, ...], seed: int, start: str, end: str) -> Injections:
    """The synthetic sample for ``trusts`` from ``start`` to ``end``, generated once per pack."""
    sample = generate_anti_vegf(list(trusts), seed, start=start, end=end)
    return Injections(
        records=sample.records,
        trusts=tuple(trusts),
        synthetic=True,
        source=synthetic_source(seed),
        first_day=pd.Timestamp(start),
        through=pd.Timestamp(end),
        has_eye=True,
        seed=seed,
        truth=sample.truth,
        behaviours=dict(sample.settings["behaviours"]),
    )


@pack_cached
def store_anti_vegf_rows(store: str, through: pd.Timestamp) -> pd.DataFrame:
    """The store's anti-VEGF ``hcd_activity`` rows up to ``through``, merged trusts mapped.

    Read in the engine (DuckDB reads the month files; only anti-VEGF rows up to ``through``
    reach pandas). Patient level: analysts and the analyses only.

    Args:
        store: The store's folder; empty for the bundled sample's store (which has none).
        through: The last day wanted.

    Returns:
        Rows with the ``hcd_activity`` columns, ``eye`` when the store's files have it, and
        the stream in ``source``; none when the store has no ``hcd_activity`` table.
    """
    import duckdb

    from medlib.io.datasets import bundled_store
    from medlib.io.store import Store

    source = Store(store) if store else bundled_store()
    if not source.files("hcd_activity"):
        return pd.DataFrame(columns=[*HCD_COLUMNS, "source"])
    scan = "read_parquet(?, hive_partitioning = false, union_by_name = true)"
    glob = source.glob("hcd_activity")
    with duckdb.connect() as con:
        columns = set(con.execute(f"DESCRIBE SELECT * FROM {scan}", [glob]).df()["column_name"])
        wanted = [*HCD_COLUMNS, *([EYE_COLUMN] if EYE_COLUMN in columns else []), "source"]
        molecules = ", ".join(f"'{m}'" for m in ANTI_VEGF_MOLECULES)
        rows = con.execute(
            f"SELECT {', '.join(wanted)} FROM {scan} "
            f"WHERE activity_date <= ? AND lower(molecule) IN ({molecules}) "
            "ORDER BY trust_code, patient_id, activity_date, source",
            [glob, pd.Timestamp(through).date()],
        ).df()
    rows["activity_date"] = pd.to_datetime(rows["activity_date"]).astype("datetime64[ns]")
    return map_to_successor(rows, keep_original=False)


def comparison_trusts(context: ReportContext, with_rows: Sequence[str]) -> tuple[str, ...]:
    """The trusts of the context's comparison group among ``with_rows``, sorted.

    The report's own trust is among them only when it has rows: the set is the same for every
    trust of a pack in the same group. ``national`` keeps every trust with rows.
    """
    codes = set(with_rows)
    if context.comparison_group != "national":
        column = "region" if context.comparison_group == "region" else "icb_code"
        key = context.region if column == "region" else context.icb_code
        table = trusts_table()
        codes &= set(table.loc[table[column] == key, "trust_code"]) if key is not None else set()
    return tuple(sorted(codes))


def _store_files(store: str, streams: Sequence[str]) -> tuple[str, ...]:
    """The files the ingest log records for these ``hcd_activity`` streams, oldest first."""
    from medlib.io.datasets import bundled_store
    from medlib.io.store import Store

    log = (Store(store) if store else bundled_store()).log()
    if log.empty:
        return ()
    mine = log[(log["table"] == "hcd_activity") & log["stream"].isin(list(streams))]
    return tuple(dict.fromkeys(mine["file"]))


@dataclass(frozen=True)
class Source:
    """Which injections a report reads: small, so a pack's cache keys on it.

    Attributes:
        synthetic: The synthetic sample (else the store's rows).
        trusts: The trusts compared.
        through: The data end.
        seed: The sample's seed (synthetic only).
        start: The sample's first day (synthetic only).
        store: The store's folder (empty for the bundled sample's store).
        store_trusts: Trusts with wet AMD rows in the store, in the comparison group or not.
    """

    synthetic: bool
    trusts: tuple[str, ...]
    through: pd.Timestamp
    seed: int | None = None
    start: str | None = None
    store: str = ""
    store_trusts: tuple[str, ...] = ()


def choose_source(context: ReportContext, *, store: str = "", seed: int = 2025) -> Source:
    """The store's wet AMD rows of the comparison group when there are any, else the sample.

    Args:
        context: The report's trust and period end (the data end is its last day).
        store: The store's folder; empty for the bundled sample's store.
        seed: Seed of the synthetic sample.
    """
    through = pd.Timestamp(context.census_date).normalize()
    rows = store_anti_vegf_rows(store, through)
    wet = rows[is_wet_amd(rows["indication"])] if len(rows) else rows
    with_rows = tuple(sorted(set(wet["trust_code"])))
    trusts = comparison_trusts(context, with_rows)
    if trusts:
        return Source(False, trusts, through, store=store, store_trusts=with_rows)
    start, _ = synthetic_window(through)
    return Source(True, SYNTHETIC_TRUSTS, through, int(seed), start, store, with_rows)


@pack_cached
def read_source(source: Source) -> Injections:
    """The injections of a :class:`Source`, read or generated once per pack render.

    Raises:
        InputError: The store's rows for the trusts compared are all quarantined.
    """
    if source.synthetic:
        end = f"{source.through:%Y-%m-%d}"
        sample = synthetic_sample(source.trusts, int(source.seed or 0), str(source.start), end)
        return replace(sample, store_trusts=source.store_trusts)
    rows = store_anti_vegf_rows(source.store, source.through)
    ours = rows[rows["trust_code"].isin(source.trusts)]
    chosen = ours[is_wet_amd(ours["indication"])]
    has_eye = EYE_COLUMN in chosen.columns and bool(chosen[EYE_COLUMN].notna().any())
    columns = [*HCD_COLUMNS, *([EYE_COLUMN] if has_eye else [])]
    load = validate_hcd_activity(
        chosen[columns].reset_index(drop=True), source="store hcd_activity", known_trusts=()
    )
    if load.data.empty:
        raise InputError(
            "store: every wet AMD anti-VEGF row of the trusts compared is quarantined; see "
            "the store's quarantine files"
        )
    return Injections(
        records=load.data,
        trusts=source.trusts,
        synthetic=False,
        source=STORE_SOURCE,
        first_day=pd.Timestamp(load.data["activity_date"].min()),
        through=source.through,
        has_eye=has_eye,
        load=load.summary,
        files=_store_files(source.store, sorted(set(chosen["source"]))),
        other_indications=len(ours) - len(chosen),
        store_trusts=source.store_trusts,
    )


def load_injections(context: ReportContext, *, store: str = "", seed: int = 2025) -> Injections:
    """The injections a report for ``context`` is made from (see the module docstring).

    Args:
        context: The report's trust and period end.
        store: The store's folder; empty for the bundled sample's store.
        seed: Seed of the synthetic sample (used when the store has no wet AMD rows).

    Returns:
        The records and what they are.
    """
    return read_source(choose_source(context, store=store, seed=seed))
