"""Biosimilar and generic switches: definitions, uptake, curves, savings, charts, the report."""
