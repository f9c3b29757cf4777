"""Notifier: each email of a job goes out once, whatever the mail server or the bus do meanwhile.

A try holds a lease on the email (pending); a notifier that dies mid-try leaves the lease to run out,
and the next try takes over. A deferred email (4xx, no answer) is tried again on the delay ladder with
growing waits while its link works; a refused one (5xx) is recorded and left. Nothing here raises for
a mail failure, so the bus never redelivers or dead-letters a notifier event because of the mail server.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from services.notifier import emails
from shared import events, metrics
from shared.domain.emails import READY, UNSUBSCRIBED, EmailState, retry_delay
from shared.domain.model import Job
from shared.events import Event
from shared.ports import Adapters
from shared.ports.mail import MailDeferred, MailRefused
from shared.unsubscribe import mailbox_hash

log = logging.getLogger(__name__)


def on_job_started(adapters: Adapters, event: Event) -> None:
    send_once(adapters, event.job_id, emails.STARTED)


def on_job_ready(adapters: Adapters, event: Event) -> None:
    send_once(adapters, event.job_id, emails.READY)


def on_job_failed(adapters: Adapters, event: Event) -> None:
    send_once(adapters, event.job_id, emails.FAILED)


def on_job_email_due(adapters: Adapters, event: Event) -> None:
    """The next try of a deferred email, or a look at one whose lease should have ended."""
    kind = str(event.payload.get("kind", ""))
    if kind not in (emails.STARTED, emails.READY, emails.FAILED):
        log.warning("job %s: %s for an unknown email %r; ignored", event.job_id, event.type, kind)
        return
    send_once(adapters, event.job_id, kind)


def send_once(adapters: Adapters, job_id: str, kind: str) -> None:
    job = adapters.store.get_job(job_id)
    if job is None:
        return  # purged: nobody left to tell
    now = adapters.clock()
    lease = timedelta(seconds=adapters.settings.mail_lease)
    claim = adapters.store.claim_email(job.id, kind, now, now + lease)
    if claim is None:
        record = adapters.store.emails(job.id).get(kind)
        if record is not None and record.leased_at(now) and record.lease_until is not None:
            # Held by another notifier, maybe a dead one: look again when its lease ends.
            _try_again_at(adapters, job, kind, record.lease_until + timedelta(seconds=1))
        return
    if adapters.store.is_suppressed(mailbox_hash(adapters.settings.secret_key, job.email)):
        # The address unsubscribed after the job was submitted: settled for good, never sent.
        adapters.store.settle_email(job.id, kind, claim, EmailState.REFUSED, UNSUBSCRIBED)
        _count(kind, "suppressed")
        log.info("job %s: the %s email was not sent: the address unsubscribed", job.id, kind)
        return
    try:
        adapters.mailer.send(emails.render(kind, job, adapters.settings))
    except MailRefused as refused:
        adapters.store.settle_email(job.id, kind, claim, EmailState.REFUSED, str(refused))
        _count(kind, "refused")
        log.warning("job %s: the %s email was refused: %s", job.id, kind, refused)
        return
    except Exception as exc:  # deferred, unreachable, or anything else: never the job's outcome
        _defer(adapters, job, kind, claim, exc)
        return
    adapters.store.settle_email(job.id, kind, claim, EmailState.SENT, None)
    _count(kind, "sent")
    log.info("job %s: sent the %s email", job.id, kind)


def _count(kind: str, outcome: str) -> None:
    """Each try counts once, by its outcome: an email deferred twice and then sent counts 2 deferred, 1 sent."""
    metrics.notifier_emails.labels(kind=kind, outcome=outcome).inc()


def _defer(adapters: Adapters, job: Job, kind: str, claim: str, exc: Exception) -> None:
    # Our own wording of a deferral (reply codes only), else just the kind of error: an SMTP reply or
    # a traceback may quote the address.
    reason = str(exc) if isinstance(exc, MailDeferred) else type(exc).__name__
    record = adapters.store.emails(job.id).get(kind)
    attempts = record.attempts if record else 1
    first_at = record.first_at if record else adapters.clock()
    next_at = adapters.clock() + retry_delay(attempts)
    if next_at > _give_up_at(adapters, job, kind, first_at):
        adapters.store.settle_email(job.id, kind, claim, EmailState.UNDELIVERED, reason)
        _count(kind, "undelivered")
        log.error("job %s: gave up on the %s email after %d tries: %s", job.id, kind, attempts, reason)
        return
    if adapters.store.settle_email(job.id, kind, claim, EmailState.RETRYING, reason):
        _count(kind, "deferred")
        _try_again_at(adapters, job, kind, next_at)
        log.warning("job %s: the %s email was deferred (%s); try %d at %s", job.id, kind, reason, attempts + 1, next_at)


def _give_up_at(adapters: Adapters, job: Job, kind: str, first_at: datetime) -> datetime:
    """While the link works: a ready email after the link expired would only lead to "Link has expired"."""
    lifetime = first_at + timedelta(seconds=adapters.settings.link_ttl)
    if kind == READY and job.expires_at is not None:
        return min(lifetime, job.expires_at)
    return lifetime


def _try_again_at(adapters: Adapters, job: Job, kind: str, when: datetime) -> None:
    delay = max(0.0, (when - adapters.clock()).total_seconds())
    adapters.bus.publish(events.job_email_due(job, kind), delay=delay)
