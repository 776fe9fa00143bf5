"""Medicines measures: definitions as data, product selection and DDDs, national comparison,
and the measures report."""

__all__ = ["compute", "definitions", "products", "report"]
