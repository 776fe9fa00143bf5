"""Reading and validating source files into the canonical tables, and the bundled sample data."""
