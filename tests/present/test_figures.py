"""Charts rendered as drawn: PNG size, the clipping check, and switch charts that fit."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from PIL import Image

from medlib.context import resolve_context
from medlib.io.datasets import load_dataset
from medlib.present.figures import clipped_text, png_bytes, show_figure


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_png_is_the_figure_size_at_its_resolution():
    import io

    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
    ax.plot([1, 2], [3, 4])
    data = png_bytes(fig)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(data)).size == (900, 450)


def test_clipped_text_finds_a_title_and_tick_labels_past_the_edge():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2], [1000000, 2000000])
    ax.set_title("A title far too long to fit inside a figure four inches wide")
    assert clipped_text(fig) == ["A title far too long to fit inside a figure four inches wide"]

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2], [1000000, 2000000])
    fig.subplots_adjust(left=0.0)
    assert clipped_text(fig) == ["y tick labels"]

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2], [1, 2])
    ax.set_title("Fits")
    assert clipped_text(fig) == []


def test_show_figure_displays_a_png_and_closes_the_figure(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
    show_figure(fig)
    assert len(shown) == 1 and shown[0].format == "png"
    assert shown[0].data == png_bytes(fig)
    assert plt.get_fignums() == []


def test_every_switch_chart_fits_with_the_longest_trust_name():
    import medlib.switch.report as sr

    names = load_dataset("trusts")["trust_name"]
    longest = max(names, key=len)
    trusts = ["RTD", "RR7"]
    volumes = pd.DataFrame(
        [
            (t, m, n)
            for t, n in zip(trusts, (60, 30), strict=True)
            for m in ("adalimumab", "ustekinumab")
        ],
        columns=["trust_code", "molecule", "patients"],
    )
    report = sr.build(
        resolve_context("RR7", "2025-03"),
        ["adalimumab", "ustekinumab"],
        "2025",
        3,
        trusts=trusts,
        volumes=volumes,
        trust_names={"RTD": "Newcastle", "RR7": longest},
    )
    figures = [
        figure
        for name in ("molecules", "time_to_switch", "vmp_proxy", "doac")
        for figure in report.section(name).figures
    ]
    assert len(figures) == 7  # uptake and savings for two molecules, time to switch, proxy, DOAC
    clipped = [(f.axes[0].get_title(), clipped_text(f)) for f in figures]
    assert [(title, texts) for title, texts in clipped if texts] == []
    # Titles name the trust by its code (the page header names it in full), so they fit.
    texts = [t.get_text() for f in figures for t in f.findobj(matplotlib.text.Text)]
    assert any("(RR7)" in text for text in texts)
    assert not any(longest in text for text in texts)
