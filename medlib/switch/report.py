"""Everything the ``switch_uptake`` notebook shows: its sections, sentences and tables.

:func:`build` takes a resolved :class:`~medlib.context.ReportContext` and reads the brand-level
``hcd_activity`` rows of the store up to the context's period end. When the store has rows for
the trust, the report is made from them (real data), compared with the trusts of the context's
comparison group that have rows; when it has none, it generates the synthetic sample
(:mod:`medlib.synthetic.hcd_activity`) instead, cuts it at the period end, runs it through the
``hcd_activity`` validator, and says so on every page, chart and table. Either way it computes
uptake, targets, savings and forecasts for every trust compared. The :class:`SwitchReport` it
returns meets the one report contract (:class:`~medlib.present.sections.Report`): each
section returns what it shows, and :meth:`SwitchReport.tables` are the tables for the report
pack. What a lead reads of them is made by :func:`~medlib.present.sections.lead_table`
(:func:`headline_lead_table`, :func:`league_lead_table`), every status beside the figures it
was judged on and every column naming its month; molecules the trust has no activity for are
named once and get no chart or table. A switch launched after the period end is left out,
and the data note says so.

Disclosure: every patient count and every percentage computed from patient counts that leaves
this module for a lead goes through :mod:`medlib.present.disclosure`; percentages are computed
from the published counts, and the months of the monthly uptake that add up to the headline's
new patients get secondary suppression (:func:`monthly_uptake_table`). Patient-level tables
(switch-back lists, time to switch per patient) are never part of :meth:`tables`; an analyst
gets them with :meth:`SwitchReport.analyst_switch_backs`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from medlib.context import ReportContext
from medlib.errors import MedlibError
from medlib.io.hcd_activity import validate_hcd_activity
from medlib.io.usage import LoadResult
from medlib.pack_cache import pack_cached
from medlib.present.disclosure import (
    POLICY_MARKDOWN,
    Group,
    complementary_suppression,
    disclose_count,
    disclose_percentage,
    disclose_table,
)
from medlib.present.sections import Report, Section, Table, lead_table
from medlib.present.wording import (
    format_count,
    format_disclosed_pct,
    format_gbp,
    format_month,
    format_month_short,
    format_pct,
)
from medlib.reference.trusts import map_to_successor, trusts_table
from medlib.reference.trusts import trust_names as reference_trust_names
from medlib.switch.charts import (
    disclosed_percentages,
    doac_chart,
    savings_chart,
    time_to_switch_chart,
    uptake_chart,
    vmp_proxy_chart,
)
from medlib.switch.definitions import (
    TARGET_PROFILES,
    SwitchDefinition,
    SwitchDefinitionError,
    TargetProfile,
    load_switch_definitions,
    select_switches,
)
from medlib.switch.savings import FORECAST_COLUMNS, forecast_vs_realised, savings_summary
from medlib.switch.uptake import (
    brand_quantities,
    brand_quantity_share,
    count_switch_backs,
    existing_patient_uptake,
    month_start,
    new_patient_uptake,
    switch_backs,
    target_status,
    time_to_switch,
    time_to_switch_distribution,
    vmp_proxy_share,
)
from medlib.switch.uptake_curve import LogisticFit, fit_doac_curve
from medlib.synthetic.hcd_activity import (
    BEHAVIOURS,
    DEFAULT_TRUSTS,
    SYNTHETIC_LABEL,
    SyntheticHcd,
    generate_hcd_activity,
)

__all__ = [
    "JudgedAt",
    "MoleculeResult",
    "analyse_molecule",
    "SwitchReport",
    "SwitchReportError",
    "agreeing_share",
    "build",
    "existing_target_sentence",
    "forecast_sentence",
    "headline_lead_table",
    "headline_summary",
    "headline_table",
    "judged_at",
    "league_lead_table",
    "league_table",
    "monthly_uptake_table",
    "new_target_sentence",
    "savings_sentence",
    "savings_table",
    "shared_switch_analysis",
    "store_hcd_activity",
    "validate_parameters",
]

SHORT_LABEL = "Synthetic data."
#: What pages say of a report made from the store's own ``hcd_activity`` rows.
STORE_LABEL = "Brand-level activity from the data store's hcd_activity table"
STORE_SHORT_LABEL = "Activity from the data store."
SUPPRESSED_SHARE = "not shown because fewer than 8 patients are involved"
COUNTS_NOTE = "Patient counts rounded to the nearest 5; counts of 1 to 7 shown as an asterisk."
STATUS_WORDS = {
    "met": "met",
    "not met": "not met",
    "not yet due": "not yet due",
    "no patients": "no patients to measure",
}


class SwitchReportError(MedlibError, ValueError):
    """Notebook parameters that cannot produce a switch-uptake report."""


def _money(value: float) -> str:
    # Savings are modelled: rounded so they do not look more precise than they are.
    return format_gbp(value, "estimate")


# --------------------------------------------------------------------------- sentences


def new_target_sentence(row: Mapping[str, Any], molecule: str) -> str:
    """Plain-English status of the new-patient target from a :func:`target_status` row."""
    target = f"{row['target_share'] * 100:.0f}%"
    if row["status"] == "not yet due":
        return (
            f"New patients ({molecule}): the target ({target} started on a best-value "
            f"product from {format_month_short(row['target_month'])}) is not yet due."
        )
    patients = disclose_count(row["patients"])
    if row["status"] == "no patients":
        return (
            f"New patients ({molecule}): no new patients started from "
            f"{format_month_short(row['target_month'])}, so the {target} target cannot be measured."
        )
    pct = agreeing_share(
        disclose_percentage(row["on_best_value"], row["patients"]),
        row["status"],
        row["target_share"],
    )
    if pct == "*":
        share = (
            f"{format_count(patients, 'new patients')} ({row['measured']}); the share started "
            f"on a best-value product is {SUPPRESSED_SHARE}"
        )
    else:
        share = (
            f"of {format_count(patients, 'new patients')} ({row['measured']}), "
            f"{_share_text(pct)} were started on a best-value product"
        )
    text = (
        f"New patients ({molecule}): {share}; target {target}: **{STATUS_WORDS[row['status']]}**."
    )
    if row["status"] == "not met":
        gap = disclose_count(row["gap_patients"])
        text += (
            f" To have met it, {format_count(gap, 'more patients')} would have needed to "
            "start on a best-value product."
        )
    return text


def existing_target_sentence(
    row: Mapping[str, Any], molecule: str, latest: Mapping[str, Any] | None = None
) -> str:
    """Plain-English status of the existing-patient target.

    Args:
        row: The ``existing`` row from :func:`medlib.switch.uptake.target_status`.
        molecule: Molecule name for the sentence.
        latest: The latest month's row from :func:`medlib.switch.uptake.existing_patient_uptake`,
            quoted when the target is not yet due.
    """
    target = f"{row['target_share'] * 100:.0f}%"
    if row["status"] == "not yet due":
        text = (
            f"Existing patients ({molecule}): the {target} target falls due at the end of "
            f"{format_month_short(row['target_month'])}."
        )
        if latest is not None:
            pct = disclose_percentage(latest["existing_best_value"], latest["existing_patients"])
            if pct == "*":
                text += (
                    f" At the end of {format_month_short(latest['year_month'])}, the share on a "
                    f"best-value product is {SUPPRESSED_SHARE}."
                )
            else:
                text += (
                    f" At the end of {format_month_short(latest['year_month'])}, "
                    f"{format_disclosed_pct(pct)} "
                    "of existing patients on treatment were on a best-value product."
                )
        return text
    if row["status"] == "no patients":
        return (
            f"Existing patients ({molecule}): no existing patients were on treatment at "
            f"the end of {format_month_short(row['target_month'])}, so the target cannot be "
            "measured."
        )
    pct = agreeing_share(
        disclose_percentage(row["on_best_value"], row["patients"]),
        row["status"],
        row["target_share"],
    )
    patients = format_count(disclose_count(row["patients"]), "existing patients on treatment")
    when = (
        f"at the end of {format_month_short(row['target_month'])}, {row['target_months']} months "
        "after launch"
    )
    if pct == "*":
        share = f"{when}, {patients}; the share on a best-value product is {SUPPRESSED_SHARE}"
    else:
        share = f"{when}, {_share_text(pct)} of {patients} were on a best-value product"
    text = (
        f"Existing patients ({molecule}): {share}; target {target}: "
        f"**{STATUS_WORDS[row['status']]}**."
    )
    if row["status"] == "not met":
        gap = disclose_count(row["gap_patients"])
        text += f" Meeting it needed {format_count(gap, 'more patients')} on a best-value product."
    return text


def _share_text(pct: float | str) -> str:
    # A share written as the side of its target ("under 100%") is already words.
    return pct if isinstance(pct, str) and pct != "*" else format_disclosed_pct(pct)


def savings_sentence(
    achieved_gbp: float, annual_remaining_gbp: float, target_share: float, molecule: str
) -> str:
    """Achieved and remaining savings in one sentence."""
    text = (
        f"Savings ({molecule}): since launch, using best-value products saved "
        f"{_money(achieved_gbp)} against paying the originator list price for the same "
        "activity."
    )
    if annual_remaining_gbp > 0:
        text += (
            f" A further {_money(annual_remaining_gbp)} a year is available if "
            f"{target_share * 100:.0f}% of use moved to best value."
        )
    else:
        text += (
            f" Best-value use is at or above {target_share * 100:.0f}%, so no further "
            "saving is counted against that target."
        )
    return text


def forecast_sentence(fvr: pd.DataFrame, molecule: str) -> str:
    """Forecast beside realised savings, from :func:`medlib.switch.savings.forecast_vs_realised`."""
    if fvr.empty:
        return f"Forecast ({molecule}): no activity, so nothing to forecast."
    realised = fvr[fvr["realised_saving_gbp"].notna()]
    data_end = realised["year_month"].max()
    to_date = realised["cumulative_forecast_gbp"].iloc[-1]
    got = realised["cumulative_realised_gbp"].iloc[-1]
    year_end = fvr["year_month"].max()
    text = (
        f"Forecast ({molecule}): by {format_month_short(data_end)} the programme assumptions "
        "forecast "
        f"{_money(to_date)}; {_money(got)} was realised."
    )
    if year_end > data_end:
        text += (
            f" To the financial year end ({format_month_short(year_end)}) the forecast is "
            f"{_money(fvr['cumulative_forecast_gbp'].iloc[-1])} and, at the recent rate, "
            f"realised savings would reach {_money(fvr['cumulative_realised_gbp'].iloc[-1])}."
        )
    return text


def doac_sentence(series: pd.DataFrame, fit: LogisticFit) -> str:
    """Describe the real DOAC switch and its fitted curve."""
    first, last = series.iloc[0], series.iloc[-1]
    ten_to_fifty = fit.months_between(0.10, 0.50)
    half = fit.month_reaching(0.5)
    text = (
        f"DOACs made up {format_pct(first['doac_share'] * 100)} of DOAC and warfarin items in "
        f"England in {format_month_short(first['year_month'])} and "
        f"{format_pct(last['doac_share'] * 100)} in "
        f"{format_month_short(last['year_month'])}. The fitted logistic curve levels off at "
        f"{fit.ceiling * 100:.0f}% and is steepest around {format_month_short(fit.midpoint_month)}"
    )
    if half is not None and not math.isnan(ten_to_fifty):
        text += (
            f"; it took about {ten_to_fifty:.0f} months to climb from 10% to 50% "
            f"(reached in {format_month_short(half)})"
        )
    text += (
        f". The curve fits every month to within a typical {fit.rmse * 100:.1f} percentage "
        "points. Without a national switching programme, uptake took years, not the "
        "3 to 10 months the biosimilar targets expect."
    )
    return text


# --------------------------------------------------------------------------- results


@dataclass
class MoleculeResult:
    """Every trust's results for one switch."""

    definition: SwitchDefinition
    profile: TargetProfile
    new: pd.DataFrame
    existing: pd.DataFrame
    status: pd.DataFrame
    quantity_share: pd.DataFrame
    switch_back_counts: pd.DataFrame
    time_to_switch: pd.DataFrame
    savings: pd.DataFrame
    forecast: pd.DataFrame
    through: pd.Timestamp | None

    @property
    def molecule(self) -> str:
        """The molecule name."""
        return self.definition.molecule


