"""The s3 adapters."""
