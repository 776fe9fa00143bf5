"""Presentation: NHS style, charts, figures, disclosure control and published outputs."""
