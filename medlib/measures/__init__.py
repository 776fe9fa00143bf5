"""Medicines measures: definitions as data, product selection and DDDs, the measures report.

Definitions are read and checked in :mod:`~medlib.measures.definitions`, products and their
DDDs come from :mod:`~medlib.measures.products`, every trust and month is computed and compared
in :mod:`~medlib.measures.compute`, and :mod:`~medlib.measures.report` is the per-trust page.
"""

__all__ = ["compute", "definitions", "products", "report"]
