"""The one root of every error medlib raises on purpose.

Catch :class:`MedlibError` to handle anything medlib reports as a problem with its inputs,
parameters or data (as the command line does, printing the message instead of a traceback).
Each kind also keeps the built-in base it always had (``ValueError`` for bad values,
``RuntimeError`` for a render that cannot go on), so existing ``except ValueError`` code works.
"""

from __future__ import annotations

__all__ = ["InputError", "MedlibError", "MissingColumnsError"]


class MedlibError(Exception):
    """Anything medlib refuses, with a message that says what is wrong and what to do."""


class InputError(MedlibError, ValueError):
    """An argument or table does not have the shape or values a function needs."""


class MissingColumnsError(InputError):
    """A table handed to an analysis function lacks columns the function needs."""
