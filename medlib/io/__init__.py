"""Reading and validating source files into the canonical tables, the store, the bundled data."""

__all__ = [
    "cells",
    "datasets",
    "hcd_activity",
    "patient_store",
    "patient_tables",
    "patients",
    "reference_store",
    "schemas",
    "store",
    "usage",
]
