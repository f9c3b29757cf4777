"""The scraper: on `job.started`, searches the configured engines in a real browser for the job's links."""