def analyse_molecule(
    activity: pd.DataFrame, definition: SwitchDefinition, trusts: list[str], trust_code: str
) -> MoleculeResult:
    """Every result for one switch from validated ``hcd_activity`` rows (no synthetic sample).

    Args:
        activity: Canonical ``hcd_activity`` rows (any molecules; this one is selected).
        definition: The switch.
        trusts: Trusts to compare.
        trust_code: The trust whose savings forecast is computed.
    """
    rows = activity[activity["molecule"] == definition.molecule]
    return _with_forecast(_analyse_all_trusts(rows, definition, trusts), rows, trust_code)


def _with_forecast(result: MoleculeResult, rows: pd.DataFrame, trust_code: str) -> MoleculeResult:
    """The result with the forecast for the report's own trust (the one trust-specific part)."""
    forecast = forecast_vs_realised(rows, result.definition, trust_code, profile=result.profile)
    return replace(result, forecast=forecast)


def _analyse_all_trusts(
    rows: pd.DataFrame, definition: SwitchDefinition, trusts: list[str]
) -> MoleculeResult:
    """Every trust's results for one molecule's rows, the forecast left empty."""
    through = None if rows.empty else pd.Timestamp(rows["activity_date"].max())
    new = new_patient_uptake(rows, definition, trusts=trusts, through=through)
    existing = existing_patient_uptake(rows, definition, trusts=trusts, through=through)
    profile = definition.target_profile
    status = target_status(new, existing, definition, profile)
    quantities = brand_quantities(rows, definition.molecule)
    switch_times = time_to_switch(rows, definition)
    return MoleculeResult(
        definition=definition,
        profile=profile,
        new=new,
        existing=existing,
        status=status,
        quantity_share=brand_quantity_share(quantities, definition, trusts=trusts),
        switch_back_counts=count_switch_backs(rows, definition, trusts=trusts),
        time_to_switch=time_to_switch_distribution(switch_times, definition, through=through),
        savings=savings_summary(rows, definition, trusts=trusts),
        forecast=pd.DataFrame(columns=FORECAST_COLUMNS),
        through=through,
    )


@pack_cached
def store_hcd_activity(store: str, through: pd.Timestamp) -> pd.DataFrame:
    """The store's ``hcd_activity`` rows up to ``through``, merged trusts under their successor.

    Read in the engine (DuckDB reads the month files; only rows up to ``through`` reach
    pandas). Patient level: analysts and the switch analyses only, never a lead-facing table.

    Args:
        store: The store's folder; empty for the bundled sample's store.
        through: The last day wanted.

    Returns:
        Canonical ``hcd_activity`` rows with the stream in ``source`` (none when the store has
        no such table).
    """
    import duckdb

    from medlib.io.datasets import bundled_store
    from medlib.io.store import Store

    source = Store(store) if store else bundled_store()
    columns = ["patient_id", "trust_code", "activity_date", "molecule", "product", "indication"]
    if not source.files("hcd_activity"):
        return pd.DataFrame(columns=[*columns, "quantity", "cost_gbp", "source"])
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT {', '.join(columns)}, quantity, cost_gbp, source "
            "FROM read_parquet(?, hive_partitioning = false) WHERE activity_date <= ? "
            "ORDER BY trust_code, patient_id, activity_date, source",
            [source.glob("hcd_activity"), pd.Timestamp(through).date()],
        ).df()
    rows["activity_date"] = pd.to_datetime(rows["activity_date"]).astype("datetime64[ns]")
    return map_to_successor(rows, keep_original=False)


