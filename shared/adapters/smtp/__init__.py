"""The smtp adapters."""
