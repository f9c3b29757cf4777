"""The sqlite adapters."""
