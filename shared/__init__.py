"""The library every imgjob service uses: settings, events, the domain model, ports and adapters."""
