"""DDDs per unit from dm+d names, the bundled antibacterial reference, and product selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medlib.errors import InputError
from medlib.measures.definitions import ProductSelection
from medlib.measures.products import (
    PRODUCT_COLUMNS,
    Strength,
    antibacterial_reference,
    build_antibacterial_reference,
    ddd_per_unit,
    derive_ddd_columns,
    measure_products,
    parse_strength,
    select,
)
from medlib.paths import DATA_DIR

# Every ATC J01 product of the bundled SCMD antibacterial extract and its DDDs per SCMD unit,
# worked out from the name and the WHO DDD (in mg, million units or unit doses). A liquid is
# counted per ml ("125mg/5ml" is 125 / 5 mg per ml), a tablet, capsule, sachet or vial of
# powder per piece.
J01_EXPECTED = [
    ("323732002", 125 / 5 / 1500),  # Amoxicillin 125mg/5ml oral suspension: per ml, DDD 1500 mg
    (
        "323739006",
        1000 / 3000,
    ),  # Amoxicillin 1g powder for solution for injection vials: per vial, DDD 3000 mg
    (
        "323737008",
        250 / 3000,
    ),  # Amoxicillin 250mg powder for solution for injection vials: per vial, DDD 3000 mg
    ("323733007", 250 / 5 / 1500),  # Amoxicillin 250mg/5ml oral suspension: per ml, DDD 1500 mg
    (
        "323738003",
        500 / 3000,
    ),  # Amoxicillin 500mg powder for solution for injection vials: per vial, DDD 3000 mg
    ("323572009", 125 / 5 / 2000),  # Ampicillin 125mg/5ml oral suspension: per ml, DDD 2000 mg
    ("323570001", 250 / 2000),  # Ampicillin 250mg capsules: per capsule, DDD 2000 mg
    ("323573004", 250 / 5 / 2000),  # Ampicillin 250mg/5ml oral suspension: per ml, DDD 2000 mg
    ("323571002", 500 / 2000),  # Ampicillin 500mg capsules: per capsule, DDD 2000 mg
    (
        "323584006",
        500 / 6000,
    ),  # Ampicillin 500mg powder for solution for injection vials: per vial, DDD 6000 mg
    ("324253001", 200 / 5 / 300),  # Azithromycin 200mg/5ml oral suspension: per ml, DDD 300 mg
    ("324252006", 250 / 300),  # Azithromycin 250mg capsules: per capsule, DDD 300 mg
    ("370763001", None),  # Azithromycin 500mg powder for solution for infusion vials: no DDD
    (
        "323961007",
        1000 / 4000,
    ),  # Aztreonam 1g powder for solution for injection vials: per vial, DDD 4000 mg
    (
        "323962000",
        2000 / 4000,
    ),  # Aztreonam 2g powder for solution for injection vials: per vial, DDD 4000 mg
    (
        "323396003",
        1200 / 3600,
    ),  # Benzylpenicillin 1.2g powder for solution for injection vials: per vial, DDD 3600 mg
    (
        "323398002",
        600 / 3600,
    ),  # Benzylpenicillin 600mg powder for solution for injection vials: per vial, DDD 3600 mg
    ("323792004", 125 / 5 / 1000),  # Cefaclor 125mg/5ml oral suspension: per ml, DDD 1000 mg
    ("323793009", 250 / 5 / 1000),  # Cefaclor 250mg/5ml oral suspension: per ml, DDD 1000 mg
    ("323812006", 250 / 5 / 2000),  # Cefadroxil 250mg/5ml oral suspension: per ml, DDD 2000 mg
    ("323887008", 125 / 5 / 2000),  # Cefalexin 125mg/5ml oral suspension: per ml, DDD 2000 mg
    ("323888003", 250 / 5 / 2000),  # Cefalexin 250mg/5ml oral suspension: per ml, DDD 2000 mg
    (
        "323936009",
        1000 / 3000,
    ),  # Cefazolin 1g powder for solution for injection vials: per vial, DDD 3000 mg
    ("323973007", 200 / 400),  # Cefixime 200mg tablets: per tablet, DDD 400 mg
    (
        "323825003",
        1000 / 4000,
    ),  # Cefotaxime 1g powder for solution for injection vials: per vial, DDD 4000 mg
    (
        "323824004",
        500 / 4000,
    ),  # Cefotaxime 500mg powder for solution for injection vials: per vial, DDD 4000 mg
    (
        "323829009",
        1000 / 6000,
    ),  # Cefoxitin 1g powder for solution for injection vials: per vial, DDD 6000 mg
    (
        "323830004",
        2000 / 6000,
    ),  # Cefoxitin 2g powder for solution for injection vials: per vial, DDD 6000 mg
    ("323944009", 250 / 2000),  # Cefradine 250mg capsules: per capsule, DDD 2000 mg
    ("323945005", 500 / 2000),  # Cefradine 500mg capsules: per capsule, DDD 2000 mg
    (
        "323854009",
        1000 / 4000,
    ),  # Ceftazidime 1g powder for solution for injection vials: per vial, DDD 4000 mg
    (
        "323852008",
        250 / 4000,
    ),  # Ceftazidime 250mg powder for solution for injection vials: per vial, DDD 4000 mg
    (
        "323855005",
        2000 / 4000,
    ),  # Ceftazidime 2g powder for solution for injection vials: per vial, DDD 4000 mg
    (
        "323849000",
        3000 / 4000,
    ),  # Ceftazidime 3g powder for solution for injection vials: per vial, DDD 4000 mg
    (
        "323853003",
        500 / 4000,
    ),  # Ceftazidime 500mg powder for solution for injection vials: per vial, DDD 4000 mg
    (
        "323990001",
        1000 / 2000,
    ),  # Ceftriaxone 1g powder for solution for injection vials: per vial, DDD 2000 mg
    (
        "323989005",
        250 / 2000,
    ),  # Ceftriaxone 250mg powder for solution for injection vials: per vial, DDD 2000 mg
    (
        "323991002",
        2000 / 2000,
    ),  # Ceftriaxone 2g powder for solution for injection vials: per vial, DDD 2000 mg
    ("323872003", 125 / 5 / 500),  # Cefuroxime 125mg/5ml oral suspension: per ml, DDD 500 mg
    ("323880005", 250 / 3000),  # Cefuroxime 250mg powder for injection vials: per vial, DDD 3000 mg
    (
        "324303009",
        1000 / 3000,
    ),  # Chloramphenicol 1g powder for solution for injection vials: per vial, DDD 3000 mg
    ("324298007", 250 / 3000),  # Chloramphenicol 250mg capsules: per capsule, DDD 3000 mg
    ("324602005", 250 / 5 / 1000),  # Ciprofloxacin 250mg/5ml oral suspension: per ml, DDD 1000 mg
    ("324248006", 250 / 500),  # Clarithromycin 250mg granules sachets: per sachet, DDD 500 mg
    ("324238009", 250 / 500),  # Clarithromycin 250mg tablets: per tablet, DDD 500 mg
    (
        "324242007",
        500 / 1000,
    ),  # Clarithromycin 500mg powder for solution for infusion vials: per vial, DDD 1000 mg
    ("324244008", 500 / 500),  # Clarithromycin 500mg tablets: per tablet, DDD 500 mg
    ("324277007", 150 / 1200),  # Clindamycin 150mg capsules: per capsule, DDD 1200 mg
    ("324276003", 75 / 1200),  # Clindamycin 75mg capsules: per capsule, DDD 1200 mg
    (
        "323568005",
        1000 / 3000,
    ),  # Co-amoxiclav 1000mg/200mg powder for solution for injection vials: per vial, the DDD (3000 mg) counts amoxicillin
    (
        "323567000",
        500 / 3000,
    ),  # Co-amoxiclav 500mg/100mg powder for solution for injection vials: per vial, the DDD (3000 mg) counts amoxicillin
    (
        "324359004",
        160 / 80 / 4,
    ),  # Co-trimoxazole 160mg/800mg tablets: per tablet, DDD 4 UD of 80 mg trimethoprim
    (
        "324357002",
        80 / 80 / 4,
    ),  # Co-trimoxazole 80mg/400mg tablets: per tablet, DDD 4 UD of 80 mg trimethoprim
    (
        "324362001",
        80 / 5 / 80 / 4,
    ),  # Co-trimoxazole 80mg/400mg/5ml oral suspension: per ml, DDD 4 UD of 80 mg trimethoprim
    (
        "324311004",
        1 / 9,
    ),  # Colistimethate 1million unit powder for solution for injection vials: per vial, DDD 9 MU
    (
        "324310003",
        0.5 / 9,
    ),  # Colistimethate 500,000unit powder for solution for injection vials: per vial, DDD 9 MU
    ("324049005", 150 / 600),  # Demeclocycline 150mg capsules: per capsule, DDD 600 mg
    ("371595007", 150 / 600),  # Demeclocycline 150mg tablets: per tablet, DDD 600 mg
    ("324059006", 100 / 100),  # Doxycycline 100mg capsules: per capsule, DDD 100 mg
    ("421341000", 100 / 100),  # Doxycycline 100mg tablets: per tablet, DDD 100 mg
    ("408607002", 20 / 100),  # Doxycycline 20mg tablets: per tablet, DDD 100 mg
    ("324070004", 50 / 100),  # Doxycycline 50mg capsules: per capsule, DDD 100 mg
    (
        "324215006",
        1000 / 1000,
    ),  # Erythromycin 1g powder for solution for infusion vials: per vial, DDD 1000 mg
    (
        "324178009",
        250 / 1000,
    ),  # Erythromycin 250mg gastro-resistant tablets: per tablet, DDD 1000 mg
    (
        "324232005",
        125 / 5 / 2000,
    ),  # Erythromycin ethyl succinate 125mg/5ml oral suspension: per ml, DDD 2000 mg
    (
        "324233000",
        250 / 5 / 2000,
    ),  # Erythromycin ethyl succinate 250mg/5ml oral suspension: per ml, DDD 2000 mg
    (
        "324179001",
        500 / 2000,
    ),  # Erythromycin ethyl succinate 500mg tablets: per tablet, DDD 2000 mg
    (
        "324234006",
        500 / 5 / 2000,
    ),  # Erythromycin ethyl succinate 500mg/5ml oral suspension: per ml, DDD 2000 mg
    ("324180003", 250 / 1000),  # Erythromycin stearate 250mg tablets: per tablet, DDD 1000 mg
    ("324181004", 500 / 1000),  # Erythromycin stearate 500mg tablets: per tablet, DDD 1000 mg
    ("323484009", 125 / 5 / 2000),  # Flucloxacillin 125mg/5ml oral solution: per ml, DDD 2000 mg
    ("323496002", 125 / 5 / 2000),  # Flucloxacillin 125mg/5ml oral suspension: per ml, DDD 2000 mg
    (
        "323493005",
        1000 / 2000,
    ),  # Flucloxacillin 1g powder for solution for injection vials: per vial, DDD 2000 mg
    (
        "323491007",
        250 / 2000,
    ),  # Flucloxacillin 250mg powder for solution for injection vials: per vial, DDD 2000 mg
    ("323485005", 250 / 5 / 2000),  # Flucloxacillin 250mg/5ml oral solution: per ml, DDD 2000 mg
    ("323474008", 250 / 5 / 2000),  # Flucloxacillin 250mg/5ml oral suspension: per ml, DDD 2000 mg
    (
        "323492000",
        500 / 2000,
    ),  # Flucloxacillin 500mg powder for solution for injection vials: per vial, DDD 2000 mg
    ("324317000", 250 / 5 / 1500),  # Fusidic acid 250mg/5ml oral suspension: per ml, DDD 1500 mg
    (
        "323970005",
        500 / 2000,
    ),  # Imipenem 500mg / Cilastatin 500mg powder for suspension for injection vials: per vial, the DDD (2000 mg) counts imipenem
    ("324634001", 500 / 500),  # Levofloxacin 500mg tablets: per tablet, DDD 500 mg
    ("134561001", 600 / 1200),  # Linezolid 600mg tablets: per tablet, DDD 1200 mg
    ("324076005", 408 / 600),  # Lymecycline 408mg capsules: per capsule, DDD 600 mg
    (
        "324344005",
        1000 / 3000,
    ),  # Meropenem 1g powder for solution for injection vials: per vial, DDD 3000 mg
    (
        "324343004",
        500 / 3000,
    ),  # Meropenem 500mg powder for solution for injection vials: per vial, DDD 3000 mg
    ("371616001", 1000 / 2000),  # Methenamine hippurate 1g tablets: per tablet, DDD 2000 mg
    ("408015000", 400 / 400),  # Moxifloxacin 400mg tablets: per tablet, DDD 400 mg
    ("324572002", 100 / 200),  # Nitrofurantoin 100mg capsules: per capsule, DDD 200 mg
    ("324559003", 100 / 200),  # Nitrofurantoin 100mg tablets: per tablet, DDD 200 mg
    ("375489004", 25 / 5 / 200),  # Nitrofurantoin 25mg/5ml oral suspension: per ml, DDD 200 mg
    ("324570005", 50 / 200),  # Nitrofurantoin 50mg capsules: per capsule, DDD 200 mg
    ("324558006", 50 / 200),  # Nitrofurantoin 50mg tablets: per tablet, DDD 200 mg
    ("324621002", 400 / 800),  # Norfloxacin 400mg tablets: per tablet, DDD 800 mg
    ("324612003", 200 / 400),  # Ofloxacin 200mg tablets: per tablet, DDD 400 mg
    ("324620001", 400 / 400),  # Ofloxacin 400mg tablets: per tablet, DDD 400 mg
    ("324095003", 250 / 1000),  # Oxytetracycline 250mg tablets: per tablet, DDD 1000 mg
    (
        "323418000",
        125 / 5 / 2000,
    ),  # Phenoxymethylpenicillin 125mg/5ml oral solution: per ml, DDD 2000 mg
    ("323416001", 250 / 2000),  # Phenoxymethylpenicillin 250mg tablets: per tablet, DDD 2000 mg
    (
        "323420002",
        250 / 5 / 2000,
    ),  # Phenoxymethylpenicillin 250mg/5ml oral solution: per ml, DDD 2000 mg
    (
        "323673005",
        2000 / 14000,
    ),  # Piperacillin 2g / Tazobactam 250mg powder for solution for infusion vials: per vial, the DDD (14000 mg) counts piperacillin
    (
        "323671007",
        4000 / 14000,
    ),  # Piperacillin 4g / Tazobactam 500mg powder for solution for infusion vials: per vial, the DDD (14000 mg) counts piperacillin
    (
        "324354009",
        (150 + 350) / 1500,
    ),  # Quinupristin 150mg / Dalfopristin 350mg powder for solution for infusion vials: per vial, the DDD (1500 mg) counts both
    ("324316009", 250 / 1500),  # Sodium fusidate 250mg tablets: per tablet, DDD 1500 mg
    (
        "324503008",
        1000 / 1000,
    ),  # Streptomycin 1g powder for solution for injection vials: per vial, DDD 1000 mg
    ("324411000", 500 / 600),  # Sulfadiazine 500mg tablets: per tablet, DDD 600 mg
    ("703915009", 200 / 200),  # Tedizolid 200mg tablets: per tablet, DDD 200 mg
    ("324430000", 100 / 400),  # Trimethoprim 100mg tablets: per tablet, DDD 400 mg
    ("324431001", 200 / 400),  # Trimethoprim 200mg tablets: per tablet, DDD 400 mg
    (
        "324333002",
        1000 / 2000,
    ),  # Vancomycin 1g powder for solution for infusion vials: per vial, DDD 2000 mg
    (
        "324337001",
        500 / 2000,
    ),  # Vancomycin 500mg powder for solution for infusion vials: per vial, DDD 2000 mg
]


def test_every_j01_product_of_the_extract_has_its_hand_worked_ddd_per_unit():
    extract = pd.read_parquet(DATA_DIR / "scmd_antibacterials.parquet", columns=["vmp_snomed_code"])
    products = measure_products()
    in_extract = products[products["vmp_code"].isin(set(extract["vmp_snomed_code"]))]
    j01 = in_extract[in_extract["atc_code"].fillna("").str.startswith("J01")]
    expected = dict(J01_EXPECTED)
    assert len(expected) == len(J01_EXPECTED) == 109
    assert set(j01["vmp_code"]) == set(expected)
    got = j01.set_index("vmp_code")["ddd_per_unit"]
    for code, value in expected.items():
        if value is None:
            assert np.isnan(got[code]), code
        else:
            assert got[code] == pytest.approx(value, rel=1e-12), code
    # 108 of the 109 have a DDD; the one without is listed with its reason.
    assert got.notna().sum() == 108
    missing = j01[j01["ddd_per_unit"].isna()]
    assert missing[["vmp_name", "ddd_note"]].to_numpy().tolist() == [
        ["Azithromycin 500mg powder for solution for infusion vials", "no WHO DDD for this product"]
    ]


def test_brief_examples():
    assert ddd_per_unit("Amoxicillin 500mg capsules", "J01CA04", 1.5, "g").value == pytest.approx(
        500 / 1500
    )
    # Co-amoxiclav: the WHO DDD (oral 1.5 g) counts the amoxicillin.
    tablets = ddd_per_unit("Co-amoxiclav 500mg/125mg tablets", "J01CR02", 1.5, "g")
    assert tablets.value == pytest.approx(500 / 1500)
    assert tablets.note == "0.5 g per tablet / DDD 1.5 g"
    vial = ddd_per_unit("Ceftriaxone 1g powder for solution for injection vials", "J01DD04", 2, "g")
    assert (vial.value, vial.scmd_unit) == (0.5, "vial")


def test_solutions_in_containers_are_counted_per_ml():
    # dm+d gives such products a unit dose form size in ml, and SCMD counts them in ml (the
    # bundled lithium extract records its 10 ml ampoules in ML).
    amp = ddd_per_unit("Gentamicin 80mg/2ml solution for injection ampoules", "J01GB03", 240, "mg")
    assert (amp.scmd_unit, amp.value) == ("ml", pytest.approx(40 / 240))
    bag = ddd_per_unit("Metronidazole 500mg/100ml infusion 100ml bags", "J01XD01", 1.5, "g")
    assert (bag.scmd_unit, bag.value) == ("ml", pytest.approx(5 / 1500))
    per_ml = ddd_per_unit("Gentamicin 40mg/ml solution for injection vials", "J01GB03", 240, "mg")
    assert per_ml.value == pytest.approx(40 / 240)


@pytest.mark.parametrize(
    ("name", "atc", "ddd", "unit", "reason"),
    [
        ("Fusidic acid 2% cream", "D06AX01", None, None, "no WHO DDD for this product"),
        ("Clindamycin 2% vaginal cream", "G01AA10", 100, "mg", "percentage"),
        ("Clarithromycin 250mg granules straws", "J01FA09", 500, "mg", "SCMD unit"),
        ("Ticarcillin 3g / Clavulanic acid 200mg vials", "J01CR03", 15, "g", "combination"),
        ("Generic Rifater tablets", "J04AM05", 1, "g", "no strength"),
        ("Some 5mmol tablets", "X", 2, "g", "does not convert"),
        ("Amoxicillin 500mg capsules", "J01CA04", 1.5, "kg", "not one known"),
        (
            "Co-trimoxazole 80mg/400mg/5ml solution for infusion ampoules",
            "J01EE01",
            None,
            None,
            "oral forms",
        ),
    ],
)
def test_no_ddd_per_unit_comes_with_a_reason(name, atc, ddd, unit, reason):
    result = ddd_per_unit(name, atc, ddd, unit)
    assert result.value is None
    assert reason in result.note


def test_parse_strength():
    assert parse_strength("Colistimethate 500,000unit powder for solution for injection vials") == (
        Strength(((500000.0, "unit"),), None)
    )
    assert parse_strength("Erythromycin ethyl succinate 250mg/5ml oral suspension") == Strength(
        ((250.0, "mg"),), 5.0
    )
    assert parse_strength(
        "Teicoplanin 400mg powder and solvent for solution for injection vials"
    ) == (Strength(((400.0, "mg"),), None))
    assert parse_strength("Gentamicin 40mg/ml solution for injection vials") == Strength(
        ((40.0, "mg"),), 1.0
    )
    assert parse_strength(None) is None


def test_bundled_reference_matches_its_derivation():
    # The derived columns of the bundled CSV are what the code derives from its source columns.
    ref = antibacterial_reference()
    again = derive_ddd_columns(
        ref.drop(
            columns=["amount_per_unit", "amount_unit", "scmd_unit", "ddd_per_unit", "ddd_note"]
        )
    )
    pd.testing.assert_frame_equal(again[ref.columns], ref, check_dtype=False)
    assert ref["vmp_code"].is_unique
    assert set(ref["aware_category"].dropna()) == {"Access", "Watch", "Reserve"}


def test_build_antibacterial_reference_from_its_sources():
    codelist = pd.DataFrame(
        {
            "id": ["1", "1", "2", "3", "4"],
            "nm": [
                "Co-amoxiclav 500mg/100mg powder for solution for injection vials",
                "Co-amoxiclav 500mg/100mg powder for solution for injection vials",
                "Co-amoxiclav 500mg/100mg powder for solution for injection vials",
                "Fusidic acid 2% cream",
                "Methenamine hippurate 1g tablets",
            ],
            # The code list writes a missing DDD as the smallest 64-bit integer.
            "ddd": ["3.0", "3.0", "3.0", "-9.223372036854776e+18", "2.0"],
            "ddd_uomcd": ["258682000.0", "258682000.0", "258682000.0", None, "258682000.0"],
            "category": ["Access", "Access", "Access", "Watch", "Uncategorised"],
            "Route": ["Injectable", "Injectable", "Injectable", "Topical", "Oral"],
        }
    )
    # Code 2 is missing from the supplement: it takes the ATC code of code 1, which has its name.
    supplement = pd.DataFrame(
        {
            "VPID": ["1", "3", "4"],
            "ATC": ["J01CR02", "D06AX01", "J01XX05"],
            "DDD": ["3", "", "2"],
            "DDD_UOMCD": ["258682000", "", "258682000"],
        }
    )
    out = build_antibacterial_reference(codelist, supplement).set_index("vmp_code")
    assert list(out.index) == ["1", "2", "3", "4"]
    assert out.loc["2", "atc_code"] == "J01CR02"
    assert out.loc["2", "ddd_per_unit"] == pytest.approx(0.5 / 3)
    assert (
        np.isnan(out.loc["3", "ddd"]) and out.loc["3", "ddd_note"] == "no WHO DDD for this product"
    )
    assert out.loc["4", "aware_category"] is None or pd.isna(out.loc["4", "aware_category"])


def test_build_refuses_a_vmp_described_two_ways():
    codelist = pd.DataFrame(
        {
            "id": ["1", "1"],
            "nm": ["A 1g tablets", "A 1g tablets"],
            "ddd": ["1", "2"],
            "ddd_uomcd": ["258682000", "258682000"],
            "category": ["Access", "Access"],
            "Route": ["Oral", "Oral"],
        }
    )
    supplement = pd.DataFrame({"VPID": [], "ATC": [], "DDD": [], "DDD_UOMCD": []})
    with pytest.raises(InputError, match="more than one way"):
        build_antibacterial_reference(codelist, supplement)


def _products() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "vmp_code": ["1", "2", "3", "4", "5"],
            "vmp_name": [
                "Amoxicillin 500mg capsules",
                "Amoxicillin 1g powder for solution for injection vials",
                "Metronidazole 200mg/5ml oral suspension",
                "Methenamine hippurate 1g tablets",
                "Co-amoxiclav 500mg/125mg tablets",
            ],
            "vtm_name": [
                "Amoxicillin",
                "Amoxicillin sodium",
                "Metronidazole benzoate",
                "Methenamine hippurate",
                None,
            ],
            "atc_code": ["J01CA04", "J01CA04", "P01AB01", "J01XX05", None],
            "route": ["Oral", "Injectable", "Oral", "Oral", "Oral"],
            "form": [None] * 5,
            "aware_category": ["Access", "Access", "Access", None, "Access"],
            "ddd_per_unit": [1 / 3, 1 / 3, 0.02, 0.5, 1 / 3],
            "ddd_note": [""] * 5,
        }
    )


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (ProductSelection(atc_prefix=("j01",)), ["1", "2", "4"]),
        (ProductSelection(vtm=("metronidazole",)), ["3"]),  # matches the salt form
        (ProductSelection(vtm=("amoxicillin",), route=("injectable",)), ["2"]),
        (ProductSelection(name_pattern="^co-amox"), ["5"]),  # case-insensitive
        (ProductSelection(vmp_codes=("4", "5")), ["4", "5"]),
        (ProductSelection(aware=("access",), exclude=ProductSelection(route=("Oral",))), ["2"]),
        (
            ProductSelection(
                any_of=(
                    ProductSelection(atc_prefix=("J01",)),
                    ProductSelection(vtm=("metronidazole",)),
                ),
                exclude=ProductSelection(vtm=("methenamine",)),
            ),
            ["1", "2", "3"],
        ),
        (ProductSelection(form=("Capsule",)), []),  # a missing attribute matches nothing
    ],
)
def test_select(selection, expected):
    products = _products()
    assert products.loc[select(products, selection), "vmp_code"].tolist() == expected


def test_measure_products_joins_the_reference():
    products = measure_products()
    assert list(products.columns) == PRODUCT_COLUMNS
    assert products["vmp_code"].is_unique
    row = products.set_index("vmp_code").loc["323671007"]  # piperacillin/tazobactam 4g/500mg
    assert row["aware_category"] == "Watch" and row["route"] == "Injectable"
    assert row["ddd_per_unit"] == pytest.approx(4 / 14)
    # The lithium DDD overrides of the products table are kept.
    lithium = products.set_index("vmp_code").loc["42295811000001109"]  # citrate 1.018g/5ml
    assert lithium["ddd_per_unit"] == pytest.approx(0.09)
    assert lithium["ddd_note"] == "DDD per unit from the products table"
