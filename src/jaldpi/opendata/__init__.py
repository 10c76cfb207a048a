"""Open data: datasets built from the registries, disclosure control, differential privacy, file formats and
releases (docs/open_data.md)."""