def comparison_trusts(context: ReportContext, with_rows: Sequence[str]) -> list[str]:
    """The trusts a store-based report compares: its comparison group's trusts that have rows.

    The report's own trust comes first. ``national`` compares every trust with rows.
    """
    codes = set(with_rows)
    if context.comparison_group != "national":
        column = "region" if context.comparison_group == "region" else "icb_code"
        key = context.region if column == "region" else context.icb_code
        if key is not None:
            table = trusts_table()
            codes &= set(table.loc[table[column] == key, "trust_code"])
    return [context.code, *sorted(codes - {context.code})]


@pack_cached
def store_switch_analysis(
    definitions: list[SwitchDefinition], trusts: list[str], store: str, through: pd.Timestamp
) -> tuple[LoadResult, list[MoleculeResult]]:
    """Every compared trust's results from the store's rows, shared by each trust's report.

    The store's rows pass through the ``hcd_activity`` validator again (they were validated
    on ingest), so the report accounts for every row it reads.
    """
    rows = store_hcd_activity(store, through)
    rows = rows[rows["trust_code"].isin(trusts)].drop(columns="source")
    load = validate_hcd_activity(
        rows.reset_index(drop=True), source="store hcd_activity", known_trusts=()
    )
    activity = load.data
    results = [
        _analyse_all_trusts(activity[activity["molecule"] == d.molecule], d, trusts)
        for d in definitions
    ]
    return load, results


@pack_cached
def shared_switch_analysis(
    definitions: list[SwitchDefinition],
    trusts: list[str],
    seed: int,
    volumes: pd.DataFrame | None = None,
    through: pd.Timestamp | None = None,
) -> tuple[SyntheticHcd, LoadResult, list[MoleculeResult]]:
    """The synthetic sample and every trust's results, the same for each trust's report.

    The sample is always generated in full (so its random draws do not depend on the period),
    then cut at ``through``, the last day a report shows. Cached for the length of a pack
    render (:mod:`medlib.pack_cache`); forecasts, which are per trust, are left empty for
    :func:`build` to add.

    Raises:
        SwitchReportError: The sample cannot be generated for these trusts.
    """
    try:
        sample = generate_hcd_activity(definitions, trusts, seed, volumes=volumes)
    except ValueError as exc:
        raise SwitchReportError(str(exc)) from None
    if through is not None:
        cut = sample.activity[sample.activity["activity_date"] <= pd.Timestamp(through)]
        sample = replace(sample, activity=cut.reset_index(drop=True))
    load = validate_hcd_activity(
        sample.activity, source="synthetic hcd_activity sample", known_trusts=trusts
    )
    activity = load.data
    if activity.equals(sample.activity):
        # One frame, not two equal ones: halves what a cached result stores and loads.
        sample = replace(sample, activity=activity)
    results = [
        _analyse_all_trusts(activity[activity["molecule"] == d.molecule], d, trusts)
        for d in definitions
    ]
    return sample, load, results


LEAGUE_COLUMNS = [
    "molecule",
    "rank",
    "trust_code",
    "trust_name",
    "this_trust",
    "existing_patients_at_target",
    "pct_existing_best_value_at_target",
    "existing_target_status",
    "existing_patients_latest",
    "pct_existing_best_value_latest",
    "new_patients_since_target",
    "pct_new_best_value_since_target",
    "new_target_status",
    "patients_switched_back",
]


def league_table(
    result: MoleculeResult, trust_names: Mapping[str, str], trust_code: str
) -> pd.DataFrame:
    """Lead-facing comparison of every trust for one switch, with disclosure control.

    Each status sits beside the figures it was judged on: the existing-patient status beside
    the existing patients at the end of the target month (``*_at_target``), the new-patient
    status beside the new patients from the target month to the latest month
    (``*_since_target``). The latest month's existing patients are shown too, labelled as
    latest, and rank the trusts; trusts whose latest share is suppressed are listed unranked
    at the end.

    Returns:
        Columns as :data:`LEAGUE_COLUMNS` (counts and percentages disclosed; the figures at
        the target month are empty while the target is not yet due).
    """
    if result.existing.empty:
        return pd.DataFrame(columns=LEAGUE_COLUMNS)
    last = result.existing["months_since_launch"].max()
    latest = result.existing[result.existing["months_since_launch"] == last].set_index("trust_code")
    status = result.status.set_index(["trust_code", "group"])
    new_since = result.new[result.new["months_since_launch"] >= result.profile.new_months]
    new_since = new_since.groupby("trust_code")[["new_patients", "new_best_value"]].sum()
    backs = result.switch_back_counts.set_index("trust_code")["patients_switched_back"]
    raw = pd.DataFrame({"trust_code": latest.index})
    # The counts the status was judged on, so the percentage beside it cannot disagree.
    existing = [status.loc[(t, "existing")] for t in raw["trust_code"]]
    raw["existing_patients_at_target"] = [row["patients"] for row in existing]
    raw["existing_best_value_at_target"] = [row["on_best_value"] for row in existing]
    raw["existing_patients_latest"] = raw["trust_code"].map(latest["existing_patients"])
    raw["existing_best_value_latest"] = raw["trust_code"].map(latest["existing_best_value"])
    raw["new_patients_since_target"] = (
        raw["trust_code"].map(new_since["new_patients"]).fillna(0).astype(int)
    )
    raw["new_best_value_since_target"] = (
        raw["trust_code"].map(new_since["new_best_value"]).fillna(0).astype(int)
    )
    raw["patients_switched_back"] = raw["trust_code"].map(backs).fillna(0).astype(int)
    raw["existing_target_status"] = [row["status"] for row in existing]
    raw["new_target_status"] = [status.loc[(t, "new"), "status"] for t in raw["trust_code"]]
    out = disclose_table(
        raw,
        count_columns=[
            "existing_patients_at_target",
            "existing_patients_latest",
            "new_patients_since_target",
            "patients_switched_back",
        ],
        percentage_columns={
            "pct_existing_best_value_at_target": (
                "existing_best_value_at_target",
                "existing_patients_at_target",
            ),
            "pct_existing_best_value_latest": (
                "existing_best_value_latest",
                "existing_patients_latest",
            ),
            "pct_new_best_value_since_target": (
                "new_best_value_since_target",
                "new_patients_since_target",
            ),
        },
    )
    numeric = pd.to_numeric(out["pct_existing_best_value_latest"], errors="coerce")
    out["rank"] = numeric.rank(ascending=False, method="min")
    out["rank"] = out["rank"].astype("Int64")
    out["trust_name"] = [trust_names.get(t, t) for t in out["trust_code"]]
    out["this_trust"] = np.where(out["trust_code"] == trust_code, "this trust", "")
    out["molecule"] = result.molecule
    out = out.assign(_order=numeric.fillna(-1)).sort_values(
        ["_order", "trust_code"], ascending=[False, True]
    )
    return out[LEAGUE_COLUMNS].reset_index(drop=True)


@dataclass(frozen=True)
class JudgedAt:
    """The months a switch's figures are measured at (the same for every trust compared).

    Attributes:
        new_from: The new-patient target month: new patients who start from it on count.
        existing_at: The existing-patient target month, judged at its end.
        latest: The latest month of data (None when there is none).
    """

    new_from: pd.Timestamp
    existing_at: pd.Timestamp
    latest: pd.Timestamp | None

    @property
    def new_due(self) -> bool:
        """Whether the data reach the new-patient target month."""
        return self.latest is not None and self.latest >= self.new_from

    @property
    def existing_due(self) -> bool:
        """Whether the data reach the existing-patient target month."""
        return self.latest is not None and self.latest >= self.existing_at

    @property
    def new_window(self) -> str:
        """The new patients counted: ``Jan 2019 to Mar 2020`` (or ``from Jan 2019``)."""
        start = format_month_short(self.new_from)
        return f"{start} to {format_month_short(self.latest)}" if self.new_due else f"from {start}"

    @property
    def existing_point(self) -> str:
        """When existing patients are counted: ``end of Aug 2019``."""
        return f"end of {format_month_short(self.existing_at)}"

    def describe(self) -> str:
        """Both points in a few words, for the headline's *when judged* column.

        Example:
            >>> JudgedAt(pd.Timestamp("2020-04-01"), pd.Timestamp("2020-05-01"),
            ...          pd.Timestamp("2020-07-01")).describe()
            'new Apr 2020 to Jul 2020; existing end of May 2020'
        """
        new = f"new {self.new_window}" + ("" if self.new_due else ", not yet due")
        existing = ("existing " if self.existing_due else "existing due ") + self.existing_point
        return f"{new}; {existing}"


