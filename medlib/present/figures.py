"""Showing charts in notebooks and checking nothing in them is cut off.

Jupyter's inline backend renders a figure with ``bbox_inches="tight"``, which draws it twice
(once to measure, once to render). Report pages show many charts, so charts whose layout is
fixed in advance are shown with :func:`show_figure`, which renders them once as drawn;
:func:`clipped_text` is what the tests use to prove that such a chart's text fits.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

__all__ = ["clipped_text", "png_bytes", "show_figure"]


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG at its own size and resolution, drawn once."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    return buffer.getvalue()


def show_figure(fig: Figure) -> None:
    """Display a figure in the notebook as a PNG, then close it."""
    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    display(Image(data=png_bytes(fig), format="png"))
    plt.close(fig)


def clipped_text(fig: Figure, tolerance: float = 1.0) -> list[str]:
    """What of ``fig`` is drawn past the edge of the figure, so a PNG of it would cut it off.

    Args:
        fig: The figure.
        tolerance: Pixels of overhang to ignore (antialiasing).

    Returns:
        The text of each clipped label, and ``"<x|y> tick labels"`` for an axis whose drawn
        tick labels overhang (empty when everything fits).
    """
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    edge = fig.bbox.padded(tolerance)

    def outside(box: Bbox) -> bool:
        return box.x0 < edge.x0 or box.y0 < edge.y0 or box.x1 > edge.x1 or box.y1 > edge.y1

    clipped = []
    tick_labels = set()
    for ax in fig.axes:
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            tick_labels.update(id(t) for t in axis.get_ticklabels(which="both"))
            # An axis's tight box holds only the tick labels it draws (those in view).
            box = axis.get_tightbbox(renderer)
            if box is not None and outside(box):
                clipped.append(f"{name} tick labels")
    for text in fig.findobj(Text):
        if id(text) in tick_labels or not text.get_visible() or not text.get_text().strip():
            continue
        if outside(text.get_window_extent(renderer)):
            clipped.append(text.get_text())
    return clipped
