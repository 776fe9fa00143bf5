"""Medicines measures: definitions as data, product selection and DDDs, national comparison."""

__all__ = ["compute", "definitions", "products"]