def judged_at(result: MoleculeResult) -> JudgedAt:
    """The target months and the latest month of one switch's results."""
    launch = result.definition.launch_month
    months = pd.to_datetime(result.new["year_month"]) if len(result.new) else None
    return JudgedAt(
        new_from=month_start(launch, result.profile.new_months)[0],
        existing_at=month_start(launch, result.profile.existing_months)[0],
        latest=None if months is None else pd.Timestamp(months.max()),
    )


ROUNDING_NOTE = (
    "Percentages are worked out from the rounded counts; where rounding would put a share on "
    'the wrong side of its target, it is shown as "under" the target or the target "or more".'
)


def agreeing_share(value: Any, status: str, target_share: float) -> Any:
    """A disclosed percentage as shown beside its status, so the two never disagree.

    Statuses are judged on the exact counts, percentages worked out from the rounded ones
    (:mod:`medlib.present.disclosure`), so 134 of 135 patients (not met against 100%) shows
    as 135 of 135, 100.0%. Such a share is written as the side of the target it is on, which
    the status says anyway; every other value is returned as it is.

    Example:
        >>> agreeing_share(100.0, "not met", 1.0), agreeing_share(77.3, "met", 0.8)
        ('under 100%', '80% or more')
        >>> agreeing_share(82.1, "not met", 1.0), agreeing_share("*", "met", 0.8)
        (82.1, '*')
    """
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return value
    target = f"{target_share * 100:.0f}%"
    if status == "not met" and value >= target_share * 100:
        return f"under {target}"
    if status == "met" and value < target_share * 100:
        return f"{target} or more"
    return value


def _agreeing_columns(
    frame: pd.DataFrame,
    columns: Sequence[tuple[str, str, Sequence[float]]],
    statuses: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, bool]:
    """The frame with :func:`agreeing_share` applied, and whether any value changed.

    Args:
        frame: Rows with disclosed percentages.
        columns: ``(percentage column, status column, target share per row)``.
        statuses: Where the status columns are (default: ``frame``; same index).
    """
    statuses = frame if statuses is None else statuses
    out = frame.copy()
    changed = False
    for pct, status, shares in columns:
        values = [
            agreeing_share(v, st, share)
            for v, st, share in zip(frame[pct], statuses[status], shares, strict=True)
        ]
        changed = changed or any(
            isinstance(new, str) and not isinstance(old, str)
            for new, old in zip(values, frame[pct], strict=True)
        )
        out[pct] = pd.Series(values, index=frame.index, dtype=object)
    return out, changed


#: The league columns a lead reads; the rest stay in the published table.
LEAGUE_SHOWN = [
    "rank",
    "trust_name",
    "this_trust",
    "existing_patients_at_target",
    "pct_existing_best_value_at_target",
    "existing_target_status",
    "pct_existing_best_value_latest",
    "new_patients_since_target",
    "pct_new_best_value_since_target",
    "new_target_status",
    "patients_switched_back",
]


def league_lead_table(league: pd.DataFrame, result: MoleculeResult, caption: str = "") -> Table:
    """The league table as a lead reads it, every column labelled with the month it refers to.

    Args:
        league: From :func:`league_table`.
        result: The switch's results (for its target months and latest month).
        caption: A line under the table.
    """
    when = judged_at(result)
    at, window = when.existing_point, when.new_window
    latest = format_month_short(when.latest) if when.latest is not None else "no data"
    labels = {
        "trust_name": "Trust",
        "existing_patients_at_target": f"Existing patients, {at}",
        "pct_existing_best_value_at_target": f"Existing on best value, {at} (%)",
        "existing_target_status": f"Existing-patient status, {at}",
        "pct_existing_best_value_latest": f"Existing on best value, latest month ({latest}) (%)",
        "new_patients_since_target": f"New patients, {window}",
        "pct_new_best_value_since_target": f"New on best value, {window} (%)",
        "new_target_status": f"New-patient status, {window}",
    }
    shown, adjusted = _agreeing_columns(
        league,
        [
            (
                "pct_existing_best_value_at_target",
                "existing_target_status",
                [result.profile.existing_share] * len(league),
            ),
            (
                "pct_new_best_value_since_target",
                "new_target_status",
                [result.profile.new_share] * len(league),
            ),
        ],
    )
    return lead_table(
        shown,
        caption=f"{caption} {ROUNDING_NOTE}".strip() if adjusted else caption,
        columns=LEAGUE_SHOWN,
        labels=labels,
        keys=("rank", "trust_name", "this_trust"),
        empty="No trust has activity for this molecule.",
    )


def monthly_uptake_table(result: MoleculeResult, trust_code: str) -> pd.DataFrame:
    """Lead-facing monthly uptake for one trust (disclosed counts and percentages).

    The new patients (and those started on best value) of the months from the target month on
    add up to the headline's new patients, so a month's ``*`` is protected by suppressing
    another month too (:func:`medlib.present.disclosure.complementary_suppression`).
    Percentages are computed from the published counts.

    Returns:
        Columns ``molecule, year_month, months_since_launch, new_patients,
        pct_new_best_value, existing_patients, pct_existing_best_value,
        pct_quantity_best_value``.
    """
    new = result.new[result.new["trust_code"] == trust_code]
    existing = result.existing[result.existing["trust_code"] == trust_code]
    merged = new.merge(
        existing, on=["trust_code", "year_month", "months_since_launch"], how="outer"
    )
    share = result.quantity_share[result.quantity_share["trust_code"] == trust_code]
    merged = merged.merge(
        share[["year_month", "pct_quantity_best_value"]], on="year_month", how="left"
    ).reset_index(drop=True)
    out = disclose_table(
        merged,
        count_columns=["new_patients", "existing_patients"],
        percentage_columns={
            "pct_new_best_value": ("new_best_value", "new_patients"),
            "pct_existing_best_value": ("existing_best_value", "existing_patients"),
        },
        suppressed=_hidden_for_the_total(merged, result.profile.new_months),
    )
    out["molecule"] = result.molecule
    out["pct_quantity_best_value"] = out["pct_quantity_best_value"].round(1)
    return out[
        [
            "molecule",
            "year_month",
            "months_since_launch",
            "new_patients",
            "pct_new_best_value",
            "existing_patients",
            "pct_existing_best_value",
            "pct_quantity_best_value",
        ]
    ].reset_index(drop=True)


def _hidden_for_the_total(merged: pd.DataFrame, new_months: int) -> list[tuple[int, str]]:
    """Monthly cells to suppress so the headline's total gives no month's ``*`` away.

    The months from the target month on add up to the headline's (and the league's) new
    patients and new patients on best value; a month without new patients adds 0.
    """
    since = merged.index[merged["months_since_launch"] >= new_months]
    counts: dict[tuple[object, str], float] = {}
    groups = []
    for column in ("new_patients", "new_best_value"):
        parts = [(i, column) for i in since]
        counts.update({k: float(np.nan_to_num(merged.at[k])) for k in parts})
        counts[("total", column)] = sum(counts[k] for k in parts)
        groups.append(Group(("total", column), tuple(parts)))
    hidden = complementary_suppression(counts, groups)
    return [k for k in hidden if k[0] != "total" and counts[k] > 0]


HEADLINE_COLUMNS = [
    "molecule",
    "launch_date",
    "target_profile",
    "new_target",
    "new_patients",
    "pct_new_best_value",
    "new_status",
    "new_gap_patients",
    "existing_target",
    "existing_patients",
    "pct_existing_best_value",
    "existing_status",
    "existing_gap_patients",
    "achieved_saving_gbp",
    "annual_remaining_gbp",
]


