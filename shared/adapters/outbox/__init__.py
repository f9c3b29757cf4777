"""The outbox adapters."""
