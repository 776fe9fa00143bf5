"""What-if savings for a best-value switch: price reduction, target uptake, months to reach it.

The arithmetic is :func:`medlib.switch.savings.forecast_savings` (pure and fast, so it can run on
every
slider move): best-value uptake rises linearly from 0 in the start month to the target uptake
``months_to_target`` months later; each month saves ``units per month x uptake x originator
price per unit x price reduction``. The same forecast also follows the national
existing-patient target path of the switch's target profile, so the scenario can be read
against the targets. The forecast runs to the end of the financial year containing the start
month unless another end is given.

The monthly volume is the analyst's to set. :func:`scmd_units_per_month` offers one from the
SCMD biologics extract for the trusts shown: mean milligrams a month over the latest months,
turned into the switch's price units with the typical dose of
:data:`medlib.synthetic.hcd_activity.DOSE_MG` and the definition's units per dose.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import pandas as pd

from medlib.errors import InputError
from medlib.explorer.sources import ExplorerError
from medlib.present.wording import format_gbp, format_month_short
from medlib.switch import savings
from medlib.switch.definitions import SwitchDefinition
from medlib.validation import parse_month

__all__ = ["WhatIf", "scmd_units_per_month"]

#: Months of SCMD data averaged for the default monthly volume.
VOLUME_MONTHS = 6


@dataclass(frozen=True)
class WhatIf:
    """One what-if scenario for a switch.

    Attributes:
        definition: The switch (originator price, target profile, launch).
        monthly_quantity: Units (the definition's price unit) used per month.
        price_reduction: Best-value price reduction against the originator (0-1).
        target_uptake: Best-value share reached (0-1).
        months_to_target: Months from the start month to reach ``target_uptake``.
        start: Month the uptake starts rising from 0 (default: the launch month).
        end: Last month forecast (default: the end of the financial year containing ``start``).
    """

    definition: SwitchDefinition
    monthly_quantity: float
    price_reduction: float
    target_uptake: float
    months_to_target: int
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None

    @classmethod
    def from_definition(
        cls, definition: SwitchDefinition, monthly_quantity: float, **changes: Any
    ) -> WhatIf:
        """A scenario with the programme's assumptions from the switch definition."""
        price = definition.price
        base = cls(
            definition=definition,
            monthly_quantity=float(monthly_quantity),
            price_reduction=price.expected_reduction,
            target_uptake=price.target_uptake,
            months_to_target=price.months_to_target,
        )
        return base.with_changes(**changes) if changes else base

    def with_changes(self, **changes: Any) -> WhatIf:
        """A copy with some settings changed (months as ``"YYYY-MM"`` are accepted)."""
        for key in ("start", "end"):
            if changes.get(key) is not None:
                try:
                    changes[key] = parse_month(changes[key], key)
                except InputError as exc:
                    raise ExplorerError(str(exc)) from None
        return replace(self, **changes)

    @property
    def start_month(self) -> pd.Timestamp:
        """The month uptake starts rising."""
        if self.start is not None:
            return pd.Timestamp(self.start)
        return pd.Timestamp(self.definition.launch_month)

    @cached_property
    def forecast(self) -> pd.DataFrame:
        """Month by month: assumed uptake, saving, cumulative saving, and the target path.

        Returns:
            :func:`medlib.switch.savings.forecast_savings` with the target profile's path.

        Raises:
            ExplorerError: A setting out of range (the message names it).
        """
        try:
            return savings.forecast_savings(
                launch=self.start_month,
                monthly_quantity=float(self.monthly_quantity),
                originator_price_per_unit=self.definition.price.originator_price_per_unit,
                price_reduction=float(self.price_reduction),
                target_uptake=float(self.target_uptake),
                months_to_target=int(self.months_to_target),
                end=self.end,
                target_profile=self.definition.target_profile,
            )
        except savings.SavingsInputError as exc:
            raise ExplorerError(f"what-if: {exc}") from None

    @property
    def summary(self) -> dict[str, Any]:
        """Totals: months, first and last month, forecast, target path and the difference."""
        return savings.summarise_forecast(self.forecast)

    def table(self) -> pd.DataFrame:
        """The scenario's totals as a one-row table (pounds rounded to whole pounds)."""
        s = self.summary
        profile = self.definition.target_profile
        return pd.DataFrame(
            [
                {
                    "molecule": self.definition.molecule,
                    "first_month": f"{s['first_month']:%Y-%m}",
                    "last_month": f"{s['last_month']:%Y-%m}",
                    "units_per_month": self.monthly_quantity,
                    "price_reduction_pct": round(100 * self.price_reduction, 1),
                    "target_uptake_pct": round(100 * self.target_uptake, 1),
                    "months_to_target": self.months_to_target,
                    "forecast_saving_gbp": round(s["forecast_gbp"]),
                    "target_path": f"{profile.name}: {profile.existing_share:.0%} of existing "
                    f"patients by month {profile.existing_months}",
                    "target_path_saving_gbp": round(s["target_gbp"]),
                    "forecast_minus_target_gbp": round(s["forecast_minus_target_gbp"]),
                }
            ]
        )

    def sentence(self) -> str:
        """The scenario in one plain-English paragraph, money to 3 significant figures."""
        s = self.summary
        d = self.definition
        profile = d.target_profile
        diff = s["forecast_minus_target_gbp"]
        comparison = "more than" if diff > 0 else "less than" if diff < 0 else "the same as"
        gap = f"{_money(abs(diff))} " if diff else ""
        return (
            f"{d.molecule.capitalize()}: with best-value uptake rising from 0 in "
            f"{format_month_short(self.start_month)} to {self.target_uptake:.0%} after "
            f"{self.months_to_target} months, at a {self.price_reduction:.0%} price reduction "
            f"on {self.monthly_quantity:,.0f} units a month, the forecast saving from "
            f"{format_month_short(s['first_month'])} to {format_month_short(s['last_month'])} is "
            f"{_money(s['forecast_gbp'])}. Following the national {profile.name} target path "
            f"({profile.existing_share:.0%} of existing patients by month "
            f"{profile.existing_months}) would save {_money(s['target_gbp'])}, so this scenario "
            f"saves {gap}{comparison} the target path."
        )


def _money(value: float) -> str:
    # A forecast saving: rounded as every modelled saving is, so it does not mislead.
    return format_gbp(value, "estimate")


def scmd_units_per_month(
    usage: pd.DataFrame,
    definition: SwitchDefinition,
    trusts: tuple[str, ...] | list[str] | None = None,
    months: int = VOLUME_MONTHS,
) -> float | None:
    """Units a month of the switch's price unit, from SCMD milligrams over the latest months.

    Args:
        usage: Canonical usage rows of an extract holding the molecule (e.g. the biologics).
        definition: The switch.
        trusts: Trusts to add up (None: every trust in ``usage``).
        months: How many of the latest months in ``usage`` to average.

    Returns:
        ``sum over trusts of mean monthly mg / typical dose mg x units per dose``, or None when
        the molecule has no milligram conversion or no rows.
    """
    from medlib.synthetic.hcd_activity import DOSE_MG, scmd_patients_on_treatment

    if definition.molecule not in DOSE_MG or usage.empty:
        return None
    recent = sorted(usage["year_month"].unique())[-months:]
    rows = usage[usage["year_month"].isin(recent)]
    if trusts:
        rows = rows[rows["trust_code"].isin(list(trusts))]
    if rows.empty:
        return None
    # Every month of the window counts, including months the trusts used none.
    mg = scmd_patients_on_treatment(_with_all_months(rows, recent))
    mg = mg[mg["molecule"] == definition.molecule]
    if mg.empty:
        return None
    doses = float(mg["mean_monthly_mg"].sum()) / DOSE_MG[definition.molecule]
    return doses * definition.dosing.units_per_dose


def _with_all_months(rows: pd.DataFrame, months: list) -> pd.DataFrame:
    """Rows plus a zero-quantity placeholder in any month missing, so averages span them all."""
    present = set(rows["year_month"].unique())
    missing = [m for m in months if m not in present]
    if not missing or rows.empty:
        return rows
    pad = rows.head(1).copy()
    pads = []
    for month in missing:
        filler = pad.copy()
        filler["year_month"] = month
        filler["quantity"] = 0.0
        pads.append(filler)
    return pd.concat([rows, *pads], ignore_index=True)
