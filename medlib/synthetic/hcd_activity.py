"""Synthetic brand-level high-cost drug activity with known ground truth (SYNTHETIC DATA).

There is no public patient-level source for brand-level high-cost drug activity, so the
switch-uptake sample is generated. The generator is seeded and deterministic, fast (about a
second for the default sample) and keeps its ground truth, so tests can check that the uptake
analysis recovers the true percentages exactly.

How it works, per trust and molecule:

1. **Volume**: the number of patients on treatment is calibrated to the real SCMD biologics
   extract (2019-01 to 2021-10) where the molecule is there: mean monthly milligrams / the
   typical dose / doses per patient per month. Molecules absent from the extract
   (trastuzumab, ustekinumab, ranibizumab) get a default number of patients scaled by the
   trust's size (its calibrated biologics patients relative to the median trust).
2. **Patients**: a steady state. ``patients`` existing patients are on the originator 6
   months before launch; patients stop at 20% a year and are replaced by new starts at the
   same rate. Every patient is dosed at the molecule's interval from the definition
   (adalimumab every 14 days, infliximab every 56 days, ...).
3. **Uptake behaviour** differs by trust (``fast``, ``slow``, ``stalled``, ``switch_backs``):
   the chance that a new patient starts on a best-value brand rises with months since launch;
   a share of existing patients switches at a random time; some switched patients return to
   the originator. Each trust uses one preferred best-value brand per molecule. Behaviours are
   dealt out over the default trusts and picked by a hash of the seed and the code for any
   other trust, so a trust's rows never depend on the other trusts generated with it.
4. **Cost**: originator doses cost the definition's originator price per unit; best-value
   doses cost it less a molecule-specific realised discount (deliberately not the programme's
   assumed 50%, so forecast and realised savings differ).

The ground truth (``SyntheticHcd.patients``) records, per patient, the first and last dose,
the dosing interval, the product started on, the switch date and the switch-back date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from medlib.errors import MedlibError
from medlib.io.hcd_activity import HCD_COLUMNS
from medlib.paths import DATA_DIR
from medlib.synthetic.seeding import apply_behaviour_overrides, deal_behaviours, stable_int

if TYPE_CHECKING:  # definitions are passed in; the generator does not load them
    from medlib.switch.definitions import SwitchDefinition

__all__ = [
    "BEHAVIOURS",
    "DEFAULT_TRUSTS",
    "DOSE_MG",
    "SYNTHETIC_LABEL",
    "SyntheticDataError",
    "SyntheticHcd",
    "UptakeBehaviour",
    "assign_behaviours",
    "generate_hcd_activity",
    "scmd_patients_on_treatment",
    "trust_patient_volumes",
]

SYNTHETIC_LABEL = "SYNTHETIC DATA: generated patients, not real activity"

#: Trusts in the default sample: the eight acute trusts of North East and North Cumbria. All
#: use biologics in the bundled SCMD extract (R0B and RNN through their predecessors).
DEFAULT_TRUSTS = ("RTD", "RR7", "RTF", "RTR", "RVW", "RXP", "RNN", "R0B")
DEFAULT_AS_OF = "2025-03-31"
DAYS_PER_MONTH = 365.25 / 12
ANNUAL_STOP_RATE = 0.20

#: Typical dose in mg, to turn SCMD milligrams into doses (assumptions, documented).
DOSE_MG = {
    "adalimumab": 40.0,  # 40 mg
    "etanercept": 50.0,  # 50 mg
    "infliximab": 400.0,  # 5 mg/kg at 80 kg
    "rituximab": 700.0,  # 375 mg/m2 at about 1.85 m2
}
#: Patients on treatment at a trust of median size, for molecules not in the SCMD extract.
DEFAULT_PATIENTS = {"trastuzumab": 60, "ustekinumab": 120, "ranibizumab": 150}
FALLBACK_PATIENTS = 100
#: Realised best-value discount off the originator price in the synthetic data.
REALISED_REDUCTION = {
    "adalimumab": 0.75,
    "etanercept": 0.35,
    "infliximab": 0.45,
    "rituximab": 0.30,
    "trastuzumab": 0.40,
    "ustekinumab": 0.60,
    "ranibizumab": 0.45,
}
FALLBACK_REDUCTION = 0.5
INDICATIONS = {
    "adalimumab": (
        "Rheumatoid arthritis",
        "Crohn's disease",
        "Plaque psoriasis",
        "Ulcerative colitis",
        "Axial spondyloarthritis",
    ),
    "etanercept": ("Rheumatoid arthritis", "Psoriatic arthritis", "Axial spondyloarthritis"),
    "infliximab": ("Crohn's disease", "Ulcerative colitis", "Rheumatoid arthritis"),
    "rituximab": ("Non-Hodgkin lymphoma", "Chronic lymphocytic leukaemia", "Rheumatoid arthritis"),
    "trastuzumab": ("HER2-positive breast cancer", "HER2-positive gastric cancer"),
    "ustekinumab": ("Crohn's disease", "Plaque psoriasis", "Psoriatic arthritis"),
    "ranibizumab": ("Wet age-related macular degeneration", "Diabetic macular oedema"),
}


class SyntheticDataError(MedlibError, ValueError):
    """Bad settings for the synthetic generator (unknown trust, behaviour, dates...)."""


@dataclass(frozen=True)
class UptakeBehaviour:
    """How one trust moves patients to best value.

    Attributes:
        name: Short name.
        description: Plain-English description.
        new_start: Chance a new patient starts on best value in the launch month.
        new_final: Chance from ``new_ramp_months`` after launch on (linear in between).
        new_ramp_months: Months for the new-patient chance to reach ``new_final``.
        existing_final: Share of existing patients switched (if still on treatment).
        existing_months: Switches happen at a uniformly random time this many months after
            launch at most.
        switch_back: Share of switched patients who later return to the originator.
    """

    name: str
    description: str
    new_start: float
    new_final: float
    new_ramp_months: int
    existing_final: float
    existing_months: float
    switch_back: float

    def new_probability(self, months_since_launch: np.ndarray) -> np.ndarray:
        """Chance that a new patient starting in each month is started on best value."""
        m = np.asarray(months_since_launch, dtype=float)
        ramp = np.clip(m / self.new_ramp_months, 0.0, 1.0) if self.new_ramp_months else 1.0
        return self.new_start + (self.new_final - self.new_start) * ramp


BEHAVIOURS: dict[str, UptakeBehaviour] = {
    "fast": UptakeBehaviour(
        "fast",
        "all new patients on best value within 2 months; 95% of existing patients "
        "switched within 6 months",
        0.7,
        1.0,
        2,
        0.95,
        6,
        0.0,
    ),
    "slow": UptakeBehaviour(
        "slow",
        "new-patient uptake rises over 9 months to 95%; 85% of existing patients "
        "switched, spread over 15 months",
        0.3,
        0.95,
        9,
        0.85,
        15,
        0.01,
    ),
    "stalled": UptakeBehaviour(
        "stalled",
        "new-patient uptake stalls at 60%; 45% of existing patients switched "
        "within 5 months and no more",
        0.4,
        0.6,
        4,
        0.45,
        5,
        0.0,
    ),
    "switch_backs": UptakeBehaviour(
        "switch_backs",
        "quick uptake but 15% of switched patients return to the originator",
        0.6,
        0.97,
        3,
        0.9,
        8,
        0.15,
    ),
}


@dataclass
class SyntheticHcd:
    """A synthetic ``hcd_activity`` sample with its ground truth.

    Attributes:
        activity: Canonical ``hcd_activity`` rows.
        patients: Ground truth, one row per patient: ``trust_code, molecule, patient_id,
            cohort, first_dose_date, last_dose_date, interval_days, started_on,
            switch_date, switch_back_date, best_value_product, originator_product``.
        trusts: Per trust and molecule: ``behaviour, patients_on_treatment,
            volume_basis, best_value_product``.
        settings: The generator's arguments.
        label: The synthetic-data label every output must carry.
    """

    activity: pd.DataFrame
    patients: pd.DataFrame
    trusts: pd.DataFrame
    settings: dict = field(default_factory=dict)
    label: str = SYNTHETIC_LABEL


def assign_behaviours(trusts: Sequence[str], seed: int) -> dict[str, str]:
    """Deterministic behaviour per trust from the seed, whatever the other trusts in the list.

    The default trusts (:data:`DEFAULT_TRUSTS`) are put in a seeded order and the behaviours
    are dealt out to them in turn, so the default sample shows every behaviour twice. Any
    other trust gets the behaviour a stable hash of the seed and its code picks. A trust's
    behaviour therefore never depends on which trusts it is generated with, and a peer shows
    the same figures in every report of a pack (each report adds its own trust to the list).

    Example:
        >>> assign_behaviours(["RTF", "RX4"], 2025) == {
        ...     "RTF": assign_behaviours(DEFAULT_TRUSTS, 2025)["RTF"],
        ...     "RX4": assign_behaviours(["RX4"], 2025)["RX4"],
        ... }
        True
    """
    return deal_behaviours(trusts, DEFAULT_TRUSTS, list(BEHAVIOURS), str(seed))


@cache
def _strengths() -> pd.DataFrame:
    return pd.read_csv(DATA_DIR / "switch" / "biologics_vmp_strength.csv", dtype={"vmp_code": str})


@cache
def _scmd_patients() -> pd.DataFrame:
    from medlib.io.datasets import load_dataset
    from medlib.reference.trusts import map_to_successor

    # Merged trusts take their predecessors' use, so current codes (e.g. R0B) calibrate.
    return scmd_patients_on_treatment(map_to_successor(load_dataset("scmd_biologics")))


def scmd_patients_on_treatment(
    usage: pd.DataFrame, interval_days: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """Estimate patients on treatment per trust and molecule from SCMD quantities.

    ``patients = mean monthly mg / DOSE_MG / (days per month / interval)``, where the mean is
    over every month of the extract (months with no use count as zero).

    Args:
        usage: Canonical ``usage`` rows for the biologics extract.
        interval_days: Dosing interval per molecule (default: 14, 7, 56 and 91 days for
            adalimumab, etanercept, infliximab and rituximab, as in the shipped definitions).

    Returns:
        Columns ``trust_code, molecule, mean_monthly_mg, patients`` (float).
    """
    intervals = dict(
        interval_days or {"adalimumab": 14, "etanercept": 7, "infliximab": 56, "rituximab": 91}
    )
    strengths = _strengths()
    rows = usage.merge(strengths[["vmp_code", "molecule", "mg_per_unit"]], on="vmp_code")
    n_months = usage["year_month"].nunique()
    mg = (rows["quantity"] * rows["mg_per_unit"]).groupby(
        [rows["trust_code"], rows["molecule"]]
    ).sum() / max(n_months, 1)
    out = mg.rename("mean_monthly_mg").reset_index()
    doses = out["mean_monthly_mg"] / out["molecule"].map(DOSE_MG)
    per_patient = DAYS_PER_MONTH / out["molecule"].map(intervals)
    out["patients"] = (doses / per_patient).clip(lower=0.0)
    return out


def trust_patient_volumes(
    definitions: Sequence[SwitchDefinition],
    trusts: Sequence[str],
    scmd: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Patients on treatment per trust and molecule for the synthetic sample.

    Args:
        definitions: The switches to generate.
        trusts: Current ODS codes (a merged trust counts its predecessors' use).
        scmd: Output of :func:`scmd_patients_on_treatment` (default: from the bundled extract).

    Returns:
        Columns ``trust_code, molecule, patients`` (int) and ``volume_basis``. A trust with no
        biologics use in the extract (e.g. a mental health trust) gets no patients.
    """
    scmd = _scmd_patients() if scmd is None else scmd
    size = scmd.groupby("trust_code")["patients"].sum()
    median = float(size.median()) or 1.0
    records = []
    for d in definitions:
        for t in trusts:
            hit = scmd[(scmd["trust_code"] == t) & (scmd["molecule"] == d.molecule)]
            if t not in size.index:
                patients, basis = 0.0, "no biologics use in the SCMD extract"
            elif d.molecule in DOSE_MG:
                patients = float(hit["patients"].sum())
                basis = "SCMD 2019-01 to 2021-10 mean monthly mg / typical dose"
            else:
                base = DEFAULT_PATIENTS.get(d.molecule, FALLBACK_PATIENTS)
                patients = base * float(size.get(t, 0.0)) / median
                basis = f"default {base} patients x trust size (not in the SCMD extract)"
            records.append(
                {
                    "trust_code": t,
                    "molecule": d.molecule,
                    "patients": int(round(patients)),
                    "volume_basis": basis,
                }
            )
    return pd.DataFrame.from_records(records)


