"""Wet AMD anti-VEGF injections: intervals, summary, cost, lead tables, data and the report."""

__all__ = ["charts", "cost", "data", "intervals", "lead_views", "report", "summary"]
