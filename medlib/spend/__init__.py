"""Secondary-care medicines spend: measures, movers, high-cost split, outliers, the report."""
