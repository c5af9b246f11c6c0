"""The Users Service's data."""
