"""Adapters of the ports: embedded ones (single machine) and real ones (distributed)."""
