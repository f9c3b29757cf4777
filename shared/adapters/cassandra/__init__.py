"""The cassandra adapters."""