def _window(
    definition: SwitchDefinition, months_before: int, months_after: int, as_of: pd.Timestamp
) -> tuple[int, int]:
    launch_month = pd.Timestamp(definition.launch_month)
    start = launch_month - pd.DateOffset(months=months_before)
    end = launch_month + pd.DateOffset(months=months_after) - pd.Timedelta(days=1)
    end = min(end, as_of)
    if end < pd.Timestamp(definition.launch_date):
        raise SyntheticDataError(
            f"as_of {as_of:%Y-%m-%d} is before the {definition.molecule} launch "
            f"({definition.launch_date}); nothing after launch could be generated"
        )
    epoch = pd.Timestamp("1970-01-01")
    return (start - epoch).days, (end - epoch).days


def _generate_one(
    definition: SwitchDefinition,
    trust: str,
    n_patients: int,
    behaviour: UptakeBehaviour,
    seed: int,
    window: tuple[int, int],
) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    rng = np.random.default_rng([seed, stable_int(trust), stable_int(definition.molecule)])
    w0, w1 = window
    epoch = pd.Timestamp("1970-01-01")
    launch = (pd.Timestamp(definition.launch_date) - epoch).days
    launch_month = pd.Timestamp(definition.launch_month)
    interval = definition.dosing.interval_days
    stop_rate = -np.log(1.0 - ANNUAL_STOP_RATE) / 365.25

    # Existing patients at the window start, in random phase; then Poisson new starts that
    # replace the ones who stop, so the number on treatment stays level.
    first_existing = w0 + rng.integers(0, interval, size=n_patients)
    n_new = rng.poisson(n_patients * stop_rate * (w1 - w0))
    first_new = np.sort(rng.integers(w0, w1 + 1, size=n_new))
    first = np.concatenate([first_existing, first_new]).astype("int64")
    stop = first + rng.exponential(1.0 / stop_rate, size=first.size)
    n_doses = (np.floor((np.minimum(stop, w1) - first) / interval) + 1).astype("int64")
    n_doses = np.maximum(n_doses, 1)
    last = first + (n_doses - 1) * interval
    keep = first <= w1
    first, last, n_doses = first[keep], last[keep], n_doses[keep]
    n = first.size

    is_new = first >= launch
    first_dates = epoch + pd.to_timedelta(first, unit="D")
    months = np.asarray(
        (first_dates.year - launch_month.year) * 12 + (first_dates.month - launch_month.month)
    )
    p_new = behaviour.new_probability(np.maximum(months, 0))
    started_bv = is_new & (rng.random(n) < p_new)

    # Existing patients: switch at the first dose on or after a random target date.
    no_date = np.iinfo("int64").max
    switch = np.full(n, no_date, dtype="int64")
    wants = (~is_new) & (rng.random(n) < behaviour.existing_final)
    target = launch + rng.uniform(0, behaviour.existing_months * DAYS_PER_MONTH, size=n)
    k = np.ceil((target - first) / interval).clip(min=0).astype("int64")
    due = first + k * interval
    switched = wants & (due <= last)
    switch[switched] = due[switched]
    switch[started_bv] = first[started_bv]

    back = np.full(n, no_date, dtype="int64")
    on_bv = switch != no_date
    returns = on_bv & (rng.random(n) < behaviour.switch_back)
    back_target = switch + rng.uniform(28, 120, size=n)
    kb = np.ceil((back_target - first) / interval).clip(min=0).astype("int64")
    back_due = first + kb * interval
    went_back = returns & (back_due <= last)
    back[went_back] = back_due[went_back]

    bv_brand = str(rng.choice(definition.best_value))
    orig_brand = definition.originator[0]
    ids = rng.integers(0, 2**63 - 1, size=n, dtype="int64")
    patient_ids = np.array([f"{i:016x}" for i in ids], dtype=object)
    indications = INDICATIONS.get(definition.molecule, ("Not recorded",))
    indication = np.asarray(indications, dtype=object)[rng.integers(0, len(indications), n)]

    # Expand to one row per dose.
    owner = np.repeat(np.arange(n), n_doses)
    step = np.arange(owner.size) - np.repeat(np.cumsum(n_doses) - n_doses, n_doses)
    day = first[owner] + step * interval
    bv_dose = (day >= switch[owner]) & (day < back[owner])
    units = float(definition.dosing.units_per_dose)
    price = definition.price.originator_price_per_unit
    reduction = REALISED_REDUCTION.get(definition.molecule, FALLBACK_REDUCTION)
    cost = np.where(bv_dose, units * price * (1 - reduction), units * price)
    order = np.lexsort((owner, day))
    owner, day, bv_dose, cost = owner[order], day[order], bv_dose[order], cost[order]
    rows = {
        "owner": owner,
        "day": day,
        "is_best_value": bv_dose,
        "cost_gbp": cost,
        "units": np.full(owner.size, units),
        "indication": indication,
        "patient_ids": patient_ids,
        "products": (orig_brand, bv_brand),
    }

    def as_date(values: np.ndarray) -> pd.Series:
        missing = values == no_date
        out = pd.Series(epoch + pd.to_timedelta(np.where(missing, 0, values), unit="D"))
        return out.mask(missing)

    truth = {
        "trust_code": trust,
        "molecule": definition.molecule,
        "patient_id": patient_ids,
        "cohort": np.where(is_new, "new", "existing"),
        "first_dose_date": epoch + pd.to_timedelta(first, unit="D"),
        "last_dose_date": epoch + pd.to_timedelta(last, unit="D"),
        "interval_days": np.full(n, interval),
        "started_on": np.where(started_bv, "best_value", "originator"),
        "switch_date": as_date(np.where(started_bv, no_date, switch)),
        "switch_back_date": as_date(back),
        "best_value_product": bv_brand,
        "originator_product": orig_brand,
    }
    return rows, truth


