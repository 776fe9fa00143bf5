"""A rendered report opened in headless Chromium shows its chart and no errors, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from render_fixtures import TRUSTS, good_notebook, write_parameter_set

from medlib.render import load_parameter_set, render_pack
from medlib.render.pdf import (
    CHROMIUM_FLAGS,
    NO_CHROMIUM_NOTE,
    PdfError,
    chromium_for_pdf,
    find_chromium,
    html_to_pdf,
)

pytestmark = pytest.mark.browser

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian package 'chromium')"
)


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    good_notebook(root / "notebooks")
    pset = load_parameter_set(
        write_parameter_set(root / "p.yaml", trusts=["RTD"]), known_trusts=TRUSTS
    )
    result = render_pack(
        pset,
        notebooks_dir=root / "notebooks",
        output_dir=root / "pack",
        jobs=1,
        progress=False,
        pdf=CHROMIUM is not None,
    )
    assert result.ok, result.failed
    return root / "pack"


@needs_chromium
def test_report_shows_its_chart_and_no_error_text_offline(pack):
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            # Playwright adds --headless and its own empty profile; the rest are ours.
            args=[f for f in CHROMIUM_FLAGS if f != "--headless"],
        )
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.goto((pack / "RTD" / "good.html").as_uri(), wait_until="load")
            sizes = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.naturalWidth, e.naturalHeight])"
            )
            text = page.inner_text("body")
            page.goto((pack / "index.html").as_uri(), wait_until="load")
            links = page.eval_on_selector_all("td.ok a", "els => els.map(e => e.href)")
        finally:
            browser.close()
    assert sizes and all(w > 0 and h > 0 for w, h in sizes)
    assert "Traceback" not in text and "Error" not in text
    assert "The Newcastle upon Tyne Hospitals NHS Foundation Trust (RTD)" in text
    # Every request is for a local file: the page loads nothing from the network.
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert [Path(u).name for u in links] == ["good.html", "good.pdf"]


@needs_chromium
def test_report_is_printed_to_pdf_and_linked_from_the_index(pack):
    assert (pack / "RTD" / "good.pdf").read_bytes()[:5] == b"%PDF-"
    entry = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))["reports"]["RTD/good"]
    assert "RTD/good.pdf" in entry["files"] and "pdf" in entry["timings"]
    assert 'href="RTD/good.pdf"' in (pack / "index.html").read_text(encoding="utf-8")


def test_pdf_is_skipped_with_a_message_without_chromium(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no chromium on PATH
    monkeypatch.delenv("MEDLIB_CHROMIUM", raising=False)
    assert find_chromium() is None
    assert chromium_for_pdf(True) == (None, NO_CHROMIUM_NOTE)
    assert chromium_for_pdf(False) == (None, None)
    with pytest.raises(PdfError, match="Chromium not found"):
        html_to_pdf(tmp_path / "x.html", tmp_path / "x.pdf")
