"""Secondary-care medicines spend: measures, movers, high-cost, outliers, efficiencies, report."""

__all__ = ["efficiency", "high_cost", "measures", "movers", "outliers", "report"]
