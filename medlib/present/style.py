"""NHS identity colours and the chart defaults built on them.

Colours are from the NHS England identity guidelines colour palette.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cycler import cycler

__all__ = [
    "NHS_BLUE",
    "NHS_DARK_GREY",
    "NHS_GREEN",
    "NHS_LIGHT_BLUE",
    "NHS_MID_GREY",
    "NHS_ORANGE",
    "NHS_PALE_GREY",
    "NHS_PURPLE",
    "NHS_RED",
    "PALETTE",
    "chart_style",
]

NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
NHS_BRIGHT_BLUE = "#0072CE"
NHS_LIGHT_BLUE = "#41B6E6"
NHS_AQUA_BLUE = "#00A9CE"
NHS_DARK_GREY = "#425563"
NHS_MID_GREY = "#768692"
NHS_PALE_GREY = "#E8EDEE"
NHS_GREEN = "#009639"
NHS_WARM_YELLOW = "#FFB81C"
NHS_ORANGE = "#ED8B00"
NHS_RED = "#DA291C"
NHS_PURPLE = "#330072"
NHS_PINK = "#AE2573"

#: Colour cycle for categorical series, most important first.
PALETTE = [
    NHS_BLUE,
    NHS_ORANGE,
    NHS_GREEN,
    NHS_PURPLE,
    NHS_LIGHT_BLUE,
    NHS_PINK,
    NHS_WARM_YELLOW,
    NHS_DARK_GREY,
]


#: Matplotlib rc settings applied inside :func:`chart_style` contexts (never at import).
RC = {
    "axes.prop_cycle": cycler(color=PALETTE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelcolor": NHS_DARK_GREY,
    "xtick.color": NHS_DARK_GREY,
    "ytick.color": NHS_DARK_GREY,
    # A generic family with a preference list: the first installed font is used, silently.
    "font.family": "sans-serif",
    "font.sans-serif": ["Arial", "Liberation Sans", "DejaVu Sans"],
    "figure.figsize": (9, 4.5),
    "figure.dpi": 100,
}


@contextmanager
def chart_style() -> Iterator[None]:
    """Context manager applying the NHS chart style to figures created inside it.

    Only the keys in :data:`RC` are saved and restored. ``matplotlib.rc_context`` restores every
    setting, including the backend chosen when a kernel makes its first figure, which switches
    Jupyter's inline display off for every later figure.
    """
    import matplotlib as mpl

    saved = {key: mpl.rcParams[key] for key in RC}
    mpl.rcParams.update(RC)
    try:
        yield
    finally:
        mpl.rcParams.update(saved)
