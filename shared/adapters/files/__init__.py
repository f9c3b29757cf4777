"""The files adapters."""
