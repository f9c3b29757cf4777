"""The webhooks worker: a job's events POSTed, signed, to the job's webhook URL, behind the address guard."""
