"""What a lead opens: every report of an acute and a mental-health trust, in a browser and on paper.

The NENC pack is rendered for Newcastle (RTD, acute) and Cumbria, Northumberland, Tyne and Wear
(RX4, mental health), with PDFs. Each page is opened in headless Chromium at 1280 px and
checked as a lead would read it: nothing wider than the page, no code, no machine column
names, no unnamed index column. One PDF is checked with pypdf: A4 portrait pages, and the last
column of every table on the page is in the printed text (a clipped table loses it).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from medlib.render import render_pack
from medlib.render.pdf import CHROMIUM_FLAGS, find_chromium

pytestmark = pytest.mark.browser

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian package 'chromium')"
)
TRUSTS = ("RTD", "RX4")
NOTEBOOKS = ("spend_trends", "switch_uptake", "polypharmacy_audit", "measures", "wet_amd")
#: Fewest tables each report of the acute trust shows (the measures report has one overview).
MIN_TABLES = {
    "spend_trends": 6,
    "switch_uptake": 6,
    "polypharmacy_audit": 6,
    "measures": 1,
    "wet_amd": 4,
}
#: A4 portrait in PDF points (210 mm x 297 mm).
A4_POINTS = (595.28, 841.89)
PAGE_WIDTH = 1280

#: What the page reports about itself, measured in the browser.
_MEASURE = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) {
      wide.push(el.tagName + '.' + el.className + ' right=' + Math.round(box.right));
    }
  }
  const tables = [...document.querySelectorAll('table')].map(t => {
    const heads = [...t.querySelectorAll('thead th')].map(th => th.innerText.trim());
    const firstRow = t.querySelector('tbody tr');
    const rowHeads = firstRow ? firstRow.querySelectorAll('th').length : 0;
    return {heads: heads, rowHeads: rowHeads};
  });
  return {
    scrollWidth: document.documentElement.scrollWidth,
    width: width,
    wide: wide.slice(0, 5),
    pre: document.querySelectorAll('pre, code').length,
    code: document.querySelectorAll(
      '.jp-CodeCell .jp-InputArea, .jp-Editor, .CodeMirror, .highlight, .jp-InputPrompt'
    ).length,
    tables: tables,
  };
}"""


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lead_pages") / "pack"
    result = render_pack(
        "nenc",
        output_dir=out,
        trusts=list(TRUSTS),
        jobs=2,
        progress=False,
        pdf=CHROMIUM is not None,
    )
    assert result.ok, result.failed
    return out


@pytest.fixture(scope="module")
def measured(pack) -> dict[str, dict]:
    from playwright.sync_api import sync_playwright

    pages = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=[f for f in CHROMIUM_FLAGS if f != "--headless"]
        )
        try:
            page = browser.new_page(viewport={"width": PAGE_WIDTH, "height": 900})
            for trust in TRUSTS:
                for notebook in NOTEBOOKS:
                    page.goto((pack / trust / f"{notebook}.html").as_uri(), wait_until="load")
                    pages[f"{trust}/{notebook}"] = page.evaluate(_MEASURE)
            page.goto((pack / "index.html").as_uri(), wait_until="load")
            pages["index"] = page.evaluate(_MEASURE)
        finally:
            browser.close()
    return pages


@needs_chromium
@pytest.mark.parametrize("report", [f"{t}/{n}" for t in TRUSTS for n in NOTEBOOKS])
def test_a_lead_page_fits_the_screen_and_shows_no_code_or_machine_names(measured, report):
    page = measured[report]
    assert page["scrollWidth"] <= page["width"], f"scrolls sideways: {page['wide']}"
    assert page["wide"] == []
    # No code block, code span or code cell: a lead reads prose, tables and charts.
    assert page["pre"] == 0 and page["code"] == 0
    # A trust that uses none of the switch molecules gets sentences, not empty tables.
    if report.startswith("RTD/"):
        assert page["tables"], "every report of an acute trust shows tables"
    for table in page["tables"]:
        assert all("_" not in head for head in table["heads"]), table["heads"]
        # A pandas index shows as an empty first heading or a heading cell in each row.
        assert table["heads"] and table["heads"][0] != "", table["heads"]
        assert table["rowHeads"] == 0, table["heads"]


@needs_chromium
def test_the_front_page_fits_the_screen(measured):
    page = measured["index"]
    assert page["scrollWidth"] <= page["width"], f"scrolls sideways: {page['wide']}"
    assert page["wide"] == [] and page["pre"] == 0


@needs_chromium
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_a_printed_report_is_a4_and_keeps_every_table_whole(pack, notebook):
    from bs4 import BeautifulSoup
    from pypdf import PdfReader

    pdf = PdfReader(pack / "RTD" / f"{notebook}.pdf")
    for number, sheet in enumerate(pdf.pages, start=1):
        size = (float(sheet.mediabox.width), float(sheet.mediabox.height))
        # Chromium rounds A4 to whole hundredths of an inch; US Letter is 612 x 792.
        assert size == pytest.approx(A4_POINTS, abs=1.0), f"page {number} is {size} points"
    printed = re.sub(r"\s+", "", "".join(p.extract_text() for p in pdf.pages))
    page = BeautifulSoup((pack / "RTD" / f"{notebook}.html").read_text(), "html.parser")
    tables = page.select("table")
    assert len(tables) >= MIN_TABLES[notebook]
    for table in tables:
        heads = [th.get_text(" ", strip=True) for th in table.select("thead th")]
        cells = [td.get_text(" ", strip=True) for td in table.select("tbody tr")[0].select("td")]
        # Both the last column's heading and its first value are printed.
        assert re.sub(r"\s+", "", heads[-1]) in printed, heads
        assert re.sub(r"\s+", "", cells[-1]) in printed, (heads[-1], cells[-1])


def test_a_peer_shows_the_same_figures_in_every_report_of_the_pack(pack):
    # RTD is acute and RX4 mental health: both compare with the other NENC trusts.
    league = {
        trust: pd.read_csv(pack / trust / "tables" / "switch_league.csv", dtype=str)
        for trust in TRUSTS
    }
    key = ["molecule", "trust_code"]
    figures = [c for c in league["RTD"].columns if c not in ("rank", "this_trust")]
    a = league["RTD"][figures].set_index(key)
    b = league["RX4"][figures].set_index(key)
    common = a.index.intersection(b.index)
    peers = {t for _, t in common} - set(TRUSTS)
    assert {"RTF", "RR7"} <= peers
    pd.testing.assert_frame_equal(a.loc[common].sort_index(), b.loc[common].sort_index())
