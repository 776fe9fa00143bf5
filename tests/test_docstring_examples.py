"""The examples in docstrings run and show what they say (they are documentation users copy)."""

import doctest
import importlib
import pkgutil

import pytest

import medlib

MODULES = [
    m.name
    for m in pkgutil.walk_packages(medlib.__path__, "medlib.")
    if not m.name.endswith("__main__")
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=False
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
