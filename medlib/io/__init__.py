"""Reading and validating source files into the canonical tables, and the bundled sample data."""

__all__ = ["datasets", "hcd_activity", "patient_tables", "patients", "schemas", "usage"]