def _categorical_text(codes: np.ndarray, categories: list[str]) -> pd.Series:
    # Taking from a small arrow array of labels avoids creating a Python string per row.
    labels = pa.array(categories, type=pa.large_string()).take(pa.array(codes))
    return pd.Series(pd.array(labels, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))


def _assemble(parts: list[dict]) -> pd.DataFrame:
    """Concatenate the per trust-molecule parts into one canonical table."""
    sizes = [p["owner"].size for p in parts]
    part = np.repeat(np.arange(len(parts)), sizes)
    patient_offsets = np.cumsum([0] + [p["patient_ids"].size for p in parts[:-1]])
    patient_codes = np.concatenate(
        [p["owner"] + off for p, off in zip(parts, patient_offsets, strict=True)]
    )
    patient_ids = [str(x) for p in parts for x in p["patient_ids"]]
    indications = sorted({str(x) for p in parts for x in p["indication"]})
    ind_index = {v: i for i, v in enumerate(indications)}
    ind_codes = np.concatenate(
        [
            np.array([ind_index[str(x)] for x in p["indication"]], dtype="int64")[p["owner"]]
            if p["owner"].size
            else np.zeros(0, dtype="int64")
            for p in parts
        ]
    )
    products = sorted({b for p in parts for b in p["products"]})
    prod_index = {v: i for i, v in enumerate(products)}
    prod_codes = np.concatenate(
        [
            np.where(p["is_best_value"], prod_index[p["products"][1]], prod_index[p["products"][0]])
            for p in parts
        ]
    )
    trusts = sorted({p["trust"] for p in parts})
    molecules = sorted({p["molecule"] for p in parts})
    trust_codes = np.array([trusts.index(p["trust"]) for p in parts], dtype="int64")[part]
    mol_codes = np.array([molecules.index(p["molecule"]) for p in parts], dtype="int64")[part]
    days = np.concatenate([p["day"] for p in parts])
    frame = pd.DataFrame(
        {
            "patient_id": _categorical_text(patient_codes, patient_ids),
            "trust_code": _categorical_text(trust_codes, trusts),
            "activity_date": (np.datetime64("1970-01-01", "D") + days).astype("datetime64[ns]"),
            "molecule": _categorical_text(mol_codes, molecules),
            "product": _categorical_text(prod_codes, products),
            "indication": _categorical_text(ind_codes, indications),
            "quantity": np.concatenate([p["units"] for p in parts]),
            "cost_gbp": np.concatenate([p["cost_gbp"] for p in parts]),
        }
    )
    return frame[HCD_COLUMNS]


