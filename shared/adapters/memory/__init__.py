"""The memory adapters."""
