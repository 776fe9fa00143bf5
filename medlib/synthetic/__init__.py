"""Seeded synthetic patient-level generators that keep their ground truth (SYNTHETIC DATA)."""

__all__ = ["hcd_activity", "patients"]