def headline_table(results: Sequence[MoleculeResult], trust_code: str) -> pd.DataFrame:
    """Lead-facing status against both targets for one trust, one row per molecule.

    Returns:
        Columns as :data:`HEADLINE_COLUMNS`; patient counts, gaps and percentages disclosed;
        money rounded to whole pounds.
    """
    records = []
    for r in results:
        st = r.status[r.status["trust_code"] == trust_code].set_index("group")
        sav = r.savings[r.savings["trust_code"] == trust_code]
        rec: dict[str, Any] = {
            "molecule": r.molecule,
            "launch_date": r.definition.launch_date.isoformat(),
            "target_profile": r.profile.name,
        }
        for group in ("new", "existing"):
            row = st.loc[group] if group in st.index else None
            share = r.profile.new_share if group == "new" else r.profile.existing_share
            months = r.profile.new_months if group == "new" else r.profile.existing_months
            rec[f"{group}_target"] = f"{share * 100:.0f}% at {months} months"
            if row is None:
                rec.update(
                    {
                        f"{group}_patients": None,
                        f"pct_{group}_best_value": None,
                        f"{group}_status": "no activity",
                        f"{group}_gap_patients": None,
                    }
                )
                continue
            rec[f"{group}_patients"] = disclose_count(row["patients"])
            rec[f"pct_{group}_best_value"] = disclose_percentage(
                row["on_best_value"], row["patients"]
            )
            rec[f"{group}_status"] = row["status"]
            rec[f"{group}_gap_patients"] = disclose_count(row["gap_patients"])
        rec["achieved_saving_gbp"] = round(float(sav["achieved_gbp"].sum()), 0)
        rec["annual_remaining_gbp"] = round(float(sav["annual_remaining_gbp"].sum()), 0)
        records.append(rec)
    out = pd.DataFrame.from_records(records, columns=HEADLINE_COLUMNS)
    # Disclosed counts mix whole numbers, "*" and None: keep them as they are, not as floats.
    for col in (
        "new_patients",
        "pct_new_best_value",
        "new_gap_patients",
        "existing_patients",
        "pct_existing_best_value",
        "existing_gap_patients",
    ):
        out[col] = pd.Series([r[col] for r in records], index=out.index, dtype=object)
    return out


#: The headline a lead reads: one row per molecule, each status beside the figures it was
#: judged on and the point they were measured at.
HEADLINE_SUMMARY_COLUMNS = [
    "molecule",
    "new_patients",
    "pct_new_best_value",
    "existing_patients",
    "pct_existing_best_value",
    "targets",
    "status",
    "judged",
]
HEADLINE_LABELS = {
    "new_patients": "New patients",
    "pct_new_best_value": "New on best value (%)",
    "existing_patients": "Existing patients",
    "pct_existing_best_value": "Existing on best value (%)",
    "targets": "Target (new / existing)",
    "status": "Status (new / existing)",
    "judged": "When judged",
}


def headline_summary(results: Sequence[MoleculeResult], trust_code: str) -> pd.DataFrame:
    """The compact headline for one trust: both targets of each molecule in one row.

    The patients and percentages are the ones each status was judged on (from
    :func:`headline_table`): new patients from the new-patient target month to the latest
    month, existing patients at the end of the existing-patient target month; ``judged``
    names those points. A percentage that rounding put on the wrong side of its target is
    written as that side (:func:`agreeing_share`).

    Returns:
        Columns as :data:`HEADLINE_SUMMARY_COLUMNS`; ``targets`` and ``status`` read
        ``new / existing``.
    """
    head = headline_table(results, trust_code)
    out = head[[c for c in HEADLINE_SUMMARY_COLUMNS if c in head.columns]].copy()
    out, _ = _agreeing_columns(
        out,
        [
            (
                f"pct_{group}_best_value",
                f"{group}_status",
                [getattr(r.profile, f"{group}_share") for r in results],
            )
            for group in ("new", "existing")
        ],
        statuses=head,
    )
    out["targets"] = [
        f"{r.profile.new_share * 100:.0f}% / {r.profile.existing_share * 100:.0f}%" for r in results
    ]
    out["status"] = [
        f"{n} / {e}" for n, e in zip(head["new_status"], head["existing_status"], strict=True)
    ]
    out["judged"] = [judged_at(r).describe() for r in results]
    return out[HEADLINE_SUMMARY_COLUMNS]


def headline_lead_table(
    results: Sequence[MoleculeResult], trust_code: str, caption: str = ""
) -> Table:
    """:func:`headline_summary` as a lead reads it."""
    summary = headline_summary(results, trust_code)
    summary["molecule"] = summary["molecule"].str.capitalize()
    shares = summary[["pct_new_best_value", "pct_existing_best_value"]].to_numpy().ravel()
    adjusted = any(isinstance(v, str) and v != "*" for v in shares)
    return lead_table(
        summary,
        caption=f"{caption} {ROUNDING_NOTE}".strip() if adjusted else caption,
        labels=HEADLINE_LABELS,
        empty="The trust has no activity for these molecules.",
    )


def savings_table(results: Sequence[MoleculeResult], trust_code: str) -> pd.DataFrame:
    """Lead-facing savings for one trust: achieved, remaining, forecast and realised.

    Returns:
        Columns ``molecule, achieved_saving_gbp, annual_remaining_gbp, remaining_target_share,
        data_end, forecast_to_data_end_gbp, realised_to_data_end_gbp, year_end,
        forecast_to_year_end_gbp, realised_projected_to_year_end_gbp``; whole pounds.
    """
    records = []
    for r in results:
        sav = r.savings[r.savings["trust_code"] == trust_code]
        f = r.forecast
        rec = {
            "molecule": r.molecule,
            "achieved_saving_gbp": round(float(sav["achieved_gbp"].sum()), 0),
            "annual_remaining_gbp": round(float(sav["annual_remaining_gbp"].sum()), 0),
            "remaining_target_share": r.profile.existing_share,
        }
        if len(f):
            real = f[f["realised_saving_gbp"].notna()]
            rec.update(
                {
                    "data_end": f"{real['year_month'].max():%Y-%m}",
                    "forecast_to_data_end_gbp": round(
                        float(real["cumulative_forecast_gbp"].iloc[-1])
                    ),
                    "realised_to_data_end_gbp": round(
                        float(real["cumulative_realised_gbp"].iloc[-1])
                    ),
                    "year_end": f"{f['year_month'].max():%Y-%m}",
                    "forecast_to_year_end_gbp": round(float(f["cumulative_forecast_gbp"].iloc[-1])),
                    "realised_projected_to_year_end_gbp": round(
                        float(f["cumulative_realised_gbp"].iloc[-1])
                    ),
                }
            )
        records.append(rec)
    return pd.DataFrame.from_records(
        records,
        columns=[
            "molecule",
            "achieved_saving_gbp",
            "annual_remaining_gbp",
            "remaining_target_share",
            "data_end",
            "forecast_to_data_end_gbp",
            "realised_to_data_end_gbp",
            "year_end",
            "forecast_to_year_end_gbp",
            "realised_projected_to_year_end_gbp",
        ],
    )


# --------------------------------------------------------------------------- the report


