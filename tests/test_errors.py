"""Every error medlib raises on purpose has one root, so callers can catch one type."""

import importlib
import inspect
import pkgutil

import medlib
from medlib.errors import InputError, MedlibError, MissingColumnsError

MODULES = [
    m.name
    for m in pkgutil.walk_packages(medlib.__path__, "medlib.")
    if not m.name.endswith("__main__")
]


def _error_classes() -> dict[str, type]:
    found = {}
    for name in MODULES:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name
            ):
                found[f"{name}.{attr}"] = value
    return found


def test_every_medlib_exception_derives_from_medlib_error():
    classes = _error_classes()
    assert len(classes) >= 16
    strays = sorted(name for name, cls in classes.items() if not issubclass(cls, MedlibError))
    assert strays == []


def test_value_errors_stay_value_errors():
    # Existing `except ValueError` code keeps working for bad inputs.
    assert issubclass(InputError, ValueError) and issubclass(MissingColumnsError, InputError)
    from medlib.reference.trusts import UnknownTrustError
    from medlib.render.params import ParameterError

    assert issubclass(UnknownTrustError, ValueError) and issubclass(ParameterError, ValueError)
