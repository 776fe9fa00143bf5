"""Synthetic anti-VEGF injections for wet AMD, with planted intervals (SYNTHETIC DATA).

There is no public patient-level source of intravitreal injection records, so the wet
age-related macular degeneration (wet AMD) sample is generated. The generator is seeded,
deterministic and keeps its ground truth, so tests can check that the interval analysis
(:mod:`medlib.wet_amd.intervals`) recovers every planted interval exactly.

How it works, per trust:

1. **Patients**: ``patients`` treatment-naive patients start in the window at uniformly random
   dates (an incident cohort: every course starts with its loading doses). About one in four is
   treated in both eyes (:data:`BOTH_EYES_SHARE`), the second eye on the same day or some
   months later. Patients stop treatment at :data:`ANNUAL_STOP_RATE` a year.
2. **Molecule**: each patient has one molecule, drawn from the trust's mix around
   :data:`MOLECULE_MIX`: aflibercept 2 mg (Eylea), faricimab (Vabysmo) or ranibizumab (the
   trust's one biosimilar brand for most patients, Lucentis for the rest).
3. **Loading**: 3 injections about 4 weeks (27 to 35 days) apart. (The faricimab summary of
   product characteristics loads with 4 monthly doses; here every molecule loads with 3, the
   definition the analysis uses, and a fourth dose 4 weeks on is an early maintenance
   interval.)
4. **Maintenance**: intervals follow the trust's behaviour (:data:`BEHAVIOURS`):
   ``treat_and_extend`` (start at 8 weeks, extend by 2 weeks at each stable visit up to the
   eye's ceiling of 8 to 16 weeks, shorten by 2 weeks at a visit with disease activity),
   ``fixed_8_weekly`` (every 8 weeks for the first year, a few eyes put back to 6 weeks, some
   extended after the first year) or ``short_interval`` (monthly to 6-weekly, as-needed
   style). Faricimab eyes reach a ceiling 2 weeks longer (at most 16). Every interval is a
   whole number of days: the nominal weeks times 7 plus a booking slippage of a few days.
5. **Cost**: one vial per injection at the product's price (:data:`PRODUCTS`).

Behaviours are dealt out over the default trusts in a seeded order and picked by a hash of the
seed and the code for any other trust; each trust draws from its own random stream
(``np.random.default_rng([seed, crc32(trust)])``), so a trust's records never depend on the
other trusts generated with it.

Calibration (what is cited and what is illustrative):

- Prices: aflibercept £816 per vial is NICE TA294 section 2.4 (BNF edition 52, excluding VAT);
  Lucentis £551 is the BNF list price the switch definitions use
  (``parameters/switch_definitions.yaml``); faricimab £857 is the list price quoted for NICE
  TA800, not checked against the appraisal text here; the biosimilar ranibizumab price is an
  assumption (see :data:`RANIBIZUMAB_BIOSIMILAR_PRICE_GBP`).
- First-year injections: the behaviours give about 6.5 (treat-and-extend), 8 (fixed
  8-weekly) and 10.5 (short intervals) injections per eye in the first year, around the UK
  real-world mean of 7.1 in publications from 2015 to 2020 (Mehta et al., Clin Ophthalmol
  2020;14:3331-3342, a systematic review of UK studies).
- The treat-and-extend steps (2 weeks, at most 16 weeks) follow the UK expert panel's
  aflibercept pathway (Ross et al., Eye 2020;34:1825-1834); the 8-weekly schedule after 3
  monthly doses, extended after the first year, is the aflibercept label as NICE TA294
  section 2.2 describes it.
- Stopping at 8% a year matches 66% of patients completing 5 years of aflibercept treatment
  in a Moorfields cohort (Chandra et al., Eye 2021;35:409-417): 0.66 ** (1 / 5) = 0.92.
- Aflibercept's base share of 65% is the clinical experts' estimate in NICE TA800 section 3.1
  (before faricimab); the faricimab and ranibizumab shares, the share of patients treated in
  both eyes, the eyes' interval ceilings and the trust sizes are illustrative.

The records are the canonical ``hcd_activity`` columns plus the optional ``eye``:
:func:`medlib.io.hcd_activity.validate_hcd_activity` accepts every row, an injection in each
eye on the same day included (the eye is part of its duplicate check).

The ground truth (:class:`AntiVegfTruth`) records every patient-eye's planted intervals and,
per trust, the planted number and share of patients whose latest maintenance interval is at
least 8, 12 and 16 weeks (a patient's latest interval is the shortest among their eyes in
maintenance, as :func:`medlib.wet_amd.intervals.trust_summary` defines it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from medlib.io.hcd_activity import HCD_COLUMNS
from medlib.synthetic.hcd_activity import DEFAULT_TRUSTS, SYNTHETIC_LABEL, SyntheticDataError
from medlib.synthetic.seeding import apply_behaviour_overrides, deal_behaviours, stable_int

__all__ = [
    "AFLIBERCEPT_PRICE_GBP",
    "ANNUAL_STOP_RATE",
    "BEHAVIOURS",
    "BIOSIMILAR_BRANDS",
    "BOTH_EYES_SHARE",
    "DEFAULT_END",
    "DEFAULT_START",
    "FARICIMAB_PRICE_GBP",
    "INDICATION",
    "LOADING_DOSES",
    "LOADING_GAP_DAYS",
    "LUCENTIS_PRICE_GBP",
    "MOLECULE_MIX",
    "PRODUCTS",
    "RANIBIZUMAB_BIOSIMILAR_PRICE_GBP",
    "RECORD_COLUMNS",
    "AntiVegfProduct",
    "AntiVegfTruth",
    "IntervalBehaviour",
    "SyntheticAntiVegf",
    "assign_interval_behaviours",
    "generate_anti_vegf",
]

DEFAULT_START = "2021-04-01"
DEFAULT_END = "2025-03-31"
INDICATION = "Wet age-related macular degeneration"
#: The records: the canonical ``hcd_activity`` columns, then the eye treated.
RECORD_COLUMNS = [*HCD_COLUMNS, "eye"]
LOADING_DOSES = 3
#: Days between loading doses ("about 4 weeks"), both ends included.
LOADING_GAP_DAYS = (27, 35)
#: Longest maintenance interval in weeks (the UK panel's treat-and-extend maximum).
MAX_WEEKS = 16

#: List price of aflibercept 2 mg (Eylea 40 mg/ml, one vial per injection): NICE TA294
#: section 2.4, BNF edition 52, excluding VAT.
AFLIBERCEPT_PRICE_GBP = 816.00
#: List price of faricimab (Vabysmo 120 mg/ml, one vial per injection) as quoted for NICE
#: TA800; not checked against the appraisal text here, so an assumption.
FARICIMAB_PRICE_GBP = 857.00
#: BNF list price of Lucentis 10 mg/ml, 0.23 ml vial, as in the switch definitions (NICE
#: TA298 section 2.4 gave £742.17 at BNF edition 66).
LUCENTIS_PRICE_GBP = 551.00
#: ASSUMED price of a biosimilar ranibizumab vial: 45% below Lucentis, the realised biosimilar
#: discount the switch sample uses for ranibizumab. Illustrative: no public list price is used
#: (the national procurement prices are confidential).
RANIBIZUMAB_BIOSIMILAR_PRICE_GBP = round(LUCENTIS_PRICE_GBP * (1 - 0.45), 2)
#: The four licensed ranibizumab biosimilars (Specialist Pharmacy Service); each trust uses one.
BIOSIMILAR_BRANDS = ("Byooviz", "Ongavia", "Rimmyrah", "Ximluci")
#: Share of ranibizumab patients on the trust's biosimilar (illustrative).
BIOSIMILAR_SHARE = 0.8

#: Base share of patients per molecule. Aflibercept's 65% is the clinical experts' estimate in
#: NICE TA800 section 3.1; the split of the rest is illustrative.
MOLECULE_MIX = {"aflibercept": 0.65, "faricimab": 0.20, "ranibizumab": 0.15}
#: How far each trust's mix strays from :data:`MOLECULE_MIX` (Dirichlet concentration).
MIX_CONCENTRATION = 40.0
#: Share of patients treated in both eyes (illustrative).
BOTH_EYES_SHARE = 0.25
#: Of those, the share whose second eye starts on the same day (illustrative); the others
#: start 3 to 24 months after the first eye.
SAME_DAY_SECOND_EYE = 0.4
#: Yearly rate of stopping treatment: 66% completed 5 years (Chandra et al., Eye 2021).
ANNUAL_STOP_RATE = 0.08
#: New patients per trust over the window when not given (illustrative), both ends included.
PATIENTS_PER_TRUST = (150, 400)
#: Faricimab eyes reach a ceiling this many weeks longer (illustrative; the direction of
#: TENAYA and LUCERNE, where most faricimab eyes reached 12 to 16 weeks).
FARICIMAB_EXTRA_WEEKS = 2


@dataclass(frozen=True)
class AntiVegfProduct:
    """A product and its price per injection.

    Attributes:
        molecule: Lower-case molecule, as in ``hcd_activity``.
        product: Brand.
        price_gbp: Price per injection (one vial), in pounds.
        price_basis: Where the price comes from.
    """

    molecule: str
    product: str
    price_gbp: float
    price_basis: str


PRODUCTS: dict[str, AntiVegfProduct] = {
    p.product: p
    for p in (
        AntiVegfProduct(
            "aflibercept",
            "Eylea",
            AFLIBERCEPT_PRICE_GBP,
            "list price, NICE TA294 section 2.4 (BNF 52), excluding VAT",
        ),
        AntiVegfProduct(
            "faricimab",
            "Vabysmo",
            FARICIMAB_PRICE_GBP,
            "list price quoted for NICE TA800 (assumption: not checked against the text)",
        ),
        AntiVegfProduct(
            "ranibizumab",
            "Lucentis",
            LUCENTIS_PRICE_GBP,
            "BNF list price, as in parameters/switch_definitions.yaml",
        ),
        *(
            AntiVegfProduct(
                "ranibizumab",
                brand,
                RANIBIZUMAB_BIOSIMILAR_PRICE_GBP,
                "assumed: 45% below Lucentis (illustrative)",
            )
            for brand in BIOSIMILAR_BRANDS
        ),
    )
}
_BRAND = {"aflibercept": "Eylea", "faricimab": "Vabysmo"}


@dataclass(frozen=True)
class IntervalBehaviour:
    """How one trust sets maintenance intervals, eye by eye.

    After loading, an eye's first maintenance interval is ``first_weeks``. After each
    maintenance injection, with chance ``shorten_chance`` disease activity shortens the next
    interval by ``shorten_weeks`` (not below ``floor_weeks``); otherwise it is extended by
    ``step_weeks`` in the first year of treatment and by ``later_step_weeks`` after it, up to
    the eye's ceiling. Each eye's ceiling is drawn once from ``ceiling_weeks``. Every interval
    is then the nominal weeks times 7 plus a whole number of days of booking slippage drawn
    from ``slip_days`` (both ends included).

    Attributes:
        name: Short name.
        description: Plain-English description.
        first_weeks: The first maintenance interval.
        step_weeks: Extension at a stable visit in the first year.
        later_step_weeks: Extension at a stable visit after the first year.
        ceiling_weeks: Chance of each ceiling an eye can reach (weeks -> chance).
        floor_weeks: The shortest nominal interval.
        shorten_weeks: How much disease activity shortens the next interval.
        shorten_chance: Chance of disease activity at a maintenance visit.
        slip_days: Booking slippage range in days, both ends included.
    """

    name: str
    description: str
    first_weeks: int
    step_weeks: int
    later_step_weeks: int
    ceiling_weeks: Mapping[int, float]
    floor_weeks: int
    shorten_weeks: int
    shorten_chance: float
    slip_days: tuple[int, int]


BEHAVIOURS: dict[str, IntervalBehaviour] = {
    "treat_and_extend": IntervalBehaviour(
        "treat_and_extend",
        "treat-and-extend: 8 weeks after loading, then 2 weeks longer at each stable visit "
        "up to 12-16 weeks for most eyes",
        first_weeks=8,
        step_weeks=2,
        later_step_weeks=2,
        ceiling_weeks={8: 0.10, 10: 0.10, 12: 0.20, 14: 0.15, 16: 0.45},
        floor_weeks=6,
        shorten_weeks=2,
        shorten_chance=0.10,
        slip_days=(-2, 5),
    ),
    "fixed_8_weekly": IntervalBehaviour(
        "fixed_8_weekly",
        "mostly 8-weekly: every 8 weeks after loading, a few eyes back to 6 weeks, some "
        "extended to 10-12 weeks after the first year",
        first_weeks=8,
        step_weeks=0,
        later_step_weeks=2,
        ceiling_weeks={8: 0.70, 10: 0.15, 12: 0.15},
        floor_weeks=6,
        shorten_weeks=2,
        shorten_chance=0.03,
        slip_days=(-2, 5),
    ),
    "short_interval": IntervalBehaviour(
        "short_interval",
        "monthly to 6-weekly, as needed: short intervals that rarely reach 8 weeks",
        first_weeks=4,
        step_weeks=1,
        later_step_weeks=1,
        ceiling_weeks={4: 0.35, 5: 0.25, 6: 0.25, 8: 0.15},
        floor_weeks=4,
        shorten_weeks=1,
        shorten_chance=0.30,
        slip_days=(-3, 7),
    ),
}


@dataclass
class AntiVegfTruth:
    """What the generator planted.

    Attributes:
        eyes: One row per patient-eye: ``trust_code, patient_id, eye, molecule, product,
            first_injection, injections, intervals_days`` (every interval, loading ones
            first, a tuple of whole days), ``maintenance_intervals_days`` (the intervals
            ending at injection 4 onwards) and ``latest_interval_days`` (the last
            maintenance interval; missing for an eye with 3 injections or fewer).
        trusts: One row per trust: ``trust_code, behaviour, biosimilar_brand, patients,
            patient_eyes, patients_in_maintenance``, ``patients_latest_<w>w_plus`` and
            ``share_latest_<w>w_plus`` for w = 8, 12 and 16 (shares of the patients in
            maintenance; missing when there are none), and the molecule mix ``mix_<molecule>``.
    """

    eyes: pd.DataFrame
    trusts: pd.DataFrame


@dataclass
class SyntheticAntiVegf:
    """A synthetic anti-VEGF injection sample with its ground truth.

    Attributes:
        records: One row per injection: the ``hcd_activity`` columns then ``eye``
            (``left`` or ``right``), sorted by trust, patient, date and eye.
        truth: The planted intervals and shares.
        settings: The generator's arguments.
        label: The synthetic-data label every output must carry.
    """

    records: pd.DataFrame
    truth: AntiVegfTruth
    settings: dict = field(default_factory=dict)
    label: str = SYNTHETIC_LABEL


def assign_interval_behaviours(trusts: Sequence[str], seed: int) -> dict[str, str]:
    """Deterministic interval behaviour per trust, whatever the other trusts in the list.

    The default trusts are put in a seeded order and the behaviours dealt out to them in turn,
    so the default sample shows every behaviour; any other trust gets the behaviour a stable
    hash of the seed and its code picks.

    Example:
        >>> mine = assign_interval_behaviours(["RTF", "RX4"], 2025)
        >>> mine["RTF"] == assign_interval_behaviours(DEFAULT_TRUSTS, 2025)["RTF"]
        True
        >>> sorted(set(assign_interval_behaviours(DEFAULT_TRUSTS, 2025).values()))
        ['fixed_8_weekly', 'short_interval', 'treat_and_extend']
    """
    return deal_behaviours(trusts, DEFAULT_TRUSTS, list(BEHAVIOURS), f"anti-vegf:{seed}")


def _draw(rng: np.random.Generator, chances: Mapping[int, float]) -> int:
    keys = list(chances)
    p = np.asarray([chances[k] for k in keys], dtype=float)
    return int(keys[int(rng.choice(len(keys), p=p / p.sum()))])


def _eye_days(
    rng: np.random.Generator,
    first: int,
    last_allowed: int,
    behaviour: IntervalBehaviour,
    molecule: str,
) -> list[int]:
    """Injection days of one eye from ``first`` up to ``last_allowed`` (both included)."""
    days = [first]
    for _ in range(LOADING_DOSES - 1):
        days.append(days[-1] + int(rng.integers(LOADING_GAP_DAYS[0], LOADING_GAP_DAYS[1] + 1)))
    ceiling = _draw(rng, behaviour.ceiling_weeks)
    if molecule == "faricimab":
        ceiling = min(MAX_WEEKS, ceiling + FARICIMAB_EXTRA_WEEKS)
    weeks = min(behaviour.first_weeks, ceiling)
    lo, hi = behaviour.slip_days
    while True:
        days.append(days[-1] + max(14, 7 * weeks + int(rng.integers(lo, hi + 1))))
        if days[-1] > last_allowed:
            break
        if rng.random() < behaviour.shorten_chance:
            weeks = max(behaviour.floor_weeks, weeks - behaviour.shorten_weeks)
        else:
            step = behaviour.step_weeks if days[-1] - first < 365 else behaviour.later_step_weeks
            weeks = max(weeks, min(ceiling, weeks + step))
    return [d for d in days if d <= last_allowed]


def _generate_trust(
    trust: str,
    n_patients: int,
    behaviour: IntervalBehaviour,
    seed: int,
    window: tuple[int, int],
) -> tuple[list[dict], list[dict], dict]:
    rng = np.random.default_rng([seed, stable_int(trust)])
    w0, w1 = window
    molecules = list(MOLECULE_MIX)
    mix = rng.dirichlet(MIX_CONCENTRATION * np.asarray([MOLECULE_MIX[m] for m in molecules]))
    brand = str(rng.choice(BIOSIMILAR_BRANDS))
    stop_rate = -np.log(1.0 - ANNUAL_STOP_RATE) / 365.25
    rows: list[dict] = []
    eyes: list[dict] = []
    for _ in range(n_patients):
        patient_id = f"{int(rng.integers(0, 2**63 - 1)):016x}"
        molecule = molecules[int(rng.choice(len(molecules), p=mix))]
        if molecule == "ranibizumab":
            product = brand if rng.random() < BIOSIMILAR_SHARE else "Lucentis"
        else:
            product = _BRAND[molecule]
        start = int(rng.integers(w0, w1 + 1))
        stop = start + int(rng.exponential(1.0 / stop_rate))
        sides = ["left", "right"] if rng.random() < 0.5 else ["right", "left"]
        starts = [start]
        if rng.random() < BOTH_EYES_SHARE:
            later = 0 if rng.random() < SAME_DAY_SECOND_EYE else int(rng.integers(91, 731))
            starts.append(start + later)
        last_allowed = min(w1, stop)
        for side, first in zip(sides, starts, strict=False):
            if first > last_allowed:
                continue
            days = _eye_days(rng, first, last_allowed, behaviour, molecule)
            gaps = tuple(int(b - a) for a, b in zip(days[:-1], days[1:], strict=True))
            maintenance = gaps[LOADING_DOSES - 1 :]
            eyes.append(
                {
                    "trust_code": trust,
                    "patient_id": patient_id,
                    "eye": side,
                    "molecule": molecule,
                    "product": product,
                    "first_injection": first,
                    "injections": len(days),
                    "intervals_days": gaps,
                    "maintenance_intervals_days": maintenance,
                    "latest_interval_days": maintenance[-1] if maintenance else None,
                }
            )
            price = PRODUCTS[product].price_gbp
            rows.extend(
                {
                    "patient_id": patient_id,
                    "trust_code": trust,
                    "day": d,
                    "molecule": molecule,
                    "product": product,
                    "cost_gbp": price,
                    "eye": side,
                }
                for d in days
            )
    setting = {"biosimilar_brand": brand} | {
        f"mix_{m}": float(share) for m, share in zip(molecules, mix, strict=True)
    }
    return rows, eyes, setting


def _trust_truth(eyes: pd.DataFrame, trust: str) -> dict[str, object]:
    mine = eyes[eyes["trust_code"] == trust]
    latest = mine.dropna(subset=["latest_interval_days"])
    # A patient attends as often as their most demanding eye: the shortest latest interval.
    per_patient = latest.groupby("patient_id")["latest_interval_days"].min()
    out: dict[str, object] = {
        "patients": int(mine["patient_id"].nunique()),
        "patient_eyes": len(mine),
        "patients_in_maintenance": len(per_patient),
    }
    for weeks in (8, 12, 16):
        count = int((per_patient >= 7 * weeks).sum())
        out[f"patients_latest_{weeks}w_plus"] = count
        out[f"share_latest_{weeks}w_plus"] = count / len(per_patient) if len(per_patient) else None
    return out


def _day(value: object, name: str) -> int:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise SyntheticDataError(f"{name}: expected a date YYYY-MM-DD, got {value!r}")
    return int((stamp.normalize() - pd.Timestamp("1970-01-01")).days)


def generate_anti_vegf(
    trusts: Sequence[str] = DEFAULT_TRUSTS,
    seed: int = 2025,
    *,
    start: str = DEFAULT_START,
    end: str = DEFAULT_END,
    patients: Mapping[str, int] | None = None,
    behaviours: Mapping[str, str] | None = None,
) -> SyntheticAntiVegf:
    """Generate synthetic wet AMD anti-VEGF injections for the given trusts.

    Args:
        trusts: ODS codes of the trusts.
        seed: Random seed; the same seed gives the same records for a trust whatever the other
            trusts in the list.
        start: First day a patient can start treatment.
        end: The data end: no injection after it is generated.
        patients: ``{trust_code: new patients}`` for some or all trusts; the others draw a
            number in :data:`PATIENTS_PER_TRUST` from their own random stream.
        behaviours: ``{trust_code: behaviour name}`` to override the seeded assignment.

    Returns:
        The records (one row per injection) and the ground truth.

    Raises:
        SyntheticDataError: No trusts, an unknown behaviour, a negative number of patients,
            bad dates or ``end`` before ``start``.

    Example:
        >>> sample = generate_anti_vegf(["RTD"], seed=1, patients={"RTD": 20})
        >>> sample.records.columns.tolist()[-2:], sample.truth.trusts["patients"].tolist()
        (['cost_gbp', 'eye'], [20])
    """
    trusts = list(dict.fromkeys(trusts))
    if not trusts:
        raise SyntheticDataError("trusts: give at least one trust code")
    w0, w1 = _day(start, "start"), _day(end, "end")
    if w1 < w0:
        raise SyntheticDataError(f"end ({end}) is before start ({start})")
    chosen = apply_behaviour_overrides(
        assign_interval_behaviours(trusts, seed), behaviours, list(BEHAVIOURS), SyntheticDataError
    )
    sizes = dict(patients or {})
    for trust, n in sizes.items():
        if int(n) < 0:
            raise SyntheticDataError(f"patients[{trust!r}]: cannot be negative, got {n}")

    rows: list[dict] = []
    eyes: list[dict] = []
    settings: list[dict] = []
    for trust in trusts:
        # The trust's size comes from its own stream, so it too is independent of the others.
        size_rng = np.random.default_rng([seed, stable_int(trust), stable_int("patients")])
        n = int(sizes.get(trust, size_rng.integers(*PATIENTS_PER_TRUST, endpoint=True)))
        r, e, s = _generate_trust(trust, n, BEHAVIOURS[chosen[trust]], seed, (w0, w1))
        rows.extend(r)
        eyes.extend(e)
        settings.append({"trust_code": trust, "behaviour": chosen[trust], **s})

    records = _records(rows)
    eye_truth = pd.DataFrame(
        eyes,
        columns=[
            "trust_code",
            "patient_id",
            "eye",
            "molecule",
            "product",
            "first_injection",
            "injections",
            "intervals_days",
            "maintenance_intervals_days",
            "latest_interval_days",
        ],
    )
    eye_truth["first_injection"] = _dates(eye_truth["first_injection"].to_numpy(dtype="int64"))
    eye_truth["latest_interval_days"] = eye_truth["latest_interval_days"].astype("Int64")
    eye_truth = eye_truth.sort_values(
        ["trust_code", "patient_id", "eye"], ignore_index=True, kind="mergesort"
    )
    if eye_truth.groupby("patient_id")["trust_code"].nunique().gt(1).any():
        raise SyntheticDataError("pseudonym collision between trusts; choose another seed")
    trust_truth = pd.DataFrame(
        [
            {
                "trust_code": s["trust_code"],
                "behaviour": s["behaviour"],
                "biosimilar_brand": s["biosimilar_brand"],
                **_trust_truth(eye_truth, s["trust_code"]),
                **{k: v for k, v in s.items() if k.startswith("mix_")},
            }
            for s in settings
        ]
    )
    return SyntheticAntiVegf(
        records=records,
        truth=AntiVegfTruth(eyes=eye_truth, trusts=trust_truth),
        settings={
            "trusts": trusts,
            "seed": seed,
            "start": start,
            "end": end,
            "patients": sizes,
            "behaviours": dict(chosen),
        },
    )


def _dates(days: np.ndarray) -> pd.Series:
    return pd.Series((np.datetime64("1970-01-01", "D") + days).astype("datetime64[ns]"))


def _records(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["patient_id", "trust_code", "day", "molecule", "product", "cost_gbp", "eye"]
    )
    frame = frame.sort_values(
        ["trust_code", "patient_id", "day", "eye"], ignore_index=True, kind="mergesort"
    )
    out = pd.DataFrame(
        {
            "patient_id": frame["patient_id"].astype(str),
            "trust_code": frame["trust_code"].astype(str),
            "activity_date": _dates(frame["day"].to_numpy(dtype="int64")),
            "molecule": frame["molecule"].astype(str),
            "product": frame["product"].astype(str),
            "indication": pd.Series(INDICATION, index=frame.index, dtype=str),
            "quantity": np.ones(len(frame)),
            "cost_gbp": frame["cost_gbp"].astype("float64"),
            "eye": frame["eye"].astype(str),
        }
    )
    return out[RECORD_COLUMNS]
