"""Issue 15, items 1 and 4: names from ingested files never run in a reader's browser or sheet.

Item 1 (script injection): a trust named ``<script>...</script>`` in the trusts reference and a
molecule named ``<img onerror=...>`` in an ingested products file go through the real spend,
switch and polypharmacy sections, and each page is exported as the renderer exports one. The
page must hold no element the names would inject, and show the names as typed. One case opens
the spend page in Chromium: no injected element in the DOM, no dialog.

Item 4 (formula injection): a name starting with ``=`` was stored by openpyxl as a live formula
and written raw to the CSVs and quarantine files. Every writer is tested with both payloads.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import IPython.display
import matplotlib
import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from IPython.core.formatters import DisplayFormatter
from poly_fixtures import CENSUS, IBUPROFEN, build, med, patient
from typer.testing import CliRunner

matplotlib.use("Agg")

from medlib.cli import app  # noqa: E402
from medlib.context import resolve_context  # noqa: E402
from medlib.io.cells import neutralise_frame, neutralise_text  # noqa: E402
from medlib.io.datasets import USAGE_FILES  # noqa: E402
from medlib.io.patient_store import ingest_patients  # noqa: E402
from medlib.io.reference_store import ingest_products  # noqa: E402
from medlib.io.store import Store, ingest  # noqa: E402
from medlib.paths import DATA_DIR  # noqa: E402
from medlib.polypharmacy import report as poly_report  # noqa: E402
from medlib.present.outputs import publish_tables  # noqa: E402
from medlib.present.sections import Section, Table, safe_markdown  # noqa: E402
from medlib.reference import trusts  # noqa: E402
from medlib.render.excel import read_table_csv, write_workbook  # noqa: E402
from medlib.render.html import ReportHeading, notebook_to_html  # noqa: E402
from medlib.render.pdf import CHROMIUM_FLAGS, find_chromium  # noqa: E402
from medlib.spend.report import build as build_spend  # noqa: E402
from medlib.switch.report import build as build_switch  # noqa: E402

# --- item 1: script injection -----------------------------------------------------------------

TRUST = "<script>alert('trust')</script>Newcastle"
#: A second trust's name tries Markdown's own link syntax.
LINKED = "Gateshead [click](javascript:alert('link'))"
MOLECULE = "<img src=x onerror=alert('molecule')>Lithium carbonate"
NAMES = {"RTD": TRUST, "RR7": LINKED}


@pytest.fixture(scope="module")
def named_trusts():
    """The trusts reference with markup in two names (as if the reference file held them)."""
    by_code = trusts._by_code()
    patched = {c: dataclasses.replace(t, name=NAMES.get(c, t.name)) for c, t in by_code.items()}
    table = trusts._trusts()
    renamed = table.assign(trust_name=table["trust_code"].map(NAMES).fillna(table["trust_name"]))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(trusts, "_by_code", lambda: patched)
        mp.setattr(trusts, "_trusts", lambda: renamed)
        yield


@pytest.fixture(scope="module")
def marked_store(tmp_path_factory) -> str:
    """A store of the bundled lithium usage whose products file names a molecule with markup."""
    root = tmp_path_factory.mktemp("marked")
    ingest([DATA_DIR / USAGE_FILES["scmd_lithium"][0]], root / "store")
    products = pd.read_csv(DATA_DIR / "products.csv", dtype=str, keep_default_na=False)
    products["vtm_name"] = products["vtm_name"].replace("Lithium carbonate", MOLECULE)
    products.to_csv(root / "products.csv", index=False)
    result = ingest_products(root / "products.csv", Store(root / "store"))
    assert result.rows_quarantined == 0
    return str(root / "store")


def page_of(report) -> str:
    """The report's page as the renderer makes it: each section displayed as Jupyter shows it
    (Markdown, a table's HTML, a figure's PNG), then exported by ``notebook_to_html``."""
    formatter = DisplayFormatter()
    nb = nbformat.v4.new_notebook()
    for name in report.section_names():
        shown: list = []
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(IPython.display, "display", shown.append)
            report.section(name)._ipython_display_()
        cell = nbformat.v4.new_code_cell("")
        for obj in shown:
            data, _ = formatter.format(obj)
            cell.outputs.append(nbformat.v4.new_output("display_data", data=data))
        nb.cells.append(cell)
    heading = ReportHeading("Pack", report.context.code, "", "report", "to 2024-03", "now")
    return notebook_to_html(nb, heading)


def injected(page: str) -> list[str]:
    """Every element of the page that runs script or loads something: none belongs there.

    The page template has no script of its own and its images are embedded PNGs (data URIs).
    """
    soup = BeautifulSoup(page, "html.parser")
    found = [f"<{t.name}>" for t in soup.find_all(["script", "iframe", "object", "embed"])]
    found += [
        f"<{t.name} {a}>"
        for t in soup.find_all(True)
        for a in t.attrs
        if a.lower().startswith("on")
    ]
    found += [
        f"<img src={img.get('src', '')[:30]}>"
        for img in soup.find_all("img")
        if not img.get("src", "").startswith("data:image/png;base64,")
    ]
    found += [
        f"<a href={a['href']}>"
        for a in soup.find_all("a", href=True)
        if a["href"].strip().lower().startswith("javascript:")
    ]
    return found


def visible_text(page: str) -> str:
    return BeautifulSoup(page, "html.parser").get_text()


@pytest.fixture(scope="module")
def spend_page(named_trusts, marked_store) -> str:
    report = build_spend(resolve_context("RTD", "2024-03"), store=marked_store)
    # The names reach the report (so the page below is a test of escaping, not of absence).
    assert report.name == TRUST and MOLECULE in set(report.by_molecule()["molecule"])
    return page_of(report)


@pytest.fixture(scope="module")
def switch_page(named_trusts) -> str:
    # RR7's page: RTD's name reaches it through the league table.
    report = build_switch(resolve_context("RR7", "2024-03"), ("adalimumab",))
    assert report.trust_names["RTD"] == TRUST and report.trust_name == LINKED
    return page_of(report)


@pytest.fixture(scope="module")
def poly_page(named_trusts) -> str:
    people = [patient(f"rtd{i}") for i in range(9)] + [
        patient(f"rtf{i}", trust="RTF") for i in range(9)
    ]
    audit = poly_report.audit_from_tables(build(*people), "RTD", CENSUS)
    assert audit.organisation_name == TRUST
    return page_of(poly_report.AuditReport(resolve_context("RTD", "2024-03"), audit))


def test_a_spend_page_shows_markup_names_as_text(spend_page):
    assert injected(spend_page) == []
    text = visible_text(spend_page)
    assert TRUST in text and MOLECULE in text


def test_a_switch_page_shows_another_trusts_markup_name_as_text(switch_page):
    assert injected(switch_page) == []
    text = visible_text(switch_page)
    assert TRUST in text and LINKED in text


def test_a_polypharmacy_page_shows_a_markup_trust_name_as_text(poly_page):
    assert injected(poly_page) == []
    assert TRUST in visible_text(poly_page)


def test_the_check_finds_what_an_unescaped_name_would_inject():
    # The same check on raw markup finds each element (so an empty list above means something).
    raw = f"<p>{TRUST}</p><p>{MOLECULE}</p><a href=\"javascript:alert('link')\">click</a>"
    assert injected(raw) == [
        "<script>",
        "<img onerror>",
        "<img src=x>",
        "<a href=javascript:alert('link')>",
    ]


def test_one_escape_for_tables_and_one_for_markdown():
    frame = pd.DataFrame({"trust_name": [TRUST], MOLECULE: [1234.5], "n": [3]})
    html = Table(frame, {MOLECULE: "{:,.1f}"}).styler().to_html()
    # Cells are escaped after formatting (numbers keep their format), column names too.
    assert "&lt;script&gt;alert(&#x27;trust&#x27;)&lt;/script&gt;Newcastle" in html
    assert ">1,234.5<" in html and ">3<" in html
    assert "&lt;img src=x onerror=alert(&#x27;molecule&#x27;)&gt;Lithium carbonate" in html
    assert "<script>" not in html and "<img" not in html
    # A formatter that builds text from a number is escaped too.
    shown = Table(frame[["n"]], {"n": lambda v: f"<b>{v}</b>"}).styler().to_html()
    assert ">&lt;b&gt;3&lt;/b&gt;<" in shown
    assert safe_markdown(f"**{TRUST}** and {LINKED}") == (
        "**&lt;script&gt;alert('trust')&lt;/script&gt;Newcastle** and "
        "Gateshead &#91;click&#93;(javascript:alert('link'))"
    )


def test_a_section_displays_its_markdown_escaped(monkeypatch):
    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    section = Section(f"Spend at **{TRUST}**")
    section._ipython_display_()
    assert shown[0].data == "Spend at **&lt;script&gt;alert('trust')&lt;/script&gt;Newcastle**"
    # What the section says in words is unchanged: tests and guards read the text itself.
    assert section.text == f"Spend at **{TRUST}**"


CHROMIUM = find_chromium()


@pytest.mark.browser
@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian package 'chromium')"
)
def test_the_spend_page_in_a_browser_runs_no_injected_script(spend_page, tmp_path):
    from playwright.sync_api import sync_playwright

    path = tmp_path / "spend_trends.html"
    path.write_text(spend_page, encoding="utf-8")
    dialogs: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=[f for f in CHROMIUM_FLAGS if f != "--headless"]
        )
        try:
            page = browser.new_page()

            def on_dialog(dialog) -> None:
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri(), wait_until="load")
            scripts = page.eval_on_selector_all("script", "els => els.length")
            handlers = page.evaluate(
                "() => [...document.querySelectorAll('*')].filter("
                "e => [...e.attributes].some(a => a.name.startsWith('on'))).length"
            )
            text = page.inner_text("body")
        finally:
            browser.close()
    assert (dialogs, scripts, handlers) == ([], 0, 0)
    assert TRUST in text and MOLECULE in text
    # Only the page itself and its embedded images load: the injected <img src=x> would ask for x.
    assert [u for u in requests if not u.startswith("data:")] == [path.as_uri()]


# --- item 4: formula injection ----------------------------------------------------------------

HYPERLINK = '=HYPERLINK("http://127.0.0.1:9/x","x")'
DDE = "=cmd|' /C calc'!A0"
PAYLOADS = [HYPERLINK, DDE]


def test_the_owasp_rule_cell_by_cell():
    for text in (HYPERLINK, DDE, "+1+1", "-1+cmd", "@SUM(A1)", "\t=1", "\r=1"):
        assert neutralise_text(text) == "'" + text
    # Numbers, plain-number text, other text and already neutralised text are left alone.
    for value in (-5, -5.5, "-5", "+1.5", "-2e3", "Lithium", " =1", "'=1", None):
        assert neutralise_text(value) == value


def test_a_frame_keeps_its_numbers_and_is_not_changed_in_place():
    frame = pd.DataFrame(
        {"molecule": [HYPERLINK, DDE, "-5"], "change": [-5, 3, -1], HYPERLINK: [-1.5, 0.0, 2.0]}
    )
    out = neutralise_frame(frame)
    assert out["molecule"].tolist() == ["'" + HYPERLINK, "'" + DDE, "-5"]
    assert out["change"].tolist() == [-5, 3, -1] and out["change"].dtype == "int64"
    assert list(out.columns) == ["molecule", "change", "'" + HYPERLINK]
    assert out["'" + HYPERLINK].dtype == "float64"
    assert frame["molecule"].tolist() == [HYPERLINK, DDE, "-5"] and HYPERLINK in frame


def test_published_csv_neutralises_text_and_keeps_negative_numbers(tmp_path):
    table = pd.DataFrame({"molecule": [*PAYLOADS, "Lithium"], "change": [-5, 3, 12]})
    (path,) = publish_tables({"spend_by_molecule": table}, tmp_path)
    assert path.read_text(encoding="utf-8") == (
        "molecule,change\n"
        '"\'=HYPERLINK(""http://127.0.0.1:9/x"",""x"")",-5\n'
        "'=cmd|' /C calc'!A0,3\n"
        "Lithium,12\n"
    )


def _cells(path: Path) -> dict[str, list[tuple[object, str]]]:
    """Every non-empty cell of every sheet: (value, openpyxl data type; 'f' is a formula)."""
    from openpyxl import load_workbook

    book = load_workbook(path)
    return {
        sheet.title: [
            (c.value, c.data_type) for row in sheet.iter_rows() for c in row if c.value is not None
        ]
        for sheet in book.worksheets
    }


def test_openpyxl_would_store_the_payloads_as_formulas(tmp_path):
    # Why the rule is needed, and that _cells sees a formula when there is one.
    pd.DataFrame({"molecule": PAYLOADS}).to_excel(tmp_path / "raw.xlsx", index=False)
    assert _cells(tmp_path / "raw.xlsx")["Sheet1"][1:] == [(HYPERLINK, "f"), (DDE, "f")]


def test_the_workbook_has_no_formula_in_any_sheet(tmp_path):
    tables = {
        "spend_by_molecule": pd.DataFrame({"molecule": PAYLOADS, "change": [-5, 2.5]}),
        "switch_league": pd.DataFrame({"trust_name": [DDE], HYPERLINK: [1]}),
    }
    about = [("Trust", f"{HYPERLINK} (RTD)"), ("Report pack", DDE)]
    cells = _cells(write_workbook(tmp_path / "RTD_tables.xlsx", tables, about))
    assert [v for sheet in cells.values() for v, kind in sheet if kind == "f"] == []
    # The header shows each column's label (Molecule), not its machine name.
    assert cells["spend_by_molecule"] == [
        ("Molecule", "s"),
        ("Change", "s"),
        ("'" + HYPERLINK, "s"),
        (-5, "n"),
        ("'" + DDE, "s"),
        (2.5, "n"),
    ]
    assert ("'" + HYPERLINK, "s") in cells["switch_league"]
    about_values = [v for v, _ in cells["About"]]
    assert f"'{HYPERLINK} (RTD)" in about_values and "'" + DDE in about_values
    # The table list names the columns as "Label (name)"; one is the payload.
    assert f"Trust (trust_name), {HYPERLINK} ({HYPERLINK})" in about_values


def test_published_csv_read_back_for_the_workbook_stays_text(tmp_path):
    # The renderer builds the workbook from the published CSVs (read_table_csv).
    table = pd.DataFrame({"vmp_code": ["=1+1", "0123"], "molecule": PAYLOADS, "change": [-5, -1.5]})
    (path,) = publish_tables({"top_movers": table}, tmp_path)
    read = read_table_csv(path)
    assert read["molecule"].tolist() == ["'" + HYPERLINK, "'" + DDE]
    assert read["vmp_code"].tolist() == ["'=1+1", "0123"]
    assert read["change"].tolist() == [-5.0, -1.5]
    cells = _cells(write_workbook(tmp_path / "w.xlsx", {"top_movers": read}, []))
    assert cells["top_movers"][3:] == [
        ("'=1+1", "s"),
        ("'" + HYPERLINK, "s"),
        (-5, "n"),
        ("0123", "s"),
        ("'" + DDE, "s"),
        (-1.5, "n"),
    ]


USAGE_HEADER = (
    "YEAR_MONTH,ODS_CODE,VMP_SNOMED_CODE,VMP_PRODUCT_NAME,UNIT_OF_MEASURE_IDENTIFIER,"
    "UNIT_OF_MEASURE_NAME,TOTAL_QUANITY_IN_VMP_UNIT,INDICATIVE_COST"
)
USAGE_ROW = "201904,RTD,39110111000001103,Lithium carbonate 400mg,428673006,tablet,560,15.40"


def _quoted(text: str) -> str:
    """``text`` as one CSV field."""
    return '"' + text.replace('"', '""') + '"'


def _usage_file(path: Path) -> Path:
    rows = [USAGE_ROW] + [USAGE_ROW.replace(",RTD,", f",{_quoted(p)},") for p in PAYLOADS]
    path.write_text("\n".join([USAGE_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _quarantined_values(path: Path) -> list[str]:
    return pd.read_csv(path, dtype=str, keep_default_na=False)["value"].tolist()


def test_validate_quarantine_csv_neutralises_the_rejected_values(tmp_path):
    path = _usage_file(tmp_path / "scmd.csv")
    result = CliRunner().invoke(
        app, ["validate", str(path), "--quarantine-dir", str(tmp_path / "q")]
    )
    assert result.exit_code == 1, result.output
    assert _quarantined_values(tmp_path / "q" / "scmd.csv.quarantine.csv") == [
        "'" + HYPERLINK,
        "'" + DDE,
    ]


def test_store_ingest_quarantine_csv_neutralises_the_rejected_values(tmp_path):
    result = ingest([_usage_file(tmp_path / "scmd.csv")], tmp_path / "store")
    (quarantine,) = [r.quarantine_file for r in result if r.quarantine_file]
    assert _quarantined_values(Path(quarantine)) == ["'" + HYPERLINK, "'" + DDE]


def test_products_ingest_quarantine_csv_neutralises_the_rejected_values(tmp_path):
    path = tmp_path / "dmd_refresh.csv"
    path.write_text(
        "vmp_code,vmp_name,vtm_name,bnf_code,atc_code,ddd,ddd_unit,ddd_per_unit,route,form\n"
        f"{_quoted(DDE)},Bad code tablets,Bad,,,,,,,\n"
        f"11111111,Bad DDD tablets,Bad,,,{_quoted(HYPERLINK)},mg,,,\n"
        "22222222,Negative tablets,Neg,,,,,-1,,\n"
        "33333333,Good tablets 5mg,Good,,,1,mg,5,oral,Tablet\n",
        encoding="utf-8",
    )
    result = ingest_products(path, Store(tmp_path / "store", create=True))
    assert _quarantined_values(Path(result.quarantine_file)) == ["'" + DDE, "'" + HYPERLINK, "-1"]


def test_patient_ingest_quarantine_csv_neutralises_the_rejected_values(tmp_path):
    folder = tmp_path / "extract"
    folder.mkdir()
    tables = build(patient("p1", meds=[med(IBUPROFEN, "2023-01-01")]), patient("p2"))
    for name in ("patients", "medications", "conditions", "tests"):
        frame = getattr(tables, name).copy()
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].dt.strftime("%Y-%m-%d")
        frame.to_csv(folder / f"{name}.csv", index=False)
    # Two malformed patient ids (the payloads) and an age out of range (-5, a number as text).
    bad = pd.DataFrame(
        {
            "patient_id": [*PAYLOADS, "p3"],
            "trust_code": "RTD",
            "age": ["70", "70", "-5"],
            "sex": "F",
        }
    )
    patients = pd.read_csv(folder / "patients.csv", dtype=str)
    pd.concat([patients, bad]).to_csv(folder / "patients.csv", index=False)
    result = ingest_patients(folder, Store(tmp_path / "store", create=True))
    (path,) = [p for p in result.quarantine_files if ".patients." in p]
    assert _quarantined_values(Path(path)) == ["'" + HYPERLINK, "'" + DDE, "-5"]