def generate_hcd_activity(
    definitions: Sequence[SwitchDefinition],
    trusts: Sequence[str] = DEFAULT_TRUSTS,
    seed: int = 2025,
    *,
    as_of: str = DEFAULT_AS_OF,
    months_before: int = 6,
    months_after: int = 18,
    volumes: pd.DataFrame | None = None,
    behaviours: Mapping[str, str] | None = None,
) -> SyntheticHcd:
    """Generate synthetic brand-level activity for the given switches and trusts.

    Args:
        definitions: Switches to generate (one molecule each).
        trusts: ODS codes of the trusts.
        seed: Random seed; the same seed gives the same data for a trust whatever the other
            trusts in the list.
        as_of: Data end date: nothing after it is generated.
        months_before: Months of activity before the launch month.
        months_after: Months of activity from the launch month on (cut at ``as_of``).
        volumes: ``trust_code, molecule, patients`` to use instead of the SCMD calibration.
        behaviours: ``{trust_code: behaviour name}`` to override the seeded assignment.

    Returns:
        The activity, the per-patient ground truth and the per-trust settings.

    Raises:
        SyntheticDataError: Unknown behaviour, empty trust list or bad dates.
    """
    trusts = list(dict.fromkeys(trusts))
    if not trusts:
        raise SyntheticDataError("trusts: give at least one trust code")
    if not definitions:
        raise SyntheticDataError("definitions: give at least one switch definition")
    if months_before < 1 or months_after < 1:
        raise SyntheticDataError("months_before and months_after must be at least 1")
    try:
        end = pd.Timestamp(as_of)
    except (ValueError, TypeError):
        raise SyntheticDataError(f"as_of: expected a date YYYY-MM-DD, got {as_of!r}") from None
    chosen = apply_behaviour_overrides(
        assign_behaviours(trusts, seed), behaviours, list(BEHAVIOURS), SyntheticDataError
    )
    if volumes is None:
        volumes = trust_patient_volumes(definitions, trusts)
    lookup = {(r.trust_code, r.molecule): int(r.patients) for r in volumes.itertuples(index=False)}
    basis = {
        (r.trust_code, r.molecule): getattr(r, "volume_basis", "given")
        for r in volumes.itertuples(index=False)
    }

    parts, truths, settings = [], [], []
    for d in definitions:
        window = _window(d, months_before, months_after, end)
        for t in trusts:
            n = lookup.get((t, d.molecule), 0)
            rows, truth = _generate_one(d, t, n, BEHAVIOURS[chosen[t]], seed, window)
            parts.append({**rows, "trust": t, "molecule": d.molecule})
            truths.append(pd.DataFrame(truth))
            settings.append(
                {
                    "trust_code": t,
                    "molecule": d.molecule,
                    "behaviour": chosen[t],
                    "patients_on_treatment": n,
                    "volume_basis": basis.get((t, d.molecule), "given"),
                    "best_value_product": truth["best_value_product"] if n else None,
                }
            )
    activity = _assemble(parts)
    patients = pd.concat(truths, ignore_index=True)
    if patients["patient_id"].duplicated().any():
        raise SyntheticDataError("pseudonym collision; choose another seed")
    return SyntheticHcd(
        activity=activity,
        patients=patients,
        trusts=pd.DataFrame.from_records(settings),
        settings={
            "trusts": trusts,
            "seed": seed,
            "as_of": as_of,
            "months_before": months_before,
            "months_after": months_after,
            "molecules": [d.molecule for d in definitions],
        },
    )
