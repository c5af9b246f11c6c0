"""The Finance Service's data."""
