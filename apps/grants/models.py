"""The Grants Service's data."""
