"""The selenium adapters."""
