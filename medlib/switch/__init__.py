"""Biosimilar and generic switches: definitions, uptake, curves, savings, charts, the report."""

__all__ = ["charts", "definitions", "report", "savings", "uptake", "uptake_curve"]
