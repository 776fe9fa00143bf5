"""A hand-built switch and the doses of eight patients, shared by the switch tests.

Launch 15 Mar 2020, so month 0 is Mar 2020. An existing patient is on treatment at a month end if
their latest dose is less than 40 days before it.
"""

from __future__ import annotations

import pandas as pd

from medlib.switch.definitions import parse_switch_definitions

DOC = {
    "switches": [
        {
            "molecule": "testmab",
            "type": "biosimilar",
            "originator": ["Origo"],
            "best_value": ["Bestia", "Valora"],
            "launch_date": "2020-03-15",
            "launch_source": "test",
            "target_profile": {
                "new_share": 0.9,
                "new_months": 1,
                "existing_share": 0.5,
                "existing_months": 2,
            },
            "price": {
                "unit": "vial",
                "originator_price_per_unit": 100.0,
                "expected_reduction": 0.5,
                "target_uptake": 0.8,
                "months_to_target": 12,
            },
            "dosing": {"interval_days": 28, "units_per_dose": 1, "active_window_days": 40},
            "vmp_proxy": {
                "label": "test proxy",
                "best_value_like": {"111111": 0.8},
                "originator_like": {"222222": 0.4},
            },
        }
    ]
}
TESTMAB = parse_switch_definitions(DOC)["testmab"]

# (patient, trust, date, product, quantity). Launch 15 Mar 2020 (month 0 = Mar 2020); an
# existing patient is on treatment at a month end if their latest dose is < 40 days before it.
DOSES = [
    ("p1", "RTD", "2020-01-10", "Origo", 1),  # existing; switches 3 Apr
    ("p1", "RTD", "2020-02-07", "Origo", 1),
    ("p1", "RTD", "2020-03-06", "Origo", 1),
    ("p1", "RTD", "2020-04-03", "Bestia", 1),
    ("p1", "RTD", "2020-05-01", "Bestia", 1),
    ("p2", "RTD", "2020-02-20", "Origo", 1),  # existing; never switches, stops after 16 Apr
    ("p2", "RTD", "2020-03-19", "Origo", 1),
    ("p2", "RTD", "2020-04-16", "Origo", 1),
    ("p3", "RTD", "2020-03-20", "Bestia", 2),  # new in month 0, on best value
    ("p3", "RTD", "2020-04-17", "Bestia", 2),
    ("p4", "RTD", "2020-04-02", "Origo", 1),  # new in month 1; two brands on day one
    ("p4", "RTD", "2020-04-02", "Bestia", 1),
    ("p5", "RTD", "2020-05-05", "Valora", 1),  # new in month 2, on best value
    ("p6", "RTD", "2019-06-01", "Origo", 1),  # existing, stopped long before launch
    ("p7", "RR7", "2020-03-01", "Origo", 1),  # existing; switches, then switches back
    ("p7", "RR7", "2020-03-29", "Bestia", 1),
    ("p7", "RR7", "2020-04-26", "Origo", 1),
    ("p8", "RR7", "2020-04-10", "Otherbrand", 1),  # new in month 1 on a non-listed brand
]


def hand_activity() -> pd.DataFrame:
    """The doses as an ``hcd_activity`` table (cost £100 a unit), plus two rows of another
    molecule that every function must ignore."""
    rows = pd.DataFrame(
        DOSES, columns=["patient_id", "trust_code", "activity_date", "product", "quantity"]
    )
    rows["activity_date"] = pd.to_datetime(rows["activity_date"])
    rows["molecule"] = "testmab"
    rows["cost_gbp"] = 100.0 * rows["quantity"]
    # Another molecule must be ignored.
    other = rows.head(2).assign(molecule="othermab", patient_id="q1")
    return pd.concat([rows, other], ignore_index=True)
