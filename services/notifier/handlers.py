"""Notifier: each of the three emails goes out at most once per job, however often its event arrives."""

from __future__ import annotations

import logging

from services.notifier import emails
from shared.bootstrap import Adapters
from shared.events import Event

log = logging.getLogger(__name__)


def send_once(adapters: Adapters, kind: str, event: Event) -> None:
    job = adapters.store.get_job(event.job_id)
    if job is None:
        return  # purged: nobody left to tell
    if not adapters.store.claim_notification(job.id, kind):
        return
    try:
        adapters.mailer.send(emails.render(kind, job, adapters.settings))
    except Exception:
        # Give the claim back so the redelivered event can try again.
        adapters.store.release_notification(job.id, kind)
        raise
    log.info("sent the %s email for job %s", kind, job.id)
