"""Work shared by every report of a pack, computed once per render instead of once per trust.

A report pack renders the same notebooks for many trusts, and much of each notebook's work is
the same for all of them: the comparison of every trust behind a league table, the synthetic
samples, the regional aggregation a benchmark ranks against. ``medlib report`` gives its
kernels a private cache folder for the run (in the :data:`CACHE_ENV` environment variable) and
deletes it at the end; functions decorated with :func:`pack_cached` store their results there,
keyed by a hash of their arguments and code (``joblib.Memory``), so the first report computes
them and the others load them.

Without the variable (an analyst's own session, a plain papermill run, the tests) the functions
simply run: nothing is written and nothing can be stale. Results are identical either way; the
test suite checks that on rendered packs.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

if TYPE_CHECKING:
    from joblib import Memory

__all__ = ["CACHE_ENV", "cache_dir", "pack_cached"]

#: Environment variable naming the folder that shared results are cached in.
CACHE_ENV = "MEDLIB_PACK_CACHE"

P = ParamSpec("P")
R = TypeVar("R")


def cache_dir() -> str | None:
    """The cache folder of the render this process belongs to, or None outside a render."""
    return os.environ.get(CACHE_ENV) or None


def pack_cached(func: Callable[P, R]) -> Callable[P, R]:
    """Cache ``func``'s results in the render's cache folder, when there is one.

    The function must be defined at module level and depend only on its arguments (and on
    files that do not change during a render). Arguments are hashed by value, so pass the
    small inputs that determine the result rather than large frames derived from them.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        location = cache_dir()
        if location is None:
            return func(*args, **kwargs)
        return _memory(location).cache(func)(*args, **kwargs)

    return wrapper


@functools.cache
def _memory(location: str) -> Memory:
    # Imported here, not at the top: a kernel outside a render never needs joblib.
    from joblib import Memory

    return Memory(location, verbose=0)
