"""Secondary-care medicines spend: measures, movers, high-cost split, outliers, the report."""

__all__ = ["high_cost", "measures", "movers", "outliers", "report"]