def validate_parameters(
    switches: Any, target_profile: Any, seed: Any, tables_dir: Any = ""
) -> None:
    """Check the notebook's switch options before anything runs.

    The trust and the period are checked once, by :func:`medlib.context.resolve_context`.

    Raises:
        SwitchReportError: Naming the parameter and what was expected.
    """
    if isinstance(switches, str) or not isinstance(switches, list | tuple) or not switches:
        raise SwitchReportError(
            f"switches: expected a list of molecules such as ['adalimumab'], got {switches!r}"
        )
    allowed = [*TARGET_PROFILES, "definition"]
    if not isinstance(target_profile, str) or target_profile not in allowed:
        raise SwitchReportError(
            f"target_profile: expected one of {', '.join(allowed)}, got {target_profile!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SwitchReportError(f"seed: expected a whole number >= 0, got {seed!r}")
    if not isinstance(tables_dir, str):
        raise SwitchReportError(
            f"tables_dir: expected text (a folder, or '' for none), got {tables_dir!r}"
        )


@dataclass
class SwitchReport(Report):
    """Computed switch-uptake results for one trust: sections, tables, analyst lists."""

    context: ReportContext
    trust_names: dict[str, str]
    target_profile: str
    seed: int
    sample: SyntheticHcd | None
    load: LoadResult
    results: list[MoleculeResult]
    usage: pd.DataFrame | None = None
    store: str = ""
    store_files: list[str] = field(default_factory=list)
    _doac: tuple[pd.DataFrame, LogisticFit] | None = field(default=None, repr=False)
    _proxies: list[tuple[SwitchDefinition, pd.DataFrame]] | None = field(default=None, repr=False)
    left_out: list[SwitchDefinition] = field(default_factory=list)
    _leagues: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def trust_code(self) -> str:
        """ODS code of the report's trust."""
        return self.context.code

    @property
    def period_end(self) -> pd.Timestamp:
        """The last month of the report (first day of the month)."""
        return self.context.period_end

    @property
    def trust_name(self) -> str:
        """Name of the report's trust."""
        return self.trust_names.get(self.trust_code, self.trust_code)

    @property
    def activity(self) -> pd.DataFrame:
        """The validated ``hcd_activity`` rows (patient level: analysts only)."""
        return self.load.data

    @property
    def is_synthetic(self) -> bool:
        """True when the store had no rows for the trust and the synthetic sample was used."""
        return self.sample is not None

    @property
    def source_label(self) -> str:
        """What every chart and table says of its data: synthetic, or the store's rows."""
        return SYNTHETIC_LABEL if self.is_synthetic else STORE_LABEL

    @property
    def short_label(self) -> str:
        """The short form of :attr:`source_label`, for table captions."""
        return SHORT_LABEL if self.is_synthetic else STORE_SHORT_LABEL

    def result(self, molecule: str) -> MoleculeResult:
        """Results for one molecule."""
        for r in self.results:
            if r.molecule == molecule:
                return r
        raise KeyError(
            f"{molecule!r} is not in this report; it has "
            f"{', '.join(r.molecule for r in self.results)}"
        )

    # ----------------------------------------------------------------- text

    def data_note(self) -> str:
        """Markdown describing the data behind the report (what is synthetic says so first)."""
        if not self.is_synthetic:
            return self._store_note()
        s = self.load.summary
        trusts = ", ".join(self.sample.settings["trusts"])
        behaviours = self.sample.trusts.drop_duplicates("trust_code").set_index("trust_code")[
            "behaviour"
        ]
        where = "the bundled sample" if not self.store else "the data store"
        lines = [
            f"**{SYNTHETIC_LABEL}.** The patient-level, brand-level activity in this report is "
            f"generated (seed {self.seed}); it is not real activity at {self.trust_name}. "
            f"{where.capitalize()} has no hcd_activity rows for {self.trust_code}, so the "
            "synthetic sample stands in; ingest the trust's brand-level activity "
            "(medlib ingest FILE --table hcd_activity) to report on its own data.",
            "",
            f"- Trusts in the sample: {trusts}. Patient volumes are calibrated to each trust's "
            "real SCMD biologics use, 2019-01 to 2021-10, where the molecule is in that extract.",
            self._behaviour_line(behaviours[self.trust_code]),
            f"- Rows read {s.rows_read:,} = accepted {s.rows_accepted:,} + quarantined "
            f"{s.rows_quarantined:,}; months {s.first_month} to {s.last_month}.",
            f"- Targets: {self._profile_text()}.",
            f"- Disclosure control: {POLICY_MARKDOWN}",
        ]
        return "\n".join(lines + self._left_out_lines())

    def _store_note(self) -> str:
        s = self.load.summary
        compared = list(self.trust_names)
        files = ", ".join(self.store_files) or "no file named in the ingest log"
        lines = [
            f"**{STORE_LABEL}** (real data, not synthetic): every figure on this page comes from "
            f"the brand-level activity ingested into the store, up to "
            f"{self.context.period_end_label}.",
            "",
            f"- Files: {files}.",
            f"- Trusts compared ({self.context.comparison_group} comparison group, with rows in "
            f"the store): {', '.join(compared) or self.trust_code}.",
            f"- Rows read {s.rows_read:,} = accepted {s.rows_accepted:,} + quarantined "
            f"{s.rows_quarantined:,}; months {s.first_month} to {s.last_month}.",
            f"- Targets: {self._profile_text()}.",
            f"- Disclosure control: {POLICY_MARKDOWN}",
        ]
        return "\n".join(lines + self._left_out_lines())

    def _left_out_lines(self) -> list[str]:
        return [
            f"- {d.molecule.capitalize()} is left out: its best-value launch "
            f"({d.launch_date.day} {format_month(d.launch_date)}) is after this report's "
            "period end "
            f"({self.context.period_end_label})."
            for d in self.left_out
        ]

    def _behaviour_line(self, behaviour: str) -> str:
        mine = self.sample.trusts[self.sample.trusts["trust_code"] == self.trust_code]
        if int(mine["patients_on_treatment"].sum()) == 0:
            return (
                f"- {self.trust_code} has no use of these biologics in the SCMD extract, so the "
                "sample has no patients for it; its sections say so."
            )
        return (
            f"- Uptake behaviour given to {self.trust_code} for all molecules: "
            f"{BEHAVIOURS[behaviour].description}."
        )

    def _profile_text(self) -> str:
        profiles = {r.profile.name: r.profile for r in self.results}
        return "; ".join(p.describe() for p in profiles.values())

    def used_results(self) -> list[MoleculeResult]:
        """Results for the molecules this trust has activity for, in report order."""
        mine = self.activity.loc[self.activity["trust_code"] == self.trust_code, "molecule"]
        present = set(mine.astype(str).unique())
        return [r for r in self.results if r.molecule in present]

    def unused_molecules(self) -> list[str]:
        """The report's molecules this trust has no activity for, in report order."""
        used = {r.molecule for r in self.used_results()}
        return [r.molecule for r in self.results if r.molecule not in used]

    def no_activity_sentence(self, ending: str = "") -> str:
        """One sentence naming the molecules the trust has no activity for ("" when none).

        Args:
            ending: Words added before the full stop (``", so ..."``).
        """
        unused = self.unused_molecules()
        if not unused:
            return ""
        return f"{self.trust_code} has no activity for {_and_list(unused)} in the data{ending}."

    def headline_markdown(self) -> str:
        """Two or three short sentences above the headline table: savings, targets met."""
        used = self.used_results()
        if not used:
            return self.no_activity_sentence(", so there is no target to judge")
        savings = self.savings().set_index("molecule").loc[[r.molecule for r in used]]
        achieved = float(savings["achieved_saving_gbp"].sum())
        remaining = savings.loc[savings["annual_remaining_gbp"] > 0, "annual_remaining_gbp"]
        molecules = f"{len(used)} molecule{'s' if len(used) > 1 else ''}"
        if len(remaining):
            still = (
                f"a further {_money(float(remaining.sum()))} a year is still to come "
                f"({_and_list(list(remaining.index))})"
            )
        else:
            still = "no further saving is counted, as best-value use is at the target or above"
        text = [
            f"Since launch, best-value products saved {_money(achieved)} in total across the "
            f"{molecules} {self.trust_code} uses, against the originator list price; {still}."
        ]
        head = self.headline().set_index("molecule").loc[[r.molecule for r in used]]
        statuses = [*head["new_status"], *head["existing_status"]]
        due = [st for st in statuses if st in ("met", "not met")]
        if due:
            met = due.count("met")
            text.append(
                f"Of the {len(due)} targets that have fallen due, {self.trust_code} met "
                f"{met or 'none'}; the table's last column says when each was judged."
            )
        else:
            text.append("No target has fallen due yet.")
        ending = self.no_activity_sentence()
        return " ".join([*text, ending]).strip()

    def _latest_existing(self, r: MoleculeResult) -> pd.Series | None:
        ex = r.existing[r.existing["trust_code"] == self.trust_code]
        return None if ex.empty else ex.iloc[-1]

    # ----------------------------------------------------------------- tables

    def headline(self) -> pd.DataFrame:
        """Lead-facing headline table for this trust."""
        return headline_table(self.results, self.trust_code)

    def league(self, molecule: str) -> pd.DataFrame:
        """Lead-facing league table for one molecule (a copy: callers may change it)."""
        if molecule not in self._leagues:
            self._leagues[molecule] = league_table(
                self.result(molecule), self.trust_names, self.trust_code
            )
        return self._leagues[molecule].copy()

    def savings(self) -> pd.DataFrame:
        """Lead-facing savings table for this trust."""
        return savings_table(self.results, self.trust_code)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every lead-facing table (disclosed; no patient identifiers), keyed by file name."""
        tables = {
            "switch_headline": self.headline(),
            "switch_uptake_monthly": pd.concat(
                [monthly_uptake_table(r, self.trust_code) for r in self.results], ignore_index=True
            ),
            "switch_league": pd.concat(
                [self.league(r.molecule) for r in self.results], ignore_index=True
            ),
            "switch_savings": self.savings(),
            "switch_forecast_monthly": self._forecast_table(),
            "switch_doac_curve": self._doac_table(),
        }
        source = (
            f"synthetic sample (seed {self.seed})"
            if self.is_synthetic
            else "data store hcd_activity"
        )
        for name, frame in tables.items():
            if name != "switch_doac_curve":
                frame["data_source"] = source
                frame.attrs["note"] = self.source_label
        # Real public data, whatever the activity is.
        tables["switch_doac_curve"].attrs["note"] = "Real data: NHS prescribing in England"
        proxy = self._proxy_table()
        if proxy is not None:
            proxy.attrs["note"] = "Real data: SCMD, VMP level"
            tables["switch_vmp_proxy"] = proxy
        return tables

    def _forecast_table(self) -> pd.DataFrame:
        frames = []
        for r in self.results:
            if r.forecast.empty:
                continue
            f = r.forecast.copy()
            f.insert(0, "molecule", r.molecule)
            money = [c for c in f.columns if c.endswith("_gbp")]
            f[money] = f[money].round(0)
            frames.append(f)
        if frames:
            return pd.concat(frames, ignore_index=True)
        return pd.DataFrame(columns=["molecule", *FORECAST_COLUMNS])

    # ----------------------------------------------------------------- analyst only

    def analyst_switch_backs(self, molecule: str) -> pd.DataFrame:
        """ANALYST ONLY: patients at this trust who went back to the originator.

        Patient-level; never publish it or show it in a lead-facing report.
        """
        r = self.result(molecule)
        backs = switch_backs(self.activity[self.activity["molecule"] == molecule], r.definition)
        return backs[backs["trust_code"] == self.trust_code].reset_index(drop=True)

    # ----------------------------------------------------------------- display

    def sections(self) -> dict[str, Callable[[], Section]]:
        """The notebook's sections, in page order."""
        return {
            "data_note": lambda: Section(self.data_note()),
            "headline": self.headline_section,
            "molecules": self.molecules_section,
            "time_to_switch": self.time_to_switch_section,
            "vmp_proxy": self.vmp_proxy_section,
            "doac": self.doac_section,
        }

    def headline_section(self) -> Section:
        """A few sentences and one table: both targets of each molecule the trust uses."""
        used = self.used_results()
        if not used:
            return Section(self.headline_markdown())
        return Section(
            self.headline_markdown(),
            headline_lead_table(used, self.trust_code, f"{self.short_label} {COUNTS_NOTE}"),
        )

    def molecules_section(self) -> Section:
        """One part per molecule the trust uses: status, uptake chart, savings, league.

        The molecules it does not use are named in one sentence, with nothing else.
        """
        parts: list[Any] = [self.no_activity_sentence() or None]
        for r in self.used_results():
            parts.append(
                f"### {r.molecule.capitalize()}\n\n"
                f"{r.definition.type.capitalize()} launch "
                f"{r.definition.launch_date.day} {format_month(r.definition.launch_date)} "
                f"({r.definition.launch_source}). Originator: "
                f"{', '.join(r.definition.originator)}; best value: "
                f"{', '.join(r.definition.best_value)}."
            )
            st = r.status[r.status["trust_code"] == self.trust_code].set_index("group")
            latest = self._latest_existing(r)
            parts.append(
                f"- {new_target_sentence(st.loc['new'], r.molecule)}\n"
                f"- {existing_target_sentence(st.loc['existing'], r.molecule, latest)}"
            )
            new = r.new[r.new["trust_code"] == self.trust_code]
            ex = r.existing[r.existing["trust_code"] == self.trust_code]
            share = r.quantity_share[r.quantity_share["trust_code"] == self.trust_code]
            # The page header names the trust in full; its code keeps chart titles on one line.
            parts.append(
                uptake_chart(
                    new,
                    ex,
                    share,
                    r.definition,
                    r.profile,
                    self.trust_code,
                    note=self.source_label + ".",
                )
            )
            sav = r.savings[r.savings["trust_code"] == self.trust_code].iloc[0]
            parts.append(
                savings_sentence(
                    sav["achieved_gbp"],
                    sav["annual_remaining_gbp"],
                    r.profile.existing_share,
                    r.molecule,
                )
                + "\n\n"
                + forecast_sentence(r.forecast, r.molecule)
            )
            if len(r.forecast):
                parts.append(
                    savings_chart(
                        r.forecast, r.definition, self.trust_code, note=self.source_label + "."
                    )
                )
            parts.append(
                f"How {self.trust_code} compares with the other trusts "
                f"{'in the sample' if self.is_synthetic else 'compared'}:"
            )
            when = judged_at(r)
            latest = format_month_short(when.latest) if when.latest is not None else "no data"
            parts.append(
                league_lead_table(
                    self.league(r.molecule),
                    r,
                    f"{self.short_label} {COUNTS_NOTE} Ranked by existing patients on best value "
                    f"in the latest month ({latest}). Each status is judged at the point its "
                    "column names, on the patients and percentage beside it.",
                )
            )
        return Section(*parts)

    def time_to_switch_section(self) -> Section:
        """The time-to-switch chart for the molecules with existing patients at launch."""
        dists: dict[str, pd.DataFrame] = {}
        suppressed = False
        for r in self.used_results():
            dist = r.time_to_switch[r.time_to_switch["trust_code"] == self.trust_code]
            if dist.empty or not (dist["existing_at_launch"] > 0).any():
                continue
            pct = disclosed_percentages(dist["switched_by_month"], dist["existing_at_launch"])
            if np.isnan(pct).all():
                suppressed = True
                continue
            dists[r.molecule] = dist
        if dists:
            return Section(
                time_to_switch_chart(dists, self.trust_code, note=self.source_label + ".")
            )
        if suppressed:
            return Section(
                f"{self.trust_code} had fewer than 8 existing patients on treatment at launch "
                "for each molecule, so time to switch is not shown."
            )
        return Section(
            f"{self.trust_code} had no existing patients on treatment when these molecules "
            "launched, so there is no time to switch to show."
        )

    def _proxy_results(self) -> list[tuple[SwitchDefinition, pd.DataFrame]]:
        if self._proxies is None:
            definitions = [r.definition for r in self.results if r.definition.vmp_proxy]
            if self.usage is None:
                shares = shared_proxy_shares(definitions)
            else:
                shares = [vmp_proxy_share(self.usage, d) for d in definitions]
            # Real SCMD months after the report's period end are not shown.
            shares = [s[s["year_month"] <= self.period_end].reset_index(drop=True) for s in shares]
            self._proxies = list(zip(definitions, shares, strict=True))
        return self._proxies

    def _proxy_table(self) -> pd.DataFrame | None:
        frames = []
        for definition, proxy in self._proxy_results():
            mine = proxy[proxy["trust_code"] == self.trust_code].copy()
            median = proxy.groupby("year_month")["pct_proxy_best_value"].median()
            mine["pct_proxy_best_value_median_trust"] = mine["year_month"].map(median).round(1)
            mine["pct_proxy_best_value"] = mine["pct_proxy_best_value"].round(1)
            mine.insert(0, "molecule", definition.molecule)
            mine["label"] = "PROXY (VMP level, real SCMD data): " + definition.vmp_proxy.label
            frames.append(mine.drop(columns=["proxy_best_value_doses", "proxy_total_doses"]))
        return pd.concat(frames, ignore_index=True) if frames else None

    def vmp_proxy_section(self) -> Section:
        """The SCMD VMP-level proxy chart(s) for molecules that have one."""
        parts: list[Any] = []
        for definition, proxy in self._proxy_results():
            mine = proxy[proxy["trust_code"] == self.trust_code]
            parts.append(
                f"**{definition.molecule.capitalize()} proxy:** {definition.vmp_proxy.label}."
            )
            if proxy.empty:
                parts.append(
                    f"The SCMD extract has no months up to {self.context.period_end_label}."
                )
                continue
            if mine.empty:
                parts.append(
                    f"{self.trust_code} has no {definition.molecule} doses in the SCMD extract, "
                    "so there is no proxy to show for it."
                )
                continue
            parts.append(vmp_proxy_chart(mine, proxy, definition, self.trust_code))
            last = mine.iloc[-1]
            parts.append(
                f"In {format_month_short(last['year_month'])}, "
                f"{format_pct(last['pct_proxy_best_value'])} of "
                f"{self.trust_code}'s 40mg {definition.molecule} doses in SCMD were "
                "best-value-like presentations (real data)."
            )
        if not parts:
            parts.append("None of the chosen molecules has a VMP-level proxy.")
        return Section(*parts)

    def doac(self) -> tuple[pd.DataFrame, LogisticFit]:
        """The real DOAC series with its fitted curve (cached)."""
        if self._doac is None:
            self._doac = shared_doac_curve(self.period_end)
        return self._doac

    def _doac_table(self) -> pd.DataFrame:
        series, fit = self.doac()
        out = series[
            ["year_month", "doac_items", "warfarin_items", "doac_share", "fitted_share"]
        ].copy()
        out["doac_share"] = out["doac_share"].round(4)
        out["fitted_share"] = out["fitted_share"].round(4)
        out["fit"] = (
            f"logistic: ceiling {fit.ceiling:.3f}, rate {fit.rate:.4f} per month, "
            f"midpoint {fit.midpoint_month:%Y-%m}"
        )
        return out

    def doac_section(self) -> Section:
        """The real DOAC switch curve and its description."""
        series, fit = self.doac()
        return Section(doac_chart(series, fit), doac_sentence(series, fit))


def _and_list(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``.

    Example:
        >>> _and_list(["adalimumab", "infliximab", "rituximab"])
        'adalimumab, infliximab and rituximab'
    """
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


@pack_cached
def shared_proxy_shares(definitions: list[SwitchDefinition]) -> list[pd.DataFrame]:
    """Every trust's VMP-level proxy share from the bundled SCMD biologics, per definition."""
    from medlib.io.datasets import load_dataset
    from medlib.reference.trusts import map_to_successor

    usage = map_to_successor(load_dataset("scmd_biologics"))
    return [vmp_proxy_share(usage, d) for d in definitions]


#: The real DOAC series and its fit, computed once per pack render.
shared_doac_curve = pack_cached(fit_doac_curve)


def build(
    context: ReportContext,
    switches: Sequence[str] = ("adalimumab", "infliximab"),
    target_profile: str = "2025",
    seed: int = 2025,
    *,
    trusts: Sequence[str] | None = None,
    definitions_path: str | None = None,
    volumes: pd.DataFrame | None = None,
    usage: pd.DataFrame | None = None,
    trust_names: Mapping[str, str] | None = None,
    store: str = "",
) -> SwitchReport:
    """Read the store's activity (or generate the synthetic sample) and compute every result.

    When the store's ``hcd_activity`` table has rows for the trust up to the period end, the
    report is made from them, compared with the trusts of the context's comparison group that
    have rows. Otherwise the synthetic sample, generated to the period end, stands in, and
    every page, chart and table says so.

    Args:
        context: The report's trust and period end, from
            :func:`medlib.context.resolve_context` (a single trust, not a system).
        switches: Molecules to report, in order. Those launched after the period end are
            left out (the data note names them).
        target_profile: ``"2025"``, ``"2017"`` or ``"definition"`` (each switch's own).
        seed: Seed for the synthetic sample.
        trusts: Trusts to compare (default: from the store, the comparison group's trusts
            with rows; for the synthetic sample, its trusts plus the report's trust).
        definitions_path: Switch definitions file (default: the project's).
        volumes: Patient volumes instead of the SCMD calibration (for tests).
        usage: SCMD usage for the VMP proxy (default: the bundled biologics extract).
        trust_names: ``{code: name}`` (default: the bundled trust reference).
        store: The store's folder (built by ``medlib ingest``); empty for the bundled sample's
            store, which has no ``hcd_activity``.

    Raises:
        SwitchReportError: An option is invalid, the context is a system, or no chosen switch
            launched by the period end (the message names what to change).
    """
    validate_parameters(
        list(switches) if isinstance(switches, tuple) else switches, target_profile, seed
    )
    if context.is_system:
        raise SwitchReportError(
            f"trust_code: the switch report is for one trust; {context.code!r} is a system of "
            f"{len(context.trust_codes)} trusts"
        )
    trust_code = context.code
    try:
        chosen = select_switches(
            load_switch_definitions(definitions_path), list(switches), target_profile
        )
    except SwitchDefinitionError as exc:
        raise SwitchReportError(str(exc)) from None
    launched = [d for d in chosen if pd.Timestamp(d.launch_date) <= context.census_date]
    left_out = [d for d in chosen if pd.Timestamp(d.launch_date) > context.census_date]
    if not launched:
        raise SwitchReportError(
            f"switches: none of {[d.molecule for d in chosen]} had launched by the period end "
            f"({context.period_end_label}); choose a later period_end or other switches"
        )
    if not isinstance(store, str):
        raise SwitchReportError(
            f"store: expected a folder or '' for the bundled sample, got {store!r}"
        )
    names = dict(trust_names) if trust_names is not None else reference_trust_names()
    if trust_code not in names:
        raise SwitchReportError(f"trust_code: {trust_code!r} is not among the named trusts")
    in_store = store_hcd_activity(store, context.census_date)
    store_files: list[str] = []
    sample: SyntheticHcd | None
    if trust_code in set(in_store["trust_code"]):
        trust_list = list(
            dict.fromkeys(
                [trust_code, *(trusts or comparison_trusts(context, in_store["trust_code"]))]
            )
        )
        load, shared = store_switch_analysis(launched, trust_list, store, context.census_date)
        sample = None
        store_files = sorted(set(in_store.loc[in_store["trust_code"].isin(trust_list), "source"]))
        store_files = _store_file_names(store, store_files)
    else:
        trust_list = list(dict.fromkeys([*(trusts or DEFAULT_TRUSTS), trust_code]))
        sample, load, shared = shared_switch_analysis(
            launched, trust_list, seed, volumes, context.census_date
        )
    names = {t: names.get(t, t) for t in trust_list}
    # The forecast reads only the trust's own rows; selecting them once, not per molecule,
    # halves its time.
    mine = load.data[load.data["trust_code"] == trust_code]
    results = [_with_forecast(r, mine[mine["molecule"] == r.molecule], trust_code) for r in shared]
    return SwitchReport(
        context=context,
        trust_names=names,
        target_profile=target_profile,
        seed=seed,
        sample=sample,
        load=load,
        results=results,
        usage=usage,
        store=store,
        store_files=store_files,
        left_out=left_out,
    )


def _store_file_names(store: str, streams: Sequence[str]) -> list[str]:
    """The files the ingest log records for these ``hcd_activity`` streams, oldest first."""
    from medlib.io.datasets import bundled_store
    from medlib.io.store import Store

    log = (Store(store) if store else bundled_store()).log()
    if log.empty:
        return []
    mine = log[(log["table"] == "hcd_activity") & log["stream"].isin(streams)]
    return list(dict.fromkeys(mine["file"]))
