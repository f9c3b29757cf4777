"""The rabbitmq adapters."""
