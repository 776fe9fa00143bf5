"""The lithium and adalimumab measures: the products they pick and values worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medlib.io.datasets import load_dataset
from medlib.measures.compute import compute_measures, measure_roles
from medlib.measures.definitions import DEFINITIONS_DIR, load_definition, load_definitions
from medlib.measures.products import measure_products
from medlib.paths import DATA_DIR
from medlib.reference.trusts import successor_map

LITHIUM = load_definition(DEFINITIONS_DIR / "lithium_liquid.yaml")
ADALIMUMAB = load_definition(DEFINITIONS_DIR / "adalimumab_low_volume.yaml")


def test_the_package_ships_the_lithium_and_adalimumab_measures():
    definitions = {d.id: d for d in load_definitions()}
    assert {"adalimumab_low_volume", "lithium_liquid"} <= set(definitions)
    assert definitions["lithium_liquid"] == LITHIUM
    assert definitions["adalimumab_low_volume"] == ADALIMUMAB
    # Neither new measure has a value judgement: trusts are shown, not ranked.
    assert (LITHIUM.quantity, LITHIUM.lower_is_better) == ("ddd", None)
    assert (ADALIMUMAB.quantity, ADALIMUMAB.lower_is_better) == ("ddd", None)
    assert "NPSA/2009/PSA005" in LITHIUM.citation
    assert "27747583" in ADALIMUMAB.citation


# --- the products each selection picks from the bundled products table ---------------------

# VMP code: (name, in the numerator). Every lithium and adalimumab product of the bundled
# products table is listed in one of the two measures or left out below.
LITHIUM_PRODUCTS = {
    "36040211000001104": ("Lithium carbonate 450mg modified-release tablets", False),
    "39110011000001104": ("Lithium carbonate 200mg modified-release tablets", False),
    "39110111000001103": ("Lithium carbonate 400mg modified-release tablets", False),
    "42295711000001101": ("Lithium carbonate 250mg tablets", False),
    "36040311000001107": ("Lithium citrate 520mg/5ml oral solution sugar free", True),
    "42295811000001109": ("Lithium citrate 1.018g/5ml oral solution", True),
    "42295911000001104": ("Lithium citrate 509mg/5ml oral solution", True),
}
# Left out: lithium chloride injection (a cardiac output indicator, not a treatment).
LITHIUM_LEFT_OUT = {"24661711000001107"}

ADALIMUMAB_PRODUCTS = {
    "11236911000001103": (
        "Adalimumab 40mg/0.8ml solution for injection pre-filled disposable devices",
        False,
    ),
    "35894411000001100": (
        "Adalimumab 40mg/0.8ml solution for injection pre-filled syringes",
        False,
    ),
    "32888111000001102": (
        "Adalimumab 40mg/0.4ml solution for injection pre-filled disposable devices",
        True,
    ),
    "32888211000001108": (
        "Adalimumab 40mg/0.4ml solution for injection pre-filled syringes",
        True,
    ),
}
# Left out: the 40mg/0.8ml vial (no low-volume vial to choose instead), and the 20 mg and
# 80 mg products (not 40 mg doses).
ADALIMUMAB_LEFT_OUT = {
    "19697711000001100",  # 40mg/0.8ml vials
    "35318811000001108",  # 20mg/0.2ml
    "36441711000001106",  # 20mg/0.4ml
    "36457911000001103",  # 80mg/0.8ml pens
    "36458011000001101",  # 80mg/0.8ml syringes
}


@pytest.mark.parametrize(
    ("definition", "expected", "left_out", "molecule"),
    [
        (LITHIUM, LITHIUM_PRODUCTS, LITHIUM_LEFT_OUT, "Lithium"),
        (ADALIMUMAB, ADALIMUMAB_PRODUCTS, ADALIMUMAB_LEFT_OUT, "Adalimumab"),
    ],
)
def test_the_selections_pick_exactly_these_products(definition, expected, left_out, molecule):
    products = measure_products()
    roles = measure_roles([definition], products)
    got = {
        code: (name, bool(numerator))
        for code, name, numerator in roles[["vmp_code", "vmp_name", "in_numerator"]].itertuples(
            index=False
        )
    }
    assert got == expected
    # The products of the molecule the measure does not pick are exactly those left out.
    same_molecule = set(products.loc[products["vmp_name"].str.startswith(molecule), "vmp_code"])
    assert same_molecule - set(expected) == left_out
    # Every product picked has a DDD per unit, so none is left uncounted.
    assert roles["counted"].all()


# --- lithium given as a liquid, by hand from the raw rows -----------------------------------

# Every row of the bundled lithium extract for the trust and month: (VMP code, name, quantity).
# SCMD counts tablets and, for the liquids and the injection, millilitres.
LITHIUM_RAW_ROWS = {
    ("RTD", "2023-04-01"): [
        (
            "24661711000001107",
            "Lithium chloride 1.5mmol/10ml solution for injection ampoules",
            100.0,
        ),
        ("36040311000001107", "Lithium citrate 520mg/5ml oral solution sugar free", 150.0),
        ("39110011000001104", "Lithium carbonate 200mg modified-release tablets", 158.0),
        ("39110111000001103", "Lithium carbonate 400mg modified-release tablets", 75.0),
    ],
    ("RTD", "2023-05-01"): [
        (
            "24661711000001107",
            "Lithium chloride 1.5mmol/10ml solution for injection ampoules",
            50.0,
        ),
        ("36040311000001107", "Lithium citrate 520mg/5ml oral solution sugar free", 300.0),
        ("39110011000001104", "Lithium carbonate 200mg modified-release tablets", 232.0),
        ("39110111000001103", "Lithium carbonate 400mg modified-release tablets", 148.0),
    ],
    ("RX4", "2023-09-01"): [
        ("36040211000001104", "Lithium carbonate 450mg modified-release tablets", 56.0),
        ("36040311000001107", "Lithium citrate 520mg/5ml oral solution sugar free", 450.0),
        ("39110011000001104", "Lithium carbonate 200mg modified-release tablets", 1044.0),
        ("39110111000001103", "Lithium carbonate 400mg modified-release tablets", 1998.0),
        ("42295711000001101", "Lithium carbonate 250mg tablets", 112.0),
        ("42295911000001104", "Lithium citrate 509mg/5ml oral solution", 300.0),
    ],
    ("RX4", "2024-03-01"): [
        ("36040311000001107", "Lithium citrate 520mg/5ml oral solution sugar free", 1500.0),
        ("39110011000001104", "Lithium carbonate 200mg modified-release tablets", 1324.0),
        ("39110111000001103", "Lithium carbonate 400mg modified-release tablets", 2157.0),
        ("42295711000001101", "Lithium carbonate 250mg tablets", -302.0),
        ("42295911000001104", "Lithium citrate 509mg/5ml oral solution", -300.0),
    ],
}

# DDDs = quantity x lithium per unit (mmol, from the BNF) / the WHO DDD of 24 mmol: lithium
# carbonate 200mg 5.4 mmol a tablet, 250mg 6.8, 400mg 10.8, 450mg 12.2; lithium citrate
# 509mg/5ml and 520mg/5ml 5.4 mmol per 5 ml, so 1.08 a ml. The lithium chloride injection is
# not in the measure. (numerator, denominator)
LITHIUM_BY_HAND = {
    ("RTD", "2023-04-01"): (
        150 * 1.08 / 24,  # citrate 520mg/5ml: 6.75
        # plus 200mg MR 158 x 5.4 / 24 = 35.55 and 400mg MR 75 x 10.8 / 24 = 33.75
        150 * 1.08 / 24 + 158 * 5.4 / 24 + 75 * 10.8 / 24,
    ),  # = 76.05; value 0.088757
    ("RTD", "2023-05-01"): (
        300 * 1.08 / 24,  # 13.5
        # plus 232 x 5.4 / 24 = 52.2 and 148 x 10.8 / 24 = 66.6
        300 * 1.08 / 24 + 232 * 5.4 / 24 + 148 * 10.8 / 24,
    ),  # = 132.3; value 0.102041
    ("RX4", "2023-09-01"): (
        # citrate 520mg/5ml 450 ml = 20.25 and citrate 509mg/5ml 300 ml = 13.5
        450 * 1.08 / 24 + 300 * 1.08 / 24,  # 33.75
        # plus 450mg MR 56 x 12.2 / 24 = 28.466667, 200mg MR 1044 x 5.4 / 24 = 234.9,
        # 400mg MR 1998 x 10.8 / 24 = 899.1, 250mg 112 x 6.8 / 24 = 31.733333
        450 * 1.08 / 24
        + 300 * 1.08 / 24
        + 56 * 12.2 / 24
        + 1044 * 5.4 / 24
        + 1998 * 10.8 / 24
        + 112 * 6.8 / 24,
    ),  # = 1227.95; value 0.027485
    ("RX4", "2024-03-01"): (
        # a return of 300 ml of citrate 509mg/5ml nets off: 67.5 - 13.5
        1500 * 1.08 / 24 - 300 * 1.08 / 24,  # 54
        # plus 1324 x 5.4 / 24 = 297.9 and 2157 x 10.8 / 24 = 970.65, less a return of 302
        # 250mg tablets, 302 x 6.8 / 24 = 85.566667
        1500 * 1.08 / 24 - 300 * 1.08 / 24 + 1324 * 5.4 / 24 + 2157 * 10.8 / 24 - 302 * 6.8 / 24,
    ),  # = 1236.983333; value 0.043655
}


@pytest.fixture(scope="module")
def lithium_results():
    return compute_measures(usage=load_dataset("scmd_lithium"), definitions=[LITHIUM])


def _value(results, measure_id, trust, month):
    v = results.values
    row = v[(v.measure_id == measure_id) & (v.trust_code == trust) & (v.year_month == month)]
    assert len(row) == 1
    return row.iloc[0]


def test_lithium_raw_rows_are_as_the_hand_working_says():
    raw = pd.read_parquet(DATA_DIR / "scmd_lithium.parquet")
    for (trust, month), rows in LITHIUM_RAW_ROWS.items():
        found = raw[(raw.ods_code == trust) & (raw.year_month == month)]
        got = [(c, n, float(q)) for c, n, q in found[["vmp_code", "vmp_name", "quantity"]].values]
        assert sorted(got) == sorted(rows)
        # Neither trust merged with another, so no predecessor's rows join them.
        assert trust not in successor_map() and trust not in set(successor_map().values())


@pytest.mark.parametrize(("trust", "month"), list(LITHIUM_BY_HAND))
def test_lithium_liquid_by_hand(lithium_results, trust, month):
    numerator, denominator = LITHIUM_BY_HAND[(trust, month)]
    row = _value(lithium_results, "lithium_liquid", trust, pd.Timestamp(month))
    assert row.numerator == pytest.approx(numerator, rel=1e-12)
    assert row.denominator == pytest.approx(denominator, rel=1e-12)
    assert row.value == pytest.approx(numerator / denominator, rel=1e-12)
    assert row.note is None and row.ranked


def test_lithium_values_as_rounded(lithium_results):
    got = {
        k: round(_value(lithium_results, "lithium_liquid", k[0], pd.Timestamp(k[1])).value, 6)
        for k in LITHIUM_BY_HAND
    }
    assert got == {
        ("RTD", "2023-04-01"): 0.088757,
        ("RTD", "2023-05-01"): 0.102041,
        ("RX4", "2023-09-01"): 0.027485,
        ("RX4", "2024-03-01"): 0.043655,
    }


def test_no_value_judgement_means_no_ranking_for_improvement(lithium_results):
    metrics = lithium_results.improvement
    assert len(metrics) and metrics.potential_for_improvement.isna().all()
    assert metrics.most_improved.isna().all()
    assert set(metrics.note) == {"no value judgement for this measure: trusts are not ranked"}


# --- adalimumab 40 mg as the low-volume products, by hand from the raw rows -----------------

# The adalimumab rows of the bundled biologics extract for the trust and month. SCMD counts
# these products in millilitres: 0.4 ml or 0.8 ml a 40 mg dose.
ADALIMUMAB_RAW_ROWS = {
    ("RTD", "2019-01-01"): [
        (
            "11236911000001103",
            "Adalimumab 40mg/0.8ml solution for injection pre-filled disposable devices",
            83.2,
        ),
        ("19697711000001100", "Adalimumab 40mg/0.8ml solution for injection vials", 0.8),
        (
            "32888111000001102",
            "Adalimumab 40mg/0.4ml solution for injection pre-filled disposable devices",
            4.8,
        ),
        (
            "32888211000001108",
            "Adalimumab 40mg/0.4ml solution for injection pre-filled syringes",
            814.8,
        ),
        (
            "35318811000001108",
            "Adalimumab 20mg/0.2ml solution for injection pre-filled syringes",
            12.8,
        ),
        (
            "35894411000001100",
            "Adalimumab 40mg/0.8ml solution for injection pre-filled syringes",
            9.6,
        ),
    ],
    ("RTD", "2021-06-01"): [
        (
            "11236911000001103",
            "Adalimumab 40mg/0.8ml solution for injection pre-filled disposable devices",
            2524.8,
        ),
        (
            "32888111000001102",
            "Adalimumab 40mg/0.4ml solution for injection pre-filled disposable devices",
            2.4,
        ),
        (
            "32888211000001108",
            "Adalimumab 40mg/0.4ml solution for injection pre-filled syringes",
            127.2,
        ),
        (
            "35318811000001108",
            "Adalimumab 20mg/0.2ml solution for injection pre-filled syringes",
            1.2,
        ),
        (
            "35894411000001100",
            "Adalimumab 40mg/0.8ml solution for injection pre-filled syringes",
            187.2,
        ),
        (
            "36441711000001106",
            "Adalimumab 20mg/0.4ml solution for injection pre-filled syringes",
            42.4,
        ),
    ],
    ("RR7", "2021-05-01"): [
        (
            "11236911000001103",
            "Adalimumab 40mg/0.8ml solution for injection pre-filled disposable devices",
            699.2,
        ),
        (
            "32888211000001108",
            "Adalimumab 40mg/0.4ml solution for injection pre-filled syringes",
            30.4,
        ),
        (
            "35894411000001100",
            "Adalimumab 40mg/0.8ml solution for injection pre-filled syringes",
            6.4,
        ),
    ],
}

# Doses = millilitres / volume of a dose; the measure counts DDDs, 40 mg / 2.9 mg a dose, so
# its value is the share of doses. (low-volume doses, all 40 mg doses of the four products)
ADALIMUMAB_DOSES = {
    # 0.4 ml: (4.8 + 814.8) / 0.4 = 2049; 0.8 ml pens and syringes: (83.2 + 9.6) / 0.8 = 116.
    # The 0.8 ml of vials and the 20 mg syringes are not in the measure.
    ("RTD", "2019-01-01"): ((4.8 + 814.8) / 0.4, (4.8 + 814.8) / 0.4 + (83.2 + 9.6) / 0.8),
    # 0.4 ml: (2.4 + 127.2) / 0.4 = 324; 0.8 ml: (2524.8 + 187.2) / 0.8 = 3390.
    ("RTD", "2021-06-01"): ((2.4 + 127.2) / 0.4, (2.4 + 127.2) / 0.4 + (2524.8 + 187.2) / 0.8),
    # 0.4 ml: 30.4 / 0.4 = 76; 0.8 ml: (699.2 + 6.4) / 0.8 = 882.
    ("RR7", "2021-05-01"): (30.4 / 0.4, 30.4 / 0.4 + (699.2 + 6.4) / 0.8),
}
ADALIMUMAB_DDD_PER_DOSE = 40 / 2.9

# DDDs per millilitre, as SCMD counts these products: 40 mg in 0.8 ml is 50 mg a ml, 40 mg in
# 0.4 ml 100 mg a ml, over the WHO DDD of 2.9 mg.
ADALIMUMAB_DDD_PER_ML = {
    "11236911000001103": 40 / 0.8 / 2.9,
    "35894411000001100": 40 / 0.8 / 2.9,
    "32888111000001102": 40 / 0.4 / 2.9,
    "32888211000001108": 40 / 0.4 / 2.9,
}


@pytest.fixture(scope="module")
def biologics():
    return load_dataset("scmd_biologics")


@pytest.fixture(scope="module")
def adalimumab_results(biologics):
    # The measure on products whose adalimumab DDDs are per millilitre, as SCMD counts them
    # (see the expected failure below for the bundled products table).
    products = measure_products()
    per_ml = products["vmp_code"].map(ADALIMUMAB_DDD_PER_ML)
    products["ddd_per_unit"] = per_ml.where(per_ml.notna(), products["ddd_per_unit"])
    return compute_measures(usage=biologics, definitions=[ADALIMUMAB], products=products)


def test_adalimumab_raw_rows_are_as_the_hand_working_says():
    raw = pd.read_parquet(DATA_DIR / "scmd_biologics.parquet")
    for (trust, month), rows in ADALIMUMAB_RAW_ROWS.items():
        found = raw[
            (raw.ods_code == trust)
            & (raw.year_month == month)
            & raw.vmp_product_name.str.startswith("Adalimumab")
        ]
        got = [
            (c, n, float(q))
            for c, n, q in found[["vmp_snomed_code", "vmp_product_name", "total_quantity"]].values
        ]
        assert sorted(got) == sorted(rows)
        assert trust not in successor_map() and trust not in set(successor_map().values())


def test_scmd_counts_adalimumab_in_millilitres(biologics):
    # Were the quantities syringes or pens they would be whole numbers; they are whole
    # multiples of the dose volume instead, and mostly not whole numbers.
    # (rows, rows a whole multiple of the volume, rows a whole number)
    expected = {
        "11236911000001103": (0.8, 4508, 4505, 897),
        "35894411000001100": (0.8, 3653, 3648, 646),
        "32888111000001102": (0.4, 3894, 3892, 767),
        "32888211000001108": (0.4, 2715, 2715, 387),
    }
    for code, (volume, rows, multiples, whole) in expected.items():
        quantity = biologics.loc[biologics.vmp_code == code, "quantity"].to_numpy()
        doses = quantity / volume
        assert len(quantity) == rows
        assert int(np.isclose(doses, doses.round(), atol=1e-6).sum()) == multiples
        assert int(np.isclose(quantity, quantity.round(), atol=1e-6).sum()) == whole


@pytest.mark.parametrize(("trust", "month"), list(ADALIMUMAB_DOSES))
def test_adalimumab_low_volume_by_hand(adalimumab_results, trust, month):
    low, doses = ADALIMUMAB_DOSES[(trust, month)]
    row = _value(adalimumab_results, "adalimumab_low_volume", trust, pd.Timestamp(month))
    assert row.numerator == pytest.approx(low * ADALIMUMAB_DDD_PER_DOSE, rel=1e-12)
    assert row.denominator == pytest.approx(doses * ADALIMUMAB_DDD_PER_DOSE, rel=1e-12)
    assert row.value == pytest.approx(low / doses, rel=1e-12)


def test_adalimumab_values_as_rounded(adalimumab_results):
    got = {
        k: round(
            _value(adalimumab_results, "adalimumab_low_volume", k[0], pd.Timestamp(k[1])).value, 6
        )
        for k in ADALIMUMAB_DOSES
    }
    # 2049 / 2165, 324 / 3714, 76 / 958
    assert got == {
        ("RTD", "2019-01-01"): 0.94642,
        ("RTD", "2021-06-01"): 0.087237,
        ("RR7", "2021-05-01"): 0.079332,
    }


def test_the_bundled_products_give_adalimumab_ddds_per_millilitre():
    products = measure_products().set_index("vmp_code")
    for code, per_ml in ADALIMUMAB_DDD_PER_ML.items():
        assert products.loc[code, "ddd_per_unit"] == pytest.approx(per_ml)


# --- measures whose products the usage does not hold -----------------------------------------


def test_measures_without_their_products_in_the_usage_give_no_rows():
    # compute_measures() with no usage reads the bundled antibacterials extract, which holds
    # no lithium or adalimumab: those measures have no values, percentiles or metrics, and the
    # antibacterial measures are computed as before.
    results = compute_measures(percentiles=(50,))
    assert {d.id for d in results.definitions} == {d.id for d in load_definitions()}
    computed = set(results.values.measure_id)
    assert {"abx_access", "abx_iv"} <= computed
    assert not {"lithium_liquid", "adalimumab_low_volume"} & computed
    assert set(results.percentiles.measure_id) == computed
    assert set(results.improvement.measure_id) == computed
    # Their products are still listed, and none is reported as left out of the usage.
    assert {"lithium_liquid", "adalimumab_low_volume"} <= set(results.products.measure_id)
    assert set(results.excluded.measure_id) <= computed
