"""Interactive explorer for analysts: widgets over the medlib measures, and the same as an API.

:func:`explore` returns the widget panel (one call in ``notebooks/explore.ipynb``);
:class:`Explorer` is the state behind it, usable from code in any notebook.
"""

from medlib.explorer.sources import ExplorerError
from medlib.explorer.state import COMPARISONS, MEASURES, Explorer, Selection
from medlib.explorer.widgets import explore

__all__ = ["COMPARISONS", "MEASURES", "Explorer", "ExplorerError", "Selection", "explore"]
