"""Rendering per-trust report packs from the parameterised notebooks.

The public entry points:

* :func:`load_parameter_set` reads and validates a ``parameters/*.yaml`` file;
* :func:`render_pack` renders every (trust x notebook) report into ``reports/<name>/``;
* :func:`medlib.render.cli.report` is the ``medlib report`` command.
"""

from medlib.render.params import ParameterError, ParameterSet, load_parameter_set
from medlib.render.runner import PackResult, ReportResult, render_pack

__all__ = [
    "PackResult",
    "ParameterError",
    "ParameterSet",
    "ReportResult",
    "load_parameter_set",
    "render_pack",
]
