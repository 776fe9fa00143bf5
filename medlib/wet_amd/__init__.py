"""Wet AMD anti-VEGF injections: intervals, per-trust summary, cost, lead-facing tables."""

__all__ = ["cost", "intervals", "lead_views", "summary"]
