"""Seeded synthetic patient-level generators that keep their ground truth (SYNTHETIC DATA)."""

__all__ = ["anti_vegf", "hcd_activity", "patients", "seeding"]
